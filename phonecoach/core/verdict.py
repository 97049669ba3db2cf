"""The verdict on a call, as plain records: one result per rule (kept, broken or not judged,
with where and the words that show it) and the call's report and score.

Typed from the rule engine to the sinks and the store: JSON is made (``to_dict``) only where a
report leaves the program (``score --json``, report.json, the store) and read back
(``from_dict``) into these same types. The score is computed here and only here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Literal

from .measured import Measures
from .timeline import Timeline

Status = Literal["pass", "fail", "not_applicable"]
# the checks that judge the agent's answer to a complaint: the steps pages and views show together
ANSWER_CHECKS = ("after_complaint", "pace_after_complaint")
# ... and the rules judged on every call that the answer is read with too (phone rules section 9)
ANSWER_RULES = ("never.blame_customer",)


def answer_step(rule: str, check: str | None) -> bool:
    """The rule is a step of the agent's answer to a complaint (pages and views show them together)."""
    return check in ANSWER_CHECKS or rule in ANSWER_RULES
MONO_NOTE = ("mono recording: agent and customer are mixed; agent rules are judged on all speech, "
             "two-party rules are not applicable")


@dataclass(frozen=True)
class Occurrence:
    """Where a rule was kept or broken: time span and the words that show it.

    For a phrase match, ``evidence`` is the words that matched, ``phrase`` the rule
    phrase they matched and ``span`` their offsets in ``text`` (the utterance), so a
    report can highlight exactly those words."""

    start: float | None  # to the hundredth of a second, as shown and stored
    end: float | None
    evidence: str
    phrase: str = ""
    span: tuple[int, int] | None = None
    text: str = ""  # the utterance the span points into

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _round(self.start))
        object.__setattr__(self, "end", _round(self.end))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": _round(self.start), "end": _round(self.end), "evidence": self.evidence}
        if self.phrase:  # a phrase match: which phrase, and where in the utterance
            d.update(phrase=self.phrase, span=list(self.span) if self.span else None, text=self.text)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Occurrence":
        span = d.get("span")
        return cls(d.get("start"), d.get("end"), d.get("evidence") or "", d.get("phrase") or "",
                   tuple(span) if span else None, d.get("text") or "")


@dataclass(frozen=True)
class RuleInfo:
    """What a verdict keeps of its rule: enough to show it and to score it."""

    id: str
    title: str
    source: str  # the training document's words
    severity: str
    weight: float
    message: str  # what went wrong, shown on failure
    fix: str
    check: str = ""  # how it is judged (after_complaint: a step of the answer to a complaint)


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict. It keeps the rule's message and fix only where the rule was broken
    (what a report shows, and what its JSON keeps), so a result read back from the store is
    equal to the one the engine made."""

    rule: RuleInfo
    status: Status
    occurrences: tuple[Occurrence, ...] = ()
    detail: str = ""

    def __post_init__(self) -> None:
        if self.status != "fail" and (self.rule.message or self.rule.fix):
            object.__setattr__(self, "rule", replace(self.rule, message="", fix=""))

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
            "check": self.rule.check,
            "title": self.rule.title,
            "status": self.status,
            "severity": self.rule.severity,
            "weight": self.rule.weight,
            "start": _round(first.start),
            "end": _round(first.end),
            "evidence": first.evidence,
            "message": self.message,
            "detail": self.detail,
            "fix": self.rule.fix if self.status == "fail" else "",
            "source": self.rule.source,
            "phrase": first.phrase,
            "span": list(first.span) if first.span else None,
            "occurrences": [o.to_dict() for o in self.occurrences],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RuleResult":
        """A result as ``to_dict`` wrote it. The JSON keeps the rule's message and fix only where
        the rule was broken, so a kept rule read back has none (the pack has them)."""
        status = d["status"]
        message, fix = (d.get("message", ""), d.get("fix", "")) if status == "fail" else ("", "")
        info = RuleInfo(d["rule"], d.get("title", d["rule"]), d.get("source", ""), d.get("severity", ""),
                        float(d.get("weight", 1.0)), message, fix, d.get("check", ""))
        return cls(info, status, tuple(Occurrence.from_dict(o) for o in d.get("occurrences") or []), d.get("detail", ""))


def weighted_score(results: Iterable[tuple[float, str]]) -> float | None:
    """Weighted share of the judged rules that were kept, 0-100, from (weight, status) pairs;
    None when nothing was judged. The one score: reports, stored calls and the floor's
    running score all come from here."""
    judged = [(w, s) for w, s in results if s != "not_applicable"]
    total = sum(w for w, _ in judged)
    if total <= 0:
        return None
    return round(100.0 * sum(w for w, s in judged if s == "pass") / total, 1)


@dataclass
class CallReport:
    """The verdict on one call."""

    source: str  # the audio or transcript file (or the live session's folder)
    results: list[RuleResult]
    timeline: Timeline
    notes: list[str] = field(default_factory=list)  # one-line facts about how it was judged
    measures: Measures | None = None
    # where the caller complained (phone rules section 9): the utterance, and the phrase heard or
    # "raised voice" as ``phrase``; the answer to each is judged by the after_complaint rules
    complaints: tuple[Occurrence, ...] = ()
    # customers' personal numbers were masked in it (the pack's [privacy] redact): the store says so per call
    redacted: bool = False

    @property
    def score(self) -> float | None:
        """Weighted share of applicable rules kept, 0-100 (None when nothing applied)."""
        return weighted_score((r.rule.weight, r.status) for r in self.results)

    @property
    def all_notes(self) -> list[str]:
        """The notes given, and what the call itself says about how it was judged."""
        return list(self.notes) + ([MONO_NOTE] if not self.timeline.speakers_separated else [])

    def result(self, rule_id: str) -> RuleResult | None:
        return next((r for r in self.results if r.rule.id == rule_id), None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.source,
            "score": self.score,
            "notes": self.all_notes,
            "rules": [r.to_dict() for r in self.results],
            "utterances": [{"speaker": u.speaker, "text": u.text, "start": _round(u.start), "end": _round(u.end)}
                           for u in self.timeline.utterances],
        }
        d["complaints"] = [{"start": _round(o.start), "end": _round(o.end), "evidence": o.evidence, "cue": o.phrase}
                           for o in self.complaints]
        d["redacted"] = self.redacted
        if self.measures is not None:
            d["measures"] = self.measures.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], timeline: Timeline, measures: Measures | None) -> "CallReport":
        """A report as ``to_dict`` wrote it, with the call's lossless timeline and measures."""
        notes = [n for n in d.get("notes", []) if n != MONO_NOTE]
        complaints = tuple(Occurrence(c.get("start"), c.get("end"), c.get("evidence") or "", c.get("cue") or "")
                           for c in d.get("complaints") or [])
        return cls(d.get("file", ""), [RuleResult.from_dict(r) for r in d.get("rules", [])], timeline, notes,
                   measures, complaints, bool(d.get("redacted", False)))


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)
