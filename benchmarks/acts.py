"""Per act: precision and recall on single utterances written apart from the labelled calls.

Reads tests/data/acts_heldout*.jsonl ({act, does, text}), asks ``find_act`` of each, as
written and as a recogniser might write it (scripts/asrnoise.py, several seeded draws per
utterance), and prints per act and file: utterances, recall (does = true found), false
alarms (does = false found) and precision, with the misses quoted.

    .venv/bin/python benchmarks/acts.py [--draws 5] [--show 3]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from phonecoach.judging.acts import ACTS, find_act  # noqa: E402
from phonecoach.judging.rulepack import load_pack  # noqa: E402

FILES = sorted((ROOT / "tests" / "data").glob("acts_heldout*.jsonl"))


def noised(text: str, rng: random.Random) -> str:
    from asrnoise import noise_text, style

    return style(noise_text(text, rng), rng, vosk_like=rng.random() < 0.5, traditional=rng.random() < 0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=5, help="noised draws per utterance (default 5)")
    ap.add_argument("--show", type=int, default=3, help="wrong readings to quote per act")
    args = ap.parse_args()
    unless = tuple(load_pack().events.get("complaint_unless", ()))
    rng = random.Random(37)
    # (variant, act) -> [tp, fn, fp, tn], and the wrong readings
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            act, does = case["act"], case["does"]
            texts = [("clean", case["text"])] + [("noised", noised(case["text"], rng)) for _ in range(args.draws)]
            for variant, text in texts:
                found = find_act(text, act, unless if act == "complaint" else ()) is not None
                c = counts[(variant, act)]
                c[(0 if found else 1) if does else (2 if found else 3)] += 1
                if found != does:
                    wrong[(variant, act)].append(f"{'missed' if does else 'false'}: {text}")
    print(f"{'act':12} {'variant':8} {'n':>5} {'recall%':>8} {'false':>6} {'prec%':>7}")
    for variant in ("clean", "noised"):
        total = [0, 0, 0, 0]
        for act in list(ACTS) + ["ALL"]:
            c = total if act == "ALL" else counts[(variant, act)]
            if act != "ALL":
                total = [a + b for a, b in zip(total, c)]
            tp, fn, fp, tn = c
            recall = 100.0 * tp / max(1, tp + fn)
            prec = 100.0 * tp / max(1, tp + fp)
            print(f"{act:12} {variant:8} {sum(c):5d} {recall:8.1f} {fp:3d}/{fp + tn:<3d} {prec:6.1f}")
            for w in wrong.get((variant, act), [])[:args.show]:
                print(f"      {w}")


if __name__ == "__main__":
    main()
