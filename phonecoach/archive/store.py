"""The results store: one SQLite file a QA team keeps for weeks.

A call is keyed by what decides its verdict: the audio's content (sha256), the rule pack's
version (the sha256 of its file) and the speech model. So a re-run skips what is done, a
renamed or moved file is not scored twice, a rule change gives new rows beside the old ones
(``--rescore`` re-judges the stored timelines and measures without the recogniser), and a
run killed at any moment resumes where it stopped: each call is saved in one transaction,
in WAL mode, so a call is either stored whole or not at all.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..core.errors import PhonecoachError
from ..core.measured import Measures
from ..core.timeline import Timeline
from ..core.verdict import CallReport, RuleResult
from .serial import measures_from_json, measures_to_json, timeline_from_json, timeline_to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,             -- sha256 / pack / model
    sha256 TEXT NOT NULL,
    pack TEXT NOT NULL,
    model TEXT NOT NULL,
    file TEXT NOT NULL,
    agent TEXT,
    call_id TEXT,
    started_at TEXT,
    caller TEXT,
    meta TEXT NOT NULL DEFAULT '{}',  -- the manifest's other columns, JSON
    score REAL,
    duration REAL,
    error TEXT,                       -- one line; NULL when scored
    timeline TEXT,                    -- lossless JSON (serial.py)
    measures TEXT,
    report TEXT,                      -- the report as 'score --json' gives it
    scored_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_sha ON calls(sha256);
CREATE INDEX IF NOT EXISTS calls_agent ON calls(agent);
CREATE TABLE IF NOT EXISTS rule_results (
    key TEXT NOT NULL REFERENCES calls(key) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    status TEXT NOT NULL,             -- pass | fail | not_applicable
    severity TEXT,
    start REAL,
    evidence TEXT,
    PRIMARY KEY (key, rule)
);
CREATE TABLE IF NOT EXISTS seen (       -- content hashes of files already read, by size and mtime
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
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
SCHEMA_VERSION = 1  # PRAGMA user_version; a store from a newer phonecoach is refused, not rewritten
_OUR_TABLES = {"calls", "rule_results", "seen"}


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
            if not readonly:
                # the tables and the id in one transaction: a reader never finds the file without them
                self.db.executescript(f"BEGIN; {SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                                      f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
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
        """The file's content hash, read again only if its size or mtime changed."""
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
        with _transaction(self.db):
            self.db.execute("DELETE FROM rule_results WHERE key = ?", (r.key,))
            self.db.execute(
                "INSERT OR REPLACE INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (r.key, r.sha256, r.pack_version, r.model, r.file, r.agent, r.call_id, r.started_at, r.caller,
                 _json(r.meta or {}), r.score, r.duration, r.error,
                 _json(timeline_to_json(r.timeline) if r.timeline is not None else None),
                 _json(measures_to_json(r.measures)),
                 _json(r.report.to_dict() if r.report is not None else None), time.strftime("%Y-%m-%dT%H:%M:%S")))
            self.db.executemany("INSERT INTO rule_results VALUES (?,?,?,?,?,?)",
                                [(r.key, x.rule.id, x.status, x.rule.severity, _first(x, "start"), _first(x, "evidence"))
                                 for x in results])

    # -- reading -------------------------------------------------------------------------

    def calls(self, pack_version: str | None = None, model: str | None = None,
              errors: bool = True) -> Iterator[CallRecord]:
        """The stored calls (a damaged page met while reading is named, in one line)."""
        try:
            yield from self._calls(pack_version, model, errors)
        except sqlite3.DatabaseError as exc:
            raise PhonecoachError(self._why(exc), self.path) from None

    def _calls(self, pack_version: str | None, model: str | None, errors: bool) -> Iterator[CallRecord]:
        sql, args = "SELECT * FROM calls WHERE 1=1", []
        if pack_version is not None:
            sql, args = sql + " AND pack = ?", args + [pack_version]
        if model is not None:
            sql, args = sql + " AND model = ?", args + [model]
        if not errors:
            sql += " AND error IS NULL"
        cur = self.db.execute(sql + " ORDER BY file, key", args)
        names = [c[0] for c in cur.description]
        for row in cur:
            d = dict(zip(names, row))
            timeline = timeline_from_json(_load(d["timeline"])) if d["timeline"] else None
            measures = measures_from_json(_load(d["measures"]))
            report = _load(d["report"])
            yield CallRecord(d["sha256"], d["pack"], d["model"], d["file"], d["agent"], d["call_id"],
                             d["started_at"], d["caller"], json.loads(d["meta"] or "{}"), d["duration"], d["error"],
                             timeline, measures,
                             CallReport.from_dict(report, timeline or Timeline(), measures) if report else None)

    def latest_pack(self) -> tuple[str, str] | None:
        """(pack version, model) of the most recently scored calls: what views show by default."""
        try:
            row = self.db.execute("SELECT pack, model FROM calls ORDER BY scored_at DESC, rowid DESC LIMIT 1").fetchone()
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


def _load(s: str | None) -> Any:
    return None if s is None else json.loads(s)


def pack_version(path: Path) -> str:
    """The rule pack's version: the first 16 hex digits of its file's sha256."""
    return file_sha256(Path(path))[:16]


def model_id(model_path: str | None) -> str:
    """The model's name as the store keys it (its folder name), or how the words were had."""
    if not model_path:
        return "reference-transcript"
    p = Path(model_path).resolve()
    return p.name if p.name != "model" else f"{p.parent.name}/{p.name}"  # a package's model/ folder

