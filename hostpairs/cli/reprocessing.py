"""`hostpairs reprocess`: re-derive stored visits from their kept captures with today's rules."""

from __future__ import annotations

import typer

from hostpairs.cli.common import DbOption, checked, err, fail, out, sessions_for

app = typer.Typer()


@app.command()
def reprocess(
    since: str | None = typer.Option(None, "--since", help="Only visits started on or after this date (UTC)."),
    url: str | None = typer.Option(None, "--url", help="Only the visits of this URL (as requested or as it ended up)."),
    db: str | None = DbOption,
) -> None:
    """Run the current extractors over the kept captures of stored visits and update their
    dependencies, frames, forms, host pairs (first/last seen from the visits' own times),
    trackers, cookies and components; one transaction per visit, so an interrupted run leaves
    every visit either done or untouched. Running it again changes nothing. Alerts already raised
    and resolutions stay as they are."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from sqlalchemy.exc import SQLAlchemyError

    from hostpairs.api import parameters
    from hostpairs.crawler import settings as defaults
    from hostpairs.extractors.visit import extract_visit
    from hostpairs.storage.captures import kept_capture, rederive_visit, reprocessable_visits
    from hostpairs.storage.db import error_reason

    started = checked(parameters.date, since, "--since") if since is not None else None
    sessions = sessions_for(db)
    with sessions() as session:
        visit_ids, without = reprocessable_visits(session, started, url)
    if not visit_ids and not without:
        fail("no stored visit matches" + (f" --url {url}" if url else "") + (f" --since {since}" if since else ""))
    changed = added = removed = unreadable = 0
    progress = Progress(TextColumn("reprocessing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, transient=True, disable=not err.is_terminal)
    try:
        with progress:
            task = progress.add_task("visits", total=len(visit_ids))
            for visit_id in visit_ids:
                with sessions.begin() as session:
                    try:
                        capture = kept_capture(session, visit_id)
                    except ValueError as exc:  # zlib.error and JSON errors are ValueErrors
                        err.print(f"visit {visit_id}: its kept capture cannot be read ({exc}); left as it is",
                                  markup=False)
                        unreadable += 1
                        continue
                    if capture is not None:
                        result = rederive_visit(session, visit_id, extract_visit(capture, defaults.HOSTPAIRS_FINGERPRINTS))
                        changed += result.changed
                        added += result.pairs_added
                        removed += result.pairs_removed
                progress.advance(task)
    except SQLAlchemyError as exc:
        fail(f"reprocess stopped: {error_reason(exc)} (the visits before it are reprocessed; run it again)")
    done = len(visit_ids) - unreadable
    out.print(f"reprocessed {done:,} visit{'s' * (done != 1)}: {changed:,} with different records "
              f"(host pair observations +{added:,} −{removed:,})"
              + (f"; {without:,} without a complete kept capture left as they are" if without else ""), markup=False)
    if unreadable:
        raise typer.Exit(1)
