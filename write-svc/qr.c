/*
 * qr.c - QR codes as SVG or PNG, and the query rules of GET /urls/<id>/qr (see qr.h).
 *
 * libqrencode gives the module matrix (data[y * width + x] & 1 is a dark module); the SVG
 * is one <path> with a rectangle per horizontal run of dark modules; the PNG is 1-bit
 * grayscale written row by row by libpng into a capped buffer. libpng reports errors by
 * longjmp: the function that calls setjmp keeps no state it changes afterwards (the output
 * buffer and the row belong to its caller), so nothing is indeterminate after a jump.
 */
#include "qr.h"

#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#include "banned.h"

/* Where the code sits in the image: all in pixels except total (modules). */
struct qr_geom {
    int modules; /* symbol modules a side */
    int total;   /* modules + 2 * margin */
    int scale;   /* pixels per module */
    int side;    /* image pixels a side */
    int offset;  /* pixel where module 0 starts (quiet zone and centring included) */
};

/* ------------------------------------------------------------------------ */
/* Parameters                                                                */
/* ------------------------------------------------------------------------ */

/* 1..5 decimal digits within [min, max]; 0 and *out, or ERR_INVALID. */
static int qr_parse_int(const char *s, int min, int max, int *out)
{
    int v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (n >= 5 || s[n] < '0' || s[n] > '9')
            return ERR_INVALID;
        v = v * 10 + (s[n] - '0');
    }
    if (n == 0 || v < min || v > max)
        return ERR_INVALID;
    *out = v;
    return 0;
}

int qr_params_parse(const char *format, const char *size, const char *margin, struct qr_params *p,
                    struct qr_param_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    p->format = QR_FORMAT_PNG;
    p->size = QR_SIZE_DEFAULT;
    p->margin = QR_MARGIN_DEFAULT;
    if (format && strcmp(format, "svg") == 0)
        p->format = QR_FORMAT_SVG;
    else if (format && strcmp(format, "png") != 0)
        errs->format = "must be svg or png";
    if (size && qr_parse_int(size, QR_SIZE_MIN, QR_SIZE_MAX, &p->size) != 0)
        errs->size = "must be an integer from 32 to 2048";
    if (margin && qr_parse_int(margin, QR_MARGIN_MIN, QR_MARGIN_MAX, &p->margin) != 0)
        errs->margin = "must be an integer from 0 to 16";
    return errs->format || errs->size || errs->margin ? ERR_INVALID : 0;
}

const char *qr_content_type(enum qr_format format)
{
    return format == QR_FORMAT_SVG ? "image/svg+xml" : "image/png";
}

static void qr_geom_of(int modules, const struct qr_params *p, struct qr_geom *g)
{
    g->modules = modules;
    g->total = modules + 2 * p->margin;
    g->scale = p->size / g->total > 0 ? p->size / g->total : 1;
    g->side = g->total * g->scale > p->size ? g->total * g->scale : p->size;
    g->offset = (g->side - g->total * g->scale) / 2 + p->margin * g->scale;
}

/* ------------------------------------------------------------------------ */
/* SVG                                                                       */
/* ------------------------------------------------------------------------ */

/* One rectangle per horizontal run of dark modules, in viewBox units. */
static int qr_svg_runs(const QRcode *qr, int margin, struct buf *b)
{
    int rc = 0;
    for (int y = 0; y < qr->width && !rc; y++) {
        const unsigned char *row = qr->data + (size_t)y * (size_t)qr->width;
        for (int x = 0; x < qr->width && !rc;) {
            if (!(row[x] & 1)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < qr->width && (row[x + run] & 1))
                run++;
            rc = buf_printf(b, "M%d %dh%dv1h-%dz", x + margin, y + margin, run, run);
            x += run;
        }
    }
    return rc;
}

static int qr_svg(const QRcode *qr, const struct qr_params *p, struct buf *b)
{
    int total = qr->width + 2 * p->margin;
    int rc = buf_printf(b,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\""
                        " height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
                        "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>"
                        "<path fill=\"#000000\" d=\"",
                        p->size, p->size, total, total, total, total);
    if (!rc)
        rc = qr_svg_runs(qr, p->margin, b);
    if (!rc)
        rc = buf_puts(b, "\"/></svg>\n");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */
/* ------------------------------------------------------------------------ */

/* The output of one PNG: the capped buffer and why writing stopped. */
struct qr_png_out {
    struct buf *b;
    int rc; /* 0, or the ERR_* that made the write callback fail */
};

static void qr_png_write(png_structp png, png_bytep data, size_t len)
{
    struct qr_png_out *o = png_get_io_ptr(png);
    int rc = buf_append(o->b, data, len);
    if (rc) {
        o->rc = rc;
        png_error(png, "output buffer full");
    }
}

static void qr_png_flush(png_structp png)
{
    (void)png;
}

/* libpng's error hook must not return: jump back to qr_png_rows' setjmp, quietly. */
static void qr_png_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void qr_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Fills one 1-bit row (1 = white) for image row py. */
static void qr_png_row(const QRcode *qr, const struct qr_geom *g, int py, png_bytep row)
{
    size_t rowbytes = ((size_t)g->side + 7) / 8;
    memset(row, 0xff, rowbytes);
    int my = py - g->offset;
    if (my < 0 || my >= g->modules * g->scale)
        return;
    const unsigned char *mrow = qr->data + (size_t)(my / g->scale) * (size_t)qr->width;
    for (int mx = 0; mx < g->modules; mx++) {
        if (!(mrow[mx] & 1))
            continue;
        for (int px = g->offset + mx * g->scale, end = px + g->scale; px < end; px++)
            row[px / 8] &= (png_byte) ~(0x80u >> (px % 8));
    }
}

/* Writes the whole PNG with png/info already created. 0, or -1 after a libpng error. */
static int qr_png_rows(png_structp png, png_infop info, const QRcode *qr, const struct qr_geom *g,
                       struct qr_png_out *o, png_bytep row)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, o, qr_png_write, qr_png_flush);
    png_set_IHDR(png, info, (png_uint_32)g->side, (png_uint_32)g->side, 1, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < g->side; y++) {
        qr_png_row(qr, g, y, row);
        png_write_row(png, row);
    }
    png_write_end(png, info);
    return 0;
}

static int qr_png(const QRcode *qr, const struct qr_params *p, struct buf *b)
{
    struct qr_geom g;
    struct qr_png_out o = {b, 0};
    qr_geom_of(qr->width, p, &g);
    png_bytep row = malloc(((size_t)g.side + 7) / 8);
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, qr_png_error, qr_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = ERR_NOMEM;
    if (!row || !png || !info)
        goto out;
    rc = 0;
    if (qr_png_rows(png, info, qr, &g, &o, row) != 0)
        rc = o.rc ? o.rc : ERR_SYS;
out:
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);
    free(row);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

int qr_render(const char *text, size_t len, const struct qr_params *p, char **out, size_t *out_len)
{
    struct buf b;
    QRcode *qr = NULL;
    int rc = ERR_INVALID;
    *out = NULL;
    *out_len = 0;
    buf_init(&b, QR_OUT_MAX);
    if (len == 0 || len > QR_TEXT_MAX || p->size < QR_SIZE_MIN || p->size > QR_SIZE_MAX ||
        p->margin < QR_MARGIN_MIN || p->margin > QR_MARGIN_MAX)
        goto out;
    qr = QRcode_encodeData((int)len, (const unsigned char *)text, 0, QR_ECLEVEL_M);
    rc = qr ? 0 : ERR_SYS;
    if (!rc)
        rc = p->format == QR_FORMAT_SVG ? qr_svg(qr, p, &b) : qr_png(qr, p, &b);
    if (!rc) {
        *out = buf_detach(&b, out_len);
        rc = *out ? 0 : ERR_NOMEM;
    }
out:
    if (qr)
        QRcode_free(qr);
    buf_release(&b);
    return rc;
}
