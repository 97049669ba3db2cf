"""Calls assembled from recordings of real people speaking Mandarin (../shared/realspeech).

Each clip is trimmed to where the voice starts and ends (``tests/data/realspeech_clips.json``
says how that was read off), brought to a common speech level and placed on the agent's or
the customer's line at a known time, so the truth is where the clips were put: each party's
speech, every talk-over, hold and dead-air gap, the rings and who hung up first. The
recordings are test data, not part of the product: tests skip with the reason where the
folder is absent (set ``PHONECOACH_REALSPEECH`` to point elsewhere).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from phonecoach.inputs.audio import resample
from phonecoach.inputs.synth import (
    SR,
    BuiltCall,
    Hangup,
    Pause,
    Tone,
    Turn,
    build_call,
    ringback,
    speech_level,
    telephone,
)

ROOT = Path(__file__).resolve().parent.parent
FOLDER = Path(os.environ.get("PHONECOACH_REALSPEECH", ROOT.parent / "shared" / "realspeech"))
CLIPS = json.loads((Path(__file__).parent / "data" / "realspeech_clips.json").read_text(encoding="utf-8"))["clips"]
A, C = "agent", "customer"
Span = tuple[float, float]


def missing_reason() -> str | None:
    """Why the real recordings cannot be used here, or None."""
    if not FOLDER.is_dir():
        return f"real speech recordings not found at {FOLDER} (set PHONECOACH_REALSPEECH)"
    absent = [name for name in CLIPS if not (FOLDER / name).is_file()]
    return f"{len(absent)} real speech recordings missing in {FOLDER}, e.g. {absent[0]}" if absent else None


@cache
def _decoded(name: str) -> np.ndarray:
    x, sr = sf.read(str(FOLDER / name), dtype="float32", always_2d=True)
    return resample(x.mean(axis=1), sr, SR)


def clip(name: str, piece: int = 0, *, level_db: float = -24.0, seconds: float | None = None) -> np.ndarray:
    """Piece ``piece`` of a recording, where its voice starts and ends, at ``level_db`` dBFS of
    active speech (``seconds``: only its first so many seconds)."""
    start, end = CLIPS[name]["pieces"][piece]
    if seconds is not None:
        end = min(end, start + seconds)
    x = _decoded(name)[int(round(start * SR)): int(round(end * SR))].astype(np.float64)
    x *= 10 ** ((level_db - speech_level(x, SR)) / 20)
    return np.clip(x, -1.0, 1.0).astype(np.float32)


def said(speaker: str, name: str, piece: int = 0, *, gap: float = 0.5, overlap: float = 0.0,
         level_db: float = -24.0, seconds: float | None = None) -> Turn:
    return Turn(speaker, f"{name}#{piece}", gap=gap, overlap=overlap,
                audio=clip(name, piece, level_db=level_db, seconds=seconds))


@dataclass
class Truth:
    """Where things were put in an assembled call (seconds)."""

    speech: dict[str, list[Span]]  # each party's clips, as placed
    talkover: list[Span] = field(default_factory=list)  # the agent started over the customer: (start, end of overlap)
    backchannels: list[Span] = field(default_factory=list)  # short agent sounds over the customer (not talk-over)
    holds: list[Span] = field(default_factory=list)
    dead_air: list[Span] = field(default_factory=list)
    rings: int | None = None
    hangup_first: str | None = None
    music: list[Span] = field(default_factory=list)


@dataclass
class RealCall:
    name: str
    built: BuiltCall
    truth: Truth

    def write(self, path: Path, *, telephone_line: bool = False, **conditions) -> Path:
        """The call as a stereo file: 16 kHz FLAC as assembled, or (``telephone_line``) what a
        telephone recorder keeps: a µ-law WAV at 8 kHz with echo and line noise."""
        if telephone_line:
            sf.write(str(path), telephone(self.built, **conditions), 8000, subtype="ULAW")
        else:
            self.built.write(path)
        return path


def _truth(built: BuiltCall, rings: int | None, hangup_first: str | None,
           backchannel_max: float = 0.6, hold_min: float = 10.0, dead_air_min: float = 3.0) -> Truth:
    """The events of an assembled call, from where its clips were put (independently of the
    code under test: plain interval arithmetic on the script)."""
    turns = [(t["speaker"], t["start"], t["end"]) for t in built.turns]
    speech = {p: [(s, e) for who, s, e in turns if who == p] for p in (A, C)}
    truth = Truth(speech, rings=rings, hangup_first=hangup_first, music=list(built.spans.get("music", [])))
    for who, s, e in turns:
        if who != A:
            continue
        over = [(cs, ce) for cs, ce in speech[C] if cs < s < ce]
        if over:
            kind = truth.backchannels if e - s < backchannel_max else truth.talkover
            kind.append((s, min(e, over[0][1])))
    everything = sorted((s, e) for _, s, e in turns)
    reach = everything[0][1]
    for s, e in everything[1:]:
        if s - reach >= hold_min:
            truth.holds.append((reach, s))
        reach = max(reach, e)
    for (w1, s1, e1), (w2, s2, e2) in zip(turns, turns[1:]):
        if w1 == C and w2 == A and s2 - e1 >= dead_air_min:  # (the calls here never announce a wait after the customer)
            truth.dead_air.append((e1, s2))
    return truth


def brisk_call(*, music: str | None = "broadband") -> RealCall:
    """About a minute and a half of brisk turn-taking between two real voices: two rings, a
    greeting, a back-channel (哦, 0.5 s) inside the customer's turn, a 2 s talk-over, a hold
    asked for and thanked (15 s, with hold music on the agent's line unless ``music`` is None),
    dead air of 4 s after the customer, and the customer hanging up first."""
    items = [
        Tone(C, ringback(2)),
        said(A, "cosyvoice__zero_shot_prompt.wav", gap=0.4),
        said(C, "funasr__paraformer_example_1.wav", gap=0.3),
        said(A, "wenet__1683016__ID003.wav", overlap=6.0, seconds=0.5, level_db=-30.0),
        said(A, "wenet__aishell-BAC009S0724W0121.wav", gap=0.5),
        said(C, "paddlespeech__zh.wav", gap=0.4),
        said(A, "funasr__paraformer_example_0.wav", gap=0.6),
        said(C, "whisperstt__fleurs_zh_1883_clip5.wav", gap=0.3),
        said(A, "fireredasr__BAC009S0764W0121.wav", overlap=2.0),
        said(C, "fireredasr__IT0011W0001.wav", gap=0.4),
        said(A, "wenet__1683016__ID002.wav", gap=0.3),
        Pause(15.0, music=music is not None, style=music or "tonal"),
        said(A, "funasr__paraformer_example_2.wav", gap=0.0),
        said(C, "funasr__sample.wav", 1, gap=0.5),
        Pause(4.0),
        said(A, "wenet__1683016__ID001.wav", gap=0.0),
        said(C, "funasr__paraformer_example_3.wav", gap=0.4),
        said(A, "whisperstt__fleurs_zh_en_mix_1805_1830_clip6.wav", 1, gap=0.5),
        said(C, "wenet__7595ac9__ID001.wav", gap=0.5),
        Pause(0.6),
        Hangup(C),
        Pause(1.5),
        Hangup(A, tone=False),
    ]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0)
    return RealCall("brisk", built, _truth(built, rings=2, hangup_first=C))


def far_call() -> RealCall:
    """Two minutes with far-field and noisy-room voices: no ringback (picked up at once), a 1.5 s
    talk-over of a customer speaking in a noisy meeting room, the customer's own pauses of a
    second inside a turn, a 12 s hold with a melodic lead over pads (the music most like a voice),
    a silent 11 s hold, dead air of 3.5 s, and the agent hanging up before the customer."""
    items = [
        said(A, "wenet__7595ac9__ID001.wav", gap=0.5),
        said(C, "k2-fsa-sherpa__far_5.wav", 0, gap=0.4),
        said(C, "k2-fsa-sherpa__far_5.wav", 1, gap=1.0),
        said(A, "funasr__VAD_30s_mono.wav", 0, gap=0.6),
        said(C, "fireredasr__TEST_MEETING_T0000000001_S00000.wav", gap=0.5),
        said(A, "k2-fsa-sherpa__far_2.wav", overlap=1.5),
        said(C, "wenet__1683016__ID002.wav", gap=0.4),
        said(A, "k2-fsa-sherpa__far_4.wav", gap=0.5),
        Pause(12.0, music=True, style="melody"),
        said(A, "whisperstt__fleurs_zh_en_mix_1805_1830_clip6.wav", 0, gap=0.0),
        said(C, "fireredasr__TEST_NET_Y0000000000_-KTKHdZ2fb8_S00000.wav", gap=0.5),
        Pause(3.5),
        said(A, "funasr__sample.wav", 0, gap=0.0),
        said(C, "funasr__VAD_30s_mono.wav", 1, gap=0.5),
        said(A, "funasr__paraformer_example_1.wav", gap=0.5),
        Pause(11.0),
        said(A, "fireredasr__IT0011W0001.wav", gap=0.0),
        said(C, "wenet__aishell-BAC009S0724W0121.wav", gap=0.5),
        said(A, "cosyvoice__zero_shot_prompt.wav", gap=0.5),
        Pause(0.5),
        Hangup(A, tone=False),
        said(C, "fireredasr__BAC009S0764W0121.wav", gap=0.8),
        Pause(1.0),
        Hangup(C, tone=False),
    ]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0)
    return RealCall("far", built, _truth(built, rings=None, hangup_first=A))


def random_call(seed: int) -> RealCall:
    """A call drawn at random (for held-out checks: nothing was tuned on these): clips taken in
    turn by the two parties with gaps of 0.3-1.5 s, now and then a talk-over of 1.2-2.0 s, dead
    air of 3.5-6 s after the customer, or a hold of 11-20 s after a few words of the agent
    (hold music of a random style, or silence)."""
    rng = np.random.default_rng(seed)
    names = [n for n, d in CLIPS.items() if not d["kind"].startswith("back-channel") and "two voices" not in d["kind"]]
    pieces = [(n, i) for n in names for i in range(len(CLIPS[n]["pieces"]))]
    items: list = []
    who = A
    for k in range(int(rng.integers(10, 16))):
        name, piece = pieces[int(rng.integers(len(pieces)))]
        x = clip(name, piece, level_db=float(rng.uniform(-30, -20)))
        roll = rng.random()
        if who == A and k > 1 and roll < 0.2 and len(x) / SR > 2.0 and items and isinstance(items[-1], Turn) \
                and items[-1].speaker == C and len(items[-1].audio) / SR > 2.5:
            items.append(Turn(A, name, overlap=float(rng.uniform(1.2, 2.0)), audio=x))
        elif who == A and k > 1 and roll < 0.35 and items and isinstance(items[-1], Turn) and items[-1].speaker == C:
            items += [Pause(float(rng.uniform(3.5, 6.0))), Turn(A, name, gap=0.0, audio=x)]
        elif who == A and k > 1 and roll < 0.5:  # the agent says something, the line holds, the agent is back
            style = str(rng.choice(["none", "tonal", "broadband", "melody"]))
            before = pieces[int(rng.integers(len(pieces)))]
            items += [Turn(A, before[0], gap=float(rng.uniform(0.3, 1.0)),
                           audio=clip(*before, level_db=float(rng.uniform(-30, -20)), seconds=3.0)),
                      Pause(float(rng.uniform(0.3, 1.0))),  # the agent presses hold after speaking
                      Pause(float(rng.uniform(11.0, 20.0)), music=style != "none", style=style),
                      Turn(A, name, gap=0.0, audio=x)]
        else:
            items.append(Turn(who, name, gap=float(rng.uniform(0.3, 1.5)), audio=x))
        who = C if who == A else A
    items += [Pause(0.6), Hangup(C), Pause(1.0), Hangup(A, tone=False)]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0, seed=seed)
    return RealCall(f"random{seed}", built, _truth(built, rings=None, hangup_first=C))



def raised_call(rise_db: float) -> RealCall:
    """About a minute of calm exchange, then the caller's fifth turn ``rise_db`` louder than their
    others (their typical level: -27 to -25 dBFS), and the agent answering. The truth's
    ``raised`` is that turn (when ``rise_db`` is a rise a listener hears as a raised voice)."""
    customer = [("funasr__paraformer_example_1.wav", 0, -26.0), ("paddlespeech__zh.wav", 0, -25.0),
                ("fireredasr__IT0011W0001.wav", 0, -27.0), ("funasr__sample.wav", 1, -26.0),
                ("wenet__7595ac9__ID001.wav", 0, -26.0 + rise_db)]
    agent = ["cosyvoice__zero_shot_prompt.wav", "wenet__aishell-BAC009S0724W0121.wav", "funasr__paraformer_example_0.wav",
             "wenet__1683016__ID002.wav", "fireredasr__BAC009S0764W0121.wav", "funasr__paraformer_example_2.wav"]
    items: list = [said(A, agent[0], gap=0.4)]
    for (name, piece, level), answer in zip(customer, agent[1:]):
        items += [said(C, name, piece, gap=0.5, level_db=level), said(A, answer, gap=0.6)]
    items += [Pause(0.6), Hangup(C), Pause(1.0), Hangup(A, tone=False)]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0)
    truth = _truth(built, rings=None, hangup_first=C)
    return RealCall(f"raised{rise_db:+.0f}", built, truth)

def hold_call(style: str = "none", seconds: float = 40.0, consent: bool = True, seed: int = 0) -> RealCall:
    """A hold as agents put callers on hold: the agent's request, the caller's short 好的
    (``consent``), the agent pressing hold half a second later, ``seconds`` of hold music of
    ``style`` on the agent's line (or "none": the lines' hiss only), and the agent back. The
    truth's hold runs from the end of the request to the agent's next words; no dead air."""
    items = [said(A, "cosyvoice__zero_shot_prompt.wav", gap=0.4),
             said(C, "paddlespeech__zh.wav", gap=0.4),
             said(A, "wenet__1683016__ID001.wav", gap=0.6)]
    if consent:
        items.append(said(C, "fireredasr__IT0011W0001.wav", gap=0.3))  # 1.2 s: a short reply
    items += [Pause(0.5), Pause(seconds, music=style != "none", style=style if style != "none" else "tonal"),
              said(A, "funasr__paraformer_example_0.wav", gap=0.0),
              said(C, "funasr__sample.wav", 1, gap=0.5),
              said(A, "wenet__aishell-BAC009S0724W0121.wav", gap=0.5),
              Pause(0.6), Hangup(C), Pause(1.0), Hangup(A, tone=False)]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0, seed=seed)
    truth = _truth(built, rings=None, hangup_first=C)
    agent = [(t["start"], t["end"]) for t in built.turns if t["speaker"] == A]
    truth.holds, truth.dead_air = [(agent[1][1], agent[2][0])], []
    return RealCall(f"hold-{style}-{seconds:.0f}{'-consent' if consent else ''}", built, truth)


_WHOLE = [(n, i) for n, d in CLIPS.items() for i, (s, e) in enumerate(d["pieces"])
          if e - s >= 2.6 and "two voices" not in d["kind"] and not d["kind"].startswith("back")]
_LONG = [(n, i) for n, i in _WHOLE if CLIPS[n]["pieces"][i][1] - CLIPS[n]["pieces"][i][0] >= 5.0]
OVERLAP_MIN = 1.0  # the pack's interrupt_min_overlap: shorter overlaps are not talk-over


def overlap_call(seed: int) -> RealCall:
    """Talk-over inside sentences, drawn at random (nothing was tuned on these): turns of real
    voices, and every third turn one party's long sentence into whose middle the other cuts for
    0.8 s (under the limit: not talk-over) or 1.3-2.5 s, while the first goes on talking; mostly
    the agent cutting into the customer, now and then the customer into the agent, who talks on.
    The truth's ``talkover``: each cut-in of at least ``OVERLAP_MIN`` (start, end of the overlap)."""
    rng = np.random.default_rng(seed)
    items: list = []
    who = A
    for k in range(12):
        if k % 3 == 1:
            talker = C if rng.random() < 0.7 else A
            name, piece = _LONG[int(rng.integers(len(_LONG)))]
            x = clip(name, piece, level_db=float(rng.uniform(-28, -22)))
            ov = 0.8 if rng.random() < 0.3 else float(rng.uniform(1.3, 2.5))
            into = float(rng.uniform(1.5, len(x) / SR - ov - 1.0))  # where in the sentence the other begins
            other, o_piece = _WHOLE[int(rng.integers(len(_WHOLE)))]
            y = clip(other, o_piece, level_db=float(rng.uniform(-28, -22)), seconds=ov)
            items += [Turn(talker, name, gap=float(rng.uniform(0.4, 1.0)), audio=x),
                      Turn(A if talker == C else C, other, overlap=len(x) / SR - into, audio=y)]
            who = talker
        else:
            name, piece = _WHOLE[int(rng.integers(len(_WHOLE)))]
            items.append(Turn(who, name, gap=float(rng.uniform(0.4, 1.2)),
                              audio=clip(name, piece, level_db=float(rng.uniform(-28, -22)))))
        who = C if who == A else A
    items += [Pause(0.6), Hangup(C), Pause(1.0), Hangup(A, tone=False)]
    built = build_call(items, sr=SR, tail=1.0, line_noise_db=-70.0, seed=seed)
    truth = _truth(built, rings=None, hangup_first=C)
    turns = built.turns
    truth.talkover = sorted((b["start"], min(a["end"], b["end"])) for a in turns for b in turns
                            if a["speaker"] != b["speaker"] and a["start"] < b["start"] < a["end"]
                            and min(a["end"], b["end"]) - b["start"] >= OVERLAP_MIN)
    truth.backchannels = []
    truth.dead_air = [(e1["end"], s2["start"]) for e1, s2 in zip(turns, turns[1:])
                      if e1["speaker"] == C and s2["speaker"] == A and s2["start"] - e1["end"] >= 3.0]
    return RealCall(f"overlap{seed}", built, truth)


CONDITIONS = {  # how a call reaches phonecoach: as assembled, or through a telephone line and recorder
    "clean": {},
    "g711-snr20-echo": {"telephone_line": True, "snr_db": 20.0, "echo_db": -20.0, "echo_delay": 0.03},
    "g711-snr15": {"telephone_line": True, "snr_db": 15.0, "seed": 3},
}


def frames_f1(found: list[Span], truth: list[Span], duration: float, hop: float = 0.01) -> float:
    """F1 of speech frames (``hop`` s) found against the truth."""
    n = int(np.ceil(duration / hop)) + 1

    def mask(spans: list[Span]) -> np.ndarray:
        m = np.zeros(n, bool)
        for s, e in spans:
            m[int(round(s / hop)): int(round(e / hop))] = True
        return m

    f, t = mask(found), mask(truth)
    tp = float(np.sum(f & t))
    return 0.0 if tp == 0 else 2 * tp / (np.sum(f) + np.sum(t))
