"""What every command shares: the consoles, one-line errors, the database and --json options."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

DbOption = typer.Option(None, "--db", help="SQLAlchemy database URL (default: $HOSTPAIRS_DB or sqlite:///hostpairs.db).")
JsonOption = typer.Option(False, "--json", help="Print PassiveTotal's JSON response shape.")
LimitOption = typer.Option(None, "--limit", help="Rows per page (default 2,000, at most 10,000).", show_default=False)
PageOption = typer.Option(None, "--page", help="Which page, counting from 0 as PassiveTotal does.", show_default=False)

T = TypeVar("T")


def fail(message: str, status: int = 2) -> NoReturn:
    """Print a one-line error and exit with `status` (2 unless a command documents another)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(status)


def checked(parse: Callable[..., T], *args: object) -> T:
    """`parse(*args)` (an api.parameters parser), its InvalidQuery turned into a one-line error."""
    from hostpairs.api.parameters import InvalidQuery

    try:
        return parse(*args)
    except InvalidQuery as exc:
        fail(str(exc))


def database_url(db: str | None) -> str:
    """--db as given, else HOSTPAIRS_DB (crawler/settings.py)."""
    from hostpairs.crawler.settings import HOSTPAIRS_DB

    return db or HOSTPAIRS_DB


def engine_for(db: str | None):  # noqa: ANN201 (an Engine; SQLAlchemy imported on use)
    """The database's engine, or a one-line error when it cannot be opened."""
    from hostpairs.storage.db import DatabaseError, open_database

    try:
        return open_database(database_url(db))
    except DatabaseError as exc:
        fail(str(exc))


def sessions_for(db: str | None):  # noqa: ANN201 (a sessionmaker; SQLAlchemy imported on use)
    """Sessions on the database, or a one-line error when it cannot be opened."""
    from hostpairs.storage.db import session_factory

    return session_factory(engine_for(db))
