"""Who speaks when on one line: a detector trained on real speech, segments, and turns.

Speech is told from everything else by Silero VAD v5 (run in numpy by ``silero.py``, no torch
and no ONNX runtime), which gives each 32 ms window of a line a speech probability. Level and
spectrum rules tuned on synthetic speech took real voices for music (real speech moves only
1-3 dB from frame to frame); the trained detector hears real
voices through telephone codecs and line noise and, measured, rejects ringback, busy and keypad
tones, tonal and broadband hold music and noise, while speech over quiet music stays speech.

``SpeechTracker`` follows one line block by block, the same code for a file and a live call:

- probabilities, with hysteresis (speech starts at ``speech_threshold``, ends under
  ``speech_release``), bursts under ``speech_min_seconds`` dropped: *segments*;
- a party's own pauses shorter than ``turn_gap_seconds`` bridged: *turns*. Real people pause
  inside a turn; talk-over, back-channels, dead air, holds and per-utterance volume are judged
  on turns, so a 2 s talk-over cut by a breath is still one 2 s talk-over;
- windows that are only the other party's echo (``veto``) are not speech, nor windows where
  the call-progress tones of the pack's ring country carry half the energy (measured on the
  real recordings: 1 % of speech windows, which the turns bridge; 93-98 % of tone windows).

Everything is decided per window at fixed positions, so a signal fed in any blocks gives the
same turns bit for bit, and a live session hears what ``score`` hears. The model's recurrent
state is kept only while it helps, measured on real voices through telephone lines:

- windows under the line's own floor (or digital silence, tones, echo) are not run through the
  model, which keeps its cost a few percent of decoding; when it runs again after a skip, it
  starts from a fresh state, having first heard the half second of the line just before (a
  state carried from the last turn over unheard noise missed the first second of the next turn;
  one that had heard only a tenth of a second of a noisy line missed a faint caller over it);
- after each half second of sound it called not speech (hold music, a noisy room) its state is
  cleared too (a state soaked in music missed a voice coming back after it); over a quarter
  second or less of windows that are only the other party's echo it is kept, and a segment
  waits (an agent's cut-in over the caller has the caller's echo between its syllables);
- a segment's start reaches back over the sound just before it that rose out of the line's
  quiet less than 0.77 s earlier (a fresh state over a noisy line gave a voice's first half
  second 0.05-0.35: a cut-in was heard 0.55 s late);
- a segment's last windows within a decibel of the line's floor are left out (the state fades
  over a noisy line's hiss for a quarter second), and one whose windows never span 3 dB (a held
  note) is no speech;
- a segment shorter than twice the minimum is speech only if quiet or more speech follows it:
  a fresh state took a note of a melody in the voice's range for a syllable, and a note is
  followed by more music, a short reply (好的) by quiet.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..core.settings import CADENCES, MeasureSettings
from . import silero

SR = 16000  # the detector's sample rate (every line is resampled to it)
WINDOW = 512  # samples per decision (32 ms)
HOP = WINDOW / SR  # seconds per window
RESET_AFTER_SOUND = 16  # the model's state is cleared after each ~0.5 s of sound it called not speech
FLOOR_WINDOWS = 938  # the line's floor is taken over the last ~30 s ...
FLOOR_EVERY = 31  # ... and updated every ~1 s
FLOOR_MEMORY = 180  # the gate's floor is the lowest of the last this many updates (~3 min): hold music
# played for longer than the 30 s ring is not the line's noise, and speech at its level after it
# was gated out (a voice at -24 dBFS after 40 s of music at -20 dBFS went unheard)
GATE_DB = 6.0  # windows less than this over the floor are not run through the model
SILENT_DB = -70.0  # nor are windows under this (far under any voice)
DEAD_DB = -90.0  # a window this quiet is digital silence (a line that is not connected)
TONE_SPAN = 640  # samples (40 ms, ending with the window) the tone check reads
TONE_BAND = 25.0  # Hz either side of a tone's frequency
TONE_EVERY = 4  # outside speech, every this many windows are checked for tones (a hung-up line's)
TONE_SHARE = 0.5  # the tones together carry this share of the energy (each at least 0.3 / their count)
DTMF_GROUPS = ((697.0, 770.0, 852.0, 941.0), (1209.0, 1336.0, 1477.0, 1633.0))  # keypad rows, columns
DTMF_SHARE = 0.6  # a row and a column tone together carry this share (each at least a quarter of it)
WARM_WINDOWS = 3  # windows heard again before the model runs after a reset in sound; a skip this long resets it
RESUME_WINDOWS = 16  # after a skip, the model first hears this many of the line's skipped windows (0.5 s):
# a fresh state that has heard only 0.1 s of a noisy line's background gave a faint voice over it
# 0.05-0.17, one that had heard 0.5 s of it 0.6-0.8 (a caller at 10 dB over G.711 line noise)
QUIET_P = 0.15  # a window the model gives less than this is sound that is not speech
ONSET_WINDOWS = 16  # a segment's start reaches back over at most this many doubtful windows (0.5 s)
RISE_WINDOWS = 24  # ... and over a run of at most this many windows of sound (0.77 s) that rose from the
# line's quiet: a voice through a noisy line, its first half second given 0.05-0.35 by a fresh state
SURE_SPEECH = 2.0  # a segment this many times the minimum length is speech as soon as it is that long;
SHORT_LOOKAHEAD = 10  # a shorter one only if most of the ~0.3 s after it is quiet or speech
AHEAD_MAX = 256  # windows encoded in one batch at most (8 s)
AHEAD_MARGIN_DB = 3.0  # windows this close under the gate are encoded ahead too (the floor moves)
STEADY_SEGMENT_DB = 3.0  # a segment's windows must span this many dB before it is speech (a held note does not)
VETO_CARRY = 8  # echo-only windows (0.26 s) over which an open segment and the model's state wait: between
# an agent's syllables over the caller, the line carries only the caller's echo, and a fresh state after each
# such gap heard a cut-in 1.3 s late (G.711 with echo)
HANGOVER = 16  # a segment's end leaves out at most this many windows at the line's floor (0.5 s) ...
HANGOVER_DB = 1.0  # ... less than this over it: no sound of its own (a sound 6 dB under the hiss adds 1 dB);
# a real speaker's soft tail, 1-3 dB over a noisy line's floor, stays
EDGE_WINDOWS = 16  # a segment's edge beside other sound (hold music, a room) moves to where the sound
# changes: the sound is read over this many windows (0.5 s) beside the edge; a start reaches back
EDGE_REACH = 32  # over at most this many windows (1 s) unlike it, an end over at most
EDGE_TRIM = 19  # this many (0.6 s) like it
EDGE_SOUND = 96  # the sound before a start is read over at most this many windows (3 s)
EDGE_BANDS = np.geomspace(125.0, 3800.0, 17)  # the spectral shape is read in these bands (the phone's)
EDGE_LIKE_DB = 4.5  # a window whose shape is this close to one of the sound's windows is that sound
EDGE_LOUDER_DB = 0.5  # (at an end, also no louder than the sound's loudest: a soft last syllable over
# music 10 dB under the voice has nearly the music's colour, and is still the voice)
EDGE_STEADY = 8  # a start reaches back over no run of this many windows (0.26 s) steady within
EDGE_STEADY_DB = 1.5  # this many dB: a held note (a new one, unlike the melody's before) is no voice,
# whose level moves with its syllables
Span = tuple[float, float]


@dataclass(frozen=True)
class Turn:
    """One party's speech bridged over its own short pauses. Seconds; level in dBFS."""

    start: float
    end: float  # end of its last speech
    speech: float  # seconds of speech inside it (pauses not counted)
    level_dbfs: float  # RMS over its speech windows

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class TurnEvent:
    """A change in a party's turn, as the tracker hears it: ``open`` (a turn began), ``grow``
    (it has more speech), ``closed`` (its pause passed the turn gap: ``turn`` is final).
    ``now``: how far the line has been heard."""

    party: str
    kind: str
    turn: Turn
    now: float


class _Detector:
    """Silero VAD on one line (``silero.py``): an instance of its own per line, since the
    model's recurrent state is the line's. Like the ONNX model it stands for, it reads the 64
    samples before each window: those of the window it heard last, zeros after a reset.

    The encoder runs ahead: when a window of the block being decided needs the model right after
    the window before it, that window and the rest of the block's windows that could be heard
    (sound over the line's floor, not echo) are encoded in one batch. The windows heard again
    after a skip or a reset are encoded together, each with the context the model reads then.
    Either way a window's probability is the ONNX model's, whatever blocks the line comes in."""

    def __init__(self) -> None:
        self.net: silero.Recurrent | None = None  # loaded when first asked
        self._ctx = np.zeros(silero.CONTEXT, np.float32)
        self._last = -2  # index of the window heard last (-2: none since a reset)
        self._first = 0  # index of the block's first window
        self._frames = np.zeros((0, WINDOW), np.float32)
        self._before = self._ctx
        self._could: np.ndarray = np.zeros(0, bool)
        self._gates: dict[int, np.ndarray] = {}  # block window -> its encoded input gates
        self._done: np.ndarray = np.zeros(0, bool)

    def block(self, first: int, frames: np.ndarray, before: np.ndarray, could: np.ndarray) -> None:
        """The block being decided: its windows from index ``first``, the 64 samples before
        them, and which of them could be run through the model."""
        self._first, self._frames, self._before, self._could = first, frames, before, could
        self._gates, self._done = {}, np.zeros(len(frames), bool)

    def hear(self, windows: list[tuple[int, np.ndarray]]) -> float:
        """Run ``(index, samples)`` windows through the model in turn; the last one's probability."""
        if self.net is None:
            self.net = silero.Recurrent()
        gates: list[np.ndarray | None] = []
        alone: list[int] = []  # windows encoded here, each with the context the model reads then
        last, ctx = self._last, [self._ctx]
        for n, (i, x) in enumerate(windows):
            k = i - self._first
            if last == i - 1 and 0 <= k < len(self._frames):
                if not self._done[k]:
                    self._encode_ahead(k)
                gates.append(self._gates[k])
            else:
                gates.append(None)
                alone.append(n)
            last = i
            ctx.append(x[-silero.CONTEXT:])
        if alone:
            encoded = silero.encode(np.stack([np.concatenate([ctx[n], windows[n][1]]) for n in alone]))
            for n, g in zip(alone, encoded):
                gates[n] = g
        self._last, self._ctx = last, ctx[-1].copy()
        for g in gates:
            p = self.net.step(g)
        return p

    def _encode_ahead(self, k: int) -> None:
        rows = np.flatnonzero(self._could[k:AHEAD_MAX + k] & ~self._done[k:AHEAD_MAX + k]) + k
        if not len(rows) or rows[0] != k:
            rows = np.concatenate([[k], rows])
        frames = self._frames
        ctx = frames[np.maximum(rows - 1, 0), -silero.CONTEXT:]  # the samples before each: its predecessor's tail
        ctx[rows == 0] = self._before
        for j, g in zip(rows.tolist(), silero.encode(np.concatenate([ctx, frames[rows]], axis=1))):
            self._gates[j] = g
        self._done[rows] = True

    def reset(self) -> None:
        if self.net is not None:
            self.net.reset()
        self._ctx = np.zeros(silero.CONTEXT, np.float32)
        self._last = -2


@dataclass
class _Open:
    """What a segment and a turn being built both keep: their span and the figures of their speech."""

    start: float
    end: float
    speech: float = 0.0
    energy: float = 0.0  # sum of squares over its speech windows
    samples: int = 0


@dataclass
class _Segment(_Open):
    """The segment being built (or a short one waiting for what follows it)."""

    onset: float | None = None  # where it began, if before ``start`` (taken once it is speech)
    lo: float = math.inf  # its quietest and loudest windows (dB)
    hi: float = -math.inf
    sure: bool = False  # taken as speech (joined its turn)


@dataclass
class _OpenTurn(_Open):
    """The turn being built."""

    held: float = 0.0  # where the model's speech state ended, past ``end`` by the fade over the floor

    @property
    def heard_to(self) -> float:
        """Where a party's pause is measured from (turn gap): the model's own end, as the gap was
        set with (a real speaker's pauses between phrases run to a second)."""
        return max(self.end, self.held)

    def pull_end(self, was: float, now: float) -> bool:
        """A segment that ended at ``was`` ends at ``now`` (its tail was another sound or the
        line's floor): the turn ends there too if it reached ``was`` with that segment. Whether it did."""
        if abs(self.end - was) >= 1e-9:
            return False
        self.end = max(self.start, now)
        return True


class SpeechTracker:
    """One line's speech as it goes. ``feed`` blocks of 16 kHz samples (with, per window, whether
    it is only echo); read ``segments``, ``turns`` (closed) and ``open_turn``; ``finish`` closes
    what is open. Not thread-safe."""

    def __init__(self, party: str, settings: MeasureSettings = MeasureSettings()) -> None:
        self.party = party
        self.on, self.off = settings.speech_threshold, settings.speech_release
        self.min_len, self.gap = settings.speech_min_seconds, settings.turn_gap_seconds
        self.detector = _Detector()
        tones = CADENCES[settings.ring_country][0]  # the ringback's (China's busy tone is its 450 Hz too)
        freqs = np.fft.rfftfreq(1024, 1.0 / SR)
        self._tone_bins = [np.abs(freqs - f) <= TONE_BAND for f in tones]
        self._dtmf_bins = [np.stack([np.abs(freqs - f) <= TONE_BAND for f in group]) for group in DTMF_GROUPS]
        self._tone_window = np.hanning(TONE_SPAN).astype(np.float32)
        self._tail = np.zeros(TONE_SPAN - WINDOW, np.float32)  # the samples just before the window
        self.windows = 0  # windows decided
        self.model_windows = 0  # ... of them run through the model
        self.segments: list[Span] = []
        self.turns: list[Turn] = []
        self._rest = np.zeros(0, np.float32)
        self._levels = np.full(FLOOR_WINDOWS, np.nan, np.float32)  # ring of recent window levels
        self._floor = -np.inf
        self._floors: list[float] = []  # the last FLOOR_MEMORY floors of live windows (-inf: none yet)
        self._idle = 0  # consecutive windows not run through the model
        self._vetoed = 0  # consecutive windows that are only the other party's echo
        self._low = 0  # consecutive windows the model heard and called not speech
        self._short: _Segment | None = None  # a short segment waiting for what follows it
        self._after_short = self._sound_after_short = 0
        self._recent: list[tuple[int, np.ndarray]] = []  # the last windows it heard (index, samples)
        self._dead_from: float | None = None  # start of the digital silence or tones the line carries now
        self._skipped: list[tuple[int, np.ndarray] | None] = []  # the last windows not run through the model (None: echo)
        self._seg: _Segment | None = None
        self._rising = 0  # heard windows in a row just now, out of speech, neither quiet nor speech
        self._turn: _OpenTurn | None = None
        self._history: deque[tuple[int, np.ndarray, float, bool, float]] = deque(
            maxlen=EDGE_SOUND + EDGE_REACH + ONSET_WINDOWS + 2)  # (index, samples, dB, ran, probability)
        self._trim: tuple[int, int] | None = None  # (segment's end window, windows heard since) awaiting its trim
        self._events: list[TurnEvent] = []
        self._grown = False

    @property
    def now(self) -> float:
        return self.windows * HOP

    @property
    def open_turn(self) -> Turn | None:
        """The turn still going on (its speech so far, the segment under way included), or None."""
        return None if self._turn is None else _as_turn(self._turn, self._seg)

    @property
    def talking(self) -> bool:
        return self._turn is not None or self._seg is not None

    @property
    def dead_since(self) -> float | None:
        """Since when the line has carried only digital silence, call-progress tones or the other
        party's echo, with no sound of its own since (the party hung up, or is not yet
        connected), or None while it is live."""
        return self._dead_from

    @property
    def last_speech_end(self) -> float:
        """End of the last speech heard (-inf before any)."""
        if self._turn is not None:
            return self._turn.end
        return self.turns[-1].end if self.turns else float("-inf")

    def feed(self, x: np.ndarray, veto: np.ndarray | None = None) -> list[TurnEvent]:
        """Decide the complete windows in ``x`` (after what is left from the last call).
        ``veto[k]``: the k-th of the windows decided now is only the other party's echo."""
        x = np.asarray(x, np.float32)
        buf = np.concatenate([self._rest, x]) if len(self._rest) else x
        n = len(buf) // WINDOW
        if n:
            frames = buf[: n * WINDOW].reshape(n, WINDOW)
            db = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
            vetoed = np.zeros(n, bool)
            if veto is not None:
                vetoed[:min(n, len(veto))] = np.asarray(veto[:n], bool)
            could = ~vetoed & (db >= SILENT_DB) & (db >= self._floor + GATE_DB - AHEAD_MARGIN_DB)
            self.detector.block(self.windows, frames, self._tail[-silero.CONTEXT:].copy(), could)
            for k in range(n):
                self._window(frames[k], float(db[k]), bool(vetoed[k]))
        self._rest = buf[n * WINDOW:].copy() if len(buf) % WINDOW else np.zeros(0, np.float32)
        return self._take_events()

    def pending(self, samples: int) -> int:
        """How many windows the next ``feed`` of ``samples`` samples decides."""
        return (len(self._rest) + samples) // WINDOW

    def finish(self) -> list[TurnEvent]:
        """The end of the line: a last partial window is decided padded with silence, and the
        segment and turn still open are closed."""
        if len(self._rest):
            self.feed(np.zeros(WINDOW - len(self._rest), np.float32))
        self._end_segment(self._seg.end if self._seg is not None else self.now)
        self._settle_short(keep=True)  # the line ends: nothing more follows it
        if self._turn is not None:
            self._close_turn()
        return self._take_events()

    # ------------------------------------------------------------------------------------

    def _window(self, x: np.ndarray, db: float, veto: bool) -> None:
        i = self.windows
        self._levels[i % FLOOR_WINDOWS] = db
        if i % FLOOR_EVERY == 0 and i >= FLOOR_EVERY:
            self._floor = self._gate_floor(tenth_percentile(self._levels))
        tail, self._tail = self._tail, x[WINDOW - len(self._tail):]
        ran = not (veto or db < SILENT_DB or (self._seg is None and db < self._floor + GATE_DB))
        tone: bool | None = None  # None: not checked
        if not ran:
            p = 0.0
            self._skipped.append(None if veto else (i, x.copy()))
            del self._skipped[:-RESUME_WINDOWS]
        else:
            if self._idle >= WARM_WINDOWS:  # it resumes after a skip: afresh, having heard what it skipped
                self.detector.reset()
                replay = self._skipped
            elif self._low and self._low % RESET_AFTER_SOUND == 0:  # sound it calls not speech (music, noise)
                self.detector.reset()
                replay = self._recent
            else:  # a window or two skipped: heard now, as if it had run all along
                replay = self._skipped
            heard = [before for before in replay if before is not None] + [(i, x)]
            self._skipped.clear()
            p = self.detector.hear(heard)
            self.model_windows += len(heard)
            young = self._seg is None or self._seg.end - self._seg.start < SURE_SPEECH * self.min_len
            if (p >= self.off and young) or (self._seg is None and i % TONE_EVERY == 0):
                tone = self._tone(tail, x)  # what could start speech is checked, the rest now and then
                p = 0.0 if tone else p
        if db < DEAD_DB or tone or veto:  # a dead line: digital silence, the exchange's tones, or only echo
            self._dead_from = i * HOP if self._dead_from is None else self._dead_from
        elif tone is False or p >= self.on:  # sound that is no tone, or speech: the line is live
            self._dead_from = None
        self._vetoed = self._vetoed + 1 if veto else 0
        carried = veto and self._vetoed <= VETO_CARRY  # between a speaker's syllables, only the other's echo
        self._idle = 0 if ran else self._idle + (0 if carried else 1)
        if ran:
            self._low = self._low + 1 if p < QUIET_P else 0
            self._recent.append((i, x.copy()))
            del self._recent[:-WARM_WINDOWS]
        self.windows += 1
        self._history.append((i, x, db, ran, p))
        t0, t1 = i * HOP, (i + 1) * HOP
        if self._seg is None and p >= self.on:
            self._trim = None
            if self._short is not None:
                self._settle_short(keep=True)  # more speech follows it
            # speech began where the model's doubt did, not where it passed the start level: the
            # sounding windows just before that it did not call quiet (a soft first syllable in a
            # noisy room hovers at 0.2-0.5 for a few hundred ms), ONSET_WINDOWS at the most
            earliest = self.segments[-1][1] if self.segments else 0.0
            if self._turn is not None:
                earliest = max(earliest, self._turn.end)
            start = max(t0 - self._rising * HOP, earliest)
            k = int(round(start / HOP))
            self._seg = _Segment(start, t1, onset=min(self._onset_after_sound(k, earliest), self._rise_from_quiet(k, earliest)))
        elif self._seg is not None and carried:
            pass  # the segment waits: the voice may go on after the echo
        elif self._seg is not None and p < self.off:
            self._end_segment(self._seg.end)  # its last window (not the echo it waited over)
        elif self._trim is not None:
            self._trim_end(ran and p < self.off)
        self._rising = min(self._rising + 1, ONSET_WINDOWS) if self._seg is None and ran and QUIET_P <= p < self.on else 0
        if self._seg is not None and not carried:
            self._seg.end = t1
            self._seg.energy += 10 ** (db / 10) * WINDOW
            self._seg.samples += len(x)
            self._seg.lo, self._seg.hi = min(self._seg.lo, db), max(self._seg.hi, db)
            if self._seg.end - self._seg.start >= SURE_SPEECH * self.min_len and (
                    self._seg.sure or self._seg.hi - self._seg.lo >= STEADY_SEGMENT_DB):
                self._confirm(self._seg)
        elif self._short is not None:
            self._after_short += 1
            self._sound_after_short += ran and p < self.off
            if self._after_short >= SHORT_LOOKAHEAD:
                self._settle_short(keep=self._sound_after_short < SHORT_LOOKAHEAD // 2)
        if self._turn is not None and self._seg is None and self._short is None and t1 - self._turn.heard_to >= self.gap:
            self._close_turn()

    def _gate_floor(self, now: float) -> float:
        """The floor the gate uses: the line's floor now, or the lowest it was in the last few
        minutes where that is lower, so a long hold with music does not lift it to the music's
        level. Floors under ``SILENT_DB`` (a line digitally silent, not yet connected) are not
        remembered: the silent gate covers them, and a quiet line that then carries noise
        would otherwise run every window of its noise through the model for minutes."""
        if now >= SILENT_DB:
            self._floors.append(now)
            del self._floors[:-FLOOR_MEMORY]
        return min(now, min(self._floors)) if self._floors and now >= SILENT_DB else now

    def _tone(self, before: np.ndarray, x: np.ndarray) -> bool:
        """A call-progress tone (ringback, busy) or a keypad tone (a row and a column
        frequency) fills the window: never speech, though the detector may take the onset of a
        burst, or a digit keyed over line noise, for a syllable."""
        power = np.abs(np.fft.rfft(np.concatenate([before, x]) * self._tone_window, 1024)) ** 2
        total = float(power.sum()) + 1e-12
        shares = [float(power[b].sum()) / total for b in self._tone_bins]
        if sum(shares) >= TONE_SHARE and min(shares) >= 0.3 / len(shares):
            return True
        row, col = (float(np.max(bins @ power)) / total for bins in self._dtmf_bins)
        return row + col >= DTMF_SHARE and min(row, col) >= DTMF_SHARE / 4

    def _confirm(self, seg: _Segment) -> None:
        """A segment that is speech joins the open turn (or opens one), from its onset: how long
        the model heard it decided that it is speech, not where the voice began."""
        if seg.onset is not None and seg.onset < seg.start:
            seg.start, seg.onset = seg.onset, None
        seg.sure = True
        turn = self._turn
        if turn is not None and seg.start - turn.heard_to >= self.gap:
            self._close_turn()
            turn = None
        if turn is None:
            self._turn = turn = _OpenTurn(seg.start, seg.end)
            self._events.append(TurnEvent(self.party, "open", _as_turn(turn), self.now))
        turn.end = max(turn.end, seg.end)
        self._grown = True

    def _end_segment(self, at: float) -> None:
        seg, self._seg = self._seg, None
        if seg is None:
            return
        seg.end = self._before_floor_tail(seg, at)
        if seg.end < at and self._turn is not None and self._turn.pull_end(at, seg.end):
            self._turn.held = at
        if seg.end - seg.start < self.min_len:
            return
        if seg.end - seg.start >= SURE_SPEECH * self.min_len and not seg.sure:
            return  # steady all along: a held note, a hum (a voice's syllables rise and fall)
        if seg.end - seg.start < SURE_SPEECH * self.min_len:  # short: what follows tells
            self._short, self._after_short, self._sound_after_short = seg, 0, 0
            return
        self._commit(seg)
        self._trim = (int(round(seg.end / HOP)), 0)

    def _before_floor_tail(self, seg: _Segment, at: float) -> float:
        """Where a segment the model ended at ``at`` ended: before its last windows (``HANGOVER``
        at most) at the line's own background, within ``HANGOVER_DB`` of its floor (the model's
        speech state fades over a noisy line's hiss for a quarter second after the voice: a 0.8 s
        cut-in through G.711 at 15 dB SNR was heard as 1.05 s, talk-over). Their sound leaves
        the segment's figures."""
        k = int(round(at / HOP))
        cut, limit = k, self._floor + HANGOVER_DB
        shortest = self.min_len * (SURE_SPEECH if seg.sure else 1.0)  # a sure segment stays sure
        for j, _, db, _, _ in reversed(self._history):
            if j >= k:
                continue
            if j < k - HANGOVER or db >= limit or j * HOP - seg.start < shortest:
                break
            cut = j
            seg.energy = max(seg.energy - 10 ** (db / 10) * WINDOW, 0.0)
            seg.samples -= WINDOW
        return cut * HOP if cut < k else at

    def _onset_after_sound(self, k: int, earliest: float) -> float:
        """Where a segment whose start was put at window ``k`` began, when the line carried other
        sound before it (hold music, a room): the windows just before ``k`` whose spectral shape
        is unlike any of that sound's (up to ``EDGE_SOUND`` windows of it, so a melody's notes
        are among them) are the voice already (the model, its state soaked in music, doubts a
        voice coming back for up to a second). Else ``k``'s own time."""
        hist = self._history
        first = hist[0][0] if hist else k
        top = k - first - EDGE_REACH  # the sound is read before the windows searched
        if top < EDGE_WINDOWS:
            return k * HOP
        sound = []
        for n in range(top - 1, max(top - EDGE_SOUND, 0) - 1, -1):
            j, x, _, ran, p = hist[n]
            if not ran or p >= self.off or j * HOP < earliest:
                break
            sound.append(x)
        if len(sound) < EDGE_WINDOWS:
            return k * HOP
        ref = _shapes(sound)
        limit = _like_limit(ref)
        before = [hist[n] for n in range(k - first - 1, top - 1, -1)]  # the windows just before k, nearest first
        start, levels, like = k, [], 0
        for (j, _, db, ran, _), shape in zip(before, _shapes([x for _, x, _, _, _ in before])):
            if not ran or j * HOP < earliest:
                break
            if _nearest(ref, shape) <= limit:  # one window like the sound is a voice in the line's
                like += 1  # noise; two in a row, the sound
                if like == 2:
                    break
                continue
            like = 0
            levels.append(db)
            steady = levels[-EDGE_STEADY:]
            if len(steady) == EDGE_STEADY and max(steady) - min(steady) < EDGE_STEADY_DB:
                return (j + EDGE_STEADY) * HOP if j + EDGE_STEADY < k else k * HOP
            start = j
        return start * HOP

    def _rise_from_quiet(self, k: int, earliest: float) -> float:
        """Where a segment whose start was put at window ``k`` began, when the sound just before
        it rose out of the line's quiet (windows the gate skipped: its floor, silence, echo) no
        more than ``RISE_WINDOWS`` before: that sound is the voice's own start, which a fresh state
        doubts over a noisy line (a cut-in through G.711 at 15 dB SNR heard 0.55 s late). Sound
        that went on for longer is something else (a room, music): ``k``'s own time then."""
        run = k
        for j, _, _, ran, _ in reversed(self._history):
            if j >= k:
                continue
            if not ran:
                return run * HOP
            if k - j > RISE_WINDOWS or j * HOP < earliest:
                return k * HOP
            run = j
        return k * HOP

    def _trim_end(self, sound: bool) -> None:
        """A segment that ended into other sound (hold music straight after the words) ends
        where that sound began: its last windows (``EDGE_TRIM`` at most) whose spectral shape is
        one of the sound's, at its level (the model's speech state takes up to half a second to fade over
        music as loud as the voice). Read once ``EDGE_WINDOWS`` of the sound have followed."""
        end, heard = self._trim
        if not sound:
            self._trim = None
            return
        heard += 1
        self._trim = (end, heard)
        if heard < EDGE_WINDOWS:
            return
        self._trim = None
        hist = list(self._history)
        first = hist[0][0]
        seg_start, seg_end = self.segments[-1]
        turn = self._turn
        if end - first < EDGE_TRIM or turn is None or abs(seg_end - end * HOP) > 1e-9:
            return
        after = hist[end - first:]
        ref = _shapes([x for _, x, _, _, _ in after])
        limit, loudest = _like_limit(ref), max(db for _, _, db, _, _ in after) + EDGE_LOUDER_DB
        tail = hist[end - first - EDGE_TRIM: end - first][::-1]
        cut, energy = end, 0.0
        for (j, _, db, _, _), shape in zip(tail, _shapes([x for _, x, _, _, _ in tail])):
            if (j * HOP) - seg_start < self.min_len or db > loudest or _nearest(ref, shape) > limit:
                break
            cut, energy = j, energy + 10 ** (db / 10) * WINDOW
        if cut == end:
            return
        new_end = cut * HOP
        self.segments[-1] = (seg_start, new_end)
        turn.pull_end(seg_end, new_end)
        turn.speech -= seg_end - new_end
        turn.energy = max(turn.energy - energy, 0.0)
        turn.samples -= (end - cut) * WINDOW

    def _settle_short(self, keep: bool) -> None:
        """A short segment is speech when quiet or more speech follows it; a note of hold music
        or a burst of a noisy room is followed by more sound that is not speech."""
        seg, self._short = self._short, None
        if keep and seg is not None:
            self._confirm(seg)
            self._commit(seg)

    def _commit(self, seg: _Segment) -> None:
        """A finished segment of speech: into the segments and its turn's figures."""
        self.segments.append((seg.start, seg.end))
        turn = self._turn
        assert turn is not None  # confirmed on the way
        turn.end = max(turn.end, seg.end)
        turn.speech += seg.end - seg.start
        turn.energy += seg.energy
        turn.samples += seg.samples

    def _close_turn(self) -> None:
        done = _as_turn(self._turn)
        self._turn = None
        self.turns.append(done)
        self._grown = False
        self._events.append(TurnEvent(self.party, "closed", done, self.now))

    def _take_events(self) -> list[TurnEvent]:
        if self._grown and self._turn is not None and not (self._events and self._events[-1].kind == "open"):
            self._events.append(TurnEvent(self.party, "grow", self.open_turn, self.now))
        self._grown = False
        out, self._events = self._events, []
        return out


_EDGE_FREQS = np.fft.rfftfreq(WINDOW, 1.0 / SR)
_EDGE_MASKS = np.stack([(_EDGE_FREQS >= a) & (_EDGE_FREQS < b) for a, b in zip(EDGE_BANDS, EDGE_BANDS[1:])]).T
_EDGE_HANN = np.hanning(WINDOW).astype(np.float32)


def _shapes(windows: list[np.ndarray]) -> np.ndarray:
    """Each window's spectral shape: band levels in dB (the phone band), less their mean (so a
    sound is known by its colour, not how loud it is just then)."""
    power = np.abs(np.fft.rfft(np.stack(windows) * _EDGE_HANN, axis=1)) ** 2
    bands = 10 * np.log10(power @ _EDGE_MASKS + 1e-10)
    return bands - bands.mean(axis=1, keepdims=True)


def _nearest(ref: np.ndarray, shape: np.ndarray) -> float:
    """RMS distance (dB) from ``shape`` to the nearest of the sound's windows ``ref``."""
    return float(np.sqrt(np.mean(np.square(ref - shape), axis=1)).min())


def _like_limit(ref: np.ndarray) -> float:
    """How near a window must be to the sound's to be that sound: ``EDGE_LIKE_DB``, or twice
    how near the sound's own windows are to each other where it varies more (a melody)."""
    d = np.sqrt(np.mean(np.square(ref[:, None] - ref[None]), axis=2))
    np.fill_diagonal(d, np.inf)
    return max(EDGE_LIKE_DB, 2.0 * float(np.median(d.min(axis=1))))


def tenth_percentile(levels: np.ndarray) -> float:
    """``np.nanpercentile(levels, 10)`` to the bit (numpy's linear method, in the array's float32)
    at a tenth of its cost: every line's floor is taken again every second, and numpy's layers
    of argument handling cost more than the partition itself."""
    v = levels[~np.isnan(levels)]
    n = len(v)
    if not n:
        return float("nan")
    k = (n - 1) * 0.1
    lo = math.floor(k)
    hi = min(lo + 1, n - 1)
    part = np.partition(v, (lo, hi))
    a, b, t = part[lo], part[hi], k - lo
    d = b - a
    return float(b - d * (1 - t)) if t >= 0.5 else float(a + d * t)


def _as_turn(t: _OpenTurn, seg: _Segment | None = None) -> Turn:
    """The record of turn ``t``, with the confirmed segment ``seg`` still under way in it."""
    speech, energy, samples = t.speech, t.energy, t.samples
    if seg is not None and seg.end - seg.start > 0 and seg.start >= t.start:
        speech, energy, samples = speech + seg.end - seg.start, energy + seg.energy, samples + seg.samples
    level = 10 * np.log10(energy / samples) if samples and energy > 0 else -100.0
    return Turn(round(t.start, 3), round(t.end, 3), round(speech, 3), round(float(level), 2))


def spans_of(turns: list[Turn]) -> list[Span]:
    return [(t.start, t.end) for t in turns]
