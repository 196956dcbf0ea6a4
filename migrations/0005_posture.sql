-- 0005: posture. Scans read an account's functions, roles and APIs into resources; rules turn
-- them into findings, one per (rule, resource, subject) fingerprint, with a lifecycle:
-- open -> resolved (a complete later scan no longer sees it) -> open again (reopened);
-- suppressed (with reason, who, when, optional expiry) survives scans.

-- When each active account is next scanned (scheduled scans), and where its last scan stands.
ALTER TABLE cloud_accounts ADD COLUMN next_scan_at timestamptz;
ALTER TABLE cloud_accounts ADD COLUMN last_scan_at timestamptz;

CREATE TABLE scans (
    tenant_id     uuid NOT NULL,
    scan_id       uuid NOT NULL,
    account_id    uuid NOT NULL,
    trigger       text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'connect')),
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    complete      boolean NOT NULL DEFAULT false, -- every read answered: findings may resolve
    progress_done integer NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total integer NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    stats         jsonb NOT NULL DEFAULT '{}'::jsonb,
    errors        jsonb NOT NULL DEFAULT '[]'::jsonb,
    requested_by  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    PRIMARY KEY (tenant_id, scan_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES cloud_accounts (tenant_id, account_id)
        ON DELETE CASCADE
);
-- At most one scan queued or running per account.
CREATE UNIQUE INDEX scans_one_active ON scans (tenant_id, account_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX scans_by_account ON scans (tenant_id, account_id, created_at DESC);

CREATE TABLE resources (
    tenant_id    uuid NOT NULL,
    resource_id  uuid NOT NULL,
    account_id   uuid NOT NULL,
    region       text NOT NULL,
    type         text NOT NULL CHECK (type IN ('aws.lambda.function', 'aws.iam.role',
                                               'aws.apigateway.http_api',
                                               'aws.apigateway.rest_api')),
    arn          text NOT NULL CHECK (length(arn) BETWEEN 1 AND 2048),
    name         text NOT NULL,
    data         jsonb NOT NULL, -- the inventory object, environment values masked
    links        jsonb NOT NULL DEFAULT '{}'::jsonb, -- role, routes, functions
    code_sha256  text,           -- functions: the package the dependencies were read from
    dependencies jsonb,          -- functions: [{ecosystem, name, version, file}]
    vulnerabilities jsonb,       -- functions: matched advisories
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    last_scan_id uuid,
    removed_at   timestamptz,    -- a complete scan no longer saw it
    PRIMARY KEY (tenant_id, resource_id),
    UNIQUE (tenant_id, account_id, arn),
    FOREIGN KEY (tenant_id, account_id) REFERENCES cloud_accounts (tenant_id, account_id)
        ON DELETE CASCADE
);
CREATE INDEX resources_by_type ON resources (tenant_id, type, resource_id);

CREATE TABLE findings (
    tenant_id     uuid NOT NULL,
    finding_id    uuid NOT NULL,
    account_id    uuid NOT NULL,
    resource_id   uuid NOT NULL,
    resource_arn  text NOT NULL,
    rule_id       text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    fingerprint   text NOT NULL, -- hex SHA-256 of rule, resource ARN and subject
    category      text NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    title         text NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'suppressed')),
    evidence      jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    reopened      integer NOT NULL DEFAULT 0,
    last_scan_id  uuid,
    suppressed_reason text,
    suppressed_by text,
    suppressed_at timestamptz,
    suppressed_until timestamptz,
    PRIMARY KEY (tenant_id, finding_id),
    UNIQUE (tenant_id, fingerprint),
    FOREIGN KEY (tenant_id, account_id) REFERENCES cloud_accounts (tenant_id, account_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, resource_id)
        ON DELETE CASCADE
);
CREATE INDEX findings_by_status ON findings (tenant_id, status, severity, finding_id);
CREATE INDEX findings_by_resource ON findings (tenant_id, resource_arn);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['scans', 'resources', 'findings'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO parapet_app', t);
    END LOOP;
END
$$;

-- The scheduler runs as the owner (below) across tenants: the owner reads accounts and writes
-- scans through policies of its own; the application role can only call the function.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY scheduler ON cloud_accounts FOR ALL TO %I'
                   ' USING (true) WITH CHECK (true)', current_user);
    EXECUTE format('CREATE POLICY scheduler ON scans FOR ALL TO %I'
                   ' USING (true) WITH CHECK (true)', current_user);
END
$$;

-- The scheduler: queues a scan for every active account that is due and has none queued or
-- running, across tenants (so it runs as the owner), and sets the account's next scan time.
-- Returns how many scans it queued. At most p_limit per call; concurrent callers skip each
-- other's accounts.
CREATE FUNCTION posture_schedule_due(p_limit integer) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        WITH due AS (
            SELECT a.tenant_id, a.account_id, a.scan_interval_s
              FROM cloud_accounts a
             WHERE a.status = 'active'
               AND coalesce(a.next_scan_at, a.connected_at, a.created_at) <= now()
               AND NOT EXISTS (SELECT 1 FROM scans s
                                WHERE s.tenant_id = a.tenant_id AND s.account_id = a.account_id
                                  AND s.status IN ('queued', 'running'))
             ORDER BY coalesce(a.next_scan_at, a.connected_at, a.created_at)
             LIMIT p_limit
               FOR UPDATE OF a SKIP LOCKED
        ), ins AS (
            INSERT INTO scans (tenant_id, scan_id, account_id, trigger)
            SELECT tenant_id, gen_random_uuid(), account_id, 'schedule' FROM due
            ON CONFLICT DO NOTHING
            RETURNING tenant_id, scan_id, account_id
        ), q AS (
            INSERT INTO jobs (kind, tenant_id, payload, dedup_key)
            SELECT 'scan', tenant_id, jsonb_build_object('scan_id', scan_id), 'scan:' || scan_id
              FROM ins
            RETURNING 1
        ), upd AS (
            UPDATE cloud_accounts a
               SET next_scan_at = now() + make_interval(secs => due.scan_interval_s)
              FROM due
             WHERE a.tenant_id = due.tenant_id AND a.account_id = due.account_id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM q)::integer + 0 * (SELECT count(*) FROM upd)::integer
    $$;
REVOKE ALL ON FUNCTION posture_schedule_due(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION posture_schedule_due(integer) TO parapet_app;
