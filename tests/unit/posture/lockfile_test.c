/* Unit tests for the lock file and manifest parsers of posture/deps.h and for
 * posture_deps_from_zip's choice of files: which paths are read (lock files at any depth but not
 * inside node_modules, installed packages only without a lock), package-lock.json v1 (nested,
 * aliases), v2/v3 (nested node_modules, links, workspaces), package.json ranges versus pins,
 * requirements.txt syntax (pins, comments, options, extras, markers, hashes, continuations),
 * Pipfile.lock, poetry.lock (and malformed TOML), dist-info METADATA, PEP 503 names. */
#include "posture/deps.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parses text of kind into a fresh array; *rc gets the result code, err the detail. */
static json_t *parse(enum posture_lock_kind kind, const char *text, enum err_code *rc,
                     struct err *err)
{
    json_t *deps = json_array();
    err_clear(err);
    *rc = posture_lock_parse(kind, text, strlen(text), "f", deps, err);
    return deps;
}

static json_t *parse_ok(enum posture_lock_kind kind, const char *text)
{
    enum err_code rc;
    struct err err;
    json_t *deps = parse(kind, text, &rc, &err);
    if (rc != ERR_OK)
        fail_msg("parse failed: %s", err.detail);
    return deps;
}

/* The dependencies as "name@version" (or "name~range") joined by spaces, dev ones with "!". */
static char *flat(const json_t *deps)
{
    static char out[4096];
    size_t o = 0, i;
    json_t *d;
    out[0] = '\0';
    json_array_foreach(deps, i, d) {
        const char *v = json_string_value(json_object_get(d, "version"));
        const char *r = json_string_value(json_object_get(d, "range"));
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%s%s%s", o ? " " : "",
                              json_string_value(json_object_get(d, "name")), v ? "@" : "~",
                              v ? v : (r ? r : "?"),
                              json_is_true(json_object_get(d, "dev")) ? "!" : "");
        assert_true(json_is_null(json_object_get(d, "version")) || v);
        assert_string_equal(json_string_value(json_object_get(d, "file")), "f");
    }
    return out;
}

static void test_kind_of_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        enum posture_lock_kind kind;
    } cases[] = {
        {"package-lock.json", POSTURE_LOCK_NPM},
        {"services/api/package-lock.json", POSTURE_LOCK_NPM},
        {"npm-shrinkwrap.json", POSTURE_LOCK_NPM},
        {"node_modules/.package-lock.json", POSTURE_LOCK_NPM},
        {"app/node_modules/.package-lock.json", POSTURE_LOCK_NPM},
        {"node_modules/x/node_modules/.package-lock.json", POSTURE_LOCK_NONE},
        {"node_modules/minimist/package-lock.json", POSTURE_LOCK_NONE},
        {"node_modules/a/npm-shrinkwrap.json", POSTURE_LOCK_NONE},
        {"package.json", POSTURE_LOCK_PACKAGE_JSON},
        {"src/package.json", POSTURE_LOCK_PACKAGE_JSON},
        {"node_modules/lodash/package.json", POSTURE_LOCK_NPM_INSTALLED},
        {"node_modules/@aws-sdk/client-s3/package.json", POSTURE_LOCK_NPM_INSTALLED},
        {"node_modules/a/node_modules/b/package.json", POSTURE_LOCK_NPM_INSTALLED},
        {"node_modules/lodash/fp/package.json", POSTURE_LOCK_NONE},
        {"node_modules/@scope/package.json", POSTURE_LOCK_NONE},
        {"node_modules/@scope/x/lib/package.json", POSTURE_LOCK_NONE},
        {"node_modules/package.json", POSTURE_LOCK_NONE},
        {"requirements.txt", POSTURE_LOCK_REQUIREMENTS},
        {"src/requirements.txt", POSTURE_LOCK_REQUIREMENTS},
        {"node_modules/x/requirements.txt", POSTURE_LOCK_NONE},
        {"requirements-dev.txt", POSTURE_LOCK_NONE},
        {"Pipfile.lock", POSTURE_LOCK_PIPFILE},
        {"Pipfile", POSTURE_LOCK_NONE},
        {"a/poetry.lock", POSTURE_LOCK_POETRY},
        {"requests-2.31.0.dist-info/METADATA", POSTURE_LOCK_DIST_INFO},
        {"python/lib/python3.12/site-packages/PyYAML-6.0.1.dist-info/METADATA",
         POSTURE_LOCK_DIST_INFO},
        {"requests/METADATA", POSTURE_LOCK_NONE},
        {"METADATA", POSTURE_LOCK_NONE},
        {".dist-info/METADATA", POSTURE_LOCK_NONE},
        {"x.dist-info/RECORD", POSTURE_LOCK_NONE},
        {"six-1.16.0-py3.9.egg-info/PKG-INFO", POSTURE_LOCK_DIST_INFO},
        {".egg-info/PKG-INFO", POSTURE_LOCK_NONE},
        {"pkg/PKG-INFO", POSTURE_LOCK_NONE},
        {"node_modules/", POSTURE_LOCK_NONE},
        {"xpackage-lock.json", POSTURE_LOCK_NONE},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum posture_lock_kind k = posture_lock_kind_of(cases[i].path, strlen(cases[i].path));
        if (k != cases[i].kind)
            fail_msg("%s: kind %d, want %d", cases[i].path, k, cases[i].kind);
    }
}

static void test_pypi_names_are_pep503_normalised(void **state)
{
    (void)state;
    static const char *const cases[][2] = {{"PyYAML", "pyyaml"},
                                           {"zope.interface", "zope-interface"},
                                           {"Foo__Bar--baz..Qux", "foo-bar-baz-qux"},
                                           {"a-_.-b", "a-b"},
                                           {"requests", "requests"}};
    char out[64];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_true(posture_pypi_normalize(cases[i][0], strlen(cases[i][0]), out, sizeof(out)));
        assert_string_equal(out, cases[i][1]);
    }
    assert_false(posture_pypi_normalize("", 0, out, sizeof(out)));
    assert_false(posture_pypi_normalize("a b", 3, out, sizeof(out)));
    assert_false(posture_pypi_normalize("---", 3, out, sizeof(out)));
    assert_false(posture_pypi_normalize("abcdef", 6, out, 4));
}

static void test_package_lock_v1_nested_and_aliases(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_NPM,
                         "{\"lockfileVersion\":1,\"dependencies\":{"
                         "\"mkdirp\":{\"version\":\"0.5.1\",\"dependencies\":{"
                         "  \"minimist\":{\"version\":\"0.0.8\"}}},"
                         "\"alias\":{\"version\":\"npm:@scope/real@1.0.0\"},"
                         "\"jest\":{\"version\":\"29.0.0\",\"dev\":true},"
                         "\"noversion\":{}}}");
    assert_string_equal(flat(d), "mkdirp@0.5.1 minimist@0.0.8 @scope/real@1.0.0 jest@29.0.0!");
    json_decref(d);
}

static void test_package_lock_v2_v3_packages_map(void **state)
{
    (void)state;
    /* v2 carries both maps: packages wins, nothing is counted twice */
    json_t *d = parse_ok(POSTURE_LOCK_NPM,
                         "{\"lockfileVersion\":2,\"packages\":{"
                         "\"\":{\"name\":\"root\",\"version\":\"1.0.0\"},"
                         "\"node_modules/a\":{\"version\":\"1.0.0\"},"
                         "\"node_modules/a/node_modules/b\":{\"version\":\"2.0.0-rc.1\"},"
                         "\"node_modules/@s/c\":{\"version\":\"3.0.0\",\"dev\":true},"
                         "\"node_modules/alias\":{\"name\":\"real\",\"version\":\"4.0.0\"},"
                         "\"packages/ws\":{\"name\":\"ws\",\"version\":\"0.1.0\"},"
                         "\"packages/ws/node_modules/d\":{\"version\":\"5.0.0\"},"
                         "\"node_modules/ws\":{\"resolved\":\"packages/ws\",\"link\":true},"
                         "\"node_modules/xnode_modules/e\":{\"version\":\"6.0.0\"}},"
                         "\"dependencies\":{\"a\":{\"version\":\"1.0.0\"}}}");
    assert_string_equal(flat(d), "a@1.0.0 b@2.0.0-rc.1 @s/c@3.0.0! real@4.0.0 d@5.0.0 "
                                 "xnode_modules/e@6.0.0");
    json_decref(d);
}

static void test_package_lock_errors(void **state)
{
    (void)state;
    enum err_code rc;
    struct err err;
    json_t *d = parse(POSTURE_LOCK_NPM, "{\"lockfileVersion\":3,", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_non_null(strstr(err.detail, "invalid JSON"));
    json_decref(d);
    d = parse(POSTURE_LOCK_NPM, "[1,2]", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    json_decref(d);
    d = parse(POSTURE_LOCK_NPM, "{\"lockfileVersion\":7}", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(err.detail, "unknown lockfileVersion");
    json_decref(d);
    /* nesting beyond the cap is refused, not recursed into */
    char deep[8192] = "{\"lockfileVersion\":1,\"dependencies\":";
    size_t o = strlen(deep);
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o,
                              "{\"p%d\":{\"version\":\"1.0.0\",\"dependencies\":", i);
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "{}");
    for (int i = 0; i < 70; i++)
        o += (size_t)snprintf(deep + o, sizeof(deep) - o, "}}");
    snprintf(deep + o, sizeof(deep) - o, "}");
    d = parse(POSTURE_LOCK_NPM, deep, &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(err.detail, "dependencies nested too deep");
    assert_int_equal(json_array_size(d), 65);
    json_decref(d);
}

static void test_package_json_ranges_and_pins(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_PACKAGE_JSON,
                         "{\"dependencies\":{\"a\":\"1.2.3\",\"b\":\"^1.2.3\",\"c\":\"=2.0.0\","
                         "\"d\":\"v3.0.0-beta.1\",\"e\":\"~1.0\",\"f\":\"1.x\",\"g\":\">=1.0.0 <2\","
                         "\"h\":\"github:user/repo\",\"i\":\"npm:real@4.0.0\",\"j\":\"latest\"},"
                         "\"optionalDependencies\":{\"k\":\"5.0.0\"},"
                         "\"devDependencies\":{\"mocha\":\"10.0.0\"}}");
    assert_string_equal(flat(d), "a@1.2.3 b~^1.2.3 c@2.0.0 d@3.0.0-beta.1 e~~1.0 f~1.x "
                                 "g~>=1.0.0 <2 h~github:user/repo real@4.0.0 j~latest k@5.0.0");
    json_decref(d);

    d = parse_ok(POSTURE_LOCK_NPM_INSTALLED,
                 "\xEF\xBB\xBF{\"name\":\"@s/x\",\"version\":\"1.0.0\"}");
    assert_string_equal(flat(d), "@s/x@1.0.0");
    json_decref(d);
    enum err_code rc;
    struct err err;
    d = parse(POSTURE_LOCK_NPM_INSTALLED, "{\"main\":\"x.js\"}", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    json_decref(d);
}

static void test_requirements_txt(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_REQUIREMENTS,
                         "\xEF\xBB\xBF# comment line after a BOM\n"
                         "requests==2.25.1 \\\n"
                         "    --hash=sha256:abc \\\n"
                         "    --hash=sha256:def\n"
                         "PyYAML == 5.3   # trailing comment\n"
                         "urllib3[secure,socks]>=1.26,<2 ; python_version >= \"3.7\"\n"
                         "Jinja2===2.10\n"
                         "boto3~=1.28\n"
                         "six==1.*\n"
                         "Django (==3.2.1)\n"
                         "zope.interface==5.0.0; sys_platform == \"linux\"\n"
                         "pip @ https://example.com/pip.whl\n"
                         "flask\n"
                         "\r\n"
                         "-r other.txt\n"
                         "-c constraints.txt\n"
                         "--index-url https://pypi.org/simple\n"
                         "-e git+https://github.com/x/y.git#egg=y\n"
                         "https://example.com/pkg-1.0.tar.gz\n"
                         "./local/pkg\n"
                         "numpy==1.26.0rc1\n"
                         "bad==not-a-version\n"
                         "last==0.1");
    assert_string_equal(flat(d),
                        "requests@2.25.1 pyyaml@5.3 urllib3~>=1.26,<2 jinja2@2.10 boto3~~=1.28 "
                        "six~==1.* django@3.2.1 zope-interface@5.0.0 "
                        "pip~@ https://example.com/pip.whl flask~ numpy@1.26.0rc1 "
                        "bad~==not-a-version last@0.1");
    json_decref(d);
}

static void test_requirements_txt_errors_keep_the_good_lines(void **state)
{
    (void)state;
    enum err_code rc;
    struct err err;
    json_t *d = parse(POSTURE_LOCK_REQUIREMENTS, "a==1.0\n$$$\nb[x==2.0\nc==3.0\n", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(err.detail, "line 2: not a requirement");
    assert_string_equal(flat(d), "a@1.0 c@3.0");
    json_decref(d);

    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    d = parse(POSTURE_LOCK_REQUIREMENTS, big, &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_string_equal(err.detail, "line 1: line too long");
    json_decref(d);
    free(big);
}

static void test_pipfile_lock(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_PIPFILE,
                         "{\"_meta\":{},\"default\":{\"Jinja2\":{\"version\":\"==3.1.2\"},"
                         "\"git-dep\":{\"git\":\"https://x\"}},"
                         "\"develop\":{\"pyyaml\":{\"version\":\"==5.1\"},"
                         "\"ranged\":{\"version\":\">=1\"}}}");
    assert_string_equal(flat(d), "jinja2@3.1.2 pyyaml@5.1! ranged~>=1!");
    json_decref(d);
}

static void test_poetry_lock(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_POETRY,
                         "# generated\n"
                         "[[package]]\n"
                         "name = \"Requests\"  # comment\n"
                         "version = \"2.28.0\"\n"
                         "description = \"\"\"multi\n"
                         "line with \\\"quotes\\\" and ] [ = \"\"\"\n"
                         "optional = false\n"
                         "files = [\n"
                         "    {file = \"a.whl\", hash = \"sha256:1\"},\n"
                         "    {file = \"b.tar.gz\", hash = \"sha256:2\"},  # comment\n"
                         "]\n"
                         "\n"
                         "[package.dependencies]\n"
                         "name = \"not-a-package\"\n"
                         "urllib3 = {version = \">=1.21.1\", markers = \"x\"}\n"
                         "\n"
                         "[package.source]\n"
                         "type = \"legacy\"\n"
                         "\n"
                         "[[package]]\n"
                         "version = '1.0'\n"
                         "name = 'zope.interface'\n"
                         "develop = true\n"
                         "nums = [1, 2.5, -3, 1979-05-27T07:32:00Z]\n"
                         "\"quoted key\" = {}\n"
                         "\n"
                         "[metadata]\n"
                         "lock-version = \"2.0\"\n"
                         "[metadata.files]\n"
                         "name = []\n");
    assert_string_equal(flat(d), "requests@2.28.0 zope-interface@1.0");
    json_decref(d);
}

static void test_poetry_lock_is_strict(void **state)
{
    (void)state;
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"[[package]]\nname = \"a\"\n", "line 1: [[package]] without name and version"},
        {"[[package]]\nname = \"a\"\nversion = 1\n", "line 3: name and version must be strings"},
        {"[[package]]\nname = \"a\nversion = \"1\"\n", "line 2: name and version must be strings"},
        {"[[package]\nname = \"a\"\n", "line 1: bad table header"},
        {"[package] x\n", "line 1: text after a table header"},
        {"[[package]]\nname \"a\"\n", "line 2: expected key = value"},
        {"[[package]]\nname = \"a\"\nname = \"b\"\n", "line 3: duplicate key"},
        {"[[package]]\nfiles = [\n{file = \"x\"\n]\n", "line 2: bad value"},
        {"[[package]]\nx = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
         "line 2: bad value"},
        {"[[package]]\nname = \"a\" junk\n", "line 2: name and version must be strings"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        enum err_code rc;
        struct err err;
        json_t *d = parse(POSTURE_LOCK_POETRY, cases[i].text, &rc, &err);
        if (rc != ERR_INVALID || strcmp(err.detail, cases[i].error) != 0)
            fail_msg("case %zu: rc %d, detail '%s', want '%s'", i, rc, err.detail,
                     cases[i].error);
        json_decref(d);
    }
}

static void test_dist_info_metadata(void **state)
{
    (void)state;
    json_t *d = parse_ok(POSTURE_LOCK_DIST_INFO, "Metadata-Version: 2.1\r\nName: PyYAML\r\n"
                                                 "Version: 5.3.1 \r\nSummary: x\r\n\r\n"
                                                 "Name: body-not-header\n");
    assert_string_equal(flat(d), "pyyaml@5.3.1");
    json_decref(d);
    enum err_code rc;
    struct err err;
    d = parse(POSTURE_LOCK_DIST_INFO, "Metadata-Version: 2.1\n\nName: x\nVersion: 1\n", &rc, &err);
    assert_int_equal(rc, ERR_INVALID);
    assert_int_equal(json_array_size(d), 0);
    json_decref(d);
}

/* Every parser over truncations and byte corruptions of valid input: any result but a crash. */
static void test_parsers_survive_mangled_input(void **state)
{
    (void)state;
    static const struct {
        enum posture_lock_kind kind;
        const char *text;
    } seeds[] = {
        {POSTURE_LOCK_NPM, "{\"lockfileVersion\":3,\"packages\":{\"node_modules/a\":{\"version\":"
                           "\"1.0.0\",\"dev\":true},\"node_modules/a/node_modules/@s/b\":"
                           "{\"version\":\"2.0.0\"}}}"},
        {POSTURE_LOCK_NPM, "{\"lockfileVersion\":1,\"dependencies\":{\"a\":{\"version\":"
                           "\"npm:b@1.0.0\",\"dependencies\":{\"c\":{\"version\":\"1\"}}}}}"},
        {POSTURE_LOCK_PACKAGE_JSON, "{\"dependencies\":{\"a\":\"1.0.0\",\"b\":\"npm:@s/c@^1\"}}"},
        {POSTURE_LOCK_REQUIREMENTS, "a==1.0 \\\n --hash=x\nb[c]>=2;d<'3' # e\n(f)\n-r g\nh @ i\n"},
        {POSTURE_LOCK_PIPFILE, "{\"default\":{\"a\":{\"version\":\"==1\"}},\"develop\":{}}"},
        {POSTURE_LOCK_POETRY, "[[package]]\nname = \"a\"\nversion = '1'\nx = [{y = \"\"\"z\"\"\"}, "
                              "1, [2]]\n[package.extras]\nq = []\n"},
        {POSTURE_LOCK_DIST_INFO, "Name: a\r\nVersion: 1.0\r\n\r\nbody"},
    };
    uint32_t seed = 7;
    for (size_t k = 0; k < ARRAY_LEN(seeds); k++) {
        size_t len = strlen(seeds[k].text);
        char *buf = malloc(len + 1);
        for (size_t cut = 0; cut <= len; cut++) {
            char *t = malloc(cut + 1); /* exact size: overreads are caught by ASan */
            memcpy(t, seeds[k].text, cut);
            json_t *d = json_array();
            struct err err;
            posture_lock_parse(seeds[k].kind, t, cut, "f", d, &err);
            json_decref(d);
            free(t);
        }
        for (int round = 0; round < 3000; round++) {
            memcpy(buf, seeds[k].text, len);
            for (int j = 0; j < 3; j++) {
                seed = seed * 1103515245u + 12345u;
                buf[(seed >> 8) % len] = (char)(seed >> 24);
            }
            json_t *d = json_array();
            struct err err;
            posture_lock_parse(seeds[k].kind, buf, len, "f", d, &err);
            json_decref(d);
        }
        free(buf);
    }
    struct err err;
    json_t *d = json_array();
    assert_int_equal(posture_lock_parse(POSTURE_LOCK_NONE, "", 0, "f", d, &err), ERR_INVALID);
    assert_int_equal(posture_lock_parse(POSTURE_LOCK_NPM, NULL, 3, "f", d, &err), ERR_INVALID);
    assert_int_equal(posture_lock_parse(POSTURE_LOCK_NPM, "{}", 2, "f", NULL, &err), ERR_INVALID);
    json_decref(d);
}

/* ---- file selection in a package ---- */

static json_t *deps_of(const char *zip, json_t **errors)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/zips/%s", zip);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    json_t *deps = NULL;
    struct err err;
    if (posture_deps_from_zip(buf, n, NULL, &deps, errors, &err) != ERR_OK)
        fail_msg("%s: %s", zip, err.detail);
    free(buf);
    return deps;
}

/* "name@version<file>" for every dependency, joined by spaces. */
static char *flat_files(const json_t *deps)
{
    static char out[8192];
    size_t o = 0, i;
    json_t *d;
    out[0] = '\0';
    json_array_foreach(deps, i, d) {
        const char *v = json_string_value(json_object_get(d, "version"));
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s@%s<%s>", o ? " " : "",
                              json_string_value(json_object_get(d, "name")), v ? v : "-",
                              json_string_value(json_object_get(d, "file")));
    }
    return out;
}

static void test_lock_file_wins_over_installed_and_nested_locks(void **state)
{
    (void)state;
    json_t *errors, *d = deps_of("node-lock-v3.zip", &errors);
    /* neither node_modules/lodash/package.json, the root package.json nor minimist's own lock */
    assert_string_equal(flat_files(d),
                        "lodash@4.17.11<package-lock.json> minimist@1.2.5<package-lock.json> "
                        "event-stream@3.3.6<package-lock.json> "
                        "flatmap-stream@0.1.1<package-lock.json> "
                        "@aws-sdk/client-s3@3.400.0<package-lock.json> "
                        "string-width@4.2.3<package-lock.json> jest@29.7.0<package-lock.json>");
    assert_int_equal(json_array_size(errors), 0);
    json_decref(d);
    json_decref(errors);
}

static void test_installed_packages_without_a_lock(void **state)
{
    (void)state;
    json_t *errors, *d = deps_of("node-installed.zip", &errors);
    assert_string_equal(flat_files(d),
                        "lodash@4.17.20<node_modules/lodash/package.json> "
                        "@scope/util@2.0.0-beta.1<node_modules/@scope/util/package.json> "
                        "minimist@1.2.5<node_modules/mkdirp/node_modules/minimist/package.json>");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "file")),
                        "node_modules/broken/package.json");
    json_decref(d);
    json_decref(errors);
}

static void test_unreadable_lock_files_fall_back(void **state)
{
    (void)state;
    json_t *errors, *d = deps_of("node-badlock.zip", &errors);
    assert_string_equal(flat_files(d), "lodash@4.17.11<node_modules/.package-lock.json>");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "file")),
                        "package-lock.json");
    json_decref(d);
    json_decref(errors);

    d = deps_of("node-badlocks.zip", &errors);
    assert_string_equal(flat_files(d),
                        "minimist@1.2.5<node_modules/minimist/package.json>");
    assert_int_equal(json_array_size(errors), 2);
    json_decref(d);
    json_decref(errors);
}

static void test_python_package_files(void **state)
{
    (void)state;
    json_t *errors, *d = deps_of("python.zip", &errors);
    assert_string_equal(flat_files(d),
                        "requests@2.25.1<requirements.txt> pyyaml@5.3<requirements.txt> "
                        "urllib3@-<requirements.txt> jinja2@2.10<requirements.txt> "
                        "boto3@-<requirements.txt> six@-<requirements.txt> "
                        "django@3.2.1<requirements.txt> zope-interface@5.0.0<requirements.txt> "
                        "urllib3@1.26.5<urllib3-1.26.5.dist-info/METADATA> "
                        "jinja2@3.1.2<svc/Pipfile.lock> pyyaml@5.1<svc/Pipfile.lock> "
                        "requests@2.28.0<svc/poetry.lock> jinja2@2.11.3<svc/poetry.lock>");
    assert_int_equal(json_array_size(errors), 0);
    json_decref(d);
    json_decref(errors);
}

static void test_bad_entries_are_errors_and_the_rest_is_read(void **state)
{
    (void)state;
    json_t *errors, *d = deps_of("traversal.zip", &errors);
    assert_string_equal(flat_files(d), "pyyaml@5.3<safe/requirements.txt> "
                                       "jinja2@2.10<safe/..hidden/requirements.txt>");
    char *e = json_dumps(errors, JSON_COMPACT);
    assert_string_equal(e, "[{\"file\":\"../../evil/requirements.txt\",\"error\":\"path "
                           "traversal in name\"},{\"file\":\"/abs/requirements.txt\",\"error\":"
                           "\"absolute path in name\"},{\"file\":\"dir\\\\..\\\\requirements.txt\","
                           "\"error\":\"backslash in name\"},{\"file\":\"ok/../../requirements."
                           "txt\",\"error\":\"path traversal in name\"},{\"file\":\"C:/"
                           "requirements.txt\",\"error\":\"absolute path in name\"},{\"file\":"
                           "\"nul?/requirements.txt\",\"error\":\"NUL in name\"}]");
    free(e);
    json_decref(d);
    json_decref(errors);

    static const char *const hostile[][2] = {{"encrypted.zip", "encrypted entry"},
                                             {"bomb.zip", "compression ratio over 200 (zip bomb)"},
                                             {"crc.zip", "CRC-32 mismatch"}};
    for (size_t i = 0; i < ARRAY_LEN(hostile); i++) {
        d = deps_of(hostile[i][0], &errors);
        assert_string_equal(flat_files(d), "requests@2.25.1<requirements.txt>");
        assert_int_equal(json_array_size(errors), 1);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(errors, 0), "error")), hostile[i][1]);
        json_decref(d);
        json_decref(errors);
    }
}

static void test_errors_are_capped(void **state)
{
    (void)state;
    /* 150 traversal names: 100 errors, then one line counting the rest */
    enum { N = 150 };
    unsigned char *buf = calloc(1, 64 * N + 100), *p = buf;
    size_t cd_len = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        int nl = snprintf(name, sizeof(name), "../x%03d", i);
        static const unsigned char hdr[46] = {0x50, 0x4b, 0x01, 0x02, 20, 0, 20};
        memcpy(p, hdr, 46);
        p[28] = (unsigned char)nl;
        memcpy(p + 46, name, (size_t)nl);
        p += 46 + nl;
        cd_len += 46 + (size_t)nl;
    }
    static const unsigned char eocd[4] = {0x50, 0x4b, 0x05, 0x06};
    memcpy(p, eocd, 4);
    p[8] = p[10] = N;
    p[12] = (unsigned char)cd_len;
    p[13] = (unsigned char)(cd_len >> 8);
    p += 22;
    json_t *deps, *errors;
    struct err err;
    assert_int_equal(posture_deps_from_zip(buf, (size_t)(p - buf), NULL, &deps, &errors, &err),
                     ERR_OK);
    assert_int_equal(json_array_size(deps), 0);
    assert_int_equal(json_array_size(errors), 101);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 100), "error")),
                        "50 more errors");
    json_decref(deps);
    json_decref(errors);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_of_paths),
        cmocka_unit_test(test_pypi_names_are_pep503_normalised),
        cmocka_unit_test(test_package_lock_v1_nested_and_aliases),
        cmocka_unit_test(test_package_lock_v2_v3_packages_map),
        cmocka_unit_test(test_package_lock_errors),
        cmocka_unit_test(test_package_json_ranges_and_pins),
        cmocka_unit_test(test_requirements_txt),
        cmocka_unit_test(test_requirements_txt_errors_keep_the_good_lines),
        cmocka_unit_test(test_pipfile_lock),
        cmocka_unit_test(test_poetry_lock),
        cmocka_unit_test(test_poetry_lock_is_strict),
        cmocka_unit_test(test_dist_info_metadata),
        cmocka_unit_test(test_parsers_survive_mangled_input),
        cmocka_unit_test(test_lock_file_wins_over_installed_and_nested_locks),
        cmocka_unit_test(test_installed_packages_without_a_lock),
        cmocka_unit_test(test_unreadable_lock_files_fall_back),
        cmocka_unit_test(test_python_package_files),
        cmocka_unit_test(test_bad_entries_are_errors_and_the_rest_is_read),
        cmocka_unit_test(test_errors_are_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
