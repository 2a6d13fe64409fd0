/*
 * keys.h - making API keys (shared by POST /api-keys and the CLI) and the CLI itself:
 *
 *   write-svc keys create --name NAME --scopes read,write[,admin] [--user-id N]
 *                         [--expires-at YYYY-MM-DDTHH:MM:SS]
 *   write-svc keys list
 *   write-svc keys revoke ID
 *
 * The CLI talks to PostgreSQL only (DATABASE_URL; PG_POOLER=transaction behind PgBouncer in
 * transaction mode, as for the service); it prints JSON on stdout, the key itself once, in the
 * answer of create. A revoked key is refused by every running instance within
 * API_KEY_CACHE_MS (auth.h).
 */
#ifndef KEYS_H
#define KEYS_H

#include "common.h"

struct db;
struct store_apikey_new;

/*
 * Generates a key, stores k (its hash filled in here; k->hash is ignored) and writes the new
 * key's JSON with "key" added into *json (a new string, caller frees). 0, ERR_NOT_FOUND when
 * k->user_id names no user, ERR_SYS (no randomness) or the store's ERR_*.
 */
int keys_create(struct db *db, const struct store_apikey_new *k, char **json) ATTR_WARN_UNUSED;

/*
 * Checks an expiry: "YYYY-MM-DDTHH:MM:SS" (UTC) in the future. 0 or ERR_INVALID with a static
 * reason in *why (a reply_validator_fn).
 */
int keys_expiry_check(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/* Runs "write-svc keys ..." (argv[0] is "keys"): the process exit status. */
int keys_cli(int argc, char **argv);

#endif
