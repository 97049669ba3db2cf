"""What a turn does, not the words it happens to use: the acts a trainer listens for.

A trainer reading a complaint call does not tick phrases off a list. They hear whether the
caller complained (called again, something failed again, a promise was broken, they asked for
a supervisor or a refund), and whether the agent named the caller's feeling, said what they or
the company will do, gave a time, asked whether the caller accepts it, or blamed the caller.
Each act here is a few templates: word classes in order, each within a few characters of the
one before. Every word is found with the rules' tolerant matcher (``textmatch``), so ASR's
homophones, spaces, fillers and traditional characters still count; the structure around the
words refuses look-alikes:

- no negation in a gap (我们这边也没办法处理 is no action), and with ``!`` none just before the
  first word in the same clause (这不是您操作的问题 is no blame, 不能给您退 no action);
- words in a gap that change who acts or what is said (显示, 建议您, 您可以) break an action;
- ``$``: the word ends the utterance or its clause (a question's 吗);
- ``%X``: the one character X by its sound (a recogniser writes 第四此 for 第四次; a lone
  character is otherwise matched as written);
- ``#`` is a run of number characters (digits are read as 一二三 by then), ``#2`` one that is
  not just 一 (第一次 is no repeated contact).

The pack's phrase lists stay as examples, matched first; a rule names the acts that also
satisfy it (``acts = ["feeling"]``). ``tests/test_acts.py`` holds each act to its cases and
look-alikes; ``benchmarks/judgement.py`` measures them on the labelled calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .textmatch import FILLER_WORDS, NEGATIONS, Match, NormText, _syllable, find_all, find_exceptions, normalize

# in an action's gaps: words that make it a report, an opinion or the caller's job (系统显示已经处理,
# 我建议您自己去办理), not the agent's deed; and before it in its clause, a report of what is seen
GAP_STOPS = {"action": ("显示", "看到", "查到", "知道", "觉得", "认为", "听说", "记得", "以为", "建议您", "建议你",
                        "您可以", "你可以", "您自己", "你自己", "您去", "您得", "您需要", "麻烦您",
                        # done with the caller, not for them: 我再跟您核对一下单号
                        "跟您", "和您", "与您", "跟你")}
CLAUSE_STOPS = {"action": ("显示", "看到", "查到", "记录"),
                # an offer, not a reproach: 如果您不明白，可以再问我
                "impatience": ("如果", "要是", "假如", "万一", "哪里")}
# words that hold a negation character and negate nothing (我特别能体会, 别的同事)
NOT_NEGATIONS = ("特别", "分别", "区别", "别人", "别的", "告别", "个别", "识别", "类别", "级别", "性别", "不好意思",
                 "不过", "不仅", "不但", "不少")  # 不过这是您操作的问题 still blames
PRONOUN_CHARS = set("您你我他她")
_NUMBER = re.compile("[零一二三四五六七八九十百千两半几]+")

WORDS: dict[str, tuple[str, ...]] = {
    # -- the caller complains --------------------------------------------------------------------
    "CONTACT": ("打", "打过", "打了", "来电", "打电话", "联系", "反映", "反馈", "问", "说", "找", "催", "投诉", "跑", "修",
                "修了"),
    "TIMES": ("%次", "%回", "%遍", "%趟", "个电话", "通电话"),
    "FAIL": ("错", "不对", "坏", "断", "出问题", "出毛病", "出故障", "停", "扣", "多扣", "多收", "乱收", "乱扣", "没",
             "不能", "不行", "不好使", "卡", "掉线", "漏", "延误", "晚", "迟", "是这样", "不", "被"),
    "STILL_NOT": ("到", "好", "能用", "行", "修好", "解决", "处理", "退", "收到", "通", "来", "能", "制冷", "正常", "管用",
                  "连上", "上网"),
    "PROMISED": ("说好", "答应", "承诺", "保证", "说会"),
    "NOT_YET": ("结果", "到现在", "到今天", "现在还", "今天还", "还是", "还没", "也没", "都没", "一直没", "却", "根本"),
    "WAITED": ("人", "回", "答复", "回复", "消息", "解决", "处理", "到", "来", "联系", "好", "修", "退", "动静"),
    "BOSS": ("领导", "经理", "主管", "负责人", "上级", "上司", "老板", "管事的", "负责的"),
    "HIGHER": ("负责人", "领导", "上级", "管事的"),  # not 主管 / 经理: 找一下陈主管 is a colleague asked for
    "SUMMON": ("找", "叫", "让", "要", "转", "换", "请", "喊"),
    "COME": ("来", "过来", "出来", "接电话", "跟我说", "叫过来", "叫来"),
    "DEMAND": ("我要", "要求", "必须", "给我", "赶紧", "马上", "你们得", "你们要", "你们必须", "应该"),
    "MONEY_BACK": ("退款", "退钱", "退费", "赔偿", "赔钱", "赔我", "补偿", "返还"),
    "GIVE_BACK": ("退给我", "还给我", "赔给我", "退回来", "还回来"),
    "ESCALATE": ("举报", "曝光", "起诉", "告你们", "媒体", "工信部", "消协", "消费者协会", "一二三一五", "律师", "法院",
                 "监管部门", "发到网上", "发网上", "评评理"),
    "OFTEN": ("老是", "总是", "经常", "动不动就", "三天两头", "隔三差五"),
    "NO_USE": ("也没用", "都没用", "没有用", "不管用", "白打", "白说", "没人管", "没人理"),
    "EXCUSE": ("理由", "借口", "说法", "这样", "这句", "这么说", "一套"),
    # -- the agent names the caller's feeling -----------------------------------------------------
    "ACK": ("理解", "明白", "体会", "体谅", "感受到", "懂", "知道", "感觉到", "感觉得到", "看得出", "听得出"),
    "FEELING": ("心情", "感受", "处境", "难处", "不容易", "着急", "生气", "火气", "不满", "委屈", "烦", "难受", "不好受",
                "失望", "担心", "顾虑", "闹心", "心烦", "烦心", "郁闷", "恼火", "窝火", "上火", "火大", "不高兴",
                "不开心", "不舒服", "不痛快", "心急", "焦虑", "无奈", "头疼", "糟心", "有意见", "急", "窝心", "憋屈", "添堵"),
    "CAUSE": ("让您", "让你", "让人", "叫人", "害您", "令您", "令人"),
    "SURELY": ("肯定", "一定", "确实", "真的", "当然", "难免", "也会", "都会"),
    "NORMAL": ("是肯定的", "是难免的", "很正常", "可以理解", "也正常", "是应该的", "是正常的", "能理解"),
    "ANYONE": ("谁都会", "谁都", "换了谁", "换作", "换做", "换成", "换位", "任何人", "搁谁"),
    "TROUBLE": ("辛苦您", "辛苦你", "委屈您", "白跑一趟", "折腾您", "过意不去", "消消气", "消气", "息怒"),
    "PUT_OUT": ("费心", "受累", "跑", "折腾", "操心", "久等", "白跑", "费劲", "费时间"),
    "ME_TOO": ("我也会", "我也一样", "我也", "我都会", "我肯定也"),
    # -- the agent acts ---------------------------------------------------------------------------
    "WE": ("我", "我们", "我这边", "我们这边", "这边", "公司", "师傅", "工程师", "专员", "同事", "专人", "技术人员",
           "维修人员", "后台", "相关部门", "经理", "人员", "客服"),
    "FOR_YOU": ("帮您", "为您", "给您", "替您", "帮你", "给你", "为你"),
    "DO": ("处理", "解决", "登记", "申请", "反馈", "上报", "提交", "跟进", "跟踪", "核实", "核查", "核对", "调查", "追查",
           "安排", "派", "升级", "升到", "加急", "催", "催促", "退", "退回", "退还", "返还", "补", "补发", "补寄", "重新",
           "更换", "换货", "换一", "修", "维修", "修改", "改成", "改好", "调整", "撤销", "取消", "办理", "开通", "恢复正常", "恢复使用", "恢复服务",
           "转给", "转交", "交给", "协调", "沟通", "联系", "通知", "督促", "拦截", "寄", "送过去", "派送", "上门",
           "改回", "改为", "调回", "报给", "发货", "重发",
           "检查", "赔", "赔偿", "补偿", "减免", "免除", "报修", "冲正"),
    "SEND_SOMEONE": ("会有", "安排", "派"),
    "SOMEONE": ("专人", "专员", "师傅", "工程师", "同事", "技术", "经理", "人员", "客服"),
    "YOU": ("您", "你"),
    "WISH": ("希望", "想要", "想", "要", "打算", "需要", "期望", "倾向"),
    "HOW": ("怎么", "如何", "什么样", "哪种", "哪一种", "还是"),
    "REMEDY": ("退款", "退货", "换货", "补发", "赔偿", "补偿", "解决", "处理", "办", "重新"),
    # -- the agent gives a time -------------------------------------------------------------------
    "UNIT": ("小时", "个小时", "分钟", "天", "个工作日", "工作日", "日", "周", "个星期", "星期", "礼拜", "个月"),
    "WITHIN": ("内", "之内", "以内", "后", "之后", "以后", "左右"),
    "DAY": ("今天", "今晚", "明天", "明早", "明晚", "后天", "下周", "这周", "本周", "周一", "周二", "周三", "周四",
            "周五", "周六", "周日", "周末", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期天",
            "月底", "月初", "下个月", "年底", "下班前", "下午", "上午", "中午", "晚上", "傍晚"),
    "BY": ("最晚", "最迟", "争取", "保证", "一定", "预计", "大概", "估计", "会在"),
    "BEFORE": ("前", "之前", "以前", "之内", "以内", "内"),
    "THEN": ("给您", "会", "一定", "能", "就", "可以", "到账", "上门", "回复", "答复", "联系", "处理", "寄", "送", "完成",
             "结果", "回电"),
    "ANSWER": ("回复", "答复", "结果", "说法", "交代", "回电", "消息", "打电话", "回个"),
    "CALL_BACK": ("回电话", "回个电话", "打给您", "联系您", "回访", "回电", "回复您", "答复您"),
    "LATER": ("打电话", "短信", "第一时间", "到时候", "出来", "好了"),
    "TELL": ("告诉您", "通知您"),
    # -- the agent checks the caller accepts it ----------------------------------------------------
    "PLAN": ("这样", "这么", "方案", "处理", "安排", "结果", "办法", "解决"),
    "ACCEPT": ("接受", "满意", "同意", "认可", "合适", "妥当", "可以", "行", "好", "没问题", "意见", "认同"),
    "Q": ("%吗", "%呢", "%吧", "么", "不", "没有", "嘛"),
    "AGREE": ("接受", "同意", "认可", "满意"),
    "EITHER": ("满不满意", "接不接受", "同不同意", "认不认可", "合不合适", "行不行", "可不可以", "好不好", "满意不"),
    # -- the agent blames the caller --------------------------------------------------------------
    "ERR": ("填错", "写错", "输错", "点错", "选错", "看错", "按错", "弄错", "搞错", "记错", "操作错", "操作不当",
            "操作失误", "操作有误", "没看清", "没仔细", "没注意", "没按", "不按", "没听", "不听", "没问清楚",
            "不问清楚", "没看说明", "没看提示", "乱点", "乱操作", "误操作", "没及时", "不及时", "忘了", "忘记"),
    "OWN_FAULT": ("操作", "使用", "填写", "输入", "理解", "个人", "自己", "自身", "本人"),
    "FAULT": ("问题", "原因", "失误", "错误", "不当", "过失", "责任", "有误"),
    "BACK_THEN": ("当时", "之前", "一开始", "当初", "那时候", "事先", "下单的时候", "下单时", "办理的时候", "自己"),
    "WHY": ("怎么", "为什么", "为啥", "干嘛", "咋"),
    "NOT": ("不", "没"),
    "EARLY": ("早点", "早些", "早", "提前", "事先"),
    "IF": ("要是", "如果", "假如", "早知道"),
    "CAREFUL": ("早点", "早些", "提前", "仔细", "认真", "按"),
    "WOULDNT": ("就不会", "也不会", "就没", "就不", "哪会", "不会"),
    "SKIP": ("没看", "没注意", "没按", "不按", "没听", "不听", "没仔细", "自己"),
    "NOT_US": ("怪不了我们", "不怪我们", "怪不到我们", "怪不得我们", "赖不着我们"),
    # -- the agent is impatient -------------------------------------------------------------------
    "SAID": ("说过", "讲过", "告诉过", "说了", "讲了", "说明过", "解释过", "告诉"),
    "SAID_BEFORE": ("说过", "讲过", "告诉过", "解释过", "问过"),
    "TOLD": ("说了", "讲了", "说过", "讲过", "告诉", "解释了", "说", "讲"),
    "MANY": ("好几", "好多", "几", "多少", "无数", "很多"),
    "ALREADY": ("刚才", "已经", "早就", "都"),
    "AGAIN": ("问", "说", "讲", "打"),
    "STILL": ("怎么还", "还是"),
    "LOST": ("不明白", "不懂", "不会", "没懂", "没明白", "听不懂", "没听懂", "听不明白"),
}

ACTS: dict[str, tuple[str, ...]] = {
    "complaint": (
        "已经是|这是|都 ~3 %第 #2 ~1 @TIMES",
        "%第 #2 ~1 @TIMES ~10 了",
        "@CONTACT ~3 #2|好几|很多|无数|多少 ~1 @TIMES",
        "又 ~2 @FAIL",
        "又是|又拿 ~4 @EXCUSE",  # 又是这个理由
        "又说 ~3 @DAY|下次|过几天|改天|等等",  # 今天又说明天
        "@OFTEN ~3 @FAIL|掉线|出问题",  # 老是掉线
        "@CONTACT ~4 @NO_USE",  # 报修了也没用
        "放了我 ~3 鸽子",  # a broken appointment
        "放鸽子",
        "%又 ~1 断|坏了|错了|不对|出问题|出毛病|多收|多扣|停了|掉线",  # 宽带有断了: 又 heard as 有
        "还是 ~1 没|不 ~3 @STILL_NOT",
        "@PROMISED ~14 @NOT_YET",
        "一直|始终|到现在|至今|迟迟 ~4 没|没有 ~4 @WAITED",
        "@SUMMON ~4 你们|你们的|贵公司 ~2 @BOSS",
        "你们|你们的|贵公司 ~2 @BOSS ~3 @COME",
        "找|叫|让|要|转|换 ~3 @HIGHER",
        "! @ESCALATE",
        "! @DEMAND ~3 @MONEY_BACK",
        "! @DEMAND ~12 @GIVE_BACK",
    ),
    "feeling": (
        "! @ACK ~6 @FEELING",
        "心情|感受|处境|难处 ~5 @ACK",
        "@CAUSE ~3 @FEELING",
        "您|你 ~4 @SURELY ~3 @FEELING",
        "@FEELING ~3 @NORMAL",
        "@ANYONE ~6 @FEELING",
        "心里 ~3 @FEELING",
        "确实|真是|实在 ~3 @FEELING",
        "@TROUBLE",
        "让您|让你|害您|劳您 ~3 @PUT_OUT",
        "@ME_TOO ~3 @FEELING",
        "您别|您先别|你别|你先别 ~1 着急|急|生气|担心|上火",
    ),
    "action": (
        "! @WE ~8 @DO !",
        "! @FOR_YOU ~4 @DO !",
        "@SEND_SOMEONE ~8 @SOMEONE",
        "内|之内|以内|之后|以后|左右|天后|小时后|会 ~3 @DO|到账 !",  # not 售后点处理: a lone 后 is no time
        "@YOU ~4 @WISH ~8 @HOW ~6 @DO|@REMEDY",
    ),
    "time": (
        "# ~1 @UNIT ~1 @WITHIN",
        "# ~1 个工作日|工作日",
        "@BY ~2 @DAY",
        "@DAY ~4 @BEFORE",
        "@DAY ~8 @THEN",
        "# 点 ~3 @BEFORE|半|左右",
        "! 给您 ~4 @ANSWER",
        "! @CALL_BACK",
        "@LATER ~4 @TELL",
    ),
    "acceptance": (
        "@PLAN ~8 @ACCEPT ~3 @Q$",
        "@PLAN ~10 @EITHER",
        "@PLAN ~8 看 ~1 @ACCEPT$",
        "您觉得|你觉得|您看 ~8 @ACCEPT$",
        "是否 ~2 @ACCEPT",
        "@YOU ~4 @AGREE ~2 @Q$",
        "@YOU ~2 没意见|没有意见|没问题|不介意 ~1 吧|吗|呢",
    ),
    "blame": (
        "! @YOU ~1 自己 ~6 @ERR",
        "! 是|因为|属于|都是 ~3 @YOU ~2 @OWN_FAULT ~4 @FAULT",
        "! @YOU ~3 @BACK_THEN ~8 @WHY ~2 @NOT",  # 您当初下单的时候怎么不看清楚
        "@WHY ~1 @NOT ~1 @EARLY",
        "谁让|谁叫 ~1 @YOU",
        "@YOU ~1 早干嘛|早干什么|早干啥",
        "@IF ~3 @CAREFUL ~8 @WOULDNT",
        "@NOT_US",
        "! 怪|赖|要怪 ~1 @YOU ~1 自己",
        "! 是|因为|都怪 ~1 @YOU ~2 @SKIP",
        "! @YOU ~2 肯定|一定|又|就是 ~2 弄错|搞错|记错|看错|填错|写错|按错",  # 你肯定弄错了
        "@YOU ~1 不要|别 ~1 搞错|弄错|乱说|瞎说",  # 你不要搞错！: the caller told they are wrong
        "@YOU ~1 这样 ~1 不对",
        "@YOU ~1 不会自己 ~2 看|查|操作|弄",  # 你不会自己看？
        "早不 ~3 准备|说|问|弄|办|看",  # 早不准备好
    ),
    "impatience": (
        "不是 ~8 @SAID ~2 吗|嘛|么",
        "@ALREADY ~4 @SAID_BEFORE ~2 了",
        "都|已经 ~5 @AGAIN ~2 #2 ~1 @TIMES",
        "@TOLD ~2 #2|@MANY ~1 %遍|%次|回",  # 好几便: 遍 by its sound
        "听我|让我 ~4 说完|讲完",
        "别打断我|不要打断我|别插嘴|不要插嘴",
        "@YOU ~1 听清楚|听明白|听懂 ~6 没有$",
        "再 ~2 说|讲|解释 ~2 最后一次|最后一遍",
        "@STILL ~3 @LOST",
        "有没有在听|在不在听|有没有听|听没听|这么简单",
        "! @YOU 不明白|不懂|不会$",  # 你不明白 / 你不懂, said flat: not 您要是不明白, 您不懂也没关系
        "没事了吧|没事就挂了|没别的就挂了",  # hurrying the caller off the line
    ),
}
ACT_PREFIX = "act:"  # a match's ``phrase`` when an act, not a listed phrase, was found: "act:feeling"
# whole utterances an act never holds: a hold request's 可以吗 checks no resolution
ACT_UNLESS: dict[str, tuple[str, ...]] = {
    "acceptance": ("稍等", "等一下", "稍候", "等一会", "别挂", "不要挂"),
}


@dataclass(frozen=True)
class Slot:
    words: tuple[str, ...]  # alternatives; "#" / "#2": a run of number characters
    gap: int  # characters allowed between the slot before and this one
    at_end: bool = False  # the word ends the utterance or its clause


@dataclass(frozen=True)
class Template:
    source: str
    slots: tuple[Slot, ...]
    guard_before: bool  # no negation just before the first word, in its clause
    guard_after: bool = False  # nor just after the last (处理不了 is no action)


def compile_template(source: str) -> Template:
    """``"! @ACK ~6 @FEELING"`` → a template (see the module's docstring)."""
    tokens = source.split()
    guard = bool(tokens) and tokens[0] == "!"
    if guard:
        tokens = tokens[1:]
    after = bool(tokens) and tokens[-1] == "!"
    if after:
        tokens = tokens[:-1]
    slots: list[Slot] = []
    gap = 0
    for tok in tokens:
        if tok.startswith("~"):
            gap = int(tok[1:])
            continue
        at_end = tok.endswith("$")
        words: list[str] = []
        for alt in tok.rstrip("$").split("|"):
            if alt.startswith("@"):
                if alt[1:] not in WORDS:
                    raise ValueError(f"act template {source!r}: no word class {alt}")
                words += WORDS[alt[1:]]
            elif alt:
                words.append(alt)
        if not words:
            raise ValueError(f"act template {source!r}: an empty slot")
        slots.append(Slot(tuple(words), gap, at_end))
        gap = 0
    if not slots:
        raise ValueError(f"act template {source!r} has no words")
    return Template(source, tuple(slots), guard, after)


@lru_cache(maxsize=None)
def _templates(act: str) -> tuple[Template, ...]:
    return tuple(compile_template(t) for t in ACTS[act])


@lru_cache(maxsize=65536)
def _hits(text: str, word: str) -> tuple[tuple[int, int], ...]:
    """Where ``word`` is in ``text`` (normalised character offsets), as the tolerant matcher finds it."""
    norm = normalize(text)
    if word.startswith("%") and len(word) == 2:
        sound = _syllable(word[1])
        return tuple((i, i + 1) for i, s in enumerate(norm.syllables) if s == sound)
    if word in ("#", "#2"):
        return tuple((m.start(), m.end()) for m in _NUMBER.finditer(norm.chars)
                     if word == "#" or m.group() != "一")
    return tuple((m.start, m.end) for m in find_all(norm, word))


def _clean_gap(norm: NormText, a: int, b: int, stops: tuple[str, ...]) -> bool:
    gap = norm.chars[a:b]
    for w in NOT_NEGATIONS:
        gap = gap.replace(w, "")
    if any(c in NEGATIONS for c in gap):
        return False
    if any(w in gap for w in stops):
        return False
    # a report word as heard, not only as written (县示 for 显示); those with a pronoun only as
    # written (您得 would be any 您的)
    return not any(a <= s and e <= b for w in stops if not (set(w) & PRONOUN_CHARS)
                   for s, e in _hits(norm.original, w))


def _negation_after(norm: NormText, pos: int) -> bool:
    """A negation right after ``pos``, past a filler word (处理那个不了)."""
    while norm.chars[pos:pos + 2] in FILLER_WORDS:
        pos += 2
    return norm.chars[pos:pos + 1] in NEGATIONS


def _clause_before(norm: NormText, start: int) -> str:
    """The characters of ``start``'s clause before it."""
    k = start
    while k > 0 and k not in norm.breaks:
        k -= 1
    return norm.chars[k:start]


def _negated_before(norm: NormText, start: int) -> bool:
    for k in range(start - 1, max(-1, start - 5), -1):
        if k + 1 in norm.breaks:
            return False
        if norm.chars[k] in NEGATIONS and not any(
                w in norm.chars[max(0, k - 3):k + 4] for w in NOT_NEGATIONS):
            return True
    return False


@lru_cache(maxsize=None)
def _word_chars(word: str) -> frozenset[str]:
    """The characters a match of ``word`` must share with the text: every match of the tolerant
    matcher keeps at least one as written (sound alone never counts), so a word sharing none
    is skipped unasked. Empty for the sound and number slots, which are always asked."""
    if word.startswith(("%", "#")):
        return frozenset()
    return frozenset(normalize(word).chars)


@lru_cache(maxsize=None)
def _slot_chars(words: tuple[str, ...]) -> frozenset[str] | None:
    """Every character a slot's words could share with a text (None: a sound or number slot)."""
    if any(not _word_chars(w) for w in words):
        return None
    return frozenset().union(*(_word_chars(w) for w in words))


def _slot_hits(norm: NormText, slot: Slot) -> list[tuple[int, int]]:
    present = norm.char_set
    anyof = _slot_chars(slot.words)
    if anyof is not None and anyof.isdisjoint(present):
        return []  # most templates end here, at their first slot, on most utterances
    out = sorted({h for w in slot.words if not (chars := _word_chars(w)) or not chars.isdisjoint(present)
                  for h in _hits(norm.original, w)})
    if slot.at_end:
        out = [(s, e) for s, e in out if e == len(norm.chars) or e in norm.breaks]
    return out


def _match(norm: NormText, t: Template, act: str) -> tuple[int, int] | None:
    stops, before = GAP_STOPS.get(act, ()), CLAUSE_STOPS.get(act, ())
    firsts = _slot_hits(norm, t.slots[0])
    if not firsts:
        return None
    rest = [_slot_hits(norm, s) for s in t.slots[1:]]
    if any(not r for r in rest):
        return None
    for start, end in firsts:
        if t.guard_before and _negated_before(norm, start):
            continue
        if before and any(w in _clause_before(norm, start) for w in before):
            continue
        pos, ok = end, True
        for slot, hits in zip(t.slots[1:], rest):
            nxt = next(((s, e) for s, e in hits if pos <= s <= pos + slot.gap and _clean_gap(norm, pos, s, stops)), None)
            if nxt is None:
                ok = False
                break
            pos = nxt[1]
        if ok and t.guard_after and _negation_after(norm, pos):
            ok = False
        if ok:
            return start, pos
    return None


def find_act(text: str, act: str, unless: tuple[str, ...] = ()) -> Match | None:
    """The first place ``text`` does ``act``, not overlapping an ``unless`` phrase (as written)."""
    return _find_act(text, act, tuple(unless))


@lru_cache(maxsize=32768)
def _find_act(text: str, act: str, unless: tuple[str, ...]) -> Match | None:
    norm = normalize(text)
    if not norm.chars:
        return None
    if any(find_all(norm, u, exact=True) for u in ACT_UNLESS.get(act, ())):
        return None
    exceptions = find_exceptions(norm, unless)
    for t in _templates(act):
        hit = _match(norm, t, act)
        if hit and not any(e.start < hit[1] and hit[0] < e.end for e in exceptions):
            s, e = hit
            return Match(f"{ACT_PREFIX}{act}", s, e, norm.span_text(s, e), norm.span(s, e))
    return None
