"""The live session under hostile conditions: a closed stdout, a failing worker, dropped blocks,
two sessions at once, a kill -9, Ctrl-C pressed twice, --seconds at full speed, a sink that
blocks, a connection flood on the supervisor feed. Each once hung, lost data or mis-timed."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest
import soundfile as sf

from phonecoach.core.errors import PhonecoachError
from phonecoach.inputs.synth import Pause, Turn, build_call
from phonecoach.live import session as session_mod
from phonecoach.live.session import LiveSession, new_session_folder
from phonecoach.live.sources import Block, SourceStats, make_queues
from phonecoach.sinks import feed as feed_mod

A, C = "agent", "customer"
SR = 16000


@pytest.fixture(scope="module")
def call_wav(tmp_path_factory, espeak):
    call = build_call([Turn(A, "您好，我是客服小王，请问有什么可以帮您？", gap=0.3),
                       Turn(C, "我想问一下我的账单"), Turn(A, "这个与我无关", gap=4.0), Pause(12.0),
                       Turn(A, "好的，再见")])
    path = tmp_path_factory.mktemp("hl") / "call.wav"
    call.write(path)
    return path


class ListSource:
    """Blocks given up front (with their audio times), as a device or replay would queue them."""

    def __init__(self, blocks: dict[str, list[Block]]):
        self.queues = make_queues(list(blocks), 10_000)
        self.blocks = blocks
        self.stats = SourceStats()
        self.done = threading.Event()

    def start(self):
        for party, bs in self.blocks.items():
            for b in bs:
                self.queues[party].put(b)
        self.done.set()

    def stop(self):
        pass


def blocks(party, seconds, skip=()):
    n = int(0.1 * SR)
    rng = np.random.default_rng(0)
    return [Block(party, i / 10, (rng.normal(0, 0.01, n)).astype(np.float32))
            for i in range(int(seconds * 10)) if i not in skip]


def run_with_timeout(session, seconds=60.0):
    box = {}
    t = threading.Thread(target=lambda: box.update(result=_try(session.run)), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the session hung"
    return box["result"]


def _try(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return exc


def test_dropped_blocks_are_filled_with_silence_and_noted(pack, tmp_path):
    src = ListSource({A: blocks(A, 6.0, skip=range(20, 30)), C: blocks(C, 6.0)})
    result = run_with_timeout(LiveSession(pack, src, None, tmp_path / "s"))
    assert sf.info(str(tmp_path / "s" / "agent.wav")).duration == pytest.approx(6.0, abs=0.01)  # one clock
    assert result.stats["dropped"][A] == {"gaps": 1, "seconds_filled": 1.0}
    assert result.stats["dropped"][C]["gaps"] == 0
    assert any("filled with silence" in n for n in result.report.notes)


def test_a_failing_worker_ends_the_session_with_one_line(pack, tmp_path, monkeypatch):
    real = session_mod.GrowingWav.write

    def full_disk(self, samples):
        if self.path.name == f"{A}.wav":  # the agent's recording cannot be written
            raise OSError(28, "No space left on device")
        return real(self, samples)

    monkeypatch.setattr(session_mod.GrowingWav, "write", full_disk)
    src = ListSource({A: blocks(A, 30.0), C: blocks(C, 30.0)})
    got = run_with_timeout(LiveSession(pack, src, None, tmp_path / "s"))
    assert isinstance(got, PhonecoachError) and "No space left" in str(got)
    assert sf.info(str(tmp_path / "s" / "customer.wav")).frames > 0  # what was captured is kept


def test_a_blocking_sink_does_not_hold_the_judge(pack, tmp_path, call_wav):
    from phonecoach.live.sources import ReplaySource

    release = threading.Event()
    seen = []

    def stuck(w):
        seen.append(w)
        release.wait(60)

    src = ReplaySource(str(call_wav), speed=0)
    end = max(len(x) for x in src.call.parties.values()) / SR
    session = LiveSession(pack, src, None, tmp_path / "s", stuck)
    t = threading.Thread(target=session.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    heard = lambda: min(session.judge.heard, session.judge.hearing + 0.7)  # noqa: E731 - recognisers and listener
    while heard() < end - 0.2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert heard() >= end - 0.2  # the judge heard the whole call while the sink was stuck
    assert len(seen) == 1  # and the sink is still holding its first warning
    release.set()
    t.join(60)
    assert not t.is_alive()
    saved = [json.loads(x) for x in (tmp_path / "s" / "warnings.jsonl").read_text().splitlines()]
    assert len(saved) == len(session.judge.warnings)


def test_two_sessions_never_share_a_folder(pack, tmp_path):
    a, b = new_session_folder(tmp_path), new_session_folder(tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    used = tmp_path / "used"
    used.mkdir()
    (used / "agent.wav").write_bytes(b"old session")
    with pytest.raises(PhonecoachError, match="already holds a session"):
        LiveSession(pack, ListSource({A: []}), None, used)
    assert (used / "agent.wav").read_bytes() == b"old session"


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "phonecoach.cli", "live", *map(str, args)],
                            stdout=kw.get("stdout", subprocess.PIPE), stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_seconds_at_full_speed_stops_on_audio_time(call_wav, tmp_path):
    proc = cli("--replay", call_wav, "--speed", 0, "--seconds", 3, "--jsonl", "--out", tmp_path / "s")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    seconds = json.loads((tmp_path / "s" / "report.json").read_text())["session"]["audio_seconds"]
    assert 3.0 <= seconds < 4.5


def test_a_closed_stdout_does_not_stop_the_session(call_wav, tmp_path):
    r, w = os.pipe()
    proc = cli("--replay", call_wav, "--speed", 0, "--jsonl", "--out", tmp_path / "s", stdout=w)
    os.close(w)
    os.close(r)  # the reader went away before the first warning
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert (tmp_path / "s" / "report.json").exists()
    assert (tmp_path / "s" / "warnings.jsonl").read_text().strip()  # saving went on


def test_ctrl_c_twice_keeps_the_report(call_wav, tmp_path):
    proc = cli("--replay", call_wav, "--jsonl", "--out", tmp_path / "s")
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert json.loads((tmp_path / "s" / "report.json").read_text())["rules"]


@pytest.mark.slow
def test_a_killed_session_leaves_wavs_whose_header_is_right(call_wav, tmp_path):
    proc = cli("--replay", call_wav, "--jsonl", "--out", tmp_path / "s")
    time.sleep(4.0)
    proc.kill()
    proc.wait()
    raw = (tmp_path / "s" / "agent.wav").read_bytes()
    data = raw.find(b"data")
    size = struct.unpack("<I", raw[data + 4:data + 8])[0]
    assert size > 0 and size <= len(raw) - data - 8
    assert struct.unpack("<I", raw[4:8])[0] > 0
    assert sf.info(str(tmp_path / "s" / "agent.wav")).duration >= 1.5


def test_feed_survives_a_connection_flood():
    feed = feed_mod.WarningFeed("127.0.0.1", 0)
    feed.start()
    port = int(feed.address.rsplit(":", 1)[1])
    idle = []
    threads = threading.active_count()
    try:
        for _ in range(300):  # never send a request line: asyncio holds them without a thread each
            s = socket.create_connection(("127.0.0.1", port))
            idle.append(s)
        with urllib.request.urlopen(f"{feed.address}/warnings", timeout=5) as resp:
            assert json.loads(resp.read()) == []
        assert threading.active_count() <= threads + 2
    finally:
        for s in idle:
            s.close()
        feed.stop()


def test_wrong_token_is_refused():
    feed = feed_mod.WarningFeed("127.0.0.1", 0, token="s3cret")
    feed.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{feed.address}/warnings?token=nope", timeout=5)
        assert e.value.code == 403
    finally:
        feed.stop()
