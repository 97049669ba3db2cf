"""Hostile and broken input: one clear line naming the file, a non-zero exit, nothing lost,
no hang. Each case here once gave a traceback, a hang, or lost other files' results."""
import hashlib
import json
import os
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.errors import ModelError, RulePackError
from phonecoach.inputs import models
from phonecoach.judging.rulepack import load_pack
from tests.loopback import Loopback

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TR = ROOT / "samples" / "good_call.transcript.json"


def run(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def one_error_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert lines and "Traceback" not in r.stderr and "Traceback" not in r.output, r.stderr
    return lines


# --- audio and transcripts ------------------------------------------------------------------------

@pytest.mark.parametrize("samples", [321, 2000, 4480])  # 0.02-0.28 s at 16 kHz
def test_very_short_audio_is_scored(tmp_path, samples):
    wav = tmp_path / "short.wav"
    sf.write(wav, np.random.default_rng(1).normal(0, 0.1, (samples, 2)), 16000)
    r = run("score", "--transcript", SAMPLE_TR, wav, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["measures"] is not None


def test_a_broken_file_in_a_folder_loses_nothing(tmp_path):
    good = tmp_path / "good_call.flac"
    good.write_bytes((ROOT / "samples" / "good_call.flac").read_bytes())
    (tmp_path / "good_call.transcript.json").write_bytes(SAMPLE_TR.read_bytes())
    sf.write(tmp_path / "b_sidecar_is_a_folder.wav", np.zeros((8000, 2)), 8000)
    (tmp_path / "b_sidecar_is_a_folder.transcript.json").mkdir()
    (tmp_path / "c_not_audio.wav").write_text("hello")
    odd = os.fsdecode(b"d_\xff\xfe_name.wav")  # not UTF-8
    with open(tmp_path / odd, "wb") as f:
        sf.write(f, np.zeros((8000, 2)), 8000, format="WAV")
    r = run("score", tmp_path, "--json")
    assert r.exit_code == 1
    out = {Path(x["file"]).name: x for x in json.loads(r.stdout)}
    assert out["good_call.flac"]["score"] is not None
    assert "is a folder" in out["b_sidecar_is_a_folder.wav"]["error"]
    assert "not a readable audio file" in out["c_not_audio.wav"]["error"]
    assert "d_\ufffd\ufffd_name.wav" in out  # printed, not crashed on
    assert len(one_error_line(r)) == 3


@pytest.mark.parametrize("make,expect", [
    (lambda d: d, "is a folder"),
    (lambda d: Path("/dev/zero"), "not a regular file"),
    (lambda d: _write(d / "nan.json", '{"turns":[{"speaker":"agent","text":"您好","start":NaN,"end":1}]}'),
     "finite number"),
    (lambda d: _write(d / "inf.json", '{"ring_seconds": Infinity, "turns":[{"speaker":"agent","text":"您好"}]}'),
     "finite number"),
    (lambda d: _write(d / "deep.json", "[" * 100000), "nested too deeply"),
])
def test_bad_transcripts_give_one_line(tmp_path, make, expect):
    r = run("score", "--transcript", make(tmp_path))
    assert r.exit_code == 1
    assert expect in one_error_line(r)[0]


def _write(p: Path, text: str) -> Path:
    p.write_text(text, encoding="utf-8")
    return p


def test_audio_from_a_device_is_refused(tmp_path):
    r = run("score", "/dev/zero")
    assert r.exit_code == 1 and "not a regular file" in one_error_line(r)[0]


@pytest.mark.parametrize("args", [["--ring-seconds", "nan"], ["--ring-seconds", "inf"], ["--ring-seconds", "-1"]])
def test_non_finite_numbers_refused_at_the_edge(args):
    r = run("score", "--transcript", SAMPLE_TR, *args)
    assert r.exit_code == 2 and "finite number" in r.output + r.stderr


def test_nan_in_a_manifest(tmp_path):
    m = _write(tmp_path / "m.csv", "file,ring_seconds\ngood_call.flac,nan\n")
    r = run("score", ROOT / "samples" / "good_call.flac", "--manifest", m)
    assert r.exit_code == 1 and "line 2" in one_error_line(r)[0]


def test_control_codes_in_a_transcript_are_shown_not_obeyed(tmp_path):
    tr = _write(tmp_path / "t.json", json.dumps({"turns": [
        {"speaker": "agent", "text": "喂\x1b[2J\x1b]0;pwned\x07这个与我无关"}, {"speaker": "customer", "text": "啊"}]}))
    r = run("score", "--transcript", tr)
    assert "\x1b" not in r.output and "\x07" not in r.output
    assert "\\x1b" in r.output  # the agent's words are still shown, escaped


def test_exception_said_twice_still_keeps_a_real_refusal(pack):
    from phonecoach.core.timeline import Timeline, Utterance
    from phonecoach.judging.engine import judge

    tl = Timeline([Utterance("agent", "您放心，我不会不管您的，我不会不管您的"), Utterance("customer", "好"),
                   Utterance("agent", "我不会不管您的，但是这个我不管")])
    res = {r.rule.id: r for r in judge(pack, tl, "t").results}["never.shift_blame"]
    assert res.status == "fail" and len(res.occurrences) == 1 and res.occurrences[0].evidence == "我不管"


# --- rule packs -----------------------------------------------------------------------------------

def _pack(tmp_path, pattern: str, extra: str = "") -> Path:
    return _write(tmp_path / "p.toml", f'''[pack]
name = "t"
{extra}
[[rule]]
id = "a.b"
title = "t"
source = "s"
severity = "minor"
check = "phrase_never"
patterns = ['{pattern}']
message = "m"
fix = "f"
''')


def test_runaway_pattern_is_bounded_and_warned(tmp_path):
    p = _pack(tmp_path, "(a|aa)+$")
    r = run("rules", "check", p)
    assert r.exit_code == 0 and "exponential time" in r.stderr
    tr = _write(tmp_path / "t.json", json.dumps({"turns": [{"speaker": "agent", "text": "a" * 60 + "b"}]}))
    t0 = time.monotonic()
    r = run("score", "--transcript", tr, "--rules", p)
    assert time.monotonic() - t0 < 30  # bounded, not a hang
    assert r.exit_code == 1 and "ran over" in one_error_line(r)[0]


def test_deep_toml_is_refused(tmp_path):
    p = _write(tmp_path / "deep.toml", "x = " + "[" * 50000 + "]" * 50000)
    with pytest.raises(RulePackError):
        load_pack(p)


# --- model downloads ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../outside", "a/../../b", "/etc", "..", "a\\..\\b"])
def test_model_names_are_plain_folder_names(tmp_path, monkeypatch, name):
    victim = tmp_path / "outside"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    monkeypatch.setenv("PHONECOACH_MODELS_DIR", str(tmp_path / "models"))
    r = run("models", "download", name, "--force", "--url", "http://127.0.0.1:9/x.zip", "--sha256", "0" * 64)
    assert r.exit_code != 0 and "plain folder name" in r.stderr
    assert (victim / "keep.txt").read_text() == "mine"


class HostileMirror(Loopback):
    """/endless: streams forever without a length; /drip: a byte at a time, slowly."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                try:
                    for _ in range(200000):
                        if self.path == "/endless":
                            self.wfile.write(b"\0" * 65536)
                        else:
                            self.wfile.write(b"\0")
                            self.wfile.flush()
                            time.sleep(0.05)
                except OSError:
                    pass

        super().__init__(Handler)


@pytest.fixture
def mirror():
    m = HostileMirror()
    yield m
    m.close()


def test_a_mirror_that_never_stops_is_cut_off(mirror, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "MAX_DOWNLOAD_BYTES", 4 << 20)
    with pytest.raises(ModelError, match="more than"):
        models.download_model("m", url=mirror.url + "/endless", sha256="0" * 64, dest_dir=tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_mirror_that_drips_is_given_up_on(mirror, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "GRACE", 0.5)
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="too slow"):
        models.download_model("m", url=mirror.url + "/drip", sha256="0" * 64, dest_dir=tmp_path / "models")
    assert time.monotonic() - t0 < 20
    assert list((tmp_path / "models").iterdir()) == []


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("m/am/final.mdl", b"\0" * (8 << 20))
    data = buf.getvalue()
    monkeypatch.setattr(models, "MAX_UNPACKED_BYTES", 1 << 20)
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(data)
    with pytest.raises(ModelError, match="unpack to more than"):
        models._safe_unzip(archive, tmp_path / "out", "test")
    assert hashlib.sha256(data).hexdigest()  # the archive itself was fine to read
