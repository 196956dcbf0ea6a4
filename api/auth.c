/* Authentication and authorisation: bearer tokens (ES256 access JWTs for users, prk_/pri_ API
 * keys for automation and ingest), the role check, token issuance and the audit trail.
 *
 * Opaque tokens (refresh tokens, API keys) read "<kind>_<43 base64url>_<tenant as 32 hex>": the
 * tenant part lets the lookup run inside that tenant's row-level security; the 256-bit random
 * part makes a plain SHA-256 a safe stored form (no password hashing needed for such entropy),
 * and its first characters make a visible prefix that tells keys apart.
 *
 * Caches: a verified API key and a session's state are remembered for CACHE_TTL_MS, so a busy
 * client costs no database round trip per request; revocation reaches every instance within
 * that time, and this instance at once (api_auth_forget_session). */
#include "api/api.h"

#include "auth/jwt.h"
#include "db/db.h"
#include "server/log.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CACHE_TTL_MS 5000
#define CACHE_SLOTS 1024 /* direct-mapped; a collision only costs a database lookup */
#define ACCESS_TTL_S 900
#define REFRESH_TTL_S (30 * 24 * 3600)
#define OPAQUE_LEN 80 /* "prk_" + 43 base64url + "_" + 32 hex */

static const char *const role_names[] = {
    [API_ROLE_PUBLIC] = "public", [API_ROLE_INGEST] = "ingest", [API_ROLE_VIEWER] = "viewer",
    [API_ROLE_DEVOPS] = "devops", [API_ROLE_SECOPS] = "secops", [API_ROLE_ADMIN] = "admin",
    [API_ROLE_OWNER] = "owner",
};

const char *api_role_name(enum api_role r)
{
    if ((unsigned)r >= sizeof role_names / sizeof role_names[0])
        return "public";
    return role_names[r];
}

bool api_role_parse(const char *s, enum api_role *out)
{
    for (size_t i = API_ROLE_INGEST; i < sizeof role_names / sizeof role_names[0]; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum api_role)i;
            return true;
        }
    }
    return false;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void api_sha256(const char *s, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    EVP_Digest(s, len, out, &n, EVP_sha256(), NULL);
}

static void uuid_format(const unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t p = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[p++] = '-';
        out[p++] = hex[b[i] >> 4];
        out[p++] = hex[b[i] & 0xf];
    }
    out[p] = '\0';
}

void api_uuid_new(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        abort(); /* no randomness: nothing here can be made safe */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    uuid_format(b, out);
}

static void base64url(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    unsigned char tmp[64];
    int len;

    if (n > 45 || outlen < 61) {
        out[0] = '\0';
        return;
    }
    len = EVP_EncodeBlock(tmp, in, (int)n);
    for (int i = 0; i < len; i++)
        tmp[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
    while (len > 0 && tmp[len - 1] == '=')
        len--;
    memcpy(out, tmp, (size_t)len);
    out[len] = '\0';
}

/* New opaque token of kind ("prk", "pri", "prt") for tenant; out[OPAQUE_LEN + 1]. */
static void opaque_new(const char *kind, const char *tenant_id, char out[OPAQUE_LEN + 1])
{
    unsigned char rnd[32];
    char secret[64];
    size_t p;

    if (RAND_bytes(rnd, sizeof rnd) != 1)
        abort();
    base64url(rnd, sizeof rnd, secret, sizeof secret);
    OPENSSL_cleanse(rnd, sizeof rnd);
    p = (size_t)snprintf(out, OPAQUE_LEN + 1, "%.3s_%.43s_", kind, secret);
    for (const char *t = tenant_id; *t && p < OPAQUE_LEN; t++)
        if (*t != '-')
            out[p++] = *t;
    out[p] = '\0';
    OPENSSL_cleanse(secret, sizeof secret);
}

/* Parses an opaque token of kind; writes its tenant as a UUID string. */
static bool opaque_parse(const char *tok, const char *kind, char tenant[37])
{
    unsigned char b[16];
    const size_t secret_at = 4, tenant_at = 4 + 43 + 1;

    if (strlen(tok) != OPAQUE_LEN || strncmp(tok, kind, 3) != 0 || tok[3] != '_' ||
        tok[tenant_at - 1] != '_')
        return false;
    for (size_t i = secret_at; i < tenant_at - 1; i++) {
        char c = tok[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    for (size_t i = 0; i < 16; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char c = tok[tenant_at + 2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        b[i] = (unsigned char)v;
    }
    uuid_format(b, tenant);
    return true;
}

/* ---- caches ---- */

struct key_entry {
    unsigned char hash[32];
    long long expires;
    char tenant_id[40];
    char key_id[40];
    enum api_role role;
};

struct session_entry {
    char session_id[40];
    char user_id[40];
    long long expires;
    bool valid;
    long long epoch;
    enum api_role role;
};

/* A verified access token: the same bytes again need no second ECDSA verification (about
 * 90 µs) until CACHE_TTL_MS or the token's own expiry, whichever is first. */
struct token_entry {
    unsigned char hash[32];
    long long expires; /* monotonic ms */
    struct jwt_claims claims;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct key_entry key_cache[CACHE_SLOTS];
static struct session_entry session_cache[CACHE_SLOTS];
static struct token_entry token_cache[CACHE_SLOTS];

static size_t slot_of(const unsigned char *h)
{
    return ((size_t)h[0] | (size_t)h[1] << 8) % CACHE_SLOTS;
}

static size_t session_slot(const char *sid)
{
    unsigned char h[32];
    api_sha256(sid, strlen(sid), h);
    return slot_of(h);
}

void api_auth_forget_session(const char *session_id)
{
    size_t s = session_slot(session_id);
    pthread_mutex_lock(&cache_mu);
    if (strcmp(session_cache[s].session_id, session_id) == 0)
        session_cache[s].expires = 0;
    pthread_mutex_unlock(&cache_mu);
}

void api_auth_forget_user(const char *user_id)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (strcmp(session_cache[i].user_id, user_id) == 0)
            session_cache[i].expires = 0;
    pthread_mutex_unlock(&cache_mu);
    api_me_forget_user(user_id);
}

void api_auth_forget_key(const char *key_id)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (strcmp(key_cache[i].key_id, key_id) == 0)
            key_cache[i].expires = 0;
    pthread_mutex_unlock(&cache_mu);
}

/* ---- authentication ---- */

static enum err_code auth_key(struct api_req *req, const char *tok, struct err *err)
{
    unsigned char h[32];
    char tenant[37];
    const char *kind = strncmp(tok, "pri_", 4) == 0 ? "pri" : "prk";
    struct key_entry *e;
    struct db_apikey k;
    struct db_tx *tx = NULL;
    bool found = false;
    enum err_code rc;
    size_t s;

    if (!opaque_parse(tok, kind, tenant))
        return err_set(err, ERR_UNAUTHENTICATED, "invalid API key");
    api_sha256(tok, strlen(tok), h);
    s = slot_of(h);
    pthread_mutex_lock(&cache_mu);
    e = &key_cache[s];
    if (e->expires > now_ms() && CRYPTO_memcmp(e->hash, h, 32) == 0) {
        req->who.actor = API_ACTOR_KEY;
        req->who.role = e->role;
        memcpy(req->who.tenant_id, e->tenant_id, sizeof e->tenant_id);
        memcpy(req->who.key_id, e->key_id, sizeof e->key_id);
        pthread_mutex_unlock(&cache_mu);
        return ERR_OK;
    }
    pthread_mutex_unlock(&cache_mu);

    rc = db_tx_tenant(req->db, tenant, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = db_apikey_use(tx, h, &k, &found, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    if (!found || strcmp(k.kind, strcmp(kind, "pri") == 0 ? "ingest" : "automation") != 0)
        return err_set(err, ERR_UNAUTHENTICATED, "invalid API key");
    req->who.actor = API_ACTOR_KEY;
    if (!api_role_parse(k.role, &req->who.role))
        return err_set(err, ERR_UNAUTHENTICATED, "invalid API key");
    snprintf(req->who.tenant_id, sizeof req->who.tenant_id, "%s", tenant);
    snprintf(req->who.key_id, sizeof req->who.key_id, "%s", k.key_id);
    pthread_mutex_lock(&cache_mu);
    e = &key_cache[s];
    memcpy(e->hash, h, 32);
    e->expires = now_ms() + CACHE_TTL_MS;
    memcpy(e->tenant_id, req->who.tenant_id, sizeof e->tenant_id);
    memcpy(e->key_id, req->who.key_id, sizeof e->key_id);
    e->role = req->who.role;
    pthread_mutex_unlock(&cache_mu);
    return ERR_OK;
}

static enum err_code auth_jwt(struct api_req *req, const char *tok, struct err *err)
{
    struct jwt_claims c;
    struct session_entry se = {0};
    struct db_session_state st;
    struct db_tx *tx = NULL;
    enum err_code rc;
    size_t s;
    bool hit = false;

    {
        unsigned char h[32];
        long long wall = (long long)time(NULL);
        struct token_entry *te;
        size_t ts;

        api_sha256(tok, strlen(tok), h);
        ts = slot_of(h);
        pthread_mutex_lock(&cache_mu);
        te = &token_cache[ts];
        if (te->expires > now_ms() && CRYPTO_memcmp(te->hash, h, 32) == 0 &&
            te->claims.exp > wall - 60 /* the leeway jwt_verify allows */) {
            c = te->claims;
            hit = true;
        }
        pthread_mutex_unlock(&cache_mu);
        if (!hit) {
            rc = jwt_verify(req->app->jwt, tok, wall, &c, err);
            if (rc != ERR_OK)
                return err_set(err, ERR_UNAUTHENTICATED, "invalid or expired token");
            pthread_mutex_lock(&cache_mu);
            te = &token_cache[ts];
            memcpy(te->hash, h, 32);
            te->claims = c;
            te->expires = now_ms() + CACHE_TTL_MS;
            pthread_mutex_unlock(&cache_mu);
        }
        hit = false;
    }
    s = session_slot(c.sid);
    pthread_mutex_lock(&cache_mu);
    if (session_cache[s].expires > now_ms() && strcmp(session_cache[s].session_id, c.sid) == 0) {
        se = session_cache[s];
        hit = true;
    }
    pthread_mutex_unlock(&cache_mu);
    if (!hit) {
        rc = db_tx_tenant(req->db, c.tenant, &tx, err);
        if (rc != ERR_OK)
            return rc;
        rc = db_session_state(tx, c.sid, c.sub, &st, err);
        db_tx_rollback(tx);
        if (rc != ERR_OK)
            return rc;
        snprintf(se.session_id, sizeof se.session_id, "%s", c.sid);
        snprintf(se.user_id, sizeof se.user_id, "%s", c.sub);
        se.valid = st.valid && api_role_parse(st.role, &se.role);
        se.epoch = st.token_epoch;
        se.expires = now_ms() + CACHE_TTL_MS;
        pthread_mutex_lock(&cache_mu);
        session_cache[s] = se;
        pthread_mutex_unlock(&cache_mu);
    }
    if (!se.valid || se.epoch != c.epoch)
        return err_set(err, ERR_UNAUTHENTICATED, "the session has ended: sign in again");
    req->who.actor = API_ACTOR_USER;
    req->who.role = se.role; /* the current role, not the one at sign-in */
    snprintf(req->who.tenant_id, sizeof req->who.tenant_id, "%s", c.tenant);
    snprintf(req->who.user_id, sizeof req->who.user_id, "%s", c.sub);
    snprintf(req->who.session_id, sizeof req->who.session_id, "%s", c.sid);
    return ERR_OK;
}

/* Authenticates a credential (JWT or API key) and checks the route's role. */
static enum err_code authenticate_token(struct api_req *req, const char *tok, struct err *err)
{
    enum err_code rc;

    if (strlen(tok) > 4096)
        return err_set(err, ERR_UNAUTHENTICATED, "invalid credential");
    if (strncmp(tok, "prk_", 4) == 0 || strncmp(tok, "pri_", 4) == 0)
        rc = auth_key(req, tok, err);
    else
        rc = auth_jwt(req, tok, err);
    if (rc != ERR_OK) {
        memset(&req->who, 0, sizeof req->who);
        return rc;
    }
    snprintf(req->tenant_id, sizeof req->tenant_id, "%s", req->who.tenant_id);
    /* Telemetry routes take ingest keys only (not a user's token nor an automation key of any
     * role: telemetry is written by the shipper that holds the key), and ingest keys nothing
     * else. The ingest role is held by pri_ keys alone (api_keys: kind ingest <=> role ingest). */
    if (req->route->role == API_ROLE_INGEST && req->who.role != API_ROLE_INGEST)
        return err_set(err, ERR_FORBIDDEN, "only an ingest key (pri_...) may send telemetry");
    if (req->who.role < req->route->role ||
        (req->who.role == API_ROLE_INGEST && req->route->role != API_ROLE_INGEST))
        return err_set(err, ERR_FORBIDDEN, "this needs the %s role",
                       api_role_name(req->route->role));
    return ERR_OK;
}

enum err_code api_authenticate(struct api_req *req, const char *authorization, struct err *err)
{
    const char *tok;

    memset(&req->who, 0, sizeof req->who);
    if (req->route->role == API_ROLE_PUBLIC)
        return ERR_OK;
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return err_set(err, ERR_UNAUTHENTICATED, "an Authorization: Bearer credential is required");
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    return authenticate_token(req, tok, err);
}

enum err_code api_authenticate_key(struct api_req *req, const char *key, struct err *err)
{
    memset(&req->who, 0, sizeof req->who);
    if (key == NULL || key[0] == '\0')
        return err_set(err, ERR_UNAUTHENTICATED, "an API key is required");
    /* Only API keys: a JWT sits in Authorization, never in a protocol's key header. */
    if (strncmp(key, "prk_", 4) != 0 && strncmp(key, "pri_", 4) != 0)
        return err_set(err, ERR_UNAUTHENTICATED, "invalid API key");
    return authenticate_token(req, key, err);
}

/* ---- issuing tokens ---- */

enum err_code api_issue_tokens(struct api_req *req, struct db_tx *tx, const char *tenant_id,
                               const char *user_id, const char *role, long long epoch,
                               const char *session_id, json_t *resp, struct err *err)
{
    char refresh[OPAQUE_LEN + 1];
    unsigned char h[32];
    struct jwt_claims c;
    char *access = NULL;
    long long now = (long long)time(NULL);
    enum err_code rc;

    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", user_id);
    snprintf(c.tenant, sizeof c.tenant, "%s", tenant_id);
    snprintf(c.role, sizeof c.role, "%s", role);
    snprintf(c.sid, sizeof c.sid, "%s", session_id);
    api_uuid_new(c.jti);
    c.iat = now;
    c.nbf = now;
    c.exp = now + ACCESS_TTL_S;
    c.epoch = epoch;
    rc = jwt_sign(req->app->jwt, &c, &access, err);
    if (rc != ERR_OK)
        return rc;
    opaque_new("prt", tenant_id, refresh);
    api_sha256(refresh, strlen(refresh), h);
    rc = db_refresh_insert(tx, tenant_id, h, session_id, user_id, REFRESH_TTL_S, err);
    if (rc == ERR_OK) {
        json_object_set_new(resp, "access_token", json_string(access));
        json_object_set_new(resp, "refresh_token", json_string(refresh));
        json_object_set_new(resp, "token_type", json_string("Bearer"));
        json_object_set_new(resp, "expires_in", json_integer(ACCESS_TTL_S));
    }
    OPENSSL_cleanse(refresh, sizeof refresh);
    if (access != NULL) {
        OPENSSL_cleanse(access, strlen(access));
        free(access);
    }
    return rc;
}

void api_opaque_new(const char *kind, const char *tenant_id, char out[81])
{
    opaque_new(kind, tenant_id, out);
}

bool api_opaque_parse(const char *tok, const char *kind, char tenant[37])
{
    return opaque_parse(tok, kind, tenant);
}

enum err_code api_audit(struct api_req *req, struct db_tx *tx, const char *action,
                        const char *target_type, const char *target_id, struct err *err)
{
    struct db_audit a = {
        .actor_type = req->who.actor == API_ACTOR_KEY ? "api_key" : "user",
        .actor_id = req->who.actor == API_ACTOR_KEY ? req->who.key_id : req->who.user_id,
        .actor_role = api_role_name(req->who.role),
        .action = action,
        .target_type = target_type,
        .target_id = target_id,
        .source_ip = req->source_ip,
        .request_id = req->request_id,
    };
    if (a.actor_id != NULL && a.actor_id[0] == '\0')
        a.actor_id = NULL;
    return db_audit_append(tx, req->who.tenant_id, &a, err);
}

/* ---- pages ---- */

enum err_code api_page(struct api_req *req, int *limit, const char **cursor, struct err *err)
{
    const char *l = api_query_param(req, "limit");
    *limit = 50;
    *cursor = api_query_param(req, "cursor");
    if (l != NULL) {
        long v = strtol(l, NULL, 10);
        if (v < 1 || v > 500)
            return err_set_field(err, ERR_INVALID, "limit", "limit must be between 1 and 500");
        *limit = (int)v;
    }
    return ERR_OK;
}

struct unfiltered {
    api_list_fn list;
};

static enum err_code list_unfiltered(struct db_tx *tx, const void *filter, int limit,
                                     const char *cursor, json_t **items, char *next,
                                     size_t nextlen, struct err *err)
{
    return ((const struct unfiltered *)filter)->list(tx, limit, cursor, items, next, nextlen, err);
}

enum err_code api_reply_list(struct api_req *req, api_list_fn list, enum api_cursor kind,
                             struct err *err)
{
    struct unfiltered u = {list};
    return api_reply_list_filtered(req, list_unfiltered, &u, kind, err);
}

enum err_code api_delete_audited(struct api_req *req,
                                 enum err_code (*del)(struct db_tx *tx, const char *id, bool *found,
                                                      struct err *err),
                                 const char *what, const char *action, struct err *err)
{
    const char *id = api_path_param(req, "id");
    char target[32];
    struct db_tx *tx = NULL;
    bool found = false;
    enum err_code rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);

    /* The audit target type is the action's prefix: "api_key" of "api_key.revoke". */
    snprintf(target, sizeof target, "%.*s", (int)strcspn(action, "."), action);
    if (rc == ERR_OK)
        rc = del(tx, id, &found, err);
    if (rc == ERR_OK && !found)
        rc = err_set(err, ERR_NOT_FOUND, "no such %s", what);
    if (rc == ERR_OK)
        rc = api_audit(req, tx, action, target, id, err);
    if (rc == ERR_OK) {
        rc = db_tx_commit(tx, err);
        tx = NULL;
    }
    db_tx_rollback(tx);
    return rc;
}

enum err_code api_page_cursor(struct api_req *req, enum api_cursor kind, int *limit,
                              const char **cursor, struct err *err)
{
    enum err_code rc = api_page(req, limit, cursor, err);

    if (rc != ERR_OK)
        return rc;
    if (*cursor != NULL &&
        (kind == API_CURSOR_UUID
             ? strlen(*cursor) != 36 || strspn(*cursor, "0123456789abcdef-") != 36
             : strlen(*cursor) == 0 || strlen(*cursor) > 18 ||
                   strspn(*cursor, "0123456789") != strlen(*cursor)))
        return err_set_field(err, ERR_INVALID, "cursor", "invalid cursor");
    return ERR_OK;
}

enum err_code api_reply_list_filtered(struct api_req *req, api_list_filtered_fn list,
                                      const void *filter, enum api_cursor kind, struct err *err)
{
    struct db_tx *tx = NULL;
    json_t *items = NULL;
    const char *cursor;
    char next[64];
    int limit;
    enum err_code rc;

    rc = api_page_cursor(req, kind, &limit, &cursor, err);
    if (rc == ERR_OK)
        rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = list(tx, filter, limit, cursor, &items, next, sizeof next, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    return api_reply_page(req, items, next);
}

enum err_code api_reply_text_list(struct api_req *req, api_text_list_fn list, const void *filter,
                                  enum api_cursor kind, struct err *err)
{
    struct db_tx *tx = NULL;
    struct db_text_page page = {0};
    const char *cursor;
    char *body;
    size_t cap, n;
    int limit;
    enum err_code rc;

    rc = api_page_cursor(req, kind, &limit, &cursor, err);
    if (rc == ERR_OK)
        rc = db_tx_tenant(req->db, req->who.tenant_id, &tx, err);
    if (rc != ERR_OK)
        return rc;
    rc = list(tx, filter, limit, cursor, &page, err);
    db_tx_rollback(tx);
    if (rc != ERR_OK)
        return rc;
    /* {"items":[...],"next_cursor":"..."|null}: the cursor is a uuid or a number, no escaping. */
    cap = page.len + sizeof page.next + 40;
    body = malloc(cap);
    if (body == NULL) {
        free(page.json);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    memcpy(body, "{\"items\":", 9);
    memcpy(body + 9, page.json, page.len);
    n = 9 + page.len;
    n += (size_t)snprintf(body + n, cap - n, page.next[0] ? ",\"next_cursor\":\"%s\"}"
                                                          : ",\"next_cursor\":null}%s",
                          page.next);
    free(page.json);
    return api_reply_buf(req, 200, "application/json", body, n);
}

void api_act_as_user(struct api_req *req, const char *tenant_id, const char *user_id,
                     const char *role, const char *session_id)
{
    req->who = (struct api_principal){.actor = API_ACTOR_USER};
    if (!api_role_parse(role, &req->who.role))
        req->who.role = API_ROLE_PUBLIC;
    snprintf(req->who.tenant_id, sizeof req->who.tenant_id, "%s", tenant_id);
    snprintf(req->who.user_id, sizeof req->who.user_id, "%s", user_id);
    snprintf(req->who.session_id, sizeof req->who.session_id, "%s", session_id ? session_id : "");
    snprintf(req->tenant_id, sizeof req->tenant_id, "%s", tenant_id);
}

enum err_code api_reply_page(struct api_req *req, json_t *items, const char *next)
{
    json_t *body = json_pack("{s:o, s:o}", "items", items, "next_cursor",
                             next && next[0] ? json_string(next) : json_null());
    if (body == NULL)
        return ERR_NOMEM;
    return api_reply_json(req, 200, body);
}
