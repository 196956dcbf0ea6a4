/* password - the password policy (NIST SP 800-63B 5.1.1.2) and password hashing with argon2id
 * (RFC 9106) through libargon2, with the OWASP (2023) minimum parameters: m = 19456 KiB (19 MiB),
 * t = 2 passes, p = 1 lane, a 16-byte salt from RAND_bytes and a 32-byte tag, stored in the PHC
 * string form "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>" (unpadded standard base64).
 *
 * Passwords are byte strings of an explicit length (they may hold NUL, which the policy refuses)
 * and are never copied into error details or logs.
 * Ownership: callers own every buffer; nothing here allocates memory the caller frees.
 * Threading: every function is thread-safe. Each hash or verify allocates m KiB (19 MiB) for
 * its duration and takes tens of milliseconds of one CPU: bound how many run at once.
 * Errors: password_check_policy() and password_hash() return an enum err_code and fill a struct
 * err (field "password" for policy failures); the verify functions return bool. */
#ifndef PARAPET_AUTH_PASSWORD_H
#define PARAPET_AUTH_PASSWORD_H

#include "server/err.h"

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_M_COST 19456u /* KiB */
#define PASSWORD_T_COST 2u
#define PASSWORD_PARALLELISM 1u
#define PASSWORD_SALT_LEN 16u
#define PASSWORD_TAG_LEN 32u
#define PASSWORD_MIN_CHARS 12   /* Unicode code points */
#define PASSWORD_MAX_CHARS 256  /* Unicode code points */
#define PASSWORD_MAX_BYTES 1024 /* PASSWORD_MAX_CHARS of 4-byte UTF-8: longer input is refused */
#define PASSWORD_HASH_LEN 128   /* buffer size for an encoded hash, NUL included (97 used) */

/* The common-password list (auth/common-passwords.txt), embedded at build time: lower-case, one
 * per line, sorted bytewise and unique, so it is searched in place. */
extern const char password_common_list[];
extern const size_t password_common_list_len;

/* Checks a new password against the policy: exactly len bytes of valid UTF-8 (no NUL, overlong
 * form or surrogate), 12 to 256 code points, not on the common-password list (ASCII
 * case-insensitive), not the email address or its local part (ASCII case-insensitive), not one
 * character repeated. email may be NULL. Returns ERR_OK or ERR_INVALID with field "password" and
 * a message for the user that never contains the password. pw may be NULL only when len is 0. */
enum err_code password_check_policy(const char *pw, size_t len, const char *email, struct err *err);

/* True when pw[0..len), lower-cased in ASCII, is on the common-password list. */
bool password_is_common(const char *pw, size_t len);

/* Hashes pw[0..len) with a fresh random salt and writes the NUL-terminated encoded form into
 * out (outlen >= PASSWORD_HASH_LEN). Does not apply the policy. ERR_INVALID when len is over
 * PASSWORD_MAX_BYTES; ERR_INTERNAL when outlen is too small, randomness or argon2 fails. */
enum err_code password_hash(const char *pw, size_t len, char *out, size_t outlen, struct err *err);

/* True when pw[0..len) matches encoded, compared in constant time (argon2id_verify). False for
 * a mismatch and for anything malformed: NULL arguments, a non-argon2id or garbled encoding,
 * parameters outside sane bounds (so a corrupt row cannot demand gigabytes), len over
 * PASSWORD_MAX_BYTES. */
bool password_verify(const char *encoded, const char *pw, size_t len);

/* Spends the time of one password_verify() at the current parameters, always failing: call it
 * when the user is unknown so that response time does not reveal which accounts exist. The
 * first call (process-wide, guarded by pthread_once) also computes the dummy hash; call it once at
 * start-up so the first sign-in is not slower. NULL-safe. */
void password_verify_dummy(const char *pw, size_t len);

/* True when encoded was made with other parameters than the current ones (or is not argon2id):
 * re-hash the password after the next successful sign-in. */
bool password_needs_rehash(const char *encoded);

#endif
