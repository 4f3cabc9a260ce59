"""``blueprint vet-batch``: many sites, all cores, reports streamed as JSON Lines.

The files are cut into chunks; each worker process opens its own store (no connection,
index or GEOS object is shared between processes) and vets a chunk with
:func:`analysis.batch.vet_sites`, returning the chunk's lines. The parent writes them in
the files' order as they come, with at most a few chunks in flight (bounded memory), and
advances a progress bar on stderr. A file that cannot be read or vetted is one line with
``error``; the others are reported as usual.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Any

from blueprint.analysis.messages import VERDICT_ZH
from blueprint.service.cli.console import progress_bar

CHUNK = 48  # sites per task: the catalogue read and the vectorised passes amortise over it
IN_FLIGHT = 3  # chunks queued per worker
# One thread per worker process for every native library (the processes are the cores).
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "GDAL_NUM_THREADS", "NUMEXPR_NUM_THREADS")

_WORKER: dict[str, Any] = {}


def default_workers() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pin_threads() -> None:
    """One native thread per process unless the environment already says otherwise."""
    for name in THREAD_ENV:
        os.environ.setdefault(name, "1")


def open_worker(industry: str) -> None:
    """Open this process's own store, rules and limits (a pool's initializer)."""
    pin_threads()
    from blueprint.service.context import rules_from_settings, site_limits, store_from_settings
    from blueprint.service.settings import get_settings

    settings = get_settings()
    _WORKER.update(store=store_from_settings(settings, migrate=False),
                   rules=rules_from_settings(settings), industry=industry,
                   limits=(site_limits(settings), settings.file_limits()))


def preload() -> None:
    """Import what a worker runs, once, in the parent before it forks the workers: every
    worker then starts with it (copy-on-write) instead of importing it again (0.7 s of CPU
    each, the geometry, projection and raster libraries). Threads are pinned first, as the
    libraries read that when they load."""
    pin_threads()
    import blueprint.analysis.batch
    import blueprint.analysis.site_files
    import blueprint.service.context  # noqa: F401


def vet_chunk(paths: list[str]) -> list[tuple[str, str]]:
    """Vet one chunk in this worker: ``(verdict or "error", JSON line)`` per file, in order."""
    from blueprint.analysis.batch import vet_sites
    from blueprint.analysis.site_files import read_site_quick
    from blueprint.analysis.vetting import VetRequest
    from blueprint.layers.errors import BlueprintError

    store, rules, industry = _WORKER["store"], _WORKER["rules"], _WORKER["industry"]
    site_limits, file_limits = _WORKER["limits"]
    lines: list[tuple[str, str] | None] = []
    requests, slots = [], []
    for path in paths:
        try:
            site = read_site_quick(path, limits=site_limits, file_limits=file_limits)
        except BlueprintError as exc:
            lines.append(_line(path, {"error": exc.to_dict()}))
            continue
        slots.append(len(lines))
        lines.append(None)
        requests.append(VetRequest(site=site, industry=industry))
    try:  # pydantic writes the JSON itself: a dict, then json.dumps, took twice as long
        reports = [(str(r.verdict), _report_line(paths[slot], r.model_dump_json()))
                   for slot, r in zip(slots, vet_sites(requests, store=store, rules=rules),
                                      strict=True)]
    except BlueprintError:  # one site's problem: find it, and report the others
        reports = [_line(paths[slot], _vet_alone(req, store, rules))
                   for slot, req in zip(slots, requests, strict=True)]
    for slot, line in zip(slots, reports, strict=True):
        lines[slot] = line
    return [line for line in lines if line is not None]


def _line(path: str, report: dict[str, Any]) -> tuple[str, str]:
    """``(verdict or "error", JSON line)`` of a report or an error as a dict."""
    return (str(report.get("verdict", "error")),
            json.dumps({"file": path, **report}, ensure_ascii=False))


def _report_line(path: str, report_json: str) -> str:
    """The line of a report already in JSON: ``file`` first, then the report's keys."""
    return f'{{"file": {json.dumps(path, ensure_ascii=False)}, {report_json[1:]}'


def _vet_alone(request: Any, store: Any, rules: Any) -> dict[str, Any]:
    from blueprint.analysis.vetting import vet_site
    from blueprint.layers.errors import BlueprintError

    try:
        return vet_site(request, store=store, rules=rules).to_json()
    except BlueprintError as exc:
        return {"error": exc.to_dict()}


def chunks(files: list[Path], size: int = CHUNK) -> Iterator[list[str]]:
    """The files, ``size`` at a time, as strings (what a report's ``file`` says)."""
    for start in range(0, len(files), size):
        yield [str(p) for p in files[start:start + size]]


def run_batch(files: list[Path], output: Path, industry: str, workers: int,
              size: int = CHUNK) -> dict[str, int]:
    """Vet ``files`` into ``output`` (JSON Lines, in the files' order), ``size`` files per
    task on ``workers`` processes (1: in this one); count the verdicts."""
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        if workers == 1:
            results = _in_process(chunks(files, size), industry)
        else:  # the workers are forked here, before the progress bar starts its thread
            preload()
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"),
                initializer=open_worker, initargs=(industry,)))
            results = _in_pool(pool, chunks(files, size), workers * IN_FLIGHT)
        bar = stack.enter_context(progress_bar())
        fh = stack.enter_context(output.open("w", encoding="utf-8"))
        task = bar.add_task("批量审查", total=len(files))
        for lines in results:
            for verdict, line in lines:
                outcome = VERDICT_ZH.get(verdict, "出错")
                counts[outcome] = counts.get(outcome, 0) + 1
                fh.write(line + "\n")
            bar.advance(task, len(lines))
    return counts


def _in_process(todo: Iterator[list[str]], industry: str) -> Iterator[list[tuple[str, str]]]:
    open_worker(industry)
    try:
        for chunk in todo:
            yield vet_chunk(chunk)
    finally:
        _WORKER.pop("store").close()


def _in_pool(pool: ProcessPoolExecutor, todo: Iterator[list[str]],
             window: int) -> Iterator[list[tuple[str, str]]]:
    """The chunks' results in order, with at most ``window`` chunks submitted and not yet
    written (memory stays bounded however many files there are). The first chunks are
    submitted now, which starts the workers."""
    pending: deque[Future[list[tuple[str, str]]]] = deque(
        pool.submit(vet_chunk, chunk) for chunk in islice(todo, window))

    def results() -> Iterator[list[tuple[str, str]]]:
        while pending:
            lines = pending.popleft().result()
            for chunk in islice(todo, 1):
                pending.append(pool.submit(vet_chunk, chunk))
            yield lines

    return results()
