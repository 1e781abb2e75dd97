"""`hostpairs export`: a data set, whole or one host's, as CSV, JSON lines, STIX 2.1 or a MISP event."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from enum import Enum
from pathlib import Path

import typer

from hostpairs.cli.common import DbOption, checked, fail, sessions_for
from hostpairs.cli.lookups import Direction

app = typer.Typer()


class Dataset(str, Enum):
    pairs = "pairs"
    resolutions = "resolutions"
    trackers = "trackers"
    alerts = "alerts"


class ExportFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    stix = "stix"
    misp = "misp"


@app.command()
def export(
    dataset: Dataset = typer.Argument(..., help="The data set: pairs, resolutions, trackers or alerts."),
    export_format: ExportFormat = typer.Option(..., "--format", help="csv (a header row, PassiveTotal's field names), "
                                               "jsonl, stix (a STIX 2.1 bundle) or misp (a MISP event)."),
    query: str | None = typer.Option(None, "--query", help="Only this host's records (its subdomains too; "
                                     "resolutions: or an IP's). Not for alerts."),
    direction: Direction | None = typer.Option(None, help="Pairs with --query: children (default: what QUERY "
                                               "references) or parents (who references it)."),
    since: str | None = typer.Option(None, help="Only records last seen (alerts: raised) at or after this date (UTC)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to FILE (default: standard output).",
                                       metavar="FILE"),
    db: str | None = DbOption,
) -> None:
    """Export DATASET, streamed: read in batches and written as it goes, however large."""
    from sqlalchemy.exc import SQLAlchemyError

    from hostpairs.api.exports import export_chunks, export_request
    from hostpairs.storage.db import error_reason

    chosen = checked(export_request, dataset.value, export_format.value, query,
                     direction.value if direction else None, since)
    sessions = sessions_for(db)
    partial = output.with_name(output.name + ".partial") if output else None
    try:
        with open(partial, "w", encoding="utf-8", newline="") if partial else nullcontext(sys.stdout) as stream:
            for chunk in export_chunks(sessions, chosen):
                stream.write(chunk)
        if partial and output:
            partial.replace(output)
    except BrokenPipeError:  # (`| head`): the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", 1)
    except SQLAlchemyError as exc:
        fail(f"the export stopped: {error_reason(exc)}", 1)
    finally:
        if partial:  # (what a failed export wrote)
            partial.unlink(missing_ok=True)
