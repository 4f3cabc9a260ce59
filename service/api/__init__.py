"""The HTTP API (FastAPI): one module per domain, each owning its router.

``layers``, ``vet``, ``quota`` (changes), ``quota_reports`` (reading) and ``ogc`` hold the
routes; ``deps`` the dependencies (store, rules, settings, user), ``errors`` the one table
from domain error to HTTP status, ``uploads`` and ``body_limit`` the upload handling.
:func:`service.app.create_app` is the one place that mounts them (and the web pages).
"""
