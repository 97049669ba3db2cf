"""What every phonecoach command shares: exit codes and the one-line error."""
from __future__ import annotations

import click

EXIT_INPUT_ERROR = 1  # some input could not be read (the rest was still done)


def _err(console, message: str) -> None:
    """Errors are one plain line on stderr, never wrapped, so scripts can grep them."""
    click.echo(f"error: {message}", err=True)
