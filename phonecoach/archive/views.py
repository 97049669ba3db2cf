"""What a QA team reads out of the store: per-agent and per-rule pass rates, the worst calls,
the trend by week, complaint calls apart, the call list with its filters, and the same tables
exported for BI tools (CSV, JSON lines, Parquet).

Aggregated in SQL over the store's indexed columns and streamed row by row: memory stays flat
however many calls the store holds (a year of a call center is a million). Plain rows out: the
terminal, the files, the dashboard and the served pages are rendered by their sinks.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from ..core.errors import PhonecoachError
from ..core.safeio import atomic_path
from ..core.verdict import ANSWER_CHECKS, ANSWER_RULES
from ..judging.personal import masked_caller
from .store import CALLER_KEY, UNKNOWN_AGENT, CallRecord, Store

TABLES = ("calls", "rules", "agents", "complaints")
STATUSES = ("pass", "fail", "not_applicable")


@dataclass(frozen=True)
class Selection:
    """Which calls a view shows: one rule-pack version and model (the latest scored unless
    named), narrowed by agent, a rule's status, ISO week and score range. ``ids``: only these
    calls (a text search's hits)."""

    pack: str
    model: str
    agent: str | None = None
    rule: str | None = None
    status: str | None = None  # with ``rule``: its status in the call (default: broken)
    week: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    ids: tuple[int, ...] | None = None
    # the agents whose calls the viewer may see (serve's roles); None: every call
    agents: tuple[str, ...] | None = None

    @property
    def plain(self) -> bool:
        """Narrowed by agent at most: the tallies answer it without reading a result per call."""
        return (self.rule, self.week, self.min_score, self.max_score, self.ids) == (None,) * 5

    def where(self, c: str = "c") -> tuple[str, list[Any]]:
        """The SQL condition on the calls table (aliased ``c``) and its arguments."""
        sql, args = [f"{c}.pack = ?", f"{c}.model = ?"], [self.pack, self.model]
        if self.agent is not None:
            sql.append(f"coalesce({c}.agent, '{UNKNOWN_AGENT}') = ?")
            args.append(self.agent)
        if self.agents is not None:
            sql.append(f"{c}.agent IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(self.agents)))
        if self.week is not None:
            sql.append(f"{c}.week = ?")
            args.append(self.week)
        if self.min_score is not None:
            sql.append(f"{c}.score >= ?")
            args.append(self.min_score)
        if self.max_score is not None:
            sql.append(f"{c}.score <= ?")
            args.append(self.max_score)
        if self.rule is not None:
            if (self.status or "fail") == "fail":  # the partial index of broken rules: no scan of every call
                sql.append(f"{c}.id IN (SELECT call FROM rule_results WHERE rule = ? AND status = 'fail')")
                args.append(self.rule)
            else:
                sql.append(f"EXISTS (SELECT 1 FROM rule_results r WHERE r.call = {c}.id AND r.rule = ? AND r.status = ?)")
                args += [self.rule, self.status]
        if self.ids is not None:
            sql.append(f"{c}.id IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(self.ids)))
        return " AND ".join(sql), args


def selection(store: Store, pack_version: str | None = None, model: str | None = None,
              **narrow: Any) -> Selection | None:
    """The calls of one rule-pack version and model: the latest scored, unless named (None: an
    empty store)."""
    if pack_version is None or model is None:
        latest = store.latest_pack()
        if latest is None:
            return None
        pack_version, model = pack_version or latest[0], model or latest[1]
    return Selection(pack_version, model, **narrow)


def _rows(store: Store, sql: str, args: Iterable[Any] = ()) -> Iterator[tuple]:
    return store.query(sql, list(args))


def _mean(total: float | None, n: int) -> float | None:
    return round(total / n, 1) if n and total is not None else None


def count_calls(store: Store, sel: Selection) -> int:
    where, args = sel.where()
    return next(_rows(store, f"SELECT count(*) FROM calls c WHERE {where}", args))[0]


def agent_rows(store: Store, sel: Selection) -> list[dict[str, Any]]:
    """Per agent: calls, mean score, rules kept of rules judged, failed files, hours of audio."""
    where, args = sel.where()
    if sel.plain:
        t_where, t_args = _tally_where(sel)
        kept = {a: (k, j) for a, k, j in _rows(store, f"""
            SELECT agent, sum(CASE WHEN status = 'pass' THEN n END), sum(CASE WHEN status != 'not_applicable' THEN n END)
            FROM tally WHERE {t_where} GROUP BY agent""", t_args)}
    else:
        kept = {a: (k, j) for a, k, j in _rows(store, f"""
            SELECT coalesce(c.agent, '{UNKNOWN_AGENT}'), sum(r.status = 'pass'), sum(r.status != 'not_applicable')
            FROM calls c JOIN rule_results r ON r.call = c.id WHERE {where} GROUP BY 1""", args)}
    rows = []
    for agent, n, errors, total, scored, seconds in _rows(store, f"""
            SELECT coalesce(c.agent, '{UNKNOWN_AGENT}'), count(*), sum(c.error IS NOT NULL), sum(c.score),
                   count(c.score), sum(coalesce(c.duration, 0)) FROM calls c WHERE {where} GROUP BY 1 ORDER BY 1""",
            args):
        k, j = kept.get(agent, (0, 0))
        k, j = k or 0, j or 0
        rows.append({"agent": agent, "calls": n, "errors": errors, "mean_score": _mean(total, scored),
                     "pass_rate": round(k / j, 3) if j else None, "audio_hours": round(seconds / 3600, 3)})
    return rows


def rule_rows(store: Store, sel: Selection) -> list[dict[str, Any]]:
    """Per rule: how often it was judged, kept and broken."""
    where, args = sel.where()
    if sel.plain:
        t_where, t_args = _tally_where(sel)
        sql, args = f"""SELECT rule, max(severity), status, sum(n) FROM tally WHERE {t_where}
                        GROUP BY rule, status ORDER BY rule""", t_args
    else:
        sql = f"""SELECT r.rule, max(r.severity), r.status, count(*) FROM rule_results r JOIN calls c ON c.id = r.call
                  WHERE {where} GROUP BY r.rule, r.status ORDER BY r.rule"""
    by: dict[str, dict[str, Any]] = {}
    for rule, severity, status, n in _rows(store, sql, args):
        row = by.setdefault(rule, {"rule": rule, "severity": severity, "pass": 0, "fail": 0, "not_applicable": 0})
        row[status] = n
    out = []
    for rule, n in by.items():
        judged = n["pass"] + n["fail"]
        out.append({"rule": rule, "severity": n["severity"], "judged": judged, "kept": n["pass"], "broken": n["fail"],
                    "not_judged": n["not_applicable"], "pass_rate": round(n["pass"] / judged, 3) if judged else None})
    return out


def _tally_where(sel: Selection) -> tuple[str, list[Any]]:
    sql, args = "pack = ? AND model = ?", [sel.pack, sel.model]
    if sel.agent is not None:
        sql, args = sql + " AND agent = ?", args + [sel.agent]
    if sel.agents is not None:
        sql, args = sql + " AND agent IN (SELECT value FROM json_each(?))", args + [json.dumps(list(sel.agents))]
    return sql, args


def rule_titles(store: Store, sel: Selection) -> dict[str, str]:
    """Each rule's title, from one stored report (the titles are the pack's)."""
    where, args = sel.where()
    for (key,) in _rows(store, f"SELECT c.key FROM calls c WHERE {where} AND c.error IS NULL LIMIT 1", args):
        rec = store.call(key)
        if rec is not None and rec.report is not None:
            return {r.rule.id: r.rule.title for r in rec.report.results}
    return {}


def call_rows(store: Store, sel: Selection, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The calls, worst first (unscored last), a page at a time, with the rules each broke. The
    scored and the unscored are read apart, so the score index gives the order (no sort of a
    year of calls for each page)."""
    where, args = sel.where()
    cols = ("id", "key", "file", "agent", "score", "started_at", "duration", "error", "complaint")
    select = "SELECT c.id, c.key, c.file, c.agent, c.score, c.started_at, c.duration, c.error, c.complaint FROM calls c"
    rows = [dict(zip(cols, r)) for r in _rows(store, f"{select} WHERE {where} AND c.score IS NOT NULL "
                                                     "ORDER BY c.score, c.file LIMIT ? OFFSET ?",
                                              args + [int(limit), int(offset)])]
    if len(rows) < limit:
        scored = next(_rows(store, f"SELECT count(*) FROM calls c WHERE {where} AND c.score IS NOT NULL", args))[0]
        rows += [dict(zip(cols, r)) for r in _rows(store, f"{select} WHERE {where} AND c.score IS NULL "
                                                         "ORDER BY c.file LIMIT ? OFFSET ?",
                                                  args + [int(limit) - len(rows), max(0, int(offset) - scored)])]
    broken = _broken(store, [r["id"] for r in rows])
    for r in rows:
        r["agent"] = r["agent"] or UNKNOWN_AGENT
        r["broken"] = broken.get(r["id"], [])
        r["complaint"] = bool(r["complaint"])
    return rows


def _broken(store: Store, ids: list[int]) -> dict[int, list[str]]:
    """The rules each call broke, in the pack's order."""
    out: dict[int, list[str]] = {}
    if ids:
        for call, rule in _rows(store, "SELECT call, rule FROM rule_results WHERE status = 'fail' AND call IN "
                                       "(SELECT value FROM json_each(?)) ORDER BY call, pos", [json.dumps(ids)]):
            out.setdefault(call, []).append(rule)
    return out


def worst_calls(store: Store, sel: Selection, n: int = 10) -> list[dict[str, Any]]:
    return [{"file": r["file"], "agent": r["agent"], "score": r["score"], "broken": r["broken"]}
            for r in call_rows(store, sel, n) if r["score"] is not None]


def trend_rows(store: Store, sel: Selection) -> list[dict[str, Any]]:
    """Mean score per ISO week of the call (calls without a date are left out)."""
    where, args = sel.where()
    return [{"week": w, "calls": n, "mean_score": _mean(total, n)} for w, n, total in _rows(store, f"""
        SELECT c.week, count(c.score), sum(c.score) FROM calls c WHERE {where} AND c.week IS NOT NULL
        AND c.score IS NOT NULL GROUP BY c.week ORDER BY c.week""", args)]


def agent_weeks(store: Store, sel: Selection) -> dict[str, list[tuple[str, float]]]:
    """Per agent, the mean score per week (for a sparkline)."""
    where, args = sel.where()
    out: dict[str, list[tuple[str, float]]] = {}
    for agent, week, mean in _rows(store, f"""
            SELECT coalesce(c.agent, '{UNKNOWN_AGENT}'), c.week, avg(c.score) FROM calls c
            WHERE {where} AND c.week IS NOT NULL AND c.score IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""", args):
        out.setdefault(agent, []).append((week, mean))
    return out


def rule_weeks(store: Store, sel: Selection) -> dict[str, list[tuple[str, float]]]:
    """Per rule, the share of calls keeping it per week, where judged."""
    where, args = sel.where()
    if sel.plain and sel.agent is None and sel.agents is None:
        sql, args = """SELECT rule, week, sum(CASE WHEN status = 'pass' THEN n ELSE 0 END) * 1.0 / sum(n) FROM tally_week
                       WHERE pack = ? AND model = ? AND status != 'not_applicable' GROUP BY 1, 2 ORDER BY 1, 2""", \
            [sel.pack, sel.model]
    else:
        sql = f"""SELECT r.rule, c.week, avg(r.status = 'pass') FROM rule_results r JOIN calls c ON c.id = r.call
                  WHERE {where} AND c.week IS NOT NULL AND r.status != 'not_applicable' GROUP BY 1, 2 ORDER BY 1, 2"""
    out: dict[str, list[tuple[str, float]]] = {}
    for rule, week, kept in _rows(store, sql, args):
        out.setdefault(rule, []).append((week, kept))
    return out


def weeks(store: Store, sel: Selection) -> list[str]:
    where, args = sel.where()
    return [w for (w,) in _rows(store, f"SELECT DISTINCT c.week FROM calls c WHERE {where} AND c.week IS NOT NULL "
                                       "ORDER BY 1", args)]


def complaint_rows(store: Store, sel: Selection) -> list[dict[str, Any]]:
    """Per agent, the calls where the caller complained apart from the rest: how many, the mean
    score of each kind, and how often each step of the answer (the after_complaint rules) was
    kept where it was judged. QA reads complaint calls first: they are the ones that lose customers."""
    where, args = sel.where()
    base = f"SELECT coalesce(c.agent, '{UNKNOWN_AGENT}') a, c.complaint k, count(*), sum(c.score), count(c.score) " \
           f"FROM calls c WHERE {where} AND c.error IS NULL GROUP BY 1, 2"
    by: dict[str, dict[str, Any]] = {}
    for agent, upset, n, total, scored in _rows(store, base, args):
        row = by.setdefault(agent, {"agent": agent, "complaint_calls": 0, "other_calls": 0,
                                    "complaint_mean_score": None, "other_mean_score": None})
        kind = "complaint" if upset else "other"
        row[f"{kind}_calls"], row[f"{kind}_mean_score"] = n, _mean(total, scored)
    marks = ",".join("?" * len(ANSWER_CHECKS))
    named = ",".join("?" * len(ANSWER_RULES))
    steps: dict[tuple[str, str], float] = {}
    names: set[str] = set()
    if sel.plain:
        t_where, t_args = _tally_where(sel)
        step_sql = f"""SELECT agent, rule, sum(CASE WHEN status = 'pass' THEN n ELSE 0 END) * 1.0 / sum(n) FROM tally
                       WHERE {t_where} AND complaint = 1 AND (check_name IN ({marks}) OR rule IN ({named}))
                       AND status != 'not_applicable' GROUP BY 1, 2"""
        name_sql = f"SELECT DISTINCT rule FROM tally WHERE {t_where} AND (check_name IN ({marks}) OR rule IN ({named}))"
        step_args = name_args = t_args + list(ANSWER_CHECKS) + list(ANSWER_RULES)
    else:
        step_sql = f"""SELECT coalesce(c.agent, '{UNKNOWN_AGENT}'), r.rule, avg(r.status = 'pass') FROM rule_results r
                       JOIN calls c ON c.id = r.call WHERE {where} AND c.complaint = 1
                       AND (r.check_name IN ({marks}) OR r.rule IN ({named}))
                       AND r.status != 'not_applicable' GROUP BY 1, 2"""
        name_sql = f"""SELECT DISTINCT r.rule FROM rule_results r JOIN calls c ON c.id = r.call
                       WHERE {where} AND (r.check_name IN ({marks}) OR r.rule IN ({named}))"""
        step_args = name_args = args + list(ANSWER_CHECKS) + list(ANSWER_RULES)
    for agent, rule, kept in _rows(store, step_sql, step_args):
        steps[(agent, rule)] = round(kept, 3)
        names.add(rule)
    for (rule,) in _rows(store, name_sql, name_args):
        names.add(rule)
    rows = []
    for agent, row in sorted(by.items()):
        if not row["complaint_calls"]:
            continue
        rows.append({**row, **{rule: steps.get((agent, rule)) for rule in sorted(names)}})
    return rows


def agents(store: Store, sel: Selection) -> list[str]:
    where, args = sel.where()
    return [a for (a,) in _rows(store, f"SELECT DISTINCT coalesce(c.agent, '{UNKNOWN_AGENT}') FROM calls c "
                                       f"WHERE {where} ORDER BY 1", args)]


# -- export ----------------------------------------------------------------------------------

def shown_caller(caller: str | None, redacted: bool) -> str | None:
    """The caller's number as it leaves the store: a redacted call's by its last four digits."""
    if caller and CALLER_KEY in caller:
        return caller.split(CALLER_KEY, 1)[0]
    return masked_caller(caller) if redacted else caller


def call_object(c: CallRecord) -> dict[str, Any]:
    """One stored call as scripts read it: the shape of ``export --format jsonl``."""
    return {"file": c.file, "sha256": c.sha256, "agent": c.agent, "call_id": c.call_id, "started_at": c.started_at,
            "caller": shown_caller(c.caller, c.report is not None and c.report.redacted),
            "score": c.score, "duration": c.duration,
            "rules": [r.to_dict() for r in (c.report.results if c.report is not None else [])],
            "measures": c.measures.to_dict() if c.measures is not None else None, "error": c.error,
            "metadata": dict(c.meta), "complaints": c.report.to_dict()["complaints"] if c.report is not None else [],
            "pack": c.pack_version, "model": c.model}


def call_objects(store: Store, sel: Selection) -> Iterator[dict[str, Any]]:
    """Every selected call, one at a time (memory stays that of one call)."""
    for c in store.calls(pack_version=sel.pack, model=sel.model):
        yield call_object(c)


def table(store: Store, sel: Selection, name: str) -> Iterator[dict[str, Any]]:
    """One export table, row by row."""
    where, args = sel.where()
    if name == "calls":
        cols = ("file", "sha256", "agent", "call_id", "started_at", "caller", "score", "duration", "error", "pack",
                "model", "metadata")
        for row in _rows(store, f"""SELECT c.file, c.sha256, c.agent, c.call_id, c.started_at, c.caller, c.score,
                c.duration, c.error, c.pack, c.model, c.meta, c.redacted FROM calls c WHERE {where}
                ORDER BY c.file, c.key""", args):
            d = dict(zip(cols, row[:-1]))
            d["caller"] = shown_caller(d["caller"], bool(row[-1]))
            yield d
    elif name == "rules":
        cols = ("file", "sha256", "agent", "rule", "status", "severity", "start", "evidence")
        for row in _rows(store, f"""SELECT c.file, c.sha256, c.agent, r.rule, r.status, r.severity, r.start,
                r.evidence FROM rule_results r JOIN calls c ON c.id = r.call WHERE {where}
                ORDER BY c.file, c.key, r.pos""", args):
            yield dict(zip(cols, row))
    elif name == "agents":
        yield from agent_rows(store, sel)
    elif name == "complaints":
        yield from complaint_rows(store, sel)
    else:
        raise PhonecoachError(f"no table {name!r}: choose one of {', '.join(TABLES)}")


def write_rows(rows: Iterable[dict[str, Any]], path: Path, fmt: str, columns: list[str] | None = None) -> None:
    """Write atomically (a temporary file renamed into place): a reader never sees half a file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        dump_rows(rows, f, fmt, columns)


def dump_rows(rows: Iterable[dict[str, Any]], f: BinaryIO, fmt: str, columns: list[str] | None = None) -> None:
    """Rows to a binary stream (a file, or stdout for ``export`` without ``-o``), one at a time."""
    if fmt == "jsonl":
        for row in rows:
            f.write((json.dumps(row, ensure_ascii=False, default=_plain) + "\n").encode("utf-8"))
    elif fmt == "csv":
        text = io.TextIOWrapper(f, encoding="utf-8-sig", newline="", write_through=True)  # BOM: Excel reads Chinese
        try:
            w = None
            for row in rows:
                if w is None:
                    w = csv.DictWriter(text, fieldnames=columns or list(row), extrasaction="ignore")
                    w.writeheader()
                w.writerow({k: _cell(v) for k, v in row.items()})
            if w is None and columns:
                csv.DictWriter(text, fieldnames=columns).writeheader()
            text.flush()
        finally:
            text.detach()  # the stream is the caller's to close
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            nonlocal writer
            if not batch:
                return
            if writer is None:  # the first rows set the columns' types; a column all empty so far is text
                t = pa.Table.from_pylist(batch)
                schema = pa.schema([pa.field(x.name, pa.string() if pa.types.is_null(x.type) else x.type)
                                    for x in t.schema])
                writer = pq.ParquetWriter(f, schema)
                t = t.cast(schema)
            else:
                t = pa.Table.from_pylist(batch, schema=writer.schema)
            writer.write_table(t)
            batch.clear()

        for row in rows:
            batch.append({k: _cell(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
            if len(batch) >= 10000:
                flush()
        flush()
        if writer is not None:
            writer.close()
        else:
            pq.write_table(pa.table({}), f)
    else:
        raise PhonecoachError(f"unknown format {fmt!r}: csv, jsonl or parquet")


def _cell(v: Any) -> Any:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v


def _plain(v: Any) -> Any:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def selected(store: Store, pack_version: str | None = None, model: str | None = None) -> list[CallRecord]:
    """The calls of one rule-pack version and model as records (for calibration, which pairs a
    bounded set of labelled calls)."""
    sel = selection(store, pack_version, model)
    return [] if sel is None else list(store.calls(pack_version=sel.pack, model=sel.model))
