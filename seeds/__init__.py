"""Seed groups: which sites to crawl, how often, and which of their third parties are expected."""
