"""The HTTP API's users: add one (its key shown once), list them, revoke a key."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from hostpairs.cli.common import DbOption, err, fail, out, sessions_for
from hostpairs.cli.tables import print_table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="API users: add one (its key is shown once), list them, revoke a key.")


@app.command("add")
def users_add(email: str = typer.Argument(..., help="The user's e-mail address: the HTTP Basic user name."),
              db: str | None = DbOption) -> None:
    """Make EMAIL an API key (a new one if its key was revoked) and print it once: only its hash is stored."""
    from hostpairs.storage.api_users import add_user, normalized_email

    with sessions_for(db).begin() as session:
        try:
            key = add_user(session, email)
        except ValueError as exc:
            fail(str(exc))
    address = normalized_email(email)
    err.print(f"the API key of {escape(address)}; it will not be shown again (only its hash is stored):",
              soft_wrap=True)
    out.print(key, markup=False, soft_wrap=True)


@app.command("list")
def users_list(db: str | None = DbOption,
               as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Every API user, by e-mail address, with when it was added and whether its key is revoked."""
    from hostpairs.api.passivetotal import pt_time
    from hostpairs.storage.api_users import list_users

    with sessions_for(db)() as session:
        users = list_users(session)
    rows = [{"email": user.email, "created": pt_time(user.created_at),
             "revoked": user.revoked_at and pt_time(user.revoked_at)} for user in users]
    if as_json:
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    print_table([{**row, "key": f"revoked {row['revoked']}" if row["revoked"] else "active"} for row in rows],
                ("email", "created", "key"), f"{len(rows)} API users (UTC)")


@app.command("revoke")
def users_revoke(email: str = typer.Argument(..., help="The user's e-mail address."),
                 db: str | None = DbOption) -> None:
    """Revoke EMAIL's key; `users add EMAIL` gives the user a new one."""
    from hostpairs.storage.api_users import normalized_email, revoke_user

    try:
        address = normalized_email(email)
    except ValueError as exc:
        fail(str(exc))
    with sessions_for(db).begin() as session:
        if not revoke_user(session, address):
            fail(f"no API user {address} with an active key", status=1)
    out.print(f"revoked the API key of {escape(address)}")
