"""A verdict with customers' personal numbers masked, made once after the rules have judged the
words as heard and before anything is written or shown (terminal, ``--json``, the store and its
sound index, exports, pages, live files): every sink then carries ``[身份证号]``, ``[手机号]``…

The timeline is read in order so that context carries across turns (the agent asks 您的身份证号
是多少, the customer reads it) and a number read in two pieces by one speaker (six digits, a
pause or the agent's 嗯, the rest) is judged as one. Each utterance's words are masked where
their characters fall inside a number; the findings' evidence, quoted text and details get the
same replacements, and a phrase's highlighted span is found again in the masked text.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from ..core.timeline import Timeline, Utterance, Word
from ..core.verdict import CallReport, Occurrence, RuleResult
from .personal import JOIN_SECONDS, TAGS, Found, classify, digit_runs, find_personal, mask

SHORT_BETWEEN = 3  # characters the other party may say between two pieces of one number (嗯, 好的)
PAD_SECONDS = 0.15  # a masked number's sound is hidden this much wider on each side


def redact_timeline(tl: Timeline, hotlines: Iterable[str] = ()) -> tuple[Timeline, dict[str, str]]:
    """The timeline with its personal numbers masked, and each raw number found -> its tag (to
    mask the same words wherever a finding quotes them)."""
    hotlines = tuple(hotlines)
    utts = tl.utterances
    found: list[list[Found]] = []
    for i, u in enumerate(utts):
        before = utts[i - 1].text if i else ""
        found.append(find_personal(u.text, before, hotlines))
    _join_pieces(utts, found, hotlines)
    raw: dict[str, str] = {}
    out = []
    for u, fs in zip(utts, found):
        if not fs:
            out.append(u)
            continue
        for f in fs:
            raw[u.text[f.start:f.end]] = f.tag
        out.append(replace(u, text=mask(u.text, fs), words=_mask_words(u, fs)))
    return replace(tl, utterances=out), raw


def _join_pieces(utts: list[Utterance], found: list[list[Found]], hotlines: tuple[str, ...]) -> None:
    """A number read in pieces: a speaker's utterance ending in digits and their next one, soon
    after (with at most a short reply of the other party between), starting with digits, are
    one number when joined; both pieces are masked as that kind."""
    for i, u in enumerate(utts):
        runs = digit_runs(u.text)
        if not runs or u.text[runs[-1].end:].strip(" ，。,.？?"):
            continue
        prior = any(f.end >= runs[-1].end for f in found[i])  # its first piece is masked already
        for j in range(i + 1, len(utts)):
            v = utts[j]
            if v.speaker != u.speaker:
                if len(v.text.strip()) > SHORT_BETWEEN:
                    break
                continue
            if u.end is not None and v.start is not None and v.start - u.end > JOIN_SECONDS:
                break
            nxt = digit_runs(v.text)
            if not nxt or v.text[:nxt[0].start].strip(" ，,"):
                break
            before = (utts[i - 1].text if i else "") + u.text[:runs[-1].start]
            kind = classify(runs[-1].digits + nxt[0].digits, before, hotlines)
            if kind:
                if not prior:
                    found[i].append(Found(runs[-1].start, runs[-1].end, kind, runs[-1].digits))
                found[j].append(Found(nxt[0].start, nxt[0].end, kind, nxt[0].digits))
                found[i].sort(key=lambda f: f.start)
                found[j].sort(key=lambda f: f.start)
            break


def _mask_words(u: Utterance, fs: list[Found]) -> tuple[Word, ...]:
    """The utterance's words with those inside a number masked: the first word of a number
    carries its tag (and the number's time from its first word to its last), the others go."""
    if not u.words:
        return u.words
    out: list[Word] = []
    at = 0
    owner: dict[int, int] = {}  # number index -> position of its word in ``out``
    for w in u.words:
        k = u.text.find(w.text, at) if w.text else -1
        span = (k, k + len(w.text)) if k >= 0 else (at, at)
        at = span[1] if k >= 0 else at
        hit = next((n for n, f in enumerate(fs) if span[0] < f.end and f.start < span[1]), None)
        if hit is None:
            out.append(w)
        elif hit not in owner:
            owner[hit] = len(out)
            out.append(replace(w, text=fs[hit].tag))
        else:
            first = out[owner[hit]]
            out[owner[hit]] = replace(first, end=w.end)
    return tuple(out)


def _replace_all(text: str, raw: dict[str, str]) -> str:
    for number in sorted(raw, key=len, reverse=True):
        if number in text:
            text = text.replace(number, raw[number])
    return text


def _occurrence(o: Occurrence, raw: dict[str, str]) -> Occurrence:
    if not raw:
        return o
    evidence, text = _replace_all(o.evidence, raw), _replace_all(o.text, raw)
    if evidence == o.evidence and text == o.text:
        return o
    span = o.span
    if span is not None and text != o.text:
        k = text.find(o.text[span[0]:span[1]]) if o.text[span[0]:span[1]] else -1
        span = (k, k + span[1] - span[0]) if k >= 0 else None
    return replace(o, evidence=evidence, text=text, span=span)


def redact_report(report: CallReport, hotlines: Iterable[str] = ()) -> CallReport:
    """``report`` with every customer's personal number masked in its timeline and findings."""
    timeline, raw = redact_timeline(report.timeline, hotlines)
    if not raw:
        return replace(report, redacted=True)
    results = [RuleResult(r.rule, r.status, tuple(_occurrence(o, raw) for o in r.occurrences),
                          _replace_all(r.detail, raw)) for r in report.results]
    return replace(report, results=results, timeline=timeline, redacted=True,
                   complaints=tuple(_occurrence(o, raw) for o in report.complaints))


def personal_spans(tl: Timeline) -> list[tuple[float, float]]:
    """Where in the audio masked numbers were said (seconds): each masked word's time (a number's
    first word carries it to its last), or the whole utterance where the words have no times.
    A page or the dashboard plays these as a beep."""
    spans = []
    for u in tl.utterances:
        if not any(tag in u.text for tag in TAGS):
            continue
        timed = [(w.start, w.end) for w in u.words if w.text in TAGS]
        if not timed and u.start is not None and u.end is not None:
            timed = [(u.start, u.end)]
        spans += [(max(0.0, a - PAD_SECONDS), b + PAD_SECONDS) for a, b in timed]
    return sorted(spans)


def redact_as_said(text: str, previous: list[Utterance], start: float | None,
                   hotlines: Iterable[str] = ()) -> str:
    """One party's new utterance masked before the rest of the call is known (a live session's
    record for a crash): every run of six digits or more the words do not say is no customer's,
    and a leading run that goes on from digits ending this party's utterance just before (the
    rest of a number read in pieces)."""
    before = "".join(u.text for u in previous[-2:])
    found = find_personal(text, before, hotlines, strict=True)
    runs = digit_runs(text)
    last = previous[-1] if previous else None
    if runs and not text[:runs[0].start].strip(" ，,") and last is not None and \
            (start is None or last.end is None or start - last.end <= JOIN_SECONDS):
        tail = digit_runs(last.text)
        if tail and not last.text[tail[-1].end:].strip(" ，。,.？?") and len(tail[-1].digits) >= 3 \
                and not any(f.start <= runs[0].start < f.end for f in found):
            found.append(Found(runs[0].start, runs[0].end, "number", runs[0].digits))
    return mask(text, found)
