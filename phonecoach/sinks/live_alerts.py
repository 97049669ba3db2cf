"""Where live warnings go: JSON lines, the terminal, a sound cue (and the web feed, feed.py)."""
from __future__ import annotations

import json
import sys
import threading
from collections import deque
from typing import Callable, TextIO

import numpy as np

from ..core.alerts import LiveWarning
from ..core.safeio import printable
from ..core.timeline import clock


class JsonlSink:
    """One JSON object per warning on ``stream`` (stdout), flushed at once; with several
    sessions in one process each object names its ``session``."""

    def __init__(self, stream: TextIO | None = None, session: str | None = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()
        self.session = session

    def __call__(self, w: LiveWarning) -> None:
        record = w.to_dict() if self.session is None else {"session": self.session, **w.to_dict()}
        with self.lock:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.stream.flush()


class TerminalView:
    """A live view (rich) when on a terminal: recent speech, the agent's pace and level,
    warnings with their fix. Off a terminal, one plain line per warning."""

    def __init__(self, console=None, session: str | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.prefix = f"{session} " if session else ""  # several sessions share one terminal
        self.warnings: deque[LiveWarning] = deque(maxlen=8)
        self.lines: deque[str] = deque(maxlen=6)
        self.lock = threading.Lock()
        self.live = None

    def __call__(self, w: LiveWarning) -> None:
        with self.lock:
            self.warnings.append(w)
        if self.live is None:
            mark = {"raised": "!", "confirmed": "✔", "withdrawn": "✗"}[w.status]
            call = f"call {w.call} " if w.call else ""
            self.console.print(f"{self.prefix}{call}[{clock(w.t_audio)}] {mark} {w.rule} ({w.status}): {w.message} "
                               f"“{printable(w.evidence)}” — fix: {w.fix}", highlight=False, markup=False)

    def said(self, speaker: str, text: str, t: float | None) -> None:
        with self.lock:
            self.lines.append(f"{clock(t)} {speaker}: {printable(text)}")

    def render(self):
        from rich.panel import Panel
        from rich.table import Table

        with self.lock:
            table = Table.grid(padding=(0, 1))
            for line in self.lines:
                table.add_row(line)
            for w in self.warnings:
                style = {"raised": "bold red", "confirmed": "red", "withdrawn": "dim"}[w.status]
                table.add_row(f"[{style}]{clock(w.t_audio)} {w.rule} {w.status}: {w.message} → {w.fix}[/]")
        return Panel(table, title="phonecoach live")

    def start(self) -> None:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(get_renderable=self.render, console=self.console, refresh_per_second=4)
            self.live.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class SoundCue:
    """A short, quiet beep for the agent on each new warning (not on confirmations)."""

    def __init__(self, device=None, play: Callable | None = None) -> None:
        t = np.arange(int(0.12 * 16000)) / 16000
        self.tone = (0.2 * np.sin(2 * np.pi * 880 * t) * np.hanning(len(t))).astype(np.float32)
        self.device = device
        self._play = play

    def __call__(self, w: LiveWarning) -> None:
        if w.status != "raised":
            return
        try:
            if self._play is not None:
                self._play(self.tone)
                return
            import sounddevice as sd

            sd.play(self.tone, 16000, device=self.device)
        except Exception:  # noqa: BLE001 - a cue that cannot play must not stop the session
            sys.stderr.write("\a")
