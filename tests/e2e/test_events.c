/*
 * test_events.c - /events, /events/<id>, /urls/<id>/events and /urls/<id>/stats (API.md 4.1
 * rows 14 to 17, 4.3 and the event rows of section 5; DECISIONS.md A10, A12). write-svc runs
 * with EVENTS_WAIT_MS=0 here (no event-worker yet), so every read answers at once.
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

#include "banned.h"

static json_t *event_get(long long id)
{
    char path[64];

    snprintf(path, sizeof(path), "/events/%lld", id);
    return e2e_call(200, "GET", path, NULL);
}

/* POST /events {"event_type": type} with url_id/user_id when non-zero; returns the event. */
static json_t *event_new(const char *type, long long url_id, long long user_id)
{
    json_t *body = json_pack("{s:s}", "event_type", type), *j;

    if (url_id)
        json_object_set_new(body, "url_id", json_integer(url_id));
    if (user_id)
        json_object_set_new(body, "user_id", json_integer(user_id));
    j = e2e_call_json(201, "POST", "/events", body);
    e2e_assert_event(j);
    return j;
}

static void assert_event_unchanged(const json_t *before)
{
    json_t *now = event_get(e2e_int(before, "id"));

    if (!json_equal(now, before)) {
        print_error("event %lld changed although the write was refused\n", e2e_int(before, "id"));
        fail();
    }
    json_decref(now);
}

/* ------------------------------------------------------------------------ */
/* Create                                                                    */
/* ------------------------------------------------------------------------ */

/* The public test body: 201 with details echoed as an object and timestamp = now. */
static void test_events_create_201_public_body(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *url = e2e_url_new(uid, NULL), *j, *want;
    (void)state;
    j = e2e_callf(201, "POST", "/events",
                  "{\"event_type\":\"click\",\"url_id\":%lld,\"user_id\":%lld,"
                  "\"details\":{\"referrer\":\"https://google.com\"}}",
                  e2e_int(url, "id"), uid);
    e2e_assert_event(j);
    assert_string_equal(e2e_str(j, "event_type"), "click");
    assert_int_equal(e2e_int(j, "url_id"), e2e_int(url, "id"));
    assert_int_equal(e2e_int(j, "user_id"), uid);
    e2e_assert_recent(e2e_str(j, "timestamp"));
    want = json_pack("{s:s}", "referrer", "https://google.com");
    assert_true(json_equal(e2e_get(j, "details"), want));
    if (e2e_seeded())
        assert_true(e2e_int(j, "id") > 3422);
    json_decref(want);
    json_decref(j);
    json_decref(url);
}

static void test_events_create_minimal_and_null_refs(void **state)
{
    json_t *j, *empty = json_object();
    (void)state;
    j = e2e_call(201, "POST", "/events", "{\"event_type\":\"custom_e2e\"}");
    e2e_assert_event(j);
    e2e_assert_null(j, "url_id");
    e2e_assert_null(j, "user_id");
    assert_true(json_equal(e2e_get(j, "details"), empty));
    json_decref(j);
    j = e2e_call(201, "POST", "/events",
                 "{\"event_type\":\"custom_e2e\",\"url_id\":null,\"user_id\":null,"
                 "\"details\":null}");
    e2e_assert_null(j, "url_id");
    e2e_assert_null(j, "user_id");
    assert_true(json_equal(e2e_get(j, "details"), empty));
    json_decref(j);
    json_decref(empty);
}

static void test_events_create_get_round_trip_nested_details(void **state)
{
    const char *details = "{\"a\":{\"b\":[1,2.5,{\"c\":null}],\"t\":true},"
                          "\"s\":\"quote \\\" and \\u00e9\",\"n\":-7}";
    json_t *j, *g, *want = json_loads(details, 0, NULL);
    (void)state;
    assert_non_null(want);
    j = e2e_callf(201, "POST", "/events", "{\"event_type\":\"nested\",\"details\":%s}", details);
    assert_true(json_equal(e2e_get(j, "details"), want));
    g = event_get(e2e_int(j, "id"));
    assert_true(json_equal(g, j));
    json_decref(g);
    json_decref(j);
    json_decref(want);
}

static void test_events_create_event_type_length(void **state)
{
    char *t50 = e2e_repeat('e', 50), *t51 = e2e_repeat('e', 51);
    json_t *j;
    (void)state;
    j = e2e_call_json(201, "POST", "/events", json_pack("{s:s}", "event_type", t50));
    assert_string_equal(e2e_str(j, "event_type"), t50);
    json_decref(j);
    e2e_error_json(422, "event_type", "POST", "/events", json_pack("{s:s}", "event_type", t51));
    free(t50);
    free(t51);
}

static void test_events_create_event_type_invalid_422(void **state)
{
    static const char *const bodies[] = {"{}",
                                         "{\"event_type\":\"\"}",
                                         "{\"event_type\":\"   \"}",
                                         "{\"event_type\":12345}",
                                         "{\"event_type\":true}",
                                         "{\"event_type\":null}",
                                         "{\"event_type\":[]}",
                                         "{\"event_type\":{}}",
                                         "{\"details\":{\"k\":1}}"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
        e2e_error(422, "event_type", "POST", "/events", bodies[i]);
}

/* Fractured Vessel: details must be an object (or null/absent). */
static void test_events_create_details_not_object_422(void **state)
{
    static const char *const values[] = {
        "\"not-an-object\"", "\"\"", "[]", "[\"a\"]", "42", "1.5", "true", "false",
        "\"{\\\"k\\\":1}\""};
    char body[160];
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        snprintf(body, sizeof(body), "{\"event_type\":\"click\",\"details\":%s}", values[i]);
        e2e_error(422, "details", "POST", "/events", body);
    }
}

static void test_events_create_ids_wrong_types_422(void **state)
{
    static const char *const keys[] = {"url_id", "user_id"};
    static const char *const values[] = {"\"1\"", "true", "false", "1.5", "1.0",
                                         "0",     "-1",   "[]",    "{}",  "\"abc\""};
    char body[160];
    (void)state;
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
        for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
            snprintf(body, sizeof(body), "{\"event_type\":\"click\",\"%s\":%s}", keys[k],
                     values[i]);
            e2e_error(422, keys[k], "POST", "/events", body);
        }
}

static void test_events_create_unknown_refs_404(void **state)
{
    json_t *url = e2e_url_new(0, NULL), *j;
    long long uid = e2e_user_new(NULL, 0);
    (void)state;
    j = e2e_call(404, "POST", "/events", "{\"event_type\":\"click\",\"url_id\":999999999}");
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
    j = e2e_callf(404, "POST", "/events",
                  "{\"event_type\":\"click\",\"url_id\":%lld,\"user_id\":999999999}",
                  e2e_int(url, "id"));
    e2e_assert_error(j, NULL);
    json_decref(j);
    j = e2e_callf(404, "POST", "/events",
                  "{\"event_type\":\"click\",\"url_id\":999999999,\"user_id\":%lld}", uid);
    e2e_assert_error(j, NULL);
    json_decref(j);
    json_decref(url);
}

/* Events for an inactive URL are accepted (API.md 4.3-15). */
static void test_events_create_for_inactive_url_201(void **state)
{
    json_t *url = e2e_url_new(0, NULL), *j;
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(url, "id"));
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    j = event_new("click", e2e_int(url, "id"), 0);
    assert_int_equal(e2e_int(j, "url_id"), e2e_int(url, "id"));
    json_decref(j);
    json_decref(url);
}

/* ------------------------------------------------------------------------ */
/* Read and list                                                             */
/* ------------------------------------------------------------------------ */

static void test_events_get_unknown_404(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(404, "GET", "/events/999999999", NULL);
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
}

static void test_events_list_ascending_with_object_details(void **state)
{
    json_t *e = event_new("list_e2e", 0, 0), *j;
    (void)state;
    j = e2e_call(200, "GET", "/events", NULL);
    e2e_assert_array_of(j, e2e_assert_event);
    e2e_assert_ascending(j);
    assert_true(json_equal(e2e_find_id(j, e2e_int(e, "id")), e));
    json_decref(j);
    json_decref(e);
}

/* Asserts GET path lists exactly the ids of the events given (ascending). */
static void assert_event_ids(const char *path, json_t *const *events, size_t n)
{
    json_t *j = e2e_call(200, "GET", path, NULL);

    e2e_assert_array_of(j, e2e_assert_event);
    if (e2e_len(j) != n) {
        print_error("GET %s: %zu events, expected %zu\n", path, e2e_len(j), n);
        fail();
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(e2e_int(json_array_get(j, i), "id"), e2e_int(events[i], "id"));
    json_decref(j);
}

static void test_events_list_filters(void **state)
{
    long long u1 = e2e_user_new(NULL, 0), u2 = e2e_user_new(NULL, 0);
    json_t *url1 = e2e_url_new(u1, NULL), *url2 = e2e_url_new(u2, NULL);
    long long id1 = e2e_int(url1, "id"), id2 = e2e_int(url2, "id");
    char type[64], path[160];
    json_t *created1, *created2, *a, *b, *c, *ev;
    (void)state;

    e2e_unique(type, sizeof(type), "type");
    a = event_new(type, id1, u1);
    b = event_new("click", id1, u1);
    c = event_new(type, id2, u2);
    ev = e2e_events_of(id1);
    created1 = json_incref(json_array_get(ev, 0));
    json_decref(ev);
    ev = e2e_events_of(id2);
    created2 = json_incref(json_array_get(ev, 0));
    json_decref(ev);

    json_t *by_url1[] = {created1, a, b}, *by_user2[] = {created2, c}, *by_type[] = {a, c},
           *url1_type[] = {a}, *url1_click_user1[] = {b};
    snprintf(path, sizeof(path), "/events?url_id=%lld", id1);
    assert_event_ids(path, by_url1, 3);
    snprintf(path, sizeof(path), "/events?user_id=%lld", u2);
    assert_event_ids(path, by_user2, 2);
    snprintf(path, sizeof(path), "/events?event_type=%s", type);
    assert_event_ids(path, by_type, 2);
    snprintf(path, sizeof(path), "/events?url_id=%lld&event_type=%s", id1, type);
    assert_event_ids(path, url1_type, 1);
    snprintf(path, sizeof(path), "/events?event_type=click&user_id=%lld&url_id=%lld", u1, id1);
    assert_event_ids(path, url1_click_user1, 1);
    snprintf(path, sizeof(path), "/events?url_id=%lld&user_id=%lld", id1, u2);
    assert_event_ids(path, NULL, 0);
    json_decref(created1);
    json_decref(created2);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(url1);
    json_decref(url2);
}

/* event_type=click lists clicks only (the public test). */
static void test_events_list_filter_click_only_clicks(void **state)
{
    json_t *e = event_new("click", 0, 0), *j;
    size_t i;
    json_t *v;
    (void)state;
    j = e2e_call(200, "GET", "/events?event_type=click", NULL);
    assert_non_null(e2e_find_id(j, e2e_int(e, "id")));
    json_array_foreach(j, i, v)
    {
        assert_string_equal(e2e_str(v, "event_type"), "click");
    }
    json_decref(j);
    json_decref(e);
}

/* Unknown filter values give [] (API.md 4.3-14), not 404. */
static void test_events_list_unknown_filter_values_empty(void **state)
{
    static const char *const paths[] = {"/events?url_id=999999999", "/events?user_id=999999999",
                                        "/events?event_type=no_such_type_e2e",
                                        "/events?event_type=click&url_id=999999999"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        json_t *j = e2e_call(200, "GET", paths[i], NULL);
        assert_int_equal(e2e_len(j), 0);
        json_decref(j);
    }
}

/* A12: ids in the query must be decimal integers. */
static void test_events_list_bad_query_values_400(void **state)
{
    static const char *const paths[] = {"/events?url_id=abc",  "/events?url_id=1.5",
                                        "/events?url_id=1x",   "/events?user_id=abc",
                                        "/events?user_id=2.0", "/events?user_id=%20"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        e2e_error(400, NULL, "GET", paths[i], NULL);
}

static void test_events_list_pagination(void **state)
{
    json_t *all, *j;
    size_t i;
    (void)state;
    for (i = 0; i < 6; i++)
        json_decref(event_new("page_e2e", 0, 0));
    all = e2e_call(200, "GET", "/events", NULL);
    j = e2e_call(200, "GET", "/events?page=2&per_page=2", NULL);
    assert_int_equal(e2e_len(j), 2);
    for (i = 0; i < 2; i++)
        assert_true(json_equal(json_array_get(j, i), json_array_get(all, 2 + i)));
    json_decref(j);
    j = e2e_call(200, "GET", "/events?page=1&per_page=1000", NULL);
    assert_int_equal(e2e_len(j), e2e_len(all) < 100 ? e2e_len(all) : 100);
    json_decref(j);
    j = e2e_call(200, "GET", "/events?page=1000000&per_page=50", NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
    /* Garbage counts as absent: every row (DECISIONS.md A22). */
    j = e2e_call(200, "GET", "/events?page=x&per_page=y", NULL);
    e2e_assert_array_of(j, e2e_assert_event);
    assert_true(json_equal(j, all));
    json_decref(j);
    j = e2e_call(200, "GET", "/events?page=&per_page=1e3", NULL);
    assert_true(json_equal(j, all));
    json_decref(j);
    j = e2e_call(200, "GET", "/events?page=-1&per_page=0", NULL);
    assert_int_equal(e2e_len(j), 1);
    assert_true(json_equal(json_array_get(j, 0), json_array_get(all, 0)));
    json_decref(j);
    json_decref(all);
}

/* ------------------------------------------------------------------------ */
/* Update and delete                                                         */
/* ------------------------------------------------------------------------ */

static void update_event(const char *method)
{
    json_t *url = e2e_url_new(0, NULL), *e = event_new("before", 0, 0), *j, *want;
    char path[64];

    snprintf(path, sizeof(path), "/events/%lld", e2e_int(e, "id"));
    j = e2e_callf(200, method, path,
                  "{\"event_type\":\"after\",\"url_id\":%lld,\"details\":{\"k\":\"v\"}}",
                  e2e_int(url, "id"));
    e2e_assert_event(j);
    assert_string_equal(e2e_str(j, "event_type"), "after");
    assert_int_equal(e2e_int(j, "url_id"), e2e_int(url, "id"));
    assert_string_equal(e2e_str(j, "timestamp"), e2e_str(e, "timestamp"));
    want = json_pack("{s:s}", "k", "v");
    assert_true(json_equal(e2e_get(j, "details"), want));
    json_decref(want);
    assert_event_unchanged(j);
    json_decref(j);
    json_decref(e);
    json_decref(url);
}

static void test_events_put_200(void **state)
{
    (void)state;
    update_event("PUT");
}

static void test_events_patch_200(void **state)
{
    (void)state;
    update_event("PATCH");
}

/* A10: "details": null resets to {}, absent keeps them; {} is a no-op. */
static void test_events_put_details_null_resets_absent_keeps(void **state)
{
    json_t *e = e2e_call(201, "POST", "/events", "{\"event_type\":\"keep\",\"details\":{\"x\":1}}"),
           *j, *empty = json_object();
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/events/%lld", e2e_int(e, "id"));
    j = e2e_call(200, "PUT", path, "{}");
    assert_true(json_equal(j, e));
    json_decref(j);
    j = e2e_call(200, "PUT", path, "{\"event_type\":\"kept\"}");
    assert_int_equal(json_integer_value(json_object_get(e2e_get(j, "details"), "x")), 1);
    json_decref(j);
    j = e2e_call(200, "PATCH", path, "{\"details\":null}");
    assert_true(json_equal(e2e_get(j, "details"), empty));
    assert_string_equal(e2e_str(j, "event_type"), "kept");
    json_decref(j);
    json_decref(empty);
    json_decref(e);
}

static void invalid_event_update(const char *method)
{
    static const char *const bodies[][2] = {
        {"{\"event_type\":\"\"}", "event_type"},
        {"{\"event_type\":\"  \"}", "event_type"},
        {"{\"event_type\":12}", "event_type"},
        {"{\"event_type\":null}", "event_type"},
        {"{\"details\":\"str\"}", "details"},
        {"{\"details\":[1]}", "details"},
        {"{\"details\":7}", "details"},
        {"{\"url_id\":\"1\"}", "url_id"},
        {"{\"url_id\":true}", "url_id"},
        {"{\"url_id\":1.5}", "url_id"},
        {"{\"url_id\":0}", "url_id"},
        {"{\"user_id\":-1}", "user_id"},
        {"{\"user_id\":\"2\"}", "user_id"},
        {"{\"event_type\":\"ok\",\"details\":\"bad\"}", "details"},
    };
    json_t *e = event_new("stable", 0, 0);
    char path[64], *t51 = e2e_repeat('e', 51);

    snprintf(path, sizeof(path), "/events/%lld", e2e_int(e, "id"));
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
        e2e_error(422, bodies[i][1], method, path, bodies[i][0]);
    e2e_error_json(422, "event_type", method, path, json_pack("{s:s}", "event_type", t51));
    e2e_error(404, NULL, method, path, "{\"url_id\":999999999}");
    e2e_error(404, NULL, method, path, "{\"user_id\":999999999}");
    assert_event_unchanged(e);
    json_decref(e);
    free(t51);
}

static void test_events_put_invalid_422_unknown_refs_404(void **state)
{
    (void)state;
    invalid_event_update("PUT");
}

static void test_events_patch_invalid_422_unknown_refs_404(void **state)
{
    (void)state;
    invalid_event_update("PATCH");
}

static void test_events_put_unknown_404(void **state)
{
    (void)state;
    e2e_error(404, NULL, "PUT", "/events/999999999", "{\"event_type\":\"x\"}");
    e2e_error(404, NULL, "PATCH", "/events/999999999", "{\"event_type\":\"x\"}");
    e2e_error(404, NULL, "PUT", "/events/999999999", "[]");
}

static void test_events_delete_204_then_404(void **state)
{
    json_t *e = event_new("to_delete", 0, 0), *j;
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/events/%lld", e2e_int(e, "id"));
    assert_null(e2e_call(204, "DELETE", path, NULL));
    e2e_error(404, NULL, "GET", path, NULL);
    e2e_error(404, NULL, "DELETE", path, NULL);
    e2e_error(404, NULL, "PUT", path, "{\"event_type\":\"x\"}");
    j = e2e_call(200, "GET", "/events", NULL);
    assert_null(e2e_find_id(j, e2e_int(e, "id")));
    json_decref(j);
    e2e_error(404, NULL, "DELETE", "/events/999999999", NULL);
    json_decref(e);
}

/* ------------------------------------------------------------------------ */
/* /urls/<id>/events and /urls/<id>/stats                                    */
/* ------------------------------------------------------------------------ */

static void test_events_of_url_endpoint(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *url = e2e_url_new(uid, NULL), *other = e2e_url_new(uid, NULL), *ev, *j;
    char path[64];
    (void)state;
    json_decref(event_new("click", e2e_int(url, "id"), uid));
    json_decref(event_new("click", e2e_int(other, "id"), uid));
    snprintf(path, sizeof(path), "/urls/%lld/events", e2e_int(url, "id"));
    j = e2e_call(200, "GET", path, NULL);
    e2e_assert_array_of(j, e2e_assert_event);
    e2e_assert_ascending(j);
    ev = e2e_events_of(e2e_int(url, "id"));
    assert_int_equal(e2e_len(ev), 2);
    assert_true(json_equal(j, ev));
    json_decref(ev);
    json_decref(j);
    e2e_error(404, NULL, "GET", "/urls/999999999/events", NULL);
    json_decref(url);
    json_decref(other);
}

static void test_events_url_stats(void **state)
{
    json_t *url = e2e_url_new(0, "https://example.com/stats"), *s, *c;
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/urls/%lld/stats", e2e_int(url, "id"));
    s = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_int(s, "id"), e2e_int(url, "id"));
    assert_string_equal(e2e_str(s, "short_code"), e2e_str(url, "short_code"));
    assert_string_equal(e2e_str(s, "original_url"), "https://example.com/stats");
    assert_int_equal(e2e_int(s, "total_events"), 1);
    assert_int_equal(e2e_int(s, "total_clicks"), 0);
    e2e_assert_null(s, "last_visited");
    json_decref(s);

    json_decref(event_new("click", e2e_int(url, "id"), 0));
    c = event_new("click", e2e_int(url, "id"), 0);
    s = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_int(s, "total_events"), 3);
    assert_int_equal(e2e_int(s, "total_clicks"), 2);
    assert_string_equal(e2e_str(s, "last_visited"), e2e_str(c, "timestamp"));
    json_decref(s);
    json_decref(c);
    e2e_error(404, NULL, "GET", "/urls/999999999/stats", NULL);
    json_decref(url);
}

int test_events_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_create_201_public_body),
        cmocka_unit_test(test_events_create_minimal_and_null_refs),
        cmocka_unit_test(test_events_create_get_round_trip_nested_details),
        cmocka_unit_test(test_events_create_event_type_length),
        cmocka_unit_test(test_events_create_event_type_invalid_422),
        cmocka_unit_test(test_events_create_details_not_object_422),
        cmocka_unit_test(test_events_create_ids_wrong_types_422),
        cmocka_unit_test(test_events_create_unknown_refs_404),
        cmocka_unit_test(test_events_create_for_inactive_url_201),
        cmocka_unit_test(test_events_get_unknown_404),
        cmocka_unit_test(test_events_list_ascending_with_object_details),
        cmocka_unit_test(test_events_list_filters),
        cmocka_unit_test(test_events_list_filter_click_only_clicks),
        cmocka_unit_test(test_events_list_unknown_filter_values_empty),
        cmocka_unit_test(test_events_list_bad_query_values_400),
        cmocka_unit_test(test_events_list_pagination),
        cmocka_unit_test(test_events_put_200),
        cmocka_unit_test(test_events_patch_200),
        cmocka_unit_test(test_events_put_details_null_resets_absent_keeps),
        cmocka_unit_test(test_events_put_invalid_422_unknown_refs_404),
        cmocka_unit_test(test_events_patch_invalid_422_unknown_refs_404),
        cmocka_unit_test(test_events_put_unknown_404),
        cmocka_unit_test(test_events_delete_204_then_404),
        cmocka_unit_test(test_events_of_url_endpoint),
        cmocka_unit_test(test_events_url_stats),
    };
    return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
