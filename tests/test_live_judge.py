"""The incremental rule engine on realistic Chinese timelines (no recogniser needed:
the judge is fed finished and partial results the way the stream workers feed it)."""
import pytest

from phonecoach.core.timeline import Utterance, Word
from phonecoach.hearing.speech import Turn, TurnEvent
from phonecoach.live.judge import LiveJudge


@pytest.fixture
def live(pack):
    out = []
    judge = LiveJudge(pack, ["agent", "customer"], out.append)
    return judge, out


def said(judge, speaker, text, start, end):
    judge.on_final(Utterance(speaker, text, start, end), now=end + 0.5)


def test_forbidden_phrase_raised_from_partial_then_confirmed(live):
    judge, out = live
    judge.on_partial("agent", "这 事 于 我 无", 5.0, now=5.2)
    assert out == []
    judge.on_partial("agent", "这 事 于 我 无 关", 5.6, now=5.8)
    judge.on_partial("agent", "这 事 于 我 无 关 你", 5.9, now=6.0)  # raised once only
    words = [Word(c, 4.8 + 0.25 * i, 5.0 + 0.25 * i) for i, c in enumerate("这事于我无关你找别人")]
    judge.on_final(Utterance("agent", "这 事 于 我 无 关 你 找 别 人", 4.8, 7.0, tuple(words)), now=7.5)
    assert [(w.rule, w.status, w.kind) for w in out] == [("never.shift_blame", "raised", "phrase"),
                                                          ("never.shift_blame", "confirmed", "phrase")]
    assert out[0].t_audio == 5.6 and out[0].t_emit == 5.8
    confirmed = out[1]
    assert "于 我 无 关" in confirmed.evidence
    assert confirmed.t_audio == pytest.approx(6.25)  # end of 关, from the final word times
    assert confirmed.t_emit == 5.8 and confirmed.t_settled == 7.5


def test_partial_withdrawn_when_the_final_differs(live):
    judge, out = live
    judge.on_partial("agent", "我 不管", 3.0, now=3.1)
    said(judge, "agent", "我不管怎么样都会帮您查清楚", 2.5, 5.0)
    assert [(w.rule, w.status) for w in out] == [("never.shift_blame", "raised"), ("never.shift_blame", "withdrawn")]


def test_final_only_phrase_is_raised_once(live):
    judge, out = live
    said(judge, "agent", "我已经说过了，你听不懂吗", 10.0, 12.0)
    said(judge, "customer", "好吧", 12.5, 13.0)
    assert [w.rule for w in out] == ["never.impatient"]
    assert out[0].t_audio == 12.0 and out[0].kind == "text"


def test_opening_rules_when_the_window_closes(live):
    judge, out = live
    said(judge, "agent", "喂", 0.5, 1.0)
    assert out == []  # the window (2 utterances or 15 s) is still open
    judge.on_clock("agent", 16.0)
    judge.on_clock("customer", 16.0)
    assert {w.rule for w in out} == {"answer.greeting", "answer.name"}
    judge.on_clock("agent", 21.0)  # offer_help's window is 20 s
    assert "answer.offer_help" in {w.rule for w in out}


def test_hold_protocol_each_step_as_soon_as_decided(live):
    judge, out = live
    said(judge, "agent", "您好，我是小王，请问有什么可以帮您", 0.0, 3.0)
    said(judge, "customer", "查一下话费", 3.5, 5.0)
    said(judge, "agent", "稍等", 5.5, 6.0)
    # the request alone decides these two: no permission asked, no reason given
    assert {w.rule: w.t_audio for w in out} == {"hold.ask_permission": 6.0, "hold.give_reason": 6.0}
    said(judge, "agent", "您的话费是五十元", 20.0, 22.0)
    assert out[-1].rule == "hold.thank_after" and out[-1].t_audio == 22.0


def test_thanks_for_consent_waits_for_the_agent_to_move_on(live):
    judge, out = live
    said(judge, "agent", "请您稍等一下，我帮您查询，可以吗", 5.0, 7.0)
    said(judge, "customer", "好的", 7.5, 8.0)
    assert not [w for w in out if w.rule == "hold.thank_consent"]  # the agent may still say 谢谢
    said(judge, "agent", "感谢您的耐心等待，查到了", 25.0, 27.0)
    w = [w for w in out if w.rule == "hold.thank_consent"]
    assert len(w) == 1 and w[0].t_audio == 25.0


def test_pace_warning_from_finished_utterances(live):
    judge, out = live
    text = "您好这里是星辰电信客服中心我是八零二三号客服小王请问有什么可以帮您"  # 32 characters
    for i in range(3):
        said(judge, "agent", text, 10.0 * i, 10.0 * i + 4.0)  # 480 字/分
    assert [w.rule for w in out if w.rule == "voice.pace"] == ["voice.pace"]


def seg(judge, party, kind, start, end, now, level=-20.0):
    """The listener hears ``party``'s turn (still ``open``, or ``closed``) by audio time ``now``."""
    judge.on_turns([TurnEvent(party, kind, Turn(start, end, end - start, level), now)], heard=now)


def tick(judge, t, parties=("agent", "customer")):
    """The recognisers of ``parties`` and the listener have heard up to ``t``."""
    for p in parties:
        judge.on_clock(p, t)
    judge.on_turns([], heard=t)


def test_interruption_from_segments(live):
    judge, out = live
    seg(judge, "customer", "open", 10.0, 14.0, 14.0)
    seg(judge, "agent", "open", 12.0, 12.8, 12.8)
    assert not out  # 0.8 s of overlap so far
    seg(judge, "agent", "open", 12.0, 13.2, 13.2)
    assert [w.rule for w in out] == ["never.interrupt"]
    assert out[0].t_audio == pytest.approx(13.0)
    # the supervisor sees where the talk-over began, not only when it passed the limit
    assert out[0].start == pytest.approx(12.0) and "0:12.0" in out[0].evidence
    assert out[0].to_dict()["start"] == 12.0


def test_dead_air_and_hold_timers(live):
    judge, out = live
    seg(judge, "agent", "closed", 1.0, 3.0, 3.0)
    seg(judge, "customer", "closed", 3.5, 6.0, 6.0)
    for t in (7.0, 8.0, 9.1):
        tick(judge, t)
    assert [w.rule for w in out] == ["voice.response"] and out[0].t_audio == pytest.approx(9.0)
    assert out[0].start == pytest.approx(6.0)  # the silence began when the customer stopped
    for t in (12.0, 16.1):
        tick(judge, t)
    assert [w.rule for w in out][-2:] == ["hold.ask_permission", "hold.give_reason"]  # no request, no reason
    assert out[-1].t_audio == pytest.approx(16.0)
    assert out[-1].start == pytest.approx(6.0)  # the line went quiet at the customer's last word


def test_no_dead_air_warning_when_the_agent_asked_to_hold(live):
    judge, out = live
    said(judge, "agent", "请您稍等，我帮您查询一下，可以吗", 1.0, 3.0)
    seg(judge, "agent", "closed", 1.0, 3.0, 3.0)
    seg(judge, "customer", "closed", 3.5, 4.0, 4.0)
    for t in (6.0, 8.0):
        tick(judge, t)
    assert "voice.response" not in [w.rule for w in out]


def test_loud_segment(live):
    judge, out = live
    for i in range(3):
        seg(judge, "agent", "closed", 5.0 * i, 5.0 * i + 2.0, 5.0 * i + 2.0, level=-21.0)
    seg(judge, "agent", "open", 20.0, 20.6, 20.6, level=-10.5)
    assert [w.rule for w in out] == ["voice.volume"]


def test_message_rules_live_once_decided(live):
    judge, out = live
    said(judge, "agent", "您好，我是小陈，请问有什么可以帮您", 0.0, 2.0)
    said(judge, "customer", "你好，我找一下王经理", 2.5, 4.0)
    said(judge, "agent", "王经理出去了", 4.5, 5.5)
    assert "message.return_time" not in [w.rule for w in out]  # he may still say when
    said(judge, "customer", "哦", 6.0, 6.3)
    said(judge, "agent", "嗯", 6.5, 6.8)
    rules = [w.rule for w in out]
    assert "message.return_time" in rules and "message.record" not in rules
    assert "message.absent" not in rules  # said first that he is out


def test_a_hold_is_judged_on_one_clock_when_the_agents_worker_runs_ahead(live):
    """The agent's recogniser has already heard the hold end at 75 s while the listener is still
    at 5 s (a replay at full speed, or a loaded machine): the 70 s hold is still warned about,
    at its times, as the listener's clock gets there."""
    judge, out = live
    seg(judge, "agent", "closed", 1.0, 3.0, 3.0)
    seg(judge, "customer", "closed", 3.5, 5.0, 5.0)
    judge.on_clock("agent", 78.0)
    assert not [w for w in out if w.rule.startswith("hold.")]
    for t in range(6, 75):
        tick(judge, float(t), parties=("customer",))
    seg(judge, "agent", "open", 75.0, 75.6, 75.6)  # the agent, back after the hold
    rules = {w.rule: w for w in out}
    # the caller's 1.5 s reply (好的) is inside the hold: it began when the agent's words ended
    assert rules["hold.duration"].t_audio == pytest.approx(63.0) and rules["hold.duration"].start == pytest.approx(3.0)
    assert rules["hold.ask_permission"].t_audio == pytest.approx(15.0)
    assert judge.holds == [(3.0, 75.0)]


def test_dead_air_that_becomes_a_hold_is_taken_back(live):
    """The caller's short reply, then silence: dead air is warned at 3 s (nobody knows yet that a
    hold follows), and taken back once the silence is a hold, which the file report lists once,
    as a hold from the end of the agent's words."""
    judge, out = live
    seg(judge, "agent", "closed", 1.0, 3.0, 3.0)
    seg(judge, "customer", "closed", 3.5, 4.5, 4.5)
    for t in range(5, 16):
        tick(judge, float(t))
    dead = [(w.status, w.start) for w in out if w.rule == "voice.response"]
    assert dead == [("raised", 4.5), ("withdrawn", 4.5)]
    assert [w.start for w in out if w.rule == "hold.ask_permission"] == [pytest.approx(3.0)]
    seg(judge, "agent", "open", 20.0, 21.0, 21.0)
    assert judge.holds == [(3.0, 20.0)]


def test_dead_air_waits_for_the_agents_words_to_be_heard(live):
    """The listener hears the silence after the customer before the agent's recogniser has
    finished the utterance asking them to wait: no dead air is warned on a guess."""
    judge, out = live
    seg(judge, "agent", "closed", 1.0, 3.0, 3.0)
    seg(judge, "customer", "closed", 3.5, 4.0, 4.0)
    judge.on_turns([], heard=8.0)  # the agent's recogniser is still at 0 s
    assert "voice.response" not in [w.rule for w in out]
    said(judge, "agent", "请您稍等，我帮您查询一下，可以吗", 1.0, 3.0)
    tick(judge, 8.0)
    assert "voice.response" not in [w.rule for w in out]



def test_a_complaint_is_noticed_at_once_and_a_missing_apology_when_its_window_closes(live):
    judge, out = live
    said(judge, "agent", "您好，我是小王，请问有什么可以帮您", 0.0, 3.0)
    said(judge, "customer", "我的快递一个星期都没到，你们怎么回事啊", 4.0, 7.0)
    notice = [w for w in out if w.kind == "event"]
    assert [(w.rule, w.party, w.start, w.t_audio) for w in notice] == [("event.complaint", "customer", 4.0, 7.0)]
    assert "怎么回事" in notice[0].message and "怎么回事" in notice[0].evidence
    said(judge, "agent", "您的单号是多少", 7.5, 9.0)
    assert "complaint.apologise" not in [w.rule for w in out]  # one more turn to acknowledge it
    said(judge, "agent", "好的我看一下", 11.0, 12.0)
    apology = [w for w in out if w.rule == "complaint.apologise"]
    assert len(apology) == 1 and apology[0].t_audio == 12.0  # the window closed with the second turn
    assert [w.rule for w in out].count("event.complaint") == 1  # noticed once


def test_a_raised_voice_opens_a_complaint_without_a_complaint_word(live):
    judge, out = live
    said(judge, "agent", "您好，我是小王，请问有什么可以帮您", 0.0, 3.0)
    for i, (start, level) in enumerate([(4.0, -26.0), (12.0, -25.0), (20.0, -27.0), (28.0, -14.0)]):
        seg(judge, "customer", "closed", start, start + 3.0, start + 3.0, level=level)
        said(judge, "customer", ["我查一下快递", "单号是八八六七", "是昨天寄的", "那我的快递现在怎么样了"][i], start, start + 3.0)
        said(judge, "agent", "好的", start + 4.0, start + 5.0)
    notice = [w for w in out if w.kind == "event"]
    assert [(w.start, w.message) for w in notice] == [(28.0, "The caller is complaining (raised voice): acknowledge it now.")]
    said(judge, "agent", "您的单号我查到了", 34.0, 36.0)
    assert "complaint.apologise" in [w.rule for w in out]  # 好的, 您的单号我查到了: no apology
