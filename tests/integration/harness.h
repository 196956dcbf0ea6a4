/* harness - integration test support: databases in the throwaway PostgreSQL cluster that
 * scripts/test.sh started, the built server as a child process on a free loopback port, HTTP
 * through libcurl, raw sockets for malformed requests, and SQL through libpq.
 * Environment (set by scripts/test.sh): PARAPET_BIN, PARAPET_TEST_PG_PORT, PARAPET_TEST_PG_DIR,
 * PARAPET_TEST_ROOT. Everything here aborts the test with a message on infrastructure failure. */
#ifndef PARAPET_HARNESS_H
#define PARAPET_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct h_server {
    pid_t pid;
    uint16_t port;
    char base[64];      /* "http://127.0.0.1:PORT" */
    char log_path[256]; /* the server's stdout and stderr */
    char db[64];
};

struct h_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* raw header block, NUL-terminated */
    size_t headers_len;
};

/* Creates an empty database owned by parapet_owner; writes its name into out[64]. */
void h_db_new(const char *prefix, char out[64]);

/* libpq URL of db as the application role (owner=false) or the owner role. */
void h_db_url(const char *db, bool owner, char *out, size_t n);

/* Admin (superuser) URL of db. */
void h_db_admin_url(const char *db, char *out, size_t n);

/* Starts `parapet serve [--role role]` against db with extra "K=V" settings (NULL-terminated,
 * may be NULL) and waits until /healthz answers (or, for a worker without HTTP, until the
 * server.started log line). Returns 0, or -1 when it did not come up. */
int h_server_start(struct h_server *s, const char *db, const char *role, const char *const *env);

/* Sends SIGTERM and waits up to timeout_ms; returns the exit status, or -1 if it had to be
 * killed. */
int h_server_stop(struct h_server *s, int timeout_ms);

/* SIGKILL, like a crash. */
void h_server_kill(struct h_server *s);

/* Runs `parapet ARGS...` to completion with db's URLs and extra env; returns its exit status
 * and captures its stderr (first 4 KiB) into err_out when not NULL. */
int h_run(const char *db, const char *const *env, const char *const *args, char *err_out,
          size_t err_len);

/* HTTP request; headers NULL-terminated "Name: value" (may be NULL); body may be NULL. */
long h_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, struct h_resp *r);
void h_resp_free(struct h_resp *r);

/* A JSON API call: method base+path with Content-Type: application/json and, when bearer is not
 * NULL, Authorization: Bearer <bearer>; body may be NULL. *out (out may be NULL) gets the parsed
 * response body (NULL when empty or not JSON). Returns the status (-1 on transport failure). */
long h_api(const char *base, const char *bearer, const char *method, const char *path,
           const char *body, json_t **out);

/* Value of response header name (case-insensitive) into out, or NULL when absent. */
const char *h_header(const struct h_resp *r, const char *name, char *out, size_t n);

/* Sends data on a new connection to 127.0.0.1:port and reads until a whole response (headers and
 * Content-Length bytes) has arrived, the peer closes, out is full or timeout_ms passes. Returns
 * bytes read (NUL-terminated), or -1 on connect failure. */
long h_raw(uint16_t port, const char *data, size_t len, char *out, size_t outlen, int timeout_ms);

/* Opens a connection to 127.0.0.1:port; returns the fd or -1. */
int h_connect(uint16_t port);

/* First column of the first row of sql on url, malloc'd; NULL on error or no row. */
char *h_sql(const char *url, const char *sql);

/* Runs sql on url; returns 0 on success, else -1 (message to stderr unless quiet). */
int h_sql_exec(const char *url, const char *sql, bool quiet);

/* Stops / starts the whole test PostgreSQL cluster. */
void h_pg_stop(void);
void h_pg_start(void);

/* A free TCP port on 127.0.0.1. */
uint16_t h_free_port(void);

/* Monotonic milliseconds. */
long long h_now_ms(void);
void h_sleep_ms(int ms);

/* Whole contents of a file, malloc'd (NULL when unreadable). */
char *h_read_file(const char *path);

/* A strict fake of AWS STS (tests/support/fake_aws) run as a child process. */
struct h_fake_aws {
    pid_t pid;
    uint16_t port;
    char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the fake (FAKE_AWS_BIN, else "<dir of PARAPET_BIN>/tests/support/fake_aws") with
 * --port 0, --config config (may be NULL) and --log log (may be NULL), and waits up to 10 s for
 * its "port=N" line. Its stderr is the test's. Returns 0, or -1 when it did not come up. */
int h_fake_aws_start(struct h_fake_aws *f, const char *config, const char *log);

/* Sends SIGTERM and waits up to timeout_ms; returns the exit status, or -1 if it had to be
 * killed (or was not running). */
int h_fake_aws_stop(struct h_fake_aws *f, int timeout_ms);

/* A strict fake of the container credentials endpoint and IMDSv2 (tests/support/fake_metadata)
 * run as a child process. */
struct h_fake_metadata {
    pid_t pid;
    uint16_t port;
    char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the fake ("<dir of PARAPET_BIN>/tests/support/fake_metadata") with --port 0 and args
 * (NULL-terminated "--name", "value" pairs, may be NULL), and waits up to 10 s for its "port=N"
 * line. Its stderr is the test's. Returns 0, or -1 when it did not come up. */
int h_fake_metadata_start(struct h_fake_metadata *f, const char *const *args);

/* Sends SIGTERM and waits up to timeout_ms; returns the exit status, or -1 if it had to be
 * killed (or was not running). */
int h_fake_metadata_stop(struct h_fake_metadata *f, int timeout_ms);

/* Strict fakes of Slack, PagerDuty, JIRA and Splunk (tests/support/fake_hooks) as a child. */
struct h_fake_hooks {
    pid_t pid;
    uint16_t port;
    char base[64]; /* "http://127.0.0.1:PORT" */
};

/* Starts the fake with --port port (0 = a free one) and args (NULL-terminated "--name", "value"
 * pairs, may be NULL); waits up to 10 s for its "port=N" line. Returns 0, or -1. */
int h_fake_hooks_start(struct h_fake_hooks *f, uint16_t port, const char *const *args);

/* Sets a fake's mode: body is the JSON of POST /_control. Returns the HTTP status (204). */
long h_fake_hooks_control(const struct h_fake_hooks *f, const char *body);

/* Sends SIGTERM and waits up to timeout_ms; the exit status, or -1 if it had to be killed. */
int h_fake_hooks_stop(struct h_fake_hooks *f, int timeout_ms);

#endif
