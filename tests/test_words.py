"""Word boundaries (judging/words.py): jieba's own cut, from a table kept in the user's cache."""
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from phonecoach.judging.words import boundaries

from .conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
SAID = ["您好我是客服小王请问有什么可以帮您", "这个问题与我无关您找别的部门", "请您稍等我帮您查询一下订单状态",
        "还有什么可以为您效劳的吗感谢您的来电", "您的订单号是A12B3，退款5000元", "深井病毒 这审精病人\r\n好的"]


def jiebas(text: str) -> frozenset[int]:
    import jieba

    return frozenset({0, *itertools.accumulate(len(w) for w in jieba.cut(text, HMM=False))})


def corpus() -> list[str]:
    """Every line of the rule packs and the samples' transcripts, and random sentences of the
    dictionary's words mixed with common characters, letters, digits, punctuation and spaces."""
    import jieba

    texts = list(SAID)
    for path in sorted((ROOT / "rules").glob("*.toml")):
        texts += path.read_text(encoding="utf-8").splitlines()
    for path in sorted(SAMPLES.glob("*.transcript.json")):
        texts += [u.get("text", "") for u in json.loads(path.read_text(encoding="utf-8")).get("utterances", [])]
    words = [line.split(" ")[0] for line in (Path(jieba.__file__).parent / "dict.txt").read_text("utf-8").splitlines()]
    rng = random.Random(19)
    others = list("的了是我不在人有这个上们来到您好吗 aZ09，。！？、\t\n-+%#&._")
    for _ in range(1500):
        texts.append("".join(rng.choice(words) if rng.random() < 0.7 else rng.choice(others)
                             for _ in range(rng.randint(1, 16))))
    return texts


def test_boundaries_are_jiebas_cut_on_rules_samples_and_random_sentences():
    texts = corpus()
    assert len(texts) > 1600
    differ = [t for t in texts if boundaries(t) != jiebas(t)]
    assert differ == []


def run(code: str, cache: Path) -> str:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    out = subprocess.run([sys.executable, "-c", code, *SAID], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


OURS = ("import json, sys; from phonecoach.judging.textmatch import word_boundaries\n"
        "got = [sorted(word_boundaries(s)) for s in sys.argv[1:]]\n"
        "print(json.dumps({'got': got, 'jieba imported': 'jieba' in sys.modules}))")


@pytest.mark.parametrize("cache", ["missing", "kept", "broken", "unwritable"])
def test_the_word_table_is_made_once_kept_and_remade_and_jieba_never_loaded(tmp_path, cache):
    """The first process makes the table in the user's cache, later ones read it; a broken file
    is made again, an unwritable cache gives an in-memory table; jieba itself is never
    imported (its import and dictionary cost 0.7 s in every process)."""
    expected = [sorted(jiebas(s)) for s in SAID]
    home = tmp_path / "cache #1 ?%20 ü"  # what a home folder's name may hold
    if cache == "unwritable":
        home.write_text("a file where the cache folder would be")
    elif cache != "missing":
        json.loads(run(OURS, home))
        table = next((home / "phonecoach").glob("words-*.sqlite"))
        if cache == "broken":
            table.write_bytes(b"not a database" * 100)
        stamp = table.stat().st_mtime_ns
    out = json.loads(run(OURS, home))
    assert out == {"got": expected, "jieba imported": False}
    tables = list((home / "phonecoach").glob("words-*.sqlite")) if home.is_dir() else []
    if cache == "unwritable":
        assert tables == []
    else:
        assert len(tables) == 1 and tables[0].stat().st_size > 1_000_000
        if cache == "kept":
            assert tables[0].stat().st_mtime_ns == stamp  # read, not made again
