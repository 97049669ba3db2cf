"""What the audio says about a call, as one plain record: the measures the rules read and the
reports print. A measure a recording cannot give (a mono mix, a dead channel, no ringback) is
None, with the reason in ``unjudged``. ``hearing.measures`` fills it; nothing here measures.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .timeline import clock

Span = tuple[float, float]


@dataclass
class Measures:
    """What the audio says about a call. Times in seconds, levels in dBFS."""

    duration: float | None = None
    stereo: bool = False
    rings: int | None = None
    ring_spans: list[Span] = field(default_factory=list)
    holds: list[Span] | None = None  # None: not measured (no audio)
    interruptions: list[Span] | None = None  # None: needs stereo with both parties speaking
    hangup_first: str | None = None  # "agent" | "customer"
    hangup_after_last_words: float | None = None  # seconds from the last words to the first line going dead
    dead_air: list[Span] | None = None
    agent_pace_cpm: float | None = None  # characters (= syllables) per minute of agent speech
    pace_source: str | None = None  # "transcript" | "audio"
    agent_volume_dbfs: float | None = None  # median level of agent utterances
    agent_utterance_levels: list[tuple[float, float, float]] = field(default_factory=list)  # start, end, dBFS
    agent_pitch_range_semitones: float | None = None  # 10-90 % range of the agent's F0 over the call
    agent_pitch_std_semitones: float | None = None
    agent_noise: list[Span] | None = None  # noise on the agent's line while the customer speaks
    # the customer's turns whose level rose over their own typical level so far (None: not measured)
    customer_raised: list[Span] | None = None
    # the agent's level (dBFS) and pitch (Hz or None) every half second of their speech, for drawing
    agent_contour: list[tuple[float, float, float | None]] = field(default_factory=list)
    speech: dict[str, list[Span]] = field(default_factory=dict)  # per party: what the speech detector heard
    turns: dict[str, list[Span]] = field(default_factory=dict)  # ... bridged over the party's own short pauses
    unjudged: dict[str, str] = field(default_factory=dict)  # measure -> why it is None
    # measures taken from a timed, speaker-labelled transcript rather than from separate channels
    from_transcript: list[str] = field(default_factory=list)

    def why_missing(self, name: str) -> str:
        """Why measure ``name`` is None: the recorded reason that concerns it."""
        for key in ("speech",) + _REASON_KEYS.get(name, ()):
            if key in self.unjudged:
                return self.unjudged[key]
        return f"{name} not measured"

    def to_dict(self) -> dict[str, Any]:
        r = _r
        spans = lambda xs: None if xs is None else [{"start": r(s), "end": r(e)} for s, e in xs]  # noqa: E731
        return {
            "duration": r(self.duration), "rings": self.rings, "ring_spans": spans(self.ring_spans),
            "holds": spans(self.holds), "interruptions": spans(self.interruptions),
            "hangup_first": self.hangup_first, "hangup_after_last_words": r(self.hangup_after_last_words),
            "dead_air": spans(self.dead_air), "agent_pace_cpm": r(self.agent_pace_cpm, 1),
            "pace_source": self.pace_source, "agent_volume_dbfs": r(self.agent_volume_dbfs, 1),
            "agent_utterance_levels": [{"start": r(s), "end": r(e), "dbfs": r(d, 1)}
                                       for s, e, d in self.agent_utterance_levels],
            "agent_pitch_range_semitones": r(self.agent_pitch_range_semitones, 1),
            "agent_pitch_std_semitones": r(self.agent_pitch_std_semitones, 1),
            "agent_noise": spans(self.agent_noise), "customer_raised": spans(self.customer_raised),
            "unjudged": dict(self.unjudged),
            "agent_contour": [list(p) for p in self.agent_contour],
            "from_transcript": list(self.from_transcript),
            "speech": {who: spans(xs) for who, xs in self.speech.items()},
            "turns": {who: spans(xs) for who, xs in self.turns.items()},
        }

    def describe(self) -> list[str]:
        """The measures in plain words, for the terminal report."""

        out = []
        if self.rings is not None:
            out.append(f"Rings before pick-up: {self.rings}")
        if self.holds is not None:
            out.append(f"Holds: {len(self.holds)}" + "".join(
                f"  {clock(s)}-{clock(e)} ({e - s:.0f} s)" for s, e in self.holds))
        if self.interruptions is not None and self.dead_air is not None:
            out.append(f"Talk-over (the agent talking over the customer): {len(self.interruptions)}" + "".join(
                f"  {clock(s)} ({e - s:.1f} s)" for s, e in self.interruptions))
            out.append(f"Dead air after the customer: {len(self.dead_air)}" + "".join(
                f"  {clock(s)} ({e - s:.1f} s)" for s, e in self.dead_air))
            who = {"agent": "the agent (should be the customer)", "customer": "the customer"}
            out.append("Hung up first: " + who.get(self.hangup_first or "", "could not tell"))
        if self.agent_pace_cpm is not None:
            out.append(f"Agent pace: {self.agent_pace_cpm:.0f} 字/分 (from the {self.pace_source})")
        if self.agent_volume_dbfs is not None:
            loudest = max(d for _, _, d in self.agent_utterance_levels)
            out.append(f"Agent volume: {self.agent_volume_dbfs:.1f} dBFS typical, {loudest:.1f} dBFS loudest")
        if self.agent_pitch_range_semitones is not None:
            out.append(f"Agent pitch range: {self.agent_pitch_range_semitones:.1f} semitones "
                       f"(spread {self.agent_pitch_std_semitones:.1f})")
        if self.customer_raised:
            out.append("Customer's voice raised: " + ", ".join(f"{clock(s)}" for s, _ in self.customer_raised))
        if self.agent_noise:
            out.append(f"Noise on the agent's line while the customer spoke: "
                       f"{sum(e - s for s, e in self.agent_noise):.1f} s")
        if self.from_transcript:
            out.append("From the transcript's speaker turns (mono audio): " + ", ".join(self.from_transcript))
        out.extend(f"Not measured — {k}: {v}" for k, v in self.unjudged.items())
        return ["Measures: " + out[0]] + ["          " + x for x in out[1:]] if out else []



# which entries of ``Measures.unjudged`` explain which measure
_REASON_KEYS: dict[str, tuple[str, ...]] = {
    "rings": ("rings",),
    "interruptions": ("two-party",), "dead_air": ("two-party",), "agent_noise": ("two-party",),
    "customer_raised": ("two-party",),
    "hangup_first": ("two-party", "hangup"),
    "agent_volume_dbfs": ("voice",), "agent_utterance_levels": ("voice",),
    "agent_pitch_range_semitones": ("voice", "pitch"), "agent_pitch_std_semitones": ("voice", "pitch"),
}


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd)
