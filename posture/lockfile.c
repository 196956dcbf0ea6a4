/* Lock file and manifest parsers: npm (package-lock.json v1-v3, npm-shrinkwrap.json,
 * package.json) and Python (requirements.txt, Pipfile.lock, poetry.lock, *.dist-info/METADATA).
 * Each appends {ecosystem, name, version, file} objects to the caller's array. See deps.h. */
#include "posture/deps.h"

#include <stdlib.h>
#include <string.h>

#define NPM_MAX_DEPTH 64    /* nesting of package-lock v1 "dependencies" */
#define REQ_MAX_LINE 8192   /* a requirements.txt logical line */
#define TOML_MAX_DEPTH 32   /* nested arrays and inline tables in poetry.lock */
#define NAME_MAX_LEN 214    /* npm's limit on package names; PyPI names are shorter */

/* ---- paths ---- */

static bool seg_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool ends_with(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(s + n - l, lit, l) == 0;
}

enum posture_lock_kind posture_lock_kind_of(const char *path, size_t len)
{
    size_t base = len, nm_count = 0, last_nm = SIZE_MAX, segs_after = 0;
    size_t parent = SIZE_MAX; /* start of the parent directory's name */

    while (base > 0 && path[base - 1] != '/')
        base--;
    const char *b = path + base;
    size_t bl = len - base;
    if (bl == 0)
        return POSTURE_LOCK_NONE;
    /* directory segments: count node_modules and what follows the last one */
    for (size_t s = 0; s < base;) {
        size_t e = s;
        while (e < base && path[e] != '/')
            e++;
        if (seg_eq(path + s, e - s, "node_modules")) {
            nm_count++;
            last_nm = s;
            segs_after = 0;
        } else if (last_nm != SIZE_MAX) {
            segs_after++;
        }
        parent = s;
        s = e + 1;
    }
    if (seg_eq(b, bl, "package-lock.json") || seg_eq(b, bl, "npm-shrinkwrap.json"))
        return nm_count == 0 ? POSTURE_LOCK_NPM : POSTURE_LOCK_NONE;
    if (seg_eq(b, bl, ".package-lock.json"))
        return nm_count == 1 && segs_after == 0 ? POSTURE_LOCK_NPM : POSTURE_LOCK_NONE;
    if (seg_eq(b, bl, "package.json")) {
        if (nm_count == 0)
            return POSTURE_LOCK_PACKAGE_JSON;
        if (segs_after == 1 && path[last_nm + 13] != '@')
            return POSTURE_LOCK_NPM_INSTALLED;
        if (segs_after == 2 && path[last_nm + 13] == '@')
            return POSTURE_LOCK_NPM_INSTALLED;
        return POSTURE_LOCK_NONE;
    }
    if (nm_count > 0)
        return POSTURE_LOCK_NONE;
    if (seg_eq(b, bl, "requirements.txt"))
        return POSTURE_LOCK_REQUIREMENTS;
    if (seg_eq(b, bl, "Pipfile.lock"))
        return POSTURE_LOCK_PIPFILE;
    if (seg_eq(b, bl, "poetry.lock"))
        return POSTURE_LOCK_POETRY;
    if (seg_eq(b, bl, "METADATA") && parent != SIZE_MAX && base - 1 - parent > 10 &&
        ends_with(path + parent, base - 1 - parent, ".dist-info"))
        return POSTURE_LOCK_DIST_INFO;
    if (seg_eq(b, bl, "PKG-INFO") && parent != SIZE_MAX && base - 1 - parent > 9 &&
        ends_with(path + parent, base - 1 - parent, ".egg-info"))
        return POSTURE_LOCK_DIST_INFO; /* setuptools' older install layout, same headers */
    return POSTURE_LOCK_NONE;
}

/* ---- names and the output ---- */

bool posture_pypi_normalize(const char *name, size_t len, char *out, size_t outsz)
{
    size_t o = 0;
    bool sep = false;

    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '-' || c == '_' || c == '.') {
            sep = true;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
        if (sep && o > 0) {
            if (o + 1 >= outsz)
                return false;
            out[o++] = '-';
        }
        sep = false;
        if (o + 1 >= outsz)
            return false;
        out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (o == 0)
        return false;
    out[o] = '\0';
    return true;
}

struct sink {
    json_t *deps;
    const char *file;
    bool dev;
    enum err_code rc; /* first failure */
    char detail[160];
};

static void sink_fail(struct sink *s, enum err_code rc, const char *what, size_t line)
{
    if (s->rc != ERR_OK)
        return;
    s->rc = rc;
    if (line)
        snprintf(s->detail, sizeof(s->detail), "line %zu: %s", line, what);
    else
        snprintf(s->detail, sizeof(s->detail), "%s", what);
}

/* Appends one dependency; version NULL means only range is known. Names and versions that are
 * not valid UTF-8 or too long are a failure of the file, not of the call. */
static void add_dep(struct sink *s, const char *eco, const char *name, size_t name_len,
                    const char *version, const char *range)
{
    char norm[NAME_MAX_LEN + 1];
    json_t *o, *n;

    if (strcmp(eco, "PyPI") == 0) {
        if (!posture_pypi_normalize(name, name_len, norm, sizeof(norm))) {
            sink_fail(s, ERR_INVALID, "invalid package name", 0);
            return;
        }
        n = json_string(norm);
    } else {
        n = (name_len > 0 && name_len <= NAME_MAX_LEN) ? json_stringn(name, name_len) : NULL;
    }
    if (!n || (version && strlen(version) > 256) || (range && strlen(range) > 1024)) {
        json_decref(n);
        sink_fail(s, ERR_INVALID, "invalid package name or version", 0);
        return;
    }
    o = json_object();
    if (!o || json_object_set_new(o, "ecosystem", json_string(eco)) ||
        json_object_set_new(o, "name", n) ||
        json_object_set_new(o, "version", version ? json_string(version) : json_null()) ||
        json_object_set_new(o, "file", json_string(s->file)) ||
        (range && json_object_set_new(o, "range", json_string(range))) ||
        (s->dev && json_object_set_new(o, "dev", json_true())) ||
        !json_object_get(o, "version") || !json_object_get(o, "file") ||
        (range && !json_object_get(o, "range")) || json_array_append_new(s->deps, o)) {
        json_decref(o);
        sink_fail(s, ERR_INVALID, "invalid package name or version", 0);
    }
}

static json_t *load_json(const char *text, size_t len, struct sink *s)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);

    if (!root) {
        char what[120];
        snprintf(what, sizeof(what), "invalid JSON: %.80s", je.text);
        sink_fail(s, ERR_INVALID, what, (size_t)(je.line > 0 ? je.line : 0));
        return NULL;
    }
    if (!json_is_object(root)) {
        sink_fail(s, ERR_INVALID, "not a JSON object", 0);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- npm ---- */

/* "npm:real-name@1.2.3" (an alias) -> real-name and 1.2.3; else name and spec unchanged. */
static void npm_alias(const char **name, size_t *name_len, const char **spec)
{
    const char *s = *spec;
    if (strncmp(s, "npm:", 4) != 0)
        return;
    s += 4;
    const char *at = strchr(s + 1, '@'); /* after a scope's leading '@' */
    if (!at)
        return;
    *name = s;
    *name_len = (size_t)(at - s);
    *spec = at + 1;
}

static void npm_v1_deps(struct sink *s, json_t *deps, int depth)
{
    const char *key;
    json_t *val;

    if (!json_is_object(deps))
        return;
    if (depth > NPM_MAX_DEPTH) {
        sink_fail(s, ERR_INVALID, "dependencies nested too deep", 0);
        return;
    }
    json_object_foreach(deps, key, val) {
        const char *version = json_string_value(json_object_get(val, "version"));
        const char *name = key;
        size_t name_len = strlen(key);
        if (version) {
            npm_alias(&name, &name_len, &version);
            s->dev = json_is_true(json_object_get(val, "dev"));
            add_dep(s, "npm", name, name_len, version, NULL);
            s->dev = false;
        }
        npm_v1_deps(s, json_object_get(val, "dependencies"), depth + 1);
    }
}

static void parse_npm_lock(struct sink *s, const char *text, size_t len)
{
    json_t *root = load_json(text, len, s);
    const char *key;
    json_t *val, *packages;

    if (!root)
        return;
    json_int_t lv = json_integer_value(json_object_get(root, "lockfileVersion"));
    packages = json_object_get(root, "packages");
    if (lv >= 2 && json_is_object(packages)) {
        json_object_foreach(packages, key, val) {
            const char *nm = NULL, *p = key;
            while ((p = strstr(p, "node_modules/")) != NULL) {
                if (p == key || p[-1] == '/')
                    nm = p + 13;
                p += 13;
            }
            const char *version = json_string_value(json_object_get(val, "version"));
            if (!nm || !version || json_is_true(json_object_get(val, "link")))
                continue; /* the root, workspaces and links are not installed packages */
            const char *name = json_string_value(json_object_get(val, "name"));
            if (!name)
                name = nm;
            s->dev = json_is_true(json_object_get(val, "dev"));
            add_dep(s, "npm", name, strlen(name), version, NULL);
            s->dev = false;
        }
    } else if (lv == 1 || lv == 0 || json_is_object(json_object_get(root, "dependencies"))) {
        npm_v1_deps(s, json_object_get(root, "dependencies"), 0);
    } else {
        sink_fail(s, ERR_INVALID, "unknown lockfileVersion", 0);
    }
    json_decref(root);
}

/* An npm spec that pins one version: "1.2.3", "=1.2.3", "v1.2.3". */
static const char *npm_exact(const char *spec)
{
    while (*spec == ' ')
        spec++;
    if (*spec == '=')
        spec++;
    if (*spec == 'v')
        spec++;
    return posture_semver_valid(spec) ? spec : NULL;
}

static void parse_package_json(struct sink *s, const char *text, size_t len)
{
    static const char *const sections[] = {"dependencies", "optionalDependencies"};
    json_t *root = load_json(text, len, s);
    const char *key;
    json_t *val;

    if (!root)
        return;
    for (size_t i = 0; i < 2; i++) {
        json_t *section = json_object_get(root, sections[i]);
        json_object_foreach(section, key, val) {
            const char *spec = json_string_value(val), *name = key;
            size_t name_len = strlen(key);
            if (!spec)
                continue;
            const char *orig = spec;
            npm_alias(&name, &name_len, &spec);
            const char *exact = npm_exact(spec);
            add_dep(s, "npm", name, name_len, exact, exact ? NULL : orig);
        }
    }
    json_decref(root);
}

static void parse_npm_installed(struct sink *s, const char *text, size_t len)
{
    json_t *root = load_json(text, len, s);
    if (!root)
        return;
    const char *name = json_string_value(json_object_get(root, "name"));
    const char *version = json_string_value(json_object_get(root, "version"));
    if (name && version)
        add_dep(s, "npm", name, strlen(name), version, NULL);
    else
        sink_fail(s, ERR_INVALID, "package.json without name and version", 0);
    json_decref(root);
}

/* ---- Python ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* "==X" (not a wildcard) or "===X": the pinned version; else NULL. Writes into spec. */
static const char *pep508_exact(char *spec)
{
    if (strchr(spec, ',') || strncmp(spec, "==", 2) != 0)
        return NULL;
    char *v = spec + 2 + (spec[2] == '=');
    v = trim(v);
    if (!*v || strchr(v, '*') || strpbrk(v, "<>=!~ "))
        return NULL;
    return v;
}

/* A line that starts with a URL ("https://...", "git+ssh://..."). */
static bool is_url(const char *p)
{
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '+')
        p++;
    return strncmp(p, "://", 3) == 0;
}

/* One requirement line (comments and continuations already removed). */
static void requirement_line(struct sink *s, char *line, size_t lineno)
{
    char *p = trim(line), *name, *spec, *end;
    size_t name_len;

    if (*p == '\0' || *p == '-')
        return; /* blank, or an option: -r, -c, -e, -i, --hash on its own line... */
    if (is_url(p) || *p == '.' || *p == '/')
        return; /* a URL or a local path: no version to match */
    name = p;
    while (is_name_char(*p))
        p++;
    name_len = (size_t)(p - name);
    if (name_len == 0 || (*p && !is_space(*p) && !strchr("[(<>=!~;@", *p))) {
        sink_fail(s, ERR_INVALID, "not a requirement", lineno);
        return;
    }
    while (is_space(*p))
        p++;
    if (*p == '[') { /* extras */
        end = strchr(p, ']');
        if (!end) {
            sink_fail(s, ERR_INVALID, "unterminated extras", lineno);
            return;
        }
        p = end + 1;
    }
    if (*p == '@') { /* a direct reference */
        add_dep(s, "PyPI", name, name_len, NULL, trim(p));
        return;
    }
    /* the specifier ends at an environment marker or a per-requirement option */
    spec = p;
    end = strchr(spec, ';');
    if (end)
        *end = '\0';
    for (char *o = spec; (o = strstr(o, "--")) != NULL; o++) {
        if (o == spec || is_space(o[-1])) {
            *o = '\0';
            break;
        }
    }
    spec = trim(spec);
    if (*spec == '(') {
        size_t n = strlen(spec);
        if (spec[n - 1] != ')') {
            sink_fail(s, ERR_INVALID, "unbalanced parenthesis", lineno);
            return;
        }
        spec[n - 1] = '\0';
        spec = trim(spec + 1);
    }
    char range[REQ_MAX_LINE];
    snprintf(range, sizeof(range), "%s", spec);
    const char *exact = pep508_exact(spec);
    if (exact && !posture_pep440_valid(exact))
        exact = NULL;
    add_dep(s, "PyPI", name, name_len, exact, exact ? NULL : range);
}

static void parse_requirements(struct sink *s, const char *text, size_t len)
{
    char *line = malloc(REQ_MAX_LINE);
    size_t n = 0, lineno = 1, start_line = 1;
    bool comment = false;

    if (!line) {
        sink_fail(s, ERR_NOMEM, "out of memory", 0);
        return;
    }
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? text[i] : '\n';
        if (c == '\0') {
            sink_fail(s, ERR_INVALID, "NUL byte", lineno);
            break;
        }
        if (c == '\n') {
            /* a backslash before the newline continues the line (outside comments) */
            if (!comment && n > 0 && line[n - 1] == '\\') {
                n--;
                lineno++;
                continue;
            }
            line[n] = '\0';
            requirement_line(s, line, start_line);
            n = 0;
            comment = false;
            start_line = ++lineno;
            continue;
        }
        if (comment)
            continue;
        if (c == '#' && (n == 0 || is_space(line[n - 1]))) {
            comment = true;
            continue;
        }
        if (n + 1 >= REQ_MAX_LINE) {
            sink_fail(s, ERR_INVALID, "line too long", start_line);
            comment = true; /* drop the rest of it */
            n = 0;
            continue;
        }
        line[n++] = c;
    }
    free(line);
}

static void parse_pipfile_lock(struct sink *s, const char *text, size_t len)
{
    static const char *const sections[] = {"default", "develop"};
    json_t *root = load_json(text, len, s);
    const char *key;
    json_t *val;

    if (!root)
        return;
    for (size_t i = 0; i < 2; i++) {
        json_t *section = json_object_get(root, sections[i]);
        s->dev = i == 1;
        json_object_foreach(section, key, val) {
            const char *v = json_string_value(json_object_get(val, "version"));
            char buf[300];
            if (!v)
                continue; /* git, path and URL requirements: no version to match */
            snprintf(buf, sizeof(buf), "%s", v);
            const char *exact = pep508_exact(buf);
            add_dep(s, "PyPI", key, strlen(key), exact, exact ? NULL : v);
        }
    }
    s->dev = false;
    json_decref(root);
}

/* poetry.lock: a strict reader of the TOML subset poetry writes. Every line must be TOML that
 * this reader understands (comments, table and array-of-table headers, key = value with strings,
 * arrays, inline tables and bare scalars); only [[package]]'s own name and version are kept. */
struct toml {
    const char *p, *end;
    size_t line;
};

static void toml_ws(struct toml *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\t'))
        t->p++;
}

/* Whitespace, newlines and comments (inside arrays). */
static void toml_ws_nl(struct toml *t)
{
    for (;;) {
        toml_ws(t);
        if (t->p < t->end && *t->p == '#') {
            while (t->p < t->end && *t->p != '\n')
                t->p++;
        }
        if (t->p < t->end && (*t->p == '\n' || *t->p == '\r')) {
            t->line += *t->p == '\n';
            t->p++;
            continue;
        }
        return;
    }
}

/* A string value; when out is not NULL its content (escapes \\ and \" decoded; others kept)
 * is copied there, truncated to outsz. */
static bool toml_string(struct toml *t, char *out, size_t outsz)
{
    char q = *t->p;
    size_t o = 0;
    bool multi = t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q;

    t->p += multi ? 3 : 1;
    while (t->p < t->end) {
        char c = *t->p;
        if (c == q && (!multi || (t->end - t->p >= 3 && t->p[1] == q && t->p[2] == q))) {
            t->p += multi ? 3 : 1;
            if (out)
                out[o] = '\0';
            return true;
        }
        if (c == '\n') {
            if (!multi)
                return false;
            t->line++;
        }
        if (c == '\\' && q == '"') {
            if (t->end - t->p < 2)
                return false;
            t->p++;
            c = *t->p;
        }
        if (out && o + 1 < outsz)
            out[o++] = c;
        t->p++;
    }
    return false;
}

static bool toml_value(struct toml *t, char *out, size_t outsz, int depth);

static bool toml_key(struct toml *t, char *out, size_t outsz)
{
    size_t o = 0;

    for (;;) {
        toml_ws(t);
        if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
            char part[128];
            if (!toml_string(t, part, sizeof(part)))
                return false;
            size_t n = strlen(part);
            if (o + n + 1 >= outsz)
                return false;
            memcpy(out + o, part, n + 1);
            o += n;
        } else {
            const char *st = t->p;
            while (t->p < t->end && (is_name_char(*t->p) && *t->p != '.'))
                t->p++;
            if (t->p == st)
                return false;
            size_t n = (size_t)(t->p - st);
            if (o + n + 1 >= outsz)
                return false;
            memcpy(out + o, st, n);
            o += n;
            out[o] = '\0';
        }
        if (o + 2 >= outsz)
            return false;
        toml_ws(t);
        if (t->p < t->end && *t->p == '.') {
            out[o++] = '.';
            t->p++;
            continue;
        }
        return true;
    }
}

static bool toml_value(struct toml *t, char *out, size_t outsz, int depth)
{
    char key[256];

    if (depth > TOML_MAX_DEPTH || t->p >= t->end)
        return false;
    if (out)
        out[0] = '\0';
    if (*t->p == '"' || *t->p == '\'')
        return toml_string(t, out, outsz);
    if (out)
        return false; /* name and version must be strings */
    if (*t->p == '[') {
        t->p++;
        for (;;) {
            toml_ws_nl(t);
            if (t->p < t->end && *t->p == ']') {
                t->p++;
                return true;
            }
            if (!toml_value(t, NULL, 0, depth + 1))
                return false;
            toml_ws_nl(t);
            if (t->p < t->end && *t->p == ',')
                t->p++;
            else if (!(t->p < t->end && *t->p == ']'))
                return false;
        }
    }
    if (*t->p == '{') {
        t->p++;
        toml_ws(t);
        if (t->p < t->end && *t->p == '}') {
            t->p++;
            return true;
        }
        for (;;) {
            if (!toml_key(t, key, sizeof(key)))
                return false;
            if (t->p >= t->end || *t->p != '=')
                return false;
            t->p++;
            toml_ws(t);
            if (!toml_value(t, NULL, 0, depth + 1))
                return false;
            toml_ws(t);
            if (t->p < t->end && *t->p == ',') {
                t->p++;
                continue;
            }
            if (t->p < t->end && *t->p == '}') {
                t->p++;
                return true;
            }
            return false;
        }
    }
    /* bare scalar: booleans, numbers, dates */
    const char *st = t->p;
    while (t->p < t->end && (is_name_char(*t->p) || *t->p == ':' || *t->p == '+'))
        t->p++;
    return t->p > st;
}

/* Rest of a line after a header or a key/value: blanks and an optional comment. */
static bool toml_eol(struct toml *t)
{
    toml_ws(t);
    if (t->p < t->end && *t->p == '#')
        while (t->p < t->end && *t->p != '\n')
            t->p++;
    if (t->p < t->end && *t->p == '\r')
        t->p++;
    if (t->p >= t->end)
        return true;
    if (*t->p != '\n')
        return false;
    t->p++;
    t->line++;
    return true;
}

static void poetry_flush(struct sink *s, bool *in_pkg, char *name, char *version, size_t line)
{
    if (*in_pkg) {
        if (!name[0] || !version[0])
            sink_fail(s, ERR_INVALID, "[[package]] without name and version", line);
        else
            add_dep(s, "PyPI", name, strlen(name), version, NULL);
    }
    *in_pkg = false;
    name[0] = version[0] = '\0';
}

static void parse_poetry_lock(struct sink *s, const char *text, size_t len)
{
    struct toml t = {text, text + len, 1};
    char name[NAME_MAX_LEN + 1] = "", version[257] = "", key[256];
    bool in_pkg = false, top = false; /* in a [[package]]; at its top level */
    size_t pkg_line = 0;

    for (;;) {
        toml_ws_nl(&t);
        if (t.p >= t.end)
            break;
        size_t line = t.line;
        if (*t.p == '[') {
            bool array = t.end - t.p >= 2 && t.p[1] == '[';
            t.p += array ? 2 : 1;
            if (!toml_key(&t, key, sizeof(key)) || t.p >= t.end || *t.p != ']' ||
                (array && (t.end - t.p < 2 || t.p[1] != ']'))) {
                sink_fail(s, ERR_INVALID, "bad table header", line);
                return;
            }
            t.p += array ? 2 : 1;
            if (!toml_eol(&t)) {
                sink_fail(s, ERR_INVALID, "text after a table header", line);
                return;
            }
            bool sub = strncmp(key, "package.", 8) == 0;
            if (array && strcmp(key, "package") == 0) {
                poetry_flush(s, &in_pkg, name, version, pkg_line);
                in_pkg = top = true;
                pkg_line = line;
            } else {
                if (!sub)
                    poetry_flush(s, &in_pkg, name, version, pkg_line);
                top = false;
            }
            continue;
        }
        if (!toml_key(&t, key, sizeof(key)) || t.p >= t.end || *t.p != '=') {
            sink_fail(s, ERR_INVALID, "expected key = value", line);
            return;
        }
        t.p++;
        toml_ws(&t);
        bool want = top && (strcmp(key, "name") == 0 || strcmp(key, "version") == 0);
        char *dst = !want ? NULL : (key[0] == 'n' ? name : version);
        size_t dsz = key[0] == 'n' ? sizeof(name) : sizeof(version);
        if (want && dst[0]) {
            sink_fail(s, ERR_INVALID, "duplicate key", line);
            return;
        }
        if (!toml_value(&t, dst, dsz, 0) || !toml_eol(&t)) {
            sink_fail(s, ERR_INVALID, want ? "name and version must be strings" : "bad value",
                      line);
            return;
        }
    }
    poetry_flush(s, &in_pkg, name, version, pkg_line);
}

/* Core metadata (RFC 822 style headers until the first blank line): Name and Version. */
static void parse_dist_info(struct sink *s, const char *text, size_t len)
{
    char name[NAME_MAX_LEN + 1] = "", version[257] = "";
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0)
            break; /* the body (description) follows */
        char *dst = NULL;
        size_t dsz = 0, k = 0;
        if (n > 5 && strncmp(p, "Name:", 5) == 0) {
            dst = name;
            dsz = sizeof(name);
            k = 5;
        } else if (n > 8 && strncmp(p, "Version:", 8) == 0) {
            dst = version;
            dsz = sizeof(version);
            k = 8;
        }
        if (dst && !dst[0]) {
            while (k < n && is_space(p[k]))
                k++;
            size_t vl = n - k;
            while (vl > 0 && is_space(p[k + vl - 1]))
                vl--;
            if (vl >= dsz)
                vl = dsz - 1;
            memcpy(dst, p + k, vl);
            dst[vl] = '\0';
        }
        p = nl ? nl + 1 : end;
    }
    if (!name[0] || !version[0])
        sink_fail(s, ERR_INVALID, "metadata without Name and Version", 0);
    else
        add_dep(s, "PyPI", name, strlen(name), version, NULL);
}

enum err_code posture_lock_parse(enum posture_lock_kind kind, const char *text, size_t len,
                                 const char *file, json_t *deps, struct err *err)
{
    struct sink s = {deps, file, false, ERR_OK, ""};

    if (!json_is_array(deps) || !file || (!text && len > 0))
        return err_set(err, ERR_INVALID, "bad arguments");
    if (!text)
        text = "";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* a UTF-8 BOM, as npm and pip allow */
        text += 3;
        len -= 3;
    }
    switch (kind) {
    case POSTURE_LOCK_NPM:
        parse_npm_lock(&s, text, len);
        break;
    case POSTURE_LOCK_PACKAGE_JSON:
        parse_package_json(&s, text, len);
        break;
    case POSTURE_LOCK_NPM_INSTALLED:
        parse_npm_installed(&s, text, len);
        break;
    case POSTURE_LOCK_REQUIREMENTS:
        parse_requirements(&s, text, len);
        break;
    case POSTURE_LOCK_PIPFILE:
        parse_pipfile_lock(&s, text, len);
        break;
    case POSTURE_LOCK_POETRY:
        parse_poetry_lock(&s, text, len);
        break;
    case POSTURE_LOCK_DIST_INFO:
        parse_dist_info(&s, text, len);
        break;
    default:
        return err_set(err, ERR_INVALID, "not a lock file or manifest");
    }
    if (s.rc != ERR_OK)
        return err_set(err, s.rc, "%s", s.detail);
    return ERR_OK;
}
