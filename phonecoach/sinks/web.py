"""The one web stack phonecoach serves from: Starlette apps on uvicorn, in a background thread.

Both the single session's feed (``live --serve``) and the floor view (``phonecoach floor``)
run here, so there is one server to trust: bound to 127.0.0.1 unless given a token, the
token compared in constant time (``?token=`` or ``Authorization: Bearer``), TLS from a
certificate and key, many idle connections costing no threads (asyncio), and a cap on
connections past which uvicorn answers 503 rather than running out of descriptors.
"""
from __future__ import annotations

import asyncio
import hmac
import socket
import threading
import time
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_CONNECTIONS = 1000  # connections and requests at once; past it uvicorn answers 503


def check_exposure(host: str, port: int, token: str | None) -> None:
    if host not in LOOPBACK and not token:
        raise ValueError(f"{host}:{port} is reachable from other machines: give --token")


class TokenGuard:
    """ASGI middleware: 403 unless the request carries the token (when there is one)."""

    def __init__(self, app, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qs

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        if not given:
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            given = auth.removeprefix("Bearer ")
        if hmac.compare_digest(given.encode(), self.token.encode()):
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"15")]})
        await send({"type": "http.response.body", "body": b"token required\n"})


class WebServer:
    """A Starlette app served by uvicorn on its own thread and event loop."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
                 tls_cert: Path | None = None, tls_key: Path | None = None, guard: bool = True) -> None:
        """``guard``: the token guards every request here; an app that checks the token
        itself (serve's, where people also sign in) passes False."""
        import uvicorn

        check_exposure(host, port, token)
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))  # here, so a taken port is the caller's one-line error
        except OSError:
            self.sock.close()
            raise
        self.sock.listen(128)
        self.sock.setblocking(False)
        scheme = "https" if tls_cert else "http"
        shown = f"[{host}]" if ":" in host else host
        self.address = f"{scheme}://{shown}:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(TokenGuard(app, token) if guard else app, log_level="warning", access_log=False, lifespan="on",
                                limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=10,
                                timeout_graceful_shutdown=2,
                                ssl_certfile=str(tls_cert) if tls_cert else None,
                                ssl_keyfile=str(tls_key) if tls_key else None)
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        loop = self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.serve(sockets=[self.sock]))
        finally:  # streams still open (SSE watchers) end here, quietly
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        end = time.monotonic() + timeout
        while not self.server.started and self._thread.is_alive() and time.monotonic() < end:
            time.sleep(0.01)
        if not self.server.started:
            raise RuntimeError(f"the web server on {self.address} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=5.0)
        self.sock.close()


class Hub:
    """Items fanned out to every SSE subscriber, with the history a new one starts from.

    ``publish`` may be called from any thread; the history and the subscribers are only
    touched on the server's event loop, so a subscriber gets each item exactly once, after
    its backlog. A subscriber that does not keep up loses items (its queue is bounded),
    never the publisher's time."""

    def __init__(self, keep: int | None = None, queue_size: int = 1000) -> None:
        from collections import deque

        self.history: deque = deque(maxlen=keep)
        self.clients: set[asyncio.Queue] = set()
        self.queue_size = queue_size
        self.loop: asyncio.AbstractEventLoop | None = None

    def publish(self, item) -> None:
        loop = self.loop
        if loop is None or not loop.is_running():
            self.history.append(item)
            return
        try:
            loop.call_soon_threadsafe(self.add, item)
        except RuntimeError:  # the loop closed meanwhile
            self.history.append(item)

    def add(self, item) -> None:
        """On the loop: keep it and hand it to every subscriber."""
        self.history.append(item)
        for q in list(self.clients):
            try:
                q.put_nowait(item)
            except asyncio.QueueFull:
                pass

    def close(self) -> None:
        """End every subscriber's stream (called on the loop)."""
        for q in list(self.clients):
            try:
                q.put_nowait(None)
            except asyncio.QueueFull:
                q.get_nowait()
                q.put_nowait(None)

    def close_soon(self) -> None:
        """``close`` from any thread: open streams end now, not at the server's shutdown timeout."""
        loop = self.loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self.close)

    async def subscribe(self, first=None):
        """``first()`` (default: the history) then each new item, as SSE events, until ``close``.
        The subscriber is registered before ``first`` is taken, on the loop, so no item falls
        between them."""
        import json

        self.loop = asyncio.get_running_loop()
        q: asyncio.Queue = asyncio.Queue(maxsize=self.queue_size)
        self.clients.add(q)
        backlog = first() if first is not None else list(self.history)
        try:
            for item in backlog:
                yield {"data": json.dumps(item, ensure_ascii=False)}
            while (item := await q.get()) is not None:
                yield {"data": json.dumps(item, ensure_ascii=False)}
        finally:
            self.clients.discard(q)


def sse(events):
    """An SSE response (sse-starlette: pings every 15 s, ends when the client goes)."""
    from sse_starlette.sse import EventSourceResponse

    return EventSourceResponse(events, ping=15, headers={"Cache-Control": "no-cache"})
