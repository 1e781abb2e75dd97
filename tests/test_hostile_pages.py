"""Hostile pages on the virtual web, in real Chromium: each ends in a stored visit with what it
observed, and the crawl goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, html, js
from hostpairs.storage.models import Dependency, Tracker, Visit
from tests.conftest import engine_for, run_cli, sqlite_url

BANK = "https://www.knf-bank.com/"
# The bank's own inline scripts name three trackers; one ad frame never finishes loading, so the
# load event never fires; scrolling injects an image, and the page links to its login.
BANK_PAGE = """<!doctype html><html><head><title>Bank</title>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'UA-48291734-1');
</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});
})(window,document,'script','dataLayer','GTM-K7QX2P9');</script>
<script>!function(f,b,e,v,n,t,s){n=f.fbq=function(){};}(window,document,'script');
fbq('init', '1234567890123456'); fbq('track', 'PageView');</script>
</head><body style="height:4000px"><h1>Bank</h1><a href="/login">Log in</a>
<iframe src="https://ads.trickle-ad.net/slot" width="300" height="250"></iframe>
<script>addEventListener('scroll', function () {
  if (!window.seen) { window.seen = 1; new Image().src = 'https://scroll.knf-bank-cdn.net/seen.gif'; }
});</script>
</body></html>"""
NEXT = "https://www.after-hostile.com/"


@pytest.fixture
def web() -> Iterator[VirtualWeb]:
    sites = {
        "www.knf-bank.com": {"/": html(BANK_PAGE), "/login": html("<h1>Log in</h1>")},
        "ads.trickle-ad.net": {"/slot": Resource(body="<p>ad</p>", delay=120)},  # answers after the visit is over
        "scroll.knf-bank-cdn.net": {"/seen.gif": PIXEL},
        "www.after-hostile.com": {"/": html("<script src='https://cdn.after-cdn.net/a.js'></script>")},
        "cdn.after-cdn.net": {"/a.js": js("var a = 1;")},
    }
    with VirtualWeb(sites) as server:
        yield server


def test_a_page_whose_load_never_fires_is_browsed_from_dom_content_loaded(web: VirtualWeb, tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    result = run_cli("crawl", BANK, NEXT, "--db", db, "--host-rules", web.host_rules, "--dwell", "1",
                     "--load-wait", "2", "--page-timeout", "20")
    assert result.returncode == 0, result.stderr
    engine = engine_for(db)
    with Session(engine) as session:
        visits = {v.requested_url: v for v in session.scalars(select(Visit))}
        bank = visits[BANK]
        urls = set(session.scalars(select(Dependency.url).where(Dependency.visit_id == bank.id)))
        trackers = set(session.execute(select(Tracker.attribute_type, Tracker.attribute_value)
                                       .where(Tracker.hostname == "www.knf-bank.com")).all())
        after = visits[NEXT]
    engine.dispose()
    assert bank.error is None and bank.load_finished is False and bank.limits_hit == "load wait 2 s"
    assert (bank.finished_at - bank.started_at).total_seconds() < 20  # not the 20 s navigation timeout
    assert "https://scroll.knf-bank-cdn.net/seen.gif" in urls  # the user simulation ran
    assert "https://ads.trickle-ad.net/slot" in urls  # the hanging frame is recorded
    assert {("GoogleAnalyticsTrackingId", "UA-48291734-1"), ("GoogleTagManagerId", "GTM-K7QX2P9"),
            ("FacebookId", "1234567890123456")} <= trackers  # read from the final DOM's inline scripts
    assert after.error is None and after.load_finished is True and after.limits_hit is None
    report = run_cli("visit", BANK, "--db", db)
    assert "the load event never came" in report.stdout and "limits hit: load wait 2 s" in report.stdout
