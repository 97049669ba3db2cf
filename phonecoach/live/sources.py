"""Where live audio comes from: a sound device, or a recording replayed at real-time pace.

Both put ``Block``s on one bounded queue per party. The device callback only copies
the block onto the queue (never decodes or analyses); a full queue drops the block
and counts it, so overflow is reported, never silent.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..inputs.audio import TARGET_SR, load_call

BLOCK_SECONDS = 0.2  # what a source delivers at a time: one recogniser chunk (a worker wakes once per chunk)
STALL_SECONDS = 0.5  # no callback for this long = the device is gone


@dataclass(frozen=True)
class Block:
    party: str
    t: float  # audio time of the first sample, seconds
    samples: np.ndarray  # float32 mono at TARGET_SR


@dataclass
class SourceStats:
    overflows: int = 0  # blocks dropped because the queue was full
    input_overflows: int = 0  # PortAudio's status.input_overflow
    stalls: int = 0  # times the device went silent (no callbacks)
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)


# 15 s of blocks per party before blocks are dropped: a new Vosk recogniser spends ~1.5 s
# of CPU on its first second of audio, so N sessions starting (or recycling) together fall
# N x 0.75 s behind on two cores before they catch up; 5 s dropped blocks with four sessions
QUEUE_BLOCKS = int(round(15.0 / BLOCK_SECONDS))


class ReplaySource:
    """Feeds a recorded call through the live path: at real-time pace (``speed`` 1),
    faster (2, 4…), or as fast as the consumer takes it (``speed`` 0, no drops)."""

    def __init__(self, path: str, agent_channel: str = "left", speed: float = 1.0,
                 queue_blocks: int = QUEUE_BLOCKS) -> None:
        self.call = load_call(path, agent_channel)
        self.queues = make_queues(list(self.call.parties), queue_blocks)
        self.speed = speed
        self.stats = SourceStats()
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replay", daemon=True)

    @property
    def parties(self) -> list[str]:
        return list(self.call.parties)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        sr = self.call.sr
        n = int(BLOCK_SECONDS * sr)
        total = max(len(x) for x in self.call.parties.values())
        t0 = time.monotonic()
        for i in range(0, total, n):
            if self._stop.is_set():
                break
            if self.speed > 0:
                due = t0 + (i / sr) / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for party, x in self.call.parties.items():
                block = Block(party, i / sr, x[i:i + n])
                if len(block.samples):
                    if self.speed > 0:
                        _offer(self.queues[party], block, self.stats)
                    else:
                        self.queues[party].put(block)
        self.done.set()


def _offer(q: queue.Queue, block: Block, stats: SourceStats) -> None:
    try:
        q.put_nowait(block)
    except queue.Full:
        stats.overflows += 1


class DeviceSource:
    """One capture device for one party (16 kHz mono int16), with a watchdog that
    reports a device that stops delivering, reopens it, and fills the gap with
    silence so both parties keep one clock."""

    def __init__(self, device: str | int | None, party: str, q: queue.Queue,
                 on_event: Callable[[str], None] = lambda msg: None, retry_seconds: float = 1.0) -> None:
        self.device = device
        self.party = party
        self.queue = q
        self.on_event = on_event
        self.retry_seconds = retry_seconds
        self.stats = SourceStats()
        self.done = threading.Event()  # never set by a device: it runs until stopped
        self._stop = threading.Event()
        self._samples = 0  # samples delivered so far (the party's audio clock)
        self._last_callback = time.monotonic()
        self._started = 0.0
        self._stream = None
        self._lock = threading.Lock()
        self._watchdog = threading.Thread(target=self._watch, name=f"watch-{party}", daemon=True)

    @property
    def parties(self) -> list[str]:
        return [self.party]

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio thread: copy only
        if status.input_overflow:
            self.stats.input_overflows += 1
        self._last_callback = time.monotonic()
        block = Block(self.party, self._samples / TARGET_SR, indata[:, 0].astype(np.float32) / 32768.0)
        self._samples += frames
        _offer(self.queue, block, self.stats)

    def _open(self) -> None:
        import sounddevice as sd

        stream = sd.InputStream(device=self.device, channels=1, samplerate=TARGET_SR, dtype="int16",
                                blocksize=int(BLOCK_SECONDS * TARGET_SR), callback=self._callback)
        stream.start()
        self._stream = stream
        self._last_callback = time.monotonic()

    def start(self) -> None:
        self._started = time.monotonic()
        self._open()  # the first open fails loudly: a wrong --device is the user's to fix
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        self._close()

    def _close(self) -> None:
        with self._lock:
            if self._stream is not None:
                try:
                    self._stream.abort()
                    self._stream.close()
                except Exception:  # noqa: BLE001 - a vanished device may refuse to close
                    pass
                self._stream = None

    def _watch(self) -> None:
        import sounddevice as sd

        while not self._stop.wait(0.1):
            if time.monotonic() - self._last_callback < STALL_SECONDS:
                continue
            self.stats.stalls += 1
            self.on_event(f"{self.party} device stopped delivering audio; reconnecting")
            self._close()
            while not self._stop.is_set():
                try:
                    self._fill_gap()
                    self._open()
                    self.stats.reconnects += 1
                    self.on_event(f"{self.party} device back")
                    break
                except (sd.PortAudioError, OSError) as exc:
                    self.stats.errors.append(str(exc))
                    self._stop.wait(self.retry_seconds)

    def _fill_gap(self) -> None:
        """Silence for the time the device was away, so this party's clock matches the wall clock."""
        expected = int((time.monotonic() - self._started) * TARGET_SR)
        missing = expected - self._samples
        if missing > 0:
            block = Block(self.party, self._samples / TARGET_SR, np.zeros(missing, np.float32))
            self._samples += missing
            _offer(self.queue, block, self.stats)


def list_devices() -> list[dict]:
    import sounddevice as sd

    return [{"index": i, "name": d["name"], "inputs": d["max_input_channels"],
             "default_samplerate": d["default_samplerate"]}
            for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


class DeviceGroup:
    """The agent's headset and, optionally, the customer side, as one source."""

    def __init__(self, devices: dict[str, str | int | None], queues: dict[str, queue.Queue],
                 on_event: Callable[[str], None] = lambda msg: None) -> None:
        self.queues = queues
        self.sources = [DeviceSource(dev, party, queues[party], on_event) for party, dev in devices.items()]
        self.done = threading.Event()

    @property
    def stats(self) -> SourceStats:
        total = SourceStats()
        for s in self.sources:
            total.overflows += s.stats.overflows
            total.input_overflows += s.stats.input_overflows
            total.stalls += s.stats.stalls
            total.reconnects += s.stats.reconnects
            total.errors += s.stats.errors
        return total

    def start(self) -> None:
        for s in self.sources:
            s.start()

    def stop(self) -> None:
        for s in self.sources:
            s.stop()


def make_queues(parties: list[str], size: int = QUEUE_BLOCKS) -> dict[str, queue.Queue]:
    return {p: queue.Queue(maxsize=size) for p in parties}
