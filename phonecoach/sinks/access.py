"""Who is asking, for ``serve``: a script's token, a signed-in person, or nobody.

A store with users asks everyone to sign in: the session is Starlette's signed cookie
(itsdangerous; HttpOnly, SameSite=Strict, Secure under TLS), carrying the user's name, a
fingerprint of their password hash (so a changed password or a removed user ends every
session at once) and the session's CSRF token, which every form must send back. Failed
sign-ins are counted per user name and per address; past ``MAX_FAILURES`` (a name) or
``MAX_ADDRESS_FAILURES`` (an address) in ``WINDOW`` seconds the next is refused unchecked (429), so a password cannot be guessed at speed. The
``--token`` still opens everything to scripts and ``/api`` (read only: a review needs a person).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..archive.people import User

MAX_FAILURES = 5  # per user name
MAX_ADDRESS_FAILURES = 20  # per address: several people may sign in from one office's address
WINDOW = 300.0  # seconds
SESSION_SECONDS = 8 * 3600  # a working day


@dataclass(frozen=True)
class Viewer:
    """The one asking: ``user`` signed in, or None with ``via_token`` (a script) or in a store
    without users (everyone sees everything, as before people were added)."""

    user: User | None = None
    via_token: bool = False

    @property
    def name(self) -> str:
        return self.user.name if self.user else ("token" if self.via_token else "anyone")


def fingerprint(password_hash: str) -> str:
    """What a session keeps of the password hash: enough to notice it changed, nothing to crack."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def token_matches(given: str, token: str | None) -> bool:
    return bool(token) and bool(given) and hmac.compare_digest(given.encode(), token.encode())


def csrf_of(session: dict) -> str:
    """The session's CSRF token, made the first time a form is shown."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def csrf_ok(session: dict, sent: str | None) -> bool:
    want = session.get("csrf")
    return bool(want) and bool(sent) and hmac.compare_digest(str(sent).encode(), str(want).encode())


def safe_next(url: str | None) -> str:
    """Where to go after signing in: a path on this site only (no //other.host, no scheme)."""
    url = (url or "/").strip()
    if not url.startswith("/") or url.startswith("//") or "\\" in url or any(ord(c) < 32 for c in url):
        return "/"
    return url


class SignInLimiter:
    """Failed sign-ins per address and per user name, in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW,
                 max_address_failures: int = MAX_ADDRESS_FAILURES) -> None:
        self.max, self.max_address, self.window = max_failures, max_address_failures, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def wait(self, address: str, name: str, now: float | None = None) -> float:
        """Seconds until another try is allowed (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [self.window - (now - q[0]) for q, most in ((self._recent(f"a:{address}", now), self.max_address),
                                                                (self._recent(f"u:{name}", now), self.max))
                     if len(q) >= most]
        return max(waits, default=0.0)

    def failed(self, address: str, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in (f"a:{address}", f"u:{name}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # a flood of names: forget the oldest
                for key in list(self._failures)[:50_000]:
                    self._failures.pop(key, None)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{name}", None)
