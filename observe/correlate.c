/* Correlation: folds a tenant's new signals into incidents.
 *
 * - Repeats of one attack (same class and payload shape against the same function or route,
 *   the repeat key) within a sliding window (CORR_WINDOW_MS after the incident's last signal;
 *   a day for CloudTrail stories) join one incident whose counters grow.
 * - Signals sharing a link key - trace id (else request id), principal, access key - join the
 *   incident that key already belongs to: one story across functions and resources.
 * - Weak signals (reconnaissance, single denials) never open an incident alone: they join by
 *   key, are attached after the fact when a strong signal of the same principal or access key
 *   opens one, and a burst of them (BURSTS) opens one.
 * - Severity is the highest of the signals' plus one level for each of: 100 attempts, 1,000
 *   attempts, 100 distinct sources, a story that reaches execution or exfiltration after the
 *   initial attack, an open high or critical posture finding on an affected function. It never
 *   goes down by itself.
 *
 * Signals are read in order of the transaction that wrote them, up to the oldest transaction
 * still running (so a late commit is never skipped), in batches; memory holds one batch and the
 * incidents it touches. Everything runs in the caller's transaction, with the outbox events. */
#include "observe/observe.h"

#include "db/db.h"
#include "server/sbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORR_BATCH 20000
#define CORR_WINDOW_MS (3600LL * 1000)        /* payload and in-function stories */
#define CORR_CLOUD_WINDOW_MS (86400LL * 1000) /* CloudTrail chains */

enum phase {
    PH_INITIAL = 1,   /* payload attacks */
    PH_EXECUTION = 2, /* in-function exec, egress, writes */
    PH_RECON = 4,
    PH_CHANGE = 8,    /* cloud changes: escalation, exposure, persistence */
    PH_EVASION = 16,
};

static const struct {
    const char *cls;
    const char *label;
    const char *risk;
    const char *now;   /* short-term remediation */
    const char *later; /* long-term remediation */
} classes[] = {
    {"sqli", "SQL injection", "Attackers read or change database rows through the function's "
     "queries; repeated small injections exfiltrate a table a few rows at a time.",
     "Block the source addresses at the API gateway or WAF and rotate the database credentials "
     "the function uses.", "Use parameterised queries, give the function's database user only "
     "the rows and statements it needs, and cap result sizes."},
    {"nosqli", "NoSQL injection", "Query operators smuggled into fields read or match data "
     "beyond the caller's.", "Block the sources and reject objects where scalars are expected.",
     "Validate input types against a schema before building queries."},
    {"cmdi", "OS command injection", "Attacker-controlled commands run inside the function with "
     "its role's credentials.", "Block the sources and disable the affected route; rotate the "
     "function role's sessions.", "Never pass input to a shell; use argument vectors and an "
     "allowlist of values."},
    {"path-traversal", "Path traversal", "Files outside the intended directory (handler source, "
     "/proc/self/environ with credentials) can be read.", "Block the sources; check what the "
     "function returned.", "Resolve paths against a fixed base and refuse anything outside it."},
    {"ssrf", "Server-side request forgery", "The function is made to call internal endpoints "
     "(runtime API, metadata services) and leak credentials or other invocations' events.",
     "Block the sources and restrict the function's egress.", "Allowlist outbound hosts; "
     "resolve and check addresses before connecting."},
    {"xxe", "XML external entity injection", "XML parsing reads local files or internal URLs.",
     "Block the sources.", "Disable DTDs and external entities in the XML parser."},
    {"ssti", "Server-side template injection", "Template expressions evaluate attacker code.",
     "Block the sources.", "Never build templates from input; use a sandboxed engine."},
    {"deserialization", "Insecure deserialization", "Serialized objects execute code on load.",
     "Block the sources and disable the affected route.", "Accept only plain data formats; "
     "remove unsafe deserializers such as node-serialize."},
    {"xss", "Cross-site scripting", "Stored scripts run in users' browsers.",
     "Remove the stored payloads.", "Encode output by context and set a content security "
     "policy."},
    {"egress", "Unexpected outbound connection", "Code inside the function calls out: data "
     "exfiltration or a command-and-control channel (a malicious dependency).",
     "Block the destination and the function's egress; review its recent deployments.",
     "Restrict egress to an allowlist; pin and review dependencies."},
    {"process-execution", "Process execution", "A process was spawned inside the function: "
     "the usual next step after injection or a malicious dependency.", "Block process creation "
     "in the function's policy and rotate its role's sessions.", "Remove shell access from "
     "functions that do not need it; pin dependencies."},
    {"file-write", "Write outside /tmp", "The function's code or runtime files were written.",
     "Redeploy the function from a known package.", "Keep writes to /tmp; review dependencies."},
    {"privilege-escalation", "Privilege escalation", "A principal gained permissions through a "
     "role passed to a function or changed role policies.", "Disable the principal's access "
     "keys, delete the created function or revert the role change.", "Restrict iam:PassRole "
     "and policy writes to deployment roles with conditions."},
    {"exposure", "Function exposed", "A function was made invocable by anyone or another "
     "account.", "Remove the permission or URL.", "Deny public resource policies with a service "
     "control policy."},
    {"persistence", "Function code overwritten", "Code running with the function's role was "
     "replaced outside the deployment pipeline.", "Roll the function back to the last deployed "
     "version and rotate its role's sessions.", "Allow code updates only from the pipeline "
     "role and sign code."},
    {"defense-evasion", "Logging disabled", "Audit logging was stopped or reduced: the attacker "
     "is hiding what follows.", "Re-enable logging at once.", "Protect trails and detectors "
     "with a service control policy."},
    {"supply-chain", "Foreign layer attached", "A layer from another account now runs inside the "
     "function.", "Remove the layer and redeploy.", "Allowlist layer publishers."},
    {"credential-access", "Access key used from a new address", "An access key is in use from "
     "an address it never used before: possibly leaked.", "Deactivate the key and review its "
     "recent calls.", "Replace long-lived keys with roles."},
    {"recon", "Reconnaissance", "A principal is enumerating the account.", "Review the "
     "principal's recent calls; deactivate its keys if unexpected.", "Apply least privilege "
     "to read permissions."},
    {"access-denied", "Access denied burst", "A principal is probing permissions it lacks.",
     "Review the principal and deactivate its keys if unexpected.", "Alert on denials by "
     "principal."},
    {"impact", "Function disabled", "The function's concurrency was set to zero.",
     "Restore the concurrency.", "Restrict concurrency changes to deployment roles."},
};

/* Bursts of weak signals that open an incident. */
static const struct {
    const char *cls;
    long long window_ms;
    long long min_count;    /* 0 = not used */
    long long min_distinct; /* distinct techniques (event names); 0 = not used */
} bursts[] = {
    {"recon", 600000, 0, 10},          /* 10 distinct reconnaissance calls in 10 minutes */
    {"access-denied", 300000, 20, 10}, /* 20 denials, or 10 distinct, in 5 minutes */
};

static size_t class_of(const char *cls)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].cls, cls) == 0)
            return i;
    return 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    if (h == 0)
        h = 1469598103934665603ULL;
    for (; s != NULL && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0x7c) * 1099511628211ULL; /* a separator between parts */
}

/* ---- an open-addressing map from 64-bit keys to indexes ---- */

struct map {
    uint64_t *k;
    int *v;
    size_t cap, n;
};

static int *map_slot(struct map *m, uint64_t key, bool create)
{
    size_t i;
    if (create && (m->n + 1) * 2 > m->cap) {
        struct map g = {0};
        g.cap = m->cap ? m->cap * 2 : 1024;
        g.k = calloc(g.cap, sizeof *g.k);
        g.v = calloc(g.cap, sizeof *g.v);
        if (g.k == NULL || g.v == NULL) {
            free(g.k);
            free(g.v);
            return NULL;
        }
        for (size_t j = 0; j < m->cap; j++)
            if (m->v[j] != 0) {
                size_t h = m->k[j] & (g.cap - 1);
                while (g.v[h] != 0)
                    h = (h + 1) & (g.cap - 1);
                g.k[h] = m->k[j];
                g.v[h] = m->v[j];
                g.n++;
            }
        free(m->k);
        free(m->v);
        *m = g;
    }
    if (m->cap == 0)
        return NULL;
    /* Values are stored plus one: 0 marks an empty slot. */
    for (i = key & (m->cap - 1); m->v[i] != 0; i = (i + 1) & (m->cap - 1))
        if (m->k[i] == key)
            return &m->v[i];
    if (!create)
        return NULL;
    m->k[i] = key;
    m->n++;
    return &m->v[i];
}

static int map_get(struct map *m, uint64_t key)
{
    int *s = map_slot(m, key, false);
    return s ? *s - 1 : -1;
}

static bool map_put(struct map *m, uint64_t key, int value)
{
    int *s = map_slot(m, key, true);
    if (s == NULL)
        return false;
    *s = value + 1;
    return true;
}

static void map_clear(struct map *m)
{
    free(m->k);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- state of one run ---- */

struct inc {
    char id[37];
    char repeat_key[256];
    char kind[12];
    char cls[40];
    char account[13];
    char target[200];
    char last_cls[40];
    int sev, sev_stored, base, finding_bump;
    bool is_new, touched;
    long long attempts, sources, functions, records, steps;
    int phases;
    long long first_ms, last_ms;
};

struct step {
    int inc;
    uint64_t key;
    const struct db_obs_signal *first;
    const char *resource;
    long long count;
};

struct link {
    int inc;
    const char *kind;
    const char *ref;
};

struct pair {
    int inc;
    bool weak;
    long long signal_id;
};

struct keyw {
    uint64_t key;
    int inc;
    long long ms;
    bool persist; /* a row of incident_keys (repeat key, principal, access key) */
};

struct retro {
    int inc;
    const struct db_obs_signal *s;
};

struct run {
    struct db_tx *tx;
    struct obs_corr_stats *st;
    struct inc *inc;
    size_t ninc, capinc;
    /* per batch */
    struct map keys;      /* key hash -> keyw index */
    struct keyw *kw;
    size_t nkw, capkw;
    struct map stepmap;   /* (incident, step) -> step index */
    struct step *steps;
    size_t nsteps, capsteps;
    struct map linkmap;   /* (incident, kind, ref) -> 1, for the whole run */
    struct link *links;
    size_t nlinks, caplinks;
    struct pair *pairs;
    size_t npairs, cappairs;
    struct map attached;  /* signal id -> 1 */
    struct retro *retro;
    size_t nretro, capretro;
    const struct db_obs_signal **weak; /* unattached weak signals of the batch */
    size_t nweak, capweak;
    struct db_obs_sigbatch extra[64]; /* signals read after the fact (retro, bursts) */
    size_t nextra;
};

#define GROW(arr, n, cap)                                                                       \
    ((n) < (cap) ? true                                                                          \
                 : grow((void **)&(arr), &(cap), sizeof *(arr)))

static bool grow(void **p, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 256;
    void *np = realloc(*p, ncap * size);
    if (np == NULL)
        return false;
    *p = np;
    *cap = ncap;
    return true;
}

static long long window_of(const struct inc *i)
{
    return strcmp(i->kind, "cloud") == 0 ? CORR_CLOUD_WINDOW_MS : CORR_WINDOW_MS;
}

static int phase_of(const struct db_obs_signal *s)
{
    if (strcmp(s->source, "payload") == 0)
        return PH_INITIAL;
    if (strcmp(s->source, "fsp") == 0)
        return PH_EXECUTION;
    if (strcmp(s->cls, "recon") == 0 || strcmp(s->cls, "access-denied") == 0 ||
        strcmp(s->cls, "credential-access") == 0)
        return PH_RECON;
    if (strcmp(s->cls, "defense-evasion") == 0)
        return PH_EVASION;
    return PH_CHANGE;
}

static const char *short_name(const char *arn)
{
    const char *p = strstr(arn, ":function:");
    if (p != NULL)
        return p + 10;
    p = strrchr(arn, '/');
    return p != NULL ? p + 1 : arn;
}

static const char *target_of(const struct db_obs_signal *s)
{
    if (strcmp(s->source, "cloudtrail") == 0 && s->principal != NULL)
        return s->principal;
    if (s->route != NULL && s->route[0] != '\0')
        return s->route;
    if (s->function_arn != NULL)
        return s->function_arn;
    if (s->principal != NULL)
        return s->principal;
    return "";
}

/* The repeat key's text: class, payload shape, function and route of a payload or in-function
 * attack; rule, technique and principal of a CloudTrail one. */
static void repeat_text(const struct db_obs_signal *s, char *text, size_t n)
{
    if (strcmp(s->source, "cloudtrail") == 0)
        snprintf(text, n, "%s|%s|%.180s", s->rule_id, s->technique,
                 s->principal ? s->principal : "");
    else
        snprintf(text, n, "%s|%s|%.180s|%.200s", s->cls, s->shape,
                 s->function_arn ? s->function_arn : "", s->route ? s->route : "");
}

/* FNV-1a over at most max bytes of s (NULL: none), continuing h. */
static uint64_t fnv_part(uint64_t h, const char *s, size_t max)
{
    for (size_t i = 0; s != NULL && i < max && s[i]; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The hash of repeat_text() as fnv(fnv(0, "repeat"), text) computes it (incident_keys holds
 * these), without formatting the text. */
static uint64_t repeat_hash(const struct db_obs_signal *s)
{
    uint64_t h = fnv(0, "repeat");
    bool ct = strcmp(s->source, "cloudtrail") == 0;

    h = fnv_part(h, ct ? s->rule_id : s->cls, SIZE_MAX);
    h = fnv_part(h, "|", 1);
    h = fnv_part(h, ct ? s->technique : s->shape, SIZE_MAX);
    h = fnv_part(h, "|", 1);
    h = fnv_part(h, ct ? s->principal : s->function_arn, 180);
    if (!ct) {
        h = fnv_part(h, "|", 1);
        h = fnv_part(h, s->route, 200);
    }
    return (h ^ 0x7c) * 1099511628211ULL;
}

/* Fills every signal's memo with its repeat key: it is needed several times for each. */
static void memo_repeat_keys(struct db_obs_sigbatch *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->rows[i].memo = repeat_hash(&b->rows[i]);
}

static uint64_t repeat_key(const struct db_obs_signal *s)
{
    return s->memo != 0 ? s->memo : repeat_hash(s);
}

/* The link keys of a signal (at most 3). The first is its trace id (else request id) when it
 * has one: that key is never stored (*first_stored false), earlier signals are looked up
 * instead; principals and access keys are stored. */
static size_t link_keys(const struct db_obs_signal *s, uint64_t out[3], bool *first_stored)
{
    size_t n = 0;
    *first_stored = true;
    if (s->trace_id != NULL)
        out[n++] = fnv(fnv(0, "trace"), s->trace_id);
    else if (s->request_id != NULL)
        out[n++] = fnv(fnv(0, "request"), s->request_id);
    if (n > 0)
        *first_stored = false;
    if (s->principal != NULL)
        out[n++] = fnv(fnv(0, "principal"), s->principal);
    if (s->access_key_id != NULL)
        out[n++] = fnv(fnv(0, "akid"), s->access_key_id);
    return n;
}

static int find_inc(const struct run *r, const char *id)
{
    for (size_t i = 0; i < r->ninc; i++)
        if (strcmp(r->inc[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int new_inc(struct run *r)
{
    if (!GROW(r->inc, r->ninc, r->capinc))
        return -1;
    memset(&r->inc[r->ninc], 0, sizeof r->inc[0]);
    return (int)r->ninc++;
}

/* Sets key -> incident in the batch's key map (persistent keys with ms > 0 are written back). */
static bool key_set(struct run *r, uint64_t key, int inc, long long ms, bool persist)
{
    int k = map_get(&r->keys, key);
    if (k >= 0) {
        r->kw[k].inc = inc;
        if (ms > r->kw[k].ms)
            r->kw[k].ms = ms;
        return true;
    }
    if (!GROW(r->kw, r->nkw, r->capkw))
        return false;
    r->kw[r->nkw] = (struct keyw){key, inc, ms, persist};
    return map_put(&r->keys, key, (int)r->nkw++);
}

/* The open incident a key leads to that may take a signal at ms, or -1. */
static int key_incident(struct run *r, uint64_t key, long long ms)
{
    int k = map_get(&r->keys, key);
    const struct inc *i;
    if (k < 0 || r->kw[k].inc < 0)
        return -1;
    i = &r->inc[r->kw[k].inc];
    if (ms > i->last_ms + window_of(i) || ms < i->first_ms - window_of(i))
        return -1;
    return r->kw[k].inc;
}

static bool add_link(struct run *r, int inc, const char *kind, const char *ref)
{
    uint64_t h;
    if (ref == NULL || ref[0] == '\0')
        return true;
    h = fnv(fnv(fnv((uint64_t)inc + 1, kind), ref), "link");
    if (map_get(&r->linkmap, h) >= 0)
        return true;
    if (!GROW(r->links, r->nlinks, r->caplinks) || !map_put(&r->linkmap, h, 1))
        return false;
    r->links[r->nlinks++] = (struct link){inc, kind, ref};
    return true;
}

static bool attach(struct run *r, int idx, const struct db_obs_signal *s, bool retro_ok)
{
    struct inc *i = &r->inc[idx];
    uint64_t lk[3], sk;
    bool stored;
    size_t nl = link_keys(s, lk, &stored);
    const char *resource = s->function_arn;
    int st;

    if (map_get(&r->attached, (uint64_t)s->signal_id) >= 0)
        return true;
    if (!map_put(&r->attached, (uint64_t)s->signal_id, 1))
        return false;
    i->touched = true;
    i->attempts++;
    i->records += s->records;
    if (i->first_ms == 0 || s->time_ms < i->first_ms)
        i->first_ms = s->time_ms;
    if (s->time_ms > i->last_ms)
        i->last_ms = s->time_ms;
    if (!s->weak && obs_severity_rank(s->severity) > i->base)
        i->base = obs_severity_rank(s->severity);
    if (i->phases != 0 && (i->phases & phase_of(s)) == 0 && strcmp(i->kind, "groundhog") == 0)
        snprintf(i->kind, sizeof i->kind, "story");
    i->phases |= phase_of(s);
    if (phase_of(s) == PH_EXECUTION || i->last_cls[0] == '\0')
        snprintf(i->last_cls, sizeof i->last_cls, "%s", s->cls);
    /* The signal itself. */
    if (!GROW(r->pairs, r->npairs, r->cappairs))
        return false;
    r->pairs[r->npairs++] = (struct pair){idx, s->weak, s->signal_id};
    /* Its step of the story. */
    if (strcmp(s->source, "cloudtrail") == 0 || resource == NULL)
        resource = s->function_arn ? s->function_arn : s->route;
    sk = fnv(fnv(fnv(fnv((uint64_t)idx + 1, s->rule_id), s->technique), resource), "step");
    st = map_get(&r->stepmap, sk);
    if (st >= 0) {
        r->steps[st].count++;
    } else {
        if (!GROW(r->steps, r->nsteps, r->capsteps) || !map_put(&r->stepmap, sk, (int)r->nsteps))
            return false;
        r->steps[r->nsteps++] = (struct step){idx, sk, s, resource, 1};
    }
    /* Resources and actors. */
    if (!add_link(r, idx, "function", s->function_arn) || !add_link(r, idx, "source_ip",
                                                                    s->source_ip) ||
        !add_link(r, idx, "principal", s->principal) ||
        !add_link(r, idx, "access_key", s->access_key_id))
        return false;
    /* Keys: this attack's repeats and the story's links now lead here. */
    if (!key_set(r, repeat_key(s), idx, s->time_ms, true))
        return false;
    for (size_t k = 0; k < nl; k++)
        if (!key_set(r, lk[k], idx, s->time_ms, k > 0 || stored))
            return false;
    /* Reconnaissance that came before, by the same principal or key. */
    if (retro_ok && !s->weak && (s->principal != NULL || s->access_key_id != NULL)) {
        if (!GROW(r->retro, r->nretro, r->capretro))
            return false;
        r->retro[r->nretro++] = (struct retro){idx, s};
    }
    return true;
}

static int open_inc(struct run *r, const struct db_obs_signal *s, const char *cls)
{
    int idx = new_inc(r);
    struct inc *i;
    char rk[512];

    if (idx < 0)
        return -1;
    i = &r->inc[idx];
    obs_uuid_new(i->id);
    repeat_text(s, rk, sizeof rk);
    snprintf(i->repeat_key, sizeof i->repeat_key, "%.255s", rk);
    snprintf(i->kind, sizeof i->kind, "%s",
             strcmp(s->source, "cloudtrail") == 0 ? "cloud"
             : strcmp(s->source, "fsp") == 0      ? "story"
                                                  : "groundhog");
    snprintf(i->cls, sizeof i->cls, "%s", cls);
    snprintf(i->account, sizeof i->account, "%s", s->account_id);
    snprintf(i->target, sizeof i->target, "%s", short_name(target_of(s)));
    i->is_new = true;
    i->sev_stored = -1;
    i->base = obs_severity_rank(s->severity);
    if (s->weak && i->base < 2)
        i->base = 2; /* a burst of weak signals is worth a medium incident */
    r->st->opened++;
    return idx;
}

static void inc_from_json(struct inc *i, const json_t *j)
{
    memset(i, 0, sizeof *i);
    snprintf(i->id, sizeof i->id, "%s", json_string_value(json_object_get(j, "id")));
    snprintf(i->repeat_key, sizeof i->repeat_key, "%s",
             json_string_value(json_object_get(j, "repeat_key")));
    snprintf(i->kind, sizeof i->kind, "%s", json_string_value(json_object_get(j, "kind")));
    snprintf(i->cls, sizeof i->cls, "%s", json_string_value(json_object_get(j, "class")));
    snprintf(i->account, sizeof i->account, "%s",
             json_string_value(json_object_get(j, "account_id")));
    i->sev = i->sev_stored = i->base =
        obs_severity_rank(json_string_value(json_object_get(j, "severity")));
    i->attempts = json_integer_value(json_object_get(j, "attempts"));
    i->sources = json_integer_value(json_object_get(j, "distinct_sources"));
    i->functions = json_integer_value(json_object_get(j, "functions"));
    i->records = json_integer_value(json_object_get(j, "records_exposed"));
    i->steps = json_integer_value(json_object_get(j, "steps"));
    i->phases = (int)json_integer_value(json_object_get(j, "phases"));
    i->first_ms = json_integer_value(json_object_get(j, "first_seen_ms"));
    i->last_ms = json_integer_value(json_object_get(j, "last_seen_ms"));
    snprintf(i->target, sizeof i->target, "%s", json_string_value(json_object_get(j, "target")));
}

/* Postgres array literals written into an sbuf that holds only the literal: "{", elements (each
 * after the first with its comma), "}". */
static void lit_open(struct sbuf *b)
{
    b->len = 0;
    sb_put(b, "{", 1);
}

static bool lit_empty(const struct sbuf *b)
{
    return b->len <= 1;
}

static void lit_sep(struct sbuf *b)
{
    if (!lit_empty(b))
        sb_put(b, ",", 1);
}

static void lit_num(struct sbuf *b, long long v)
{
    lit_sep(b);
    sb_printf(b, "%lld", v);
}

/* s as a quoted element. */
static void lit_text(struct sbuf *b, const char *s)
{
    lit_sep(b);
    sb_put(b, "\"", 1);
    for (size_t run; *s; s += run) {
        run = strcspn(s, "\"\\");
        sb_put(b, s, run);
        if (s[run] != '\0') {
            sb_put(b, "\\", 1);
            sb_put(b, s + run, 1);
            run++;
        }
    }
    sb_put(b, "\"", 1);
}

static void lit_close(struct sbuf *b)
{
    sb_put(b, "}", 1);
}

/* Whether a signal's trace (or request) id must be looked up among earlier signals: it has one,
 * and its repeat key leads to no incident that can take it (fold tries the repeat key first). */
static bool needs_origin(struct run *r, const struct db_obs_signal *s, uint64_t *trace_key)
{
    uint64_t k[3];
    bool stored;
    if (link_keys(s, k, &stored) == 0 || stored)
        return false;
    *trace_key = k[0];
    return key_incident(r, repeat_key(s), s->time_ms) < 0;
}

/* The trace ids (and request ids of signals without one) that needs_origin picks, as text[]
 * literals, each once, and the earlier signals that carried them (db_obs_corr_origins). */
static enum err_code load_origins(struct run *r, const struct db_obs_sigbatch *b,
                                  struct db_obs_sigbatch *origins, struct err *err)
{
    struct sbuf traces = {0}, requests = {0};
    struct map seen = {0};
    enum err_code rc = ERR_OK;
    bool ok = true;

    lit_open(&traces);
    lit_open(&requests);
    for (size_t i = 0; ok && i < b->n; i++) {
        const struct db_obs_signal *s = &b->rows[i];
        uint64_t tk;
        if (!needs_origin(r, s, &tk) || map_get(&seen, tk) >= 0)
            continue;
        ok = map_put(&seen, tk, 1);
        if (s->trace_id != NULL)
            lit_text(&traces, s->trace_id);
        else
            lit_text(&requests, s->request_id);
    }
    lit_close(&traces);
    lit_close(&requests);
    if (!ok || traces.failed || requests.failed)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (traces.len > 2 || requests.len > 2) /* not both "{}" */
        rc = db_obs_corr_origins(r->tx, traces.p, requests.p, b->rows[0].xid,
                                 b->rows[0].signal_id, origins, err);
    map_clear(&seen);
    free(traces.p);
    free(requests.p);
    return rc;
}

/* Adds a key to a lookup list (a bigint[] literal) unless it is known or listed already. */
static bool want_key(struct run *r, struct map *seen, struct sbuf *text, uint64_t key)
{
    if (map_get(seen, key) >= 0 || map_get(&r->keys, key) >= 0)
        return true;
    lit_num(text, (long long)key);
    return map_put(seen, key, 1);
}

/* Looks up the listed keys: the open incidents they lead to join the run, the keys the map. */
static enum err_code lookup(struct run *r, struct sbuf *text, struct err *err)
{
    json_t *found = NULL, *e;
    enum err_code rc;
    size_t i;

    if (lit_empty(text))
        return ERR_OK; /* nothing listed */
    lit_close(text);
    if (text->failed)
        return err_set(err, ERR_NOMEM, "out of memory");
    rc = db_obs_corr_lookup(r->tx, text->p, &found, err);
    json_array_foreach(found, i, e)
    {
        const json_t *ij = json_object_get(e, "incident");
        const char *id = json_string_value(json_object_get(ij, "id"));
        int idx;
        if (rc != ERR_OK || id == NULL)
            continue;
        idx = find_inc(r, id);
        if (idx < 0) {
            idx = new_inc(r);
            if (idx < 0) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                break;
            }
            inc_from_json(&r->inc[idx], ij);
        }
        if (!key_set(r, (uint64_t)json_integer_value(json_object_get(e, "key")), idx, 0, true))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    json_decref(found);
    return rc;
}

/* Loads the open incidents the batch's keys lead to: its repeat keys, principals and access
 * keys directly; then, for signals their repeat key cannot place, their trace or request id
 * through the repeat key of the latest earlier signal that carried it (the incident that
 * signal's attack belongs to). */
static enum err_code load_keys(struct run *r, const struct db_obs_sigbatch *b, struct err *err)
{
    struct db_obs_sigbatch origins = {0};
    struct sbuf text = {0};
    enum err_code rc = ERR_OK;
    struct map seen = {0};
    bool ok = true;
    size_t i;

    lit_open(&text);
    for (i = 0; ok && i < b->n; i++) {
        uint64_t k[4];
        bool stored;
        size_t nk = link_keys(&b->rows[i], k, &stored);
        k[nk++] = repeat_key(&b->rows[i]);
        for (size_t j = stored ? 0 : 1; ok && j < nk; j++)
            ok = want_key(r, &seen, &text, k[j]);
    }
    rc = ok ? lookup(r, &text, err) : err_set(err, ERR_NOMEM, "out of memory");
    if (rc == ERR_OK)
        rc = load_origins(r, b, &origins, err);
    if (rc != ERR_OK || origins.n == 0)
        goto out;
    /* The earlier signals' repeat keys. */
    lit_open(&text);
    for (i = 0; ok && i < origins.n; i++)
        ok = want_key(r, &seen, &text, repeat_key(&origins.rows[i]));
    rc = ok ? lookup(r, &text, err) : err_set(err, ERR_NOMEM, "out of memory");
    /* A trace or request id leads where its earlier signal's repeat key leads. */
    for (i = 0; rc == ERR_OK && i < origins.n; i++) {
        uint64_t k[3];
        bool stored;
        int kw;
        if (link_keys(&origins.rows[i], k, &stored) == 0 || stored)
            continue;
        kw = map_get(&r->keys, repeat_key(&origins.rows[i]));
        if (kw >= 0 && r->kw[kw].inc >= 0 && !key_set(r, k[0], r->kw[kw].inc, 0, false))
            rc = err_set(err, ERR_NOMEM, "out of memory");
    }
out:
    map_clear(&seen);
    free(text.p);
    db_obs_sigbatch_free(&origins);
    return rc;
}

static void fold(struct run *r, const struct db_obs_signal *s, bool *nomem)
{
    uint64_t lk[3];
    bool stored;
    size_t nl = link_keys(s, lk, &stored);
    int idx = key_incident(r, repeat_key(s), s->time_ms);

    for (size_t k = 0; idx < 0 && k < nl; k++)
        idx = key_incident(r, lk[k], s->time_ms);
    if (idx < 0 && s->weak) {
        if (GROW(r->weak, r->nweak, r->capweak))
            r->weak[r->nweak++] = s;
        else
            *nomem = true;
        return;
    }
    if (idx < 0)
        idx = open_inc(r, s, s->cls);
    if (idx < 0 || !attach(r, idx, s, true))
        *nomem = true;
}

/* Weak signals of the principal or key that came before a strong one join its incident. */
static enum err_code retro_attach(struct run *r, struct err *err)
{
    struct map done = {0};
    enum err_code rc = ERR_OK;

    for (size_t i = 0; i < r->nretro && rc == ERR_OK; i++) {
        const struct db_obs_signal *s = r->retro[i].s;
        struct db_obs_sigbatch *b;
        uint64_t h = fnv(fnv(fnv((uint64_t)r->retro[i].inc + 1, s->principal), s->access_key_id),
                         "retro");
        if (map_get(&done, h) >= 0 || r->nextra >= sizeof r->extra / sizeof r->extra[0])
            continue;
        map_put(&done, h, 1);
        b = &r->extra[r->nextra++];
        rc = db_obs_corr_weak(r->tx, s->access_key_id, s->principal,
                              s->time_ms - CORR_CLOUD_WINDOW_MS, s->time_ms + CORR_WINDOW_MS, b,
                              err);
        for (size_t j = 0; rc == ERR_OK && j < b->n; j++)
            if (!attach(r, r->retro[i].inc, &b->rows[j], false))
                rc = err_set(err, ERR_NOMEM, "out of memory");
    }
    map_clear(&done);
    return rc;
}

/* Whether the weak signals' times (sorted) hold a burst: min_count of them, or min_distinct
 * distinct techniques, within one window (t - window_ms, t]; *at is the time it is reached. */
static bool burst_in(const struct db_obs_burst *b, long long window_ms, long long min_count,
                     long long min_distinct, long long *at, bool *nomem)
{
    struct map counts = {0}; /* technique hash -> occurrences in the window, plus one */
    long long distinct = 0;
    bool met = false;
    size_t lo = 0;

    for (size_t hi = 0; hi < b->n && !met; hi++) {
        int *c = map_slot(&counts, fnv(0, b->technique[hi]), true);
        if (c == NULL) {
            *nomem = true;
            break;
        }
        if (*c <= 1)
            distinct++;
        *c = (*c == 0 ? 1 : *c) + 1;
        for (; b->ms[hi] - b->ms[lo] >= window_ms; lo++) {
            int *d = map_slot(&counts, fnv(0, b->technique[lo]), false);
            if (d != NULL && --*d == 1)
                distinct--;
        }
        met = (min_count > 0 && (long long)(hi - lo + 1) >= min_count) ||
              (min_distinct > 0 && distinct >= min_distinct);
        if (met)
            *at = b->ms[hi];
    }
    map_clear(&counts);
    return met;
}

/* Unattached weak signals: a burst by one principal anywhere in the batch's time span (with
 * the principal's earlier weak signals) opens an incident with all of them. */
static enum err_code check_bursts(struct run *r, struct err *err)
{
    struct map done = {0};
    enum err_code rc = ERR_OK;

    for (size_t w = r->nweak; w-- > 0 && rc == ERR_OK;) {
        const struct db_obs_signal *s = r->weak[w]; /* the latest of its group first */
        long long first = s->time_ms, last = s->time_ms;
        uint64_t h;
        if (s->principal == NULL || map_get(&r->attached, (uint64_t)s->signal_id) >= 0)
            continue;
        h = fnv(fnv(0, s->principal), s->cls);
        if (map_get(&done, h) >= 0)
            continue;
        if (!map_put(&done, h, 1)) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t v = 0; v < w; v++) { /* the group's time span in this batch */
            const struct db_obs_signal *o = r->weak[v];
            if (o->principal == NULL || strcmp(o->principal, s->principal) != 0 ||
                strcmp(o->cls, s->cls) != 0)
                continue;
            if (o->time_ms < first)
                first = o->time_ms;
            if (o->time_ms > last)
                last = o->time_ms;
        }
        for (size_t b = 0; b < sizeof bursts / sizeof bursts[0] && rc == ERR_OK; b++) {
            struct db_obs_burst times;
            long long at = 0;
            bool met, nomem = false;
            int idx;
            if (strcmp(bursts[b].cls, s->cls) != 0)
                continue;
            rc = db_obs_corr_burst(r->tx, s->principal, s->cls, first - bursts[b].window_ms,
                                   last, &times, err);
            if (rc != ERR_OK)
                break;
            met = burst_in(&times, bursts[b].window_ms, bursts[b].min_count,
                           bursts[b].min_distinct, &at, &nomem);
            db_obs_burst_free(&times);
            if (nomem) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                break;
            }
            if (!met)
                continue;
            idx = open_inc(r, s, s->cls);
            if (idx < 0 || !attach(r, idx, s, false)) {
                rc = err_set(err, ERR_NOMEM, "out of memory");
                break;
            }
            /* Every weak signal of the principal from the burst on joins it. */
            if (r->nextra < sizeof r->extra / sizeof r->extra[0]) {
                struct db_obs_sigbatch *x = &r->extra[r->nextra++];
                rc = db_obs_corr_weak(r->tx, NULL, s->principal, at - bursts[b].window_ms,
                                      last, x, err);
                for (size_t j = 0; rc == ERR_OK && j < x->n; j++)
                    if (!attach(r, idx, &x->rows[j], false))
                        rc = err_set(err, ERR_NOMEM, "out of memory");
            }
        }
    }
    map_clear(&done);
    return rc;
}

/* ---- writing a batch back ---- */

/* A Postgres array literal of the touched incidents' ids; pos[i] is incident i's 1-based
 * position in it. */
static char *ids_literal(struct run *r, int *pos)
{
    size_t cap = r->ninc * 40 + 3, n = 0;
    char *s = malloc(cap);
    int k = 0;
    if (s == NULL)
        return NULL;
    s[n++] = '{';
    for (size_t i = 0; i < r->ninc; i++) {
        pos[i] = 0;
        if (!r->inc[i].touched)
            continue;
        if (k > 0)
            s[n++] = ',';
        memcpy(s + n, r->inc[i].id, 36);
        n += 36;
        pos[i] = ++k;
    }
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

/* The signals each touched incident took in this batch, one chunk row per incident: a text[]
 * literal whose element k is the bigint[] literal of the signals of the incident at position
 * k + 1 of ids, in folding order; the weak ones also as a bigint[] literal. */
static enum err_code write_pairs(struct run *r, const char *ids, const int *pos, struct err *err)
{
    size_t npos = r->ninc + 1;
    size_t *end = calloc(npos + 1, sizeof *end);
    long long *sorted = malloc((r->npairs + 1) * sizeof *sorted);
    struct sbuf a = {0}, w = {0};
    enum err_code rc = ERR_OK;
    bool ok = end != NULL && sorted != NULL;

    lit_open(&a);
    lit_open(&w);
    /* A stable counting sort of the pairs by their incident's position (1-based, dense). */
    for (size_t i = 0; ok && i < r->npairs; i++) {
        end[pos[r->pairs[i].inc]]++;
        if (r->pairs[i].weak)
            lit_num(&w, r->pairs[i].signal_id);
    }
    for (size_t k = 0, sum = 0; ok && k <= npos; k++) {
        size_t c = end[k];
        end[k] = sum; /* the start of position k, for now */
        sum += c;
    }
    for (size_t i = 0; ok && i < r->npairs; i++)
        sorted[end[pos[r->pairs[i].inc]]++] = r->pairs[i].signal_id; /* now: ends */
    for (size_t k = 1, from = end[0]; ok && k <= npos && from < r->npairs; k++) {
        lit_sep(&a);
        sb_lit(&a, "\"{");
        for (size_t i = from; i < end[k]; i++)
            sb_printf(&a, "%s%lld", i == from ? "" : ",", sorted[i]);
        sb_lit(&a, "}\"");
        from = end[k];
    }
    lit_close(&a);
    lit_close(&w);
    if (!ok || a.failed || w.failed)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (r->npairs > 0)
        rc = db_obs_incident_signals(r->tx, ids, a.p, w.p, err);
    free(end);
    free(sorted);
    free(a.p);
    free(w.p);
    return rc;
}

static enum err_code write_keys(struct run *r, const char *ids, const int *pos, struct err *err)
{
    struct sbuf k = {0}, x = {0}, m = {0};
    enum err_code rc = ERR_OK;

    lit_open(&k);
    lit_open(&x);
    lit_open(&m);
    for (size_t i = 0; i < r->nkw; i++) {
        if (!r->kw[i].persist || r->kw[i].inc < 0 || r->kw[i].ms == 0 || pos[r->kw[i].inc] == 0)
            continue; /* looked up, or loaded and not changed */
        lit_num(&k, (long long)r->kw[i].key);
        lit_num(&x, pos[r->kw[i].inc]);
        lit_num(&m, r->kw[i].ms);
    }
    lit_close(&k);
    lit_close(&x);
    lit_close(&m);
    if (k.failed || x.failed || m.failed)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (k.len > 2)
        rc = db_obs_incident_keys(r->tx, ids, k.p, x.p, m.p, err);
    free(k.p);
    free(x.p);
    free(m.p);
    return rc;
}

/* Runs a rows-in, counts-out statement and adds the counts ([id, (kind,) n]) to incidents. */
static enum err_code add_counts(struct run *r, const json_t *added, bool with_kind)
{
    const json_t *e;
    size_t i;
    json_array_foreach(added, i, e)
    {
        int idx = find_inc(r, json_string_value(json_array_get(e, 0)));
        long long n = json_integer_value(json_array_get(e, with_kind ? 2 : 1));
        const char *kind = json_string_value(json_array_get(e, 1));
        if (idx < 0)
            continue;
        if (!with_kind)
            r->inc[idx].steps += n;
        else if (strcmp(kind, "source_ip") == 0)
            r->inc[idx].sources += n;
        else if (strcmp(kind, "function") == 0)
            r->inc[idx].functions += n;
    }
    return ERR_OK;
}

/* Open posture findings on newly linked functions: linked to the incident; a high or critical
 * one raises its severity. */
static enum err_code attach_findings(struct run *r, json_t *links_rows, struct err *err)
{
    json_t *arns = json_array(), *found = NULL, *e;
    char *text = NULL;
    enum err_code rc = ERR_OK;
    size_t i;

    for (i = 0; i < r->nlinks; i++)
        if (strcmp(r->links[i].kind, "function") == 0)
            json_array_append_new(arns, json_string(r->links[i].ref));
    if (json_array_size(arns) == 0)
        goto out;
    text = json_dumps(arns, JSON_COMPACT);
    rc = text ? db_obs_open_findings(r->tx, text, &found, err) : err_set(err, ERR_NOMEM, "oom");
    if (rc != ERR_OK)
        goto out;
    json_array_foreach(found, i, e)
    {
        const char *arn = json_string_value(json_object_get(e, "resource_arn"));
        const char *sev = json_string_value(json_object_get(e, "severity"));
        for (size_t l = 0; arn != NULL && l < r->nlinks; l++) {
            struct inc *in = &r->inc[r->links[l].inc];
            if (strcmp(r->links[l].kind, "function") != 0 || strcmp(r->links[l].ref, arn) != 0)
                continue;
            json_array_append_new(links_rows,
                                  json_pack("{s:s, s:s, s:O}", "id", in->id, "kind", "finding",
                                            "ref", json_object_get(e, "finding_id")));
            if (obs_severity_rank(sev) >= 3)
                in->finding_bump = 1;
        }
    }
out:
    free(text);
    json_decref(arns);
    json_decref(found);
    return rc;
}

static enum err_code write_links(struct run *r, struct err *err)
{
    json_t *rows = json_array(), *added = NULL;
    char *text = NULL;
    enum err_code rc;

    if (rows == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->nlinks; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "id", r->inc[r->links[i].inc].id,
                                              "kind", r->links[i].kind, "ref", r->links[i].ref));
    rc = attach_findings(r, rows, err);
    if (rc == ERR_OK && json_array_size(rows) > 0) {
        text = json_dumps(rows, JSON_COMPACT);
        rc = text ? db_obs_incident_links(r->tx, text, &added, err)
                  : err_set(err, ERR_NOMEM, "out of memory");
        if (rc == ERR_OK)
            add_counts(r, added, true);
    }
    free(text);
    json_decref(rows);
    json_decref(added);
    return rc;
}

static enum err_code write_steps(struct run *r, struct err *err)
{
    json_t *rows = json_array(), *added = NULL;
    char *text = NULL;
    enum err_code rc = ERR_OK;

    if (rows == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->nsteps; i++) {
        const struct step *st = &r->steps[i];
        const struct db_obs_signal *s = st->first;
        json_array_append_new(
            rows, json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:I}",
                            "id", r->inc[st->inc].id, "step_key", (json_int_t)st->key,
                            "time_ms", (json_int_t)s->time_ms, "rule_id", s->rule_id, "class",
                            s->cls, "technique", s->technique, "severity", s->severity,
                            "resource", st->resource, "actor",
                            s->principal ? s->principal : s->source_ip, "request_id",
                            s->request_id, "location", s->location, "evidence", s->evidence,
                            "count", (json_int_t)st->count));
    }
    if (json_array_size(rows) > 0) {
        text = json_dumps(rows, JSON_COMPACT);
        rc = text ? db_obs_incident_steps(r->tx, text, &added, err)
                  : err_set(err, ERR_NOMEM, "out of memory");
        if (rc == ERR_OK)
            add_counts(r, added, false);
    }
    free(text);
    json_decref(rows);
    json_decref(added);
    return rc;
}

static void severity_of(struct inc *i)
{
    int bumps = (i->attempts >= 100) + (i->attempts >= 1000) + (i->sources >= 100) +
                ((i->phases & PH_EXECUTION) && (i->phases & ~PH_EXECUTION)) + i->finding_bump;
    int sev = i->base + bumps;
    if (sev > 4)
        sev = 4;
    if (sev < i->sev_stored)
        sev = i->sev_stored;
    i->sev = sev;
}

static void texts(const struct inc *i, char *title, size_t tn, char *summary, size_t sn)
{
    const char *label = classes[class_of(i->cls)].label;
    char first[32], last[32];

    obs_time_format(i->first_ms, first);
    obs_time_format(i->last_ms, last);
    if (strcmp(i->kind, "groundhog") == 0)
        snprintf(title, tn, "%s attempts repeated against %s", label, i->target);
    else if (strcmp(i->kind, "story") == 0)
        snprintf(title, tn, "%s followed by %s across %lld function(s): %s", label,
                 i->last_cls[0] ? classes[class_of(i->last_cls)].label
                                : "post-exploitation activity",
                 i->functions > 0 ? i->functions : 1, i->target);
    else
        snprintf(title, tn, "Cloud infrastructure attack (%s) by %s", label, i->target);
    snprintf(summary, sn,
             "%lld signal(s) in %lld step(s) from %lld source address(es) against %lld "
             "function(s), from %s to %s. %s Estimated records exposed: %lld.",
             i->attempts, i->steps, i->sources, i->functions, first, last,
             classes[class_of(i->cls)].risk, i->records);
}

/* New incidents (insert) or every touched one (update of counters, severity, texts). */
static enum err_code write_incidents(struct run *r, bool insert, struct err *err)
{
    json_t *rows = json_array();
    char *text = NULL;
    enum err_code rc = ERR_OK;

    if (rows == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < r->ninc; k++) {
        struct inc *i = &r->inc[k];
        char title[300], summary[900];
        size_t c = class_of(i->cls);
        json_t *row;
        if (!i->touched || (insert && !i->is_new))
            continue;
        severity_of(i);
        texts(i, title, sizeof title, summary, sizeof summary);
        if (insert)
            row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s,"
                            " s:s}",
                            "id", i->id, "repeat_key", i->repeat_key, "kind", i->kind, "class",
                            i->cls, "target", i->target, "title", title, "summary", summary, "severity",
                            obs_severity_name(i->sev), "account_id", i->account, "first_ms",
                            (json_int_t)i->first_ms, "last_ms", (json_int_t)i->last_ms, "risk",
                            classes[c].risk, "remediation_short", classes[c].now,
                            "remediation_long", classes[c].later);
        else
            row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:I}",
                            "id", i->id, "kind", i->kind, "title", title, "summary", summary, "severity",
                            obs_severity_name(i->sev), "attempts", (json_int_t)i->attempts,
                            "distinct_sources", (json_int_t)i->sources, "functions",
                            (json_int_t)i->functions, "records_exposed", (json_int_t)i->records,
                            "steps", (json_int_t)i->steps, "phases", i->phases, "first_ms",
                            (json_int_t)i->first_ms, "last_ms", (json_int_t)i->last_ms);
        if (row == NULL || json_array_append_new(rows, row) != 0) {
            rc = err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (json_array_size(rows) == 0)
        goto out;
    text = json_dumps(rows, JSON_COMPACT);
    if (text == NULL)
        rc = err_set(err, ERR_NOMEM, "out of memory");
    else if (insert)
        rc = db_obs_incidents_insert(r->tx, text, err);
    else
        rc = db_obs_incidents_update(r->tx, text, err);
out:
    free(text);
    json_decref(rows);
    return rc;
}

static enum err_code notify(struct run *r, struct err *err)
{
    enum err_code rc = ERR_OK;
    for (size_t k = 0; k < r->ninc && rc == ERR_OK; k++) {
        struct inc *i = &r->inc[k];
        char title[300], summary[900];
        const char *kind;
        json_t *payload;
        if (!i->touched)
            continue;
        if (i->is_new)
            kind = "incident.opened";
        else if (i->sev > i->sev_stored)
            kind = "incident.escalated";
        else
            continue;
        texts(i, title, sizeof title, summary, sizeof summary);
        payload = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "title", title, "summary",
                            summary, "class", i->cls, "attempts", (json_int_t)i->attempts,
                            "distinct_sources", (json_int_t)i->sources, "functions",
                            (json_int_t)i->functions, "link", i->id);
        if (payload == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        rc = db_event_record(r->tx, kind, i->id, obs_severity_name(i->sev), payload, err);
        json_decref(payload);
        if (!i->is_new)
            r->st->escalated++;
    }
    return rc;
}

static void batch_reset(struct run *r)
{
    map_clear(&r->keys);
    map_clear(&r->stepmap);
    map_clear(&r->attached);
    r->nkw = r->nsteps = r->nlinks = r->npairs = r->nretro = r->nweak = 0;
    for (size_t i = 0; i < r->nextra; i++)
        db_obs_sigbatch_free(&r->extra[i]);
    r->nextra = 0;
    for (size_t i = 0; i < r->ninc; i++) {
        r->inc[i].touched = false;
        r->inc[i].is_new = false;
        r->inc[i].sev_stored = r->inc[i].sev;
    }
}

static enum err_code write_batch(struct run *r, struct err *err)
{
    int *pos = calloc(r->ninc + 1, sizeof *pos);
    char *ids = pos ? ids_literal(r, pos) : NULL;
    enum err_code rc;

    if (ids == NULL) {
        free(pos);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    /* New incidents first (the other rows refer to them), then what counts into them, then
     * the counters, severity and texts of every touched incident. */
    rc = write_incidents(r, true, err);
    if (rc == ERR_OK)
        rc = write_pairs(r, ids, pos, err);
    if (rc == ERR_OK)
        rc = write_links(r, err);
    if (rc == ERR_OK)
        rc = write_steps(r, err);
    if (rc == ERR_OK)
        rc = write_keys(r, ids, pos, err);
    if (rc == ERR_OK)
        rc = write_incidents(r, false, err);
    if (rc == ERR_OK)
        rc = notify(r, err);
    free(ids);
    free(pos);
    return rc;
}

static void run_free(struct run *r)
{
    batch_reset(r);
    map_clear(&r->linkmap);
    free(r->inc);
    free(r->kw);
    free(r->steps);
    free(r->links);
    free(r->pairs);
    free(r->retro);
    free(r->weak);
}

enum err_code obs_correlate_tenant(struct db_tx *tx, const char *tenant_id,
                                   struct obs_corr_stats *st, bool *busy, struct err *err)
{
    struct run r;
    struct db_obs_sigbatch b = {0};
    char from[24], to[24], after_xid[24];
    long long after_id = 0;
    bool claimed = false;
    enum err_code rc;

    memset(&r, 0, sizeof r);
    memset(st, 0, sizeof *st);
    r.tx = tx;
    r.st = st;
    *busy = false;
    rc = db_obs_scope_tenant(tx, tenant_id, err);
    if (rc == ERR_OK)
        rc = db_obs_corr_claim(tx, &claimed, from, to, err);
    if (rc != ERR_OK)
        return rc;
    if (!claimed) {
        *busy = true;
        return ERR_OK;
    }
    snprintf(after_xid, sizeof after_xid, "%s", from);
    for (;;) {
        bool nomem = false;
        rc = db_obs_corr_signals(tx, from, to, after_xid, after_id, CORR_BATCH, &b, err);
        if (rc != ERR_OK || b.n == 0)
            break;
        memo_repeat_keys(&b);
        rc = load_keys(&r, &b, err);
        for (size_t i = 0; rc == ERR_OK && i < b.n && !nomem; i++)
            fold(&r, &b.rows[i], &nomem);
        if (rc == ERR_OK && nomem)
            rc = err_set(err, ERR_NOMEM, "out of memory");
        if (rc == ERR_OK)
            rc = retro_attach(&r, err);
        if (rc == ERR_OK)
            rc = check_bursts(&r, err);
        if (rc == ERR_OK)
            rc = write_batch(&r, err);
        st->signals += b.n;
        snprintf(after_xid, sizeof after_xid, "%s", b.rows[b.n - 1].xid);
        after_id = b.rows[b.n - 1].signal_id;
        batch_reset(&r); /* b's rows stay until the next batch replaces them */
        if (rc != ERR_OK)
            break;
    }
    db_obs_sigbatch_free(&b);
    if (rc == ERR_OK)
        rc = db_obs_corr_done(tx, to, err);
    run_free(&r);
    return rc;
}
