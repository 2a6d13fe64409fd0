/*
 * h_bulk.c - POST /users/bulk: a users CSV uploaded as multipart/form-data
 * (part "file"), or sent as the raw body with Content-Type text/csv.
 *
 * Counting follows API.md 4.3-2: every data row whose username and email are
 * non-empty counts as imported, whether it inserted, updated (same id) or was
 * already there (same username, no id). Before any row reaches PostgreSQL the
 * whole file is checked (bulkcheck.c, DECISIONS.md H4): such rows pass the
 * username and email rules of POST /users, and every field is UTF-8; the first
 * bad row refuses the file (422 naming its line), so nothing is imported.
 * All rows go in one transaction: a malformed CSV imports nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "bulkcheck.h"
#include "csv.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "multipart.h"
#include "reply.h"
#include "store.h"
#include "timefmt.h"
#include "validate.h"

#include "banned.h"

/* Column indexes of the header, -1 when absent. */
struct bulk_cols {
    int id, username, email, created_at;
};

/* Field `col` of rec as a C string, or NULL when the column is absent or the field empty. */
static const char *h_bulk_field(const struct csv_record *rec, int col)
{
    if (col < 0 || (size_t)col >= rec->nfields || rec->lens[col] == 0)
        return NULL;
    return rec->fields[col];
}

/* Upserts one data row; *counted says whether it counts as imported. */
static int h_bulk_row(struct db *db, const struct bulk_cols *cols, const struct csv_record *rec,
                      int *counted)
{
    const char *username = h_bulk_field(rec, cols->username);
    const char *email = h_bulk_field(rec, cols->email);
    const char *id = h_bulk_field(rec, cols->id);
    const char *created = h_bulk_field(rec, cols->created_at);
    long long idv;
    time_t t;
    *counted = 0;
    if (!username || !email)
        return 0; /* skipped silently, not counted */
    if (id && validate_query_id(id, &idv) != 0)
        id = NULL; /* a garbage id is treated as no id */
    if (created && timefmt_parse(created, &t) != 0)
        created = NULL; /* an unparsable time becomes "now" */
    *counted = 1;
    return store_users_bulk_row(db, id, username, email, created);
}

/* Reads the header record into *cols. 0, or ERR_INVALID. */
static int h_bulk_header(struct csv *c, struct bulk_cols *cols)
{
    struct csv_record rec;
    if (csv_next(c, &rec) != 1)
        return ERR_INVALID;
    cols->id = csv_column(&rec, "id");
    cols->username = csv_column(&rec, "username");
    cols->email = csv_column(&rec, "email");
    cols->created_at = csv_column(&rec, "created_at");
    return cols->username < 0 || cols->email < 0 ? ERR_INVALID : 0;
}

/*
 * Imports every row in one transaction. Returns 0 with *count, an ERR_* from the
 * store, or ERR_INVALID/ERR_TOO_BIG with *line set for a CSV problem.
 */
static int h_bulk_import(struct app *app, struct db *db, struct csv *c,
                         const struct bulk_cols *cols, long *count, size_t *line)
{
    struct csv_record rec;
    long rows = 0;
    int rc = db_begin(db);
    if (rc)
        return rc;
    if ((rc = store_users_lock(db)) != 0)
        goto out;
    while ((rc = csv_next(c, &rec)) == 1) {
        int counted;
        if (++rows > app->cfg.bulk_max_rows) {
            rc = ERR_TOO_BIG;
            break;
        }
        if ((rc = h_bulk_row(db, cols, &rec, &counted)) != 0)
            break;
        *count += counted;
    }
    *line = c->line;
    if (rc == 0 && (rc = store_users_fix_sequence(db)) == 0)
        rc = db_commit(db);
out:
    db_rollback(db);
    return rc;
}

/* The CSV bytes of the request: the "file" part, or a text/csv body. 0 or ERR_*. */
static int h_bulk_payload(const struct http_req *req, const char **data, size_t *len)
{
    const char *ct = req->content_type ? req->content_type : "";
    if (strncasecmp(ct, "text/csv", 8) == 0 && req->body_len > 0) {
        *data = req->body;
        *len = req->body_len;
        return 0;
    }
    return multipart_find(ct, req->body, req->body_len, "file", data, len);
}

static int h_bulk_reply_csv_error(struct http_resp *resp, int rc, size_t line)
{
    char msg[96];
    if (rc == ERR_TOO_BIG)
        snprintf(msg, sizeof(msg), "CSV too large at line %zu", line);
    else
        snprintf(msg, sizeof(msg), "Malformed CSV at line %zu", line);
    return http_reply_error(resp, rc == ERR_TOO_BIG ? 413 : 400, msg);
}

/* 422 {"error": "Invalid row at line N", "details": {"line": "N", field: why}}. */
static int h_bulk_reply_row_error(struct http_resp *resp, const struct bulkcheck_err *e)
{
    char msg[64], line[24];
    const char *field = e->field ? e->field : "row", *why = e->why ? e->why : "invalid";
    struct buf b;
    snprintf(msg, sizeof(msg), "Invalid row at line %zu", e->line);
    snprintf(line, sizeof(line), "%zu", e->line);
    buf_init(&b, 1024);
    int rc = buf_puts(&b, "{\"error\":");
    if (!rc)
        rc = buf_append_json_str(&b, msg, strlen(msg));
    if (!rc)
        rc = buf_printf(&b, ",\"details\":{\"line\":\"%s\",", line);
    if (!rc)
        rc = buf_append_json_str(&b, field, strlen(field));
    if (!rc)
        rc = buf_putc(&b, ':');
    if (!rc)
        rc = buf_append_json_str(&b, why, strlen(why));
    if (!rc)
        rc = buf_puts(&b, "}}");
    if (rc) {
        buf_release(&b);
        return http_reply_error(resp, 422, msg);
    }
    size_t len;
    char *body = buf_detach(&b, &len);
    return http_reply_json(resp, 422, body, len);
}

/* The answer to a file bulkcheck_csv refused. */
static int h_bulk_reply_check(struct http_resp *resp, int rc, const struct bulkcheck_err *e)
{
    if (rc == ERR_INVALID)
        return h_bulk_reply_row_error(resp, e);
    if (rc == ERR_BAD_BODY && e->field && strcmp(e->field, "header") == 0)
        return http_reply_error(resp, 400,
                                "CSV must start with a header naming username and email");
    return h_bulk_reply_csv_error(resp, rc == ERR_TOO_BIG ? ERR_TOO_BIG : ERR_INVALID, e->line);
}

int h_bulk_users(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct bulk_cols cols;
    struct csv c;
    struct db *db = NULL;
    const char *data;
    size_t len, line = 0;
    long count = 0;
    struct bulkcheck_err e;
    if (h_bulk_payload(req, &data, &len) != 0)
        return http_reply_error(resp, 400, "No file provided");
    int rc = bulkcheck_csv(data, len, app->cfg.bulk_max_rows, app->cfg.bulk_strict, &e);
    if (rc)
        return h_bulk_reply_check(resp, rc, &e);
    csv_init(&c, data, len);
    if (h_bulk_header(&c, &cols) != 0) {
        http_reply_error(resp, 400, "CSV must start with a header naming username and email");
        goto out;
    }
    if (!(db = reply_db_or_reply(app, req, resp)))
        goto out;
    rc = h_bulk_import(app, db, &c, &cols, &count, &line);
    if (rc == ERR_INVALID || rc == ERR_TOO_BIG)
        h_bulk_reply_csv_error(resp, rc, line);
    else if (rc)
        reply_store_error(req, resp, db, rc, "User not found");
    else {
        char body[80];
        int n = snprintf(body, sizeof(body), "{\"imported\":%ld,\"count\":%ld}", count, count);
        http_reply_json(resp, 201, strndup(body, (size_t)n), (size_t)n);
    }
out:
    db_pool_release(app->pool, db);
    csv_release(&c);
    return resp->status;
}
