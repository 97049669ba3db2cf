"""A live session: sources -> one stream worker per party -> live judge -> sinks.

Each worker re-chunks its party's audio into the same 0.2 s chunks the file path
uses, feeds them to its Vosk recogniser (one shared Model) and to the cheap
signal tracker, and writes them to the session folder as it goes: the audio
(float WAV, flushed every second), the timeline and the warnings (JSON lines).
A crash loses at most the last second; the end of the call gives the same report
``phonecoach score`` gives on the recording.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from ..audio import TARGET_SR, CallAudio
from ..engine import CallReport, judge
from ..measures import measure_call
from ..rulepack import RulePack
from ..timeline import Timeline, Utterance
from ..transcribe import CHUNK_SECONDS, ChannelRecognizer, load_model
from ..records import Warning
from .judge import LiveJudge
from .signal import PartySignal
from .sources import Block

QUEUE_BLOCKS = 50  # 5 s of audio per party before blocks are dropped
FLUSH_SECONDS = 1.0
# Vosk's PartialResult costs as much as a fifth of decoding when asked every chunk: ask every
# other chunk (0.4 s), and only while the party is talking (or just stopped)
PARTIAL_EVERY = 2
PARTIAL_AFTER_SPEECH = 0.6  # seconds


@dataclass
class SessionResult:
    report: CallReport
    warnings: list[Warning]
    folder: Path
    stats: dict = field(default_factory=dict)


class StreamWorker(threading.Thread):
    """One party: queue -> 0.2 s chunks -> recogniser + signal tracker -> judge; audio to disk."""

    def __init__(self, party: str, q: "queue.Queue[Block | None]", model, judge: LiveJudge, folder: Path,
                 partials: bool = True) -> None:
        super().__init__(name=f"stream-{party}", daemon=True)
        self.party = party
        self.q = q
        self.judge = judge
        self.partials = partials
        self.rec = ChannelRecognizer(model, party) if model is not None else None
        self.signal = PartySignal(party, TARGET_SR)
        self.audio = sf.SoundFile(str(folder / f"{party}.wav"), "w", samplerate=TARGET_SR, channels=1,
                                  subtype="FLOAT")
        self.timeline_file = open(folder / f"{party}.timeline.jsonl", "a", encoding="utf-8")
        self.samples = 0
        self.busy_seconds = 0.0  # CPU time spent on this stream's audio
        self.error: BaseException | None = None
        self._buf = np.zeros(0, np.float32)
        self._chunk = int(CHUNK_SECONDS * TARGET_SR)
        self._last_flush = 0.0
        self._last_partial = ""
        self._chunks = 0

    def run(self) -> None:
        try:
            while True:
                block = self.q.get()
                if block is None:
                    break
                t0 = time.thread_time()
                self._take(block.samples)
                self.busy_seconds += time.thread_time() - t0
            t0 = time.thread_time()
            if len(self._buf):
                self._process(self._buf)
            self._finish()
            self.busy_seconds += time.thread_time() - t0
        except BaseException as exc:  # noqa: BLE001 - reported by the session, never lost silently
            self.error = exc
        finally:
            self.audio.close()
            self.timeline_file.close()

    def _take(self, samples: np.ndarray) -> None:
        self.audio.write(samples)
        self.samples += len(samples)
        if self.samples / TARGET_SR - self._last_flush >= FLUSH_SECONDS:
            self.audio.flush()
            self._last_flush = self.samples / TARGET_SR
        self._buf = np.concatenate([self._buf, samples]) if len(self._buf) else samples
        while len(self._buf) >= self._chunk:
            chunk, self._buf = self._buf[: self._chunk], self._buf[self._chunk:]
            self._process(chunk)

    def _process(self, chunk: np.ndarray) -> None:
        events = self.signal.update(chunk)
        if self.rec is not None:
            self._chunks += 1
            finals = self.rec.accept(chunk)
            for u in finals:
                self._final(u)
            if finals:
                self._last_partial = ""
            elif self.partials and self._chunks % PARTIAL_EVERY == 0 and self._talking():
                text, end = self.rec.partial()
                if text != self._last_partial:
                    self._last_partial = text
                    self.judge.on_partial(self.party, text, end, self.rec.audio_time)
        for ev in events:
            self.judge.on_segment(ev)
        self.judge.on_clock(self.party, self.samples / TARGET_SR)

    def _talking(self) -> bool:
        return self.signal.talking or self.signal.now - self.signal.last_speech < PARTIAL_AFTER_SPEECH

    def _final(self, u: Utterance) -> None:
        self.timeline_file.write(json.dumps({"speaker": u.speaker, "text": u.text, "start": u.start,
                                             "end": u.end}, ensure_ascii=False) + "\n")
        self.timeline_file.flush()
        self.judge.on_final(u, self.rec.audio_time if self.rec else u.end or 0.0)

    def _finish(self) -> None:
        if self.rec is not None:
            for u in self.rec.finish():
                self._final(u)
        for ev in self.signal.flush():
            self.judge.on_segment(ev)


class LiveSession:
    """Runs a source through the streaming path until it ends or ``stop()``."""

    def __init__(self, pack: RulePack, source, model_path: str | None, folder: Path,
                 on_warning: Callable[[Warning], None] = lambda w: None, partials: bool = True) -> None:
        self.pack = pack
        self.source = source
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.on_warning = on_warning
        self.queues: dict[str, queue.Queue] = source.queues
        self.parties = list(self.queues)
        model = load_model(model_path) if model_path else None
        self.warnings_file = open(folder / "warnings.jsonl", "a", encoding="utf-8")
        self.judge = LiveJudge(pack, self.parties, self._warn)
        self.workers = {p: StreamWorker(p, self.queues[p], model, self.judge, folder, partials) for p in self.parties}
        self._stop = threading.Event()
        self.started = 0.0
        self.elapsed = 0.0
        self.drain = 0.0

    def _warn(self, w: Warning) -> None:
        self.warnings_file.write(json.dumps(w.to_dict(), ensure_ascii=False) + "\n")
        self.warnings_file.flush()
        self.on_warning(w)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> SessionResult:
        self.started = time.monotonic()
        for w in self.workers.values():
            w.start()
        self.source.start()
        try:
            while not self._stop.is_set() and not self.source.done.is_set():
                self._stop.wait(0.05)
        except KeyboardInterrupt:  # Ctrl-C: end the call here and report on what was captured
            pass
        finally:
            ended = time.monotonic()
            self.source.stop()
            for q in self.queues.values():
                q.put(None)  # after every block already queued
            for w in self.workers.values():
                w.join()
            self.elapsed = time.monotonic() - self.started
            self.drain = time.monotonic() - ended  # how far processing lagged behind the audio
            self.warnings_file.close()
        errors = [f"{w.party}: {w.error}" for w in self.workers.values() if w.error]
        if errors:
            raise RuntimeError("stream worker failed: " + "; ".join(errors))
        return SessionResult(self.final_report(), list(self.judge.warnings), self.folder, self.stats())

    def stats(self) -> dict:
        s = self.source.stats
        audio = max(w.samples for w in self.workers.values()) / TARGET_SR
        return {"audio_seconds": round(audio, 2), "wall_seconds": round(self.elapsed, 2),
                "lag_at_end_seconds": round(self.drain, 2),
                "cpu_seconds": {p: round(w.busy_seconds, 2) for p, w in self.workers.items()},
                "queue_overflows": s.overflows, "input_overflows": s.input_overflows,
                "device_stalls": s.stalls, "reconnects": s.reconnects}

    def final_report(self) -> CallReport:
        """What ``phonecoach score`` gives on the recording: same timeline, same measures, same rules."""
        parties = {p: sf.read(str(self.folder / f"{p}.wav"), dtype="float32")[0] for p in self.parties}
        n = max((len(x) for x in parties.values()), default=0)
        parties = {p: np.pad(x, (0, n - len(x))) for p, x in parties.items()}
        audio = CallAudio(str(self.folder), TARGET_SR, TARGET_SR, parties)
        utts = [u for p in self.parties for u in _read_timeline(self.folder / f"{p}.timeline.jsonl", p)]
        timeline = Timeline(utts, speakers_separated="unknown" not in self.parties, duration=audio.duration)
        notes = [f"live session; {len(self.judge.warnings)} warnings raised during the call"]
        report = judge(self.pack, timeline, source=str(self.folder), measures=measure_call(audio, timeline,
                                                                                          self.pack.measures),
                       notes=notes)
        tmp = self.folder / "report.json.tmp"
        tmp.write_text(json.dumps({**report.to_dict(), "session": self.stats()}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        tmp.replace(self.folder / "report.json")
        return report


def _read_timeline(path: Path, party: str) -> list[Utterance]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        out.append(Utterance(party, d["text"], d["start"], d["end"]))
    return out
