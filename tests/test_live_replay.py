"""The live path fed by --replay: each warning type at its known time, the JSON lines
contract, the saved session, and (with the real Vosk model) phrases from partials and a
final report equal to 'phonecoach score'."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.inputs.audio import resample
from phonecoach.inputs.synth import Hangup, Pause, Turn, build_call
from phonecoach.live.session import LiveSession
from phonecoach.live.sources import ReplaySource

A, C = "agent", "customer"


@pytest.fixture(scope="module")
def signal_call(tmp_path_factory, espeak):
    """Interruption, dead air, a 65 s unannounced hold, a shout: ground truth from the builder."""
    call = build_call([
        Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3),
        Turn(C, "我想问一下我的账单为什么这个月多了五十块钱，我一直都是用的同一个套餐"),
        Turn(A, "这个是因为您上个月超出了流量", overlap=2.0),
        Turn(C, "那怎么办"),
        Turn(A, "我帮您看一下", gap=4.5),
        Pause(65.0, music=True),
        Turn(A, "好了，已经处理好了"),
        Turn(C, "为什么这么久"),
        Turn(A, "我已经处理好了！", gain_db=13.0),
        Turn(C, "好吧，再见"),
        Pause(0.5),
        Hangup(C),
    ])
    path = tmp_path_factory.mktemp("live") / "signal_call.wav"
    call.write(path)
    t = call.turns
    truth = {
        "never.interrupt": call.spans["overlap"][0][0] + 1.0,  # overlap passes 1.0 s
        "voice.response": t[3]["end"] + 3.0,  # 3 s after the customer's 那怎么办
        "hold.ask_permission": t[4]["end"] + 10.0,  # silent 10 s after 我帮您看一下
        "hold.duration": t[4]["end"] + 60.0,
        "voice.volume": t[7]["start"],  # the shout, judged within its first second
    }
    return path, truth


def run_session(pack, path, tmp_path, model=None, speed=0.0):
    got = []
    session = LiveSession(pack, ReplaySource(str(path), speed=speed), model, tmp_path / "session", got.append)
    return session.run(), got


def test_each_signal_warning_at_its_time(pack, signal_call, tmp_path):
    path, truth = signal_call
    result, got = run_session(pack, path, tmp_path)
    raised = {w.rule: w for w in got if w.status == "raised"}
    assert set(truth) <= set(raised), sorted(raised)
    for rule, t in truth.items():
        tol = 1.0 if rule == "voice.volume" else 0.5
        assert raised[rule].t_audio == pytest.approx(t, abs=tol), rule
        assert raised[rule].t_emit >= raised[rule].t_audio
    assert len([w for w in got if w.rule == "never.interrupt"]) == 1  # raised once


def test_session_folder_and_final_report(pack, signal_call, tmp_path):
    path, _ = signal_call
    result, got = run_session(pack, path, tmp_path)
    folder = tmp_path / "session"
    agent, sr = sf.read(str(folder / "agent.wav"))
    assert sr == 16000 and abs(len(agent) / sr - sf.info(str(path)).duration) < 0.01
    lines = (folder / "warnings.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(got)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    statuses = {r["rule"]: r["status"] for r in report["rules"]}
    assert statuses["never.interrupt"] == "fail" and statuses["hold.duration"] == "fail"
    assert report["session"]["queue_overflows"] == 0


def test_jsonl_contract_from_the_cli(signal_call, tmp_path):
    path, _ = signal_call
    r = CliRunner().invoke(main, ["live", "--replay", str(path), "--speed", "0", "--jsonl",
                                  "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows and all({"rule", "message", "t_audio", "t_emit", "status"} <= set(x) for x in rows)
    assert "session saved" in r.stderr
    # the call to listen through, beside report.json: every broken rule, the session's audio
    page = (tmp_path / "s" / "report.html").read_text(encoding="utf-8")
    report = json.loads((tmp_path / "s" / "report.json").read_text(encoding="utf-8"))
    broken = [x["rule"] for x in report["rules"] if x["status"] == "fail"]
    assert broken and all('<article class="finding sev-' in page and f'data-rule="{b}"' in page for b in broken)
    assert '<audio id="player"' in page and "listen through the call" in r.stderr
    # ... playing the call from call.wav beside it: both parties as heard on the phone, at 8 kHz
    assert 'src="call.wav"' in page and 'id="audio-data"' not in page
    heard, sr = sf.read(str(tmp_path / "s" / "call.wav"), dtype="float32")
    x, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mix = resample(np.clip(x.sum(axis=1), -1, 1), rate, 8000)
    assert sr == 8000 and abs(len(heard) - len(mix)) <= 1
    n = min(len(heard), len(mix))
    assert np.corrcoef(heard[:n], mix[:n])[0, 1] > 0.99


@pytest.mark.slow
def test_real_time_pace_and_ctrl_c_keeps_the_session(signal_call, tmp_path):
    """At --speed 1 the call plays in real time; Ctrl-C after ~3 s ends cleanly with the report."""
    path, _ = signal_call
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "phonecoach.cli", "live", "--replay", str(path), "--jsonl",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    time.sleep(4.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    seconds = sf.info(str(out / "agent.wav")).duration
    assert 1.5 < seconds < 6.0  # real time, not as fast as possible
    assert (out / "report.json").exists()


@pytest.mark.slow
def test_a_killed_session_keeps_its_audio(signal_call, tmp_path):
    path, _ = signal_call
    out = tmp_path / "s"
    proc = subprocess.Popen([sys.executable, "-m", "phonecoach.cli", "live", "--replay", str(path), "--jsonl",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(5.0)
    proc.kill()  # no chance to clean up
    proc.wait()
    x, sr = sf.read(str(out / "agent.wav"))
    assert len(x) / sr >= 1.5  # at most the last second is lost


# --- the real Vosk path --------------------------------------------------------------------

def korean_call(tmp_path):
    """Agent and customer speaking Korean (espeak-ng): the stand-in model's language."""
    call = build_call([Turn(A, "안녕하세요 고객센터입니다", gap=0.5), Turn(C, "인터넷이 안 돼요"),
                       Turn(A, "모르겠습니다"), Turn(C, "네 알겠습니다"), Turn(A, "감사합니다"),
                       Pause(0.5), Hangup(C)], voices={A: ("ko", 50), C: ("ko", 75)})
    path = tmp_path / "ko_call.wav"
    call.write(path)
    return path, call


@pytest.fixture(scope="module")
def ko_setup(tmp_path_factory, ko_model, espeak):
    """A Korean call, and a rule pack that forbids a word the model hears in the agent's 3rd turn."""
    from phonecoach.inputs.audio import load_call
    from phonecoach.inputs.transcribe import transcribe_call
    from phonecoach.judging.rulepack import DEFAULT_PACK, load_pack

    d = tmp_path_factory.mktemp("ko")
    path, call = korean_call(d)
    turn = call.turns[2]
    runs = []
    for _ in range(3):  # Vosk can vary a word between runs: take one it hears every time
        tl = transcribe_call(load_call(path), ko_model)
        runs.append([w for u in tl.utterances if u.speaker == A for w in u.words
                     if turn["start"] - 0.3 <= w.start <= turn["end"] + 0.3 and len(w.text) >= 2])
    stable = [w for w in runs[0] if all(any(v.text == w.text for v in r) for r in runs[1:])]
    assert stable, f"the model heard no stable word in the agent's turn: {runs}"
    word = stable[0]
    extra = f'''
[[rule]]
id = "never.test_word"
title = "test"
source = "test"
severity = "major"
check = "phrase_never"
phrases = ["{word.text}"]
message = "forbidden test word"
fix = "do not say it"
'''
    rules = d / "ko.toml"
    rules.write_text(DEFAULT_PACK.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path, load_pack(rules), rules, word


@pytest.mark.slow
def test_phrase_warning_from_real_partials(ko_setup, ko_model, tmp_path):
    path, pack, _, word = ko_setup
    result, got = run_session(pack, path, tmp_path, model=str(ko_model))
    mine = [w for w in got if w.rule == "never.test_word"]
    assert mine and mine[0].status == "raised" and mine[0].kind == "phrase"  # from a partial result
    settled = [w for w in mine if w.status == "confirmed"]
    assert settled, [(w.status, w.kind) for w in mine]
    assert settled[0].t_audio == pytest.approx(word.end, abs=0.3)  # the word's true end, from the final
    assert settled[0].t_emit - settled[0].t_audio < 1.5  # raised that soon after the word was said


@pytest.mark.slow
def test_replayed_call_final_report_equals_the_file_report(ko_setup, ko_model, tmp_path):
    # the shipped rule pack: no rule hangs on one recognised word, which Vosk may vary (below)
    path = ko_setup[0]
    r = CliRunner().invoke(main, ["score", str(path), "--model", str(ko_model), "--json"])
    assert r.exit_code == 0, r.output
    file_report = json.loads(r.stdout)
    pace = file_report["measures"]["agent_pace_cpm"]
    assert abs(pace - 240) > 30 and abs(pace - 100) > 15  # far from the pace band's edges
    r = CliRunner().invoke(main, ["live", "--replay", str(path), "--speed", "0", "--model", str(ko_model),
                                  "--jsonl", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    live_report = json.loads((tmp_path / "s" / "report.json").read_text(encoding="utf-8"))
    assert live_report["score"] == file_report["score"]
    assert {x["rule"]: x["status"] for x in live_report["rules"]} == {x["rule"]: x["status"] for x in
                                                                     file_report["rules"]}
    # the same chunks reach the same deterministic recogniser: the same words, the same measures
    assert live_report["utterances"] == file_report["utterances"]
    assert live_report["measures"] == file_report["measures"]


def test_serve_on_loopback_and_refused_elsewhere_without_token(signal_call, tmp_path):
    path, _ = signal_call
    r = CliRunner().invoke(main, ["live", "--replay", str(path), "--speed", "0", "--jsonl", "--serve",
                                  "127.0.0.1:0", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0 and "supervisor feed at http://127.0.0.1:" in r.stderr
    r = CliRunner().invoke(main, ["live", "--replay", str(path), "--serve", "0.0.0.0:8765", "--out",
                                  str(tmp_path / "t")])
    assert r.exit_code == 2 and "--token" in r.stderr


@pytest.mark.slow
def test_supervisor_watches_a_running_session(tmp_path):
    """A supervisor's SSE client sees the interruption while the call is still playing."""
    import socket
    import urllib.request

    from .conftest import SAMPLES

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "phonecoach.cli", "live", "--replay",
                             str(SAMPLES / "rushed_call.flac"), "--speed", "2", "--jsonl", "--serve",
                             f"127.0.0.1:{port}", "--out", str(tmp_path / "s"), "--name", "agent-7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                resp = urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=30)
                break
            except OSError:
                time.sleep(0.1)
        seen = []
        for raw in resp:
            line = raw.decode().strip()
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if seen[-1]["rule"] == "never.interrupt":
                    break
        assert proc.poll() is None  # the call is still going
        overlap = json.loads((SAMPLES / "rushed_call.expected.json").read_text(encoding="utf-8"))["ground_truth"]["overlap"]
        assert seen[-1]["session"] == "agent-7" and seen[-1]["t_audio"] == pytest.approx(overlap[0][0] + 1.0, abs=0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_hold_with_broadband_music_is_a_hold_live(pack, tmp_path, espeak):
    """Hold music as most playlists are (chords and drums) is silence to the live judge too."""
    call = build_call([
        Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3),
        Turn(C, "我想问一下我的账单"),
        Turn(A, "我帮您看一下"),
        Pause(30.0, music=True, style="broadband"),
        Turn(A, "好了，已经处理好了"), Turn(C, "好的，再见"), Pause(0.5), Hangup(C),
    ])
    path = tmp_path / "bb.wav"
    call.write(path)
    result, got = run_session(pack, path, tmp_path)
    unasked = [w for w in got if w.rule == "hold.ask_permission"]
    truth = call.turns[2]["end"] + 10.0  # silent (but for music) 10 s after 我帮您看一下
    assert len(unasked) == 1
    assert truth - 0.5 <= unasked[0].t_audio <= truth + 2.0  # music is known after its 1.5 s window
    holds = result.report.measures.holds
    assert len(holds) == 1 and holds[0][0] == pytest.approx(call.turns[2]["end"], abs=1.0)
