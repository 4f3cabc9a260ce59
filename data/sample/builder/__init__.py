"""Builder of the synthetic sample city (聊城市, Shandong) in ``data/sample/``.

The builder is the oracle for the sample's expected answers: it computes every designed fact
with plain shapely on the files it writes, and it never imports the product (``layers``,
``analysis``, ``service``, ``web``).  Run it with ``python3 data/sample/build.py`` (or
``python3 -m builder`` from ``data/sample``).

Modules, in build order: ``common`` (CRSs, seed, paths), ``design`` (the invented places),
``geometry`` (helpers), ``city`` (counties, wetlands, urban boundaries, red line), ``land``
(parks, water sources, farmland), ``zoning``, ``writing`` (vector layers, manifest, READMEs),
``rasters``, ``quotas``, ``sites`` and ``site_files`` (the demo sites), ``expectations`` (the
designed facts, read back from the files as written) and ``__main__`` (the command line).
"""
