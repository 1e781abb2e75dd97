"""A generated virtual web for the browser benchmarks: many sites of ordinary pages, each pulling
scripts, styles, images, a tracker pixel and an ad frame from third parties, and long article
pages modelled on real news pages (30 screens, lazy images all the way down, a comments widget
injected when scrolled into view, a newsletter box after a delay).

Deterministic: the same arguments give the same pages."""

from __future__ import annotations

import random

from hostpairs.demoweb.server import PIXEL, css, html, js

TLDS = ("com", "net", "org", "de", "fr", "co.uk", "io", "nl")
WORDS = ("market analysis report city council weather season football election energy price water "
         "school hospital bank transport music festival science research policy budget court").split()


def _paragraphs(rng: random.Random, count: int) -> str:
    return "".join("<p>" + " ".join(rng.choice(WORDS) for _ in range(90)) + ".</p>" for _ in range(count))


def _site(number: int) -> str:
    return f"www.site-{number}.{TLDS[number % len(TLDS)]}"


def generated_web(sites: int = 50, pages_per_site: int = 10, long_pages: int = 20) -> tuple[dict, list[str]]:
    """The web (host → path → resource) and its page URLs: `sites` × `pages_per_site` ordinary
    pages, then `long_pages` long articles spread over the sites."""
    rng = random.Random(sites * 1000 + pages_per_site)
    web: dict = {}
    urls: list[str] = []
    for number in range(sites):
        host, cdn = _site(number), f"cdn-{number % 20}.bench-cdn.net"
        site = {}
        for page in range(pages_per_site):
            nav = "".join(f"<a href='/p/{k}'>section {k}</a> " for k in range(pages_per_site))
            site[f"/p/{page}"] = html(
                f"<!doctype html><html><head><title>{host} {page}</title>"
                f"<link rel=stylesheet href='https://fonts.bench-fonts.com/{number % 7}.css'>"
                f"<script src='https://{cdn}/app.js'></script>"
                f"<script src='https://tags.bench-tags.com/gtm.js?id=GTM-{number % 30:04d}'></script></head>"
                f"<body><nav>{nav}</nav><h1>{host} page {page}</h1>"
                f"<img src='https://img.bench-img.com/{number}/{page}.gif'>{_paragraphs(rng, 6)}"
                f"<iframe src='https://ads-{number % 5}.bench-ads.org/slot?{number}'></iframe>"
                f"<img src='https://img.bench-img.com/{number}/{page}-b.gif'>{_paragraphs(rng, 4)}</body></html>")
            urls.append(f"https://{host}/p/{page}")
        web[host] = site
        web[cdn] = {"/app.js": js("var i = new Image(); i.src = 'https://px.bench-pixel.net/p.gif?' + location.host;")}
    for article in range(long_pages):
        host = _site(article % sites)
        lazy = "".join(f"{_paragraphs(rng, 5)}<img loading=lazy width=600 height=300 "
                       f"src='https://media.bench-media.com/{article}/{k}.gif'>" for k in range(24))
        web[host][f"/long/{article}"] = html(
            f"<!doctype html><html><head><title>article {article}</title>"
            f"<script src='https://{'cdn-%d.bench-cdn.net' % (article % 20)}/app.js'></script></head><body>"
            f"<h1>A long article</h1>{lazy}<div id='comments'>comments</div>"
            "<script>new IntersectionObserver(function (e, o) { if (!e[0].isIntersecting) return; o.disconnect();"
            " var f = document.createElement('iframe'); f.src = 'https://comments.bench-widgets.net/w';"
            " document.body.appendChild(f); }).observe(document.getElementById('comments'));"
            " setTimeout(function () { var s = document.createElement('script');"
            " s.src = 'https://newsletter.bench-widgets.net/box.js'; document.head.appendChild(s); }, 800);"
            "</script></body></html>")
        urls.append(f"https://{host}/long/{article}")
    web["fonts.bench-fonts.com"] = {f"/{k}.css": css("body { font-family: serif }") for k in range(7)}
    web["tags.bench-tags.com"] = {"/gtm.js": js("window.dataLayer = window.dataLayer || [];")}
    web["img.bench-img.com"] = {f"/{n}/{p}{suffix}.gif": PIXEL for n in range(sites) for p in range(pages_per_site)
                                for suffix in ("", "-b")}
    web["media.bench-media.com"] = {f"/{a}/{k}.gif": PIXEL for a in range(long_pages) for k in range(24)}
    web["px.bench-pixel.net"] = {"/p.gif": PIXEL}
    web["comments.bench-widgets.net"] = {"/w": html("<p>comments</p>")}
    web["newsletter.bench-widgets.net"] = {"/box.js": js("var box = 1;")}
    for k in range(5):
        web[f"ads-{k}.bench-ads.org"] = {"/slot": html("<p>ad</p>")}
    return web, urls
