/*
 * routes.h - redirect-svc's route table.
 */
#ifndef ROUTES_H
#define ROUTES_H

#include <stddef.h>

struct route;

/* The table (static, borrowed) and its length. */
const struct route *routes_table(size_t *n);

#endif
