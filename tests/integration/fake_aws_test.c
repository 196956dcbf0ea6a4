/* The strict fake of AWS STS (tests/support/fake_aws) itself: requests signed with
 * cloud_sigv4_sign and sent with libcurl must be answered as STS answers them, and requests STS
 * would refuse must be refused with STS's codes, so tests of Parapet against the fake mean
 * something. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "harness.h"

#include "cloud/sigv4.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AKID "AKIAPARAPETTEST00001"
#define SECRET "pArApEt/TeSt+SeCrEt0123456789abcdefGHIJKL"
#define OTHER_AKID "AKIAUNKNOWNKEY000001"
#define ACCOUNT "111122223333"
#define ROLE "arn:aws:iam::444455556666:role/AcmeSecurityReadOnly"
#define ROLE_ACCOUNT "444455556666"
#define EXTERNAL_ID "parapet-0123456789abcdef0123456789abcdef0123456789abcdef"
#define WRONG_EXTERNAL_ID "parapet-ffffffffffffffffffffffffffffffffffffffffffffffff"
#define OPEN_ROLE "arn:aws:iam::777788889999:role/team/OpenTrust"
#define UNKNOWN_ROLE "arn:aws:iam::444455556666:role/DoesNotExist"
#define SESSION "parapet-scan-t_8f3a2c"
#define CT "application/x-www-form-urlencoded; charset=utf-8"
#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"

struct creds {
    char akid[64];
    char secret[64];
    char token[1024]; /* "" for long-term keys */
};

/* One signed call. */
struct call {
    const struct creds *c;
    const char *body;         /* what is signed */
    const char *send_body;    /* what is sent; NULL = body */
    time_t when;              /* signing time; 0 = now */
    unsigned flags;           /* cloud_sigv4 flags */
    const char *service;      /* NULL = "sts" */
    const char *content_type; /* NULL = CT */
};

static struct h_fake_aws fake;
static char config_path[64];
static const struct creds parapet = {AKID, SECRET, ""};
static char last_signature[65]; /* of the latest sts() call, to prove the log never has it */

/* Writes the base configuration plus extra lines to a new temporary file; path[64]. */
static void write_config(char path[64], const char *extra)
{
    FILE *out;
    int fd;

    snprintf(path, 64, "/tmp/fake-aws-%d-XXXXXX", (int)getpid());
    fd = mkstemp(path);
    assert_true(fd >= 0);
    out = fdopen(fd, "w");
    assert_non_null(out);
    fprintf(out,
            "# fake_aws test configuration\n"
            "account " ACCOUNT "\n"
            "credentials " AKID " " SECRET "\n"
            "\n"
            "role " ROLE " " EXTERNAL_ID "\n"
            "role " OPEN_ROLE " -\n"
            "%s",
            extra ? extra : "");
    assert_int_equal(fclose(out), 0);
}

static int setup(void **state)
{
    (void)state;
    write_config(config_path, NULL);
    return h_fake_aws_start(&fake, config_path, NULL);
}

static int teardown(void **state)
{
    int rc;
    (void)state;

    rc = h_fake_aws_stop(&fake, 5000); /* SIGTERM must end it with status 0 */
    unlink(config_path);
    return rc == 0 ? 0 : -1;
}

/* Appends "&name=value" (no '&' first) with value percent-encoded as the SDKs do. */
static void form_add(char *out, size_t n, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t p = strlen(out);
    int w = snprintf(out + p, n - p, "%s%s=", p ? "&" : "", name);

    assert_true(w > 0 && (size_t)w < n - p);
    p += (size_t)w;
    for (const unsigned char *c = (const unsigned char *)value; *c != '\0'; c++) {
        assert_true(p + 4 < n);
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            out[p++] = (char)*c;
        } else {
            out[p++] = '%';
            out[p++] = hex[*c >> 4];
            out[p++] = hex[*c & 0xf];
        }
    }
    out[p] = '\0';
}

/* An AssumeRole body; external_id and duration may be NULL. out[2048]. */
static void assume_body(char out[2048], const char *role, const char *session,
                        const char *external_id, const char *duration)
{
    out[0] = '\0';
    form_add(out, 2048, "Action", "AssumeRole");
    form_add(out, 2048, "Version", "2011-06-15");
    form_add(out, 2048, "RoleArn", role);
    form_add(out, 2048, "RoleSessionName", session);
    if (duration != NULL)
        form_add(out, 2048, "DurationSeconds", duration);
    if (external_id != NULL)
        form_add(out, 2048, "ExternalId", external_id);
}

/* Signs k->body with cloud_sigv4_sign and POSTs it (or k->send_body) to f with libcurl. Every
 * answer must carry x-amzn-RequestId. Returns the status. */
static long sts(const struct h_fake_aws *f, const struct call *k, struct h_resp *r)
{
    char host[64], url[96], rid[80];
    const char *ct = k->content_type ? k->content_type : CT;
    struct cloud_sigv4_header hs[2] = {{"Host", host}, {"Content-Type", ct}};
    struct cloud_sigv4_request req;
    struct cloud_sigv4_creds sc = {k->c->akid, k->c->secret, k->c->token};
    struct cloud_sigv4_result res;
    struct err err;
    char *lines[2 + CLOUD_SIGV4_MAX_ADD];
    const char *hp[3 + CLOUD_SIGV4_MAX_ADD];
    const char *send = k->send_body ? k->send_body : k->body;
    size_t n = 0;

    snprintf(host, sizeof host, "127.0.0.1:%u", f->port);
    snprintf(url, sizeof url, "%s/", f->base);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = "/";
    req.headers = hs;
    req.header_count = 2;
    req.payload = k->body;
    req.payload_len = strlen(k->body);
    req.region = "us-east-1";
    req.service = k->service ? k->service : "sts";
    req.when = k->when ? k->when : time(NULL);
    req.flags = k->flags;
    assert_int_equal(cloud_sigv4_sign(&req, &sc, &res, &err), ERR_OK);
    snprintf(last_signature, sizeof last_signature, "%s", res.signature);
    for (size_t i = 0; i < 2; i++) {
        size_t l = strlen(hs[i].name) + strlen(hs[i].value) + 3;
        lines[n] = malloc(l);
        assert_non_null(lines[n]);
        snprintf(lines[n], l, "%s: %s", hs[i].name, hs[i].value);
        n++;
    }
    for (size_t i = 0; i < res.add_count; i++) {
        size_t l = strlen(res.add[i].name) + strlen(res.add[i].value) + 3;
        lines[n] = malloc(l);
        assert_non_null(lines[n]);
        snprintf(lines[n], l, "%s: %s", res.add[i].name, res.add[i].value);
        n++;
    }
    for (size_t i = 0; i < n; i++)
        hp[i] = lines[i];
    hp[n] = NULL;
    h_http("POST", url, hp, send, strlen(send), r);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    cloud_sigv4_result_free(&res);
    assert_non_null(h_header(r, "x-amzn-RequestId", rid, sizeof rid));
    assert_int_equal(strlen(rid), 36);
    return r->status;
}

/* A signed call with the defaults. */
static long sts_simple(const struct h_fake_aws *f, const struct creds *c, const char *body,
                       struct h_resp *r)
{
    struct call k = {.c = c, .body = body};
    return sts(f, &k, r);
}

/* Text of the first <tag>...</tag> of xml into out; false when absent. */
static bool xml_get(const char *xml, const char *tag, char *out, size_t n)
{
    char open[64], close[64];
    const char *a, *b;

    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    a = strstr(xml, open);
    if (a == NULL)
        return false;
    a += strlen(open);
    b = strstr(a, close);
    if (b == NULL || (size_t)(b - a) >= n)
        return false;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
    return true;
}

/* Asserts r is STS's XML error shape with status and code; returns the Message in msg[1024]. */
static void assert_sts_error(const struct h_resp *r, long status, const char *code, char *msg)
{
    char v[1024], rid[80], ct[64];

    if (r->status != status || !xml_get(r->body, "Code", v, sizeof v) || strcmp(v, code) != 0)
        fprintf(stderr, "expected %ld %s, got %ld:\n%s\n", status, code, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(h_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/xml");
    assert_non_null(strstr(r->body, "<ErrorResponse xmlns=\"" STS_NS "\">"));
    assert_true(xml_get(r->body, "Type", v, sizeof v));
    assert_string_equal(v, "Sender");
    assert_true(xml_get(r->body, "Code", v, sizeof v));
    assert_string_equal(v, code);
    assert_true(xml_get(r->body, "Message", msg, 1024));
    assert_true(msg[0] != '\0');
    /* The body's RequestId is the header's. */
    assert_true(xml_get(r->body, "RequestId", v, sizeof v));
    assert_non_null(h_header(r, "x-amzn-RequestId", rid, sizeof rid));
    assert_string_equal(v, rid);
}

static bool upper_alnum(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    }
    return true;
}

static void iso_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* AssumeRole as parapet that must succeed; fills out with the temporary credentials and checks
 * every field of the answer. lifetime_s: the expected Expiration offset. */
static void assume_ok(const struct h_fake_aws *f, const char *role, const char *role_account,
                      const char *role_name, const char *external_id, long lifetime_s,
                      struct creds *out)
{
    char body[2048], v[1024], want[256], lo[32], hi[32], ct[64];
    struct h_resp r;
    time_t now = time(NULL);

    assume_body(body, role, SESSION, external_id, NULL);
    sts_simple(f, &parapet, body, &r);
    if (r.status != 200)
        fprintf(stderr, "AssumeRole: %ld\n%s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    assert_non_null(h_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "text/xml");
    assert_non_null(strstr(r.body, "<AssumeRoleResponse xmlns=\"" STS_NS "\">"));
    assert_true(xml_get(r.body, "Arn", v, sizeof v));
    snprintf(want, sizeof want, "arn:aws:sts::%s:assumed-role/%s/%s", role_account, role_name,
             SESSION);
    assert_string_equal(v, want);
    assert_true(xml_get(r.body, "AssumedRoleId", v, sizeof v));
    assert_memory_equal(v, "AROA", 4);
    assert_int_equal(strcspn(v, ":"), 21);
    assert_string_equal(v + 22, SESSION);

    memset(out, 0, sizeof *out);
    assert_true(xml_get(r.body, "AccessKeyId", out->akid, sizeof out->akid));
    assert_int_equal(strlen(out->akid), 20);
    assert_memory_equal(out->akid, "ASIA", 4);
    assert_true(upper_alnum(out->akid));
    assert_true(xml_get(r.body, "SecretAccessKey", out->secret, sizeof out->secret));
    assert_int_equal(strlen(out->secret), 40);
    assert_true(xml_get(r.body, "SessionToken", out->token, sizeof out->token));
    assert_true(strlen(out->token) >= 200);
    assert_true(xml_get(r.body, "Expiration", v, sizeof v));
    /* ISO 8601 UTC strings of one format compare like the times they name. */
    iso_time(now + lifetime_s - 5, lo);
    iso_time(now + lifetime_s + 5, hi);
    assert_int_equal(strlen(v), 20);
    assert_true(strcmp(lo, v) <= 0 && strcmp(v, hi) <= 0);
    assert_true(xml_get(r.body, "RequestId", v, sizeof v));
    h_resp_free(&r);
}

static void test_assume_role_with_the_right_external_id_returns_credentials(void **state)
{
    struct creds t, t2;
    (void)state;

    assume_ok(&fake, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    /* Each call issues fresh credentials. */
    assume_ok(&fake, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t2);
    assert_string_not_equal(t.akid, t2.akid);
    assert_string_not_equal(t.secret, t2.secret);
    assert_string_not_equal(t.token, t2.token);
}

static void test_wrong_or_missing_external_id_is_access_denied_with_one_message(void **state)
{
    char body[2048], wrong[1024], missing[1024], unknown[1024];
    struct h_resp r;
    (void)state;

    assume_body(body, ROLE, SESSION, WRONG_EXTERNAL_ID, NULL);
    sts_simple(&fake, &parapet, body, &r);
    assert_sts_error(&r, 403, "AccessDenied", wrong);
    h_resp_free(&r);

    assume_body(body, ROLE, SESSION, NULL, NULL);
    sts_simple(&fake, &parapet, body, &r);
    assert_sts_error(&r, 403, "AccessDenied", missing);
    h_resp_free(&r);

    /* AWS does not say which condition failed. */
    assert_string_equal(wrong, missing);
    assert_string_equal(wrong, "User: arn:aws:iam::" ACCOUNT ":user/parapet is not authorized "
                               "to perform: sts:AssumeRole on resource: " ROLE);

    assume_body(body, UNKNOWN_ROLE, SESSION, EXTERNAL_ID, NULL);
    sts_simple(&fake, &parapet, body, &r);
    assert_sts_error(&r, 403, "AccessDenied", unknown);
    assert_string_equal(unknown, "User: arn:aws:iam::" ACCOUNT ":user/parapet is not authorized "
                                 "to perform: sts:AssumeRole on resource: " UNKNOWN_ROLE);
    h_resp_free(&r);
}

static void test_role_without_condition_accepts_any_call(void **state)
{
    struct creds t;
    (void)state;

    assume_ok(&fake, OPEN_ROLE, "777788889999", "OpenTrust", NULL, 3600, &t);
    assume_ok(&fake, OPEN_ROLE, "777788889999", "OpenTrust", WRONG_EXTERNAL_ID, 3600, &t);
}

static void test_body_tampered_after_signing_is_signature_mismatch(void **state)
{
    char body[2048], tampered[2048], msg[1024];
    struct h_resp r;
    struct call k = {.c = &parapet, .body = body, .send_body = tampered};
    (void)state;

    assume_body(body, ROLE, SESSION, EXTERNAL_ID, NULL);
    assume_body(tampered, ROLE, "attacker-session", EXTERNAL_ID, NULL);
    sts(&fake, &k, &r);
    assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
    assert_non_null(strstr(msg, "does not match the signature you provided"));
    h_resp_free(&r);
}

static void test_wrong_secret_or_scope_is_signature_mismatch(void **state)
{
    char body[2048], msg[1024];
    struct creds bad = {AKID, "wrong/secret+for/the/key/0123456789abcd", ""};
    struct call k = {.c = &parapet, .body = body, .service = "iam"};
    struct h_resp r;
    (void)state;

    assume_body(body, ROLE, SESSION, EXTERNAL_ID, NULL);
    sts_simple(&fake, &bad, body, &r);
    assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
    h_resp_free(&r);

    sts(&fake, &k, &r);
    assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
    assert_string_equal(msg, "Credential should be scoped to correct service: 'sts'. ");
    h_resp_free(&r);
}

static void test_unknown_access_key_is_invalid_client_token_id(void **state)
{
    char body[2048], msg[1024];
    struct creds unknown = {OTHER_AKID, SECRET, ""};
    struct h_resp r;
    (void)state;

    assume_body(body, ROLE, SESSION, EXTERNAL_ID, NULL);
    sts_simple(&fake, &unknown, body, &r);
    assert_sts_error(&r, 403, "InvalidClientTokenId", msg);
    assert_string_equal(msg, "The security token included in the request is invalid.");
    h_resp_free(&r);
}

/* STS allows 15 minutes of skew and reports more as SignatureDoesNotMatch ("Signature
 * expired"), not S3's RequestTimeTooSkewed. */
static void test_date_twenty_minutes_old_is_signature_expired(void **state)
{
    char body[2048], msg[1024];
    struct call k = {.c = &parapet, .body = body};
    struct h_resp r;
    (void)state;

    assume_body(body, ROLE, SESSION, EXTERNAL_ID, NULL);
    k.when = time(NULL) - 20 * 60;
    sts(&fake, &k, &r);
    assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
    assert_memory_equal(msg, "Signature expired: ", 19);
    assert_non_null(strstr(msg, " - 15 min.)"));
    h_resp_free(&r);

    k.when = time(NULL) + 20 * 60;
    sts(&fake, &k, &r);
    assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
    assert_memory_equal(msg, "Signature not yet current: ", 27);
    h_resp_free(&r);

    k.when = time(NULL) - 10 * 60; /* within the window */
    assert_int_equal(sts(&fake, &k, &r), 200);
    h_resp_free(&r);
}

static void test_parameters_are_validated_like_sts(void **state)
{
    static const struct {
        const char *body;
        long status;
        const char *code;
    } cases[] = {
        {"Action=GetCallerIdentity", 400, "ValidationError"},
        {"Action=GetCallerIdentity&Version=2010-05-08", 400, "InvalidAction"},
        {"Action=GetSessionToken&Version=2011-06-15", 400, "InvalidAction"},
        {"Version=2011-06-15", 400, "InvalidAction"},
        {"Action=AssumeRole&Version=2011-06-15&RoleSessionName=s1", 400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE, 400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=arn&RoleSessionName=s1", 400,
         "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE "&RoleSessionName=s", 400,
         "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE "&RoleSessionName=has%20space", 400,
         "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=bad%21id",
         400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=600",
         400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=43201",
         400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=1h",
         400, "ValidationError"},
        /* Above the role's MaxSessionDuration (3600). */
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=7200",
         400, "ValidationError"},
        {"Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
         "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=900",
         200, NULL},
        /* Malformed forms: the fake's own strictness. */
        {"Action=GetCallerIdentity&Version=2011-06-15&Version=2011-06-15", 400, "MalformedRequest"},
        {"Action=GetCallerIdentity&Version=2011-06-15&", 400, "MalformedRequest"},
        {"Action=GetCallerIdentity&Version=2011%2G06-15", 400, "MalformedRequest"},
    };
    char msg[1024];
    struct h_resp r;
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sts_simple(&fake, &parapet, cases[i].body, &r);
        if (cases[i].code == NULL)
            assert_int_equal(r.status, cases[i].status);
        else
            assert_sts_error(&r, cases[i].status, cases[i].code, msg);
        h_resp_free(&r);
    }
    sts_simple(&fake, &parapet,
               "Action=AssumeRole&Version=2011-06-15&RoleArn=" ROLE
               "&RoleSessionName=s1&ExternalId=" EXTERNAL_ID "&DurationSeconds=7200",
               &r);
    assert_sts_error(&r, 400, "ValidationError", msg);
    assert_string_equal(msg, "The requested DurationSeconds exceeds the MaxSessionDuration set "
                             "for this role.");
    h_resp_free(&r);
}

static void test_request_shape_is_enforced(void **state)
{
    static const char gci[] = "Action=GetCallerIdentity&Version=2011-06-15";
    char url[128], msg[1024];
    struct call k = {.c = &parapet, .body = gci, .content_type = "application/json"};
    struct h_resp r;
    (void)state;

    /* Unsigned. */
    snprintf(url, sizeof url, "%s/", fake.base);
    {
        static const char *const hs[] = {"Content-Type: " CT, NULL};
        h_http("POST", url, hs, gci, strlen(gci), &r);
        assert_sts_error(&r, 403, "MissingAuthenticationToken", msg);
        h_resp_free(&r);
    }
    /* Not POST / with a form. */
    snprintf(url, sizeof url, "%s/?%s", fake.base, gci);
    h_http("GET", url, NULL, NULL, 0, &r);
    assert_sts_error(&r, 400, "MalformedRequest", msg);
    h_resp_free(&r);
    sts(&fake, &k, &r);
    assert_sts_error(&r, 400, "MalformedRequest", msg);
    h_resp_free(&r);
    k.content_type = "application/x-www-form-urlencoded";
    assert_int_equal(sts(&fake, &k, &r), 200);
    h_resp_free(&r);
    /* A session token sent but left out of the signature. */
    {
        struct creds t;
        struct call u = {.c = &t, .body = gci, .flags = CLOUD_SIGV4_TOKEN_UNSIGNED};
        assume_ok(&fake, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
        sts(&fake, &u, &r);
        assert_sts_error(&r, 403, "SignatureDoesNotMatch", msg);
        h_resp_free(&r);
    }
}

static void test_throttle_answers_throttling_then_serves(void **state)
{
    struct h_fake_aws f;
    char path[64], msg[1024];
    struct h_resp r;
    (void)state;

    write_config(path, "throttle 2\n");
    assert_int_equal(h_fake_aws_start(&f, path, NULL), 0);
    for (int i = 0; i < 2; i++) {
        sts_simple(&f, &parapet, "Action=GetCallerIdentity&Version=2011-06-15", &r);
        assert_sts_error(&r, 400, "Throttling", msg);
        assert_string_equal(msg, "Rate exceeded");
        h_resp_free(&r);
    }
    assert_int_equal(sts_simple(&f, &parapet, "Action=GetCallerIdentity&Version=2011-06-15", &r),
                     200);
    h_resp_free(&r);
    assert_int_equal(h_fake_aws_stop(&f, 5000), 0);
    unlink(path);
}

static void test_temporary_credentials_call_get_caller_identity(void **state)
{
    static const char gci[] = "Action=GetCallerIdentity&Version=2011-06-15";
    struct creds t, no_token, other_token;
    char v[1024], body[2048], msg[1024];
    struct h_resp r;
    (void)state;

    /* Parapet's own identity. */
    assert_int_equal(sts_simple(&fake, &parapet, gci, &r), 200);
    assert_non_null(strstr(r.body, "<GetCallerIdentityResponse xmlns=\"" STS_NS "\">"));
    assert_true(xml_get(r.body, "Arn", v, sizeof v));
    assert_string_equal(v, "arn:aws:iam::" ACCOUNT ":user/parapet");
    assert_true(xml_get(r.body, "Account", v, sizeof v));
    assert_string_equal(v, ACCOUNT);
    h_resp_free(&r);

    /* The customer's role, with the session token. */
    assume_ok(&fake, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    assert_int_equal(sts_simple(&fake, &t, gci, &r), 200);
    assert_true(xml_get(r.body, "Account", v, sizeof v));
    assert_string_equal(v, ROLE_ACCOUNT);
    assert_true(xml_get(r.body, "Arn", v, sizeof v));
    assert_string_equal(v,
                        "arn:aws:sts::" ROLE_ACCOUNT ":assumed-role/AcmeSecurityReadOnly/" SESSION);
    assert_true(xml_get(r.body, "UserId", v, sizeof v));
    assert_memory_equal(v, "AROA", 4);
    h_resp_free(&r);

    /* Without the token, or with another session's token. */
    no_token = t;
    no_token.token[0] = '\0';
    sts_simple(&fake, &no_token, gci, &r);
    assert_sts_error(&r, 403, "InvalidClientTokenId", msg);
    h_resp_free(&r);
    assume_ok(&fake, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &other_token);
    snprintf(other_token.akid, sizeof other_token.akid, "%s", t.akid);
    snprintf(other_token.secret, sizeof other_token.secret, "%s", t.secret);
    sts_simple(&fake, &other_token, gci, &r);
    assert_sts_error(&r, 403, "InvalidClientTokenId", msg);
    h_resp_free(&r);

    /* Long-term keys do not carry a token. */
    {
        struct creds with_token = parapet;
        snprintf(with_token.token, sizeof with_token.token, "%s", t.token);
        sts_simple(&fake, &with_token, gci, &r);
        assert_sts_error(&r, 403, "InvalidClientTokenId", msg);
        h_resp_free(&r);
    }

    /* Roles trust Parapet's account, not a session of the customer's role. */
    assume_body(body, ROLE, SESSION, EXTERNAL_ID, NULL);
    sts_simple(&fake, &t, body, &r);
    assert_sts_error(&r, 403, "AccessDenied", msg);
    h_resp_free(&r);
}

static void test_expired_temporary_credentials_are_expired_token(void **state)
{
    static const char gci[] = "Action=GetCallerIdentity&Version=2011-06-15";
    struct h_fake_aws f;
    struct creds t;
    char path[64], msg[1024];
    struct h_resp r;
    (void)state;

    write_config(path, "expire_s 1\n");
    assert_int_equal(h_fake_aws_start(&f, path, NULL), 0);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 1, &t);
    h_sleep_ms(2100);
    sts_simple(&f, &t, gci, &r);
    assert_sts_error(&r, 400, "ExpiredToken", msg);
    assert_string_equal(msg, "The security token included in the request is expired");
    h_resp_free(&r);
    assert_int_equal(h_fake_aws_stop(&f, 5000), 0);
    unlink(path);
}

/* Asserts one log line's fields. */
static void assert_log_line(json_t *line, const char *action, const char *role_arn,
                            bool external_id_present, const char *prefix, long status,
                            const char *error)
{
    assert_non_null(line);
    assert_int_equal(json_object_size(line), 6);
    if (action)
        assert_string_equal(json_string_value(json_object_get(line, "action")), action);
    else
        assert_true(json_is_null(json_object_get(line, "action")));
    if (role_arn)
        assert_string_equal(json_string_value(json_object_get(line, "role_arn")), role_arn);
    else
        assert_true(json_is_null(json_object_get(line, "role_arn")));
    assert_true(json_is_boolean(json_object_get(line, "external_id_present")));
    assert_int_equal(json_is_true(json_object_get(line, "external_id_present")),
                     external_id_present);
    assert_string_equal(json_string_value(json_object_get(line, "access_key_prefix")), prefix);
    assert_int_equal(json_integer_value(json_object_get(line, "status")), status);
    if (error)
        assert_string_equal(json_string_value(json_object_get(line, "error")), error);
    else
        assert_true(json_is_null(json_object_get(line, "error")));
}

static void test_log_has_one_line_per_request_without_secrets(void **state)
{
    static const char gci[] = "Action=GetCallerIdentity&Version=2011-06-15";
    struct h_fake_aws f;
    struct creds t, unknown = {OTHER_AKID, SECRET, ""};
    char path[64], log_path[64], body[2048], sigs[3][65];
    struct h_resp r;
    char *text, *line, *next;
    size_t lines = 0;
    (void)state;

    write_config(path, NULL);
    snprintf(log_path, sizeof log_path, "/tmp/fake-aws-log-%d.jsonl", (int)getpid());
    unlink(log_path);
    assert_int_equal(h_fake_aws_start(&f, path, log_path), 0);

    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    snprintf(sigs[0], sizeof sigs[0], "%s", last_signature);
    assume_body(body, ROLE, SESSION, WRONG_EXTERNAL_ID, NULL);
    sts_simple(&f, &parapet, body, &r);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);
    snprintf(sigs[1], sizeof sigs[1], "%s", last_signature);
    assert_int_equal(sts_simple(&f, &t, gci, &r), 200);
    h_resp_free(&r);
    snprintf(sigs[2], sizeof sigs[2], "%s", last_signature);
    sts_simple(&f, &unknown, gci, &r);
    assert_int_equal(r.status, 403);
    h_resp_free(&r);
    assert_int_equal(h_fake_aws_stop(&f, 5000), 0);

    text = h_read_file(log_path);
    assert_non_null(text);
    /* Nothing secret: keys' secrets, the session token, signatures, external ID values. */
    assert_null(strstr(text, SECRET));
    assert_null(strstr(text, t.secret));
    assert_null(strstr(text, t.token));
    assert_null(strstr(text, t.token + 100)); /* nor a piece of it */
    assert_null(strstr(text, t.akid));
    assert_null(strstr(text, AKID));
    assert_null(strstr(text, EXTERNAL_ID));
    assert_null(strstr(text, WRONG_EXTERNAL_ID));
    for (size_t i = 0; i < 3; i++)
        assert_null(strstr(text, sigs[i]));

    for (line = text; *line != '\0'; line = next) {
        json_t *doc;
        next = strchr(line, '\n');
        assert_non_null(next); /* every line ends with a newline */
        *next++ = '\0';
        doc = json_loads(line, 0, NULL);
        switch (lines) {
        case 0:
            assert_log_line(doc, "AssumeRole", ROLE, true, "AKIA", 200, NULL);
            break;
        case 1:
            assert_log_line(doc, "AssumeRole", ROLE, true, "AKIA", 403, "AccessDenied");
            break;
        case 2:
            assert_log_line(doc, "GetCallerIdentity", NULL, false, "ASIA", 200, NULL);
            break;
        case 3:
            assert_log_line(doc, "GetCallerIdentity", NULL, false, "AKIA", 403,
                            "InvalidClientTokenId");
            break;
        default:
            fail_msg("unexpected log line %s", line);
        }
        json_decref(doc);
        lines++;
    }
    assert_int_equal(lines, 4);
    free(text);
    unlink(log_path);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assume_role_with_the_right_external_id_returns_credentials),
        cmocka_unit_test(test_wrong_or_missing_external_id_is_access_denied_with_one_message),
        cmocka_unit_test(test_role_without_condition_accepts_any_call),
        cmocka_unit_test(test_body_tampered_after_signing_is_signature_mismatch),
        cmocka_unit_test(test_wrong_secret_or_scope_is_signature_mismatch),
        cmocka_unit_test(test_unknown_access_key_is_invalid_client_token_id),
        cmocka_unit_test(test_date_twenty_minutes_old_is_signature_expired),
        cmocka_unit_test(test_parameters_are_validated_like_sts),
        cmocka_unit_test(test_request_shape_is_enforced),
        cmocka_unit_test(test_throttle_answers_throttling_then_serves),
        cmocka_unit_test(test_temporary_credentials_call_get_caller_identity),
        cmocka_unit_test(test_expired_temporary_credentials_are_expired_token),
        cmocka_unit_test(test_log_has_one_line_per_request_without_secrets),
    };
    return cmocka_run_group_tests_name("integration/fake_aws", tests, setup, teardown);
}
