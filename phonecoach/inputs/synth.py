"""Synthetic calls with exactly known ground truth, for samples, tests and benchmarks.

Speech comes from espeak-ng reading tone-numbered pinyin (voice ``cmn-latn-pinyin``: its
``cmn`` voice reads most characters as pinyin spelled out in English), or from recordings of
real people placed on a line (``Turn(audio=...)``); tones and silences from numpy. A call is
a list of ``Turn`` / ``Pause`` / ``Tone`` items laid out in time; the builder returns the stereo
signal (agent left, customer right) and the reference transcript with the times it used, so
every measure has an answer to be checked against. ``telephone`` puts a built call through
what a real line does to it (echo between the lines, line noise, 8 kHz G.711 µ-law).
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf

from .audio import resample

SR = 16000
VOICES = {"agent": ("cmn-latn-pinyin", 45), "customer": ("cmn-latn-pinyin+f3", 70)}  # espeak voice, pitch 0-99
PINYIN_VOICE = "cmn-latn-pinyin"  # reads tone-numbered pinyin (ni3 hao3) as Mandarin


def tone(freqs: tuple[float, ...], seconds: float, sr: int = SR, level_db: float = -14.0) -> np.ndarray:
    """A steady tone (sum of sines) at ``level_db`` dBFS peak."""
    t = np.arange(int(round(seconds * sr))) / sr
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return (x * 10 ** (level_db / 20)).astype(np.float32)


def cadence(freqs: tuple[float, ...], on: float, off: float, cycles: int, sr: int = SR,
            level_db: float = -14.0) -> np.ndarray:
    """``cycles`` repetitions of ``on`` seconds of tone then ``off`` seconds of silence."""
    one = np.concatenate([tone(freqs, on, sr, level_db), np.zeros(int(round(off * sr)), np.float32)])
    return np.tile(one, cycles)


def ringback(rings: int, sr: int = SR, country: str = "cn") -> np.ndarray:
    """China: 450 Hz 1 s on / 4 s off. North America: 440+480 Hz 2 s on / 4 s off."""
    if country == "cn":
        return cadence((450.0,), 1.0, 4.0, rings, sr)
    return cadence((440.0, 480.0), 2.0, 4.0, rings, sr)


def busy_tone(seconds: float, sr: int = SR) -> np.ndarray:
    """China busy / disconnect tone: 450 Hz, 0.35 s on / 0.35 s off."""
    cycles = max(1, int(seconds / 0.7))
    return cadence((450.0,), 0.35, 0.35, cycles, sr)


def hold_music(seconds: float, sr: int = SR, level_db: float = -20.0) -> np.ndarray:
    """A simple melody of chords: tonal, steady, not speech."""
    notes = [261.6, 329.6, 392.0, 440.0, 392.0, 329.6]
    step = 0.5
    parts = []
    t = 0.0
    k = 0
    while t < seconds:
        f = notes[k % len(notes)]
        parts.append(tone((f, f * 1.5, f * 2), min(step, seconds - t), sr, level_db))
        t += step
        k += 1
    return np.concatenate(parts)[: int(round(seconds * sr))]


def broadband_music(seconds: float, sr: int = SR, level_db: float = -20.0, seed: int = 3) -> np.ndarray:
    """Hold music as most playlists are: four-chord changes of harmonic-rich notes (eleven
    partials each) over a 120 bpm kick and snare. Not tonal enough for the tone detector."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    x = np.zeros(n)
    chords = [(220.0, 277.2, 329.6), (196.0, 246.9, 293.7), (174.6, 220.0, 261.6), (196.0, 246.9, 311.1)]
    bar = 2.0
    for i in range(int(np.ceil(seconds / bar))):
        a, b = int(i * bar * sr), min(n, int((i + 1) * bar * sr))
        for f in chords[i % len(chords)]:
            for h in range(1, 12):
                x[a:b] += np.sin(2 * np.pi * f * h * t[a:b] + rng.uniform(0, 2 * np.pi)) / h
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    for k in range(int(seconds / 0.5)):  # kick on the beat, snare off it
        a = int(k * 0.5 * sr)
        m = min(int(0.12 * sr), n - a)
        env = np.exp(-np.arange(m) / (0.04 * sr))
        hit = np.sin(2 * np.pi * 55 * np.arange(m) / sr) if k % 2 == 0 else rng.normal(0, 1, m)
        x[a:a + m] += (0.5 if k % 2 == 0 else 0.3) * hit * env
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return (x * 10 ** (level_db / 20)).astype(np.float32)


def melody_music(seconds: float, sr: int = SR, level_db: float = -20.0, lead_hz: float = 220.0,
                 vibrato_hz: float = 5.5, seed: int = 1) -> np.ndarray:
    """Hold music whose lead sounds most like a voice: a melody in the voice's own range, notes
    of 0.25-1 s with vibrato and seven harmonics, over two-chord pads."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    x = np.zeros(n)
    at = 0.0
    while at < seconds:
        dur = float(rng.choice([0.25, 0.5, 0.75, 1.0]))
        a, b = int(at * sr), min(n, int((at + dur) * sr))
        f = lead_hz * 2 ** (int(rng.choice([0, 2, 4, 5, 7, 9, 11, 12])) / 12)
        tt = t[a:b] - at
        phase = 2 * np.pi * f * tt + 2 * np.pi * (f * 0.015 / vibrato_hz) * np.sin(2 * np.pi * vibrato_hz * tt)
        env = np.minimum(1.0, tt / 0.03) * np.exp(-tt / 0.8)
        for h in range(1, 8):
            x[a:b] += env * np.sin(h * phase) / h ** 1.3
        at += dur
    for i in range(int(seconds / 2) + 1):
        a, b = int(i * 2 * sr), min(n, int((i + 1) * 2 * sr))
        for f in [(110.0, 138.6, 164.8), (98.0, 123.5, 146.8)][i % 2]:
            x[a:b] += 0.3 * np.sin(2 * np.pi * f * t[a:b])
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return (x * 10 ** (level_db / 20)).astype(np.float32)


def speak(text: str, speaker: str = "agent", sr: int = SR, speed: int = 170, pitch: int | None = None,
          amplitude: int = 100, intonation: str = "x-high",
          voices: dict[str, tuple[str, int]] | None = None) -> np.ndarray:
    """Mandarin speech from espeak-ng, resampled to ``sr``, leading/trailing silence trimmed.

    For a pinyin voice the text is first written as tone-numbered pinyin by pypinyin (its
    phrase dictionary knows polyphones and tone sandhi better than espeak's character list).
    ``intonation`` is the SSML pitch range: "x-high" sounds lively, "x-low" monotone.
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (run scripts/setup.sh --test)")
    voice, default_pitch = (voices or VOICES)[speaker]
    if voice.startswith(PINYIN_VOICE):
        text = to_pinyin(text)
    ssml = f'<speak><prosody range="{intonation}">{text}</prosody></speak>'
    out = subprocess.run(["espeak-ng", "-m", "-v", voice, "-s", str(speed), "-p", str(pitch or default_pitch),
                          "-a", str(amplitude), "--stdout", ssml], capture_output=True, check=True).stdout
    data, source_sr = sf.read(io.BytesIO(out), dtype="float32")
    x = resample(data, source_sr, sr)
    loud = np.flatnonzero(np.abs(x) > 0.01)
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


def to_pinyin(text: str) -> str:
    """Chinese characters as tone-numbered pinyin syllables (neutral tone 5), punctuation kept
    so espeak still pauses at commas and full stops; anything else passes through."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


@dataclass
class Turn:
    """Something ``speaker`` says: espeak-ng reads ``text``, or ``audio`` (a recording at the
    call's rate, trimmed to where the voice starts and ends) is placed as it is."""

    speaker: str
    text: str
    gap: float = 0.5  # silence before it, seconds
    overlap: float = 0.0  # start this many seconds before the previous turn ends (interruption)
    speed: int = 170  # espeak words per minute
    gain_db: float = 0.0
    intonation: str = "x-high"  # SSML pitch range: x-low is monotone
    audio: np.ndarray | None = field(default=None, repr=False)  # recorded speech instead of espeak


@dataclass
class Pause:
    seconds: float
    music: bool = False  # hold music on the agent's line instead of silence
    style: str = "tonal"  # tonal (a simple melody) | broadband (chords, rich harmonics, drums) | melody (a lead
    # in the voice's range, with vibrato)


@dataclass
class Tone:
    speaker: str  # whose channel carries it
    signal: np.ndarray = field(repr=False)


@dataclass
class Hangup:
    """``speaker`` hangs up here: their line carries a disconnect tone (if ``tone``),
    then digital silence to the end of the recording."""

    speaker: str
    tone: bool = True
    tone_seconds: float = 2.1


@dataclass
class Overlay:
    """A sound on ``speaker``'s line starting ``offset`` s after the previous turn began,
    without moving the clock (noise while someone talks)."""

    speaker: str
    signal: np.ndarray = field(repr=False)
    offset: float = 0.0


def chewing_noise(seconds: float, sr: int = SR, level_db: float = -22.0, seed: int = 1) -> np.ndarray:
    """Bursts of broadband noise (crunching, rustling): 80-200 ms bursts, a few per second."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * sr), np.float32)
    t = 0.0
    while t < seconds - 0.2:
        n = int(rng.uniform(0.08, 0.2) * sr)
        i = int(t * sr)
        burst = rng.standard_normal(n).astype(np.float32) * np.hanning(n).astype(np.float32)
        x[i:i + n] += burst[: len(x) - i] * 10 ** (level_db / 20) * 2.0
        t += rng.uniform(0.25, 0.45)
    return x


@dataclass
class BuiltCall:
    stereo: np.ndarray  # frames x 2: agent left, customer right
    sr: int
    turns: list[dict]  # reference transcript with times
    spans: dict[str, list[tuple[float, float]]]  # ground truth: "pause", "music", "overlap", tones…

    def write(self, path, sr: int | None = None) -> None:
        x = self.stereo if sr is None else np.stack(
            [resample(self.stereo[:, i], self.sr, sr) for i in range(2)], axis=1)
        sf.write(str(path), x, sr or self.sr)


def build_call(items: list, sr: int = SR, tail: float = 1.0, noise_db: float | None = None,
               line_noise_db: float | None = -62.0, seed: int = 0,
               voices: dict[str, tuple[str, int]] | None = None) -> BuiltCall:
    """Lay out items one after another; returns the stereo call and its ground truth.

    ``line_noise_db`` is the faint hiss of a live line (so a hung-up line, which is
    digital silence, can be told from a pause); ``noise_db`` adds noise on top of
    everything (for SNR tests).
    """
    pieces: list[tuple[str, int, np.ndarray]] = []
    hangups: list[tuple[str, float]] = []
    last_start = 0.0
    turns: list[dict] = []
    spans: dict[str, list[tuple[float, float]]] = {}
    t = 0.0
    for item in items:
        if isinstance(item, Pause):
            key = "music" if item.music else "pause"
            spans.setdefault(key, []).append((t, t + item.seconds))
            if item.music:
                music = {"broadband": broadband_music, "melody": melody_music}.get(item.style, hold_music)(item.seconds, sr)
                pieces.append(("agent", int(round(t * sr)), music))
            t += item.seconds
        elif isinstance(item, Hangup):
            spans.setdefault(f"hangup:{item.speaker}", []).append((t, t))
            hangups.append((item.speaker, t))
            if item.tone:
                pieces.append((item.speaker, int(round(t * sr)), busy_tone(item.tone_seconds, sr)))
                t += item.tone_seconds
        elif isinstance(item, Overlay):
            at = last_start + item.offset
            spans.setdefault(f"overlay:{item.speaker}", []).append((at, at + len(item.signal) / sr))
            pieces.append((item.speaker, int(round(at * sr)), item.signal))
        elif isinstance(item, Tone):
            dur = len(item.signal) / sr
            spans.setdefault(f"tone:{item.speaker}", []).append((t, t + dur))
            pieces.append((item.speaker, int(round(t * sr)), item.signal))
            t += dur
        else:
            said = item.audio if item.audio is not None else speak(
                item.text, item.speaker, sr, item.speed, intonation=item.intonation, voices=voices)
            x = said * 10 ** (item.gain_db / 20)
            start = t - item.overlap if item.overlap else t + item.gap
            if item.overlap:
                spans.setdefault("overlap", []).append((start, t))
            end = start + len(x) / sr
            last_start = start
            pieces.append((item.speaker, int(round(start * sr)), x.astype(np.float32)))
            turns.append({"speaker": item.speaker, "text": item.text,
                          "start": round(start, 3), "end": round(end, 3)})
            t = max(t, end)
    n = int(round((t + tail) * sr))
    stereo = np.zeros((n, 2), np.float32)
    rng = np.random.default_rng(seed)
    for level in (line_noise_db, noise_db):
        if level is not None:
            stereo += (rng.standard_normal(stereo.shape) * 10 ** (level / 20)).astype(np.float32)
    for speaker, at in hangups:  # a dead line is digital silence...
        stereo[int(round(at * sr)):, 0 if speaker == "agent" else 1] = 0.0
    for speaker, offset, x in pieces:  # ...except for the disconnect tone laid on it
        ch = 0 if speaker == "agent" else 1
        stereo[offset : offset + len(x), ch] += x[: n - offset]
    np.clip(stereo, -1.0, 1.0, out=stereo)
    return BuiltCall(stereo, sr, turns, spans)


def telephone(call: BuiltCall, *, echo_db: float | None = None, echo_delay: float = 0.03,
              snr_db: float | None = None, ulaw: bool = True, seed: int = 0) -> np.ndarray:
    """The call as a telephone recorder stores it: each line leaking into the other
    (``echo_db`` below it, ``echo_delay`` s late), line noise ``snr_db`` below each line's
    speech (band-limited hiss and a little mains hum), then 8 kHz G.711 µ-law, libsndfile's
    own codec. Returns frames x 2 at 8 kHz, float32, decoded from the µ-law bytes (or plain
    8 kHz when ``ulaw`` is False). Where a line is digitally silent (hung up) it stays so,
    but for the other party's echo."""
    x = call.stereo.astype(np.float64)
    sr = call.sr
    dead = x == 0.0
    if echo_db is not None:
        d, g = int(round(echo_delay * sr)), 10 ** (echo_db / 20)
        leak = np.zeros_like(x)
        leak[d:] = x[: len(x) - d, ::-1] * g  # each line hears the other, late and quieter
        x = x + leak
    if snr_db is not None:
        rng = np.random.default_rng(seed)
        t = np.arange(len(x)) / sr
        for ch in range(2):
            level = speech_level(call.stereo[:, ch], sr)
            noise = _band(rng.standard_normal(len(x)), sr) + 0.3 * np.sin(2 * np.pi * 50 * t) \
                + 0.2 * np.sin(2 * np.pi * 150 * t)
            noise *= 10 ** ((level - snr_db) / 20) / np.sqrt(np.mean(noise ** 2))
            x[:, ch] += np.where(dead[:, ch], 0.0, noise)
    y = np.stack([resample(x[:, ch].astype(np.float32), sr, 8000) for ch in range(2)], axis=1)
    np.clip(y, -1.0, 1.0, out=y)
    if not ulaw:
        return y.astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, y, 8000, format="WAV", subtype="ULAW")
    buf.seek(0)
    return sf.read(buf, dtype="float32")[0]


def speech_level(x: np.ndarray, sr: int) -> float:
    """Active speech level, dBFS: the RMS of the 20 ms frames within 20 dB of the loudest
    ones (pauses do not dilute it)."""
    h = int(0.02 * sr)
    frames = np.asarray(x[: len(x) // h * h], np.float64).reshape(-1, h)
    db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    if not len(db):
        return -100.0
    active = db[db > np.percentile(db, 95) - 20]
    return float(10 * np.log10(np.mean(10 ** (active / 10))))


def _band(x: np.ndarray, sr: int, lo: float = 200.0, hi: float = 3400.0) -> np.ndarray:
    """``x`` limited to lo..hi Hz (a telephone channel's band), by FFT."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1.0 / sr)
    spec[(f < lo) | (f > hi)] = 0.0
    return np.fft.irfft(spec, len(x))


@dataclass
class BuiltShift:
    stereo: np.ndarray  # frames x 2: agent left, customer right
    sr: int
    calls: list[tuple[float, float]]  # where each call's recording lies in the shift, seconds


def lay_out_shift(calls: list[np.ndarray], gaps: list[float], sr: int = SR, lead: float = 4.0,
                  agent_noise_db: float = -62.0, seed: int = 0) -> BuiltShift:
    """A shift: stereo call recordings one after another with idle lines between them (the
    headset's faint room noise on the agent's line; the softphone silent on the customer's).
    ``gaps[i]`` follows call ``i`` (cycled)."""
    rng = np.random.default_rng(seed)

    def idle(seconds: float) -> np.ndarray:
        x = np.zeros((int(round(seconds * sr)), 2), np.float32)
        x[:, 0] = rng.standard_normal(len(x)) * 10 ** (agent_noise_db / 20)
        return x

    pieces, spans, t = [idle(lead)], [], lead
    for i, call in enumerate(calls):
        pieces.append(call.astype(np.float32))
        spans.append((t, t + len(call) / sr))
        t += len(call) / sr
        gap = gaps[i % len(gaps)]
        pieces.append(idle(gap))
        t += len(pieces[-1]) / sr
    return BuiltShift(np.concatenate(pieces), sr, spans)
