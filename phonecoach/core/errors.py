"""One error type for everything a user can get wrong.

The CLI prints ``str(error)`` as a single line and exits non-zero, so every
message names the file (or setting) and the problem, and says what to do.
"""
from __future__ import annotations

from pathlib import Path


class PhonecoachError(Exception):
    """A problem with the user's input or setup, reported in one line."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)


class AudioError(PhonecoachError):
    """The audio file cannot be read or is not usable audio."""


class TranscriptError(PhonecoachError):
    """The transcript file is malformed."""


class RulePackError(PhonecoachError):
    """The rule file is broken; it is refused whole, never half-loaded."""


class ModelError(PhonecoachError):
    """The speech model is missing, broken or could not be downloaded."""
