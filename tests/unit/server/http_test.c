/* Unit tests for the pure helpers of server/http.h: X-Request-Id validation and generation, and
 * the Content-Type check for JSON bodies. No server is started. */
#include "server/http.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static void test_request_id_accepts_allowed_characters(void **state)
{
    char id[65];
    (void)state;

    assert_true(http_request_id_is_valid("a"));
    assert_true(http_request_id_is_valid("0"));
    assert_true(http_request_id_is_valid("req-1.2_3:4"));
    assert_true(http_request_id_is_valid("ABCxyz019._:-"));
    assert_true(http_request_id_is_valid("0f8fad5b-d9cb-469f-a165-70867728950e"));
    memset(id, 'x', 64);
    id[64] = '\0';
    assert_true(http_request_id_is_valid(id));
}

static void test_request_id_rejects_empty_long_and_null(void **state)
{
    char id[66];
    (void)state;

    assert_false(http_request_id_is_valid(NULL));
    assert_false(http_request_id_is_valid(""));
    memset(id, 'x', 65);
    id[65] = '\0';
    assert_false(http_request_id_is_valid(id));
}

static void test_request_id_rejects_other_characters(void **state)
{
    static const char *const bad[] = {
        "a b", " a",  "a ",  "a\"b", "a'b", "a\nb", "a\rb", "a\tb", "a\\b",        "a/b",
        "a;b", "a,b", "a=b", "a<b",  "a{b", "a%b",  "\x7f", "\x01", "caf\xc3\xa9",
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (http_request_id_is_valid(bad[i]))
            fail_msg("bad id %zu should be rejected", i);
    }
}

static void test_new_request_id_is_32_lowercase_hex(void **state)
{
    char id[40];
    (void)state;

    memset(id, '#', sizeof id);
    http_request_id_new(id);
    assert_int_equal(strlen(id), 32);
    for (size_t i = 0; i < 32; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            fail_msg("'%s' is not lowercase hex", id);
    for (size_t i = 33; i < sizeof id; i++)
        assert_int_equal(id[i], '#');
    assert_true(http_request_id_is_valid(id));
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 33);
}

static void test_thousand_new_request_ids_are_distinct(void **state)
{
    enum { N = 1000 };
    char(*ids)[33] = calloc(N, sizeof *ids);
    (void)state;

    assert_non_null(ids);
    for (size_t i = 0; i < N; i++) {
        http_request_id_new(ids[i]);
        assert_true(http_request_id_is_valid(ids[i]));
    }
    qsort(ids, N, sizeof *ids, cmp_id);
    for (size_t i = 1; i < N; i++)
        if (memcmp(ids[i - 1], ids[i], 33) == 0)
            fail_msg("duplicate id %s", ids[i]);
    free(ids);
}

static void test_new_request_id_halves_differ(void **state)
{
    char id[33];
    unsigned same = 0;
    (void)state;

    /* Both halves come from the generator: identical halves would halve the id's entropy. */
    for (int i = 0; i < 100; i++) {
        http_request_id_new(id);
        if (memcmp(id, id + 16, 16) == 0)
            same++;
    }
    assert_int_equal(same, 0);
}

static void test_json_content_types_are_accepted(void **state)
{
    static const char *const good[] = {
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; charset=utf-8",
        "application/json; charset=\"utf-8\"",
    };
    (void)state;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!http_content_type_is_json(good[i]))
            fail_msg("'%s' should be accepted", good[i]);
    }
}

static void test_other_content_types_are_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "text/plain",
        "application/jsonx",
        "application/json; charset=latin1",
        "application/json; charset=utf-16",
        "application/json-patch+json",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "application/json;",
        "application/json; boundary=x",
        "application/js",
        "text/json",
        "application/json; charset=utf-8; x=y",
        "application/jsonxcharset=utf-8",
        "application/json charset=utf-8",
    };
    (void)state;

    assert_false(http_content_type_is_json(NULL));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (http_content_type_is_json(bad[i]))
            fail_msg("'%s' should be rejected", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_id_accepts_allowed_characters),
        cmocka_unit_test(test_request_id_rejects_empty_long_and_null),
        cmocka_unit_test(test_request_id_rejects_other_characters),
        cmocka_unit_test(test_new_request_id_is_32_lowercase_hex),
        cmocka_unit_test(test_thousand_new_request_ids_are_distinct),
        cmocka_unit_test(test_new_request_id_halves_differ),
        cmocka_unit_test(test_json_content_types_are_accepted),
        cmocka_unit_test(test_other_content_types_are_rejected),
    };

    return cmocka_run_group_tests_name("server/http", tests, NULL, NULL);
}
