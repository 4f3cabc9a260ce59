"""The ``blueprint`` command line. Every command calls the same core as the HTTP API.

``root`` assembles the command groups (one module each); ``console`` holds what they share.
The console script is ``service.cli:main``.
"""

from blueprint.service.cli.root import app, main

__all__ = ["app", "main"]
