"""How long a Chinese utterance is, counted as it was spoken: characters, without spaces,
punctuation or fillers (嗯, 呃 …). One character is one syllable, so pace is characters per
minute. Below the measures and the phrase matcher both, and light (no pinyin, no dictionaries)."""
from __future__ import annotations

import unicodedata

FILLERS = frozenset("嗯呃啊额哎唉噢哦")


def spoken(ch: str) -> bool:
    """A character someone said: not a space, punctuation, a symbol or a filler."""
    cat = unicodedata.category(ch)
    return not (cat.startswith("P") or cat.startswith("S") or ch.isspace() or ch in FILLERS)


def spoken_chars(text: str) -> int:
    """How many characters of ``text`` were spoken (as the phrase matcher counts them)."""
    return sum(1 for ch in text if spoken(ch))
