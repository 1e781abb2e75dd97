"""The analyst's web app in real Chromium, on the demo's crawled virtual web (`hostpairs demo`:
a baseline crawl, the bank's script tampered with, the next crawl, its alert): search the
attacker's domain → its parents include the bank → the bank → its children include the
attacker's host → the visit: the screenshot and the hidden, script-created frame → the alerts:
acknowledge → gone from the open list. No console errors on any page; every page is
screenshotted into test-artifacts/webapp/ (at 1366×768 and on a phone-sized viewport)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect, sync_playwright

from hostpairs.crawler.settings import HOSTPAIRS_CHROMIUM, HOSTPAIRS_CHROMIUM_ARGS
from hostpairs.storage.api_users import add_user
from hostpairs.storage.db import open_database, session_factory
from tests.conftest import ROOT, run_cli, served_api, sqlite_url

ARTIFACTS = ROOT / "test-artifacts" / "webapp"
USER = "analyst@example.com"
ATTACKER = "misapor-demo.ch"
BANK = "www.demo-bank.com"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("webapp")
    db = sqlite_url(directory)
    told = run_cli("demo", "--db", db, "--dwell", "1", timeout=600)
    assert told.returncode == 0, told.stderr[-3000:]
    with session_factory(open_database(db)).begin() as session:
        key = add_user(session, USER)
    with served_api("--db", db) as base:
        yield base, key


@pytest.fixture
def page(app: tuple[str, str]) -> Iterator[Page]:
    base, key = app
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=HOSTPAIRS_CHROMIUM, args=HOSTPAIRS_CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": USER, "password": key},
                                      viewport={"width": 1366, "height": 768}, base_url=base)
        opened = context.new_page()
        opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        opened.on("pageerror", lambda error: errors.append(str(error)))
        yield opened
        browser.close()
    assert errors == []


def snapshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_from_the_attacker_to_the_bank_its_visit_and_the_alert(page: Page) -> None:
    page.goto("/")
    snapshot(page, "01-search")
    page.get_by_label("Host, domain, IP, tracker ID or cookie name").fill(ATTACKER)
    page.keyboard.press("Enter")  # the keyboard is enough
    expect(page.get_by_role("heading", level=1)).to_have_text(ATTACKER)
    pairs = page.get_by_role("region", name="Host pairs")
    expect(pairs.get_by_role("link", name=BANK).first).to_be_visible()
    snapshot(page, "02-attacker-domain")

    pairs.get_by_role("link", name=BANK).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(BANK)
    pairs = page.get_by_role("region", name="Host pairs")
    pairs.get_by_label("Direction").select_option("children")
    expect(pairs.get_by_role("link", name=f"sap.{ATTACKER}")).to_be_visible()
    pairs.get_by_label("Cause").select_option("iframe.src")
    expect(pairs.get_by_role("row")).to_have_count(2)  # the header and the injected frame's pair
    expect(page.get_by_role("region", name="Timeline").locator("td.seen").first).to_be_visible()
    trackers = page.get_by_role("region", name="Trackers")
    expect(trackers.get_by_role("link", name="G-DEMO1234")).to_be_visible()
    snapshot(page, "03-bank")

    visits = page.get_by_role("region", name="Visits")
    visits.get_by_role("row").filter(has=page.get_by_role("cell", name=f"https://{BANK}/", exact=True)).first \
        .get_by_role("link").click()  # the latest visit of the bank's home page
    expect(page.get_by_role("heading", level=1)).to_have_text(f"https://{BANK}/")
    shot = page.get_by_role("img", name=f"The viewport of https://{BANK}/ after the visit")
    expect(shot).to_be_visible()
    assert shot.evaluate("image => image.complete && image.naturalWidth") > 0
    tree = page.get_by_role("region", name="Frame tree")
    # the injected frame, by now at the page its script sent it to
    injected = tree.get_by_role("listitem").filter(has_text="created by script").first
    expect(injected).to_contain_text("hidden")
    expect(injected).to_contain_text(f"by https://{BANK}/js/view.js")
    expect(page.get_by_text(f"+ sap.{ATTACKER}")).to_be_visible()  # what changed since the visit before
    snapshot(page, "04-visit")

    page.get_by_role("link", name="Alerts").click()
    alerts = page.get_by_role("table")
    row = alerts.get_by_role("row").filter(has_text=f"sap.{ATTACKER}").first
    expect(row).to_be_visible()
    snapshot(page, "05-alerts")
    rows = alerts.get_by_role("row").filter(has_text=f"sap.{ATTACKER}")
    count = rows.count()  # the home page and the login page load the tampered script: an alert each
    for index in range(count):
        rows.nth(index).get_by_role("checkbox").check()
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_role("status")).to_have_text(f"Acknowledged {count} alert{'s' if count > 1 else ''}.")
    expect(page.get_by_role("row").filter(has_text=f"sap.{ATTACKER}")).to_have_count(0)  # gone from the open list
    page.get_by_label("Open only").uncheck()
    expect(page.get_by_role("row").filter(has_text=f"sap.{ATTACKER}").first).to_contain_text("acknowledged")

    page.get_by_role("link", name="Seed groups").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Seed groups")
    snapshot(page, "06-seed-groups")


def test_ips_trackers_and_ambiguous_input(page: Page) -> None:
    page.goto(f"/#/search/{'G-DEMO1234'}")
    expect(page.get_by_role("heading", level=1)).to_have_text("G-DEMO1234")
    expect(page.get_by_role("link", name=BANK)).to_be_visible()
    page.goto(f"/#/host/{BANK}")
    ip = page.get_by_role("region", name="Resolutions").get_by_role("link", name="127.0.0.1")
    ip.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("127.0.0.1")
    expect(page.get_by_role("link", name=BANK)).to_be_visible()
    snapshot(page, "07-ip")
    page.goto("/#/host/shop-a.com")  # nobody references the shop: what it references is shown instead
    pairs = page.get_by_role("region", name="Host pairs")
    expect(pairs.get_by_role("link", name="cdn-b.net").first).to_be_visible()
    expect(pairs.get_by_label("Direction")).to_have_value("children")
    page.goto("/#/search/no-such-thing-anywhere")
    expect(page.get_by_text("Nothing hostpairs observed matches it.")).to_be_visible()


def test_a_late_answer_to_an_older_question_never_replaces_the_newer_one(page: Page) -> None:
    held: list[Route] = []
    page.route("**/api/v1/pairs?*direction=parents*", lambda route: held.append(route))  # the first load's answer, held back
    page.goto(f"/#/host/{BANK}")
    pairs = page.get_by_role("region", name="Host pairs")
    expect(pairs.get_by_text("Loading…")).to_be_visible()
    pairs.get_by_label("Direction").select_option("children")
    expect(pairs.get_by_role("link", name=f"sap.{ATTACKER}")).to_be_visible()
    assert len(held) == 1
    with page.expect_response("**/api/v1/pairs?*direction=parents*"):
        held[0].continue_()  # the bank's parents (none) arrive after its children
    page.evaluate("new Promise((done) => setTimeout(done, 100))")  # the late answer handled
    expect(pairs.get_by_role("link", name=f"sap.{ATTACKER}")).to_be_visible()
    expect(pairs.get_by_label("Direction")).to_have_value("children")


def test_a_page_the_analyst_has_left_draws_nothing_over_the_next(page: Page) -> None:
    held: list[Route] = []
    page.route(f"**/api/v1/hosts/{BANK}", lambda route: held.append(route))  # the bank's facts, held back
    page.goto(f"/#/host/{BANK}")
    expect(page.get_by_role("heading", level=1)).to_have_text(BANK)
    page.goto(f"/#/host/{ATTACKER}")  # gone on before the bank's page had its answer
    expect(page.get_by_role("region", name="Host pairs").get_by_role("link", name=BANK).first).to_be_visible()
    assert len(held) == 1
    with page.expect_response(f"**/api/v1/hosts/{BANK}"):
        held[0].continue_()
    page.evaluate("new Promise((done) => setTimeout(done, 100))")  # the late answer handled
    expect(page.get_by_role("heading", level=1)).to_have_text(ATTACKER)
    expect(page).to_have_title(f"{ATTACKER} — hostpairs")


def test_readable_on_a_phone(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    for route, name in ((f"/#/host/{BANK}", "08-phone-bank"), ("/#/alerts", "09-phone-alerts")):
        page.goto(route)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")  # no sideways scrolling
        snapshot(page, name)


def test_no_data_without_a_key(app: tuple[str, str]) -> None:
    base, _ = app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=HOSTPAIRS_CHROMIUM, args=HOSTPAIRS_CHROMIUM_ARGS)
        request = browser.new_context().request
        answer = request.get(base + "/")  # a browser asks for the e-mail and key here
        assert answer.status == 401 and answer.headers["www-authenticate"].startswith("Basic")
        assert request.get(base + "/api/v1/hosts/www.demo-bank.com").status == 401
        assert request.get(base + "/app/app.js").status == 200  # the app's code holds no data
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def artifacts_directory() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
