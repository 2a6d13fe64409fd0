/*
 * h_urls.c - /urls, /urls/<id>, /urls/<id>/events (API.md 4.3 rows 8 to 12 and
 * 17); /urls/<id>/stats is in h_stats.c.
 *
 * Every write runs in one PostgreSQL transaction that also holds the shared
 * read-model lock (so a rebuild never misses it), and changes the Redis read
 * model before COMMIT: if Redis cannot be written the transaction rolls back and
 * the client gets 503 (ARCHITECTURE.md, consistency rule 1). The row lock
 * (SELECT ... FOR UPDATE) orders concurrent writes of one URL, so the read model
 * ends in the state of the last COMMIT.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "auth.h"
#include "clicksync.h"
#include "db.h"
#include "dest.h"
#include "handlers.h"
#include "http.h"
#include "jx.h"
#include "linkopts.h"
#include "log.h"
#include "readmodel.h"
#include "reply.h"
#include "shortcode.h"
#include "store.h"
#include "validate.h"

#include "banned.h"

#define URL_NOT_FOUND   "URL not found"
#define USER_NOT_FOUND  "User not found"
#define URLS_CODE_TRIES 16

/* What a POST /urls body asks for. Strings are borrowed from the parsed body. */
struct url_input {
    long long user_id; /* 0: no owner */
    const char *original_url;
    const char *title;     /* NULL: none */
    struct link_opts opts; /* opts.short_code NULL: generate one */
    int is_active;         /* 1 unless the body says false */
};

/* ------------------------------------------------------------------------ */
/* Reads                                                                     */
/* ------------------------------------------------------------------------ */

int h_urls_list(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_page pg;
    struct db *db = NULL;
    char *json = NULL;
    long long user_id;
    int is_active, rc;
    reply_page(req, &pg);
    if (reply_query_id_or_reply(req, "user_id", &user_id, resp) ||
        reply_query_bool_or_reply(req, "is_active", &is_active, resp) ||
        auth_user_or_reply(req, &user_id, resp))
        goto out;
    clicksync_wait(app, req->req_id); /* `clicks` reflects every redirect answered */
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    if (user_id && (rc = store_exists(db, "users", user_id)) <= 0) {
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, USER_NOT_FOUND);
        goto out;
    }
    rc = store_urls_list(db, &pg, user_id, is_active, &json);
    reply_store_result(req, resp, db, rc, URL_NOT_FOUND, 200, &json);
out:
    db_pool_release(app->pool, db);
    return resp->status;
}

int h_urls_get(struct http_req *req, struct http_resp *resp)
{
    clicksync_wait(req->app, req->req_id); /* `clicks` reflects every redirect answered */
    return reply_get_by_id(req, resp, store_urls_get, URL_NOT_FOUND);
}

int h_urls_events(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_page pg;
    struct store_event_filter f = {.url_id = req->match.ids[0]};
    char *json = NULL;
    reply_page(req, &pg);
    f.event_type = http_req_query(req, "event_type");
    clicksync_wait(app, req->req_id);
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = store_exists(db, "urls", f.url_id);
    if (rc <= 0)
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, URL_NOT_FOUND);
    else
        reply_store_result(req, resp, db, store_events_list(db, &pg, &f, &json), URL_NOT_FOUND, 200,
                           &json);
    db_pool_release(app->pool, db);
    return resp->status;
}

/* ------------------------------------------------------------------------ */
/* Create                                                                    */
/* ------------------------------------------------------------------------ */

/* The destination rules (dest.h) for a new original_url: 0, or -1 after a 422. */
static int h_urls_dest_or_reply(const struct app *app, const char *url, struct http_resp *resp)
{
    const char *why = NULL;
    if (!app->dest || dest_check(app->dest, url, strlen(url), &why) == 0)
        return 0;
    reply_invalid_field(resp, "original_url", why);
    return -1;
}

/* Reads a POST /urls body into *in. 0, or -1 after a 422. */
static int h_urls_parse_create(json_t *body, struct url_input *in, struct http_resp *resp)
{
    memset(in, 0, sizeof(*in));
    /* "url" is accepted as an alias of "original_url" (API.md 4.3-8). */
    const char *key = json_object_get(body, "original_url") || !json_object_get(body, "url")
                          ? "original_url"
                          : "url";
    int active;
    if (reply_string_or_reply(body, key, 1, 0, validate_url, &in->original_url, resp) ||
        reply_id_or_reply(body, "user_id", &in->user_id, NULL, resp) ||
        reply_string_or_reply(body, "title", 0, 1, validate_title, &in->title, resp) ||
        linkopts_parse_or_reply(body, &in->opts, resp) ||
        reply_bool_or_reply(body, "is_active", &active, resp))
        return -1;
    in->is_active = active != 0;
    return 0;
}

/* Inserts *u with the chosen code, or a fresh random one drawn again on a collision. */
static int h_urls_insert(struct db *db, const char *chosen, struct store_url *u, char **json)
{
    char code[SHORTCODE_LEN + 1];
    int rc = ERR_CONFLICT;
    for (int i = 0; rc == ERR_CONFLICT && i < URLS_CODE_TRIES; i++) {
        const char *c = chosen;
        if (!c) {
            if ((rc = shortcode_generate(code)) != 0)
                return rc;
            c = code;
        }
        u->short_code = (char *)c; /* borrowed for the insert */
        rc = store_urls_insert(db, u, &u->id, json);
        u->short_code = rc == 0 ? strdup(c) : NULL;
        if (chosen)
            break; /* a chosen code that is taken is the client's conflict */
    }
    if (rc == 0 && !u->short_code)
        rc = ERR_NOMEM;
    return rc;
}

/* 409 for a custom alias that another link has. */
static void h_urls_code_taken(struct http_resp *resp)
{
    http_reply_error_field(resp, 409, "Short code already in use", "short_code", "already in use");
}

/* If COMMIT fails after the read model was written, take the link back out. */
static int h_urls_commit(struct app *app, struct db *db, const char *code, int published)
{
    int rc = db_commit(db);
    if (rc && published && readmodel_del(app, code) != 0)
        log_error("read model may hold uncommitted link '%s' until the next rebuild", code);
    return rc;
}

static int h_urls_create_tx(struct app *app, struct db *db, const struct url_input *in, char **json)
{
    struct store_url u = {.user_id = in->user_id, .is_active = in->is_active};
    u.original_url = (char *)in->original_url; /* borrowed: cleared before release */
    u.title = (char *)in->title;               /* likewise */
    linkopts_init(&u, &in->opts);
    int rc = db_begin(db);
    if (rc)
        return rc;
    /* The insert takes the read-model lock and checks the owner (foreign key) itself. */
    if ((rc = h_urls_insert(db, in->opts.short_code, &u, json)) != 0)
        goto out;
    if (u.is_active && (rc = readmodel_put(app, &u, 0)) != 0)
        goto out;
    rc = h_urls_commit(app, db, u.short_code, u.is_active);
out:
    db_rollback(db);
    u.original_url = NULL;
    u.title = NULL;
    store_url_release(&u);
    if (rc) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

int h_urls_create(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct url_input in;
    struct db *db = NULL;
    char *json = NULL;
    json_t *body = reply_body_or_reply(req, resp, 422);
    if (!body || h_urls_parse_create(body, &in, resp) ||
        auth_user_or_reply(req, &in.user_id, resp) ||
        h_urls_dest_or_reply(app, in.original_url, resp))
        goto out;
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    int rc = h_urls_create_tx(app, db, &in, &json);
    if (rc == ERR_CONFLICT && in.opts.short_code)
        h_urls_code_taken(resp);
    else if (rc)
        reply_store_error(req, resp, db, rc == ERR_CONFLICT ? ERR_UNAVAILABLE : rc, USER_NOT_FOUND);
    else
        reply_json_take(resp, 201, &json);
out:
    db_pool_release(app->pool, db);
    json_decref(body);
    return resp->status;
}

/* ------------------------------------------------------------------------ */
/* Update                                                                    */
/* ------------------------------------------------------------------------ */

/* Logs an event of type on the URL with details d (taken: always released). */
static int h_urls_log(struct db *db, const struct store_url *u, const char *type, json_t *d)
{
    char *details = d ? jx_dump(d) : NULL;
    char *json = NULL;
    int rc = details ? store_events_insert(db, u->id, u->user_id, type, details, &json) : ERR_NOMEM;
    free(json);
    free(details);
    json_decref(d);
    return rc;
}

/* Logs one 'updated' event {"field": f, "new_value": v} (seed format). */
static int h_urls_log_update(struct db *db, const struct store_url *u, const char *field,
                             const char *value)
{
    return h_urls_log(db, u, "updated",
                      json_pack("{s:s, s:s}", "field", field, "new_value", value ? value : ""));
}

struct h_urls_logger {
    struct db *db;
    const struct store_url *u;
};

/* linkopts_apply's callback: one 'updated' event per changed option. */
static int h_urls_log_option(void *arg, const char *field, const char *value)
{
    struct h_urls_logger *lg = arg;
    return h_urls_log_update(lg->db, lg->u, field, value);
}

static int h_urls_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Replaces *slot with a copy of v (NULL allowed). 0 or ERR_NOMEM. */
static int h_urls_set(char **slot, const char *v)
{
    char *copy = v ? strdup(v) : NULL;
    if (v && !copy)
        return ERR_NOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

/*
 * Applies the body's fields to the locked row *u, logging an 'updated' event per
 * changed field. Returns -1 after a 422 reply; otherwise 0 with any store
 * error in *rc.
 */
static int h_urls_apply(const struct app *app, struct db *db, json_t *body, struct store_url *u,
                        int *rc, struct http_resp *resp)
{
    const char *title, *url;
    struct link_opts opts;
    int active;
    *rc = 0;
    if (reply_string_or_reply(body, "title", 0, 1, validate_title, &title, resp) ||
        reply_string_or_reply(body, "original_url", 0, 0, validate_url, &url, resp) ||
        linkopts_parse_or_reply(body, &opts, resp) ||
        reply_bool_or_reply(body, "is_active", &active, resp) ||
        (url && strcmp(url, u->original_url) != 0 && h_urls_dest_or_reply(app, url, resp)))
        return -1;
    if (json_object_get(body, "title") && !h_urls_streq(title, u->title) &&
        !(*rc = h_urls_set(&u->title, title)))
        *rc = h_urls_log_update(db, u, "title", title);
    if (!*rc && url && strcmp(url, u->original_url) != 0 &&
        !(*rc = h_urls_set(&u->original_url, url)))
        *rc = h_urls_log_update(db, u, "original_url", url);
    if (!*rc && active >= 0 && active != u->is_active) {
        u->is_active = active;
        *rc = h_urls_log_update(db, u, "is_active", active ? "true" : "false");
    }
    if (!*rc) {
        struct h_urls_logger lg = {.db = db, .u = u};
        *rc = linkopts_apply(&opts, u, h_urls_log_option, &lg);
    }
    return 0;
}

/*
 * The click counter a link starts with when its hash is written anew. A link
 * that stays active keeps its counter (readmodel_put leaves it); one that moves
 * takes it along; one that comes back from inactive is counted from PostgreSQL
 * once every click it got before is persisted (it recorded none since). Only a
 * capped link must have that wait succeed: 503 rather than a cap that leaks.
 */
static int h_urls_seed_clicks(struct app *app, struct db *db, const struct store_url *u,
                              const struct store_url *was, long long *clicks)
{
    int moved = strcmp(was->short_code, u->short_code) != 0;
    *clicks = u->clicks;
    if (was->is_active && moved)
        return readmodel_take(app, was->short_code, clicks);
    if (was->is_active)
        return 0;
    int rc = clicksync_wait(app, "reactivate");
    if (rc && u->max_clicks > 0)
        return ERR_UNAVAILABLE;
    return store_urls_clicks(db, u->id, clicks);
}

/* The read model after a change: an active link is (re)written, anything else removed. */
static int h_urls_publish(struct app *app, struct db *db, const struct store_url *u,
                          const struct store_url *was)
{
    long long clicks = -1;
    if (!u->is_active)
        return was->is_active ? readmodel_del(app, was->short_code) : 0;
    int rc = h_urls_seed_clicks(app, db, u, was, &clicks);
    if (rc == 0)
        rc = readmodel_put(app, u, clicks >= 0 ? clicks : u->clicks);
    return rc;
}

/*
 * The update in one transaction. Returns 0, an ERR_* code to reply, or
 * ERR_INVALID with resp already filled (a 422 for the body or a field).
 */
static int h_urls_update_tx(struct app *app, struct db *db, const struct http_req *req,
                            struct http_resp *resp, char **json)
{
    struct store_url u = {0}, was = {0};
    json_t *body = NULL;
    int rc = db_begin(db);
    if (rc)
        return rc;
    /* Existence first, then the body (as for users). */
    if ((rc = store_lock_readmodel_shared(db)) || (rc = store_urls_lock(db, req->match.ids[0], &u)))
        goto out;
    was = (struct store_url){.short_code = strdup(u.short_code), .is_active = u.is_active};
    if (!was.short_code) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (!(body = reply_body_or_reply(req, resp, 422)) ||
        h_urls_apply(app, db, body, &u, &rc, resp)) {
        rc = ERR_INVALID; /* replied 422 */
        goto out;
    }
    if (rc || (rc = store_urls_update(db, &u, json)) || (rc = h_urls_publish(app, db, &u, &was)))
        goto out;
    rc = h_urls_commit(app, db, u.short_code, u.is_active);
out:
    db_rollback(db);
    store_url_release(&was);
    store_url_release(&u);
    json_decref(body);
    return rc;
}

int h_urls_update(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    char *json = NULL;
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = h_urls_update_tx(app, db, req, resp, &json);
    if (rc == ERR_CONFLICT && !resp->status)
        h_urls_code_taken(resp);
    else if (rc && !resp->status)
        reply_store_error(req, resp, db, rc, URL_NOT_FOUND);
    else if (!rc)
        reply_json_take(resp, 200, &json);
    free(json);
    db_pool_release(app->pool, db);
    return resp->status;
}

/* ------------------------------------------------------------------------ */
/* Delete                                                                    */
/* ------------------------------------------------------------------------ */

/* Logs the 'deleted' event that outlives the row (url_id is not a foreign key). */
static int h_urls_log_delete(struct db *db, const struct store_url *u)
{
    return h_urls_log(db, u, "deleted",
                      json_pack("{s:s, s:s, s:s}", "reason", "user_requested", "short_code",
                                u->short_code, "original_url", u->original_url));
}

static int h_urls_delete_tx(struct app *app, struct db *db, long long id)
{
    struct store_url u = {0};
    int rc = db_begin(db);
    if (rc)
        return rc;
    if ((rc = store_lock_readmodel_shared(db)) || (rc = store_urls_lock(db, id, &u)) ||
        (rc = h_urls_log_delete(db, &u)) || (rc = store_urls_delete(db, id)) ||
        (rc = readmodel_del(app, u.short_code)))
        goto out;
    rc = db_commit(db);
out:
    db_rollback(db);
    store_url_release(&u);
    return rc;
}

int h_urls_delete(struct http_req *req, struct http_resp *resp)
{
    return reply_delete_by_id(req, resp, h_urls_delete_tx, URL_NOT_FOUND);
}
