"""One call through the stages: audio/transcript -> timeline (+ measures) -> rules -> report.

The file, batch and live front ends all end here, so a call is judged the same
way whichever way it arrived.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .core.errors import ModelError
from .core.safeio import shown
from .core.timeline import Timeline
from .hearing.listener import listen
from .hearing.measures import measure_call
from .inputs.audio import CallAudio, load_call
from .inputs.models import find_model
from .inputs.transcript import load_transcript
from .judging.engine import CallReport, judge
from .judging.model import RulePack

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3")
SIDECAR_SUFFIXES = (".transcript.json", ".transcript.txt")


@dataclass
class ScoreOptions:
    model: str | None = None
    agent_channel: str = "left"
    ring_seconds: float | None = None
    use_reference: bool = True  # without a model, fall back to a sidecar reference transcript
    parallel: bool = True  # decode the channels, and listen to the call, at the same time (batch: one call per core)


def expand_inputs(paths: list[str]) -> list[Path]:
    """Directories become the audio files inside them (sorted); files stay as given."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in AUDIO_SUFFIXES))
        else:
            out.append(p)
    return out


def sidecar_transcript(audio_path: Path) -> Path | None:
    for suffix in SIDECAR_SUFFIXES:
        cand = audio_path.with_name(audio_path.stem + suffix)
        if cand.exists():
            return cand  # a folder or unreadable sidecar is reported by load_transcript, in one line
    return None


def score_call(pack: RulePack, audio_path: Path | None, transcript_path: Path | None,
               opts: ScoreOptions, progress: Callable[[float], None] | None = None) -> CallReport:
    """Judge one call. Raises PhonecoachError (one line) for unusable input."""
    audio = load_call(audio_path, opts.agent_channel) if audio_path else None
    return score_audio(pack, audio, audio_path, transcript_path, opts, progress)


def score_audio(pack: RulePack, audio: CallAudio | None, audio_path: Path | None, transcript_path: Path | None,
                opts: ScoreOptions, progress: Callable[[float], None] | None = None) -> CallReport:
    """``score_call`` on audio already read (``audio_path`` is where it came from): a page that
    embeds the call does not decode it twice."""
    notes: list[str] = []
    if transcript_path is not None:
        timeline = load_transcript(transcript_path)
        if audio is not None:
            timeline.duration = audio.duration
            notes.append(f"text rules use the transcript {transcript_path.name}")
    heard = None
    if transcript_path is None:
        assert audio is not None
        # the listener needs no words: it hears the call while the recognisers decode it
        pool = ThreadPoolExecutor(1, thread_name_prefix="listen") if opts.parallel else None
        listening = pool.submit(listen, audio, pack.measures) if pool else None
        try:
            timeline = _recognise(audio, opts, notes, progress)
            heard = listening.result() if listening else None
        finally:
            if pool:
                pool.shutdown(wait=False, cancel_futures=True)
    if opts.ring_seconds is not None:
        timeline.ring_seconds = opts.ring_seconds
    measures = measure_call(audio, timeline, pack.measures, heard=heard)
    source = shown(audio_path or transcript_path)
    return judge(pack, timeline, source, measures, notes=notes)


def _recognise(audio: CallAudio, opts: ScoreOptions, notes: list[str],
               progress: Callable[[float], None] | None) -> Timeline:
    from .inputs.transcribe import transcribe_call

    try:
        model = find_model(opts.model)
    except ModelError:
        ref = sidecar_transcript(Path(audio.path)) if opts.use_reference and not opts.model else None
        if ref is None:
            raise
        notes.append(f"no speech model installed: scored the reference transcript {ref.name}")
        timeline = load_transcript(ref)
        timeline.duration = audio.duration
        return timeline
    timeline = transcribe_call(audio, model, progress, parallel=opts.parallel)
    notes.append(f"transcribed with {Path(model).name}")
    return timeline

