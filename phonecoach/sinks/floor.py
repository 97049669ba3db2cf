"""``phonecoach floor``: every live session of a floor on one page, read from Redis.

Sessions publish to a Redis Stream (``live --publish``, live/publish.py). The floor reads the
stream's history at start (a page opened mid-shift sees the shift so far), then follows new
entries (XREAD BLOCK), keeps each agent's state, and serves it on the same web stack as the
single-session feed (web.py): ``/`` the page, ``/agents`` the floor as JSON, ``/agents/NAME``
one agent's call so far, ``/events`` every change as Server-Sent Events (a snapshot first).
Redis going away only pauses it: the reader retries with back-off and carries on from the
last entry it saw. It also trims the stream to ``keep_hours``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.alerts import COMPLAINT_NOTICE
from .publish import BACKOFF, stream_key
from .templating import render
from .web import Hub, WebServer, sse

RECENT = 50  # newest warnings across the floor, on the page
CALL_WARNINGS = 500  # warnings kept per agent's current call
CALLS_SEEN = 200  # ids of an agent's last calls whose start the floor saw (to know an earlier call's entries)


@dataclass
class Agent:
    name: str
    on_call: bool = False
    started_at: float | None = None  # epoch seconds, the current (or last) call's start
    ended_at: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    warnings: deque = field(default_factory=lambda: deque(maxlen=CALL_WARNINGS))
    by_severity: dict[str, int] = field(default_factory=dict)
    count: int = 0
    score: float | None = None
    final: dict[str, Any] | None = None
    upset_since: float | None = None  # call audio time the caller first complained (this call)
    shift: dict[str, Any] | None = None  # in a shift: started_at, ended, calls, scores (finished calls)
    calls_seen: deque = field(default_factory=lambda: deque(maxlen=CALLS_SEEN))  # ids of calls whose start came

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        now = now or time.time()
        end = now if self.on_call else (self.ended_at or now)
        return {"name": self.name, "on_call": self.on_call, "started_at": self.started_at,
                "call_seconds": round(end - self.started_at, 1) if self.started_at else None,
                "warnings": self.count, "by_severity": dict(self.by_severity), "score": self.score,
                "last_warning": self.warnings[-1] if self.warnings else None, "final": self.final,
                "devices": self.info.get("devices"), "upset": self.upset_since is not None,
                "upset_since": self.upset_since, "shift": self._shift()}

    def _shift(self) -> dict[str, Any] | None:
        if self.shift is None:
            return None
        scores = self.shift["scores"]
        return {"started_at": self.shift["started_at"], "ended": self.shift["ended"], "calls": self.shift["calls"],
                "mean_score": round(sum(scores) / len(scores), 1) if scores else None}


class FloorState:
    """What the stream says about each agent. Pure: entries in, state out (tested alone)."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.recent: deque = deque(maxlen=RECENT)
        self.last_id = "0-0"
        self.entries = 0
        self.skipped = 0  # entries that were not ours to read (bad bytes, wrong shape, NaN)

    def apply(self, entry_id: str | bytes, fields: dict) -> dict[str, Any] | None:
        """Take one stream entry; return the change to send to pages (None if not ours). The
        stream is shared by every agent's PC: an entry that is not UTF-8, not a JSON object, or
        carries a time or score that is not a finite number is skipped and counted, never fatal."""
        self.last_id = entry_id.decode("ascii") if isinstance(entry_id, bytes) else entry_id
        try:
            fields = {_text(k): _text(v) for k, v in fields.items()}
        except UnicodeDecodeError:
            self.skipped += 1
            return None
        kind, name = fields.get("kind"), fields.get("session")
        if not kind or not name:
            return None
        try:
            data = json.loads(fields.get("data") or "{}", parse_constant=_no_constant)
            at = float(fields.get("at") or 0.0)
            if not isinstance(data, dict) or not math.isfinite(at):
                raise ValueError("wrong shape")
            if kind in ("score", "end") and data.get("score") is not None:
                score = data["score"]
                if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                    raise ValueError("score is not a number")
        except (ValueError, TypeError):
            self.skipped += 1
            return None
        self.entries += 1
        agent = self.agents.setdefault(name, Agent(name))
        if kind == "start":
            agent.on_call, agent.started_at, agent.ended_at, agent.info = True, at, None, data
            if data.get("call") is not None:
                agent.calls_seen.append(data["call"])
            agent.warnings.clear()
            agent.by_severity, agent.count, agent.score, agent.final = {}, 0, 100.0, None
            agent.upset_since = None
        elif kind == "warning" and _earlier_call(agent, data):  # a shift's last call finishing its report
            data = {**data, "session": name, "at": at}
            self.recent.append(data)
        elif kind == "warning" and data.get("kind") == "event":  # a notice: the caller complains
            data = {**data, "session": name, "at": at}
            agent.warnings.append(data)
            self.recent.append(data)
            if data.get("rule") == COMPLAINT_NOTICE and agent.upset_since is None:
                start = data.get("start", data.get("t_audio"))
                agent.upset_since = float(start) if isinstance(start, (int, float)) and math.isfinite(start) else 0.0
        elif kind == "warning":
            data = {**data, "session": name, "at": at}
            agent.warnings.append(data)
            agent.count += 1
            sev = str(data.get("severity", ""))
            agent.by_severity[sev] = agent.by_severity.get(sev, 0) + 1
            self.recent.append(data)
        elif kind == "score":
            # the running score of the call in progress; once a call has ended its report's score
            # stands (the publisher's clock can still send a running one after the end)
            if agent.on_call and not _earlier_call(agent, data):
                agent.score = data.get("score")
        elif kind == "end":
            if not _earlier_call(agent, data):  # a call's report can come after the next call began
                agent.on_call, agent.ended_at, agent.final = False, at, data
                if data.get("score") is not None:
                    agent.score = data["score"]
            if agent.shift is not None and not agent.shift["ended"]:
                agent.shift["calls"] += 1
                if data.get("score") is not None:
                    agent.shift["scores"].append(float(data["score"]))
        elif kind == "shift":  # a shift of many calls starts or ends; between calls the agent is idle
            if data.get("state") == "started":
                agent.shift = {"started_at": at, "ended": False, "calls": 0, "scores": []}
                agent.on_call = False
            elif agent.shift is not None:
                agent.shift["ended"] = True
                agent.on_call = False
        else:
            return None
        return {"kind": kind, "id": self.last_id, "at": at, "data": data, "agent": agent.to_dict()}

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        return {"kind": "snapshot", "agents": [a.to_dict(now) for a in sorted(self.agents.values(),
                                                                             key=lambda a: a.name)],
                "recent": list(self.recent), "skipped": self.skipped}


def _earlier_call(agent: Agent, data: dict) -> bool:
    """In a shift: the entry belongs to a call that began before the one the agent is on now (or
    was on last): its report can finish after the next call's has, the events come through
    Redis each on its own. A call whose start the floor never saw is taken as the latest."""
    call, current = data.get("call"), agent.info.get("call")
    return call is not None and current is not None and call != current and call in agent.calls_seen


def _text(x: str | bytes) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else x


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class FloorView:
    """The floor's web app and its Redis reader, on the shared web stack."""

    def __init__(self, redis_url: str, floor: str = "default", host: str = "127.0.0.1", port: int = 8766,
                 token: str | None = None, tls_cert: Path | None = None, tls_key: Path | None = None,
                 keep_hours: float = 24.0) -> None:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, JSONResponse
        from starlette.routing import Route

        self.redis_url, self.key, self.keep_ms = redis_url, stream_key(floor), int(keep_hours * 3600 * 1000)
        self.floor = floor
        self.state = FloorState()
        self.hub = Hub(keep=0)
        self.caught_up = False

        async def page(request):
            return HTMLResponse(render("floor.html.j2", floor=self.floor, nonce=secrets.token_urlsafe(16)))

        async def agents(request):
            now = time.time()
            return JSONResponse([a.to_dict(now) for a in sorted(self.state.agents.values(), key=lambda a: a.name)])

        async def agent(request):
            a = self.state.agents.get(request.path_params["name"])
            if a is None:
                return JSONResponse({"error": "no such agent"}, status_code=404)
            return JSONResponse({**a.to_dict(), "call_warnings": list(a.warnings)})

        async def events(request):
            return sse(self.hub.subscribe(first=lambda: [self.state.snapshot()]))

        @contextlib.asynccontextmanager
        async def lifespan(app):
            self.hub.loop = asyncio.get_running_loop()
            task = asyncio.create_task(self._follow())
            yield
            self.hub.close()
            task.cancel()

        app = Starlette(routes=[Route("/", page), Route("/agents", agents), Route("/agents/{name:path}", agent),
                                Route("/events", events)], lifespan=lifespan)
        self.server = WebServer(app, host, port, token, tls_cert, tls_key)
        self.address = self.server.address

    async def _follow(self) -> None:
        """History first (XRANGE in pages), then new entries as they come (XREAD BLOCK)."""
        import redis.asyncio as aioredis

        # bytes, decoded entry by entry: one entry that is not UTF-8 must not stop the reading
        client = aioredis.Redis.from_url(self.redis_url, decode_responses=False, socket_connect_timeout=2.0)
        failures, last_trim = 0, 0.0
        try:
            while True:
                try:
                    if not self.caught_up:
                        while True:
                            start = "-" if self.state.last_id == "0-0" else "(" + self.state.last_id
                            page = await client.xrange(self.key, min=start, count=1000)
                            for entry_id, fields in page:
                                self.state.apply(entry_id, fields)
                            if len(page) < 1000:
                                break
                        self.caught_up = True
                    failures = 0
                    got = await client.xread({self.key: self.state.last_id}, count=1000, block=1000)
                    for _, entries in got or []:
                        for entry_id, fields in entries:
                            change = self.state.apply(entry_id, fields)
                            if change is not None:
                                self.hub.add(change)
                    if time.monotonic() - last_trim > 60:
                        last_trim = time.monotonic()
                        await client.xtrim(self.key, minid=int(time.time() * 1000) - self.keep_ms, approximate=True)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - Redis away: wait, then carry on from the last entry seen
                    await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                    failures += 1
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.hub.close_soon()
        self.server.stop()
