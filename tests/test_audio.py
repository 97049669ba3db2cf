"""Audio in: formats, sample rates, channel mapping and clear errors for bad files."""
import numpy as np
import pytest
import soundfile as sf

from phonecoach.core.errors import AudioError
from phonecoach.inputs.audio import TARGET_SR, load_call
from phonecoach.inputs.synth import speak


@pytest.fixture(scope="module")
def speech(espeak):
    return speak("您好，我是客服小王", "agent", sr=TARGET_SR)


def stereo_file(path, speech, sr, fmt=None, subtype=None):
    """Speech on the left channel only, the right channel silent."""
    from phonecoach.inputs.audio import resample

    left = resample(speech, TARGET_SR, sr)
    x = np.stack([left, np.zeros_like(left)], axis=1)
    sf.write(str(path), x, sr, format=fmt, subtype=subtype)
    return len(left) / sr


def rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


@pytest.mark.parametrize("name,sr,fmt,subtype", [
    ("call.wav", 8000, "WAV", "PCM_16"),
    ("call.wav", 44100, "WAV", "FLOAT"),
    ("call.flac", 22050, "FLAC", None),
    ("call.ogg", 16000, "OGG", "VORBIS"),
    ("call.mp3", 44100, "MP3", "MPEG_LAYER_III"),
])
def test_formats_and_rates_become_16k_with_agent_on_left(tmp_path, speech, name, sr, fmt, subtype):
    duration = stereo_file(tmp_path / name, speech, sr, fmt, subtype)
    call = load_call(tmp_path / name)
    assert call.sr == TARGET_SR and call.source_sr == sr and call.stereo
    assert abs(call.duration - duration) < 0.1  # MP3 pads a little
    assert rms(call.parties["agent"]) > 0.02
    assert rms(call.parties["customer"]) < 0.005


def test_agent_channel_right_swaps_parties(tmp_path, speech):
    stereo_file(tmp_path / "c.wav", speech, 8000)
    call = load_call(tmp_path / "c.wav", agent_channel="right")
    assert rms(call.parties["customer"]) > 0.02 and rms(call.parties["agent"]) < 0.005


def test_mono_is_one_unknown_party(tmp_path, speech):
    sf.write(str(tmp_path / "m.wav"), speech, TARGET_SR)
    call = load_call(tmp_path / "m.wav")
    assert list(call.parties) == ["unknown"] and not call.stereo


@pytest.mark.parametrize("make,expect", [
    (lambda p: None, "file not found"),
    (lambda p: p.write_bytes(b""), "file is empty"),
    (lambda p: p.write_text("this is not audio at all", encoding="utf-8"), "not a readable audio file"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), "not a readable audio file"),
])
def test_bad_audio_gives_one_line_error_naming_the_file(tmp_path, make, expect):
    p = tmp_path / "bad.wav"
    make(p)
    with pytest.raises(AudioError) as exc:
        load_call(p)
    assert expect in str(exc.value) and str(p) in str(exc.value) and "\n" not in str(exc.value)


def test_directory_is_not_audio(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        load_call(tmp_path)
