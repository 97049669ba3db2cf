"""The live warning: one plain record the live judge raises and every live sink (terminal, JSON
lines, beep, feed, floor) and the session's warnings.jsonl take, without importing each other.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# A notice, not a broken rule: the caller complains (kind "event"); the floor marks the agent
COMPLAINT_NOTICE = "event.complaint"


@dataclass(frozen=True)
class LiveWarning:
    """One live warning. Times are seconds of call audio.

    ``t_audio``: when the evidence was complete (end of the phrase, the moment an
    overlap or a silence passed its limit); ``t_emit``: the stream position when it was
    raised; ``start``: where the event began (the talk-over, the silence, the hold),
    so a supervisor can jump there; ``t_settled``: when a final result confirmed or
    withdrew a phrase raised from a partial."""

    rule: str
    message: str
    fix: str
    severity: str
    t_audio: float
    t_emit: float
    evidence: str = ""
    party: str = "agent"
    status: str = "raised"  # raised | confirmed | withdrawn
    kind: str = "text"  # phrase (from a partial) | text | signal | event (a notice, not a broken rule)
    t_settled: float | None = None
    start: float | None = None
    call: str | None = None  # in a shift: the call it belongs to (its folder's name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["t_audio"], d["t_emit"] = round(self.t_audio, 2), round(self.t_emit, 2)
        for key in ("t_settled", "start"):
            if d[key] is None:
                d.pop(key)
            else:
                d[key] = round(d[key], 2)
        if d["call"] is None:
            d.pop("call")
        return d
