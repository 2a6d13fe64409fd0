/*
 * test_client.c - redirect-svc's self host names (client_self_hosts): the list the
 * redirect-loop rule compares a link's host and port with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../redirect-svc/client.h"

struct selfcase {
    const char *list, *want;
};

static void test_client_self_hosts(void **state)
{
    static const struct selfcase cases[] = {
        {"example.com", "example.com:80 example.com:443"},
        {"Example.COM.:8080", "example.com:8080"},
        {"a.io, b.io:1", "a.io:80 a.io:443 b.io:1"},
        {"127.0.0.1:27110", "127.0.0.1:27110"},
        {"[::1]:9000 [::1]", "[::1]:9000 [::1]:80 [::1]:443"},
        {"h:-5", "h:-5"},
        {"h:99999999999", "h:99999999999"},
        {"h:x", "h:0"},
        {"bad/host ok", "ok:80 ok:443"},
        {":80", ""},
        {"", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[CLIENT_SELF_MAX] = "";
        client_self_hosts(cases[i].list, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

/* An entry of 255 bytes still counts, one of 256 not; the list stops where out is full. */
static void test_client_self_hosts_bounds(void **state)
{
    char host[256], want[300], out[CLIENT_SELF_MAX] = "";
    (void)state;
    memset(host, 'a', 249);
    host[249] = '\0';
    snprintf(want, sizeof(want), "%s:65535", host);
    char list[300];
    snprintf(list, sizeof(list), "%s:65535", host);
    client_self_hosts(list, out, sizeof(out));
    assert_string_equal(out, want);
    out[0] = '\0';
    snprintf(list, sizeof(list), "a%s:65535", host);
    client_self_hosts(list, out, sizeof(out));
    assert_string_equal(out, "");
    char small[16] = "";
    client_self_hosts("abcdefgh.io", small, sizeof(small));
    assert_string_equal(small, "abcdefgh.io:80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_self_hosts),
        cmocka_unit_test(test_client_self_hosts_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
