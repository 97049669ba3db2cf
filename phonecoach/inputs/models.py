"""Finding and installing Vosk models.

Lookup order: ``--model PATH``, then ``$PHONECOACH_MODEL``, then
``models/<DEFAULT_MODEL>``. Downloads are pinned by size and sha256, verified
before anything is unpacked, and land in ``models/`` with one atomic rename, so
an interrupted or tampered download leaves nothing half-installed.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from ..core.errors import ModelError

DEFAULT_MODEL = "vosk-model-small-cn-0.22"
# Where the official archives are published; a mirror can stand in for it.
MODEL_BASE_URL = "https://alphacephei.com/vosk/models"
MIRROR_ENV = "PHONECOACH_MODEL_MIRROR"
MODEL_ENV = "PHONECOACH_MODEL"
MODELS_DIR_ENV = "PHONECOACH_MODELS_DIR"
# A model name is a plain folder name: never a path (../ would reach outside models/).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_DOWNLOAD_BYTES = 4 << 30  # an archive of unknown size may be at most this big
MAX_UNPACKED_BYTES = 16 << 30  # nor unpack to more than this (a zip bomb)
MIN_RATE = 8 * 1024  # bytes/s averaged after GRACE seconds: a mirror that drips is given up on
GRACE = 60.0


@dataclass(frozen=True)
class KnownModel:
    name: str
    size: int  # bytes of the zip
    sha256: str
    note: str


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in [
        KnownModel(DEFAULT_MODEL, 43_898_754,
                   "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
                   "Mandarin, small (42 MB): fast enough for live coaching"),
    ]
}


def models_dir() -> Path:
    """``$PHONECOACH_MODELS_DIR``; else, run from a source checkout, its ``models/`` folder;
    else the user's data folder (``~/.local/share/phonecoach/models`` on Linux): an installed
    phonecoach depends on no checkout, and one download serves every folder it runs in."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root / "models"
    import platformdirs

    return platformdirs.user_data_path("phonecoach", appauthor=False) / "models"


def get_help() -> str:
    return (f"run 'phonecoach models download' to install {DEFAULT_MODEL}, "
            f"or pass --model PATH / set {MODEL_ENV}")


def find_model(explicit: str | Path | None = None) -> Path:
    """The model folder to use, or ModelError saying how to get one."""
    if explicit:
        p = Path(explicit)
        if not p.is_dir():
            raise ModelError(f"model folder not found; {get_help()}", p)
        return p
    env = os.environ.get(MODEL_ENV)
    if env:
        p = Path(env)
        if not p.is_dir():
            raise ModelError(f"model folder from ${MODEL_ENV} not found; {get_help()}", p)
        return p
    p = models_dir() / DEFAULT_MODEL
    if not p.is_dir():
        raise ModelError(f"no speech model installed ({p} is missing); {get_help()}")
    return p


def installed_models() -> list[Path]:
    d = models_dir()
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and ((p / "am").is_dir() or (p / "conf").is_dir()))


def model_url(name: str) -> str:
    base = os.environ.get(MIRROR_ENV, MODEL_BASE_URL).rstrip("/")
    return f"{base}/{name}.zip"


def download_model(name: str = DEFAULT_MODEL, url: str | None = None, sha256: str | None = None,
                   dest_dir: Path | None = None,
                   progress: Callable[[int, int | None], None] | None = None,
                   force: bool = False) -> Path:
    """Download, verify and unpack a model; return its folder.

    A known name brings its pinned sha256 and size; any other archive needs
    ``url`` and ``sha256``. Nothing is left behind on failure.
    """
    if not _NAME.fullmatch(name) or ".." in name:
        raise ModelError(f"model name {name!r} must be a plain folder name (letters, digits, . _ -)")
    known = KNOWN_MODELS.get(name)
    if sha256 is None:
        if known is None:
            raise ModelError(f"unknown model '{name}': give --url and --sha256 "
                             f"(known: {', '.join(KNOWN_MODELS)})")
        sha256 = known.sha256
    expected_size = known.size if known and url is None else None
    url = url or model_url(name)
    dest_dir = dest_dir or models_dir()
    target = dest_dir / name
    if target.exists() and not force:
        return target
    dest_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest_dir))
    try:
        archive = work / "model.zip"
        digest = _fetch(url, archive, progress, expected_size or MAX_DOWNLOAD_BYTES)
        if expected_size is not None and archive.stat().st_size != expected_size:
            raise ModelError(f"download is {archive.stat().st_size} bytes, expected {expected_size}", url)
        if digest != sha256.lower():
            raise ModelError(f"sha256 mismatch: got {digest}, expected {sha256.lower()} "
                             "(corrupt or tampered download; nothing installed)", url)
        unpacked = _safe_unzip(archive, work / "unpacked", url)
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _fetch(url: str, out: Path, progress: Callable[[int, int | None], None] | None, limit: int) -> str:
    """Stream ``url`` into ``out``; return its sha256 hex digest. A mirror that sends more than
    ``limit`` bytes, or drips slower than ``MIN_RATE`` once ``GRACE`` seconds have passed, is
    given up on (nothing installed)."""
    h = hashlib.sha256()
    began = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(out, "wb") as f:
            total = resp.headers.get("Content-Length")
            total_n = int(total) if total and total.isdigit() else None
            if total_n is not None and total_n > limit:
                raise ModelError(f"the server offers {total_n} bytes, more than the {limit} expected; refused", url)
            got = 0
            while True:
                block = resp.read1(1 << 16)  # what has arrived: a dripping mirror is seen at once
                if not block:
                    break
                if got + len(block) > limit:
                    raise ModelError(f"the server sent more than the {limit} bytes expected; refused "
                                     "(nothing installed)", url)
                elapsed = time.monotonic() - began
                if elapsed > GRACE and got / elapsed < MIN_RATE:
                    raise ModelError(f"download too slow ({got / elapsed / 1024:.1f} KB/s after {elapsed:.0f} s); "
                                     "given up (nothing installed; try another mirror)", url)
                f.write(block)
                h.update(block)
                got += len(block)
                if progress:
                    progress(got, total_n)
            if total_n is not None and got < total_n:
                raise ModelError(f"connection closed after {got} of {total_n} bytes "
                                 "(nothing installed; try again)", url)
    except urllib.error.HTTPError as exc:
        raise ModelError(f"download failed: HTTP {exc.code} {exc.reason}", url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(f"download failed: {reason} (nothing installed; try again)", url) from None
    return h.hexdigest()


def _safe_unzip(archive: Path, out: Path, source: str) -> Path:
    """Unpack into ``out``, refusing entries that would land outside it.

    Returns the model folder: the archive's single top folder if it has one.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            if sum(i.file_size for i in zf.infolist()) > MAX_UNPACKED_BYTES:
                raise ModelError(f"archive would unpack to more than {MAX_UNPACKED_BYTES >> 30} GB; refused", source)
            for info in zf.infolist():
                pure = PurePosixPath(info.filename.replace("\\", "/"))
                if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
                    raise ModelError(f"archive entry '{info.filename}' would land outside "
                                     "the models folder; refused", source)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise ModelError(f"archive entry '{info.filename}' is a symlink; refused", source)
                if info.flag_bits & 0x1:
                    raise ModelError(f"archive entry '{info.filename}' is encrypted; refused (nothing installed)",
                                     source)
                if any(len(part.encode("utf-8")) > 255 for part in pure.parts):
                    raise ModelError(f"archive entry '{info.filename[:60]}…' has a name over 255 bytes; refused "
                                     "(nothing installed)", source)
            zf.extractall(out)
    except zipfile.BadZipFile:
        raise ModelError("download is not a valid zip archive", source) from None
    except (OSError, RuntimeError, NotImplementedError) as exc:  # a file and a folder of one name, a bad entry
        raise ModelError(f"the archive could not be unpacked ({type(exc).__name__}: {exc}); nothing installed",
                         source) from None
    entries = [p for p in out.iterdir() if not p.name.startswith("__MACOSX")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else out
