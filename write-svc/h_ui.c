/*
 * h_ui.c - the web dashboard (ui/, docs/DECISIONS.md U1): GET / answers its HTML, GET
 * /ui/<name> its scripts and styles. The files are built by the Makefile (npm ci + esbuild
 * in ui/, into build/ui/dist) and compiled into the binary (scripts/embed-ui.sh), like
 * docs/openapi.json: every write-svc instance serves the same bytes, and compose and
 * Kubernetes need nothing besides the image.
 *
 * Assets carry a content hash in their names (app-<hash>.js), so they are cached for a year
 * ("immutable"); the HTML names them and is never cached ("no-store"), so a new build is
 * picked up at the next load. The HTML carries the dashboard's Content-Security-Policy: the
 * dashboard has no inline script or style, and talks only to its own origin.
 */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"

#include "banned.h"

#define H_UI_INDEX "index.html"
#define H_UI_CSP                                                                                   \
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "       \
    "base-uri 'none'; form-action 'self'"

/* Defined in the generated build/gen/ui_assets.c. */
extern const char *const ui_asset_names[];
extern const unsigned char *const ui_asset_data[];
extern const size_t ui_asset_lens[];
extern const size_t ui_assets_n;

static const char *h_ui_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* The index of the asset called name[0..len), or -1. */
static long h_ui_find(const char *name, size_t len)
{
    for (size_t i = 0; i < ui_assets_n; i++)
        if (strlen(ui_asset_names[i]) == len && memcmp(ui_asset_names[i], name, len) == 0)
            return (long)i;
    return -1;
}

static int h_ui_send(struct http_resp *resp, long i, const char *cache_control)
{
    char *body = malloc(ui_asset_lens[i] + 1);
    if (!body)
        return http_reply_error(resp, 503, "Service unavailable: out of memory");
    memcpy(body, ui_asset_data[i], ui_asset_lens[i]);
    body[ui_asset_lens[i]] = '\0';
    http_reply_bytes(resp, 200, body, ui_asset_lens[i], h_ui_type(ui_asset_names[i]));
    resp->cache_control = cache_control;
    return 200;
}

int h_ui_index(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    long i = h_ui_find(H_UI_INDEX, strlen(H_UI_INDEX));
    if (i < 0)
        return http_reply_error(resp, 404, "Not found");
    h_ui_send(resp, i, "no-store");
    if (resp->status == 200) {
        resp->extra_name = "Content-Security-Policy";
        resp->extra_value = H_UI_CSP;
    }
    return resp->status;
}

int h_ui_asset(struct http_req *req, struct http_resp *resp)
{
    const struct route_param *p = &req->match.params[0];
    long i = h_ui_find(p->p, p->len);
    /* The HTML only at /, where it is never cached. */
    if (i < 0 || strcmp(ui_asset_names[i], H_UI_INDEX) == 0)
        return http_reply_error(resp, 404, "Not found");
    return h_ui_send(resp, i, "public, max-age=31536000, immutable");
}
