"""The `hostpairs` command line: one module per topic, each importing what it uses only when a
command runs, so a look-up starts fast."""

from __future__ import annotations

import sys

import click
import typer
from rich.markup import escape

from hostpairs.cli import (alerts, crawling, demo, distributed, exporting, importing, lookups, pruning, reprocessing,
                           scripts, seeds, serving, users)
from hostpairs.cli.common import err

app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "Crawl sites in headless Chromium and pivot on what they load: host pairs, dependencies, resolutions, "
    "trackers, cookies, components; watch sites for injected iframes and scripts."))
for topic in (crawling, distributed, lookups, importing, exporting, pruning, reprocessing, serving, demo):
    app.registered_commands.extend(topic.app.registered_commands)
app.add_typer(seeds.app, name="seeds")
app.add_typer(alerts.app, name="alerts")
app.add_typer(distributed.frontier_app, name="frontier")
app.add_typer(users.app, name="users")
app.add_typer(scripts.app, name="scripts")


def main() -> None:
    """Console-script entry point: one-line errors (usage errors included), no tracebacks."""
    try:
        status = app(standalone_mode=False, prog_name="hostpairs")
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "hostpairs"
        message = " ".join(exc.format_message().split())
        if message:  # (no message: a bare command group, whose help was printed)
                err.print(f"[bold red]error:[/] {escape(where)}: {escape(message)} (see {escape(where)} --help)",
                      soft_wrap=True)
        sys.exit(2)
    except click.ClickException as exc:
        err.print(f"[bold red]error:[/] {escape(' '.join(exc.format_message().split()))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.Abort):
        err.print("interrupted")
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
