/*
 * test_seeded.c - E2E_MODE=seeded: the store holds exactly the seed CSV files (loaded by
 * scripts/seed.sh) and write-svc has rebuilt the read model. These tests run first, before
 * any other test adds rows: every user, URL and event must read back as in the CSV files,
 * the filters must select what the files say, the read model must hold exactly the active
 * links, a bulk upload of users.csv must change nothing, and new ids must continue after
 * the seed's largest ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "csv.h"
#include "e2e_util.h"
#include "rkeys.h"
#include "shortcode.h"

#include "banned.h"

/* The seed files as arrays of objects of strings keyed by the header names. */
static json_t *seed_users, *seed_urls, *seed_events;

/* Reads <seed dir>/<name> into an array of objects (new reference). */
static json_t *seed_load(const char *name)
{
    char path[512];
    size_t len;
    char *data;
    struct csv c;
    struct csv_record rec;
    json_t *header = json_array(), *rows = json_array();
    int rc;

    snprintf(path, sizeof(path), "%s/%s", e2e_seed_dir(), name);
    data = e2e_read_file(path, &len);
    csv_init(&c, data, len);
    assert_int_equal(csv_next(&c, &rec), 1);
    for (size_t i = 0; i < rec.nfields; i++)
        json_array_append_new(header, json_stringn(rec.fields[i], rec.lens[i]));
    while ((rc = csv_next(&c, &rec)) == 1) {
        json_t *row = json_object();
        for (size_t i = 0; i < rec.nfields && i < json_array_size(header); i++)
            json_object_set_new(row, json_string_value(json_array_get(header, i)),
                                json_stringn(rec.fields[i], rec.lens[i]));
        json_array_append_new(rows, row);
    }
    assert_int_equal(rc, 0);
    csv_release(&c);
    free(data);
    json_decref(header);
    return rows;
}

static int seed_setup(void **state)
{
    (void)state;
    seed_users = seed_load("users.csv");
    seed_urls = seed_load("urls.csv");
    seed_events = seed_load("events.csv");
    return 0;
}

static int seed_teardown(void **state)
{
    (void)state;
    json_decref(seed_users);
    json_decref(seed_urls);
    json_decref(seed_events);
    return 0;
}

/* Field of a seed row (borrowed). */
static const char *cell(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));

    assert_non_null(s);
    return s;
}

/* "YYYY-MM-DD HH:MM:SS" -> "YYYY-MM-DDTHH:MM:SS" into out. */
static const char *iso(const char *seed_ts, char out[32])
{
    snprintf(out, 32, "%s", seed_ts);
    if (strlen(out) > 10 && out[10] == ' ')
        out[10] = 'T';
    return out;
}

/* Asserts api[key] is the integer in the seed cell, or null when the cell is empty. */
static void assert_ref(const json_t *api, const char *key, const char *cellv)
{
    if (!*cellv)
        e2e_assert_null(api, key);
    else
        assert_int_equal(e2e_int(api, key), strtoll(cellv, NULL, 10));
}

static long long max_id(const json_t *rows)
{
    size_t i;
    json_t *r;
    long long m = 0, id;

    json_array_foreach(rows, i, r)
    {
        id = strtoll(cell(r, "id"), NULL, 10);
        if (id > m)
            m = id;
    }
    return m;
}

/* Ids of the seed rows where key == value (or is_active is true/false), as a JSON array. */
static json_t *seed_ids_where(const json_t *rows, const char *key, const char *value)
{
    json_t *ids = json_array(), *r;
    size_t i;

    json_array_foreach(rows, i, r)
    {
        if (strcasecmp(cell(r, key), value) == 0)
            json_array_append_new(ids, json_integer(strtoll(cell(r, "id"), NULL, 10)));
    }
    return ids;
}

/* Asserts GET path lists exactly the ids in want (ascending). */
static void assert_ids(const char *path, const json_t *want)
{
    json_t *j = e2e_call(200, "GET", path, NULL);
    size_t i, n = json_array_size(want);

    if (e2e_len(j) != n) {
        print_error("GET %s: %zu rows, the seed has %zu\n", path, e2e_len(j), n);
        fail();
    }
    for (i = 0; i < n; i++)
        assert_int_equal(e2e_int(json_array_get(j, i), "id"),
                         json_integer_value(json_array_get(want, i)));
    json_decref(j);
}

/* ------------------------------------------------------------------------ */
/* The store equals the seed                                                 */
/* ------------------------------------------------------------------------ */

static void test_seeded_row_counts(void **state)
{
    json_t *j;
    (void)state;
    assert_int_equal(json_array_size(seed_users), 400);
    assert_int_equal(json_array_size(seed_urls), 2000);
    assert_int_equal(json_array_size(seed_events), 3422);
    j = e2e_call(200, "GET", "/users", NULL);
    assert_int_equal(e2e_len(j), 400);
    json_decref(j);
    j = e2e_call(200, "GET", "/urls", NULL);
    assert_int_equal(e2e_len(j), 2000);
    json_decref(j);
    j = e2e_call(200, "GET", "/events", NULL);
    assert_int_equal(e2e_len(j), 3422);
    json_decref(j);
}

static void test_seeded_user_1_is_briskkernel84(void **state)
{
    json_t *u;
    (void)state;
    u = e2e_call(200, "GET", "/users/1", NULL);
    assert_int_equal(e2e_int(u, "id"), 1);
    assert_string_equal(e2e_str(u, "username"), "briskkernel84");
    assert_string_equal(e2e_str(u, "email"), "briskkernel84@example.com");
    assert_string_equal(e2e_str(u, "created_at"), "2024-11-14T04:11:00");
    json_decref(u);
}

static void test_seeded_url_1_is_WqxP6K(void **state)
{
    json_t *u;
    (void)state;
    u = e2e_call(200, "GET", "/urls/1", NULL);
    assert_string_equal(e2e_str(u, "short_code"), "WqxP6K");
    assert_int_equal(e2e_int(u, "user_id"), 1);
    assert_string_equal(e2e_str(u, "original_url"), "https://seeded.app/gold/meadow/1");
    assert_string_equal(e2e_str(u, "title"), "Service guide orbit");
    assert_true(e2e_bool(u, "is_active"));
    assert_string_equal(e2e_str(u, "created_at"), "2025-06-22T20:54:35");
    assert_string_equal(e2e_str(u, "updated_at"), "2025-07-05T18:21:21");
    json_decref(u);
}

static void test_seeded_users_match_csv(void **state)
{
    json_t *all = e2e_call(200, "GET", "/users", NULL), *r, *u;
    char ts[32];
    size_t i;
    (void)state;
    e2e_assert_ascending(all);
    json_array_foreach(seed_users, i, r)
    {
        u = e2e_find_id(all, strtoll(cell(r, "id"), NULL, 10));
        assert_non_null(u);
        e2e_assert_user(u);
        assert_string_equal(e2e_str(u, "username"), cell(r, "username"));
        assert_string_equal(e2e_str(u, "email"), cell(r, "email"));
        assert_string_equal(e2e_str(u, "created_at"), iso(cell(r, "created_at"), ts));
    }
    json_decref(all);
}

static void test_seeded_urls_match_csv(void **state)
{
    json_t *all = e2e_call(200, "GET", "/urls", NULL), *r, *u;
    char ts[32];
    size_t i;
    (void)state;
    e2e_assert_ascending(all);
    json_array_foreach(seed_urls, i, r)
    {
        u = e2e_find_id(all, strtoll(cell(r, "id"), NULL, 10));
        assert_non_null(u);
        e2e_assert_url(u);
        assert_ref(u, "user_id", cell(r, "user_id"));
        assert_string_equal(e2e_str(u, "short_code"), cell(r, "short_code"));
        assert_string_equal(e2e_str(u, "original_url"), cell(r, "original_url"));
        if (*cell(r, "title"))
            assert_string_equal(e2e_str(u, "title"), cell(r, "title"));
        else
            e2e_assert_null(u, "title");
        assert_int_equal(e2e_bool(u, "is_active"), strcasecmp(cell(r, "is_active"), "true") == 0);
        assert_string_equal(e2e_str(u, "created_at"), iso(cell(r, "created_at"), ts));
        assert_string_equal(e2e_str(u, "updated_at"), iso(cell(r, "updated_at"), ts));
    }
    json_decref(all);
}

static void test_seeded_events_match_csv(void **state)
{
    json_t *all = e2e_call(200, "GET", "/events", NULL), *r, *e, *d;
    char ts[32];
    size_t i;
    (void)state;
    e2e_assert_ascending(all);
    json_array_foreach(seed_events, i, r)
    {
        e = e2e_find_id(all, strtoll(cell(r, "id"), NULL, 10));
        assert_non_null(e);
        e2e_assert_event(e);
        assert_ref(e, "url_id", cell(r, "url_id"));
        assert_ref(e, "user_id", cell(r, "user_id"));
        assert_string_equal(e2e_str(e, "event_type"), cell(r, "event_type"));
        assert_string_equal(e2e_str(e, "timestamp"), iso(cell(r, "timestamp"), ts));
        d = json_loads(cell(r, "details"), 0, NULL);
        if (json_is_object(d) && !json_equal(d, e2e_get(e, "details"))) {
            print_error("event %s: details differ from the seed\n", cell(r, "id"));
            fail();
        }
        json_decref(d);
    }
    json_decref(all);
}

/* ------------------------------------------------------------------------ */
/* Filters on the seed                                                       */
/* ------------------------------------------------------------------------ */

static void test_seeded_urls_filter_user_1(void **state)
{
    json_t *want = seed_ids_where(seed_urls, "user_id", "1");
    (void)state;
    assert_true(json_array_size(want) > 0);
    assert_ids("/urls?user_id=1", want);
    json_decref(want);
}

static void test_seeded_urls_filter_is_active(void **state)
{
    json_t *on = seed_ids_where(seed_urls, "is_active", "true"),
           *off = seed_ids_where(seed_urls, "is_active", "false");
    (void)state;
    assert_int_equal(json_array_size(on) + json_array_size(off), 2000);
    assert_ids("/urls?is_active=true", on);
    assert_ids("/urls?is_active=false", off);
    json_decref(on);
    json_decref(off);
}

static void test_seeded_events_filters(void **state)
{
    static const char *const types[] = {"created", "updated", "deleted"};
    static const size_t counts[] = {2000, 1206, 216};
    char path[64];
    json_t *want;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        want = seed_ids_where(seed_events, "event_type", types[i]);
        assert_int_equal(json_array_size(want), counts[i]);
        snprintf(path, sizeof(path), "/events?event_type=%s", types[i]);
        assert_ids(path, want);
        json_decref(want);
    }
    want = seed_ids_where(seed_events, "url_id", "1");
    assert_ids("/events?url_id=1", want);
    assert_ids("/urls/1/events", want);
    json_decref(want);
    want = seed_ids_where(seed_events, "user_id", "1");
    assert_ids("/events?user_id=1", want);
    json_decref(want);
    want = json_array();
    assert_ids("/events?event_type=click", want);
    json_decref(want);
}

static void test_seeded_pagination(void **state)
{
    json_t *all = e2e_call(200, "GET", "/users", NULL), *j;
    size_t i;
    (void)state;
    j = e2e_call(200, "GET", "/users?page=2&per_page=10", NULL);
    assert_int_equal(e2e_len(j), 10);
    for (i = 0; i < 10; i++)
        assert_true(json_equal(json_array_get(j, i), json_array_get(all, 10 + i)));
    json_decref(j);
    j = e2e_call(200, "GET", "/users?page=4&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 100);
    assert_true(json_equal(json_array_get(j, 99), json_array_get(all, 399)));
    json_decref(j);
    j = e2e_call(200, "GET", "/users?page=5&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
    j = e2e_call(200, "GET", "/events?page=35&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 22);
    json_decref(j);
    j = e2e_call(200, "GET", "/urls?page=20&per_page=100", NULL);
    assert_int_equal(e2e_len(j), 100);
    json_decref(j);
    json_decref(all);
}

static void test_seeded_stats_of_url_1(void **state)
{
    json_t *want = seed_ids_where(seed_events, "url_id", "1"), *s;
    (void)state;
    s = e2e_call(200, "GET", "/urls/1/stats", NULL);
    assert_int_equal(e2e_int(s, "id"), 1);
    assert_string_equal(e2e_str(s, "short_code"), "WqxP6K");
    assert_int_equal(e2e_int(s, "total_events"), (long long)json_array_size(want));
    assert_int_equal(e2e_int(s, "total_clicks"), 0);
    json_decref(s);
    json_decref(want);
}

/* ------------------------------------------------------------------------ */
/* Read model                                                                */
/* ------------------------------------------------------------------------ */

/* After the rebuild the model holds exactly the active seed links (no stale ones). */
static void test_seeded_readmodel_holds_exactly_active_links(void **state)
{
    json_t *on = seed_ids_where(seed_urls, "is_active", "true"), *all, *u;
    size_t i;
    (void)state;
    assert_int_equal(e2e_redis_exists(RKEYS_MARKER), 1);
    assert_int_equal(e2e_redis_count("url:*"), (long)json_array_size(on));
    all = e2e_call(200, "GET", "/urls", NULL);
    json_array_foreach(all, i, u)
    {
        if (e2e_bool(u, "is_active"))
            e2e_assert_link(u);
        else
            e2e_assert_no_link(e2e_str(u, "short_code"));
    }
    json_decref(all);
    json_decref(on);
}

/* ------------------------------------------------------------------------ */
/* Writes on top of the seed                                                 */
/* ------------------------------------------------------------------------ */

/* The seed users.csv again: {"imported":400,"count":400} and nothing changes. */
static void test_seeded_bulk_seed_users_csv_changes_nothing(void **state)
{
    char path[512], *csv, *body;
    size_t csv_len, len;
    json_t *before = e2e_call(200, "GET", "/users", NULL), *after;
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=seedB0undary", NULL};
    struct httpc_req req = {.method = "POST", .path = "/users/bulk", .headers = headers};
    struct e2e_resp r;
    (void)state;

    snprintf(path, sizeof(path), "%s/users.csv", e2e_seed_dir());
    csv = e2e_read_file(path, &csv_len);
    body = e2e_multipart("seedB0undary", "file", "users.csv", csv, csv_len, &len);
    req.body = body;
    req.body_len = len;
    e2e_send(&req, &r);
    e2e_check(&r, r.status == 200 ? 200 : 201, "POST /users/bulk (seed users.csv)");
    assert_int_equal(e2e_int(r.json, "imported"), 400);
    assert_int_equal(e2e_int(r.json, "count"), 400);
    e2e_resp_release(&r);
    free(body);
    free(csv);
    after = e2e_call(200, "GET", "/users", NULL);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
}

/* New rows continue after the seed's largest ids. */
static void test_seeded_new_ids_continue_after_seed(void **state)
{
    json_t *url, *ev;
    long long uid;
    (void)state;
    uid = e2e_user_new(NULL, 0);
    assert_int_equal(uid, max_id(seed_users) + 1);
    url = e2e_url_new(uid, NULL);
    assert_int_equal(e2e_int(url, "id"), max_id(seed_urls) + 1);
    ev = e2e_events_of(e2e_int(url, "id"));
    assert_int_equal(e2e_len(ev), 1);
    assert_int_equal(e2e_int(json_array_get(ev, 0), "id"), max_id(seed_events) + 1);
    json_decref(ev);
    json_decref(url);
}

/* Writes to a seed URL keep the model in step: deactivate, reactivate, re-point. */
static void test_seeded_seed_url_update_keeps_readmodel(void **state)
{
    json_t *on = seed_ids_where(seed_urls, "is_active", "true"), *u, *j;
    long long id = json_integer_value(json_array_get(on, json_array_size(on) - 1));
    char path[64];
    (void)state;
    snprintf(path, sizeof(path), "/urls/%lld", id);
    u = e2e_call(200, "GET", path, NULL);
    e2e_assert_link(u);
    json_decref(e2e_call(200, "PUT", path, "{\"is_active\":false}"));
    e2e_assert_no_link(e2e_str(u, "short_code"));
    j = e2e_call(200, "PUT", path,
                 "{\"is_active\":true,\"original_url\":\"https://example.com/seed-repointed\"}");
    e2e_assert_link(j);
    json_decref(j);
    json_decref(u);
    json_decref(on);
}

/* API uniqueness holds against seed users too. */
static void test_seeded_duplicate_of_seed_user_409(void **state)
{
    json_t *j;
    (void)state;
    j = e2e_call(409, "POST", "/users",
                 "{\"username\":\"briskkernel84\",\"email\":\"fresh_e2e@example.com\"}");
    e2e_assert_error(j, "username");
    json_decref(j);
    j = e2e_call(409, "POST", "/users",
                 "{\"username\":\"fresh_e2e\",\"email\":\"briskkernel84@example.com\"}");
    e2e_assert_error(j, "email");
    json_decref(j);
}

/* Deleting a seed user with active links: every URL stays, owner null, model uid "". */
static void test_seeded_delete_seed_user_keeps_urls(void **state)
{
    json_t *r, *owned, *u;
    const char *owner = NULL;
    size_t i, n_active = 0;
    char path[64];
    (void)state;
    /* The owner of the last active seed URL. */
    json_array_foreach(seed_urls, i, r)
    {
        if (strcasecmp(cell(r, "is_active"), "true") == 0 && *cell(r, "user_id"))
            owner = cell(r, "user_id");
    }
    assert_non_null(owner);
    snprintf(path, sizeof(path), "/urls?user_id=%s", owner);
    owned = e2e_call(200, "GET", path, NULL);
    assert_true(e2e_len(owned) > 0);
    snprintf(path, sizeof(path), "/users/%s", owner);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    json_array_foreach(owned, i, r)
    {
        snprintf(path, sizeof(path), "/urls/%lld", e2e_int(r, "id"));
        u = e2e_call(200, "GET", path, NULL);
        e2e_assert_null(u, "user_id");
        if (e2e_bool(u, "is_active")) {
            e2e_assert_link(u);
            n_active++;
        }
        json_decref(u);
    }
    assert_true(n_active > 0);
    json_decref(owned);
}

int test_seeded_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_row_counts),
        cmocka_unit_test(test_seeded_user_1_is_briskkernel84),
        cmocka_unit_test(test_seeded_url_1_is_WqxP6K),
        cmocka_unit_test(test_seeded_users_match_csv),
        cmocka_unit_test(test_seeded_urls_match_csv),
        cmocka_unit_test(test_seeded_events_match_csv),
        cmocka_unit_test(test_seeded_urls_filter_user_1),
        cmocka_unit_test(test_seeded_urls_filter_is_active),
        cmocka_unit_test(test_seeded_events_filters),
        cmocka_unit_test(test_seeded_pagination),
        cmocka_unit_test(test_seeded_stats_of_url_1),
        cmocka_unit_test(test_seeded_readmodel_holds_exactly_active_links),
        cmocka_unit_test(test_seeded_bulk_seed_users_csv_changes_nothing),
        cmocka_unit_test(test_seeded_new_ids_continue_after_seed),
        cmocka_unit_test(test_seeded_seed_url_update_keeps_readmodel),
        cmocka_unit_test(test_seeded_duplicate_of_seed_user_409),
        cmocka_unit_test(test_seeded_delete_seed_user_keeps_urls),
    };
    return cmocka_run_group_tests_name("seeded store", tests, seed_setup, seed_teardown);
}
