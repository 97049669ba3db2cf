"""A results store as one HTML page for a QA lead: the team at a glance.

Per agent and per rule: pass rates and their trend week by week; every call, worst first,
linking to its own replay page (``callpage``), written beside the dashboard. Clicking an
agent or a rule narrows the call list to that agent's calls or to the calls that broke the
rule. A sink over ``views``: it computes nothing the exports do not.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Callable

from ..archive.store import CallRecord
from ..archive.views import agent_rows, by_week, complaint_rows, is_complaint_call, rule_rows, trend_rows
from ..core.safeio import write_text_atomic
from ..core.timeline import clock
from .templating import render

UNKNOWN_AGENT = "(unknown)"


def page_name(c: CallRecord) -> str:
    """The call page's file name: the audio's hash and the verdict's pack and model, so a
    rescore with a new rule pack gets a new page and an unchanged call keeps its old one."""
    return hashlib.sha256(c.key.encode()).hexdigest()[:20] + ".html"


def weekly(calls: list[CallRecord], value: Callable[[CallRecord], float | None]) -> list[tuple[str, float]]:
    """Mean of ``value`` per ISO week, for a sparkline."""
    return [(k, sum(v) / len(v)) for k, v in by_week(calls, value).items()]


def _rule_kept(rule: str) -> Callable[[CallRecord], float | None]:
    def kept(c: CallRecord) -> float | None:
        r = c.report.result(rule) if c.report is not None else None
        if r is None or r.status == "not_applicable":
            return None
        return 1.0 if r.status == "pass" else 0.0
    return kept


def spark(points: list[tuple[str, float]], lo: float, hi: float) -> str:
    """SVG polyline points (120 x 24) for a weekly series."""
    if len(points) < 2:
        return ""
    step = 120 / (len(points) - 1)
    return " ".join(f"{i * step:.1f},{24 - 22 * (v - lo) / (hi - lo or 1) - 1:.1f}" for i, (_, v) in enumerate(points))


def dashboard_page(calls: list[CallRecord], links: dict[str, str], *, title: str = "phonecoach dashboard") -> str:
    scored = [c for c in calls if c.error is None]
    agents = agent_rows(calls)
    for a in agents:
        mine = [c for c in scored if (c.agent or UNKNOWN_AGENT) == a["agent"]]
        a["trend"] = weekly(mine, lambda c: c.score)
        a["spark"] = spark(a["trend"], 0, 100)
    rules = rule_rows(scored)
    titles = {r.rule.id: r.rule.title for c in scored if c.report is not None for r in c.report.results}
    for r in rules:
        r["title"] = titles.get(r["rule"], r["rule"])
        r["trend"] = weekly(scored, _rule_kept(r["rule"]))
        r["spark"] = spark(r["trend"], 0, 1)
    rules.sort(key=lambda r: (r["pass_rate"] if r["pass_rate"] is not None else 2, r["rule"]))
    complaints = complaint_rows(calls)
    steps = [k for k in (complaints[0] if complaints else {}) if k not in
             ("agent", "complaint_calls", "other_calls", "complaint_mean_score", "other_mean_score")]
    rows = []
    for c in sorted(calls, key=lambda c: (c.score is None, c.score if c.score is not None else 0, c.file)):
        broken = [r.rule.id for r in (c.report.results if c.report is not None else []) if r.status == "fail"]
        rows.append({"file": c.file, "name": Path(c.file).name, "agent": c.agent or UNKNOWN_AGENT, "score": c.score,
                     "started_at": c.started_at or "", "duration": clock(c.duration) if c.duration else "",
                     "error": c.error, "broken": broken, "link": links.get(c.key),
                     "complaint": is_complaint_call(c)})
    means = [c.score for c in scored if c.score is not None]
    return render("dashboard.html.j2",
        title=title, agents=agents, rules=rules, calls=rows, trend=trend_rows(scored),
        complaints=complaints, steps=[(s, titles.get(s, s)) for s in steps],
        overall_spark=spark(weekly(scored, lambda c: c.score), 0, 100),
        summary={"calls": len(calls), "errors": len(calls) - len(scored),
                 "mean": round(sum(means) / len(means), 1) if means else None,
                 "hours": round(sum(c.duration or 0 for c in calls) / 3600, 1)},
        nonce=secrets.token_urlsafe(16))


def write_dashboard(calls: list[CallRecord], out: Path, pages: Path | None,
                    write_page: Callable[[CallRecord, Path], bool] | None = None,
                    progress: Callable[[int, int], None] = lambda done, total: None) -> dict[str, int]:
    """The dashboard at ``out`` and, in ``pages``, a replay page for each scored call that has
    none yet (``write_page(call, path)`` makes one; False if it could not). Returns counts."""
    links: dict[str, str] = {}
    made = kept = failed = 0
    todo = [c for c in calls if c.error is None and c.report]
    for i, c in enumerate(todo):
        progress(i, len(todo))
        if pages is None or write_page is None:
            continue
        path = pages / page_name(c)
        if path.exists():
            kept += 1
        elif write_page(c, path):
            made += 1
        else:
            failed += 1
            continue
        links[c.key] = Path(os.path.relpath(path, out.parent)).as_posix()
    progress(len(todo), len(todo))
    write_text_atomic(out, dashboard_page(calls, links))
    return {"pages_written": made, "pages_kept": kept, "pages_failed": failed}
