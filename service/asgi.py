"""The ASGI entry point for worker processes: ``service.asgi:create_app_from_env``.

``blueprint serve --workers N`` hands uvicorn this import string (with ``factory=True``):
each worker process imports it, reads the ``BLUEPRINT_…`` settings from the environment it
inherited and builds its own app, whose lifespan opens that process's own store (pool).
Any ASGI server can use it the same way, e.g.
``uvicorn --factory service.asgi:create_app_from_env --workers 4``.
"""

from __future__ import annotations

from fastapi import FastAPI

from blueprint.service.app import create_app
from blueprint.service.settings import get_settings


def create_app_from_env() -> FastAPI:
    """A new app configured from the environment (one per worker process)."""
    return create_app(get_settings())
