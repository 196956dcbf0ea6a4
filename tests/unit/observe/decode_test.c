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

/* obs_json_loadb accepts exactly what json_loadb(JSON_REJECT_DUPLICATES) accepts, with equal
 * values. */
static void expect_same_as_jansson(const char *text, size_t len)
{
    json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *got = obs_json_loadb(text, len);
    if ((want == NULL) != (got == NULL) || (want != NULL && !json_equal(want, got)))
        fail_msg("obs_json_loadb and jansson differ on [%.*s]: %s vs %s", (int)(len > 200 ? 200 : len),
                 text, got ? "accepted" : "refused", want ? "accepted" : "refused");
    json_decref(want);
    json_decref(got);
}

static const char sample_event[] =
    "{\"time\":\"2026-03-01T12:00:00.123Z\",\"type\":\"invocation\",\"account_id\":"
    "\"123456789012\",\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:f\","
    "\"input\":{\"version\":\"2.0\",\"rawQueryString\":\"q=1%27+OR+%271%27%3D%271\","
    "\"queryStringParameters\":{\"q\":\"1' OR '1'='1\",\"page\":\"3\"},\"headers\":{\"x\":"
    "\"caf\xc3\xa9 \\u00e9\\ud83d\\ude00 \\\"q\\\" \\\\ \\/\\b\\f\\n\\r\\t\"},\"body\":\"{\\\"a\\\":"
    "[1,2.5,-0,1e3,-1.25E-2,true,false,null,{}]}\",\"n\":[0,-9223372036854775808,"
    "9223372036854775807,1e-400,[[[]]],{\"\":\"\"}],\"isBase64Encoded\":false}}";

static void test_json_parser_matches_jansson(void **state)
{
    static const char *const cases[] = {
        "{\"a\":1}", "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "{\"\\u0061\":1}",
        "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud83d\\u0041\"}", "[\"\\ud800\\ud800\"]", "[\"\\uD83D\\uDE00\"]",
        "[\"\xc3\x28\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
        "[\"\xe2\x82\xac\"]", "[\"\xf0\x9f\x98\x80\"]", "[\"\xe2\x82\"]", "[\"\x7f\"]",
        "[01]", "[-]", "[1.]", "[.5]", "[1e]", "[1e+]", "[-0]", "[1E5]", "[+1]",
        "[123456789012345678901234]", "[9223372036854775808]", "[-9223372036854775809]",
        "[1e400]", "[-1e400]", "[1e-400]", "[tru]", "[nulls]", "[null,true,false]",
        "[\"a\tb\"]", "[\"a\nb\"]", "{} x", "{}{}", "1", "\"s\"", "null", "", "  ", " { } ",
        "[ ]", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "{\"a\" 1}", "[1 2]", "[\"abc",
        "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u\"]", "[\"\\u00e9\"]", "\xef\xbb\xbf{}", "{\"k\":\"v\"}\n",
        "[\"\\", "{\"a\":[", "[{\"a\":{\"b\":[1,{\"c\":null}]}}]",
    };
    char *deep;
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_same_as_jansson(cases[i], strlen(cases[i]));
    expect_same_as_jansson("{\"a\":1}\0", 8); /* a NUL after the value */
    expect_same_as_jansson(sample_event, sizeof sample_event - 1);
    /* Nesting: jansson stops at 2048 levels. */
    deep = malloc(2 * 2049 + 1);
    assert_non_null(deep);
    for (size_t n = 2047; n <= 2049; n++) {
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        expect_same_as_jansson(deep, 2 * n);
    }
    free(deep);
}

/* Mutations of an event (bytes replaced, dropped, inserted) are accepted or refused alike. */
static void test_json_parser_matches_jansson_on_mutations(void **state)
{
    static const char alphabet[] = "{}[]\",:\\u0123456789abcdefABCDEF.eE+-tfn \t\n\x80\xc3\xed\xf4\x01";
    char buf[sizeof sample_event + 8];
    unsigned seed = 7;
    (void)state;

    for (int t = 0; t < 20000; t++) {
        size_t len = sizeof sample_event - 1;
        memcpy(buf, sample_event, len);
        for (int k = 0; k < 1 + t % 3; k++) {
            size_t at;
            seed = seed * 1103515245u + 12345u;
            at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            char c = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
            if (k % 3 == 0) {
                buf[at] = c;
            } else if (k % 3 == 1) {
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
            } else {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = c;
                len++;
            }
        }
        expect_same_as_jansson(buf, len);
    }
}

/* Each event's span is its text in the body, and the payload member is found as written. */
static void test_spans_locate_events_and_members(void **state)
{
    static const char nd[] = "{\"type\":\"log\",\"message\":\"a\\\"b\"}\n\n  {\"x\":[1,{\"y\":2}],"
                             "\"input\" : {\"k\":\"}\"} }\r\n{broken\n";
    static const char doc[] = "{ \"events\" : [ {\"input\":[1,2]} , 7,{\"a\":\"]\",\"message\":\"m\"}] }";
    json_t *events = NULL, *rej = json_array();
    struct obs_span *sp = NULL, m;
    struct err e;
    (void)state;

    assert_int_equal(obs_batch_parse(nd, sizeof nd - 1, true, &events, &sp, rej, &e), ERR_OK);
    assert_int_equal(json_array_size(events), 3);
    assert_memory_equal(nd + sp[0].off, "{\"type\":\"log\"", 13);
    assert_true(obs_json_member(nd + sp[0].off, sp[0].len, "message", &m));
    assert_int_equal(m.len, 6);
    assert_memory_equal(nd + sp[0].off + m.off, "\"a\\\"b\"", 6);
    assert_true(obs_json_member(nd + sp[1].off, sp[1].len, "input", &m));
    assert_memory_equal(nd + sp[1].off + m.off, "{\"k\":\"}\"}", m.len);
    assert_false(obs_json_member(nd + sp[1].off, sp[1].len, "y", &m)); /* not top-level */
    assert_int_equal(sp[2].len, 0);                                      /* rejected */
    obs_batch_free(events, sp);

    assert_int_equal(obs_batch_parse(doc, sizeof doc - 1, false, &events, &sp, rej, &e), ERR_OK);
    assert_int_equal(json_array_size(events), 3);
    assert_memory_equal(doc + sp[0].off, "{\"input\":[1,2]}", sp[0].len);
    assert_int_equal(sp[1].len, 0); /* not an object */
    assert_true(obs_json_member(doc + sp[2].off, sp[2].len, "message", &m));
    assert_memory_equal(doc + sp[2].off + m.off, "\"m\"", m.len);
    obs_batch_free(events, sp);

    /* Numbers that jsonb's numeric may refuse (more than 16383 digits after the point) keep an
     * event from being stored verbatim: its span is unknown, so its parsed value is stored. */
    {
        static const char odd[] = "{\"input\":{\"a\":1e-16384}}\n{\"input\":{\"a\":1e-300}}\n"
                                  "{\"input\":{\"a\":0.00000000000000000000000000000000000000000000000"
                                  "00000000000000000000001}}";
        assert_int_equal(obs_batch_parse(odd, sizeof odd - 1, true, &events, &sp, rej, &e),
                         ERR_OK);
        assert_int_equal(json_array_size(events), 3);
        assert_int_equal(sp[0].len, 0);
        assert_true(sp[1].len > 0);
        assert_int_equal(sp[2].len, 0);
        obs_batch_free(events, sp);
    }
    /* A key spelt with escapes is not located (the value is serialised instead). */
    assert_false(obs_json_member("{\"inp\\u0075t\":1}", 16, "input", &m));
    json_decref(rej);
}

/* The arena is reused batch after batch, and values parsed into it stay intact until freed. */
static void test_batches_reuse_the_arena(void **state)
{
    json_t *a = NULL, *b = NULL, *rej = json_array();
    struct err e;
    (void)state;

    for (int i = 0; i < 3; i++) {
        assert_int_equal(obs_batch_parse(sample_event, sizeof sample_event - 1, true, &a, NULL,
                                         rej, &e),
                         ERR_OK);
        b = json_deep_copy(a); /* outside the arena: malloc */
        assert_true(json_equal(a, b));
        obs_batch_free(a, NULL);
        assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "type")),
                            "invocation");
        json_decref(b);
    }
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
        cmocka_unit_test(test_json_parser_matches_jansson),
        cmocka_unit_test(test_json_parser_matches_jansson_on_mutations),
        cmocka_unit_test(test_spans_locate_events_and_members),
        cmocka_unit_test(test_batches_reuse_the_arena),
        cmocka_unit_test(test_lambda_log_lines_give_their_request_id),
        cmocka_unit_test(test_times_format_as_rfc3339),
        cmocka_unit_test(test_event_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
