"""The acoustic building blocks on signals whose answer is exact."""
import numpy as np
import pytest

from phonecoach.hearing import acoustics as ac
from phonecoach.inputs.synth import SR, busy_tone, ringback


def place(total: float, *parts):
    """A signal of ``total`` s with each (start, signal) laid in, plus faint line hiss."""
    x = (np.random.default_rng(0).standard_normal(int(total * SR)) * 10 ** (-62 / 20)).astype(np.float32)
    for start, sig in parts:
        i = int(start * SR)
        x[i:i + len(sig)] += sig[: len(x) - i]
    return x


def test_level_of_a_sine():
    t = np.arange(SR) / SR
    x = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    assert ac.level_dbfs(x) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rings", [1, 3, 6])
def test_china_ringback_rings_are_counted_exactly(rings):
    fr = ac.analyse_frames(place(rings * 5.0 + 1, (0.0, ringback(rings))), SR)
    assert len(ac.count_cadence(ac.tone_bursts(fr, (450.0,)), 1.0, 4.0)) == rings


def test_north_american_ringback_needs_its_own_cadence():
    x = place(20.0, (0.0, ringback(3, country="us")))
    fr = ac.analyse_frames(x, SR)
    assert len(ac.count_cadence(ac.tone_bursts(fr, (440.0, 480.0)), 2.0, 4.0)) == 3
    assert ac.count_cadence(ac.tone_bursts(fr, (450.0,)), 1.0, 4.0) == []


def test_ring_cut_short_by_pick_up_still_counts():
    x = place(12.0, (0.0, ringback(3)[: int(10.4 * SR)]))  # third ring lasts 0.4 s
    fr = ac.analyse_frames(x, SR)
    assert len(ac.count_cadence(ac.tone_bursts(fr, (450.0,)), 1.0, 4.0)) == 3


def test_busy_tone_is_not_ringback():
    fr = ac.analyse_frames(place(5.0, (0.0, busy_tone(4.0))), SR)
    assert ac.count_cadence(ac.tone_bursts(fr, (450.0,)), 1.0, 4.0) == []
    assert len(ac.count_cadence(ac.tone_bursts(fr, (450.0,), min_len=0.2), 0.35, 0.35, tolerance=0.4)) >= 4


def test_pitch_of_a_steady_and_a_gliding_voice():
    t = np.arange(3 * SR) / SR
    def voice(f0):
        phase = 2 * np.pi * np.cumsum(f0) / SR
        return (0.2 * sum(np.sin(k * phase) / k for k in range(1, 8))).astype(np.float32)
    flat = ac.pitch_semitones(voice(np.full_like(t, 120.0)), SR)
    glide = ac.pitch_semitones(voice(100 * 2 ** (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))), SR)
    assert np.median(flat) == pytest.approx(12 * np.log2(1.2), abs=0.2)
    assert np.percentile(flat, 90) - np.percentile(flat, 10) < 0.3
    assert np.percentile(glide, 90) - np.percentile(glide, 10) == pytest.approx(11.4, abs=1.0)


def test_trailing_digital_silence():
    x = place(5.0, (0.0, np.zeros(0, np.float32)))
    x[int(3.2 * SR):] = 0.0
    assert ac.trailing_silence_start(x, SR) == pytest.approx(3.2, abs=0.01)
    assert ac.trailing_silence_start(place(5.0), SR) is None


def test_mask_to_spans_closes_gaps_then_drops_short_runs():
    m = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 1] + [0] * 10, bool)
    assert ac.mask_to_spans(m, 0.1, min_gap=0.15) == [(0.0, 0.5), (pytest.approx(0.9), pytest.approx(1.0))]
    assert ac.mask_to_spans(m, 0.1, min_gap=0.15, min_len=0.2) == [(0.0, 0.5)]


def test_long_signal_frames_in_bounded_blocks():
    x = np.zeros(SR * 600, np.float32)  # ten minutes
    fr = ac.analyse_frames(x, SR)
    assert len(fr) == 30000 and fr.db.dtype == np.float32


def test_voice_contour_follows_level_and_pitch_only_where_the_line_speaks():
    from phonecoach.hearing.acoustics import voice_contour

    sr = 16000
    t = np.arange(6 * sr) / sr
    x = np.zeros_like(t, dtype=np.float32)
    x[sr:3 * sr] = 0.1 * np.sin(2 * np.pi * 150 * t[sr:3 * sr])  # -23 dBFS at 150 Hz
    x[4 * sr:5 * sr] = 0.01 * np.sin(2 * np.pi * 250 * t[4 * sr:5 * sr])  # -43 dBFS at 250 Hz
    got = voice_contour(x, sr, [(1.0, 3.0), (4.0, 5.0)])
    assert got and all(1.0 <= s < 3.0 or 4.0 <= s < 5.0 for s, _, _ in got)
    first = [(d, h) for s, d, h in got if 1.2 <= s < 2.6]
    second = [(d, h) for s, d, h in got if 4.2 <= s < 4.6]
    assert all(abs(d + 23) < 1.0 and abs(h - 150) < 3 for d, h in first)
    assert all(abs(d + 43) < 1.0 and abs(h - 250) < 4 for d, h in second)
