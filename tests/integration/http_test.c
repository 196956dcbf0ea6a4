/* HTTP layer against the real server and a real PostgreSQL: routing errors, problem+json,
 * request ids, framing checks, body caps, malformed and slow clients. */
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

static struct h_server srv;
static char db[64];

#define METRICS_TOKEN "scrape-3f9c1e0b7a5d4c2e"

static int setup(void **state)
{
    static const char *const env[] = {"PARAPET_CONN_TIMEOUT=2", "PARAPET_PER_IP_LIMIT=64",
                                      "PARAPET_METRICS_TOKEN=" METRICS_TOKEN, NULL};
    (void)state;
    h_db_new("http", db);
    return h_server_start(&srv, db, NULL, env);
}

static int teardown(void **state)
{
    (void)state;
    return h_server_stop(&srv, 10000) == 0 ? 0 : -1;
}

static void url(char *out, size_t n, const char *path)
{
    snprintf(out, n, "%s%s", srv.base, path);
}

/* Asserts r is problem+json with the given status and returns the parsed document. */
static json_t *assert_problem(const struct h_resp *r, long status)
{
    char ct[128];
    json_t *doc;

    assert_int_equal(r->status, status);
    assert_non_null(h_header(r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/problem+json");
    doc = json_loads(r->body, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), status);
    assert_non_null(json_string_value(json_object_get(doc, "type")));
    assert_non_null(json_string_value(json_object_get(doc, "title")));
    assert_non_null(json_string_value(json_object_get(doc, "detail")));
    assert_non_null(json_string_value(json_object_get(doc, "request_id")));
    return doc;
}

static void test_healthz_answers_ok_with_a_request_id(void **state)
{
    struct h_resp r;
    char u[128], rid[80];
    (void)state;

    url(u, sizeof u, "/healthz");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_non_null(h_header(&r, "X-Request-Id", rid, sizeof rid));
    assert_int_equal(strlen(rid), 32);
    h_resp_free(&r);
}

static void test_valid_request_id_is_echoed_and_invalid_one_replaced(void **state)
{
    static const char *const good[] = {"X-Request-Id: trace-abc.123:4_5", NULL};
    static const char *const bad[] = {"X-Request-Id: has space<script>", NULL};
    struct h_resp r;
    char u[128], rid[80];
    (void)state;

    url(u, sizeof u, "/healthz");
    h_http("GET", u, good, NULL, 0, &r);
    assert_string_equal(h_header(&r, "X-Request-Id", rid, sizeof rid), "trace-abc.123:4_5");
    h_resp_free(&r);
    h_http("GET", u, bad, NULL, 0, &r);
    assert_non_null(h_header(&r, "X-Request-Id", rid, sizeof rid));
    assert_null(strstr(rid, "script"));
    assert_int_equal(strlen(rid), 32);
    h_resp_free(&r);
}

static void test_unknown_path_is_404_problem(void **state)
{
    struct h_resp r;
    char u[128], rid[80];
    json_t *doc;
    (void)state;

    url(u, sizeof u, "/v1/nothing-here");
    h_http("GET", u, NULL, NULL, 0, &r);
    doc = assert_problem(&r, 404);
    h_header(&r, "X-Request-Id", rid, sizeof rid);
    assert_string_equal(json_string_value(json_object_get(doc, "request_id")), rid);
    assert_string_equal(json_string_value(json_object_get(doc, "instance")), "/v1/nothing-here");
    json_decref(doc);
    h_resp_free(&r);
    /* Near misses of real routes are not routes either. */
    url(u, sizeof u, "/healthz/");
    h_http("GET", u, NULL, NULL, 0, &r);
    json_decref(assert_problem(&r, 404));
    h_resp_free(&r);
    url(u, sizeof u, "//healthz");
    h_http("GET", u, NULL, NULL, 0, &r);
    json_decref(assert_problem(&r, 404));
    h_resp_free(&r);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct h_resp r;
    char u[128], allow[64];
    (void)state;

    url(u, sizeof u, "/healthz");
    h_http("DELETE", u, NULL, NULL, 0, &r);
    json_decref(assert_problem(&r, 405));
    assert_string_equal(h_header(&r, "Allow", allow, sizeof allow), "GET");
    h_resp_free(&r);
    h_http("POST", u, NULL, "{}", 2, &r);
    json_decref(assert_problem(&r, 405));
    h_resp_free(&r);
}

static void test_undeclared_query_parameter_is_400_naming_it(void **state)
{
    struct h_resp r;
    char u[128];
    json_t *doc, *errs;
    (void)state;

    url(u, sizeof u, "/healthz?debug=1");
    h_http("GET", u, NULL, NULL, 0, &r);
    doc = assert_problem(&r, 400);
    errs = json_object_get(doc, "errors");
    assert_int_equal(json_array_size(errs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "field")),
                        "debug");
    json_decref(doc);
    h_resp_free(&r);
}

static void test_duplicate_content_length_is_400(void **state)
{
    static const char req[] = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                              "Content-Length: 2\r\n\r\n{}";
    char out[4096];
    (void)state;

    assert_true(h_raw(srv.port, req, sizeof req - 1, out, sizeof out, 5000) > 0);
    assert_non_null(strstr(out, "HTTP/1.1 400"));
    assert_non_null(strstr(out, "application/problem+json"));
    assert_non_null(strstr(out, "framing"));
}

static void test_content_length_with_chunked_is_400(void **state)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    char out[4096];
    (void)state;

    assert_true(h_raw(srv.port, req, sizeof req - 1, out, sizeof out, 5000) > 0);
    /* libmicrohttpd or our own check refuses it; either way never a 2xx. */
    assert_non_null(strstr(out, "HTTP/1.1 400"));
}

static void test_huge_content_length_is_413_without_reading_the_body(void **state)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 1073741824\r\n\r\n";
    char out[4096];
    long long t0 = h_now_ms();
    json_t *doc;
    const char *body;
    (void)state;

    assert_true(h_raw(srv.port, req, sizeof req - 1, out, sizeof out, 5000) > 0);
    assert_true(h_now_ms() - t0 < 3000); /* answered at once, not after a 1 GiB upload */
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    body = strstr(out, "\r\n\r\n");
    assert_non_null(body);
    doc = json_loads(body + 4, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 413);
    json_decref(doc);
}

static void test_chunked_body_over_the_cap_is_413(void **state)
{
    /* 1 MiB default cap: send 1.25 MiB in 64 KiB chunks. */
    size_t chunk = 65536, nchunks = 20;
    size_t cap = 256 + nchunks * (chunk + 16) + 16;
    char *req = malloc(cap);
    char out[4096];
    size_t n;
    (void)state;

    assert_non_null(req);
    n = (size_t)snprintf(req, cap, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < nchunks; i++) {
        n += (size_t)snprintf(req + n, cap - n, "%zx\r\n", chunk);
        memset(req + n, 'a', chunk);
        n += chunk;
        memcpy(req + n, "\r\n", 2);
        n += 2;
    }
    memcpy(req + n, "0\r\n\r\n", 5);
    n += 5;
    assert_true(h_raw(srv.port, req, n, out, sizeof out, 10000) > 0);
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    free(req);
}

static void test_ten_thousand_malformed_requests_leave_the_server_healthy(void **state)
{
    static const char *const junk[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{\"",
        "GET /%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n",
    };
    const size_t njunk = sizeof junk / sizeof junk[0];
    char out[2048];
    struct h_resp r;
    char u[128];
    long long t0 = h_now_ms();
    (void)state;

    /* 10,000 malformed requests in a row: each is refused (never a 2xx) and promptly. */
    for (int i = 0; i < 10000; i++) {
        const char *j = junk[(size_t)i % njunk];
        long got = h_raw(srv.port, j, strlen(j), out, sizeof out, 3000);
        assert_true(got >= 0);
        assert_null(strstr(out, " 200 "));
    }
    assert_true(h_now_ms() - t0 < 120000);
    url(u, sizeof u, "/healthz");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    h_resp_free(&r);
}

static void test_binary_garbage_connections_are_dropped_by_the_timeout(void **state)
{
    static const char junk[] = "\x00\x01\x02\xff\r\n\r\n";
    int fds[16];
    long long t0 = h_now_ms();
    struct h_resp r;
    char u[128];
    (void)state;

    for (int i = 0; i < 16; i++) {
        fds[i] = h_connect(srv.port);
        assert_true(fds[i] >= 0);
        assert_true(write(fds[i], junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
    }
    url(u, sizeof u, "/healthz");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    h_resp_free(&r);
    for (int i = 0; i < 16; i++) {
        char buf[512];
        ssize_t got = read(fds[i], buf, sizeof buf - 1); /* EOF (or a 4xx) within the timeout */
        if (got > 0) {
            buf[got] = '\0';
            assert_null(strstr(buf, " 200 "));
        }
        close(fds[i]);
    }
    assert_true(h_now_ms() - t0 < 8000); /* PARAPET_CONN_TIMEOUT=2 for this server */
}

static void test_slow_sender_is_disconnected_and_others_are_served(void **state)
{
    int fd = h_connect(srv.port);
    char buf[256];
    struct h_resp r;
    char u[128];
    long long t0;
    ssize_t got;
    (void)state;

    /* Slowloris: half a request line, then nothing. PARAPET_CONN_TIMEOUT=2 for this server. */
    assert_true(fd >= 0);
    assert_true(write(fd, "GET /heal", 9) == 9);
    url(u, sizeof u, "/healthz");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200); /* meanwhile others are served */
    h_resp_free(&r);
    t0 = h_now_ms();
    got = read(fd, buf, sizeof buf); /* blocks until the server gives up on us */
    assert_true(got <= 0 || strstr(buf, "HTTP/1.1") != NULL);
    assert_true(h_now_ms() - t0 < 8000);
    close(fd);
}

static void test_request_log_has_one_line_per_request_without_secrets(void **state)
{
    static const char *const hdrs[] = {"Authorization: Bearer super-secret-token-xyz",
                                       "X-Request-Id: log-check-1", NULL};
    struct h_resp r;
    char u[128];
    char *log;
    json_t *line = NULL;
    (void)state;

    url(u, sizeof u, "/healthz");
    h_http("GET", u, hdrs, NULL, 0, &r);
    h_resp_free(&r);
    h_sleep_ms(100);
    log = h_read_file(srv.log_path);
    assert_non_null(log);
    assert_null(strstr(log, "super-secret-token-xyz"));
    for (char *p = log; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(p, "log-check-1") != NULL) {
            assert_null(line); /* exactly one line for the request */
            line = json_loads(p, 0, NULL);
            assert_non_null(line);
        }
        p = nl ? nl + 1 : NULL;
    }
    assert_non_null(line);
    assert_string_equal(json_string_value(json_object_get(line, "event")), "http.request");
    assert_string_equal(json_string_value(json_object_get(line, "method")), "GET");
    assert_string_equal(json_string_value(json_object_get(line, "route")), "/healthz");
    assert_int_equal(json_integer_value(json_object_get(line, "status")), 200);
    assert_true(json_is_number(json_object_get(line, "duration_ms")));
    json_decref(line);
    free(log);
}

static void test_metrics_count_requests_by_route_and_status(void **state)
{
    struct h_resp r;
    char u[128];
    (void)state;

    url(u, sizeof u, "/readyz");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    h_resp_free(&r);
    url(u, sizeof u, "/metrics");
    /* Only with the configured bearer token. */
    {
        static const char *const none[] = {NULL};
        static const char *const wrong[] = {"Authorization: Bearer scrape-3f9c1e0b7a5d4c2f", NULL};
        static const char *const user[] = {"Authorization: Bearer " METRICS_TOKEN "x", NULL};
        const char *const *bad[] = {none, wrong, user};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            json_t *p;
            h_http("GET", u, bad[i], NULL, 0, &r);
            p = assert_problem(&r, 401);
            assert_null(strstr(r.body, "parapet_http_requests_total"));
            json_decref(p);
            h_resp_free(&r);
        }
    }
    {
        static const char *const ok[] = {"Authorization: Bearer " METRICS_TOKEN, NULL};
        assert_int_equal(h_http("GET", u, ok, NULL, 0, &r), 200);
    }
    assert_non_null(
        strstr(r.body, "parapet_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} "));
    assert_non_null(strstr(r.body, "parapet_http_requests_total{method=\"\",route=\"unmatched\""
                                   ",status=\"404\"}"));
    assert_non_null(strstr(r.body, "parapet_http_request_duration_seconds_bucket{method=\"GET\","
                                   "route=\"/readyz\",le=\"+Inf\"}"));
    assert_non_null(strstr(r.body, "parapet_db_pool_connections{state=\"in_use\"}"));
    assert_non_null(strstr(r.body, "parapet_jobs{status=\"queued\"}"));
    assert_non_null(strstr(r.body, "parapet_database_up 1"));
    h_resp_free(&r);
}

static void test_openapi_document_is_served(void **state)
{
    struct h_resp r;
    char u[128];
    json_t *doc;
    (void)state;

    url(u, sizeof u, "/v1/openapi.json");
    assert_int_equal(h_http("GET", u, NULL, NULL, 0, &r), 200);
    doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    assert_non_null(json_object_get(json_object_get(doc, "paths"), "/healthz"));
    json_decref(doc);
    h_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_ok_with_a_request_id),
        cmocka_unit_test(test_valid_request_id_is_echoed_and_invalid_one_replaced),
        cmocka_unit_test(test_unknown_path_is_404_problem),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_undeclared_query_parameter_is_400_naming_it),
        cmocka_unit_test(test_duplicate_content_length_is_400),
        cmocka_unit_test(test_content_length_with_chunked_is_400),
        cmocka_unit_test(test_huge_content_length_is_413_without_reading_the_body),
        cmocka_unit_test(test_chunked_body_over_the_cap_is_413),
        cmocka_unit_test(test_request_log_has_one_line_per_request_without_secrets),
        cmocka_unit_test(test_metrics_count_requests_by_route_and_status),
        cmocka_unit_test(test_openapi_document_is_served),
        cmocka_unit_test(test_slow_sender_is_disconnected_and_others_are_served),
        cmocka_unit_test(test_ten_thousand_malformed_requests_leave_the_server_healthy),
        cmocka_unit_test(test_binary_garbage_connections_are_dropped_by_the_timeout),
    };
    return cmocka_run_group_tests_name("integration/http", tests, setup, teardown);
}
