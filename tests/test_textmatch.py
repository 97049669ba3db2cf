"""Phrase matching must survive what ASR and transcribers do to Chinese text."""
import pytest

from phonecoach.judging.textmatch import compile_phrase, find, find_any, normalize, search_pattern


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


# --- what real recognisers do, and the look-alikes that must not pass ------------------------

@pytest.mark.parametrize("text,phrase", [
    ("有什么可帮您", "有什么可以帮您"),            # dropped 以
    ("请稍等下", "请稍等一下"),                    # dropped 一
    ("感谢您耐心的等待", "感谢您的耐心等待"),        # 的 moved
    ("请问您还有还有别的问题吗", "还有别的问题"),    # stutter
    ("还有 那个 别的问题吗", "还有别的问题"),        # a filler word inside
    ("这个与我们无关", "与我无关"),                  # 我们 for 我
    ("你去找别人", "你找别人"),                      # an inserted 去
    ("这 事 于 我 无 关", "与我无关"),               # homophone, Vosk spacing
    ("这个不归我们管", "不归我管"),
])
def test_dropped_inserted_and_homophone_characters_still_match(text, phrase):
    assert find(text, phrase) is not None, (text, phrase)


@pytest.mark.parametrize("text,phrase", [
    ("本单已完成", "笨蛋"),                    # sounds like 笨蛋, shares no character
    ("您可以把钱先存，或者直接转账", "蠢货"),    # 存，或 ~ 蠢货 across a comma
    ("这事与我有关", "与我无关"),              # 有 for 无 turns it around
    ("这不是您的问题", "这不是我的问题"),        # pronouns are never swapped
    ("我不会不管您的", "我不管"),              # an inserted negation is never cheap
    ("这个归我管", "不归我管"),                # nor is a dropped one
    ("您可以在这里查", "您可以吗"),            # a short phrase keeps both ends
])
def test_look_alikes_are_refused(text, phrase):
    assert find(text, phrase) is None, (text, phrase)


def test_literal_marks_refuse_a_homophone():
    # 号 (staff number) and 好 (hello) are both hao: the greeting gives no staff number
    assert find("您好很高兴为您服务", "号很高兴为您服务") is not None  # unmarked: sound alone
    assert find("您好很高兴为您服务", "[号]很高兴为您服务") is None
    assert find("八零二三号很高兴为您服务", "[号]很高兴为您服务") is not None
    assert find("我教刘芳", "我[叫]") is None and find("我叫刘芳", "我[叫]") is not None
    with pytest.raises(ValueError):
        compile_phrase("[号很高兴")


def test_weak_homophone_match_must_sit_on_word_boundaries():
    # 深井病 shares one character of 神经病: it counts only where it stands as words of its own
    assert find("有个深井病了", "神经病") is not None
    assert find("深井病毒", "神经病") is None      # 病毒 is one word: the match would cut it
    assert find("这审精病人", "神经病") is None    # 病人 likewise
    assert find("这里售后不满意", "售后部") is None  # a negation never stands in for a sound-alike


def test_match_names_phrase_span_and_original_words():
    text = "好的，这个于 我们 无关，您找快递公司吧"
    m = find(text, "与我无关")
    assert m.phrase == "与我无关"
    assert text[m.span[0]:m.span[1]] == m.evidence == "于 我们 无关"
    assert m.cost > 0


def test_exceptions_match_as_written_and_every_time():
    # 不管是 without its 是 would excuse the very 我不管 it guards
    assert find_any("这个我不管", ["我不管"], ["不管是"]) is not None
    # reassurance twice, and a real refusal after it
    assert find_any("我不会不管您的，真的不会不管您的", ["我不管"], ["不会不管"]) is None
    assert find_any("我不会不管您的，但这个我不管", ["我不管"], ["不会不管"]) is not None
