/* seal - authenticated encryption of tenant secrets at rest (AES-256-GCM, OpenSSL EVP) under
 * PARAPET_SECRET_KEY. A sealed record is
 *     version (1 byte, 1) | key id (1 byte) | nonce (12 random bytes) | ciphertext | tag (16)
 * The key id names the key that sealed the record, so a key can be rotated: records sealed under
 * the previous key (PARAPET_SECRET_KEY_PREVIOUS) still open, and are re-sealed under the current
 * key the next time they are written. The additional authenticated data (AAD) binds a record to
 * where it belongs (e.g. tenant and integration id): a sealed value copied to another row does
 * not open there.
 * Memory: seal_encrypt()/seal_decrypt() return malloc'd buffers the caller frees (wipe plaintext
 * with OPENSSL_cleanse first). A keyring is immutable after seal_keyring_init(): share it across
 * threads freely. Errors: ERR_INVALID for a record that does not open (wrong key, tampering,
 * wrong AAD, truncation), ERR_UNAVAILABLE when no key is configured, ERR_NOMEM. */
#ifndef PARAPET_SEAL_H
#define PARAPET_SEAL_H

#include "server/err.h"

#include <stdbool.h>
#include <stddef.h>

#define SEAL_OVERHEAD (1 + 1 + 12 + 16)

struct seal_keyring {
    bool has_current, has_previous;
    unsigned char current[32], previous[32];
    unsigned char current_id, previous_id;
};

/* Fills kr from the keys (either may be NULL: no such key). Key ids are derived from the keys
 * (the first byte of SHA-256("parapet-seal-key-id" | key)); if the two ids collide, the previous
 * key is tried as well as the current one. */
void seal_keyring_init(struct seal_keyring *kr, const unsigned char *current,
                       const unsigned char *previous);

/* Wipes kr. NULL-safe. */
void seal_keyring_clear(struct seal_keyring *kr);

/* The key id of a 32-byte key. */
unsigned char seal_key_id(const unsigned char key[32]);

/* Seals pt[n] under the current key with aad[aadlen]: *out (malloc'd) of n + SEAL_OVERHEAD. */
enum err_code seal_encrypt(const struct seal_keyring *kr, const void *aad, size_t aadlen,
                           const void *pt, size_t n, unsigned char **out, size_t *outlen,
                           struct err *err);

/* Opens a sealed record: *out (malloc'd, NUL-terminated for convenience, *outlen excludes the
 * NUL). *rotated (may be NULL) tells that it was sealed under the previous key. */
enum err_code seal_decrypt(const struct seal_keyring *kr, const void *aad, size_t aadlen,
                           const unsigned char *in, size_t n, char **out, size_t *outlen,
                           bool *rotated, struct err *err);

#endif
