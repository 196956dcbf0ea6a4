/* Ingestion: POST /v1/events with an ingest key. Valid batches are stored and acknowledged
 * only after commit; every bad input of the issue is rejected per event with a reason or, when
 * it is the body itself, with a 4xx; idempotent retries store nothing twice; with PostgreSQL
 * down the answer is 503, never 202. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "obs_util.h"

static struct h_server srv;
static char db[64];
static struct obs_tenant ten;

static const char *const ndjson_hdr[] = {"Content-Type: application/x-ndjson", NULL};

static int setup(void **state)
{
    static const char *const env[] = {"PARAPET_AWS_ACCOUNT_ID=111122223333",
                                      "PARAPET_JOB_POLL_MS=50", NULL};
    (void)state;
    h_db_new("ingest", db);
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    return obs_tenant_new(&srv, "ingestco", "123456789012", &ten);
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

static long post(const char *body, size_t len, const char *const *hdrs, json_t **out)
{
    return obs_call(&srv, "POST", "/v1/events", ten.ingest, hdrs, body, len, out);
}

/* Rows of table (events, signals) of our tenant matching cond. */
static long long count(const char *table, const char *cond)
{
    char q[512];
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE tenant_id = '%s' AND (%s)", table,
             ten.tenant_id, cond);
    return obs_sql_num(db, q);
}

/* A valid invocation event for function fn of our account at now + offset. */
static char *invocation(long long offset, const char *fn, const char *query)
{
    char t[32], *s = NULL;
    obs_time(offset, t);
    if (asprintf(&s,
                 "{\"time\":\"%s\",\"type\":\"invocation\",\"account_id\":\"123456789012\","
                 "\"region\":\"us-east-1\",\"function_arn\":"
                 "\"arn:aws:lambda:us-east-1:123456789012:function:%s\",\"request_id\":"
                 "\"r-%lld\",\"source_ip\":\"203.0.113.9\",\"input\":{\"version\":\"2.0\","
                 "\"routeKey\":\"GET /items\",\"rawQueryString\":\"q=%s\","
                 "\"queryStringParameters\":{\"q\":\"%s\"},\"requestContext\":{\"http\":"
                 "{\"method\":\"GET\",\"sourceIp\":\"203.0.113.9\"}}}}",
                 t, fn, offset, query, query) < 0)
        return NULL;
    return s;
}

static void test_a_valid_batch_is_stored_before_202(void **state)
{
    char t[32], body[8192], *a = invocation(-60, "orders", "shoes");
    json_t *r = NULL;
    long long before = count("events", "true");
    (void)state;

    obs_time(-30, t);
    snprintf(body, sizeof body,
             "{\"events\":[%s,"
             "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\","
             "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:orders\","
             "\"message\":\"START RequestId: 8f507cfc-4697-4b07-a8c5-ac58fc914c95\"},"
             "{\"time\":\"%s\",\"type\":\"fsp.violation\",\"account_id\":\"123456789012\","
             "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:orders\","
             "\"violation\":{\"action\":\"open\",\"target\":\"/tmp/cache.db\","
             "\"decision\":\"alerted\"}}]}",
             a, t, t);
    free(a);
    assert_int_equal(post(body, strlen(body), NULL, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 3);
    assert_int_equal(json_array_size(json_object_get(r, "rejected")), 0);
    json_decref(r);
    /* Acknowledged means committed: the rows are there the moment 202 arrives. */
    assert_int_equal(count("events", "true"), before + 3);
    /* A write under /tmp is not a violation worth a signal. */
    assert_int_equal(count("signals", "rule_id = 'fsp.write'"),
                     0);
}

static void expect_rejected(const json_t *r, size_t index, const char *words)
{
    const json_t *rej = json_object_get(r, "rejected"), *e;
    size_t i;
    json_array_foreach(rej, i, e)
    {
        if ((size_t)json_integer_value(json_object_get(e, "index")) == index) {
            if (strstr(obs_str(e, "error"), words) == NULL)
                fail_msg("event %zu rejected with '%s', want '%s'", index, obs_str(e, "error"),
                         words);
            return;
        }
    }
    fail_msg("event %zu was not rejected (want '%s')", index, words);
}

static void test_each_bad_event_is_rejected_alone_with_a_reason(void **state)
{
    char now[32], future[32], past[32], body[16384], *good = invocation(-10, "orders", "ok");
    json_t *r = NULL;
    long long before = count("events", "true");
    (void)state;

    obs_time(0, now);
    obs_time(3600, future);
    obs_time(-40LL * 86400, past);
    snprintf(
        body, sizeof body,
        "{\"events\":[%s,"
        /* 1 an account the tenant has not added */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"999999999999\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:999999999999:function:x\",\"message\":\"hi\"},"
        /* 2 a clock an hour ahead */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"message\":\"hi\"},"
        /* 3 older than retention */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"message\":\"hi\"},"
        /* 4 a record of the wrong type for cloudtrail */
        "{\"time\":\"%s\",\"type\":\"cloudtrail\",\"account_id\":\"123456789012\","
        "\"record\":{\"hello\":1}},"
        /* 5 unknown type */
        "{\"time\":\"%s\",\"type\":\"metric\",\"account_id\":\"123456789012\"},"
        /* 6 not an object */
        "42,"
        /* 7 function of another account */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:210987654321:function:x\",\"message\":\"hi\"},"
        /* 8 not RFC 3339 */
        "{\"time\":\"yesterday\",\"type\":\"log\",\"account_id\":\"123456789012\","
        "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:x\","
        "\"message\":\"hi\"},"
        /* 9 an unknown field */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"message\":\"hi\",\"x\":1},"
        /* 10 a bad violation */
        "{\"time\":\"%s\",\"type\":\"fsp.violation\",\"account_id\":\"123456789012\","
        "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:x\","
        "\"violation\":{\"action\":\"fly\",\"target\":\"x\",\"decision\":\"blocked\"}},"
        /* 11 an input where a log belongs */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"input\":{}},"
        /* 12 a bad source address */
        "{\"time\":\"%s\",\"type\":\"log\",\"account_id\":\"123456789012\",\"function_arn\":"
        "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"message\":\"hi\","
        "\"source_ip\":\"999.1.1.1\"}]}",
        good, now, future, past, now, now, now, now, now, now, now);
    free(good);
    assert_int_equal(post(body, strlen(body), NULL, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
    assert_int_equal(json_array_size(json_object_get(r, "rejected")), 12);
    expect_rejected(r, 1, "not an AWS account of this tenant");
    expect_rejected(r, 2, "future");
    expect_rejected(r, 3, "retention");
    expect_rejected(r, 4, "CloudTrail record");
    expect_rejected(r, 5, "type must be");
    expect_rejected(r, 6, "JSON object");
    expect_rejected(r, 7, "another account");
    expect_rejected(r, 8, "RFC 3339");
    expect_rejected(r, 9, "unknown field");
    expect_rejected(r, 10, "violation.action");
    expect_rejected(r, 11, "does not belong");
    expect_rejected(r, 12, "source_ip");
    json_decref(r);
    assert_int_equal(count("events", "true"), before + 1);
}

static void test_ndjson_lines_are_events_and_a_broken_line_is_rejected(void **state)
{
    char *a = invocation(-5, "orders", "one"), *b = invocation(-4, "orders", "two");
    char body[8192];
    json_t *r = NULL;
    (void)state;

    snprintf(body, sizeof body, "%s\n\n{\"time\": broken\n%s\r\n", a, b);
    free(a);
    free(b);
    assert_int_equal(post(body, strlen(body), ndjson_hdr, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 2);
    expect_rejected(r, 1, "malformed JSON");
    json_decref(r);
}

static void test_gzip_bodies_inflate_within_bounds(void **state)
{
    static const char *const gz[] = {"Content-Type: application/json",
                                     "Content-Encoding: gzip", NULL};
    char *a = invocation(-3, "orders", "zipped"), body[4096];
    unsigned char *z, *bomb;
    char *zeros;
    size_t zl = 0, bl = 0;
    json_t *r = NULL;
    (void)state;

    snprintf(body, sizeof body, "{\"events\":[%s]}", a);
    free(a);
    z = obs_gzip(body, strlen(body), &zl);
    assert_int_equal(post((const char *)z, zl, gz, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
    json_decref(r);
    /* Corrupt: flip bytes in the middle of the deflate stream. */
    z[zl / 2] ^= 0xff;
    z[zl / 2 + 1] ^= 0x55;
    assert_int_equal(post((const char *)z, zl, gz, NULL), 400);
    /* Truncated. */
    assert_int_equal(post((const char *)z, zl / 2, gz, NULL), 400);
    free(z);
    /* A bomb: 64 MiB of zeros in about 64 KiB stops at the 8 MiB cap. */
    zeros = calloc(1, (size_t)64 << 20);
    assert_non_null(zeros);
    bomb = obs_gzip(zeros, (size_t)64 << 20, &bl);
    free(zeros);
    assert_true(bl < 1 << 20);
    assert_int_equal(post((const char *)bomb, bl, gz, &r), 413);
    assert_string_equal(obs_str(r, "type"), "https://parapet.dev/problems/payload-too-large");
    json_decref(r);
    free(bomb);
    /* An encoding we do not speak. */
    {
        static const char *const br[] = {"Content-Type: application/json",
                                         "Content-Encoding: br", NULL};
        assert_int_equal(post("{}", 2, br, NULL), 415);
    }
}

static void test_eight_mebibytes_of_one_string(void **state)
{
    size_t big = ((size_t)8 << 20) - 4096;
    char t[32], *body = malloc(big + 8192), *good = invocation(-2, "orders", "fine");
    size_t n;
    json_t *r = NULL;
    (void)state;

    obs_time(-1, t);
    /* Under the body cap: the event with the huge string is rejected alone. */
    n = (size_t)snprintf(body, 8192,
                         "{\"events\":[%s,{\"time\":\"%s\",\"type\":\"log\",\"account_id\":"
                         "\"123456789012\",\"function_arn\":"
                         "\"arn:aws:lambda:us-east-1:123456789012:function:x\",\"message\":\"",
                         good, t);
    memset(body + n, 'A', big - n - 8);
    memcpy(body + big - 8, "\"}]}", 5);
    assert_int_equal(post(body, strlen(body), NULL, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 1);
    expect_rejected(r, 1, "larger than 1 MiB");
    json_decref(r);
    /* Over it: 413 from the headers alone, before any of the body is read. */
    {
        char req[512], resp[4096];
        int n2 = snprintf(req, sizeof req,
                          "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\n\r\n",
                          ten.ingest, ((size_t)8 << 20) + 1);
        assert_true(h_raw(srv.port, req, (size_t)n2, resp, sizeof resp, 5000) > 0);
        assert_non_null(strstr(resp, "HTTP/1.1 413"));
    }
    free(body);
    free(good);
}

static void test_idempotency_key_stores_nothing_twice(void **state)
{
    static const char *const k1[] = {"Content-Type: application/json",
                                     "Idempotency-Key: batch-0001", NULL};
    char body[4096], other[4096], *a = invocation(-9, "orders", "idem");
    json_t *r1 = NULL, *r2 = NULL;
    long long before;
    (void)state;

    snprintf(body, sizeof body, "{\"events\":[%s, 7]}", a);
    snprintf(other, sizeof other, "{\"events\":[%s]}", a);
    free(a);
    before = count("events", "true");
    assert_int_equal(post(body, strlen(body), k1, &r1), 202);
    assert_int_equal(post(body, strlen(body), k1, &r2), 202);
    assert_true(json_equal(r1, r2)); /* the same answer */
    assert_int_equal(count("events", "true"), before + 1);
    /* The same key with another body is a client bug: 409, nothing stored. */
    assert_int_equal(post(other, strlen(other), k1, NULL), 409);
    assert_int_equal(count("events", "true"), before + 1);
    json_decref(r1);
    json_decref(r2);
}

static void test_a_cloudtrail_record_delivered_twice_is_stored_once(void **state)
{
    char t[32], body[4096];
    long long before = count("events", "true");
    (void)state;

    obs_time(-100, t);
    snprintf(body, sizeof body,
             "{\"events\":[{\"time\":\"%s\",\"type\":\"cloudtrail\",\"account_id\":"
             "\"123456789012\",\"record\":{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\","
             "\"eventSource\":\"lambda.amazonaws.com\",\"eventName\":\"AddPermission20150331v2\","
             "\"recipientAccountId\":\"123456789012\",\"awsRegion\":\"us-east-1\","
             "\"sourceIPAddress\":\"198.51.100.7\",\"userIdentity\":{\"type\":\"IAMUser\","
             "\"arn\":\"arn:aws:iam::123456789012:user/alice\",\"accessKeyId\":"
             "\"AKIAEXAMPLEDUP000001\"},\"requestParameters\":{\"functionName\":\"pay\","
             "\"principal\":\"*\",\"action\":\"lambda:InvokeFunctionUrl\"},"
             "\"eventID\":\"b67a9bba-d9da-4980-bf74-baed881b117d\"}}]}",
             t, t);
    assert_int_equal(post(body, strlen(body), NULL, NULL), 202);
    assert_int_equal(post(body, strlen(body), NULL, NULL), 202);
    assert_int_equal(count("events", "true"), before + 1);
    assert_int_equal(count("signals", "rule_id = 'CT-06'"), 1);
}

static void test_bad_bodies_and_credentials(void **state)
{
    static const char *const text[] = {"Content-Type: text/plain", NULL};
    static const char *const idem[] = {"Content-Type: application/json",
                                       "Idempotency-Key: has space", NULL};
    (void)state;
    assert_int_equal(post("{\"events\":[]}", 13, NULL, NULL), 400);
    assert_int_equal(post("{\"events\":{}}", 13, NULL, NULL), 400);
    assert_int_equal(post("[1,2]", 5, NULL, NULL), 400);
    assert_int_equal(post("{\"events\":[{}]", 14, NULL, NULL), 400);
    assert_int_equal(post("{\"events\":[{}]}", 15, text, NULL), 415);
    assert_int_equal(post("{\"events\":[{}]}", 15, idem, NULL), 400);
    assert_int_equal(obs_call(&srv, "POST", "/v1/events", NULL, NULL, "{}", 2, NULL), 401);
    assert_int_equal(obs_call(&srv, "POST", "/v1/events", "pri_nonsense", NULL, "{}", 2, NULL),
                     401);
    /* An ingest key reads nothing. */
    assert_int_equal(obs_call(&srv, "GET", "/v1/incidents", ten.ingest, NULL, NULL, 0, NULL),
                     403);
}

/* Telemetry is written by ingest keys only: a user's token (the owner's) and an admin
 * automation key are refused on both ingest routes, and store nothing; the same bodies with the
 * ingest key are stored (so the refusals are about the credential, not the body). */
static void test_only_ingest_keys_send_telemetry(void **state)
{
    char t[32], rec[1024], fh[2048], akey[200], id[64], *a = invocation(-5, "orders", "cred");
    char *b64;
    const char *hdrs[6];
    json_t *r = NULL;
    long long before = count("events", "true");
    (void)state;

    snprintf(rec, sizeof rec, "{\"events\":[%s]}", a);
    free(a);
    /* A prk_ key with the highest role a key can have. */
    static const char prk_req[] = "{\"name\":\"ops\",\"role\":\"admin\"}";
    assert_int_equal(obs_call(&srv, "POST", "/v1/api-keys", ten.token, NULL, prk_req,
                              sizeof prk_req - 1, &r),
                     201);
    snprintf(akey, sizeof akey, "%s", obs_str(r, "key"));
    json_decref(r);
    assert_int_equal(strncmp(akey, "prk_", 4), 0);

    assert_int_equal(post(rec, strlen(rec), NULL, NULL), 202);
    before++;
    const char *creds[] = {ten.token, akey};
    for (size_t i = 0; i < 2; i++) {
        r = NULL;
        assert_int_equal(obs_call(&srv, "POST", "/v1/events", creds[i], NULL, rec, strlen(rec),
                                  &r),
                         403);
        assert_int_equal(json_integer_value(json_object_get(r, "status")), 403);
        assert_non_null(strstr(obs_str(r, "detail"), "ingest key"));
        json_decref(r);
    }

    /* Firehose: the key travels in X-Amz-Firehose-Access-Key. */
    obs_time(-5, t);
    snprintf(rec, sizeof rec,
             "{\"Records\":[{\"eventVersion\":\"1.08\",\"eventTime\":\"%s\",\"eventSource\":"
             "\"lambda.amazonaws.com\",\"eventName\":\"GetFunction20150331v2\",\"awsRegion\":"
             "\"us-east-1\",\"sourceIPAddress\":\"203.0.113.7\",\"userIdentity\":{\"type\":"
             "\"IAMUser\",\"arn\":\"arn:aws:iam::123456789012:user/cred\"},\"eventID\":"
             "\"0a1b2c3d-0000-4000-8000-00000000c4ed\",\"recipientAccountId\":\"123456789012\"}]}",
             t);
    b64 = obs_base64(rec, strlen(rec));
    assert_non_null(b64);
    snprintf(fh, sizeof fh,
             "{\"requestId\":\"c0000000-0000-4000-8000-00000000c4ed\",\"timestamp\":1,"
             "\"records\":[{\"data\":\"%s\"}]}",
             b64);
    free(b64);
    const char *keys[] = {akey, ten.token, ten.ingest};
    const long want[] = {403, 401 /* not even looked at: only API keys go in that header */, 200};
    for (size_t i = 0; i < 3; i++) {
        char u[256], k[1100];
        struct h_resp resp;
        snprintf(u, sizeof u, "%s/v1/ingest/firehose", srv.base);
        snprintf(k, sizeof k, "X-Amz-Firehose-Access-Key: %s", keys[i]);
        snprintf(id, sizeof id, "X-Amz-Firehose-Request-Id: cred-%zu", i);
        hdrs[0] = "Content-Type: application/json";
        hdrs[1] = id;
        hdrs[2] = k;
        hdrs[3] = NULL;
        assert_int_equal(h_http("POST", u, hdrs, fh, strlen(fh), &resp), want[i]);
        h_resp_free(&resp);
        if (i < 2)
            assert_int_equal(count("events", "true"), before);
    }
    /* Only the ingest key's deliveries were stored: the first batch and the record. */
    assert_int_equal(count("events", "true"), before + 1);
    assert_int_equal(count("events", "body->>'eventID' = '0a1b2c3d-0000-4000-8000-00000000c4ed'"),
                     1);
}

/* Events are stored as sent, except what jsonb would refuse: a number with more than 16,383
 * digits after the point is stored as the parsed value (0), and the batch is not lost. */
static void test_bodies_are_stored_as_sent(void **state)
{
    char t[32], body[2048];
    json_t *r = NULL;
    long long before = count("events", "true");
    (void)state;

    obs_time(-20, t);
    snprintf(body, sizeof body,
             "{\"time\":\"%s\",\"type\":\"invocation\",\"account_id\":\"123456789012\","
             "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:orders\","
             "\"request_id\":\"verbatim-1\",\"input\" : {\"n\":1.50,\"s\":\"caf\\u00e9 \\\"x\\\"\"}}\n"
             "{\"time\":\"%s\",\"type\":\"invocation\",\"account_id\":\"123456789012\","
             "\"function_arn\":\"arn:aws:lambda:us-east-1:123456789012:function:orders\","
             "\"request_id\":\"verbatim-2\",\"input\":{\"tiny\":1e-16384}}\n",
             t, t);
    assert_int_equal(post(body, strlen(body), ndjson_hdr, &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "accepted")), 2);
    json_decref(r);
    assert_int_equal(count("events", "true"), before + 2);
    /* jsonb keeps a number's scale: 1.50 as sent, where jansson would have written 1.5. */
    assert_int_equal(count("events", "request_id = 'verbatim-1' AND body->>'n' = '1.50' AND "
                                     "body->>'s' = 'café \"x\"'"),
                     1);
    assert_int_equal(count("events", "request_id = 'verbatim-2' AND (body->>'tiny')::float8 = 0"),
                     1);
}

static void test_row_level_security_covers_every_partition(void **state)
{
    char app[256], q[512];
    char *v;
    (void)state;

    /* Every partition of events has RLS forced with a policy, and the application role can
     * reach events only through the parent. */
    assert_int_equal(obs_sql_num(db, "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON"
                                     " c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
                                     " AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND"
                                     " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid ="
                                     " c.oid))"),
                     0);
    assert_true(obs_sql_num(db, "SELECT count(*) FROM pg_inherits WHERE inhparent ="
                                " 'events'::regclass") >= 4);
    h_db_url(db, false, app, sizeof app);
    v = h_sql(app, "SELECT count(*) FROM events");
    assert_string_equal(v, "0"); /* no tenant in context: nothing */
    free(v);
    snprintf(q, sizeof q,
             "SELECT (SELECT count(*) FROM events) FROM (SELECT set_config('app.tenant_id',"
             " '%s', false)) s",
             ten.tenant_id);
    v = h_sql(app, q);
    assert_non_null(v);
    assert_true(strtol(v, NULL, 10) > 0);
    free(v);
    /* A partition reached directly: refused to the application role. */
    v = obs_sql_num(db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'events_p%'") > 0
            ? h_sql(app, "SELECT relname FROM pg_class WHERE relname LIKE 'events_p%' LIMIT 1")
            : NULL;
    assert_non_null(v);
    snprintf(q, sizeof q, "SELECT count(*) FROM %s", v);
    assert_int_equal(h_sql_exec(app, q, true), -1);
    free(v);
}

/* Last: stops the database. Acknowledgement only after commit: with PostgreSQL down the answer
 * is 503, and once it is back the same request is stored. */
static void test_no_202_without_a_commit(void **state)
{
    static const char *const k[] = {"Content-Type: application/json",
                                    "Idempotency-Key: outage-1", NULL};
    char body[4096], *a = invocation(-1, "orders", "outage");
    json_t *r = NULL;
    long long before = count("events", "true"), deadline;
    long st = 0;
    (void)state;

    snprintf(body, sizeof body, "{\"events\":[%s]}", a);
    free(a);
    h_pg_stop();
    st = post(body, strlen(body), k, &r);
    assert_int_equal(st, 503);
    json_decref(r);
    h_pg_start();
    deadline = h_now_ms() + 15000;
    while (h_now_ms() < deadline && (st = post(body, strlen(body), k, NULL)) != 202)
        h_sleep_ms(200);
    assert_int_equal(st, 202);
    assert_int_equal(count("events", "true"), before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_valid_batch_is_stored_before_202),
        cmocka_unit_test(test_each_bad_event_is_rejected_alone_with_a_reason),
        cmocka_unit_test(test_ndjson_lines_are_events_and_a_broken_line_is_rejected),
        cmocka_unit_test(test_gzip_bodies_inflate_within_bounds),
        cmocka_unit_test(test_eight_mebibytes_of_one_string),
        cmocka_unit_test(test_idempotency_key_stores_nothing_twice),
        cmocka_unit_test(test_a_cloudtrail_record_delivered_twice_is_stored_once),
        cmocka_unit_test(test_bad_bodies_and_credentials),
        cmocka_unit_test(test_only_ingest_keys_send_telemetry),
        cmocka_unit_test(test_bodies_are_stored_as_sent),
        cmocka_unit_test(test_row_level_security_covers_every_partition),
        cmocka_unit_test(test_no_202_without_a_commit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
