"""Error messages as one line, the way the crawler reports them."""

from __future__ import annotations


def one_line(error: BaseException | str) -> str:
    """The first line of an error message (Playwright's include call logs)."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:500]
