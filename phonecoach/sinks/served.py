"""``phonecoach serve``: a results store as a web site for the QA team, rendered on demand.

The team dashboard (the same SQL views as ``summary``) with filters (agent, a rule's status,
week, score range, a phrase said), the calls a page at a time, each call's replay page made
when it is opened, and its audio streamed from the recording itself with HTTP range requests
(so a click seeks without fetching the call; nothing is written ahead for each call); a call in
which customers' numbers were masked plays as the phone mix with those spans beeped. JSON
at ``/api/calls`` for BI tools. On the shared web stack (web.py): 127.0.0.1 unless given a
token, TLS when given a certificate.
"""
from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..archive.search import matching_ids
from ..archive.store import Store
from ..archive.views import STATUSES, Selection, agents, call_rows, count_calls, selection, weeks
from ..core.timeline import clock
from ..judging.redaction import personal_spans
from .callpage import call_page
from .dashboard import dashboard_context
from .templating import render
from .web import WebServer

PAGE_SIZE = 50
MAX_LIMIT = 1000
MASKED_KEPT = 4  # beeped recordings kept in memory (a reviewer seeks about one call at a time)


class BadQuery(ValueError):
    """A query parameter that is not what it should be (answered 400, with why)."""


class ArchiveSite:
    """The Starlette app over one store; each server thread reads it through its own connection."""

    def __init__(self, store_path: Path, token: str | None = None) -> None:
        self.store_path = Path(store_path)
        self.token = token
        self._local = threading.local()
        self._masked: dict[tuple, bytes] = {}
        Store(self.store_path, readonly=True).close()  # refuse a file that is not a store, now, in one line

    def store(self) -> Store:
        s = getattr(self._local, "store", None)
        if s is None:
            s = self._local.store = Store(self.store_path, readonly=True)
        return s

    # -- what a request asks for ---------------------------------------------------------

    def selection(self, params: dict[str, str]) -> tuple[Selection | None, dict[str, Any]]:
        """The calls a request's query selects, and the filters as given (for the form)."""
        store = self.store()
        sel = selection(store)
        f = {k: (params.get(k) or "").strip() for k in ("agent", "rule", "status", "week", "min", "max", "q", "speaker")}
        if sel is None:
            return None, f
        if f["status"] and f["status"] not in STATUSES:
            raise BadQuery(f"status must be one of {', '.join(STATUSES)}")
        if f["speaker"] and f["speaker"] not in ("agent", "customer"):
            raise BadQuery("speaker must be agent or customer")
        try:
            lo = float(f["min"]) if f["min"] else None
            hi = float(f["max"]) if f["max"] else None
        except ValueError:
            raise BadQuery("min and max are scores, 0-100") from None
        if any(x is not None and not math.isfinite(x) for x in (lo, hi)):
            raise BadQuery("min and max are scores, 0-100")
        sel = replace(sel, agent=f["agent"] or None, rule=f["rule"] or None, status=f["status"] or None,
                      week=f["week"] or None, min_score=lo, max_score=hi)
        f["confirmed"] = True
        if f["q"]:
            ids, f["confirmed"] = matching_ids(store, sel, f["q"], f["speaker"] or None)
            sel = replace(sel, ids=tuple(ids))
        return sel, f

    def page_of(self, params: dict[str, str], default: int = PAGE_SIZE) -> tuple[int, int]:
        try:
            limit = int(params.get("limit") or default)
            offset = int(params.get("offset") or 0)
        except ValueError:
            raise BadQuery("limit and offset are whole numbers") from None
        if not (1 <= limit <= MAX_LIMIT) or offset < 0:
            raise BadQuery(f"limit is 1-{MAX_LIMIT}, offset 0 or more")
        return limit, offset

    def with_token(self, url: str) -> str:
        if not self.token:
            return url
        return url + ("&" if "?" in url else "?") + urlencode({"token": self.token})

    # -- the answers ---------------------------------------------------------------------

    def api_calls(self, params: dict[str, str]) -> dict[str, Any]:
        sel, f = self.selection(params)
        limit, offset = self.page_of(params)
        if sel is None:
            return {"total": 0, "limit": limit, "offset": offset, "items": []}
        store = self.store()
        items = [{"id": c["id"], "file": c["file"], "agent": c["agent"], "score": c["score"],
                  "started_at": c["started_at"], "duration": c["duration"], "error": c["error"],
                  "complaint": c["complaint"], "broken": c["broken"], "page": f"/calls/{c['id']}"}
                 for c in call_rows(store, sel, limit, offset)]
        return {"total": count_calls(store, sel), "limit": limit, "offset": offset, "items": items,
                "confirmed": f["confirmed"]}

    def dashboard(self, params: dict[str, str]) -> str:
        sel, f = self.selection(params)
        limit, offset = self.page_of(params)
        store = self.store()
        if sel is None:
            return render("served.html.j2", empty=True, filters=f, title="phonecoach archive", nonce="-",
                          token=self.token or "")
        calls = call_rows(store, sel, limit, offset)
        total = count_calls(store, sel)
        base = {k: v for k, v in f.items() if v and k != "confirmed"}
        nav = {}
        if offset > 0:
            nav["prev"] = self.with_token("/?" + urlencode({**base, "offset": max(0, offset - limit), "limit": limit}))
        if offset + limit < total:
            nav["next"] = self.with_token("/?" + urlencode({**base, "offset": offset + limit, "limit": limit}))
        everything = replace(sel, agent=None, rule=None, status=None, week=None, min_score=None, max_score=None,
                             ids=None)
        ctx = dashboard_context(store, sel, calls, lambda c: self.with_token(f"/calls/{c['id']}"),
                                "phonecoach archive")
        return render("served.html.j2", empty=False, filters=f, nav=nav, total=total, offset=offset, limit=limit,
                      agent_names=agents(store, everything), week_names=weeks(store, everything),
                      rule_names=[(r["rule"], r["title"]) for r in sorted(ctx["rules"], key=lambda r: r["rule"])],
                      statuses=STATUSES, token=self.token or "", **ctx)

    def call(self, rowid: int) -> str | None:
        rec = self.store().call_by_id(rowid)
        if rec is None or rec.report is None:
            return None
        there = Path(rec.file).is_file()
        facts = {k: v for k, v in (("agent", rec.agent), ("when", rec.started_at),
                                    ("length", clock(rec.duration) if rec.duration else None)) if v}
        return call_page(rec.report, None, title=Path(rec.file).name, facts=facts,
                         audio_url=self.with_token(f"/audio/{rowid}") if there else None,
                         audio_missing=None if there else rec.file)

    def audio_path(self, rowid: int) -> tuple[Path | None, str]:
        rows = list(self.store().query("SELECT file FROM calls WHERE id = ?", [int(rowid)]))
        if not rows:
            return None, "no such call"
        path = Path(rows[0][0])
        return (path, "") if path.is_file() else (None, f"the recording is not at {path}")

    def masked_audio(self, rowid: int, path: Path) -> bytes | None:
        """The call as its page plays it when customers' numbers were masked in it: the phone
        mix as a WAV with those spans beeped (the recording on disk is never changed); None
        when nothing was masked. The last few are kept, so seeking does not decode again."""
        rec = self.store().call_by_id(rowid)
        hide = personal_spans(rec.report.timeline) if rec is not None and rec.report is not None else []
        if not hide:
            return None
        key = (rowid, str(path), path.stat().st_mtime_ns)
        if key not in self._masked:
            import io

            import soundfile as sf

            from ..inputs.audio import load_call, phone_mix

            audio = load_call(path)
            mix, rate = phone_mix(audio.parties, audio.sr, hide)
            buf = io.BytesIO()
            sf.write(buf, mix, rate, subtype="PCM_16", format="WAV")
            while len(self._masked) >= MASKED_KEPT:
                self._masked.pop(next(iter(self._masked)))
            self._masked[key] = buf.getvalue()
        return self._masked[key]

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
        from starlette.routing import Route

        def params(request) -> dict[str, str]:
            return {k: v for k, v in request.query_params.items()}

        def bad(exc: BadQuery):
            return PlainTextResponse(f"{exc}\n", status_code=400)

        def home(request):
            try:
                return HTMLResponse(self.dashboard(params(request)))
            except BadQuery as exc:
                return bad(exc)

        def api(request):
            try:
                return JSONResponse(self.api_calls(params(request)))
            except BadQuery as exc:
                return bad(exc)

        def call(request):
            page = self.call(int(request.path_params["id"]))
            return HTMLResponse(page) if page is not None else PlainTextResponse("no such call\n", status_code=404)

        def audio(request):
            rowid = int(request.path_params["id"])
            path, why = self.audio_path(rowid)
            if path is None:
                return PlainTextResponse(why + "\n", status_code=404)
            masked = self.masked_audio(rowid, path)
            if masked is not None:  # a customer's number was said: the page plays it as a beep
                return _ranged(request, masked, "audio/wav")
            return FileResponse(path, media_type=_media_type(path))

        return Starlette(routes=[Route("/", home), Route("/api/calls", api), Route("/calls/{id:int}", call),
                                 Route("/audio/{id:int}", audio)])


def _ranged(request, data: bytes, media: str):
    """``data`` answering a Range request (one range: what a player asks to seek), or whole."""
    import re

    from starlette.responses import Response

    head = {"accept-ranges": "bytes"}
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("range", "").strip())
    if not m or (not m.group(1) and not m.group(2)):
        return Response(data, media_type=media, headers=head)
    n = len(data)
    if m.group(1):
        a, b = int(m.group(1)), min(int(m.group(2)) if m.group(2) else n - 1, n - 1)
    else:
        a, b = max(0, n - int(m.group(2))), n - 1
    if a >= n or a > b:
        return Response(b"", status_code=416, headers={**head, "content-range": f"bytes */{n}"})
    return Response(data[a:b + 1], status_code=206, media_type=media,
                    headers={**head, "content-range": f"bytes {a}-{b}/{n}"})


def _media_type(path: Path) -> str:
    return {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
            ".opus": "audio/ogg", ".m4a": "audio/mp4"}.get(path.suffix.lower(), "application/octet-stream")


def serve_archive(store_path: Path, host: str = "127.0.0.1", port: int = 8767, token: str | None = None,
                  tls_cert: Path | None = None, tls_key: Path | None = None) -> WebServer:
    """The site, started on its own thread (``stop()`` ends it)."""
    site = ArchiveSite(store_path, token)
    server = WebServer(site.app(), host, port, token, tls_cert, tls_key)
    server.start()
    return server
