"""Customers' personal numbers never leave the coach in the clear (issue 38): found as the
recogniser and agents say them, masked in every output, verdicts unchanged."""
from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.timeline import Timeline, Utterance, Word
from phonecoach.judging.engine import judge
from phonecoach.judging.personal import find_personal, id_check, luhn, redact_text
from phonecoach.judging.redaction import personal_spans, redact_report

from .privacy_set import NEAR_MISSES, PERSONAL, spoken_cases

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text,kind", PERSONAL)
def test_each_form_of_a_personal_number_is_found(text, kind):
    found = find_personal(text, hotlines=("10086", "95588"))
    assert [f.kind for f in found] == [kind], (text, found)
    masked = redact_text(text, hotlines=("10086", "95588"))
    assert not any(ch.isdigit() for ch in masked.replace("[", "").replace("]", "")) or kind == "email", masked


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_what_is_not_a_customers_number_is_kept_as_said(text):
    assert redact_text(text, hotlines=("10086", "95588", "12345")) == text


def test_check_digits():
    assert id_check("11010519491231002X") and not id_check("110105194912310021")
    assert luhn("6222021234567890128") is False or luhn("6222021234567890128") is True  # computed, either way
    assert luhn("4111111111111111") and not luhn("4111111111111112")


def test_generated_forms_have_full_recall_and_no_false_alarm():
    """Numbers of every kind in every spoken form (Chinese and Arabic digits, 幺 两 洞, groups,
    dashes, spaces between characters, a digit dropped, a 呃 between), with and without the
    words that say what they are, and near-misses drawn the same way: every number masked,
    nearly all as their kind (a dropped digit leaves an ID a bare [号码]), no near-miss masked."""
    cases = spoken_cases(seed=7, n=600)
    found = [(t, k, [f.kind for f in find_personal(t, hotlines=("10086",))]) for t, k in cases]
    leaked = [(t, k) for t, k, got in found if k and not got]
    wrong_kind = [(t, k, got) for t, k, got in found if k and got and k not in got]
    false = [(t, got) for t, k, got in found if not k and got]
    assert not leaked, leaked[:5]  # recall first: every number masked
    assert len(wrong_kind) <= 0.03 * sum(1 for _, k in cases if k), wrong_kind[:5]  # ... nearly all as their kind
    assert not false, false[:5]


def tl(*turns) -> Timeline:
    utts = []
    for speaker, text, start, end in turns:
        chars = [c for c in text]
        step = (end - start) / max(1, len(chars))
        words = tuple(Word(c, start + i * step, start + (i + 1) * step) for i, c in enumerate(chars))
        utts.append(Utterance(speaker, text, start, end, words))
    return Timeline(utts)


CALL = tl(("agent", "您好，工号8812为您服务，请问有什么可以帮您", 0.0, 3.0),
          ("customer", "我想改一下手机号，新号是一三八零零一", 3.5, 7.0),
          ("agent", "嗯", 7.2, 7.5),
          ("customer", "三八零零零", 7.8, 9.0),
          ("agent", "请问您的身份证号码是多少", 9.5, 11.0),
          ("customer", "幺幺零幺零五幺九四九幺二三幺零零二叉", 11.5, 15.0),
          ("agent", "好的，跟您确认一下，您的号码是一三八零零一三八零零零对吗", 15.5, 19.0),
          ("customer", "对", 19.2, 19.5),
          ("agent", "好的，已经帮您改好了，还有什么可以帮您", 20.0, 22.0),
          ("customer", "没有了，谢谢", 22.5, 23.5),
          ("agent", "感谢您的来电，再见", 24.0, 25.0))
SECRETS = ("13800138000", "一三八零零一三八零零零", "一三八零零一", "三八零零零", "11010519491231002X",
           "幺幺零幺零五幺九四九幺二三幺零零二叉")


def test_a_call_is_judged_as_heard_and_reported_masked(pack):
    from dataclasses import replace

    from phonecoach.judging.model import Privacy

    clear = judge(replace(pack, privacy=Privacy(redact=False)), CALL, "call")
    masked = judge(pack, CALL, "call")
    assert [r.status for r in masked.results] == [r.status for r in clear.results]  # every verdict as it was
    assert masked.score == clear.score and masked.redacted and not clear.redacted
    text = json.dumps(masked.to_dict(), ensure_ascii=False)
    assert not any(s in text for s in SECRETS), text
    assert "8812" in text  # the agent's own staff number: the greeting rule needs it
    said = [u.text for u in masked.timeline.utterances]
    assert said[1].endswith("[手机号]") and said[3] == "[手机号]" and said[5] == "[身份证号]"
    assert "[手机号]" in said[6]
    # the words too, and where each number was said, for the audio to beep
    words = [w.text for u in masked.timeline.utterances for w in u.words]
    assert not any(ch in "".join(words) for ch in "零幺叉") and "[身份证号]" in words
    spans = personal_spans(masked.timeline)
    said_at = CALL.utterances[1].text.index("一三八")
    assert spans[0][0] == pytest.approx(3.5 + said_at * 3.5 / len(CALL.utterances[1].text) - 0.15, abs=0.01)
    assert any(a <= 12.0 and b >= 14.9 for a, b in spans)  # the ID, word by word from first to last
    assert redact_report(masked).to_dict() == masked.to_dict()  # masking twice changes nothing


def test_a_rescore_of_a_masked_store_keeps_the_read_back(pack):
    masked = judge(pack, CALL, "call")
    again = judge(pack, masked.timeline, "call")
    assert [r.status for r in again.results] == [r.status for r in masked.results]


def write_call(folder: Path) -> Path:
    turns = [{"speaker": u.speaker, "text": u.text, "start": u.start, "end": u.end} for u in CALL.utterances]
    path = folder / "wang_0001.json"
    path.write_text(json.dumps({"turns": turns}, ensure_ascii=False), encoding="utf-8")
    return path


def write_recorded_call(folder: Path) -> Path:
    """A recording (noise standing in for the voices: no Chinese model here) with the call's
    reference transcript beside it, as an archive holds them; its path."""
    sr = 16000
    rng = np.random.default_rng(1)
    stereo = (rng.standard_normal((26 * sr, 2)) * 0.05).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / "wang_0001.wav"
    sf.write(str(wav), stereo, sr, subtype="PCM_16")
    write_call(folder).rename(folder / "wang_0001.transcript.json")
    return wav


def test_score_json_and_terminal_never_show_the_numbers(tmp_path):
    path = write_call(tmp_path)
    for args in (["score", "--transcript", str(path), "--json"], ["score", "--transcript", str(path)]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, r.output
        assert not any(s in r.output for s in SECRETS)
        assert "[身份证号]" in r.output or "--json" not in args

def test_a_pack_that_allows_it_keeps_them(tmp_path):
    pack = tmp_path / "pack.toml"
    pack.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n[privacy]\nredact = false\n",
                    encoding="utf-8")
    r = CliRunner().invoke(main, ["score", "--transcript", str(write_call(tmp_path)), "--json", "--rules", str(pack)])
    assert r.exit_code == 0, r.output
    assert "幺幺零幺零五幺九四九幺二三幺零零二叉" in r.output and json.loads(r.output)["redacted"] is False
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n[privacy]\nredact = 'no'\n",
                   encoding="utf-8")
    r = CliRunner().invoke(main, ["rules", "check", str(bad)])
    assert r.exit_code != 0 and "privacy.redact must be true or false" in r.output


def test_the_store_its_index_and_exports_hold_no_number_and_an_old_store_is_redacted(tmp_path):
    arch = tmp_path / "arch"
    wav = write_recorded_call(arch)
    db = tmp_path / "r.db"
    clear_pack = tmp_path / "clear.toml"
    clear_pack.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n[privacy]\nredact = false\n",
                          encoding="utf-8")
    # a store written in the clear (an older phonecoach, or a team that had redaction off)
    r = CliRunner().invoke(main, ["batch", str(wav), "--store", str(db), "--quiet", "--rules", str(clear_pack)])
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(str(db))
    assert con.execute("SELECT redacted FROM calls").fetchall() == [(0,)]
    con.close()
    found = CliRunner().invoke(main, ["search", "一三八零零一三八零零零", "--store", str(db), "--json"])
    assert found.exit_code == 0 and found.stdout.strip()  # said in the clear: the sound index finds it
    before = json.loads(CliRunner().invoke(main, ["summary", "--store", str(db), "--json"]).stdout)
    r = CliRunner().invoke(main, ["batch", "--redact", "--store", str(db)])
    assert r.exit_code == 0 and "1 stored calls redacted" in r.output
    con = sqlite3.connect(str(db))
    assert con.execute("SELECT redacted FROM calls").fetchall() == [(1,)]
    con.close()
    after = json.loads(CliRunner().invoke(main, ["summary", "--store", str(db), "--json"]).stdout)
    assert after == before  # scores and verdicts as they were
    found = CliRunner().invoke(main, ["search", "一三八零零一三八零零零", "--store", str(db), "--json"])
    assert found.exit_code == 0 and found.stdout.strip() == ""  # the pinyin of the digits is gone too
    for fmt in ("jsonl", "csv"):
        out = CliRunner().invoke(main, ["export", "--store", str(db), "--format", fmt, "--table", "rules"]
                                 if fmt == "csv" else ["export", "--store", str(db), "--format", fmt])
        assert out.exit_code == 0 and not any(s in out.stdout for s in SECRETS), fmt
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b"")
    assert "11010519491231002X".encode() not in raw
    r = CliRunner().invoke(main, ["batch", "--redact", "--store", str(db)])
    assert "0 stored calls redacted" in r.output  # nothing left in the clear


def test_a_store_of_the_previous_schema_gains_the_redacted_column(tmp_path):
    arch = tmp_path / "arch"
    write_recorded_call(arch)
    db = tmp_path / "r.db"
    assert CliRunner().invoke(main, ["batch", str(arch), "--store", str(db), "--quiet"]).exit_code == 0
    con = sqlite3.connect(str(db))
    con.execute("ALTER TABLE calls DROP COLUMN redacted")
    con.execute("PRAGMA user_version=2")
    con.commit()
    con.close()
    r = CliRunner().invoke(main, ["summary", "--store", str(db), "--json"])
    assert r.exit_code == 0, r.output
    con = sqlite3.connect(str(db))
    assert con.execute("SELECT redacted FROM calls").fetchall() == [(0,)]  # not known: taken as in the clear
    con.close()


def test_live_warnings_carry_no_number(pack):
    from phonecoach.live.judge import LiveJudge

    out = []
    judge_ = LiveJudge(pack, ["agent", "customer"], out.append)
    judge_.on_partial("agent", "您的身份证号幺幺零幺零五幺九四九幺二三幺零零二叉跟我无关", None, 5.0)
    assert out and all("幺幺零" not in w.evidence for w in out)


def test_the_page_and_the_dashboard_play_the_numbers_as_a_beep(tmp_path):
    """The recording on disk is never changed; what a page plays has the numbers' spans beeped."""
    from phonecoach.archive.store import Store
    from phonecoach.inputs.audio import BEEP_HZ, load_call
    from phonecoach.sinks.served import serve_archive

    from .test_floor import free_port

    wav = write_recorded_call(tmp_path / "arch")
    original = wav.read_bytes()
    db = tmp_path / "r.db"
    r = CliRunner().invoke(main, ["batch", str(wav), "--store", str(db), "--quiet"])
    assert r.exit_code == 0, r.output
    rec = next(Store(db, readonly=True).calls())
    spans = personal_spans(rec.report.timeline)
    assert spans
    port = free_port()
    server = serve_archive(db, port=port)
    try:
        base = f"http://127.0.0.1:{port}"
        call_id = json.loads(urllib.request.urlopen(f"{base}/api/calls").read())["items"][0]["id"]
        page = urllib.request.urlopen(f"{base}/calls/{call_id}").read().decode("utf-8")
        assert not any(s in page for s in SECRETS) and "[身份证号]" in page
        played = urllib.request.urlopen(f"{base}/audio/{call_id}").read()
        req = urllib.request.Request(f"{base}/audio/{call_id}", headers={"Range": "bytes=100-199"})
        part = urllib.request.urlopen(req)
        assert part.status == 206 and part.read() == played[100:200]
    finally:
        server.stop()
    out = tmp_path / "played.wav"
    out.write_bytes(played)
    x, rate = sf.read(str(out), dtype="float32")
    for a, b in spans:
        seg = x[int((a + 0.2) * rate): int((b - 0.2) * rate)]
        spectrum = np.abs(np.fft.rfft(seg))
        assert abs(np.argmax(spectrum) * rate / len(seg) - BEEP_HZ) < 20  # a beep, not the voice
    kept = x[int(0.5 * rate): int(2.5 * rate)]
    mix = load_call(wav)
    assert np.std(kept) > 0.03  # elsewhere the call as it was
    assert wav.read_bytes() == original and len(mix.parties) == 2


def test_a_live_sessions_files_hold_no_number(pack, tmp_path):
    """The party's timeline a live session writes as it goes (for a crash) masks a number's first
    piece before its rest is heard; warnings.jsonl and report.json mask them too."""
    from phonecoach.live.session import StreamWorker

    written, got = "", []
    for party in ("agent", "customer"):  # a worker per party, each with its own file
        worker = StreamWorker.__new__(StreamWorker)  # only what _final touches
        worker.utterances, worker.privacy, worker.rec = [], pack.privacy, None
        worker.timeline_file = open(tmp_path / f"{party}.timeline.jsonl", "x", encoding="utf-8")
        worker.judge = type("J", (), {"on_final": lambda self, u, now: got.append(u)})()
        for u in CALL.utterances:
            if u.speaker == party:
                worker._final(u)
        worker.timeline_file.close()
        written += (tmp_path / f"{party}.timeline.jsonl").read_text(encoding="utf-8")
    assert not any(s in written for s in SECRETS), written
    assert "8812" in written and sorted(u.text for u in got) == sorted(u.text for u in CALL.utterances)  # as heard


def test_exports_show_the_callers_number_from_the_phone_system_masked(tmp_path):
    """The caller's number the manifest gives stays in the store (calls are matched back by it)
    but leaves in exports as its last four digits, where the call was stored redacted."""
    wav = write_recorded_call(tmp_path / "arch")
    manifest = tmp_path / "arch" / "calls.csv"
    manifest.write_text("file,caller,started_at\nwang_0001.wav,13800138000,2026-11-27T10:00:00\n", encoding="utf-8")
    db = tmp_path / "r.db"
    r = CliRunner().invoke(main, ["batch", str(manifest), "--store", str(db), "--quiet"])
    assert r.exit_code == 0, r.output
    for args in (["--format", "jsonl"], ["--format", "csv", "--table", "calls"]):
        out = CliRunner().invoke(main, ["export", "--store", str(db), *args])
        assert out.exit_code == 0 and "13800138000" not in out.stdout and "*******8000" in out.stdout, args
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b"")
    assert b"13800138000" not in raw  # nor in the store's file: a salted digest matches calls back
    assert wav.is_file()
