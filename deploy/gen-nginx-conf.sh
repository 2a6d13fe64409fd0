#!/usr/bin/env bash
# deploy/gen-nginx-conf.sh - render deploy/nginx.conf.in for the containers' front door.
#
#   deploy/gen-nginx-conf.sh                  rewrite deploy/compose/nginx.conf and
#                                             deploy/k8s/nginx.conf
#   deploy/gen-nginx-conf.sh -o DIR           write DIR/compose.conf and DIR/k8s.conf instead
#                                             (tests/ops/test_deploy.sh compares them)
#   K8S_NAMESPACE=prod deploy/gen-nginx-conf.sh   another namespace for the Kubernetes names
#
# The routing, retries, timeouts and JSON error pages are the template's, unchanged, so that
# every deployment routes exactly like `make run`. What differs is filled in here:
#   upstreams  one `server NAME:PORT resolve` per service: nginx (1.27.3 or later) re-resolves
#              the DNS name and balances over every address it returns, i.e. every replica
#              (compose: the service name on Docker's DNS 127.0.0.11; Kubernetes: the
#              headless Service, whose DNS answer lists the ready pods); `zone` is required
#              for `resolve`; max_fails/fail_timeout as in make run
#   paths      PREFIX /tmp/nginx (pid, temp dirs; the container creates /tmp/nginx/tmp), the
#              error log on stderr, no access log (the services log every request)
#   listen     8080 on every interface of the container or pod
#   redirects  a limit_req per client address on the short-code location (DEPLOY.md, "Rate
#              limits"): REDIRECT_RATE (20r/s) with REDIRECT_BURST (40, nodelay) in a 10 MB zone,
#              429 JSON above it; Kubernetes takes the client address from the Ingress
#              controller's X-Forwarded-For (real_ip from the private ranges), compose is the edge
#   status     the template's stub_status server (/nginx_status) on :STATUS_LISTEN, for
#              nginx-prometheus-exporter: compose 8088 on the container network (never
#              published), Kubernetes 127.0.0.1:8088 (the exporter is a sidecar in the pod)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

shopt -u patsub_replacement 2>/dev/null || true

out_compose=$REPO_ROOT/deploy/compose/nginx.conf
out_k8s=$REPO_ROOT/deploy/k8s/nginx.conf
if [ "${1:-}" = -o ] && [ -n "${2:-}" ]; then
    out_compose=$2/compose.conf
    out_k8s=$2/k8s.conf
elif [ "$#" -gt 0 ]; then
    die "usage: ${0##*/} [-o DIR]"
fi
ns=${K8S_NAMESPACE:-shortener}
template=$REPO_ROOT/deploy/nginx.conf.in
[ -r "$template" ] || die "missing $template"

# upstream_servers NAME RESOLVER HOST:PORT: the body of one upstream block.
upstream_servers() {
    printf '        zone %s 64k;\n' "$1"
    printf '        resolver %s valid=5s ipv6=off;\n' "$2"
    printf '        resolver_timeout 2s;\n'
    printf '        server %s resolve max_fails=1 fail_timeout=2s;\n' "$3"
}

rate=${REDIRECT_RATE:-20r/s}
burst=${REDIRECT_BURST:-40}

# limit_zone REAL_IP: the http-level lines of the redirect limit (REAL_IP 1: behind an Ingress).
limit_zone() {
    printf '    # Redirects per client address (deploy/gen-nginx-conf.sh); 429 JSON above the rate.\n'
    if [ "$1" = 1 ]; then
        printf '    # Behind the Ingress controller: the client is the rightmost untrusted X-Forwarded-For hop.\n'
        printf '    set_real_ip_from %s;\n' 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16
        printf '    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n'
    fi
    # shellcheck disable=SC2016 # $binary_remote_addr is nginx's variable, not the shell's
    printf '    limit_req_zone $binary_remote_addr zone=redirects:10m rate=%s;\n' "$rate"
    printf '    limit_req_status 429;\n    limit_req_log_level warn;'
}

# render TARGET RESOLVER WRITE_HOST_PORT REDIRECT_HOST_PORT STATUS_LISTEN REAL_IP > FILE
render() {
    local target=$1 resolver=$2 write=$3 redirect=$4 status=$5 conf
    conf=$(<"$template")
    conf=${conf//'    # REDIRECT-LIMIT-ZONE (deploy/gen-nginx-conf.sh: compose and Kubernetes limit redirects per
    # client address here; make run'"'"'s front door is unlimited)'/$(limit_zone "$6")}
    conf=${conf//'# REDIRECT-LIMIT'/"limit_req zone=redirects burst=$burst nodelay;"}
    conf=${conf//@PREFIX@/\/tmp\/nginx}
    conf=${conf//@LOG_DIR@/@@STDERR@@}
    conf=${conf//@ACCESS_LOG@/off}
    conf=${conf//@LISTEN@/8080}
    conf=${conf//@STATUS_LISTEN@/$status}
    conf=${conf//@WRITE_SERVERS@/$(upstream_servers write_svc "$resolver" "$write")}
    conf=${conf//@REDIRECT_SERVERS@/$(upstream_servers redirect_svc "$resolver" "$redirect")}
    if grep -q '@[A-Z_]*@' <<<"${conf//@@STDERR@@/}"; then
        die "a placeholder of $template is not filled in"
    fi
    printf '# GENERATED from deploy/nginx.conf.in by deploy/gen-nginx-conf.sh: do not edit (change\n'
    printf '# the template or the script, then run it). Target: %s.\n' "$target"
    printf '# Run as: mkdir -p /tmp/nginx/tmp && nginx -e stderr -c <this file> -g "daemon off;"\n#\n'
    # The error log goes to stderr.
    printf '%s\n' "$conf" | sed 's|^error_log @@STDERR@@/nginx-error.log |error_log stderr |'
}

mkdir -p "$(dirname "$out_compose")" "$(dirname "$out_k8s")"
render "docker compose (Docker DNS)" 127.0.0.11 write-svc:8081 redirect-svc:8091 \
    8088 0 >"$out_compose.tmp"
mv "$out_compose.tmp" "$out_compose"
render "Kubernetes (headless Services, namespace $ns)" \
    kube-dns.kube-system.svc.cluster.local \
    "write-svc.$ns.svc.cluster.local:8081" "redirect-svc.$ns.svc.cluster.local:8091" \
    127.0.0.1:8088 1 >"$out_k8s.tmp"
mv "$out_k8s.tmp" "$out_k8s"
say "wrote $out_compose and $out_k8s"
