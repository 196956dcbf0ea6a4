#define _GNU_SOURCE 1 /* asprintf */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "harness: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(3);
}

static const char *env_req(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        die("%s is not set: run the integration tests through scripts/test.sh", name);
    return v;
}

long long h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void h_db_url(const char *db, bool owner, char *out, size_t n)
{
    snprintf(out, n, "postgresql://%s@127.0.0.1:%s/%s", owner ? "parapet_owner" : "parapet",
             env_req("PARAPET_TEST_PG_PORT"), db);
}

void h_db_admin_url(const char *db, char *out, size_t n)
{
    snprintf(out, n, "postgresql://postgres@127.0.0.1:%s/%s", env_req("PARAPET_TEST_PG_PORT"),
             db);
}

int h_sql_exec(const char *url, const char *sql, bool quiet)
{
    PGconn *c = PQconnectdb(url);
    int rc = -1;

    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        ExecStatusType s = PQresultStatus(r);
        rc = (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) ? 0 : -1;
        if (rc != 0 && !quiet)
            fprintf(stderr, "harness: SQL failed: %s", PQerrorMessage(c));
        PQclear(r);
    } else if (!quiet) {
        fprintf(stderr, "harness: connect failed: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return rc;
}

char *h_sql(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    char *v = NULL;

    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
            v = strdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "harness: SQL failed: %s", PQerrorMessage(c));
        PQclear(r);
    } else {
        fprintf(stderr, "harness: connect failed: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return v;
}

void h_db_new(const char *prefix, char out[64])
{
    static unsigned seq;
    char admin[256];
    char sql[256];

    snprintf(out, 64, "t_%s_%d_%u", prefix, (int)getpid(), seq++);
    h_db_admin_url("postgres", admin, sizeof admin);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" OWNER parapet_owner", out);
    if (h_sql_exec(admin, sql, false) != 0)
        die("cannot create database %s", out);
}

uint16_t h_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof a;
    uint16_t port;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        die("%s", "cannot find a free port");
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Builds the child's environment: a clean base plus the sanitizer settings and extras. */
static char **child_env(const char *db, const char *listen, const char *const *extra)
{
    static const char *const pass[] = {"PATH",
                                       "ASAN_OPTIONS",
                                       "UBSAN_OPTIONS",
                                       "LSAN_OPTIONS",
                                       "HOME",
                                       "PARAPET_JWT_KEY",
                                       "PARAPET_SECRET_KEY",
                                       "PARAPET_EGRESS_ALLOW",
                                       NULL};
    char **envp = calloc(64, sizeof *envp);
    size_t n = 0;
    char url[256];

    for (const char *const *p = pass; *p != NULL; p++) {
        const char *v = getenv(*p);
        if (v != NULL && asprintf(&envp[n], "%s=%s", *p, v) > 0)
            n++;
    }
    if (db != NULL) {
        h_db_url(db, false, url, sizeof url);
        if (asprintf(&envp[n], "DATABASE_URL=%s", url) > 0)
            n++;
        h_db_url(db, true, url, sizeof url);
        if (asprintf(&envp[n], "DATABASE_OWNER_URL=%s", url) > 0)
            n++;
    }
    if (listen != NULL && asprintf(&envp[n], "PARAPET_LISTEN=%s", listen) > 0)
        n++;
    envp[n++] = strdup("PARAPET_LOG_LEVEL=info");
    /* Tests never reach for a real instance metadata service (169.254.169.254): only loopback. */
    envp[n++] = strdup("AWS_EC2_METADATA_DISABLED=true");
    /* ... nor a real AWS endpoint: unless a test points AWS_ENDPOINT_URL at a fake, calls go to a
     * closed loopback port. (Service-specific AWS_ENDPOINT_URL_<SVC> still win over this.) */
    envp[n++] = strdup("AWS_ENDPOINT_URL=http://127.0.0.1:9");
    envp[n++] = strdup("PARAPET_HTTP_THREADS=4");
    for (const char *const *e = extra; e != NULL && *e != NULL && n < 62; e++) {
        /* A later setting of the same name replaces the earlier one. */
        size_t klen = strcspn(*e, "=");
        size_t i;
        for (i = 0; i < n; i++)
            if (strncmp(envp[i], *e, klen + 1) == 0)
                break;
        free(i < n ? envp[i] : NULL);
        envp[i] = strdup(*e);
        if (i == n)
            n++;
    }
    envp[n] = NULL;
    return envp;
}

static void free_env(char **envp)
{
    for (char **p = envp; *p != NULL; p++)
        free(*p);
    free(envp);
}

static bool log_has(const char *path, const char *needle)
{
    char *text = h_read_file(path);
    bool found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

int h_server_start(struct h_server *s, const char *db, const char *role, const char *const *env)
{
    char listen[32];
    char **envp;
    const char *bin = env_req("PARAPET_BIN");
    long long deadline;
    int fd;

    memset(s, 0, sizeof *s);
    s->port = h_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%u", s->port);
    snprintf(s->base, sizeof s->base, "http://%s", listen);
    snprintf(s->db, sizeof s->db, "%s", db ? db : "");
    snprintf(s->log_path, sizeof s->log_path, "/tmp/parapet-test-%d-%u.log", (int)getpid(),
             s->port);
    envp = child_env(db, listen, env);
    s->pid = fork();
    if (s->pid < 0)
        die("%s", "fork failed");
    if (s->pid == 0) {
        fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (role != NULL)
            execle(bin, bin, "serve", "--role", role, (char *)NULL, envp);
        else
            execle(bin, bin, "serve", (char *)NULL, envp);
        _exit(127);
    }
    free_env(envp);
    deadline = h_now_ms() + 20000;
    while (h_now_ms() < deadline) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        if (role != NULL && strcmp(role, "worker") == 0) {
            if (log_has(s->log_path, "\"server.started\""))
                return 0;
        } else {
            struct h_resp r;
            char url[128];
            snprintf(url, sizeof url, "%s/healthz", s->base);
            long st = h_http("GET", url, NULL, NULL, 0, &r);
            h_resp_free(&r);
            if (st == 200)
                return 0;
        }
        h_sleep_ms(20);
    }
    h_server_kill(s);
    return -1;
}

int h_server_stop(struct h_server *s, int timeout_ms)
{
    long long deadline = h_now_ms() + timeout_ms;
    int status;

    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    while (h_now_ms() < deadline) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        h_sleep_ms(10);
    }
    h_server_kill(s);
    return -1;
}

void h_server_kill(struct h_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

int h_run(const char *db, const char *const *env, const char *const *args, char *err_out,
          size_t err_len)
{
    const char *bin = env_req("PARAPET_BIN");
    char **envp = child_env(db, NULL, env);
    const char *argv[16];
    int pipefd[2];
    pid_t pid;
    int status = 0;
    size_t n = 0, got = 0;

    argv[n++] = bin;
    for (const char *const *a = args; a != NULL && *a != NULL && n < 15; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    if (pipe(pipefd) != 0)
        die("%s", "pipe failed");
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        execve(bin, (char *const *)(uintptr_t)argv, envp);
        _exit(127);
    }
    close(pipefd[1]);
    free_env(envp);
    for (;;) {
        char buf[1024];
        ssize_t r = read(pipefd[0], buf, sizeof buf);
        if (r <= 0)
            break;
        if (err_out != NULL && got + 1 < err_len) {
            size_t take = (size_t)r < err_len - got - 1 ? (size_t)r : err_len - got - 1;
            memcpy(err_out + got, buf, take);
            got += take;
        }
    }
    if (err_out != NULL && err_len > 0)
        err_out[got] = '\0';
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct sink {
    char **p;
    size_t *len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    char *np = realloc(*s->p, *s->len + n + 1);
    if (np == NULL)
        return 0;
    memcpy(np + *s->len, data, n);
    *s->len += n;
    np[*s->len] = '\0';
    *s->p = np;
    return n;
}

long h_http(const char *method, const char *url, const char *const *headers, const char *body,
            size_t len, struct h_resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct sink bs, hs;
    CURLcode cc;

    memset(r, 0, sizeof *r);
    bs = (struct sink){&r->body, &r->len};
    hs = (struct sink){&r->headers, &r->headers_len};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    hl = curl_slist_append(hl, "Expect:");
    for (const char *const *h = headers; h != NULL && *h != NULL; h++)
        hl = curl_slist_append(hl, *h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    else
        r->status = -1;
    if (r->body == NULL)
        r->body = strdup("");
    if (r->headers == NULL)
        r->headers = strdup("");
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return r->status;
}

void h_resp_free(struct h_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

const char *h_header(const struct h_resp *r, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    const char *p = r->headers;

    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(ll - (size_t)(v - p)), v);
            return out;
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

int h_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};

    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True once buf holds a whole response: headers and Content-Length bytes of body. */
static bool response_complete(char *buf, size_t len)
{
    char *end, *cl;
    unsigned long n = 0;

    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
    if (end == NULL)
        return false;
    cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl != NULL && cl < end)
        n = strtoul(cl + 17, NULL, 10);
    return len >= (size_t)(end + 4 - buf) + n;
}

long h_raw(uint16_t port, const char *data, size_t len, char *out, size_t outlen, int timeout_ms)
{
    int fd = h_connect(port);
    size_t got = 0;
    long long deadline = h_now_ms() + timeout_ms;

    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close early (413, 400): read what it said */
        data += w;
        len -= (size_t)w;
    }
    while (got + 1 < outlen && !response_complete(out, got)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long long left = deadline - h_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(fd, out + got, outlen - got - 1, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = '\0';
    close(fd);
    return (long)got;
}

static void pg_ctl(const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "\"%s/scripts/pg.sh\" %s \"%s\"", env_req("PARAPET_TEST_ROOT"), what,
             env_req("PARAPET_TEST_PG_DIR"));
    if (system(cmd) != 0)
        die("pg.sh %s failed", what);
}

void h_pg_stop(void)
{
    pg_ctl("stop");
}

void h_pg_start(void)
{
    pg_ctl("start");
}

char *h_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (nb == NULL)
                break;
            buf = nb;
        }
        size_t r = fread(buf + len, 1, 4096, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* Path of a fake: override (an environment variable naming the binary) when set, else beside
 * the server binary under tests/support/. */
static void fake_path(const char *override, const char *name, char *out, size_t n)
{
    const char *bin = override ? getenv(override) : NULL;
    const char *slash;

    if (bin != NULL && bin[0] != '\0') {
        snprintf(out, n, "%s", bin);
        return;
    }
    bin = env_req("PARAPET_BIN");
    slash = strrchr(bin, '/');
    if (slash == NULL)
        snprintf(out, n, "tests/support/%s", name);
    else
        snprintf(out, n, "%.*s/tests/support/%s", (int)(slash - bin), bin, name);
}

/* Starts a fake (argv[0] is its path; argv includes "--port 0") and reads the "port=N" line it
 * prints once it accepts connections (10 s at most). Returns 0, or -1 when it did not start. */
static int start_fake(const char *const *argv, pid_t *pid, uint16_t *port_out, char base[64])
{
    char line[64];
    char **envp;
    int pipefd[2];
    size_t got = 0;
    long long deadline;
    unsigned long port;
    char *end = NULL;

    if (pipe(pipefd) != 0)
        die("%s", "pipe failed");
    envp = child_env(NULL, NULL, NULL);
    *pid = fork();
    if (*pid < 0)
        die("%s", "fork failed");
    if (*pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execve(argv[0], (char *const *)(uintptr_t)argv, envp);
        _exit(127);
    }
    close(pipefd[1]);
    free_env(envp);
    deadline = h_now_ms() + 10000;
    while (got + 1 < sizeof line && memchr(line, '\n', got) == NULL) {
        struct pollfd pfd = {pipefd[0], POLLIN, 0};
        long long left = deadline - h_now_ms();
        ssize_t r;
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        r = read(pipefd[0], line + got, sizeof line - got - 1);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(pipefd[0]);
    line[got] = '\0';
    port = strncmp(line, "port=", 5) == 0 ? strtoul(line + 5, &end, 10) : 0;
    if (port == 0 || port > 65535 || *end != '\n') {
        fprintf(stderr, "harness: %s did not start (first output \"%s\")\n", argv[0], line);
        if (*pid > 0) {
            kill(*pid, SIGKILL);
            waitpid(*pid, NULL, 0);
        }
        *pid = 0;
        return -1;
    }
    *port_out = (uint16_t)port;
    snprintf(base, 64, "http://127.0.0.1:%u", *port_out);
    return 0;
}

/* SIGTERM to a fake and its exit status (see h_server_stop). */
static int stop_fake(pid_t *pid, int timeout_ms)
{
    struct h_server s;
    int rc;

    memset(&s, 0, sizeof s);
    s.pid = *pid;
    rc = h_server_stop(&s, timeout_ms);
    *pid = 0;
    return rc;
}

int h_fake_aws_start(struct h_fake_aws *f, const char *config, const char *log)
{
    char bin[1024];
    const char *argv[8];
    size_t n = 0;

    memset(f, 0, sizeof *f);
    fake_path("FAKE_AWS_BIN", "fake_aws", bin, sizeof bin);
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    if (config != NULL) {
        argv[n++] = "--config";
        argv[n++] = config;
    }
    if (log != NULL) {
        argv[n++] = "--log";
        argv[n++] = log;
    }
    argv[n] = NULL;
    return start_fake(argv, &f->pid, &f->port, f->base);
}

int h_fake_aws_stop(struct h_fake_aws *f, int timeout_ms)
{
    return stop_fake(&f->pid, timeout_ms);
}

/* Starts fake `name` with --port port and args (NULL-terminated pairs). */
static int start_fake_args(const char *name, uint16_t port, const char *const *args, pid_t *pid,
                           uint16_t *port_out, char base[64])
{
    char bin[1024], portbuf[8];
    const char *argv[40];
    size_t n = 0;

    fake_path(NULL, name, bin, sizeof bin);
    snprintf(portbuf, sizeof portbuf, "%u", port);
    argv[n++] = bin;
    argv[n++] = "--port";
    argv[n++] = portbuf;
    for (const char *const *a = args; a != NULL && *a != NULL; a++) {
        if (n + 1 >= sizeof argv / sizeof argv[0])
            die("start %s: too many arguments", name);
        argv[n++] = *a;
    }
    argv[n] = NULL;
    return start_fake(argv, pid, port_out, base);
}

int h_fake_metadata_start(struct h_fake_metadata *f, const char *const *args)
{
    memset(f, 0, sizeof *f);
    return start_fake_args("fake_metadata", 0, args, &f->pid, &f->port, f->base);
}

int h_fake_metadata_stop(struct h_fake_metadata *f, int timeout_ms)
{
    return stop_fake(&f->pid, timeout_ms);
}

long h_api(const char *base, const char *bearer, const char *method, const char *path,
           const char *body, json_t **out)
{
    char u[2048], auth[1200];
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
    struct h_resp r;
    long st;

    snprintf(u, sizeof u, "%s%s", base, path);
    if (bearer != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        hdrs[1] = auth;
    }
    st = h_http(method, u, hdrs, body, body ? strlen(body) : 0, &r);
    if (out != NULL)
        *out = r.len ? json_loads(r.body, 0, NULL) : NULL;
    h_resp_free(&r);
    return st;
}
int h_fake_hooks_start(struct h_fake_hooks *f, uint16_t port, const char *const *args)
{
    memset(f, 0, sizeof *f);
    return start_fake_args("fake_hooks", port, args, &f->pid, &f->port, f->base);
}

long h_fake_hooks_control(const struct h_fake_hooks *f, const char *body)
{
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char url[128];
    struct h_resp r;
    long st;

    snprintf(url, sizeof url, "%s/_control", f->base);
    st = h_http("POST", url, hdrs, body, strlen(body), &r);
    h_resp_free(&r);
    return st;
}

int h_fake_hooks_stop(struct h_fake_hooks *f, int timeout_ms)
{
    return stop_fake(&f->pid, timeout_ms);
}
