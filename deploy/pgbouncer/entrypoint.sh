#!/usr/bin/env bash
# deploy/pgbouncer/entrypoint.sh - PgBouncer in front of the shortener's PostgreSQL
# (deploy/pgbouncer/Dockerfile; docs/DEPLOY.md, "PgBouncer").
#
#   docker run -e DATABASE_URL=postgresql://user:password@postgres:5432/shortener IMAGE
#   docker run IMAGE healthcheck          exit 0 when PgBouncer answers on its port (pg_isready)
#   docker run IMAGE <anything else>      exec'd as is (a shell, psql to the admin console, ...)
#
# Writes pgbouncer.ini and userlist.txt into /tmp/pgbouncer (the root file system is read-only)
# from the environment, then execs pgbouncer as PID 1 (logging to stderr). Settings:
#   DATABASE_URL                     required: the PostgreSQL the pool connects to,
#                                    postgresql://USER:PASSWORD@HOST[:PORT]/DB[?sslmode=MODE]
#                                    (%XX escapes decoded). Clients log in with the same user
#                                    and password (SCRAM-SHA-256; PgBouncer then logs in to
#                                    PostgreSQL with them), to the database name DB.
#   PGBOUNCER_PORT (6432)            the port clients connect to
#   PGBOUNCER_LISTEN_ADDR (0.0.0.0)  the address it listens on (tests: 127.0.0.1)
#   PGBOUNCER_CONF_DIR (/tmp/pgbouncer)  where the two files (and the pid file) are written
#   PGBOUNCER_POOL_MODE (transaction)  transaction: write-svc with PG_POOLER=transaction
#                                    (DECISIONS B1); session for clients that need a session
#   PGBOUNCER_POOL_SIZE (20)         server connections per database and user: what
#                                    PostgreSQL sees however many clients there are
#   PGBOUNCER_RESERVE_POOL (5)       extra server connections after a client waited 3 s
#   PGBOUNCER_MAX_CLIENT_CONN (2000) client connections at most (write-svc: PG_POOL_SIZE each)
#   PGBOUNCER_STATEMENT_TIMEOUT_MS (5000)  statement_timeout of every server connection
#                                    (connect_query): write-svc's PG_STATEMENT_TIMEOUT_MS, which
#                                    a transaction-mode pooler cannot take from the client
#   PGBOUNCER_QUERY_WAIT_TIMEOUT_S (10)  a client waiting this long for a server connection
#                                    is disconnected (write-svc answers 503 and reconnects)
# sslmode in DATABASE_URL becomes server_tls_sslmode (CA file: the system's). The user is also
# PgBouncer's admin (SHOW POOLS, PAUSE, RESUME, RELOAD on the database "pgbouncer").
# Signals: SIGINT (the image's STOPSIGNAL) waits for the transactions in flight, then exits;
# SIGTERM exits at once. docs/FAILURE_MODES.md says what write-svc sees.
set -euo pipefail

die() {
    printf 'pgbouncer-entrypoint: %s\n' "$*" >&2
    exit 2
}

# %XX escapes of a URL part.
urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

port=${PGBOUNCER_PORT:-6432}

case ${1:-pgbouncer} in
healthcheck) exec pg_isready -q -h 127.0.0.1 -p "$port" -t 3 ;;
pgbouncer) ;;
*) exec "$@" ;;
esac

url=${DATABASE_URL:?set DATABASE_URL to the PostgreSQL the pool connects to}
re='^postgres(ql)?://([^:@/]+):([^@/]*)@([^:/?]+)(:([0-9]+))?/([^?]+)(\?(.*))?$'
[[ $url =~ $re ]] || die "DATABASE_URL is not postgresql://USER:PASSWORD@HOST[:PORT]/DB[?...]"
user=$(urldecode "${BASH_REMATCH[2]}")
password=$(urldecode "${BASH_REMATCH[3]}")
host=${BASH_REMATCH[4]}
pg_port=${BASH_REMATCH[6]:-5432}
db=$(urldecode "${BASH_REMATCH[7]}")
query=${BASH_REMATCH[9]}
sslmode=disable
if [[ $query =~ (^|&)sslmode=([a-z-]+) ]]; then
    sslmode=${BASH_REMATCH[2]}
fi
[ -n "$password" ] || die "DATABASE_URL has no password (PgBouncer authenticates its clients with it)"
for v in "$user" "$password" "$db"; do
    case $v in *'"'* | *"'"* | *$'\n'*) die "quotes and newlines are not supported in DATABASE_URL" ;; esac
done
for n in "$port" "${PGBOUNCER_POOL_SIZE:=20}" "${PGBOUNCER_RESERVE_POOL:=5}" \
    "${PGBOUNCER_MAX_CLIENT_CONN:=2000}" "${PGBOUNCER_STATEMENT_TIMEOUT_MS:=5000}" \
    "${PGBOUNCER_QUERY_WAIT_TIMEOUT_S:=10}"; do
    [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number (PGBOUNCER_* settings)"
done
mode=${PGBOUNCER_POOL_MODE:-transaction}
case $mode in session | transaction) ;; *) die "PGBOUNCER_POOL_MODE is session or transaction" ;; esac

dir=${PGBOUNCER_CONF_DIR:-/tmp/pgbouncer}
mkdir -p "$dir"
umask 077
printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
$db = host=$host port=$pg_port dbname=$db connect_query='SET statement_timeout = $PGBOUNCER_STATEMENT_TIMEOUT_MS'

[pgbouncer]
listen_addr = ${PGBOUNCER_LISTEN_ADDR:-0.0.0.0}
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = $user
pool_mode = $mode
default_pool_size = $PGBOUNCER_POOL_SIZE
reserve_pool_size = $PGBOUNCER_RESERVE_POOL
reserve_pool_timeout = 3
max_client_conn = $PGBOUNCER_MAX_CLIENT_CONN
query_wait_timeout = $PGBOUNCER_QUERY_WAIT_TIMEOUT_S
server_tls_sslmode = $sslmode
server_tls_ca_file = /etc/ssl/certs/ca-certificates.crt
server_lifetime = 3600
server_idle_timeout = 600
ignore_startup_parameters = extra_float_digits
logfile =
pidfile = $dir/pgbouncer.pid
syslog = 0
log_connections = 0
log_disconnections = 0
INI
exec pgbouncer "$dir/pgbouncer.ini"
