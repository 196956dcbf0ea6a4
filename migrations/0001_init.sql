-- 0001: extensions, the application role's grants, the job queue and worker heartbeats.
-- Runs as the owner role. The application role (parapet_app, a group the login role of
-- DATABASE_URL belongs to) owns nothing, and gets only the privileges granted here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parapet_app') THEN
        RAISE EXCEPTION 'role parapet_app does not exist: create it first (see scripts/db-init.sql)';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parapet_app'
               AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role parapet_app must not be a superuser or bypass row-level security';
    END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS pgcrypto;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO parapet_app;
GRANT SELECT ON schema_migrations TO parapet_app;

-- Jobs: claimed with FOR UPDATE SKIP LOCKED under a lease (locked_until). A job whose lease
-- passes without completion is claimed again, so a killed worker's job is retried.
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,62}$'),
    tenant_id    uuid,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    locked_by    text,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    last_error   text,
    dedup_key    text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    CHECK (status <> 'running' OR (locked_until IS NOT NULL AND locked_by IS NOT NULL))
);
-- One job per (kind, dedup_key): periodic jobs use the period number, so several instances
-- ticking at once enqueue exactly one.
CREATE UNIQUE INDEX jobs_dedup ON jobs (kind, dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('succeeded', 'failed');

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO parapet_app;

-- Heartbeats: the heartbeat job records which worker ran it and when; the age of the newest is
-- a liveness signal for the worker pool (/metrics).
CREATE TABLE heartbeats (
    job_id  bigint PRIMARY KEY,
    worker  text NOT NULL,
    ran_at  timestamptz NOT NULL DEFAULT now(),
    runs    integer NOT NULL DEFAULT 1 -- more than 1 means the job ran twice: a lease bug
);
CREATE INDEX heartbeats_ran_at ON heartbeats (ran_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON heartbeats TO parapet_app;
