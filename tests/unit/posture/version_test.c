/* Unit tests for the versions of posture/deps.h: npm semver precedence (semver.org section 11
 * and node-semver's test fixtures), PEP 440 ordering and normalisation (the orderings of PEP 440
 * and packaging's test suite), and OSV "affected" evaluation (introduced/fixed/last_affected/
 * limit, explicit versions, unparseable events, the first fixed version). */
#include "posture/deps.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int semver(const char *a, const char *b)
{
    int c = 99;
    if (!posture_semver_cmp(a, b, &c))
        fail_msg("semver did not parse %s or %s", a, b);
    return c;
}

static int pep(const char *a, const char *b)
{
    int c = 99;
    if (!posture_pep440_cmp(a, b, &c))
        fail_msg("PEP 440 did not parse %s or %s", a, b);
    return c;
}

/* Each list is strictly increasing: every pair must compare in list order, both ways. */
static void check_ascending(const char *const *v, size_t n, int (*cmp)(const char *, const char *))
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c = cmp(v[i], v[j]);
            int want = i < j ? -1 : i > j;
            if (c != want)
                fail_msg("compare(%s, %s) = %d, want %d", v[i], v[j], c, want);
        }
}

static void test_semver_precedence_follows_the_spec(void **state)
{
    (void)state;
    /* semver.org section 11's example, then numeric versus lexical rules */
    static const char *const v[] = {
        "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1",   "1.0.0",            "1.0.1",      "1.1.0-0",
        "1.1.0",        "1.2.0",         "1.10.0",           "2.0.0-1",    "2.0.0-2",
        "2.0.0-10",     "2.0.0-a",       "2.0.0-a-b",        "2.0.0-b",    "2.0.0",
        "10.0.0",       "18446744073709551615.0.0"};
    check_ascending(v, ARRAY_LEN(v), semver);
}

static void test_semver_ignores_build_and_prefix(void **state)
{
    (void)state;
    assert_int_equal(semver("1.0.0+build.1", "1.0.0+other"), 0);
    assert_int_equal(semver("1.0.0-rc.1+build", "1.0.0-rc.1"), 0);
    assert_int_equal(semver("v1.2.3", "1.2.3"), 0);
    assert_int_equal(semver("=1.2.3", "1.2.3"), 0);
    assert_int_equal(semver("1.0.0-alpha+001", "1.0.0-alpha.0"), -1);
}

static void test_semver_rejects_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"",          "1",        "1.2",         "1.2.3.4",
                                      "01.2.3",    "1.02.3",   "1.2.03",      "1.2.3-",
                                      "1.2.3-01",  "1.2.3-a..b", "1.2.3+",    "1.2.3 ",
                                      "a.b.c",     "1.2.3-a_b", "^1.2.3",     "~1.2.3",
                                      "1.2.x",     "*",        "18446744073709551616.0.0",
                                      "git+https://github.com/x/y.git", "1.2.3+a+b"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (posture_semver_valid(bad[i]))
            fail_msg("%s should not be valid semver", bad[i]);
    assert_true(posture_semver_valid("1.2.3-0a"));
    assert_true(posture_semver_valid("1.2.3-x.7.z.92+exp.sha.5114f85"));
    assert_true(posture_semver_valid("0.0.0"));
}

static void test_pep440_ordering_of_the_spec(void **state)
{
    (void)state;
    /* PEP 440 "Summary of permitted suffixes and relative ordering", extended with local versions
     * and epochs as packaging orders them */
    static const char *const v[] = {
        "1.0.dev456", "1.0a1",         "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
        "1.0b1.dev456", "1.0b2",       "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456",
        "1.0rc1",     "1.0",           "1.0+abc.5",    "1.0+abc.7",     "1.0+5",
        "1.0.post456.dev34", "1.0.post456", "1.0.15",  "1.1.dev1",      "1.1",
        "2!0.1",      "2!1.0"};
    check_ascending(v, ARRAY_LEN(v), pep);
}

static void test_pep440_release_padding_and_spellings_are_equal(void **state)
{
    (void)state;
    static const char *const eq[][2] = {
        {"1.0", "1.0.0"},          {"1", "1.0.0.0"},        {"1.0a", "1.0a0"},
        {"1.0alpha1", "1.0a1"},    {"1.0-a.1", "1.0a1"},    {"1.0beta2", "1.0b2"},
        {"1.0c1", "1.0rc1"},       {"1.0pre1", "1.0rc1"},   {"1.0preview1", "1.0rc1"},
        {"1.0-1", "1.0.post1"},    {"1.0rev1", "1.0.post1"}, {"1.0r1", "1.0.post1"},
        {"1.0.post", "1.0.post0"}, {"1.0-dev", "1.0.dev0"}, {"V1.0", "1.0"},
        {"0!1.0", "1.0"},          {"1.0RC1", "1.0rc1"},    {" 1.0 ", "1.0"},
        {"1.0+ubuntu-1", "1.0+ubuntu.1"}, {"1.0+1", "1.0+01"}, {"1.0_post_1", "1.0.post1"}};
    for (size_t i = 0; i < ARRAY_LEN(eq); i++)
        if (pep(eq[i][0], eq[i][1]) != 0)
            fail_msg("%s should equal %s", eq[i][0], eq[i][1]);
}

static void test_pep440_tricky_pre_and_post_releases(void **state)
{
    (void)state;
    /* a post release of a pre-release still precedes the next pre-release and the release */
    assert_int_equal(pep("1.0rc1.post1", "1.0rc2"), -1);
    assert_int_equal(pep("1.0rc1.post1", "1.0"), -1);
    assert_int_equal(pep("1.0rc1.post1", "1.0rc1"), 1);
    /* a dev release of a post release precedes that post release, follows the release */
    assert_int_equal(pep("1.0.post1.dev1", "1.0.post1"), -1);
    assert_int_equal(pep("1.0.post1.dev1", "1.0"), 1);
    /* a bare dev release precedes every pre-release of the same release */
    assert_int_equal(pep("1.0.dev99", "1.0a0"), -1);
    assert_int_equal(pep("1.0.dev99", "0.9.post9"), 1);
    /* local versions sort after the public version; numeric segments after alphanumeric */
    assert_int_equal(pep("1.0+local", "1.0"), 1);
    assert_int_equal(pep("1.0+abc", "1.0+1"), -1);
    assert_int_equal(pep("1.0+1.1", "1.0+1"), 1);
    assert_int_equal(pep("1.0+9", "1.0+10"), -1);
    /* epochs dominate everything */
    assert_int_equal(pep("1!0.0.dev0", "2020.1"), 1);
    /* big numbers compare numerically */
    assert_int_equal(pep("1.0.10", "1.0.9"), 1);
    assert_int_equal(pep("2023.10.1", "2023.9.30"), 1);
}

static void test_pep440_normalizes(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"1.0RC1", "1.0rc1"},           {"v1.0-post2", "1.0.post2"},  {"1.0.0-alpha.3", "1.0.0a3"},
        {"1!2.0b", "1!2.0b0"},          {"1.0-1", "1.0.post1"},       {"1.0.DEV3", "1.0.dev3"},
        {"1.0+Ubuntu_1-2", "1.0+ubuntu.1.2"}, {"2.0.0.post1.dev2", "2.0.0.post1.dev2"},
        {"00.1", "0.1"}};
    char out[64];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_true(posture_pep440_normalize(cases[i][0], out, sizeof(out)));
        assert_string_equal(out, cases[i][1]);
    }
    assert_false(posture_pep440_normalize("1.0", out, 3));
}

static void test_pep440_rejects_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {"",      "a",        "1.0.",   "1..0",     "1.0+",
                                      "1.0+a..b", "1.0-",  "1.0 a1", "1.0a1a1",  "french toast",
                                      "1.0+local+again", "!1.0", "1.0.x", "==1.0", "1.*",
                                      "18446744073709551616"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (posture_pep440_valid(bad[i]))
            fail_msg("%s should not be a valid PEP 440 version", bad[i]);
    assert_true(posture_pep440_valid("1.0.post1.dev2+abc.1"));
}

/* Properties over a pool of versions: antisymmetry, reflexivity, transitivity, and the
 * normalised form comparing equal to the original; random bytes never crash the parsers. */
static void test_comparisons_are_consistent(void **state)
{
    (void)state;
    static const char *const pep_pool[] = {
        "0", "0.0.1", "1.0.dev0", "1.0a1", "1.0A1.post2", "1.0b1.dev3", "1.0rc1", "1.0",
        "1.0.0", "1.0+local.1", "1.0.post1", "1.0-2", "1.1", "1!0.1", "2.0.0c3", "v2.0",
        "2.0.post1.dev1", "10.0", "1.0.0.0.0.1", "2!1"};
    static const char *const sem_pool[] = {
        "0.0.0", "0.0.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0", "1.0.0-1", "1.0.0-beta.11",
        "1.0.0-beta.2", "1.0.0", "v1.0.0+b", "1.0.1", "1.10.0", "1.2.0", "2.0.0-x-y", "2.0.0"};
    const char *const *pools[] = {pep_pool, sem_pool};
    size_t sizes[] = {ARRAY_LEN(pep_pool), ARRAY_LEN(sem_pool)};
    int (*cmps[])(const char *, const char *) = {pep, semver};

    for (size_t p = 0; p < 2; p++) {
        const char *const *v = pools[p];
        size_t n = sizes[p];
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(cmps[p](v[i], v[i]), 0);
            for (size_t j = 0; j < n; j++) {
                int a = cmps[p](v[i], v[j]), b = cmps[p](v[j], v[i]);
                if (a != -b)
                    fail_msg("%s vs %s: %d and %d", v[i], v[j], a, b);
                for (size_t k = 0; k < n; k++)
                    if (a <= 0 && cmps[p](v[j], v[k]) <= 0 && cmps[p](v[i], v[k]) > 0)
                        fail_msg("not transitive: %s <= %s <= %s", v[i], v[j], v[k]);
            }
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(pep_pool); i++) {
        char norm[64];
        assert_true(posture_pep440_normalize(pep_pool[i], norm, sizeof(norm)));
        assert_int_equal(pep(pep_pool[i], norm), 0);
    }
    uint32_t seed = 99;
    char junk[24];
    for (int round = 0; round < 20000; round++) {
        for (size_t j = 0; j < sizeof(junk) - 1; j++) {
            seed = seed * 1103515245u + 12345u;
            static const char alphabet[] = "0123456789.-+!abcdevrpostlx_ \x01";
            junk[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        junk[(seed >> 8) % sizeof(junk)] = '\0';
        int c;
        char norm[64];
        posture_pep440_cmp(junk, "1.0", &c);
        posture_semver_cmp(junk, "1.0.0", &c);
        if (posture_pep440_normalize(junk, norm, sizeof(norm)))
            assert_int_equal(pep(junk, norm), 0);
    }
}

/* ---- OSV ---- */

static json_t *affected(const char *text)
{
    json_error_t je;
    json_t *a = json_loads(text, 0, &je);
    if (!a)
        fail_msg("bad test JSON: %s", je.text);
    return a;
}

static bool affects(const char *eco, const char *v, json_t *a, const char **fixed)
{
    return posture_osv_affects(eco, v, a, fixed);
}

static void test_osv_introduced_fixed_ranges(void **state)
{
    (void)state;
    /* minimist's GHSA-xvch-5gv4-984h: two ranges in one events list */
    json_t *a = affected("{\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
                         "{\"introduced\":\"0\"},{\"fixed\":\"0.2.4\"},"
                         "{\"introduced\":\"1.0.0\"},{\"fixed\":\"1.2.6\"}]}]}");
    const char *fixed = NULL;
    assert_true(affects("npm", "0.0.8", a, &fixed));
    assert_string_equal(fixed, "0.2.4");
    assert_false(affects("npm", "0.2.4", a, NULL));
    assert_false(affects("npm", "0.9.0", a, NULL));
    assert_true(affects("npm", "1.0.0", a, &fixed));
    assert_string_equal(fixed, "1.2.6");
    assert_true(affects("npm", "1.2.6-beta.1", a, NULL)); /* prerelease of the fix is before it */
    assert_false(affects("npm", "1.2.6", a, NULL));
    assert_false(affects("npm", "1.2.8", a, NULL));
    assert_false(affects("npm", "1.0.0-rc.1", a, NULL)); /* below introduced */
    assert_false(affects("npm", "not-a-version", a, NULL));
    json_decref(a);
}

static void test_osv_events_are_sorted_before_evaluation(void **state)
{
    (void)state;
    json_t *a = affected("{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
                         "{\"fixed\":\"2.0.6\"},{\"introduced\":\"2.0.0\"},"
                         "{\"fixed\":\"1.26.17\"},{\"introduced\":\"0\"}]}]}");
    const char *fixed;
    assert_true(affects("PyPI", "1.26.16", a, &fixed));
    assert_string_equal(fixed, "1.26.17");
    assert_false(affects("PyPI", "1.26.17", a, NULL));
    assert_false(affects("PyPI", "1.26.18", a, NULL));
    assert_true(affects("PyPI", "2.0.0", a, &fixed));
    assert_string_equal(fixed, "2.0.6");
    assert_true(affects("PyPI", "2.0.6rc1", a, NULL));
    assert_false(affects("PyPI", "2.0.6", a, NULL));
    assert_false(affects("PyPI", "2.0.6.post1", a, NULL));
    assert_false(affects("PyPI", "2.0.0rc1", a, NULL)); /* PEP 440: rc1 is below 2.0.0 */
    json_decref(a);
}

static void test_osv_last_affected_and_limit(void **state)
{
    (void)state;
    json_t *a = affected("{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
                         "{\"introduced\":\"5.1\"},{\"last_affected\":\"5.1.2\"}]}]}");
    const char *fixed = "x";
    assert_true(affects("PyPI", "5.1", a, &fixed));
    assert_null(fixed);
    assert_true(affects("PyPI", "5.1.2", a, NULL));
    assert_true(affects("PyPI", "5.1.2+local", a, NULL) == false); /* local sorts above */
    assert_false(affects("PyPI", "5.1.3", a, NULL));
    assert_false(affects("PyPI", "5.0.9", a, NULL));
    json_decref(a);

    a = affected("{\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
                 "{\"introduced\":\"0\"},{\"limit\":\"3.0.0\"}]}]}");
    assert_true(affects("npm", "2.9.9", a, NULL));
    assert_false(affects("npm", "3.0.0", a, NULL));
    json_decref(a);
}

static void test_osv_versions_list_and_unknown_ranges(void **state)
{
    (void)state;
    json_t *a = affected("{\"ranges\":[{\"type\":\"GIT\",\"repo\":\"x\",\"events\":["
                         "{\"introduced\":\"abc\"}]}],\"versions\":[\"0.1.1\",\"1.0rc1\"]}");
    assert_true(affects("npm", "0.1.1", a, NULL));
    assert_false(affects("npm", "0.1.2", a, NULL));
    assert_true(affects("PyPI", "1.0RC1", a, NULL)); /* equal after normalisation */
    assert_false(affects("Maven", "0.1.1", a, NULL));
    json_decref(a);

    /* an event that is not a version of the ecosystem disables its range (no guessing) */
    a = affected("{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
                 "{\"introduced\":\"0\"},{\"fixed\":\"banana\"}]}]}");
    assert_false(affects("npm", "1.0.0", a, NULL));
    json_decref(a);
    a = affected("{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"}]}]}");
    assert_true(affects("npm", "99.0.0", a, NULL)); /* every version: node-serialize */
    assert_false(affects("npm", NULL, a, NULL));
    assert_false(affects("npm", "1.0.0", NULL, NULL));
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semver_precedence_follows_the_spec),
        cmocka_unit_test(test_semver_ignores_build_and_prefix),
        cmocka_unit_test(test_semver_rejects_invalid),
        cmocka_unit_test(test_pep440_ordering_of_the_spec),
        cmocka_unit_test(test_pep440_release_padding_and_spellings_are_equal),
        cmocka_unit_test(test_pep440_tricky_pre_and_post_releases),
        cmocka_unit_test(test_pep440_normalizes),
        cmocka_unit_test(test_pep440_rejects_invalid),
        cmocka_unit_test(test_comparisons_are_consistent),
        cmocka_unit_test(test_osv_introduced_fixed_ranges),
        cmocka_unit_test(test_osv_events_are_sorted_before_evaluation),
        cmocka_unit_test(test_osv_last_affected_and_limit),
        cmocka_unit_test(test_osv_versions_list_and_unknown_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
