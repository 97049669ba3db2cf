"""Transcripts in: for teams that already have them, and for scoring text alone.

Accepted:
- JSON ``{"turns": [{"speaker": "agent", "text": "…", "start": 0.0, "end": 2.1}, …]}``
  (times optional; ``ring_seconds`` optional at the top level), or a bare list of turns;
- plain text, one turn per line: ``坐席:``/``客服:``/``agent:`` or ``客户:``/``customer:``
  then the words (full-width colons too). Lines without a prefix continue the previous turn.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..core.errors import TranscriptError
from ..core.safeio import finite, read_limited
from ..core.timeline import Timeline, Utterance

SPEAKER_ALIASES = {
    "agent": "agent", "坐席": "agent", "客服": "agent", "座席": "agent", "话务员": "agent", "a": "agent",
    "customer": "customer", "客户": "customer", "用户": "customer", "来电人": "customer", "c": "customer",
    "caller": "customer",
}
_LINE = re.compile(r"^\s*\[?([A-Za-z\u4e00-\u9fff]+)\]?\s*[:：]\s*(.*)$")


def load_transcript(path: str | Path) -> Timeline:
    p = Path(path)
    raw = read_limited(p, TranscriptError, "a transcript")
    if not raw.strip():
        raise TranscriptError("transcript is empty", p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8", p) from None
    stripped = text.lstrip()
    if p.suffix.lower() == ".json" or stripped.startswith(("{", "[")):
        return _parse_json(text, p)
    return _parse_lines(text, p)


def _speaker(value: Any, p: Path, where: str) -> str:
    key = str(value).strip().lower()
    if key not in SPEAKER_ALIASES:
        raise TranscriptError(f"{where}: unknown speaker {value!r} (use agent/坐席/客服 or customer/客户)", p)
    return SPEAKER_ALIASES[key]


def _time(turn: dict, key: str, p: Path, where: str) -> float | None:
    value = turn.get(key)
    if value is None:
        return None
    if not finite(value) or value < 0:
        raise TranscriptError(f"{where}: '{key}' must be a finite number of seconds >= 0", p)
    return float(value)


def _parse_json(text: str, p: Path) -> Timeline:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", p) from None
    except RecursionError:
        raise TranscriptError("JSON nested too deeply to be a transcript", p) from None
    turns = data.get("turns") if isinstance(data, dict) else data
    if not isinstance(turns, list):
        raise TranscriptError("JSON transcript needs a 'turns' list", p)
    utts = []
    for n, turn in enumerate(turns, 1):
        where = f"turn {n}"
        if not isinstance(turn, dict):
            raise TranscriptError(f"{where}: each turn must be an object with speaker and text", p)
        if not isinstance(turn.get("text"), str):
            raise TranscriptError(f"{where}: 'text' is missing or not a string", p)
        if "speaker" not in turn:
            raise TranscriptError(f"{where}: 'speaker' is missing", p)
        start, end = _time(turn, "start", p, where), _time(turn, "end", p, where)
        if start is not None and end is not None and end < start:
            raise TranscriptError(f"{where}: 'end' ({end}) is before 'start' ({start})", p)
        if turn["text"].strip():
            utts.append(Utterance(speaker=_speaker(turn["speaker"], p, where), text=turn["text"].strip(),
                                  start=start, end=end if end is not None else start))
    ring = data.get("ring_seconds") if isinstance(data, dict) else None
    if ring is not None and (not finite(ring) or ring < 0):
        raise TranscriptError("'ring_seconds' must be a finite number of seconds >= 0", p)
    if not utts:
        raise TranscriptError("transcript has no turns with text", p)
    timed = [u.start is not None for u in utts]
    if any(timed) and not all(timed):
        utts = [Utterance(u.speaker, u.text) for u in utts]  # partial times are not comparable
    return Timeline(utterances=utts, ring_seconds=float(ring) if ring is not None else None)


def _parse_lines(text: str, p: Path) -> Timeline:
    utts: list[Utterance] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if m and m.group(1).strip().lower() in SPEAKER_ALIASES:
            if m.group(2).strip():
                utts.append(Utterance(speaker=SPEAKER_ALIASES[m.group(1).strip().lower()], text=m.group(2).strip()))
        elif utts:
            last = utts[-1]
            utts[-1] = Utterance(last.speaker, last.text + line.strip())
        else:
            raise TranscriptError(f"line {n}: expected '坐席:' / '客服:' / 'agent:' or '客户:' / 'customer:' "
                                  "before the words", p)
    if not utts:
        raise TranscriptError("transcript has no turns with text", p)
    return Timeline(utterances=utts)
