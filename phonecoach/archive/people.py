"""The people who use ``serve`` on a store, and which calls each may see.

A QA team is reviewers (``qa``: every call), supervisors (the agents of their team), agents
(their own calls only, by the calls' agent field) and an ``admin``. They live in the store they
work on, so a copied store carries its team. Passwords are kept only as scrypt hashes
(``hashlib.scrypt``, OpenSSL's implementation; a per-user salt; n=2^14, r=8, p=1, about 50 ms a
check, which is what makes a guessed password list slow), compared in constant time, never
logged or shown.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from ..core.errors import PhonecoachError

ROLES = ("admin", "supervisor", "qa", "agent")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
MIN_PASSWORD = 8
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    agent: str | None = None  # for an agent: the calls' agent field that is theirs
    team: str | None = None  # for a supervisor and their agents

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "qa")

    @property
    def reviews(self) -> bool:
        """May mark verdicts and settle disputes."""
        return self.role in ("admin", "qa")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY = hash_password(secrets.token_hex(8))  # checked for unknown names, so timing tells nothing


def _valid(name: str, role: str, agent: str | None, team: str | None, password: str | None) -> None:
    if not _NAME.fullmatch(name or ""):
        raise PhonecoachError(f"user name {name!r}: 1-64 letters, digits, _ . @ -")
    if role not in ROLES:
        raise PhonecoachError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "agent" and not agent:
        raise PhonecoachError(f"user {name}: an agent needs --agent (the agent field of their calls)")
    if role == "supervisor" and not team:
        raise PhonecoachError(f"user {name}: a supervisor needs --team")
    if password is not None and len(password) < MIN_PASSWORD:
        raise PhonecoachError(f"user {name}: a password of at least {MIN_PASSWORD} characters")


def add_user(db: sqlite3.Connection, name: str, role: str, password: str, agent: str | None = None,
             team: str | None = None) -> User:
    _valid(name, role, agent, team, password)
    try:
        db.execute("INSERT INTO users VALUES (?,?,?,?,?,?)",
                   (name, role, agent or None, team or None, hash_password(password), time.strftime("%Y-%m-%dT%H:%M:%S")))
    except sqlite3.IntegrityError:
        raise PhonecoachError(f"user {name} already exists (passwd changes a password)") from None
    return User(name, role, agent or None, team or None)


def set_password(db: sqlite3.Connection, name: str, password: str) -> None:
    user = get_user(db, name)
    if user is None:
        raise PhonecoachError(f"no user {name}")
    _valid(name, user.role, user.agent, user.team, password)
    db.execute("UPDATE users SET password = ? WHERE name = ?", (hash_password(password), name))


def remove_user(db: sqlite3.Connection, name: str) -> None:
    if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
        raise PhonecoachError(f"no user {name}")


def get_user(db: sqlite3.Connection, name: str) -> User | None:
    row = db.execute("SELECT name, role, agent, team FROM users WHERE name = ?", (name,)).fetchone()
    return User(*row) if row else None


def list_users(db: sqlite3.Connection) -> list[User]:
    return [User(*r) for r in db.execute("SELECT name, role, agent, team FROM users ORDER BY role, name")]


def has_users(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None


def authenticate(db: sqlite3.Connection, name: str, password: str) -> User | None:
    row = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
    ok = check_password(password, row[0] if row else _DUMMY)
    return get_user(db, name) if ok and row else None


def visible_agents(db: sqlite3.Connection, user: User) -> tuple[str, ...] | None:
    """The agents whose calls ``user`` may see: None for every call (qa, admin)."""
    if user.sees_all:
        return None
    if user.role == "agent":
        return (user.agent,) if user.agent else ()
    return tuple(a for (a,) in db.execute(
        "SELECT DISTINCT agent FROM users WHERE role = 'agent' AND team = ? AND agent IS NOT NULL ORDER BY 1",
        (user.team,)))
