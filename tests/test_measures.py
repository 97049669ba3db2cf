"""Measures of whole calls with exactly known ground truth, clean and degraded."""

import numpy as np
import pytest
import soundfile as sf

from phonecoach.core.timeline import Timeline, Utterance
from phonecoach.hearing.measures import MeasureSettings, measure_call
from phonecoach.inputs.audio import CallAudio, load_call, resample
from phonecoach.inputs.synth import SR, Hangup, Overlay, Pause, Tone, Turn, build_call, chewing_noise, ringback, tone

A, C = "agent", "customer"

ITEMS = [
    Tone(C, ringback(4)),
    Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3),
    Turn(C, "我想问一下我的账单为什么这个月多了五十块钱，我一直都是用的同一个套餐"),
    Turn(A, "这个是因为您上个月超出了流量", overlap=2.0),
    Turn(C, "那怎么办"),
    Overlay(A, chewing_noise(1.5), offset=0.1),
    Turn(A, "请您稍等，我帮您查询一下，可以吗"),
    Turn(C, "好的"),
    Pause(15.0, music=True),
    Turn(A, "感谢您的耐心等待，已经帮您处理好了"),
    Turn(C, "好的谢谢"),
    Turn(A, "感谢您的来电，再见", gap=5.0),
    Hangup(A, tone=False),
    Turn(C, "喂？还有一个问题", gap=0.8),
]


@pytest.fixture(scope="module")
def built(espeak):
    return build_call(ITEMS, tail=0.5)


@pytest.fixture(scope="module")
def truth(built):
    sp = built.spans
    return {
        "rings": 4,
        # from the end of the agent's request (请您稍等…可以吗; the caller's 好的 is inside the hold)
        # to the agent's 感谢您的耐心等待
        "hold": (built.turns[4]["end"], built.turns[6]["start"]),
        "overlap": sp["overlap"][0],
        "dead_air": (built.turns[-3]["end"], built.turns[-2]["start"]),
        "hangup_at": sp["hangup:agent"][0][0],
        "noise": sp["overlay:agent"][0],
    }


def timeline_of(built):
    return Timeline([Utterance(t["speaker"], t["text"], t["start"], t["end"]) for t in built.turns])


def unannounced(m, built):
    """The dead air the rule counts: the measure lists every wait after the customer, and the
    wait the agent announced (请您稍等…可以吗 before the hold) is excused."""
    from phonecoach.judging.events import asked_to_wait
    from phonecoach.judging.rulepack import load_pack

    tl = timeline_of(built)
    return [d for d in m.dead_air if not asked_to_wait(tl.utterances, load_pack().events, d[0])]


def degrade(stereo, how, tmp_path):
    if how == "clean":
        return stereo
    if how == "snr20":  # speech at about -20 dBFS, noise at -40 dBFS, up to each line's hang-up
        noisy = build_call(ITEMS, tail=0.5, noise_db=-40.0, seed=7).stereo
        return noisy
    if how == "band8k":
        return np.stack([resample(resample(stereo[:, i], SR, 8000), 8000, SR) for i in range(2)], axis=1)
    if how == "mp3":
        p = tmp_path / "call.mp3"
        sf.write(str(p), stereo, SR, format="MP3")
        x, sr = sf.read(str(p), dtype="float32")
        return np.stack([resample(x[:, i], sr, SR) for i in range(2)], axis=1)
    raise ValueError(how)


@pytest.mark.parametrize("how", ["clean", "snr20", "band8k", "mp3"])
def test_measures_match_ground_truth(built, truth, how, tmp_path):
    x = degrade(built.stereo, how, tmp_path)
    audio = CallAudio("t", SR, SR, {"agent": x[:, 0].copy(), "customer": x[:, 1].copy()})
    m = measure_call(audio, timeline_of(built))
    assert m.rings == truth["rings"]
    assert len(m.holds) == 1
    assert m.holds[0][0] == pytest.approx(truth["hold"][0], abs=0.5)
    assert m.holds[0][1] == pytest.approx(truth["hold"][1], abs=0.5)
    assert len(m.interruptions) == 1
    assert m.interruptions[0][0] == pytest.approx(truth["overlap"][0], abs=0.3)
    assert m.interruptions[0][1] == pytest.approx(truth["overlap"][1], abs=0.3)
    assert not any(m.holds[0][0] - 0.1 <= s and e <= m.holds[0][1] + 0.1 for s, e in m.dead_air)  # one silence, one list
    dead_air = unannounced(m, built)
    assert len(dead_air) == 1
    assert dead_air[0][0] == pytest.approx(truth["dead_air"][0], abs=0.5)
    assert dead_air[0][1] == pytest.approx(truth["dead_air"][1], abs=0.5)
    assert m.hangup_first == "agent"
    assert m.hangup_after_last_words == pytest.approx(0.0, abs=0.3)
    noise = sum(e - s for s, e in m.agent_noise)
    assert 0.3 < noise <= truth["noise"][1] - truth["noise"][0] + 0.2
    assert all(truth["noise"][0] - 0.2 <= s and e <= truth["noise"][1] + 0.2 for s, e in m.agent_noise)
    agent_chars = sum(len(t["text"].replace("，", "").replace("？", "")) for t in built.turns if t["speaker"] == A)
    agent_secs = sum(t["end"] - t["start"] for t in built.turns if t["speaker"] == A)
    assert m.agent_pace_cpm == pytest.approx(60 * agent_chars / agent_secs, rel=0.05)
    assert -26 < m.agent_volume_dbfs < -14
    assert m.agent_pitch_range_semitones is not None


def test_back_channel_is_not_an_interruption(espeak):
    call = build_call([
        Turn(A, "您好，请问有什么可以帮您？"),
        Turn(C, "我想问一下我的账单为什么这个月多了五十块钱，我一直都是用的同一个套餐"),
        Turn(A, "嗯", overlap=4.0),
        Turn(A, "好的，我帮您看一下", gap=2.5),
    ])
    audio = CallAudio("t", SR, SR, {"agent": call.stereo[:, 0], "customer": call.stereo[:, 1]})
    assert measure_call(audio, timeline_of(call)).interruptions == []


def test_overlap_below_the_minimum_is_not_an_interruption(espeak):
    call = build_call([Turn(A, "您好，请问有什么可以帮您？"),
                       Turn(C, "我想问一下我的账单为什么多了"),
                       Turn(A, "是因为您上个月超出了流量", overlap=0.5)])
    audio = CallAudio("t", SR, SR, {"agent": call.stereo[:, 0], "customer": call.stereo[:, 1]})
    assert measure_call(audio, timeline_of(call)).interruptions == []
    strict = MeasureSettings(interrupt_min_overlap=0.3)
    assert len(measure_call(audio, timeline_of(call), strict).interruptions) == 1


def test_customer_hangs_up_first_with_disconnect_tone(espeak):
    call = build_call([Turn(A, "感谢您的来电，再见"), Turn(C, "再见"), Pause(0.7), Hangup(C)], tail=2.0)
    audio = CallAudio("t", SR, SR, {"agent": call.stereo[:, 0], "customer": call.stereo[:, 1]})
    m = measure_call(audio, timeline_of(call))
    assert m.hangup_first == "customer" and m.hangup_after_last_words == pytest.approx(0.7, abs=0.3)


# --- bad audio: sensible measures or a clear "could not judge", never a crash ------------------

def stereo_audio(left, right):
    return CallAudio("t", SR, SR, {"agent": left.astype(np.float32), "customer": right.astype(np.float32)})


def test_silence_only():
    z = np.zeros(SR * 20, np.float32)
    m = measure_call(stereo_audio(z, z), Timeline())
    assert m.rings is None and m.holds is None and m.interruptions is None
    assert "no speech" in m.unjudged["speech"]


def test_one_dead_channel(built):
    m = measure_call(stereo_audio(built.stereo[:, 0], np.zeros(len(built.stereo))), Timeline())
    assert m.interruptions is None and m.dead_air is None and m.hangup_first is None
    assert "customer's channel has no speech" in m.unjudged["two-party"]
    assert m.agent_volume_dbfs is not None  # the agent side is still measured


def test_clipped_agent(built):
    loud = np.clip(built.stereo[:, 0] * 30, -1, 1)
    m = measure_call(stereo_audio(loud, built.stereo[:, 1]), timeline_of(built))
    assert m.agent_volume_dbfs > -8  # judged as very loud, not a crash


def test_mono_gives_what_mono_allows(built):
    mono = built.stereo.sum(axis=1) / 2
    m = measure_call(CallAudio("t", SR, SR, {"unknown": mono}), Timeline(speakers_separated=False))
    assert m.rings == 4 and len(m.holds) == 1
    assert m.interruptions is None and "mono" in m.unjudged["two-party"]
    assert m.agent_volume_dbfs is None and "mono" in m.unjudged["voice"]


def test_pace_from_audio_without_transcript(built):
    m = measure_call(stereo_audio(built.stereo[:, 0], built.stereo[:, 1]), Timeline())
    assert m.pace_source == "audio" and 60 < m.agent_pace_cpm < 400


def test_8khz_file_on_disk(built, tmp_path):
    built.write(tmp_path / "c.wav", sr=8000)
    m = measure_call(load_call(tmp_path / "c.wav"), timeline_of(built))
    assert m.rings == 4 and len(m.holds) == 1 and m.hangup_first == "agent"


def test_very_long_call_is_measured(built):
    """Thirty minutes: the same call tiled; measures stay sensible (18 of its holds, no crash)."""
    reps = int(np.ceil(30 * 60 * SR / len(built.stereo)))
    long = np.tile(built.stereo, (reps, 1))
    m = measure_call(stereo_audio(long[:, 0], long[:, 1]), Timeline())
    assert m.duration >= 1800
    assert len(m.holds) >= reps - 1


def test_agent_headset_alone(built):
    """A live session with only the agent's microphone: the voice is measured, two-party rules are not."""
    m = measure_call(CallAudio("t", SR, SR, {"agent": built.stereo[:, 0]}), timeline_of(built))
    assert m.agent_volume_dbfs is not None and m.agent_pitch_range_semitones is not None
    assert m.interruptions is None and "no customer channel" in m.unjudged["two-party"]


def test_each_unmeasured_value_gives_its_own_reason(built):
    mono = built.stereo.sum(axis=1) / 2
    m = measure_call(CallAudio("t", SR, SR, {"unknown": mono}), Timeline(speakers_separated=False))
    assert m.rings == 4  # measured, so its reason must not leak into the others
    assert "mono" in m.why_missing("interruptions")
    assert "mono" in m.why_missing("agent_volume_dbfs")


def test_mono_with_a_diarized_transcript_gives_two_party_measures(built, truth):
    """Many archives are mono but come with a transcript saying who spoke when."""
    mono = built.stereo.sum(axis=1) / 2
    m = measure_call(CallAudio("t", SR, SR, {"unknown": mono}), timeline_of(built))
    assert len(m.interruptions) == 1
    assert m.interruptions[0][0] == pytest.approx(truth["overlap"][0], abs=0.3)
    assert not any(m.holds[0][0] - 0.1 <= s and e <= m.holds[0][1] + 0.1 for s, e in m.dead_air)  # one silence, one list
    dead_air = unannounced(m, built)
    assert len(dead_air) == 1 and dead_air[0][0] == pytest.approx(truth["dead_air"][0], abs=0.5)
    assert dead_air[0][1] == pytest.approx(truth["dead_air"][1], abs=0.5)
    # the agent's voice, from the audio inside the agent's turns (the mix is 6 dB down)
    stereo = measure_call(CallAudio("t", SR, SR, {"agent": built.stereo[:, 0], "customer": built.stereo[:, 1]}),
                          timeline_of(built))
    assert m.agent_volume_dbfs == pytest.approx(stereo.agent_volume_dbfs - 6.0, abs=1.5)
    assert m.agent_pitch_range_semitones == pytest.approx(stereo.agent_pitch_range_semitones, abs=1.0)
    assert "interruptions" in m.from_transcript and "from the transcript" in " ".join(m.describe()).lower()
    assert m.hangup_first is None and "mono" in m.why_missing("hangup_first")
    assert m.to_dict()["from_transcript"]


def test_mono_with_untimed_or_one_sided_transcript_stays_not_applicable(built):
    mono = built.stereo.sum(axis=1) / 2
    untimed = Timeline([Utterance(t["speaker"], t["text"]) for t in built.turns])
    m = measure_call(CallAudio("t", SR, SR, {"unknown": mono}), untimed)
    assert m.interruptions is None and "speakers and times" in m.why_missing("interruptions")


def with_echo(stereo, db, ms):
    """Each party leaking into the other's line, ``db`` down and ``ms`` late, as recorders do."""
    d, g = int(ms * SR / 1000), 10 ** (db / 20)
    a, c = stereo[:, 0], stereo[:, 1]
    late = lambda x: np.concatenate([np.zeros(d, np.float32), x[:-d]])  # noqa: E731
    return (a + g * late(c)).astype(np.float32), (c + g * late(a)).astype(np.float32)


@pytest.mark.parametrize("db,ms", [(-30, 10), (-20, 30), (-18, 40), (-15, 50)])
def test_echo_between_channels_is_not_speech(built, truth, db, ms):
    a, c = with_echo(built.stereo, db, ms)
    m = measure_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}), timeline_of(built))
    assert len(m.interruptions) == 1  # the real talk-over only, not the echo
    assert m.interruptions[0][0] == pytest.approx(truth["overlap"][0], abs=0.3)
    assert not any(m.holds[0][0] - 0.1 <= s and e <= m.holds[0][1] + 0.1 for s, e in m.dead_air)  # one silence, one list
    dead_air = unannounced(m, built)
    assert len(dead_air) == 1 and dead_air[0][0] == pytest.approx(truth["dead_air"][0], abs=0.5)
    assert len(m.holds) == 1 and m.holds[0][0] == pytest.approx(truth["hold"][0], abs=0.5)
    assert m.hangup_first == "agent"


def test_customer_hangs_up_first_with_the_agents_echo_on_the_line(espeak):
    items = [Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3), Turn(C, "没事了，再见"),
             Hangup(C, tone=False), Turn(A, "好的，感谢您的来电，祝您生活愉快，再见", gap=0.5), Pause(1.0)]
    b = build_call(items, tail=1.0)
    tl = timeline_of(b)
    a, c = with_echo(b.stereo, -25, 20)
    m = measure_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}), tl)
    assert m.hangup_first == "customer"  # the faint copy of the agent is not the customer speaking
    assert m.speech["customer"][-1][1] <= b.spans["hangup:customer"][0][0] + 0.2


BROADBAND = [
    Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3), Turn(C, "我想查一下我的账单"),
    Turn(A, "请您稍等，我帮您查询一下，可以吗"), Turn(C, "好的"),
    Pause(40.0, music=True, style="broadband"),
    Turn(A, "感谢您的耐心等待，已经帮您查到了"), Turn(C, "好的谢谢再见"), Pause(0.5), Hangup(C),
]


def mulaw_8k(x: np.ndarray) -> np.ndarray:
    """G.711 µ-law at 8 kHz and back: what a telephone line does to the audio."""
    y = resample(x.astype(np.float32), SR, 8000)
    mu = 255.0
    q = np.round((np.sign(y) * np.log1p(mu * np.minimum(np.abs(y), 1.0)) / np.log1p(mu)) * 127) / 127
    return resample((np.sign(q) * np.expm1(np.abs(q) * np.log1p(mu)) / mu).astype(np.float32), 8000, SR)


LINES = ["clean", "snr15", "mulaw8k", "mp3"]


def degrade_lines(b, a, c, how, tmp_path):
    """Both lines of a built call as a phone system records them: clean, with line noise at
    15 dB SNR while each line is up, G.711 µ-law at 8 kHz, or an MP3 round trip."""
    a, c = np.asarray(a, np.float32), np.asarray(c, np.float32)
    if how == "snr15":
        rng = np.random.default_rng(4)
        out = []
        for x, who in ((a, A), (c, C)):
            speech = np.concatenate([x[int(t["start"] * SR):int(t["end"] * SR)] for t in b.turns if t["speaker"] == who])
            noise = rng.normal(0, np.sqrt(np.mean(speech ** 2)) / 10 ** (15 / 20), len(x)).astype(np.float32)
            for s, _ in b.spans.get(f"hangup:{who}", []):
                noise[int(s * SR):] = 0.0  # a hung-up line carries nothing
            out.append(x + noise)
        return out
    if how == "mulaw8k":
        return [mulaw_8k(a), mulaw_8k(c)]
    if how == "mp3":
        x = degrade(np.stack([a, c], axis=1), "mp3", tmp_path)
        return [x[:, 0].copy(), x[:, 1].copy()]
    return [a, c]


@pytest.mark.parametrize("how", LINES)
def test_hold_with_broadband_music_is_found(espeak, how, tmp_path):
    b = build_call(BROADBAND, tail=0.5)
    a, c = degrade_lines(b, b.stereo[:, 0], b.stereo[:, 1], how, tmp_path)
    m = measure_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}), timeline_of(b))
    music = b.spans["music"][0]
    assert len(m.holds) == 1
    start, end = m.holds[0]
    assert start == pytest.approx(b.turns[3]["end"], abs=1.0)  # the customer's 好的
    assert end == pytest.approx(b.turns[4]["start"], abs=1.0)  # the agent is back
    assert start <= music[0] + 1.0 and end >= music[1] - 1.0
    assert m.interruptions == []


@pytest.mark.parametrize("how", LINES)
def test_echo_at_18_db_on_real_lines(built, truth, how, tmp_path):
    a, c = degrade_lines(built, *with_echo(built.stereo, -18, 30), how, tmp_path)
    m = measure_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}), timeline_of(built))
    assert len(m.interruptions) == 1 and m.interruptions[0][0] == pytest.approx(truth["overlap"][0], abs=0.3)
    assert m.hangup_first == "agent"


@pytest.mark.parametrize("how", LINES)
def test_dtmf_keyed_during_speech_is_not_talk_over(espeak, how, tmp_path):
    """The customer keys digits (DTMF: two tones, 0.1 s) while the agent talks."""
    digits = [(697, 1209), (770, 1336), (852, 1477), (941, 1336)]
    dtmf = np.concatenate([np.r_[tone(f, 0.1, SR, -12.0), np.zeros(int(0.1 * SR), np.float32)] for f in digits])
    items = [Turn(A, "您好，请输入您的卡号后四位，然后按井号键结束", gap=0.3), Overlay(C, dtmf, offset=0.5),
             Turn(C, "好了"), Turn(A, "好的，已经收到了，谢谢您")]
    b = build_call(items, tail=0.5)
    a, c = degrade_lines(b, b.stereo[:, 0], b.stereo[:, 1], how, tmp_path)
    m = measure_call(CallAudio("t", SR, SR, {"agent": a, "customer": c}), timeline_of(b))
    assert m.interruptions == []
    assert all(not (s < b.turns[0]["end"] and e > b.turns[0]["start"]) for s, e in m.speech["customer"])


def test_mulaw_8k_with_line_noise_keeps_the_call_measures(built, truth):
    """G.711 µ-law at 8 kHz with line noise at 15 dB SNR on each line while it is up."""
    rng = np.random.default_rng(11)
    lines = []
    for ch, who in ((0, A), (1, C)):
        x = built.stereo[:, ch]
        speech = np.concatenate([x[int(t["start"] * SR):int(t["end"] * SR)] for t in built.turns if t["speaker"] == who])
        noise = rng.normal(0, np.sqrt(np.mean(speech ** 2)) / 10 ** (15 / 20), len(x)).astype(np.float32)
        if who == A:  # the agent's line goes dead at the hang-up
            noise[int(truth["hangup_at"] * SR):] = 0.0
        lines.append(mulaw_8k(x + noise))
    m = measure_call(CallAudio("t", SR, SR, {"agent": lines[0], "customer": lines[1]}), timeline_of(built))
    assert m.rings == truth["rings"]
    assert len(m.holds) == 1 and m.holds[0][0] == pytest.approx(truth["hold"][0], abs=1.0)
    assert len(m.interruptions) == 1 and m.interruptions[0][0] == pytest.approx(truth["overlap"][0], abs=0.3)
    assert m.hangup_first == "agent"
