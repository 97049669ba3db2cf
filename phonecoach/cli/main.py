"""The ``phonecoach`` command.

Exit codes scripts can trust: 0 everything scored; 1 some input could not be
read (the rest were still scored and reported); 2 usage errors (click's).
"""
from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from .. import __version__
from ..core.errors import PhonecoachError
from ..core.process import tune_process
from ..core.safeio import shown
from ..inputs.audio import load_call
from ..inputs.manifest import CallMeta, load_manifest
from ..inputs.models import DEFAULT_MODEL, KNOWN_MODELS, download_model, installed_models, models_dir
from ..judging.rulepack import DEFAULT_PACK, load_pack
from ..pipeline import AUDIO_SUFFIXES, ScoreOptions, expand_inputs, score_audio
from ..sinks.terminal import json_payload, render_terminal
from .common import EXIT_INPUT_ERROR, _err


class FiniteFloat(click.ParamType):
    """A number >= ``min`` that is finite: nan and inf are refused at the edge, in one line."""

    name = "number"

    def __init__(self, min: float = 0.0) -> None:
        self.min = min

    def convert(self, value, param, ctx):
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or x < self.min:
            self.fail(f"{value!r} must be a finite number >= {self.min:g}", param, ctx)
        return x


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
    tune_process()


@main.command()
@click.argument("calls", nargs=-1, type=click.Path(path_type=Path))
@click.option("--transcript", "transcript", type=click.Path(path_type=Path),
              help="Score this transcript (JSON or 坐席:/客户: text); with one CALL, audio rules use the audio.")
@click.option("--model", type=click.Path(path_type=Path), help="Vosk model folder (else $PHONECOACH_MODEL, "
              f"else models/{DEFAULT_MODEL}).")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), default="left", show_default=True,
              help="Which stereo channel is the agent.")
@click.option("--ring-seconds", type=FiniteFloat(), help="Seconds the caller heard ringing (metadata).")
@click.option("--manifest", type=click.Path(path_type=Path),
              help="CSV of call metadata: file, ring_seconds, agent_channel (matched by file name).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (one object, or a list for several calls).")
@click.option("--html", "html_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Also write each call's replay page (audio, timeline, transcript) into this folder.")
def score(calls: tuple[Path, ...], transcript: Path | None, model: Path | None, rules_path: Path | None,
          agent_channel: str, ring_seconds: float | None, manifest: Path | None, as_json: bool,
          html_dir: Path | None) -> None:
    """Score recorded calls against the phone rules.

    CALLS are audio files (WAV, FLAC, OGG, MP3; stereo = agent and customer on
    separate channels) or folders of them.

    \b
    Examples:
      phonecoach score samples/
      phonecoach score call.wav --agent-channel right
      phonecoach score archive/ --manifest calls.csv --json
      phonecoach score --transcript call.json call.wav --json
      phonecoach score samples/ --html pages/
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
        meta = load_manifest(manifest) if manifest else {}
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    opts = ScoreOptions(model=str(model) if model else None, agent_channel=agent_channel, ring_seconds=ring_seconds)
    jobs = [(p, transcript) for p in inputs] if inputs else [(None, transcript)]
    results, failed, said, pages = [], False, set(), set()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total} calls"),
                   TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal)
    bar.start()
    task = bar.add_task("scoring", total=len(jobs))
    for k, (audio_path, tr) in enumerate(jobs):
        bar.update(task, description=f"scoring {shown(Path(audio_path or tr).name)}", completed=k)
        try:
            m = meta.get(Path(audio_path or tr).name, CallMeta())
            call_opts = replace(opts, ring_seconds=opts.ring_seconds if opts.ring_seconds is not None else m.ring_seconds,
                                agent_channel=m.agent_channel or opts.agent_channel)
            audio = load_call(audio_path, call_opts.agent_channel) if audio_path is not None else None
            report = score_audio(pack, audio, audio_path, tr, call_opts,
                                 progress=lambda f, k=k: bar.update(task, completed=k + f))
        except Exception as exc:  # noqa: BLE001 — one bad file never loses the others' results
            failed = True
            name = shown(audio_path or tr)
            if not isinstance(exc, PhonecoachError):
                line = f"{name}: could not be scored ({type(exc).__name__}: {exc})"
            else:  # a PhonecoachError names its file, unless it is about something else (the model)
                line = str(exc) if exc.path else f"{name}: {exc}"
            line = line.splitlines()[0]
            _err(err, line)
            results.append({"file": name, "error": line})
            continue
        if html_dir is not None:
            page = _page_path(html_dir, Path(audio_path or tr), pages)
            try:
                from ..sinks.callpage import write_call_page

                write_call_page(page, report, audio)
            except (PhonecoachError, OSError) as exc:
                failed = True
                _err(err, f"{shown(page)}: could not write the replay page: {exc}")
        for note in report.notes:
            if note.startswith("no speech model") and "ref" not in said:
                said.add("ref")
                click.echo("no Chinese speech model installed: scoring the reference transcripts "
                           "(get one with 'phonecoach models download')", err=True)
        if as_json:
            results.append(report)
        else:
            bar.stop()
            render_terminal(report, out)
            bar.start()
    bar.stop()
    if as_json:
        click.echo(json_payload(results, single=len(jobs) == 1))
    sys.exit(EXIT_INPUT_ERROR if failed else 0)


def _page_path(folder: Path, call: Path, taken: set[str]) -> Path:
    """<folder>/<call name>.html, numbered if two calls of this run share a name."""
    name, k = call.stem, 1
    while name in taken:
        k += 1
        name = f"{call.stem}-{k}"
    taken.add(name)
    return folder / f"{name}.html"


# ----------------------------------------------------------------------------- live

@main.command()
@click.option("--device", help="Agent headset microphone: name or index (see 'phonecoach devices').")
@click.option("--customer-device", help="The customer side, e.g. the softphone's loopback/monitor source.")
@click.option("--replay", type=click.Path(path_type=Path), multiple=True,
              help="Feed this recording through the live path instead (repeat: one session each, one process).")
@click.option("--sessions", "sessions_csv", type=click.Path(path_type=Path),
              help="CSV of sessions to run in this one process, sharing one model: name, replay or device "
                   "[, customer_device, agent_channel]. Each gets OUT/<name>/.")
@click.option("--speed", type=FiniteFloat(), default=1.0, show_default=True,
              help="Replay pace: 1 = real time, 0 = as fast as possible.")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), default="left", show_default=True)
@click.option("--model", type=click.Path(path_type=Path), help="Vosk model folder (same lookup as 'score').")
@click.option("--rules", "rules_path", type=click.Path(path_type=Path), help="Rule pack (default rules/zh-CN.toml).")
@click.option("--jsonl", is_flag=True, help="One JSON object per warning on stdout (rule, message, t_audio, t_emit…).")
@click.option("--serve", metavar="HOST:PORT", help="Serve a web page and an SSE stream of warnings for a supervisor.")
@click.option("--token", help="Required for --serve on any address but 127.0.0.1.")
@click.option("--beep", is_flag=True, help="A short sound cue for the agent on each warning.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Session folder (default sessions/<time>).")
@click.option("--name", default="agent", show_default=True, help="Session name shown to the supervisor.")
@click.option("--seconds", type=FiniteFloat(), help="Stop after this much audio time (any --speed).")
@click.option("--publish", metavar="URL", help="Send this session to the floor view through Redis: "
              "redis://[:PASSWORD@]HOST:6379/0 (rediss:// for TLS).")
@click.option("--floor", "floor_name", default="default", show_default=True, help="With --publish: the floor's name.")
@click.option("--keep-hours", type=FiniteFloat(min=0.01), default=24.0, show_default=True,
              help="With --publish: the floor's stream keeps this many hours.")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="With --serve: serve HTTPS with this certificate (and --tls-key).")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--shift", is_flag=True, help="Run for a whole shift: find each call (ringback, speech after idle, "
              "disconnect tone, idle lines, or marks) and coach and report it on its own, under --out/NNN/. "
              "Marks: lines 'start [call_id] [caller]' / 'end' on stdin, or --control.")
@click.option("--control", metavar="HOST:PORT", help="With --shift: POST /start and /end here to mark calls "
              "(a softphone or CTI script); 127.0.0.1 unless --token.")
def live(device, customer_device, replay, sessions_csv, speed, agent_channel, model, rules_path, jsonl, serve, token,
         beep, out_dir, name, seconds, publish, floor_name, keep_hours, tls_cert, tls_key, shift, control) -> None:
    """Coach a call as it happens: warnings while the agent speaks, the full report at the end.

    \b
    Examples:
      phonecoach live --device "USB Headset"
      phonecoach live --device 3 --customer-device "Monitor of Softphone" --serve 0.0.0.0:8765 --token s3cret
      phonecoach live --replay samples/blame_call.flac --jsonl
      phonecoach live --replay call.wav --speed 0 --jsonl > warnings.jsonl
      phonecoach live --sessions floor.csv --jsonl --out sessions/today
      phonecoach live --device 3 --name wang --publish redis://:pw@floor-redis:6379/0 --floor 3F
      phonecoach live --shift --device 3 --customer-device 5 --name wang --out shifts/wang-1127
      phonecoach live --shift --replay day.flac --speed 0 --out shifts/replayed --jsonl
      echo "start 8812 13800138000" | phonecoach live --shift --device 3   # marks from a CTI script
    """
    import signal as _signal

    from ..inputs.models import find_model
    from ..live.session import LiveSession
    from ..live.sources import DeviceGroup, ReplaySource, make_queues
    from ..sinks.live_alerts import JsonlSink, SoundCue, TerminalView

    err = Console(stderr=True)
    if control and not shift:
        raise click.UsageError("--control marks calls in a shift: add --shift")
    if shift and seconds is not None:
        raise click.UsageError("--shift runs until stopped (or the replayed day ends): no --seconds")
    if sessions_csv is not None or len(replay) > 1:
        if device or customer_device or serve or beep or publish:
            raise click.UsageError("--device, --customer-device, --serve, --beep and --publish are for one "
                                   "session; with several, list the devices in --sessions")
        _live_many(sessions_csv, replay, speed, agent_channel, model, rules_path, jsonl, out_dir, seconds, err,
                   shift=shift, control=control, token=token)
        return
    replay = replay[0] if replay else None
    try:
        pack = load_pack(rules_path)
        if replay is not None:
            source = ReplaySource(str(replay), agent_channel, speed)
        else:
            devices = {"agent": _device(device)}
            if customer_device is not None:
                devices["customer"] = _device(customer_device)
            source = DeviceGroup(devices, make_queues(list(devices)),
                                 on_event=lambda msg: click.echo(f"phonecoach: {msg}", err=True))
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    try:
        model_path = str(find_model(model))
    except PhonecoachError as exc:
        if model is not None:
            _err(err, str(exc))
            sys.exit(EXIT_INPUT_ERROR)
        click.echo(f"phonecoach: {exc} — live warnings from the signal only", err=True)
        model_path = None
    from ..live.session import new_session_folder

    folder = out_dir or new_session_folder()
    sinks = []
    view = TerminalView(err)
    sinks.append(JsonlSink() if jsonl else view)
    if beep:
        sinks.append(SoundCue())
    feed = None
    if serve:
        from ..sinks.feed import WarningFeed

        host, _, port = serve.rpartition(":")
        try:
            feed = WarningFeed(host or "127.0.0.1", int(port), token, session=name, tls_cert=tls_cert,
                               tls_key=tls_key)
        except (ValueError, OSError) as exc:
            _err(err, f"--serve {serve}: {exc}")
            sys.exit(2)
        feed.start()
        sinks.append(feed)
        click.echo(f"phonecoach: supervisor feed at {feed.address}/" + (f"?token={token}" if token else ""), err=True)
    publisher = None
    if publish:
        from ..sinks.publish import RedisPublisher

        try:
            publisher = RedisPublisher(publish, name, {r.id: r.weight for r in pack.rules}, floor_name, keep_hours)
        except ValueError as exc:  # redis-py: not a redis:// or rediss:// URL
            _err(err, f"--publish: {exc}")
            sys.exit(2)
        sinks.append(publisher)
    if shift:
        from .shift import run_shifts

        if not jsonl:
            view.start()
        try:
            run_shifts(pack, {name: source}, model_path, {name: folder}, {name: sinks}, control=control, token=token,
                       publisher=publisher, err=err)
        finally:
            view.stop()
            if feed is not None:
                feed.stop()
        _quiet_closed_stdout()
        return
    if publisher is not None:
        publisher.start({"devices": {"agent": device, "customer": customer_device} if not replay else None,
                         "replay": str(replay) if replay else None, "name": name})

    try:
        session = LiveSession(pack, source, model_path, folder, sinks, seconds=seconds,
                              on_event=lambda msg: click.echo(f"phonecoach: {msg}", err=True))
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    presses = []

    def end_call(signum, frame) -> None:
        """The first Ctrl-C (or SIGTERM) ends the call; more presses do not lose the report."""
        presses.append(signum)
        session.stop()
        if len(presses) > 1:
            click.echo("phonecoach: finishing the report, one moment", err=True)

    _signal.signal(_signal.SIGTERM, end_call)
    _signal.signal(_signal.SIGINT, end_call)
    if not jsonl:
        view.start()
    try:
        result = session.run()  # Ctrl-C ends the call cleanly, with the report
    except Exception as exc:  # noqa: BLE001 - the device or a worker failed: keep what we have
        view.stop()
        _err(err, f"live session stopped: {str(exc).splitlines()[0]} (audio and timeline so far are in {folder})")
        if publisher is not None:
            publisher.end({"error": str(exc).splitlines()[0]})
            _published(publisher, err)
        sys.exit(EXIT_INPUT_ERROR)
    finally:
        view.stop()
        if feed is not None:
            feed.stop()
    stats = result.stats
    if publisher is not None:
        publisher.end({"score": result.report.score, "warnings": len(result.warnings),
                       "audio_seconds": round(stats["audio_seconds"], 1),
                       "broken": [r.rule.id for r in result.report.results if r.status == "fail"]})
        _published(publisher, err)
    click.echo(f"phonecoach: session saved in {folder} — {stats['audio_seconds']:.0f} s of audio, "
               f"{len(result.warnings)} warnings, {stats['queue_overflows']} dropped blocks, "
               f"{stats['input_overflows']} input overflows, {stats['device_stalls']} device stalls", err=True)
    if result.page_error:
        _err(err, result.page_error)
    else:
        click.echo(f"phonecoach: listen through the call with its findings: {folder / 'report.html'}", err=True)
    if not jsonl:
        render_terminal(result.report, Console())
    _quiet_closed_stdout()


def _published(publisher, err) -> None:
    """Flush the floor's entries (up to 10 s if Redis is away) and say how it went."""
    st = publisher.close(timeout=10.0)
    line = (f"phonecoach: {st['sent']} entries published to {publisher.url_shown} ({publisher.key}), "
            f"{st['reconnects']} reconnections")
    if st["dropped"] or st["unsent"]:
        _err(err, f"{line}; {st['dropped']} dropped (buffer full while Redis was away), {st['unsent']} never sent")
    else:
        click.echo(line, err=True)


def _live_many(sessions_csv, replay, speed, agent_channel, model, rules_path, jsonl, out_dir, seconds, err,
               shift: bool = False, control: str | None = None, token: str | None = None) -> None:
    """Several sessions in this process, sharing one model; exit 1 if any could not run."""
    import signal as _signal
    import threading

    from ..inputs.models import find_model
    from ..live.group import SessionSpec, load_sessions, run_sessions
    from ..live.session import LiveSession, new_session_folder
    from ..live.sources import DeviceGroup, ReplaySource, make_queues
    from ..sinks.live_alerts import JsonlSink, TerminalView

    try:
        pack = load_pack(rules_path)
        if sessions_csv is not None:
            specs = load_sessions(sessions_csv)
        else:
            stems: list[str] = []
            for r in replay:
                stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in r.stem)[:60].strip(".") or "call"
                stems.append(stem if stem not in stems else f"{stem}-{len(stems) + 1}")
            specs = [SessionSpec(n, replay=r, agent_channel=agent_channel) for n, r in zip(stems, replay)]
        model_path = str(find_model(model))
    except PhonecoachError as exc:
        _err(err, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    root = out_dir or new_session_folder()
    if shift:
        _shifts_many(pack, specs, speed, model_path, root, jsonl, control, token, err)
        return
    sessions, failed = {}, []
    for spec in specs:
        say = (lambda n: lambda msg: click.echo(f"phonecoach: {n}: {msg}", err=True))(spec.name)
        try:
            if spec.replay is not None:
                source = ReplaySource(str(spec.replay), spec.agent_channel, speed)
            else:
                devices = {"agent": _device(spec.device)}
                if spec.customer_device:
                    devices["customer"] = _device(spec.customer_device)
                source = DeviceGroup(devices, make_queues(list(devices)), on_event=say)
            sink = JsonlSink(session=spec.name) if jsonl else TerminalView(err, session=spec.name)
            sessions[spec.name] = LiveSession(pack, source, model_path, root / spec.name, [sink], seconds=seconds,
                                              on_event=say)
        except PhonecoachError as exc:  # one bad recording or device: the others still run
            _err(err, f"session {spec.name}: {exc}")
            failed.append(spec.name)
    stop = threading.Event()
    _signal.signal(_signal.SIGTERM, lambda *_: stop.set())
    _signal.signal(_signal.SIGINT, lambda *_: stop.set())
    click.echo(f"phonecoach: {len(sessions)} sessions, one model ({Path(model_path).name}), saving in {root}",
               err=True)
    for session in sessions.values():  # imports that would stall every stream mid-call, done first
        while session.warm.is_alive() and not stop.is_set():
            session.warm.join(0.1)
    for name, result in run_sessions(sessions, stop).items():
        if isinstance(result, Exception):
            _err(err, f"session {name} stopped: {str(result).splitlines()[0]}")
            failed.append(name)
            continue
        st = result.stats
        click.echo(f"phonecoach: {name}: {st['audio_seconds']:.0f} s of audio, {len(result.warnings)} warnings, "
                   f"score {result.report.score}, {st['queue_overflows']} dropped blocks, "
                   f"lag at the end {st['lag_at_end_seconds']:.2f} s", err=True)
        if result.page_error:
            _err(err, result.page_error)
    _quiet_closed_stdout()
    if failed:
        sys.exit(EXIT_INPUT_ERROR)


def _shifts_many(pack, specs, speed, model_path, root, jsonl, control, token, err) -> None:
    """``--sessions`` with ``--shift``: every agent's shift in this process, one model."""
    from ..live.sources import DeviceGroup, ReplaySource, make_queues
    from ..sinks.live_alerts import JsonlSink, TerminalView
    from .shift import run_shifts

    sources, failed = {}, False
    for spec in specs:
        try:
            if spec.replay is not None:
                sources[spec.name] = ReplaySource(str(spec.replay), spec.agent_channel, speed)
            else:
                devices = {"agent": _device(spec.device)}
                if spec.customer_device:
                    devices["customer"] = _device(spec.customer_device)
                sources[spec.name] = DeviceGroup(devices, make_queues(list(devices)), on_event=lambda msg, n=spec.name:
                                                 click.echo(f"phonecoach: {n}: {msg}", err=True))
        except PhonecoachError as exc:
            _err(err, f"session {spec.name}: {exc}")
            failed = True
    sinks = {n: [JsonlSink(session=n) if jsonl else TerminalView(err, session=n)] for n in sources}
    try:
        run_shifts(pack, sources, model_path, {n: root / n for n in sources}, sinks, control=control, token=token,
                   publisher=None, err=err)
    finally:
        _quiet_closed_stdout()
    if failed:
        sys.exit(EXIT_INPUT_ERROR)


def _quiet_closed_stdout() -> None:
    """A reader that closed our stdout (| head) has had all it wanted: no traceback at exit."""
    import os

    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _device(value: str | None):
    """A device given by index stays a number; names go to PortAudio as they are."""
    if value is None:
        return None
    return int(value) if value.isdigit() else value


@main.command()
def devices() -> None:
    """List capture devices (for --device / --customer-device)."""
    from ..live.sources import list_devices

    for d in list_devices():
        click.echo(f"{d['index']:3d}  {d['name']}  ({d['inputs']} in, {d['default_samplerate']:.0f} Hz)")


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
    """Download a model, verify its sha256 and unpack it into the models folder.

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
    from ..judging.rulepack import pack_warnings

    for warning in pack_warnings(pack):
        click.echo(f"warning: {shown(file)}: {warning}", err=True)
    click.echo(f"{file}: ok, {len(pack.rules)} rules")


from .archive import batch, calibrate, export, search, summary  # noqa: E402 - they use the helpers above
from .floor import floor, serve  # noqa: E402
from .people import users  # noqa: E402
from .report import report  # noqa: E402

for _command in (batch, summary, export, search, calibrate, report, floor, serve, users):
    main.add_command(_command)

if __name__ == "__main__":
    main()

