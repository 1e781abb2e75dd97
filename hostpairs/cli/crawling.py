"""Crawling: `crawl` once, `watch` on the seed groups' schedules; both take the same crawl options."""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path

import typer

from hostpairs.cli.common import DbOption, checked, database_url, err, fail, out, sessions_for
from hostpairs.crawler import settings as defaults

app = typer.Typer()


class Mode(str, Enum):
    browser = "browser"
    static = "static"


# The crawl options, defined once for `crawl` and `watch` (defaults: crawler/settings.py).
DepthOption = typer.Option(defaults.HOSTPAIRS_DEPTH, "--depth", min=0,
                           help="Follow same-site links this many levels deep (seed groups set their own).")
MaxPagesOption = typer.Option(defaults.HOSTPAIRS_MAX_PAGES, "--max-pages", min=1,
                              help="Pages found by following links visited at most (the targets are all visited; seed groups set their own).")
DwellOption = typer.Option(defaults.HOSTPAIRS_DWELL, "--dwell", min=0.0, help="Seconds to stay on each page after load.")
PageTimeoutOption = typer.Option(defaults.HOSTPAIRS_PAGE_TIMEOUT, "--page-timeout", min=1.0,
                                 help="Seconds a page may take to load.")
LoadWaitOption = typer.Option(defaults.HOSTPAIRS_LOAD_WAIT, "--load-wait", min=0.0,
                              help="Seconds to wait after DOMContentLoaded for the load event; then the visit goes on.")
PageTimeOption = typer.Option(defaults.HOSTPAIRS_PAGE_TIME, "--page-time", min=0.0, max=3600.0, help=(
    "Seconds of the page's own timers to fast-forward after the user simulation (Playwright's clock; "
    "0: off). Catches what a page injects after a delay, in a fraction of that time."))
DbRetryOption = typer.Option(defaults.HOSTPAIRS_DB_RETRY, "--db-retry", min=0.0,
                             help="Seconds to keep trying while the database is unavailable, then stop the crawl.")
HostRulesOption = typer.Option(defaults.HOSTPAIRS_HOST_RULES, "--host-rules",
                               help="Chromium host resolver rules, e.g. 'MAP * 127.0.0.1:8080'.")
AllowPrivateOption = typer.Option(defaults.HOSTPAIRS_ALLOW_PRIVATE, "--allow-private",
                                  help="Allow crawling private/loopback addresses that are not mapped.")
ModeOption = typer.Option(Mode(defaults.HOSTPAIRS_MODE), "--mode",
                          help="browser: headless Chromium; static: Scrapy's HTTP stack, no browser.")
AlertFileOption = typer.Option(defaults.HOSTPAIRS_ALERT_FILE, "--alert-file",
                               help="Append alerts as JSON lines to this file.")
WebhookOption = typer.Option([], "--webhook", help="POST each alert as JSON to this URL (repeatable).")
VerboseOption = typer.Option(False, "--verbose", "-v", help="Show Scrapy's log.")
ScreenshotsOption = typer.Option(defaults.HOSTPAIRS_SCREENSHOTS, "--screenshots/--no-screenshots",
                                 help="Store each browser visit's viewport after the user simulation (JPEG).")
KeepCapturesOption = typer.Option(defaults.HOSTPAIRS_KEEP_CAPTURES, "--keep-captures/--no-keep-captures",
                                  help="Keep each visit's capture (compressed) for `hostpairs reprocess` and HAR export.")
ConcurrencyOption = typer.Option(None, "--concurrency", metavar="N|auto", help=(
    "Visits at once: a number (1-64) or auto (from cores and memory); default 4 in browser mode, 16 in static mode."))


def crawl_options(db: str | None, db_retry: float, depth: int, max_pages: int, dwell: float, page_timeout: float,
                  load_wait: float, page_time: float, host_rules: str, allow_private: bool, mode: Mode, alert_file: str | None,
                  webhook: list[str], verbose: bool, concurrency: str | None = None,
                  screenshots: bool = True, keep_captures: bool = True):  # noqa: ANN201
    """The options as one CrawlOptions, or a one-line error for host rules Chromium would refuse
    or a concurrency that is neither a number from 1 to 64 nor `auto`."""
    from hostpairs.crawler.host_rules import HostRules, HostRulesError
    from hostpairs.crawler.options import CrawlOptions, auto_concurrency

    from hostpairs.crawler.targets import TargetError, check_url

    try:
        HostRules.parse(host_rules)
        for url in webhook:
            check_url(url)
    except (HostRulesError, TargetError) as exc:
        fail(f"--host-rules: {exc}" if isinstance(exc, HostRulesError) else f"--webhook: {exc}")
    if alert_file and (Path(alert_file).is_dir() or not Path(alert_file).parent.is_dir()):
        fail(f"--alert-file: cannot append to {alert_file!r} (a directory, or in a missing one)")
    visits_at_once = None
    if concurrency == "auto":
        visits_at_once = auto_concurrency(mode.value)
    elif concurrency is not None:
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 64:
            fail(f"--concurrency: {concurrency!r} is neither a number from 1 to 64 nor auto")
        visits_at_once = int(concurrency)
    return CrawlOptions(db=database_url(db), db_retry=db_retry, depth=depth, max_pages=max_pages, dwell=dwell,
                        page_timeout=page_timeout, load_wait=load_wait, page_time=page_time, host_rules=host_rules,
                        allow_private=allow_private, mode=mode.value, alert_file=alert_file, webhooks=tuple(webhook),
                        verbose=verbose, concurrency=visits_at_once, screenshots=screenshots,
                        keep_captures=keep_captures)


def seed_groups(seeds: Path):  # noqa: ANN201 (list[SeedGroup])
    """The groups of a seed file, or a one-line error naming the line at fault."""
    from hostpairs.seeds.groups import SeedFileError
    from hostpairs.seeds.validation import load_seed_groups

    try:
        return load_seed_groups(seeds)
    except SeedFileError as exc:
        fail(str(exc))


def check_job(directory: Path, crawls: dict) -> bool:
    """Whether the job in `directory` resumes (False: it starts); a one-line error unless the
    directory can start or resume a job crawling `crawls`."""
    from hostpairs.crawler.jobs import CrawlJob, JobError

    try:
        job = CrawlJob.open(directory, crawls)
    except JobError as exc:
        fail(str(exc))
    job.close()
    return job.resumed


@app.command()
def crawl(
    targets: list[str] = typer.Argument(None, help="URLs and seed files (one URL a line, '#' comments)."),
    seeds: Path | None = typer.Option(None, "--seeds", help="Seed groups (TOML): crawl every group once."),
    group: str | None = typer.Option(None, "--group", help="With --seeds: only this group."),
    due: str = typer.Option("", "--due", hidden=True, help="The schedule slot of this run (ISO, UTC); set by watch."),
    job: Path | None = typer.Option(None, "--job", help="Job directory: killed, the same command resumes the crawl."),
    frontier: str | None = typer.Option(None, "--frontier", help=(
        "redis://HOST:PORT/DB: queue the visits there for `hostpairs worker`s and return at once.")),
    db: str | None = DbOption,
    db_retry: float = DbRetryOption,
    depth: int = DepthOption,
    max_pages: int = MaxPagesOption,
    dwell: float = DwellOption,
    page_timeout: float = PageTimeoutOption,
    load_wait: float = LoadWaitOption,
    page_time: float = PageTimeOption,
    host_rules: str = HostRulesOption,
    allow_private: bool = AllowPrivateOption,
    mode: Mode = ModeOption,
    alert_file: str | None = AlertFileOption,
    webhook: list[str] = WebhookOption,
    concurrency: str | None = ConcurrencyOption,
    screenshots: bool = ScreenshotsOption,
    keep_captures: bool = KeepCapturesOption,
    verbose: bool = VerboseOption,
) -> None:
    """Visit TARGETS (or seed groups) in headless Chromium and store what the visits observed."""
    from hostpairs.api import parameters
    from hostpairs.crawler.jobs import job_crawls
    from hostpairs.crawler.run import run_crawl
    from hostpairs.crawler.targets import TargetError, expand_targets

    try:
        urls = expand_targets(targets or [])
    except TargetError as exc:
        fail(str(exc))
    due_at = checked(parameters.date, due, "--due")
    options = crawl_options(db, db_retry, depth, max_pages, dwell, page_timeout, load_wait, page_time, host_rules,
                            allow_private, mode, alert_file, webhook, verbose, concurrency, screenshots,
                            keep_captures)
    groups = seed_groups(seeds) if seeds else []
    if group and group not in {g.name for g in groups}:
        fail(f"no seed group {group!r}" + (f" in {seeds}" if seeds else " (give --seeds FILE)"))
    if not urls and not groups:
        fail("nothing to crawl: give URLs, seed files or --seeds FILE")
    if frontier:
        if job:
            fail("--job and --frontier: a frontier keeps its visits itself (a worker killed loses none); give one")
        from hostpairs.cli.distributed import queue_visits

        queue_visits(frontier, urls, [g for g in groups if not group or g.name == group],
                     due_at, options)
        return
    sessions_for(db)  # fail early on a database that does not connect
    if job:
        if check_job(job, job_crawls(urls, str(seeds or ""), group or "", due, options.mode, depth, max_pages)):
            err.print(f"resuming job {job}: pages it stored are not visited again", markup=False)
        options = dataclasses.replace(options, job=str(job))
    print_summary(run_crawl(urls, options, err, seeds=str(seeds or ""), group=group or "", due=due))


def print_summary(summary) -> None:  # noqa: ANN001 (a crawler.run.CrawlSummary)
    """A crawl's summary: one line of counts, then each failed or unstored visit; a one-line error
    (exit 2) when the database refused visits."""
    out.print(f"pages: {summary.pages}  pairs new: {summary.pairs_new}  pairs seen: {summary.pairs_seen}  "
              f"alerts: {summary.alerts}  errors: {summary.errors}"
              + (f"  links not followed: {summary.left_out} (page budget spent: --max-pages)" if summary.left_out else ""),
              markup=False)
    for url, error in summary.failures:
        out.print(f"  failed: {url} — {error}", soft_wrap=True, markup=False)
    for url, reason in summary.unstored:
        out.print(f"  not stored: {url} — {reason}", soft_wrap=True, markup=False)
    if summary.close_reason == "database_unavailable":
        reason = summary.unstored[-1][1] if summary.unstored else "database unavailable"
        fail(f"crawl stopped: {reason}; {len(summary.unstored)} visits not stored (seed groups stay due)")
    if summary.unstored:
        fail(f"{len(summary.unstored)} visits not stored (the database refused them; seed groups stay due)")


@app.command()
def watch(
    seeds: Path = typer.Argument(..., help="Seed groups (TOML)."),
    tick: float = typer.Option(30.0, min=0.5, max=60.0, help="Seconds between schedule checks at most."),
    job: Path | None = typer.Option(None, "--job", help="Job directory: a group's run killed with the watcher resumes."),
    frontier: str | None = typer.Option(None, "--frontier", help=(
        "redis://HOST:PORT/DB: queue due groups there for `hostpairs worker`s instead of crawling them here.")),
    db: str | None = DbOption,
    db_retry: float = DbRetryOption,
    dwell: float = DwellOption,
    page_timeout: float = PageTimeoutOption,
    load_wait: float = LoadWaitOption,
    page_time: float = PageTimeOption,
    host_rules: str = HostRulesOption,
    allow_private: bool = AllowPrivateOption,
    mode: Mode = ModeOption,
    alert_file: str | None = AlertFileOption,
    webhook: list[str] = WebhookOption,
    concurrency: str | None = ConcurrencyOption,
    screenshots: bool = ScreenshotsOption,
    keep_captures: bool = KeepCapturesOption,
    verbose: bool = VerboseOption,
) -> None:
    """Crawl each seed group on its schedule until stopped, raising alerts on injected content.

    Takes crawl's options; depth and page budget are each group's own (see the seed file)."""
    from hostpairs.crawler.watch import Watcher
    from hostpairs.storage.schedules import WatcherRunning

    groups = seed_groups(seeds)
    options = crawl_options(db, db_retry, defaults.HOSTPAIRS_DEPTH, defaults.HOSTPAIRS_MAX_PAGES, dwell, page_timeout,
                            load_wait, page_time, host_rules, allow_private, mode, alert_file, webhook, verbose,
                            concurrency, screenshots, keep_captures)
    if job and (job.exists() and not job.is_dir() or not job.parent.is_dir()):
        fail(f"--job: {job} is not a directory (nor a new one in an existing directory)")
    if job and frontier:
        fail("--job and --frontier: a frontier keeps its visits itself (a worker killed loses none); give one")
    if frontier:
        from hostpairs.cli.distributed import opened

    watcher = Watcher(seeds, sessions_for(db), options, tick, log=lambda line: err.print(line, soft_wrap=True, markup=False),
                      jobs=job, frontier=opened(frontier) if frontier else None)
    try:
        watcher.claim()
    except WatcherRunning as exc:
        fail(str(exc))
    err.print(f"watching {len(groups)} seed groups from {seeds} (Ctrl-C to stop)", markup=False)
    watcher.run_forever()
