"""Speech to timeline with Vosk.

One ``ChannelRecognizer`` per party turns pushed audio into finished utterances
with word timestamps; the same class serves a file (pushed as fast as it
decodes) and a live stream (pushed as it arrives). Vosk's JSON strings are
converted to dataclasses here, at the edge, and go no further.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .audio import TARGET_SR, CallAudio, chunks, to_pcm16
from .errors import ModelError
from .timeline import Timeline, Utterance, Word

CHUNK_SECONDS = 0.2  # audio pushed per AcceptWaveform call
RECYCLE_SECONDS = 300.0  # start a fresh KaldiRecognizer at the first endpoint after this much audio


@lru_cache(maxsize=2)
def load_model(path: str):
    """Load (once per process) the Vosk model at ``path``."""
    import vosk

    vosk.SetLogLevel(-1)
    p = Path(path)
    if not (p / "am").is_dir() and not (p / "conf").is_dir():
        raise ModelError("not a Vosk model folder (no am/ or conf/ inside)", p)
    try:
        return vosk.Model(str(p))
    except Exception as exc:  # vosk raises a bare Exception on a broken model
        raise ModelError(f"Vosk could not load the model: {exc}", p) from None


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

    def accept(self, block: np.ndarray | bytes) -> list[Utterance]:
        data = block if isinstance(block, bytes) else to_pcm16(block)
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
                    progress: Callable[[float], None] | None = None) -> Timeline:
    """Recognise every party of a call; one recogniser per channel, one shared model."""
    model = load_model(str(model_path))
    utterances: list[Utterance] = []
    size = int(CHUNK_SECONDS * audio.sr)
    total = sum(len(x) for x in audio.parties.values()) or 1
    done = 0
    for speaker, signal in audio.parties.items():
        rec = ChannelRecognizer(model, speaker, audio.sr)
        for block in chunks(signal, size):
            utterances.extend(rec.accept(block))
            done += len(block)
            if progress:
                progress(done / total)
        utterances.extend(rec.finish())
    return Timeline(utterances=utterances, speakers_separated=audio.stereo, duration=audio.duration)
