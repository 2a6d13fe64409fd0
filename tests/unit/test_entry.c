/*
 * test_entry.c - click stream entries turned into rows (event-worker/entry.c).
 * The field lists are hiredis reply structs built by hand, as XREADGROUP returns them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "../../event-worker/entry.h"
#include "../../event-worker/sink_pg.h"

#define MAX_FIELDS 2060

/* A field list of up to MAX_FIELDS/2 name/value pairs, owning copies of the strings. */
struct fields {
    redisReply list;
    redisReply items[MAX_FIELDS];
    redisReply *ptrs[MAX_FIELDS];
    char text[MAX_FIELDS][160];
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

/* Parses one entry into fresh arrays; the output is static so that the rows outlive the call. */
static struct sink_pg_row rows[1100];
static struct entry_bad bad[1100];
static struct entry_out out;

static enum entry_kind parse(unsigned shard, const char *id, redisReply *f)
{
    memset(&out, 0, sizeof(out));
    out.rows = rows;
    out.bad = bad;
    return entry_parse(shard, id, f, &out);
}

static const char *const good[] = {
    "id",  "42", "uid", "7",   "code", "abc123", "url", "https://e.com/x", "ts", "1763900000000",
    "ref", "",   "ua",  "curl"};

static void test_entry_parses_a_click(void **state)
{
    static struct fields f;
    (void)state;
    fields_set(&f, good, sizeof(good) / sizeof(good[0]));
    assert_int_equal(entry_clicks(&f.list), 1);
    assert_int_equal(parse(3, "1763900000000-5", &f.list), ENTRY_ROW);
    assert_int_equal(out.nrows, 1);
    assert_int_equal(out.nbad, 0);
    const struct sink_pg_row row = rows[0];
    assert_string_equal(row.url_id, "42");
    assert_string_equal(row.user_id, "7");
    assert_string_equal(row.ts_ms, "1763900000000");
    assert_string_equal(row.code, "abc123");
    assert_string_equal(row.url, "https://e.com/x");
    assert_string_equal(row.ref, "");
    assert_string_equal(row.ua, "curl");
    assert_string_equal(row.stream_id, "3:1763900000000-5");
    assert_int_equal(row.shard, 3);
    assert_int_equal(row.ms, 1763900000000ULL);
    assert_int_equal(row.seq, 5);
    assert_int_equal(row.idx, 0);
}

static void test_entry_empty_uid_is_no_owner(void **state)
{
    static struct fields f;
    const char *kv[sizeof(good) / sizeof(good[0])];
    (void)state;
    memcpy(kv, good, sizeof(kv));
    kv[3] = "";
    fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
    assert_int_equal(parse(0, "1-0", &f.list), ENTRY_ROW);
    assert_null(rows[0].user_id);
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
        static struct fields f;
        const char *kv[sizeof(good) / sizeof(good[0])];
        memcpy(kv, good, sizeof(kv));
        kv[cases[i].field] = cases[i].value;
        fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
        assert_int_equal(parse(0, "1-0", &f.list), ENTRY_POISON);
        assert_int_equal(out.nrows, 0);
        assert_int_equal(out.nbad, 1);
        assert_true(bad[0].idx == ENTRY_WHOLE);
        assert_string_equal(bad[0].why, cases[i].why);
    }
}

static void test_entry_odd_list_and_gone(void **state)
{
    static struct fields f;
    (void)state;
    fields_set(&f, good, 3);
    assert_int_equal(entry_clicks(&f.list), 1);
    assert_int_equal(parse(0, "1-0", &f.list), ENTRY_POISON);
    assert_string_equal(bad[0].why, "odd field list");
    assert_int_equal(entry_clicks(NULL), 0);
    assert_int_equal(parse(0, "1-0", NULL), ENTRY_GONE);
    assert_int_equal(out.nrows + out.nbad, 0);
}

static void test_entry_cleans_text_to_utf8(void **state)
{
    static struct fields f;
    const char *kv[sizeof(good) / sizeof(good[0])];
    (void)state;
    memcpy(kv, good, sizeof(kv));
    kv[13] = "Mozilla \xff\xfe ok"; /* Latin-1 bytes from a client's header */
    fields_set(&f, kv, sizeof(good) / sizeof(good[0]));
    assert_int_equal(parse(0, "1-0", &f.list), ENTRY_ROW);
    assert_string_equal(rows[0].ua, "Mozilla ?? ok");
}

/* A packed click of shared/clickstream.h: the 8 values joined by 0x1F. */
static void pack(char *dst, size_t cap, const char *id, const char *uid, const char *code,
                 const char *url, const char *ts, const char *ref, const char *ua, const char *ip)
{
    snprintf(dst, cap, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", id, uid, code, url, ts, ref,
             ua, ip);
}

static void test_entry_batch_of_three(void **state)
{
    static struct fields f;
    char c0[160], c1[160], c2[160];
    (void)state;
    pack(c0, sizeof(c0), "10", "", "a", "https://a.example/", "1763900000000", "", "curl", "");
    pack(c1, sizeof(c1), "11", "7", "b", "https://b.example/", "1763900000001",
         "https://r.example/", "ua \xff", "192.0.2.1");
    pack(c2, sizeof(c2), "12", "", "c", "https://c.example/", "1763900000002", "", "x", "");
    /* "b" after the clicks, and the clicks out of order: the names count, not the places. */
    const char *kv[] = {"2", c2, "0", c0, "1", c1, "b", "3"};
    fields_set(&f, kv, 8);
    assert_int_equal(entry_clicks(&f.list), 3);
    assert_int_equal(parse(4, "1763900000000-9", &f.list), ENTRY_ROW);
    assert_int_equal(out.nrows, 3);
    assert_int_equal(out.nbad, 0);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(rows[i].idx, i);
        assert_int_equal(rows[i].shard, 4);
        assert_int_equal(rows[i].seq, 9);
    }
    assert_string_equal(rows[0].url_id, "10");
    assert_null(rows[0].user_id);
    assert_null(rows[0].ip);
    assert_string_equal(rows[0].ref, "");
    assert_string_equal(rows[0].ua, "curl");
    assert_string_equal(rows[1].user_id, "7");
    assert_string_equal(rows[1].code, "b");
    assert_string_equal(rows[1].url, "https://b.example/");
    assert_string_equal(rows[1].ts_ms, "1763900000001");
    assert_string_equal(rows[1].ref, "https://r.example/");
    assert_string_equal(rows[1].ua, "ua ?");
    assert_string_equal(rows[1].ip, "192.0.2.1");
    assert_string_equal(rows[2].stream_id, "4:1763900000000-9/2");
}

static void test_entry_batch_poison_click_alone(void **state)
{
    static const struct {
        const char *click, *why;
    } cases[] = {
        {"10\x1f\x1f"
         "a\x1fu\x1fsoon\x1f\x1fua\x1f",
         "bad timestamp"},
        {"x\x1f\x1f"
         "a\x1fu\x1f"
         "1\x1f\x1fua\x1f",
         "no numeric url id"},
        {"10\x1fme\x1f"
         "a\x1fu\x1f"
         "1\x1f\x1fua\x1f",
         "user id is not a number"},
        {"10\x1f\x1f"
         "a\x1fu\x1f"
         "1\x1f\x1fua", /* 7 values */
         "packed click has not 8 values"},
        {"10\x1f\x1f"
         "a\x1fu\x1f"
         "1\x1f\x1fua\x1f\x1f", /* 9 values */
         "packed click has not 8 values"},
    };
    char good0[160];
    (void)state;
    pack(good0, sizeof(good0), "10", "", "a", "u", "1763900000000", "", "ua", "");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static struct fields f;
        const char *kv[] = {"b", "3", "0", good0, "1", cases[i].click, "2", good0};
        fields_set(&f, kv, 8);
        assert_int_equal(parse(0, "5-0", &f.list), ENTRY_ROW);
        assert_int_equal(out.nrows, 2);
        assert_int_equal(out.nbad, 1);
        assert_int_equal(rows[0].idx, 0);
        assert_int_equal(rows[1].idx, 2);
        assert_int_equal(bad[0].idx, 1);
        assert_string_equal(bad[0].why, cases[i].why);
        /* The poison click is left as it came, separators and all, for the dead letter. */
        assert_non_null(bad[0].raw);
        assert_memory_equal(bad[0].raw->str, cases[i].click, strlen(cases[i].click));
    }
}

static void test_entry_batch_broken_is_poison(void **state)
{
    static const struct {
        const char *kv[8];
        size_t n;
        const char *why;
    } cases[] = {
        {{"b", "0"}, 2, "bad click count"},
        {{"b", "x", "0", "c"}, 4, "bad click count"},
        {{"b", "1025", "0", "c"}, 4, "bad click count"},
        {{"b", "-1", "0", "c"}, 4, "bad click count"},
        {{"b", "3", "0", "c", "1", "c"}, 6, "a packed click is missing"},
        {{"b", "2", "0", "c", "0", "c", "1", "c"}, 8, "a packed click is doubled"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static struct fields f;
        fields_set(&f, cases[i].kv, cases[i].n);
        assert_int_equal(parse(0, "5-0", &f.list), ENTRY_POISON);
        assert_int_equal(out.nrows, 0);
        assert_int_equal(out.nbad, 1);
        assert_true(bad[0].idx == ENTRY_WHOLE);
        assert_string_equal(bad[0].why, cases[i].why);
    }
    static struct fields f;
    const char *kv[] = {"b", "1", "0",
                        "1\x1f\x1f"
                        "c\x1fu\x1f"
                        "1\x1f\x1fua\x1f"};
    fields_set(&f, kv, 4);
    assert_int_equal(parse(0, "not-an-id", &f.list), ENTRY_ROW);
    assert_int_equal(out.nbad, 1);
    assert_string_equal(bad[0].why, "bad entry id");
}

static void test_entry_batch_of_the_maximum(void **state)
{
    static struct fields f;
    static const char *kv[2 + 2 * 1024];
    static char names[1024][8], clicks[1024][64];
    (void)state;
    kv[0] = "b";
    kv[1] = "1024";
    for (int i = 0; i < 1024; i++) {
        snprintf(names[i], sizeof(names[i]), "%d", i);
        pack(clicks[i], sizeof(clicks[i]), "1", "", "c", "u", "1763900000000", "", "ua", "");
        kv[2 + 2 * i] = names[i];
        kv[3 + 2 * i] = clicks[i];
    }
    fields_set(&f, kv, 2 + 2 * 1024);
    assert_int_equal(entry_clicks(&f.list), 1024);
    assert_int_equal(parse(0, "5-0", &f.list), ENTRY_ROW);
    assert_int_equal(out.nrows, 1024);
    assert_int_equal(rows[1023].idx, 1023);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_parses_a_click),
        cmocka_unit_test(test_entry_empty_uid_is_no_owner),
        cmocka_unit_test(test_entry_refuses_poison),
        cmocka_unit_test(test_entry_odd_list_and_gone),
        cmocka_unit_test(test_entry_cleans_text_to_utf8),
        cmocka_unit_test(test_entry_batch_of_three),
        cmocka_unit_test(test_entry_batch_poison_click_alone),
        cmocka_unit_test(test_entry_batch_broken_is_poison),
        cmocka_unit_test(test_entry_batch_of_the_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
