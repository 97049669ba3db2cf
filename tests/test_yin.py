"""phonecoach's own YIN: right on voices whose pitch is known exactly, close to librosa's ``yin`` on
recorded voices (the bundled calls, and real Mandarin speakers when ``../shared/realspeech`` is
beside the clone), and hearing a call never imports librosa (its import is 5 % of a 3-minute
call's cost)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from phonecoach.hearing.acoustics import PITCH_FMAX, PITCH_FMIN, PitchStream
from phonecoach.hearing.yin import yin_frames
from phonecoach.inputs.audio import resample

from .realspeech import FOLDER as REALSPEECH

SR = 16000
ROOT = Path(__file__).resolve().parent.parent


def _voice(f0: np.ndarray, rng: np.random.Generator, snr_db: float | None = None) -> np.ndarray:
    """A glottal-like voice (8 harmonics falling 6 dB an octave) following ``f0`` sample by sample."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 9))
    x = 0.1 * x / np.max(np.abs(x))
    if snr_db is not None:
        x = x + rng.normal(0, np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10)), len(x))
    return x.astype(np.float32)


def _frames(x: np.ndarray, frame: int = 1024, hop: int = 256) -> np.ndarray:
    n = 1 + (len(x) - frame) // hop
    return x[(np.arange(n) * hop)[:, None] + np.arange(frame)]


@pytest.mark.parametrize("f0", [75.0, 98.5, 140.0, 210.0, 333.0, 390.0])
def test_a_steady_voice_is_read_within_a_tenth_of_a_semitone(f0):
    x = _voice(np.full(SR, f0), np.random.default_rng(1))
    got = yin_frames(_frames(x), SR, PITCH_FMIN, PITCH_FMAX)
    assert np.all(np.abs(12 * np.log2(got / f0)) < 0.1), (f0, got[:5])


def test_a_gliding_voice_in_noise_is_followed_at_each_frames_centre():
    rng = np.random.default_rng(2)
    t = np.arange(3 * SR) / SR
    f0 = 110 * 2 ** (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))  # 110-220 Hz, an octave's swing
    x = _voice(f0, rng, snr_db=15.0)
    got = yin_frames(_frames(x), SR, PITCH_FMIN, PITCH_FMAX)
    truth = f0[np.arange(len(got)) * 256 + 512]  # the frame's centre
    err = np.abs(12 * np.log2(got / truth))
    assert np.mean(err < 0.3) > 0.97, np.percentile(err, [50, 90, 99])
    assert np.all(err < 1.0)  # no octave jumps


def test_silence_is_not_read_as_voice_and_a_voice_after_it_is():
    stream = PitchStream(SR)
    stream.feed(np.zeros(SR, np.float32))
    stream.feed(_voice(np.full(2 * SR, 150.0), np.random.default_rng(3)))
    stream.finish()
    assert len(stream.semitones(0.0, 0.9)) == 0  # digital silence: no frame is read
    st = stream.semitones(1.1, 3.0)
    assert len(st) > 100 and np.all(np.abs(st - 12 * np.log2(1.5)) < 0.1)


def _recorded_voices() -> list[Path]:
    found = sorted((ROOT / "samples").glob("*.flac"))
    if REALSPEECH.is_dir():
        found += sorted(REALSPEECH.glob("*.wav"))
    return found


def _range_and_median(path: Path, which: str) -> tuple[float, float]:
    """The agent measures' pitch range (p10-p90, semitones) and median, through phonecoach's own
    stream or librosa's yin on the same frames."""
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x[:, 0] if sr == SR else resample(x[:, 0], sr, SR)  # as phonecoach hears every call: at 16 kHz
    stream = PitchStream(SR)
    stream.feed(x)
    stream.finish()
    if which == "librosa":
        import librosa

        y = np.concatenate([np.zeros(stream.frame // 2, np.float32), x, np.zeros(stream.frame, np.float32)])
        f0 = librosa.yin(y, fmin=PITCH_FMIN, fmax=PITCH_FMAX, sr=SR, frame_length=stream.frame,
                         hop_length=stream.hop, trough_threshold=0.1, center=False)[:len(stream.f0)]
        stream.f0 = np.where(stream.rms >= 1e-3, f0, 0.0)
    st = stream.semitones(0.0, len(x) / SR)
    return float(np.percentile(st, 90) - np.percentile(st, 10)), float(np.median(st))


def test_recorded_voices_measure_as_librosas_yin_measures_them():
    paths = _recorded_voices()
    ranges, medians = [], []
    for p in paths:
        ours, theirs = _range_and_median(p, "ours"), _range_and_median(p, "librosa")
        ranges.append(abs(ours[0] - theirs[0]))
        medians.append(abs(ours[1] - theirs[1]))
    assert len(ranges) >= 7  # the bundled calls at least
    # octave-jumping voices (a noisy line, a creaky speaker) may fold differently, and the bundled calls
    # (espeak-ng at 8 kHz) spread their range by about a semitone more or less: the bulk agrees
    assert np.median(ranges) < 1.0 and np.mean(np.array(ranges) < 1.5) >= 0.8, list(zip(paths, ranges))
    assert np.median(medians) < 0.5 and np.mean(np.array(medians) < 1.0) >= 0.8, list(zip(paths, medians))


def test_hearing_a_call_never_imports_librosa_or_scipy():
    code = ("import sys; from phonecoach.inputs.audio import load_call; from phonecoach.hearing.listener import listen;"
            "from phonecoach.hearing.acoustics import voice_contour; import phonecoach.sinks.callpage;"
            "a = load_call(sys.argv[1]); h = listen(a);"
            "assert voice_contour(a.parties['agent'], a.sr, h.speech['agent']);"
            "print(','.join(m for m in ('librosa', 'scipy', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "samples" / "hold_call.flac")], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == ""
