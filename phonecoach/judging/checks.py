"""The generic checks that rules are bound to.

Each check is a small function ``(rule, call) -> Outcome`` registered with the
parameters it takes and their defaults; a rule in the TOML pack picks a check
by name and sets its phrases and parameters. Adding a rule is one TOML entry;
a new *kind* of rule is one function here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.timeline import Timeline, Utterance
from ..core.verdict import Occurrence, Status
from .acts import find_act
from .events import CallEvents, Hold, asked_to_wait, is_agent, is_customer
from .model import Rule
from .personal import TAGS
from .textmatch import Match, find_all, find_any, normalize, search_pattern

EVIDENCE_CHARS = 60


@dataclass(frozen=True)
class Outcome:
    status: Status
    occurrences: tuple[Occurrence, ...] = ()
    detail: str = ""  # why not applicable, or the figures behind the verdict


@dataclass
class Call:
    """Everything a check may read about one call."""

    timeline: Timeline
    events: CallEvents
    events_phrases: dict[str, tuple[str, ...]]
    measures: Any = None  # acoustics.Measures when there is audio
    rings: int | None = None  # rings before pick-up, from audio or metadata


@dataclass(frozen=True)
class Check:
    fn: Callable[[Rule, Call], Outcome]
    params: dict[str, Any] = field(default_factory=dict)
    wants_phrases: bool = True  # the rule must list phrases or patterns
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)  # param -> the values it accepts
    # how the live judge decides it: "final" (again on each final result: a text rule), "window"
    # (once its window has passed), "measure" (from the turns the listener hears, by its measure),
    # "end" (at the end of the call only)
    live: str = "end"
    at_least: dict[str, float] = field(default_factory=dict)  # numeric params are 0 or more unless named here
    signed: tuple[str, ...] = ()  # numeric params that may be negative (levels in dBFS, bounds, "off")


CHECKS: dict[str, Check] = {}

# what the measure checks can read: lists of (start, end) spans, and single values
SPAN_MEASURES = ("holds", "interruptions", "dead_air", "agent_noise", "ring_spans")
VALUE_MEASURES = ("agent_pace_cpm", "agent_volume_dbfs", "agent_pitch_range_semitones", "agent_pitch_std_semitones",
                  "hangup_after_last_words", "rings", "duration")


def check(name: str, wants_phrases: bool = True, choices: dict[str, tuple[str, ...]] | None = None,
          live: str = "end", at_least: dict[str, float] | None = None, signed: tuple[str, ...] = (),
          **params: Any):
    """Register a check with the parameters it takes (and their defaults); ``choices`` names the
    values a parameter accepts, so the loader refuses a misspelt step, part or measure with its
    line instead of the check failing (or passing) in every call judged; ``live`` says when the
    live judge can decide it."""
    def register(fn: Callable[[Rule, Call], Outcome]):
        CHECKS[name] = Check(fn, params, wants_phrases, dict(choices or {}), live, dict(at_least or {}), signed)
        return fn

    return register


# --- helpers -------------------------------------------------------------------

def match(rule: Rule, text: str) -> Match | None:
    """A rule's phrases, patterns or acts in ``text``, respecting its exceptions: the phrases are
    the pack's examples, the acts what any wording of them does."""
    m = find_any(text, rule.phrases, rule.unless)
    if m:
        return m
    for pattern in rule.patterns:
        m = search_pattern(text, pattern)
        if m:
            return m
    for act in rule.acts:
        m = find_act(text, act, rule.unless)
        if m:
            return m
    return None


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def at(u: Utterance, m: Match | None = None, offset: int = 0) -> Occurrence:
    """An utterance as evidence; with a match, the matched words, phrase and span
    (``offset``: where the matched text began in the utterance)."""
    if m is None:
        return Occurrence(u.start, u.end, quote(u.text))
    span = (m.span[0] + offset, m.span[1] + offset)
    return Occurrence(u.start, u.end, quote(m.evidence), m.phrase, span, u.text)


def matched_at(rule: Rule, u: Utterance, lo: int = 0, hi: int | None = None) -> Occurrence | None:
    """``at(u, match)`` for the rule's phrases within characters [lo, hi) of the utterance."""
    m = match(rule, u.text[lo:hi])
    return at(u, m, lo) if m else None


def speaker_utts(rule: Rule, call: Call) -> list[tuple[int, Utterance]]:
    tl = call.timeline
    if rule.speaker == "any":
        return list(enumerate(tl.utterances))
    test = is_agent if rule.speaker == "agent" else is_customer
    return [(i, u) for i, u in enumerate(tl.utterances) if test(tl, u)]


def not_applicable(detail: str) -> Outcome:
    return Outcome("not_applicable", detail=detail)


# --- text checks -----------------------------------------------------------------

@check("phrase_in_window", part="opening", utterances=2, seconds=15.0, choices={"part": ("opening", "closing")},
       live="window", at_least={"utterances": 1, "seconds": 0.1})
def phrase_in_window(rule: Rule, call: Call) -> Outcome:
    """Pass when a phrase occurs in the speaker's opening (or closing) window."""
    utts = [u for _, u in speaker_utts(rule, call)]
    if not utts:
        return not_applicable(f"no {rule.speaker} speech")
    n, secs, part = int(rule.params["utterances"]), float(rule.params["seconds"]), rule.params["part"]
    if part == "closing":
        window = utts[-n:]
        if window[-1].end is not None:
            window = [u for u in window if u.start is not None and u.start >= window[-1].end - secs] or window[-1:]
    else:
        window = utts[:n]
        if window[0].start is not None:
            window = [u for u in window if u.start is not None and u.start <= window[0].start + secs] or window[:1]
    for u in window:
        m = match(rule, u.text)
        if m:
            return Outcome("pass", (at(u, m),))
    text = " / ".join(u.text for u in window)
    return Outcome("fail", (Occurrence(window[0].start, window[-1].end, quote(text)),),
                   detail=f"not found in the {part} ({len(window)} utterance{'s' * (len(window) > 1)})")


@check("phrase_never", live="final", unless_asked=())
def phrase_never(rule: Rule, call: Call) -> Outcome:
    """Fail on every utterance of the speaker that contains a forbidden phrase, unless the
    other party's last words before it asked for exactly that (``unless_asked``: 您找售后部门 is
    a service when the caller asked 售后电话多少, and shifting blame when they did not)."""
    hits = []
    tl = call.timeline
    asked = tuple(rule.params.get("unless_asked", ()))
    for i, u in speaker_utts(rule, call):
        m = match(rule, u.text)
        if m and not (asked and tl.speakers_separated and _asked_before(tl, i, asked)):
            hits.append(at(u, m))
    return Outcome("fail", tuple(hits)) if hits else Outcome("pass")


def _asked_before(tl: Timeline, i: int, asked: tuple[str, ...]) -> bool:
    """The other party's last utterance before ``i`` (within the agent's current answer) says one
    of ``asked``, as written (homophones aside): an excuse matched loosely (电话给我 in 给我回电话，
    我是…) would forgive the very words the rule forbids."""
    me = tl.utterances[i].speaker
    for u in reversed(tl.utterances[max(0, i - 3):i]):
        if u.speaker != me:
            norm = normalize(u.text)
            return any(find_all(norm, a, exact=True) for a in asked)
    return False


@check("phrase_share", min_share=0.3, min_count=1, at_least={"min_count": 1})
def phrase_share(rule: Rule, call: Call) -> Outcome:
    """Pass when enough of the speaker's utterances carry one of the phrases (courtesy words)."""
    utts = [u for _, u in speaker_utts(rule, call)]
    if not utts:
        return not_applicable(f"no {rule.speaker} speech")
    hits = [u for u in utts if match(rule, u.text)]
    need = max(int(rule.params["min_count"]), math.ceil(float(rule.params["min_share"]) * len(utts)))
    detail = f"{len(hits)} of {len(utts)} utterances (need {need})"
    if len(hits) >= need:
        return Outcome("pass", tuple(at(u) for u in hits[:3]), detail)
    worst = [u for u in utts if u not in hits][:3]
    return Outcome("fail", tuple(at(u) for u in worst), detail)


@check("if_then", live="final", trigger=(), trigger_unless=(), before=0, after=0)
def if_then(rule: Rule, call: Call) -> Outcome:
    """Whenever the speaker says a trigger, a phrase must come in the same utterance,
    in the ``before`` utterances of the same turn before it (no other speaker between:
    a softener said to an earlier question does not soften this refusal), or in the
    speaker's ``after`` utterances after it."""
    indexed = speaker_utts(rule, call)
    utts = [u for _, u in indexed]
    missed, kept = [], []
    for k, u in enumerate(utts):
        trigger = find_any(u.text, rule.params["trigger"], rule.params["trigger_unless"])
        if not trigger:
            continue
        first = k
        while first > 0 and k - first < int(rule.params["before"]) and indexed[first - 1][0] == indexed[first][0] - 1:
            first -= 1
        around = utts[first: k + int(rule.params["after"]) + 1]
        (kept if any(match(rule, v.text) for v in around) else missed).append(at(u, trigger))
    if not missed and not kept:
        return not_applicable("no trigger in the call")
    if missed:
        return Outcome("fail", tuple(missed))
    return Outcome("pass", tuple(kept))


# --- protocols around events -------------------------------------------------------

def _agent_between(call: Call, lo: int, hi: int) -> list[Utterance]:
    tl = call.timeline
    return [u for u in tl.utterances[lo:hi] if is_agent(tl, u)]


def _hold_where(call: Call, h: Hold) -> Occurrence:
    tl = call.timeline
    if h.request is not None:
        return at(tl.utterances[h.request])
    return Occurrence(h.start, h.end, "hold heard in the audio with no request before it")


@check("hold_step", live="final", step="ask_permission",
       choices={"step": ("ask_permission", "give_reason", "thank_consent", "thank_after")})
def hold_step(rule: Rule, call: Call) -> Outcome:
    """Judge one step of the hold protocol on every hold.

    steps: ``ask_permission`` and ``give_reason`` look at the request,
    ``thank_consent`` between the customer's consent and the hold,
    ``thank_after`` at the agent's first words after it. When one utterance holds
    both the request and the return (a merged turn), the request is judged on the
    words before the return and the return on the words from it on.
    """
    holds = call.events.holds
    if not holds:
        return not_applicable("no hold in the call")
    tl, step = call.timeline, rule.params["step"]
    kept, broken = [], []
    for h in holds:
        if step in ("ask_permission", "give_reason"):
            if h.request is None:
                broken.append(_hold_where(call, h))
                continue
            until = h.back_from if h.back == h.request and h.back_from else None
            req = tl.utterances[h.request]
            prev = _agent_between(call, max(0, h.request - 1), h.request) if step == "give_reason" else []
            found = matched_at(rule, req, 0, until) or next(filter(None, (matched_at(rule, u) for u in prev)), None)
            (kept if found else broken).append(found or _hold_where(call, h))
            continue
        if step == "thank_consent":
            if h.consent is None:
                continue
            end = h.back if h.back is not None and h.back > h.consent else len(tl.utterances)
            ok = any(match(rule, u.text) for u in _agent_between(call, h.consent + 1, end))
            (kept if ok else broken).append(_hold_where(call, h))
        elif step == "thank_after":
            if h.back is None:
                continue
            u = tl.utterances[h.back]
            found = matched_at(rule, u, h.back_from)
            (kept if found else broken).append(found or at(u))
        else:
            raise ValueError(f"unknown hold step {step!r}")
    if broken:
        return Outcome("fail", tuple(broken), f"{len(broken)} of {len(holds)} holds")
    if not kept:
        return not_applicable("no hold where this step applies")
    return Outcome("pass", tuple(kept), f"{len(kept)} hold{'s' * (len(kept) > 1)}")


@check("transfer_step", live="final", step="explain", who=(), who_patterns=(),
       choices={"step": ("explain", "consent")})
def transfer_step(rule: Rule, call: Call) -> Outcome:
    """Judge each transfer: ``explain`` needs a reason (the rule's phrases) and who takes
    over (``who`` phrases / ``who_patterns``, e.g. 分机 + digits); ``consent`` needs a
    question (the rule's phrases) and the customer's agreement after it."""
    if not call.events.transfers:
        return not_applicable("no transfer in the call")
    tl, step = call.timeline, rule.params["step"]
    kept, broken = [], []
    for t in call.events.transfers:
        u = tl.utterances[t.index]
        # the same turn only: the agent's words just before, with no customer words between
        prev = _agent_between(call, t.index - 1, t.index) if t.index > 0 else []
        texts = [v.text for v in prev] + [u.text]
        if step == "explain":
            reason = any(match(rule, x) for x in texts)
            who = any(find_any(x, rule.params["who"]) or
                      any(search_pattern(x, p) for p in rule.params["who_patterns"]) for x in texts)
            ok = reason and who
        else:
            asked = any(match(rule, x) for x in texts)
            reply = next((v for v in tl.utterances[t.index + 1:] if is_customer(tl, v)), None)
            ok = asked and reply is not None and bool(find_any(reply.text, call.events_phrases["consent"]))
        (kept if ok else broken).append(at(u))
    if broken:
        return Outcome("fail", tuple(broken))
    return Outcome("pass", tuple(kept))


@check("message_step", live="final", step="absent", within=3, readback=(), readback_patterns=(),
       choices={"step": ("absent", "return_time", "offer_help", "record")})
def message_step(rule: Rule, call: Call) -> Outcome:
    """Taking a message for an absent colleague (phone rules section 4), per time it happens.

    ``absent``: the agent's first words after the ask say the colleague is out (the rule's
    phrases are not used: the event's own phrases found it); ``return_time`` / ``offer_help``:
    a phrase within ``within`` agent utterances from the "out"; ``record``: the agent took
    the message (the rule's phrases) and read it back in that or the next ``within`` agent
    utterances (``readback`` phrases or patterns); not applicable when the caller wanted no
    message."""
    if not call.events.messages:
        return not_applicable("no caller asked for an absent colleague")
    tl, step = call.timeline, rule.params["step"]
    kept, broken, declined = [], [], 0
    for ev in call.events.messages:
        after = [u for u in tl.utterances[ev.absent:] if is_agent(tl, u)]
        if step == "absent":
            u = tl.utterances[ev.first_reply]
            (kept if ev.first_reply == ev.absent else broken).append(at(u))
        elif step in ("return_time", "offer_help"):
            window = after[: int(rule.params["within"]) + 1]
            found = next(filter(None, (matched_at(rule, u) for u in window)), None)
            (kept if found else broken).append(found or at(after[0]))
        elif step == "record":
            took = next((k for k, u in enumerate(after) if match(rule, u.text)), None)
            if took is None:
                rest = [u for u in tl.utterances[ev.absent + 1:] if is_customer(tl, u)]
                if any(find_any(u.text, call.events_phrases["message_decline"]) for u in rest[:3]):
                    declined += 1
                    continue
                broken.append(at(after[0]))
                continue
            # a number read back and since masked ([手机号]) is still a read-back (a rescore of a
            # redacted store judges what was heard)
            readback = any(find_any(u.text, rule.params["readback"]) or
                           any(search_pattern(u.text, p) for p in rule.params["readback_patterns"]) or
                           any(tag in u.text for tag in TAGS)
                           for u in after[took: took + int(rule.params["within"]) + 1])
            (kept if readback else broken).append(matched_at(rule, after[took]) or at(after[took]))
        else:
            raise ValueError(f"unknown message step {step!r}")
    if broken:
        return Outcome("fail", tuple(broken))
    if not kept:
        return not_applicable("the caller left no message" if declined else "no message to judge")
    return Outcome("pass", tuple(kept))


# --- rings -----------------------------------------------------------------------

CALLBACK_PROMISED = "callback promised: 'phonecoach batch' judges it from the call log (started_at, caller)"


@check("callback_within", hours=4.0, at_least={"hours": 0.01})
def callback_within(rule: Rule, call: Call) -> Outcome:
    """The agent's promise to call back (the rule's phrases). One call cannot tell whether the
    callback came: the promise is kept as evidence and the archive batch, which knows every
    call's start time and number, judges it (``crosscall.py``)."""
    for _, u in speaker_utts(rule, call):
        found = matched_at(rule, u)
        if found:
            return Outcome("not_applicable", (found,), CALLBACK_PROMISED)
    return not_applicable("no callback promised")


@check("max_rings", wants_phrases=False, max_rings=3)
def max_rings(rule: Rule, call: Call) -> Outcome:
    """Pick up within ``max_rings`` rings (from the ringback tone or call metadata)."""
    if call.rings is None:
        return not_applicable("ring count unknown: no ringback in the recording and no --ring-seconds")
    detail = f"answered after {call.rings} ring{'s' * (call.rings != 1)}"
    status: Status = "pass" if call.rings <= int(rule.params["max_rings"]) else "fail"
    return Outcome(status, (Occurrence(0.0, None, detail),), detail)


@check("apology_if_waited", max_rings=3, utterances=2, at_least={"utterances": 1})
def apology_if_waited(rule: Rule, call: Call) -> Outcome:
    """After more than ``max_rings`` rings the opening must apologise."""
    if call.rings is None:
        return not_applicable("ring count unknown")
    if call.rings <= int(rule.params["max_rings"]):
        return not_applicable(f"caller waited {call.rings} rings: no apology needed")
    opening = [u for _, u in speaker_utts(rule, call)][: int(rule.params["utterances"])]
    for u in opening:
        m = match(rule, u.text)
        if m:
            return Outcome("pass", (at(u, m),))
    occ = (at(opening[0]),) if opening else ()
    return Outcome("fail", occ, f"caller waited {call.rings} rings")


# --- an unhappy caller (phone rules section 9) ---------------------------------------------------

@check("after_complaint", live="final", choices={"mode": ("say", "never")}, mode="say", utterances=3,
       seconds=60.0)
def after_complaint(rule: Rule, call: Call) -> Outcome:
    """The agent's answer to each complaint: ``say`` one of the phrases in the agent's first
    ``utterances`` utterances after it (0: any time before the call ends) and within ``seconds``
    (0: no limit); ``never`` say them after a complaint. Not applicable without a complaint."""
    tl = call.timeline
    if not call.events.complaints:
        return not_applicable("no complaint in the call")
    n, secs, mode = int(rule.params["utterances"]), float(rule.params["seconds"]), rule.params["mode"]
    if mode == "never":
        first = call.events.complaints[0]
        hits = [at(u, m) for u in tl.utterances[first + 1:] if is_agent(tl, u) and (m := match(rule, u.text))]
        return Outcome("fail", tuple(hits)) if hits else Outcome("pass")
    kept, broken = [], []
    for c in call.events.complaints:
        said = tl.utterances[c]
        window = [u for u in tl.utterances[c + 1:] if u.speaker == "agent"]
        if n:
            window = window[:n]
        if secs and said.end is not None:
            window = [u for u in window if u.start is None or u.start <= said.end + secs]
        hit = next(((u, m) for u in window if (m := match(rule, u.text))), None)
        if hit:
            kept.append(at(*hit))
        else:
            broken.append(at(said))
    if broken:
        return Outcome("fail", tuple(broken), detail=f"{len(broken)} of {len(call.events.complaints)} complaints")
    return Outcome("pass", tuple(kept))


@check("pace_after_complaint", wants_phrases=False, margin=0.10, seconds=60.0, min_speech=6.0,
       at_least={"seconds": 1.0})
def pace_after_complaint(rule: Rule, call: Call) -> Outcome:
    """急事慢慢说: the agent's pace (spoken characters a minute of their own speech) in the
    ``seconds`` after the first complaint is not above their pace before it by more than
    ``margin``. Not applicable without a complaint, times, or ``min_speech`` seconds of agent
    speech on each side."""
    from ..core.text import spoken_chars

    tl = call.timeline
    if not call.events.complaints:
        return not_applicable("no complaint in the call")
    if not tl.has_times:
        return not_applicable("no utterance times to measure pace")
    c = tl.utterances[call.events.complaints[0]]
    at_ = c.end if c.end is not None else c.start
    secs = float(rule.params["seconds"])
    agent = [u for u in tl.utterances if u.speaker == "agent" and u.start is not None and u.end is not None
             and u.end > u.start]
    before = [u for u in agent if u.end <= at_]
    after = [u for u in agent if at_ <= u.start <= at_ + secs]

    def pace(us: list[Utterance]) -> tuple[float, float]:
        seconds = sum(u.end - u.start for u in us)
        return (60.0 * sum(spoken_chars(u.text) for u in us) / seconds if seconds else 0.0), seconds

    (p0, s0), (p1, s1) = pace(before), pace(after)
    need = float(rule.params["min_speech"])
    if s0 < need or s1 < need:
        return not_applicable(f"under {need:g} s of agent speech before or after the complaint")
    evidence = f"{p1:.0f} 字/分 after the complaint, {p0:.0f} before"
    if p1 > p0 * (1.0 + float(rule.params["margin"])):
        return Outcome("fail", (Occurrence(after[0].start, after[-1].end, evidence),), detail=evidence)
    return Outcome("pass", (Occurrence(after[0].start, after[-1].end, evidence),), detail=evidence)


# --- measures from the audio -------------------------------------------------------------

def _measure(call: Call, name: str) -> tuple[Any, str]:
    """A measure's value, or None and the reason it was not measured."""
    m = call.measures
    if m is None:
        return None, "no audio to measure"
    value = getattr(m, name, None)
    if value is None:
        return None, m.why_missing(name)
    return value, ""


@check("spans_max", wants_phrases=False, choices={"measure": SPAN_MEASURES}, live="measure", signed=("max_total",),
       measure="",
       longer_than=0.0, max_count=0, max_total=-1.0, unless_asked_to_wait=False)
def spans_max(rule: Rule, call: Call) -> Outcome:
    """Fail when a measured list of spans (holds, interruptions, dead air, noise) has more
    than ``max_count`` spans longer than ``longer_than`` s, or (``max_total`` >= 0) more
    than ``max_total`` seconds in all. ``unless_asked_to_wait``: a span that begins just after
    the agent asked the caller to wait does not count (a silence announced is a hold)."""
    spans, why = _measure(call, rule.params["measure"])
    if spans is None:
        return not_applicable(why)
    if rule.params["unless_asked_to_wait"] and call.timeline.has_times:
        spans = [(s, e) for s, e in spans if not asked_to_wait(call.timeline.utterances, call.events_phrases, s)]
    long = [(s, e) for s, e in spans if e - s > float(rule.params["longer_than"])]
    total = sum(e - s for s, e in spans)
    occ = tuple(Occurrence(s, e, f"{e - s:.1f} s") for s, e in long)
    if float(rule.params["max_total"]) >= 0:
        detail = f"{total:.1f} s in all (limit {float(rule.params['max_total']):g} s)"
        return Outcome("fail" if total > float(rule.params["max_total"]) else "pass", occ, detail)
    detail = f"{len(long)} found (limit {int(rule.params['max_count'])})"
    return Outcome("fail" if len(long) > int(rule.params["max_count"]) else "pass", occ, detail)


@check("value_range", wants_phrases=False, choices={"measure": VALUE_MEASURES}, live="measure", signed=("min", "max"),
       measure="",
       min=float("-inf"), max=float("inf"), unit="")
def value_range(rule: Rule, call: Call) -> Outcome:
    """Fail when a measured value (pace, pitch range…) falls outside [min, max]."""
    value, why = _measure(call, rule.params["measure"])
    if value is None:
        return not_applicable(why)
    lo, hi, unit = float(rule.params["min"]), float(rule.params["max"]), rule.params["unit"]
    bounds = ([f"min {lo:g}"] if lo > float("-inf") else []) + ([f"max {hi:g}"] if hi < float("inf") else [])
    detail = f"{value:.1f} {unit} ({', '.join(bounds)})".replace("  ", " ")
    ok = lo <= value <= hi
    return Outcome("pass" if ok else "fail", (Occurrence(None, None, detail),), detail)


@check("loudness", wants_phrases=False, live="measure", signed=("ceiling_dbfs",), ceiling_dbfs=-9.0, max_rise_db=9.0)
def loudness(rule: Rule, call: Call) -> Outcome:
    """Fail on agent utterances louder than ``ceiling_dbfs``, or ``max_rise_db`` above the
    agent's typical level in this call (raising the voice at the customer)."""
    levels, why = _measure(call, "agent_utterance_levels")
    if not levels:
        return not_applicable(why or "no agent utterances to measure")
    typical = float(call.measures.agent_volume_dbfs)
    ceiling, rise = float(rule.params["ceiling_dbfs"]), float(rule.params["max_rise_db"])
    loud = [Occurrence(s, e, f"{d:.1f} dBFS ({d - typical:+.1f} dB)") for s, e, d in levels
            if d > ceiling or d - typical > rise]
    detail = f"typical {typical:.1f} dBFS, loudest {max(d for *_, d in levels):.1f} dBFS"
    return Outcome("fail" if loud else "pass", tuple(loud), detail)


@check("hangup_order", wants_phrases=False)
def hangup_order(rule: Rule, call: Call) -> Outcome:
    """Fail when the agent's line went dead before the customer's."""
    first, why = _measure(call, "hangup_first")
    if first is None:
        return not_applicable(why)
    after = call.measures.hangup_after_last_words
    detail = f"the {first} hung up first" + (f", {after:.1f} s after the last words" if after is not None else "")
    end = call.measures.duration
    return Outcome("fail" if first == "agent" else "pass", (Occurrence(end, end, detail),), detail)
