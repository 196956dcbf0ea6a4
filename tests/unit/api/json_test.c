/* Unit tests for the strict JSON body parser (api_json_parse) and the declared-field check
 * (api_json_check) of api/api.h. */
#include "api/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses text[len] expecting ERR_INVALID: *out must be NULL and detail non-empty. */
static void expect_invalid_n(const char *text, size_t len)
{
    json_t *sentinel = json_object();
    json_t *out = sentinel;
    struct err err;

    err_clear(&err);
    assert_non_null(sentinel);
    if (api_json_parse(text, len, &out, &err) != ERR_INVALID)
        fail_msg("input of %zu bytes should be ERR_INVALID", len);
    assert_int_equal(err.code, ERR_INVALID);
    assert_null(out);
    assert_true(err.detail[0] != '\0');
    json_decref(sentinel);
}

static void expect_invalid(const char *text)
{
    expect_invalid_n(text, strlen(text));
}

/* Parses text expecting an object; returns it (caller decrefs). */
static json_t *expect_ok(const char *text)
{
    json_t *out = NULL;
    struct err err;

    err_clear(&err);
    if (api_json_parse(text, strlen(text), &out, &err) != ERR_OK)
        fail_msg("should parse: %s", err.detail);
    assert_non_null(out);
    assert_true(json_is_object(out));
    return out;
}

/* '{"a":' + '[' * (depth - 1) + ']' * (depth - 1) + '}': nesting of exactly depth. */
static char *nested(unsigned depth)
{
    size_t inner = depth - 1;
    char *s = malloc(2 * inner + 8);
    size_t p = 0;

    assert_non_null(s);
    memcpy(s + p, "{\"a\":", 5);
    p += 5;
    memset(s + p, '[', inner);
    p += inner;
    memset(s + p, ']', inner);
    p += inner;
    s[p++] = '}';
    s[p] = '\0';
    return s;
}

static bool utf8_is_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != '\0') {
        size_t n;
        if (*p < 0x80)
            n = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
            n = 1;
        else if ((*p & 0xF0) == 0xE0)
            n = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
            n = 3;
        else
            return false;
        p++;
        for (size_t i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static void test_valid_object_is_accepted(void **state)
{
    json_t *v = expect_ok("{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":\"caf\xc3\xa9\"}}");
    (void)state;

    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "c"), "d")),
                        "caf\xc3\xa9");
    json_decref(v);
}

static void test_empty_object_with_whitespace_is_accepted(void **state)
{
    (void)state;

    json_decref(expect_ok(" \n{ }\t\r\n"));
}

static void test_only_len_bytes_are_read(void **state)
{
    static const char text[] = "{\"a\":1}GARBAGE";
    json_t *out = NULL;
    struct err err;
    (void)state;

    assert_int_equal(api_json_parse(text, 7, &out, &err), ERR_OK);
    assert_non_null(out);
    json_decref(out);
}

static void test_truncated_json_is_rejected(void **state)
{
    (void)state;

    expect_invalid("{\"a\":");
    expect_invalid("{\"a\":1");
    expect_invalid("{\"a\":\"b");
    expect_invalid("{");
}

static void test_trailing_garbage_is_rejected(void **state)
{
    (void)state;

    expect_invalid("{}x");
    expect_invalid("{}{}");
    expect_invalid("{} 1");
}

static void test_invalid_utf8_is_rejected(void **state)
{
    (void)state;

    expect_invalid("{\"a\":\"\xff\"}");
    expect_invalid("{\"a\":\"\xc3\"}");         /* truncated sequence */
    expect_invalid("{\"a\":\"\xc0\xaf\"}");     /* overlong '/' */
    expect_invalid("{\"a\":\"\xed\xa0\x80\"}"); /* UTF-16 surrogate */
    expect_invalid("{\"\xff\":1}");             /* in a key */
}

static void test_nul_escape_is_rejected(void **state)
{
    (void)state;

    expect_invalid("{\"a\":\"x\\u0000y\"}");
    expect_invalid("{\"a\\u0000\":1}");
}

static void test_raw_nul_byte_is_rejected(void **state)
{
    static const char in_string[] = "{\"a\":\"b\0c\"}";
    static const char after[] = "{\"a\":1}\0";
    static const char between[] = "{\"a\":1,\0\"b\":2}";
    (void)state;

    expect_invalid_n(in_string, sizeof in_string - 1);
    expect_invalid_n(after, sizeof after - 1);
    expect_invalid_n(between, sizeof between - 1);
}

static void test_duplicate_keys_are_rejected(void **state)
{
    (void)state;

    expect_invalid("{\"a\":1,\"a\":2}");
    expect_invalid("{\"o\":{\"k\":1,\"k\":1}}");
}

static void test_non_objects_are_rejected(void **state)
{
    (void)state;

    expect_invalid("[]");
    expect_invalid("[{}]");
    expect_invalid("\"text\"");
    expect_invalid("42");
    expect_invalid("null");
    expect_invalid("true");
}

static void test_empty_body_is_rejected(void **state)
{
    (void)state;

    expect_invalid_n("", 0);
    expect_invalid_n(NULL, 0);
    expect_invalid("   ");
}

static void test_ten_thousand_deep_nesting_is_rejected(void **state)
{
    size_t n = 10000;
    char *s = malloc(n + 1);
    char *o = malloc(2 * n + 8);
    (void)state;

    assert_non_null(s);
    memset(s, '[', n);
    s[n] = '\0';
    expect_invalid(s);
    /* Balanced, inside an object, so only the depth is wrong. */
    free(s);
    assert_non_null(o);
    memcpy(o, "{\"a\":", 5);
    memset(o + 5, '[', n);
    memset(o + 5 + n, ']', n);
    memcpy(o + 5 + 2 * n, "}", 2);
    expect_invalid(o);
    free(o);
}

static void test_nesting_at_max_depth_is_accepted(void **state)
{
    char *s = nested(API_JSON_MAX_DEPTH);
    (void)state;

    json_decref(expect_ok(s));
    free(s);
}

static void test_nesting_one_deeper_than_max_is_rejected(void **state)
{
    char *s = nested(API_JSON_MAX_DEPTH + 1);
    (void)state;

    expect_invalid(s);
    free(s);
}

static void test_nested_objects_count_toward_depth(void **state)
{
    char s[1024];
    size_t p = 0;
    (void)state;

    /* {"a":{"a":...{}...}} with API_JSON_MAX_DEPTH + 1 objects. */
    for (int i = 0; i < API_JSON_MAX_DEPTH; i++) {
        memcpy(s + p, "{\"a\":", 5);
        p += 5;
    }
    s[p++] = '{';
    for (int i = 0; i <= API_JSON_MAX_DEPTH; i++)
        s[p++] = '}';
    s[p] = '\0';
    expect_invalid(s);
}

static void test_brackets_inside_strings_do_not_count_toward_depth(void **state)
{
    char s[512];
    size_t p = 0;
    json_t *v;
    (void)state;

    memcpy(s, "{\"a\":\"", 6);
    p = 6;
    memset(s + p, '[', 100);
    p += 100;
    memset(s + p, '{', 100);
    p += 100;
    snprintf(s + p, sizeof s - p, "%s", "\",\"b\":[[\"]]]]]]\"]]}");
    v = expect_ok(s);
    assert_int_equal(strlen(json_string_value(json_object_get(v, "a"))), 200);
    json_decref(v);
}

static void test_escaped_quote_does_not_end_a_string(void **state)
{
    char s[256];
    size_t p;
    json_t *v;
    (void)state;

    /* {"a":"\"[[[...40"}: the brackets are still inside the string. */
    memcpy(s, "{\"a\":\"\\\"", 8);
    p = 8;
    memset(s + p, '[', 40);
    p += 40;
    snprintf(s + p, sizeof s - p, "%s", "\"}");
    v = expect_ok(s);
    assert_int_equal(strlen(json_string_value(json_object_get(v, "a"))), 41);
    json_decref(v);
}

static void test_escaped_backslash_ends_string_before_deep_nesting(void **state)
{
    char s[256];
    size_t p;
    unsigned deep = API_JSON_MAX_DEPTH + 1;
    (void)state;

    /* "\\" is a complete escape: the quote after it closes the string, so the nesting after it
     * counts and is too deep. */
    memcpy(s, "{\"a\":\"\\\\\",\"b\":", 15);
    p = 15;
    memset(s + p, '[', deep - 1);
    p += deep - 1;
    memset(s + p, ']', deep - 1);
    p += deep - 1;
    s[p++] = '}';
    s[p] = '\0';
    expect_invalid(s);
}

static const struct api_field fields[] = {
    {"name", API_F_STRING, true, 8},   {"count", API_F_INT, false, 0},
    {"enabled", API_F_BOOL, false, 0}, {"tags", API_F_ARRAY, false, 3},
    {"meta", API_F_OBJECT, false, 0},  {"ratio", API_F_NUMBER, false, 0},
    {NULL, API_F_STRING, false, 0},
};

/* Parses text (must be valid) and checks it against fields. */
static enum err_code check(const char *text, struct err *err)
{
    json_t *obj = NULL;
    enum err_code rc;

    err_clear(err);
    if (api_json_parse(text, strlen(text), &obj, err) != ERR_OK)
        fail_msg("test input does not parse: %s", err->detail);
    rc = api_json_check(obj, fields, err);
    json_decref(obj);
    return rc;
}

static void expect_rejected_naming(const char *text, const char *field)
{
    struct err err;

    if (check(text, &err) != ERR_INVALID)
        fail_msg("should be rejected: %s", text);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.detail, field));
}

static void test_all_good_fields_are_accepted(void **state)
{
    struct err err;
    (void)state;

    assert_int_equal(check("{\"name\":\"n\"}", &err), ERR_OK);
    assert_int_equal(check("{\"name\":\"12345678\",\"count\":-3,\"enabled\":false,"
                           "\"tags\":[1,2,3],\"meta\":{\"x\":1},\"ratio\":0.5}",
                           &err),
                     ERR_OK);
    assert_int_equal(check("{\"name\":\"n\",\"ratio\":2}", &err), ERR_OK);
}

static void test_unknown_field_is_rejected_with_its_name(void **state)
{
    (void)state;

    expect_rejected_naming("{\"name\":\"n\",\"extra\":1}", "extra");
    expect_rejected_naming("{\"Name\":\"n\"}", "Name");
}

static void test_wrong_type_is_rejected_naming_the_field(void **state)
{
    (void)state;

    expect_rejected_naming("{\"name\":5}", "name");
    expect_rejected_naming("{\"name\":null}", "name");
    expect_rejected_naming("{\"name\":\"n\",\"count\":1.5}", "count");
    expect_rejected_naming("{\"name\":\"n\",\"count\":\"1\"}", "count");
    expect_rejected_naming("{\"name\":\"n\",\"enabled\":1}", "enabled");
    expect_rejected_naming("{\"name\":\"n\",\"tags\":{}}", "tags");
    expect_rejected_naming("{\"name\":\"n\",\"meta\":[]}", "meta");
    expect_rejected_naming("{\"name\":\"n\",\"ratio\":\"0.5\"}", "ratio");
}

static void test_missing_required_field_is_rejected(void **state)
{
    (void)state;

    expect_rejected_naming("{}", "name");
    expect_rejected_naming("{\"count\":1}", "name");
}

static void test_string_over_max_len_is_rejected(void **state)
{
    struct err err;
    (void)state;

    expect_rejected_naming("{\"name\":\"123456789\"}", "name");
    /* max_len counts bytes: four 2-byte characters fit in 8, five do not. */
    assert_int_equal(check("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", &err), ERR_OK);
    expect_rejected_naming("{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", "name");
}

static void test_array_over_max_len_is_rejected(void **state)
{
    (void)state;

    expect_rejected_naming("{\"name\":\"n\",\"tags\":[1,2,3,4]}", "tags");
}

/* The unknown key echoed in err.field is a bounded, valid UTF-8 prefix of the real key. */
static void expect_truncated_echo(const char *key)
{
    char text[1024];
    struct err err;
    size_t n;

    snprintf(text, sizeof text, "{\"%s\":1}", key);
    assert_int_equal(check(text, &err), ERR_INVALID);
    n = strlen(err.field);
    assert_true(n > 0);
    assert_true(n < 64);
    assert_memory_equal(err.field, key, n);
    assert_true(utf8_is_valid(err.field));
    assert_true(utf8_is_valid(err.detail));
}

static void test_long_unknown_key_is_echoed_truncated(void **state)
{
    char key[512];
    (void)state;

    memset(key, 'k', 300);
    key[300] = '\0';
    expect_truncated_echo(key);
}

static void test_long_multibyte_unknown_key_is_cut_at_a_character(void **state)
{
    char key[512];
    size_t p = 0;
    (void)state;

    for (int i = 0; i < 100; i++) { /* 'é' */
        key[p++] = (char)0xC3;
        key[p++] = (char)0xA9;
    }
    key[p] = '\0';
    expect_truncated_echo(key);

    /* 3-byte characters after one ASCII byte, so a cut at 60 lands inside one. */
    p = 0;
    key[p++] = 'a';
    for (int i = 0; i < 100; i++) { /* '€' */
        key[p++] = (char)0xE2;
        key[p++] = (char)0x82;
        key[p++] = (char)0xAC;
    }
    key[p] = '\0';
    expect_truncated_echo(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_object_is_accepted),
        cmocka_unit_test(test_empty_object_with_whitespace_is_accepted),
        cmocka_unit_test(test_only_len_bytes_are_read),
        cmocka_unit_test(test_truncated_json_is_rejected),
        cmocka_unit_test(test_trailing_garbage_is_rejected),
        cmocka_unit_test(test_invalid_utf8_is_rejected),
        cmocka_unit_test(test_nul_escape_is_rejected),
        cmocka_unit_test(test_raw_nul_byte_is_rejected),
        cmocka_unit_test(test_duplicate_keys_are_rejected),
        cmocka_unit_test(test_non_objects_are_rejected),
        cmocka_unit_test(test_empty_body_is_rejected),
        cmocka_unit_test(test_ten_thousand_deep_nesting_is_rejected),
        cmocka_unit_test(test_nesting_at_max_depth_is_accepted),
        cmocka_unit_test(test_nesting_one_deeper_than_max_is_rejected),
        cmocka_unit_test(test_nested_objects_count_toward_depth),
        cmocka_unit_test(test_brackets_inside_strings_do_not_count_toward_depth),
        cmocka_unit_test(test_escaped_quote_does_not_end_a_string),
        cmocka_unit_test(test_escaped_backslash_ends_string_before_deep_nesting),
        cmocka_unit_test(test_all_good_fields_are_accepted),
        cmocka_unit_test(test_unknown_field_is_rejected_with_its_name),
        cmocka_unit_test(test_wrong_type_is_rejected_naming_the_field),
        cmocka_unit_test(test_missing_required_field_is_rejected),
        cmocka_unit_test(test_string_over_max_len_is_rejected),
        cmocka_unit_test(test_array_over_max_len_is_rejected),
        cmocka_unit_test(test_long_unknown_key_is_echoed_truncated),
        cmocka_unit_test(test_long_multibyte_unknown_key_is_cut_at_a_character),
    };

    return cmocka_run_group_tests_name("api/json", tests, NULL, NULL);
}
