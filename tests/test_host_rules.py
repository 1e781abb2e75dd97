"""`--host-rules` read by hostpairs as Chromium reads them.

The private-address guard trusts the hosts the operator mapped, static mode's resolver connects
where the rules say, and Chromium resolves by its own reading of the same rules; any
disagreement either sends a request somewhere the operator never chose or lets a host through the
guard unchecked. Each kind of rule is tried three ways: hostpairs' own reading (pure), a browser
crawl and a static crawl of the same URLs through the CLI — the servers that got the requests tell
where each went. What Chromium does was found with Debian's Chromium driven by Playwright, and is
checked again here on every run.
"""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright
from twisted.internet.address import IPv4Address, IPv6Address
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.crawler.host_rules import NOT_FOUND, HostRules, HostRulesError, match_pattern, url_host_and_port
from hostpairs.crawler.resolver import HostRulesResolver
from hostpairs.crawler.safety import AddressGuard
from hostpairs.crawler.settings import HOSTPAIRS_CHROMIUM, HOSTPAIRS_CHROMIUM_ARGS
from hostpairs.demoweb.server import PIXEL, VirtualWeb, html
from hostpairs.extractors.hosts import is_ip_address
from hostpairs.storage.models import Visit
from tests.conftest import AddressCollector, engine_for, run_cli, sqlite_url, visits_and_dependencies

# --- hostpairs' reading, rule by rule -------------------------------------------------------------


def target(rules: str, url: str) -> tuple[str, int] | None:
    host, port = url_host_and_port(url) or ("", 0)
    return HostRules.parse(rules).target(host, port)


def test_an_exclude_rule_wins_wherever_it_stands() -> None:
    """Chromium tries the MAP rules in order and, once one matches, lets any EXCLUDE rule
    (before or after it) send the host to real DNS."""
    for rules in ("MAP * 127.0.0.1:9, EXCLUDE internal.example", "EXCLUDE internal.example, MAP * 127.0.0.1:9"):
        assert target(rules, "http://internal.example/") is None
        assert target(rules, "https://INTERNAL.example/x") is None
        assert target(rules, "http://other.example/") == ("127.0.0.1", 9)
    rules = "MAP * 127.0.0.1:9, EXCLUDE *.internal.example"
    assert target(rules, "http://db.internal.example/") is None and target(rules, "http://internal.example/")


def test_an_exclude_pattern_matches_the_host_alone_never_its_port() -> None:
    assert target("MAP * 127.0.0.1:9, EXCLUDE localhost:8080", "http://localhost:8080/") == ("127.0.0.1", 9)
    assert target("MAP * 127.0.0.1:9, EXCLUDE ::1", "http://[::1]:8080/") is None
    assert target("MAP * 127.0.0.1:9, EXCLUDE [::1]", "http://[::1]:8080/") == ("127.0.0.1", 9)


def test_map_rules_are_tried_in_order() -> None:
    rules = "MAP a.example 127.0.0.1:1, MAP *.example 127.0.0.1:2, MAP * 127.0.0.1:3"
    assert [target(rules, f"http://{h}/") for h in ("a.example", "b.example", "b.test")] == [
        ("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3)]


@pytest.mark.parametrize(("pattern", "host", "matches"), [
    ("*", "anything.example", True),
    ("*.example", "a.b.example", True),
    ("*.example", "example", False),
    ("?.example", "a.example", True),
    ("a?.example", "a.example", True),  # `?` is at most one character
    ("a?.example", "ab.example", True),
    ("a?.example", "abc.example", False),
    ("*a?b.example", "axb.example", True),
    ("*a?b.example", "aaxb.example", False),  # Chromium does not backtrack into an earlier `*`
    ("[ab].example", "a.example", False),  # no character classes
    ("[ab].example", "[ab].example", True),
    ("[!a].example", "b.example", False),
    ("x\\*.example", "x*.example", True),  # `\` escapes a wildcard
    ("x\\*.example", "xy.example", False),
    ("", "", True),
    ("", "a", False),
])
def test_patterns_know_only_star_and_question_mark(pattern: str, host: str, matches: bool) -> None:
    assert match_pattern(host, pattern) is matches


def test_brackets_in_patterns_are_literal() -> None:
    assert target("MAP [ab].example 10.0.0.1", "http://a.example/") is None
    assert target("MAP [::1] 127.0.0.1:9", "http://[::1]/") is None  # the host is ::1, without brackets
    assert target("MAP [::1]:80 127.0.0.1:9", "http://[::1]/") == ("127.0.0.1", 9)  # host:port is [::1]:80


def test_patterns_may_carry_a_port() -> None:
    rules = "MAP *:443 127.0.0.1:8443"
    assert target(rules, "https://x.example/") == ("127.0.0.1", 8443)
    assert target(rules, "wss://x.example/socket") == ("127.0.0.1", 8443)
    assert target(rules, "http://x.example:443/") == ("127.0.0.1", 8443)
    assert target(rules, "http://x.example/") is None and target(rules, "https://x.example:8443/") is None
    assert HostRules.parse(rules).mapped("x.example", 443) and not HostRules.parse(rules).mapped("x.example", 80)
    # a pattern is tried on the host, then on host:port, so a trailing `*` takes any port
    assert target("MAP x.example* 127.0.0.1:9", "http://x.example:81/") == ("127.0.0.1", 9)
    assert target("MAP *81 127.0.0.1:9", "http://x.example:81/") == ("127.0.0.1", 9)


def test_hosts_are_matched_in_chromium_canonical_form() -> None:
    assert target("MAP X.Example 127.0.0.1:9", "http://x.EXAMPLE/") == ("127.0.0.1", 9)
    assert target("MAP xn--bcher-kva.example 127.0.0.1:9", "http://bücher.example/") == ("127.0.0.1", 9)
    assert target("MAP x.example 127.0.0.1:9", "http://x.example./") is None  # the trailing dot stays
    assert target("MAP localhost 127.0.0.1:9", "http://localhost./") is None
    for url in ("http://127.0.0.1./", "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/"):
        assert target("MAP 127.0.0.1 127.0.0.1:9", url) == ("127.0.0.1", 9), url
    assert target("MAP ::1 127.0.0.1:9", "http://[0:0::1]/") == ("127.0.0.1", 9)
    assert target("MAP ::ffff:102:304 127.0.0.1:9", "http://[::ffff:1.2.3.4]/") == ("127.0.0.1", 9)


def test_rules_apply_to_ip_literals() -> None:
    rules = HostRules.parse("MAP * 127.0.0.1:9")
    assert rules.mapped("93.184.215.14", 80) and rules.mapped("10.0.0.1", 80) and rules.mapped("::1", 80)
    assert target("MAP * ^NOTFOUND", "http://127.0.0.1:8080/") == (NOT_FOUND, 8080)


def test_targets_keep_the_port_unless_they_give_one() -> None:
    assert target("MAP x.example 10.0.0.1", "https://x.example/") == ("10.0.0.1", 443)
    assert target("MAP x.example 10.0.0.1", "http://x.example:8080/") == ("10.0.0.1", 8080)
    assert target("MAP x.example other.example:81", "http://x.example/") == ("other.example", 81)
    assert target("MAP x.example 10.0.0.1:0", "http://x.example/") == ("10.0.0.1", 0)


def test_ipv6_literals_as_targets() -> None:
    assert target("MAP x.example [::1]:8080", "http://x.example/") == ("::1", 8080)
    assert target("MAP x.example [::1]", "https://x.example/") == ("::1", 443)
    assert target("MAP x.example [2001:DB8:0::1]:99", "http://x.example/") == ("2001:db8::1", 99)


def test_notfound_in_both_spellings() -> None:
    """`^NOTFOUND` is today's spelling; Chromium 156 looks `~NOTFOUND` up as a host name, which
    fails too (ERR_NAME_NOT_RESOLVED); static mode fails both without a lookup."""
    for spelling in ("^NOTFOUND", "~NOTFOUND", "~notfound"):
        assert target(f"MAP x.example {spelling}", "http://x.example/") == (NOT_FOUND, 80)


def test_keywords_are_case_insensitive_and_whitespace_around_words_is_trimmed() -> None:
    rules = HostRules.parse(" map a.example 127.0.0.1:1 ,\n\tExClUdE b.example\t, MAP c.example\t 127.0.0.1:3,")
    assert rules.target("a.example", 80) == ("127.0.0.1", 1) and rules.target("c.example", 80) == ("127.0.0.1", 3)
    assert len(rules.rules) == 3
    assert not HostRules.parse("") and not HostRules.parse(None) and not HostRules.parse(" , ")


# Rules Chromium ignores (logging an error and resolving those hosts for real) or cannot carry out
# (ERR_NAME_NOT_RESOLVED): hostpairs refuses them, so it never trusts a mapping that does not exist.
IGNORED_BY_CHROMIUM = [
    "MAPP * 1.2.3.4",
    "MAP  a.example 127.0.0.1:1",  # words are separated by single spaces
    "MAP a.example  127.0.0.1:1",
    "MAP\ta.example 127.0.0.1:1",
    "MAP a.example 127.0.0.1:99999",
    "MAP a.example 127.0.0.1:",
    "MAP a.example user@127.0.0.1:1",
    "MAP a.example [zz]:1",
    "MAP a.example [::1",
    "MAP a.example",
    "MAP a.example 127.0.0.1:1 MAP b.example 127.0.0.1:2",  # a missing comma
    "EXCLUDE",
    "EXCLUDE a.example b.example",
]
NOT_RESOLVED_BY_CHROMIUM = ["MAP a.example bad/host", "MAP a.example ::1", "MAP a.example 127.0.0.1:1:1"]


@pytest.mark.parametrize("rule", IGNORED_BY_CHROMIUM + NOT_RESOLVED_BY_CHROMIUM)
def test_rules_chromium_would_not_carry_out_are_refused_in_one_line(rule: str) -> None:
    with pytest.raises(HostRulesError) as error:
        HostRules.parse(f"MAP ok.example 127.0.0.1:1, {rule}")
    message = str(error.value)
    assert message.startswith("invalid host rule") and "\n" not in message


# --- the guard and static mode's resolver ------------------------------------------------------


@pytest.fixture
def internal_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    """internal.example resolves to 10.0.0.5 (as an intranet name would), everything else to a
    public address; nothing leaves the machine."""
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple]:
        address = "10.0.0.5" if host == "internal.example" else "93.184.215.14"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def refusal(guard: AddressGuard, url: str) -> str | None:
    return asyncio.run(guard.refusal(url))


def test_the_guard_checks_a_host_excluded_from_the_mapping(internal_is_private: None) -> None:
    """The issue's case: with `MAP * …, EXCLUDE internal.example` Chromium resolves
    internal.example through real DNS, so the guard must check it like any unmapped host."""
    guard = AddressGuard(HostRules.parse("MAP * 127.0.0.1:9, EXCLUDE internal.example"))
    reason = refusal(guard, "https://internal.example/admin")
    assert reason == ("refused: internal.example is a non-public address (10.0.0.5); "
                      "map it with --host-rules or pass --allow-private")
    assert refusal(guard, "https://mapped.example/") is None
    assert guard.connected("https://internal.example/x", "10.0.0.5") is not None


def test_the_guard_trusts_a_mapping_only_for_the_port_it_names() -> None:
    guard = AddressGuard(HostRules.parse("MAP *:443 127.0.0.1:8443"))
    assert refusal(guard, "https://localhost/") is None  # mapped: Chromium connects to 127.0.0.1:8443
    assert refusal(guard, "http://localhost/") is not None  # not mapped: Chromium's own loopback
    assert refusal(guard, "http://127.0.0.1:443/") is None and refusal(guard, "http://127.0.0.1:80/") is not None
    assert guard.connected("https://x.example/", "127.0.0.1") is None
    assert guard.connected("http://x.example/", "127.0.0.1") is not None


def test_the_guard_takes_ip_literals_as_chromium_does() -> None:
    """Chromium maps IP literals too: a mapped literal goes where the operator chose (no rebinding
    there), an unmapped one is checked as it stands."""
    guard = AddressGuard(HostRules.parse("MAP * 127.0.0.1:9, EXCLUDE 127.0.0.1"))
    assert refusal(guard, "http://10.0.0.1/") is None
    assert guard.connected("http://93.184.215.14/", "127.0.0.1") is None
    assert refusal(guard, "http://127.0.0.1:6379/") is not None
    assert refusal(guard, "http://2130706433:6379/") is not None  # 127.0.0.1 as Chromium reads it


def test_the_guard_checks_a_trailing_dot_name_the_rules_do_not_map(internal_is_private: None) -> None:
    guard = AddressGuard(HostRules.parse("MAP internal.example 127.0.0.1:9"))
    assert refusal(guard, "http://internal.example/") is None
    assert refusal(guard, "http://internal.example./") is not None  # Chromium resolves it for real


class _Names:
    """The system's resolver as static mode sees it: IP literals stand for themselves, names get
    fixed answers (none when unknown)."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers

    def resolveHostName(self, receiver, name, port=0, *args):  # noqa: ANN001, ANN201, N802 (Twisted's names)
        receiver.resolutionBegan(None)
        for address in [name] if is_ip_address(name) else self.answers.get(name, []):
            receiver.addressResolved((IPv6Address if ":" in address else IPv4Address)("TCP", address, port))
        receiver.resolutionComplete()
        return receiver



def resolved(name: str, port: int, rules: str, **answers: list[str]) -> list[str]:
    """Where static mode connects for name:port; `answers`: what the system's resolver says
    (keyword: the name with `_` for `.`)."""
    resolver = HostRulesResolver(SimpleNamespace(nameResolver=_Names(
        {key.replace("_", "."): value for key, value in answers.items()})), cache_size=0)
    resolver.host_rules = HostRules.parse(rules)
    receiver = AddressCollector()
    resolver.resolveHostName(receiver, name, port)
    return receiver.addresses


def test_static_mode_resolves_an_excluded_host_for_real_and_drops_its_private_addresses() -> None:
    rules = "MAP * 127.0.0.1:9, EXCLUDE internal.example"
    assert resolved("internal.example", 443, rules, internal_example=["10.0.0.5"]) == []
    assert resolved("internal.example", 443, rules, internal_example=["93.184.215.14"]) == ["93.184.215.14:443"]
    assert resolved("mapped.example", 443, rules, mapped_example=["10.0.0.5"]) == ["127.0.0.1:9"]


def test_static_mode_maps_by_port_and_maps_ip_literals() -> None:
    rules = "MAP *:443 127.0.0.1:8443, MAP 10.0.0.1 127.0.0.1:8080"
    assert resolved("x.example", 443, rules, x_example=["93.184.215.14"]) == ["127.0.0.1:8443"]
    assert resolved("x.example", 80, rules, x_example=["93.184.215.14"]) == ["93.184.215.14:80"]
    assert resolved("10.0.0.1", 80, rules) == ["127.0.0.1:8080"]
    assert resolved("10.0.0.2", 80, rules) == []  # not mapped, and private
    assert resolved("127.0.0.1", 80, "MAP * ^NOTFOUND") == []
    assert resolved("x.example", 80, "MAP x.example [::1]:8080") == ["::1:8080"]


# --- Chromium and static mode against hostpairs' reading, on the virtual web ----------------------


class _IPv6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


@dataclass
class Servers:
    """A and B: virtual webs on 127.0.0.1 (HTTP and HTTPS on one port); C: HTTP on [::1]."""

    a: VirtualWeb
    b: VirtualWeb
    c: http.server.ThreadingHTTPServer
    c_paths: list[str]

    @property
    def ports(self) -> dict[str, int]:
        return {"A": self.a.port, "B": self.b.port, "C": self.c.server_address[1]}

    def landed(self, path: str) -> set[str]:
        """Which servers were asked for `path`."""
        hits = {"A": [p for _, p in self.a.hits], "B": [p for _, p in self.b.hits], "C": self.c_paths}
        return {name for name, paths in hits.items() if path in paths}


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            paths.append(self.path)
            body = b"<p>served on [::1]</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    try:
        c = _IPv6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback")
    threading.Thread(target=c.serve_forever, daemon=True).start()
    with VirtualWeb({}) as a, VirtualWeb({}) as b:
        yield Servers(a, b, c, paths)
    c.shutdown()
    c.server_close()


@dataclass(frozen=True)
class Case:
    """Rules ({A}, {B}, {C}: the servers' ports) and, for each URL, the server Chromium was seen
    to send it to (None: ERR_NAME_NOT_RESOLVED)."""

    name: str
    rules: str
    urls: tuple[tuple[str, str | None], ...]


CASES = [
    Case("exclude-after-map", "MAP * 127.0.0.1:{B}, EXCLUDE localhost", (
        ("http://localhost:{A}/", "A"),  # Chromium's own loopback, at the URL's port
        ("http://localhost.:{A}/", "B"),  # another name: not excluded
        ("http://other.example/", "B"),
    )),
    Case("exclude-before-map", "EXCLUDE localhost, MAP * 127.0.0.1:{B}", (("http://localhost:{A}/", "A"),)),
    Case("exclude-host-only", "MAP * 127.0.0.1:{B}, EXCLUDE localhost:{A}", (("http://localhost:{A}/", "B"),)),
    Case("wildcards", "MAP [ab].example 127.0.0.1:{A}, MAP a?.example 127.0.0.1:{A}, MAP *x?b.example 127.0.0.1:{A}, "
                      "MAP X.Example 127.0.0.1:{A}, MAP xn--bcher-kva.example 127.0.0.1:{A}, MAP * 127.0.0.1:{B}", (
        ("http://b.example/", "B"),  # brackets are no character class
        ("http://a.example/", "A"), ("http://ab.example/", "A"), ("http://abc.example/", "B"),
        ("http://xyb.example/", "A"), ("http://xxyb.example/", "B"),  # no backtracking
        ("http://X.EXAMPLE/", "A"), ("http://x.example./", "B"), ("http://bücher.example/", "A"),
    )),
    Case("ports", "MAP *:443 127.0.0.1:{A}, MAP x.example:8001 127.0.0.1:{A}, MAP * 127.0.0.1:{B}", (
        ("https://x.example/", "A"), ("http://x.example/", "B"), ("http://x.example:8001/", "A"),
        ("http://y.example:8001/", "B"), ("https://x.example:8443/", "B"),
    )),
    Case("ipv6-target", "MAP v6.example [::1]:{C}, MAP * 127.0.0.1:{B}", (
        ("http://v6.example/", "C"), ("http://v4.example/", "B"),
    )),
    Case("ip-literals", "MAP 127.0.0.1 127.0.0.1:{A}, MAP ::1 127.0.0.1:{A}, MAP [::2]:8010 127.0.0.1:{A}, "
                        "MAP [::3] 127.0.0.1:{A}, MAP * 127.0.0.1:{B}", (
        ("http://127.0.0.1:8009/", "A"), ("http://2130706433:8009/", "A"), ("http://127.0.0.1.:8009/", "A"),
        ("http://[0:0::1]:8009/", "A"), ("http://[::2]:8010/", "A"), ("http://[::3]:8009/", "B"),
        ("http://93.184.215.14/", "B"), ("http://10.0.0.1:8009/", "B"),
    )),
    Case("not-found", "MAP 127.0.0.1 ^NOTFOUND, MAP x.example ^NOTFOUND, MAP y.example ~NOTFOUND, MAP * 127.0.0.1:{B}", (
        ("http://127.0.0.1:{A}/", None), ("http://x.example/", None), ("http://y.example/", None),
        ("http://z.example/", "B"),
    )),
]


def case_urls(case: Case, ports: dict[str, int], run: str) -> list[tuple[str, str, str | None]]:
    """(URL with a path of its own in this run, that path, expected server) for each URL of the case."""
    rows = []
    for number, (url, server) in enumerate(case.urls):
        path = f"/{run}/{case.name}/{number}"
        rows.append((url.format(**ports).rstrip("/") + path, path, server))
    return rows


def predicted(rules: HostRules, url: str, ports: dict[str, int]) -> str | None:
    """The server hostpairs' reading of the rules sends `url` to."""
    host, port = url_host_and_port(url) or ("", 0)
    goes = rules.target(host, port)
    if goes is None:  # resolved for real: in these cases, loopback at the URL's port
        goes = ("127.0.0.1", port)
    if goes[0] == NOT_FOUND:
        return None
    by_address = {("127.0.0.1", ports["A"]): "A", ("127.0.0.1", ports["B"]): "B", ("::1", ports["C"]): "C"}
    return by_address.get(goes, f"{goes}")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostpairs_reads_each_rule_as_chromium_did(case: Case) -> None:
    ports = {"A": 1001, "B": 1002, "C": 1003}
    rules = HostRules.parse(case.rules.format(**ports))
    assert [predicted(rules, url, ports) for url, _, _ in case_urls(case, ports, "pure")] == [s for _, s in case.urls]


@pytest.mark.parametrize("mode", ["browser", "static"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_both_modes_connect_where_hostpairs_reads_the_rules(case: Case, mode: str, servers: Servers,
                                                            tmp_path: Path) -> None:
    """The rules given to the CLI; each URL must land on the server Chromium was seen to send it
    to, which is also where hostpairs' own reading says it goes. Private addresses are allowed
    here, so that the guard does not stand in the way: this is about where requests go."""
    ports = servers.ports
    rules = case.rules.format(**ports)
    rows = case_urls(case, ports, mode)
    db = sqlite_url(tmp_path)
    result = run_cli("crawl", *[url for url, _, _ in rows], "--mode", mode, "--dwell", "0", "--allow-private",
                     "--host-rules", rules, "--db", db)
    assert result.returncode == 0, result.stderr
    landed = {url: servers.landed(path) for url, path, _ in rows}
    assert landed == {url: {server} if server else set() for url, _, server in rows}
    reading = HostRules.parse(rules)
    assert {url: predicted(reading, url, ports) for url, _, _ in rows} == {url: server for url, _, server in rows}
    errors = _visit_errors(db)
    for url, _, server in rows:
        if server is None:
            assert errors[url], url  # the lookup failed, and the visit says so


def _visit_errors(db: str) -> dict[str, str | None]:
    engine = engine_for(db)
    with Session(engine) as session:
        errors = {v.requested_url: v.error for v in session.scalars(select(Visit))}
    engine.dispose()
    return errors


def test_chromium_ignores_the_rules_hostpairs_refuses(servers: Servers) -> None:
    """Why hostpairs refuses those rules: Chromium would skip them (the host falls to the next rule,
    here `MAP * B`) or fail the lookup — never carry out the mapping they seem to ask for."""
    ports = servers.ports
    mapping = [(n, rule) for n, rule in enumerate(IGNORED_BY_CHROMIUM) if "a.example" in rule and "MAP" in rule]
    ignored = [rule.replace("a.example", f"ignored{n}.example").replace("127.0.0.1:1", f"127.0.0.1:{ports['A']}")
               for n, rule in mapping]
    not_resolved = [rule.replace("a.example", f"failed{n}.example") for n, rule in enumerate(NOT_RESOLVED_BY_CHROMIUM)]
    rules = ", ".join([*ignored, *not_resolved, f"MAP * 127.0.0.1:{ports['B']}"])
    urls: dict[str, str | None] = {f"http://ignored{n}.example/ignored/{n}": "B" for n, _ in mapping}
    urls |= {f"http://failed{n}.example/failed/{n}": None for n in range(len(NOT_RESOLVED_BY_CHROMIUM))}

    async def visit() -> dict[str, str]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=HOSTPAIRS_CHROMIUM,
                                                       args=[*HOSTPAIRS_CHROMIUM_ARGS, f"--host-resolver-rules={rules}"])
            page = await (await browser.new_context()).new_page()
            errors = {}
            for url in urls:
                try:
                    await page.goto(url, timeout=15000)
                    errors[url] = ""
                except Exception as exc:  # noqa: BLE001 (the browser's error is the observation)
                    errors[url] = str(exc)
            await browser.close()
            return errors

    errors = asyncio.run(visit())
    for url, server in urls.items():
        path = urlsplit(url).path
        if server:
            assert servers.landed(path) == {server} and errors[url] == "", url
        else:
            assert servers.landed(path) == set() and "ERR_NAME_NOT_RESOLVED" in errors[url], url
    for rule in ignored + not_resolved:
        with pytest.raises(HostRulesError):
            HostRules.parse(rule)


# --- the guard in real crawls ------------------------------------------------------------------



@pytest.mark.parametrize("mode", ["browser", "static"])
def test_a_host_excluded_from_the_mapping_is_guarded(mode: str, tmp_path: Path) -> None:
    """`MAP * B, EXCLUDE localhost`: Chromium resolves localhost itself, to loopback, so the host is
    no longer the operator's mapping and the guard must refuse it — the target and a page's image.
    (Before the fix the guard took it for mapped: the browser loaded the excluded host's page.)"""
    with VirtualWeb({}) as excluded:
        page = html(f"<h1>mapped</h1><img src='http://localhost:{excluded.port}/status.gif'>")
        with VirtualWeb({"page-xx.example": {"/": page}}) as mapped:
            admin = f"http://localhost:{excluded.port}/admin"
            rules = f"MAP * 127.0.0.1:{mapped.port}, EXCLUDE localhost"
            db = sqlite_url(tmp_path)
            result = run_cli("crawl", admin, "http://page-xx.example/", "--mode", mode, "--dwell", "0.5",
                             "--host-rules", rules, "--db", db)
            excluded_served, mapped_served = list(excluded.hits), list(mapped.hits)
    assert result.returncode == 0, result.stderr
    reason = "refused: localhost is a non-public address (127.0.0.1); map it with --host-rules or pass --allow-private"
    assert f"failed: {admin} — {reason}" in result.stdout
    assert excluded_served == []  # nothing reached what the excluded name resolves to
    assert ("localhost", "/admin") not in mapped_served and ("page-xx.example", "/") in mapped_served
    visits, dependencies = visits_and_dependencies(db)
    assert visits[admin].error == reason and visits["http://page-xx.example/"].error is None
    if mode == "browser":
        [image] = [d for d in dependencies if d.url.endswith("/status.gif")]
        assert image.error == reason


def test_a_mapped_ip_literal_is_not_taken_for_dns_rebinding(tmp_path: Path) -> None:
    """Chromium maps IP literals too: with `MAP * 127.0.0.1:PORT` a page's http://93.184.215.14/
    and http://10.0.0.1/ go to the virtual web, where the operator sent them. (Before the fix the
    guard refused the private literal outright, and took the public one that connected to
    127.0.0.1 for DNS rebinding.)"""
    page = html("<img src='http://93.184.215.14/public.gif'><img src='http://10.0.0.1/private.gif'>")
    sites = {"literals-xx.example": {"/": page}, "93.184.215.14": {"/public.gif": PIXEL},
             "10.0.0.1": {"/private.gif": PIXEL}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = run_cli("crawl", "http://literals-xx.example/", "--dwell", "0.5", "--host-rules", web.host_rules,
                         "--db", db)
        served = list(web.hits)
    assert result.returncode == 0, result.stderr
    assert {("93.184.215.14", "/public.gif"), ("10.0.0.1", "/private.gif")} <= set(served)
    _, dependencies = visits_and_dependencies(db)
    images = {d.url: d for d in dependencies if d.url.endswith(".gif")}
    assert set(images) == {"http://93.184.215.14/public.gif", "http://10.0.0.1/private.gif"}
    for image in images.values():
        assert image.error is None and image.status == 200 and image.remote_ip == "127.0.0.1", image.url
