/* Unit tests for db_err_from_sqlstate (db/db_err.c): the one place SQLSTATEs become error codes.
 * No database is contacted. */
#include "db/db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

struct sqlstate_case {
    const char *state;
    enum err_code want;
};

static void expect_all(const struct sqlstate_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        enum err_code got = db_err_from_sqlstate(cases[i].state);
        if (got != cases[i].want)
            fail_msg("SQLSTATE %s: got %s, want %s", cases[i].state ? cases[i].state : "NULL",
                     err_name(got), err_name(cases[i].want));
    }
}

static void test_integrity_violations_are_conflict_or_invalid(void **state)
{
    static const struct sqlstate_case cases[] = {
        {"23505", ERR_CONFLICT}, /* unique_violation */
        {"23503", ERR_CONFLICT}, /* foreign_key_violation */
        {"23514", ERR_INVALID},  /* check_violation */
        {"23502", ERR_INVALID},  /* not_null_violation */
        {"22P02", ERR_INVALID},  /* invalid_text_representation */
    };
    (void)state;

    expect_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_retryable_failures_are_unavailable(void **state)
{
    static const struct sqlstate_case cases[] = {
        {"40001", ERR_UNAVAILABLE}, /* serialization_failure */
        {"40P01", ERR_UNAVAILABLE}, /* deadlock_detected */
        {"08006", ERR_UNAVAILABLE}, /* connection_failure */
        {"08000", ERR_UNAVAILABLE}, /* connection_exception */
        {"08P01", ERR_UNAVAILABLE}, /* protocol_violation: still class 08 */
        {"53300", ERR_UNAVAILABLE}, /* too_many_connections */
        {"53100", ERR_UNAVAILABLE}, /* disk_full */
        {"57P01", ERR_UNAVAILABLE}, /* admin_shutdown */
        {"57P03", ERR_UNAVAILABLE}, /* cannot_connect_now */
    };
    (void)state;

    expect_all(cases, sizeof cases / sizeof cases[0]);
}

static void test_our_own_mistakes_are_internal(void **state)
{
    static const struct sqlstate_case cases[] = {
        {"42501", ERR_INTERNAL}, /* insufficient_privilege: a grant bug */
        {"42P01", ERR_INTERNAL}, /* undefined_table */
        {"42601", ERR_INTERNAL}, /* syntax_error */
        {"XX000", ERR_INTERNAL}, /* internal_error */
        {"40002", ERR_INTERNAL}, /* integrity_constraint_violation in class 40: not a retry */
        {"57000", ERR_INTERNAL}, /* operator_intervention, not a 57P* shutdown */
    };
    (void)state;

    expect_all(cases, sizeof cases / sizeof cases[0]);
}

/* No SQLSTATE (or not five characters, e.g. "235050") means the connection failed. */
static void test_missing_or_malformed_sqlstate_is_unavailable(void **state)
{
    static const struct sqlstate_case cases[] = {
        {NULL, ERR_UNAVAILABLE},   {"", ERR_UNAVAILABLE},       {"123", ERR_UNAVAILABLE},
        {"0800", ERR_UNAVAILABLE}, {"235050", ERR_UNAVAILABLE},
    };
    (void)state;

    expect_all(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integrity_violations_are_conflict_or_invalid),
        cmocka_unit_test(test_retryable_failures_are_unavailable),
        cmocka_unit_test(test_our_own_mistakes_are_internal),
        cmocka_unit_test(test_missing_or_malformed_sqlstate_is_unavailable),
    };

    return cmocka_run_group_tests_name("db/db_err", tests, NULL, NULL);
}
