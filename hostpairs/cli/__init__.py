"""The `hostpairs` command line: one module per topic, each importing what it uses only when a
command runs, so a look-up starts fast."""

from __future__ import annotations

import sys

import typer

from hostpairs.cli import alerts, crawling, demo, lookups, seeds, serving
from hostpairs.cli.common import err

app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "Crawl sites in headless Chromium and pivot on what they load: host pairs, dependencies, resolutions, "
    "trackers, cookies, components; watch sites for injected iframes and scripts."))
for topic in (crawling, lookups, serving, demo):
    app.registered_commands.extend(topic.app.registered_commands)
app.add_typer(seeds.app, name="seeds")
app.add_typer(alerts.app, name="alerts")


def main() -> None:
    """Console-script entry point: one-line errors, no tracebacks."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
