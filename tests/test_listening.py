"""The call listener: a call heard block by block, as a live session hears it, gives exactly
what the whole recording gives (so the end-of-call report equals ``score``'s), and the leak
path it fixes early is the recorder's real one."""

import numpy as np
import pytest

from phonecoach.hearing.listener import CallListener, listen
from phonecoach.hearing.measures import measure_call
from phonecoach.inputs.audio import CallAudio
from phonecoach.inputs.synth import SR, build_call

from .test_measures import ITEMS, timeline_of, with_echo


@pytest.fixture(scope="module")
def echo_call(espeak):
    built = build_call(ITEMS, tail=0.5)
    a, c = with_echo(built.stereo, -20, 30)
    return built, CallAudio("t", SR, SR, {"agent": a, "customer": c})


def heard_in_blocks(audio: CallAudio, seed: int, ahead: float):
    """Pushed as live workers push: uneven blocks, the agent's thread up to ``ahead`` s in front."""
    rng = np.random.default_rng(seed)
    listener = CallListener(list(audio.parties), audio.sr)
    pos = {p: 0 for p in audio.parties}
    n = len(audio.parties["agent"])
    while min(pos.values()) < n:
        lead = pos["agent"] - pos["customer"]
        p = "customer" if lead >= ahead * SR or pos["agent"] >= n else ("agent" if lead <= 0 else rng.choice(list(pos)))
        size = int(rng.integers(1, 6400))
        listener.push(p, audio.parties[p][pos[p]: pos[p] + size])
        pos[p] = min(n, pos[p] + size)
    return listener, listener.finish()


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("seed,ahead", [(1, 0.2), (2, 5.0)])
def test_blocks_give_exactly_what_the_whole_recording_gives(echo_call, seed, ahead):
    built, audio = echo_call
    whole = listen(audio)
    listener, blocks = heard_in_blocks(audio, seed, ahead)
    assert listener.path_of  # the leak was found and fixed mid-call, then the line heard again, cleaned
    for p in audio.parties:
        fa, fb = whole.frames[p], blocks.frames[p]
        assert same(fa.db, fb.db) and same(fa.flatness, fb.flatness) and same(fa.peakiness, fb.peakiness)
        assert all(same(fa.tone[f], fb.tone[f]) for f in fa.tone)
        assert same(whole.audio.parties[p], blocks.audio.parties[p])
        assert same(whole.last_loud[p], blocks.last_loud[p])
        assert same(whole.copies[p], blocks.copies[p])
    assert whole.leaked == blocks.leaked and all(same(whole.echo[p], blocks.echo[p]) for p in whole.echo)
    assert same(whole.pitch.f0, blocks.pitch.f0) and same(whole.pitch.rms, blocks.pitch.rms)
    tl = timeline_of(built)
    assert measure_call(audio, tl).to_dict() == measure_call(audio, tl, heard=blocks).to_dict()


@pytest.mark.parametrize("db,ms", [(-25, 10), (-18, 45)])
def test_the_leak_path_fixed_early_is_the_recorders(espeak, db, ms):
    built = build_call(ITEMS, tail=0.5)
    a, c = with_echo(built.stereo, db, ms)
    listener = CallListener(["agent", "customer"], SR)
    listener.push_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}))
    listener.finish()
    for p in ("agent", "customer"):
        delay, gain = listener.path_of[p]
        assert delay == pytest.approx(ms * SR / 1000, abs=2)
        assert 20 * np.log10(gain) == pytest.approx(db, abs=1.0)


def test_clean_lines_are_left_as_they_are(espeak):
    built = build_call(ITEMS, tail=0.5)
    audio = CallAudio("t", SR, SR, {"agent": built.stereo[:, 0], "customer": built.stereo[:, 1]})
    heard = listen(audio)
    assert heard.leaked == set()
    assert same(heard.audio.parties["agent"], audio.parties["agent"].astype(np.float32))


def test_a_live_party_whose_last_blocks_never_came_is_silent_there():
    listener = CallListener(["agent", "customer"], SR)
    listener.push("agent", np.full(SR * 2, 0.1, np.float32))
    listener.push("customer", np.full(SR, 0.1, np.float32))
    heard = listener.finish()
    assert len(heard.audio.parties["customer"]) == 2 * SR
    assert heard.trailing_silence("customer") == pytest.approx(1.0, abs=0.001)
    assert heard.trailing_silence("agent") is None
