"""An ASR-noise simulator for Chinese call transcripts.

It does to clean text what recognisers do to real calls, so the judgement can be
measured on text that looks like their output:

- homophone substitution: a character replaced by a frequent character with the same
  tone-less pinyin (pypinyin for the sound, jieba's dictionary for how common a
  character is, so 或 stands in for 货 the way a language model would pick it);
- dropped function characters (的, 了, 一, 以, 吗 …);
- inserted fillers between words (嗯, 呃, 那个, 就是) and stutters (还有还有);
- punctuation dropped, words spaced the way Vosk spaces them, traditional characters;
- merged turns: a hold request and the agent's return in one utterance, a customer's
  short reply folded into the agent's next words.

The noise never touches the labels: a careful reader still reads the same call.
"""
from __future__ import annotations

import random
from functools import lru_cache

DROP = "的了一个以吗呢吧呀请这那就都也"  # not 是/在: 不是, 不在 would lose their meaning
NEGATIONS = "不没无别未"
DIGITS = "零一二三四五六七八九幺两"
FILLERS = ("嗯", "呃", "那个", "就是", "嗯嗯")
PUNCT = "，。？！、；：,.?!…"


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[tuple[str, int]]]:
    """Tone-less pinyin -> [(character, frequency)], most frequent first (jieba's dictionary)."""
    import logging

    import jieba
    from pypinyin import Style, lazy_pinyin

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    out: dict[str, list[tuple[str, int]]] = {}
    for word, freq in jieba.dt.FREQ.items():
        if len(word) == 1 and "\u4e00" <= word <= "\u9fff" and freq >= 200:
            py = lazy_pinyin(word, style=Style.NORMAL)[0]
            out.setdefault(py, []).append((word, freq))
    for chars in out.values():
        chars.sort(key=lambda x: -x[1])
    return out


def homophone(ch: str, rng: random.Random, rate: float) -> str:
    """With probability ``rate``, scaled by how common the rival is, a frequent character that
    sounds like ``ch``: a recogniser's language model swaps 货 for the commoner 或, hardly ever
    我 for 窝."""
    from pypinyin import Style, lazy_pinyin

    if not ("\u4e00" <= ch <= "\u9fff") or ch in DIGITS:
        return ch  # in a run of digits the language model keeps digits (八, not 巴)
    py = lazy_pinyin(ch, style=Style.NORMAL)[0]
    table = _homophones().get(py, [])
    own = next((f for c, f in table if c == ch), 200)
    others = [(c, f) for c, f in table[:8] if c != ch]
    if not others:
        return ch
    rival, freq = rng.choices(others, weights=[f for _, f in others])[0]
    return rival if rng.random() < rate * min(1.0, freq / own) else ch


def noise_text(text: str, rng: random.Random, homophone_rate: float = 0.12, drop_rate: float = 0.2,
               filler_rate: float = 0.3, stutter_rate: float = 0.15) -> str:
    """One utterance as a recogniser might write it (punctuation kept; see ``style``).

    Per word: at most one function character dropped (never from a negation such as 不在);
    fillers only at hesitation points (a clause start or before a content word, never before
    a sentence-final particle); stutters of short words."""
    import jieba

    words = list(jieba.cut(text, HMM=False))
    out: list[str] = []
    n = max(1, len(words))
    for k, w in enumerate(words):
        clause_start = k == 0 or words[k - 1] in PUNCT
        if k and (clause_start or len(w) >= 2) and rng.random() < filler_rate / n:
            out.append(rng.choice(FILLERS))
        chars, dropped = [], False
        for ch in w:
            if (not dropped and ch in DROP and not any(c in NEGATIONS for c in w)
                    and rng.random() < (drop_rate if len(w) > 1 else drop_rate / 2)):
                dropped = True
                continue  # 可以 -> 可, 您的 -> 您
            chars.append(homophone(ch, rng, homophone_rate))
        piece = "".join(chars)
        out.append(piece)
        if piece and len(piece) <= 2 and piece not in PUNCT and rng.random() < stutter_rate / n:
            out.append(piece)  # 还有还有
    return "".join(out)


def style(text: str, rng: random.Random, vosk_like: bool, traditional: bool) -> str:
    """Vosk writes no punctuation and spaces words; some systems write traditional characters."""
    if vosk_like:
        import jieba

        text = " ".join(w for w in jieba.cut("".join(c for c in text if c not in PUNCT), HMM=False) if w.strip())
    if traditional:
        text = _converter("s2t").convert(text)
    return text


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def noise_call(turns: list[list], rng: random.Random) -> list[list]:
    """A whole call: merged turns, then noise and one output style for the call.

    ``turns``: [speaker, text, tag] where tag marks what may be merged ("hold_request",
    "hold_back", "short_reply")."""
    merged: list[list] = []
    merge_hold = rng.random() < 0.35
    fold_reply = rng.random() < 0.25
    for t in turns:
        speaker, text, tag = t
        if merged and merge_hold and tag == "hold_back" and merged[-1][2] == "hold_request":
            merged[-1] = [speaker, merged[-1][1] + " …… " + text, "merged"]
            continue
        if merged and fold_reply and tag == "after_reply" and merged[-1][2] == "short_reply" and len(merged) >= 2:
            reply = merged.pop()
            merged[-1] = [merged[-1][0], merged[-1][1], merged[-1][2]]
            text = reply[1] + " " + text  # the customer's 好的 heard as the start of the agent's turn
        merged.append([speaker, text, tag])
    vosk_like, traditional = rng.random() < 0.5, rng.random() < 0.15
    return [[s, style(noise_text(x, rng), rng, vosk_like, traditional), tag] for s, x, tag in merged]
