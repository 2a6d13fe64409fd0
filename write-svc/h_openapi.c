/*
 * h_openapi.c - GET /openapi.json (and HEAD): the OpenAPI 3.1 document of the whole API,
 * docs/openapi.json byte for byte (not compacted like the other JSON answers), as
 * application/json.
 *
 * The file is compiled into the binary (the Makefile turns it into a C array,
 * build/gen/openapi_json.c, and rebuilds it when docs/openapi.json changes), so neither
 * the binary nor its container needs the file at run time. tests/openapi checks the
 * document with an OpenAPI validator and replays requests against it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "http.h"

#include "banned.h"

/* Defined in the generated build/gen/openapi_json.c. */
extern const unsigned char openapi_json[];
extern const size_t openapi_json_len;

int h_openapi_get(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    char *body = malloc(openapi_json_len + 1);
    if (!body)
        return http_reply_error(resp, 503, "Service unavailable: out of memory");
    memcpy(body, openapi_json, openapi_json_len);
    body[openapi_json_len] = '\0';
    /* As is: http_reply_json would compact it, and the file is kept readable. */
    return http_reply_bytes(resp, 200, body, openapi_json_len, "application/json");
}
