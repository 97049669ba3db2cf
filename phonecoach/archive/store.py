"""The results store: one SQLite file a QA team keeps for weeks.

A call is keyed by what decides its verdict: the audio's content (sha256), the rule pack's
version (the sha256 of its file) and the speech model. So a re-run skips what is done, a
renamed or moved file is not scored twice, a rule change gives new rows beside the old ones
(``--rescore`` re-judges the stored timelines and measures without the recogniser), and a
run killed at any moment resumes where it stopped: each call is saved in one transaction,
in WAL mode, so a call is either stored whole or not at all.

Sized for a year of calls: the views aggregate in SQL over indexed columns (agent, week,
score, rule) without reading the JSON; the lossless JSON is zlib-compressed (the report keeps
only what the timeline and measures do not); each party's words are indexed by their sound
(toneless pinyin, FTS5) so a phrase search finds homophones and traditional characters and
the rules' matcher confirms. Paths are stored absolute. A store from an older phonecoach is
migrated the first time it is opened (``migrate``), in one transaction.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import PhonecoachError
from ..core.measured import Measures
from ..core.timeline import Timeline
from ..core.verdict import CallReport, RuleResult, weighted_score
from ..judging.personal import masked_caller
from .serial import measures_from_json, measures_to_json, timeline_from_json, timeline_to_json

# Schema 2. A call's row holds only what the views filter and sort on (small rows: a scan of a
# year of calls reads megabytes, not the lossless records); the records sit in their own table;
# rule results point at the call by its integer id; ``tally`` keeps per pack, model, agent,
# complaint or not, rule and status how many calls there are, and ``tally_week`` per week, so
# the team's summary reads a few thousand rows, not one per rule per call.
SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,         -- sha256 / pack / model
    sha256 TEXT NOT NULL,
    pack TEXT NOT NULL,
    model TEXT NOT NULL,
    file TEXT NOT NULL,               -- absolute
    agent TEXT,
    call_id TEXT,
    started_at TEXT,
    week TEXT,                        -- ISO week of started_at, local time (2026-W47)
    caller TEXT,
    meta TEXT NOT NULL DEFAULT '{}',  -- the manifest's other columns, JSON
    score REAL,
    duration REAL,
    error TEXT,                       -- one line, NULL when scored
    complaint INTEGER NOT NULL DEFAULT 0,  -- the caller complained (phone rules section 9)
    scored_at TEXT NOT NULL,
    redacted INTEGER NOT NULL DEFAULT 0,   -- customers' personal numbers masked in what is stored
    machine_score REAL                -- the scorer's own score when a review changed it (score is then the reviewed)
);
CREATE TABLE IF NOT EXISTS records (  -- the lossless JSON (serial.py), zlib-compressed
    call INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    timeline BLOB,
    measures BLOB,
    report BLOB                       -- the report as 'score --json' gives it, less the timeline and measures
);
CREATE TABLE IF NOT EXISTS rule_results (  -- one per rule per call, in the pack's order (pos)
    call INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    pos INTEGER NOT NULL,
    rule TEXT NOT NULL,
    status TEXT NOT NULL,             -- pass | fail | not_applicable
    severity TEXT,
    start REAL,
    evidence TEXT,
    check_name TEXT,
    machine_status TEXT,              -- the scorer's verdict when a review changed it (status is then the reviewed)
    PRIMARY KEY (call, pos)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally (
    pack TEXT NOT NULL, model TEXT NOT NULL, agent TEXT NOT NULL, complaint INTEGER NOT NULL,
    rule TEXT NOT NULL, status TEXT NOT NULL, severity TEXT, check_name TEXT, n INTEGER NOT NULL,
    PRIMARY KEY (pack, model, agent, complaint, rule, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tally_week (
    pack TEXT NOT NULL, model TEXT NOT NULL, week TEXT NOT NULL, rule TEXT NOT NULL, status TEXT NOT NULL,
    n INTEGER NOT NULL, PRIMARY KEY (pack, model, week, rule, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen (       -- content hashes of files already read, by size and mtime
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_sha ON calls(sha256);
CREATE INDEX IF NOT EXISTS calls_view ON calls(pack, model, agent, score);
CREATE INDEX IF NOT EXISTS calls_week ON calls(pack, model, week);
CREATE INDEX IF NOT EXISTS calls_score ON calls(pack, model, score, file);
CREATE INDEX IF NOT EXISTS calls_scored ON calls(scored_at);
CREATE INDEX IF NOT EXISTS rules_broken ON rule_results(rule) WHERE status = 'fail';  -- the calls that broke a rule
-- each party's words by sound, rowid = call id * 4 + the party's code (SPEAKER_CODES), so a
-- search reads the calls off the index without touching the rows
CREATE VIRTUAL TABLE IF NOT EXISTS said USING fts5(sound);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);  -- the store's own salt
-- the people of serve (archive/people.py): a password kept only as its scrypt hash
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,               -- admin | supervisor | qa | agent
    agent TEXT,                       -- an agent's own calls: the calls' agent field
    team TEXT,                        -- a supervisor sees the agents of their team
    password TEXT NOT NULL,           -- scrypt$n$r$p$salt$hash
    created TEXT NOT NULL
);
-- reviews and disputes (archive/review.py): appended, never overwritten; the latest review of a
-- call's rule is its verdict. They name the call by key too, so a call scored again keeps them.
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    call INTEGER NOT NULL,
    call_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    machine TEXT NOT NULL,            -- the scorer's verdict
    human TEXT NOT NULL,              -- the reviewer's
    reason TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    dispute INTEGER                   -- the dispute it settled, if any
);
CREATE INDEX IF NOT EXISTS reviews_call ON reviews(call, rule, id);
CREATE INDEX IF NOT EXISTS reviews_key ON reviews(call_key);
CREATE TABLE IF NOT EXISTS disputes (
    id INTEGER PRIMARY KEY,
    call INTEGER NOT NULL,
    call_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    agent_user TEXT NOT NULL,
    comment TEXT NOT NULL,
    state TEXT NOT NULL,              -- open | accepted | rejected: the latest of its events
    opened_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS disputes_call ON disputes(call);
CREATE TABLE IF NOT EXISTS dispute_events (  -- every change of a dispute, in order
    id INTEGER PRIMARY KEY,
    dispute INTEGER NOT NULL REFERENCES disputes(id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL
);
"""


@dataclass
class CallRecord:
    """One stored call: who and when, and its verdict as typed records (JSON only in SQLite)."""

    sha256: str
    pack_version: str  # the rule pack's version (the sha256 of its file, cut short)
    model: str
    file: str
    agent: str | None = None
    call_id: str | None = None
    started_at: str | None = None
    caller: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    duration: float | None = None
    error: str | None = None
    timeline: Timeline | None = None  # lossless: a rescore judges it again
    measures: Measures | None = None
    report: CallReport | None = None

    @property
    def key(self) -> str:
        return call_key(self.sha256, self.pack_version, self.model)

    @property
    def score(self) -> float | None:
        return self.report.score if self.report is not None else None


def call_key(sha256: str, pack_version: str, model: str) -> str:
    return f"{sha256}/{pack_version}/{model}"


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


APPLICATION_ID = 0x50434F41  # "PCOA" in the SQLite header: this file is a phonecoach store
UNKNOWN_AGENT = "(unknown)"  # how views name the calls without an agent
CALLER_KEY = "~"  # in a redacted store's caller: what is shown, then the digest calls are matched by
CALLER_ROUNDS = 20000  # PBKDF2 rounds of that digest: ~10 ms a call, a brute force over all numbers costs years
SCHEMA_VERSION = 4  # PRAGMA user_version; a store from a newer phonecoach is refused, not rewritten
_OUR_TABLES = {"calls", "rule_results", "seen"}  # schema 1, before stores carried their id


class Store:
    """The SQLite store. One writer at a time (the batch's main process); readers any time.

    ``readonly``: the views (summary, export, report, calibrate) never write, so a store on a
    read-only disk or shared read-only can be read. Any file that is not a phonecoach store (its
    application id, or a store from before the id with exactly our tables) is refused without
    a byte written to it; a damaged one is named as such with SQLite's integrity check."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if self.path.exists() and not self.path.is_file():
            raise PhonecoachError("not a regular file: cannot be a results store", self.path)
        if readonly and not self.path.is_file():
            raise PhonecoachError("no such results store", self.path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        try:
            self.db = self._connect(readonly)
            if not fresh:
                self._check_ours()
            if readonly and not fresh and self._version() < SCHEMA_VERSION and os.access(self.path, os.W_OK):
                self.db.close()  # an older store: brought up to date once, then read as asked
                Store(self.path).close()
                self.db = self._connect(readonly)
            if readonly and self._version() < SCHEMA_VERSION:
                raise PhonecoachError(f"a results store from an older phonecoach (schema {self._version()}) on a "
                                      "read-only disk: copy it somewhere writable once to bring it up to date",
                                      self.path)
            if not readonly:
                # the tables and the id in one transaction: a reader never finds the file without them
                try:
                    self.db.execute("BEGIN IMMEDIATE")
                    migrate(self.db)
                    self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash never corrupts; power loss may undo the last calls
                self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        if not readonly:
            return sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        uri = self.path.resolve().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:  # a read-only disk: no -shm can be made beside it; nothing changes it
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _check_ours(self) -> None:
        app = self.db.execute("PRAGMA application_id").fetchone()[0]
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if app == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise PhonecoachError(f"a results store from a newer phonecoach (schema {version}); upgrade "
                                      "phonecoach to read it", self.path)
            return
        if app == 0 and tables == _OUR_TABLES:
            return  # written before stores carried their id: ours, stamped when next written
        raise PhonecoachError("not a phonecoach results store (another program's SQLite file); "
                              "nothing was written to it", self.path)

    def _why(self, exc: sqlite3.DatabaseError) -> str:
        text = str(exc)
        if "full" in text:
            return "the disk is full: the store could not be written (the calls saved so far are kept)"
        if "readonly" in text or "read-only" in text:
            return "the store is read-only: it can be read (summary, export, report) but not written"
        if "not a database" in text:
            return "not a phonecoach results store (not an SQLite file)"
        return f"the results store is damaged ({self._integrity() or text}); restore it from a backup"

    def _integrity(self) -> str:
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                rows = db.execute("PRAGMA integrity_check(3)").fetchall()
            finally:
                db.close()
            return "SQLite integrity check: " + "; ".join(r[0] for r in rows)
        except sqlite3.DatabaseError as exc:
            return f"SQLite integrity check: {exc}"

    def close(self) -> None:
        self.db.close()

    # -- hashing -------------------------------------------------------------------------

    def sha256_of(self, path: Path) -> str:
        """The file's content hash, read again only if its size or mtime changed (a live
        session's folder: the hash of its party recordings, in order)."""
        if path.is_dir():
            from ..inputs.audio import session_files

            return hashlib.sha256("".join(self.sha256_of(f) for f in session_files(path)).encode()).hexdigest()
        st = path.stat()
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM seen WHERE path = ?", (str(path.resolve()),)).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        digest = file_sha256(path)
        try:
            self.db.execute("INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?)",
                            (str(path.resolve()), st.st_size, st.st_mtime_ns, digest))
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None
        return digest

    # -- writing -------------------------------------------------------------------------

    def has(self, sha256: str, pack_version: str, model: str) -> bool:
        return self.db.execute("SELECT 1 FROM calls WHERE key = ?",
                               (call_key(sha256, pack_version, model),)).fetchone() is not None

    def save(self, r: CallRecord) -> None:
        """The call and its rule results, in one transaction (whole or not at all)."""
        try:
            self._save(r)
        except sqlite3.DatabaseError as exc:  # a full disk, a read-only file, a damaged page
            raise PhonecoachError(self._why(exc), self.path) from None

    def _save(self, r: CallRecord) -> None:
        results = r.report.results if r.report is not None else []
        agent = r.agent or UNKNOWN_AGENT
        complaint = int(bool(r.report is not None and r.report.complaints))
        week = iso_week(r.started_at)
        with _transaction(self.db):
            old = self.db.execute("SELECT id FROM calls WHERE key = ?", (r.key,)).fetchone()
            if old is not None:
                _forget(self.db, old[0])
            cur = self.db.execute(
                "INSERT INTO calls (key, sha256, pack, model, file, agent, call_id, started_at, week, caller, meta, "
                "score, duration, error, complaint, scored_at, redacted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.key, r.sha256, r.pack_version, r.model, r.file, r.agent, r.call_id, r.started_at, week,
                 self.pseudonym(r.caller) if r.report is not None and r.report.redacted else r.caller,
                 _json(r.meta or {}), r.score, r.duration, r.error, complaint, time.strftime("%Y-%m-%dT%H:%M:%S"),
                 int(r.report is not None and r.report.redacted)))
            call = cur.lastrowid
            self.db.execute("INSERT INTO records VALUES (?,?,?,?)", (
                call, _packed(timeline_to_json(r.timeline) if r.timeline is not None else None),
                _packed(measures_to_json(r.measures)), _packed(_report_json(r.report) if r.report is not None else None)))
            rows = [(call, pos, x.rule.id, x.status, x.rule.severity, _first(x, "start"), _first(x, "evidence"),
                     x.rule.check or None) for pos, x in enumerate(results)]
            self.db.executemany(f"INSERT INTO rule_results ({RESULT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
            _count(self.db, r.pack_version, r.model, agent, complaint, week,
                   [(x.rule.id, x.status, x.rule.severity, x.rule.check or None) for x in results], +1)
            if r.timeline is not None:
                _index_words(self.db, call, r.timeline)
            # the same call scored again keeps what reviewers said of it
            self.db.execute("UPDATE reviews SET call = ? WHERE call_key = ?", (call, r.key))
            self.db.execute("UPDATE disputes SET call = ? WHERE call_key = ?", (call, r.key))
            apply_reviews(self.db, call)

    def pseudonym(self, caller: str | None) -> str | None:
        """A caller's number as a redacted store keeps it: its last four digits to show, and a
        salted, slow digest of the number (PBKDF2, this store's own salt) that calls are matched
        back by (message.callback_4h), so the number itself is not in the file."""
        if not caller or CALLER_KEY in caller:
            return caller
        digits = "".join(c for c in caller if c.isdigit())[-11:]  # +86 138…, 138…: one subscriber
        if not digits:
            return caller
        row = self.db.execute("SELECT value FROM info WHERE key = 'salt'").fetchone()
        if row is None:
            import secrets

            row = (secrets.token_hex(16),)
            self.db.execute("INSERT OR IGNORE INTO info VALUES ('salt', ?)", row)
            row = self.db.execute("SELECT value FROM info WHERE key = 'salt'").fetchone()
        digest = hashlib.pbkdf2_hmac("sha256", digits.encode(), bytes.fromhex(row[0]), CALLER_ROUNDS)[:8].hex()
        return f"{masked_caller(caller)}{CALLER_KEY}{digest}"

    def redact(self, hotlines: tuple[str, ...]) -> int:
        """Mask customers' personal numbers in every call stored without (a store written before
        phonecoach redacted, or with ``[privacy] redact = false``): their timeline, report, rule
        results' evidence and sound index, all in one transaction; verdicts and scores are kept as
        they are. Returns how many calls were redacted."""
        from ..judging.redaction import redact_report

        try:
            with _transaction(self.db):
                todo = [call for (call,) in self.db.execute(
                    "SELECT id FROM calls WHERE redacted = 0 AND error IS NULL ORDER BY id").fetchall()]
                for call in todo:
                    rec = self.call_by_id(call)
                    if rec is None or rec.report is None:
                        continue
                    report = redact_report(rec.report, hotlines)
                    self.db.execute("UPDATE records SET timeline = ?, report = ? WHERE call = ?",
                                    (_packed(timeline_to_json(report.timeline)), _packed(_report_json(report)), call))
                    self.db.executemany("UPDATE rule_results SET evidence = ? WHERE call = ? AND pos = ?",
                                        [(_first(x, "evidence"), call, pos) for pos, x in enumerate(report.results)])
                    self.db.execute("DELETE FROM said WHERE rowid BETWEEN ? AND ?", (4 * call, 4 * call + 3))
                    _index_words(self.db, call, report.timeline)
                    self.db.execute("UPDATE calls SET redacted = 1, caller = ? WHERE id = ?",
                                    (self.pseudonym(rec.caller), call))
                return len(todo)
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    def relocate(self, old: str, new: str) -> int:
        """Re-point the calls stored under the folder ``old`` to ``new`` (an archive that moved);
        returns how many. Only whole path components are replaced."""
        old, new = old.rstrip("/\\"), new.rstrip("/\\")
        try:
            with _transaction(self.db):
                cur = self.db.execute(
                    "UPDATE calls SET file = ? || substr(file, ?) WHERE file = ? OR substr(file, 1, ?) IN (?, ?)",
                    (new, len(old) + 1, old, len(old) + 1, old + "/", old + "\\"))
                return cur.rowcount
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    # -- reading -------------------------------------------------------------------------

    def calls(self, pack_version: str | None = None, model: str | None = None,
              errors: bool = True) -> Iterator[CallRecord]:
        """The stored calls (a damaged page met while reading is named, in one line)."""
        try:
            yield from self._calls(pack_version, model, errors)
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    def _calls(self, pack_version: str | None, model: str | None, errors: bool,
               where: tuple[str, list[Any]] | None = None) -> Iterator[CallRecord]:
        sql, args = ("SELECT c.*, r.timeline, r.measures, r.report FROM calls c LEFT JOIN records r ON r.call = c.id "
                     "WHERE 1=1", [])
        if where is not None:
            sql, args = f"{sql} AND {where[0]}", list(where[1])
        if pack_version is not None:
            sql, args = sql + " AND c.pack = ?", args + [pack_version]
        if model is not None:
            sql, args = sql + " AND c.model = ?", args + [model]
        if not errors:
            sql += " AND c.error IS NULL"
        cur = self.db.execute(sql + " ORDER BY c.file, c.key", args)
        names = [c[0] for c in cur.description]
        for row in cur:
            d = dict(zip(names, row))
            timeline = timeline_from_json(load_json(d["timeline"])) if d["timeline"] else None
            measures = measures_from_json(load_json(d["measures"]))
            report = load_json(d["report"])
            yield CallRecord(d["sha256"], d["pack"], d["model"], d["file"], d["agent"], d["call_id"],
                             d["started_at"], d["caller"], json.loads(d["meta"] or "{}"), d["duration"], d["error"],
                             timeline, measures,
                             CallReport.from_dict(report, timeline or Timeline(), measures) if report else None)

    def query(self, sql: str, args: list[Any]) -> Iterator[tuple]:
        """Rows of a read-only query, streamed (the views aggregate in SQL)."""
        try:
            yield from self.db.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    def call(self, key: str) -> CallRecord | None:
        """One stored call by its key."""
        return next(self._calls(None, None, True, where=("c.key = ?", [key])), None)

    def call_by_id(self, call: int) -> CallRecord | None:
        """One stored call by its id (the served pages' address for it)."""
        return next(self._calls(None, None, True, where=("c.id = ?", [int(call)])), None)

    def models(self, pack_version: str) -> list[str]:
        return [m for (m,) in self.query("SELECT DISTINCT model FROM calls WHERE pack = ? ORDER BY 1", [pack_version])]

    def latest_pack(self) -> tuple[str, str] | None:
        """(pack version, model) of the most recently scored calls: what views show by default."""
        try:
            row = self.db.execute("SELECT pack, model FROM calls ORDER BY scored_at DESC, id DESC LIMIT 1").fetchone()
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None
        return (row[0], row[1]) if row else None


class _transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, exc, tb) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _first(result: RuleResult, field_name: str) -> Any:
    """A field of a result's first occurrence (where a rule was kept or broken)."""
    value = getattr(result.occurrences[0], field_name) if result.occurrences else None
    return round(value, 2) if isinstance(value, float) else value


def _json(x: Any) -> str | None:
    return None if x is None else json.dumps(x, ensure_ascii=False, allow_nan=False)


def _packed(x: Any) -> bytes | None:
    """JSON, zlib-compressed: a call's lossless record in a fifth of the room."""
    return None if x is None else zlib.compress(json.dumps(x, ensure_ascii=False, allow_nan=False).encode(), 6)


def load_json(s: str | bytes | None) -> Any:
    """A stored JSON value: compressed (schema 2) or plain text (written before)."""
    if s is None:
        return None
    return json.loads(zlib.decompress(s) if isinstance(s, bytes) else s)


def _report_json(report: CallReport) -> dict[str, Any]:
    """The report as stored: without what the timeline and measures columns already hold."""
    d = report.to_dict()
    d.pop("utterances", None)
    d.pop("measures", None)
    return d


def iso_week(started_at: str | None) -> str | None:
    """The call's ISO week (2026-W47) in local time, as the views group and filter by it."""
    from ..core.timeline import local_time

    if not started_at:
        return None
    try:
        y, w, _ = local_time(started_at).isocalendar()
    except (ValueError, TypeError):
        return None
    return f"{y}-W{w:02d}"


def sounds(tl: Timeline) -> dict[str, str]:
    """Each party's words as toneless pinyin syllables, for the FTS index (homophones and
    traditional characters sound alike; the matcher confirms a hit on the words)."""
    from ..judging.textmatch import syllables

    out: dict[str, list[str]] = {}
    for u in tl.utterances:
        out.setdefault(u.speaker, []).extend(syllables(u.text))
    return {who: " ".join(s) for who, s in out.items() if s}


SPEAKER_CODES = {"agent": 0, "customer": 1, "unknown": 2}


def _index_words(db: sqlite3.Connection, call: int, tl: Timeline) -> None:
    db.executemany("INSERT INTO said (rowid, sound) VALUES (?,?)",
                   [(4 * call + SPEAKER_CODES.get(who, 3), sound) for who, sound in sounds(tl).items()])


def _default_checks() -> dict[str, str]:
    from ..judging.rulepack import load_pack

    try:
        return {r.id: r.check for r in load_pack(None).rules}
    except PhonecoachError:
        return {}


def _count(db: sqlite3.Connection, pack: str, model: str, agent: str, complaint: int, week: str | None,
           rules: list[tuple[str, str, str | None, str | None]], step: int) -> None:
    """Add (``step`` 1) or take back (-1) one call's rule statuses in the tallies."""
    db.executemany("INSERT INTO tally VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (pack, model, agent, complaint, rule, "
                   "status) DO UPDATE SET n = n + excluded.n",
                   [(pack, model, agent, complaint, rule, status, sev, check, step) for rule, status, sev, check in rules])
    if week is not None:
        db.executemany("INSERT INTO tally_week VALUES (?,?,?,?,?,?) ON CONFLICT (pack, model, week, rule, status) "
                       "DO UPDATE SET n = n + excluded.n", [(pack, model, week, rule, status, step)
                                                              for rule, status, _, _ in rules])
    if step < 0:
        db.execute("DELETE FROM tally WHERE n <= 0")
        db.execute("DELETE FROM tally_week WHERE n <= 0")


RESULT_COLUMNS = "call, pos, rule, status, severity, start, evidence, check_name"


def apply_reviews(db: sqlite3.Connection, call: int) -> None:
    """Make a call's working verdict the reviewed one, inside the caller's transaction: each rule's
    latest review becomes its status (the scorer's kept in ``machine_status``), the tallies move
    with it, and the score is the reviewed score (the scorer's kept in ``machine_score``). So the
    summary, exports, the dashboard and every filter read the verdict the team stands by."""
    latest = {rule: human for rule, human in db.execute(
        "SELECT rule, human FROM reviews WHERE call = ? ORDER BY id", (call,))}
    if not latest:
        return
    row = db.execute("SELECT pack, model, coalesce(agent, ?), complaint, week, score, machine_score FROM calls "
                     "WHERE id = ?", (UNKNOWN_AGENT, call)).fetchone()
    if row is None:
        return
    pack, model, agent, complaint, week, score, machine_score = row
    results = db.execute("SELECT pos, rule, status, severity, check_name, machine_status FROM rule_results "
                         "WHERE call = ? ORDER BY pos", (call,)).fetchall()
    took, gave = [], []
    for pos, rule, status, severity, check, machine in results:
        want = latest.get(rule, machine or status)
        if want == status:
            continue
        took.append((rule, status, severity, check))
        gave.append((rule, want, severity, check))
        db.execute("UPDATE rule_results SET status = ?, machine_status = coalesce(machine_status, ?) "
                   "WHERE call = ? AND pos = ?", (want, status, call, pos))
    if took:
        _count(db, pack, model, agent, complaint, week, took, -1)
        _count(db, pack, model, agent, complaint, week, gave, +1)
    blob = db.execute("SELECT report FROM records WHERE call = ?", (call,)).fetchone()
    rep = load_json(blob[0]) if blob and blob[0] else None
    if rep is None:
        return
    now = {rule: status for _, rule, status, *_ in db.execute(
        "SELECT pos, rule, status FROM rule_results WHERE call = ?", (call,))}
    reviewed = weighted_score((float(r.get("weight") or 0.0), now.get(r["rule"], r["status"]))
                              for r in rep.get("rules", []))
    first = machine_score if machine_score is not None else score
    db.execute("UPDATE calls SET score = ?, machine_score = ? WHERE id = ?",
               (reviewed, first if reviewed != first else None, call))


def _forget(db: sqlite3.Connection, call: int) -> None:
    """Remove a stored call (a re-save replaces it): its records, results, words and tallies."""
    pack, model, agent, complaint, week = db.execute(
        "SELECT pack, model, coalesce(agent, ?), complaint, week FROM calls WHERE id = ?", (UNKNOWN_AGENT, call)).fetchone()
    rules = db.execute("SELECT rule, status, severity, check_name FROM rule_results WHERE call = ?", (call,)).fetchall()
    _count(db, pack, model, agent, complaint, week, rules, -1)
    db.execute("DELETE FROM rule_results WHERE call = ?", (call,))
    db.execute("DELETE FROM records WHERE call = ?", (call,))
    db.execute("DELETE FROM said WHERE rowid BETWEEN ? AND ?", (4 * call, 4 * call + 3))
    db.execute("DELETE FROM calls WHERE id = ?", (call,))



def recount_tallies(db: sqlite3.Connection) -> None:
    """Count the tallies again from the rule results (after rows were written by other means)."""
    db.execute("DELETE FROM tally")
    db.execute("DELETE FROM tally_week")
    db.execute(f"""INSERT INTO tally SELECT c.pack, c.model, coalesce(c.agent, '{UNKNOWN_AGENT}'), c.complaint, r.rule,
                   r.status, max(r.severity), max(r.check_name), count(*) FROM rule_results r JOIN calls c ON c.id = r.call
                   GROUP BY 1, 2, 3, 4, 5, 6""")
    db.execute("""INSERT INTO tally_week SELECT c.pack, c.model, c.week, r.rule, r.status, count(*)
                  FROM rule_results r JOIN calls c ON c.id = r.call WHERE c.week IS NOT NULL GROUP BY 1, 2, 3, 4, 5""")

def _statements(script: str) -> list[str]:
    """The statements of a script (a semicolon inside a comment does not end one)."""
    out, part = [], ""
    for line in script.splitlines(keepends=True):
        part += line
        if sqlite3.complete_statement(part):
            out.append(part)
            part = ""
    return out


def migrate(db: sqlite3.Connection) -> None:
    """Make the tables (a new store) or bring a store written by an older phonecoach up to this
    schema, inside the caller's transaction. Schema 1 kept the JSON plainly in the calls rows and
    keyed results by the text key: its rows are moved into today's tables, the JSON compressed,
    the words indexed, the tallies counted. A store already current is left alone."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    columns = {r[1] for r in db.execute("PRAGMA table_info(calls)")} if "calls" in tables else set()
    old = "calls" in tables and "id" not in columns
    if old:
        db.execute("ALTER TABLE calls RENAME TO calls_v1")
        db.execute("ALTER TABLE rule_results RENAME TO rule_results_v1")
        for index in ("calls_sha", "calls_agent"):
            db.execute(f"DROP INDEX IF EXISTS {index}")
    if "calls" in tables and not old and "redacted" not in columns:  # schema 2: before stores said so
        db.execute("ALTER TABLE calls ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0")
    if "calls" in tables and not old and "machine_score" not in columns:  # schema 3: before reviews
        db.execute("ALTER TABLE calls ADD COLUMN machine_score REAL")
        db.execute("ALTER TABLE rule_results ADD COLUMN machine_status TEXT")
    for statement in _statements(SCHEMA):
        db.execute(statement)
    if not old:
        return
    known = _default_checks()  # reports from before they named their checks: the pack's own rules
    rows = db.execute("SELECT key, sha256, pack, model, file, agent, call_id, started_at, caller, meta, score, "
                      "duration, error, scored_at, timeline, measures, report FROM calls_v1 ORDER BY rowid").fetchall()
    for (key, sha, pack, model, file, agent, call_id, started_at, caller, meta, score, duration, error, scored_at,
         timeline, measures, report) in rows:
        rep = load_json(report)
        checks = {r["rule"]: r.get("check") or known.get(r["rule"], "") for r in (rep or {}).get("rules", [])}
        complaint = int(bool(rep and (rep.get("complaints") or any(
            checks.get(r["rule"]) == "after_complaint" and r.get("status") != "not_applicable"
            for r in rep.get("rules", [])))))
        if rep is not None:
            rep.pop("utterances", None)
            rep.pop("measures", None)
        week = iso_week(started_at)
        call = db.execute("INSERT INTO calls (key, sha256, pack, model, file, agent, call_id, started_at, week, caller, "
                          "meta, score, duration, error, complaint, scored_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          (key, sha, pack, model, file, agent, call_id, started_at, week, caller, meta, score, duration,
                           error, complaint, scored_at)).lastrowid
        db.execute("INSERT INTO records VALUES (?,?,?,?)", (call, _packed(load_json(timeline)),
                                                             _packed(load_json(measures)), _packed(rep)))
        results = db.execute("SELECT rule, status, severity, start, evidence FROM rule_results_v1 WHERE key = ? "
                             "ORDER BY rowid", (key,)).fetchall()
        db.executemany(f"INSERT INTO rule_results ({RESULT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                       [(call, pos, rule, status, sev, start, ev, checks.get(rule) or None)
                        for pos, (rule, status, sev, start, ev) in enumerate(results)])
        _count(db, pack, model, agent or UNKNOWN_AGENT, complaint, week,
               [(rule, status, sev, checks.get(rule) or None) for rule, status, sev, _, _ in results], +1)
        if timeline:
            _index_words(db, call, timeline_from_json(load_json(timeline)))
    db.execute("DROP TABLE rule_results_v1")
    db.execute("DROP TABLE calls_v1")


def pack_version(path: Path) -> str:
    """The rule pack's version: the first 16 hex digits of its file's sha256."""
    return file_sha256(Path(path))[:16]


def model_id(model_path: str | None) -> str:
    """The model's name as the store keys it (its folder name), or how the words were had."""
    if not model_path:
        return "reference-transcript"
    p = Path(model_path).resolve()
    return p.name if p.name != "model" else f"{p.parent.name}/{p.name}"  # a package's model/ folder

