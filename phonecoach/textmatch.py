"""Phrase matching that tolerates what ASR does to Chinese text.

Recognisers put spaces between characters, pick a homophone (于我无关 for
与我无关), may emit traditional characters, and transcripts carry filler
sounds (嗯, 呃). So text and phrases are both reduced to a sequence of
tone-less pinyin syllables, after traditional -> simplified conversion and
with spaces, punctuation and fillers removed, and matched on that. A small
fuzzy step merges sounds that accents and recognisers confuse (zh/z, ch/c,
sh/s, -ing/-in, -eng/-en).

Phrase syntax: ``A…B`` (or ``A...B``) means A, then B within ``MAX_GAP``
characters; anything else is literal.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

MAX_GAP = 16  # characters allowed between the parts of an ``A…B`` phrase
FILLERS = frozenset("嗯呃啊额哎唉噢哦")
_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_GAP_SPLIT = re.compile(r"…+|\.{3,}")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)
def _syllable(ch: str) -> str:
    """Tone-less, accent-merged pinyin of one character (the character itself if not Chinese)."""
    if not ("\u3400" <= ch <= "\u9fff"):
        return ch.lower()
    from pypinyin import Style, lazy_pinyin

    py = lazy_pinyin(ch, style=Style.NORMAL)[0]
    return _fuzz(py)


def _fuzz(py: str) -> str:
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if py.startswith(a):
            py = b + py[2:]
            break
    if py.endswith("ng") and py[-3:-2] in ("i", "e"):
        py = py[:-1]
    return py


@dataclass(frozen=True)
class NormText:
    """Text reduced for matching, with a map back to the original characters."""

    original: str
    chars: str  # simplified, without spaces/punctuation/fillers
    syllables: tuple[str, ...]  # one per char in ``chars``
    index: tuple[int, ...]  # chars[i] came from original[index[i]]

    def span_text(self, start: int, end: int) -> str:
        """The original text behind normalised chars [start, end)."""
        if start >= end:
            return ""
        return self.original[self.index[start] : self.index[end - 1] + 1]


@lru_cache(maxsize=4096)
def normalize(text: str) -> NormText:
    simplified = _t2s().convert(text)
    if len(simplified) != len(text):  # keep the index map exact
        simplified = text
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(simplified):
        ch = _DIGITS.get(ch, ch)
        cat = unicodedata.category(ch)
        if ch.isspace() or cat.startswith("P") or cat.startswith("S") or ch in FILLERS:
            continue
        chars.append(ch.lower())
        index.append(i)
    return NormText(text, "".join(chars), tuple(_syllable(c) for c in chars), tuple(index))


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase: one or more parts that must occur in order.

    A part is matched on syllables, except a one-character part, which is
    matched on the character itself: a lone syllable (行 xing) has too many
    homophones (信, 新, 心) to stand for a word.
    """

    source: str
    parts: tuple[tuple[str, ...], ...]  # per part: syllables, or (the char,) for a 1-char part
    literal: tuple[bool, ...]  # per part: match on characters


@lru_cache(maxsize=4096)
def compile_phrase(phrase: str) -> Phrase:
    norms = [normalize(p) for p in _GAP_SPLIT.split(phrase)]
    norms = [n for n in norms if n.chars]
    if not norms:
        raise ValueError(f"phrase {phrase!r} has no characters to match")
    literal = tuple(len(n.chars) == 1 for n in norms)
    parts = tuple((n.chars,) if lit else n.syllables for n, lit in zip(norms, literal))
    return Phrase(phrase, parts, literal)


@dataclass(frozen=True)
class Match:
    phrase: str
    start: int  # normalised char index
    end: int  # exclusive
    evidence: str  # the original text that matched


def _find_part(norm: NormText, part: tuple[str, ...], literal: bool, lo: int, hi: int) -> int:
    if literal:
        i = norm.chars.find(part[0], lo, hi + 1)
        return i
    syl, n = norm.syllables, len(part)
    for i in range(lo, min(hi, len(syl) - n) + 1):
        if syl[i : i + n] == part:
            return i
    return -1


def find(text: str | NormText, phrase: str) -> Match | None:
    """First match of ``phrase`` in ``text``, or None."""
    norm = text if isinstance(text, NormText) else normalize(text)
    comp = compile_phrase(phrase)
    start = 0
    while True:
        s = _find_part(norm, comp.parts[0], comp.literal[0], start, len(norm.chars))
        if s < 0:
            return None
        pos = s + len(comp.parts[0])
        ok = True
        for part, lit in zip(comp.parts[1:], comp.literal[1:]):
            p = _find_part(norm, part, lit, pos, pos + MAX_GAP)
            if p < 0:
                ok = False
                break
            pos = p + len(part)
        if ok:
            return Match(phrase, s, pos, norm.span_text(s, pos))
        start = s + 1


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


def _find_any(text: str | NormText, phrases: Iterable[str], unless: Iterable[str] = ()) -> Match | None:
    norm = text if isinstance(text, NormText) else normalize(text)
    exceptions = [m for m in (find(norm, u) for u in unless) if m]
    for phrase in phrases:
        m = find(norm, phrase)
        while m is not None:
            if not any(e.start < m.end and m.start < e.end for e in exceptions):
                return m
            rest = find(_tail(norm, m.start + 1), phrase)
            if rest is None:
                break
            m = Match(phrase, rest.start + m.start + 1, rest.end + m.start + 1,
                      norm.span_text(rest.start + m.start + 1, rest.end + m.start + 1))
    return None


def _tail(norm: NormText, start: int) -> NormText:
    return NormText(norm.original, norm.chars[start:], norm.syllables[start:], norm.index[start:])


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def search_pattern(text: str | NormText, pattern: str) -> Match | None:
    """Regular expression over the normalised characters (simplified, digits as 一二三)."""
    norm = text if isinstance(text, NormText) else normalize(text)
    m = _regex(pattern).search(norm.chars)
    if m is None or m.end() == m.start():
        return None
    return Match(pattern, m.start(), m.end(), norm.span_text(m.start(), m.end()))
