"""Alerts raised by re-crawls: list them, acknowledge them."""

from __future__ import annotations

import json
from enum import Enum

import typer

from hostpairs.cli.common import DbOption, checked, fail, out, sessions_for
from hostpairs.cli.tables import alert_rows, print_table

app = typer.Typer(add_completion=False, help="Alerts raised by re-crawls (list by default).")


class Severity(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="Only alerts raised at or after this time (YYYY-MM-DD[ HH:MM:SS], UTC)."),
    severity: Severity | None = typer.Option(None, help="Only alerts at least this severe."),
    unacknowledged: bool = typer.Option(False, "--open", help="Only alerts not acknowledged yet."),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (the delivered form)."),
) -> None:
    """List alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from hostpairs.api import parameters
    from hostpairs.api.alert_events import alert_event
    from hostpairs.storage.alerts import list_alerts

    since_at = checked(parameters.date, since, "--since")
    with sessions_for(db)() as session:
        events = [alert_event(a) for a in list_alerts(session, since_at, severity.value if severity else None,
                                                      not unacknowledged)]
    if as_json:
        for event in events:
            print(json.dumps(event, sort_keys=True))
        return
    print_table(alert_rows(events), ("id", "timestamp", "severity", "kind", "page_url", "child_url", "signals", "ack"),
                f"{len(events)} alerts")


@app.command("ack")
def alerts_ack(alert_ids: list[int] = typer.Argument(..., min=1, max=2**63 - 1, help="Alert IDs."),
               by: str | None = typer.Option(None, "--by", help="Who acknowledges (kept for the audit report; default: your login name)."),
               db: str | None = DbOption) -> None:
    """Acknowledge alerts: the same page, host and kind may alert again afterwards."""
    import getpass

    from hostpairs.storage.alerts import acknowledge
    from hostpairs.storage.times import utcnow

    with sessions_for(db).begin() as session:
        who = (by or "").strip()[:255] or getpass.getuser()
        missing = [i for i in alert_ids if not acknowledge(session, i, utcnow(), who)]
        if missing:
            fail(f"no alert with id {', '.join(map(str, missing))}")
    out.print(f"acknowledged {', '.join(map(str, alert_ids))}")
