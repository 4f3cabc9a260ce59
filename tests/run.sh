#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian machine: installs what the tests need
# (Python packages, PostgreSQL 15 + PostGIS 3, Chromium), starts PostgreSQL, runs pytest.
# Safe to run again: every step checks first. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

echo "== Python packages"
python3 -m pip install -q -e '.[test]'

need_apt=()
[ -x /usr/lib/postgresql/15/bin/postgres ] && \
  [ -f /usr/share/postgresql/15/extension/postgis.control ] || need_apt+=(postgresql-15-postgis-3 postgresql-15)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# pdftotext / pdftoppm read the 初审意见书 PDF back (tests/test_review_report.py)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
# a CJK font so that browser-test screenshots show the Chinese UI
fc-list 2>/dev/null | grep -qi wqy || need_apt+=(fonts-wqy-microhei)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# apt-get may have upgraded postgresql-15 under a running server (installing PostGIS next to
# an older minor release does): that server still runs the old, deleted binary and cannot load
# the new libraries (CREATE EXTENSION postgis fails: plpgsql.so "undefined symbol"). Restart
# the cluster and stop a standby left from an earlier run (.ci/replica.sh builds it again).
old_server() {
  for pid in $(pgrep -u postgres -x postgres || true); do
    $SUDO readlink "/proc/$pid/exe" 2>/dev/null | grep -q '(deleted)' && return 0
  done
  return 1
}
if old_server; then
  echo "== PostgreSQL was upgraded while running: restarting it"
  if pg_lsclusters -h 2>/dev/null | grep -q '^15 \+main .* online'; then
    $SUDO pg_ctlcluster 15 main restart
  fi
  replica="${BLUEPRINT_REPLICA_DIR:-/tmp/blueprint-pg15-replica}"
  if [ -f "$replica/postmaster.pid" ]; then
    as_postgres /usr/lib/postgresql/15/bin/pg_ctl -D "$replica" -m fast stop >/dev/null || true
  fi
fi

echo "== PostgreSQL"
clusters=$(pg_lsclusters -h 2>/dev/null || true)
if ! grep -q '^15 \+main' <<<"$clusters"; then
  $SUDO pg_createcluster 15 main >/dev/null
  clusters=$(pg_lsclusters -h)
fi
if ! grep -q '^15 \+main .* online' <<<"$clusters"; then
  $SUDO pg_ctlcluster 15 main start
fi
for _ in $(seq 1 30); do
  as_postgres psql -qAtc 'SELECT 1' >/dev/null 2>&1 && break || sleep 1
done
as_postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
as_postgres psql -qAtc "SELECT 1 FROM pg_database WHERE datname='blueprint_test'" \
  | grep -q 1 || as_postgres createdb blueprint_test
export BLUEPRINT_TEST_DATABASE_URL="${BLUEPRINT_TEST_DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5432/blueprint_test}"
if [ "${CI:-}" = "true" ]; then
  # a hot standby of the cluster above on port 5433 (tests/test_read_replica.py); only adds one
  echo "== PostgreSQL hot standby"
  bash .ci/replica.sh
  export BLUEPRINT_TEST_READ_DATABASE_URL="${BLUEPRINT_TEST_READ_DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5433/blueprint_test}"
fi

echo "== Lint and types"
python3 -m ruff check .
python3 -m mypy

# every test schema is made in blueprint_test: create the extension once, before parallel
# workers would race to create it
as_postgres psql -d blueprint_test -qc "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null

echo "== Tests"
# With no arguments: the suite on BLUEPRINT_TEST_WORKERS processes (default 2; each takes whole
# test files, pytest-xdist --dist loadfile), then, alone, the tests that restart PostgreSQL or
# load the machine on purpose, or assert what another test's open transaction would change
# (marked alone). With arguments (files, -k, -x …): one plain pytest run.
workers="${BLUEPRINT_TEST_WORKERS:-2}"
if [ $# -gt 0 ] || [ "$workers" = "1" ]; then
  python3 -m pytest -q "$@"
else
  status=0
  python3 -m pytest -q -n "$workers" --dist loadfile \
    -m "not server_restart and not stress and not alone" || status=$?
  echo "== Tests that restart PostgreSQL, load the machine or need it to themselves, alone"
  python3 -m pytest -q -m "server_restart or stress or alone" || status=$((status > 0 ? status : $?))
  exit "$status"
fi
