/*
 * visitor.c - the salted visitor hash (see visitor.h).
 */
#include "visitor.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

#define VISITOR_MSG_MAX 1024 /* an address (<= 45 bytes) + NUL + the first bytes of the agent */

int visitor_hash(const uint8_t salt[VISITOR_SALT_LEN], const char *ip, const char *ua,
                 char out[VISITOR_HEX_LEN])
{
    unsigned char msg[VISITOR_MSG_MAX], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!ip || !ip[0])
        return ERR_INVALID;
    size_t ilen = strnlen(ip, 64), ulen = ua ? strnlen(ua, VISITOR_MSG_MAX - 65) : 0;
    memcpy(msg, ip, ilen);
    msg[ilen] = '\0'; /* the separator: neither part can hold a NUL */
    if (ulen)
        memcpy(msg + ilen + 1, ua, ulen);
    if (!HMAC(EVP_sha256(), salt, VISITOR_SALT_LEN, msg, ilen + 1 + ulen, md, &mdlen) || mdlen < 16)
        return ERR_INVALID;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}
