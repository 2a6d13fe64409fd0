/*
 * test_log.c - unit tests for shared/log.c: the JSON shape of a line, escaping,
 * level filtering, truncation, one write per line across threads, log_die.
 * stderr is redirected into a temporary file around each call under test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "log.h"

#include "banned.h"

#define MAX_LINES 2048

struct captured {
    char *text; /* everything written to stderr */
    size_t len;
    size_t nlines;
    char *lines[MAX_LINES]; /* pointers into text, newline replaced by NUL */
};

static int saved_fd = -1;
static FILE *capture_file;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

/* Stops capturing and splits the output into lines (caller frees cap->text). */
static void capture_stop(struct captured *cap)
{
    long size;
    assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
    close(saved_fd);
    assert_int_equal(fseek(capture_file, 0, SEEK_END), 0);
    size = ftell(capture_file);
    assert_true(size >= 0);
    rewind(capture_file);
    memset(cap, 0, sizeof(*cap));
    cap->text = calloc(1, (size_t)size + 1);
    assert_non_null(cap->text);
    assert_int_equal(fread(cap->text, 1, (size_t)size, capture_file), (size_t)size);
    fclose(capture_file);
    cap->len = (size_t)size;
    char *p = cap->text;
    while (p < cap->text + cap->len) {
        char *nl = memchr(p, '\n', (size_t)(cap->text + cap->len - p));
        assert_non_null(nl); /* Every line ends with a newline. */
        *nl = '\0';
        assert_true(cap->nlines < MAX_LINES);
        cap->lines[cap->nlines++] = p;
        p = nl + 1;
    }
}

static json_t *parse_line(const char *line)
{
    json_error_t err;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("not JSON (%s): %.200s", err.text, line);
    assert_true(json_is_object(j));
    return j;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("field '%s' is missing or not a string", key);
    return json_string_value(v);
}

static void assert_ts_shape(const char *ts)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    assert_int_equal(strlen(ts), strlen(shape));
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd')
            assert_true(ts[i] >= '0' && ts[i] <= '9');
        else
            assert_int_equal(ts[i], shape[i]);
    }
}

static int setup(void **state)
{
    log_init("test-svc", LOG_DEBUG);
    return 0;
}

static void test_log_line_is_json_with_fields(void **state)
{
    struct captured cap;
    capture_start();
    log_info("hello %d", 5);
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 1);
    json_t *j = parse_line(cap.lines[0]);
    assert_ts_shape(jstr(j, "ts"));
    assert_string_equal(jstr(j, "level"), "info");
    assert_string_equal(jstr(j, "svc"), "test-svc");
    assert_string_equal(jstr(j, "msg"), "hello 5");
    assert_null(json_object_get(j, "req_id"));
    assert_null(json_object_get(j, "truncated"));
    /* ts comes first, as in CONVENTIONS.md. */
    assert_int_equal(strncmp(cap.lines[0], "{\"ts\":", 6), 0);
    json_decref(j);
    free(cap.text);
}

static void test_log_req_id_included(void **state)
{
    struct captured cap;
    capture_start();
    log_rwarn("abc-123", "slow %s", "query");
    log_rerror("r2", "boom");
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 2);
    json_t *j = parse_line(cap.lines[0]);
    assert_string_equal(jstr(j, "req_id"), "abc-123");
    assert_string_equal(jstr(j, "level"), "warn");
    assert_string_equal(jstr(j, "msg"), "slow query");
    json_decref(j);
    j = parse_line(cap.lines[1]);
    assert_string_equal(jstr(j, "level"), "error");
    assert_string_equal(jstr(j, "req_id"), "r2");
    json_decref(j);
    free(cap.text);
}

static void test_log_escapes_strings(void **state)
{
    static const char tricky[] = "quote \" backslash \\ nl \n tab \t ctl \x01 del \x7f caf\xc3\xa9";
    struct captured cap;
    capture_start();
    log_write(LOG_INFO, "id\"x", "%s", tricky);
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 1); /* The newline in the message was escaped. */
    json_t *j = parse_line(cap.lines[0]);
    assert_string_equal(jstr(j, "msg"), tricky);
    assert_string_equal(jstr(j, "req_id"), "id\"x");
    json_decref(j);
    free(cap.text);
}

static void test_log_invalid_utf8_replaced(void **state)
{
    struct captured cap;
    capture_start();
    log_info("bad \xff\xfe bytes \xc3 end \xed\xa0\x80");
    capture_stop(&cap);
    json_t *j = parse_line(cap.lines[0]); /* jansson rejects invalid UTF-8. */
    assert_string_equal(jstr(j, "msg"), "bad ?? bytes ? end ???");
    json_decref(j);
    free(cap.text);
}

static int calls;

static int bump(void)
{
    return ++calls;
}

static void test_log_level_filtering(void **state)
{
    struct captured cap;
    log_init("test-svc", LOG_WARN);
    calls = 0;
    capture_start();
    log_debug("debug %d", bump());
    log_info("info %d", bump());
    log_warn("warn");
    log_error("error");
    log_write(LOG_INFO, NULL, "direct info");
    log_access("r", "GET", "/", 200, 1.0);
    capture_stop(&cap);
    log_init("test-svc", LOG_DEBUG);
    assert_int_equal(calls, 0); /* Arguments are not evaluated below the level. */
    assert_int_equal(cap.nlines, 2);
    assert_int_equal(log_level_get(), LOG_DEBUG);
    json_t *j = parse_line(cap.lines[0]);
    assert_string_equal(jstr(j, "level"), "warn");
    json_decref(j);
    free(cap.text);
}

static void test_log_level_parse(void **state)
{
    enum log_level lv = LOG_FATAL;
    assert_int_equal(log_level_parse("debug", &lv), 0);
    assert_int_equal(lv, LOG_DEBUG);
    assert_int_equal(log_level_parse("INFO", &lv), 0);
    assert_int_equal(lv, LOG_INFO);
    assert_int_equal(log_level_parse("Warn", &lv), 0);
    assert_int_equal(lv, LOG_WARN);
    assert_int_equal(log_level_parse("error", &lv), 0);
    assert_int_equal(lv, LOG_ERROR);
    lv = LOG_INFO;
    assert_int_equal(log_level_parse("warning", &lv), ERR_INVALID);
    assert_int_equal(log_level_parse("fatal", &lv), ERR_INVALID);
    assert_int_equal(log_level_parse("", &lv), ERR_INVALID);
    assert_int_equal(log_level_parse("info ", &lv), ERR_INVALID);
    assert_int_equal(log_level_parse(NULL, &lv), ERR_INVALID);
    assert_int_equal(lv, LOG_INFO);
}

static void test_log_access_fields(void **state)
{
    struct captured cap;
    capture_start();
    log_access("rid-1", "POST", "/urls", 201, 3.14159);
    log_access(NULL, "GET", "/r/\"x\"", 404, -1.0);
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 2);
    json_t *j = parse_line(cap.lines[0]);
    assert_string_equal(jstr(j, "level"), "info");
    assert_string_equal(jstr(j, "req_id"), "rid-1");
    assert_string_equal(jstr(j, "method"), "POST");
    assert_string_equal(jstr(j, "path"), "/urls");
    assert_true(json_is_integer(json_object_get(j, "status")));
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 201);
    assert_true(json_is_real(json_object_get(j, "dur_ms")));
    assert_float_equal(json_real_value(json_object_get(j, "dur_ms")), 3.142, 0.0005);
    assert_non_null(json_object_get(j, "msg"));
    json_decref(j);
    j = parse_line(cap.lines[1]);
    assert_string_equal(jstr(j, "path"), "/r/\"x\"");
    assert_null(json_object_get(j, "req_id"));
    assert_float_equal(json_real_value(json_object_get(j, "dur_ms")), 0.0, 0.0);
    json_decref(j);
    free(cap.text);
}

/* Bytes written to the capture file so far (the buffered mode must not have written yet). */
static long captured_size(void)
{
    struct stat st;
    assert_int_equal(fstat(fileno(capture_file), &st), 0);
    return (long)st.st_size;
}

static void test_log_buffered_mode_batches_whole_lines(void **state)
{
    struct captured cap;
    capture_start();
    log_buffer_thread(1);
    for (int i = 0; i < 3; i++)
        log_access("rid-b", "GET", "/abc123", 302, 0.5);
    assert_int_equal(captured_size(), 0); /* nothing written before the flush */
    log_flush();
    long after_three = captured_size();
    assert_true(after_three > 0);
    for (int i = 0; i < 100; i++) /* ~20 KiB: the 4 KiB buffer flushes itself in between */
        log_access("rid-b", "GET", "/abc123", 302, 0.5);
    long mid = captured_size();
    assert_true(mid > after_three);
    log_buffer_thread(0); /* flushes the rest */
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 103);
    for (size_t i = 0; i < cap.nlines; i++) {
        json_t *j = parse_line(cap.lines[i]); /* every line whole and valid */
        assert_int_equal(json_integer_value(json_object_get(j, "status")), 302);
        json_decref(j);
    }
    free(cap.text);
}

static void test_log_long_line_truncated(void **state)
{
    /* Worst cases: 2-byte UTF-8 characters and 6-byte escapes, far past the cap. */
    char *big = malloc(20001);
    assert_non_null(big);
    for (size_t i = 0; i < 20000; i += 2) {
        big[i] = (char)0xc3;
        big[i + 1] = (char)0xa9;
    }
    big[20000] = '\0';
    char ctl[9000];
    memset(ctl, '\x01', sizeof(ctl) - 1);
    ctl[sizeof(ctl) - 1] = '\0';
    struct captured cap;
    capture_start();
    log_info("%s", big);
    log_info("%s", ctl);
    log_access("rid", "GET", big, 200, 1.0);
    capture_stop(&cap);
    assert_int_equal(cap.nlines, 3);
    for (size_t i = 0; i < cap.nlines; i++) {
        assert_true(strlen(cap.lines[i]) + 1 <= 4096);
        json_t *j = parse_line(cap.lines[i]);
        assert_true(json_is_true(json_object_get(j, "truncated")));
        const char *msg = jstr(j, "msg");
        if (i == 0) {
            assert_true(strlen(msg) > 1000);
            assert_int_equal(strncmp(msg, big, strlen(msg)), 0);
        } else if (i == 1) {
            assert_true(strlen(msg) > 500);
        } else {
            assert_true(strlen(jstr(j, "path")) > 1000);
            assert_int_equal(json_integer_value(json_object_get(j, "status")), 200);
        }
        json_decref(j);
    }
    free(big);
    free(cap.text);
}

#define THREADS          8
#define LINES_PER_THREAD 100

static void *writer(void *arg)
{
    char payload[1500];
    memset(payload, 'a' + (int)(intptr_t)arg, sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_info("t%d %d %s", (int)(intptr_t)arg, i, payload);
    return NULL;
}

static void test_log_threads_do_not_interleave(void **state)
{
    pthread_t th[THREADS];
    struct captured cap;
    capture_start();
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    capture_stop(&cap);
    assert_int_equal(cap.nlines, THREADS * LINES_PER_THREAD);
    for (size_t i = 0; i < cap.nlines; i++) {
        json_t *j = parse_line(cap.lines[i]);
        const char *msg = jstr(j, "msg");
        int t = msg[1] - '0';
        assert_true(t >= 0 && t < THREADS);
        assert_int_equal(msg[strlen(msg) - 1], 'a' + t);
        json_decref(j);
    }
    free(cap.text);
}

static void test_log_preserves_errno(void **state)
{
    struct captured cap;
    capture_start();
    errno = ENOENT;
    log_error("cannot open '%s': %m", "x");
    assert_int_equal(errno, ENOENT);
    capture_stop(&cap);
    json_t *j = parse_line(cap.lines[0]);
    assert_non_null(strstr(jstr(j, "msg"), strerror(ENOENT)));
    json_decref(j);
    free(cap.text);
}

static void test_log_die_exits_1(void **state)
{
    int status = 0;
    struct captured cap;
    capture_start();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        log_die("bad config '%s'", "PORT");
    assert_int_equal(waitpid(pid, &status, 0), pid);
    capture_stop(&cap);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_int_equal(cap.nlines, 1);
    json_t *j = parse_line(cap.lines[0]);
    assert_string_equal(jstr(j, "level"), "fatal");
    assert_string_equal(jstr(j, "msg"), "bad config 'PORT'");
    json_decref(j);
    free(cap.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_log_line_is_json_with_fields, setup),
        cmocka_unit_test_setup(test_log_req_id_included, setup),
        cmocka_unit_test_setup(test_log_escapes_strings, setup),
        cmocka_unit_test_setup(test_log_invalid_utf8_replaced, setup),
        cmocka_unit_test_setup(test_log_level_filtering, setup),
        cmocka_unit_test_setup(test_log_level_parse, setup),
        cmocka_unit_test_setup(test_log_access_fields, setup),
        cmocka_unit_test_setup(test_log_buffered_mode_batches_whole_lines, setup),
        cmocka_unit_test_setup(test_log_long_line_truncated, setup),
        cmocka_unit_test_setup(test_log_threads_do_not_interleave, setup),
        cmocka_unit_test_setup(test_log_preserves_errno, setup),
        cmocka_unit_test_setup(test_log_die_exits_1, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
