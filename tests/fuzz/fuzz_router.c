/*
 * fuzz_router.c - shared/router.c on write-svc's route table: the first byte picks the
 * method, the rest is the path. Properties: FOUND fills a route whose methods include the
 * method; METHOD_NOT_ALLOWED names some other methods; path ids are within range.
 */
#include "fuzz.h"
#include "router.h"
#include "routes.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "FOO"};
    size_t n;
    const struct route *tab = routes_table(&n);
    if (size < 1)
        return 0;
    char *path = fuzz_cstr(data + 1, size - 1);
    enum http_method m = router_method_parse(methods[data[0] % 7]);
    struct route_match match = {0};
    unsigned allowed = 0;
    enum router_result r = router_match(tab, n, m, path, &match, &allowed);
    if (r == ROUTER_FOUND)
        FUZZ_CHECK(match.route && (match.route->methods & (unsigned)m ||
                                   (m == HTTP_HEAD && (match.route->methods & HTTP_GET))));
    else if (r == ROUTER_METHOD_NOT_ALLOWED)
        FUZZ_CHECK(allowed != 0 && !(allowed & (unsigned)m));
    char list[96];
    router_methods_str(allowed, list, sizeof(list));
    free(path);
    return 0;
}
