/* Payload inspection: the detector (one Hyperscan database over every rule, PCRE2 programs for
 * confirmation), per-thread scratch, the per-leaf decoding pipeline and the walk over API Gateway
 * and function URL events. See observe/detect.h. */
#include "observe/detect.h"
#include "observe/detect_int.h"
#include "observe/detect_rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs/hs.h>
#include <pcre2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_CAP (1024 * 1024)         /* a base64 body is decoded up to this many bytes */
#define EVENT_BUDGET (2 * 1024 * 1024) /* bytes of leaves inspected per event, all variants */
#define LEVELS 2                       /* a leaf may hold JSON once (a JSON string in JSON) */
#define VARIANTS 4                     /* url, url twice, html entities, base64 */
#define MAX_RULES 128                  /* rows of obs_rules[] at most (85 today) */
#define RULE_WORDS (MAX_RULES / 64)
#define START_KINDS (OBS_START_ADDRESS + 1)
#define BYTE_SLOTS 8
/* Leaves (and their decoded forms) are gathered into one buffer and scanned by Hyperscan in one
 * call: its fixed cost per call (hundreds of ns) would otherwise dominate short values. The
 * buffer is flushed (scanned and confirmed) when it or the segment table is full. */
#define BATCH_CAP (256 * 1024) /* > OBS_LEAF_CAP: a segment always fits an empty batch */
#define SEG_CAP 1024
_Static_assert(BATCH_CAP > OBS_LEAF_CAP, "a segment must fit an empty batch");
#define LOCS_CAP (64 * 1024)
/* Between segments: not a word character, so \b at a segment's edge behaves as at the edge of a
 * buffer of its own; and no Hyperscan expression has ^ or $ (checked by has_anchor()). So every
 * match within a segment is found in the batch too. A pattern may also match across a separator;
 * such a candidate only costs a confirmation, which runs on the one segment (see confirm()). */
#define SEPARATOR '\0'

struct obs_detector {
    hs_database_t *db;
    pcre2_code *re[MAX_RULES];                     /* NULL for rules confirmed by code */
    uint64_t start_rules[START_KINDS][RULE_WORDS]; /* rules candidate by each enum obs_start */
    /* the rules a Hyperscan id stands for: rows with the same expression share one pattern */
    uint64_t hs_rules[MAX_RULES][RULE_WORDS];
    /* Rows whose expression is one byte of a set (';', ['"], a backtick): a candidate wherever
     * such a byte occurs, which a table lookup per byte tells for less than a Hyperscan pattern
     * costs (and without a callback per quote). byte_slots[c] has bit k when byte c is in the
     * set of byte_rule[k]. */
    unsigned char byte_slots[256];
    unsigned byte_rule[BYTE_SLOTS];
    unsigned nbyte;
};

/* One string handed to Hyperscan: a leaf or one decoded form of it. */
struct seg {
    size_t off, len; /* in the batch buffer */
    size_t loc;      /* its location, an offset in locs */
    bool secret;     /* the location holds credentials: mask everything in evidence */
    uint64_t hits[RULE_WORDS];
};

struct level {
    char unesc[OBS_LEAF_CAP];
    char v[VARIANTS][OBS_LEAF_CAP];
};

/* Where the best match of a class lies in the batch: its location, evidence and shape are only
 * rendered for the match that is still the best when the batch is flushed. */
struct pending {
    bool due;
    bool has_shape;
    size_t seg, start, end;
    uint64_t shape;
};

struct obs_scratch {
    const struct obs_detector *d;
    hs_scratch_t *hs;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    /* the batch awaiting a scan */
    size_t used, nseg, locs_used, last_loc;
    size_t cur; /* the segment of the last Hyperscan match (matches come mostly in order) */
    struct seg seg[SEG_CAP];
    char batch[BATCH_CAP];
    char locs[LOCS_CAP];
    /* the event being inspected */
    struct obs_match best[OBS_CLASS_COUNT];
    bool have[OBS_CLASS_COUNT];
    struct pending pend[OBS_CLASS_COUNT]; /* best[c]'s evidence, still to be rendered */
    size_t budget;
    bool secret;   /* the current location holds credentials: mask everything */
    char loc[128]; /* the current location */
    struct level lv[LEVELS];
    char body[BODY_CAP];
};

static const char *const class_names[OBS_CLASS_COUNT] = {
    [OBS_SQLI] = "sqli", [OBS_NOSQLI] = "nosqli",
    [OBS_CMDI] = "cmdi", [OBS_PATH_TRAVERSAL] = "path-traversal",
    [OBS_SSRF] = "ssrf", [OBS_XXE] = "xxe",
    [OBS_SSTI] = "ssti", [OBS_DESERIALIZATION] = "deserialization",
    [OBS_XSS] = "xss",
};

const char *obs_class_name(enum obs_class c)
{
    return (unsigned)c < OBS_CLASS_COUNT ? class_names[c] : "unknown";
}

static bool is_punct(char c)
{
    return c != '\0' && strchr("!\"#%&',-/:;<=>@_`~$()*+.?[\\]^{|}", c) != NULL;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One literal byte of a pattern at *e: a plain character, \xHH or an escaped punctuation
 * character (not \s, \d, ...); advances *e. False for anything else. */
static bool literal_byte(const char **e, unsigned char *out)
{
    const char *p = *e;

    if (*p == '\\' && p[1] == 'x' && hex_digit(p[2]) >= 0 && hex_digit(p[3]) >= 0) {
        *out = (unsigned char)(hex_digit(p[2]) * 16 + hex_digit(p[3]));
        *e = p + 4;
        return true;
    }
    if (*p == '\\' && is_punct(p[1])) {
        *out = (unsigned char)p[1];
        *e = p + 2;
        return true;
    }
    if (*p == '\0' || strchr("\\.[]()|*+?{}^$-", *p) != NULL)
        return false;
    *out = (unsigned char)*p;
    *e = p + 1;
    return true;
}

/* Is the whole expression one byte of a set ("x", "\x60", "['\"]")? Fills set (both cases
 * of letters: patterns are caseless). */
static bool one_byte_expr(const char *e, bool set[256])
{
    unsigned char c;
    bool bracket = *e == '[';

    memset(set, 0, 256 * sizeof set[0]);
    if (bracket)
        e++;
    do {
        if (!literal_byte(&e, &c))
            return false;
        set[c] = true;
        if (c >= 'a' && c <= 'z')
            set[c - 32] = true;
        if (c >= 'A' && c <= 'Z')
            set[c + 32] = true;
    } while (bracket && *e != ']');
    return bracket ? e[0] == ']' && e[1] == '\0' : *e == '\0';
}

/* Does the expression use ^ or $ outside a character class? They would mean the start and end
 * of the batch, not of a leaf: such conditions are enum obs_start or PCRE2's, never Hyperscan's. */
static bool has_anchor(const char *e)
{
    bool in_class = false;

    for (; *e != '\0'; e++) {
        if (*e == '\\' && e[1] != '\0')
            e++;
        else if (in_class)
            in_class = *e != ']';
        else if (*e == '[') {
            in_class = true;
            if (e[1] == '^')
                e++;
            if (e[1] == ']') /* a ']' first in a class is a member */
                e++;
        } else if (*e == '^' || *e == '$') {
            return true;
        }
    }
    return false;
}

void obs_detector_free(struct obs_detector *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < MAX_RULES; i++)
        pcre2_code_free(d->re[i]);
    hs_free_database(d->db);
    free(d);
}

/* The Hyperscan patterns being gathered: pattern k is exprs[k] with flags[k], reported as id
 * ids[k] (the first row with that expression). */
struct prefilters {
    const char *exprs[MAX_RULES];
    unsigned flags[MAX_RULES];
    unsigned ids[MAX_RULES];
    unsigned n;
};

/* Registers row i's prefilter (its anchor, or its expression in prefilter mode): as a byte of
 * a set when it is one, else as a Hyperscan pattern, shared with an earlier row that has the
 * same expression. */
static enum err_code add_prefilter(struct obs_detector *d, size_t i, struct prefilters *pf,
                                   struct err *err)
{
    const char *e = obs_rules[i].hs != NULL ? obs_rules[i].hs : obs_rules[i].re;
    bool set[256];
    /* every match, not one per pattern and scan: a scan covers many segments (and Hyperscan is
     * faster without the single-match bookkeeping) */
    unsigned f =
        HS_FLAG_CASELESS | HS_FLAG_DOTALL | (obs_rules[i].hs == NULL ? HS_FLAG_PREFILTER : 0);
    unsigned same = 0;

    if (has_anchor(e))
        return err_set(err, ERR_INTERNAL, "payload rule %zu: ^ or $ in a Hyperscan pattern", i);
    if (d->nbyte < BYTE_SLOTS && one_byte_expr(e, set)) {
        for (unsigned c = 0; c < 256; c++)
            if (set[c])
                d->byte_slots[c] |= (unsigned char)(1u << d->nbyte);
        d->byte_rule[d->nbyte++] = (unsigned)i;
        return ERR_OK;
    }
    while (same < pf->n && !(pf->flags[same] == f && strcmp(pf->exprs[same], e) == 0))
        same++;
    if (same == pf->n) {
        pf->exprs[pf->n] = e;
        pf->flags[pf->n] = f;
        pf->ids[pf->n++] = (unsigned)i;
    }
    d->hs_rules[pf->ids[same]][i / 64] |= 1ull << (i % 64);
    return ERR_OK;
}

enum err_code obs_detector_new(struct obs_detector **out, struct err *err)
{
    enum err_code rc = ERR_OK;
    struct obs_detector *d = NULL;
    struct prefilters pf;
    hs_compile_error_t *cerr = NULL;

    *out = NULL;
    pf.n = 0;
    if (obs_rule_count > MAX_RULES)
        return err_set(err, ERR_INTERNAL, "too many payload rules");
    if (hs_valid_platform() != HS_SUCCESS)
        return err_set(err, ERR_INTERNAL, "Hyperscan does not support this CPU");
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < obs_rule_count; i++) {
        if (obs_rules[i].start != OBS_START_NONE)
            d->start_rules[obs_rules[i].start][i / 64] |= 1ull << (i % 64);
        if (obs_rules[i].hs != NULL || obs_rules[i].start == OBS_START_NONE) {
            rc = add_prefilter(d, i, &pf, err);
            if (rc != ERR_OK)
                goto out;
        }
        if (obs_rules[i].confirm != OBS_CONFIRM_PCRE)
            continue;
        int ec;
        PCRE2_SIZE eo;
        d->re[i] = pcre2_compile((PCRE2_SPTR)obs_rules[i].re, PCRE2_ZERO_TERMINATED,
                                 PCRE2_CASELESS | PCRE2_DOTALL, &ec, &eo, NULL);
        if (d->re[i] == NULL) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(ec, msg, sizeof msg);
            rc = err_set(err, ERR_INTERNAL, "payload rule %zu (%s): %s at %zu", i,
                         obs_rules[i].technique, (const char *)msg, (size_t)eo);
            goto out;
        }
        /* JIT where the platform has it; the interpreter otherwise */
        (void)pcre2_jit_compile(d->re[i], PCRE2_JIT_COMPLETE);
    }
    if (hs_compile_multi(pf.exprs, pf.flags, pf.ids, pf.n, HS_MODE_BLOCK, NULL, &d->db, &cerr) !=
        HS_SUCCESS) {
        rc = err_set(err, ERR_INTERNAL, "payload rule %u: %s",
                     cerr->expression >= 0 ? pf.ids[cerr->expression] : 0u, cerr->message);
        hs_free_compile_error(cerr);
        goto out;
    }
    *out = d;
    d = NULL;
out:
    obs_detector_free(d);
    return rc;
}

void obs_scratch_free(struct obs_scratch *s)
{
    if (s == NULL)
        return;
    hs_free_scratch(s->hs);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    pcre2_jit_stack_free(s->jit);
    free(s);
}

enum err_code obs_scratch_new(const struct obs_detector *d, struct obs_scratch **out,
                              struct err *err)
{
    struct obs_scratch *s = calloc(1, sizeof *s);

    *out = NULL;
    if (s == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    s->d = d;
    if (hs_alloc_scratch(d->db, &s->hs) != HS_SUCCESS) {
        obs_scratch_free(s);
        return err_set(err, ERR_NOMEM, "out of memory (Hyperscan scratch)");
    }
    s->md = pcre2_match_data_create(1, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    s->jit = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if (s->md == NULL || s->mctx == NULL) {
        obs_scratch_free(s);
        return err_set(err, ERR_NOMEM, "out of memory (PCRE2 match data)");
    }
    /* bounded backtracking for the interpreter (the JIT has its own stack limit) */
    pcre2_set_match_limit(s->mctx, 200000);
    pcre2_set_depth_limit(s->mctx, 5000);
    if (s->jit != NULL)
        pcre2_jit_stack_assign(s->mctx, NULL, s->jit);
    *out = s;
    return ERR_OK;
}

/* Marks the rule as a candidate of the segment that holds the match's last byte; a match that
 * ends on a separator belongs to no segment. */
static int on_hit(unsigned int id, unsigned long long from, unsigned long long to,
                  unsigned int flags, void *ctx)
{
    struct obs_scratch *s = ctx;
    size_t last = (size_t)to - 1;
    struct seg *g = &s->seg[s->cur];

    (void)from;
    (void)flags;
    if (to == 0 || id >= MAX_RULES)
        return 0;
    if (last < g->off || last >= g->off + g->len) {
        size_t lo = 0, hi = s->nseg; /* the last segment starting at or before last */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (s->seg[mid].off <= last)
                lo = mid;
            else
                hi = mid;
        }
        g = &s->seg[lo];
        if (last < g->off || last >= g->off + g->len)
            return 0;
        s->cur = lo;
    }
    for (size_t w = 0; w < RULE_WORDS; w++)
        g->hits[w] |= s->d->hs_rules[id][w];
    return 0;
}

static void hex64(uint64_t h, char out[17])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--) {
        out[i] = digits[h & 0xF];
        h >>= 4;
    }
    out[16] = '\0';
}

/* Keeps the match if it beats what the class has in this event. */
/* A signature's match is often just its anchor ("<script"): the shape covers what follows it
 * too, so that different payloads behind the same anchor differ. */
static size_t shape_end(size_t len, size_t start, size_t end)
{
    size_t want = start + 96;

    if (end > want)
        want = end;
    return want < len ? want : len;
}

/* Keeps the match if it beats what the class has in this event; its location, evidence and
 * shape (given, or else hashed from the text) are made when the batch is flushed (render()). */
static void offer(struct obs_scratch *s, const struct seg *g, enum obs_class cls,
                  const char *technique, double conf, size_t start, size_t end,
                  const uint64_t *shape)
{
    struct obs_match *m = &s->best[cls];
    struct pending *p = &s->pend[cls];

    if (s->have[cls] && m->confidence >= conf)
        return;
    s->have[cls] = true;
    m->cls = cls;
    m->technique = technique;
    m->confidence = conf;
    p->due = true;
    p->seg = (size_t)(g - s->seg);
    p->start = start;
    p->end = end;
    p->has_shape = shape != NULL;
    p->shape = shape != NULL ? *shape : 0;
}

/* Renders the location, evidence and shape of the matches the batch's segments gave. */
static void render(struct obs_scratch *s)
{
    for (int c = 0; c < OBS_CLASS_COUNT; c++) {
        struct pending *p = &s->pend[c];
        struct obs_match *m = &s->best[c];
        if (!p->due)
            continue;
        p->due = false;
        const struct seg *g = &s->seg[p->seg];
        const char *text = s->batch + g->off, *loc = s->locs + g->loc;
        size_t ln = strlen(loc);
        memcpy(m->location, loc, ln + 1);
        obs_evidence(text, g->len, p->start, p->end, g->secret, m->evidence, sizeof m->evidence);
        hex64(p->has_shape ? p->shape
                           : obs_shape_text(text, p->start, shape_end(g->len, p->start, p->end),
                                            (unsigned)c),
              m->shape);
    }
}

static char lower_c(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool starts_ci(const char *t, size_t len, const char *w)
{
    size_t n = strlen(w);

    if (n > len)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower_c(t[i]) != w[i])
            return false;
    return true;
}

/* Which enum obs_start conditions the value meets (a bit per condition). */
static unsigned start_conditions(const char *t, size_t len)
{
    unsigned m = 0;
    size_t i = 0;

    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    if (i >= len)
        return 0;
    t += i;
    len -= i;
    const char c = t[0];
    const bool digit = c >= '0' && c <= '9';
    if (digit || ((c == '-' || c == '+' || c == '(') && len > 1)) {
        size_t k = digit ? 0 : 1;
        while (k < len && (t[k] == ' ' || t[k] == '('))
            k++;
        if (k < len && t[k] >= '0' && t[k] <= '9')
            m |= 1u << OBS_START_SQL;
    }
    if (starts_ci(t, len, "or ") || starts_ci(t, len, "and ") || starts_ci(t, len, "xor ") ||
        starts_ci(t, len, "||") || starts_ci(t, len, "&&"))
        m |= 1u << OBS_START_SQL;
    else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        size_t k = 1; /* word=1 */
        while (k < len && k < 64 &&
               ((t[k] >= 'a' && t[k] <= 'z') || (t[k] >= 'A' && t[k] <= 'Z') ||
                (t[k] >= '0' && t[k] <= '9') || t[k] == '_'))
            k++;
        if (k + 1 < len && t[k] == '=' && t[k + 1] >= '0' && t[k + 1] <= '9')
            m |= 1u << OBS_START_SQL;
    }
    if (c == '$')
        m |= 1u << OBS_START_DOLLAR;
    if (c == '/' || c == '\\' ||
        (len > 1 && t[1] == ':' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) ||
        starts_ci(t, len, "file:"))
        m |= 1u << OBS_START_PATH;
    if ((len > 2 && c == 'g' && t[1] == 'A' && strchr("SWNJ", t[2]) != NULL) ||
        (unsigned char)c == 0x80)
        m |= 1u << OBS_START_PICKLE;
    if (digit || c == '[' || c == '/' || c == '\\' || starts_ci(t, len, "localhost"))
        m |= 1u << OBS_START_ADDRESS;
    return m;
}

/* The byte_slots bits of every byte of t (four lanes: no chain of dependent loads). */
static unsigned byte_rules_in(const struct obs_detector *d, const unsigned char *t, size_t len)
{
    unsigned a = 0, b = 0, c = 0, e = 0;
    size_t i = 0;

    for (; i + 4 <= len; i += 4) {
        a |= d->byte_slots[t[i]];
        b |= d->byte_slots[t[i + 1]];
        c |= d->byte_slots[t[i + 2]];
        e |= d->byte_slots[t[i + 3]];
    }
    for (; i < len; i++)
        a |= d->byte_slots[t[i]];
    return a | b | c | e;
}

/* Confirms the candidates of one segment: the rules Hyperscan found and those its start selects,
 * in rule order. Confirmers see the segment alone, never its neighbours in the batch. */
static void confirm(struct obs_scratch *s, struct seg *g)
{
    const struct obs_detector *d = s->d;
    const char *text = s->batch + g->off;
    size_t len = g->len;
    bool ssrf_done = false;
    unsigned sql = 0;
    unsigned starts = start_conditions(text, len);
    unsigned bytes = d->nbyte > 0 ? byte_rules_in(d, (const unsigned char *)text, len) : 0;

    for (unsigned k = 0; bytes != 0 && k < d->nbyte; k++)
        if (bytes & (1u << k))
            g->hits[d->byte_rule[k] / 64] |= 1ull << (d->byte_rule[k] % 64);
    for (unsigned k = 0; starts != 0 && k < START_KINDS; k++)
        if (starts & (1u << k))
            for (size_t w = 0; w < RULE_WORDS; w++)
                g->hits[w] |= d->start_rules[k][w];
    for (size_t w = 0; w < RULE_WORDS; w++) {
        for (uint64_t bits = g->hits[w]; bits != 0; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            const struct obs_rule *r = &obs_rules[i];
            if (r->confirm == OBS_CONFIRM_SQL_RAW) {
                sql |= OBS_SQL_RAW; /* collected here, run once below with every context */
            } else if (r->confirm == OBS_CONFIRM_SQL_QUOTED) {
                sql |= OBS_SQL_QUOTED;
            } else if (r->confirm == OBS_CONFIRM_SQL_ANYWHERE) {
                sql |= OBS_SQL_ANYWHERE;
            } else if (r->confirm == OBS_CONFIRM_SQL_STACKED) {
                sql |= OBS_SQL_STACKED;
            } else if (r->confirm == OBS_CONFIRM_SSRF) {
                struct obs_ssrf_hit h;
                if (ssrf_done || (s->have[OBS_SSRF] && s->best[OBS_SSRF].confidence >= 0.95))
                    continue;
                ssrf_done = true;
                if (obs_ssrf_check(text, len, &h))
                    offer(s, g, OBS_SSRF, h.technique, h.confidence, h.start, h.end, NULL);
            } else {
                if (s->have[r->cls] && s->best[r->cls].confidence >= r->confidence)
                    continue;
                int mrc = pcre2_match(d->re[i], (PCRE2_SPTR)text, len, 0, 0, s->md, s->mctx);
                if (mrc < 0)
                    continue; /* no match, or a limit hit: the prefilter was too broad */
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
                size_t a = ov[0], b = ov[1] >= ov[0] ? ov[1] : ov[0];
                offer(s, g, r->cls, r->technique, r->confidence, a, b, NULL);
            }
        }
    }
    if (sql != 0 && !(s->have[OBS_SQLI] && s->best[OBS_SQLI].confidence >= 0.95)) {
        struct obs_sql_hit h;
        if (obs_sql_check(text, len, sql, &h))
            offer(s, g, OBS_SQLI, h.technique, h.confidence, h.start, h.end, &h.shape);
    }
}

/* Scans the batch in one Hyperscan call and confirms its segments in the order they were
 * added (so the most confident match per class, first on ties, is what one scan per segment
 * would find), then empties it. */
static void flush(struct obs_scratch *s)
{
    if (s->nseg == 0)
        return;
    s->cur = 0;
    /* on a Hyperscan error nothing is confirmed, as nothing is known */
    if (hs_scan(s->d->db, s->batch, (unsigned)s->used, 0, s->hs, on_hit, s) == HS_SUCCESS)
        for (size_t i = 0; i < s->nseg; i++)
            confirm(s, &s->seg[i]);
    render(s);
    s->used = 0;
    s->nseg = 0;
    s->locs_used = 0;
    s->last_loc = 0;
}

/* Adds one decoded form of a leaf, at the current location, to the batch (within the event's
 * budget), flushing the batch first when it is full. */
static void scan(struct obs_scratch *s, const char *text, size_t len)
{
    size_t ln = strlen(s->loc);
    bool same_loc;

    if (len > s->budget)
        len = s->budget;
    s->budget -= len;
    if (len > OBS_LEAF_CAP) /* callers cut at the cap already; an empty batch holds this much */
        len = OBS_LEAF_CAP;
    if (len == 0)
        return;
    same_loc = s->nseg > 0 && strcmp(s->locs + s->last_loc, s->loc) == 0;
    if (s->nseg == SEG_CAP || BATCH_CAP - s->used < len + 1 ||
        (!same_loc && LOCS_CAP - s->locs_used < ln + 1)) {
        flush(s);
        same_loc = false;
    }
    if (!same_loc) {
        s->last_loc = s->locs_used;
        memcpy(s->locs + s->locs_used, s->loc, ln + 1);
        s->locs_used += ln + 1;
    }
    struct seg *g = &s->seg[s->nseg++];
    g->off = s->used;
    g->len = len;
    g->loc = s->last_loc;
    g->secret = s->secret;
    memset(g->hits, 0, sizeof g->hits);
    memcpy(s->batch + s->used, text, len);
    s->batch[s->used + len] = SEPARATOR;
    s->used += len + 1;
}

static void leaf(struct obs_scratch *s, int level, const char *text, size_t len);

struct walk_ctx {
    struct obs_scratch *s;
    int level;
    size_t loc_base; /* length of s->loc before the JSON path */
};

/* s->loc = its first base bytes + "." + path (no dot at the start or for an empty path), cut to
 * fit. */
static void set_loc(struct obs_scratch *s, size_t base, const char *path)
{
    size_t at = base, n = strlen(path);

    if (base >= sizeof s->loc - 1)
        return;
    if (base > 0 && path[0] != '\0')
        s->loc[at++] = '.';
    if (n > sizeof s->loc - 1 - at)
        n = sizeof s->loc - 1 - at;
    memcpy(s->loc + at, path, n);
    s->loc[at + n] = '\0';
}

static void on_json_leaf(void *ctx, const char *path, const char *str, size_t len, bool is_key)
{
    struct walk_ctx *w = ctx;

    (void)is_key;
    set_loc(w->s, w->loc_base, path);
    leaf(w->s, w->level, str, len);
}

static bool looks_json(const char *t, size_t len)
{
    size_t i = 0;

    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i < len && (t[i] == '{' || t[i] == '[');
}

/* Walks JSON text whose string leaves are inspected at level; false if it is not JSON. */
static bool walk_json_text(struct obs_scratch *s, int level, const char *text, size_t len)
{
    char saved[sizeof s->loc];
    struct walk_ctx w = {s, level, strlen(s->loc)};
    bool ok;

    memcpy(saved, s->loc, sizeof saved);
    ok = obs_json_walk(text, len, "", s->lv[level].unesc, OBS_LEAF_CAP, on_json_leaf, &w);
    memcpy(s->loc, saved, sizeof saved);
    return ok;
}

/* Inspects one string: as is, percent-decoded (twice), HTML-entity decoded, base64-decoded; JSON
 * inside a leaf is walked once. */
static void leaf(struct obs_scratch *s, int level, const char *text, size_t len)
{
    struct level *L = &s->lv[level];
    const char *cur = text;
    size_t cur_len;
    bool changed;

    if (len > OBS_LEAF_CAP)
        len = OBS_LEAF_CAP;
    if (len == 0 || s->budget == 0)
        return;
    /* JSON in a leaf: its leaves first (precise locations), then the whole text, for
     * signatures that span keys and values ("@type": "com.sun...") */
    if (level + 1 < LEVELS && len >= 2 && looks_json(text, len))
        (void)walk_json_text(s, level + 1, text, len);
    scan(s, text, len);
    cur_len = len;
    /* percent-encoding, or '+' for spaces in a value that has no space (1+union+select) */
    if (memchr(text, '%', len) != NULL ||
        (memchr(text, '+', len) != NULL && memchr(text, ' ', len) == NULL)) {
        size_t n1 = obs_url_decode(text, len, L->v[0], OBS_LEAF_CAP, true, &changed);
        if (changed) {
            scan(s, L->v[0], n1);
            cur = L->v[0];
            cur_len = n1;
            if (memchr(L->v[0], '%', n1) != NULL) {
                size_t n2 = obs_url_decode(L->v[0], n1, L->v[1], OBS_LEAF_CAP, false, &changed);
                if (changed) {
                    scan(s, L->v[1], n2);
                    cur = L->v[1];
                    cur_len = n2;
                }
            }
        }
    }
    if (memchr(cur, '&', cur_len) != NULL) {
        size_t n3 = obs_html_decode(cur, cur_len, L->v[2], OBS_LEAF_CAP, &changed);
        if (changed)
            scan(s, L->v[2], n3);
    }
    if (obs_looks_base64(text, len)) {
        size_t n4;
        unsigned char *b = (unsigned char *)L->v[3];
        obs_base64_decode(text, len, b, OBS_LEAF_CAP, &n4);
        /* text, or a serialised object's magic bytes */
        bool magic = n4 >= 2 && ((b[0] == 0xAC && b[1] == 0xED) || (b[0] == 0x80 && b[1] <= 5));
        if (magic || obs_is_mostly_text(b, n4)) {
            if (level + 1 < LEVELS && looks_json(L->v[3], n4))
                (void)walk_json_text(s, level + 1, L->v[3], n4);
            scan(s, L->v[3], n4);
        }
    }
}

static void reset(const struct obs_detector *d, struct obs_scratch *s)
{
    s->d = d;
    memset(s->have, 0, sizeof s->have);
    memset(s->pend, 0, sizeof s->pend);
    s->budget = EVENT_BUDGET;
    s->secret = false;
    s->loc[0] = '\0';
    s->used = 0;
    s->nseg = 0;
    s->locs_used = 0;
    s->last_loc = 0;
}

static int by_confidence(const void *a, const void *b)
{
    const struct obs_match *x = a, *y = b;

    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    return (int)x->cls - (int)y->cls;
}

/* Flushes the batch and writes the best match per class, most confident first. */
static size_t collect(struct obs_scratch *s, struct obs_match *out, size_t max)
{
    struct obs_match all[OBS_CLASS_COUNT];
    size_t n = 0;

    flush(s);
    for (int c = 0; c < OBS_CLASS_COUNT; c++)
        if (s->have[c])
            all[n++] = s->best[c];
    qsort(all, n, sizeof all[0], by_confidence);
    if (n > max)
        n = max;
    if (n > 0)
        memcpy(out, all, n * sizeof all[0]);
    return n;
}

/* Inspects one string at a location given by the caller. */
static void caller_leaf(struct obs_scratch *s, const char *text, size_t len, const char *location)
{
    size_t ln = location != NULL ? strlen(location) : 0;

    if (ln >= sizeof s->loc)
        ln = sizeof s->loc - 1;
    if (ln > 0)
        memcpy(s->loc, location, ln);
    s->loc[ln] = '\0';
    if (text != NULL)
        leaf(s, 0, text, len);
}

size_t obs_inspect_string(const struct obs_detector *d, struct obs_scratch *s, const char *text,
                          size_t len, const char *location, struct obs_match *out, size_t max)
{
    reset(d, s);
    caller_leaf(s, text, len, location);
    return collect(s, out, max);
}

size_t obs_inspect_strings(const struct obs_detector *d, struct obs_scratch *s,
                           const struct obs_leaf *leaves, size_t n, struct obs_match *out,
                           size_t max)
{
    reset(d, s);
    for (size_t i = 0; leaves != NULL && i < n && s->budget > 0; i++)
        caller_leaf(s, leaves[i].text, leaves[i].len, leaves[i].location);
    return collect(s, out, max);
}

/* ---- API Gateway v1/v2 and function URL events ---- */

/* Headers that browsers, CloudFront or API Gateway set with fixed formats; everything else
 * (User-Agent, Referer, X-Forwarded-For, Content-Type, custom headers) can carry an attack. */
static const char *const skip_headers[] = {
    "accept",
    "accept-encoding",
    "accept-language",
    "content-length",
    "connection",
    "via",
    "x-amzn-trace-id",
    "x-amz-cf-id",
    "x-forwarded-port",
    "x-forwarded-proto",
    "upgrade-insecure-requests",
    "cache-control",
    "pragma",
    "dnt",
    "priority",
    "if-none-match",
    "if-modified-since",
    "x-amz-date",
    "x-amz-content-sha256",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
};

/* Headers whose values are credentials: inspected, but evidence is masked. */
static const char *const secret_headers[] = {
    "authorization",        "proxy-authorization", "x-api-key",
    "x-amz-security-token", "x-auth-token",        "x-csrf-token",
};

static bool name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, list[i]) == 0)
            return true;
    return false;
}

/* s->loc = prefix + "." + name (cut to fit). */
static void loc2(struct obs_scratch *s, const char *prefix, const char *name, size_t name_len)
{
    int n = snprintf(s->loc, sizeof s->loc, "%s.", prefix);
    size_t at = n > 0 && (size_t)n < sizeof s->loc ? (size_t)n : sizeof s->loc - 1;
    size_t room = sizeof s->loc - 1 - at;

    if (name_len > room)
        name_len = room;
    memcpy(s->loc + at, name, name_len);
    s->loc[at + name_len] = '\0';
}

/* "a=1&b=2" (query strings and form bodies) or "a=1; b=2" (Cookie): each key and value. With
 * sep '\0', the text is one pair (a v2 event's cookies are one per array element). */
static void walk_pairs(struct obs_scratch *s, const char *prefix, const char *text, size_t len,
                       char sep)
{
    size_t i = 0;

    while (i < len && s->budget > 0) {
        size_t e = i, eq;
        while (e < len && text[e] != sep)
            e++;
        size_t ks = i;
        while (ks < e && text[ks] == ' ')
            ks++;
        eq = ks;
        while (eq < e && text[eq] != '=')
            eq++;
        if (eq > ks) {
            char key[96];
            bool changed;
            size_t kn = obs_url_decode(text + ks, eq - ks, key, sizeof key, true, &changed);
            loc2(s, prefix, key, kn);
            leaf(s, 0, text + ks, eq - ks);
            if (eq < e)
                leaf(s, 0, text + eq + 1, e - eq - 1);
        } else if (e > ks) {
            loc2(s, prefix, "", 0);
            leaf(s, 0, text + ks, e - ks);
        }
        i = e + 1;
    }
}

static void walk_string_map(struct obs_scratch *s, const char *prefix, json_t *obj)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v)
    {
        loc2(s, prefix, k, strlen(k));
        leaf(s, 0, k, strlen(k));
        if (json_is_string(v)) {
            leaf(s, 0, json_string_value(v), json_string_length(v));
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (json_is_string(e))
                    leaf(s, 0, json_string_value(e), json_string_length(e));
            }
        }
    }
}

/* Any JSON value: every string leaf and object key, with a dotted path. */
static void walk_generic(struct obs_scratch *s, json_t *v, size_t base, int depth)
{
    if (depth > 64 || s->budget == 0)
        return;
    if (json_is_string(v)) {
        s->loc[base < sizeof s->loc ? base : sizeof s->loc - 1] = '\0';
        leaf(s, 0, json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            int n = snprintf(s->loc + base, base < sizeof s->loc ? sizeof s->loc - base : 0, "%s%s",
                             base > 0 ? "." : "", k);
            size_t nb = n > 0 ? base + (size_t)n : base;
            if (nb >= sizeof s->loc)
                nb = sizeof s->loc - 1;
            leaf(s, 0, k, strlen(k));
            walk_generic(s, e, nb, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            int n = snprintf(s->loc + base, base < sizeof s->loc ? sizeof s->loc - base : 0,
                             "%s%zu", base > 0 ? "." : "", i);
            size_t nb = n > 0 ? base + (size_t)n : base;
            if (nb >= sizeof s->loc)
                nb = sizeof s->loc - 1;
            walk_generic(s, e, nb, depth + 1);
        }
    }
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static void walk_headers(struct obs_scratch *s, json_t *headers)
{
    const char *k;
    json_t *v;

    json_object_foreach(headers, k, v)
    {
        if (!json_is_string(v) ||
            name_in(k, skip_headers, sizeof skip_headers / sizeof skip_headers[0]))
            continue;
        if (strncasecmp(k, "cloudfront-", 11) == 0)
            continue;
        if (strcasecmp(k, "cookie") == 0) {
            s->secret = true; /* session cookies are credentials */
            walk_pairs(s, "cookies", json_string_value(v), json_string_length(v), ';');
            s->secret = false;
            continue;
        }
        s->secret = name_in(k, secret_headers, sizeof secret_headers / sizeof secret_headers[0]);
        loc2(s, "headers", k, strlen(k));
        leaf(s, 0, json_string_value(v), json_string_length(v));
        s->secret = false;
    }
}

static void walk_body(struct obs_scratch *s, json_t *event, json_t *headers)
{
    const json_t *body = json_object_get(event, "body");
    const char *text, *ct = NULL;
    size_t len;

    if (!json_is_string(body))
        return;
    text = json_string_value(body);
    len = json_string_length(body);
    if (json_is_true(json_object_get(event, "isBase64Encoded"))) {
        size_t n;
        size_t in = len > BODY_CAP / 3 * 4 ? BODY_CAP / 3 * 4 : len;
        if (!obs_base64_decode(text, in, (unsigned char *)s->body, BODY_CAP, &n)) {
            snprintf(s->loc, sizeof s->loc, "body");
            leaf(s, 0, text, len); /* not base64 after all: inspect what was sent */
            return;
        }
        text = s->body;
        len = n;
    }
    if (json_is_object(headers)) {
        const char *k;
        json_t *v;
        json_object_foreach(headers, k, v)
        {
            if (strcasecmp(k, "content-type") == 0 && json_is_string(v))
                ct = json_string_value(v);
        }
    }
    snprintf(s->loc, sizeof s->loc, "body");
    if ((ct == NULL || contains_ci(ct, "json")) && looks_json(text, len) &&
        walk_json_text(s, 0, text, len)) {
        /* and the whole text once, for signatures that span keys and values */
        snprintf(s->loc, sizeof s->loc, "body");
        scan(s, text, len < OBS_LEAF_CAP ? len : OBS_LEAF_CAP);
        return;
    }
    snprintf(s->loc, sizeof s->loc, "body");
    if (ct != NULL && contains_ci(ct, "x-www-form-urlencoded")) {
        walk_pairs(s, "body", text, len, '&');
        return;
    }
    /* plain text, XML, multipart or JSON that did not parse: one leaf (its first cap bytes) */
    leaf(s, 0, text, len);
}

static bool is_http_event(const json_t *e)
{
    return json_is_object(json_object_get(e, "requestContext")) &&
           (json_object_get(e, "httpMethod") != NULL || json_object_get(e, "rawPath") != NULL ||
            json_object_get(e, "routeKey") != NULL || json_object_get(e, "resource") != NULL ||
            json_object_get(e, "headers") != NULL);
}

static void walk_http(struct obs_scratch *s, json_t *e)
{
    json_t *headers = json_object_get(e, "headers");
    json_t *qs = json_object_get(e, "queryStringParameters");
    json_t *mqs = json_object_get(e, "multiValueQueryStringParameters");
    json_t *raw_qs = json_object_get(e, "rawQueryString");
    json_t *path = json_object_get(e, "path");
    json_t *raw_path = json_object_get(e, "rawPath");
    json_t *pp = json_object_get(e, "pathParameters");
    json_t *cookies = json_object_get(e, "cookies");

    if (json_is_object(mqs))
        walk_string_map(s, "multiValueQueryStringParameters", mqs);
    else if (json_is_object(qs))
        walk_string_map(s, "queryStringParameters", qs);
    else if (json_is_string(raw_qs))
        walk_pairs(s, "rawQueryString", json_string_value(raw_qs), json_string_length(raw_qs), '&');
    if (json_is_string(path)) {
        snprintf(s->loc, sizeof s->loc, "path");
        leaf(s, 0, json_string_value(path), json_string_length(path));
    }
    if (json_is_string(raw_path) &&
        !(json_is_string(path) &&
          strcmp(json_string_value(path), json_string_value(raw_path)) == 0)) {
        snprintf(s->loc, sizeof s->loc, "rawPath");
        leaf(s, 0, json_string_value(raw_path), json_string_length(raw_path));
    }
    if (json_is_object(pp))
        walk_string_map(s, "pathParameters", pp);
    if (json_is_object(headers))
        walk_headers(s, headers);
    else if (json_is_object(json_object_get(e, "multiValueHeaders")))
        walk_string_map(s, "headers", json_object_get(e, "multiValueHeaders"));
    if (json_is_array(cookies)) {
        size_t i;
        json_t *c;
        json_array_foreach(cookies, i, c)
        {
            if (json_is_string(c)) {
                s->secret = true;
                walk_pairs(s, "cookies", json_string_value(c), json_string_length(c), '\0');
                s->secret = false;
            }
        }
    }
    walk_body(s, e, headers);
}

size_t obs_inspect_event(const struct obs_detector *d, struct obs_scratch *s, const json_t *input,
                         struct obs_match *out, size_t max)
{
    /* jansson's iteration API takes non-const values; nothing below modifies the event */
    union {
        const json_t *c;
        json_t *m;
    } in = {.c = input};

    reset(d, s);
    if (input == NULL)
        return 0;
    if (is_http_event(input))
        walk_http(s, in.m);
    else
        walk_generic(s, in.m, 0, 0);
    return collect(s, out, max);
}
