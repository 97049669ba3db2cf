"""Speech to timeline with Vosk.

One ``ChannelRecognizer`` per party turns pushed audio into finished utterances
with word timestamps; the same class serves a file (pushed as fast as it
decodes) and a live stream (pushed as it arrives). Vosk's JSON strings are
converted to dataclasses here, at the edge, and go no further.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.errors import ModelError
from ..core.timeline import Timeline, Utterance, Word
from .audio import TARGET_SR, CallAudio, chunks

CHUNK_SECONDS = 0.2  # audio pushed per AcceptWaveform call
RECYCLE_SECONDS = 300.0  # start a fresh KaldiRecognizer at the first endpoint after this much audio
DITHER = 1.0  # noise added to every sample, in int16 steps: Kaldi's own default amount
DITHER_SEED = 20_160_301  # any fixed seed: the same audio gets the same noise, so the same words
DITHER_PERIOD = 1 << 17  # samples (8 s at 16 kHz) of noise, repeated: drawn once per process


_FULL = np.float32(32767.0)  # int16 steps at full scale
_INT16_MAX, _INT16_MIN = np.float32(32767.0), np.float32(-32768.0)


@lru_cache(maxsize=1)
def _dither_table() -> np.ndarray:
    """The dither noise, twice over, so any block up to a period long is one slice of it.
    Drawing it per block cost a fifth of the conversion to int16 on a recogniser's thread."""
    noise = np.random.default_rng(DITHER_SEED).standard_normal(DITHER_PERIOD, dtype=np.float32)
    noise *= np.float32(DITHER)
    return np.concatenate([noise, noise])


@lru_cache(maxsize=2)
def load_model(path: str):
    """Load (once per process) the Vosk model at ``path``."""
    import vosk

    vosk.SetLogLevel(-1)
    p = Path(path)
    if not (p / "am").is_dir() and not (p / "conf").is_dir():
        raise ModelError("not a Vosk model folder (no am/ or conf/ inside)", p)
    view = _without_dither(p)
    try:
        return vosk.Model(str(view or p))
    except Exception as exc:  # vosk raises a bare Exception on a broken model
        raise ModelError(f"Vosk could not load the model: {exc}", p) from None
    finally:
        if view is not None:
            shutil.rmtree(view, ignore_errors=True)


FEATURE_CONFS = ("mfcc.conf", "fbank.conf", "plp.conf")


def _without_dither(model: Path) -> Path | None:
    """A view of ``model`` whose feature config turns Kaldi's dither off, or None if not needed.

    Kaldi adds random noise (dither) to every frame from one process-wide random sequence,
    so the same call decoded twice, or beside another call, can come out with different
    words and a different verdict. With dither off Vosk is deterministic: a rescore, a
    batch on another machine and a live session give the same words for the same audio.
    Dither is still needed (on digital silence, exact zeros, the model hears words), so
    ``ChannelRecognizer`` adds the same amount itself from a seeded generator. The view is
    symlinks plus the edited config; Vosk reads it all while loading, so the caller removes
    it right after.
    """
    conf = model / "conf"
    confs = [conf / n for n in FEATURE_CONFS if (conf / n).is_file()]
    if not confs:
        return None
    view = Path(tempfile.mkdtemp(prefix="phonecoach-model-"))
    try:
        for entry in model.iterdir():
            if entry.name != "conf":
                (view / entry.name).symlink_to(entry.resolve())
        (view / "conf").mkdir()
        for entry in conf.iterdir():
            if entry in confs:
                text = entry.read_text(encoding="utf-8")
                (view / "conf" / entry.name).write_text(text.rstrip("\n") + "\n--dither=0\n", encoding="utf-8")
            else:
                (view / "conf" / entry.name).symlink_to(entry.resolve())
    except OSError:  # no symlinks here (some Windows setups): decode with the model as it is
        shutil.rmtree(view, ignore_errors=True)
        return None
    return view


class ChannelRecognizer:
    """Streaming recogniser for one party.

    ``accept`` returns the utterances Vosk finalised at an endpoint in the
    pushed audio; ``partial`` is the current unfinished hypothesis;
    ``finish`` flushes the last utterance. Times are seconds of this party's
    audio since ``offset``.
    """

    def __init__(self, model, speaker: str, sr: int = TARGET_SR, offset: float = 0.0,
                 recycle_seconds: float = RECYCLE_SECONDS, partial_words: bool = False) -> None:
        self.partial_words = partial_words  # word times in partials: costs ~20 % more decoding CPU
        self.speaker = speaker
        self.sr = sr
        self.model = model
        self.recycle_seconds = recycle_seconds
        self.samples_in = 0  # all audio pushed, across recycled recognisers
        self.offset = offset  # audio time where the current recogniser started
        self._base = offset
        self._rec = self._new_recognizer()

    def _new_recognizer(self):
        import vosk

        rec = vosk.KaldiRecognizer(self.model, self.sr)
        rec.SetWords(True)
        rec.SetPartialWords(self.partial_words)
        return rec

    def to_pcm(self, block: np.ndarray | bytes) -> bytes:
        """What ``accept`` gives Vosk for ``block``, the next samples of the stream: int16 bytes
        with seeded dither. The noise a sample gets depends on its position in the stream alone,
        so how the audio is cut into blocks does not change it (file and live decode the same),
        and a second of audio converted at once and accepted chunk by chunk (``accept_pcm``)
        gives the same bytes at a fifth of the calls (each cost more in numpy's dispatch, its
        code cold after Vosk's, than its arithmetic)."""
        if isinstance(block, bytes):
            x = np.frombuffer(block, "<i2").astype(np.float32)
        else:  # full scale is +-1 (ufuncs, not np.clip: its argument handling cost more than the
            # arithmetic, a third of a recogniser thread's own work)
            x = np.multiply(block, _FULL, dtype=np.float32)
            np.minimum(x, _FULL, out=x)
            np.maximum(x, -_FULL, out=x)
        noise, at = _dither_table(), self.samples_in % DITHER_PERIOD
        if len(x) <= DITHER_PERIOD:
            x += noise[at: at + len(x)]
        else:
            x += np.take(noise, np.arange(at, at + len(x)), mode="wrap")
        np.rint(x, out=x)
        np.minimum(x, _INT16_MAX, out=x)
        np.maximum(x, _INT16_MIN, out=x)
        return x.astype("<i2").tobytes()

    def accept(self, block: np.ndarray | bytes) -> list[Utterance]:
        return self.accept_pcm(self.to_pcm(block))

    def accept_pcm(self, data: bytes) -> list[Utterance]:
        """``accept`` for samples ``to_pcm`` has converted already (the next ones of the stream)."""
        self.samples_in += len(data) // 2
        if self._rec.AcceptWaveform(data):
            out = self._utterances(self._rec.Result())
            if self.audio_time - self.offset >= self.recycle_seconds:
                # Vosk's decoder state grows on long streams: restart at an endpoint, where
                # nothing is pending, with times continuing from here
                self._rec = self._new_recognizer()
                self.offset = self.audio_time
            return out
        return []

    def partial(self) -> tuple[str, float | None]:
        """The unfinished hypothesis and the end time of its last word (None if no words)."""
        result = json.loads(self._rec.PartialResult())
        words = result.get("partial_result") or []
        end = self.offset + float(words[-1]["end"]) if words else None
        return result.get("partial", ""), end

    def finish(self) -> list[Utterance]:
        return self._utterances(self._rec.FinalResult())

    @property
    def audio_time(self) -> float:
        """Audio time reached: seconds pushed so far, from the start offset."""
        return self._base + self.samples_in / self.sr

    def _utterances(self, result_json: str) -> list[Utterance]:
        result = json.loads(result_json)
        words = tuple(
            Word(text=w["word"], start=self.offset + float(w["start"]),
                 end=self.offset + float(w["end"]), conf=float(w.get("conf", 1.0)))
            for w in result.get("result", [])
        )
        text = result.get("text", "").strip()
        if not text or not words:
            return []
        return [Utterance(speaker=self.speaker, text=text, start=words[0].start,
                          end=words[-1].end, words=words)]


def transcribe_call(audio: CallAudio, model_path: str | Path,
                    progress: Callable[[float], None] | None = None, parallel: bool = True) -> Timeline:
    """Recognise every party of a call; one recogniser per channel, one shared model.

    ``parallel``: each channel on its own thread (Vosk decodes outside the GIL), so one call's
    report waits for its longest channel, not for both in turn; batch, which already runs a call
    per core, decodes them one after the other. Either way the words are the same: each channel
    has its own recogniser and seeded dither."""
    model = load_model(str(model_path))
    size = int(CHUNK_SECONDS * audio.sr)
    total = sum(len(x) for x in audio.parties.values()) or 1
    done = dict.fromkeys(audio.parties, 0)
    lock = threading.Lock()

    def channel(speaker: str, signal: np.ndarray) -> list[Utterance]:
        rec = ChannelRecognizer(model, speaker, audio.sr)
        out: list[Utterance] = []
        for block in chunks(signal, size):
            out.extend(rec.accept(block))
            if progress:
                with lock:
                    done[speaker] += len(block)
                    progress(sum(done.values()) / total)
        out.extend(rec.finish())
        return out

    if parallel and len(audio.parties) > 1:
        with ThreadPoolExecutor(len(audio.parties), thread_name_prefix="decode") as pool:
            futures = [pool.submit(channel, p, x) for p, x in audio.parties.items()]
            per_party = [f.result() for f in futures]
    else:
        per_party = [channel(p, x) for p, x in audio.parties.items()]
    utterances = [u for us in per_party for u in us]
    return Timeline(utterances=utterances, speakers_separated=audio.stereo, duration=audio.duration)
