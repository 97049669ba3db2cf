"""Reviews, disputes and the review queue: the QA team's word on the scorer's verdicts.

A reviewer marks a rule's verdict on a call right or wrong, with the right verdict and why; an
agent disputes a finding, and a reviewer accepts it (the verdict corrected, as a review) or
rejects it with a reason. Everything is appended (``reviews``, ``dispute_events``), never
overwritten, so the trail says who decided what and when; the latest review of a call's rule is
its verdict (``store.apply_reviews``), and the reviews are the labels ``calibrate --store``
measures the scorer against. Each write is one ``BEGIN IMMEDIATE`` transaction on the store's
WAL file: reviewers saving at once wait their turn (SQLite's busy timeout), none is lost.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ..core.errors import PhonecoachError
from ..judging.model import ReviewShares
from ..judging.personal import redact_text
from .calibration import STATUSES, Label
from .store import apply_reviews

STATES = ("open", "accepted", "rejected")
MAX_TEXT = 2000  # a reason or comment: a paragraph, not a file


@dataclass(frozen=True)
class Review:
    id: int
    call: int
    rule: str
    machine: str
    human: str
    reason: str
    reviewer: str
    at: str
    dispute: int | None


@dataclass(frozen=True)
class Dispute:
    id: int
    call: int
    rule: str
    agent_user: str
    comment: str
    state: str
    opened_at: str
    history: tuple[tuple[str, str, str, str], ...] = ()  # (at, who, state, note), in order


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _text(what: str, value: str) -> str:
    """A reason or comment as stored: a customer's number typed into it (审核: 客户身份证号是…) is
    masked like the calls' own words, as it is shown to agents and kept in the trail."""
    value = (value or "").strip()
    if not value:
        raise PhonecoachError(f"a {what} is needed")
    if len(value) > MAX_TEXT:
        raise PhonecoachError(f"the {what} is over {MAX_TEXT} characters")
    return redact_text(value)


class _write:
    """One IMMEDIATE transaction: the write lock taken at once, so two reviewers queue, not clash."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, exc, tb) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _verdict(db: sqlite3.Connection, call: int, rule: str) -> tuple[str, str]:
    """(the call's key, the scorer's verdict on the rule), or a one-line error."""
    row = db.execute("SELECT c.key, coalesce(r.machine_status, r.status) FROM calls c JOIN rule_results r "
                     "ON r.call = c.id WHERE c.id = ? AND r.rule = ?", (call, rule)).fetchone()
    if row is None:
        raise PhonecoachError(f"call {call} has no rule {rule}")
    return row


def review(db: sqlite3.Connection, call: int, rule: str, human: str, reason: str, reviewer: str,
           dispute: int | None = None) -> Review:
    """Record a reviewer's verdict on one rule of one call and make it the call's verdict."""
    with _write(db):
        return _review(db, call, rule, human, reason, reviewer, dispute)


def _review(db: sqlite3.Connection, call: int, rule: str, human: str, reason: str, reviewer: str,
            dispute: int | None) -> Review:
    """``review`` inside the caller's transaction."""
    if human not in STATUSES:
        raise PhonecoachError(f"verdict {human!r} is not one of {', '.join(STATUSES)}")
    reason = _text("reason", reason)
    key, machine = _verdict(db, call, rule)
    at = _now()
    rid = db.execute("INSERT INTO reviews (call, call_key, rule, machine, human, reason, reviewer, at, dispute) "
                     "VALUES (?,?,?,?,?,?,?,?,?)", (call, key, rule, machine, human, reason, reviewer, at,
                                                    dispute)).lastrowid
    apply_reviews(db, call)
    return Review(rid, call, rule, machine, human, reason, reviewer, at, dispute)


def reviews_of(db: sqlite3.Connection, call: int) -> list[Review]:
    return [Review(*r) for r in db.execute(
        "SELECT id, call, rule, machine, human, reason, reviewer, at, dispute FROM reviews WHERE call = ? ORDER BY id",
        (call,))]


def scores_of(db: sqlite3.Connection, call: int) -> tuple[float | None, float | None]:
    """(the scorer's score, the reviewed score or None when no review changed it)."""
    row = db.execute("SELECT score, machine_score FROM calls WHERE id = ?", (call,)).fetchone()
    if row is None:
        return None, None
    score, machine = row
    return (machine, score) if machine is not None else (score, None)


def open_dispute(db: sqlite3.Connection, call: int, rule: str, agent_user: str, comment: str) -> Dispute:
    comment = _text("comment", comment)
    with _write(db):
        key, _ = _verdict(db, call, rule)
        if db.execute("SELECT 1 FROM disputes WHERE call = ? AND rule = ? AND state = 'open'", (call, rule)).fetchone():
            raise PhonecoachError(f"call {call}: {rule} is already disputed and open")
        at = _now()
        did = db.execute("INSERT INTO disputes (call, call_key, rule, agent_user, comment, state, opened_at) "
                         "VALUES (?,?,?,?,?,?,?)", (call, key, rule, agent_user, comment, "open", at)).lastrowid
        db.execute("INSERT INTO dispute_events (dispute, at, who, state, note) VALUES (?,?,?,?,?)",
                   (did, at, agent_user, "open", comment))
    return dispute_by_id(db, did)


def settle(db: sqlite3.Connection, dispute: int, who: str, accept: bool, note: str,
           human: str | None = None) -> Dispute:
    """Accept (the verdict corrected, as a review by ``who``: ``human``, by default the other of
    pass and fail) or reject (with the reason) an open dispute."""
    note = _text("reason", note)
    state = "accepted" if accept else "rejected"
    with _write(db):  # the state and its review together, or neither
        d = dispute_by_id(db, dispute)
        if d is None:
            raise PhonecoachError(f"no dispute {dispute}")
        if d.state != "open":
            raise PhonecoachError(f"dispute {dispute} is already {d.state}")
        if accept:
            if human is None:
                _, machine = _verdict(db, d.call, d.rule)
                human = "pass" if machine == "fail" else "fail"
            _review(db, d.call, d.rule, human, note, who, dispute)
        db.execute("UPDATE disputes SET state = ? WHERE id = ?", (state, dispute))
        db.execute("INSERT INTO dispute_events (dispute, at, who, state, note) VALUES (?,?,?,?,?)",
                   (dispute, _now(), who, state, note))
    return dispute_by_id(db, dispute)


def dispute_by_id(db: sqlite3.Connection, dispute: int) -> Dispute | None:
    row = db.execute("SELECT id, call, rule, agent_user, comment, state, opened_at FROM disputes WHERE id = ?",
                     (dispute,)).fetchone()
    if row is None:
        return None
    history = tuple(db.execute("SELECT at, who, state, note FROM dispute_events WHERE dispute = ? ORDER BY id",
                               (dispute,)).fetchall())
    return Dispute(*row, history=history)


def disputes(db: sqlite3.Connection, call: int | None = None, state: str | None = None,
             agents: tuple[str, ...] | None = None) -> list[Dispute]:
    """Disputes, newest first, of one call, in one state, or of the calls of these agents."""
    sql, args = ("SELECT d.id FROM disputes d JOIN calls c ON c.id = d.call WHERE 1=1", [])
    if call is not None:
        sql, args = sql + " AND d.call = ?", args + [call]
    if state is not None:
        sql, args = sql + " AND d.state = ?", args + [state]
    if agents is not None:
        sql += f" AND c.agent IN ({','.join('?' * len(agents)) or 'NULL'})"
        args += list(agents)
    return [dispute_by_id(db, i) for (i,) in db.execute(sql + " ORDER BY d.id DESC", args)]


def audit_labels(db: sqlite3.Connection) -> list[Label]:
    """Each reviewer's latest verdict on each call's rule, as calibration labels (by file)."""
    rows = db.execute("""SELECT c.file, v.rule, v.human, v.reviewer, v.id FROM reviews v JOIN calls c ON c.id = v.call
                         WHERE v.id IN (SELECT max(id) FROM reviews GROUP BY call, rule, reviewer) ORDER BY v.id""")
    return [Label(file, rule, human, reviewer, rid) for file, rule, human, reviewer, rid in rows]


# -- what to review ---------------------------------------------------------------------------

def queue(db: sqlite3.Connection, reviewer: str, week: str, shares: ReviewShares,
          agents: tuple[str, ...] | None = None, pack: str | None = None) -> list[dict[str, Any]]:
    """The calls ``reviewer`` should hear in ``week``: per agent, the lowest scores, calls broken
    on the least-trusted rules and a random share (stable for reviewer, week and agent), each at
    least one call when the agent has any. Each item says why it is there and whether it is done
    (any review of the call exists)."""
    sql, args = "SELECT id, agent, score FROM calls WHERE week = ? AND error IS NULL", [week]
    if pack is not None:
        sql, args = sql + " AND pack = ?", args + [pack]
    by_agent: dict[str, list[tuple[int, float | None]]] = {}
    for cid, agent, score in db.execute(sql + " ORDER BY id", args):
        if agents is not None and agent not in agents:
            continue
        by_agent.setdefault(agent or "(unknown)", []).append((cid, score))
    trusted = _least_trusted(db, shares.least_trusted_rules)
    done = {c for (c,) in db.execute("SELECT DISTINCT call FROM reviews")}
    out: list[dict[str, Any]] = []
    for agent, calls in sorted(by_agent.items()):
        picked: dict[int, str] = {}

        def take(ids: list[int], share: float, why: str) -> None:
            want = max(1, round(share * len(calls))) if share > 0 else 0
            for cid in ids:
                if want <= 0:
                    break
                if cid not in picked:
                    picked[cid] = why
                    want -= 1

        take([c for c, s in sorted(calls, key=lambda x: (x[1] if x[1] is not None else 101.0, x[0]))],
             shares.lowest, "lowest score")
        if trusted:
            ids = [cid for cid, _ in calls]
            broken = [c for (c,) in db.execute(
                f"SELECT DISTINCT call FROM rule_results WHERE status = 'fail' AND rule IN "
                f"({','.join('?' * len(trusted))}) AND call IN ({','.join('?' * len(ids))}) ORDER BY call",
                list(trusted) + ids)]
            take(broken, shares.least_trusted, "rule least trusted: " + ", ".join(trusted))
        order = sorted((cid for cid, _ in calls),
                       key=lambda c: hashlib.sha256(f"{reviewer}/{week}/{agent}/{c}".encode()).hexdigest())
        take(order, shares.random, "random")
        for cid, why in sorted(picked.items()):
            out.append({"call": cid, "agent": agent, "why": why, "done": cid in done})
    return out


def _least_trusted(db: sqlite3.Connection, n: int) -> tuple[str, ...]:
    """The rules reviewers overturned most often (share of reviews that changed the verdict)."""
    rows = db.execute("""SELECT rule, avg(machine != human) AS wrong, count(*) FROM reviews
                         GROUP BY rule HAVING wrong > 0 ORDER BY wrong DESC, count(*) DESC, rule LIMIT ?""", (n,))
    return tuple(r for r, _, _ in rows)
