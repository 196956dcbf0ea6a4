#define _DEFAULT_SOURCE 1 /* timegm */
#define _XOPEN_SOURCE 700 /* strptime */
#include "net/net.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_RESPONSE (1024 * 1024)

void net_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct net_response *resp;
    const char *capture; /* header name to keep, or NULL */
    size_t cap, max;
    bool overflow;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    struct net_response *r = s->resp;

    if (r->body_len + n > s->max) {
        s->overflow = true;
        return 0; /* aborts the transfer */
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t ncap = s->cap ? s->cap : 4096;
        while (ncap < r->body_len + n + 1)
            ncap *= 2;
        char *nb = realloc(r->body, ncap);
        if (nb == NULL)
            return 0;
        r->body = nb;
        s->cap = ncap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Retry-After: delta-seconds or an IMF-fixdate (RFC 9110 10.2.3). */
static long parse_retry_after(const char *v)
{
    struct tm tm;
    char *end;
    long n;

    while (*v == ' ')
        v++;
    if (*v >= '0' && *v <= '9') {
        n = strtol(v, &end, 10);
        return n >= 0 ? n : -1;
    }
    memset(&tm, 0, sizeof tm);
    if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL) {
        time_t when = timegm(&tm);
        time_t now = time(NULL);
        return when > now ? (long)(when - now) : 0;
    }
    return -1;
}

/* The value of header line data[n] when its name is name (case-insensitive), trimmed, into
 * out[outlen]; false otherwise. */
static bool header_value(const char *data, size_t n, const char *name, char *out, size_t outlen)
{
    size_t l = strlen(name), i, j;

    if (n <= l || data[l] != ':' || strncasecmp(data, name, l) != 0)
        return false;
    for (i = l + 1; i < n && (data[i] == ' ' || data[i] == '\t'); i++)
        ;
    for (j = n; j > i && (data[j - 1] == '\r' || data[j - 1] == '\n' || data[j - 1] == ' ');)
        j--;
    if (j - i >= outlen)
        j = i + outlen - 1;
    memcpy(out, data + i, j - i);
    out[j - i] = '\0';
    return true;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    char v[256];

    if (n < 300 && header_value(data, n, "retry-after", v, sizeof v))
        s->resp->retry_after_s = parse_retry_after(v);
    else if (s->capture != NULL && n < 300)
        header_value(data, n, s->capture, s->resp->captured, sizeof s->resp->captured);
    return n;
}

/* One transfer's state: the easy handle, its header list and its sink. */
struct xfer {
    CURL *c;
    struct curl_slist *hl;
    struct sink s;
};

static enum err_code xfer_setup(struct xfer *x, const struct net_request *req,
                                struct net_response *resp, struct err *err)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    x->hl = NULL;
    x->s = (struct sink){resp, req->capture_header, 0,
                         req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE, false};
    x->c = curl_easy_init();
    if (x->c == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    curl_easy_setopt(x->c, CURLOPT_URL, req->url);
    curl_easy_setopt(x->c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(x->c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->c, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->c, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->c, CURLOPT_WRITEDATA, &x->s);
    curl_easy_setopt(x->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->c, CURLOPT_HEADERDATA, &x->s);
    if (req->body != NULL) {
        curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(x->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    x->hl = curl_slist_append(x->hl, "Expect:"); /* no 100-continue round trip */
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
        x->hl = curl_slist_append(x->hl, *h);
    curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hl);
    return ERR_OK;
}

/* Maps a finished transfer's outcome into resp/err and frees the handle. */
static enum err_code xfer_finish(struct xfer *x, CURLcode cc, struct err *err)
{
    struct net_response *resp = x->s.resp;
    enum err_code rc = ERR_OK;

    if (x->s.overflow)
        rc = err_set(err, ERR_UPSTREAM, "the response was larger than %zu bytes", x->s.max);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = err_set(err, ERR_UPSTREAM, "the request timed out");
    else if (cc != CURLE_OK)
        rc = err_set(err, ERR_UPSTREAM, "unreachable: %s", curl_easy_strerror(cc));
    else
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->body == NULL && rc == ERR_OK) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    curl_slist_free_all(x->hl);
    curl_easy_cleanup(x->c);
    x->c = NULL;
    x->hl = NULL;
    return rc;
}

enum err_code net_do(const struct net_request *req, struct net_response *resp, struct err *err)
{
    struct xfer x;
    enum err_code rc = xfer_setup(&x, req, resp, err);

    if (rc != ERR_OK)
        return rc;
    return xfer_finish(&x, curl_easy_perform(x.c), err);
}

enum err_code net_do_many(const struct net_request *reqs, struct net_response *resps,
                          struct err *errs, size_t n, unsigned parallel, struct err *err)
{
    CURLM *m;
    struct xfer *xs;
    size_t next = 0, done = 0;
    unsigned active = 0;

    for (size_t i = 0; i < n; i++) {
        memset(&resps[i], 0, sizeof resps[i]);
        resps[i].retry_after_s = -1;
        errs[i] = (struct err){0};
    }
    if (n == 0)
        return ERR_OK;
    m = curl_multi_init();
    xs = calloc(n, sizeof *xs);
    if (m == NULL || xs == NULL) {
        free(xs);
        if (m != NULL)
            curl_multi_cleanup(m);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (parallel == 0)
        parallel = 1;
    while (done < n) {
        while (active < parallel && next < n) {
            size_t i = next++;
            if (xfer_setup(&xs[i], &reqs[i], &resps[i], &errs[i]) != ERR_OK) {
                done++;
                continue;
            }
            curl_easy_setopt(xs[i].c, CURLOPT_PRIVATE, (void *)&xs[i]);
            curl_multi_add_handle(m, xs[i].c);
            active++;
        }
        int running = 0, left = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            CURL *c = msg->easy_handle;
            CURLcode cc = msg->data.result;
            curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(m, c);
            xfer_finish(x, cc, &errs[x - xs]);
            active--;
            done++;
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    free(xs);
    curl_multi_cleanup(m);
    return ERR_OK;
}

void net_response_free(struct net_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
