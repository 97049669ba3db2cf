"""Finding the calls where a phrase was said, in an archive of any size.

Two steps, so that a search is both fast and as tolerant as the rules: SQLite FTS5 over each
party's words written as sound (toneless pinyin: what a homophone or a traditional character
leaves unchanged) gives the candidate calls, allowing one syllable dropped and a few inserted;
then the rules' matcher confirms on each candidate's utterances, and says where.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from ..core.timeline import clock
from ..judging.textmatch import find, syllables
from .serial import timeline_from_json
from .store import SPEAKER_CODES, Store, load_json
from .views import Selection

CONFIRM_ALL = 300  # candidate calls a view confirms one by one; past it, the index's match stands


@dataclass(frozen=True)
class Hit:
    """One utterance where the phrase was said."""

    id: int  # the call's row id (its served page: /calls/<id>)
    key: str
    file: str
    agent: str | None
    speaker: str
    start: float | None
    text: str
    evidence: str  # the words that matched

    @property
    def clock(self) -> str:
        return clock(self.start) if self.start is not None else "-"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "file": self.file, "agent": self.agent, "speaker": self.speaker, "start": self.start,
                "text": self.text, "evidence": self.evidence}


def fts_query(phrase: str) -> str | None:
    """The FTS5 query for a phrase: its syllables near each other, or all but one of them (a
    character ASR dropped). None when the phrase has nothing to search by."""
    sounds = syllables(phrase)
    if not sounds:
        return None
    # NEAR's limit counts the tokens between the first phrase and the last: the phrase's own,
    # plus what ASR inserts (fillers, stutters, a merged word)
    near = len(sounds) + 2 + len(sounds) // 3

    def group(ss: list[str]) -> str:
        quoted = " ".join(f'"{s}"' for s in ss)
        return f"NEAR({quoted}, {near})" if len(ss) > 1 else quoted

    # all but one syllable (a dropped character); the whole phrase matches each of them anyway
    variants = [sounds[:i] + sounds[i + 1:] for i in range(len(sounds))] if len(sounds) >= 4 else [sounds]
    return " OR ".join(f"sound : {group(v)}" for v in variants)


def candidates(store: Store, sel: Selection, phrase: str, speaker: str | None = None,
               ordered: bool = True) -> list[int]:
    """Calls whose words sound like the phrase (FTS), within the selection (worst first when
    ``ordered``). The index's row ids name the call and the party, so no row is read to know them."""
    query = fts_query(phrase)
    if query is None:
        return []
    who = " AND rowid % 4 = ?" if speaker else ""
    ids = sorted({r >> 2 for (r,) in store.query(f"SELECT rowid FROM said WHERE said MATCH ?{who}",
                                                 [query] + ([SPEAKER_CODES[speaker]] if speaker else []))})
    if not ids:
        return []
    where, args = replace(sel, ids=tuple(ids)).where("c")
    sql = f"SELECT c.id FROM calls c WHERE {where}"
    if ordered:
        sql += " ORDER BY c.score IS NULL, c.score, c.file"
    return [i for (i,) in store.query(sql, args)]


def confirm(store: Store, ids: list[int], phrase: str, speaker: str | None = None,
            limit: int | None = None) -> list[Hit]:
    """The utterances of these calls (in this order) where the matcher finds the phrase."""
    hits: list[Hit] = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        rows = {row[0]: row for row in store.query(
            "SELECT c.id, c.key, c.file, c.agent, r.timeline FROM calls c JOIN records r ON r.call = c.id "
            "WHERE c.id IN (SELECT value FROM json_each(?))", [json.dumps(chunk)])}
        for call in chunk:
            if call not in rows or rows[call][4] is None:
                continue
            _, key, file, agent, raw = rows[call]
            for u in timeline_from_json(load_json(raw)).utterances:
                if speaker and u.speaker != speaker:
                    continue
                m = find(u.text, phrase)
                if m is not None:
                    hits.append(Hit(call, key, file, agent, u.speaker, u.start, u.text, m.evidence))
                    if limit is not None and len(hits) >= limit:
                        return hits
    return hits


def search_calls(store: Store, sel: Selection, phrase: str, speaker: str | None = None,
                 limit: int = 50) -> list[Hit]:
    """The utterances where ``phrase`` was said (by ``speaker``), in the selected calls, confirmed
    by the rules' matcher; worst-scored calls first."""
    return confirm(store, candidates(store, sel, phrase, speaker), phrase, speaker, limit)


def matching_ids(store: Store, sel: Selection, phrase: str, speaker: str | None = None) -> tuple[list[int], bool]:
    """The calls where the phrase was said, for narrowing a view to them, and whether each was
    confirmed by the matcher: up to ``CONFIRM_ALL`` candidates are; past that (a phrase most calls
    have) the index's sound-level match stands, so a view of a year answers in time."""
    ids = candidates(store, sel, phrase, speaker, ordered=False)
    if len(ids) > CONFIRM_ALL:
        return ids, False
    ids = [i for (i,) in store.query("SELECT id FROM calls WHERE id IN (SELECT value FROM json_each(?)) "
                                     "ORDER BY score IS NULL, score, file", [json.dumps(ids)])]
    seen: dict[int, None] = {}
    for h in confirm(store, ids, phrase, speaker):
        seen.setdefault(h.id)
    return list(seen), True
