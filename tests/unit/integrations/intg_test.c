/* Unit tests for integrations/intg.h: settings checked per kind with secrets split out and
 * redacted, PATCH merges that keep secrets, and the retry back-off. */
#include "integrations/intg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

static enum err_code check(const char *kind, const char *config_text, const json_t *base,
                           json_t **redacted, json_t **secrets, struct err *err)
{
    json_t *config = json_loads(config_text, 0, NULL);
    enum err_code rc;
    assert_non_null(config);
    rc = intg_config_check(kind, config, base, redacted, secrets, err);
    json_decref(config);
    return rc;
}

static void test_secrets_are_split_out_and_redacted(void **state)
{
    json_t *red = NULL, *sec = NULL;
    struct err err;
    char *dump;
    (void)state;

    assert_int_equal(check("slack", "{\"webhook_url\":\"https://hooks.slack.com/services/T/B/"
                                    "secret123\"}",
                           NULL, &red, &sec, &err),
                     ERR_OK);
    assert_string_equal(json_string_value(json_object_get(red, "webhook_url")),
                        "https://hooks.slack.com/********");
    assert_string_equal(json_string_value(json_object_get(sec, "webhook_url")),
                        "https://hooks.slack.com/services/T/B/secret123");
    json_decref(red);
    json_decref(sec);

    assert_int_equal(check("jira", "{\"base_url\":\"https://acme.atlassian.net\",\"user\":"
                                   "\"a@acme.example\",\"api_token\":\"tok-secret\","
                                   "\"project_key\":\"SEC\"}",
                           NULL, &red, &sec, &err),
                     ERR_OK);
    dump = json_dumps(red, 0);
    assert_null(strstr(dump, "tok-secret"));
    assert_non_null(strstr(dump, "acme.atlassian.net"));
    free(dump);
    assert_int_equal(json_object_size(sec), 1);
    json_decref(red);
    json_decref(sec);
}

static void test_bad_settings_name_their_field(void **state)
{
    json_t *red = NULL, *sec = NULL;
    struct err err;
    (void)state;

    assert_int_equal(check("slack", "{}", NULL, &red, &sec, &err), ERR_INVALID);
    assert_string_equal(err.field, "config.webhook_url");
    assert_int_equal(check("slack", "{\"webhook_url\":\"https://hooks.slack.com/x\",\"x\":1}", NULL,
                           &red, &sec, &err),
                     ERR_INVALID);
    assert_string_equal(err.field, "config.x");
    assert_int_equal(check("slack", "{\"webhook_url\":7}", NULL, &red, &sec, &err), ERR_INVALID);
    assert_int_equal(check("slack", "{\"webhook_url\":\"https://10.0.0.1/x\"}", NULL, &red, &sec,
                           &err),
                     ERR_INVALID);
    assert_int_equal(check("splunk", "{\"hec_url\":\"https://s.acme.example/services/collector\","
                                     "\"token\":\"t\",\"index\":\"_internal\"}",
                           NULL, &red, &sec, &err),
                     ERR_INVALID);
    assert_string_equal(err.field, "config.index");
    assert_int_equal(check("teams", "{}", NULL, &red, &sec, &err), ERR_INVALID);
    assert_string_equal(err.field, "kind");
    assert_null(red);
    assert_null(sec);
}

static void test_a_patch_keeps_omitted_secrets_and_null_removes(void **state)
{
    json_t *base = json_pack("{s:s, s:s, s:s, s:s}", "hec_url",
                             "https://s.acme.example/services/collector", "token", "old-token",
                             "index", "main", "sourcetype", "x");
    json_t *red = NULL, *sec = NULL;
    struct err err;
    (void)state;

    assert_non_null(base);
    assert_int_equal(check("splunk", "{\"index\":null,\"sourcetype\":\"parapet:incident\"}", base,
                           &red, &sec, &err),
                     ERR_OK);
    assert_string_equal(json_string_value(json_object_get(sec, "token")), "old-token");
    assert_null(json_object_get(red, "index"));
    assert_string_equal(json_string_value(json_object_get(red, "sourcetype")),
                        "parapet:incident");
    json_decref(red);
    json_decref(sec);
    /* A required setting cannot be removed. */
    assert_int_equal(check("splunk", "{\"token\":null}", base, &red, &sec, &err), ERR_INVALID);
    assert_string_equal(err.field, "config.token");
    json_decref(base);
}

static void test_backoff_doubles_to_the_cap_with_jitter_and_honours_retry_after(void **state)
{
    (void)state;
    /* Jitter scales into [0.5, 1.0) of the nominal delay. */
    assert_int_equal(intg_backoff_ms(1, 2000, 900, -1, 0.0), 1000);
    assert_int_equal(intg_backoff_ms(1, 2000, 900, -1, 0.999999), 1999);
    assert_int_equal(intg_backoff_ms(2, 2000, 900, -1, 0.0), 2000);
    assert_int_equal(intg_backoff_ms(3, 2000, 900, -1, 0.0), 4000);
    assert_int_equal(intg_backoff_ms(10, 2000, 900, -1, 0.0), 450000);
    assert_int_equal(intg_backoff_ms(30, 2000, 900, -1, 0.0), 450000); /* capped at 900 s */
    for (unsigned a = 1; a < 40; a++) {
        long long d = intg_backoff_ms(a, 2000, 900, -1, 0.5);
        assert_true(d >= 1000 && d <= 900000);
    }
    assert_int_equal(intg_backoff_ms(1, 2000, 900, 7, 0.3), 7000);
    assert_int_equal(intg_backoff_ms(5, 2000, 900, 0, 0.3), 0);
    assert_int_equal(intg_backoff_ms(1, 2000, 900, 999999, 0.3), 3600000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets_are_split_out_and_redacted),
        cmocka_unit_test(test_bad_settings_name_their_field),
        cmocka_unit_test(test_a_patch_keeps_omitted_secrets_and_null_removes),
        cmocka_unit_test(test_backoff_doubles_to_the_cap_with_jitter_and_honours_retry_after),
    };
    return cmocka_run_group_tests_name("unit/integrations/intg", tests, NULL, NULL);
}
