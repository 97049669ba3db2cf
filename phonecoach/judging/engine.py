"""The rule engine: timeline (+ measures) in, one result per rule and a score out.

Filtering by what a call can support (mono audio, no times, no audio) lives
here, once, instead of in every check.
"""
from __future__ import annotations

import math

from ..core.measured import Measures
from ..core.timeline import Timeline
from ..core.verdict import CallReport, Occurrence, RuleResult
from .checks import CHECKS, Call, Outcome, quote
from .redaction import redact_report
from .events import derive_events
from .model import Rule, RulePack

NEEDS_REASON = {
    "speakers": "mono recording: agent and customer are not separated",
    "times": "the transcript has no times",
    "audio": "no audio to measure",
    "words": "no words to judge it by (no speech model and no transcript)",
}


RING_PERIOD = 5.0  # seconds per ring when only the ring time is known (China: 1 s on, 4 s off)


def rings_from_seconds(seconds: float | None) -> int | None:
    return None if seconds is None else int(math.ceil(max(0.0, seconds) / RING_PERIOD - 1e-9))


def judge(pack: RulePack, timeline: Timeline, source: str = "", measures: Measures | None = None, *,
          notes: list[str] | None = None) -> CallReport:
    """Run every rule of ``pack`` over one call: the one judgement of ``score``, ``batch``,
    ``--rescore`` and the end of a live call. The rings come from the call's metadata
    (``timeline.ring_seconds``) when it has them, else from the ringback heard."""
    audio_holds = None
    if measures is not None and measures.holds is not None and timeline.has_times:
        audio_holds = list(measures.holds)
    rings = rings_from_seconds(timeline.ring_seconds)  # metadata wins over the ringback heard
    if rings is None and measures is not None:
        rings = measures.rings
    raised = measures.customer_raised if measures is not None and timeline.has_times else None
    call = Call(timeline=timeline, events=derive_events(timeline, pack.events, audio_holds, raised),
                events_phrases=pack.events, measures=measures, rings=rings)
    results = [judge_rule(rule, call) for rule in pack.rules]
    report = CallReport(source=source, results=results, timeline=timeline, notes=list(notes or []),
                        measures=measures, complaints=complaint_moments(call))
    # judged on the words as heard; what leaves here for any sink has the customer's numbers masked
    return redact_report(report, pack.privacy.hotlines) if pack.privacy.redact else report


def complaint_moments(call: Call) -> tuple[Occurrence, ...]:
    """Where the caller complained, and the cue (the phrase, or a raised voice): for the report."""
    tl, ev = call.timeline, call.events
    return tuple(Occurrence(tl.utterances[i].start, tl.utterances[i].end, quote(tl.utterances[i].text), cue)
                 for i, cue in zip(ev.complaints, ev.complaint_cues))


def judge_rule(rule: Rule, call: Call) -> RuleResult:
    for need in rule.needs:
        if ((need == "speakers" and not call.timeline.speakers_separated)
                or (need == "times" and not call.timeline.has_times)
                or (need == "audio" and call.measures is None)):
            return RuleResult(rule.info, "not_applicable", detail=NEEDS_REASON[need])
    check = CHECKS[rule.check]
    if check.wants_phrases and not call.timeline.utterances:
        # live without a speech model: a hold may be measured, but there is nothing said to judge
        return RuleResult(rule.info, "not_applicable", detail=NEEDS_REASON["words"])
    outcome: Outcome = check.fn(rule, call)
    return RuleResult(rule.info, outcome.status, outcome.occurrences, outcome.detail)
