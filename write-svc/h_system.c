/*
 * h_system.c - GET /dashboard/system: what the dashboard's System page shows, for every
 * instance named in DASHBOARD_TARGETS ("name=http://host:port,..."; scripts/run.sh, compose
 * and Kubernetes set it): readiness from its /readyz (its /health where /readyz is 404) and
 * the shortener_* lines of its /metrics, fetched now by this write-svc (scrape.c). The
 * browser could not reach the instances itself (only the front door, and the CSP allows
 * only its own origin). The addresses come from the configuration only.
 *
 * 200 {"instances": [{"name", "kind" ("write"|"redirect"|"worker"|"other"), "url",
 * "ready" (bool), "status" (int, 0 when unreachable), "detail" (the readiness body, cut),
 * "ms", "metrics" (text)}]}
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "buf.h"
#include "handlers.h"
#include "http.h"
#include "scrape.h"
#include "timefmt.h"

#include "banned.h"

#define H_SYSTEM_TARGETS_MAX 32
#define H_SYSTEM_TIMEOUT_MS  500
#define H_SYSTEM_DETAIL_MAX  300
#define H_SYSTEM_METRICS_MAX (1u << 20)

static const char *h_system_kind(const char *name)
{
    if (strncmp(name, "write", 5) == 0)
        return "write";
    if (strncmp(name, "redirect", 8) == 0)
        return "redirect";
    if (strstr(name, "worker"))
        return "worker";
    return "other";
}

/* Keeps the sample lines of the shortener_* families (no comments, no process_*). */
static json_t *h_system_filter(const char *text)
{
    struct buf b;
    buf_init(&b, H_SYSTEM_METRICS_MAX);
    int rc = 0;
    for (const char *p = text; *p && !rc;) {
        size_t n = strcspn(p, "\n");
        if (strncmp(p, "shortener_", 10) == 0)
            rc = buf_append(&b, p, n + (p[n] == '\n'));
        p += n + (p[n] == '\n');
    }
    json_t *s = json_stringn(buf_cstr(&b), b.len);
    buf_release(&b);
    return s ? s : json_string("");
}

/* One instance: readiness, then metrics. */
static json_t *h_system_instance(const char *name, const char *url)
{
    struct buf body;
    int status = 0;
    int64_t t0 = timefmt_mono_ms();
    buf_init(&body, 64 * 1024);
    int rc = scrape_get(url, "/readyz", H_SYSTEM_TIMEOUT_MS, &status, &body);
    if (!rc && status == 404) {
        buf_reset(&body);
        rc = scrape_get(url, "/health", H_SYSTEM_TIMEOUT_MS, &status, &body);
    }
    int64_t ms = timefmt_mono_ms() - t0;
    size_t dn = body.len < H_SYSTEM_DETAIL_MAX ? body.len : H_SYSTEM_DETAIL_MAX;
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s%, s:I}", "name", name, "kind",
                          h_system_kind(name), "url", url, "ready", !rc && status == 200, "status",
                          rc ? 0 : status, "detail", rc ? "unreachable" : buf_cstr(&body),
                          rc ? strlen("unreachable") : dn, "ms", (json_int_t)ms);
    buf_release(&body);
    buf_init(&body, H_SYSTEM_METRICS_MAX);
    if (o && scrape_get(url, "/metrics", H_SYSTEM_TIMEOUT_MS, &status, &body) == 0 && status == 200)
        json_object_set_new(o, "metrics", h_system_filter(buf_cstr(&body)));
    else if (o)
        json_object_set_new(o, "metrics", json_string(""));
    buf_release(&body);
    return o;
}

/* Appends one instance per "name=url" of the comma-separated list. */
static int h_system_collect(const char *targets, json_t *list)
{
    char *copy = strdup(targets ? targets : "");
    if (!copy)
        return ERR_NOMEM;
    int n = 0, rc = 0;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && n < H_SYSTEM_TARGETS_MAX && !rc;
         t = strtok_r(NULL, ",", &save), n++) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t)
            continue;
        *eq = '\0';
        json_t *o = h_system_instance(t, eq + 1);
        rc = o ? json_array_append_new(list, o) : ERR_NOMEM;
    }
    free(copy);
    return rc ? ERR_NOMEM : 0;
}

int h_system_get(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    json_t *list = json_array();
    if (!list || h_system_collect(app->cfg.dashboard_targets, list) != 0) {
        json_decref(list);
        return http_reply_error(resp, 503, "Service unavailable: out of memory");
    }
    json_t *root = json_pack("{s:o}", "instances", list);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!s)
        return http_reply_error(resp, 503, "Service unavailable: out of memory");
    return http_reply_json(resp, 200, s, strlen(s));
}
