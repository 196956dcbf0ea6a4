#include "server/http.h"

#include "server/log.h"
#include "server/metrics.h"
#include "server/router.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A chunked upload past its cap is discarded while we wait for its end to answer 413; past this
 * many times the cap we stop reading and close the connection instead. */
#define HTTP_DISCARD_FACTOR 4

struct http_server {
    struct MHD_Daemon *daemon;
    const struct config *cfg;
    const struct api_app *app;
    uint16_t port;
    atomic_uint in_flight;
    atomic_bool stopping; /* refuse new connections (see http_stop) */
};

struct http_ctx {
    struct http_server *server;
    struct api_req req;
    struct timespec start;
    char method[16];
    char *body;
    size_t len, cap, max;
    size_t discarded;
    bool too_large;
    bool has_body;        /* Content-Length > 0 or chunked */
    bool pending;         /* refused in begin(), answered when the (empty) request completes */
    struct err pending_err;
    char allow[64];
};

bool http_request_id_is_valid(const char *id)
{
    size_t n = 0;

    if (id == NULL)
        return false;
    for (; id[n] != '\0'; n++) {
        char c = id[n];
        if (n >= 64 || !(isalnum((unsigned char)c) || c == '.' || c == '_' || c == ':' ||
                         c == '-'))
            return false;
    }
    return n > 0;
}

void http_request_id_new(char out[33])
{
    static _Thread_local uint64_t s[2];
    static const char hex[] = "0123456789abcdef";

    /* xorshift128+: request ids need to be unique, not secret; seed once per thread. */
    if (s[0] == 0 && s[1] == 0) {
        if (getrandom(s, sizeof s, 0) != (ssize_t)sizeof s || (s[0] | s[1]) == 0) {
            s[0] = (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ULL;
            s[1] = (uint64_t)(uintptr_t)&s ^ 0xbf58476d1ce4e5b9ULL;
        }
    }
    for (int half = 0; half < 2; half++) {
        uint64_t x = s[0];
        const uint64_t y = s[1];
        s[0] = y;
        x ^= x << 23;
        s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
        uint64_t v = s[1] + y;
        for (int i = 0; i < 16; i++)
            out[half * 16 + i] = hex[(v >> (4 * i)) & 0xf];
    }
    out[32] = '\0';
}

bool http_content_type_is_json(const char *ct)
{
    static const char json[] = "application/json";
    const char *p;

    if (ct == NULL || strncasecmp(ct, json, sizeof json - 1) != 0)
        return false;
    p = ct + sizeof json - 1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return true;
    if (*p != ';')
        return false;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    return strcasecmp(p, "charset=utf-8") == 0 || strcasecmp(p, "charset=\"utf-8\"") == 0;
}

static double elapsed_s(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Counts Content-Length and Transfer-Encoding headers: libmicrohttpd takes the first
 * Content-Length it sees, so a request with two (or with both) could be read differently by a
 * proxy in front of us - request smuggling. We refuse them. */
struct framing {
    unsigned content_length;
    unsigned transfer_encoding;
    bool cl_bad;
    bool te_bad;
    unsigned long long cl_value;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        char *end = NULL;
        f->content_length++;
        errno = 0;
        if (value == NULL || !isdigit((unsigned char)value[0]))
            f->cl_bad = true;
        else
            f->cl_value = strtoull(value, &end, 10);
        if (errno != 0 || end == NULL || *end != '\0')
            f->cl_bad = true;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        /* We accept no transfer coding but a lone "chunked": anything else (gzip, a list) is
         * a framing a proxy may read differently. RFC 9112 6.1 makes it a 400. */
        f->transfer_encoding++;
        if (value == NULL || strcasecmp(value, "chunked") != 0)
            f->te_bad = true;
    }
    return MHD_YES;
}

/* Refuses the request. With a body still to come we answer now and close the connection, so the
 * body is never read; without one we answer when the request completes, which lets the client
 * keep its connection. */
static void fail(struct http_ctx *ctx, enum err_code code, const char *allow, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
static void fail(struct http_ctx *ctx, enum err_code code, const char *allow, const char *fmt, ...)
{
    struct err *err = &ctx->pending_err;
    va_list ap;

    err_clear(err);
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    snprintf(ctx->allow, sizeof ctx->allow, "%s", allow ? allow : "");
    ctx->pending = true;
    if (ctx->has_body || code == ERR_TOO_LARGE) {
        ctx->req.close_after = true;
        api_problem_send(&ctx->req, err, allow);
    }
}

static void send_pending(struct http_ctx *ctx)
{
    api_problem_send(&ctx->req, &ctx->pending_err, ctx->allow[0] ? ctx->allow : NULL);
}

/* Checks query arguments against the route's declaration. */
struct query_check {
    const struct api_route *route;
    char bad[80];
    bool unknown;
};

static enum MHD_Result check_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct query_check *q = cls;
    (void)kind;
    if (q->route->query != NULL) {
        for (const struct api_qparam *p = q->route->query; p->name != NULL; p++) {
            if (strcmp(p->name, key) != 0)
                continue;
            if (value != NULL && router_value_is_valid(p->type, value, strlen(value)))
                return MHD_YES;
            snprintf(q->bad, sizeof q->bad, "%.60s", key);
            q->unknown = false;
            return MHD_NO;
        }
    }
    snprintf(q->bad, sizeof q->bad, "%.60s", key);
    q->unknown = true;
    return MHD_NO;
}

/* First call for a request: headers are in, the body (if any) is not. Everything that can be
 * refused without the body is refused here, so an oversized or misdirected upload is never
 * read. */
static void begin(struct http_server *s, struct http_ctx *ctx, struct MHD_Connection *conn,
                  const char *url)
{
    struct api_req *req = &ctx->req;
    struct framing f = {0};
    struct query_check q = {0};
    char allow[64];
    const char *v;
    enum router_result rr;

    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (http_request_id_is_valid(v))
        snprintf(req->request_id, sizeof req->request_id, "%s", v);
    else
        http_request_id_new(req->request_id);

    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
    ctx->has_body = f.transfer_encoding > 0 || f.cl_value > 0 || f.content_length > 1;
    if (f.content_length > 1 || (f.content_length > 0 && f.transfer_encoding > 0) ||
        f.transfer_encoding > 1 || f.cl_bad || f.te_bad) {
        ctx->has_body = true; /* its framing is unknown: never read it */
        fail(ctx, ERR_INVALID, NULL,
             "ambiguous message framing: send one Content-Length, or Transfer-Encoding: chunked "
             "alone");
        return;
    }

    rr = router_match(api_routes, api_routes_count, ctx->method, url, &req->route_index,
                      req->params, &req->nparams, allow, sizeof allow);
    if (rr == ROUTER_NOT_FOUND) {
        fail(ctx, ERR_NOT_FOUND, NULL, "no such resource");
        return;
    }
    if (rr == ROUTER_METHOD) {
        fail(ctx, ERR_METHOD, allow, "method %s is not allowed here", ctx->method);
        return;
    }
    req->route = &api_routes[req->route_index];

    q.route = req->route;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, check_query, &q);
    if (q.bad[0] != '\0') {
        fail(ctx, ERR_INVALID, NULL,
             q.unknown ? "unknown query parameter '%s'" : "invalid value for query parameter '%s'",
             q.bad);
        snprintf(ctx->pending_err.field, sizeof ctx->pending_err.field, "%s", q.bad);
        return;
    }

    ctx->max = req->route->max_body ? req->route->max_body : s->cfg->max_body;
    if (f.content_length == 1 && f.cl_value > ctx->max) {
        fail(ctx, ERR_TOO_LARGE, NULL, "the body exceeds the limit of %zu bytes", ctx->max);
        return;
    }
    if (req->route->body == API_BODY_JSON && (f.transfer_encoding > 0 || f.cl_value > 0)) {
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!http_content_type_is_json(v)) {
            fail(ctx, ERR_MEDIA_TYPE, NULL,
                 "the body must be application/json (charset utf-8)");
            return;
        }
    }
    if (req->route->role != API_ROLE_PUBLIC) {
        struct err err;
        enum err_code rc;

        err_clear(&err);
        log_bind_request(req->request_id);
        const struct api_foreign *fo = api_foreign_of(req->route);
        if (fo != NULL && fo->key_header != NULL)
            rc = api_authenticate_key(
                req, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, fo->key_header), &err);
        else
            rc = api_authenticate(req,
                                  MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                              MHD_HTTP_HEADER_AUTHORIZATION),
                                  &err);
        log_bind_request(NULL);
        if (rc != ERR_OK) {
            if (rc == ERR_INTERNAL)
                snprintf(err.detail, sizeof err.detail, "internal error");
            fail(ctx, rc, NULL, "%s", err.detail);
            if (err.field[0] != '\0')
                snprintf(ctx->pending_err.field, sizeof ctx->pending_err.field, "%s", err.field);
            return;
        }
    }
}

static void peer_address(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    out[0] = '\0';
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

static bool append_body(struct http_ctx *ctx, const char *data, size_t n)
{
    if (ctx->too_large || ctx->len + n > ctx->max) {
        ctx->too_large = true;
        ctx->discarded += n;
        return ctx->discarded <= HTTP_DISCARD_FACTOR * ctx->max;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t ncap = ctx->cap ? ctx->cap : 4096;
        while (ncap < ctx->len + n + 1)
            ncap *= 2;
        if (ncap > ctx->max + 1)
            ncap = ctx->max + 1;
        char *nb = realloc(ctx->body, ncap);
        if (nb == NULL)
            return false;
        ctx->body = nb;
        ctx->cap = ncap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    ctx->body[ctx->len] = '\0';
    return true;
}

static void dispatch(struct http_ctx *ctx)
{
    struct api_req *req = &ctx->req;
    struct err err;
    enum err_code rc;

    err_clear(&err);
    req->body = ctx->body;
    req->body_len = ctx->len;
    log_bind_request(req->request_id);
    rc = req->route->handler(req, &err);
    if (rc != ERR_OK)
        err.code = rc; /* the return value is authoritative */
    if (rc == ERR_OK && !req->replied)
        rc = err_set(&err, ERR_INTERNAL, "internal error");
    if (rc != ERR_OK) {
        if (rc == ERR_INTERNAL || rc == ERR_NOMEM)
            log_event(LOG_ERROR, req->request_id, "http.handler_failed", "{s:s, s:s, s:s}",
                      "route", req->route->pattern, "error", err_name(rc), "detail", err.detail);
        if (rc == ERR_INTERNAL)
            snprintf(err.detail, sizeof err.detail, "internal error"); /* never leak details */
        if (!req->replied)
            api_problem_send(req, &err, NULL);
    }
    log_bind_request(NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *s = cls;
    struct http_ctx *ctx = *con_cls;
    (void)version;

    if (ctx == NULL) {
        ctx = calloc(1, sizeof *ctx);
        if (ctx == NULL)
            return MHD_NO;
        *con_cls = ctx;
        atomic_fetch_add(&s->in_flight, 1);
        clock_gettime(CLOCK_MONOTONIC, &ctx->start);
        ctx->server = s;
        snprintf(ctx->method, sizeof ctx->method, "%s", method);
        ctx->req.conn = conn;
        ctx->req.app = s->app;
        ctx->req.db = s->app->db;
        ctx->req.method = ctx->method;
        ctx->req.path = url;
        ctx->req.route_index = -1;
        peer_address(conn, ctx->req.source_ip, sizeof ctx->req.source_ip);
        begin(s, ctx, conn, url);
        return MHD_YES;
    }
    if (ctx->req.replied) {
        /* Answered before the body: drop whatever arrives. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->pending) {
        send_pending(ctx);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        bool ok = append_body(ctx, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ok ? MHD_YES : MHD_NO;
    }
    if (ctx->too_large) {
        fail(ctx, ERR_TOO_LARGE, NULL, "the body exceeds the limit of %zu bytes", ctx->max);
        return MHD_YES;
    }
    dispatch(ctx);
    return MHD_YES;
}

static void log_request(const struct http_ctx *ctx, double seconds)
{
    char line[768];
    char ts[32];
    size_t pos = 0;
    const struct api_req *req = &ctx->req;
    const char *route = req->route ? req->route->pattern : "unmatched";
    int n;

    log_timestamp(ts);
    n = snprintf(line, sizeof line,
                 "{\"ts\":\"%s\",\"level\":\"info\",\"event\":\"http.request\",\"request_id\":\"%s\""
                 ",\"method\":\"",
                 ts, req->request_id);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    pos = (size_t)n;
    log_json_escape(line, sizeof line - 200, &pos, ctx->method);
    n = snprintf(line + pos, sizeof line - pos, "\",\"route\":\"%s\",\"status\":%d,"
                 "\"duration_ms\":%.3f,\"bytes_in\":%zu",
                 route, req->status, seconds * 1e3, ctx->len + ctx->discarded);
    if (n < 0 || (size_t)n >= sizeof line - pos)
        return;
    pos += (size_t)n;
    if (req->tenant_id[0] != '\0') {
        n = snprintf(line + pos, sizeof line - pos, ",\"tenant_id\":\"%s\"", req->tenant_id);
        if (n < 0 || (size_t)n >= sizeof line - pos)
            return;
        pos += (size_t)n;
    }
    if (pos + 3 > sizeof line)
        return;
    line[pos++] = '}';
    line[pos++] = '\n';
    log_write_line(line, pos);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct http_ctx *ctx = *con_cls;
    double seconds;
    (void)conn;
    (void)toe;

    if (ctx == NULL)
        return;
    seconds = elapsed_s(&ctx->start);
    metrics_observe(ctx->req.route_index, (unsigned)ctx->req.status, seconds);
    if (log_is_enabled(LOG_INFO))
        log_request(ctx, seconds);
    free(ctx->body);
    free(ctx);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/* Once stopping, new connections are closed as soon as they are accepted. (libmicrohttpd
 * 0.9.75's MHD_quiesce_daemon races its own epoll workers over the listen socket and can abort
 * the process, so we do not use it.) */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_server *s = cls;
    (void)addr;
    (void)addrlen;
    return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_event(LOG_DEBUG, NULL, "http.library", "{s:s}", "message", msg);
}

enum err_code http_start(const struct config *cfg, const struct api_app *app,
                         struct http_server **out, struct err *err)
{
    struct http_server *s = calloc(1, sizeof *s);
    struct sockaddr_storage ss;
    socklen_t sslen;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    const union MHD_DaemonInfo *info;

    *out = NULL;
    if (s == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    s->cfg = cfg;
    s->app = app;
    memset(&ss, 0, sizeof ss);
    if (strchr(cfg->listen_host, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a6->sin6_addr);
        sslen = sizeof *a6;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->listen_port);
        inet_pton(AF_INET, cfg->listen_host, &a4->sin_addr);
        sslen = sizeof *a4;
    }
    (void)sslen;
    s->daemon = MHD_start_daemon(
        flags, cfg->listen_port, accept_policy, s, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, cfg->http_threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        cfg->per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
        MHD_OPTION_END);
    if (s->daemon == NULL) {
        free(s);
        return err_set(err, ERR_UNAVAILABLE, "cannot listen on %s:%u", cfg->listen_host,
                       cfg->listen_port);
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->listen_port;
    *out = s;
    return ERR_OK;
}

uint16_t http_port(const struct http_server *s)
{
    return s->port;
}

unsigned http_stop(struct http_server *s, unsigned drain_ms)
{
    unsigned left;
    unsigned waited = 0;

    if (s == NULL)
        return 0;
    atomic_store(&s->stopping, true);
    while ((left = atomic_load(&s->in_flight)) > 0 && waited < drain_ms) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 10;
    }
    MHD_stop_daemon(s->daemon);
    free(s);
    return left;
}
