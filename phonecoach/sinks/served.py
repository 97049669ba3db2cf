"""``phonecoach serve``: a results store as a web site for the QA team, rendered on demand.

The team dashboard (the same SQL views as ``summary``) with filters (agent, a rule's status,
week, score range, a phrase said), the calls a page at a time, each call's replay page made
when it is opened, and its audio streamed from the recording itself with HTTP range requests
(so a click seeks without fetching the call; nothing is written ahead for each call); a call in
which customers' numbers were masked plays as the phone mix with those spans beeped. JSON
at ``/api/calls`` for BI tools. On the shared web stack (web.py): 127.0.0.1 unless given a
token, TLS when given a certificate.

Once the store has users (``phonecoach users add``), everyone signs in (access.py) and sees
only what their role allows, checked here for every URL: an agent their own calls, a
supervisor their team's, ``qa`` and ``admin`` every call. A call or recording outside that is
answered 403 whether it exists or not, so nobody learns of it; the filters, the search and
``/api/calls`` only ever reach the calls allowed. Reviewers mark verdicts on a call's page,
agents dispute findings, reviewers settle disputes, and ``/queue`` is each reviewer's sample
of the week (archive/review.py); every form is a POST with the session's CSRF token.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ..archive import people, review
from ..archive.search import matching_ids
from ..archive.store import Store
from ..archive.views import STATUSES, Selection, agents, call_rows, count_calls, selection, weeks
from ..core.errors import PhonecoachError
from ..judging.model import ReviewShares
from ..core.timeline import clock
from ..judging.redaction import personal_spans
from .callpage import call_page
from .dashboard import dashboard_context
from .access import (SESSION_SECONDS, SignInLimiter, Viewer, csrf_of, csrf_ok, fingerprint, safe_next,
                     token_matches)
from .templating import render
from .web import WebServer

PAGE_SIZE = 50
MAX_LIMIT = 1000
MASKED_KEPT = 4  # beeped recordings kept in memory (a reviewer seeks about one call at a time)


class BadQuery(ValueError):
    """A query parameter that is not what it should be (answered 400, with why)."""


class Forbidden(PermissionError):
    """Not for this viewer (answered 403, saying nothing of what is there)."""


class ArchiveSite:
    """The Starlette app over one store; each server thread reads it through its own connection."""

    def __init__(self, store_path: Path, token: str | None = None, shares: ReviewShares | None = None,
                 secure_cookies: bool = False) -> None:
        self.store_path = Path(store_path)
        self.token = token
        self.shares = shares or ReviewShares()
        self.secure_cookies = secure_cookies
        self._local = threading.local()
        self._masked: dict[tuple, bytes] = {}
        self.limiter = SignInLimiter()
        Store(self.store_path, readonly=True).close()  # refuse a file that is not a store, now, in one line
        self.secret = self._session_secret()

    def store(self) -> Store:
        s = getattr(self._local, "store", None)
        if s is None:
            s = self._local.store = Store(self.store_path, readonly=True)
        return s

    def writer(self) -> Store:
        """This thread's writable connection: reviews, disputes (WAL: readers go on meanwhile)."""
        s = getattr(self._local, "writer", None)
        if s is None:
            s = self._local.writer = Store(self.store_path)
        return s

    def _session_secret(self) -> str:
        """The key sessions are signed with, kept in the store so a restart keeps people signed in
        (a read-only store: a key for this run only)."""
        import secrets

        try:
            db = self.writer().db
            db.execute("INSERT OR IGNORE INTO info VALUES ('session_secret', ?)", (secrets.token_hex(32),))
            return db.execute("SELECT value FROM info WHERE key = 'session_secret'").fetchone()[0]
        except PhonecoachError:
            return secrets.token_hex(32)

    # -- who is asking -------------------------------------------------------------------

    def has_users(self) -> bool:
        return people.has_users(self.store().db)

    def viewer_of(self, given_token: str, session: dict) -> Viewer | None:
        """The viewer a request's token or session makes, or None (sign in first)."""
        if token_matches(given_token, self.token):
            return Viewer(via_token=True)
        name = session.get("user")
        if name:
            db = self.store().db
            user = people.get_user(db, name)
            row = db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
            if user is not None and row and session.get("pv") == fingerprint(row[0]):
                return Viewer(user)
            session.clear()  # removed, or the password changed: signed out everywhere
        if not self.has_users() and self.token is None:
            return Viewer()  # a store without people, on this machine only: as before
        return None

    def allowed(self, viewer: Viewer) -> tuple[str, ...] | None:
        """The agents whose calls the viewer may see (None: all)."""
        if viewer.user is None:
            return None
        return people.visible_agents(self.store().db, viewer.user)

    def check_call(self, viewer: Viewer, rowid: int) -> None:
        """403 unless the call exists and the viewer may see it (the same answer for both)."""
        allowed = self.allowed(viewer)
        if allowed is None:
            return
        row = self.store().db.execute("SELECT agent FROM calls WHERE id = ?", (int(rowid),)).fetchone()
        if row is None or row[0] not in allowed:
            raise Forbidden("not yours to see")

    def link(self, viewer: Viewer, url: str) -> str:
        return self.with_token(url) if viewer.via_token else url

    # -- what a request asks for ---------------------------------------------------------

    def selection(self, params: dict[str, str], viewer: Viewer | None = None) -> tuple[Selection | None, dict[str, Any]]:
        """The calls a request's query selects, only ever among those the viewer may see, and the
        filters as given (for the form)."""
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
        allowed = self.allowed(viewer) if viewer is not None else None
        if allowed is not None and f["agent"] and f["agent"] not in allowed:
            raise Forbidden("not yours to see")
        sel = replace(sel, agent=f["agent"] or None, rule=f["rule"] or None, status=f["status"] or None,
                      week=f["week"] or None, min_score=lo, max_score=hi, agents=allowed)
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

    def api_calls(self, params: dict[str, str], viewer: Viewer = Viewer()) -> dict[str, Any]:
        sel, f = self.selection(params, viewer)
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

    def dashboard(self, params: dict[str, str], viewer: Viewer = Viewer()) -> str:
        sel, f = self.selection(params, viewer)
        limit, offset = self.page_of(params)
        store = self.store()
        token = (self.token or "") if viewer.via_token else ""
        if sel is None:
            return render("served.html.j2", empty=True, filters=f, title="phonecoach archive", nonce="-",
                          token=token, viewer=viewer.user)
        calls = call_rows(store, sel, limit, offset)
        total = count_calls(store, sel)
        base = {k: v for k, v in f.items() if v and k != "confirmed"}
        nav = {}
        if offset > 0:
            nav["prev"] = self.link(viewer, "/?" + urlencode({**base, "offset": max(0, offset - limit), "limit": limit}))
        if offset + limit < total:
            nav["next"] = self.link(viewer, "/?" + urlencode({**base, "offset": offset + limit, "limit": limit}))
        everything = replace(sel, agent=None, rule=None, status=None, week=None, min_score=None, max_score=None,
                             ids=None)
        ctx = dashboard_context(store, sel, calls, lambda c: self.link(viewer, f"/calls/{c['id']}"),
                                "phonecoach archive")
        return render("served.html.j2", empty=False, filters=f, nav=nav, total=total, offset=offset, limit=limit,
                      agent_names=agents(store, everything), week_names=weeks(store, everything),
                      rule_names=[(r["rule"], r["title"]) for r in sorted(ctx["rules"], key=lambda r: r["rule"])],
                      statuses=STATUSES, token=token, viewer=viewer.user, **ctx)

    def call(self, rowid: int, viewer: Viewer = Viewer(), session: dict | None = None) -> str | None:
        self.check_call(viewer, rowid)
        rec = self.store().call_by_id(rowid)
        if rec is None or rec.report is None:
            return None
        there = Path(rec.file).is_file()
        facts = {k: v for k, v in (("agent", rec.agent), ("when", rec.started_at),
                                    ("length", clock(rec.duration) if rec.duration else None)) if v}
        ctx = self.review_context(rowid, rec, viewer, session) if viewer.user is not None else None
        return call_page(rec.report, None, title=Path(rec.file).name, facts=facts,
                         audio_url=self.link(viewer, f"/audio/{rowid}") if there else None,
                         audio_missing=None if there else rec.file, review=ctx)

    def review_context(self, rowid: int, rec, viewer: Viewer, session: dict | None) -> dict[str, Any]:
        """The call page's review section for a signed-in user."""
        db = self.store().db
        user = viewer.user
        now = {r: s for r, s in db.execute("SELECT rule, status FROM rule_results WHERE call = ?", (rowid,))}
        titles = {r.rule.id: r.rule.title for r in rec.report.results}
        open_rules = {d.rule for d in review.disputes(db, call=rowid, state="open")}
        machine, reviewed = review.scores_of(db, rowid)
        mine = user.role == "agent"
        return {"call": rowid, "user": user.name, "role": user.role, "csrf": csrf_of(session if session is not None else {}),
                "machine_score": machine, "reviewed_score": reviewed,
                "reviews": review.reviews_of(db, rowid),
                "disputes": review.disputes(db, call=rowid),
                "can_review": user.reviews, "can_dispute": mine,
                "rules": [(r, titles.get(r, r), s) for r, s in now.items()],
                "disputable": [(r, titles.get(r, r)) for r, s in now.items() if s == "fail" and r not in open_rules]}

    def queue_page(self, viewer: Viewer, week: str | None, csrf: str = "") -> str:
        if viewer.user is None or viewer.user.role == "agent":
            raise Forbidden("the queue is for reviewers and supervisors")
        db = self.store().db
        allowed = self.allowed(viewer)
        sel = selection(self.store())
        all_weeks = weeks(self.store(), replace(sel, agents=allowed)) if sel is not None else []
        week = week or (all_weeks[-1] if all_weeks else "")
        if week and week not in all_weeks:
            raise BadQuery("no calls in that week")
        items = review.queue(db, viewer.user.name, week, self.shares, allowed, sel.pack if sel else None) if week else []
        files = {cid: Path(f).name for cid, f in db.execute(
            "SELECT id, file FROM calls WHERE id IN (SELECT value FROM json_each(?))", (json.dumps([q["call"] for q in items]),))}
        for q in items:
            q["file"] = files.get(q["call"], str(q["call"]))
        done = sum(q["done"] for q in items)
        return render("queue.html.j2", title=f"Review queue of {viewer.user.name}", items=items, done=done,
                      left=len(items) - done, week=week, weeks=all_weeks, csrf=csrf,
                      disputes=review.disputes(db, state="open", agents=allowed))

    def disputes_page(self, viewer: Viewer, csrf: str = "") -> str:
        if viewer.user is None:
            raise Forbidden("sign in")
        db = self.store().db
        user = viewer.user
        listed = review.disputes(db, agents=self.allowed(viewer))
        if user.role == "agent":
            listed = [d for d in listed if d.agent_user == user.name]
        return render("queue.html.j2", title="Disputes", items=[], done=0, left=0, week="", weeks=[],
                      disputes=listed, csrf=csrf)

    # -- what people do ------------------------------------------------------------------

    def post_review(self, viewer: Viewer, rowid: int, form: dict[str, str]) -> None:
        if viewer.user is None or not viewer.user.reviews:
            raise Forbidden("only qa reviewers mark verdicts")
        self.check_call(viewer, rowid)
        review.review(self.writer().db, rowid, form.get("rule", ""), form.get("human", ""), form.get("reason", ""),
                      viewer.user.name)

    def post_dispute(self, viewer: Viewer, rowid: int, form: dict[str, str]) -> None:
        if viewer.user is None or viewer.user.role != "agent":
            raise Forbidden("agents dispute their own findings")
        self.check_call(viewer, rowid)
        rule = form.get("rule", "")
        row = self.store().db.execute("SELECT status FROM rule_results WHERE call = ? AND rule = ?", (rowid, rule)).fetchone()
        if row is None or row[0] != "fail":
            raise BadQuery(f"{rule or 'that rule'} is not a finding of this call")
        review.open_dispute(self.writer().db, rowid, rule, viewer.user.name, form.get("comment", ""))

    def post_settle(self, viewer: Viewer, dispute: int, form: dict[str, str]) -> int:
        if viewer.user is None or not viewer.user.reviews:
            raise Forbidden("only qa reviewers settle disputes")
        d = review.dispute_by_id(self.store().db, dispute)
        if d is None:
            raise Forbidden("not yours to see")
        self.check_call(viewer, d.call)
        decision = form.get("decision", "")
        if decision not in ("accept", "reject"):
            raise BadQuery("decision is accept or reject")
        human = form.get("human") or None
        review.settle(self.writer().db, dispute, viewer.user.name, decision == "accept", form.get("note", ""), human)
        return d.call

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
        from starlette.middleware import Middleware
        from starlette.middleware.sessions import SessionMiddleware
        from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
        from starlette.routing import Route

        def params(request) -> dict[str, str]:
            return {k: v for k, v in request.query_params.items() if k != "token"}

        def given_token(request) -> str:
            given = request.query_params.get("token", "")
            if not given:
                given = request.headers.get("authorization", "").removeprefix("Bearer ")
            return given

        def bad(exc: Exception, status: int = 400):
            return PlainTextResponse(f"{exc}\n", status_code=status)

        def guarded(handler, html: bool = True):
            """Every URL: who asks, then what they may see; 403 says nothing of what is there."""
            async def endpoint(request):
                viewer = self.viewer_of(given_token(request), request.session)
                if viewer is None:
                    if self.has_users() and html and request.method == "GET":
                        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
                    return PlainTextResponse("sign in, or give the token\n" if self.has_users() else "token required\n",
                                             status_code=401 if self.has_users() else 403)
                if request.method == "POST":
                    if viewer.user is None:
                        return bad("sign in to change anything", 403)
                    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
                    if not csrf_ok(request.session, form.get("csrf")):
                        return bad("the form is stale or not this site's (CSRF check): reload the page", 403)
                    request.state.form = form
                try:
                    from starlette.concurrency import run_in_threadpool

                    return await run_in_threadpool(handler, request, viewer)
                except Forbidden as exc:
                    return bad(exc, 403)
                except (BadQuery, PhonecoachError) as exc:
                    return bad(exc)
            return endpoint

        def home(request, viewer):
            return HTMLResponse(self.dashboard(params(request), viewer))

        def api(request, viewer):
            return JSONResponse(self.api_calls(params(request), viewer))

        def call(request, viewer):
            page = self.call(int(request.path_params["id"]), viewer, request.session)
            return HTMLResponse(page) if page is not None else PlainTextResponse("no such call\n", status_code=404)

        def audio(request, viewer):
            rowid = int(request.path_params["id"])
            self.check_call(viewer, rowid)
            path, why = self.audio_path(rowid)
            if path is None:
                return PlainTextResponse(why + "\n", status_code=404)
            masked = self.masked_audio(rowid, path)
            if masked is not None:  # a customer's number was said: the page plays it as a beep
                return _ranged(request, masked, "audio/wav")
            return FileResponse(path, media_type=_media_type(path))

        def queue(request, viewer):
            return HTMLResponse(self.queue_page(viewer, request.query_params.get("week"), csrf_of(request.session)))

        def dispute_list(request, viewer):
            return HTMLResponse(self.disputes_page(viewer, csrf_of(request.session)))

        def post_review(request, viewer):
            rowid = int(request.path_params["id"])
            self.post_review(viewer, rowid, request.state.form)
            return RedirectResponse(f"/calls/{rowid}#review", status_code=303)

        def post_dispute(request, viewer):
            rowid = int(request.path_params["id"])
            self.post_dispute(viewer, rowid, request.state.form)
            return RedirectResponse(f"/calls/{rowid}#review", status_code=303)

        def post_settle(request, viewer):
            rowid = self.post_settle(viewer, int(request.path_params["id"]), request.state.form)
            return RedirectResponse(f"/calls/{rowid}#review", status_code=303)

        def login_page(request, error: str = "", status: int = 200):
            return HTMLResponse(render("login.html.j2", csrf=csrf_of(request.session), error=error,
                                       next=safe_next(request.query_params.get("next"))), status_code=status)

        async def login(request):
            if request.method == "GET":
                return login_page(request)
            form = await request.form()
            name, password = str(form.get("user") or "")[:64], str(form.get("password") or "")
            if not csrf_ok(request.session, form.get("csrf")):
                return login_page(request, "The form was stale: try again.", 403)
            address = request.client.host if request.client else "?"
            wait = self.limiter.wait(address, name)
            if wait > 0:
                return PlainTextResponse(f"too many failed sign-ins: try again in {int(wait) + 1} s\n", status_code=429,
                                         headers={"retry-after": str(int(wait) + 1)})
            from starlette.concurrency import run_in_threadpool

            user = await run_in_threadpool(lambda: people.authenticate(self.store().db, name, password))
            if user is None:
                self.limiter.failed(address, name)
                return login_page(request, "Wrong user name or password.", 401)
            self.limiter.succeeded(name)
            stored = self.store().db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()[0]
            request.session.clear()  # a new session on sign-in: nothing carried over from before
            request.session.update({"user": user.name, "pv": fingerprint(stored)})
            csrf_of(request.session)
            return RedirectResponse(safe_next(str(form.get("next") or "/")), status_code=303)

        async def logout(request):
            request.session.clear()
            return RedirectResponse("/login", status_code=303)

        routes = [Route("/", guarded(home)), Route("/api/calls", guarded(api, html=False)),
                  Route("/calls/{id:int}", guarded(call)), Route("/audio/{id:int}", guarded(audio, html=False)),
                  Route("/queue", guarded(queue)), Route("/disputes", guarded(dispute_list)),
                  Route("/calls/{id:int}/review", guarded(post_review), methods=["POST"]),
                  Route("/calls/{id:int}/dispute", guarded(post_dispute), methods=["POST"]),
                  Route("/disputes/{id:int}/settle", guarded(post_settle), methods=["POST"]),
                  Route("/login", login, methods=["GET", "POST"]), Route("/logout", logout, methods=["GET", "POST"])]
        session = Middleware(SessionMiddleware, secret_key=self.secret, session_cookie="phonecoach_session",
                             max_age=SESSION_SECONDS, same_site="strict", https_only=self.secure_cookies)
        return Starlette(routes=routes, middleware=[session])


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
                  tls_cert: Path | None = None, tls_key: Path | None = None,
                  shares: ReviewShares | None = None) -> WebServer:
    """The site, started on its own thread (``stop()`` ends it); the site checks the token
    itself, as people may sign in instead."""
    site = ArchiveSite(store_path, token, shares, secure_cookies=tls_cert is not None)
    server = WebServer(site.app(), host, port, token, tls_cert, tls_key, guard=False)
    server.start()
    return server
