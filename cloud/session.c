/* Assumed-role credentials for customers' accounts, cached per (role ARN, external ID) so a scan
 * of hundreds of functions assumes the role once, and renewed before they expire. Parapet's own
 * identity (cloud_creds_default) is cached the same way. One process-wide cache under a mutex;
 * entries are wiped when replaced or evicted. */
#include "cloud/aws.h"

#include "server/log.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 256
#define RENEW_AHEAD_S 300 /* renew credentials that expire within five minutes */
#define SESSION_REGION "us-east-1"

struct slot {
    unsigned char key[SHA256_DIGEST_LENGTH];
    bool used;
    time_t last_used;
    struct cloud_creds creds;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];
static struct cloud_creds own;
static bool own_valid;
static unsigned long assumes; /* AssumeRole calls made, for tests and metrics */

static void slot_key(const char *role_arn, const char *external_id, unsigned char out[32])
{
    size_t a = strlen(role_arn) + 1, b = strlen(external_id) + 1;
    unsigned char buf[4096];

    if (a + b > sizeof buf) { /* longer than any ARN and external ID AWS accepts */
        a = sizeof buf / 2;
        b = sizeof buf / 2;
    }
    memcpy(buf, role_arn, a);
    memcpy(buf + a, external_id, b);
    SHA256(buf, a + b, out);
    OPENSSL_cleanse(buf, a + b);
}

static bool fresh(const struct cloud_creds *c, time_t now)
{
    return c->expires == 0 || c->expires - now > RENEW_AHEAD_S;
}

static enum err_code creds_copy(struct cloud_creds *dst, const struct cloud_creds *src,
                                struct err *err)
{
    *dst = *src;
    dst->session_token = NULL;
    if (src->session_token != NULL) {
        dst->session_token = strdup(src->session_token);
        if (dst->session_token == NULL) {
            cloud_creds_clear(dst);
            return err_set(err, ERR_NOMEM, "out of memory");
        }
    }
    return ERR_OK;
}

/* Parapet's own identity, cached until it is about to expire. Called under cache_mu. */
static enum err_code own_creds(struct cloud_creds *out, struct err *err)
{
    time_t now = time(NULL);

    if (!own_valid || !fresh(&own, now)) {
        char source[16];
        cloud_creds_clear(&own);
        own_valid = false;
        enum err_code rc = cloud_creds_default(&own, source, err);
        if (rc != ERR_OK)
            return rc;
        own_valid = true;
    }
    return creds_copy(out, &own, err);
}

enum err_code cloud_role_creds(const char *role_arn, const char *external_id, bool renew,
                               struct cloud_creds *out, char aws_error[64], struct err *err)
{
    unsigned char key[SHA256_DIGEST_LENGTH];
    struct cloud_creds parapet, fresh_creds;
    time_t now = time(NULL);
    struct slot *victim = NULL;
    char session[64];
    enum err_code rc;

    memset(out, 0, sizeof *out);
    aws_error[0] = '\0';
    slot_key(role_arn, external_id, key);
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &cache[i];
        if (s->used && memcmp(s->key, key, sizeof key) == 0) {
            if (!renew && fresh(&s->creds, now)) {
                s->last_used = now;
                rc = creds_copy(out, &s->creds, err);
                pthread_mutex_unlock(&cache_mu);
                return rc;
            }
            victim = s;
            break;
        }
        if (victim == NULL || !s->used || (victim->used && s->last_used < victim->last_used))
            victim = s;
    }
    rc = own_creds(&parapet, err);
    pthread_mutex_unlock(&cache_mu);
    if (rc != ERR_OK)
        return rc;

    /* Assume outside the lock: other accounts' scans need not wait for this one. */
    snprintf(session, sizeof session, "parapet-scan-%02x%02x%02x%02x", key[0], key[1], key[2],
             key[3]);
    rc = cloud_sts_assume_role(&parapet, SESSION_REGION, role_arn, external_id, session,
                               &fresh_creds, aws_error, err);
    cloud_creds_clear(&parapet);
    if (rc != ERR_OK)
        return rc;
    rc = creds_copy(out, &fresh_creds, err);
    if (rc != ERR_OK) {
        cloud_creds_clear(&fresh_creds);
        return rc;
    }
    pthread_mutex_lock(&cache_mu);
    assumes++;
    /* The victim may have been taken meanwhile; any slot is a cache, never a source of truth. */
    cloud_creds_clear(&victim->creds);
    memcpy(victim->key, key, sizeof key);
    victim->used = true;
    victim->last_used = now;
    victim->creds = fresh_creds;
    pthread_mutex_unlock(&cache_mu);
    return ERR_OK;
}

void cloud_role_forget(const char *role_arn, const char *external_id)
{
    unsigned char key[SHA256_DIGEST_LENGTH];

    slot_key(role_arn, external_id, key);
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].used && memcmp(cache[i].key, key, sizeof key) == 0) {
            cloud_creds_clear(&cache[i].creds);
            cache[i].used = false;
        }
    pthread_mutex_unlock(&cache_mu);
}

unsigned long cloud_role_assume_count(void)
{
    pthread_mutex_lock(&cache_mu);
    unsigned long n = assumes;
    pthread_mutex_unlock(&cache_mu);
    return n;
}

/* ---- a principal backed by the cache ---- */

struct role_ctx {
    char *role_arn;
    char *external_id;
};

static enum err_code role_refresh(struct cloud_principal *p, bool expired, struct err *err)
{
    struct role_ctx *rc = p->ctx;
    struct cloud_creds c;
    char aws_error[64];
    /* About to expire: the cache may already hold renewed ones (another scan renewed them).
     * AWS said expired: assume again whatever the cache holds. */
    enum err_code r = cloud_role_creds(rc->role_arn, rc->external_id, expired, &c, aws_error,
                                       err);

    if (r != ERR_OK) {
        log_event(LOG_WARN, NULL, "aws.renew_failed", "{s:s, s:s}", "role_arn", rc->role_arn,
                  "aws_error", aws_error);
        return r;
    }
    cloud_creds_clear(&p->creds);
    p->creds = c;
    return ERR_OK;
}

enum err_code cloud_role_principal(const char *role_arn, const char *external_id,
                                   struct cloud_principal *p, char aws_error[64],
                                   struct err *err)
{
    struct role_ctx *ctx = calloc(1, sizeof *ctx);
    enum err_code rc;

    memset(p, 0, sizeof *p);
    aws_error[0] = '\0';
    if (ctx == NULL || (ctx->role_arn = strdup(role_arn)) == NULL ||
        (ctx->external_id = strdup(external_id)) == NULL) {
        if (ctx != NULL)
            free(ctx->role_arn);
        free(ctx);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    rc = cloud_role_creds(role_arn, external_id, false, &p->creds, aws_error, err);
    if (rc != ERR_OK) {
        free(ctx->role_arn);
        free(ctx->external_id);
        free(ctx);
        return rc;
    }
    p->ctx = ctx;
    p->refresh = role_refresh;
    return ERR_OK;
}

void cloud_principal_clear(struct cloud_principal *p)
{
    if (p == NULL)
        return;
    if (p->refresh == role_refresh && p->ctx != NULL) {
        struct role_ctx *ctx = p->ctx;
        free(ctx->role_arn);
        OPENSSL_cleanse(ctx->external_id, strlen(ctx->external_id));
        free(ctx->external_id);
        free(ctx);
    }
    cloud_creds_clear(&p->creds);
    memset(p, 0, sizeof *p);
}
