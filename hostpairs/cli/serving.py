"""`serve`: the HTTP API (PassiveTotal's calls and hostpairs' own) and the web app, under uvicorn."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import typer

from hostpairs.cli.common import DbOption, database_url, err, fail, sessions_for

app = typer.Typer()


Address = tuple[socket.AddressFamily, tuple]


def _address(host: str, port: int) -> Address:
    """Where to listen: `host` resolved (a one-line error when it does not resolve)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return family, address


def _listening_socket(host: str, port: int, address: Address) -> socket.socket:
    """The server's socket, bound before uvicorn starts (a refusal is a one-line error; port 0
    picks a free port, printed)."""
    try:
        sock = socket.socket(address[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address[1])
        sock.listen(2048)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


@app.command()
def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to listen on (IPv6 too: ::1)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port (0: any free one)."),
    cert: Path | None = typer.Option(None, "--cert", help="TLS certificate (PEM): serve HTTPS."),
    key: Path | None = typer.Option(None, "--key", help="The certificate's private key (PEM)."),
    workers: int = typer.Option(1, min=1, max=64, help="Server processes."),
    rate_limit: int = typer.Option(600, "--rate-limit", min=0, help="Requests a minute per API user (0: no limit)."),
    cache_seconds: float = typer.Option(5.0, "--cache-seconds", min=0, max=3600,
                                        help="Seconds a look-up's answer is reused for the same question (0: never)."),
) -> None:
    """Serve the HTTP API and the web app. API keys (`hostpairs users add`) are required as
    soon as an API user exists, and always beyond loopback."""
    import ssl

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from hostpairs.storage.api_users import active_user_count

    if (cert is None) != (key is None):
        fail("give both --cert and --key, or neither")
    if cert is not None and key is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            fail(f"cannot use --cert {cert} --key {key}: {getattr(exc, 'strerror', None) or exc}")
    with sessions_for(db)() as session:
        users = active_user_count(session)
    address = _address(host, port)
    keys_required = not ipaddress.ip_address(address[1][0]).is_loopback
    if keys_required and not users:
        fail(f"refusing to serve {host} without API keys: add a user first (hostpairs users add EMAIL)")
    sock = _listening_socket(host, port, address)
    os.environ.update({"HOSTPAIRS_DB": database_url(db), "HOSTPAIRS_API_KEYS_REQUIRED": "1" if keys_required else "",
                       "HOSTPAIRS_API_RATE_LIMIT": str(rate_limit), "HOSTPAIRS_API_CACHE_SECONDS": str(cache_seconds)})
    config = uvicorn.Config("hostpairs.api.app:app_from_environment", factory=True, workers=workers,
                            ssl_certfile=cert, ssl_keyfile=key, access_log=False, log_config=None,
                            h11_max_incomplete_event_size=64 * 1024, timeout_keep_alive=5, server_header=False,
                            backlog=2048)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    err.print(f"hostpairs API on {'https' if cert else 'http'}://{shown}:{bound[1]}/ (docs: /docs; "
              f"{'API keys required' if keys_required or users else 'no API users: open, loopback only'}; "
              f"{workers} worker{'s' if workers > 1 else ''})", markup=False)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])
