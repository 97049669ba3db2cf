"""Live warnings are a function of the audio, not of which thread ran ahead (live/inorder.py).

Quick tests feed the judge one call's events from its three sources (each party's recogniser,
the listener) in many interleavings; the slow test runs the real path (Vosk, listener, judge)
twenty times with one party's worker delayed at random."""
import random

import pytest

from phonecoach.core.timeline import Utterance
from phonecoach.hearing.speech import Turn, TurnEvent
from phonecoach.live.inorder import LISTENER, InOrder
from phonecoach.live.judge import LiveJudge

from .test_live_replay import ko_setup  # noqa: F401 - the fixture

A, C = "agent", "customer"
SAID = [  # (speaker, text, start, end): a hold asked for without permission, a blunt answer,
    (A, "您好，我是小王，请问有什么可以帮您", 0.5, 3.0),  # dead air after the customer, a talk-over
    (C, "我想查一下这个月的话费", 3.5, 5.5),
    (A, "稍等", 6.0, 6.6),
    (A, "您的话费是五十元", 25.0, 27.0),
    (C, "怎么这么多，我上个月才三十", 27.5, 30.0),
    (A, "这个我不管", 29.0, 31.0),
    (C, "那怎么办", 31.5, 32.5),
    (A, "我帮您看看", 37.0, 38.5),
    (C, "好的谢谢", 39.0, 40.0),
]
END = 42.0


def sources() -> dict[str, list[tuple]]:
    """Each source's calls, in the order that source makes them (as the threads would)."""
    out: dict[str, list[tuple]] = {A: [], C: [], LISTENER: []}
    for party in (A, C):
        finals = [(e + 0.4, Utterance(s, text, b, e)) for s, text, b, e in SAID if s == party]
        t = 0.0
        while t < END:
            t = round(t + 0.2, 1)
            for at, u in [f for f in finals if t - 0.2 < f[0] <= t]:
                out[party].append(("on_final", u, t))
            out[party].append(("on_clock", party, t))
    t = 0.0
    while t < END:  # the listener's turns, 0.5 s at a time, each closed 1 s after its speech
        t = round(t + 0.5, 1)
        events = []
        for s, _, b, e in SAID:
            if t - 0.5 < b + 0.3 <= t:
                events.append(TurnEvent(s, "open", Turn(b, b + 0.3, 0.3, -20.0), b + 0.3))
            if t - 0.5 < e + 1.0 <= t:
                events.append(TurnEvent(s, "closed", Turn(b, e, e - b, -20.0), e + 1.0))
        out[LISTENER].append(("on_turns", sorted(events, key=lambda ev: ev.now), t, {}))
    return out


def interleaved(rng: random.Random) -> list[tuple]:
    """One possible arrival order: each source in its own order, the three mixed at random."""
    queues = {s: list(calls) for s, calls in sources().items()}
    out = []
    while any(queues.values()):
        s = rng.choice([s for s, q in queues.items() if q])
        out.append(queues[s].pop(0))
    return out


def feed(target, calls) -> None:
    for name, *args in calls:
        getattr(target, name)(*args)


def warnings_of(pack, calls, ordered: bool) -> list[tuple]:
    got = []
    judge = LiveJudge(pack, [A, C], got.append)
    front = InOrder(judge, [A, C]) if ordered else judge
    feed(front, calls)
    if ordered:
        front.close()
    return sorted((w.rule, w.status, w.t_audio, w.t_emit, w.start, w.evidence) for w in got)


def test_the_same_warnings_whichever_source_runs_ahead(pack):
    reference = warnings_of(pack, interleaved(random.Random(0)), ordered=True)
    rules = {w[0] for w in reference}
    # the call's faults, each found: the hold's protocol, the blunt answer, the wait, the talk-over
    assert {"hold.ask_permission", "never.shift_blame", "voice.response", "never.interrupt"} <= rules, reference
    for seed in range(1, 40):
        assert warnings_of(pack, interleaved(random.Random(seed)), ordered=True) == reference, seed
    # each source run to its end before the next starts: the worst a loaded machine can do
    for first in ([A, C, LISTENER], [LISTENER, C, A], [C, LISTENER, A]):
        calls = [c for s in first for c in sources()[s]]
        assert warnings_of(pack, calls, ordered=True) == reference, first


def test_without_ordering_the_warnings_would_depend_on_the_threads(pack):
    """What the ordering is for: fed straight to the judge as they arrive, the listener's turns
    ahead of the recognisers judge the wait after the customer before the agent's words that
    end it are known (or after they were), so the same call gives different warnings."""
    reference = warnings_of(pack, interleaved(random.Random(0)), ordered=True)
    ahead = [c for s in (LISTENER, A, C) for c in sources()[s]]
    assert warnings_of(pack, ahead, ordered=False) != reference
    assert any(warnings_of(pack, interleaved(random.Random(seed)), ordered=False) != reference for seed in range(5))


def test_partials_are_raised_at_once_not_held_for_the_other_streams(pack):
    got = []
    judge = LiveJudge(pack, [A, C], got.append)
    front = InOrder(judge, [A, C])
    front.on_clock(A, 6.0)  # the customer's stream and the listener are still at 0
    front.on_partial(A, "这个 我 不管", 5.8, 6.0)
    assert [(w.rule, w.status) for w in got] == [("never.shift_blame", "raised")]
    front.on_final(Utterance(A, "这个我不管", 5.0, 6.2), 6.4)
    assert [w.status for w in got] == ["raised", "confirmed"]  # settled by the agent's own final
    front.close()
    assert [w.status for w in got if w.rule == "never.shift_blame"] == ["raised", "confirmed"]  # not twice


@pytest.mark.slow
def test_live_warnings_do_not_depend_on_scheduling(ko_setup, ko_model, tmp_path, monkeypatch):
    """The real path: one party's worker delayed at random, twenty times; every run raises the
    same warnings at the same audio times as an undelayed run."""
    from phonecoach.inputs.synth import Hangup, Pause, Turn, build_call
    from phonecoach.live.session import LiveSession, StreamWorker
    from phonecoach.live.sources import ReplaySource

    _, pack, _, _ = ko_setup  # the shipped rules and a word the model hears in 모르겠습니다
    voices = {A: ("ko", 50), C: ("ko", 75)}
    call = build_call([Turn(A, "안녕하세요 고객센터입니다", gap=0.5), Turn(C, "인터넷이 안 돼요"),
                       Turn(A, "모르겠습니다"), Turn(C, "어제부터 계속 인터넷이 안 되고 있어요 빨리 고쳐 주세요"),
                       Turn(A, "잠시만요 확인해 보겠습니다", overlap=2.0), Turn(C, "네"),
                       Turn(A, "감사합니다", gap=4.5), Pause(0.5), Hangup(C)], voices=voices)
    path = tmp_path / "call.wav"
    call.write(path)

    def run(k: int) -> list[tuple]:
        got = []
        session = LiveSession(pack, ReplaySource(str(path), speed=0), str(ko_model), tmp_path / f"s{k}", got.append)
        session.run()
        return sorted((w.rule, w.status, w.kind, w.t_audio, w.t_emit, w.start, w.evidence, w.t_settled) for w in got)

    reference = run(0)
    kinds = {w[2] for w in reference}
    assert {"text", "signal"} <= kinds, reference  # decided from words, and from the turns heard
    assert {"never.interrupt", "voice.response"} <= {w[0] for w in reference}, reference
    process = StreamWorker._process
    for k in range(1, 21):
        rng = random.Random(k)
        slow = rng.choice([A, C])

        def delayed(self, *chunk, rng=rng, slow=slow):
            if self.party == slow:
                import time
                time.sleep(rng.uniform(0.0, 0.03))
            return process(self, *chunk)

        monkeypatch.setattr(StreamWorker, "_process", delayed)
        assert run(k) == reference, (k, slow)
