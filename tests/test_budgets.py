"""Page budgets: every target a user names is visited; `--max-pages` bounds only the pages found by
following links, and what it leaves out is counted in the summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import VirtualWeb, html
from hostpairs.storage.models import Visit
from tests.conftest import engine_for, run_cli, sqlite_url

SITE = "https://www.budget-news.com"
TARGETS = [f"{SITE}/t/{i}" for i in range(15)]
LINKS = [f"{SITE}/a/{i}" for i in range(10)]


def budget_site() -> dict:
    """Fifteen target pages; the first links to ten articles (twice each, and to a target)."""
    anchors = "".join(f"<a href='/a/{i}'>article {i}</a><a href='/a/{i}#top'>again</a>" for i in range(10))
    site = {"/t/0": html(f"<h1>index</h1>{anchors}<a href='/t/3'>a target</a>")}
    site.update({f"/t/{i}": html(f"<h1>target {i}</h1>") for i in range(1, 15)})
    site.update({f"/a/{i}": html(f"<h1>article {i}</h1>") for i in range(10)})
    return {"www.budget-news.com": site}


def visited(db: str) -> Counter[str]:
    engine = engine_for(db)
    with Session(engine) as session:
        urls = Counter(session.scalars(select(Visit.requested_url)))
    engine.dispose()
    return urls


@pytest.mark.parametrize("max_pages", [3, 100])
def test_every_target_is_visited_and_max_pages_bounds_followed_links(tmp_path: Path, max_pages: int) -> None:
    db = sqlite_url(tmp_path)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(TARGETS[1:]) + "\n")
    with VirtualWeb(budget_site()) as web:
        result = run_cli("crawl", TARGETS[0], str(seeds), "--mode", "static", "--depth", "1",
                         "--max-pages", str(max_pages), "--db", db, "--host-rules", web.host_rules)
    assert result.returncode == 0, result.stderr
    urls = visited(db)
    assert all(count == 1 for count in urls.values()), urls
    assert set(TARGETS) <= set(urls)  # all 15 targets, more than a budget of 3
    followed = set(urls) - set(TARGETS)
    assert followed <= set(LINKS) and len(followed) == min(max_pages, len(LINKS))
    left_out = len(LINKS) - len(followed)
    assert f"pages: {len(TARGETS) + len(followed)} " in result.stdout
    if left_out:
        assert f"links not followed: {left_out} (page budget spent: --max-pages)" in result.stdout
    else:
        assert "links not followed" not in result.stdout
