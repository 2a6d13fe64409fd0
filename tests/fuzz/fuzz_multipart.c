/*
 * fuzz_multipart.c - shared/multipart.c: the input is "<Content-Type header value>\n<body>".
 * Properties: a found part lies inside the body; the answer is 0, ERR_INVALID or ERR_NOT_FOUND.
 */
#include "fuzz.h"
#include "multipart.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *parts[2];
    size_t lens[2];
    char *own = fuzz_split(data, size, '\n', 2, parts, lens);
    static const char *const names[] = {"file", "", "x"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *d = NULL;
        size_t dl = 0;
        int rc = multipart_find(parts[0], parts[1], lens[1], names[i], &d, &dl);
        FUZZ_CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_NOT_FOUND);
        if (rc == 0)
            FUZZ_CHECK(d >= parts[1] && d + dl <= parts[1] + lens[1]);
    }
    free(own);
    return 0;
}
