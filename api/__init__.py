"""Presentation: PassiveTotal response shapes and parameter checks shared by the CLI and the
HTTP API, the alert event shape, the visit report, and the API server with its look-up page."""
