#!/usr/bin/env bash
# Starts (or stops) throw-away PostgreSQL, MariaDB and Redis servers on
# loopback for the integration tests, each in its own temp directory.
#
#   eval "$(scripts/test-servers.sh start)"   # prints the export lines
#   npm test
#   scripts/test-servers.sh stop
#
# Used by .ci/run and by developers alike. Works as root (the servers that
# refuse root run as the `postgres` / `mysql` system users) or as a normal
# user. Everything but the export lines goes to stderr.
#
# Environment: ROLLBACK_TEST_SERVERS_DIR (state dir, default
# /tmp/git-rollback-test-servers), ROLLBACK_TEST_PG_PORT,
# ROLLBACK_TEST_MYSQL_PORT, ROLLBACK_TEST_REDIS_PORT (default: a free port
# each, chosen by the kernel, so two runs on one host never collide).
set -euo pipefail

STATE="${ROLLBACK_TEST_SERVERS_DIR:-/tmp/git-rollback-test-servers}"
ADMIN=rollback_admin

log() { printf 'test-servers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A port nobody listens on now: the kernel picks it (bind to port 0). A server
# started moments later could in theory lose it to another program; the
# start-up checks below would then fail loudly, never silently share a port.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

PG_PORT="${ROLLBACK_TEST_PG_PORT:-$(free_port)}"
MY_PORT="${ROLLBACK_TEST_MYSQL_PORT:-$(free_port)}"
REDIS_PORT="${ROLLBACK_TEST_REDIS_PORT:-$(free_port)}"

# Runs a command as a system user when we are root, as ourselves otherwise.
as_user() {
  local user="$1"; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  [ -n "$dir" ] || die "PostgreSQL server not found: apt-get install postgresql"
  printf '%s' "$dir"
}

wait_for() { # wait_for <what> <seconds> <command…>
  local what="$1" seconds="$2"; shift 2
  for _ in $(seq 1 $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$what did not answer within ${seconds}s (logs in $STATE)"
}

start() {
  [ ! -e "$STATE/started" ] || die "already started ($STATE); run: $0 stop"
  command -v mariadbd >/dev/null || die "mariadbd not found: apt-get install mariadb-server"
  command -v redis-server >/dev/null || die "redis-server not found: apt-get install redis-server"
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  # A half-started set is worse than none: stop whatever did start.
  trap 'log "start failed; stopping what started"; stop' EXIT
  # One random password per run: tests check it never appears in output.
  local pw
  pw="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s' "$pw" >"$STATE/password"
  chmod 600 "$STATE/password"

  # PostgreSQL: own cluster, password (scram) auth on TCP, trust on its private socket.
  local bin; bin="$(pg_bin)"
  mkdir -p "$STATE/pg" "$STATE/pg-sock"
  printf '%s\n' "$pw" >"$STATE/pg-pwfile"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$STATE/pg" "$STATE/pg-sock" "$STATE/pg-pwfile"; fi
  as_user postgres "$bin/initdb" -D "$STATE/pg/data" -U "$ADMIN" --pwfile="$STATE/pg-pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$STATE/pg-initdb.log" 2>&1 \
    || { cat "$STATE/pg-initdb.log" >&2; die "initdb failed"; }
  rm -f "$STATE/pg-pwfile"
  as_user postgres "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 30 \
    -o "-p $PG_PORT -k $STATE/pg-sock -c listen_addresses=127.0.0.1 -c fsync=off" start >&2 \
    || { cat "$STATE/pg/server.log" >&2; die "PostgreSQL did not start"; }
  touch "$STATE/started"
  wait_for PostgreSQL 30 env PGPASSWORD="$pw" "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$ADMIN" -d postgres -Atc 'select 1'
  log "PostgreSQL on 127.0.0.1:$PG_PORT"

  # MariaDB: own datadir; root over the private socket only, a password user on TCP.
  # Its own tmpdir: temp tables live there, out of reach of anything that cleans /tmp.
  mkdir -p "$STATE/my/tmp"
  local myuser=()
  if [ "$(id -u)" -eq 0 ]; then chown -R mysql: "$STATE/my"; myuser=(--user=mysql); fi
  mariadb-install-db "${myuser[@]}" --datadir="$STATE/my/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$STATE/my-install.log" 2>&1 || { cat "$STATE/my-install.log" >&2; die "mariadb-install-db failed"; }
  mariadbd --no-defaults "${myuser[@]}" --datadir="$STATE/my/data" --socket="$STATE/my/mysqld.sock" \
    --pid-file="$STATE/my/mysqld.pid" --port="$MY_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-error="$STATE/my/error.log" --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --tmpdir="$STATE/my/tmp" >/dev/null 2>&1 &
  wait_for MariaDB 30 mariadb --no-defaults --socket="$STATE/my/mysqld.sock" -uroot -e 'select 1'
  mariadb --no-defaults --socket="$STATE/my/mysqld.sock" -uroot <<SQL
CREATE USER '$ADMIN'@'%' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO '$ADMIN'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  wait_for MariaDB 10 env MYSQL_PWD="$pw" mariadb --no-defaults -h 127.0.0.1 -P "$MY_PORT" -u "$ADMIN" -e 'select 1'
  log "MariaDB on 127.0.0.1:$MY_PORT"

  # Redis: no persistence, password required.
  mkdir -p "$STATE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$STATE/redis" \
    --daemonize yes --pidfile "$STATE/redis/redis.pid" --logfile "$STATE/redis/redis.log" --requirepass "$pw" >&2
  wait_for Redis 10 env REDISCLI_AUTH="$pw" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
  log "Redis on 127.0.0.1:$REDIS_PORT"

  trap - EXIT
  cat <<EOF
export ROLLBACK_TEST_PG_URL='postgres://$ADMIN:$pw@127.0.0.1:$PG_PORT/postgres'
export ROLLBACK_TEST_MYSQL_URL='mysql://$ADMIN:$pw@127.0.0.1:$MY_PORT/mysql'
export ROLLBACK_TEST_REDIS_URL='redis://:$pw@127.0.0.1:$REDIS_PORT/0'
EOF
}

stop_pidfile() { # stop_pidfile <name> <pidfile>
  local name="$1" pidfile="$2" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
    log "$name stopped"
  fi
}

stop() {
  [ -d "$STATE" ] || { log "nothing to stop"; return 0; }
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_user postgres "$(pg_bin)/pg_ctl" -D "$STATE/pg/data" -m immediate -w stop >/dev/null 2>&1 \
      || stop_pidfile PostgreSQL <(head -n1 "$STATE/pg/data/postmaster.pid")
    log "PostgreSQL stopped"
  fi
  stop_pidfile MariaDB "$STATE/my/mysqld.pid"
  stop_pidfile Redis "$STATE/redis/redis.pid"
  rm -rf "$STATE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
