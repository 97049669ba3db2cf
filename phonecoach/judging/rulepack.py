"""Rule packs: phone rules as UTF-8 TOML data, validated whole before use.

A pack holds ``[pack]`` (name, language), ``[events]`` (the phrases that mark a
hold request, a transfer, a consent — shared by several rules) and a list of
``[[rule]]`` tables. Each rule names the generic check that judges it; the
check declares which ``params`` it takes and their defaults. Any schema error
is reported with its line and field, and the pack is refused whole.
"""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

from ..core.errors import RulePackError
from ..core.safeio import finite, read_limited
from ..core.settings import MeasureSettings
from .acts import ACTS
from .checks import CHECKS  # the checks declare their params
from .model import HOTLINES, Privacy, ReviewShares, Rule, RulePack
from .textmatch import compile_phrase

SEVERITIES = ("info", "minor", "major", "critical")
SPEAKER_CHOICES = ("agent", "customer", "any")
NEEDS = ("speakers", "times", "audio")
def _default_pack() -> Path:
    """The shipped pack: inside the installed package (phonecoach/rules/, from the wheel), or
    in a source checkout's rules/ folder (the packs' home, which the wheel is built from)."""
    here = Path(__file__).resolve().parents[1]
    installed = here / "rules" / "zh-CN.toml"
    return installed if installed.exists() else here.parent / "rules" / "zh-CN.toml"


DEFAULT_PACK = _default_pack()

EVENT_DEFAULTS: dict[str, list[str]] = {
    "hold_request": [],  # agent asks the caller to wait
    "hold_request_unless": [],
    "consent": [],  # customer agrees
    "transfer": [],  # agent announces a transfer
    "transfer_unless": [],
    "thanks": [],  # a thank-you
    "hold_return": [],  # the agent is back from a hold (感谢您的耐心等待, 查到了)
    "colleague_request": [],  # the caller asks for a colleague
    "colleague_absent": [],  # the agent says the colleague is out
    "colleague_absent_unless": [],
    "message_decline": [],  # the caller wants no message taken
    "complaint": [],  # the caller complains or is upset (section 9)
    "complaint_unless": [],
}


class _Locator:
    """Finds the line of a rule's field in the raw TOML, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [i for i, ln in enumerate(self.lines) if re.match(r"\s*\[\[\s*rule\s*\]\]", ln)]

    def line(self, rule_index: int | None, key: str | None = None) -> int:
        if rule_index is None or rule_index >= len(self.starts):
            return self._find(0, len(self.lines), key) if key else 1
        lo = self.starts[rule_index]
        hi = self.starts[rule_index + 1] if rule_index + 1 < len(self.starts) else len(self.lines)
        return self._find(lo, hi, key) if key else lo + 1

    def _find(self, lo: int, hi: int, key: str) -> int:
        pat = re.compile(rf"(^|[\s{{,]){re.escape(key)}\s*=")
        for i in range(lo, hi):
            if pat.search(self.lines[i]):
                return i + 1
        return lo + 1


def load_pack(path: str | Path | None = None) -> RulePack:
    """Read and validate a rule pack; RulePackError names the line and field."""
    p = Path(path) if path else DEFAULT_PACK
    raw = read_limited(p, RulePackError, "a rule pack", limit=4 * 1024 * 1024)
    try:
        text = raw.decode("utf-8-sig")  # a BOM, as editors on Windows save it, is fine
    except UnicodeDecodeError as exc:
        raise RulePackError(f"not UTF-8 text (byte {exc.start}); save the rule file as UTF-8", p) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulePackError(f"invalid TOML: {exc}", p) from None
    except RecursionError:
        raise RulePackError("invalid TOML: nested too deeply", p) from None
    loc = _Locator(text)

    def fail(msg: str, rule_index: int | None = None, key: str | None = None) -> None:
        raise RulePackError(f"line {loc.line(rule_index, key)}: {msg}", p)

    meta = data.get("pack", {})
    if not isinstance(meta, dict):
        fail("[pack] must be a table", None, "pack")
    events_raw = data.get("events", {})
    if not isinstance(events_raw, dict):
        fail("[events] must be a table")
    events: dict[str, tuple[str, ...]] = {}
    for key, default in EVENT_DEFAULTS.items():
        value = events_raw.get(key, default)
        if not _is_str_list(value) and value != []:
            fail(f"events.{key} must be a list of strings", None, key)
        for phrase in value:
            try:
                compile_phrase(phrase)
            except ValueError as exc:
                fail(f"events.{key}: {exc}", None, key)
        events[key] = tuple(value)
    for key in events_raw:
        if key not in EVENT_DEFAULTS:
            fail(f"unknown field events.{key} (known: {', '.join(EVENT_DEFAULTS)})", None, key)

    measures = _parse_measures(data.get("measures", {}), fail)
    privacy = _parse_privacy(data.get("privacy", {}), fail)
    review = _parse_review(data.get("review", {}), fail)
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        fail("no [[rule]] tables found")
    rules = [_parse_rule(r, i, fail) for i, r in enumerate(raw_rules)]
    seen: set[str] = set()
    for i, r in enumerate(rules):
        if r.id in seen:
            fail(f"duplicate rule id '{r.id}'", i, "id")
        seen.add(r.id)
    rules = [Rule(**{**r.__dict__, "line": loc.line(i)}) for i, r in enumerate(rules)]
    return RulePack(name=str(meta.get("name", p.stem)), language=str(meta.get("language", "")),
                    path=str(p), events=events, rules=tuple(rules), measures=measures, privacy=privacy,
                    review=review)


def _parse_review(raw: Any, fail) -> ReviewShares:
    """The ``[review]`` table: shares (0-1) of each agent's weekly calls in a reviewer's queue."""
    if not isinstance(raw, dict):
        fail("[review] must be a table")
    known = ("lowest", "least_trusted", "random", "least_trusted_rules")
    for key in raw:
        if key not in known:
            fail(f"unknown field review.{key} (known: {', '.join(known)})", None, key)
    out = {}
    for key in known[:3]:
        v = raw.get(key, getattr(ReviewShares, key))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            fail(f"review.{key} must be a share from 0 to 1", None, key)
        out[key] = float(v)
    n = raw.get("least_trusted_rules", ReviewShares.least_trusted_rules)
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 50:
        fail("review.least_trusted_rules must be a whole number, 0-50", None, "least_trusted_rules")
    return ReviewShares(**out, least_trusted_rules=n)


def _parse_privacy(raw: Any, fail) -> Privacy:
    """The ``[privacy]`` table: ``redact`` (true/false), ``hotlines`` (numbers kept as said)."""
    if not isinstance(raw, dict):
        fail("[privacy] must be a table")
    for key in raw:
        if key not in ("redact", "hotlines"):
            fail(f"unknown field privacy.{key} (known: redact, hotlines)", None, key)
    redact = raw.get("redact", True)
    if not isinstance(redact, bool):
        fail("privacy.redact must be true or false", None, "redact")
    hotlines = raw.get("hotlines", list(HOTLINES))
    if not _is_str_list(hotlines) or not all(h.isdigit() for h in hotlines):
        fail("privacy.hotlines must be a list of numbers written as strings", None, "hotlines")
    return Privacy(redact, tuple(hotlines))


def _parse_measures(raw: Any, fail) -> MeasureSettings:
    """The ``[measures]`` table: thresholds of the acoustic measurements."""
    from dataclasses import fields

    if not isinstance(raw, dict):
        fail("[measures] must be a table")
    known = {f.name: f for f in fields(MeasureSettings)}
    defaults = MeasureSettings()
    values = {}
    for key, value in raw.items():
        if key not in known:
            fail(f"unknown field measures.{key} (known: {', '.join(known)})", None, key)
        want = getattr(defaults, key)
        if not _same_kind(want, value):
            fail(f"measures.{key} must be {_kind(want)}", None, key)
        values[key] = value
    if values.get("ring_country", defaults.ring_country) not in ("cn", "us"):
        fail("measures.ring_country must be \"cn\" or \"us\"", None, "ring_country")
    for key, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0:
                fail(f"measures.{key} must be a finite number, 0 or more (it is {value})", None, key)
            if key in _MEASURE_LIMITS and value <= 0:
                fail(f"measures.{key} must be more than 0: it is the limit a call is judged by", None, key)
    settings = MeasureSettings(**values)
    if not 0 < settings.speech_release <= settings.speech_threshold < 1:
        key = "speech_release" if "speech_release" in values else "speech_threshold"
        fail("measures.speech_release and speech_threshold must be probabilities, 0 < release <= threshold < 1",
             None, key)
    return settings


_MEASURE_LIMITS = ("hold_min_seconds", "interrupt_min_overlap", "dead_air_seconds", "turn_gap_seconds",
                   "raised_voice_db", "call_end_idle_seconds")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _parse_rule(r: Any, i: int, fail) -> Rule:


    if not isinstance(r, dict):
        fail("each [[rule]] must be a table", i)
    for key in ("id", "title", "source", "severity", "check", "message", "fix"):
        if not isinstance(r.get(key), str) or not r[key].strip():
            fail(f"rule field '{key}' is missing or not a non-empty string", i, key)
    rid = r["id"]
    known = {"id", "title", "source", "severity", "weight", "check", "message", "fix", "speaker",
             "phrases", "patterns", "unless", "params", "needs", "acts"}
    for key in r:
        if key not in known:
            fail(f"rule '{rid}': unknown field '{key}'", i, key)
    if r["severity"] not in SEVERITIES:
        fail(f"rule '{rid}': severity must be one of {', '.join(SEVERITIES)}", i, "severity")
    weight = r.get("weight", 1.0)
    if not finite(weight) or weight < 0:
        fail(f"rule '{rid}': weight must be a finite number >= 0", i, "weight")
    speaker = r.get("speaker", "agent")
    if speaker not in SPEAKER_CHOICES:
        fail(f"rule '{rid}': speaker must be one of {', '.join(SPEAKER_CHOICES)}", i, "speaker")
    check = CHECKS.get(r["check"])
    if check is None:
        fail(f"rule '{rid}': unknown check '{r['check']}' (known: {', '.join(sorted(CHECKS))})", i, "check")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("phrases", "patterns", "unless", "needs", "acts"):
        value = r.get(key, [])
        if not _is_str_list(value) and value != []:
            fail(f"rule '{rid}': {key} must be a list of non-empty strings", i, key)
        lists[key] = tuple(value)
    for phrase in lists["phrases"] + lists["unless"]:
        try:
            compile_phrase(phrase)
        except ValueError as exc:
            fail(f"rule '{rid}': {exc}", i, "phrases")
    for pattern in lists["patterns"]:
        _check_pattern(pattern, f"rule '{rid}'", lambda msg: fail(msg, i, "patterns"))
    for need in lists["needs"]:
        if need not in NEEDS:
            fail(f"rule '{rid}': needs must name {', '.join(NEEDS)}", i, "needs")
    for act in lists["acts"]:
        if act not in ACTS:
            fail(f"rule '{rid}': unknown act '{act}' (known: {', '.join(ACTS)})", i, "acts")
    if check.wants_phrases and not (lists["phrases"] or lists["patterns"] or lists["acts"]):
        fail(f"rule '{rid}': check '{r['check']}' needs phrases, patterns or acts", i, "phrases")
    params_raw = r.get("params", {})
    if not isinstance(params_raw, dict):
        fail(f"rule '{rid}': params must be a table", i, "params")
    params = dict(check.params)
    for key, value in params_raw.items():
        if key not in check.params:
            fail(f"rule '{rid}': check '{r['check']}' has no parameter '{key}' "
                 f"(it takes: {', '.join(check.params) or 'none'})", i, key)
        want = check.params[key]
        if not _same_kind(want, value):
            fail(f"rule '{rid}': parameter '{key}' must be {_kind(want)}", i, key)
        params[key] = tuple(value) if isinstance(value, list) else value
        if key.endswith("_patterns"):
            for pattern in params[key]:
                _check_pattern(pattern, f"rule '{rid}' {key}", lambda msg: fail(msg, i, key))
    for key, value in params.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in check.signed:
            least = check.at_least.get(key, 0)
            if value < least:
                fail(f"rule '{rid}': parameter '{key}' must be {least:g} or more (it is {value:g})", i,
                     key if key in params_raw else "check")
    for key, allowed in check.choices.items():
        if params[key] not in allowed:
            given = f"'{params[key]}'" if key in params_raw else "not given"
            fail(f"rule '{rid}': check '{r['check']}' parameter '{key}' must be one of {', '.join(allowed)} "
                 f"({given})", i, key if key in params_raw else "check")
    return Rule(id=rid, title=r["title"], source=r["source"], severity=r["severity"],
                weight=float(weight), check=r["check"], message=r["message"], fix=r["fix"],
                speaker=speaker, phrases=lists["phrases"], patterns=lists["patterns"],
                unless=lists["unless"], params=params, needs=lists["needs"], acts=lists["acts"])


def _check_pattern(pattern: str, where: str, fail) -> None:
    import regex

    try:
        regex.compile(pattern, regex.V0)
    except regex.error as exc:
        fail(f"{where}: bad pattern {pattern!r}: {exc}")


def pack_warnings(pack: RulePack) -> list[str]:
    """What a pack may do badly without being wrong: patterns that backtrack without bound
    (scoring stops them after a second, failing the call, rather than hanging)."""
    from .textmatch import slow_pattern

    out = []
    for r in pack.rules:
        pats = list(r.patterns) + [p for k, v in r.params.items() if k.endswith("_patterns") for p in v]
        for pattern in pats:
            if slow_pattern(pattern):
                out.append(f"line {r.line}: rule '{r.id}': pattern {pattern!r} can take exponential time "
                           "(nested repetition such as (a+)+ or (a|aa)+); rewrite it")
    return out


def _same_kind(want: Any, value: Any) -> bool:
    if isinstance(want, bool):
        return isinstance(value, bool)
    if isinstance(want, (int, float)):
        # a threshold may be open-ended only where the check says so (min = -inf); NaN never
        return finite(value) or (isinstance(value, float) and math.isinf(value) and not math.isfinite(want))
    if isinstance(want, str):
        return isinstance(value, str)
    if isinstance(want, tuple):
        return _is_str_list(value)
    return True


def _kind(want: Any) -> str:
    if isinstance(want, bool):
        return "true or false"
    if isinstance(want, (int, float)):
        return "a finite number"
    if isinstance(want, str):
        return "a string"
    return "a list of strings"
