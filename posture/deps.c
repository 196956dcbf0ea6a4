/* posture_deps_from_zip: which files of a deployment package to read, and the per-file errors.
 * See deps.h. */
#include "posture/deps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 100
#define MAX_ROOTS 256 /* npm projects (directories with a lock or node_modules) tracked */

struct cand {
    size_t entry;
    enum posture_lock_kind kind;
};

/* An npm project root (a directory prefix, possibly empty), what it holds and which of its
 * lock files were read successfully. */
struct root {
    const char *dir;
    size_t len;
    bool has_installed;
    bool real_lock_ok, hidden_lock_ok;
};

struct walk {
    json_t *errors;
    size_t nerrors;
    struct root roots[MAX_ROOTS];
    size_t nroots;
};

/* A printable NUL-terminated copy of an entry name: control characters (NUL included) become
 * '?', and so does every byte >= 0x80 unless the name is valid UTF-8. */
static char *name_dup(const char *name, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++)
        s[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    s[len] = '\0';
    json_t *probe = json_stringn(s, len);
    if (!probe) {
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)s[i] >= 0x80)
                s[i] = '?';
    }
    json_decref(probe);
    return s;
}

static enum err_code add_error(struct walk *w, const char *name, size_t len, const char *what)
{
    char *file, *msg;
    json_t *o;

    w->nerrors++;
    if (w->nerrors > MAX_ERRORS)
        return ERR_OK;
    if (len > 256)
        len = 256;
    file = name_dup(name, len);
    /* the detail may quote the file's bytes (a parser's "near ..." text): keep it valid UTF-8 */
    msg = name_dup(what, strlen(what));
    o = file && msg ? json_pack("{s:s, s:s}", "file", file, "error", msg) : NULL;
    free(file);
    free(msg);
    if (!o || json_array_append_new(w->errors, o))
        return ERR_NOMEM;
    return ERR_OK;
}

/* The project directory of an npm file: the prefix before its first node_modules segment, or
 * its own directory. */
static size_t npm_root_len(const char *name, size_t len)
{
    for (size_t i = 0; i + 13 <= len; i++) {
        if ((i == 0 || name[i - 1] == '/') && memcmp(name + i, "node_modules/", 13) == 0)
            return i;
    }
    while (len > 0 && name[len - 1] != '/')
        len--;
    return len;
}

static struct root *root_get(struct walk *w, const char *dir, size_t len, bool create)
{
    for (size_t i = 0; i < w->nroots; i++)
        if (w->roots[i].len == len && memcmp(w->roots[i].dir, dir, len) == 0)
            return &w->roots[i];
    if (!create || w->nroots == MAX_ROOTS)
        return NULL;
    struct root *r = &w->roots[w->nroots++];
    memset(r, 0, sizeof(*r));
    r->dir = dir;
    r->len = len;
    return r;
}

static bool is_hidden_lock(const char *name, size_t len)
{
    return len >= 18 && memcmp(name + len - 18, ".package-lock.json", 18) == 0;
}

/* Candidates are read in three phases: real lock files, npm's hidden lock files, the rest. */
static int phase_of(const char *name, size_t len, enum posture_lock_kind kind)
{
    if (kind != POSTURE_LOCK_NPM)
        return 2;
    return is_hidden_lock(name, len) ? 1 : 0;
}

/* Whether a candidate is redundant: a project whose lock file was read needs neither its
 * installed package.json files nor its package.json (nor its package.json when packages are
 * installed), and npm's hidden lock yields to a real one. A lock file that fails to read or
 * parse does not count, so the installed packages stand in for it. */
static bool skip_candidate(struct walk *w, const char *name, size_t len,
                           enum posture_lock_kind kind)
{
    struct root *r = root_get(w, name, npm_root_len(name, len), false);

    if (!r)
        return false;
    switch (kind) {
    case POSTURE_LOCK_NPM:
        return is_hidden_lock(name, len) && r->real_lock_ok;
    case POSTURE_LOCK_NPM_INSTALLED:
        return r->real_lock_ok || r->hidden_lock_ok;
    case POSTURE_LOCK_PACKAGE_JSON:
        return r->real_lock_ok || r->hidden_lock_ok || r->has_installed;
    default:
        return false;
    }
}

/* Appends src's dependencies to dst unless already present (same ecosystem, name, version,
 * file), using seen (an object keyed by those) as the set. */
static enum err_code merge_deps(json_t *dst, json_t *src, json_t *seen)
{
    size_t i;
    json_t *d;
    char key[1600];

    json_array_foreach(src, i, d) {
        const char *v = json_string_value(json_object_get(d, "version"));
        const char *r = json_string_value(json_object_get(d, "range"));
        snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%s\x1f%s",
                 json_string_value(json_object_get(d, "ecosystem")),
                 json_string_value(json_object_get(d, "name")), v ? v : "", r ? r : "",
                 json_string_value(json_object_get(d, "file")));
        if (json_object_get(seen, key))
            continue;
        if (json_object_set_new(seen, key, json_true()) || json_array_append(dst, d))
            return ERR_NOMEM;
    }
    return ERR_OK;
}

/* Reads and parses one candidate if it belongs to this phase and is not redundant; its
 * dependencies go to out, its problem to w's errors. Returns ERR_OK or ERR_NOMEM. */
static enum err_code read_candidate(struct posture_zip *z, struct walk *w, const struct cand *cand,
                                    int phase, json_t *out, json_t *seen)
{
    const char *name;
    size_t nl, dl;
    unsigned char *data = NULL;
    char *file = NULL;
    json_t *one = NULL;
    struct err ferr;
    enum err_code rc;

    posture_zip_name(z, cand->entry, &name, &nl);
    if (phase_of(name, nl, cand->kind) != phase || skip_candidate(w, name, nl, cand->kind))
        return ERR_OK;
    err_clear(&ferr);
    rc = posture_zip_read(z, cand->entry, &data, &dl, &ferr);
    if (rc == ERR_OK) {
        file = name_dup(name, nl);
        one = json_array();
        if (!file || !one)
            rc = err_set(&ferr, ERR_NOMEM, "out of memory");
        else
            rc = posture_lock_parse(cand->kind, (const char *)data, dl, file, one, &ferr);
    }
    free(data);
    free(file);
    if (rc == ERR_NOMEM)
        goto out;
    /* what a file yielded before an error still counts */
    if ((one && merge_deps(out, one, seen) != ERR_OK) ||
        (rc != ERR_OK && add_error(w, name, nl, ferr.detail) != ERR_OK)) {
        rc = ERR_NOMEM;
        goto out;
    }
    if (rc == ERR_OK && cand->kind == POSTURE_LOCK_NPM) {
        struct root *r = root_get(w, name, npm_root_len(name, nl), false);
        if (r && phase == 0)
            r->real_lock_ok = true;
        else if (r)
            r->hidden_lock_ok = true;
    }
    rc = ERR_OK;
out:
    json_decref(one);
    return rc;
}

enum err_code posture_deps_from_zip(const unsigned char *zip, size_t len,
                                    const struct posture_zip_limits *lim, json_t **deps,
                                    json_t **errors, struct err *err)
{
    struct posture_zip *z = NULL;
    struct walk *w = NULL;
    struct cand *cands = NULL;
    size_t ncands = 0, n;
    json_t *out = NULL, *seen = NULL;
    enum err_code rc;

    *deps = NULL;
    *errors = NULL;
    rc = posture_zip_open(zip, len, lim, &z, err);
    if (rc != ERR_OK)
        goto out;
    n = posture_zip_count(z);
    w = calloc(1, sizeof(*w));
    cands = calloc(n ? n : 1, sizeof(*cands));
    out = json_array();
    seen = json_object();
    if (!w || !cands || !out || !seen || !(w->errors = json_array())) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }

    /* pass 1: the central directory only: candidates, bad names, npm project layout */
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t nl;
        const char *problem = posture_zip_name_problem(z, i);
        posture_zip_name(z, i, &name, &nl);
        if (problem) {
            if (add_error(w, name, nl, problem) != ERR_OK) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        enum posture_lock_kind kind = posture_lock_kind_of(name, nl);
        if (kind == POSTURE_LOCK_NONE)
            continue;
        cands[ncands].entry = i;
        cands[ncands++].kind = kind;
        if (kind == POSTURE_LOCK_NPM || kind == POSTURE_LOCK_NPM_INSTALLED) {
            struct root *r = root_get(w, name, npm_root_len(name, nl), true);
            if (r && kind == POSTURE_LOCK_NPM_INSTALLED)
                r->has_installed = true;
        }
    }

    /* pass 2: read and parse what is needed, lock files first */
    for (int phase = 0; phase < 3; phase++) {
        for (size_t c = 0; c < ncands; c++) {
            rc = read_candidate(z, w, &cands[c], phase, out, seen);
            if (rc != ERR_OK) {
                rc = err_set(err, rc, "out of memory");
                goto out;
            }
        }
    }
    if (w->nerrors > MAX_ERRORS) {
        char more[64];
        snprintf(more, sizeof(more), "%zu more errors", w->nerrors - MAX_ERRORS);
        if (json_array_append_new(w->errors, json_pack("{s:s, s:s}", "file", "", "error", more))) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    *deps = out;
    out = NULL;
    *errors = w->errors;
    w->errors = NULL;
    rc = ERR_OK;
out:
    json_decref(out);
    json_decref(seen);
    if (w)
        json_decref(w->errors);
    free(w);
    free(cands);
    posture_zip_free(z);
    return rc;
}
