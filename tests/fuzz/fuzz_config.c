/*
 * fuzz_config.c - shared/config.c: one value for each entry type (int with a range, bool,
 * string with a length range, URL, enum, secret URL), taken from the input split at NUL
 * bytes, loaded through cfg_load() as the services load their environment.
 * Properties: 0 or ERR_INVALID; the report stays within its buffer and names each bad entry;
 * an accepted int is within its range; the effective configuration and a masked secret print.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static long port;
    static int flag;
    static const char *str, *url, *level, *secret;
    static const struct cfg_entry tab[] = {
        {"FZ_PORT", CFG_INT, "8080", 0, 65535, 0, 0, NULL, "port", &port},
        {"FZ_FLAG", CFG_BOOL, "false", 0, 0, 0, 0, NULL, "flag", &flag},
        {"FZ_STR", CFG_STRING, "x", 1, 16, 0, 0, NULL, "string", &str},
        {"FZ_URL", CFG_URL, "http://a", 0, 0, 0, 0, NULL, "url", &url},
        {"FZ_LEVEL", CFG_ENUM, "info", 0, 0, 0, 0, "debug|info|warn|error", "level", &level},
        {"FZ_SECRET", CFG_URL, NULL, 0, 0, 1, 1, NULL, "secret", &secret},
    };
    char *parts[6];
    size_t lens[6];
    char *own = fuzz_split(data, size, '\0', 6, parts, lens);
    for (size_t i = 0; i < 6; i++) {
        if (lens[i] == 0 && i % 2)
            unsetenv(tab[i].name); /* absent: the default (or "required") */
        else
            setenv(tab[i].name, parts[i], 1);
    }
    char errs[512];
    memset(errs, 'x', sizeof(errs));
    int rc = cfg_load(tab, 6, errs, 256);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID);
    FUZZ_CHECK(memchr(errs, '\0', 256) != NULL && errs[256] == 'x');
    if (rc == 0) {
        FUZZ_CHECK(port >= 0 && port <= 65535);
        char masked[256];
        cfg_mask_secret(secret, masked, sizeof(masked));
        FUZZ_CHECK(strlen(masked) < sizeof(masked));
    }
    free(own);
    return 0;
}
