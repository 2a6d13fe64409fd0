/*
 * test_users.c - /users and /users/<id> (API.md 4.1 rows 3 to 7, 4.3 and the username and
 * email rows of section 5; DECISIONS.md A1, A2, A9, A11, A15). Bulk import: test_bulk.c.
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

static json_t *user_get(long long id)
{
    char path[64];

    snprintf(path, sizeof(path), "/users/%lld", id);
    return e2e_call(200, "GET", path, NULL);
}

/* Asserts GET /users/<id> still equals before. */
static void assert_user_unchanged(long long id, const json_t *before)
{
    json_t *now = user_get(id);

    if (!json_equal(now, before)) {
        print_error("user %lld changed although the write was refused\n", id);
        fail();
    }
    json_decref(now);
}

/* ------------------------------------------------------------------------ */
/* Create and read                                                           */
/* ------------------------------------------------------------------------ */

static void test_users_create_201_with_all_fields(void **state)
{
    char name[64], email[96];
    json_t *j;
    (void)state;
    e2e_unique(name, sizeof(name), "Shape.User-x");
    snprintf(email, sizeof(email), "%s@example.com", name);
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s\"}", name, email);
    e2e_assert_user(j);
    assert_string_equal(e2e_str(j, "username"), name);
    assert_string_equal(e2e_str(j, "email"), email);
    e2e_assert_recent(e2e_str(j, "created_at"));
    if (e2e_seeded())
        assert_true(e2e_int(j, "id") > 400);
    json_decref(j);
}

static void test_users_get_returns_created_user(void **state)
{
    char name[64];
    long long id;
    json_t *j;
    (void)state;
    id = e2e_user_new(name, sizeof(name));
    j = user_get(id);
    e2e_assert_user(j);
    assert_int_equal(e2e_int(j, "id"), id);
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
}

static void test_users_get_unknown_404(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(404, "GET", "/users/999999999", NULL);
    e2e_assert_error(j, NULL);
    assert_non_null(strcasestr(e2e_str(j, "error"), "not found"));
    json_decref(j);
    e2e_error(404, NULL, "GET", "/users/notanumber", NULL);
}

static void test_users_list_is_ascending_array_with_new_users(void **state)
{
    long long a = e2e_user_new(NULL, 0), b = e2e_user_new(NULL, 0);
    json_t *j;
    (void)state;
    j = e2e_call(200, "GET", "/users", NULL);
    e2e_assert_array_of(j, e2e_assert_user);
    e2e_assert_ascending(j);
    assert_non_null(e2e_find_id(j, a));
    assert_non_null(e2e_find_id(j, b));
    json_decref(j);
}

/* Asserts GET path returns the slice [from, from + n) of the full list all. */
static void assert_slice(const json_t *all, const char *path, size_t from, size_t n)
{
    json_t *page = e2e_call(200, "GET", path, NULL);
    size_t total = e2e_len(all), want = from >= total ? 0 : (total - from < n ? total - from : n);

    if (e2e_len(page) != want) {
        print_error("GET %s: %zu rows, expected %zu\n", path, e2e_len(page), want);
        fail();
    }
    for (size_t i = 0; i < want; i++) {
        if (!json_equal(json_array_get(page, i), json_array_get(all, from + i))) {
            print_error("GET %s: row %zu differs from row %zu of the full list\n", path, i,
                        from + i);
            fail();
        }
    }
    json_decref(page);
}

/* Makes sure at least n users exist; returns the full list (new reference). */
static json_t *users_at_least(size_t n)
{
    json_t *all = e2e_call(200, "GET", "/users", NULL);

    while (e2e_len(all) < n) {
        json_decref(all);
        for (size_t i = 0; i < 20; i++)
            e2e_user_new(NULL, 0);
        all = e2e_call(200, "GET", "/users", NULL);
    }
    return all;
}

static void test_users_list_page_and_per_page(void **state)
{
    json_t *all = users_at_least(12);
    (void)state;
    assert_slice(all, "/users?page=1&per_page=5", 0, 5);
    assert_slice(all, "/users?page=2&per_page=5", 5, 5);
    assert_slice(all, "/users?per_page=3&page=3", 6, 3);
    json_decref(all);
}

static void test_users_list_per_page_capped_at_100(void **state)
{
    json_t *all = users_at_least(101);
    (void)state;
    assert_slice(all, "/users?page=1&per_page=100", 0, 100);
    assert_slice(all, "/users?page=1&per_page=101", 0, 100);
    assert_slice(all, "/users?page=1&per_page=100000", 0, 100);
    assert_slice(all, "/users?page=2&per_page=1000", 100, 100);
    json_decref(all);
}

static void test_users_list_page_beyond_end_empty(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(200, "GET", "/users?page=100000&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
    j = e2e_call(200, "GET", "/users?page=99999999999999999999&per_page=10", NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

/*
 * Pagination (DECISIONS.md A22): a value that is not a decimal integer counts as absent, so
 * garbage in both gives every row; numbers are clamped (page >= 1, 1 <= per_page <= 100);
 * when only one counts, the other takes its default (page 1, per_page 20). Never an error.
 */
static void test_users_list_pagination_clamped_never_an_error(void **state)
{
    json_t *all = users_at_least(45);
    static const char *const garbage[] = {
        "/users?page=abc&per_page=xyz",
        "/users?page=&per_page=",
        "/users?page=1.5&per_page=2.5",
        "/users?page=%00&per_page=-",
        "/users?per_page=1e3",
        "/users?page=",
        "/users?page=abc",
        "/users?page&per_page",
        "/users?page=%202",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(garbage); i++)
        assert_slice(all, garbage[i], 0, e2e_len(all));
    assert_slice(all, "/users?page=0&per_page=2", 0, 2);
    assert_slice(all, "/users?page=-3&per_page=2", 0, 2);
    assert_slice(all, "/users?page=-1", 0, 20);
    assert_slice(all, "/users?page=1&per_page=0", 0, 1);
    assert_slice(all, "/users?per_page=0", 0, 1);
    assert_slice(all, "/users?page=1&per_page=-5", 0, 1);
    assert_slice(all, "/users?page=abc&per_page=2", 0, 2);
    assert_slice(all, "/users?page=2&per_page=xyz", 20, 20);
    assert_slice(all, "/users?page=2&per_page=1e3", 20, 20);
    assert_slice(all, "/users?page=2", 20, 20);
    json_decref(all);
}

/* ------------------------------------------------------------------------ */
/* Create: uniqueness and validation                                         */
/* ------------------------------------------------------------------------ */

static void test_users_create_duplicate_username_409(void **state)
{
    char name[64];
    json_t *j;
    (void)state;
    e2e_user_new(name, sizeof(name));
    j = e2e_callf(409, "POST", "/users", "{\"username\":\"%s\",\"email\":\"other_%s@example.com\"}",
                  name, name);
    e2e_assert_error(j, "username");
    json_decref(j);
    j = e2e_users_named(name);
    assert_int_equal(e2e_len(j), 1);
    json_decref(j);
}

static void test_users_create_duplicate_email_409(void **state)
{
    char name[64], other[64];
    json_t *j;
    (void)state;
    e2e_user_new(name, sizeof(name));
    e2e_unique(other, sizeof(other), "e2e");
    j = e2e_callf(409, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}",
                  other, name);
    e2e_assert_error(j, "email");
    json_decref(j);
    j = e2e_users_named(other);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

/* Uniqueness is a case-sensitive exact match (API.md 5). */
static void test_users_create_uniqueness_is_case_sensitive(void **state)
{
    char name[64], upper[64];
    json_t *j;
    (void)state;
    e2e_unique(name, sizeof(name), "case");
    snprintf(upper, sizeof(upper), "CASE%s", name + 4);
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name,
                  name);
    json_decref(j);
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}",
                  upper, upper);
    assert_string_equal(e2e_str(j, "username"), upper);
    json_decref(j);
    /* The same email with another case is another email. */
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s_b\",\"email\":\"%s@EXAMPLE.com\"}",
                  name, name);
    json_decref(j);
}

/* A JSON body with a charset parameter in its Content-Type is an ordinary JSON body. */
static void test_users_create_accepts_json_with_charset(void **state)
{
    char name[64], body[256];
    json_t *j;
    (void)state;
    e2e_unique(name, sizeof(name), "cs");
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name, name);
    j = e2e_call_raw(201, "POST", "/users", "application/json; charset=utf-8", body, strlen(body));
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
}

/* Sends {"username": <value>, "email": <unique>} and expects 422 on username. */
static void refuse_username(const char *value_json)
{
    char name[64];

    e2e_unique(name, sizeof(name), "e2e");
    json_t *j = e2e_callf(422, "POST", "/users", "{\"username\":%s,\"email\":\"%s@example.com\"}",
                          value_json, name);
    e2e_assert_error(j, "username");
    json_decref(j);
}

/* Sends {"username": <unique>, "email": <value>} and expects 422 on email. */
static void refuse_email(const char *value_json)
{
    char name[64];
    json_t *j;

    e2e_unique(name, sizeof(name), "e2e");
    j = e2e_callf(422, "POST", "/users", "{\"username\":\"%s\",\"email\":%s}", name, value_json);
    e2e_assert_error(j, "email");
    json_decref(j);
    j = e2e_users_named(name);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

static void test_users_create_missing_fields_422(void **state)
{
    char name[64];
    (void)state;
    e2e_unique(name, sizeof(name), "e2e");
    e2e_error(422, NULL, "POST", "/users", "{}");
    json_t *j = e2e_callf(422, "POST", "/users", "{\"email\":\"%s@example.com\"}", name);
    e2e_assert_error(j, "username");
    json_decref(j);
    j = e2e_callf(422, "POST", "/users", "{\"username\":\"%s\"}", name);
    e2e_assert_error(j, "email");
    json_decref(j);
    j = e2e_users_named(name);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

static void test_users_create_username_wrong_types_422(void **state)
{
    static const char *const values[] = {"12345",   "true", "false", "null",         "[]",
                                         "[\"a\"]", "{}",   "1.5",   "{\"x\":\"y\"}"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        refuse_username(values[i]);
}

static void test_users_create_username_empty_or_blank_422(void **state)
{
    static const char *const values[] = {"\"\"", "\"   \"", "\"\\t\"", "\" \\n \""};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        refuse_username(values[i]);
}

static void test_users_create_username_151_chars_422(void **state)
{
    char *name = e2e_repeat('u', 151), *quoted;
    (void)state;
    assert_true(asprintf(&quoted, "\"%s\"", name) > 0);
    refuse_username(quoted);
    free(quoted);
    free(name);
}

static void test_users_create_username_150_chars_201(void **state)
{
    char uniq[64], *name = e2e_repeat('u', 150);
    json_t *j;
    (void)state;
    e2e_unique(uniq, sizeof(uniq), "L");
    memcpy(name, uniq, strlen(uniq)); /* unique prefix, still 150 chars */
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name,
                  uniq);
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
    free(name);
}

static void test_users_create_username_bad_characters_422(void **state)
{
    static const char *const values[] = {"\"has space\"",  "\"semi;colon\"", "\"a/b\"",
                                         "\"<script>\"",   "\"quote\\\"d\"", "\"caf\\u00e9\"",
                                         "\"new\\nline\"", "\"tab\\there\""};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        refuse_username(values[i]);
}

/*
 * {"username": "nul\u0000x", ...} is a JSON object (RFC 8259 allows the escape), so the
 * refusal is the 422 of an invalid username, not the 400 of a body that is not an object.
 */
static void test_users_create_username_nul_escape_422(void **state)
{
    (void)state;
    refuse_username("\"nul\\u0000x\"");
}

static void test_users_create_email_wrong_types_422(void **state)
{
    static const char *const values[] = {"12345", "true", "null", "[]", "{}", "[\"a@b.co\"]"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        refuse_email(values[i]);
}

static void test_users_create_email_malformed_422(void **state)
{
    static const char *const values[] = {"\"\"",
                                         "\"   \"",
                                         "\"plainaddress\"",
                                         "\"no-at.example.com\"",
                                         "\"a@b\"",
                                         "\"@example.com\"",
                                         "\"a@\"",
                                         "\"a@@example.com\"",
                                         "\"a@b@example.com\"",
                                         "\"a b@example.com\"",
                                         "\"a@exa mple.com\"",
                                         "\"a@.com\"",
                                         "\"a@example.\""};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(values); i++)
        refuse_email(values[i]);
}

/* Builds an email of exactly len bytes with a unique 64-byte local part (labels <= 63). */
static char *long_email(size_t len)
{
    char uniq[64];
    char *e = e2e_repeat('a', len);
    size_t pos;

    e2e_unique(uniq, sizeof(uniq), "m");
    memcpy(e, uniq, strlen(uniq));
    e[64] = '@';
    /* Domain labels of 63 letters separated by dots, ending in ".com". */
    for (pos = 65; pos < len; pos++)
        e[pos] = (pos - 65) % 64 == 63 ? '.' : 'b';
    memcpy(e + len - 4, ".com", 4);
    if (e[len - 5] == '.')
        e[len - 5] = 'c';
    return e;
}

static void test_users_create_email_255_chars_422(void **state)
{
    char *email = long_email(255), *quoted;
    (void)state;
    assert_true(asprintf(&quoted, "\"%s\"", email) > 0);
    refuse_email(quoted);
    free(quoted);
    free(email);
}

static void test_users_create_email_254_chars_201(void **state)
{
    char name[64], *email = long_email(254);
    json_t *j;
    (void)state;
    e2e_unique(name, sizeof(name), "e2e");
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s\"}", name, email);
    assert_string_equal(e2e_str(j, "email"), email);
    json_decref(j);
    free(email);
}

/* Unknown keys are ignored (A2), and a client cannot choose the id. */
static void test_users_create_ignores_unknown_keys(void **state)
{
    char name[64];
    json_t *j;
    (void)state;
    e2e_unique(name, sizeof(name), "e2e");
    j = e2e_callf(201, "POST", "/users",
                  "{\"username\":\"%s\",\"email\":\"%s@example.com\",\"role\":\"admin\","
                  "\"id\":987654321,\"created_at\":\"2001-01-01T00:00:00\"}",
                  name, name);
    e2e_assert_user(j);
    assert_true(e2e_int(j, "id") != 987654321);
    assert_null(json_object_get(j, "role"));
    e2e_assert_recent(e2e_str(j, "created_at"));
    json_decref(j);
}

/* ------------------------------------------------------------------------ */
/* Update (PUT and its alias PATCH)                                          */
/* ------------------------------------------------------------------------ */

static void update_username(const char *method)
{
    char path[64], newname[64];
    long long id = e2e_user_new(NULL, 0);
    json_t *before = user_get(id), *j;

    snprintf(path, sizeof(path), "/users/%lld", id);
    e2e_unique(newname, sizeof(newname), "updated_username");
    j = e2e_callf(200, method, path, "{\"username\":\"%s\"}", newname);
    e2e_assert_user(j);
    assert_int_equal(e2e_int(j, "id"), id);
    assert_string_equal(e2e_str(j, "username"), newname);
    assert_string_equal(e2e_str(j, "email"), e2e_str(before, "email"));
    assert_string_equal(e2e_str(j, "created_at"), e2e_str(before, "created_at"));
    json_decref(j);
    j = user_get(id);
    assert_string_equal(e2e_str(j, "username"), newname);
    json_decref(j);
    json_decref(before);
}

static void test_users_put_username_200(void **state)
{
    (void)state;
    update_username("PUT");
}

static void test_users_patch_username_200(void **state)
{
    (void)state;
    update_username("PATCH");
}

static void test_users_put_email_200(void **state)
{
    char name[64], path[64], email[96];
    long long id = e2e_user_new(name, sizeof(name));
    json_t *j;
    (void)state;
    snprintf(path, sizeof(path), "/users/%lld", id);
    snprintf(email, sizeof(email), "new.%s@example.org", name);
    j = e2e_callf(200, "PUT", path, "{\"email\":\"%s\"}", email);
    assert_string_equal(e2e_str(j, "email"), email);
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
}

static void test_users_put_empty_object_is_noop_200(void **state)
{
    long long id = e2e_user_new(NULL, 0);
    char path[64];
    json_t *before = user_get(id), *j;
    (void)state;
    snprintf(path, sizeof(path), "/users/%lld", id);
    j = e2e_call(200, "PUT", path, "{}");
    assert_true(json_equal(j, before));
    json_decref(j);
    j = e2e_call(200, "PATCH", path, "{\"unknown_key\":1}");
    assert_true(json_equal(j, before));
    json_decref(j);
    json_decref(before);
}

/* Re-sending one's own username and email is no conflict. */
static void test_users_put_own_values_200(void **state)
{
    char name[64], path[64];
    long long id = e2e_user_new(name, sizeof(name));
    json_t *j;
    (void)state;
    snprintf(path, sizeof(path), "/users/%lld", id);
    j = e2e_callf(200, "PUT", path, "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name,
                  name);
    assert_string_equal(e2e_str(j, "username"), name);
    json_decref(j);
}

static void conflict_on_update(const char *method)
{
    char a[64], b[64], path[64];
    long long ida = e2e_user_new(a, sizeof(a)), idb = e2e_user_new(b, sizeof(b));
    json_t *before = user_get(idb), *j;
    (void)ida;

    snprintf(path, sizeof(path), "/users/%lld", idb);
    j = e2e_callf(409, method, path, "{\"username\":\"%s\"}", a);
    e2e_assert_error(j, "username");
    json_decref(j);
    j = e2e_callf(409, method, path, "{\"email\":\"%s@example.com\"}", a);
    e2e_assert_error(j, "email");
    json_decref(j);
    assert_user_unchanged(idb, before);
    json_decref(before);
}

static void test_users_put_duplicate_409(void **state)
{
    (void)state;
    conflict_on_update("PUT");
}

static void test_users_patch_duplicate_409(void **state)
{
    (void)state;
    conflict_on_update("PATCH");
}

static void invalid_update(const char *method)
{
    static const char *const bodies[][2] = {
        {"{\"username\":12345}", "username"},
        {"{\"username\":true}", "username"},
        {"{\"username\":null}", "username"},
        {"{\"username\":[]}", "username"},
        {"{\"username\":\"\"}", "username"},
        {"{\"username\":\"   \"}", "username"},
        {"{\"username\":\"has space\"}", "username"},
        {"{\"email\":\"bad\"}", "email"},
        {"{\"email\":12345}", "email"},
        {"{\"email\":null}", "email"},
        {"{\"email\":\"\"}", "email"},
        {"{\"email\":\"a@b\"}", "email"},
    };
    long long id = e2e_user_new(NULL, 0);
    char path[64], *longname = e2e_repeat('x', 151);
    json_t *before = user_get(id);

    snprintf(path, sizeof(path), "/users/%lld", id);
    for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
        e2e_error(422, bodies[i][1], method, path, bodies[i][0]);
    e2e_error_json(422, "username", method, path, json_pack("{s:s}", "username", longname));
    assert_user_unchanged(id, before);
    json_decref(before);
    free(longname);
}

static void test_users_put_invalid_fields_422(void **state)
{
    (void)state;
    invalid_update("PUT");
}

static void test_users_patch_invalid_fields_422(void **state)
{
    (void)state;
    invalid_update("PATCH");
}

/* A missing user is 404 even when the body is bad (A1: existence is checked first). */
static void test_users_put_unknown_404(void **state)
{
    (void)state;
    e2e_error(404, NULL, "PUT", "/users/999999999", "{\"username\":\"nobody_e2e\"}");
    e2e_error(404, NULL, "PATCH", "/users/999999999", "{\"username\":\"nobody_e2e\"}");
    e2e_error(404, NULL, "PUT", "/users/999999999", "[1,2]");
    e2e_error(404, NULL, "PATCH", "/users/999999999", "{\"username\":12345}");
}

/* ------------------------------------------------------------------------ */
/* Delete                                                                    */
/* ------------------------------------------------------------------------ */

static void test_users_delete_204_then_404(void **state)
{
    long long id = e2e_user_new(NULL, 0);
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/users/%lld", id);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    e2e_error(404, NULL, "GET", path, NULL);
    e2e_error(404, NULL, "DELETE", path, NULL);
    e2e_error(404, NULL, "PUT", path, "{\"username\":\"ghost_e2e\"}");
    e2e_error(404, NULL, "DELETE", "/users/999999999", NULL);
}

static void test_users_delete_frees_username_and_email(void **state)
{
    char name[64], path[64];
    long long id = e2e_user_new(name, sizeof(name));
    json_t *j;
    (void)state;
    snprintf(path, sizeof(path), "/users/%lld", id);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    j = e2e_callf(201, "POST", "/users", "{\"username\":\"%s\",\"email\":\"%s@example.com\"}", name,
                  name);
    assert_true(e2e_int(j, "id") != id);
    json_decref(j);
}

/* The user's URLs stay with user_id null; the read model drops the owner (A9). */
static void test_users_delete_keeps_urls_with_null_owner(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    json_t *active = e2e_url_new(uid, NULL), *inactive = e2e_url_new(uid, NULL), *j, *ev;
    char path[64];
    (void)state;

    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(inactive, "id"));
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    snprintf(path, sizeof(path), "/users/%lld", uid);
    assert_null(e2e_call(204, "DELETE", path, NULL));

    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(active, "id"));
    j = e2e_call(200, "GET", path, NULL);
    e2e_assert_null(j, "user_id");
    assert_true(e2e_bool(j, "is_active"));
    assert_string_equal(e2e_str(j, "short_code"), e2e_str(active, "short_code"));
    e2e_assert_link(j); /* uid is now "" */
    json_decref(j);
    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(inactive, "id"));
    j = e2e_call(200, "GET", path, NULL);
    e2e_assert_null(j, "user_id");
    assert_false(e2e_bool(j, "is_active"));
    e2e_assert_no_link(e2e_str(inactive, "short_code"));
    json_decref(j);

    /* The user is gone for the URL filter too (A11). */
    snprintf(path, sizeof(path), "/urls?user_id=%lld", uid);
    e2e_error(404, NULL, "GET", path, NULL);

    /* Their events stay too, without the user id. */
    ev = e2e_events_of(e2e_int(active, "id"));
    assert_int_equal(e2e_count_type(ev, "created"), 1);
    e2e_assert_null(e2e_last_type(ev, "created"), "user_id");
    json_decref(ev);
    json_decref(active);
    json_decref(inactive);
}

int test_users_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_create_201_with_all_fields),
        cmocka_unit_test(test_users_get_returns_created_user),
        cmocka_unit_test(test_users_get_unknown_404),
        cmocka_unit_test(test_users_list_is_ascending_array_with_new_users),
        cmocka_unit_test(test_users_list_page_and_per_page),
        cmocka_unit_test(test_users_list_per_page_capped_at_100),
        cmocka_unit_test(test_users_list_page_beyond_end_empty),
        cmocka_unit_test(test_users_list_pagination_clamped_never_an_error),
        cmocka_unit_test(test_users_create_duplicate_username_409),
        cmocka_unit_test(test_users_create_duplicate_email_409),
        cmocka_unit_test(test_users_create_uniqueness_is_case_sensitive),
        cmocka_unit_test(test_users_create_accepts_json_with_charset),
        cmocka_unit_test(test_users_create_missing_fields_422),
        cmocka_unit_test(test_users_create_username_wrong_types_422),
        cmocka_unit_test(test_users_create_username_empty_or_blank_422),
        cmocka_unit_test(test_users_create_username_151_chars_422),
        cmocka_unit_test(test_users_create_username_150_chars_201),
        cmocka_unit_test(test_users_create_username_bad_characters_422),
        cmocka_unit_test(test_users_create_username_nul_escape_422),
        cmocka_unit_test(test_users_create_email_wrong_types_422),
        cmocka_unit_test(test_users_create_email_malformed_422),
        cmocka_unit_test(test_users_create_email_255_chars_422),
        cmocka_unit_test(test_users_create_email_254_chars_201),
        cmocka_unit_test(test_users_create_ignores_unknown_keys),
        cmocka_unit_test(test_users_put_username_200),
        cmocka_unit_test(test_users_patch_username_200),
        cmocka_unit_test(test_users_put_email_200),
        cmocka_unit_test(test_users_put_empty_object_is_noop_200),
        cmocka_unit_test(test_users_put_own_values_200),
        cmocka_unit_test(test_users_put_duplicate_409),
        cmocka_unit_test(test_users_patch_duplicate_409),
        cmocka_unit_test(test_users_put_invalid_fields_422),
        cmocka_unit_test(test_users_patch_invalid_fields_422),
        cmocka_unit_test(test_users_put_unknown_404),
        cmocka_unit_test(test_users_delete_204_then_404),
        cmocka_unit_test(test_users_delete_frees_username_and_email),
        cmocka_unit_test(test_users_delete_keeps_urls_with_null_owner),
    };
    return cmocka_run_group_tests_name("users", tests, NULL, NULL);
}
