"""Where words begin and end in a Chinese sentence, as jieba cuts it (its dictionary, no HMM).

A weak homophone match must sit on word boundaries (``textmatch``). jieba finds them, but
importing it and loading its dictionary costs 0.7 s of CPU in every process that matches a
weak homophone, and a live session loads it before every call can need it: 1 % of decoding
a three-minute call. A sentence needs only the few dozen words it holds, so jieba's
``dict.txt`` is kept once per user as a SQLite table in the cache folder (under a key naming
the installed jieba and its dictionary) and each sentence asks it for its own substrings.

The cut is jieba's maximum-probability path over the dictionary's words: each position
takes the word starting there that maximises log(frequency / total) plus the best path after
it (an unknown character counts once), ties going to the longer word; runs of single letters
and digits join into one word; outside the characters jieba segments, whitespace runs and
every other character stand alone. ``tests/test_words.py`` holds it equal to jieba's own
``cut(HMM=False)`` on every text the rule packs and samples hold and on random sentences.
"""
from __future__ import annotations

import math
import re
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

from ..core.errors import PhonecoachError
from ..core.installed import package_file
from ..core.safeio import atomic_path

FORMAT = 1  # bump when what the table holds changes
BLOCK = re.compile("([\u4E00-\u9FD5a-zA-Z0-9+#&._%\\-]+)")  # what jieba segments with its dictionary
SKIP = re.compile(r"(\r\n|\s)")  # ... and, elsewhere, what stands as one piece
LETTER = re.compile("[a-zA-Z0-9]")  # single ones in a row are one word


def _entries(path: Path) -> tuple[dict[str, int], int]:
    """Each word's frequency as jieba keeps it (a word listed twice: its last line) and the sum of
    every line's frequency (jieba's total)."""
    freq: dict[str, int] = {}
    total = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip().decode("utf-8")
            if not line:
                continue
            try:
                word, count = line.split(" ")[:2]
                freq[word] = int(count)
            except ValueError:
                raise PhonecoachError(f"{path}: line {n}: not 'word frequency [tag]'") from None
            total += freq[word]
    return freq, total


def _fill(db: sqlite3.Connection, path: Path) -> None:
    freq, total = _entries(path)
    db.execute("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO words VALUES (?, ?)", ((w, c) for w, c in freq.items() if c > 0))
    db.execute("CREATE TABLE about (total INTEGER NOT NULL, longest INTEGER NOT NULL)")
    db.execute("INSERT INTO about VALUES (?, ?)", (total, max(map(len, freq))))
    db.commit()


class Words:
    """The dictionary's words with a frequency, asked sentence by sentence (thread-safe)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()
        total, self.longest = db.execute("SELECT total, longest FROM about").fetchone()
        self.log_total = math.log(total)

    @classmethod
    def open(cls, path: Path) -> "Words":
        # read-only, by a URI: as_uri() escapes what a home folder may hold (spaces, '#', '?', '%')
        return cls(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False))

    def known(self, sentence: str) -> dict[str, int]:
        """The words (frequency > 0) among ``sentence``'s substrings."""
        n = len(sentence)
        subs = list({sentence[k:k + m] for k in range(n) for m in range(1, min(self.longest, n - k) + 1)})
        found: dict[str, int] = {}
        with self._lock:
            for i in range(0, len(subs), 900):  # under SQLite's limit on parameters
                part = subs[i:i + 900]
                found.update(self._db.execute(
                    f"SELECT word, freq FROM words WHERE word IN ({','.join('?' * len(part))})", part))
        return found

    def cut_block(self, s: str) -> list[str]:
        """A run of the characters jieba segments, cut into words."""
        n = len(s)
        found = self.known(s)
        best: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        for k in range(n - 1, -1, -1):
            ends = [i for i in range(k, min(n, k + self.longest)) if s[k:i + 1] in found] or [k]
            best[k] = max((math.log(found.get(s[k:i + 1]) or 1) - self.log_total + best[i + 1][0], i) for i in ends)
        words, k, run = [], 0, ""
        while k < n:
            end = best[k][1] + 1
            word = s[k:end]
            if len(word) == 1 and LETTER.match(word):
                run += word
            else:
                if run:
                    words.append(run)
                    run = ""
                words.append(word)
            k = end
        if run:
            words.append(run)
        return words

    def cut(self, text: str) -> list[str]:
        """``text`` in words, as ``jieba.cut(text, HMM=False)`` gives them."""
        out: list[str] = []
        for block in BLOCK.split(text):
            if not block:
                continue
            if BLOCK.match(block):
                out.extend(self.cut_block(block))
                continue
            for piece in SKIP.split(block):
                if SKIP.match(piece):
                    out.append(piece)
                else:
                    out.extend(piece)
        return out


def _cache_file(key: str) -> Path:
    import platformdirs

    return platformdirs.user_cache_path("phonecoach", appauthor=False) / f"words-{key}.sqlite"


def _usable(path: Path) -> Words | None:
    try:
        return Words.open(path) if path.is_file() else None
    except (sqlite3.Error, TypeError):  # half a file from elsewhere, another format: made again
        return None


@lru_cache(maxsize=1)
def words() -> Words:
    """jieba's dictionary, from the user's cache (made there the first time; in memory when the
    cache cannot be written)."""
    found = package_file("jieba", "dict.txt")
    if found is None:
        raise PhonecoachError("jieba is not installed: it provides the dictionary word boundaries need")
    path, key = found
    cached = _cache_file(f"v{FORMAT}-{key}")
    got = _usable(cached)
    if got is not None:
        return got
    try:
        with atomic_path(cached) as tmp:
            db = sqlite3.connect(tmp)
            try:
                _fill(db, path)
            finally:
                db.close()
    except (OSError, sqlite3.Error, PhonecoachError):  # a read-only home: made in memory, for this process
        db = sqlite3.connect(":memory:", check_same_thread=False)
        _fill(db, path)
        return Words(db)
    got = _usable(cached)
    if got is None:
        raise PhonecoachError(f"{cached}: the word table just written cannot be read")
    return got


def boundaries(text: str) -> frozenset[int]:
    """Positions between words of ``text`` (0 and its length included)."""
    pos, out = 0, {0}
    for word in words().cut(text):
        pos += len(word)
        out.add(pos)
    return frozenset(out)
