/*
 * uaparse.c - uap-core rules read with libyaml, compiled with PCRE2 (see uaparse.h).
 *
 * The file has three sections, each a sequence of mappings:
 *   user_agent_parsers: regex, family_replacement (default $1)
 *   os_parsers:         regex, os_replacement (default $1)
 *   device_parsers:     regex, regex_flag ('i'), device_replacement (default $1),
 *                       brand_replacement (default none), model_replacement (default $1)
 * Replacements may name groups as $1..$9; the result is trimmed. Other keys
 * (version replacements) are not used here and are ignored.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "uaparse.h"

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "banned.h"

#define UAPARSE_NSECT       3
#define UAPARSE_NREPL       3
#define UAPARSE_MATCH_LIMIT 100000 /* bounds backtracking on hostile agents */
#define UAPARSE_DEPTH_LIMIT 1000

enum uaparse_sect { UAPARSE_UA, UAPARSE_OS, UAPARSE_DEV };

static const char *const uaparse_sect_names[UAPARSE_NSECT] = {"user_agent_parsers", "os_parsers",
                                                              "device_parsers"};

/* The replacement keys of each section, in the order of rule.repl. */
static const char *const uaparse_repl_keys[UAPARSE_NSECT][UAPARSE_NREPL] = {
    {"family_replacement", NULL, NULL},
    {"os_replacement", NULL, NULL},
    {"device_replacement", "brand_replacement", "model_replacement"},
};

struct uaparse_rule {
    pcre2_code *re;            /* owned */
    char *repl[UAPARSE_NREPL]; /* owned; NULL when the rule has none */
};

struct uaparse_sect_rules {
    struct uaparse_rule *r; /* owned array */
    size_t n, cap;
};

struct uaparse {
    struct uaparse_sect_rules sect[UAPARSE_NSECT];
    size_t skipped;
    pcre2_match_data *md;      /* owned; one match at a time */
    pcre2_match_context *mctx; /* owned; the match limits */
};

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

/* The scalar text of node `id` in doc (borrowed), or NULL when it is not a scalar. */
static const char *uaparse_scalar(yaml_document_t *doc, int id)
{
    yaml_node_t *n = yaml_document_get_node(doc, id);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Reads one rule mapping: the regex, its flag and the section's replacements. */
static int uaparse_rule_read(yaml_document_t *doc, yaml_node_t *map, enum uaparse_sect s,
                             const char **regex, int *caseless, const char **repl)
{
    *regex = NULL;
    *caseless = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = uaparse_scalar(doc, p->key), *v = uaparse_scalar(doc, p->value);
        if (!k || !v)
            continue;
        if (strcmp(k, "regex") == 0)
            *regex = v;
        else if (strcmp(k, "regex_flag") == 0)
            *caseless = strchr(v, 'i') != NULL;
        for (int i = 0; i < UAPARSE_NREPL; i++)
            if (uaparse_repl_keys[s][i] && strcmp(k, uaparse_repl_keys[s][i]) == 0)
                repl[i] = v;
    }
    return *regex ? 0 : -1;
}

/* Compiles one rule and appends it to its section. 0, 1 (skipped) or -1 (out of memory). */
static int uaparse_rule_add(struct uaparse *up, enum uaparse_sect s, const char *regex,
                            int caseless, const char *const *repl)
{
    struct uaparse_sect_rules *sr = &up->sect[s];
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                   caseless ? PCRE2_CASELESS : 0, &errcode, &erroff, NULL);
    if (!re) {
        up->skipped++;
        return 1;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter works without it */
    if (sr->n == sr->cap) {
        size_t cap = sr->cap ? sr->cap * 2 : 256;
        struct uaparse_rule *r = realloc(sr->r, cap * sizeof(*r));
        if (!r) {
            pcre2_code_free(re);
            return -1;
        }
        sr->r = r;
        sr->cap = cap;
    }
    struct uaparse_rule *rule = &sr->r[sr->n++];
    memset(rule, 0, sizeof(*rule));
    rule->re = re;
    for (int i = 0; i < UAPARSE_NREPL; i++)
        if (repl[i] && !(rule->repl[i] = strdup(repl[i])))
            return -1;
    return 0;
}

/* Loads the sequence of rules `seq` into section s. 0 or -1 (out of memory). */
static int uaparse_sect_load(struct uaparse *up, yaml_document_t *doc, yaml_node_t *seq,
                             enum uaparse_sect s)
{
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *map = yaml_document_get_node(doc, *it);
        const char *regex, *repl[UAPARSE_NREPL] = {NULL, NULL, NULL};
        int caseless;
        if (!map || map->type != YAML_MAPPING_NODE ||
            uaparse_rule_read(doc, map, s, &regex, &caseless, repl) != 0) {
            up->skipped++;
            continue;
        }
        if (uaparse_rule_add(up, s, regex, caseless, repl) < 0)
            return -1;
    }
    return 0;
}

/* Walks the root mapping of the document and loads the three sections. */
static int uaparse_doc_load(struct uaparse *up, yaml_document_t *doc, char *err, size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "not a mapping at the top");
        return -1;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *k = uaparse_scalar(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        for (int s = 0; k && v && v->type == YAML_SEQUENCE_NODE && s < UAPARSE_NSECT; s++)
            if (strcmp(k, uaparse_sect_names[s]) == 0 &&
                uaparse_sect_load(up, doc, v, (enum uaparse_sect)s) != 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
    }
    if (uaparse_rules(up) == 0) {
        snprintf(err, errlen, "no user agent rule in the file");
        return -1;
    }
    return 0;
}

/* Reads the YAML file into rules. 0, or -1 with the reason in err. */
static int uaparse_load(struct uaparse *up, const char *path, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1, have_doc = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory");
        goto out_file;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "'%s' line %zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "YAML error");
        goto out;
    }
    have_doc = 1;
    rc = uaparse_doc_load(up, &doc, err, errlen);
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
out_file:
    fclose(f);
    return rc;
}

struct uaparse *uaparse_new(const char *path, char *err, size_t errlen)
{
    struct uaparse *up = calloc(1, sizeof(*up));
    if (!up) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    up->md = pcre2_match_data_create(10, NULL);
    up->mctx = pcre2_match_context_create(NULL);
    if (!up->md || !up->mctx) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pcre2_set_match_limit(up->mctx, UAPARSE_MATCH_LIMIT);
    pcre2_set_depth_limit(up->mctx, UAPARSE_DEPTH_LIMIT);
    if (uaparse_load(up, path, err, errlen) == 0)
        return up;
fail:
    uaparse_free(up);
    return NULL;
}

void uaparse_free(struct uaparse *up)
{
    if (!up)
        return;
    for (int s = 0; s < UAPARSE_NSECT; s++) {
        for (size_t i = 0; i < up->sect[s].n; i++) {
            pcre2_code_free(up->sect[s].r[i].re);
            for (int j = 0; j < UAPARSE_NREPL; j++)
                free(up->sect[s].r[i].repl[j]);
        }
        free(up->sect[s].r);
    }
    pcre2_match_data_free(up->md);
    pcre2_match_context_free(up->mctx);
    free(up);
}

size_t uaparse_rules(const struct uaparse *up)
{
    return up->sect[UAPARSE_UA].n + up->sect[UAPARSE_OS].n + up->sect[UAPARSE_DEV].n;
}

size_t uaparse_skipped(const struct uaparse *up)
{
    return up->skipped;
}

/* ------------------------------------------------------------------------ */
/* Matching                                                                  */
/* ------------------------------------------------------------------------ */

/* Appends s[0..n) to out (cap bytes with the NUL), cutting what does not fit. */
static void uaparse_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/*
 * Expands tmpl ($1..$9 name the groups of the last match, an unset group is
 * empty) into out and trims blanks; a NULL tmpl means "$1". "" when empty.
 */
static void uaparse_expand(const struct uaparse *up, const char *subject, const char *tmpl,
                           char *out)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(up->md);
    uint32_t npairs = pcre2_get_ovector_count(up->md);
    size_t len = 0;
    out[0] = '\0';
    for (const char *t = tmpl ? tmpl : "$1"; *t; t++) {
        if (t[0] == '$' && t[1] >= '1' && t[1] <= '9') {
            uint32_t g = (uint32_t)(t[1] - '0');
            if (g < npairs && ov[2 * g] != PCRE2_UNSET)
                uaparse_put(out, UAPARSE_NAME_MAX, &len, subject + ov[2 * g],
                            ov[2 * g + 1] - ov[2 * g]);
            t++;
        } else {
            uaparse_put(out, UAPARSE_NAME_MAX, &len, t, 1);
        }
    }
    size_t start = strspn(out, " \t");
    while (len > start && (out[len - 1] == ' ' || out[len - 1] == '\t'))
        len--;
    memmove(out, out + start, len - start);
    out[len - start] = '\0';
}

/* The first rule of section s that matches ua, or NULL. The match stays in up->md. */
static const struct uaparse_rule *uaparse_first(struct uaparse *up, enum uaparse_sect s,
                                                const char *ua, size_t len)
{
    for (size_t i = 0; i < up->sect[s].n; i++) {
        const struct uaparse_rule *r = &up->sect[s].r[i];
        if (pcre2_match(r->re, (PCRE2_SPTR)ua, len, 0, 0, up->md, up->mctx) >= 0)
            return r;
    }
    return NULL;
}

/* Sets out to "Other" when it is empty. */
static void uaparse_other(char *out)
{
    if (out[0] == '\0')
        snprintf(out, UAPARSE_NAME_MAX, "Other");
}

void uaparse_parse(struct uaparse *up, const char *ua, size_t len, struct uaparse_result *out)
{
    char subject[UAPARSE_UA_MAX + 1];
    const struct uaparse_rule *r;
    memset(out, 0, sizeof(*out));
    len = len < UAPARSE_UA_MAX ? len : UAPARSE_UA_MAX;
    memcpy(subject, ua, len);
    subject[len] = '\0'; /* $N copies read the subject; keep it a C string too */
    if ((r = uaparse_first(up, UAPARSE_UA, subject, len)))
        uaparse_expand(up, subject, r->repl[0], out->browser);
    if ((r = uaparse_first(up, UAPARSE_OS, subject, len)))
        uaparse_expand(up, subject, r->repl[0], out->os);
    if ((r = uaparse_first(up, UAPARSE_DEV, subject, len))) {
        uaparse_expand(up, subject, r->repl[0], out->device);
        if (r->repl[1])
            uaparse_expand(up, subject, r->repl[1], out->brand);
        uaparse_expand(up, subject, r->repl[2], out->model);
    }
    uaparse_other(out->browser);
    uaparse_other(out->os);
    uaparse_other(out->device);
}
