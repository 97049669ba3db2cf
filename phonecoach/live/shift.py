"""A shift: one headset from the start of the day until stopped, each call coached as its own.

The source's blocks are cut into 0.1 s frames of every line; ``CallFinder`` (and the phone
system's marks, which win) say where calls begin and end. Each call is a ``LiveSession`` of
its own (fresh recognisers, listener and judge; the model, the imports and this thread stay
for the whole shift), fed the call's stretch of the audio on the call's own clock, writing
its own folder exactly as a single-call session does, plus where it sits in the shift. Idle
time only goes through the finder. The shift's index (``shift.json``, and ``calls.csv`` for
``phonecoach batch``) is rewritten atomically as each call starts and ends, so a power cut
loses at most the last second of the call in progress.
"""
from __future__ import annotations

import csv
import io
import json
import queue
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.alerts import LiveWarning
from ..core.process import release_memory
from ..core.safeio import write_text_atomic
from ..core.timeline import clock
from ..inputs.audio import TARGET_SR
from ..inputs.transcribe import load_model
from ..judging.model import RulePack
from .boundaries import FRAME_SECONDS, LOOKBACK_SECONDS, Boundary, CallFinder
from .marks import CallMark, MarkInbox
from .session import LiveSession, _claim_folder
from .sources import QUEUE_BLOCKS, Block, SourceStats

FRAME = int(round(FRAME_SECONDS * TARGET_SR))
SAFE_NAME = re.compile(r"[^\w.-]+")


class CallFeed:
    """The source a call's session reads: the shift puts the call's blocks on its queues."""

    def __init__(self, parties: list[str]) -> None:
        self.queues = {p: queue.Queue(QUEUE_BLOCKS) for p in parties}
        self.done = threading.Event()
        self.stats = SourceStats()

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class ShiftCall:
    """One call of the shift: where it sits, and how it went once it has ended."""

    n: int
    name: str  # its folder under the shift's, and the ``call`` its warnings carry
    start: int  # samples into the shift
    started_by: str
    call_id: str | None = None
    caller: str | None = None
    marked: bool = False
    end: int | None = None
    ended_by: str | None = None
    score: float | None = None
    warnings: int = 0
    error: str | None = None
    page_error: str | None = None
    fed: int = 0  # shift samples fed to the call so far
    feed: CallFeed | None = None
    session: LiveSession | None = None
    thread: threading.Thread | None = None

    @property
    def seconds(self) -> float:
        """How long the call ran (so far)."""
        return ((self.end if self.end is not None else self.fed) - self.start) / TARGET_SR

    @property
    def shift_offset(self) -> float:
        return round(self.start / TARGET_SR, 3)

    def about(self, shift_start: datetime) -> dict[str, Any]:
        d = {"call": self.name, "shift_offset": self.shift_offset, "call_id": self.call_id, "caller": self.caller,
             "started_at": (shift_start + timedelta(seconds=self.start / TARGET_SR)).isoformat(timespec="seconds"),
             "started_by": self.started_by}
        if self.end is not None:
            d.update(duration=round(self.seconds, 3), ended_by=self.ended_by,
                     score=self.score, warnings=self.warnings, error=self.error)
        return d


class ShiftSession:
    """Runs a source (a device group or a replayed day) until it ends or ``stop()``."""

    def __init__(self, pack: RulePack, source, model_path: str | None, folder: Path,
                 sinks: Callable[[ShiftCall], list[Callable[[LiveWarning], None]]] = lambda call: [],
                 marks: MarkInbox | None = None, name: str = "agent",
                 on_event: Callable[[str], None] = lambda msg: None,
                 on_call: Callable[[str, ShiftCall], None] = lambda what, call: None,
                 partials: bool = True) -> None:
        self.pack, self.source, self.model_path, self.folder = pack, source, model_path, folder
        self.sinks, self.marks, self.name, self.on_event, self.on_call = sinks, marks or MarkInbox(), name, on_event, on_call
        self.partials = partials
        _claim_folder(folder)
        self.earlier = _earlier_calls(folder)  # a shift restarted (after a crash) goes on in its folder
        if model_path:
            load_model(model_path)  # once, here: the first call must not wait for it
        self.parties = list(source.queues)
        self.finder = CallFinder(self.parties, TARGET_SR, pack.measures)
        self.started_at = datetime.now().astimezone()
        self.calls: list[ShiftCall] = []
        self.current: ShiftCall | None = None
        self.position = 0  # shift samples framed so far
        keep = int((max(LOOKBACK_SECONDS, pack.measures.call_end_idle_seconds) + 5.0) / FRAME_SECONDS)
        self.recent: deque[tuple[int, dict[str, np.ndarray]]] = deque(maxlen=keep)
        self._buf = {p: [] for p in self.parties}  # per line: arrays not yet framed
        self._have = {p: 0 for p in self.parties}  # samples received per line (the line's clock)
        self._buffered = {p: 0 for p in self.parties}
        self._stop = threading.Event()
        self._index_lock = threading.Lock()
        self.idle_cpu = 0.0  # CPU seconds this thread spent while no call was open

    # -- control ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """End the current call cleanly (its audio so far is judged), then the shift."""
        self._stop.set()

    def status(self) -> dict[str, Any]:
        cur = self.current
        return {"shift": self.name, "started_at": self.started_at.isoformat(timespec="seconds"),
                "audio_seconds": round(self.position / TARGET_SR, 1), "calls": len(self.calls),
                "on_call": cur is not None, "call": cur.about(self.started_at) if cur else None,
                "marks_received": self.marks.received}

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> list[ShiftCall]:
        self._write_index()
        self.source.start()
        try:
            while not self._stop.is_set():
                got = self._take_blocks()
                self._frames(final=False)
                if not got:
                    if self.source.done.is_set() and all(q.empty() for q in self.source.queues.values()):
                        break
                    try:  # sleep until the next block comes (not a polling loop: idle hours cost nothing)
                        self._accept(self.parties[0], self.source.queues[self.parties[0]].get(timeout=0.1))
                    except queue.Empty:
                        pass
        except KeyboardInterrupt:
            pass
        finally:
            self.source.stop()
            if not self._stop.is_set():  # the source ended: what is buffered is the end of the day
                self._take_blocks()
                self._frames(final=True)
                self._apply_marks(None)  # marks for times past the end apply at the end
            if self.current is not None:
                self._end(self.position, "end of shift" if not self._stop.is_set() else "stopped")
            for call in self.calls:
                if call.thread is not None:
                    call.thread.join()
            self._write_index(ended=True)
        return self.calls

    def _take_blocks(self) -> bool:
        got = False
        for p, q in self.source.queues.items():
            while True:
                try:
                    block = q.get_nowait()
                except queue.Empty:
                    break
                got |= self._accept(p, block)
        return got

    def _accept(self, p: str, block: Block | None) -> bool:
        if block is None:
            return False
        at = int(round(block.t * TARGET_SR))
        if at > self._have[p]:  # blocks dropped before this one: keep the line on the shift's clock
            self._add(p, np.zeros(at - self._have[p], np.float32))
        self._add(p, block.samples)
        return True

    def _add(self, p: str, x: np.ndarray) -> None:
        self._buf[p].append(x)
        self._buffered[p] += len(x)
        self._have[p] += len(x)

    def _frames(self, final: bool) -> None:
        """Frames as far as every line has audio (a line's blocks may still be on its queue: a
        stalled device is filled with silence by its source, a dropped block by ``_accept``)."""
        while min(self._buffered.values()) >= FRAME or (final and max(self._buffered.values()) > 0):
            n = min(FRAME, max(self._buffered.values()))
            frame = {p: self._pop(p, n) for p in self.parties}
            self._frame(frame)

    def _pop(self, p: str, n: int) -> np.ndarray:
        parts, got = [], 0
        while got < n and self._buf[p]:
            x = self._buf[p][0]
            take = min(n - got, len(x))
            parts.append(x[:take])
            if take == len(x):
                self._buf[p].pop(0)
            else:
                self._buf[p][0] = x[take:]
            got += take
        self._buffered[p] -= got
        out = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else np.zeros(0, np.float32))
        return out if len(out) == n else np.pad(out, (0, n - len(out)))

    def _frame(self, frame: dict[str, np.ndarray]) -> None:
        t0 = time.thread_time()
        start = self.position
        n = len(next(iter(frame.values())))
        self.recent.append((start, frame))
        self.position = start + n
        # marks first: they win, and may split this frame at their sample
        self._apply_marks(self.position / TARGET_SR)
        heard = self.finder.feed(start / TARGET_SR, frame)
        marked = self.current is not None and self.current.marked
        for b in heard:
            if marked:
                continue  # the phone system said where this call ends
            self._heard(b)
        if self.current is not None and not self.finder.holding():
            self._feed(self.position)
        if self.current is None:
            self.idle_cpu += time.thread_time() - t0

    def _heard(self, b: Boundary) -> None:
        at = int(round(b.at * TARGET_SR))
        if b.kind == "end" and self.current is not None:
            self._end(max(self.current.fed, min(at, self.position)) if b.why != "idle" else self.current.fed,
                      b.why)
        elif b.kind == "start" and self.current is None:
            floor = self.calls[-1].start if self.calls else 0
            self._start(max(at, floor, self.recent[0][0]), f"heard {b.why}")

    def _apply_marks(self, upto: float | None) -> None:
        """Apply the marks due before shift time ``upto`` (None: all of them)."""
        for m in self.marks.due(upto if upto is not None else float("inf")):
            at = self.position if m.at is None else min(int(round(m.at * TARGET_SR)), self.position)
            self._mark(m, at)

    def _mark(self, m: CallMark, at: int) -> None:
        if self.current is not None:
            self._end(max(at, self.current.fed), "marked end" if m.kind == "end" else "marked start of the next call")
        if m.kind == "start":
            floor = max(self.recent[0][0], self.calls[-1].start if self.calls else 0)
            self._start(max(at, floor), "marked", m.call_id, m.caller, marked=True)
            self.finder.started(self.current.start / TARGET_SR)
        else:
            self.finder.ended()

    # -- calls --------------------------------------------------------------------------------

    def _start(self, at: int, why: str, call_id: str | None = None, caller: str | None = None,
               marked: bool = False) -> None:
        n = len(self.earlier) + len(self.calls) + 1
        name = f"{n:03d}" + (f"-{SAFE_NAME.sub('_', call_id)[:40]}" if call_id else "")
        call = ShiftCall(n, name, at, why, call_id, caller, marked, fed=at)
        folder = self.folder / name
        call.feed = CallFeed(self.parties)
        try:
            call.session = LiveSession(self.pack, call.feed, self.model_path, folder, self.sinks(call),
                                       partials=self.partials, on_event=self.on_event, call=name,
                                       about=call.about(self.started_at))
        except Exception as exc:  # noqa: BLE001 - this call cannot be kept (its folder?); the shift goes on
            call.error = f"{type(exc).__name__}: {exc}"
            call.session = call.feed = None  # its audio goes nowhere, and nothing waits for it
        self.calls.append(call)
        self.current = call
        if folder.is_dir():
            write_text_atomic(folder / "call.json", json.dumps(call.about(self.started_at), ensure_ascii=False,
                                                               indent=1))
        if call.session is not None:
            call.thread = threading.Thread(target=self._run_call, args=(call,), name=f"call-{name}", daemon=True)
            call.thread.start()
        self._write_index()
        self.on_call("start", call)
        self.on_event(f"call {name} started at {clock(at / TARGET_SR)} ({why})")

    def _feed(self, upto: int) -> None:
        """Put the shift's audio from where the call was fed to ``upto`` on the call's queues."""
        call = self.current
        if call is None or upto <= call.fed:
            return
        todo = []  # the frames from the last one fed onwards: a few, found from the newest back
        for start, frame in reversed(self.recent):
            if start + len(next(iter(frame.values()))) <= call.fed:
                break
            todo.append((start, frame))
        for start, frame in reversed(todo):
            n = len(next(iter(frame.values())))
            if start >= upto:
                break
            a, b = max(0, call.fed - start), min(n, upto - start)
            if call.feed is not None:
                for p, x in frame.items():
                    _put(call, call.feed.queues[p], Block(p, (start + a - call.start) / TARGET_SR, x[a:b]))
            call.fed = start + b
        call.fed = max(call.fed, upto)

    def _end(self, at: int, why: str) -> None:
        call = self.current
        assert call is not None
        if why != "idle" and not self.finder.holding():
            self._feed(at)
        call.end = call.fed  # the call's audio is what it was fed
        call.ended_by = why
        if call.feed is not None:
            call.feed.done.set()
        self.current = None
        self.finder.ended()
        self._write_index()
        if call.thread is None:  # it never had a session: nothing else will say it ended
            self.on_call("end", call)
        self.on_event(f"call {call.name} ended at {clock(call.end / TARGET_SR)} ({why})")

    def _run_call(self, call: ShiftCall) -> None:
        try:
            result = call.session.run()
            call.score, call.warnings, call.page_error = result.report.score, len(result.warnings), result.page_error
        except Exception as exc:  # noqa: BLE001 - one call's failure is not the shift's
            call.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        while call.end is None:  # a session ends only after the shift has said where the call ends
            time.sleep(0.01)
        self._write_index()
        self.on_call("end", call)
        if call.session is not None:
            call.session.release()
        call.session = None  # what the call held (audio, recogniser, report) goes now; the summary stays
        release_memory()

    # -- the shift's index ------------------------------------------------------------------------

    def _write_index(self, ended: bool = False) -> None:
        with self._index_lock:
            calls = self.earlier + [c.about(self.started_at) for c in self.calls]
            write_text_atomic(self.folder / "shift.json", json.dumps(
                {"shift": self.name, "started_at": self.started_at.isoformat(timespec="seconds"),
                 "audio_seconds": round(self.position / TARGET_SR, 2), "ended": ended,
                 "parties": self.parties, "calls": calls}, ensure_ascii=False, indent=1))
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["file", "agent", "call_id", "started_at", "caller", "shift_offset"])
            for c in calls:
                if "duration" in c or c.get("ended_by", "").startswith("cut off"):  # what has its audio
                    w.writerow([c["call"], self.name, c["call_id"] or "", c["started_at"],
                                c["caller"] or "", c["shift_offset"]])
            write_text_atomic(self.folder / "calls.csv", out.getvalue())


def _earlier_calls(folder: Path) -> list[dict[str, Any]]:
    """The calls of an earlier run of this shift (its ``shift.json``), kept in the index; a call
    it had not finished is marked as cut off. A folder holding anything else is refused."""
    from ..core.errors import PhonecoachError

    index = folder / "shift.json"
    if not index.exists():
        if any(folder.iterdir()):
            raise PhonecoachError("is not empty and holds no shift; a shift needs a folder of its own "
                                  "(choose another --out)", folder)
        return []
    try:
        calls = json.loads(index.read_text(encoding="utf-8"))["calls"]
        if not isinstance(calls, list) or not all(isinstance(c, dict) and "call" in c for c in calls):
            raise ValueError("calls is not a list of calls")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PhonecoachError(f"shift.json cannot be read to go on with this shift: {exc}", folder) from None
    for c in calls:
        if "duration" not in c:
            c["ended_by"] = "cut off (the shift stopped before the call ended)"
    return calls


def _put(call: ShiftCall, q: queue.Queue, block: Block) -> None:
    """Wait for the call's session to take the block (as a replay at full speed does); a
    session that has stopped takes no more: the block is counted as dropped, never waited on."""
    while True:
        try:
            q.put(block, timeout=0.5)
            return
        except queue.Full:
            if call.thread is None or not call.thread.is_alive():
                if call.feed is not None:
                    call.feed.stats.overflows += 1
                return
