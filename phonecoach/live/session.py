"""A live session: sources -> one stream worker per party -> live judge -> sinks.

Each worker re-chunks its party's audio into the same 0.2 s chunks the file path
uses, feeds them to its Vosk recogniser (one shared Model), hands every sample to the
call's listener (its own thread: the same speech trackers and measures ``score`` runs,
whose turns drive the signal warnings) and writes them to the session folder as it goes:
the audio (float WAV, flushed every second), the timeline and the warnings (JSON lines).
A crash loses at most the last second; the end of the call gives the same report
``phonecoach score`` gives on the recording.
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.alerts import LiveWarning
from ..core.errors import PhonecoachError
from ..core.safeio import write_text_atomic
from ..core.timeline import Timeline, Utterance
from ..hearing.listener import CallListener, Heard
from ..hearing.measures import measure_call
from ..inputs.audio import TARGET_SR
from ..inputs.transcribe import CHUNK_SECONDS, ChannelRecognizer, load_model
from ..judging.engine import CallReport, judge
from ..judging.model import Privacy, RulePack
from ..judging.redaction import redact_as_said
from .inorder import LISTENER, InOrder
from .judge import LiveJudge
from .sources import Block
from .wavfile import GrowingWav

FLUSH_SECONDS = 1.0
# Vosk's PartialResult costs as much as a fifth of decoding when asked every chunk: ask every
# other chunk (0.4 s), and only while the party's line carries sound (or just did)
PARTIAL_EVERY = 2
PARTIAL_AFTER_SOUND = 1.5  # seconds
TAKE_BLOCKS = 5  # blocks a worker takes from its queue at once (1 s of 0.2 s blocks)
LISTEN_EVERY = 0.25  # seconds: the listener takes the audio in hand this often (turns lag 0.5 s steps anyway)


@dataclass
class SessionResult:
    report: CallReport
    warnings: list[LiveWarning]
    folder: Path
    stats: dict = field(default_factory=dict)
    page_error: str | None = None  # report.html could not be written (everything else was)


class SoundGate:
    """Whether a line carries sound now or did in the last ``PARTIAL_AFTER_SOUND`` seconds: a
    chunk more than ``RISE_DB`` over the line's own floor (which follows the quietest chunks,
    rising 1 dB a second so a louder line noise becomes the floor). Cheap and deliberately
    generous: a false "sound" costs one partial result, a missed one a late warning."""

    RISE_DB = 10.0
    FLOOR_RISE_PER_SECOND = 1.0
    LOWEST_DBFS = -75.0  # digital silence and dither sit at the floor, not far below it

    def __init__(self) -> None:
        self.floor = self.LOWEST_DBFS  # until the line shows its own (a noisy line: 1 dB a second)
        self.last_sound = -np.inf

    def sounding(self, chunk: np.ndarray, t_end: float) -> bool:
        level = 10.0 * np.log10(float(np.dot(chunk, chunk)) / max(len(chunk), 1) + 1e-12)  # no temporaries
        rise = self.FLOOR_RISE_PER_SECOND * len(chunk) / TARGET_SR
        self.floor = min(level, self.floor + rise)
        if level > max(self.floor, self.LOWEST_DBFS) + self.RISE_DB:
            self.last_sound = t_end
        return t_end - self.last_sound < PARTIAL_AFTER_SOUND


class StreamWorker(threading.Thread):
    """One party: queue -> 0.2 s chunks -> recogniser -> judge; every sample to the listener and
    to disk. Partial results are asked for only while the line carries sound (``SoundGate``: a
    function of this line's audio, so which partials a call gives never depends on another
    thread's progress)."""

    def __init__(self, party: str, q: "queue.Queue[Block | None]", model, judge: LiveJudge | InOrder,
                 folder: Path, partials: bool = True,
                 heard: Callable[[str, np.ndarray], None] = lambda party, x: None,
                 privacy: Privacy = Privacy()) -> None:
        super().__init__(name=f"stream-{party}", daemon=True)
        self.party = party
        self.privacy = privacy
        self.q = q
        self.judge = judge
        self.partials = partials
        self.heard = heard  # every sample, gaps filled, to the session's call listener
        self.rec = ChannelRecognizer(model, party) if model is not None else None
        self._gate = SoundGate()
        self.wav_path = folder / f"{party}.wav"
        self.audio = GrowingWav(self.wav_path, TARGET_SR)
        self.timeline_file = open(folder / f"{party}.timeline.jsonl", "x", encoding="utf-8")  # for a crash
        self.utterances: list[Utterance] = []  # what the recogniser said, with word times, for the report
        self.samples = 0
        self.gaps = 0  # dropped blocks (a full queue) filled with silence
        self.gap_seconds = 0.0
        self.until: float | None = None  # audio time past which blocks are ignored (--seconds)
        self.busy_seconds = 0.0  # CPU time spent on this stream's audio
        self.first_block_at: float | None = None  # time.monotonic() when the first audio came in
        self.error: BaseException | None = None
        self._buf = np.zeros(0, np.float32)
        self._chunk = int(CHUNK_SECONDS * TARGET_SR)
        self._last_flush = 0.0
        self._last_partial = ""
        self._chunks = 0

    def run(self) -> None:
        try:
            ended = False
            while not ended:
                # up to a second taken in one go: a worker behind catches up in fewer, larger steps
                # (the chunks Vosk gets are the same) and still sees a stop within a second (the
                # session throws away what is left in the queue)
                first = self.q.get()
                blocks, ended = _queued(self.q, first, TAKE_BLOCKS)
                t0 = time.thread_time()
                self._take_blocks(blocks)
                self.busy_seconds += time.thread_time() - t0
            t0 = time.thread_time()
            if len(self._buf):
                self._process(self._buf)
            self._finish()
            self.busy_seconds += time.thread_time() - t0
        except BaseException as exc:  # noqa: BLE001 - reported by the session, never lost silently
            self.error = exc
        finally:
            self.audio.close()
            self.timeline_file.close()

    def _take_blocks(self, blocks: list[Block]) -> None:
        """Blocks as they came, on the call's clock: cut at ``until``, gaps (dropped blocks)
        filled with silence."""
        pieces: list[np.ndarray] = []
        at = self.samples
        for block in blocks:
            if self.until is not None:
                keep = int(round(self.until * TARGET_SR)) - int(round(block.t * TARGET_SR))
                if keep <= 0:
                    continue  # queued ahead of the end the user asked for
                block = Block(block.party, block.t, block.samples[:keep])
            if self.first_block_at is None:
                self.first_block_at = time.monotonic()
            missing = int(round(block.t * TARGET_SR)) - at
            if missing > 0:  # blocks were dropped before this one: keep the party on the call's clock
                self.gaps += 1
                self.gap_seconds += missing / TARGET_SR
                pieces.append(np.zeros(missing, np.float32))
            pieces.append(np.asarray(block.samples, np.float32))
            at += max(missing, 0) + len(block.samples)
        if pieces:
            self._take(pieces[0] if len(pieces) == 1 else np.concatenate(pieces))

    def _take(self, samples: np.ndarray) -> None:
        self.heard(self.party, samples)
        self.audio.write(samples)
        self.samples += len(samples)
        if self.samples / TARGET_SR - self._last_flush >= FLUSH_SECONDS:
            self.audio.flush()  # a crash now leaves a WAV whose header says how long it is
            self._last_flush = self.samples / TARGET_SR
        buf = np.concatenate([self._buf, samples]) if len(self._buf) else samples
        step = self._chunk
        whole = len(buf) // step * step
        self._buf = buf[whole:]
        pcm = self.rec.to_pcm(buf[:whole]) if self.rec is not None and whole else b""
        for k in range(0, whole, step):  # Vosk gets the chunks one by one, converted in one go
            self._process(buf[k:k + step], pcm[2 * k:2 * (k + step)])

    def _process(self, chunk: np.ndarray, pcm: bytes | None = None) -> None:
        """One chunk for the recogniser (``pcm``: as ``to_pcm`` converted it), then its partial."""
        if self.rec is not None:
            self._chunks += 1
            finals = self.rec.accept(chunk) if pcm is None else self.rec.accept_pcm(pcm)
            for u in finals:
                self._final(u)
            sounding = self._gate.sounding(chunk, self.rec.audio_time)
            if finals:
                self._last_partial = ""
            elif self.partials and self._chunks % PARTIAL_EVERY == 0 and sounding:
                text, end = self.rec.partial()
                if text != self._last_partial:
                    self._last_partial = text
                    self.judge.on_partial(self.party, text, end, self.rec.audio_time)
        self.judge.on_clock(self.party, (self.samples - len(self._buf)) / TARGET_SR)

    def _final(self, u: Utterance) -> None:
        self.utterances.append(u)
        text = u.text
        if self.privacy.redact:  # this party's words so far, for a crash: no customer's number in the clear
            text = redact_as_said(text, self.utterances[-3:-1], u.start, self.privacy.hotlines)
        self.timeline_file.write(json.dumps({"speaker": u.speaker, "text": text, "start": u.start,
                                             "end": u.end}, ensure_ascii=False) + "\n")
        self.timeline_file.flush()
        self.judge.on_final(u, self.rec.audio_time if self.rec else u.end or 0.0)

    def _finish(self) -> None:
        if self.rec is not None:
            for u in self.rec.finish():
                self._final(u)
        self.judge.on_clock(self.party, self.samples / TARGET_SR)


class LiveSession:
    """Runs a source through the streaming path until it ends, ``stop()``, or ``seconds`` of
    audio have been heard.

    Warnings leave the judge through a queue: one dispatcher thread saves them
    (warnings.jsonl) and then hands them to each sink, so a slow or broken sink (a closed
    stdout, a stuck supervisor) never holds the judge's lock or stops the saving; a sink that
    fails is reported once and dropped, the others go on."""

    def __init__(self, pack: RulePack, source, model_path: str | None, folder: Path,
                 on_warning: Callable[[LiveWarning], None] | list[Callable[[LiveWarning], None]] = lambda w: None,
                 partials: bool = True,
                 seconds: float | None = None, on_event: Callable[[str], None] = lambda msg: None,
                 call: str | None = None, about: dict | None = None) -> None:
        self.pack = pack
        self.call = call  # in a shift: the call's name, carried by its warnings
        self.about = dict(about or {})  # in a shift: where the call sits in it (report.json keeps it)
        self.source = source
        self.folder = folder
        self.seconds = seconds
        self.on_event = on_event
        _claim_folder(folder)
        self.sinks = list(on_warning) if isinstance(on_warning, list) else [on_warning]
        self.queues: dict[str, queue.Queue] = source.queues
        self.parties = list(self.queues)
        self.warm = _warm_up()  # joined by those who must not start before it (several sessions)
        model = load_model(model_path) if model_path else None
        self.warnings_file = open(folder / "warnings.jsonl", "x", encoding="utf-8")
        self._outbox: "queue.SimpleQueue[LiveWarning | None]" = queue.SimpleQueue()
        self._dispatcher = threading.Thread(target=self._dispatch, name="warnings", daemon=True)
        self.sink_errors: list[str] = []
        self.judge = LiveJudge(pack, self.parties, self._outbox.put)
        self.inorder = InOrder(self.judge, self.parties)  # the judge's events in audio order
        # the measures follow the call in a thread of their own, off the recognisers' path, so
        # the end-of-call report only finishes what is left (the same listener ``score`` uses)
        self.listener = CallListener(self.parties, TARGET_SR, str(folder), settings=pack.measures,
                                     on_turns=self.inorder.on_turns)
        self._heard: "queue.SimpleQueue[tuple[str, np.ndarray] | None]" = queue.SimpleQueue()
        self._listening = threading.Thread(target=self._listen, name="listener", daemon=True)
        self.listen_cpu = 0.0
        self.listen_error: BaseException | None = None
        self._heard_call: Heard | None = None  # the call as the listener heard it, once it is finished
        self.workers = {p: StreamWorker(p, self.queues[p], model, self.inorder, folder,
                                        partials and self.judge.wants_partials(p),
                                        heard=lambda party, x: self._heard.put((party, x)), privacy=pack.privacy)
                        for p in self.parties}
        for w in self.workers.values():
            w.until = seconds
        self._stop = threading.Event()
        self.started = 0.0
        self.elapsed = 0.0
        self.drain = 0.0
        self.report_seconds = 0.0  # from the last audio processed to the report made
        self.unheard_seconds = 0.0  # audio still queued when the session was stopped, not processed
        self._report_from = 0.0

    def _listen(self) -> None:
        """The listener's thread: wakes at most every ``LISTEN_EVERY`` seconds and takes all
        the audio the workers handed it since (woken by every block, it cost each decoding
        thread a switch of core and caches per block)."""
        t0 = time.thread_time()
        try:
            ended = False
            while not ended:
                first = self._heard.get()
                self._stop.wait(LISTEN_EVERY)
                blocks, ended = _queued(self._heard, first)
                if self.listen_error is None and blocks:
                    self.listener.push_blocks(blocks)
        except BaseException as exc:  # noqa: BLE001 - reported with the report, the call goes on
            self.listen_error = exc
            self.inorder.done(LISTENER)  # the judge stops waiting for turns that will not come
            while self._heard.get() is not None:  # keep draining: the workers never block on it
                pass
        finally:
            self.listen_cpu = time.thread_time() - t0

    def _finish_listening(self) -> None:
        if self.listen_error is None:
            t0 = time.thread_time()
            try:
                self._heard_call = self.listener.finish()
            except BaseException as exc:  # noqa: BLE001 - reported with the report
                self.listen_error = exc
            self.listen_cpu += time.thread_time() - t0

    def _dispatch(self) -> None:
        while (w := self._outbox.get()) is not None:
            if self.call is not None:
                w = replace(w, call=self.call)
            try:
                self.warnings_file.write(json.dumps(w.to_dict(), ensure_ascii=False) + "\n")
                self.warnings_file.flush()
            except OSError as exc:  # a full disk: say so once, keep coaching
                self._sink_failed(f"saving warnings: {exc}")
            for sink in list(self.sinks):
                try:
                    sink(w)
                except Exception as exc:  # noqa: BLE001 - e.g. stdout closed by its reader: drop that output only
                    self.sinks.remove(sink)
                    self._sink_failed(f"{getattr(sink, '__name__', type(sink).__name__)}: {type(exc).__name__}: {exc}")

    def _sink_failed(self, what: str) -> None:
        if what not in self.sink_errors:
            self.sink_errors.append(what)
            self.on_event(f"a warning output failed ({what}); the session goes on")

    def stop(self) -> None:
        self._stop.set()

    def _should_end(self) -> bool:
        if self._stop.is_set() or self.source.done.is_set():
            return True
        if self.seconds is not None and self.inorder.heard >= self.seconds:
            return True
        return any(not w.is_alive() for w in self.workers.values())  # a worker died: end, keep what we have

    def run(self) -> SessionResult:
        self.started = time.monotonic()
        self._dispatcher.start()
        self._listening.start()
        for w in self.workers.values():
            w.start()
        self.source.start()
        try:
            while not self._should_end():
                self._stop.wait(0.05)
        except KeyboardInterrupt:  # embedded use: Ctrl-C ends the call here, with the report
            pass
        finally:
            ended = time.monotonic()
            self.source.stop()
            for party, q in self.queues.items():
                if self._stop.is_set():  # stopped (Ctrl-C, SIGTERM): end now, not after the backlog
                    self.unheard_seconds += _discard(q)
                if self.workers[party].is_alive():
                    q.put(None)  # after every block still queued
            for w in self.workers.values():
                w.join()
                self.inorder.done(w.party)
            self.elapsed = time.monotonic() - self.started
            self.drain = time.monotonic() - ended  # how far processing lagged behind the audio
            self._report_from = time.monotonic()
            self._heard.put(None)
            self._listening.join()
            self._finish_listening()  # the last turns close: their warnings go out with the others
            self.inorder.close()
            self._outbox.put(None)
            self._dispatcher.join(timeout=10.0)  # a sink stuck writing must not hold the report
            try:
                self.warnings_file.close()
            except OSError:
                pass
        errors = [f"{w.party}: {type(w.error).__name__}: {w.error}" for w in self.workers.values() if w.error]
        if errors:
            raise PhonecoachError("stream worker failed: " + "; ".join(errors))
        report = self.final_report()
        page_error = self.write_page(report)
        return SessionResult(report, list(self.judge.warnings), self.folder, self.stats(), page_error)

    def release(self) -> None:
        """Let go of what the call held (recognisers, the listener's audio, the judge) once its
        report is out: a shift runs call after call in one process."""
        for w in self.workers.values():
            w.rec = None
            w.utterances = []
        self.listener = self._heard_call = None  # type: ignore[assignment]
        self.sinks = []

    def write_page(self, report: CallReport) -> str | None:
        """report.html beside report.json: the call to listen through, with its findings,
        playing ``call.wav`` (the call as heard on the phone) written beside it from the audio
        the listener holds (nothing is read back). Made after the JSON, so a script waiting for
        report.json does not wait for it; a failure here is reported and loses nothing else."""
        from ..sinks.callpage import write_call_page, write_page_beside_audio

        page, title = self.folder / "report.html", f"{self.folder.name} (live session)"
        try:
            recorded = self._heard_call.recorded if self._heard_call is not None else None
            if recorded is not None and recorded.parties:
                write_page_beside_audio(page, report, recorded, title=title)
            else:
                write_call_page(page, report, None, title=title)
        except Exception as exc:  # noqa: BLE001 - the JSON report, audio and timeline are already saved
            return f"{page}: not written: {type(exc).__name__}: {exc}"
        return None

    def stats(self) -> dict:
        s = self.source.stats
        audio = max(w.samples for w in self.workers.values()) / TARGET_SR
        return {"audio_seconds": round(audio, 2), "wall_seconds": round(self.elapsed, 2),
                "lag_at_end_seconds": round(self.drain, 2),
                "cpu_seconds": {p: round(w.busy_seconds, 2) for p, w in self.workers.items()},
                "listener_cpu_seconds": round(self.listen_cpu, 2),
                "first_audio_after_start_seconds": _since_process_start(
                    min((w.first_block_at for w in self.workers.values() if w.first_block_at), default=None)),
                "report_seconds": round(self.report_seconds, 2),
                "queue_overflows": s.overflows, "input_overflows": s.input_overflows,
                "device_stalls": s.stalls, "reconnects": s.reconnects,
                "dropped": {p: {"gaps": w.gaps, "seconds_filled": round(w.gap_seconds, 2)}
                            for p, w in self.workers.items()},
                "sink_errors": list(self.sink_errors)}

    def final_report(self) -> CallReport:
        """What ``phonecoach score`` gives on the recording: same timeline, same measures, same
        rules, from what the session heard (nothing is read back or computed again)."""
        if self.listen_error is not None or self._heard_call is None:
            raise PhonecoachError(f"measuring the call failed: {type(self.listen_error).__name__}: {self.listen_error}")
        heard = self._heard_call
        utts = [u for w in self.workers.values() for u in w.utterances]  # with their word times
        timeline = Timeline(utts, speakers_separated="unknown" not in self.parties, duration=heard.audio.duration)
        notes = [f"live session; {len(self.judge.warnings)} warnings raised during the call"]
        if self.unheard_seconds > 0:
            notes.append(f"stopped with {self.unheard_seconds:.1f} s of audio still queued: not heard or judged")
        for w in self.workers.values():
            if w.gaps:
                notes.append(f"{w.party}: {w.gaps} dropped stretch{'es' * (w.gaps > 1)} of audio "
                             f"({w.gap_seconds:.1f} s) filled with silence to keep both parties on one clock")
        measures = measure_call(heard.audio, timeline, self.pack.measures, heard=heard)
        report = judge(self.pack, timeline, str(self.folder), measures, notes=notes)
        self.report_seconds = time.monotonic() - self._report_from
        write_text_atomic(self.folder / "report.json",
                          json.dumps({**report.to_dict(), **self.about, "session": self.stats()},
                                     ensure_ascii=False, indent=1))
        return report


def _queued(q, first, most: int | None = None) -> tuple[list, bool]:
    """``first`` (already taken from ``q``) and what else ``q`` holds now, at most ``most`` items
    in all, up to the end mark (None); and whether the end mark came."""
    items = [first]
    while items[-1] is not None and (most is None or len(items) < most):
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            break
    if items[-1] is None:
        return items[:-1], True
    return items, False


def _discard(q: "queue.Queue[Block | None]") -> float:
    """Empty a party's queue; the seconds of audio thrown away."""
    seconds = 0.0
    while True:
        try:
            block = q.get_nowait()
        except queue.Empty:
            return seconds
        if block is not None:
            seconds += len(block.samples) / TARGET_SR


def _warm_up() -> threading.Thread:
    """Load what the first seconds of a call would otherwise load on the audio path, in a
    thread while the caller loads the speech model (Vosk reads it without the GIL): the word
    table (made from jieba's dictionary the first time on a machine, 2 s) and the syllable
    table. Loaded mid-call they hold the GIL and stall every stream of the process (dropped
    blocks with four sessions on two cores)."""
    def run() -> None:
        from ..judging.textmatch import find_any, word_boundaries

        word_boundaries("您好我是客服小王")
        find_any("您好，我是客服小王，请问有什么可以帮您", ("有什么可以帮您", "与我无关"))

    t = threading.Thread(target=run, name="warm-up", daemon=True)
    t.start()
    return t


def _since_process_start(t: float | None) -> float | None:
    """Seconds from this process's start (the user's command) to monotonic time ``t``: what
    start-up (imports, model loading) costs before the first audio is heard."""
    if t is None:
        return None
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return round(age - (time.monotonic() - t), 2)


def _claim_folder(folder: Path) -> None:
    """A session folder is this session's alone: never appended to another session's files."""
    if folder.exists() and not folder.is_dir():
        raise PhonecoachError("is a file, not a folder; choose another --out", folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PhonecoachError(f"cannot make the session folder: {exc.strerror}", folder) from None
    taken = [p.name for p in folder.iterdir() if p.suffix in (".wav", ".jsonl") or p.name == "report.json"]
    if taken:
        raise PhonecoachError(f"already holds a session ({', '.join(sorted(taken)[:3])}…); choose another --out",
                              folder)


def new_session_folder(root: Path = Path("sessions")) -> Path:
    """sessions/<date-time>-<pid>[-n], created here and now, so two sessions started in the same
    second never share one."""
    root.mkdir(parents=True, exist_ok=True)
    stem = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    for n in range(1000):
        folder = root / (stem if n == 0 else f"{stem}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise PhonecoachError("could not create a new session folder", root)
