"""Rules that span calls, judged over the archive: message.callback_4h.

One call can only say that a callback was promised (the check keeps the promise as
evidence); whether it came is in the call log. With every call's ``started_at`` and
``caller`` (the customer's number, inbound or outbound), a promise at time t is kept when
another call to or from that number starts within the rule's hours after t, broken when none
does and the archive reaches past that window, and not applicable without the metadata.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from ..core.alerts import clock
from ..judging.checks import CALLBACK_PROMISED
from ..judging.model import RulePack
from .store import CallRecord, Store

CHECK = "callback_within"


def _number(caller: str | None) -> str:
    digits = re.sub(r"\D", "", caller or "")
    return digits[-11:]  # +86 138…, 0086…, 138…: the same subscriber


def judge_across_calls(store: Store, rules: RulePack, pack: str, model: str) -> int:
    """Re-judge the cross-call rules of the stored calls of (pack, model); returns how many
    calls changed. Run after every batch or rescore: a later call can keep an earlier promise."""
    ids = [r for r in rules.rules if r.check == CHECK]
    if not ids:
        return 0
    calls = list(store.calls(pack=pack, model=model, errors=False))
    starts = {c.key: _start(c) for c in calls}
    by_number: dict[str, list[tuple[datetime, CallRecord]]] = {}
    for c in calls:
        if starts[c.key] is not None and _number(c.caller):
            by_number.setdefault(_number(c.caller), []).append((starts[c.key], c))
    latest = max((t for t in starts.values() if t is not None), default=None)
    weights = {r.id: r.weight for r in rules.rules}
    changed = 0
    for c in calls:
        report = c.report or {}
        new_rules = []
        dirty = False
        for entry in report.get("rules", []):
            rule = next((r for r in ids if r.id == entry["rule"]), None)
            if rule is None or not _promised(entry):
                new_rules.append(entry)
                continue
            verdict = _verdict(c, entry, starts[c.key], by_number, latest, float(rule.params.get("hours", 4.0)), rule)
            dirty |= any(entry.get(k) != v for k, v in verdict.items())
            new_rules.append({**entry, **verdict})
        if dirty:
            report = {**report, "rules": new_rules, "score": _score(new_rules, weights)}
            c.report, c.score = report, report["score"]
            store.save(c)
            changed += 1
    return changed


def _start(c: CallRecord) -> datetime | None:
    try:
        return datetime.fromisoformat(c.started_at) if c.started_at else None
    except ValueError:
        return None


def _promised(entry: dict[str, Any]) -> bool:
    """The per-call check found a promise (its evidence is the first occurrence)."""
    return bool(entry.get("occurrences")) and (entry["status"] != "not_applicable" or entry["detail"] == CALLBACK_PROMISED)


def _verdict(c: CallRecord, entry: dict[str, Any], start: datetime | None, by_number: dict, latest: datetime | None,
             hours: float, rule) -> dict[str, Any]:
    said = entry["occurrences"][0]
    if start is None or not _number(c.caller):
        return _na(f"{CALLBACK_PROMISED}; needs the call's started_at and caller (a manifest) to judge")
    promised = start + timedelta(seconds=float(said.get("start") or 0.0))
    due = promised + timedelta(hours=hours)
    later = sorted((t, o) for t, o in by_number.get(_number(c.caller), []) if o.key != c.key and promised < t <= due)
    if later:
        t, o = later[0]
        return {"status": "pass", "message": "", "fix": "", "detail":
                f"promised at {clock(said.get('start'))}; called back {_gap(t - promised)} later: {o.file}"}
    if latest is None or latest < due:
        return _na(f"{CALLBACK_PROMISED}; the archive ends before the {hours:g} h window does")
    return {"status": "fail", "message": rule.message, "fix": rule.fix,
            "detail": f"promised at {clock(said.get('start'))} ({promised.isoformat(sep=' ')}); no call to or from "
                      f"{c.caller} by {due.isoformat(sep=' ')}"}


def _na(detail: str) -> dict[str, Any]:
    return {"status": "not_applicable", "message": detail, "fix": "", "detail": detail}


def _gap(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _score(rules: list[dict[str, Any]], weights: dict[str, float]) -> float | None:
    """The report's score (engine.CallReport.score) from the rule entries."""
    judged = [r for r in rules if r["status"] != "not_applicable"]
    total = sum(weights.get(r["rule"], 0.0) for r in judged)
    if total <= 0:
        return None
    return round(100.0 * sum(weights.get(r["rule"], 0.0) for r in judged if r["status"] == "pass") / total, 1)
