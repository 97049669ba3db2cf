"""Measures of whole calls with exactly known ground truth, clean and degraded."""

import numpy as np
import pytest
import soundfile as sf

from phonecoach.audio import CallAudio, load_call, resample
from phonecoach.measures import MeasureSettings, measure_call
from phonecoach.synth import SR, Hangup, Overlay, Pause, Tone, Turn, build_call, chewing_noise, ringback
from phonecoach.timeline import Timeline, Utterance

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
        "hold": (built.turns[5]["end"], built.turns[6]["start"]),  # 好的 ... 感谢您的耐心等待
        "overlap": sp["overlap"][0],
        "dead_air": (built.turns[-3]["end"], built.turns[-2]["start"]),
        "hangup_at": sp["hangup:agent"][0][0],
        "noise": sp["overlay:agent"][0],
    }


def timeline_of(built):
    return Timeline([Utterance(t["speaker"], t["text"], t["start"], t["end"]) for t in built.turns])


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
    assert len(m.dead_air) == 1
    assert m.dead_air[0][0] == pytest.approx(truth["dead_air"][0], abs=0.5)
    assert m.dead_air[0][1] == pytest.approx(truth["dead_air"][1], abs=0.5)
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
    assert len(m.dead_air) == 1 and m.dead_air[0][0] == pytest.approx(truth["dead_air"][0], abs=0.5)
    assert m.dead_air[0][1] == pytest.approx(truth["dead_air"][1], abs=0.5)
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
