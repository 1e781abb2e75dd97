"""The DevTools capture on its own, in real Chromium: finishing a capture makes the page fetch nothing."""

from __future__ import annotations

import asyncio

from playwright.async_api import Route, async_playwright

from hostpairs.crawler.capture import BrowserCapture
from hostpairs.crawler.settings import HOSTPAIRS_CHROMIUM, HOSTPAIRS_CHROMIUM_ARGS
from hostpairs.demoweb.server import PIXEL, VirtualWeb, html

PAGE = "https://page-ww.com/"
REFUSED = "https://refused-xx.net/pixel.gif"


def test_finishing_a_capture_makes_the_page_fetch_nothing() -> None:
    """Reading the final DOM once copied it inside the page, whose images then loaded again: a
    refused image was requested a second time while the visit was being torn down. Requests the
    page starts after the visit do not leave the browser."""
    sites = {"page-ww.com": {"/": html(f"<p>text</p><img src='{REFUSED}'><img src='https://ok-yy.org/p.gif'>")},
             "refused-xx.net": {"/pixel.gif": PIXEL}, "ok-yy.org": {"/p.gif": PIXEL}}

    async def visit(web: VirtualWeb) -> tuple[list[str], list[str]]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=HOSTPAIRS_CHROMIUM, args=[*HOSTPAIRS_CHROMIUM_ARGS, f"--host-resolver-rules={web.host_rules}"])
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            routed: list[str] = []

            async def refuse_one(route: Route) -> None:
                routed.append(route.request.url)
                await (route.abort("blockedbyclient") if route.request.url == REFUSED else route.fallback())

            await page.route("**", refuse_one)
            capture = await BrowserCapture.attach(page, PAGE, 0, check_connection=lambda url, ip: None)
            await page.goto(PAGE)
            await page.wait_for_timeout(500)
            during_visit = list(routed)
            result = await capture.finish()
            await page.evaluate("fetch('https://ok-yy.org/late').catch(() => {})")  # the page goes on after the visit
            await page.wait_for_timeout(1000)
            await browser.close()
            assert "text" not in result.html and "refused-xx.net" in result.html  # prose out, markup kept
            return during_visit, routed

    with VirtualWeb(sites) as web:
        during_visit, routed = asyncio.run(visit(web))
        served = list(web.hits)
    assert during_visit.count(REFUSED) == 1 and REFUSED not in routed[len(during_visit):]
    assert ("ok-yy.org", "/late") not in served
