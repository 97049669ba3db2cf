"""What a rule pack is, as plain records: the rules and the pack that holds them.

Below the checks and the loader both: a check reads a ``Rule``, the loader builds them and asks
the checks which parameters each takes, and neither needs the other to know what a rule is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.settings import MeasureSettings
from ..core.verdict import RuleInfo


@dataclass(frozen=True)
class Rule:
    """One phone rule: what it checks, where it comes from, how to fix it."""

    id: str
    title: str
    source: str  # the training document's words
    severity: str
    weight: float  # share of the score
    check: str  # name of the generic check that judges it
    message: str  # what went wrong, shown on failure
    fix: str  # one sentence telling the agent what to do instead
    speaker: str = "agent"
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()  # regular expressions on normalised text
    unless: tuple[str, ...] = ()  # exceptions: a phrase match overlapping one is ignored
    acts: tuple[str, ...] = ()  # what the words do (judging/acts.py) that also satisfies the rule
    params: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()  # what the rule cannot be judged without
    line: int = 0  # where the rule starts in its file

    @property
    def info(self) -> RuleInfo:
        """What a verdict keeps of this rule."""
        return RuleInfo(self.id, self.title, self.source, self.severity, self.weight, self.message, self.fix,
                        self.check)


HOTLINES = ("10086", "10010", "10000", "95588", "95533", "95555", "95566", "95599", "95559", "12345", "12315",
            "12366", "12333", "110", "120", "119")


@dataclass(frozen=True)
class Privacy:
    """The pack's ``[privacy]``: customers' personal numbers masked in every output (on unless a
    team's policy turns it off), and the service numbers that are never a customer's."""

    redact: bool = True
    hotlines: tuple[str, ...] = HOTLINES


@dataclass(frozen=True)
class ReviewShares:
    """The pack's ``[review]``: which of each agent's calls of a week a reviewer's queue holds,
    as shares of them (each at least one call when above 0): the lowest scores, calls broken on
    the rules reviewers overturn most, and a random share, so good calls are heard too."""

    lowest: float = 0.1
    least_trusted: float = 0.1
    random: float = 0.1
    least_trusted_rules: int = 3


@dataclass(frozen=True)
class RulePack:
    name: str
    language: str
    path: str
    events: dict[str, tuple[str, ...]]
    rules: tuple[Rule, ...]
    measures: MeasureSettings = MeasureSettings()
    privacy: "Privacy" = field(default_factory=lambda: Privacy())
    review: ReviewShares = ReviewShares()

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)
