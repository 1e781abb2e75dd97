"""Pure functions that turn what was observed on a page into records."""
