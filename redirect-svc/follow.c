/*
 * follow.c - the redirect's Redis round trip (see follow.h).
 */
#include "follow.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "clickstream.h"
#include "kv.h"
#include "rkeys.h"
#include "shortcode.h"
#include "timefmt.h"

#include "banned.h"

/*
 * KEYS[1] link hash, KEYS[2] click stream.
 * ARGV: 1 record ("1"/"0"), 2 MAXLEN ("0" = none), 3 code, 4 ts ms, 5 referrer, 6 agent,
 * 7 client address, 8 this shortener's "host:port" names (space-separated, may be "").
 * A link whose destination's host:port (lowercase, userinfo and one trailing dot dropped,
 * default port added) is one of ARGV[8] points back at us: a redirect loop (DECISIONS R9).
 * It is answered as usual but no click is recorded, so a loop of links records nothing.
 * Returns {original_url, redirect status}, 410 when the link expired (by date or
 * by clicks), or nil when there is no such link. The cap check, the counter and
 * the XADD are one atomic step: a link capped at N gets exactly N clicks, however
 * many requests and instances race on it.
 */
#define FOLLOW_XADD_FIELDS                                                                         \
    "'" CLICKSTREAM_F_URL_ID "', v[1], '" CLICKSTREAM_F_USER_ID "', v[2], '" CLICKSTREAM_F_CODE    \
    "', ARGV[3], '" CLICKSTREAM_F_URL "', v[3], '" CLICKSTREAM_F_TS                                \
    "', ARGV[4], '" CLICKSTREAM_F_REFERRER "', ARGV[5], '" CLICKSTREAM_F_AGENT                     \
    "', ARGV[6], '" CLICKSTREAM_F_IP "', ARGV[7]"

static const char follow_script[] =
    "local function hp(u)\n"
    "  local sch, a = string.match(string.lower(u), '^(https?)://([^/?#]*)')\n"
    "  if not a then return nil end\n"
    "  a = string.gsub(a, '^.*@', '')\n"
    "  local h, p = string.match(a, '^(.*):(%d+)$')\n"
    "  if not h then h = a; p = (sch == 'https') and '443' or '80' end\n"
    "  h = string.gsub(h, '%.$', '')\n"
    "  return h .. ':' .. tostring(tonumber(p))\n"
    "end\n"
    "local v = redis.call('HMGET', KEYS[1], '" RKEYS_F_ID "', '" RKEYS_F_UID "', '" RKEYS_F_URL
    "', '" RKEYS_F_RT "', '" RKEYS_F_EXP "', '" RKEYS_F_MAX "', '" RKEYS_F_CLICKS "')\n"
    "if not v[1] or not v[3] then return false end\n"
    "if v[5] and v[5] ~= '' and tonumber(ARGV[4]) >= tonumber(v[5]) then return 410 end\n"
    "if v[6] and v[6] ~= '' and tonumber(v[7] or '0') >= tonumber(v[6]) then return 410 end\n"
    "local rec = ARGV[1] == '1'\n"
    "if rec and ARGV[8] ~= '' then\n"
    "  local x = hp(v[3])\n"
    "  if x and string.find(' ' .. ARGV[8] .. ' ', ' ' .. x .. ' ', 1, true) then rec = false end\n"
    "end\n"
    "if rec then\n"
    "  redis.call('HINCRBY', KEYS[1], '" RKEYS_F_CLICKS "', 1)\n"
    "  if ARGV[2] == '0' then\n"
    "    redis.call('XADD', KEYS[2], '*', " FOLLOW_XADD_FIELDS ")\n"
    "  else\n"
    "    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', " FOLLOW_XADD_FIELDS ")\n"
    "  end\n"
    "end\n"
    "return {v[3], v[4] or '302'}\n";

/* The script's SHA1 is a pure function of its text: once known it never changes. */
static atomic_int follow_sha_ready;

int follow_load_script(struct app *app, struct kv *kv)
{
    const char *argv[] = {"SCRIPT", "LOAD", follow_script};
    redisReply *r = NULL;
    int rc = kv_command(kv, 3, argv, NULL, &r);
    if (rc)
        return rc;
    pthread_mutex_lock(&app->sha_lock);
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        memcpy(app->sha, r->str, 40);
        app->sha[40] = '\0';
        atomic_store(&follow_sha_ready, 1);
    } else {
        rc = ERR_KV;
    }
    pthread_mutex_unlock(&app->sha_lock);
    freeReplyObject(r);
    return rc;
}

/* Caps a header value for the click (bytes; the stream is not the place for huge headers). */
static size_t follow_cap(const char *s, long max)
{
    size_t n = s ? strlen(s) : 0;
    return n > (size_t)max ? (size_t)max : n;
}

int follow_append(struct app *app, struct kv *kv, const char *code, size_t len,
                  const struct follow_click *click)
{
    char link[RKEYS_MAX], stream[RKEYS_MAX], maxlen[24], ts[24];
    unsigned nshards = (unsigned)app->cfg.stream_shards;
    if (!atomic_load(&follow_sha_ready) && follow_load_script(app, kv) != 0)
        return ERR_KV;
    if (rkeys_link(code, len, nshards, link) < 0 ||
        rkeys_stream(shortcode_shard(code, len, nshards), stream) < 0)
        return ERR_INVALID;
    snprintf(maxlen, sizeof(maxlen), "%ld", app->cfg.stream_maxlen);
    snprintf(ts, sizeof(ts), "%lld", (long long)timefmt_now_ms());
    const char *argv[] = {"EVALSHA",
                          app->sha,
                          "2",
                          link,
                          stream,
                          click->record ? "1" : "0",
                          maxlen,
                          code,
                          ts,
                          click->referrer ? click->referrer : "",
                          click->agent ? click->agent : "",
                          click->ip ? click->ip : "",
                          click->self ? click->self : ""};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
        lens[i] = i == 7 ? len : strlen(argv[i]);
    lens[9] = follow_cap(click->referrer, app->cfg.click_field_max);
    lens[10] = follow_cap(click->agent, app->cfg.click_field_max);
    return kv_append(kv, (int)ARRAY_SIZE(argv), argv, lens);
}

/* The redirect status of a link hash's "rt" field; 302 for anything unexpected. */
static int follow_status(const redisReply *rt)
{
    if (rt->type == REDIS_REPLY_STRING && rt->len == 3) {
        int v = (int)strtol(rt->str, NULL, 10);
        if (v == 301 || v == 302 || v == 307 || v == 308)
            return v;
    }
    return 302;
}

int follow_reply(const redisReply *r, char **url, int *status)
{
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 410)
        return FOLLOW_EXPIRED;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return FOLLOW_MISS;
    *status = follow_status(r->element[1]);
    *url = strndup(r->element[0]->str, r->element[0]->len);
    return *url ? FOLLOW_FOUND : ERR_NOMEM;
}

int follow_retry(struct app *app, struct kv *kv, const char *code, size_t len,
                 const struct follow_click *click, char **url, int *status)
{
    redisReply *r = NULL;
    int rc = follow_load_script(app, kv);
    if (rc == 0)
        rc = follow_append(app, kv, code, len, click);
    if (rc == 0)
        rc = kv_read_reply(kv, &r);
    if (rc)
        return rc;
    rc = follow_reply(r, url, status);
    freeReplyObject(r);
    return rc;
}

int follow_append_marker(struct kv *kv)
{
    const char *argv[] = {"EXISTS", RKEYS_MARKER};
    return kv_append(kv, 2, argv, NULL);
}

int follow_marker_reply(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? FOLLOW_NOT_FOUND : FOLLOW_NOT_READY;
}
