# tests/system/checks_abuse.sh - checks 7 and 8 of the system suite (sourced by run.sh, which
# provides start_svc, new_port, port[], check, eq, say, nginx_url and the stack):
#   7. rate limits (DECISIONS R1-R6) across two write-svc instances sharing Redis, started
#      here with small budgets (writes 60/min burst 3, reads 60/min burst 5),
#      RATE_LIMIT_EXEMPT empty and TRUSTED_PROXIES loopback, so X-Forwarded-For chooses the
#      client: a client's writes alternate between the instances and the 4th is 429 with
#      Retry-After and RateLimit-*; another client and the same client's reads still pass;
#      after Retry-After the client passes again; rejections show in /metrics; a third
#      instance with TRUSTED_PROXIES empty ignores X-Forwarded-For (one budget for the peer).
#   8. a redirect loop between two links through nginx (a host alias the write side does not
#      know): curl -L gives up, and neither link records a click (DECISIONS R9).
# shellcheck shell=bash disable=SC2154 # port, nginx_url, ...: run.sh's

# rl_post URL XFF: "status limit remaining retry" of POST /urls as client XFF.
rl_post() {
    curl -s -m 5 -o /dev/null -D - -H 'Content-Type: application/json' -H "X-Forwarded-For: $2" \
        -d '{"original_url": "https://example.com/rl"}' "$1/urls" | tr -d '\r' |
        awk 'NR == 1 { s = $2 } tolower($1) == "ratelimit-limit:" { l = $2 }
             tolower($1) == "ratelimit-remaining:" { r = $2 } tolower($1) == "retry-after:" { a = $2 }
             END { printf "%s %s %s %s\n", s, l, r, a }'
}
rl_status() {
    curl -s -m 5 -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $3" "${@:4}" -X "$1" "$2"
}

check7() {
    local i name a b c out st
    phase_start "check 7: rate limits across two write-svc instances"
    for name in rl-1 rl-2 rl-3; do
        port["write-svc-$name"]=$(new_port) || die "no free port"
    done
    for name in rl-1 rl-2; do
        start_svc "write-svc-$name" write-svc PORT="${port["write-svc-$name"]}" RATE_LIMIT_EXEMPT= \
            TRUSTED_PROXIES=127.0.0.0/8 RATE_LIMIT_WRITE_PER_MIN=60 RATE_LIMIT_WRITE_BURST=3 \
            RATE_LIMIT_READ_PER_MIN=60 RATE_LIMIT_READ_BURST=5
    done
    start_svc "write-svc-rl-3" write-svc PORT="${port["write-svc-rl-3"]}" RATE_LIMIT_EXEMPT= \
        TRUSTED_PROXIES= RATE_LIMIT_WRITE_PER_MIN=60 RATE_LIMIT_WRITE_BURST=3
    for name in rl-1 rl-2 rl-3; do
        wait_for 30 svc_healthy "write-svc-$name" || die "write-svc-$name is not healthy"
    done
    a=http://127.0.0.1:${port["write-svc-rl-1"]}
    b=http://127.0.0.1:${port["write-svc-rl-2"]}
    c=http://127.0.0.1:${port["write-svc-rl-3"]}
    out=
    for i in 1 2 3 4 5; do
        if ((i % 2)); then st=$(rl_post "$a" 203.0.113.10); else st=$(rl_post "$b" 203.0.113.10); fi
        out+="$st;"
    done
    say "client 203.0.113.10, alternating instances: $out"
    # "status RateLimit-Limit RateLimit-Remaining Retry-After" per request.
    eq "check7: 3 writes pass across both instances, then 429 with Retry-After 1" \
        "$out" "201 3 2 ;201 3 1 ;201 3 0 ;429 3 0 1;429 3 0 1;"
    eq "check7: another client keeps its own budget" "$(rl_post "$b" 203.0.113.11 | cut -d' ' -f1-3)" \
        "201 3 2"
    eq "check7: the same client's reads have their own budget" \
        "$(rl_status GET "$a/urls?limit=1" 203.0.113.10)" 200
    eq "check7: a forged hop left of the real client does not help (rightmost untrusted)" \
        "$(rl_post "$a" '198.51.100.1, 203.0.113.10' | cut -d' ' -f1)" 429
    sleep 1.2
    eq "check7: after Retry-After the client passes again" \
        "$(rl_post "$b" 203.0.113.10 | cut -d' ' -f1)" 201
    check "check7: write-svc's /metrics counts the rejections" \
        bash -c "curl -s '$a/metrics' | grep -Eq '^shortener_ratelimit_rejected_writes_total [1-9]'"
    out=
    for i in 1 2 3 4; do out+="$(rl_post "$c" "192.0.2.$i" | cut -d' ' -f1);"; done
    eq "check7: X-Forwarded-For from an untrusted peer is ignored (one budget for the peer)" \
        "$out" "201;201;201;429;"
    eq "check7: /health is never limited" "$(rl_status GET "$c/health" 192.0.2.9)" 200
    phase_end "check 7"
}

check8() {
    local host=127.0.0.1:${port[nginx]} ca cb ida idb n
    phase_start "check 8: a redirect loop through nginx records no click"
    ca=lpa$$
    cb=lpb$$
    create_link "$ca" "http://$host/$cb" && create_link "$cb" "http://$host/$ca"
    check "check8: two links pointing at each other through the front door" test $? = 0
    n=$(curl -s -o /dev/null -L --max-redirs 20 -w '%{num_redirects}' "$nginx_url/$ca")
    eq "check8: curl -L followed the loop until it gave up" "$n" 20
    ida=$(sql "SELECT id FROM urls WHERE short_code = '$ca'")
    idb=$(sql "SELECT id FROM urls WHERE short_code = '$cb'")
    sleep 1
    eq "check8: neither link recorded a click" \
        "$(curl -s "$nginx_url/urls/$ida" | grep -o '"clicks":[0-9]*');$(curl -s \
            "$nginx_url/urls/$idb" | grep -o '"clicks":[0-9]*')" '"clicks":0;"clicks":0'
    phase_end "check 8"
}
