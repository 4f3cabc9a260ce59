"""Storage engines behind one seam (:class:`Backend`), chosen once when the store opens
(:mod:`layers.engine.registry`).

``embedded``: SQLite + shapely STRtrees (:mod:`layers.engine.embedded`);
``postgis``: PostgreSQL/PostGIS (:mod:`layers.engine.postgis`). See docs/architecture.md
for how to add another.
"""
