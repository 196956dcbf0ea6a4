/* The database layer against a real PostgreSQL: migrations (pending, concurrent, tampered),
 * the application role's privileges, readiness, and riding out a database outage. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void get(const struct h_server *s, const char *path, struct h_resp *r)
{
    char u[160];
    snprintf(u, sizeof u, "%s%s", s->base, path);
    h_http("GET", u, NULL, NULL, 0, r);
}

static int latest_version(void)
{
    /* The newest migration file decides; count migrations/ the way the build does. */
    char path[512];
    int v = 0;
    FILE *p;

    snprintf(path, sizeof path, "ls \"%s/migrations\" | sed -n 's/^\\([0-9]\\{4\\}\\)_.*\\.sql$/\\1/p'",
             getenv("PARAPET_TEST_ROOT"));
    p = popen(path, "r");
    assert_non_null(p);
    while (fgets(path, sizeof path, p) != NULL) {
        int n = (int)strtol(path, NULL, 10);
        if (n > v)
            v = n;
    }
    pclose(p);
    assert_true(v > 0);
    return v;
}

static void test_readyz_reports_the_schema_version_after_migrating(void **state)
{
    struct h_server s;
    struct h_resp r;
    char db[64];
    json_t *doc;
    (void)state;

    h_db_new("ready", db);
    assert_int_equal(h_server_start(&s, db, NULL, NULL), 0);
    get(&s, "/readyz", &r);
    assert_int_equal(r.status, 200);
    doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "ready");
    assert_int_equal(json_integer_value(json_object_get(doc, "schema_version")), latest_version());
    json_decref(doc);
    h_resp_free(&r);
    assert_int_equal(h_server_stop(&s, 10000), 0);
}

static void test_readyz_is_503_while_migrations_are_pending(void **state)
{
    static const char *const no_migrate[] = {"PARAPET_MIGRATE=false", NULL};
    static const char *const migrate[] = {"migrate", NULL};
    struct h_server s;
    struct h_resp r;
    char db[64], retry[16], ct[64];
    (void)state;

    h_db_new("pending", db);
    assert_int_equal(h_server_start(&s, db, NULL, no_migrate), 0);
    get(&s, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(h_header(&r, "Content-Type", ct, sizeof ct), "application/problem+json");
    assert_non_null(h_header(&r, "Retry-After", retry, sizeof retry));
    assert_non_null(strstr(r.body, "pending"));
    h_resp_free(&r);
    get(&s, "/healthz", &r); /* alive, just not ready */
    assert_int_equal(r.status, 200);
    h_resp_free(&r);

    assert_int_equal(h_run(db, NULL, migrate, NULL, 0), 0);
    get(&s, "/readyz", &r); /* ready without a restart */
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h_server_stop(&s, 10000), 0);
}

static void test_concurrent_migrate_applies_each_migration_once(void **state)
{
    static const char *const migrate[] = {"migrate", NULL};
    char db[64], owner[256], sql[128];
    pid_t pids[4];
    char *v;
    (void)state;

    h_db_new("concurrent", db);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(h_run(db, NULL, migrate, NULL, 0));
    }
    for (int i = 0; i < 4; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    h_db_url(db, true, owner, sizeof owner);
    /* Versions need not be contiguous (branches number theirs ahead): the newest is applied. */
    v = h_sql(owner, "SELECT max(version) FROM schema_migrations");
    snprintf(sql, sizeof sql, "%d", latest_version());
    assert_string_equal(v, sql);
    free(v);
    v = h_sql(owner, "SELECT count(*) FROM schema_migrations GROUP BY version HAVING count(*) > 1");
    assert_null(v); /* no version recorded twice (no row at all) */
}

static void test_a_migration_changed_after_it_was_applied_is_refused(void **state)
{
    static const char *const migrate[] = {"migrate", NULL};
    char db[64], owner[256], err[4096];
    (void)state;

    h_db_new("tamper", db);
    assert_int_equal(h_run(db, NULL, migrate, NULL, 0), 0);
    h_db_url(db, true, owner, sizeof owner);
    assert_int_equal(
        h_sql_exec(owner, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
                   false),
        0);
    assert_int_equal(h_run(db, NULL, migrate, err, sizeof err), 1);
    assert_non_null(strstr(err, "changed after it was applied"));
}

static void test_application_role_owns_nothing_and_cannot_change_the_schema(void **state)
{
    static const char *const migrate[] = {"migrate", NULL};
    char db[64], app[256];
    char *v;
    (void)state;

    h_db_new("roles", db);
    assert_int_equal(h_run(db, NULL, migrate, NULL, 0), 0);
    h_db_url(db, false, app, sizeof app);
    v = h_sql(app, "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
                   " WHERE r.rolname IN ('parapet', 'parapet_app')");
    assert_string_equal(v, "0");
    free(v);
    v = h_sql(app, "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb"
                   " FROM pg_roles WHERE rolname = current_user");
    assert_string_equal(v, "f");
    free(v);
    assert_int_equal(h_sql_exec(app, "CREATE TABLE evil (x int)", true), -1);
    assert_int_equal(h_sql_exec(app, "DROP TABLE jobs", true), -1);
    assert_int_equal(h_sql_exec(app, "ALTER TABLE jobs DISABLE ROW LEVEL SECURITY", true), -1);
    assert_int_equal(h_sql_exec(app, "DELETE FROM schema_migrations", true), -1);
    /* What it needs, it has. */
    assert_int_equal(h_sql_exec(app, "SELECT count(*) FROM jobs", false), 0);
}

static void test_database_outage_gives_503_and_recovers_without_restart(void **state)
{
    struct h_server s;
    struct h_resp r;
    char db[64], ct[64], retry[16];
    long long deadline;
    long status = 0;
    (void)state;

    h_db_new("outage", db);
    assert_int_equal(h_server_start(&s, db, NULL, NULL), 0);
    get(&s, "/readyz", &r);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);

    h_pg_stop();
    get(&s, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(h_header(&r, "Content-Type", ct, sizeof ct), "application/problem+json");
    assert_non_null(h_header(&r, "Retry-After", retry, sizeof retry));
    assert_null(strstr(r.body, "connection")); /* no libpq text leaks to the client */
    h_resp_free(&r);
    get(&s, "/healthz", &r);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    get(&s, "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "parapet_database_up 0"));
    h_resp_free(&r);

    h_pg_start();
    deadline = h_now_ms() + 15000;
    while (h_now_ms() < deadline) {
        get(&s, "/readyz", &r);
        status = r.status;
        h_resp_free(&r);
        if (status == 200)
            break;
        h_sleep_ms(100);
    }
    assert_int_equal(status, 200);
    assert_int_equal(h_server_stop(&s, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readyz_reports_the_schema_version_after_migrating),
        cmocka_unit_test(test_readyz_is_503_while_migrations_are_pending),
        cmocka_unit_test(test_concurrent_migrate_applies_each_migration_once),
        cmocka_unit_test(test_a_migration_changed_after_it_was_applied_is_refused),
        cmocka_unit_test(test_application_role_owns_nothing_and_cannot_change_the_schema),
        cmocka_unit_test(test_database_outage_gives_503_and_recovers_without_restart),
    };
    return cmocka_run_group_tests_name("integration/db", tests, NULL, NULL);
}
