"""Build tests/data/judgement_set.jsonl: labelled calls, clean and ASR-noised.

Each call is put together from parts (opening, hold, transfer, message, a remark that is or
only looks like a forbidden phrase, refusal, closing); then complaint calls (the caller upset,
the agent's answer step by step) and calls of the kinds real recognised calls got wrong. Every
part is a natural agent or customer phrasing, written from ../shared/phrases-from-practice.md and everyday speech, not
copied from rules/zh-CN.toml, and carries the verdict a careful human reader gives each rule
it touches. A rule no part touches is "not_applicable" (hold, transfer, message, refusal) or
inherits the part's label. Then scripts/asrnoise.py writes each call as a recogniser might:
homophones, dropped function characters, fillers, stutters, merged turns, no punctuation,
Vosk spacing, traditional characters.

    .venv/bin/python scripts/make_judgement_set.py [OUT]    # rewrite the set (seeded: same output)
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from asrnoise import _converter, noise_call  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "judgement_set.jsonl"
N_CALLS = 240
N_COMPLAINT_CALLS = 120  # issue 21: an unhappy caller, and the agent's answer step by step
N_REAL_FIX_CALLS = 60  # issue 21: the kinds of wrong verdict seen on real recognised calls
N_ACT_CALLS = 180  # issue 37: complaints said flatly, handled or blamed in the agent's own words
SEED = 20261124

P, F, NA = "pass", "fail", "not_applicable"

# (turns, labels); a turn is (speaker, text) or (speaker, text, tag) for the merge simulator
OPENINGS = [
    ([("A", "您好，很高兴为您服务，我是八零二三号客服，请问有什么可以帮您？")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好！这里是顺达公司业务受理专线，我是二零六号服务专员，请问您有什么需要帮助的吗？")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好，客服中心，幺零七号为您服务，请问您需要什么帮助？")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好，电话已为您接通，我是小王，您请讲。")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "下午好，顺达客服，工号三三一五，请问您需要办理哪项业务？")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好，我叫刘芳，请问有什么能帮到您？")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好，新年好，我是客服小陈，很高兴为您服务。")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": P}),
    ([("A", "您好，很高兴为您服务，请问有什么可以帮您？")], {"answer.greeting": P, "answer.name": F, "answer.offer_help": P}),
    ([("A", "您好，顺达快递，请问您有什么事？")], {"answer.greeting": P, "answer.name": F, "answer.offer_help": P}),
    ([("A", "喂，说吧。")], {"answer.greeting": F, "answer.name": F, "answer.offer_help": F}),
    ([("A", "顺达客服，我是小李。")], {"answer.greeting": F, "answer.name": P, "answer.offer_help": F}),
    ([("A", "您好，顺达快递。")], {"answer.greeting": P, "answer.name": F, "answer.offer_help": F}),
    ([("A", "您好，我是客服小陈。")], {"answer.greeting": P, "answer.name": P, "answer.offer_help": F}),
    ([("A", "喂，哪位？")], {"answer.greeting": F, "answer.name": F, "answer.offer_help": F}),
]

ISSUES = [
    [("C", "你好，我的快递三天了还没到。")],
    [("C", "我想问一下我的话费怎么扣了这么多。")],
    [("C", "我上个月买的空调不制冷了。")],
    [("C", "你好，我要改一下收货地址。")],
]

HOLDS = [
    ([("A", "请您稍等一下，我帮您查询一下，可以吗？", "hold_request"), ("C", "好的。"), ("A", "谢谢您。"),
      ("A", "感谢您的耐心等待，您的快递明天上午送到。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": P, "hold.thank_after": P}),
    ([("A", "麻烦您稍候片刻，我帮您核实一下好吗？", "hold_request"), ("C", "可以。"), ("A", "好的，谢谢。"),
      ("A", "对不起，让您久等了，已经帮您核实清楚了。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": P, "hold.thank_after": P}),
    ([("A", "我这边帮您看一下系统记录，您稍等一下好不好？", "hold_request"), ("C", "行。"), ("A", "谢谢您。"),
      ("A", "感谢您耐心的等待，记录已经查到了。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": P, "hold.thank_after": P}),
    ([("A", "您等一下，我查一下。", "hold_request"), ("C", "好。"), ("A", "谢谢。"),
      ("A", "谢谢您的等待，查到了，是明天送。", "hold_back")],
     {"hold.ask_permission": F, "hold.give_reason": P, "hold.thank_consent": P, "hold.thank_after": P}),
    ([("A", "请您稍等一下可以吗？", "hold_request"), ("C", "可以。"), ("A", "谢谢您。"),
      ("A", "感谢您的耐心等待，是这样的。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": F, "hold.thank_consent": P, "hold.thank_after": P}),
    ([("A", "请您稍等，我帮您确认一下，可以吗？", "hold_request"), ("C", "可以。"),
      ("A", "让您久等了，确认好了。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": F, "hold.thank_after": P}),
    ([("A", "请您稍等，我帮您查一下，可以吗？", "hold_request"), ("C", "好的。"), ("A", "谢谢您。"),
      ("A", "您的快递明天到。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": P, "hold.thank_after": F}),
    ([("A", "请您稍等，我帮您查一下，可以吗？", "hold_request"),
      ("A", "感谢您的耐心等待，查到了，明天送到。", "hold_back")],
     {"hold.ask_permission": P, "hold.give_reason": P, "hold.thank_consent": NA, "hold.thank_after": P}),
    ([("A", "您等会儿啊。", "hold_request"),
      ("A", "查到了，明天送到。", "hold_back")],
     {"hold.ask_permission": F, "hold.give_reason": F, "hold.thank_consent": NA, "hold.thank_after": F}),
]

TRANSFERS = [
    ([("A", "这个问题由售后部的李经理负责，分机八零二一，我帮您转接过去，您看可以吗？"), ("C", "好的。")],
     {"transfer.explain": P, "transfer.consent": P}),
    ([("A", "退款要财务部门专门处理，我把电话转给财务的王老师，可以吗？"), ("C", "行，转吧。")],
     {"transfer.explain": P, "transfer.consent": P}),
    ([("A", "我给您转接一下，可以吗？"), ("C", "行。")], {"transfer.explain": F, "transfer.consent": P}),
    ([("A", "这个由财务部专门处理，我现在帮您转到财务部王老师。"), ("C", "啊？")],
     {"transfer.explain": P, "transfer.consent": F}),
    ([("A", "这个我给您转过去。"), ("C", "嗯？")], {"transfer.explain": F, "transfer.consent": F}),
]

FALLBACKS = [
    ([("A", "不好意思，转接没有成功，您可以直接拨打四零零八一二三四五六，请您记一下。")], {"transfer.fallback": P}),
    ([("A", "抱歉，那边占线，您记一下号码，零二一六六八八九九零零。")], {"transfer.fallback": P}),
    ([("A", "不好意思，转接失败了，您晚点再打吧。")], {"transfer.fallback": F}),
]

MESSAGES = [
    ([("C", "你好，我找一下王经理。"),
      ("A", "不好意思，王经理出去了，大概下午三点回来，有什么事我可以先帮您吗？"),
      ("C", "那请他给我回个电话吧，我姓李，电话一三八一二三四五六七八。"),
      ("A", "好的，我记一下，李先生，一三八一二三四五六七八，他回来我让他给您回电，对吗？"), ("C", "对。")],
     {"message.absent": P, "message.return_time": P, "message.offer_help": P, "message.record": P}),
    ([("C", "请问张老师在吗？"),
      ("A", "张老师今天出差了，明天上午才回来，您有什么事我可以帮您转告。"),
      ("C", "就说合同的事，让她给我回电话，我是小周，电话一三九八七六五四三二一。"),
      ("A", "好的，跟您确认一下，周先生，电话一三九八七六五四三二一，合同的事，我会转告张老师。")],
     {"message.absent": P, "message.return_time": P, "message.offer_help": P, "message.record": P}),
    ([("C", "你好，我找刘工。"), ("A", "请问您是哪位？"), ("C", "我是他朋友老赵。"),
      ("A", "哦，他现在不在座位上。"), ("C", "那算了，我晚点再打。")],
     {"message.absent": F, "message.return_time": F, "message.offer_help": F, "message.record": NA}),
    ([("C", "麻烦找一下陈主管。"), ("A", "陈主管在开会，大概一个小时以后结束。"), ("C", "那你让她回来给我回个电话。"),
      ("A", "好的，我会转告她的。")],
     {"message.absent": P, "message.return_time": P, "message.offer_help": F, "message.record": F}),
    ([("C", "请问李经理在不在？"), ("A", "不好意思，李经理不在办公室，需要我帮您转告吗？"), ("C", "不用了，谢谢。")],
     {"message.absent": P, "message.return_time": F, "message.offer_help": P, "message.record": NA}),
]

# remarks: (turn, labels) — forbidden phrases as agents say them, and look-alikes that are fine
REMARKS = [
    (("A", "这个与我无关，你找快递公司吧。"), {"never.shift_blame": F}),
    (("A", "这个跟我们没关系的。"), {"never.shift_blame": F}),
    (("A", "这个不归我们管，你去找别人吧。"), {"never.shift_blame": F}),
    (("A", "你问我我问谁啊？"), {"never.shift_blame": F}),
    (("A", "这不是我受理的，我不清楚。"), {"never.shift_blame": F}),
    (("A", "这个事情我不管。"), {"never.shift_blame": F}),
    (("A", "您放心，我不会不管您的。"), {"never.shift_blame": P}),
    (("A", "不管怎样，我都会帮您处理好。"), {"never.shift_blame": P}),
    (("A", "这不是您的问题，是系统出了点问题。"), {"never.shift_blame": P}),
    (("A", "这个订单跟我们有关系，我来帮您处理。"), {"never.shift_blame": P}),
    (("C", "这事与我无关，我没下过这个单！"), {"never.shift_blame": P}),
    (("A", "你有病吧，打了三次了。"), {"never.rude": F}),
    (("A", "你是不是有病啊？"), {"never.rude": F}),
    (("A", "要投诉你就去投诉吧，我还怕你？"), {"never.rude": F}),
    (("A", "关我屁事。"), {"never.rude": F}),
    (("A", "本单已完成，请您注意查收。"), {"never.rude": P}),
    (("A", "您可以把钱先存，或者直接转账。"), {"never.rude": P}),
    (("A", "页面往下滚动就能看到。"), {"never.rude": P}),
    (("C", "你们这些客服都是笨蛋！"), {"never.rude": P}),
    (("A", "我都说了多少遍了。"), {"never.impatient": F}),
    (("A", "你是不是听不懂啊？"), {"never.impatient": F}),
    (("A", "这个我已经讲过了。"), {"never.impatient": F}),
    (("A", "你到底想怎么样？"), {"never.impatient": F}),
    (("A", "你快点讲，我这边很忙。"), {"never.impatient": F}),
    (("A", "我再给您解释一遍，您看这样行吗。"), {"never.impatient": P}),
    (("A", "我已经帮您办好了。"), {"never.impatient": P}),
    (("A", "您说得对，我马上处理。"), {"never.impatient": P}),
]

REFUSALS = [
    ([("C", "能给我退吗？"), ("A", "这个不行。")], {"voice.say_no_gently": F}),
    ([("C", "能不能今天送到？"), ("A", "没办法，今天送不了。")], {"voice.say_no_gently": F}),
    ([("C", "能给我退吗？"), ("A", "很抱歉，这个确实办不了，建议您先申请售后。")], {"voice.say_no_gently": P}),
    ([("C", "能不能加急？"), ("A", "非常理解您，不过加急现在确实不行，我们可以帮您优先派送。")], {"voice.say_no_gently": P}),
]

CLOSINGS = [
    ([("A", "好的，跟您确认一下，快递明天上午重新派送，请问还有其他问题吗？"), ("C", "没有了。", "short_reply"),
      ("A", "感谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "我再跟您核对一下，地址改成了南京路十八号，您看还有其他需要吗？"), ("C", "没了。", "short_reply"),
      ("A", "感谢您的来电，祝您一切顺利，再见！", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "已经为您登记好了，三天内会有师傅上门，还有别的事情需要我帮忙吗？"), ("C", "没有了，谢谢。", "short_reply"),
      ("A", "不客气，谢谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "也就是说明天之前会退款到您的账户，还有没有别的要办的？"), ("C", "没了。", "short_reply"),
      ("A", "好的，感谢您的支持，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "好的，就这样，再见。")], {"close.confirm": F, "close.anything_else": F, "close.thanks": F}),
    ([("A", "跟您确认一下，明天送到，那就这样，再见。")], {"close.confirm": P, "close.anything_else": F, "close.thanks": F}),
    ([("A", "请问您还需要其它帮助吗？"), ("C", "不用了。", "short_reply"), ("A", "感谢您的来电，再见。", "after_reply")],
     {"close.confirm": F, "close.anything_else": P, "close.thanks": P}),
    ([("A", "已经帮您改好了，谢谢您的来电，再见。")], {"close.confirm": P, "close.anything_else": F, "close.thanks": P}),
]

NA_DEFAULTS = {
    "hold": ["hold.ask_permission", "hold.give_reason", "hold.thank_consent", "hold.thank_after"],
    "transfer": ["transfer.explain", "transfer.consent"],
    "fallback": ["transfer.fallback"],
    "message": ["message.absent", "message.return_time", "message.offer_help", "message.record"],
    "refusal": ["voice.say_no_gently"],
}
NEVER_RULES = ["never.rude", "never.shift_blame", "never.impatient"]


def _turns(parts: list) -> list[list]:
    return [[t[0], t[1], t[2] if len(t) > 2 else ""] for t in parts]


def _opened(rng: random.Random, openings: list, also_na: list[str] = ()) -> tuple[list[list], dict[str, str]]:
    """A call's opening and the customer's issue, with every rule's default label (``also_na``:
    more rules not applicable unless a part says otherwise)."""
    labels: dict[str, str] = {r: P for r in NEVER_RULES}
    for group in NA_DEFAULTS.values():
        labels.update({r: NA for r in group})
    labels.update({r: NA for r in also_na})
    call: list[list] = []
    _add(call, labels, rng.choice(openings))
    call += _turns(rng.choice(ISSUES))
    return call, labels


def _add(call: list[list], labels: dict[str, str], part: tuple[list, dict[str, str]]) -> None:
    """A part's turns onto the call, its verdicts onto the labels."""
    turns, lab = part
    call += _turns(turns)
    labels.update(lab)


def make_call(rng: random.Random) -> tuple[list[list], dict[str, str]]:
    call, labels = _opened(rng, OPENINGS)
    body = []
    if rng.random() < 0.5:
        body.append(rng.choice(HOLDS))
    if rng.random() < 0.35:
        body.append(rng.choice(TRANSFERS))
        if rng.random() < 0.4:
            body.append(rng.choice(FALLBACKS))
    if rng.random() < 0.35:
        body.append(rng.choice(MESSAGES))
    if rng.random() < 0.3:
        body.append(rng.choice(REFUSALS))
    for _ in range(rng.choice([0, 1, 1, 2])):
        turn, lab = rng.choice(REMARKS)
        body.append(([turn, ("C" if turn[0] == "A" else "A", "嗯。")], {}))
        for rule, verdict in lab.items():
            labels[rule] = F if F in (labels[rule], verdict) else verdict
    for turns, lab in body:
        call += _turns(turns)
        labels.update(lab)
    _add(call, labels, rng.choice(CLOSINGS))
    return call, labels


# --- complaints (phone rules section 9): the caller is upset, the agent answers step by step ------
COMPLAINT_RULES = ["complaint.apologise", "complaint.empathy", "complaint.next_step", "complaint.time",
                   "complaint.confirm", "never.blame_customer"]

# the caller complains in words a QA reader knows at once ...
COMPLAINTS = [
    "我要投诉！你们的快递员把我的包裹扔在门口就走了。",
    "你们怎么回事啊，说好今天送到的，到现在都没来！",
    "我对你们的服务很不满意，空调修了两次还是不制冷。",
    "太差劲了，打了三次电话都没人管！",
    "我不想跟你说了，叫你们领导来接电话！",
    "搞什么啊，又多扣了我五十块钱！",
    "你们这什么服务啊，师傅上门连个招呼都不打。",
]
# ... or vents without a complaint word: repeated demands, how long it has been, what they will do
VENTING = [
    "我都等了一个星期了，到底还要等多久？",
    "这已经是第三次了，每次打电话都说在处理！",
    "我真的快急死了，明天就要用的东西！",
    "你们到底能不能解决？不能解决我就去找消协！",
]
# the caller mentions a complaint, or is not upset at all: no complaint to answer
NOT_COMPLAINTS = [
    "我想问一下你们的投诉电话是多少。",
    "我不是投诉，就是想问问维修的进度。",
    "上次的事情处理得挺好的，我挺满意的。",
    "我要退订这个套餐，怎么操作？",
]

APOLOGIES = ["非常抱歉，给您带来不便了。", "实在对不起，这是我们的问题。", "不好意思，让您遇到这样的情况。",
             "真的很抱歉，给您添麻烦了。"]
EMPATHY = ["我理解您的心情。", "您先别着急。", "换作是我也会着急的。", "我能体会您现在的感受。"]
NEUTRAL_ACKS = ["嗯，您说的情况我记下了。", "好的，我看一下您的记录。", "您的单号我这边查到了。"]
NEXT_STEPS = ["我马上帮您登记，反馈给售后部门加急处理。", "我现在就帮您申请重新派送。",
              "我这边帮您提交一个工单，安排师傅上门。", "您希望我们怎么处理呢？"]
NO_STEP = ["这个情况系统里有记录。", "您说的这个问题我知道了。"]
TIMES = ["今天下班前一定给您回复。", "二十四小时之内会有专人联系您。", "明天上午之前给您答复。",
         "稍后我给您回电话。", "三个工作日内处理好。", "三天之内师傅上门。"]
# a time that is also a deed by the company (someone comes, it gets done, the money is sent back) says
# what happens next as well: issue 37 relabelled these, which had been read as a time alone
DEED_TIMES = {"二十四小时之内会有专人联系您。", "三个工作日内处理好。", "三天之内师傅上门。",
              "四十八小时以内退款会到账。", "这周五之前师傅一定上门。", "下周一之前给您寄出来。"}
CONFIRMS = [("您看这样处理可以吗？", "行吧。"), ("这样安排您看行吗？", "可以。"), ("您看这样处理您满意吗？", "还行。")]
BLAMES = [("这是你自己没看清楚，地址填错了。", {"never.impatient": F}),  # the pack's impatience list has it too
          ("谁让你不早点说呢？", {}), ("你当时为什么不检查一下？", {}), ("这个是你操作不当造成的。", {})]
NOT_BLAMES = ["这不是您自己的问题，是我们系统的原因。", "这事不怪您，是我们没做好。",
              "您可以自己看一下短信，里面有单号。"]
COMPLAINT_CLOSINGS = [  # each recaps, so the recap is not confused with the steps said before it
    ([("A", "跟您确认一下，您反映的情况我都记录了，请问还有其他问题吗？"), ("C", "没有了。", "short_reply"),
      ("A", "感谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "我再跟您核对一下，您的单号是八八六七，还有别的需要吗？"), ("C", "没了。", "short_reply"),
      ("A", "好的，感谢您的理解，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "跟您确认一下，您的单号是八八六七，那先这样，再见。")],
     {"close.confirm": P, "close.anything_else": F, "close.thanks": F}),
]


def make_complaint_call(rng: random.Random) -> tuple[list[list], dict[str, str]]:
    """A call where the caller complains (or only seems to), and the agent's answer with each
    step there or missing: apology, empathy, next step, time, the caller's consent; sometimes
    an argument with the caller, or words that only look like one."""
    call, labels = _opened(rng, OPENINGS[:7], COMPLAINT_RULES)
    kind = rng.choices(["words", "venting", "none"], [0.6, 0.25, 0.15])[0]
    if kind == "none":
        call.append(["C", rng.choice(NOT_COMPLAINTS), ""])
        call.append(["A", "好的，" + rng.choice(NEXT_STEPS + NO_STEP), ""])
        _add(call, labels, rng.choice(COMPLAINT_CLOSINGS))
        return call, labels
    call.append(["C", rng.choice(COMPLAINTS if kind == "words" else VENTING), ""])
    steps = {k: rng.random() < 0.7 for k in ("apologise", "empathy", "next_step", "time", "confirm")}
    first = (rng.choice(APOLOGIES) if steps["apologise"] else "") + (rng.choice(EMPATHY) if steps["empathy"] else "")
    call.append(["A", first or rng.choice(NEUTRAL_ACKS), ""])
    call.append(["C", rng.choice(["嗯。", "那你说怎么办？", "你们得给我个说法。"]), ""])
    second = (rng.choice(NEXT_STEPS) if steps["next_step"] else rng.choice(NO_STEP))
    said_time = rng.choice(TIMES) if steps["time"] else ""
    second += said_time
    call.append(["A", second, ""])
    labels.update({f"complaint.{k}": P if v else F for k, v in steps.items()})
    if said_time in DEED_TIMES:
        labels["complaint.next_step"] = P
    labels["never.blame_customer"] = P
    r = rng.random()
    if r < 0.25:
        blame, lab = rng.choice(BLAMES)
        call += [["C", "这怎么能怪我？", ""], ["A", blame, ""]]
        labels["never.blame_customer"] = F
        labels.update(lab)
    elif r < 0.4:
        call += [["C", "那是我的问题吗？", ""], ["A", rng.choice(NOT_BLAMES), ""]]
    if steps["confirm"]:
        ask, reply = rng.choice(CONFIRMS)
        call += [["A", ask, ""], ["C", reply, ""]]
    _add(call, labels, rng.choice(COMPLAINT_CLOSINGS))
    return call, labels


# --- what real recognised calls got wrong ---------------------------------------------------------
# "later" inside an explanation is not a hold request
LATER = [
    "已经帮您催了，快递员等一下会给您打电话。",
    "退款稍候会原路退回到您的账户。",
    "师傅等一会儿会联系您，请保持电话畅通。",
    "您的工单已经提交，稍候会有专员跟您联系。",
    "系统稍后会给您发一条确认短信。",
]
# a referral the caller asked for is a service; one they did not ask for pushes them away
REFERRALS = [
    ([("C", "那我应该找谁啊？"), ("A", "这个您得找别的部门，是物业负责的，电话我给您，零二一六六八八九九零零。")],
     {"never.shift_blame": P}),
    ([("C", "你们管不了的话，我找别的部门行吗？"), ("A", "可以的，您找别的部门的话，财务部的电话是八零二一。")],
     {"never.shift_blame": P}),
    ([("C", "你们售后电话多少？我直接找他们。"), ("A", "售后的电话是四零零八二零八八八八，您找售后就可以。")],
     {"never.shift_blame": P}),
    ([("C", "那这个该怎么办？"), ("A", "这个你找别的部门吧。")], {"never.shift_blame": F}),
    ([("C", "能帮我查一下吗？"), ("A", "这个你找别人去问，我这边查不了。")], {"never.shift_blame": F}),
]
# "anything else", paraphrased
PARAPHRASED_CLOSINGS = [
    ([("A", "好的，已经帮您处理好了，还有什么其他能够帮到您的吗？"), ("C", "没有了。", "short_reply"),
      ("A", "感谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "跟您确认一下，明天上午送到，您看还有哪些地方需要我帮忙的？"), ("C", "没了。", "short_reply"),
      ("A", "谢谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "地址已经帮您改好了，请问还有其他我能帮您的吗？"), ("C", "不用了。", "short_reply"),
      ("A", "感谢您的来电，再见。", "after_reply")],
     {"close.confirm": P, "close.anything_else": P, "close.thanks": P}),
    ([("A", "已经帮您改好了，另外还有一个积分活动，您有空可以看看，再见。")],
     {"close.confirm": P, "close.anything_else": F, "close.thanks": F}),
]


def make_real_fix_call(rng: random.Random) -> tuple[list[list], dict[str, str]]:
    """A call carrying one of the three kinds of wrong verdict seen on real recognised calls."""
    call, labels = _opened(rng, OPENINGS[:7], COMPLAINT_RULES)
    kind = rng.choice(["later", "referral", "closing"])
    if kind == "later":
        call += [["A", rng.choice(LATER), ""], ["C", "好的。", ""]]
        if rng.random() < 0.4:  # a real hold beside it still counts
            _add(call, labels, rng.choice(HOLDS))
    elif kind == "referral":
        _add(call, labels, rng.choice(REFERRALS))
    _add(call, labels, rng.choice(PARAPHRASED_CLOSINGS if kind == "closing" else CLOSINGS))
    return call, labels


# --- issue 37: complaint handling judged by what the agent did, in words of their own ------------
# Written afresh for issue 37, before the act detectors (judging/acts.py), and not from the
# pack's phrase lists. The caller complains flatly (no heated word): calling again, something
# failing again, a promise broken, a supervisor, a refund or compensation demanded, 举报.
FLAT_COMPLAINTS = [
    "这已经是我第三次打电话来问这个事了。",
    "我上周打过两次电话，到现在也没人给我答复。",
    "我这个月的账单又不对，多收了我三十块。",
    "宽带又断了，上个月刚修过。",
    "麻烦帮我转一下你们的负责人。",
    "我要求退款，这个东西根本用不了。",
    "你们得赔偿我的损失。",
    "快递说好昨天到，今天还是没收到。",
    "这个问题我反映过好几回了。",
    "我准备去工信部举报你们。",
    "同样的毛病，这是第四次出现了。",
    "上次客服答应给我回电话，结果一直没人打。",
]
# a calm caller whose words only look like a complaint's: no complaint to answer
CALM_LOOKALIKES = [
    "我上次打电话问过，想再确认一下地址。",
    "我明天第二次去营业厅办理，需要带什么？",
    "宽带装好了，又快又稳定，谢谢你们。",
    "你们的投诉邮箱是哪个？",
    "我想申请退款，请问怎么操作？",
    "我想换个套餐，流量有点不够用。",
]
# the agent's answer, each act in other words than the pack lists ...
OWN_APOLOGIES = ["真是对不住，这事是我们没做好。", "给您造成困扰了，实在不好意思。",
                 "这件事我们确实做得不到位，跟您说声抱歉。"]
OWN_EMPATHY = ["等了这么久，您着急是肯定的。", "我明白这事让您很闹心。", "遇到这种情况谁都会不高兴的。",
               "您的心情我完全能理解。", "这么来回折腾，确实挺让人烦的。", "我知道您现在心里肯定不好受。",
               "您跑了这么多趟，换了谁都会有意见。"]
# ... and what only looks like empathy: understanding the facts, not the feeling
NOT_EMPATHY = ["我明白了，您的意思是要改地址对吧？", "好的，我知道了，您说的是上个月的账单。",
               "嗯，您说的情况我记下了。", "好的，我看一下您的记录。"]
OWN_STEPS = ["我这就给您把工单升到加急。", "我现在把您的情况转给维修组长，让他亲自安排。",
             "我们会派另一位师傅过去重新检查一遍。", "多收的三十块我这边给您退回到原来的账户。",
             "我先帮您把这个订单拦截下来，再重新发一件。", "我这边记下来，交给专门负责的同事去核查。",
             "您想要我们怎么解决，退货还是换货？", "您这边是希望退款还是重新补发呢？"]
# an action nobody takes: refused, done by someone else, already over
NOT_STEPS = [("这个问题我们这边也没办法处理。", {"voice.say_no_gently": F}),
             ("系统显示已经处理完了。", {}), ("这种事一般都是快递那边负责的。", {}),
             ("您说的这个问题我知道了。", {})]
OWN_TIMES = ["最晚后天中午给您一个结果。", "四十八小时以内退款会到账。", "这周五之前师傅一定上门。",
             "处理好了我第一时间打电话告诉您。", "晚上六点以前我给您回个电话。", "下周一之前给您寄出来。",
             "一个小时后我再打给您说一下进度。"]
# a time that promises nothing: the past
NOT_TIMES = ["您之前是昨天下午打的电话对吧？", "这个问题三天前就有人反映过。"]
OWN_CONFIRMS = [("这个方案您能接受吗？", "能。"), ("您觉得这样处理合适吗？", "行。"),
                ("这么安排的话，您看满不满意？", "可以吧。"), ("您对这个处理结果还有什么意见吗？", "没有了。"),
                ("如果这样处理，您是否同意？", "同意。")]
# a question back that checks a fact, not that the caller accepts the resolution
NOT_CONFIRMS = [("您的手机号还是尾号八八六七的这个吗？", "是的。"), ("您这边能听清楚吗？", "能听清。")]
# blaming the caller, complaint or not, in other words
OWN_BLAMES = ["这是您操作的问题，我们系统没有错。", "您当时怎么不问清楚再下单呢？", "谁让您不按提示来操作的？",
              "那是因为您自己没仔细看说明书。", "您要是早点说就不会这样了。", "这个怪不了我们，是您自己填错的。",
              "说明书上写得清清楚楚，是您没看。"]
NOT_BLAMES_OWN = ["这不是您操作的问题，是系统的故障。", "您当时问得很清楚，是我们没有说明白。",
                  "您按提示操作就可以了，很简单。", "您自己在手机上也能查到进度。", "不怪您，是我们的说明写得不清楚。"]
# impatience in other words, and patience that only sounds like it
OWN_IMPATIENCE = ["我刚才不是已经跟您讲过了嘛。", "同一个问题您都问第三遍了。", "您能不能先听我把话说完？",
                  "哎呀，我再说最后一次啊。", "这个很简单的，您怎么还不明白？"]
NOT_IMPATIENCE = ["我再跟您说一遍具体的步骤。", "刚才说的您如果没记住，我再重复一下。", "没关系，您慢慢说，我听着呢。"]


def make_act_call(rng: random.Random) -> tuple[list[list], dict[str, str]]:
    """Issue 37: a complaint said flatly (or a calm call that only looks like one), answered
    in the agent's own words, act by act; blaming and impatience in other words, on complaint
    and calm calls alike."""
    call, labels = _opened(rng, OPENINGS[:7], COMPLAINT_RULES)
    labels["never.blame_customer"] = P
    complaint = rng.random() < 0.7
    call.append(["C", rng.choice(FLAT_COMPLAINTS if complaint else CALM_LOOKALIKES), ""])
    if complaint:
        steps = {k: rng.random() < 0.65 for k in ("apologise", "empathy", "next_step", "time", "confirm")}
        first = (rng.choice(OWN_APOLOGIES) if steps["apologise"] else "") + \
            (rng.choice(OWN_EMPATHY) if steps["empathy"] else "")
        call.append(["A", first or rng.choice(NOT_EMPATHY), ""])
        call.append(["C", rng.choice(["嗯。", "那现在怎么办？", "你们总得给我个交代吧。"]), ""])
        if steps["next_step"]:
            second = rng.choice(OWN_STEPS)
        else:
            second, lab = rng.choice(NOT_STEPS)
            labels.update(lab)
        said_time = rng.choice(OWN_TIMES) if steps["time"] else ""
        second += said_time or (rng.choice(NOT_TIMES) if rng.random() < 0.4 else "")
        call.append(["A", second, ""])
        labels.update({f"complaint.{k}": P if v else F for k, v in steps.items()})
        if said_time in DEED_TIMES:
            labels["complaint.next_step"] = P
    else:
        call.append(["A", "好的，" + rng.choice(["我帮您看一下。", "我给您说一下。", "没问题。"]), ""])
    r = rng.random()
    if r < 0.3:
        call += [["C", "这怎么能怪我？" if complaint else "是我弄错了吗？", ""], ["A", rng.choice(OWN_BLAMES), ""]]
        labels["never.blame_customer"] = F
    elif r < 0.5:
        call += [["C", "那是我的问题吗？", ""], ["A", rng.choice(NOT_BLAMES_OWN), ""]]
    r = rng.random()
    if r < 0.25:
        call += [["C", "你再说一遍？", ""], ["A", rng.choice(OWN_IMPATIENCE), ""]]
        labels["never.impatient"] = F
    elif r < 0.45:
        call += [["C", "你再说一遍？", ""], ["A", rng.choice(NOT_IMPATIENCE), ""]]
    if complaint and steps["confirm"]:
        ask, reply = rng.choice(OWN_CONFIRMS)
        call += [["A", ask, ""], ["C", reply, ""]]
    elif complaint and rng.random() < 0.5:
        ask, reply = rng.choice(NOT_CONFIRMS)
        call += [["A", ask, ""], ["C", reply, ""]]
    _add(call, labels, rng.choice(COMPLAINT_CLOSINGS))
    return call, labels


def build() -> list[dict]:
    """The labelled calls, clean and noised (seeded: the same every run)."""
    rng = random.Random(SEED)
    calls = []
    for _ in range(N_CALLS):
        call, labels = make_call(rng)
        labels.update({r: NA for r in COMPLAINT_RULES})  # nobody complains in these
        calls.append((call, labels))
    rng = random.Random(SEED + 21)  # later parts draw their own numbers: the calls above stay as they were
    calls += [make_complaint_call(rng) for _ in range(N_COMPLAINT_CALLS)]
    calls += [make_real_fix_call(rng) for _ in range(N_REAL_FIX_CALLS)]
    rng = random.Random(SEED + 37)
    calls += [make_act_call(rng) for _ in range(N_ACT_CALLS)]
    for _, labels in calls:  # issue 37: no blaming the caller holds on every call, complaint or not
        if labels.get("never.blame_customer") == NA:
            labels["never.blame_customer"] = P
    rows = []
    for k, (call, labels) in enumerate(calls):
        rows.append({"id": f"call{k:03d}", "variant": "clean", "turns": [t[:2] for t in call], "labels": labels})
        noisy = noise_call(call, random.Random(SEED + k))
        rows.append({"id": f"call{k:03d}", "variant": "noised", "turns": [t[:2] for t in noisy], "labels": labels})
    return rows


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    rows = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(dump(rows), encoding="utf-8")
    tmp.replace(out)
    n = len(rows) // 2
    print(f"{out}: {len(rows)} calls ({n} clean, {n} noised); "
          f"character error rate of the noised text {100 * cer(rows):.1f} %")


def cer(rows: list[dict]) -> float:
    """Character error rate of the noised calls against the clean ones (punctuation, spaces
    and fillers aside), the figure ASR papers quote: comparable with a small model's."""
    from rapidfuzz.distance import Levenshtein

    def bare(turns):
        return "".join(c for _, t in turns for c in t if "\u4e00" <= c <= "\u9fff" and c not in "嗯呃")

    clean = {r["id"]: r for r in rows if r["variant"] == "clean"}
    errors = chars = 0
    for r in rows:
        if r["variant"] == "noised":
            ref = bare(clean[r["id"]]["turns"])
            hyp = _converter("t2s").convert(bare(r["turns"]))
            errors += Levenshtein.distance(ref, hyp)
            chars += len(ref)
    return errors / chars


if __name__ == "__main__":
    main()
