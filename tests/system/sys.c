/*
 * sys.c - helpers of the system suite (see sys.h).
 */
#include "sys.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "../e2e/httpc.h"
#include "timefmt.h"

#include "banned.h"

static struct {
    char *write_list; /* owned copies of the lists; the entries point into them */
    char *redirect_list;
    const char *write[SYS_MAX_INSTANCES];
    const char *redirect[SYS_MAX_INSTANCES];
    int nwrite, nredirect;
    const char *database_url;
    const char *redis_url;
    const char *harness_dir;
    const char *repo_root;
    PGconn *pg;
    unsigned long counter;
} sys;

/* ------------------------------------------------------------------------ */
/* Environment                                                               */
/* ------------------------------------------------------------------------ */

/* Splits the space-separated list in env var `name` into out[]; returns the count. */
static int sys_split(const char *name, char **copy, const char **out)
{
    const char *v = getenv(name);
    char *save = NULL, *tok;
    int n = 0;

    if (!v || !*v)
        return 0;
    *copy = strdup(v);
    if (!*copy)
        return 0;
    for (tok = strtok_r(*copy, " ", &save); tok && n < SYS_MAX_INSTANCES;
         tok = strtok_r(NULL, " ", &save))
        out[n++] = tok;
    return n;
}

int sys_env_load(void)
{
    sys.nwrite = sys_split("WRITE_URLS", &sys.write_list, sys.write);
    sys.nredirect = sys_split("REDIRECT_URLS", &sys.redirect_list, sys.redirect);
    sys.database_url = getenv("DATABASE_URL");
    sys.redis_url = getenv("REDIS_URL");
    sys.harness_dir = getenv("HARNESS_DIR");
    sys.repo_root = getenv("REPO_ROOT");
    if (!sys.nwrite || !sys.nredirect || !sys.database_url || !sys.redis_url || !sys.harness_dir ||
        !sys.repo_root) {
        fprintf(stderr, "systest: WRITE_URLS, REDIRECT_URLS, DATABASE_URL, REDIS_URL, "
                        "HARNESS_DIR and REPO_ROOT must be set (run tests/system/run.sh)\n");
        return -1;
    }
    if (setenv("WRITE_URL", sys.write[0], 1) != 0 || setenv("E2E_MODE", "seeded", 0) != 0)
        return -1;
    return e2e_env_load();
}

void sys_env_release(void)
{
    if (sys.pg)
        PQfinish(sys.pg);
    sys.pg = NULL;
    e2e_env_release();
    free(sys.write_list);
    free(sys.redirect_list);
    sys.write_list = sys.redirect_list = NULL;
}

int sys_nwrite(void)
{
    return sys.nwrite;
}

int sys_nredirect(void)
{
    return sys.nredirect;
}

const char *sys_write(int i)
{
    return sys.write[i % sys.nwrite];
}

const char *sys_redirect(int i)
{
    return sys.redirect[i % sys.nredirect];
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                      */
/* ------------------------------------------------------------------------ */

void sys_send(const char *base, const char *method, const char *path, const char *const *headers,
              const char *body, struct e2e_resp *out)
{
    const char *json_headers[HTTPC_MAX_HEADERS + 2];
    struct httpc_req req = {.method = method, .path = path, .headers = headers};
    size_t n = 0;
    int rc;

    if (body) {
        json_headers[n++] = "Content-Type: application/json";
        for (size_t i = 0; headers && headers[i] && n < HTTPC_MAX_HEADERS; i++)
            json_headers[n++] = headers[i];
        json_headers[n] = NULL;
        req.headers = json_headers;
        req.body = body;
        req.body_len = strlen(body);
    }
    memset(out, 0, sizeof(*out));
    rc = httpc_request(base, &req, &out->raw);
    if (rc != 0) {
        print_error("%s %s%s: no HTTP answer (httpc error %d)\n", method, base, path, rc);
        fail();
    }
    out->status = out->raw.status;
    if (out->raw.body_len > 0)
        out->json = json_loadb(out->raw.body, out->raw.body_len, JSON_DECODE_ANY, NULL);
}

void sys_dump(const struct e2e_resp *r, const char *what, const char *why)
{
    const char *ct = httpc_header(&r->raw, "Content-Type");
    const char *loc = httpc_header(&r->raw, "Location");
    int n = r->raw.body_len > 600 ? 600 : (int)r->raw.body_len;

    print_error("%s: %s\n  got status %d, Content-Type %s, Location %s, body (%zu bytes): %.*s\n",
                what, why, r->status, ct ? ct : "(none)", loc ? loc : "(none)", r->raw.body_len, n,
                r->raw.body ? r->raw.body : "");
}

void sys_assert_json_error(const struct e2e_resp *r, int status, const char *what)
{
    const char *ct = httpc_header(&r->raw, "Content-Type");
    const json_t *err = json_object_get(r->json, "error");
    char why[64];

    snprintf(why, sizeof(why), "expected %d with a JSON {\"error\": ...} body", status);
    if (r->status != status || !ct || strncasecmp(ct, "application/json", 16) != 0 ||
        !json_is_string(err) || json_string_length(err) == 0) {
        sys_dump(r, what, why);
        fail();
    }
}

void sys_follow(const char *base, const char *method, const char *code, const char *location,
                const char *const *headers)
{
    sys_follow_status(base, method, code, 302, location, headers);
}

void sys_follow_status(const char *base, const char *method, const char *code, int status,
                       const char *location, const char *const *headers)
{
    struct e2e_resp r;
    char path[128], what[200], want_status[16], cache[48] = "private, max-age=0";
    const char *loc, *cc;

    if (status == 301 || status == 308)
        snprintf(cache, sizeof(cache), "public, max-age=%d", SYS_CACHE_MAX_AGE);
    snprintf(path, sizeof(path), "/%s", code);
    snprintf(what, sizeof(what), "%s %s%s", method, base, path);
    snprintf(want_status, sizeof(want_status), "expected %d", status);
    sys_send(base, method, path, headers, NULL, &r);
    loc = httpc_header(&r.raw, "Location");
    cc = httpc_header(&r.raw, "Cache-Control");
    if (r.status != status) {
        sys_dump(&r, what, want_status);
        fail();
    }
    if (!loc || strcmp(loc, location) != 0) {
        print_error("%s: Location is '%s', expected exactly '%s'\n", what, loc ? loc : "(none)",
                    location);
        fail();
    }
    if (!cc || strcmp(cc, cache) != 0) {
        print_error("%s: Cache-Control is '%s', expected '%s'\n", what, cc ? cc : "(none)", cache);
        fail();
    }
    e2e_resp_release(&r);
}

void sys_follow_error(const char *base, const char *method, const char *code, int status)
{
    struct e2e_resp r;
    char path[64], what[160];

    snprintf(path, sizeof(path), "/%s", code);
    snprintf(what, sizeof(what), "%s %s%s", method, base, path);
    sys_send(base, method, path, NULL, NULL, &r);
    if (strcmp(method, "HEAD") == 0) {
        /* A HEAD answer has the status and headers of the GET, but no body to parse. */
        const char *ct = httpc_header(&r.raw, "Content-Type");
        if (r.status != status || !ct || strncasecmp(ct, "application/json", 16) != 0) {
            sys_dump(&r, what, "expected the error status with Content-Type application/json");
            fail();
        }
    } else {
        sys_assert_json_error(&r, status, what);
    }
    if (httpc_header(&r.raw, "Location")) {
        sys_dump(&r, what, "an error must not carry a Location");
        fail();
    }
    e2e_resp_release(&r);
}

json_t *sys_events(const char *base, long long url_id, const char *type)
{
    struct e2e_resp r;
    char path[128], what[192];
    json_t *j;

    if (type)
        snprintf(path, sizeof(path), "/events?url_id=%lld&event_type=%s", url_id, type);
    else
        snprintf(path, sizeof(path), "/events?url_id=%lld", url_id);
    snprintf(what, sizeof(what), "GET %s%s", base, path);
    sys_send(base, "GET", path, NULL, NULL, &r);
    if (r.status != 200 || !json_is_array(r.json)) {
        sys_dump(&r, what, "expected 200 with a JSON array");
        fail();
    }
    e2e_assert_array_of(r.json, e2e_assert_event);
    j = r.json;
    r.json = NULL;
    e2e_resp_release(&r);
    return j;
}

size_t sys_count_events(const char *base, long long url_id, const char *type)
{
    json_t *j = sys_events(base, url_id, type);
    size_t n = json_array_size(j);

    json_decref(j);
    return n;
}

/* ------------------------------------------------------------------------ */
/* PostgreSQL and Redis                                                      */
/* ------------------------------------------------------------------------ */

/* Drops the server's notices ("... does not exist, skipping"): not test output. */
static void sys_pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *sys_pg(void)
{
    if (sys.pg && PQstatus(sys.pg) != CONNECTION_OK)
        PQreset(sys.pg);
    if (!sys.pg) {
        sys.pg = PQconnectdb(sys.database_url);
        if (sys.pg)
            PQsetNoticeProcessor(sys.pg, sys_pg_notice, NULL);
    }
    if (!sys.pg || PQstatus(sys.pg) != CONNECTION_OK) {
        print_error("cannot connect to PostgreSQL: %s\n",
                    sys.pg ? PQerrorMessage(sys.pg) : "out of memory");
        fail();
    }
    return sys.pg;
}

char *sys_sql(const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(sys_pg(), sql, nparams, NULL, params, NULL, NULL, 0);
    char *out = NULL;

    if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
        print_error("SQL failed: %s\n  %s\n", PQresultErrorMessage(res), sql);
        PQclear(res);
        fail();
    }
    if (PQntuples(res) > 0 && PQnfields(res) > 0)
        out = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

long long sys_sql_int(const char *sql, int nparams, const char *const *params)
{
    char *v = sys_sql(sql, nparams, params), *end = NULL;
    long long n;

    if (!v) {
        print_error("SQL answered no row: %s\n", sql);
        fail();
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        print_error("SQL answered '%s', not an integer: %s\n", v, sql);
        free(v);
        fail();
    }
    free(v);
    return n;
}

int sys_redis_exists(const char *key)
{
    struct timeval tv = {1, 0};
    redisContext *c;
    redisReply *r;
    const char *hp = sys.redis_url + strlen("redis://");
    const char *colon = strrchr(hp, ':');
    char host[64];
    int port, n = -1;

    if (strncmp(sys.redis_url, "redis://", 8) != 0 || !colon ||
        (size_t)(colon - hp) >= sizeof(host))
        return -1;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    port = (int)strtol(colon + 1, NULL, 10);
    c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "EXISTS %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER)
        n = r->integer ? 1 : 0;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return n;
}

void sys_slow_sink(int on)
{
    free(sys_sql("DROP TRIGGER IF EXISTS systest_slow_sink ON events", 0, NULL));
    if (!on)
        return;
    free(sys_sql("CREATE OR REPLACE FUNCTION systest_slow_sink() RETURNS trigger "
                 "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END $$",
                 0, NULL));
    free(sys_sql("CREATE TRIGGER systest_slow_sink BEFORE INSERT ON events "
                 "FOR EACH STATEMENT EXECUTE FUNCTION systest_slow_sink()",
                 0, NULL));
}

/* ------------------------------------------------------------------------ */
/* Control and time                                                          */
/* ------------------------------------------------------------------------ */

int sys_ctl(const char *action)
{
    char script[1024];
    pid_t pid;
    int status;

    snprintf(script, sizeof(script), "%s/tests/harness-ctl.sh", sys.repo_root);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("bash", "bash", script, action, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int64_t sys_mono_ms(void)
{
    return timefmt_mono_ms();
}

void sys_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void sys_unique(char *out, size_t n, const char *prefix)
{
    snprintf(out, n, "%s%ld%lu", prefix, (long)getpid() % 100000, ++sys.counter);
}
