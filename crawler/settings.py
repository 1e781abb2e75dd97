"""Scrapy settings for hostpairs: every HOSTPAIRS_* setting, with its one default.

Each can be given with `scrapy crawl -s NAME=VALUE`; the CLI's crawl options set the everyday
ones and take their defaults from here. Those read from the environment say so."""

import os
import shutil

BOT_NAME = "hostpairs"
SPIDER_MODULES = ["hostpairs.crawler.spiders"]
NEWSPIDER_MODULE = "hostpairs.crawler.spiders"

# --- hostpairs ---------------------------------------------------------------------------------
HOSTPAIRS_DB = os.environ.get("HOSTPAIRS_DB") or "sqlite:///hostpairs.db"  # SQLAlchemy URL ($HOSTPAIRS_DB)
HOSTPAIRS_DB_RETRY = 60.0  # seconds a visit is tried again while the database is unavailable, then the crawl stops
HOSTPAIRS_MODE = "browser"  # or "static": Scrapy's own HTTP stack, no browser
HOSTPAIRS_DEPTH = 0  # follow same-site links of the targets this many levels deep (seed groups set their own)
HOSTPAIRS_MAX_PAGES = 100  # pages found by following links visited at most; the targets are all visited (seed groups set their own)
HOSTPAIRS_JOB = None  # a directory: the crawl is a job that resumes where it was killed (crawler/jobs.py)
HOSTPAIRS_FRONTIER = None  # redis://HOST:PORT/DB: a worker, taking its visits from this frontier (crawler/frontier.py)
HOSTPAIRS_FRONTIER_LEASE = 60.0  # seconds a worker's visit stays leased without renewal; then another worker takes it
HOSTPAIRS_FRONTIER_ATTEMPTS = 3  # leases of one frontier visit that never got stored (its worker died with it); then it is stored as failed
HOSTPAIRS_EXIT_WHEN_IDLE = 0.0  # a worker ends once the frontier has had nothing queued or leased this long (0: never)
HOSTPAIRS_WORKER_OPTIONS: list[str] = []  # per-visit settings the worker's command gave: they win over those queued
HOSTPAIRS_PAGE_TIMEOUT = 30.0  # seconds a page may take to load (browser navigation; static download)
HOSTPAIRS_STATIC_CONCURRENCY = 16  # concurrent requests in static mode (browser mode: CONCURRENT_REQUESTS)
HOSTPAIRS_HOST_RULES = ""  # Chromium --host-resolver-rules syntax, applied to every connection
HOSTPAIRS_ALLOW_PRIVATE = False  # allow private/loopback/link-local targets that are not mapped
HOSTPAIRS_IGNORE_HTTPS_ERRORS = True  # attacker hosts rarely have valid certificates; errors are recorded
HOSTPAIRS_DWELL = 5.0  # seconds a visit lasts after the load event or the load wait (scrolling and mouse included)
HOSTPAIRS_LOAD_WAIT = 10.0  # seconds a visit waits after DOMContentLoaded for the load event, then browses anyway
HOSTPAIRS_PAGE_TIME = 0.0  # seconds of the page's own timers fast-forwarded after the user simulation (Playwright's clock); 0: off
HOSTPAIRS_VISIT_TIMEOUT = 90.0  # hard cap on one visit after DOMContentLoaded, hostile pages included
# Per-visit limits (browser mode). A visit records each one it reached (visits.limits_hit, as named
# in quotes) and goes on as said.
HOSTPAIRS_MAX_FRAMES = 1000  # frames recorded per visit; later ones are refused and load nothing ("frames 1000")
HOSTPAIRS_MAX_REQUESTS = 5000  # requests recorded per visit; later ones are refused ("requests 5000")
HOSTPAIRS_MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # one response's body; past it the page goes offline ("response bytes N")
HOSTPAIRS_MAX_VISIT_BYTES = 128 * 1024 * 1024  # all bodies of a visit; past it the page goes offline ("visit bytes N")
HOSTPAIRS_MAX_DIALOGS = 20  # alert/confirm/prompt/print per document; later ones return at once, dismissed ("dialogs 20")
HOSTPAIRS_MAX_POPUPS = 20  # window.open calls per document; later ones get no window ("popups 20")
HOSTPAIRS_MAX_MESSAGES = 10000  # WebSocket frames and EventSource messages per visit; past it the page goes offline ("messages 10000")
HOSTPAIRS_KEEP_CAPTURES = True  # each visit's capture is kept (compressed) to re-derive its records later: `hostpairs reprocess`
HOSTPAIRS_CAPTURE_BYTES = 2 * 1024 * 1024  # a kept capture's compressed size at most; past it markup, then requests, are left out (0: no cap)
# Payment processors' hosts (and their subdomains): scripts in their frames are inventoried but out of PCI DSS scope.
HOSTPAIRS_PAYMENT_PROCESSORS = ["stripe.com", "stripe.network", "paypal.com", "paypalobjects.com", "braintreegateway.com",
                                "adyen.com", "checkout.com", "squareup.com", "authorize.net", "worldpay.com", "klarna.com"]
HOSTPAIRS_SCREENSHOTS = True  # each browser visit stores its viewport after the user simulation (JPEG, <= 200 KB)
HOSTPAIRS_BROWSER_VISITS = 100  # Chromium is restarted after this many visits (its memory grows across contexts); 0: never
HOSTPAIRS_BROWSER_MEMORY = 1536  # MB Chromium's processes may hold (PSS) before it is restarted between visits; 0: no bound
HOSTPAIRS_FINGERPRINTS = os.environ.get("HOSTPAIRS_FINGERPRINTS")  # a Wappalyzer data set; None = the bundled one
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
    # Shared workers' requests pass no DevTools interception of the page: pages get none.
    "--disable-blink-features=SharedWorker",
]

# Alerts (tamper detection on re-crawled pages)
HOSTPAIRS_BASELINE_VISITS = 10  # a host seen in any of the last N visits of a page is not new
HOSTPAIRS_ALERT_FILE = os.environ.get("HOSTPAIRS_ALERT_FILE")  # JSON lines, one alert a line ($HOSTPAIRS_ALERT_FILE)
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
DEPTH_STATS_VERBOSE = True  # DepthMiddleware tracks each visit's depth (DEPTH_LIMIT: set by the spider)
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
    "hostpairs.crawler.extensions.BrowserRecycling": 700,
}

# --- scrapy-playwright (launch options, navigation timeout: set from HOSTPAIRS_* by the spider) ---
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_MAX_CONTEXTS = 4
PLAYWRIGHT_PROCESS_REQUEST_HEADERS = None  # the browser's own headers, as a user's browser sends them
