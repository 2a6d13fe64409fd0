/*
 * follow.c - the redirect's Redis work, one script call per shard per turn (see follow.h).
 */
#include "follow.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "kv.h"
#include "shortcode.h"
#include "timefmt.h"

#include "banned.h"

/*
 * KEYS[1] the shard's click stream, KEYS[2] its change stream, KEYS[2 + i] the link hash of
 * request i (i = 1..n).
 * ARGV: 1 batched entry ("1") or one entry per click ("0"), 2 MAXLEN ("0" = none), 3 ts ms,
 * 4 the loop's position in the change stream ("" = near cache off), then ten per request
 * from 5 + 10 (i - 1): record ("1"/"0"; for a cached GET whose loop rule redirect-svc decided
 * "2" not a loop, "3" a loop: no click, both meaning "1" if the code changed), code, referrer,
 * agent, client address, this shortener's "host:port" names (space-separated, may be ""), and for a
 * cached request its URL id, owner id and URL (id "" for a request not cached); then its click
 * already packed (batched entries only, else ""), in which case referrer, agent and address are
 * sent "" and, should the request be resolved from its hash after all, taken from the packed click.
 * A link whose destination's host:port (lowercase, userinfo and one trailing dot dropped,
 * default port added) is one of those names points back at us: a redirect loop (DECISIONS
 * R9); it is answered as usual but no click is recorded.
 * Returns one element per request: {original_url, redirect status} (with the cache on and
 * no cap also the URL id, owner id and expiry, for the loop to cache), 1 when a cached
 * request's answer stands, 410 when the link expired (by date or by clicks), or 0 when
 * there is no such link. With the cache on, then one more: {1, position} after a reset or
 * {0, position, changed codes...} (ncache.h). The hashes are read once per distinct code
 * and the counter is carried along in the call, so the cap check, the counters and the
 * append are one atomic step.
 */
#define FOLLOW_HMGET                                                                               \
    "'" RKEYS_F_ID "', '" RKEYS_F_UID "', '" RKEYS_F_URL "', '" RKEYS_F_RT "', '" RKEYS_F_EXP      \
    "', '" RKEYS_F_MAX "', '" RKEYS_F_CLICKS "'"

static const char follow_script[] =
    "local function hp(u)\n"
    "  local sch, a = string.match(string.lower(u), '^(https?)://([^/?#]*)')\n"
    "  if not a then return nil end\n"
    "  a = string.gsub(a, '^.*@', '')\n"
    "  local h, p = string.match(a, '^(.*):(%d+)$')\n"
    "  if not h then h = a; p = (sch == 'https') and '443' or '80' end\n"
    "  h = string.gsub(h, '%.$', '')\n"
    "  return ' ' .. h .. ':' .. tostring(tonumber(p)) .. ' '\n"
    "end\n"
    "local now, out, seen, hits, add, clicks = tonumber(ARGV[3]), {}, {}, {}, {}, {}\n"
    "local nreq, on, chg, reset, tail = #KEYS - 2, ARGV[4] ~= '', {}, false, nil\n"
    "if on then\n"
    "  local lim = " NCACHE_CHANGES_MAX "\n"
    "  local r = redis.call('XRANGE', KEYS[2], ARGV[4], '+', 'COUNT', lim + 1)\n"
    "  if #r == 0 or r[1][1] ~= ARGV[4] or #r > lim then\n"
    "    reset = true\n"
    "    local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)\n"
    "    if #last > 0 then tail = {1, last[1][1]}\n"
    "    else tail = {1, redis.call('XADD', KEYS[2], 'MAXLEN', '~', '" RKEYS_CHANGES_MAXLEN
    "', '*', '" RKEYS_F_CHANGE "', '')} end\n"
    "  else\n"
    "    tail = {0, r[#r][1]}\n"
    "    for j = 2, #r do\n"
    "      local c = r[j][2][2]\n"
    "      if c and c ~= '' and not chg[c] then chg[c] = true; tail[#tail + 1] = c end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local function unpk(p)\n"
    "  local t = {}\n"
    "  for f in string.gmatch(p .. '\\31', '([^\\31]*)\\31') do t[#t + 1] = f end\n"
    "  return t\n"
    "end\n"
    "for i = 1, nreq do\n"
    "  local k, b = KEYS[i + 2], 4 + 10 * (i - 1)\n"
    "  local pk = ARGV[b + 10]\n"
    "  local hit = on and not reset and ARGV[b + 7] ~= '' and not chg[ARGV[b + 2]]\n"
    "  local v\n"
    "  if hit then\n"
    "    v = hits[k]\n"
    "    if not v then v = {ARGV[b + 7], ARGV[b + 8], ARGV[b + 9]}; v[7] = 0; hits[k] = v end\n"
    "  else\n"
    "    v = seen[k]\n"
    "    if not v then\n"
    "      v = redis.call('HMGET', k, " FOLLOW_HMGET ")\n"
    "      v[7] = tonumber(v[7] or '0') or 0\n"
    "      seen[k] = v\n"
    "    end\n"
    "  end\n"
    "  if not v[1] or not v[3] then out[i] = 0\n"
    "  elseif v[5] and v[5] ~= '' and now >= tonumber(v[5]) then out[i] = 410\n"
    "  elseif v[6] and v[6] ~= '' and v[7] >= tonumber(v[6]) then out[i] = 410\n"
    "  else\n"
    "    local md, me = ARGV[b + 1], ARGV[b + 6]\n"
    "    local rec = md ~= '0'\n"
    "    if hit and md == '3' then rec = false\n"
    "    elseif rec and me ~= '' and not (hit and md == '2') then\n"
    "      if v.hp == nil then v.hp = hp(v[3]) or false end\n"
    "      if v.hp and string.find(' ' .. me .. ' ', v.hp, 1, true) then rec = false end\n"
    "    end\n"
    "    if rec then\n"
    "      v[7] = v[7] + 1\n"
    "      add[k] = (add[k] or 0) + 1\n"
    "      if hit and pk ~= '' then clicks[#clicks + 1] = pk\n"
    "      else\n"
    "        local r, a, ip = ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]\n"
    "        if pk ~= '' then local t = unpk(pk); r, a, ip = t[6], t[7], t[8] end\n"
    "        clicks[#clicks + 1] = {v[1], v[2] or '', ARGV[b + 2], v[3], ARGV[3], r, a, ip}\n"
    "      end\n"
    "    end\n"
    "    if hit then out[i] = 1\n"
    "    elseif on and not (v[6] and v[6] ~= '') then\n"
    "      out[i] = {v[3], v[4] or '302', v[1], v[2] or '', v[5] or ''}\n"
    "    else out[i] = {v[3], v[4] or '302'} end\n"
    "  end\n"
    "end\n"
    "if tail then out[nreq + 1] = tail end\n"
    "for k, n in pairs(add) do redis.call('HINCRBY', k, '" RKEYS_F_CLICKS "', n) end\n"
    "if #clicks == 0 then return out end\n"
    "local head = {KEYS[1], '*'}\n"
    "if ARGV[2] ~= '0' then head = {KEYS[1], 'MAXLEN', '~', ARGV[2], '*'} end\n"
    "if ARGV[1] == '1' then\n"
    "  local a = {unpack(head)}\n"
    "  a[#a + 1] = '" CLICKSTREAM_F_BATCH "'\n"
    "  a[#a + 1] = tostring(#clicks)\n"
    "  for j, c in ipairs(clicks) do\n"
    "    a[#a + 1] = tostring(j - 1)\n"
    "    if type(c) == 'string' then a[#a + 1] = c\n"
    "    else\n"
    "      for m = 1, 8 do\n"
    "        if string.find(c[m], '\\31', 1, true) then c[m] = string.gsub(c[m], '\\31', '?') end\n"
    "      end\n"
    "      a[#a + 1] = table.concat(c, '\\31')\n"
    "    end\n"
    "  end\n"
    "  redis.call('XADD', unpack(a))\n"
    "else\n"
    "  for _, c in ipairs(clicks) do\n"
    "    local a = {unpack(head)}\n"
    "    local f = {'" CLICKSTREAM_F_URL_ID "', '" CLICKSTREAM_F_USER_ID "', '" CLICKSTREAM_F_CODE
    "', '" CLICKSTREAM_F_URL "', '" CLICKSTREAM_F_TS "', '" CLICKSTREAM_F_REFERRER
    "', '" CLICKSTREAM_F_AGENT "', '" CLICKSTREAM_F_IP "'}\n"
    "    for m = 1, 8 do a[#a + 1] = f[m]; a[#a + 1] = c[m] end\n"
    "    redis.call('XADD', unpack(a))\n"
    "  end\n"
    "end\n"
    "return out\n";

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

int follow_script_ready(void)
{
    return atomic_load(&follow_sha_ready);
}

int follow_prepare(const struct app *app, struct follow_req *r)
{
    unsigned nshards = (unsigned)app->cfg.stream_shards;
    int n = rkeys_link(r->code, r->code_len, nshards, r->key);
    if (n < 0)
        return ERR_INVALID;
    r->key_len = (size_t)n;
    r->shard = shortcode_shard(r->code, r->code_len, nshards);
    return 0;
}

/* Caps a header value for the click (bytes; the stream is not the place for huge headers). */
static size_t follow_cap(const char *s, long max)
{
    size_t n = s ? strlen(s) : 0;
    return n > (size_t)max ? (size_t)max : n;
}

/* Adds argv[*k] = v (len bytes). */
static void follow_arg(struct follow_scratch *s, size_t *k, const char *v, size_t len)
{
    s->argv[*k] = v;
    s->lens[*k] = len;
    (*k)++;
}

/* 1 when request r's click is sent packed (a cached GET, not a loop, batched entries). */
static int follow_packs(const struct app *app, const struct follow_req *r)
{
    return r->cached && r->click.record && r->loop != FOLLOW_LOOP_YES && app->cfg.click_batch;
}

/* The record argument of request r. */
static const char *follow_record_arg(const struct follow_req *r)
{
    if (!r->click.record)
        return "0";
    if (r->cached && r->loop)
        return r->loop == FOLLOW_LOOP_YES ? "3" : "2";
    return "1";
}

/* Copies v[0..n) to d with each CLICKSTREAM_SEP made '?', then a separator (unless last). */
static char *follow_pack_value(char *d, const char *v, size_t n, int last)
{
    for (size_t i = 0; i < n; i++)
        d[i] = v[i] == CLICKSTREAM_SEP ? '?' : v[i];
    d += n;
    if (!last)
        *d++ = CLICKSTREAM_SEP;
    return d;
}

/*
 * Packs r's click (clickstream.h's eight values, ts = s->ts) at s->pack + *used, or, with
 * out NULL, only adds its size to *used.
 */
static void follow_pack(const struct app *app, struct follow_scratch *s, const struct follow_req *r,
                        size_t *used, const char **out, size_t *outlen)
{
    const struct follow_click *c = &r->click;
    long max = app->cfg.click_field_max;
    const char *v[CLICKSTREAM_NVALUES] = {r->id,
                                          r->uid,
                                          r->code,
                                          r->url,
                                          s->ts,
                                          c->referrer ? c->referrer : "",
                                          c->agent ? c->agent : "",
                                          c->ip ? c->ip : ""};
    size_t n[CLICKSTREAM_NVALUES] = {strlen(r->id),
                                     strlen(r->uid),
                                     r->code_len,
                                     r->url_len,
                                     strlen(s->ts),
                                     follow_cap(c->referrer, max),
                                     follow_cap(c->agent, max),
                                     c->ip ? strlen(c->ip) : 0};
    size_t len = CLICKSTREAM_NVALUES - 1;
    for (size_t i = 0; i < CLICKSTREAM_NVALUES; i++)
        len += n[i];
    if (out) {
        char *d = s->pack + *used;
        for (size_t i = 0; i < CLICKSTREAM_NVALUES; i++)
            d = follow_pack_value(d, v[i], n[i], i + 1 == CLICKSTREAM_NVALUES);
        *out = s->pack + *used;
        *outlen = len;
    }
    *used += len;
}

/* Makes room for every packed click of reqs[0..n) in s->pack. 0, or ERR_NOMEM (none packed). */
static int follow_pack_room(const struct app *app, struct follow_scratch *s,
                            const struct follow_req *const *reqs, size_t n)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        if (follow_packs(app, reqs[i]))
            follow_pack(app, s, reqs[i], &need, NULL, NULL);
    if (need <= s->pack_cap)
        return 0;
    char *p = realloc(s->pack, need);
    if (!p)
        return ERR_NOMEM;
    s->pack = p;
    s->pack_cap = need;
    return 0;
}

/* The ten ARGV of one request; pack: its click may be packed (room made). */
static void follow_req_args(const struct app *app, struct follow_scratch *s, size_t *k,
                            const struct follow_req *r, int pack, size_t *used)
{
    const struct follow_click *c = &r->click;
    long max = app->cfg.click_field_max;
    const char *packed = "";
    size_t plen = 0;
    if (pack && follow_packs(app, r))
        follow_pack(app, s, r, used, &packed, &plen);
    follow_arg(s, k, follow_record_arg(r), 1);
    follow_arg(s, k, r->code, r->code_len);
    follow_arg(s, k, !plen && c->referrer ? c->referrer : "",
               plen ? 0 : follow_cap(c->referrer, max));
    follow_arg(s, k, !plen && c->agent ? c->agent : "", plen ? 0 : follow_cap(c->agent, max));
    follow_arg(s, k, !plen && c->ip ? c->ip : "", !plen && c->ip ? strlen(c->ip) : 0);
    follow_arg(s, k, c->self ? c->self : "", c->self ? strlen(c->self) : 0);
    follow_arg(s, k, r->cached ? r->id : "", r->cached ? strlen(r->id) : 0);
    follow_arg(s, k, r->cached ? r->uid : "", r->cached ? strlen(r->uid) : 0);
    follow_arg(s, k, r->cached ? r->url : "", r->cached ? r->url_len : 0);
    follow_arg(s, k, packed, plen);
}

int follow_append_batch(struct app *app, struct kv *kv, const struct follow_req *const *reqs,
                        size_t n, int use_eval, const char *pos, int64_t now_ms,
                        struct follow_scratch *s)
{
    size_t k = 0;
    char nkeys[24];
    if (n == 0 || n > CLICKSTREAM_BATCH_MAX || rkeys_stream(reqs[0]->shard, s->stream) < 0 ||
        rkeys_changes(reqs[0]->shard, s->changes) < 0)
        return ERR_INVALID;
    snprintf(nkeys, sizeof(nkeys), "%zu", n + 2);
    snprintf(s->maxlen, sizeof(s->maxlen), "%ld", app->cfg.stream_maxlen);
    snprintf(s->ts, sizeof(s->ts), "%lld", (long long)now_ms);
    follow_arg(s, &k, use_eval ? "EVAL" : "EVALSHA", use_eval ? 4 : 7);
    if (use_eval)
        follow_arg(s, &k, follow_script, sizeof(follow_script) - 1);
    else
        follow_arg(s, &k, app->sha, strlen(app->sha));
    follow_arg(s, &k, nkeys, strlen(nkeys));
    follow_arg(s, &k, s->stream, strlen(s->stream));
    follow_arg(s, &k, s->changes, strlen(s->changes));
    for (size_t i = 0; i < n; i++)
        follow_arg(s, &k, reqs[i]->key, reqs[i]->key_len);
    follow_arg(s, &k, app->cfg.click_batch ? "1" : "0", 1);
    follow_arg(s, &k, s->maxlen, strlen(s->maxlen));
    follow_arg(s, &k, s->ts, strlen(s->ts));
    follow_arg(s, &k, pos ? pos : "", pos ? strlen(pos) : 0);
    int pack = follow_pack_room(app, s, reqs, n) == 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        follow_req_args(app, s, &k, reqs[i], pack, &used);
    return kv_append(kv, (int)k, s->argv, s->lens);
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

int follow_batch_result(const redisReply *r, size_t i, char *url, size_t urlmax, int *status)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return ERR_KV;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer == 410 ? FOLLOW_EXPIRED : e->integer == 1 ? FOLLOW_CACHED : FOLLOW_MISS;
    if (e->type != REDIS_REPLY_ARRAY || (e->elements != 2 && e->elements != 5) ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return ERR_KV;
    if (e->element[0]->len >= urlmax)
        return ERR_TOO_BIG;
    memcpy(url, e->element[0]->str, e->element[0]->len);
    url[e->element[0]->len] = '\0';
    *status = follow_status(e->element[1]);
    return FOLLOW_FOUND;
}

int follow_hostport(const char *url, size_t len, char out[NCACHE_HP_MAX + 1])
{
    size_t skip = 0;
    out[0] = '\0';
    if (len >= 7 && strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (len >= 8 && strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    if (!skip)
        return 1; /* the script's pattern does not match: never a loop */
    const char *a = url + skip, *end = a;
    while (end < url + len && *end != '/' && *end != '?' && *end != '#')
        end++;
    const char *at = memrchr(a, '@', (size_t)(end - a));
    if (at)
        a = at + 1;
    const char *hend = end, *port = skip == 8 ? "443" : "80";
    size_t plen = strlen(port);
    const char *colon = memrchr(a, ':', (size_t)(end - a)), *d = colon ? colon + 1 : end;
    while (d < end && *d >= '0' && *d <= '9')
        d++;
    if (colon && d == end && colon + 1 < end) { /* ":<digits>" at the end: the port */
        hend = colon;
        for (port = colon + 1; port < end - 1 && *port == '0'; port++)
            ; /* tonumber drops leading zeros */
        plen = (size_t)(end - port);
    }
    if (hend > a && hend[-1] == '.')
        hend--;
    size_t hlen = (size_t)(hend - a);
    if (plen > 9 || hlen + plen + 3 > NCACHE_HP_MAX)
        return 0;
    hlen = strnlen(a, hlen); /* " %.*s:%.*s " by hand (it ran on every cache fill) */
    plen = strnlen(port, plen);
    out[0] = ' ';
    for (size_t i = 0; i < hlen; i++)
        out[1 + i] = (char)tolower((unsigned char)a[i]);
    out[1 + hlen] = ':';
    memcpy(out + 2 + hlen, port, plen);
    out[2 + hlen + plen] = ' ';
    out[3 + hlen + plen] = '\0';
    return 1;
}

int follow_loop_check(const char *hp, const char *self)
{
    char hay[FOLLOW_SELF_MAX + 3];
    size_t n = strlen(self);
    if (n + 3 > sizeof(hay))
        return 0; /* left to the script */
    hay[0] = ' ';
    memcpy(hay + 1, self, n);
    memcpy(hay + 1 + n, " ", 2);
    return strstr(hay, hp) ? FOLLOW_LOOP_YES : FOLLOW_LOOP_NO;
}

/* 1 when e is a bulk string (not NULL). */
static int follow_is_str(const redisReply *e)
{
    return e->type == REDIS_REPLY_STRING;
}

int follow_batch_fill(const redisReply *r, size_t i, struct ncache_link *out)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return 0;
    const redisReply *e = r->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 5)
        return 0;
    for (size_t j = 0; j < 5; j++)
        if (!follow_is_str(e->element[j]))
            return 0;
    char *end = NULL;
    const redisReply *exp = e->element[4];
    out->exp_ms = exp->len ? (int64_t)strtoll(exp->str, &end, 10) : -1;
    if (exp->len && (!end || *end))
        return 0;
    out->url = e->element[0]->str;
    out->url_len = e->element[0]->len;
    out->rt = follow_status(e->element[1]);
    out->id = e->element[2]->str;
    out->uid = e->element[3]->str;
    return 1;
}

int follow_batch_changes(const redisReply *r, size_t n, struct ncache *c, char pos[FOLLOW_POS_MAX],
                         size_t *invalidated)
{
    *invalidated = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n + 1)
        return ERR_KV;
    const redisReply *t = r->element[n];
    if (t->type != REDIS_REPLY_ARRAY || t->elements < 2 ||
        t->element[0]->type != REDIS_REPLY_INTEGER || !follow_is_str(t->element[1]) ||
        t->element[1]->len >= FOLLOW_POS_MAX)
        return ERR_KV;
    for (size_t j = 2; j < t->elements; j++)
        if (!follow_is_str(t->element[j]))
            return ERR_KV;
    int reset = t->element[0]->integer == 1;
    if (reset) {
        *invalidated = ncache_count(c);
        ncache_clear(c);
    }
    for (size_t j = 2; !reset && j < t->elements; j++)
        *invalidated += (size_t)ncache_del(c, t->element[j]->str, t->element[j]->len);
    memcpy(pos, t->element[1]->str, t->element[1]->len);
    pos[t->element[1]->len] = '\0';
    return reset;
}

int follow_is_noscript(const char *errmsg)
{
    return strstr(errmsg, "NOSCRIPT") != NULL;
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
