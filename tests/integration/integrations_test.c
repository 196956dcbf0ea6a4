/* Notification integrations end to end: the API (validation, redaction, isolation), delivery of
 * outbox events to strict fakes of Slack, PagerDuty, JIRA and Splunk (tests/support/fake_hooks),
 * retries, back-off, Retry-After, dead letters and manual retry, hanging and misbehaving
 * destinations, the test send, and crashes between the event's commit and its delivery. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PD_KEY "e93facc04764012d7bfb002500d5d1a6"
#define JIRA_USER "sec-bot@acme.example"
#define JIRA_TOKEN "ATATT3xFfGF0jiratokensecret"
#define JIRA_PAT "NjM0ODcyMzQ1Njc4OpatsecretDC"
#define SPLUNK_TOKEN "9f2a6c1e-3b7d-4e8f-a1c2-5d6e7f809a1b"
#define SLACK_SECRET "Xy7kqT3mV9pLw2Rn5sHb1cZd"

static struct h_server srv;
static struct h_fake_hooks fake;
static char db[64];
static char token[1024];
static char tenant[40];
static char fake_log[256];

static const char *const server_env[] = {
    "PARAPET_NOTIFY_POLL_MS=50",       "PARAPET_NOTIFY_RETRY_BASE_MS=300",
    "PARAPET_NOTIFY_RETRY_CAP_S=2",    "PARAPET_NOTIFY_MAX_ATTEMPTS=4",
    "PARAPET_NOTIFY_TIMEOUT_MS=1500",  "PARAPET_DASHBOARD_URL=https://app.parapet.example",
    NULL};

static long call_as(const char *tok, const char *method, const char *path, const char *body,
                    json_t **out)
{
    char u[512], auth[1100];
    const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
    struct h_resp r;
    long st;

    snprintf(u, sizeof u, "%s%s", srv.base, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    st = h_http(method, u, hdrs, body, body ? strlen(body) : 0, &r);
    if (out != NULL)
        *out = r.len ? json_loads(r.body, 0, NULL) : NULL;
    h_resp_free(&r);
    return st;
}

static long call(const char *method, const char *path, const char *body, json_t **out)
{
    return call_as(token, method, path, body, out);
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int start_server(void)
{
    json_t *r = NULL;
    if (h_server_start(&srv, db, NULL, server_env) != 0)
        return -1;
    if (token[0] != '\0')
        return 0;
    if (call("POST", "/v1/signup",
             "{\"organization\":\"Notify Co\",\"email\":\"n@notify.example\","
             "\"password\":\"notifications test passphrase\"}",
             &r) != 201)
        return -1;
    snprintf(token, sizeof token, "%s", str(r, "access_token"));
    snprintf(tenant, sizeof tenant, "%s", str(json_object_get(r, "tenant"), "id"));
    json_decref(r);
    return 0;
}

static int setup(void **state)
{
    static const char *const args[] = {
        "--log", fake_log, "--pd-key", PD_KEY, "--jira-user", JIRA_USER, "--jira-token",
        JIRA_TOKEN, "--jira-pat", JIRA_PAT, "--splunk-token", SPLUNK_TOKEN, "--splunk-index",
        "security", NULL};
    (void)state;
    snprintf(fake_log, sizeof fake_log, "/tmp/parapet-hooks-%d.log", (int)getpid());
    unlink(fake_log);
    if (h_fake_hooks_start(&fake, 0, args) != 0)
        return -1;
    h_db_new("notify", db);
    return start_server();
}

static int teardown(void **state)
{
    (void)state;
    h_fake_hooks_stop(&fake, 5000);
    unlink(fake_log);
    return h_server_stop(&srv, 15000) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static char created[64][40];
static size_t ncreated;

/* Creates an integration; writes its id into id. */
static void create(const char *body, char id[40])
{
    json_t *r = NULL;
    long st = call("POST", "/v1/integrations", body, &r);
    if (st != 201)
        fail_msg("create %s: %ld", body, st);
    snprintf(id, 40, "%s", str(r, "id"));
    if (ncreated < sizeof created / sizeof created[0])
        snprintf(created[ncreated++], 40, "%s", id);
    json_decref(r);
}

/* Removes the integrations earlier tests made, so each test sees only its own deliveries, and
 * puts every fake target back to normal. */
static void fresh(void)
{
    char path[128];
    for (size_t i = 0; i < ncreated; i++) {
        snprintf(path, sizeof path, "/v1/integrations/%.36s", created[i]);
        call("DELETE", path, NULL, NULL);
    }
    ncreated = 0;
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"all\",\"mode\":\"ok\"}"), 204);
}

static void slack_body(char *out, size_t n, const char *name, const char *extra)
{
    snprintf(out, n,
             "{\"kind\":\"slack\",\"name\":\"%s\",\"config\":{\"webhook_url\":"
             "\"%s/services/T0AAAAAAA/B0BBBBBBB/" SLACK_SECRET "\"}%s}",
             name, fake.base, extra ? extra : "");
}

static void pd_body(char *out, size_t n, const char *extra)
{
    snprintf(out, n,
             "{\"kind\":\"pagerduty\",\"name\":\"pd\",\"min_severity\":\"info\",\"config\":"
             "{\"routing_key\":\"" PD_KEY "\",\"events_url\":\"%s/v2/enqueue\"}%s}",
             fake.base, extra ? extra : "");
}

/* A fresh random (v4) UUID. */
static void new_uuid(char out[40])
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, sizeof b, f), sizeof b);
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 40,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* incident.opened (high) for each subject, in one transaction. */
static void emit_incidents(char (*subjects)[40], int n)
{
    char url[256], sql[16384];
    size_t o;

    h_db_url(db, false, url, sizeof url);
    o = (size_t)snprintf(sql, sizeof sql, "BEGIN; SELECT set_config('app.tenant_id', '%s', true);",
                         tenant);
    for (int i = 0; i < n && o < sizeof sql - 300; i++)
        o += (size_t)snprintf(sql + o, sizeof sql - o,
                              " INSERT INTO events_outbox (tenant_id, kind, subject_id, severity,"
                              " payload) VALUES (app_tenant(), 'incident.opened', '%.36s', 'high',"
                              " '{\"title\":\"crash test\"}');",
                              subjects[i]);
    snprintf(sql + o, sizeof sql - o, " COMMIT;");
    assert_int_equal(h_sql_exec(url, sql, false), 0);
}

/* Records an event as posture or observe would: in a tenant-scoped transaction. */
static void emit(const char *kind, const char *subject, const char *severity, const char *payload)
{
    char url[256], sql[4096];
    h_db_url(db, false, url, sizeof url);
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT set_config('app.tenant_id', '%s', true);"
             " INSERT INTO events_outbox (tenant_id, kind, subject_id, severity, payload)"
             " VALUES (app_tenant(), '%s', '%s', '%s', '%s'::jsonb); COMMIT;",
             tenant, kind, subject, severity, payload);
    assert_int_equal(h_sql_exec(url, sql, false), 0);
}

/* n finding.opened events (medium) in one transaction, as a scan commits them. */
static void emit_findings(unsigned n)
{
    char url[256], sql[16384];
    size_t o;

    h_db_url(db, false, url, sizeof url);
    o = (size_t)snprintf(sql, sizeof sql, "BEGIN; SELECT set_config('app.tenant_id', '%s', true);",
                         tenant);
    for (unsigned i = 0; i < n && o < sizeof sql - 300; i++)
        o += (size_t)snprintf(sql + o, sizeof sql - o,
                              " INSERT INTO events_outbox (tenant_id, kind, subject_id, severity,"
                              " payload) VALUES (app_tenant(), 'finding.opened', gen_random_uuid(),"
                              " 'medium', '{\"title\":\"Public function URL\"}');");
    snprintf(sql + o, sizeof sql - o, " COMMIT;");
    assert_int_equal(h_sql_exec(url, sql, false), 0);
}

/* Whether the JSON text of o contains needle. */
static bool has(const json_t *o, const char *needle)
{
    char *t = json_dumps(o, 0);
    bool found = t != NULL && strstr(t, needle) != NULL;
    free(t);
    return found;
}

static const char *incident_payload =
    "{\"title\":\"SQL injection against payments-webhook\",\"summary\":\"1,204 attempts from 37 "
    "addresses; one returned rows <b>users</b> & more\",\"counts\":{\"attempts\":1204,"
    "\"sources\":37},\"functions\":[\"payments-webhook\",\"orders-api\"]}";

/* Lines of the fake's log matching every needle (NULL-terminated), as JSON objects (new array). */
static json_t *log_lines(const char *const *needles)
{
    char *text = h_read_file(fake_log);
    json_t *out = json_array();
    char *line = text, *nl;

    while (line != NULL && *line != '\0') {
        bool all = true;
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        for (const char *const *n = needles; *n != NULL; n++)
            if (strstr(line, *n) == NULL)
                all = false;
        if (all && line[0] == '{')
            json_array_append_new(out, json_loads(line, 0, NULL));
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return out;
}

/* Waits up to ms for at least n matching lines; returns them (new array). */
static json_t *wait_lines(const char *const *needles, size_t n, int ms)
{
    long long deadline = h_now_ms() + ms;
    json_t *l = log_lines(needles);
    while (json_array_size(l) < n && h_now_ms() < deadline) {
        json_decref(l);
        h_sleep_ms(50);
        l = log_lines(needles);
    }
    return l;
}

static char *sql_owner(const char *q)
{
    char url[256];
    h_db_admin_url(db, url, sizeof url);
    return h_sql(url, q);
}

static long long sql_num(const char *q)
{
    char *v = sql_owner(q);
    long long n = v != NULL ? strtoll(v, NULL, 10) : -1;
    free(v);
    return n;
}

/* Waits up to ms until want deliveries of the integration are delivered; returns how many are. */
static long long wait_delivered(const char *id, long long want, int ms)
{
    char q[256];
    long long deadline = h_now_ms() + ms, n;
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deliveries WHERE integration_id = '%s' AND status = 'delivered'",
             id);
    while ((n = sql_num(q)) < want && h_now_ms() < deadline)
        h_sleep_ms(50);
    return n;
}

/* The delivery of an integration (newest first), via the API. */
static json_t *deliveries(const char *id)
{
    char path[128];
    json_t *r = NULL;
    snprintf(path, sizeof path, "/v1/integrations/%s/deliveries", id);
    assert_int_equal(call("GET", path, NULL, &r), 200);
    return r;
}

/* Waits until the integration's newest delivery has status want; returns it (new ref). */
static json_t *wait_delivery(const char *id, const char *want, int ms)
{
    long long deadline = h_now_ms() + ms;
    for (;;) {
        json_t *r = deliveries(id);
        json_t *d = json_array_get(json_object_get(r, "items"), 0);
        if (d != NULL && strcmp(str(d, "status"), want) == 0) {
            json_incref(d);
            json_decref(r);
            return d;
        }
        json_decref(r);
        if (h_now_ms() > deadline)
            fail_msg("integration %s: no delivery became %s", id, want);
        h_sleep_ms(50);
    }
}

/* ---- the API ---- */

static void test_crud_redacts_secrets_and_keeps_them_write_only(void **state)
{
    char body[1024], id[40], path[128], *v;
    json_t *r = NULL;
    (void)state;

    slack_body(body, sizeof body, "alerts", ",\"min_severity\":\"medium\"");
    assert_int_equal(call("POST", "/v1/integrations", body, &r), 201);
    snprintf(id, sizeof id, "%s", str(r, "id"));
    assert_string_equal(str(r, "kind"), "slack");
    assert_string_equal(str(r, "min_severity"), "medium");
    assert_int_equal(json_array_size(json_object_get(r, "events")), 4);
    assert_false(has(r, SLACK_SECRET));
    assert_non_null(strstr(str(json_object_get(r, "config"), "webhook_url"), "127.0.0.1"));
    json_decref(r);

    snprintf(path, sizeof path, "/v1/integrations/%s", id);
    assert_int_equal(call("GET", path, NULL, &r), 200);
    assert_false(has(r, SLACK_SECRET));
    json_decref(r);
    assert_int_equal(call("GET", "/v1/integrations", NULL, &r), 200);
    assert_true(json_array_size(json_object_get(r, "items")) >= 1);
    assert_false(has(r, SLACK_SECRET));
    json_decref(r);

    /* At rest the secret is sealed: neither the URL nor its secret appears in the row. */
    snprintf(body, sizeof body,
             "SELECT count(*) FROM integrations WHERE position(convert_to('" SLACK_SECRET
             "', 'UTF8') IN secrets) > 0 OR config::text LIKE '%%" SLACK_SECRET "%%'");
    v = sql_owner(body);
    assert_string_equal(v, "0");
    free(v);

    /* A PATCH without config keeps the secret: the test send still reaches the hook. */
    assert_int_equal(call("PATCH", path, "{\"name\":\"renamed\",\"events\":[\"incident.opened\"]}",
                          &r),
                     200);
    assert_string_equal(str(r, "name"), "renamed");
    assert_int_equal(json_array_size(json_object_get(r, "events")), 1);
    json_decref(r);
    snprintf(body, sizeof body, "/v1/integrations/%s/test", id);
    assert_int_equal(call("POST", body, NULL, &r), 200);
    assert_true(json_is_true(json_object_get(r, "delivered")));
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 200);
    assert_string_equal(str(r, "response"), "ok");
    json_decref(r);

    /* Another tenant sees nothing of it. */
    {
        json_t *s = NULL;
        char other[1024];
        assert_int_equal(call_as("", "POST", "/v1/signup",
                                 "{\"organization\":\"Other Co\",\"email\":\"o@other.example\","
                                 "\"password\":\"another tenant passphrase\"}",
                                 &s),
                         201);
        snprintf(other, sizeof other, "%s", str(s, "access_token"));
        json_decref(s);
        assert_int_equal(call_as(other, "GET", path, NULL, NULL), 404);
        assert_int_equal(call_as(other, "GET", "/v1/integrations", NULL, &s), 200);
        assert_int_equal(json_array_size(json_object_get(s, "items")), 0);
        json_decref(s);
    }

    assert_int_equal(call("DELETE", path, NULL, NULL), 204);
    assert_int_equal(call("GET", path, NULL, NULL), 404);
    assert_int_equal(call("DELETE", path, NULL, NULL), 404);
}

static void expect_400(const char *body, const char *field)
{
    json_t *r = NULL;
    long st = call("POST", "/v1/integrations", body, &r);
    if (st != 400)
        fail_msg("%.200s: %ld, want 400", body, st);
    if (field != NULL &&
        strcmp(str(json_array_get(json_object_get(r, "errors"), 0), "field"), field) != 0)
        fail_msg("%.200s: field %s, want %s", body,
                 str(json_array_get(json_object_get(r, "errors"), 0), "field"), field);
    json_decref(r);
}

static void expect_bad_url(const char *url)
{
    char body[12000];
    snprintf(body, sizeof body,
             "{\"kind\":\"slack\",\"name\":\"x\",\"config\":{\"webhook_url\":\"%s\"}}", url);
    expect_400(body, "config.webhook_url");
}

static void test_bad_input_is_a_clear_400(void **state)
{
    static const char *const urls[] = {
        "http://10.0.0.1/services/T/B/x",          "https://167772161/x", /* 10.0.0.1 */
        "https://012.0.0.1/x",                     "https://0xa9fea9fe/latest/meta-data/",
        "https://0251.0376.0251.0376/",            "https://169.254.169.254/",
        "https://169.254.43518/",                  "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:a9fe:a9fe]/",             "https://[::1]/",
        "https://[fd00::1]/",                      "https://[fe80::1]/",
        "https://[64:ff9b::a9fe:a9fe]/",           "https://192.168.1.10/",
        "https://172.16.0.1/",                     "https://100.64.0.1/",
        "https://0.0.0.0/",                        "https://localhost/hook",
        "https://LOCALHOST./hook",                 "https://metadata.google.internal/",
        "https://printer.local/",                  "https://intranet/",
        "ftp://hooks.slack.com/x",                 "file:///etc/passwd",
        "gopher://hooks.slack.com/",               "http://hooks.slack.com/services/T/B/x",
        "https://user:pw@hooks.slack.com/x",       "hooks.slack.com/services",
        "https://hooks.slack.com/a b",             "",
    };
    char big[11000];
    (void)state;

    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        expect_bad_url(urls[i]);
    /* A 10 KB URL. */
    snprintf(big, sizeof big, "https://hooks.slack.com/");
    memset(big + strlen(big), 'a', 10240);
    big[10240 + 24] = '\0';
    expect_bad_url(big);

    expect_400("{\"kind\":\"teams\",\"name\":\"x\",\"config\":{}}", "kind");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"config\":{}}", "config.webhook_url");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"config\":{\"webhook_url\":"
               "\"https://hooks.slack.com/services/T/B/x\",\"channel\":\"#sec\"}}",
               "config.channel");
    expect_400("{\"kind\":\"slack\",\"name\":\"\",\"config\":{\"webhook_url\":"
               "\"https://hooks.slack.com/services/T/B/x\"}}",
               "name");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"config\":\"https://hooks.slack.com/\"}",
               "config");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"min_severity\":\"urgent\",\"config\":"
               "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}}",
               "min_severity");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"events\":[\"incident.deleted\"],\"config\":"
               "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}}",
               "events[0]");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"events\":[\"incident.opened\","
               "\"incident.opened\"],\"config\":{\"webhook_url\":"
               "\"https://hooks.slack.com/services/T/B/x\"}}",
               "events[1]");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"events\":[],\"config\":"
               "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}}",
               "events");
    expect_400("{\"kind\":\"pagerduty\",\"name\":\"x\",\"config\":{\"routing_key\":\"short\"}}",
               "config.routing_key");
    expect_400("{\"kind\":\"pagerduty\",\"name\":\"x\",\"config\":{\"routing_key\":\"" PD_KEY
               "\",\"events_url\":\"https://169.254.169.254/v2/enqueue\"}}",
               "config.events_url");
    expect_400("{\"kind\":\"jira\",\"name\":\"x\",\"config\":{\"base_url\":"
               "\"https://acme.atlassian.net\",\"user\":\"a@b.example\",\"api_token\":\"t\","
               "\"pat\":\"p\",\"project_key\":\"SEC\"}}",
               "config.api_token");
    expect_400("{\"kind\":\"jira\",\"name\":\"x\",\"config\":{\"base_url\":"
               "\"https://jira.acme.example\",\"pat\":\"p\",\"project_key\":\"SEC\","
               "\"api_version\":3}}",
               "config.api_version");
    expect_400("{\"kind\":\"jira\",\"name\":\"x\",\"config\":{\"base_url\":"
               "\"https://acme.atlassian.net\",\"user\":\"a@b.example\",\"api_token\":\"t\","
               "\"project_key\":\"sec proj\"}}",
               "config.project_key");
    expect_400("{\"kind\":\"jira\",\"name\":\"x\",\"config\":{\"base_url\":"
               "\"https://acme.atlassian.net\",\"user\":\"a@b.example\",\"api_token\":\"t\","
               "\"project_key\":\"SEC\",\"api_version\":\"3\"}}",
               "config.api_version");
    expect_400("{\"kind\":\"splunk\",\"name\":\"x\",\"config\":{\"hec_url\":"
               "\"https://splunk.acme.example:8088/services/collector/event\"}}",
               "config.token");
    expect_400("{\"kind\":\"splunk\",\"name\":\"x\",\"config\":{\"hec_url\":"
               "\"https://splunk.acme.example:8088/services/collector/event\",\"token\":\"a b\"}}",
               "config.token");
    expect_400("{\"kind\":\"slack\",\"name\":\"x\",\"config\":{\"webhook_url\":"
               "\"https://hooks.slack.com/services/T/B/x\"},\"secret\":1}",
               "secret");
    /* PATCH validates the same way, and an empty PATCH says what it wants. */
    {
        char body[1024], id[40], path[128];
        slack_body(body, sizeof body, "patch-me", NULL);
        create(body, id);
        snprintf(path, sizeof path, "/v1/integrations/%s", id);
        assert_int_equal(call("PATCH", path, "{}", NULL), 400);
        assert_int_equal(
            call("PATCH", path, "{\"config\":{\"webhook_url\":\"https://2130706433.0/x\"}}", NULL),
            400);
        assert_int_equal(
            call("PATCH", path, "{\"config\":{\"webhook_url\":\"https://[::ffff:10.1.2.3]/\"}}",
                 NULL),
            400);
        assert_int_equal(call("PATCH", path, "{\"config\":{\"webhook_url\":null}}", NULL), 400);
        assert_int_equal(call("DELETE", path, NULL, NULL), 204);
    }
}

/* ---- deliveries ---- */

static void test_slack_gets_block_kit_within_a_second(void **state)
{
    char body[1024], id[40], subject[40], low[40], finding[40];
    const char *needles[] = {"\"target\":\"slack\"", NULL, NULL};
    json_t *l, *msg, *blocks;
    long long t0;
    (void)state;
    fresh();

    slack_body(body, sizeof body, "slack",
               ",\"min_severity\":\"high\",\"events\":[\"incident.opened\"]");
    create(body, id);
    new_uuid(subject);
    new_uuid(low);
    new_uuid(finding);
    emit("incident.opened", low, "low", incident_payload);       /* below min_severity */
    emit("finding.opened", finding, "critical", incident_payload); /* not subscribed */
    t0 = h_now_ms();
    emit("incident.opened", subject, "critical", incident_payload);
    needles[1] = subject;
    l = wait_lines(needles, 1, 5000);
    assert_int_equal(json_array_size(l), 1);
    assert_true(h_now_ms() - t0 < 2000);
    msg = json_object_get(json_array_get(l, 0), "body");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "status")), 200);
    assert_non_null(strstr(str(msg, "text"), "[Critical]"));
    assert_non_null(strstr(str(msg, "text"), "SQL injection against payments-webhook"));
    blocks = json_object_get(msg, "blocks");
    assert_string_equal(str(json_array_get(blocks, 0), "type"), "header");
    /* Slack's control characters are escaped in mrkdwn. */
    assert_true(has(blocks, "&lt;b&gt;users&lt;/b&gt; &amp; more"));
    assert_true(has(blocks, "payments-webhook"));
    assert_true(has(blocks, "attempts: 1204"));
    {
        char link[128];
        snprintf(link, sizeof link, "https://app.parapet.example/incidents/%s", subject);
        assert_true(has(blocks, link));
    }
    json_decref(l);
    h_sleep_ms(300);
    needles[1] = low;
    l = log_lines(needles);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    needles[1] = finding;
    l = log_lines(needles);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    json_decref(wait_delivery(id, "delivered", 2000));
}

static void test_pagerduty_triggers_escalates_and_resolves_one_alert(void **state)
{
    char body[1024], id[40], subject[40], dedup[80];
    const char *needles[] = {"\"target\":\"pagerduty\"", dedup, NULL};
    json_t *l;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    new_uuid(subject);
    snprintf(dedup, sizeof dedup, "\"dedup_key\":\"%s\"", subject);
    emit("incident.opened", subject, "high", incident_payload);
    emit("incident.escalated", subject, "critical", incident_payload);
    emit("incident.resolved", subject, "critical", "{\"title\":\"resolved\"}");
    l = wait_lines(needles, 3, 8000);
    assert_int_equal(json_array_size(l), 3);
    /* In order, one alert: trigger (error), trigger (critical), resolve. */
    assert_string_equal(str(json_object_get(json_array_get(l, 0), "body"), "event_action"),
                        "trigger");
    assert_string_equal(str(json_object_get(json_object_get(json_array_get(l, 0), "body"),
                                            "payload"),
                            "severity"),
                        "error");
    assert_string_equal(str(json_object_get(json_object_get(json_array_get(l, 1), "body"),
                                            "payload"),
                            "severity"),
                        "critical");
    assert_string_equal(str(json_object_get(json_array_get(l, 2), "body"), "event_action"),
                        "resolve");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(l, i), "status")),
                         202);
    json_decref(l);
}

static void jira_flow(const char *config, int version, const char *auth)
{
    char body[2048], id[40], subject[40], q[256], *v;
    json_t *l;
    const char *key;
    char vneedle[32];

    snprintf(body, sizeof body, "{\"kind\":\"jira\",\"name\":\"jira\",\"min_severity\":\"info\","
                                "\"config\":%s}",
             config);
    create(body, id);
    new_uuid(subject);
    emit("incident.opened", subject, "high", incident_payload);
    emit("incident.opened", subject, "high", incident_payload); /* a repeat: no second issue */
    emit("incident.escalated", subject, "critical", incident_payload);
    emit("incident.resolved", subject, "critical", "{\"title\":\"resolved\"}");
    json_decref(wait_delivery(id, "delivered", 8000));
    if (wait_delivered(id, 4, 8000) != 4) /* all four */
        fail_msg("JIRA deliveries did not all arrive");
    snprintf(q, sizeof q, "SELECT issue_key FROM jira_issues WHERE integration_id = '%s'", id);
    v = sql_owner(q);
    assert_non_null(v);
    key = v;
    snprintf(vneedle, sizeof vneedle, "\"version\":%d", version);
    {
        char kneedle[64];
        const char *kn[] = {"\"target\":\"jira\"", kneedle, vneedle, NULL};
        snprintf(kneedle, sizeof kneedle, "\"key\":\"%s\"", key);
        l = log_lines(kn);
        /* create, comment (the repeated open), comment (escalation), transition */
        assert_int_equal(json_array_size(l), 4);
        assert_string_equal(str(json_array_get(l, 0), "path"),
                            version == 2 ? "/rest/api/2/issue" : "/rest/api/3/issue");
        for (size_t i = 0; i < 4; i++)
            assert_string_equal(str(json_array_get(l, i), "auth"), auth);
        assert_non_null(strstr(str(json_array_get(l, 1), "path"), "/comment"));
        assert_non_null(strstr(str(json_array_get(l, 2), "path"), "/comment"));
        assert_string_equal(str(json_array_get(l, 3), "transition"), "31");
        {
            json_t *desc = json_object_get(
                json_object_get(json_object_get(json_array_get(l, 0), "body"), "fields"),
                "description");
            if (version == 3)
                assert_string_equal(str(desc, "type"), "doc");
            else
                assert_true(json_is_string(desc));
        }
        json_decref(l);
    }
    free(v);
    snprintf(q, sizeof q, "SELECT count(*) FROM jira_issues WHERE integration_id = '%s'", id);
    v = sql_owner(q);
    assert_string_equal(v, "1");
    free(v);
}

static void test_jira_cloud_v3_one_issue_per_incident(void **state)
{
    char config[1024];
    (void)state;
    fresh();
    snprintf(config, sizeof config,
             "{\"base_url\":\"%s\",\"user\":\"" JIRA_USER "\",\"api_token\":\"" JIRA_TOKEN
             "\",\"project_key\":\"SEC\",\"issue_type\":\"Bug\",\"api_version\":3}",
             fake.base);
    jira_flow(config, 3, "basic");
}

static void test_jira_data_center_v2_with_a_personal_access_token(void **state)
{
    char config[1024];
    (void)state;
    fresh();
    snprintf(config, sizeof config,
             "{\"base_url\":\"%s/\",\"pat\":\"" JIRA_PAT "\",\"project_key\":\"SEC\","
             "\"resolve_transition\":\"Done\"}",
             fake.base);
    jira_flow(config, 2, "pat");
}

static void test_splunk_batches_many_pending_events(void **state)
{
    char body[1024], id[40], q[256], *v;
    const char *needles[] = {"\"target\":\"splunk\"", NULL, NULL};
    json_t *l;
    size_t events = 0, i;
    json_t *line;
    (void)state;
    fresh();

    snprintf(body, sizeof body,
             "{\"kind\":\"splunk\",\"name\":\"hec\",\"min_severity\":\"info\",\"enabled\":false,"
             "\"config\":{\"hec_url\":\"%s/services/collector/event\",\"token\":\"" SPLUNK_TOKEN
             "\",\"index\":\"security\",\"sourcetype\":\"parapet:incident\"}}",
             fake.base);
    create(body, id);
    /* Disabled while 30 events pile up, then enabled: they leave in batches. */
    snprintf(q, sizeof q, "/v1/integrations/%s", id);
    emit_findings(30);
    h_sleep_ms(300);
    assert_int_equal(call("PATCH", q, "{\"enabled\":true}", NULL), 200);
    snprintf(q, sizeof q, "SELECT count(*) FROM deliveries WHERE integration_id = '%s'", id);
    v = sql_owner(q);
    assert_string_equal(v, "0"); /* disabled integrations take no events */
    free(v);
    /* A scan that opens 30 findings commits them in one transaction: they leave in batches. */
    emit_findings(30);
    needles[1] = "parapet:incident";
    {
        long long deadline = h_now_ms() + 8000;
        do {
            l = log_lines(needles);
            events = 0;
            json_array_foreach(l, i, line) events +=
                json_array_size(json_object_get(line, "events"));
            if (events >= 30)
                break;
            json_decref(l);
            l = NULL;
            h_sleep_ms(50);
        } while (h_now_ms() < deadline);
    }
    assert_non_null(l);
    assert_int_equal(events, 30);
    assert_true(json_array_size(l) < 30); /* batched */
    line = json_array_get(json_object_get(json_array_get(l, 0), "events"), 0);
    assert_string_equal(str(line, "index"), "security");
    assert_string_equal(str(json_object_get(line, "fields"), "parapet_kind"), "finding.opened");
    assert_string_equal(str(json_object_get(line, "event"), "severity"), "medium");
    json_decref(l);
}

static void test_retry_after_and_backoff_are_honoured(void **state)
{
    char body[1024], id[40], subject[40], dedup[80];
    const char *needles[] = {"\"target\":\"pagerduty\"", dedup, NULL};
    json_t *l, *d;
    long long t_first = 0;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    new_uuid(subject);
    snprintf(dedup, sizeof dedup, "\"dedup_key\":\"%s\"", subject);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"throttle\","
                                                 "\"retry_after\":2,\"times\":1}"),
                     204);
    emit("incident.opened", subject, "critical", incident_payload);
    l = wait_lines(needles, 1, 5000);
    assert_int_equal(json_array_size(l), 1);
    t_first = h_now_ms();
    json_decref(l);
    l = wait_lines(needles, 2, 8000);
    assert_int_equal(json_array_size(l), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "status")), 429);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "status")), 202);
    assert_true(h_now_ms() - t_first >= 1700); /* waited for Retry-After: 2 */
    json_decref(l);
    d = wait_delivery(id, "delivered", 3000);
    assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 2);
    assert_int_equal(json_integer_value(json_object_get(d, "last_status")), 202);
    json_decref(d);

    /* 503 twice: retried with back-off, then delivered. */
    new_uuid(subject);
    snprintf(dedup, sizeof dedup, "\"dedup_key\":\"%s\"", subject);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"fail\","
                                                 "\"status\":500,\"times\":2}"),
                     204);
    emit("incident.opened", subject, "critical", incident_payload);
    l = wait_lines(needles, 3, 10000);
    assert_int_equal(json_array_size(l), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "status")), 500);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 2), "status")), 202);
    json_decref(l);
}

static void test_permanent_4xx_is_dead_lettered_and_can_be_retried(void **state)
{
    char body[1024], id[40], subject[40], path[128];
    json_t *d, *r = NULL;
    (void)state;
    fresh();

    slack_body(body, sizeof body, "dead", ",\"min_severity\":\"info\"");
    create(body, id);
    new_uuid(subject);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"slack\",\"mode\":\"fail\","
                                                 "\"status\":404}"),
                     204);
    emit("incident.opened", subject, "high", incident_payload);
    d = wait_delivery(id, "dead", 5000);
    assert_int_equal(json_integer_value(json_object_get(d, "attempts")), 1);
    assert_int_equal(json_integer_value(json_object_get(d, "last_status")), 404);
    assert_string_equal(str(d, "last_error"), "HTTP 404: no_service");
    json_decref(d);

    /* The test endpoint shows the destination's answer. */
    snprintf(path, sizeof path, "/v1/integrations/%s/test", id);
    assert_int_equal(call("POST", path, NULL, &r), 200);
    assert_false(json_is_true(json_object_get(r, "delivered")));
    assert_int_equal(json_integer_value(json_object_get(r, "status")), 404);
    assert_string_equal(str(r, "response"), "no_service");
    json_decref(r);

    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"slack\",\"mode\":\"ok\"}"), 204);
    snprintf(path, sizeof path, "/v1/integrations/%s/retry", id);
    assert_int_equal(call("POST", path, "{\"delivery_ids\":[0]}", NULL), 400);
    assert_int_equal(call("POST", path, "{}", &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "retried")), 1);
    json_decref(r);
    d = wait_delivery(id, "delivered", 5000);
    assert_int_equal(json_integer_value(json_object_get(d, "last_status")), 200);
    json_decref(d);
}

static void test_huge_and_garbage_answers_are_recorded_errors(void **state)
{
    char body[1024], id[40], subject[40], q[256], *v;
    json_t *d;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    new_uuid(subject);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"huge\","
                                                 "\"times\":1}"),
                     204);
    emit("incident.opened", subject, "critical", incident_payload);
    d = wait_delivery(id, "delivered", 10000);
    json_decref(d);
    /* The first attempt's error was recorded, not a crash, and nothing was lost. */
    snprintf(q, sizeof q,
             "SELECT attempts FROM deliveries WHERE integration_id = '%s'", id);
    v = sql_owner(q);
    assert_string_equal(v, "2");
    free(v);

    new_uuid(subject);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"garbage\"}"),
                     204);
    emit("incident.opened", subject, "critical", incident_payload);
    {
        long long deadline = h_now_ms() + 8000;
        for (;;) {
            json_t *r = deliveries(id);
            json_t *x = json_array_get(json_object_get(r, "items"), 0);
            bool seen = x != NULL && strstr(str(x, "last_error"), "without status") != NULL;
            json_decref(r);
            if (seen)
                break;
            if (h_now_ms() > deadline)
                fail_msg("garbage answer not recorded");
            h_sleep_ms(50);
        }
    }
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"ok\"}"),
                     204);
    json_decref(wait_delivery(id, "delivered", 8000));
}

static void test_a_hanging_destination_does_not_slow_the_others(void **state)
{
    char body[1024], hang_id[40], pd_id[40], s1[40], s2[40], dedup[80];
    const char *needles[] = {"\"target\":\"pagerduty\"", dedup, NULL};
    json_t *l;
    long long t0;
    (void)state;
    fresh();

    snprintf(body, sizeof body,
             "{\"kind\":\"splunk\",\"name\":\"hang\",\"min_severity\":\"info\",\"config\":"
             "{\"hec_url\":\"%s/services/collector\",\"token\":\"" SPLUNK_TOKEN "\"}}",
             fake.base);
    create(body, hang_id);
    pd_body(body, sizeof body, NULL);
    create(body, pd_id);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"splunk\",\"mode\":\"hang\","
                                                 "\"hang_s\":20,\"times\":1}"),
                     204);
    new_uuid(s1);
    new_uuid(s2);
    emit("incident.opened", s1, "critical", incident_payload);
    h_sleep_ms(200); /* the Splunk request is now hanging */
    t0 = h_now_ms();
    emit("incident.opened", s2, "critical", incident_payload);
    snprintf(dedup, sizeof dedup, "\"dedup_key\":\"%s\"", s2);
    l = wait_lines(needles, 1, 5000);
    assert_int_equal(json_array_size(l), 1);
    assert_true(h_now_ms() - t0 < 1500);
    json_decref(l);
    /* The hanging request times out and the retry gets through. */
    json_decref(wait_delivery(hang_id, "delivered", 15000));
}

/* A destination that keeps hanging holds one delivery in flight after its first timeout (a
 * probe), not its full share of the slots, and gets everything once it answers again. */
static void test_a_destination_that_keeps_hanging_is_probed_one_at_a_time(void **state)
{
    char body[1024], id[40], subjects[8][40], q[256];
    long long deadline, most = 0;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"hang\","
                                                 "\"hang_s\":20}"),
                     204);
    for (int i = 0; i < 8; i++) {
        new_uuid(subjects[i]);
        emit("incident.opened", subjects[i], "critical", incident_payload);
    }
    /* The first wave (all eight in flight) times out after 1.5 s. */
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deliveries WHERE integration_id = '%s' AND attempts >= 1"
             " AND status = 'pending'",
             id);
    deadline = h_now_ms() + 8000;
    while (sql_num(q) < 1 && h_now_ms() < deadline)
        h_sleep_ms(50);
    assert_true(sql_num(q) >= 1);
    /* From then on: at most one in flight, through retries and timeouts, for 4 s. */
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deliveries WHERE integration_id = '%s' AND status = 'sending'",
             id);
    h_sleep_ms(300); /* the rest of the first wave is being recorded */
    deadline = h_now_ms() + 4000;
    while (h_now_ms() < deadline) {
        long long n = sql_num(q);
        if (n > most)
            most = n;
        h_sleep_ms(50);
    }
    assert_true(most >= 1); /* it was probed */
    assert_int_equal(most, 1);
    /* It answers again: everything is delivered. */
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"ok\"}"),
                     204);
    assert_int_equal(wait_delivered(id, 8, 30000), 8);
}

/* Notification history is kept for the retention period: an old event whose deliveries have all
 * ended (delivered, dead) goes with them; one with a delivery still pending stays however old,
 * and so do recent ones. */
static void test_old_notification_history_is_deleted(void **state)
{
    static const char *const cases[][2] = {
        {"40", "delivered"}, {"40", "dead"}, {"40", "pending"}, {"1", "delivered"}};
    char body[1024], id[40], q[1024], app[256], admin[256], *v;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    h_db_admin_url(db, admin, sizeof admin);
    h_db_url(db, false, app, sizeof app);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(q, sizeof q,
                 "WITH e AS (INSERT INTO events_outbox (tenant_id, kind, subject_id, severity,"
                 " payload, created_at, dispatched_at) VALUES ('%s', 'incident.opened',"
                 " gen_random_uuid(), 'high', '{\"title\":\"old\"}', now() - interval '%s days',"
                 " now() - interval '%s days') RETURNING event_id, subject_id)"
                 " INSERT INTO deliveries (tenant_id, integration_id, event_id, subject_id, status,"
                 " attempts, next_attempt_at) SELECT '%s', '%s', event_id, subject_id, '%s', 1,"
                 " now() + interval '1 day' FROM e", /* the worker leaves it alone */
                 tenant, cases[k][0], cases[k][0], tenant, id, cases[k][1]);
        assert_int_equal(h_sql_exec(admin, q, false), 0);
    }
    v = h_sql(app, "SELECT outbox_retention(30)");
    assert_non_null(v);
    assert_string_equal(v, "2");
    free(v);
    snprintf(q, sizeof q,
             "SELECT string_agg(status, ',' ORDER BY status) FROM deliveries"
             " WHERE integration_id = '%s'",
             id);
    v = sql_owner(q);
    assert_non_null(v);
    assert_string_equal(v, "delivered,pending"); /* the recent one and the unfinished one */
    free(v);
}

static void test_every_secret_stays_out_of_the_server_log(void **state)
{
    static const char *const secrets[] = {SLACK_SECRET, PD_KEY, JIRA_TOKEN, JIRA_PAT,
                                          SPLUNK_TOKEN};
    char *text = h_read_file(srv.log_path);
    (void)state;

    assert_non_null(text);
    assert_non_null(strstr(text, "notify.")); /* the worker did log */
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(text, secrets[i]) != NULL)
            fail_msg("secret %zu is in the server log", i);
    free(text);
}

/* Kills the server between events' commit and their delivery; after a restart each is
 * delivered exactly once. */
static void test_a_crash_between_commit_and_delivery_loses_and_repeats_nothing(void **state)
{
    char body[1024], id[40], subjects[40][40], needle[80], q[256], *v;
    (void)state;
    fresh();

    pd_body(body, sizeof body, NULL);
    create(body, id);
    /* 1. Committed while the server is down. */
    h_server_kill(&srv);
    for (int i = 0; i < 40; i++)
        new_uuid(subjects[i]);
    emit_incidents(subjects, 20);
    /* 2. Committed, tried and failing when the server dies. */
    assert_int_equal(start_server(), 0);
    /* Every attempt is throttled (Retry-After: 3) until the server dies: nothing can have been
     * accepted by the destination before the kill, so "exactly once" is a fair demand even
     * when the server is slow (sanitizers). */
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\","
                                                 "\"mode\":\"throttle\",\"retry_after\":3,"
                                                 "\"times\":100000}"),
                     204);
    emit_incidents(subjects + 20, 20);
    {
        long long deadline = h_now_ms() + 10000;
        for (;;) {
            snprintf(q, sizeof q,
                     "SELECT count(*) FROM deliveries WHERE integration_id = '%s'"
                     " AND attempts > 0 AND status = 'pending'",
                     id);
            v = sql_owner(q);
            long n = v ? strtol(v, NULL, 10) : 0;
            free(v);
            if (n >= 10)
                break;
            if (h_now_ms() > deadline)
                fail_msg("no failing attempts recorded");
            h_sleep_ms(50);
        }
    }
    h_server_kill(&srv);
    assert_int_equal(h_fake_hooks_control(&fake, "{\"target\":\"pagerduty\",\"mode\":\"ok\"}"),
                     204);
    assert_int_equal(start_server(), 0);
    if (wait_delivered(id, 40, 30000) != 40)
        fail_msg("not every delivery arrived after the restart");
    for (int i = 0; i < 40; i++) {
        const char *n[] = {"\"target\":\"pagerduty\"", "\"status\":202", needle, NULL};
        json_t *l;
        snprintf(needle, sizeof needle, "\"dedup_key\":\"%.36s\"", subjects[i]);
        l = log_lines(n);
        if (json_array_size(l) != 1)
            fail_msg("event %d delivered %zu times", i, json_array_size(l));
        json_decref(l);
    }
    snprintf(q, sizeof q, "SELECT count(*) FROM events_outbox WHERE dispatched_at IS NULL");
    v = sql_owner(q);
    assert_string_equal(v, "0");
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud_redacts_secrets_and_keeps_them_write_only),
        cmocka_unit_test(test_bad_input_is_a_clear_400),
        cmocka_unit_test(test_slack_gets_block_kit_within_a_second),
        cmocka_unit_test(test_pagerduty_triggers_escalates_and_resolves_one_alert),
        cmocka_unit_test(test_jira_cloud_v3_one_issue_per_incident),
        cmocka_unit_test(test_jira_data_center_v2_with_a_personal_access_token),
        cmocka_unit_test(test_splunk_batches_many_pending_events),
        cmocka_unit_test(test_retry_after_and_backoff_are_honoured),
        cmocka_unit_test(test_permanent_4xx_is_dead_lettered_and_can_be_retried),
        cmocka_unit_test(test_huge_and_garbage_answers_are_recorded_errors),
        cmocka_unit_test(test_a_hanging_destination_does_not_slow_the_others),
        cmocka_unit_test(test_a_destination_that_keeps_hanging_is_probed_one_at_a_time),
        cmocka_unit_test(test_old_notification_history_is_deleted),
        cmocka_unit_test(test_every_secret_stays_out_of_the_server_log),
        cmocka_unit_test(test_a_crash_between_commit_and_delivery_loses_and_repeats_nothing),
    };
    return cmocka_run_group_tests_name("integration/integrations", tests, setup, teardown);
}
