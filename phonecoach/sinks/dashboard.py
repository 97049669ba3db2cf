"""A results store as one HTML page for a QA lead: the team at a glance, bounded.

Per agent and per rule: pass rates and their trend week by week; complaint calls apart; the
worst calls (a limit the caller sets and the page states), each linking to its own replay
page (``callpage``) written beside the dashboard. Clicking an agent or a rule narrows the list
to that agent's calls or to the calls that broke the rule. A sink over ``views``: the tables
are the same SQL aggregates ``summary`` and the served dashboard show, so the page costs the
same for a month of calls as for a year. (``phonecoach serve`` shows every call, on demand.)
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any, Callable

from ..archive.store import CallRecord, Store
from ..archive.views import (
    Selection,
    agent_rows,
    agent_weeks,
    call_rows,
    complaint_rows,
    count_calls,
    rule_rows,
    rule_titles,
    rule_weeks,
    trend_rows,
)
from ..core.safeio import write_text_atomic
from ..core.timeline import clock
from .templating import render

WORST_PAGES = 200  # calls listed (and given a replay page) by default: the worst of the store


def page_name(key: str) -> str:
    """The call page's file name, from the call's key (the audio's hash and the verdict's pack
    and model): a rescore with a new rule pack gets a new page, an unchanged call keeps its old one."""
    return hashlib.sha256(key.encode()).hexdigest()[:20] + ".html"


def spark(points: list[tuple[str, float]], lo: float, hi: float) -> str:
    """SVG polyline points (120 x 24) for a weekly series."""
    if len(points) < 2:
        return ""
    step = 120 / (len(points) - 1)
    return " ".join(f"{i * step:.1f},{24 - 22 * (v - lo) / (hi - lo or 1) - 1:.1f}" for i, (_, v) in enumerate(points))


def dashboard_context(store: Store, sel: Selection, calls: list[dict[str, Any]], link: Callable[[dict], str | None],
                      title: str) -> dict[str, Any]:
    """What the dashboard template shows, from the SQL views (``calls``: the rows to list)."""
    agents = agent_rows(store, sel)
    weekly = agent_weeks(store, sel)
    for a in agents:
        a["trend"] = weekly.get(a["agent"], [])
        a["spark"] = spark(a["trend"], 0, 100)
    rules = rule_rows(store, sel)
    titles = rule_titles(store, sel)
    kept_by_week = rule_weeks(store, sel)
    for r in rules:
        r["title"] = titles.get(r["rule"], r["rule"])
        r["trend"] = kept_by_week.get(r["rule"], [])
        r["spark"] = spark(r["trend"], 0, 1)
    rules.sort(key=lambda r: (r["pass_rate"] if r["pass_rate"] is not None else 2, r["rule"]))
    complaints = complaint_rows(store, sel)
    steps = [k for k in (complaints[0] if complaints else {}) if k not in
             ("agent", "complaint_calls", "other_calls", "complaint_mean_score", "other_mean_score")]
    rows = [{**c, "name": Path(c["file"]).name, "started_at": c["started_at"] or "",
             "duration": clock(c["duration"]) if c["duration"] else "", "link": link(c)} for c in calls]
    trend = trend_rows(store, sel)
    total = count_calls(store, sel)
    errors = sum(a["errors"] for a in agents)
    scored = [(a["mean_score"], a["calls"] - a["errors"]) for a in agents if a["mean_score"] is not None]
    n = sum(k for _, k in scored)
    return dict(title=title, agents=agents, rules=rules, calls=rows, trend=trend,
                complaints=complaints, steps=[(s, titles.get(s, s)) for s in steps],
                overall_spark=spark([(t["week"], t["mean_score"]) for t in trend], 0, 100),
                summary={"calls": total, "errors": errors, "listed": len(rows),
                         "mean": round(sum(m * k for m, k in scored) / n, 1) if n else None,
                         "hours": round(sum(a["audio_hours"] for a in agents), 1)},
                nonce=secrets.token_urlsafe(16))


def dashboard_page(store: Store, sel: Selection, links: dict[str, str], worst: int = WORST_PAGES, *,
                   title: str = "phonecoach dashboard") -> str:
    calls = call_rows(store, sel, worst)
    return render("dashboard.html.j2", **dashboard_context(store, sel, calls, lambda c: links.get(c["key"]), title))


def write_dashboard(store: Store, sel: Selection, out: Path, pages: Path | None,
                    write_page: Callable[[CallRecord, Path], bool] | None = None, worst: int = WORST_PAGES,
                    progress: Callable[[int, int], None] = lambda done, total: None) -> dict[str, int]:
    """The dashboard at ``out`` and, in ``pages``, a replay page for each of the ``worst`` calls
    listed that has none yet (``write_page(call, path)`` makes one; False if it could not)."""
    links: dict[str, str] = {}
    made = kept = failed = 0
    todo = [c for c in call_rows(store, sel, worst) if c["error"] is None]
    for i, row in enumerate(todo):
        progress(i, len(todo))
        if pages is None or write_page is None:
            continue
        path = pages / page_name(row["key"])
        if path.exists():
            kept += 1
        else:
            c = store.call(row["key"])
            if c is not None and c.report is not None and write_page(c, path):
                made += 1
            else:
                failed += 1
                continue
        links[row["key"]] = Path(os.path.relpath(path, out.parent)).as_posix()
    progress(len(todo), len(todo))
    write_text_atomic(out, dashboard_page(store, sel, links, worst))
    return {"pages_written": made, "pages_kept": kept, "pages_failed": failed}
