/*
 * qr.h - QR codes of short URLs as SVG text or PNG bytes (libqrencode + libpng), and the
 * rules of GET /urls/<id>/qr's query parameters. Pure: no HTTP, no database.
 *
 * Geometry: the symbol has `modules` modules a side (21..177), surrounded by a quiet zone of
 * `margin` modules, so `total` = modules + 2 * margin. A PNG is exactly max(size, total)
 * pixels a side: every module is scale = max(1, size / total) pixels and the rest of the
 * side is white, split evenly around the code. An SVG has width and height `size` and a
 * viewBox of `total` units, one unit per module. Error correction level M, byte mode (the
 * text is encoded byte-exact, case kept).
 */
#ifndef QR_H
#define QR_H

#include <stddef.h>

#include "common.h"

#define QR_SIZE_MIN       32
#define QR_SIZE_MAX       2048
#define QR_SIZE_DEFAULT   256
#define QR_MARGIN_MIN     0
#define QR_MARGIN_MAX     16
#define QR_MARGIN_DEFAULT 4
#define QR_TEXT_MAX       1024               /* bytes of text a code may hold */
#define QR_OUT_MAX        (2u * 1024 * 1024) /* cap on one rendered image, in bytes */

enum qr_format { QR_FORMAT_PNG = 0, QR_FORMAT_SVG = 1 };

struct qr_params {
    enum qr_format format;
    int size;   /* QR_SIZE_MIN..QR_SIZE_MAX pixels */
    int margin; /* QR_MARGIN_MIN..QR_MARGIN_MAX modules */
};

/* Why each parameter was refused (static client-safe strings), NULL when it is fine. */
struct qr_param_errors {
    const char *format;
    const char *size;
    const char *margin;
};

/*
 * Parses the raw query values (NULL when absent: the default) into *p: format "png" or
 * "svg" (exactly, lowercase; default png); size and margin decimal integers (digits only)
 * within their ranges. Returns 0, or ERR_INVALID with every bad parameter named in *errs.
 */
int qr_params_parse(const char *format, const char *size, const char *margin, struct qr_params *p,
                    struct qr_param_errors *errs) ATTR_WARN_UNUSED;

/* The Content-Type of a format (static string). */
const char *qr_content_type(enum qr_format format);

/*
 * Renders the QR code of text[0..len) with parameters p. On success returns 0 and sets *out
 * to a new allocation of *out_len bytes (caller frees; an SVG is also NUL-terminated).
 * ERR_INVALID: text empty, longer than QR_TEXT_MAX or parameters out of range;
 * ERR_TOO_BIG: the image would pass QR_OUT_MAX; ERR_NOMEM; ERR_SYS: the encoder failed.
 */
int qr_render(const char *text, size_t len, const struct qr_params *p, char **out,
              size_t *out_len) ATTR_WARN_UNUSED;

#endif
