"""Issue 39: QA review in serve. People and roles, every URL checked on the server, reviews that
change the verdict everywhere, disputes that go round, calibrate on the store's own reviews, the
review queue, and two reviewers saving at once. A real store (batch on the samples), a real
server on 127.0.0.1, plain HTTP with a cookie jar (the browser tests are in test_browser.py)."""
from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main

PASSWORD = "a long passphrase 1"
PEOPLE = [  # name, role, agent, team
    ("li", "qa", None, None), ("chen", "qa", None, None), ("boss", "admin", None, None),
    ("wang", "agent", "wang", "north"), ("liu", "agent", "li", "south"), ("zhao", "supervisor", None, "north"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from .test_callpage import dashboard_store

    db = dashboard_store(tmp_path_factory.mktemp("review"))
    for name, role, agent, team in PEOPLE:
        args = ["users", "add", name, "--role", role, "--store", str(db), "--password-stdin"]
        args += ["--agent", agent] if agent else []
        args += ["--team", team] if team else []
        r = CliRunner().invoke(main, args, input=PASSWORD + "\n")
        assert r.exit_code == 0, r.output
    con = sqlite3.connect(str(db))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all in the one file, so a copy of it is whole
    con.close()
    return db


@pytest.fixture
def store(built, tmp_path) -> Path:
    db = tmp_path / "results.db"
    shutil.copy(built, db)
    return db


@pytest.fixture
def site(store):
    from phonecoach.sinks.served import serve_archive

    server = serve_archive(store, "127.0.0.1", 0, token="script-token")
    yield server
    server.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Browser:
    """A cookie jar and the site: what a person's browser does, without drawing it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                              _NoRedirect)

    def get(self, path: str) -> tuple[int, str, dict]:
        return self._open(path, None)

    def post(self, path: str, data: dict) -> tuple[int, str, dict]:
        return self._open(path, urllib.parse.urlencode(data).encode())

    def _open(self, path, data):
        try:
            r = self.op.open(self.base + path, data, timeout=30)
            return r.status, r.read().decode("utf-8"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8"), dict(e.headers)

    def csrf(self, path: str = "/login") -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.get(path)[1]).group(1)

    def sign_in(self, name: str, password: str = PASSWORD) -> int:
        return self.post("/login", {"csrf": self.csrf(), "user": name, "password": password, "next": "/"})[0]


def signed_in(site, name: str) -> Browser:
    b = Browser(site.address)
    assert b.sign_in(name) == 303
    return b


def calls_of(store: Path) -> dict[str, list[int]]:
    con = sqlite3.connect(str(store))
    out: dict[str, list[int]] = {}
    for cid, agent in con.execute("SELECT id, agent FROM calls ORDER BY id"):
        out.setdefault(agent, []).append(cid)
    con.close()
    return out


def failed_rule(store: Path, call: int) -> str:
    con = sqlite3.connect(str(store))
    row = con.execute("SELECT rule FROM rule_results WHERE call = ? AND status = 'fail' ORDER BY pos LIMIT 1",
                      (call,)).fetchone()
    con.close()
    return row[0]


def with_finding(store: Path, agent: str) -> int:
    """One of the agent's calls that broke a rule."""
    con = sqlite3.connect(str(store))
    row = con.execute("SELECT c.id FROM calls c WHERE c.agent = ? AND EXISTS (SELECT 1 FROM rule_results r "
                      "WHERE r.call = c.id AND r.status = 'fail') ORDER BY c.id LIMIT 1", (agent,)).fetchone()
    con.close()
    return row[0]


# -- people ---------------------------------------------------------------------------------------

def test_passwords_are_kept_only_as_scrypt_hashes(built):
    from phonecoach.archive.people import authenticate, check_password

    con = sqlite3.connect(str(built))
    stored = dict(con.execute("SELECT name, password FROM users"))
    assert all(h.startswith("scrypt$") and PASSWORD not in h for h in stored.values())
    assert len(set(stored.values())) == len(stored)  # salted: the same password, different hashes
    assert check_password(PASSWORD, stored["li"]) and not check_password(PASSWORD + "x", stored["li"])
    assert authenticate(con, "li", PASSWORD).role == "qa" and authenticate(con, "nobody", PASSWORD) is None
    assert PASSWORD.encode() not in built.read_bytes()


def test_users_commands_refuse_bad_input_in_one_line(store):
    r = CliRunner().invoke(main, ["users", "add", "x", "--role", "agent", "--store", str(store), "--password-stdin"],
                           input=PASSWORD + "\n")
    assert r.exit_code != 0 and "needs --agent" in r.output
    r = CliRunner().invoke(main, ["users", "add", "li", "--role", "qa", "--store", str(store), "--password-stdin"],
                           input=PASSWORD + "\n")
    assert r.exit_code != 0 and "already exists" in r.output
    r = CliRunner().invoke(main, ["users", "add", "y", "--role", "qa", "--store", str(store), "--password-stdin"],
                           input="short\n")
    assert r.exit_code != 0 and "at least 8" in r.output
    listed = json.loads(CliRunner().invoke(main, ["users", "list", "--store", str(store), "--json"]).stdout)
    assert {u["name"] for u in listed} == {p[0] for p in PEOPLE} and all("password" not in u for u in listed)


# -- who sees what --------------------------------------------------------------------------------

def test_nobody_signed_in_is_sent_to_sign_in_and_learns_nothing(site, store):
    anon = Browser(site.address)
    status, _, head = anon.get("/")
    assert status == 303 and head["location"].startswith("/login")
    some = calls_of(store)["wang"][0]
    for path in ("/api/calls", f"/audio/{some}"):
        status, body, _ = anon.get(path)
        assert status == 401 and "wang" not in body
    assert Browser(site.address).sign_in("li", "wrong password") == 401
    # the script's token still opens the API (read only)
    status, body, _ = anon.get("/api/calls?token=script-token&limit=1000")
    assert status == 200 and json.loads(body)["total"] == sum(len(v) for v in calls_of(store).values())


def test_an_agent_sees_only_their_own_calls_by_every_url(site, store):
    calls = calls_of(store)
    wang = signed_in(site, "wang")
    status, page, _ = wang.get("/")
    assert status == 200 and set(re.findall(r'<tr class="call" data-agent="([^"]*)"', page)) == {"wang"}
    items = json.loads(wang.get("/api/calls?limit=1000")[1])["items"]
    assert {i["agent"] for i in items} == {"wang"} and len(items) == len(calls["wang"])
    others = [c for a, ids in calls.items() if a != "wang" for c in ids]
    for cid in others[:3]:
        for path in (f"/calls/{cid}", f"/audio/{cid}"):
            status, body, _ = wang.get(path)
            assert status == 403 and "wang" not in body and "li" not in body, path
    assert wang.get("/calls/999999")[0] == 403  # a call that does not exist answers the same
    for path in ("/api/calls?agent=li", "/?agent=li"):
        assert wang.get(path)[0] == 403, path
    # the search box searches only their calls: a phrase said in other agents' calls finds none of them
    query = "/api/calls?" + urllib.parse.urlencode({"q": "与我无关", "limit": 1000})
    everyone = json.loads(signed_in(site, "li").get(query)[1])["items"]
    assert {i["agent"] for i in everyone} - {"wang"}  # other agents said it: a reviewer finds them
    found = json.loads(wang.get(query)[1])["items"]
    assert {i["agent"] for i in found} <= {"wang"}
    assert wang.get("/calls/%d" % calls["wang"][0])[0] == 200


def test_a_supervisor_sees_their_team_and_qa_sees_everyone(site, store):
    calls = calls_of(store)
    zhao = signed_in(site, "zhao")  # team north: wang
    items = json.loads(zhao.get("/api/calls?limit=1000")[1])["items"]
    assert {i["agent"] for i in items} == {"wang"}
    assert zhao.get(f"/calls/{calls['li'][0]}")[0] == 403
    li = signed_in(site, "li")
    items = json.loads(li.get("/api/calls?limit=1000")[1])["items"]
    assert {i["agent"] for i in items} == set(calls)


def test_a_removed_user_or_a_changed_password_ends_the_session(site, store):
    wang = signed_in(site, "wang")
    assert wang.get("/")[0] == 200
    r = CliRunner().invoke(main, ["users", "passwd", "wang", "--store", str(store), "--password-stdin"],
                           input="another long one\n")
    assert r.exit_code == 0, r.output
    assert wang.get("/")[0] == 303  # signed out
    assert Browser(site.address).sign_in("wang", "another long one") == 303
    zhao = signed_in(site, "zhao")
    assert CliRunner().invoke(main, ["users", "remove", "zhao", "--store", str(store)]).exit_code == 0
    assert zhao.get("/api/calls")[0] == 401


def test_sign_in_is_rate_limited_and_never_sends_you_elsewhere(site):
    b = Browser(site.address)
    csrf = b.csrf()
    codes = [b.post("/login", {"csrf": csrf, "user": "li", "password": f"guess {i}"})[0] for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    assert b.post("/login", {"csrf": csrf, "user": "li", "password": PASSWORD})[0] == 429  # even the right one, for now
    other = Browser(site.address)
    status, _, head = other.post("/login", {"csrf": other.csrf(), "user": "chen", "password": PASSWORD,
                                            "next": "//evil.example/"})
    assert status == 303 and head["location"] == "/"


def test_every_form_needs_the_sessions_csrf_token(site, store):
    cid = with_finding(store, "wang")
    rule = failed_rule(store, cid)
    li = signed_in(site, "li")
    assert li.post(f"/calls/{cid}/review", {"rule": rule, "human": "pass", "reason": "heard it"})[0] == 403
    assert li.post(f"/calls/{cid}/review", {"csrf": "forged", "rule": rule, "human": "pass", "reason": "x"})[0] == 403
    assert Browser(site.address).post("/login", {"user": "li", "password": PASSWORD})[0] == 403
    con = sqlite3.connect(str(store))
    assert con.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


# -- review ---------------------------------------------------------------------------------------

def test_a_review_changes_the_verdict_in_the_page_summary_exports_and_dashboard(site, store):
    cid = with_finding(store, "wang")
    rule = failed_rule(store, cid)
    before = json.loads(CliRunner().invoke(main, ["summary", "--store", str(store), "--json"]).stdout)
    li = signed_in(site, "li")
    page = li.get(f"/calls/{cid}")[1]
    machine = float(re.search(r'id="machine-score">([\d.]+)<', page).group(1))
    assert 'id="reviewed-score"' not in page
    status, _, head = li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"), "rule": rule,
                                                       "human": "pass", "reason": "the agent did say it"})
    assert status == 303 and head["location"].startswith(f"/calls/{cid}")
    page = li.get(f"/calls/{cid}")[1]
    reviewed = float(re.search(r'id="reviewed-score">([\d.]+)<', page).group(1))
    assert reviewed > machine and float(re.search(r'id="machine-score">([\d.]+)<', page).group(1)) == machine
    assert "the agent did say it" in page and "li" in page
    after = json.loads(CliRunner().invoke(main, ["summary", "--store", str(store), "--json"]).stdout)
    was = {r["rule"]: r for r in before["rules"]}[rule]
    now = {r["rule"]: r for r in after["rules"]}[rule]
    assert now["broken"] == was["broken"] - 1
    api = {i["id"]: i for i in json.loads(li.get("/api/calls?limit=1000")[1])["items"]}
    assert api[cid]["score"] == reviewed
    import csv

    rows = CliRunner().invoke(main, ["export", "--store", str(store), "--format", "csv", "--table", "rules"]).stdout
    exported = [r for r in csv.DictReader(rows.lstrip("\ufeff").splitlines()) if r["file"] == api[cid]["file"] and r["rule"] == rule]
    assert [r["status"] for r in exported] == ["pass"]
    # the trail keeps both reviews when a second reviewer says otherwise; the latest is the verdict
    chen = signed_in(site, "chen")
    chen.post(f"/calls/{cid}/review", {"csrf": chen.csrf(f"/calls/{cid}"), "rule": rule, "human": "fail",
                                       "reason": "no, it was not said"})
    con = sqlite3.connect(str(store))
    trail = con.execute("SELECT reviewer, machine, human FROM reviews WHERE call = ? ORDER BY id", (cid,)).fetchall()
    assert trail == [("li", "fail", "pass"), ("chen", "fail", "fail")]
    assert con.execute("SELECT score, machine_score FROM calls WHERE id = ?", (cid,)).fetchone() == (machine, None)


def test_an_agent_cannot_review_and_a_reviewer_cannot_review_what_is_not_there(site, store):
    cid = with_finding(store, "wang")
    wang = signed_in(site, "wang")
    assert wang.post(f"/calls/{cid}/review", {"csrf": wang.csrf(f"/calls/{cid}"), "rule": failed_rule(store, cid),
                                              "human": "pass", "reason": "I did"})[0] == 403
    li = signed_in(site, "li")
    status, body, _ = li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"), "rule": "no.such_rule",
                                                       "human": "pass", "reason": "x"})
    assert status == 400 and "no rule no.such_rule" in body
    status, body, _ = li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"),
                                                       "rule": failed_rule(store, cid), "human": "pass", "reason": ""})
    assert status == 400 and "reason" in body


def test_a_dispute_goes_round_and_the_agent_sees_the_outcome(site, store):
    cid = with_finding(store, "wang")
    rule = failed_rule(store, cid)
    wang = signed_in(site, "wang")
    page = wang.get(f"/calls/{cid}")[1]
    assert 'id="dispute-form"' in page and 'id="review-form"' not in page
    status, _, _ = wang.post(f"/calls/{cid}/dispute", {"csrf": wang.csrf(f"/calls/{cid}"), "rule": rule,
                                                       "comment": "我报了工号"})
    assert status == 303
    other = with_finding(store, "li")
    assert wang.post(f"/calls/{other}/dispute", {"csrf": wang.csrf(f"/calls/{cid}"), "rule": failed_rule(store, other),
                                                 "comment": "x"})[0] == 403  # not their call
    li = signed_in(site, "li")
    queue = li.get("/queue")[1]
    did = re.search(r'<tr class="dispute state-open" data-dispute="(\d+)"', queue).group(1)
    status, body, _ = li.post(f"/disputes/{did}/settle", {"csrf": li.csrf("/queue"), "decision": "reject", "note": ""})
    assert status == 400  # a rejection says why
    li.post(f"/disputes/{did}/settle", {"csrf": li.csrf("/queue"), "decision": "reject",
                                        "note": "工号 was not said in the opening"})
    page = wang.get(f"/calls/{cid}")[1]
    assert "rejected" in page and "工号 was not said in the opening" in page
    # disputed again, accepted this time: the verdict is corrected as a review that names the dispute
    wang.post(f"/calls/{cid}/dispute", {"csrf": wang.csrf(f"/calls/{cid}"), "rule": rule, "comment": "再听一下"})
    did2 = re.findall(r'data-dispute="(\d+)"', li.get("/queue")[1])[0]
    assert did2 != did
    li.post(f"/disputes/{did2}/settle", {"csrf": li.csrf("/queue"), "decision": "accept", "note": "heard it at 0:03"})
    con = sqlite3.connect(str(store))
    assert con.execute("SELECT human, dispute FROM reviews WHERE call = ?", (cid,)).fetchall() == [("pass", int(did2))]
    events = con.execute("SELECT dispute, who, state FROM dispute_events ORDER BY id").fetchall()
    assert events == [(int(did), "wang", "open"), (int(did), "li", "rejected"),
                      (int(did2), "wang", "open"), (int(did2), "li", "accepted")]
    assert "accepted" in wang.get(f"/calls/{cid}")[1] and 'id="reviewed-score"' in wang.get(f"/calls/{cid}")[1]
    assert li.post(f"/disputes/{did2}/settle", {"csrf": li.csrf("/queue"), "decision": "reject",
                                                "note": "again"})[0] == 400  # settled once, for good


def test_two_reviewers_saving_at_once_lose_no_write(site, store):
    calls = [c for ids in calls_of(store).values() for c in ids]
    li, chen = signed_in(site, "li"), signed_in(site, "chen")
    tokens = {id(li): li.csrf(f"/calls/{calls[0]}"), id(chen): chen.csrf(f"/calls/{calls[0]}")}
    con = sqlite3.connect(str(store))
    rules = {c: [r for (r,) in con.execute("SELECT rule FROM rule_results WHERE call = ? ORDER BY pos", (c,))][:4]
             for c in calls}
    failures: list = []
    start = threading.Barrier(2)

    def work(who: Browser, verdict: str) -> None:
        start.wait()
        for c in calls:
            for rule in rules[c]:
                status = who.post(f"/calls/{c}/review", {"csrf": tokens[id(who)], "rule": rule, "human": verdict,
                                                         "reason": f"{verdict} by ear"})[0]
                if status != 303:
                    failures.append(status)

    threads = [threading.Thread(target=work, args=(li, "pass")), threading.Thread(target=work, args=(chen, "fail"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures
    saved = con.execute("SELECT reviewer, count(*) FROM reviews GROUP BY 1 ORDER BY 1").fetchall()
    n = sum(len(v) for v in rules.values())
    assert saved == [("chen", n), ("li", n)]
    # the verdict of each rule is whichever reviewer saved last, and the tallies agree with the results
    latest = dict(((c, r), h) for c, r, h in con.execute("SELECT call, rule, human FROM reviews ORDER BY id"))
    now = {(c, r): s for c, r, s in con.execute("SELECT call, rule, status FROM rule_results")}
    assert all(now[k] == v for k, v in latest.items())
    tallied = dict(((r, s), n) for r, s, n in con.execute("SELECT rule, status, sum(n) FROM tally GROUP BY 1, 2"))
    counted = dict(((r, s), n) for r, s, n in con.execute("SELECT rule, status, count(*) FROM rule_results GROUP BY 1, 2"))
    assert tallied == counted


def test_calibrate_reads_the_stores_reviews(site, store):
    cid = with_finding(store, "wang")
    rule = failed_rule(store, cid)
    li = signed_in(site, "li")
    li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"), "rule": rule, "human": "pass", "reason": "x"})
    chen = signed_in(site, "chen")
    chen.post(f"/calls/{cid}/review", {"csrf": chen.csrf(f"/calls/{cid}"), "rule": rule, "human": "fail", "reason": "y"})
    r = CliRunner().invoke(main, ["calibrate", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["rules"][rule]["n"] == 2 and out["rules"][rule]["agreement"] == 0.5
    assert out["auditor_pairs"] == [{"auditors": ["chen", "li"], "n": 1, "agreement": 0.0}]
    assert out["differ"][0]["auditor"] == "li" and out["differ"][0]["scorer_says"] == "fail"


def test_a_store_without_reviews_says_so_to_calibrate(built, tmp_path):
    db = tmp_path / "r.db"
    shutil.copy(built, db)
    r = CliRunner().invoke(main, ["calibrate", "--store", str(db)])
    assert r.exit_code != 0 and "no reviews" in r.output


# -- the queue -------------------------------------------------------------------------------------

def test_the_queue_samples_each_agent_and_counts_what_is_done(site, store):
    from phonecoach.archive.review import queue
    from phonecoach.judging.model import ReviewShares

    con = sqlite3.connect(str(store))
    week = con.execute("SELECT week FROM calls GROUP BY week ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    items = queue(con, "li", week, ReviewShares(lowest=0.1, least_trusted=0.1, random=0.1))
    agents = {a for (a,) in con.execute("SELECT DISTINCT agent FROM calls WHERE week = ?", (week,))}
    assert {q["agent"] for q in items} == agents  # every agent is heard
    for agent in agents:
        theirs = con.execute("SELECT id, score FROM calls WHERE week = ? AND agent = ? ORDER BY score, id",
                             (week, agent)).fetchall()
        mine = [q for q in items if q["agent"] == agent]
        assert any(q["call"] == theirs[0][0] and q["why"] == "lowest score" for q in mine)
        assert any(q["why"] == "random" for q in mine) or len(theirs) == 1
    assert items == queue(con, "li", week, ReviewShares())  # stable for the reviewer and week
    li = signed_in(site, "li")
    page = li.get("/queue?week=" + urllib.parse.quote(week))[1]
    left = int(re.search(r'id="left">(\d+) left', page).group(1))
    cid = items[0]["call"]
    li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"), "rule": failed_rule(store, cid),
                                     "human": "pass", "reason": "heard"})
    page = li.get("/queue?week=" + urllib.parse.quote(week))[1]
    assert int(re.search(r'id="left">(\d+) left', page).group(1)) == left - 1
    assert re.search(r'id="done">1 done', page)
    assert signed_in(site, "wang").get("/queue")[0] == 403  # agents have no queue


def test_a_pack_sets_the_queue_shares_and_refuses_bad_ones(tmp_path):
    from phonecoach.judging.rulepack import RulePackError, load_pack

    src = (Path(__file__).resolve().parent.parent / "rules" / "zh-CN.toml").read_text(encoding="utf-8")
    p = tmp_path / "pack.toml"
    p.write_text(src.replace("random = 0.1 ", "random = 0.25"), encoding="utf-8")
    assert load_pack(p).review.random == 0.25
    p.write_text(src.replace("random = 0.1 ", "random = 2.0"), encoding="utf-8")
    with pytest.raises(RulePackError, match="review.random must be a share"):
        load_pack(p)


def test_a_store_of_the_previous_schema_gains_reviews(built, tmp_path):
    db = tmp_path / "r.db"
    shutil.copy(built, db)
    con = sqlite3.connect(str(db))
    con.execute("ALTER TABLE calls DROP COLUMN machine_score")
    con.execute("ALTER TABLE rule_results DROP COLUMN machine_status")
    for t in ("dispute_events", "disputes", "reviews", "users"):
        con.execute(f"DROP TABLE {t}")
    con.execute("PRAGMA user_version=3")
    con.commit()
    con.close()
    before = CliRunner().invoke(main, ["summary", "--store", str(db), "--json"])
    assert before.exit_code == 0, before.output
    con = sqlite3.connect(str(db))
    assert con.execute("SELECT count(machine_score) FROM calls").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_a_customers_number_typed_into_a_review_is_masked_before_it_is_kept(site, store):
    cid = with_finding(store, "wang")
    li = signed_in(site, "li")
    li.post(f"/calls/{cid}/review", {"csrf": li.csrf(f"/calls/{cid}"), "rule": failed_rule(store, cid),
                                     "human": "pass", "reason": "客户报了手机13812345678，坐席复述正确"})
    page = signed_in(site, "wang").get(f"/calls/{cid}")[1]
    assert "[手机号]" in page and "13812345678" not in page
    con = sqlite3.connect(str(store))
    assert con.execute("SELECT reason FROM reviews").fetchone() == ("客户报了手机[手机号]，坐席复述正确",)
