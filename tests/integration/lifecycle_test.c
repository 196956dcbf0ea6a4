/* The process: commands, configuration errors, and a graceful stop that finishes the requests
 * in flight. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char db[64];

static int setup(void **state)
{
    (void)state;
    h_db_new("life", db);
    return 0;
}

static void test_sigterm_finishes_the_request_in_flight_then_exits_0(void **state)
{
    static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
    struct h_server s;
    char out[2048];
    size_t got = 0;
    int fd, late;
    long long t0;
    (void)state;

    assert_int_equal(h_server_start(&s, db, NULL, NULL), 0);
    fd = h_connect(s.port);
    assert_true(fd >= 0);
    assert_true(send(fd, head, sizeof head - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof head - 1));
    assert_true(send(fd, "01234", 5, MSG_NOSIGNAL) == 5); /* half the body: in flight */
    h_sleep_ms(200);
    t0 = h_now_ms();
    kill(s.pid, SIGTERM);
    h_sleep_ms(300);
    late = h_connect(s.port); /* no longer accepting: closed unanswered */
    if (late >= 0) {
        char buf[64];
        static const char probe[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        ssize_t n;
        (void)send(late, probe, sizeof probe - 1, MSG_NOSIGNAL);
        n = recv(late, buf, sizeof buf, 0);
        assert_true(n <= 0);
        close(late);
    }
    assert_true(send(fd, "56789", 5, MSG_NOSIGNAL) == 5);
    while (got + 1 < sizeof out) {
        ssize_t r = recv(fd, out + got, sizeof out - got - 1, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        out[got] = '\0';
        if (strstr(out, "{\"status\":\"ok\"}") != NULL)
            break;
    }
    out[got] = '\0';
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    close(fd);
    assert_int_equal(h_server_stop(&s, 10000), 0);
    assert_true(h_now_ms() - t0 < 10000);
}

static void test_sigint_stops_an_idle_server_quickly(void **state)
{
    struct h_server s;
    long long t0;
    char *log;
    (void)state;

    assert_int_equal(h_server_start(&s, db, NULL, NULL), 0);
    t0 = h_now_ms();
    kill(s.pid, SIGINT);
    assert_int_equal(h_server_stop(&s, 10000), 0);
    assert_true(h_now_ms() - t0 < 3000);
    log = h_read_file(s.log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"server.stopped\""));
    free(log);
}

static void test_bad_configuration_names_every_bad_variable(void **state)
{
    static const char *const env[] = {"PARAPET_LISTEN=nonsense", "PARAPET_LOG_LEVEL=loud",
                                      "PARAPET_WORKERS=-1", "PARAPET_SECRET_KEY=c2hvcnQ=",
                                      NULL};
    static const char *const serve[] = {"serve", NULL};
    char err[4096];
    (void)state;

    assert_int_equal(h_run(db, env, serve, err, sizeof err), 2);
    assert_non_null(strstr(err, "PARAPET_LISTEN"));
    assert_non_null(strstr(err, "PARAPET_LOG_LEVEL"));
    assert_non_null(strstr(err, "PARAPET_WORKERS"));
    assert_non_null(strstr(err, "PARAPET_SECRET_KEY"));
    assert_null(strstr(err, "c2hvcnQ=")); /* a secret's value is not echoed */
    assert_non_null(strstr(err, "4 configuration problem(s)"));
}

static void test_missing_database_url_is_reported(void **state)
{
    static const char *const serve[] = {"serve", NULL};
    char err[4096];
    (void)state;

    assert_int_equal(h_run(NULL, NULL, serve, err, sizeof err), 2);
    assert_non_null(strstr(err, "DATABASE_URL"));
}

static void test_commands_and_roles_are_checked(void **state)
{
    static const char *const version[] = {"version", NULL};
    static const char *const bad_role[] = {"serve", "--role", "boss", NULL};
    static const char *const bad_cmd[] = {"frobnicate", NULL};
    char err[4096];
    (void)state;

    assert_int_equal(h_run(db, NULL, version, NULL, 0), 0);
    assert_int_equal(h_run(db, NULL, bad_role, err, sizeof err), 2);
    assert_non_null(strstr(err, "--role"));
    assert_int_equal(h_run(db, NULL, bad_cmd, err, sizeof err), 2);
    assert_non_null(strstr(err, "usage"));
}

static void test_api_role_serves_http_without_running_jobs(void **state)
{
    struct h_server s;
    char owner[256], fresh[64];
    char *v;
    (void)state;

    h_db_new("apionly", fresh);
    assert_int_equal(h_server_start(&s, fresh, "api", NULL), 0);
    h_sleep_ms(1500);
    h_db_url(fresh, true, owner, sizeof owner);
    v = h_sql(owner, "SELECT count(*) FROM jobs WHERE status <> 'queued'");
    assert_string_equal(v, "0"); /* nothing claimed or run by an api-only instance */
    free(v);
    v = h_sql(owner, "SELECT count(*) FROM jobs");
    assert_string_equal(v, "0"); /* and no scheduler enqueueing periodic jobs */
    free(v);
    assert_int_equal(h_server_stop(&s, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_finishes_the_request_in_flight_then_exits_0),
        cmocka_unit_test(test_sigint_stops_an_idle_server_quickly),
        cmocka_unit_test(test_bad_configuration_names_every_bad_variable),
        cmocka_unit_test(test_missing_database_url_is_reported),
        cmocka_unit_test(test_commands_and_roles_are_checked),
        cmocka_unit_test(test_api_role_serves_http_without_running_jobs),
    };
    return cmocka_run_group_tests_name("integration/lifecycle", tests, setup, NULL);
}
