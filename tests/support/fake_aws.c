/* fake_aws - a strict fake of AWS for integration tests and benchmarks: STS (Query protocol,
 * AssumeRole and GetCallerIdentity) and the reads a posture scan makes of one account: Lambda,
 * IAM and API Gateway v1/v2 (reference: wire-formats.md sections 5-9), over a "world" of
 * functions, roles and APIs. Every request's SigV4 signature is checked by recomputing it.
 *
 *   fake_aws --port N [--config FILE] [--log FILE] [--world FILE]
 *
 * Listens on 127.0.0.1:N (0 = a free port) and prints "port=N" (the bound port) as the first
 * line on stdout, flushed, once it accepts connections. SIGTERM or SIGINT stops it; exit 0.
 * Exit 2 on bad usage or configuration (message on stderr), 1 when it cannot listen.
 *
 * Config, one directive per line; blank lines and lines starting with '#' are ignored:
 *   account 111122223333      the caller's (Parapet's) account (default 111122223333)
 *   credentials AKID SECRET   long-term keys of arn:aws:iam::<account>:user/parapet (repeatable)
 *   role ARN EXTERNAL_ID|-    a role that trusts <account>, on condition of that external ID,
 *                             or unconditionally with '-' (the confused-deputy mistake)
 *   throttle N                answer the next N requests (any service) with throttling
 *   throttle SERVICE N        ... only requests of SERVICE: sts, iam, lambda, apigateway, s3
 *                             (STS/IAM 400 Throttling XML; Lambda 429 TooManyRequestsException
 *                             with Reason; API Gateway 429; s3 (code download) 503 SlowDown)
 *   retry_after S             Retry-After header on Lambda/API Gateway/S3 throttling (0: none)
 *   expire_s S                lifetime of issued temporary credentials (default: DurationSeconds,
 *                             else 3600)
 *   world FILE                the account to serve (relative to the config file's directory):
 *                             a snapshot-shaped JSON document, see posture/inventory.md and
 *                             tests/data/aws/README.md; --world overrides it
 *   synthetic N               append N generated functions (with roles and APIs) to the world,
 *                             deterministically (tests/support/lib/aws_fake_world.c)
 *   delay_ms MS               answer every AWS request after MS milliseconds (requests wait in
 *                             parallel: one thread per connection)
 *   code_expire_s S           X-Amz-Expires of GetFunction's Code.Location (default 600)
 *   fail CALL CODE [N|always] [RESOURCE]
 *                             answer CALL ("GetPolicy", or "lambda:GetPolicy" for one service)
 *                             with the error CODE (AccessDeniedException, ServiceException,
 *                             ServiceFailure, NoSuchEntity, ResourceNotFoundException, Throttling,
 *                             TooManyRequestsException, ...: fault_codes[]) N times or always
 *                             (default), for one RESOURCE (function name, role name, policy ARN,
 *                             API id) or any
 *   truncate CALL [N|always] [RESOURCE]   cut a successful answer's body in half
 *   garbage CALL [N|always] [RESOURCE]    replace a successful answer's body with non-JSON/XML
 *   huge CALL [N|always] [RESOURCE]       append huge_bytes of whitespace to a successful
 *                             answer (still valid JSON/XML: only the client's size cap refuses it)
 *   huge_bytes B              how much "huge" adds (default 16 MiB)
 *   short_pages               answer half of each page's items (at least one), still truncated,
 *                             as AWS may (IAM documents it), so clients must follow the token
 *
 * Routing (one port for every service, as AWS_ENDPOINT_URL gives it): Lambda by its path
 * prefixes (/2015-03-31/, /2021-10-31/, /2019-09-30/, /2019-09-25/), API Gateway by /v2/ and
 * /restapis, IAM by POST / with an IAM Action (GetRole, ListAttachedRolePolicies,
 * ListRolePolicies, GetRolePolicy, GetPolicy, GetPolicyVersion), the code download by
 * /snapshots/, the fake's own control paths by /_fake/, and everything else is STS.
 *
 * What is enforced (AWS behaviour where AWS is known; "fake:" marks stricter choices):
 * - STS, fake: POST, request target exactly "/" (no query), Content-Type
 *   application/x-www-form-urlencoded with at most "; charset=utf-8", a well-formed form body of
 *   at most 64 KiB without repeated or empty names: else 400 MalformedRequest (413
 *   RequestEntityTooLarge for the size). IAM: the same Content-Type and form rules.
 * - Authorization "AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/SERVICE/aws4_request,
 *   SignedHeaders=..., Signature=...", an X-Amz-Date header (fake: the Date header is not
 *   accepted instead), host and x-amz-date signed, and fake: X-Amz-Security-Token signed when sent.
 *   SERVICE must be the signing name (sts, iam, lambda, apigateway); IAM requires region
 *   us-east-1. The signature is recomputed with cloud_sigv4_sign() over the received method,
 *   wire path (Lambda ARNs arrive %3A-encoded and are signed double-encoded), wire query, the
 *   headers named in SignedHeaders with their received values, and the body.
 * - X-Amz-Date more than 15 minutes from now: 403 SignatureDoesNotMatch "Signature expired" /
 *   "Signature not yet current", as STS answers (S3's RequestTimeTooSkewed is S3 only).
 * - Temporary credentials (ASIA...) need their own session token; they expire (STS 400
 *   ExpiredToken, IAM 403 ExpiredToken, Lambda/API Gateway 403 ExpiredTokenException).
 *   Long-term keys must not carry a token. Unknown key or bad token: InvalidClientTokenId (XML)
 *   / UnrecognizedClientException (JSON). Signature mismatch: SignatureDoesNotMatch (XML) /
 *   InvalidSignatureException (JSON); no Authorization: MissingAuthenticationToken[Exception].
 * - AssumeRole: only the long-term identity is trusted by roles (a role session calling AssumeRole
 *   is AccessDenied); unknown role, and an external ID missing or wrong where the role requires
 *   one, give the same 403 AccessDenied message.
 * - Data calls see the world only when the caller's account is the world's account_id and, for
 *   Lambda and API Gateway, the signing region is the world's region; anyone else sees an empty
 *   account (Parapet's own keys see Parapet's empty account).
 * - fake: a query parameter an operation does not take is 400 (InvalidParameterValueException /
 *   BadRequestException), so a misspelt MaxItems is noticed; '+' in a query is a space, so an
 *   unencoded page token is refused.
 * - GetFunction's Code.Location is http://<Host of the request>/snapshots/<account>/<name>-<id>
 *   ?versionId=..&X-Amz-Algorithm=..&X-Amz-Credential=..&X-Amz-Date=..&X-Amz-Expires=600&
 *   X-Amz-Security-Token=..&X-Amz-SignedHeaders=host&X-Amz-Signature=.., presigned by the fake
 *   for service s3. A plain GET of it returns the function's CodeZip (an empty zip when none);
 *   expired: 403 AccessDenied "Request has expired"; parameters missing: 403 AccessDenied; any
 *   other change (fake: even an equivalent re-encoding): 403 SignatureDoesNotMatch; S3 XML errors.
 *
 * Control paths (unsigned): GET /_fake/counters answers {"operations": {"svc:Op": {"requests":
 * N, "ok": N}}, "resources": {"svc:Op": {"<resource>": {"requests": N, "ok": N}}}} counting every
 * request routed to an operation (ok: answered 2xx); POST /_fake/reset zeroes them.
 *
 * Log (--log): one JSON object per request, appended with one write(). STS:
 *   {"action":..,"role_arn":..,"external_id_present":bool,"access_key_prefix":"AKIA","status":N,
 *    "error":"Code"|null}
 * other services: {"service":"lambda","action":"GetPolicy","resource":..,"access_key_prefix":..,
 *    "status":N,"error":..}
 * (strings null when absent). Never a secret, token, signature, external ID or response body.
 *
 * Threading: libmicrohttpd runs a thread per connection; the world is read-only once loaded and
 * the mutable state (throttles, faults, counters, issued credentials, log) is under one mutex,
 * released for delay_ms. */
#include "cloud/sigv4.h"
#include "server/err.h"
#include "tests/support/lib/aws_fake.h"
#include "tests/support/lib/fake_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STS_VERSION "2011-06-15"
#define STS_NS "https://sts.amazonaws.com/doc/" STS_VERSION "/"
#define DEFAULT_ACCOUNT "111122223333"
#define MAX_BODY (64 * 1024)                  /* bytes of request body */
#define MAX_XML (64 * 1024)                   /* bytes of a response body */
#define MAX_REQ_HEADERS 128                   /* received header lines */
#define MAX_LONG_CREDS 64                     /* credentials directives */
#define MAX_ROLES 256                         /* role directives */
#define MAX_TEMP 4096                         /* issued temporary credentials held at once */
#define MAX_SESSION_S 3600                    /* every role's MaxSessionDuration */
#define SKEW_S (15 * 60)                      /* X-Amz-Date tolerance */
#define TOKEN_LEN 512                         /* bytes of a session token */
#define TOKEN_PREFIX "IQoJb3JpZ2luX2Vj"       /* what real tokens start with */
#define LOG_FIELD_MAX 2048                    /* longest string copied into a log line */
#define MAX_FAULTS 64                         /* fail/truncate/garbage/huge directives */
#define HUGE_BYTES ((size_t)16 * 1024 * 1024) /* default bytes a "huge" fault adds */

#define MSG_SIGNATURE                                                                              \
    "The request signature we calculated does not match the signature you provided. Check your "   \
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
#define MSG_TOKEN_INVALID "The security token included in the request is invalid."
#define MSG_TOKEN_EXPIRED "The security token included in the request is expired"

struct long_cred {
    char *akid;
    char *secret;
};

struct role {
    char *arn;
    char *name;        /* last path segment of the ARN, borrowed from arn */
    char *external_id; /* NULL: the trust policy has no sts:ExternalId condition */
    char account[13];
    char id[22]; /* "AROA" + 17, stable per ARN */
};

struct temp_cred {
    char akid[21];
    char secret[41];
    char token[TOKEN_LEN + 1];
    char session[65];
    time_t expires;
    size_t role; /* index into fake.roles */
};

enum fault_kind { FAULT_FAIL, FAULT_TRUNCATE, FAULT_GARBAGE, FAULT_HUGE };

/* "fail CALL CODE [N] [RESOURCE]", "truncate CALL [N] [RESOURCE]", "garbage ...". */
struct fault {
    enum fault_kind kind;
    char call[96];      /* "GetPolicy" or "lambda:GetPolicy" */
    char code[64];      /* FAULT_FAIL */
    unsigned status;    /* FAULT_FAIL */
    long remaining;     /* shots left; -1 = always */
    char resource[256]; /* "" = any */
};

struct fake {
    /* Read-only once serving. */
    struct awsf_world world;
    bool have_world;
    bool short_pages;
    size_t huge_bytes;
    char *world_path;
    unsigned long synthetic;
    unsigned long delay_ms;
    unsigned retry_after;
    unsigned code_expire_s;
    struct awsf_code_signer code; /* signs and checks code download URLs */
    char account[13];
    struct long_cred creds[MAX_LONG_CREDS];
    size_t ncreds;
    struct role roles[MAX_ROLES];
    size_t nroles;
    long expire_s; /* 0 = not configured */
    int log_fd;    /* -1 = no log */
    /* Under mu. */
    pthread_mutex_t mu;
    unsigned long throttle;
    unsigned long throttle_svc[AWSF_S3 + 1];
    struct fault faults[MAX_FAULTS];
    size_t nfaults;
    json_t *counters; /* {"operations": {"svc:Op": {requests, ok}}, "resources": {...}} */
    struct temp_cred *temps;
    size_t ntemps, temps_cap;
};

/* One request, from the URI log callback to the completion callback. */
struct req {
    char *target; /* raw request target as received */
    bool seen;    /* the access handler has been called once */
    char *body;
    size_t len;
    bool too_large;
};

struct hdrs {
    struct cloud_sigv4_header h[MAX_REQ_HEADERS]; /* borrowed from libmicrohttpd */
    size_t n;
    bool overflow;
};

/* Who signed the request. */
struct caller {
    const struct long_cred *lc; /* exactly one of lc, tc */
    const struct temp_cred *tc;
    char arn[2300];
    char user_id[128];
    char account[13];
    char region[33]; /* of the signature's credential scope */
};

/* What a request is signed for: the wire path and query, the signing name, and the region the
 * endpoint requires (NULL: any valid region, as regional endpoints answer for their own). */
struct scope {
    const char *path;
    const char *query;
    const char *service;
    const char *region;
};

/* The parsed Authorization header. */
struct auth {
    char akid[129];
    char date[9];
    char region[33];
    char service[65];
    char terminator[33];
    char signed_headers[1024];
    char signature[65];
};

/* ---- small helpers ---------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* True when every byte of s is [A-Za-z0-9_] or in extra. */
static bool word_chars(const char *s, const char *extra)
{
    for (; *s != '\0'; s++) {
        if (!is_alnum(*s) && *s != '_' && strchr(extra, *s) == NULL)
            return false;
    }
    return true;
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return true;
}

/* Wipes a response body before freeing it: success bodies carry secrets and tokens. */
static void free_wiped(void *p)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}

/* ---- received headers ------------------------------------------------------------------- */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct hdrs *hs = cls;
    (void)kind;

    if (hs->n == MAX_REQ_HEADERS) {
        hs->overflow = true;
        return MHD_NO;
    }
    hs->h[hs->n].name = key;
    hs->h[hs->n].value = value != NULL ? value : "";
    hs->n++;
    return MHD_YES;
}

/* Number of headers called name (case-insensitive); *first gets the first value. */
static size_t header_count(const struct hdrs *hs, const char *name, const char **first)
{
    size_t n = 0;

    *first = NULL;
    for (size_t i = 0; i < hs->n; i++) {
        if (strcasecmp(hs->h[i].name, name) == 0) {
            if (n == 0)
                *first = hs->h[i].value;
            n++;
        }
    }
    return n;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "application/x-www-form-urlencoded", optionally "; charset=utf-8" (quoted or not). */
static bool content_type_ok(const char *v)
{
    static const char mt[] = "application/x-www-form-urlencoded";

    v = skip_ows(v);
    if (strncasecmp(v, mt, sizeof mt - 1) != 0)
        return false;
    v = skip_ows(v + sizeof mt - 1);
    if (*v == '\0')
        return true;
    if (*v != ';')
        return false;
    v = skip_ows(v + 1);
    if (strncasecmp(v, "charset=", 8) != 0)
        return false;
    v += 8;
    if (strncasecmp(v, "utf-8", 5) == 0)
        v += 5;
    else if (strncasecmp(v, "\"utf-8\"", 7) == 0)
        v += 7;
    else
        return false;
    return *skip_ows(v) == '\0';
}

/* Copies the first (up to) 4 alphanumeric characters of the Credential's access key, for the
 * log; "" when there is none. */
static void key_prefix(const char *authorization, char out[5])
{
    const char *c = authorization ? strstr(authorization, "Credential=") : NULL;
    size_t n = 0;

    if (c != NULL) {
        c += strlen("Credential=");
        while (n < 4 && is_alnum(c[n])) {
            out[n] = c[n];
            n++;
        }
    }
    out[n] = '\0';
}

/* Copies [s, s+n) into out[outlen]; false when it does not fit. */
static bool copy_part(char *out, size_t outlen, const char *s, size_t n)
{
    if (n >= outlen)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* Parses "AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..". */
static bool parse_authorization(const char *v, struct auth *a, struct awsf_reply *rp)
{
    static const char alg[] = CLOUD_SIGV4_ALGORITHM " ";
    bool have_cred = false, have_sh = false, have_sig = false;
    char cred[400] = "";
    const char *p, *parts[5];
    size_t lens[5], np = 0;

    memset(a, 0, sizeof *a);
    if (strncmp(v, alg, sizeof alg - 1) != 0) {
        awsf_fail(rp, 400, "IncompleteSignature",
                  "Authorization header requires the '" CLOUD_SIGV4_ALGORITHM "' algorithm.");
        return false;
    }
    p = v + sizeof alg - 1;
    for (;;) {
        const char *e, *eq, *val;
        size_t len, klen, vlen;
        bool *seen;
        char *dst;
        size_t dstlen;

        p = skip_ows(p);
        e = strchr(p, ',');
        len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        eq = memchr(p, '=', len);
        if (eq == NULL) {
            awsf_fail(rp, 400, "IncompleteSignature",
                      "Authorization header parameters must be Key=Value pairs separated by ','.");
            return false;
        }
        klen = (size_t)(eq - p);
        val = eq + 1;
        vlen = len - klen - 1;
        if (klen == 10 && strncmp(p, "Credential", 10) == 0) {
            seen = &have_cred;
            dst = cred;
            dstlen = sizeof cred;
        } else if (klen == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
            seen = &have_sh;
            dst = a->signed_headers;
            dstlen = sizeof a->signed_headers;
        } else if (klen == 9 && strncmp(p, "Signature", 9) == 0) {
            seen = &have_sig;
            dst = a->signature;
            dstlen = sizeof a->signature;
        } else {
            awsf_fail(rp, 400, "IncompleteSignature",
                      "Authorization header has an unknown parameter.");
            return false;
        }
        if (*seen || vlen == 0 || !copy_part(dst, dstlen, val, vlen)) {
            awsf_fail(rp, 400, "IncompleteSignature",
                      "Authorization header has a repeated, empty or oversized parameter.");
            return false;
        }
        *seen = true;
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (!have_cred || !have_sh || !have_sig) {
        awsf_fail(rp, 400, "IncompleteSignature", "%s%s%s",
                  have_cred ? "" : "Authorization header requires 'Credential' parameter. ",
                  have_sh ? "" : "Authorization header requires 'SignedHeaders' parameter. ",
                  have_sig ? "" : "Authorization header requires 'Signature' parameter. ");
        return false;
    }
    for (p = cred; np < 5; np++) {
        const char *slash = strchr(p, '/');
        parts[np] = p;
        lens[np] = slash ? (size_t)(slash - p) : strlen(p);
        if (slash == NULL) {
            np++;
            break;
        }
        p = slash + 1;
    }
    if (np != 5 || strchr(parts[4], '/') != NULL || lens[0] == 0 ||
        !copy_part(a->akid, sizeof a->akid, parts[0], lens[0]) ||
        !copy_part(a->date, sizeof a->date, parts[1], lens[1]) ||
        !copy_part(a->region, sizeof a->region, parts[2], lens[2]) ||
        !copy_part(a->service, sizeof a->service, parts[3], lens[3]) ||
        !copy_part(a->terminator, sizeof a->terminator, parts[4], lens[4])) {
        awsf_fail(rp, 400, "IncompleteSignature",
                  "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.");
        return false;
    }
    return true;
}

/* ---- authentication --------------------------------------------------------------------- */

static const struct long_cred *find_long(const struct fake *f, const char *akid)
{
    for (size_t i = 0; i < f->ncreds; i++) {
        if (strcmp(f->creds[i].akid, akid) == 0)
            return &f->creds[i];
    }
    return NULL;
}

static const struct temp_cred *find_temp(const struct fake *f, const char *akid)
{
    for (size_t i = 0; i < f->ntemps; i++) {
        if (strcmp(f->temps[i].akid, akid) == 0)
            return &f->temps[i];
    }
    return NULL;
}

/* True when the ';'-separated list holds name. */
static bool list_has(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; p != NULL; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && (p[n] == ';' || p[n] == '\0'))
            return true;
    }
    return false;
}

/* Recomputes the signature over the received request; fills rp when it does not match. */
static bool verify_signature(const struct req *r, const char *method, const struct hdrs *hs,
                             const struct scope *scope, const struct auth *a, time_t when,
                             const char *secret, const char *token, struct awsf_reply *rp)
{
    struct cloud_sigv4_header signed_hdrs[CLOUD_SIGV4_MAX_HEADERS];
    struct cloud_sigv4_request sreq;
    struct cloud_sigv4_creds sc = {a->akid, secret, token};
    struct cloud_sigv4_result res;
    struct err err;
    size_t n = 0;
    const char *p = a->signed_headers;
    enum err_code rc;
    bool ok;

    /* Exactly the headers SignedHeaders names, every received occurrence, in received order. */
    while (*p != '\0') {
        size_t len = strcspn(p, ";");
        bool found = false;
        for (size_t i = 0; i < hs->n; i++) {
            if (strlen(hs->h[i].name) != len || strncasecmp(hs->h[i].name, p, len) != 0)
                continue;
            if (n == CLOUD_SIGV4_MAX_HEADERS) {
                awsf_fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
                return false;
            }
            signed_hdrs[n++] = hs->h[i];
            found = true;
        }
        if (!found || len == 0) {
            awsf_fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
            return false;
        }
        p += len;
        if (*p == ';')
            p++;
    }
    memset(&sreq, 0, sizeof sreq);
    sreq.method = method;
    sreq.path = scope->path;
    sreq.query = scope->query;
    sreq.headers = signed_hdrs;
    sreq.header_count = n;
    sreq.payload = r->len > 0 ? r->body : NULL;
    sreq.payload_len = r->len;
    sreq.region = a->region;
    sreq.service = scope->service;
    sreq.when = when;
    memset(&res, 0, sizeof res);
    err_clear(&err);
    rc = cloud_sigv4_sign(&sreq, &sc, &res, &err);
    if (rc == ERR_NOMEM || rc == ERR_INTERNAL) {
        awsf_fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return false;
    }
    /* The signer's own SignedHeaders must be the client's list verbatim (sorted, lower-case,
     * nothing it would not sign), and then the signatures must agree. */
    ok = rc == ERR_OK && strcmp(res.signed_headers, a->signed_headers) == 0 &&
         strlen(a->signature) == 64 && CRYPTO_memcmp(res.signature, a->signature, 64) == 0;
    cloud_sigv4_result_free(&res);
    if (!ok)
        awsf_fail(rp, 403, "SignatureDoesNotMatch", MSG_SIGNATURE);
    return ok;
}

/* Authenticates the request; fills c, or rp with the error. Called with f->mu held. */
static bool authenticate(const struct fake *f, const struct req *r, const char *method,
                         const struct hdrs *hs, const struct scope *sc, struct caller *c,
                         struct awsf_reply *rp)
{
    const char *authz, *date, *token;
    size_t n_authz, n_date, n_token;
    struct auth a;
    time_t when, now = time(NULL);
    const char *secret;
    char t1[17], t2[17], t3[17];

    memset(c, 0, sizeof *c);
    n_authz = header_count(hs, "Authorization", &authz);
    if (n_authz == 0) {
        awsf_fail(rp, 403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        return false;
    }
    if (n_authz > 1) {
        awsf_fail(rp, 400, "IncompleteSignature", "More than one Authorization header.");
        return false;
    }
    if (!parse_authorization(authz, &a, rp))
        return false;
    n_date = header_count(hs, "X-Amz-Date", &date);
    if (n_date == 0) {
        awsf_fail(rp, 400, "IncompleteSignature",
                  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                  "header. (fake_aws accepts only X-Amz-Date.)");
        return false;
    }
    if (n_date > 1 || !awsf_parse_amz_date(date, &when)) {
        awsf_fail(rp, 400, "IncompleteSignature",
                  "Date must be in ISO-8601 'basic format'. Got '%.32s'. See "
                  "http://en.wikipedia.org/wiki/ISO_8601",
                  date);
        return false;
    }
    if (strncmp(a.date, date, 8) != 0 || strlen(a.date) != 8) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                  "from HTTP: '%s' != '%.8s', from '%s'.",
                  a.date, date, date);
        return false;
    }
    if (strcmp(a.service, sc->service) != 0) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Credential should be scoped to correct service: '%s'. ", sc->service);
        return false;
    }
    if (strcmp(a.terminator, "aws4_request") != 0) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ",
                  a.terminator);
        return false;
    }
    if (a.region[0] == '\0' ||
        strspn(a.region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(a.region)) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Credential should be scoped to a valid region. ");
        return false;
    }
    if (sc->region != NULL && strcmp(a.region, sc->region) != 0) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Credential should be scoped to a valid region, not '%s'. ", a.region);
        return false;
    }
    if (!list_has(a.signed_headers, "host")) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
        return false;
    }
    if (!list_has(a.signed_headers, "x-amz-date")) {
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
        return false;
    }

    /* Who: long-term keys from the config, or temporary ones this fake issued. */
    n_token = header_count(hs, "X-Amz-Security-Token", &token);
    c->lc = find_long(f, a.akid);
    c->tc = c->lc ? NULL : find_temp(f, a.akid);
    if (c->lc == NULL && c->tc == NULL) {
        awsf_fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
        return false;
    }
    if (c->lc != NULL && n_token > 0) {
        awsf_fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
        return false;
    }
    if (c->tc != NULL) {
        if (n_token != 1 || strlen(token) != strlen(c->tc->token) ||
            CRYPTO_memcmp(token, c->tc->token, strlen(token)) != 0) {
            awsf_fail(rp, 403, "InvalidClientTokenId", MSG_TOKEN_INVALID);
            return false;
        }
        if (now >= c->tc->expires) {
            awsf_fail(rp, 400, "ExpiredToken", MSG_TOKEN_EXPIRED);
            return false;
        }
        if (!list_has(a.signed_headers, "x-amz-security-token")) {
            awsf_fail(rp, 403, "SignatureDoesNotMatch",
                      "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization. "
                      "(fake_aws requires the session token to be signed.)");
            return false;
        }
    }

    /* STS allows 15 minutes of clock skew and names it a signature failure. */
    if (when < now - SKEW_S) {
        awsf_format_time(when, false, t1, sizeof t1);
        awsf_format_time(now - SKEW_S, false, t2, sizeof t2);
        awsf_format_time(now, false, t3, sizeof t3);
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Signature expired: %s is now earlier than %s (%s - 15 min.)", t1, t2, t3);
        return false;
    }
    if (when > now + SKEW_S) {
        awsf_format_time(when, false, t1, sizeof t1);
        awsf_format_time(now + SKEW_S, false, t2, sizeof t2);
        awsf_format_time(now, false, t3, sizeof t3);
        awsf_fail(rp, 403, "SignatureDoesNotMatch",
                  "Signature not yet current: %s is still later than %s (%s + 15 min.)", t1, t2,
                  t3);
        return false;
    }

    secret = c->lc ? c->lc->secret : c->tc->secret;
    if (!verify_signature(r, method, hs, sc, &a, when, secret, c->tc ? c->tc->token : NULL, rp))
        return false;
    snprintf(c->region, sizeof c->region, "%s", a.region);

    if (c->lc != NULL) {
        snprintf(c->account, sizeof c->account, "%s", f->account);
        snprintf(c->arn, sizeof c->arn, "arn:aws:iam::%s:user/parapet", f->account);
        awsf_derived_id("AIDA", c->lc->akid, 17, c->user_id, sizeof c->user_id);
    } else {
        const struct role *ro = &f->roles[c->tc->role];
        snprintf(c->account, sizeof c->account, "%s", ro->account);
        snprintf(c->arn, sizeof c->arn, "arn:aws:sts::%s:assumed-role/%s/%s", ro->account, ro->name,
                 c->tc->session);
        snprintf(c->user_id, sizeof c->user_id, "%s:%s", ro->id, c->tc->session);
    }
    return true;
}

/* ---- actions ---------------------------------------------------------------------------- */

static void validation(struct awsf_reply *rp, const char *value, const char *member,
                       const char *constraint)
{
    if (value == NULL)
        awsf_fail(rp, 400, "ValidationError",
                  "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
                  "Member must not be null",
                  member);
    else
        awsf_fail(rp, 400, "ValidationError",
                  "1 validation error detected: Value '%.200s' at '%s' failed to satisfy "
                  "constraint: Member %s",
                  value, member, constraint);
}

/* Checks a string member: length lo..hi and characters [A-Za-z0-9_] plus extra. */
static bool check_member(struct awsf_reply *rp, const char *value, const char *member, size_t lo,
                         size_t hi, const char *extra, const char *pattern)
{
    char c[96];
    size_t n = strlen(value);

    if (n < lo) {
        snprintf(c, sizeof c, "must have length greater than or equal to %zu", lo);
        validation(rp, value, member, c);
        return false;
    }
    if (n > hi) {
        snprintf(c, sizeof c, "must have length less than or equal to %zu", hi);
        validation(rp, value, member, c);
        return false;
    }
    if (extra != NULL && !word_chars(value, extra)) {
        snprintf(c, sizeof c, "must satisfy regular expression pattern: %s", pattern);
        validation(rp, value, member, c);
        return false;
    }
    return true;
}

/* Makes room for one more temporary credential (dropping expired ones first). */
static struct temp_cred *temp_slot(struct fake *f, time_t now)
{
    if (f->ntemps == f->temps_cap) {
        size_t keep = 0;
        for (size_t i = 0; i < f->ntemps; i++) {
            if (f->temps[i].expires > now)
                f->temps[keep++] = f->temps[i];
        }
        OPENSSL_cleanse(f->temps + keep, (f->ntemps - keep) * sizeof *f->temps);
        f->ntemps = keep;
    }
    if (f->ntemps == f->temps_cap) {
        size_t cap = f->temps_cap ? f->temps_cap * 2 : 16;
        struct temp_cred *nt;
        if (cap > MAX_TEMP)
            return NULL;
        nt = realloc(f->temps, cap * sizeof *nt);
        if (nt == NULL)
            return NULL;
        f->temps = nt;
        f->temps_cap = cap;
    }
    return &f->temps[f->ntemps];
}

static void assume_role(struct fake *f, const struct awsf_params *form, const struct caller *c,
                        const char *rid, struct awsf_reply *rp)
{
    const char *arn = awsf_param(form, "RoleArn");
    const char *session = awsf_param(form, "RoleSessionName");
    const char *external_id = awsf_param(form, "ExternalId");
    const char *duration = awsf_param(form, "DurationSeconds");
    const struct role *ro = NULL;
    struct temp_cred *t;
    unsigned long seconds = 0;
    time_t now = time(NULL);
    long lifetime;
    char expiration[32], assumed_arn[2300], assumed_id[128];
    struct sbuf b = {.max = MAX_XML};

    if (arn == NULL) {
        validation(rp, NULL, "roleArn", NULL);
        return;
    }
    if (!check_member(rp, arn, "roleArn", 20, 2048, NULL, NULL))
        return;
    if (session == NULL) {
        validation(rp, NULL, "roleSessionName", NULL);
        return;
    }
    if (!check_member(rp, session, "roleSessionName", 2, 64, "+=,.@-", "[\\w+=,.@-]*"))
        return;
    if (external_id != NULL &&
        !check_member(rp, external_id, "externalId", 2, 1224, "+=,.@:/-", "[\\w+=,.@:/-]*"))
        return;
    if (duration != NULL) {
        size_t dl = strlen(duration);
        if (dl == 0 || dl > 9 || strspn(duration, "0123456789") != dl) {
            validation(rp, duration, "durationSeconds", "must be an integer");
            return;
        }
        seconds = strtoul(duration, NULL, 10);
        if (seconds < 900) {
            validation(rp, duration, "durationSeconds",
                       "must have value greater than or equal to 900");
            return;
        }
        if (seconds > 43200) {
            validation(rp, duration, "durationSeconds",
                       "must have value less than or equal to 43200");
            return;
        }
    }

    /* Trust: roles trust the caller account's long-term identity, on their external ID
     * condition. Every refusal reads the same, as AWS does not say which condition failed. */
    for (size_t i = 0; i < f->nroles; i++) {
        if (strcmp(f->roles[i].arn, arn) == 0)
            ro = &f->roles[i];
    }
    if (ro == NULL || c->lc == NULL ||
        (ro->external_id != NULL &&
         (external_id == NULL || strcmp(ro->external_id, external_id) != 0))) {
        awsf_fail(rp, 403, "AccessDenied",
                  "User: %s is not authorized to perform: sts:AssumeRole on resource: %.2048s",
                  c->arn, arn);
        return;
    }
    if (seconds > MAX_SESSION_S) {
        awsf_fail(
            rp, 400, "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        return;
    }

    t = temp_slot(f, now);
    if (t == NULL) {
        awsf_fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    memset(t, 0, sizeof *t);
    memcpy(t->akid, "ASIA", 4);
    lifetime = f->expire_s > 0 ? f->expire_s : seconds > 0 ? (long)seconds : 3600;
    if (!awsf_rand_chars(t->akid + 4, 16, awsf_upper_alnum, strlen(awsf_upper_alnum)) ||
        !awsf_rand_chars(t->secret, 40, awsf_base64_chars, strlen(awsf_base64_chars)) ||
        !awsf_rand_chars(t->token + strlen(TOKEN_PREFIX), TOKEN_LEN - strlen(TOKEN_PREFIX) - 2,
                         awsf_base64_chars, strlen(awsf_base64_chars))) {
        OPENSSL_cleanse(t, sizeof *t);
        awsf_fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    memcpy(t->token, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
    memcpy(t->token + TOKEN_LEN - 2, "==", 3);
    snprintf(t->session, sizeof t->session, "%s", session);
    t->expires = now + lifetime;
    t->role = (size_t)(ro - f->roles);
    f->ntemps++;

    awsf_format_time(t->expires, true, expiration, sizeof expiration);
    snprintf(assumed_arn, sizeof assumed_arn, "arn:aws:sts::%s:assumed-role/%s/%s", ro->account,
             ro->name, session);
    snprintf(assumed_id, sizeof assumed_id, "%s:%s", ro->id, session);
    sb_lit(&b, "<AssumeRoleResponse xmlns=\"" STS_NS "\">\n  <AssumeRoleResult>\n"
                     "    <AssumedRoleUser>\n");
    awsf_sb_elem(&b, "      ", "Arn", assumed_arn);
    awsf_sb_elem(&b, "      ", "AssumedRoleId", assumed_id);
    sb_lit(&b, "    </AssumedRoleUser>\n    <Credentials>\n");
    awsf_sb_elem(&b, "      ", "AccessKeyId", t->akid);
    awsf_sb_elem(&b, "      ", "SecretAccessKey", t->secret);
    awsf_sb_elem(&b, "      ", "SessionToken", t->token);
    awsf_sb_elem(&b, "      ", "Expiration", expiration);
    sb_lit(&b, "    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata>\n");
    awsf_sb_elem(&b, "    ", "RequestId", rid);
    sb_lit(&b, "  </ResponseMetadata>\n</AssumeRoleResponse>\n");
    if (b.failed) {
        if (b.p != NULL)
            free_wiped(b.p);
        awsf_fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    rp->status = 200;
    rp->body = b.p;
}

static void get_caller_identity(const struct caller *c, const char *rid, struct awsf_reply *rp)
{
    struct sbuf b = {.max = MAX_XML};

    sb_lit(&b,
                 "<GetCallerIdentityResponse xmlns=\"" STS_NS "\">\n  <GetCallerIdentityResult>\n");
    awsf_sb_elem(&b, "    ", "Arn", c->arn);
    awsf_sb_elem(&b, "    ", "UserId", c->user_id);
    awsf_sb_elem(&b, "    ", "Account", c->account);
    sb_lit(&b, "  </GetCallerIdentityResult>\n  <ResponseMetadata>\n");
    awsf_sb_elem(&b, "    ", "RequestId", rid);
    sb_lit(&b, "  </ResponseMetadata>\n</GetCallerIdentityResponse>\n");
    if (b.failed) {
        free(b.p);
        awsf_fail(rp, 500, "InternalFailure", "The request processing has failed.");
        return;
    }
    rp->status = 200;
    rp->body = b.p;
}

/* Everything after throttling; fills rp. Called with f->mu held. */
static void process(struct fake *f, const struct req *r, const char *method, const struct hdrs *hs,
                    const struct awsf_params *form, bool form_ok, const char *why, const char *rid,
                    struct awsf_reply *rp)
{
    static const struct scope sts_scope = {"/", NULL, "sts", NULL};
    const char *ct, *action, *version;
    struct caller c;

    if (strcmp(method, "POST") != 0) {
        awsf_fail(rp, 400, "MalformedRequest", "fake_aws: STS calls must be POST, not %.16s.",
                  method);
        return;
    }
    if (strcmp(r->target, "/") != 0) {
        awsf_fail(rp, 400, "MalformedRequest",
                  "fake_aws: the request target must be \"/\" with the parameters in the body.");
        return;
    }
    if (hs->overflow) {
        awsf_fail(rp, 400, "MalformedRequest", "fake_aws: more than %d headers.", MAX_REQ_HEADERS);
        return;
    }
    if (header_count(hs, "Content-Type", &ct) != 1 || !content_type_ok(ct)) {
        awsf_fail(rp, 400, "MalformedRequest",
                  "fake_aws: Content-Type must be application/x-www-form-urlencoded; "
                  "charset=utf-8.");
        return;
    }
    if (r->too_large) {
        awsf_fail(rp, 413, "RequestEntityTooLarge", "fake_aws: the body exceeds %d bytes.",
                  MAX_BODY);
        return;
    }
    if (!form_ok) {
        awsf_fail(rp, 400, "MalformedRequest", "fake_aws: malformed form body: %s.", why);
        return;
    }
    if (!authenticate(f, r, method, hs, &sts_scope, &c, rp))
        return;

    action = awsf_param(form, "Action");
    version = awsf_param(form, "Version");
    if (action == NULL ||
        (strcmp(action, "AssumeRole") != 0 && strcmp(action, "GetCallerIdentity") != 0)) {
        awsf_fail(rp, 400, "InvalidAction", "Could not find operation %.64s for version %.32s",
                  action ? action : "", version ? version : STS_VERSION);
        return;
    }
    if (version == NULL) {
        validation(rp, NULL, "version", NULL);
        return;
    }
    if (strcmp(version, STS_VERSION) != 0) {
        awsf_fail(rp, 400, "InvalidAction", "Could not find operation %s for version %.32s", action,
                  version);
        return;
    }
    if (strcmp(action, "AssumeRole") == 0)
        assume_role(f, form, &c, rid, rp);
    else
        get_caller_identity(&c, rid, rp);
}

/* ---- log -------------------------------------------------------------------------------- */

/* A JSON string of s (at most LOG_FIELD_MAX bytes), or null when absent or not UTF-8. */
static json_t *log_string(const char *s)
{
    json_t *v;

    if (s == NULL)
        return json_null();
    v = json_stringn(s, strnlen(s, LOG_FIELD_MAX));
    return v != NULL ? v : json_null();
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static const char *const service_names[] = {
    [AWSF_STS] = "sts",          [AWSF_IAM] = "iam", [AWSF_LAMBDA] = "lambda",
    [AWSF_APIGW] = "apigateway", [AWSF_S3] = "s3",
};

/* Fault codes a config may inject, and their status. */
static const struct {
    const char *code;
    unsigned status;
} fault_codes[] = {
    {"AccessDeniedException", 403},
    {"AccessDenied", 403},
    {"ServiceException", 500},
    {"ServiceFailure", 500},
    {"ResourceNotFoundException", 404},
    {"NoSuchEntity", 404},
    {"TooManyRequestsException", 429},
    {"Throttling", 400},
    {"InvalidParameterValueException", 400},
    {"NotFoundException", 404},
    {"BadRequestException", 400},
    {"UnauthorizedException", 401},
    {"InternalServerErrorException", 500},
    {"ServiceUnavailableException", 503},
    {"ExpiredTokenException", 403},
    {"ExpiredToken", 403},
};

static void add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    if (MHD_add_response_header(resp, name, value) != MHD_YES)
        fprintf(stderr, "fake_aws: cannot add header %s\n", name);
}

/* Queues body (taken; wiped when freed) with status and content type. */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             const char *content_type, const char *rid_header, const char *rid,
                             const char *error_type, unsigned retry_after)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    char ra[24];

    if (body == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer_with_free_callback(len, body, free_wiped);
    if (resp == NULL) {
        free_wiped(body);
        return MHD_NO;
    }
    add_header(resp, rid_header, rid);
    add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (error_type != NULL)
        add_header(resp, "x-amzn-ErrorType", error_type);
    if (retry_after > 0) {
        snprintf(ra, sizeof ra, "%u", retry_after);
        add_header(resp, "Retry-After", ra);
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Sends rp in the protocol of svc: Query XML, rest-json with x-amzn-ErrorType, or S3 XML. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, enum awsf_service svc,
                                  struct awsf_reply *rp, const char *rid)
{
    char *body = rp->body;
    const char *code = rp->code, *ct = rp->content_type ? rp->content_type : "text/xml";
    unsigned status = rp->status;
    size_t len;

    rp->body = NULL;
    if (code != NULL) {
        free_wiped(body);
        body = awsf_error_body(svc, rp, rid, &status, &code, &ct);
    }
    if (body == NULL)
        return MHD_NO;
    len = rp->code == NULL && rp->body_len > 0 ? rp->body_len : strlen(body);
    return queue(
        conn, status, body, len, ct, svc == AWSF_S3 ? "x-amz-request-id" : "x-amzn-RequestId", rid,
        code != NULL && (svc == AWSF_LAMBDA || svc == AWSF_APIGW) ? code : NULL, rp->retry_after);
}

/* ---- counters and faults ---------------------------------------------------------------- */

/* Counts one request of "svc:op" (and of its resource); ok when it answered 2xx. With f->mu. */
static void count(struct fake *f, const char *key, const char *resource, bool ok)
{
    json_t *ops = json_object_get(f->counters, "operations");
    json_t *res = json_object_get(f->counters, "resources");
    json_t *c = json_object_get(ops, key);

    if (c == NULL) {
        c = json_pack("{s:i, s:i}", "requests", 0, "ok", 0);
        json_object_set_new(ops, key, c);
    }
    json_object_set_new(c, "requests",
                        json_integer(json_integer_value(json_object_get(c, "requests")) + 1));
    if (ok)
        json_object_set_new(c, "ok",
                            json_integer(json_integer_value(json_object_get(c, "ok")) + 1));
    if (resource == NULL || resource[0] == '\0')
        return;
    c = json_object_get(res, key);
    if (c == NULL) {
        c = json_object();
        json_object_set_new(res, key, c);
    }
    if (json_object_get(c, resource) == NULL)
        json_object_set_new(c, resource, json_pack("{s:i, s:i}", "requests", 0, "ok", 0));
    c = json_object_get(c, resource);
    json_object_set_new(c, "requests",
                        json_integer(json_integer_value(json_object_get(c, "requests")) + 1));
    if (ok)
        json_object_set_new(c, "ok",
                            json_integer(json_integer_value(json_object_get(c, "ok")) + 1));
}

/* The first armed fault of kind for svc:op on resource; uses one of its shots. With f->mu. */
static const struct fault *take_fault(struct fake *f, enum fault_kind kind, enum awsf_service svc,
                                      const char *op, const char *resource)
{
    for (size_t i = 0; i < f->nfaults; i++) {
        struct fault *x = &f->faults[i];
        const char *colon = strchr(x->call, ':');
        const char *xop = colon ? colon + 1 : x->call;
        if (x->kind != kind || x->remaining == 0 || strcmp(xop, op) != 0)
            continue;
        if (colon != NULL && (strlen(service_names[svc]) != (size_t)(colon - x->call) ||
                              strncmp(x->call, service_names[svc], (size_t)(colon - x->call)) != 0))
            continue;
        if (x->resource[0] != '\0' && (resource == NULL || strcmp(x->resource, resource) != 0))
            continue;
        if (x->remaining > 0)
            x->remaining--;
        return x;
    }
    return NULL;
}

/* Answers 429/400 throttling in svc's shape when a throttle is armed. With f->mu. */
static bool throttled(struct fake *f, enum awsf_service svc, struct awsf_reply *rp)
{
    if (f->throttle == 0 && f->throttle_svc[svc] == 0)
        return false;
    if (f->throttle > 0)
        f->throttle--;
    else
        f->throttle_svc[svc]--;
    if (svc == AWSF_STS || svc == AWSF_IAM) {
        awsf_fail(rp, 400, "Throttling", "Rate exceeded");
    } else if (svc == AWSF_S3) {
        awsf_fail(rp, 503, "SlowDown", "Please reduce your request rate.");
        rp->retry_after = f->retry_after;
    } else if (svc == AWSF_LAMBDA) {
        awsf_fail(rp, 429, "TooManyRequestsException", "Rate exceeded");
        rp->retry_after = f->retry_after;
    } else {
        awsf_fail(rp, 429, "TooManyRequestsException", "Too Many Requests");
        rp->retry_after = f->retry_after;
    }
    return true;
}

/* Applies a truncate or garbage fault to a success body. */
static void mangle(struct fake *f, enum awsf_service svc, const char *op, const char *resource,
                   struct awsf_reply *rp)
{
    if (rp->code != NULL || rp->body == NULL)
        return;
    if (take_fault(f, FAULT_TRUNCATE, svc, op, resource) != NULL) {
        size_t len = rp->body_len > 0 ? rp->body_len : strlen(rp->body);
        rp->body[len / 2] = '\0';
        if (rp->body_len > 0)
            rp->body_len = len / 2 > 0 ? len / 2 : 1;
    } else if (take_fault(f, FAULT_GARBAGE, svc, op, resource) != NULL) {
        static const char garbage[] = "<html><body>fake_aws garbage }{ &&& </bo";
        char *g = strdup(garbage);
        if (g != NULL) {
            free_wiped(rp->body);
            rp->body = g;
            rp->body_len = 0;
        }
    } else if (take_fault(f, FAULT_HUGE, svc, op, resource) != NULL) {
        /* Trailing whitespace keeps JSON and XML valid: only a size cap stops the client. */
        size_t len = rp->body_len > 0 ? rp->body_len : strlen(rp->body);
        char *big = realloc(rp->body, len + f->huge_bytes + 1);
        if (big != NULL) {
            memset(big + len, ' ', f->huge_bytes);
            big[len + f->huge_bytes] = '\0';
            rp->body = big;
            rp->body_len = len + f->huge_bytes;
        }
    }
}

/* ---- log -------------------------------------------------------------------------------- */

static void log_line(const struct fake *f, json_t *o)
{
    char *s, *line;
    size_t n;

    if (f->log_fd < 0 || o == NULL) {
        json_decref(o);
        return;
    }
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s == NULL)
        return;
    n = strlen(s);
    line = malloc(n + 2);
    if (line != NULL) {
        memcpy(line, s, n);
        line[n] = '\n';
        if (write(f->log_fd, line, n + 1) != (ssize_t)(n + 1))
            fprintf(stderr, "fake_aws: log write failed: %s\n", strerror(errno));
        free(line);
    }
    free(s);
}

/* One STS request: {"action", "role_arn", "external_id_present", "access_key_prefix", "status",
 * "error"}. With f->mu. */
static void log_request(const struct fake *f, const struct awsf_params *form, const char *prefix,
                        const struct awsf_reply *rp)
{
    json_t *o = json_object();

    if (o == NULL)
        return;
    json_object_set_new(o, "action", log_string(awsf_param(form, "Action")));
    json_object_set_new(o, "role_arn", log_string(awsf_param(form, "RoleArn")));
    json_object_set_new(o, "external_id_present",
                        json_boolean(awsf_param(form, "ExternalId") != NULL));
    json_object_set_new(o, "access_key_prefix", log_string(prefix[0] ? prefix : NULL));
    json_object_set_new(o, "status", json_integer(rp->status));
    json_object_set_new(o, "error", rp->code ? json_string(rp->code) : json_null());
    log_line(f, o);
}

/* Any other request: {"service", "action", "resource", "access_key_prefix", "status", "error"}. */
static void log_call(const struct fake *f, enum awsf_service svc, const char *op,
                     const char *resource, const char *prefix, const struct awsf_reply *rp)
{
    log_line(f, json_pack("{s:s, s:o, s:o, s:o, s:i, s:o}", "service", service_names[svc], "action",
                          log_string(op), "resource", log_string(resource), "access_key_prefix",
                          log_string(prefix[0] ? prefix : NULL), "status", (int)rp->status, "error",
                          rp->code ? json_string(rp->code) : json_null()));
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when the Authorization header's credential scope names service ("AKID/date/region/
 * service/aws4_request"). */
static bool scoped_to(const char *authorization, const char *service)
{
    const char *p = authorization ? strstr(authorization, "Credential=") : NULL;
    size_t n = strlen(service);

    for (int slashes = 0; p != NULL && slashes < 3; slashes++) {
        p = strchr(p, '/');
        if (p != NULL)
            p++;
    }
    return p != NULL && strncmp(p, service, n) == 0 && p[n] == '/';
}

/* Which service a request is for: Lambda and API Gateway by their paths, IAM by its actions
 * (or a POST signed for iam that is not an STS action), everything else STS (whose checks then
 * refuse what is not STS). */
static enum awsf_service classify(const char *path, const char *method,
                                  const struct awsf_params *form, bool form_ok,
                                  const char *authorization)
{
    const char *action = awsf_param(form, "Action");

    if (has_prefix(path, "/2015-03-31/") || has_prefix(path, "/2021-10-31/") ||
        has_prefix(path, "/2019-09-30/") || has_prefix(path, "/2019-09-25/"))
        return AWSF_LAMBDA;
    if (has_prefix(path, "/v2/") || strcmp(path, "/restapis") == 0 ||
        has_prefix(path, "/restapis/"))
        return AWSF_APIGW;
    if (has_prefix(path, "/snapshots/"))
        return AWSF_S3;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/") == 0 && form_ok &&
        (awsf_iam_is_action(action) ||
         (scoped_to(authorization, "iam") && action != NULL && strcmp(action, "AssumeRole") != 0 &&
          strcmp(action, "GetCallerIdentity") != 0)))
        return AWSF_IAM;
    return AWSF_STS;
}

/* Checks an IAM request's shape as process() does for STS. */
static bool iam_shape_ok(const struct req *r, const struct hdrs *hs, struct awsf_reply *rp)
{
    const char *ct;

    if (hs->overflow) {
        awsf_fail(rp, 400, "MalformedRequest", "fake_aws: more than %d headers.", MAX_REQ_HEADERS);
        return false;
    }
    if (header_count(hs, "Content-Type", &ct) != 1 || !content_type_ok(ct)) {
        awsf_fail(rp, 400, "MalformedRequest",
                  "fake_aws: Content-Type must be application/x-www-form-urlencoded; "
                  "charset=utf-8.");
        return false;
    }
    if (r->too_large) {
        awsf_fail(rp, 413, "RequestEntityTooLarge", "fake_aws: the body exceeds %d bytes.",
                  MAX_BODY);
        return false;
    }
    return true;
}

/* A Lambda, IAM or API Gateway call: route, throttle, authenticate, inject faults, answer. */
static void service_call(struct fake *f, const struct req *r, const char *method,
                         enum awsf_service svc, const char *path, const char *query,
                         const struct hdrs *hs, const struct awsf_params *form, const char *rid,
                         struct awsf_call *c, struct awsf_reply *rp)
{
    struct awsf_params q = {0};
    const struct fault *x;
    struct caller who;
    struct scope sc = {path, query, service_names[svc], svc == AWSF_IAM ? "us-east-1" : NULL};
    bool routed = false, params_ok = true;
    char why[160] = "";
    char key[128];

    c->service = svc;
    c->method = method;
    c->path = path;
    c->rid = rid;
    c->short_pages = f->short_pages;
    c->code = &f->code;
    header_count(hs, "Accept", &c->accept);
    header_count(hs, "Host", &c->host);
    if (svc == AWSF_IAM) {
        c->q = form;
        routed = awsf_iam_route(c);
    } else {
        params_ok = awsf_params_parse(query, strlen(query), &q, why, sizeof why);
        c->q = &q;
        routed = svc == AWSF_LAMBDA ? awsf_lambda_route(c) : awsf_apigw_route(c);
    }
    snprintf(key, sizeof key, "%s:%s", service_names[svc], routed ? c->op : "Unknown");

    if (throttled(f, svc, rp))
        goto out;
    if (svc == AWSF_IAM && !iam_shape_ok(r, hs, rp))
        goto out;
    if (!authenticate(f, r, method, hs, &sc, &who, rp))
        goto out;
    if (!routed) {
        if (svc == AWSF_IAM)
            awsf_fail(rp, 400, "InvalidAction", "Could not find operation %.64s for version %.32s",
                      awsf_param(form, "Action"),
                      awsf_param(form, "Version") ? awsf_param(form, "Version") : "2010-05-08");
        else if (svc == AWSF_LAMBDA)
            awsf_fail(rp, 404, "UnknownOperationException", "Unknown operation %.16s %.200s",
                      method, path);
        else
            awsf_fail(rp, 404, "NotFoundException", "fake_aws: no such resource %.200s", path);
        goto out;
    }
    if (!params_ok) {
        awsf_fail(rp, 400,
                  svc == AWSF_LAMBDA ? "InvalidParameterValueException" : "BadRequestException",
                  "fake_aws: malformed query string: %s", why);
        goto out;
    }
    if ((x = take_fault(f, FAULT_FAIL, svc, c->op, c->resource)) != NULL) {
        if (strncmp(x->code, "AccessDenied", 12) == 0)
            awsf_fail(rp, x->status, x->code,
                      "User: %s is not authorized to perform: %s:%s on resource: %.256s because "
                      "no identity-based policy allows the %s:%s action",
                      who.arn, service_names[svc], c->op, c->resource ? c->resource : "*",
                      service_names[svc], c->op);
        else
            awsf_fail(rp, x->status, x->code, "fake_aws: injected %s", x->code);
        if (x->status == 429)
            rp->retry_after = f->retry_after;
        goto out;
    }
    /* Callers see the world only in its own account, and regional services in its region. */
    c->account = who.account;
    c->region = who.region;
    c->w = f->have_world && strcmp(who.account, f->world.account) == 0 &&
                   (svc == AWSF_IAM || strcmp(who.region, f->world.region) == 0)
               ? &f->world
               : NULL;
    if (svc == AWSF_LAMBDA)
        awsf_lambda_handle(c, rp);
    else if (svc == AWSF_IAM)
        awsf_iam_handle(c, rp);
    else
        awsf_apigw_handle(c, rp);
    mangle(f, svc, c->op, c->resource, rp);
out:
    count(f, key, routed ? c->resource : NULL, rp->code == NULL);
    awsf_params_free(&q);
    c->q = NULL;
}

/* GET /_fake/counters (JSON) and POST /_fake/reset: the fake's own control paths, unsigned. */
static void control(struct fake *f, const char *method, const char *path, struct awsf_reply *rp)
{
    if (strcmp(method, "GET") == 0 && strcmp(path, "/_fake/counters") == 0) {
        awsf_reply_json(rp, json_deep_copy(f->counters));
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/_fake/reset") == 0) {
        json_object_set_new(f->counters, "operations", json_object());
        json_object_set_new(f->counters, "resources", json_object());
        awsf_reply_json(rp, json_object());
    } else {
        awsf_fail(rp, 404, "NotFoundException", "fake_aws: unknown control path");
    }
}

static enum MHD_Result handle(struct fake *f, struct MHD_Connection *conn, struct req *r,
                              const char *method)
{
    struct awsf_reply rp;
    struct awsf_params form;
    struct awsf_call call;
    struct hdrs hs;
    char why[160] = "";
    char rid[37];
    char prefix[5];
    char name[200] = "";
    char *path = NULL;
    const char *authz, *query;
    bool form_ok = false;
    enum awsf_service svc;
    enum MHD_Result ret;

    memset(&rp, 0, sizeof rp);
    memset(&form, 0, sizeof form);
    memset(&hs, 0, sizeof hs);
    memset(&call, 0, sizeof call);
    awsf_request_id(rid);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hs);
    if (!r->too_large)
        form_ok = awsf_params_parse(r->body != NULL ? r->body : "", r->len, &form, why, sizeof why);
    header_count(&hs, "Authorization", &authz);
    key_prefix(authz, prefix);
    path = strdup(r->target);
    if (path == NULL) {
        awsf_params_free(&form);
        return MHD_NO;
    }
    query = strchr(r->target, '?') ? strchr(r->target, '?') + 1 : "";
    path[strcspn(path, "?")] = '\0';
    svc = classify(path, method, &form, form_ok, authz);

    pthread_mutex_lock(&f->mu);
    if (has_prefix(path, "/_fake/")) {
        control(f, method, path, &rp);
        svc = AWSF_APIGW;
    } else if (svc == AWSF_S3) {
        const char *host;
        if (!throttled(f, svc, &rp))
            awsf_code_download(&f->code, method, path, query,
                               header_count(&hs, "Host", &host) == 1 ? host : NULL, name, &rp);
        mangle(f, svc, "GetObject", name, &rp);
        count(f, "s3:GetObject", name, rp.code == NULL);
        log_call(f, svc, "GetObject", name, prefix, &rp);
    } else if (svc == AWSF_STS) {
        const char *action = awsf_param(&form, "Action");
        char key[96];
        if (!throttled(f, svc, &rp))
            process(f, r, method, &hs, &form, form_ok, why, rid, &rp);
        snprintf(key, sizeof key, "sts:%s",
                 action != NULL && (strcmp(action, "AssumeRole") == 0 ||
                                    strcmp(action, "GetCallerIdentity") == 0)
                     ? action
                     : "Unknown");
        count(f, key, NULL, rp.code == NULL);
        log_request(f, &form, prefix, &rp);
    } else {
        service_call(f, r, method, svc, path, query, &hs, &form, rid, &call, &rp);
        log_call(f, svc, call.op, call.resource, prefix, &rp);
    }
    pthread_mutex_unlock(&f->mu);

    /* Latency as configured, outside the lock so concurrent calls overlap. */
    if (f->delay_ms > 0 && !has_prefix(path, "/_fake/")) {
        struct timespec ts = {(time_t)(f->delay_ms / 1000), (long)(f->delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    ret = send_reply(conn, svc, &rp, rid);
    free(path);
    awsf_params_free(&form);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct req *r = *con_cls;
    (void)url;
    (void)version;

    if (r == NULL)
        return MHD_NO;
    if (!r->seen) {
        r->seen = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > MAX_BODY) {
            r->too_large = true;
            return MHD_YES;
        }
        char *nb = realloc(r->body, r->len + n + 1);
        if (nb == NULL)
            return MHD_NO;
        memcpy(nb + r->len, upload_data, n);
        r->len += n;
        nb[r->len] = '\0';
        r->body = nb;
        return MHD_YES;
    }
    return handle(cls, conn, r, method);
}

/* Called before headers are parsed, with the raw request target: keep it (the access handler
 * only sees the decoded path). The returned pointer becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *r = calloc(1, sizeof *r);
    (void)cls;
    (void)conn;

    if (r == NULL)
        return NULL;
    r->target = strdup(uri != NULL ? uri : "");
    if (r->target == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;

    if (r == NULL)
        return;
    free(r->target);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- configuration ---------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: fake_aws --port N [--config FILE] [--log FILE] [--world FILE]\n");
}

/* "arn:aws:iam::<12 digits>:role/[path/]Name"; fills the role's account, name and id. */
static bool parse_role_arn(struct role *ro)
{
    static const char pre[] = "arn:aws:iam::";
    const char *p = ro->arn;
    char *slash;

    if (strncmp(p, pre, sizeof pre - 1) != 0)
        return false;
    p += sizeof pre - 1;
    if (strlen(p) < 13 || p[12] != ':')
        return false;
    memcpy(ro->account, p, 12);
    ro->account[12] = '\0';
    if (!all_digits(ro->account, 12))
        return false;
    p += 13;
    if (strncmp(p, "role/", 5) != 0)
        return false;
    slash = strrchr(ro->arn, '/');
    ro->name = slash + 1;
    if (strlen(ro->name) < 1 || strlen(ro->name) > 64 || !word_chars(ro->name, "+=,.@-"))
        return false;
    awsf_derived_id("AROA", ro->arn, 17, ro->id, sizeof ro->id);
    return true;
}

static const char *config_dir = "."; /* of the config file, for relative world paths */

/* path, relative to the config file's directory unless absolute; malloc'd. */
static char *config_relative(const char *path)
{
    size_t n;
    char *out;

    if (path[0] == '/')
        return strdup(path);
    n = strlen(config_dir) + strlen(path) + 2;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", config_dir, path);
    return out;
}

/* fail CALL CODE [N|always] [RESOURCE] | truncate CALL [N|always] [RESOURCE] | garbage ... */
static bool fault_line(struct fake *f, char **tok, size_t n, const char **why)
{
    struct fault *x;
    size_t at = 2;
    unsigned long v;

    if (f->nfaults == MAX_FAULTS) {
        *why = "too many faults";
        return false;
    }
    x = &f->faults[f->nfaults];
    memset(x, 0, sizeof *x);
    x->kind = tok[0][0] == 'f'   ? FAULT_FAIL
              : tok[0][0] == 't' ? FAULT_TRUNCATE
              : tok[0][0] == 'g' ? FAULT_GARBAGE
                                 : FAULT_HUGE;
    if (strlen(tok[1]) >= sizeof x->call) {
        *why = "the call name is too long";
        return false;
    }
    snprintf(x->call, sizeof x->call, "%s", tok[1]);
    if (x->kind == FAULT_FAIL) {
        for (size_t i = 0; i < sizeof fault_codes / sizeof fault_codes[0]; i++) {
            if (strcmp(fault_codes[i].code, tok[2]) == 0) {
                snprintf(x->code, sizeof x->code, "%s", fault_codes[i].code);
                x->status = fault_codes[i].status;
            }
        }
        if (x->status == 0) {
            *why = "unknown fault code (see fault_codes in fake_aws.c)";
            return false;
        }
        at = 3;
    }
    x->remaining = -1;
    if (n > at) {
        if (strcmp(tok[at], "always") != 0) {
            if (!fake_parse_ulong(tok[at], 1, 1000000, &v)) {
                *why = "the fault count must be 1..1000000 or 'always'";
                return false;
            }
            x->remaining = (long)v;
        }
        at++;
    }
    if (n > at) {
        if (strlen(tok[at]) >= sizeof x->resource) {
            *why = "the resource name is too long";
            return false;
        }
        snprintf(x->resource, sizeof x->resource, "%s", tok[at]);
    }
    f->nfaults++;
    return true;
}

static bool config_line(struct fake *f, char *line, const char **why)
{
    char *tok[6];
    size_t n = 0;
    char *p = line;
    unsigned long v;

    while (n < 6) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        tok[n++] = p;
        p += strcspn(p, " \t");
        if (*p != '\0')
            *p++ = '\0';
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (n == 0 || tok[0][0] == '#')
        return true;
    if (*p != '\0') {
        *why = "too many fields";
        return false;
    }
    if (strcmp(tok[0], "account") == 0 && n == 2) {
        if (!all_digits(tok[1], 12)) {
            *why = "account must be 12 digits";
            return false;
        }
        snprintf(f->account, sizeof f->account, "%s", tok[1]);
    } else if (strcmp(tok[0], "credentials") == 0 && n == 3) {
        size_t kl = strlen(tok[1]), sl = strlen(tok[2]);
        if (f->ncreds == MAX_LONG_CREDS) {
            *why = "too many credentials";
            return false;
        }
        if (kl < 16 || kl > 128 || !word_chars(tok[1], "") || strchr(tok[1], '_') != NULL ||
            sl < 1 || sl > 128) {
            *why = "credentials need an access key of 16..128 of [A-Za-z0-9] and a secret of "
                   "1..128 printable characters";
            return false;
        }
        for (size_t i = 0; i < sl; i++) {
            if ((unsigned char)tok[2][i] < 0x21 || (unsigned char)tok[2][i] > 0x7e) {
                *why = "the secret must be printable ASCII";
                return false;
            }
        }
        if (find_long(f, tok[1]) != NULL) {
            *why = "duplicate access key";
            return false;
        }
        f->creds[f->ncreds].akid = strdup(tok[1]);
        f->creds[f->ncreds].secret = strdup(tok[2]);
        f->ncreds++;
        if (f->creds[f->ncreds - 1].akid == NULL || f->creds[f->ncreds - 1].secret == NULL) {
            *why = "out of memory";
            return false;
        }
    } else if (strcmp(tok[0], "role") == 0 && n == 3) {
        struct role *ro;
        if (f->nroles == MAX_ROLES) {
            *why = "too many roles";
            return false;
        }
        ro = &f->roles[f->nroles++];
        ro->arn = strdup(tok[1]);
        ro->external_id = strcmp(tok[2], "-") == 0 ? NULL : strdup(tok[2]);
        if (ro->arn == NULL || (strcmp(tok[2], "-") != 0 && ro->external_id == NULL)) {
            *why = "out of memory";
            return false;
        }
        if (strlen(ro->arn) < 20 || strlen(ro->arn) > 2048 || !parse_role_arn(ro)) {
            *why = "role ARN must be arn:aws:iam::<12 digits>:role/[path/]Name";
            return false;
        }
        if (ro->external_id != NULL &&
            (strlen(ro->external_id) < 2 || strlen(ro->external_id) > 1224 ||
             !word_chars(ro->external_id, "+=,.@:/-"))) {
            *why = "external ID must be 2..1224 of [\\w+=,.@:/-], or '-' for none";
            return false;
        }
        for (size_t i = 0; i + 1 < f->nroles; i++) {
            if (strcmp(f->roles[i].arn, ro->arn) == 0) {
                *why = "duplicate role";
                return false;
            }
        }
    } else if (strcmp(tok[0], "throttle") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 0, 1000000, &v)) {
            *why = "throttle takes a count";
            return false;
        }
        f->throttle = v;
    } else if (strcmp(tok[0], "throttle") == 0 && n == 3) {
        size_t s;
        for (s = 0; s < sizeof service_names / sizeof service_names[0]; s++) {
            if (strcmp(service_names[s], tok[1]) == 0)
                break;
        }
        if (s == sizeof service_names / sizeof service_names[0] ||
            !fake_parse_ulong(tok[2], 0, 1000000, &v)) {
            *why = "throttle takes [sts|iam|lambda|apigateway|s3] and a count";
            return false;
        }
        f->throttle_svc[s] = v;
    } else if (strcmp(tok[0], "world") == 0 && n == 2) {
        free(f->world_path);
        f->world_path = config_relative(tok[1]);
        if (f->world_path == NULL) {
            *why = "out of memory";
            return false;
        }
    } else if (strcmp(tok[0], "synthetic") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 1, 1000000, &f->synthetic)) {
            *why = "synthetic takes a count of functions, 1..1000000";
            return false;
        }
    } else if (strcmp(tok[0], "delay_ms") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 0, 60000, &f->delay_ms)) {
            *why = "delay_ms takes 0..60000 milliseconds";
            return false;
        }
    } else if (strcmp(tok[0], "retry_after") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 0, 3600, &v)) {
            *why = "retry_after takes 0..3600 seconds";
            return false;
        }
        f->retry_after = (unsigned)v;
    } else if (strcmp(tok[0], "code_expire_s") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 1, 604800, &v)) {
            *why = "code_expire_s takes 1..604800 seconds";
            return false;
        }
        f->code_expire_s = (unsigned)v;
    } else if ((strcmp(tok[0], "fail") == 0 && n >= 3 && n <= 5) ||
               ((strcmp(tok[0], "truncate") == 0 || strcmp(tok[0], "garbage") == 0 ||
                 strcmp(tok[0], "huge") == 0) &&
                n >= 2 && n <= 4)) {
        return fault_line(f, tok, n, why);
    } else if (strcmp(tok[0], "short_pages") == 0 && n == 1) {
        f->short_pages = true;
    } else if (strcmp(tok[0], "huge_bytes") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 1, 1024UL * 1024 * 1024, &v)) {
            *why = "huge_bytes takes 1..1073741824";
            return false;
        }
        f->huge_bytes = v;
        return fault_line(f, tok, n, why);
    } else if (strcmp(tok[0], "expire_s") == 0 && n == 2) {
        if (!fake_parse_ulong(tok[1], 1, 43200, &v)) {
            *why = "expire_s takes 1..43200 seconds";
            return false;
        }
        f->expire_s = (long)v;
    } else {
        *why = "unknown directive or wrong number of fields";
        return false;
    }
    return true;
}

static bool load_config(struct fake *f, const char *path)
{
    FILE *in = fopen(path, "r");
    char line[4096];
    unsigned lineno = 0;
    bool ok = true;
    static char dir[4096];
    const char *slash = strrchr(path, '/');

    if (slash != NULL && (size_t)(slash - path) < sizeof dir) {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        config_dir = slash == path ? "/" : dir;
    }
    if (in == NULL) {
        fprintf(stderr, "fake_aws: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    while (ok && fgets(line, sizeof line, in) != NULL) {
        const char *why = NULL;
        size_t len = strlen(line);
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(in)) {
            fprintf(stderr, "fake_aws: %s:%u: line too long\n", path, lineno);
            ok = false;
            break;
        }
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (!config_line(f, line, &why)) {
            fprintf(stderr, "fake_aws: %s:%u: %s\n", path, lineno, why);
            ok = false;
        }
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(in);
    return ok;
}

static void fake_free(struct fake *f)
{
    for (size_t i = 0; i < f->ncreds; i++) {
        if (f->creds[i].secret != NULL)
            OPENSSL_cleanse(f->creds[i].secret, strlen(f->creds[i].secret));
        free(f->creds[i].akid);
        free(f->creds[i].secret);
    }
    for (size_t i = 0; i < f->nroles; i++) {
        free(f->roles[i].arn);
        free(f->roles[i].external_id);
    }
    if (f->temps != NULL)
        OPENSSL_cleanse(f->temps, f->temps_cap * sizeof *f->temps);
    free(f->temps);
    awsf_world_free(&f->world);
    free(f->world_path);
    json_decref(f->counters);
    awsf_code_signer_wipe(&f->code);
    if (f->log_fd >= 0)
        close(f->log_fd);
    pthread_mutex_destroy(&f->mu);
}

int main(int argc, char **argv)
{
    static struct fake f; /* large: keep it off the stack */
    const char *config = NULL, *log_path = NULL, *world = NULL;
    char why[512] = "";
    unsigned long port = 0;
    bool have_port = false;

    f.log_fd = -1;
    f.code_expire_s = 600;
    f.huge_bytes = HUGE_BYTES;
    snprintf(f.account, sizeof f.account, "%s", DEFAULT_ACCOUNT);
    pthread_mutex_init(&f.mu, NULL);
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0) {
            if (!fake_parse_ulong(argv[++i], 0, 65535, &port)) {
                usage();
                return 2;
            }
            have_port = true;
        } else if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
            config = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--log") == 0) {
            log_path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--world") == 0) {
            world = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (!have_port) {
        usage();
        return 2;
    }
    if (config != NULL && !load_config(&f, config)) {
        fake_free(&f);
        return 2;
    }
    if (world != NULL) {
        free(f.world_path);
        f.world_path = strdup(world);
    }
    if (f.world_path != NULL || f.synthetic > 0) {
        if (!awsf_world_load(&f.world, f.world_path, f.synthetic, why, sizeof why)) {
            fprintf(stderr, "fake_aws: world: %s\n", why);
            fake_free(&f);
            return 2;
        }
        f.have_world = true;
    }
    f.counters = json_pack("{s:{}, s:{}}", "operations", "resources");
    if (f.counters == NULL ||
        !awsf_code_signer_init(&f.code, f.have_world ? &f.world : NULL, f.code_expire_s)) {
        fprintf(stderr, "fake_aws: out of memory or randomness\n");
        fake_free(&f);
        return 2;
    }
    if (log_path != NULL && (f.log_fd = fake_open_log("fake_aws", log_path)) < 0) {
        fake_free(&f);
        return 2;
    }
    /* A thread per connection: with delay_ms, concurrent calls wait in parallel as on AWS. */
    struct fake_server srv = {"fake_aws", port, true, 30, (size_t)128 * 1024, 0, on_request, &f,
                              on_completed, on_uri};
    int rc = fake_run(&srv, NULL);
    fake_free(&f);
    return rc;
}
