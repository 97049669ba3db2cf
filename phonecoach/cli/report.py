"""``phonecoach report``: a call's replay page, or a results store's dashboard (added in cli.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from ..core.errors import PhonecoachError
from ..core.safeio import shown
from ..core.verdict import CallReport
from .common import EXIT_INPUT_ERROR, _err


def call_page_from_audio(report: CallReport, audio_path: Path | None, out: Path, agent_channel: str = "left",
                         facts: dict[str, str] | None = None) -> None:
    """Write ``out`` for a stored call's report, with its audio when the file is still there."""
    from ..inputs.audio import load_call
    from ..sinks.callpage import write_call_page

    audio = load_call(audio_path, agent_channel) if audio_path is not None and audio_path.is_file() else None
    missing = str(audio_path) if audio_path is not None and audio is None else None
    write_call_page(out, report, audio, facts=facts, audio_missing=missing)


def _score_with_page(pack, call: Path | None, transcript: Path | None, opts, out: Path) -> None:
    """Score the call while its MP3 is encoded on the other core (LAME runs without the GIL):
    on a 30-minute call the encoding is about a third of the work."""
    from concurrent.futures import ThreadPoolExecutor

    from ..inputs.audio import encode_voice, load_call
    from ..pipeline import score_audio
    from ..sinks.callpage import write_call_page

    audio = load_call(call, opts.agent_channel) if call is not None else None  # read once, for both
    with ThreadPoolExecutor(1) as pool:
        clip = pool.submit(encode_voice, audio.parties, audio.sr) if audio else None
        result = score_audio(pack, audio, call, transcript, opts)
        write_call_page(out, result, audio, clip=clip.result() if clip else None)


@click.command()
@click.argument("call", required=False, type=click.Path(path_type=Path))
@click.option("--transcript", type=click.Path(path_type=Path), help="Timed transcript JSON to score instead of recognising.")
@click.option("--store", "store_path", type=click.Path(path_type=Path), help="Results store: write its dashboard.")
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), required=True, help="The HTML file to write.")
@click.option("--pages", "pages_dir", type=click.Path(path_type=Path),
              help="With --store: folder for the calls' replay pages (default: <OUT name>-calls beside OUT).")
@click.option("--worst", type=click.IntRange(0, 100000), default=200, show_default=True,
              help="With --store: list this many calls, worst first, each with its replay page (the page stays "
                   "small whatever the store holds; 'phonecoach serve' shows every call).")
@click.option("--model", type=click.Path(path_type=Path), help="Vosk model folder (same lookup as 'score').")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), default="left", show_default=True)
def report(call, transcript, store_path, out, pages_dir, worst, model, rules_path, agent_channel) -> None:
    """A page to listen through a scored call, or a dashboard of a results store.

    The call page is one HTML file that works offline: the verdict, each broken rule with
    its fix, a timeline of the call, the transcript with findings in place, and the audio;
    click any of them to hear that moment. The dashboard shows pass rates per agent and per
    rule by week and every call worst first, each linking to its own page.

    \b
    Examples:
      phonecoach report samples/hold_call.flac -o hold_call.html
      phonecoach report call.wav --transcript call.json -o call.html
      phonecoach report --store results.db -o dashboard.html
    """
    err = Console(stderr=True)
    if (call is None and transcript is None) == (store_path is None):
        raise click.UsageError("give a CALL (or --transcript FILE), or --store DB, not both")
    try:
        if store_path is not None:
            _dashboard(store_path, out, pages_dir, err, worst)
            return
        from ..judging.rulepack import load_pack
        from ..pipeline import ScoreOptions

        pack = load_pack(rules_path)
        _score_with_page(pack, call, transcript, ScoreOptions(model=str(model) if model else None,
                                                             agent_channel=agent_channel), out)
    except PhonecoachError as exc:
        _err(err, str(exc) if exc.path else f"{shown(call or transcript or store_path)}: {exc}")
        sys.exit(EXIT_INPUT_ERROR)
    except OSError as exc:
        _err(err, f"{shown(out)}: cannot write it: {exc.strerror or exc}")
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"wrote {out}", err=True)


def _dashboard(store_path: Path, out: Path, pages_dir: Path | None, err: Console, worst: int) -> None:
    from rich.progress import BarColumn, Progress, TextColumn

    from ..archive.store import Store
    from ..archive.views import Selection, count_calls, selection
    from ..sinks.dashboard import write_dashboard

    if not store_path.is_file():
        raise PhonecoachError("no such results store", shown(store_path))
    store = Store(store_path, readonly=True)
    sel = selection(store) or Selection("-", "-")
    pages = pages_dir or out.parent / f"{out.stem}-calls"
    if pages.exists() and not pages.is_dir():
        raise PhonecoachError("is a file: --pages needs a folder for the replay pages", shown(pages))
    problems: list[str] = []

    def page(c, path: Path) -> bool:
        audio = Path(c.file)
        try:
            call_page_from_audio(c.report, audio, path,
                                 c.meta.get("agent_channel") or "left",
                                 facts={k: v for k, v in (("agent", c.agent), ("when", c.started_at)) if v})
        except (PhonecoachError, OSError) as exc:
            problems.append(f"{shown(c.file)}: no replay page: {exc}")
            return False
        return True

    bar = Progress(TextColumn("replay pages"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total}"),
                   console=err, transient=True, disable=not err.is_terminal)
    with bar:
        task = bar.add_task("pages", total=None)
        try:
            counts = write_dashboard(store, sel, out, pages, page, worst,
                                     lambda done, total: bar.update(task, completed=done, total=total))
            n = count_calls(store, sel)
        finally:
            store.close()
    for line in problems:
        _err(err, line)
    click.echo(f"{n} calls, the worst {min(n, worst)} listed; replay pages in {pages}: {counts['pages_written']} "
               f"written, {counts['pages_kept']} already there", err=True)
    if problems:
        sys.exit(EXIT_INPUT_ERROR)  # the dashboard is written; some calls have no page (each said above)
