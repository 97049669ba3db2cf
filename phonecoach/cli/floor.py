"""The served views (added in cli.py): ``phonecoach floor``, the supervisor's view of every live
session on a floor, and ``phonecoach serve``, the QA team's view of a results store."""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from .common import _err


@click.command()
@click.option("--redis", "redis_url", required=True, metavar="URL",
              help="The floor's Redis: redis://[:PASSWORD@]HOST:6379/0 (rediss:// for TLS).")
@click.option("--floor", "floor_name", default="default", show_default=True, help="The floor's name (as agents publish it).")
@click.option("--serve", default="127.0.0.1:8766", show_default=True, metavar="HOST:PORT")
@click.option("--token", help="Required on any address but 127.0.0.1: pages and feeds need ?token=.")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Serve HTTPS.")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--keep-hours", type=click.FloatRange(min=0.01), default=24.0, show_default=True,
              help="Trim the floor's stream to this many hours.")
def floor(redis_url, floor_name, serve, token, tls_cert, tls_key, keep_hours) -> None:
    """Every agent on the floor, their warnings and running score, live.

    Agents run 'phonecoach live ... --publish URL --floor NAME'; this reads the same Redis
    stream, shows the shift so far and follows it. /agents gives the floor as JSON,
    /events every change as Server-Sent Events.

    \b
    Examples:
      phonecoach floor --redis redis://127.0.0.1:6379/0
      phonecoach floor --redis redis://:pw@floor-redis:6379/0 --floor 3F --serve 0.0.0.0:8766 --token s3cret \\
          --tls-cert floor.pem --tls-key floor.key
    """
    from ..sinks.floor import FloorView

    host, _, port = serve.rpartition(":")
    try:
        view = FloorView(redis_url, floor_name, host or "127.0.0.1", int(port), token, tls_cert, tls_key, keep_hours)
        view.start()
    except (ValueError, OSError, RuntimeError) as exc:
        _err(None, f"--serve {serve}: {exc}")
        sys.exit(2)
    _until_stopped(view, f"floor {floor_name}", token)


def _until_stopped(server, what: str, token: str | None) -> None:
    """Say where it is served, then serve until Ctrl-C or SIGTERM, and stop cleanly."""
    click.echo(f"phonecoach: {what} at {server.address}/" + (f"?token={token}" if token else ""), err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    server.stop()


@click.command()
@click.option("--store", "store_path", type=click.Path(path_type=Path, exists=True, dir_okay=False), required=True)
@click.option("--listen", default="127.0.0.1:8767", show_default=True, metavar="HOST:PORT")
@click.option("--token", help="Required on any address but 127.0.0.1: pages and the API need ?token=.")
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Serve HTTPS.")
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--rules", "rules_path", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Rule pack whose [review] sets the review queue's shares (default: the built-in pack).")
def serve(store_path, listen, token, tls_cert, tls_key, rules_path) -> None:
    """The QA team's dashboard of a results store, served: filters (agent, rule, week, score,
    a phrase said), every call a page at a time, each call's replay page made when opened with
    its audio played from the recording. /api/calls gives the calls as JSON (agent, rule,
    status, week, min, max, q, speaker, limit, offset).

    With users in the store ('phonecoach users add'), everyone signs in and sees what their role
    allows; qa reviewers mark verdicts on a call's page and work /queue, agents dispute findings.

    \b
    Examples:
      phonecoach serve --store results.db
      phonecoach serve --store results.db --listen 0.0.0.0:8767 --token s3cret --tls-cert qa.pem --tls-key qa.key
      curl 'http://127.0.0.1:8767/api/calls?agent=wang&rule=never.shift_blame&limit=20'
    """
    from ..core.errors import PhonecoachError
    from ..sinks.served import serve_archive

    host, _, port = listen.rpartition(":")
    try:
        from ..judging.rulepack import load_pack

        shares = load_pack(rules_path).review
        server = serve_archive(store_path, host or "127.0.0.1", int(port), token, tls_cert, tls_key, shares)
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(1)
    except (ValueError, OSError, RuntimeError) as exc:
        _err(None, f"--listen {listen}: {exc}")
        sys.exit(2)
    _until_stopped(server, str(store_path), token)
