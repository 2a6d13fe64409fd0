/*
 * test_entry.c - click stream entries turned into rows (event-worker/entry.c).
 * The field lists are hiredis reply structs built by hand, as XREADGROUP returns them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "../../event-worker/entry.h"
#include "../../event-worker/sink_pg.h"

#define MAX_FIELDS 16

/* A field list of up to MAX_FIELDS/2 name/value pairs, owning copies of the strings. */
struct fields {
    redisReply list;
    redisReply items[MAX_FIELDS];
    redisReply *ptrs[MAX_FIELDS];
    char text[MAX_FIELDS][96];
};

static void fields_set(struct fields *f, const char *const *kv, size_t n)
{
    memset(f, 0, sizeof(*f));
    f->list.type = REDIS_REPLY_ARRAY;
    f->list.elements = n;
    f->list.element = f->ptrs;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(kv[i]);
        memcpy(f->text[i], kv[i], len + 1);
        f->items[i].type = REDIS_REPLY_STRING;
        f->items[i].str = f->text[i];
        f->items[i].len = len;
        f->ptrs[i] = &f->items[i];
    }
}

static const char *const good[] = {
    "id",  "42", "uid", "7",   "code", "abc123", "url", "https://e.com/x", "ts", "1763900000000",
    "ref", "",   "ua",  "curl"};

static void test_entry_parses_a_click(void **state)
{
    struct fields f;
    struct sink_pg_row row;
    const char *why;
    (void)state;
    fields_set(&f, good, sizeof(good) / sizeof(good[0]));
    assert_int_equal(entry_parse(3, "1763900000000-5", &f.list, &row, &why), ENTRY_ROW);
    assert_null(why);
    assert_string_equal(row.url_id, "42");
    assert_string_equal(row.user_id, "7");
    assert_string_equal(row.ts_ms, "1763900000000");
    assert_string_equal(row.code, "abc123");
    assert_string_equal(row.url, "https://e.com/x");
    assert_string_equal(row.ref, "");
    assert_string_equal(row.ua, "curl");
    assert_string_equal(row.stream_id, "3:1763900000000-5");
}

static void test_entry_empty_uid_is_no_owner(void **state)
{
    struct fields f;
    struct sink_pg_row row;
    const char *why, *kv[sizeof(good) / sizeof(good[0])];
    (void)state;
    memcpy(kv, good, sizeof(kv));
    kv[3] = "";
    fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
    assert_int_equal(entry_parse(0, "1-0", &f.list, &row, &why), ENTRY_ROW);
    assert_null(row.user_id);
}

static void test_entry_refuses_poison(void **state)
{
    static const struct {
        size_t field; /* index of the value to replace */
        const char *value;
        const char *why;
    } cases[] = {
        {1, "abc", "no numeric url id"},
        {1, "-1", "no numeric url id"},
        {1, "", "no numeric url id"},
        {3, "x7", "user id is not a number"},
        {9, "99999999999999999", "bad timestamp"},
        {9, "soon", "bad timestamp"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fields f;
        struct sink_pg_row row;
        const char *why, *kv[sizeof(good) / sizeof(good[0])];
        memcpy(kv, good, sizeof(kv));
        kv[cases[i].field] = cases[i].value;
        fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
        assert_int_equal(entry_parse(0, "1-0", &f.list, &row, &why), ENTRY_POISON);
        assert_string_equal(why, cases[i].why);
    }
}

static void test_entry_odd_list_and_gone(void **state)
{
    struct fields f;
    struct sink_pg_row row;
    const char *why;
    (void)state;
    fields_set(&f, good, 3);
    assert_int_equal(entry_parse(0, "1-0", &f.list, &row, &why), ENTRY_POISON);
    assert_string_equal(why, "odd field list");
    assert_int_equal(entry_parse(0, "1-0", NULL, &row, &why), ENTRY_GONE);
}

static void test_entry_cleans_text_to_utf8(void **state)
{
    struct fields f;
    struct sink_pg_row row;
    const char *why, *kv[sizeof(good) / sizeof(good[0])];
    (void)state;
    memcpy(kv, good, sizeof(kv));
    kv[13] = "Mozilla \xff\xfe ok"; /* Latin-1 bytes from a client's header */
    fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
    assert_int_equal(entry_parse(0, "1-0", &f.list, &row, &why), ENTRY_ROW);
    assert_string_equal(row.ua, "Mozilla ?? ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_parses_a_click),
        cmocka_unit_test(test_entry_empty_uid_is_no_owner),
        cmocka_unit_test(test_entry_refuses_poison),
        cmocka_unit_test(test_entry_odd_list_and_gone),
        cmocka_unit_test(test_entry_cleans_text_to_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
