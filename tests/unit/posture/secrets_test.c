/* posture/secrets.c: well-known token formats, secrets under secret-like names, the
 * false-positive traps real environments are full of, entropy and masking. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "posture/posture.h"

#include <string.h>

static enum posture_secret_class cls(const char *name, const char *value)
{
    return posture_secret_classify(name, value, NULL).cls;
}

static void test_token_formats_are_recognised(void **state)
{
    static const struct {
        const char *name, *value;
        enum posture_secret_class want;
    } cases[] = {
        {"KEY_ID", "AKIA2E3MPLQ7ZRT4XW5N", POSTURE_SECRET_CLOUD},
        {"CREDS", "id=ASIAY34FZKBOKMUTVV7A;other", POSTURE_SECRET_CLOUD},
        {"SIGNING_PEM",
         "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0"
         "AHB7MhgHcWz\n-----END RSA PRIVATE KEY-----",
         POSTURE_SECRET_CLOUD},
        {"KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==",
         POSTURE_SECRET_CLOUD},
        {"GH", "ghp_R8sT2uV5wX9yZ3aB6cD1eF4gH7iJ0kL2mN5o", POSTURE_SECRET_TOKEN},
        {"GH", "gho_16C7e42F292c6912E7710c838347Ae178B4a", POSTURE_SECRET_TOKEN},
        {"GH",
         "github_pat_11ABCDEFG0123456789abc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
         "0123456",
         POSTURE_SECRET_TOKEN},
        {"GL", "glpat-x7Y2kLm9Pq4Rs8Tv1Wz3", POSTURE_SECRET_TOKEN},
        {"SLACK", "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
         POSTURE_SECRET_TOKEN},
        {"SLACK_HOOK",
         "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
         POSTURE_SECRET_TOKEN},
        {"PAY", "sk_live_51HqX9kLmN2pQ7rS4tU8vW1xY3zA6bC9d", POSTURE_SECRET_TOKEN},
        {"PAY", "rk_live_51HqX9kLmN2pQ7rS4tU8vW", POSTURE_SECRET_TOKEN},
        {"MAPS", "AIzaSyD4x8Qm1nP2oR3sT5uV6wX7yZ8a9b0c1d2", POSTURE_SECRET_TOKEN},
        {"MAIL", "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",
         POSTURE_SECRET_TOKEN},
        {"TWILIO", "SK0123456789abcdef0123456789abcdef", POSTURE_SECRET_TOKEN},
        {"NPMRC", "//registry.npmjs.org/:_authToken=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
         POSTURE_SECRET_TOKEN},
        {"AUTH",
         "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ik"
         "pvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
         POSTURE_SECRET_TOKEN},
        {"AI",
         "sk-ant-api03-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij"
         "klmnopqrstuvwxyzAB-_AA",
         POSTURE_SECRET_TOKEN},
        {"DATABASE_URL", "postgres://app:Xq7!vR2pLm9s@db.internal:5432/app", POSTURE_SECRET_URL},
        {"MONGO", "mongodb+srv://svc:h7Gk2LpQ@cluster0.abcde.mongodb.net/prod", POSTURE_SECRET_URL},
        {"CACHE", "rediss://:p4ssW0rdLong@cache.internal:6380/0", POSTURE_SECRET_URL},
        {"FEED", "https://user:hunter22x@feeds.example.com/private", POSTURE_SECRET_URL},
        {"DB_PASSWORD", "Tr0ub4dor&3xQ", POSTURE_SECRET_GENERIC},
        {"apiKey", "9f8e7d6c5b4a39281716", POSTURE_SECRET_GENERIC},
        {"CLIENT_SECRET", "3f2504e0-4f89-11d3-9a0c-0305e82c3301", POSTURE_SECRET_GENERIC},
        {"HEROKU_API_KEY", "01234567-89ab-cdef-0123-456789abcdef", POSTURE_SECRET_GENERIC},
        {"TWILIO_AUTH_TOKEN", "c0ffee15deadbeef0123456789abcdef", POSTURE_SECRET_GENERIC},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct posture_secret s = posture_secret_classify(cases[i].name, cases[i].value, NULL);
        if (s.cls != cases[i].want)
            fail_msg("%s=%.12s...: class %d, want %d", cases[i].name, cases[i].value, s.cls,
                     cases[i].want);
        assert_non_null(s.type);
    }
}

static void test_aws_secret_key_needs_context(void **state)
{
    const char *sk = "q8Rk2vXz+7LmN4pT9wYb3Hc6Jd1Fg5Ks0Ae/UiOo";
    json_t *env = json_pack("{s:s, s:s}", "ID", "AKIA2E3MPLQ7ZRT4XW5N", "K", sk);
    (void)state;

    assert_int_equal(cls("AWS_SECRET_ACCESS_KEY", sk), POSTURE_SECRET_CLOUD);
    assert_int_equal(posture_secret_classify("K", sk, env).cls, POSTURE_SECRET_CLOUD);
    /* the same 40 characters alone under a neutral name could be any hash */
    assert_int_equal(cls("CHECKSUM", sk), POSTURE_SECRET_NONE);
    /* AWS's documentation keys are placeholders */
    assert_int_equal(cls("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                     POSTURE_SECRET_NONE);
    assert_int_equal(cls("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), POSTURE_SECRET_NONE);
    json_decref(env);
}

static void test_false_positive_traps_stay_quiet(void **state)
{
    static const struct {
        const char *name, *value;
    } traps[] = {
        {"DB_PASSWORD_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:444455556666:secret:db-AbCd"},
        {"DB_PASSWORD", "arn:aws:ssm:us-east-1:444455556666:parameter/prod/db"},
        {"DB_PASSWORD", "{{resolve:secretsmanager:prod/db:SecretString:password}}"},
        {"API_TOKEN", "/aws/reference/secretsmanager/prod/token"},
        {"API_TOKEN", "${ssm:/prod/token}"},
        {"API_TOKEN",
         "AQICAHhYr0NS1Yl7o3bqXAxvVp4Xr1m0Pw2q0G5k3HcwE6l7AgGx2a1mL3bfz8n0FcQy3pTIAAAAgj"
         "CBhwYJKoZIhvcNAQcGoHoweAIBADBzBgkqhkiG9w0BBwEwHgYJYIZIAWUDBAEuMBEEDN9TzQ"},
        {"API_KEY_PARAM", "/prod/payments/api-key"},
        {"SESSION_TOKEN_TTL", "3600"},
        {"PASSWORD_MIN_LENGTH", "12"},
        {"SECRET_NAME", "prod/db/credentials"},
        {"RDS_secrets_name", "config/database_credentials"},
        {"MYSQL_ALLOW_EMPTY_PASSWORD", "yes"},
        {"ENABLE_TOKEN_AUTH", "true"},
        {"DB_PASSWORD", "changeme"},
        {"DB_PASSWORD", "xxxxxxxxxxxx"},
        {"DB_PASSWORD", "<your-password-here>"},
        {"API_KEY", "REPLACE_WITH_YOUR_KEY"},
        {"API_KEY", "your-api-key"},
        {"ADMIN_PASSWORD", "************"},
        {"PWD", "/var/task"},
        {"TOKEN_URL", "https://auth.example.com/oauth2/token"},
        {"SERVICE_URL", "https://api.partner.example.com/v1/charges"},
        {"REDIS_URL", "redis://cache.internal:6379/0"},
        {"DATABASE_URL", "postgres://app@db.internal:5432/app"},
        {"REPLICA_URL", "postgres://app:${DB_PASSWORD}@replica.internal:5432/app"},
        {"CUSTOMER_ID", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        {"REQUEST_ID", "9f8e7d6c5b4a39281716"},
        {"GIT_SHA", "9fceb02d0ae598e95dc970b74767f19372d61af8"},
        {"CODE_HASH", "YFgDgEKG3ugvF1+pX64gV6tu9qNuIYNUdgJm8nCxsm4="},
        {"STRIPE_KEY", "sk_test_51HqX9kLmN2pQ7rS4tU8vW1xY3zA6bC9d"},
        {"STRIPE_PUBLISHABLE_KEY", "pk_live_51HqX9kLmN2pQ7rS4tU8vW1xY3zA6bC9d"},
        {"PUBLIC_KEY", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo"},
        {"JWT_ISSUER", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI"},
        {"KMS_KEY_ID", "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"},
        {"TOKEN", "short"},
        {"PASSWORD", "aaaaaaaaab"},
        {"SECRET_MESSAGE", "this is a sentence about secrets"},
        {"LOG_LEVEL", "INFO"},
        {"NAME", "ghp_short"},
        {"CUSTOMER", "AKIA-is-not-a-key"},
        {"TRACE", "eyJhbGciOiJIUzI1NiJ9"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof traps / sizeof traps[0]; i++) {
        struct posture_secret s = posture_secret_classify(traps[i].name, traps[i].value, NULL);
        if (s.cls != POSTURE_SECRET_NONE)
            fail_msg("false positive: %s (%s)", traps[i].name, s.type);
    }
    assert_int_equal(cls(NULL, "x"), POSTURE_SECRET_NONE);
    assert_int_equal(cls("X", NULL), POSTURE_SECRET_NONE);
    assert_int_equal(cls("PASSWORD", ""), POSTURE_SECRET_NONE);
}

static void test_entropy(void **state)
{
    (void)state;
    assert_true(posture_secret_entropy("") == 0.0);
    assert_true(posture_secret_entropy("aaaa") == 0.0);
    assert_true(posture_secret_entropy("abab") > 0.99 && posture_secret_entropy("abab") < 1.01);
    assert_true(posture_secret_entropy("0123456789abcdef") > 3.99);
}

static void test_masking_never_shows_the_secret(void **state)
{
    char out[128];
    (void)state;

    posture_secret_mask("AKIA2E3MPLQ7ZRT4XW5N", out, sizeof out);
    assert_string_equal(out, "AKIA*** (20 chars)");
    posture_secret_mask("hunter22", out, sizeof out);
    assert_string_equal(out, "hu*** (8 chars)");
    posture_secret_mask("abc", out, sizeof out);
    assert_string_equal(out, "*** (3 chars)");
    posture_secret_mask("postgres://app:Xq7!vR2pLm9s@db.internal:5432/app", out, sizeof out);
    assert_string_equal(out, "postgres://app:****@db.internal:5432/app");
    posture_secret_mask("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", out, sizeof out);
    assert_string_equal(out, "*** (10 chars)");
    posture_secret_mask("AKIA2E3MPLQ7ZRT4XW5N", out, 6);
    assert_int_equal(strlen(out), 5);
    posture_secret_mask(NULL, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_formats_are_recognised),
        cmocka_unit_test(test_aws_secret_key_needs_context),
        cmocka_unit_test(test_false_positive_traps_stay_quiet),
        cmocka_unit_test(test_entropy),
        cmocka_unit_test(test_masking_never_shows_the_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
