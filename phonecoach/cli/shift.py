"""``phonecoach live --shift``: headsets from the start of the shift until stopped, each call
found, coached and reported on its own (live/shift.py), marks from stdin and a local control
endpoint, the floor told when each call starts and ends. One agent, or several in one
process (``--sessions``) sharing the model."""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Callable

import click

from ..core.errors import PhonecoachError
from ..inputs.audio import TARGET_SR
from .common import EXIT_INPUT_ERROR, _err


def run_shifts(pack, sources: dict, model_path: str | None, folders: dict[str, Path],
               sinks: dict[str, list[Callable]], *, control: str | None, token: str | None, publisher, err) -> None:
    """Run every shift until its source ends or Ctrl-C (each current call ends cleanly, with its
    report, then the shift); exit 1 if a shift or a call could not be coached."""
    from ..live.marks import ControlEndpoint, MarkInbox, read_marks
    from ..live.shift import ShiftCall, ShiftSession

    several = len(sources) > 1

    def say_for(name: str) -> Callable[[str], None]:
        return lambda msg: click.echo(f"phonecoach: {name + ': ' if several else ''}{msg}", err=True)

    def on_call(what: str, call: ShiftCall) -> None:
        if publisher is None:
            return
        if what == "start":
            publisher.call_start({"call": call.name, "call_id": call.call_id, "caller": call.caller,
                                  "shift_offset": call.shift_offset, "name": publisher.session})
        else:
            publisher.end({"call": call.name, "score": call.score, "warnings": call.warnings, "error": call.error,
                           "audio_seconds": round(call.seconds, 1)})

    inboxes, shifts, failed = {}, {}, []
    for name, source in sources.items():
        inboxes[name] = MarkInbox()
        try:
            shifts[name] = ShiftSession(pack, source, model_path, folders[name],
                                        sinks=lambda call, s=sinks[name]: list(s), marks=inboxes[name], name=name,
                                        on_event=say_for(name), on_call=on_call)
        except PhonecoachError as exc:  # one agent's folder cannot be used: the others still run
            _err(err, f"{name + ': ' if several else ''}{exc}")
            failed.append(name)
            del inboxes[name]
    if not shifts:
        sys.exit(EXIT_INPUT_ERROR)
    endpoint = None
    if control:
        host, _, port = control.rpartition(":")

        def status() -> dict:
            return next(iter(shifts.values())).status() if not several else \
                {"shifts": [s.status() for s in shifts.values()]}

        try:
            endpoint = ControlEndpoint(inboxes, status, host or "127.0.0.1", int(port), token)
            endpoint.start()
        except (ValueError, OSError, RuntimeError) as exc:
            _err(err, f"--control {control}: {exc}")
            sys.exit(2)
        say_for("")(f"call marks at {endpoint.address}/start and /end" + (" (token required)" if token else "")
                    + (" with a JSON 'session'" if several else ""))
    read_marks(sys.stdin, inboxes, say_for("marks"))
    if publisher is not None:
        publisher.open_shift({"name": publisher.session, "folder": str(next(iter(folders.values())))})
    presses: list[int] = []

    def stop(signum, frame) -> None:
        presses.append(signum)
        for s in shifts.values():
            s.stop()
        if len(presses) > 1:
            click.echo("phonecoach: finishing the current calls' reports, one moment", err=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    results: dict[str, list] = {}

    def one(name: str, shift) -> None:
        try:
            results[name] = shift.run()
        except Exception as exc:  # noqa: BLE001 - one agent's failure is not the floor's
            _err(err, f"{name}: shift stopped: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            failed.append(name)

    threads = [threading.Thread(target=one, args=(n, s), name=f"shift-{n}", daemon=True) for n, s in shifts.items()]
    for n, t in zip(shifts, threads):
        say_for(n)(f"shift started, saving each call under {folders[n]}")
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)  # short waits: Ctrl-C is handled here, in the main thread
    finally:
        if endpoint is not None:
            endpoint.stop()
    for name, calls in results.items():
        shift = shifts[name]
        scores = [c.score for c in calls if c.score is not None]
        mean = round(sum(scores) / len(scores), 1) if scores else None
        if publisher is not None:
            publisher.close_shift({"calls": len(calls), "mean_score": mean})
            st = publisher.close(timeout=10.0)
            say_for(name)(f"{st['sent']} entries published to {publisher.url_shown}")
        for c in calls:
            if c.error:
                _err(err, f"{name + ': ' if several else ''}call {c.name}: {c.error}")
                failed.append(name)
        say_for(name)(f"shift saved in {folders[name]}: {len(calls)} calls"
                      + (f", mean score {mean:.1f}" if mean is not None else "")
                      + f"; idle lines cost {shift.idle_cpu:.1f} s of CPU in {shift.position / TARGET_SR:.0f} s of audio")
    if failed:
        sys.exit(EXIT_INPUT_ERROR)
