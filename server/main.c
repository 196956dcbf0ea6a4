/* parapet - the process: reads the configuration, migrates, serves HTTP and runs workers, and
 * stops cleanly on SIGINT or SIGTERM. */
#include "api/api.h"
#include "auth/jwt.h"
#include "db/db.h"
#include "integrations/intg.h"
#include "net/net.h"
#include "server/config.h"
#include "server/http.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef PARAPET_VERSION
#define PARAPET_VERSION "0.0.0-dev"
#endif

#define DRAIN_MS 8000

enum role { ROLE_ALL, ROLE_API, ROLE_WORKER };

static void usage(FILE *out)
{
    fputs("usage: parapet serve [--role all|api|worker]\n"
          "       parapet migrate\n"
          "       parapet version\n"
          "Configuration is read from the environment; see README.md.\n",
          out);
}

static double since_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int load_config(struct config *cfg)
{
    unsigned bad = config_load(cfg, true, stderr);
    if (bad > 0) {
        fprintf(stderr, "parapet: %u configuration problem(s); see above\n", bad);
        config_free(cfg);
        return 2;
    }
    log_set_level((enum log_level)cfg->log_level);
    return 0;
}

static int cmd_migrate(void)
{
    struct config cfg;
    struct err err;
    unsigned applied = 0;
    int status;

    if ((status = load_config(&cfg)) != 0)
        return status;
    if (db_migrate(cfg.database_owner_url, &applied, &err) != ERR_OK) {
        fprintf(stderr, "parapet: migrate: %s\n", err.detail);
        config_free(&cfg);
        return 1;
    }
    log_event(LOG_INFO, NULL, "db.migrations_done", "{s:i, s:i}", "applied", (int)applied,
              "schema_version", db_migrations_latest());
    config_free(&cfg);
    return 0;
}

/* When the database is down at start-up the server still starts (and answers 503); this
 * thread keeps trying to migrate until it succeeds or the process stops. */
struct migrate_retry {
    const char *url;
    volatile sig_atomic_t stop;
};

static void *migrate_retry_main(void *arg)
{
    struct migrate_retry *m = arg;
    while (!m->stop) {
        struct err err;
        struct timespec ts = {1, 0};
        if (db_migrate(m->url, NULL, &err) == ERR_OK) {
            log_event(LOG_INFO, NULL, "db.migrations_done", "{s:i}", "schema_version",
                      db_migrations_latest());
            return NULL;
        }
        if (err.code != ERR_UNAVAILABLE) {
            log_event(LOG_ERROR, NULL, "db.migrate_failed", "{s:s}", "detail", err.detail);
            return NULL;
        }
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void instance_name(char *out, size_t n)
{
    char host[64] = "host";
    unsigned nonce;
    struct timespec ts;

    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    nonce = (unsigned)(ts.tv_nsec ^ (long)getpid()) & 0xffffu;
    snprintf(out, n, "%s:%ld:%04x", host, (long)getpid(), nonce);
}

static int cmd_serve(enum role role)
{
    struct config cfg;
    struct err err;
    struct timespec t0;
    struct db_pool *db = NULL;
    struct http_server *http = NULL;
    struct worker_pool *workers = NULL;
    struct intg_worker *notify = NULL;
    struct api_app app = {0};
    struct migrate_retry retry = {0};
    pthread_t retry_tid;
    bool retrying = false;
    sigset_t set;
    int sig = 0;
    int status;
    char instance[96];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Block the stop signals in every thread; the main thread waits for them with sigwait. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    net_init(); /* before any thread */

    if ((status = load_config(&cfg)) != 0)
        return status;
    if (role == ROLE_API)
        cfg.workers = 0;
    instance_name(instance, sizeof instance);
    net_egress_allow(cfg.egress_allow, cfg.egress_allow_count);

    if (cfg.migrate_on_start && db_migrate(cfg.database_owner_url, NULL, &err) != ERR_OK) {
        if (err.code != ERR_UNAVAILABLE) {
            fprintf(stderr, "parapet: migrate: %s\n", err.detail);
            config_free(&cfg);
            return 1;
        }
        log_event(LOG_WARN, NULL, "db.unavailable_at_start", "{s:s}", "detail",
                  "serving 503 until the database is reachable");
        retry.url = cfg.database_owner_url;
        retrying = pthread_create(&retry_tid, NULL, migrate_retry_main, &retry) == 0;
    }

    status = 1;
    if (metrics_init(api_routes_count) != 0)
        goto out;
    db = db_pool_new(cfg.database_url,
                     (role == ROLE_WORKER ? 0 : cfg.http_threads) + cfg.workers + 1 +
                         (role == ROLE_API ? 0 : 1) /* notifications */ + cfg.db_pool_extra);
    if (db == NULL)
        goto out;
    app = (struct api_app){.db = db, .cfg = &cfg, .version = PARAPET_VERSION};
    if (role != ROLE_WORKER) {
        if (cfg.jwt_key == NULL) {
            fprintf(stderr, "parapet: PARAPET_JWT_KEY: required to serve the API (a PEM EC P-256 "
                            "private key, or its path)\n");
            status = 2;
            goto out;
        }
        if (jwt_keyring_load(cfg.jwt_key, &app.jwt, &err) != ERR_OK) {
            fprintf(stderr, "parapet: PARAPET_JWT_KEY: %s\n", err.detail);
            status = 2;
            goto out;
        }
        /* Key rotation: tokens signed by the previous key stay valid until they expire. */
        if (cfg.jwt_key_previous != NULL &&
            jwt_keyring_add_verify_key(app.jwt, cfg.jwt_key_previous, &err) != ERR_OK) {
            fprintf(stderr, "parapet: PARAPET_JWT_KEY_PREVIOUS: %s\n", err.detail);
            status = 2;
            goto out;
        }
    }
    if (role != ROLE_WORKER && http_start(&cfg, &app, &http, &err) != ERR_OK) {
        fprintf(stderr, "parapet: %s\n", err.detail);
        goto out;
    }
    if (role != ROLE_API && worker_start(&cfg, db, instance, &workers, &err) != ERR_OK) {
        fprintf(stderr, "parapet: %s\n", err.detail);
        goto out;
    }
    /* Notifications leave from their own thread (libcurl multi), not from a job. */
    if (role != ROLE_API && intg_worker_start(&cfg, db, instance, &notify, &err) != ERR_OK) {
        fprintf(stderr, "parapet: %s\n", err.detail);
        goto out;
    }
    log_event(LOG_INFO, NULL, "server.started", "{s:s, s:s, s:s, s:i, s:i, s:i, s:f}",
              "version", PARAPET_VERSION, "instance", instance, "role",
              role == ROLE_ALL ? "all" : role == ROLE_API ? "api" : "worker", "port",
              http ? (int)http_port(http) : 0, "http_threads", (int)cfg.http_threads, "workers",
              (int)cfg.workers, "startup_ms", since_ms(&t0));

    sigwait(&set, &sig);
    log_event(LOG_INFO, NULL, "server.stopping", "{s:s}", "signal",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
    status = 0;
    if (http != NULL) {
        unsigned left = http_stop(http, DRAIN_MS);
        http = NULL;
        if (left > 0)
            log_event(LOG_WARN, NULL, "server.drain_timeout", "{s:i}", "in_flight", (int)left);
    }
out:
    http_stop(http, 0);
    intg_worker_stop(notify);
    worker_stop(workers);
    if (retrying) {
        retry.stop = 1;
        pthread_join(retry_tid, NULL);
    }
    db_pool_free(db);
    jwt_keyring_free(app.jwt);
    metrics_free();
    if (status == 0)
        log_event(LOG_INFO, NULL, "server.stopped", NULL);
    config_free(&cfg);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("parapet %s\n", PARAPET_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "migrate") == 0 && argc == 2)
        return cmd_migrate();
    if (strcmp(argv[1], "serve") == 0) {
        enum role role = ROLE_ALL;
        if (argc == 4 && strcmp(argv[2], "--role") == 0) {
            if (strcmp(argv[3], "all") == 0) {
                role = ROLE_ALL;
            } else if (strcmp(argv[3], "api") == 0) {
                role = ROLE_API;
            } else if (strcmp(argv[3], "worker") == 0) {
                role = ROLE_WORKER;
            } else {
                fprintf(stderr, "parapet: --role: expected all, api or worker, got '%s'\n",
                        argv[3]);
                return 2;
            }
        } else if (argc != 2) {
            usage(stderr);
            return 2;
        }
        return cmd_serve(role);
    }
    usage(stderr);
    return 2;
}
