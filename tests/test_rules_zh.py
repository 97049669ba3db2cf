"""Each rule of the zh-CN pack, kept and broken, on realistic call transcripts.

The phrasings are natural ones a Mandarin agent says, several of them not
copied from the rule pack, some in ASR form (spaces between characters,
homophones, traditional characters).
"""
import pytest

from phonecoach.core.timeline import Timeline, Utterance
from phonecoach.judging.engine import judge


def score(pack, turns, ring_seconds=None, separated=True):
    tl = Timeline([Utterance("agent" if s == "A" else "customer" if s == "C" else "unknown", t) for s, t in turns],
                  speakers_separated=separated, ring_seconds=ring_seconds)
    rep = judge(pack, tl, "test")
    return {r.rule.id: r for r in rep.results}, rep


GOOD_OPEN = ("A", "您好，欢迎致电顺达快递，我是客服小陈，请问有什么可以帮您？")
GOOD_CLOSE = [("A", "好的，跟您确认一下，快递明天上午重新派送，请问还有其他问题吗？"),
              ("C", "没有了"), ("A", "感谢您的来电，祝您愉快，再见")]


def status(pack, turns, rule, **kw):
    return score(pack, turns, **kw)[0][rule].status


# --- answering ----------------------------------------------------------------------

@pytest.mark.parametrize("opening,expected", [
    ("您好，顺达快递，很高兴为您服务", "pass"),
    ("下午好，这里是顺达快递客服", "pass"),
    ("你 好 顺 达 快 递", "pass"),            # ASR spacing
    ("喂，顺达快递，说吧", "fail"),
    ("顺达快递，请讲", "fail"),
])
def test_answer_greeting(pack, opening, expected):
    assert status(pack, [("A", opening), ("C", "我的快递没到")], "answer.greeting") == expected


@pytest.mark.parametrize("opening,expected", [
    ("您好，我是客服小陈，请问有什么可以帮您", "pass"),
    ("您好，工号 8 0 2 3 为您服务", "pass"),
    ("您好，二零六号话务员很高兴为您服务", "pass"),
    ("您好，我叫李娜，请问您需要什么帮助", "pass"),
    ("您好，请问有什么可以帮您", "fail"),
    ("您好，顺达快递，请问您是想问快递吗", "fail"),
])
def test_answer_name(pack, opening, expected):
    assert status(pack, [("A", opening), ("C", "你好")], "answer.name") == expected


@pytest.mark.parametrize("opening,expected", [
    ("您好，我是小陈，请问有什么可以帮您？", "pass"),
    ("您好，我是小陈，很高兴为您服务", "pass"),
    ("您好，我是小陈，请问您需要办理什么业务", "pass"),
    ("您好，我是小陈", "fail"),
])
def test_answer_offer_help(pack, opening, expected):
    assert status(pack, [("A", opening), ("C", "你好"), ("A", "嗯")], "answer.offer_help") == expected


def test_answer_rings_from_metadata(pack):
    turns = [GOOD_OPEN, ("C", "你好")]
    assert status(pack, turns, "answer.rings", ring_seconds=12) == "pass"      # 3 rings
    assert status(pack, turns, "answer.rings", ring_seconds=21) == "fail"      # 5 rings
    assert status(pack, turns, "answer.rings") == "not_applicable"


def test_answer_apology_after_long_wait(pack):
    sorry = [("A", "您好，对不起让您久等了，我是小陈，请问有什么可以帮您"), ("C", "你好")]
    assert status(pack, sorry, "answer.apology_after_wait", ring_seconds=25) == "pass"
    assert status(pack, [GOOD_OPEN, ("C", "你好")], "answer.apology_after_wait", ring_seconds=25) == "fail"
    assert status(pack, [GOOD_OPEN, ("C", "你好")], "answer.apology_after_wait", ring_seconds=8) == "not_applicable"


# --- holding ----------------------------------------------------------------------

HOLD_GOOD = [GOOD_OPEN, ("C", "我想查一下我的订单"),
             ("A", "好的，麻烦您稍等一下，我帮您核实一下订单信息，好吗？"), ("C", "可以"), ("A", "好的，谢谢您"),
             ("A", "让您久等了，您的订单已经发出"), ("C", "好的")] + GOOD_CLOSE
HOLD_BAD = [GOOD_OPEN, ("C", "我想查一下我的订单"),
            ("A", "等一下。"), ("C", "哦"), ("A", "好"),
            ("A", "您的订单已经发出了"), ("C", "好的")] + GOOD_CLOSE


@pytest.mark.parametrize("rule", ["hold.ask_permission", "hold.give_reason", "hold.thank_consent",
                                  "hold.thank_after"])
def test_hold_protocol_kept_and_broken(pack, rule):
    assert status(pack, HOLD_GOOD, rule) == "pass"
    expected = "not_applicable" if rule == "hold.thank_consent" else "fail"  # 哦 is not a consent
    assert status(pack, HOLD_BAD, rule) == expected


def test_hold_thank_consent_fails_when_agent_does_not_thank(pack):
    turns = [GOOD_OPEN, ("A", "请您稍候片刻，我帮您查询一下好吗"), ("C", "行"),
             ("A", "感谢您的耐心等待，查到了")] + GOOD_CLOSE
    assert status(pack, turns, "hold.thank_consent") == "fail"


def test_no_hold_means_hold_rules_not_applicable(pack):
    results, _ = score(pack, [GOOD_OPEN, ("C", "谢谢")] + GOOD_CLOSE)
    assert {results[r].status for r in results if r.startswith("hold.")} == {"not_applicable"}


def test_every_hold_is_judged(pack):
    turns = HOLD_GOOD[:6] + [("A", "再请您稍等一下，可以吗"), ("C", "好"), ("A", "您的快递明天到")] + GOOD_CLOSE
    r = score(pack, turns)[0]["hold.thank_after"]
    assert r.status == "fail" and "1 of 2 holds" in r.detail


def test_welcome_back_is_not_a_new_hold(pack):
    # 让您久等了 contains 等 but is the return from the hold, not a request
    results, rep = score(pack, HOLD_GOOD)
    assert results["hold.ask_permission"].detail == "1 hold"


# --- transferring ----------------------------------------------------------------------

def test_transfer_explained_and_agreed(pack):
    turns = [GOOD_OPEN, ("C", "我要开发票"),
             ("A", "开发票由财务部的刘专员负责，她的分机是 8 0 2 1，我帮您转接过去，您看可以吗？"),
             ("C", "可以，谢谢")]
    results, _ = score(pack, turns)
    assert results["transfer.explain"].status == "pass"
    assert results["transfer.consent"].status == "pass"


def test_transfer_without_reason_or_consent(pack):
    turns = [GOOD_OPEN, ("C", "我要开发票"), ("A", "我给你转到别处"), ("C", "啊？")]
    results, _ = score(pack, turns)
    assert results["transfer.explain"].status == "fail"
    assert results["transfer.consent"].status == "fail"


def test_transfer_fallback_number(pack):
    ok = [GOOD_OPEN, ("A", "抱歉，财务部占线，您可以直接拨打 4 0 0 8 1 2 3 4 5 6，请您记一下")]
    bad = [GOOD_OPEN, ("A", "抱歉，财务部占线，您晚点再打吧")]
    assert status(pack, ok, "transfer.fallback") == "pass"
    assert status(pack, bad, "transfer.fallback") == "fail"


# --- closing ----------------------------------------------------------------------

@pytest.mark.parametrize("rule,closing_ok,closing_bad", [
    ("close.confirm", "我再跟您核对一下，明天上午十点前送到，对吗", "嗯，明天送到"),
    ("close.anything_else", "请问您还有别的需要吗", "那就这样吧"),
    ("close.anything_else", "还 能 为 您 做 点 什 么 吗", "那就这样吧"),  # ASR spacing
    ("close.thanks", "谢谢您的来电，再见", "好，再见"),
    ("close.thanks", "感謝您的來電，再見", "好，再見"),                   # traditional
])
def test_closing_rules(pack, rule, closing_ok, closing_bad):
    body = [GOOD_OPEN, ("C", "我的快递没到"), ("A", "我查到了，明天送到")]
    assert status(pack, body + [("A", closing_ok)], rule) == "pass"
    assert status(pack, body + [("A", closing_bad)], rule) == "fail"


# --- never -----------------------------------------------------------------------

@pytest.mark.parametrize("said", [
    "这事与我无关，你去问物流",
    "这 事 于 我 无 关",                  # ASR homophone and spacing
    "这个我不管",
    "这不归我管，你找别人去吧",
    "丢件跟我没关系",
])
def test_shift_blame_flagged(pack, said):
    r = score(pack, [GOOD_OPEN, ("C", "我的快递丢了"), ("A", said)])[0]["never.shift_blame"]
    assert r.status == "fail" and r.occurrences


@pytest.mark.parametrize("said", [
    "您放心，我不会不管您的",
    "不管怎样，我都会帮您查清楚",
    "这个问题我来负责跟进",
])
def test_reassurance_not_flagged_as_shift_blame(pack, said):
    assert status(pack, [GOOD_OPEN, ("C", "我的快递丢了"), ("A", said)], "never.shift_blame") == "pass"


def test_customer_words_do_not_count_against_agent(pack):
    turns = [GOOD_OPEN, ("C", "我不管，你们必须赔"), ("A", "我理解您的心情，我来帮您处理")]
    assert status(pack, turns, "never.shift_blame") == "pass"


@pytest.mark.parametrize("rule,said", [
    ("never.rude", "你有病吧，打这么多次"),
    ("never.rude", "神经病"),
    ("never.impatient", "我都说过了，你到底要怎样"),
    ("never.impatient", "你 听 不 懂 吗"),
])
def test_rude_and_impatient(pack, rule, said):
    assert status(pack, [GOOD_OPEN, ("C", "怎么还没到"), ("A", said)], rule) == "fail"
    assert status(pack, [GOOD_OPEN, ("C", "怎么还没到"), ("A", "非常抱歉，我马上帮您催一下")], rule) == "pass"


def test_rude_lexicon_does_not_flag_ordinary_words(pack):
    turns = [GOOD_OPEN, ("A", "页面往下滚动就能看到，您的存款已经到账"), ("A", "短信已经发送")]
    assert status(pack, turns, "never.rude") == "pass"


# --- voice (text side) -------------------------------------------------------------------

def test_polite_language(pack):
    polite = [GOOD_OPEN, ("A", "麻烦您提供一下单号"), ("A", "谢谢，请稍候")]
    curt = [("A", "喂"), ("A", "单号"), ("A", "查到了"), ("A", "明天到")]
    assert status(pack, polite, "voice.polite") == "pass"
    assert status(pack, curt, "voice.polite") == "fail"


@pytest.mark.parametrize("said,expected", [
    ("不行，这个退不了", "fail"),
    ("没办法", "fail"),
    ("很抱歉，这个暂时不行，建议您先申请售后", "pass"),
    ("非常理解您，不过七天以后确实没办法退", "pass"),
    ("我帮您看看有没有办法", "not_applicable"),
])
def test_say_no_gently(pack, said, expected):
    assert status(pack, [GOOD_OPEN, ("C", "能退吗"), ("A", said)], "voice.say_no_gently") == expected


# --- mono ------------------------------------------------------------------------------

def test_mono_marks_two_party_rules_not_applicable(pack):
    results, rep = score(pack, [("U", t) for _, t in HOLD_GOOD], separated=False)
    assert results["hold.thank_consent"].status == "not_applicable"
    assert "mono" in results["hold.thank_consent"].detail
    assert results["answer.greeting"].status == "pass"
    assert any("mono" in n for n in rep.all_notes)


def test_score_is_weighted_share_of_judged_rules(pack):
    results, rep = score(pack, HOLD_GOOD)
    judged = [r for r in results.values() if r.status != "not_applicable"]
    kept = sum(r.rule.weight for r in judged if r.status == "pass")
    assert rep.score == round(100 * kept / sum(r.rule.weight for r in judged), 1)
    assert score(pack, HOLD_GOOD)[1].score > score(pack, HOLD_BAD)[1].score


# --- rules on the acoustic measures ---------------------------------------------------------

def judge_measures(pack, **values):
    from phonecoach.hearing.measures import Measures

    m = Measures(duration=60.0, stereo=True, **values)
    tl = Timeline([Utterance("agent", "您好，我是小陈，请问有什么可以帮您", 0.0, 3.0)])
    return {r.rule.id: r for r in judge(pack, tl, "t", measures=m).results}


@pytest.mark.parametrize("cpm,expected", [(90.0, "fail"), (150.0, "pass"), (260.0, "fail")])
def test_voice_pace_band(pack, cpm, expected):
    r = judge_measures(pack, agent_pace_cpm=cpm)["voice.pace"]
    assert r.status == expected and f"{cpm:.1f}" in r.detail


def test_voice_volume_ceiling_and_sharp_rise(pack):
    calm = [(0.0, 2.0, -20.0), (5.0, 7.0, -21.0), (9.0, 11.0, -19.5)]
    rise = calm + [(20.0, 22.0, -9.5)]
    assert judge_measures(pack, agent_volume_dbfs=-20.0, agent_utterance_levels=calm)["voice.volume"].status == "pass"
    r = judge_measures(pack, agent_volume_dbfs=-20.0, agent_utterance_levels=rise)["voice.volume"]
    assert r.status == "fail" and r.occurrences[0].start == 20.0


def test_holds_longer_than_a_minute(pack):
    assert judge_measures(pack, holds=[(10.0, 40.0)])["hold.duration"].status == "pass"
    r = judge_measures(pack, holds=[(10.0, 40.0), (50.0, 125.0)])["hold.duration"]
    assert r.status == "fail" and r.occurrences[0].start == 50.0


def test_interruptions_dead_air_and_hangup(pack):
    r = judge_measures(pack, interruptions=[(12.0, 13.5)], dead_air=[], hangup_first="agent",
                       hangup_after_last_words=0.2)
    assert r["never.interrupt"].status == "fail" and r["never.interrupt"].occurrences[0].start == 12.0
    assert r["voice.response"].status == "pass"
    assert r["close.customer_hangs_up_first"].status == "fail"


def test_acoustic_rules_not_applicable_without_audio(pack):
    results, _ = score(pack, [GOOD_OPEN, ("C", "好")])
    for rid in ("never.interrupt", "voice.volume", "voice.smile", "voice.response", "hold.duration",
                "close.customer_hangs_up_first", "never.eating_noise"):
        assert results[rid].status == "not_applicable", rid
