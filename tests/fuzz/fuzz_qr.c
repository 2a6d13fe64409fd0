/*
 * fuzz_qr.c - write-svc/qr.c: the query parameters of GET /urls/<id>/qr (format, size,
 * margin) and the text encoded, from the input "<format>\n<size>\n<margin>\n<text>". The
 * image is rendered only for accepted parameters and short texts (rendering is the slow part).
 * Properties: 0 or ERR_INVALID with a reason; a rendered image is non-empty and within the cap.
 */
#include <string.h>

#include "fuzz.h"
#include "qr.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p[4];
    size_t lens[4];
    char *own = fuzz_split(data, size, '\n', 4, p, lens);
    struct qr_params qp;
    struct qr_param_errors errs;
    memset(&errs, 0, sizeof(errs));
    int rc = qr_params_parse(lens[0] ? p[0] : NULL, lens[1] ? p[1] : NULL, lens[2] ? p[2] : NULL,
                             &qp, &errs);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID);
    if (rc == 0 && lens[3] <= 64 && qp.size <= 256) {
        char *out = NULL;
        size_t n = 0;
        rc = qr_render(p[3], lens[3], &qp, &out, &n);
        FUZZ_CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG);
        if (rc == 0)
            FUZZ_CHECK(out && n > 0 && n <= QR_OUT_MAX);
        free(out);
    }
    free(own);
    return 0;
}
