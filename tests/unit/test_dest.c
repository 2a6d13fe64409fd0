/*
 * test_dest.c - the destination rules of write-svc (write-svc/dest.c): host normalisation,
 * self hosts, the blocklist file (matcher and its errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../write-svc/dest.h"

static char dest_path[64];

/* Writes text to a fresh temp file (dest_path). */
static void dest_file(const char *text)
{
    snprintf(dest_path, sizeof(dest_path), "/tmp/test_dest.XXXXXX");
    int fd = mkstemp(dest_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static int dest_ok(const struct dest *d, const char *url)
{
    const char *why = NULL;
    return dest_check(d, url, strlen(url), &why) == 0;
}

static void test_dest_hostport(void **state)
{
    static const char *const cases[][2] = {
        {"http://Example.COM/x", "example.com:80"},
        {"https://example.com", "example.com:443"},
        {"https://u:p@example.com.:0443/?q", "example.com:443"},
        {"http://127.1:8080#f", "127.0.0.1:8080"},
        {"http://[0:0::1]/", "[::1]:80"},
        {"http://ex%41mple.com/", "example.com:80"},
    };
    char hp[DEST_HOST_MAX];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dest_url_hostport(cases[i][0], strlen(cases[i][0]), hp, NULL), 0);
        assert_string_equal(hp, cases[i][1]);
    }
    assert_int_equal(dest_url_hostport("ftp://x.y/", 10, hp, NULL), ERR_INVALID);
}

static void test_dest_self_hosts(void **state)
{
    char err[256];
    (void)state;
    struct dest *d =
        dest_new("https://sho.rt/base", "localhost:8080, Alias.Example", NULL, err, sizeof(err));
    assert_non_null(d);
    assert_false(dest_ok(d, "https://sho.rt/x"));
    assert_false(dest_ok(d, "http://SHO.RT/x"));
    assert_false(dest_ok(d, "http://localhost:8080"));
    assert_false(dest_ok(d, "https://alias.example/"));
    assert_false(dest_ok(d, "http://alias.example:80/"));
    assert_true(dest_ok(d, "http://localhost:8081/"));
    assert_true(dest_ok(d, "https://sho.rt:8443/"));
    assert_true(dest_ok(d, "https://www.sho.rt/"));
    dest_free(d);
    assert_null(dest_new("https://sho.rt", "bad/entry", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "SELF_HOSTS"));
}

static void test_dest_blocklist(void **state)
{
    char err[256];
    (void)state;
    dest_file("# blocked\n\nevil.example\n  *.Wild.Example  # comment\r\n10.1.2.3\n");
    struct dest *d = dest_new("http://127.0.0.1:8080", "", dest_path, err, sizeof(err));
    unlink(dest_path);
    assert_non_null(d);
    assert_int_equal(dest_blocked_count(d), 3);
    assert_false(dest_ok(d, "https://evil.example/"));
    assert_false(dest_ok(d, "https://a.b.EVIL.example./x"));
    assert_false(dest_ok(d, "https://wild.example/"));
    assert_false(dest_ok(d, "https://x.wild.example/"));
    assert_false(dest_ok(d, "http://10.1.2.3/"));
    assert_true(dest_ok(d, "https://notevil.example/"));
    assert_true(dest_ok(d, "https://evil.example.org/"));
    assert_true(dest_ok(d, "https://example/"));
    dest_free(d);
}

static void test_dest_blocklist_errors(void **state)
{
    static const char *const bad[] = {"ok.example\nbad domain\n", "a..b\n", "x/y\n", ".lead\n"};
    char err[256];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dest_file(bad[i]);
        assert_null(dest_new("http://127.0.0.1:8080", "", dest_path, err, sizeof(err)));
        unlink(dest_path);
        assert_non_null(strstr(err, "line"));
    }
    assert_null(dest_new("http://127.0.0.1:8080", "", "/nonexistent/blocklist", err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dest_hostport),
        cmocka_unit_test(test_dest_self_hosts),
        cmocka_unit_test(test_dest_blocklist),
        cmocka_unit_test(test_dest_blocklist_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
