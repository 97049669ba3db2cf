"""The rule pack loads whole or not at all, and says where it is broken."""
import re

import pytest

from phonecoach.core.errors import RulePackError
from phonecoach.judging.rulepack import DEFAULT_PACK, load_pack

ISSUE_RULES = {"answer.greeting", "answer.name", "answer.offer_help", "answer.apology_after_wait",
               "hold.ask_permission", "hold.thank_consent", "hold.give_reason", "hold.thank_after",
               "transfer.explain", "transfer.consent", "close.confirm", "close.anything_else", "close.thanks",
               "never.rude", "never.shift_blame", "never.impatient", "voice.polite", "voice.say_no_gently"}


def test_default_pack_has_every_text_rule_with_source_fix_and_line(pack):
    ids = {r.id for r in pack.rules}
    assert ISSUE_RULES <= ids
    for r in pack.rules:
        assert r.source and r.fix and r.message and r.line > 0
    text = DEFAULT_PACK.read_text(encoding="utf-8").splitlines()
    r = pack.get("never.shift_blame")
    assert text[r.line - 1].strip() == "[[rule]]"
    assert f'id = "{r.id}"' in text[r.line]


GOOD_RULE = '''
[[rule]]
id = "x.greet"
title = "Greet"
source = "致以问候语"
severity = "major"
weight = 5
check = "phrase_in_window"
phrases = ["您好"]
message = "m"
fix = "f"
'''


def write(tmp_path, text, name="pack.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_pack_loads(tmp_path):
    pack = load_pack(write(tmp_path, GOOD_RULE))
    assert [r.id for r in pack.rules] == ["x.greet"]
    assert pack.rules[0].params["part"] == "opening"  # the check's default


@pytest.mark.parametrize("edit,expect_line,expect", [
    (lambda t: t.replace('severity = "major"', 'severity = "huge"'), 6, "severity must be one of"),
    (lambda t: t.replace('weight = 5', 'weight = "five"'), 7, "weight must be a finite number"),
    (lambda t: t.replace('weight = 5', 'weight = nan'), 7, "weight must be a finite number"),
    (lambda t: t.replace('weight = 5', 'weight = inf'), 7, "weight must be a finite number"),
    (lambda t: t.replace('check = "phrase_in_window"', 'check = "magic"'), 8, "unknown check 'magic'"),
    (lambda t: t.replace('fix = "f"\n', ''), 2, "'fix' is missing"),
    (lambda t: t.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { colour = 3 }'), 10,
     "has no parameter 'colour'"),
    (lambda t: t.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { utterances = "two" }'), 10,
     "parameter 'utterances' must be a finite number"),
    (lambda t: t.replace('phrases = ["您好"]', 'patterns = ["工号[0-9"]'), 9, "bad pattern"),
    (lambda t: t.replace('phrases = ["您好"]', 'phrases = []'), 9, "needs phrases, patterns or acts"),
    (lambda t: t.replace('title = "Greet"', 'title = "Greet"\ncolour = "red"'), 5, "unknown field 'colour'"),
    (lambda t: t + t, 14, "duplicate rule id 'x.greet'"),
    # a misspelt step, part or measure would judge every call wrongly: refused where it is written
    (lambda t: t.replace('phrases = ["您好"]', 'phrases = ["您好"]\nparams = { part = "closng" }'), 10,
     "parameter 'part' must be one of opening, closing ('closng')"),
    (lambda t: t.replace('check = "phrase_in_window"', 'check = "hold_step"').replace(
        'phrases = ["您好"]', 'phrases = ["可以吗"]\nparams = { step = "ask_permision" }'), 10,
     "parameter 'step' must be one of ask_permission, give_reason"),
    (lambda t: t.replace('check = "phrase_in_window"', 'check = "spans_max"').replace(
        'phrases = ["您好"]', 'params = { measure = "dead_aire", max_count = 0 }'), 9,
     "parameter 'measure' must be one of holds, interruptions, dead_air"),
    (lambda t: t.replace('check = "phrase_in_window"', 'check = "value_range"').replace(
        'phrases = ["您好"]', 'params = { min = 100.0 }'), 8, "parameter 'measure' must be one of agent_pace_cpm"),
])
def test_schema_errors_name_line_and_field(tmp_path, edit, expect_line, expect):
    p = write(tmp_path, edit(GOOD_RULE))
    with pytest.raises(RulePackError) as exc:
        load_pack(p)
    msg = str(exc.value)
    assert expect in msg and str(p) in msg
    assert re.search(rf"line {expect_line}\b", msg), msg


def test_toml_syntax_error(tmp_path):
    with pytest.raises(RulePackError, match=r"invalid TOML.*line 3"):
        load_pack(write(tmp_path, '[[rule]]\nid = "a"\ntitle = \n'))


def test_non_utf8_rule_file(tmp_path):
    p = tmp_path / "gbk.toml"
    p.write_bytes(GOOD_RULE.encode("gbk"))
    with pytest.raises(RulePackError, match="not UTF-8"):
        load_pack(p)


def test_one_bad_rule_refuses_the_whole_pack(tmp_path):
    bad = GOOD_RULE + GOOD_RULE.replace("x.greet", "x.other").replace('severity = "major"', 'severity = "?"')
    with pytest.raises(RulePackError):
        load_pack(write(tmp_path, bad))


def test_missing_rule_file(tmp_path):
    with pytest.raises(RulePackError, match="file not found"):
        load_pack(tmp_path / "none.toml")


def test_adding_a_rule_is_one_toml_entry(tmp_path, pack):
    """A new forbidden phrase rule needs no code: one entry and it judges calls."""
    from phonecoach.core.timeline import Timeline, Utterance
    from phonecoach.judging.engine import judge

    extra = DEFAULT_PACK.read_text(encoding="utf-8") + '''
[[rule]]
id = "never.promise"
title = "No promises we cannot keep"
source = "违规惩处-私自承诺减免"
severity = "major"
check = "phrase_never"
phrases = ["保证给您免单", "肯定能退款"]
message = "The agent promised something the company may not grant."
fix = "Say what you will ask for, not what you promise."
'''
    p = write(tmp_path, extra)
    tl = Timeline([Utterance("agent", "您好，我 保 证 给 您 免 单")])
    results = {r.rule.id: r.status for r in judge(load_pack(p), tl, "x").results}
    assert results["never.promise"] == "fail"
