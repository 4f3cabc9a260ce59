#!/usr/bin/env bash
# A hot standby of the local PostgreSQL 15 cluster "main" (127.0.0.1:5432), streaming on
# 127.0.0.1:5433, for the read-replica tests (tests/test_read_replica.py, docs/scaling.md).
#
# Only *adds* a standby: the main cluster is never stopped, restarted or reconfigured, as
# long as it already allows replication from 127.0.0.1 with a password (Debian's default
# pg_hba.conf does; if not, one `host replication` line is added and the main cluster is
# reloaded — a reload, never a restart) and wal_level is replica or logical (the default).
# Idempotent and quick: a standby that is already streaming is left alone (< 0.1 s); one
# that is stopped, broken or fell too far behind is rebuilt with pg_basebackup (~2 s for a
# small cluster). The standby lives in $BLUEPRINT_REPLICA_DIR (default
# /tmp/blueprint-pg15-replica), owned by postgres, started with pg_ctl (not a Debian
# cluster: pg_lsclusters does not list it). Stop it with:
#   runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/blueprint-pg15-replica stop
# Needs root (or sudo) and the postgres superuser's password 'postgres' (tests/run.sh sets it).
set -euo pipefail

PORT="${BLUEPRINT_REPLICA_PORT:-5433}"
DIR="${BLUEPRINT_REPLICA_DIR:-/tmp/blueprint-pg15-replica}"
BIN=/usr/lib/postgresql/15/bin
PRIMARY="host=127.0.0.1 port=5432 user=postgres password=postgres application_name=blueprint_replica"
HBA=/etc/postgresql/15/main/pg_hba.conf
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
primary_sql() { as_postgres psql -qAtX -p 5432 -c "$1"; }
standby_sql() { as_postgres psql -qAtX -h "$DIR" -p "$PORT" -d postgres -c "$1" 2>/dev/null; }
streaming() {
  [ "$(standby_sql "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver
        WHERE status = 'streaming')" || true)" = "t" ]
}

if streaming; then
  echo "standby already streaming on 127.0.0.1:$PORT ($DIR)"
  exit 0
fi

# The main cluster must let a standby connect: wal_level and a replication line in pg_hba.
level=$(primary_sql "SHOW wal_level")
if [ "$level" = "minimal" ]; then
  echo "wal_level=minimal on the main cluster: a standby needs replica (changing it needs a" \
       "restart, which this script never does)" >&2
  exit 1
fi
if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5|password)' "$HBA"; then
  echo "host    replication     postgres        127.0.0.1/32            scram-sha-256" \
    | $SUDO tee -a "$HBA" >/dev/null
  primary_sql "SELECT pg_reload_conf()" >/dev/null
  echo "added a replication line for 127.0.0.1 to $HBA and reloaded the main cluster"
fi

# Anything left from an earlier run (stopped, broken, too far behind): stop it, start over.
if [ -f "$DIR/postmaster.pid" ]; then
  as_postgres "$BIN/pg_ctl" -D "$DIR" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$DIR"
as_postgres "$BIN/pg_basebackup" -d "$PRIMARY" -D "$DIR" -R -X stream -c fast

# A hot standby needs these at least as large as on the primary.
limits=""
for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions \
            max_locks_per_transaction; do
  limits+="$name = $(primary_sql "SHOW $name")"$'\n'
done
as_postgres tee "$DIR/postgresql.conf" >/dev/null <<EOF
# written by .ci/replica.sh: a hot standby of 127.0.0.1:5432
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 32MB
logging_collector = off
$limits
EOF
as_postgres tee "$DIR/pg_hba.conf" >/dev/null <<EOF
local   all   all                   peer
host    all   all   127.0.0.1/32    scram-sha-256
EOF
as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/standby.log" -w -t 60 start >/dev/null

for _ in $(seq 1 60); do
  if streaming; then
    echo "standby streaming on 127.0.0.1:$PORT ($DIR)"
    exit 0
  fi
  sleep 0.5
done
echo "the standby did not start streaming; see $DIR/standby.log" >&2
tail -n 20 "$DIR/standby.log" >&2 || true
exit 1
