/* Unit tests for the RFC 9457 problem documents of api/problem.c: the status table is complete
 * and right, the document carries every member, and err_name() is total. */
#include "api/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static void test_every_error_code_maps_to_a_4xx_or_5xx(void **state)
{
    (void)state;

    for (int c = ERR_NOMEM; c < ERR__COUNT; c++) {
        unsigned s = api_problem_status((enum err_code)c);
        if (s < 400 || s > 599)
            fail_msg("%s maps to %u", err_name((enum err_code)c), s);
    }
}

static void test_error_codes_map_to_their_documented_status(void **state)
{
    static const struct {
        enum err_code code;
        unsigned status;
    } want[] = {
        {ERR_INVALID, 400},      {ERR_UNAUTHENTICATED, 401}, {ERR_FORBIDDEN, 403},
        {ERR_NOT_FOUND, 404},    {ERR_METHOD, 405},          {ERR_CONFLICT, 409},
        {ERR_TOO_LARGE, 413},    {ERR_MEDIA_TYPE, 415},      {ERR_UNPROCESSABLE, 422},
        {ERR_RATE_LIMITED, 429}, {ERR_UNAVAILABLE, 503},     {ERR_INTERNAL, 500},
        {ERR_UPSTREAM, 502},
    };
    (void)state;

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (api_problem_status(want[i].code) != want[i].status)
            fail_msg("%s: got %u, want %u", err_name(want[i].code),
                     api_problem_status(want[i].code), want[i].status);
    }
}

static void test_out_of_range_code_maps_to_a_5xx(void **state)
{
    (void)state;

    assert_int_equal(api_problem_status(ERR__COUNT), 500);
    assert_int_equal(api_problem_status((enum err_code)1000), 500);
}

static const char *str_member(const json_t *doc, const char *key)
{
    const json_t *v = json_object_get(doc, key);
    if (!json_is_string(v))
        fail_msg("'%s' is missing or not a string", key);
    return json_string_value(v);
}

static void test_problem_has_every_member(void **state)
{
    struct err err;
    json_t *doc;
    (void)state;

    err_set(&err, ERR_NOT_FOUND, "no such finding");
    doc = api_problem_json(&err, "/v1/findings/1", "req-123");
    assert_non_null(doc);
    assert_int_equal(strncmp(str_member(doc, "type"), "https://", 8), 0);
    assert_true(str_member(doc, "title")[0] != '\0');
    assert_true(json_is_integer(json_object_get(doc, "status")));
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 404);
    assert_string_equal(str_member(doc, "detail"), "no such finding");
    assert_string_equal(str_member(doc, "instance"), "/v1/findings/1");
    assert_string_equal(str_member(doc, "request_id"), "req-123");
    assert_null(json_object_get(doc, "errors"));
    json_decref(doc);
}

static void test_problem_for_every_code_is_complete_and_consistent(void **state)
{
    char *types[ERR__COUNT] = {NULL};
    (void)state;

    for (int c = ERR_NOMEM; c < ERR__COUNT; c++) {
        struct err err;
        json_t *doc;
        const char *type;

        err_set(&err, (enum err_code)c, "detail %d", c);
        doc = api_problem_json(&err, "/x", "r");
        if (doc == NULL)
            fail_msg("%s: no document", err_name((enum err_code)c));
        type = str_member(doc, "type");
        if (strncmp(type, "https://", 8) != 0 || strlen(type) <= 8)
            fail_msg("%s: type '%s' is not an https URI", err_name((enum err_code)c), type);
        if (str_member(doc, "title")[0] == '\0')
            fail_msg("%s: empty title", err_name((enum err_code)c));
        if (json_integer_value(json_object_get(doc, "status")) !=
            (json_int_t)api_problem_status((enum err_code)c))
            fail_msg("%s: status differs from api_problem_status", err_name((enum err_code)c));
        /* Distinct codes are distinct problem types. */
        types[c] = strdup(type);
        for (int d = ERR_NOMEM; d < c; d++)
            if (strcmp(types[d], type) == 0)
                fail_msg("%s and %s share type %s", err_name((enum err_code)d),
                         err_name((enum err_code)c), type);
        json_decref(doc);
    }
    for (int c = ERR_NOMEM; c < ERR__COUNT; c++)
        free(types[c]);
}

static void test_field_error_adds_errors_array(void **state)
{
    struct err err;
    json_t *doc;
    json_t *errors;
    json_t *item;
    (void)state;

    err_set_field(&err, ERR_INVALID, "name", "'name' is required");
    doc = api_problem_json(&err, "/v1/things", "r1");
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 400);
    errors = json_object_get(doc, "errors");
    assert_true(json_is_array(errors));
    assert_int_equal(json_array_size(errors), 1);
    item = json_array_get(errors, 0);
    assert_true(json_is_object(item));
    assert_string_equal(str_member(item, "field"), "name");
    assert_string_equal(str_member(item, "message"), "'name' is required");
    assert_int_equal(json_object_size(item), 2);
    json_decref(doc);
}

static void test_empty_detail_falls_back_to_a_non_empty_one(void **state)
{
    struct err err;
    json_t *doc;
    (void)state;

    err_clear(&err);
    err.code = ERR_CONFLICT;
    doc = api_problem_json(&err, "/x", "r");
    assert_non_null(doc);
    assert_true(str_member(doc, "detail")[0] != '\0');
    assert_null(json_object_get(doc, "errors"));
    json_decref(doc);
}

static void test_absent_instance_and_request_id_are_omitted(void **state)
{
    struct err err;
    json_t *doc;
    (void)state;

    err_set(&err, ERR_INTERNAL, "boom");
    doc = api_problem_json(&err, NULL, NULL);
    assert_non_null(doc);
    assert_null(json_object_get(doc, "instance"));
    assert_null(json_object_get(doc, "request_id"));
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 500);
    json_decref(doc);
    doc = api_problem_json(&err, "/x", "");
    assert_non_null(doc);
    assert_null(json_object_get(doc, "request_id"));
    json_decref(doc);
}

static void test_out_of_range_code_gives_an_internal_problem(void **state)
{
    struct err err;
    json_t *doc;
    (void)state;

    err_set(&err, ERR_INTERNAL, "x");
    err.code = (enum err_code)77;
    doc = api_problem_json(&err, "/x", "r");
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 500);
    assert_int_equal(strncmp(str_member(doc, "type"), "https://", 8), 0);
    json_decref(doc);
}

static void test_problem_serialises_client_text_safely(void **state)
{
    struct err err;
    json_t *doc;
    json_t *back;
    char *text;
    (void)state;

    err_set_field(&err, ERR_INVALID, "a\"b", "quote \" backslash \\ newline \n end");
    doc = api_problem_json(&err, "/x?\"", "r");
    assert_non_null(doc);
    text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(text);
    back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(back);
    assert_string_equal(str_member(back, "detail"), "quote \" backslash \\ newline \n end");
    assert_true(json_equal(doc, back));
    json_decref(back);
    free(text);
    json_decref(doc);
}

static void test_err_name_is_never_null(void **state)
{
    (void)state;

    for (int c = ERR_OK; c < ERR__COUNT; c++) {
        const char *n = err_name((enum err_code)c);
        assert_non_null(n);
        if (n[0] == '\0' || strcmp(n, "unknown") == 0)
            fail_msg("code %d has no name", c);
        for (int d = ERR_OK; d < c; d++)
            if (strcmp(err_name((enum err_code)d), n) == 0)
                fail_msg("codes %d and %d share the name %s", d, c, n);
    }
    assert_non_null(err_name(ERR__COUNT));
    assert_non_null(err_name((enum err_code)1000));
    assert_non_null(err_name((enum err_code)(-1)));
    assert_string_equal(err_name(ERR_NOT_FOUND), "not_found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_code_maps_to_a_4xx_or_5xx),
        cmocka_unit_test(test_error_codes_map_to_their_documented_status),
        cmocka_unit_test(test_out_of_range_code_maps_to_a_5xx),
        cmocka_unit_test(test_problem_has_every_member),
        cmocka_unit_test(test_problem_for_every_code_is_complete_and_consistent),
        cmocka_unit_test(test_field_error_adds_errors_array),
        cmocka_unit_test(test_empty_detail_falls_back_to_a_non_empty_one),
        cmocka_unit_test(test_absent_instance_and_request_id_are_omitted),
        cmocka_unit_test(test_out_of_range_code_gives_an_internal_problem),
        cmocka_unit_test(test_problem_serialises_client_text_safely),
        cmocka_unit_test(test_err_name_is_never_null),
    };

    return cmocka_run_group_tests_name("api/problem", tests, NULL, NULL);
}
