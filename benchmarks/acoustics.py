#!/usr/bin/env python3
"""Time and memory of the acoustic analysis alone, for a 10-minute stereo call.

Prints the analysis time as a fraction of the audio's duration (median of several
runs, one core: BLAS/OpenMP threads pinned to 1) and the peak memory the analysis
adds on top of the decoded audio.

    .venv/bin/python benchmarks/acoustics.py [--minutes 10] [--runs 5]
"""
from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from phonecoach.core.process import tune_process  # noqa: E402
from phonecoach.hearing.measures import measure_call  # noqa: E402
from phonecoach.inputs.audio import CallAudio, load_call  # noqa: E402
from phonecoach.inputs.transcript import load_transcript  # noqa: E402

tune_process()  # as the phonecoach command does

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def ten_minute_call(minutes: float) -> CallAudio:
    """The bundled sample calls back to back until ``minutes`` of stereo audio at 16 kHz."""
    parts = [load_call(p) for p in sorted(SAMPLES.glob("*.flac"))]
    agent = np.concatenate([c.parties["agent"] for c in parts])
    customer = np.concatenate([c.parties["customer"] for c in parts])
    reps = int(np.ceil(minutes * 60 * 16000 / len(agent)))
    n = int(minutes * 60 * 16000)
    return CallAudio("bench", 16000, 8000, {"agent": np.tile(agent, reps)[:n], "customer": np.tile(customer, reps)[:n]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    audio = ten_minute_call(args.minutes)
    timeline = load_transcript(SAMPLES / "good_call.transcript.json")  # text pace path exercised too
    measure_call(audio, timeline)  # warm-up: imports, librosa/numba caches
    times = []
    for _ in range(args.runs):
        t0 = time.process_time()
        w0 = time.perf_counter()
        m = measure_call(audio, timeline)
        times.append((time.process_time() - t0, time.perf_counter() - w0))
    tracemalloc.start()
    measure_call(audio, timeline)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cpu = statistics.median(t for t, _ in times)
    wall = statistics.median(w for _, w in times)
    audio_mb = sum(x.nbytes for x in audio.parties.values()) / 1e6
    print(f"audio: {audio.duration / 60:.1f} min stereo, 16 kHz float32 ({audio_mb:.0f} MB decoded)")
    print(f"acoustic analysis, median of {args.runs} runs on one core:")
    print(f"  CPU  {cpu:.2f} s = {100 * cpu / audio.duration:.2f} % of real time")
    print(f"  wall {wall:.2f} s = {100 * wall / audio.duration:.2f} % of real time")
    print(f"  peak memory added by the analysis: {peak / 1e6:.0f} MB (tracemalloc)")
    print(f"  found: {len(m.holds or [])} holds, {len(m.interruptions or [])} interruptions, "
          f"{len(m.dead_air or [])} dead-air gaps")


if __name__ == "__main__":
    main()
