"""The thresholds of the acoustic measurements, as the rule pack's ``[measures]`` sets them.

A plain record at the bottom of the house: the hearing, the measures, the live judge and the
rule pack all read it, and it imports nothing of ours.
"""
from __future__ import annotations

from dataclasses import dataclass

CADENCES = {  # ringback: frequencies (Hz), seconds on, seconds off
    "cn": ((450.0,), 1.0, 4.0),
    "us": ((440.0, 480.0), 2.0, 4.0),
}
BUSY = ((450.0,), 0.35, 0.35)  # China busy / disconnect tone


@dataclass(frozen=True)
class MeasureSettings:
    """Measurement thresholds; the rule pack's ``[measures]`` table overrides them. Seconds, dB."""

    ring_country: str = "cn"  # cadence of the ringback tone: cn | us
    hold_min_seconds: float = 10.0  # agent and customer silent this long = a hold
    interrupt_min_overlap: float = 1.0  # seconds of talking over the customer
    backchannel_max_seconds: float = 0.6  # shorter agent turns (嗯, 对) are not interruptions
    backchannel_max_chars: int = 3  # nor are utterances this short
    dead_air_seconds: float = 3.0  # customer finished, agent silent this long
    noise_min_seconds: float = 0.1  # ignore shorter clicks on the agent's line
    speech_threshold: float = 0.5  # the speech detector's probability that starts speech
    speech_release: float = 0.35  # ... and under which speech ends (hysteresis)
    speech_min_seconds: float = 0.25  # shorter bursts are not speech
    turn_gap_seconds: float = 1.0  # a party's own pauses shorter than this stay inside one turn
    raised_voice_db: float = 9.0  # a customer turn this much above their own typical level: a raised voice
    raised_min_speech: float = 1.0  # ... judged on turns with at least this much speech
    raised_after_turns: int = 3  # ... once the customer's typical level rests on this many of them
    call_end_idle_seconds: float = 60.0  # in a shift (live --shift): lines idle this long end a call
