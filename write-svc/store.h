/*
 * store.h - write-svc's SQL, one file per table (store_users.c, store_urls.c,
 * store_events.c). SQL only: no HTTP and no Redis here.
 *
 * Reads render their JSON inside PostgreSQL (json_build_object / json_agg), so
 * a list of thousands of rows is one text value handed straight to the client.
 * Every `char **json` out parameter receives a new allocation (caller frees).
 * Functions return 0 or a negative ERR_* code (ERR_NOT_FOUND for a missing
 * row; ERR_DB/ERR_TIMEOUT with the detail on the db handle).
 * Functions marked "in the caller's transaction" expect db_begin() first.
 */
#ifndef STORE_H
#define STORE_H

#include <time.h>

#include "common.h"

struct db;

/* Advisory lock key: URL writes take it shared, the read-model rebuild exclusive. */
#define STORE_READMODEL_LOCK 7262001
/* Advisory lock key serialising user writes (uniqueness of username/email). */
#define STORE_USERS_LOCK 7262002

struct store_page {
    int paginate; /* 0: every row */
    long limit;
    long offset;
};

/* A URL row as the write paths need it. Strings are new allocations (store_url_release). */
struct store_url {
    long long id;
    long long user_id; /* 0 when none */
    char *short_code;
    char *original_url;
    char *title; /* NULL when none */
    int is_active;
    int redirect_type;    /* 301, 302, 307 or 308 */
    long long expires_at; /* seconds since the epoch; -1 when none */
    long max_clicks;      /* 0 when none */
    long long clicks;     /* clicks persisted so far (url_totals) */
};

void store_url_release(struct store_url *u);

/* --- shared helpers (store.c) --- */

/*
 * Pagination as LIMIT/OFFSET text parameters: *plim NULL (every row) when pg does not
 * paginate. lim and off are the caller's 24-byte buffers that *plim and *poff point into.
 */
void store_page_params(const struct store_page *pg, char lim[24], char off[24], const char **plim,
                       const char **poff);

/* Runs a statement that returns one text column of one row; copies it to *json. */
int store_query_json(struct db *db, const char *name, const char *sql, int nparams,
                     const char *const *params, char **json) ATTR_WARN_UNUSED;

/* pg_advisory_xact_lock_shared(STORE_READMODEL_LOCK), in the caller's transaction. */
int store_lock_readmodel_shared(struct db *db) ATTR_WARN_UNUSED;

/* 1 when a row with this id exists in `table` ("users"/"urls"/"events"), 0 when not, or ERR_*. */
int store_exists(struct db *db, const char *table, long long id) ATTR_WARN_UNUSED;

/* --- users --- */
int store_users_get(struct db *db, long long id, char **json) ATTR_WARN_UNUSED;
/* only_id: 0 for every user, else that user alone (a key bound to a user). */
int store_users_list(struct db *db, const struct store_page *pg, const char *username,
                     const char *email, long long only_id, char **json) ATTR_WARN_UNUSED;
/* Creates a user; ERR_CONFLICT with *conflict = "username" or "email". Own transaction. */
int store_users_create(struct db *db, const char *username, const char *email, char **json,
                       const char **conflict) ATTR_WARN_UNUSED;
/* Updates the given fields (NULL = unchanged). ERR_NOT_FOUND / ERR_CONFLICT. Own transaction. */
int store_users_update(struct db *db, long long id, const char *username, const char *email,
                       char **json, const char **conflict) ATTR_WARN_UNUSED;
/* Deletes the user and nulls user_id on their events (urls: ON DELETE SET NULL). Caller's tx. */
int store_users_delete(struct db *db, long long id) ATTR_WARN_UNUSED;
/* Bulk upsert of one CSV row (id may be NULL; created_at may be NULL). Caller's tx. */
int store_users_bulk_row(struct db *db, const char *id, const char *username, const char *email,
                         const char *created_at) ATTR_WARN_UNUSED;
/* Moves users_id_seq past max(id). Caller's tx. */
int store_users_fix_sequence(struct db *db) ATTR_WARN_UNUSED;
/* pg_advisory_xact_lock(STORE_USERS_LOCK). Caller's tx. */
int store_users_lock(struct db *db) ATTR_WARN_UNUSED;

/* --- urls --- */
int store_urls_get(struct db *db, long long id, char **json) ATTR_WARN_UNUSED;
/* user_id 0 = any; is_active -1 = any. */
int store_urls_list(struct db *db, const struct store_page *pg, long long user_id, int is_active,
                    char **json) ATTR_WARN_UNUSED;
/*
 * Inserts a URL (every field of *u but id and clicks) and its 'created' event,
 * taking the shared read-model lock in the same statement. Caller's tx. Returns ERR_CONFLICT when
 * the code is taken (the caller draws another), ERR_NOT_FOUND when user_id
 * names no user (foreign key). *id receives the new id.
 */
int store_urls_insert(struct db *db, const struct store_url *u, long long *id,
                      char **json) ATTR_WARN_UNUSED;
/* Locks and reads a URL (SELECT ... FOR UPDATE). Caller's tx. */
int store_urls_lock(struct db *db, long long id, struct store_url *out) ATTR_WARN_UNUSED;
/* Writes the row's fields (all but id, user_id, clicks) and bumps updated_at. Caller's tx. */
int store_urls_update(struct db *db, const struct store_url *u, char **json) ATTR_WARN_UNUSED;
/* Deletes the URL row. Caller's tx. */
int store_urls_delete(struct db *db, long long id) ATTR_WARN_UNUSED;
/* Calls fn for each active URL of a user, locking the rows. Caller's tx. */
int store_urls_each_active_of_user(struct db *db, long long user_id,
                                   int (*fn)(void *arg, const struct store_url *u),
                                   void *arg) ATTR_WARN_UNUSED;
/* Pages through active URLs with id > after, at most limit rows, locking them FOR SHARE. */
int store_urls_each_active(struct db *db, long long after, int limit,
                           int (*fn)(void *arg, const struct store_url *u), void *arg,
                           long long *last_id, int *count) ATTR_WARN_UNUSED;
/* The clicks persisted for a URL (url_totals; 0 when none) into *clicks. */
int store_urls_clicks(struct db *db, long long id, long long *clicks) ATTR_WARN_UNUSED;

/* --- events --- */
struct store_event_filter {
    long long url_id;       /* 0 = any */
    long long user_id;      /* 0 = any */
    const char *event_type; /* NULL = any */
};
int store_events_get(struct db *db, long long id, char **json) ATTR_WARN_UNUSED;
int store_events_list(struct db *db, const struct store_page *pg,
                      const struct store_event_filter *f, char **json) ATTR_WARN_UNUSED;
/* Inserts an event. url_id/user_id 0 = NULL; details_json NULL = {}. Autocommit or caller's tx. */
int store_events_insert(struct db *db, long long url_id, long long user_id, const char *type,
                        const char *details_json, char **json) ATTR_WARN_UNUSED;
/*
 * Updates the given fields of an event: type/details NULL = unchanged;
 * set_url/set_user say whether url_id/user_id change (0 meaning NULL).
 */
int store_events_update(struct db *db, long long id, const char *type, const char *details_json,
                        int set_url, long long url_id, int set_user, long long user_id,
                        char **json) ATTR_WARN_UNUSED;
int store_events_delete(struct db *db, long long id) ATTR_WARN_UNUSED;

/* --- urls: QR codes (h_qr.c) --- */
/* The short code of URL id: 0 and a new string in *code (caller frees), ERR_NOT_FOUND, ERR_*. */
int store_urls_code(struct db *db, long long id, char **code) ATTR_WARN_UNUSED;

/* Writes the decimal form of v into out (24 bytes) and returns out; "NULL" handling is the
 * caller's. */
const char *store_fmt_id(char out[24], long long v);

/* --- api keys (store_apikeys.c): hashes only, never a key --- */
struct store_apikey_new {
    const char *name;
    const char *hash;       /* SHA-256 hex of the key (apikey_hash) */
    const char *scopes;     /* "read,write" (apikey_scopes_str) */
    long long user_id;      /* 0 when not bound */
    const char *expires_at; /* "YYYY-MM-DDTHH:MM:SS" or NULL */
};

/* A live (not revoked) key as the auth guard needs it. */
struct store_apikey {
    long long id;
    char scopes[24];   /* "read,write" */
    long long user_id; /* 0 when not bound */
    long long expires; /* seconds since the epoch; -1 when it never expires */
};

/* Inserts a key; *json gets its JSON (no secret). ERR_NOT_FOUND when user_id names no user. */
int store_apikeys_insert(struct db *db, const struct store_apikey_new *k,
                         char **json) ATTR_WARN_UNUSED;
/* Every key (revoked ones too, with revoked_at) as a JSON array in *json, by id. */
int store_apikeys_list(struct db *db, const struct store_page *pg, char **json) ATTR_WARN_UNUSED;
/* Sets revoked_at. ERR_NOT_FOUND when no live key has this id. */
int store_apikeys_revoke(struct db *db, long long id) ATTR_WARN_UNUSED;
/* The live key with this hash into *out, ERR_NOT_FOUND, or ERR_*. */
int store_apikeys_lookup(struct db *db, const char *hash,
                         struct store_apikey *out) ATTR_WARN_UNUSED;
/* 1 when row id of `table` ("urls" or "events") belongs to user_id, 0 when not, or ERR_*. */
int store_owns(struct db *db, const char *table, long long id, long long user_id) ATTR_WARN_UNUSED;

/* --- stats (store_stats.c): GET /urls/<id>/stats from the rollups --- */
struct store_stats_query {
    long long id;
    time_t from, to;           /* the range, both included (UTC); from is cut to its bucket */
    int hourly;                /* 1: buckets of an hour (url_stats_hour); 0: of a day */
    long long unique_visitors; /* PFCOUNT of the range's days, or -1 (unknown: JSON null) */
};

/* The stats of one URL as a new JSON string in *json. ERR_NOT_FOUND for a missing URL. */
int store_stats_get(struct db *db, const struct store_stats_query *q, char **json) ATTR_WARN_UNUSED;

#endif
