/*
 * test_qr.c - unit tests for write-svc/qr.c: the query rules of GET /urls/<id>/qr, and
 * PNG and SVG renderings checked module by module against libqrencode's matrix (the PNG
 * decoded back with libpng, the SVG's path redrawn).
 */
#include <png.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../write-svc/qr.h"
#include "common.h"

#include "banned.h"

#define TEXT "http://127.0.0.1:8080/WqxP6K"

/* ---- parameters ---- */

static void test_qr_params_defaults(void **state)
{
    struct qr_params p;
    struct qr_param_errors e;
    (void)state;
    assert_int_equal(qr_params_parse(NULL, NULL, NULL, &p, &e), 0);
    assert_int_equal(p.format, QR_FORMAT_PNG);
    assert_int_equal(p.size, QR_SIZE_DEFAULT);
    assert_int_equal(p.margin, QR_MARGIN_DEFAULT);
    assert_string_equal(qr_content_type(p.format), "image/png");
    assert_int_equal(qr_params_parse("svg", "2048", "0", &p, &e), 0);
    assert_int_equal(p.format, QR_FORMAT_SVG);
    assert_int_equal(p.size, 2048);
    assert_int_equal(p.margin, 0);
    assert_string_equal(qr_content_type(p.format), "image/svg+xml");
    assert_int_equal(qr_params_parse("png", "32", "16", &p, &e), 0);
    assert_int_equal(p.size, 32);
    assert_int_equal(p.margin, 16);
    assert_int_equal(qr_params_parse("png", "0064", "04", &p, &e), 0);
    assert_int_equal(p.size, 64);
    assert_int_equal(p.margin, 4);
}

static void test_qr_params_refused(void **state)
{
    static const char *const formats[] = {"", "SVG", "gif", "png ", "svgz", "jpeg", NULL};
    static const char *const sizes[] = {
        "",  "31", "2049", "abc", "1e3", "+256", "-1", "0", "256.0", " 256", "99999999999999999999",
        NULL};
    static const char *const margins[] = {"", "17", "-1", "x", "4.5", "100000", NULL};
    struct qr_params p;
    struct qr_param_errors e;
    (void)state;
    for (size_t i = 0; formats[i]; i++) {
        assert_int_equal(qr_params_parse(formats[i], NULL, NULL, &p, &e), ERR_INVALID);
        assert_non_null(e.format);
        assert_null(e.size);
        assert_null(e.margin);
    }
    for (size_t i = 0; sizes[i]; i++) {
        assert_int_equal(qr_params_parse(NULL, sizes[i], NULL, &p, &e), ERR_INVALID);
        assert_null(e.format);
        assert_non_null(e.size);
    }
    for (size_t i = 0; margins[i]; i++) {
        assert_int_equal(qr_params_parse("svg", "100", margins[i], &p, &e), ERR_INVALID);
        assert_non_null(e.margin);
        assert_null(e.size);
    }
    /* Every bad parameter is named at once. */
    assert_int_equal(qr_params_parse("bmp", "1", "99", &p, &e), ERR_INVALID);
    assert_non_null(e.format);
    assert_non_null(e.size);
    assert_non_null(e.margin);
}

/* ---- rendering ---- */

static QRcode *reference(const char *text)
{
    QRcode *qr = QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0, QR_ECLEVEL_M);
    assert_non_null(qr);
    return qr;
}

static char *render(const char *text, enum qr_format f, int size, int margin, size_t *len)
{
    struct qr_params p = {f, size, margin};
    char *out = NULL;
    assert_int_equal(qr_render(text, strlen(text), &p, &out, len), 0);
    assert_non_null(out);
    assert_true(*len > 0 && *len <= QR_OUT_MAX);
    return out;
}

/* Decodes a PNG to 8-bit gray; *side receives its width (asserted square). */
static unsigned char *png_gray(const char *png, size_t len, int *side)
{
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png, len));
    assert_int_equal(img.width, img.height);
    img.format = PNG_FORMAT_GRAY;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    *side = (int)img.width;
    return px;
}

/* Checks every pixel of a decoded PNG against the matrix, quiet zone included. */
static void check_png(const char *text, int size, int margin)
{
    size_t len;
    int side;
    QRcode *qr = reference(text);
    char *png = render(text, QR_FORMAT_PNG, size, margin, &len);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    unsigned char *px = png_gray(png, len, &side);
    int total = qr->width + 2 * margin;
    int scale = size / total > 0 ? size / total : 1;
    assert_int_equal(side, total * scale > size ? total * scale : size);
    int off = (side - total * scale) / 2 + margin * scale;
    for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
            int mx = x - off < 0 ? -1 : (x - off) / scale;
            int my = y - off < 0 ? -1 : (y - off) / scale;
            int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
                       (qr->data[my * qr->width + mx] & 1);
            if (px[(size_t)y * (size_t)side + (size_t)x] != (dark ? 0 : 255))
                fail_msg("size %d margin %d: pixel (%d,%d) is %d", size, margin, x, y,
                         px[(size_t)y * (size_t)side + (size_t)x]);
        }
    }
    free(px);
    free(png);
    QRcode_free(qr);
}

static void test_qr_png_pixels_match_the_matrix(void **state)
{
    (void)state;
    check_png(TEXT, 256, 4);
    check_png(TEXT, 32, 0); /* smaller than the code: one pixel per module */
    check_png(TEXT, 100, 16);
    check_png("https://sho.rt/AbCdEfGhIjKlMnOp", 333, 2);
}

static void test_qr_png_largest_is_bounded(void **state)
{
    size_t len;
    int side;
    char text[QR_TEXT_MAX + 1];
    (void)state;
    memset(text, 'A', QR_TEXT_MAX);
    text[QR_TEXT_MAX] = '\0';
    char *png = render(text, QR_FORMAT_PNG, QR_SIZE_MAX, QR_MARGIN_MAX, &len);
    unsigned char *px = png_gray(png, len, &side);
    assert_int_equal(side, QR_SIZE_MAX);
    free(px);
    free(png);
}

/* Redraws the SVG's path ("M<x> <y>h<n>v1h-<n>z" per run) and compares with the matrix. */
static void test_qr_svg_path_matches_the_matrix(void **state)
{
    size_t len;
    char want[160];
    (void)state;
    QRcode *qr = reference(TEXT);
    char *svg = render(TEXT, QR_FORMAT_SVG, 300, 3, &len);
    int total = qr->width + 6;
    assert_int_equal(strlen(svg), len);
    assert_true(strncmp(svg, "<?xml", 5) == 0);
    snprintf(want, sizeof(want), "width=\"300\" height=\"300\" viewBox=\"0 0 %d %d\"", total,
             total);
    assert_non_null(strstr(svg, want));
    assert_non_null(strstr(svg, "</svg>"));
    unsigned char *grid = calloc((size_t)total * (size_t)total, 1);
    assert_non_null(grid);
    const char *d = strstr(svg, " d=\"");
    assert_non_null(d);
    d += 4;
    while (*d == 'M') {
        int x, y, n, n2, used = 0;
        assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2, &used), 4);
        assert_int_equal(n, n2);
        for (int i = 0; i < n; i++)
            grid[y * total + x + i]++;
        d += used;
    }
    assert_int_equal(*d, '"');
    for (int y = 0; y < total; y++)
        for (int x = 0; x < total; x++) {
            int mx = x - 3, my = y - 3;
            int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
                       (qr->data[my * qr->width + mx] & 1);
            assert_int_equal(grid[y * total + x], dark);
        }
    free(grid);
    free(svg);
    QRcode_free(qr);
}

static void test_qr_render_refuses_bad_input(void **state)
{
    char *out = (char *)1;
    size_t len = 1;
    char big[QR_TEXT_MAX + 2];
    struct qr_params ok = {QR_FORMAT_PNG, 256, 4};
    struct qr_params bad[] = {
        {QR_FORMAT_PNG, 31, 4},
        {QR_FORMAT_SVG, 2049, 4},
        {QR_FORMAT_PNG, 256, -1},
        {QR_FORMAT_SVG, 256, 17},
    };
    (void)state;
    assert_int_equal(qr_render("", 0, &ok, &out, &len), ERR_INVALID);
    assert_null(out);
    assert_int_equal(len, 0);
    memset(big, 'a', sizeof(big));
    assert_int_equal(qr_render(big, QR_TEXT_MAX + 1, &ok, &out, &len), ERR_INVALID);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(qr_render(TEXT, strlen(TEXT), &bad[i], &out, &len), ERR_INVALID);
        assert_null(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qr_params_defaults),
        cmocka_unit_test(test_qr_params_refused),
        cmocka_unit_test(test_qr_png_pixels_match_the_matrix),
        cmocka_unit_test(test_qr_png_largest_is_bounded),
        cmocka_unit_test(test_qr_svg_path_matches_the_matrix),
        cmocka_unit_test(test_qr_render_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
