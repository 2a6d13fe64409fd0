/*
 * routes.c - redirect-svc's routes: /health, then any one-segment path as a code.
 * "health" (and every other API name) is a reserved code, so the literal wins
 * without ambiguity.
 */
#include "routes.h"

#include "handlers.h"
#include "router.h"
#include "banned.h"

static const struct route routes[] = {
    {"/health", HTTP_GET, h_health_get},
    {"/:code", HTTP_GET, h_redirect},
};

const struct route *routes_table(size_t *n)
{
    *n = ARRAY_SIZE(routes);
    return routes;
}
