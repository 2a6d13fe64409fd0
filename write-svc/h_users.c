/*
 * h_users.c - /users and /users/<id> (API.md 4.3 rows 3 to 7).
 *
 * Uniqueness of username and email is the API's rule, not the table's (the
 * seed files contain duplicates): store_users_create/update check it under an
 * advisory lock and answer ERR_CONFLICT naming the field.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "readmodel.h"
#include "reply.h"
#include "store.h"
#include "validate.h"

#include "banned.h"

#define USER_NOT_FOUND "User not found"

int h_users_list(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_page pg;
    char *json = NULL;
    reply_page(req, &pg);
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = store_users_list(db, &pg, http_req_query(req, "username"),
                              http_req_query(req, "email"), auth_bound_user(req), &json);
    reply_store_result(req, resp, db, rc, USER_NOT_FOUND, 200, &json);
    db_pool_release(app->pool, db);
    return resp->status;
}

int h_users_get(struct http_req *req, struct http_resp *resp)
{
    return reply_get_by_id(req, resp, store_users_get, USER_NOT_FOUND);
}

/* 409 naming the field that is taken. */
static int h_users_conflict(struct http_resp *resp, const char *field)
{
    int is_email = field && strcmp(field, "email") == 0;
    return http_reply_error_field(resp, 409,
                                  is_email ? "Email already exists" : "Username already exists",
                                  is_email ? "email" : "username", "already exists");
}

/* Reads username/email from body; `required` for create. 0, or -1 after a 422. */
static int h_users_fields(json_t *body, int required, const char **username, const char **email,
                          struct http_resp *resp)
{
    if (reply_string_or_reply(body, "username", required, 0, validate_username, username, resp))
        return -1;
    return reply_string_or_reply(body, "email", required, 0, validate_email, email, resp);
}

int h_users_create(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct db *db = NULL;
    char *json = NULL;
    const char *username, *email, *conflict = NULL;
    json_t *body = reply_body_or_reply(req, resp, 400);
    if (!body || h_users_fields(body, 1, &username, &email, resp))
        goto out;
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    int rc = store_users_create(db, username, email, &json, &conflict);
    if (rc == ERR_CONFLICT)
        h_users_conflict(resp, conflict);
    else
        reply_store_result(req, resp, db, rc, USER_NOT_FOUND, 201, &json);
out:
    db_pool_release(app->pool, db);
    json_decref(body);
    return resp->status;
}

int h_users_update(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    json_t *body = NULL;
    char *json = NULL;
    const char *username, *email, *conflict = NULL;
    long long id = req->match.ids[0];
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        goto out;
    int rc = store_exists(db, "users", id); /* existence first, as API.md 4.3-6 says */
    if (rc <= 0) {
        reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, USER_NOT_FOUND);
        goto out;
    }
    body = reply_body_or_reply(req, resp, 400);
    if (!body || h_users_fields(body, 0, &username, &email, resp))
        goto out;
    rc = store_users_update(db, id, username, email, &json, &conflict);
    if (rc == ERR_CONFLICT)
        h_users_conflict(resp, conflict);
    else if (rc)
        reply_store_error(req, resp, db, rc, USER_NOT_FOUND);
    else
        reply_json_take(resp, 200, &json);
out:
    db_pool_release(app->pool, db);
    json_decref(body);
    return resp->status;
}

/* Re-publishes an active link of the user being deleted without its owner. */
static int h_users_orphan_link(void *arg, const struct store_url *u)
{
    struct store_url copy = *u;
    copy.user_id = 0;
    return readmodel_put(arg, &copy, copy.clicks);
}

/*
 * Deletes the user in one transaction: their URLs stay (user_id becomes NULL
 * through ON DELETE SET NULL) and the read model drops the owner of each active
 * link before COMMIT, so new clicks carry no user id (consistency rule 1).
 */
static int h_users_delete_tx(struct app *app, struct db *db, long long id)
{
    int rc = db_begin(db);
    if (rc)
        return rc;
    if ((rc = store_lock_readmodel_shared(db)) ||
        (rc = store_urls_each_active_of_user(db, id, h_users_orphan_link, app)) ||
        (rc = store_users_delete(db, id)))
        goto out;
    rc = db_commit(db);
out:
    db_rollback(db);
    return rc;
}

int h_users_delete(struct http_req *req, struct http_resp *resp)
{
    return reply_delete_by_id(req, resp, h_users_delete_tx, USER_NOT_FOUND);
}
