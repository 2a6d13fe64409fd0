/*
 * svc.h - the start-up steps every service shares: --help/--env-example, loading
 * the configuration table (all errors reported at once, then exit 1) and
 * setting the log level from it.
 */
#ifndef SVC_H
#define SVC_H

#include <stddef.h>

struct cfg_entry;

/*
 * Handles argv[1] == "--env-example" (prints the table as env.example) or any
 * other argument (prints --help). Returns 1 when it printed something (the
 * caller exits 0), 0 when there were no arguments.
 */
int svc_flags(int argc, char **argv, const struct cfg_entry *tab, size_t n);

/*
 * Initialises logging for `name` (borrowed, must outlive the process), loads
 * tab from the environment, applies *log_level (a CFG_ENUM entry of tab) and
 * logs the effective configuration. Exits 1 on any configuration error.
 */
void svc_load_config(const char *name, const struct cfg_entry *tab, size_t n,
                     const char *const *log_level);

#endif
