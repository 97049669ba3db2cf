"""Call events derived from the timeline: holds, transfers, messages and complaints.

The hold protocol (ask, say why, thank for consent, thank after) is judged per
hold, so a hold is found once here and every hold rule reads the same record.
A hold is seen in the text when the agent asks the caller to wait, and in the
audio as a long stretch with the agent silent (``audio_holds``, from the
acoustic measures); the two are tied together by time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..core.timeline import Timeline, Utterance
from .acts import ACT_PREFIX, find_act
from .textmatch import find_any, normalize

SHORT_REPLY_CHARS = 8  # "好的，谢谢您" is part of the hold exchange, not the return
REQUEST_LOOKBACK = 30.0  # seconds: a request this close before an audio hold belongs to it
RAISED_VOICE = "raised voice"  # the cue of a complaint heard in the customer's level, not their words


@dataclass(frozen=True)
class Hold:
    """One hold; indices point into ``Timeline.utterances`` (None: not there)."""

    request: int | None  # the agent's "请您稍等…"
    consent: int | None  # the customer's "好的"
    back: int | None  # the agent's first utterance after the hold
    start: float | None  # seconds, when the line went quiet
    end: float | None  # seconds, when the agent came back
    source: str  # "text" or "audio"
    # A merged turn (请您稍等，我帮您查一下 …… 感谢您的耐心等待 in one utterance): the
    # return starts at this character of utterance ``back`` (== ``request``); 0 otherwise.
    back_from: int = 0

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


@dataclass(frozen=True)
class Transfer:
    index: int  # the agent's utterance announcing the transfer


@dataclass(frozen=True)
class MessageTaking:
    """The caller asked for a colleague and the agent said they are out (phone rules section 4)."""

    request: int | None  # the caller's ask (None on a mono call where it could not be told)
    first_reply: int  # the agent's first utterance after the ask
    absent: int  # the agent's first utterance saying the colleague is out


@dataclass(frozen=True)
class CallEvents:
    holds: tuple[Hold, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    messages: tuple[MessageTaking, ...] = ()
    complaints: tuple[int, ...] = ()  # the customer's utterances that open a complaint (phone rules section 9)
    complaint_cues: tuple[str, ...] = ()  # for each: the complaint phrase heard, or RAISED_VOICE


def is_agent(tl: Timeline, u: Utterance) -> bool:
    return u.speaker == "agent" or not tl.speakers_separated


def is_customer(tl: Timeline, u: Utterance) -> bool:
    return u.speaker == "customer" or not tl.speakers_separated


def asked_to_wait(utterances: Iterable[Utterance], phrases: dict[str, tuple[str, ...]], before: float,
                  agents: tuple[str, ...] = ("agent", "unknown")) -> bool:
    """The wait that begins at ``before`` was announced: the last words that say anything
    before it (short replies such as 好的 / 谢谢您 do not) are the agent asking the caller to
    wait (the pack's ``hold_request`` phrases), within ``REQUEST_LOOKBACK`` seconds. A silence
    then is a hold, not dead air."""
    for u in reversed(list(utterances)):
        if u.end is None or u.end > before + 0.5:
            continue
        if u.end < before - REQUEST_LOOKBACK:
            return False
        if u.speaker in agents and find_any(u.text, phrases["hold_request"], phrases.get("hold_request_unless", ())):
            return True
        if len(normalize(u.text).chars) > SHORT_REPLY_CHARS:
            return False
    return False


def derive_events(tl: Timeline, phrases: dict[str, tuple[str, ...]],
                  audio_holds: Iterable[tuple[float, float]] | None = None,
                  raised: Iterable[tuple[float, float]] | None = None) -> CallEvents:
    """``audio_holds``: the holds the audio shows; ``raised``: the customer's turns whose voice
    rose over their own typical level (both from the measures, None without audio)."""
    transfers = tuple(Transfer(i) for i, u in enumerate(tl.utterances)
                      if is_agent(tl, u) and find_any(u.text, phrases["transfer"], phrases["transfer_unless"]))
    transfer_idx = {t.index for t in transfers}
    text_holds = []
    for i, u in enumerate(tl.utterances):
        if i in transfer_idx or not is_agent(tl, u):
            continue
        m = find_any(u.text, phrases["hold_request"], phrases["hold_request_unless"])
        if m:
            text_holds.append(_merged_hold(tl, i, m.span[1], phrases) or _hold_from_request(tl, i, phrases))
    messages = _messages(tl, phrases)
    complaints, cues = _complaints(tl, phrases, list(raised or ()))
    holds = tuple(text_holds) if audio_holds is None else tuple(_merge_audio_holds(tl, text_holds, list(audio_holds)))
    return CallEvents(holds, transfers, messages, complaints, cues)


def _complaints(tl: Timeline, phrases: dict[str, tuple[str, ...]],
                raised: list[tuple[float, float]]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Where the customer complains (投诉, 不满意, 太差了, 你们怎么回事, 我要找你们领导…; or does
    what a complaint does in flat words: calls again, says it failed again or a promise was
    broken, asks for a supervisor, demands a refund (``acts``); or their voice rises well over
    its own level): the first complaining utterance of each episode,
    and what gave it away. A complaint said again before the agent has answered is the same
    episode; one after the agent spoke opens a new one. Needs two parties: on a mono mix the
    agent's own 投诉 wording cannot be told from the caller's."""
    if not tl.speakers_separated or not (phrases.get("complaint") or raised):
        return (), ()
    out: list[int] = []
    cues: list[str] = []
    answered = True
    for i, u in enumerate(tl.utterances):
        if u.speaker == "agent":
            answered = True
            continue
        if u.speaker != "customer":
            continue
        unless = phrases.get("complaint_unless", ())
        m = find_any(u.text, phrases.get("complaint", ()), unless)
        if m is None and phrases.get("complaint"):
            m = find_act(u.text, "complaint", unless)
        cue = (m.evidence if m.phrase.startswith(ACT_PREFIX) else m.phrase) if m else \
            (RAISED_VOICE if _loud(u, raised) else None)
        if cue is not None:
            if answered:
                out.append(i)
                cues.append(cue)
            answered = False
    return tuple(out), tuple(cues)


def _loud(u: Utterance, raised: list[tuple[float, float]]) -> bool:
    """Most of the utterance lies inside a turn where the customer's voice was raised."""
    if not raised or u.start is None or u.end is None or u.end <= u.start:
        return False
    inside = sum(max(0.0, min(u.end, e) - max(u.start, s)) for s, e in raised)
    return inside >= 0.5 * (u.end - u.start)


def _merged_hold(tl: Timeline, i: int, after: int, phrases: dict[str, tuple[str, ...]]) -> Hold | None:
    """A hold whose request and return ASR or the recorder merged into one utterance: a
    return marker (感谢您的耐心等待, 查到了…) after the request in the same text."""
    u = tl.utterances[i]
    m = find_any(u.text[after:], phrases["hold_return"])
    if m is None:
        return None
    back_from = after + m.span[0]
    start, end = _split_times(u, back_from)
    return Hold(request=i, consent=None, back=i, start=start, end=end, source="text", back_from=back_from)


def _split_times(u: Utterance, offset: int) -> tuple[float | None, float | None]:
    """End of the words before character ``offset`` of ``u.text`` and start of those after."""
    if not u.words:
        return u.start, u.end
    seen, before, after = 0, u.start, None
    for w in u.words:
        pos = u.text.find(w.text, seen)
        if pos < 0:
            break
        seen = pos + len(w.text)
        if seen <= offset:
            before = w.end
        elif after is None:
            after = w.start
    return before, after if after is not None else u.end


def _messages(tl: Timeline, phrases: dict[str, tuple[str, ...]]) -> tuple[MessageTaking, ...]:
    """Each time the caller asks for a colleague and the agent then says they are out."""
    utts, out, used = tl.utterances, [], set()
    for k, u in enumerate(utts):
        if not is_agent(tl, u) or not find_any(u.text, phrases["colleague_absent"], phrases["colleague_absent_unless"]):
            continue
        request = next((j for j in range(k - 1, max(-1, k - 5), -1)
                        if (is_customer(tl, utts[j]) or not tl.speakers_separated)
                        and find_any(utts[j].text, phrases["colleague_request"])), None)
        if request is None and tl.speakers_separated:
            continue  # 钱已经转出去了: "out" with nobody asked for is no message to take
        if request in used:
            continue
        used.add(request)
        first = next((j for j in range((request if request is not None else k - 1) + 1, len(utts))
                      if is_agent(tl, utts[j])), k)
        out.append(MessageTaking(request, first, k))
    return tuple(out)


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
            if best.back == best.request:  # merged turn: the return is inside the request's utterance
                back = best.back
            holds.append(Hold(best.request, best.consent, back, start, end, "audio", best.back_from))
        else:
            holds.append(Hold(None, None, back, start, end, "audio"))
    holds.extend(h for h in text_holds if h.request not in used)
    return sorted(holds, key=lambda h: (h.start if h.start is not None else -1.0))
