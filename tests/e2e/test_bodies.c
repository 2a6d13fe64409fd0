/*
 * test_bodies.c - bodies that are not a JSON object ("Fractured Vessel", API.md 3 and 4.3,
 * DECISIONS.md A3) on every POST, PUT and PATCH of /users, /urls and /events: a JSON
 * string, array, number, boolean or null, an empty or absent body, malformed JSON,
 * duplicate keys, form-encoded and text/plain. The decided statuses: 400 on /users and
 * /events, 422 on /urls, always a JSON error, and nothing created or changed.
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

struct bad_body {
    const char *name;
    const char *ctype; /* NULL: no Content-Type header */
    const char *body;  /* NULL: no body at all */
    size_t len;        /* 0: strlen(body) */
};

static const struct bad_body bad_bodies[] = {
    {"a JSON string", "application/json", "\"hello\"", 0},
    {"a JSON string holding an object", "application/json",
     "\"{\\\"username\\\":\\\"x\\\",\\\"email\\\":\\\"x@example.com\\\"}\"", 0},
    {"a JSON array of an object", "application/json",
     "[{\"username\":\"x\",\"email\":\"x@example.com\",\"original_url\":\"https://a.example.com\","
     "\"event_type\":\"click\"}]",
     0},
    {"an empty JSON array", "application/json", "[]", 0},
    {"a JSON number", "application/json", "42", 0},
    {"a JSON float", "application/json", "1.5", 0},
    {"JSON true", "application/json", "true", 0},
    {"JSON null", "application/json", "null", 0},
    {"an empty body", "application/json", "", 0},
    {"no body at all", NULL, NULL, 0},
    {"whitespace only", "application/json", " \r\n\t ", 0},
    {"malformed JSON", "application/json", "{\"username\": \"x\",", 0},
    {"single-quoted pseudo JSON", "application/json", "{'title': 'x'}", 0},
    {"an object followed by more data", "application/json", "{\"title\":\"a\"} {\"b\":2}", 0},
    {"an object with duplicate keys", "application/json", "{\"title\":\"a\",\"title\":\"b\"}", 0},
    {"invalid UTF-8", "application/json", "{\"title\":\"\xff\xfe\"}", 0},
    {"an object followed by a NUL byte", "application/json", "{\"title\":\"a\"}\0", 14},
    {"a form-encoded body", "application/x-www-form-urlencoded",
     "username=x&email=x%40example.com&original_url=https%3A%2F%2Fa.example.com&event_type=click",
     0},
    {"a text/plain body", "text/plain", "hello world", 0},
    {"a text/plain JSON-looking string", "text/plain", "\"just text\"", 0},
};

/* Sends every bad body to method path and expects status with a JSON error each time. */
static void refuse_all(int status, const char *method, const char *path)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_bodies); i++) {
        const struct bad_body *b = &bad_bodies[i];
        size_t len = b->len ? b->len : (b->body ? strlen(b->body) : 0);
        json_t *j;

        (void)b->name; /* e2e_call_raw prints the body itself on a failure */
        j = e2e_call_raw(status, method, path, b->ctype, b->body, len);
        e2e_assert_error(j, NULL);
        json_decref(j);
    }
}

/* GET path and assert it is still equal to before (an object or an array). */
static void assert_unchanged(const char *path, const json_t *before)
{
    json_t *now = e2e_call(200, "GET", path, NULL);

    if (!json_equal(now, before)) {
        print_error("GET %s changed after refused writes\n", path);
        fail();
    }
    json_decref(now);
}

static void test_users_post_refuses_non_object_bodies_400(void **state)
{
    json_t *before = e2e_call(200, "GET", "/users", NULL);
    (void)state;
    refuse_all(400, "POST", "/users");
    assert_unchanged("/users", before);
    json_decref(before);
}

/* Creates a user and returns its path and its JSON (new reference). */
static json_t *user_path(char *path, size_t n)
{
    long long id = e2e_user_new(NULL, 0);

    snprintf(path, n, "/users/%lld", id);
    return e2e_call(200, "GET", path, NULL);
}

static void test_users_put_refuses_non_object_bodies_400(void **state)
{
    char path[64];
    json_t *before = user_path(path, sizeof(path));
    (void)state;
    refuse_all(400, "PUT", path);
    assert_unchanged(path, before);
    json_decref(before);
}

static void test_users_patch_refuses_non_object_bodies_400(void **state)
{
    char path[64];
    json_t *before = user_path(path, sizeof(path));
    (void)state;
    refuse_all(400, "PATCH", path);
    assert_unchanged(path, before);
    json_decref(before);
}

static void test_urls_post_refuses_non_object_bodies_422(void **state)
{
    json_t *before = e2e_call(200, "GET", "/urls", NULL);
    (void)state;
    refuse_all(422, "POST", "/urls");
    assert_unchanged("/urls", before);
    json_decref(before);
}

/* Creates an owned URL; returns its JSON (new reference) and path. */
static json_t *url_path(char *path, size_t n)
{
    json_t *url = e2e_url_new(e2e_user_new(NULL, 0), NULL);

    snprintf(path, n, "/urls/%lld", e2e_int(url, "id"));
    return url;
}

static void test_urls_put_refuses_non_object_bodies_422(void **state)
{
    char path[64];
    json_t *before = url_path(path, sizeof(path));
    (void)state;
    refuse_all(422, "PUT", path);
    assert_unchanged(path, before);
    e2e_assert_link(before);
    json_decref(before);
}

static void test_urls_patch_refuses_non_object_bodies_422(void **state)
{
    char path[64];
    json_t *before = url_path(path, sizeof(path));
    (void)state;
    refuse_all(422, "PATCH", path);
    assert_unchanged(path, before);
    e2e_assert_link(before);
    json_decref(before);
}

static void test_events_post_refuses_non_object_bodies_400(void **state)
{
    json_t *before = e2e_call(200, "GET", "/events", NULL);
    (void)state;
    refuse_all(400, "POST", "/events");
    assert_unchanged("/events", before);
    json_decref(before);
}

/* Creates an event and returns its JSON (new reference) and path. */
static json_t *event_path(char *path, size_t n)
{
    json_t *ev =
        e2e_call(201, "POST", "/events", "{\"event_type\":\"e2e_body\",\"details\":{\"k\":\"v\"}}");

    snprintf(path, n, "/events/%lld", e2e_int(ev, "id"));
    return ev;
}

static void test_events_put_refuses_non_object_bodies_400(void **state)
{
    char path[64];
    json_t *before = event_path(path, sizeof(path));
    (void)state;
    refuse_all(400, "PUT", path);
    assert_unchanged(path, before);
    json_decref(before);
}

static void test_events_patch_refuses_non_object_bodies_400(void **state)
{
    char path[64];
    json_t *before = event_path(path, sizeof(path));
    (void)state;
    refuse_all(400, "PATCH", path);
    assert_unchanged(path, before);
    json_decref(before);
}

/* An object nested 5000 deep (jansson's limit is far lower) is refused, not a crash. */
static void test_bodies_deeply_nested_refused(void **state)
{
    const size_t depth = 5000, open_len = strlen("{\"a\":");
    size_t len = open_len * depth + 1 + depth, i;
    char *body = malloc(len + 1), *p;
    (void)state;
    assert_non_null(body);
    p = body;
    for (i = 0; i < depth; i++, p += open_len)
        memcpy(p, "{\"a\":", open_len);
    *p++ = '1';
    memset(p, '}', depth);
    body[len] = '\0';
    e2e_error_raw(400, "POST", "/users", "application/json", body, len);
    e2e_error_raw(422, "POST", "/urls", "application/json", body, len);
    e2e_error_raw(400, "POST", "/events", "application/json", body, len);
    free(body);
}

int test_bodies_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_post_refuses_non_object_bodies_400),
        cmocka_unit_test(test_users_put_refuses_non_object_bodies_400),
        cmocka_unit_test(test_users_patch_refuses_non_object_bodies_400),
        cmocka_unit_test(test_urls_post_refuses_non_object_bodies_422),
        cmocka_unit_test(test_urls_put_refuses_non_object_bodies_422),
        cmocka_unit_test(test_urls_patch_refuses_non_object_bodies_422),
        cmocka_unit_test(test_events_post_refuses_non_object_bodies_400),
        cmocka_unit_test(test_events_put_refuses_non_object_bodies_400),
        cmocka_unit_test(test_events_patch_refuses_non_object_bodies_400),
        cmocka_unit_test(test_bodies_deeply_nested_refused),
    };
    return cmocka_run_group_tests_name("bodies", tests, NULL, NULL);
}
