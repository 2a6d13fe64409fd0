/*
 * test_rollup.c - a part's clicks summed into rollup rows in the worker (event-worker/rollup.c):
 * the same sums as the per-click SQL, one row per key, in key order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../event-worker/rollup.h"
#include "../../event-worker/sink_pg.h"
#include "err.h"

/* A click of link id at ts_ms, with the derived fields given ("" = absent, dev NULL = none). */
static void click(struct sink_pg_row *r, const char *id, const char *ts, const char *rhost,
                  const char *browser, const char *dev, int bot, const char *country)
{
    memset(r, 0, sizeof(*r));
    r->url_id = id;
    r->ts_ms = ts;
    snprintf(r->refhost, sizeof(r->refhost), "%s", rhost);
    snprintf(r->browser, sizeof(r->browser), "%s", browser);
    r->device = dev;
    r->bot = bot;
    snprintf(r->country, sizeof(r->country), "%s", country);
}

/* The row of (grain, url, dim, bucket, name), or NULL; asserts it is there at most once. */
static const struct rollup_row *find(const struct rollup *r, char grain, int64_t url, char dim,
                                     int64_t bucket, const char *name)
{
    const struct rollup_row *hit = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const struct rollup_row *x = &r->rows[i];
        if (x->grain != grain || x->url_id != url)
            continue;
        if (grain != 't' && (x->dim != dim || x->bucket != bucket || strcmp(x->name, name) != 0))
            continue;
        assert_null(hit);
        hit = x;
    }
    return hit;
}

static void test_rollup_sums_like_the_sql(void **state)
{
    struct sink_pg_row c[5];
    struct rollup r;
    (void)state;
    /* 1700000000000 = 2023-11-14 22:13:20 UTC; +3 600 000 is the next hour, same day. */
    click(&c[0], "7", "1700000000000", "t.co", "Chrome", "desktop", 0, "DE");
    click(&c[1], "7", "1700000001000", "t.co", "Chrome", "desktop", 0, "");
    click(&c[2], "7", "1700003600000", "", "Googlebot", "bot", 1, "US");
    click(&c[3], "9", "1700000000000", "", "", NULL, 0, ""); /* not derived */
    click(&c[4], "7", "1699999999999", "t.co", "", "mobile", 0, "");
    assert_int_equal(rollup_build(c, 5, &r), 0);

    const struct rollup_row *t = find(&r, 't', 7, 0, 0, NULL);
    assert_non_null(t);
    assert_int_equal(t->clicks, 4);
    assert_int_equal(t->human, 3);
    assert_int_equal(t->bot, 1);
    assert_int_equal(t->bucket, 1700003600000LL); /* the latest */
    t = find(&r, 't', 9, 0, 0, NULL);
    assert_int_equal(t->clicks, 1);
    assert_int_equal(t->human + t->bot, 0); /* no device: neither, as count(*) FILTER */

    int64_t h0 = 1699999200000LL, h1 = 1700002800000LL, d0 = 1699920000000LL;
    assert_int_equal(find(&r, 'h', 7, 'k', h0, "human")->clicks, 3);
    assert_int_equal(find(&r, 'h', 7, 'k', h1, "bot")->clicks, 1);
    assert_int_equal(find(&r, 'd', 7, 'k', d0, "human")->clicks, 3);
    assert_int_equal(find(&r, 'd', 7, 'k', d0, "bot")->clicks, 1);
    assert_int_equal(find(&r, 'h', 7, 'r', h0, "t.co")->clicks, 3);
    assert_int_equal(find(&r, 'h', 7, 'b', h0, "Chrome")->clicks, 2);
    assert_int_equal(find(&r, 'h', 7, 'd', h0, "mobile")->clicks, 1);
    assert_int_equal(find(&r, 'h', 7, 'c', h0, "DE")->clicks, 1);
    assert_int_equal(find(&r, 'd', 7, 'c', d0, "US")->clicks, 1);
    assert_int_equal(find(&r, 'h', 9, 'k', h0, "human")->clicks, 1); /* NULL bot: human */
    assert_null(find(&r, 'h', 9, 'd', h0, ""));                      /* absent: no row */
    assert_null(find(&r, 'h', 7, 'b', h0, ""));

    int64_t sum = 0;
    for (size_t i = 0; i < r.n; i++)
        if (r.rows[i].grain == 'h' && r.rows[i].dim == 'k')
            sum += r.rows[i].clicks;
    assert_int_equal(sum, 5); /* every click once in the kind rows */
    rollup_release(&r);
    assert_int_equal(r.n, 0);
}

static void test_rollup_key_order(void **state)
{
    struct sink_pg_row c[4];
    struct rollup r;
    (void)state;
    click(&c[0], "20", "1700000000000", "b.example", "", NULL, 0, "");
    click(&c[1], "3", "1700000000000", "a.example", "", NULL, 0, "");
    click(&c[2], "20", "1700000000000", "B.example", "", NULL, 0, "");
    click(&c[3], "20", "1600000000000", "b.example", "", NULL, 0, "");
    assert_int_equal(rollup_build(c, 4, &r), 0);
    for (size_t i = 1; i < r.n; i++) {
        const struct rollup_row *a = &r.rows[i - 1], *b = &r.rows[i];
        if (a->grain != b->grain)
            continue;
        assert_true(a->url_id <= b->url_id);
        if (a->url_id == b->url_id && a->grain != 't') {
            assert_true(a->dim <= b->dim);
            if (a->dim == b->dim)
                assert_true(a->bucket < b->bucket ||
                            (a->bucket == b->bucket && strcmp(a->name, b->name) < 0));
        }
    }
    rollup_release(&r);
}

static void test_rollup_many_links_and_bad_input(void **state)
{
    enum { N = 5000 };
    static struct sink_pg_row c[N];
    static char ids[N][12];
    struct rollup r;
    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "%d", i % 1000);
        click(&c[i], ids[i], "1700000000000", "", "", "desktop", i % 2, "");
    }
    assert_int_equal(rollup_build(c, N, &r), 0);
    size_t totals = 0;
    for (size_t i = 0; i < r.n; i++) {
        totals += r.rows[i].grain == 't';
        if (r.rows[i].grain == 't')
            assert_int_equal(r.rows[i].clicks, 5);
    }
    assert_int_equal(totals, 1000);
    rollup_release(&r);

    c[7].ts_ms = "12x";
    assert_int_equal(rollup_build(c, N, &r), ERR_INVALID);
    assert_int_equal(r.n, 0);
    assert_null(r.rows);
    assert_int_equal(rollup_build(c, 0, &r), 0);
    assert_int_equal(r.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollup_sums_like_the_sql),
        cmocka_unit_test(test_rollup_key_order),
        cmocka_unit_test(test_rollup_many_links_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
