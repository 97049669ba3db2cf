"""The floor view through a real redis-server on 127.0.0.1: a replayed session's warnings reach
the floor's SSE stream and /agents; Redis stopped mid-call and started again loses nothing that
fit in the buffer; a wrong token gets 403; warning text shows as text in a real browser."""
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from phonecoach.cli.main import main
from phonecoach.core.alerts import LiveWarning
from phonecoach.sinks.floor import FloorState, FloorView
from phonecoach.sinks.publish import RedisPublisher, stream_key

from .test_live_replay import signal_call  # noqa: F401 - the fixture


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """redis-server from Debian on a free port, with an append-only file so a restart keeps the stream."""

    def __init__(self, folder) -> None:
        self.port, self.folder, self.proc = free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def floor_view(redis_server):
    view = FloorView(redis_server.url, "test", "127.0.0.1", 0)
    view.start()
    yield view
    view.stop()


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def follow(url: str, out: list, stop: threading.Event) -> None:
    with urllib.request.urlopen(url, timeout=30) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
            if stop.is_set():
                return


def wait(condition, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_floor_state_follows_a_call_from_start_to_end():
    state = FloorState()
    entry = lambda kind, data, at=100.0: {"kind": kind, "session": "wang", "at": str(at),  # noqa: E731
                                          "data": json.dumps(data)}
    state.apply("1-0", entry("start", {"name": "wang"}))
    w = LiveWarning("never.shift_blame", "msg", "fix", "critical", 5.0, 5.2, "与我无关").to_dict()
    change = state.apply("2-0", entry("warning", w, 105.0))
    assert change["agent"]["on_call"] and change["agent"]["warnings"] == 1
    state.apply("3-0", entry("score", {"score": 88.5}))
    state.apply("4-0", entry("end", {"score": 70.0}, 160.0))
    a = state.snapshot()["agents"][0]
    assert (a["name"], a["on_call"], a["warnings"], a["score"], a["call_seconds"]) == ("wang", False, 1, 70.0, 60.0)
    assert a["by_severity"] == {"critical": 1} and a["last_warning"]["rule"] == "never.shift_blame"
    assert state.apply("5-0", {"kind": "warning", "session": "x", "data": "{not json"}) is None
    # the publisher's clock may still send a running score after the end: the report's score stands
    state.apply("6-0", entry("score", {"score": 88.5}, 161.0))
    assert state.snapshot()["agents"][0]["score"] == 70.0



def test_the_floor_marks_an_agent_whose_caller_complains_until_the_next_call(pack):
    from phonecoach.core.timeline import Utterance
    from phonecoach.live.judge import LiveJudge

    notices: list[LiveWarning] = []
    judge = LiveJudge(pack, ["agent", "customer"], notices.append)  # the notice as the live judge makes it
    judge.on_final(Utterance("agent", "您好，我是小王，请问有什么可以帮您", 0.0, 3.0), now=3.5)
    judge.on_final(Utterance("customer", "你们怎么回事啊，我要投诉", 4.0, 6.0), now=6.5)
    state = FloorState()
    entry = lambda kind, data, at=100.0: {"kind": kind, "session": "li", "at": str(at),  # noqa: E731
                                          "data": json.dumps(data)}
    state.apply("1-0", entry("start", {"name": "li"}))
    for k, w in enumerate(notices):
        state.apply(f"{k + 2}-0", entry("warning", w.to_dict()))
    a = state.snapshot()["agents"][0]
    assert a["upset"] and a["upset_since"] == 4.0
    assert a["warnings"] == 0  # a notice is not a broken rule: no count, no score change
    state.apply("9-0", entry("start", {"name": "li"}, 200.0))
    assert not state.snapshot()["agents"][0]["upset"]

def test_floor_state_follows_a_shift_idle_between_calls_with_the_shift_so_far():
    state = FloorState()
    entry = lambda kind, data, at: {"kind": kind, "session": "wang", "at": str(at),  # noqa: E731
                                    "data": json.dumps(data)}
    state.apply("1-0", entry("shift", {"state": "started", "name": "wang"}, 100.0))
    a = state.snapshot()["agents"][0]
    assert not a["on_call"] and a["shift"] == {"started_at": 100.0, "ended": False, "calls": 0, "mean_score": None}
    state.apply("2-0", entry("start", {"call": "001"}, 110.0))
    state.apply("3-0", entry("warning", LiveWarning("never.shift_blame", "m", "f", "critical", 5.0, 5.2).to_dict(), 115.0))
    assert state.snapshot()["agents"][0]["on_call"]
    state.apply("5-0", entry("start", {"call": "002"}, 200.0))
    # call 001's report (and its last warning) came after call 002 began: 002 goes on
    late = LiveWarning("close.anything_else", "m", "f", "minor", 60.0, 61.0, call="001").to_dict()
    state.apply("4-0", entry("warning", late, 201.0))
    state.apply("4-1", entry("end", {"call": "001", "score": 80.0}, 202.0))
    a = state.snapshot()["agents"][0]
    assert a["on_call"] and a["warnings"] == 0 and a["shift"]["calls"] == 1  # this call's warnings only
    assert a["score"] == 100.0 and state.snapshot()["recent"][-1]["rule"] == "close.anything_else"
    state.apply("4-2", entry("score", {"call": "001", "score": 60.0}, 203.0))  # 001's clock, late
    assert state.snapshot()["agents"][0]["score"] == 100.0
    state.apply("6-0", entry("end", {"call": "002", "score": 91.0}, 260.0))
    state.apply("7-0", entry("shift", {"state": "ended", "calls": 2}, 300.0))
    a = state.snapshot()["agents"][0]
    assert not a["on_call"] and a["shift"] == {"started_at": 100.0, "ended": True, "calls": 2, "mean_score": 85.5}


def test_a_shifts_earlier_report_finishing_after_the_last_calls_does_not_replace_it():
    """The last call's report can reach the floor before the one of the call before it (each
    report finishes on its own): the agent's score and final stay the last call's."""
    state = FloorState()
    entry = lambda kind, data, at: {"kind": kind, "session": "li", "at": str(at),  # noqa: E731
                                    "data": json.dumps(data)}
    state.apply("1-0", entry("start", {"call": "001"}, 100.0))
    state.apply("2-0", entry("start", {"call": "002"}, 130.0))
    state.apply("3-0", entry("end", {"call": "002", "score": 89.1}, 150.0))
    state.apply("4-0", entry("end", {"call": "001", "score": 100.0}, 151.0))
    a = state.snapshot()["agents"][0]
    assert not a["on_call"] and a["score"] == 89.1 and a["final"]["call"] == "002"
    state.apply("5-0", entry("end", {"call": "007", "score": 70.0}, 160.0))  # its start never seen: the latest
    assert state.snapshot()["agents"][0]["score"] == 70.0


@pytest.mark.slow
def test_a_replayed_session_reaches_the_floor_stream_and_agents(redis_server, floor_view, signal_call, tmp_path):  # noqa: F811
    events, stop = [], threading.Event()
    reader = threading.Thread(target=follow, args=(floor_view.address + "/events", events, stop), daemon=True)
    reader.start()
    wait(lambda: events and events[0]["kind"] == "snapshot")
    r = CliRunner().invoke(main, ["live", "--replay", str(signal_call[0]), "--speed", "0", "--jsonl", "--name", "wang",
                                  "--publish", redis_server.url, "--floor", "test", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    sent = [json.loads(x) for x in (tmp_path / "s" / "warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    report = json.loads((tmp_path / "s" / "report.json").read_text(encoding="utf-8"))
    assert len(sent) >= 4
    wait(lambda: any(e["kind"] == "end" for e in events))
    stop.set()
    on_floor = [e["data"] for e in events if e["kind"] == "warning"]
    assert [(w["rule"], w["t_audio"]) for w in on_floor] == [(w["rule"], w["t_audio"]) for w in sent]
    agents = get_json(floor_view.address + "/agents")
    assert [a["name"] for a in agents] == ["wang"]
    wang = agents[0]
    assert not wang["on_call"] and wang["warnings"] == len(sent) and wang["score"] == report["score"]
    assert wang["last_warning"]["rule"] == sent[-1]["rule"]
    # a page opened later sees the shift so far: a new floor process reads the stream's history
    late = FloorView(redis_server.url, "test", "127.0.0.1", 0)
    late.start()
    try:
        wait(lambda: get_json(late.address + "/agents") == get_json(floor_view.address + "/agents"), 10)
    finally:
        late.stop()


@pytest.mark.slow
def test_redis_stopped_mid_call_and_back_loses_nothing(redis_server, floor_view, signal_call, tmp_path):  # noqa: F811
    import os
    import sys

    session = subprocess.Popen([sys.executable, "-m", "phonecoach", "live", "--replay", str(signal_call[0]),
                                "--speed", "8", "--jsonl", "--name", "li", "--publish", redis_server.url,
                                "--floor", "test", "--out", str(tmp_path / "s")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PHONECOACH_MODELS_DIR": str(tmp_path / "no-models")})
    wait(lambda: get_json(floor_view.address + "/agents"))  # it started, and the floor saw it
    redis_server.stop()
    time.sleep(4.0)  # warnings keep coming while Redis is away
    redis_server.start()
    _, stderr = session.communicate(timeout=120)
    assert session.returncode == 0, stderr
    assert "error" not in stderr and " 0 reconnections" not in stderr and "reconnections" in stderr
    sent = [json.loads(x) for x in (tmp_path / "s" / "warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    wait(lambda: get_json(floor_view.address + "/agents")[0]["warnings"] == len(sent)
         and not get_json(floor_view.address + "/agents")[0]["on_call"], 20)
    detail = get_json(floor_view.address + "/agents/li")
    assert [w["rule"] for w in detail["call_warnings"]] == [w["rule"] for w in sent]


def test_publisher_buffers_while_redis_is_away_and_counts_what_it_drops(tmp_path):
    server = RedisServer(tmp_path)  # not started yet: Redis is away from the first entry
    pub = RedisPublisher(server.url, "zhao", {"a": 1.0, "b": 1.0}, "test", buffer=5)
    pub.start({"name": "zhao"})
    for i in range(9):
        pub(LiveWarning("a", f"m{i}", "fix", "minor", float(i), float(i)))
    server.start()
    try:
        st = pub.close(timeout=20)
        # 11 entries (the start, 9 warnings, the running score after the first): the newest 5 kept
        assert st["dropped"] == 6 and st["sent"] == 5 and st["unsent"] == 0
        import redis

        entries = redis.Redis.from_url(server.url, decode_responses=True).xrange(stream_key("test"))
        assert [json.loads(f["data"]).get("message") for _, f in entries][-4:] == ["m5", "m6", "m7", "m8"]
    finally:
        server.stop()


def test_floor_token_and_escaping_in_a_browser(redis_server, tmp_path):
    view = FloorView(redis_server.url, "test", "127.0.0.1", 0, token="s3cret")
    view.start()
    try:
        for url in (view.address + "/agents", view.address + "/agents?token=nope", view.address + "/"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url, timeout=5)
            assert e.value.code == 403
        assert get_json(view.address + "/agents?token=s3cret") == []
        req = urllib.request.Request(view.address + "/agents", headers={"Authorization": "Bearer s3cret"})
        assert json.loads(urllib.request.urlopen(req, timeout=5).read()) == []
    finally:
        view.stop()
    with pytest.raises(ValueError, match="give --token"):
        FloorView(redis_server.url, "test", "0.0.0.0", 0)


@pytest.mark.slow
def test_warning_words_with_html_show_as_text_on_the_floor_page(redis_server, floor_view):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    pub = RedisPublisher(redis_server.url, "<b>zhou</b>", {"never.shift_blame": 5.0}, "test")
    pub.start({"name": "<b>zhou</b>"})
    pub(LiveWarning("never.shift_blame", "msg", "fix", "critical", 3.0, 3.1, '<img src=x onerror="window.__pwned=1">'))
    assert pub.close()["sent"] == 3
    wait(lambda: get_json(floor_view.address + "/agents"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(floor_view.address + "/")
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, "tr.agent"))
        row = driver.find_element(By.CSS_SELECTOR, "tr.agent")
        assert row.find_element(By.CSS_SELECTOR, "td").text == "<b>zhou</b>"
        assert '<img src=x onerror="window.__pwned=1">' in row.text
        assert driver.execute_script("return window.__pwned === undefined && document.querySelectorAll('main img').length === 0")
        row.click()
        wait(lambda: driver.find_element(By.ID, "detail-list").text)
        assert "never.shift_blame" in driver.find_element(By.ID, "detail-list").text
    finally:
        driver.quit()
