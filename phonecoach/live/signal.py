"""Cheap incremental measures on the streaming path: speech activity and level per party.

The same per-frame features as ``acoustics.analyse_frames`` (level, flatness,
peakiness, keypad tones), from one ``FrameStream`` over the stream as it arrives, with the batch VAD's rules
(floor + margin, no tones, no keypad tones, no noise, no music of steady level, gaps under
0.3 s closed) run as a small state machine. Music is known once its steady level has lasted
the music window (1.5 s), so a hold with music starts up to that much late on the live path;
the end-of-call report measures it exactly. It emits speech-segment events; the live judge turns them into
interruption, dead-air, hold and loudness warnings.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .. import acoustics as ac

FLOOR_WINDOW = 30.0  # seconds of frame levels the noise floor is taken over
MIN_GAP = 0.3  # seconds of inactivity that end a segment (as in the batch VAD)
MIN_LEN = 0.15  # shorter bursts are not speech


@dataclass(frozen=True)
class SegmentEvent:
    """``open``: a speech segment started at ``start`` (still going at ``now``, with the
    level so far); ``closed``: it ended at ``end``."""

    party: str
    kind: str  # "open" | "closed"
    start: float
    end: float  # last active frame so far
    level_dbfs: float  # RMS level of the segment so far
    now: float  # audio time of this party's stream when the event was made


class PartySignal:
    def __init__(self, party: str, sr: int, hop: float = ac.HOP, music_change_db: float = 2.5,
                 music_window: float = 1.5) -> None:
        self.party = party
        self.music_change_db = music_change_db
        self._steps: deque[float | None] = deque(maxlen=max(3, int(round(music_window / hop))))
        self._step_n, self._step_sum, self._step_sq = 0, 0.0, 0.0  # running sums over ``_steps``
        self._last_db: float | None = None
        self.sr = sr
        self.hop = hop
        self._levels: deque[float] = deque(maxlen=int(FLOOR_WINDOW / hop))
        self._floor = ac.SILENT_DB
        self._peaky: deque[tuple[float, bool]] = deque(maxlen=int(round(0.3 / hop)))
        self._frames = 0
        self._seg_start: float | None = None
        self._seg_last = 0.0
        self._seg_power = 0.0
        self._seg_n = 0
        # one continuous framing of the stream, 0.2 s of frames at a time (its lookahead: half a window)
        self._framer = ac.FrameStream(sr, hop=hop, batch=max(1, int(round(0.2 / hop))), keep=False)

    @property
    def now(self) -> float:
        return self._frames * self.hop

    @property
    def talking(self) -> bool:
        """A speech segment is open."""
        return self._seg_start is not None

    @property
    def last_speech(self) -> float:
        """End of the last active frame (-inf before any speech)."""
        return self._seg_last if self._seg_last else float("-inf")

    def update(self, chunk: np.ndarray) -> list[SegmentEvent]:
        """Feed the next samples; returns segment events (at most one open + one closed)."""
        self._framer.feed(chunk)
        fr = self._framer.take()
        if not len(fr):
            return []
        events: list[SegmentEvent] = []
        for i in range(len(fr)):
            keypad = fr.dtmf is not None and float(fr.dtmf[i]) >= 0.6
            events.extend(self._frame(float(fr.db[i]), float(fr.flatness[i]), float(fr.peakiness[i]), keypad))
        if self._seg_start is not None and self._seg_last - self._seg_start >= MIN_LEN:
            events.append(self._event("open"))
        return events

    def flush(self) -> list[SegmentEvent]:
        if self._seg_start is not None and self._seg_last - self._seg_start >= MIN_LEN:
            ev = self._event("closed")
            self._seg_start = None
            return [ev]
        return []

    def _music(self, db: float, sounding: bool) -> bool:
        """The last music window of frames all sound and their level barely moves (hold music)."""
        step = db - self._last_db if sounding and self._last_db is not None else None
        self._last_db = db if sounding else None
        if len(self._steps) == self._steps.maxlen:
            self._count_step(self._steps[0], -1)
        self._steps.append(step)
        self._count_step(step, 1)
        if self._step_n < 0.95 * self._steps.maxlen:
            return False
        mean = self._step_sum / self._step_n
        return max(0.0, self._step_sq / self._step_n - mean * mean) < self.music_change_db ** 2

    def _count_step(self, step: float | None, sign: int) -> None:
        if step is not None:
            self._step_n += sign
            self._step_sum += sign * step
            self._step_sq += sign * step * step

    def _frame(self, db: float, flat: float, peak: float, keypad: bool = False) -> list[SegmentEvent]:
        t = self._frames * self.hop
        self._frames += 1
        if db > ac.SILENT_DB:
            self._levels.append(db)
        if self._frames % 50 == 1 and self._levels:
            self._floor = float(np.percentile(np.fromiter(self._levels, float), 10))
        sounding = db > self._floor + 6.0
        self._peaky.append((peak, sounding))
        loud = [p for p, s in self._peaky if s]
        tonal = sounding and bool(loud) and float(np.mean(loud)) >= 0.8
        music = self._music(db, sounding)
        active = db > max(self._floor + 12.0, -50.0) and not tonal and flat < 0.35 and not keypad and not music
        out: list[SegmentEvent] = []
        if active:
            if self._seg_start is None:
                self._seg_start, self._seg_power, self._seg_n = t, 0.0, 0
            self._seg_last = t + self.hop
            self._seg_power += 10 ** (db / 10)
            self._seg_n += 1
        elif self._seg_start is not None and t - self._seg_last >= MIN_GAP:
            if self._seg_last - self._seg_start >= MIN_LEN:
                out.append(self._event("closed"))
            self._seg_start = None
        return out

    def _event(self, kind: str) -> SegmentEvent:
        level = 10 * np.log10(max(self._seg_power / max(self._seg_n, 1), 1e-10))
        return SegmentEvent(self.party, kind, self._seg_start or 0.0, self._seg_last, float(level), self.now)
