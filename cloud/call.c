/* The one way Parapet calls AWS: sign (SigV4), send (net/, batches over libcurl multi), read
 * AWS's error code from wherever the protocol puts it, and retry throttling, 5xx and transport
 * failures with exponential backoff and jitter (Retry-After honoured, capped). Temporary
 * credentials that expired are refreshed through the principal and the call repeated once. */
#include "cloud/aws.h"
#include "server/text.h"

#include "cloud/sigv4.h"
#include "net/net.h"
#include "server/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_MAX_RESPONSE (4u * 1024 * 1024)

void cloud_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

long cloud_jitter_ms(long ms)
{
    unsigned char r;
    if (RAND_bytes(&r, 1) != 1)
        r = 128;
    return ms / 2 + (ms * (long)r) / 256; /* [0.5, 1.5) x ms */
}

/* ---- XML (AWS Query protocol answers: flat, no attributes that matter, no CDATA) ---- */

bool cloud_xml_find(const char *p, const char *end, const char *tag, const char **cs,
                    const char **ce)
{
    size_t l = strlen(tag);
    const char *a = p;

    for (;;) {
        a = memchr(a, '<', (size_t)(end - a));
        if (a == NULL || (size_t)(end - a) < l + 2)
            return false;
        if (strncmp(a + 1, tag, l) == 0 &&
            (a[l + 1] == '>' || a[l + 1] == ' ' || a[l + 1] == '/')) {
            const char *gt = memchr(a, '>', (size_t)(end - a));
            if (gt == NULL)
                return false;
            if (gt[-1] == '/') { /* <Tag/>: empty */
                *cs = *ce = gt + 1;
                return true;
            }
            /* The matching close tag: AWS's Query answers never nest an element in one of the
             * same name, so the first close tag is it. */
            const char *c = gt + 1;
            for (;;) {
                c = memchr(c, '<', (size_t)(end - c));
                if (c == NULL || (size_t)(end - c) < l + 3)
                    return false;
                if (c[1] == '/' && strncmp(c + 2, tag, l) == 0 && c[l + 2] == '>')
                    break;
                c++;
            }
            *cs = gt + 1;
            *ce = c;
            return true;
        }
        a++;
    }
}

char *cloud_xml_decode(const char *s, const char *e)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *out = malloc((size_t)(e - s) + 1), *o = out;

    if (out == NULL)
        return NULL;
    while (s < e) {
        bool done = false;
        for (size_t i = 0; i < 5 && *s == '&'; i++) {
            size_t l = strlen(ents[i].ent);
            if ((size_t)(e - s) >= l && strncmp(s, ents[i].ent, l) == 0) {
                *o++ = ents[i].c;
                s += l;
                done = true;
                break;
            }
        }
        if (!done)
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

bool cloud_xml_text(const char *p, const char *end, const char *tag, char *out, size_t n)
{
    const char *cs, *ce;
    char *v;

    if (!cloud_xml_find(p, end, tag, &cs, &ce))
        return false;
    v = cloud_xml_decode(cs, ce);
    if (v == NULL)
        return false;
    if (strlen(v) >= n) {
        OPENSSL_cleanse(v, strlen(v));
        free(v);
        return false;
    }
    memcpy(out, v, strlen(v) + 1);
    free(v);
    return true;
}

/* ---- errors ---- */

/* AWS's error code and message from a failed answer: the x-amzn-ErrorType header (Lambda, API
 * Gateway: "Code:http://..." or "aws.lambda#Code"), a JSON __type/code, or an XML <Code>. */
static void reply_error(struct cloud_reply *r, const char *header)
{
    char code[160] = "";
    const char *b = r->body ? r->body : "";
    const char *end = b + r->body_len;

    r->aws_error[0] = r->message[0] = '\0';
    if (header != NULL && header[0] != '\0')
        snprintf(code, sizeof code, "%s", header);
    if (b[0] == '{') {
        json_t *j = json_loadb(b, r->body_len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "__type"));
        const char *m = json_string_value(json_object_get(j, "message"));
        if (t == NULL)
            t = json_string_value(json_object_get(j, "code"));
        if (m == NULL)
            m = json_string_value(json_object_get(j, "Message"));
        if (code[0] == '\0' && t != NULL)
            snprintf(code, sizeof code, "%s", t);
        if (m != NULL)
            snprintf(r->message, sizeof r->message, "%s", m);
        json_decref(j);
    } else if (b[0] == '<') {
        if (code[0] == '\0')
            cloud_xml_text(b, end, "Code", code, sizeof code);
        cloud_xml_text(b, end, "Message", r->message, sizeof r->message);
    }
    code[strcspn(code, ":")] = '\0';
    const char *hash = strrchr(code, '#');
    snprintf(r->aws_error, sizeof r->aws_error, "%.63s", hash ? hash + 1 : code);
    if (r->aws_error[0] == '\0')
        snprintf(r->aws_error, sizeof r->aws_error, "HTTP%ld", r->status);
}

static bool is_throttle(const char *code)
{
    static const char *const codes[] = {"Throttling", "ThrottlingException", "TooManyRequestsException",
                                        "RequestLimitExceeded", "ThrottledException",
                                        "SlowDown", "RequestThrottled", "PriorRequestNotComplete"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

bool cloud_reply_expired(const struct cloud_reply *r)
{
    return r->status >= 400 &&
           (strcmp(r->aws_error, "ExpiredToken") == 0 ||
            strcmp(r->aws_error, "ExpiredTokenException") == 0 ||
            strcmp(r->aws_error, "RequestExpired") == 0);
}

void cloud_reply_free(struct cloud_reply *r)
{
    if (r == NULL)
        return;
    if (r->body != NULL)
        OPENSSL_cleanse(r->body, r->body_len);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---- signing ---- */

/* The endpoint for a call: IAM is global (https://iam.amazonaws.com) unless overridden. */
static char *call_endpoint(const struct cloud_call *call)
{
    if (strcmp(call->service, "iam") == 0) {
        const char *v = getenv("AWS_ENDPOINT_URL_IAM");
        if (v == NULL || v[0] == '\0')
            v = getenv("AWS_ENDPOINT_URL");
        return strdup(v != NULL && v[0] != '\0' ? v : "https://iam.amazonaws.com");
    }
    return cloud_endpoint(call->service, call->region);
}

/* One signed request ready for net/: the URL and the header lines, owned. */
struct signed_req {
    char *url;
    char *lines[CLOUD_SIGV4_MAX_ADD + 2];
    const char *hp[CLOUD_SIGV4_MAX_ADD + 3];
    size_t n;
};

static void signed_free(struct signed_req *s)
{
    free(s->url);
    for (size_t i = 0; i < s->n; i++) {
        if (s->lines[i] != NULL)
            OPENSSL_cleanse(s->lines[i], strlen(s->lines[i]));
        free(s->lines[i]);
    }
    memset(s, 0, sizeof *s);
}

static enum err_code line_add(struct signed_req *s, const char *name, const char *value,
                              struct err *err)
{
    size_t l = strlen(name) + strlen(value) + 3;
    char *line = malloc(l);
    if (line == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(line, l, "%s: %s", name, value);
    s->lines[s->n] = line;
    s->hp[s->n] = line;
    s->n++;
    s->hp[s->n] = NULL;
    return ERR_OK;
}

static enum err_code call_sign(const struct cloud_creds *c, const struct cloud_call *call,
                               struct signed_req *out, struct err *err)
{
    static const struct cloud_sigv4_header form = {
        "Content-Type", "application/x-www-form-urlencoded; charset=utf-8"};
    static const struct cloud_sigv4_header accept = {"Accept", "application/json"};
    const struct cloud_sigv4_header *h = call->body != NULL ? &form : &accept;
    char *base = call_endpoint(call), hostbuf[256];
    const char *host, *sign_region = strcmp(call->service, "iam") == 0 ? "us-east-1" : call->region;
    struct cloud_sigv4_result sig;
    enum err_code rc;
    size_t l;

    memset(out, 0, sizeof *out);
    if (base == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    host = strstr(base, "://");
    host = host ? host + 3 : base;
    snprintf(hostbuf, sizeof hostbuf, "%.*s", (int)strcspn(host, "/"), host);
    struct cloud_sigv4_request sreq = {
        .method = call->method, .path = call->path, .query = call->query, .headers = h,
        .header_count = 1, .host = hostbuf, .payload = call->body,
        .payload_len = call->body ? strlen(call->body) : 0, .region = sign_region,
        .service = call->service, .when = time(NULL)};
    struct cloud_sigv4_creds sc = {c->access_key_id, c->secret_access_key, c->session_token};
    memset(&sig, 0, sizeof sig);
    rc = cloud_sigv4_sign(&sreq, &sc, &sig, err);
    if (rc != ERR_OK) {
        free(base);
        return rc;
    }
    l = strlen(base) + strlen(call->path) + (call->query ? strlen(call->query) : 0) + 2;
    out->url = malloc(l);
    if (out->url == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
    } else {
        size_t bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        snprintf(out->url, l, "%.*s%s%s%s", (int)bl, base, call->path,
                 call->query && call->query[0] ? "?" : "", call->query ? call->query : "");
        rc = line_add(out, h->name, h->value, err);
        for (size_t i = 0; rc == ERR_OK && i < sig.add_count; i++)
            rc = line_add(out, sig.add[i].name, sig.add[i].value, err);
    }
    cloud_sigv4_result_free(&sig);
    free(base);
    if (rc != ERR_OK)
        signed_free(out);
    return rc;
}

/* ---- the calls ---- */

/* Refreshes the principal's temporary credentials when they are about to expire (or did). */
static enum err_code principal_fresh(struct cloud_principal *p, bool force, struct err *err)
{
    if (p->refresh == NULL)
        return ERR_OK;
    if (!force && (p->creds.expires == 0 || p->creds.expires - time(NULL) > 60))
        return ERR_OK;
    return p->refresh(p, force, err);
}

enum err_code cloud_call_many(struct cloud_principal *p, const struct cloud_call *calls,
                              struct cloud_reply *replies, struct err *errs, size_t n,
                              unsigned parallel, struct err *err)
{
    size_t *todo = malloc((n ? n : 1) * sizeof *todo);
    struct net_request *reqs = calloc(n ? n : 1, sizeof *reqs);
    struct net_response *resps = calloc(n ? n : 1, sizeof *resps);
    struct err *nerrs = calloc(n ? n : 1, sizeof *nerrs);
    struct signed_req *sr = calloc(n ? n : 1, sizeof *sr);
    size_t ntodo = n;
    long backoff = CLOUD_BACKOFF_MS;
    bool refreshed = false;
    enum err_code rc = ERR_OK;

    for (size_t i = 0; i < n; i++) {
        memset(&replies[i], 0, sizeof replies[i]);
        errs[i] = (struct err){0};
    }
    if (todo == NULL || reqs == NULL || resps == NULL || nerrs == NULL || sr == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        todo[i] = i;
    rc = principal_fresh(p, false, err);
    for (int attempt = 1; rc == ERR_OK && ntodo > 0; attempt++) {
        size_t k, again = 0;
        long wait = 0;
        bool expired = false;

        for (k = 0; k < ntodo; k++) {
            const struct cloud_call *c = &calls[todo[k]];
            rc = call_sign(&p->creds, c, &sr[k], err);
            if (rc != ERR_OK)
                break;
            reqs[k] = (struct net_request){
                .method = c->method, .url = sr[k].url, .headers = sr[k].hp, .body = c->body,
                .body_len = c->body ? strlen(c->body) : 0, .timeout_ms = CLOUD_TIMEOUT_MS,
                .max_response = c->max_response ? c->max_response : CALL_MAX_RESPONSE,
                .capture_header = "x-amzn-ErrorType"};
        }
        if (rc == ERR_OK)
            rc = net_do_many(reqs, resps, nerrs, ntodo, parallel, err);
        for (size_t j = 0; j < k; j++)
            signed_free(&sr[j]);
        if (rc != ERR_OK)
            break;
        for (k = 0; k < ntodo; k++) {
            size_t i = todo[k];
            struct cloud_reply *r = &replies[i];
            bool retry;

            cloud_reply_free(r);
            if (nerrs[k].code != ERR_OK) {
                errs[i] = nerrs[k];
                retry = true;
                net_response_free(&resps[k]);
            } else {
                r->status = resps[k].status;
                r->body = resps[k].body;
                r->body_len = resps[k].body_len;
                r->retry_after_s = resps[k].retry_after_s;
                resps[k].body = NULL;
                errs[i] = (struct err){0};
                if (r->status >= 200 && r->status < 300)
                    continue;
                reply_error(r, resps[k].captured);
                if (cloud_reply_expired(r) && !refreshed && p->refresh != NULL) {
                    expired = true;
                    todo[again++] = i;
                    continue;
                }
                retry = r->status >= 500 || r->status == 429 || is_throttle(r->aws_error);
                if (retry && r->retry_after_s > 0 && r->retry_after_s * 1000 > wait)
                    wait = r->retry_after_s * 1000;
            }
            if (!retry)
                continue;
            if (attempt >= CLOUD_ATTEMPTS) {
                if (errs[i].code == ERR_OK)
                    err_set(&errs[i], ERR_UNAVAILABLE, "AWS kept refusing: %s", r->aws_error);
                else
                    err_set(&errs[i], ERR_UNAVAILABLE, "AWS is unavailable (%s)", errs[i].detail);
                continue;
            }
            todo[again++] = i;
        }
        ntodo = again;
        if (ntodo == 0)
            break;
        if (expired) {
            refreshed = true;
            rc = principal_fresh(p, true, err);
            continue;
        }
        if (cloud_jitter_ms(backoff) > wait)
            wait = cloud_jitter_ms(backoff);
        if (wait > CLOUD_RETRY_CAP_MS)
            wait = CLOUD_RETRY_CAP_MS;
        log_event(LOG_INFO, NULL, "aws.retry", "{s:s, s:i, s:I, s:i}", "service",
                  calls[todo[0]].service, "attempt", attempt, "calls", (json_int_t)ntodo,
                  "wait_ms", (int)wait);
        cloud_sleep_ms(wait);
        backoff *= 2;
    }
out:
    free(todo);
    free(reqs);
    free(resps);
    free(nerrs);
    free(sr);
    return rc;
}

enum err_code cloud_call(struct cloud_principal *p, const struct cloud_call *call,
                         struct cloud_reply *reply, struct err *err)
{
    struct err e1 = {0};
    enum err_code rc = cloud_call_many(p, call, reply, &e1, 1, 1, err);

    if (rc != ERR_OK)
        return rc;
    if (e1.code != ERR_OK) {
        *err = e1;
        cloud_reply_free(reply);
        return e1.code;
    }
    return ERR_OK;
}

/* ---- encoding ---- */

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

bool cloud_pct_encode(const char *in, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t p = 0;

    for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
        if (p + 4 > n)
            return false;
        if (unreserved(*c)) {
            out[p++] = (char)*c;
        } else {
            out[p++] = '%';
            out[p++] = hex[*c >> 4];
            out[p++] = hex[*c & 0xf];
        }
    }
    if (p + 1 > n)
        return false;
    out[p] = '\0';
    return true;
}

char *cloud_pct_decode(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = text_hex_digit((unsigned char)s[i + 1])) >= 0 &&
            (l = text_hex_digit((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

bool cloud_form_add(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
    size_t p = *len;
    int n = snprintf(buf + p, cap - p, "%s%s=", p ? "&" : "", key);

    if (n < 0 || (size_t)n >= cap - p)
        return false;
    if (!cloud_pct_encode(value, buf + p + (size_t)n, cap - p - (size_t)n))
        return false;
    *len = p + (size_t)n + strlen(buf + p + (size_t)n);
    return true;
}
