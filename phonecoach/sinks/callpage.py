"""A scored call as one HTML page an agent can listen through.

A sink: it takes a call's report (a file score, a live session's, a stored call's: the same
typed record, rendered the same way) and the call's audio, and writes one file: the verdict,
a timeline of the call, the transcript with each finding in place, and the audio embedded as a
small MP3 (``write_call_page``), or played from a WAV written beside the page
(``write_page_beside_audio``, a live session's: its folder holds the call). Anything with a
time carries ``data-start`` (seconds) and the page's script plays the call from there when clicked;
findings carry ``data-rule``. Every piece of text goes through Jinja's autoescape.
"""
from __future__ import annotations

import base64
import bisect
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.safeio import atomic_path, write_text_atomic
from ..core.verdict import CallReport, answer_step
from ..inputs.audio import CallAudio
from ..judging.redaction import personal_spans
from .templating import render

SPEAKERS = {"agent": "Agent", "customer": "Customer", "unknown": "Speaker"}
SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}


@dataclass
class Mark:
    """Something on the timeline: a lane, a span and what to say about it."""

    lane: str
    start: float
    end: float
    label: str
    kind: str  # what it is, for the page's style: speech, ring, hold, talk-over, dead-air, hangup, finding
    rule: str = ""


@dataclass
class Line:
    """One utterance of the transcript, cut into plain and highlighted pieces."""

    speaker: str
    start: float | None
    end: float | None
    pieces: list[tuple[str, dict[str, Any] | None]]  # (text, the finding it shows, if any)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def hits(self) -> list[dict[str, Any]]:
        """The findings marked inside this line's text."""
        return [f for _, f in self.pieces if f is not None]


def call_page(call: CallReport, audio: CallAudio | None = None, *, clip: tuple[bytes, str] | None = None,
              title: str | None = None, facts: dict[str, str] | None = None, audio_url: str | None = None,
              audio_missing: str | None = None, review: dict[str, Any] | None = None) -> str:
    """The page's HTML. ``audio`` embeds the call (``clip``, if the caller encoded it already,
    else ``encode_voice``); ``audio_url`` instead plays the recording from a server (which
    answers range requests, so a click seeks without downloading the call first) or a file
    beside the page, and ``audio`` then only draws the contour when the measures have none; the agent's
    level and pitch are drawn from the measures (the listener's own pitch track), or from the
    audio for a report that has none; without audio the page still shows the verdict, timeline
    and transcript, and ``audio_missing`` names the path where the recording was looked for.
    ``review``: serve's review section for the signed-in user (scores, trail, forms)."""
    from ..inputs.audio import encode_voice

    report = call.to_dict()  # the template's context is made here, at the sink
    rules = report.get("rules", [])
    broken = sorted((r for r in rules if r["status"] == "fail"),
                    key=lambda r: (SEVERITY_ORDER.get(r.get("severity", ""), 9), _first(r) or 0.0))
    measures = report.get("measures") or {}
    utterances = report.get("utterances", [])
    duration = measures.get("duration") or max([u["end"] or 0 for u in utterances] + [1.0])
    embedded = None
    contour = list(call.measures.agent_contour) if call.measures is not None else []
    hide = personal_spans(call.timeline)  # a customer's numbers are heard as a beep
    if audio is not None and audio.parties:
        if audio_url is None:
            data, mime = clip if clip is not None and not hide else encode_voice(audio.parties, audio.sr, hide)
            embedded = {"mime": mime, "b64": base64.b64encode(data).decode("ascii")}
        if not contour:
            contour = _contour_from_audio(audio, measures, utterances)
    return render("call.html.j2",
        title=title or Path(report.get("file", "call")).name, file=report.get("file", ""), facts=facts or {},
        score=report.get("score"), notes=report.get("notes", []), broken=broken,
        kept=[r for r in rules if r["status"] == "pass"],
        unjudged=[r for r in rules if r["status"] == "not_applicable"],
        complaint=complaint_answer(report), lines=transcript_lines(utterances, broken),
        marks=timeline_marks(measures, utterances, broken, report.get("complaints") or []),
        lanes=LANES, duration=float(duration), contour=_contour_paths(contour, float(duration)),
        audio=embedded, audio_url=audio_url, audio_missing=audio_missing, speakers=SPEAKERS,
        nonce=secrets.token_urlsafe(16), review=review)


def write_call_page(path: Path, call: CallReport, audio: CallAudio | None = None, **kw: Any) -> None:
    write_text_atomic(path, call_page(call, audio, **kw))


BESIDE_AUDIO = "call.wav"  # the page's audio beside it: both parties mixed, 16-bit PCM at 8 kHz


def write_page_beside_audio(path: Path, call: CallReport, audio: CallAudio, **kw: Any) -> Path:
    """``path`` playing the call from ``call.wav`` written beside it (both parties mixed as on the
    phone, 16-bit PCM at 8 kHz: 1 MB a minute), not an embedded MP3. A live session's folder
    already holds the call, and LAME was the largest single cost of ending a session (0.3 s of
    CPU per minute of call, 9 s for half an hour); the WAV costs 15 ms a minute (mixing,
    resampling, writing) and every browser plays and seeks it exactly. The page names the file
    by a relative link, so the folder plays wherever it is copied. Returns the WAV's path."""
    import soundfile as sf

    from ..inputs.audio import phone_mix

    wav = path.with_name(BESIDE_AUDIO)
    mix, rate = phone_mix(audio.parties, audio.sr, personal_spans(call.timeline))
    with atomic_path(wav) as tmp:
        sf.write(tmp, mix, rate, subtype="PCM_16", format="WAV")
    write_text_atomic(path, call_page(call, audio, audio_url=BESIDE_AUDIO, **kw))
    return wav


def _contour_from_audio(audio: CallAudio, measures: dict[str, Any],
                        utterances: list[dict[str, Any]]) -> list[tuple[float, float, float | None]]:
    """The agent's level and pitch from the audio, for a report whose measures carry none (a
    transcript scored without the listener, a store written before they did)."""
    from ..hearing.acoustics import voice_contour

    who = "agent" if "agent" in audio.parties else "unknown"
    if who not in audio.parties:
        return []
    spans = [(s["start"], s["end"]) for s in (measures.get("speech") or {}).get(who) or []] or \
        [(u["start"], u["end"]) for u in utterances if u["speaker"] == who and u["start"] is not None]
    return voice_contour(audio.parties[who], audio.sr, spans)


def _first(r: dict[str, Any]) -> float | None:
    starts = [o["start"] for o in r.get("occurrences", []) if o.get("start") is not None]
    return min(starts) if starts else r.get("start")


# -- transcript ------------------------------------------------------------------------------

def transcript_lines(utterances: list[dict[str, Any]], broken: list[dict[str, Any]]) -> list[Line]:
    """Each utterance, with a matched phrase marked where it was said and every other timed
    finding noted under the utterance it happened in (or the last one before it)."""
    lines = [Line(u["speaker"], u.get("start"), u.get("end"), [(u["text"], None)]) for u in utterances]
    index = _LineIndex(lines)
    for r in broken:
        for o in r.get("occurrences", []):
            if o.get("start") is None:
                continue
            finding = {"rule": r["rule"], "title": r.get("title", r["rule"]), "fix": r.get("fix", ""),
                       "message": r.get("message", ""), "start": o["start"], "severity": r.get("severity", "")}
            i = index.line_at(o["start"], o.get("text"))
            if i is None:
                continue
            span = o.get("span")
            if span and o.get("text") == utterances[i]["text"] and _mark(lines[i], span, finding):
                continue
            lines[i].notes.append(finding)
    return lines


class _LineIndex:
    """Which line a finding at time ``t`` belongs to, by bisection over the lines' starts (a
    scan of every line per finding made a long call's page quadratic: 100k turns never ended).

    The line whose span holds ``t`` (the one with the finding's own text first, else the first
    such line); else the last line begun before ``t``; else the first timed line."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        timed = sorted((ln.start, i) for i, ln in enumerate(lines) if ln.start is not None)
        self.starts = [t for t, _ in timed]
        self.order = [i for _, i in timed]
        self.longest = max(((ln.end or ln.start) - ln.start for ln in lines if ln.start is not None), default=0.0)
        self.latest: list[int] = []  # the highest line number among the first k+1 starts
        for i in self.order:
            self.latest.append(max(i, self.latest[-1]) if self.latest else i)

    def line_at(self, t: float, text: str | None) -> int | None:
        if not self.order:
            return None
        hi = bisect.bisect_right(self.starts, t + 0.05)
        lo = bisect.bisect_left(self.starts, t - 0.05 - self.longest)
        inside = sorted(i for i in self.order[lo:hi]
                        if t <= (self.lines[i].end or self.lines[i].start) + 0.05)
        for i in inside:
            if text is not None and "".join(p for p, _ in self.lines[i].pieces) == text:
                return i
        if inside:
            return inside[0]
        k = bisect.bisect_right(self.starts, t) - 1
        return self.latest[k] if k >= 0 else min(self.order)


def _mark(line: Line, span: list[int], finding: dict[str, Any]) -> bool:
    """Cut the plain piece holding characters ``span`` of the utterance into before / phrase / after."""
    a, b = int(span[0]), int(span[1])
    pos = 0
    for k, (text, f) in enumerate(line.pieces):
        if f is None and pos <= a and b <= pos + len(text) and a < b:
            cut = [(text[: a - pos], None), (text[a - pos: b - pos], finding), (text[b - pos:], None)]
            line.pieces[k: k + 1] = [c for c in cut if c[0]]
            return True
        pos += len(text)
    return False


# -- complaint -------------------------------------------------------------------------------


def complaint_answer(report: dict[str, Any]) -> dict[str, Any] | None:
    """Where the caller complained and the agent's answer step by step: the steps taken, in the
    order the agent took them (each at its moment), then the ones missing. None without a complaint."""
    complaints = [c for c in report.get("complaints") or []]
    if not complaints:
        return None
    taken, missing, unjudged = [], [], []
    for r in report.get("rules", []):
        if not answer_step(r["rule"], r.get("check")):
            continue
        step = {"rule": r["rule"], "title": r.get("title", r["rule"]), "status": r["status"],
                "severity": r.get("severity", ""), "fix": r.get("fix", ""), "detail": r.get("detail", "")}
        occ = [o for o in r.get("occurrences", []) if o.get("start") is not None]
        if r["status"] == "pass" and occ and r.get("check") == "after_complaint" and occ[0].get("phrase"):
            taken.append({**step, "start": occ[0]["start"], "evidence": occ[0].get("evidence", "")})
        elif r["status"] == "fail":
            missing.append({**step, "start": occ[0]["start"] if occ else None,
                            "evidence": occ[0].get("evidence", "") if occ else r.get("evidence", "")})
        elif r["status"] == "pass":  # kept without a moment of its own (nothing said that it forbids, the pace)
            taken.append({**step, "start": None, "evidence": r.get("detail", "")})
        else:
            unjudged.append(step)
    taken.sort(key=lambda s: (s["start"] is None, s["start"] or 0.0))
    return {"complaints": complaints, "taken": taken, "missing": missing, "unjudged": unjudged}


# -- timeline --------------------------------------------------------------------------------

LANES = (("ring", "Rings"), ("agent", "Agent"), ("customer", "Customer"), ("event", "Holds, talk-over, dead air"),
         ("finding", "Findings"))


def timeline_marks(measures: dict[str, Any], utterances: list[dict[str, Any]],
                   broken: list[dict[str, Any]], complaints: list[dict[str, Any]] = ()) -> list[Mark]:
    marks: list[Mark] = [Mark("event", c["start"], c["end"] if c.get("end") is not None else c["start"],
                              f"complaint ({c.get('cue') or 'heard'}): {c.get('evidence', '')}", "complaint")
                         for c in complaints if c.get("start") is not None]
    speech = measures.get("turns") or measures.get("speech") or {}  # turns: a breath does not split a bar
    for who in ("agent", "customer", "unknown"):
        spans = speech.get(who) or [{"start": u["start"], "end": u["end"]} for u in utterances
                                    if u["speaker"] == who and u.get("start") is not None]
        lane = "customer" if who == "customer" else "agent"
        marks += [Mark(lane, s["start"], s["end"], f"{SPEAKERS[who]} speaking", "speech") for s in spans]
    for key, lane, label in (("ring_spans", "ring", "ring"), ("holds", "event", "hold"),
                             ("interruptions", "event", "talk-over"), ("dead_air", "event", "dead air")):
        marks += [Mark(lane, s["start"], s["end"], label, label.replace(" ", "-")) for s in measures.get(key) or []]
    if measures.get("hangup_first") and measures.get("duration"):
        end = float(measures["duration"])
        marks.append(Mark("event", max(0.0, end - 0.5), end, f"{SPEAKERS.get(measures['hangup_first'], '?')} hung up first", "hangup"))
    at: dict[float, Mark] = {}
    for r in broken:  # most severe first: a moment several rules name shows the worst, lists all
        for o in r.get("occurrences", []):
            if o.get("start") is None:
                continue
            title = r.get("title", r["rule"])
            if o["start"] in at:
                at[o["start"]].label += f"; {title}"
            else:  # a finding is a moment to jump to: drawn at its start, whatever the span it covers
                at[o["start"]] = Mark("finding", o["start"], o["start"], title, "finding", r["rule"])
    return marks + sorted(at.values(), key=lambda m: m.start)


def _contour_paths(contour: list[tuple[float, float, float | None]], duration: float) -> dict[str, Any]:
    """SVG polyline points (x 0..1000, y 0..60) for the level (-60..0 dBFS) and pitch (70..400 Hz)."""
    def x(t: float) -> float:
        return round(1000.0 * t / max(duration, 1e-6), 1)

    level = " ".join(f"{x(t)},{round(60 * (1 - (max(-60.0, min(0.0, d)) + 60) / 60), 1)}" for t, d, _ in contour)
    pitch = " ".join(f"{x(t)},{round(60 * (1 - (min(400.0, h) - 70) / 330), 1)}" for t, _, h in contour if h)
    hz = [h for _, _, h in contour if h]
    db = [d for _, d, _ in contour]
    return {"level": level, "pitch": pitch, "median_hz": round(float(np.median(hz))) if hz else None,
            "median_db": round(float(np.median(db)), 1) if db else None}
