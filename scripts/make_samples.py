#!/usr/bin/env python3
"""Regenerate samples/: short stereo calls (agent left, customer right) spoken by
espeak-ng, with their reference transcripts and the findings we expect.

Each call is written as ``<name>.wav`` (8 kHz stereo, as telephone recorders
store them), ``<name>.transcript.json`` (what was said, with times) and
``<name>.expected.json`` (the rules this call is built to break).

    python scripts/make_samples.py [OUT_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from phonecoach.synth import Pause, Tone, Turn, build_call, busy_tone, ringback  # noqa: E402

A, C = "agent", "customer"

CALLS: dict[str, dict] = {
    "good_call": {
        "about": "A model call: greeting, name, offer of help, a hold done right, recap, thanks.",
        "items": [
            Tone(C, ringback(2)),
            Turn(A, "您好，星辰电信客服中心，我是八零二三号客服小王，请问有什么可以帮您？", gap=0.3),
            Turn(C, "你好，我家的宽带从昨天开始就上不了网了。"),
            Turn(A, "非常抱歉给您带来不便，请您稍等一下，我帮您查询一下线路状态，可以吗？"),
            Turn(C, "好的。"),
            Turn(A, "谢谢您。"),
            Pause(12.0),
            Turn(A, "感谢您的耐心等待，您所在的小区线路正在检修，预计今天下午五点前恢复。"),
            Turn(C, "那好吧。"),
            Turn(A, "跟您确认一下，我已经为您登记了故障，恢复后会短信通知您。请问还有什么可以帮您？"),
            Turn(C, "没有了，谢谢。"),
            Turn(A, "感谢您的来电，祝您生活愉快，再见。"),
            Pause(1.0),
            Tone(A, busy_tone(2.1)),
        ],
        "fails": [],
    },
    "blame_call": {
        "about": "No greeting or name, shifts blame, impatient, refuses bluntly, skips the closing.",
        "items": [
            Turn(A, "喂，什么事？", gap=0.3),
            Turn(C, "你好，我上个月的话费多扣了五十块钱。"),
            Turn(A, "扣费是计费部门的事，与我无关，你找别人去。"),
            Turn(C, "那你能帮我转过去吗？"),
            Turn(A, "不行，没办法，我已经说过了，你听不懂吗？"),
            Turn(C, "你这是什么态度？"),
            Turn(A, "就这样，再见。"),
        ],
        "fails": ["answer.greeting", "answer.name", "answer.offer_help", "never.shift_blame",
                  "never.impatient", "voice.say_no_gently", "voice.polite", "close.confirm",
                  "close.anything_else", "close.thanks"],
    },
    "hold_call": {
        "about": "Good opening, but the hold is done badly: no permission, no reason, no thanks after.",
        "items": [
            Turn(A, "您好，很高兴为您服务，我是客服小李，请问有什么可以帮您？", gap=0.3),
            Turn(C, "我想查一下我的积分还有多少。"),
            Turn(A, "稍等。"),
            Pause(14.0),
            Turn(A, "您的积分是三千二百分，可以兑换话费。"),
            Turn(C, "好的，我知道了。"),
            Turn(A, "请问还有什么可以帮您？"),
            Turn(C, "没有了。"),
            Turn(A, "感谢您的来电，再见。"),
        ],
        "fails": ["hold.ask_permission", "hold.give_reason", "hold.thank_after", "close.confirm"],
    },
    "transfer_call": {
        "about": "A transfer with no reason, no name or extension and no agreement asked.",
        "items": [
            Turn(A, "您好，我是工号六六八的客服，请问有什么可以帮您？", gap=0.3),
            Turn(C, "我的发票开错了，要重新开。"),
            Turn(A, "这个我给您转接一下。"),
            Turn(C, "啊？"),
            Turn(A, "谢谢您的来电，再见。"),
        ],
        "fails": ["transfer.explain", "transfer.consent", "close.confirm", "close.anything_else"],
    },
}


def main(out_dir: str = "samples") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in CALLS.items():
        call = build_call(spec["items"])
        call.write(out / f"{name}.wav", sr=8000)
        ring = call.spans.get("tone:customer", [])
        transcript = {"about": spec["about"], "turns": call.turns}
        (out / f"{name}.transcript.json").write_text(
            json.dumps(transcript, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        expected = {"fails": sorted(spec["fails"]), "ground_truth": {k: v for k, v in call.spans.items()}}
        if ring:
            expected["ground_truth"]["ringback_seconds"] = ring[0][1] - ring[0][0]
        (out / f"{name}.expected.json").write_text(
            json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: {call.stereo.shape[0] / call.sr:.1f} s, {len(call.turns)} turns")


if __name__ == "__main__":
    main(*sys.argv[1:])
