"""The private-address guard: what it refuses before a request, and after the browser connected."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from twisted.internet.address import IPv4Address

from hostpairs.crawler.host_rules import HostRules
from hostpairs.crawler.resolver import HostRulesResolver
from hostpairs.crawler.safety import AddressGuard, is_browser_loopback_name
from tests.conftest import AddressCollector

RULES = HostRules.parse("MAP *.shop-a.com 127.0.0.1:8080")


def refusal(guard: AddressGuard, url: str) -> str | None:
    return asyncio.run(guard.refusal(url))


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/", "http://[::ffff:192.168.0.1]/", "http://localhost:9200/", "http://redis.localhost/",
    "https://A.B.LOCALHOST./x", "http://localhost6/",
])
def test_non_public_addresses_and_browser_loopback_names_are_refused(url: str) -> None:
    reason = refusal(AddressGuard(RULES), url)
    assert reason is not None and reason.startswith("refused:") and "--allow-private" in reason


@pytest.mark.parametrize("url", [
    "https://www.shop-a.com/",  # mapped by the operator
    "http://93.184.215.14/",  # public literal
    "data:text/html,hi", "blob:https://x.com/1",  # never leave the browser
])
def test_mapped_public_and_local_schemes_pass(url: str) -> None:
    assert refusal(AddressGuard(RULES), url) is None


def test_allow_private_lets_everything_through() -> None:
    guard = AddressGuard(RULES, allow_private=True)
    assert refusal(guard, "http://127.0.0.1/") is None
    assert guard.connected("http://rebound.example/", "10.0.0.5") is None


def test_loopback_names_are_those_chromium_answers_itself() -> None:
    assert is_browser_loopback_name("localhost") and is_browser_loopback_name("x.y.localhost")
    assert not is_browser_loopback_name("localhost.example.com") and not is_browser_loopback_name("mylocalhost")


def test_a_connection_to_a_private_address_refuses_the_host_from_then_on() -> None:
    guard = AddressGuard(RULES)
    assert guard.connected("https://cdn-b.net/a.js", "8.8.8.8") is None
    reason = guard.connected("https://rebound.example/a.js", "192.168.1.10")
    assert reason and "rebinding" in reason and "192.168.1.10" in reason
    assert refusal(guard, "https://rebound.example/next.js") == reason
    assert guard.connected("https://www.shop-a.com/", "127.0.0.1") is None  # the operator mapped it there


class _Answers:
    """A name resolver giving fixed answers, as a DNS server that rebinds would."""

    def __init__(self, addresses: list[str]):
        self.addresses = addresses

    def resolveHostName(self, receiver, name, port=0, *args):  # noqa: ANN001, ANN201, N802 (Twisted's names)
        receiver.resolutionBegan(None)
        for address in self.addresses:
            receiver.addressResolved(IPv4Address("TCP", address, port))
        receiver.resolutionComplete()
        return receiver



def resolved(name: str, answers: list[str], rules: str = "", allow_private: bool = False) -> list[str]:
    resolver = HostRulesResolver(SimpleNamespace(nameResolver=_Answers(answers)), cache_size=0)
    resolver.host_rules, resolver.allow_private = HostRules.parse(rules), allow_private
    receiver = AddressCollector()
    resolver.resolveHostName(receiver, name, 443)
    return receiver.addresses


def test_static_mode_connects_only_to_public_addresses_of_unmapped_hosts() -> None:
    assert resolved("rebound-a.example", ["93.184.215.14", "10.0.0.5"]) == ["93.184.215.14:443"]
    assert resolved("rebound-b.example", ["127.0.0.1"]) == []  # no address: a DNS lookup error
    assert resolved("rebound-c.example", ["127.0.0.1"], allow_private=True) == ["127.0.0.1:443"]
    assert resolved("www.shop-a.com", ["127.0.0.1"], rules="MAP *.shop-a.com 127.0.0.1:8080") == ["127.0.0.1:8080"]
