/* Unit tests for auth/password.h: the NIST 800-63B policy (lengths in code points, strict UTF-8,
 * the embedded common-password list, email, repetition), argon2id hashing and verification, and
 * that the dummy verify for unknown users costs what a real one does. */
#include "auth/password.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A password nobody would list: 12 varied ASCII characters. */
#define GOOD "tR7#kq9!Lm2@"

static enum err_code policy(const char *pw, size_t len, const char *email, struct err *err)
{
    memset(err, 0, sizeof *err);
    return password_check_policy(pw, len, email, err);
}

static void assert_policy_ok(const char *pw)
{
    struct err err;
    enum err_code rc = policy(pw, strlen(pw), "someone@example.com", &err);
    if (rc != ERR_OK)
        fail_msg("rejected (%s): %s", err.field, err.detail);
}

/* Asserts rejection with field "password", a detail containing needle, and no trace of pw. */
static void assert_policy_rejects(const char *pw, size_t len, const char *email, const char *needle)
{
    struct err err;

    assert_int_equal(policy(pw, len, email, &err), ERR_INVALID);
    assert_string_equal(err.field, "password");
    if (strstr(err.detail, needle) == NULL)
        fail_msg("detail '%s' lacks '%s'", err.detail, needle);
    if (pw != NULL && len >= 4 && memchr(pw, '\0', len) == NULL) {
        char *copy = strndup(pw, len);
        assert_non_null(copy);
        assert_null(strstr(err.detail, copy));
        free(copy);
    }
}

/* n code points cycling through a varied ASCII alphabet (never one repeated character). */
static char *ascii_of(size_t n)
{
    static const char a[] = "Zx9!mQ2#vB7$kL4%pR8&";
    char *s = malloc(n + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = a[i % (sizeof a - 1)];
    s[n] = '\0';
    return s;
}

/* n copies of the UTF-8 sequences in units, taken in turn. */
static char *repeat_units(const char *const *units, size_t nunits, size_t n)
{
    size_t cap = n * 4 + 1;
    char *s = malloc(cap);
    size_t len = 0;

    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        const char *u = units[i % nunits];
        memcpy(s + len, u, strlen(u));
        len += strlen(u);
    }
    s[len] = '\0';
    return s;
}

/* ---- policy ---- */

static void test_eleven_characters_are_rejected_and_twelve_accepted(void **state)
{
    char *s11 = ascii_of(11);
    char *s12 = ascii_of(12);
    (void)state;

    assert_policy_rejects(s11, 11, NULL, "at least 12 characters");
    assert_policy_ok(s12);
    assert_policy_ok(GOOD);
    assert_policy_rejects("", 0, NULL, "at least 12");
    assert_policy_rejects(NULL, 0, NULL, "at least 12");
    assert_policy_rejects(NULL, 5, NULL, "required");
    free(s11);
    free(s12);
}

static void test_256_characters_are_accepted_and_257_rejected(void **state)
{
    char *s256 = ascii_of(256);
    char *s257 = ascii_of(257);
    char *huge = ascii_of(100000);
    (void)state;

    assert_policy_ok(s256);
    assert_policy_rejects(s257, 257, NULL, "at most 256 characters");
    assert_policy_rejects(huge, 100000, NULL, "at most 256");
    free(s256);
    free(s257);
    free(huge);
}

static void test_length_counts_code_points_not_bytes(void **state)
{
    static const char *const accents[] = {"é", "è", "ê", "ë", "à", "â"}; /* 2 bytes each */
    static const char *const euro[] = {"€"};                             /* 3 bytes */
    static const char *const emoji[] = {"😀", "🔒", "🦊"};               /* 4 bytes each */
    static const char *const e_acute[] = {"é"};
    char *s;
    (void)state;

    s = repeat_units(accents, 6, 12); /* 12 characters, 24 bytes */
    assert_int_equal(strlen(s), 24);
    assert_policy_ok(s);
    free(s);
    s = repeat_units(euro, 1, 11); /* 11 characters, 33 bytes */
    assert_int_equal(strlen(s), 33);
    assert_policy_rejects(s, strlen(s), NULL, "at least 12 characters");
    free(s);
    s = repeat_units(emoji, 3, 256); /* 256 characters, 1024 bytes */
    assert_int_equal(strlen(s), 1024);
    assert_policy_ok(s);
    free(s);
    s = repeat_units(emoji, 3, 257);
    assert_policy_rejects(s, strlen(s), NULL, "at most 256");
    free(s);
    /* Twelve of the same two-byte character are long enough, but one character repeated. */
    s = repeat_units(e_acute, 1, 12);
    assert_policy_rejects(s, strlen(s), NULL, "repeated");
    free(s);
}

static void test_nul_inside_is_rejected(void **state)
{
    static const char pw[] = "correct\0horse-battery";
    (void)state;

    assert_policy_rejects(pw, sizeof pw - 1, NULL, "must not contain NUL");
    assert_policy_rejects(GOOD "\0", sizeof GOOD, NULL, "NUL");
}

static void test_invalid_utf8_overlong_and_surrogates_are_rejected(void **state)
{
    static const struct {
        const char *bytes;
        const char *what;
    } bad[] = {
        {"\x80", "lone continuation byte"},
        {"\xC3", "truncated two-byte sequence"},
        {"\xE2\x82", "truncated three-byte sequence"},
        {"\xC0\xAF", "overlong '/' in two bytes"},
        {"\xC1\xBF", "overlong in two bytes"},
        {"\xE0\x80\xAF", "overlong '/' in three bytes"},
        {"\xE0\x9F\xBF", "overlong U+07FF in three bytes"},
        {"\xF0\x80\x80\xAF", "overlong '/' in four bytes"},
        {"\xF0\x8F\xBF\xBF", "overlong U+FFFF in four bytes"},
        {"\xED\xA0\x80", "lone high surrogate U+D800"},
        {"\xED\xBF\xBF", "lone low surrogate U+DFFF"},
        {"\xED\xA0\xBD\xED\xB8\x80", "CESU-8 surrogate pair"},
        {"\xF4\x90\x80\x80", "above U+10FFFF"},
        {"\xF5\x80\x80\x80", "lead byte 0xF5"},
        {"\xFF", "byte 0xFF"},
        {"\xC3\x28", "bad continuation"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char pw[64];
        struct err err;
        int n = snprintf(pw, sizeof pw, "%s%s%s", "Abcdef-", bad[i].bytes, "-ghijkl");
        assert_true(n > 0 && (size_t)n < sizeof pw);
        if (policy(pw, (size_t)n, NULL, &err) != ERR_INVALID || strstr(err.detail, "UTF-8") == NULL)
            fail_msg("%s accepted (%s)", bad[i].what, err.detail);
    }
    /* The boundaries that are valid: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF, and
     * U+E000 just above the surrogates. */
    assert_policy_ok("Abcdef-\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF"
                     "\xBF\xEE\x80\x80");
}

static void test_listed_passwords_are_rejected_in_any_case(void **state)
{
    static const char *const listed[] = {
        "password1234",        "PASSWORD1234",        "PassWord1234",   "123456789012",
        "qwertyuiopasdfghjkl", "QWERTYuiopASDFghjkl", "iloveyou1234",   "ILoveYou1234",
        "1q2w3e4r5t6y",        "1Q2W3E4R5T6Y",        "letmeinletmein", "PasswordPassword",
        "administrator1",      "Administrator1",      "password2023",   "Password2024",
        "password2025",        "PASSWORD2026",        "welcome12345",   "changeme1234",
        "winniethepooh",       "monkey123456",        "Parapet12345",   "qwertyuiop123",
    };
    (void)state;

    for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++) {
        assert_true(password_is_common(listed[i], strlen(listed[i])));
        assert_policy_rejects(listed[i], strlen(listed[i]), NULL, "commonly used");
    }
}

/* The list is what the binary search assumes (sorted bytewise, unique, lower case, 12+ bytes,
 * no blank or CR lines), and every entry is found, as are its upper-case forms. */
static void test_every_listed_entry_is_found_and_the_list_is_sorted(void **state)
{
    const char *list = password_common_list;
    size_t len = password_common_list_len;
    const char *prev = NULL;
    size_t prevlen = 0;
    size_t count = 0;
    (void)state;

    assert_true(len > 0 && list[len - 1] == '\n');
    for (size_t pos = 0; pos < len;) {
        const char *line = list + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = (size_t)(nl - line);
        char upper[128];

        assert_non_null(nl);
        assert_true(n >= 12 && n < sizeof upper);
        for (size_t i = 0; i < n; i++) {
            assert_false(line[i] >= 'A' && line[i] <= 'Z');
            assert_true(line[i] > ' ' && line[i] < 127);
            upper[i] = line[i] >= 'a' && line[i] <= 'z' ? (char)(line[i] - 32) : line[i];
        }
        if (prev != NULL) {
            int c = memcmp(prev, line, prevlen < n ? prevlen : n);
            assert_true(c < 0 || (c == 0 && prevlen < n));
        }
        assert_true(password_is_common(line, n));
        assert_true(password_is_common(upper, n));
        prev = line;
        prevlen = n;
        count++;
        pos += n + 1;
    }
    assert_true(count >= 3000);
    /* Near misses are not found. */
    assert_false(password_is_common("password12345x", 14));
    assert_false(password_is_common("password123", 11));
    assert_false(password_is_common("", 0));
    assert_false(password_is_common(GOOD, strlen(GOOD)));
    assert_false(password_is_common("~~~~~~~~~~~~~~", 14)); /* after every entry */
    assert_false(password_is_common("!!!!!!!!!!!!!!", 14)); /* before every entry */
}

static void test_email_and_its_local_part_are_rejected(void **state)
{
    static const char email[] = "Jane.Doe.Example@Corp.example";
    (void)state;

    assert_policy_rejects("jane.doe.example@corp.example", 29, email, "email");
    assert_policy_rejects("JANE.DOE.EXAMPLE", 16, email, "email");
    assert_policy_rejects("jane.doe.example", 16, email, "email");
    /* Merely containing it is allowed; no email, no check. */
    assert_policy_ok("jane.doe.example plus other words");
    assert_int_equal(policy("jane.doe.example", 16, NULL, &(struct err){0}), ERR_OK);
    assert_int_equal(policy("jane.doe.example", 16, "", &(struct err){0}), ERR_OK);
}

static void test_one_repeated_character_is_rejected(void **state)
{
    (void)state;

    assert_policy_rejects("aaaaaaaaaaaa", 12, NULL, "repeated");
    assert_policy_rejects("ZZZZZZZZZZZZZZZZZZZZ", 20, NULL, "repeated");
    assert_policy_rejects("............", 12, NULL, "repeated");
    assert_policy_ok("aaaaaaaaaaab-and-more");
}

static void test_detail_never_contains_the_password(void **state)
{
    static const char *const rejected[] = {"short-pw", "password1234", "aaaaaaaaaaaaaaaaaa",
                                           "me@example.com"};
    (void)state;

    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        struct err err;
        assert_int_equal(policy(rejected[i], strlen(rejected[i]), "me@example.com", &err),
                         ERR_INVALID);
        assert_null(strstr(err.detail, rejected[i]));
        assert_string_equal(err.field, "password");
    }
}

/* ---- hashing ---- */

static void test_hash_then_verify_round_trips_and_wrong_passwords_fail(void **state)
{
    char h[PASSWORD_HASH_LEN];
    struct err err;
    (void)state;

    assert_int_equal(password_hash(GOOD, strlen(GOOD), h, sizeof h, &err), ERR_OK);
    assert_true(password_verify(h, GOOD, strlen(GOOD)));
    assert_false(password_verify(h, "tR7#kq9!Lm2!", 12));
    assert_false(password_verify(h, GOOD, strlen(GOOD) - 1)); /* a prefix */
    assert_false(password_verify(h, GOOD "x", strlen(GOOD) + 1));
    assert_false(password_verify(h, "", 0));
    assert_false(password_verify(h, NULL, 0));
    assert_false(password_verify(h, NULL, 5));
}

static void test_length_is_exact_even_with_nul_bytes(void **state)
{
    char h[PASSWORD_HASH_LEN];
    struct err err;
    (void)state;

    assert_int_equal(password_hash("ab\0cd", 5, h, sizeof h, &err), ERR_OK);
    assert_true(password_verify(h, "ab\0cd", 5));
    assert_false(password_verify(h, "ab", 2));
    assert_false(password_verify(h, "ab\0ce", 5));
}

static void test_two_hashes_of_one_password_differ(void **state)
{
    char a[PASSWORD_HASH_LEN];
    char b[PASSWORD_HASH_LEN];
    struct err err;
    (void)state;

    assert_int_equal(password_hash(GOOD, strlen(GOOD), a, sizeof a, &err), ERR_OK);
    assert_int_equal(password_hash(GOOD, strlen(GOOD), b, sizeof b, &err), ERR_OK);
    assert_string_not_equal(a, b);
    assert_true(password_verify(a, GOOD, strlen(GOOD)));
    assert_true(password_verify(b, GOOD, strlen(GOOD)));
}

static void test_encoding_names_argon2id_and_the_owasp_parameters(void **state)
{
    static const char prefix[] = "$argon2id$v=19$m=19456,t=2,p=1$";
    char h[PASSWORD_HASH_LEN];
    struct err err;
    const char *salt;
    const char *tag;
    (void)state;

    assert_int_equal(password_hash(GOOD, strlen(GOOD), h, sizeof h, &err), ERR_OK);
    assert_int_equal(strncmp(h, prefix, sizeof prefix - 1), 0);
    salt = h + sizeof prefix - 1;
    tag = strchr(salt, '$');
    assert_non_null(tag);
    assert_int_equal(tag - salt, 22);      /* 16 bytes, unpadded base64 */
    assert_int_equal(strlen(tag + 1), 43); /* 32 bytes */
    assert_false(password_needs_rehash(h));
}

static void test_other_parameters_verify_but_need_rehash(void **state)
{
    static const unsigned char salt[16] = "0123456789abcde";
    char h[PASSWORD_HASH_LEN];
    (void)state;

    assert_int_equal(
        argon2id_hash_encoded(3, 12288, 1, GOOD, strlen(GOOD), salt, sizeof salt, 32, h, sizeof h),
        ARGON2_OK);
    assert_true(password_verify(h, GOOD, strlen(GOOD)));
    assert_true(password_needs_rehash(h));
    assert_true(password_needs_rehash(NULL));
    assert_true(password_needs_rehash("$2b$12$abcdefghijklmnopqrstuu"));
}

static void test_malformed_encodings_never_verify(void **state)
{
    char h[PASSWORD_HASH_LEN];
    char bad[PASSWORD_HASH_LEN + 64];
    struct err err;
    const char *tail;
    (void)state;

    assert_int_equal(password_hash(GOOD, strlen(GOOD), h, sizeof h, &err), ERR_OK);
    tail = strchr(h + 31, '$'); /* "$<tag>" */
    assert_false(password_verify(NULL, GOOD, strlen(GOOD)));
    assert_false(password_verify("", GOOD, strlen(GOOD)));
    assert_false(password_verify("$argon2id$", GOOD, strlen(GOOD)));
    assert_false(password_verify("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
                                 GOOD, strlen(GOOD)));
    /* Other argon2 variants and versions, with an otherwise valid hash. */
    snprintf(bad, sizeof bad, "$argon2i%s", h + 9);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2d%s", h + 9);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id$v=16%s", h + 14);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id%s", h + 14); /* no version */
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    /* Costs out of bounds: a corrupt row must not allocate 4 GiB or spin. */
    snprintf(bad, sizeof bad, "$argon2id$v=19$m=4194304,t=2,p=1%s", h + 30);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id$v=19$m=19456,t=100000,p=1%s", h + 30);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id$v=19$m=19456,t=0,p=1%s", h + 30);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id$v=19$m=019456,t=2,p=1%s", h + 30);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "$argon2id$v=19$m=-19456,t=2,p=1%s", h + 30);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    /* Salt and tag damage. */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(h) - 1, h); /* truncated tag */
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "%s=", h); /* padding */
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "%s$", h);
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "%.*s%s", (int)(tail - h), h, "$!!!!");
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    snprintf(bad, sizeof bad, "%.31s$%s", h, tail + 1); /* empty salt */
    assert_false(password_verify(bad, GOOD, strlen(GOOD)));
    /* The control: the untouched hash still verifies. */
    assert_true(password_verify(h, GOOD, strlen(GOOD)));
}

static void test_hash_refuses_a_small_buffer_or_huge_input(void **state)
{
    char h[PASSWORD_HASH_LEN];
    char small[64];
    char *huge = malloc(PASSWORD_MAX_BYTES + 1);
    struct err err;
    (void)state;

    assert_non_null(huge);
    memset(huge, 'x', PASSWORD_MAX_BYTES + 1);
    assert_int_equal(password_hash(GOOD, strlen(GOOD), small, sizeof small, &err), ERR_INTERNAL);
    assert_int_equal(password_hash(huge, PASSWORD_MAX_BYTES + 1, h, sizeof h, &err), ERR_INVALID);
    assert_false(password_verify("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
                                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                 huge, PASSWORD_MAX_BYTES + 1));
    free(huge);
}

/* ---- timing ---- */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void test_dummy_verify_costs_about_what_a_real_verify_costs(void **state)
{
    enum { RUNS = 5 };
    char h[PASSWORD_HASH_LEN];
    double real[RUNS];
    double dummy[RUNS];
    struct err err;
    (void)state;

    assert_int_equal(password_hash(GOOD, strlen(GOOD), h, sizeof h, &err), ERR_OK);
    password_verify_dummy(GOOD, strlen(GOOD)); /* builds the dummy hash once */
    password_verify_dummy(NULL, 0);            /* NULL-safe */
    for (int i = 0; i < RUNS; i++) {
        double t0 = seconds_now();
        (void)password_verify(h, "wrong password!", 15);
        real[i] = seconds_now() - t0;
        t0 = seconds_now();
        password_verify_dummy("wrong password!", 15);
        dummy[i] = seconds_now() - t0;
    }
    qsort(real, RUNS, sizeof real[0], cmp_double);
    qsort(dummy, RUNS, sizeof dummy[0], cmp_double);
    /* Medians within 50% of each other. */
    if (dummy[RUNS / 2] < real[RUNS / 2] * 0.5 || dummy[RUNS / 2] > real[RUNS / 2] * 1.5)
        fail_msg("dummy %.1f ms vs real %.1f ms", dummy[RUNS / 2] * 1e3, real[RUNS / 2] * 1e3);
    assert_true(real[RUNS / 2] > 0.001); /* the work really happens */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eleven_characters_are_rejected_and_twelve_accepted),
        cmocka_unit_test(test_256_characters_are_accepted_and_257_rejected),
        cmocka_unit_test(test_length_counts_code_points_not_bytes),
        cmocka_unit_test(test_nul_inside_is_rejected),
        cmocka_unit_test(test_invalid_utf8_overlong_and_surrogates_are_rejected),
        cmocka_unit_test(test_listed_passwords_are_rejected_in_any_case),
        cmocka_unit_test(test_every_listed_entry_is_found_and_the_list_is_sorted),
        cmocka_unit_test(test_email_and_its_local_part_are_rejected),
        cmocka_unit_test(test_one_repeated_character_is_rejected),
        cmocka_unit_test(test_detail_never_contains_the_password),
        cmocka_unit_test(test_hash_then_verify_round_trips_and_wrong_passwords_fail),
        cmocka_unit_test(test_length_is_exact_even_with_nul_bytes),
        cmocka_unit_test(test_two_hashes_of_one_password_differ),
        cmocka_unit_test(test_encoding_names_argon2id_and_the_owasp_parameters),
        cmocka_unit_test(test_other_parameters_verify_but_need_rehash),
        cmocka_unit_test(test_malformed_encodings_never_verify),
        cmocka_unit_test(test_hash_refuses_a_small_buffer_or_huge_input),
        cmocka_unit_test(test_dummy_verify_costs_about_what_a_real_verify_costs),
    };
    return cmocka_run_group_tests_name("auth/password", tests, NULL, NULL);
}
