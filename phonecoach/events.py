"""Call events derived from the timeline: holds and transfers.

The hold protocol (ask, say why, thank for consent, thank after) is judged per
hold, so a hold is found once here and every hold rule reads the same record.
A hold is seen in the text when the agent asks the caller to wait, and in the
audio as a long stretch with the agent silent (``audio_holds``, from the
acoustic measures); the two are tied together by time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .textmatch import find_any, normalize
from .timeline import Timeline, Utterance

SHORT_REPLY_CHARS = 8  # "好的，谢谢您" is part of the hold exchange, not the return
REQUEST_LOOKBACK = 30.0  # seconds: a request this close before an audio hold belongs to it


@dataclass(frozen=True)
class Hold:
    """One hold; indices point into ``Timeline.utterances`` (None: not there)."""

    request: int | None  # the agent's "请您稍等…"
    consent: int | None  # the customer's "好的"
    back: int | None  # the agent's first utterance after the hold
    start: float | None  # seconds, when the line went quiet
    end: float | None  # seconds, when the agent came back
    source: str  # "text" or "audio"

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass(frozen=True)
class Transfer:
    index: int  # the agent's utterance announcing the transfer


@dataclass(frozen=True)
class CallEvents:
    holds: tuple[Hold, ...] = ()
    transfers: tuple[Transfer, ...] = ()


def is_agent(tl: Timeline, u: Utterance) -> bool:
    return u.speaker == "agent" or not tl.speakers_separated


def is_customer(tl: Timeline, u: Utterance) -> bool:
    return u.speaker == "customer" or not tl.speakers_separated


def derive_events(tl: Timeline, phrases: dict[str, tuple[str, ...]],
                  audio_holds: Iterable[tuple[float, float]] | None = None) -> CallEvents:
    transfers = tuple(Transfer(i) for i, u in enumerate(tl.utterances)
                      if is_agent(tl, u) and find_any(u.text, phrases["transfer"], phrases["transfer_unless"]))
    transfer_idx = {t.index for t in transfers}
    text_holds = [_hold_from_request(tl, i, phrases) for i, u in enumerate(tl.utterances)
                  if i not in transfer_idx and is_agent(tl, u)
                  and find_any(u.text, phrases["hold_request"], phrases["hold_request_unless"])]
    if audio_holds is None:
        return CallEvents(tuple(text_holds), transfers)
    return CallEvents(tuple(_merge_audio_holds(tl, text_holds, list(audio_holds))), transfers)


def _hold_from_request(tl: Timeline, i: int, phrases: dict[str, tuple[str, ...]]) -> Hold:
    """Walk past the short exchange after a request ("好的" / "谢谢") to the agent's return."""
    utts = tl.utterances
    consent = None
    j = i + 1
    while j < len(utts):
        v = utts[j]
        short = len(normalize(v.text).chars) <= SHORT_REPLY_CHARS
        if v.speaker == "customer" or (not tl.speakers_separated and short and consent is None):
            if consent is None and find_any(v.text, phrases["consent"]):
                consent = j
            j += 1
            continue
        if short and (find_any(v.text, phrases["thanks"]) or find_any(v.text, phrases["consent"])):
            j += 1
            continue
        break
    back = j if j < len(utts) and is_agent(tl, utts[j]) else None
    start = utts[j - 1].end
    end = utts[back].start if back is not None else tl.duration
    return Hold(request=i, consent=consent, back=back, start=start, end=end, source="text")


def _merge_audio_holds(tl: Timeline, text_holds: list[Hold], audio: list[tuple[float, float]]) -> list[Hold]:
    """Give each audio hold the request before it; keep text holds the audio did not confirm."""
    used: set[int] = set()
    holds: list[Hold] = []
    for start, end in audio:
        best = None
        for h in text_holds:
            r = tl.utterances[h.request] if h.request is not None else None
            if r is None or r.end is None or h.request in used:
                continue
            if start - REQUEST_LOOKBACK <= r.end <= start + 1.0:
                best = h
        back = next((k for k, u in enumerate(tl.utterances)
                     if is_agent(tl, u) and u.start is not None and u.start >= end - 0.5), None)
        if best is not None:
            used.add(best.request)  # type: ignore[arg-type]
            holds.append(Hold(best.request, best.consent, back, start, end, "audio"))
        else:
            holds.append(Hold(None, None, back, start, end, "audio"))
    holds.extend(h for h in text_holds if h.request not in used)
    return sorted(holds, key=lambda h: (h.start if h.start is not None else -1.0))
