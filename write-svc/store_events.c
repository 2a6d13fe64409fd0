/*
 * store_events.c - SQL for the events table.
 *
 * An event's details are read as `events.details`: the function details(events) of
 * schema/007_compact_clicks.sql (api_details when set, else a stream click's details rebuilt
 * from its dictionary references). They are written to api_details: an event created
 * through the API, or any event whose details PUT replaces.
 */
#include <stdlib.h>

#include <libpq-fe.h>

#include "db.h"
#include "store.h"

#include "banned.h"

#define EVENT_JSON                                                                                 \
    "json_build_object('id', id, 'url_id', url_id, 'user_id', user_id, 'event_type',"              \
    " event_type, 'timestamp', to_char(\"timestamp\", 'YYYY-MM-DD\"T\"HH24:MI:SS'),"               \
    " 'details', events.details)"

int store_events_get(struct db *db, long long id, char **json)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    return store_query_json(db, "events_get",
                            "SELECT " EVENT_JSON "::text FROM events WHERE id = $1::bigint", 1,
                            params, json);
}

int store_events_list(struct db *db, const struct store_page *pg,
                      const struct store_event_filter *f, char **json)
{
    char url[24], user[24], lim[24], off[24];
    const char *params[] = {
        f->url_id ? store_fmt_id(url, f->url_id) : NULL,
        f->user_id ? store_fmt_id(user, f->user_id) : NULL,
        f->event_type,
        NULL,
        NULL,
    };
    store_page_params(pg, lim, off, &params[3], &params[4]);
    return store_query_json(db, "events_list",
                            "SELECT coalesce(json_agg(j ORDER BY id), '[]')::text FROM ("
                            " SELECT id, " EVENT_JSON " AS j FROM events"
                            " WHERE ($1::bigint IS NULL OR url_id = $1::bigint)"
                            " AND ($2::bigint IS NULL OR user_id = $2::bigint)"
                            " AND ($3::text IS NULL OR event_type = $3)"
                            " ORDER BY id LIMIT $4::bigint OFFSET $5::bigint) s",
                            5, params, json);
}

int store_events_insert(struct db *db, long long url_id, long long user_id, const char *type,
                        const char *details_json, char **json)
{
    char url[24], user[24];
    const char *params[] = {url_id ? store_fmt_id(url, url_id) : NULL,
                            user_id ? store_fmt_id(user, user_id) : NULL, type,
                            details_json ? details_json : "{}"};
    return store_query_json(db, "events_insert",
                            "INSERT INTO events (url_id, user_id, event_type, api_details)"
                            " VALUES ($1::bigint, $2::bigint, $3, $4::jsonb)"
                            " RETURNING " EVENT_JSON "::text",
                            4, params, json);
}

int store_events_update(struct db *db, long long id, const char *type, const char *details_json,
                        int set_url, long long url_id, int set_user, long long user_id, char **json)
{
    char idb[24], url[24], user[24];
    const char *params[] = {store_fmt_id(idb, id),
                            type,
                            details_json,
                            set_url ? "1" : NULL,
                            url_id ? store_fmt_id(url, url_id) : NULL,
                            set_user ? "1" : NULL,
                            user_id ? store_fmt_id(user, user_id) : NULL};
    return store_query_json(db, "events_update",
                            "UPDATE events SET event_type = coalesce($2, event_type),"
                            " api_details = coalesce($3::jsonb, api_details),"
                            " url_id = CASE WHEN $4::int IS NULL THEN url_id ELSE $5::bigint END,"
                            " user_id = CASE WHEN $6::int IS NULL THEN user_id ELSE $7::bigint END"
                            " WHERE id = $1::bigint RETURNING " EVENT_JSON "::text",
                            7, params, json);
}

int store_events_delete(struct db *db, long long id)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc = db_exec(db, "events_delete", "DELETE FROM events WHERE id = $1::bigint RETURNING id",
                     1, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0 ? 0 : ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}
