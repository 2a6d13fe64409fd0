/*
 * test_http.c - unit tests for the MHD-free parts of shared/http.c: dispatch
 * (404/405 JSON, handlers with path parameters), the JSON error replies, the
 * ERR_* to status mapping, query lookup and request ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.h"
#include "http.h"

#include "banned.h"

static int calls;
static long long seen_id;
static char seen_code[32];

static int h_user_get(struct http_req *req, struct http_resp *resp)
{
    calls++;
    seen_id = req->match.ids[0];
    char *body = strdup("{\"ok\":true}");
    assert_non_null(body);
    return http_reply_json(resp, 200, body, strlen(body));
}

static int h_code_get(struct http_req *req, struct http_resp *resp)
{
    calls++;
    size_t n = req->match.params[0].len;
    assert_true(n < sizeof(seen_code));
    memcpy(seen_code, req->match.params[0].p, n);
    seen_code[n] = '\0';
    assert_non_null(req->app);
    return http_reply_empty(resp, *(int *)req->app);
}

static const struct route routes[] = {
    {"/users/:id", HTTP_GET | HTTP_PUT, h_user_get},
    {"/users", HTTP_POST, h_user_get},
    {"/r/:code", HTTP_GET, h_code_get},
};

static void make_req(struct http_req *req, enum http_method m, const char *path)
{
    memset(req, 0, sizeof(*req));
    req->method = m;
    req->path = path;
    req->body = "";
}

static json_t *parse_body(const struct http_resp *resp)
{
    json_error_t err;
    assert_non_null(resp->body);
    json_t *j = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("response body is not JSON (%s): %.*s", err.text, (int)resp->body_len, resp->body);
    assert_true(json_is_object(j));
    return j;
}

/* Checks the body is exactly {"error": msg}. */
static void assert_error_body(const struct http_resp *resp, const char *msg)
{
    json_t *j = parse_body(resp);
    assert_int_equal(json_object_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(j, "error")), msg);
    assert_string_equal(resp->content_type, "application/json");
    json_decref(j);
}

static void test_http_dispatch_404_json(void **state)
{
    struct http_req req;
    struct http_resp resp = {0};
    calls = 0;
    make_req(&req, HTTP_GET, "/nowhere");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 404);
    assert_int_equal(resp.status, 404);
    assert_error_body(&resp, "Not found");
    assert_int_equal(calls, 0);
    http_resp_release(&resp);

    make_req(&req, HTTP_GET, "/users/abc");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 404);
    assert_error_body(&resp, "Not found");
    http_resp_release(&resp);
}

static void test_http_dispatch_405_json_with_allow(void **state)
{
    struct http_req req;
    struct http_resp resp = {0};
    char allow[64];
    calls = 0;
    make_req(&req, HTTP_DELETE, "/users/5");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 405);
    assert_int_equal(resp.status, 405);
    assert_error_body(&resp, "Method not allowed");
    assert_int_equal(resp.allow, HTTP_GET | HTTP_HEAD | HTTP_PUT);
    router_methods_str(resp.allow, allow, sizeof(allow));
    assert_string_equal(allow, "GET, HEAD, PUT");
    assert_int_equal(calls, 0);
    http_resp_release(&resp);

    make_req(&req, HTTP_GET, "/users");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 405);
    assert_int_equal(resp.allow, HTTP_POST);
    http_resp_release(&resp);
}

static int guard_calls;

static int guard_pass(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    (void)resp;
    guard_calls++;
    return 0;
}

static int guard_refuse(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    guard_calls++;
    return http_reply_error(resp, 401, "Unauthorized");
}

/* Guards run in order before the handler; the first that replies ends the request. */
static void test_http_dispatch_guards(void **state)
{
    struct http_req req;
    struct http_resp resp = {0};
    const http_guard_fn pass[HTTP_MAX_GUARDS] = {guard_pass, guard_pass};
    const http_guard_fn refuse[HTTP_MAX_GUARDS] = {guard_pass, guard_refuse, guard_pass};
    calls = guard_calls = 0;
    make_req(&req, HTTP_GET, "/users/7");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), pass, &req, &resp), 200);
    assert_int_equal(guard_calls, 2);
    assert_int_equal(calls, 1);
    http_resp_release(&resp);
    make_req(&req, HTTP_GET, "/users/7");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), refuse, &req, &resp), 401);
    assert_int_equal(guard_calls, 4);
    assert_int_equal(calls, 1); /* the handler never ran */
    assert_error_body(&resp, "Unauthorized");
    http_resp_release(&resp);
    /* A request no route takes meets no guard. */
    make_req(&req, HTTP_GET, "/nothing");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), refuse, &req, &resp), 404);
    assert_int_equal(guard_calls, 4);
    http_resp_release(&resp);
}

static void test_http_dispatch_calls_handler_with_params(void **state)
{
    struct http_req req;
    struct http_resp resp = {0};
    calls = 0;
    seen_id = -1;
    make_req(&req, HTTP_GET, "/users/42/");
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 200);
    assert_int_equal(calls, 1);
    assert_true(seen_id == 42);
    assert_ptr_equal(req.match.route, &routes[0]);
    json_t *j = parse_body(&resp);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    http_resp_release(&resp);

    int status = 302;
    make_req(&req, HTTP_HEAD, "/r/WqxP6K");
    req.app = &status;
    assert_int_equal(http_dispatch(routes, ARRAY_SIZE(routes), NULL, &req, &resp), 302);
    assert_int_equal(calls, 2);
    assert_string_equal(seen_code, "WqxP6K");
    assert_null(resp.body);
    http_resp_release(&resp);
}

static void test_http_reply_error_shape(void **state)
{
    struct http_resp resp = {0};
    assert_int_equal(http_reply_error(&resp, 400, "Bad \"input\"\n"), 400);
    assert_int_equal(resp.status, 400);
    assert_int_equal(resp.body_len, strlen(resp.body));
    assert_error_body(&resp, "Bad \"input\"\n");
    http_resp_release(&resp);
    assert_null(resp.body);
    assert_int_equal(resp.status, 0);
}

static void test_http_reply_error_field_shape(void **state)
{
    struct http_resp resp = {0};
    assert_int_equal(
        http_reply_error_field(&resp, 422, "Validation failed", "email", "must contain '@'"), 422);
    json_t *j = parse_body(&resp);
    assert_int_equal(json_object_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "Validation failed");
    json_t *d = json_object_get(j, "details");
    assert_true(json_is_object(d));
    assert_int_equal(json_object_size(d), 1);
    assert_string_equal(json_string_value(json_object_get(d, "email")), "must contain '@'");
    json_decref(j);

    /* A field without a reason gets "invalid"; replying again replaces the body. */
    assert_int_equal(http_reply_error_field(&resp, 422, "Validation failed", "url", NULL), 422);
    j = parse_body(&resp);
    d = json_object_get(j, "details");
    assert_string_equal(json_string_value(json_object_get(d, "url")), "invalid");
    json_decref(j);
    http_resp_release(&resp);
}

/* PostgreSQL's rendering leaves compact and NUL-terminated; strings are untouched. */
static void test_http_reply_json_compacts(void **state)
{
    struct http_resp resp = {0};
    char *body = strdup("[{\"id\" : 1, \"t\" : \"a , b : c\"}, \n {\"id\" : 2}]");
    assert_non_null(body);
    assert_int_equal(http_reply_json(&resp, 200, body, strlen(body)), 200);
    assert_string_equal(resp.content_type, "application/json");
    assert_int_equal(resp.body_len, strlen(resp.body));
    assert_string_equal(resp.body, "[{\"id\":1,\"t\":\"a , b : c\"},{\"id\":2}]");
    http_resp_release(&resp);
    assert_int_equal(http_reply_json(&resp, 500, NULL, 0), 500);
    assert_null(resp.body);
    assert_int_equal(resp.body_len, 0);
    http_resp_release(&resp);
}

/* Non-JSON bodies (images, metrics) keep every byte and their own Content-Type. */
static void test_http_reply_bytes_as_is(void **state)
{
    struct http_resp resp = {0};
    char *body = malloc(4);
    assert_non_null(body);
    memcpy(body, "a \0\n", 4);
    assert_int_equal(http_reply_bytes(&resp, 200, body, 4, "image/png"), 200);
    assert_int_equal(resp.body_len, 4);
    assert_memory_equal(resp.body, "a \0\n", 4);
    assert_string_equal(resp.content_type, "image/png");
    http_resp_release(&resp);
}

static void test_http_reply_err_mapping(void **state)
{
    static const struct {
        int code;
        int status;
        const char *msg;
    } cases[] = {
        {ERR_INVALID, 422, "Invalid request"},
        {ERR_BAD_BODY, 400, "Request body must be a JSON object"},
        {ERR_NOT_FOUND, 404, "Not found"},
        {ERR_CONFLICT, 409, "Conflict"},
        {ERR_TOO_BIG, 413, "Request body too large"},
        {ERR_DB, 503, "Service unavailable: database error"},
        {ERR_KV, 503, "Service unavailable: cache unreachable"},
        {ERR_TIMEOUT, 503, "Service unavailable: database error"},
        {ERR_UNAVAILABLE, 503, "Service unavailable"},
        {ERR_NOMEM, 500, "Internal error"},
        {ERR_SYS, 500, "Internal error"},
        {-999, 500, "Internal error"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct http_resp resp = {0};
        int status = http_reply_err(&resp, cases[i].code);
        if (status != cases[i].status || resp.status != cases[i].status)
            fail_msg("code %d: want %d, got %d", cases[i].code, cases[i].status, status);
        assert_error_body(&resp, cases[i].msg);
        http_resp_release(&resp);
    }
}

static void test_http_reply_empty(void **state)
{
    struct http_resp resp = {0};
    assert_int_equal(http_reply_error(&resp, 404, "Not found"), 404);
    assert_int_equal(http_reply_empty(&resp, 204), 204);
    assert_null(resp.body);
    assert_int_equal(resp.body_len, 0);
    assert_null(resp.content_type);
    http_resp_release(&resp);
}

static void test_http_req_id_valid(void **state)
{
    char max[HTTP_REQ_ID_MAX + 1];
    assert_true(http_req_id_valid("abc"));
    assert_true(http_req_id_valid("A-Z_0.9:x"));
    assert_true(http_req_id_valid("0123456789abcdef0123456789abcdef"));
    memset(max, 'a', sizeof(max));
    max[HTTP_REQ_ID_MAX - 1] = '\0'; /* 63 characters: the longest accepted. */
    assert_true(http_req_id_valid(max));
    max[HTTP_REQ_ID_MAX - 1] = 'a';
    max[HTTP_REQ_ID_MAX] = '\0'; /* 64 characters. */
    assert_false(http_req_id_valid(max));
    assert_false(http_req_id_valid(""));
    assert_false(http_req_id_valid("a b"));
    assert_false(http_req_id_valid("a/b"));
    assert_false(http_req_id_valid("a\"b"));
    assert_false(http_req_id_valid("a\nb"));
    assert_false(http_req_id_valid("caf\xc3\xa9"));
}

static void test_http_req_id_generate(void **state)
{
    char a[HTTP_REQ_ID_MAX], b[HTTP_REQ_ID_MAX];
    http_req_id_generate(a);
    http_req_id_generate(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_true(http_req_id_valid(a));
    assert_string_not_equal(a, b);
}

static void test_http_req_query(void **state)
{
    struct http_req req;
    make_req(&req, HTTP_GET, "/urls");
    req.query[0] = (struct http_query_arg){"user_id", "7"};
    req.query[1] = (struct http_query_arg){"flag", NULL};
    req.query[2] = (struct http_query_arg){"user_id", "8"};
    req.nquery = 3;
    assert_string_equal(http_req_query(&req, "user_id"), "7");
    assert_null(http_req_query(&req, "flag"));
    assert_null(http_req_query(&req, "missing"));
    assert_null(http_req_query(&req, "USER_ID"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_dispatch_404_json),
        cmocka_unit_test(test_http_reply_json_compacts),
        cmocka_unit_test(test_http_reply_bytes_as_is),
        cmocka_unit_test(test_http_dispatch_405_json_with_allow),
        cmocka_unit_test(test_http_dispatch_calls_handler_with_params),
        cmocka_unit_test(test_http_dispatch_guards),
        cmocka_unit_test(test_http_reply_error_shape),
        cmocka_unit_test(test_http_reply_error_field_shape),
        cmocka_unit_test(test_http_reply_err_mapping),
        cmocka_unit_test(test_http_reply_empty),
        cmocka_unit_test(test_http_req_id_valid),
        cmocka_unit_test(test_http_req_id_generate),
        cmocka_unit_test(test_http_req_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
