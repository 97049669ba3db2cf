"""Hands the live judge its events in audio order, whichever thread ran ahead.

Three threads report on one call: each party's stream worker (finals, partials, how far its
recogniser has heard) and the listener (turns, how far both lines are heard). Their speed
depends on the machine's load, so a judge fed as events arrive could decide a rule on a
timeline that still lacks the other party's words, and the warnings a call raises would
depend on scheduling. Here every event that can depend on more than one stream waits in a
queue keyed by its audio time until every source has reported past that time (the
watermark), and is then given to the judge in (time, source, arrival) order: the judge sees
the same sequence at any ``--speed`` and under any load.

What depends on one party's stream alone goes through at once, for latency: a forbidden
phrase raised from a partial result, and its confirmation or withdrawal when that party's
final result arrives (``LiveJudge.settle``).
"""
from __future__ import annotations

import heapq
import itertools
import threading
from typing import Any, Callable

from ..core.timeline import Utterance
from ..hearing.speech import TurnEvent
from .judge import LiveJudge

LISTENER = "listener"


class InOrder:
    """The stream workers' and listener's face of a ``LiveJudge`` (same methods), releasing
    events at the watermark. ``done(source)`` takes a finished (or failed) source out of the
    watermark; ``close()`` releases everything left, at the end of the call."""

    def __init__(self, judge: LiveJudge, parties: list[str]) -> None:
        self.judge = judge
        self.sources = {p: 0.0 for p in parties} | {LISTENER: 0.0}
        self._rank = {s: i for i, s in enumerate([LISTENER, *parties])}  # ties: turns, then each party
        self._done: set[str] = set()
        self._queue: list[tuple[float, int, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()  # the queue; releasing is serialised by it too

    @property
    def heard(self) -> float:
        """Audio time every party's recogniser has reached (as reported, not yet released)."""
        with self._lock:
            return min((t for s, t in self.sources.items() if s != LISTENER), default=0.0)

    # --- the judge's methods ------------------------------------------------------------------

    def on_partial(self, party: str, text: str, t_word_end: float | None, now: float) -> None:
        self.judge.on_partial(party, text, t_word_end, now)

    def on_final(self, u: Utterance, now: float) -> None:
        self.judge.settle(u, now)
        self._put(u.speaker, now, lambda: self.judge.take_final(u, now))

    def on_clock(self, party: str, t: float) -> None:
        self._put(party, t, lambda: self.judge.on_clock(party, t))

    def on_turns(self, events: list[TurnEvent], heard: float, dead: dict[str, float | None] | None = None) -> None:
        self._put(LISTENER, heard, lambda: self.judge.on_turns(events, heard, dead))

    # --- sources ending -------------------------------------------------------------------------

    def done(self, source: str) -> None:
        """``source`` will report nothing more: the watermark no longer waits for it."""
        with self._lock:
            self._done.add(source)
            self._release()

    def close(self) -> None:
        for s in list(self.sources):
            self.done(s)

    # --- the queue ------------------------------------------------------------------------------

    def _put(self, source: str, t: float, call: Callable[[], Any]) -> None:
        with self._lock:
            self.sources[source] = max(self.sources[source], t)
            heapq.heappush(self._queue, (t, self._rank[source], next(self._seq), call))
            self._release()

    def _release(self) -> None:
        waiting = [t for s, t in self.sources.items() if s not in self._done]
        mark = min(waiting) if waiting else float("inf")
        while self._queue and self._queue[0][0] <= mark:
            heapq.heappop(self._queue)[3]()
