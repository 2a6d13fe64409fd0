/*
 * e2e_util.h - helpers of the end-to-end suite (test_api and its group files): the
 * environment, HTTP exchanges checked against the common response contract of API.md 3,
 * JSON accessors and shape checks, unique names, factories for users and URLs, and a view
 * of the Redis read model.
 *
 * Every helper runs inside a cmocka test and fails that test (a cmocka assertion) when
 * something is wrong, after printing the request and the response it was looking at.
 *
 * Ownership: functions returning json_t * return a NEW reference (json_decref it) unless
 * the comment says "borrowed"; functions taking `json_t *body` steal it. Strings returned
 * by the JSON accessors are borrowed from the object they came from.
 */
#ifndef E2E_UTIL_H
#define E2E_UTIL_H

#include <stddef.h>

#include <jansson.h>

#include "common.h"
#include "httpc.h"

/* The request body cap of API.md (1 MiB). */
#define E2E_BODY_MAX 1048576

/* --- environment ------------------------------------------------------------------- */

/*
 * Reads WRITE_URL, REDIS_URL, E2E_MODE (empty|seeded), STREAM_SHARDS (default 8) and
 * E2E_SEED_DIR (default schema/seed). Returns 0, or -1 after printing what is missing.
 */
int e2e_env_load(void);
/* Closes the Redis connection, if one was opened. */
void e2e_env_release(void);

const char *e2e_base(void);     /* WRITE_URL, borrowed */
int e2e_seeded(void);           /* 1 in E2E_MODE=seeded */
unsigned e2e_shards(void);      /* STREAM_SHARDS */
const char *e2e_seed_dir(void); /* E2E_SEED_DIR, borrowed */

/* --- HTTP ---------------------------------------------------------------------------- */

struct e2e_resp {
    int status;
    json_t *json; /* new reference: the parsed body, or NULL when empty or not JSON */
    struct httpc_resp raw;
};

/* Sends req to WRITE_URL; asserts that the exchange worked. Release *out afterwards. */
void e2e_send(const struct httpc_req *req, struct e2e_resp *out);
void e2e_resp_release(struct e2e_resp *r);

/*
 * Asserts the contract of every write-svc answer: the status is `status` (and never 500);
 * a 204 has an empty body; anything else has Content-Type application/json and a body that
 * is JSON. `what` names the request in the failure message.
 */
void e2e_check(const struct e2e_resp *r, int status, const char *what);
/*
 * 1 when body[0..len) has no space, tab, CR or LF outside JSON strings (the compact form
 * every answer must have: {"id":1,"a":"b c"}), else 0. e2e_check asserts it on every body.
 */
int e2e_is_compact(const char *body, size_t len);

/*
 * One request with a JSON body (Content-Type application/json; body NULL: none), checked
 * with e2e_check. Returns the parsed body (new reference), NULL for a 204.
 */
json_t *e2e_call(int status, const char *method, const char *path, const char *body);
json_t *e2e_callf(int status, const char *method, const char *path, const char *fmt, ...)
    ATTR_FORMAT(4, 5);
/* As e2e_call with the body built by jansson (stolen). */
json_t *e2e_call_json(int status, const char *method, const char *path, json_t *body);
/* As e2e_call with any Content-Type (NULL: no header) and body bytes. */
json_t *e2e_call_raw(int status, const char *method, const char *path, const char *ctype,
                     const char *body, size_t len);

/*
 * Asserts j is an error object: "error" a non-empty string and "details", when present,
 * an object. With field != NULL, details[field] must be a non-empty string.
 */
void e2e_assert_error(const json_t *j, const char *field);
/* e2e_call + e2e_assert_error, freeing the answer. */
void e2e_error(int status, const char *field, const char *method, const char *path,
               const char *body);
void e2e_error_json(int status, const char *field, const char *method, const char *path,
                    json_t *body);
void e2e_error_raw(int status, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len);

/* --- JSON ------------------------------------------------------------------------------ */

json_t *e2e_get(const json_t *o, const char *key); /* borrowed; asserts the key is there */
long long e2e_int(const json_t *o, const char *key);
const char *e2e_str(const json_t *o, const char *key);
int e2e_bool(const json_t *o, const char *key);
void e2e_assert_null(const json_t *o, const char *key);
size_t e2e_len(const json_t *array); /* asserts an array */
/* The element of array whose "id" is id, or NULL. Borrowed. */
json_t *e2e_find_id(const json_t *array, long long id);
/* Asserts the elements' ids are strictly ascending. */
void e2e_assert_ascending(const json_t *array);
/* Asserts YYYY-MM-DDTHH:MM:SS. */
void e2e_assert_timestamp(const char *s);
/* Asserts a timestamp within 10 minutes of the current UTC time. */
void e2e_assert_recent(const char *s);
/* Shapes of API.md 4.2 (keys and types). */
void e2e_assert_user(const json_t *u);
void e2e_assert_url(const json_t *u);
void e2e_assert_event(const json_t *e);
/* Asserts j is an array of objects of one shape (via check). */
void e2e_assert_array_of(const json_t *j, void (*check)(const json_t *));

/* --- factories ------------------------------------------------------------------------ */

/* Writes "<prefix>_<pid>_<n>" (unique in this run) into out. */
void e2e_unique(char *out, size_t n, const char *prefix);
/* Creates a user with a unique name; returns its id. name (may be NULL) receives the name. */
long long e2e_user_new(char *name, size_t n);
/* Creates a URL owned by user_id (0: none) to original_url (NULL: a unique URL). */
json_t *e2e_url_new(long long user_id, const char *original_url);
/* GET /<collection>/<id>, expecting 200 (new reference). */
json_t *e2e_get_id(const char *collection, long long id);
/* GET /users?username=<name> (new reference, an array). */
json_t *e2e_users_named(const char *name);
/* GET /events?url_id=<id> (new reference, an array). */
json_t *e2e_events_of(long long url_id);
/* Events of type in array: how many, and the last one (borrowed, NULL when none). */
size_t e2e_count_type(const json_t *events, const char *type);
json_t *e2e_last_type(const json_t *events, const char *type);
/* A string of n copies of c (new allocation). */
char *e2e_repeat(char c, size_t n);
/* A multipart/form-data body with one part (new allocation); *len receives its size. */
char *e2e_multipart(const char *boundary, const char *name, const char *filename,
                    const char *content, size_t clen, size_t *len);
/* The whole file at path (new allocation, NUL-terminated); asserts it could be read. */
char *e2e_read_file(const char *path, size_t *len);

/* --- Redis ---------------------------------------------------------------------------- */

/* The read-model hash of code as {"id","uid","url"} strings (new reference), NULL if absent. */
json_t *e2e_link(const char *code);
/* 1 when key exists. */
int e2e_redis_exists(const char *key);
/* PTTL of key (-2 when absent, -1 when it has no expiry). */
long long e2e_redis_pttl(const char *key);
/* GET key: a new allocation (NUL-terminated, *len without the NUL), or NULL when absent. */
char *e2e_redis_get(const char *key, size_t *len);
/* SET key value PX px, and DEL key. */
void e2e_redis_set_px(const char *key, const char *value, size_t len, long long px);
void e2e_redis_del(const char *key);
/* The number of keys matching pattern (SCAN). */
long e2e_redis_count(const char *pattern);
/* Asserts the read model holds url (an API URL object) exactly: id, uid ("" without owner), url. */
void e2e_assert_link(const json_t *url);
/* Asserts the read model has no link for code. */
void e2e_assert_no_link(const char *code);

/* --- groups: each test_<group>.c runs its tests and returns how many failed --------- */

int test_api_run_empty(void);   /* E2E_MODE=empty only: runs first, on the empty store */
int test_seeded_run(void);      /* E2E_MODE=seeded only: runs first, on the fresh seed */
int test_api_run(void);         /* health, routing, limits, request ids */
int test_bodies_run(void);      /* bodies that are not a JSON object, on every write */
int test_users_run(void);       /* /users and /users/<id> */
int test_bulk_run(void);        /* /users/bulk */
int test_hostile_run(void);     /* hostile input and security headers (issue 11) */
int test_urls_run(void);        /* POST /urls, GET /urls[/<id>] and the read model */
int test_urls_write_run(void);  /* PUT, PATCH and DELETE /urls/<id> and the read model */
int test_events_run(void);      /* /events, /events/<id>, /urls/<id>/events and stats */
int test_linkopts_run(void);    /* link options (PRODUCT.md 1) on the write side */
int test_idempotency_run(void); /* Idempotency-Key on the four creating POSTs */
int test_compact_run(void);     /* compact JSON bodies on every route, errors included */
int test_dest_run(void);        /* destination rules: self hosts and the blocklist (422) */

#endif
