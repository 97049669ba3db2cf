"""Call metadata from a manifest: what the phone system knows and the recording may not show.

A CSV (UTF-8, header row) with a ``file`` column and any of ``ring_seconds`` and
``agent_channel`` (left/right); rows are matched to calls by file name. Call centres
export this from the ACD/PBX, where the recording often starts at pick-up.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PhonecoachError
from ..core.safeio import read_limited


@dataclass(frozen=True)
class CallMeta:
    ring_seconds: float | None = None
    agent_channel: str | None = None


def load_manifest(path: str | Path) -> dict[str, CallMeta]:
    """File name -> metadata. Raises PhonecoachError naming the line for bad rows."""
    p = Path(path)
    raw = read_limited(p, PhonecoachError, "a manifest")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PhonecoachError("manifest is not UTF-8 text", p) from None
    rows = csv.DictReader(text.splitlines())
    if not rows.fieldnames or "file" not in rows.fieldnames:
        raise PhonecoachError("manifest needs a header row with a 'file' column", p)
    out: dict[str, CallMeta] = {}
    for line, row in enumerate(rows, 2):
        ring, side = (row.get("ring_seconds") or "").strip(), (row.get("agent_channel") or "").strip().lower()
        try:
            seconds = float(ring) if ring else None
        except ValueError:
            raise PhonecoachError(f"line {line}: ring_seconds {ring!r} is not a number", p) from None
        if (seconds is not None and not (0 <= seconds < float("inf"))) or side not in ("", "left", "right"):
            raise PhonecoachError(f"line {line}: ring_seconds must be a finite number >= 0 and agent_channel "
                                  "left or right", p)
        out[Path(row["file"].strip()).name] = CallMeta(seconds, side or None)
    return out
