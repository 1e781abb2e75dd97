"""Every browser visit stores its viewport after the user simulation (JPEG, at most 200 KB):
`hostpairs visit URL --screenshot FILE` writes it out; `--no-screenshots` stores none (and
`--no-keep-captures` keeps no capture)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from hostpairs.crawler.capture.dom import SCREENSHOT_BYTES
from hostpairs.demoweb.server import VirtualWeb, html
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import KeptCapture, Screenshot, Visit
from tests.conftest import run_cli, sqlite_url

# A page whose picture is heavy (fine noise all over the viewport), drawn by a script after load:
# what is photographed is the page as the user simulation left it, scrolled back to the top.
NOISY = """<h1 id=title>before</h1><canvas id=c width=1366 height=700></canvas><script>
addEventListener('load', function () {
  var c = document.getElementById('c').getContext('2d'), seed = 7;
  for (var y = 0; y < 700; y += 2) for (var x = 0; x < 1366; x += 2) {
    seed = (seed * 16807) % 2147483647;
    c.fillStyle = 'rgb(' + (seed & 255) + ',' + ((seed >> 8) & 255) + ',' + ((seed >> 16) & 255) + ')';
    c.fillRect(x, y, 2, 2);
  }
  document.getElementById('title').textContent = 'after';
});
</script>"""


def test_a_visit_stores_its_screenshot_and_the_cli_writes_it_out(tmp_path: Path) -> None:
    sites = {"shots-pp.com": {"/": html(NOISY), "/plain": html("<h1>plain</h1>")}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = run_cli("crawl", "https://shots-pp.com/", "https://shots-pp.com/plain", "--dwell", "0.5",
                         "--host-rules", web.host_rules, "--db", db)
        assert result.returncode == 0, result.stderr
        off = sqlite_url(tmp_path, "off.db")
        result = run_cli("crawl", "https://shots-pp.com/plain", "--dwell", "0.5", "--no-screenshots",
                         "--no-keep-captures", "--host-rules", web.host_rules, "--db", off)
        assert result.returncode == 0, result.stderr
    with session_factory(open_database(db))() as session:
        shots = {url: shot for url, shot in session.execute(
            select(Visit.requested_url, Screenshot).join(Screenshot, Screenshot.visit_id == Visit.id))}
    assert set(shots) == {"https://shots-pp.com/", "https://shots-pp.com/plain"}
    for shot in shots.values():
        assert shot.media_type == "image/jpeg" and shot.image[:3] == b"\xff\xd8\xff"
        assert len(shot.image) <= SCREENSHOT_BYTES
    assert len(shots["https://shots-pp.com/"].image) > 4 * len(shots["https://shots-pp.com/plain"].image)  # the noise is in it
    written = tmp_path / "shot.jpg"
    result = run_cli("visit", "https://shots-pp.com/", "--screenshot", str(written), "--db", db)
    assert result.returncode == 0, result.stderr
    assert written.read_bytes() == shots["https://shots-pp.com/"].image
    with session_factory(open_database(db))() as session:
        assert len(session.scalars(select(KeptCapture.visit_id)).all()) == 2
    with session_factory(open_database(off))() as session:
        assert session.scalars(select(Screenshot)).all() == []
        assert session.scalars(select(KeptCapture)).all() == []
    refused = run_cli("visit", "https://shots-pp.com/plain", "--screenshot", str(written), "--db", off)
    assert refused.returncode == 2 and "has no screenshot" in refused.stderr and "Traceback" not in refused.stderr
    refused = run_cli("visit", "https://shots-pp.com/plain", "--har", str(tmp_path / "v.har"), "--db", off)
    assert refused.returncode == 2 and "no complete kept capture" in refused.stderr
