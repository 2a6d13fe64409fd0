/*
 * scrape.h - a minimal blocking HTTP/1.0 GET for the dashboard's System page (h_system.c):
 * each instance's /readyz (or /health) and /metrics, from addresses in the configuration
 * only (DASHBOARD_TARGETS), never from a request.
 */
#ifndef SCRAPE_H
#define SCRAPE_H

#include "common.h"

struct buf;

/*
 * GETs base ("http://host[:port]", no path) + path within timeout_ms in all (resolve,
 * connect, send, read). On success returns 0, the status in *status and the body appended to
 * body (capped by body's own maximum: ERR_TOO_BIG beyond). ERR_INVALID for a base that is
 * not http://host[:port], ERR_TIMEOUT, or ERR_SYS when the connection failed.
 */
int scrape_get(const char *base, const char *path, int timeout_ms, int *status,
               struct buf *body) ATTR_WARN_UNUSED;

#endif
