"""The archive commands: ``batch``, ``summary`` and ``export`` (added to ``phonecoach`` in cli.py)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..core.errors import PhonecoachError
from ..core.safeio import printable
from .common import EXIT_INPUT_ERROR, _err


@click.command()
@click.argument("inputs", nargs=-1)
@click.option("--store", "store_path", type=click.Path(path_type=Path), required=True,
              help="SQLite results store (created if missing).")
@click.option("--workers", type=click.IntRange(1, 256), default=max(1, os.cpu_count() or 1), show_default=True,
              help="Worker processes, each with the model loaded once.")
@click.option("--model", type=click.Path(path_type=Path), help="Vosk model folder (same lookup as 'score').")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), default="left", show_default=True)
@click.option("--agent-pattern", help="Fields from file names, e.g. '{agent}_{date}_{id}.wav' ({id} = call id).")
@click.option("--rescore", is_flag=True, help="Judge the stored timelines and measures again with --rules "
              "(after a rule change): no audio, no recogniser.")
@click.option("--dask-scheduler", "dask_address", metavar="tcp://HOST:PORT",
              help="Run the work on a Dask cluster (workers see the files at the same paths).")
@click.option("--quiet", is_flag=True, help="No progress.")
@click.option("--progress", "progress_fmt", type=click.Choice(["bar", "json"]), default="bar", show_default=True,
              help="json: one object per finished call on stderr (done, total, failed, audio_hours, eta_seconds).")
@click.option("--relocate", nargs=2, metavar="OLD NEW", help="The archive moved: re-point the stored calls under "
              "folder OLD to NEW (nothing is scored).")
@click.option("--redact", is_flag=True, help="Mask customers' ID, phone and card numbers in every call the store "
              "holds in the clear (stored before phonecoach redacted, or with redaction off), in one transaction; "
              "nothing is scored.")
def batch(inputs, store_path, workers, model, rules_path, agent_channel, agent_pattern, rescore, dask_address,
          quiet, progress_fmt, relocate, redact) -> None:
    """Score a call archive into a results store: parallel, resumable, each file once.

    INPUTS are folders (searched recursively), globs or manifest CSVs (file, ring_seconds,
    agent_channel, agent, call_id, started_at, caller; other columns are kept as metadata).
    A re-run skips what the store holds; a broken file is stored with its error.

    \b
    Examples:
      phonecoach batch archive/ --store results.db
      phonecoach batch 'calls/2026-11-*/*.wav' --store results.db --agent-pattern '{agent}_{date}_{id}.wav'
      phonecoach batch manifest.csv --store results.db --workers 8 --progress json
      phonecoach batch --rescore --rules rules/zh-CN.toml --store results.db
      phonecoach batch /shared/archive --store results.db --dask-scheduler tcp://10.0.0.5:8786
      phonecoach batch --relocate /mnt/old/calls /data/calls --store results.db
      phonecoach batch --redact --store results.db
    """
    from ..archive.batch import BatchOptions, dask_submitter, find_jobs, run_batch
    from ..archive.batch import rescore as rescore_calls
    from ..archive.crosscall import judge_across_calls
    from ..archive.store import Store, model_id, pack_version
    from ..inputs.models import find_model
    from ..judging.rulepack import DEFAULT_PACK, load_pack

    err = Console(stderr=True)
    if relocate:
        _relocate(store_path, *relocate)
        return
    if redact:
        _redact(store_path, rules_path)
        return
    if not inputs and not rescore:
        raise click.UsageError("give at least one folder, glob or manifest (or --rescore)")
    try:
        pack_file = Path(rules_path) if rules_path else DEFAULT_PACK
        load_pack(pack_file)  # refuse a broken pack before any work
        version = pack_version(pack_file)
        store = Store(store_path)
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    if rescore:
        t0 = time.monotonic()
        n = rescore_calls(store, str(pack_file), version, model_id(str(model)) if model else None)
        for m in store.models(version):
            judge_across_calls(store, load_pack(pack_file), version, m)
        click.echo(f"phonecoach: re-judged {n} stored calls with {pack_file.name} ({version}) in "
                   f"{time.monotonic() - t0:.1f} s, no recogniser", err=True)
        return
    try:
        model_path, use_reference = str(find_model(model)), True
    except PhonecoachError as exc:
        if model is not None:
            _err(err, str(exc))
            sys.exit(EXIT_INPUT_ERROR)
        model_path, use_reference = None, True  # the reference transcripts beside the samples
        click.echo(f"phonecoach: {exc} — scoring reference transcripts where there are any", err=True)
    try:
        jobs = find_jobs(inputs, agent_pattern)
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    opts = BatchOptions(str(pack_file.resolve()), version, str(Path(model_path).resolve()) if model_path else None,
                        model_id(model_path), workers, agent_channel, use_reference)
    bar = None
    if not quiet and progress_fmt == "bar":
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("scoring"), BarColumn(), TextColumn("{task.completed}/{task.total} calls"),
                       TextColumn("{task.fields[hours]:.2f} h audio · {task.fields[rate]:.2f} calls/s · "
                                  "{task.fields[failed]} failed"), TimeRemainingColumn(), console=err,
                       disable=not err.is_terminal)
        task = bar.add_task("scoring", total=len(jobs), hours=0.0, rate=0.0, failed=0)
        bar.start()

    reporting = True  # progress output that fails (stderr closed by its reader) stops; scoring never does

    def on_progress(p, rec) -> None:
        nonlocal reporting
        if not reporting:
            return
        d = p.as_dict()
        try:
            if bar is not None:
                bar.update(task, completed=p.done + p.skipped, hours=d["audio_hours"], rate=d["calls_per_second"],
                           failed=p.failed)
            elif not quiet and rec is not None:
                click.echo(json.dumps({**d, "file": rec.file, "error": rec.error}, ensure_ascii=False), err=True)
        except (OSError, ValueError):  # a closed pipe (BrokenPipeError) or a closed stream
            reporting = False

    client = submit = None
    try:
        if dask_address:
            client, submit = dask_submitter(dask_address, opts)
        progress, failures = run_batch(store, jobs, opts, on_progress, submit=submit)
        judge_across_calls(store, load_pack(pack_file), version, opts.model)  # a new call may keep an old promise
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    finally:
        if bar is not None:
            bar.stop()
        if client is not None:
            client.close()
        store.close()
    d = progress.as_dict()
    if not reporting:
        _quiet_stderr()
    click.echo(f"phonecoach: {progress.done} calls scored ({d['audio_hours']:.2f} h of audio), {progress.skipped} "
               f"already in {store_path.name}, {progress.failed} failed", err=True)
    for rec in failures:
        _err(err, rec.error or rec.file)
    sys.exit(EXIT_INPUT_ERROR if failures else 0)


@click.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--worst", type=click.IntRange(0, 1000), default=10, show_default=True, help="How many worst calls.")
@click.option("--json", "as_json", is_flag=True)
def summary(store_path, worst, as_json) -> None:
    """Per-agent and per-rule pass rates, the worst calls and the trend by week.

    \b
    Examples:
      phonecoach summary --store results.db
      phonecoach summary --store results.db --json | jq '.agents'
    """
    from ..archive.store import Store
    from ..archive.views import agent_rows, complaint_rows, count_calls, rule_rows, selection, trend_rows, worst_calls

    try:
        store = Store(store_path, readonly=True)
        sel = selection(store)
        if sel is None:
            out: dict = {"calls": 0, "agents": [], "rules": [], "worst": [], "weeks": [], "complaints": []}
        else:
            out = {"calls": count_calls(store, sel), "agents": agent_rows(store, sel), "rules": rule_rows(store, sel),
                   "worst": worst_calls(store, sel, worst), "weeks": trend_rows(store, sel),
                   "complaints": complaint_rows(store, sel)}
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    con = Console()
    for title, rows in (("Agents", out["agents"]), ("Rules", out["rules"]), ("Worst calls", out["worst"]),
                        ("By week", out["weeks"]), ("Complaint calls by agent", out["complaints"])):
        if not rows:
            continue
        t = Table(title=title, title_justify="left")
        for col in rows[0]:
            t.add_column(col)
        for row in rows:
            t.add_row(*[printable(", ".join(v) if isinstance(v, list) else "" if v is None else str(v))
                        for v in row.values()])
        con.print(t)


@click.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), required=True)
@click.option("--table", "table_name", type=click.Choice(["calls", "rules", "agents", "complaints"]),
              help="One table; without it: jsonl writes one object per call, csv/parquet every table.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path, allow_dash=True),
              help="File for one table, or a folder for all; without it (or '-') one table goes to stdout.")
def export(store_path, fmt, table_name, out) -> None:
    """Export the store for BI tools: one table to stdout or a file, or every table to a folder
    (calls, rules, agents, and complaints: per agent, the calls where the caller complained).

    \b
    Examples:
      phonecoach export --store results.db --format jsonl | jq .score
      phonecoach export --store results.db --format csv --table rules > rules.csv
      phonecoach export --store results.db --format csv -o exports/
      phonecoach export --store results.db --format parquet --table rules -o rules.parquet
    """
    from ..archive.store import Store
    from ..archive.views import TABLES, call_objects, count_calls, dump_rows, selection, table, write_rows

    to_stdout = out is None or str(out) == "-"
    if to_stdout and fmt != "jsonl" and table_name is None:
        raise click.UsageError(f"{fmt} exports several tables ({', '.join(TABLES)}): name one with --table, "
                               "or give a folder with -o")
    if to_stdout and fmt == "parquet" and sys.stdout.isatty():
        raise click.UsageError("parquet is binary: redirect stdout to a file, or give one with -o")
    try:
        store = Store(store_path, readonly=True)
        sel = selection(store)
        n = count_calls(store, sel) if sel is not None else 0
        if sel is None:
            rows = iter(()) if fmt == "jsonl" or table_name is not None else None
        else:
            rows = call_objects(store, sel) if fmt == "jsonl" and table_name is None else None
            if rows is None and table_name is not None:
                rows = table(store, sel, table_name)
        if to_stdout:
            out_stream = sys.stdout.buffer
            dump_rows(rows, out_stream, fmt)
            out_stream.flush()
            written = ["stdout"]
        elif rows is not None:
            write_rows(rows, out, fmt)
            written = [out]
        else:
            written = [out / f"{name}.{fmt}" for name in TABLES]
            for name, target in zip(TABLES, written):
                write_rows(table(store, sel, name) if sel is not None else iter(()), target, fmt)
    except ImportError:
        _err(None, "parquet needs pyarrow: pip install pyarrow (or use --format csv / jsonl)")
        sys.exit(EXIT_INPUT_ERROR)
    except BrokenPipeError:  # the reader (head, a closed pipe) had enough
        sys.exit(0)
    except (PhonecoachError, OSError) as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"phonecoach: {n} calls exported to {', '.join(map(str, written))}", err=True)


@click.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--labels", "labels_path", type=click.Path(path_type=Path),
              help="CSV: file or call_id, rule, status (pass/fail/not_applicable), auditor. "
                   "Without it, the reviews made in 'phonecoach serve' are the labels.")
@click.option("--json", "as_json", is_flag=True)
def calibrate(store_path, labels_path, as_json) -> None:
    """How far the scorer agrees with your own audits, per rule and per auditor.

    The audits are the store's own reviews (each reviewer's latest verdict on each call's rule,
    made in 'phonecoach serve'), or a CSV made elsewhere. Prints the agreement, the precision
    and recall of a "fail", Cohen's kappa, where auditors disagree with each other, and every
    call where scorer and auditor differ, with the evidence.

    \b
    Examples:
      phonecoach calibrate --store results.db
      phonecoach calibrate --store results.db --labels audits.csv
      phonecoach calibrate --store results.db --labels audits.csv --json > calibration.json
    """
    from ..archive.calibration import calibrate as run
    from ..archive.calibration import load_labels
    from ..archive.review import audit_labels
    from ..archive.store import Store
    from ..archive.views import selected

    try:
        store = Store(store_path, readonly=True)
        labels = load_labels(labels_path) if labels_path else audit_labels(store.db)
        if not labels:
            raise PhonecoachError("no reviews in the store yet (review calls in 'phonecoach serve', or give --labels)",
                                  store_path)
        out = run(labels, selected(store))
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    con = Console()
    pct = lambda x: "" if x is None else f"{100 * x:.0f} %"  # noqa: E731
    for title, group in (("Rules", out["rules"]), ("Auditors", out["auditors"])):
        t = Table(title=f"{title} (scorer vs auditor)", title_justify="left")
        for col in ("", "labels", "agreement", "fail precision", "fail recall", "kappa"):
            t.add_column(col)
        for name, f in list(group.items()) + [("all", out["overall"])] * (title == "Rules"):
            t.add_row(printable(name), str(f["n"]), pct(f["agreement"]), pct(f["fail_precision"]),
                      pct(f["fail_recall"]), "" if f["kappa"] is None else f"{f['kappa']:.2f}")
        con.print(t)
    for p in out["auditor_pairs"]:
        con.print(f"auditors {printable(p['auditors'][0])} and {printable(p['auditors'][1])} agree on "
                  f"{pct(p['agreement'])} of the {p['n']} labels they share", highlight=False)
    for d in out["differ"]:
        con.print(f"differ: {printable(Path(d['file']).name)} {d['rule']}: {printable(d['auditor'])} says "
                  f"{d['auditor_says']}, scorer says {d['scorer_says']} “{printable(d['evidence'])}”",
                  highlight=False, markup=False)
    for m in out["not_found"]:
        click.echo(f"warning: labels line {m['line']}: no stored call {m['call']!r} with rule {m['rule']}", err=True)


def _quiet_stderr() -> None:
    """stderr was closed by its reader: the summary lines go nowhere rather than fail the run
    (the store holds every call and error)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        sys.stderr = open(2, "w", closefd=False)
    except OSError:
        pass


def _redact(store_path: Path, rules_path: Path | None) -> None:
    from ..archive.store import Store
    from ..judging.rulepack import load_pack

    try:
        if not Path(store_path).is_file():
            raise PhonecoachError("no such results store", store_path)
        hotlines = load_pack(rules_path).privacy.hotlines  # the pack's service numbers stay as said
        n = Store(store_path).redact(hotlines)
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"phonecoach: {n} stored calls redacted (customers' ID, phone and card numbers masked)", err=True)


def _relocate(store_path: Path, old: str, new: str) -> None:
    from ..archive.store import Store

    try:
        store = Store(store_path)
        n = store.relocate(os.path.abspath(old), os.path.abspath(new))  # as batch stores paths
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"phonecoach: {n} stored calls now point under {new}", err=True)


@click.command()
@click.argument("phrase")
@click.option("--store", "store_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--speaker", type=click.Choice(["agent", "customer"]), help="Only what this party said.")
@click.option("--agent", help="Only this agent's calls.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
def search(phrase, store_path, speaker, agent, limit, as_json) -> None:
    """Find the calls where a phrase was said, with the rules' tolerant matcher: homophones,
    a dropped or inserted character, spaces and traditional characters as ASR writes them.

    \b
    Examples:
      phonecoach search 与我无关 --store results.db
      phonecoach search 还有什么可以帮您 --store results.db --speaker agent --json | jq .file
    """
    from ..archive.search import search_calls
    from ..archive.store import Store
    from ..archive.views import selection

    try:
        store = Store(store_path, readonly=True)
        sel = selection(store, agent=agent)
        hits = search_calls(store, sel, phrase, speaker=speaker, limit=limit) if sel is not None else []
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    for h in hits:
        if as_json:
            click.echo(json.dumps(h.to_dict(), ensure_ascii=False))
        else:
            click.echo(f"{printable(h.file)}  {h.speaker} {h.clock}  {printable(h.text)}")
    click.echo(f"phonecoach: {len(hits)} utterances found", err=True)
