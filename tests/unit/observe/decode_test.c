/* Unit tests for ingest decoding (observe/decode.c, observe/firehose.c, obs_event_check):
 * bounded gzip, strict base64, batch splitting, Lambda log request ids, time formatting and
 * per-event validation. */
#include "observe/observe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned char *gz(const void *data, size_t len, size_t *outlen)
{
    z_stream z;
    size_t cap = compressBound((uLong)len) + 64;
    unsigned char *out = malloc(cap);
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static void test_inflate_is_bounded_and_strict(void **state)
{
    const char *text = "{\"events\":[{\"a\":1}]}";
    size_t zl = 0, n = 0;
    unsigned char *z = gz(text, strlen(text), &zl);
    char *out = NULL, *zeros;
    struct err e;
    (void)state;

    assert_int_equal(obs_inflate(z, zl, 1024, &out, &n, &e), ERR_OK);
    assert_int_equal(n, strlen(text));
    assert_string_equal(out, text);
    free(out);
    /* An exact fit is fine; one byte less is too large. */
    assert_int_equal(obs_inflate(z, zl, strlen(text), &out, &n, &e), ERR_OK);
    free(out);
    assert_int_equal(obs_inflate(z, zl, strlen(text) - 1, &out, &n, &e), ERR_TOO_LARGE);
    assert_null(out);
    /* Truncated and corrupt. */
    assert_int_equal(obs_inflate(z, zl - 6, 1024, &out, &n, &e), ERR_INVALID);
    z[zl / 2] ^= 0xff;
    assert_int_equal(obs_inflate(z, zl, 1024, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_inflate("not gzip at all", 15, 1024, &out, &n, &e), ERR_INVALID);
    free(z);
    /* A bomb stops at the cap, not at its size. */
    zeros = calloc(1, (size_t)32 << 20);
    z = gz(zeros, (size_t)32 << 20, &zl);
    free(zeros);
    assert_int_equal(obs_inflate(z, zl, (size_t)1 << 20, &out, &n, &e), ERR_TOO_LARGE);
    assert_null(out);
    free(z);
}

static void test_base64_is_strict(void **state)
{
    unsigned char *out = NULL;
    size_t n = 0;
    struct err e;
    (void)state;

    assert_int_equal(obs_base64_strict("aGVsbG8=", 8, 100, &out, &n, &e), ERR_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(obs_base64_strict("aGVsbG8gd29ybGQ=", 16, 100, &out, &n, &e), ERR_OK);
    free(out);
    assert_int_equal(obs_base64_strict("", 0, 100, &out, &n, &e), ERR_OK);
    assert_int_equal(n, 0);
    free(out);
    assert_int_equal(obs_base64_strict("aGVsbG8", 7, 100, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_base64_strict("aGV$bG8=", 8, 100, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_base64_strict("aG=sbG8=", 8, 100, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_base64_strict("ab=c", 4, 100, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_base64_strict("aGVs bG8", 8, 100, &out, &n, &e), ERR_INVALID);
    assert_int_equal(obs_base64_strict("aGVsbG8=", 8, 4, &out, &n, &e), ERR_TOO_LARGE);
}

static void test_batches_split_into_candidates(void **state)
{
    json_t *events = NULL, *rej = json_array();
    struct err e;
    const char *nd = "{\"a\":1}\n\n  {\"b\":2}\r\n[1]\n{oops\n";
    (void)state;

    assert_int_equal(obs_batch_parse(nd, strlen(nd), true, &events, NULL, rej, &e), ERR_OK);
    assert_int_equal(json_array_size(events), 4);
    assert_true(json_is_object(json_array_get(events, 0)));
    assert_true(json_is_object(json_array_get(events, 1)));
    assert_true(json_is_null(json_array_get(events, 2)));
    assert_true(json_is_null(json_array_get(events, 3)));
    assert_int_equal(json_array_size(rej), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rej, 0), "index")), 2);
    json_decref(events);
    assert_int_equal(obs_batch_parse("{\"events\":[{},3]}", 17, false, &events, NULL, rej, &e), ERR_OK);
    assert_int_equal(json_array_size(events), 2);
    json_decref(events);
    assert_int_equal(obs_batch_parse("{\"events\":[],\"x\":1}", 19, false, &events, NULL, rej, &e),
                     ERR_INVALID);
    assert_int_equal(obs_batch_parse("{\"events\":[{}],\"events\":[]}", 28, false, &events, NULL, rej,
                                     &e),
                     ERR_INVALID);
    assert_int_equal(obs_batch_parse("", 0, true, &events, NULL, rej, &e), ERR_INVALID);
    assert_int_equal(obs_batch_parse("\n\n", 2, true, &events, NULL, rej, &e), ERR_INVALID);
    json_decref(rej);
}

static void test_lambda_log_lines_give_their_request_id(void **state)
{
    static const struct {
        const char *line, *id;
    } cases[] = {
        {"START RequestId: 8f507cfc-4697-4b07-a8c5-ac58fc914c95 Version: $LATEST",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"END RequestId: 8f507cfc-4697-4b07-a8c5-ac58fc914c95",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"REPORT RequestId: 8f507cfc-4697-4b07-a8c5-ac58fc914c95\tDuration: 15.74 ms\t",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"2026-03-01T12:00:00.125Z\t8f507cfc-4697-4b07-a8c5-ac58fc914c95\tINFO\tprocessing",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"[INFO]\t2026-03-01T12:00:00.125Z\t8f507cfc-4697-4b07-a8c5-ac58fc914c95\thello",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"{\"timestamp\":\"2026-03-01T12:00:00.125Z\",\"level\":\"INFO\",\"requestId\":"
         "\"8f507cfc-4697-4b07-a8c5-ac58fc914c95\",\"message\":\"x\"}",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"{\"time\":\"2026-03-01T12:00:00.140Z\",\"type\":\"platform.report\",\"record\":"
         "{\"requestId\":\"8f507cfc-4697-4b07-a8c5-ac58fc914c95\",\"status\":\"success\"}}",
         "8f507cfc-4697-4b07-a8c5-ac58fc914c95"},
        {"just a line", NULL},
        {"START RequestId: x", NULL},
        {"{\"requestId\":\"bad id with spaces\"}", NULL},
    };
    char id[130];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = obs_log_request_id(cases[i].line, id, sizeof id);
        if (ok != (cases[i].id != NULL))
            fail_msg("case %zu: %s", i, ok ? "unexpected id" : "no id");
        if (ok)
            assert_string_equal(id, cases[i].id);
    }
}

static void test_times_format_as_rfc3339(void **state)
{
    char t[32];
    (void)state;
    obs_time_format(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    obs_time_format(1772366400123LL, t);
    assert_string_equal(t, "2026-03-01T12:00:00.123Z");
    obs_time_format(951782400000LL, t); /* 2000-02-29 */
    assert_string_equal(t, "2000-02-29T00:00:00.000Z");
}

static void test_event_checks(void **state)
{
    static const struct {
        const char *json, *want; /* want: a word of the reason, NULL = valid */
    } cases[] = {
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"log\",\"account_id\":\"123456789012\","
         "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:f\","
         "\"message\":\"m\"}",
         NULL},
        {"{\"time\":\"2026-03-01T14:00:00+02:00\",\"type\":\"log\",\"account_id\":"
         "\"123456789012\",\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:"
         "f:prod\",\"message\":\"m\"}",
         NULL},
        {"{\"time\":\"2026-02-30T12:00:00Z\",\"type\":\"log\",\"account_id\":\"123456789012\","
         "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:f\","
         "\"message\":\"m\"}",
         "RFC 3339"},
        {"{\"time\":\"2026-03-01 12:00:00\",\"type\":\"log\"}", "RFC 3339"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"log\",\"account_id\":\"12345\"}",
         "12-digit"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"log\",\"account_id\":\"123456789012\","
         "\"function_arn\":\"arn:aws:s3:::bucket\",\"message\":\"m\"}",
         "Lambda function ARN"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"log\",\"account_id\":\"123456789012\","
         "\"region\":\"mars\",\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:"
         "function:f\",\"message\":\"m\"}",
         "region"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"invocation\",\"account_id\":"
         "\"123456789012\",\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:"
         "f\",\"input\":\"text\"}",
         "input"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"invocation\",\"account_id\":"
         "\"123456789012\",\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:"
         "f\",\"input\":{},\"response\":{\"status\":-1}}",
         "non-negative"},
        {"{\"time\":\"2026-03-01T12:00:00Z\",\"type\":\"cloudtrail\",\"account_id\":"
         "\"123456789012\",\"record\":{\"eventSource\":\"x\",\"eventName\":\"y\"}}",
         NULL},
    };
    long long now = 1772366400000LL + 3600 * 1000; /* 2026-03-01T13:00:00Z */
    char buf[160];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, 0, NULL);
        const char *why;
        assert_non_null(v);
        why = obs_event_check(v, now, 30, buf, sizeof buf);
        json_decref(v);
        if (cases[i].want == NULL && why != NULL)
            fail_msg("case %zu: rejected: %s", i, why);
        if (cases[i].want != NULL && (why == NULL || strstr(why, cases[i].want) == NULL))
            fail_msg("case %zu: got '%s', want '%s'", i, why ? why : "valid", cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inflate_is_bounded_and_strict),
        cmocka_unit_test(test_base64_is_strict),
        cmocka_unit_test(test_batches_split_into_candidates),
        cmocka_unit_test(test_lambda_log_lines_give_their_request_id),
        cmocka_unit_test(test_times_format_as_rfc3339),
        cmocka_unit_test(test_event_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
