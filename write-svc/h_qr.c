/*
 * h_qr.c - GET /urls/<id>/qr?format=png|svg&size=&margin=: the QR code of the short URL
 * (PUBLIC_BASE_URL + "/" + short_code) as image/png (default) or image/svg+xml.
 *
 * The parameters are checked first (qr_params_parse: 422 naming every bad one, no database
 * round trip), then the code is looked up (404 JSON for an unknown id; an inactive link
 * still has its code), then qr_render draws it. 200 answers carry
 * Cache-Control: private, max-age=300 (a link's code never changes, but it can be deleted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "err.h"
#include "handlers.h"
#include "http.h"
#include "log.h"
#include "qr.h"
#include "reply.h"
#include "store.h"

#include "banned.h"

#define H_QR_CACHE "private, max-age=300"

/* Appends ,"field":"why" (or without the comma first) when why is set. */
static int h_qr_detail(struct buf *b, const char *field, const char *why, int *n)
{
    int rc = 0;
    if (!why)
        return 0;
    if ((*n)++)
        rc = buf_putc(b, ',');
    if (!rc)
        rc = buf_append_json_str(b, field, strlen(field));
    if (!rc)
        rc = buf_putc(b, ':');
    if (!rc)
        rc = buf_append_json_str(b, why, strlen(why));
    return rc;
}

/* 422 {"error":"Invalid query parameters","details":{<each bad parameter>: <why>}}. */
static int h_qr_invalid(struct http_resp *resp, const struct qr_param_errors *e)
{
    struct buf b;
    int n = 0;
    buf_init(&b, 1024);
    int rc = buf_puts(&b, "{\"error\":\"Invalid query parameters\",\"details\":{");
    if (!rc)
        rc = h_qr_detail(&b, "format", e->format, &n);
    if (!rc)
        rc = h_qr_detail(&b, "size", e->size, &n);
    if (!rc)
        rc = h_qr_detail(&b, "margin", e->margin, &n);
    if (!rc)
        rc = buf_puts(&b, "}}");
    if (rc) {
        buf_release(&b);
        return http_reply_error(resp, 422, "Invalid query parameters");
    }
    size_t len;
    char *body = buf_detach(&b, &len);
    return http_reply_json(resp, 422, body, body ? len : 0);
}

/* Draws base + "/" + code; 0 and a new image in *img, or ERR_*. */
static int h_qr_render(const struct app *app, const char *code, const struct qr_params *p,
                       char **img, size_t *len)
{
    char text[QR_TEXT_MAX + 1];
    int n = snprintf(text, sizeof(text), "%.*s/%s", (int)app->cfg.public_base_len,
                     app->cfg.public_base_url, code);
    if (n < 0 || (size_t)n >= sizeof(text))
        return ERR_INVALID;
    return qr_render(text, (size_t)n, p, img, len);
}

int h_urls_qr(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct qr_params p;
    struct qr_param_errors e;
    char *code = NULL, *img = NULL;
    size_t len = 0;
    if (qr_params_parse(http_req_query(req, "format"), http_req_query(req, "size"),
                        http_req_query(req, "margin"), &p, &e) != 0)
        return h_qr_invalid(resp, &e);
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = store_urls_code(db, req->match.ids[0], &code);
    if (rc)
        reply_store_error(req, resp, db, rc, "URL not found");
    db_pool_release(app->pool, db);
    if (rc)
        goto out;
    rc = h_qr_render(app, code, &p, &img, &len);
    if (rc) {
        log_rerror(req->req_id, "cannot draw the QR code of url %lld: %s", req->match.ids[0],
                   err_str(rc));
        http_reply_error(resp, 500, "Internal error");
        goto out;
    }
    http_reply_bytes(resp, 200, img, len, qr_content_type(p.format));
    img = NULL; /* now the response's */
    resp->cache_control = H_QR_CACHE;
out:
    free(code);
    free(img);
    return resp->status;
}
