"""Call boundaries the phone system knows: marks from a softphone or CTI script.

Two ways in, one inbox: lines on stdin (``start [call_id] [caller]``, ``end``; ``NAME start …`` when one process runs
several agents' shifts) and a local HTTP endpoint (``POST /start``, ``POST /end`` with an
optional JSON body ``{"call_id", "caller", "at", "session"}``; ``GET /status``). A mark applies where the shift's audio is when it
arrives, or at ``at`` (seconds into the shift) when the script knows better; marks win over
boundaries heard in the audio.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, TextIO

FIELD_MAX = 128  # a call id or caller longer than this is not one


@dataclass(frozen=True)
class CallMark:
    kind: str  # "start" | "end"
    call_id: str | None = None
    caller: str | None = None
    at: float | None = None  # seconds into the shift; None: where the audio is now


def parse_mark(line: str) -> CallMark:
    """``start [call_id] [caller] [at=SECONDS]`` or ``end [at=SECONDS]``; ValueError otherwise."""
    words = line.split()
    if not words or words[0].lower() not in ("start", "end"):
        raise ValueError(f"not a mark (start [call_id] [caller] | end): {line.strip()[:80]!r}")
    at = None
    rest = []
    for w in words[1:]:
        if w.lower().startswith("at="):
            at = _seconds(w[3:])
        else:
            rest.append(w)
    kind = words[0].lower()
    if kind == "end" and rest:
        raise ValueError("'end' takes no call id")
    if len(rest) > 2:
        raise ValueError("start takes at most a call id and a caller")
    return make_mark(kind, *(rest + [None, None])[:2], at=at)


def make_mark(kind: str, call_id: Any = None, caller: Any = None, at: Any = None) -> CallMark:
    for name, value in (("call_id", call_id), ("caller", caller)):
        if value is not None and (not isinstance(value, (str, int)) or isinstance(value, bool)
                                  or len(str(value)) > FIELD_MAX or not str(value).isprintable()):
            raise ValueError(f"{name} must be a short printable text")
    return CallMark(kind, None if call_id is None else str(call_id), None if caller is None else str(caller),
                    None if at is None else _seconds(at))


def _seconds(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"at={value!r} is not a number of seconds") from None
    if isinstance(value, bool) or not math.isfinite(x) or x < 0:
        raise ValueError(f"at={value!r} must be a finite number of seconds, 0 or more")
    return x


class MarkInbox:
    """Marks in arrival order, taken by the shift as its audio reaches them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._marks: list[CallMark] = []
        self.received = 0

    def put(self, mark: CallMark) -> None:
        with self._lock:
            self._marks.append(mark)
            self.received += 1

    def due(self, upto: float) -> list[CallMark]:
        """The marks to apply before audio past ``upto``: those at or before it, and those with
        no time; a timed mark waits (and the marks after it with it, to keep their order)."""
        with self._lock:
            out = []
            while self._marks and (self._marks[0].at is None or self._marks[0].at < upto):
                out.append(self._marks.pop(0))
            return out


def route(inboxes: dict[str, MarkInbox], session: Any) -> MarkInbox:
    """The inbox a mark goes to: the only one, or the session it names (ValueError otherwise)."""
    if session is None and len(inboxes) == 1:
        return next(iter(inboxes.values()))
    if session is None:
        raise ValueError(f"name the session first ({', '.join(sorted(inboxes))[:200]})")
    if not isinstance(session, str) or session not in inboxes:
        raise ValueError(f"no session {str(session)[:64]!r} in this process")
    return inboxes[session]


def read_marks(stream: TextIO, inboxes: dict[str, MarkInbox], on_error: Callable[[str], None]) -> threading.Thread:
    """Read marks from ``stream`` (stdin) on a thread until it closes: ``start …`` / ``end``, or
    with several sessions ``NAME start …``; a bad line is reported and skipped."""
    def run() -> None:
        try:
            for line in stream:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    first, _, rest = line.strip().partition(" ")
                    named = len(inboxes) > 1
                    inbox = route(inboxes, first if named else None)
                    inbox.put(parse_mark(rest if named else line))
                except ValueError as exc:
                    on_error(f"stdin: {exc}")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            on_error(f"stdin: marks no longer read: {exc}")

    t = threading.Thread(target=run, name="marks-stdin", daemon=True)
    t.start()
    return t


class ControlEndpoint:
    """``POST /start`` and ``POST /end`` (JSON body optional), ``GET /status``. Binds
    127.0.0.1 unless given a token (then every request needs it: ``?token=`` or
    ``Authorization: Bearer``), like every phonecoach server."""

    def __init__(self, inboxes: dict[str, MarkInbox], status: Callable[[], dict], host: str = "127.0.0.1",
                 port: int = 0, token: str | None = None) -> None:
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from ..sinks.web import WebServer

        async def mark(request):
            kind = request.url.path.strip("/")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                unknown = set(body) - {"call_id", "caller", "at", "session"}
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                if kind == "end" and (body.get("call_id") or body.get("caller")):
                    raise ValueError("'end' takes no call id")
                m = make_mark(kind, body.get("call_id"), body.get("caller"), body.get("at"))
                inbox = route(inboxes, body.get("session"))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            inbox.put(m)
            return JSONResponse({"accepted": kind, "call_id": m.call_id, "caller": m.caller, "at": m.at})

        async def state(request):
            return JSONResponse(status())

        app = Starlette(routes=[Route("/start", mark, methods=["POST"]), Route("/end", mark, methods=["POST"]),
                                Route("/status", state)])
        self.server = WebServer(app, host, port, token)
        self.address = self.server.address

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
