"""How often the scorer agrees with a careful human reader, per rule, clean and ASR-noised.

Reads tests/data/judgement_set.jsonl (made by scripts/make_judgement_set.py: labelled calls
and the same calls as a recogniser would write them), judges every call with the rule pack
and prints, per rule and variant: agreement (status equal to the label, not-applicable
included), precision and recall of "fail", and the disagreements with the words quoted.

    .venv/bin/python benchmarks/judgement.py [--rules rules/zh-CN.toml] [--show 5]
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from phonecoach.core.timeline import Timeline, Utterance  # noqa: E402
from phonecoach.judging.engine import judge  # noqa: E402
from phonecoach.judging.rulepack import load_pack  # noqa: E402

SET = ROOT / "tests" / "data" / "judgement_set.jsonl"
SPEAKERS = {"A": "agent", "C": "customer"}


def load_set(path: Path = SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(rows: list[dict], pack) -> dict:
    """{variant: {rule: counts}} with counts: n, agree, tp, fp, fn, and the disagreements."""
    out: dict = defaultdict(lambda: defaultdict(lambda: {"n": 0, "agree": 0, "tp": 0, "fp": 0, "fn": 0, "diff": []}))
    for row in rows:
        tl = Timeline([Utterance(SPEAKERS[s], t) for s, t in row["turns"]])
        results = {r.rule.id: r for r in judge(pack, tl, row["id"]).results}
        for rule, want in row["labels"].items():
            got = results[rule]
            c = out[row["variant"]][rule]
            c["n"] += 1
            c["agree"] += got.status == want
            c["tp"] += got.status == "fail" and want == "fail"
            c["fp"] += got.status == "fail" and want != "fail"
            c["fn"] += got.status != "fail" and want == "fail"
            if got.status != want:
                ev = got.occurrences[0].evidence if got.occurrences else got.detail
                c["diff"].append(f"{row['id']}: want {want}, got {got.status} «{ev}»")
    return out


def ratio(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def table(out: dict) -> list[dict]:
    rows = []
    for variant, rules in out.items():
        for rule, c in sorted(rules.items()):
            rows.append({"variant": variant, "rule": rule, "n": c["n"], "agreement": ratio(c["agree"], c["n"]),
                         "precision": ratio(c["tp"], c["tp"] + c["fp"]), "recall": ratio(c["tp"], c["tp"] + c["fn"]),
                         "diff": c["diff"]})
        n = sum(c["n"] for c in rules.values())
        rows.append({"variant": variant, "rule": "ALL", "n": n,
                     "agreement": ratio(sum(c["agree"] for c in rules.values()), n),
                     "precision": ratio(sum(c["tp"] for c in rules.values()),
                                        sum(c["tp"] + c["fp"] for c in rules.values())),
                     "recall": ratio(sum(c["tp"] for c in rules.values()),
                                     sum(c["tp"] + c["fn"] for c in rules.values())), "diff": []})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default=None, help="rule pack (default: rules/zh-CN.toml)")
    ap.add_argument("--show", type=int, default=3, help="disagreements to quote per rule")
    ap.add_argument("--json", action="store_true", help="print the table as JSON")
    args = ap.parse_args()
    rows = table(evaluate(load_set(), load_pack(args.rules)))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    fmt = lambda x: "  -  " if x is None else f"{100 * x:5.1f}"  # noqa: E731
    print(f"{'rule':28} {'variant':7} {'n':>4} {'agree%':>7} {'prec%':>6} {'recall%':>7}")
    for r in rows:
        print(f"{r['rule']:28} {r['variant']:7} {r['n']:4d} {fmt(r['agreement']):>7} {fmt(r['precision']):>6} "
              f"{fmt(r['recall']):>7}")
        for d in r["diff"][: args.show]:
            print(f"      {d}")


if __name__ == "__main__":
    main()
