/* Versions: npm semver 2.0.0 and PEP 440, and OSV "affected" ranges over them. See deps.h. */
#include "posture/deps_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VERSION_LEN 256 /* longer version strings are refused */

/* Parses an unsigned decimal of n digits at s; false on overflow. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ---- semver ---- */

struct semver {
    uint64_t core[3];
    const char *pre; /* prerelease identifiers, dot-separated, or NULL */
    size_t pre_len;
};

static size_t digits_at(const char *s)
{
    size_t n = 0;
    while (is_digit(s[n]))
        n++;
    return n;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros when strict. */
static bool semver_idents(const char *s, size_t n, bool numeric_strict)
{
    size_t start = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!is_alnum(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0)
            return false;
        if (numeric_strict && len > 1 && s[start] == '0' && digits_at(s + start) >= len)
            return false;
        start = i + 1;
    }
    return true;
}

static bool semver_parse(const char *v, struct semver *out)
{
    const char *p = v;

    if (strlen(v) > MAX_VERSION_LEN)
        return false;
    if (*p == 'v' || *p == '=')
        p++;
    for (int i = 0; i < 3; i++) {
        size_t n = digits_at(p);
        if (n == 0 || (n > 1 && p[0] == '0') || !parse_u64(p, n, &out->core[i]))
            return false;
        p += n;
        if (i < 2 && *p++ != '.')
            return false;
    }
    out->pre = NULL;
    out->pre_len = 0;
    if (*p == '-') {
        const char *end = strchr(p, '+');
        size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
        if (!semver_idents(p + 1, n, true))
            return false;
        out->pre = p + 1;
        out->pre_len = n;
        p += 1 + n;
    }
    if (*p == '+') {
        if (!semver_idents(p + 1, strlen(p + 1), false))
            return false;
        p += strlen(p);
    }
    return *p == '\0';
}

/* Semver 2.0.0 section 11: identifiers compared left to right; numeric ones numerically and
 * below alphanumeric ones; alphanumeric ones in ASCII order; more identifiers win on a tie. */
static int semver_pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;

    while (i < an && j < bn) {
        size_t ie = i, je = j;
        while (ie < an && a[ie] != '.')
            ie++;
        while (je < bn && b[je] != '.')
            je++;
        size_t al = ie - i, bl = je - j;
        bool anum = digits_at(a + i) >= al, bnum = digits_at(b + j) >= bl;
        int c;
        if (anum && bnum) {
            /* no leading zeros: the longer number is larger */
            c = al != bl ? (al < bl ? -1 : 1) : memcmp(a + i, b + j, al);
        } else if (anum != bnum) {
            c = anum ? -1 : 1;
        } else {
            c = memcmp(a + i, b + j, al < bl ? al : bl);
            if (c == 0)
                c = al < bl ? -1 : al > bl;
        }
        if (c != 0)
            return c < 0 ? -1 : 1;
        i = ie + 1;
        j = je + 1;
    }
    bool amore = i < an, bmore = j < bn;
    return amore == bmore ? 0 : (amore ? 1 : -1);
}

static int semver_compare(const struct semver *a, const struct semver *b)
{
    for (int i = 0; i < 3; i++) {
        int c = cmp_u64(a->core[i], b->core[i]);
        if (c != 0)
            return c;
    }
    if (!a->pre || !b->pre)
        return a->pre ? -1 : (b->pre ? 1 : 0);
    return semver_pre_cmp(a->pre, a->pre_len, b->pre, b->pre_len);
}

bool posture_semver_valid(const char *v)
{
    struct semver s;
    return v && semver_parse(v, &s);
}

bool posture_semver_cmp(const char *a, const char *b, int *cmp)
{
    struct semver x, y;

    if (!a || !b || !semver_parse(a, &x) || !semver_parse(b, &y))
        return false;
    *cmp = semver_compare(&x, &y);
    return true;
}

/* ---- PEP 440 ---- */

#define PEP440_MAX_RELEASE 32
#define PEP440_MAX_LOCAL 64

enum { PRE_A = 0, PRE_B = 1, PRE_RC = 2, PRE_NONE = 3 };

struct pep440 {
    uint64_t epoch;
    uint64_t release[PEP440_MAX_RELEASE];
    size_t nrelease;
    int pre_l; /* PRE_* */
    uint64_t pre_n;
    bool has_post, has_dev;
    uint64_t post_n, dev_n;
    char local[PEP440_MAX_LOCAL]; /* lower case, "." separated; "" when none */
};

/* Matches one of labels (lower case) case-insensitively at s, first in list order; returns its
 * index and sets *n to its length, or -1. */
static int match_label(const char *s, const char *const *labels, size_t nlabels, size_t *n)
{
    for (size_t i = 0; i < nlabels; i++) {
        size_t l = strlen(labels[i]);
        size_t k = 0;
        while (k < l && lower(s[k]) == labels[i][k])
            k++;
        if (k == l) {
            *n = l;
            return (int)i;
        }
    }
    return -1;
}

static bool is_sep(char c)
{
    return c == '-' || c == '_' || c == '.';
}

/* Optional separator, label, optional separator, optional number (packaging's regex pieces). */
static bool pep440_labelled(const char **pp, const char *const *labels, size_t nlabels, int *which,
                            uint64_t *num)
{
    const char *p = *pp;
    size_t n;

    if (is_sep(*p))
        p++;
    *which = match_label(p, labels, nlabels, &n);
    if (*which < 0)
        return false;
    p += n;
    const char *q = p;
    if (is_sep(*q))
        q++;
    size_t d = digits_at(q);
    if (d > 0) {
        if (!parse_u64(q, d, num))
            return false;
        p = q + d;
    } else {
        *num = 0;
        p = q; /* the regex consumes the separator even without a number */
    }
    *pp = p;
    return true;
}

static bool pep440_parse(const char *v, struct pep440 *out)
{
    static const char *const pre_labels[] = {"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"};
    static const int pre_kind[] = {PRE_A, PRE_A, PRE_B, PRE_B, PRE_RC, PRE_RC, PRE_RC, PRE_RC};
    static const char *const post_labels[] = {"post", "rev", "r"};
    static const char *const dev_labels[] = {"dev"};
    const char *p = v;
    size_t n;
    int which;

    if (strlen(v) > MAX_VERSION_LEN)
        return false;
    memset(out, 0, sizeof(*out));
    out->pre_l = PRE_NONE;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
        p++;
    if (*p == 'v' || *p == 'V')
        p++;
    n = digits_at(p);
    if (n == 0)
        return false;
    if (p[n] == '!') {
        if (!parse_u64(p, n, &out->epoch))
            return false;
        p += n + 1;
        n = digits_at(p);
        if (n == 0)
            return false;
    }
    for (;;) {
        if (out->nrelease == PEP440_MAX_RELEASE || !parse_u64(p, n, &out->release[out->nrelease]))
            return false;
        out->nrelease++;
        p += n;
        if (*p != '.' || !is_digit(p[1]))
            break;
        p++;
        n = digits_at(p);
    }
    const char *save = p;
    if (pep440_labelled(&p, pre_labels, 8, &which, &out->pre_n))
        out->pre_l = pre_kind[which];
    else
        p = save;
    save = p;
    if (*p == '-' && is_digit(p[1])) {
        n = digits_at(p + 1);
        if (!parse_u64(p + 1, n, &out->post_n))
            return false;
        out->has_post = true;
        p += 1 + n;
    } else if (pep440_labelled(&p, post_labels, 3, &which, &out->post_n)) {
        out->has_post = true;
    } else {
        p = save;
    }
    save = p;
    if (pep440_labelled(&p, dev_labels, 1, &which, &out->dev_n))
        out->has_dev = true;
    else
        p = save;
    if (*p == '+') {
        size_t o = 0;
        p++;
        if (!is_alnum(*p))
            return false;
        while (is_alnum(*p) || (is_sep(*p) && is_alnum(p[1]))) {
            if (o + 1 >= sizeof(out->local))
                return false;
            out->local[o++] = is_sep(*p) ? '.' : lower(*p);
            p++;
        }
        out->local[o] = '\0';
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
        p++;
    return *p == '\0';
}

/* packaging's local key: segments compared in order; numeric beats alphanumeric, numbers
 * numerically, strings lexically; more segments win on a tie. */
static int pep440_local_cmp(const char *a, const char *b)
{
    if (!*a || !*b)
        return *a ? 1 : (*b ? -1 : 0);
    while (*a && *b) {
        size_t al = strcspn(a, "."), bl = strcspn(b, ".");
        bool anum = digits_at(a) >= al, bnum = digits_at(b) >= bl;
        int c;
        if (anum && bnum) {
            while (al > 1 && *a == '0') {
                a++;
                al--;
            }
            while (bl > 1 && *b == '0') {
                b++;
                bl--;
            }
            c = al != bl ? (al < bl ? -1 : 1) : memcmp(a, b, al);
        } else if (anum != bnum) {
            c = anum ? 1 : -1;
        } else {
            c = memcmp(a, b, al < bl ? al : bl);
            if (c == 0)
                c = al < bl ? -1 : al > bl;
        }
        if (c != 0)
            return c < 0 ? -1 : 1;
        a += al + (a[al] == '.');
        b += bl + (b[bl] == '.');
    }
    return *a ? 1 : (*b ? -1 : 0);
}

static int pep440_compare(const struct pep440 *a, const struct pep440 *b)
{
    int c = cmp_u64(a->epoch, b->epoch);
    if (c != 0)
        return c;
    size_t n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = i < a->nrelease ? a->release[i] : 0;
        uint64_t y = i < b->nrelease ? b->release[i] : 0;
        c = cmp_u64(x, y);
        if (c != 0)
            return c;
    }
    /* pre: a bare dev release sorts before every pre-release; no pre-release after them all */
    int apre = (a->pre_l == PRE_NONE && !a->has_post && a->has_dev) ? -1 : a->pre_l;
    int bpre = (b->pre_l == PRE_NONE && !b->has_post && b->has_dev) ? -1 : b->pre_l;
    if (apre != bpre)
        return apre < bpre ? -1 : 1;
    if (apre >= PRE_A && apre <= PRE_RC && (c = cmp_u64(a->pre_n, b->pre_n)) != 0)
        return c;
    /* post: none sorts first */
    if (a->has_post != b->has_post)
        return a->has_post ? 1 : -1;
    if (a->has_post && (c = cmp_u64(a->post_n, b->post_n)) != 0)
        return c;
    /* dev: none sorts last */
    if (a->has_dev != b->has_dev)
        return a->has_dev ? -1 : 1;
    if (a->has_dev && (c = cmp_u64(a->dev_n, b->dev_n)) != 0)
        return c;
    return pep440_local_cmp(a->local, b->local);
}

bool posture_pep440_valid(const char *v)
{
    struct pep440 p;
    return v && pep440_parse(v, &p);
}

bool posture_pep440_cmp(const char *a, const char *b, int *cmp)
{
    struct pep440 x, y;

    if (!a || !b || !pep440_parse(a, &x) || !pep440_parse(b, &y))
        return false;
    *cmp = pep440_compare(&x, &y);
    return true;
}

/* Appends printf output at *o within outsz; false when it does not fit. */
static bool put(char *out, size_t outsz, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t outsz, size_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *o, outsz - *o, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outsz - *o)
        return false;
    *o += (size_t)n;
    return true;
}

bool posture_pep440_normalize(const char *v, char *out, size_t outsz)
{
    static const char *const pre_names[] = {"a", "b", "rc"};
    struct pep440 p;
    size_t o = 0;

    if (!v || outsz == 0 || !pep440_parse(v, &p))
        return false;
    out[0] = '\0';
    if (p.epoch && !put(out, outsz, &o, "%llu!", (unsigned long long)p.epoch))
        return false;
    for (size_t i = 0; i < p.nrelease; i++)
        if (!put(out, outsz, &o, i ? ".%llu" : "%llu", (unsigned long long)p.release[i]))
            return false;
    if (p.pre_l != PRE_NONE &&
        !put(out, outsz, &o, "%s%llu", pre_names[p.pre_l], (unsigned long long)p.pre_n))
        return false;
    if (p.has_post && !put(out, outsz, &o, ".post%llu", (unsigned long long)p.post_n))
        return false;
    if (p.has_dev && !put(out, outsz, &o, ".dev%llu", (unsigned long long)p.dev_n))
        return false;
    if (p.local[0] && !put(out, outsz, &o, "+%s", p.local))
        return false;
    return true;
}

/* ---- OSV affected ---- */

static bool is_zero(const struct posture_osv_event *e)
{
    return e->kind == POSTURE_OSV_INTRODUCED && strcmp(e->version, "0") == 0;
}

/* Sort order of events: by version, "introduced: 0" first, then by kind. */
static int event_cmp(posture_version_cmp_fn cmp, const struct posture_osv_event *a,
                     const struct posture_osv_event *b)
{
    int c = 0;
    if (is_zero(a) || is_zero(b))
        c = is_zero(a) == is_zero(b) ? 0 : (is_zero(a) ? -1 : 1);
    else if (strcmp(a->version, "*") == 0 || strcmp(b->version, "*") == 0)
        c = strcmp(a->version, "*") == 0 ? (strcmp(b->version, "*") == 0 ? 0 : 1) : -1;
    else
        cmp(a->version, b->version, &c); /* both checked to parse */
    if (c == 0)
        c = (int)a->kind - (int)b->kind;
    return c;
}

posture_version_cmp_fn posture_osv_cmp_for(const char *ecosystem, const char *range_type)
{
    if (!ecosystem || !range_type)
        return NULL;
    if (strcmp(ecosystem, "npm") != 0 && strcmp(ecosystem, "PyPI") != 0)
        return NULL;
    if (strcmp(range_type, "SEMVER") == 0)
        return posture_semver_cmp;
    if (strcmp(range_type, "ECOSYSTEM") == 0)
        return strcmp(ecosystem, "npm") == 0 ? posture_semver_cmp : posture_pep440_cmp;
    return NULL; /* GIT: commits, not versions */
}

size_t posture_osv_events_prepare(posture_version_cmp_fn cmp, const json_t *events,
                                  struct posture_osv_event *ev)
{
    static const char *const kinds[] = {"introduced", "last_affected", "fixed", "limit"};
    size_t n = 0, i;
    json_t *e;
    int dummy;

    if (!cmp || !json_is_array(events))
        return 0;
    json_array_foreach(events, i, e) {
        const char *key;
        json_t *val;
        json_object_foreach(e, key, val) {
            for (size_t k = 0; k < 4; k++) {
                if (strcmp(key, kinds[k]) != 0 || !json_is_string(val))
                    continue;
                if (n == POSTURE_OSV_MAX_EVENTS)
                    return 0;
                ev[n].kind = (enum posture_osv_kind)k;
                ev[n].version = json_string_value(val);
                if (!is_zero(&ev[n]) &&
                    !(k == POSTURE_OSV_LIMIT && strcmp(ev[n].version, "*") == 0) &&
                    !cmp(ev[n].version, ev[n].version, &dummy))
                    return 0;
                n++;
            }
        }
    }
    /* insertion sort: ranges have a handful of events */
    for (i = 1; i < n; i++) {
        struct posture_osv_event t = ev[i];
        size_t j = i;
        while (j > 0 && event_cmp(cmp, &ev[j - 1], &t) > 0) {
            ev[j] = ev[j - 1];
            j--;
        }
        ev[j] = t;
    }
    return n;
}

bool posture_osv_events_affect(posture_version_cmp_fn cmp, const char *v,
                               const struct posture_osv_event *ev, size_t n, const char **fixed)
{
    bool affected = false, limited = false, under_limit = false;
    int c;

    if (fixed)
        *fixed = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind == POSTURE_OSV_LIMIT) {
            limited = true;
            if (strcmp(ev[i].version, "*") == 0 || (cmp(v, ev[i].version, &c) && c < 0))
                under_limit = true;
            continue;
        }
        if (is_zero(&ev[i])) {
            affected = true;
            continue;
        }
        if (!cmp(v, ev[i].version, &c))
            return false;
        if (ev[i].kind == POSTURE_OSV_INTRODUCED && c >= 0)
            affected = true;
        else if (ev[i].kind == POSTURE_OSV_FIXED && c >= 0)
            affected = false;
        else if (ev[i].kind == POSTURE_OSV_LAST_AFFECTED && c > 0)
            affected = false;
    }
    if (!affected || (limited && !under_limit))
        return false;
    if (fixed) {
        for (size_t i = 0; i < n; i++)
            if (ev[i].kind == POSTURE_OSV_FIXED && cmp(v, ev[i].version, &c) && c < 0) {
                *fixed = ev[i].version;
                break;
            }
    }
    return true;
}

bool posture_osv_affects(const char *ecosystem, const char *v, const json_t *affected,
                         const char **fixed)
{
    struct posture_osv_event ev[POSTURE_OSV_MAX_EVENTS]; /* 4 KiB: no allocation per match */
    posture_version_cmp_fn eco_cmp;
    const json_t *r;
    size_t i;
    int c;

    if (fixed)
        *fixed = NULL;
    eco_cmp = posture_osv_cmp_for(ecosystem, "ECOSYSTEM");
    if (!eco_cmp || !v || !json_is_object(affected))
        return false;
    json_array_foreach(json_object_get(affected, "ranges"), i, r) {
        posture_version_cmp_fn cmp =
            posture_osv_cmp_for(ecosystem, json_string_value(json_object_get(r, "type")));
        size_t n = posture_osv_events_prepare(cmp, json_object_get(r, "events"), ev);
        if (n > 0 && posture_osv_events_affect(cmp, v, ev, n, fixed))
            return true;
    }
    json_array_foreach(json_object_get(affected, "versions"), i, r) {
        const char *s = json_string_value(r);
        if (s && (strcmp(s, v) == 0 || (eco_cmp(s, v, &c) && c == 0)))
            return true;
    }
    return false;
}
