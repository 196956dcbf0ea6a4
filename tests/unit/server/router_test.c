/* Unit tests for server/router.h: matching methods and paths against a route table, typed path
 * parameters, the Allow list for 405, pattern validation, and the invariants of the real table
 * in api/routes.c. */
#include "server/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#define UUID_LOWER "0f8fad5b-d9cb-469f-a165-70867728950e"
#define UUID_UPPER "7C9E6679-7425-40DE-944B-E07FC1F90AE7"

static const struct api_route table[] = {
    {.method = "GET", .pattern = "/", .summary = "root"},
    {.method = "GET", .pattern = "/v1/things", .summary = "list"},
    {.method = "POST", .pattern = "/v1/things", .summary = "create"},
    {.method = "GET", .pattern = "/v1/things/{id:uuid}", .summary = "get"},
    {.method = "DELETE", .pattern = "/v1/things/{id:uuid}", .summary = "delete"},
    {.method = "GET", .pattern = "/v1/pages/{n:int}", .summary = "page"},
    {.method = "GET", .pattern = "/v1/tags/{name:str}", .summary = "tag"},
    {.method = "GET", .pattern = "/v1/things/{id:uuid}/pages/{n:int}", .summary = "two params"},
};
#define TABLE_LEN (sizeof table / sizeof table[0])

struct match {
    enum router_result rr;
    int index;
    struct api_param params[API_MAX_PARAMS];
    unsigned nparams;
    char allow[64];
};

static enum router_result match_in(const struct api_route *routes, size_t n, const char *method,
                                   const char *path, struct match *m)
{
    memset(m, 0, sizeof *m);
    m->index = -1;
    m->rr = router_match(routes, n, method, path, &m->index, m->params, &m->nparams, m->allow,
                         sizeof m->allow);
    return m->rr;
}

static enum router_result match(const char *method, const char *path, struct match *m)
{
    return match_in(table, TABLE_LEN, method, path, m);
}

/* The name of parameter i as a NUL-terminated string (names are borrowed, not terminated). */
static const char *param_name(const struct match *m, unsigned i, char *buf, size_t len)
{
    size_t n = m->params[i].name_len < len - 1 ? m->params[i].name_len : len - 1;
    memcpy(buf, m->params[i].name, n);
    buf[n] = '\0';
    return buf;
}

static void test_literal_path_matches_its_route(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/v1/things", &m), ROUTER_FOUND);
    assert_int_equal(m.index, 1);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match("POST", "/v1/things", &m), ROUTER_FOUND);
    assert_int_equal(m.index, 2);
}

static void test_root_matches_only_root(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/", &m), ROUTER_FOUND);
    assert_int_equal(m.index, 0);
    assert_int_equal(match("GET", "//", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "", &m), ROUTER_NOT_FOUND);
}

static void test_method_is_case_sensitive(void **state)
{
    struct match m;
    (void)state;

    assert_int_not_equal(match("get", "/v1/things", &m), ROUTER_FOUND);
}

static void test_uuid_param_accepts_canonical_form_and_copies_it(void **state)
{
    struct match m;
    char name[16];
    (void)state;

    assert_int_equal(match("GET", "/v1/things/" UUID_LOWER, &m), ROUTER_FOUND);
    assert_int_equal(m.index, 3);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(param_name(&m, 0, name, sizeof name), "id");
    assert_string_equal(m.params[0].value, UUID_LOWER);

    assert_int_equal(match("GET", "/v1/things/" UUID_UPPER, &m), ROUTER_FOUND);
    assert_string_equal(m.params[0].value, UUID_UPPER);
}

static void test_uuid_param_rejects_wrong_length_or_non_hex(void **state)
{
    static const char *const bad[] = {
        "/v1/things/0f8fad5b-d9cb-469f-a165-70867728950",   /* 35 characters */
        "/v1/things/0f8fad5b-d9cb-469f-a165-70867728950e0", /* 37 characters */
        "/v1/things/0f8fad5b-d9cb-469f-a165-70867728950g",  /* non-hex */
        "/v1/things/0f8fad5b-d9cb-469f-a165-70867728950 ",  /* space */
        "/v1/things/0f8fad5bd-9cb-469f-a165-70867728950e",  /* dash misplaced */
        "/v1/things/0f8fad5b0d9cb0469f0a165070867728950e",  /* no dashes */
        "/v1/things/{0f8fad5b-d9cb-469f-a165-70867728950e}", "/v1/things/", "/v1/things/x",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (match("GET", bad[i], &m) != ROUTER_NOT_FOUND)
            fail_msg("'%s' should not match (got %d)", bad[i], (int)m.rr);
    }
}

static void test_int_param_accepts_up_to_18_digits(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/v1/pages/0", &m), ROUTER_FOUND);
    assert_string_equal(m.params[0].value, "0");
    assert_int_equal(match("GET", "/v1/pages/123456789012345678", &m), ROUTER_FOUND);
    assert_int_equal(m.index, 5);
    assert_string_equal(m.params[0].value, "123456789012345678");
}

static void test_int_param_rejects_19_digits_signs_and_letters(void **state)
{
    static const char *const bad[] = {
        "/v1/pages/1234567890123456789",
        "/v1/pages/-1",
        "/v1/pages/+1",
        "/v1/pages/1a",
        "/v1/pages/0x10",
        "/v1/pages/1.5",
        "/v1/pages/ 1",
        "/v1/pages/",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (match("GET", bad[i], &m) != ROUTER_NOT_FOUND)
            fail_msg("'%s' should not match (got %d)", bad[i], (int)m.rr);
    }
}

static void test_str_param_accepts_printable_and_utf8(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/v1/tags/hello world", &m), ROUTER_FOUND);
    assert_string_equal(m.params[0].value, "hello world");
    assert_int_equal(match("GET", "/v1/tags/caf\xc3\xa9", &m), ROUTER_FOUND);
    assert_string_equal(m.params[0].value, "caf\xc3\xa9");
}

static void test_str_param_rejects_control_characters(void **state)
{
    static const char *const bad[] = {
        "/v1/tags/a\x01", "/v1/tags/a\nb", "/v1/tags/a\tb",
        "/v1/tags/a\rb",  "/v1/tags/\x7f", "/v1/tags/\x1f",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (match("GET", bad[i], &m) != ROUTER_NOT_FOUND)
            fail_msg("bad path %zu should not match (got %d)", i, (int)m.rr);
    }
}

static void test_str_param_accepts_255_bytes_and_rejects_256(void **state)
{
    char path[300];
    size_t prefix = strlen("/v1/tags/");
    struct match m;
    (void)state;

    memcpy(path, "/v1/tags/", prefix);
    memset(path + prefix, 'x', 255);
    path[prefix + 255] = '\0';
    assert_int_equal(match("GET", path, &m), ROUTER_FOUND);
    assert_int_equal(strlen(m.params[0].value), 255);
    assert_memory_equal(m.params[0].value, path + prefix, 255);

    path[prefix + 255] = 'x';
    path[prefix + 256] = '\0';
    assert_int_equal(match("GET", path, &m), ROUTER_NOT_FOUND);
}

static void test_trailing_slash_does_not_match(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/v1/things/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/pages/7/", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/things/" UUID_LOWER "/", &m), ROUTER_NOT_FOUND);
}

static void test_double_slash_does_not_match(void **state)
{
    static const char *const bad[] = {
        "//v1/things",  "/v1//things", "/v1/things//",
        "/v1/pages//7", "/v1/tags//x", "/v1/things//" UUID_LOWER,
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (match("GET", bad[i], &m) != ROUTER_NOT_FOUND)
            fail_msg("'%s' should not match (got %d)", bad[i], (int)m.rr);
    }
}

static void test_prefix_or_longer_path_does_not_match(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("GET", "/v1", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/thing", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/thingsx", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "/v1/things/x/y", &m), ROUTER_NOT_FOUND);
    assert_int_equal(match("GET", "v1/things", &m), ROUTER_NOT_FOUND);
}

static void test_unknown_path_is_not_found_with_empty_allow(void **state)
{
    struct match m;
    (void)state;

    memset(&m, 0, sizeof m);
    assert_int_equal(match("GET", "/nope", &m), ROUTER_NOT_FOUND);
    assert_int_equal(m.nparams, 0);
    assert_string_equal(m.allow, "");
}

static void test_known_path_with_other_method_lists_allowed_methods(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match("PUT", "/v1/things", &m), ROUTER_METHOD);
    assert_string_equal(m.allow, "GET, POST");
    assert_int_equal(match("POST", "/v1/things/" UUID_LOWER, &m), ROUTER_METHOD);
    assert_string_equal(m.allow, "GET, DELETE");
    assert_int_equal(match("DELETE", "/v1/pages/1", &m), ROUTER_METHOD);
    assert_string_equal(m.allow, "GET");
}

static void test_method_mismatch_with_invalid_param_is_not_found(void **state)
{
    struct match m;
    (void)state;

    /* The path only "exists" when its parameters are valid. */
    assert_int_equal(match("POST", "/v1/pages/abc", &m), ROUTER_NOT_FOUND);
}

static void test_allow_is_truncated_within_its_buffer(void **state)
{
    char buf[16];
    struct api_param params[API_MAX_PARAMS];
    unsigned np = 99;
    int index = -1;
    (void)state;

    for (size_t len = 1; len <= 10; len++) {
        memset(buf, '#', sizeof buf);
        assert_int_equal(
            router_match(table, TABLE_LEN, "PUT", "/v1/things", &index, params, &np, buf, len),
            ROUTER_METHOD);
        assert_true(memchr(buf, '\0', len) != NULL);
        for (size_t i = len; i < sizeof buf; i++)
            assert_int_equal(buf[i], '#');
        assert_memory_equal(buf, "GET, POST", strlen(buf));
    }
}

static void test_two_params_are_returned_in_order(void **state)
{
    struct match m;
    char name[16];
    (void)state;

    assert_int_equal(match("GET", "/v1/things/" UUID_LOWER "/pages/42", &m), ROUTER_FOUND);
    assert_int_equal(m.index, 7);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(param_name(&m, 0, name, sizeof name), "id");
    assert_string_equal(m.params[0].value, UUID_LOWER);
    assert_string_equal(param_name(&m, 1, name, sizeof name), "n");
    assert_string_equal(m.params[1].value, "42");
    assert_int_equal(match("GET", "/v1/things/" UUID_LOWER "/pages/x", &m), ROUTER_NOT_FOUND);
}

static void test_param_values_are_copies_not_pointers_into_the_path(void **state)
{
    char path[64];
    struct match m;
    (void)state;

    snprintf(path, sizeof path, "/v1/tags/%s", "original");
    assert_int_equal(match("GET", path, &m), ROUTER_FOUND);
    memset(path, 'z', strlen(path));
    assert_string_equal(m.params[0].value, "original");
}

static void test_empty_table_finds_nothing(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match_in(table, 0, "GET", "/", &m), ROUTER_NOT_FOUND);
}

static void test_value_validator_matches_the_types(void **state)
{
    char long_str[257];
    (void)state;

    memset(long_str, 'x', sizeof long_str);
    assert_true(router_value_is_valid(API_P_STR, long_str, 255));
    assert_false(router_value_is_valid(API_P_STR, long_str, 256));
    assert_false(router_value_is_valid(API_P_STR, long_str, 257));

    assert_true(router_value_is_valid(API_P_UUID, UUID_LOWER, 36));
    assert_false(router_value_is_valid(API_P_UUID, UUID_LOWER, 35));
    assert_true(router_value_is_valid(API_P_INT, "007", 3));
    assert_false(router_value_is_valid(API_P_INT, "", 0));
    assert_true(router_value_is_valid(API_P_STR, "a b", 3));
    assert_false(router_value_is_valid(API_P_STR, "", 0));
    /* The length bounds the check: bytes beyond it are not looked at. */
    assert_true(router_value_is_valid(API_P_INT, "12x", 2));
    assert_false(router_value_is_valid((enum api_ptype)0, "1", 1));
    assert_false(router_value_is_valid((enum api_ptype)99, "1", 1));
}

static void test_well_formed_patterns_are_valid(void **state)
{
    static const char *const good[] = {
        "/",
        "/healthz",
        "/v1/openapi.json",
        "/v1/things/{id:uuid}",
        "/v1/pages/{n:int}",
        "/v1/tags/{name:str}",
        "/v1/a/{a:uuid}/b/{b:int}/c/{c:str}/d/{d:int}",
    };
    (void)state;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!router_pattern_is_valid(good[i]))
            fail_msg("'%s' should be valid", good[i]);
    }
}

static void test_malformed_patterns_are_invalid(void **state)
{
    static const char *const bad[] = {
        "",           "healthz",
        "//",         "/a/",
        "/a//b",      "//a",
        "/{id}",      "/{id:}",
        "/{:int}",    "/{id:float}",
        "/{id:UUID}", "/{id:int",
        "/id:int}",   "/a{id:int}",
        "/{id:int}b", "/a}",
        "/{}",        "/a/{a:int}/{b:int}/{c:int}/{d:int}/{e:int}", /* more than API_MAX_PARAMS */
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (router_pattern_is_valid(bad[i]))
            fail_msg("'%s' should be invalid", bad[i]);
    }
}

static void test_real_table_routes_the_health_endpoints(void **state)
{
    struct match m;
    (void)state;

    assert_int_equal(match_in(api_routes, api_routes_count, "GET", "/healthz", &m), ROUTER_FOUND);
    assert_true(m.index >= 0 && (size_t)m.index < api_routes_count);
    assert_string_equal(api_routes[m.index].pattern, "/healthz");
    assert_string_equal(api_routes[m.index].method, "GET");

    assert_int_equal(match_in(api_routes, api_routes_count, "GET", "/v1/openapi.json", &m),
                     ROUTER_FOUND);
    assert_string_equal(api_routes[m.index].pattern, "/v1/openapi.json");

    assert_int_equal(match_in(api_routes, api_routes_count, "POST", "/healthz", &m), ROUTER_METHOD);
    assert_string_equal(m.allow, "GET");
    assert_int_equal(match_in(api_routes, api_routes_count, "GET", "/healthz/", &m),
                     ROUTER_NOT_FOUND);
    assert_int_equal(match_in(api_routes, api_routes_count, "GET", "/no/such/path", &m),
                     ROUTER_NOT_FOUND);
}

static void test_every_real_route_is_well_formed(void **state)
{
    (void)state;

    assert_true(api_routes_count > 0);
    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *r = &api_routes[i];
        assert_non_null(r->method);
        assert_non_null(r->pattern);
        if (!router_pattern_is_valid(r->pattern))
            fail_msg("route %zu: invalid pattern '%s'", i, r->pattern);
        if (r->handler == NULL)
            fail_msg("route %zu (%s %s): no handler", i, r->method, r->pattern);
        if (r->summary == NULL || r->summary[0] == '\0')
            fail_msg("route %zu (%s %s): no summary", i, r->method, r->pattern);
        if (strchr(r->summary, '\n') != NULL)
            fail_msg("route %zu (%s %s): summary is not one line", i, r->method, r->pattern);
        for (const char *c = r->method; *c != '\0'; c++)
            if (*c < 'A' || *c > 'Z')
                fail_msg("route %zu: method '%s' is not upper-case", i, r->method);
    }
}

static void test_real_routes_are_unique_by_method_and_pattern(void **state)
{
    (void)state;

    for (size_t i = 0; i < api_routes_count; i++)
        for (size_t j = i + 1; j < api_routes_count; j++)
            if (strcmp(api_routes[i].method, api_routes[j].method) == 0 &&
                strcmp(api_routes[i].pattern, api_routes[j].pattern) == 0)
                fail_msg("routes %zu and %zu are both %s %s", i, j, api_routes[i].method,
                         api_routes[i].pattern);
}

static void test_every_real_literal_route_matches_itself(void **state)
{
    struct match m;
    (void)state;

    /* A route that could never be reached (shadowed by an earlier one) would fail here. */
    for (size_t i = 0; i < api_routes_count; i++) {
        if (strchr(api_routes[i].pattern, '{') != NULL)
            continue;
        assert_int_equal(
            match_in(api_routes, api_routes_count, api_routes[i].method, api_routes[i].pattern, &m),
            ROUTER_FOUND);
        assert_int_equal(m.index, (int)i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_path_matches_its_route),
        cmocka_unit_test(test_root_matches_only_root),
        cmocka_unit_test(test_method_is_case_sensitive),
        cmocka_unit_test(test_uuid_param_accepts_canonical_form_and_copies_it),
        cmocka_unit_test(test_uuid_param_rejects_wrong_length_or_non_hex),
        cmocka_unit_test(test_int_param_accepts_up_to_18_digits),
        cmocka_unit_test(test_int_param_rejects_19_digits_signs_and_letters),
        cmocka_unit_test(test_str_param_accepts_printable_and_utf8),
        cmocka_unit_test(test_str_param_rejects_control_characters),
        cmocka_unit_test(test_str_param_accepts_255_bytes_and_rejects_256),
        cmocka_unit_test(test_trailing_slash_does_not_match),
        cmocka_unit_test(test_double_slash_does_not_match),
        cmocka_unit_test(test_prefix_or_longer_path_does_not_match),
        cmocka_unit_test(test_unknown_path_is_not_found_with_empty_allow),
        cmocka_unit_test(test_known_path_with_other_method_lists_allowed_methods),
        cmocka_unit_test(test_method_mismatch_with_invalid_param_is_not_found),
        cmocka_unit_test(test_allow_is_truncated_within_its_buffer),
        cmocka_unit_test(test_two_params_are_returned_in_order),
        cmocka_unit_test(test_param_values_are_copies_not_pointers_into_the_path),
        cmocka_unit_test(test_empty_table_finds_nothing),
        cmocka_unit_test(test_value_validator_matches_the_types),
        cmocka_unit_test(test_well_formed_patterns_are_valid),
        cmocka_unit_test(test_malformed_patterns_are_invalid),
        cmocka_unit_test(test_real_table_routes_the_health_endpoints),
        cmocka_unit_test(test_every_real_route_is_well_formed),
        cmocka_unit_test(test_real_routes_are_unique_by_method_and_pattern),
        cmocka_unit_test(test_every_real_literal_route_matches_itself),
    };

    return cmocka_run_group_tests_name("server/router", tests, NULL, NULL);
}
