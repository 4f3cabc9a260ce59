"""Many threads vetting against one shared store, for a bounded time (run as a subprocess).

``python -m tests.overlay_threads --data-dir D [--database-url URL] --threads 16 --seconds 8``
overlays 100 random sites on the store's layers once serially, then from ``--threads``
threads at once for ``--seconds``, all sharing one store and so one layer index per layer
on the embedded engine, dropped every ``COLD_EVERY_S`` so that threads keep meeting fresh
indexes. Each threaded answer must equal the serial one. It prints one
JSON summary and exits 0, or 1 on a difference. A crash in GEOS kills the process with a
signal, which the calling test sees as a negative return code instead of losing pytest.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import shapely

from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.rules import load_rules
from blueprint.analysis.site import Site
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store, open_store

# The layer indexes are dropped this often (s) during the run: the first concurrent uses of
# a freshly built index are where lazily initialised GEOS state raced.
COLD_EVERY_S = 0.25
FULL_EVERY = 8  # one call in eight vets the site fully (capacity rasters, rules, report)


def random_sites(store: Store, n: int = 100) -> list[Site]:
    """``n`` boxes of 0.5–3 km across, seeded, within the extent of the store's layers."""
    boxes = [layer.bbox for layer in list_layers(store=store) if not layer.is_raster]
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    rng = random.Random(8)
    sites = []
    for i in range(n):
        size = rng.uniform(0.005, 0.03)
        x, y = rng.uniform(minx, maxx - size), rng.uniform(miny, maxy - size)
        sites.append(Site(geometry=shapely.box(x, y, x + size, y + size), parcels=1,
                          name=f"site {i}", source="random"))
    return sites


def fingerprint(site: Site, store: Store, rules: Any, *, full: bool) -> str:
    """The overlay of ``site`` on every vector layer (pieces, areas, ids), or with ``full``
    its whole vetting report, as canonical JSON. Each call gets its own copy of the site,
    as each request does: only the layers are shared."""
    own = Site(geometry=shapely.from_wkb(shapely.to_wkb(site.geometry)), parcels=site.parcels,
               name=site.name, source=site.source)
    if full:
        report = to_json(vet_site(VetRequest(site=own, industry="industrial"), store=store,
                                  rules=rules))
        return json.dumps(report, sort_keys=True, ensure_ascii=False)
    vectors = [layer for layer in list_layers(store=store) if not layer.is_raster]
    overlaps = overlay_site(own.geometry, own.zone_epsg, vectors, store=store)
    return json.dumps([[o.layer.name, round(o.area_m2, 6),
                        sorted((str(k), round(v, 6)) for k, v in o.class_area_m2.items()),
                        [(h.fid, round(h.area_m2, 6), shapely.to_wkb(h.geometry, hex=True))
                         for h in o.hits]] for o in overlaps])


def hammer(store: Store, sites: list[Site], expected: list[tuple[str, str]], threads: int,
           seconds: float) -> dict[str, Any]:
    """Overlay random sites from ``threads`` threads until ``seconds`` pass (every
    ``FULL_EVERY``-th call a whole vetting); count the answers that differ."""
    rules = load_rules()
    stop = time.monotonic() + seconds
    counts = {"calls": 0, "mismatches": 0, "errors": 0}
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        calls = mismatches = errors = 0
        start.wait()
        while time.monotonic() < stop:
            i = rng.randrange(len(sites))
            full = calls % FULL_EVERY == FULL_EVERY - 1
            try:
                got = fingerprint(sites[i], store, rules, full=full)
            except Exception as exc:  # a wrong answer must fail the run, not hide
                errors += 1
                print(f"thread {seed}: site {i}: {exc!r}", file=sys.stderr)
                continue
            calls += 1
            mismatches += got != expected[i][full]
        with lock:
            counts["calls"] += calls
            counts["mismatches"] += mismatches
            counts["errors"] += errors

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    cold = 0
    while time.monotonic() < stop:  # as a re-import would: every index cold again, often
        time.sleep(COLD_EVERY_S)
        store.cache.clear()
        cold += 1
    for t in pool:
        t.join()
    return {**counts, "cold_starts": cold}


def main() -> int:
    """Run the serial pass, then the threaded one; print the summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    store = open_store(args.database_url, Path(args.data_dir), pool_size=args.threads,
                       migrate=False)
    rules = load_rules()
    sites = random_sites(store)
    expected = [(fingerprint(site, store, rules, full=False),
                 fingerprint(site, store, rules, full=True)) for site in sites]
    shared = Store(engine=store.engine, data_dir=store.data_dir)  # cold: a cache of its own
    counts = hammer(shared, sites, expected, args.threads, args.seconds)
    store.close()
    summary = {"engine": store.engine_name, "sites": len(sites), "threads": args.threads,
               **counts}
    print(json.dumps(summary))
    return 0 if counts["calls"] and not counts["mismatches"] and not counts["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
