"""The development set for finding customers' personal numbers (issue 38), written for this
project: hand-written sentences of each form a recogniser or a typed transcript gives, the
near-misses that must stay as said, and a generator of many more (valid check digits, every
spoken form, with and without the words that say what a number is). benchmarks/privacy.py
measures recall and precision per kind on it."""
from __future__ import annotations

import numpy as np

PERSONAL = [  # (text, the kind of the one number in it)
    ("我的身份证号是11010519491231002X", "id"),
    ("身份证号码 110105 19491231 002X", "id"),
    ("幺幺零幺零五幺九四九幺二三幺零零二叉", "id"),
    ("证件号是四四零三零五一九八八零八一五二三四一", "id"),  # 18 characters, told by the words
    ("我的老身份证是 110105491231002", "id"),  # the old 15-digit form
    ("我的手机号是13800138000", "mobile"),
    ("一三八 零零一三 八零零零", "mobile"),
    ("幺三九幺二三四五六七八", "mobile"),
    ("号码是一 五 九 两 八 六 七 洞 洞 幺 三", "mobile"),  # ASR: a space between every character
    ("您的电话是138-0013-8000对吗", "mobile"),
    ("手机一八六一二三四五六七八", "mobile"),
    ("1三8零0一3八000", "mobile"),  # Arabic and Chinese digits mixed
    ("卡号是6222 0212 3456 7890 128", "card"),
    ("银行卡号六二二二零二一二三四五六七八九零一二八", "card"),
    ("信用卡4111111111111111", "card"),
    ("座机是010-62345678", "landline"),
    ("电话零七五五 八六一二三四五六", "landline"),
    ("家里电话是62345678", "landline"),
    ("邮箱是zhangsan@163.com", "email"),
    ("我的邮箱 li.si 艾特 qq 点 com", "email"),
]

NEAR_MISSES = [  # not a customer's number: kept as said
    "您好，中国移动10086，工号8812为您服务",
    "我的工号是一零二三四五六，很高兴为您服务",
    "您这个月的话费是一百五十八元",
    "一共是三千二百五十块钱",
    "二零二六年十一月二十七号下午三点半",
    "2026年11月27日 15:30",
    "我已经等了二十分钟了",
    "这是我第三次打电话了",
    "尾号1234的那张卡",
    "您可以拨打95588咨询",
    "订单号是2026112712345678",
    "您的快递单号是 SF1234567890",
    "我们会在二十四小时之内给您回电",
    "积分还有三千二百分",
    "房间号一二零三",
    "优惠价九十九点九元",
    "请在七个工作日内处理",
    "验证码是六位数123456",
    "打12345市民热线",
    "一二三四五六",  # six digits, nothing says what they are
]

AREAS = ("110105", "310101", "440305", "510104", "330106", "420102", "610113", "210102")
AREA_CODES = ("10", "21", "20", "755", "571", "28", "27", "29")
CN = dict(zip("0123456789", "零一二三四五六七八九"))
ALT = {"1": "幺", "0": "洞", "2": "两"}
CONTEXT = {
    "id": ("我的身份证号是", "身份证号码是", "证件号", "身份证", "我身份证号码是"),
    "mobile": ("我的手机号是", "手机号码", "我手机", "您的电话是", "号码是", "联系电话"),
    "card": ("卡号是", "银行卡号", "我的储蓄卡", "信用卡卡号", "卡号"),
    "landline": ("座机是", "家里电话", "电话是", "固话"),
}
BARE = ("", "是", "嗯，", "好的，", "对，是")


def _check_id(d17: str) -> str:
    weights = [2 ** (17 - k) % 11 for k in range(17)]
    return d17 + "10X98765432"[sum(int(c) * w for c, w in zip(d17, weights)) % 11]


def _luhn_complete(body: str) -> str:
    total = 0
    for k, c in enumerate(reversed(body + "0")):
        v = int(c) * (2 if k % 2 else 1)
        total += v - 9 if v > 9 else v
    return body + str((10 - total % 10) % 10)


def number(kind: str, rng: np.random.Generator, with_context: bool) -> str:
    digits = lambda n: "".join(str(int(d)) for d in rng.integers(0, 10, n))  # noqa: E731
    if kind == "id":
        born = f"{int(rng.integers(1950, 2006))}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
        return _check_id(str(rng.choice(AREAS)) + born + digits(3))
    if kind == "id15":
        born = f"{int(rng.integers(50, 100))}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
        return str(rng.choice(AREAS)) + born + digits(3)
    if kind == "mobile":
        return "1" + str(rng.choice(list("3456789"))) + digits(9)
    if kind == "card":  # an 18-digit card can pass an ID's check too: only where the words say card
        n = int(rng.choice([16, 17, 18, 19] if with_context else [16, 17, 19]))
        return _luhn_complete("62" + digits(n - 3))
    if kind == "landline":
        return "0" + str(rng.choice(AREA_CODES)) + digits(int(rng.choice([7, 8])))
    raise ValueError(kind)


def say(d: str, rng: np.random.Generator, slips: bool = True) -> str:
    """``d`` as a recogniser or a typist writes it (``slips``: a digit dropped, a 呃 between)."""
    form = rng.integers(0, 8 if slips else 6)
    if form == 6:  # the recogniser dropped one digit (an 11-digit mobile heard as 10)
        k = int(rng.integers(1, len(d) - 1))
        return say(d[:k] + d[k + 1:], rng, False)
    if form == 7:  # the reader hesitates between the digits
        k = int(rng.integers(2, len(d) - 2))
        return say(d[:k], rng, False) + str(rng.choice(["呃", "嗯 ", "，呃，"])) + say(d[k:], rng, False)
    if form in (0, 2):
        return d
    if form == 1:  # Chinese digits, with 幺/洞/两 now and then
        return "".join(ALT[c] if c in ALT and rng.random() < 0.4 else CN.get(c, "叉") for c in d)
    if form == 2 and len(d) >= 6:  # in groups
        cuts = sorted(set(int(x) for x in rng.integers(2, len(d) - 1, 3)))
        parts = [d[a:b] for a, b in zip([0] + cuts, cuts + [len(d)])]
        return str(rng.choice([" ", "-", " - "])).join(parts)
    if form == 3:  # a space between every character (ASR)
        return " ".join(CN.get(c, "叉") for c in d)
    if form == 4:  # mixed
        return "".join(c if rng.random() < 0.5 else CN.get(c, "X") for c in d)
    return "".join(ALT.get(c, CN.get(c, "叉")) for c in d)  # all the telephone forms


def near_miss(rng: np.random.Generator) -> str:
    n = lambda a, b: int(rng.integers(a, b))  # noqa: E731
    forms = [
        lambda: f"一共{n(1, 999)}元",
        lambda: f"您的话费是{CN[str(n(1, 9))]}百{CN[str(n(1, 9))]}十{CN[str(n(1, 9))]}块",
        lambda: f"{n(2020, 2027)}年{n(1, 13)}月{n(1, 29)}日",
        lambda: f"下午{CN[str(n(1, 9))]}点{CN[str(n(1, 5))]}十分",
        lambda: f"工号{n(1000, 99999)}为您服务",
        lambda: f"工号{''.join(CN[c] for c in str(n(1000000, 9999999)))}",
        lambda: f"订单号{n(10 ** 12, 10 ** 14)}",
        lambda: f"尾号{n(1000, 9999)}",
        lambda: f"等了{n(2, 60)}分钟",
        lambda: f"第{n(2, 9)}次",
        lambda: str(rng.choice(["10086", "请拨打10086", "10086为您服务"])),
        lambda: f"积分{n(100, 99999)}分",
        lambda: f"{n(1, 30)}个工作日内",
    ]
    return forms[n(0, len(forms))]()


def spoken_cases(seed: int = 0, n: int = 400) -> list[tuple[str, str | None]]:
    """``n`` sentences: personal numbers of every kind in every form (half with the words that
    say what they are, half bare), and as many near-misses; (text, kind or None)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str | None]] = []
    kinds = ["id", "id15", "mobile", "card", "landline"]
    for k in range(n):
        kind = kinds[k % len(kinds)]
        with_context = bool(k % 2) or kind == "landline" and False
        d = number(kind, rng, with_context)
        ctx = str(rng.choice(CONTEXT["id" if kind == "id15" else kind])) if with_context else str(rng.choice(BARE))
        out.append((ctx + say(d, rng) + str(rng.choice(["", "，对吗", "。", "，谢谢"])), "id" if kind == "id15" else kind))
        out.append((near_miss(rng), None))
    return out
