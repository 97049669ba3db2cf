"""Hostile inputs, second round (issue 23): each gives a one-line error and its exit code, or
the right behaviour, with nothing written where it should not be."""

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.errors import PhonecoachError
from phonecoach.live.group import load_sessions

from .test_rulepack import GOOD_RULE


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_pack(tmp_path, text: str, raw: bytes | None = None):
    p = tmp_path / "pack.toml"
    p.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return run("rules", "check", p), p


HOLD_RULE = GOOD_RULE.replace('check = "phrase_in_window"', 'check = "hold_step"').replace(
    'phrases = ["您好"]', 'phrases = ["可以吗"]')


@pytest.mark.parametrize("text,line,expect", [
    # each of these was "ok" to rules check, then judged every call wrongly
    (GOOD_RULE.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { part = "closng" }'), 10,
     "'part' must be one of opening, closing"),
    (HOLD_RULE.replace('phrases = ["可以吗"]', 'phrases = ["可以吗"]\nparams = { step = "ask_permision" }'), 10,
     "'step' must be one of"),
    (GOOD_RULE.replace('check = "phrase_in_window"', 'check = "transfer_step"').replace(
        'phrases = ["您好"]', 'phrases = ["转接"]\nparams = { step = "consnt" }'), 10, "'step' must be one of"),
    (GOOD_RULE.replace('check = "phrase_in_window"', 'check = "value_range"').replace(
        'phrases = ["您好"]', 'params = { measure = "agent_pace", min = 100.0 }'), 9, "'measure' must be one of"),
    (GOOD_RULE.replace('check = "phrase_in_window"', 'check = "value_range"').replace(
        'phrases = ["您好"]', 'params = { measure = "holds", max = 1.0 }'), 9, "'measure' must be one of"),
    (GOOD_RULE.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { utterances = 0 }'), 10,
     "'utterances' must be 1 or more"),
    (GOOD_RULE.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { utterances = -2 }'), 10,
     "'utterances' must be 1 or more"),
    ("[measures]\nhold_min_seconds = -10.0\n" + GOOD_RULE, 2, "measures.hold_min_seconds must be"),
    ("[measures]\nspeech_release = 0.9\n" + GOOD_RULE, 2, "speech_release and speech_threshold"),
])
def test_rule_pack_mistakes_are_refused_with_their_line(tmp_path, text, line, expect):
    r, p = check_pack(tmp_path, text)
    assert r.exit_code == 1, r.output
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and expect in lines[0] and f"line {line}" in lines[0] and str(p) in lines[0], lines


def test_a_rule_file_saved_with_a_bom_is_read(tmp_path):
    r, _ = check_pack(tmp_path, "", raw=b"\xef\xbb\xbf" + GOOD_RULE.encode("utf-8"))
    assert r.exit_code == 0 and "ok, 1 rules" in r.stdout, r.output


def test_nested_repetition_is_warned_of(tmp_path):
    r, _ = check_pack(tmp_path, GOOD_RULE.replace('phrases = ["您好"]', "patterns = ['(x+x+)+y']"))
    assert r.exit_code == 0 and "exponential time" in r.stderr, r.output


@pytest.mark.parametrize("name", ["..", ".", "...", "../x", "a/b"])
def test_a_session_name_is_a_plain_folder_name(tmp_path, name):
    csv = tmp_path / "sessions.csv"
    csv.write_text(f"name,replay\n{name},call.flac\n", encoding="utf-8")
    with pytest.raises(PhonecoachError, match="session name"):
        load_sessions(csv)


@pytest.mark.slow
def test_a_replay_named_dots_stays_inside_out(tmp_path, ko_model):
    """`live --replay ...flac --replay x.flac`: the session folders are named from the files;
    a file whose name is dots must not name a folder outside --out."""
    import shutil

    from .conftest import SAMPLES

    src = sorted(SAMPLES.glob("*.flac"))[0]
    dots, other = tmp_path / "...flac", tmp_path / "x.flac"
    shutil.copy(src, dots)
    shutil.copy(src, other)
    out = tmp_path / "out"
    r = run("live", "--replay", dots, "--replay", other, "--speed", "0", "--seconds", "2", "--out", out,
            "--jsonl", "--model", ko_model)
    assert sorted(p.name for p in out.iterdir()) == ["call", "x"], r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["...flac", "out", "x.flac"]


# --- the floor: one bad entry in the shared stream is skipped and counted, never fatal ---------

def test_bad_floor_entries_are_skipped_and_later_ones_shown(tmp_path):
    import redis

    from phonecoach.sinks.floor import FloorView
    from phonecoach.sinks.publish import stream_key

    from .test_floor import RedisServer, get_json, wait

    server = RedisServer(tmp_path)
    server.start()
    view = None
    try:
        r = redis.Redis.from_url(server.url)
        key = stream_key("test")
        good = lambda name, kind="start", data="{}", at="100": {"kind": kind, "session": name, "at": at, "data": data}  # noqa: E731
        r.xadd(key, good("early"))
        r.xadd(key, {"kind": "start", "session": b"\xff\xfe bad", "at": "1", "data": "{}"})  # not UTF-8
        r.xadd(key, good("shape", data="[1]"))  # JSON of the wrong shape
        r.xadd(key, good("nan", at="NaN"))
        r.xadd(key, good("inf", kind="score", data='{"score": Infinity}'))
        r.xadd(key, good("nan2", kind="end", data='{"score": NaN}'))
        view = FloorView(server.url, "test", "127.0.0.1", 0)
        view.start()
        wait(lambda: [a["name"] for a in get_json(view.address + "/agents")] == ["early"])
        r.xadd(key, {"kind": "warning", "session": b"\xc3\x28", "at": "2", "data": "{}"})  # while following
        r.xadd(key, good("later"))
        wait(lambda: [a["name"] for a in get_json(view.address + "/agents")] == ["early", "later"])
        assert get_json(view.address + "/agents/later")["on_call"] is True
        assert view.state.skipped == 6
        view.stop()
        view = FloorView(server.url, "test", "127.0.0.1", 0)  # a restarted floor reads past them too
        view.start()
        wait(lambda: [a["name"] for a in get_json(view.address + "/agents")] == ["early", "later"])
    finally:
        if view is not None:
            view.stop()
        server.stop()


# --- batch and the store ---------------------------------------------------------------------

def _batch_env():
    import os
    return {**os.environ, "PHONECOACH_MODELS_DIR": "/nonexistent"}


def test_devices_fifos_loops_and_undecodable_names_are_each_one_stored_error(tmp_path):
    import os
    import subprocess
    import sys

    from .test_batch import archive, rows

    calls = archive(tmp_path / "arch")
    arch = tmp_path / "arch"
    os.mkfifo(arch / "x.flac")  # would block a reader forever
    (arch / "loop.wav").symlink_to("loop.wav")
    bad = os.fsencode(str(arch)) + b"/bad\xff.wav"
    with open(bad, "wb") as f:
        f.write(calls[0].read_bytes())
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"file\n{calls[1]}\n/dev/zero\n", encoding="utf-8")
    db = tmp_path / "r.db"
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(arch), str(manifest), "--store", str(db),
                        "--quiet"], capture_output=True, text=True, env=_batch_env(), timeout=300)
    assert r.returncode == 1, r.stderr
    errors = dict(rows(db, "SELECT file, error FROM calls WHERE error IS NOT NULL"))
    assert len(errors) == 4, errors
    assert any("not a regular file" in e and "x.flac" in e for e in errors.values())
    assert any("/dev/zero" in e and "not a regular file" in e for e in errors.values())
    assert any("loop.wav" in e and "symbolic links" in e for e in errors.values())
    assert any("not UTF-8" in e for e in errors.values())
    scored = rows(db, "SELECT count(*) FROM calls WHERE error IS NULL")[0][0]
    assert scored == len(calls)  # every good call scored beside them
    assert [x for x in r.stderr.splitlines() if x.startswith("error:")] and "Traceback" not in r.stderr


def test_started_at_with_and_without_a_zone_in_one_store(tmp_path):
    import subprocess
    import sys

    from .test_batch import archive, rows

    calls = archive(tmp_path / "arch")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,started_at,caller\n"
                        f"{calls[0]},2026-11-03 09:30:00,13800000000\n"
                        f"{calls[1]},2026-11-03T10:30:00+08:00,13800000000\n"
                        f"{calls[2]},2026-11-03T02:30:00Z,13800000001\n", encoding="utf-8")
    db = tmp_path / "r.db"
    run_ = lambda *a: subprocess.run([sys.executable, "-m", "phonecoach", "batch", *a, "--store", str(db), "--quiet"],  # noqa: E731
                                     capture_output=True, text=True, env=_batch_env(), timeout=300)
    r = run_(str(manifest))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert len(rows(db, "SELECT started_at FROM calls WHERE started_at IS NOT NULL")) == 3
    r = run_(str(manifest))  # a later batch on that store
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    pack = tmp_path / "p.toml"
    from phonecoach.judging.rulepack import DEFAULT_PACK
    pack.write_text(DEFAULT_PACK.read_text(encoding="utf-8") + "\n# v2\n", encoding="utf-8")
    r = run_("--rescore", "--rules", str(pack))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("pattern,name,expect", [
    ("{agent}-{ring_seconds}.wav", "li-soon.wav", "ring_seconds 'soon' is not a number"),
    ("{agent}-{agent_channel}.wav", "li-middle.wav", "agent_channel 'middle' must be left or right"),
])
def test_agent_pattern_fields_are_checked(tmp_path, pattern, name, expect):
    import subprocess
    import sys

    from .test_batch import archive, rows

    calls = archive(tmp_path / "arch")
    calls[0].rename(tmp_path / "arch" / name)
    db = tmp_path / "r.db"
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                        "--quiet", "--agent-pattern", pattern], capture_output=True, text=True, env=_batch_env(),
                       timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    errors = [e for (e,) in rows(db, "SELECT error FROM calls WHERE error IS NOT NULL")]
    assert len(errors) == 1 and expect in errors[0] and name in errors[0], errors
    assert rows(db, "SELECT count(*) FROM calls WHERE error IS NULL")[0][0] == len(calls) - 1


def test_a_closed_stderr_does_not_stop_the_batch(tmp_path):
    import subprocess
    import sys

    from .test_batch import archive, rows

    calls = archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    p = subprocess.Popen([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                          "--progress", "json", "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=_batch_env())
    p.stderr.readline()  # `2>&1 | head -1`
    p.stderr.close()
    assert p.wait(timeout=300) == 0
    assert rows(db, "SELECT count(*) FROM calls WHERE error IS NULL")[0][0] == len(calls)


def test_a_newline_inside_a_quoted_manifest_field_is_kept(tmp_path):
    from phonecoach.archive.batch import manifest_jobs

    m = tmp_path / "m.csv"
    m.write_text('file,note,agent\ncall.wav,"first line\nsecond line",wang\nother.wav,,li\n', encoding="utf-8")
    jobs = manifest_jobs(m)
    assert [j.meta.get("note") for j in jobs] == ["first line\nsecond line", None]
    assert [j.meta["agent"] for j in jobs] == ["wang", "li"]


def _store_with_calls(tmp_path):
    import subprocess
    import sys

    from .test_batch import archive

    archive(tmp_path / "arch")
    db = tmp_path / "r.db"
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                        "--quiet"], capture_output=True, text=True, env=_batch_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


@pytest.mark.parametrize("tables", [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)",
    "CREATE TABLE rule_results (id INTEGER, what TEXT)",  # a name we use, another program's table
])
@pytest.mark.parametrize("command", [["summary"], ["export", "--format", "jsonl"], ["batch", "--rescore"]])
def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path, tables, command):
    import sqlite3

    foreign = tmp_path / "theirs.db"
    con = sqlite3.connect(foreign)
    con.execute(tables)
    con.commit()
    con.close()
    before = foreign.read_bytes()
    r = run(*command, "--store", foreign)
    assert r.exit_code == 1, r.output
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "not a phonecoach results store" in lines[0] and "Traceback" not in r.output
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]


def test_reading_a_store_never_writes_it(tmp_path):
    db = _store_with_calls(tmp_path)
    stamp = (db.read_bytes(), db.stat().st_mtime_ns)
    for command in (["summary", "--json"], ["export", "--format", "jsonl", "-o", str(tmp_path / "x.jsonl")]):
        r = run(*command, "--store", db)
        assert r.exit_code == 0, r.output
    assert (db.read_bytes(), db.stat().st_mtime_ns) == stamp


def test_a_damaged_store_is_named_as_such(tmp_path):
    db = _store_with_calls(tmp_path)
    data = bytearray(db.read_bytes())
    page = 4096
    for k in range(1, len(data) // page):  # every page after the first: header intact, tables garbled
        data[k * page + 8: k * page + 64] = b"\xa5" * 56
    db.write_bytes(bytes(data))
    r = run("summary", "--store", db)
    assert r.exit_code == 1, r.output
    lines = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "damaged" in lines[0] and "integrity check" in lines[0], r.output


def test_a_store_from_a_newer_phonecoach_is_refused(tmp_path):
    import sqlite3

    db = _store_with_calls(tmp_path)
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version=99")
    con.close()
    r = run("summary", "--store", db)
    assert r.exit_code == 1 and "newer phonecoach" in r.stderr, r.output


def test_workers_end_when_the_batch_is_killed(tmp_path):
    """SIGKILL of the batch's main process alone (no clean-up runs): its workers must not live on."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from .test_batch import archive, stored

    archive(tmp_path / "arch", copies=3)
    db = tmp_path / "r.db"
    proc = subprocess.Popen([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                             "--workers", "2", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=_batch_env(), start_new_session=True)

    def children() -> list[int]:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == proc.pid:
                out.append(int(stat.parent.name))
        return out

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stored(db) < 2:
            time.sleep(0.05)
        workers = children()
        while len(workers) < 2 and time.monotonic() < deadline:  # spawned as the pool needs them
            time.sleep(0.1)
            workers = children()
        assert len(workers) >= 2, workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 15
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [w for w in workers if Path(f"/proc/{w}").exists()
                     and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        assert not alive, f"workers still running after the batch was killed: {alive}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- model archives that cannot be unpacked: one line, nothing installed ------------------------

def _zip_with(kind: str) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if kind == "clash":  # "m/am" a file, then a file inside a folder of that name
            zf.writestr("m/am", b"x")
            zf.writestr("m/am/final.mdl", b"y")
        elif kind == "long":
            zf.writestr("m/" + "长" * 100 + ".bin", b"x")  # 300 bytes in UTF-8
        elif kind == "encrypted":
            zf.writestr("m/am/final.mdl", b"y")
    data = bytearray(buf.getvalue())
    if kind == "encrypted":  # set the 'encrypted' flag in the local and central headers
        for sig in (b"PK\x03\x04", b"PK\x01\x02"):
            at = data.find(sig)
            flag_at = at + (6 if sig == b"PK\x03\x04" else 8)
            data[flag_at] |= 0x1
    return bytes(data)


@pytest.mark.parametrize("kind,expect", [("clash", "could not be unpacked"), ("long", "over 255 bytes"),
                                         ("encrypted", "encrypted")])
def test_model_archives_that_cannot_be_unpacked_give_one_line(tmp_path, monkeypatch, kind, expect):
    import hashlib
    from http.server import BaseHTTPRequestHandler

    from .loopback import Loopback

    data = _zip_with(kind)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = Loopback(Handler)
    try:
        monkeypatch.setenv("PHONECOACH_MODELS_DIR", str(tmp_path / "models"))
        r = run("models", "download", "my-model", "--url", server.url + "/m.zip",
                "--sha256", hashlib.sha256(data).hexdigest())
    finally:
        server.close()
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and expect in lines[0] and "nothing installed" in lines[0], lines
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_a_killed_writers_leftovers_are_cleared_on_the_next_write(tmp_path):
    import os
    import subprocess
    import sys

    from phonecoach.core.safeio import write_text_atomic

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    target = tmp_path / "calls.jsonl"
    stale = tmp_path / f".calls.jsonl.{dead_pid}.k2j4.part"  # what a killed export leaves
    stale.write_bytes(b"\0" * 1000)
    alive = tmp_path / f".calls.jsonl.{os.getppid()}.x1.part"  # a writer still at work (the test runner's parent)
    alive.write_bytes(b"")
    other = tmp_path / f".other.csv.{dead_pid}.z.part"  # another file's: not this write's business
    other.write_bytes(b"")
    write_text_atomic(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert not stale.exists() and alive.exists() and other.exists()


@pytest.mark.slow
def test_many_sessions_stop_promptly_on_sigterm_with_their_reports(tmp_path, ko_model):
    """SIGTERM ends every session now (the audio still queued is noted, not decoded first), each
    with its report."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import SAMPLES

    flacs = sorted(SAMPLES.glob("*.flac"))[:4]
    out = tmp_path / "out"
    args = [sys.executable, "-m", "phonecoach", "live", "--speed", "0", "--jsonl", "--out", str(out),
            "--model", str(ko_model)]
    for f in flacs:
        args += ["--replay", str(f)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out.is_dir() and len(list(out.glob("*/agent.wav"))) == len(flacs)):
            time.sleep(0.1)
        time.sleep(2.0)  # the sessions are decoding
        p.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        p.wait(timeout=60)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
    assert took < 10, f"took {took:.1f} s to stop"
    for f in flacs:
        report = json.loads((out / f.stem / "report.json").read_text(encoding="utf-8"))
        assert report["rules"] and report["session"]["audio_seconds"] > 0


def test_report_pages_into_an_existing_file_is_an_error(tmp_path):
    db = _store_with_calls(tmp_path)
    taken = tmp_path / "pages.txt"
    taken.write_text("mine", encoding="utf-8")
    r = run("report", "--store", db, "-o", tmp_path / "d.html", "--pages", taken)
    assert r.exit_code == 1 and "--pages needs a folder" in r.stderr, r.output
    assert taken.read_text(encoding="utf-8") == "mine"


def test_live_out_an_existing_file_is_one_line(tmp_path):
    from .conftest import SAMPLES

    taken = tmp_path / "out.txt"
    taken.write_text("mine", encoding="utf-8")
    r = run("live", "--replay", sorted(SAMPLES.glob("*.flac"))[0], "--speed", "0", "--out", taken)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert [x for x in r.stderr.splitlines() if x.startswith("error:")] == \
        [f"error: {taken}: is a file, not a folder; choose another --out"]
    assert taken.read_text(encoding="utf-8") == "mine"


# --- a store on a full disk, then on a read-only one (a real tmpfs; skipped where mount is not allowed)

@pytest.fixture
def small_disk(tmp_path):
    import subprocess

    where = tmp_path / "disk"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN): {r.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_then_a_read_only_one(tmp_path, small_disk):
    import subprocess
    import sys

    from .test_batch import archive

    archive(tmp_path / "arch", copies=4)
    db = small_disk / "r.db"
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                        "--quiet", "--workers", "1"], capture_output=True, text=True, env=_batch_env(), timeout=600)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    errors = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert errors and "disk is full" in errors[-1], r.stderr
    import json

    def summary():
        return subprocess.run([sys.executable, "-m", "phonecoach", "summary", "--store", str(db), "--json"],
                              capture_output=True, text=True, timeout=120)

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    r = summary()  # what was saved before the disk filled is whole
    assert r.returncode == 0, r.stderr
    saved = json.loads(r.stdout)["calls"]
    assert saved >= 1
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    r = summary()  # a store on a read-only disk is read
    assert r.returncode == 0 and json.loads(r.stdout)["calls"] == saved, r.stderr
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(tmp_path / "arch"), "--store", str(db),
                        "--quiet"], capture_output=True, text=True, env=_batch_env(), timeout=600)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert [x for x in r.stderr.splitlines() if x.startswith("error:")][-1].count("read-only") == 1, r.stderr
