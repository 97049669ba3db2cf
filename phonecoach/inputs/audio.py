"""Audio in: any common file becomes 16 kHz float channels, one per party.

soundfile (libsndfile) reads WAV, FLAC, OGG and MP3 without ffmpeg; soxr resamples.
Stereo call recordings carry agent and customer on separate channels; which one
is the agent is a setting, because recorders disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Literal

import numpy as np
import soundfile as sf
import soxr

from ..core.errors import AudioError
from ..core.safeio import check_regular, shown

TARGET_SR = 16000  # Hz: what Vosk models and the measures expect
ChannelSide = Literal["left", "right"]


@dataclass
class CallAudio:
    """A decoded call at ``sr`` Hz: ``parties`` maps speaker -> float32 mono signal in [-1, 1]."""

    path: str
    sr: int
    source_sr: int
    parties: dict[str, np.ndarray]

    @property
    def stereo(self) -> bool:
        return "agent" in self.parties and "customer" in self.parties

    @property
    def duration(self) -> float:
        return max(len(x) for x in self.parties.values()) / self.sr


def load_call(path: str | Path, agent_channel: ChannelSide = "left", sr: int = TARGET_SR) -> CallAudio:
    """Read a call recording and split it into parties.

    Stereo: ``agent_channel`` is the agent, the other channel the customer.
    Mono: one ``unknown`` party (agent and customer mixed).
    A live session's folder (``agent.wav`` and ``customer.wav``, as ``live`` writes them): its parties.
    Raises AudioError with a one-line reason for anything unreadable.
    """
    if Path(path).is_dir():
        return load_session_audio(Path(path), sr)
    data, source_sr = read_audio(path)
    channels = [resample(data[:, i], source_sr, sr) for i in range(min(2, data.shape[1]))]
    if len(channels) == 1:
        parties = {"unknown": channels[0]}
    else:
        left, right = channels
        agent, customer = (left, right) if agent_channel == "left" else (right, left)
        parties = {"agent": agent, "customer": customer}
    return CallAudio(path=str(path), sr=sr, source_sr=source_sr, parties=parties)


SESSION_PARTIES = ("agent", "customer")


def session_files(folder: Path) -> list[Path]:
    """The party recordings of a live session's folder, agent first (AudioError if none)."""
    files = [folder / f"{p}.wav" for p in SESSION_PARTIES if (folder / f"{p}.wav").is_file()]
    if not files or files[0].name != "agent.wav":
        raise AudioError("is a folder, not an audio file (nor a live session's folder: no agent.wav)",
                         shown(folder))
    return files


def load_session_audio(folder: Path, sr: int = TARGET_SR) -> CallAudio:
    """A live session's call as the session heard it: agent.wav (+ customer.wav), one clock."""
    parties, source_sr = {}, sr
    for f in session_files(folder):
        data, source_sr = read_audio(f)
        parties[f.stem] = resample(data[:, 0], source_sr, sr)
    n = max(len(x) for x in parties.values())
    parties = {p: np.pad(x, (0, n - len(x))) for p, x in parties.items()}
    return CallAudio(path=str(folder), sr=sr, source_sr=source_sr, parties=parties)


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode a file to float32 frames x channels, with clear errors for bad input."""
    p = Path(path)
    check_regular(p, AudioError, "an audio file")
    if p.stat().st_size == 0:
        raise AudioError("file is empty", shown(p))
    try:
        with open(p, "rb") as f:  # a file object: libsndfile cannot open non-UTF-8 names itself
            data, source_sr = sf.read(f, dtype="float32", always_2d=True)
    except OSError as exc:
        raise AudioError(f"cannot read it: {exc.strerror or exc}", shown(p)) from None
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = str(exc).split(":")[-1].strip() or "unreadable"
        raise AudioError(f"not a readable audio file (WAV, FLAC, OGG or MP3): {reason}", shown(p)) from None
    except MemoryError:
        raise AudioError("too long to decode in memory", shown(p)) from None
    if data.shape[0] == 0:
        raise AudioError("audio has no samples", shown(p))
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=1.0, neginf=-1.0)
    return data, int(source_sr)


def resample(x: np.ndarray, source_sr: int, sr: int) -> np.ndarray:
    """Resample one channel to ``sr`` Hz (no-op when already there)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if source_sr == sr:
        return x
    return soxr.resample(x, source_sr, sr).astype(np.float32, copy=False)


def to_pcm16(x: np.ndarray) -> bytes:
    """Float [-1, 1] -> little-endian int16 bytes, what Vosk accepts."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def chunks(x: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of ``size`` samples (the last may be shorter)."""
    for i in range(0, len(x), size):
        yield x[i : i + size]



VOICE_KBPS = 24  # speech stays clear; a 30-minute call is 5.4 MB of MP3 (7.2 MB once in base64)
VOICE_SR = 8000  # Hz: a page's audio is the telephone band


BEEP_HZ, BEEP_DBFS = 1000.0, -24.0  # what a masked number sounds like on a page


def phone_mix(parties: dict[str, np.ndarray], sr: int = TARGET_SR,
              hide: Iterable[tuple[float, float]] = ()) -> tuple[np.ndarray, int]:
    """Both parties mixed as on the phone, at 8 kHz (the telephone band: what the customer heard
    of the agent, what call recorders keep), and its rate: the audio of a call's page. ``hide``:
    spans (seconds) heard as a beep instead, where a customer's personal number was said (the
    recording itself is never changed)."""
    n = max(len(x) for x in parties.values())
    mix = np.zeros(n, np.float32)
    for x in parties.values():
        mix[: len(x)] += x
    np.clip(mix, -1.0, 1.0, out=mix)
    rate = min(sr, VOICE_SR)
    mix = resample(mix, sr, rate) if sr > rate else mix
    return beeped(mix, rate, hide), rate


def beeped(x: np.ndarray, sr: int, spans: Iterable[tuple[float, float]]) -> np.ndarray:
    """``x`` (a copy, when anything is hidden) with each span replaced by a steady beep."""
    spans = [(max(0, int(s * sr)), min(len(x), int(np.ceil(e * sr)))) for s, e in spans]
    spans = [(a, b) for a, b in spans if b > a]
    if not spans:
        return x
    x = np.array(x, np.float32, copy=True)
    for a, b in spans:
        t = np.arange(a, b) / sr
        x[a:b] = (10 ** (BEEP_DBFS / 20) * np.sqrt(2) * np.sin(2 * np.pi * BEEP_HZ * t)).astype(np.float32)
    return x


def encode_voice(parties: dict[str, np.ndarray], sr: int = TARGET_SR,
                 hide: Iterable[tuple[float, float]] = ()) -> tuple[bytes, str]:
    """The call as a small MP3 for listening (``phone_mix``), and its MIME type.

    MP3 plays in every browser, phones included (Ogg Opus does not everywhere), and at a
    constant bitrate a player seeks to the second a finding names. At 24 kbps LAME cuts a
    16 kHz stream near 5.5 kHz anyway, and an 8 kHz stream takes 0.45x the time to encode
    (0.76 s against 1.75 s CPU for a 174 s call, once per self-contained page). libsndfile
    maps ``compression_level`` 0..1 onto MPEG-2.5's bitrates at 8 kHz, 64..8 kbps.
    """
    import io

    mix, rate = phone_mix(parties, sr, hide)
    top = 64
    buf = io.BytesIO()
    level = min(1.0, max(0.0, (top - VOICE_KBPS) / (top - 8)))
    sf.write(buf, mix, rate, format="MP3", subtype="MPEG_LAYER_III", compression_level=level, bitrate_mode="CONSTANT")
    return buf.getvalue(), "audio/mpeg"
