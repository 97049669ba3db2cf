#!/usr/bin/env python3
"""How well customers' personal numbers are found (issue 38), and what finding them costs.

    .venv/bin/python benchmarks/privacy.py [--cases 4000] [--seeds 3]

(a) the development set (tests/privacy_set.py): the hand-written forms and near-misses, and
    ``--cases`` generated sentences per seed (resident IDs of both forms with valid check
    digits, mobiles, bank cards with valid Luhn digits, landlines; Arabic and Chinese digits, 幺
    洞 两, groups, dashes, a space between every character, mixed, a digit dropped, a 呃 between;
    half with the words that say
    what they are, half bare) with as many near-misses (amounts, dates, times, durations,
    counts, staff and order numbers, hotlines). Per kind: recall (found, and of the right kind;
    found as another kind counts as masked, but not right) and precision.
(b) real text: the labelled judgement set's calls (real agents' phrasings; its message-taking
    calls read callers' numbers back), the seeds and the sample transcripts: what is masked
    there, each distinct span printed to be read (anything but a caller's number is a false alarm).
(c) cost: masking the verdict of a 3-minute call (the samples' transcripts back to back).
"""
from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phonecoach.judging.personal import find_personal  # noqa: E402
from tests.privacy_set import NEAR_MISSES, PERSONAL, spoken_cases  # noqa: E402

HOTLINES = ("10086", "95588", "12345")


def dev_set(n: int, seeds: int) -> None:
    cases = [(t, k) for t, k in PERSONAL] + [(t, None) for t in NEAR_MISSES]
    for seed in range(seeds):
        cases += spoken_cases(seed=1000 + seed, n=n)
    per = collections.defaultdict(lambda: [0, 0, 0, 0])  # right kind, masked as another, missed, false
    for text, kind in cases:
        found = find_personal(text, hotlines=HOTLINES)
        if kind is None:
            for f in found:
                per[f.kind][3] += 1
            continue
        kinds = [f.kind for f in found]
        if kind in kinds:
            per[kind][0] += 1
        elif kinds:
            per[kind][1] += 1
        else:
            per[kind][2] += 1
        for f in found:
            if f.kind != kind:
                per[f.kind][3] += 0  # the same number, masked as another kind: counted above
    total = len(cases)
    print(f"(a) development set: {total} sentences ({sum(1 for _, k in cases if k)} with a number, "
          f"{sum(1 for _, k in cases if not k)} near-misses)")
    print(f"    {'kind':9s} {'n':>5s} {'recall':>8s} {'masked':>8s} {'missed':>7s} {'precision':>10s}")
    for kind in ("id", "mobile", "card", "landline", "email", "number"):
        right, other, missed, false = per[kind]
        n_kind = right + other + missed
        if not n_kind and not false:
            continue
        rec = f"{100 * right / n_kind:.1f} %" if n_kind else "-"
        masked = f"{100 * (right + other) / n_kind:.1f} %" if n_kind else "-"
        prec = f"{100 * right / (right + false):.1f} %" if right + false else "-"
        print(f"    {kind:9s} {n_kind:5d} {rec:>8s} {masked:>8s} {missed:7d} {prec:>10s}  ({false} near-misses masked)")


def real_text() -> None:
    texts: list[tuple[str, str]] = []
    for line in (ROOT / "tests" / "data" / "judgement_set.jsonl").read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        for _, text in call.get("turns") or []:
            texts.append((f"judgement set {call.get('id', '')}", text))
    for p in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        texts += [(p.name, x) for x in p.read_text(encoding="utf-8").splitlines()]
    for p in sorted((ROOT / "samples").glob("*.transcript.json")):
        texts += [(p.name, t["text"]) for t in json.loads(p.read_text(encoding="utf-8"))["turns"]]
    hits = [(where, t, f) for where, t in texts for f in find_personal(t, hotlines=HOTLINES)]
    kinds = collections.Counter(f.kind for _, _, f in hits)
    print(f"(b) real text: {len(texts)} lines (the judgement set's turns, the seeds, the samples): "
          f"{len(hits)} spans masked, {dict(kinds)}; each distinct one, to read:")
    seen = set()
    for where, t, f in hits:
        said = t[f.start:f.end]
        if said not in seen:
            seen.add(said)
            print(f"    {where}: {f.kind:8s} {t[max(0, f.start - 12): f.end + 8]!r}")


def cost() -> None:
    from phonecoach.inputs.transcript import load_transcript
    from phonecoach.judging.engine import judge
    from phonecoach.judging.redaction import redact_report
    from phonecoach.judging.rulepack import load_pack

    from dataclasses import replace

    from phonecoach.core.timeline import Timeline
    from phonecoach.judging.model import Privacy

    pack = load_pack()
    utts, offset = [], 0.0
    for p in sorted((ROOT / "samples").glob("*.transcript.json")):
        tl = load_transcript(p)
        utts += [replace(u, start=(u.start or 0) + offset, end=(u.end or 0) + offset) for u in tl.utterances]
        offset = utts[-1].end + 1.0
    tl = Timeline(utts)
    clear = judge(replace(pack, privacy=Privacy(redact=False)), tl, "call")
    runs = []
    for _ in range(20):
        t0 = time.thread_time()
        redact_report(clear, pack.privacy.hotlines)
        runs.append(time.thread_time() - t0)
    t0 = time.thread_time()
    for _ in range(5):
        judge(replace(pack, privacy=Privacy(redact=False)), tl, "call")
    judging = (time.thread_time() - t0) / 5
    print(f"(c) cost: masking the verdict of a {offset:.0f} s call ({len(utts)} utterances): "
          f"{1000 * statistics.median(runs):.2f} ms (median of 20), judging it {1000 * judging:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    dev_set(a.cases, a.seeds)
    real_text()
    cost()


if __name__ == "__main__":
    main()
