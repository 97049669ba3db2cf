"""Hearing the call: rings, holds, interruptions, hang-up order, dead air, pace,
volume, pitch and agent-side noise, from the audio (and the timeline where it helps).

``measure_call`` turns a decoded call into one ``Measures`` record; the rules read
it, the reports print it. What a recording cannot tell (a mono mix, a dead
channel, no ringback) is left as None with the reason in ``unjudged``.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..core.measured import Measures, Span
from ..core.settings import BUSY, CADENCES, MeasureSettings
from ..core.text import spoken_chars
from ..core.timeline import Timeline
from ..inputs.audio import CallAudio
from . import acoustics as ac
from .listener import Heard, listen
from .speech import spans_of

# ----------------------------------------------------------------------------------------

def measure_call(audio: CallAudio | None, timeline: Timeline,
                 settings: MeasureSettings = MeasureSettings(), heard: Heard | None = None) -> Measures:
    """All measures of one call; without audio only what the timeline tells (pace).

    ``heard``: the call's features from a ``CallListener`` that followed it (a live session);
    else the recording is listened to here, through the same listener."""
    m = Measures(duration=audio.duration if audio else timeline.duration, stereo=bool(audio and audio.stereo))
    if audio is None:
        m.agent_pace_cpm, m.pace_source = _text_pace(timeline, None)
        return m
    heard = heard or listen(audio, settings)
    audio, frames = heard.audio, heard.frames  # each line without the other party's leak
    speech = heard.speech  # the speech detector's segments, echo left out
    turns = {who: spans_of(ts) for who, ts in heard.turns.items()}  # bridged over each party's own pauses
    m.speech, m.turns = speech, turns
    # a mono recording mixes both parties ("unknown"); a live headset alone is the agent
    agent_key = "agent" if "agent" in audio.parties else "unknown"
    agent_alone = agent_key == "agent" and not m.stereo
    all_speech = sorted(s for segs in speech.values() for s in segs)
    if not all_speech:
        m.unjudged["speech"] = "no speech found in the recording"
        return m

    m.rings, m.ring_spans = _rings(frames, speech, agent_key, settings)
    if m.rings is None:
        m.unjudged["rings"] = "no ringback tone before the first words"
    others = [t for who, ts in turns.items() if who != agent_key for t in ts]
    m.holds = _holds(sorted(t for ts in turns.values() for t in ts), turns[agent_key], others,
                     settings.hold_min_seconds)

    dead = [who for who in ("agent", "customer") if m.stereo and not speech[who]]
    if agent_alone:
        m.unjudged["two-party"] = "no customer channel: interruptions, dead air and hang-up order need both"
    elif not m.stereo and _diarized(timeline):
        _two_party_from_turns(m, heard, timeline, speech["unknown"], settings)
    elif not m.stereo:
        m.unjudged["two-party"] = ("mono recording: interruptions, dead air and hang-up order need stereo "
                                   "(or a transcript with speakers and times)")
    elif dead:
        m.unjudged["two-party"] = f"the {dead[0]}'s channel has no speech: two-party measures not judged"
    else:
        m.interruptions = _interruptions(turns["agent"], turns["customer"], timeline, settings)
        m.dead_air = _dead_air(turns["agent"], turns["customer"], settings, m.holds)
        m.hangup_first, m.hangup_after_last_words = _hangup(heard, speech)
        if m.hangup_first is None:
            m.unjudged["hangup"] = "neither line shows a disconnect tone or goes dead before the end"
        m.agent_noise = _agent_noise(frames["agent"], speech["agent"], turns["customer"], settings)
        m.customer_raised = raised_turns([(t.start, t.end, t.speech, t.level_dbfs) for t in heard.turns["customer"]],
                                         settings)

    if agent_key == "unknown" and m.from_transcript:
        return m
    agent_speech = speech[agent_key]
    m.agent_pace_cpm, m.pace_source = _text_pace(timeline, agent_speech if agent_key == "agent" else None)
    if m.agent_pace_cpm is None and agent_speech:
        rate = ac.syllable_rate(audio.parties[agent_key], audio.sr, agent_speech)
        m.agent_pace_cpm, m.pace_source = (rate, "audio") if rate is not None else (None, None)
    if agent_key == "agent" and agent_speech:
        _voice(m, audio.parties["agent"], audio.sr, [(t.start, t.end, t.level_dbfs) for t in heard.turns["agent"]
                                                     if t.speech >= 0.5], heard.pitch)
    elif agent_key == "unknown":
        m.unjudged["voice"] = "mono recording: the agent's volume and pitch cannot be told from the customer's"
    return m



def _diarized(timeline: Timeline) -> bool:
    """A transcript that says who spoke when: both parties, every turn timed."""
    speakers = {u.speaker for u in timeline.utterances}
    return timeline.speakers_separated and timeline.has_times and {"agent", "customer"} <= speakers


def _turn_spans(timeline: Timeline, speaker: str, heard: list[Span]) -> list[Span]:
    """A speaker's turns from the transcript, trimmed to where the audio has speech in them
    (transcripts pad turns; the pauses inside are nobody's voice)."""
    out = []
    for u in timeline.utterances:
        if u.speaker != speaker or u.end is None or u.start is None:
            continue
        inside = [(max(s, u.start), min(e, u.end)) for s, e in heard if e > u.start and s < u.end]
        if inside:
            out.append((inside[0][0], inside[-1][1]))
    return out


def _two_party_from_turns(m: Measures, heard: Heard, timeline: Timeline, voiced: list[Span],
                          s: MeasureSettings) -> None:
    """Mono audio with a diarized transcript: talk-over and dead air from the turn times, the
    agent's volume and pitch from the audio inside the agent's turns where the customer is not
    also talking. Hang-up order still needs two lines."""
    agent, customer = _turn_spans(timeline, "agent", voiced), _turn_spans(timeline, "customer", voiced)
    audio = heard.audio
    m.interruptions = _interruptions(agent, customer, timeline, s)
    m.dead_air = _dead_air(agent, customer, s, m.holds or [])
    m.unjudged["hangup"] = "mono recording: hang-up order needs each party's line"
    alone = [piece for a in agent for piece in _minus(a, customer)]
    m.agent_pace_cpm, m.pace_source = _text_pace(timeline, agent)
    utts = [(s, e, ac.level_dbfs(audio.parties["unknown"][int(s * audio.sr): int(e * audio.sr)]))
            for s, e in alone if e - s >= 0.5]
    if utts:
        _voice(m, audio.parties["unknown"], audio.sr, utts, heard.pitch)
    m.from_transcript = ["interruptions", "dead_air", "agent_volume_dbfs", "agent_pitch_range_semitones"]


def _minus(span: Span, others: list[Span]) -> list[Span]:
    """``span`` without the parts any of ``others`` covers."""
    pieces = [span]
    for o in others:
        pieces = [q for p in pieces for q in ((p[0], min(p[1], o[0])), (max(p[0], o[1]), p[1])) if q[1] - q[0] > 0.05]
    return pieces


def _rings(frames: dict[str, ac.Frames], speech: dict[str, list[Span]], agent_key: str,
           s: MeasureSettings) -> tuple[int | None, list[Span]]:
    """Ringback bursts in the cadence, on any channel, before the agent's first words."""
    freqs, on, off = CADENCES[s.ring_country]
    first = speech[agent_key][0][0] if speech[agent_key] else min(x[0][0] for x in speech.values() if x)
    best: list[Span] = []
    for fr in frames.values():
        bursts = [b for b in ac.tone_bursts(fr, freqs) if b[0] < first]
        picked = ac.count_cadence(bursts, on, off)
        if len(picked) > len(best):
            best = picked
    return (len(best) if best else None), best


def _holds(all_speech: list[Span], agent: list[Span], customer: list[Span], min_len: float) -> list[Span]:
    """Silences (music counts as silence: the VAD rejects tones) of both parties between the
    agent's first and last words, at least ``min_len`` long. A hold runs from the end of the
    agent's words before it (请稍等, even when the caller answers 好的) to the agent's next words
    (``hold_span``)."""
    if not agent:
        return []
    lo, hi = agent[0][0], agent[-1][1]
    holds: list[Span] = []
    end = lo
    for s, e in all_speech:
        if s > end and s - end >= min_len and lo <= end and s <= hi:
            span = hold_span(end, s, agent, customer)
            if holds and span[0] < holds[-1][1]:  # the caller's 喂? inside one hold: still one hold
                span = (holds.pop()[0], span[1])
            holds.append(span)
        end = max(end, e)
    return holds


HOLD_REPLY_SECONDS = 2.0  # the caller's speech at a hold's edges that still leaves it one hold (好的 / 喂?)


def hold_start(silence_from: float, agent: list[Span], customer: list[Span]) -> float:
    """Where a hold whose silence began at ``silence_from`` starts: when the agent's words before
    it ended, if all the caller said between those words and the silence was a short reply (好的,
    我等一下); else at the silence (the caller went on talking: they were not put on hold then)."""
    before = [e for s, e in agent if e <= silence_from + 1e-6]
    if not before:
        return silence_from
    said = max(before)
    reply = sum(max(0.0, min(e, silence_from) - max(s, said)) for s, e in customer)
    return said if reply <= HOLD_REPLY_SECONDS else silence_from


def hold_span(silence_from: float, silence_to: float, agent: list[Span], customer: list[Span]) -> Span:
    """A hold's edges from the silence that shows it: from ``hold_start`` to the agent's next
    words, when what the caller said before those (喂？还在吗) was short."""
    start = hold_start(silence_from, agent, customer)
    after = [s for s, _ in agent if s >= silence_to - 1e-6]
    if after:
        back = min(after)
        said = sum(max(0.0, min(e, back) - max(s, silence_to)) for s, e in customer)
        if said <= HOLD_REPLY_SECONDS:
            return start, back
    return start, silence_to


def _words_in(timeline: Timeline, speaker: str, span: Span) -> int | None:
    """Characters the agent said inside ``span``, when the timeline has times."""
    hits = [u for u in timeline.utterances if u.speaker == speaker and u.start is not None
            and u.end is not None and ac.overlap((u.start, u.end), span) > 0]
    if not hits:
        return None
    return sum(spoken_chars(u.text) for u in hits)


def _interruptions(agent: list[Span], customer: list[Span], timeline: Timeline,
                   s: MeasureSettings) -> list[Span]:
    """Talk-over, both ways the agent keeps the customer from speaking (有责任让用户把话讲完):
    the agent starts while the customer is talking, or the customer starts while the agent is
    talking and the agent talks on over them; either for at least the minimum overlap. A
    back-channel (a short burst of few characters, 嗯 / 对) is neither. Each span runs from the
    second voice's start to the end of the overlap (``talk_over``)."""
    out = []
    for first, second, second_party in ((customer, agent, "agent"), (agent, customer, "customer")):
        for b in second:
            ov = talk_over(first, b, s)
            if ov is not None:
                chars = _words_in(timeline, second_party, b)
                if chars is None or chars > s.backchannel_max_chars:
                    out.append(ov)
    return sorted(out)


def talk_over(first: list[Span], b: Span, s: MeasureSettings) -> Span | None:
    """The overlap of turn ``b`` with the other party's turn it began inside (``first``), when
    it lasts the minimum and ``b`` is no back-channel: (start of ``b``, end of the overlap)."""
    if b[1] - b[0] < s.backchannel_max_seconds:
        return None
    for a in first:
        if a[0] < b[0] < a[1]:
            end = min(a[1], b[1])
            return (b[0], end) if end - b[0] >= s.interrupt_min_overlap else None
    return None


def _dead_air(agent: list[Span], customer: list[Span], s: MeasureSettings, holds: list[Span]) -> list[Span]:
    """Gaps from the end of a customer's turn to the agent's reply longer than the limit (the
    customer speaking again ends the wait). A gap inside a hold is the hold, never dead air too
    (one silence, one finding); a shorter gap the agent announced (请您稍等) is excused by the
    rule, which reads the words."""
    events = sorted([(e, "customer_end") for _, e in customer] + [(st, "agent_start") for st, _ in agent]
                    + [(st, "customer_start") for st, _ in customer] + [(e, "agent_end") for _, e in agent])
    out = []
    last_end: tuple[float, str] | None = None
    for t, kind in events:
        if kind.endswith("_end"):
            last_end = (t, kind)
        elif kind == "customer_start":
            last_end = None
        elif last_end and last_end[1] == "customer_end":
            gap = (last_end[0], t)
            if gap[1] - gap[0] >= s.dead_air_seconds and not in_hold(gap, holds):
                out.append(gap)
            last_end = None
    return out


def in_hold(gap: Span, holds: list[Span]) -> bool:
    """The silence ``gap`` lies (but for a tenth of a second at its edges) inside one of ``holds``."""
    return any(h0 - 0.1 <= gap[0] and gap[1] <= h1 + 0.1 for h0, h1 in holds)


def _line_dead(heard: Heard, who: str, speech: list[Span]) -> float | None:
    """When a line went dead: a disconnect tone after its last words, or digital silence to
    the end — unless the line was digitally silent in its pauses anyway (silence suppression),
    where trailing silence says nothing."""
    fr = heard.frames[who]
    freqs, on, off = BUSY
    tones = [b for b in ac.tone_bursts(fr, freqs, min_len=0.2) if b[0] >= speech[-1][1] - 0.1]
    cadence = ac.count_cadence(tones, on, off, tolerance=0.4)
    if len(cadence) >= 2:
        return cadence[0][0]
    start = heard.trailing_silence(who)
    if start is None:
        return _line_dropped(fr, speech, heard.copies.get(who))
    pauses = ~ac.spans_mask(speech, len(fr), fr.hop)
    pauses[int(start / fr.hop):] = False
    if pauses.any() and np.mean(fr.db[pauses] <= ac.SILENT_DB) > 0.5:
        return None
    return start


LINE_DROP_DB = 10.0  # a line this far below its own earlier floor, to the end, has gone dead
LINE_DROP_SECONDS = 1.0


def _line_dropped(fr: ac.Frames, speech: list[Span], leak: np.ndarray | None = None) -> float | None:
    """When the line fell far below its own earlier noise floor and stayed there to the end:
    a codec, a noisy line or what is left of an echo is never digital silence, but a line
    that has gone dead is far quieter than the line was, but for the other party's leak
    (``leak``: frames that are only a copy of the other line, which count as quiet)."""
    last = int(speech[-1][1] / fr.hop) + 1
    before = fr.db[:last][fr.db[:last] > ac.SILENT_DB]
    if last >= len(fr) or len(before) < 10:
        return None
    floor = float(np.percentile(before, 10))
    loud = fr.db[last:] >= floor - LINE_DROP_DB
    if leak is not None:
        loud &= ~leak[last:len(fr)] if len(leak) >= len(fr) else ~np.pad(leak, (0, len(fr) - len(leak)))[last:]
    above = np.flatnonzero(loud)
    first_quiet = last + (int(above[-1]) + 1 if len(above) else 0)
    if (len(fr) - first_quiet) * fr.hop < LINE_DROP_SECONDS:
        return None
    return first_quiet * fr.hop


def _hangup(heard: Heard, speech: dict[str, list[Span]]) -> tuple[str | None, float | None]:
    dead = {who: _line_dead(heard, who, speech[who]) for who in ("agent", "customer")}
    known = {w: t for w, t in dead.items() if t is not None}
    if not known:
        return None, None
    first = min(known, key=known.get)  # type: ignore[arg-type]
    if len(known) == 2 and abs(known["agent"] - known["customer"]) < 0.2:
        return None, None
    before = [e for segs in speech.values() for _, e in segs if e <= known[first] + 0.05]
    return first, max(0.0, known[first] - max(before)) if before else None


class RaisedVoice:
    """One party's turns whose level is ``raised_voice_db`` over that party's typical level so
    far: the median of its earlier turns with ``raised_min_speech`` s of speech, once there are
    ``raised_after_turns`` of them. Judged against the caller's own voice (lines and handsets
    differ by more than anger does), and only on what came before: fed turn by turn as they
    close (the live judge) it finds what ``raised_turns`` finds in the whole call."""

    def __init__(self, s: MeasureSettings) -> None:
        self.s = s
        self.levels: list[float] = []
        self.spans: list[Span] = []

    def add(self, start: float, end: float, speech: float, level: float) -> None:
        if speech < self.s.raised_min_speech:
            return
        if len(self.levels) >= self.s.raised_after_turns and \
                level - float(np.median(self.levels)) >= self.s.raised_voice_db:
            self.spans.append((start, end))
        self.levels.append(level)


def raised_turns(turns: Iterable[tuple[float, float, float, float]], s: MeasureSettings) -> list[Span]:
    """The raised turns (``RaisedVoice``) among turns given as (start, end, seconds of speech,
    level dBFS), in order."""
    tracker = RaisedVoice(s)
    for turn in turns:
        tracker.add(*turn)
    return tracker.spans


def _agent_noise(fr: ac.Frames, agent: list[Span], customer: list[Span], s: MeasureSettings) -> list[Span]:
    """Noise on the agent's line (outside the agent's speech) during the customer's turns."""
    out = []
    for n in ac.noise_spans(fr, agent):
        for c in customer:
            ov = (max(n[0], c[0]), min(n[1], c[1]))
            if ov[1] - ov[0] >= s.noise_min_seconds - 1e-6:  # frame times are multiples of 20 ms, in floats
                out.append(ov)
    return out


def _text_pace(timeline: Timeline, agent_speech: list[Span] | None) -> tuple[float | None, str | None]:
    """Agent characters per minute of agent speaking time (utterance times, else the VAD's)."""
    utts = timeline.by("agent")
    chars = sum(spoken_chars(u.text) for u in utts)
    if not utts or chars == 0:
        return None, None
    if all(u.duration for u in utts):
        seconds = sum(u.duration for u in utts)  # type: ignore[misc]
    elif agent_speech:
        seconds = sum(e - s for s, e in agent_speech)
    else:
        return None, None
    return (60.0 * chars / seconds, "transcript") if seconds > 1.0 else (None, None)


def _voice(m: Measures, x: np.ndarray, sr: int, utts: list[tuple[float, float, float]],
           pitch: ac.PitchStream | None) -> None:
    """The agent's volume (``utts``: each utterance's start, end and level of its speech) and
    pitch range over them."""
    if not utts:
        return
    if pitch is not None:
        m.agent_contour = pitch.contour([(s, e) for s, e, _ in utts])
    m.agent_utterance_levels = list(utts)
    m.agent_volume_dbfs = float(np.median([d for _, _, d in m.agent_utterance_levels]))
    tracks = [pitch.semitones(s, e) for s, e, _ in utts] if pitch is not None else []
    voiced = [t for t in tracks if len(t) >= 10]
    if not voiced:
        m.unjudged["pitch"] = "no clearly voiced agent speech"
        return
    st = np.concatenate(voiced)
    st = st - 12.0 * np.round((st - np.median(st)) / 12.0)  # one octave band around the agent's voice
    m.agent_pitch_range_semitones = float(np.percentile(st, 90) - np.percentile(st, 10))
    m.agent_pitch_std_semitones = float(np.std(st))
