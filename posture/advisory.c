/* OSV advisory index: a directory of OSV records loaded into memory, indexed by (ecosystem,
 * normalised package name), and matched against dependency lists. See deps.h. */
#include "posture/deps.h"

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
#define KEY_MAX 300 /* ecosystem, separator, normalised name */

struct posture_advisories {
    json_t *index;   /* "eco\x1fname" -> [{rec, affected}] */
    size_t count;    /* records loaded */
    size_t skipped;  /* files that were not usable records */
    char first_skip[200];
};

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

/* The trimmed record kept in memory: {id, aliases, summary, severity[, cvss]}. */
static json_t *record_trim(const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *summary = json_string_value(json_object_get(rec, "summary"));
    const char *ghsa = json_string_value(
        json_object_get(json_object_get(rec, "database_specific"), "severity"));
    const char *sev = "unknown";
    double best = -1, s;
    size_t i;
    json_t *v, *aliases, *out;

    if (is_malicious(rec, id, summary)) {
        sev = "critical";
    } else if (ghsa) {
        static const char *const map[][2] = {{"LOW", "low"},
                                             {"MODERATE", "medium"},
                                             {"MEDIUM", "medium"},
                                             {"HIGH", "high"},
                                             {"CRITICAL", "critical"}};
        for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcasecmp(ghsa, map[i][0]) == 0)
                sev = map[i][1];
    }
    json_array_foreach(json_object_get(rec, "severity"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (type && strcmp(type, "CVSS_V3") == 0 &&
            posture_cvss3_score(json_string_value(json_object_get(v, "score")), &s) && s > best)
            best = s;
    }
    if (strcmp(sev, "unknown") == 0 && best >= 0)
        sev = cvss_band(best);
    if (!summary) { /* OSV makes summary optional: the start of details stands in */
        summary = json_string_value(json_object_get(rec, "details"));
        if (!summary)
            summary = "";
    }
    aliases = json_array();
    json_array_foreach(json_object_get(rec, "aliases"), i, v) {
        if (json_is_string(v))
            json_array_append_new(aliases, json_string(json_string_value(v)));
    }
    char sum[512];
    snprintf(sum, sizeof(sum), "%s", summary);
    sum[strcspn(sum, "\n")] = '\0';
    out = json_pack("{s:s, s:o, s:s, s:s}", "id", id, "aliases", aliases, "summary", sum,
                    "severity", sev);
    if (out && best >= 0)
        json_object_set_new(out, "cvss", json_real(best));
    return out;
}

static void index_key(const char *eco, const char *name, char *key, size_t keysz, bool *ok)
{
    char norm[KEY_MAX];

    *ok = false;
    if (strcmp(eco, "PyPI") == 0) {
        if (!posture_pypi_normalize(name, strlen(name), norm, sizeof(norm)))
            return;
        name = norm;
    } else if (strcmp(eco, "npm") != 0) {
        return;
    }
    int n = snprintf(key, keysz, "%s\x1f%s", eco, name);
    *ok = n > 0 && (size_t)n < keysz;
}

static void skip(struct posture_advisories *db, const char *path, const char *why)
{
    if (db->skipped++ == 0)
        snprintf(db->first_skip, sizeof(db->first_skip), "%.120s: %s", path, why);
}

/* Adds one file's record; usable files that are not npm or PyPI are simply not indexed. */
static enum err_code load_file(struct posture_advisories *db, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    struct stat st;
    char *buf = NULL;
    json_t *rec = NULL, *trimmed = NULL, *aff;
    json_error_t je;
    enum err_code rc = ERR_OK;
    size_t i, got = 0;
    bool indexed = false;

    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        skip(db, path, "unreadable");
        goto out;
    }
    if ((uint64_t)st.st_size > MAX_FILE_SIZE) {
        skip(db, path, "over 4 MiB");
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    rec = json_loadb(buf, got, 0, &je);
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
        const char *name = json_string_value(json_object_get(pkg, "name"));
        char key[KEY_MAX];
        bool ok;
        if (!eco || !name)
            continue;
        index_key(eco, name, key, sizeof(key), &ok);
        if (!ok)
            continue;
        if (!trimmed && !(trimmed = record_trim(rec))) {
            rc = ERR_NOMEM;
            goto out;
        }
        json_t *list = json_object_get(db->index, key);
        if (!list) {
            list = json_array();
            if (!list || json_object_set_new(db->index, key, list)) {
                rc = ERR_NOMEM;
                goto out;
            }
        }
        json_t *entry = json_pack("{s:O, s:O*, s:O*}", "rec", trimmed, "ranges",
                                  json_object_get(aff, "ranges"), "versions",
                                  json_object_get(aff, "versions"));
        if (!entry || json_array_append_new(list, entry)) {
            rc = ERR_NOMEM;
            goto out;
        }
        indexed = true;
    }
    if (indexed)
        db->count++;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    json_decref(rec);
    json_decref(trimmed);
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
    if (!db || !(db->index = json_object())) {
        free(db);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    rc = load_dir(db, dir, 0);
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
    json_decref(db->index);
    free(db);
}

size_t posture_advisories_count(const struct posture_advisories *db)
{
    return db ? db->count : 0;
}

size_t posture_advisories_skipped(const struct posture_advisories *db, const char **first_reason)
{
    if (first_reason)
        *first_reason = db ? db->first_skip : "";
    return db ? db->skipped : 0;
}

/* ---- matching ---- */

/* A string copy of a string member (the index's values are never shared with the result, so
 * concurrent matches never touch its reference counts). */
static json_t *copy_member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? json_string(s) : json_null();
}

static bool already_reported(json_t *seen, const json_t *rec)
{
    const json_t *aliases = json_object_get(rec, "aliases");
    size_t i;
    json_t *a;

    if (json_object_get(seen, json_string_value(json_object_get(rec, "id"))))
        return true;
    json_array_foreach(aliases, i, a) {
        if (json_object_get(seen, json_string_value(a)))
            return true;
    }
    return false;
}

static enum err_code note_reported(json_t *seen, const json_t *rec)
{
    const json_t *aliases = json_object_get(rec, "aliases");
    size_t i;
    json_t *a;

    if (json_object_set_new(seen, json_string_value(json_object_get(rec, "id")), json_true()))
        return ERR_NOMEM;
    json_array_foreach(aliases, i, a) {
        if (json_object_set_new(seen, json_string_value(a), json_true()))
            return ERR_NOMEM;
    }
    return ERR_OK;
}

static json_t *vuln_new(const json_t *rec, const json_t *dep, const char *package,
                        const char *fixed)
{
    json_t *aliases = json_array(), *a, *v;
    size_t i;

    json_array_foreach(json_object_get(rec, "aliases"), i, a)
        json_array_append_new(aliases, json_string(json_string_value(a)));
    v = json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "id", copy_member(rec, "id"),
                  "aliases", aliases, "ecosystem", copy_member(dep, "ecosystem"), "package",
                  package, "version", copy_member(dep, "version"), "file",
                  copy_member(dep, "file"), "severity", copy_member(rec, "severity"), "summary",
                  copy_member(rec, "summary"), "fixed", fixed ? json_string(fixed) : json_null());
    if (v && json_is_real(json_object_get(rec, "cvss")))
        json_object_set_new(v, "cvss", json_real(json_real_value(json_object_get(rec, "cvss"))));
    if (v && json_is_true(json_object_get(dep, "dev")))
        json_object_set_new(v, "dev", json_true());
    return v;
}

json_t *posture_advisories_match(const struct posture_advisories *db, const json_t *deps)
{
    json_t *out = json_array(), *seen = NULL, *dep;
    size_t i;

    if (!out)
        return NULL;
    if (!db)
        return out;
    json_array_foreach(deps, i, dep) {
        const char *eco = json_string_value(json_object_get(dep, "ecosystem"));
        const char *name = json_string_value(json_object_get(dep, "name"));
        const char *version = json_string_value(json_object_get(dep, "version"));
        char key[KEY_MAX];
        bool ok;
        if (!eco || !name || !version)
            continue;
        index_key(eco, name, key, sizeof(key), &ok);
        const json_t *list = ok ? json_object_get(db->index, key) : NULL;
        size_t j;
        json_t *entry;
        if (!list)
            continue;
        seen = json_object();
        if (!seen)
            goto fail;
        json_array_foreach(list, j, entry) {
            const json_t *rec = json_object_get(entry, "rec");
            const char *fixed = NULL;
            if (already_reported(seen, rec))
                continue;
            /* the entry holds the affected object's ranges and versions */
            if (!posture_osv_affects(eco, version, entry, &fixed))
                continue;
            const char *package = strchr(key, '\x1f') + 1;
            json_t *v = vuln_new(rec, dep, package, fixed);
            if (!v || json_array_append_new(out, v) || note_reported(seen, rec) != ERR_OK)
                goto fail;
        }
        json_decref(seen);
        seen = NULL;
    }
    return out;
fail:
    json_decref(seen);
    json_decref(out);
    return NULL;
}
