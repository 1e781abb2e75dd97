"""Generate the deterministic saved pages used by bench_static.py (bench/pages/*.html).

Run: .venv/bin/python bench/make_pages.py  (same output every time: seeded per page).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

PAGES_DIR = Path(__file__).parent / "pages"
PAGE_COUNT = 50

FIRST_PARTY = [
    "www.news-site.example",
    "shop.example.com",
    "Blog.Example.ORG",
    "bücher.example",
    "portal.example.net:8443",
    "www.bank.example.",
]
THIRD_PARTY = [
    "cdn.jsdelivr.example",
    "fonts.gstatic.example",
    "www.google-analytics.example",
    "connect.facebook.example",
    "ads.doubleclick.example",
    "static.CDN-host.example",
    "img.münchen-bilder.example",
    "tracker.pixel.example:8080",
    "player.vimeo.example",
    "www.youtube.example",
    "s3.amazonaws.example",
    "widgets.example.io",
]
WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation"
).split()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _url(rng: random.Random, own: str, ext: str) -> str:
    """A reference in one of the forms seen in the wild: relative, root-relative, absolute, //."""
    path = f"{rng.choice(['assets', 'static', 'media', 'x/y'])}/{_text(rng, 1)}{rng.randrange(999)}.{ext}"
    form = rng.randrange(6)
    if form == 0:
        return path
    if form == 1:
        return "/" + path + (f"?v={rng.randrange(99)}&amp;lang=en" if rng.random() < 0.3 else "")
    if form == 2:
        return f"https://{own}/{path}"
    if form == 3:
        return f"//{rng.choice(THIRD_PARTY)}/{path}"
    if form == 4:
        return f"https://{rng.choice(THIRD_PARTY)}/{path}#frag"
    return f"  \n https://{rng.choice(THIRD_PARTY)}/{path}\t "


def _head(rng: random.Random, own: str, index: int) -> list[str]:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_text(rng, 6)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ]
    if index % 7 == 3:
        out.append(f'<base href="https://{rng.choice(THIRD_PARTY)}/base/dir/">')
    if index % 5 == 1:
        out.append(f'<meta http-equiv="Refresh" content="{rng.randrange(30)}; URL=\'{_url(rng, own, "html")}\'">')
    out.append(f'<link rel="canonical" href="https://{own}/page{index}.html">')
    out.append(f'<link rel="alternate" hreflang="de" href="https://{own}/de/page{index}.html">')
    out.append(f'<link rel="preconnect" href="https://{rng.choice(THIRD_PARTY)}">')
    out.append(f'<link rel="dns-prefetch" href="//{rng.choice(THIRD_PARTY)}">')
    for _ in range(rng.randrange(3, 10)):
        out.append(f'<link rel="stylesheet" href="{_url(rng, own, "css")}" media="all">')
    out.append(f'<link rel="icon" type="image/png" href="{_url(rng, own, "png")}">')
    out.append(f'<link rel="apple-touch-icon" href="{_url(rng, own, "png")}">')
    out.append(f'<link rel="manifest" href="{_url(rng, own, "webmanifest")}">')
    out.append(f'<link rel="preload" as="font" crossorigin href="{_url(rng, own, "woff2")}">')
    out.append(f'<link rel="modulepreload" href="{_url(rng, own, "mjs")}">')
    out.append("<style>")
    out.append(f'@import url("{_url(rng, own, "css").strip()}");')
    out.append(f"@import '{_url(rng, own, 'css').strip()}' screen;")
    out.append(
        "@font-face { font-family: F; src: url("
        + _url(rng, own, "woff2").strip()
        + ') format("woff2"), url(\''
        + _url(rng, own, "ttf").strip()
        + "'); }"
    )
    for i in range(rng.randrange(100, 400)):
        rule = f".c{i} {{ margin: {i}px; color: #{rng.randrange(16**6):06x}; }}"
        if i % 25 == 0:
            rule = f'.bg{i} {{ background: url("{_url(rng, own, "jpg").strip()}") no-repeat; }}'
        out.append(rule)
    out.append("/* url(commented-out.png) */</style>")
    for _ in range(rng.randrange(2, 8)):
        out.append(f'<script src="{_url(rng, own, "js")}" async></script>')
    out.append('<script type="text/plain" data-consent="stats" src="https://consent-gated.example/t.js"></script>')
    out.append(
        f"<script>window.__DATA__ = {json.dumps({'items': [_text(rng, 8) for _ in range(rng.randrange(50, 300))]})};"
        f"\nvar s = '<img src=\"https://not-parsed.example/x.png\">';</script>"
    )
    out.append("</head>")
    return out


def _body(rng: random.Random, own: str) -> list[str]:
    out = ['<body class="page">', "<header><nav><ul>"]
    for _ in range(rng.randrange(10, 40)):
        out.append(f'<li class="nav-item"><a class="nav-link" href="{_url(rng, own, "html")}">{_text(rng, 2)}</a>')
    out.append("</ul></nav></header><main>")
    for section in range(rng.randrange(10, 100)):
        out.append(f'<section id="s{section}"><div class="row"><div class="col">')
        out.append(f"<h2>{_text(rng, 5)}</h2>")
        for _ in range(rng.randrange(2, 8)):
            out.append(
                f'<p>{_text(rng, rng.randrange(20, 80))} <a href="{_url(rng, own, "html")}">{_text(rng, 3)}</a>'
                f' <span class="x">{_text(rng, 4)}</span> <b>{_text(rng, 2)}</b>'
            )
        kind = rng.randrange(8)
        if kind == 0:
            out.append(
                f'<img src="{_url(rng, own, "jpg")}" srcset="{_url(rng, own, "jpg").strip()} 480w,'
                f' {_url(rng, own, "jpg").strip()} 800w" sizes="(max-width: 600px) 480px, 800px" alt="">'
            )
        elif kind == 1:
            out.append(
                f'<picture><source type="image/webp" srcset="{_url(rng, own, "webp").strip()} 1x, '
                f'{_url(rng, own, "webp").strip()} 2x"><img src="{_url(rng, own, "jpg")}" alt=""></picture>'
            )
        elif kind == 2:
            out.append(f'<iframe src="{_url(rng, own, "html")}" width="560" height="315" allowfullscreen></iframe>')
        elif kind == 3:
            out.append(
                f'<div class="hero" style="background-image: url(\'{_url(rng, own, "png").strip()}\'); height: 40px"></div>'
            )
        elif kind == 4:
            out.append(
                f'<video controls poster="{_url(rng, own, "jpg")}"><source src="{_url(rng, own, "mp4")}" type="video/mp4"></video>'
            )
        elif kind == 5:
            out.append(f'<map name="m"><area shape="rect" coords="0,0,1,1" href="{_url(rng, own, "html")}"></map>')
        elif kind == 6:
            out.append(
                f'<form action="/search"><input type="image" src="{_url(rng, own, "gif")}"><input name="q"></form>'
            )
        else:
            out.append(
                f'<a href="javascript:void(0)">js</a> <a href="mailto:info@{own}">mail</a> <a href="#top">top</a>'
                f' <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">'
            )
        out.append(f"<ul>{''.join('<li>' + _text(rng, 6) for _ in range(rng.randrange(3, 12)))}</ul>")
        out.append("</div></div></section>")
    out.append("</main><footer>")
    out.append(
        f'<noscript><img height="1" width="1" src="https://{rng.choice(THIRD_PARTY)}/tr?id={rng.randrange(10**9)}&amp;ev=PageView"></noscript>'
    )
    out.append('<template><img src="https://inert-template.example/never.png"></template>')
    out.append(
        f"<script>(function(){{var g=document.createElement('script');g.src='https://{rng.choice(THIRD_PARTY)}/dyn.js';"
        f"document.head.appendChild(g);}})();{' '.join(f'var v{i}={i};' for i in range(rng.randrange(50, 400)))}</script>"
    )
    out.append("</footer></body></html>")
    return out


def make_page(index: int) -> str:
    """One saved page; deterministic for a given index."""
    rng = random.Random(index)
    own = FIRST_PARTY[index % len(FIRST_PARTY)]
    return "\n".join(_head(rng, own, index) + _body(rng, own))


def main() -> None:
    PAGES_DIR.mkdir(exist_ok=True)
    for index in range(PAGE_COUNT):
        page = make_page(index)
        own = FIRST_PARTY[index % len(FIRST_PARTY)]
        name = f"page_{index:02d}.html"
        (PAGES_DIR / name).write_text(f"<!-- saved from https://{own}/page{index}.html -->\n{page}", encoding="utf-8")
    print(f"wrote {PAGE_COUNT} pages to {PAGES_DIR}")


if __name__ == "__main__":
    main()
