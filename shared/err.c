#include "err.h"

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#include "banned.h"

/* One row per code: the text for logs, the HTTP status and the fixed text a client sees. */
struct err_row {
    int code;
    int http_status;
    const char *text;
    const char *client;
};

static const struct err_row err_table[] = {
    {.code = ERR_OK, .http_status = 200, .text = "ok", .client = "OK"},
    {.code = ERR_INVALID, .http_status = 422, .text = "invalid input", .client = "Invalid request"},
    {.code = ERR_NOT_FOUND, .http_status = 404, .text = "not found", .client = "Not found"},
    {.code = ERR_CONFLICT, .http_status = 409, .text = "conflict", .client = "Conflict"},
    {.code = ERR_TOO_BIG,
     .http_status = 413,
     .text = "too big",
     .client = "Request body too large"},
    {.code = ERR_NOMEM, .http_status = 500, .text = "out of memory", .client = "Internal error"},
    {.code = ERR_DB,
     .http_status = 503,
     .text = "database error",
     .client = "Service unavailable: database error"},
    {.code = ERR_KV,
     .http_status = 503,
     .text = "redis error",
     .client = "Service unavailable: cache unreachable"},
    {.code = ERR_TIMEOUT,
     .http_status = 503,
     .text = "timed out",
     .client = "Service unavailable: database error"},
    {.code = ERR_UNAVAILABLE,
     .http_status = 503,
     .text = "unavailable",
     .client = "Service unavailable"},
    {.code = ERR_BAD_BODY,
     .http_status = 400,
     .text = "body is not a JSON object",
     .client = "Request body must be a JSON object"},
    {.code = ERR_SYS, .http_status = 500, .text = "system error", .client = "Internal error"},
};

/* The row of code, or the row of an internal error for codes not in the table. */
static const struct err_row *err_row(int code)
{
    static const struct err_row unknown = {
        .code = 0, .http_status = 500, .text = "unknown error", .client = "Internal error"};
    for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return &unknown;
}

const char *err_str(int code)
{
    return err_row(code)->text;
}

int err_to_http_status(int code)
{
    return err_row(code)->http_status;
}

const char *err_client_text(int code)
{
    return err_row(code)->client;
}

void common_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"BUG at %s:%d: %s\"}\n", file, line, msg);
    abort();
}
