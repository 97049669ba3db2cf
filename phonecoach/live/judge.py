"""The incremental rule engine: each warning raised once, as soon as it can be decided.

It reads the same rule pack as ``score`` and reuses its checks on the growing
timeline; the signal-based warnings use the same rules' thresholds:

- forbidden phrases from partial results (``raised``), then ``confirmed`` or
  ``withdrawn`` when the final result arrives;
- text rules (forbidden phrases, hold and transfer protocol, blunt refusals) when
  a final utterance settles them; opening rules when the opening window closes;
- interruptions, dead air, hold timers and loudness from the turns the call's listener hears
  (``on_turns``: the same speech tracker and turn logic ``score`` uses, in audio order, so a
  replayed call's signal warnings fall at the moments of the file report's events);
- pace from the last 30 s of the agent's finished utterances.

Times: ``t_audio`` is the audio time at which the evidence was complete (end of the
phrase, the moment an overlap or a silence passed its limit); ``t_emit`` the audio
position of the stream when the warning was raised. A phrase raised from a partial
(which has no word times) carries the stream position as ``t_audio``; its
confirmation carries the phrase's true end from the final word times, the same
``t_emit``, and ``t_settled`` (when the final result arrived).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Callable

import numpy as np

from ..core.alerts import COMPLAINT_NOTICE, LiveWarning
from ..core.text import spoken_chars
from ..core.timeline import Timeline, Utterance, clock
from ..hearing.measures import HOLD_REPLY_SECONDS, Measures, RaisedVoice, hold_start
from ..hearing.speech import TurnEvent
from ..judging.checks import CHECKS, Call, match, quote
from ..judging.engine import judge_rule
from ..judging.events import asked_to_wait, derive_events
from ..judging.model import Rule, RulePack
from ..judging.personal import redact_text

PACE_WINDOW = 30.0  # seconds of agent speech the live pace is taken over
PACE_MIN_SPEECH = 8.0  # judge pace only after this much agent speech


class LiveJudge:
    """Consumes stream events (thread-safe), emits ``LiveWarning``s through ``emit``."""

    def __init__(self, pack: RulePack, parties: list[str], emit: Callable[[LiveWarning], None]) -> None:
        self.pack = pack
        self.parties = parties
        self.emit_cb = emit
        self.settings = pack.measures
        self.lock = threading.Lock()
        self.utterances: list[Utterance] = []
        self.clock = {p: 0.0 for p in parties}  # how far each party's recogniser has heard
        self.hearing = 0.0  # how far the listener's speech trackers have heard (both lines)
        self.dead: dict[str, float | None] = {}  # per line: dead since (hung up), as last heard
        self.turns: dict[str, list[list]] = {p: [] for p in parties}  # [start, end, open?, level, speech]
        self.agent_levels: list[float] = []
        self.raised = RaisedVoice(self.settings)  # the customer's raised turns, as each closes
        self.holds: list[tuple[float, float]] = []
        self.warned: set[tuple] = set()
        self.pending: dict[tuple[str, str], LiveWarning] = {}
        self.warnings: list[LiveWarning] = []
        self._hold_start: float | None = None
        self._hold_silence: float | None = None  # where the silence of the hold under way began
        self._dead_air_from: float | None = None
        self._opening_done: set[str] = set()
        self._pace_out: set[str] = set()  # pace rules whose band the agent is out of
        self.rules = {r.id: r for r in pack.rules}
        # what each check's ``live`` form says: judged again on each final, once its window has
        # passed, or from the turns by its measure (every rule on a measure, with its own limits)
        self._on_final = [r for r in pack.rules if CHECKS[r.check].live == "final"]
        self._windows = [r for r in pack.rules if CHECKS[r.check].live == "window" and r.params.get("part") == "opening"]
        live_measures = [r for r in pack.rules if CHECKS[r.check].live == "measure"]
        self._on = {m: [r for r in live_measures if r.params.get("measure") == m]
                    for m in ("interruptions", "dead_air", "holds", "agent_pace_cpm")}
        self._loudness = [r for r in live_measures if r.check == "loudness"]
        # a hold heard with no request before it breaks both of these at once
        self._unasked = [r for r in pack.rules if r.check == "hold_step"
                         and r.params.get("step") in ("ask_permission", "give_reason")]
        # the notice that the caller complains carries the first answer step's fix (the apology)
        answer = next((r for r in pack.rules if r.check == "after_complaint" and r.params.get("mode") == "say"), None)
        self._complaint_fix = answer.fix if answer else "Acknowledge the complaint and apologise."
        self.agent = "agent" if "agent" in parties else parties[0]
        self.two_party = "agent" in parties and "customer" in parties

    # --- helpers ------------------------------------------------------------------------

    @property
    def heard(self) -> float:
        """Audio time up to which every party has been heard."""
        return min(self.clock.values()) if self.clock else 0.0

    def _emit(self, rule: Rule, t_audio: float, t_emit: float, evidence: str, kind: str, key: tuple | None = None,
              status: str = "raised", party: str = "agent", start: float | None = None) -> LiveWarning | None:
        if key is not None:
            if key in self.warned:
                return None
            self.warned.add(key)
        return self._send(LiveWarning(rule.id, rule.message, rule.fix, rule.severity, t_audio, max(t_emit, t_audio),
                                      evidence, party, status, kind, start=start))

    def _send(self, w: LiveWarning) -> LiveWarning:
        if self.pack.privacy.redact and w.evidence:  # the customer's numbers never reach a sink
            before = "".join(u.text for u in self.utterances[-3:])  # what says what a number is
            w = replace(w, evidence=redact_text(w.evidence, before, self.pack.privacy.hotlines))
        self.warnings.append(w)
        self.emit_cb(w)
        return w

    def timeline(self) -> Timeline:
        return Timeline(list(self.utterances), speakers_separated="unknown" not in self.parties)

    # --- events from the stream workers ---------------------------------------------------------

    def on_clock(self, party: str, t: float) -> None:
        """How far ``party``'s recogniser has heard."""
        with self.lock:
            self.clock[party] = max(self.clock[party], t)
            self._timers()
            self._opening_rules()

    def wants_partials(self, party: str) -> bool:
        """Whether ``party``'s partial results can raise anything: the agent's (or a mono line's)
        words a rule forbids. The others' are never asked of Vosk (each costs decoding CPU)."""
        return party in (self.agent, "unknown") and any(
            rule.check == "phrase_never" and rule.speaker != "customer" for rule in self.pack.rules)

    def on_partial(self, party: str, text: str, t_word_end: float | None, now: float) -> None:
        """``now``: how far this party's stream has been heard (the warning's t_emit). Depends on
        this party's stream only (with ``settle``): raised at once, whichever party runs ahead."""
        if not text or party not in (self.agent, "unknown"):
            return
        with self.lock:
            for rule in self.pack.rules:
                if rule.check != "phrase_never" or rule.speaker == "customer" or (party, rule.id) in self.pending:
                    continue
                m = match(rule, text)
                if m:
                    w = self._emit(rule, t_word_end or now, now, m.evidence, "phrase", party=party)
                    if w:
                        self.pending[(party, rule.id)] = w

    def on_final(self, u: Utterance, now: float) -> None:
        """A final result, in audio order: settles the party's partial warnings, then judges."""
        self.settle(u, now)
        self.take_final(u, now)

    def settle(self, u: Utterance, now: float) -> None:
        """Confirm or withdraw what ``u.speaker``'s partials raised: a function of that party's
        own stream only, so it may run as soon as the final arrives, before the other party's
        stream has caught up (``take_final`` must wait for that)."""
        with self.lock:
            self._settle_partials(u, now)

    def take_final(self, u: Utterance, now: float) -> None:
        """Judge the call with ``u`` in it; called in audio order across parties."""
        with self.lock:
            self.clock[u.speaker] = max(self.clock.get(u.speaker, 0.0), now)
            self.utterances.append(u)
            self.utterances.sort(key=lambda x: x.start or 0.0)
            self._text_rules(now)
            if u.speaker in (self.agent, "unknown"):
                self._pace(now)
            self._opening_rules()

    def on_turns(self, events: list[TurnEvent], heard: float, dead: dict[str, float | None] | None = None) -> None:
        """Turns opened, grown or closed, in audio order; the time both lines are heard to; since
        when each line has been dead (digital silence or the exchange's tones: hung up)."""
        with self.lock:
            self.dead = dead or {}
            for ev in events:
                self._turn(ev)
                if self.two_party:
                    self._interruption()
            self.hearing = max(self.hearing, heard)
            self._timers()

    def _turn(self, ev: TurnEvent) -> None:
        turns, t = self.turns[ev.party], ev.turn
        record = [t.start, t.end, ev.kind != "closed", t.level_dbfs, t.speech]
        if turns and turns[-1][2] and abs(turns[-1][0] - t.start) < 1e-6:
            turns[-1] = record
        else:
            turns.append(record)
        self._hold_back(ev.party, record)
        if ev.party == self.agent:
            self._loud(record)
            if ev.kind == "closed" and t.speech >= 0.5:
                self.agent_levels.append(t.level_dbfs)
        if ev.party == "customer" and ev.kind == "closed" and self.two_party:
            self.raised.add(t.start, t.end, t.speech, t.level_dbfs)
            agent_after = any(end > t.end or is_open for _, end, is_open, _, _ in self.turns[self.agent][-2:])
            self._dead_air_from = None if agent_after else t.end
        elif ev.party == "customer" and ev.kind == "open":
            self._dead_air_from = None  # the customer speaks again: no one is waiting
        elif ev.party == self.agent and ev.kind == "open" and self._dead_air_from is not None \
                and t.start - self._dead_air_from < self.settings.dead_air_seconds:
            self._dead_air_from = None  # the agent answered in time

    # --- text ---------------------------------------------------------------------------

    def _settle_partials(self, u: Utterance, now: float) -> None:
        """The final result confirms or withdraws a phrase raised from a partial. A confirmation
        keeps the raise time (``t_emit``) and gets the phrase's true end from the word times."""
        for (party, rid), w in list(self.pending.items()):
            if party != u.speaker:
                continue
            del self.pending[(party, rid)]
            rule = self.rules[rid]
            m = match(rule, u.text)
            if m:
                self.warned.add((rid, round(u.start or 0.0, 1)))  # the text pass must not raise it again
                settled = LiveWarning(w.rule, w.message, w.fix, w.severity, _phrase_end(u, m.end, w.t_audio),
                                  w.t_emit, m.evidence, party, "confirmed", "phrase", now, u.start)
            else:
                settled = LiveWarning(w.rule, w.message, w.fix, w.severity, w.t_audio, w.t_emit, w.evidence, party,
                                  "withdrawn", "phrase", now)
            self.warnings.append(settled)
            self.emit_cb(settled)

    def _call(self) -> Call:
        tl = self.timeline()
        measures = Measures(holds=list(self.holds)) if self.holds else None
        audio_holds = list(self.holds) if self.holds and tl.has_times else None
        raised = list(self.raised.spans) if self.two_party and tl.has_times else None
        return Call(timeline=tl, events=derive_events(tl, self.pack.events, audio_holds, raised),
                    events_phrases=self.pack.events, measures=measures)

    def _complaint_notices(self, call: Call, now: float) -> None:
        """The caller complains: say so at once (the floor marks an upset caller), before the
        apology's window closes and its rule is decided. A notice, not a broken rule."""
        for i, cue in zip(call.events.complaints, call.events.complaint_cues):
            u = call.timeline.utterances[i]
            key = (COMPLAINT_NOTICE, round(u.start or 0.0, 1))
            if key in self.warned:
                continue
            self.warned.add(key)
            self._send(LiveWarning(COMPLAINT_NOTICE, f"The caller is complaining ({cue}): acknowledge it now.",
                                   self._complaint_fix, "info", u.end or now, max(now, u.end or now), quote(u.text),
                                   "customer", "raised", "event", start=u.start))

    def _text_rules(self, now: float) -> None:
        call = self._call()
        self._complaint_notices(call, now)
        for rule in self._on_final:
            result = judge_rule(rule, call)
            if result.status != "fail":
                continue
            for occ in result.occurrences:
                end = occ.end if occ.end is not None else (occ.start or 0.0)
                decided = self._decided_at(rule, end)
                if decided is not None:
                    self._emit(rule, decided, now, occ.evidence, "text", key=(rule.id, round(occ.start or 0.0, 1)))

    def _decided_at(self, rule: Rule, end: float) -> float | None:
        """When a failing occurrence ending at ``end`` became certain, or None if not yet.

        Most steps are decided by the utterance they point at; thanking for consent and
        agreeing to a transfer need what comes next; an if-then rule with ``after`` needs
        that many more agent utterances."""
        step = rule.params.get("step")
        later = [u for u in self.utterances if u.start is not None and u.start > end]
        if rule.check == "after_complaint":  # the answer to a complaint: decided when its window closes
            if rule.params["mode"] == "never":
                return end
            n, secs = int(rule.params["utterances"]), float(rule.params["seconds"])
            agent_next = [u for u in later if u.speaker == self.agent]
            closes = [agent_next[n - 1].end] if n and len(agent_next) >= n else []
            if secs and self.clock.get(self.agent, 0.0) >= end + secs:
                closes.append(end + secs)
            return min(closes) if closes else None
        if step == "thank_consent":
            if self._hold_start is not None and self._hold_start >= end:
                return self._hold_start
            agent_next = [u for u in later if u.speaker in (self.agent, "unknown")]
            return agent_next[0].start if agent_next else None
        if step == "consent":
            return later[0].end if later else None
        if rule.check == "message_step":
            if step == "record":
                return None  # the message may still be taken before the call ends: the final report judges it
            within = int(rule.params.get("within", 0)) if step != "absent" else 0
            if within == 0:
                return end
            agent_next = [u for u in later if u.speaker in (self.agent, "unknown")]
            return agent_next[within - 1].end if len(agent_next) >= within else None
        after = int(rule.params.get("after", 0) or 0)
        if rule.check == "if_then" and after > 0:
            agent_next = [u for u in later if u.speaker in (self.agent, "unknown")]
            return agent_next[after - 1].end if len(agent_next) >= after else None
        return end

    def _opening_rules(self) -> None:
        agent_utts = [u for u in self.utterances if u.speaker in (self.agent, "unknown")]
        if not agent_utts:
            return
        for rule in self._windows:
            if rule.id in self._opening_done:
                continue
            now = self.clock.get(self.agent, 0.0)
            n, limit = int(rule.params["utterances"]), (agent_utts[0].start or 0.0) + float(rule.params["seconds"])
            if len(agent_utts) >= n:
                closed_at = min(agent_utts[n - 1].end or now, limit)
            elif now >= limit:
                closed_at = limit
            else:
                continue  # the opening window is still open
            self._opening_done.add(rule.id)
            result = judge_rule(rule, self._call())
            if result.status == "fail":
                occ = result.occurrences[0]
                self._emit(rule, closed_at, now, occ.evidence, "text", key=(rule.id, "opening"))

    def _pace(self, now: float) -> None:
        utts = [u for u in self.utterances if u.speaker in (self.agent, "unknown") and u.duration]
        recent, secs = [], 0.0
        for u in reversed(utts):
            recent.append(u)
            secs += u.duration or 0.0
            if secs >= PACE_WINDOW:
                break
        if secs < PACE_MIN_SPEECH:
            return
        cpm = 60.0 * sum(spoken_chars(u.text) for u in recent) / secs
        for rule in self._on["agent_pace_cpm"]:
            out = not (float(rule.params["min"]) <= cpm <= float(rule.params["max"]))
            if out and rule.id not in self._pace_out:
                self._emit(rule, utts[-1].end or now, now, f"{cpm:.0f} 字/分", "text")
            (self._pace_out.add if out else self._pace_out.discard)(rule.id)

    # --- signal ---------------------------------------------------------------------------

    def _loud(self, turn: list) -> None:
        """An agent turn louder than the ceiling, or far above the agent's typical level so far,
        within its first half second of speech."""
        start, end, _, level, speech = turn
        if speech < 0.5:
            return
        typical = float(np.median(self.agent_levels)) if len(self.agent_levels) >= 3 else None
        for rule in self._loudness:
            over = level > float(rule.params["ceiling_dbfs"]) or (
                typical is not None and level - typical > float(rule.params["max_rise_db"]))
            if over:  # decided once half a second of it was heard: as near as the turn's record tells
                self._emit(rule, end - (speech - 0.5), self.hearing, f"{level:.1f} dBFS from {clock(start)}",
                           "signal", key=(rule.id, round(start, 1)), start=start)

    def _interruption(self) -> None:
        """A talk-over as the file's measure finds it: the latest turn of either party began
        inside the other's, and they overlap by the limit (a back-channel never lasts that long)."""
        for party, other in ((self.agent, "customer"), ("customer", self.agent)):
            turns, others = self.turns[party], self.turns[other]
            if not turns or not others:
                continue
            b_start, b_end = turns[-1][0], turns[-1][1]
            for a_start, a_end, a_open, _, _ in reversed(others):
                if a_start < b_start and (a_open or a_end > b_start):
                    overlap = min(b_end, a_end) - b_start
                    if overlap >= self.settings.interrupt_min_overlap:
                        how = "talked over the customer" if party == self.agent else "talked on over the customer"
                        for rule in self._on["interruptions"]:
                            self._emit(rule, b_start + self.settings.interrupt_min_overlap, self.hearing,
                                       f"{how} from {clock(b_start)}", "signal",
                                       key=(rule.id, round(b_start, 1)), start=b_start)
                    break
                if a_end <= b_start:
                    break

    def _last_speech(self) -> float | None:
        """End of the last speech heard (by anyone), or None before any."""
        return max((turns[-1][1] for turns in self.turns.values() if turns), default=None)

    def _talking(self) -> bool:
        return any(turns and turns[-1][2] for turns in self.turns.values())

    def _timers(self) -> None:
        """Dead air and holds, on the listener's clock; a decision that depends on what the
        agent said (asked the caller to wait?) also waits for the agent's recogniser to have
        heard that far, so no thread running ahead or behind changes it."""
        if not self.two_party:
            return
        t = min(self.hearing, self.clock.get(self.agent, 0.0))
        if self._dead_air_from is not None:
            start = self._dead_air_from
            limit = start + self.settings.dead_air_seconds
            left = self.dead.get("customer")
            if left is not None and left <= limit:
                self._dead_air_from = None  # the customer hung up: nobody is waiting
            elif t >= limit:
                self._dead_air_from = None
                for rule in self._on["dead_air"]:
                    if rule.params.get("unless_asked_to_wait") and self._hold_requested(start):
                        continue  # the agent announced the wait
                    self._emit(rule, limit, self.hearing, f"silent for {self.settings.dead_air_seconds:.0f} s after "
                               f"the customer, from {clock(start)}", "signal", key=(rule.id, round(start, 1)),
                               start=start)
        last = self._last_speech()
        if last is None or not self.turns[self.agent] or self._talking():
            return
        if self._hold_start is None and t - last >= self.settings.hold_min_seconds:
            self._hold_start = hold_start(last, self._spans(self.agent), self._spans("customer"))
            self._hold_silence = last
            self._dead_air_was_hold(self._hold_start)
            if not self._hold_requested(last):
                for rule in self._unasked:
                    self._emit(rule, last + self.settings.hold_min_seconds, self.hearing,
                               f"on hold from {clock(self._hold_start)} without being asked", "signal",
                               key=(rule.id, round(self._hold_start, 1)), start=self._hold_start)
        self._long_hold(self.hearing, t)

    def _long_hold(self, t: float, until: float) -> None:
        """The hold running since ``_hold_start`` (still on at ``until``) passed its limit."""
        if self._hold_start is None:
            return
        for rule in self._on["holds"]:
            limit = self._hold_start + float(rule.params.get("longer_than", 60.0))
            if until >= limit:
                self._emit(rule, limit, t, f"on hold for {limit - self._hold_start:.0f} s, from "
                           f"{clock(self._hold_start)}", "signal", key=(rule.id, round(self._hold_start, 1)),
                           start=self._hold_start)

    def _spans(self, party: str) -> list[tuple[float, float]]:
        return [(r[0], r[1]) for r in self.turns.get(party, [])]

    def _hold_back(self, party: str, turn: list) -> None:
        """The hold under way ends where the file's measure ends it (``hold_span``): when the agent
        speaks again, or where the caller began if they said more than a short 喂？ meanwhile."""
        if self._hold_start is None or self._hold_silence is None or turn[0] < self._hold_silence:
            return
        said = sum(max(0.0, e - max(s, self._hold_silence)) for s, e in self._spans("customer")
                   if e > self._hold_silence)
        if party == self.agent:
            firsts = [s for s, e in self._spans("customer") if e > self._hold_silence and s >= self._hold_silence]
            end = turn[0] if said <= HOLD_REPLY_SECONDS or not firsts else min(firsts)
        elif said > HOLD_REPLY_SECONDS:
            end = min(s for s, e in self._spans("customer") if s >= self._hold_silence)
        else:
            return
        self._long_hold(end, end)
        self._end_hold(end)

    def _dead_air_was_hold(self, start: float) -> None:
        """The silence a dead-air warning was raised for has become a hold (it passed the hold's
        length): taken back, as the file report lists that silence once, as a hold."""
        for w in list(self.warnings):
            if w.rule in {r.id for r in self._on["dead_air"]} and w.status == "raised" and w.kind == "signal" \
                    and w.start is not None and w.start >= start - 0.1 and (w.rule, "withdrawn", w.start) not in self.warned:
                self.warned.add((w.rule, "withdrawn", w.start))
                self._send(LiveWarning(w.rule, w.message, w.fix, w.severity, w.t_audio, self.hearing, w.evidence,
                                       w.party, "withdrawn", "signal", self.hearing, w.start))

    def _hold_requested(self, before: float) -> bool:
        return asked_to_wait(self.utterances, self.pack.events, before, (self.agent, "unknown"))

    def _end_hold(self, t: float) -> None:
        if self._hold_start is not None:
            self.holds.append((self._hold_start, t))
            self._hold_start = self._hold_silence = None


def _phrase_end(u: Utterance, end_char: int, default: float) -> float:
    """End time of the word holding normalised character ``end_char - 1`` of ``u``."""
    seen = 0
    for word in u.words:
        seen += spoken_chars(word.text)
        if seen >= end_char:
            return word.end
    return u.end if u.end is not None else default
