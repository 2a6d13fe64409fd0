#!/usr/bin/env bash
# tests/ops/test_deploy.sh - validate everything under deploy/ without running it (make check-ops).
#
#   B=build tests/ops/test_deploy.sh
#
# Checks, each counted as passed, failed or skipped (with the reason):
#   prometheus   promtool check config of deploy/prometheus/{prometheus,local,k8s}.yml (k8s.yml
#                with its kubernetes_sd_configs swapped for static_configs when this promtool
#                is built without Kubernetes discovery, as Debian's is), promtool check rules
#                alerts.yml, promtool test rules alerts_test.yml
#   alerts       every alert has severity (critical|warning), summary, description and a
#                runbook_url docs/RUNBOOK.md#<anchor> whose heading exists in docs/RUNBOOK.md;
#                every metric an expression uses is one the services (or nginx's exporter,
#                or a recording rule) export; the limits recorded for the saturation alerts
#                equal the Kubernetes and compose limits
#   alertmanager amtool check-config (skipped without amtool: prometheus-alertmanager)
#   yaml         every *.yml / *.yaml under deploy/ parses (python3-yaml)
#   grafana      the dashboard JSON parses, has panels, and every metric in its PromQL exists;
#                the provisioning files name the dashboard path compose mounts
#   compose      `docker compose config` resolves (or docker-compose v1, which does not know
#                the top-level `name:`: that line is dropped for it); skipped without either
#   env          every environment variable set in deploy/ (compose services, Kubernetes
#                ConfigMaps and Deployments/Jobs, env.example) is in the configuration table
#                of the service it is given to (`$B/bin/<service> --help`), or belongs to the
#                migrate/seed scripts, the compose file's own settings (env.example's first
#                section), the PgBouncer image (the settings deploy/pgbouncer/entrypoint.sh
#                lists) or a third-party image (POSTGRES_*, GF_*); env.example matches a
#                fresh deploy/gen-env-example.sh run, docs/DEPLOY.md's tables match --help
#   nginx        deploy/compose/nginx.conf and deploy/k8s/nginx.conf match a fresh
#                deploy/gen-nginx-conf.sh run (so they route exactly like nginx.conf.in), and
#                `nginx -t` accepts them with the upstream names pointed at loopback
#   k8s          kubectl kustomize builds deploy/k8s and the Jobs (skipped without kubectl);
#                every Deployment has readiness and liveness probes, requests and limits,
#                runAsNonRoot and readOnlyRootFilesystem, scrape annotations on its port (but
#                pgbouncer, which has no metrics endpoint: deploy/k8s/pgbouncer.yaml)
#   docker       every COPY source of deploy/Dockerfile and deploy/pgbouncer/Dockerfile exists;
#                the entrypoints are executable; both run as a numeric non-root user
#   shell        shellcheck of deploy/*.sh and deploy/pgbouncer/*.sh (skipped without it)
# Prints "ops: N passed, N failed, N skipped" last.
# Needs promtool (Debian package prometheus) and python3 with yaml (python3-yaml): without
# them it prints "SKIP: ..." and exits 0, or fails under CI=true (CI must install them).
# Exit: 0 when nothing failed.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

cd "$REPO_ROOT"
B=${B:-build}
case $B in /*) bin_dir=$B/bin ;; *) bin_dir=$REPO_ROOT/$B/bin ;; esac
export BIN_DIR=$bin_dir

skip_all() {
    if [ "${CI:-}" = true ]; then
        die "$1 (CI=true: install it, e.g. with scripts/deps.sh)"
    fi
    printf 'SKIP: %s\n' "$1"
    exit 0
}
command -v promtool >/dev/null || skip_all "promtool not found (apt-get install prometheus)"
# The first python3 with yaml: PATH's (a virtualenv or pyenv may shadow Debian's), then Debian's.
py=
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
        py=$(command -v "$candidate")
        break
    fi
done
[ -n "$py" ] || skip_all "python3 with yaml not found (apt-get install python3-yaml)"
python3() { "$py" "$@"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp" deploy/.ops-test-compose.yml' EXIT INT TERM

passed=0
failed=0
skipped=0

# check NAME CMD...: run CMD, count it, show its output only when it fails.
check() {
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passed=$((passed + 1))
        printf 'ok      %s\n' "$name"
    else
        failed=$((failed + 1))
        printf 'FAILED  %s\n' "$name"
        sed 's/^/        /' "$tmp/out"
    fi
}
skip() {
    skipped=$((skipped + 1))
    printf 'skip    %s: %s\n' "$1" "$2"
}

have_bins() {
    [ -x "$bin_dir/write-svc" ] && [ -x "$bin_dir/redirect-svc" ] && [ -x "$bin_dir/event-worker" ]
}

# --- Prometheus -------------------------------------------------------------------------------
prom=deploy/prometheus
check "promtool check config prometheus.yml" promtool check config "$prom/prometheus.yml"
check "promtool check config local.yml" promtool check config "$prom/local.yml"

promtool_k8s() {
    if promtool check config "$prom/k8s.yml" >"$tmp/k8s-out" 2>&1; then
        return 0
    fi
    if ! grep -q 'field kubernetes_sd_configs not found' "$tmp/k8s-out"; then
        cat "$tmp/k8s-out"
        return 1
    fi
    # This promtool lacks Kubernetes discovery: check the rest with a static target instead.
    mkdir -p "$tmp/prom"
    cp "$prom/alerts.yml" "$tmp/prom/"
    python3 - "$prom/k8s.yml" "$tmp/prom/k8s.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for sc in doc["scrape_configs"]:
    if sc.pop("kubernetes_sd_configs", None) is not None:
        sc["static_configs"] = [{"targets": ["pod.example:8081"]}]
yaml.safe_dump(doc, open(sys.argv[2], "w"))
PY
    promtool check config "$tmp/prom/k8s.yml"
}
check "promtool check config k8s.yml" promtool_k8s
if grep -q 'field kubernetes_sd_configs not found' "$tmp/k8s-out" 2>/dev/null; then
    printf '        (this promtool has no Kubernetes discovery: k8s.yml was checked with a static target)\n'
fi
check "promtool check rules alerts.yml" promtool check rules "$prom/alerts.yml"
check "promtool test rules alerts_test.yml" promtool test rules "$prom/alerts_test.yml"

# --- Alertmanager -----------------------------------------------------------------------------
if command -v amtool >/dev/null; then
    check "amtool check-config alertmanager.yml" amtool check-config deploy/alertmanager/alertmanager.yml
    check "amtool: critical alerts reach the webhook" bash -c \
        'amtool config routes test --config.file=deploy/alertmanager/alertmanager.yml \
            severity=critical alertname=ShortenerServiceDown | grep -qx webhook'
else
    skip "amtool check-config" "amtool not found (apt-get install prometheus-alertmanager)"
fi

# --- YAML, alert annotations, metric names, Grafana, limits (python3) ------------------------
cat >"$tmp/lib.py" <<'PY'
"""Helpers of tests/ops/test_deploy.sh: metric names, PromQL, YAML documents."""
import glob
import re
import yaml

HISTOGRAMS = {
    "shortener_http_request_duration_seconds", "shortener_redis_batch_size",
    "shortener_worker_batch_size", "shortener_worker_batch_duration_seconds",
}
METRICS = HISTOGRAMS | {
    "shortener_http_requests_total", "shortener_http_requests_in_flight",
    "shortener_db_pool_in_use", "shortener_db_pool_size", "shortener_db_errors_total",
    "shortener_redis_errors_total", "shortener_events_wait_timeouts_total",
    "shortener_events_wait_errors_total", "shortener_readmodel_rebuilds_total",
    "shortener_readmodel_complete",
    "shortener_redirect_hits_total", "shortener_redirect_misses_total",
    "shortener_redirect_not_ready_total",
    "shortener_near_cache_hits_total", "shortener_near_cache_misses_total",
    "shortener_near_cache_invalidations_total", "shortener_near_cache_resets_total",
    "shortener_near_cache_evictions_total", "shortener_near_cache_entries",
    "shortener_near_cache_bytes",
    "shortener_worker_batches_total", "shortener_worker_entries_read_total",
    "shortener_worker_entries_claimed_total", "shortener_events_persisted_total",
    "shortener_worker_entries_acked_total", "shortener_worker_dead_letters_total",
    "shortener_worker_entries_gone_total", "shortener_worker_errors_total",
    "shortener_stream_pending", "shortener_stream_lag", "shortener_worker_database_up",
    "shortener_worker_redis_up",
    "process_cpu_seconds_total", "process_resident_memory_bytes",
    "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
    "process_start_time_seconds",
    # Prometheus itself and nginx-prometheus-exporter (stub_status).
    "up", "nginx_up", "nginx_http_requests_total", "nginx_connections_accepted",
    "nginx_connections_active", "nginx_connections_handled", "nginx_connections_reading",
    "nginx_connections_waiting", "nginx_connections_writing",
}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan", "Inf", "NaN"}


def recorded_names():
    names = set()
    for group in yaml.safe_load(open("deploy/prometheus/alerts.yml"))["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                names.add(rule["record"])
    return names


def known_metrics():
    names = set(METRICS) | recorded_names()
    for h in HISTOGRAMS:
        names |= {h + "_bucket", h + "_sum", h + "_count"}
    return names


def metric_names(expr):
    """The metric names a PromQL expression selects (functions, keywords, labels left out)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", "''", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        if word in KEYWORDS or s[m.end():].lstrip().startswith("("):
            continue
        if m.start() > 0 and (s[m.start() - 1].isdigit() or s[m.start() - 1] in "$."):
            continue
        names.append(word)
    return names


def yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def deploy_yaml_files():
    return sorted(glob.glob("deploy/**/*.yml", recursive=True)
                  + glob.glob("deploy/**/*.yaml", recursive=True))
PY
export PYTHONPATH=$tmp

check "every YAML file under deploy/ parses" python3 - <<'PY'
import sys, lib
bad = 0
files = lib.deploy_yaml_files()
for path in files:
    try:
        lib.yaml_docs(path)
    except Exception as e:  # noqa: BLE001 - any parse error is the finding
        print(f"{path}: {e}")
        bad += 1
print(f"{len(files)} files")
sys.exit(1 if bad or not files else 0)
PY

check "alerts: severity, summary, description, runbook_url with a RUNBOOK.md heading" python3 - <<'PY'
import os, re, sys, yaml
rules = [r for g in yaml.safe_load(open("deploy/prometheus/alerts.yml"))["groups"]
         for r in g["rules"] if "alert" in r]
anchors = set()
if os.path.exists("docs/RUNBOOK.md"):
    for line in open("docs/RUNBOOK.md"):
        m = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
else:
    print("docs/RUNBOOK.md is missing")
bad = 0
names = set()
for r in rules:
    name = r["alert"]
    if name in names:
        print(f"{name}: defined twice")
        bad += 1
    names.add(name)
    sev = r.get("labels", {}).get("severity")
    if sev not in ("critical", "warning"):
        print(f"{name}: severity is {sev!r}")
        bad += 1
    ann = r.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not str(ann.get(key, "")).strip():
            print(f"{name}: no {key}")
            bad += 1
    url = ann.get("runbook_url", "")
    m = re.fullmatch(r"docs/RUNBOOK\.md#([a-z0-9\-_]+)", url)
    if not m:
        print(f"{name}: runbook_url {url!r} is not docs/RUNBOOK.md#<anchor>")
        bad += 1
    elif m.group(1) not in anchors:
        print(f"{name}: docs/RUNBOOK.md has no heading for #{m.group(1)}")
        bad += 1
print(f"{len(rules)} alerts")
sys.exit(1 if bad or len(rules) < 12 else 0)
PY

check "alerts and recording rules use only exported metric names" python3 - <<'PY'
import sys, yaml, lib
known = lib.known_metrics()
bad = 0
for g in yaml.safe_load(open("deploy/prometheus/alerts.yml"))["groups"]:
    for r in g["rules"]:
        for name in lib.metric_names(r["expr"]):
            if name not in known:
                print(f"{r.get('alert') or r.get('record')}: unknown metric {name}")
                bad += 1
sys.exit(1 if bad else 0)
PY

check "the shortener metric names exist in the services' sources" python3 - <<'PY'
import glob, re, sys, lib
src = "".join(open(p).read() for p in glob.glob("*/*.c"))
literals = set(re.findall(r'"((?:shortener|process)_[a-z_]+)"', src))
bad = 0
for name in sorted(lib.METRICS):
    if not name.startswith(("shortener_", "process_")):
        continue
    if name.startswith("shortener_http_"):
        # Built as "%s_requests_total" with the prefix "shortener_http" (shared/metrics.c).
        suffix = name[len("shortener_http"):]
        if '"shortener_http"' not in src or ('"%s' + suffix + '"') not in src:
            print(f"{name}: prefix or suffix not found in the sources")
            bad += 1
    elif name not in literals:
        print(f"{name}: not found in the sources")
        bad += 1
sys.exit(1 if bad else 0)
PY

check "Grafana dashboard: JSON, panels, metric names, provisioning" python3 - <<'PY'
import glob, json, sys, yaml, lib
known = lib.known_metrics()
bad = 0
files = glob.glob("deploy/grafana/dashboards/*.json")
for path in files:
    dash = json.load(open(path))
    panels = [p for p in dash.get("panels", []) if p.get("type") != "row"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", []) if "expr" in t]
    if len(panels) < 10 or len(exprs) < 20:
        print(f"{path}: only {len(panels)} panels, {len(exprs)} queries")
        bad += 1
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        print(f"{path}: panel ids repeat")
        bad += 1
    for e in exprs:
        for name in lib.metric_names(e):
            if name not in known:
                print(f"{path}: unknown metric {name} in: {e}")
                bad += 1
    text = json.dumps(dash)
    for must in ("shortener_redirect_hits_total", "shortener_events_persisted_total",
                 "shortener_stream_lag", "shortener_stream_pending",
                 "histogram_quantile(0.99", "histogram_quantile(0.5",
                 "shortener_http_requests_in_flight", "shortener_db_pool_in_use",
                 "process_cpu_seconds_total", "process_resident_memory_bytes"):
        if must not in text:
            print(f"{path}: no panel uses {must}")
            bad += 1
prov = yaml.safe_load(open("deploy/grafana/provisioning/dashboards/shortener.yml"))
path = prov["providers"][0]["options"]["path"]
compose = open("deploy/docker-compose.yml").read()
if f"./grafana/dashboards:{path}:ro" not in compose:
    print(f"provisioning path {path} is not where docker-compose.yml mounts the dashboards")
    bad += 1
ds = yaml.safe_load(open("deploy/grafana/provisioning/datasources/prometheus.yml"))
if ds["datasources"][0].get("uid") != "prometheus":
    print("the datasource uid is not 'prometheus' (the dashboard variable's default)")
    bad += 1
sys.exit(1 if bad or not files else 0)
PY

check "limits: alerts.yml records the Kubernetes and compose container limits" python3 - <<'PY'
import sys, yaml, lib
def mem(v):
    v = str(v)
    for suf, mul in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10), ("G", 1 << 30),
                     ("M", 1 << 20), ("K", 1 << 10)):
        if v.endswith(suf):
            return int(float(v[:-len(suf)]) * mul)
    return int(v)
def cpu(v):
    v = str(v)
    return float(v[:-1]) / 1000 if v.endswith("m") else float(v)
rec = {}
for g in yaml.safe_load(open("deploy/prometheus/alerts.yml"))["groups"]:
    for r in g["rules"]:
        if r.get("record") in ("shortener:memory_limit_bytes", "shortener:cpu_limit_cores"):
            val = float(r["expr"].strip()[len("vector("):-1])
            rec[(r["record"], r["labels"]["job"])] = val
bad = 0
for svc in ("write-svc", "redirect-svc", "event-worker"):
    k8s = {}
    for d in lib.yaml_docs(f"deploy/k8s/{svc}.yaml"):
        if d["kind"] == "Deployment":
            k8s = d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    compose = yaml.safe_load(open("deploy/docker-compose.yml"))["services"][svc]
    climits = compose["deploy"]["resources"]["limits"]
    want_mem = rec.get(("shortener:memory_limit_bytes", svc))
    want_cpu = rec.get(("shortener:cpu_limit_cores", svc))
    for where, m, c in (("k8s", mem(k8s["memory"]), cpu(k8s["cpu"])),
                        ("compose", mem(climits["memory"]), cpu(climits["cpus"]))):
        if m != want_mem or c != want_cpu:
            print(f"{svc} {where}: memory {m} cpu {c}, alerts.yml records {want_mem} {want_cpu}")
            bad += 1
sys.exit(1 if bad else 0)
PY

# --- docker compose ---------------------------------------------------------------------------
compose_env=(POSTGRES_PASSWORD=ops-test GF_SECURITY_ADMIN_PASSWORD=ops-test)
if docker compose version >/dev/null 2>&1; then
    check "docker compose config" env "${compose_env[@]}" \
        docker compose -f deploy/docker-compose.yml config -q
elif command -v docker-compose >/dev/null; then
    compose_v1() {
        sed '/^name: /d' deploy/docker-compose.yml >deploy/.ops-test-compose.yml
        local rc=0
        env "${compose_env[@]}" docker-compose -f deploy/.ops-test-compose.yml config -q || rc=$?
        rm -f deploy/.ops-test-compose.yml
        return "$rc"
    }
    check "docker-compose (v1) config, without the top-level name" compose_v1
else
    skip "docker compose config" "no compose client (docker compose or docker-compose)"
fi

# --- environment variables --------------------------------------------------------------------
if have_bins; then
    env_example_fresh() {
        B=$B deploy/gen-env-example.sh -o "$tmp/env.example" 2>/dev/null &&
            diff -u deploy/env.example "$tmp/env.example"
    }
    check "env.example matches deploy/gen-env-example.sh" env_example_fresh
    check "docs/DEPLOY.md configuration tables match --help" \
        env B="$B" scripts/config-table.sh --check docs/DEPLOY.md
    check "every environment variable in deploy/ is in its service's --help table" python3 - <<'PY'
import os, re, subprocess, sys, yaml, lib
bin_dir = os.environ["BIN_DIR"]
SERVICES = ("write-svc", "redirect-svc", "event-worker")
tables = {}
for svc in SERVICES:
    out = subprocess.run([f"{bin_dir}/{svc}", "--help"], capture_output=True, text=True,
                         check=True).stdout
    tables[svc] = set(re.findall(r"^  ([A-Z][A-Z0-9_]*)  \(", out, re.M))
    if len(tables[svc]) < 5:
        print(f"{svc} --help: only {len(tables[svc])} variables parsed")
        sys.exit(1)
every = set().union(*tables.values())
# scripts/migrate.sh and scripts/seed.sh (the image's migrate and seed commands).
SCRIPTS = {"DATABASE_URL", "REDIS_URL", "SCHEMA_DIR"}
EXTERNAL = re.compile(r"^(POSTGRES_[A-Z_]+|GF_[A-Z0-9_]+|PG[A-Z]+)$")
# The PgBouncer image's settings: those deploy/pgbouncer/entrypoint.sh's header lists.
PGB = set(re.findall(r"^#   (DATABASE_URL|PGBOUNCER_[A-Z_]+) ",
                     open("deploy/pgbouncer/entrypoint.sh").read(), re.M))
if len(PGB) < 5:
    print(f"deploy/pgbouncer/entrypoint.sh: only {sorted(PGB)} parsed from its header")
    sys.exit(1)
bad = 0
def need(where, names, allowed):
    global bad
    for n in sorted(names):
        if n not in allowed:
            print(f"{where}: {n} is not a known setting there")
            bad += 1

# env.example: the compose section, then one section per service with exactly its table.
text = open("deploy/env.example").read()
parts = re.split(r"^# ---- (\S+) .*$", text, flags=re.M)
compose_vars = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", parts[2], re.M))
for name, body in zip(parts[1::2], parts[2::2]):
    found = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", body, re.M))
    if name in tables and found != tables[name]:
        print(f"env.example {name}: {sorted(found ^ tables[name])} differ from --help")
        bad += 1
for n in compose_vars:
    if n not in every and not EXTERNAL.match(n) and n not in open("deploy/docker-compose.yml").read():
        print(f"env.example: {n} is neither a service setting nor used by docker-compose.yml")
        bad += 1

# docker compose: ${VAR} interpolations and each service's environment.
raw = open("deploy/docker-compose.yml").read()
interp = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", raw))
need("docker-compose.yml ${...}", interp, compose_vars | every)
doc = yaml.safe_load(raw)
for name, svc in doc["services"].items():
    env = svc.get("environment") or {}
    keys = set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
    if name in tables:
        need(f"docker-compose.yml {name}", keys, tables[name])
    elif name in ("migrate", "seed"):
        need(f"docker-compose.yml {name}", keys, SCRIPTS)
    elif name == "pgbouncer":
        need(f"docker-compose.yml {name}", keys, PGB)
    else:
        need(f"docker-compose.yml {name}", {k for k in keys if not EXTERNAL.match(k)}, set())

# Kubernetes: what each container gets from ConfigMaps and env.
maps = {}
pods = []
for path in lib.deploy_yaml_files():
    if not path.startswith("deploy/k8s/"):
        continue
    for d in lib.yaml_docs(path):
        if d.get("kind") == "ConfigMap":
            maps[d["metadata"]["name"]] = set(d.get("data", {}))
        elif d.get("kind") in ("Deployment", "Job"):
            pods.append((path, d))
for path, d in pods:
    for c in d["spec"]["template"]["spec"]["containers"]:
        args = c.get("args") or []
        role = args[0] if args else None
        if c.get("image") not in ("shortener", "shortener-pgbouncer"):
            continue
        keys = {e["name"] for e in c.get("env", [])}
        for ref in c.get("envFrom", []):
            cm = ref.get("configMapRef", {}).get("name")
            if cm not in maps:
                print(f"{path}: ConfigMap {cm} is not defined")
                bad += 1
            keys |= maps.get(cm, set())
        allowed = tables.get(role, SCRIPTS if role in ("migrate", "seed") else set())
        if c["image"] == "shortener-pgbouncer":
            allowed = PGB
        need(f"{path} {d['metadata']['name']} ({role})", keys, allowed)
        for req in ("DATABASE_URL", "REDIS_URL") if role in ("write-svc", "event-worker") else \
                ("REDIS_URL",) if role == "redirect-svc" else ():
            if req not in keys:
                print(f"{path} {role}: {req} is not set")
                bad += 1
sys.exit(1 if bad else 0)
PY
else
    if [ "${CI:-}" = true ]; then
        check "service binaries in $bin_dir (build them with make all)" false
    else
        skip "environment variables" "no binaries in $bin_dir (make all)"
    fi
fi

# --- nginx ------------------------------------------------------------------------------------
nginx_fresh() {
    deploy/gen-nginx-conf.sh -o "$tmp" 2>/dev/null &&
        diff -u deploy/compose/nginx.conf "$tmp/compose.conf" &&
        diff -u deploy/k8s/nginx.conf "$tmp/k8s.conf"
}
check "compose and k8s nginx.conf match deploy/gen-nginx-conf.sh (nginx.conf.in)" nginx_fresh
if command -v nginx >/dev/null; then
    # nginx -t on a copy: upstream names to loopback (nothing is resolved or bound), and the
    # `resolve`/`resolver` of nginx 1.27.3+ dropped when this nginx is older.
    nginx_t() {
        local conf=$1 dir=$tmp/nginx-${1//\//_}
        mkdir -p "$dir/tmp"
        sed -e "s#/tmp/nginx#$dir#g" -e 's/[a-z.-]*svc[a-z.-]*:\(80[0-9][0-9]\)/127.0.0.1:\1/' \
            "$conf" >"$dir/nginx.conf"
        if ! nginx -t -q -p "$dir" -e stderr -c "$dir/nginx.conf" 2>"$dir/err"; then
            if grep -q 'invalid parameter "resolve"\|"resolver" directive is not allowed' "$dir/err"; then
                sed -i -e '/^ *resolver/d' -e 's/ resolve / /' "$dir/nginx.conf"
                nginx -t -q -p "$dir" -e stderr -c "$dir/nginx.conf"
            else
                cat "$dir/err"
                return 1
            fi
        fi
    }
    check "nginx -t deploy/compose/nginx.conf" nginx_t deploy/compose/nginx.conf
    check "nginx -t deploy/k8s/nginx.conf" nginx_t deploy/k8s/nginx.conf
else
    skip "nginx -t" "nginx not found"
fi

# --- Kubernetes -------------------------------------------------------------------------------
if command -v kubectl >/dev/null; then
    kustomize_all() {
        local dir
        for dir in deploy/k8s deploy/k8s/jobs/migrate deploy/k8s/jobs/seed; do
            kubectl kustomize "$dir" >/dev/null || return 1
        done
    }
    check "kubectl kustomize deploy/k8s and the Jobs" kustomize_all
else
    skip "kubectl kustomize" "kubectl not found"
fi
check "k8s: probes, resources, non-root read-only, scrape annotations, HPA, PDBs" python3 - <<'PY'
import sys, lib
bad = 0
kinds = {}
for path in lib.deploy_yaml_files():
    if not path.startswith("deploy/k8s/") or path.endswith("kustomization.yaml"):
        continue
    for d in lib.yaml_docs(path):
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                print(f"{path}: a document without {key}")
                bad += 1
        kinds.setdefault(d.get("kind"), []).append(d)
        if d.get("kind") not in ("Deployment", "Job"):
            continue
        name = d["metadata"]["name"]
        spec = d["spec"]["template"]["spec"]
        if not spec.get("securityContext", {}).get("runAsNonRoot"):
            print(f"{name}: pod securityContext.runAsNonRoot is not true")
            bad += 1
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation") is not False:
                print(f"{name}/{c['name']}: not readOnlyRootFilesystem without privilege escalation")
                bad += 1
            res = c.get("resources", {})
            if not res.get("requests") or not res.get("limits"):
                print(f"{name}/{c['name']}: no resource requests and limits")
                bad += 1
            if d["kind"] == "Deployment" and "livenessProbe" not in c:
                print(f"{name}/{c['name']}: no livenessProbe")
                bad += 1
        if d["kind"] == "Deployment":
            main = spec["containers"][0]
            if "readinessProbe" not in main:
                print(f"{name}: no readinessProbe")
                bad += 1
            elif main.get("image") == "shortener" and main["readinessProbe"]["httpGet"]["path"] != "/readyz":
                print(f"{name}: readiness is not /readyz")
                bad += 1
            if main.get("image") == "shortener" and main["livenessProbe"]["httpGet"]["path"] != "/livez":
                print(f"{name}: liveness is not /livez")
                bad += 1
            ann = d["spec"]["template"]["metadata"].get("annotations", {})
            if name == "pgbouncer":
                continue  # no metrics endpoint (deploy/k8s/pgbouncer.yaml says why)
            ports = {str(p["containerPort"]) for c in spec["containers"] for p in c.get("ports", [])}
            if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") not in ports:
                print(f"{name}: scrape annotations missing or naming no container port")
                bad += 1
deps = {d["metadata"]["name"] for d in kinds.get("Deployment", [])}
for need in ("write-svc", "redirect-svc", "event-worker", "frontdoor", "pgbouncer"):
    if need not in deps:
        print(f"no Deployment {need}")
        bad += 1
    if need not in {d["metadata"]["name"] for d in kinds.get("PodDisruptionBudget", [])}:
        print(f"no PodDisruptionBudget {need}")
        bad += 1
hpas = [h["spec"]["scaleTargetRef"]["name"] for h in kinds.get("HorizontalPodAutoscaler", [])]
if "redirect-svc" not in hpas:
    print("no HorizontalPodAutoscaler for redirect-svc")
    bad += 1
jobs = {j["metadata"]["name"] for j in kinds.get("Job", [])}
if "shortener-migrate" not in jobs:
    print("no migration Job")
    bad += 1
for kind in ("Namespace", "ConfigMap", "Secret", "Service", "Ingress"):
    if kind not in kinds:
        print(f"no {kind}")
        bad += 1
sys.exit(1 if bad else 0)
PY

# --- Dockerfile -------------------------------------------------------------------------------
check "Dockerfiles: COPY sources exist, entrypoints executable, run as non-root" python3 - <<'PY'
import os, re, sys
bad = 0
# (Dockerfile, its build context, entrypoint, user)
for dockerfile, context, entry, user in (
        ("deploy/Dockerfile", ".", "deploy/docker-entrypoint.sh", "10001"),
        ("deploy/pgbouncer/Dockerfile", "deploy/pgbouncer", "deploy/pgbouncer/entrypoint.sh",
         "10002")):
    text = open(dockerfile).read().replace("\\\n", " ")
    for line in text.splitlines():
        m = re.match(r"\s*COPY\s+(.*)", line)
        if not m or "--from=" in m.group(1):
            continue
        parts = [p for p in m.group(1).split() if not p.startswith("--")]
        for src in parts[:-1]:
            if not os.path.exists(os.path.join(context, src)):
                print(f"{dockerfile}: COPY source {src} does not exist")
                bad += 1
    if not os.access(entry, os.X_OK):
        print(f"{entry} is not executable")
        bad += 1
    if not re.search(rf"^USER\s+{user}", text, re.M) or "HEALTHCHECK" not in text:
        print(f"{dockerfile}: no USER {user} or no HEALTHCHECK")
        bad += 1
sys.exit(1 if bad else 0)
PY

# --- shell scripts ----------------------------------------------------------------------------
if command -v shellcheck >/dev/null; then
    check "shellcheck deploy/*.sh deploy/pgbouncer/*.sh tests/ops/test_deploy.sh" \
        shellcheck -x deploy/*.sh deploy/pgbouncer/*.sh tests/ops/test_deploy.sh
else
    skip "shellcheck" "shellcheck not found"
fi

printf 'ops: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" = 0 ]
