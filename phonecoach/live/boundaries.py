"""Where calls begin and end in a shift's audio, heard from the lines themselves.

A headset is worn all day; between calls its lines carry the agent's room (typing, a
colleague) and the softphone's silence. ``CallFinder`` reads 0.1 s frames of every line, in
order, and says when a call starts and ends. It is causal (it never looks ahead) and cheap:
a level and a share of the call-progress tone per frame, so idle time costs almost nothing.

- A call **starts** at a ringback on either line, or at the first speech on the customer's
  line after the lines were idle (the agent's own line only when there is no customer line:
  agents talk to colleagues between calls). The start reaches back over the agent's words
  just before (the greeting often comes before the caller says anything) and a short pre-roll.
- A call **ends** at a disconnect tone (three bursts in the busy cadence) on either line, or
  when the caller's line goes **down**: a softphone's output is exact digital silence between
  calls, where a line that is up always carries something (line or comfort noise, hold music,
  the caller's room), so ``LINE_DOWN_SECONDS`` of it ends the call, and a hold with the line
  up, however long and quiet, stays inside it. A line that was digitally silent in its own
  pauses during the call (silence suppression) says nothing that way; then, and where there is
  no caller's line, the call ends when the lines have been idle for ``call_end_idle_seconds``
  (the rule pack's ``[measures]``). Once they have been idle for ``HOLDBACK_SECONDS`` with no
  line up, the shift stops feeding the call (a hang-up with no tone ends here), so the call's
  audio ends there either way. A line that is up is idle for ``UP_IDLE_SECONDS`` at the most.
- A ringback after a few idle seconds inside a call starts the next call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.settings import BUSY, CADENCES, MeasureSettings

FRAME_SECONDS = 0.1
PREROLL_SECONDS = 0.5  # audio kept before the first sound of a call
AGENT_REACH_SECONDS = 2.0  # the agent's words this close before the caller's belong to the call
LOOKBACK_SECONDS = 15.0  # furthest a start reaches back (the agent's greeting, a first ring)
HOLDBACK_SECONDS = 15.0  # idle this long inside a call: stop feeding it until sound comes back
ACTIVE_DBFS = -50.0  # quieter frames are idle whatever the line's floor
ACTIVE_OVER_FLOOR_DB = 8.0
FLOOR_RISE_DB = 0.02  # per frame (0.2 dB a second): a line's floor follows its quietest frames
FLOOR_RISE_IDLE_DB = 0.3  # ... between calls (or the caller's line silent), 3 dB a second: the room a
# headset hears between calls (a fan, an air conditioner) is its floor within seconds, not talk that a
# call reaches back over or that keeps a call whose line went down from ending
TONE_SHARE = 0.6  # a frame is a tone when these frequencies carry this share of its energy
TONE_BAND_HZ = 20.0
START_SOUND_FRAMES = 3  # 0.3 s of speech-like sound starts a call
START_RING_FRAMES = 7  # 0.7 s of ringback starts one (a busy burst is 0.35 s)
RING_AFTER_IDLE_SECONDS = 3.0  # inside a call, a ringback after this much idle is the next call
BUSY_BURSTS = 3  # disconnect-tone bursts in cadence that end a call
AGENT_RUN_FRAMES = 5  # inside a call, the agent's line counts as busy only for runs of 0.5 s
DIGITAL_SILENCE = 1e-4  # a frame whose every |sample| is at most this carries nothing: the line is down
LINE_DOWN_SECONDS = 2.0  # the caller's line down this long, after it was up in the call: the call ended
SUPPRESSED_SECONDS = 0.3  # a digital silence this long inside the call that sound followed: silence suppression
UP_IDLE_SECONDS = 600.0  # a call whose line stays up ends after this much idle all the same


@dataclass(frozen=True)
class Boundary:
    kind: str  # "start" | "end"
    at: float  # seconds into the shift
    why: str  # "ringback", "speech", "disconnect tone", "idle", "next call"


class _Line:
    """One line's frame features and runs."""

    def __init__(self) -> None:
        self.floor = np.inf
        self.sound_run = 0  # frames of speech-like (not tonal) sound in a row
        self.sound_onset = 0.0
        self.ring_run = 0
        self.ring_onset = 0.0
        self.idle_before_ring = 0.0  # inside a call: how long the lines had been idle when it began
        self.busy_run = 0
        self.bursts: list[float] = []  # starts of busy bursts in cadence
        self.last_active = -np.inf
        self.cluster_start = 0.0  # start of the line's current stretch of activity (gaps < reach)
        self.silent_run = 0  # frames of digital silence in a row
        self.silent_onset = 0.0
        self.up_in_call = False  # the line carried something (not digital silence) in this call
        self.suppressing = False  # ... and was digitally silent in its pauses: silence suppression


class CallFinder:
    def __init__(self, parties: list[str], sr: int, settings: MeasureSettings = MeasureSettings()) -> None:
        self.parties = parties
        self.sr = sr
        self.end_idle = settings.call_end_idle_seconds
        n = int(round(FRAME_SECONDS * sr))
        freqs = np.fft.rfftfreq(n, 1.0 / sr)
        self._window = np.hanning(n).astype(np.float32)
        self._band = (freqs >= 250) & (freqs <= 3500)

        def bins(tones: tuple[float, ...]) -> np.ndarray:
            return np.any([np.abs(freqs - f) <= TONE_BAND_HZ for f in tones], axis=0)

        self._ring_bins = bins(CADENCES[settings.ring_country][0])
        self._busy_bins = bins(BUSY[0])
        busy_on, busy_off = BUSY[1], BUSY[2]
        self._busy_period = busy_on + busy_off
        self.lines = {p: _Line() for p in parties}
        # the customer's line starts a call; the agent's only when it is the only line
        self.callers = ["customer"] if "customer" in parties else list(parties)
        self.in_call = False
        self.quiet_since = 0.0  # when the lines last had call-like sound (inside a call)
        self.call_start = 0.0
        self.spoken = False
        self.last_words = 0.0  # end of the last frame with sustained sound (words) in this call
        self.agent_busy_at = -np.inf  # end of the agent's line's last sustained sound
        self.t = 0.0

    # -- what the shift asks ------------------------------------------------------------------

    def quiet_for(self) -> float:
        return self.t - self.quiet_since

    def holding(self) -> bool:
        """Idle long enough inside a call, with no caller's line up, that the shift stops feeding
        it (with the line up it is a hold: the call goes on, and its audio with it)."""
        return self.in_call and self.quiet_for() >= HOLDBACK_SECONDS and not self._line_up()

    def _lines_idle(self) -> bool:
        """Between calls, or the caller's line silent for a second: what the agent's headset hears
        now is the room, and its floor may rise to it quickly."""
        return not self.in_call or any(self.lines[p].silent_run >= 10 for p in self.callers if p != "agent")

    def _line_up(self) -> bool:
        """A caller's line carries something now, and it tells: not silence-suppressed."""
        return any(self.lines[p].up_in_call and self.lines[p].silent_run == 0 and not self.lines[p].suppressing
                   for p in self.callers if p in self.lines and p != "agent")

    def started(self, at: float) -> None:
        """A call began at ``at`` (heard, or marked by the phone system)."""
        self.in_call, self.call_start, self.quiet_since = True, at, self.t
        self.spoken = False  # words heard in this call yet
        self.last_words = self.t
        for line in self.lines.values():
            line.bursts.clear()
            line.idle_before_ring = 0.0
            line.up_in_call = line.silent_run == 0
            line.suppressing = False

    def ended(self) -> None:
        self.in_call = False
        for line in self.lines.values():
            line.sound_run = line.ring_run = 0
            line.last_active = -np.inf

    # -- hearing -------------------------------------------------------------------------------

    def feed(self, t: float, frame: dict[str, np.ndarray]) -> list[Boundary]:
        """One frame (``FRAME_SECONDS`` of every line, starting at shift time ``t``)."""
        end = t + FRAME_SECONDS
        self.t = end
        out: list[Boundary] = []
        callish = spoke = False
        for party, x in frame.items():
            line = self.lines[party]
            active, ring, busy = self._features(line, x)
            if active and not (ring or busy):
                if line.sound_run == 0:
                    line.sound_onset = t
                line.sound_run += 1
                # the agent's line: words (sustained sound), not the room's clicks and knocks
                if party in self.callers or line.sound_run >= AGENT_RUN_FRAMES:
                    if line.last_active < line.sound_onset - AGENT_REACH_SECONDS:
                        line.cluster_start = line.sound_onset
                    line.last_active = end
            else:
                line.sound_run = 0
            if ring:
                if line.ring_run == 0:
                    line.ring_onset = t
                    line.idle_before_ring = t - self.last_words if self.in_call else 0.0
                line.ring_run += 1
            else:
                line.ring_run = 0
            self._silence(line, x, t)
            hung_up = self._busy(line, busy, t)
            if hung_up and not out:  # both lines may carry the tone (echo): one end
                out.append(hung_up)
            if party in self.callers:
                callish |= (active and not busy) or line.ring_run > 0
                spoke |= line.sound_run >= 2  # not the click a tone starts with
            else:
                callish |= line.sound_run >= AGENT_RUN_FRAMES
                spoke |= line.sound_run >= AGENT_RUN_FRAMES
                if line.sound_run >= AGENT_RUN_FRAMES:
                    self.agent_busy_at = end
        down = self._down(end)
        if down and not out:
            out.append(down)
        if not self.in_call:
            start = self._heard_start()
            if start is not None:
                out.append(start)
                self.started(start.at)
            return out
        if callish:
            # a ring after idle, once the call has had words (the rings that opened it are its own)
            rung = [ln for ln in self.lines.values() if ln.ring_run >= START_RING_FRAMES
                    and ln.idle_before_ring >= RING_AFTER_IDLE_SECONDS] if self.spoken else []
            if rung and not any(b.kind == "end" for b in out):
                onset = min(ln.ring_onset for ln in rung)
                out += [Boundary("end", end, "next call"), Boundary("start", max(0.0, onset - PREROLL_SECONDS),
                                                                    "ringback")]
                self.started(out[-1].at)
            self.quiet_since = end
        elif self.quiet_for() >= (UP_IDLE_SECONDS if self._line_up() else self.end_idle) and not out:
            out.append(Boundary("end", self.quiet_since + HOLDBACK_SECONDS, "idle"))
        if spoke:
            self.spoken, self.last_words = True, end
        if any(b.kind == "end" for b in out) and out[-1].kind == "end":
            self.ended()
        return out

    def _features(self, line: _Line, x: np.ndarray) -> tuple[bool, bool, bool]:
        if len(x) < len(self._window):
            x = np.pad(x, (0, len(self._window) - len(x)))
        power = float(np.mean(np.square(x, dtype=np.float64)))
        db = 10.0 * np.log10(power + 1e-12)
        rise = FLOOR_RISE_IDLE_DB if self._lines_idle() else FLOOR_RISE_DB
        # under ACTIVE_DBFS - ACTIVE_OVER_FLOOR_DB a floor decides nothing (a frame must pass
        # ACTIVE_DBFS anyway): held there, it rises to a room heard after digital silence in seconds
        line.floor = max(min(db, line.floor + rise), ACTIVE_DBFS - ACTIVE_OVER_FLOOR_DB)
        active = db > ACTIVE_DBFS and db > line.floor + ACTIVE_OVER_FLOOR_DB
        if not active:
            return False, False, False
        spec = np.square(np.abs(np.fft.rfft(x * self._window)))
        total = float(spec[self._band].sum()) + 1e-20
        ring = float(spec[self._ring_bins].sum()) / total >= TONE_SHARE
        busy = float(spec[self._busy_bins].sum()) / total >= TONE_SHARE
        return True, ring, busy

    def _busy(self, line: _Line, busy: bool, t: float) -> Boundary | None:
        """Bursts of the disconnect tone in its cadence, with the line quiet between them (hold
        music can hold a 450 Hz note as long as a burst): the third ends the call."""
        if line.sound_run >= 2:  # sound between the bursts (a burst's edge frame alone is not)
            line.bursts.clear()
        if busy:
            if line.busy_run == 0 and line.bursts and abs(t - line.bursts[-1] - self._busy_period) > 0.25:
                line.bursts.clear()  # out of cadence: start counting again
            if line.busy_run == 0:
                line.bursts.append(t)
            line.busy_run += 1
            if line.busy_run > 6:  # a steady tone (a ring), not a burst
                line.bursts.clear()
            return None
        burst = line.busy_run
        line.busy_run = 0
        if burst and self.in_call and len(line.bursts) >= BUSY_BURSTS and t >= self.call_start:
            return Boundary("end", t + FRAME_SECONDS, "disconnect tone")
        return None

    def _silence(self, line: _Line, x: np.ndarray, t: float) -> None:
        """Follow the line's runs of exact digital silence; one inside the call that sound ended,
        after the call had words, is silence suppression (the line says nothing by going silent)."""
        if len(x) and float(np.max(np.abs(x))) > DIGITAL_SILENCE:
            if line.silent_run * FRAME_SECONDS >= SUPPRESSED_SECONDS and line.up_in_call and self.in_call \
                    and self.spoken:
                line.suppressing = True
            line.silent_run, line.up_in_call = 0, True
            return
        if line.silent_run == 0:
            line.silent_onset = t
        line.silent_run += 1

    def _down(self, end: float) -> Boundary | None:
        """The caller's line went down: ``LINE_DOWN_SECONDS`` of exact digital silence after it was
        up in a call that had words, with the agent's line quiet as long (a caller who suppresses
        silence is silent while the agent talks; that line, once seen doing it, never ends a call)."""
        if not self.in_call or not self.spoken or end - self.agent_busy_at < LINE_DOWN_SECONDS - 1e-9:
            return None
        for p in self.callers:
            line = self.lines[p]
            if p == "agent" or not line.up_in_call or line.suppressing:
                continue
            if line.silent_run * FRAME_SECONDS >= LINE_DOWN_SECONDS - 1e-9:
                return Boundary("end", end, "line down")
        return None

    def _heard_start(self) -> Boundary | None:
        for party in self.callers:
            line = self.lines[party]
            if line.ring_run >= START_RING_FRAMES:
                return Boundary("start", self._reach(line.ring_onset), "ringback")
            if line.sound_run >= START_SOUND_FRAMES:
                return Boundary("start", self._reach(line.sound_onset), "speech")
        return None

    def _reach(self, onset: float) -> float:
        """The start: back over the agent's words just before the caller's first sound."""
        start = onset
        for party, line in self.lines.items():
            if party not in self.callers and line.last_active >= onset - AGENT_REACH_SECONDS:
                start = min(start, line.cluster_start)
        start = max(start, onset - LOOKBACK_SECONDS)
        return max(0.0, start - PREROLL_SECONDS)
