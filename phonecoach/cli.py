"""The ``phonecoach`` command.

Exit codes scripts can trust: 0 everything scored; 1 some input could not be
read (the rest were still scored and reported); 2 usage errors (click's).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .errors import PhonecoachError
from .models import DEFAULT_MODEL, KNOWN_MODELS, download_model, installed_models, models_dir
from .pipeline import AUDIO_SUFFIXES, ScoreOptions, expand_inputs, score_call
from .report import json_payload, render_terminal
from .rulepack import DEFAULT_PACK, load_pack

EXIT_INPUT_ERROR = 1


def _err(console: Console | None, message: str) -> None:
    """Errors are one plain line on stderr, never wrapped, so scripts can grep them."""
    click.echo(f"error: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phonecoach")
def main() -> None:
    """Offline coach for call-center telephone etiquette.

    \b
    Examples:
      phonecoach score call.wav
      phonecoach score --json archive/
      phonecoach score --transcript call.json
      phonecoach models download
    """


@main.command()
@click.argument("calls", nargs=-1, type=click.Path(path_type=Path))
@click.option("--transcript", "transcript", type=click.Path(path_type=Path),
              help="Score this transcript (JSON or 坐席:/客户: text); with one CALL, audio rules use the audio.")
@click.option("--model", type=click.Path(path_type=Path), help="Vosk model folder (else $PHONECOACH_MODEL, "
              f"else models/{DEFAULT_MODEL}).")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), default="left", show_default=True,
              help="Which stereo channel is the agent.")
@click.option("--ring-seconds", type=click.FloatRange(min=0), help="Seconds the caller heard ringing (metadata).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (one object, or a list for several calls).")
def score(calls: tuple[Path, ...], transcript: Path | None, model: Path | None, rules_path: Path | None,
          agent_channel: str, ring_seconds: float | None, as_json: bool) -> None:
    """Score recorded calls against the phone rules.

    CALLS are audio files (WAV, FLAC, OGG, MP3; stereo = agent and customer on
    separate channels) or folders of them.

    \b
    Examples:
      phonecoach score samples/
      phonecoach score call.wav --agent-channel right
      phonecoach score --transcript call.json call.wav --json
    """
    out = Console(soft_wrap=False)
    err = Console(stderr=True)
    if not calls and transcript is None:
        raise click.UsageError("give at least one CALL or --transcript FILE")
    inputs = expand_inputs([str(c) for c in calls])
    if transcript is not None and len(inputs) > 1:
        raise click.UsageError("--transcript goes with at most one audio file")
    if calls and not inputs:
        raise click.UsageError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {', '.join(map(str, calls))}")
    try:
        pack = load_pack(rules_path)
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    opts = ScoreOptions(model=str(model) if model else None, agent_channel=agent_channel, ring_seconds=ring_seconds)
    jobs = [(p, transcript) for p in inputs] if inputs else [(None, transcript)]
    results, failed, said = [], False, set()
    for audio_path, tr in jobs:
        try:
            report = score_call(pack, audio_path, tr, opts)
        except PhonecoachError as exc:
            failed = True
            _err(err, str(exc))
            results.append({"file": str(audio_path or tr), "error": str(exc)})
            continue
        for note in report.notes:
            if note.startswith("no speech model") and "ref" not in said:
                said.add("ref")
                click.echo("no Chinese speech model installed: scoring the reference transcripts "
                           "(get one with 'phonecoach models download')", err=True)
        if as_json:
            results.append(report)
        else:
            render_terminal(report, out)
    if as_json:
        click.echo(json_payload(results, single=len(jobs) == 1))
    sys.exit(EXIT_INPUT_ERROR if failed else 0)


# ----------------------------------------------------------------------------- models

@main.group()
def models() -> None:
    """Install and list Vosk speech models."""


@models.command("list")
def models_list() -> None:
    """Show installed models and the ones phonecoach knows how to download."""
    found = installed_models()
    click.echo(f"models folder: {models_dir()}")
    if not found:
        click.echo("  (none installed — run 'phonecoach models download')")
    for p in found:
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        click.echo(f"  {p.name}  {size / 1e6:.0f} MB")
    click.echo("downloadable:")
    for m in KNOWN_MODELS.values():
        click.echo(f"  {m.name}  {m.size / 1e6:.0f} MB  {m.note}")


@models.command("download")
@click.argument("name", default=DEFAULT_MODEL)
@click.option("--url", help="Download from this address instead of the known one.")
@click.option("--sha256", help="Expected sha256 of the archive (required for unknown models).")
@click.option("--force", is_flag=True, help="Replace an installed copy.")
def models_download(name: str, url: str | None, sha256: str | None, force: bool) -> None:
    """Download a model, verify its sha256 and unpack it into models/.

    \b
    Examples:
      phonecoach models download
      phonecoach models download vosk-model-cn-0.22 --url https://…/vosk-model-cn-0.22.zip --sha256 <hash>
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    err = Console(stderr=True)
    target = models_dir() / name
    if target.exists() and not force:
        click.echo(f"{name} is already installed at {target}")
        return
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"downloading {name}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            path = download_model(name, url=url, sha256=sha256, progress=progress, force=force)
        except PhonecoachError as exc:
            bar.stop()
            _err(err, str(exc))
            sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"installed {name} at {path}")


# ----------------------------------------------------------------------------- rules

@main.group()
def rules() -> None:
    """List and check rule packs."""


@rules.command("list")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--json", "as_json", is_flag=True)
def rules_list(rules_path: Path | None, as_json: bool) -> None:
    """Show every rule: id, severity, weight and the source text it comes from."""
    try:
        pack = load_pack(rules_path)
    except PhonecoachError as exc:
        _err(Console(stderr=True), str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    if as_json:
        import json

        click.echo(json.dumps([{"rule": r.id, "title": r.title, "severity": r.severity, "weight": r.weight,
                                "check": r.check, "source": r.source, "fix": r.fix} for r in pack.rules],
                              ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("rule", "severity", "weight", "title", "source")
    for r in pack.rules:
        table.add_row(r.id, r.severity, f"{r.weight:g}", r.title, r.source)
    Console().print(table)


@rules.command("check")
@click.argument("file", type=click.Path(path_type=Path), default=str(DEFAULT_PACK))
def rules_check(file: Path) -> None:
    """Validate a rule pack; errors give the line and field.

    \b
    Example:
      phonecoach rules check rules/zh-CN.toml
    """
    try:
        pack = load_pack(file)
    except PhonecoachError as exc:
        _err(Console(stderr=True), str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"{file}: ok, {len(pack.rules)} rules")


if __name__ == "__main__":
    main()
