"""Tracker snippets as real sites serve them, crawled on the virtual web in both modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import VirtualWeb, html
from hostpairs.storage.models import Tracker
from tests.conftest import engine_for, run_cli, sqlite_url

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "trackers").glob("*.html"))

UA_ACCOUNT, UA_ID = "GoogleAnalyticsAccountNumber", "GoogleAnalyticsTrackingId"
EXPECTED = {  # read off each fixture's snippets by hand
    "analytics_js": {(UA_ACCOUNT, "UA-1122334"), (UA_ACCOUNT, "UA-77001234"), (UA_ID, "UA-1122334-5"),
                     (UA_ID, "UA-1122334-9"), (UA_ID, "UA-77001234-2")},
    "facebook_pixel": {("FacebookId", "704512398761234")},
    "ga_js": {(UA_ACCOUNT, "UA-2345678"), (UA_ACCOUNT, "UA-3456789"), (UA_ID, "UA-2345678-1"), (UA_ID, "UA-3456789-2")},
    "gtag": {("GoogleAdsId", "AW-987654321"), (UA_ACCOUNT, "UA-48291734"),
             ("GoogleAnalyticsMeasurementId", "G-8RTX3WQ5ZP"), (UA_ID, "UA-48291734-1")},
    "gtm": {("GoogleTagManagerId", "GTM-5NSQ7RT"), ("GoogleTagManagerId", "GTM-K9X2QPL")},
    "hotjar": {("HotjarId", "3456712")},
    "lookalikes": set(),  # IDs in prose, classes, placeholders and unrelated calls are no trackers
    "new_relic": {("NewRelicId", "12345678"), ("NewRelicId", "601234567")},
    "yandex_metrica": {("YandexMetricaCounterId", "24681357"), ("YandexMetricaCounterId", "93456781")},
}


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
    assert {f.stem for f in FIXTURES} == set(EXPECTED)
    for fixture in FIXTURES:
        found = {(t, v) for host, t, v in stored if host == host_for(fixture)}
        assert found == EXPECTED[fixture.stem], fixture.name
