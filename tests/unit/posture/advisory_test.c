/* Unit tests for the OSV advisory index of posture/deps.h: loading tests/data/advisories (and
 * PARAPET_ADVISORY_DIR), skipping what is not a usable record, CVSS v3 base scores, severity
 * sources (malicious, GHSA label, CVSS band), alias de-duplication, and end to end: the test
 * packages of tests/data/zips -> dependencies -> vulnerabilities, also from several threads. */
#include "posture/deps.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SAMPLE "tests/data/advisories"

static struct posture_advisories *sample(void)
{
    struct posture_advisories *db = NULL;
    struct err err;
    if (posture_advisories_load(SAMPLE, &db, &err) != ERR_OK)
        fail_msg("load: %s", err.detail);
    return db;
}

static json_t *deps_of(const char *zip)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/data/zips/%s", zip);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    json_t *deps = NULL, *errors = NULL;
    struct err err;
    if (posture_deps_from_zip(buf, n, NULL, &deps, &errors, &err) != ERR_OK)
        fail_msg("%s: %s", zip, err.detail);
    json_decref(errors);
    free(buf);
    return deps;
}

/* "id package@version fixed severity" per vulnerability, one per line. */
static char *flat(const json_t *vulns)
{
    static char out[8192];
    size_t o = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(vulns, i, v) {
        const char *fixed = json_string_value(json_object_get(v, "fixed"));
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s %s@%s %s %s\n",
                              json_string_value(json_object_get(v, "id")),
                              json_string_value(json_object_get(v, "package")),
                              json_string_value(json_object_get(v, "version")),
                              fixed ? fixed : "-",
                              json_string_value(json_object_get(v, "severity")));
    }
    return out;
}

static void test_loads_the_sample(void **state)
{
    (void)state;
    struct posture_advisories *db = sample();
    const char *why;
    assert_int_equal(posture_advisories_count(db), 14);
    assert_int_equal(posture_advisories_skipped(db, &why), 0);
    assert_string_equal(why, "");
    posture_advisories_free(db);
    posture_advisories_free(NULL);
}

static void test_directory_from_the_environment(void **state)
{
    (void)state;
    struct posture_advisories *db = NULL;
    struct err err;

    unsetenv("PARAPET_ADVISORY_DIR");
    assert_int_equal(posture_advisories_load(NULL, &db, &err), ERR_INVALID);
    assert_string_equal(err.detail, "PARAPET_ADVISORY_DIR is not set");
    setenv("PARAPET_ADVISORY_DIR", SAMPLE, 1);
    assert_int_equal(posture_advisories_load(NULL, &db, &err), ERR_OK);
    assert_int_equal(posture_advisories_count(db), 14);
    posture_advisories_free(db);
    unsetenv("PARAPET_ADVISORY_DIR");
    db = (struct posture_advisories *)1;
    assert_int_equal(posture_advisories_load("/nonexistent/osv", &db, &err), ERR_NOT_FOUND);
    assert_null(db);
}

/* ---- a scratch advisory directory ---- */

static char scratch[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", scratch, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int scratch_setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof(scratch), "/tmp/parapet-osv.XXXXXX");
    if (!mkdtemp(scratch))
        return -1;
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/nested", scratch);
    mkdir(sub, 0700);
    return 0;
}

static int scratch_teardown(void **state)
{
    (void)state;
    static const char *const files[] = {
        "mal.json",     "label.json", "cvss.json",   "none.json",  "bad.json",   "notosv.json",
        "withdrawn.json", "big.json", "maven.json",  "link.json",  "README.md", "summary.json",
        "nested/deep.json"};
    char path[256];
    for (size_t i = 0; i < ARRAY_LEN(files); i++) {
        snprintf(path, sizeof(path), "%s/%s", scratch, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/nested", scratch);
    rmdir(path);
    return rmdir(scratch);
}

#define AFFECTED(eco, name)                                                                       \
    "\"affected\":[{\"package\":{\"ecosystem\":\"" eco "\",\"name\":\"" name "\"},"               \
    "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"}]}]}]"

static void test_skips_what_is_not_a_usable_record(void **state)
{
    (void)state;
    struct posture_advisories *db = NULL;
    struct err err;
    const char *why;

    put("mal.json", "{\"id\":\"MAL-2024-1\",\"summary\":\"x\"," AFFECTED("npm", "evil") "}");
    put("bad.json", "{\"id\":");
    put("notosv.json", "{\"name\":\"x\"}");
    put("withdrawn.json", "{\"id\":\"GHSA-w\",\"withdrawn\":\"2024-01-01T00:00:00Z\","
                          AFFECTED("npm", "evil") "}");
    put("maven.json", "{\"id\":\"GHSA-m\"," AFFECTED("Maven", "org.x:y") "}");
    put("README.md", "not json");
    put("nested/deep.json", "{\"id\":\"GHSA-deep\"," AFFECTED("PyPI", "Deep_Pkg") "}");
    char path[256], target[256];
    snprintf(path, sizeof(path), "%s/link.json", scratch);
    snprintf(target, sizeof(target), "%s/mal.json", scratch);
    assert_int_equal(symlink(target, path), 0); /* symlinks are not followed */
    FILE *f;
    snprintf(path, sizeof(path), "%s/big.json", scratch);
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < (4 << 20) / 8 + 1; i++)
        fputs("        ", f);
    fclose(f);

    assert_int_equal(posture_advisories_load(scratch, &db, &err), ERR_OK);
    assert_int_equal(posture_advisories_count(db), 2); /* mal and deep */
    assert_int_equal(posture_advisories_skipped(db, &why), 3);
    assert_non_null(strstr(why, "bad.json: invalid JSON"));

    json_t *deps = json_pack("[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]", "ecosystem", "PyPI",
                             "name", "deep-pkg", "version", "1.0", "file", "requirements.txt",
                             "ecosystem", "npm", "name", "evil", "version", "1.0.0", "file",
                             "package-lock.json");
    json_t *v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "GHSA-deep deep-pkg@1.0 - unknown\n"
                                 "MAL-2024-1 evil@1.0.0 - critical\n");
    json_decref(v);
    json_decref(deps);
    posture_advisories_free(db);
}

static void test_cvss3_base_scores(void **state)
{
    (void)state;
    static const struct {
        const char *vector;
        double score;
    } cases[] = {
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H", 9.1},
        {"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2},
        {"CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N", 8.6},
        {"CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:L", 4.5},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
        {"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4},
        {"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0},
        {"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
        {"CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", 9.8},
        {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        double s = -1;
        if (!posture_cvss3_score(cases[i].vector, &s) || fabs(s - cases[i].score) > 1e-9)
            fail_msg("%s: %.4f, want %.1f", cases[i].vector, s, cases[i].score);
    }
    static const char *const bad[] = {
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L",
        "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "CVSS:3.1/",
        "",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        double s;
        if (posture_cvss3_score(bad[i], &s))
            fail_msg("%s should not score", bad[i]);
    }
}

static void test_severity_sources(void **state)
{
    (void)state;
    struct posture_advisories *db = NULL;
    struct err err;

    put("mal.json", "{\"id\":\"MAL-2024-1\",\"summary\":\"harmless words\","
                    AFFECTED("npm", "a") "}");
    put("summary.json", "{\"id\":\"GHSA-s\",\"summary\":\"Malicious code in b\","
                        "\"database_specific\":{\"severity\":\"LOW\"}," AFFECTED("npm", "b") "}");
    put("label.json", "{\"id\":\"GHSA-l\",\"summary\":\"l\",\"database_specific\":"
                      "{\"severity\":\"MODERATE\"},\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
                      "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\"}]," AFFECTED("npm", "c") "}");
    put("cvss.json", "{\"id\":\"PYSEC-c\",\"details\":\"first line\\nsecond\",\"severity\":["
                     "{\"type\":\"CVSS_V4\",\"score\":\"CVSS:4.0/AV:N\"},{\"type\":\"CVSS_V3\","
                     "\"score\":\"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H\"}],"
                     AFFECTED("PyPI", "d") "}");
    put("none.json", "{\"id\":\"GHSA-n\",\"summary\":\"Denial of service with malicious input\","
                     AFFECTED("npm", "e") "}");
    assert_int_equal(posture_advisories_load(scratch, &db, &err), ERR_OK);
    json_t *deps = json_array();
    static const char *const pkgs[][2] = {{"npm", "a"}, {"npm", "b"}, {"npm", "c"},
                                          {"PyPI", "D"}, {"npm", "e"}};
    for (size_t i = 0; i < ARRAY_LEN(pkgs); i++)
        json_array_append_new(deps, json_pack("{s:s, s:s, s:s, s:s}", "ecosystem", pkgs[i][0],
                                              "name", pkgs[i][1], "version", "1.0.0", "file",
                                              "f"));
    json_t *v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "MAL-2024-1 a@1.0.0 - critical\n"
                                 "GHSA-s b@1.0.0 - critical\n"
                                 "GHSA-l c@1.0.0 - medium\n"
                                 "PYSEC-c d@1.0.0 - high\n"
                                 "GHSA-n e@1.0.0 - unknown\n");
    json_t *c = json_array_get(v, 2), *d = json_array_get(v, 3);
    assert_true(fabs(json_real_value(json_object_get(c, "cvss")) - 9.8) < 1e-9);
    assert_true(fabs(json_real_value(json_object_get(d, "cvss")) - 7.2) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(d, "summary")), "first line");
    assert_null(json_object_get(json_array_get(v, 4), "cvss"));
    json_decref(v);
    json_decref(deps);
    posture_advisories_free(db);
}

/* ---- end to end ---- */

static void test_node_package_end_to_end(void **state)
{
    (void)state;
    struct posture_advisories *db = sample();
    json_t *deps = deps_of("node-lock-v3.zip");
    json_t *v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "GHSA-35jh-r3h4-6jhm lodash@4.17.11 4.17.21 high\n"
                                 "GHSA-jf85-cpcp-j695 lodash@4.17.11 4.17.12 critical\n"
                                 "GHSA-xvch-5gv4-984h minimist@1.2.5 1.2.6 critical\n"
                                 "GHSA-mh6f-8j2x-4483 event-stream@3.3.6 - critical\n"
                                 "GHSA-9x64-5r7x-2q53 flatmap-stream@0.1.1 - critical\n");
    json_t *first = json_array_get(v, 1);
    assert_string_equal(json_string_value(json_object_get(first, "file")), "package-lock.json");
    assert_string_equal(json_string_value(json_object_get(first, "ecosystem")), "npm");
    assert_string_equal(json_string_value(json_object_get(first, "summary")),
                        "Prototype Pollution in lodash");
    assert_string_equal(json_string_value(json_array_get(json_object_get(first, "aliases"), 0)),
                        "CVE-2019-10744");
    json_decref(v);
    json_decref(deps);

    /* v1 with nesting and an alias; package.json pins (ranges never match) */
    deps = deps_of("node-lock-v1.zip");
    v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "GHSA-vh95-rmgr-6w4m minimist@0.0.8 0.2.1 medium\n"
                                 "GHSA-xvch-5gv4-984h minimist@0.0.8 0.2.4 critical\n"
                                 "GHSA-vh95-rmgr-6w4m minimist@1.2.0 1.2.3 medium\n"
                                 "GHSA-xvch-5gv4-984h minimist@1.2.0 1.2.6 critical\n"
                                 "GHSA-q4v7-4rhw-9hqm node-serialize@0.0.4 - critical\n");
    json_decref(v);
    json_decref(deps);
    deps = deps_of("node-pkgjson.zip");
    v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "GHSA-q4v7-4rhw-9hqm node-serialize@0.0.4 - critical\n"
                                 "GHSA-vh95-rmgr-6w4m minimist@1.2.0 1.2.3 medium\n"
                                 "GHSA-xvch-5gv4-984h minimist@1.2.0 1.2.6 critical\n");
    json_decref(v);
    json_decref(deps);
    posture_advisories_free(db);
}

static void test_python_package_end_to_end(void **state)
{
    (void)state;
    struct posture_advisories *db = sample();
    json_t *deps = deps_of("python.zip");
    json_t *v = posture_advisories_match(db, deps);
    /* requests: GHSA and PYSEC are one flaw (aliases): reported once; Jinja2/jinja2 both match
     * jinja2; the unpinned urllib3 line matches nothing, the installed 1.26.5 does */
    assert_string_equal(flat(v), "GHSA-j8r2-6x86-q33q requests@2.25.1 2.31.0 medium\n"
                                 "GHSA-6757-jp84-gxfx pyyaml@5.3 5.4 critical\n"
                                 "GHSA-8q59-q68h-6hv4 pyyaml@5.3 5.3.1 critical\n"
                                 "GHSA-462w-v97r-4m45 jinja2@2.10 2.10.1 high\n"
                                 "GHSA-h5c8-rqwp-cp95 jinja2@2.10 3.1.3 medium\n"
                                 "GHSA-v845-jxx5-vc9f urllib3@1.26.5 1.26.17 medium\n"
                                 "GHSA-h5c8-rqwp-cp95 jinja2@3.1.2 3.1.3 medium\n"
                                 "GHSA-6757-jp84-gxfx pyyaml@5.1 5.4 critical\n"
                                 "GHSA-8q59-q68h-6hv4 pyyaml@5.1 5.3.1 critical\n"
                                 "GHSA-j8r2-6x86-q33q requests@2.28.0 2.31.0 medium\n"
                                 "GHSA-h5c8-rqwp-cp95 jinja2@2.11.3 3.1.3 medium\n");
    assert_true(json_is_true(json_object_get(json_array_get(v, 7), "dev"))); /* Pipfile develop */
    json_decref(v);
    json_decref(deps);

    deps = deps_of("zip64.zip"); /* requests 2.31.0 is the fixed version */
    v = posture_advisories_match(db, deps);
    assert_string_equal(flat(v), "GHSA-v845-jxx5-vc9f urllib3@1.26.5 1.26.17 medium\n");
    json_decref(v);
    json_decref(deps);
    posture_advisories_free(db);
}

static void test_match_ignores_what_it_cannot_use(void **state)
{
    (void)state;
    struct posture_advisories *db = sample();
    json_t *deps = json_loads("[1, null, {}, {\"ecosystem\":\"npm\",\"name\":\"lodash\"},"
                              "{\"ecosystem\":\"npm\",\"name\":\"lodash\",\"version\":null,"
                              "\"range\":\"^4.0.0\"},"
                              "{\"ecosystem\":\"Go\",\"name\":\"lodash\",\"version\":\"1.0.0\"},"
                              "{\"ecosystem\":\"npm\",\"name\":\"lodash\",\"version\":\"4.x\"},"
                              "{\"ecosystem\":\"npm\",\"name\":\"lodash\",\"version\":\"4.17.21\"},"
                              "{\"ecosystem\":\"PyPI\",\"name\":\"bad name!\",\"version\":\"1\"}]",
                              0, NULL);
    json_t *v = posture_advisories_match(db, deps);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
    v = posture_advisories_match(db, NULL);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
    v = posture_advisories_match(NULL, deps);
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);
    json_decref(deps);
    posture_advisories_free(db);
}

struct job {
    const struct posture_advisories *db;
    json_t *deps;
    char *want;
    int failures;
};

static void *match_loop(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < 200; i++) {
        json_t *v = posture_advisories_match(j->db, j->deps);
        char *s = json_dumps(v, JSON_COMPACT);
        if (!s || strcmp(s, j->want) != 0)
            j->failures++;
        free(s);
        json_decref(v);
    }
    return NULL;
}

static void test_concurrent_matches_share_one_index(void **state)
{
    (void)state;
    struct posture_advisories *db = sample();
    static const char *const zips[] = {"node-lock-v3.zip", "python.zip", "node-lock-v1.zip",
                                       "node-installed.zip"};
    struct job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].db = db;
        jobs[i].deps = deps_of(zips[i]);
        json_t *v = posture_advisories_match(db, jobs[i].deps);
        jobs[i].want = json_dumps(v, JSON_COMPACT);
        json_decref(v);
        jobs[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, match_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
        json_decref(jobs[i].deps);
        free(jobs[i].want);
    }
    posture_advisories_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_the_sample),
        cmocka_unit_test(test_directory_from_the_environment),
        cmocka_unit_test_setup_teardown(test_skips_what_is_not_a_usable_record, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test(test_cvss3_base_scores),
        cmocka_unit_test_setup_teardown(test_severity_sources, scratch_setup, scratch_teardown),
        cmocka_unit_test(test_node_package_end_to_end),
        cmocka_unit_test(test_python_package_end_to_end),
        cmocka_unit_test(test_match_ignores_what_it_cannot_use),
        cmocka_unit_test(test_concurrent_matches_share_one_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
