/* The strict fake of AWS (tests/support/fake_aws) itself: requests signed with
 * cloud_sigv4_sign and sent with libcurl must be answered as STS, Lambda, IAM and API Gateway
 * answer them (wire-formats.md 5-9), and requests AWS would refuse must be refused with AWS's
 * codes and shapes, so tests of Parapet against the fake mean something. The Lambda, IAM and
 * API Gateway tests serve tests/data/aws/world-basic.json and world-edge.json. */
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

/* ---- Lambda, IAM and API Gateway over a world ------------------------------------------- */

#define WORLD_ACCOUNT "444455556666"

/* Path of a file under tests/data/aws into out[512]. */
static void data_path(const char *name, char out[512])
{
    const char *root = getenv("PARAPET_TEST_ROOT");
    snprintf(out, 512, "%s/tests/data/aws/%s", root != NULL ? root : ".", name);
}

/* Starts a fake serving world-basic.json (plus extra config lines); its config path in path. */
static void start_world(struct h_fake_aws *f, char path[64], const char *extra, const char *log)
{
    char world[512], lines[2048];

    data_path("world-basic.json", world);
    snprintf(lines, sizeof lines, "world %s\n%s", world, extra ? extra : "");
    write_config(path, lines);
    assert_int_equal(h_fake_aws_start(f, path, log), 0);
}

static void stop_world(struct h_fake_aws *f, const char *path)
{
    assert_int_equal(h_fake_aws_stop(f, 5000), 0);
    unlink(path);
}

static const char *tamper_query; /* sent instead of the signed query when set */

/* One request signed with cloud_sigv4_sign for service/region: method, wire path and query
 * (may be NULL), extra signed headers ("Name: value", NULL-terminated, may be NULL) and a body.
 * Returns the status; r holds the answer. */
static long aws_call(const struct h_fake_aws *f, const struct creds *c, const char *service,
                     const char *region, const char *method, const char *path, const char *query,
                     const char *const *extra, const char *body, struct h_resp *r)
{
    char host[64], url[4096];
    struct cloud_sigv4_header hs[8];
    struct cloud_sigv4_request req;
    struct cloud_sigv4_creds sc = {c->akid, c->secret, c->token};
    struct cloud_sigv4_result res;
    struct err err;
    char names[8][64], *lines[16];
    const char *hp[17];
    size_t nh = 0, n = 0;

    snprintf(host, sizeof host, "127.0.0.1:%u", f->port);
    hs[nh++] = (struct cloud_sigv4_header){"Host", host};
    for (const char *const *e = extra; e != NULL && *e != NULL; e++) {
        const char *colon = strchr(*e, ':');
        assert_non_null(colon);
        snprintf(names[nh], sizeof names[nh], "%.*s", (int)(colon - *e), *e);
        hs[nh] = (struct cloud_sigv4_header){names[nh], colon + 2};
        nh++;
    }
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    req.query = query;
    req.headers = hs;
    req.header_count = nh;
    req.payload = body;
    req.payload_len = body ? strlen(body) : 0;
    req.region = region;
    req.service = service;
    req.when = time(NULL);
    assert_int_equal(cloud_sigv4_sign(&req, &sc, &res, &err), ERR_OK);
    for (size_t i = 0; i < nh; i++) {
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
    if (tamper_query != NULL)
        query = tamper_query;
    snprintf(url, sizeof url, "%s%s%s%s", f->base, path, query ? "?" : "", query ? query : "");
    h_http(method, url, hp, body, body ? strlen(body) : 0, r);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    cloud_sigv4_result_free(&res);
    return r->status;
}

static long lambda_get(const struct h_fake_aws *f, const struct creds *c, const char *path,
                       const char *query, struct h_resp *r)
{
    return aws_call(f, c, "lambda", "us-east-1", "GET", path, query, NULL, NULL, r);
}

static long apigw_get(const struct h_fake_aws *f, const struct creds *c, const char *path,
                      const char *query, bool accept_json, struct h_resp *r)
{
    static const char *const json_accept[] = {"Accept: application/json", NULL};
    return aws_call(f, c, "apigateway", "us-east-1", "GET", path, query,
                    accept_json ? json_accept : NULL, NULL, r);
}

static long iam_call(const struct h_fake_aws *f, const struct creds *c, const char *body,
                     struct h_resp *r)
{
    static const char *const ct[] = {"Content-Type: " CT, NULL};
    return aws_call(f, c, "iam", "us-east-1", "POST", "/", NULL, ct, body, r);
}

/* The JSON body of a 200 answer (new reference). */
static json_t *json_ok(const struct h_resp *r)
{
    json_t *o;
    char ct[64];

    if (r->status != 200)
        fprintf(stderr, "expected 200, got %ld: %s\n", r->status, r->body);
    assert_int_equal(r->status, 200);
    assert_non_null(h_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    o = json_loads(r->body, 0, NULL);
    assert_non_null(o);
    return o;
}

/* Asserts a rest-json error: status, x-amzn-ErrorType and the message member's casing. */
static void assert_json_error(const struct h_resp *r, long status, const char *type,
                              const char *message_key)
{
    char v[128];
    json_t *o;

    if (r->status != status || h_header(r, "x-amzn-ErrorType", v, sizeof v) == NULL ||
        strcmp(v, type) != 0)
        fprintf(stderr, "expected %ld %s, got %ld: %s\n", status, type, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(h_header(r, "x-amzn-ErrorType", v, sizeof v));
    assert_string_equal(v, type);
    assert_non_null(h_header(r, "x-amzn-RequestId", v, sizeof v));
    o = json_loads(r->body, 0, NULL);
    assert_non_null(o);
    assert_non_null(json_string_value(json_object_get(o, message_key)));
    json_decref(o);
}

/* Asserts IAM's XML error shape. */
static void assert_iam_error(const struct h_resp *r, long status, const char *code)
{
    char v[1024];

    if (r->status != status || !xml_get(r->body, "Code", v, sizeof v) || strcmp(v, code) != 0)
        fprintf(stderr, "expected %ld %s, got %ld:\n%s\n", status, code, r->status, r->body);
    assert_int_equal(r->status, status);
    assert_non_null(strstr(r->body, "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/"
                                    "2010-05-08/\">"));
    assert_true(xml_get(r->body, "Code", v, sizeof v));
    assert_string_equal(v, code);
    assert_true(xml_get(r->body, "Message", v, sizeof v));
}

/* Appends s percent-encoded (RFC 3986) to out[n]. */
static void pct(char *out, size_t n, const char *s)
{
    out[0] = '\0';
    form_add(out, n, "x", s);
    memmove(out, out + 2, strlen(out + 2) + 1);
}

/* Percent-decodes s in place ('+' stays a plus, as IAM documents need). */
static void pct_decode(char *s)
{
    char *w = s;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '%' && p[1] && p[2]) {
            char hex[3] = {p[1], p[2], 0};
            *w++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static void test_list_functions_pages_of_fifty_with_an_encoded_marker(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], q[512], enc[256];
    struct h_resp r;
    size_t seen = 0, pages = 0;
    char marker[256] = "";
    (void)state;

    start_world(&f, path, "synthetic 120\n", NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    do {
        json_t *o, *fns, *fn, *nm;
        size_t i;
        if (marker[0] != '\0') {
            pct(enc, sizeof enc, marker);
            snprintf(q, sizeof q, "Marker=%s&MaxItems=100", enc);
        } else {
            snprintf(q, sizeof q, "MaxItems=100");
        }
        lambda_get(&f, &t, "/2015-03-31/functions/", q, &r);
        o = json_ok(&r);
        fns = json_object_get(o, "Functions");
        /* At most 50 per page whatever MaxItems says. */
        assert_true(json_array_size(fns) <= 50);
        json_array_foreach(fns, i, fn)
        {
            /* ListFunctions omits State and never shows the world's extra keys. */
            assert_null(json_object_get(fn, "State"));
            assert_null(json_object_get(fn, "Policy"));
            assert_null(json_object_get(fn, "CodeZip"));
            assert_null(json_object_get(fn, "UrlConfig"));
            assert_non_null(json_string_value(json_object_get(fn, "FunctionArn")));
            assert_non_null(json_string_value(json_object_get(fn, "CodeSha256")));
            seen++;
        }
        nm = json_object_get(o, "NextMarker");
        marker[0] = '\0';
        if (nm != NULL) {
            snprintf(marker, sizeof marker, "%s", json_string_value(nm));
            /* Tokens carry '+', '/' and '=' so clients must encode them. */
            assert_non_null(strpbrk(marker, "+/="));
        }
        json_decref(o);
        h_resp_free(&r);
        pages++;
    } while (marker[0] != '\0');
    assert_int_equal(seen, 12 + 120);
    assert_int_equal(pages, 3);

    /* MaxItems below 50 is honoured; a marker sent unencoded ('+' read as a space) is refused. */
    lambda_get(&f, &t, "/2015-03-31/functions", "MaxItems=5", &r);
    {
        json_t *o = json_ok(&r);
        assert_int_equal(json_array_size(json_object_get(o, "Functions")), 5);
        snprintf(marker, sizeof marker, "%s", json_string_value(json_object_get(o, "NextMarker")));
        json_decref(o);
    }
    h_resp_free(&r);
    snprintf(q, sizeof q, "Marker=%s", marker);
    lambda_get(&f, &t, "/2015-03-31/functions/", q, &r);
    assert_json_error(&r, 400, "InvalidParameterValueException", "message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/functions/", "MaxItems=0", &r);
    assert_json_error(&r, 400, "InvalidParameterValueException", "message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/functions/", "maxItems=5", &r);
    assert_json_error(&r, 400, "InvalidParameterValueException", "message");
    h_resp_free(&r);
    stop_world(&f, path);
}

static void test_lambda_reads_answer_the_documented_shapes(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64];
    struct h_resp r;
    json_t *o, *doc;
    (void)state;

    start_world(&f, path, NULL, NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);

    /* GetFunction: the configuration with State, the code location, tags, concurrency. */
    lambda_get(&f, &t, "/2015-03-31/functions/admin-tool", NULL, &r);
    o = json_ok(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "Configuration"), "State")), "Active");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "Code"), "RepositoryType")), "S3");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(o, "Code"), "Location")),
               "X-Amz-Expires=600"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "Tags"), "team")),
                        "platform");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "Concurrency"),
                                                        "ReservedConcurrentExecutions")),
                     1);
    json_decref(o);
    h_resp_free(&r);

    /* GetPolicy by full ARN (":" sent as %3A, signed double-encoded): a JSON string. */
    lambda_get(&f, &t,
               "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A" WORLD_ACCOUNT
               "%3Afunction%3Apayments-webhook/policy",
               NULL, &r);
    o = json_ok(&r);
    assert_true(json_is_string(json_object_get(o, "Policy")));
    doc = json_loads(json_string_value(json_object_get(o, "Policy")), 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "Statement"), 0), "Principal")),
                        "*");
    assert_non_null(json_string_value(json_object_get(o, "RevisionId")));
    json_decref(doc);
    json_decref(o);
    h_resp_free(&r);

    /* No policy, URL or event-invoke config: 404 ResourceNotFoundException ("Message"). */
    lambda_get(&f, &t, "/2015-03-31/functions/clean-api/policy", NULL, &r);
    assert_json_error(&r, 404, "ResourceNotFoundException", "Message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2021-10-31/functions/clean-api/url", NULL, &r);
    assert_json_error(&r, 404, "ResourceNotFoundException", "Message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2019-09-25/functions/payments-webhook/event-invoke-config", NULL, &r);
    assert_json_error(&r, 404, "ResourceNotFoundException", "Message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/functions/nope", NULL, &r);
    assert_json_error(&r, 404, "ResourceNotFoundException", "Message");
    h_resp_free(&r);

    lambda_get(&f, &t, "/2021-10-31/functions/payments-webhook/url", NULL, &r);
    o = json_ok(&r);
    assert_string_equal(json_string_value(json_object_get(o, "AuthType")), "NONE");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(o, "Cors"), "AllowOrigins"), 0)),
                        "*");
    assert_non_null(json_string_value(json_object_get(o, "FunctionArn")));
    json_decref(o);
    h_resp_free(&r);

    lambda_get(&f, &t, "/2021-10-31/functions/payments-webhook/urls", NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "FunctionUrlConfigs")), 1);
    json_decref(o);
    h_resp_free(&r);
    lambda_get(&f, &t, "/2021-10-31/functions/clean-api/urls", NULL, &r);
    assert_string_equal(r.body, "{\"FunctionUrlConfigs\":[]}");
    h_resp_free(&r);

    /* Concurrency: {} when none. */
    lambda_get(&f, &t, "/2019-09-30/functions/payments-webhook/concurrency", NULL, &r);
    assert_string_equal(r.body, "{}");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2019-09-30/functions/clean-api/concurrency", NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_integer_value(json_object_get(o, "ReservedConcurrentExecutions")), 10);
    json_decref(o);
    h_resp_free(&r);

    lambda_get(&f, &t, "/2019-09-25/functions/clean-api/event-invoke-config", NULL, &r);
    o = json_ok(&r);
    assert_true(json_is_real(json_object_get(o, "LastModified")));
    assert_non_null(json_string_value(json_object_get(
        json_object_get(json_object_get(o, "DestinationConfig"), "OnFailure"), "Destination")));
    json_decref(o);
    h_resp_free(&r);

    /* Event source mappings, filtered by function, paged by MaxItems. */
    lambda_get(&f, &t, "/2015-03-31/event-source-mappings/",
               "FunctionName=orders-worker&MaxItems=1", &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "EventSourceMappings")), 1);
    assert_non_null(json_object_get(o, "NextMarker"));
    assert_true(json_is_real(json_object_get(
        json_array_get(json_object_get(o, "EventSourceMappings"), 0), "LastModified")));
    json_decref(o);
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/event-source-mappings/", NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "EventSourceMappings")), 3);
    assert_null(json_object_get(o, "NextMarker"));
    json_decref(o);
    h_resp_free(&r);

    /* Only $LATEST exists; an unknown route is UnknownOperationException. */
    lambda_get(&f, &t, "/2015-03-31/functions/clean-api", "Qualifier=7", &r);
    assert_json_error(&r, 404, "ResourceNotFoundException", "Message");
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/layers", NULL, &r);
    assert_json_error(&r, 404, "UnknownOperationException", "message");
    h_resp_free(&r);
    stop_world(&f, path);
}

/* The Location of fn's package from GetFunction, into out[4096]. */
static void code_location(const struct h_fake_aws *f, const struct creds *t, const char *fn,
                          char out[4096])
{
    char p[256];
    struct h_resp r;
    json_t *o;

    snprintf(p, sizeof p, "/2015-03-31/functions/%s", fn);
    lambda_get(f, t, p, NULL, &r);
    o = json_ok(&r);
    snprintf(out, 4096, "%s",
             json_string_value(json_object_get(json_object_get(o, "Code"), "Location")));
    json_decref(o);
    h_resp_free(&r);
}

static void test_code_location_serves_the_zip_unsigned_and_refuses_tampering(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], loc[4096], bad[4096], zip_path[512], v[256];
    struct h_resp r;
    FILE *in;
    char want[8192];
    size_t want_len;
    (void)state;

    start_world(&f, path, "code_expire_s 2\n", NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    code_location(&f, &t, "legacy-npm", loc);
    assert_memory_equal(loc, f.base, strlen(f.base));
    assert_non_null(strstr(loc, "X-Amz-Algorithm=AWS4-HMAC-SHA256"));
    assert_non_null(strstr(loc, "X-Amz-Signature="));

    /* A plain GET returns the committed zip byte for byte. */
    h_http("GET", loc, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(h_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/zip");
    data_path("legacy-npm.zip", zip_path);
    in = fopen(zip_path, "rb");
    assert_non_null(in);
    want_len = fread(want, 1, sizeof want, in);
    fclose(in);
    assert_int_equal(r.len, want_len);
    assert_memory_equal(r.body, want, want_len);
    h_resp_free(&r);

    /* A function without a package: an empty zip. */
    code_location(&f, &t, "clean-api", bad);
    h_http("GET", bad, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 22);
    assert_memory_equal(r.body, "PK\x05\x06", 4);
    h_resp_free(&r);

    /* Another signature: S3's XML SignatureDoesNotMatch. */
    snprintf(bad, sizeof bad, "%s", loc);
    {
        char *sig = strstr(bad, "X-Amz-Signature=") + strlen("X-Amz-Signature=");
        sig[0] = sig[0] == '0' ? '1' : '0';
    }
    h_http("GET", bad, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_true(xml_get(r.body, "Code", v, sizeof v));
    assert_string_equal(v, "SignatureDoesNotMatch");
    h_resp_free(&r);
    /* No signature at all: AccessDenied. */
    snprintf(bad, sizeof bad, "%s", loc);
    *strstr(bad, "&X-Amz-Signature=") = '\0';
    h_http("GET", bad, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_true(xml_get(r.body, "Code", v, sizeof v));
    assert_string_equal(v, "AccessDenied");
    h_resp_free(&r);

    /* Expired: AccessDenied "Request has expired". */
    h_sleep_ms(3100);
    h_http("GET", loc, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_true(xml_get(r.body, "Code", v, sizeof v));
    assert_string_equal(v, "AccessDenied");
    assert_true(xml_get(r.body, "Message", v, sizeof v));
    assert_string_equal(v, "Request has expired");
    h_resp_free(&r);
    stop_world(&f, path);
}

static void test_iam_reads_are_xml_with_url_encoded_documents_and_markers(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], v[4096], body[1024], enc[512];
    struct h_resp r;
    json_t *doc;
    (void)state;

    start_world(&f, path, NULL, NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);

    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=shared-worker-role", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/"
                                   "2010-05-08/\">"));
    assert_true(xml_get(r.body, "Arn", v, sizeof v));
    assert_string_equal(v, "arn:aws:iam::" WORLD_ACCOUNT ":role/shared-worker-role");
    assert_true(xml_get(r.body, "AssumeRolePolicyDocument", v, sizeof v));
    assert_null(strchr(v, '{')); /* encoded */
    pct_decode(v);
    doc = json_loads(v, 0, NULL);
    assert_non_null(doc);
    json_decref(doc);
    assert_true(xml_get(r.body, "PermissionsBoundaryArn", v, sizeof v));
    h_resp_free(&r);

    /* Two attached policies, one per page with MaxItems=1: IsTruncated and Marker. */
    iam_call(&f, &t,
             "Action=ListAttachedRolePolicies&Version=2010-05-08&RoleName=shared-worker-role"
             "&MaxItems=1",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "IsTruncated", v, sizeof v));
    assert_string_equal(v, "true");
    assert_true(xml_get(r.body, "Marker", v, sizeof v));
    pct(enc, sizeof enc, v);
    h_resp_free(&r);
    snprintf(body, sizeof body,
             "Action=ListAttachedRolePolicies&Version=2010-05-08&RoleName=shared-worker-role"
             "&MaxItems=1&Marker=%s",
             enc);
    iam_call(&f, &t, body, &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "PolicyArn", v, sizeof v));
    assert_string_equal(v, "arn:aws:iam::" WORLD_ACCOUNT ":policy/orders-s3-access");
    assert_true(xml_get(r.body, "IsTruncated", v, sizeof v));
    assert_string_equal(v, "false");
    assert_false(xml_get(r.body, "Marker", v, sizeof v));
    h_resp_free(&r);

    iam_call(&f, &t,
             "Action=GetPolicy&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A" WORLD_ACCOUNT
             "%3Apolicy%2Forders-s3-access",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "DefaultVersionId", v, sizeof v));
    assert_string_equal(v, "v3");
    h_resp_free(&r);
    iam_call(
        &f, &t,
        "Action=GetPolicyVersion&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A" WORLD_ACCOUNT
        "%3Apolicy%2Forders-s3-access&VersionId=v3",
        &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "Document", v, sizeof v));
    pct_decode(v);
    doc = json_loads(v, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "Statement"), 0), "Action")),
                        "s3:*");
    json_decref(doc);
    h_resp_free(&r);

    iam_call(&f, &t,
             "Action=GetPolicy&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2F"
             "service-role%2FAWSLambdaBasicExecutionRole",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "Path", v, sizeof v));
    assert_string_equal(v, "/service-role/");
    assert_true(xml_get(r.body, "AttachmentCount", v, sizeof v));
    assert_string_equal(v, "10"); /* every role of the world attaches it */
    h_resp_free(&r);

    iam_call(&f, &t, "Action=ListRolePolicies&Version=2010-05-08&RoleName=shared-worker-role", &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "member", v, sizeof v));
    assert_string_equal(v, "orders-table");
    h_resp_free(&r);
    iam_call(&f, &t,
             "Action=GetRolePolicy&Version=2010-05-08&RoleName=shared-worker-role"
             "&PolicyName=orders-queue",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "PolicyDocument", v, sizeof v));
    pct_decode(v);
    assert_non_null(strstr(v, "sqs:ReceiveMessage"));
    h_resp_free(&r);

    /* Errors: NoSuchEntity 404, a bad version, IAM signed for another region. */
    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=payments-old-role", &r);
    assert_iam_error(&r, 404, "NoSuchEntity");
    h_resp_free(&r);
    iam_call(
        &f, &t,
        "Action=GetPolicyVersion&Version=2010-05-08&PolicyArn=arn%3Aaws%3Aiam%3A%3A" WORLD_ACCOUNT
        "%3Apolicy%2Forders-s3-access&VersionId=v1",
        &r);
    assert_iam_error(&r, 404, "NoSuchEntity");
    h_resp_free(&r);
    iam_call(&f, &t, "Action=ListRoles&Version=2010-05-08", &r);
    assert_iam_error(&r, 400, "InvalidAction");
    h_resp_free(&r);
    iam_call(&f, &t, "Action=GetRole&Version=2011-06-15&RoleName=admin-role", &r);
    assert_iam_error(&r, 400, "InvalidAction");
    h_resp_free(&r);
    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08", &r);
    assert_iam_error(&r, 400, "ValidationError");
    h_resp_free(&r);
    {
        static const char *const ct[] = {"Content-Type: " CT, NULL};
        aws_call(&f, &t, "iam", "eu-west-1", "POST", "/", NULL, ct,
                 "Action=GetRole&Version=2010-05-08&RoleName=admin-role", &r);
        assert_iam_error(&r, 403, "SignatureDoesNotMatch");
        h_resp_free(&r);
    }
    stop_world(&f, path);
}

static void test_api_gateway_v2_and_v1_shapes_and_pagination(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], q[512], enc[256], v[128];
    struct h_resp r;
    json_t *o, *res;
    size_t i;
    bool saw_integration = false;
    (void)state;

    start_world(&f, path, NULL, NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);

    /* v2: items/nextToken, maxResults a string. */
    apigw_get(&f, &t, "/v2/apis", "maxResults=1", true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 1);
    assert_null(json_object_get(json_array_get(json_object_get(o, "items"), 0), "routes"));
    pct(enc, sizeof enc, json_string_value(json_object_get(o, "nextToken")));
    json_decref(o);
    h_resp_free(&r);
    snprintf(q, sizeof q, "maxResults=1&nextToken=%s", enc);
    apigw_get(&f, &t, "/v2/apis", q, true, &r);
    o = json_ok(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(o, "items"), 0), "apiId")),
        "f6g7h8i9j0");
    assert_null(json_object_get(o, "nextToken"));
    json_decref(o);
    h_resp_free(&r);

    apigw_get(&f, &t, "/v2/apis/a1b2c3d4e5/routes", NULL, true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "items")), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "items"), 0), "authorizationType")),
                        "NONE");
    json_decref(o);
    h_resp_free(&r);
    apigw_get(&f, &t, "/v2/apis/a1b2c3d4e5/integrations", NULL, true, &r);
    o = json_ok(&r);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "items"), 0), "integrationUri")),
                        "arn:aws:lambda:us-east-1:" WORLD_ACCOUNT ":function:orders-api");
    json_decref(o);
    h_resp_free(&r);
    apigw_get(&f, &t, "/v2/apis/zzz/routes", NULL, true, &r);
    assert_json_error(&r, 404, "NotFoundException", "message");
    assert_non_null(strstr(r.body, "Invalid API identifier specified " WORLD_ACCOUNT ":zzz"));
    h_resp_free(&r);
    apigw_get(&f, &t, "/v2/apis", "maxResults=ten", true, &r);
    assert_json_error(&r, 400, "BadRequestException", "message");
    h_resp_free(&r);

    /* v1: "item"/"position", only with Accept: application/json; HAL otherwise. */
    apigw_get(&f, &t, "/restapis", NULL, true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "item")), 1);
    assert_true(
        json_is_string(json_object_get(json_array_get(json_object_get(o, "item"), 0), "policy")));
    assert_true(json_is_integer(
        json_object_get(json_array_get(json_object_get(o, "item"), 0), "createdDate")));
    json_decref(o);
    h_resp_free(&r);
    apigw_get(&f, &t, "/restapis", NULL, false, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(h_header(&r, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/hal+json");
    o = json_loads(r.body, 0, NULL);
    assert_non_null(json_object_get(o, "_embedded"));
    assert_null(json_object_get(o, "item"));
    json_decref(o);
    h_resp_free(&r);

    apigw_get(&f, &t, "/restapis/xk2j4h6g8f/resources", "embed=methods&limit=2", true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "item")), 2);
    json_array_foreach(json_object_get(o, "item"), i, res)
    {
        json_t *get = json_object_get(json_object_get(res, "resourceMethods"), "GET");
        if (get != NULL) {
            assert_string_equal(json_string_value(json_object_get(get, "authorizationType")),
                                "NONE");
            assert_non_null(strstr(json_string_value(json_object_get(
                                       json_object_get(get, "methodIntegration"), "uri")),
                                   "/invocations"));
            saw_integration = true;
        }
    }
    assert_true(saw_integration);
    pct(enc, sizeof enc, json_string_value(json_object_get(o, "position")));
    json_decref(o);
    h_resp_free(&r);
    snprintf(q, sizeof q, "embed=methods&limit=2&position=%s", enc);
    apigw_get(&f, &t, "/restapis/xk2j4h6g8f/resources", q, true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "item")), 1);
    assert_null(json_object_get(o, "position"));
    json_decref(o);
    h_resp_free(&r);
    apigw_get(&f, &t, "/restapis/xk2j4h6g8f/resources/abc123/methods/GET/integration", NULL, true,
              &r);
    o = json_ok(&r);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "AWS_PROXY");
    json_decref(o);
    h_resp_free(&r);
    apigw_get(&f, &t, "/restapis", "limit=501", true, &r);
    assert_json_error(&r, 400, "BadRequestException", "message");
    h_resp_free(&r);
    apigw_get(&f, &t, "/restapis/nope/resources", NULL, true, &r);
    assert_json_error(&r, 404, "NotFoundException", "message");
    h_resp_free(&r);
    stop_world(&f, path);
}

static void test_data_calls_must_be_signed_for_their_service_with_live_credentials(void **state)
{
    struct h_fake_aws f;
    struct creds t, bad, unknown = {OTHER_AKID, SECRET, ""};
    char path[64], url[256];
    struct h_resp r;
    (void)state;

    start_world(&f, path, "expire_s 2\n", NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 2, &t);

    snprintf(url, sizeof url, "%s/2015-03-31/functions/", f.base);
    h_http("GET", url, NULL, NULL, 0, &r);
    assert_json_error(&r, 403, "MissingAuthenticationTokenException", "message");
    h_resp_free(&r);
    aws_call(&f, &t, "sts", "us-east-1", "GET", "/2015-03-31/functions/", NULL, NULL, NULL, &r);
    assert_json_error(&r, 403, "InvalidSignatureException", "message");
    assert_non_null(strstr(r.body, "Credential should be scoped to correct service: 'lambda'"));
    h_resp_free(&r);
    bad = t;
    bad.secret[0] = bad.secret[0] == 'A' ? 'B' : 'A';
    lambda_get(&f, &bad, "/2015-03-31/functions/", NULL, &r);
    assert_json_error(&r, 403, "InvalidSignatureException", "message");
    h_resp_free(&r);
    lambda_get(&f, &unknown, "/2015-03-31/functions/", NULL, &r);
    assert_json_error(&r, 403, "UnrecognizedClientException", "message");
    h_resp_free(&r);
    {
        static const char *const hs[] = {"Authorization: AWS4-HMAC-SHA256 Credential=x", NULL};
        h_http("GET", url, hs, NULL, 0, &r);
        assert_json_error(&r, 400, "IncompleteSignatureException", "message");
        h_resp_free(&r);
    }
    apigw_get(&f, &bad, "/v2/apis", NULL, true, &r);
    assert_json_error(&r, 403, "InvalidSignatureException", "message");
    h_resp_free(&r);
    iam_call(&f, &bad, "Action=GetRole&Version=2010-05-08&RoleName=admin-role", &r);
    assert_iam_error(&r, 403, "SignatureDoesNotMatch");
    h_resp_free(&r);
    /* The query is signed: a page size changed after signing is refused. */
    tamper_query = "MaxItems=6";
    lambda_get(&f, &t, "/2015-03-31/functions/", "MaxItems=5", &r);
    tamper_query = NULL;
    assert_json_error(&r, 403, "InvalidSignatureException", "message");
    h_resp_free(&r);

    /* After expire_s the session is refused until re-assumed. */
    h_sleep_ms(2100);
    lambda_get(&f, &t, "/2015-03-31/functions/", NULL, &r);
    assert_json_error(&r, 403, "ExpiredTokenException", "message");
    h_resp_free(&r);
    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=admin-role", &r);
    assert_iam_error(&r, 403, "ExpiredToken");
    h_resp_free(&r);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 2, &t);
    assert_int_equal(lambda_get(&f, &t, "/2015-03-31/functions/", NULL, &r), 200);
    h_resp_free(&r);
    stop_world(&f, path);
}

static void test_other_accounts_and_regions_see_an_empty_account(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64];
    struct h_resp r;
    json_t *o;
    (void)state;

    start_world(&f, path, NULL, NULL);
    /* Parapet's own keys: its own (empty) account. */
    lambda_get(&f, &parapet, "/2015-03-31/functions/", NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "Functions")), 0);
    json_decref(o);
    h_resp_free(&r);
    iam_call(&f, &parapet, "Action=GetRole&Version=2010-05-08&RoleName=admin-role", &r);
    assert_iam_error(&r, 404, "NoSuchEntity");
    h_resp_free(&r);
    /* The customer's role in another region. */
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    aws_call(&f, &t, "lambda", "eu-west-1", "GET", "/2015-03-31/functions/", NULL, NULL, NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "Functions")), 0);
    json_decref(o);
    h_resp_free(&r);
    lambda_get(&f, &t, "/2015-03-31/functions/", NULL, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "Functions")), 12);
    json_decref(o);
    h_resp_free(&r);
    stop_world(&f, path);
}

/* The fake's counters (GET /_fake/counters). */
static json_t *counters(const struct h_fake_aws *f)
{
    char url[128];
    struct h_resp r;
    json_t *o;

    snprintf(url, sizeof url, "%s/_fake/counters", f->base);
    h_http("GET", url, NULL, NULL, 0, &r);
    o = json_ok(&r);
    h_resp_free(&r);
    return o;
}

static long counter(json_t *c, const char *op, const char *resource, const char *which)
{
    json_t *x =
        resource ? json_object_get(json_object_get(json_object_get(c, "resources"), op), resource)
                 : json_object_get(json_object_get(c, "operations"), op);
    return (long)json_integer_value(json_object_get(x, which));
}

static void test_faults_throttle_fail_truncate_garbage_and_count(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], v[64], url[128];
    struct h_resp r;
    json_t *o, *c;
    (void)state;

    start_world(&f, path,
                "throttle lambda 1\nthrottle iam 1\nthrottle apigateway 1\nretry_after 2\n"
                "fail lambda:GetPolicy AccessDeniedException 1 payments-webhook\n"
                "fail iam:GetRole ServiceFailure always admin-role\n"
                "fail GetFunctionUrlConfig ServiceException\n"
                "truncate GetFunctionConcurrency 1\n"
                "garbage GetRoutes 1\n"
                "truncate iam:ListRolePolicies 1\n"
                "huge GetFunctionEventInvokeConfig 1 clean-api\nhuge_bytes 2097152\n",
                NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);

    /* Throttling in each service's shape, then service. */
    lambda_get(&f, &t, "/2015-03-31/functions/", NULL, &r);
    assert_json_error(&r, 429, "TooManyRequestsException", "message");
    assert_non_null(strstr(r.body, "\"Reason\":\"CallerRateLimitExceeded\""));
    assert_non_null(h_header(&r, "Retry-After", v, sizeof v));
    assert_string_equal(v, "2");
    h_resp_free(&r);
    assert_int_equal(lambda_get(&f, &t, "/2015-03-31/functions/", NULL, &r), 200);
    h_resp_free(&r);
    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=clean-role", &r);
    assert_iam_error(&r, 400, "Throttling");
    h_resp_free(&r);
    apigw_get(&f, &t, "/v2/apis", NULL, true, &r);
    assert_json_error(&r, 429, "TooManyRequestsException", "message");
    h_resp_free(&r);

    /* fail: once for one resource, always for another, always for a whole call. */
    lambda_get(&f, &t, "/2015-03-31/functions/payments-webhook/policy", NULL, &r);
    assert_json_error(&r, 403, "AccessDeniedException", "Message");
    assert_non_null(strstr(r.body, "is not authorized to perform: lambda:GetPolicy"));
    h_resp_free(&r);
    assert_int_equal(lambda_get(&f, &t, "/2015-03-31/functions/payments-webhook/policy", NULL, &r),
                     200);
    h_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=admin-role", &r);
        assert_iam_error(&r, 500, "ServiceFailure");
        assert_true(xml_get(r.body, "Type", v, sizeof v));
        assert_string_equal(v, "Receiver");
        h_resp_free(&r);
    }
    assert_int_equal(iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=clean-role", &r),
                     200);
    h_resp_free(&r);
    lambda_get(&f, &t, "/2021-10-31/functions/payments-webhook/url", NULL, &r);
    assert_json_error(&r, 500, "ServiceException", "Message");
    h_resp_free(&r);

    /* truncate and garbage: 200 with a body that does not parse, once. */
    assert_int_equal(lambda_get(&f, &t, "/2019-09-30/functions/clean-api/concurrency", NULL, &r),
                     200);
    o = json_loads(r.body, 0, NULL);
    assert_null(o);
    h_resp_free(&r);
    lambda_get(&f, &t, "/2019-09-30/functions/clean-api/concurrency", NULL, &r);
    o = json_ok(&r);
    json_decref(o);
    h_resp_free(&r);
    assert_int_equal(apigw_get(&f, &t, "/v2/apis/a1b2c3d4e5/routes", NULL, true, &r), 200);
    assert_null(json_loads(r.body, 0, NULL));
    h_resp_free(&r);
    assert_int_equal(
        iam_call(&f, &t, "Action=ListRolePolicies&Version=2010-05-08&RoleName=clean-role", &r),
        200);
    assert_null(strstr(r.body, "</ListRolePoliciesResponse>"));
    h_resp_free(&r);

    /* huge: still valid JSON, huge_bytes (2 MiB, over net/'s default cap) bigger. */
    lambda_get(&f, &t, "/2019-09-25/functions/clean-api/event-invoke-config", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.len > (size_t)2 * 1024 * 1024);
    o = json_loads(r.body, 0, NULL);
    assert_non_null(o);
    json_decref(o);
    h_resp_free(&r);

    /* Counters: every request per operation, and per resource. */
    c = counters(&f);
    assert_int_equal(counter(c, "lambda:ListFunctions", NULL, "requests"), 2);
    assert_int_equal(counter(c, "lambda:ListFunctions", NULL, "ok"), 1);
    assert_int_equal(counter(c, "iam:GetRole", "admin-role", "requests"), 2);
    assert_int_equal(counter(c, "iam:GetRole", "admin-role", "ok"), 0);
    assert_int_equal(counter(c, "iam:GetRole", "clean-role", "requests"), 2);
    assert_int_equal(counter(c, "lambda:GetPolicy", "payments-webhook", "ok"), 1);
    assert_int_equal(counter(c, "sts:AssumeRole", NULL, "ok"), 1);
    json_decref(c);
    snprintf(url, sizeof url, "%s/_fake/reset", f.base);
    h_http("POST", url, NULL, "", 0, &r);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    c = counters(&f);
    assert_int_equal(json_object_size(json_object_get(c, "operations")), 0);
    json_decref(c);
    stop_world(&f, path);
}

/* All function names of a fake's account, paging ListFunctions; returns how many. */
static size_t list_all(const struct h_fake_aws *f, const struct creds *t, char **names)
{
    char q[512], enc[256], marker[256] = "";
    size_t n = 0;
    struct h_resp r;

    do {
        json_t *o, *fn;
        size_t i;
        if (marker[0] != '\0') {
            pct(enc, sizeof enc, marker);
            snprintf(q, sizeof q, "Marker=%s", enc);
        }
        lambda_get(f, t, "/2015-03-31/functions/", marker[0] ? q : NULL, &r);
        o = json_ok(&r);
        json_array_foreach(json_object_get(o, "Functions"), i, fn)
        {
            char *s = json_dumps(fn, JSON_COMPACT | JSON_SORT_KEYS);
            size_t have = *names ? strlen(*names) : 0;
            *names = realloc(*names, have + strlen(s) + 2);
            assert_non_null(*names);
            memcpy(*names + have, s, strlen(s) + 1);
            free(s);
            n++;
        }
        marker[0] = '\0';
        if (json_object_get(o, "NextMarker") != NULL)
            snprintf(marker, sizeof marker, "%s",
                     json_string_value(json_object_get(o, "NextMarker")));
        json_decref(o);
        h_resp_free(&r);
    } while (marker[0] != '\0');
    return n;
}

static void test_synthetic_accounts_are_deterministic_and_mixed(void **state)
{
    struct h_fake_aws a, b;
    struct creds ta, tb;
    char pa[64], pb[64];
    char *la = NULL, *lb = NULL;
    struct h_resp r;
    json_t *o;
    long long t0;
    (void)state;

    write_config(pa, "synthetic 400\ndelay_ms 100\n");
    write_config(pb, "synthetic 400\n");
    assert_int_equal(h_fake_aws_start(&a, pa, NULL), 0);
    assert_int_equal(h_fake_aws_start(&b, pb, NULL), 0);
    assume_ok(&a, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &ta);
    assume_ok(&b, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &tb);
    t0 = h_now_ms();
    assert_int_equal(list_all(&a, &ta, &la), 400);
    /* delay_ms: every call waits (8 pages of 50). */
    assert_true(h_now_ms() - t0 >= 800);
    assert_int_equal(list_all(&b, &tb, &lb), 400);
    assert_string_equal(la, lb);
    free(la);
    free(lb);

    /* The mix: a public URL, a shared admin role, a secret, routes. */
    lambda_get(&b, &tb, "/2021-10-31/functions/synth-fn-00023/url", NULL, &r);
    o = json_ok(&r);
    assert_string_equal(json_string_value(json_object_get(o, "AuthType")), "NONE");
    json_decref(o);
    h_resp_free(&r);
    assert_int_equal(iam_call(&b, &tb,
                              "Action=ListAttachedRolePolicies&Version=2010-05-08"
                              "&RoleName=synth-role-000",
                              &r),
                     200);
    assert_non_null(strstr(r.body, "AdministratorAccess"));
    h_resp_free(&r);
    apigw_get(&b, &tb, "/v2/apis", NULL, true, &r);
    o = json_ok(&r);
    assert_true(json_array_size(json_object_get(o, "items")) >= 2);
    json_decref(o);
    h_resp_free(&r);
    /* v1 pages hold 25 items unless limit says otherwise. */
    apigw_get(&b, &tb, "/restapis/rest000000/resources", "embed=methods", true, &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "item")), 25);
    assert_non_null(json_object_get(o, "position"));
    json_decref(o);
    h_resp_free(&r);
    assert_int_equal(h_fake_aws_stop(&a, 5000), 0);
    assert_int_equal(h_fake_aws_stop(&b, 5000), 0);
    unlink(pa);
    unlink(pb);
}

static void test_short_pages_are_truncated_before_max_items(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], v[256];
    struct h_resp r;
    json_t *o;
    char *all = NULL;
    (void)state;

    start_world(&f, path, "short_pages\n", NULL);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    lambda_get(&f, &t, "/2015-03-31/functions/", "MaxItems=10", &r);
    o = json_ok(&r);
    assert_int_equal(json_array_size(json_object_get(o, "Functions")), 5);
    assert_non_null(json_object_get(o, "NextMarker"));
    json_decref(o);
    h_resp_free(&r);
    /* Following the marker still reaches every function. */
    assert_int_equal(list_all(&f, &t, &all), 12);
    free(all);
    iam_call(&f, &t,
             "Action=ListAttachedRolePolicies&Version=2010-05-08&RoleName=shared-worker-role"
             "&MaxItems=2",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "IsTruncated", v, sizeof v));
    assert_string_equal(v, "true");
    h_resp_free(&r);
    stop_world(&f, path);
}

static void test_edge_world_serves_broken_documents_and_packages_verbatim(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], world[512], lines[600], loc[4096], v[4096];
    struct h_resp r;
    json_t *o;
    (void)state;

    data_path("world-edge.json", world);
    snprintf(lines, sizeof lines, "world %s\n", world);
    write_config(path, lines);
    assert_int_equal(h_fake_aws_start(&f, path, NULL), 0);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);

    /* A container image function: ECR code, no Runtime, no ImageUri in ListFunctions. */
    lambda_get(&f, &t, "/2015-03-31/functions/image-fn", NULL, &r);
    o = json_ok(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "Code"), "RepositoryType")), "ECR");
    assert_null(json_object_get(json_object_get(o, "Configuration"), "Runtime"));
    assert_null(json_object_get(json_object_get(o, "Configuration"), "ImageUri"));
    json_decref(o);
    h_resp_free(&r);

    /* The corrupt package is served as it is. */
    code_location(&f, &t, "corrupt-zip", loc);
    h_http("GET", loc, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 554);
    h_resp_free(&r);

    /* A policy string that is not JSON comes back as that string. */
    lambda_get(&f, &t, "/2015-03-31/functions/bad-policy/policy", NULL, &r);
    o = json_ok(&r);
    assert_null(json_loads(json_string_value(json_object_get(o, "Policy")), 0, NULL));
    json_decref(o);
    h_resp_free(&r);

    iam_call(&f, &t, "Action=GetRole&Version=2010-05-08&RoleName=deleted-role", &r);
    assert_iam_error(&r, 404, "NoSuchEntity");
    h_resp_free(&r);
    iam_call(&f, &t,
             "Action=GetRolePolicy&Version=2010-05-08&RoleName=bad-docs-role"
             "&PolicyName=broken-inline",
             &r);
    assert_int_equal(r.status, 200);
    assert_true(xml_get(r.body, "PolicyDocument", v, sizeof v));
    pct_decode(v);
    assert_string_equal(v, "{\"Statement\": [");
    h_resp_free(&r);
    assert_int_equal(h_fake_aws_stop(&f, 5000), 0);
    unlink(path);
}

static void test_log_lines_for_data_calls_name_service_action_and_resource(void **state)
{
    struct h_fake_aws f;
    struct creds t;
    char path[64], log_path[64];
    struct h_resp r;
    char *text, *nl;
    json_t *line;
    (void)state;

    snprintf(log_path, sizeof log_path, "/tmp/fake-aws-log2-%d.jsonl", (int)getpid());
    unlink(log_path);
    start_world(&f, path, NULL, log_path);
    assume_ok(&f, ROLE, ROLE_ACCOUNT, "AcmeSecurityReadOnly", EXTERNAL_ID, 3600, &t);
    assert_int_equal(lambda_get(&f, &t, "/2015-03-31/functions/payments-webhook", NULL, &r), 200);
    h_resp_free(&r);
    stop_world(&f, path);
    text = h_read_file(log_path);
    assert_non_null(text);
    assert_null(strstr(text, t.secret));
    assert_null(strstr(text, t.token));
    assert_null(strstr(text, "sk_live_")); /* the function's secret */
    nl = strchr(text, '\n');
    assert_non_null(nl);
    line = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "service")), "lambda");
    assert_string_equal(json_string_value(json_object_get(line, "action")), "GetFunction");
    assert_string_equal(json_string_value(json_object_get(line, "resource")), "payments-webhook");
    assert_string_equal(json_string_value(json_object_get(line, "access_key_prefix")), "ASIA");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 200);
    json_decref(line);
    free(text);
    unlink(log_path);
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
        cmocka_unit_test(test_list_functions_pages_of_fifty_with_an_encoded_marker),
        cmocka_unit_test(test_lambda_reads_answer_the_documented_shapes),
        cmocka_unit_test(test_code_location_serves_the_zip_unsigned_and_refuses_tampering),
        cmocka_unit_test(test_iam_reads_are_xml_with_url_encoded_documents_and_markers),
        cmocka_unit_test(test_api_gateway_v2_and_v1_shapes_and_pagination),
        cmocka_unit_test(test_data_calls_must_be_signed_for_their_service_with_live_credentials),
        cmocka_unit_test(test_other_accounts_and_regions_see_an_empty_account),
        cmocka_unit_test(test_faults_throttle_fail_truncate_garbage_and_count),
        cmocka_unit_test(test_synthetic_accounts_are_deterministic_and_mixed),
        cmocka_unit_test(test_short_pages_are_truncated_before_max_items),
        cmocka_unit_test(test_edge_world_serves_broken_documents_and_packages_verbatim),
        cmocka_unit_test(test_log_lines_for_data_calls_name_service_action_and_resource),
    };
    return cmocka_run_group_tests_name("integration/fake_aws", tests, setup, teardown);
}
