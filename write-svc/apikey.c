/*
 * apikey.c - API key format, hashing, headers and scopes (pure; see apikey.h).
 */
#include "apikey.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "entropy.h"
#include "router.h"
#include "utf8.h"
#include "validate.h"

#include "banned.h"

static const char apikey_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const struct {
    const char *name;
    unsigned bit;
} apikey_scopes[] = {
    {"read", APIKEY_READ},
    {"write", APIKEY_WRITE},
    {"admin", APIKEY_ADMIN},
};

int apikey_generate(char out[APIKEY_LEN + 1])
{
    unsigned char raw[APIKEY_RAW_BYTES + 1] = {0}; /* one spare zero byte for the last group */
    if (entropy_fill(raw, APIKEY_RAW_BYTES) != 0)
        return ERR_SYS;
    memcpy(out, APIKEY_PREFIX, APIKEY_PREFIX_LEN);
    char *o = out + APIKEY_PREFIX_LEN;
    for (size_t i = 0; i < APIKEY_RAW_BYTES; i += 3) {
        unsigned long v = ((unsigned long)raw[i] << 16) | ((unsigned long)raw[i + 1] << 8) |
                          (i + 2 < APIKEY_RAW_BYTES ? raw[i + 2] : 0);
        size_t chars = i + 2 < APIKEY_RAW_BYTES ? 4 : 3; /* 32 = 10 * 3 + 2: 3 chars for 2 */
        for (size_t k = 0; k < chars; k++)
            *o++ = apikey_b64[(v >> (18 - 6 * k)) & 63];
    }
    *o = '\0';
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

int apikey_format_ok(const char *s, size_t len)
{
    if (len != APIKEY_LEN || memcmp(s, APIKEY_PREFIX, APIKEY_PREFIX_LEN) != 0)
        return 0;
    for (size_t i = APIKEY_PREFIX_LEN; i < len; i++)
        if (s[i] == '\0' || !strchr(apikey_b64, s[i]))
            return 0;
    return 1;
}

int apikey_hash(const char *s, size_t len, char out[APIKEY_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != APIKEY_HASH_HEX)
        return ERR_NOMEM;
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[APIKEY_HASH_HEX] = '\0';
    return 0;
}

/* s without leading and trailing spaces and tabs, as [*p, *p + *len). */
static void apikey_trim(const char *s, const char **p, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *p = s;
    *len = n;
}

int apikey_from_headers(const char *authorization, const char *x_api_key, const char **key,
                        size_t *len)
{
    if (authorization) {
        const char *p;
        size_t n;
        apikey_trim(authorization, &p, &n);
        if (n > 7 && strncasecmp(p, "bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            apikey_trim(p + 7, key, len);
            if (*len > 0)
                return 0;
        }
    }
    if (x_api_key) {
        apikey_trim(x_api_key, key, len);
        if (*len > 0)
            return 0;
    }
    return ERR_NOT_FOUND;
}

unsigned apikey_scope_parse(const char *s, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(apikey_scopes); i++)
        if (strlen(apikey_scopes[i].name) == len && memcmp(apikey_scopes[i].name, s, len) == 0)
            return apikey_scopes[i].bit;
    return 0;
}

int apikey_scopes_parse_list(const char *s, unsigned *mask, const char **why)
{
    *mask = 0;
    for (;;) {
        size_t n = strcspn(s, ",");
        unsigned bit = apikey_scope_parse(s, n);
        if (!bit) {
            *why = "must be a comma-separated list of read, write, admin";
            return ERR_INVALID;
        }
        *mask |= bit;
        if (!s[n])
            return 0;
        s += n + 1;
    }
}

void apikey_scopes_str(unsigned mask, char out[APIKEY_SCOPES_MAX])
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(apikey_scopes); i++) {
        if (!(mask & apikey_scopes[i].bit))
            continue;
        size_t n = strlen(apikey_scopes[i].name);
        if (at)
            out[at++] = ',';
        memcpy(out + at, apikey_scopes[i].name, n + 1);
        at += n;
    }
}

int apikey_scope_allows(unsigned have, unsigned need)
{
    return (have & APIKEY_ADMIN) || (have & need) == need;
}

unsigned apikey_required_scope(unsigned method, const char *pattern)
{
    static const char *const open_routes[] = {"/health",  "/livez",        "/readyz",
                                              "/metrics", "/openapi.json", "/"};
    for (size_t i = 0; i < ARRAY_SIZE(open_routes); i++)
        if (strcmp(pattern, open_routes[i]) == 0)
            return 0;
    if (strncmp(pattern, "/ui/", 4) == 0)
        return 0;
    if (strcmp(pattern, "/users/bulk") == 0 || strncmp(pattern, "/api-keys", 9) == 0)
        return APIKEY_ADMIN;
    return (method & (HTTP_GET | HTTP_HEAD)) ? APIKEY_READ : APIKEY_WRITE;
}

int apikey_name_check(const char *s, size_t len, const char **why)
{
    if (len == 0) {
        *why = "must not be empty";
        return ERR_INVALID;
    }
    if (validate_title(s, len, why) != 0)
        return ERR_INVALID;
    if (len > APIKEY_NAME_MAX) {
        *why = "must be at most 100 characters";
        return ERR_INVALID;
    }
    for (size_t i = 0, n; i < len; i += n)
        if ((n = utf8_seq_len((const unsigned char *)s + i, len - i, 1)) == 0) {
            *why = "must be valid UTF-8";
            return ERR_INVALID;
        }
    return 0;
}
