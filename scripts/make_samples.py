#!/usr/bin/env python3
"""Regenerate samples/: short stereo calls (agent left, customer right) spoken by
espeak-ng, with their reference transcripts and the findings we expect.

Each call is written as ``<name>.flac`` (8 kHz stereo, as telephone recorders
store them, losslessly compressed), ``<name>.transcript.json`` (what was said, with times) and
``<name>.expected.json`` (the rules this call is built to break).

    python scripts/make_samples.py [OUT_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from phonecoach.inputs.synth import Hangup, Overlay, Pause, Tone, Turn, build_call, chewing_noise, ringback  # noqa: E402

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
            Hangup(C),
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
            Pause(0.5),
            Hangup(C),
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
            Pause(0.8),
            Hangup(C),
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
    "slow_answer_call": {
        "about": "Five rings before pick-up with no apology; the agent hangs up before the customer.",
        "items": [
            Tone(C, ringback(5)),
            Turn(A, "您好，我是客服小周，请问有什么可以帮您？", gap=0.4),
            Turn(C, "我想改一下收货地址。"),
            Turn(A, "好的，已经为您修改好了。请问还有什么可以帮您？"),
            Turn(C, "没有了，谢谢。"),
            Turn(A, "感谢您的来电，再见。"),
            Hangup(A, tone=False),
            Turn(C, "喂？我还想问一下运费。", gap=0.6),
            Pause(1.0),
        ],
        "fails": ["answer.rings", "answer.apology_after_wait", "close.customer_hangs_up_first"],
    },
    "rushed_call": {
        "about": "The agent talks over the customer, races through the answer, and leaves dead air.",
        "items": [
            Turn(A, "您好，我是客服小吴，请问有什么可以帮您？", gap=0.3),
            Turn(C, "我想问一下，我上个月办的那个宽带套餐，为什么这个月的账单比上个月多了很多"),
            Turn(A, "这个是因为您的优惠期已经结束了，现在按照标准资费收取，每个月一百二十元", overlap=2.5, speed=380),
            Turn(C, "那我可以换一个便宜一点的套餐吗？"),
            Turn(A, "可以的，我们有一个八十元的套餐，包含一百兆宽带和一张手机卡，您看可以吗", gap=5.0, speed=380),
            Turn(C, "好的，那就换吧。"),
            Turn(A, "好的，跟您确认一下，已经为您办理八十元套餐，下个月生效，请问还有什么可以帮您", speed=380),
            Turn(C, "没有了。"),
            Turn(A, "感谢您的来电，再见", speed=380),
            Pause(0.8),
            Hangup(C),
        ],
        "fails": ["never.interrupt", "voice.pace", "voice.response"],
    },
    "loud_call": {
        "about": "A flat, monotone agent who shouts once, eats while the customer talks, "
                 "and leaves the caller on hold for over a minute.",
        "items": [
            Turn(A, "您好，我是客服小郑，请问有什么可以帮您？", gap=0.3, intonation="x-low"),
            Turn(C, "我的快递已经一个星期了还没有到，物流信息也不更新，你们到底怎么回事"),
            Overlay(A, chewing_noise(3.0), offset=1.0),
            Turn(A, "麻烦您稍等一下，我帮您查询一下物流信息，可以吗？", intonation="x-low"),
            Turn(C, "好吧。"),
            Turn(A, "谢谢您。", intonation="x-low"),
            Pause(70.0, music=True),
            Turn(A, "感谢您的耐心等待，您的快递在中转站滞留了，我已经为您加急处理。", intonation="x-low"),
            Turn(C, "那你们什么时候能送到？"),
            Turn(A, "我已经说了加急处理了！", gain_db=14.0, intonation="x-low"),
            Turn(C, "好吧。"),
            Turn(A, "跟您确认一下，明天会为您送达。请问还有什么可以帮您？", intonation="x-low"),
            Turn(C, "没有了。"),
            Turn(A, "感谢您的来电，再见。", intonation="x-low"),
            Pause(0.8),
            Hangup(C),
        ],
        # the caller's 你们到底怎么回事 is a complaint the agent never apologises for, shows no
        # understanding of, nor checks the caller accepts the fix (phone rules section 9)
        "fails": ["voice.volume", "voice.smile", "never.eating_noise", "hold.duration", "never.impatient",
                  "complaint.apologise", "complaint.empathy", "complaint.confirm"],
    },
}


def main(out_dir: str = "samples") -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in CALLS.items():
        call = build_call(spec["items"])
        call.write(out / f"{name}.flac", sr=8000)
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
