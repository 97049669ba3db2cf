"""A year-sized results store: summary time and memory, the static dashboard, the served API.

Scores the sample calls (with their reference transcripts: no model needed) into a store with
``phonecoach batch``, then replicates those calls inside the store to ``--calls`` (default
200,000): 200 agents, a year of weeks, scores spread around the originals, every row with its
own key, rule results and search index, as batch writes them. Then, each as a user runs it:

- ``phonecoach summary --json``: wall time and peak memory (median of ``--runs``);
- ``phonecoach report --store -o``: time and size of the dashboard and its pages (bounded);
- ``phonecoach serve``: /api/calls latency, p50 and p95 of ``--requests`` each, with no filter,
  an agent, a broken rule, a week, a score range, and a phrase said;
- bytes per stored call (the file, and the lossless JSON before and after compression).

    .venv/bin/python benchmarks/archive.py [--calls 200000] [--runs 3] [--requests 20] [--keep DIR]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = [sys.executable, "-m", "phonecoach"]
ENV = {**os.environ, "PHONECOACH_MODELS_DIR": "/nonexistent", "PYTHONPATH": str(ROOT)}


def seed_store(folder: Path) -> Path:
    from tests.test_batch import archive

    calls = archive(folder / "arch", copies=2)
    db = folder / "year.db"
    r = subprocess.run(PY + ["batch", str(folder / "arch"), "--store", str(db), "--quiet", "--agent-pattern",
                             "{agent}_{date}_{id}.wav"], env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"batch failed: {r.stderr}")
    print(f"seeded {len(calls)} calls by batch")
    return db


def replicate(db: Path, n: int, seed: int = 7) -> None:
    """Copies of the stored calls up to ``n``, each a distinct call as batch would store it."""
    from phonecoach.archive.store import recount_tallies

    con = sqlite3.connect(str(db), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    src = con.execute("SELECT c.id, c.pack, c.model, c.file, c.meta, c.score, c.duration, c.complaint, r.timeline, "
                      "r.measures, r.report FROM calls c JOIN records r ON r.call = c.id WHERE c.error IS NULL").fetchall()
    rules = {i: con.execute("SELECT pos, rule, status, severity, start, evidence, check_name FROM rule_results "
                            "WHERE call = ? ORDER BY pos", (i,)).fetchall() for i, *_ in src}
    said = {i: con.execute("SELECT rowid % 4, sound FROM said WHERE rowid BETWEEN ? AND ?", (4 * i, 4 * i + 3)).fetchall()
            for i, *_ in src}
    rng = random.Random(seed)
    have = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    t0 = time.monotonic()
    con.execute("BEGIN")
    for i in range(have, n):
        id0, pack, model, file0, meta, score, duration, complaint, timeline, measures, report = src[i % len(src)]
        sha = f"{i:064x}"
        d = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(364))
        started = f"{d.isoformat()}T{9 + rng.randrange(9):02d}:{rng.randrange(60):02d}:00"
        week = "%d-W%02d" % d.isocalendar()[:2]
        agent = f"agent{rng.randrange(200):03d}"
        s = None if score is None else max(0.0, min(100.0, score + rng.uniform(-8, 8)))
        call = con.execute("INSERT INTO calls (key, sha256, pack, model, file, agent, call_id, started_at, week, caller, "
                           "meta, score, duration, error, complaint, scored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           (f"{sha}/{pack}/{model}", sha, pack, model, file0, agent, f"c{i}", started, week, None, meta, s,
                            duration, None, complaint, started)).lastrowid
        con.execute("INSERT INTO records VALUES (?,?,?,?)", (call, timeline, measures, report))
        con.executemany("INSERT INTO rule_results VALUES (?,?,?,?,?,?,?,?)", [(call, *r) for r in rules[id0]])
        con.executemany("INSERT INTO said (rowid, sound) VALUES (?,?)", [(4 * call + k, x) for k, x in said[id0]])
        if i % 20000 == 0 and i:
            con.execute("COMMIT")
            con.execute("BEGIN")
            print(f"  {i} calls ({time.monotonic() - t0:.0f} s)", flush=True)
    con.execute("COMMIT")
    con.execute("BEGIN")
    recount_tallies(con)  # what batch keeps counted call by call, counted once for the copies
    con.execute("COMMIT")
    con.execute("PRAGMA optimize")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak resident MB of one process."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    wall = time.monotonic() - t0
    peak_kb = int(r.stderr.strip().splitlines()[-1])
    return wall, peak_kb / 1024, r


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_latency(db: Path, requests: int) -> dict[str, tuple[float, float, int]]:
    port = free_port()
    proc = subprocess.Popen(PY + ["serve", "--store", str(db), "--listen", f"127.0.0.1:{port}"], env=ENV,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/calls?"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "limit=1", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        first = json.loads(urllib.request.urlopen(url + "limit=1", timeout=60).read())["items"][0]
        week = json.loads(urllib.request.urlopen(url + "limit=1&offset=1000", timeout=60).read())["items"][0]
        weeks = datetime.date.fromisoformat(week["started_at"][:10]).isocalendar()
        cases = {"no filter": {}, "agent": {"agent": first["agent"]},
                 "broken rule": {"rule": "never.shift_blame", "status": "fail"},
                 "week": {"week": "%d-W%02d" % weeks[:2]}, "score 40-60": {"min": 40, "max": 60},
                 "agent + page 5": {"agent": first["agent"], "offset": 200},
                 "phrase said (与我无关)": {"q": "与我无关"}, "phrase + agent": {"q": "与我无关", "agent": first["agent"]}}
        out = {}
        for name, params in cases.items():
            times, total = [], 0
            for _ in range(requests):
                t0 = time.monotonic()
                body = json.loads(urllib.request.urlopen(url + urllib.parse.urlencode(params), timeout=120).read())
                times.append(time.monotonic() - t0)
                total = body["total"]
            times.sort()
            out[name] = (statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)], total)
        return out
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the store in this folder")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="phonecoach-year-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "year.db"
    if not db.exists():
        seed_store(folder)
    t0 = time.monotonic()
    replicate(db, args.calls)
    print(f"store: {args.calls} calls, built in {time.monotonic() - t0:.0f} s")

    con = sqlite3.connect(str(db))
    n, packed, plain = 0, 0, 0
    for t, m, r in con.execute("SELECT timeline, measures, report FROM records LIMIT 2000"):
        n += 1
        packed += sum(len(x) for x in (t, m, r) if x)
        plain += sum(len(zlib.decompress(x)) for x in (t, m, r) if x)
    calls = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    con.close()
    size = db.stat().st_size
    print(f"bytes per call: file {size / calls:,.0f} (all tables, indexes, search index); lossless JSON "
          f"{plain / n:,.0f} plain -> {packed / n:,.0f} compressed")

    walls, peaks = [], []
    for _ in range(args.runs):
        wall, peak, r = timed(PY + ["summary", "--store", str(db), "--json"], folder)
        if r.returncode != 0:
            sys.exit(r.stderr)
        walls.append(wall)
        peaks.append(peak)
    print(f"summary --json: {statistics.median(walls):.2f} s wall, {statistics.median(peaks):.0f} MB peak "
          f"(median of {args.runs})")

    site = folder / "site"
    shutil.rmtree(site, ignore_errors=True)
    wall, peak, r = timed(PY + ["report", "--store", str(db), "-o", str(site / "dashboard.html")], folder)
    pages = list((site / "dashboard-calls").glob("*.html"))
    print(f"report --store (static, the worst 200): {wall:.1f} s, {peak:.0f} MB peak; dashboard "
          f"{(site / 'dashboard.html').stat().st_size / 1e6:.2f} MB, {len(pages)} call pages "
          f"{sum(p.stat().st_size for p in pages) / 1e6:.1f} MB")

    print(f"serve /api/calls, {args.requests} requests each: p50 / p95 (calls matched)")
    for name, (p50, p95, total) in api_latency(db, args.requests).items():
        print(f"  {name:24} {1000 * p50:7.1f} ms / {1000 * p95:7.1f} ms  ({total})")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
