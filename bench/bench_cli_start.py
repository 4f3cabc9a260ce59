"""Benchmark: how long a short CLI command takes to start (goal: under 0.5 s).

Runs ``blueprint --help`` and ``blueprint layers list`` (on a store with the sample city)
several times each in fresh interpreters, reports the median wall time beside that of a bare
``python -c pass`` (the interpreter's own start-up, which no lazy import can save) and
which heavy libraries each command imported. Writes docs/benchmarks-cli.md, linked from
docs/benchmarks.md (bench/bench_vetting.py keeps the link).

Run:  python bench/bench_cli_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 0.5
HEAVY = ("geopandas", "shapely", "rasterio", "pyogrio", "sqlalchemy", "fastapi", "pandas",
         "exactextract", "alembic")
COMMANDS = {"blueprint --help": ["--help"], "blueprint layers list": ["layers", "list"]}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEPRINT_")}
    env["BLUEPRINT_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def timed(argv: list[str], env: dict[str, str], runs: int) -> float:
    """Median wall time of ``argv`` in seconds over ``runs`` runs (after one warm-up)."""
    subprocess.run(argv, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """Which heavy libraries the command imported (``python -X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "blueprint.service", *args],
                          env=env, capture_output=True, text=True, check=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    return [h for h in HEAVY if h in names]


def main() -> None:
    """Time the commands and write docs/benchmarks-cli.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-cli.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "store")
        subprocess.run([sys.executable, "-m", "blueprint.service", "sample", "load"], env=env,
                       capture_output=True, check=True)
        bare = timed([sys.executable, "-c", "pass"], env, args.runs)
        rows = []
        for name, cli_args in COMMANDS.items():
            median = timed([sys.executable, "-m", "blueprint.service", *cli_args], env, args.runs)
            heavy = heavy_imports(cli_args, env)
            rows.append(f"| `{name}` | {median:.2f} | {median - bare:.2f} | "
                        f"{'yes' if median < GOAL_S else 'no'} | {', '.join(heavy) or '—'} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# CLI start-up", "",
        f"Median of {args.runs} runs each (after a warm-up), fresh interpreter every time, "
        f"on {platform.platform()} with Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} when measured. Goal: under "
        f"{GOAL_S} s. A bare `python -c pass` took {bare:.2f} s here; the column "
        "\"beyond Python\" is what Blueprint itself adds. Heavy libraries are imported inside "
        "the commands that need them, so neither command loads geopandas, shapely, rasterio, "
        "pyogrio or FastAPI; `layers list` needs SQLAlchemy to read the catalogue.", "",
        "| command | median s | beyond Python s | under goal | heavy libraries imported |",
        "|---|---|---|---|---|", *rows, "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
