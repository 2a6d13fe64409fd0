/*
 * e2e_util.c - helpers of the end-to-end suite (see e2e_util.h).
 */
#include "e2e_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "common.h"
#include "rkeys.h"
#include "shortcode.h"

#include "banned.h"

static struct {
    const char *base;
    const char *redis_url;
    const char *seed_dir;
    int seeded;
    unsigned shards;
    redisContext *redis;
    unsigned long counter;
} e2e;

/* ------------------------------------------------------------------------ */
/* Environment                                                               */
/* ------------------------------------------------------------------------ */

int e2e_env_load(void)
{
    const char *mode = getenv("E2E_MODE");
    const char *shards = getenv("STREAM_SHARDS");
    char *end;
    long n;

    e2e.base = getenv("WRITE_URL");
    e2e.redis_url = getenv("REDIS_URL");
    e2e.seed_dir = getenv("E2E_SEED_DIR");
    if (!e2e.seed_dir || !*e2e.seed_dir)
        e2e.seed_dir = "schema/seed";
    if (!e2e.base || !e2e.redis_url || !mode) {
        fprintf(stderr, "test_api: WRITE_URL, REDIS_URL and E2E_MODE must be set "
                        "(run it through tests/e2e/run.sh)\n");
        return -1;
    }
    if (strcmp(mode, "empty") != 0 && strcmp(mode, "seeded") != 0) {
        fprintf(stderr, "test_api: E2E_MODE must be empty or seeded, not '%s'\n", mode);
        return -1;
    }
    e2e.seeded = strcmp(mode, "seeded") == 0;
    e2e.shards = 8;
    if (shards && *shards) {
        n = strtol(shards, &end, 10);
        if (*end || n < 1 || n > 65535) {
            fprintf(stderr, "test_api: bad STREAM_SHARDS '%s'\n", shards);
            return -1;
        }
        e2e.shards = (unsigned)n;
    }
    return 0;
}

void e2e_env_release(void)
{
    if (e2e.redis)
        redisFree(e2e.redis);
    e2e.redis = NULL;
}

const char *e2e_base(void)
{
    return e2e.base;
}

int e2e_seeded(void)
{
    return e2e.seeded;
}

unsigned e2e_shards(void)
{
    return e2e.shards;
}

const char *e2e_seed_dir(void)
{
    return e2e.seed_dir;
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                      */
/* ------------------------------------------------------------------------ */

void e2e_send(const struct httpc_req *req, struct e2e_resp *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = httpc_request(e2e.base, req, &out->raw);
    if (rc != 0) {
        print_error("%s %s: no HTTP answer (httpc error %d)\n", req->method, req->path, rc);
        fail();
    }
    out->status = out->raw.status;
    if (out->raw.body_len > 0)
        out->json = json_loadb(out->raw.body, out->raw.body_len, JSON_DECODE_ANY, NULL);
}

void e2e_resp_release(struct e2e_resp *r)
{
    json_decref(r->json);
    httpc_resp_release(&r->raw);
    memset(r, 0, sizeof(*r));
}

/* Prints the answer (body cut at 600 bytes) for a failure message. */
static void e2e_dump(const struct e2e_resp *r, const char *what, const char *why)
{
    const char *ct = httpc_header(&r->raw, "Content-Type");
    int n = r->raw.body_len > 600 ? 600 : (int)r->raw.body_len;

    print_error("%s: %s\n  got status %d, Content-Type %s, body (%zu bytes): %.*s\n", what, why,
                r->status, ct ? ct : "(none)", r->raw.body_len, n, r->raw.body ? r->raw.body : "");
}

static int e2e_is_json_type(const char *ct)
{
    size_t n = strlen("application/json");

    return ct && strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

void e2e_check(const struct e2e_resp *r, int status, const char *what)
{
    char why[64];

    if (r->status != status || r->status >= 500) {
        snprintf(why, sizeof(why), "expected status %d", status);
        e2e_dump(r, what, why);
        fail();
    }
    if (r->status == 204) {
        if (r->raw.body_len != 0) {
            e2e_dump(r, what, "a 204 must have an empty body");
            fail();
        }
        return;
    }
    if (!e2e_is_json_type(httpc_header(&r->raw, "Content-Type"))) {
        e2e_dump(r, what, "expected Content-Type application/json");
        fail();
    }
    if (!r->json) {
        e2e_dump(r, what, "the body is not JSON");
        fail();
    }
    if (!e2e_is_compact(r->raw.body, r->raw.body_len)) {
        e2e_dump(r, what, "the JSON body is not compact (whitespace between tokens)");
        fail();
    }
}

int e2e_is_compact(const char *body, size_t len)
{
    int in_str = 0, esc = 0;

    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            return 0;
        } else {
            in_str = c == '"';
        }
    }
    return 1;
}

json_t *e2e_call_raw(int status, const char *method, const char *path, const char *ctype,
                     const char *body, size_t len)
{
    char ct_hdr[128], what[256];
    const char *headers[] = {ct_hdr, NULL};
    struct httpc_req req = {.method = method, .path = path, .body = body, .body_len = len};
    struct e2e_resp r;
    json_t *j;

    if (ctype) {
        snprintf(ct_hdr, sizeof(ct_hdr), "Content-Type: %s", ctype);
        req.headers = headers;
    }
    snprintf(what, sizeof(what), "%s %s (body %.80s%s)", method, path, body ? body : "none",
             body && len > 80 ? "..." : "");
    e2e_send(&req, &r);
    e2e_check(&r, status, what);
    j = r.json;
    r.json = NULL;
    e2e_resp_release(&r);
    return j;
}

json_t *e2e_call(int status, const char *method, const char *path, const char *body)
{
    return e2e_call_raw(status, method, path, body ? "application/json" : NULL, body,
                        body ? strlen(body) : 0);
}

json_t *e2e_callf(int status, const char *method, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *body = NULL;
    json_t *j;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&body, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    j = e2e_call(status, method, path, body);
    free(body);
    return j;
}

json_t *e2e_call_json(int status, const char *method, const char *path, json_t *body)
{
    char *text;
    json_t *j;

    assert_non_null(body);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    assert_non_null(text);
    j = e2e_call(status, method, path, text);
    free(text);
    return j;
}

void e2e_assert_error(const json_t *j, const char *field)
{
    const json_t *err = json_object_get(j, "error");
    const json_t *details = json_object_get(j, "details");
    const json_t *why;
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

    if (!json_is_object(j) || !json_is_string(err) || json_string_length(err) == 0 ||
        (details && !json_is_object(details))) {
        print_error("expected {\"error\": \"...\"[, \"details\": {...}]}, got %s\n",
                    text ? text : "?");
        free(text);
        fail();
    }
    if (field) {
        why = json_object_get(details, field);
        if (!json_is_string(why) || json_string_length(why) == 0) {
            print_error("expected details.%s to explain the error, got %s\n", field,
                        text ? text : "?");
            free(text);
            fail();
        }
    }
    free(text);
}

void e2e_error(int status, const char *field, const char *method, const char *path,
               const char *body)
{
    json_t *j = e2e_call(status, method, path, body);

    e2e_assert_error(j, field);
    json_decref(j);
}

void e2e_error_json(int status, const char *field, const char *method, const char *path,
                    json_t *body)
{
    json_t *j = e2e_call_json(status, method, path, body);

    e2e_assert_error(j, field);
    json_decref(j);
}

void e2e_error_raw(int status, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len)
{
    json_t *j = e2e_call_raw(status, method, path, ctype, body, len);

    e2e_assert_error(j, NULL);
    json_decref(j);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void e2e_fail_json(const json_t *o, const char *key, const char *why)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);

    print_error("\"%s\" %s in %.600s\n", key, why, text ? text : "?");
    free(text);
    fail();
}

json_t *e2e_get(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        e2e_fail_json(o, key, "is missing");
    return v;
}

long long e2e_int(const json_t *o, const char *key)
{
    json_t *v = e2e_get(o, key);

    if (!json_is_integer(v))
        e2e_fail_json(o, key, "is not an integer");
    return (long long)json_integer_value(v);
}

const char *e2e_str(const json_t *o, const char *key)
{
    json_t *v = e2e_get(o, key);

    if (!json_is_string(v))
        e2e_fail_json(o, key, "is not a string");
    return json_string_value(v);
}

int e2e_bool(const json_t *o, const char *key)
{
    json_t *v = e2e_get(o, key);

    if (!json_is_boolean(v))
        e2e_fail_json(o, key, "is not a boolean");
    return json_is_true(v);
}

void e2e_assert_null(const json_t *o, const char *key)
{
    if (!json_is_null(e2e_get(o, key)))
        e2e_fail_json(o, key, "is not null");
}

size_t e2e_len(const json_t *array)
{
    if (!json_is_array(array)) {
        e2e_fail_json(array, "(body)", "is not an array");
        return 0;
    }
    return json_array_size(array);
}

json_t *e2e_find_id(const json_t *array, long long id)
{
    size_t i;
    json_t *v;

    e2e_len(array);
    json_array_foreach(array, i, v)
    {
        if (json_integer_value(json_object_get(v, "id")) == id)
            return v;
    }
    return NULL;
}

void e2e_assert_ascending(const json_t *array)
{
    size_t i;
    json_t *v;
    long long prev = 0, id;

    e2e_len(array);
    json_array_foreach(array, i, v)
    {
        id = e2e_int(v, "id");
        if (i > 0 && id <= prev) {
            print_error("ids not ascending: %lld after %lld at index %zu\n", id, prev, i);
            fail();
        }
        prev = id;
    }
}

/* Parses YYYY-MM-DDTHH:MM:SS into seconds since the epoch (UTC); -1 when malformed. */
static long long e2e_parse_ts(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    struct tm tm = {0};
    size_t i;

    if (!s || strlen(s) != sizeof(shape) - 1)
        return -1;
    for (i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    }
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

void e2e_assert_timestamp(const char *s)
{
    if (e2e_parse_ts(s) < 0) {
        print_error("timestamp '%s' is not YYYY-MM-DDTHH:MM:SS\n", s ? s : "(null)");
        fail();
    }
}

void e2e_assert_recent(const char *s)
{
    long long t = e2e_parse_ts(s), now = (long long)time(NULL);

    e2e_assert_timestamp(s);
    if (t < now - 600 || t > now + 600) {
        print_error("timestamp '%s' is not the current UTC time (now is %lld s, it is %lld s)\n", s,
                    now, t);
        fail();
    }
}

void e2e_assert_user(const json_t *u)
{
    if (!json_is_object(u))
        e2e_fail_json(u, "(user)", "is not an object");
    assert_true(e2e_int(u, "id") > 0);
    e2e_str(u, "username");
    e2e_str(u, "email");
    e2e_assert_timestamp(e2e_str(u, "created_at"));
}

/* Asserts key is an integer > 0 or null. */
static void e2e_assert_ref(const json_t *o, const char *key)
{
    json_t *v = e2e_get(o, key);

    if (!json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) > 0))
        e2e_fail_json(o, key, "is neither a positive integer nor null");
}

void e2e_assert_url(const json_t *u)
{
    json_t *title;

    if (!json_is_object(u))
        e2e_fail_json(u, "(url)", "is not an object");
    assert_true(e2e_int(u, "id") > 0);
    e2e_assert_ref(u, "user_id");
    e2e_str(u, "short_code");
    e2e_str(u, "original_url");
    title = e2e_get(u, "title");
    if (!json_is_null(title) && !json_is_string(title))
        e2e_fail_json(u, "title", "is neither a string nor null");
    e2e_bool(u, "is_active");
    e2e_assert_timestamp(e2e_str(u, "created_at"));
    e2e_assert_timestamp(e2e_str(u, "updated_at"));
    /* The link options of PRODUCT.md 1 and the click total. */
    long long rt = e2e_int(u, "redirect_type");
    assert_true(rt == 301 || rt == 302 || rt == 307 || rt == 308);
    json_t *exp = e2e_get(u, "expires_at"), *max = e2e_get(u, "max_clicks");
    if (!json_is_null(exp))
        e2e_assert_timestamp(json_string_value(exp));
    if (!json_is_null(max) && !(json_is_integer(max) && json_integer_value(max) >= 1))
        e2e_fail_json(u, "max_clicks", "is neither a positive integer nor null");
    assert_true(e2e_int(u, "clicks") >= 0);
}

void e2e_assert_event(const json_t *e)
{
    if (!json_is_object(e))
        e2e_fail_json(e, "(event)", "is not an object");
    assert_true(e2e_int(e, "id") > 0);
    e2e_assert_ref(e, "url_id");
    e2e_assert_ref(e, "user_id");
    e2e_str(e, "event_type");
    e2e_assert_timestamp(e2e_str(e, "timestamp"));
    if (!json_is_object(e2e_get(e, "details")))
        e2e_fail_json(e, "details", "is not a JSON object");
}

void e2e_assert_array_of(const json_t *j, void (*check)(const json_t *))
{
    size_t i;
    json_t *v;

    e2e_len(j);
    json_array_foreach(j, i, v)
    {
        check(v);
    }
}

/* ------------------------------------------------------------------------ */
/* Factories                                                                 */
/* ------------------------------------------------------------------------ */

void e2e_unique(char *out, size_t n, const char *prefix)
{
    snprintf(out, n, "%s_%ld_%lu", prefix, (long)getpid(), ++e2e.counter);
}

long long e2e_user_new(char *name, size_t n)
{
    char u[64];
    json_t *j;
    long long id;

    e2e_unique(u, sizeof(u), "e2e");
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", u,
                  u);
    id = e2e_int(j, "id");
    assert_string_equal(e2e_str(j, "username"), u);
    json_decref(j);
    if (name)
        snprintf(name, n, "%s", u);
    return id;
}

json_t *e2e_url_new(long long user_id, const char *original_url)
{
    char u[64], url[128];
    json_t *body, *j;

    if (!original_url) {
        e2e_unique(u, sizeof(u), "p");
        snprintf(url, sizeof(url), "https://example.com/e2e/%s?q=1#frag", u);
        original_url = url;
    }
    body = json_pack("{s:s}", "original_url", original_url);
    assert_non_null(body);
    if (user_id)
        json_object_set_new(body, "user_id", json_integer(user_id));
    j = e2e_call_json(201, "POST", "/urls", body);
    e2e_assert_url(j);
    assert_string_equal(e2e_str(j, "original_url"), original_url);
    return j;
}

json_t *e2e_get_id(const char *collection, long long id)
{
    char path[96];

    snprintf(path, sizeof(path), "/%s/%lld", collection, id);
    return e2e_call(200, "GET", path, NULL);
}

json_t *e2e_users_named(const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "/users?username=%s", name);
    return e2e_call(200, "GET", path, NULL);
}

json_t *e2e_events_of(long long url_id)
{
    char path[64];
    json_t *j;

    snprintf(path, sizeof(path), "/events?url_id=%lld", url_id);
    j = e2e_call(200, "GET", path, NULL);
    e2e_assert_array_of(j, e2e_assert_event);
    return j;
}

size_t e2e_count_type(const json_t *events, const char *type)
{
    size_t i, n = 0;
    json_t *v;

    json_array_foreach(events, i, v)
    {
        if (strcmp(e2e_str(v, "event_type"), type) == 0)
            n++;
    }
    return n;
}

json_t *e2e_last_type(const json_t *events, const char *type)
{
    size_t i;
    json_t *v, *last = NULL;

    json_array_foreach(events, i, v)
    {
        if (strcmp(e2e_str(v, "event_type"), type) == 0)
            last = v;
    }
    return last;
}

char *e2e_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

char *e2e_multipart(const char *boundary, const char *name, const char *filename,
                    const char *content, size_t clen, size_t *len)
{
    char *head = NULL, *tail = NULL, *out;
    int hn, tn;

    hn = asprintf(&head,
                  "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                  "Content-Type: text/csv\r\n\r\n",
                  boundary, name, filename);
    tn = asprintf(&tail, "\r\n--%s--\r\n", boundary);
    assert_true(hn > 0 && tn > 0);
    out = malloc((size_t)hn + clen + (size_t)tn + 1);
    assert_non_null(out);
    memcpy(out, head, (size_t)hn);
    memcpy(out + hn, content, clen);
    memcpy(out + (size_t)hn + clen, tail, (size_t)tn + 1);
    *len = (size_t)hn + clen + (size_t)tn;
    free(head);
    free(tail);
    return out;
}

char *e2e_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    if (!f) {
        print_error("cannot open %s\n", path);
        fail();
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)size + 1);
        if (data && fread(data, 1, (size_t)size, f) == (size_t)size) {
            data[size] = '\0';
            *len = (size_t)size;
        } else {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    if (!data) {
        print_error("cannot read %s\n", path);
        fail();
    }
    return data;
}

/* ------------------------------------------------------------------------ */
/* Redis                                                                     */
/* ------------------------------------------------------------------------ */

/* The connection, opened on first use from REDIS_URL (redis://[:password@]host[:port][/db]). */
static redisContext *e2e_redis(void)
{
    char host[128] = "127.0.0.1", pass[128] = "";
    const char *p, *at, *colon, *slash;
    int port = 6379, db = 0;
    redisReply *r;

    if (e2e.redis)
        return e2e.redis;
    assert_true(strncmp(e2e.redis_url, "redis://", 8) == 0);
    p = e2e.redis_url + 8;
    at = strchr(p, '@');
    if (at) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (colon)
            snprintf(pass, sizeof(pass), "%.*s", (int)(at - colon - 1), colon + 1);
        p = at + 1;
    }
    slash = strchr(p, '/');
    colon = strchr(p, ':');
    if (colon && (!slash || colon < slash)) {
        snprintf(host, sizeof(host), "%.*s", (int)(colon - p), p);
        port = (int)strtol(colon + 1, NULL, 10);
    } else if (slash ? slash > p : *p) {
        snprintf(host, sizeof(host), "%.*s", slash ? (int)(slash - p) : (int)strlen(p), p);
    }
    if (slash && slash[1])
        db = (int)strtol(slash + 1, NULL, 10);
    e2e.redis = redisConnect(host, port);
    if (!e2e.redis || e2e.redis->err) {
        print_error("cannot connect to Redis at %s:%d\n", host, port);
        fail();
    }
    if (*pass) {
        r = redisCommand(e2e.redis, "AUTH %s", pass);
        freeReplyObject(r);
    }
    if (db) {
        r = redisCommand(e2e.redis, "SELECT %d", db);
        freeReplyObject(r);
    }
    return e2e.redis;
}

json_t *e2e_link(const char *code)
{
    char key[RKEYS_MAX];
    redisReply *r;
    json_t *j;
    size_t i;

    assert_true(rkeys_link(code, strlen(code), e2e.shards, key) > 0);
    r = redisCommand(e2e_redis(), "HGETALL %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    if (r->elements == 0) {
        freeReplyObject(r);
        return NULL;
    }
    j = json_object();
    for (i = 0; i + 1 < r->elements; i += 2)
        json_object_set_new(j, r->element[i]->str, json_string(r->element[i + 1]->str));
    freeReplyObject(r);
    return j;
}

int e2e_redis_exists(const char *key)
{
    redisReply *r = redisCommand(e2e_redis(), "EXISTS %s", key);
    int n;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    n = (int)r->integer;
    freeReplyObject(r);
    return n;
}

long long e2e_redis_pttl(const char *key)
{
    redisReply *r = redisCommand(e2e_redis(), "PTTL %s", key);
    long long n;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    n = r->integer;
    freeReplyObject(r);
    return n;
}

char *e2e_redis_get(const char *key, size_t *len)
{
    redisReply *r = redisCommand(e2e_redis(), "GET %s", key);
    char *v = NULL;

    assert_non_null(r);
    assert_true(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL);
    if (r->type == REDIS_REPLY_STRING) {
        v = malloc(r->len + 1);
        assert_non_null(v);
        memcpy(v, r->str, r->len);
        v[r->len] = '\0';
        *len = r->len;
    }
    freeReplyObject(r);
    return v;
}

void e2e_redis_set_px(const char *key, const char *value, size_t len, long long px)
{
    redisReply *r = redisCommand(e2e_redis(), "SET %s %b PX %lld", key, value, len, px);

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
}

void e2e_redis_del(const char *key)
{
    redisReply *r = redisCommand(e2e_redis(), "DEL %s", key);

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    freeReplyObject(r);
}

long e2e_redis_count(const char *pattern)
{
    char cursor[32] = "0";
    redisReply *r;
    long n = 0;

    do {
        r = redisCommand(e2e_redis(), "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 2);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        n += (long)r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* The option fields of a link hash (rt, exp in ms, max; "" for none) match the URL object. */
static void e2e_assert_link_options(const json_t *url, const json_t *link)
{
    char rt[16], exp[32] = "", max[32] = "";
    json_t *e = e2e_get(url, "expires_at"), *m = e2e_get(url, "max_clicks");
    const char *got_rt = json_string_value(json_object_get(link, "rt"));
    const char *got_exp = json_string_value(json_object_get(link, "exp"));
    const char *got_max = json_string_value(json_object_get(link, "max"));

    snprintf(rt, sizeof(rt), "%lld", e2e_int(url, "redirect_type"));
    if (json_is_string(e))
        snprintf(exp, sizeof(exp), "%lld", (long long)e2e_parse_ts(json_string_value(e)) * 1000);
    if (json_is_integer(m))
        snprintf(max, sizeof(max), "%lld", (long long)json_integer_value(m));
    if (!got_rt || !got_exp || !got_max || strcmp(got_rt, rt) || strcmp(got_exp, exp) ||
        strcmp(got_max, max) || !json_is_string(json_object_get(link, "n"))) {
        print_error("read model of '%s': expected rt %s, exp '%s', max '%s' and a counter\n",
                    e2e_str(url, "short_code"), rt, exp, max);
        fail();
    }
}

void e2e_assert_link(const json_t *url)
{
    const char *code = e2e_str(url, "short_code");
    json_t *link = e2e_link(code), *uid = e2e_get(url, "user_id");
    char id[32], owner[32] = "";
    char *text;

    snprintf(id, sizeof(id), "%lld", e2e_int(url, "id"));
    if (!json_is_null(uid))
        snprintf(owner, sizeof(owner), "%lld", (long long)json_integer_value(uid));
    if (!link || !json_is_string(json_object_get(link, "id")) ||
        !json_is_string(json_object_get(link, "uid")) ||
        !json_is_string(json_object_get(link, "url")) ||
        strcmp(json_string_value(json_object_get(link, "id")), id) != 0 ||
        strcmp(json_string_value(json_object_get(link, "uid")), owner) != 0 ||
        strcmp(json_string_value(json_object_get(link, "url")), e2e_str(url, "original_url"))) {
        text = link ? json_dumps(link, JSON_COMPACT) : NULL;
        print_error("read model of '%s': expected {id:%s, uid:'%s', url:'%s'}, got %s\n", code, id,
                    owner, e2e_str(url, "original_url"), text ? text : "no hash");
        free(text);
        json_decref(link);
        fail();
    }
    e2e_assert_link_options(url, link);
    json_decref(link);
}

void e2e_assert_no_link(const char *code)
{
    json_t *link = e2e_link(code);
    char *text;

    if (link) {
        text = json_dumps(link, JSON_COMPACT);
        print_error("read model still holds '%s': %s\n", code, text ? text : "?");
        free(text);
        json_decref(link);
        fail();
    }
}
