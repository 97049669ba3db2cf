"""The live session's growing WAV: what a reader (soundfile, another program, a user after a
crash) finds in it at every flush, and after close."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from phonecoach.live.wavfile import GrowingWav


def _speechlike(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * np.tanh(rng.standard_normal(n))).astype(np.float32)


def test_blocks_written_are_read_back_sample_for_sample(tmp_path):
    x = _speechlike(16000 * 3 + 123)
    w = GrowingWav(tmp_path / "a.wav", 16000)
    for i in range(0, len(x), 1600):
        w.write(x[i:i + 1600])
    w.close()
    y, sr = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    assert sr == 16000
    assert sf.info(str(tmp_path / "a.wav")).subtype == "FLOAT"
    np.testing.assert_array_equal(y, x)


def test_a_file_never_closed_says_how_long_it_is_at_its_last_flush(tmp_path):
    """What a process killed mid-call leaves: the samples up to the last flush, and a header
    that says so (a reader trusting the header gets exactly them)."""
    x = _speechlike(16000 * 2)
    w = GrowingWav(tmp_path / "a.wav", 16000)
    w.write(x[:16000])
    w.flush()
    y, _ = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    np.testing.assert_array_equal(y, x[:16000])
    w.write(x[16000:24000])
    w.flush()
    raw = (tmp_path / "a.wav").read_bytes()
    data = raw.find(b"data")
    assert struct.unpack("<I", raw[data + 4:data + 8])[0] == 24000 * 4 == len(raw) - data - 8
    assert struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    y, _ = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    np.testing.assert_array_equal(y, x[:24000])
    w.close()


def test_an_existing_file_is_never_written_over(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"another session")
    with pytest.raises(FileExistsError):
        GrowingWav(tmp_path / "a.wav", 16000)
    assert (tmp_path / "a.wav").read_bytes() == b"another session"


def test_an_empty_recording_is_a_valid_empty_wav(tmp_path):
    GrowingWav(tmp_path / "a.wav", 8000).close()
    info = sf.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.frames, info.channels) == (8000, 0, 1)
