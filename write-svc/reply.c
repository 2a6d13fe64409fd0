/*
 * reply.c - parse-or-reply helpers for write-svc's handlers (see reply.h).
 */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "db.h"
#include "err.h"
#include "http.h"
#include "jx.h"
#include "log.h"
#include "store.h"
#include "validate.h"

#include "banned.h"

/* Ids fit in a PostgreSQL bigint; the JSON integer must be positive. */
#define REPLY_ID_MAX 999999999999999999LL

json_t *reply_body_or_reply(const struct http_req *req, struct http_resp *resp, int bad_status)
{
    json_t *body = jx_parse_object(req->body, req->body_len);
    const char *nul = body ? jx_nul_field(body) : NULL;
    if (!body)
        http_reply_error(resp, bad_status, "Request body must be a JSON object");
    if (nul) {
        reply_invalid_field(resp, nul, "must not contain NUL characters");
        json_decref(body);
        body = NULL;
    }
    return body;
}

int reply_invalid_field(struct http_resp *resp, const char *field, const char *why)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "Invalid %s", field);
    return http_reply_error_field(resp, 422, msg, field, why);
}

int reply_string_or_reply(json_t *body, const char *key, int required, int nullable,
                          reply_validator_fn validator, const char **out, struct http_resp *resp)
{
    size_t len = 0;
    const char *why = NULL;
    *out = NULL;
    switch (jx_get_string(body, key, out, &len)) {
    case JX_OK:
        if (validator && validator(*out, len, &why) != 0) {
            *out = NULL;
            reply_invalid_field(resp, key, why);
            return -1;
        }
        return 0;
    case JX_MISSING:
        if (!required)
            return 0;
        reply_invalid_field(resp, key, "is required");
        return -1;
    case JX_NULL:
        if (nullable && !required)
            return 0;
        reply_invalid_field(resp, key, required ? "is required" : "must be a string");
        return -1;
    case JX_WRONG_TYPE:
        break;
    }
    reply_invalid_field(resp, key, "must be a string");
    return -1;
}

int reply_id_or_reply(json_t *body, const char *key, long long *out, int *present,
                      struct http_resp *resp)
{
    *out = 0;
    enum jx_status st = jx_get_int(body, key, 1, REPLY_ID_MAX, out);
    if (present)
        *present = st != JX_MISSING;
    if (st == JX_OK || st == JX_MISSING || st == JX_NULL)
        return 0;
    *out = 0;
    reply_invalid_field(resp, key, "must be a positive integer");
    return -1;
}

int reply_bool_or_reply(json_t *body, const char *key, int *out, struct http_resp *resp)
{
    *out = -1;
    enum jx_status st = jx_get_bool(body, key, out);
    if (st == JX_OK)
        return 0;
    if (st == JX_MISSING) {
        *out = -1;
        return 0;
    }
    *out = -1;
    reply_invalid_field(resp, key, "must be true or false");
    return -1;
}

int reply_details_or_reply(json_t *body, char **out, struct http_resp *resp)
{
    json_t *details = NULL;
    *out = NULL;
    switch (jx_get_object(body, "details", &details)) {
    case JX_MISSING:
    case JX_NULL:
        return 0;
    case JX_OK:
        *out = jx_dump(details);
        if (*out)
            return 0;
        http_reply_error(resp, 500, "Internal error");
        return -1;
    case JX_WRONG_TYPE:
        break;
    }
    reply_invalid_field(resp, "details", "must be a JSON object");
    return -1;
}

int reply_query_id_or_reply(const struct http_req *req, const char *key, long long *out,
                            struct http_resp *resp)
{
    const char *v = http_req_query(req, key);
    *out = 0;
    if (!v)
        return 0;
    if (validate_query_id(v, out) == 0)
        return 0;
    char msg[96];
    snprintf(msg, sizeof(msg), "Query parameter %s must be a positive integer", key);
    http_reply_error(resp, 400, msg);
    return -1;
}

int reply_query_bool_or_reply(const struct http_req *req, const char *key, int *out,
                              struct http_resp *resp)
{
    const char *v = http_req_query(req, key);
    *out = -1;
    if (!v)
        return 0;
    if (validate_query_bool(v, out) == 0)
        return 0;
    *out = -1;
    char msg[96];
    snprintf(msg, sizeof(msg), "Query parameter %s must be true or false", key);
    http_reply_error(resp, 400, msg);
    return -1;
}

void reply_page(const struct http_req *req, struct store_page *pg)
{
    validate_pagination(http_req_query(req, "page"), http_req_query(req, "per_page"), &pg->paginate,
                        &pg->limit, &pg->offset);
}

struct db *reply_db_or_reply(struct app *app, const struct http_req *req, struct http_resp *resp)
{
    struct db *db = db_pool_acquire(app->pool);
    if (!db) {
        log_rwarn(req->req_id, "no database connection free within %ld ms",
                  app->cfg.pg_acquire_timeout_ms);
        http_reply_error(resp, 503, "Service unavailable: database busy");
    }
    return db;
}

int reply_store_error(const struct http_req *req, struct http_resp *resp, struct db *db, int rc,
                      const char *not_found)
{
    struct app *app = req->app;
    int status = err_to_http_status(rc); /* the one table (shared/err.c) */
    if (rc == ERR_KV)
        atomic_fetch_add_explicit(&app->stats.kv_errors, 1, memory_order_relaxed);
    if (rc == ERR_DB || rc == ERR_TIMEOUT) {
        atomic_fetch_add_explicit(&app->stats.db_errors, 1, memory_order_relaxed);
        log_rerror(req->req_id, "database error on %s %s: [%s] %s", req->method_str, req->path,
                   db ? db_sqlstate(db) : "", db ? db_errmsg(db) : "no handle");
    } else if (status >= 500) {
        log_rerror(req->req_id, "unexpected error on %s %s: %s", req->method_str, req->path,
                   err_str(rc));
    }
    return http_reply_error(resp, status, rc == ERR_NOT_FOUND ? not_found : err_client_text(rc));
}

int reply_store_result(const struct http_req *req, struct http_resp *resp, struct db *db, int rc,
                       const char *not_found, int status, char **json)
{
    if (rc)
        return reply_store_error(req, resp, db, rc, not_found);
    return reply_json_take(resp, status, json);
}

int reply_json_take(struct http_resp *resp, int status, char **json)
{
    char *body = *json;
    *json = NULL;
    return http_reply_json(resp, status, body, body ? strlen(body) : 0);
}

int reply_get_by_id(struct http_req *req, struct http_resp *resp, reply_read_fn fn,
                    const char *not_found)
{
    struct app *app = req->app;
    char *json = NULL;
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = fn(db, req->match.ids[0], &json);
    reply_store_result(req, resp, db, rc, not_found, 200, &json);
    db_pool_release(app->pool, db);
    return resp->status;
}

int reply_delete_by_id(struct http_req *req, struct http_resp *resp, reply_change_fn fn,
                       const char *not_found)
{
    struct app *app = req->app;
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = fn(app, db, req->match.ids[0]);
    if (rc)
        reply_store_error(req, resp, db, rc, not_found);
    else
        http_reply_empty(resp, 204);
    db_pool_release(app->pool, db);
    return resp->status;
}
