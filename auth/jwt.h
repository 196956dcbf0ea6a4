/* jwt - access tokens: compact JWS (RFC 7515) signed ES256 (ECDSA P-256 with SHA-256, RFC 7518
 * 3.4). Tokens are made with libjwt 1.10. libjwt 1.10 trusts the token's own "alg" (an HS256
 * token keyed with our public PEM passes its jwt_decode, and "none" passes when no key is given),
 * checks no claims and re-parses the key's PEM on every jwt_decode (about 0.4 ms under a global
 * OpenSSL lock), so jwt_verify() does not use it: it whitelists the header itself, verifies the
 * ES256 signature with OpenSSL against the key parsed once at load, and checks every claim.
 * Signatures are JWS raw R||S (64 bytes), which is what libjwt 1.10 emits; DER is rejected.
 *
 * Ownership: jwt_keyring_load() returns a keyring the caller frees with jwt_keyring_free(), which
 * wipes the key material. jwt_sign() returns a token the caller free()s.
 * Threading: load the keyring and add any verify-only keys before sharing it; from then on it is
 * read-only and jwt_sign()/jwt_verify() may run concurrently from any thread.
 * Errors: enum err_code with a struct err. Loading explains what is wrong with the key (never
 * quoting it). jwt_verify() returns ERR_UNAUTHENTICATED with a client-safe detail ("invalid
 * token", or "token expired" once the signature is known good) and never echoes the token. */
#ifndef PARAPET_AUTH_JWT_H
#define PARAPET_AUTH_JWT_H

#include "server/err.h"

#include <stdbool.h>
#include <stddef.h>

#define JWT_ISSUER "parapet"
#define JWT_AUDIENCE "parapet-api"
#define JWT_TOKEN_MAX 4096      /* bytes; longer tokens are rejected unread */
#define JWT_LEEWAY_S 60         /* clock skew allowed on exp, nbf and iat */
#define JWT_MAX_LIFETIME_S 3600 /* exp - iat; longer-lived tokens are rejected */
#define JWT_KID_LEN 16          /* characters of base64url(SHA-256(DER SubjectPublicKeyInfo)) */
#define JWT_KEYRING_MAX 4       /* the signing key plus verify-only keys during rotation */

/* One signing key and up to JWT_KEYRING_MAX - 1 verify-only public keys, found by kid. Opaque. */
struct jwt_keyring;

/* The claims of an access token. Strings are NUL-terminated. sub, tenant and sid are canonical
 * lower-case UUIDs; role is viewer|devops|secops|admin|owner; epoch is the user's token epoch
 * (bumped to end all of a user's sessions); times are Unix seconds. */
struct jwt_claims {
    char sub[40];    /* user id */
    char tenant[40]; /* tenant id */
    char role[16];
    char sid[40]; /* session (refresh-token family) id */
    char jti[40]; /* unique token id: 1-39 characters of [A-Za-z0-9_-], e.g. a UUID */
    long long iat, nbf, exp;
    long long epoch; /* sent as the "ep" claim */
};

/* Loads the signing key from PARAPET_JWT_KEY's value: either a PEM (it starts with "-----BEGIN")
 * or the path of a PEM file. It must be an unencrypted EC P-256 (prime256v1) private key, in SEC1
 * or PKCS#8 form. NULL or "" is refused. On success *out is a new keyring (free with
 * jwt_keyring_free()) whose kid identifies the key's public half. ERR_INVALID says what is wrong
 * (unreadable file, not a PEM key, a public key, another curve or key type); ERR_NOMEM. */
enum err_code jwt_keyring_load(const char *pem_or_path, struct jwt_keyring **out, struct err *err);

/* Adds a verify-only key (a previous signing key during rotation): a PEM value or path holding an
 * EC P-256 public or private key; only the public half is kept. Not thread-safe: call before
 * sharing the keyring. ERR_INVALID as for jwt_keyring_load(), or when the key is already present
 * or the keyring is full. */
enum err_code jwt_keyring_add_verify_key(struct jwt_keyring *k, const char *pem_or_path,
                                         struct err *err);

/* Wipes and frees the keyring. NULL-safe. */
void jwt_keyring_free(struct jwt_keyring *k);

/* The signing key's kid (JWT_KID_LEN characters); borrowed, valid until jwt_keyring_free(). */
const char *jwt_keyring_kid(const struct jwt_keyring *k);

/* Signs c as an ES256 token with header {"alg":"ES256","typ":"JWT","kid":...} and claims iss,
 * aud, sub, tenant, role, sid, ep, jti, iat, nbf and exp. An empty c->jti is replaced by a random
 * one (not reported back). The claims must pass the checks jwt_verify() applies, or
 * ERR_INVALID (a caller bug). On success *token is a NUL-terminated string the caller free()s.
 * ERR_NOMEM, ERR_INTERNAL (signing failed). */
enum err_code jwt_sign(const struct jwt_keyring *k, const struct jwt_claims *c, char **token,
                       struct err *err);

/* Verifies token at time now (Unix seconds) and fills *out (zeroed unless ERR_OK). The header
 * must be exactly alg "ES256", optional typ "JWT" and a kid naming a key in k; the signature is
 * checked with that key; then iss, aud, sub, tenant, role, sid, ep, jti, iat, nbf and exp must all
 * be present, of the right JSON type and valid (JWT_LEEWAY_S of skew, lifetime at most
 * JWT_MAX_LIFETIME_S). Anything else is ERR_UNAUTHENTICATED; ERR_INTERNAL for a now outside
 * year 1970-9999; ERR_NOMEM. token may be NULL (rejected). */
enum err_code jwt_verify(const struct jwt_keyring *k, const char *token, long long now,
                         struct jwt_claims *out, struct err *err);

#endif
