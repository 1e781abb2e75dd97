"""Tracker snippets as real sites serve them, crawled on the virtual web in both modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import VirtualWeb, html
from hostpairs.extractors.trackers import extract_trackers
from hostpairs.storage.models import Tracker
from tests.conftest import engine_for, run_cli, sqlite_url

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "trackers").glob("*.html"))


def host_for(fixture: Path) -> str:
    return f"{fixture.stem.replace('_', '-')}.tracker-fixtures.com"


@pytest.mark.parametrize("mode", ["static", "browser"])
def test_every_tracker_snippet_is_stored_for_its_host(mode: str, tmp_path: Path) -> None:
    sites = {host_for(f): {"/": html(f.read_text(encoding="utf-8"))} for f in FIXTURES}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = run_cli("crawl", "--mode", mode, "--dwell", "0.5", "--db", db, "--host-rules", web.host_rules,
                         *(f"https://{host}/" for host in sites))
    assert result.returncode == 0, result.stderr
    engine = engine_for(db)
    with Session(engine) as session:
        stored = {(t.hostname, t.attribute_type, t.attribute_value) for t in session.scalars(select(Tracker))}
    engine.dispose()
    for fixture in FIXTURES:
        expected = {(host_for(fixture), t.attribute_type, t.attribute_value)
                    for t in extract_trackers(fixture.read_text(encoding="utf-8"))}
        found = {s for s in stored if s[0] == host_for(fixture)}
        if fixture.stem == "lookalikes":
            assert found == set()
        elif mode == "static":
            assert expected and found == expected, fixture.name
        else:  # the browser also sees the IDs in the URLs the snippets request
            assert expected and found >= expected, fixture.name
