/*
 * test_refhost.c - the host of a Referer value (event-worker/refhost.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../event-worker/refhost.h"

struct refcase {
    const char *ref, *host; /* host NULL: ERR_INVALID */
};

static const struct refcase cases[] = {
    {"https://www.Google.com/search?q=x", "www.google.com"},
    {"http://example.com", "example.com"},
    {"http://example.com:8080/a", "example.com"},
    {"https://user:pw@Example.COM./x", "example.com"},
    {"https://t.co?x=1", "t.co"},
    {"https://t.co#frag", "t.co"},
    {"  https://lead.example/ ", "lead.example"},
    {"http://[2001:DB8::1]:443/p", "[2001:db8::1]"},
    {"android-app://com.slack/", "com.slack"},
    {"http://b\xc3\xbc"
     "cher.example/",
     "b\xc3\xbc"
     "cher.example"},
    {"http://192.0.2.1/x", "192.0.2.1"},
    {"", NULL},
    {"not a url", NULL},
    {"example.com/path", NULL},
    {"//example.com/", NULL},
    {"https:///path", NULL},
    {"https://", NULL},
    {"https://:80/", NULL},
    {"https://exa mple.com/", NULL},
    {"https://ex<ample.com/", NULL},
    {"http://[::1/", NULL},
    {"1http://example.com/", NULL},
};

static void test_refhost_cases(void **state)
{
    char out[REFHOST_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = refhost_parse(cases[i].ref, out);
        if (cases[i].host) {
            assert_int_equal(rc, 0);
            assert_string_equal(out, cases[i].host);
        } else {
            assert_int_equal(rc, ERR_INVALID);
            assert_string_equal(out, "");
        }
    }
    assert_int_equal(refhost_parse(NULL, out), ERR_INVALID);
}

/* 253 bytes is the longest DNS name; 254 is refused, and nothing overflows out. */
static void test_refhost_length_cap(void **state)
{
    char ref[400], out[REFHOST_MAX];
    (void)state;
    memcpy(ref, "http://", 7);
    memset(ref + 7, 'a', 253);
    ref[7 + 253] = '\0';
    assert_int_equal(refhost_parse(ref, out), 0);
    assert_int_equal(strlen(out), 253);
    memset(ref + 7, 'a', 254);
    ref[7 + 254] = '/';
    ref[7 + 255] = '\0';
    assert_int_equal(refhost_parse(ref, out), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refhost_cases),
        cmocka_unit_test(test_refhost_length_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
