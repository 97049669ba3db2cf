"""Phrase matching that tolerates what ASR does to Chinese text, and refuses look-alikes.

Recognisers put spaces between characters, pick a homophone (于我无关 for
与我无关), drop short function characters (有什么可帮您), insert fillers and
stutters (还有还有别的问题), and may emit traditional characters. So text and
phrases are both reduced to tone-less pinyin syllables, after traditional ->
simplified conversion and with spaces, punctuation and fillers removed, and a
phrase is found by aligning its syllables with the text's (rapidfuzz gives the
alignment) under a small edit budget that grows with the phrase's length:

- homophones (same syllable, other character) are cheap; dropping or inserting a
  short function character or a stutter is cheap; anything else is dear;
- negations (不 没 无 别 …) are never dropped, inserted or swapped, and
  pronouns are never swapped for each other (这不是你的问题 is no 这不是我的问题);
- phrases of one or two characters match exact syllables only;
- a homophone match must share at least half its characters with the phrase,
  or at least one and sit on word boundaries (jieba); it never spans
  punctuation, and one that shares no character never counts (本单 is no 笨蛋);
- characters in ``[ ]`` must match literally: ``[号]为您服务`` is not satisfied
  by 好为您服务.

Phrase syntax: ``A…B`` (or ``A...B``) means A, then B within ``MAX_GAP``
characters; ``[X]`` marks characters that must be written exactly so.
"""
from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import regex
from rapidfuzz.distance import Levenshtein

from ..core.errors import RulePackError
from ..core.text import FILLERS
from .syllables import pinyin

MAX_GAP = 16  # characters allowed between the parts of an ``A…B`` phrase
_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_GAP_SPLIT = re.compile(r"…+|\.{3,}")

# --- the cost of each kind of difference ------------------------------------------------
HOMOPHONE = 0.25  # same syllable, another character (或 for 货), or 你 for 您
CHEAP = 0.5  # a dropped or inserted function character, a stutter
DEAR = 1.0  # any other dropped, inserted or swapped character
NEVER = 99.0  # what would change the meaning
NEGATIONS = frozenset("不没无别非未莫勿甭")
PRONOUNS = frozenset("我你您他她它咱")
DROPPABLE = frozenset("的了一个以吗呢吧呀请是在下这那就都也么给着过地得您你啦哈")
INSERTABLE = frozenset("的了一个们去就呢吧呀那这是都也还下么啦哈给来再先呢")
POLITE_PAIR = frozenset("你您")
FILLER_WORDS = ("那个", "这个", "就是", "然后")  # inserted whole, they cost one cheap insertion
LOOSE_ENDS_FROM = 6  # phrases this long may lose a function character at an end


def budget(n_chars: int) -> float:
    """Edit budget for a phrase part of ``n_chars`` characters."""
    if n_chars <= 2:
        return 4 * HOMOPHONE  # exact syllables; homophones only (share rule still applies)
    if n_chars <= 5:
        return CHEAP + HOMOPHONE
    if n_chars <= 8:
        return DEAR + HOMOPHONE
    return DEAR + CHEAP + HOMOPHONE


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)
def _syllable(ch: str) -> str:
    """Tone-less, accent-merged pinyin of one character (the character itself if not Chinese)."""
    if not ("\u3400" <= ch <= "\u9fff"):
        return ch.lower()
    return _fuzz(pinyin(ch) or ch)


def _fuzz(py: str) -> str:
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if py.startswith(a):
            py = b + py[2:]
            break
    if py.endswith("ng") and py[-3:-2] in ("i", "e"):
        py = py[:-1]
    return py


_CODES: dict[str, str] = {}
_CODES_LOCK = threading.Lock()  # live sessions normalise text on several threads at once


def _code(syllable: str) -> str:
    """One private-use character per syllable, so syllable runs are strings rapidfuzz can align.
    Codes are handed out under a lock: two threads meeting a new syllable at once must not give
    two syllables one code (a cached match would then be wrong)."""
    c = _CODES.get(syllable)
    if c is None:
        with _CODES_LOCK:
            c = _CODES.get(syllable)
            if c is None:
                c = _CODES[syllable] = chr(0xF0000 + len(_CODES))
    return c


_POLITE_CODES = frozenset(_code(_syllable(c)) for c in POLITE_PAIR)  # 你 and 您


@dataclass(frozen=True)
class NormText:
    """Text reduced for matching, with a map back to the original characters."""

    original: str
    chars: str  # simplified, without spaces/punctuation/fillers
    syllables: tuple[str, ...]  # one per char in ``chars``
    index: tuple[int, ...]  # chars[i] came from original[index[i]]
    breaks: frozenset[int] = frozenset()  # i: punctuation stood between chars[i-1] and chars[i]
    codes: str = ""  # one code per syllable (see ``_code``)

    @functools.cached_property
    def char_set(self) -> frozenset[str]:
        """The characters present: a quick no for words that share none."""
        return frozenset(self.chars)

    def span_text(self, start: int, end: int) -> str:
        """The original text behind normalised chars [start, end)."""
        if start >= end:
            return ""
        return self.original[self.index[start] : self.index[end - 1] + 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in ``original`` of normalised chars [start, end)."""
        if start >= end:
            return (0, 0)
        return (self.index[start], self.index[end - 1] + 1)


@lru_cache(maxsize=4096)
def normalize(text: str) -> NormText:
    simplified = _t2s().convert(text)
    if len(simplified) != len(text):  # keep the index map exact
        simplified = text
    chars: list[str] = []
    index: list[int] = []
    breaks: set[int] = set()
    for i, ch in enumerate(simplified):
        ch = _DIGITS.get(ch, ch)
        cat = unicodedata.category(ch)
        if cat.startswith("P") or (cat.startswith("S") and not ch.isspace()):
            if chars:
                breaks.add(len(chars))
            continue
        if ch.isspace() or ch in FILLERS:
            continue
        chars.append(ch.lower())
        index.append(i)
    syllables = tuple(_syllable(c) for c in chars)
    return NormText(text, "".join(chars), syllables, tuple(index), frozenset(breaks),
                    "".join(_code(s) for s in syllables))



def syllables(text: str) -> list[str]:
    """The sound of ``text`` as the matcher hears it: one toneless, accent-merged syllable per
    character (fillers, spaces and punctuation gone; traditional characters as simplified).
    What an archive indexes so that a search finds what ASR wrote with other characters."""
    return [s for s in normalize(text).syllables if s.isalnum()]

@dataclass(frozen=True)
class Part:
    """One contiguous piece of a phrase."""

    chars: str
    codes: str
    literal: tuple[bool, ...]  # per character: must be written exactly so


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase: one or more parts that must occur in order, each within ``MAX_GAP``."""

    source: str
    parts: tuple[Part, ...]


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


@lru_cache(maxsize=4096)
def compile_phrase(phrase: str) -> Phrase:
    parts = []
    for piece in _GAP_SPLIT.split(phrase):
        marked: set[int] = set()
        plain = ""
        pos = 0
        for m in _BRACKETS.finditer(piece):
            plain += piece[pos:m.start()]
            before = len(normalize(plain).chars)
            plain += m.group(1)
            marked.update(range(before, len(normalize(plain).chars)))
            pos = m.end()
        plain += piece[pos:]
        if "[" in plain or "]" in plain:
            raise ValueError(f"phrase {phrase!r} has an unbalanced [ ]")
        norm = normalize(plain)
        if not norm.chars:
            continue
        lone = len(norm.chars) == 1  # a lone syllable (行 xing) has too many homophones
        literal = tuple(lone or i in marked for i in range(len(norm.chars)))
        parts.append(Part(norm.chars, norm.codes, literal))
    if not parts:
        raise ValueError(f"phrase {phrase!r} has no characters to match")
    return Phrase(phrase, tuple(parts))


@dataclass(frozen=True)
class Match:
    phrase: str  # the phrase as the rule pack writes it
    start: int  # normalised char index
    end: int  # exclusive
    evidence: str  # the original text that matched
    span: tuple[int, int] = (0, 0)  # offsets of ``evidence`` in the original text
    cost: float = 0.0  # how far the words were from the phrase (0: as written, or a homophone away)


# --- aligning one part ------------------------------------------------------------------

@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    cost: float


def _part_hits(norm: NormText, part: Part, lo: int, hi: int, exact: bool = False) -> list[_Hit]:
    """Every acceptable placement of ``part`` starting in [lo, hi], best first per start;
    ``exact``: syllables as written (homophones only), no dropped or inserted characters."""
    m = len(part.codes)
    hits: list[_Hit] = []
    if m == 1:
        i = norm.chars.find(part.chars, lo)
        while 0 <= i <= hi:
            hits.append(_Hit(i, i + 1, 0.0))
            i = norm.chars.find(part.chars, i + 1)
        return hits
    i = norm.codes.find(part.codes, lo)
    while 0 <= i <= hi:
        cost = _cost_equal(norm, part, i, 0, m)
        if cost < NEVER and _acceptable(norm, part, i, i + m, _shared(norm, part, [(0, i, m)])):
            hits.append(_Hit(i, i + m, cost))
        i = norm.codes.find(part.codes, i + 1)
    if exact and not hits and m > 2:
        return _hits_through_fillers(norm, part, lo, hi)
    if m <= 2 or hits or exact:
        return hits
    return _approx_hits(norm, part, lo, hi)


def _hits_through_fillers(norm: NormText, part: Part, lo: int, hi: int) -> list[_Hit]:
    """``part`` as written (homophones only) with nothing but filler words (那个, 就是) and
    stutters (投诉投诉邮箱's repeat) between its characters: what a recogniser adds to an
    exception without changing it (你们的投诉那个电话 is still 投诉电话)."""
    codes, chars, m = norm.codes, norm.chars, len(part.codes)
    hits: list[_Hit] = []
    i = codes.find(part.codes[0], lo)
    while 0 <= i <= hi:
        p, t, cost, shared = 0, i, 0.0, 0
        while p < m and t < len(codes):
            if codes[t] == part.codes[p]:
                c = _cost_equal(norm, part, t, p, 1)
                if c >= NEVER:
                    break
                shared += chars[t] == part.chars[p]
                p, t, cost = p + 1, t + 1, cost + c
            elif p and t + 2 <= len(chars) and chars[t:t + 2] in FILLER_WORDS:
                t += 2
            elif p and chars[t] in chars[max(i, t - 3):t] and chars[t] not in NEGATIONS:
                t += 1  # a stutter repeats what was just said
            else:
                break
        if p == m and not any(i < b < t for b in norm.breaks) and _acceptable(norm, part, i, t, shared):
            hits.append(_Hit(i, t, cost))
        i = codes.find(part.codes[0], i + 1)
    return hits


def _approx_hits(norm: NormText, part: Part, lo: int, hi: int) -> list[_Hit]:
    m, limit = len(part.codes), budget(len(part.codes))
    slack = int(limit / CHEAP)
    present = set(norm.codes[lo:min(len(norm.codes), hi + m + slack)])
    if sum(c in present for c in part.codes) < m - slack:
        return []
    # a short phrase keeps both its ends (您可以 without 您 is any 可以); a long one may lose
    # a function character at either end (有什么可以帮 for 有什么可以帮您)
    loose_ends = m >= LOOSE_ENDS_FROM
    firsts = {part.codes[0]} | ({part.codes[1]} if loose_ends and part.chars[0] in DROPPABLE else set())
    lasts = {part.codes[-1]} | ({part.codes[-2]} if loose_ends and part.chars[-1] in DROPPABLE else set())
    if part.chars[0] in POLITE_PAIR:  # 你挂电话吧 said as 您挂电话吧: the swap is cheap, so may start it
        firsts |= _POLITE_CODES
    if part.chars[-1] in POLITE_PAIR:
        lasts |= _POLITE_CODES
    best: dict[int, _Hit] = {}
    codes = norm.codes
    for i in range(lo, min(hi, len(codes) - 1) + 1):
        if codes[i] not in firsts:
            continue
        for length in range(max(2, m - slack), m + 2 * slack + 1):  # a filler word inserts two
            j = i + length
            if j > len(codes) or codes[j - 1] not in lasts:
                continue
            cost, shared = _align_cost(norm, part, i, j, limit)
            if cost <= limit and _acceptable(norm, part, i, j, shared):
                if i not in best or cost < best[i].cost:
                    best[i] = _Hit(i, j, cost)
    return [best[i] for i in sorted(best)]


def _align_cost(norm: NormText, part: Part, i: int, j: int, limit: float) -> tuple[float, int]:
    """Weighted cost of the best unit-cost alignment of ``part`` with text[i:j], and how many
    characters the two share literally."""
    cost, equal_runs = 0.0, []
    window = norm.chars[i:j]
    for op in Levenshtein.opcodes(part.codes, norm.codes[i:j]):
        if op.tag == "equal":
            equal_runs.append((op.src_start, i + op.dest_start, op.src_end - op.src_start))
            cost += _cost_equal(norm, part, i + op.dest_start, op.src_start, op.src_end - op.src_start)
        elif op.tag == "delete":
            for k in range(op.src_start, op.src_end):
                cost += _cost_drop(part, k)
        elif op.tag == "insert":
            cost += _cost_insert_run(window, op.dest_start, op.dest_end)
        else:  # replace
            for a, b in zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end)):
                cost += _cost_swap(part.chars[a], window[b], part.literal[a])
            extra_src = (op.src_end - op.src_start) - (op.dest_end - op.dest_start)
            for k in range(op.src_end - max(0, extra_src), op.src_end):
                cost += _cost_drop(part, k)
            cost += _cost_insert_run(window, op.dest_end + min(0, extra_src), op.dest_end)
        if cost > limit:
            return NEVER, 0
    return cost, _shared(norm, part, equal_runs)


def _cost_equal(norm: NormText, part: Part, t: int, p: int, length: int) -> float:
    cost = 0.0
    for k in range(length):
        a, b = part.chars[p + k], norm.chars[t + k]
        if a != b:
            if part.literal[p + k] or (a in NEGATIONS) != (b in NEGATIONS):
                return NEVER  # 售后不 is no 售后部: a negation never stands in for a sound-alike
            cost += HOMOPHONE
    return cost


def _cost_drop(part: Part, k: int) -> float:
    ch = part.chars[k]
    if part.literal[k] or ch in NEGATIONS:
        return NEVER
    return CHEAP if ch in DROPPABLE else DEAR


def _cost_insert_run(window: str, a: int, b: int) -> float:
    """Cost of the text characters window[a:b] that the phrase does not have."""
    cost, k = 0.0, a
    while k < b:
        if window[k:k + 2] in FILLER_WORDS and k + 2 <= b:
            cost, k = cost + CHEAP, k + 2
            continue
        cost, k = cost + _cost_insert(window, k), k + 1
    return cost


def _cost_insert(window: str, k: int) -> float:
    ch = window[k]
    if ch in NEGATIONS:
        return NEVER
    if ch in INSERTABLE or (k > 0 and ch in window[max(0, k - 2):k]):  # a function word, a stutter
        return CHEAP
    return DEAR


def _cost_swap(a: str, b: str, literal: bool) -> float:
    if a in POLITE_PAIR and b in POLITE_PAIR:
        return HOMOPHONE
    if literal or a in NEGATIONS or b in NEGATIONS or a in PRONOUNS or b in PRONOUNS:
        return NEVER
    return DEAR


def _shared(norm: NormText, part: Part, runs: list[tuple[int, int, int]]) -> int:
    """Characters written as in the phrase, over the aligned runs (phrase pos, text pos, length)."""
    return sum(part.chars[p + k] == norm.chars[t + k] for p, t, n in runs for k in range(n))


def _acceptable(norm: NormText, part: Part, i: int, j: int, shared: int) -> bool:
    """Look-alike guard: how much a homophone match must share with the phrase."""
    m = len(part.chars)
    if shared >= m:
        return True
    if shared == 0:
        return False  # 本单 is not 笨蛋: sound alone never makes a phrase
    if any(i < b < j for b in norm.breaks):
        return False  # 存，或 is not 蠢货: a homophone match never spans punctuation
    if 2 * shared >= m:
        return True
    bounds = word_boundaries(norm.chars)
    return i in bounds and j in bounds


@lru_cache(maxsize=4096)
def word_boundaries(chars: str) -> frozenset[int]:
    """Positions between words (jieba's, from ``words``), asked only when a weak homophone match
    needs them."""
    from .words import boundaries

    return boundaries(chars)


# --- phrases ----------------------------------------------------------------------------

def _matches(norm: NormText, comp: Phrase, exact: bool = False) -> Iterator[Match]:
    """Matches of a phrase in text order (one per start: the cheapest)."""
    first = comp.parts[0]
    for hit in _part_hits(norm, first, 0, len(norm.chars), exact):
        pos, cost, ok = hit.end, hit.cost, True
        for part in comp.parts[1:]:
            nxt = _part_hits(norm, part, pos, pos + MAX_GAP, exact)
            if not nxt:
                ok = False
                break
            pos, cost = nxt[0].end, cost + nxt[0].cost
        if ok:
            yield Match(comp.source, hit.start, pos, norm.span_text(hit.start, pos), norm.span(hit.start, pos), cost)


def find(text: str | NormText, phrase: str) -> Match | None:
    """First match of ``phrase`` in ``text``, or None."""
    norm = text if isinstance(text, NormText) else normalize(text)
    return next(_matches(norm, compile_phrase(phrase)), None)


def find_all(text: str | NormText, phrase: str, exact: bool = False) -> list[Match]:
    """Every match of ``phrase`` in ``text`` that does not overlap an earlier one."""
    norm = text if isinstance(text, NormText) else normalize(text)
    out: list[Match] = []
    for m in _matches(norm, compile_phrase(phrase), exact):
        if not out or m.start >= out[-1].end:
            out.append(m)
    return out


def find_any(text: str | NormText, phrases: Iterable[str], unless: Iterable[str] = ()) -> Match | None:
    """First phrase found in ``text`` that does not overlap an ``unless`` exception.

    Memoised for plain text with tuple phrase lists (what rules hold): the live judge asks
    the same questions of the same utterances as the timeline grows."""
    if isinstance(text, str) and isinstance(phrases, tuple) and isinstance(unless, tuple):
        return _find_any_cached(text, phrases, unless)
    return _find_any(text, phrases, unless)


@lru_cache(maxsize=65536)
def _find_any_cached(text: str, phrases: tuple[str, ...], unless: tuple[str, ...]) -> Match | None:
    return _find_any(text, phrases, unless)


def find_exceptions(norm: NormText, unless: Iterable[str]) -> list[Match]:
    """Where the ``unless`` phrases are, as written (homophones, fillers and stutters aside),
    each widened back over a stutter of its start: in 投诉投诉邮箱 the first 投诉 is the
    exception's too, not a complaint."""
    out = []
    for u in unless:
        for e in find_all(norm, u, exact=True):
            s = e.start
            while True:
                k = next((k for k in (3, 2, 1) if s - k >= 0 and norm.chars[s - k:s] == norm.chars[s:s + k]), 0)
                if not k:
                    break
                s -= k
            out.append(e if s == e.start else Match(e.phrase, s, e.end, norm.span_text(s, e.end),
                                                     norm.span(s, e.end), e.cost))
    return out


def _find_any(text: str | NormText, phrases: Iterable[str], unless: Iterable[str] = ()) -> Match | None:
    norm = text if isinstance(text, NormText) else normalize(text)
    # exceptions are matched as written (homophones aside): an exception stripped of the
    # character that makes it one (不管是 -> 不管) would excuse the very phrase it guards
    exceptions = find_exceptions(norm, unless)
    for phrase in phrases:
        for m in _matches(norm, compile_phrase(phrase)):
            if not any(e.start < m.end and m.start < e.end for e in exceptions):
                return m
    return None


PATTERN_TIMEOUT = 1.0  # seconds one rule pattern may spend on one utterance
_PROBES = ("a" * 300 + "!", "一" * 300 + "!", "ab" * 150 + "!", "1" * 300 + "x")


@lru_cache(maxsize=1024)
def _regex(pattern: str):
    return regex.compile(pattern, regex.V0)


def slow_pattern(pattern: str, timeout: float = 0.05) -> bool:
    """True when ``pattern`` backtracks without bound on a short hostile text ((a|aa)+$)."""
    own = sorted({c for c in pattern if c.isalnum()})[:6]  # the pattern's own letters, repeated: (x+x+)+y
    try:
        for probe in _PROBES + tuple(c * 300 + "!" for c in own):
            _regex(pattern).search(probe, timeout=timeout)
    except TimeoutError:
        return True
    return False


def search_pattern(text: str | NormText, pattern: str) -> Match | None:
    """Regular expression over the normalised characters (simplified, digits as 一二三),
    bounded in time: the ``regex`` engine stops a runaway pattern instead of hanging scoring."""
    norm = text if isinstance(text, NormText) else normalize(text)
    try:
        m = _regex(pattern).search(norm.chars, timeout=PATTERN_TIMEOUT)
    except TimeoutError:
        raise RulePackError(f"rule pattern {pattern!r} ran over {PATTERN_TIMEOUT:g} s on one utterance; "
                            "simplify it (see 'phonecoach rules check')") from None
    if m is None or m.end() == m.start():
        return None
    return Match(pattern, m.start(), m.end(), norm.span_text(m.start(), m.end()), norm.span(m.start(), m.end()))
