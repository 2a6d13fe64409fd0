/*
 * test_urls.c - POST /urls, GET /urls and GET /urls/<id> (API.md 4.1 rows 8 to 10, 4.3 and
 * the original_url, title, is_active and id rows of section 5; DECISIONS.md A4 to A6, A11,
 * A12) and the Redis read model a new URL enters: hash url:{s}:<code> with id, uid and url.
 * Updates and deletes are in test_urls_write.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e_util.h"
#include "rkeys.h"
#include "shortcode.h"

#include "banned.h"

static void url_path(char *path, size_t n, const json_t *url)
{
    snprintf(path, n, "/urls/%lld", e2e_int(url, "id"));
}

static int code_is_alnum(const char *s, size_t want_len)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return want_len == 0 || i == want_len;
}

/* ------------------------------------------------------------------------ */
/* Create                                                                    */
/* ------------------------------------------------------------------------ */

static void test_urls_create_201_with_all_fields(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    const char *original = "https://example.com/test/Path%20x?q=1&b=%C3%A9#Frag";
    json_t *j;
    (void)state;
    j = e2e_callf(201, "POST", "/urls",
                  "{\"user_id\":%lld,\"original_url\":\"%s\",\"title\":\"Test URL\"}", uid,
                  original);
    e2e_assert_url(j);
    assert_int_equal(e2e_int(j, "user_id"), uid);
    assert_string_equal(e2e_str(j, "original_url"), original);
    assert_string_equal(e2e_str(j, "title"), "Test URL");
    assert_true(e2e_bool(j, "is_active"));
    assert_true(code_is_alnum(e2e_str(j, "short_code"), 6));
    assert_string_equal(e2e_str(j, "created_at"), e2e_str(j, "updated_at"));
    e2e_assert_recent(e2e_str(j, "created_at"));
    if (e2e_seeded())
        assert_true(e2e_int(j, "id") > 2000);
    json_decref(j);
}

/* Titles and URLs come back byte-exact, whatever JSON escaping they needed. */
static void test_urls_create_unicode_and_escapes_round_trip(void **state)
{
    const char *title = "Ünïcödé ☃ \"quoted\" back\\slash <b>&amp; end";
    const char *url = "https://example.com/%E2%98%83/path?a=%22x%22&b=c%2Fd#frag!$'()*+,;=";
    json_t *j, *g;
    (void)state;
    j = e2e_call_json(201, "POST", "/urls",
                      json_pack("{s:s,s:s}", "original_url", url, "title", title));
    assert_string_equal(e2e_str(j, "title"), title);
    assert_string_equal(e2e_str(j, "original_url"), url);
    e2e_assert_link(j);
    g = e2e_get_id("urls", e2e_int(j, "id"));
    assert_true(json_equal(g, j));
    json_decref(g);
    json_decref(j);
}

static void test_urls_create_then_get_equal(void **state)
{
    json_t *j = e2e_url_new(e2e_user_new(NULL, 0), NULL), *g;
    (void)state;
    g = e2e_get_id("urls", e2e_int(j, "id"));
    assert_true(json_equal(j, g));
    json_decref(g);
    json_decref(j);
}

static void test_urls_create_without_owner_or_title(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(201, "POST", "/urls", "{\"original_url\":\"https://example.com/no-owner\"}");
    e2e_assert_url(j);
    e2e_assert_null(j, "user_id");
    e2e_assert_null(j, "title");
    e2e_assert_link(j);
    json_decref(j);
    j = e2e_call(
        201, "POST", "/urls",
        "{\"original_url\":\"http://example.org:8080/x\",\"user_id\":null,\"title\":null}");
    e2e_assert_null(j, "user_id");
    e2e_assert_null(j, "title");
    json_decref(j);
}

/* Twin's Paradox: the same body twice gives two URLs. */
static void test_urls_create_duplicate_bodies_give_two_urls(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    char body[160];
    json_t *a, *b;
    (void)state;
    snprintf(body, sizeof(body),
             "{\"user_id\":%lld,\"original_url\":\"https://example.com/twin\",\"title\":\"Twin\"}",
             uid);
    a = e2e_call(201, "POST", "/urls", body);
    b = e2e_call(201, "POST", "/urls", body);
    assert_true(e2e_int(a, "id") != e2e_int(b, "id"));
    assert_string_not_equal(e2e_str(a, "short_code"), e2e_str(b, "short_code"));
    e2e_assert_link(a);
    e2e_assert_link(b);
    json_decref(a);
    json_decref(b);
}

static void test_urls_create_codes_distinct_and_not_reserved(void **state)
{
    json_t *codes = json_object();
    (void)state;
    for (int i = 0; i < 40; i++) {
        json_t *j = e2e_url_new(0, "https://example.com/same");
        const char *code = e2e_str(j, "short_code");
        assert_true(code_is_alnum(code, 6));
        assert_false(shortcode_is_reserved(code, strlen(code)));
        assert_null(json_object_get(codes, code));
        json_object_set_new(codes, code, json_true());
        json_decref(j);
    }
    json_decref(codes);
}

static void test_urls_create_writes_readmodel_hash(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *j = e2e_url_new(uid, "https://example.com/read/model?x=1");
    char key[RKEYS_MAX];
    const char *code = e2e_str(j, "short_code");
    (void)state;
    e2e_assert_link(j);
    /* The key layout itself: url:{<FNV-1a(code) mod STREAM_SHARDS>}:<code>. */
    assert_true(rkeys_link(code, strlen(code), e2e_shards(), key) > 0);
    assert_int_equal(e2e_redis_exists(key), 1);
    json_decref(j);
}

static void test_urls_create_logs_created_event(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *j = e2e_url_new(uid, "https://example.com/created-event"), *ev, *e, *d;
    (void)state;
    ev = e2e_events_of(e2e_int(j, "id"));
    assert_int_equal(e2e_len(ev), 1);
    e = json_array_get(ev, 0);
    assert_string_equal(e2e_str(e, "event_type"), "created");
    assert_int_equal(e2e_int(e, "url_id"), e2e_int(j, "id"));
    assert_int_equal(e2e_int(e, "user_id"), uid);
    e2e_assert_recent(e2e_str(e, "timestamp"));
    d = e2e_get(e, "details");
    assert_string_equal(e2e_str(d, "short_code"), e2e_str(j, "short_code"));
    assert_string_equal(e2e_str(d, "original_url"), "https://example.com/created-event");
    json_decref(ev);
    json_decref(j);
}

/* "url" is an alias of "original_url" when the latter is absent (A4). */
static void test_urls_create_url_alias(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(201, "POST", "/urls", "{\"url\":\"https://example.com/alias\"}");
    assert_string_equal(e2e_str(j, "original_url"), "https://example.com/alias");
    e2e_assert_link(j);
    json_decref(j);
}

/* A client-chosen short_code (PRODUCT.md 1): kept, 409 when taken, 422 when invalid or reserved. */
static void test_urls_create_client_short_code(void **state)
{
    char code[32];
    json_t *j;
    static const char *const bad[] = {
        "\"users\"",
        "\"health\"",
        "\"events\"",
        "\"-bad\"",
        "\"_bad\"",
        "\"ab\"",
        "\"a.b\"",
        "\"a b\"",
        "\"\"",
        "\"Users\"",
        "\"OPENAPI.JSON\"",
        "\"a123456789b123456789c123456789d123456789e123456789f123456789g1234\"",
        "12345",
        "true",
        "[]"};
    (void)state;
    snprintf(code, sizeof(code), "E2e%ldx%d", (long)getpid() % 100000, e2e_seeded());
    j = e2e_callf(201, "POST", "/urls",
                  "{\"original_url\":\"https://example.com/c\","
                  "\"short_code\":\"%s\"}",
                  code);
    assert_string_equal(e2e_str(j, "short_code"), code);
    e2e_assert_link(j);
    json_decref(j);
    j = e2e_callf(409, "POST", "/urls",
                  "{\"original_url\":\"https://example.com/d\",\"short_code\":\"%s\"}", code);
    e2e_assert_error(j, "short_code");
    json_decref(j);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        j = e2e_callf(422, "POST", "/urls",
                      "{\"original_url\":\"https://example.com/e\",\"short_code\":%s}", bad[i]);
        e2e_assert_error(j, "short_code");
        json_decref(j);
    }
}

/* is_active false on create (A6): stored inactive, never in the read model. */
static void test_urls_create_inactive_not_in_readmodel(void **state)
{
    json_t *j, *ev;
    (void)state;
    j = e2e_call(201, "POST", "/urls",
                 "{\"original_url\":\"https://example.com/inactive\",\"is_active\":false}");
    assert_false(e2e_bool(j, "is_active"));
    e2e_assert_no_link(e2e_str(j, "short_code"));
    ev = e2e_events_of(e2e_int(j, "id"));
    assert_int_equal(e2e_count_type(ev, "created"), 1);
    json_decref(ev);
    json_decref(j);
}

static void test_urls_create_unknown_user_404(void **state)
{
    json_t *before = e2e_call(200, "GET", "/urls", NULL), *j, *after;
    (void)state;
    j = e2e_call(404, "POST", "/urls",
                 "{\"user_id\":999999999,\"original_url\":\"https://example.com/nobody\"}");
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
    after = e2e_call(200, "GET", "/urls", NULL);
    assert_int_equal(e2e_len(after), e2e_len(before));
    json_decref(after);
    json_decref(before);
}

static void test_urls_create_user_id_wrong_types_422(void **state)
{
    static const char *const values[] = {"\"1\"", "true", "false", "1.5",     "1.0", "0",
                                         "-1",    "[]",   "{}",    "\"abc\"", "[1]"};
    char body[256];
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        snprintf(body, sizeof(body),
                 "{\"user_id\":%s,\"original_url\":\"https://example.com/types\"}", values[i]);
        e2e_error(422, "user_id", "POST", "/urls", body);
    }
}

static void test_urls_create_original_url_invalid_422(void **state)
{
    static const char *const values[] = {"\"hello\"",
                                         "\"google\"",
                                         "\"example.com\"",
                                         "\"ftp://files.example.com\"",
                                         "\"\"",
                                         "\"   \"",
                                         "\"http://\"",
                                         "\"https://\"",
                                         "\"http://exa mple.com/x\"",
                                         "\"https://example.com/a b\"",
                                         "\"javascript:alert(1)\"",
                                         "\"mailto:a@example.com\"",
                                         "\"//example.com/x\"",
                                         "\"https://example.com/\\n\"",
                                         "\"file:///etc/passwd\""};
    char body[256];
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        snprintf(body, sizeof(body), "{\"original_url\":%s}", values[i]);
        e2e_error(422, "original_url", "POST", "/urls", body);
    }
}

static void test_urls_create_original_url_wrong_types_or_missing_422(void **state)
{
    static const char *const bodies[] = {"{\"original_url\":12345}",
                                         "{\"original_url\":true}",
                                         "{\"original_url\":null}",
                                         "{\"original_url\":[]}",
                                         "{\"original_url\":{}}",
                                         "{\"original_url\":[\"https://a.co\"]}",
                                         "{}",
                                         "{\"title\":\"only a title\"}"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
        e2e_error(422, "original_url", "POST", "/urls", bodies[i]);
}

/* "https://example.com/" followed by 'a' up to len bytes (new allocation). */
static char *long_url(size_t len)
{
    char *s = e2e_repeat('a', len);

    memcpy(s, "https://example.com/", 20);
    return s;
}

static void test_urls_create_original_url_2049_chars_422(void **state)
{
    char *u = long_url(2049);
    (void)state;
    e2e_error_json(422, "original_url", "POST", "/urls", json_pack("{s:s}", "original_url", u));
    free(u);
}

static void test_urls_create_original_url_2048_chars_201(void **state)
{
    char *u = long_url(2048);
    json_t *j;
    (void)state;
    j = e2e_call_json(201, "POST", "/urls", json_pack("{s:s}", "original_url", u));
    assert_string_equal(e2e_str(j, "original_url"), u);
    e2e_assert_link(j);
    json_decref(j);
    free(u);
}

static void test_urls_create_title_rules(void **state)
{
    static const char *const bad[] = {"12345", "true", "[]", "{}", "[\"t\"]"};
    char *t255 = e2e_repeat('t', 255), *t256 = e2e_repeat('t', 256), body[256];
    json_t *j;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        snprintf(body, sizeof(body), "{\"original_url\":\"https://example.com/t\",\"title\":%s}",
                 bad[i]);
        e2e_error(422, "title", "POST", "/urls", body);
    }
    e2e_error_json(422, "title", "POST", "/urls",
                   json_pack("{s:s,s:s}", "original_url", "https://example.com/t", "title", t256));
    j = e2e_call_json(
        201, "POST", "/urls",
        json_pack("{s:s,s:s}", "original_url", "https://example.com/t", "title", t255));
    assert_string_equal(e2e_str(j, "title"), t255);
    json_decref(j);
    free(t255);
    free(t256);
}

static void test_urls_create_is_active_wrong_types_422(void **state)
{
    static const char *const values[] = {"\"true\"", "\"false\"", "1", "0", "null", "[]", "{}"};
    char body[256];
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        snprintf(body, sizeof(body),
                 "{\"original_url\":\"https://example.com/active\",\"is_active\":%s}", values[i]);
        e2e_error(422, "is_active", "POST", "/urls", body);
    }
}

/* ------------------------------------------------------------------------ */
/* Read and list                                                             */
/* ------------------------------------------------------------------------ */

static void test_urls_get_unknown_404(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(404, "GET", "/urls/999999999", NULL);
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
    e2e_error(404, NULL, "GET", "/urls/WqxP6K", NULL);
}

static void test_urls_list_is_ascending_array_with_new_urls(void **state)
{
    json_t *a = e2e_url_new(0, NULL), *b = e2e_url_new(0, NULL), *j;
    (void)state;
    j = e2e_call(200, "GET", "/urls", NULL);
    e2e_assert_array_of(j, e2e_assert_url);
    e2e_assert_ascending(j);
    assert_true(json_equal(e2e_find_id(j, e2e_int(a, "id")), a));
    assert_true(json_equal(e2e_find_id(j, e2e_int(b, "id")), b));
    json_decref(j);
    json_decref(a);
    json_decref(b);
}

/* Asserts GET path lists exactly the ids (ascending). */
static void assert_ids(const char *path, const long long *ids, size_t n)
{
    json_t *j = e2e_call(200, "GET", path, NULL);
    size_t i;

    e2e_assert_array_of(j, e2e_assert_url);
    if (e2e_len(j) != n) {
        print_error("GET %s: %zu rows, expected %zu\n", path, e2e_len(j), n);
        fail();
    }
    for (i = 0; i < n; i++)
        assert_int_equal(e2e_int(json_array_get(j, i), "id"), ids[i]);
    json_decref(j);
}

static void test_urls_list_filter_user_id(void **state)
{
    long long u1 = e2e_user_new(NULL, 0), u2 = e2e_user_new(NULL, 0), u3 = e2e_user_new(NULL, 0);
    json_t *a = e2e_url_new(u1, NULL), *b = e2e_url_new(u2, NULL), *c = e2e_url_new(u1, NULL);
    long long want[] = {e2e_int(a, "id"), e2e_int(c, "id")}, want2[] = {e2e_int(b, "id")};
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/urls?user_id=%lld", u1);
    assert_ids(path, want, 2);
    snprintf(path, sizeof(path), "/urls?user_id=%lld", u2);
    assert_ids(path, want2, 1);
    snprintf(path, sizeof(path), "/urls?user_id=%lld", u3);
    assert_ids(path, NULL, 0);
    /* Filters combine with pagination. */
    snprintf(path, sizeof(path), "/urls?user_id=%lld&page=2&per_page=1", u1);
    assert_ids(path, want + 1, 1);
    snprintf(path, sizeof(path), "/urls?user_id=%lld&page=3&per_page=1", u1);
    assert_ids(path, NULL, 0);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

/* A11: an unknown user in the filter is 404. */
static void test_urls_list_filter_unknown_user_404(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(404, "GET", "/urls?user_id=999999999", NULL);
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
}

static void test_urls_list_filter_is_active(void **state)
{
    static const char *const yes[] = {"true", "TRUE", "True", "1"};
    static const char *const no[] = {"false", "FALSE", "False", "0"};
    long long uid = e2e_user_new(NULL, 0);
    json_t *on = e2e_url_new(uid, NULL), *off = e2e_url_new(uid, NULL), *j;
    char path[96];
    long long want_on[] = {e2e_int(on, "id")}, want_off[] = {e2e_int(off, "id")};
    size_t i, k;
    (void)state;
    url_path(path, sizeof(path), off);
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    for (i = 0; i < ARRAY_SIZE(yes); i++) {
        snprintf(path, sizeof(path), "/urls?is_active=%s", yes[i]);
        j = e2e_call(200, "GET", path, NULL);
        e2e_assert_ascending(j);
        for (k = 0; k < e2e_len(j); k++)
            assert_true(e2e_bool(json_array_get(j, k), "is_active"));
        assert_non_null(e2e_find_id(j, want_on[0]));
        assert_null(e2e_find_id(j, want_off[0]));
        json_decref(j);
        snprintf(path, sizeof(path), "/urls?is_active=%s", no[i]);
        j = e2e_call(200, "GET", path, NULL);
        for (k = 0; k < e2e_len(j); k++)
            assert_false(e2e_bool(json_array_get(j, k), "is_active"));
        assert_null(e2e_find_id(j, want_on[0]));
        assert_non_null(e2e_find_id(j, want_off[0]));
        json_decref(j);
    }
    snprintf(path, sizeof(path), "/urls?user_id=%lld&is_active=true", uid);
    assert_ids(path, want_on, 1);
    snprintf(path, sizeof(path), "/urls?is_active=false&user_id=%lld", uid);
    assert_ids(path, want_off, 1);
    json_decref(on);
    json_decref(off);
}

/* A12: a query value that is not an id or a boolean is 400 JSON. */
static void test_urls_list_bad_query_values_400(void **state)
{
    static const char *const paths[] = {"/urls?user_id=abc",     "/urls?user_id=1.5",
                                        "/urls?user_id=1x",      "/urls?user_id=%20",
                                        "/urls?user_id=0x10",    "/urls?is_active=maybe",
                                        "/urls?is_active=yes",   "/urls?is_active=2",
                                        "/urls?is_active=truee", "/urls?user_id=1&is_active=nope"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        e2e_error(400, NULL, "GET", paths[i], NULL);
}

static void test_urls_list_pagination(void **state)
{
    json_t *all, *j;
    size_t i;
    (void)state;
    all = e2e_call(200, "GET", "/urls", NULL);
    while (e2e_len(all) < 101) {
        json_decref(all);
        for (i = 0; i < 20; i++)
            json_decref(e2e_url_new(0, NULL));
        all = e2e_call(200, "GET", "/urls", NULL);
    }
    j = e2e_call(200, "GET", "/urls?page=2&per_page=3", NULL);
    assert_int_equal(e2e_len(j), 3);
    for (i = 0; i < 3; i++)
        assert_true(json_equal(json_array_get(j, i), json_array_get(all, 3 + i)));
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=1&per_page=500", NULL);
    assert_int_equal(e2e_len(j), 100);
    assert_true(json_equal(json_array_get(j, 99), json_array_get(all, 99)));
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=100000&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
    /* per_page=-1 is a number (clamped to 1); page=zz counts as absent (DECISIONS.md A22). */
    j = e2e_call(200, "GET", "/urls?page=zz&per_page=-1", NULL);
    e2e_assert_array_of(j, e2e_assert_url);
    assert_int_equal(e2e_len(j), 1);
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=abc&per_page=xyz", NULL);
    assert_true(json_equal(j, all));
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=&per_page=1e3", NULL);
    assert_true(json_equal(j, all));
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=2&per_page=abc", NULL);
    assert_int_equal(e2e_len(j), 20);
    assert_true(json_equal(json_array_get(j, 0), json_array_get(all, 20)));
    json_decref(j);
    json_decref(all);
}

int test_urls_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls_create_201_with_all_fields),
        cmocka_unit_test(test_urls_create_then_get_equal),
        cmocka_unit_test(test_urls_create_unicode_and_escapes_round_trip),
        cmocka_unit_test(test_urls_create_without_owner_or_title),
        cmocka_unit_test(test_urls_create_duplicate_bodies_give_two_urls),
        cmocka_unit_test(test_urls_create_codes_distinct_and_not_reserved),
        cmocka_unit_test(test_urls_create_writes_readmodel_hash),
        cmocka_unit_test(test_urls_create_logs_created_event),
        cmocka_unit_test(test_urls_create_url_alias),
        cmocka_unit_test(test_urls_create_client_short_code),
        cmocka_unit_test(test_urls_create_inactive_not_in_readmodel),
        cmocka_unit_test(test_urls_create_unknown_user_404),
        cmocka_unit_test(test_urls_create_user_id_wrong_types_422),
        cmocka_unit_test(test_urls_create_original_url_invalid_422),
        cmocka_unit_test(test_urls_create_original_url_wrong_types_or_missing_422),
        cmocka_unit_test(test_urls_create_original_url_2049_chars_422),
        cmocka_unit_test(test_urls_create_original_url_2048_chars_201),
        cmocka_unit_test(test_urls_create_title_rules),
        cmocka_unit_test(test_urls_create_is_active_wrong_types_422),
        cmocka_unit_test(test_urls_get_unknown_404),
        cmocka_unit_test(test_urls_list_is_ascending_array_with_new_urls),
        cmocka_unit_test(test_urls_list_filter_user_id),
        cmocka_unit_test(test_urls_list_filter_unknown_user_404),
        cmocka_unit_test(test_urls_list_filter_is_active),
        cmocka_unit_test(test_urls_list_bad_query_values_400),
        cmocka_unit_test(test_urls_list_pagination),
    };
    return cmocka_run_group_tests_name("urls", tests, NULL, NULL);
}
