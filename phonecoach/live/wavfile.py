"""The WAV a live session appends each party's audio to, readable as it stands at every flush.

A session writes a block every 0.1-0.2 s on each recogniser's thread. libsndfile cost 0.4 ms
of that thread's CPU per block there (its per-call work, and the GIL given up and taken
back around each call), 1.4 s of a 174 s stereo call; the samples are float32 already, so
the file is written here: a header, then the samples' bytes through a buffered file. At
each ``flush`` the header's sizes are written in place (``os.pwrite``: no reopening, no
seek), so a process killed at any moment leaves a file whose header says how long it is.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

_FMT_FLOAT = 3  # WAVE_FORMAT_IEEE_FLOAT
_BUFFER = 1 << 16  # bytes the file object gathers before it writes


def _header(sr: int) -> bytes:
    """RIFF/WAVE, a float32 mono ``fmt `` chunk, a ``fact`` chunk and the ``data`` chunk's
    header, every size zero until ``GrowingWav.flush`` writes it."""
    fmt = struct.pack("<HHIIHHH", _FMT_FLOAT, 1, sr, 4 * sr, 4, 32, 0)
    return (b"RIFF" + struct.pack("<I", 0) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<II", 4, 0) + b"data" + struct.pack("<I", 0))


_HEAD = len(_header(8000))
_RIFF_SIZE_AT = 4
_FACT_AT = _HEAD - 12  # the fact chunk's sample count
_DATA_SIZE_AT = _HEAD - 4


class GrowingWav:
    """A mono float32 WAV created new (never over another session's file): ``write`` blocks,
    ``flush`` to make what is written readable, ``close``."""

    def __init__(self, path: Path, sr: int) -> None:
        self.path = Path(path)
        self.sr = sr
        self.frames = 0
        self._f = open(self.path, "xb", buffering=_BUFFER)
        self._f.write(_header(sr))
        self._sized = -1  # frames the header says

    def write(self, x: np.ndarray) -> None:
        x = np.asarray(x, "<f4")
        self._f.write(memoryview(np.ascontiguousarray(x)).cast("B"))
        self.frames += len(x)

    def flush(self) -> None:
        """Everything written so far on disk, and the header saying so."""
        self._f.flush()
        if self._sized != self.frames:
            fd, payload = self._f.fileno(), 4 * self.frames
            os.pwrite(fd, struct.pack("<I", _HEAD - 8 + payload), _RIFF_SIZE_AT)
            os.pwrite(fd, struct.pack("<I", self.frames), _FACT_AT)
            os.pwrite(fd, struct.pack("<I", payload), _DATA_SIZE_AT)
            self._sized = self.frames

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self.flush()
        finally:
            self._f.close()
