/*
 * routes.h - write-svc's route table (every API.md route except the redirect).
 */
#ifndef ROUTES_H
#define ROUTES_H

#include <stddef.h>

struct route;

/* The table (static, borrowed) and its length. */
const struct route *routes_table(size_t *n);

#endif
