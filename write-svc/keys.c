/*
 * keys.c - creating API keys and the "write-svc keys" CLI (see keys.h).
 */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "db.h"
#include "err.h"
#include "store.h"
#include "timefmt.h"

#include "banned.h"

#define KEYS_STATEMENT_TIMEOUT_MS 10000

int keys_create(struct db *db, const struct store_apikey_new *k, char **json)
{
    char key[APIKEY_LEN + 1], hash[APIKEY_HASH_HEX + 1];
    char *row = NULL;
    struct store_apikey_new in = *k;
    int rc = apikey_generate(key);
    if (rc || (rc = apikey_hash(key, APIKEY_LEN, hash)) != 0)
        goto out;
    in.hash = hash;
    if ((rc = store_apikeys_insert(db, &in, &row)) != 0)
        goto out;
    /* The row's JSON object with ,"key":"sk_..." before its closing brace. */
    size_t len = strlen(row);
    size_t cap = len + APIKEY_LEN + 16;
    if (len < 2 || row[len - 1] != '}' || !(*json = malloc(cap))) {
        rc = ERR_NOMEM;
        goto out;
    }
    snprintf(*json, cap, "%.*s,\"key\":\"%s\"}", (int)(len - 1), row, key);
out:
    explicit_bzero(key, sizeof(key));
    free(row);
    return rc;
}

int keys_expiry_check(const char *s, size_t len, const char **why)
{
    time_t t;
    if (strlen(s) != len || timefmt_parse(s, &t) != 0) {
        *why = "must be a timestamp YYYY-MM-DDTHH:MM:SS (UTC)";
        return ERR_INVALID;
    }
    if (t <= time(NULL)) {
        *why = "must be in the future";
        return ERR_INVALID;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The CLI                                                                   */
/* ------------------------------------------------------------------------ */

static int keys_usage(void)
{
    fputs("usage: write-svc keys create --name NAME --scopes read,write,admin [--user-id N]\n"
          "                             [--expires-at YYYY-MM-DDTHH:MM:SS]\n"
          "       write-svc keys list\n"
          "       write-svc keys revoke ID\n"
          "DATABASE_URL names the database.\n",
          stderr);
    return 2;
}

/* A positive decimal id, or 0 when s is not one. */
static long long keys_id(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return (errno || end == s || *end || v < 1 || s[0] == '+' || s[0] == ' ') ? 0 : v;
}

/* Parses create's options into *k. 0, or 2 after a message. */
static int keys_parse_create(int argc, char **argv, struct store_apikey_new *k,
                             char scopes[APIKEY_SCOPES_MAX])
{
    unsigned mask = 0;
    const char *why = NULL, *sc = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val)
            return keys_usage();
        if (strcmp(opt, "--name") == 0)
            k->name = val;
        else if (strcmp(opt, "--scopes") == 0)
            sc = val;
        else if (strcmp(opt, "--user-id") == 0 && !(k->user_id = keys_id(val)))
            why = "--user-id: must be a positive integer";
        else if (strcmp(opt, "--expires-at") == 0)
            k->expires_at = keys_expiry_check(val, strlen(val), &why) ? NULL : val;
        else if (strcmp(opt, "--user-id") != 0 && strcmp(opt, "--expires-at") != 0)
            return keys_usage();
    }
    if (!why && (!k->name || !sc))
        return keys_usage();
    if (!why && apikey_name_check(k->name, strlen(k->name), &why) != 0)
        fprintf(stderr, "write-svc keys: --name: ");
    else if (!why && apikey_scopes_parse_list(sc, &mask, &why) != 0)
        fprintf(stderr, "write-svc keys: --scopes: ");
    if (why) {
        fprintf(stderr, "%s\n", why);
        return 2;
    }
    apikey_scopes_str(mask, scopes);
    k->scopes = scopes;
    return 0;
}

/* Runs one subcommand on db; prints its JSON. The exit status. */
static int keys_run(struct db *db, int argc, char **argv)
{
    char *json = NULL, scopes[APIKEY_SCOPES_MAX];
    struct store_apikey_new k = {0};
    struct store_page all = {0};
    int rc;
    if (strcmp(argv[1], "create") == 0) {
        if ((rc = keys_parse_create(argc - 1, argv + 1, &k, scopes)) != 0)
            return rc;
        rc = keys_create(db, &k, &json);
    } else if (strcmp(argv[1], "list") == 0 && argc == 2) {
        rc = store_apikeys_list(db, &all, &json);
    } else if (strcmp(argv[1], "revoke") == 0 && argc == 3 && keys_id(argv[2])) {
        rc = store_apikeys_revoke(db, keys_id(argv[2]));
    } else {
        return keys_usage();
    }
    if (rc == ERR_NOT_FOUND)
        fprintf(stderr, "write-svc keys: %s\n", k.user_id ? "no such user" : "no such live key");
    else if (rc)
        fprintf(stderr, "write-svc keys: %s: %s\n", err_str(rc), db_errmsg(db));
    else if (json)
        printf("%s\n", json);
    else
        printf("{\"id\":%s,\"revoked\":true}\n", argv[2]);
    free(json);
    return rc ? 1 : 0;
}

int keys_cli(int argc, char **argv)
{
    const char *url = getenv("DATABASE_URL");
    if (argc < 2)
        return keys_usage();
    if (!url || !*url) {
        fputs("write-svc keys: DATABASE_URL is not set\n", stderr);
        return 2;
    }
    struct db *db = db_new(url, KEYS_STATEMENT_TIMEOUT_MS);
    if (!db) {
        fputs("write-svc keys: out of memory\n", stderr);
        return 1;
    }
    /* The service's PG_POOLER (main.c), read here as the CLI reads DATABASE_URL. */
    int pooler = db_pooler_parse(getenv("PG_POOLER"));
    if (pooler < 0) {
        fputs("write-svc keys: PG_POOLER is none, session or transaction\n", stderr);
        db_free(db);
        return 2;
    }
    db_set_pooler(db, (enum db_pooler)pooler);
    int status = keys_run(db, argc, argv);
    db_free(db);
    return status;
}
