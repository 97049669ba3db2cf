"""Many live sessions in one process: a supervisor's box or a central server coaching several
agents at once. The sessions share one Vosk model (loaded once: ~1 GB that N processes would
each hold) and the interpreter; each keeps its own source, workers, listener, judge and
folder, so one session's broken device or stuck output never touches another's.

Vosk releases the GIL while it decodes, so the recognisers of all sessions run in parallel on
every core; what Python does around them is small (benchmarks/live.py measures how many
real-time streams a machine sustains this way).
"""
from __future__ import annotations

import csv
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PhonecoachError
from ..core.safeio import read_limited, shown
from .session import LiveSession, SessionResult

NAME = re.compile(r"^(?!\.+$)[\w.-]{1,64}$")  # a session name is also its folder's name: never "." or ".."


@dataclass(frozen=True)
class SessionSpec:
    """One agent's session: a recording to replay, or a headset (and the customer side)."""

    name: str
    replay: Path | None = None
    device: str | None = None
    customer_device: str | None = None
    agent_channel: str = "left"


def load_sessions(path: Path) -> list[SessionSpec]:
    """A CSV with a header: ``name`` and either ``replay`` or ``device`` (optional
    ``customer_device``, ``agent_channel``). Names must be unique and folder-safe."""
    try:
        text = read_limited(path, PhonecoachError, "a sessions CSV", 1 << 20).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PhonecoachError("not UTF-8 text", shown(path)) from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "name" not in rows[0]:
        raise PhonecoachError("a sessions CSV needs a header with 'name' and 'replay' or 'device'", shown(path))
    out: list[SessionSpec] = []
    for i, row in enumerate(rows, 2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        name, replay, device = row.get("name", ""), row.get("replay", ""), row.get("device", "")
        if not NAME.match(name):
            raise PhonecoachError(f"line {i}: session name {name!r} must be 1-64 letters, digits, '.', '-' or '_' "
                                  "(not only dots)", shown(path))
        if bool(replay) == bool(device):
            raise PhonecoachError(f"line {i}: give either 'replay' or 'device' for session {name}", shown(path))
        channel = row.get("agent_channel") or "left"
        if channel not in ("left", "right"):
            raise PhonecoachError(f"line {i}: agent_channel must be left or right, not {channel!r}", shown(path))
        out.append(SessionSpec(name, Path(replay) if replay else None, device or None,
                               row.get("customer_device") or None, channel))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PhonecoachError(f"session names must be unique: {', '.join(dup)}", shown(path))
    return out


def run_sessions(sessions: dict[str, LiveSession], stop: threading.Event) -> dict[str, SessionResult | Exception]:
    """Run every session until its source ends or ``stop`` is set; each ends with its report.
    A session that fails is reported as its exception; the others go on."""
    results: dict[str, SessionResult | Exception] = {}

    def one(name: str, session: LiveSession) -> None:
        try:
            results[name] = session.run()
        except Exception as exc:  # noqa: BLE001 - one agent's failure is not the floor's
            results[name] = exc

    threads = [threading.Thread(target=one, args=(n, s), name=f"session-{n}", daemon=True) for n, s in sessions.items()]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if stop.wait(0.1):
            for s in sessions.values():
                s.stop()
            break
    for t in threads:
        t.join()
    return results
