#!/usr/bin/env bash
# deploy/docker-entrypoint.sh - the one entry point of the shortener image (deploy/Dockerfile).
#
#   docker run IMAGE write-svc | redirect-svc | event-worker     a service, exec'd as PID 1
#   docker run IMAGE migrate                 scripts/migrate.sh: apply schema/ to DATABASE_URL
#   docker run IMAGE seed [DIR]              scripts/seed.sh: load the seed CSVs (default
#                                            /app/schema/seed); clears the read-model marker
#                                            when REDIS_URL is set, so write-svc rebuilds it
#   docker run IMAGE healthcheck             GET /readyz of the service that is PID 1 in this
#                                            container; exit 0 on 200 (Docker HEALTHCHECK)
#   docker run IMAGE help                    this text and each service's configuration table
#   docker run IMAGE <anything else>         exec'd as is (a shell for debugging, ...)
#
# The services read every setting from the environment (`<service> --help`); the image sets
# BIND_ADDR=0.0.0.0, because a container's loopback is not reachable from outside it.
# A service is exec'd, not run as a child: it receives SIGTERM directly and stops cleanly.
set -euo pipefail

app=/app

# healthcheck: bash's /dev/tcp, so that the image needs no HTTP client. The port is $PORT or
# the default of the service running as PID 1 (its name is /proc/1/comm).
healthcheck() {
    local svc port status
    svc=$(cat /proc/1/comm 2>/dev/null || true)
    case $svc in
    write-svc) port=${PORT:-8081} ;;
    redirect-svc) port=${PORT:-8091} ;;
    event-worker) port=${PORT:-8099} ;;
    *)
        printf 'healthcheck: PID 1 is "%s", not a shortener service\n' "$svc" >&2
        return 1
        ;;
    esac
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    IFS= read -r -t 5 status <&3 || return 1
    exec 3<&-
    case $status in
    "HTTP/1."?" 200 "*) return 0 ;;
    *)
        printf 'healthcheck: %s /readyz answered: %s\n' "$svc" "${status%$'\r'}" >&2
        return 1
        ;;
    esac
}

cmd=${1:-write-svc}
[ "$#" = 0 ] || shift
case $cmd in
write-svc | redirect-svc | event-worker)
    exec "$app/bin/$cmd" "$@"
    ;;
migrate)
    exec "$app/scripts/migrate.sh" "$@"
    ;;
seed)
    exec "$app/scripts/seed.sh" "$@"
    ;;
healthcheck)
    healthcheck
    ;;
help | --help | -h)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    for svc in write-svc redirect-svc event-worker; do
        printf '\n== %s\n' "$svc"
        "$app/bin/$svc" --help
    done
    ;;
*)
    exec "$cmd" "$@"
    ;;
esac
