"""Benchmark: how long a short CLI command takes to start (goal: under 0.5 s).

Runs ``blueprint --help`` and ``blueprint layers list`` (on an embedded store with the sample
city) several times each in fresh interpreters and reports the median wall time and the
median CPU time (user + system of the child: what the command itself costs, much less
sensitive than wall time to other jobs on the machine), beside three baselines measured in
the same run: a bare ``python -c pass`` (the interpreter's own start-up, which no lazy
import can save), ``import typer`` (the CLI toolkit) and ``import typer`` with pydantic's
``BaseModel`` (typer ≥ 0.2x coerces every non-flag parameter with pydantic, and the settings
are a pydantic model). Also which heavy libraries each command imported, and the load
average before and after. Writes docs/benchmarks-cli.md, linked from docs/benchmarks.md
(bench/bench_vetting.py keeps the link).

Run:  python bench/bench_cli_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 0.5
HEAVY = ("geopandas", "shapely", "rasterio", "pyogrio", "pyproj", "numpy", "sqlalchemy",
         "fastapi", "pandas", "exactextract", "alembic")
COMMANDS = {"blueprint --help": ["--help"], "blueprint layers list": ["layers", "list"]}
BASELINES = {"python -c pass": "pass", "python -c \"import typer\"": "import typer",
             "python -c \"import typer; from pydantic import BaseModel\"":
                 "import typer; from pydantic import BaseModel"}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLUEPRINT_")}
    env["BLUEPRINT_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and median CPU time of ``argv`` in seconds over ``runs`` runs (after one
    warm-up)."""
    subprocess.run(argv, env=env, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """Which heavy libraries the command imported (``python -X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "blueprint.service", *args],
                          env=env, capture_output=True, text=True, check=True)
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    return [h for h in HEAVY if h in names]


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


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
        load_before = _load()
        base = {name: timed([sys.executable, "-c", code], env, args.runs)
                for name, code in BASELINES.items()}
        bare_wall, bare_cpu = base["python -c pass"]
        rows, met = [], []
        for name, cli_args in COMMANDS.items():
            wall, cpu = timed([sys.executable, "-m", "blueprint.service", *cli_args], env,
                              args.runs)
            heavy = heavy_imports(cli_args, env)
            met.append(wall < GOAL_S)
            rows.append(f"| `{name}` | {wall:.2f} | {cpu:.2f} | {wall - bare_wall:.2f} | "
                        f"{cpu - bare_cpu:.2f} | {'yes' if wall < GOAL_S else 'no'} | "
                        f"{', '.join(heavy) or '—'} |")
        load_after = _load()
    baselines = [f"| `{name}` | {wall:.2f} | {cpu:.2f} | {wall - bare_wall:.2f} | "
                 f"{cpu - bare_cpu:.2f} | | |" for name, (wall, cpu) in base.items()]
    verdict = ("Both commands met the goal in this run." if all(met) else
               "Not every command met the goal in this run (wall time); see the load average "
               "and the CPU column.")
    cpus = os.cpu_count() or 1
    if max(load_before, load_after) > cpus / 2:
        verdict += (f" The machine was busy with other work (load average up to "
                    f"{max(load_before, load_after):.1f} on {cpus} CPUs): wall times include "
                    "waiting for a CPU; the CPU times are what the commands themselves cost, "
                    "and with a CPU free their wall time comes close to their CPU time.")
    lines = [
        "# CLI start-up", "",
        f"Median of {args.runs} runs each (after a warm-up), fresh interpreter every time, "
        f"on {platform.platform()} with Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before and {load_after:.1f} "
        f"after the runs (1 minute). Goal: under {GOAL_S} s wall on an idle machine. "
        "CPU is user + system time of the command's process: other jobs on the machine "
        "stretch wall time far more than CPU time. \"beyond Python\" subtracts a bare "
        "`python -c pass` measured in the same run. The embedded store holds the sample "
        "city; `layers list` reads its catalogue with sqlite3.", "",
        "Commands register lazily (service/cli/root.py): `--help` lists them from a table "
        "without importing their modules, and a command's module is imported when it runs. "
        "What is left: `--help` loads Python and typer; `layers list` also rich (the table) "
        "and pydantic (typer coerces every non-flag parameter with it, and the settings are "
        "a pydantic model), which the third baseline shows.", "",
        "| command | median wall s | median CPU s | wall beyond Python s | "
        "CPU beyond Python s | under goal (wall) | heavy libraries imported |",
        "|---|---|---|---|---|---|---|", *rows, *baselines, "", verdict, "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
