"""Real voices: calls assembled from recordings of real people speaking Mandarin, placed on two
lines at known times, clean and through a telephone line (8 kHz G.711 µ-law, line noise at 15-20
dB SNR, echo between the lines, hold music). The truth is where the clips were put."""
import pytest

from phonecoach.core.timeline import Timeline
from phonecoach.hearing.measures import measure_call
from phonecoach.inputs.audio import load_call
from phonecoach.live.session import LiveSession
from phonecoach.live.sources import ReplaySource

from . import realspeech
from .realspeech import CONDITIONS, brisk_call, far_call, frames_f1, hold_call, overlap_call, raised_call, random_call

pytestmark = pytest.mark.skipif(realspeech.missing_reason() is not None, reason=realspeech.missing_reason() or "")
CALLS = {"brisk": brisk_call, "far": far_call}


@pytest.fixture(scope="module", params=[(c, k) for c in CALLS for k in CONDITIONS], ids=lambda p: f"{p[0]}-{p[1]}")
def heard(request, tmp_path_factory):
    """(the call, its recording, the file report's measures)."""
    name, cond = request.param
    call = CALLS[name]()
    kw = CONDITIONS[cond]
    path = call.write(tmp_path_factory.mktemp("real") / (f"{name}.wav" if kw else f"{name}.flac"), **kw)
    return call, path, measure_call(load_call(path), Timeline([]))


def test_each_party_is_heard_where_the_clips_were_put(heard):
    call, path, m = heard
    for party in ("agent", "customer"):
        assert frames_f1(m.turns[party], call.truth.speech[party], m.duration) >= 0.9, party


def test_rings_holds_talk_over_dead_air_and_who_hung_up(heard):
    call, _, m = heard
    t = call.truth
    assert m.rings == t.rings
    assert len(m.holds) == len(t.holds)
    for (s, e), (ts, te) in zip(m.holds, t.holds):  # both edges within 0.5 s
        assert s == pytest.approx(ts, abs=0.5) and e == pytest.approx(te, abs=0.5)
    assert [round(s, 1) for s, _ in m.interruptions] == pytest.approx([s for s, _ in t.talkover], abs=0.5)
    assert len(m.dead_air) == len(t.dead_air)
    for (s, e), (ts, te) in zip(m.dead_air, t.dead_air):
        assert s == pytest.approx(ts, abs=0.5) and e == pytest.approx(te, abs=0.5)
    assert m.hangup_first == t.hangup_first


def test_a_back_channel_is_not_talk_over(heard):
    call, _, m = heard
    for s, e in call.truth.backchannels:  # the agent's 0.5 s 哦 inside the customer's turn
        assert not any(a <= e and b >= s for a, b in m.interruptions)


def test_the_agents_voice_is_measured_on_its_turns(heard):
    """Volume from each turn's speech (clips were put at -24 dBFS of active speech), pitch over
    the voice: real voices, not fragments."""
    call, _, m = heard
    levels = [d for s, e, d in m.agent_utterance_levels]
    assert len(levels) >= 0.8 * len([1 for s, e in call.truth.speech["agent"] if e - s >= 1.0])
    assert m.agent_volume_dbfs == pytest.approx(-24.0, abs=3.0)
    assert m.agent_pitch_range_semitones is not None and m.agent_pitch_range_semitones > 2.0


def test_a_calm_caller_is_never_heard_as_raised(heard):
    assert heard[2].customer_raised == []


def test_live_warnings_fall_at_the_file_reports_moments(heard, pack, tmp_path):
    """Replayed at full speed, each talk-over, dead air and hold is warned within 0.5 s of where
    the file report puts it, and nothing else of those kinds is warned."""
    call, path, m = heard
    got = []
    LiveSession(pack, ReplaySource(str(path), speed=0.0), None, tmp_path / "s", got.append).run()
    kinds = {"never.interrupt": m.interruptions, "voice.response": m.dead_air, "hold.ask_permission": m.holds}
    for rule, events in kinds.items():
        warned = sorted(w.start for w in got if w.rule == rule and w.status == "raised")
        assert warned == pytest.approx([s for s, _ in events], abs=0.5), rule


@pytest.mark.parametrize("seed", [101, 102, 103])
def test_random_calls_nothing_was_tuned_on(seed, tmp_path):
    """Calls drawn at random from the recordings, clean: speech, talk-over and holds as put."""
    call = random_call(seed)
    m = measure_call(load_call(call.write(tmp_path / "c.flac")), Timeline([]))
    for party in ("agent", "customer"):
        assert frames_f1(m.turns[party], call.truth.speech[party], m.duration) >= 0.9, party
    assert [s for s, _ in m.interruptions] == pytest.approx([s for s, _ in call.truth.talkover], abs=0.5)
    assert [s for s, _ in m.holds] == pytest.approx([s for s, _ in call.truth.holds], abs=1.0)
    assert m.customer_raised == []  # clip levels vary by up to 10 dB here, never 9 dB over the caller's median



@pytest.mark.parametrize("cond", list(CONDITIONS))
def test_a_raised_voice_is_heard_against_the_callers_own_level(cond, tmp_path):
    """Real voices: the caller's fifth turn 12 dB over their others is heard as raised, clean and
    through the telephone line; 5 dB over is how voices vary, and is not. (The calls above, and
    the designed and random calls of benchmarks/hearing.py, raise none.)"""
    kw = CONDITIONS[cond]
    for rise, want in ((12.0, True), (5.0, False)):
        call = raised_call(rise)
        path = call.write(tmp_path / (f"r{rise:.0f}.wav" if kw else f"r{rise:.0f}.flac"), **kw)
        m = measure_call(load_call(path), Timeline([]))
        loud_turn = call.truth.speech["customer"][-1]
        if want:
            assert len(m.customer_raised) == 1, m.customer_raised
            (s, e), = m.customer_raised
            assert s == pytest.approx(loud_turn[0], abs=0.5) and e == pytest.approx(loud_turn[1], abs=0.5)
        else:
            assert m.customer_raised == [], m.customer_raised


@pytest.mark.parametrize("cond", list(CONDITIONS))
def test_a_shift_of_real_calls_is_cut_where_the_calls_are(cond, tmp_path):
    """Five calls of real voices in a shift (hold music, talk-over, far-field voices, a caller
    who hangs up with a disconnect tone, an agent who hangs up first), as assembled and through
    a telephone line: each found once, from before its first words to after its last, and never
    reaching into the next."""
    import numpy as np

    from phonecoach.inputs.synth import lay_out_shift

    from .test_live_shift import heard as boundaries

    calls = [brisk_call(), far_call(), random_call(1), random_call(2), raised_call(0.0)]
    stereo, words = [], []
    for c in calls:
        audio = load_call(c.write(tmp_path / f"{c.name}.wav" if CONDITIONS[cond] else tmp_path / f"{c.name}.flac",
                                  **CONDITIONS[cond]))
        stereo.append(np.stack([audio.parties["agent"], audio.parties["customer"]], axis=1))
        spans = [s for sp in c.truth.speech.values() for s in sp]
        words.append((min(s for s, _ in spans), max(e for _, e in spans)))
    day = lay_out_shift(stereo, [10.0, 70.0, 8.0, 70.0, 5.0])
    found = boundaries(day)
    starts = [t for kind, t, _ in found if kind == "start"]
    ends = [t for kind, t, _ in found if kind == "end"]
    assert len(starts) == len(ends) == 5, found
    for i, ((a, b), (first, last)) in enumerate(zip(day.calls, words)):
        assert a - 1.0 <= starts[i] <= a + first, (calls[i].name, found)
        assert a + last <= ends[i] <= (day.calls[i + 1][0] if i + 1 < len(calls) else len(day.stereo) / 16000)


def _live(pack, path, folder):
    got = []
    LiveSession(pack, ReplaySource(str(path), speed=0.0), None, folder, got.append).run()
    return got


def _standing(got, rule):
    """Where the live warnings of ``rule`` that were not taken back began."""
    back = {w.start for w in got if w.rule == rule and w.status == "withdrawn"}
    return sorted(w.start for w in got if w.rule == rule and w.status == "raised" and w.start not in back)


@pytest.mark.parametrize("cond", list(CONDITIONS))
@pytest.mark.parametrize("style", ["none", "broadband", "melody"])
@pytest.mark.parametrize("consent", [True, False], ids=["caller-says-ok", "no-reply"])
def test_a_hold_runs_from_the_request_to_the_agents_return_and_is_never_dead_air(consent, style, cond, pack,
                                                                              tmp_path):
    """A 40 s hold (longer than the 30 s over which a line's floor is taken: loud hold music
    once hid the agent coming back), with or without the caller's 好的 before it: both edges
    within 0.5 s, in the file report and live, and the silence is not dead air as well."""
    call = hold_call(style, 40.0, consent)
    kw = CONDITIONS[cond]
    path = call.write(tmp_path / ("h.wav" if kw else "h.flac"), **kw)
    m = measure_call(load_call(path), Timeline([]))
    (want,) = call.truth.holds
    assert len(m.holds) == 1, m.holds
    assert m.holds[0] == pytest.approx(want, abs=0.5)
    assert m.dead_air == []
    got = _live(pack, path, tmp_path / "s")
    assert [w.start for w in got if w.rule == "hold.ask_permission"] == pytest.approx([want[0]], abs=0.5)
    assert _standing(got, "voice.response") == []  # a warning at 3 s of silence is taken back


def test_a_faint_caller_over_line_noise_is_heard_and_the_wait_after_is_dead_air(pack, tmp_path):
    """A caller's 1.7 s at ~10 dB over G.711 line noise at 15 dB SNR (a recording with its own
    loud room behind it, at -29 dBFS): heard where it was put, so the agent's 4.4 s of silence
    after it is dead air, in the file report and live. (The detector, started afresh over only
    0.1 s of the line's noise, gave this voice 0.05-0.17; the silence was nobody's turn.)"""
    call = random_call(209)
    path = call.write(tmp_path / "c.wav", **CONDITIONS["g711-snr15"])
    m = measure_call(load_call(path), Timeline([]))
    faint = call.truth.speech["customer"][-2]
    assert faint == pytest.approx((91.14, 92.84), abs=0.01)  # the clip this test is about
    assert any(abs(s - faint[0]) <= 0.5 and abs(e - faint[1]) <= 0.5 for s, e in m.turns["customer"]), \
        m.turns["customer"]
    assert len(m.dead_air) == len(call.truth.dead_air)
    for (s, e), (ts, te) in zip(m.dead_air, call.truth.dead_air):
        assert s == pytest.approx(ts, abs=0.5) and e == pytest.approx(te, abs=0.5)
    assert _standing(_live(pack, path, tmp_path / "s"), "voice.response") == pytest.approx(
        [s for s, _ in m.dead_air], abs=0.3)


@pytest.mark.parametrize("make, cond", [
    (lambda: random_call(209), "g711-snr15"),  # the faint caller above
    (lambda: overlap_call(310), "g711-snr15"),  # two 0.8 s cut-ins, drawn out over the hiss to 1.02-1.05 s
    (lambda: random_call(217), "g711-snr20-echo"),  # hold music that starts on a steady note after 请稍等
    (lambda: random_call(217), "g711-snr15"),
    (lambda: random_call(213), "g711-snr20-echo"),  # the agent cuts in; between their syllables only echo
], ids=["faint-caller", "short-cut-ins", "steady-music-after-request", "steady-music-after-request-15dB",
        "cut-in-over-echo"])
def test_calls_the_benchmark_once_got_wrong_have_every_measure_right(make, cond, tmp_path):
    """Held-out calls of benchmarks/hearing.py (``--random 20``) that were wrong before these
    were fixed: holds (both edges), talk-over and dead air within 0.5 s, and who hung up."""
    call = make()
    t = call.truth
    m = measure_call(load_call(call.write(tmp_path / "c.wav", **CONDITIONS[cond])), Timeline([]))
    for found, truth, both in ((m.holds, t.holds, True), (m.interruptions, t.talkover, False),
                               (m.dead_air, t.dead_air, False)):
        assert len(found) == len(truth), (found, truth)
        for (s, e), (ts, te) in zip(found, truth):
            assert s == pytest.approx(ts, abs=0.5) and (not both or e == pytest.approx(te, abs=0.5)), (found, truth)
    assert m.hangup_first == t.hangup_first


@pytest.mark.parametrize("cond", list(CONDITIONS))
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_talk_over_inside_sentences_is_found_in_the_file_and_warned_live(seed, cond, pack, tmp_path):
    """Cut-ins of 0.8-2.5 s into the middle of the other party's sentence, the agent into the
    customer's or the customer into the agent's while the agent talks on: each of at least
    1 s is found where it began, within 0.5 s on every line (a noisy meeting room's voice, seed
    11, is given 0.05-0.35 for its first 0.55 s through a telephone line, and was heard that late
    until a segment's start reached back over the sound that rose from the line's quiet), none
    under it (a 0.8 s cut-in whose end the detector drew out over a noisy line's hiss once
    counted), and live warns of each at the file report's moment."""
    call = overlap_call(seed)
    kw = CONDITIONS[cond]
    path = call.write(tmp_path / ("o.wav" if kw else "o.flac"), **kw)
    m = measure_call(load_call(path), Timeline([]))
    assert [s for s, _ in m.interruptions] == pytest.approx([s for s, _ in call.truth.talkover], abs=0.5)
    got = _live(pack, path, tmp_path / "s")
    assert _standing(got, "never.interrupt") == pytest.approx([s for s, _ in m.interruptions], abs=0.3)
