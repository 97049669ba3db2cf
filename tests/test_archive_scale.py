"""The archive at scale: views aggregated in SQL (equal to counting the calls by hand), a store
written by the previous release migrated with its figures unchanged, compression, a phrase
search as tolerant as the rules, paths that survive a move, and the served dashboard (its API,
range requests for the audio, who may reach it)."""
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from phonecoach.archive.search import search_calls
from phonecoach.archive.store import Store
from phonecoach.archive.views import agent_rows, call_rows, count_calls, rule_rows, selection
from phonecoach.cli.main import main

from .test_batch import ROOT, archive, batch

DATA = Path(__file__).parent / "data"
J = "FROM calls c JOIN records r ON r.call = c.id"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The samples twice (distinct audio), two agents, three weeks: scored by 'batch'."""
    tmp = tmp_path_factory.mktemp("scale")
    calls = archive(tmp / "arch", copies=2)
    lines = ["file,agent,started_at"]
    for i, c in enumerate(calls):
        lines.append(f"{c},{c.stem.split('_')[0]},2026-11-{2 + 7 * (i % 3):02d}T10:00:00")
    (tmp / "calls.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp / "results.db"
    r = batch(str(tmp / "calls.csv"), "--store", str(db), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    return db


def test_sql_views_equal_counting_the_calls_one_by_one(store):
    s = Store(store, readonly=True)
    sel = selection(s)
    calls = list(s.calls(pack_version=sel.pack, model=sel.model))
    assert count_calls(s, sel) == len(calls) == 14
    for row in agent_rows(s, sel):
        mine = [c for c in calls if c.agent == row["agent"]]
        judged = [r for c in mine for r in c.report.results if r.status != "not_applicable"]
        assert row["calls"] == len(mine)
        assert row["mean_score"] == round(sum(c.score for c in mine) / len(mine), 1)
        assert row["pass_rate"] == round(sum(r.status == "pass" for r in judged) / len(judged), 3)
    for row in rule_rows(s, sel):
        results = [r for c in calls for r in c.report.results if r.rule.id == row["rule"]]
        assert (row["kept"], row["broken"]) == (sum(r.status == "pass" for r in results),
                                                sum(r.status == "fail" for r in results))
    listed = call_rows(s, sel, limit=5, offset=3)
    ordered = sorted(calls, key=lambda c: (c.score, c.file))
    assert [c["file"] for c in listed] == [c.file for c in ordered[3:8]]
    assert all(Path(c["file"]).is_absolute() for c in listed)  # stored resolved: found from any folder


def test_a_store_from_the_previous_release_is_migrated_with_its_figures_unchanged(tmp_path):
    old = tmp_path / "store_v1.db"
    shutil.copy(DATA / "store_v1.db", old)  # written by phonecoach at 4013c2b (schema 1, plain JSON)
    before = json.loads((DATA / "store_v1.summary.json").read_text(encoding="utf-8"))  # its own summary then
    r = CliRunner().invoke(main, ["summary", "--store", str(old), "--json"])
    assert r.exit_code == 0, r.output
    now = json.loads(r.stdout)
    for key in ("calls", "agents", "rules", "worst", "weeks"):
        assert now[key] == before[key], key
    con = sqlite3.connect(str(old))
    from phonecoach.archive.store import SCHEMA_VERSION

    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {r for (r,) in con.execute("SELECT redacted FROM calls")} == {0}  # stored in the clear, and says so
    blobs = con.execute(f"SELECT typeof(timeline), typeof(report), complaint {J}").fetchall()
    assert {b[:2] for b in blobs} == {("blob", "blob")}  # compressed in place
    assert sum(b[2] for b in blobs) == 1  # loud_call: its caller complained, read from the stored rules
    con.close()
    assert now["complaints"] and now["complaints"][0]["complaint_calls"] == 1
    # and a search finds what the old calls said
    r = CliRunner().invoke(main, ["search", "与我无关", "--store", str(old), "--json"])
    assert r.exit_code == 0 and "blame_call" in r.stdout


def test_the_lossless_record_is_compressed_and_rescore_still_reads_it(store, tmp_path):
    con = sqlite3.connect(str(store))
    n, stored = con.execute("SELECT count(*), sum(length(timeline) + length(measures) + length(report)) "
                            "FROM records").fetchone()
    plain = sum(len(zlib.decompress(x)) for row in con.execute("SELECT timeline, measures, report FROM records")
                for x in row)
    con.close()
    assert stored / n < 10_000  # bytes per call (the aim)
    assert stored < plain / 3, (stored, plain)  # zlib on JSON full of times and levels
    copy = tmp_path / "r.db"
    shutil.copy(store, copy)
    r = batch("--rescore", "--store", str(copy))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("said, want", [
    ("与我无关", True), ("于我无关", True), ("與我無關", True), ("与 我 无关", True),  # homophone, traditional, spaces
    ("与我的无关", True),  # an inserted character
    ("与我有关", False), ("与你无关", False),  # look-alikes
])
def test_a_phrase_search_is_as_tolerant_as_the_rules_and_refuses_look_alikes(store, said, want):
    s = Store(store, readonly=True)
    hits = search_calls(s, selection(s), said)
    assert bool(hits) == want, [h.text for h in hits]
    if want:  # every blame_call copy, and nothing else
        assert {Path(h.file).name.split("_")[0] for h in hits} <= {"li", "wang"}
        assert len({h.key for h in hits}) == 2 and all("与我无关" in h.text for h in hits)


def test_search_by_speaker_from_the_command_line(store):
    r = CliRunner().invoke(main, ["search", "还有什么可以帮您", "--store", str(store), "--speaker", "customer"])
    assert r.exit_code == 0 and "0 utterances" in r.stderr
    r = CliRunner().invoke(main, ["search", "还有什么可以帮您", "--store", str(store), "--speaker", "agent", "--json"])
    hits = [json.loads(x) for x in r.stdout.splitlines()]
    assert hits and all(h["speaker"] == "agent" and "还有什么可以帮您" in h["text"] for h in hits)


def test_an_archive_that_moved_plays_again_after_relocate(tmp_path):
    arch = archive(tmp_path / "old" / "arch")
    db = tmp_path / "r.db"
    assert batch(str(tmp_path / "old" / "arch"), "--store", str(db), "--quiet").returncode == 0
    shutil.move(str(tmp_path / "old"), str(tmp_path / "new"))
    out = tmp_path / "site" / "d.html"
    here = tmp_path / "elsewhere"
    here.mkdir()
    run = lambda *a: subprocess.run([sys.executable, "-m", "phonecoach", *a], cwd=here, capture_output=True,  # noqa: E731
                                    text=True)
    r = run("report", "--store", str(db), "-o", str(out))
    page = next((out.parent / "d-calls").glob("*.html")).read_text(encoding="utf-8")
    assert "The recording is not at " + str((tmp_path / "old" / "arch").resolve()) in page  # says where it looked
    shutil.rmtree(out.parent)
    r = run("batch", "--relocate", str(tmp_path / "old"), str(tmp_path / "new"), "--store", str(db))
    assert r.returncode == 0 and f"{len(arch)} stored calls" in r.stderr, r.stderr
    r = run("report", "--store", str(db), "-o", str(out))  # from another folder: every page has its audio
    assert r.returncode == 0, r.stderr
    pages = list((out.parent / "d-calls").glob("*.html"))
    assert len(pages) == len(arch) and all('id="audio-data"' in p.read_text(encoding="utf-8") for p in pages)


def test_the_static_dashboard_is_bounded(store, tmp_path):
    out = tmp_path / "d.html"
    r = CliRunner().invoke(main, ["report", "--store", str(store), "-o", str(out), "--worst", "5"])
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.count('<tr class="call"') == 5 and "The 5 worst of 14 calls" in page
    assert len(list((tmp_path / "d-calls").glob("*.html"))) == 5


# -- served ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(store, tmp_path_factory):
    """``phonecoach serve`` as a user starts it, from another folder."""
    port = free_port()
    here = tmp_path_factory.mktemp("cwd")
    proc = subprocess.Popen([sys.executable, "-m", "phonecoach", "serve", "--store", str(store), "--listen",
                             f"127.0.0.1:{port}"], cwd=here, stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url + "/api/calls?limit=1", timeout=2).read()
            break
        except OSError:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def get_json(url: str, **params) -> dict:
    with urllib.request.urlopen(url + "/api/calls?" + urllib.parse.urlencode(params), timeout=30) as r:
        return json.loads(r.read())


def test_api_calls_filters_and_pages_like_the_views(site, store):
    s = Store(store, readonly=True)
    sel = selection(s)
    every = get_json(site, limit=100)
    assert every["total"] == 14 and [c["file"] for c in every["items"]] == [c["file"] for c in call_rows(s, sel, 100)]
    assert {"file", "agent", "score", "started_at", "page"} <= set(every["items"][0])
    wang = get_json(site, agent="wang")
    assert wang["total"] == sum(c["agent"] == "wang" for c in every["items"]) > 0
    assert all(c["agent"] == "wang" for c in wang["items"])
    broke = get_json(site, rule="never.shift_blame", status="fail")
    assert broke["total"] == sum("never.shift_blame" in c["broken"] for c in every["items"]) > 0
    week = get_json(site, week="2026-W45")  # 2026-11-02: the first of the three weeks
    assert week["total"] == sum(c["started_at"].startswith("2026-11-02") for c in every["items"]) > 0
    low = get_json(site, max=80)
    assert low["total"] == sum(c["score"] <= 80 for c in every["items"])
    two = get_json(site, limit=2, offset=2)
    assert [c["file"] for c in two["items"]] == [c["file"] for c in every["items"][2:4]]
    said = get_json(site, q="與我無關", speaker="agent")
    assert said["total"] == 2 and all("never.shift_blame" in c["broken"] for c in said["items"])
    with pytest.raises(urllib.error.HTTPError) as bad:
        get_json(site, status="maybe")
    assert bad.value.code == 400


def test_a_call_page_is_made_on_demand_and_its_audio_seeks_by_range(site):
    item = get_json(site, q="与我无关")["items"][0]
    page = urllib.request.urlopen(site + item["page"], timeout=30).read().decode("utf-8")
    assert f'src="/audio/{item["id"]}"' in page and 'id="audio-data"' not in page  # streamed, not embedded
    req = urllib.request.Request(f"{site}/audio/{item['id']}", headers={"Range": "bytes=1000-1999"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 206 and r.headers["Content-Range"].startswith("bytes 1000-1999/")
        assert r.read() == Path(item["file"]).read_bytes()[1000:2000]


def test_serve_refuses_other_machines_without_a_token_and_asks_for_it_with_one(store):
    r = subprocess.run([sys.executable, "-m", "phonecoach", "serve", "--store", str(store), "--listen",
                        f"0.0.0.0:{free_port()}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--token" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    from phonecoach.sinks.served import serve_archive

    server = serve_archive(store, "127.0.0.1", 0, token="s3cret")
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(server.address + "/api/calls", timeout=10)
        assert denied.value.code == 403
        ok = json.loads(urllib.request.urlopen(server.address + "/api/calls?token=s3cret", timeout=10).read())
        page = urllib.request.urlopen(server.address + ok["items"][0]["page"] + "?token=s3cret", timeout=10).read()
        assert b"token=s3cret" in page  # its audio asks with the token too
    finally:
        server.stop()


def test_the_tallies_equal_a_recount_after_calls_were_saved_again(store, tmp_path):
    """batch saves each call, then saves it again with the callback rule judged across calls,
    and --rescore adds another verdict per call: the running tallies stay exact."""
    from phonecoach.archive.store import recount_tallies

    copy = tmp_path / "r.db"
    shutil.copy(store, copy)
    assert batch("--rescore", "--store", str(copy)).returncode == 0
    con = sqlite3.connect(str(copy), isolation_level=None)
    try:
        kept = [sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in ("tally", "tally_week")]
        assert kept[0] and kept[1]
        con.execute("BEGIN")
        recount_tallies(con)
        assert [sorted(con.execute(f"SELECT * FROM {t}").fetchall()) for t in ("tally", "tally_week")] == kept
        con.execute("ROLLBACK")
    finally:
        con.close()
