"""The supervisor feed: a small web page and a Server-Sent Events stream of warnings.

``phonecoach live --serve 127.0.0.1:8765`` serves ``/`` (the page), ``/events``
(SSE, every warning as JSON) and ``/warnings`` (all so far, JSON). It binds to
127.0.0.1 by default; on any other address a token is required, given as
``?token=`` or an ``Authorization: Bearer`` header. A supervisor watches several
agents on one page: ``/?feeds=http://host1:8765/events?token=…,http://host2:8765/events?token=…``;
a whole floor is better served by ``live --publish`` and ``phonecoach floor`` (floor.py).
"""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from ..core.alerts import LiveWarning
from .web import Hub, WebServer, sse

PAGE = """<!doctype html><meta charset="utf-8"><title>phonecoach — live warnings</title>
<style>body{font:15px system-ui,sans-serif;margin:1.5em}h1{font-size:1.2em}
li{margin:.3em 0}.withdrawn{color:#999;text-decoration:line-through}.raised{color:#b00}
.confirmed{color:#700}small{color:#666}</style>
<h1>phonecoach live warnings — <span id="agents"></span></h1><ul id="list"></ul>
<script>
const params = new URLSearchParams(location.search);
const own = "/events" + (params.get("token") ? "?token=" + encodeURIComponent(params.get("token")) : "");
const feeds = params.get("feeds") ? params.get("feeds").split(",") : [own];
document.getElementById("agents").textContent = feeds.length + " session(s)";
function clock(t){const m=Math.floor(t/60);return m+":"+(t-60*m).toFixed(1).padStart(4,"0");}
for (const url of feeds) {
  const src = new EventSource(url);
  src.onmessage = (e) => {
    const w = JSON.parse(e.data), li = document.createElement("li");
    li.className = w.status;
    li.textContent = `[${w.session || url}] ${clock(w.start ?? w.t_audio)} ${w.rule} (${w.status}): ${w.message} “${w.evidence}” — ${w.fix}`;
    document.getElementById("list").prepend(li);
  };
}
</script>"""


class WarningFeed:
    """This session's warnings for a supervisor: the page, ``/warnings`` and ``/events`` (SSE),
    served by the same stack as the floor view (``web.py``: Starlette on uvicorn)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 session: str = "", tls_cert: Path | None = None, tls_key: Path | None = None) -> None:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, JSONResponse
        from starlette.routing import Route

        self.session = session
        self.hub = Hub()

        async def page(request):
            return HTMLResponse(PAGE)

        async def warnings(request):
            return JSONResponse(list(self.hub.history))

        async def events(request):
            return sse(self.hub.subscribe())

        @contextlib.asynccontextmanager
        async def lifespan(app):
            self.hub.loop = asyncio.get_running_loop()
            yield
            self.hub.close()

        app = Starlette(routes=[Route("/", page), Route("/warnings", warnings), Route("/events", events)],
                        lifespan=lifespan)
        self.server = WebServer(app, host, port, token, tls_cert, tls_key)
        self.address = self.server.address

    @property
    def history(self) -> list[dict]:
        return list(self.hub.history)

    @property
    def clients(self) -> set:
        return self.hub.clients

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.hub.close_soon()
        self.server.stop()

    def __call__(self, w: LiveWarning) -> None:
        self.hub.publish({**w.to_dict(), "session": self.session})
