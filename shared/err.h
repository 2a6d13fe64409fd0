/*
 * err.h - the one mapping from ERR_* codes to text and to HTTP statuses.
 */
#ifndef ERR_H
#define ERR_H

/* Returns a static, lowercase description of an ERR_* code. */
const char *err_str(int code);

/*
 * Maps an ERR_* code to the HTTP status a client sees. ERR_INVALID is 422,
 * ERR_BAD_BODY is 400 (callers that must answer 422 for a bad body, as /urls
 * does, pass ERR_INVALID instead), NOT_FOUND 404, CONFLICT 409, TOO_BIG 413,
 * UNAVAILABLE/KV/TIMEOUT/DB 503 (a store
 * failure is the dependency's, never the client's), anything else 500.
 */
int err_to_http_status(int code);

/*
 * The fixed text a client sees for an ERR_* code ("Conflict", "Service unavailable:
 * database error", "Internal error", ...): never internal detail. Static.
 */
const char *err_client_text(int code);

#endif
