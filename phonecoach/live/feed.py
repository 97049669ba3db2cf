"""The supervisor feed: a small web page and a Server-Sent Events stream of warnings.

``phonecoach live --serve 127.0.0.1:8765`` serves ``/`` (the page), ``/events``
(SSE, every warning as JSON) and ``/warnings`` (all so far, JSON). It binds to
127.0.0.1 by default; on any other address a token is required, given as
``?token=`` or an ``Authorization: Bearer`` header. A supervisor watches several
agents on one page: ``/?feeds=http://host1:8765/events?token=…,http://host2:8765/events?token=…``.
"""
from __future__ import annotations

import hmac
import json
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from ..records import Warning

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


MAX_CONNECTIONS = 32  # open connections at once; more are closed at once (never the session's problem)
HEADER_TIMEOUT = 10.0  # seconds a client may take to send its request
WRITE_TIMEOUT = 30.0  # seconds a stuck reader may hold a write before it is dropped


class _BoundedServer(ThreadingHTTPServer):
    """A threading server that holds at most ``MAX_CONNECTIONS`` connections: an unauthenticated
    flood cannot use up the session's file descriptors or threads."""

    daemon_threads = True
    request_queue_size = 16

    def __init__(self, *args, **kwargs) -> None:
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            request.close()
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address) -> None:
        pass  # a client that misbehaves is its own problem; nothing on the agent's terminal


class WarningFeed:
    """Fan-out of warnings to every connected SSE client (each with a bounded queue)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 session: str = "") -> None:
        if host not in ("127.0.0.1", "localhost", "::1") and not token:
            raise ValueError(f"--serve {host}:{port} is reachable from other machines: give --token")
        self.token = token
        self.session = session
        self.history: list[dict] = []
        self.clients: list[queue.Queue] = []
        self.lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = HEADER_TIMEOUT  # a client that never finishes its headers is dropped

            def log_message(self, *args):
                pass

            def _authorised(self, query) -> bool:
                if feed.token is None:
                    return True
                given = (query.get("token") or [""])[0] or self.headers.get("Authorization", "").removeprefix("Bearer ")
                return hmac.compare_digest(given.encode(), feed.token.encode())

            def do_GET(self):
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if not self._authorised(query):
                    self._send(403, b"token required\n", "text/plain")
                    return
                if url.path == "/":
                    self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                elif url.path == "/warnings":
                    with feed.lock:
                        body = json.dumps(feed.history, ensure_ascii=False).encode()
                    self._send(200, body, "application/json")
                elif url.path == "/events":
                    self._stream()
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                q: queue.Queue = queue.Queue(maxsize=1000)
                with feed.lock:
                    backlog = list(feed.history)
                    feed.clients.append(q)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.connection.settimeout(WRITE_TIMEOUT)
                try:
                    for item in backlog:
                        self._event(item)
                    while True:
                        try:
                            item = q.get(timeout=15)
                        except queue.Empty:
                            self.wfile.write(b": keep-alive\n\n")
                            self.wfile.flush()
                            continue
                        if item is None:
                            break
                        self._event(item)
                except OSError:  # gone, reset, or too slow to read
                    pass
                finally:
                    with feed.lock:
                        if q in feed.clients:
                            feed.clients.remove(q)

            def _event(self, item: dict) -> None:
                self.wfile.write(b"data: " + json.dumps(item, ensure_ascii=False).encode() + b"\n\n")
                self.wfile.flush()

        self.server = _BoundedServer((host, port), Handler)
        self.address = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self.lock:
            for q in self.clients:
                try:
                    q.put_nowait(None)
                except queue.Full:
                    pass
        self.server.shutdown()
        self.server.server_close()

    def __call__(self, w: Warning) -> None:
        item = {**w.to_dict(), "session": self.session}
        with self.lock:
            self.history.append(item)
            for q in self.clients:
                try:
                    q.put_nowait(item)
                except queue.Full:  # a stuck client loses warnings, the session does not wait
                    pass
