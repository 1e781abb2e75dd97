"""What started each request, as the requesting document's Resource Timing tells it.

DevTools names the parser as the initiator of a request that an inline `<style>` or a `style`
attribute makes, exactly as for an `<img>` of the same document; Resource Timing's
`initiatorType` tells them apart (`css`, `img`, `link`, ...). An observer installed in the
capture's isolated world (`isolated_world`) keeps each document's entries, out of the page's reach; they are
read per frame at the end of the visit and put on the requests (`fetch_initiator`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import replace

from playwright.async_api import CDPSession

from hostpairs.crawler.capture import isolated_world
from hostpairs.crawler.capture.page_scripts import RESOURCE_INITIATORS_JS, RESOURCE_INITIATORS_READ
from hostpairs.extractors.observations import RequestObservation


Initiators = dict[str, list[tuple[str, str]]]
"""(URL, initiatorType) in fetch order, by frame id."""


async def install(session: CDPSession) -> None:
    """Start keeping Resource Timing initiators in every document the page loads from now on."""
    await isolated_world.run_in_every_document(session, RESOURCE_INITIATORS_JS)


async def read(session: CDPSession, frame_ids: Iterable[str], deadline: float) -> Initiators:
    """Each frame's kept initiators, frames read one by one until `deadline` (monotonic); a
    frame that does not answer has none (its requests keep DevTools' causes)."""
    found: Initiators = {}
    async for frame_id, value in isolated_world.evaluate_each(session, frame_ids, RESOURCE_INITIATORS_READ, deadline):
        if isinstance(value, list):
            found[frame_id] = [(entry[0], entry[1]) for entry in value
                               if isinstance(entry, list) and len(entry) == 2
                               and isinstance(entry[0], str) and isinstance(entry[1], str)]
    return found


def with_fetch_initiators(requests: list[RequestObservation], initiators: Initiators) -> list[RequestObservation]:
    """`requests` with `fetch_initiator` set from their frame's entries: a URL fetched more than
    once takes its entries in order; redirect hops (named by the first URL) are left alone."""
    pending: dict[tuple[str, str], deque[str]] = defaultdict(deque)
    for frame_id, entries in initiators.items():
        for url, initiator in entries:
            pending[(frame_id, url)].append(initiator)
    marked = []
    for request in requests:
        queue = pending.get((request.frame_id or "", request.url)) if request.redirected_from is None else None
        marked.append(replace(request, fetch_initiator=queue.popleft()) if queue else request)
    return marked
