"""Customers' personal numbers in what was said: resident IDs, mobiles, landlines, bank cards and
e-mail addresses, found as the recogniser and agents say them, so that every output can carry
a typed tag (``[身份证号]``) instead.

Mandarin speakers read numbers digit by digit, and the recogniser writes them as Arabic or
Chinese digits, mixed, split over words and over turns (six digits, a pause, the rest), with
幺 for 1, 两 for 2, 洞 for 0, and typed transcripts add spaces and dashes. So every text is read
as a stream of digits (``digit_runs``): a run is the longest stretch of digit characters with at
most ``GAP`` separators (spaces, dashes, commas, 、) between them; units (十 百 千 万), 块, 元,
年, 月, 点 end a run, which is why amounts, dates and times never make long runs.

What a run is (``classify``), most certain first:

- 18 characters (17 digits and a digit or X) whose ISO 7064 MOD 11-2 check digit holds, or
  15 digits whose birth date is a date: a resident ID;
- 11 digits from 13-19: a mobile (10 or 12 too: the recogniser dropped or doubled a digit);
- 16-19 digits whose Luhn digit holds: a bank card;
- 9-12 digits from 0 (an area code and a number): a landline;
- else the words before it decide (身份证, 手机, 电话, 卡号, 号码是…, within ``CONTEXT_CHARS``
  characters, or the other party's question just before): a run of 6 or more digits after
  such a word is that kind. A run of 13 or more digits is personal unless the words say it is
  not (recall first: a leaked ID, a digit short, is worse than a masked reference number).

Not personal, kept as said: the agent's own 工号 (the greeting rule needs it) and any run after
工号 / 订单号 / 单号 / 验证码 as the nearest such word (but an 18-character run whose ID check
holds); a number the agent gives the caller to call (拨打, 您记一下号码, 售后电话是, 热线…),
400/800 and 95xxx service numbers and the pack's hotlines (``[privacy] hotlines``: 10086,
95588, …); runs of 6-10 digits with no word saying what they are. A number split over two turns of one speaker (or read back in
pieces) is judged as one when the pieces join without other words between them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

DIGIT = {**{c: c for c in "0123456789"}, **dict(zip("０１２３４５６７８９", "0123456789")),
         "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "么": "1", "二": "2", "两": "2", "俩": "2",
         "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
         "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9"}
X_CHARS = frozenset("Xx×叉")  # an ID's last character, read as 叉 or typed as X
SEPARATORS = frozenset(" \t-–—_,，、.·/呃嗯啊")  # and the fillers a reader says between digits
GAP = 3  # separators allowed between two digits of one run (" - ")
CONTEXT_CHARS = 12  # how far before a run its kind is read from the words
JOIN_SECONDS = 15.0  # a number's pieces in turns this close are one number

KINDS = {"id": "[身份证号]", "mobile": "[手机号]", "landline": "[电话号码]", "card": "[银行卡号]",
         "email": "[邮箱]", "number": "[号码]"}
TAGS = frozenset(KINDS.values())
CONTEXT = (  # words before a run that say what it is, the nearer the surer
    ("id", ("身份证", "证件号", "身份号", "证号")),
    ("card", ("银行卡", "卡号", "储蓄卡", "信用卡", "借记卡", "账号", "帐号", "卡的号")),
    ("mobile", ("手机", "电话", "联系方式", "号码", "机号", "来电", "座机", "打给", "固话", "宅电", "分机")),
)
KEEP_CONTEXT = ("工号", "订单", "单号", "编号", "流水号", "快递", "金额", "元", "块钱", "验证码",
                # a number the agent gives the caller to call is the company's, not the caller's
                "拨打", "记一下号码", "记下号码", "记一下这个号码", "记一下电话", "热线", "客服电话", "售后电话",
                "服务电话", "举报电话", "投诉电话", "总机", "公司电话", "部门电话", "那边的号码", "电话我给您",
                "号码我给您", "我给您报一下")
EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*\s*(?:@|＠|艾特|at)\s*[A-Za-z0-9-]+(?:\s*(?:\.|点)\s*[A-Za-z0-9-]+)+",
                   re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """A personal number in one text: its characters ``start:end`` and its kind."""

    start: int
    end: int
    kind: str
    digits: str

    @property
    def tag(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class _Run:
    start: int
    end: int
    digits: str


def digit_runs(text: str) -> list[_Run]:
    """The stretches of ``text`` that read as digits (see the module's docstring)."""
    runs: list[_Run] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] not in DIGIT:
            i += 1
            continue
        start, digits, j, last = i, [], i, i
        while j < n:
            ch = text[j]
            if ch in DIGIT:
                digits.append(DIGIT[ch])
                last = j
                j += 1
            elif ch in X_CHARS and len(digits) in (17, 14):  # an ID's check character
                digits.append("X")
                last = j
                j += 1
                break
            elif ch in SEPARATORS and j - last <= GAP:
                j += 1
            else:
                break
        runs.append(_Run(start, last + 1, "".join(digits)))
        i = last + 1
    return runs


def id_check(d: str) -> bool:
    """An 18-character resident ID whose MOD 11-2 check character holds."""
    if len(d) != 18 or not d[:17].isdigit():
        return False
    weights = [2 ** (17 - k) % 11 for k in range(17)]
    total = sum(int(c) * w for c, w in zip(d[:17], weights))
    return "10X98765432"[total % 11] == d[17].upper()


def old_id(d: str) -> bool:
    """A 15-digit resident ID of the old form: area code, YYMMDD, three digits."""
    return len(d) == 15 and d.isdigit() and 1 <= int(d[8:10]) <= 12 and 1 <= int(d[10:12]) <= 31


def luhn(d: str) -> bool:
    if not d.isdigit() or len(d) < 12:
        return False
    total = 0
    for k, c in enumerate(reversed(d)):
        v = int(c) * (2 if k % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def _context_kind(before: str) -> str | None:
    """What the words just before a run say it is (the word ending nearest the run wins, the
    longer on a tie), 'keep' for an agent's 工号, an order number or a number to call, None for
    nothing. Read with the rules' tolerant matcher, so ASR's spaces and homophones (您及一下好码)
    still tell."""
    from .textmatch import find_all, normalize

    kept, k = 0, len(before)
    while k > 0 and kept < CONTEXT_CHARS:  # the last CONTEXT_CHARS characters that are not spaces
        k -= 1
        kept += not before[k].isspace()
    norm = normalize(before[k:])
    best, at = None, (-1, 0)
    for kind, words in CONTEXT + (("keep", KEEP_CONTEXT),):
        for w in words:
            found = find_all(norm, w, exact=True)  # homophones, no dropped or inserted words
            if found and (found[-1].span[1], len(w)) > at:
                best, at = kind, (found[-1].span[1], len(w))
    return best


def _service(digits: str) -> bool:
    """A company's service number: 400/800, or a 95xxx/96xxx line."""
    n = len(digits)
    return (n == 10 and digits[:3] in ("400", "800")) or (n in (5, 6, 7, 8) and digits[:2] in ("95", "96"))


def classify(digits: str, before: str = "", hotlines: Iterable[str] = ()) -> str | None:
    """The kind of personal number ``digits`` is, read after the words ``before`` (nearest
    last), or None when it is not one."""
    n = len(digits)
    if digits in set(hotlines) or n < 6:
        return None
    if _service(digits):
        return None
    ctx = _context_kind(before)  # (read only for runs long enough to be a number: it costs a match)
    if 16 <= n <= 19 and ctx == "card":
        return "card"
    if n == 18 and (id_check(digits) or ctx == "id"):
        return "id"
    if n == 11 and digits[0] == "1" and digits[1] in "3456789" and ctx != "card":
        return "mobile"  # whoever's it is (a technician's mobile the agent gives out is personal too)
    if 16 <= n <= 19 and luhn(digits):
        return "card"
    if ctx == "keep":  # 工号, 订单号, a number to call…: the words say it is no customer's
        return None
    if n == 15 and (old_id(digits) and ctx != "card" or ctx == "id"):
        return "id"
    if n in (10, 12) and digits[0] == "1" and digits[1] in "3456789" and ctx not in ("id", "card"):
        return "mobile"  # a mobile with a digit the recogniser dropped or doubled: recall first
    if 9 <= n <= 12 and digits[0] == "0":
        return "landline"  # an area code and a number (9: a digit dropped)
    if n >= 13:  # long, with nothing saying what it is: an ID a digit off, where its birth year sits
        if ctx in ("id", "card"):
            return ctx
        if n in (16, 17, 19) and digits[6:8] in ("19", "20") or n == 14 and 1 <= int(digits[8:10]) <= 12:
            return "id"
        return "number"
    if ctx in ("id", "card", "mobile") and n >= 6:
        return {"mobile": "landline" if digits[0] == "0" or n in (7, 8) else "mobile"}.get(ctx, ctx)
    return None


def find_personal(text: str, before: str = "", hotlines: Iterable[str] = (), strict: bool = False) -> list[Found]:
    """The personal numbers and e-mail addresses in one text (``before``: what was said just
    before it, for context). ``strict``: any other run of 6 or more digits that the words do not
    say is no customer's is masked too (a text written before the rest of a number is heard)."""
    out = [Found(m.start(), m.end(), "email", m.group(0)) for m in EMAIL.finditer(text)]
    for run in digit_runs(text):
        if any(f.start <= run.start < f.end for f in out):
            continue
        kind = classify(run.digits, before + text[:run.start], hotlines)
        if kind is None and strict and len(run.digits) >= 6 and run.digits not in set(hotlines) \
                and _context_kind(before + text[:run.start]) != "keep" and not _service(run.digits):
            kind = "number"
        if kind:
            out.append(Found(run.start, run.end, kind, run.digits))
    return sorted(out, key=lambda f: f.start)


def mask(text: str, found: Sequence[Found]) -> str:
    """``text`` with each found number replaced by its tag."""
    out, at = [], 0
    for f in sorted(found, key=lambda f: f.start):
        if f.start < at:
            continue
        out += [text[at:f.start], f.tag]
        at = f.end
    return "".join(out) + text[at:]


def redact_text(text: str, before: str = "", hotlines: Iterable[str] = (), strict: bool = False) -> str:
    return mask(text, find_personal(text, before, hotlines, strict))


def masked_caller(caller: str | None) -> str | None:
    """A caller's number from the phone system as an export shows it in a redacted store: the
    last four digits, as bills print a card (the store keeps the number to match calls back)."""
    if not caller:
        return caller
    digits = [c for c in caller if c.isdigit()]
    keep = 4 if len(digits) > 6 else 0
    seen, out = 0, []
    for c in caller:
        if c.isdigit():
            seen += 1
            out.append(c if seen > len(digits) - keep else "*")
        else:
            out.append(c)
    return "".join(out)
