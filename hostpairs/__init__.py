"""hostpairs: crawl sites in headless Chromium and record host pairs, page dependencies,
resolutions, trackers, cookies and components, PassiveTotal-style.

The one import package. Its parts live in the repository's top-level folders and are mapped
under it by pyproject.toml: `hostpairs.crawler` (crawler/), `hostpairs.extractors`,
`hostpairs.storage`, `hostpairs.seeds`, `hostpairs.api`, `hostpairs.demoweb`; the command line
is `hostpairs.cli` (here).
"""
