"""The virtual web the browser tests crawl: one scenario per behaviour the crawler must see."""

from __future__ import annotations

from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, css, html, js, redirect

NEWS_PAGE = """<!doctype html><html><head><title>News A</title>
<link rel="stylesheet" href="https://style-u.com/s.css">
<link rel="icon" href="https://icons-ab.com/favicon.ico">
<script src="https://static.news-a.com/app.js"></script>
</head><body style="min-height: 4000px">
<h1>News A</h1>
<iframe src="https://frames-b.net/outer"></iframe>
<iframe src="https://hop-o.com/"></iframe>
<iframe src="https://meta-q.com/"></iframe>
<iframe srcdoc="<img src='https://srcdoc-s.com/p.gif'>"></iframe>
<iframe src="https://hidden-aa.com/" style="display:none"></iframe>
<iframe id="blank"></iframe>
<img src="https://redir-l.com/a">
<img src="https://a.cdn-z.net/1.gif"><img src="https://b.cdn-z.net/2.gif">
<a href="https://link-y.com/page">partner</a> <a href="/section">section</a>
<script>
  var f = document.createElement('iframe');
  f.src = 'https://inject-f.com/';
  document.body.appendChild(f);
  var doc = document.getElementById('blank').contentDocument;
  doc.open(); doc.write("<script src='https://written-t.net/w.js'><\\/script>"); doc.close();
  fetch('https://api-j.io/data').catch(function () {});
  new Worker('/worker.js');
  var xhr = new XMLHttpRequest(); xhr.open('GET', 'https://xhr-k.com/x'); xhr.send();
  setTimeout(function () {
    var s = document.createElement('script'); s.src = 'https://late-g.net/late.js'; document.head.appendChild(s);
  }, 2000);
  window.addEventListener('scroll', function onScroll() {
    window.removeEventListener('scroll', onScroll);
    var i = new Image(); i.src = 'https://scroll-h.org/s.gif';
  });
  document.addEventListener('mousemove', function onMove() {
    document.removeEventListener('mousemove', onMove);
    var s = document.createElement('script'); s.src = 'https://mouse-i.com/m.js'; document.head.appendChild(s);
  });
</script>
</body></html>"""

CORS = {"Access-Control-Allow-Origin": "*"}

# What a stylesheet requests is css.import whoever holds the CSS (inline <style>, style attribute,
# parser-inserted or script-created); resource hints are link.href, marked; a <script src> under a
# type that is not JavaScript is script.src, unless the type is a data block's.
STYLES_PAGE = """<!doctype html><html><head>
<style>@import url(https://imp-xb.net/i.css);
@font-face { font-family: Brand; src: url(https://font-xc.org/brand.woff2) format('woff2'); }
body { background: url(https://bg-xd.com/bg.gif); } p { font-family: Brand, serif; }</style>
<link rel="preload" as="script" href="https://pre-xi.net/p.js">
<link rel="prefetch" href="https://pref-xj.com/next.html">
<link rel="preconnect" href="https://conn-xk.net">
<link rel="dns-prefetch" href="//dns-xl.org">
<script type="text/plain" data-consent="marketing" src="https://consent-xm.com/tag.js"></script>
<script type="0a1b2c3d4e5f60718293a4b5-text/javascript" src="https://rocket-xn.net/r.js"></script>
<script type="application/ld+json" src="https://ldjson-xo.com/d.json"></script>
</head><body><p>Styled text</p>
<div style="width: 8px; height: 8px; background-image: url(https://attr-xe.net/a.gif)"></div>
<img src="https://img-xh.com/i.gif">
<script>
  var style = document.createElement('style');
  style.textContent = '@import url(https://dyn-xf.com/d.css); h2 { background: url(https://dyn-xf.com/h.gif); }';
  document.head.appendChild(style);
  var h = document.createElement('h2'); h.textContent = 'added'; document.body.appendChild(h);
  var d = document.createElement('div');
  d.setAttribute('style', 'width: 8px; height: 8px; background: url(https://dynattr-xg.org/d.gif)');
  document.body.appendChild(d);
</script>
</body></html>"""

TRACKED_PAGE = """<!doctype html><html><head>
<meta name="generator" content="WordPress 6.4.2">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TRK4EXAMPLE"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-TRK4EXAMPLE'); gtag('config', 'UA-7654321-2');</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});
var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;
j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-TRK4EX');</script>
<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;
n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890123456'); fbq('track', 'PageView');</script>
<script src="https://cdn-jq.net/jquery-3.6.0.min.js"></script>
</head><body><h1>Tracked</h1><p>Our product UA-123 certified, ref G-1234ABCD.</p>
<noscript><img height="1" width="1" style="display:none"
src="https://www.facebook.com/tr?id=1234567890123456&ev=PageView&noscript=1"/></noscript>
<img src="https://cookie-tp.net/pixel.gif">
<script>document.cookie = "visited=yes; path=/";</script>
</body></html>"""


def build_sites(web_port: list[int]) -> dict[str, dict]:
    """Sites keyed by host; `web_port` is filled in once the server has a port."""
    return {
        "styles-xa.com": {"/": html(STYLES_PAGE)},
        "imp-xb.net": {"/i.css": css("p { color: navy }")},
        "dyn-xf.com": {"/d.css": css("h2 { color: teal }"), "/h.gif": PIXEL},
        **{host: {path: PIXEL} for host, path in (("bg-xd.com", "/bg.gif"), ("attr-xe.net", "/a.gif"),
                                                   ("dynattr-xg.org", "/d.gif"), ("img-xh.com", "/i.gif"))},
        "pre-xi.net": {"/p.js": js("var preloaded = 1;")},
        "pref-xj.com": {"/next.html": html("<p>next</p>")},
        "www.news-a.com": {"/": html(NEWS_PAGE), "/section": html("<h1>Section</h1><img src='https://section-img-ac.com/s.gif'>"),
                           "/worker.js": js("importScripts('https://worker-lib-qq.org/l.js');"
                                            "fetch('https://worker-api-pp.net/x');")},
        "worker-api-pp.net": {"/x": Resource(body="{}", content_type="application/json", headers=CORS)},
        "worker-lib-qq.org": {"/l.js": js("var lib = 1;")},
        "static.news-a.com": {"/app.js": js("window.app = 1;")},
        "style-u.com": {"/s.css": css("@import url('https://style-v.net/i.css');\nh1{background:url(https://bg-w.org/b.gif)}")},
        "style-v.net": {"/i.css": css("p{color:red}")},
        "bg-w.org": {"/b.gif": PIXEL},
        "icons-ab.com": {"/favicon.ico": PIXEL},
        "frames-b.net": {"/outer": html("<iframe src='https://frames-c.org/middle'></iframe>")},
        "frames-c.org": {"/middle": html("<iframe src='https://frames-d.io/inner'></iframe>")},
        "frames-d.io": {"/inner": html("<img src='https://deep-img-e.com/p.gif'>")},
        "deep-img-e.com": {"/p.gif": PIXEL},
        "hop-o.com": {"/": html("<script>setTimeout(function () { location.href = 'https://hop-p.net/'; }, 100);</script>")},
        "hop-p.net": {"/": html("<p>hop target</p>")},
        "meta-q.com": {"/": html("<meta http-equiv='refresh' content='0; url=https://meta-r.org/'>")},
        "meta-r.org": {"/": html("<p>meta target</p>")},
        "srcdoc-s.com": {"/p.gif": PIXEL},
        "hidden-aa.com": {"/": html("<p>hidden</p>")},
        "inject-f.com": {"/": html("<p>injected</p>")},
        "written-t.net": {"/w.js": js("var written = 1;")},
        "api-j.io": {"/data": Resource(body="{}", content_type="application/json", headers=CORS)},
        "xhr-k.com": {"/x": Resource(body="{}", content_type="application/json", headers=CORS)},
        "late-g.net": {"/late.js": js("var late = 1;")},
        "scroll-h.org": {"/s.gif": PIXEL},
        "mouse-i.com": {"/m.js": js("var moved = 1;")},
        "redir-l.com": {"/a": redirect("https://redir-m.net/b", 302)},
        "redir-m.net": {"/b": redirect("https://final-n.org/p.gif", 301)},
        "final-n.org": {"/p.gif": PIXEL},
        "a.cdn-z.net": {"/1.gif": PIXEL},
        "b.cdn-z.net": {"/2.gif": PIXEL},
        "link-y.com": {"/page": html("<p>partner</p>")},
        "section-img-ac.com": {"/s.gif": PIXEL},
        # top-level navigations
        "old-bb.com": {"/": redirect("https://www.mid-bb.net/go", 301)},
        "www.mid-bb.net": {"/go": redirect("https://www.new-bb.com/", 302)},
        "www.new-bb.com": {"/": html("<h1>New BB</h1>")},
        "refresh-cc.com": {"/": html("<meta http-equiv='refresh' content='1;URL=https://landing-dd.com/'>")},
        "landing-dd.com": {"/": html("<h1>landing</h1>")},
        "jsnav-ee.com": {"/": html("<script>location.replace('https://jsdest-ff.com/');</script>")},
        "jsdest-ff.com": {"/": html("<h1>js destination</h1>")},
        # a page that tries to reach the crawler's own network
        "guard-hh.com": {"/": lambda path: html(
            f"<img src='http://127.0.0.1:{web_port[0]}/private.gif'>"
            f"<img src='http://probe.localhost:{web_port[0]}/private.gif'>"  # Chromium resolves *.localhost itself
            "<script>fetch('http://169.254.169.254/latest/meta-data/').catch(function () {});"
            f"window.open('http://127.0.0.1:{web_port[0]}/popup.html');"
            "window.open('https://popup-ads-uu.com/landing');</script>"
        )},
        "popup-ads-uu.com": {"/landing": html("<h1>popup</h1>")},
        "127.0.0.1": {"/private.gif": PIXEL, "/popup.html": html("<h1>the crawler's own network</h1>")},
        # trackers, cookies, components
        "tracked-nn.com": {"/": Resource(body=TRACKED_PAGE, headers={
            "Server": "nginx/1.24.0", "X-Powered-By": "PHP/8.2.1",
            "Set-Cookie": "session_id=abc; Path=/; Secure; SameSite=Lax"})},
        "www.googletagmanager.com": {"/gtag/js": js("window.dataLayer = window.dataLayer || [];"),
                                     "/gtm.js": js("var gtm = 1;")},
        "connect.facebook.net": {"/en_US/fbevents.js": js("var fbevents = 1;")},
        "cdn-jq.net": {"/jquery-3.6.0.min.js": js("window.jQuery = function () {};")},
        "cookie-tp.net": {"/pixel.gif": Resource(body=PIXEL.body, content_type="image/gif", headers={
            "Set-Cookie": "uid=42; Path=/; Secure; SameSite=None"})},
        # hostile pages
        "busy-ii.com": {"/": html("<img src='https://busy-img-ll.com/p.gif'>"
                                  "<script>addEventListener('load', function () { setTimeout(function () { for (;;) {} }, 300); });</script>")},
        "busy-img-ll.com": {"/p.gif": PIXEL},
        "busy-at-load-rr.com": {"/": html("<script>addEventListener('load', function () {"
                                          " setTimeout(function () { for (;;) {} }, 0); });</script>")},
        "download-jj.com": {"/file.exe": Resource(body=b"MZ" + bytes(1000), content_type="application/octet-stream",
                                                  headers={"Content-Disposition": "attachment; filename=file.exe"})},
        "alert-kk.com": {"/": html("<script>alert('hello'); confirm('sure?');</script>"
                                   "<img src='https://after-alert-mm.com/p.gif'>")},
        "after-alert-mm.com": {"/p.gif": PIXEL},
    }


def make_test_web() -> VirtualWeb:
    port: list[int] = []
    web = VirtualWeb(build_sites(port))
    web.start()
    port.append(web.port)
    return web


MAIN_TARGETS = [
    "https://www.news-a.com/",
    "http://old-bb.com/",
    "https://refresh-cc.com/",
    "https://jsnav-ee.com/",
    "https://guard-hh.com/",
    "https://unreachable-gg.com/",
    "https://tracked-nn.com/",
    "https://styles-xa.com/",
]

HOSTILE_TARGETS = ["https://busy-ii.com/", "https://busy-at-load-rr.com/", "https://download-jj.com/file.exe",
                   "https://alert-kk.com/"]
