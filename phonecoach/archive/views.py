"""What a QA team reads out of the store: per-agent and per-rule pass rates, the worst calls,
the trend by week, and the same tables exported for BI tools (CSV, JSON lines, Parquet).

Plain rows in, plain rows out: the terminal and the files are rendered by the CLI.
"""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

from ..core.errors import PhonecoachError
from ..core.safeio import atomic_path
from ..core.timeline import local_time
from ..core.verdict import RuleResult
from .store import CallRecord, Store

TABLES = ("calls", "rules", "agents", "complaints")
ANSWER_CHECKS = ("after_complaint", "pace_after_complaint")  # the rules that judge the answer to a complaint


def selected(store: Store, pack_version: str | None = None, model: str | None = None) -> list[CallRecord]:
    """The calls of one rule-pack version and model: the latest scored, unless named."""
    if pack_version is None or model is None:
        latest = store.latest_pack()
        if latest is None:
            return []
        pack_version, model = pack_version or latest[0], model or latest[1]
    return list(store.calls(pack_version=pack_version, model=model))


def _results(c: CallRecord) -> list[RuleResult]:
    return c.report.results if c.report is not None else []


def agent_rows(calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Per agent: calls, mean score, rules kept of rules judged, failed files."""
    by: dict[str, list[CallRecord]] = defaultdict(list)
    for c in calls:
        by[c.agent or "(unknown)"].append(c)
    rows = []
    for agent, cs in sorted(by.items()):
        scored = [c.score for c in cs if c.score is not None]
        judged = [r for c in cs for r in _results(c) if r.status != "not_applicable"]
        kept = sum(r.status == "pass" for r in judged)
        rows.append({"agent": agent, "calls": len(cs), "errors": sum(c.error is not None for c in cs),
                     "mean_score": round(sum(scored) / len(scored), 1) if scored else None,
                     "pass_rate": round(kept / len(judged), 3) if judged else None,
                     "audio_hours": round(sum(c.duration or 0 for c in cs) / 3600, 3)})
    return rows


def is_complaint_call(c: CallRecord) -> bool:
    return c.report is not None and bool(c.report.complaints)


def complaint_rows(calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Per agent, the calls where the caller complained apart from the rest: how many, the mean
    score of each kind, and how often each step of the answer (the after_complaint rules) was
    kept where it was judged. QA reads complaint calls first: they are the ones that lose customers."""
    by: dict[str, list[CallRecord]] = defaultdict(list)
    for c in calls:
        if c.error is None and c.report is not None:
            by[c.agent or "(unknown)"].append(c)
    steps = sorted({r.rule.id for cs in by.values() for c in cs for r in _results(c) if r.rule.check in ANSWER_CHECKS})
    rows = []
    for agent, cs in sorted(by.items()):
        upset = [c for c in cs if is_complaint_call(c)]
        if not upset:
            continue
        rest = [c for c in cs if not is_complaint_call(c)]
        row: dict[str, Any] = {"agent": agent, "complaint_calls": len(upset), "other_calls": len(rest),
                               "complaint_mean_score": _mean([c.score for c in upset]),
                               "other_mean_score": _mean([c.score for c in rest])}
        for step in steps:
            judged = [r.status == "pass" for c in upset if (r := c.report.result(step)) is not None
                      and r.status != "not_applicable"]
            row[step] = round(sum(judged) / len(judged), 3) if judged else None
        rows.append(row)
    return rows


def _mean(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 1) if xs else None


def rule_rows(calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Per rule: how often it was judged, kept and broken."""
    by: dict[str, dict[str, int]] = defaultdict(lambda: {"pass": 0, "fail": 0, "not_applicable": 0})
    severity: dict[str, str] = {}
    for c in calls:
        for r in _results(c):
            by[r.rule.id][r.status] += 1
            severity[r.rule.id] = r.rule.severity
    rows = []
    for rule, n in sorted(by.items()):
        judged = n["pass"] + n["fail"]
        rows.append({"rule": rule, "severity": severity[rule], "judged": judged, "kept": n["pass"], "broken": n["fail"],
                     "not_judged": n["not_applicable"], "pass_rate": round(n["pass"] / judged, 3) if judged else None})
    return rows


def worst_calls(calls: list[CallRecord], n: int = 10) -> list[dict[str, Any]]:
    scored = sorted((c for c in calls if c.score is not None), key=lambda c: (c.score, c.file))
    return [{"file": c.file, "agent": c.agent, "score": c.score,
             "broken": [r.rule.id for r in _results(c) if r.status == "fail"]} for c in scored[:n]]


def by_week(calls: list[CallRecord], value: Callable[[CallRecord], float | None]) -> dict[str, list[float]]:
    """``value`` of each call per ISO week of ``started_at`` (calls without a date or a value are left out)."""
    by: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        v = value(c)
        if c.started_at and v is not None:
            y, w, _ = local_time(c.started_at).isocalendar()
            by[f"{y}-W{w:02d}"].append(v)
    return dict(sorted(by.items()))


def trend_rows(calls: list[CallRecord]) -> list[dict[str, Any]]:
    """Mean score per ISO week of the call (``started_at``; calls without it are left out)."""
    return [{"week": k, "calls": len(v), "mean_score": round(sum(v) / len(v), 1)}
            for k, v in by_week(calls, lambda c: c.score).items()]


# -- export ----------------------------------------------------------------------------------

def call_object(c: CallRecord) -> dict[str, Any]:
    """One stored call as scripts read it: the shape of ``export --format jsonl``."""
    return {"file": c.file, "sha256": c.sha256, "agent": c.agent, "call_id": c.call_id, "started_at": c.started_at,
            "caller": c.caller, "score": c.score, "duration": c.duration,
            "rules": [r.to_dict() for r in _results(c)],
            "measures": c.measures.to_dict() if c.measures is not None else None, "error": c.error,
            "metadata": dict(c.meta),
            "pack": c.pack_version, "model": c.model}


def table(calls: list[CallRecord], name: str) -> list[dict[str, Any]]:
    if name == "calls":
        return [{"file": c.file, "sha256": c.sha256, "agent": c.agent, "call_id": c.call_id,
                 "started_at": c.started_at, "caller": c.caller, "score": c.score, "duration": c.duration,
                 "error": c.error, "pack": c.pack_version, "model": c.model, "metadata": json.dumps(c.meta, ensure_ascii=False)}
                for c in calls]
    if name == "rules":
        return [{"file": c.file, "sha256": c.sha256, "agent": c.agent, "rule": r.rule.id, "status": r.status,
                 "severity": r.rule.severity, **_where(r)} for c in calls for r in _results(c)]
    if name == "agents":
        return agent_rows(calls)
    if name == "complaints":
        return complaint_rows(calls)
    raise PhonecoachError(f"no table {name!r}: choose one of {', '.join(TABLES)}")


def _where(r: RuleResult) -> dict[str, Any]:
    """The first moment a rule was kept or broken, as the exports show it."""
    first = r.to_dict()
    return {"start": first["start"], "evidence": first["evidence"]}


def write_rows(rows: Iterable[dict[str, Any]], path: Path, fmt: str, columns: list[str] | None = None) -> None:
    """Write atomically (a temporary file renamed into place): a reader never sees half a file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        dump_rows(rows, f, fmt, columns)


def dump_rows(rows: Iterable[dict[str, Any]], f: BinaryIO, fmt: str, columns: list[str] | None = None) -> None:
    """Rows to a binary stream (a file, or stdout for ``export`` without ``-o``)."""
    if fmt == "jsonl":
        for row in rows:
            f.write((json.dumps(row, ensure_ascii=False, default=_plain) + "\n").encode("utf-8"))
    elif fmt == "csv":
        rows = list(rows)
        cols = columns or (list(rows[0]) if rows else [])
        text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="", write_through=True)  # BOM: Excel reads Chinese
        try:
            w = csv.DictWriter(text, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for row in rows:
                w.writerow({k: _cell(v) for k, v in row.items()})
            text.flush()
        finally:
            text.detach()  # the stream is the caller's to close
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        flat = [{k: _cell(v) if isinstance(v, (list, dict)) else v for k, v in row.items()} for row in rows]
        pq.write_table(pa.Table.from_pylist(flat), f)
    else:
        raise PhonecoachError(f"unknown format {fmt!r}: csv, jsonl or parquet")


def _cell(v: Any) -> Any:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v


def _plain(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    raise TypeError(type(v).__name__)
