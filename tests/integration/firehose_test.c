/* The Amazon Data Firehose HTTP endpoint: POST /v1/ingest/firehose speaks the delivery protocol
 * (wire-formats.md 10.2): the ingest key in X-Amz-Firehose-Access-Key, the request id echoed
 * with a timestamp, 200 only once stored, errors as {requestId, timestamp, errorMessage}; records
 * are base64(gzip(CloudWatch Logs subscription JSON)) or CloudTrail JSON. */
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

static int setup(void **state)
{
    static const char *const env[] = {"PARAPET_AWS_ACCOUNT_ID=111122223333",
                                      "PARAPET_JOB_POLL_MS=50", NULL};
    (void)state;
    h_db_new("firehose", db);
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    return obs_tenant_new(&srv, "hoseco", "444455556666", &ten);
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

static long long count(const char *table, const char *cond)
{
    char q[512];
    snprintf(q, sizeof q, "SELECT count(*) FROM %s WHERE tenant_id = '%s' AND (%s)", table,
             ten.tenant_id, cond);
    return obs_sql_num(db, q);
}

/* One record's data field: base64(gzip(json)). */
static char *record(const char *json)
{
    size_t zl = 0;
    unsigned char *z = obs_gzip(json, strlen(json), &zl);
    char *b = obs_base64(z, zl);
    free(z);
    return b;
}

static struct h_resp last;

/* Sends a delivery; key NULL sends none. Keeps the raw response in `last`. */
static long deliver(const char *request_id, const char *key, const char *body, size_t len,
                    bool gzip_body, json_t **out)
{
    char u[256], k[200], id[200];
    const char *hdrs[8];
    size_t n = 0;
    unsigned char *z = NULL;
    long st;

    snprintf(u, sizeof u, "%s/v1/ingest/firehose", srv.base);
    hdrs[n++] = "Content-Type: application/json";
    hdrs[n++] = "X-Amz-Firehose-Protocol-Version: 1.0";
    hdrs[n++] = "X-Amz-Firehose-Source-Arn: "
                "arn:aws:firehose:us-east-1:444455556666:deliverystream/acme-telemetry";
    snprintf(id, sizeof id, "X-Amz-Firehose-Request-Id: %s", request_id);
    hdrs[n++] = id;
    if (key != NULL) {
        snprintf(k, sizeof k, "X-Amz-Firehose-Access-Key: %s", key);
        hdrs[n++] = k;
    }
    if (gzip_body) {
        size_t zl = 0;
        z = obs_gzip(body, len, &zl);
        body = (const char *)z;
        len = zl;
        hdrs[n++] = "Content-Encoding: gzip";
    }
    hdrs[n] = NULL;
    h_resp_free(&last);
    st = h_http("POST", u, hdrs, body, len, &last);
    if (out != NULL)
        *out = last.len ? json_loadb(last.body, last.len, 0, NULL) : NULL;
    free(z);
    return st;
}

static char *envelope(const char *request_id, const char *const *datas)
{
    size_t cap = 4096, n;
    char *b;
    for (size_t i = 0; datas[i] != NULL; i++)
        cap += strlen(datas[i]) + 16;
    b = malloc(cap);
    n = (size_t)snprintf(b, cap, "{\"requestId\":\"%s\",\"timestamp\":1578090901599,"
                                 "\"records\":[", request_id);
    for (size_t i = 0; datas[i] != NULL; i++)
        n += (size_t)snprintf(b + n, cap - n, "%s{\"data\":\"%s\"}", i ? "," : "", datas[i]);
    snprintf(b + n, cap - n, "]}");
    return b;
}

static char *lambda_logs(void)
{
    char *j = NULL;
    long long ms = (long long)time(NULL) * 1000 - 5000;
    if (asprintf(&j,
                 "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"444455556666\",\"logGroup\":"
                 "\"/aws/lambda/payments-webhook\",\"logStream\":"
                 "\"2026/03/01/[$LATEST]3893c1d7fac4485b47bb75b671a283c\","
                 "\"subscriptionFilters\":[\"acme-telemetry\"],\"logEvents\":["
                 "{\"id\":\"1\",\"timestamp\":%lld,\"message\":\"START RequestId: "
                 "8f507cfc-4697-4b07-a8c5-ac58fc914c95 Version: $LATEST\\n\"},"
                 "{\"id\":\"2\",\"timestamp\":%lld,\"message\":\"2026-03-01T12:00:00.125Z\\t"
                 "8f507cfc-4697-4b07-a8c5-ac58fc914c95\\tINFO\\tprocessing event\\n\"},"
                 "{\"id\":\"3\",\"timestamp\":%lld,\"message\":\"{\\\"time\\\":"
                 "\\\"2026-03-01T12:00:00.140Z\\\",\\\"type\\\":\\\"platform.report\\\","
                 "\\\"record\\\":{\\\"requestId\\\":\\\"9e507cfc-4697-4b07-a8c5-ac58fc914c95\\\","
                 "\\\"status\\\":\\\"success\\\"}}\"},"
                 "{\"id\":\"4\",\"timestamp\":%lld,\"message\":\"REPORT RequestId: "
                 "8f507cfc-4697-4b07-a8c5-ac58fc914c95\\tDuration: 15.74 ms\\tBilled Duration: "
                 "16 ms\\tMemory Size: 128 MB\\tMax Memory Used: 56 MB\\t\\n\"}]}",
                 ms, ms + 1, ms + 2, ms + 3) < 0)
        return NULL;
    return j;
}

static void test_a_delivery_is_acknowledged_with_the_request_id(void **state)
{
    char *logs = lambda_logs(), *data = record(logs), *body;
    const char *datas[] = {data, NULL};
    char ct[64];
    json_t *r = NULL;
    (void)state;

    body = envelope("ed4acda5-034f-9f42-bba1-f29aea6d7d8f", datas);
    assert_int_equal(deliver("ed4acda5-034f-9f42-bba1-f29aea6d7d8f", ten.ingest, body,
                             strlen(body), false, &r),
                     200);
    assert_string_equal(obs_str(r, "requestId"), "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");
    assert_true(json_is_integer(json_object_get(r, "timestamp")));
    assert_true(json_integer_value(json_object_get(r, "timestamp")) > 1700000000000LL);
    assert_null(json_object_get(r, "errorMessage"));
    assert_string_equal(h_header(&last, "Content-Type", ct, sizeof ct), "application/json");
    assert_null(h_header(&last, "Content-Encoding", ct, sizeof ct));
    json_decref(r);
    /* Committed when answered: four log lines of the function, with their request ids. */
    assert_int_equal(count("events", "type = 'log' AND function_arn = "
                                     "'arn:aws:lambda:us-east-1:444455556666:function:"
                                     "payments-webhook'"),
                     4);
    assert_int_equal(count("events", "request_id = '8f507cfc-4697-4b07-a8c5-ac58fc914c95'"), 3);
    assert_int_equal(count("events", "request_id = '9e507cfc-4697-4b07-a8c5-ac58fc914c95'"), 1);
    /* The same request id again (Firehose retries with it): nothing stored twice. */
    assert_int_equal(deliver("ed4acda5-034f-9f42-bba1-f29aea6d7d8f", ten.ingest, body,
                             strlen(body), true, &r),
                     200);
    assert_string_equal(obs_str(r, "requestId"), "ed4acda5-034f-9f42-bba1-f29aea6d7d8f");
    json_decref(r);
    assert_int_equal(count("events", "type = 'log'"), 4);
    free(body);
    free(data);
    free(logs);
}

static void test_control_messages_and_empty_records_are_fine(void **state)
{
    const char *control = "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\","
                          "\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],"
                          "\"logEvents\":[{\"id\":\"\",\"timestamp\":1680683189085,\"message\":"
                          "\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}";
    char *data = record(control), *body;
    const char *datas[] = {data, "", NULL};
    long long before = count("events", "true");
    (void)state;

    body = envelope("c0000000-0000-4000-8000-000000000001", datas);
    assert_int_equal(deliver("c0000000-0000-4000-8000-000000000001", ten.ingest, body,
                             strlen(body), false, NULL),
                     200);
    assert_int_equal(count("events", "true"), before);
    free(body);
    free(data);
}

static void test_cloudtrail_records_become_events_and_signals(void **state)
{
    char t[32], json[2048], *data, *body;
    const char *datas[2];
    (void)state;

    obs_time(-60, t);
    snprintf(json, sizeof json,
             "{\"Records\":[{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\","
             "\"arn\":\"arn:aws:iam::444455556666:user/alice\",\"accountId\":\"444455556666\","
             "\"accessKeyId\":\"AKIAKHYV6FI4EXAMPLE\"},\"eventTime\":\"%s\",\"eventSource\":"
             "\"lambda.amazonaws.com\",\"eventName\":\"AddPermission20150331v2\",\"awsRegion\":"
             "\"us-east-1\",\"sourceIPAddress\":\"198.51.100.7\",\"requestParameters\":"
             "{\"functionName\":\"payments-webhook\",\"statementId\":\"x\",\"action\":"
             "\"lambda:InvokeFunctionUrl\",\"principal\":\"*\"},\"eventID\":"
             "\"b67a9bba-d9da-4980-bf74-baed881b1170\",\"recipientAccountId\":\"444455556666\"}]}",
             t);
    data = record(json);
    datas[0] = data;
    datas[1] = NULL;
    body = envelope("c0000000-0000-4000-8000-000000000002", datas);
    assert_int_equal(deliver("c0000000-0000-4000-8000-000000000002", ten.ingest, body,
                             strlen(body), false, NULL),
                     200);
    assert_int_equal(count("events", "type = 'cloudtrail'"), 1);
    /* AddPermission to everyone: CT-06 on the function, named by its ARN. */
    assert_int_equal(count("signals", "rule_id = 'CT-06' AND class = 'exposure' AND function_arn"
                                      " = 'arn:aws:lambda:us-east-1:444455556666:function:"
                                      "payments-webhook' AND severity = 'critical'"),
                     1);
    free(body);
    free(data);
}

static void expect_firehose_error(long st, long want, const char *request_id, const char *words)
{
    json_t *r = last.len ? json_loadb(last.body, last.len, 0, NULL) : NULL;
    char ct[64];
    assert_int_equal(st, want);
    assert_non_null(r);
    assert_string_equal(obs_str(r, "requestId"), request_id);
    assert_true(json_is_integer(json_object_get(r, "timestamp")));
    if (strstr(obs_str(r, "errorMessage"), words) == NULL)
        fail_msg("errorMessage '%s', want '%s'", obs_str(r, "errorMessage"), words);
    assert_string_equal(h_header(&last, "Content-Type", ct, sizeof ct), "application/json");
    json_decref(r);
}

static void test_the_access_key_header_authenticates(void **state)
{
    const char *datas[] = {NULL};
    char *body = envelope("c0000000-0000-4000-8000-000000000003", datas);
    (void)state;

    expect_firehose_error(deliver("c0000000-0000-4000-8000-000000000003", NULL, body,
                                  strlen(body), false, NULL),
                          401, "c0000000-0000-4000-8000-000000000003", "API key");
    expect_firehose_error(deliver("c0000000-0000-4000-8000-000000000003", "pri_wrong", body,
                                  strlen(body), false, NULL),
                          401, "c0000000-0000-4000-8000-000000000003", "invalid");
    /* A bearer token in Authorization is not the protocol's credential. */
    assert_int_equal(obs_call(&srv, "POST", "/v1/ingest/firehose", ten.ingest, NULL, body,
                              strlen(body), NULL),
                     401);
    free(body);
}

/* The records dropped from delivery ...0004 (below) are listed for the tenant, each with its
 * index and reason and never its content; another tenant sees none of it. */
static void expect_rejections_listed(void)
{
    struct obs_tenant other;
    json_t *r = NULL, *item, *rej, *e;
    bool base64 = false, size = false;
    size_t i;

    assert_int_equal(obs_call(&srv, "GET", "/v1/ingest/rejections", ten.token, NULL, NULL, 0, &r),
                     200);
    item = json_array_get(json_object_get(r, "items"), 0);
    assert_string_equal(obs_str(item, "request_id"), "c0000000-0000-4000-8000-000000000004");
    assert_string_equal(obs_str(item, "source"), "firehose");
    assert_int_equal(json_integer_value(json_object_get(item, "accepted")), 4);
    rej = json_object_get(item, "rejected");
    assert_true(json_array_size(rej) >= 4);
    assert_int_equal(json_integer_value(json_object_get(item, "rejected_count")),
                     (long long)json_array_size(rej));
    json_array_foreach(rej, i, e)
    {
        long long rec = json_integer_value(json_object_get(e, "record"));
        const char *why = obs_str(e, "error");
        assert_true(strlen(why) > 0);
        assert_null(strstr(why, "plain text")); /* never the content */
        assert_null(strstr(why, "hello"));
        base64 |= rec == 0 && strstr(why, "base64") != NULL;
        size |= rec == 5 && strstr(why, "1,024,000") != NULL;
    }
    assert_true(base64);
    assert_true(size);
    json_decref(r);
    assert_int_equal(obs_tenant_new(&srv, "otherhose", "444455550000", &other), 0);
    assert_int_equal(obs_call(&srv, "GET", "/v1/ingest/rejections", other.token, NULL, NULL, 0,
                              &r),
                     200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    assert_int_equal(obs_call(&srv, "GET", "/v1/ingest/rejections?cursor=x", ten.token, NULL,
                              NULL, 0, NULL),
                     400);
}

static void test_bad_records_are_dropped_and_good_ones_kept(void **state)
{
    char *logs = lambda_logs(), *good = record(logs), *body, *big, *bigdata;
    unsigned char corrupt[64];
    char *corrupt_b64, *wrong = record("{\"hello\":\"world\"}");
    char *not_json = obs_base64("plain text, not gzip, not JSON", 30);
    const char *datas[] = {"!!!not base64!!!", good, NULL, NULL, NULL, NULL, NULL};
    long long before = count("events", "true");
    size_t zl = 0;
    unsigned char *z = obs_gzip(logs, strlen(logs), &zl);
    (void)state;

    /* gzip with its deflate stream damaged */
    memcpy(corrupt, z, zl < sizeof corrupt ? zl : sizeof corrupt);
    corrupt[12] ^= 0xff;
    corrupt[13] ^= 0xff;
    corrupt_b64 = obs_base64(corrupt, sizeof corrupt);
    free(z);
    /* larger than a record may be (1,024,000 bytes decoded) */
    big = malloc(1100000);
    memset(big, 'x', 1100000);
    bigdata = obs_base64(big, 1100000);
    free(big);
    datas[2] = corrupt_b64;
    datas[3] = wrong;
    datas[4] = not_json;
    datas[5] = bigdata;
    body = envelope("c0000000-0000-4000-8000-000000000004", datas);
    assert_int_equal(deliver("c0000000-0000-4000-8000-000000000004", ten.ingest, body,
                             strlen(body), false, NULL),
                     200);
    assert_int_equal(count("events", "true"), before + 4);
    free(body);
    expect_rejections_listed();
    /* Nothing usable at all: a failure Firehose retries, then keeps in its error bucket. */
    datas[1] = "AAAA====";
    datas[2] = NULL;
    body = envelope("c0000000-0000-4000-8000-000000000005", datas);
    expect_firehose_error(deliver("c0000000-0000-4000-8000-000000000005", ten.ingest, body,
                                  strlen(body), false, NULL),
                          400, "c0000000-0000-4000-8000-000000000005", "no record");
    free(body);
    free(good);
    free(logs);
    free(corrupt_b64);
    free(wrong);
    free(not_json);
    free(bigdata);
}

static void test_bad_envelopes(void **state)
{
    static const char *const bodies[] = {"{}", "[]", "{\"requestId\":\"x\",\"records\":[]}",
                                         "{\"requestId\":\"x\",\"timestamp\":1,"
                                         "\"records\":{}}",
                                         "not json"};
    (void)state;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_firehose_error(deliver("c0000000-0000-4000-8000-000000000006", ten.ingest,
                                      bodies[i], strlen(bodies[i]), false, NULL),
                              400, "c0000000-0000-4000-8000-000000000006", "");
    /* A gzip bomb as the body: stopped at 64 MiB, a permanent failure. */
    {
        size_t n = (size_t)80 << 20, bl = 0;
        char *zeros = calloc(1, n);
        unsigned char *bomb = obs_gzip(zeros, n, &bl);
        char u[256], k[200];
        const char *hdrs[] = {"Content-Type: application/json", "Content-Encoding: gzip",
                              "X-Amz-Firehose-Request-Id: c0000000-0000-4000-8000-000000000007",
                              k, NULL};
        free(zeros);
        snprintf(u, sizeof u, "%s/v1/ingest/firehose", srv.base);
        snprintf(k, sizeof k, "X-Amz-Firehose-Access-Key: %s", ten.ingest);
        h_resp_free(&last);
        expect_firehose_error(h_http("POST", u, hdrs, (const char *)bomb, bl, &last), 413,
                              "c0000000-0000-4000-8000-000000000007", "exceeds");
        free(bomb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_delivery_is_acknowledged_with_the_request_id),
        cmocka_unit_test(test_control_messages_and_empty_records_are_fine),
        cmocka_unit_test(test_cloudtrail_records_become_events_and_signals),
        cmocka_unit_test(test_the_access_key_header_authenticates),
        cmocka_unit_test(test_bad_records_are_dropped_and_good_ones_kept),
        cmocka_unit_test(test_bad_envelopes),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    h_resp_free(&last);
    return rc;
}
