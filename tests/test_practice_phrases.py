"""Real call centers' own phrase lists (../shared/phrases-from-practice.md, with their sources):
every standard phrase is kept, and every forbidden one is flagged by some rule, but for the few
no rule here judges (written down below, and in the README's known limits)."""
import os
import re
from pathlib import Path

import pytest

from phonecoach.core.timeline import Timeline, Utterance
from phonecoach.judging.engine import judge

ROOT = Path(__file__).resolve().parent.parent
LISTS = Path(os.environ.get("PHONECOACH_PRACTICE", ROOT.parent / "shared" / "phrases-from-practice.md"))
pytestmark = pytest.mark.skipif(not LISTS.is_file(), reason=f"the practice phrase lists are not at {LISTS}")

# what no rule of the pack judges: promises (绝对正品, 100%有效, 肯定能退款), an order that is often
# needed (您必须携带身份证), the one-word 七不 cut from any sentence, and a reassurance that reads
# the same as the forbidden boast (我们绝对不会出错: 您放心 makes it kind), and putting the caller off
# with a bare 我不清楚 (as a trigger it doubled never.shift_blame's 这不是我受理的，我不清楚)
NOT_JUDGED = {"你必须", "公司是绝对不会出错的", "你找别", "不知道", "不会", "不管", "不明白", "不懂",
              "绝对正品", "100%有效", "肯定能退款", "喂，我不清楚，您过两天再来电话吧"}
# rules a standard phrase may "break" in this one-line probe because the step's other half is not
# in it (a hold request with no return, a transfer with nobody named)
PROTOCOL = ("hold.", "transfer.")


def phrases(section: str) -> list[str]:
    text = LISTS.read_text(encoding="utf-8")
    block = re.split(r"^## ", text, flags=re.M)
    body = next(b for b in block if b.startswith(section))
    out = []
    for line in body.splitlines():
        if not line.startswith("- "):
            continue
        said = re.split(r" — | \([ABC]\)|\. Also|\. Source", line[2:])[0]
        if ":" in said:
            said = said.split(":", 1)[1]
        for p in re.split(r" · | / |。 ", said):
            p = p.strip(" .·").rstrip("…")
            if re.search(r"[\u4e00-\u9fff]", p) and len(p) >= 2:
                out.append(p)
    return out


def broken(pack, said: str) -> set[str]:
    """The rules an agent's line breaks in a short, otherwise courteous call."""
    def fails(line: str) -> set[str]:
        tl = Timeline([Utterance("agent", "您好，我是客服小陈，请问有什么可以帮您"), Utterance("customer", "我想问一下我的账单"),
                       Utterance("agent", line), Utterance("customer", "好的"),
                       Utterance("agent", "请问还有什么可以帮您？感谢您的来电，再见")], speakers_separated=True)
        return {r.rule.id for r in judge(pack, tl, "probe").results if r.status == "fail"}

    return fails(said) - fails("好的，我帮您看一下")


def test_the_lists_are_read():
    assert len(phrases("2.")) >= 15 and len(phrases("3.")) >= 50


def test_every_standard_phrase_is_kept(pack):
    for said in phrases("2."):
        wrong = {r for r in broken(pack, said) if not r.startswith(PROTOCOL)}
        assert not wrong, (said, wrong)


def test_every_forbidden_phrase_is_flagged_but_those_no_rule_judges(pack):
    missed = [said for said in phrases("3.") if said not in NOT_JUDGED and not broken(pack, said)]
    assert not missed, missed
