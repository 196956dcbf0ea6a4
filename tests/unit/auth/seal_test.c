/* Unit tests for auth/seal.h: AES-256-GCM sealing of tenant secrets with a key id for rotation
 * and AAD binding the record to its row. */
#define _GNU_SOURCE 1 /* memmem */
#include "auth/seal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static const unsigned char key_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                        17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                        31, 32};
static const unsigned char key_b[32] = {99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86,
                                        85, 84, 83, 82, 81, 80, 79, 78, 77, 76, 75, 74, 73, 72,
                                        71, 70, 69, 68};
static const char secret[] = "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/x\"}";
static const char aad[] = "parapet-integration:tenant:integration";

static void seal(const struct seal_keyring *kr, const char *a, unsigned char **out, size_t *n)
{
    struct err err;
    assert_int_equal(seal_encrypt(kr, a, strlen(a), secret, strlen(secret), out, n, &err), ERR_OK);
    assert_int_equal(*n, strlen(secret) + SEAL_OVERHEAD);
}

static void test_a_sealed_secret_opens_and_hides_the_plaintext(void **state)
{
    struct seal_keyring kr;
    unsigned char *s = NULL;
    size_t n = 0, pl = 0;
    char *p = NULL;
    bool rotated = true;
    struct err err;
    (void)state;

    seal_keyring_init(&kr, key_a, NULL);
    seal(&kr, aad, &s, &n);
    assert_int_equal(s[0], 1);
    assert_int_equal(s[1], seal_key_id(key_a));
    assert_null(memmem(s, n, "hooks.slack.com", 15));
    assert_int_equal(seal_decrypt(&kr, aad, strlen(aad), s, n, &p, &pl, &rotated, &err), ERR_OK);
    assert_int_equal(pl, strlen(secret));
    assert_string_equal(p, secret);
    assert_false(rotated);
    free(p);
    free(s);
    seal_keyring_clear(&kr);
}

static void test_every_record_gets_its_own_nonce(void **state)
{
    struct seal_keyring kr;
    unsigned char *a = NULL, *b = NULL;
    size_t na, nb;
    (void)state;

    seal_keyring_init(&kr, key_a, NULL);
    seal(&kr, aad, &a, &na);
    seal(&kr, aad, &b, &nb);
    assert_memory_not_equal(a + 2, b + 2, 12);
    assert_memory_not_equal(a + 14, b + 14, na - 14);
    free(a);
    free(b);
}

static void test_tampering_a_wrong_aad_or_a_wrong_key_do_not_open(void **state)
{
    struct seal_keyring kr, other;
    unsigned char *s = NULL;
    size_t n = 0, pl;
    char *p = NULL;
    struct err err;
    (void)state;

    seal_keyring_init(&kr, key_a, NULL);
    seal_keyring_init(&other, key_b, NULL);
    seal(&kr, aad, &s, &n);
    for (size_t i = 0; i < n; i++) {
        s[i] ^= 0x01;
        assert_int_not_equal(seal_decrypt(&kr, aad, strlen(aad), s, n, &p, &pl, NULL, &err),
                             ERR_OK);
        assert_null(p);
        s[i] ^= 0x01;
    }
    assert_int_equal(seal_decrypt(&kr, "parapet-integration:tenant:other", 32, s, n, &p, &pl, NULL,
                                  &err),
                     ERR_INVALID);
    assert_int_equal(seal_decrypt(&other, aad, strlen(aad), s, n, &p, &pl, NULL, &err),
                     ERR_INVALID);
    assert_int_equal(seal_decrypt(&kr, aad, strlen(aad), s, n - 1, &p, &pl, NULL, &err),
                     ERR_INVALID);
    assert_int_equal(seal_decrypt(&kr, aad, strlen(aad), s, 10, &p, &pl, NULL, &err),
                     ERR_INVALID);
    free(s);
}

static void test_a_rotated_key_still_opens_old_records(void **state)
{
    struct seal_keyring old, rotated_kr;
    unsigned char *s = NULL;
    size_t n = 0, pl;
    char *p = NULL;
    bool rotated = false;
    struct err err;
    (void)state;

    seal_keyring_init(&old, key_a, NULL);
    seal(&old, aad, &s, &n);
    seal_keyring_init(&rotated_kr, key_b, key_a);
    assert_int_equal(seal_decrypt(&rotated_kr, aad, strlen(aad), s, n, &p, &pl, &rotated, &err),
                     ERR_OK);
    assert_true(rotated);
    assert_string_equal(p, secret);
    free(p);
    free(s);
    /* New records use the current key. */
    seal(&rotated_kr, aad, &s, &n);
    assert_int_equal(s[1], seal_key_id(key_b));
    free(s);
}

static void test_no_key_is_unavailable(void **state)
{
    struct seal_keyring none;
    unsigned char *s = NULL;
    size_t n = 0;
    struct err err;
    (void)state;

    seal_keyring_init(&none, NULL, NULL);
    assert_int_equal(seal_encrypt(&none, aad, strlen(aad), secret, strlen(secret), &s, &n, &err),
                     ERR_UNAVAILABLE);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_sealed_secret_opens_and_hides_the_plaintext),
        cmocka_unit_test(test_every_record_gets_its_own_nonce),
        cmocka_unit_test(test_tampering_a_wrong_aad_or_a_wrong_key_do_not_open),
        cmocka_unit_test(test_a_rotated_key_still_opens_old_records),
        cmocka_unit_test(test_no_key_is_unavailable),
    };
    return cmocka_run_group_tests_name("unit/auth/seal", tests, NULL, NULL);
}
