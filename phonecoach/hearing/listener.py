"""Listening to a call as it goes: the acoustic features every measure needs, built block by
block, so a live session's end-of-call report costs what is left, not the whole call again.

``CallListener`` takes each party's audio in blocks of any size and gives, at ``finish``,
what ``measures`` reads (``Heard``): each line's speech and turns (``SpeechTracker``), its
frames with the other party's leak cancelled, the frames still only echo after that, the raw
frames that copy the other line (for the hang-up), where each line last carried sound, and
the agent's pitch track. A live session also hears each turn as it opens, grows and closes
(``on_turns``), from the same trackers, in audio order whichever party's thread ran ahead.
``phonecoach score`` pushes a whole recording through the same listener, so a file and a
live session agree by construction: every stage computes in batches at fixed positions,
and every decision depends on the samples alone, never on how they were blocked or on
which party's thread ran ahead.

The leak path (delay, gain) of a line is fixed by the first ``LOCK_WINDOWS`` windows where
it is a correlated, quieter copy of the other line (a recorder's leak path stays put for
the call); that line's features up to then are computed again once, cleaned. The speech
trackers are not run again: they hear each stretch once, in steps of ``ECHO_BATCH`` windows,
after the echo of that stretch is known (before the lock, the raw line's copies of the other
line are not speech; after it, the cleaned line's echo left), so a live session's turns are
the file's turns, at most a step and a window (0.7 s) behind the audio.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.settings import MeasureSettings
from ..inputs.audio import CallAudio
from . import acoustics as ac
from . import speech as sa

OTHER = {"agent": "customer", "customer": "agent"}  # each party's counterpart on a stereo call
LOCK_WINDOWS = 8  # leak windows at one delay that fix a line's echo path during the call
LAG_TOLERANCE = 2  # samples: windows this close in delay agree
MIN_LEAK_WINDOWS = 3  # at least this many in the whole call, or the line has no leak to cancel
LEAK_CORR = 0.6  # correlation of a leak window (cancelling, and the echo left after it)
COPY_CORR = 0.5  # a raw line that copies the other this well is not a live line (hang-up)
ECHO_BATCH = 5  # windows per pass (0.5 s of audio): how far the speech trackers lag the audio
SILENCE_LEVEL = 1e-4  # |sample| at or under this is digital silence


class _Samples:
    """A float32 signal that grows at its end, kept in pages (no copies as it grows)."""

    PAGE = 1 << 20  # samples (65 s at 16 kHz)

    def __init__(self) -> None:
        self._pages: list[np.ndarray] = []
        self.n = 0

    def extend(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32)
        while len(x):
            if not self._pages or self.n == len(self._pages) * self.PAGE:
                self._pages.append(np.empty(self.PAGE, np.float32))
            at = self.n % self.PAGE
            take = min(len(x), self.PAGE - at)
            self._pages[-1][at: at + take] = x[:take]
            self.n += take
            x = x[take:]

    def slice(self, a: int, b: int) -> np.ndarray:
        """Samples a..b (a view when they sit in one page); before 0 and after the end are silence."""
        lead, a = max(0, -a), max(0, a)
        b = min(b, self.n)
        if b <= a:
            return np.zeros(lead + max(0, b - a), np.float32)
        first, last = a // self.PAGE, (b - 1) // self.PAGE
        if first == last:
            out = self._pages[first][a % self.PAGE: a % self.PAGE + (b - a)]
        else:
            out = np.concatenate([self._pages[k][max(a - k * self.PAGE, 0): min(b - k * self.PAGE, self.PAGE)]
                                  for k in range(first, last + 1)])
        return np.concatenate([np.zeros(lead, np.float32), out]) if lead else out

    @property
    def data(self) -> np.ndarray:
        return self.slice(0, self.n)


class _Line:
    """What is computed from one line's (cleaned) samples as they arrive."""

    def __init__(self, sr: int, voice: bool) -> None:
        self.frames = ac.FrameStream(sr)
        self.pitch = ac.PitchStream(sr) if voice else None
        self.h = self.frames.h
        self.fed = 0
        self._rest = np.zeros(0, np.float32)
        self._last_loud: list[np.ndarray] = []  # per hop: index of its last sample over SILENCE_LEVEL, or -1

    def feed(self, x: np.ndarray) -> None:
        self.frames.feed(x)
        if self.pitch is not None:
            self.pitch.feed(x)
        start = self.fed - len(self._rest)
        self.fed += len(x)
        self._rest = np.concatenate([self._rest, x]) if len(self._rest) else x
        if len(self._rest) >= 50 * self.h:  # a second at a time
            m = len(self._rest) // self.h
            self._note_loud(self._rest[: m * self.h], start)
            self._rest = self._rest[m * self.h:]

    def _note_loud(self, buf: np.ndarray, start: int) -> None:
        if not len(buf):
            return
        rows = np.abs(buf).reshape(-1, min(self.h, len(buf))) > SILENCE_LEVEL
        last = rows.shape[1] - 1 - np.argmax(rows[:, ::-1], axis=1)
        base = start + np.arange(rows.shape[0]) * self.h
        self._last_loud.append(np.where(rows.any(axis=1), base + last, -1))

    def finish(self) -> tuple[ac.Frames, np.ndarray]:
        start, m = self.fed - len(self._rest), len(self._rest) // self.h
        self._note_loud(self._rest[: m * self.h], start)
        self._note_loud(self._rest[m * self.h:], start + m * self.h)
        self._rest = np.zeros(0, np.float32)
        if self.pitch is not None:
            self.pitch.finish()
        return self.frames.finish(), (np.concatenate(self._last_loud) if self._last_loud else np.zeros(0, np.int64))


@dataclass
class Heard:
    """A call's acoustic features, as ``measures`` reads them."""

    audio: CallAudio  # the lines with the other party's leak cancelled
    recorded: CallAudio  # the lines as they came (to listen to)
    speech: dict[str, list[ac.Span]]  # per line: speech segments
    turns: dict[str, list[sa.Turn]]  # per line: its speech bridged over its own short pauses
    frames: dict[str, ac.Frames]
    echo: dict[str, np.ndarray]  # per line that leaked: frames still only the other's echo
    copies: dict[str, np.ndarray]  # per stereo line: raw frames that copy the other line
    pitch: ac.PitchStream | None  # the agent's voice (or the mono mix's)
    last_loud: dict[str, np.ndarray]  # per line, per hop: last sample over SILENCE_LEVEL (-1: none)

    @property
    def leaked(self) -> set[str]:
        return set(self.echo)

    def trailing_silence(self, party: str, min_len: float = 0.5) -> float | None:
        """Start of digital silence that runs to the end of the line, echo frames counted as
        silent (a hung-up line carrying only the other party's echo is as dead as a silent one)."""
        last = self.last_loud[party]
        mask = self.echo.get(party)
        if mask is not None and mask.any():
            last = np.where(np.pad(mask, (0, max(0, len(last) - len(mask))))[: len(last)], -1, last)
        sr = self.audio.sr
        end = len(self.audio.parties[party]) / sr
        start = (int(last.max()) + 1) / sr if len(last) and last.max() >= 0 else 0.0
        return start if end - start >= min_len else None


class CallListener:
    """Per-call acoustic state fed party by party (``push``), ended by ``finish``. Not
    thread-safe: a live session feeds it from one thread."""

    def __init__(self, parties: list[str], sr: int, path: str = "", source_sr: int | None = None,
                 settings: MeasureSettings = MeasureSettings(),
                 on_turns: Callable[[list[sa.TurnEvent], float, dict[str, float | None]], None] | None = None) -> None:
        assert sr == sa.SR, "the speech detector hears 16 kHz"
        self.sr, self.path, self.source_sr = sr, path, source_sr or sr
        self.parties = list(parties)
        self.stereo = set(self.parties) == {"agent", "customer"}
        self.voice = "agent" if "agent" in parties else ("unknown" if "unknown" in parties else None)
        self.raw = {p: _Samples() for p in self.parties}
        self.lines = {p: _Line(sr, p == self.voice) for p in self.parties}
        self.step = int(ac.ECHO_WINDOW * sr / 2)
        self.lag = int(ac.ECHO_MAX_LAG * sr)
        self.windows = 0  # raw windows compared so far (both directions)
        self.found: dict[str, list[ac.EchoWindows]] = {p: [] for p in self.parties}
        self.path_of: dict[str, tuple[int, float]] = {}  # line -> fixed leak (delay in samples, gain)
        self.echo_windows: dict[str, int] = {}  # cleaned windows checked, per leaking line
        self.echo_left: dict[str, list[ac.EchoWindows]] = {}
        self.trackers = {p: sa.SpeechTracker(p, settings) for p in self.parties}
        self.tracked = {p: 0 for p in self.parties}  # samples each tracker has heard
        self.on_turns = on_turns  # (events, seconds every tracker has heard, each line dead since) after each step
        self._veto: dict[str, list[ac.EchoWindows]] = {p: [] for p in self.parties}  # echo near the trackers

    def push(self, party: str, samples: np.ndarray) -> None:
        self.push_blocks([(party, samples)])

    def push_blocks(self, blocks: list[tuple[str, np.ndarray]]) -> None:
        """Several parties' blocks, in the order they came, worked through at once: the same
        features as pushing them one by one (every stage runs at fixed positions)."""
        for party, samples in blocks:
            self.raw[party].extend(np.asarray(samples, np.float32))
        self._advance(final=False)

    def push_call(self, audio: CallAudio) -> None:
        for p, x in audio.parties.items():
            self.raw[p].extend(np.asarray(x, np.float32))
        self._advance(final=False)

    # ------------------------------------------------------------------------------------

    def _aligned(self) -> int:
        """Samples every party has reached: how far the two-line work can go."""
        return min(r.n for r in self.raw.values())

    def _advance(self, final: bool) -> None:
        if self.stereo:
            for first, count in self._batches(self.windows, final):
                self._compare_lines(first, count)
                self._track(upto=(first + count) * self.step)
            if final:
                self._track(upto=max(r.n for r in self.raw.values()))
        else:  # one line: heard in the same fixed steps, so its turns reach the judge alike
            n, unit = max(r.n for r in self.raw.values()), ECHO_BATCH * self.step
            for upto in range(min(self.tracked.values()) // unit * unit + unit, n + 1, unit):
                self._track(upto=upto)
            if final:
                self._track(upto=n)
        n = self._aligned() if self.stereo else None
        for p, line in self.lines.items():
            upto = n if n is not None else self.raw[p].n
            if upto > line.fed:
                line.feed(self._cleaned(p, line.fed, upto))

    def _batches(self, done: int, final: bool):
        """(first, count) of the next window batches that can be run, at fixed positions."""
        last = self._aligned() // self.step - 2  # window k needs samples up to (k + 2) * step
        while (avail := last + 1 - done) > 0 and (avail >= ECHO_BATCH or final):
            count = min(ECHO_BATCH, avail)
            yield done, count
            done += count

    def _compare_lines(self, first: int, count: int) -> None:
        """One batch of windows: where each raw line copies the other (a leak, or a dead line's
        echo), the leak path fixed once enough windows agree, and the echo left after cancelling."""
        for p in self.parties:
            o = OTHER[p]
            lo, hi = first * self.step - self.lag, (first + count + 1) * self.step
            found = ac.echo_windows(self.raw[p].slice(lo, hi), self.raw[o].slice(lo, hi), self.sr, first, count,
                                    min_corr=COPY_CORR, x0=lo, o0=lo)
            if len(found.starts):
                self.found[p].append(found)
            if p not in self.path_of:
                self._maybe_lock(p, LOCK_WINDOWS)
                self._veto[p].append(found)
        self.windows = first + count
        for p in self.path_of:
            self._veto[p].extend(self._check_echo_left(p, self.windows))

    def _track(self, upto: int) -> None:
        """Feed each speech tracker what it has not heard, up to sample ``upto``, with the windows
        that are only the other party's echo; then tell the live judge what changed."""
        events: list[sa.TurnEvent] = []
        for p, tracker in self.trackers.items():
            a, b = self.tracked[p], min(upto, self.raw[p].n)
            if b <= a:
                continue
            x = self._cleaned(p, a, b)
            veto = self._veto_of(p, tracker, a, len(x))
            events.extend(tracker.feed(x, veto))
            self.tracked[p] = b
        if self.on_turns is not None:
            heard = min(t.now for t in self.trackers.values())
            self.on_turns(sorted(events, key=lambda e: e.now), heard, self._dead())

    def _veto_of(self, p: str, tracker: sa.SpeechTracker, at: int, samples: int) -> np.ndarray | None:
        """For the tracker windows the next ``samples`` samples complete: whether each window's
        middle lies in an echo window of its line."""
        n = tracker.pending(samples)
        windows, self._veto[p] = self._veto[p][-4:], self._veto[p][-4:]  # older ones lie behind the tracker
        starts = np.concatenate([w.starts for w in windows]) if windows else np.zeros(0, np.int64)
        if not n or not len(starts):
            return None
        mids = (tracker.windows + np.arange(n)) * sa.WINDOW + sa.WINDOW // 2
        width = windows[0].width
        starts = np.sort(starts)
        k = np.searchsorted(starts, mids, side="right") - 1
        return (k >= 0) & (mids < starts[np.maximum(k, 0)] + width)

    def _maybe_lock(self, p: str, needed: int) -> bool:
        """Fix line ``p``'s leak path once ``needed`` leak windows agree on its delay. Windows on
        a tone (ringback on both lines) correlate at any multiple of its period and with either
        sign: only windows with one clear delay, at the most common delay (±LAG_TOLERANCE
        samples), count."""
        leaks = [f.where(LEAK_CORR, unique=True) for f in self.found[p]]
        lags = np.concatenate([f.lags for f in leaks]) if leaks else np.zeros(0, np.int64)
        if len(lags) < needed:
            return False
        gains = np.concatenate([f.gains for f in leaks])
        counts = np.bincount(lags, minlength=self.lag + 1)  # windows per delay: linear in their number
        near = np.convolve(counts, np.ones(2 * LAG_TOLERANCE + 1), mode="same")
        agree = np.flatnonzero(np.abs(lags - int(np.argmax(near))) <= LAG_TOLERANCE)
        if len(agree) < needed:
            return False
        agree = agree[:LOCK_WINDOWS]
        self.path_of[p] = (int(np.median(lags[agree])), float(np.median(gains[agree])))
        self.echo_windows[p], self.echo_left[p] = 0, []
        self.lines[p] = _Line(self.sr, p == self.voice)  # its features so far assumed no leak
        return True

    def _cleaned(self, p: str, a: int, b: int) -> np.ndarray:
        """Samples a..b of line ``p`` without the other party's leak (as they are, if none)."""
        x = self.raw[p].slice(a, b)
        if p not in self.path_of:
            return x
        d, g = self.path_of[p]
        return (x - np.float32(g) * self.raw[OTHER[p]].slice(a - d, b - d)).astype(np.float32)

    def _check_echo_left(self, p: str, upto: int) -> list[ac.EchoWindows]:
        """The cleaned line's windows still only the other's echo, up to window ``upto`` (from the
        start of the call when the path has just been fixed)."""
        new = []
        for first in range(self.echo_windows[p], upto, ECHO_BATCH):
            count = min(ECHO_BATCH, upto - first)
            lo, hi = first * self.step - self.lag, (first + count + 1) * self.step
            found = ac.echo_windows(self._cleaned(p, lo, hi), self.raw[OTHER[p]].slice(lo, hi), self.sr, first, count,
                                    min_corr=LEAK_CORR, x0=lo, o0=lo)
            if len(found.starts):
                self.echo_left[p].append(found)
            new.append(found)
        self.echo_windows[p] = max(upto, self.echo_windows[p])
        return new[-2:]

    # ------------------------------------------------------------------------------------

    def finish(self) -> Heard:
        """The features of the whole call. The lines of a stereo call are brought to one length
        (a live party whose last blocks never came is silent there)."""
        if self.stereo:
            n = max(r.n for r in self.raw.values())
            for r in self.raw.values():
                r.extend(np.zeros(n - r.n, np.float32))
        self._advance(final=True)
        self._finish_tracking()
        if self.stereo:
            for p in self.parties:
                if p not in self.path_of and self._maybe_lock(p, MIN_LEAK_WINDOWS):
                    self._check_echo_left(p, self.windows)
            self._advance(final=True)
        frames, last_loud = {}, {}
        for p, line in self.lines.items():
            frames[p], last_loud[p] = line.finish()
        echo = {p: _mask(self.echo_left[p], self.sr, len(frames[p])) for p in self.path_of}
        copies = {p: _mask(self.found[p], self.sr, len(frames[p])) for p in self.parties} if self.stereo else {}
        parties = {p: self._cleaned(p, 0, self.raw[p].n) for p in self.parties}
        audio = CallAudio(self.path, self.sr, self.source_sr, parties)
        recorded = CallAudio(self.path, self.sr, self.source_sr, {p: r.data for p, r in self.raw.items()})
        pitch = self.lines[self.voice].pitch if self.voice else None
        speech = {p: list(t.segments) for p, t in self.trackers.items()}
        turns = {p: list(t.turns) for p, t in self.trackers.items()}
        return Heard(audio, recorded, speech, turns, frames, echo, copies, pitch, last_loud)

    def _finish_tracking(self) -> None:
        events = [e for t in self.trackers.values() for e in t.finish()]
        if self.on_turns is not None:
            self.on_turns(sorted(events, key=lambda e: e.now), max(t.now for t in self.trackers.values()), self._dead())

    def _dead(self) -> dict[str, float | None]:
        return {p: t.dead_since for p, t in self.trackers.items()}


def _mask(found: list[ac.EchoWindows], sr: int, n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, bool)
    for f in found:
        mask |= ac.windows_mask(f, sr, n_frames)
    return mask


def listen(audio: CallAudio, settings: MeasureSettings = MeasureSettings()) -> Heard:
    """A whole recording through the listener."""
    listener = CallListener(list(audio.parties), audio.sr, audio.path, audio.source_sr, settings)
    listener.push_call(audio)
    return listener.finish()
