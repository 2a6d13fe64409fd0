/*
 * reply.h - the *_or_reply helpers that keep write-svc's handlers a straight line
 * (Redis's addReply idiom): each one either produces a value or writes the error
 * response itself and returns -1 (or NULL), so a handler only has to `goto out`.
 *
 * Statuses follow API.md: a body that is not a JSON object is 400 on /users and
 * /events and 422 on /urls (the caller passes which); a bad field is 422 with
 * {"error": "...", "details": {"<field>": "<why>"}}; a bad query value is 400.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stddef.h>

#include "common.h"

struct app;
struct db;
struct http_req;
struct http_resp;
struct json_t;
struct store_page;

/* A validator of validate.h: 0 or ERR_INVALID with a static reason in *why. */
typedef int (*reply_validator_fn)(const char *s, size_t len, const char **why);

/*
 * Parses the body as a JSON object. Returns a new reference (caller json_decref()s
 * it), or NULL after replying `bad_status` with a JSON error.
 */
struct json_t *reply_body_or_reply(const struct http_req *req, struct http_resp *resp,
                                   int bad_status);

/* Replies 422 {"error": "Invalid <field>", "details": {field: why}}. Returns 422. */
int reply_invalid_field(struct http_resp *resp, const char *field, const char *why);

/*
 * A string field. *out is borrowed from body, or NULL when the field is absent
 * (or JSON null and `nullable`). `required` refuses absence and null. The
 * validator, if any, runs on present values. Returns 0, or -1 after a 422.
 */
int reply_string_or_reply(struct json_t *body, const char *key, int required, int nullable,
                          reply_validator_fn validator, const char **out, struct http_resp *resp);

/*
 * An id field (user_id, url_id): a JSON integer >= 1; absent or null gives 0.
 * *present says whether the key was in the body (null included). Returns 0, or
 * -1 after a 422 (bool, real, string, zero, negative, too big).
 */
int reply_id_or_reply(struct json_t *body, const char *key, long long *out, int *present,
                      struct http_resp *resp);

/* A boolean field: *out is 1/0, or -1 when absent. Null or any other type is a 422. */
int reply_bool_or_reply(struct json_t *body, const char *key, int *out, struct http_resp *resp);

/*
 * The `details` field of an event: absent or null gives NULL (store writes {}),
 * an object gives a new compact JSON string (caller frees), anything else a 422.
 */
int reply_details_or_reply(struct json_t *body, char **out, struct http_resp *resp);

/* A query-string id (?user_id=): absent gives 0; malformed is a 400. Returns 0 or -1. */
int reply_query_id_or_reply(const struct http_req *req, const char *key, long long *out,
                            struct http_resp *resp);

/* A query-string bool (?is_active=): absent gives -1; malformed is a 400. Returns 0 or -1. */
int reply_query_bool_or_reply(const struct http_req *req, const char *key, int *out,
                              struct http_resp *resp);

/* Pagination from ?page=&per_page= (never fails; see validate_pagination). */
void reply_page(const struct http_req *req, struct store_page *pg);

/* A borrowed pooled handle, or NULL after replying 503. Give it back with db_pool_release. */
struct db *reply_db_or_reply(struct app *app, const struct http_req *req, struct http_resp *resp);

/*
 * Replies for a failed store call: ERR_NOT_FOUND -> 404 {"error": not_found},
 * ERR_CONFLICT -> 409, ERR_KV -> 503 (Redis), ERR_DB/ERR_TIMEOUT/ERR_UNAVAILABLE
 * -> 503, anything else 500. Database and Redis detail is logged with the
 * request id, never sent. Returns the status.
 */
int reply_store_error(const struct http_req *req, struct http_resp *resp, struct db *db, int rc,
                      const char *not_found);

/* A read of one row by id: 0 with a new JSON string in *json (caller frees), or ERR_*. */
typedef int (*reply_read_fn)(struct db *db, long long id, char **json);

/* A change of one row by id, transaction included: 0 or ERR_*. */
typedef int (*reply_change_fn)(struct app *app, struct db *db, long long id);

/*
 * GET of one resource: fn(db, <the path's :id>) -> 200 with its JSON, or the
 * store error (not_found is the 404 message). Returns the status.
 */
int reply_get_by_id(struct http_req *req, struct http_resp *resp, reply_read_fn fn,
                    const char *not_found);

/* DELETE of one resource: fn(app, db, <the path's :id>) -> 204, or the store error. */
int reply_delete_by_id(struct http_req *req, struct http_resp *resp, reply_change_fn fn,
                       const char *not_found);

/*
 * The end of most handlers: rc != 0 replies the store error (as reply_store_error, with
 * not_found for a 404), else status with *json as the body, taken (*json = NULL). Returns
 * the status replied.
 */
int reply_store_result(const struct http_req *req, struct http_resp *resp, struct db *db, int rc,
                       const char *not_found, int status, char **json);

/* Replies status with *json as the body, taking it (sets *json = NULL). Returns status. */
int reply_json_take(struct http_resp *resp, int status, char **json);

#endif
