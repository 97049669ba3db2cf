"""The timeline of a call: who said what, when.

Every stage after recognition speaks this language, whether the words came from
Vosk, from a transcript file or from a live stream. Times are seconds from the
start of the recording, as floats, everywhere in phonecoach; ``None`` means the
source did not say (a plain-text transcript has no times).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Literal

Speaker = Literal["agent", "customer", "unknown"]


def clock(t: float | None) -> str:
    """Seconds -> m:ss.s, the form a player's seek bar understands."""
    if t is None:
        return ""
    m, s = divmod(max(0.0, t), 60.0)
    return f"{int(m)}:{s:04.1f}"


@dataclass(frozen=True)
class Word:
    """One recognised word."""

    text: str
    start: float  # seconds
    end: float  # seconds
    conf: float = 1.0  # recogniser confidence, 0..1


@dataclass(frozen=True)
class Utterance:
    """One turn of one speaker, split on the recogniser's endpoints."""

    speaker: Speaker
    text: str
    start: float | None = None  # seconds
    end: float | None = None  # seconds
    words: tuple[Word, ...] = ()

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, self.end - self.start)


@dataclass
class Timeline:
    """All utterances of a call in time order, plus what is known about the call."""

    utterances: list[Utterance] = field(default_factory=list)
    # True when agent and customer were told apart (stereo audio or a transcript
    # with speakers); False for a mono recording, where all speech is "unknown".
    speakers_separated: bool = True
    # Seconds the caller heard ringing before pick-up, from metadata (None: unknown).
    ring_seconds: float | None = None
    duration: float | None = None  # seconds of audio, when there is audio

    def __post_init__(self) -> None:
        self.utterances = sort_utterances(self.utterances)

    def by(self, speaker: str) -> list[Utterance]:
        """Utterances of one speaker; on a mono call the unknown speaker stands in for both."""
        if not self.speakers_separated:
            return list(self.utterances)
        return [u for u in self.utterances if u.speaker == speaker]

    @property
    def has_times(self) -> bool:
        return bool(self.utterances) and all(u.start is not None for u in self.utterances)


def sort_utterances(utterances: Iterable[Utterance]) -> list[Utterance]:
    """Order by start time; utterances without times keep their given order."""
    items = list(utterances)
    if items and all(u.start is not None for u in items):
        return sorted(items, key=lambda u: (u.start, u.end or u.start))
    return items


def local_time(iso: str) -> datetime:
    """A call's start time as the call center's wall clock: a time with a zone is converted to
    this machine's local time, a time without one is taken as local already. One basis, so
    naive and zoned times from different manifests compare (and sort) without an error."""
    t = datetime.fromisoformat(iso.strip())
    return t.astimezone().replace(tzinfo=None) if t.tzinfo is not None else t
