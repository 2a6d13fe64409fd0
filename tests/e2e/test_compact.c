/*
 * test_compact.c - every JSON answer of write-svc is compact ({"id":1,"username":"x"}: no
 * whitespace between tokens), successes and errors alike, on every route. e2e_check asserts
 * it on every exchange of the suite; this group makes sure each route and each kind of
 * error is exercised at least once, with PostgreSQL-rendered rows, lists and details.
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

struct compact_case {
    const char *method;
    const char *path; /* "%lld" is replaced by the id of the fixture's user, URL or event */
    const char *body; /* NULL: none */
    int status;
};

/* One exchange: e2e_call checks the status, the JSON and its compactness. */
static void compact_one(const struct compact_case *c, long long id)
{
    char path[256];
    const char *at = strstr(c->path, "%lld");
    if (at)
        snprintf(path, sizeof(path), "%.*s%lld%s", (int)(at - c->path), c->path, id, at + 4);
    else
        snprintf(path, sizeof(path), "%s", c->path);
    json_t *j = e2e_call(c->status, c->method, path, c->body);
    json_decref(j);
}

static void test_compact_every_route(void **state)
{
    char name[64], body[256];
    (void)state;
    long long uid = e2e_user_new(name, sizeof(name));
    json_t *url = e2e_url_new(uid, "https://example.com/a,b:c?x=1,y:2");
    long long url_id = e2e_int(url, "id");
    json_decref(url);
    /* An event whose details hold spaces, commas and colons inside strings. */
    snprintf(body, sizeof(body),
             "{ \"event_type\" : \"compact e2e\", \"url_id\" : %lld, \"details\" : "
             "{ \"k\" : \"a , b : c\", \"n\" : [1, 2] } }",
             url_id);
    json_t *ev = e2e_call(201, "POST", "/events", body);
    long long ev_id = e2e_int(ev, "id");
    assert_string_equal(e2e_str(e2e_get(ev, "details"), "k"), "a , b : c");
    json_decref(ev);

    static const struct compact_case by_user[] = {
        {"GET", "/users/%lld", NULL, 200},
        {"PUT", "/users/%lld", "{\"email\" : \"x y@\"}", 422},
        {"PATCH", "/users/%lld", "[1, 2]", 400},
        {"GET", "/urls?user_id=%lld", NULL, 200},
        {"GET", "/events?user_id=%lld", NULL, 200},
    };
    static const struct compact_case by_url[] = {
        {"GET", "/urls/%lld", NULL, 200},
        {"PUT", "/urls/%lld", "{\"title\" : \"a , b : c\"}", 200},
        {"PUT", "/urls/%lld", "{\"is_active\" : \"yes\"}", 422},
        {"GET", "/urls/%lld/events", NULL, 200},
        {"GET", "/urls/%lld/stats", NULL, 200},
        {"GET", "/events?url_id=%lld", NULL, 200},
    };
    static const struct compact_case by_event[] = {
        {"GET", "/events/%lld", NULL, 200},
        {"PUT", "/events/%lld", "{\"details\" : {\"a\" : \"b c\"}}", 200},
        {"PUT", "/events/%lld", "{\"details\" : \"no\"}", 422},
    };
    for (size_t i = 0; i < ARRAY_SIZE(by_user); i++)
        compact_one(&by_user[i], uid);
    for (size_t i = 0; i < ARRAY_SIZE(by_url); i++)
        compact_one(&by_url[i], url_id);
    for (size_t i = 0; i < ARRAY_SIZE(by_event); i++)
        compact_one(&by_event[i], ev_id);
}

static void test_compact_lists_and_errors(void **state)
{
    static const struct compact_case cases[] = {
        {"GET", "/health", NULL, 200},
        {"GET", "/users", NULL, 200},
        {"GET", "/urls", NULL, 200},
        {"GET", "/events", NULL, 200},
        {"GET", "/users?page=1&per_page=3", NULL, 200},
        {"GET", "/urls?is_active=true&page=abc", NULL, 200},
        {"GET", "/users/999999999", NULL, 404},
        {"GET", "/urls/999999999/stats", NULL, 404},
        {"GET", "/nope/nope", NULL, 404},
        {"DELETE", "/users", NULL, 405},
        {"GET", "/urls?user_id=abc", NULL, 400},
        {"POST", "/users", "\"just a string\"", 400},
        {"POST", "/users", "{\"username\" : \"\", \"email\" : \"a@b.co\"}", 422},
        {"POST", "/urls", "{\"original_url\" : \"hello\"}", 422},
        {"POST", "/urls", "{\"original_url\" : \"https://example.com/\", \"user_id\" : 999999999}",
         404},
        {"POST", "/events", "{\"event_type\" : \"x\", \"details\" : [1]}", 422},
        {"POST", "/users/bulk", NULL, 400},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        compact_one(&cases[i], 0);
}

/* 409 and 413 come from other code paths (the uniqueness check, the body cap in the glue). */
static void test_compact_conflict_and_too_large(void **state)
{
    char name[64];
    (void)state;
    e2e_user_new(name, sizeof(name));
    json_t *j = e2e_callf(409, "POST", "/users", "{\"username\" : \"%s\", \"email\" : \"%s@x.io\"}",
                          name, name);
    json_decref(j);
    char *big = e2e_repeat('a', E2E_BODY_MAX + 10);
    j = e2e_call(413, "POST", "/users", big);
    json_decref(j);
    free(big);
}

int test_compact_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_every_route),
        cmocka_unit_test(test_compact_lists_and_errors),
        cmocka_unit_test(test_compact_conflict_and_too_large),
    };
    return cmocka_run_group_tests_name("compact", tests, NULL, NULL);
}
