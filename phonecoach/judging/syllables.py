"""Each Chinese character's pinyin syllable without its tone, as pypinyin reads it alone.

Phrase matching compares syllables (``textmatch``), so every process needs this table before
it can load a rule pack. Importing pypinyin costs 0.3 s of CPU (its phrase dictionary and
segmenter are built at import) for what is, for single characters, a fixed table; so the
table is made from pypinyin once, kept in the user's cache folder under a key naming the
installed pypinyin's dictionary, and read back in a few milliseconds by every later
process. Without a writable cache it is made in memory, as before.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..core.errors import PhonecoachError
from ..core.installed import package_file
from ..core.safeio import write_text_atomic

FIRST, LAST = 0x3400, 0x9FFF  # CJK Extension A and the Unified Ideographs: what pypinyin covers here
FORMAT = 1  # bump when what a syllable holds changes


def _dictionary_key() -> str | None:
    """Names the installed pypinyin's single-character dictionary (its version and the file's
    size), found without importing pypinyin; None if it cannot be found."""
    found = package_file("pypinyin", "pinyin_dict.json")
    return None if found is None else f"v{FORMAT}-{found[1]}"


def _cache_file(key: str) -> Path:
    import platformdirs

    return platformdirs.user_cache_path("phonecoach", appauthor=False) / f"syllables-{key}.txt"


def _from_pypinyin() -> list[str]:
    from pypinyin import Style, lazy_pinyin

    # one character at a time: a run of neighbouring code points can spell a phrase in
    # pypinyin's dictionary, whose reading is not the characters' own
    none = chr(0)
    out = []
    for c in range(FIRST, LAST + 1):
        py = lazy_pinyin(chr(c), style=Style.NORMAL, errors=lambda s: [none])[0]
        out.append("" if py == none or py == chr(c) else py)
    return out


def _read(path: Path) -> list[str] | None:
    try:
        table = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):  # none yet, or unreadable: made again
        return None
    return table if len(table) == LAST - FIRST + 1 else None


def _write(path: Path, table: list[str]) -> None:
    """Atomically: a process reading it never sees half a table."""
    try:
        write_text_atomic(path, "\n".join(table))
    except (OSError, PhonecoachError):
        pass  # a read-only home: made in memory again next time


@lru_cache(maxsize=1)
def table() -> list[str]:
    """Syllable of character ``chr(FIRST + i)`` at ``i`` (empty where pypinyin has none)."""
    key = _dictionary_key()
    if key is not None:
        cached = _read(_cache_file(key))
        if cached is not None:
            return cached
    made = _from_pypinyin()
    if key is not None:
        _write(_cache_file(key), made)
    return made


def pinyin(ch: str) -> str | None:
    """The tone-less syllable of one character, or None outside the table or without one."""
    code = ord(ch)
    if FIRST <= code <= LAST:
        return table()[code - FIRST] or None
    return None
