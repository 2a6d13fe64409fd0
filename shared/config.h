/*
 * config.h - table-driven configuration from environment variables
 * (after Redis's static_configs).
 *
 * Each service declares an array of struct cfg_entry. cfg_load() walks it,
 * parses every variable with full range checks, and reports ALL errors at once
 * (one line each in the caller's buffer) instead of stopping at the first.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdio.h>

#include "common.h"

enum cfg_type {
    CFG_INT,    /* dest: long *; decimal, checked against [min, max] */
    CFG_BOOL,   /* dest: int *; true/false/1/0/yes/no/on/off, case-insensitive */
    CFG_STRING, /* dest: const char **; any non-empty value (min/max bound its length if max > 0) */
    CFG_URL,    /* dest: const char **; must contain "://" */
    CFG_ENUM,   /* dest: const char **; one of the '|'-separated `choices` */
    CFG_LIST,   /* dest: const char **; a list the service parses; set but empty is kept as ""
                   (an empty list), unlike every other type; max > 0 bounds its length */
};

struct cfg_entry {
    const char *name; /* the environment variable, e.g. "PORT" */
    enum cfg_type type;
    const char *def;     /* default as text, or NULL for none */
    long min, max;       /* CFG_INT range; CFG_STRING length range when max > 0 */
    int required;        /* 1: must be set (a default does not count) */
    int secret;          /* 1: never printed in clear (URL passwords are masked) */
    const char *choices; /* CFG_ENUM: "debug|info|warn|error" */
    const char *help;    /* one line for --help and env.example */
    void *dest;          /* where the parsed value goes (see cfg_type) */
};

/*
 * The entries every service shares, defined once: a service's table lists
 * CFG_DATABASE_URL(&cfg.database_url) and so on, so their names, types, ranges
 * and help text cannot drift apart. `port` is the default as text ("8081"),
 * `what` names the server in the help ("HTTP", "health HTTP").
 */
#define CFG_STREAM_SHARDS_MAX 256
#define CFG_DATABASE_URL(dst)                                                                      \
    {                                                                                              \
        .name = "DATABASE_URL", .type = CFG_URL, .required = 1, .secret = 1,                       \
        .help = "PostgreSQL URL (postgresql://user@host:port/db)", .dest = (dst)                   \
    }
#define CFG_REDIS_URL(dst)                                                                         \
    {                                                                                              \
        .name = "REDIS_URL", .type = CFG_URL, .required = 1, .secret = 1,                          \
        .help = "Redis URL: redis://[:password@]host:port[/db], or a Redis Cluster by its seeds: " \
                "redis+cluster://[:password@]host:port[,host:port...]",                            \
        .dest = (dst)                                                                              \
    }
#define CFG_PORT(port, what, dst)                                                                  \
    {                                                                                              \
        .name = "PORT", .type = CFG_INT, .def = (port), .min = 0, .max = 65535,                    \
        .help = what " port (0 picks a free one and logs it)", .dest = (dst)                       \
    }
#define CFG_LOG_LEVEL(dst)                                                                         \
    {                                                                                              \
        .name = "LOG_LEVEL", .type = CFG_ENUM, .def = "info", .choices = "debug|info|warn|error",  \
        .help = "minimum log level", .dest = (dst)                                                 \
    }
#define CFG_EVENT_RETENTION_MONTHS(dst)                                                            \
    {                                                                                              \
        .name = "EVENT_RETENTION_MONTHS", .type = CFG_INT, .def = "0", .min = 0, .max = 1200,      \
        .help = "whole months of stream clicks kept in events, besides this one; older months "    \
                "are dropped (the stats keep their counts; 0 = keep all)",                         \
        .dest = (dst)                                                                              \
    }
#define CFG_STREAM_SHARDS(dst)                                                                     \
    {                                                                                              \
        .name = "STREAM_SHARDS", .type = CFG_INT, .def = "8", .min = 1,                            \
        .max = CFG_STREAM_SHARDS_MAX, .help = "click stream shards (same value in every service)", \
        .dest = (dst)                                                                              \
    }

/* Peers whose X-Forwarded-For / X-Real-IP are believed (netaddr.h); "" trusts nobody. */
#define CFG_TRUSTED_PROXIES(dst)                                                                   \
    {                                                                                              \
        .name = "TRUSTED_PROXIES", .type = CFG_LIST, .def = "127.0.0.0/8,::1", .max = 4096,        \
        .help = "CIDR list of proxies whose X-Forwarded-For/X-Real-IP give the client address "    \
                "(set but empty: none)",                                                           \
        .dest = (dst)                                                                              \
    }
/* The front door's own host[:port] names: links to them are refused (write-svc), never counted
   as clicks (redirect-svc). */
#define CFG_SELF_HOSTS(dst)                                                                        \
    {                                                                                              \
        .name = "SELF_HOSTS", .type = CFG_LIST, .def = "127.0.0.1:8080,localhost:8080,[::1]:8080", \
        .max = 4096,                                                                               \
        .help = "host[:port] list naming this shortener's front door besides PUBLIC_BASE_URL "     \
                "(no port: 80 and 443; set but empty: none)",                                      \
        .dest = (dst)                                                                              \
    }

/*
 * Loads every entry of tab from the environment (or its default). String
 * results point into the environment or at the default literal (borrowed,
 * valid for the life of the process). On failure returns ERR_INVALID and
 * writes one "NAME: reason" line per bad entry into errs (NUL-terminated,
 * truncated to errlen). Returns 0 when all entries are valid.
 */
int cfg_load(const struct cfg_entry *tab, size_t n, char *errs, size_t errlen) ATTR_WARN_UNUSED;

/* Prints the table as help text: name, type, default, range, description. */
void cfg_print_help(FILE *out, const struct cfg_entry *tab, size_t n);

/* Prints the table in env.example form: "# help\n# NAME=default\n" per entry. */
void cfg_print_env_example(FILE *out, const struct cfg_entry *tab, size_t n);

/* Logs the effective configuration at info level, secrets masked. */
void cfg_log_effective(const struct cfg_entry *tab, size_t n);

/*
 * Copies url into out with any password masked ("redis://:***@host",
 * "postgres://user:***@host/db", "password=***" in key=value form).
 */
void cfg_mask_secret(const char *url, char *out, size_t outlen);

#endif
