#!/usr/bin/env python3
"""Floor view benchmark: 200 sessions publishing into one Redis, one floor, one page.

    .venv/bin/python benchmarks/floor.py [--sessions 200] [--seconds 60] [--rate 20]

Starts redis-server (Debian's) on a free port and ``phonecoach floor`` as its own process,
then runs ``--sessions`` real publishers (live/publish.py, the code ``live --publish`` runs)
in this process: each sends a warning every 3600/``--rate`` seconds on average (Poisson) and
its running score every 5 s; one session warns 100x as often. An SSE client on the floor's
``/events`` times every entry from publish to arrival. Prints:
- publish -> SSE latency, p50 / p95 / max, over warnings and over all entries;
- the floor process's CPU (share of one core) and resident memory;
- Redis memory after an 8-hour shift of the same traffic written at simulated times, with
  the default cap (24 h: all of it kept) and with ``--keep-hours 2``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(folder: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", folder], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def live_run(url: str, sessions: int, seconds: float, rate: float) -> None:
    from phonecoach.core.alerts import LiveWarning
    from phonecoach.sinks.publish import RedisPublisher

    port = free_port()
    floor = subprocess.Popen([str(BIN / "phonecoach"), "floor", "--redis", url, "--floor", "bench", "--serve",
                              f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/agents", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    lat: dict[str, list[float]] = {"warning": [], "all": []}
    stop = threading.Event()

    def follow() -> None:
        with urllib.request.urlopen(base + "/events", timeout=30) as resp:
            for raw in resp:
                line = raw.decode()
                if not line.startswith("data: "):
                    continue
                m = json.loads(line[6:])
                if m.get("kind") == "snapshot":
                    continue
                d = time.time() - m["at"]
                lat["all"].append(d)
                if m["kind"] == "warning":
                    lat["warning"].append(d)
                if stop.is_set():
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(0.5)
    pubs = [RedisPublisher(url, f"agent{i:03d}", {f"rule{k}": 1.0 for k in range(30)}, "bench") for i in range(sessions)]
    for p in pubs:
        p.start({"name": p.session})
    cpu0, t0 = cpu_seconds(floor.pid), time.monotonic()
    rng = random.Random(1)
    events = []  # (time, session index): Poisson warnings, session 0 at 100x
    for i in range(sessions):
        r = rate * (100 if i == 0 else 1) / 3600
        t = rng.expovariate(r)
        while t < seconds:
            events.append((t, i))
            t += rng.expovariate(r)
    events.sort()
    for t, i in events:
        delay = t0 + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pubs[i](LiveWarning(f"rule{rng.randrange(30)}", "msg", "fix", "major", t, t, "证据 evidence"))
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    cpu = cpu_seconds(floor.pid) - cpu0
    wall = time.monotonic() - t0
    rss = rss_mb(floor.pid)
    stop.set()
    for p in pubs:
        p.end({"score": p.running_score()})
        p.close(5.0)
    floor.terminate()
    floor.wait(10)
    print(f"{sessions} sessions for {seconds:.0f} s: {len(events)} warnings ({rate:g} per session-hour, one at "
          f"{100 * rate:g}), running scores every 5 s, {len(lat['all'])} entries reached the page")
    for kind in ("warning", "all"):
        xs = lat[kind]
        if xs:
            print(f"  publish -> SSE, {kind + 's' if kind == 'warning' else 'all entries'}: "
                  f"p50 {1000 * statistics.median(xs):.1f} ms, p95 {1000 * pct(xs, 0.95):.1f} ms, "
                  f"max {1000 * max(xs):.1f} ms")
    print(f"  floor process: {100 * cpu / wall:.1f} % of one core, {rss:.0f} MB resident")


def shift_memory(url: str, sessions: int, rate: float, hours: float, keep_hours: float | None) -> float:
    """Redis memory after ``hours`` of the same traffic, XADDed at simulated times with the cap."""
    import redis

    from phonecoach.sinks.publish import stream_key

    client = redis.Redis.from_url(url)
    key = stream_key(f"shift{keep_hours}")
    client.delete(key)
    rng = random.Random(2)
    keep_ms = int((keep_hours or 24) * 3600 * 1000)
    start_ms = 1_800_000_000_000
    pipe = client.pipeline(transaction=False)
    n = 0
    warning = json.dumps({"rule": "never.interrupt", "message": "The agent talked over the caller.",
                          "fix": "Let the caller finish; wait a beat before you answer.", "severity": "major",
                          "t_audio": 123.4, "t_emit": 123.6, "evidence": "2.1 s of overlap", "party": "agent",
                          "status": "raised", "kind": "signal", "start": 121.3}, ensure_ascii=False)
    seq = 0
    for tick in range(int(hours * 3600 / 5)):  # every 5 s: each session's score, and its warnings meanwhile
        ms = start_ms + tick * 5000
        for i in range(sessions):
            seq += 1
            entries = [("score", json.dumps({"score": 93.3, "warnings": 4}))]
            if rng.random() < rate * (100 if i == 0 else 1) * 5 / 3600:
                entries.append(("warning", warning))
            for kind, data in entries:
                pipe.xadd(key, {"kind": kind, "session": f"agent{i:03d}", "at": f"{ms / 1000:.3f}", "data": data},
                          id=f"{ms}-{seq}", minid=ms - keep_ms, approximate=True)
                seq += 1
                n += 1
        if tick % 50 == 0:
            pipe.execute()
    pipe.execute()
    used = client.memory_usage(key) / 1e6
    print(f"  an {hours:g}-hour shift ({n} entries) kept {client.xlen(key)} with --keep-hours {keep_hours or 24:g}: "
          f"the stream takes {used:.0f} MB in Redis (used_memory {client.info('memory')['used_memory'] / 1e6:.0f} MB)")
    client.delete(key)
    return used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=20.0, help="warnings per session-hour (one session at 100x)")
    ap.add_argument("--shift-hours", type=float, default=8.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        redis_proc, url = start_redis(d)
        try:
            live_run(url, args.sessions, args.seconds, args.rate)
            shift_memory(url, args.sessions, args.rate, args.shift_hours, None)
            shift_memory(url, args.sessions, args.rate, args.shift_hours, 2.0)
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    main()
