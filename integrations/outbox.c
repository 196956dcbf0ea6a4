/* The delivery worker: dispatches the event outbox into deliveries and sends them with libcurl
 * multi (see intg.h for the whole flow). */
#include "integrations/outbox.h"

#include "integrations/intg.h"
#include "server/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_CAP (64 * 1024)
#define SPLUNK_BATCH 100
#define TENANTS_PER_ROUND 64
#define DISPATCH_BATCH 1000
#define STOP_GRACE_MS 5000

void outbox_msg_init(struct sink_msg *m, const struct config *cfg, const char *event,
                     const char *subject_id, const char *severity, const json_t *payload,
                     long long event_id, double created_at, const char *tenant_id,
                     const char *integration_id, const json_t *config, const char *issue_key)
{
    memset(m, 0, sizeof *m);
    m->event = event;
    m->subject_id = subject_id;
    m->severity = severity;
    m->payload = payload;
    m->event_id = event_id;
    m->created_at = created_at;
    m->tenant_id = tenant_id;
    m->integration_id = integration_id;
    m->config = config;
    m->dashboard = cfg->dashboard_url != NULL ? cfg->dashboard_url : "https://app.parapet.dev";
    m->issue_key = issue_key != NULL && issue_key[0] != '\0' ? issue_key : NULL;
}

void outbox_net_request(const struct config *cfg, const struct sink_req *r,
                        const char *headers[SINK_MAX_HEADERS + 1], struct net_request *out)
{
    unsigned i;

    for (i = 0; i < r->nheaders && i < SINK_MAX_HEADERS; i++)
        headers[i] = r->headers[i];
    headers[i] = NULL;
    memset(out, 0, sizeof *out);
    out->method = r->method;
    out->url = r->url;
    out->headers = headers;
    out->body = r->body;
    out->body_len = r->body_len;
    out->timeout_ms = cfg->notify_timeout_ms;
    out->max_response = RESPONSE_CAP;
    out->guard = true;
}

enum err_code outbox_send_blocking(const struct config *cfg, const struct sink_req *r,
                                   struct net_response *resp, struct err *err)
{
    const char *headers[SINK_MAX_HEADERS + 1];
    struct net_request nr;

    outbox_net_request(cfg, r, headers, &nr);
    return net_do(&nr, resp, err);
}

void outbox_scrub(char *text, const json_t *secrets)
{
    static const char mark[] = "[redacted]";
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)(uintptr_t)secrets, k, v)
    {
        const char *s = json_string_value(v);
        size_t sl = s ? strlen(s) : 0;
        char *hit;
        if (sl < 4)
            continue;
        while ((hit = strstr(text, s)) != NULL) {
            size_t ml = sl < sizeof mark - 1 ? sl : sizeof mark - 1;
            memcpy(hit, mark, ml);
            memmove(hit + ml, hit + sl, strlen(hit + sl) + 1);
        }
    }
}

/* ---- the worker ---- */

struct item {
    struct db_delivery d; /* owns its strings */
    char tenant_id[DB_ID_LEN];
    const struct sink_ops *ops;
    json_t *payload, *secrets, *full;
    struct sink_msg msg;
    struct sink_state st;
};

/* One request in flight: one delivery, or a batch for a batching sink. */
struct flight {
    struct item **items;
    size_t n;
    struct flight *prev, *next;
};

/* Outcomes waiting to be recorded, per tenant. */
struct batch {
    char tenant_id[DB_ID_LEN];
    json_t *results;  /* [{id, status, http, error, delay_s, uncount}] */
    json_t *remember; /* [{integration_id, subject_id, issue_key}] */
};

/* Each destination has a window of deliveries it may have in flight, as TCP does: a new one
 * starts at WINDOW_FIRST, each delivery doubles it up to the per-destination cap, and a request
 * that fails in transport (timed out, refused) closes it to 1, a probe. A destination that hangs
 * therefore holds a few slots until its first timeout and one after, not the share the healthy
 * ones need. */
#define WINDOW_FIRST 4

struct per_integration {
    char id[DB_ID_LEN];
    char tenant_id[DB_ID_LEN];
    unsigned n;      /* deliveries in flight */
    unsigned window; /* 0: not known yet (WINDOW_FIRST) */
};

struct intg_worker {
    const struct config *cfg;
    struct db_pool *db;
    char name[128];
    pthread_t tid;
    atomic_bool stop;
    struct net_multi *m;
    struct flight *flights; /* in flight */
    unsigned inflight;      /* deliveries in flight */
    struct per_integration *per;
    size_t nper, capper;
    struct batch *batches;
    size_t nbatches, capbatches;
    uint64_t rng;
    char tenants[TENANTS_PER_ROUND][DB_ID_LEN];
    unsigned ntenants;     /* found at tenants_at */
    long long tenants_at;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double rand01(struct intg_worker *w)
{
    /* xorshift64*: jitter only, not security. */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return (double)((w->rng * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static struct per_integration *per_get(struct intg_worker *w, const char *id)
{
    for (size_t i = 0; i < w->nper; i++)
        if (strcmp(w->per[i].id, id) == 0)
            return &w->per[i];
    if (w->nper == w->capper) {
        size_t nc = w->capper ? w->capper * 2 : 16;
        struct per_integration *np = realloc(w->per, nc * sizeof *np);
        if (np == NULL)
            return NULL;
        w->per = np;
        w->capper = nc;
    }
    memset(&w->per[w->nper], 0, sizeof w->per[0]);
    snprintf(w->per[w->nper].id, DB_ID_LEN, "%s", id);
    return &w->per[w->nper++];
}

static struct batch *batch_get(struct intg_worker *w, const char *tenant_id)
{
    for (size_t i = 0; i < w->nbatches; i++)
        if (strcmp(w->batches[i].tenant_id, tenant_id) == 0)
            return &w->batches[i];
    if (w->nbatches == w->capbatches) {
        size_t nc = w->capbatches ? w->capbatches * 2 : 8;
        struct batch *nb = realloc(w->batches, nc * sizeof *nb);
        if (nb == NULL)
            return NULL;
        w->batches = nb;
        w->capbatches = nc;
    }
    struct batch *b = &w->batches[w->nbatches];
    snprintf(b->tenant_id, DB_ID_LEN, "%s", tenant_id);
    b->results = json_array();
    b->remember = json_array();
    if (b->results == NULL || b->remember == NULL) {
        json_decref(b->results);
        json_decref(b->remember);
        return NULL;
    }
    w->nbatches++;
    return b;
}

static void item_free(struct item *it)
{
    if (it == NULL)
        return;
    free(it->d.config);
    free(it->d.secrets_hex);
    free(it->d.payload);
    json_decref(it->payload);
    json_decref(it->secrets);
    json_decref(it->full);
    free(it);
}

/* Records an item's outcome for the next flush and lets it go. status: delivered | pending |
 * dead. */
static void finish(struct intg_worker *w, struct item *it, const char *status, long http,
                   const char *error, double delay_s, bool uncount)
{
    struct batch *b = batch_get(w, it->tenant_id);
    struct per_integration *p = per_get(w, it->d.integration_id);
    char why[600];

    snprintf(why, sizeof why, "%s", error ? error : "");
    if (it->secrets != NULL)
        outbox_scrub(why, it->secrets);
    if (b != NULL) {
        json_array_append_new(
            b->results, json_pack("{s:I, s:s, s:o, s:o, s:f, s:b}", "id", (json_int_t)it->d.id,
                                  "status", status, "http", http > 0 ? json_integer(http)
                                                                     : json_null(),
                                  "error", error ? json_string(why) : json_null(), "delay_s",
                                  delay_s, "uncount", uncount));
        if (it->st.remember)
            json_array_append_new(b->remember,
                                  json_pack("{s:s, s:s, s:s}", "integration_id",
                                            it->d.integration_id, "subject_id", it->d.subject_id,
                                            "issue_key", it->st.issue_key));
    } else {
        log_event(LOG_ERROR, NULL, "notify.outcome_lost", "{s:I}", "delivery_id",
                  (json_int_t)it->d.id);
    }
    if (strcmp(status, "delivered") == 0)
        log_event(LOG_DEBUG, NULL, "notify.delivered", "{s:I, s:s, s:s, s:i}", "delivery_id",
                  (json_int_t)it->d.id, "integration_id", it->d.integration_id, "sink",
                  it->d.kind, "attempt", it->d.attempts);
    else if (!uncount)
        log_event(LOG_WARN, NULL, strcmp(status, "dead") == 0 ? "notify.dead" : "notify.retry",
                  "{s:s, s:I, s:s, s:s, s:i, s:i, s:s, s:f}", "tenant_id", it->tenant_id,
                  "delivery_id", (json_int_t)it->d.id, "integration_id", it->d.integration_id,
                  "sink", it->d.kind, "attempt", it->d.attempts, "status", (int)http, "error", why,
                  "retry_in_s", delay_s);
    if (p != NULL && p->n > 0)
        p->n--;
    if (w->inflight > 0)
        w->inflight--;
    item_free(it);
}

/* A failed attempt: retried after back-off (or Retry-After) until the attempts run out. */
static void fail(struct intg_worker *w, struct item *it, bool permanent, long http,
                 const char *why, long retry_after_s)
{
    const struct config *cfg = w->cfg;
    char msg[600];

    if (permanent) {
        finish(w, it, "dead", http, why, 0, false);
        return;
    }
    if ((unsigned)it->d.attempts >= cfg->notify_max_attempts) {
        snprintf(msg, sizeof msg, "gave up after %d attempts: %s", it->d.attempts, why);
        finish(w, it, "dead", http, msg, 0, false);
        return;
    }
    long long ms = intg_backoff_ms((unsigned)it->d.attempts, cfg->notify_retry_base_ms,
                                   cfg->notify_retry_cap_s,
                                   (http == 429 || http == 503) ? retry_after_s : -1, rand01(w));
    finish(w, it, "pending", http, why, (double)ms / 1000.0, false);
}

/* Formats the flight's current step and starts it; on failure its items are finished. */
static void launch(struct intg_worker *w, struct flight *f)
{
    struct sink_req req;
    struct net_request nr;
    const char *headers[SINK_MAX_HEADERS + 1];
    struct err err;
    enum err_code rc = ERR_OK;
    char *body = NULL;
    size_t blen = 0;

    memset(&req, 0, sizeof req);
    err_clear(&err);
    /* Each item's body; a batch concatenates them, one envelope per line. */
    for (size_t i = 0; i < f->n && rc == ERR_OK; i++) {
        struct sink_req one;
        memset(&one, 0, sizeof one);
        rc = f->items[i]->ops->format(&f->items[i]->msg, &f->items[i]->st, &one, &err);
        if (rc == ERR_OK && i == 0)
            req = one;
        if (rc == ERR_OK && one.body != NULL) {
            char *nb = realloc(body, blen + one.body_len + 2);
            if (nb == NULL) {
                rc = err_set(&err, ERR_NOMEM, "out of memory");
            } else {
                body = nb;
                memcpy(body + blen, one.body, one.body_len);
                blen += one.body_len;
                if (f->n > 1)
                    body[blen++] = '\n';
                body[blen] = '\0';
            }
        }
        if (i > 0)
            sink_req_clear(&one);
    }
    if (rc == ERR_OK && req.method == NULL) {
        /* Nothing to send (e.g. JIRA: a resolution for an incident that never got an issue). */
        for (size_t i = 0; i < f->n; i++)
            finish(w, f->items[i], "delivered", 0, "nothing to do at the destination", 0, false);
        goto done;
    }
    if (rc == ERR_OK) {
        sink_req_clear(&req); /* its body is in body */
        req.body = body;
        req.body_len = blen;
        body = NULL;
        outbox_net_request(w->cfg, &req, headers, &nr);
        rc = net_multi_add(w->m, &nr, f, &err);
    }
    if (rc == ERR_OK) {
        sink_req_clear(&req);
        f->prev = NULL;
        f->next = w->flights;
        if (w->flights != NULL)
            w->flights->prev = f;
        w->flights = f;
        return;
    }
    for (size_t i = 0; i < f->n; i++) {
        if (rc == ERR_INVALID)
            finish(w, f->items[i], "dead", 0, err.detail, 0, false);
        else
            fail(w, f->items[i], false, 0, err.detail, -1);
    }
done:
    sink_req_clear(&req);
    free(body);
    free(f->items);
    free(f);
}

static void unlink_flight(struct intg_worker *w, struct flight *f)
{
    if (f->prev != NULL)
        f->prev->next = f->next;
    else
        w->flights = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

/* Turns a claimed delivery into an item ready to format; NULL when it was finished at once. */
static struct item *prepare(struct intg_worker *w, const char *tenant_id, struct db_delivery *d)
{
    struct item *it = calloc(1, sizeof *it);
    json_t *redacted = NULL;
    struct err err;
    enum err_code rc;

    if (it == NULL)
        return NULL;
    it->d = *d;
    memset(d, 0, sizeof *d); /* the item owns the strings now */
    snprintf(it->tenant_id, sizeof it->tenant_id, "%s", tenant_id);
    w->inflight++;
    struct per_integration *p = per_get(w, it->d.integration_id);
    if (p != NULL) {
        p->n++;
        snprintf(p->tenant_id, sizeof p->tenant_id, "%s", tenant_id);
    }
    it->ops = sink_find(it->d.kind);
    if (it->ops == NULL) {
        finish(w, it, "dead", 0, "unknown integration kind", 0, false);
        return NULL;
    }
    err_clear(&err);
    rc = intg_open(w->cfg, tenant_id, it->d.integration_id, it->d.secrets_hex, &it->secrets, &err);
    if (rc != ERR_OK) {
        /* A missing key is the operator's to fix: keep retrying; a record that does not open
         * never will. */
        fail(w, it, rc != ERR_UNAVAILABLE, 0, err.detail, -1);
        return NULL;
    }
    redacted = json_loads(it->d.config, 0, NULL);
    it->payload = json_loads(it->d.payload, 0, NULL);
    it->full = intg_config_full(redacted, it->secrets);
    json_decref(redacted);
    if (it->full == NULL || it->payload == NULL) {
        fail(w, it, false, 0, "out of memory", -1);
        return NULL;
    }
    outbox_msg_init(&it->msg, w->cfg, it->d.event, it->d.subject_id, it->d.severity, it->payload,
                    it->d.event_id, it->d.created_at, it->tenant_id, it->d.integration_id,
                    it->full, it->d.issue_key);
    return it;
}

/* Starts the claimed deliveries: batching sinks one request per integration, others one each. */
static void start(struct intg_worker *w, const char *tenant_id, struct db_delivery *d, size_t n)
{
    struct item **items = calloc(n, sizeof *items);

    if (items == NULL) {
        log_event(LOG_ERROR, NULL, "notify.oom", NULL);
        return; /* their leases run out and they are claimed again */
    }
    for (size_t i = 0; i < n; i++)
        items[i] = prepare(w, tenant_id, &d[i]);
    for (size_t i = 0; i < n; i++) {
        struct flight *f;
        size_t k = 0;
        if (items[i] == NULL)
            continue;
        f = calloc(1, sizeof *f);
        if (f != NULL)
            f->items = calloc(items[i]->ops->batch ? n : 1, sizeof *f->items);
        if (f == NULL || f->items == NULL) {
            free(f);
            fail(w, items[i], false, 0, "out of memory", -1);
            items[i] = NULL;
            continue;
        }
        f->items[k++] = items[i];
        if (items[i]->ops->batch) {
            for (size_t j = i + 1; j < n; j++) {
                if (items[j] != NULL &&
                    strcmp(items[j]->d.integration_id, items[i]->d.integration_id) == 0) {
                    f->items[k++] = items[j];
                    items[j] = NULL;
                }
            }
        }
        items[i] = NULL;
        f->n = k;
        launch(w, f);
    }
    free(items);
}

/* Judges finished requests: outcomes, or the next step of a multi-step delivery. */
static void collect(struct intg_worker *w)
{
    void *user;
    struct net_response resp;
    enum err_code rc;
    struct err err;

    err_clear(&err);
    while (net_multi_done(w->m, &user, &resp, &rc, &err)) {
        struct flight *f = user;
        struct item *it0 = f->items[0];
        enum sink_result sr;
        char why[512] = "";

        unlink_flight(w, f);
        if (rc != ERR_OK) {
            struct per_integration *p = per_get(w, it0->d.integration_id);
            if (p != NULL)
                p->window = 1;
            for (size_t i = 0; i < f->n; i++)
                fail(w, f->items[i], resp.refused, 0, err.detail, -1);
            goto next;
        }
        sr = it0->ops->parse(&it0->msg, &it0->st, resp.status, resp.body, resp.body_len, why,
                             sizeof why);
        if (sr == SINK_NEXT && f->n == 1) {
            net_response_free(&resp);
            launch(w, f);
            continue;
        }
        if (sr == SINK_DELIVERED) {
            struct per_integration *p = per_get(w, it0->d.integration_id);
            if (p != NULL)
                p->window = 2 * (p->window ? p->window : WINDOW_FIRST);
        }
        for (size_t i = 0; i < f->n; i++) {
            if (sr == SINK_DELIVERED)
                finish(w, f->items[i], "delivered", resp.status, NULL, 0, false);
            else
                fail(w, f->items[i], sr == SINK_REJECTED, resp.status, why, resp.retry_after_s);
        }
    next:
        net_response_free(&resp);
        free(f->items);
        free(f);
        err_clear(&err);
    }
}

/* Records the outcomes gathered so far, one transaction per tenant; a batch that cannot be
 * recorded now (database down) is kept for the next try. */
static void flush(struct intg_worker *w)
{
    size_t keep = 0;

    for (size_t i = 0; i < w->nbatches; i++) {
        struct batch *b = &w->batches[i];
        struct db_tx *tx = NULL;
        struct err err;
        enum err_code rc = ERR_OK;
        char *text = NULL;
        size_t k;
        json_t *r;

        if (json_array_size(b->results) == 0 && json_array_size(b->remember) == 0) {
            json_decref(b->results);
            json_decref(b->remember);
            continue;
        }
        rc = db_tx_tenant(w->db, b->tenant_id, &tx, &err);
        json_array_foreach(b->remember, k, r)
        {
            if (rc != ERR_OK)
                break;
            rc = db_jira_remember(tx, json_string_value(json_object_get(r, "integration_id")),
                                  json_string_value(json_object_get(r, "subject_id")),
                                  json_string_value(json_object_get(r, "issue_key")), &err);
        }
        if (rc == ERR_OK && json_array_size(b->results) > 0) {
            text = json_dumps(b->results, JSON_COMPACT);
            rc = text != NULL ? db_notify_record(tx, w->name, text, NULL, &err)
                              : err_set(&err, ERR_NOMEM, "out of memory");
        }
        if (rc == ERR_OK) {
            rc = db_tx_commit(tx, &err);
            tx = NULL;
        }
        db_tx_rollback(tx);
        free(text);
        if (rc == ERR_OK) {
            json_decref(b->results);
            json_decref(b->remember);
            continue;
        }
        log_event(LOG_WARN, NULL, "notify.record_failed", "{s:s, s:s}", "tenant_id",
                  b->tenant_id, "error", err.detail);
        w->batches[keep++] = *b;
    }
    w->nbatches = keep;
}

/* Appends id (with a comma after the first) to a uuid[] or int[] literal being built in
 * out[size] at *o; false when it does not fit. */
static bool literal_add(char *out, size_t size, size_t *o, const char *item)
{
    size_t len = strlen(item);
    if (*o + len + 3 >= size)
        return false;
    if (*o > 1)
        out[(*o)++] = ',';
    memcpy(out + *o, item, len);
    *o += len;
    return true;
}

/* As array literals, for the tenant's integrations: those whose window is full (excluded from
 * the claim), and for the others what is left of their window (ids[k] may take limits[k]
 * more). A tenant has a handful of integrations: the buffers hold far more. */
static void windows(struct intg_worker *w, const char *tenant_id, unsigned cap, char *excl,
                    size_t en, char *ids, char *limits, size_t ln)
{
    size_t e = 1, a = 1, b = 1;

    excl[0] = ids[0] = limits[0] = '{';
    for (size_t i = 0; i < w->nper; i++) {
        struct per_integration *p = &w->per[i];
        unsigned win = p->window ? p->window : WINDOW_FIRST;
        char num[16];
        if (strcmp(p->tenant_id, tenant_id) != 0)
            continue;
        if (win > cap)
            win = p->window = cap;
        if (p->n >= win) {
            literal_add(excl, en, &e, p->id);
            continue;
        }
        snprintf(num, sizeof num, "%u", win - p->n);
        if (a + DB_ID_LEN + 3 < ln && b + sizeof num + 3 < ln / 4) {
            literal_add(ids, ln, &a, p->id);
            literal_add(limits, ln, &b, num);
        }
    }
    excl[e++] = '}';
    excl[e] = '\0';
    ids[a++] = '}';
    ids[a] = '\0';
    limits[b++] = '}';
    limits[b] = '\0';
}

/* One pass over the tenants with work; true when it found any. */
static bool round_once(struct intg_worker *w)
{
    char (*tenants)[DB_ID_LEN] = w->tenants;
    const struct config *cfg = w->cfg;
    unsigned ntenants = 0;
    unsigned per_cap = cfg->notify_concurrency / 2 > 2 ? cfg->notify_concurrency / 2 : 2;
    unsigned lease = 3 * (cfg->notify_timeout_ms / 1000 + 1) + 5;
    struct db_tx *tx = NULL;
    struct err err;
    bool worked = false;
    char exclude[4096], ids[4096], limits[1024];
    _Static_assert(sizeof limits == sizeof ids / 4, "windows() sizes limits as ids / 4");

    /* While busy the tenants found last time are served again; the list is refreshed once per
     * poll period (finding them scans every tenant's queue). */
    if (w->ntenants == 0 || now_ms() - w->tenants_at >= (long long)cfg->notify_poll_ms) {
        w->ntenants = 0;
        if (db_tx_system(w->db, &tx, &err) != ERR_OK)
            return false;
        if (db_notify_tenants(tx, TENANTS_PER_ROUND, tenants, &w->ntenants, &err) != ERR_OK)
            w->ntenants = 0;
        db_tx_rollback(tx);
        tx = NULL;
        w->tenants_at = now_ms();
    }
    ntenants = w->ntenants;
    for (unsigned t = 0; t < ntenants && !atomic_load(&w->stop); t++) {
        long long events = 0, made = 0;
        struct db_delivery *d = NULL;
        size_t n = 0;
        unsigned free_slots;
        enum err_code rc = db_tx_tenant(w->db, tenants[t], &tx, &err);

        /* Dispatch and claim in one transaction: a round costs one commit per tenant. */
        if (rc == ERR_OK)
            rc = db_notify_dispatch(tx, DISPATCH_BATCH, &events, &made, &err);
        if (rc == ERR_OK && events > 0) {
            worked = true;
            log_event(LOG_DEBUG, NULL, "notify.dispatched", "{s:s, s:I, s:I}", "tenant_id",
                      tenants[t], "events", (json_int_t)events, "deliveries", (json_int_t)made);
        }
        free_slots = cfg->notify_concurrency > w->inflight ? cfg->notify_concurrency - w->inflight
                                                           : 0;
        if (rc == ERR_OK && free_slots > 0) {
            struct db_claim_windows win = {ids, limits, WINDOW_FIRST};
            windows(w, tenants[t], per_cap, exclude, sizeof exclude, ids, limits, sizeof ids);
            rc = db_notify_claim(tx, w->name, lease, per_cap,
                                 SPLUNK_BATCH < free_slots ? SPLUNK_BATCH : free_slots, exclude,
                                 &win, free_slots, &d, &n, &err);
        }
        if (rc == ERR_OK) {
            rc = db_tx_commit(tx, &err);
            tx = NULL;
        }
        db_tx_rollback(tx);
        tx = NULL;
        if (rc == ERR_OK && n > 0) {
            worked = true;
            start(w, tenants[t], d, n);
        }
        db_deliveries_free(d, n);
    }
    return worked;
}

/* Gives back what is still in flight at shutdown: pending again, the attempt not counted. */
static void release_all(struct intg_worker *w)
{
    while (w->flights != NULL) {
        struct flight *f = w->flights;
        unlink_flight(w, f);
        for (size_t i = 0; i < f->n; i++)
            finish(w, f->items[i], "pending", 0, "interrupted by shutdown", 0, true);
        free(f->items);
        free(f);
    }
}

static void *worker_main(void *arg)
{
    struct intg_worker *w = arg;
    long long next_poll = 0, stop_deadline = 0;

    for (;;) {
        long long now = now_ms();
        int wait;

        if (atomic_load(&w->stop)) {
            if (stop_deadline == 0)
                stop_deadline = now + STOP_GRACE_MS;
            if (w->flights == NULL || now >= stop_deadline)
                break;
        } else if (now >= next_poll) {
            bool worked = w->inflight < w->cfg->notify_concurrency && round_once(w);
            next_poll = worked ? now : now + w->cfg->notify_poll_ms;
            if (w->inflight >= w->cfg->notify_concurrency)
                next_poll = now; /* claim again as soon as a slot frees */
        }
        now = now_ms();
        wait = next_poll > now ? (int)(next_poll - now) : 0;
        if (w->flights != NULL && wait > 20)
            wait = 20;
        net_multi_run(w->m, wait);
        {
            unsigned before = w->inflight;
            collect(w);
            /* Slots freed: claim again now rather than after the idle poll period. */
            if (w->inflight < before && !atomic_load(&w->stop))
                next_poll = now_ms();
        }
        flush(w);
    }
    release_all(w);
    flush(w);
    for (size_t i = 0; i < w->nbatches; i++) {
        json_decref(w->batches[i].results);
        json_decref(w->batches[i].remember);
    }
    w->nbatches = 0;
    return NULL;
}

enum err_code intg_worker_start(const struct config *cfg, struct db_pool *db,
                                const char *instance, struct intg_worker **out, struct err *err)
{
    struct intg_worker *w = calloc(1, sizeof *w);

    *out = NULL;
    if (w == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    w->cfg = cfg;
    w->db = db;
    snprintf(w->name, sizeof w->name, "%s/notify", instance);
    w->rng = ((uint64_t)now_ms() * UINT64_C(6364136223846793005)) ^ (uint64_t)getpid() ^
             UINT64_C(0x9E3779B97F4A7C15);
    w->m = net_multi_new();
    if (w->m == NULL) {
        free(w);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
        net_multi_free(w->m);
        free(w);
        return err_set(err, ERR_INTERNAL, "cannot start the notification thread");
    }
    *out = w;
    return ERR_OK;
}

void intg_worker_stop(struct intg_worker *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    net_multi_wakeup(w->m);
    pthread_join(w->tid, NULL);
    net_multi_free(w->m);
    free(w->per);
    free(w->batches);
    free(w);
}
