"""Scrapy settings for hostpairs. Every HOSTPAIRS_* setting can be given with `-s` or the CLI."""

import os
import shutil

BOT_NAME = "hostpairs"
SPIDER_MODULES = ["hostpairs.crawler.spiders"]
NEWSPIDER_MODULE = "hostpairs.crawler.spiders"

# --- hostpairs ---------------------------------------------------------------------------------
HOSTPAIRS_DB = os.environ.get("HOSTPAIRS_DB")  # SQLAlchemy URL; None = sqlite:///hostpairs.db
HOSTPAIRS_MODE = "browser"  # or "static": Scrapy's own HTTP stack, no browser
HOSTPAIRS_STATIC_CONCURRENCY = 16  # concurrent requests in static mode (browser mode: CONCURRENT_REQUESTS)
HOSTPAIRS_HOST_RULES = ""  # Chromium --host-resolver-rules syntax, applied to every connection
HOSTPAIRS_ALLOW_PRIVATE = False  # allow private/loopback/link-local targets that are not mapped
HOSTPAIRS_IGNORE_HTTPS_ERRORS = True  # attacker hosts rarely have valid certificates; errors are recorded
HOSTPAIRS_DWELL = 5.0  # seconds a visit lasts after the load event (scrolling and mouse included)
HOSTPAIRS_VISIT_TIMEOUT = 90.0  # hard cap on one visit after navigation, hostile pages included
HOSTPAIRS_CHROMIUM = os.environ.get("HOSTPAIRS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HOSTPAIRS_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
HOSTPAIRS_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--mute-audio",
    # One renderer for all frames of a page, so one DevTools session sees every frame's events;
    # http:// URLs fetched as given, not silently upgraded (the server's own redirects are evidence).
    # The browser's own calls home (network time, phishing model, reliability reports) stay off.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,"
    "NetworkTimeServiceQuerying",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
]

# Alerts (tamper detection on re-crawled pages)
HOSTPAIRS_BASELINE_VISITS = 10  # a host seen in any of the last N visits of a page is not new
HOSTPAIRS_ALERT_FILE = os.environ.get("HOSTPAIRS_ALERT_FILE")  # JSON lines, one alert a line
HOSTPAIRS_WEBHOOKS: list[str] = []  # each alert is POSTed as JSON to every URL
HOSTPAIRS_DELIVERY_GRACE = 30.0  # seconds a crawl keeps retrying undelivered alerts before it exits
HOSTPAIRS_RUN_HEARTBEAT = 20.0  # seconds between a seed-group run's signs of life (`watch` waits 2 min for one)

# --- Scrapy ------------------------------------------------------------------------------------
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = False  # no state shared between visits
TELNETCONSOLE_ENABLED = False
CONCURRENT_REQUESTS = 4  # browser visits at once (2 cores); static mode uses HOSTPAIRS_STATIC_CONCURRENCY
CONCURRENT_REQUESTS_PER_DOMAIN = 4
RETRY_ENABLED = False
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
REDIRECT_ENABLED = True  # static mode; the browser follows redirects itself
METAREFRESH_ENABLED = False  # meta refresh is observed (browser) or recorded (static), never followed by Scrapy
LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
TWISTED_DNS_RESOLVER = "hostpairs.crawler.resolver.HostRulesResolver"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "hostpairs.crawler.middlewares.AddressGuardMiddleware": 50,
    "hostpairs.crawler.middlewares.CertificateCheckMiddleware": 950,  # below redirects: every hop is checked
}
ITEM_PIPELINES = {
    "hostpairs.crawler.pipelines.StoragePipeline": 300,
}
EXTENSIONS = {
    "hostpairs.crawler.extensions.SeedGroupRuns": 500,
    "hostpairs.crawler.extensions.AlertDelivery": 600,
}

# --- scrapy-playwright (launch options are completed from HOSTPAIRS_* by the spider) --------
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_MAX_CONTEXTS = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_PROCESS_REQUEST_HEADERS = None  # the browser's own headers, as a user's browser sends them
