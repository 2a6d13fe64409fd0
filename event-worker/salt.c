/*
 * salt.c - the visitor salt of each day, kept in PostgreSQL (see salt.h).
 */
#include "salt.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#include "banned.h"

#define SALT_KEEP_DAYS_STR "2" /* SALT_KEEP_DAYS as text */
#define SALT_DAY_SQL       "date '1970-01-01' + $1::int"

void salt_init(struct salt_cache *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->slot[0].day = sc->slot[1].day = -1;
}

static int salt_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes exactly VISITOR_SALT_LEN bytes of lowercase hex. 0 or ERR_INVALID. */
static int salt_unhex(const char *hex, uint8_t out[VISITOR_SALT_LEN])
{
    if (strlen(hex) != 2 * VISITOR_SALT_LEN)
        return ERR_INVALID;
    for (int i = 0; i < VISITOR_SALT_LEN; i++) {
        int hi = salt_hexval(hex[2 * i]), lo = salt_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ERR_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/*
 * Drops the salts of the days before yesterday, then offers a fresh random
 * salt for `day` (ON CONFLICT DO NOTHING: another worker's may have won). In
 * this order, a late click of an old day still finds the salt it just made.
 */
static int salt_offer(struct db *db, const char *day)
{
    uint8_t raw[VISITOR_SALT_LEN];
    char hex[2 * VISITOR_SALT_LEN + 1];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return ERR_SYS;
    for (int i = 0; i < VISITOR_SALT_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    const char *params[] = {day, hex};
    int rc = db_exec(db, "salt_expire",
                     "DELETE FROM visitor_salts WHERE day <= (now() AT TIME ZONE 'UTC')::date - "
                     "$1::int",
                     1, (const char *[]){SALT_KEEP_DAYS_STR}, NULL);
    if (rc == 0)
        rc = db_exec(db, "salt_offer",
                     "INSERT INTO visitor_salts (day, salt) VALUES (" SALT_DAY_SQL
                     ", decode($2, 'hex')) ON CONFLICT (day) DO NOTHING",
                     2, params, NULL);
    return rc;
}

/* Reads the salt of `day` (the row that won). 0, ERR_NOT_FOUND or the db_exec error. */
static int salt_read(struct db *db, const char *day, uint8_t out[VISITOR_SALT_LEN])
{
    struct pg_result *res = NULL;
    const char *params[] = {day};
    int rc = db_exec(db, "salt_read",
                     "SELECT encode(salt, 'hex') FROM visitor_salts WHERE day = " SALT_DAY_SQL, 1,
                     params, &res);
    if (rc == 0)
        rc = PQntuples((PGresult *)res) == 1 ? salt_unhex(PQgetvalue((PGresult *)res, 0, 0), out)
                                             : ERR_NOT_FOUND;
    if (res)
        PQclear((PGresult *)res);
    return rc;
}

int salt_get(struct salt_cache *sc, struct db *db, long day, uint8_t out[VISITOR_SALT_LEN])
{
    char d[24];
    for (int i = 0; i < 2; i++)
        if (sc->slot[i].day == day) {
            memcpy(out, sc->slot[i].salt, VISITOR_SALT_LEN);
            return 0;
        }
    snprintf(d, sizeof(d), "%ld", day);
    int rc = salt_offer(db, d);
    if (rc == 0)
        rc = salt_read(db, d, out);
    if (rc)
        return rc;
    struct salt_slot *s = &sc->slot[sc->next];
    sc->next ^= 1;
    s->day = day;
    memcpy(s->salt, out, VISITOR_SALT_LEN);
    return 0;
}
