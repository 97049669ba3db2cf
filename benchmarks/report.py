#!/usr/bin/env python3
"""Replay page benchmark: a 30-minute call's page, as an agent gets it.

    .venv/bin/python benchmarks/report.py [--minutes 30] [--runs 5]

The call is the bundled samples back to back (stereo, their own sample rate) with their
reference transcripts shifted to match, so the page has a realistic number of lines and
findings without a speech model. Prints:
- ``phonecoach report`` as a whole process: wall and CPU seconds (median of --runs);
- the page's size, the embedded MP3's size and its bitrate;
- opening it in Chromium (Debian's, via Selenium): load event, and until the audio is
  ready to seek (readyState >= 1), median of --runs fresh page loads.
"""
from __future__ import annotations

import argparse
import json
import re
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
SAMPLES = ROOT / "samples"
BIN = Path(sys.executable).parent


def long_call(d: Path, minutes: float) -> tuple[Path, Path]:
    parts, turns, t = [], [], 0.0
    files = sorted(SAMPLES.glob("*.flac"))
    sr = sf.info(str(files[0])).samplerate
    while t < minutes * 60:
        for p in files:
            x, _ = sf.read(str(p), dtype="float32", always_2d=True)
            parts.append(x)
            for turn in json.loads(p.with_suffix("").with_suffix(".transcript.json").read_text(encoding="utf-8"))["turns"]:
                turns.append({**turn, "start": turn["start"] + t, "end": turn["end"] + t})
            t += len(x) / sr
    x = np.concatenate(parts)[: int(minutes * 60 * sr)]
    turns = [u for u in turns if u["end"] <= len(x) / sr]
    call = d / f"call_{minutes:g}min.wav"
    sf.write(str(call), x, sr, subtype="PCM_16")
    transcript = d / f"call_{minutes:g}min.json"
    transcript.write_text(json.dumps({"turns": turns}, ensure_ascii=False), encoding="utf-8")
    return call, transcript


def timed(cmd: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def open_times(page: Path, runs: int) -> tuple[list[float], list[float]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    loads, ready = [], []
    try:
        for _ in range(runs):
            driver.get("about:blank")
            t0 = time.monotonic()
            driver.get(page.as_uri())  # returns after the load event
            nav = driver.execute_script("return performance.getEntriesByType('navigation')[0].loadEventEnd")
            while not driver.execute_script("return document.getElementById('player').readyState >= 1"):
                time.sleep(0.01)
            ready.append(time.monotonic() - t0)
            loads.append(nav / 1000)
    finally:
        driver.quit()
    return loads, ready


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        call, transcript = long_call(Path(d), args.minutes)
        page = Path(d) / "call.html"
        cmd = [str(BIN / "phonecoach"), "report", str(call), "--transcript", str(transcript), "-o", str(page)]
        runs = [timed(cmd) for _ in range(args.runs)]
        html = page.read_text(encoding="utf-8")
        b64 = re.search(r'id="audio-data"[^>]*>([^<]+)<', html).group(1)
        mp3 = len(b64) * 3 / 4
        lines, findings = html.count('<li class="utt '), html.count('<article class="finding')
        print(f"{args.minutes:g}-minute call, {lines} transcript lines, {findings} broken rules")
        print(f"  phonecoach report (whole process): median {statistics.median(w for w, _ in runs):.1f} s wall, "
              f"{statistics.median(c for _, c in runs):.1f} s CPU over {args.runs} runs")
        print(f"  page {page.stat().st_size / 1e6:.2f} MB, of which audio {mp3 / 1e6:.2f} MB as MP3 "
              f"({mp3 * 8 / args.minutes / 60 / 1000:.1f} kbps), {len(b64) / 1e6:.2f} MB in base64")
        loads, ready = open_times(page, args.runs)
        print(f"  Chromium: load event after median {statistics.median(loads):.2f} s "
              f"(max {max(loads):.2f}), audio seekable after median {statistics.median(ready):.2f} s "
              f"(max {max(ready):.2f}) over {args.runs} loads")


if __name__ == "__main__":
    main()
