"""Benchmark: vetting speed of this tree against an earlier commit, side by side in one run.

For a refactor that must not slow the product down (issue 16: the engine seam, the typed
report, the service split, the one installed name). The earlier commit is checked out in a
temporary git worktree; each arm runs in a fresh interpreter with only its own tree on the
path, loads the sample city into its own embedded store (and, when
BLUEPRINT_BENCH_DATABASE_URL or BLUEPRINT_TEST_DATABASE_URL is set, a PostGIS schema of its
own) and vets the same seeded sites one at a time. Arms alternate (base, this, base, this …)
so that a drifting machine load falls on both. Writes docs/benchmarks-before-after.md.

Run:  python bench/bench_before_after.py --base b71cc3d --sites 300 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "benchmarks-before-after.md"

# Runs inside each arm's tree: imports whichever layout that tree has (``blueprint.*`` since
# issue 16, bare package names before it).
ARM = r'''
import json, statistics, sys, time, uuid
from pathlib import Path
from urllib.parse import quote
import shapely
tree, data, url, sites_file = sys.argv[1:5]
if (Path(tree) / "blueprint" / "__init__.py").exists():  # the tree's own layout decides
    from blueprint.analysis.sample import load_sample
    from blueprint.analysis.site import Site
    from blueprint.analysis.vetting import VetRequest, vet_site
    from blueprint.layers.store import open_store
else:
    from analysis.sample import load_sample
    from analysis.site import Site
    from analysis.vetting import VetRequest, vet_site
    from layers.store import open_store
# an installed Blueprint must not stand in for the tree under test
code = Path(vet_site.__code__.co_filename).resolve()
assert str(code).startswith(str(Path(tree).resolve())), f"arm ran {code}, not {tree}"
store = open_store(url or "", Path(data))
load_sample(Path(tree) / "data" / "sample", store=store, actor="bench")
sites = [Site(geometry=shapely.from_wkt(line), parcels=1, name="bench", source="bench")
         for line in Path(sites_file).read_text().splitlines()]
vet_site(VetRequest(site=sites[0]), store=store)
times = []
start = time.perf_counter()
for site in sites:
    t0 = time.perf_counter()
    vet_site(VetRequest(site=site), store=store)
    times.append(time.perf_counter() - t0)
total = time.perf_counter() - start
print(json.dumps({"p50_ms": statistics.median(times) * 1000, "sites_per_s": len(sites) / total}))
'''


def make_sites(n: int, seed: int = 20261121) -> list[str]:
    """N seeded 1–30 ha quads inside the sample city, as WKT (lon/lat, EPSG:4490)."""
    import numpy as np
    import shapely

    counties = json.loads((REPO / "data/sample/layers/liaocheng_counties.geojson").read_text())
    city = shapely.union_all([shapely.geometry.shape(f["geometry"])
                              for f in counties["features"]])
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = city.bounds
    out: list[str] = []
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not city.contains(shapely.Point(x, y)):
            continue
        w, h = rng.uniform(0.001, 0.006, size=2)
        geom = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), rng.uniform(0, 90))
        out.append(geom.wkt)
    return out


def run_arm(tree: Path, sites_file: Path, url: str) -> dict[str, float]:
    """One arm in a fresh interpreter that sees only ``tree``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEPRINT_")}
    env["PYTHONPATH"] = str(tree)
    with tempfile.TemporaryDirectory() as data:
        arm_url = ""
        if url:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            sep = "&" if "?" in url else "?"
            arm_url = f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"
            _create_schema(url, schema)
        try:
            done = subprocess.run([sys.executable, "-c", ARM, str(tree), data, arm_url,
                                   str(sites_file)], cwd=tree, env=env, capture_output=True,
                                  text=True, check=True)
        finally:
            if url:
                _drop_schema(url, schema)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _create_schema(url: str, schema: str) -> None:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')


def _drop_schema(url: str, schema: str) -> None:
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    """Alternate the two arms and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("BLUEPRINT_BENCH_DATABASE_URL",
                         os.environ.get("BLUEPRINT_TEST_DATABASE_URL", ""))
    base_rev = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
    head_rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
    engines = [("embedded", "")] + ([("PostGIS", url)] if url else [])
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.base],
                       cwd=REPO, check=True)
        try:
            sites_file = Path(tmp) / "sites.wkt"
            sites_file.write_text("\n".join(make_sites(args.sites)))
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for round_no in range(args.rounds):
                for engine, engine_url in engines:
                    for arm, tree in (("base", base), ("this", REPO)):
                        got = run_arm(tree, sites_file, engine_url)
                        results.setdefault((engine, arm), []).append(got)
                        print(f"round {round_no + 1} {engine} {arm}: {got}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=REPO,
                           check=False)
    write_report(results, engines, base_rev, head_rev, args)


def write_report(results: dict[tuple[str, str], list[dict[str, float]]],
                 engines: list[tuple[str, str]], base_rev: str, head_rev: str,
                 args: argparse.Namespace) -> None:
    """docs/benchmarks-before-after.md: medians over rounds, and the ratio this/base."""
    load = os.getloadavg()[0]
    lines = [
        "# Vetting speed before and after a refactor",
        "",
        f"Generated by `python bench/bench_before_after.py --base {args.base} --sites "
        f"{args.sites} --rounds {args.rounds}`; do not edit by hand.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}; "
        f"load average {load:.1f} at the end of the run.",
        "",
        f"`base` is commit `{base_rev}`, `this` is `{head_rev}` (this tree, with any "
        "uncommitted changes). Each arm loads the sample city into its own store and vets the "
        f"same {args.sites} seeded sites with `vet_site`, one at a time, in a fresh "
        "interpreter; arms alternate base, this, base, this … so machine drift falls on "
        "both. Figures are medians over the rounds.",
        "",
        "| engine | arm | p50 ms | sites/s | this ÷ base (p50) |",
        "|---|---|---|---|---|",
    ]
    for engine, _ in engines:
        p50 = {arm: statistics.median(r["p50_ms"] for r in results[(engine, arm)])
               for arm in ("base", "this")}
        rate = {arm: statistics.median(r["sites_per_s"] for r in results[(engine, arm)])
                for arm in ("base", "this")}
        for arm in ("base", "this"):
            ratio = f"{p50['this'] / p50['base']:.2f}" if arm == "this" else ""
            lines.append(f"| {engine} | {arm} | {p50[arm]:.1f} | {rate[arm]:.0f} | {ratio} |")
    lines += ["", "Every round:", ""]
    for (engine, arm), runs in results.items():
        figures = ", ".join(f"{r['p50_ms']:.1f} ms / {r['sites_per_s']:.0f} per s" for r in runs)
        lines.append(f"- {engine} {arm}: {figures}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
