"""Transcript files: the JSON and line formats users already have, and clear errors."""
import json

import pytest

from phonecoach.core.errors import TranscriptError
from phonecoach.inputs.transcript import load_transcript


def test_json_turns_with_times(tmp_path):
    p = tmp_path / "call.json"
    p.write_text(json.dumps({"ring_seconds": 12, "turns": [
        {"speaker": "agent", "text": "您好，我是小王", "start": 0.0, "end": 2.1},
        {"speaker": "customer", "text": "你好", "start": 2.5, "end": 3.0}]}, ensure_ascii=False), encoding="utf-8")
    tl = load_transcript(p)
    assert [u.speaker for u in tl.utterances] == ["agent", "customer"]
    assert tl.utterances[0].end == 2.1 and tl.has_times and tl.ring_seconds == 12


def test_json_without_times_and_chinese_speaker_names(tmp_path):
    p = tmp_path / "call.json"
    p.write_text(json.dumps({"turns": [{"speaker": "坐席", "text": "您好"}, {"speaker": "客户", "text": "喂"}]},
                            ensure_ascii=False), encoding="utf-8")
    tl = load_transcript(p)
    assert [u.speaker for u in tl.utterances] == ["agent", "customer"] and not tl.has_times


@pytest.mark.parametrize("prefix_a,prefix_c", [("坐席：", "客户："), ("客服:", "客户:"), ("agent: ", "customer: ")])
def test_plain_text_prefixes(tmp_path, prefix_a, prefix_c):
    p = tmp_path / "call.txt"
    p.write_text(f"{prefix_a}您好，请问有什么可以帮您？\n{prefix_c}我的网断了\n续行\n", encoding="utf-8")
    tl = load_transcript(p)
    assert [u.speaker for u in tl.utterances] == ["agent", "customer"]
    assert tl.utterances[1].text == "我的网断了续行"


def test_utf8_bom_is_accepted(tmp_path):
    p = tmp_path / "call.txt"
    p.write_bytes("坐席：您好\n".encode("utf-8-sig"))
    assert load_transcript(p).utterances[0].text == "您好"


@pytest.mark.parametrize("content,expect", [
    (b"", "transcript is empty"),
    (b'{"turns": [{"speaker": "agent", "text": "hi"}', "malformed JSON at line 1"),
    (b'{"turns": [{"speaker": "boss", "text": "hi"}]}', "unknown speaker 'boss'"),
    (b'{"turns": [{"speaker": "agent"}]}', "turn 1: 'text' is missing"),
    (b'{"turns": [{"speaker": "agent", "text": "x", "start": 3, "end": 1}]}', "before 'start'"),
    (b'{"nothing": 1}', "needs a 'turns' list"),
    ("坐席：您好".encode("gbk"), "not UTF-8"),
    ("随便写的一行字".encode("utf-8"), "line 1: expected '坐席:'"),
])
def test_bad_transcripts_give_one_line_errors_naming_the_file(tmp_path, content, expect):
    p = tmp_path / ("t.json" if content.startswith(b"{") else "t.txt")
    p.write_bytes(content)
    with pytest.raises(TranscriptError) as exc:
        load_transcript(p)
    msg = str(exc.value)
    assert expect in msg and str(p) in msg and "\n" not in msg


def test_missing_transcript(tmp_path):
    with pytest.raises(TranscriptError, match="file not found"):
        load_transcript(tmp_path / "nope.json")
