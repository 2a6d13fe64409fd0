/*
 * auth.c - the API key guard and its cache (see auth.h).
 */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "app.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "reply.h"
#include "store.h"
#include "timefmt.h"

#include "banned.h"

struct auth_slot {
    char hash[APIKEY_HASH_HEX + 1]; /* "" when empty */
    int64_t loaded_ms;              /* monotonic time of the lookup */
    int found;                      /* 0: no live key has this hash */
    struct store_apikey key;
};

struct auth_cache {
    pthread_mutex_t mu;
    long ttl_ms;
    struct auth_slot slots[AUTH_CACHE_SLOTS];
};

/* The key that authenticated this thread's current request (see auth_bound_user). */
static _Thread_local long long auth_tls_user;

struct auth_cache *auth_cache_new(long ttl_ms)
{
    struct auth_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->ttl_ms = ttl_ms;
    return c;
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void auth_cache_clear(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
        c->slots[i].hash[0] = '\0';
    pthread_mutex_unlock(&c->mu);
}

/* The slot of a hash: its first 4 hex digits (a uniform 16-bit number) modulo the size. */
static struct auth_slot *auth_slot(struct auth_cache *c, const char *hash)
{
    unsigned v = (unsigned)strtoul((char[5]){hash[0], hash[1], hash[2], hash[3], 0}, NULL, 16);
    return &c->slots[v & (AUTH_CACHE_SLOTS - 1)];
}

/* 1 found (in *out), 0 known not to exist, -1 not cached or too old. */
static int auth_cache_get(struct auth_cache *c, const char *hash, struct store_apikey *out)
{
    int rc = -1;
    if (c->ttl_ms <= 0)
        return -1;
    pthread_mutex_lock(&c->mu);
    struct auth_slot *s = auth_slot(c, hash);
    if (strcmp(s->hash, hash) == 0 && timefmt_mono_ms() - s->loaded_ms < c->ttl_ms) {
        rc = s->found;
        *out = s->key;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void auth_cache_put(struct auth_cache *c, const char *hash, int64_t loaded_ms, int found,
                           const struct store_apikey *key)
{
    if (c->ttl_ms <= 0)
        return;
    pthread_mutex_lock(&c->mu);
    struct auth_slot *s = auth_slot(c, hash);
    memcpy(s->hash, hash, sizeof(s->hash));
    s->loaded_ms = loaded_ms;
    s->found = found;
    s->key = *key;
    pthread_mutex_unlock(&c->mu);
}

/* 401 with WWW-Authenticate: Bearer. Returns 401. */
static int auth_401(struct http_resp *resp, const char *msg)
{
    http_reply_error(resp, 401, msg);
    resp->extra_name = "WWW-Authenticate";
    resp->extra_value = "Bearer";
    return 401;
}

/* The key of the request into *key: 0, or the status after replying 401 or 503. */
static int auth_find_or_reply(struct http_req *req, struct http_resp *resp,
                              struct store_apikey *key)
{
    struct app *app = req->app;
    const char *k;
    size_t len;
    char hash[APIKEY_HASH_HEX + 1];
    if (apikey_from_headers(req->authorization, req->x_api_key, &k, &len) != 0)
        return auth_401(resp, "Missing API key");
    if (!apikey_format_ok(k, len))
        return auth_401(resp, "Invalid API key");
    if (apikey_hash(k, len, hash) != 0)
        return http_reply_err(resp, ERR_NOMEM);
    int found = auth_cache_get(app->auth, hash, key);
    if (found < 0) {
        int64_t t0 = timefmt_mono_ms(); /* an entry's age counts from before the query */
        struct db *db = reply_db_or_reply(app, req, resp);
        if (!db)
            return resp->status;
        memset(key, 0, sizeof(*key));
        int rc = store_apikeys_lookup(db, hash, key);
        if (rc && rc != ERR_NOT_FOUND) {
            reply_store_error(req, resp, db, rc, "Invalid API key");
            db_pool_release(app->pool, db);
            return resp->status;
        }
        db_pool_release(app->pool, db);
        found = rc == 0;
        auth_cache_put(app->auth, hash, t0, found, key);
    }
    return found ? 0 : auth_401(resp, "Invalid API key");
}

/* 403 naming the scope a request lacks. Returns 403. */
static int auth_403_scope(struct http_resp *resp, unsigned need)
{
    return http_reply_error(resp, 403,
                            need == APIKEY_ADMIN ? "Forbidden: this API key lacks the admin scope"
                            : need == APIKEY_WRITE
                                ? "Forbidden: this API key lacks the write scope"
                                : "Forbidden: this API key lacks the read scope");
}

/* 1 for the routes a key bound to a user may not use: creating users, bulk import, keys. */
static int auth_unbound_only(const struct http_req *req)
{
    const char *p = req->match.route->pattern;
    return (strcmp(p, "/users") == 0 && req->method == HTTP_POST) ||
           strcmp(p, "/users/bulk") == 0 || strncmp(p, "/api-keys", 9) == 0;
}

/* For a key bound to `user`: 404 for another user's /users/<id>, /urls/<id>..., /events/<id>. */
static int auth_owner_or_reply(struct http_req *req, struct http_resp *resp, long long user)
{
    static const struct {
        const char *prefix, *table, *not_found;
    } rules[] = {
        {"/users/:id", NULL, "User not found"},
        {"/urls/:id", "urls", "URL not found"},
        {"/events/:id", "events", "Event not found"},
    };
    struct app *app = req->app;
    const char *p = req->match.route->pattern;
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        size_t n = strlen(rules[i].prefix);
        if (strncmp(p, rules[i].prefix, n) != 0 || (p[n] != '\0' && p[n] != '/'))
            continue;
        long long id = req->match.ids[0];
        if (!rules[i].table)
            return id == user ? 0 : http_reply_error(resp, 404, rules[i].not_found);
        struct db *db = reply_db_or_reply(app, req, resp);
        if (!db)
            return resp->status;
        int rc = store_owns(db, rules[i].table, id, user);
        if (rc <= 0)
            reply_store_error(req, resp, db, rc == 0 ? ERR_NOT_FOUND : rc, rules[i].not_found);
        db_pool_release(app->pool, db);
        return rc > 0 ? 0 : resp->status;
    }
    return 0;
}

int auth_guard(struct http_req *req, struct http_resp *resp)
{
    struct store_apikey key;
    unsigned have;
    const char *why;
    auth_tls_user = 0;
    req->auth_id[0] = '\0';
    unsigned need = apikey_required_scope(req->method, req->match.route->pattern);
    if (!need)
        return 0;
    if (auth_find_or_reply(req, resp, &key) != 0)
        return resp->status;
    if (key.expires >= 0 && (long long)time(NULL) >= key.expires)
        return auth_401(resp, "API key expired");
    if (apikey_scopes_parse_list(key.scopes, &have, &why) != 0 || !apikey_scope_allows(have, need))
        return auth_403_scope(resp, need);
    if (key.user_id && auth_unbound_only(req))
        return http_reply_error(resp, 403, "Forbidden: this API key is bound to a user");
    snprintf(req->auth_id, sizeof(req->auth_id), "%lld", key.id);
    auth_tls_user = key.user_id;
    return key.user_id ? auth_owner_or_reply(req, resp, key.user_id) : 0;
}

long long auth_bound_user(const struct http_req *req)
{
    return req->auth_id[0] ? auth_tls_user : 0;
}

int auth_user_or_reply(const struct http_req *req, long long *user_id, struct http_resp *resp)
{
    long long bound = auth_bound_user(req);
    if (!bound)
        return 0;
    if (*user_id && *user_id != bound) {
        http_reply_error(resp, 404, "User not found");
        return -1;
    }
    *user_id = bound;
    return 0;
}
