/*
 * test_shortcode.c - unit tests for shared/shortcode.c (code generation, reserved names, shards).
 *
 * getrandom(2) is replaced in this binary by a definition below that either
 * passes through to the real system call or serves scripted bytes and errors.
 * The generator's object file resolves to it at link time, which lets the
 * tests check rejection sampling and the retry paths deterministically.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "shortcode.h"

#include "banned.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* The scripted random source: when active, getrandom serves these bytes. */
static struct {
    int active;
    const unsigned char *bytes; /* borrowed; served in order, then repeated from the start */
    size_t len;
    size_t pos;
    size_t max_chunk; /* 0 = no limit; otherwise short reads of at most this many bytes */
    int eintr_first;  /* fail the first call with EINTR */
    int fail_errno;   /* when non-zero, every call fails with this errno */
    int calls;
} script;

ssize_t getrandom(void *buf, size_t buflen, unsigned int flags)
{
    if (!script.active)
        return (ssize_t)syscall(SYS_getrandom, buf, buflen, flags);
    script.calls++;
    if (script.fail_errno) {
        errno = script.fail_errno;
        return -1;
    }
    if (script.eintr_first && script.calls == 1) {
        errno = EINTR;
        return -1;
    }
    size_t n = buflen;
    if (script.max_chunk && n > script.max_chunk)
        n = script.max_chunk;
    unsigned char *out = buf;
    for (size_t i = 0; i < n; i++) {
        out[i] = script.bytes[script.pos];
        script.pos = (script.pos + 1) % script.len;
    }
    return (ssize_t)n;
}

static void script_start(const unsigned char *bytes, size_t len)
{
    memset(&script, 0, sizeof(script));
    script.active = 1;
    script.bytes = bytes;
    script.len = len;
}

static int script_teardown(void **state)
{
    memset(&script, 0, sizeof(script));
    return 0;
}

/* The byte that the generator maps to alphabet character c. */
static unsigned char byte_for(char c)
{
    return (unsigned char)(strchr(alphabet, c) - alphabet);
}

/* ---- generation with the real random source ---- */

static void test_shortcode_generate_shape(void **state)
{
    for (int i = 0; i < 1000; i++) {
        char code[SHORTCODE_LEN + 1];
        memset(code, '!', sizeof(code));
        assert_int_equal(shortcode_generate(code), 0);
        assert_int_equal(strlen(code), SHORTCODE_LEN);
        for (size_t j = 0; j < SHORTCODE_LEN; j++)
            assert_non_null(memchr(alphabet, code[j], sizeof(alphabet) - 1));
        assert_int_equal(shortcode_is_reserved(code, SHORTCODE_LEN), 0);
    }
}

static void test_shortcode_generate_is_unique_enough(void **state)
{
    /* 62^6 codes: a repeat among 2000 draws has odds of about 1 in 28,000. */
    enum { N = 2000 };
    static char codes[N][SHORTCODE_LEN + 1];
    int repeats = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(shortcode_generate(codes[i]), 0);
        for (int j = 0; j < i; j++)
            if (strcmp(codes[i], codes[j]) == 0)
                repeats++;
    }
    assert_true(repeats <= 1);
}

static void test_shortcode_generate_covers_alphabet(void **state)
{
    enum { CODES = 10000 };
    unsigned counts[62] = {0};
    for (int i = 0; i < CODES; i++) {
        char code[SHORTCODE_LEN + 1];
        assert_int_equal(shortcode_generate(code), 0);
        for (size_t j = 0; j < SHORTCODE_LEN; j++)
            counts[byte_for(code[j])]++;
    }
    /* About 968 draws per character; a fair source stays far inside these bounds. */
    unsigned expected = CODES * SHORTCODE_LEN / 62;
    for (size_t c = 0; c < 62; c++) {
        if (counts[c] < expected / 2 || counts[c] > expected * 2)
            fail_msg("character '%c' drawn %u times (expected about %u)", alphabet[c], counts[c],
                     expected);
    }
}

/* ---- generation with a scripted source ---- */

static void test_shortcode_generate_maps_bytes_to_alphabet(void **state)
{
    static const unsigned char bytes[] = {0, 25, 26, 51, 52, 61};
    script_start(bytes, sizeof(bytes));
    char code[SHORTCODE_LEN + 1];
    assert_int_equal(shortcode_generate(code), 0);
    assert_string_equal(code, "AZaz09");
}

static void test_shortcode_generate_rejects_biased_bytes(void **state)
{
    /* 248..255 would favour 'A'..'H' under a plain modulo; they must be skipped. */
    static const unsigned char bytes[] = {248, 0,   249, 250, 62,  251, 252,
                                          253, 124, 254, 255, 186, 247, 1};
    script_start(bytes, sizeof(bytes));
    char code[SHORTCODE_LEN + 1];
    assert_int_equal(shortcode_generate(code), 0);
    /* 0 -> A, 62 -> A, 124 -> A, 186 -> A, 247 -> 247 % 62 = 61 -> '9', 1 -> B. */
    assert_string_equal(code, "AAAA9B");
}

static void test_shortcode_generate_skips_reserved(void **state)
{
    unsigned char bytes[12];
    const char *first = "HeAlTh";
    const char *second = "abcdef";
    for (size_t i = 0; i < SHORTCODE_LEN; i++) {
        bytes[i] = byte_for(first[i]);
        bytes[SHORTCODE_LEN + i] = byte_for(second[i]);
    }
    /* The generator consumes bytes in order, so its first draw is exactly "HeAlTh". */
    script_start(bytes, sizeof(bytes));
    char code[SHORTCODE_LEN + 1];
    assert_int_equal(shortcode_generate(code), 0);
    assert_string_equal(code, "abcdef");
}

static void test_shortcode_generate_gives_up_on_stuck_source(void **state)
{
    unsigned char bytes[SHORTCODE_LEN];
    const char *word = "STATUS";
    for (size_t i = 0; i < SHORTCODE_LEN; i++)
        bytes[i] = byte_for(word[i]);
    script_start(bytes, sizeof(bytes));
    script.max_chunk = 1;
    char code[SHORTCODE_LEN + 1];
    assert_int_equal(shortcode_generate(code), ERR_SYS);
    assert_string_equal(code, "");
}

static void test_shortcode_generate_retries_eintr_and_short_reads(void **state)
{
    static const unsigned char bytes[] = {7, 33, 55, 2, 40, 13};
    script_start(bytes, sizeof(bytes));
    script.eintr_first = 1;
    script.max_chunk = 5;
    char code[SHORTCODE_LEN + 1];
    assert_int_equal(shortcode_generate(code), 0);
    assert_string_equal(code, "Hh3CoN");
    assert_true(script.calls >= 3);
}

static void test_shortcode_generate_reports_getrandom_failure(void **state)
{
    static const unsigned char bytes[] = {0};
    script_start(bytes, sizeof(bytes));
    script.fail_errno = ENOSYS;
    char code[SHORTCODE_LEN + 1];
    memset(code, 'x', sizeof(code));
    assert_int_equal(shortcode_generate(code), ERR_SYS);
    assert_string_equal(code, "");
}

/* ---- reserved names ---- */

static void test_shortcode_is_reserved_table(void **state)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"health", 1},
        {"HEALTH", 1},
        {"Health", 1},
        {"metrics", 1},
        {"users", 1},
        {"URLS", 1},
        {"events", 1},
        {"dashboard", 1},
        {"api", 1},
        {"admin", 1},
        {"static", 1},
        {"favicon.ico", 1},
        {"Robots.TXT", 1},
        {"r", 1},
        {"S", 1},
        {"docs", 1},
        {"login", 1},
        {"logout", 1},
        {"status", 1},
        {"STATUS", 1},
        {"", 0},
        {"healt", 0},
        {"healthy", 0},
        {"abc123", 0},
        {"user", 0},
        {"rr", 0},
        {"x", 0},
        {"WqxP6K", 0},
        {"health ", 0},
        {" health", 0},
        {"favicon", 0},
        {"robots", 0},
        {"urls/", 0},
        {"h\xc3\xa9"
         "alth",
         0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int got = shortcode_is_reserved(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            fail_msg("\"%s\": got %d, want %d", cases[i].s, got, cases[i].want);
    }
}

static void test_shortcode_is_reserved_uses_len(void **state)
{
    assert_int_equal(shortcode_is_reserved("healthz", 6), 1);
    assert_int_equal(shortcode_is_reserved("users", 4), 0);
    assert_int_equal(shortcode_is_reserved("health\0", 7), 0);
    assert_int_equal(shortcode_is_reserved(NULL, 0), 0);
}

/* ---- shards ---- */

static void test_shortcode_shard_is_fnv1a(void **state)
{
    static const struct {
        const char *s;
        uint32_t fnv;
    } vectors[] = {
        {"", 0x811c9dc5u},       {"a", 0xe40c292cu},      {"foobar", 0xbf9cf968u},
        {"WqxP6K", 0x2a6980d6u}, {"cCZohi", 0x2cca40efu}, {"0123456789abcdef", 0x87bc333du},
    };
    for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
        size_t len = strlen(vectors[i].s);
        assert_int_equal(shortcode_shard(vectors[i].s, len, UINT_MAX), vectors[i].fnv);
        assert_int_equal(shortcode_shard(vectors[i].s, len, 8), vectors[i].fnv % 8);
        assert_int_equal(shortcode_shard(vectors[i].s, len, 3), vectors[i].fnv % 3);
    }
}

static void test_shortcode_shard_bounds(void **state)
{
    assert_int_equal(shortcode_shard("WqxP6K", 6, 1), 0);
    assert_int_equal(shortcode_shard("WqxP6K", 6, 0), 0);
    for (unsigned n = 1; n <= 64; n++) {
        char code[SHORTCODE_LEN + 1];
        assert_int_equal(shortcode_generate(code), 0);
        assert_true(shortcode_shard(code, SHORTCODE_LEN, n) < n);
    }
}

static void test_shortcode_shard_uses_len(void **state)
{
    assert_int_equal(shortcode_shard("foobarXYZ", 6, UINT_MAX), 0xbf9cf968u);
    assert_int_not_equal(shortcode_shard("a\0b", 3, UINT_MAX), shortcode_shard("a", 1, UINT_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shortcode_generate_shape),
        cmocka_unit_test(test_shortcode_generate_is_unique_enough),
        cmocka_unit_test(test_shortcode_generate_covers_alphabet),
        cmocka_unit_test_teardown(test_shortcode_generate_maps_bytes_to_alphabet, script_teardown),
        cmocka_unit_test_teardown(test_shortcode_generate_rejects_biased_bytes, script_teardown),
        cmocka_unit_test_teardown(test_shortcode_generate_skips_reserved, script_teardown),
        cmocka_unit_test_teardown(test_shortcode_generate_gives_up_on_stuck_source,
                                  script_teardown),
        cmocka_unit_test_teardown(test_shortcode_generate_retries_eintr_and_short_reads,
                                  script_teardown),
        cmocka_unit_test_teardown(test_shortcode_generate_reports_getrandom_failure,
                                  script_teardown),
        cmocka_unit_test(test_shortcode_is_reserved_table),
        cmocka_unit_test(test_shortcode_is_reserved_uses_len),
        cmocka_unit_test(test_shortcode_shard_is_fnv1a),
        cmocka_unit_test(test_shortcode_shard_bounds),
        cmocka_unit_test(test_shortcode_shard_uses_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
