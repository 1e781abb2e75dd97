"""The HTTP API: PassiveTotal-compatible endpoints and a look-up page."""
