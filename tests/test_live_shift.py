"""A whole shift: calls found in a day of audio (heard, or marked by the phone system), each
coached and reported as if it had been scored alone; the floor, batch and crashes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from phonecoach.core.settings import MeasureSettings
from phonecoach.inputs.audio import load_call
from phonecoach.inputs.synth import lay_out_shift
from phonecoach.live.boundaries import CallFinder
from phonecoach.live.marks import MarkInbox, parse_mark

from .test_floor import free_port, get_json, redis_server, wait  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SR = 16000
# each ends its own way: disconnect tone, tone, the agent hanging up (no tone: idle), tone, tone
DAY = ["blame_call", "good_call", "slow_answer_call", "hold_call", "transfer_call"]
GAPS = [9.0, 6.0, 75.0, 12.0, 8.0]


def stereo(name: str) -> np.ndarray:
    c = load_call(SAMPLES / f"{name}.flac")
    return np.stack([c.parties["agent"], c.parties["customer"]], axis=1)


def write_day(path: Path, names: list[str], gaps: list[float] = GAPS):
    day = lay_out_shift([stereo(n) for n in names], gaps)
    sf.write(str(path), day.stereo, SR, subtype="FLOAT")
    return day


def heard(day) -> list[tuple[str, float, str]]:
    finder = CallFinder(["agent", "customer"], SR, MeasureSettings())
    out = []
    for i in range(0, len(day.stereo), 1600):
        frame = {"agent": day.stereo[i:i + 1600, 0], "customer": day.stereo[i:i + 1600, 1]}
        out += [(b.kind, b.at, b.why) for b in finder.feed(i / SR, frame)]
    return out


def first_sound(x: np.ndarray) -> float:
    """Where a sample call's first sound is (above its line noise)."""
    loud = np.flatnonzero(np.max(np.abs(x), axis=1) > 0.01)
    return loud[0] / SR


def phonecoach(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "phonecoach", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


# -- hearing where calls are -----------------------------------------------------------------

def test_calls_are_found_where_they_are_and_lines_going_down_end_them():
    day = lay_out_shift([stereo(n) for n in DAY], GAPS)
    found = heard(day)
    starts = [(at, why) for kind, at, why in found if kind == "start"]
    ends = [(at, why) for kind, at, why in found if kind == "end"]
    assert len(starts) == 5 and len(ends) == 5  # the last call too: its line went down before the day ended
    for i, (name, (a, b)) in enumerate(zip(DAY, day.calls)):
        sound = a + first_sound(stereo(name))
        assert sound - 3.0 <= starts[i][0] <= sound, (name, starts[i], sound)  # nothing of the call is lost
        if i < 4:
            assert ends[i][0] <= day.calls[i + 1][0]  # and nothing of the next one taken
    # the agent hung up slow_answer_call without a tone, and transfer_call's recording simply ends:
    # the softphone's output (the customer's line) goes to digital silence, the line is down
    assert [why for _, why in ends] == ["disconnect tone", "disconnect tone", "line down", "disconnect tone",
                                        "line down"]
    assert starts[1][1] == "ringback" and starts[2][1] == "ringback"  # good_call, slow_answer_call ring first
    # the disconnect tone ends the call at once; a line down two seconds after its last sound
    for (end, why), (a, b) in zip(ends, day.calls):
        if why == "disconnect tone":
            assert b - 3.0 <= end <= b + 0.5
        else:
            assert b - 3.0 <= end <= b + 2.2


def test_idle_lines_end_a_call_where_the_line_cannot_tell():
    """A line that is digitally silent in its own pauses (silence suppression) says nothing by
    going silent: there the idle limit ends the call, as before."""
    calls = [stereo("slow_answer_call"), stereo("transfer_call")]
    for c in calls:
        quiet = np.abs(c[:, 1]) < 0.003  # the customer's line sends nothing in its pauses
        c[quiet, 1] = 0.0
    day = lay_out_shift(calls, [75.0, 5.0])
    ends = [(at, why) for kind, at, why in heard(day) if kind == "end"]
    assert ends and ends[0][1] == "idle", ends
    assert day.calls[0][1] <= ends[0][0] <= day.calls[0][1] + 16.0


def test_a_colleague_at_the_desk_between_calls_is_not_a_call():
    talk = stereo("blame_call")[: 10 * SR].copy()
    talk[:, 1] = 0.0  # the agent talking with the softphone silent
    day = lay_out_shift([talk, stereo("transfer_call")], [8.0, 5.0])
    found = heard(day)
    assert [k for k, _, _ in found] == ["start", "end"]  # the call, ended when its line went down
    assert found[0][1] >= day.calls[1][0] - 1.0


def test_back_to_back_calls_are_split_where_the_line_goes_down_or_the_next_rings():
    day = lay_out_shift([stereo("slow_answer_call"), stereo("transfer_call")], [20.0, 5.0])
    found = heard(day)  # the agent hung up without a tone, the next caller spoke 20 s later
    assert [(k, w) for k, _, w in found][:3] == [("start", "ringback"), ("end", "line down"), ("start", "speech")]
    assert day.calls[0][1] - 3.0 <= found[1][1] <= day.calls[0][1] + 2.2
    rung = lay_out_shift([stereo("transfer_call"), stereo("slow_answer_call")], [20.0, 5.0])
    found = heard(rung)  # the same, but the next call rings first
    assert [(k, w) for k, _, w in found][:3] == [("start", "speech"), ("end", "line down"), ("start", "ringback")]
    (_, end, _), (_, start, _) = found[1:3]
    assert end <= rung.calls[1][0] and start <= rung.calls[1][0] + 0.1


def room(day, seed: int = 5, level_db: float = -48.0):
    """The agent's room between calls on the headset: a fan's hum and keyboard clicks, louder
    than a line's hiss (the customer's line stays digitally silent, as a softphone's output is)."""
    rng = np.random.default_rng(seed)
    x = day.stereo.copy()
    idle = np.ones(len(x), bool)
    for a, b in day.calls:
        idle[int(a * SR): int(b * SR)] = False
    n = int(idle.sum())
    hum = 10 ** (level_db / 20) * (rng.standard_normal(n) + np.sin(2 * np.pi * 100 * np.arange(n) / SR))
    clicks = np.zeros(n)
    for at in rng.integers(0, max(1, n - 400), size=n // (SR // 3)):  # three keystrokes a second
        clicks[at: at + 400] += rng.standard_normal(400) * np.exp(-np.arange(400) / 60) * 0.05
    x[idle, 0] += (hum + clicks).astype(np.float32)
    return x


@pytest.mark.parametrize("gaps", [[10.0, 30.0, 15.0, 25.0], [25.0, 25.0, 25.0, 25.0]])
def test_back_to_back_calls_with_nothing_marking_them_are_found_one_by_one(gaps):
    """Four calls 10-30 s apart (the after-call work), room noise on the agent's headset
    between them, no ringback for the auto-answered ones, no marks: four calls, each found
    within 3 s of where it begins and ended before the next."""
    names = ["blame_call", "hold_call", "slow_answer_call", "good_call"]
    day = lay_out_shift([stereo(n) for n in names], gaps)
    day = type(day)(room(day), day.sr, day.calls)
    found = heard(day)
    starts = [at for kind, at, _ in found if kind == "start"]
    ends = [at for kind, at, _ in found if kind == "end"]
    assert len(starts) == 4, found
    for i, (a, b) in enumerate(day.calls):
        assert a - 3.0 <= starts[i] <= a + first_sound(stereo(names[i])) and starts[i] <= a + 3.0, (i, found)
        assert b - 3.0 <= ends[i] <= (day.calls[i + 1][0] if i + 1 < 4 else b + 3.0), (i, found)


@pytest.mark.parametrize("hold", ["music", "line noise"])
def test_a_two_minute_hold_stays_inside_its_call(hold):
    """A hold of two minutes more, with the hold music of the sample or only the lines' hiss on
    both sides (nobody speaks, nothing rings): still one call, ended where it ends."""
    x = stereo("hold_call")
    a, b = int(14 * SR), int(24 * SR)  # inside the sample's hold
    piece = x[a:b].copy()
    if hold == "line noise":
        rng = np.random.default_rng(2)
        piece = (rng.standard_normal(piece.shape) * 10 ** (-62 / 20)).astype(np.float32)
    longer = np.concatenate([x[:b], np.tile(piece, (12, 1)), x[b:]])
    day = lay_out_shift([longer, stereo("transfer_call")], [15.0, 5.0])
    found = heard(day)
    assert [k for k, _, _ in found] == ["start", "end", "start", "end"], found
    assert found[1][1] >= day.calls[0][1] - 3.0 and found[2][1] >= day.calls[0][1]


def test_mark_lines():
    assert parse_mark("start 8812 13800138000") == parse_mark("START 8812 13800138000 ")
    m = parse_mark("start A-1 138 at=12.5")
    assert (m.kind, m.call_id, m.caller, m.at) == ("start", "A-1", "138", 12.5)
    assert parse_mark("end").kind == "end" and parse_mark("start").call_id is None
    for bad in ("hello", "end 12", "start a b c", "start at=-1", "start at=nan", "start \x1b[2J"):
        with pytest.raises(ValueError):
            parse_mark(bad)
    inbox = MarkInbox()
    for line in ("start 1 at=10", "end", "start 2 at=5"):
        inbox.put(parse_mark(line))
    assert inbox.due(9.0) == []  # a timed mark waits, and those after it keep their order
    assert [m.kind for m in inbox.due(10.5)] == ["start", "end", "start"]


# -- the whole path, real Vosk ----------------------------------------------------------------

def scored_alone(pack, ko_model, stretch: np.ndarray, tmp: Path) -> dict:
    from phonecoach.pipeline import ScoreOptions, score_call

    sf.write(str(tmp), stretch, SR, subtype="FLOAT")
    return json.loads(json.dumps(score_call(pack, tmp, None, ScoreOptions(model=str(ko_model))).to_dict(),
                                 ensure_ascii=False))


ABOUT = ("file", "notes", "session", "call", "shift_offset", "call_id", "caller", "started_at", "started_by")


@pytest.mark.slow
def test_a_replayed_shift_gives_one_folder_per_call_each_as_if_scored_alone(ko_model, pack, tmp_path):
    names = ["blame_call", "slow_answer_call", "hold_call", "transfer_call"]
    day = write_day(tmp_path / "day.wav", names, [10.0, 25.0, 12.0, 8.0])  # the after-call work between
    out = tmp_path / "shift"
    p = phonecoach("live", "--shift", "--replay", str(tmp_path / "day.wav"), "--speed", "0", "--model", str(ko_model),
                   "--out", str(out), "--jsonl", "--name", "wang", stdin=subprocess.DEVNULL)
    stdout, stderr = p.communicate(timeout=900)
    assert p.returncode == 0, stderr
    index = json.loads((out / "shift.json").read_text(encoding="utf-8"))
    assert index["ended"] and [c["call"] for c in index["calls"]] == ["001", "002", "003", "004"]
    lines = [json.loads(x) for x in stdout.splitlines()]
    assert lines and {w["call"] for w in lines} <= {"001", "002", "003", "004"} and len({w["call"] for w in lines}) >= 3
    whole = day.stereo
    for c, (a, b) in zip(index["calls"], day.calls):
        folder = out / c["call"]
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        assert report["shift_offset"] == c["shift_offset"] and report["call"] == c["call"]
        saved = [w for w in map(json.loads, (folder / "warnings.jsonl").read_text(encoding="utf-8").splitlines())]
        assert all(w["call"] == c["call"] for w in saved)
        assert [w for w in lines if w["call"] == c["call"]] == saved
        assert c["shift_offset"] <= a + first_sound(stereo(names[len([x for x in day.calls if x[0] < a])]))
        start = int(round(c["shift_offset"] * SR))
        n = sf.info(str(folder / "agent.wav")).frames
        assert abs(n / SR - c["duration"]) < 1e-3
        alone = scored_alone(pack, ko_model, whole[start:start + n], tmp_path / f"{c['call']}.wav")
        mine = {k: v for k, v in report.items() if k not in ABOUT}
        assert mine == {k: v for k, v in alone.items() if k not in ABOUT}, c["call"]
        assert (folder / "report.html").is_file()
    assert [c["ended_by"] for c in index["calls"]] == ["disconnect tone", "line down", "disconnect tone", "line down"]

    # the QA store takes the shift's calls as an archive, on the shift's clock
    db = tmp_path / "calls.db"
    r = subprocess.run([sys.executable, "-m", "phonecoach", "batch", str(out), "--store", str(db), "--model",
                        str(ko_model)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    from phonecoach.archive.store import Store
    from phonecoach.core.timeline import local_time

    stored = sorted(Store(db).calls(errors=False), key=lambda rec: rec.started_at or "")
    assert len(stored) == 4 and {rec.agent for rec in stored} == {"wang"}
    for rec, c in zip(stored, index["calls"]):
        assert rec.started_at == local_time(c["started_at"]).isoformat(timespec="seconds")
        assert rec.report.score == json.loads((out / c["call"] / "report.json").read_text())["score"]


# -- marks from the phone system ----------------------------------------------------------------

@pytest.mark.slow
def test_marks_on_stdin_split_calls_exactly_and_win_over_what_is_heard(tmp_path):
    write_day(tmp_path / "day.wav", ["blame_call", "transfer_call", "hold_call"], [9.0, 6.0, 5.0])
    out = tmp_path / "shift"
    # one marked call over the first two recordings (their disconnect tone and idle line do not
    # split it), then the phone system says nothing: the third call is heard
    marks = "start A-17 13800138000 at=2.25\nend at=61.5\nbogus line\n"
    p = phonecoach("live", "--shift", "--replay", str(tmp_path / "day.wav"), "--speed", "4", "--out", str(out),
                   "--jsonl", stdin=subprocess.PIPE)
    stdout, stderr = p.communicate(marks, timeout=300)
    assert p.returncode == 0, stderr
    assert "stdin: not a mark" in stderr
    calls = json.loads((out / "shift.json").read_text(encoding="utf-8"))["calls"]
    assert [(c["call"], c["started_by"], c["ended_by"]) for c in calls] == [
        ("001-A-17", "marked", "marked end"), ("002", "heard speech", "disconnect tone")]
    first = calls[0]
    assert (first["shift_offset"], first["call_id"], first["caller"]) == (2.25, "A-17", "13800138000")
    assert sf.info(str(out / "001-A-17" / "agent.wav")).frames == int(61.5 * SR) - int(2.25 * SR)
    assert json.loads((out / "001-A-17" / "report.json").read_text())["call_id"] == "A-17"


@pytest.mark.slow
def test_the_control_endpoint_marks_calls_and_says_where_the_shift_is(tmp_path):
    write_day(tmp_path / "day.wav", ["transfer_call", "blame_call"], [30.0, 5.0])
    out, port = tmp_path / "shift", free_port()
    p = phonecoach("live", "--shift", "--replay", str(tmp_path / "day.wav"), "--speed", "2", "--out", str(out),
                   "--control", f"127.0.0.1:{port}", stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: _up(base + "/status"), 60)

        def post(path: str, body) -> tuple[int, dict]:
            req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        # inside transfer_call, which is heard (its line goes down at about 27 s)
        assert post("/start", {"call_id": "C9", "caller": "021-5555", "at": 15.0})[0] == 200
        assert post("/end", {"at": 25.0})[0] == 200
        assert post("/start", {"at": "soon"})[0] == 400
        assert post("/start", {"who": 1})[0] == 400
        wait(lambda: get_json(base + "/status")["calls"] >= 3, 60)
        status = get_json(base + "/status")
        assert status["marks_received"] == 2
    finally:
        stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    calls = json.loads((out / "shift.json").read_text(encoding="utf-8"))["calls"]
    marked = [c for c in calls if c["call_id"] == "C9"]
    assert len(marked) == 1 and marked[0]["shift_offset"] == 15.0 and marked[0]["duration"] == 10.0
    assert calls[0]["ended_by"] == "marked start of the next call"  # the heard call before it ends at the mark
    assert sf.info(str(out / marked[0]["call"] / "customer.wav")).frames == 10 * SR


def _up(url: str) -> bool:
    try:
        get_json(url)
        return True
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def test_a_control_endpoint_open_to_other_machines_needs_a_token(tmp_path):
    r = subprocess.run([sys.executable, "-m", "phonecoach", "live", "--shift", "--replay", str(SAMPLES / "blame_call.flac"),
                        "--out", str(tmp_path / "s"), "--control", "0.0.0.0:0"], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "--token" in r.stderr


# -- the floor, stopping and crashing -----------------------------------------------------------

@pytest.mark.slow
def test_the_floor_shows_the_shift_calls_and_mean_score(redis_server, tmp_path):  # noqa: F811
    from phonecoach.sinks.floor import FloorView

    write_day(tmp_path / "day.wav", ["blame_call", "transfer_call"], [9.0, 3.0])
    view = FloorView(redis_server.url, "3F", "127.0.0.1", 0)
    view.start()
    try:
        r = subprocess.run([sys.executable, "-m", "phonecoach", "live", "--shift", "--replay", str(tmp_path / "day.wav"),
                            "--speed", "0", "--out", str(tmp_path / "s"), "--name", "li", "--jsonl", "--publish",
                            redis_server.url, "--floor", "3F"], capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        calls = json.loads((tmp_path / "s" / "shift.json").read_text(encoding="utf-8"))["calls"]
        assert len(calls) == 2
        wait(lambda: (get_json(view.address + "/agents") or [{}])[0].get("shift", {}) and
             get_json(view.address + "/agents")[0]["shift"]["ended"], 20)
        li = get_json(view.address + "/agents")[0]
        assert not li["on_call"] and li["shift"]["calls"] == 2
        assert li["shift"]["mean_score"] == round(sum(c["score"] for c in calls) / 2, 1)
        # the last call's, not the shift's running total (its final score may reach the floor just
        # after the shift's end does: the events come through Redis, each on its own)
        wait(lambda: get_json(view.address + "/agents")[0]["score"] == calls[-1]["score"], 10)
    finally:
        view.stop()


def into_the_second_call(tmp_path: Path, seconds: float) -> tuple[subprocess.Popen, Path]:
    """A two-call day replayed at 4x, ``seconds`` of wall time into its second call."""
    write_day(tmp_path / "day.wav", ["blame_call", "hold_call"], [6.0, 5.0])
    out = tmp_path / "shift"
    p = phonecoach("live", "--shift", "--replay", str(tmp_path / "day.wav"), "--speed", "4", "--out", str(out),
                   stdin=subprocess.DEVNULL)
    wait(lambda: (out / "002" / "call.json").exists(), 120)
    time.sleep(seconds)
    return p, out


@pytest.mark.slow
def test_ctrl_c_ends_the_current_call_with_its_report_then_the_shift(tmp_path):
    p, out = into_the_second_call(tmp_path, 2.0)
    p.send_signal(signal.SIGINT)
    _, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    index = json.loads((out / "shift.json").read_text(encoding="utf-8"))
    assert index["ended"] and [c["ended_by"] for c in index["calls"]] == ["disconnect tone", "stopped"]
    assert json.loads((out / "002" / "report.json").read_text(encoding="utf-8"))["score"] is not None


@pytest.mark.slow
def test_a_power_cut_keeps_every_finished_call_and_all_but_the_last_second(tmp_path):
    p, out = into_the_second_call(tmp_path, 2.5)
    p.kill()
    p.communicate(timeout=30)
    index = json.loads((out / "shift.json").read_text(encoding="utf-8"))
    first, second = index["calls"]
    assert first["ended_by"] == "disconnect tone" and (out / "001" / "report.json").is_file()
    assert "duration" not in second  # in progress when the power went
    heard_so_far = sf.info(str(out / "002" / "agent.wav")).frames / SR
    assert heard_so_far >= 2.5 * 4 - 1.0 - 2.0  # at most the last second unsaved (2 s of slack for the start)
    x, _ = sf.read(str(out / "002" / "agent.wav"), dtype="float32")
    assert len(x) / SR == pytest.approx(heard_so_far)
    # started again in the same folder (the PC came back): the shift goes on, nothing overwritten
    r = subprocess.run([sys.executable, "-m", "phonecoach", "live", "--shift", "--replay",
                        str(SAMPLES / "transfer_call.flac"), "--speed", "0", "--out", str(out)],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    calls = json.loads((out / "shift.json").read_text(encoding="utf-8"))["calls"]
    assert [c["call"] for c in calls] == ["001", "002", "003"] and calls[1]["ended_by"].startswith("cut off")
    assert (out / "003" / "report.json").is_file() and len(x) == len(sf.read(str(out / "002" / "agent.wav"))[0])
    listed = (out / "calls.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in listed[1:]] == ["001", "002", "003"]


@pytest.mark.slow
def test_several_agents_shifts_in_one_process_each_with_its_own_marks(ko_model, tmp_path):
    write_day(tmp_path / "wang.wav", ["blame_call", "transfer_call"], [9.0, 4.0])
    write_day(tmp_path / "li.wav", ["hold_call"], [4.0])
    (tmp_path / "floor.csv").write_text(f"name,replay\nwang,{tmp_path / 'wang.wav'}\nli,{tmp_path / 'li.wav'}\n",
                                        encoding="utf-8")
    out = tmp_path / "today"
    p = phonecoach("live", "--shift", "--sessions", str(tmp_path / "floor.csv"), "--speed", "2", "--out", str(out),
                   "--jsonl", "--model", str(ko_model), stdin=subprocess.PIPE)
    stdout, stderr = p.communicate("li start L-1 at=3.0\nnobody start\nstart 5\n", timeout=300)
    assert p.returncode == 0, stderr
    assert "no session 'nobody'" in stderr and "stdin: no session 'start'" in stderr
    wang = json.loads((out / "wang" / "shift.json").read_text(encoding="utf-8"))["calls"]
    li = json.loads((out / "li" / "shift.json").read_text(encoding="utf-8"))["calls"]
    assert [c["started_by"] for c in wang] == ["heard speech", "heard speech"]
    assert [(c["call"], c["shift_offset"], c["started_by"]) for c in li] == [("001-L-1", 3.0, "marked")]
    lines = [json.loads(x) for x in stdout.splitlines()]
    assert {w["session"] for w in lines} == {"wang", "li"} and all("call" in w for w in lines)


def test_a_call_whose_folder_cannot_be_made_is_reported_and_the_shift_goes_on(tmp_path):
    write_day(tmp_path / "day.wav", ["blame_call", "transfer_call"], [9.0, 3.0])
    out = tmp_path / "shift"
    out.mkdir()
    (out / "shift.json").write_text(json.dumps({"calls": []}), encoding="utf-8")  # a shift begun before
    (out / "001").write_text("in the way", encoding="utf-8")  # a file where the first call's folder goes
    r = subprocess.run([sys.executable, "-m", "phonecoach", "live", "--shift", "--replay", str(tmp_path / "day.wav"),
                        "--speed", "0", "--out", str(out)], capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "call 001" in errors[0] and "is a file" in errors[0]
    calls = json.loads((out / "shift.json").read_text(encoding="utf-8"))["calls"]
    assert [c["call"] for c in calls] == ["001", "002"] and calls[0]["error"] and not calls[1]["error"]
    assert (out / "002" / "report.json").is_file()
