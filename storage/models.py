"""SQLAlchemy 2.0 models. Times are naive UTC datetimes."""

from __future__ import annotations

from datetime import datetime
from collections.abc import Callable
from typing import Annotated, Any

from sqlalchemy import (
    LargeBinary,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

URL = Text
HOST = String(253)
REVERSED_HOST = String(254).with_variant(String(254, collation="C"), "postgresql")
"""A host's labels in reverse with a final dot (`ch.misapor.sap.`): "the host and all its
subdomains" is then one prefix, a range of a plain B-tree index on either database (PostgreSQL's
column collates bytewise, "C", so the range is exactly the prefix). A registrable-domain column
would answer a domain's whole tree, but not a subdomain's without scanning the domain's rows."""


def reversed_host(host: str) -> str:
    """`sap.misapor.ch` as `ch.misapor.sap.` (see REVERSED_HOST)."""
    return ".".join(reversed(host.split("."))) + "."


def _reversed_from(column: str) -> Callable[[Any], str]:
    """An insert default: the reversed form of `column` in the row being inserted."""
    return lambda context: reversed_host(context.get_current_parameters()[column])
IntPK = Annotated[int, mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)]
"""A 64-bit primary key (SQLite's INTEGER PRIMARY KEY is already 64-bit and auto-increments)."""


class Base(DeclarativeBase):
    pass


class SeenAcrossVisits:
    """Aggregated over visits: first and last time seen, and by how many visits. Never pruned."""

    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    visit_count: Mapped[int] = mapped_column(Integer, default=1)
    """Crawled visits that saw it: 0 for a record known only from an import."""
    imported_from: Mapped[str | None] = mapped_column(String(255))
    """The source an import named for it (`hostpairs import --source`); None if only crawled."""


class Visit(Base):
    """One visit of one URL, in browser or static mode; failed visits are kept with their error."""

    __tablename__ = "visits"

    id: Mapped[IntPK]
    requested_url: Mapped[str] = mapped_column(URL, index=True)
    final_url: Mapped[str] = mapped_column(URL)
    host: Mapped[str | None] = mapped_column(HOST, index=True)
    mode: Mapped[str] = mapped_column(String(16))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    load_finished: Mapped[bool | None] = mapped_column(Boolean)
    """Whether the page's load event came (None: static mode, or a page that never loaded)."""
    limits_hit: Mapped[str | None] = mapped_column(Text)
    """The per-visit limits the visit ran into, comma separated (see PageCapture.limits_hit)."""
    seed_group: Mapped[str | None] = mapped_column(String(128))
    """The seed group whose crawl made the visit (None: targets given directly)."""
    job: Mapped[str | None] = mapped_column(String(32), index=True)
    """The id of the crawl job (`--job DIR`) that made the visit: a resumed job skips its stored visits."""
    pruned_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When `hostpairs prune` removed the visit's evidence (frames, dependencies, forms, pair evidence, ...)."""
    security_headers: Mapped[str | None] = mapped_column(Text)
    """JSON: the page's security-impacting response headers (extractors/inventory.py SECURITY_HEADERS)."""

    frames: Mapped[list[Frame]] = relationship(back_populates="visit", cascade="all, delete-orphan")
    dependencies: Mapped[list[Dependency]] = relationship(back_populates="visit", cascade="all, delete-orphan")
    forms: Mapped[list[Form]] = relationship(back_populates="visit", cascade="all, delete-orphan")


class Frame(Base):
    """A frame of a visited page: the frame tree, who created each frame, whether it was hidden."""

    __tablename__ = "frames"

    id: Mapped[IntPK]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    frame_id: Mapped[str] = mapped_column(String(64))
    parent_frame_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(URL)
    host: Mapped[str | None] = mapped_column(HOST)
    name: Mapped[str | None] = mapped_column(Text)
    created_by_script: Mapped[bool] = mapped_column(Boolean, default=False)
    creator_script_url: Mapped[str | None] = mapped_column(URL)
    hidden: Mapped[bool | None] = mapped_column(Boolean)
    hidden_reasons: Mapped[str | None] = mapped_column(Text)
    detached: Mapped[bool] = mapped_column(Boolean, default=False)

    visit: Mapped[Visit] = relationship(back_populates="frames")


class Dependency(Base):
    """One request a page made (one hop of a redirect chain), with its cause and parent host."""

    __tablename__ = "dependencies"

    id: Mapped[IntPK]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(URL)
    host: Mapped[str | None] = mapped_column(HOST, index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str | None] = mapped_column(String(32))
    parent_host: Mapped[str | None] = mapped_column(HOST)
    frame_id: Mapped[str | None] = mapped_column(String(64))
    frame_url: Mapped[str | None] = mapped_column(URL)
    is_main_frame: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    initiator_type: Mapped[str] = mapped_column(String(32))
    initiator_url: Mapped[str | None] = mapped_column(URL)
    redirected_from: Mapped[str | None] = mapped_column(URL)
    status: Mapped[int | None] = mapped_column(Integer)
    remote_ip: Mapped[str | None] = mapped_column(String(64))
    remote_port: Mapped[int | None] = mapped_column(Integer)
    mime_type: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    certificate_error: Mapped[str | None] = mapped_column(Text)
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    declared_type: Mapped[str | None] = mapped_column(Text)
    """Static mode: the non-JavaScript type of the <script> that references the URL."""

    visit: Mapped[Visit] = relationship(back_populates="dependencies")


class Form(Base):
    """A form of a visited page: where it submits and whether it asks for passwords or cards."""

    __tablename__ = "forms"

    id: Mapped[IntPK]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    frame_url: Mapped[str | None] = mapped_column(URL)
    action_url: Mapped[str] = mapped_column(URL)
    action_host: Mapped[str | None] = mapped_column(HOST)
    method: Mapped[str] = mapped_column(String(16))
    sensitive_fields: Mapped[str | None] = mapped_column(Text)

    visit: Mapped[Visit] = relationship(back_populates="forms")


class HostPair(SeenAcrossVisits, Base):
    """Parent host → child host with a cause, aggregated over all visits."""

    __tablename__ = "host_pairs"
    __table_args__ = (
        UniqueConstraint("parent", "child", "cause", name="uq_host_pairs_parent_child_cause"),
        # A look-up's range, in its page order, with the time window's columns: a page is read off
        # the index in order, and a time window (or a count) never visits the table.
        Index("ix_host_pairs_parent_reversed", "parent_reversed", "child", "cause", "last_seen", "first_seen"),
        Index("ix_host_pairs_child_reversed", "child_reversed", "parent", "cause", "last_seen", "first_seen"),
    )

    id: Mapped[IntPK]
    parent: Mapped[str] = mapped_column(HOST)
    child: Mapped[str] = mapped_column(HOST)
    cause: Mapped[str] = mapped_column(String(32))
    parent_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("parent"))
    child_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("child"))


class HostPairCount(Base):
    """How many host pairs a host is the parent of (direction children) or the child of (direction
    parents), counted as each pair is first stored: the exact total of a look-up of a popular host
    (every site → www.googletagmanager.com) is a sum over the host's range of this small table,
    not a count of a million index entries. Never pruned, as the pairs are not."""

    __tablename__ = "host_pair_counts"

    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    host_reversed: Mapped[str] = mapped_column(REVERSED_HOST, primary_key=True)
    pairs: Mapped[int] = mapped_column(BigInteger)


class IpResolutionSummary(Base):
    """Each IP address's resolutions summed up: how many hostnames resolved to it and when any of
    them was first and last seen, kept as resolutions are stored (by a crawl or an import). The
    look-up of a shared IP (a CDN's address, ~80,000 hosts at 10 M pairs) reads its total and
    times from this one row instead of every index entry of the IP. Never pruned, as resolutions
    are not."""

    __tablename__ = "ip_resolution_summaries"

    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostnames: Mapped[int] = mapped_column(BigInteger)
    first_seen: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)


class Screenshot(Base):
    """The viewport of a browser visit after its user simulation (JPEG, at most ~200 KB), pruned
    with the rest of the visit's evidence."""

    __tablename__ = "screenshots"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    image: Mapped[bytes] = mapped_column(LargeBinary)


class KeptCapture(Base):
    """A visit's capture as observed (extractors/capture_codec.py), to re-derive its records with
    later rules (`hostpairs reprocess`), with what the visit added to the aggregates; pruned with
    the rest of the visit's evidence."""

    __tablename__ = "captures"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    complete: Mapped[bool] = mapped_column(Boolean)
    """False when the size cap left part of it out: nothing is re-derived from it."""
    contributions: Mapped[str] = mapped_column(Text)
    """JSON: the host pairs, trackers, cookies and components this visit counted (storage/captures.py)."""
    derived_at: Mapped[datetime] = mapped_column(DateTime)
    """When its records were last derived (stored or reprocessed)."""


class InventoryScript(SeenAcrossVisits, Base):
    """A script that ran on an inventoried page (PCI DSS 6.4.3): what the latest visit said of it."""

    __tablename__ = "inventory_scripts"
    __table_args__ = (UniqueConstraint("page_url", "script_key", name="uq_inventory_scripts_page_key"),)

    id: Mapped[IntPK]
    page_url: Mapped[str] = mapped_column(URL)
    """The page as requested."""
    script_key: Mapped[str] = mapped_column(URL)
    """The script's URL, or "inline:" and the SHA-256 of its text."""
    url: Mapped[str | None] = mapped_column(URL)
    host: Mapped[str | None] = mapped_column(HOST)
    first_party: Mapped[bool] = mapped_column(Boolean)
    loaded_by: Mapped[str] = mapped_column(Text)
    """JSON list: the scripts that inserted it, nearest first; empty for the page's parser."""
    integrity: Mapped[str | None] = mapped_column(Text)
    integrity_matched: Mapped[bool | None] = mapped_column(Boolean)
    frame_url: Mapped[str | None] = mapped_column(URL)
    in_scope: Mapped[bool] = mapped_column(Boolean)
    """False inside a payment processor's frame."""
    sha256: Mapped[str | None] = mapped_column(String(64))
    """The latest version's."""


class ScriptVersion(SeenAcrossVisits, Base):
    """A body an inventoried script has had, kept (compressed) to diff the next one with."""

    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("inventory_script_id", "sha256", name="uq_script_versions_script_sha256"),)

    id: Mapped[IntPK]
    inventory_script_id: Mapped[int] = mapped_column(ForeignKey("inventory_scripts.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    fuzzy_hash: Mapped[str | None] = mapped_column(String(128))
    """TLSH digest (None for bodies too short for it)."""
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    """zlib-compressed."""


class VisitScript(Base):
    """Which version of which inventoried script a visit saw (evidence, pruned with the visit's)."""

    __tablename__ = "visit_scripts"

    id: Mapped[IntPK]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    inventory_script_id: Mapped[int] = mapped_column(ForeignKey("inventory_scripts.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64))


class ScriptAuthorization(Base):
    """An operator's written authorisation of scripts (`hostpairs scripts authorize`)."""

    __tablename__ = "script_authorizations"

    id: Mapped[IntPK]
    pattern: Mapped[str] = mapped_column(URL)
    kind: Mapped[str] = mapped_column(String(8))
    """url, host or hash (extractors/inventory.py Authorization)."""
    pinned_sha256: Mapped[str | None] = mapped_column(String(64))
    justification: Mapped[str] = mapped_column(Text)
    authorized_by: Mapped[str] = mapped_column(String(255))
    authorized_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PairEvidence(Base):
    """What one visit saw of a host pair: the page, the full child URL, the frame, the initiator."""

    __tablename__ = "pair_evidence"

    id: Mapped[IntPK]
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    host_pair_id: Mapped[int] = mapped_column(ForeignKey("host_pairs.id", ondelete="CASCADE"), index=True)
    page_url: Mapped[str] = mapped_column(URL)
    child_url: Mapped[str] = mapped_column(URL)
    frame_id: Mapped[str | None] = mapped_column(String(64))
    frame_url: Mapped[str | None] = mapped_column(URL)
    initiator_url: Mapped[str | None] = mapped_column(URL)
    hint: Mapped[str | None] = mapped_column(String(16))
    """The resource hint the reference is (preconnect, dns-prefetch, prefetch, preload, modulepreload)."""
    declared_type: Mapped[str | None] = mapped_column(Text)
    """The non-JavaScript type of the <script> that referenced child_url."""


class Resolution(SeenAcrossVisits, Base):
    """A hostname and the IP address the crawler actually connected to for it."""

    __tablename__ = "resolutions"
    __table_args__ = (
        UniqueConstraint("hostname", "ip", name="uq_resolutions_hostname_ip"),
        Index("ix_resolutions_hostname_reversed", "hostname_reversed", "ip", "last_seen", "first_seen"),
        # all the columns a page of an IP's resolutions returns: a popular IP's first page is read
        # from the index alone (2,000 table lookups cost 20-40 ms at 10 M pairs)
        Index("ix_resolutions_ip", "ip", "hostname", "last_seen", "first_seen", "visit_count", "imported_from"),
    )

    id: Mapped[IntPK]
    hostname: Mapped[str] = mapped_column(HOST)
    ip: Mapped[str] = mapped_column(String(64))
    hostname_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("hostname"))


class Tracker(SeenAcrossVisits, Base):
    """A tracking ID (analytics, tag manager, pixel, ...) seen on a host."""

    __tablename__ = "trackers"
    __table_args__ = (
        UniqueConstraint("hostname", "attribute_type", "attribute_value", name="uq_trackers_host_type_value"),
        Index("ix_trackers_hostname_reversed", "hostname_reversed", "attribute_type", "attribute_value"),
    )

    id: Mapped[IntPK]
    hostname: Mapped[str] = mapped_column(HOST)
    attribute_type: Mapped[str] = mapped_column(String(64))
    attribute_value: Mapped[str] = mapped_column(String(255))
    hostname_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("hostname"))


Index("ix_trackers_value", func.lower(Tracker.attribute_value), Tracker.hostname, Tracker.attribute_type,
      Tracker.first_seen, Tracker.last_seen, Tracker.attribute_value)
"""Tracker search matches values in any case: an index of the lowered value, covering the answer
(the value itself too: PostgreSQL reads an expression index alone only if it holds the column)."""


class Cookie(SeenAcrossVisits, Base):
    """A cookie present in the browser after a visit of a host."""

    __tablename__ = "cookies"
    __table_args__ = (
        UniqueConstraint("hostname", "cookie_name", "cookie_domain", name="uq_cookies_host_name_domain"),
        Index("ix_cookies_name", "cookie_name", "hostname", "cookie_domain"),
        Index("ix_cookies_hostname_reversed", "hostname_reversed", "cookie_domain", "cookie_name"),
        Index("ix_cookies_cookie_domain_reversed", "cookie_domain_reversed", "hostname", "cookie_name"),
    )

    id: Mapped[IntPK]
    hostname: Mapped[str] = mapped_column(HOST)
    cookie_name: Mapped[str] = mapped_column(String(255))
    cookie_domain: Mapped[str] = mapped_column(HOST)
    third_party: Mapped[bool] = mapped_column(Boolean)
    hostname_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("hostname"))
    cookie_domain_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("cookie_domain"))


class Component(SeenAcrossVisits, Base):
    """A web technology seen on a host; version '' when unknown."""

    __tablename__ = "components"
    __table_args__ = (
        UniqueConstraint("hostname", "category", "label", "version", name="uq_components_host_category_label_version"),
        Index("ix_components_hostname_reversed", "hostname_reversed", "category", "label", "version"),
    )

    id: Mapped[IntPK]
    hostname: Mapped[str] = mapped_column(HOST)
    category: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64), default="")
    hostname_reversed: Mapped[str] = mapped_column(REVERSED_HOST, default=_reversed_from("hostname"))


class Alert(Base):
    """A change of a watched page worth a look: a new iframe or script host, a changed script."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key", "page_url", "child_host", "kind"),)

    id: Mapped[IntPK]
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    page_url: Mapped[str] = mapped_column(URL)
    kind: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str | None] = mapped_column(String(32))
    child_host: Mapped[str] = mapped_column(HOST)
    child_url: Mapped[str] = mapped_column(URL)
    severity: Mapped[str] = mapped_column(String(16))
    signals: Mapped[str] = mapped_column(Text)  # JSON list
    evidence: Mapped[str] = mapped_column(Text)  # JSON object
    seed_group: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))


class AlertDelivery(Base):
    """The outbox: one row per alert and destination until it is delivered."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "destination", name="uq_alert_deliveries_alert_destination"),)

    id: Mapped[IntPK]
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(Text)  # "file:PATH" or "webhook:URL"
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class CrawlRun(Base):
    """One scheduled crawl of a seed group: due time, start, end."""

    __tablename__ = "crawl_runs"

    id: Mapped[IntPK]
    seed_group: Mapped[str] = mapped_column(String(128), index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The slot this run was scheduled for (without jitter); None for a run nobody scheduled."""
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    host: Mapped[str] = mapped_column(String(255))
    """The machine the run's process runs on: its pid means something there only."""
    pid: Mapped[int] = mapped_column(Integer)
    alive_at: Mapped[datetime] = mapped_column(DateTime)
    """The run's last sign of life, renewed every HOSTPAIRS_RUN_HEARTBEAT seconds while it crawls."""
    pages: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)


class SeedGroupState(Base):
    """Schedule state of a seed group, kept so a restarted watcher neither skips nor repeats a crawl."""

    __tablename__ = "seed_group_state"

    seed_group: Mapped[str] = mapped_column(String(128), primary_key=True)
    next_slot_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The next scheduled slot, without jitter (runs step from slots, so jitter never drifts)."""
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    """The next slot plus jitter: when the group is due."""
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class WatchHeartbeat(Base):
    """The watcher's last sign of life."""

    __tablename__ = "watch_heartbeat"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    beat_at: Mapped[datetime] = mapped_column(DateTime)
    seeds_file: Mapped[str] = mapped_column(Text)


class ApiUser(Base):
    """Someone allowed to use the HTTP API: an e-mail address and the SHA-256 of its key. A key is
    32 random bytes (`secrets.token_urlsafe(32)`), not a password: no list of likely keys exists to
    try against a stolen hash, so a fast hash is right, and a slow password hash (bcrypt, scrypt)
    would only slow every request down. A revoked user's row stays; adding it again gives a new key."""

    __tablename__ = "api_users"
    __table_args__ = (UniqueConstraint("email", name="uq_api_users_email"),)

    id: Mapped[IntPK]
    email: Mapped[str] = mapped_column(String(254))
    """Lower-cased; the user name of HTTP Basic authentication."""
    key_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the key: the key itself is shown once and never stored."""
    created_at: Mapped[datetime] = mapped_column(DateTime)
    """When the user was first added."""
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    """When its key was revoked; None while the key works."""
