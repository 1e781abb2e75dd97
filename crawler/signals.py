"""hostpairs' own Scrapy signals: how the spider, the pipeline and the extensions tell each other
what happened (connect with `crawler.signals.connect(handler, signal=...)`)."""

seed_groups_known = object()
"""The spider crawls visits of these seed groups (their policies: tags, allowed hosts). Arguments:
groups (dict name → SeedGroup). Sent before the groups' first visit is requested."""

seed_run_started = object()
"""The spider starts crawling seed groups. Arguments: groups (dict name → SeedGroup), due_at
(the schedule slot of this run, naive UTC, or None). Sent (awaited) before the first request."""

visit_stored = object()
"""A visit and its alerts are in the database. Arguments: capture (PageCapture), stored (StoredVisit)."""

visit_not_stored = object()
"""The database refused a visit (disk full, outage); the crawl goes on. Arguments: capture, reason."""

page_left_out = object()
"""A link the spider did not follow because its page budget (HOSTPAIRS_MAX_PAGES, a seed group's
max_pages) was spent; sent once per URL. Arguments: url, seed_group (None: the targets)."""
