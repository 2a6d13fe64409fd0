/*
 * test_api.c - the end-to-end HTTP suite of write-svc (API.md sections 3 to 5 and
 * docs/DECISIONS.md), run by tests/e2e/run.sh against a real write-svc, PostgreSQL and
 * Redis: main(), the empty-store group and the cross-cutting tests (health, routing,
 * body limits, request ids). The resources have their own files (test_users.c,
 * test_bulk.c, test_urls.c, test_urls_write.c, test_events.c, test_bodies.c, test_seeded.c).
 *
 * Env: WRITE_URL, REDIS_URL, E2E_MODE=empty|seeded, STREAM_SHARDS, E2E_SEED_DIR.
 * E2E_MODE=empty expects a store with no rows; E2E_MODE=seeded one loaded from the seed
 * CSVs and nothing else. Tests never rely on rows they did not create, except the seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e_util.h"
#include "httpc.h"
#include "rkeys.h"
#include "shortcode.h"

#include "banned.h"

/* ------------------------------------------------------------------------ */
/* Empty store (E2E_MODE=empty, before anything else)                        */
/* ------------------------------------------------------------------------ */

static void test_empty_lists_are_empty_arrays(void **state)
{
    static const char *const paths[] = {"/users",
                                        "/urls",
                                        "/events",
                                        "/users?page=1&per_page=10",
                                        "/urls?page=1",
                                        "/events?per_page=5",
                                        "/urls?is_active=true",
                                        "/events?event_type=click"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        json_t *j = e2e_call(200, "GET", paths[i], NULL);
        if (e2e_len(j) != 0) {
            print_error("GET %s on an empty store: expected []\n", paths[i]);
            fail();
        }
        json_decref(j);
    }
}

static void test_empty_readmodel_complete_and_empty(void **state)
{
    (void)state;
    assert_int_equal(e2e_redis_exists(RKEYS_MARKER), 1);
    assert_int_equal(e2e_redis_count("url:*"), 0);
}

static void test_empty_unknown_ids_404(void **state)
{
    static const char *const paths[] = {"/users/1", "/urls/1", "/events/1", "/urls/1/events",
                                        "/urls/1/stats"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        e2e_error(404, NULL, "GET", paths[i], NULL);
}

/* Bulk of the seed users.csv on an empty store: 400 users with their seed ids. */
static void test_empty_bulk_seed_users_csv(void **state)
{
    char path[512], *csv, *body;
    size_t csv_len, len;
    json_t *j, *u;
    struct httpc_req req = {.method = "POST", .path = "/users/bulk"};
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=e2eBoundary42", NULL};
    struct e2e_resp r;
    (void)state;

    snprintf(path, sizeof(path), "%s/users.csv", e2e_seed_dir());
    csv = e2e_read_file(path, &csv_len);
    body = e2e_multipart("e2eBoundary42", "file", "users.csv", csv, csv_len, &len);
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    e2e_send(&req, &r);
    e2e_check(&r, r.status == 200 ? 200 : 201, "POST /users/bulk (seed users.csv)");
    assert_int_equal(e2e_int(r.json, "imported"), 400);
    assert_int_equal(e2e_int(r.json, "count"), 400);
    e2e_resp_release(&r);
    free(body);
    free(csv);

    j = e2e_call(200, "GET", "/users", NULL);
    assert_int_equal(e2e_len(j), 400);
    e2e_assert_ascending(j);
    json_decref(j);
    u = e2e_call(200, "GET", "/users/1", NULL);
    assert_string_equal(e2e_str(u, "username"), "briskkernel84");
    assert_string_equal(e2e_str(u, "email"), "briskkernel84@example.com");
    assert_string_equal(e2e_str(u, "created_at"), "2024-11-14T04:11:00");
    json_decref(u);
}

/* After the bulk import, new ids continue after the largest imported id. */
static void test_empty_ids_continue_after_bulk(void **state)
{
    (void)state;
    assert_int_equal(e2e_user_new(NULL, 0), 401);
}

/* The first URL and its 'created' event are the first rows of their tables. */
static void test_empty_first_url_and_event_get_id_1(void **state)
{
    json_t *url, *events;
    (void)state;
    url = e2e_url_new(0, NULL);
    assert_int_equal(e2e_int(url, "id"), 1);
    events = e2e_call(200, "GET", "/events", NULL);
    assert_int_equal(e2e_len(events), 1);
    assert_int_equal(e2e_int(json_array_get(events, 0), "id"), 1);
    assert_string_equal(e2e_str(json_array_get(events, 0), "event_type"), "created");
    assert_int_equal(e2e_int(json_array_get(events, 0), "url_id"), 1);
    json_decref(events);
    json_decref(url);
}

int test_api_run_empty(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_lists_are_empty_arrays),
        cmocka_unit_test(test_empty_readmodel_complete_and_empty),
        cmocka_unit_test(test_empty_unknown_ids_404),
        cmocka_unit_test(test_empty_bulk_seed_users_csv),
        cmocka_unit_test(test_empty_ids_continue_after_bulk),
        cmocka_unit_test(test_empty_first_url_and_event_get_id_1),
    };
    return cmocka_run_group_tests_name("empty store", tests, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Health and routing                                                        */
/* ------------------------------------------------------------------------ */

static void test_health_ok(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(200, "GET", "/health", NULL);
    assert_string_equal(e2e_str(j, "status"), "ok");
    json_decref(j);
}

static void test_routing_unknown_path_404_json(void **state)
{
    static const char *const paths[] = {"/nope",
                                        "/nope/deeper/still",
                                        "/users/1/unknown",
                                        "/users/abc",
                                        "/urls/abc",
                                        "/events/abc",
                                        "/users/1.5",
                                        "/urls/-1",
                                        "/events/0x10",
                                        "/users/99999999999999999999999",
                                        "/urls/1/events/extra",
                                        "/health/extra"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        e2e_error(404, NULL, "GET", paths[i], NULL);
}

/* Long paths (16 KB) and many query arguments are still answered in JSON. */
static void test_routing_long_path_and_many_query_args(void **state)
{
    char *path = e2e_repeat('a', 16 * 1024), *query;
    json_t *j;
    size_t n = 0;
    (void)state;
    path[0] = '/';
    e2e_error(404, NULL, "GET", path, NULL);
    memcpy(path, "/users/", 7);
    e2e_error(404, NULL, "GET", path, NULL);
    free(path);
    query = malloc(1024);
    assert_non_null(query);
    n += (size_t)snprintf(query, 1024, "/users?");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(query + n, 1024 - n, "x%d=%d&", i, i);
    snprintf(query + n, 1024 - n, "page=1&per_page=2");
    j = e2e_call(200, "GET", query, NULL);
    e2e_assert_array_of(j, e2e_assert_user);
    json_decref(j);
    free(query);
}

static void test_routing_missing_ids_404_json(void **state)
{
    static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE"};
    static const char *const paths[] = {"/users/999999999", "/urls/999999999", "/events/999999999"};
    (void)state;
    for (size_t m = 0; m < ARRAY_SIZE(methods); m++)
        for (size_t p = 0; p < ARRAY_SIZE(paths); p++) {
            json_t *j = e2e_call(404, methods[m], paths[p], m == 1 || m == 2 ? "{}" : NULL);
            e2e_assert_error(j, NULL);
            if (!strcasestr(e2e_str(j, "error"), "not found")) {
                print_error("%s %s: the 404 message should say 'not found'\n", methods[m],
                            paths[p]);
                fail();
            }
            json_decref(j);
        }
}

/* 405 JSON with an Allow header for a known path and a method it does not serve. */
static void expect_405(const char *method, const char *path, const char *allowed)
{
    struct httpc_req req = {.method = method, .path = path};
    struct e2e_resp r;
    char what[128];
    const char *allow;

    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
        req.body = "{}";
        req.body_len = 2;
    }
    snprintf(what, sizeof(what), "%s %s", method, path);
    e2e_send(&req, &r);
    e2e_check(&r, 405, what);
    e2e_assert_error(r.json, NULL);
    allow = httpc_header(&r.raw, "Allow");
    if (!allow || !strstr(allow, allowed)) {
        print_error("%s: Allow header '%s' should list %s\n", what, allow ? allow : "(none)",
                    allowed);
        fail();
    }
    e2e_resp_release(&r);
}

static void test_routing_wrong_method_405_json(void **state)
{
    (void)state;
    expect_405("POST", "/health", "GET");
    expect_405("DELETE", "/users", "POST");
    expect_405("PUT", "/users", "GET");
    expect_405("PATCH", "/urls", "POST");
    expect_405("DELETE", "/events", "GET");
    expect_405("POST", "/users/1", "GET");
    expect_405("POST", "/urls/1", "DELETE");
    expect_405("POST", "/events/1", "PUT");
    expect_405("GET", "/users/bulk", "POST");
    expect_405("POST", "/urls/1/events", "GET");
    expect_405("DELETE", "/urls/1/stats", "GET");
}

/* ------------------------------------------------------------------------ */
/* Request ids                                                               */
/* ------------------------------------------------------------------------ */

/* Sends a request with an optional X-Request-Id and returns the echoed one (new allocation). */
static char *request_id_of(const char *method, const char *path, const char *sent, int status)
{
    char hdr[160], what[160];
    const char *headers[] = {hdr, NULL};
    struct httpc_req req = {.method = method, .path = path};
    struct e2e_resp r;
    const char *got;
    char *copy;

    if (sent) {
        snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", sent);
        req.headers = headers;
    }
    char *big = NULL;

    if (strcmp(method, "POST") == 0) {
        req.body = "[]";
        req.body_len = 2;
    }
    if (status == 413) {
        big = e2e_repeat(' ', 2 * E2E_BODY_MAX);
        req.body = big;
        req.body_len = 2 * E2E_BODY_MAX;
    }
    snprintf(what, sizeof(what), "%s %s", method, path);
    e2e_send(&req, &r);
    free(big);
    e2e_check(&r, status, what);
    got = httpc_header(&r.raw, "X-Request-Id");
    if (!got || !*got) {
        print_error("%s: no X-Request-Id in the response\n", what);
        fail();
    }
    copy = strdup(got);
    assert_non_null(copy);
    e2e_resp_release(&r);
    return copy;
}

static void test_request_id_echoed_when_sent(void **state)
{
    char *id;
    (void)state;
    id = request_id_of("GET", "/health", "e2e-req-12345.abc:XY", 200);
    assert_string_equal(id, "e2e-req-12345.abc:XY");
    free(id);
    id = request_id_of("GET", "/users/999999999", "e2e-on-404", 404);
    assert_string_equal(id, "e2e-on-404");
    free(id);
    id = request_id_of("POST", "/users", "e2e-on-400", 400);
    assert_string_equal(id, "e2e-on-400");
    free(id);
    id = request_id_of("DELETE", "/users", "e2e-on-405", 405);
    assert_string_equal(id, "e2e-on-405");
    free(id);
}

static void test_request_id_generated_when_absent(void **state)
{
    char *a, *b;
    (void)state;
    a = request_id_of("GET", "/health", NULL, 200);
    b = request_id_of("GET", "/health", NULL, 200);
    assert_true(strlen(a) >= 8);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
    a = request_id_of("GET", "/nope", NULL, 404);
    assert_true(strlen(a) >= 8);
    free(a);
}

/* A malformed id (a space, or too long) is replaced by a generated one, not echoed. */
static void test_request_id_malformed_replaced(void **state)
{
    char *id, *longid = e2e_repeat('a', 200);
    (void)state;
    id = request_id_of("GET", "/health", "bad id with spaces", 200);
    assert_string_not_equal(id, "bad id with spaces");
    assert_true(strlen(id) >= 8);
    free(id);
    id = request_id_of("GET", "/health", longid, 200);
    assert_string_not_equal(id, longid);
    free(id);
    free(longid);
}

/* ------------------------------------------------------------------------ */
/* Body limit (1 MiB, 413 JSON above)                                        */
/* ------------------------------------------------------------------------ */

/* A JSON object of exactly len bytes: {"username":"<name>","email":"<name>@example.com"} + spaces.
 */
static char *padded_user_body(size_t len, char *name, size_t name_len)
{
    char head[160];
    char *body;
    int n;

    e2e_unique(name, name_len, "big");
    n = snprintf(head, sizeof(head), "{\"username\":\"%s\",\"email\":\"%s@example.com\"", name,
                 name);
    assert_true(n > 0 && (size_t)n + 1 <= len);
    body = e2e_repeat(' ', len);
    memcpy(body, head, (size_t)n);
    body[len - 1] = '}';
    return body;
}

static void test_limits_body_of_1mib_accepted(void **state)
{
    char name[64];
    char *body = padded_user_body(E2E_BODY_MAX, name, sizeof(name));
    json_t *j;
    (void)state;
    j = e2e_call_raw(201, "POST", "/users", "application/json", body, E2E_BODY_MAX);
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
    free(body);
}

static void test_limits_body_of_1mib_plus_1_413(void **state)
{
    char name[64], path[128];
    char *body = padded_user_body(E2E_BODY_MAX + 1, name, sizeof(name));
    json_t *j;
    (void)state;
    e2e_error_raw(413, "POST", "/users", "application/json", body, E2E_BODY_MAX + 1);
    free(body);
    /* Nothing was created. */
    snprintf(path, sizeof(path), "/users?username=%s", name);
    j = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

static void test_limits_2mb_body_413_on_every_write(void **state)
{
    const size_t len = 2 * 1024 * 1024;
    char *body = e2e_repeat(' ', len);
    json_t *url = e2e_url_new(0, NULL);
    long long uid = e2e_user_new(NULL, 0), url_id = e2e_int(url, "id");
    char p_user[64], p_url[64], p_event[64], *id;
    json_t *ev;
    (void)state;

    body[0] = '{';
    body[len - 1] = '}';
    ev = e2e_call(201, "POST", "/events", "{\"event_type\":\"e2e_limit\"}");
    snprintf(p_user, sizeof(p_user), "/users/%lld", uid);
    snprintf(p_url, sizeof(p_url), "/urls/%lld", url_id);
    snprintf(p_event, sizeof(p_event), "/events/%lld", e2e_int(ev, "id"));
    const char *const targets[][2] = {
        {"POST", "/users"}, {"POST", "/urls"},      {"POST", "/events"}, {"PUT", p_user},
        {"PATCH", p_user},  {"PUT", p_url},         {"PATCH", p_url},    {"PUT", p_event},
        {"PATCH", p_event}, {"POST", "/users/bulk"}};
    for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
        e2e_error_raw(413, targets[i][0], targets[i][1], "application/json", body, len);
    free(body);
    /* The 413 still echoes the request id. */
    id = request_id_of("POST", "/users", "e2e-on-413", 413);
    assert_string_equal(id, "e2e-on-413");
    free(id);
    json_decref(ev);
    json_decref(url);
}

/* Without Content-Length (chunked), the cap is enforced while reading. */
static void test_limits_chunked_2mb_body_413(void **state)
{
    const size_t chunk = 64 * 1024, nchunks = 32;
    size_t hdr_len = strlen("10000\r\n"), one = hdr_len + chunk + 2, len = one * nchunks + 5;
    char *body = malloc(len + 1), *p;
    const char *headers[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    struct httpc_req req = {.method = "POST", .path = "/users", .headers = headers};
    struct e2e_resp r;
    (void)state;

    assert_non_null(body);
    p = body;
    for (size_t i = 0; i < nchunks; i++) {
        memcpy(p, "10000\r\n", hdr_len);
        memset(p + hdr_len, ' ', chunk);
        if (i == 0)
            p[hdr_len] = '{';
        memcpy(p + hdr_len + chunk, "\r\n", 2);
        p += one;
    }
    memcpy(p, "0\r\n\r\n", 5);
    req.body = body;
    req.body_len = len;
    req.raw_body = 1;
    e2e_send(&req, &r);
    e2e_check(&r, 413, "POST /users (2 MB, chunked)");
    e2e_assert_error(r.json, NULL);
    e2e_resp_release(&r);
    free(body);
}

int test_api_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_ok),
        cmocka_unit_test(test_routing_unknown_path_404_json),
        cmocka_unit_test(test_routing_long_path_and_many_query_args),
        cmocka_unit_test(test_routing_missing_ids_404_json),
        cmocka_unit_test(test_routing_wrong_method_405_json),
        cmocka_unit_test(test_limits_body_of_1mib_accepted),
        cmocka_unit_test(test_limits_body_of_1mib_plus_1_413),
        cmocka_unit_test(test_limits_2mb_body_413_on_every_write),
        cmocka_unit_test(test_limits_chunked_2mb_body_413),
        cmocka_unit_test(test_request_id_echoed_when_sent),
        cmocka_unit_test(test_request_id_generated_when_absent),
        cmocka_unit_test(test_request_id_malformed_replaced),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}

int main(void)
{
    int failed = 0;

    /* cmocka writes results on stdout and failures on stderr: keep them in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (e2e_env_load() != 0)
        return 2;
    if (e2e_seeded())
        failed += test_seeded_run();
    else
        failed += test_api_run_empty();
    failed += test_api_run();
    failed += test_bodies_run();
    failed += test_users_run();
    failed += test_bulk_run();
    failed += test_urls_run();
    failed += test_urls_write_run();
    failed += test_events_run();
    failed += test_linkopts_run();
    failed += test_dest_run();
    failed += test_idempotency_run();
    failed += test_compact_run();
    failed += test_hostile_run();
    e2e_env_release();
    return failed > 0 ? 1 : 0;
}
