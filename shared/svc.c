/*
 * svc.c - shared start-up steps (see svc.h).
 */
#include "svc.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"

#include "banned.h"

int svc_flags(int argc, char **argv, const struct cfg_entry *tab, size_t n)
{
    if (argc < 2)
        return 0;
    if (strcmp(argv[1], "--env-example") == 0)
        cfg_print_env_example(stdout, tab, n);
    else
        cfg_print_help(stdout, tab, n);
    return 1;
}

void svc_load_config(const char *name, const struct cfg_entry *tab, size_t n,
                     const char *const *log_level)
{
    char errs[4096];
    enum log_level level = LOG_INFO;
    log_init(name, LOG_INFO);
    if (cfg_load(tab, n, errs, sizeof(errs)) != 0)
        log_die("invalid configuration (see --help): %s", errs);
    if (log_level_parse(*log_level, &level) != 0)
        log_die("invalid LOG_LEVEL '%s'", *log_level);
    log_init(name, level);
    cfg_log_effective(tab, n);
}
