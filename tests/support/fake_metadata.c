/* fake_metadata - a strict fake of the two credential endpoints an AWS workload asks for its own
 * identity, for integration tests: the container credentials endpoint (ECS / EKS Pod Identity) and
 * the EC2 instance metadata service, IMDSv2 only.
 *
 *   fake_metadata --port N --akid AKID --secret SECRET --token TOKEN --expiration ISO8601
 *                 [--role NAME] [--auth-token VALUE] [--log FILE]
 *
 * Listens on 127.0.0.1:N (0 = a free port) and prints "port=N" (the bound port) as the first
 * line on stdout, flushed, once it accepts connections. SIGTERM or SIGINT stops it; exit 0.
 * Exit 2 on bad usage, 1 when it cannot listen.
 *
 * Container endpoint: GET /creds. With --auth-token, the Authorization header must be exactly
 * that value, else 401 (as the ECS / EKS agents answer). 200 is
 *   {"AccessKeyId","SecretAccessKey","Token","Expiration","RoleArn"}.
 * IMDSv2 (role default "parapet-instance"):
 * - PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds, an integer in [1, 21600],
 *   else 400; it answers a fresh session token (text/plain). Only PUT: other methods 405.
 * - GET /latest/meta-data/iam/security-credentials/ answers the role name; GET .../<role> answers
 *   {"Code":"Success","LastUpdated","Type":"AWS-HMAC","AccessKeyId","SecretAccessKey","Token",
 *   "Expiration"}; another role is 404. Both need X-aws-ec2-metadata-token with a token this fake
 *   issued, else 401 (IMDSv1 is off, as on hardened instances).
 * - fake: any request body is refused (400); unknown paths are 404.
 *
 * Log (--log): one JSON object per request, appended with one write():
 *   {"method":..,"path":..,"status":N,"auth":"ok"|"missing"|"wrong"|null}
 * ("auth" is about the Authorization header on /creds and the session token on IMDS GETs).
 * Never a secret, token or authorization value.
 *
 * Threading: libmicrohttpd runs every handler on its one internal thread; the issued tokens and
 * the log are under one mutex all the same. */
#include "tests/support/lib/fake_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOKENS 64
#define TOKEN_PATH "/latest/api/token"
#define CREDS_PREFIX "/latest/meta-data/iam/security-credentials/"

struct fake {
    const char *akid, *secret, *token, *expiration, *role, *auth_token;
    char issued[MAX_TOKENS][65];
    size_t nissued;
    int log_fd;
    pthread_mutex_t mu;
};

/* Per-request state: whether a body arrived. */
struct req {
    bool seen;
    bool body;
};

static void log_request(struct fake *f, const char *method, const char *path, unsigned status,
                        const char *auth)
{
    json_t *o;
    char *line;

    if (f->log_fd < 0)
        return;
    o = json_pack("{s:s, s:s, s:i, s:o}", "method", method, "path", path, "status", (int)status,
                  "auth", auth != NULL ? json_string(auth) : json_null());
    line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line != NULL) {
        size_t n = strlen(line);
        char *buf = malloc(n + 2);
        if (buf != NULL) {
            memcpy(buf, line, n);
            buf[n] = '\n';
            if (write(f->log_fd, buf, n + 1) < 0)
                fprintf(stderr, "fake_metadata: log write failed\n");
            free(buf);
        }
    }
    free(line);
    json_decref(o);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *type,
                                 char *owned)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (owned == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer_with_free_callback(strlen(owned), owned, free);
    if (r == NULL) {
        free(owned);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return send_text(conn, status, "application/json", s);
}

static bool token_issued(const struct fake *f, const char *t)
{
    for (size_t i = 0; i < f->nissued && i < MAX_TOKENS; i++) {
        if (strcmp(f->issued[i], t) == 0)
            return true;
    }
    return false;
}

/* Status and body of one request; auth_out names the check on credentials for the log. */
static enum MHD_Result respond(struct fake *f, struct MHD_Connection *conn, const char *method,
                               const char *url, bool body, unsigned *status, const char **auth)
{
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0;
    const char *v;

    *auth = NULL;
    if (body) {
        *status = 400;
        return send_text(conn, 400, "text/plain", strdup("fake: no request body expected\n"));
    }
    if (strcmp(url, "/creds") == 0) {
        if (!get) {
            *status = 405;
            return send_text(conn, 405, "text/plain", strdup("method not allowed\n"));
        }
        if (f->auth_token != NULL) {
            v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
            *auth = v == NULL ? "missing" : strcmp(v, f->auth_token) == 0 ? "ok" : "wrong";
            if (v == NULL || strcmp(v, f->auth_token) != 0) {
                *status = 401;
                return send_json(conn, 401, json_pack("{s:s}", "message", "Unauthorized"));
            }
        }
        *status = 200;
        return send_json(conn, 200,
                         json_pack("{s:s, s:s, s:s, s:s, s:s}", "AccessKeyId", f->akid,
                                   "SecretAccessKey", f->secret, "Token", f->token, "Expiration",
                                   f->expiration, "RoleArn",
                                   "arn:aws:iam::111122223333:role/parapet-task"));
    }
    if (strcmp(url, TOKEN_PATH) == 0) {
        unsigned char rnd[32];
        char *tok;
        char *end = NULL;
        long ttl;

        if (!put) {
            *status = 405;
            return send_text(conn, 405, "text/plain", strdup("method not allowed\n"));
        }
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                        "X-aws-ec2-metadata-token-ttl-seconds");
        ttl = v != NULL ? strtol(v, &end, 10) : 0;
        if (v == NULL || v[0] == '\0' || *end != '\0' || ttl < 1 || ttl > 21600) {
            *status = 400;
            return send_text(conn, 400, "text/plain", strdup("Bad Request\n"));
        }
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            *status = 500;
            return send_text(conn, 500, "text/plain", strdup("no randomness\n"));
        }
        tok = malloc(65);
        if (tok == NULL)
            return MHD_NO;
        for (size_t i = 0; i < sizeof rnd; i++)
            snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
        snprintf(f->issued[f->nissued % MAX_TOKENS], 65, "%s", tok);
        f->nissued++;
        *status = 200;
        return send_text(conn, 200, "text/plain", tok);
    }
    if (strncmp(url, CREDS_PREFIX, strlen(CREDS_PREFIX)) == 0) {
        const char *role = url + strlen(CREDS_PREFIX);
        if (!get) {
            *status = 405;
            return send_text(conn, 405, "text/plain", strdup("method not allowed\n"));
        }
        v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-aws-ec2-metadata-token");
        *auth = v == NULL ? "missing" : token_issued(f, v) ? "ok" : "wrong";
        if (v == NULL || !token_issued(f, v)) {
            *status = 401;
            return send_text(conn, 401, "text/plain", strdup("Unauthorized\n"));
        }
        if (role[0] == '\0') {
            *status = 200;
            return send_text(conn, 200, "text/plain", strdup(f->role));
        }
        if (strcmp(role, f->role) != 0) {
            *status = 404;
            return send_text(conn, 404, "text/plain", strdup("Not Found\n"));
        }
        *status = 200;
        return send_json(conn, 200,
                         json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Code", "Success",
                                   "LastUpdated", "2026-01-01T00:00:00Z", "Type", "AWS-HMAC",
                                   "AccessKeyId", f->akid, "SecretAccessKey", f->secret, "Token",
                                   f->token, "Expiration", f->expiration));
    }
    *status = 404;
    return send_text(conn, 404, "text/plain", strdup("Not Found\n"));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct fake *f = cls;
    struct req *r = *con_cls;
    unsigned status = 0;
    const char *auth = NULL;
    enum MHD_Result ret;
    (void)version;
    (void)upload_data;

    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        r->body = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&f->mu);
    ret = respond(f, conn, method, url, r->body, &status, &auth);
    log_request(f, method, url, status, auth);
    pthread_mutex_unlock(&f->mu);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: fake_metadata --port N --akid AKID --secret SECRET --token TOKEN "
                    "--expiration ISO8601 [--role NAME] [--auth-token VALUE] [--log FILE]\n");
}

int main(int argc, char **argv)
{
    static struct fake f;
    const char *log_path = NULL;
    unsigned long port = 0;
    bool have_port = false;

    f.log_fd = -1;
    f.role = "parapet-instance";
    pthread_mutex_init(&f.mu, NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--port") == 0) {
            if (!fake_parse_ulong(v, 0, 65535, &port)) {
                usage();
                return 2;
            }
            have_port = true;
        } else if (strcmp(a, "--akid") == 0) {
            f.akid = v;
        } else if (strcmp(a, "--secret") == 0) {
            f.secret = v;
        } else if (strcmp(a, "--token") == 0) {
            f.token = v;
        } else if (strcmp(a, "--expiration") == 0) {
            f.expiration = v;
        } else if (strcmp(a, "--role") == 0) {
            f.role = v;
        } else if (strcmp(a, "--auth-token") == 0) {
            f.auth_token = v;
        } else if (strcmp(a, "--log") == 0) {
            log_path = v;
        } else {
            usage();
            return 2;
        }
    }
    if (!have_port || f.akid == NULL || f.secret == NULL || f.token == NULL ||
        f.expiration == NULL) {
        usage();
        return 2;
    }
    if (log_path != NULL && (f.log_fd = fake_open_log("fake_metadata", log_path)) < 0)
        return 2;
    struct fake_server srv = {"fake_metadata", port, false, 30, (size_t)64 * 1024, 0, on_request,
                              &f, on_completed, NULL};
    int rc = fake_run(&srv, NULL);
    OPENSSL_cleanse(f.issued, sizeof f.issued);
    if (f.log_fd >= 0)
        close(f.log_fd);
    pthread_mutex_destroy(&f.mu);
    return rc;
}
