"""Presentation: PassiveTotal response shapes and parameter checks shared by the CLI and the
HTTP API, the alert event shape, the visit report, the API server, its exports and the web app."""
