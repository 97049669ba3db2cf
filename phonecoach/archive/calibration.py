"""How far the scorer agrees with a QA team's own audits.

A team trusts an automatic scorer once it agrees with the calls they audited by hand. Given
their labels (call, rule, status, auditor), this says per rule and per auditor: the
agreement, the precision and recall of a "fail" (the verdict that costs an agent), Cohen's
kappa (agreement beyond chance), and the calls where scorer and auditor differ, with the
scorer's evidence; and where two auditors labelled the same call and rule, how often they
agree with each other.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from ..core.errors import PhonecoachError
from ..core.safeio import read_limited, shown
from .store import CallRecord

STATUSES = ("pass", "fail", "not_applicable")
ALIASES = {"n/a": "not_applicable", "na": "not_applicable", "not applicable": "not_applicable"}


@dataclass(frozen=True)
class Label:
    call: str  # the file name or call id as the auditor wrote it
    rule: str
    status: str
    auditor: str
    line: int


@dataclass(frozen=True)
class Pair:
    label: Label
    file: str
    scorer: str
    evidence: str


def load_labels(path: Path) -> list[Label]:
    """CSV with ``rule``, ``status`` (pass/fail/not_applicable), ``auditor`` and ``file`` or
    ``call_id``. A bad row is refused with its line."""
    try:
        text = read_limited(path, PhonecoachError, "a labels CSV", 64 << 20).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PhonecoachError("labels are not UTF-8 text", shown(path)) from None
    rows = csv.DictReader(text.splitlines())
    cols = set(rows.fieldnames or ())
    if not {"rule", "status", "auditor"} <= cols or not ({"file", "call_id"} & cols):
        raise PhonecoachError("labels need columns rule, status, auditor and file or call_id", shown(path))
    out = []
    for line, row in enumerate(rows, 2):
        status = (row.get("status") or "").strip().lower()
        status = ALIASES.get(status, status)
        if status not in STATUSES:
            raise PhonecoachError(f"line {line}: status {row.get('status')!r} is not pass, fail or not_applicable",
                                  shown(path))
        call = (row.get("call_id") or "").strip() or (row.get("file") or "").strip()
        if not call or not (row.get("rule") or "").strip():
            raise PhonecoachError(f"line {line}: needs a call (file or call_id) and a rule", shown(path))
        out.append(Label(call, row["rule"].strip(), status, (row.get("auditor") or "").strip() or "(unnamed)", line))
    return out


def pair_up(labels: list[Label], calls: list[CallRecord]) -> tuple[list[Pair], list[Label]]:
    """Each label with the scorer's verdict on that call and rule; labels with no stored call
    (or no such rule) come back apart."""
    by_id = {c.call_id: c for c in calls if c.call_id}
    by_file = {c.file: c for c in calls}
    by_name: dict[str, list[CallRecord]] = defaultdict(list)
    for c in calls:
        by_name[Path(c.file).name].append(c)
    pairs, missing = [], []
    for lab in labels:
        c = by_id.get(lab.call) or by_file.get(lab.call)
        if c is None and len(by_name.get(Path(lab.call).name, [])) == 1:
            c = by_name[Path(lab.call).name][0]
        result = c.report.result(lab.rule) if c and c.report else None
        if result is None:
            missing.append(lab)
            continue
        evidence = (result.occurrences[0].evidence if result.occurrences else "") or result.detail
        pairs.append(Pair(lab, c.file, result.status, evidence))
    return pairs, missing


def figures(pairs: list[Pair]) -> dict[str, Any]:
    """Agreement, precision and recall of "fail", Cohen's kappa over the three statuses."""
    n = len(pairs)
    if not n:
        return {"n": 0, "agreement": None, "fail_precision": None, "fail_recall": None, "kappa": None}
    agree = sum(p.scorer == p.label.status for p in pairs) / n
    said_fail = [p for p in pairs if p.scorer == "fail"]
    is_fail = [p for p in pairs if p.label.status == "fail"]
    both = sum(p.scorer == "fail" and p.label.status == "fail" for p in pairs)
    chance = sum((sum(p.scorer == s for p in pairs) / n) * (sum(p.label.status == s for p in pairs) / n)
                 for s in STATUSES)
    kappa = None if chance >= 1.0 else (agree - chance) / (1.0 - chance)
    return {"n": n, "agreement": round(agree, 3),
            "fail_precision": round(both / len(said_fail), 3) if said_fail else None,
            "fail_recall": round(both / len(is_fail), 3) if is_fail else None,
            "kappa": None if kappa is None else round(kappa, 3)}


def calibrate(labels: list[Label], calls: list[CallRecord]) -> dict[str, Any]:
    pairs, missing = pair_up(labels, calls)
    by_rule: dict[str, list[Pair]] = defaultdict(list)
    by_auditor: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        by_rule[p.label.rule].append(p)
        by_auditor[p.label.auditor].append(p)
    differ = [{"file": p.file, "rule": p.label.rule, "auditor": p.label.auditor, "auditor_says": p.label.status,
               "scorer_says": p.scorer, "evidence": p.evidence} for p in pairs if p.scorer != p.label.status]
    # auditors against each other, on the calls and rules both labelled
    seen: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for p in pairs:
        seen[(p.file, p.label.rule)][p.label.auditor] = p.label.status
    between: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for said in seen.values():
        for a, b in combinations(sorted(said), 2):
            between[(a, b)].append(said[a] == said[b])
    return {"overall": figures(pairs),
            "rules": {r: figures(ps) for r, ps in sorted(by_rule.items())},
            "auditors": {a: figures(ps) for a, ps in sorted(by_auditor.items())},
            "auditor_pairs": [{"auditors": [a, b], "n": len(v), "agreement": round(sum(v) / len(v), 3)}
                              for (a, b), v in sorted(between.items())],
            "differ": differ,
            "not_found": [{"line": lab.line, "call": lab.call, "rule": lab.rule} for lab in missing]}
