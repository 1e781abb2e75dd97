"""Seed groups: check a seed file, show each group's schedule."""

from __future__ import annotations

from pathlib import Path

import typer

from hostpairs.cli.common import DbOption, out, sessions_for
from hostpairs.cli.crawling import seed_groups
from hostpairs.cli.tables import print_table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Seed groups: validate a file, show schedules.")


@app.command("validate")
def seeds_validate(seeds: Path = typer.Argument(...)) -> None:
    """Check a seed file; a bad one is rejected with the line at fault."""
    from hostpairs.seeds.groups import format_duration

    groups = seed_groups(seeds)
    for group in groups:
        schedule = f"cron {group.cron}" if group.cron else f"every {format_duration(group.interval_seconds or 0)}"
        tags = f" [{', '.join(sorted(group.tags))}]" if group.tags else ""
        out.print(f"{group.name}: {len(group.urls)} URLs, {schedule}, jitter {format_duration(group.jitter_seconds)}, "
                  f"depth {group.depth}{tags}", markup=False)
    out.print(f"{seeds}: {len(groups)} groups, valid", markup=False)


@app.command("status")
def seeds_status(db: str | None = DbOption) -> None:
    """Last and next run of each seed group, and the watcher's heartbeat."""
    from hostpairs.api.passivetotal import pt_time
    from hostpairs.storage.schedules import FRONTIER_HOST, group_statuses, watcher_heartbeat
    from hostpairs.storage.times import utcnow

    now = utcnow()
    with sessions_for(db)() as session:
        heartbeat = watcher_heartbeat(session)
        statuses = group_statuses(session, now)
    rows = [{
        "group": s.state.seed_group,
        "last started": s.state.last_started_at and pt_time(s.state.last_started_at),
        "last finished": s.state.last_finished_at and pt_time(s.state.last_finished_at),
        "next run": s.state.next_run_at and pt_time(s.state.next_run_at),
        "running": (f"since {pt_time(s.running.started_at)} "
                    + ("(in the frontier)" if s.running.host == FRONTIER_HOST
                       else f"(pid {s.running.pid} on {s.running.host})")) if s.running else "no",
    } for s in statuses]
    if heartbeat:
        out.print(f"watcher: last heartbeat {pt_time(heartbeat.beat_at)} UTC ({(now - heartbeat.beat_at).total_seconds():.0f} s ago), "
                  f"pid {heartbeat.pid} on {heartbeat.host}, seeds {heartbeat.seeds_file}", markup=False)
    else:
        out.print("watcher: never ran on this database")
    print_table(rows, ("group", "last started", "last finished", "next run", "running"), "seed groups (UTC)")
