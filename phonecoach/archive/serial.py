"""Lossless JSON for the records a store keeps: a call's timeline and measures.

A stored call must be judged again after a rule change exactly as it was judged the first
time, without the audio or the recogniser, so nothing here rounds (the report's
``to_dict`` rounds for people; these do not).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..core.measured import Measures
from ..core.timeline import Timeline, Utterance, Word

_SPAN_LISTS = ("ring_spans", "holds", "interruptions", "dead_air", "agent_noise", "customer_raised")


def timeline_to_json(tl: Timeline) -> dict[str, Any]:
    return {"speakers_separated": tl.speakers_separated, "ring_seconds": tl.ring_seconds, "duration": tl.duration,
            "utterances": [{"speaker": u.speaker, "text": u.text, "start": u.start, "end": u.end,
                            "words": [[w.text, w.start, w.end, w.conf] for w in u.words]} for u in tl.utterances]}


def timeline_from_json(d: dict[str, Any]) -> Timeline:
    utts = [Utterance(u["speaker"], u["text"], u["start"], u["end"],
                      tuple(Word(t, float(s), float(e), float(c)) for t, s, e, c in u.get("words", [])))
            for u in d["utterances"]]
    return Timeline(utts, speakers_separated=d["speakers_separated"], ring_seconds=d.get("ring_seconds"),
                    duration=d.get("duration"))


def measures_to_json(m: Measures | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {k: _plain(v) for k, v in dataclasses.asdict(m).items()}


def measures_from_json(d: dict[str, Any] | None) -> Measures | None:
    if d is None:
        return None
    known = {f.name for f in dataclasses.fields(Measures)}
    d = {k: v for k, v in d.items() if k in known}
    for k in _SPAN_LISTS:
        if d.get(k) is not None:
            d[k] = [tuple(s) for s in d[k]]
    d["agent_utterance_levels"] = [tuple(x) for x in d.get("agent_utterance_levels") or []]
    d["agent_contour"] = [tuple(x) for x in d.get("agent_contour") or []]
    for k in ("speech", "turns"):
        d[k] = {p: [tuple(s) for s in spans] for p, spans in (d.get(k) or {}).items()}
    return Measures(**d)


def _plain(v: Any) -> Any:
    """numpy scalars and tuples as JSON's own types (floats keep every digit)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item"):
        return v.item()
    return v
