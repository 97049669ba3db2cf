"""Phrase matching must survive what ASR and transcribers do to Chinese text."""
import pytest

from phonecoach.textmatch import compile_phrase, find, find_any, normalize, search_pattern


@pytest.mark.parametrize("text", [
    "这事与我无关",          # as written
    "这 事 与 我 无 关",      # Vosk puts spaces between words/characters
    "这事于我无关",          # homophone the recogniser picked
    "这事與我無關",          # traditional characters
    "这事，嗯，与我无关。",   # filler and punctuation
])
def test_forbidden_phrase_found_through_asr_variants(text):
    m = find(text, "与我无关")
    assert m is not None
    assert "无" in m.evidence or "無" in m.evidence


def test_evidence_is_the_original_text():
    m = find("好的 这 事 于 我 无 关 啊", "与我无关")
    assert m.evidence == "于 我 无 关"


def test_reassurance_is_not_a_forbidden_phrase():
    assert find("您放心，我不会不管您的", "我不管") is None
    assert find_any("我不管怎么样都会帮您处理好", ["我不管"], ["不管怎么样"]) is None
    assert find_any("这个我不管，你找别人", ["我不管"], ["不管怎么样"]) is not None


def test_gap_phrase_needs_parts_in_order_and_close():
    assert find("请您稍等一下，我帮您查询，可以吗", "稍等…可以吗")
    assert find("可以吗？请您稍等", "稍等…可以吗") is None
    far = "请您稍等" + "我" * 40 + "可以吗"
    assert find(far, "稍等…可以吗") is None


def test_single_character_phrases_match_the_character_not_the_sound():
    # 行 (xing) must not match 信/新/心, which share its syllable
    assert find("行", "行") and find("好，行。", "行")
    assert find("我收到短信了", "行") is None


def test_accent_merges_retroflex_and_nasal_finals():
    # zh/z, sh/s, -ing/-in: what southern accents and ASR mix up
    assert find("请您稍等", "请您稍等")
    assert normalize("是").syllables == normalize("四").syllables
    assert normalize("经").syllables == normalize("金").syllables


def test_digits_match_chinese_numerals():
    assert search_pattern("工号8023为您服务", "工号[零一二三四五六七八九]+").evidence == "工号8023"
    assert find("我是八零二三号", "八零二三")
    assert find("我是8023号", "八零二三")


def test_phrase_without_characters_is_rejected():
    with pytest.raises(ValueError):
        compile_phrase("，。 ")
