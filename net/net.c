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

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";

    if (n > sizeof name - 1 && n < 256 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char v[256];
        memcpy(v, data + sizeof name - 1, n - (sizeof name - 1));
        v[n - (sizeof name - 1)] = '\0';
        v[strcspn(v, "\r\n")] = '\0';
        s->resp->retry_after_s = parse_retry_after(v);
    }
    return n;
}

enum err_code net_do(const struct net_request *req, struct net_response *resp, struct err *err)
{
    CURL *c;
    struct curl_slist *hl = NULL;
    struct sink s = {resp, 0, req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE,
                     false};
    CURLcode cc;
    enum err_code rc = ERR_OK;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    c = curl_easy_init();
    if (c == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
        hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    cc = curl_easy_perform(c);
    if (s.overflow)
        rc = err_set(err, ERR_UPSTREAM, "the response was larger than %zu bytes", s.max);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = err_set(err, ERR_UPSTREAM, "the request timed out");
    else if (cc != CURLE_OK)
        rc = err_set(err, ERR_UPSTREAM, "unreachable: %s", curl_easy_strerror(cc));
    else
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->body == NULL && rc == ERR_OK) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL)
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc;
}

void net_response_free(struct net_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}
