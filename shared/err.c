#include "err.h"

#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#include "banned.h"

static const struct {
    int code;
    int http_status;
    const char *text;
} err_table[] = {
    {ERR_OK, 200, "ok"},
    {ERR_INVALID, 422, "invalid input"},
    {ERR_NOT_FOUND, 404, "not found"},
    {ERR_CONFLICT, 409, "conflict"},
    {ERR_TOO_BIG, 413, "too big"},
    {ERR_NOMEM, 500, "out of memory"},
    {ERR_DB, 503, "database error"},
    {ERR_KV, 503, "redis error"},
    {ERR_TIMEOUT, 503, "timed out"},
    {ERR_UNAVAILABLE, 503, "unavailable"},
    {ERR_BAD_BODY, 400, "body is not a JSON object"},
    {ERR_SYS, 500, "system error"},
};

const char *err_str(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == code)
            return err_table[i].text;
    return "unknown error";
}

int err_to_http_status(int code)
{
    for (size_t i = 0; i < ARRAY_SIZE(err_table); i++)
        if (err_table[i].code == code)
            return err_table[i].http_status;
    return 500;
}

void common_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"BUG at %s:%d: %s\"}\n", file, line, msg);
    abort();
}
