/*
 * test_dest.c - the destination rules (PRODUCT.md 4, DECISIONS R7-R8) through the real
 * write-svc: links to the shortener itself (PUBLIC_BASE_URL https://sho.rt/e2e/ and the default
 * SELF_HOSTS 127.0.0.1:8080, localhost:8080, [::1]:8080) in several spellings, and domains of
 * tests/e2e/blocklist.txt (blocked.example, wild.example) with their subdomains: 422 with
 * details.original_url on POST /urls, PUT and PATCH; neighbours of those names are accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e_util.h"

static const char *const dest_refused[] = {
    "http://127.0.0.1:8080/abc",    "HTTP://LOCALHOST:8080",
    "http://localhost:8080?x=1",    "http://127.1:8080/abc",
    "http://0x7f.0.0.1:8080/abc",   "http://[::1]:8080/abc",
    "http://[0:0::1]:8080/",        "http://user:pw@127.0.0.1:8080/abc",
    "http://127.0.0.1:08080/abc",   "https://sho.rt/e2e/abc",
    "https://SHO.RT:443/x",         "http://sho.rt/abc",
    "https://sho.rt./abc",          "https://sh%6F.rt/abc",
    "https://blocked.example/",     "https://BLOCKED.example:8443/x",
    "http://a.b.blocked.example/x", "https://wild.example/",
    "https://deep.wild.example./",
};

static const char *const dest_accepted[] = {
    "http://127.0.0.1:8081/abc",
    "http://localhost:3000/",
    "https://sho.rt:8443/",
    "https://notsho.rt/",
    "https://xblocked.example/",
    "https://blocked.example.org/",
    "https://example.com/blocked.example",
    "https://wild.example.net/",
};

static void dest_body(char *out, size_t n, const char *url)
{
    json_t *b = json_pack("{s:s}", "original_url", url);
    char *s = json_dumps(b, JSON_COMPACT);
    snprintf(out, n, "%s", s ? s : "{}");
    free(s);
    json_decref(b);
}

static void test_dest_create_refused(void **state)
{
    char body[512];
    (void)state;
    for (size_t i = 0; i < sizeof(dest_refused) / sizeof(dest_refused[0]); i++) {
        dest_body(body, sizeof(body), dest_refused[i]);
        json_t *j = e2e_call(422, "POST", "/urls", body);
        e2e_assert_error(j, "original_url");
        json_decref(j);
    }
}

static void test_dest_create_accepted(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dest_accepted) / sizeof(dest_accepted[0]); i++) {
        json_t *j = e2e_url_new(0, dest_accepted[i]);
        assert_string_equal(e2e_str(j, "original_url"), dest_accepted[i]);
        json_decref(j);
    }
}

/* PUT and PATCH refuse the same destinations, and the link keeps its old one. */
static void test_dest_update_refused(void **state)
{
    char path[64], body[512];
    json_t *u = e2e_url_new(0, "https://example.com/dest/update");
    (void)state;
    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(u, "id"));
    const char *methods[] = {"PUT", "PATCH"};
    const char *urls[] = {"http://localhost:8080/x", "https://sub.blocked.example/"};
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < 2; i++) {
            dest_body(body, sizeof(body), urls[i]);
            e2e_error(422, "original_url", methods[m], path, body);
        }
    }
    json_t *j = e2e_call(200, "GET", path, NULL);
    assert_string_equal(e2e_str(j, "original_url"), "https://example.com/dest/update");
    json_decref(j);
    json_decref(u);
}

int test_dest_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dest_create_refused),
        cmocka_unit_test(test_dest_create_accepted),
        cmocka_unit_test(test_dest_update_refused),
    };
    return cmocka_run_group_tests_name("destinations", tests, NULL, NULL);
}
