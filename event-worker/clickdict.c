/*
 * clickdict.c - the click dictionaries and their cache (see clickdict.h).
 *
 * The cache is one open-addressing table (linear probing, no deletion: it empties whole)
 * over keys "<kind><field>...", each field NULL as "-" or "<length>:<bytes>" (the encoding
 * click_dict_key uses in SQL, there in characters: both are self-delimiting, so two values
 * never share a key). The hash is FNV-1a with a per-process seed, and a probe longer than
 * CLICKDICT_PROBE_MAX slots counts as a miss that is not cached, so chosen keys cannot make
 * a lookup cost more than that. Within a part, a missed value is cached at once with a
 * pending id (-1 - its index among the part's misses), so that its other rows wait for the
 * same answer; the cache never empties in the middle of a part.
 */
#include "clickdict.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"
#include "sink_pg.h"

#include "banned.h"

#define CLICKDICT_SLOTS     (CLICKDICT_ENTRIES_MAX * 2) /* load factor at most 1/2 */
#define CLICKDICT_PROBE_MAX 64
#define CLICKDICT_FIELDS    5
#define CLICKDICT_ARRAY_MAX (256u << 20) /* one parameter array of one part */

/* One dictionary: its fields and the two statements over arrays of them. */
struct clickdict_kind {
    char tag;
    int nfields;
    const char *ins_name, *ins_sql, *sel_name, *sel_sql;
};

/*
 * The insert, in key order, returns the id and values of each row it inserted; the select
 * answers the ids of the values it did not insert (another worker's, or an earlier attempt's)
 * by position in the arrays.
 */
static const struct clickdict_kind clickdict_kinds[] = {
    {.tag = 'l',
     .nfields = 2,
     .ins_name = "clickdict_links_ins",
     .ins_sql = "INSERT INTO click_links (short_code, original_url, key) "
                "SELECT a, b, click_dict_key2(a, b) FROM unnest($1::text[], $2::text[]) "
                "AS u (a, b) ORDER BY 3 ON CONFLICT (key) DO NOTHING "
                "RETURNING id, short_code, original_url",
     .sel_name = "clickdict_links_sel",
     .sel_sql = "SELECT u.i, d.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY "
                "AS u (a, b, i) JOIN click_links d ON d.key = click_dict_key2(u.a, u.b)"},
    {.tag = 'a',
     .nfields = 5,
     .ins_name = "clickdict_agents_ins",
     .ins_sql = "INSERT INTO click_agents (user_agent, browser, os, device, bot, key) "
                "SELECT a, b, c, d, e::boolean, click_dict_key5(a, b, c, d, e::boolean::text) "
                "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) "
                "AS u (a, b, c, d, e) ORDER BY 6 ON CONFLICT (key) DO NOTHING "
                "RETURNING id, user_agent, browser, os, device, "
                "CASE WHEN bot THEN 't' WHEN NOT bot THEN 'f' END",
     .sel_name = "clickdict_agents_sel",
     .sel_sql = "SELECT u.i, d.id FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
                "$5::text[]) WITH ORDINALITY AS u (a, b, c, d, e, i) JOIN click_agents d "
                "ON d.key = click_dict_key5(u.a, u.b, u.c, u.d, u.e::boolean::text)"},
    {.tag = 'r',
     .nfields = 2,
     .ins_name = "clickdict_refs_ins",
     .ins_sql = "INSERT INTO click_referrers (referrer, referrer_host, key) "
                "SELECT a, b, click_dict_key2(a, b) FROM unnest($1::text[], $2::text[]) "
                "AS u (a, b) ORDER BY 3 ON CONFLICT (key) DO NOTHING "
                "RETURNING id, referrer, referrer_host",
     .sel_name = "clickdict_refs_sel",
     .sel_sql = "SELECT u.i, d.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY "
                "AS u (a, b, i) JOIN click_referrers d ON d.key = click_dict_key2(u.a, u.b)"},
};

struct clickdict_slot {
    uint64_t hash;
    char *key; /* owned; NULL when empty */
    size_t len;
    int32_t id; /* > 0, or a pending miss (-1 - index) during a part */
};

struct clickdict {
    struct clickdict_slot *slot; /* CLICKDICT_SLOTS */
    size_t count, bytes;
    uint64_t seed;
    unsigned long hits, misses;
};

/* The misses of one dictionary in one part. */
struct clickdict_miss {
    const struct clickdict_kind *k;
    size_t n;
    size_t *row;                  /* the first row of each missed value */
    struct clickdict_slot **slot; /* its cache slot, or NULL (not cached: probe too long) */
    int32_t *id;                  /* the answers */
    size_t *sel;                  /* scratch: the misses one statement is about */
};

static void clickdict_clear(struct clickdict *cd)
{
    for (size_t i = 0; i < CLICKDICT_SLOTS; i++)
        free(cd->slot[i].key);
    memset(cd->slot, 0, CLICKDICT_SLOTS * sizeof(*cd->slot));
    cd->count = cd->bytes = 0;
}

struct clickdict *clickdict_new(void)
{
    struct clickdict *cd = calloc(1, sizeof(*cd));
    if (!cd || !(cd->slot = calloc(CLICKDICT_SLOTS, sizeof(*cd->slot)))) {
        free(cd);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cd->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    return cd;
}

void clickdict_free(struct clickdict *cd)
{
    if (!cd)
        return;
    clickdict_clear(cd);
    free(cd->slot);
    free(cd);
}

unsigned long clickdict_hits(const struct clickdict *cd)
{
    return cd->hits;
}

unsigned long clickdict_misses(const struct clickdict *cd)
{
    return cd->misses;
}

/* The fields of row r in dictionary k (NULL = absent); returns how many are present. */
static int clickdict_fields(const struct clickdict_kind *k, const struct sink_pg_row *r,
                            const char *f[CLICKDICT_FIELDS])
{
    const char *opt[] = {r->ref && r->ref[0] ? r->ref : NULL, r->refhost[0] ? r->refhost : NULL};
    switch (k->tag) {
    case 'l':
        f[0] = r->code, f[1] = r->url;
        break;
    case 'a':
        f[0] = r->ua && r->ua[0] ? r->ua : NULL;
        f[1] = r->browser[0] ? r->browser : NULL;
        f[2] = r->os[0] ? r->os : NULL;
        f[3] = r->device;
        f[4] = r->device ? (r->bot ? "t" : "f") : NULL;
        break;
    default:
        f[0] = opt[0], f[1] = opt[1];
    }
    int present = 0;
    for (int i = 0; i < k->nfields; i++)
        present += f[i] != NULL;
    return present;
}

/* The cache key of the fields into b. */
static int clickdict_key(struct buf *b, const struct clickdict_kind *k, const char *const *f)
{
    buf_reset(b);
    int rc = buf_putc(b, k->tag);
    for (int i = 0; i < k->nfields && rc == 0; i++)
        rc = f[i] ? buf_printf(b, "%zu:%s", strlen(f[i]), f[i]) : buf_putc(b, '-');
    return rc;
}

static uint64_t clickdict_hash(const struct clickdict *cd, const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ cd->seed;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/*
 * The slot of key: its own (found), or the empty one it would take, or NULL when the probe
 * is too long. *found tells which.
 */
static struct clickdict_slot *clickdict_find(struct clickdict *cd, const char *key, size_t len,
                                             int *found)
{
    uint64_t h = clickdict_hash(cd, key, len);
    *found = 0;
    for (size_t p = 0; p < CLICKDICT_PROBE_MAX; p++) {
        struct clickdict_slot *s = &cd->slot[(h + p) % CLICKDICT_SLOTS];
        if (!s->key) {
            s->hash = h;
            return s;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            *found = 1;
            return s;
        }
    }
    return NULL;
}

/* Appends one PostgreSQL array element (NULL, or a quoted string) to b. */
static int clickdict_elem(struct buf *b, const char *s, int first)
{
    int rc = first ? 0 : buf_putc(b, ',');
    if (rc == 0 && !s)
        return buf_puts(b, "NULL");
    rc = rc ? rc : buf_putc(b, '"');
    while (rc == 0 && *s) {
        size_t run = strcspn(s, "\"\\");
        rc = run ? buf_append(b, s, run) : 0;
        s += run;
        if (rc == 0 && *s) {
            char esc[2] = {'\\', *s++};
            rc = buf_append(b, esc, 2);
        }
    }
    return rc ? rc : buf_putc(b, '"');
}

/* The parameter arrays (one per field) of the misses sel[0..nsel) of m into arr[]. */
static int clickdict_arrays(const struct clickdict_miss *m, const struct sink_pg_row *rows,
                            const size_t *sel, size_t nsel, struct buf *arr)
{
    int rc = 0;
    int nf = m->k->nfields;
    for (int j = 0; j < nf && rc == 0; j++) {
        buf_reset(&arr[j]);
        rc = buf_putc(&arr[j], '{');
    }
    for (size_t i = 0; i < nsel && rc == 0; i++) { /* each row's fields derived once */
        const char *f[CLICKDICT_FIELDS];
        clickdict_fields(m->k, &rows[m->row[sel[i]]], f);
        for (int j = 0; j < nf && rc == 0; j++)
            rc = clickdict_elem(&arr[j], f[j], i == 0);
    }
    for (int j = 0; j < nf && rc == 0; j++)
        rc = buf_putc(&arr[j], '}');
    return rc;
}

/* The rows the insert returned (id, values), matched to the misses through their cache keys. */
static int clickdict_returned(struct clickdict *cd, struct clickdict_miss *m, PGresult *res)
{
    struct buf key;
    int rc = 0;
    buf_init(&key, CLICKDICT_ARRAY_MAX);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        const char *f[CLICKDICT_FIELDS];
        int found;
        for (int j = 0; j < m->k->nfields; j++)
            f[j] = PQgetisnull(res, i, j + 1) ? NULL : PQgetvalue(res, i, j + 1);
        long id = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if ((rc = clickdict_key(&key, m->k, f)) != 0)
            break;
        struct clickdict_slot *s = clickdict_find(cd, key.data, key.len, &found);
        if (found && s->id < 0 && id > 0 && id <= INT32_MAX)
            m->id[-1 - s->id] = (int32_t)id;
    }
    buf_release(&key);
    return rc;
}

/* Runs statement (name, sql) over the misses sel[0..nsel) of m; *res gets its result. */
static int clickdict_run(struct db *db, const struct clickdict_miss *m,
                         const struct sink_pg_row *rows, const size_t *sel, size_t nsel,
                         const char *name, const char *sql, PGresult **res)
{
    struct buf arr[CLICKDICT_FIELDS];
    const char *params[CLICKDICT_FIELDS];
    for (int j = 0; j < CLICKDICT_FIELDS; j++)
        buf_init(&arr[j], CLICKDICT_ARRAY_MAX);
    int rc = clickdict_arrays(m, rows, sel, nsel, arr);
    for (int j = 0; j < m->k->nfields; j++)
        params[j] = buf_cstr(&arr[j]);
    if (rc == 0)
        rc = db_exec(db, name, sql, m->k->nfields, params, (struct pg_result **)res);
    for (int j = 0; j < CLICKDICT_FIELDS; j++)
        buf_release(&arr[j]);
    return rc;
}

/*
 * Asks PostgreSQL for the ids of the misses m: the insert answers the values it inserted,
 * a select the others. sel has room for m->n indexes.
 */
static int clickdict_fetch(struct clickdict *cd, struct db *db, struct clickdict_miss *m,
                           const struct sink_pg_row *rows, size_t *sel)
{
    PGresult *res = NULL;
    size_t nsel = 0;
    for (size_t i = 0; i < m->n; i++)
        sel[i] = i;
    int rc = clickdict_run(db, m, rows, sel, m->n, m->k->ins_name, m->k->ins_sql, &res);
    if (rc == 0)
        rc = clickdict_returned(cd, m, res);
    if (res)
        PQclear(res);
    res = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->id[i] == 0)
            sel[nsel++] = i;
    if (rc == 0 && nsel)
        rc = clickdict_run(db, m, rows, sel, nsel, m->k->sel_name, m->k->sel_sql, &res);
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        long pos = strtol(PQgetvalue(res, i, 0), NULL, 10);
        long id = strtol(PQgetvalue(res, i, 1), NULL, 10);
        if (pos >= 1 && (size_t)pos <= nsel && id > 0 && id <= INT32_MAX)
            m->id[sel[pos - 1]] = (int32_t)id;
    }
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        rc = m->id[i] > 0 ? 0 : ERR_DB; /* every value has a row after the insert */
    if (res)
        PQclear(res);
    return rc;
}

/* Caches key for row i: a hit sets *id; a miss is added to m (pending id in the cache). */
static int clickdict_lookup(struct clickdict *cd, const struct buf *key, size_t i,
                            struct clickdict_miss *m, int32_t *id)
{
    int found;
    struct clickdict_slot *s = clickdict_find(cd, key->data, key->len, &found);
    if (found && s->id > 0) {
        cd->hits++;
        *id = s->id;
        return 0;
    }
    if (found) { /* pending: the same value earlier in this part */
        *id = s->id;
        return 0;
    }
    if (s && !(s->key = malloc(key->len)))
        return ERR_NOMEM;
    if (s) {
        memcpy(s->key, key->data, key->len);
        s->len = key->len;
        s->id = -1 - (int32_t)m->n;
        cd->count++;
        cd->bytes += key->len;
    }
    m->row[m->n] = i;
    m->slot[m->n] = s;
    *id = -1 - (int32_t)m->n++;
    cd->misses++;
    return 0;
}

/* Where row r keeps its id of dictionary k. */
static int32_t *clickdict_id(const struct clickdict_kind *k, struct sink_pg_row *r)
{
    return k->tag == 'l' ? &r->link_id : k->tag == 'a' ? &r->agent_id : &r->ref_id;
}

/* Resolves dictionary m->k for rows[0..n); m's arrays have room for n misses. */
static int clickdict_kind_resolve(struct clickdict *cd, struct db *db, struct clickdict_miss *m,
                                  struct sink_pg_row *rows, size_t n)
{
    struct buf key;
    int rc = 0;
    buf_init(&key, CLICKDICT_ARRAY_MAX);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *f[CLICKDICT_FIELDS];
        int32_t *id = clickdict_id(m->k, &rows[i]);
        *id = 0;
        if (clickdict_fields(m->k, &rows[i], f) > 0 && (rc = clickdict_key(&key, m->k, f)) == 0)
            rc = clickdict_lookup(cd, &key, i, m, id);
    }
    buf_release(&key);
    if (rc == 0 && m->n)
        rc = clickdict_fetch(cd, db, m, rows, m->sel);
    for (size_t i = 0; i < m->n && rc == 0; i++) /* after a failure the cache empties */
        if (m->slot[i])
            m->slot[i]->id = m->id[i];
    for (size_t i = 0; i < n && rc == 0; i++) {
        int32_t *id = clickdict_id(m->k, &rows[i]);
        if (*id < 0)
            *id = m->id[-1 - *id];
    }
    return rc;
}

int clickdict_resolve(struct clickdict *cd, struct db *db, struct sink_pg_row *rows, size_t n)
{
    if (cd->count + 3 * n > CLICKDICT_ENTRIES_MAX || cd->bytes > CLICKDICT_BYTES_MAX)
        clickdict_clear(cd);
    struct clickdict_miss m = {.row = calloc(n ? n : 1, sizeof(*m.row)),
                               .slot = calloc(n ? n : 1, sizeof(*m.slot)),
                               .id = calloc(n ? n : 1, sizeof(*m.id)),
                               .sel = calloc(n ? n : 1, sizeof(*m.sel))};
    int rc = m.row && m.slot && m.id && m.sel ? 0 : ERR_NOMEM;
    for (size_t k = 0; k < ARRAY_SIZE(clickdict_kinds) && rc == 0; k++) {
        m.k = &clickdict_kinds[k];
        m.n = 0;
        memset(m.id, 0, n * sizeof(*m.id));
        rc = clickdict_kind_resolve(cd, db, &m, rows, n);
    }
    if (rc) /* pending ids must not outlive the part */
        clickdict_clear(cd);
    free(m.row);
    free(m.slot);
    free(m.id);
    free(m.sel);
    return rc;
}
