/*
 * auth.h - API_AUTH=keys: the authentication guard of write-svc (slot 0 of
 * http_server_cfg.guards) and its per-process cache of keys.
 *
 * The guard, for every routed request whose route needs a scope (apikey_required_scope):
 *   1. takes the key from "Authorization: Bearer" or "X-Api-Key" (none: 401);
 *   2. finds its SHA-256 in the cache, or else in PostgreSQL (unknown or revoked: 401;
 *      database down: 503), and caches the answer, found or not, for API_KEY_CACHE_MS;
 *   3. refuses an expired key (401) and a key without the needed scope (403);
 *   4. for a key bound to a user: refuses the routes only an unbound key may use (POST /users,
 *      /users/bulk, /api-keys: 403) and answers 404 for another user's /users/<id>,
 *      /urls/<id>[/...] and /events/<id>;
 *   5. records the key in req->auth_id and in this thread's auth context (auth_bound_user),
 *      which the handlers read to filter lists and check bodies.
 * Every 401 carries "WWW-Authenticate: Bearer". The cache holds at most AUTH_CACHE_SLOTS
 * entries (direct-mapped by hash, a newer entry replaces an older one), so a revoked key is
 * refused by every instance at most API_KEY_CACHE_MS after the revocation (at once by the
 * instance that revoked it) with no PostgreSQL round trip per request and no Redis at all.
 */
#ifndef AUTH_H
#define AUTH_H

#include "common.h"

#define AUTH_CACHE_SLOTS 4096 /* a power of two */

struct auth_cache;
struct http_req;
struct http_resp;

/* A new, empty cache whose entries live ttl_ms (0: no caching). NULL when out of memory. */
struct auth_cache *auth_cache_new(long ttl_ms);

/* Frees the cache. Accepts NULL. */
void auth_cache_free(struct auth_cache *c);

/* Forgets every entry (after a revocation on this instance). Accepts NULL. */
void auth_cache_clear(struct auth_cache *c);

/* The guard described above (an http_guard_fn; req->app is write-svc's struct app). */
int auth_guard(struct http_req *req, struct http_resp *resp);

/*
 * The user the request's key is bound to, or 0 (open mode, or an unbound key). Valid in the
 * handler of the request the guard let through (the guard and the handler run on one thread).
 */
long long auth_bound_user(const struct http_req *req);

/*
 * For a key bound to a user: *user_id (a filter or a body's owner, 0 when not given) must be
 * that user (else 404 "User not found" and -1) and becomes it when not given. Unbound keys
 * and open mode: 0, *user_id unchanged.
 */
int auth_user_or_reply(const struct http_req *req, long long *user_id, struct http_resp *resp);

#endif
