"""Finding the calls where a phrase was said, in an archive of any size.

Two steps, so that a search is both fast and as tolerant as the rules: SQLite FTS5 over each
party's words written as sound (toneless pinyin: what a homophone or a traditional character
leaves unchanged) gives the candidate calls, allowing one syllable dropped and a few inserted;
then the rules' matcher confirms on each candidate's utterances, and says where.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..core.timeline import clock
from ..judging.textmatch import find, syllables
from .serial import timeline_from_json
from .store import Store, load_json
from .views import Selection

MAX_CANDIDATES = 5000  # calls confirmed per search at most (the FTS ranks them)


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

    variants = [sounds] + ([sounds[:i] + sounds[i + 1:] for i in range(len(sounds))] if len(sounds) >= 4 else [])
    return " OR ".join(f"sound : {group(v)}" for v in variants)


def candidate_keys(store: Store, sel: Selection, phrase: str, speaker: str | None = None) -> list[str]:
    """Calls whose words sound like the phrase (FTS), within the selection."""
    query = fts_query(phrase)
    if query is None:
        return []
    where, args = sel.where("c")
    who = " AND s.speaker = ?" if speaker else ""
    sql = (f"SELECT DISTINCT s.key FROM said s JOIN calls c ON c.key = s.key WHERE said MATCH ?{who} AND {where} "
           f"LIMIT {MAX_CANDIDATES}")
    return [k for (k,) in store.query(sql, [query] + ([speaker] if speaker else []) + args)]


def search_calls(store: Store, sel: Selection, phrase: str, speaker: str | None = None,
                 limit: int = 50) -> list[Hit]:
    """The utterances where ``phrase`` was said (by ``speaker``), in the selected calls, confirmed
    by the rules' matcher; worst-scored calls first."""
    keys = candidate_keys(store, sel, phrase, speaker)
    if not keys:
        return []
    hits: list[Hit] = []
    rows = store.query("SELECT rowid, key, file, agent, timeline FROM calls WHERE key IN (SELECT value FROM "
                       "json_each(?)) ORDER BY score IS NULL, score, file", [json.dumps(keys)])
    for rowid, key, file, agent, raw in rows:
        if raw is None:
            continue
        for u in timeline_from_json(load_json(raw)).utterances:
            if speaker and u.speaker != speaker:
                continue
            m = find(u.text, phrase)
            if m is not None:
                hits.append(Hit(rowid, key, file, agent, u.speaker, u.start, u.text, m.evidence))
                if len(hits) >= limit:
                    return hits
    return hits


def matching_keys(store: Store, sel: Selection, phrase: str, speaker: str | None = None) -> list[str]:
    """The calls where the phrase was said (confirmed), for narrowing a view to them."""
    seen: dict[str, None] = {}
    for h in search_calls(store, sel, phrase, speaker, limit=MAX_CANDIDATES):
        seen.setdefault(h.key)
    return list(seen)
