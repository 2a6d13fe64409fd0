/*
 * test_idempotency.c - Idempotency-Key on POST /users, /urls, /events and /users/bulk
 * (PRODUCT.md 2, docs/API.md "Idempotency-Key", docs/DECISIONS.md): replays with
 * Idempotent-Replayed and no second row, 422 for a reused key or a malformed one, 409 while
 * the key is in flight (a lock planted in Redis as another instance would hold it, and two
 * requests raced from two threads), which answers are stored, and the Redis record itself.
 * Keys are unique per run (e2e_unique), so the empty and seeded runs never share one.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../write-svc/idempotency.h"
#include "buf.h"
#include "e2e_util.h"
#include "httpc.h"

#include "banned.h"

/* One answer to a request carrying an Idempotency-Key. */
struct idem_ans {
    int status;
    int replayed; /* Idempotent-Replayed: true was sent */
    json_t *json; /* new reference, or NULL */
    char *raw;    /* the body bytes (new allocation) */
};

static void idem_ans_release(struct idem_ans *a)
{
    json_decref(a->json);
    free(a->raw);
    memset(a, 0, sizeof(*a));
}

/*
 * POSTs body (Content-Type ctype) to path with the header value `key` (NULL: no header)
 * and checks the common contract: a JSON answer, never a 5xx.
 */
static void idem_post(const char *path, const char *key, const char *ctype, const char *body,
                      size_t len, struct idem_ans *out)
{
    char hk[512], hc[128];
    const char *headers[3] = {hc, NULL, NULL};
    struct httpc_req req = {.method = "POST", .path = path, .headers = headers, .body = body};
    struct e2e_resp r;
    const char *rep;

    snprintf(hc, sizeof(hc), "Content-Type: %s", ctype);
    if (key) {
        snprintf(hk, sizeof(hk), "Idempotency-Key: %s", key);
        headers[1] = hk;
    }
    req.body_len = len;
    e2e_send(&req, &r);
    e2e_check(&r, r.status < 500 ? r.status : 200, path);
    rep = httpc_header(&r.raw, "Idempotent-Replayed");
    out->status = r.status;
    out->replayed = rep && strcmp(rep, "true") == 0;
    out->json = json_incref(r.json);
    out->raw = strdup(r.raw.body ? r.raw.body : "");
    assert_non_null(out->raw);
    e2e_resp_release(&r);
}

static void idem_post_json(const char *path, const char *key, const char *body,
                           struct idem_ans *out)
{
    idem_post(path, key, "application/json", body, strlen(body), out);
}

/* Asserts a 422 naming the header in details. */
static void idem_assert_422(const struct idem_ans *a)
{
    assert_int_equal(a->status, 422);
    assert_false(a->replayed);
    e2e_assert_error(a->json, IDEMPOTENCY_HEADER);
}

/* Sends the same request twice; the second must replay the first byte for byte. */
static void idem_twice(const char *path, const char *key, const char *ctype, const char *body,
                       int status, struct idem_ans *first)
{
    struct idem_ans again;
    idem_post(path, key, ctype, body, strlen(body), first);
    assert_int_equal(first->status, status);
    assert_false(first->replayed);
    idem_post(path, key, ctype, body, strlen(body), &again);
    assert_int_equal(again.status, status);
    assert_true(again.replayed);
    assert_string_equal(again.raw, first->raw);
    idem_ans_release(&again);
}

/* The Redis key of an Idempotency-Key (scope "open"). */
static void idem_rkey(const char *key, char out[IDEMPOTENCY_REDIS_KEY_MAX])
{
    assert_int_equal(idempotency_redis_key("open", key, strlen(key), out), 0);
}

/* ------------------------------------------------------------------------ */
/* Replays on each route                                                     */
/* ------------------------------------------------------------------------ */

static void test_idem_users_replayed_one_row(void **state)
{
    char key[64], name[64], body[256], rkey[IDEMPOTENCY_REDIS_KEY_MAX];
    struct idem_ans a;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-users");
    e2e_unique(name, sizeof(name), "idemu");
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name, name);
    idem_twice("/users", key, "application/json", body, 201, &a);
    e2e_assert_user(a.json);
    rows = e2e_users_named(name);
    assert_int_equal(e2e_len(rows), 1);
    assert_int_equal(e2e_int(json_array_get(rows, 0), "id"), e2e_int(a.json, "id"));
    json_decref(rows);
    /* The record is kept 24 h. */
    idem_rkey(key, rkey);
    assert_true(e2e_redis_pttl(rkey) > 23LL * 3600 * 1000);
    idem_ans_release(&a);
}

static void test_idem_urls_replayed_one_row(void **state)
{
    char key[64], body[256];
    struct idem_ans a;
    json_t *events;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-urls");
    snprintf(body, sizeof(body), "{\"original_url\":\"https://example.com/%s\"}", key);
    idem_twice("/urls", key, "application/json", body, 201, &a);
    e2e_assert_url(a.json);
    events = e2e_events_of(e2e_int(a.json, "id"));
    assert_int_equal(e2e_count_type(events, "created"), 1);
    json_decref(events);
    /* The replay did not create a second URL to the same address either. */
    json_t *next = e2e_url_new(0, NULL);
    assert_int_equal(e2e_int(next, "id"), e2e_int(a.json, "id") + 1);
    json_decref(next);
    idem_ans_release(&a);
}

static void test_idem_events_replayed_one_row(void **state)
{
    char key[64], type[64], body[256], path[128];
    struct idem_ans a;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-events");
    e2e_unique(type, sizeof(type), "idem");
    snprintf(body, sizeof(body), "{\"event_type\":\"%s\",\"details\":{\"k\":1}}", type);
    idem_twice("/events", key, "application/json", body, 201, &a);
    e2e_assert_event(a.json);
    snprintf(path, sizeof(path), "/events?event_type=%s", type);
    rows = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_len(rows), 1);
    json_decref(rows);
    idem_ans_release(&a);
}

static void test_idem_bulk_replayed(void **state)
{
    char key[64], n1[64], n2[64], csv[512];
    struct idem_ans a;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-bulk");
    e2e_unique(n1, sizeof(n1), "idemb");
    e2e_unique(n2, sizeof(n2), "idemb");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n%s,%s@example.com\n", n1, n1, n2,
             n2);
    idem_twice("/users/bulk", key, "text/csv", csv, 201, &a);
    assert_int_equal(e2e_int(a.json, "imported"), 2);
    rows = e2e_users_named(n1);
    assert_int_equal(e2e_len(rows), 1);
    json_decref(rows);
    idem_ans_release(&a);
}

/* Without the header nothing changes: two identical POSTs create two rows. */
static void test_idem_absent_header_unchanged(void **state)
{
    struct idem_ans a, b;
    (void)state;
    idem_post_json("/events", NULL, "{\"event_type\":\"idem_none\"}", &a);
    idem_post_json("/events", NULL, "{\"event_type\":\"idem_none\"}", &b);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_false(a.replayed || b.replayed);
    assert_int_not_equal(e2e_int(a.json, "id"), e2e_int(b.json, "id"));
    idem_ans_release(&a);
    idem_ans_release(&b);
}

/* ------------------------------------------------------------------------ */
/* Reuse with another request, malformed keys                                */
/* ------------------------------------------------------------------------ */

static void test_idem_other_body_or_route_422(void **state)
{
    char key[64], t1[64], t2[64], b1[128], b2[128], path[128];
    struct idem_ans a;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-reuse");
    e2e_unique(t1, sizeof(t1), "idemr");
    e2e_unique(t2, sizeof(t2), "idemr");
    snprintf(b1, sizeof(b1), "{\"event_type\":\"%s\"}", t1);
    snprintf(b2, sizeof(b2), "{\"event_type\":\"%s\"}", t2);
    idem_post_json("/events", key, b1, &a);
    assert_int_equal(a.status, 201);
    idem_ans_release(&a);
    idem_post_json("/events", key, b2, &a); /* another body */
    idem_assert_422(&a);
    idem_ans_release(&a);
    idem_post("/events", key, "text/plain", b1, strlen(b1), &a); /* another content type */
    idem_assert_422(&a);
    idem_ans_release(&a);
    idem_post_json("/users", key, b1, &a); /* another route */
    idem_assert_422(&a);
    idem_ans_release(&a);
    snprintf(path, sizeof(path), "/events?event_type=%s", t2);
    rows = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_len(rows), 0);
    json_decref(rows);
}

static void test_idem_malformed_keys_422(void **state)
{
    char *long_key = e2e_repeat('k', 256);
    const char *const bad[] = {"",        long_key,  "a b",        "tab\there",
                               "ctl\x01", "del\x7f", "caf\xc3\xa9"};
    struct idem_ans a;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        idem_post_json("/events", bad[i], "{\"event_type\":\"idem_bad_key\"}", &a);
        if (a.status != 422) {
            print_error("Idempotency-Key '%s': status %d\n", bad[i], a.status);
            fail();
        }
        idem_assert_422(&a);
        idem_ans_release(&a);
    }
    free(long_key);
    json_t *rows = e2e_call(200, "GET", "/events?event_type=idem_bad_key", NULL);
    assert_int_equal(e2e_len(rows), 0);
    json_decref(rows);
}

/* 255 characters, every visible ASCII character among them, is a valid key. */
static void test_idem_longest_key_accepted(void **state)
{
    char key[256], uniq[64];
    struct idem_ans a;
    size_t n = 0;
    (void)state;
    e2e_unique(uniq, sizeof(uniq), "idem-long");
    for (size_t i = 0; uniq[i]; i++)
        key[n++] = uniq[i];
    for (int c = 0x21; n < 255; c = c == 0x7e ? 0x21 : c + 1)
        key[n++] = (char)c;
    key[255] = '\0';
    idem_twice("/events", key, "application/json", "{\"event_type\":\"idem_long\"}", 201, &a);
    idem_ans_release(&a);
}

/* ------------------------------------------------------------------------ */
/* Which answers are stored                                                  */
/* ------------------------------------------------------------------------ */

static void test_idem_4xx_replayed(void **state)
{
    char key[64], key2[64];
    struct idem_ans a;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-422");
    idem_twice("/users", key, "application/json", "{\"username\":\"x\",\"email\":\"nope\"}", 422,
               &a);
    e2e_assert_error(a.json, "email");
    idem_ans_release(&a);
    e2e_unique(key2, sizeof(key2), "idem-400");
    idem_twice("/events", key2, "application/json", "[1,2]", 400, &a);
    e2e_assert_error(a.json, NULL);
    idem_ans_release(&a);
}

/* 404 and 409 depend on other rows: not stored, the same key may be retried later. */
static void test_idem_404_409_not_stored(void **state)
{
    char key[64], key2[64], name[64], body[256];
    struct idem_ans a;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-404");
    for (int i = 0; i < 2; i++) {
        idem_post_json("/urls", key, "{\"original_url\":\"https://e.com/\",\"user_id\":999999999}",
                       &a);
        assert_int_equal(a.status, 404);
        assert_false(a.replayed);
        idem_ans_release(&a);
    }
    e2e_user_new(name, sizeof(name));
    e2e_unique(key2, sizeof(key2), "idem-409");
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"email\":\"%s@x.example\"}", name, key2);
    for (int i = 0; i < 2; i++) {
        idem_post_json("/users", key2, body, &a);
        assert_int_equal(a.status, 409);
        assert_false(a.replayed);
        idem_ans_release(&a);
    }
    char rkey[IDEMPOTENCY_REDIS_KEY_MAX];
    idem_rkey(key2, rkey);
    assert_int_equal(e2e_redis_exists(rkey), 0);
}

/* ------------------------------------------------------------------------ */
/* In flight                                                                 */
/* ------------------------------------------------------------------------ */

/* Plants the lock another instance would hold for key while running POST /events fp_body. */
static void idem_plant_lock(const char *key, const char *fp_body)
{
    char rkey[IDEMPOTENCY_REDIS_KEY_MAX], fp[IDEMPOTENCY_HEX_LEN + 1];
    struct buf b;
    idem_rkey(key, rkey);
    assert_int_equal(idempotency_fingerprint("POST", "/events", "application/json", fp_body,
                                             strlen(fp_body), fp),
                     0);
    buf_init(&b, 512);
    assert_int_equal(idempotency_encode_inflight(&b, fp, "00112233445566778899aabbccddeeff"), 0);
    e2e_redis_set_px(rkey, buf_cstr(&b), b.len, 60000);
    buf_release(&b);
}

static void test_idem_in_flight_409_then_runs(void **state)
{
    char key[64], type[64], body[128], rkey[IDEMPOTENCY_REDIS_KEY_MAX], path[128];
    struct idem_ans a;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-busy");
    e2e_unique(type, sizeof(type), "idemf");
    snprintf(body, sizeof(body), "{\"event_type\":\"%s\"}", type);
    idem_plant_lock(key, body);
    idem_post_json("/events", key, body, &a);
    assert_int_equal(a.status, 409);
    assert_false(a.replayed);
    e2e_assert_error(a.json, NULL);
    idem_ans_release(&a);
    /* In flight with another body: the reuse is the answer. */
    idem_post_json("/events", key, "{\"event_type\":\"idem_other\"}", &a);
    idem_assert_422(&a);
    idem_ans_release(&a);
    /* The holder finished without storing (e.g. a 503): the key runs again. */
    idem_rkey(key, rkey);
    e2e_redis_del(rkey);
    idem_twice("/events", key, "application/json", body, 201, &a);
    idem_ans_release(&a);
    snprintf(path, sizeof(path), "/events?event_type=%s", type);
    rows = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_len(rows), 1);
    json_decref(rows);
}

struct idem_race {
    const char *key;
    const char *body;
    pthread_barrier_t *go;
    int status;
    int replayed;
    int rc;
};

/* A thread's request (no cmocka assertions off the main thread). */
static void *idem_race_thread(void *arg)
{
    struct idem_race *r = arg;
    char hk[128];
    const char *headers[] = {"Content-Type: application/json", hk, NULL};
    struct httpc_req req = {.method = "POST", .path = "/users", .headers = headers};
    struct httpc_resp resp;
    const char *rep;
    snprintf(hk, sizeof(hk), "Idempotency-Key: %s", r->key);
    req.body = r->body;
    req.body_len = strlen(r->body);
    pthread_barrier_wait(r->go);
    r->rc = httpc_request(e2e_base(), &req, &resp);
    if (r->rc == 0) {
        r->status = resp.status;
        rep = httpc_header(&resp, "Idempotent-Replayed");
        r->replayed = rep && strcmp(rep, "true") == 0;
        httpc_resp_release(&resp);
    }
    return NULL;
}

/* Two requests at once: one creates, the other gets 409 or the replay; one row. */
static void test_idem_concurrent_one_row(void **state)
{
    (void)state;
    for (int round = 0; round < 5; round++) {
        char key[64], name[64], body[256];
        pthread_barrier_t go;
        pthread_t t[2];
        struct idem_race r[2];
        e2e_unique(key, sizeof(key), "idem-race");
        e2e_unique(name, sizeof(name), "idemc");
        snprintf(body, sizeof(body), "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name,
                 name);
        assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
        for (int i = 0; i < 2; i++) {
            r[i] = (struct idem_race){.key = key, .body = body, .go = &go};
            assert_int_equal(pthread_create(&t[i], NULL, idem_race_thread, &r[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal(r[0].rc, 0);
        assert_int_equal(r[1].rc, 0);
        int created =
            (r[0].status == 201 && !r[0].replayed) + (r[1].status == 201 && !r[1].replayed);
        int other = (r[0].status == 409 || r[0].replayed) + (r[1].status == 409 || r[1].replayed);
        if (created != 1 || other != 1) {
            print_error("race: %d%s and %d%s\n", r[0].status, r[0].replayed ? " replayed" : "",
                        r[1].status, r[1].replayed ? " replayed" : "");
            fail();
        }
        json_t *rows = e2e_users_named(name);
        assert_int_equal(e2e_len(rows), 1);
        json_decref(rows);
    }
}

/* A record that is not ours (garbage in Redis) is an error, never a crash or a write. */
static void test_idem_garbage_record_no_write(void **state)
{
    char key[64], rkey[IDEMPOTENCY_REDIS_KEY_MAX];
    struct httpc_req req = {.method = "POST", .path = "/events"};
    char hk[128];
    const char *headers[] = {"Content-Type: application/json", hk, NULL};
    struct e2e_resp r;
    json_t *rows;
    (void)state;
    e2e_unique(key, sizeof(key), "idem-garbage");
    idem_rkey(key, rkey);
    e2e_redis_set_px(rkey, "not a record", 12, 60000);
    snprintf(hk, sizeof(hk), "Idempotency-Key: %s", key);
    req.headers = headers;
    req.body = "{\"event_type\":\"idem_garbage\"}";
    req.body_len = strlen(req.body);
    e2e_send(&req, &r);
    assert_int_equal(r.status, 500);
    e2e_assert_error(r.json, NULL);
    e2e_resp_release(&r);
    e2e_redis_del(rkey);
    rows = e2e_call(200, "GET", "/events?event_type=idem_garbage", NULL);
    assert_int_equal(e2e_len(rows), 0);
    json_decref(rows);
}

int test_idempotency_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idem_users_replayed_one_row),
        cmocka_unit_test(test_idem_urls_replayed_one_row),
        cmocka_unit_test(test_idem_events_replayed_one_row),
        cmocka_unit_test(test_idem_bulk_replayed),
        cmocka_unit_test(test_idem_absent_header_unchanged),
        cmocka_unit_test(test_idem_other_body_or_route_422),
        cmocka_unit_test(test_idem_malformed_keys_422),
        cmocka_unit_test(test_idem_longest_key_accepted),
        cmocka_unit_test(test_idem_4xx_replayed),
        cmocka_unit_test(test_idem_404_409_not_stored),
        cmocka_unit_test(test_idem_in_flight_409_then_runs),
        cmocka_unit_test(test_idem_concurrent_one_row),
        cmocka_unit_test(test_idem_garbage_record_no_write),
    };
    return cmocka_run_group_tests_name("idempotency", tests, NULL, NULL);
}
