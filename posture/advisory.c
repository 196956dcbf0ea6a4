/* OSV advisory index: a directory of OSV records loaded into memory, indexed by (ecosystem,
 * normalised package name), and matched against dependency lists. See deps.h.
 *
 * Only what matching needs is kept, in compact C form: strings in an arena, records, affected
 * entries, ranges (events checked and sorted once, at load) and explicit versions in arrays
 * addressed by index, and an open-addressing hash table from "ecosystem\x1fname" to a chain of
 * entries. The JSON of each file is freed as soon as it is read. Once loaded, the index is
 * read-only: concurrent matches share it without locks. */
#include "posture/deps_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (4u << 20)
#define MAX_DEPTH 16
#define MAX_PATH 4096
#define KEY_MAX 300          /* ecosystem, separator, normalised name */
#define SUMMARY_MAX 300      /* bytes of summary kept */
#define ARENA_CHUNK (256u << 10)
#define NONE UINT32_MAX

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    char data[];
};

struct record {
    const char *id, *summary, *severity; /* severity: static text */
    double cvss;                         /* < 0: none */
    uint32_t first_alias, naliases;      /* in aliases[] */
};

struct entry { /* one affected package of one record */
    uint32_t rec, next;                  /* next entry of the same package, or NONE */
    uint32_t first_range, nranges;       /* in ranges[] */
    uint32_t first_version, nversions;   /* in versions[] */
};

struct range {
    posture_version_cmp_fn cmp;
    uint32_t first_event, nevents;       /* in events[], sorted */
};

struct slot {
    const char *key; /* NULL: empty */
    uint32_t head, tail;
};

#define VEC(type, name)                                                                           \
    type *name;                                                                                   \
    size_t n_##name, cap_##name

struct posture_advisories {
    struct arena_chunk *arena;
    VEC(struct record, records);
    VEC(struct entry, entries);
    VEC(struct range, ranges);
    VEC(struct posture_osv_event, events);
    VEC(const char *, versions);
    VEC(const char *, aliases);
    struct slot *slots;
    size_t nslots, used_slots; /* nslots: a power of two */
    size_t skipped;            /* files that were not usable records */
    char first_skip[200];
    void *grown;               /* VEC_PUSH's scratch */
    char *buf;                 /* file read buffer, reused */
    size_t buf_cap;
};

/* A vector's storage with room for twice cap elements (at least 64), or NULL; *cap updated
 * only on success. The caller stores the result: no type punning through void **. */
static void *vec_grow(void *v, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 64;
    void *nv = realloc(v, ncap * elem);
    if (nv)
        *cap = ncap;
    return nv;
}

/* Appends value to db->name; false on allocation failure (the vector is then unchanged). */
#define VEC_PUSH(db, name, value)                                                                 \
    (((db)->n_##name < (db)->cap_##name ||                                                        \
      (((db)->grown = vec_grow((db)->name, &(db)->cap_##name, sizeof(*(db)->name))) != NULL &&   \
       ((db)->name = (db)->grown, true))) &&                                                      \
     ((db)->name[(db)->n_##name++] = (value), true))

/* Copies len bytes of s (and a NUL) into the arena; NULL on allocation failure. */
static const char *arena_strndup(struct posture_advisories *db, const char *s, size_t len)
{
    struct arena_chunk *c = db->arena;
    if (!c || c->size - c->used < len + 1) {
        size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = db->arena;
        c->used = 0;
        c->size = size;
        db->arena = c;
    }
    char *out = c->data + c->used;
    memcpy(out, s, len);
    out[len] = '\0';
    c->used += len + 1;
    return out;
}

static const char *arena_strdup(struct posture_advisories *db, const char *s)
{
    return arena_strndup(db, s, strlen(s));
}

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= 1099511628211ull;
    }
    return h;
}

static const struct slot *slot_find(const struct posture_advisories *db, const char *key)
{
    if (!db->nslots)
        return NULL;
    for (size_t i = (size_t)hash_key(key) & (db->nslots - 1);; i = (i + 1) & (db->nslots - 1)) {
        if (!db->slots[i].key)
            return NULL;
        if (strcmp(db->slots[i].key, key) == 0)
            return &db->slots[i];
    }
}

static bool slots_grow(struct posture_advisories *db)
{
    size_t n = db->nslots ? db->nslots * 2 : 1024;
    struct slot *s = calloc(n, sizeof(*s));
    if (!s)
        return false;
    for (size_t i = 0; i < db->nslots; i++) {
        if (!db->slots[i].key)
            continue;
        size_t j = (size_t)hash_key(db->slots[i].key) & (n - 1);
        while (s[j].key)
            j = (j + 1) & (n - 1);
        s[j] = db->slots[i];
    }
    free(db->slots);
    db->slots = s;
    db->nslots = n;
    return true;
}

/* Appends entry e to the chain of key, in load order. */
static bool index_add(struct posture_advisories *db, const char *key, uint32_t e)
{
    if ((db->used_slots + 1) * 10 > db->nslots * 7 && !slots_grow(db))
        return false;
    size_t i = (size_t)hash_key(key) & (db->nslots - 1);
    while (db->slots[i].key && strcmp(db->slots[i].key, key) != 0)
        i = (i + 1) & (db->nslots - 1);
    struct slot *s = &db->slots[i];
    if (!s->key) {
        if (!(s->key = arena_strdup(db, key)))
            return false;
        s->head = s->tail = e;
        db->used_slots++;
        return true;
    }
    db->entries[s->tail].next = e;
    s->tail = e;
    return true;
}

/* ---- CVSS v3 ---- */

struct cvss_metric {
    const char *name;
    const char *values; /* one letter per value */
    double weights[4];
};

/* CVSS v3.1 specification, section 7.4 (PR's weights change with scope: handled below). */
static const struct cvss_metric cvss_metrics[] = {
    {"AV", "NALP", {0.85, 0.62, 0.55, 0.2}},
    {"AC", "LH", {0.77, 0.44, 0, 0}},
    {"PR", "NLH", {0.85, 0.62, 0.27, 0}},
    {"UI", "NR", {0.85, 0.62, 0, 0}},
    {"S", "UC", {0, 0, 0, 0}},
    {"C", "HLN", {0.56, 0.22, 0, 0}},
    {"I", "HLN", {0.56, 0.22, 0, 0}},
    {"A", "HLN", {0.56, 0.22, 0, 0}},
};
#define CVSS_NMETRICS (sizeof(cvss_metrics) / sizeof(cvss_metrics[0]))

/* CVSS v3.1's Roundup (Appendix A): the smallest number with one decimal >= x, computed on
 * integers to avoid floating-point surprises. v3.0 used ceil(x * 10) / 10. */
static double cvss_roundup(double x, bool v30)
{
    if (v30)
        return ceil(x * 10.0) / 10.0;
    long long i = llround(x * 100000.0);
    if (i % 10000 == 0)
        return (double)i / 100000.0;
    return (double)(i / 10000 + 1) / 10.0;
}

bool posture_cvss3_score(const char *vector, double *score)
{
    int idx[CVSS_NMETRICS];
    bool v30;
    const char *p;

    if (!vector)
        return false;
    if (strncmp(vector, "CVSS:3.1/", 9) == 0)
        v30 = false;
    else if (strncmp(vector, "CVSS:3.0/", 9) == 0)
        v30 = true;
    else
        return false;
    for (size_t m = 0; m < CVSS_NMETRICS; m++)
        idx[m] = -1;
    p = vector + 9;
    while (*p) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return false;
        size_t nl = (size_t)(colon - p);
        char val = colon[1];
        if (val == '\0' || (colon[2] != '/' && colon[2] != '\0'))
            return false;
        for (size_t m = 0; m < CVSS_NMETRICS; m++) {
            if (strlen(cvss_metrics[m].name) != nl || memcmp(p, cvss_metrics[m].name, nl) != 0)
                continue;
            const char *w = strchr(cvss_metrics[m].values, val);
            if (!w || idx[m] >= 0)
                return false; /* unknown value or repeated metric */
            idx[m] = (int)(w - cvss_metrics[m].values);
        }
        p = colon[2] ? colon + 3 : colon + 2; /* temporal and environmental metrics ignored */
    }
    for (size_t m = 0; m < CVSS_NMETRICS; m++)
        if (idx[m] < 0)
            return false;
    bool changed = idx[4] == 1;
    double av = cvss_metrics[0].weights[idx[0]], ac = cvss_metrics[1].weights[idx[1]];
    double pr = cvss_metrics[2].weights[idx[2]], ui = cvss_metrics[3].weights[idx[3]];
    if (changed && idx[2] == 1)
        pr = 0.68;
    else if (changed && idx[2] == 2)
        pr = 0.5;
    double c = cvss_metrics[5].weights[idx[5]], i = cvss_metrics[6].weights[idx[6]],
           a = cvss_metrics[7].weights[idx[7]];
    double iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
    double expl = 8.22 * av * ac * pr * ui;
    if (impact <= 0) {
        *score = 0;
        return true;
    }
    double base = changed ? 1.08 * (impact + expl) : impact + expl;
    *score = cvss_roundup(base < 10.0 ? base : 10.0, v30);
    return true;
}

static const char *cvss_band(double s)
{
    return s >= 9.0 ? "critical" : s >= 7.0 ? "high" : s >= 4.0 ? "medium" : s > 0 ? "low" : "none";
}

/* ---- records ---- */

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* Malicious packages: OSV's MAL- records, GitHub's malware advisories (CWE-506, "Embedded
 * Malicious Code") and summaries that say so. */
static bool is_malicious(const json_t *rec, const char *id, const char *summary)
{
    static const char *const phrases[] = {"malicious package", "malicious code",
                                          "malicious version", "malware"};
    const json_t *cwes = json_object_get(json_object_get(rec, "database_specific"), "cwe_ids");
    size_t i;
    json_t *c;

    if (strncmp(id, "MAL-", 4) == 0)
        return true;
    json_array_foreach(cwes, i, c) {
        if (json_is_string(c) && strcmp(json_string_value(c), "CWE-506") == 0)
            return true;
    }
    if (summary && strncasecmp(summary, "malicious", 9) == 0)
        return true;
    for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (contains_ci(summary, phrases[i]))
            return true;
    return false;
}

/* "eco\x1fname" for npm and PyPI (PyPI names normalised); false for other ecosystems. */
static bool index_key(const char *eco, const char *name, char *key, size_t keysz)
{
    char norm[KEY_MAX];

    if (!eco || !name)
        return false;
    if (strcmp(eco, "PyPI") == 0) {
        if (!posture_pypi_normalize(name, strlen(name), norm, sizeof(norm)))
            return false;
        name = norm;
    } else if (strcmp(eco, "npm") != 0) {
        return false;
    }
    int n = snprintf(key, keysz, "%s\x1f%s", eco, name);
    return n > 0 && (size_t)n < keysz;
}

static void skip(struct posture_advisories *db, const char *path, const char *why)
{
    if (db->skipped++ == 0)
        snprintf(db->first_skip, sizeof(db->first_skip), "%.120s: %s", path, why);
}

/* The record's severity: malicious, else the GHSA label, else the CVSS v3 band, else unknown.
 * *cvss gets the highest v3 base score or -1. */
static const char *record_severity(const json_t *rec, const char *id, const char *summary,
                                   double *cvss)
{
    static const char *const map[][2] = {{"LOW", "low"},
                                         {"MODERATE", "medium"},
                                         {"MEDIUM", "medium"},
                                         {"HIGH", "high"},
                                         {"CRITICAL", "critical"}};
    const char *label = json_string_value(
        json_object_get(json_object_get(rec, "database_specific"), "severity"));
    size_t i;
    json_t *v;
    double s;

    *cvss = -1;
    json_array_foreach(json_object_get(rec, "severity"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (type && strcmp(type, "CVSS_V3") == 0 &&
            posture_cvss3_score(json_string_value(json_object_get(v, "score")), &s) && s > *cvss)
            *cvss = s;
    }
    if (is_malicious(rec, id, summary))
        return "critical";
    for (i = 0; label && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(label, map[i][0]) == 0)
            return map[i][1];
    return *cvss >= 0 ? cvss_band(*cvss) : "unknown";
}

/* Adds the record's header (id, aliases, summary, severity); returns its index or NONE. */
static uint32_t add_record(struct posture_advisories *db, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *summary = json_string_value(json_object_get(rec, "summary"));
    struct record r;
    size_t i, len;
    json_t *a;

    r.severity = record_severity(rec, id, summary, &r.cvss);
    if (!summary) /* OSV makes summary optional: the first line of details stands in */
        summary = json_string_value(json_object_get(rec, "details"));
    if (!summary)
        summary = "";
    len = strcspn(summary, "\n");
    if (len > SUMMARY_MAX) {
        len = SUMMARY_MAX;
        while (len > 0 && ((unsigned char)summary[len] & 0xC0) == 0x80)
            len--; /* never cut a UTF-8 sequence */
    }
    r.id = arena_strdup(db, id);
    r.summary = arena_strndup(db, summary, len);
    r.first_alias = (uint32_t)db->n_aliases;
    r.naliases = 0;
    if (!r.id || !r.summary)
        return NONE;
    json_array_foreach(json_object_get(rec, "aliases"), i, a) {
        const char *s = json_string_value(a);
        const char *copy = s ? arena_strdup(db, s) : NULL;
        if (!s)
            continue;
        if (!copy || !VEC_PUSH(db, aliases, copy))
            return NONE;
        r.naliases++;
    }
    if (!VEC_PUSH(db, records, r))
        return NONE;
    return (uint32_t)(db->n_records - 1);
}

/* Adds one affected package of record rec: its evaluable ranges and explicit versions. */
static bool add_entry(struct posture_advisories *db, uint32_t rec, const char *eco,
                      const json_t *aff, const char *key)
{
    struct posture_osv_event ev[POSTURE_OSV_MAX_EVENTS];
    struct entry e = {rec, NONE, (uint32_t)db->n_ranges, 0, (uint32_t)db->n_versions, 0};
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(aff, "ranges"), i, r) {
        posture_version_cmp_fn cmp =
            posture_osv_cmp_for(eco, json_string_value(json_object_get(r, "type")));
        size_t n = posture_osv_events_prepare(cmp, json_object_get(r, "events"), ev);
        if (n == 0)
            continue;
        struct range rg = {cmp, (uint32_t)db->n_events, (uint32_t)n};
        for (size_t k = 0; k < n; k++) {
            ev[k].version = arena_strdup(db, ev[k].version);
            if (!ev[k].version || !VEC_PUSH(db, events, ev[k]))
                return false;
        }
        if (!VEC_PUSH(db, ranges, rg))
            return false;
        e.nranges++;
    }
    json_array_foreach(json_object_get(aff, "versions"), i, r) {
        const char *s = json_string_value(r);
        const char *copy = s ? arena_strdup(db, s) : NULL;
        if (!s)
            continue;
        if (!copy || !VEC_PUSH(db, versions, copy))
            return false;
        e.nversions++;
    }
    if (!VEC_PUSH(db, entries, e))
        return false;
    return index_add(db, key, (uint32_t)(db->n_entries - 1));
}

/* Reads path into db->buf (NUL-terminated); false (and a skip) when it cannot. */
static enum err_code read_file(struct posture_advisories *db, const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    struct stat st;
    enum err_code rc = ERR_INVALID;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        skip(db, path, "unreadable");
        goto out;
    }
    if ((uint64_t)st.st_size > MAX_FILE_SIZE) {
        skip(db, path, "over 4 MiB");
        goto out;
    }
    if ((size_t)st.st_size + 1 > db->buf_cap) {
        size_t cap = (size_t)st.st_size + 1 > 65536 ? (size_t)st.st_size + 1 : 65536;
        char *nb = realloc(db->buf, cap);
        if (!nb) {
            rc = ERR_NOMEM;
            goto out;
        }
        db->buf = nb;
        db->buf_cap = cap;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, db->buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    db->buf[got] = '\0';
    *len = got;
    rc = ERR_OK;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Adds one file's record; files without npm or PyPI packages are read and left out. */
static enum err_code load_file(struct posture_advisories *db, const char *path)
{
    json_t *rec = NULL, *aff;
    json_error_t je;
    enum err_code rc;
    size_t i, len;
    uint32_t r = NONE;

    rc = read_file(db, path, &len);
    if (rc != ERR_OK)
        return rc == ERR_NOMEM ? rc : ERR_OK;
    rec = json_loadb(db->buf, len, 0, &je);
    if (!rec || !json_is_string(json_object_get(rec, "id")) ||
        !json_is_array(json_object_get(rec, "affected"))) {
        skip(db, path, rec ? "not an OSV record" : "invalid JSON");
        goto out;
    }
    if (json_object_get(rec, "withdrawn"))
        goto out;
    json_array_foreach(json_object_get(rec, "affected"), i, aff) {
        json_t *pkg = json_object_get(aff, "package");
        const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
        char key[KEY_MAX];
        if (!index_key(eco, json_string_value(json_object_get(pkg, "name")), key, sizeof(key)))
            continue;
        if (r == NONE && (r = add_record(db, rec)) == NONE) {
            rc = ERR_NOMEM;
            goto out;
        }
        if (!add_entry(db, r, eco, aff, key)) {
            rc = ERR_NOMEM;
            goto out;
        }
    }
out:
    json_decref(rec);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads dir's *.json files and subdirectories in name order (deterministic ids' order). */
static enum err_code load_dir(struct posture_advisories *db, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, path[MAX_PATH];
    size_t n = 0, cap = 0;
    enum err_code rc = ERR_OK;

    if (!d)
        return depth == 0 ? ERR_NOT_FOUND : ERR_OK;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn) {
                rc = ERR_NOMEM;
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = ERR_NOMEM;
            goto out;
        }
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        struct stat st;
        int len = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (len < 0 || (size_t)len >= sizeof(path) || lstat(path, &st) != 0)
            continue;
        size_t nl = strlen(names[i]);
        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
            rc = load_dir(db, path, depth + 1);
        else if (S_ISREG(st.st_mode) && nl > 5 && strcmp(names[i] + nl - 5, ".json") == 0)
            rc = load_file(db, path);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

enum err_code posture_advisories_load(const char *dir, struct posture_advisories **out,
                                      struct err *err)
{
    struct posture_advisories *db;
    enum err_code rc;

    *out = NULL;
    if (!dir)
        dir = getenv("PARAPET_ADVISORY_DIR");
    if (!dir || !*dir)
        return err_set(err, ERR_INVALID, "PARAPET_ADVISORY_DIR is not set");
    db = calloc(1, sizeof(*db));
    if (!db)
        return err_set(err, ERR_NOMEM, "out of memory");
    rc = load_dir(db, dir, 0);
    free(db->buf); /* only needed while loading */
    db->buf = NULL;
    db->buf_cap = 0;
    if (rc != ERR_OK) {
        posture_advisories_free(db);
        return rc == ERR_NOT_FOUND ? err_set(err, rc, "advisory directory %.200s unreadable", dir)
                                   : err_set(err, rc, "out of memory");
    }
    *out = db;
    return ERR_OK;
}

void posture_advisories_free(struct posture_advisories *db)
{
    if (!db)
        return;
    while (db->arena) {
        struct arena_chunk *next = db->arena->next;
        free(db->arena);
        db->arena = next;
    }
    free(db->records);
    free(db->entries);
    free(db->ranges);
    free(db->events);
    free(db->versions);
    free(db->aliases);
    free(db->slots);
    free(db->buf);
    free(db);
}

size_t posture_advisories_count(const struct posture_advisories *db)
{
    return db ? db->n_records : 0;
}

size_t posture_advisories_skipped(const struct posture_advisories *db, const char **first_reason)
{
    if (first_reason)
        *first_reason = db ? db->first_skip : "";
    return db ? db->skipped : 0;
}

/* ---- matching ---- */

/* Whether entry e affects version v; *fixed as posture_osv_events_affect sets it. */
static bool entry_affects(const struct posture_advisories *db, const struct entry *e,
                          posture_version_cmp_fn eco_cmp, const char *v, const char **fixed)
{
    int c;

    *fixed = NULL;
    for (uint32_t i = 0; i < e->nranges; i++) {
        const struct range *r = &db->ranges[e->first_range + i];
        if (posture_osv_events_affect(r->cmp, v, &db->events[r->first_event], r->nevents, fixed))
            return true;
    }
    for (uint32_t i = 0; i < e->nversions; i++) {
        const char *s = db->versions[e->first_version + i];
        if (strcmp(s, v) == 0 || (eco_cmp(s, v, &c) && c == 0))
            return true;
    }
    return false;
}

/* Ids (and aliases) already reported for one dependency: an advisory loaded under several ids
 * (GHSA and PYSEC) is reported once. */
struct seen {
    const char **ids;
    size_t n, cap;
};

static bool seen_has(const struct seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return true;
    return false;
}

static bool seen_add(struct seen *s, const char *id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const char **n = realloc(s->ids, cap * sizeof(*n));
        if (!n)
            return false;
        s->ids = n;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return true;
}

static bool already_reported(const struct posture_advisories *db, const struct seen *s,
                             const struct record *r)
{
    if (seen_has(s, r->id))
        return true;
    for (uint32_t i = 0; i < r->naliases; i++)
        if (seen_has(s, db->aliases[r->first_alias + i]))
            return true;
    return false;
}

static bool note_reported(const struct posture_advisories *db, struct seen *s,
                          const struct record *r)
{
    if (!seen_add(s, r->id))
        return false;
    for (uint32_t i = 0; i < r->naliases; i++)
        if (!seen_add(s, db->aliases[r->first_alias + i]))
            return false;
    return true;
}

static json_t *vuln_new(const struct posture_advisories *db, const struct record *r,
                        const json_t *dep, const char *package, const char *fixed)
{
    json_t *aliases = json_array(), *v;

    for (uint32_t i = 0; aliases && i < r->naliases; i++)
        if (json_array_append_new(aliases, json_string(db->aliases[r->first_alias + i]))) {
            json_decref(aliases);
            return NULL;
        }
    /* strings are copied, so the caller's deps may be shared by threads too */
    v = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s?, s:s, s:s, s:s?}", "id", r->id, "aliases",
                  aliases, "ecosystem", json_string_value(json_object_get(dep, "ecosystem")),
                  "package", package, "version",
                  json_string_value(json_object_get(dep, "version")), "file",
                  json_string_value(json_object_get(dep, "file")), "severity", r->severity,
                  "summary", r->summary, "fixed", fixed);
    if (v && r->cvss >= 0 && json_object_set_new(v, "cvss", json_real(r->cvss))) {
        json_decref(v);
        return NULL;
    }
    if (v && json_is_true(json_object_get(dep, "dev")) &&
        json_object_set_new(v, "dev", json_true())) {
        json_decref(v);
        return NULL;
    }
    return v;
}

json_t *posture_advisories_match(const struct posture_advisories *db, const json_t *deps)
{
    json_t *out = json_array(), *dep;
    struct seen seen = {NULL, 0, 0};
    size_t i;

    if (!out)
        return NULL;
    json_array_foreach(db ? deps : NULL, i, dep) {
        const char *eco = json_string_value(json_object_get(dep, "ecosystem"));
        const char *version = json_string_value(json_object_get(dep, "version"));
        char key[KEY_MAX];
        if (!version ||
            !index_key(eco, json_string_value(json_object_get(dep, "name")), key, sizeof(key)))
            continue;
        const struct slot *slot = slot_find(db, key);
        if (!slot)
            continue;
        posture_version_cmp_fn eco_cmp = posture_osv_cmp_for(eco, "ECOSYSTEM");
        const char *package = strchr(key, '\x1f') + 1;
        seen.n = 0;
        for (uint32_t e = slot->head; e != NONE; e = db->entries[e].next) {
            const struct record *r = &db->records[db->entries[e].rec];
            const char *fixed;
            if (already_reported(db, &seen, r) ||
                !entry_affects(db, &db->entries[e], eco_cmp, version, &fixed))
                continue;
            json_t *v = vuln_new(db, r, dep, package, fixed);
            if (!v || json_array_append_new(out, v) || !note_reported(db, &seen, r))
                goto fail;
        }
    }
    free(seen.ids);
    return out;
fail:
    free(seen.ids);
    json_decref(out);
    return NULL;
}
