"""The zh-CN pack on recognised speech: tolerant where ASR errs, strict where homophones
mislead, hold steps in order inside merged turns, message-taking rules, honest reasons."""
import pytest

from phonecoach.core.timeline import Timeline, Utterance
from phonecoach.hearing.measures import Measures
from phonecoach.judging.engine import judge

OPEN = ("A", "您好，我是客服小陈，请问有什么可以帮您？")


def results(pack, turns, separated=True, measures=None):
    tl = Timeline([Utterance({"A": "agent", "C": "customer"}.get(s, "unknown"), t) for s, t in turns],
                  speakers_separated=separated)
    return {r.rule.id: r for r in judge(pack, tl, "test", measures=measures).results}


def status(pack, turns, rule, **kw):
    return results(pack, turns, **kw)[rule].status


# 1. homophones must not make a false pass ---------------------------------------------------

def test_a_greeting_is_not_a_staff_number(pack):
    # 号 (staff number) and 好 (hello) are both hao
    assert status(pack, [("A", "您好，很高兴为您服务"), ("C", "你好")], "answer.name") == "fail"
    assert status(pack, [("A", "您好客服中心，请问有什么可以帮您"), ("C", "你好")], "answer.name") == "fail"
    assert status(pack, [("A", "您好，八零二三号很高兴为您服务"), ("C", "你好")], "answer.name") == "pass"
    assert status(pack, [("A", "您好，工号 8 0 2 3 为您服务"), ("C", "你好")], "answer.name") == "pass"


@pytest.mark.parametrize("said", ["本单已完成，请您注意查收", "您可以把钱先存，或者直接转账", "页面往下滚动就能看到"])
def test_sound_alike_words_are_not_insults(pack, said):
    assert status(pack, [OPEN, ("C", "嗯"), ("A", said)], "never.rude") == "pass"


# 2. dropped and inserted characters ------------------------------------------------------------

@pytest.mark.parametrize("said,rule", [
    ("您好，我是小陈，有什么可帮您", "answer.offer_help"),
    ("请 问 您 还 有 还 有 别 的 问 题 吗", "close.anything_else"),
    ("感谢您的那个来电，再见", "close.thanks"),
])
def test_asr_slips_still_keep_the_rule(pack, said, rule):
    turns = [("A", said), ("C", "没有了")] if rule != "answer.offer_help" else [("A", said), ("C", "你好")]
    assert status(pack, turns, rule) == "pass"


@pytest.mark.parametrize("said", ["这个与我们无关", "这个不归我们管，你去找别人", "这事于 我 无 关", "这个不关我们的事"])
def test_forbidden_variants_as_recognisers_write_them(pack, said):
    r = results(pack, [OPEN, ("C", "快递丢了"), ("A", said)])["never.shift_blame"]
    assert r.status == "fail"
    occ = r.occurrences[0]
    assert occ.phrase and occ.text == said and occ.text[occ.span[0]:occ.span[1]] == occ.evidence


def test_no_false_alarm_in_reassurance_or_in_the_customers_words(pack):
    for said in ("您放心，我不会不管您的", "不管怎样我都会帮您处理", "这不是您的问题，是系统的问题"):
        assert status(pack, [OPEN, ("C", "嗯"), ("A", said)], "never.shift_blame") == "pass", said
    assert status(pack, [OPEN, ("C", "这事与我无关，我没下过单"), ("A", "好的，我帮您查")],
                  "never.shift_blame") == "pass"


# 3. paraphrases ---------------------------------------------------------------------------------

@pytest.mark.parametrize("said", ["还有没有别的要办的", "还有别的事情需要我帮忙吗", "您看还有其他需要吗",
                                  "请问您还需要其它帮助吗",
                                  # paraphrases seen in real recognised calls (issue 21)
                                  "还有什么其他能够帮到您的吗", "您看还有哪些地方需要我帮忙的",
                                  "您还有其他我能帮您的吗",
                                  "请问还有什么别的我可以为您效劳的吗"])
def test_anything_else_said_many_ways(pack, said):
    assert status(pack, [OPEN, ("C", "改地址"), ("A", "已经帮您改好了，" + said), ("C", "没有了"),
                         ("A", "感谢您的来电，再见")], "close.anything_else") == "pass"


def test_an_opening_offer_is_not_the_closing_question(pack):
    # 请问有什么可以帮您 (opening) differs from 还有什么可以帮您 (closing) by one character
    assert status(pack, [("A", "您好，请问有什么可以帮您"), ("C", "我要退货"), ("A", "好的，再见")],
                  "close.anything_else") == "fail"


# 4. merged turns ------------------------------------------------------------------------------------

def test_hold_request_and_return_merged_into_one_utterance(pack):
    merged = "请您稍等，我帮您查一下，可以吗 …… 感谢您的耐心等待，查到了，明天送到"
    r = results(pack, [OPEN, ("C", "快递到哪了"), ("A", merged), ("C", "好的")])
    assert r["hold.ask_permission"].status == "pass"
    assert r["hold.give_reason"].status == "pass"
    assert r["hold.thank_after"].status == "pass"
    assert r["hold.thank_after"].occurrences[0].evidence == "感谢您的耐心等待"


def test_merged_turn_steps_are_judged_in_order(pack):
    # thanks said before the wait does not thank for the wait; the return has none
    r = results(pack, [OPEN, ("C", "快递到哪了"), ("A", "让您久等了，请您稍等，我查一下可以吗 …… 查到了，明天送到")])
    assert r["hold.thank_after"].status == "fail"
    # the permission question after the return does not ask for the hold before it
    r = results(pack, [OPEN, ("C", "快递到哪了"), ("A", "您等一下，我查一下 …… 感谢您的耐心等待，查到了，这样可以吗")])
    assert r["hold.ask_permission"].status == "fail"
    assert r["hold.thank_after"].status == "pass"


# 5. not applicable versus fail, with a true reason ------------------------------------------------------

def test_no_hold_no_transfer_is_not_applicable(pack):
    r = results(pack, [OPEN, ("C", "改地址"), ("A", "好的已经帮您改好了，感谢您的来电")])
    for rule in ("hold.ask_permission", "hold.thank_after", "transfer.explain", "message.absent"):
        assert r[rule].status == "not_applicable", rule


def test_a_false_trigger_makes_nothing_fail(pack):
    # 钱已经转出去了 is no colleague out; 您的快递已经转到了派送站 is no transfer of the call
    r = results(pack, [OPEN, ("C", "退款呢"), ("A", "钱已经转出去了，快递也已经转告派送站了")])
    assert r["message.absent"].status == "not_applicable"
    assert r["transfer.explain"].status == "not_applicable"


def test_without_words_the_reason_says_so(pack):
    # live without a speech model: a hold was measured, but nothing said can be judged
    m = Measures(holds=[(20.0, 45.0)])
    r = results(pack, [], measures=m)
    for rule in ("hold.ask_permission", "hold.thank_after", "never.rude", "answer.greeting"):
        assert r[rule].status == "not_applicable"
        assert "no words" in r[rule].detail and "no hold" not in r[rule].detail


# message-taking rules (phone rules section 4) -------------------------------------------------------

MESSAGE_GOOD = [
    OPEN, ("C", "你好，我找一下王经理"),
    ("A", "不好意思，王经理出去了，大概下午三点回来，有什么事我可以先帮您吗"),
    ("C", "那请他给我回个电话，我姓李，电话13812345678"),
    ("A", "好的，我记一下，李先生，电话13812345678，他回来我让他给您回电，对吗"), ("C", "对")]


def test_message_taken_well(pack):
    r = results(pack, MESSAGE_GOOD)
    for rule in ("message.absent", "message.return_time", "message.offer_help", "message.record"):
        assert r[rule].status == "pass", (rule, r[rule].detail)


def test_message_taken_badly(pack):
    turns = [OPEN, ("C", "你好，我找刘工"), ("A", "请问您是哪位"), ("C", "我是他朋友老赵"),
             ("A", "他现在不在座位上"), ("C", "那让他给我回个电话"), ("A", "好的，我会转告他的")]
    r = results(pack, turns)
    assert r["message.absent"].status == "fail"       # asked who was calling before saying he is out
    assert r["message.return_time"].status == "fail"
    assert r["message.offer_help"].status == "fail"
    assert r["message.record"].status == "fail"       # took it, read nothing back


def test_message_not_applicable(pack):
    declined = [OPEN, ("C", "请问李经理在不在"), ("A", "不好意思，李经理不在办公室，需要我帮您转告吗"),
                ("C", "不用了，我晚点再打")]
    r = results(pack, declined)
    assert r["message.record"].status == "not_applicable" and "no message" in r["message.record"].detail
    assert r["message.offer_help"].status == "pass"
    assert status(pack, [OPEN, ("C", "我的快递没到"), ("A", "我帮您查")], "message.absent") == "not_applicable"


# 5. what real recognised calls got wrong (issue 21) ------------------------------------------------

@pytest.mark.parametrize("said", ["已经帮您催了，快递员等一下会给您打电话", "退款稍候会原路退回到您的账户",
                                  "师傅等一会儿会联系您，请保持电话畅通", "您的工单已经提交，稍候会有专员跟您联系",
                                  "好的，稍后我给您回电话"])
def test_later_inside_an_explanation_is_not_a_hold(pack, said):
    turns = [OPEN, ("C", "我的快递三天没到"), ("A", said), ("C", "好的"), ("A", "感谢您的来电，再见")]
    assert status(pack, turns, "hold.ask_permission") == "not_applicable"
    # the same words asking the caller to wait are still a hold
    held = [OPEN, ("C", "我的快递三天没到"), ("A", "您等一下，我查一下"), ("C", "好"), ("A", "查到了，明天送")]
    assert status(pack, held, "hold.ask_permission") == "fail"


@pytest.mark.parametrize("asked, answer", [
    ("那我应该找谁啊", "这个您得找别的部门，是物业负责的，电话我给您"),
    ("你们管不了的话，我找别的部门行吗", "可以的，您找别的部门的话，财务部的电话是八零二一"),
])
def test_a_referral_the_caller_asked_for_is_not_shifting_blame(pack, asked, answer):
    assert status(pack, [OPEN, ("C", asked), ("A", answer)], "never.shift_blame") == "pass"
    # unasked, the same referral pushes the caller away
    assert status(pack, [OPEN, ("C", "能帮我查一下吗"), ("A", "这个你找别的部门吧")], "never.shift_blame") == "fail"
    # and the excuse is read as written: 给我回电话，我是… does not ask for a number
    assert status(pack, [OPEN, ("C", "让她给我回电话，我是小周，电话一三九"), ("A", "这个事情我不管")],
                  "never.shift_blame") == "fail"
