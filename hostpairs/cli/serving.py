"""`serve`: the PassiveTotal-compatible HTTP API and its look-up page."""

from __future__ import annotations

import gc

import typer

from hostpairs.cli.common import DbOption, err, fail, sessions_for

app = typer.Typer()

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=0, max=65535),
    api_key: list[str] = typer.Option([], "--api-key", help="USER:KEY allowed in (repeatable; also $HOSTPAIRS_API_KEYS)."),
) -> None:
    """Serve the PassiveTotal-compatible HTTP API and a look-up page."""
    from hostpairs.api.server import make_server, parse_api_keys
    from hostpairs.crawler.settings import HOSTPAIRS_API_KEYS

    try:
        keys = parse_api_keys(",".join([*api_key, HOSTPAIRS_API_KEYS]))
    except ValueError as exc:
        fail(str(exc))
    if not keys and host not in LOOPBACK:
        fail(f"refusing to serve {host} without authentication: give --api-key USER:KEY")
    sessions = sessions_for(db)
    try:
        server = make_server(sessions, host, port, keys)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    gc.freeze()  # what was loaded to start is never garbage: full collections then skip it (no 20 ms pauses)
    err.print(f"hostpairs API on http://{host}:{server.server_address[1]}/ "
              f"({'HTTP Basic with ' + str(len(keys)) + ' keys' if keys else 'no authentication, loopback only'})",
              markup=False)
    server.serve_forever()
