"""What phonecoach's own work costs beside decoding, per whole process, with Vosk's CPU taken out.

Whole-process CPU on this machine swings 10-30 % between runs (steal time moves every
thread), which hides a few percent of added work. Here each process runs with Vosk's calls
timed from inside (thread CPU around every ``AcceptWaveform``, ``Result``, ``PartialResult``,
``FinalResult`` and the model load), so what is left, the process's CPU minus Vosk's, is
what the process adds: imports, reading audio, the listener, judging, saving, the page. The
plain loop (``live.py``'s: a thread per channel, ``Result()`` at endpoints) is measured the
same way; its own part is reading the file and converting samples.

    .venv/bin/python benchmarks/own_cost.py [--minutes 2.9] [--runs 3] [--which bare,score,live]

Prints, per process, the median over runs of: CPU, Vosk's CPU, the rest (``own``), and the
ratio the process would have to the plain loop if Vosk cost the same in both
((vosk + own) / (vosk + plain loop's own), Vosk's median over all runs); then each thread's CPU.
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ASKED_BY_PHONECOACH_ONLY = {"PartialResult"}
BIN = Path(sys.executable).parent


def _instrument(out_path: str) -> None:
    """In the child: time Vosk's calls and every thread's CPU; write them at exit."""
    import atexit
    import resource

    import vosk

    lock = threading.Lock()
    vosk_cpu: dict[str, float] = collections.defaultdict(float)
    threads: dict[str, float] = collections.defaultdict(float)

    def timed(cls, name: str, label: str) -> None:
        f = getattr(cls, name)

        def g(self, *a, **k):
            t0 = time.thread_time()
            try:
                return f(self, *a, **k)
            finally:
                with lock:
                    vosk_cpu[label] += time.thread_time() - t0
        setattr(cls, name, g)

    for name in ("AcceptWaveform", "Result", "PartialResult", "FinalResult"):
        timed(vosk.KaldiRecognizer, name, name)
    timed(vosk.Model, "__init__", "model load")
    run = threading.Thread._bootstrap_inner

    def counted(self):
        try:
            run(self)
        finally:
            name = "worker threads" if self.name.startswith("Thread-") else self.name.split(" ")[0]
            with lock:
                threads[name] += time.thread_time()
    threading.Thread._bootstrap_inner = counted

    def write() -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        threads["main"] = time.thread_time()
        Path(out_path).write_text(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "vosk": dict(vosk_cpu),
                                              "threads": dict(threads)}), encoding="utf-8")
    atexit.register(write)


def child(kind: str, call: str, model: str, out_path: str) -> None:
    _instrument(out_path)
    if kind == "bare":
        sys.path.insert(0, str(HERE))
        import live

        live._bare(call, model)
        return
    from phonecoach.cli import main

    args = {"score": ["score", call, "--json", "--model", model],
            "live": ["live", "--replay", call, "--speed", "0", "--jsonl", "--model", model,
                     "--out", str(Path(out_path).with_suffix(".session"))]}[kind]
    try:
        main(args, standalone_mode=False)
    except SystemExit:
        pass


def measure(kind: str, call: Path, model: str, d: Path, k: int) -> dict:
    out = d / f"{kind}{k}.json"
    start = time.monotonic()
    subprocess.run([sys.executable, __file__, "_child", kind, str(call), model, str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = json.loads(out.read_text(encoding="utf-8"))
    got["wall"] = time.monotonic() - start
    # Vosk's work is what the plain loop asks of it too; partial results are phonecoach's own
    # choice (the plain loop never asks for them), so their CPU counts as what the process adds
    got["vosk_total"] = sum(cpu for name, cpu in got["vosk"].items() if name not in ASKED_BY_PHONECOACH_ONLY)
    got["own"] = got["cpu"] - got["vosk_total"]
    return got


def main() -> None:
    if len(sys.argv) >= 6 and sys.argv[1] == "_child":
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.9)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--which", default="bare,score,live")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import live

    model = live.ko_model()
    which = args.which.split(",")
    rows: dict[str, list[dict]] = {k: [] for k in which}
    with tempfile.TemporaryDirectory() as d:
        call = live.long_call(Path(d), args.minutes)
        for r in range(args.runs):
            for kind in which:
                got = measure(kind, call, model, Path(d), r)
                rows[kind].append(got)
                print(f"    ({args.minutes * 60:.0f} s call, run {r + 1}) {kind:5s} CPU {got['cpu']:6.1f} s, "
                      f"Vosk {got['vosk_total']:6.1f} s, own {got['own']:5.2f} s", flush=True)
    med = statistics.median
    vosk = med(g["vosk_total"] for v in rows.values() for g in v)
    base = med(g["own"] for g in rows["bare"]) if "bare" in rows else 0.0
    print(f"(own) {args.minutes * 60:.0f} s stereo call, medians of {args.runs} runs; Vosk's CPU (all runs) "
          f"{vosk:.1f} s")
    for kind, got in rows.items():
        own = med(g["own"] for g in got)
        print(f"    {kind:5s} own {own:5.2f} s ({min(g['own'] for g in got):.2f}-{max(g['own'] for g in got):.2f}), "
              f"{100 * (own - base) / vosk:4.1f} % of Vosk over the plain loop's; at equal Vosk "
              f"{(vosk + own) / (vosk + base):.3f}x the plain loop")
        names = sorted({n for g in got for n in g["threads"]}, key=lambda n: -med(g["threads"].get(n, 0.0) for g in got))
        asked = sorted(ASKED_BY_PHONECOACH_ONLY & {n for g in got for n in g["vosk"]})
        if asked:  # Vosk's work only phonecoach asks for, within its own
            print("          of it Vosk's " + ", ".join(f"{n} {med(g['vosk'].get(n, 0.0) for g in got):.2f} s" for n in asked))
        print("          threads: " + ", ".join(f"{n} {med(g['threads'].get(n, 0.0) for g in got):.2f} s" for n in names))


if __name__ == "__main__":
    main()
