"""Rendering for people: tables of records and the frame tree of a visit."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from hostpairs.cli.common import out

if TYPE_CHECKING:
    from hostpairs.storage.queries import Paging

PAIR_COLUMNS = ("parent", "child", "cause", "firstSeen", "lastSeen")


def print_table(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str) -> None:
    """Rows (dicts) as a table of `columns`."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else escape(str(row[c])) for c in columns))
    out.print(table)


def emit(response: dict[str, Any], as_json: bool, columns: tuple[str, ...], title: str,
         paging: Paging | None = None) -> None:
    """Print a response as JSON (PassiveTotal's shape) or as a table of its results, titled with
    which rows of how many the page holds."""
    if as_json:
        print(json.dumps(response, indent=2))
        return
    results = response["results"]
    total = response.get("totalRecords", len(results))
    if paging is not None and (paging.page or total > len(results)):
        first = paging.page * paging.limit
        shown = f"rows {first + 1:,}–{first + len(results):,}" if results else "no rows"
        more = f"; next: --page {paging.page + 1}" if first + len(results) < total else ""
        title += f" — page {paging.page}: {shown} of {total:,}{more}"
    print_table(results, columns, title)


def alert_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert events as table rows: signals on one line, acknowledgement as yes/blank."""
    return [{**e, "signals": "; ".join(e["signals"]), "ack": "yes" if e["acknowledged"] else ""} for e in events]


def frame_tree(report: dict[str, Any]) -> Tree:
    """The frames of a visit report as a Rich tree: URL, creator script, why hidden."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for frame in report["frames"]:
        children.setdefault(frame["parentFrameId"], []).append(frame)

    def label(frame: dict[str, Any]) -> str:
        notes = []
        if frame["createdByScript"]:
            notes.append(f"created by {escape(frame['creatorScriptUrl'] or 'an inline script')}")
        if frame["hidden"]:
            notes.append(f"[bold red]hidden[/]: {escape(frame['hiddenReasons'] or '')}")
        if frame["detached"]:
            notes.append("removed")
        return escape(frame["url"] or "(no document)") + (f"  [dim]({'; '.join(notes)})[/]" if notes else "")

    def add(node: Tree, frame: dict[str, Any]) -> None:
        branch = node.add(label(frame))
        for child in children.get(frame["frameId"], []):
            add(branch, child)

    roots = children.get(None, [])
    tree = Tree(label(roots[0]) if roots else "(no frames)")
    for root in roots:
        for child in children.get(root["frameId"], []):
            add(tree, child)
    return tree
