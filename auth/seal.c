#include "auth/seal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (2 + NONCE_LEN)

unsigned char seal_key_id(const unsigned char key[32])
{
    static const char label[] = "parapet-seal-key-id";
    unsigned char buf[sizeof label - 1 + 32], h[SHA256_DIGEST_LENGTH];

    memcpy(buf, label, sizeof label - 1);
    memcpy(buf + sizeof label - 1, key, 32);
    SHA256(buf, sizeof buf, h);
    OPENSSL_cleanse(buf, sizeof buf);
    return h[0];
}

void seal_keyring_init(struct seal_keyring *kr, const unsigned char *current,
                       const unsigned char *previous)
{
    memset(kr, 0, sizeof *kr);
    if (current != NULL) {
        memcpy(kr->current, current, 32);
        kr->current_id = seal_key_id(current);
        kr->has_current = true;
    }
    if (previous != NULL) {
        memcpy(kr->previous, previous, 32);
        kr->previous_id = seal_key_id(previous);
        kr->has_previous = true;
    }
}

void seal_keyring_clear(struct seal_keyring *kr)
{
    if (kr != NULL)
        OPENSSL_cleanse(kr, sizeof *kr);
}

/* One AES-256-GCM operation; returns false on any failure (bad tag included). */
static bool gcm(bool enc, const unsigned char key[32], const unsigned char nonce[NONCE_LEN],
                const void *aad, size_t aadlen, const unsigned char *in, size_t n,
                unsigned char *out, unsigned char tag[TAG_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok = c != NULL && n <= (size_t)INT32_MAX && aadlen <= (size_t)INT32_MAX;

    ok = ok && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc ? 1 : 0) == 1;
    if (ok && aadlen > 0)
        ok = EVP_CipherUpdate(c, NULL, &len, aad, (int)aadlen) == 1;
    if (ok && n > 0)
        ok = EVP_CipherUpdate(c, out, &len, in, (int)n) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + (n > 0 ? len : 0), &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

enum err_code seal_encrypt(const struct seal_keyring *kr, const void *aad, size_t aadlen,
                           const void *pt, size_t n, unsigned char **out, size_t *outlen,
                           struct err *err)
{
    unsigned char *buf;

    *out = NULL;
    *outlen = 0;
    if (!kr->has_current)
        return err_set(err, ERR_UNAVAILABLE,
                       "secrets cannot be stored: PARAPET_SECRET_KEY is not configured");
    buf = malloc(n + SEAL_OVERHEAD);
    if (buf == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    buf[0] = SEAL_VERSION;
    buf[1] = kr->current_id;
    if (RAND_bytes(buf + 2, NONCE_LEN) != 1 ||
        !gcm(true, kr->current, buf + 2, aad, aadlen, pt, n, buf + HEADER_LEN,
             buf + HEADER_LEN + n)) {
        free(buf);
        return err_set(err, ERR_INTERNAL, "encryption failed");
    }
    *out = buf;
    *outlen = n + SEAL_OVERHEAD;
    return ERR_OK;
}

enum err_code seal_decrypt(const struct seal_keyring *kr, const void *aad, size_t aadlen,
                           const unsigned char *in, size_t n, char **out, size_t *outlen,
                           bool *rotated, struct err *err)
{
    const unsigned char *keys[2];
    bool prev[2];
    size_t nkeys = 0, ctlen;
    unsigned char tag[TAG_LEN];
    char *pt;

    *out = NULL;
    *outlen = 0;
    if (rotated != NULL)
        *rotated = false;
    if (!kr->has_current && !kr->has_previous)
        return err_set(err, ERR_UNAVAILABLE,
                       "secrets cannot be read: PARAPET_SECRET_KEY is not configured");
    if (n < SEAL_OVERHEAD || in[0] != SEAL_VERSION)
        return err_set(err, ERR_INVALID, "the sealed secret is malformed");
    if (kr->has_current && in[1] == kr->current_id) {
        keys[nkeys] = kr->current;
        prev[nkeys++] = false;
    }
    if (kr->has_previous && in[1] == kr->previous_id) {
        keys[nkeys] = kr->previous;
        prev[nkeys++] = true;
    }
    if (nkeys == 0)
        return err_set(err, ERR_INVALID, "the secret was sealed under a key that is not configured");
    ctlen = n - SEAL_OVERHEAD;
    pt = malloc(ctlen + 1);
    if (pt == NULL)
        return err_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nkeys; i++) {
        memcpy(tag, in + HEADER_LEN + ctlen, TAG_LEN);
        if (gcm(false, keys[i], in + 2, aad, aadlen, in + HEADER_LEN, ctlen, (unsigned char *)pt,
                tag)) {
            pt[ctlen] = '\0';
            *out = pt;
            *outlen = ctlen;
            if (rotated != NULL)
                *rotated = prev[i];
            return ERR_OK;
        }
    }
    OPENSSL_cleanse(pt, ctlen + 1);
    free(pt);
    return err_set(err, ERR_INVALID, "the sealed secret does not open (wrong key or tampered)");
}
