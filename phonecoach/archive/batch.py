"""Scoring a call archive: many processes, one results store.

The batch is the file front end run many times over: each worker process loads the Vosk
model once and runs ``score_call`` on the calls it is handed (decoding, recognition,
measures, judging); the main process hashes the files, skips what the store already holds,
and is the one writer. A file that cannot be scored is stored with its one-line error; a
worker that dies takes only its calls with it (stored as errors, the others go on).
"""
from __future__ import annotations

import csv
import glob
import io
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable

from ..core.errors import AudioError, PhonecoachError
from ..core.safeio import check_regular, read_limited, shown
from ..core.verdict import CallReport
from ..inputs.audio import session_files
from ..pipeline import AUDIO_SUFFIXES, ScoreOptions
from .store import CallRecord, Store

IDENTITY = ("agent", "call_id", "started_at", "caller")  # manifest / pattern fields the store has columns for
CALL_FIELDS = ("ring_seconds", "agent_channel")  # fields that change how a call is scored


@dataclass
class Job:
    """One file to score, with what the manifest or its name says about it."""

    path: Path
    meta: dict[str, str] = field(default_factory=dict)
    sha256: str = ""

    def get(self, name: str) -> str | None:
        return self.meta.get(name) or None


# -- finding the calls -----------------------------------------------------------------------

def find_jobs(inputs: Iterable[str], agent_pattern: str | None = None) -> list[Job]:
    """Folders (recursive), globs and manifest CSVs, in order, each file once."""
    jobs: dict[Path, Job] = {}
    for raw in inputs:
        p = Path(raw)
        if p.suffix.lower() == ".csv" and p.is_file():
            found = manifest_jobs(p)
        elif p.is_dir() and (p / "shift.json").is_file() and (p / "calls.csv").is_file():
            found = manifest_jobs(p / "calls.csv")  # a coached shift: each finished call a call (live --shift)
        elif p.is_dir():
            # a link that leads nowhere (or round in a loop) is a file the user meant: stored with its error
            found = [Job(f) for f in sorted(p.rglob("*")) if f.suffix.lower() in AUDIO_SUFFIXES
                     and (f.is_symlink() or not f.is_dir())]
        elif glob.has_magic(raw):
            found = [Job(Path(f)) for f in sorted(glob.glob(raw, recursive=True))
                     if Path(f).suffix.lower() in AUDIO_SUFFIXES]
        else:
            found = [Job(p)]  # a missing or unreadable file is stored with its error
        for job in found:
            jobs.setdefault(job.path, job)
    out = list(jobs.values())
    if agent_pattern:
        match = pattern_matcher(agent_pattern)
        for job in out:
            for k, v in match(job.path.name).items():
                job.meta.setdefault(k, v)
    return out


def manifest_jobs(path: Path) -> list[Job]:
    """A manifest: ``file`` (relative to the manifest's folder), any of ``ring_seconds``,
    ``agent_channel``, ``agent``, ``call_id``, ``started_at``, ``caller``; other columns are
    kept as the call's metadata."""
    try:
        text = read_limited(path, PhonecoachError, "a manifest", 64 << 20).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PhonecoachError("manifest is not UTF-8 text", shown(path)) from None
    rows = csv.DictReader(io.StringIO(text, newline=""))  # a quoted field may hold a newline
    if not rows.fieldnames or "file" not in rows.fieldnames:
        raise PhonecoachError("manifest needs a header row with a 'file' column", shown(path))
    jobs = []
    for row in rows:
        line = rows.line_num  # where the row ends in the file
        meta = {k.strip(): (v or "").strip() for k, v in row.items() if k and k.strip() != "file" and (v or "").strip()}
        name = (row.get("file") or "").strip()
        if not name:
            raise PhonecoachError(f"line {line}: no file", shown(path))
        check_call_fields(meta, f"{shown(path)}: line {line}")
        jobs.append(Job((path.parent / name) if not Path(name).is_absolute() else Path(name), meta))
    return jobs


def check_call_fields(meta: dict[str, str], where: str) -> None:
    """The fields that change how a call is scored, from a manifest row or a file name
    (--agent-pattern): checked, normalised in place, or PhonecoachError naming ``where``."""
    side = meta.get("agent_channel", "").lower()
    if side not in ("", "left", "right"):
        raise PhonecoachError(f"{where}: agent_channel {meta['agent_channel']!r} must be left or right")
    if side:
        meta["agent_channel"] = side
    if "ring_seconds" in meta:
        try:
            ok = 0 <= float(meta["ring_seconds"]) < float("inf")
        except ValueError:
            ok = False
        if not ok:
            raise PhonecoachError(f"{where}: ring_seconds {meta['ring_seconds']!r} is not a number >= 0")
    if meta.get("started_at"):
        meta["started_at"] = parse_time(meta["started_at"], where)


def parse_time(value: str, where: str) -> str:
    """An ISO 8601 time (2026-11-24T09:30:00 or with a space), kept as ISO text."""
    from ..core.timeline import local_time

    try:
        return local_time(value).isoformat(timespec="seconds")  # one basis: zoned and naive times compare
    except ValueError:
        raise PhonecoachError(f"{where}: started_at {value!r} is not a date and time like 2026-11-24 09:30:00") from None


def pattern_matcher(pattern: str) -> Callable[[str], dict[str, str]]:
    """``{agent}_{date}_{id}.wav`` -> a function from a file name to its fields ({} if it does
    not fit). ``*`` matches anything; the fields never span a path separator."""
    parts = re.split(r"(\{[A-Za-z_]\w*\}|\*)", pattern)
    regex = ""
    for part in parts:
        if part == "*":
            regex += ".*?"
        elif part.startswith("{") and part.endswith("}"):
            regex += f"(?P<{part[1:-1]}>[^/]+?)"
        else:
            regex += re.escape(part)
    try:
        compiled = re.compile(regex + r"\Z")
    except re.error as exc:
        raise PhonecoachError(f"--agent-pattern {pattern!r}: {exc}") from None

    def match(name: str) -> dict[str, str]:
        m = compiled.match(name)
        if not m:
            return {}
        fields = {k: v for k, v in m.groupdict().items() if v}
        if "id" in fields and "call_id" not in fields:
            fields["call_id"] = fields.pop("id")
        return fields

    return match


# -- the workers -----------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_init(pack_path: str | None, model: str | None, use_reference: bool) -> None:
    """Once per worker process: the rule pack and the model, kept for every call it scores."""
    from ..core.process import tune_process
    from ..inputs.transcribe import load_model
    from ..judging.rulepack import load_pack

    tune_process()
    _end_with_parent()
    _WORKER["pack"] = load_pack(pack_path)
    _WORKER["model"] = model
    _WORKER["use_reference"] = use_reference
    if model:
        load_model(model)


def _end_with_parent(every: float = 1.0) -> None:
    """A worker ends when the batch's main process is gone (even by SIGKILL, which runs no
    clean-up): a watch thread sees it re-parented and exits, so no worker (each holding a
    model, ~340 MB) lives on scoring calls no one will save."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def score_job(path: str, ring_seconds: float | None, agent_channel: str) -> dict[str, Any]:
    """In a worker: one call, start to end: its report (typed records, pickled back to the
    writer). Errors come back as their one line."""
    from ..pipeline import score_call

    opts = ScoreOptions(model=_WORKER["model"], agent_channel=agent_channel, ring_seconds=ring_seconds,
                        use_reference=_WORKER["use_reference"], parallel=False)  # a call per core already
    t0 = time.process_time()
    try:
        report = score_call(_WORKER["pack"], Path(path), None, opts)
    except Exception as exc:  # noqa: BLE001 - stored with the call, the batch goes on
        return {"error": one_line(exc, path), "cpu": time.process_time() - t0}
    return {"report": report, "cpu": time.process_time() - t0}


def one_line(exc: BaseException, path: str | Path) -> str:
    if isinstance(exc, PhonecoachError):
        line = str(exc) if exc.path else f"{shown(path)}: {exc}"
    else:
        line = f"{shown(path)}: could not be scored ({type(exc).__name__}: {exc})"
    return (line.splitlines() or [""])[0]


# -- the run ---------------------------------------------------------------------------------

@dataclass
class Progress:
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(1e-9, time.monotonic() - self.started)
        rate = self.done / elapsed
        left = self.total - self.done - self.skipped
        return {"done": self.done, "skipped": self.skipped, "total": self.total, "failed": self.failed,
                "audio_hours": round(self.audio_seconds / 3600, 3), "calls_per_second": round(rate, 3),
                "eta_seconds": round(left / rate, 1) if rate > 0 else None}


@dataclass
class BatchOptions:
    pack_path: str | None
    pack_version: str  # the rule pack's version (pack_version of its file)
    model_path: str | None
    model: str  # id
    workers: int = max(1, os.cpu_count() or 1)
    agent_channel: str = "left"
    use_reference: bool = True


def run_batch(store: Store, jobs: list[Job], opts: BatchOptions,
              on_progress: Callable[[Progress, CallRecord | None], None] = lambda p, r: None,
              submit: Callable | None = None) -> tuple[Progress, list[CallRecord]]:
    """Score every job the store does not hold yet; save each as it finishes. ``submit``
    (fn, *args) -> Future runs the work elsewhere (a Dask cluster); by default a local
    process pool. Returns the progress and the calls that failed in this run."""
    progress = Progress(total=len(jobs))
    todo: list[Job] = []
    failures: list[CallRecord] = []
    for job in jobs:
        try:
            for f in (session_files(job.path) if job.path.is_dir() else [job.path]):  # a live call's folder: its WAVs
                check_regular(f, AudioError, "an audio file")  # /dev/zero or a FIFO would never end
            check_call_fields(job.meta, shown(job.path))  # what --agent-pattern read from its name
            if shown(job.path) != str(job.path):
                raise AudioError("the file name is not UTF-8; rename it", shown(job.path))
            job.sha256 = store.sha256_of(job.path)
        except (PhonecoachError, OSError) as exc:
            why = str(exc) if isinstance(exc, PhonecoachError) else \
                f"{shown(job.path)}: cannot read it: {exc.strerror or exc}"
            job.path = Path(shown(job.path))  # what the store can keep (and a person can read)
            rec = _record(job, opts, {"error": why})
            rec.sha256 = "unreadable:" + shown(os.path.abspath(job.path))
            store.save(rec)
            progress.done += 1
            progress.failed += 1
            failures.append(rec)
            on_progress(progress, rec)
            continue
        if store.has(job.sha256, opts.pack_version, opts.model) or any(j.sha256 == job.sha256 for j in todo):
            progress.skipped += 1  # done before, or the same audio under another name
            continue
        todo.append(job)
    on_progress(progress, None)
    if not todo:
        return progress, failures

    def finished(job: Job, result: dict[str, Any]) -> None:
        rec = _record(job, opts, result)
        store.save(rec)
        progress.done += 1
        progress.audio_seconds += rec.duration or 0.0
        if rec.error:
            progress.failed += 1
            failures.append(rec)
        on_progress(progress, rec)

    def args(j: Job) -> tuple:
        where = str(j.path.resolve()) if submit is not None else str(j.path)  # other machines: no cwd to share
        return where, _float(j.get("ring_seconds")), j.get("agent_channel") or opts.agent_channel

    if submit is not None:
        pending = {submit(score_job, *args(j)): j for j in todo}
        for fut in _as_done(pending):
            finished(pending[fut], _result(fut, pending[fut]))
        return progress, failures
    queue = list(reversed(todo))
    while queue:
        pool = ProcessPoolExecutor(max_workers=min(opts.workers, len(queue)), mp_context=get_context("spawn"),
                                   initializer=_worker_init,
                                   initargs=(opts.pack_path, opts.model_path, opts.use_reference))
        inflight: dict[Future, Job] = {}
        broken = False
        try:
            while (queue or inflight) and not broken:
                while queue and len(inflight) < 2 * opts.workers:  # bounded: memory stays flat on big archives
                    job = queue.pop()
                    inflight[pool.submit(score_job, *args(job))] = job
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = inflight.pop(fut)
                    try:
                        finished(job, fut.result())
                    except BrokenProcessPool:
                        broken = True  # a worker died (killed, out of memory): its calls are stored as errors
                        finished(job, {"error": f"{shown(job.path)}: the worker scoring it died"})
            for fut, job in inflight.items():
                finished(job, {"error": f"{shown(job.path)}: the worker scoring it died"})
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return progress, failures


def _as_done(pending: dict):
    from concurrent.futures import as_completed

    try:
        from distributed import as_completed as dask_as_completed  # a Dask client's futures
    except ImportError:
        dask_as_completed = None
    first = next(iter(pending))
    if isinstance(first, Future) or dask_as_completed is None:
        yield from as_completed(pending)
    else:
        yield from dask_as_completed(list(pending))


def _result(fut, job: Job) -> dict[str, Any]:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 - a lost worker: this call is an error, the rest go on
        return {"error": f"{shown(job.path)}: the worker scoring it failed ({type(exc).__name__})"}


def _record(job: Job, opts: BatchOptions, result: dict[str, Any]) -> CallRecord:
    ident = {k: job.get(k) for k in IDENTITY}
    extra = {k: v for k, v in job.meta.items() if k not in IDENTITY}
    report: CallReport | None = result.get("report")
    # absolute ('..' folded, links kept: a loop or a dangling link is still named as given): a
    # report or a served page finds the audio from any folder
    file = os.path.abspath(job.path) if str(job.path) else str(job.path)
    return CallRecord(sha256=job.sha256, pack_version=opts.pack_version, model=opts.model, file=file, meta=extra,
                      duration=report.timeline.duration if report else None, error=result.get("error"),
                      timeline=report.timeline if report else None, measures=report.measures if report else None,
                      report=report, **ident)


def _float(x: str | None) -> float | None:
    return float(x) if x not in (None, "") else None


# -- judging again ---------------------------------------------------------------------------

def rescore(store: Store, pack_path: str | None, pack_version: str, model: str | None = None,
            on_call: Callable[[CallRecord], None] = lambda r: None) -> int:
    """Judge the stored timelines and measures with the rule pack at ``pack_path``: no audio,
    no recogniser, the same judgement as the first time. Calls already judged with this pack
    are left alone. Returns how many."""
    from ..judging.engine import judge
    from ..judging.rulepack import load_pack

    pack = load_pack(pack_path)
    done = 0
    for old in list(store.calls(model=model, errors=False)):
        if old.pack_version == pack_version or store.has(old.sha256, pack_version, old.model) or old.timeline is None:
            continue
        was = old.report
        report = judge(pack, old.timeline, was.source if was else old.file, old.measures,
                       notes=was.notes if was else None)
        new = replace(old, pack_version=pack_version, error=None, report=report)
        store.save(new)
        on_call(new)
        done += 1
    return done


# -- a Dask cluster ---------------------------------------------------------------------------

def dask_submitter(address: str, opts: BatchOptions):
    """(client, submit) for a Dask scheduler at ``address``: every worker, present or joining
    later, loads the rule pack and the model once (a worker plugin), and the calls are spread
    over them; the results come back here, to the one writer. The workers must see the audio
    files, the pack and the model at the same paths (a shared disk)."""
    try:
        from distributed import Client, WorkerPlugin
    except ImportError:
        raise PhonecoachError("--dask-scheduler needs Dask: pip install 'phonecoach[cluster]' (distributed)") from None

    class LoadModel(WorkerPlugin):
        name = "phonecoach-model"

        def __init__(self, pack_path, model_path, use_reference):
            self.args = (pack_path, model_path, use_reference)

        def setup(self, worker):
            _worker_init(*self.args)

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise PhonecoachError(f"--dask-scheduler {address}: cannot reach the scheduler ({exc})") from None
    client.register_plugin(LoadModel(opts.pack_path, opts.model_path, opts.use_reference))

    def submit(fn, *args):
        return client.submit(fn, *args, pure=False)

    return client, submit
