"""``phonecoach users``: the people of ``serve``, kept in the store they work on."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..core.errors import PhonecoachError
from .common import EXIT_INPUT_ERROR, _err


def _password(from_stdin: bool) -> str:
    """A password typed twice at a prompt (never echoed), or one line of stdin for scripts;
    never an option, so it is not in the shell history or the process list."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _change(store_path: Path, change, said: str) -> None:
    """Run ``change(db)`` on the store; a refusal is one line naming the store, and exit 1."""
    from ..archive.store import Store

    try:
        change(Store(store_path).db)
    except PhonecoachError as exc:
        _err(None, f"{store_path}: {exc}")
        sys.exit(EXIT_INPUT_ERROR)
    click.echo(f"phonecoach: {said}", err=True)


@click.group()
def users() -> None:
    """Who may sign in to 'phonecoach serve' on a store, and what each sees.

    Roles: admin and qa see every call (qa reviews verdicts and settles disputes), supervisor
    the agents of their --team, agent their own calls (by the calls' agent field, --agent).
    Once a store has a user, serve asks everyone to sign in.

    \b
    Examples:
      phonecoach users add li --role qa --store results.db
      phonecoach users add wang --role agent --agent wang --team north --store results.db
      phonecoach users add zhao --role supervisor --team north --store results.db
      echo 'a long passphrase' | phonecoach users passwd wang --password-stdin --store results.db
      phonecoach users list --store results.db --json
    """


_store_opt = click.option("--store", "store_path", type=click.Path(path_type=Path, dir_okay=False), required=True)


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "supervisor", "qa", "agent"]), required=True)
@click.option("--agent", help="An agent's name as their calls carry it (the store's agent field).")
@click.option("--team", help="A supervisor's team, and the team of an agent in it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@_store_opt
def add(name, role, agent, team, password_stdin, store_path) -> None:
    """Add a user (asks for the password)."""
    from ..archive.people import add_user

    password = _password(password_stdin)
    _change(store_path, lambda db: add_user(db, name, role, password, agent, team),
            f"user {name} ({role}) added to {store_path}")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
@_store_opt
def passwd(name, password_stdin, store_path) -> None:
    """Change a user's password (their open sessions end)."""
    from ..archive.people import set_password

    password = _password(password_stdin)
    _change(store_path, lambda db: set_password(db, name, password), f"password of {name} changed")


@users.command("remove")
@click.argument("name")
@_store_opt
def remove(name, store_path) -> None:
    """Remove a user (their open sessions end; their reviews and disputes stay in the trail)."""
    from ..archive.people import remove_user

    _change(store_path, lambda db: remove_user(db, name), f"user {name} removed")


@users.command("list")
@_store_opt
@click.option("--json", "as_json", is_flag=True)
def list_(store_path, as_json) -> None:
    """The users, their roles, agents and teams (never their passwords)."""
    from ..archive.people import list_users
    from ..archive.store import Store

    try:
        if not Path(store_path).is_file():
            raise PhonecoachError("no such results store", store_path)
        rows = list_users(Store(store_path, readonly=True).db)
    except PhonecoachError as exc:
        _err(None, str(exc))
        sys.exit(EXIT_INPUT_ERROR)
    if as_json:
        click.echo(json.dumps([u.__dict__ for u in rows], ensure_ascii=False))
        return
    for u in rows:
        click.echo(f"{u.name}\t{u.role}\t{u.agent or ''}\t{u.team or ''}")
