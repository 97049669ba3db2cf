"""Acoustic measurements as plain functions: arrays in, numbers and spans out.

One short-time spectrum per channel (``analyse_frames``, or ``FrameStream`` block by
block) feeds tone detection (ringback, busy), noise and loudness; speech activity
is a trained detector's (``speech_activity``). Pitch is YIN (``PitchStream``, ``yin.py``).
Nothing here knows about rules.

Conventions: signals are float32 mono in [-1, 1]; times are seconds; levels
are RMS dBFS (0 dB = RMS of a full-scale square wave; a full-scale sine is -3 dB).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .yin import yin_frames

HOP = 0.02  # seconds between frames
WIN = 0.04  # seconds per analysis window
N_FFT = 1024
SILENT_DB = -90.0  # a frame this quiet is digital silence
Span = tuple[float, float]


@dataclass(frozen=True)
class Frames:
    """Per-frame features of one channel, every ``hop`` seconds."""

    hop: float
    db: np.ndarray  # RMS level, dBFS
    flatness: np.ndarray  # spectral flatness in 150-3400 Hz: 0 (tonal) .. 1 (white noise)
    peakiness: np.ndarray  # share of energy in the 3 strongest spectral peaks (tones/music ~1)
    tone: dict[float, np.ndarray]  # share of energy within ±25 Hz of each frequency

    def __len__(self) -> int:
        return len(self.db)


def analyse_frames(x: np.ndarray, sr: int, *, hop: float = HOP, win: float = WIN,
                   tones: tuple[float, ...] = (450.0, 440.0, 480.0)) -> Frames:
    """Short-time features of ``x`` (a ``FrameStream`` fed the whole signal at once).

    >>> fr = analyse_frames(np.zeros(16000, np.float32), 16000)
    >>> len(fr), float(fr.db.max())
    (50, -100.0)
    """
    stream = FrameStream(sr, hop=hop, win=win, tones=tones)
    stream.feed(x)
    return stream.finish()


class FrameStream:
    """``analyse_frames`` block by block, for a call that is still going on.

    Frames are computed in batches of ``batch`` frames at fixed positions, whatever the sizes
    of the blocks fed, so a signal fed in 0.2 s blocks gives exactly (bit for bit) the frames
    of the same signal fed at once: a live session and ``score`` read the same numbers.
    Memory: the features (5 floats per 20 ms) and less than a batch of samples."""

    def __init__(self, sr: int, *, hop: float = HOP, win: float = WIN,
                 tones: tuple[float, ...] = (450.0, 440.0, 480.0), batch: int = 100, keep: bool = True) -> None:
        self.sr, self.hop = sr, hop
        self.keep = keep  # keep the frames handed out by ``take`` for ``finish`` (a live tracker needs not)
        self.h, self.w = int(round(hop * sr)), int(round(win * sr))
        self.batch = batch
        self.tones = tones
        self.window = np.hanning(self.w).astype(np.float32)
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
        self.tone_bins = {f: np.abs(freqs - f) <= 25.0 for f in tones}
        self.phone_band = (freqs >= 150.0) & (freqs <= 3400.0)  # flatness where even 8 kHz calls have content
        self.samples = 0  # signal fed so far
        self._tail = np.zeros(self.w // 2, np.float32)  # padded signal from frame ``done`` on
        self.done = 0  # frames computed
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._taken: list[tuple[np.ndarray, ...]] = []

    def feed(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32)
        self.samples += len(x)
        self._tail = np.concatenate([self._tail, x]) if len(self._tail) else x
        self._run(final=False)

    def take(self) -> Frames:
        """The frames computed since the last ``take`` (a live tracker reads them as they come)."""
        new, self._parts = self._parts, []
        if self.keep:
            self._taken.extend(new)
        return self._frames_of(new)

    def finish(self) -> Frames:
        n = max(1, int(np.ceil(self.samples / self.h)))
        self._tail = np.concatenate([self._tail, np.zeros(self.w + self.batch * self.h, np.float32)])
        self._run(final=True, upto=n)
        fr = self._frames_of(self._taken + self._parts)
        return Frames(self.hop, fr.db[:n], fr.flatness[:n], fr.peakiness[:n], {f: v[:n] for f, v in fr.tone.items()})

    def _frames_of(self, parts: list[tuple[np.ndarray, ...]]) -> Frames:
        cols = list(zip(*parts)) if parts else [[np.zeros(0, np.float32)]] * (3 + len(self.tones))
        db, flat, peak = (np.concatenate(c) for c in cols[:3])
        return Frames(self.hop, db, flat, peak, {f: np.concatenate(c) for f, c in zip(self.tones, cols[3:])})

    def _run(self, final: bool, upto: int | None = None) -> None:
        h, w, b = self.h, self.w, self.batch
        while True:
            ready = (len(self._tail) - w) // h + 1  # frames whose window is all in the tail
            if final and upto is not None and self.done >= upto:
                return
            if ready < b:
                return
            self._parts.append(self._features(self._tail, b))
            self._tail = self._tail[b * h:]
            self.done += b

    def _features(self, padded: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
        h, w = self.h, self.w
        idx = (np.arange(count) * h)[:, None] + np.arange(w)[None, :]
        frames = padded[idx]
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        db = (20 * np.log10(np.maximum(rms, 1e-5))).astype(np.float32)
        power = np.abs(np.fft.rfft(frames * self.window, n=N_FFT, axis=1)) ** 2 + 1e-12
        total = power.sum(axis=1)
        band = power[:, self.phone_band]
        flat = (np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)).astype(np.float32)
        # energy of the 3 strongest peaks, each with its two neighbour bins (a windowed sine's main lobe)
        local_max = (power[:, 1:-1] >= power[:, :-2]) & (power[:, 1:-1] >= power[:, 2:])
        lobes = power[:, :-2] + power[:, 1:-1] + power[:, 2:]
        lobe_at_peaks = np.where(local_max, lobes, 0.0)
        top3 = -np.partition(-lobe_at_peaks, 2, axis=1)[:, :3]
        peak = np.minimum(1.0, top3.sum(axis=1) / total).astype(np.float32)
        tones = tuple((power[:, bins].sum(axis=1) / total).astype(np.float32) for bins in self.tone_bins.values())
        return (db, flat, peak) + tones


# --- spans -----------------------------------------------------------------------------

def mask_to_spans(mask: np.ndarray, hop: float, *, min_gap: float = 0.0, min_len: float = 0.0) -> list[Span]:
    """Runs of True as (start, end) seconds; gaps shorter than ``min_gap`` are closed first,
    then runs shorter than ``min_len`` dropped."""
    m = np.asarray(mask, bool)
    if not m.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2]))
    merged: list[list[int]] = []
    for s, e in runs:
        if merged and (s - merged[-1][1]) * hop < min_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s * hop, e * hop) for s, e in merged if (e - s) * hop >= min_len]


def spans_mask(spans: list[Span], n: int, hop: float) -> np.ndarray:
    m = np.zeros(n, bool)
    for s, e in spans:
        m[int(round(s / hop)): int(round(e / hop))] = True
    return m


def overlap(a: Span, b: Span) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


# --- speech, tones, noise ------------------------------------------------------------------

def noise_floor(fr: Frames) -> float:
    """The 10th percentile of non-silent frame levels: the line's background."""
    live = fr.db[fr.db > SILENT_DB]
    return float(np.percentile(live, 10)) if len(live) else SILENT_DB


def tonal_mask(fr: Frames, *, peakiness: float = 0.8, steady: float = 0.3) -> np.ndarray:
    """Frames that are tones or simple music: energy held in a few spectral peaks over the
    sounding frames of ``steady`` seconds (speech harmonics move too fast to stay that peaky).
    Quiet frames between tone bursts are left out of the average."""
    k = max(1, int(round(steady / fr.hop)))
    sounding = (fr.db > noise_floor(fr) + 6.0).astype(np.float32)
    total = box_sum(fr.peakiness * sounding, k)
    count = box_sum(sounding, k)
    return (total >= peakiness * np.maximum(count, 1.0)) & (sounding > 0)


def box_sum(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving sum over ``k`` frames, as long as ``x`` even when ``x`` is shorter than ``k``
    (np.convolve's 'same' returns the longer of the two: a 0.1 s call broke the masks)."""
    full = np.convolve(x, np.ones(k, np.float32), mode="full")
    start = (k - 1) // 2
    return full[start:start + len(x)]


@lru_cache(maxsize=16)
def fft_size(n: int) -> int:
    """The smallest length >= ``n`` with no prime factor over 5, which FFTs take fastest: for a
    0.2 s echo window and its 60 ms of lag (4160 samples) 4320, at a third of the cost of the
    power of two, 8192."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


ECHO_WINDOW = 0.2  # seconds per window compared between the lines
ECHO_MAX_LAG = 0.06  # seconds a leak may lag the line it copies


@dataclass(frozen=True)
class EchoWindows:
    """Windows (of ``width`` samples, starting at ``starts``) where a line is a correlated copy of
    the other, quieter by at least the drop asked for: the leak's delay (``lags``, samples),
    ``gains`` and normalised correlation (``corr``, 0..1) in each, and whether that delay is
    ``unique`` (a tone correlates as well one period further, with either sign)."""

    starts: np.ndarray
    lags: np.ndarray
    gains: np.ndarray
    corr: np.ndarray
    unique: np.ndarray
    width: int

    def where(self, min_corr: float, unique: bool = False) -> "EchoWindows":
        keep = (self.corr >= min_corr) & (self.unique | (not unique))
        return EchoWindows(self.starts[keep], self.lags[keep], self.gains[keep], self.corr[keep], self.unique[keep],
                           self.width)


def echo_windows(x: np.ndarray, other: np.ndarray, sr: int, first: int, count: int, *,
                 window: float = ECHO_WINDOW, max_lag: float = ECHO_MAX_LAG, min_corr: float = 0.5,
                 min_drop_db: float = 10.0, x0: int = 0, o0: int = 0) -> EchoWindows:
    """Windows ``first`` .. ``first + count - 1`` (window k starts at k half-windows) where ``x``
    is a correlated copy of ``other`` (``other`` louder by ``min_drop_db``, leading by
    0..``max_lag`` s). ``x`` holds the call from sample ``x0`` and ``other`` from ``o0``, both up to
    at least the end of the last window. Energies come from half-window sums and the correlations from batched FFTs:
    a pass costs about as much as the frame analysis. Stereo recorders leak each party into the
    other's line (typically -15 to -30 dB, 10-50 ms late); two voices talking over each other
    never correlate so."""
    w, step, lag = int(window * sr), int(window * sr / 2), int(max_lag * sr)
    empty = EchoWindows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, bool), w)
    k = np.arange(max(first, -(-lag // step)), first + count)  # only windows with a full lag of history
    if not len(k):
        return empty
    lo, hi = k[0] * step, (k[-1] + 2) * step

    def half_energy(y: np.ndarray, y0: int) -> np.ndarray:  # energy of each half-window, in float64
        return np.square(np.asarray(y[lo - y0:hi - y0], np.float32).reshape(-1, step), dtype=np.float64).sum(axis=1)

    hx, ho = half_energy(x, x0), half_energy(other, o0)
    ex, eo = hx[:-1] + hx[1:], ho[:-1] + ho[1:]
    keep = (ex > 1e-12) & (eo >= ex * 10 ** (min_drop_db / 10))
    st, ex = k[keep] * step, ex[keep]
    if not len(st):
        return empty
    n_fft = fft_size(w + lag)  # no wrap-around: a window's sample i meets reference sample i + k < w + lag
    segs = np.asarray(x, np.float32)[(st - x0)[:, None] + np.arange(w)]
    refs = np.asarray(other, np.float32)[(st - lag - o0)[:, None] + np.arange(w + lag)]
    corr = np.fft.irfft(np.fft.rfft(segs, n_fft) * np.conj(np.fft.rfft(refs, n_fft)), n_fft)
    ks = np.arange(lag + 1)
    c = corr[:, (-ks) % n_fft]  # c[k] = sum seg[i] * ref[i + k]: x lags other by lag - k samples
    best = np.argmax(np.abs(c), axis=1)
    rows = np.arange(len(st))
    peak = c[rows, best]
    cum = np.concatenate([np.zeros((len(st), 1)), np.cumsum(np.square(refs, dtype=np.float64), axis=1)], axis=1)
    ea = cum[rows, best + w] - cum[rows, best]
    ratio = np.where(ea > 0, np.abs(peak) / np.sqrt(ex * np.maximum(ea, 1e-30)), 0.0)
    ok = ratio >= min_corr
    rival = np.where(np.abs(ks[None, :] - best[:, None]) <= 8, 0.0, np.abs(c)).max(axis=1)  # the next-best delay
    unique = rival < 0.9 * np.abs(peak)
    return EchoWindows(st[ok], (lag - best)[ok], (peak / np.where(ea > 0, ea, 1.0))[ok], ratio[ok], unique[ok], w)


def windows_mask(found: EchoWindows, sr: int, n_frames: int, hop: float = HOP) -> np.ndarray:
    """The frames the windows cover."""
    mask = np.zeros(n_frames, bool)
    for start in found.starts:
        a, b = int(start / sr / hop), int(np.ceil((start + found.width) / sr / hop))
        mask[a:min(b, n_frames)] = True
    return mask


def noise_spans(fr: Frames, speech: list[Span], *, margin_db: float = 12.0, min_db: float = -50.0,
                min_flatness: float = 0.35) -> list[Span]:
    """Loud, noise-like sound outside speech: chewing, rustling, typing into the microphone."""
    thr = max(noise_floor(fr) + margin_db, min_db)
    noisy = (fr.db > thr) & (fr.flatness >= min_flatness) & ~tonal_mask(fr)
    noisy &= ~spans_mask(speech, len(fr), fr.hop)
    return mask_to_spans(noisy, fr.hop, min_gap=0.1, min_len=0.04)


def tone_bursts(fr: Frames, freqs: tuple[float, ...], *, share: float = 0.5, min_db: float = -45.0,
                min_len: float = 0.15) -> list[Span]:
    """Stretches where ``freqs`` together carry most of the energy (a call-progress tone)."""
    ratio = sum(fr.tone[f] for f in freqs)
    return mask_to_spans((ratio >= share) & (fr.db > min_db), fr.hop, min_gap=0.06, min_len=min_len)


def count_cadence(bursts: list[Span], on: float, off: float, *, tolerance: float = 0.3) -> list[Span]:
    """The bursts that follow a tone cadence: each lasts ``on`` (±tolerance x on) and successive
    ones start ``on + off`` apart (±0.6 s). A last burst cut short by pick-up counts when
    it follows a full ring in the cadence."""
    period = on + off
    picked: list[Span] = []
    for i, (s, e) in enumerate(bursts):
        dur = e - s
        fits = abs(dur - on) <= tolerance * on + 0.1
        cut_short = i == len(bursts) - 1 and dur < on and bool(picked)  # pick-up mid-ring
        if not fits and not cut_short:
            continue
        if picked and abs((s - picked[-1][0]) - period) > 0.6:
            if (s - picked[-1][0]) < period - 0.6:
                continue
            picked = []  # a gap in the cadence: start over
        picked.append((s, e))
    return picked


def trailing_silence_start(x: np.ndarray, sr: int, *, level: float = 1e-4, min_len: float = 0.5) -> float | None:
    """Start of digital silence that runs to the end of the channel (the line went dead)."""
    loud = np.flatnonzero(np.abs(x) > level)
    end = len(x) / sr
    start = (loud[-1] + 1) / sr if len(loud) else 0.0
    return start if end - start >= min_len else None


# --- voice ------------------------------------------------------------------------------

def level_dbfs(x: np.ndarray) -> float:
    """RMS level of a stretch, dBFS."""
    return float(20 * np.log10(max(1e-5, float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))))


PITCH_FMIN, PITCH_FMAX = 70.0, 400.0
# a stretch of frames all quieter than this (-60 dBFS) holds no voice to track, and a frame
# counts as voiced only near the stretch's level
PITCH_GATE = 1e-3


class PitchStream:
    """The F0 (YIN) and level of every frame of a line, block by block, in batches at fixed
    positions (so any blocking gives the same track); frames are centred every ``hop`` samples
    from 0 (as librosa's ``center=True`` places them). ``semitones(start, end)`` then reads the
    clearly voiced frames of a stretch. pyin is too slow for long calls."""

    def __init__(self, sr: int, *, fmin: float = PITCH_FMIN, fmax: float = PITCH_FMAX, batch: int = 128) -> None:
        self.sr, self.fmin, self.fmax, self.batch = sr, fmin, fmax, batch
        self.frame = 1024 if sr >= 16000 else 512
        self.hop = self.frame // 4
        self.samples = 0
        self._tail = np.zeros(self.frame // 2, np.float32)
        self._f0: list[np.ndarray] = []
        self._rms: list[np.ndarray] = []
        self.f0 = np.zeros(0)
        self.rms = np.zeros(0)

    def feed(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float32)
        self.samples += len(x)
        self._tail = np.concatenate([self._tail, x]) if len(self._tail) else x
        self._run()

    def finish(self) -> "PitchStream":
        n = 1 + self.samples // self.hop
        done = sum(len(f) for f in self._f0)
        if n > done:
            self._tail = np.concatenate([self._tail, np.zeros(self.frame + self.batch * self.hop, np.float32)])
            self._run()
        self.f0 = np.concatenate(self._f0)[:n] if self._f0 else np.zeros(0)
        self.rms = np.concatenate(self._rms)[:n] if self._rms else np.zeros(0)
        return self

    def _run(self) -> None:
        span = (self.batch - 1) * self.hop + self.frame
        while len(self._tail) >= span:
            y = self._tail[:span]
            frames = y[(np.arange(self.batch) * self.hop)[:, None] + np.arange(self.frame)]
            rms = np.sqrt(np.mean(np.square(frames), axis=1))
            self._rms.append(rms)
            f0 = np.zeros(self.batch)
            sounding = rms >= PITCH_GATE  # a frame this quiet holds no voice: YIN is the costly part
            if sounding.any():
                f0[sounding] = yin_frames(frames[sounding], self.sr, self.fmin, self.fmax, threshold=0.1)
            self._f0.append(f0)
            self._tail = self._tail[self.batch * self.hop:]

    def contour(self, speech: list[Span], *, step: float = 0.5) -> list[tuple[float, float, float | None]]:
        """The line's level (dBFS) and pitch (Hz, None if unvoiced) every ``step`` seconds of its
        speech, for drawing, not judging: the median of each step's frames that sound."""
        if not speech or not len(self.f0):
            return []
        t = np.arange(len(self.f0)) * self.hop / self.sr
        inside = spans_mask(speech, len(self.f0), self.hop / self.sr) & (self.rms > 1e-4)
        per = max(1, int(round(step * self.sr / self.hop)))
        out = []
        for i in range(0, len(self.f0), per):
            sel = inside[i:i + per]
            if not sel.any():
                continue
            r, f = self.rms[i:i + per][sel], self.f0[i:i + per][sel]
            voiced = f[(f > self.fmin * 1.05) & (f < self.fmax * 0.95)]
            out.append((round(float(t[i]), 2), round(float(20 * np.log10(np.median(r))), 1),
                        round(float(np.median(voiced)), 1) if len(voiced) else None))
        return out

    def semitones(self, start: float, end: float) -> np.ndarray:
        """F0 of the clearly voiced frames centred in ``start``..``end`` s, in semitones re 100 Hz,
        YIN's octave errors folded back to within half an octave of the stretch's median."""
        a, b = int(start * self.sr), int(end * self.sr)
        if b - a < self.frame * 2:
            return np.zeros(0)
        f0 = self.f0[-(-a // self.hop): -(-b // self.hop)]
        rms = self.rms[-(-a // self.hop): -(-b // self.hop)]
        loud = rms > 0.3 * (np.median(rms[rms > 1e-4]) if np.any(rms > 1e-4) else 1.0)
        keep = (f0 > self.fmin * 1.05) & (f0 < self.fmax * 0.95) & loud
        st = 12 * np.log2(f0[keep] / 100.0)
        if len(st):
            st = st - 12.0 * np.round((st - np.median(st)) / 12.0)
        return st


def pitch_semitones(x: np.ndarray, sr: int) -> np.ndarray:
    """F0 of the clearly voiced frames of ``x`` in semitones re 100 Hz."""
    stream = PitchStream(sr)
    stream.feed(x)
    return stream.finish().semitones(0.0, len(x) / sr)


def syllable_rate(x: np.ndarray, sr: int, speech: list[Span]) -> float | None:
    """Syllables per minute of speech, from the dominant 1.5-9 Hz modulation of the
    loudness envelope (the syllable rhythm). In Mandarin one character is one syllable,
    so this estimates 字/分 when there is no transcript; it is rough (±30 %)."""
    total = sum(e - s for s, e in speech)
    if total < 3.0:
        return None
    hop = int(0.01 * sr)
    pieces = [x[int(s * sr): int(e * sr)] for s, e in speech]
    n = sum(len(p) for p in pieces)
    blocks = np.concatenate([*pieces, np.zeros(-n % hop, x.dtype)]).reshape(-1, hop)  # zeros add no power
    # the mean power over the 2 * hop samples around every hop-th sample: two neighbouring
    # hop-long blocks (a moving average at every sample, of which every hop-th was kept, cost
    # 1.1 s on a 30-minute call; this 0.02 s); power[0] is before the start
    power = np.concatenate([[0.0], np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64)])
    env = np.sqrt((power[:-1] + power[1:]) / (2 * hop))
    env = np.log(env + 1e-3)
    env -= env.mean()
    n = max(8192, 1 << int(np.ceil(np.log2(len(env)))))
    spectrum = np.abs(np.fft.rfft(env * np.hanning(len(env)), n))
    f = np.fft.rfftfreq(n, 0.01)
    band = (f > 1.5) & (f < 9.0)
    return float(60.0 * f[band][np.argmax(spectrum[band])])


def voice_contour(x: np.ndarray, sr: int, speech: list[Span], *, step: float = 0.5,
                  hop: float = 0.1) -> list[tuple[float, float, float | None]]:
    """A line's level (dBFS) and pitch (Hz, None if unvoiced) every ``step`` seconds of its
    speech, for drawing, not judging: YIN every ``hop`` s (coarse and cheap, a 30-minute call
    takes about a second), the median of each step's voiced frames."""
    if not speech or len(x) < sr // 4:
        return []
    h = max(1, int(hop * sr))
    frame = 1024 if sr >= 16000 else 512
    padded = np.pad(np.asarray(x, np.float32), frame // 2)
    n = 1 + (len(padded) - frame) // h
    f0 = np.concatenate([yin_frames(padded[(np.arange(a, min(a + 512, n)) * h)[:, None] + np.arange(frame)], sr,
                                    PITCH_FMIN, PITCH_FMAX) for a in range(0, n, 512)])
    idx = (np.arange(len(f0)) * h)[:, None] + np.arange(0, frame, 4)
    rms = np.sqrt(np.mean(np.square(padded[np.minimum(idx, len(padded) - 1)]), axis=1))
    t = np.arange(len(f0)) * h / sr
    in_speech = spans_mask(speech, len(f0), h / sr)
    out = []
    per = max(1, int(round(step / (h / sr))))
    for i in range(0, len(f0), per):
        sel = in_speech[i:i + per] & (rms[i:i + per] > 1e-4)
        if not sel.any():
            continue
        r, f = rms[i:i + per][sel], f0[i:i + per][sel]
        voiced = f[(f > PITCH_FMIN * 1.05) & (f < PITCH_FMAX * 0.95)]
        out.append((round(float(t[i]), 2), round(float(20 * np.log10(np.median(r))), 1),
                    round(float(np.median(voiced)), 1) if len(voiced) else None))
    return out
