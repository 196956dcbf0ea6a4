#define _DEFAULT_SOURCE 1 /* timegm */
#define _XOPEN_SOURCE 700 /* strptime */
#include "net/net.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
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
    const char *capture; /* a header name to keep, or NULL */
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

/* One transfer: the easy handle and everything it points to. */
struct xfer {
    CURL *c;
    struct curl_slist *hl;
    struct sink s;
    struct net_response *resp;
    bool guard;
    bool https;
    bool refused; /* the guard refused the resolved address */
    char *body;   /* net_multi: a copy of the request body */
    void *user;
    CURLcode result;         /* net_multi: how the transfer ended */
    struct net_response own; /* net_multi: the response lives here */
    struct xfer *next;       /* net_multi: the list in flight */
};

static const struct config_cidr *egress_allow;
static size_t egress_allow_n;

void net_egress_allow(const struct config_cidr *cidrs, size_t n)
{
    egress_allow = cidrs;
    egress_allow_n = n;
}

/* Decides at connect time, on the address libcurl resolved (so DNS rebinding cannot slip a
 * private address in after the URL was checked). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    struct xfer *x = clientp;
    const unsigned char *a = NULL;
    int family = address->family;

    if (x->guard) {
        if (purpose != CURLSOCKTYPE_IPCXN) {
            x->refused = true;
            return CURL_SOCKET_BAD;
        }
        if (family == AF_INET)
            a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)&address->addr)
                    ->sin_addr;
        else if (family == AF_INET6)
            a = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)&address->addr)
                    ->sin6_addr;
        if (a == NULL ||
            !(net_addr_is_allowed(family, a) || (x->https && net_addr_is_public(family, a)))) {
            x->refused = true;
            return CURL_SOCKET_BAD;
        }
    }
    return socket(address->family, address->socktype, address->protocol);
}

/* Sets up x for req; resp receives the outcome. */
static enum err_code xfer_init(struct xfer *x, const struct net_request *req, const void *body,
                               struct net_response *resp, struct err *err)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    x->resp = resp;
    x->s = (struct sink){resp, 0, req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE,
                         false, req->capture_header};
    x->guard = req->guard;
    x->https = strncasecmp(req->url, "https://", 8) == 0;
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
    curl_easy_setopt(x->c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(x->c, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
    if (body != NULL) {
        curl_easy_setopt(x->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(x->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    x->hl = curl_slist_append(x->hl, "Expect:"); /* no 100-continue round trip */
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
        x->hl = curl_slist_append(x->hl, *h);
    curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->hl);
    return ERR_OK;
}

/* The outcome of a finished transfer. */
static enum err_code xfer_finish(struct xfer *x, CURLcode cc, struct err *err)
{
    enum err_code rc = ERR_OK;
    struct net_response *resp = x->resp;

    resp->refused = x->refused;
    if (x->refused)
        rc = err_set(err, ERR_UPSTREAM,
                     x->https ? "the destination resolved to a private or reserved address"
                              : "plain http is allowed only to PARAPET_EGRESS_ALLOW ranges");
    else if (x->s.overflow)
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
    return rc;
}

static void xfer_cleanup(struct xfer *x)
{
    curl_slist_free_all(x->hl);
    curl_easy_cleanup(x->c);
    x->hl = NULL;
    x->c = NULL;
}

enum err_code net_do(const struct net_request *req, struct net_response *resp, struct err *err)
{
    struct xfer x;
    enum err_code rc;

    memset(&x, 0, sizeof x);
    rc = xfer_init(&x, req, req->body, resp, err);
    if (rc == ERR_OK)
        rc = xfer_finish(&x, curl_easy_perform(x.c), err);
    xfer_cleanup(&x);
    return rc;
}

void net_response_free(struct net_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* ---- the egress guard ---- */

struct range4 {
    uint32_t net;
    unsigned prefix;
};

/* Not globally routable (IANA special-purpose registry): private, loopback, link-local (cloud
 * metadata at 169.254.169.254), CGNAT, benchmarking, documentation, multicast, reserved. */
static const struct range4 private4[] = {
    {0x00000000u, 8},  {0x0A000000u, 8},  {0x64400000u, 10}, {0x7F000000u, 8},
    {0xA9FE0000u, 16}, {0xAC100000u, 12}, {0xC0000000u, 24}, {0xC0000200u, 24},
    {0xC0586300u, 24}, {0xC0A80000u, 16}, {0xC6120000u, 15}, {0xC6336400u, 24},
    {0xCB007100u, 24}, {0xE0000000u, 4},  {0xF0000000u, 4},
};

static uint32_t be32(const unsigned char *a)
{
    return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | (uint32_t)a[3];
}

static bool in_prefix(const unsigned char *a, const unsigned char *net, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;

    if (memcmp(a, net, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static bool v4_is_public(const unsigned char *a)
{
    uint32_t v = be32(a);
    for (size_t i = 0; i < sizeof private4 / sizeof private4[0]; i++) {
        uint32_t mask = private4[i].prefix ? 0xFFFFFFFFu << (32 - private4[i].prefix) : 0;
        if ((v & mask) == private4[i].net)
            return false;
    }
    return true;
}

/* The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), or NULL. */
static const unsigned char *embedded_v4(const unsigned char *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char zero[12] = {0};
    static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return a + 12;
    if (memcmp(a, zero, 12) == 0 && be32(a + 12) > 1) /* ::a.b.c.d, not :: or ::1 */
        return a + 12;
    if (a[0] == 0x20 && a[1] == 0x02) /* 2002:V4ADDR::/48 */
        return a + 2;
    return NULL;
}

bool net_addr_is_public(int family, const unsigned char *a)
{
    static const unsigned char doc[4] = {0x20, 0x01, 0x0D, 0xB8};
    static const unsigned char discard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char teredo[4] = {0x20, 0x01, 0, 0};
    const unsigned char *v4;

    if (family == AF_INET)
        return v4_is_public(a);
    if (family != AF_INET6)
        return false;
    v4 = embedded_v4(a);
    if (v4 != NULL)
        return v4_is_public(v4);
    if ((a[0] & 0xE0) != 0x20) /* only 2000::/3 is global unicast (::, ::1, fc00::/7, fe80::/10,
                                * ff00::/8 and the rest are not) */
        return false;
    if (in_prefix(a, doc, 32) || in_prefix(a, teredo, 32) || in_prefix(a, discard, 64))
        return false;
    return true;
}

bool net_addr_is_allowed(int family, const unsigned char *a)
{
    unsigned char buf[16];

    if (family == AF_INET6) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (memcmp(a, mapped, 12) == 0) {
            memcpy(buf, a + 12, 4);
            a = buf;
            family = AF_INET;
        }
    }
    for (size_t i = 0; i < egress_allow_n; i++) {
        const struct config_cidr *c = &egress_allow[i];
        if (c->family == family && in_prefix(a, c->addr, c->prefix))
            return true;
    }
    return false;
}

#define URL_MAX 2048

/* Local names that resolve inside the network (or to the host itself). */
static bool is_local_name(const char *h, size_t n)
{
    static const char *const suffixes[] = {".localhost", ".local", ".internal", ".localdomain",
                                           ".lan", ".home.arpa", ".intranet", ".corp"};
    if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
        return true;
    if (memchr(h, '.', n) == NULL) /* one label: resolved through search domains */
        return true;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (n > sl && strncasecmp(h + n - sl, suffixes[i], sl) == 0)
            return true;
    }
    return false;
}

enum err_code net_url_check(const char *url, struct err *err)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    char h[256];
    unsigned char addr[16];
    struct in_addr v4;
    int family = 0;
    size_t n;
    bool https;
    enum err_code rc = ERR_OK;

    if (strlen(url) > URL_MAX)
        return err_set(err, ERR_INVALID, "the URL is longer than %d bytes", URL_MAX);
    for (const char *p = url; *p != '\0'; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
            return err_set(err, ERR_INVALID, "the URL contains spaces or non-ASCII characters");
    u = curl_url();
    if (u == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = err_set(err, ERR_INVALID, "not a valid absolute URL");
        goto out;
    }
    https = strcmp(scheme, "https") == 0;
    if (!https && strcmp(scheme, "http") != 0) {
        rc = err_set(err, ERR_INVALID, "the URL must be https");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        rc = err_set(err, ERR_INVALID, "the URL must not carry credentials");
        goto out;
    }
    n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof h || memchr(host, '%', n) != NULL) {
            rc = err_set(err, ERR_INVALID, "the URL's IPv6 address is not valid here");
            goto out;
        }
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        if (inet_pton(AF_INET6, h, addr) == 1)
            family = AF_INET6;
    } else {
        if (n == 0 || n >= sizeof h) {
            rc = err_set(err, ERR_INVALID, "the URL's host is not valid");
            goto out;
        }
        memcpy(h, host, n + 1);
        if (h[n - 1] == '.') /* "localhost." is localhost */
            h[--n] = '\0';
        /* inet_aton reads every legacy IPv4 spelling: 2130706433, 0x7f.1, 0177.0.0.1, 127.1. */
        if (inet_aton(h, &v4) != 0) {
            memcpy(addr, &v4, 4);
            family = AF_INET;
        } else if (strspn(h, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.") !=
                       n ||
                   n == 0) {
            rc = err_set(err, ERR_INVALID, "the URL's host is not a valid name");
            goto out;
        } else if (strspn(h, "0123456789xXabcdefABCDEF.") == n) {
            /* Digits and dots that inet_aton refused (e.g. 1.2.3.4.5, 999.1.1.1): not a name. */
            rc = err_set(err, ERR_INVALID, "the URL's host is not a valid address");
            goto out;
        }
    }
    if (family != 0) {
        bool allowed = net_addr_is_allowed(family, addr);
        if (!allowed && !net_addr_is_public(family, addr)) {
            rc = err_set(err, ERR_INVALID,
                         "the URL points to a private, loopback, link-local or reserved address");
            goto out;
        }
        if (!https && !allowed) {
            rc = err_set(err, ERR_INVALID, "the URL must be https");
            goto out;
        }
    } else {
        if (is_local_name(h, n)) {
            rc = err_set(err, ERR_INVALID, "the URL's host is a local name, not a public one");
            goto out;
        }
        if (!https) {
            rc = err_set(err, ERR_INVALID, "the URL must be https");
            goto out;
        }
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return rc;
}

/* ---- net_multi ---- */

struct net_multi {
    CURLM *m;
    struct xfer *active; /* in flight */
    struct xfer *done;   /* finished, not yet taken */
    unsigned nactive;
};

struct net_multi *net_multi_new(void)
{
    struct net_multi *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->m = curl_multi_init();
    if (m->m == NULL) {
        free(m);
        return NULL;
    }
    curl_multi_setopt(m->m, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    return m;
}

static void xfer_free(struct xfer *x)
{
    xfer_cleanup(x);
    free(x->body);
    net_response_free(&x->own);
    free(x);
}

void net_multi_free(struct net_multi *m)
{
    if (m == NULL)
        return;
    for (struct xfer **list = &m->active; list != NULL; list = list == &m->active ? &m->done : NULL) {
        while (*list != NULL) {
            struct xfer *x = *list;
            *list = x->next;
            curl_multi_remove_handle(m->m, x->c);
            xfer_free(x);
        }
    }
    curl_multi_cleanup(m->m);
    free(m);
}

enum err_code net_multi_add(struct net_multi *m, const struct net_request *req, void *user,
                            struct err *err)
{
    struct xfer *x = calloc(1, sizeof *x);
    enum err_code rc;

    if (x == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (req->body != NULL) {
        x->body = malloc(req->body_len + 1);
        if (x->body == NULL) {
            free(x);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
        memcpy(x->body, req->body, req->body_len);
        x->body[req->body_len] = '\0';
    }
    x->user = user;
    /* libcurl copies the URL and the header list is ours; the body copy lives in x. */
    rc = xfer_init(x, req, x->body, &x->own, err);
    if (rc == ERR_OK && curl_multi_add_handle(m->m, x->c) != CURLM_OK)
        rc = err_set(err, ERR_INTERNAL, "cannot start the request");
    if (rc != ERR_OK) {
        xfer_free(x);
        return rc;
    }
    x->next = m->active;
    m->active = x;
    m->nactive++;
    return ERR_OK;
}

unsigned net_multi_run(struct net_multi *m, int timeout_ms)
{
    int running = 0, left = 0;
    CURLMsg *msg;

    curl_multi_perform(m->m, &running);
    if (m->nactive > 0 || timeout_ms > 0)
        curl_multi_poll(m->m, NULL, 0, timeout_ms, NULL);
    curl_multi_perform(m->m, &running);
    while ((msg = curl_multi_info_read(m->m, &left)) != NULL) {
        struct xfer *x = NULL, **pp;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        for (pp = &m->active; *pp != NULL && *pp != x; pp = &(*pp)->next)
            ;
        if (*pp == NULL)
            continue;
        *pp = x->next;
        m->nactive--;
        x->result = msg->data.result;
        curl_multi_remove_handle(m->m, x->c);
        x->next = m->done;
        m->done = x;
    }
    return m->nactive;
}

bool net_multi_done(struct net_multi *m, void **user, struct net_response *resp,
                    enum err_code *rc, struct err *err)
{
    struct xfer *x = m->done;
    if (x == NULL)
        return false;
    m->done = x->next;
    *rc = xfer_finish(x, x->result, err);
    *user = x->user;
    *resp = x->own;
    memset(&x->own, 0, sizeof x->own);
    xfer_free(x);
    return true;
}

unsigned net_multi_active(const struct net_multi *m)
{
    return m->nactive;
}

void net_multi_wakeup(struct net_multi *m)
{
    curl_multi_wakeup(m->m);
}

enum err_code net_do_many(const struct net_request *reqs, struct net_response *resps,
                          struct err *errs, size_t n, unsigned parallel, struct err *err)
{
    struct net_multi *m;
    size_t next = 0, done = 0;

    for (size_t i = 0; i < n; i++) {
        memset(&resps[i], 0, sizeof resps[i]);
        resps[i].retry_after_s = -1;
        errs[i] = (struct err){0};
    }
    if (n == 0)
        return ERR_OK;
    m = net_multi_new();
    if (m == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    if (parallel == 0)
        parallel = 1;
    while (done < n) {
        void *user;
        struct net_response r;
        enum err_code rc;
        struct err e;

        while (net_multi_active(m) < parallel && next < n) {
            size_t i = next++;
            if (net_multi_add(m, &reqs[i], &resps[i], &errs[i]) != ERR_OK)
                done++; /* errs[i] says why */
        }
        if (done >= n)
            break;
        net_multi_run(m, 100);
        while (net_multi_done(m, &user, &r, &rc, &e)) {
            size_t i = (size_t)((struct net_response *)user - resps);
            resps[i] = r;
            errs[i] = rc == ERR_OK ? (struct err){0} : e;
            done++;
        }
    }
    net_multi_free(m);
    return ERR_OK;
}
