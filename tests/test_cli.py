"""The phonecoach command as users and scripts run it: reports, JSON contract, exit codes."""
import json
import shutil

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main

from .conftest import SAMPLES

SAMPLE_CALLS = sorted(SAMPLES.glob("*.flac"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_samples_exist_with_transcripts_and_expectations():
    assert len(SAMPLE_CALLS) >= 7
    for wav in SAMPLE_CALLS:
        assert wav.with_name(wav.stem + ".transcript.json").exists()
        assert wav.with_name(wav.stem + ".expected.json").exists()


@pytest.mark.parametrize("wav", SAMPLE_CALLS, ids=lambda p: p.stem)
def test_bundled_samples_break_exactly_the_rules_they_were_built_to_break(wav):
    """No Chinese model here: the main job scores the reference transcripts, and says so."""
    r = run("score", wav, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    expected = json.loads(wav.with_name(wav.stem + ".expected.json").read_text(encoding="utf-8"))
    fails = sorted(x["rule"] for x in out["rules"] if x["status"] == "fail")
    assert fails == sorted(expected["fails"])
    assert "no Chinese speech model installed" in r.stderr


def test_json_contract(tmp_path):
    t = tmp_path / "call.json"
    t.write_text(json.dumps({"turns": [
        {"speaker": "agent", "text": "喂，什么事", "start": 0.0, "end": 1.2},
        {"speaker": "customer", "text": "我的快递丢了", "start": 1.5, "end": 3.0},
        {"speaker": "agent", "text": "这 事 于 我 无 关", "start": 3.4, "end": 5.0}]}, ensure_ascii=False),
        encoding="utf-8")
    r = run("score", "--transcript", t, "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert isinstance(out["score"], float) and 0 <= out["score"] <= 100
    rules = {x["rule"]: x for x in out["rules"]}
    for x in out["rules"]:
        assert set(x) >= {"rule", "status", "start", "end", "evidence", "message"}
        assert x["status"] in ("pass", "fail", "not_applicable")
    blame = rules["never.shift_blame"]
    assert blame["status"] == "fail" and blame["start"] == 3.4 and blame["end"] == 5.0
    assert "于 我 无 关" in blame["evidence"] and blame["message"] and blame["fix"]
    assert rules["answer.greeting"]["status"] == "fail"


def test_terminal_report_shows_time_evidence_and_fix(tmp_path):
    t = tmp_path / "call.txt"
    t.write_text("坐席：喂\n客户：我的快递丢了\n坐席：这事与我无关\n", encoding="utf-8")
    r = run("score", "--transcript", t)
    assert r.exit_code == 0
    assert "never.shift_blame" in r.output and "与我无关" in r.output and "fix:" in r.output
    assert "score" in r.output


def test_transcript_with_audio_uses_both(tmp_path):
    wav = SAMPLE_CALLS[0]
    tr = wav.with_name(wav.stem + ".transcript.json")
    r = run("score", "--transcript", tr, wav, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["file"] == str(wav) and any("transcript" in n for n in out["notes"])


def test_several_calls_and_a_broken_one_keeps_going(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    for wav in SAMPLE_CALLS[:2]:
        shutil.copy(wav, calls)
        shutil.copy(wav.with_name(wav.stem + ".transcript.json"), calls)
    (calls / "zz_broken.wav").write_text("garbage", encoding="utf-8")  # sorts last
    r = run("score", calls, "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert len(out) == 3
    assert all("score" in x for x in out[:2])
    assert "zz_broken.wav" in out[2]["file"] and "not a readable audio file" in out[2]["error"]
    assert "error: " in r.stderr and "zz_broken.wav" in r.stderr


def put(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("setup,expect", [
    (lambda d: [d / "missing.wav"], "missing.wav: file not found"),
    (lambda d: [put(d / "empty.wav", b"")], "empty.wav: file is empty"),
    (lambda d: [put(d / "notes.mp3", b"hello")], "notes.mp3: not a readable audio file"),
    (lambda d: ["--transcript", put(d / "t.json", b"{oops")], "t.json: malformed JSON at line 1"),
    (lambda d: ["--transcript", put(d / "t.txt", "坐席：您好".encode("gb18030"))], "t.txt: not UTF-8"),
])
def test_bad_input_exit_code_and_one_line_error(tmp_path, setup, expect):
    r = run("score", *setup(tmp_path))
    assert r.exit_code == 1
    assert expect in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_broken_rule_file_is_refused(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nid = "a"\ntitle = "t"\nsource = "s"\nseverity = "loud"\ncheck = "phrase_never"\n'
                   'phrases = ["x"]\nmessage = "m"\nfix = "f"\n', encoding="utf-8")
    r = run("score", "--rules", bad, "--transcript", SAMPLE_CALLS[0].with_name(SAMPLE_CALLS[0].stem +
                                                                             ".transcript.json"))
    assert r.exit_code == 1 and "line 5" in r.stderr and "severity" in r.stderr
    r = run("rules", "check", bad)
    assert r.exit_code == 1 and "line 5" in r.stderr
    assert run("rules", "check").exit_code == 0


def test_missing_model_and_no_reference_says_how_to_get_one(tmp_path):
    wav = tmp_path / "call.flac"
    shutil.copy(SAMPLE_CALLS[0], wav)
    r = run("score", wav)
    assert r.exit_code == 1
    assert "phonecoach models download" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_rules_list():
    r = run("rules", "list", "--json")
    assert r.exit_code == 0
    ids = {x["rule"] for x in json.loads(r.stdout)}
    assert {"answer.greeting", "never.shift_blame", "close.thanks"} <= ids


def test_usage_errors_exit_2():
    assert run("score").exit_code == 2
    assert run("score", "--agent-channel", "middle", "x.wav").exit_code == 2


def test_help_has_examples():
    r = run("score", "--help")
    assert "Examples" in r.output and "phonecoach score" in r.output


def test_manifest_gives_ring_time_and_channel_per_call(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    for name in ("blame_call", "hold_call"):
        shutil.copy(SAMPLES / f"{name}.flac", calls)
        shutil.copy(SAMPLES / f"{name}.transcript.json", calls)
    manifest = tmp_path / "calls.csv"
    manifest.write_text("file,ring_seconds,agent_channel\nblame_call.flac,22,left\nhold_call.flac,4,\n",
                        encoding="utf-8")
    r = run("score", calls, "--manifest", manifest, "--json")
    assert r.exit_code == 0, r.output
    out = {x["file"].split("/")[-1]: {y["rule"]: y["status"] for y in x["rules"]} for x in json.loads(r.stdout)}
    assert out["blame_call.flac"]["answer.rings"] == "fail"  # 22 s = 5 rings
    assert out["hold_call.flac"]["answer.rings"] == "pass"


def test_bad_manifest_names_the_line(tmp_path):
    manifest = tmp_path / "calls.csv"
    manifest.write_text("file,ring_seconds\nx.wav,soon\n", encoding="utf-8")
    r = run("score", SAMPLE_CALLS[0], "--manifest", manifest)
    assert r.exit_code == 1 and "calls.csv: line 2: ring_seconds 'soon' is not a number" in r.stderr
