"""`hostpairs prune`: keep each visit's evidence for a window, the aggregates forever."""

from __future__ import annotations

import typer

from hostpairs.cli.common import DbOption, checked, fail, out, sessions_for

app = typer.Typer()


@app.command()
def prune(
    keep_visits: int | None = typer.Option(None, "--keep-visits", min=1, help="Keep the evidence of each page's latest N visits."),
    older_than: str | None = typer.Option(None, "--older-than", help="Keep the evidence of visits newer than this: a duration (90d, 12w) or a date (UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be removed; remove nothing."),
    db: str | None = DbOption,
) -> None:
    """Remove the evidence (dependencies, frames, forms, pair evidence, screenshots, kept captures)
    of visits no option keeps.
    Host pairs, resolutions, trackers, cookies and components with their first/last seen are never
    pruned, nor the visits' own rows and alerts. With both options, a visit is pruned only when
    neither keeps it."""
    from datetime import timedelta

    from hostpairs.api import parameters
    from hostpairs.seeds.groups import parse_duration
    from hostpairs.storage.pruning import prune as prune_evidence
    from hostpairs.storage.times import utcnow

    if keep_visits is None and older_than is None:
        fail("give --keep-visits N and/or --older-than DURATION|DATE")
    now = utcnow()
    cutoff = None
    if older_than is not None:
        if older_than.strip()[:4].isdigit() and "-" in older_than:
            cutoff = checked(parameters.date, older_than, "--older-than")
        else:
            try:
                cutoff = now - timedelta(seconds=parse_duration(older_than))
            except ValueError as exc:
                fail(f"--older-than: {exc} (or give a date)")
    pruned = prune_evidence(sessions_for(db), keep_visits, cutoff, now, dry_run)
    removed = ", ".join(f"{table.replace('_', ' ')}: {count:,}" for table, count in pruned.rows.items())
    out.print(f"{'would prune' if dry_run else 'pruned'} the evidence of {pruned.visits:,} visits ({removed}); "
              "host pairs, resolutions and host attributes are kept", markup=False)
