"""``live --publish redis://…``: this session on the floor's Redis Stream.

A sink like the others, and never in the audio path's way: ``__call__`` only appends to a
bounded buffer; a background thread sends what is buffered (one pipeline of XADDs per
round), reconnects with back-off when Redis is away, and sends what waited once it is back,
in order. If the buffer fills while Redis is down, the oldest entries go and are counted.
Each XADD trims the stream to ``keep_hours`` (MINID), so Redis memory stays bounded.

Entries: ``kind`` (start | warning | score | end, and shift around a shift's calls), ``session``, ``at`` (epoch seconds) and
``data`` (JSON). The running score is 100 less the weight of the rules broken so far, out of
all the pack's rules: what the call would score if it ended now with every other rule kept.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from ..core.alerts import LiveWarning
from ..core.verdict import weighted_score

STREAM_PREFIX = "phonecoach:floor:"
BUFFER = 10_000  # entries held while Redis is away (a session makes a few hundred an hour)
SCORE_EVERY = 5.0  # seconds between running-score entries
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)  # seconds between reconnection attempts


def stream_key(floor: str) -> str:
    return STREAM_PREFIX + floor


class RedisPublisher:
    def __init__(self, url: str, session: str, weights: dict[str, float], floor: str = "default",
                 keep_hours: float = 24.0, buffer: int = BUFFER, score_every: float = SCORE_EVERY) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                           health_check_interval=10)
        self.url_shown = _without_password(url)
        self.key = stream_key(floor)
        self.session = session
        self.weights = weights
        self.keep_ms = int(keep_hours * 3600 * 1000)
        self.buffer: deque[dict[str, Any]] = deque()
        self.capacity = buffer
        self.score_every = score_every
        self.sent = self.dropped = self.reconnects = 0
        self.broken: set[str] = set()  # the rules broken so far (withdrawn ones taken back)
        self.warnings = 0
        self.call: str | None = None  # in a shift: the call in progress
        self._last_score = time.monotonic()
        self._cond = threading.Condition()  # re-entrant: the sender may add the running score while holding it
        self._closing = False
        self._thread = threading.Thread(target=self._send_loop, name="publish", daemon=True)

    # -- what the session says ----------------------------------------------------------------

    def start(self, info: dict[str, Any]) -> None:
        self._put("start", info)
        self._thread.start()

    def __call__(self, w: LiveWarning) -> None:
        before = set(self.broken)
        if w.call is not None and w.call != self.call:  # a shift's last call finishing: not this call's score
            self._put("warning", w.to_dict())
            return
        if w.kind == "event":  # a notice (the caller complains), not a broken rule
            pass
        elif w.status == "withdrawn":
            self.broken.discard(w.rule)
        else:
            self.broken.add(w.rule)
        self.warnings += 1
        self._put("warning", w.to_dict())
        if self.broken != before:  # the score moved: say so now, not at the next tick
            self.score()

    def running_score(self) -> float:
        """The report's score if the call ended now with every rule not yet broken kept."""
        score = weighted_score((w, "fail" if r in self.broken else "pass") for r, w in self.weights.items())
        return 100.0 if score is None else score

    def score(self) -> None:
        self._last_score = time.monotonic()
        data: dict[str, Any] = {"score": self.running_score(), "warnings": self.warnings}
        if self.call is not None:
            data["call"] = self.call
        self._put("score", data)

    def end(self, summary: dict[str, Any]) -> None:
        self._put("end", summary)

    # -- a shift: many calls, one publisher ----------------------------------------------------

    def open_shift(self, info: dict[str, Any]) -> None:
        """The shift begins (the agent is idle until the first call starts)."""
        self._put("shift", {**info, "state": "started"})
        self._thread.start()

    def call_start(self, info: dict[str, Any]) -> None:
        """A call of the shift begins: its running score starts again from 100."""
        with self._cond:
            self.broken, self.warnings, self.call = set(), 0, info.get("call")
        self._put("start", info)

    def close_shift(self, summary: dict[str, Any]) -> None:
        self._put("shift", {**summary, "state": "ended"})

    def close(self, timeout: float = 10.0) -> dict[str, Any]:
        """Send what is left (waiting up to ``timeout`` s for Redis), stop, and say how it went."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        with self._cond:
            left = len(self.buffer)
        return {"sent": self.sent, "dropped": self.dropped, "unsent": left, "reconnects": self.reconnects}

    # -- the sender ---------------------------------------------------------------------------

    def _put(self, kind: str, data: dict[str, Any]) -> None:
        entry = {"kind": kind, "session": self.session, "at": f"{time.time():.3f}",
                 "data": json.dumps(data, ensure_ascii=False)}
        with self._cond:
            if len(self.buffer) >= self.capacity:
                self.buffer.popleft()
                self.dropped += 1
            self.buffer.append(entry)
            self._cond.notify()

    def _send_loop(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self.buffer and not self._closing:
                    due = self._last_score + self.score_every - time.monotonic()
                    if due <= 0:
                        self.score()  # the running score every few seconds: the floor also sees the session is alive
                    else:
                        self._cond.wait(min(1.0, due))
                if not self.buffer:
                    return
                batch = [self.buffer.popleft() for _ in range(min(500, len(self.buffer)))]
            try:
                pipe = self.client.pipeline(transaction=False)
                minid = int(time.time() * 1000) - self.keep_ms
                for entry in batch:
                    pipe.xadd(self.key, entry, minid=minid, approximate=True)
                pipe.execute()
            except Exception:  # noqa: BLE001 - Redis away: the entries go back in front, in order
                with self._cond:
                    self.buffer.extendleft(reversed(batch))
                    while len(self.buffer) > self.capacity:  # what came in meanwhile pushed the oldest out
                        self.buffer.popleft()
                        self.dropped += 1
                time.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
                continue
            if failures:
                self.reconnects += 1
            failures = 0
            self.sent += len(batch)


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
