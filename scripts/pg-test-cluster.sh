#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # starts one (or reuses the running one), exports STEWARD_TEST_PG_URL
#   scripts/pg-test-cluster.sh url               # prints the URL if the cluster is running (exit 1 if not)
#   scripts/pg-test-cluster.sh stop              # stops it and removes its directory
#
# Only the `export …` line goes to stdout, so `eval` is safe; progress goes to stderr.
# PostgreSQL refuses to run as root, so as root the server binaries run as the `postgres` OS user.
#
# Environment:
#   STEWARD_PG_BIN       directory of initdb/pg_ctl/postgres (default /usr/lib/postgresql/15/bin)
#   STEWARD_PG_ENV_FILE  state file holding the URL and data dir (default /tmp/steward-pg-test.env);
#                        a different file gives an independent cluster.
set -euo pipefail

PG_BIN="${STEWARD_PG_BIN:-/usr/lib/postgresql/15/bin}"
ENV_FILE="${STEWARD_PG_ENV_FILE:-/tmp/steward-pg-test.env}"
LOCK_FILE="${ENV_FILE}.lock"
DB_NAME=steward_test
PG_USER=postgres

log() { echo "pg-test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# Runs a PostgreSQL binary as the postgres user when we are root, from a directory it can read.
# fd 9 (the lock) is closed for it, or the server it starts would hold the lock for its lifetime.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u "$PG_USER" -- "$@") 9>&-
  else
    (cd / && "$@") 9>&-
  fi
}

# Loads STEWARD_TEST_PG_URL / STEWARD_TEST_PG_DIR / STEWARD_TEST_PG_PORT from the state file.
load_state() {
  STEWARD_TEST_PG_URL=''
  STEWARD_TEST_PG_DIR=''
  STEWARD_TEST_PG_PORT=''
  [[ -f "$ENV_FILE" ]] || return 1
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      STEWARD_TEST_PG_URL) STEWARD_TEST_PG_URL="$value" ;;
      STEWARD_TEST_PG_DIR) STEWARD_TEST_PG_DIR="$value" ;;
      STEWARD_TEST_PG_PORT) STEWARD_TEST_PG_PORT="$value" ;;
    esac
  done <"$ENV_FILE"
  [[ -n "$STEWARD_TEST_PG_URL" && -n "$STEWARD_TEST_PG_DIR" ]]
}

is_running() {
  load_state || return 1
  [[ -d "$STEWARD_TEST_PG_DIR/data" ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$STEWARD_TEST_PG_DIR/data" >/dev/null 2>&1
}

free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
  else
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
  fi
}

print_url() { echo "export STEWARD_TEST_PG_URL=$STEWARD_TEST_PG_URL"; }

cmd_start() {
  exec 9>"$LOCK_FILE"
  flock 9
  if is_running; then
    log "already running on port ${STEWARD_TEST_PG_PORT:-?} ($STEWARD_TEST_PG_DIR)"
    print_url
    return 0
  fi
  # A stale state file (cluster died, machine rebooted): clean up what it names.
  if load_state && [[ -n "$STEWARD_TEST_PG_DIR" ]]; then
    log "removing stale cluster $STEWARD_TEST_PG_DIR"
    as_pg "$PG_BIN/pg_ctl" stop -D "$STEWARD_TEST_PG_DIR/data" -m immediate >/dev/null 2>&1 || true
    rm -rf "$STEWARD_TEST_PG_DIR"
  fi
  rm -f "$ENV_FILE"

  [[ -x "$PG_BIN/initdb" ]] || die "no PostgreSQL binaries at $PG_BIN (set STEWARD_PG_BIN)"
  if [[ $EUID -eq 0 ]]; then
    id "$PG_USER" >/dev/null 2>&1 || die "running as root, but there is no '$PG_USER' OS user to run PostgreSQL as"
  fi

  local started=$SECONDS dir port attempt
  dir="$(mktemp -d /tmp/steward-pg.XXXXXX)"
  chmod 700 "$dir"
  [[ $EUID -eq 0 ]] && chown "$PG_USER:" "$dir"

  as_pg "$PG_BIN/initdb" -D "$dir/data" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }

  # The port is free when picked but could be taken before postgres binds it: retry a few times.
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/postgres.log" \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null 2>&1; then
      break
    fi
    port=''
    log "start on a random port failed (attempt $attempt)"
  done
  if [[ -z "$port" ]]; then
    tail -n 30 "$dir/postgres.log" >&2 || true
    rm -rf "$dir"
    die "could not start PostgreSQL"
  fi

  as_pg "$PG_BIN/createdb" -h "$dir" -p "$port" -U "$PG_USER" "$DB_NAME" ||
    { as_pg "$PG_BIN/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true; rm -rf "$dir"; die "createdb failed"; }

  STEWARD_TEST_PG_URL="postgres://$PG_USER@127.0.0.1:$port/$DB_NAME"
  STEWARD_TEST_PG_DIR="$dir"
  STEWARD_TEST_PG_PORT="$port"
  {
    echo "STEWARD_TEST_PG_URL=$STEWARD_TEST_PG_URL"
    echo "STEWARD_TEST_PG_DIR=$STEWARD_TEST_PG_DIR"
    echo "STEWARD_TEST_PG_PORT=$STEWARD_TEST_PG_PORT"
  } >"$ENV_FILE"
  log "started on port $port in $((SECONDS - started))s ($dir)"
  print_url
}

cmd_stop() {
  exec 9>"$LOCK_FILE"
  flock 9
  if ! load_state; then
    log "not running"
    rm -f "$ENV_FILE"
    return 0
  fi
  if [[ -d "$STEWARD_TEST_PG_DIR/data" ]]; then
    as_pg "$PG_BIN/pg_ctl" stop -w -D "$STEWARD_TEST_PG_DIR/data" -m fast >/dev/null 2>&1 ||
      as_pg "$PG_BIN/pg_ctl" stop -D "$STEWARD_TEST_PG_DIR/data" -m immediate >/dev/null 2>&1 || true
  fi
  case "$STEWARD_TEST_PG_DIR" in
    /tmp/steward-pg.*) rm -rf "$STEWARD_TEST_PG_DIR" ;;
    *) log "not removing unexpected directory $STEWARD_TEST_PG_DIR" ;;
  esac
  rm -f "$ENV_FILE"
  log "stopped"
}

cmd_url() {
  if is_running; then
    echo "$STEWARD_TEST_PG_URL"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
