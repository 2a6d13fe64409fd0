/*
 * h_events.c - /events and /events/<id> (API.md 4.3 rows 14 to 16).
 *
 * Every read first waits (bounded) until the event-worker has persisted each
 * click answered before the read began (clicksync.c, consistency rule 2).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "auth.h"
#include "clicksync.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "reply.h"
#include "store.h"
#include "validate.h"

#include "banned.h"

#define EVENT_NOT_FOUND "Event not found"

/* The fields of a POST/PUT body. Strings are borrowed from the body; details is owned. */
struct event_input {
    const char *event_type; /* NULL: absent */
    long long url_id, user_id;
    int has_url, has_user; /* the key was present (null included) */
    char *details;         /* compact JSON object, or NULL */
    int has_details;       /* the key was present (null included) */
};

int h_events_list(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_page pg;
    struct store_event_filter f = {0};
    struct db *db = NULL;
    char *json = NULL;
    reply_page(req, &pg);
    f.event_type = http_req_query(req, "event_type");
    if (reply_query_id_or_reply(req, "url_id", &f.url_id, resp) ||
        reply_query_id_or_reply(req, "user_id", &f.user_id, resp) ||
        auth_user_or_reply(req, &f.user_id, resp))
        goto out;
    clicksync_wait(app, req->req_id);
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    int rc = store_events_list(db, &pg, &f, &json);
    reply_store_result(req, resp, db, rc, EVENT_NOT_FOUND, 200, &json);
out:
    db_pool_release(app->pool, db);
    return resp->status;
}

int h_events_get(struct http_req *req, struct http_resp *resp)
{
    clicksync_wait(req->app, req->req_id);
    return reply_get_by_id(req, resp, store_events_get, EVENT_NOT_FOUND);
}

/* Reads the body's fields; `create` makes event_type required. 0, or -1 after a 422. */
static int h_events_parse(json_t *body, int create, struct event_input *in, struct http_resp *resp)
{
    memset(in, 0, sizeof(*in));
    in->has_details = json_object_get(body, "details") != NULL;
    return reply_string_or_reply(body, "event_type", create, 0, validate_event_type,
                                 &in->event_type, resp) ||
                   reply_id_or_reply(body, "url_id", &in->url_id, &in->has_url, resp) ||
                   reply_id_or_reply(body, "user_id", &in->user_id, &in->has_user, resp) ||
                   reply_details_or_reply(body, &in->details, resp)
               ? -1
               : 0;
}

/*
 * 404s for referenced ids that do not exist, or, for a key bound to a user, that are not that
 * user's (an event may only name the user and that user's links). 0, or -1 after replying.
 */
static int h_events_refs_or_reply(const struct http_req *req, struct db *db,
                                  const struct event_input *in, struct http_resp *resp)
{
    int rc = 1;
    long long bound = auth_bound_user(req);
    if (bound && in->has_user && in->user_id != bound) {
        http_reply_error(resp, 404, "User not found");
        return -1;
    }
    if (in->url_id && (rc = bound ? store_owns(db, "urls", in->url_id, bound)
                                  : store_exists(db, "urls", in->url_id)) <= 0) {
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, "URL not found");
        return -1;
    }
    if (in->user_id && (rc = store_exists(db, "users", in->user_id)) <= 0) {
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, "User not found");
        return -1;
    }
    return 0;
}

int h_events_create(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct event_input in = {0};
    struct db *db = NULL;
    char *json = NULL;
    json_t *body = reply_body_or_reply(req, resp, 400);
    if (!body || h_events_parse(body, 1, &in, resp))
        goto out;
    if (auth_bound_user(req) && !in.has_user) { /* a bound key's events are its user's */
        in.user_id = auth_bound_user(req);
        in.has_user = 1;
    }
    if (!(db = reply_db_or_reply(app, req, resp)) || h_events_refs_or_reply(req, db, &in, resp))
        goto out;
    int rc = store_events_insert(db, in.url_id, in.user_id, in.event_type, in.details, &json);
    reply_store_result(req, resp, db, rc, EVENT_NOT_FOUND, 201, &json);
out:
    db_pool_release(app->pool, db);
    free(in.details);
    json_decref(body);
    return resp->status;
}

int h_events_update(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct event_input in = {0};
    json_t *body = NULL;
    char *json = NULL;
    long long id = req->match.ids[0];
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        goto out;
    int rc = store_exists(db, "events", id); /* existence first, as for users and urls */
    if (rc <= 0) {
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, EVENT_NOT_FOUND);
        goto out;
    }
    body = reply_body_or_reply(req, resp, 400);
    if (!body || h_events_parse(body, 0, &in, resp) || h_events_refs_or_reply(req, db, &in, resp))
        goto out;
    /* "details": null resets the details to {}; absent leaves them as they are. */
    const char *details = in.details ? in.details : (in.has_details ? "{}" : NULL);
    rc = store_events_update(db, id, in.event_type, details, in.has_url, in.url_id, in.has_user,
                             in.user_id, &json);
    reply_store_result(req, resp, db, rc, EVENT_NOT_FOUND, 200, &json);
out:
    db_pool_release(app->pool, db);
    free(in.details);
    json_decref(body);
    return resp->status;
}

static int h_events_delete_row(struct app *app, struct db *db, long long id)
{
    (void)app;
    return store_events_delete(db, id);
}

int h_events_delete(struct http_req *req, struct http_resp *resp)
{
    return reply_delete_by_id(req, resp, h_events_delete_row, EVENT_NOT_FOUND);
}
