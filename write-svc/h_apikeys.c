/*
 * h_apikeys.c - POST /api-keys, GET /api-keys, DELETE /api-keys/<id> (PRODUCT.md section 4).
 * The guard (auth.c) lets only an unbound admin key reach them in keys mode; in open mode
 * they are as open as the rest of the API. The key is in the answer of POST only.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apikey.h"
#include "app.h"
#include "auth.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "keys.h"
#include "reply.h"
#include "store.h"

#include "banned.h"

#define APIKEY_NOT_FOUND "API key not found"

/* "scopes": a non-empty array of "read", "write", "admin". 0, or -1 after a 422. */
static int h_apikeys_scopes(json_t *body, unsigned *mask, struct http_resp *resp)
{
    json_t *a = json_object_get(body, "scopes"), *v;
    size_t i;
    *mask = 0;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return reply_invalid_field(resp, "scopes",
                                   "must be a non-empty array of read, write, admin"),
               -1;
    json_array_foreach(a, i, v)
    {
        unsigned bit =
            json_is_string(v) ? apikey_scope_parse(json_string_value(v), json_string_length(v)) : 0;
        if (!bit)
            return reply_invalid_field(resp, "scopes", "each scope must be read, write or admin"),
                   -1;
        *mask |= bit;
    }
    return 0;
}

int h_apikeys_create(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_apikey_new k = {0};
    struct db *db = NULL;
    char *json = NULL, scopes[APIKEY_SCOPES_MAX];
    unsigned mask;
    json_t *body = reply_body_or_reply(req, resp, 400);
    if (!body || reply_string_or_reply(body, "name", 1, 0, apikey_name_check, &k.name, resp) ||
        h_apikeys_scopes(body, &mask, resp) ||
        reply_id_or_reply(body, "user_id", &k.user_id, NULL, resp) ||
        reply_string_or_reply(body, "expires_at", 0, 1, keys_expiry_check, &k.expires_at, resp))
        goto out;
    apikey_scopes_str(mask, scopes);
    k.scopes = scopes;
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    int rc = keys_create(db, &k, &json);
    reply_store_result(req, resp, db, rc, "User not found", 201, &json);
out:
    db_pool_release(app->pool, db);
    json_decref(body);
    return resp->status;
}

int h_apikeys_list(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_page pg;
    char *json = NULL;
    reply_page(req, &pg);
    struct db *db = reply_db_or_reply(app, req, resp);
    if (!db)
        return resp->status;
    int rc = store_apikeys_list(db, &pg, &json);
    reply_store_result(req, resp, db, rc, APIKEY_NOT_FOUND, 200, &json);
    db_pool_release(app->pool, db);
    return resp->status;
}

/* Revokes the key and forgets this instance's cache at once (the others within its TTL). */
static int h_apikeys_revoke(struct app *app, struct db *db, long long id)
{
    int rc = store_apikeys_revoke(db, id);
    if (rc == 0)
        auth_cache_clear(app->auth);
    return rc;
}

int h_apikeys_delete(struct http_req *req, struct http_resp *resp)
{
    return reply_delete_by_id(req, resp, h_apikeys_revoke, APIKEY_NOT_FOUND);
}
