/*
 * test_urls_write.c - PUT, PATCH and DELETE /urls/<id> (API.md 4.1 rows 11 and 12, 4.3;
 * DECISIONS.md A1, A7, A8) and how they keep the Redis read model (url:{s}:<code> with id,
 * uid and url for every active link, nothing for an inactive or deleted one) and the
 * 'updated' and 'deleted' events.
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

static void url_path(char *path, size_t n, const json_t *url)
{
    snprintf(path, n, "/urls/%lld", e2e_int(url, "id"));
}

/* Asserts GET /urls/<id> still equals before, and the read model still matches it. */
static void assert_url_unchanged(const json_t *before)
{
    json_t *now = e2e_get_id("urls", e2e_int(before, "id"));

    if (!json_equal(now, before)) {
        print_error("URL %lld changed although the write was refused\n", e2e_int(before, "id"));
        fail();
    }
    if (e2e_bool(before, "is_active"))
        e2e_assert_link(before);
    else
        e2e_assert_no_link(e2e_str(before, "short_code"));
    json_decref(now);
}

/* ------------------------------------------------------------------------ */
/* Update                                                                    */
/* ------------------------------------------------------------------------ */

/* The public test: PUT {"title","is_active":false} -> 200 and the link leaves the model. */
static void update_title_and_deactivate(const char *method)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *u = e2e_url_new(uid, NULL), *j;
    char path[64];

    url_path(path, sizeof(path), u);
    e2e_assert_link(u);
    j = e2e_call(200, method, path, "{\"title\":\"Updated Title\",\"is_active\":false}");
    e2e_assert_url(j);
    assert_string_equal(e2e_str(j, "title"), "Updated Title");
    assert_false(e2e_bool(j, "is_active"));
    assert_int_equal(e2e_int(j, "id"), e2e_int(u, "id"));
    assert_int_equal(e2e_int(j, "user_id"), uid);
    assert_string_equal(e2e_str(j, "short_code"), e2e_str(u, "short_code"));
    assert_string_equal(e2e_str(j, "original_url"), e2e_str(u, "original_url"));
    assert_string_equal(e2e_str(j, "created_at"), e2e_str(u, "created_at"));
    assert_true(strcmp(e2e_str(j, "updated_at"), e2e_str(u, "updated_at")) >= 0);
    e2e_assert_recent(e2e_str(j, "updated_at"));
    e2e_assert_no_link(e2e_str(u, "short_code"));
    json_decref(j);
    j = e2e_get_id("urls", e2e_int(u, "id"));
    assert_false(e2e_bool(j, "is_active"));
    assert_string_equal(e2e_str(j, "title"), "Updated Title");
    json_decref(j);
    json_decref(u);
}

static void test_urls_put_title_and_deactivate(void **state)
{
    (void)state;
    update_title_and_deactivate("PUT");
}

static void test_urls_patch_title_and_deactivate(void **state)
{
    (void)state;
    update_title_and_deactivate("PATCH");
}

static void test_urls_put_reactivate_restores_link(void **state)
{
    json_t *u = e2e_url_new(e2e_user_new(NULL, 0), NULL), *j;
    char path[64];
    (void)state;
    url_path(path, sizeof(path), u);
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    e2e_assert_no_link(e2e_str(u, "short_code"));
    j = e2e_call(200, "PUT", path, "{\"is_active\":true}");
    assert_true(e2e_bool(j, "is_active"));
    e2e_assert_link(j);
    json_decref(j);
    json_decref(u);
}

static void test_urls_put_original_url_repoints_link(void **state)
{
    json_t *u = e2e_url_new(e2e_user_new(NULL, 0), NULL), *j, *ev, *last;
    const char *target = "https://example.org/new/target?k=v#top";
    char path[64];
    (void)state;
    url_path(path, sizeof(path), u);
    j = e2e_callf(200, "PUT", path, "{\"original_url\":\"%s\"}", target);
    assert_string_equal(e2e_str(j, "original_url"), target);
    assert_string_equal(e2e_str(j, "short_code"), e2e_str(u, "short_code"));
    e2e_assert_link(j);
    json_decref(j);
    ev = e2e_events_of(e2e_int(u, "id"));
    last = e2e_last_type(ev, "updated");
    assert_non_null(last);
    assert_string_equal(e2e_str(e2e_get(last, "details"), "field"), "original_url");
    assert_string_equal(e2e_str(e2e_get(last, "details"), "new_value"), target);
    json_decref(ev);
    json_decref(u);
}

/* Re-pointing an inactive URL does not put it back in the read model. */
static void test_urls_put_original_url_of_inactive_stays_out(void **state)
{
    json_t *u = e2e_url_new(0, NULL), *j;
    char path[64];
    (void)state;
    url_path(path, sizeof(path), u);
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    j = e2e_call(200, "PUT", path, "{\"original_url\":\"https://example.org/elsewhere\"}");
    assert_false(e2e_bool(j, "is_active"));
    e2e_assert_no_link(e2e_str(u, "short_code"));
    json_decref(j);
    json_decref(u);
}

/* A7: one 'updated' event per changed field, {"field","new_value"} as strings. */
static void test_urls_put_logs_one_updated_event_per_changed_field(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *u = e2e_url_new(uid, NULL), *ev, *e;
    char path[64];
    size_t i, n = 0;
    const char *fields[3] = {NULL, NULL, NULL}, *values[3] = {NULL, NULL, NULL};
    (void)state;
    url_path(path, sizeof(path), u);
    json_decref(e2e_call(200, "PUT", path,
                         "{\"title\":\"T2\",\"is_active\":false,"
                         "\"original_url\":\"https://example.net/changed\"}"));
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_count_type(ev, "created"), 1);
    assert_int_equal(e2e_count_type(ev, "updated"), 3);
    json_array_foreach(ev, i, e)
    {
        if (strcmp(e2e_str(e, "event_type"), "updated") != 0)
            continue;
        assert_int_equal(e2e_int(e, "url_id"), e2e_int(u, "id"));
        assert_int_equal(e2e_int(e, "user_id"), uid);
        e2e_assert_recent(e2e_str(e, "timestamp"));
        fields[n] = e2e_str(e2e_get(e, "details"), "field");
        values[n] = e2e_str(e2e_get(e, "details"), "new_value");
        n++;
    }
    for (i = 0; i < 3; i++) {
        if (strcmp(fields[i], "title") == 0)
            assert_string_equal(values[i], "T2");
        else if (strcmp(fields[i], "is_active") == 0)
            assert_string_equal(values[i], "false");
        else if (strcmp(fields[i], "original_url") == 0)
            assert_string_equal(values[i], "https://example.net/changed");
        else
            fail_msg("unexpected updated field '%s'", fields[i]);
    }
    json_decref(ev);
    json_decref(u);
}

/* A7: a PUT that changes nothing logs nothing; {} is a 200 no-op. */
static void test_urls_put_without_change_logs_nothing(void **state)
{
    json_t *u = e2e_url_new(0, NULL), *j, *ev;
    char path[64], body[256];
    (void)state;
    url_path(path, sizeof(path), u);
    j = e2e_call(200, "PUT", path, "{}");
    assert_string_equal(e2e_str(j, "original_url"), e2e_str(u, "original_url"));
    assert_true(e2e_bool(j, "is_active"));
    json_decref(j);
    snprintf(body, sizeof(body), "{\"is_active\":true,\"original_url\":\"%s\",\"title\":null}",
             e2e_str(u, "original_url"));
    json_decref(e2e_call(200, "PATCH", path, body));
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_len(ev), 1);
    json_decref(ev);
    e2e_assert_link(u);
    json_decref(u);
}

static void test_urls_put_title_null_clears_title(void **state)
{
    json_t *u = e2e_call(201, "POST", "/urls",
                         "{\"original_url\":\"https://example.com/tt\",\"title\":\"Has one\"}"),
           *j;
    char path[64];
    (void)state;
    url_path(path, sizeof(path), u);
    j = e2e_call(200, "PUT", path, "{\"title\":null}");
    e2e_assert_null(j, "title");
    json_decref(j);
    json_decref(u);
}

static void invalid_url_update(const char *method)
{
    static const char *const bodies[][2] = {
        {"{\"is_active\":\"false\"}", "is_active"},
        {"{\"is_active\":0}", "is_active"},
        {"{\"is_active\":null}", "is_active"},
        {"{\"is_active\":[]}", "is_active"},
        {"{\"title\":12345}", "title"},
        {"{\"title\":true}", "title"},
        {"{\"title\":[]}", "title"},
        {"{\"original_url\":\"hello\"}", "original_url"},
        {"{\"original_url\":null}", "original_url"},
        {"{\"original_url\":12345}", "original_url"},
        {"{\"original_url\":\"\"}", "original_url"},
        {"{\"original_url\":\"ftp://files.example.com\"}", "original_url"},
        /* A valid field with an invalid one: nothing at all may change. */
        {"{\"title\":\"should not stick\",\"is_active\":\"no\"}", "is_active"},
        {"{\"is_active\":false,\"original_url\":\"nope\"}", "original_url"},
    };
    json_t *u = e2e_url_new(e2e_user_new(NULL, 0), NULL), *ev;
    char path[64], *t256 = e2e_repeat('t', 256), *u2049 = e2e_repeat('a', 2049);

    memcpy(u2049, "https://example.com/", 20);
    url_path(path, sizeof(path), u);
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
        e2e_error(422, bodies[i][1], method, path, bodies[i][0]);
    e2e_error_json(422, "title", method, path, json_pack("{s:s}", "title", t256));
    e2e_error_json(422, "original_url", method, path, json_pack("{s:s}", "original_url", u2049));
    assert_url_unchanged(u);
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_count_type(ev, "updated"), 0);
    json_decref(ev);
    json_decref(u);
    free(t256);
    free(u2049);
}

static void test_urls_put_invalid_fields_422_nothing_changes(void **state)
{
    (void)state;
    invalid_url_update("PUT");
}

static void test_urls_patch_invalid_fields_422_nothing_changes(void **state)
{
    (void)state;
    invalid_url_update("PATCH");
}

/* A1: a missing URL is 404 even with a bad body. */
static void test_urls_put_unknown_404(void **state)
{
    (void)state;
    e2e_error(404, NULL, "PUT", "/urls/999999999", "{\"title\":\"x\"}");
    e2e_error(404, NULL, "PATCH", "/urls/999999999", "{\"is_active\":false}");
    e2e_error(404, NULL, "PUT", "/urls/999999999", "\"not an object\"");
    e2e_error(404, NULL, "PATCH", "/urls/999999999", "{\"is_active\":\"bad\"}");
}

/* ------------------------------------------------------------------------ */
/* Delete                                                                    */
/* ------------------------------------------------------------------------ */

static void test_urls_delete_204_gone_everywhere(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *u = e2e_url_new(uid, "https://example.com/to-delete"), *ev, *last, *d;
    char path[96];
    long long id = e2e_int(u, "id");
    (void)state;
    url_path(path, sizeof(path), u);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    e2e_assert_no_link(e2e_str(u, "short_code"));
    e2e_error(404, NULL, "GET", path, NULL);
    e2e_error(404, NULL, "DELETE", path, NULL);
    e2e_error(404, NULL, "PUT", path, "{\"title\":\"x\"}");
    snprintf(path, sizeof(path), "/urls/%lld/events", id);
    e2e_error(404, NULL, "GET", path, NULL);
    snprintf(path, sizeof(path), "/urls/%lld/stats", id);
    e2e_error(404, NULL, "GET", path, NULL);

    /* A8: a 'deleted' event outlives the row, after the 'created' one. */
    ev = e2e_events_of(id);
    assert_int_equal(e2e_count_type(ev, "created"), 1);
    assert_int_equal(e2e_count_type(ev, "deleted"), 1);
    last = json_array_get(ev, e2e_len(ev) - 1);
    assert_string_equal(e2e_str(last, "event_type"), "deleted");
    assert_int_equal(e2e_int(last, "url_id"), id);
    assert_int_equal(e2e_int(last, "user_id"), uid);
    e2e_assert_recent(e2e_str(last, "timestamp"));
    d = e2e_get(last, "details");
    assert_string_equal(e2e_str(d, "reason"), "user_requested");
    assert_string_equal(e2e_str(d, "short_code"), e2e_str(u, "short_code"));
    assert_string_equal(e2e_str(d, "original_url"), "https://example.com/to-delete");
    json_decref(ev);

    ev = e2e_call(200, "GET", "/urls", NULL);
    assert_null(e2e_find_id(ev, id));
    json_decref(ev);
    /* A deleted URL is an unknown reference for new events. */
    ev = e2e_callf(404, "POST", "/events", "{\"event_type\":\"click\",\"url_id\":%lld}", id);
    e2e_assert_error(ev, NULL);
    json_decref(ev);
    json_decref(u);
}

static void test_urls_delete_inactive_url(void **state)
{
    json_t *u = e2e_url_new(0, NULL), *ev;
    char path[64];
    (void)state;
    url_path(path, sizeof(path), u);
    json_decref(e2e_call(200, "PATCH", path, "{\"is_active\":false}"));
    assert_null(e2e_call(204, "DELETE", path, NULL));
    e2e_error(404, NULL, "GET", path, NULL);
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_count_type(ev, "deleted"), 1);
    e2e_assert_null(e2e_last_type(ev, "deleted"), "user_id");
    json_decref(ev);
    e2e_assert_no_link(e2e_str(u, "short_code"));
    json_decref(u);
}

static void test_urls_delete_unknown_404(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(404, "DELETE", "/urls/999999999", NULL);
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
}

/* Deleting one URL leaves its twin (same body) alone. */
static void test_urls_delete_leaves_twin_alone(void **state)
{
    json_t *a = e2e_url_new(0, "https://example.com/twin-del"),
           *b = e2e_url_new(0, "https://example.com/twin-del"), *j;
    char path[64];
    (void)state;
    url_path(path, sizeof(path), a);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    j = e2e_get_id("urls", e2e_int(b, "id"));
    assert_true(json_equal(j, b));
    e2e_assert_link(b);
    json_decref(j);
    json_decref(a);
    json_decref(b);
}

int test_urls_write_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls_put_title_and_deactivate),
        cmocka_unit_test(test_urls_patch_title_and_deactivate),
        cmocka_unit_test(test_urls_put_reactivate_restores_link),
        cmocka_unit_test(test_urls_put_original_url_repoints_link),
        cmocka_unit_test(test_urls_put_original_url_of_inactive_stays_out),
        cmocka_unit_test(test_urls_put_logs_one_updated_event_per_changed_field),
        cmocka_unit_test(test_urls_put_without_change_logs_nothing),
        cmocka_unit_test(test_urls_put_title_null_clears_title),
        cmocka_unit_test(test_urls_put_invalid_fields_422_nothing_changes),
        cmocka_unit_test(test_urls_patch_invalid_fields_422_nothing_changes),
        cmocka_unit_test(test_urls_put_unknown_404),
        cmocka_unit_test(test_urls_delete_204_gone_everywhere),
        cmocka_unit_test(test_urls_delete_inactive_url),
        cmocka_unit_test(test_urls_delete_unknown_404),
        cmocka_unit_test(test_urls_delete_leaves_twin_alone),
    };
    return cmocka_run_group_tests_name("urls (writes)", tests, NULL, NULL);
}
