"""The syllable table phrase matching reads: the same as pypinyin reading each character alone,
whether made now, read from the user's cache, or remade from a broken cache; and a process
that finds it cached loads a rule pack without importing pypinyin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import json, sys
from phonecoach.judging import syllables
from phonecoach.judging.rulepack import load_pack
pack = load_pack()
table = syllables.table()
print(json.dumps({"pypinyin_imported": "pypinyin" in sys.modules, "n": len(table), "table": table}))
"""


def _probe(cache: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def pypinyin_alone() -> list[str]:
    """What pypinyin gives for each character on its own (the old per-character lookup)."""
    from pypinyin import Style, lazy_pinyin

    from phonecoach.judging.syllables import FIRST, LAST

    out = []
    for c in range(FIRST, LAST + 1):
        py = lazy_pinyin(chr(c), style=Style.NORMAL)[0]
        out.append("" if py == chr(c) else py)
    return out


def test_made_then_cached_the_table_is_pypinyins_and_later_processes_skip_its_import(tmp_path, pypinyin_alone):
    first = _probe(tmp_path)
    assert first["pypinyin_imported"]  # nothing cached yet: made from pypinyin
    assert first["table"] == pypinyin_alone
    files = list((tmp_path / "phonecoach").glob("syllables-*.txt"))
    assert len(files) == 1
    second = _probe(tmp_path)
    assert not second["pypinyin_imported"]
    assert second["table"] == pypinyin_alone
    assert pypinyin_alone[ord("与") - 0x3400] == "yu" and pypinyin_alone[ord("绿") - 0x3400] == "lv"


def test_a_broken_cache_is_made_again(tmp_path, pypinyin_alone):
    _probe(tmp_path)
    (cached,) = (tmp_path / "phonecoach").glob("syllables-*.txt")
    cached.write_text("ni\nhao\n", encoding="utf-8")  # a table cut short (a full disk, a crash)
    again = _probe(tmp_path)
    assert again["table"] == pypinyin_alone
    assert cached.read_text(encoding="utf-8").count("\n") == len(pypinyin_alone) - 1


def test_without_a_writable_cache_it_is_made_in_memory(tmp_path, pypinyin_alone):
    (tmp_path / "phonecoach").write_text("a file where the cache folder would go", encoding="utf-8")
    got = _probe(tmp_path)
    assert got["table"] == pypinyin_alone
