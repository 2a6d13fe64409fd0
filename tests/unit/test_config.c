/*
 * test_config.c - unit tests for shared/config.c: values set with setenv are
 * accepted or rejected, every error is reported at once, secrets are masked.
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
#include <jansson.h>

#include "config.h"
#include "log.h"

#include "banned.h"

static struct {
    const char *database_url;
    const char *redis_url;
    const char *bind_addr;
    long port;
    const char *log_level;
    int access_log;
    long threads;
    const char *token;
} cfg;

static const struct cfg_entry tab[] = {
    {"T_DATABASE_URL", CFG_URL, NULL, 0, 0, 1, 1, NULL, "PostgreSQL URL", &cfg.database_url},
    {"T_REDIS_URL", CFG_URL, "redis://127.0.0.1:6379", 0, 0, 0, 1, NULL, "Redis URL",
     &cfg.redis_url},
    {"T_BIND_ADDR", CFG_STRING, "127.0.0.1", 1, 64, 0, 0, NULL, "address to listen on",
     &cfg.bind_addr},
    {"T_PORT", CFG_INT, "8081", 0, 65535, 0, 0, NULL, "HTTP port", &cfg.port},
    {"T_LOG_LEVEL", CFG_ENUM, "info", 0, 0, 0, 0, "debug|info|warn|error", "minimum log level",
     &cfg.log_level},
    {"T_ACCESS_LOG", CFG_BOOL, "true", 0, 0, 0, 0, NULL, "one line per request", &cfg.access_log},
    {"T_THREADS", CFG_INT, NULL, 1, 256, 0, 0, NULL, "worker threads", &cfg.threads},
    {"T_TOKEN", CFG_STRING, NULL, 0, 0, 0, 1, NULL, "an API token", &cfg.token},
};

static const char *const names[] = {"T_DATABASE_URL", "T_REDIS_URL",  "T_BIND_ADDR", "T_PORT",
                                    "T_LOG_LEVEL",    "T_ACCESS_LOG", "T_THREADS",   "T_TOKEN"};

static int setup(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        unsetenv(names[i]);
    memset(&cfg, 0, sizeof(cfg));
    cfg.threads = -7; /* An unset entry without a default must leave this alone. */
    setenv("T_DATABASE_URL", "postgres://app:s3cret@db.local:5432/app", 1);
    log_init("test-config", LOG_INFO);
    return 0;
}

static int load(char *errs, size_t errlen)
{
    return cfg_load(tab, ARRAY_SIZE(tab), errs, errlen);
}

static size_t count_lines(const char *s)
{
    size_t n = *s ? 1 : 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_config_defaults_apply(void **state)
{
    char errs[1024];
    assert_int_equal(load(errs, sizeof(errs)), 0);
    assert_string_equal(errs, "");
    assert_string_equal(cfg.database_url, "postgres://app:s3cret@db.local:5432/app");
    assert_string_equal(cfg.redis_url, "redis://127.0.0.1:6379");
    assert_string_equal(cfg.bind_addr, "127.0.0.1");
    assert_int_equal(cfg.port, 8081);
    assert_string_equal(cfg.log_level, "info");
    assert_int_equal(cfg.access_log, 1);
    assert_int_equal(cfg.threads, -7);
    assert_null(cfg.token);
}

static void test_config_accepts_valid_values(void **state)
{
    char errs[1024];
    setenv("T_REDIS_URL", "redis://:pw@cache:6380/1", 1);
    setenv("T_BIND_ADDR", "0.0.0.0", 1);
    setenv("T_PORT", "0", 1);
    setenv("T_LOG_LEVEL", "debug", 1);
    setenv("T_ACCESS_LOG", "OFF", 1);
    setenv("T_THREADS", "256", 1);
    setenv("T_TOKEN", "abc", 1);
    assert_int_equal(load(errs, sizeof(errs)), 0);
    assert_string_equal(cfg.redis_url, "redis://:pw@cache:6380/1");
    assert_string_equal(cfg.bind_addr, "0.0.0.0");
    assert_int_equal(cfg.port, 0);
    assert_string_equal(cfg.log_level, "debug");
    assert_int_equal(cfg.access_log, 0);
    assert_int_equal(cfg.threads, 256);
    assert_string_equal(cfg.token, "abc");

    setenv("T_PORT", "65535", 1);
    setenv("T_THREADS", "+1", 1);
    setenv("T_ACCESS_LOG", "Yes", 1);
    assert_int_equal(load(errs, sizeof(errs)), 0);
    assert_int_equal(cfg.port, 65535);
    assert_int_equal(cfg.threads, 1);
    assert_int_equal(cfg.access_log, 1);
}

static void test_config_bool_spellings(void **state)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
    static const char *const no[] = {"false", "0", "no", "off", "False", "NO"};
    char errs[256];
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        setenv("T_ACCESS_LOG", yes[i], 1);
        cfg.access_log = 0;
        assert_int_equal(load(errs, sizeof(errs)), 0);
        assert_int_equal(cfg.access_log, 1);
        setenv("T_ACCESS_LOG", no[i], 1);
        assert_int_equal(load(errs, sizeof(errs)), 0);
        assert_int_equal(cfg.access_log, 0);
    }
    setenv("T_ACCESS_LOG", "2", 1);
    assert_int_equal(load(errs, sizeof(errs)), ERR_INVALID);
    assert_non_null(strstr(errs, "T_ACCESS_LOG: "));
}

static void test_config_rejects_bad_integers(void **state)
{
    static const char *const bad[] = {
        "abc", "80x", " 80", "80 ", "", "-1", "65536", "1.5", "0x50", "99999999999999999999",
    };
    char errs[512];
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        setenv("T_PORT", bad[i], 1);
        cfg.port = 1234;
        int rc = load(errs, sizeof(errs));
        if (bad[i][0] == '\0') {
            /* Empty counts as unset: the default applies. */
            assert_int_equal(rc, 0);
            assert_int_equal(cfg.port, 8081);
            continue;
        }
        if (rc != ERR_INVALID)
            fail_msg("T_PORT='%s' was accepted", bad[i]);
        assert_int_equal(cfg.port, 1234); /* A bad value never reaches the destination. */
        assert_int_equal(strncmp(errs, "T_PORT: ", 8), 0);
        assert_int_equal(count_lines(errs), 1);
    }
}

static void test_config_reports_all_errors_at_once(void **state)
{
    char errs[2048];
    unsetenv("T_DATABASE_URL");
    setenv("T_REDIS_URL", "cache:6379", 1);
    setenv("T_BIND_ADDR", "this-address-is-much-too-long-for-the-sixty-four-character-limit-x", 1);
    setenv("T_PORT", "http", 1);
    setenv("T_LOG_LEVEL", "INFO", 1);
    setenv("T_ACCESS_LOG", "maybe", 1);
    setenv("T_THREADS", "0", 1);
    assert_int_equal(load(errs, sizeof(errs)), ERR_INVALID);
    assert_int_equal(count_lines(errs), 7);
    assert_non_null(strstr(errs, "T_DATABASE_URL: required but not set"));
    assert_non_null(strstr(errs, "\nT_REDIS_URL: "));
    assert_non_null(strstr(errs, "\nT_BIND_ADDR: "));
    assert_non_null(strstr(errs, "\nT_PORT: must be an integer from 0 to 65535 (got 'http')"));
    assert_non_null(strstr(errs, "\nT_LOG_LEVEL: must be one of debug|info|warn|error"));
    assert_non_null(strstr(errs, "\nT_ACCESS_LOG: "));
    assert_non_null(strstr(errs, "\nT_THREADS: must be an integer from 1 to 256"));
    assert_null(strstr(errs, "T_TOKEN"));
    assert_int_not_equal(errs[strlen(errs) - 1], '\n');
}

static void test_config_required_empty_is_missing(void **state)
{
    char errs[256];
    setenv("T_DATABASE_URL", "", 1);
    assert_int_equal(load(errs, sizeof(errs)), ERR_INVALID);
    assert_string_equal(errs, "T_DATABASE_URL: required but not set");
}

static void test_config_secret_values_not_echoed(void **state)
{
    char errs[512];
    setenv("T_DATABASE_URL", "hunter2", 1);
    setenv("T_PORT", "hunter3", 1);
    assert_int_equal(load(errs, sizeof(errs)), ERR_INVALID);
    assert_int_equal(count_lines(errs), 2);
    assert_null(strstr(errs, "hunter2"));
    assert_non_null(strstr(errs, "hunter3")); /* T_PORT is not secret. */
}

static void test_config_error_text_truncated_safely(void **state)
{
    char errs[16];
    memset(errs, 'x', sizeof(errs));
    setenv("T_PORT", "nope", 1);
    setenv("T_THREADS", "nope", 1);
    assert_int_equal(load(errs, sizeof(errs)), ERR_INVALID);
    assert_int_equal(strlen(errs), sizeof(errs) - 1);
    assert_int_equal(strncmp(errs, "T_PORT: must be", 15), 0);
    assert_int_equal(load(NULL, 0), ERR_INVALID);
}

static void test_config_mask_secret(void **state)
{
    static const char *const cases[][2] = {
        {"postgres://app:s3cret@db.local:5432/app", "postgres://app:***@db.local:5432/app"},
        {"postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"},
        {"postgres://app@db.local/app", "postgres://app@db.local/app"},
        {"redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"},
        {"redis://pw@cache:6379", "redis://***@cache:6379"},
        {"rediss://user:pw@cache:6379", "rediss://user:***@cache:6379"},
        {"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
        {"host=db user=app password=s3cret dbname=app", "host=db user=app password=*** dbname=app"},
        {"host=db password='a b\\'c' dbname=app", "host=db password=*** dbname=app"},
        {"postgres://db/app?user=u&password=s3cret&sslmode=off",
         "postgres://db/app?user=u&password=***&sslmode=off"},
        {"PASSWORD=x", "PASSWORD=***"},
        {"sslpassword=x", "sslpassword=x"},
        {"", ""},
    };
    char out[128];
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        cfg_mask_secret(cases[i][0], out, sizeof(out));
        if (strcmp(out, cases[i][1]) != 0)
            fail_msg("mask('%s') = '%s', want '%s'", cases[i][0], out, cases[i][1]);
    }
}

static void test_config_mask_secret_truncates(void **state)
{
    char out[12];
    cfg_mask_secret("postgres://app:s3cret@db.local:5432/app", out, sizeof(out));
    assert_string_equal(out, "postgres://");
    char small[20];
    cfg_mask_secret("postgres://app:s3cret@db", small, sizeof(small));
    assert_string_equal(small, "postgres://app:***@");
    assert_null(strstr(small, "s3c"));
    cfg_mask_secret("x", out, 0); /* Must not write anything. */
}

static char *print_to_string(void (*fn)(FILE *, const struct cfg_entry *, size_t))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    fn(f, tab, ARRAY_SIZE(tab));
    fclose(f);
    return text;
}

static void test_config_env_example_format(void **state)
{
    char *text = print_to_string(cfg_print_env_example);
    const char *want = "# PostgreSQL URL\n# T_DATABASE_URL=\n"
                       "# Redis URL\n# T_REDIS_URL=redis://127.0.0.1:6379\n"
                       "# address to listen on\n# T_BIND_ADDR=127.0.0.1\n"
                       "# HTTP port\n# T_PORT=8081\n"
                       "# minimum log level\n# T_LOG_LEVEL=info\n"
                       "# one line per request\n# T_ACCESS_LOG=true\n"
                       "# worker threads\n# T_THREADS=\n"
                       "# an API token\n# T_TOKEN=\n";
    assert_string_equal(text, want);
    free(text);
}

static void test_config_help_lists_every_entry(void **state)
{
    char *text = print_to_string(cfg_print_help);
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        assert_non_null(strstr(text, names[i]));
    assert_non_null(strstr(text, "T_PORT  (int 0..65535, default 8081)"));
    assert_non_null(strstr(text, "(url, required, secret)"));
    assert_non_null(strstr(text, "debug|info|warn|error"));
    assert_non_null(strstr(text, "HTTP port"));
    free(text);
}

static void test_config_log_effective_masks_secrets(void **state)
{
    char errs[256];
    setenv("T_TOKEN", "tok-secret", 1);
    setenv("T_REDIS_URL", "redis://:redispw@cache:6379", 1);
    setenv("T_THREADS", "4", 1);
    assert_int_equal(load(errs, sizeof(errs)), 0);

    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    cfg_log_effective(tab, ARRAY_SIZE(tab));
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    char line[4096] = {0};
    rewind(tmp);
    size_t got = fread(line, 1, sizeof(line) - 1, tmp);
    fclose(tmp);
    assert_true(got > 0);
    assert_int_equal(line[got - 1], '\n');
    assert_ptr_equal(strchr(line, '\n'), line + got - 1); /* Exactly one line. */

    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    const char *msg = json_string_value(json_object_get(j, "msg"));
    assert_non_null(msg);
    assert_non_null(strstr(msg, "T_PORT=8081"));
    assert_non_null(strstr(msg, "T_THREADS=4"));
    assert_non_null(strstr(msg, "T_ACCESS_LOG=true"));
    assert_non_null(strstr(msg, "T_DATABASE_URL=postgres://app:***@db.local:5432/app"));
    assert_non_null(strstr(msg, "T_REDIS_URL=redis://:***@cache:6379"));
    assert_non_null(strstr(msg, "T_TOKEN=***"));
    assert_null(strstr(msg, "s3cret"));
    assert_null(strstr(msg, "redispw"));
    assert_null(strstr(msg, "tok-secret"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_defaults_apply, setup),
        cmocka_unit_test_setup(test_config_accepts_valid_values, setup),
        cmocka_unit_test_setup(test_config_bool_spellings, setup),
        cmocka_unit_test_setup(test_config_rejects_bad_integers, setup),
        cmocka_unit_test_setup(test_config_reports_all_errors_at_once, setup),
        cmocka_unit_test_setup(test_config_required_empty_is_missing, setup),
        cmocka_unit_test_setup(test_config_secret_values_not_echoed, setup),
        cmocka_unit_test_setup(test_config_error_text_truncated_safely, setup),
        cmocka_unit_test_setup(test_config_mask_secret, setup),
        cmocka_unit_test_setup(test_config_mask_secret_truncates, setup),
        cmocka_unit_test_setup(test_config_env_example_format, setup),
        cmocka_unit_test_setup(test_config_help_lists_every_entry, setup),
        cmocka_unit_test_setup(test_config_log_effective_masks_secrets, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
