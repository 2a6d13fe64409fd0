/*
 * test_netaddr.c - addresses, CIDR lists and the X-Forwarded-For rule (shared/netaddr.c).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../shared/netaddr.h"

static int parses(const char *s)
{
    struct netaddr a;
    return netaddr_parse(s, strlen(s), &a) == 0;
}

static void test_netaddr_parse_accepts(void **state)
{
    static const char *const ok[] = {
        "127.0.0.1",
        "0.0.0.0/0",
        "10.0.0.0/8",
        "192.168.1.0/24",
        "255.255.255.255/32",
        "::1",
        "::/0",
        "2001:db8::/32",
        "fe80::1/128",
        "::ffff:10.0.0.0/104",
        "::ffff:1.2.3.4",
        "2001:DB8:0:0:0:0:0:1",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        if (!parses(ok[i]))
            fail_msg("refused '%s'", ok[i]);
    }
}

static void test_netaddr_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.1/8",
        "10.0.0.0/33",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/08x",
        "1.2.3",
        "1.2.3.4.5",
        "01.2.3.4x",
        "256.0.0.1",
        "::1/129",
        "2001:db8::1/32",
        "::g",
        "localhost",
        " 1.2.3.4",
        "1.2.3.4 ",
        "::ffff:1.2.3.4/95",
        "1.2.3.4/1000",
        "[::1]",
        "1.2.3.4/8/8",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (parses(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
    }
    struct netaddr a;
    assert_int_equal(netaddr_parse("1.2.3.4\0x", 9, &a), ERR_INVALID); /* NUL inside */
}

static void test_netaddr_list_match(void **state)
{
    struct netaddr_list l;
    const char *why = NULL;
    size_t at = 0;
    (void)state;
    assert_int_equal(netaddr_list_parse("127.0.0.0/8, ::1,10.0.0.0/8 2001:db8::/33", &l, &why, &at),
                     0);
    assert_int_equal(l.n, 4);
    assert_true(netaddr_list_match(&l, "127.0.0.1"));
    assert_true(netaddr_list_match(&l, "127.255.1.2"));
    assert_true(netaddr_list_match(&l, "::1"));
    assert_true(netaddr_list_match(&l, "::ffff:127.0.0.1")); /* IPv4-mapped */
    assert_true(netaddr_list_match(&l, "10.200.0.1"));
    assert_true(netaddr_list_match(&l, "2001:db8:7fff::1"));
    assert_false(netaddr_list_match(&l, "2001:db8:8000::1"));
    assert_false(netaddr_list_match(&l, "11.0.0.1"));
    assert_false(netaddr_list_match(&l, "128.0.0.1"));
    assert_false(netaddr_list_match(&l, "::2"));
    assert_false(netaddr_list_match(&l, "garbage"));
    assert_false(netaddr_list_match(&l, NULL));
    assert_false(netaddr_list_match(&l, "127.0.0.0/8")); /* a network is not an address */

    assert_int_equal(netaddr_list_parse("", &l, &why, &at), 0);
    assert_int_equal(l.n, 0);
    assert_false(netaddr_list_match(&l, "127.0.0.1")); /* empty: nobody */
    assert_int_equal(netaddr_list_parse(" , ,", &l, &why, &at), 0);
    assert_int_equal(l.n, 0);

    assert_int_equal(netaddr_list_parse("0.0.0.0/0,::/0", &l, &why, &at), 0);
    assert_true(netaddr_list_match(&l, "203.0.113.9"));
    assert_true(netaddr_list_match(&l, "2001:db8::9"));
}

static void test_netaddr_list_errors(void **state)
{
    struct netaddr_list l;
    const char *why = NULL;
    size_t at = 0;
    char many[64 * 12 + 16] = "";
    (void)state;
    assert_int_equal(netaddr_list_parse("127.0.0.0/8,10.0.0.1/8", &l, &why, &at), ERR_INVALID);
    assert_non_null(why);
    assert_int_equal(at, 12);
    for (int i = 0; i < 65; i++) {
        char one[16];
        snprintf(one, sizeof(one), "10.0.0.%d,", i);
        strncat(many, one, sizeof(many) - strlen(many) - 1);
    }
    assert_int_equal(netaddr_list_parse(many, &l, &why, &at), ERR_TOO_BIG);
}

static void test_netaddr_format(void **state)
{
    struct netaddr a;
    char out[NETADDR_TEXT_MAX];
    (void)state;
    assert_int_equal(netaddr_parse("2001:DB8:0:0::1", 15, &a), 0);
    netaddr_format(&a, out);
    assert_string_equal(out, "2001:db8::1");
    assert_int_equal(netaddr_parse("::ffff:1.2.3.4", 14, &a), 0);
    netaddr_format(&a, out);
    assert_string_equal(out, "1.2.3.4");
    /* IPv4 is formatted without inet_ntop: every byte value in every place matches it. */
    for (unsigned v = 0; v < 256; v++) {
        char want[NETADDR_TEXT_MAX];
        a = (struct netaddr){.family = 4, .prefix = 32};
        unsigned char b[4] = {(unsigned char)v, (unsigned char)(255 - v), (unsigned char)(v / 2),
                              (unsigned char)(v * 7)};
        memcpy(a.bytes, b, 4);
        netaddr_format(&a, out);
        assert_non_null(inet_ntop(AF_INET, b, want, sizeof(want)));
        assert_string_equal(out, want);
    }
}

struct xffcase {
    const char *peer, *xff, *real, *want;
};

static void test_netaddr_client_rule(void **state)
{
    static const struct xffcase cases[] = {
        /* An untrusted peer: the headers are ignored. */
        {"203.0.113.7", "1.1.1.1", "2.2.2.2", "203.0.113.7"},
        /* A trusted peer: the rightmost untrusted hop. */
        {"127.0.0.1", "1.1.1.1", NULL, "1.1.1.1"},
        {"127.0.0.1", "9.9.9.9, 1.1.1.1", NULL, "1.1.1.1"},
        {"127.0.0.1", "9.9.9.9, 1.1.1.1, 10.0.0.5", NULL, "1.1.1.1"},
        {"127.0.0.1", "9.9.9.9,1.1.1.1,10.0.0.5,127.0.0.2", NULL, "1.1.1.1"},
        /* Every hop trusted: the leftmost. */
        {"127.0.0.1", "10.0.0.9, 10.0.0.5", NULL, "10.0.0.9"},
        /* A malformed hop stops the walk at the last good hop. */
        {"127.0.0.1", "1.1.1.1, junk, 10.0.0.5", NULL, "10.0.0.5"},
        /* Nothing usable in X-Forwarded-For: X-Real-IP, else the peer. */
        {"127.0.0.1", "junk", "2.2.2.2", "2.2.2.2"},
        {"127.0.0.1", "", "2.2.2.2", "2.2.2.2"},
        {"127.0.0.1", NULL, "2.2.2.2", "2.2.2.2"},
        {"127.0.0.1", NULL, "not an ip", "127.0.0.1"},
        {"127.0.0.1", NULL, NULL, "127.0.0.1"},
        /* IPv6, canonical text, mapped peers. */
        {"::1", "2001:DB8::0:1", NULL, "2001:db8::1"},
        {"::ffff:127.0.0.1", "1.1.1.1", NULL, "1.1.1.1"},
        {"::ffff:203.0.113.7", "1.1.1.1", NULL, "203.0.113.7"},
        {"127.0.0.1", "  1.1.1.1  ", NULL, "1.1.1.1"},
        {"127.0.0.1", ",,,", NULL, "127.0.0.1"},
    };
    struct netaddr_list trusted;
    const char *why;
    size_t at;
    char out[NETADDR_TEXT_MAX];
    (void)state;
    assert_int_equal(netaddr_list_parse("127.0.0.0/8,::1,10.0.0.0/8", &trusted, &why, &at), 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct xffcase *c = &cases[i];
        netaddr_client(&trusted, c->peer, c->xff, c->real, out);
        if (strcmp(out, c->want) != 0)
            fail_msg("case %zu: peer %s xff %s: got '%s', want '%s'", i, c->peer,
                     c->xff ? c->xff : "(none)", out, c->want);
    }
    /* No trusted list: always the peer. */
    assert_string_equal(netaddr_client(NULL, "127.0.0.1", "1.1.1.1", NULL, out), "127.0.0.1");
    /* A long header is walked without overflow. */
    char big[8192];
    memset(big, ',', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big + sizeof(big) - 8, "1.1.1.1", 7);
    assert_string_equal(netaddr_client(&trusted, "127.0.0.1", big, NULL, out), "1.1.1.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_parse_accepts), cmocka_unit_test(test_netaddr_parse_refuses),
        cmocka_unit_test(test_netaddr_list_match),    cmocka_unit_test(test_netaddr_list_errors),
        cmocka_unit_test(test_netaddr_format),        cmocka_unit_test(test_netaddr_client_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
