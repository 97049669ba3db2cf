"""The rule engine: timeline (+ measures) in, one result per rule and a score out.

Filtering by what a call can support (mono audio, no times, no audio) lives
here, once, instead of in every check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.timeline import Timeline
from .checks import CHECKS, Call, Occurrence, Outcome, Status
from .events import derive_events
from .model import Rule, RulePack

NEEDS_REASON = {
    "speakers": "mono recording: agent and customer are not separated",
    "times": "the transcript has no times",
    "audio": "no audio to measure",
    "words": "no words to judge it by (no speech model and no transcript)",
}


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    status: Status
    occurrences: tuple[Occurrence, ...] = ()
    detail: str = ""

    @property
    def message(self) -> str:
        if self.status == "fail":
            return self.rule.message
        if self.status == "not_applicable":
            return self.detail
        return ""

    def to_dict(self) -> dict[str, Any]:
        first = self.occurrences[0] if self.occurrences else Occurrence(None, None, "")
        return {
            "rule": self.rule.id,
            "title": self.rule.title,
            "status": self.status,
            "severity": self.rule.severity,
            "start": _round(first.start),
            "end": _round(first.end),
            "evidence": first.evidence,
            "message": self.message,
            "detail": self.detail,
            "fix": self.rule.fix if self.status == "fail" else "",
            "source": self.rule.source,
            "phrase": first.phrase,
            "span": list(first.span) if first.span else None,
            "occurrences": [_occurrence(o) for o in self.occurrences],
        }


@dataclass
class CallReport:
    """The verdict on one call."""

    source: str  # the audio or transcript file
    results: list[RuleResult]
    timeline: Timeline
    notes: list[str] = field(default_factory=list)  # one-line facts about how it was judged
    measures: Any = None

    @property
    def score(self) -> float | None:
        """Weighted share of applicable rules kept, 0-100 (None when nothing applied)."""
        judged = [r for r in self.results if r.status != "not_applicable"]
        total = sum(r.rule.weight for r in judged)
        if total <= 0:
            return None
        kept = sum(r.rule.weight for r in judged if r.status == "pass")
        return round(100.0 * kept / total, 1)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.source,
            "score": self.score,
            "notes": list(self.notes),
            "rules": [r.to_dict() for r in self.results],
            "utterances": [{"speaker": u.speaker, "text": u.text, "start": _round(u.start), "end": _round(u.end)}
                           for u in self.timeline.utterances],
        }
        if self.measures is not None:
            d["measures"] = self.measures.to_dict()
        return d


def _occurrence(o: Occurrence) -> dict[str, Any]:
    d: dict[str, Any] = {"start": _round(o.start), "end": _round(o.end), "evidence": o.evidence}
    if o.phrase:  # a phrase match: which phrase, and where in the utterance
        d.update(phrase=o.phrase, span=list(o.span) if o.span else None, text=o.text)
    return d


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def judge(pack: RulePack, timeline: Timeline, source: str, measures: Any = None,
          rings: int | None = None, notes: list[str] | None = None) -> CallReport:
    """Run every rule of ``pack`` over one call."""
    audio_holds = None
    if measures is not None and getattr(measures, "holds", None) is not None and timeline.has_times:
        audio_holds = list(measures.holds)
    if rings is None and measures is not None:
        rings = getattr(measures, "rings", None)
    call = Call(timeline=timeline, events=derive_events(timeline, pack.events, audio_holds),
                events_phrases=pack.events, measures=measures, rings=rings)
    results = [judge_rule(rule, call) for rule in pack.rules]
    notes = list(notes or [])
    if not timeline.speakers_separated:
        notes.append("mono recording: agent and customer are mixed; agent rules are judged on all speech, "
                     "two-party rules are not applicable")
    return CallReport(source=source, results=results, timeline=timeline, notes=notes, measures=measures)


def judge_rule(rule: Rule, call: Call) -> RuleResult:
    for need in rule.needs:
        if ((need == "speakers" and not call.timeline.speakers_separated)
                or (need == "times" and not call.timeline.has_times)
                or (need == "audio" and call.measures is None)):
            return RuleResult(rule, "not_applicable", detail=NEEDS_REASON[need])
    check = CHECKS[rule.check]
    if check.wants_phrases and not call.timeline.utterances:
        # live without a speech model: a hold may be measured, but there is nothing said to judge
        return RuleResult(rule, "not_applicable", detail=NEEDS_REASON["words"])
    outcome: Outcome = check.fn(rule, call)
    return RuleResult(rule, outcome.status, outcome.occurrences, outcome.detail)
