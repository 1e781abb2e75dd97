"""How much memory the crawl holds: the proportional set size (PSS: shared pages divided among
their sharers, so a process tree's figures add up) of a process and its descendants, by kind.
Read from Linux's /proc; elsewhere every figure is 0."""

from __future__ import annotations

import os

KINDS = ("crawler", "driver", "browser", "renderers", "other browser processes")
BROWSER_KINDS = ("browser", "renderers", "other browser processes")


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    table = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry)] = (parent, command)
    return table


def set_size(pid: int, fields: tuple[str, ...] = ("Pss:",)) -> int:
    """Bytes of memory a process holds: by default its PSS (shared pages divided among their
    sharers); with ("Private_Clean:", "Private_Dirty:") its USS (the pages no other process
    shares, which other processes coming and going leave unchanged)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith(fields):
                    total += int(line.split()[1]) * 1024
    except OSError:
        pass
    return total


UNIQUE = ("Private_Clean:", "Private_Dirty:")


def tree_memory(root: int, fields: tuple[str, ...] = ("Pss:",)) -> dict[str, int]:
    """The memory (`set_size`'s `fields`: PSS by default) of process `root` (the crawler) and its
    descendants, in bytes by kind: the crawler itself, Playwright's driver, Chromium's browser
    process, its renderers, its other processes."""
    table = _process_table()
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, (parent, _) in table.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    kinds = dict.fromkeys(KINDS, 0)
    for pid in tree:
        command = table.get(pid, (0, ""))[1]
        if pid == root:
            kind = "crawler"
        elif "chrom" not in command:
            kind = "driver"
        elif "--type=renderer" in command:
            kind = "renderers"
        elif "--type=" in command:
            kind = "other browser processes"
        else:
            kind = "browser"
        kinds[kind] += set_size(pid, fields)
    return kinds
