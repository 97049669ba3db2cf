"""Warning sinks: JSON lines, the plain terminal line, the sound cue."""
import io
import json

from rich.console import Console

from phonecoach.core.alerts import LiveWarning
from phonecoach.sinks.live_alerts import JsonlSink, SoundCue, TerminalView


def w(status="raised"):
    return LiveWarning("never.shift_blame", "The agent pushed responsibility away.", "Own the problem.", "critical",
                   12.34, 12.5, "与我无关", "agent", status, "phrase")


def test_jsonl_one_object_per_line():
    buf = io.StringIO()
    sink = JsonlSink(buf)
    sink(w())
    sink(w("confirmed"))
    rows = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [r["status"] for r in rows] == ["raised", "confirmed"]
    assert rows[0]["t_audio"] == 12.34 and rows[0]["t_emit"] == 12.5 and rows[0]["evidence"] == "与我无关"


def test_terminal_line_off_a_terminal():
    buf = io.StringIO()
    view = TerminalView(Console(file=buf, force_terminal=False, width=200))
    view.start()
    view(w())
    view.stop()
    assert "0:12.3" in buf.getvalue() and "never.shift_blame" in buf.getvalue() and "Own the problem." in buf.getvalue()


def test_sound_cue_only_for_new_warnings():
    played = []
    cue = SoundCue(play=played.append)
    cue(w("raised"))
    cue(w("confirmed"))
    cue(w("withdrawn"))
    assert len(played) == 1 and 0 < abs(played[0]).max() <= 0.25
