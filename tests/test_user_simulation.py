"""The user simulation in real Chromium: scrolling moves on as fast as the page allows without
missing what scrolling makes a page load, and `--page-time` fast-forwards the page's timers so
that what a page injects after a long delay is seen in a fraction of that time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import PIXEL, VirtualWeb, html
from hostpairs.storage.models import HostPair, Visit
from tests.conftest import engine_for, run_cli, sqlite_url

# 20 screens of text; near the bottom an element whose coming into view injects a frame (an
# IntersectionObserver, as lazy widgets and some skimmers do), and reaching it appends more
# content once, a moment later (infinite scroll), whose own bottom loads an image.
LONG_PAGE = html("""
<div style='height: 15000px'>a long article</div>
<div id='widget'>comments</div>
<div id='more'></div>
<script>
new IntersectionObserver(function (entries, observer) {
  if (!entries[0].isIntersecting) return;
  observer.disconnect();
  var frame = document.createElement('iframe');
  frame.src = 'https://widgets.lazy-c.net/frame.html';
  document.body.appendChild(frame);
  setTimeout(function () {  // (the next articles arrive a moment later, as fetched ones do)
    var more = document.getElementById('more');
    more.innerHTML = "<div style='height: 5000px'>more articles</div><div id='end'>end</div>";
    new IntersectionObserver(function (e, o) {
      if (!e[0].isIntersecting) return;
      o.disconnect();
      new Image().src = 'https://pix.lazy-d.net/end.gif';
    }).observe(document.getElementById('end'));
  }, 150);
}).observe(document.getElementById('widget'));
</script>""")

# A page whose script waits 20 s (as skimmers do, to outlast sandboxes) before injecting a frame.
WAITING_PAGE = html("""<h1>checkout</h1>
<script>setTimeout(function () {
  var frame = document.createElement('iframe');
  frame.src = 'https://collect.late-e.com/f.html';
  frame.style.display = 'none';
  document.body.appendChild(frame);
}, 20000);</script>""")

WEB = {
    "www.long-read.com": {"/": LONG_PAGE},
    "www.slow-shop.com": {"/": WAITING_PAGE},
    "widgets.lazy-c.net": {"/frame.html": html("<p>widget</p>")},
    "pix.lazy-d.net": {"/end.gif": PIXEL},
    "collect.late-e.com": {"/f.html": html("<p>collected</p>")},
}


def stored(db: str) -> tuple[set[tuple[str, str, str]], dict[str, float]]:
    """The pairs stored, and each visit's duration in seconds."""
    engine = engine_for(db)
    with Session(engine) as session:
        pairs = {(p.parent, p.child, p.cause) for p in session.scalars(select(HostPair))}
        durations = {v.requested_url: (v.finished_at - v.started_at).total_seconds() for v in session.scalars(select(Visit))}
    engine.dispose()
    return pairs, durations


def test_scrolling_reaches_what_only_the_bottom_of_a_long_page_loads(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    with VirtualWeb(WEB) as web:
        result = run_cli("crawl", "https://www.long-read.com/", "--dwell", "0", "--db", db,
                         "--host-rules", web.host_rules)
    assert result.returncode == 0, result.stderr
    pairs, _ = stored(db)
    assert ("www.long-read.com", "widgets.lazy-c.net", "iframe.src") in pairs
    assert ("www.long-read.com", "pix.lazy-d.net", "img.src") in pairs  # below what the first bottom showed


def test_page_time_fast_forwards_the_timers_of_a_page_that_waits_before_injecting(tmp_path: Path) -> None:
    fast, plain = sqlite_url(tmp_path, "fast.db"), sqlite_url(tmp_path, "plain.db")
    with VirtualWeb(WEB) as web:
        forwarded = run_cli("crawl", "https://www.slow-shop.com/", "--dwell", "0", "--page-time", "30", "--db", fast,
                            "--host-rules", web.host_rules)
        without = run_cli("crawl", "https://www.slow-shop.com/", "--dwell", "0", "--db", plain,
                          "--host-rules", web.host_rules)
    assert forwarded.returncode == 0 and without.returncode == 0, forwarded.stderr + without.stderr
    late = ("www.slow-shop.com", "collect.late-e.com", "iframe.src")
    pairs, durations = stored(fast)
    assert late in pairs
    # 20 s of the page's time passed in a few seconds of the visit's (bound generous for a busy machine)
    assert durations["https://www.slow-shop.com/"] < 15, durations
    assert late not in stored(plain)[0]  # without it, a visit that short never sees the frame
