"""Reading what users hand us without trusting it: bounded, regular files only, names and
text made safe to print.

Every reader of a user's file (transcript, rule pack, manifest, audio) goes through here,
so a folder, a FIFO, /dev/zero or a 10 GB "transcript" gets one clear line instead of a
traceback or a hang.
"""
from __future__ import annotations

import glob
import math
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import PhonecoachError

MAX_TEXT_BYTES = 64 * 1024 * 1024  # a transcript, manifest or rule pack larger than this is not one
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(path: str | Path) -> str:
    """A path as it can be printed: undecodable bytes of a non-UTF-8 file name as U+FFFD."""
    return os.fsencode(str(path)).decode("utf-8", "replace")


def printable(text: str) -> str:
    """Text from a transcript or a recogniser, safe for a terminal: control codes (ESC, BEL,
    bidi overrides…) shown as their escapes instead of being obeyed."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def check_regular(p: Path, error: type[PhonecoachError], what: str) -> None:
    """Refuse anything that is not a regular file we can read, in one line."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error("file not found", shown(p)) from None
    except OSError as exc:
        raise error(f"cannot read it: {exc.strerror}", shown(p)) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a folder, not {what}", shown(p))
    if not stat.S_ISREG(st.st_mode):
        raise error(f"is not a regular file (a device or pipe), not {what}", shown(p))


def read_limited(path: str | Path, error: type[PhonecoachError], what: str,
                 limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes."""
    p = Path(path)
    check_regular(p, error, what)
    try:
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read it: {exc.strerror}", shown(p)) from None
    if len(data) > limit:
        raise error(f"larger than {limit // (1024 * 1024)} MB: not {what}", shown(p))
    return data


def finite(value: object) -> bool:
    """A real number (not bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` to write, renamed into place if the block succeeds: a
    reader (a browser refreshing, a script, a BI tool) never sees half a file, and a crash or an
    error leaves the old one. Only a regular file is ever replaced: a device or pipe (``-o
    /dev/null``, ``/dev/stdout``) is written into, a symlink is followed to the file it names."""
    import tempfile

    try:
        mode = os.stat(path).st_mode  # through symlinks: what the path names
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise PhonecoachError(f"{path}: cannot write: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise PhonecoachError(f"{path}: is a folder; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        yield str(path)  # a device, pipe or terminal (/dev/null, /dev/stdout): written into, never replaced
        return
    path = Path(os.path.realpath(path))  # a symlink to a file: replace the file, keep the link
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; a report is as readable as any file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _clear_leftovers(path: Path) -> None:
    """Temporary files a killed writer of ``path`` left beside it (``.NAME.PID.xxxx.part``, the
    PID no longer running): removed before the next write, so a killed export does not leave
    its size behind on every run."""
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        pid = old.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # its writer is still at work
        except ProcessLookupError:
            pass
        except OSError:
            continue  # someone else's process: leave it
        try:
            old.unlink()
        except OSError:
            pass


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
