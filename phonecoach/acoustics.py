"""Acoustic measurements as plain functions: arrays in, numbers and spans out.

One short-time spectrum per channel (``analyse_frames``) feeds everything:
speech activity, tone detection (ringback, busy), noise, loudness. Pitch uses
librosa's YIN on speech stretches only. Nothing here knows about rules.

Conventions: signals are float32 mono in [-1, 1]; times are seconds; levels
are RMS dBFS (0 dB = RMS of a full-scale square wave; a full-scale sine is -3 dB).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOP = 0.02  # seconds between frames
WIN = 0.04  # seconds per analysis window
N_FFT = 1024
SILENT_DB = -90.0  # a frame this quiet is digital silence
DTMF_GROUPS = ((697.0, 770.0, 852.0, 941.0), (1209.0, 1336.0, 1477.0, 1633.0))  # keypad rows, columns
Span = tuple[float, float]


@dataclass(frozen=True)
class Frames:
    """Per-frame features of one channel, every ``hop`` seconds."""

    hop: float
    db: np.ndarray  # RMS level, dBFS
    flatness: np.ndarray  # spectral flatness in 150-3400 Hz: 0 (tonal) .. 1 (white noise)
    peakiness: np.ndarray  # share of energy in the 3 strongest spectral peaks (tones/music ~1)
    tone: dict[float, np.ndarray]  # share of energy within ±25 Hz of each frequency
    dtmf: np.ndarray | None = None  # share of energy in the strongest DTMF row + column tone pair

    def __len__(self) -> int:
        return len(self.db)


def analyse_frames(x: np.ndarray, sr: int, *, hop: float = HOP, win: float = WIN,
                   tones: tuple[float, ...] = (450.0, 440.0, 480.0), block: int = 1024) -> Frames:
    """Short-time features of ``x``, computed in blocks so memory stays flat on long calls.

    >>> fr = analyse_frames(np.zeros(16000, np.float32), 16000)
    >>> len(fr), float(fr.db.max())
    (50, -100.0)
    """
    h, w = int(round(hop * sr)), int(round(win * sr))
    n = max(1, int(np.ceil(len(x) / h)))
    padded = np.concatenate([np.zeros(w // 2, np.float32), np.asarray(x, np.float32), np.zeros(w, np.float32)])
    window = np.hanning(w).astype(np.float32)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / sr)
    tone_bins = {f: np.abs(freqs - f) <= 25.0 for f in tones}
    phone_band = (freqs >= 150.0) & (freqs <= 3400.0)  # flatness where even 8 kHz calls have content
    db = np.empty(n, np.float32)
    flat = np.empty(n, np.float32)
    peak = np.empty(n, np.float32)
    tone_share = {f: np.empty(n, np.float32) for f in tones}
    dtmf_bins = [[np.abs(freqs - f) <= 25.0 for f in group] for group in DTMF_GROUPS]
    dtmf = np.empty(n, np.float32)
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        idx = (np.arange(b0, b1) * h)[:, None] + np.arange(w)[None, :]
        frames = padded[idx]
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        db[b0:b1] = 20 * np.log10(np.maximum(rms, 1e-5))
        power = np.abs(np.fft.rfft(frames * window, n=N_FFT, axis=1)) ** 2 + 1e-12
        total = power.sum(axis=1)
        band = power[:, phone_band]
        flat[b0:b1] = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
        # energy of the 3 strongest peaks, each with its two neighbour bins (a windowed sine's main lobe)
        local_max = (power[:, 1:-1] >= power[:, :-2]) & (power[:, 1:-1] >= power[:, 2:])
        lobes = power[:, :-2] + power[:, 1:-1] + power[:, 2:]
        lobe_at_peaks = np.where(local_max, lobes, 0.0)
        top3 = -np.partition(-lobe_at_peaks, 2, axis=1)[:, :3]
        peak[b0:b1] = np.minimum(1.0, top3.sum(axis=1) / total)
        for f, bins in tone_bins.items():
            tone_share[f][b0:b1] = power[:, bins].sum(axis=1) / total
        dtmf[b0:b1] = sum(np.max([power[:, bins].sum(axis=1) for bins in group], axis=0)
                          for group in dtmf_bins) / total
    return Frames(hop, db, flat, peak, tone_share, dtmf)


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


def speech_segments(fr: Frames, *, margin_db: float = 12.0, min_db: float = -50.0, min_gap: float = 0.3,
                    min_len: float = 0.15, max_flatness: float = 0.35,
                    exclude: np.ndarray | None = None, music_change_db: float | None = 2.5,
                    music_window: float = 1.5) -> list[Span]:
    """Speech activity: louder than the line's floor by ``margin_db`` (and above ``min_db``),
    neither tonal (ring, busy, hold music) nor noise-like (rustling, chewing), nor music with a
    steady level (``music_mask``; None turns it off), nor in the ``exclude`` frames (the other
    party's echo)."""
    thr = max(noise_floor(fr) + margin_db, min_db)
    voiced = (fr.db > thr) & ~tonal_mask(fr) & (fr.flatness < max_flatness) & ~dtmf_mask(fr)
    if music_change_db is not None:
        voiced &= ~music_mask(fr, window=music_window, max_change_db=music_change_db)
    if exclude is not None:
        voiced &= ~exclude[: len(voiced)]
    return mask_to_spans(voiced, fr.hop, min_gap=min_gap, min_len=min_len)


def _echo_windows(x: np.ndarray, other: np.ndarray, sr: int, window: float, max_lag: float,
                  min_corr: float, min_drop_db: float, batch: int = 64):
    """(start, width, lag in samples, gain) of each window where ``x`` is a correlated copy of
    ``other`` (``other`` louder by ``min_drop_db`` and leading by 0..``max_lag`` s). Energies
    come from running sums and the correlations from batched FFTs: a pass costs about as much
    as the frame analysis, in memory that does not grow with the call."""
    w, step, lag = int(window * sr), int(window * sr / 2), int(max_lag * sr)
    n_fft = 1 << int(np.ceil(np.log2(w + lag)))
    x = np.asarray(x, np.float32)
    other = np.asarray(other, np.float32)
    n = min(len(x), len(other))
    if n <= w + lag:
        return
    def half_energy(y: np.ndarray) -> np.ndarray:  # energy of each half-window, in float64
        m = n // step
        return np.square(y[: m * step].reshape(m, step), dtype=np.float64).sum(axis=1)

    hx, ho = half_energy(x), half_energy(other)
    first = -(-lag // step)  # the first window with a full lag of history
    idx = np.arange(first, len(hx) - 1)
    ex, eo = hx[idx] + hx[idx + 1], ho[idx] + ho[idx + 1]
    keep = (ex > 1e-12) & (eo >= ex * 10 ** (min_drop_db / 10))
    cand, ex = idx[keep] * step, ex[keep]
    ks = np.arange(lag + 1)
    for b in range(0, len(cand), batch):
        st = cand[b:b + batch]
        segs = x[st[:, None] + np.arange(w)]
        refs = other[(st - lag)[:, None] + np.arange(w + lag)]
        corr = np.fft.irfft(np.fft.rfft(segs, n_fft) * np.conj(np.fft.rfft(refs, n_fft)), n_fft)
        c = corr[:, (-ks) % n_fft]  # c[k] = sum seg[i] * ref[i + k]: x lags other by lag - k samples
        k = np.argmax(np.abs(c), axis=1)
        peak = c[np.arange(len(st)), k]
        cum = np.concatenate([np.zeros((len(st), 1)), np.cumsum(np.square(refs, dtype=np.float64), axis=1)], axis=1)
        rows = np.arange(len(st))
        ea = cum[rows, k + w] - cum[rows, k]
        ok = (ea > 0) & (np.abs(peak) >= min_corr * np.sqrt(ex[b:b + batch] * np.maximum(ea, 1e-30)))
        for i in np.flatnonzero(ok):
            yield int(st[i]), w, int(lag - k[i]), float(peak[i] / ea[i])


def cancel_echo(x: np.ndarray, other: np.ndarray, sr: int, *, window: float = 0.2, max_lag: float = 0.06,
                min_corr: float = 0.6, min_drop_db: float = 10.0) -> tuple[np.ndarray, bool]:
    """``x`` without the other party's leak: stereo recorders leak each party into the other's
    line (typically -15 to -30 dB, 10-50 ms late) through a path that stays put for the call,
    so one delay and gain, the medians over the windows where ``x`` is a correlated, quieter
    copy of ``other``, are subtracted from the whole line. A line without such windows (no
    leak, or two people who only talk over each other: independent voices never correlate
    so) is returned as it is. The flag says whether a leak was found."""
    found = list(_echo_windows(x, other, sr, window, max_lag, min_corr, min_drop_db))
    if len(found) < 3:
        return np.asarray(x, np.float32), False
    d = int(np.median([f[2] for f in found]))
    g = float(np.median([f[3] for f in found]))
    leak = np.concatenate([np.zeros(d, np.float32), np.asarray(other, np.float32)[: max(0, len(x) - d)]])
    leak = np.pad(leak, (0, max(0, len(x) - len(leak))))[: len(x)]
    return (np.asarray(x, np.float32) - g * leak).astype(np.float32), True


def dtmf_mask(fr: Frames, *, share: float = 0.6) -> np.ndarray:
    """Keypad tones (one row and one column frequency, ~0.1 s each): digits keyed during a call
    are neither speech nor talk-over. The frames on either side of a digit, which hold part of
    it, go with it."""
    if fr.dtmf is None or len(fr) == 0:
        return np.zeros(len(fr), bool)
    hit = fr.dtmf >= share
    return hit | np.r_[hit[1:], False] | np.r_[False, hit[:-1]]


def music_mask(fr: Frames, *, window: float = 1.5, max_change_db: float = 2.5, margin_db: float = 6.0) -> np.ndarray:
    """Frames of sustained sound whose level barely moves from frame to frame: hold music,
    tonal or broadband (chords with rich harmonics and a drum beat). Speech comes in syllables:
    its level jumps by 4-7 dB between 20 ms frames (3-4 dB even at 15 dB SNR), and it pauses;
    music sustains and moves by under 2 dB, drums included. Judged over ``window`` seconds of
    frames that all sound (``margin_db`` over the line's floor)."""
    n = len(fr)
    if n < 3:
        return np.zeros(n, bool)
    k = max(3, int(round(window / fr.hop)))
    sounding = fr.db > noise_floor(fr) + margin_db
    step = np.diff(fr.db, prepend=fr.db[0]).astype(np.float64)
    both = (sounding & np.roll(sounding, 1)).astype(np.float64)
    both[0] = 0.0
    count = box_sum(both, k)
    mean = box_sum(step * both, k) / np.maximum(count, 1.0)
    var = box_sum(step * step * both, k) / np.maximum(count, 1.0) - mean * mean
    steady = (count >= 0.95 * k) & (np.sqrt(np.maximum(var, 0.0)) < max_change_db)
    # a frame is music when a steady window covers it
    return (box_sum(steady.astype(np.float64), k) > 0) & sounding


def echo_mask(x: np.ndarray, other: np.ndarray, sr: int, n_frames: int, *, hop: float = HOP,
              window: float = 0.2, max_lag: float = 0.06, min_corr: float = 0.6,
              min_drop_db: float = 10.0) -> np.ndarray:
    """Frames of ``x`` that are still only a correlated, quieter copy of ``other`` (what
    ``cancel_echo`` left of a leak whose path changed)."""
    mask = np.zeros(n_frames, bool)
    for start, w, _, _ in _echo_windows(x, other, sr, window, max_lag, min_corr, min_drop_db):
        a, b = int(start / sr / hop), int(np.ceil((start + w) / sr / hop))
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


def pitch_semitones(x: np.ndarray, sr: int, *, fmin: float = 70.0, fmax: float = 400.0) -> np.ndarray:
    """F0 of clearly voiced frames in semitones re 100 Hz (YIN; pyin is too slow for long calls)."""
    import librosa

    frame = 1024 if sr >= 16000 else 512
    if len(x) < frame * 2:
        return np.zeros(0)
    hop = frame // 4
    f0 = librosa.yin(np.asarray(x, np.float32), fmin=fmin, fmax=fmax, sr=sr, frame_length=frame,
                     hop_length=hop, trough_threshold=0.1)
    rms = librosa.feature.rms(y=np.asarray(x, np.float32), frame_length=frame, hop_length=hop)[0][: len(f0)]
    loud = rms > 0.3 * (np.median(rms[rms > 1e-4]) if np.any(rms > 1e-4) else 1.0)
    keep = (f0 > fmin * 1.05) & (f0 < fmax * 0.95) & loud[: len(f0)]
    st = 12 * np.log2(f0[keep] / 100.0)
    if len(st):  # fold YIN's octave errors back to within half an octave of the median
        st = st - 12.0 * np.round((st - np.median(st)) / 12.0)
    return st


def syllable_rate(x: np.ndarray, sr: int, speech: list[Span]) -> float | None:
    """Syllables per minute of speech, from the dominant 1.5-9 Hz modulation of the
    loudness envelope (the syllable rhythm). In Mandarin one character is one syllable,
    so this estimates 字/分 when there is no transcript; it is rough (±30 %)."""
    total = sum(e - s for s, e in speech)
    if total < 3.0:
        return None
    hop = int(0.01 * sr)
    voiced = np.concatenate([x[int(s * sr): int(e * sr)] for s, e in speech])
    env = np.sqrt(np.convolve(np.square(voiced), np.ones(2 * hop) / (2 * hop), mode="same"))[::hop]
    env = np.log(env + 1e-3)
    env -= env.mean()
    n = max(8192, 1 << int(np.ceil(np.log2(len(env)))))
    spectrum = np.abs(np.fft.rfft(env * np.hanning(len(env)), n))
    f = np.fft.rfftfreq(n, 0.01)
    band = (f > 1.5) & (f < 9.0)
    return float(60.0 * f[band][np.argmax(spectrum[band])])
