/* Tenancy and authentication against the real server and database: sign-up, sign-in, refresh
 * rotation and reuse, sign-out, throttling, API keys, the audit log, the role matrix over every
 * route, cross-tenant access over every route with an id, and the row-level security
 * catalogue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "api/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct h_server srv;
static char db[64];
static char admin_url[256];

struct tenant {
    char access[1024];
    char refresh[128];
    char tenant_id[40];
    char user_id[40];
    char slug[64];
    char email[128];
};

static struct tenant ta, tb;
static const char password[] = "correct horse battery staple";

static int setup(void **state)
{
    static const char *const env[] = {"PARAPET_WORKERS=1", "PARAPET_AWS_ACCOUNT_ID=111122223333",
                                      NULL};
    (void)state;
    h_db_new("auth", db);
    h_db_admin_url(db, admin_url, sizeof admin_url);
    return h_server_start(&srv, db, NULL, env);
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

/* Sends method path with an optional bearer token and JSON body; parses a JSON reply. */
static long call(const char *method, const char *path, const char *bearer, const char *body,
                 json_t **out)
{
    return h_api(srv.base, bearer, method, path, body, out);
}

/* As call(), with the key in a protocol's own header (Firehose) instead of Authorization. */
static long call_key_header(const char *method, const char *path, const char *header,
                            const char *key)
{
    char u[2048], h[1200];
    const char *hdrs[3] = {"Content-Type: application/json", h, NULL};
    struct h_resp r;
    long st;

    snprintf(u, sizeof u, "%s%s", srv.base, path);
    snprintf(h, sizeof h, "%s: %s", header, key);
    st = h_http(method, u, hdrs, NULL, 0, &r);
    h_resp_free(&r);
    return st;
}

static const char *str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void signup(struct tenant *t, const char *org, const char *email)
{
    char body[512];
    json_t *r = NULL;

    snprintf(body, sizeof body, "{\"organization\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}",
             org, email, password);
    assert_int_equal(call("POST", "/v1/signup", NULL, body, &r), 201);
    assert_non_null(r);
    snprintf(t->access, sizeof t->access, "%s", str(r, "access_token"));
    snprintf(t->refresh, sizeof t->refresh, "%s", str(r, "refresh_token"));
    snprintf(t->tenant_id, sizeof t->tenant_id, "%s", str(json_object_get(r, "tenant"), "id"));
    snprintf(t->slug, sizeof t->slug, "%s", str(json_object_get(r, "tenant"), "slug"));
    snprintf(t->user_id, sizeof t->user_id, "%s", str(json_object_get(r, "user"), "id"));
    snprintf(t->email, sizeof t->email, "%s", str(json_object_get(r, "user"), "email"));
    assert_string_equal(str(r, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(r, "expires_in")), 900);
    assert_string_equal(str(json_object_get(r, "user"), "role"), "owner");
    json_decref(r);
}

static char *sql(const char *q)
{
    return h_sql(admin_url, q);
}

static void test_signup_creates_tenant_and_owner(void **state)
{
    json_t *me = NULL;
    (void)state;

    signup(&ta, "Acme Corp", "Alice@Example.COM");
    assert_string_equal(ta.email, "alice@example.com"); /* normalised */
    assert_string_equal(ta.slug, "acme-corp");
    signup(&tb, "Bravo Ltd", "bob@bravo.example");
    assert_int_equal(call("GET", "/v1/me", ta.access, NULL, &me), 200);
    assert_string_equal(str(json_object_get(me, "tenant"), "id"), ta.tenant_id);
    assert_string_equal(str(json_object_get(me, "user"), "email"), "alice@example.com");
    assert_string_equal(str(me, "role"), "owner");
    assert_string_equal(str(me, "auth"), "jwt");
    assert_null(json_object_get(json_object_get(me, "user"), "password_hash"));
    json_decref(me);
}

static void expect_400(const char *body, const char *field)
{
    json_t *r = NULL;
    assert_int_equal(call("POST", "/v1/signup", NULL, body, &r), 400);
    assert_non_null(r);
    if (field != NULL) {
        json_t *e = json_array_get(json_object_get(r, "errors"), 0);
        assert_string_equal(str(e, "field"), field);
    }
    json_decref(r);
}

static void test_bad_signups_are_400_and_create_nothing(void **state)
{
    char *before, *after;
    char *big = malloc(10100);
    (void)state;

    before = sql("SELECT count(*) FROM tenants");
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\",\"password\":\"long enough "
               "password\",\"admin\":true}",
               "admin");
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\",\"password\":\"short\"}",
               "password");
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\",\"password\":\"password1234\"}",
               "password");
    expect_400("{\"organization\":\"X\",\"email\":\"not-an-email\",\"password\":\"long enough "
               "password\"}",
               "email");
    expect_400("{\"organization\":\"X\",\"email\":42,\"password\":\"long enough password\"}",
               "email");
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\",\"password\":\"long enough\\u0000"
               "password\"}",
               NULL);
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\",\"password\":\"long \xff\xfe "
               "password\"}",
               NULL);
    expect_400("{\"organization\":\"X\",\"email\":\"x@y.example\"", NULL);
    expect_400("{\"organization\":\"X', 'y'); DROP TABLE tenants; --\",\"email\":\"x@y.example\","
               "\"password\":\"pw\"}",
               "password");
    assert_non_null(big);
    {
        static const char head[] =
            "{\"organization\":\"X\",\"password\":\"long enough password\",\"email\":\"";
        size_t hl = sizeof head - 1;
        memcpy(big, head, hl);
        memset(big + hl, 'a', 10000);
        memcpy(big + hl + 10000, "@x.example\"}", 13);
    }
    expect_400(big, "email");
    free(big);
    after = sql("SELECT count(*) FROM tenants");
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* A wrong content type is 415 before anything is read. */
    {
        char u[256];
        const char *hdrs[] = {"Content-Type: text/plain", NULL};
        struct h_resp r;
        snprintf(u, sizeof u, "%s/v1/signup", srv.base);
        assert_int_equal(h_http("POST", u, hdrs, "{}", 2, &r), 415);
        h_resp_free(&r);
    }
}

static void test_a_taken_organization_slug_is_409(void **state)
{
    char body[256];
    (void)state;
    snprintf(body, sizeof body,
             "{\"organization\":\"ACME corp\",\"email\":\"eve@example.net\",\"password\":\"%s\"}",
             password);
    assert_int_equal(call("POST", "/v1/signup", NULL, body, NULL), 409);
}

static long login(const char *email, const char *pw, json_t **out)
{
    char body[512];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    return call("POST", "/v1/auth/login", NULL, body, out);
}

static void test_login_unknown_user_and_wrong_password_look_the_same(void **state)
{
    json_t *a = NULL, *b = NULL, *ok = NULL;
    long long t0, t_wrong, t_unknown;
    (void)state;

    /* Warm up (connections, the dummy hash), then take the best of three of each. */
    assert_int_equal(login("nobody@example.com", "wrong password here", NULL), 401);
    assert_int_equal(login("alice@example.com", "wrong password here", NULL), 401);
    t_wrong = t_unknown = 1000000;
    for (int i = 0; i < 3; i++) {
        json_decref(a);
        json_decref(b);
        t0 = h_now_ms();
        assert_int_equal(login("alice@example.com", "wrong password here", &a), 401);
        if (h_now_ms() - t0 < t_wrong)
            t_wrong = h_now_ms() - t0;
        t0 = h_now_ms();
        assert_int_equal(login("nobody@example.com", "wrong password here", &b), 401);
        if (h_now_ms() - t0 < t_unknown)
            t_unknown = h_now_ms() - t0;
    }
    assert_string_equal(str(a, "detail"), str(b, "detail"));
    assert_string_equal(str(a, "type"), str(b, "type"));
    /* Both pay for an argon2id verification. */
    assert_true(t_unknown * 3 >= t_wrong && t_wrong * 3 >= t_unknown);
    assert_int_equal(login("ALICE@example.com", password, &ok), 200);
    assert_true(strlen(str(ok, "access_token")) > 100);
    json_decref(a);
    json_decref(b);
    json_decref(ok);
    assert_int_equal(h_sql_exec(admin_url, "TRUNCATE auth_failures", false), 0);
}

static void test_refresh_rotates_and_reuse_ends_the_session(void **state)
{
    json_t *s = NULL, *r1 = NULL, *r2 = NULL;
    char body[256], first[128], second[128], access[1024];
    (void)state;

    assert_int_equal(login("alice@example.com", password, &s), 200);
    snprintf(first, sizeof first, "%s", str(s, "refresh_token"));
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", first);
    assert_int_equal(call("POST", "/v1/auth/refresh", NULL, body, &r1), 200);
    snprintf(second, sizeof second, "%s", str(r1, "refresh_token"));
    snprintf(access, sizeof access, "%s", str(r1, "access_token"));
    assert_string_not_equal(first, second);
    assert_int_equal(call("GET", "/v1/me", access, NULL, NULL), 200);

    /* The spent token again: refused, and the whole family ends. */
    assert_int_equal(call("POST", "/v1/auth/refresh", NULL, body, NULL), 401);
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", second);
    assert_int_equal(call("POST", "/v1/auth/refresh", NULL, body, &r2), 401);
    assert_int_equal(call("GET", "/v1/me", access, NULL, NULL), 401);
    /* Other sessions are untouched. */
    assert_int_equal(call("GET", "/v1/me", ta.access, NULL, NULL), 200);
    /* Malformed and foreign refresh tokens. */
    assert_int_equal(call("POST", "/v1/auth/refresh", NULL, "{\"refresh_token\":\"prt_x\"}", NULL),
                     401);
    assert_int_equal(call("POST", "/v1/auth/refresh", NULL, "{\"refresh_token\":7}", NULL), 400);
    json_decref(s);
    json_decref(r1);
    json_decref(r2);
}

static void test_logout_ends_the_session_at_once(void **state)
{
    json_t *s = NULL;
    char access[1024];
    (void)state;

    assert_int_equal(login("alice@example.com", password, &s), 200);
    snprintf(access, sizeof access, "%s", str(s, "access_token"));
    assert_int_equal(call("GET", "/v1/me", access, NULL, NULL), 200);
    assert_int_equal(call("POST", "/v1/auth/logout", access, NULL, NULL), 204);
    assert_int_equal(call("GET", "/v1/me", access, NULL, NULL), 401);
    json_decref(s);
}

static void test_bad_credentials_are_401(void **state)
{
    char big[6000];
    static const char none_token[] =
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
    (void)state;

    assert_int_equal(call("GET", "/v1/me", NULL, NULL, NULL), 401);
    assert_int_equal(call("GET", "/v1/me", "garbage", NULL, NULL), 401);
    assert_int_equal(call("GET", "/v1/me", none_token, NULL, NULL), 401);
    assert_int_equal(call("GET", "/v1/me", "prk_0000", NULL, NULL), 401);
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(call("GET", "/v1/me", big, NULL, NULL), 401);
    {
        /* A token in the URL is not a credential: the parameter is not even accepted. */
        char path[1200];
        snprintf(path, sizeof path, "/v1/me?access_token=%s", ta.access);
        assert_int_equal(call("GET", path, NULL, NULL, NULL), 400);
    }
    {
        /* Another tenant's token with this tenant's... nothing to swap: a token of a tenant that
         * does not exist fails too (flip the tenant claim and the signature breaks). */
        char t[1024];
        snprintf(t, sizeof t, "%s", ta.access);
        t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
        assert_int_equal(call("GET", "/v1/me", t, NULL, NULL), 401);
    }
}

static char *make_key(const char *bearer, const char *body, long want, char id[40])
{
    json_t *r = NULL;
    char *key;
    assert_int_equal(call("POST", "/v1/api-keys", bearer, body, &r), want);
    if (want != 201) {
        json_decref(r);
        return NULL;
    }
    key = strdup(str(r, "key"));
    if (id != NULL)
        snprintf(id, 40, "%s", str(r, "id"));
    assert_int_equal(strncmp(str(r, "prefix"), key, 12), 0);
    json_decref(r);
    return key;
}

static void test_api_keys_authenticate_with_their_role_and_revoke_at_once(void **state)
{
    char id[40], ingest_id[40];
    char *key, *ingest;
    json_t *me = NULL, *list = NULL;
    char path[128];
    (void)state;

    key = make_key(ta.access, "{\"name\":\"ci\",\"role\":\"viewer\"}", 201, id);
    assert_int_equal(strncmp(key, "prk_", 4), 0);
    assert_int_equal(call("GET", "/v1/me", key, NULL, &me), 200);
    assert_string_equal(str(me, "auth"), "api_key");
    assert_string_equal(str(me, "role"), "viewer");
    assert_true(json_is_null(json_object_get(me, "user")));
    assert_int_equal(call("GET", "/v1/api-keys", key, NULL, NULL), 403); /* admin only */

    ingest = make_key(ta.access, "{\"name\":\"firehose\",\"kind\":\"ingest\"}", 201, ingest_id);
    assert_int_equal(strncmp(ingest, "pri_", 4), 0);
    assert_int_equal(call("GET", "/v1/me", ingest, NULL, NULL), 403); /* ingest only */

    /* The list never shows a key, only its prefix. */
    assert_int_equal(call("GET", "/v1/api-keys?limit=1", ta.access, NULL, &list), 200);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 1);
    assert_true(json_is_string(json_object_get(list, "next_cursor")));
    assert_null(json_object_get(json_array_get(json_object_get(list, "items"), 0), "key"));

    /* Bad requests. */
    make_key(ta.access, "{\"name\":\"x\",\"role\":\"owner\"}", 400, NULL);
    make_key(ta.access, "{\"name\":\"x\",\"kind\":\"ingest\",\"role\":\"admin\"}", 400, NULL);
    make_key(ta.access, "{\"name\":\"x\"}", 400, NULL);
    make_key(ta.access, "{\"name\":\"\",\"role\":\"viewer\"}", 400, NULL);

    snprintf(path, sizeof path, "/v1/api-keys/%s", id);
    assert_int_equal(call("DELETE", path, ta.access, NULL, NULL), 204);
    assert_int_equal(call("GET", "/v1/me", key, NULL, NULL), 401); /* at once on this instance */
    assert_int_equal(call("DELETE", path, ta.access, NULL, NULL), 404);
    free(key);
    free(ingest);
    json_decref(me);
    json_decref(list);
}

static void test_audit_log_records_state_changes_with_source_and_request_id(void **state)
{
    json_t *r = NULL, *items;
    bool signup_seen = false, key_seen = false, refresh_seen = false, login_seen = false;
    (void)state;

    assert_int_equal(call("GET", "/v1/audit-log?limit=500", ta.access, NULL, &r), 200);
    items = json_object_get(r, "items");
    assert_true(json_array_size(items) >= 3);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        if (strcmp(str(it, "action"), "tenant.signup") == 0)
            signup_seen = true;
        if (strcmp(str(it, "action"), "api_key.create") == 0)
            key_seen = true;
        if (strcmp(str(it, "action"), "auth.refresh") == 0)
            refresh_seen = true;
        if (strcmp(str(it, "action"), "auth.login") == 0)
            login_seen = true;
        assert_string_equal(str(it, "source_ip"), "127.0.0.1");
        assert_true(strlen(str(it, "request_id")) > 0);
    }
    assert_true(signup_seen && key_seen && refresh_seen && login_seen);
    json_decref(r);
    /* Append-only: the application role cannot rewrite history. */
    {
        char app[256];
        h_db_url(db, false, app, sizeof app);
        assert_int_equal(h_sql_exec(app, "UPDATE audit_log SET action = 'x'", true), -1);
        assert_int_equal(h_sql_exec(app, "DELETE FROM audit_log", true), -1);
    }
}

/* Creates an object of tenant A for a route's path parameter; returns its id. */
typedef void (*make_fn)(char id[40]);

static void make_api_key(char id[40])
{
    free(make_key(ta.access, "{\"name\":\"cross\",\"role\":\"viewer\"}", 201, id));
}

static void make_user(char id[40])
{
    static unsigned n;
    char body[128];
    json_t *r = NULL;
    snprintf(body, sizeof body, "{\"email\":\"cross%u@example.org\",\"role\":\"viewer\"}", n++);
    assert_int_equal(call("POST", "/v1/users", ta.access, body, &r), 201);
    snprintf(id, 40, "%s", str(r, "id"));
    json_decref(r);
}

static void make_account(char id[40])
{
    static unsigned n;
    char body[200];
    json_t *r = NULL;
    snprintf(body, sizeof body,
             "{\"provider\":\"aws\",\"aws_account_id\":\"%012u\",\"name\":\"x\","
             "\"regions\":[\"us-east-1\"]}",
             100000u + n++);
    assert_int_equal(call("POST", "/v1/accounts", ta.access, body, &r), 201);
    snprintf(id, 40, "%s", str(r, "id"));
    json_decref(r);
}

/* Posture objects come from scans against AWS; for isolation tests they are written directly
 * (as the superuser) into tenant A's account. */
static void make_posture(const char *insert_returning_id, char id[40])
{
    char account[40], sql[1024], *v;
    const char *at = strstr(insert_returning_id, "%s"); /* where tenant A's account id goes */
    make_account(account);
    assert_non_null(at);
    snprintf(sql, sizeof sql, "%.*s%s%s", (int)(at - insert_returning_id), insert_returning_id,
             account, at + 2);
    v = h_sql(admin_url, sql);
    assert_non_null(v);
    snprintf(id, 40, "%s", v);
    free(v);
}

static void make_scan(char id[40])
{
    make_posture("INSERT INTO scans (tenant_id, scan_id, account_id, trigger, status)"
                 " SELECT tenant_id, gen_random_uuid(), account_id, 'manual', 'succeeded'"
                 " FROM cloud_accounts WHERE account_id = '%s' RETURNING scan_id",
                 id);
}

#define MAKE_RESOURCE                                                                           \
    "INSERT INTO resources (tenant_id, resource_id, account_id, region, type, arn, name, data)"  \
    " SELECT tenant_id, gen_random_uuid(), account_id, 'us-east-1', 'aws.lambda.function',"     \
    " 'arn:aws:lambda:us-east-1:' || aws_account_id || ':function:f', 'f', '{}'"               \
    " FROM cloud_accounts WHERE account_id = '%s' RETURNING "

static void make_resource(char id[40])
{
    make_posture(MAKE_RESOURCE "resource_id", id);
}

static void make_finding(char id[40])
{
    make_posture("WITH r AS (" MAKE_RESOURCE "tenant_id, account_id, resource_id, arn)"
                 " INSERT INTO findings (tenant_id, finding_id, account_id, resource_id,"
                 " resource_arn, rule_id, fingerprint, category, severity, title)"
                 " SELECT tenant_id, gen_random_uuid(), account_id, resource_id, arn,"
                 " 'PAR-X', md5(arn), 'tracing-disabled', 'low', 't' FROM r RETURNING finding_id",
                 id);
}

static void make_integration(char id[40])
{
    json_t *r = NULL;
    /* Port 9 on loopback refuses: a test send answers at once, and nothing is delivered. */
    assert_int_equal(call("POST", "/v1/integrations", ta.access,
                          "{\"kind\":\"slack\",\"name\":\"cross\",\"config\":"
                          "{\"webhook_url\":\"http://127.0.0.1:9/services/T0/B0/cross\"}}",
                          &r),
                     201);
    snprintf(id, 40, "%s", str(r, "id"));
    json_decref(r);
}

/* An incident of tenant A: an in-function report of a process execution opens one. Made once
 * (correlation runs in the background) and reused. */
static void make_incident(char id[40])
{
    static char made[40];
    char body[1024], t[32], key[128];
    json_t *r = NULL;
    long long deadline;
    time_t now = time(NULL) - 5;
    struct tm tm;

    if (made[0] != '\0') {
        snprintf(id, 40, "%s", made);
        return;
    }
    assert_int_equal(call("POST", "/v1/accounts", ta.access,
                          "{\"provider\":\"aws\",\"aws_account_id\":\"424242424242\","
                          "\"name\":\"incidents\",\"regions\":[\"us-east-1\"]}",
                          NULL),
                     201);
    assert_int_equal(call("POST", "/v1/api-keys", ta.access,
                          "{\"name\":\"telemetry\",\"kind\":\"ingest\"}", &r),
                     201);
    snprintf(key, sizeof key, "%s", str(r, "key"));
    json_decref(r);
    gmtime_r(&now, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"events\":[{\"time\":\"%s\",\"type\":\"fsp.violation\",\"account_id\":"
             "\"424242424242\",\"function_arn\":"
             "\"arn:aws:lambda:us-east-1:424242424242:function:cross\",\"violation\":"
             "{\"action\":\"exec\",\"target\":\"/bin/sh\",\"decision\":\"blocked\"}}]}",
             t);
    assert_int_equal(call("POST", "/v1/events", key, body, NULL), 202);
    deadline = h_now_ms() + 20000;
    while (h_now_ms() < deadline) {
        assert_int_equal(call("GET", "/v1/incidents", ta.access, NULL, &r), 200);
        if (json_array_size(json_object_get(r, "items")) > 0) {
            snprintf(made, sizeof made, "%s",
                     str(json_array_get(json_object_get(r, "items"), 0), "id"));
            json_decref(r);
            break;
        }
        json_decref(r);
        h_sleep_ms(100);
    }
    assert_true(made[0] != '\0');
    snprintf(id, 40, "%s", made);
}

/* Every route with an id: how to make tenant A's object, and a valid body for it. */
static const struct {
    const char *method;
    const char *pattern;
    make_fn make;
    const char *body;
} owned[] = {
    {"DELETE", "/v1/api-keys/{id:uuid}", make_api_key, NULL},
    {"PATCH", "/v1/users/{id:uuid}", make_user, "{\"role\":\"devops\"}"},
    {"DELETE", "/v1/users/{id:uuid}", make_user, NULL},
    {"GET", "/v1/accounts/{id:uuid}", make_account, NULL},
    {"DELETE", "/v1/accounts/{id:uuid}", make_account, NULL},
    {"GET", "/v1/accounts/{id:uuid}/template", make_account, NULL},
    {"POST", "/v1/accounts/{id:uuid}/connect", make_account,
     "{\"role_arn\":\"arn:aws:iam::000000100000:role/ParapetSecurityReadOnly\"}"},
    {"POST", "/v1/accounts/{id:uuid}/scans", make_account, NULL},
    {"GET", "/v1/scans/{id:uuid}", make_scan, NULL},
    {"GET", "/v1/resources/{id:uuid}", make_resource, NULL},
    {"GET", "/v1/findings/{id:uuid}", make_finding, NULL},
    {"PATCH", "/v1/findings/{id:uuid}", make_finding,
     "{\"status\":\"suppressed\",\"reason\":\"accepted risk\"}"},
    {"GET", "/v1/integrations/{id:uuid}", make_integration, NULL},
    {"PATCH", "/v1/integrations/{id:uuid}", make_integration, "{\"name\":\"renamed\"}"},
    {"DELETE", "/v1/integrations/{id:uuid}", make_integration, NULL},
    {"GET", "/v1/integrations/{id:uuid}/deliveries", make_integration, NULL},
    {"POST", "/v1/integrations/{id:uuid}/retry", make_integration, "{}"},
    {"POST", "/v1/integrations/{id:uuid}/test", make_integration, NULL},
    {"GET", "/v1/incidents/{id:uuid}", make_incident, NULL},
    {"PATCH", "/v1/incidents/{id:uuid}", make_incident, "{\"status\":\"acknowledged\"}"},
    {"GET", "/v1/incidents/{id:uuid}/events", make_incident, NULL},
};

static void fill(const char *pattern, const char *id, char *out, size_t n)
{
    const char *open = strchr(pattern, '{');
    const char *close = open ? strchr(open, '}') : NULL;
    if (open == NULL || close == NULL) {
        snprintf(out, n, "%s", pattern);
        return;
    }
    snprintf(out, n, "%.*s%s%s", (int)(open - pattern), pattern, id, close + 1);
}

static void test_every_route_with_an_id_hides_other_tenants_objects(void **state)
{
    (void)state;
    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *rt = &api_routes[i];
        char id[40], path[256];
        make_fn mk = NULL;
        const char *body = NULL;
        long st;

        if (strchr(rt->pattern, '{') == NULL)
            continue;
        for (size_t j = 0; j < sizeof owned / sizeof owned[0]; j++) {
            if (strcmp(owned[j].pattern, rt->pattern) == 0 &&
                strcmp(owned[j].method, rt->method) == 0) {
                mk = owned[j].make;
                body = owned[j].body;
            }
        }
        if (mk == NULL)
            fail_msg("route %s %s has no cross-tenant test: add it to owned[]", rt->method,
                     rt->pattern);
        mk(id);
        fill(rt->pattern, id, path, sizeof path);
        st = call(rt->method, path, tb.access, body, NULL);
        if (st != 404)
            fail_msg("%s %s with tenant B's token on tenant A's object: %ld, want 404",
                     rt->method, path, st);
        /* The same call finds the object for its owner: the 404 was isolation. */
        st = call(rt->method, path, ta.access, body, NULL);
        if (st == 404 || st == 400)
            fail_msg("%s %s as its owner: %ld, want the object found", rt->method, path, st);
    }
}

static void test_lists_show_only_the_callers_tenant(void **state)
{
    json_t *r = NULL;
    char *a_keys;
    (void)state;

    a_keys = sql("SELECT count(*) FROM api_keys");
    assert_true(strtol(a_keys, NULL, 10) > 0);
    free(a_keys);
    assert_int_equal(call("GET", "/v1/api-keys", tb.access, NULL, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
    json_decref(r);
    assert_int_equal(call("GET", "/v1/audit-log", tb.access, NULL, &r), 200);
    for (size_t i = 0; i < json_array_size(json_object_get(r, "items")); i++) {
        json_t *it = json_array_get(json_object_get(r, "items"), i);
        assert_string_not_equal(str(json_object_get(it, "actor"), "id"), ta.user_id);
    }
    json_decref(r);

    /* Tenant A has posture data, an integration and accounts; tenant B's lists show none. */
    {
        static const char *const lists[] = {"/v1/accounts", "/v1/scans", "/v1/resources",
                                            "/v1/findings", "/v1/integrations", "/v1/incidents"};
        char id[40];
        make_scan(id);
        make_finding(id);
        make_integration(id);
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
            assert_int_equal(call("GET", lists[i], ta.access, NULL, &r), 200);
            if (strcmp(lists[i], "/v1/incidents") != 0)
                assert_true(json_array_size(json_object_get(r, "items")) > 0);
            json_decref(r);
            assert_int_equal(call("GET", lists[i], tb.access, NULL, &r), 200);
            if (json_array_size(json_object_get(r, "items")) != 0)
                fail_msg("%s shows tenant A's items to tenant B", lists[i]);
            json_decref(r);
        }
        assert_int_equal(call("GET", "/v1/posture/summary", tb.access, NULL, &r), 200);
        assert_int_equal(json_integer_value(json_object_get(r, "open_findings")), 0);
        assert_int_equal(json_array_size(json_object_get(r, "accounts")), 0);
        json_decref(r);
    }
}

static void test_role_matrix_over_every_route(void **state)
{
    static const char *const roles[] = {"viewer", "devops", "secops", "admin"};
    char *keys[4];
    (void)state;

    for (int k = 0; k < 4; k++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"role-%s\",\"role\":\"%s\"}", roles[k], roles[k]);
        keys[k] = make_key(ta.access, body, 201, NULL);
    }
    for (size_t i = 0; i < api_routes_count; i++) {
        const struct api_route *rt = &api_routes[i];
        char path[256];
        if (rt->role == API_ROLE_PUBLIC)
            continue;
        fill(rt->pattern, "00000000-0000-4000-8000-000000000000", path, sizeof path);
        for (int k = 0; k < 4; k++) {
            enum api_role have = (enum api_role)(API_ROLE_VIEWER + k);
            const struct api_foreign *fo = api_foreign_of(rt);
            long st = fo != NULL && fo->key_header != NULL
                          ? call_key_header(rt->method, path, fo->key_header, keys[k])
                          : call(rt->method, path, keys[k],
                                 rt->body == API_BODY_JSON ? "{}" : NULL, NULL);
            /* Telemetry routes take ingest keys only: an automation key of any role is 403. */
            bool allowed = rt->role != API_ROLE_INGEST && have >= rt->role;
            if (!allowed && st != 403)
                fail_msg("%s %s as %s: %ld, want 403", rt->method, rt->pattern, roles[k], st);
            if (allowed && (st == 403 || st == 401))
                fail_msg("%s %s as %s: %ld, want allowed", rt->method, rt->pattern, roles[k], st);
        }
        if (call(rt->method, path, NULL, NULL, NULL) != 401)
            fail_msg("%s %s without credentials: want 401", rt->method, rt->pattern);
    }
    for (int k = 0; k < 4; k++)
        free(keys[k]);
}

static void test_every_tenant_table_forces_row_level_security(void **state)
{
    char app[256];
    char *v;
    (void)state;

    /* Each table with a tenant_id column: RLS enabled and forced, with a policy. */
    v = sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
            "   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
            "               AND a.attname = 'tenant_id' AND NOT a.attisdropped)"
            "   AND c.relname <> 'jobs'"
            "   AND NOT (c.relrowsecurity AND c.relforcerowsecurity"
            "            AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))");
    assert_string_equal(v, "0");
    free(v);
    v = sql("SELECT count(*) >= 6 FROM pg_class WHERE relforcerowsecurity");
    assert_string_equal(v, "t");
    free(v);
    /* The application role owns nothing and cannot bypass RLS. */
    v = sql("SELECT count(*) FROM pg_roles WHERE rolname IN ('parapet', 'parapet_app')"
            " AND (rolbypassrls OR rolsuper)");
    assert_string_equal(v, "0");
    free(v);
    /* Without a tenant in context, the application role sees no rows at all. */
    h_db_url(db, false, app, sizeof app);
    v = h_sql(app, "SELECT (SELECT count(*) FROM tenants) + (SELECT count(*) FROM users) +"
                   " (SELECT count(*) FROM api_keys) + (SELECT count(*) FROM audit_log)");
    assert_string_equal(v, "0");
    free(v);
}

static long accept_invite(const char *token, const char *pw, json_t **out)
{
    char body[512];
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\"}", token, pw);
    return call("POST", "/v1/auth/accept-invite", NULL, body, out);
}

static void test_invited_users_set_a_password_and_admins_manage_roles(void **state)
{
    json_t *inv = NULL, *tok = NULL, *me = NULL, *adm = NULL, *admtok = NULL;
    char token[128], uid[40], access[1024], path[128], admin_access[1024];
    (void)state;

    assert_int_equal(call("POST", "/v1/users", ta.access,
                          "{\"email\":\"Dev@Example.com\",\"role\":\"devops\"}", &inv),
                     201);
    assert_string_equal(str(inv, "status"), "invited");
    assert_string_equal(str(inv, "email"), "dev@example.com");
    snprintf(token, sizeof token, "%s", str(inv, "invite_token"));
    snprintf(uid, sizeof uid, "%s", str(inv, "id"));
    assert_int_equal(login("dev@example.com", "anything at all 123", NULL), 401);
    assert_int_equal(accept_invite(token, "short", NULL), 400);
    assert_int_equal(accept_invite(token, "a brand new passphrase", &tok), 200);
    snprintf(access, sizeof access, "%s", str(tok, "access_token"));
    assert_int_equal(call("GET", "/v1/me", access, NULL, &me), 200);
    assert_string_equal(str(me, "role"), "devops");
    assert_int_equal(accept_invite(token, "another new passphrase", NULL), 400); /* one time */
    assert_int_equal(login("dev@example.com", "a brand new passphrase", NULL), 200);
    assert_int_equal(call("GET", "/v1/users", access, NULL, NULL), 403); /* devops < admin */
    assert_int_equal(call("POST", "/v1/users", ta.access, "{\"email\":\"dev@example.com\","
                                                          "\"role\":\"viewer\"}",
                          NULL),
                     409);

    /* A role change applies at once; disabling ends the user's sessions. */
    snprintf(path, sizeof path, "/v1/users/%s", uid);
    assert_int_equal(call("PATCH", path, ta.access, "{\"role\":\"viewer\"}", NULL), 200);
    json_decref(me);
    assert_int_equal(call("GET", "/v1/me", access, NULL, &me), 200);
    assert_string_equal(str(me, "role"), "viewer");
    assert_int_equal(call("PATCH", path, ta.access, "{\"status\":\"disabled\"}", NULL), 200);
    assert_int_equal(call("GET", "/v1/me", access, NULL, NULL), 401);
    assert_int_equal(login("dev@example.com", "a brand new passphrase", NULL), 401);
    assert_int_equal(call("PATCH", path, ta.access, "{\"status\":\"gone\"}", NULL), 400);
    assert_int_equal(call("PATCH", path, ta.access, "{}", NULL), 400);

    /* An admin cannot make owners, nor touch the owner; the last owner stays an owner. */
    assert_int_equal(call("POST", "/v1/users", ta.access,
                          "{\"email\":\"adm@example.com\",\"role\":\"admin\"}", &adm),
                     201);
    assert_int_equal(accept_invite(str(adm, "invite_token"), "admins passphrase 42", &admtok),
                     200);
    snprintf(admin_access, sizeof admin_access, "%s", str(admtok, "access_token"));
    assert_int_equal(call("POST", "/v1/users", admin_access,
                          "{\"email\":\"boss@example.com\",\"role\":\"owner\"}", NULL),
                     403);
    snprintf(path, sizeof path, "/v1/users/%s", ta.user_id);
    assert_int_equal(call("PATCH", path, admin_access, "{\"role\":\"viewer\"}", NULL), 403);
    assert_int_equal(call("DELETE", path, admin_access, NULL, NULL), 403);
    assert_int_equal(call("PATCH", path, ta.access, "{\"role\":\"admin\"}", NULL), 409);
    assert_int_equal(call("DELETE", path, ta.access, NULL, NULL), 409); /* not yourself */

    snprintf(path, sizeof path, "/v1/users/%s", uid);
    assert_int_equal(call("DELETE", path, ta.access, NULL, NULL), 204);
    assert_int_equal(call("DELETE", path, ta.access, NULL, NULL), 404);
    json_decref(inv);
    json_decref(tok);
    json_decref(me);
    json_decref(adm);
    json_decref(admtok);
}

static void test_password_change_ends_every_earlier_session(void **state)
{
    json_t *s1 = NULL, *s2 = NULL, *changed = NULL;
    char a1[1024], a2[1024], body[256];
    (void)state;

    assert_int_equal(h_sql_exec(admin_url, "TRUNCATE auth_failures", false), 0);
    assert_int_equal(login("bob@bravo.example", password, &s1), 200);
    assert_int_equal(login("bob@bravo.example", password, &s2), 200);
    snprintf(a1, sizeof a1, "%s", str(s1, "access_token"));
    snprintf(a2, sizeof a2, "%s", str(s2, "access_token"));
    snprintf(body, sizeof body, "{\"current_password\":\"wrong wrong wrong\","
                                "\"new_password\":\"a different long one\"}");
    assert_int_equal(call("POST", "/v1/auth/password", a1, body, NULL), 403);
    snprintf(body, sizeof body, "{\"current_password\":\"%s\",\"new_password\":\"short\"}",
             password);
    assert_int_equal(call("POST", "/v1/auth/password", a1, body, NULL), 400);
    snprintf(body, sizeof body,
             "{\"current_password\":\"%s\",\"new_password\":\"a different long one\"}",
             password);
    assert_int_equal(call("POST", "/v1/auth/password", a1, body, &changed), 200);
    assert_int_equal(call("GET", "/v1/me", a1, NULL, NULL), 401);
    assert_int_equal(call("GET", "/v1/me", a2, NULL, NULL), 401);
    assert_int_equal(call("GET", "/v1/me", str(changed, "access_token"), NULL, NULL), 200);
    assert_int_equal(login("bob@bravo.example", password, NULL), 401);
    assert_int_equal(login("bob@bravo.example", "a different long one", NULL), 200);
    /* Put it back for the tests after this one. */
    snprintf(body, sizeof body,
             "{\"current_password\":\"a different long one\",\"new_password\":\"%s\"}",
             password);
    assert_int_equal(call("POST", "/v1/auth/password", str(changed, "access_token"), body, NULL),
                     200);
    json_decref(s1);
    json_decref(s2);
    json_decref(changed);
    assert_int_equal(h_sql_exec(admin_url, "TRUNCATE auth_failures", false), 0);
}

static void test_signing_key_rotation_keeps_earlier_tokens_valid(void **state)
{
    char k2[64], env_key[200], env_prev[600], path[256];
    const char *rotated[] = {env_key, env_prev, NULL};
    const char *only_new[] = {env_key, NULL};
    struct h_server s;
    char *old_base;
    (void)state;

    snprintf(k2, sizeof k2, "/tmp/parapet-test-key-%d.pem", (int)getpid());
    snprintf(path, sizeof path, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
                                " -out %s 2>/dev/null", k2);
    assert_int_equal(system(path), 0);
    snprintf(env_key, sizeof env_key, "PARAPET_JWT_KEY=%s", k2);
    snprintf(env_prev, sizeof env_prev, "PARAPET_JWT_KEY_PREVIOUS=%s", getenv("PARAPET_JWT_KEY"));
    old_base = strdup(srv.base);

    /* New key signing, old key still verifying: ta's token (old key) works. */
    assert_int_equal(h_server_start(&s, db, "api", rotated), 0);
    snprintf(srv.base, sizeof srv.base, "%s", s.base);
    assert_int_equal(call("GET", "/v1/me", ta.access, NULL, NULL), 200);
    assert_int_equal(h_server_stop(&s, 10000), 0);

    /* The old key retired: its tokens are refused. */
    assert_int_equal(h_server_start(&s, db, "api", only_new), 0);
    snprintf(srv.base, sizeof srv.base, "%s", s.base);
    assert_int_equal(call("GET", "/v1/me", ta.access, NULL, NULL), 401);
    assert_int_equal(h_server_stop(&s, 10000), 0);

    snprintf(srv.base, sizeof srv.base, "%s", old_base);
    free(old_base);
    unlink(k2);
}

static void test_throttling_after_ten_failures(void **state)
{
    json_t *r = NULL;
    char u[256], retry[16];
    struct h_resp resp;
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    char body[256];
    (void)state;

    assert_int_equal(h_sql_exec(admin_url, "TRUNCATE auth_failures", false), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(login("bob@bravo.example", "not the password!", NULL), 401);
    /* Now even the right password is refused for a while. */
    snprintf(u, sizeof u, "%s/v1/auth/login", srv.base);
    snprintf(body, sizeof body, "{\"email\":\"bob@bravo.example\",\"password\":\"%s\"}",
             password);
    assert_int_equal(h_http("POST", u, hdrs, body, strlen(body), &resp), 429);
    assert_non_null(h_header(&resp, "Retry-After", retry, sizeof retry));
    assert_true(strtol(retry, NULL, 10) > 0 && strtol(retry, NULL, 10) <= 900);
    h_resp_free(&resp);
    json_decref(r);
    assert_int_equal(h_sql_exec(admin_url, "TRUNCATE auth_failures", false), 0);
    assert_int_equal(login("bob@bravo.example", password, NULL), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signup_creates_tenant_and_owner),
        cmocka_unit_test(test_bad_signups_are_400_and_create_nothing),
        cmocka_unit_test(test_a_taken_organization_slug_is_409),
        cmocka_unit_test(test_login_unknown_user_and_wrong_password_look_the_same),
        cmocka_unit_test(test_refresh_rotates_and_reuse_ends_the_session),
        cmocka_unit_test(test_logout_ends_the_session_at_once),
        cmocka_unit_test(test_bad_credentials_are_401),
        cmocka_unit_test(test_api_keys_authenticate_with_their_role_and_revoke_at_once),
        cmocka_unit_test(test_audit_log_records_state_changes_with_source_and_request_id),
        cmocka_unit_test(test_invited_users_set_a_password_and_admins_manage_roles),
        cmocka_unit_test(test_every_route_with_an_id_hides_other_tenants_objects),
        cmocka_unit_test(test_lists_show_only_the_callers_tenant),
        cmocka_unit_test(test_role_matrix_over_every_route),
        cmocka_unit_test(test_every_tenant_table_forces_row_level_security),
        cmocka_unit_test(test_password_change_ends_every_earlier_session),
        cmocka_unit_test(test_signing_key_rotation_keeps_earlier_tokens_valid),
        cmocka_unit_test(test_throttling_after_ten_failures),
    };
    return cmocka_run_group_tests_name("integration/auth", tests, setup, teardown);
}
