"""The JavaScript the capture runs inside the page, kept as real files in js/ and read once."""

from __future__ import annotations

from importlib.resources import files


def _page_script(name: str) -> str:
    return files(__package__).joinpath("js", f"{name}.js").read_text(encoding="utf-8").strip()


# Run on a frame's owner element (`this`): why the frame cannot be seen, empty when it can.
HIDDEN_REASONS_JS = _page_script("hidden_reasons")

# The final DOM without its prose: a tracking ID quoted in a page's text (documentation, a code
# sample) is not the page's own; scripts, noscript, attributes and comments are kept. The copy is
# parsed into an inert document: a clone inside the page would load its images again.
MARKUP_JS = _page_script("markup")

# The links and forms of one frame's document, forms with the sensitive fields they ask for.
DOM_REFERENCES_JS = _page_script("dom_references")

# The <script> elements of one frame's document, inline ones with their text (inventoried pages).
SCRIPTS_JS = _page_script("scripts")


def storm_caps_js(max_dialogs: int, max_popups: int) -> str:
    """The init script capping a document's dialogs and window.open calls (js/storm_caps.js)."""
    return (_STORM_CAPS_JS.replace("__MAX_DIALOGS__", str(int(max_dialogs)))
            .replace("__MAX_POPUPS__", str(int(max_popups))))


_STORM_CAPS_JS = _page_script("storm_caps")

# The init script, run in the capture's isolated world, that keeps each request's Resource
# Timing initiator (css, link, img, ...); RESOURCE_INITIATORS_READ returns them.
RESOURCE_INITIATORS_JS = _page_script("resource_initiators")
RESOURCE_INITIATORS_READ = ("typeof __hostpairsResourceInitiators === 'function'"
                            " ? __hostpairsResourceInitiators() : []")
