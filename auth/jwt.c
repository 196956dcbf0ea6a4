#include "auth/jwt.h"

#include "server/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_PEM_MAX 65536       /* bytes of a key PEM, value or file */
#define SIG_B64_LEN 86          /* base64url of the 64-byte R||S of ES256 */
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z: time arithmetic stays far from overflow   \
                                 */
#define SEGMENT_MAX (JWT_TOKEN_MAX / 4 * 3) /* decoded bytes of the longest possible segment */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const roles[] = {"viewer", "devops", "secops", "admin", "owner"};

struct jwt_key {
    char kid[JWT_KID_LEN + 1];
    char *pub_pem; /* SubjectPublicKeyInfo PEM, NUL-terminated */
    size_t pub_len;
    EVP_PKEY *pub; /* parsed once: verification must not re-parse PEM per request */
};

struct jwt_keyring {
    struct jwt_key keys[JWT_KEYRING_MAX]; /* keys[0] is the signing key's public half */
    size_t count;
    char *sign_pem; /* PKCS#8 PEM of the signing key, NUL-terminated; wiped on free */
    size_t sign_len;
};

/* ---- base64url (RFC 4648 section 5), no padding ---- */

/* Writes the unpadded base64url of in[0..n) and a NUL into out; out needs 4 * n / 3 + 2 bytes. */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url_alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url_alphabet[v & 63];
    }
    out[o] = '\0';
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes s[0..n) into out (cap bytes). Only the canonical unpadded form is accepted: the unused
 * low bits of the last character must be zero, so each byte string has exactly one encoding and a
 * token cannot be altered without changing its signed text. */
static bool b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
    unsigned acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (n % 4 == 1 || n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1) > cap)
        return false;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return false;
    *outlen = o;
    return true;
}

/* ---- loading keys ---- */

/* OpenSSL would otherwise prompt on the terminal for an encrypted key; -1 refuses (0 would try an
 * empty passphrase). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Reads the PEM text of src (a PEM value, or the path of a file holding one) into a new
 * NUL-terminated buffer *pem of *len bytes; the caller wipes and frees it. what names the setting
 * in messages, which never quote the value. */
static enum err_code read_source(const char *what, const char *src, char **pem, size_t *len,
                                 struct err *err)
{
    enum err_code rc = ERR_OK;
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    int fd = -1;

    *pem = NULL;
    *len = 0;
    if (src == NULL || src[0] == '\0')
        return err_set(err, ERR_INVALID,
                       "%s: not set; expected an EC P-256 key as a PEM value or a path to one",
                       what);
    /* A PEM value pasted with a leading newline is still a PEM value, not a path. */
    if (strncmp(src + strspn(src, " \t\r\n"), "-----BEGIN", 10) == 0) {
        n = strnlen(src, KEY_PEM_MAX + 1);
        if (n > KEY_PEM_MAX)
            return err_set(err, ERR_INVALID, "%s: the PEM value is over %d bytes", what,
                           KEY_PEM_MAX);
        buf = malloc(n + 1);
        if (buf == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        memcpy(buf, src, n + 1);
        *pem = buf;
        *len = n;
        return ERR_OK;
    }
    /* The value is never quoted back: a mangled PEM or bare base64 key would land here. */
    fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = err_set(err, ERR_INVALID,
                     "%s: neither a PEM value (starting -----BEGIN) nor a file that can be "
                     "opened: %s",
                     what, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_INVALID, "%s: the path is not a regular file", what);
        goto out;
    }
    if (st.st_size <= 0 || st.st_size > KEY_PEM_MAX) {
        rc = err_set(err, ERR_INVALID, "%s: the file is empty or over %d bytes", what, KEY_PEM_MAX);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (n != (size_t)st.st_size) {
        rc = err_set(err, ERR_INVALID, "%s: cannot read the file", what);
        goto out;
    }
    buf[n] = '\0';
    *pem = buf;
    *len = n;
    buf = NULL;
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, n);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Checks that pkey is a sound EC key on P-256; a private key is checked against its public half. */
static enum err_code check_p256(const char *what, EVP_PKEY *pkey, bool private_key, struct err *err)
{
    char group[64];
    size_t glen = 0;
    EVP_PKEY_CTX *ctx = NULL;
    int ok;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
        const char *type = EVP_PKEY_get0_type_name(pkey);
        return err_set(err, ERR_INVALID, "%s: expected an EC P-256 key, got key type %s", what,
                       type != NULL ? type : "other than EC");
    }
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1) {
        ERR_clear_error();
        return err_set(err, ERR_INVALID,
                       "%s: expected an EC key on the named curve P-256 (prime256v1), got explicit "
                       "or unknown curve parameters",
                       what);
    }
    if (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)
        return err_set(err, ERR_INVALID,
                       "%s: expected an EC key on curve P-256 (prime256v1), got %s; ES256 needs "
                       "P-256",
                       what, group);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    ok = private_key ? EVP_PKEY_check(ctx) : EVP_PKEY_public_check(ctx);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1) {
        ERR_clear_error();
        return err_set(err, ERR_INVALID, "%s: the EC key fails its consistency check", what);
    }
    return ERR_OK;
}

/* Parses the PEM key in pem[0..len) into *out. A private key is always accepted; a public key only
 * when !need_private. */
static enum err_code parse_key(const char *what, const char *pem, size_t len, bool need_private,
                               EVP_PKEY **out, bool *is_private, struct err *err)
{
    enum err_code rc = ERR_OK;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;

    *out = NULL;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    *is_private = pkey != NULL;
    if (pkey == NULL) {
        ERR_clear_error();
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio == NULL)
            return err_set(err, ERR_NOMEM, "out of memory");
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        ERR_clear_error();
        if (pkey != NULL && need_private) {
            rc = err_set(err, ERR_INVALID,
                         "%s: this is a public key; signing needs the EC P-256 private key", what);
            goto out;
        }
        if (pkey == NULL) {
            rc = err_set(err, ERR_INVALID,
                         "%s: no PEM %skey found (encrypted keys are not supported)", what,
                         need_private ? "private " : "");
            goto out;
        }
    }
    rc = check_p256(what, pkey, *is_private, err);
    if (rc != ERR_OK)
        goto out;
    *out = pkey;
    pkey = NULL;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}

/* Copies the contents of a memory BIO into a new NUL-terminated string. BIO_free() wipes the BIO's
 * own buffer (OpenSSL frees BUF_MEM with OPENSSL_clear_free). */
static enum err_code bio_to_string(BIO *bio, char **out, size_t *len, struct err *err)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);

    if (n <= 0 || data == NULL)
        return err_set(err, ERR_INTERNAL, "cannot serialise the key");
    *out = malloc((size_t)n + 1);
    if (*out == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    memcpy(*out, data, (size_t)n);
    (*out)[n] = '\0';
    *len = (size_t)n;
    return ERR_OK;
}

/* Fills key with the public PEM and kid of pkey. */
static enum err_code make_public(EVP_PKEY *pkey, struct jwt_key *key, struct err *err)
{
    enum err_code rc = ERR_OK;
    unsigned char *der = NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    char b64[48];
    BIO *bio = NULL;
    int n;

    n = i2d_PUBKEY(pkey, &der);
    if (n <= 0 || EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != sizeof md) {
        rc = err_set(err, ERR_INTERNAL, "cannot encode the public key");
        goto out;
    }
    b64url_encode(md, sizeof md, b64);
    memcpy(key->kid, b64, JWT_KID_LEN);
    key->kid[JWT_KID_LEN] = '\0';
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1) {
        rc = err_set(err, ERR_INTERNAL, "cannot encode the public key");
        goto out;
    }
    rc = bio_to_string(bio, &key->pub_pem, &key->pub_len, err);
    if (rc == ERR_OK && EVP_PKEY_up_ref(pkey) == 1)
        key->pub = pkey;
    else if (rc == ERR_OK)
        rc = err_set(err, ERR_INTERNAL, "cannot keep the public key");
out:
    OPENSSL_free(der);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

enum err_code jwt_keyring_load(const char *pem_or_path, struct jwt_keyring **out, struct err *err)
{
    static const char what[] = "PARAPET_JWT_KEY";
    enum err_code rc;
    struct jwt_keyring *k = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *pem = NULL;
    size_t len = 0;
    bool is_private = false;

    *out = NULL;
    rc = read_source(what, pem_or_path, &pem, &len, err);
    if (rc != ERR_OK)
        goto out;
    rc = parse_key(what, pem, len, true, &pkey, &is_private, err);
    if (rc != ERR_OK)
        goto out;
    k = calloc(1, sizeof *k);
    if (k == NULL) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = make_public(pkey, &k->keys[0], err);
    if (rc != ERR_OK)
        goto out;
    k->count = 1;
    /* Re-encode as unencrypted PKCS#8 so libjwt signs with exactly the key checked here, whatever
     * else the PEM source held. */
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        ERR_clear_error();
        rc = err_set(err, ERR_INTERNAL, "cannot encode the private key");
        goto out;
    }
    rc = bio_to_string(bio, &k->sign_pem, &k->sign_len, err);
    if (rc != ERR_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    jwt_keyring_free(k);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    if (pem != NULL) {
        OPENSSL_cleanse(pem, len);
        free(pem);
    }
    return rc;
}

enum err_code jwt_keyring_add_verify_key(struct jwt_keyring *k, const char *pem_or_path,
                                         struct err *err)
{
    static const char what[] = "JWT verify key";
    enum err_code rc;
    struct jwt_key key = {{0}, NULL, 0, NULL};
    EVP_PKEY *pkey = NULL;
    char *pem = NULL;
    size_t len = 0;
    bool is_private = false;

    if (k == NULL)
        return err_set(err, ERR_INTERNAL, "no keyring");
    if (k->count >= JWT_KEYRING_MAX)
        return err_set(err, ERR_INVALID, "%s: at most %d keys", what, JWT_KEYRING_MAX);
    rc = read_source(what, pem_or_path, &pem, &len, err);
    if (rc != ERR_OK)
        goto out;
    rc = parse_key(what, pem, len, false, &pkey, &is_private, err);
    if (rc != ERR_OK)
        goto out;
    rc = make_public(pkey, &key, err);
    if (rc != ERR_OK)
        goto out;
    for (size_t i = 0; i < k->count; i++) {
        if (strcmp(k->keys[i].kid, key.kid) == 0) {
            rc = err_set(err, ERR_INVALID, "%s: key %s is already in the keyring", what, key.kid);
            goto out;
        }
    }
    k->keys[k->count++] = key;
    key.pub_pem = NULL;
    key.pub = NULL;
out:
    free(key.pub_pem);
    EVP_PKEY_free(key.pub);
    EVP_PKEY_free(pkey);
    if (pem != NULL) {
        OPENSSL_cleanse(pem, len);
        free(pem);
    }
    return rc;
}

void jwt_keyring_free(struct jwt_keyring *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < JWT_KEYRING_MAX; i++) {
        free(k->keys[i].pub_pem);
        EVP_PKEY_free(k->keys[i].pub);
    }
    if (k->sign_pem != NULL) {
        OPENSSL_cleanse(k->sign_pem, k->sign_len);
        free(k->sign_pem);
    }
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
}

const char *jwt_keyring_kid(const struct jwt_keyring *k)
{
    return k != NULL ? k->keys[0].kid : "";
}

/* ---- claims ---- */

/* A canonical UUID: 8-4-4-4-12 lower-case hex digits, as PostgreSQL prints them. */
static bool is_uuid(const char *s)
{
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return s[36] == '\0';
}

static bool is_role(const char *s)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, roles[i]) == 0)
            return true;
    return false;
}

static bool is_jti(const char *s)
{
    size_t n = strspn(s, b64url_alphabet);
    return n > 0 && s[n] == '\0';
}

/* The checks shared by signing and verifying, independent of the clock: NULL when c is a valid
 * set of claims, else the reason (for the debug log, never the client). */
static const char *claims_problem(const struct jwt_claims *c)
{
    if (memchr(c->sub, '\0', sizeof c->sub) == NULL || !is_uuid(c->sub))
        return "sub is not a UUID";
    if (memchr(c->tenant, '\0', sizeof c->tenant) == NULL || !is_uuid(c->tenant))
        return "tenant is not a UUID";
    if (memchr(c->sid, '\0', sizeof c->sid) == NULL || !is_uuid(c->sid))
        return "sid is not a UUID";
    if (memchr(c->role, '\0', sizeof c->role) == NULL || !is_role(c->role))
        return "unknown role";
    if (memchr(c->jti, '\0', sizeof c->jti) == NULL || !is_jti(c->jti))
        return "bad jti";
    if (c->epoch < 0)
        return "negative ep";
    if (c->iat <= 0 || c->iat > TIME_MAX || c->nbf <= 0 || c->nbf > TIME_MAX || c->exp <= 0 ||
        c->exp > TIME_MAX)
        return "time out of range";
    if (c->exp <= c->iat || c->exp - c->iat > JWT_MAX_LIFETIME_S)
        return "bad lifetime";
    if (c->nbf >= c->exp)
        return "nbf not before exp";
    return NULL;
}

/* Copies the string claim name into dst (cap bytes); false when absent, not a string, empty or too
 * long. */
static bool claim_string(const json_t *p, const char *name, char *dst, size_t cap)
{
    const json_t *v = json_object_get(p, name);
    size_t n;

    if (!json_is_string(v))
        return false;
    n = json_string_length(v);
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, json_string_value(v), n + 1);
    return strlen(dst) == n;
}

static bool claim_equals(const json_t *p, const char *name, const char *want)
{
    const json_t *v = json_object_get(p, name);
    return json_is_string(v) && json_string_length(v) == strlen(want) &&
           strcmp(json_string_value(v), want) == 0;
}

/* An integer claim (a JSON integer: not a real, string or boolean) within [min, max]. */
static bool claim_int(const json_t *p, const char *name, long long min, long long max,
                      long long *out)
{
    const json_t *v = json_object_get(p, name);
    json_int_t i;

    if (!json_is_integer(v))
        return false;
    i = json_integer_value(v);
    if (i < min || i > max)
        return false;
    *out = (long long)i;
    return true;
}

/* Fills c from the payload object; NULL when every claim is present and valid at now, else the
 * reason. *expired is set when the only fault is an exp in the past. */
static const char *check_payload(const json_t *p, long long now, struct jwt_claims *c,
                                 bool *expired)
{
    const char *problem;

    *expired = false;
    if (!json_is_object(p))
        return "payload is not an object";
    if (!claim_equals(p, "iss", JWT_ISSUER))
        return "wrong or missing iss";
    if (!claim_equals(p, "aud", JWT_AUDIENCE))
        return "wrong or missing aud";
    if (!claim_string(p, "sub", c->sub, sizeof c->sub) ||
        !claim_string(p, "tenant", c->tenant, sizeof c->tenant) ||
        !claim_string(p, "role", c->role, sizeof c->role) ||
        !claim_string(p, "sid", c->sid, sizeof c->sid) ||
        !claim_string(p, "jti", c->jti, sizeof c->jti))
        return "missing or mistyped string claim";
    if (!claim_int(p, "ep", 0, LLONG_MAX, &c->epoch) ||
        !claim_int(p, "iat", 1, TIME_MAX, &c->iat) || !claim_int(p, "nbf", 1, TIME_MAX, &c->nbf) ||
        !claim_int(p, "exp", 1, TIME_MAX, &c->exp))
        return "missing or mistyped integer claim";
    problem = claims_problem(c);
    if (problem != NULL)
        return problem;
    if (c->nbf > now + JWT_LEEWAY_S)
        return "not yet valid";
    if (c->iat > now + JWT_LEEWAY_S)
        return "issued in the future";
    if (c->exp <= now - JWT_LEEWAY_S) {
        *expired = true;
        return "expired";
    }
    return NULL;
}

/* ---- signing ---- */

enum err_code jwt_sign(const struct jwt_keyring *k, const struct jwt_claims *c, char **token,
                       struct err *err)
{
    enum err_code rc = ERR_OK;
    struct jwt_claims cc;
    json_t *claims = NULL;
    char *claims_json = NULL;
    jwt_t *j = NULL;
    char *tok = NULL;
    const char *problem;
    const char *dot;

    *token = NULL;
    if (k == NULL || c == NULL)
        return err_set(err, ERR_INTERNAL, "no keyring or claims");
    cc = *c;
    if (cc.jti[0] == '\0') {
        unsigned char r[16];
        if (RAND_bytes(r, sizeof r) != 1) {
            rc = err_set(err, ERR_INTERNAL, "no randomness for jti");
            goto out;
        }
        b64url_encode(r, sizeof r, cc.jti);
    }
    problem = claims_problem(&cc);
    if (problem != NULL) {
        rc = err_set(err, ERR_INVALID, "cannot sign: %s", problem);
        goto out;
    }
    claims = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "iss", JWT_ISSUER,
                       "aud", JWT_AUDIENCE, "sub", cc.sub, "tenant", cc.tenant, "role", cc.role,
                       "sid", cc.sid, "ep", (json_int_t)cc.epoch, "jti", cc.jti, "iat",
                       (json_int_t)cc.iat, "nbf", (json_int_t)cc.nbf, "exp", (json_int_t)cc.exp);
    if (claims != NULL)
        claims_json = json_dumps(claims, JSON_COMPACT);
    if (claims_json == NULL || jwt_new(&j) != 0) {
        rc = err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* libjwt writes "alg" and "typ":"JWT" itself; kid is the only header we add. */
    if (jwt_add_grants_json(j, claims_json) != 0 || jwt_add_header(j, "kid", k->keys[0].kid) != 0 ||
        jwt_set_alg(j, JWT_ALG_ES256, (const unsigned char *)k->sign_pem, (int)k->sign_len) != 0) {
        rc = err_set(err, ERR_INTERNAL, "cannot prepare the token");
        goto out;
    }
    tok = jwt_encode_str(j);
    if (tok == NULL) {
        rc = err_set(err, ERR_INTERNAL, "cannot sign the token");
        goto out;
    }
    /* libjwt 1.10 emits R||S (RFC 7518 3.4); make sure a different libjwt never slips DER out. */
    dot = strrchr(tok, '.');
    if (dot == NULL || strlen(dot + 1) != SIG_B64_LEN || strlen(tok) > JWT_TOKEN_MAX) {
        rc = err_set(err, ERR_INTERNAL, "the signer produced a malformed token");
        goto out;
    }
    *token = tok;
    tok = NULL;
out:
    free(tok);
    free(claims_json);
    json_decref(claims);
    jwt_free(j); /* wipes its copy of the key */
    return rc;
}

/* ---- verifying ---- */

static const struct jwt_key *find_key(const struct jwt_keyring *k, const char *kid)
{
    for (size_t i = 0; i < k->count; i++)
        if (strcmp(k->keys[i].kid, kid) == 0)
            return &k->keys[i];
    return NULL;
}

/* Decodes and parses one JSON segment; NULL unless it is canonical base64url of a JSON object
 * without duplicate members. */
static json_t *segment_json(const char *s, size_t n)
{
    unsigned char buf[SEGMENT_MAX];
    size_t len = 0;
    json_t *v;

    if (!b64url_decode(s, n, buf, sizeof buf, &len))
        return NULL;
    v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* NULL when the header is {"alg":"ES256", "kid":<a known kid>} with an optional "typ":"JWT" and
 * nothing else (no jku, x5u, x5c, jwk, crit, ...); else the reason. *key is the kid's key. */
static const char *check_header(const struct jwt_keyring *k, json_t *h, const struct jwt_key **key)
{
    const char *name;
    json_t *v;
    bool alg = false;

    *key = NULL;
    json_object_foreach(h, name, v)
    {
        if (strcmp(name, "alg") == 0) {
            if (!json_is_string(v) || json_string_length(v) != 5 ||
                strcmp(json_string_value(v), "ES256") != 0)
                return "alg is not ES256";
            alg = true;
        } else if (strcmp(name, "typ") == 0) {
            if (!json_is_string(v) || json_string_length(v) != 3 ||
                strcmp(json_string_value(v), "JWT") != 0)
                return "typ is not JWT";
        } else if (strcmp(name, "kid") == 0) {
            if (!json_is_string(v) || json_string_length(v) != JWT_KID_LEN)
                return "unknown kid";
            *key = find_key(k, json_string_value(v));
            if (*key == NULL)
                return "unknown kid";
        } else {
            return "unexpected header member";
        }
    }
    if (!alg)
        return "no alg";
    if (*key == NULL)
        return "no kid";
    return NULL;
}

/* ES256 (RFC 7518 3.4): ECDSA P-256 over SHA-256 of the signing input, the signature as R||S.
 * Verified with the key parsed at load: libjwt's jwt_decode() parses the PEM on every call
 * (about 0.4 ms, under a global OpenSSL lock), which made token checks the bottleneck. */
static bool es256_verify(EVP_PKEY *pub, const char *input, size_t inlen, const unsigned char rs[64])
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL);
    BIGNUM *s = BN_bin2bn(rs + 32, 32, NULL);
    EVP_MD_CTX *ctx = NULL;
    unsigned char *der = NULL;
    int derlen;
    bool ok = false;

    if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    derlen = i2d_ECDSA_SIG(sig, &der);
    ctx = EVP_MD_CTX_new();
    ok = derlen > 0 && ctx != NULL &&
         EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input, inlen) == 1;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok;
}

enum err_code jwt_verify(const struct jwt_keyring *k, const char *token, long long now,
                         struct jwt_claims *out, struct err *err)
{
    enum err_code rc = ERR_OK;
    struct jwt_claims c;
    const struct jwt_key *key = NULL;
    json_t *header = NULL;
    json_t *payload = NULL;
    const char *why = NULL;
    const char *dot1;
    const char *dot2;
    unsigned char sig[64];
    size_t siglen = 0;
    size_t len;
    bool expired = false;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    if (k == NULL || now < 0 || now > TIME_MAX)
        return err_set(err, ERR_INTERNAL, "cannot verify tokens");
    if (token == NULL) {
        why = "no token";
        goto out;
    }
    /* Shape first: three canonical base64url segments of bounded size. */
    len = strnlen(token, JWT_TOKEN_MAX + 1);
    if (len > JWT_TOKEN_MAX) {
        why = "too long";
        goto out;
    }
    dot1 = memchr(token, '.', len);
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
        why = "not three segments";
        goto out;
    }
    if (strspn(token, b64url_alphabet) != (size_t)(dot1 - token) ||
        strspn(dot1 + 1, b64url_alphabet) != (size_t)(dot2 - dot1 - 1) ||
        strspn(dot2 + 1, b64url_alphabet) != len - (size_t)(dot2 + 1 - token) || dot1 == token ||
        dot2 == dot1 + 1) {
        why = "not base64url";
        goto out;
    }
    /* A decoder that ignores the unused low bits of the last character would let one
     * signature be spelled four ways; only the canonical spelling is accepted. */
    if (len - (size_t)(dot2 + 1 - token) != SIG_B64_LEN ||
        !b64url_decode(dot2 + 1, SIG_B64_LEN, sig, sizeof sig, &siglen) || siglen != 64) {
        why = "signature is not 64 bytes of R||S";
        goto out;
    }
    header = segment_json(token, (size_t)(dot1 - token));
    payload = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (header == NULL || payload == NULL) {
        why = "segment is not a JSON object";
        goto out;
    }
    why = check_header(k, header, &key);
    if (why != NULL)
        goto out;
    /* The header has pinned alg and key; the signature is checked with that key only. */
    if (!es256_verify(key->pub, token, (size_t)(dot2 - token), sig)) {
        why = "bad signature";
        goto out;
    }
    why = check_payload(payload, now, &c, &expired);
    if (why != NULL)
        goto out;
    *out = c;
out:
    if (why != NULL) {
        if (log_is_enabled(LOG_DEBUG))
            log_event(LOG_DEBUG, NULL, "auth.jwt_rejected", "{s:s}", "reason", why);
        rc = err_set(err, ERR_UNAUTHENTICATED, expired ? "token expired" : "invalid token");
    }
    json_decref(header);
    json_decref(payload);
    return rc;
}
