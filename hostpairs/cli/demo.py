"""`demo`: the whole story on the bundled demo web (demoweb/story.py tells it)."""

from __future__ import annotations

import typer

from hostpairs.cli.common import sessions_for

app = typer.Typer()


@app.command()
def demo(db: str | None = typer.Option(None, "--db", help="Database to use as it is (default: a fresh ./hostpairs-demo.db)."),
         dwell: float = typer.Option(5.0, min=0.0, help="Seconds to stay on each page after load.")) -> None:
    """The whole story on the bundled demo web: a baseline crawl of the demo bank and shop, the
    bank's script is tampered with, the next scheduled crawl, the alert, the pivot."""
    from hostpairs.demoweb.story import tell_story

    if db is not None:
        sessions_for(db)  # a database given that cannot be used fails before the demo web starts
    raise typer.Exit(tell_story(db, dwell))
