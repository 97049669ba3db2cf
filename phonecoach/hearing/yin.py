"""YIN fundamental-frequency estimates for a batch of frames, in numpy alone.

The steps are those of de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for
speech and music" (JASA 111, 2002): the difference function (through one FFT correlation per
frame), its cumulative-mean normalisation, the first trough under an absolute threshold (or
the deepest one when none is under it), and a parabola through that trough for a fractional
period. Here because librosa's ``yin`` costs 2.5-3.5 s of CPU to import in every process
(scipy.signal, scipy.stats, numba): 5 % of scoring a 3-minute call, for a step that itself
takes 0.1 s of that call. ``tests/test_yin.py`` holds it to librosa's ``yin`` on real voices.
"""
from __future__ import annotations

import numpy as np


def frame_periods(frame_length: int, sr: int, fmin: float, fmax: float) -> tuple[int, int, int]:
    """(window, shortest period, longest period) in samples: the window is half the frame, and the
    longest period leaves a whole window to compare against inside the frame."""
    window = frame_length // 2
    shortest = max(1, int(sr // fmax))
    longest = min(int(sr // fmin), frame_length - window - 1)
    return window, shortest, longest


def yin_frames(frames: np.ndarray, sr: int, fmin: float, fmax: float, threshold: float = 0.1) -> np.ndarray:
    """F0 in Hz of each row of ``frames`` (shape (n, frame_length)); every frame gets a value,
    voiced or not (callers judge voicing by level and range, as with librosa's ``yin``)."""
    frames = np.asarray(frames, np.float64)
    n, length = frames.shape
    if n == 0:
        return np.zeros(0)
    window, shortest, longest = frame_periods(length, sr, fmin, fmax)
    span = window + longest + 1  # samples one frame's comparisons reach
    # the window sits in the frame's middle, so an estimate belongs to the frame's centre (as
    # librosa's frames are read), not to its first quarter
    frames = frames[:, min(length // 2 - window // 2, length - span):]
    nfft = 1 << int(np.ceil(np.log2(span)))
    # d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 = E(0) + E(tau) - 2 r(tau), r by circular correlation
    # (no wrap-around: j + tau < span <= nfft)
    head = np.fft.rfft(frames[:, :window], nfft)
    body = np.fft.rfft(frames[:, :span], nfft)
    r = np.fft.irfft(np.conj(head) * body, nfft)[:, :longest + 2]
    energy = np.concatenate([np.zeros((n, 1)), np.cumsum(np.square(frames[:, :span]), axis=1)], axis=1)
    lags = np.arange(longest + 2)
    e_tau = energy[:, lags + window] - energy[:, lags]
    diff = np.maximum(e_tau[:, :1] + e_tau - 2.0 * r, 0.0)
    # cumulative mean normalised difference: d'(0) = 1, d'(tau) = d(tau) tau / sum_{1..tau} d
    running = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, 1e-20)
    # troughs: lower than the lag before, no higher than the lag after, inside the period range
    inner = np.arange(shortest, longest + 1)
    here = cmnd[:, inner]
    trough = (here < cmnd[:, inner - 1]) & (here <= cmnd[:, inner + 1])
    below = trough & (here < threshold)
    pick = np.where(below.any(axis=1), np.argmax(below, axis=1), np.argmin(here, axis=1))
    tau = inner[pick]
    rows = np.arange(n)
    a, b, c = cmnd[rows, tau - 1], cmnd[rows, tau], cmnd[rows, tau + 1]
    bend = a - 2.0 * b + c
    flat = np.abs(bend) <= 1e-12  # no parabola through three equal points: the trough's own lag
    shift = np.where(flat, 0.0, 0.5 * (a - c) / np.where(flat, 1.0, bend))
    return sr / (tau + np.clip(shift, -1.0, 1.0))
