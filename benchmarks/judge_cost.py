"""What judging the words costs, file and live, on a long Chinese call.

The whole-process figures (own_cost.py) decode with the Korean stand-in model, whose words no
Chinese phrase or act ever matches, so they cannot show what judging Mandarin costs. Here a
30-minute call is put together from the labelled set's clean calls (tests/data/judgement_set.jsonl,
each turn timed at 4 characters a second, the speakers alternating as written) and judged as
`score` does (one verdict at the end) and as `live` does (every final utterance as it comes, the
timeline growing), in a fresh process each run so no cache is warm. Prints the CPU seconds of each,
the median over runs, and that figure beside the 473.6 s Vosk spent on 30 minutes
(benchmarks/RESULTS.md), as a share.

    .venv/bin/python benchmarks/judge_cost.py [--minutes 30] [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOSK_30_MIN = 473.6  # CPU seconds Vosk took on the 30-minute call (RESULTS.md, own_cost.py)

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from phonecoach.core.timeline import Timeline, Utterance
from phonecoach.judging.rulepack import load_pack
pack = load_pack()
rows = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
turns = [t for r in rows if r["variant"] == "clean" for t in r["turns"]]
utts, t = [], 0.0
for who, text in turns:
    d = max(0.6, len(text) / 4.0)
    utts.append(Utterance("agent" if who == "A" else "customer", text, t, t + d))
    t += d + 0.4
    if t > float(sys.argv[3]) * 60:
        break
which = sys.argv[4]
c0 = time.process_time()
if which == "file":
    from phonecoach.judging.engine import judge
    judge(pack, Timeline(utts, speakers_separated=True), "bench")
else:
    from phonecoach.live.judge import LiveJudge
    out = []
    j = LiveJudge(pack, ["agent", "customer"], out.append)
    for u in utts:
        j.on_final(u, now=u.end + 0.3)
print(json.dumps({"cpu": time.process_time() - c0, "utterances": len(utts)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--code", default=str(ROOT), help="the phonecoach checkout to measure (default: this one)")
    args = ap.parse_args()
    data = ROOT / "tests" / "data" / "judgement_set.jsonl"
    for which in ("file", "live"):
        cpu, n = [], 0
        for _ in range(args.runs):
            r = subprocess.run([sys.executable, "-c", CHILD, args.code, str(data), str(args.minutes), which],
                               capture_output=True, text=True, check=True)
            got = json.loads(r.stdout.strip().splitlines()[-1])
            cpu.append(got["cpu"])
            n = got["utterances"]
        med = statistics.median(cpu)
        share = 100.0 * med / (VOSK_30_MIN * args.minutes / 30.0)
        print(f"{which:5} {n} utterances, {args.minutes:g} min: judging {med:.2f} s CPU "
              f"(median of {args.runs}; {min(cpu):.2f}-{max(cpu):.2f}), {share:.2f} % of Vosk's CPU on that call")


if __name__ == "__main__":
    main()
