"""A bounded soak: N clients against a real ``blueprint serve`` on loopback (issue 12).

    PYTHONPATH=. python3 bench/soak.py                         # 600 s, 32 clients, embedded
    PYTHONPATH=. python3 bench/soak.py --seconds 60 --clients 8
    PYTHONPATH=. python3 bench/soak.py --database-url postgresql://…/db?options=-csearch_path%3Ds

It starts ``blueprint serve --sample`` on a free port with a fresh store (a temporary data
folder; on PostGIS the URL's schema must be empty), then sets up through the CLI and the API:
users (a city planner, the city quota manager, a department user of 自然资源), a grant of a
year's land quota, and projects with a vetted site and an open consultation round. Then
``--clients`` threads, each with its own HTTP connection, mix until the time is up:

- ``vet``: ``POST /api/vet`` with one of the sample city's GeoJSON sites;
- ``opinion``: ``POST /api/rounds/{id}/answers`` (同意 / 有条件同意 / 不同意; a second
  answer amends the first; the rounds stay open because another department never answers);
- ``allocation``: ``POST /api/quota/allocations`` of 0.01 to a project, each with its own
  idempotency key.

It prints requests, errors (any answer other than the expected 2xx, or no answer) and
p50/p95/p99 per kind, then stops the server and checks the ledger and the records:
no balance below zero, each year's accounts hold exactly what was granted (by plain SQL),
one allocation operation per successful request, one opinion per successful answer on the
soak's rounds and none anywhere else (the sample city's demo rounds come with opinions of
their own, counted by plain SQL before the clients start), and ``blueprint audit verify``.
Exit 0 only when there were no errors and every check held.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "data" / "sample" / "sites"
YEAR = 2027
COUNTY = "371502"  # 东昌府区
KINDS = ("vet", "opinion", "allocation")
EXPECTED = {"vet": 200, "opinion": 201, "allocation": 200}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    return {**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir),
            "BLUEPRINT_DATABASE_URL": database_url, "BLUEPRINT_BASEMAP_URL": "",
            "PYTHONPATH": str(REPO)}


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "blueprint.service", *args], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"blueprint {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def _wait_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"blueprint serve exited:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/api/layers", timeout=5) as answer:
                if answer.status == 200 and json.load(answer):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"blueprint serve did not answer:\n{log.read_text(errors='replace')}")


def _sites() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SITES.glob("*.geojson"))]


def _check(answer: httpx.Response, status: int, what: str) -> Any:
    if answer.status_code != status:
        raise SystemExit(f"set-up step {what} answered {answer.status_code}: {answer.text}")
    return answer.json()


def set_up(base: str, env: dict[str, str], projects: int) -> dict[str, Any]:
    """Users through the CLI; a grant, projects and open rounds through the API."""
    tokens = {role: _cli(["users", "add", f"soak_{role}", "--role", role, *extra], env).strip()
              for role, extra in (("nr_staff", []), ("city_quota_manager", []),
                                  ("department", ["--department", "nr"]))}
    staff = {"Authorization": f"Bearer {tokens['nr_staff']}"}
    city = {"Authorization": f"Bearer {tokens['city_quota_manager']}"}
    with httpx.Client(base_url=base, timeout=120) as client:
        _check(client.post("/api/quota/grants", headers={**city, "Idempotency-Key": "soak-grant"},
                           json={"year": YEAR, "kind": "land", "county": COUNTY,
                                 "amount": "100000", "reason": "压力测试下达"}), 200, "grant")
        site = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
        rounds, codes = [], []
        for i in range(projects):
            project = _check(client.post("/api/projects", headers=staff, json={
                "name": f"压力测试项目{i + 1}", "county": COUNTY, "industry": "industrial",
                "investment": "1.5", "responsible_unit": "聊城测试有限公司",
                "demands": {"land": "1"}, "emissions": {"SO2": "0.1"}, "site": site}),
                201, "project")
            codes.append(project["code"])  # allocations go only to real projects
            rnd = _check(client.post(f"/api/projects/{project['code']}/rounds", headers=staff,
                                     json={}), 201, "round")
            departments = [a["department"] for a in rnd["departments"]]
            if departments == ["nr"]:
                raise SystemExit("the round consults 自然资源 only: an answer would close it")
            rounds.append(rnd["id"])
    return {"tokens": tokens, "rounds": rounds, "codes": codes}


class Soak:
    """The clients, their timings and their failures."""

    def __init__(self, base: str, setup: dict[str, Any], seconds: float) -> None:
        self.base, self.setup, self.seconds = base, setup, seconds
        self.sites = _sites()
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.ok = {"opinion": 0, "allocation": 0}
        self.lock = threading.Lock()

    def client(self, n: int) -> None:
        rng = random.Random(n)
        tokens = self.setup["tokens"]
        dept = {"Authorization": f"Bearer {tokens['department']}"}
        city = {"Authorization": f"Bearer {tokens['city_quota_manager']}"}
        deadline = time.monotonic() + self.seconds
        with httpx.Client(base_url=self.base, timeout=120) as http:
            while time.monotonic() < deadline:
                kind = rng.choice(KINDS)
                if kind == "vet":
                    args: dict[str, Any] = {"url": "/api/vet", "json": {
                        "site": rng.choice(self.sites), "industry": "industrial"}}
                elif kind == "opinion":
                    answer = rng.choice(("agree", "conditional", "disagree"))
                    args = {"url": f"/api/rounds/{rng.choice(self.setup['rounds'])}/answers",
                            "headers": dept,
                            "json": {"answer": answer, "text": f"压力测试意见 {n}-{answer}"}}
                else:
                    args = {"url": "/api/quota/allocations",
                            "headers": {**city, "Idempotency-Key": f"soak-{uuid.uuid4().hex}"},
                            "json": {"year": YEAR, "kind": "land", "county": COUNTY,
                                     "project": rng.choice(self.setup["codes"]),
                                     "amount": "0.01", "reason": "压力测试配置"}}
                started = time.perf_counter()
                try:
                    answer_ = http.post(**args)
                    status, text = answer_.status_code, answer_.text[:300]
                except httpx.HTTPError as exc:
                    status, text = 0, repr(exc)
                took = time.perf_counter() - started
                with self.lock:
                    self.timings[kind].append(took)
                    if status != EXPECTED[kind]:
                        self.errors[kind].append(f"{status}: {text}")
                    elif kind in self.ok:
                        self.ok[kind] += 1

    def run(self, clients: int) -> None:
        threads = [threading.Thread(target=self.client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def figures(soak: Soak) -> dict[str, Any]:
    """Requests, errors and p50/p95/p99 in milliseconds, per kind and in all."""
    result: dict[str, Any] = {}
    every: list[float] = []
    for kind in KINDS:
        values = soak.timings.get(kind, [])
        every += values
        result[kind] = {"requests": len(values), "errors": len(soak.errors.get(kind, [])),
                        **{f"p{q}_ms": round(_quantile(values, q / 100) * 1000, 1)
                           for q in (50, 95, 99)}}
    result["all"] = {"requests": len(every),
                     "errors": sum(len(v) for v in soak.errors.values()),
                     **{f"p{q}_ms": round(_quantile(every, q / 100) * 1000, 1)
                        for q in (50, 95, 99)}}
    return result


def count_opinions(data_dir: Path, database_url: str) -> int:
    """Every opinion in the store, by plain SQL (before the clients start: the sample's)."""
    from blueprint.layers.store import open_store

    store = open_store(database_url, data_dir)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM opinions")).scalar() or 0)
    finally:
        store.close()


def ledger_checks(data_dir: Path, database_url: str, soak: Soak, opinions_before: int
                  ) -> dict[str, Any]:
    """The ledger invariants by plain SQL, and the records the soak wrote, counted."""
    from blueprint.layers.store import open_store

    store = open_store(database_url, data_dir)
    try:
        with store.engine.connect() as conn:
            balances = {(int(y), k, t, o): int(v) for y, k, t, o, v in conn.execute(sa.text(
                "SELECT a.year, a.kind, a.type, a.owner,"
                " COALESCE((SELECT SUM(e.amount) FROM quota_entries e"
                " WHERE e.credit_id = a.id), 0)"
                " - COALESCE((SELECT SUM(e.amount) FROM quota_entries e"
                " WHERE e.debit_id = a.id), 0) FROM quota_accounts a"))}
            granted: dict[tuple[int, str], int] = defaultdict(int)
            for y, k, amount in conn.execute(sa.text(
                    "SELECT g.year, g.kind, g.amount FROM quota_operations g WHERE g.op = 'grant'"
                    " AND NOT EXISTS (SELECT 1 FROM quota_operations r WHERE r.op = 'reverse'"
                    " AND r.target_id = g.id)")):
                granted[(int(y), k)] += int(amount)
            allocations = int(conn.execute(sa.text(
                "SELECT count(*) FROM quota_operations WHERE op = 'allocate'"
                " AND key LIKE '%/soak-%'")).scalar() or 0)
            # the soak's own rounds only: the sample city (serve --sample) has demo rounds
            # with opinions of their own
            opinions = int(conn.execute(
                sa.text("SELECT count(*) FROM opinions WHERE round_id IN :rounds")
                .bindparams(sa.bindparam("rounds", expanding=True)),
                {"rounds": list(soak.setup["rounds"])}).scalar() or 0)
            elsewhere = int(conn.execute(sa.text("SELECT count(*) FROM opinions"))
                            .scalar() or 0) - opinions - opinions_before
    finally:
        store.close()
    negative = [str(k) for k, v in balances.items() if k[2] != "source" and v < 0]
    unbalanced = []
    for scope in {(y, k) for y, k, *_ in balances}:
        held = sum(v for (y, k, t, _), v in balances.items() if (y, k) == scope and t != "source")
        source = sum(v for (y, k, t, _), v in balances.items() if (y, k) == scope and t == "source")
        if not held == granted.get(scope, 0) == -source:
            unbalanced.append(f"{scope}: held {held}, granted {granted.get(scope)}, "
                              f"source {source}")
    return {"accounts": len(balances), "negative_balances": negative,
            "unbalanced_scopes": unbalanced,
            "allocations_posted": allocations, "allocations_ok": soak.ok["allocation"],
            "opinions_stored": opinions, "opinions_ok": soak.ok["opinion"],
            "opinions_before": opinions_before, "opinions_added_elsewhere": elsewhere}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="blueprint serve --workers")
    parser.add_argument("--projects", type=int, default=8, help="projects with an open round")
    parser.add_argument("--database-url", default="", help="PostGIS (an empty schema); "
                        "default: the embedded engine")
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder")
    parser.add_argument("--output", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="blueprint-soak-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = _env(data_dir, args.database_url)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = data_dir / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "blueprint.service", "serve", "--sample", "--port",
                 str(port), "--workers", str(args.workers)], cwd=REPO, env=env, stdout=out,
                stderr=subprocess.STDOUT)
            try:
                _wait_up(base, proc, log)
                setup = set_up(base, env, args.projects)
                opinions_before = count_opinions(data_dir, args.database_url)
                soak = Soak(base, setup, args.seconds)
                started = time.monotonic()
                soak.run(args.clients)
                elapsed = time.monotonic() - started
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        server_errors = [line for line in log.read_text(errors="replace").splitlines()
                         if "Traceback" in line or " 500 " in line]
        checks = ledger_checks(data_dir, args.database_url, soak, opinions_before)
        verify = subprocess.run([sys.executable, "-m", "blueprint.service", "audit", "verify"],
                                env=env, cwd=REPO, capture_output=True, text=True, check=False)
        result = {
            "engine": "postgis" if args.database_url else "embedded",
            "clients": args.clients, "workers": args.workers, "seconds": round(elapsed, 1),
            "figures": figures(soak), "ledger": checks,
            "audit_verify": {"exit": verify.returncode, "output": verify.stdout.strip()[:300]},
            "server_log_errors": server_errors[:5],
            "error_samples": {k: v[:3] for k, v in soak.errors.items()},
        }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.output:
        args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    good = (result["figures"]["all"]["errors"] == 0 and not checks["negative_balances"]
            and not checks["unbalanced_scopes"] and not server_errors
            and checks["allocations_posted"] == checks["allocations_ok"]
            and checks["opinions_stored"] == checks["opinions_ok"]
            and checks["opinions_added_elsewhere"] == 0 and verify.returncode == 0)
    print("soak: " + ("all checks held" if good else "FAILED"), file=sys.stderr)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
