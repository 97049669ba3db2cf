"""Rules that span calls, judged over the archive: message.callback_4h.

One call can only say that a callback was promised (the check keeps the promise as
evidence); whether it came is in the call log. With every call's ``started_at`` and
``caller`` (the customer's number, inbound or outbound), a promise at time t is kept when
another call to or from that number starts within the rule's hours after t, broken when none
does and the archive reaches past that window, and not applicable without the metadata.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from ..core.timeline import clock, local_time
from ..core.verdict import RuleInfo, RuleResult
from ..judging.checks import CALLBACK_PROMISED
from ..judging.model import RulePack
from .store import CALLER_KEY, CallRecord, Store

CHECK = "callback_within"


def _number(caller: str | None) -> str:
    if caller and CALLER_KEY in caller:  # a redacted store's caller: matched by its digest
        return caller.split(CALLER_KEY, 1)[1]
    digits = re.sub(r"\D", "", caller or "")
    return digits[-11:]  # +86 138…, 0086…, 138…: the same subscriber


def judge_across_calls(store: Store, pack: RulePack, pack_version: str, model: str) -> int:
    """Re-judge the cross-call rules of the stored calls of (pack version, model); returns how
    many calls changed. Run after every batch or rescore: a later call can keep an earlier promise."""
    rules = {r.id: r for r in pack.rules if r.check == CHECK}
    if not rules:
        return 0
    calls = list(store.calls(pack_version=pack_version, model=model, errors=False))
    starts = {c.key: _start(c) for c in calls}
    by_number: dict[str, list[tuple[datetime, CallRecord]]] = {}
    for c in calls:
        if starts[c.key] is not None and _number(c.caller):
            by_number.setdefault(_number(c.caller), []).append((starts[c.key], c))
    latest = max((t for t in starts.values() if t is not None), default=None)
    changed = 0
    for c in calls:
        if c.report is None:
            continue
        results = []
        for result in c.report.results:
            rule = rules.get(result.rule.id)
            if rule is not None and _promised(result):
                result = _verdict(c, result, starts[c.key], by_number, latest, float(rule.params.get("hours", 4.0)),
                                  rule.info)
            results.append(result)
        if results != c.report.results:
            c.report = replace(c.report, results=results)
            store.save(c)
            changed += 1
    return changed


def _start(c: CallRecord) -> datetime | None:
    try:
        return local_time(c.started_at) if c.started_at else None
    except ValueError:
        return None


def _promised(result: RuleResult) -> bool:
    """The per-call check found a promise (its evidence is the first occurrence)."""
    return bool(result.occurrences) and (result.status != "not_applicable" or result.detail == CALLBACK_PROMISED)


def _verdict(c: CallRecord, result: RuleResult, start: datetime | None, by_number: dict, latest: datetime | None,
             hours: float, rule: RuleInfo) -> RuleResult:
    said = result.occurrences[0]
    keep = result.occurrences
    if start is None or not _number(c.caller):
        return RuleResult(rule, "not_applicable", keep,
                          f"{CALLBACK_PROMISED}; needs the call's started_at and caller (a manifest) to judge")
    promised = start + timedelta(seconds=float(said.start or 0.0))
    due = promised + timedelta(hours=hours)
    later = sorted((t, o) for t, o in by_number.get(_number(c.caller), []) if o.key != c.key and promised < t <= due)
    if later:
        t, o = later[0]
        return RuleResult(rule, "pass", keep,
                          f"promised at {clock(said.start)}; called back {_gap(t - promised)} later: {o.file}")
    if latest is None or latest < due:
        return RuleResult(rule, "not_applicable", keep,
                          f"{CALLBACK_PROMISED}; the archive ends before the {hours:g} h window does")
    return RuleResult(rule, "fail", keep, f"promised at {clock(said.start)} ({promised.isoformat(sep=' ')}); no call "
                                          f"to or from {(c.caller or '').split(CALLER_KEY, 1)[0]} by "
                                          f"{due.isoformat(sep=' ')}")


def _gap(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
