/*
 * test_uaparse.c - user agents against the uap-core rules (event-worker/uaparse.c) and the
 * analytics view of them with its cache (event-worker/uacache.c).
 *
 * Besides a hand-picked mix (desktop, phones, tablets, crawlers, link previewers, curl), it
 * replays the samples uap-core ships with its rules (tests/test_ua.yaml, test_os.yaml,
 * test_device.yaml: agent and expected family) and prints the per-agent cost with and
 * without the cache. UA_REGEXES and UA_TESTS_DIR override the Debian paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include <cmocka.h>

#include "../../event-worker/uacache.h"
#include "../../event-worker/uaparse.h"

#define SAMPLE_MAX 100000

static struct uaparse *up;

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && v[0] ? v : def;
}

static int setup(void **state)
{
    char err[256];
    (void)state;
    up = uaparse_new(env_or("UA_REGEXES", UAPARSE_DEFAULT_PATH), err, sizeof(err));
    if (!up)
        fprintf(stderr, "uaparse_new: %s\n", err);
    return up ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    uaparse_free(up);
    return 0;
}

struct want {
    const char *ua, *browser, *os, *device;
    int bot;
};

static const struct want mix[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36",
     "Chrome", "Windows", "desktop", 0},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15",
     "Safari", "Mac OS X", "desktop", 0},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "iOS", "mobile", 0},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1",
     "Mobile Safari", "iOS", "tablet", 0},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36",
     "Chrome Mobile", "Android", "mobile", 0},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot",
     "Other", "bot", 1},
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slackbot-LinkExpanding",
     "Other", "bot", 1},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "FacebookBot",
     "Other", "bot", 1},
    {"Twitterbot/1.0", "Twitterbot", "Other", "bot", 1},
    {"curl/7.88.1", "curl", "Other", "desktop", 0},
    {"", "Other", "Other", "desktop", 0},
};

static void test_uaparse_known_mix(void **state)
{
    struct uacache *c = uacache_new(up, 64);
    struct uacache_info info;
    (void)state;
    assert_non_null(c);
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
            uacache_get(c, mix[i].ua, &info);
            assert_string_equal(info.browser, mix[i].browser);
            assert_string_equal(info.os, mix[i].os);
            assert_string_equal(uacache_device_name(info.device), mix[i].device);
            assert_int_equal(info.bot, mix[i].bot);
        }
    assert_int_equal(uacache_misses(c), sizeof(mix) / sizeof(mix[0]));
    assert_int_equal(uacache_hits(c), sizeof(mix) / sizeof(mix[0]));
    uacache_get(c, NULL, &info);
    assert_string_equal(info.browser, "Other");
    uacache_free(c);
}

/* A cache of 2 slots keeps answering right while it evicts. */
static void test_uaparse_cache_is_bounded(void **state)
{
    struct uacache *c = uacache_new(up, 2);
    struct uacache_info info;
    (void)state;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
            uacache_get(c, mix[i].ua, &info);
            assert_string_equal(info.browser, mix[i].browser);
        }
    assert_true(uacache_misses(c) > sizeof(mix) / sizeof(mix[0]));
    uacache_free(c);
}

/* Long, hostile and binary agents: bounded time, no crash, an answer. */
static void test_uaparse_hostile_input(void **state)
{
    static char big[8192];
    struct uaparse_result r;
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    uaparse_parse(up, big, sizeof(big) - 1, &r);
    assert_string_equal(r.device, "Other");
    memset(big, '(', sizeof(big) - 1);
    uaparse_parse(up, big, sizeof(big) - 1, &r);
    uaparse_parse(up, "\x01\x02\xff", 3, &r);
    assert_true(strlen(r.browser) > 0);
    uaparse_parse(up, "Mozilla/5.0\0Googlebot", 21, &r); /* an embedded NUL stays data */
}

static void test_uaparse_missing_file(void **state)
{
    char err[256];
    (void)state;
    assert_null(uaparse_new("/nonexistent/regexes.yaml", err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open"));
}

/* ------------------------------------------------------------------------ */
/* uap-core's own samples                                                    */
/* ------------------------------------------------------------------------ */

/* The value of key in a test case mapping, or NULL. */
static const char *case_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return (const char *)v->data.scalar.value;
    }
    return NULL;
}

/* The family a result gives for one of the three files. */
static const char *family_of(const struct uaparse_result *r, int which)
{
    return which == 0 ? r->browser : which == 1 ? r->os : r->device;
}

/*
 * Replays file `name` (test_cases: user_agent_string + key); counts cases and mismatches.
 * A missing file (uap-core without its tests) skips.
 */
static void replay(const char *name, const char *key, int which, size_t *n, size_t *bad)
{
    char path[512];
    yaml_parser_t p;
    yaml_document_t doc;
    snprintf(path, sizeof(path), "%s/%s", env_or("UA_TESTS_DIR", "/usr/share/uap-core/tests"),
             name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    assert_true(yaml_parser_initialize(&p));
    yaml_parser_set_input_file(&p, f);
    assert_true(yaml_parser_load(&p, &doc));
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *seq = yaml_document_get_node(&doc, root->data.mapping.pairs.start->value);
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top && *n < SAMPLE_MAX; it++) {
        yaml_node_t *m = yaml_document_get_node(&doc, *it);
        const char *ua = case_get(&doc, m, "user_agent_string"), *want = case_get(&doc, m, key);
        struct uaparse_result r;
        if (!ua || !want || strlen(ua) >= UAPARSE_UA_MAX || strlen(want) >= UAPARSE_NAME_MAX)
            continue;
        uaparse_parse(up, ua, strlen(ua), &r);
        (*n)++;
        if (strcmp(family_of(&r, which), want) != 0 && (*bad)++ < 5)
            fprintf(stderr, "  %s: '%s' -> '%s', uap-core says '%s'\n", name, ua,
                    family_of(&r, which), want);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
}

/* PCRE2 may differ from the reference implementation on a handful of rules: 99.5% must agree. */
static void test_uaparse_uap_core_samples(void **state)
{
    static const char *const files[][2] = {
        {"test_ua.yaml", "family"}, {"test_os.yaml", "family"}, {"test_device.yaml", "family"}};
    (void)state;
    for (int i = 0; i < 3; i++) {
        size_t n = 0, bad = 0;
        replay(files[i][0], files[i][1], i, &n, &bad);
        fprintf(stderr, "  %s: %zu cases, %zu differ\n", files[i][0], n, bad);
        assert_true(bad * 200 <= n);
    }
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* Prints the cost of one agent, parsed and cached (the figure docs/DECISIONS.md quotes). */
static void test_uaparse_cost(void **state)
{
    struct timespec t0, t1, t2;
    struct uacache *c = uacache_new(up, 1024);
    struct uacache_info info;
    const size_t n = sizeof(mix) / sizeof(mix[0]), rounds = 20;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n; i++)
        uacache_get(c, mix[i].ua, &info);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++)
            uacache_get(c, mix[i].ua, &info);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    fprintf(stderr, "  per agent: %.1f us parsed (cache miss), %.3f us cached (hit); %zu rules\n",
            elapsed_us(&t0, &t1) / (double)n, elapsed_us(&t1, &t2) / (double)(n * rounds),
            uaparse_rules(up));
    uacache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uaparse_known_mix),
        cmocka_unit_test(test_uaparse_cache_is_bounded),
        cmocka_unit_test(test_uaparse_hostile_input),
        cmocka_unit_test(test_uaparse_missing_file),
        cmocka_unit_test(test_uaparse_uap_core_samples),
        cmocka_unit_test(test_uaparse_cost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
