/* Unit tests for auth/jwt.h: keyring loading, ES256 signing and the verifier's refusal of every
 * known JWT attack (alg none, HS/RS confusion, kid and jku/x5u injection, foreign keys, malformed
 * shapes) and of bad claims. Attack tokens are crafted here with raw OpenSSL, most with a valid
 * ES256 signature so that only the one fault under test is present. Keys are generated per run. */
#include "auth/jwt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */
#define SUB "7c0a3f1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
#define TENANT "11111111-2222-4333-8444-555555555555"
#define SID "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

struct fixture {
    EVP_PKEY *key;  /* the signing key */
    char *priv_pem; /* its PKCS#8 PEM */
    char *pub_pem;  /* its SubjectPublicKeyInfo PEM, as the keyring stores it */
    struct jwt_keyring *ring;
    char kid[JWT_KID_LEN + 1];
    EVP_PKEY *other; /* another P-256 key, never in the keyring */
};

static struct fixture fx;

/* ---- helpers ---- */

static char *bio_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s;

    assert_true(n > 0);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    return s;
}

static char *private_pem(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s;

    assert_int_equal(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    s = bio_string(bio);
    BIO_free(bio);
    return s;
}

static char *public_pem(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s;

    assert_int_equal(PEM_write_bio_PUBKEY(bio, k), 1);
    s = bio_string(bio);
    BIO_free(bio);
    return s;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
}

/* Decodes unpadded base64url (test inputs only, assumed well-formed); returns the byte count. */
static size_t unb64url(const char *s, size_t n, unsigned char *out)
{
    char tmp[8192];
    size_t i;
    int r;

    assert_true(n + 4 < sizeof tmp);
    for (i = 0; i < n; i++)
        tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (i % 4 != 0)
        tmp[i++] = '=';
    tmp[i] = '\0';
    r = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)i);
    assert_true(r >= 0);
    return (size_t)r - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
}

/* "b64url(header).b64url(payload)", newly allocated. */
static char *signing_input(const char *header, const char *payload)
{
    size_t hn = strlen(header);
    size_t pn = strlen(payload);
    char *s = malloc(hn * 2 + pn * 2 + 8);

    assert_non_null(s);
    b64url((const unsigned char *)header, hn, s);
    hn = strlen(s);
    s[hn] = '.';
    b64url((const unsigned char *)payload, pn, s + hn + 1);
    return s;
}

enum sig_form { SIG_RS, SIG_DER };

/* ECDSA-SHA256 over input with key, as JWS R||S (RFC 7518 3.4) or as DER; returns its length. */
static size_t ecdsa_sign(EVP_PKEY *key, const char *input, enum sig_form form, unsigned char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    const unsigned char *p = der;
    size_t dlen = sizeof der;
    ECDSA_SIG *sig;
    const BIGNUM *r;
    const BIGNUM *s;

    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dlen, (const unsigned char *)input, strlen(input)),
                     1);
    EVP_MD_CTX_free(md);
    if (form == SIG_DER) {
        memcpy(out, der, dlen);
        return dlen;
    }
    sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    assert_non_null(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    assert_int_equal(BN_bn2binpad(r, out, 32), 32);
    assert_int_equal(BN_bn2binpad(s, out + 32, 32), 32);
    ECDSA_SIG_free(sig);
    return 64;
}

/* A compact token over header and payload JSON texts with the given raw signature bytes. */
static char *assemble(const char *header, const char *payload, const unsigned char *sig,
                      size_t siglen)
{
    char *in = signing_input(header, payload);
    size_t n = strlen(in);
    char *t = malloc(n + siglen * 2 + 8);

    assert_non_null(t);
    memcpy(t, in, n);
    t[n] = '.';
    b64url(sig, siglen, t + n + 1);
    free(in);
    return t;
}

/* A token over header and payload signed ES256 (R||S) with key. */
static char *es256_token(EVP_PKEY *key, const char *header, const char *payload)
{
    char *in = signing_input(header, payload);
    unsigned char sig[128];
    size_t n = ecdsa_sign(key, in, SIG_RS, sig);

    free(in);
    return assemble(header, payload, sig, n);
}

/* The header jwt_sign() writes, in compact JSON. */
static char *good_header(void)
{
    json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", fx.kid);
    char *s = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    return s;
}

/* A valid claim set at NOW; the caller edits it. New reference. */
static json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "iss", "parapet",
                     "aud", "parapet-api", "sub", SUB, "tenant", TENANT, "role", "admin", "sid",
                     SID, "ep", 3, "jti", "f0e1d2c3-b4a5-4968-8776-655443322110", "iat",
                     (json_int_t)NOW, "nbf", (json_int_t)NOW, "exp", (json_int_t)(NOW + 900));
}

/* Signs claims (stealing the reference) under the good header with the fixture key. */
static char *token_for(json_t *claims)
{
    char *h = good_header();
    char *p = json_dumps(claims, JSON_COMPACT);
    char *t = es256_token(fx.key, h, p);
    free(h);
    free(p);
    json_decref(claims);
    return t;
}

static void fill_claims(struct jwt_claims *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->sub, sizeof c->sub, "%s", SUB);
    snprintf(c->tenant, sizeof c->tenant, "%s", TENANT);
    snprintf(c->role, sizeof c->role, "%s", "secops");
    snprintf(c->sid, sizeof c->sid, "%s", SID);
    snprintf(c->jti, sizeof c->jti, "%s", "f0e1d2c3-b4a5-4968-8776-655443322110");
    c->iat = NOW;
    c->nbf = NOW;
    c->exp = NOW + 900;
    c->epoch = 7;
}

/* Asserts that token is refused with the generic, token-free detail. */
static void assert_rejected(const char *token, long long now)
{
    struct jwt_claims out;
    struct err err;

    memset(&err, 0, sizeof err);
    memset(&out, 0x55, sizeof out);
    assert_int_equal(jwt_verify(fx.ring, token, now, &out, &err), ERR_UNAUTHENTICATED);
    assert_true(strcmp(err.detail, "invalid token") == 0 ||
                strcmp(err.detail, "token expired") == 0);
    assert_int_equal(out.sub[0], 0); /* nothing leaks into the output on failure */
    assert_int_equal(out.exp, 0);
}

static void assert_accepted(const char *token, long long now)
{
    struct jwt_claims out;
    struct err err;

    memset(&err, 0, sizeof err);
    assert_int_equal(jwt_verify(fx.ring, token, now, &out, &err), ERR_OK);
    assert_string_equal(out.sub, SUB);
}

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);
    assert_non_null(k);
    return k;
}

static int setup(void **state)
{
    struct err err;
    (void)state;

    fx.key = ec_key("P-256");
    fx.other = ec_key("P-256");
    fx.priv_pem = private_pem(fx.key);
    fx.pub_pem = public_pem(fx.key);
    if (jwt_keyring_load(fx.priv_pem, &fx.ring, &err) != ERR_OK) {
        fprintf(stderr, "keyring: %s\n", err.detail);
        return -1;
    }
    snprintf(fx.kid, sizeof fx.kid, "%s", jwt_keyring_kid(fx.ring));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    jwt_keyring_free(fx.ring);
    EVP_PKEY_free(fx.key);
    EVP_PKEY_free(fx.other);
    free(fx.priv_pem);
    free(fx.pub_pem);
    return 0;
}

/* ---- signing and the signature format ---- */

static void test_sign_then_verify_round_trips_every_claim(void **state)
{
    struct jwt_claims c;
    struct jwt_claims out;
    struct err err;
    char *tok = NULL;
    (void)state;

    fill_claims(&c);
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_OK);
    assert_int_equal(jwt_verify(fx.ring, tok, NOW + 10, &out, &err), ERR_OK);
    assert_string_equal(out.sub, c.sub);
    assert_string_equal(out.tenant, c.tenant);
    assert_string_equal(out.role, c.role);
    assert_string_equal(out.sid, c.sid);
    assert_string_equal(out.jti, c.jti);
    assert_true(out.iat == c.iat && out.nbf == c.nbf && out.exp == c.exp);
    assert_true(out.epoch == 7);
    free(tok);
}

static void test_signed_header_is_exactly_alg_typ_kid_and_claims_are_complete(void **state)
{
    struct jwt_claims c;
    struct err err;
    char *tok = NULL;
    unsigned char buf[2048];
    const char *dot1;
    const char *dot2;
    json_t *h;
    json_t *p;
    size_t n;
    (void)state;

    fill_claims(&c);
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_OK);
    dot1 = strchr(tok, '.');
    dot2 = strchr(dot1 + 1, '.');
    n = unb64url(tok, (size_t)(dot1 - tok), buf);
    h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(h);
    assert_int_equal(json_object_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), fx.kid);
    n = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf);
    p = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(p);
    assert_int_equal(json_object_size(p), 11);
    assert_string_equal(json_string_value(json_object_get(p, "iss")), "parapet");
    assert_string_equal(json_string_value(json_object_get(p, "aud")), "parapet-api");
    assert_true(json_integer_value(json_object_get(p, "ep")) == 7);
    assert_int_equal(strlen(dot2 + 1), 86); /* 64 bytes: R||S, not DER */
    json_decref(h);
    json_decref(p);
    free(tok);
}

/* libjwt 1.10's signatures are JWS R||S: OpenSSL verifies them once turned into DER. */
static void test_signature_is_jws_r_s_that_openssl_verifies(void **state)
{
    struct jwt_claims c;
    struct err err;
    char *tok = NULL;
    unsigned char rs[128];
    unsigned char *der = NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *dot;
    int dlen;
    (void)state;

    fill_claims(&c);
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_OK);
    dot = strrchr(tok, '.');
    assert_int_equal(unb64url(dot + 1, strlen(dot + 1), rs), 64);
    assert_int_equal(ECDSA_SIG_set0(sig, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL)), 1);
    dlen = i2d_ECDSA_SIG(sig, &der);
    assert_true(dlen > 0);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fx.key), 1);
    assert_int_equal(
        EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)tok, (size_t)(dot - tok)),
        1);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    free(tok);
}

/* And the other way: an R||S signature made with plain OpenSSL verifies, a DER one does not. */
static void test_openssl_r_s_signature_verifies_and_der_is_rejected(void **state)
{
    char *h = good_header();
    json_t *claims = good_claims();
    char *p = json_dumps(claims, JSON_COMPACT);
    char *in = signing_input(h, p);
    unsigned char sig[128];
    size_t n;
    char *tok;
    (void)state;

    n = ecdsa_sign(fx.key, in, SIG_RS, sig);
    tok = assemble(h, p, sig, n);
    assert_accepted(tok, NOW);
    free(tok);
    n = ecdsa_sign(fx.key, in, SIG_DER, sig);
    assert_true(n > 64 && n <= 72);
    tok = assemble(h, p, sig, n);
    assert_rejected(tok, NOW);
    free(tok);
    free(in);
    free(p);
    free(h);
    json_decref(claims);
}

/* RFC 7515 Appendix A.3: the RFC's own ES256 JWS, with the public key from its JWK (x, y), is
 * accepted by libjwt's signature check, proving libjwt reads R||S as the RFC does. jwt_verify()
 * itself refuses it (no kid, no claims of ours). */
static void test_rfc7515_a3_example_signature_verifies_in_libjwt(void **state)
{
    static const char token[] =
        "eyJhbGciOiJFUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ"
        ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    static const char x[] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    static const char y[] = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    unsigned char point[65];
    unsigned char tmp[64];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pub = NULL;
    char *pem;
    char flipped[sizeof token];
    jwt_t *j = NULL;
    (void)state;

    point[0] = 0x04; /* uncompressed: 04 || x || y */
    assert_int_equal(unb64url(x, strlen(x), tmp), 32);
    memcpy(point + 1, tmp, 32);
    assert_int_equal(unb64url(y, strlen(y), tmp), 32);
    memcpy(point + 33, tmp, 32);
    assert_int_equal(
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
    assert_int_equal(
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params), 1);
    pem = public_pem(pub);

    assert_int_equal(jwt_decode(&j, token, (const unsigned char *)pem, (int)strlen(pem)), 0);
    assert_int_equal(jwt_get_alg(j), JWT_ALG_ES256);
    assert_string_equal(jwt_get_grant(j, "iss"), "joe");
    jwt_free(j);
    j = NULL;
    memcpy(flipped, token, sizeof token);
    flipped[sizeof token - 3] = flipped[sizeof token - 3] == 'A' ? 'B' : 'A';
    assert_int_not_equal(jwt_decode(&j, flipped, (const unsigned char *)pem, (int)strlen(pem)), 0);
    jwt_free(j);
    assert_rejected(token, 1300819000);

    free(pem);
    EVP_PKEY_free(pub);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
}

static void test_sign_generates_a_jti_when_empty(void **state)
{
    struct jwt_claims c;
    struct jwt_claims out;
    struct err err;
    char *tok = NULL;
    (void)state;

    fill_claims(&c);
    c.jti[0] = '\0';
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_OK);
    assert_int_equal(jwt_verify(fx.ring, tok, NOW, &out, &err), ERR_OK);
    assert_int_equal(strlen(out.jti), 22); /* 128 random bits in base64url */
    free(tok);
}

static void test_sign_refuses_claims_the_verifier_would_reject(void **state)
{
    struct jwt_claims c;
    struct err err;
    char *tok = NULL;
    (void)state;

    fill_claims(&c);
    snprintf(c.sub, sizeof c.sub, "%s", "not-a-uuid");
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_INVALID);
    assert_null(tok);
    fill_claims(&c);
    snprintf(c.role, sizeof c.role, "%s", "root");
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_INVALID);
    fill_claims(&c);
    c.exp = c.iat + JWT_MAX_LIFETIME_S + 1;
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_INVALID);
    fill_claims(&c);
    c.epoch = -1;
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_INVALID);
    fill_claims(&c);
    snprintf(c.jti, sizeof c.jti, "%s", "has space");
    assert_int_equal(jwt_sign(fx.ring, &c, &tok, &err), ERR_INVALID);
    assert_null(tok);
}

/* ---- time ---- */

static char *token_with_times(long long iat, long long nbf, long long exp)
{
    json_t *c = good_claims();
    json_object_set_new(c, "iat", json_integer(iat));
    json_object_set_new(c, "nbf", json_integer(nbf));
    json_object_set_new(c, "exp", json_integer(exp));
    return token_for(c);
}

static void test_expired_token_is_rejected_as_expired(void **state)
{
    struct jwt_claims out;
    struct err err;
    char *tok = token_with_times(NOW - 2000, NOW - 2000, NOW - 1100);
    (void)state;

    assert_int_equal(jwt_verify(fx.ring, tok, NOW, &out, &err), ERR_UNAUTHENTICATED);
    assert_string_equal(err.detail, "token expired");
    free(tok);
}

static void test_expiry_has_sixty_seconds_of_leeway(void **state)
{
    char *tok = token_with_times(NOW - 900, NOW - 900, NOW);
    (void)state;

    assert_accepted(tok, NOW + 59);  /* inside the leeway */
    assert_rejected(tok, NOW + 60);  /* exp <= now - 60 */
    assert_rejected(tok, NOW + 600); /* well outside */
    free(tok);
}

static void test_not_yet_valid_token_is_rejected_outside_leeway(void **state)
{
    char *tok = token_with_times(NOW, NOW + 100, NOW + 900);
    (void)state;

    assert_rejected(tok, NOW);      /* nbf is 100 s ahead */
    assert_rejected(tok, NOW + 39); /* 61 s ahead */
    assert_accepted(tok, NOW + 40); /* 60 s ahead: inside the leeway */
    assert_accepted(tok, NOW + 100);
    free(tok);
}

static void test_token_issued_in_the_future_is_rejected(void **state)
{
    char *tok = token_with_times(NOW + 61, NOW, NOW + 900);
    (void)state;

    assert_rejected(tok, NOW);
    free(tok);
    tok = token_with_times(NOW + 60, NOW, NOW + 900);
    assert_accepted(tok, NOW);
    free(tok);
}

static void test_absurd_lifetimes_are_rejected(void **state)
{
    char *tok = token_with_times(NOW, NOW, NOW + 3601);
    (void)state;

    assert_rejected(tok, NOW);
    free(tok);
    tok = token_with_times(NOW, NOW, NOW + 3600);
    assert_accepted(tok, NOW);
    free(tok);
    tok = token_with_times(NOW, NOW, NOW); /* exp == iat */
    assert_rejected(tok, NOW);
    free(tok);
    tok = token_with_times(NOW - 10, NOW, 253402300800LL); /* year 10000 */
    assert_rejected(tok, NOW);
    free(tok);
}

/* ---- claims ---- */

static void test_wrong_iss_aud_role_sub_are_rejected(void **state)
{
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"iss", "parapet2"},
        {"iss", "Parapet"},
        {"iss", ""},
        {"aud", "parapet"},
        {"aud", "parapet-api "},
        {"role", "superuser"},
        {"role", "Admin"},
        {"role", ""},
        {"sub", "not-a-uuid"},
        {"sub", "7C0A3F1E-2B4D-4E6F-8A9B-0C1D2E3F4A5B"}, /* not canonical lower case */
        {"sub", "7c0a3f1e2b4d4e6f8a9b0c1d2e3f4a5b"},
        {"sub", "7c0a3f1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b0"},
        {"tenant", "../other-tenant"},
        {"sid", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee"},
        {"jti", "has space"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *c = good_claims();
        char *tok;
        json_object_set_new(c, bad[i].name, json_string(bad[i].value));
        tok = token_for(c);
        assert_rejected(tok, NOW);
        free(tok);
    }
}

static void test_audience_array_is_rejected(void **state)
{
    json_t *c = good_claims();
    char *tok;
    (void)state;

    json_object_set_new(c, "aud", json_pack("[s]", "parapet-api"));
    tok = token_for(c);
    assert_rejected(tok, NOW);
    free(tok);
}

static void test_missing_any_required_claim_is_rejected(void **state)
{
    static const char *const names[] = {"iss", "aud", "sub", "tenant", "role", "sid",
                                        "ep",  "jti", "iat", "nbf",    "exp"};
    char *tok = token_for(good_claims());
    (void)state;

    assert_accepted(tok, NOW); /* the control */
    free(tok);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *c = good_claims();
        assert_int_equal(json_object_del(c, names[i]), 0);
        tok = token_for(c);
        assert_rejected(tok, NOW);
        free(tok);
    }
}

static void test_claims_of_the_wrong_type_are_rejected(void **state)
{
    static const char *const strings[] = {"iss", "aud", "sub", "tenant", "role", "sid", "jti"};
    static const char *const ints[] = {"ep", "iat", "nbf", "exp"};
    (void)state;

    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        json_t *wrong[] = {json_integer(1), json_true(), json_null(), json_pack("[]"),
                           json_pack("{}")};
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            json_t *c = good_claims();
            char *tok;
            json_object_set_new(c, strings[i], wrong[w]);
            tok = token_for(c);
            assert_rejected(tok, NOW);
            free(tok);
        }
    }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        long long v = strcmp(ints[i], "ep") == 0    ? 3
                      : strcmp(ints[i], "exp") == 0 ? NOW + 900
                                                    : NOW;
        char num[32];
        json_t *wrong[5];
        snprintf(num, sizeof num, "%lld", v);
        wrong[0] = json_string(num);
        wrong[1] = json_real((double)v);
        wrong[2] = json_true();
        wrong[3] = json_null();
        wrong[4] = json_pack("[I]", (json_int_t)v);
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            json_t *c = good_claims();
            char *tok;
            json_object_set_new(c, ints[i], wrong[w]);
            tok = token_for(c);
            assert_rejected(tok, NOW);
            free(tok);
        }
    }
}

static void test_negative_epoch_is_rejected(void **state)
{
    json_t *c = good_claims();
    char *tok;
    (void)state;

    json_object_set_new(c, "ep", json_integer(-1));
    tok = token_for(c);
    assert_rejected(tok, NOW);
    free(tok);
}

static void test_duplicate_members_are_rejected(void **state)
{
    char *h = good_header();
    char payload[1024];
    char header[256];
    char *tok;
    (void)state;

    /* A second "sub" could be read differently by libjwt and by us: refuse it outright. */
    snprintf(payload, sizeof payload,
             "{\"iss\":\"parapet\",\"aud\":\"parapet-api\",\"sub\":\"%s\",\"tenant\":\"%s\","
             "\"role\":\"admin\",\"sid\":\"%s\",\"ep\":1,\"jti\":\"j1\",\"iat\":%lld,"
             "\"nbf\":%lld,\"exp\":%lld,\"sub\":\"%s\"}",
             SUB, TENANT, SID, NOW, NOW, NOW + 60, TENANT);
    tok = es256_token(fx.key, h, payload);
    assert_rejected(tok, NOW);
    free(tok);
    snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"kid\":\"%s\",\"alg\":\"none\"}", fx.kid);
    tok = es256_token(fx.key, header, payload);
    assert_rejected(tok, NOW);
    free(tok);
    free(h);
}

/* ---- header attacks ---- */

static char *token_with_header(const char *header)
{
    json_t *c = good_claims();
    char *p = json_dumps(c, JSON_COMPACT);
    char *tok = es256_token(fx.key, header, p);
    free(p);
    json_decref(c);
    return tok;
}

static void test_alg_none_is_rejected_in_every_spelling(void **state)
{
    static const char *const spellings[] = {"none", "None", "NONE", "nOnE"};
    json_t *c = good_claims();
    char *p = json_dumps(c, JSON_COMPACT);
    (void)state;

    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        char header[256];
        char *in;
        char *tok;

        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                 spellings[i], fx.kid);
        /* Unsigned: "header.payload." */
        in = signing_input(header, p);
        tok = malloc(strlen(in) + 2);
        assert_non_null(tok);
        snprintf(tok, strlen(in) + 2, "%s.", in);
        assert_rejected(tok, NOW);
        free(tok);
        free(in);
        /* With a genuine ES256 signature over the none header. */
        tok = es256_token(fx.key, header, p);
        assert_rejected(tok, NOW);
        free(tok);
        /* Without a kid. */
        snprintf(header, sizeof header, "{\"alg\":\"%s\"}", spellings[i]);
        tok = es256_token(fx.key, header, p);
        assert_rejected(tok, NOW);
        free(tok);
    }
    free(p);
    json_decref(c);
}

/* The classic confusion: HMAC keyed with the (public) verification PEM. libjwt 1.10 alone accepts
 * such a token when handed the PEM; jwt_verify() must not. HS512 gives a 64-byte tag, the same
 * length as an ES256 signature, so the header check (not the length check) is what stops it. */
static void test_hmac_signed_with_the_public_key_is_rejected(void **state)
{
    static const struct {
        const char *alg;
        const EVP_MD *(*md)(void);
    } algs[] = {{"HS256", EVP_sha256}, {"HS512", EVP_sha512}};
    json_t *c = good_claims();
    char *p = json_dumps(c, JSON_COMPACT);
    (void)state;

    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        char header[256];
        unsigned char mac[64];
        unsigned int mlen = 0;
        char *in;
        char *tok;
        jwt_t *j = NULL;

        snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                 algs[i].alg, fx.kid);
        in = signing_input(header, p);
        assert_non_null(HMAC(algs[i].md(), fx.pub_pem, (int)strlen(fx.pub_pem),
                             (const unsigned char *)in, strlen(in), mac, &mlen));
        tok = assemble(header, p, mac, mlen);
        /* Proof that the token is a real attack on libjwt 1.10 used naively. */
        assert_int_equal(
            jwt_decode(&j, tok, (const unsigned char *)fx.pub_pem, (int)strlen(fx.pub_pem)), 0);
        jwt_free(j);
        assert_rejected(tok, NOW);
        free(tok);
        free(in);
    }
    free(p);
    json_decref(c);
}

static void test_rs256_header_is_rejected(void **state)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[512];
    size_t slen = sizeof sig;
    char header[256];
    json_t *c = good_claims();
    char *p = json_dumps(c, JSON_COMPACT);
    char *in;
    char *tok;
    (void)state;

    assert_non_null(rsa);
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", fx.kid);
    in = signing_input(header, p);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, rsa), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &slen, (const unsigned char *)in, strlen(in)), 1);
    tok = assemble(header, p, sig, slen);
    assert_rejected(tok, NOW);
    free(tok);
    /* Same header with a valid ES256 signature, and the other ES and PS algorithms. */
    tok = es256_token(fx.key, header, p);
    assert_rejected(tok, NOW);
    free(tok);
    {
        static const char *const others[] = {"ES384",  "ES512", "PS256", "es256",
                                             "ES256 ", "",      "EdDSA"};
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", others[i], fx.kid);
            tok = es256_token(fx.key, header, p);
            assert_rejected(tok, NOW);
            free(tok);
        }
    }
    free(in);
    free(p);
    json_decref(c);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(rsa);
}

static void test_kid_naming_a_file_or_unknown_is_rejected(void **state)
{
    static const char *const kids[] = {"../../etc/passwd", "/dev/null", "/etc/passwd",
                                       "AAAAAAAAAAAAAAAA", "",          "file:///etc/passwd"};
    char header[256];
    char *tok;
    (void)state;

    for (size_t i = 0; i < sizeof kids / sizeof kids[0]; i++) {
        snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                 kids[i]);
        tok = token_with_header(header);
        assert_rejected(tok, NOW);
        free(tok);
    }
    tok = token_with_header("{\"alg\":\"ES256\",\"typ\":\"JWT\"}"); /* no kid */
    assert_rejected(tok, NOW);
    free(tok);
    snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"kid\":%s}", "12345");
    tok = token_with_header(header); /* kid of the wrong type */
    assert_rejected(tok, NOW);
    free(tok);
    /* The control: the same construction with the real kid and no typ passes. */
    snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"kid\":\"%s\"}", fx.kid);
    tok = token_with_header(header);
    assert_accepted(tok, NOW);
    free(tok);
}

static void test_key_url_and_embedded_key_headers_are_rejected(void **state)
{
    static const char *const extra[] = {
        "\"jku\":\"https://attacker.example/jwks.json\"",
        "\"x5u\":\"https://attacker.example/cert.pem\"",
        "\"x5c\":[\"MIIB\"]",
        "\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
        "\"crit\":[\"exp\"]",
        "\"b64\":false",
        "\"cty\":\"JWT\"",
        "\"x5t#S256\":\"AA\"",
    };
    char header[512];
    char *tok;
    (void)state;

    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\",%s}",
                 fx.kid, extra[i]);
        tok = token_with_header(header);
        assert_rejected(tok, NOW);
        free(tok);
    }
    snprintf(header, sizeof header, "{\"alg\":\"ES256\",\"typ\":\"jwt\",\"kid\":\"%s\"}", fx.kid);
    tok = token_with_header(header); /* typ other than JWT */
    assert_rejected(tok, NOW);
    free(tok);
    tok = token_with_header("[\"ES256\"]"); /* header not an object */
    assert_rejected(tok, NOW);
    free(tok);
}

/* ---- keys and signatures ---- */

static void test_token_signed_by_another_key_is_rejected(void **state)
{
    char *h = good_header(); /* claims our kid */
    json_t *c = good_claims();
    char *p = json_dumps(c, JSON_COMPACT);
    char *tok = es256_token(fx.other, h, p);
    (void)state;

    assert_rejected(tok, NOW);
    free(tok);
    free(p);
    free(h);
    json_decref(c);
}

static void test_tampered_signature_or_payload_is_rejected(void **state)
{
    char *tok = token_for(good_claims());
    char *dot = strrchr(tok, '.');
    unsigned char sig[64];
    char *copy;
    (void)state;

    assert_accepted(tok, NOW);
    for (size_t bit = 0; bit < 512; bit += 37) {
        copy = strdup(tok);
        assert_int_equal(unb64url(dot + 1, strlen(dot + 1), sig), 64);
        sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        b64url(sig, sizeof sig, copy + (dot + 1 - tok));
        assert_rejected(copy, NOW);
        free(copy);
    }
    /* The payload swapped for a well-formed one granting "owner", keeping the signature. */
    {
        json_t *c = good_claims();
        char *h = good_header();
        char *p;
        char *in;
        json_object_set_new(c, "role", json_string("owner"));
        p = json_dumps(c, JSON_COMPACT);
        in = signing_input(h, p);
        copy = malloc(strlen(in) + strlen(dot) + 1);
        assert_non_null(copy);
        snprintf(copy, strlen(in) + strlen(dot) + 1, "%s%s", in, dot);
        assert_rejected(copy, NOW);
        free(copy);
        free(in);
        free(p);
        free(h);
        json_decref(c);
    }
    free(tok);
}

static void test_malformed_tokens_are_rejected(void **state)
{
    char *tok = token_for(good_claims());
    size_t n = strlen(tok);
    char *t = malloc(n + 16);
    char *big;
    const char *dot2 = strrchr(tok, '.');
    (void)state;

    assert_non_null(t);
    assert_rejected(NULL, NOW);
    assert_rejected("", NOW);
    assert_rejected("..", NOW);
    assert_rejected("a.b.c", NOW);
    /* Truncated: the last signature character, the whole signature, the payload too. */
    memcpy(t, tok, n - 1);
    t[n - 1] = '\0';
    assert_rejected(t, NOW);
    memcpy(t, tok, (size_t)(dot2 - tok) + 1);
    t[dot2 - tok + 1] = '\0';
    assert_rejected(t, NOW);
    t[dot2 - tok] = '\0';
    assert_rejected(t, NOW);
    /* Four segments, and an empty middle one. */
    snprintf(t, n + 16, "%s.AAAA", tok);
    assert_rejected(t, NOW);
    snprintf(t, n + 16, "%.*s.%s", (int)(strchr(tok, '.') - tok), tok, dot2);
    assert_non_null(strstr(t, ".."));
    assert_rejected(t, NOW);
    /* Padding, and characters outside base64url. */
    snprintf(t, n + 16, "%s=", tok);
    assert_rejected(t, NOW);
    snprintf(t, n + 16, "%s==", tok);
    assert_rejected(t, NOW);
    {
        static const char bad[] = {'+', '/', ' ', '*', '=', '\n', '\t', '"', (char)0xC3};
        for (size_t i = 0; i < sizeof bad; i++) {
            snprintf(t, n + 16, "%s", tok);
            t[3] = bad[i];
            assert_rejected(t, NOW);
            snprintf(t, n + 16, "%s", tok);
            t[n - 2] = bad[i];
            assert_rejected(t, NOW);
        }
    }
    /* A non-canonical last signature character (unused low bits set). */
    snprintf(t, n + 16, "%s", tok);
    {
        const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        size_t v = (size_t)(strchr(a, t[n - 1]) - a);
        t[n - 1] = a[v ^ 1];
    }
    assert_rejected(t, NOW);
    /* Leading whitespace or a "Bearer " prefix are the caller's to strip. */
    snprintf(t, n + 16, " %s", tok);
    assert_rejected(t, NOW);
    /* 100 KiB. */
    big = malloc(100 * 1024 + 1);
    assert_non_null(big);
    memset(big, 'A', 100 * 1024);
    memcpy(big, tok, n);
    big[100 * 1024] = '\0';
    assert_rejected(big, NOW);
    /* Exactly one byte over the cap, in an otherwise valid shape. */
    memset(big, 'A', JWT_TOKEN_MAX + 1);
    big[20] = '.';
    big[40] = '.';
    big[JWT_TOKEN_MAX + 1] = '\0';
    assert_rejected(big, NOW);
    free(big);
    free(t);
    free(tok);
}

static void test_detail_never_echoes_the_token(void **state)
{
    struct jwt_claims out;
    struct err err;
    char *tok = token_with_header("{\"alg\":\"none\"}");
    (void)state;

    assert_int_equal(jwt_verify(fx.ring, tok, NOW, &out, &err), ERR_UNAUTHENTICATED);
    assert_string_equal(err.detail, "invalid token");
    assert_null(strstr(err.detail, "eyJ"));
    free(tok);
}

/* ---- loading keys ---- */

static void assert_load_fails(const char *src, const char *needle)
{
    struct jwt_keyring *k = (struct jwt_keyring *)1;
    struct err err;

    memset(&err, 0, sizeof err);
    assert_int_equal(jwt_keyring_load(src, &k, &err), ERR_INVALID);
    assert_null(k);
    if (strstr(err.detail, needle) == NULL)
        fail_msg("detail '%s' lacks '%s'", err.detail, needle);
    assert_null(strstr(err.detail, "MI")); /* never quotes key material */
}

static void test_null_or_empty_key_is_refused(void **state)
{
    (void)state;
    assert_load_fails(NULL, "not set");
    assert_load_fails("", "not set");
}

static void test_other_curves_and_key_types_are_refused(void **state)
{
    EVP_PKEY *p384 = ec_key("P-384");
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char *pem;
    (void)state;

    pem = private_pem(p384);
    assert_load_fails(pem, "P-256");
    assert_load_fails(pem, "secp384r1");
    free(pem);
    pem = private_pem(rsa);
    assert_load_fails(pem, "RSA");
    free(pem);
    pem = private_pem(ed);
    assert_load_fails(pem, "EC P-256");
    free(pem);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
}

static void test_public_garbage_and_encrypted_keys_are_refused(void **state)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *enc;
    (void)state;

    assert_load_fails(fx.pub_pem, "public key");
    assert_load_fails("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
                      "no PEM private key");
    /* Encrypted: refused without prompting for a passphrase. */
    assert_int_equal(PEM_write_bio_PrivateKey(bio, fx.key, EVP_aes_256_cbc(),
                                              (const unsigned char *)"secret", 6, NULL, NULL),
                     1);
    enc = bio_string(bio);
    assert_load_fails(enc, "encrypted");
    free(enc);
    BIO_free(bio);
}

static void test_key_paths_are_read_and_bad_paths_explained(void **state)
{
    char path[] = "/tmp/parapet-jwt-test-XXXXXX";
    int fd = mkstemp(path);
    struct jwt_keyring *k = NULL;
    struct err err;
    BIO *bio = BIO_new(BIO_s_mem());
    char *sec1;
    (void)state;

    assert_true(fd >= 0);
    /* SEC1 "EC PRIVATE KEY" in a file: the same key, so the same kid. */
    assert_int_equal(PEM_write_bio_PrivateKey_traditional(bio, fx.key, NULL, NULL, 0, NULL, NULL),
                     1);
    sec1 = bio_string(bio);
    assert_non_null(strstr(sec1, "BEGIN EC PRIVATE KEY"));
    assert_int_equal(write(fd, sec1, strlen(sec1)), (ssize_t)strlen(sec1));
    close(fd);
    assert_int_equal(jwt_keyring_load(path, &k, &err), ERR_OK);
    assert_string_equal(jwt_keyring_kid(k), fx.kid);
    jwt_keyring_free(k);
    k = NULL;
    assert_int_equal(jwt_keyring_load(sec1, &k, &err), ERR_OK); /* and as a value */
    assert_string_equal(jwt_keyring_kid(k), fx.kid);
    jwt_keyring_free(k);
    unlink(path);
    assert_load_fails(path, "can be opened: No such file");
    assert_load_fails("/tmp", "not a regular file");
    assert_load_fails("/dev/null", "not a regular file");
    /* A PEM with its armour lost is neither PEM nor path, and is never quoted back. */
    {
        const char *body = strchr(sec1, '\n') + 1;
        char frag[17];
        struct jwt_keyring *none = NULL;
        memcpy(frag, body, 16);
        frag[16] = '\0';
        assert_int_equal(jwt_keyring_load(body, &none, &err), ERR_INVALID);
        assert_null(strstr(err.detail, frag));
        assert_non_null(strstr(err.detail, "-----BEGIN"));
    }
    /* A PEM value with a leading newline is still a value. */
    {
        char *lead = malloc(strlen(sec1) + 2);
        assert_non_null(lead);
        snprintf(lead, strlen(sec1) + 2, "\n%s", sec1);
        assert_int_equal(jwt_keyring_load(lead, &k, &err), ERR_OK);
        jwt_keyring_free(k);
        free(lead);
    }
    free(sec1);
    BIO_free(bio);
}

static void test_kid_is_sixteen_base64url_characters_of_the_spki_hash(void **state)
{
    unsigned char *der = NULL;
    unsigned char md[32];
    char b64[64];
    int n = i2d_PUBKEY(fx.key, &der);
    (void)state;

    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL), 1);
    b64url(md, sizeof md, b64);
    b64[JWT_KID_LEN] = '\0';
    assert_string_equal(jwt_keyring_kid(fx.ring), b64);
    OPENSSL_free(der);
    jwt_keyring_free(NULL); /* NULL-safe */
}

static void test_previous_key_added_for_rotation_still_verifies(void **state)
{
    EVP_PKEY *newer = ec_key("P-256");
    char *newer_pem = private_pem(newer);
    struct jwt_keyring *next = NULL;
    struct jwt_claims c;
    struct jwt_claims out;
    struct err err;
    char *old_tok = NULL;
    char *new_tok = NULL;
    (void)state;

    /* The new keyring signs with the new key and still accepts tokens of the old one. */
    assert_int_equal(jwt_keyring_load(newer_pem, &next, &err), ERR_OK);
    assert_string_not_equal(jwt_keyring_kid(next), fx.kid);
    assert_int_equal(jwt_keyring_add_verify_key(next, fx.pub_pem, &err), ERR_OK);
    assert_int_equal(jwt_keyring_add_verify_key(next, fx.priv_pem, &err), ERR_INVALID); /* dup */
    assert_non_null(strstr(err.detail, "already"));
    fill_claims(&c);
    assert_int_equal(jwt_sign(fx.ring, &c, &old_tok, &err), ERR_OK);
    assert_int_equal(jwt_sign(next, &c, &new_tok, &err), ERR_OK);
    assert_int_equal(jwt_verify(next, old_tok, NOW, &out, &err), ERR_OK);
    assert_int_equal(jwt_verify(next, new_tok, NOW, &out, &err), ERR_OK);
    assert_int_equal(jwt_verify(fx.ring, new_tok, NOW, &out, &err), ERR_UNAUTHENTICATED);
    free(old_tok);
    free(new_tok);
    jwt_keyring_free(next);
    free(newer_pem);
    EVP_PKEY_free(newer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_then_verify_round_trips_every_claim),
        cmocka_unit_test(test_signed_header_is_exactly_alg_typ_kid_and_claims_are_complete),
        cmocka_unit_test(test_signature_is_jws_r_s_that_openssl_verifies),
        cmocka_unit_test(test_openssl_r_s_signature_verifies_and_der_is_rejected),
        cmocka_unit_test(test_rfc7515_a3_example_signature_verifies_in_libjwt),
        cmocka_unit_test(test_sign_generates_a_jti_when_empty),
        cmocka_unit_test(test_sign_refuses_claims_the_verifier_would_reject),
        cmocka_unit_test(test_expired_token_is_rejected_as_expired),
        cmocka_unit_test(test_expiry_has_sixty_seconds_of_leeway),
        cmocka_unit_test(test_not_yet_valid_token_is_rejected_outside_leeway),
        cmocka_unit_test(test_token_issued_in_the_future_is_rejected),
        cmocka_unit_test(test_absurd_lifetimes_are_rejected),
        cmocka_unit_test(test_wrong_iss_aud_role_sub_are_rejected),
        cmocka_unit_test(test_audience_array_is_rejected),
        cmocka_unit_test(test_missing_any_required_claim_is_rejected),
        cmocka_unit_test(test_claims_of_the_wrong_type_are_rejected),
        cmocka_unit_test(test_negative_epoch_is_rejected),
        cmocka_unit_test(test_duplicate_members_are_rejected),
        cmocka_unit_test(test_alg_none_is_rejected_in_every_spelling),
        cmocka_unit_test(test_hmac_signed_with_the_public_key_is_rejected),
        cmocka_unit_test(test_rs256_header_is_rejected),
        cmocka_unit_test(test_kid_naming_a_file_or_unknown_is_rejected),
        cmocka_unit_test(test_key_url_and_embedded_key_headers_are_rejected),
        cmocka_unit_test(test_token_signed_by_another_key_is_rejected),
        cmocka_unit_test(test_tampered_signature_or_payload_is_rejected),
        cmocka_unit_test(test_malformed_tokens_are_rejected),
        cmocka_unit_test(test_detail_never_echoes_the_token),
        cmocka_unit_test(test_null_or_empty_key_is_refused),
        cmocka_unit_test(test_other_curves_and_key_types_are_refused),
        cmocka_unit_test(test_public_garbage_and_encrypted_keys_are_refused),
        cmocka_unit_test(test_key_paths_are_read_and_bad_paths_explained),
        cmocka_unit_test(test_kid_is_sixteen_base64url_characters_of_the_spki_hash),
        cmocka_unit_test(test_previous_key_added_for_rotation_still_verifies),
    };
    return cmocka_run_group_tests_name("auth/jwt", tests, setup, teardown);
}
