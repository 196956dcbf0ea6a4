-- 0007: observe. Telemetry events (append-only, partitioned by day), the signals detectors
-- derive from them, incidents that correlation folds signals into (with their story: steps,
-- keys, actors, resources), ingest idempotency keys and CloudTrail detection state.
--
-- events and signals carry no foreign key to tenants: they are high-volume telemetry written in
-- batches, removed by retention (partition drops), and a tenant's rows are reached only through
-- row-level security on tenant_id like every other table.

CREATE TABLE events (
    tenant_id    uuid NOT NULL,
    time         timestamptz NOT NULL,
    event_id     uuid NOT NULL,
    type         text NOT NULL CHECK (type IN ('invocation', 'log', 'cloudtrail', 'fsp.violation')),
    account_id   text NOT NULL CHECK (account_id ~ '^[0-9]{12}$'),
    region       text,
    function_arn text,
    request_id   text,
    trace_id     text,
    source_ip    text,
    body         jsonb NOT NULL, -- input | message | record | violation, as received
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, time, event_id)
) PARTITION BY RANGE (time);
CREATE INDEX events_request ON events (tenant_id, request_id) WHERE request_id IS NOT NULL;

-- Partitions are named events_pYYYYMMDD and cover one UTC day. obs_partition_ensure() creates
-- one (with row-level security forced, like the parent, so a partition reached directly shows
-- nothing either; the application role has no privilege on partitions anyway). It runs as the
-- owner: the application role creates nothing.
CREATE FUNCTION obs_partition_ensure(p_day date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    name text := 'events_p' || to_char(p_day, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('obs_partition'), (p_day - date '2000-01-01'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)', name,
                   (p_day::timestamp AT TIME ZONE 'UTC'),
                   ((p_day + 1)::timestamp AT TIME ZONE 'UTC'));
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                   ' WITH CHECK (tenant_id = app_tenant())', name);
    RETURN true;
END
$$;

-- Retention: drops the partitions whose whole day is older than p_days days and deletes older
-- signals, and idempotency records older than a day; returns the partitions dropped. Runs as the
-- owner across tenants through the retention policies below.
CREATE FUNCTION obs_retention(p_days integer) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    r record;
    n integer := 0;
    cutoff date := (now() AT TIME ZONE 'UTC')::date - p_days;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_p[0-9]{8}$'
                AND to_date(substr(c.relname, 9), 'YYYYMMDD') < cutoff LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        n := n + 1;
    END LOOP;
    DELETE FROM signals WHERE time < cutoff::timestamp AT TIME ZONE 'UTC';
    DELETE FROM ingest_requests WHERE created_at < now() - interval '1 day';
    RETURN n;
END
$$;

DO $$
BEGIN
    FOR d IN -1..2 LOOP
        PERFORM obs_partition_ensure((now() AT TIME ZONE 'UTC')::date + d);
    END LOOP;
END
$$;

-- Signals: one detector match. weak signals (reconnaissance calls, single access denials) never
-- open an incident on their own: they join the story of an incident sharing their principal or
-- access key. xid orders signals by the transaction that wrote them, so correlation can read
-- exactly the settled ones (below the snapshot's xmin) and never skip a late commit.
CREATE TABLE signals (
    tenant_id     uuid NOT NULL,
    signal_id     bigint GENERATED ALWAYS AS IDENTITY,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    time          timestamptz NOT NULL,
    event_id      uuid NOT NULL,
    source        text NOT NULL CHECK (source IN ('payload', 'cloudtrail', 'fsp')),
    rule_id       text NOT NULL,  -- the detector: "payload.sqli", "CT-06", "fsp.exec"
    class         text NOT NULL,  -- "sqli", "privilege-escalation", "egress", ...
    technique     text NOT NULL,
    confidence    real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    severity      text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    weak          boolean NOT NULL DEFAULT false,
    account_id    text NOT NULL,
    function_arn  text,
    route         text,
    source_ip     text,
    request_id    text,
    trace_id      text,
    principal     text,
    access_key_id text,
    shape         text NOT NULL DEFAULT '',
    location      text NOT NULL DEFAULT '',
    evidence      text NOT NULL DEFAULT '',
    records       bigint NOT NULL DEFAULT 0, -- estimated records exposed (see README)
    PRIMARY KEY (tenant_id, signal_id)
);
CREATE INDEX signals_xid ON signals (tenant_id, xid, signal_id);
CREATE INDEX signals_weak_key ON signals (tenant_id, access_key_id, time) WHERE weak;
CREATE INDEX signals_weak_principal ON signals (tenant_id, principal, time) WHERE weak;
CREATE INDEX signals_time ON signals (time);

CREATE TABLE incidents (
    tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    incident_id     uuid NOT NULL,
    seq             bigint GENERATED ALWAYS AS IDENTITY, -- keyset order of lists
    repeat_key      text NOT NULL, -- class + shape + target of the attack that opened it
    kind            text NOT NULL CHECK (kind IN ('groundhog', 'story', 'cloud')),
    class           text NOT NULL,
    target          text NOT NULL DEFAULT '', -- the function, route or principal attacked
    title           text NOT NULL,
    summary         text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    status          text NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'acknowledged', 'resolved')),
    account_id      text NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    distinct_sources bigint NOT NULL DEFAULT 0,
    functions       bigint NOT NULL DEFAULT 0,
    records_exposed bigint NOT NULL DEFAULT 0,
    steps           integer NOT NULL DEFAULT 0,
    phases          integer NOT NULL DEFAULT 0, -- bit set of story phases seen
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    risk            text NOT NULL,
    remediation_short text NOT NULL,
    remediation_long  text NOT NULL,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    PRIMARY KEY (tenant_id, incident_id),
    UNIQUE (tenant_id, seq)
);
CREATE INDEX incidents_open ON incidents (tenant_id, repeat_key) WHERE status <> 'resolved';

-- Keys that join signals into an incident's story: repeat keys, request and trace ids,
-- principals and access keys (hashed to 64 bits: lookups by equality only). This table and
-- incident_signals take about one row per signal, so they carry no foreign key (a check per
-- row halves correlation's speed): only correlation writes them, with ids it just wrote.
CREATE TABLE incident_keys (
    tenant_id   uuid NOT NULL,
    key_hash    bigint NOT NULL,
    incident_id uuid NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, key_hash)
);

-- Every signal folded into an incident (GET /v1/incidents/{id}/events).
CREATE TABLE incident_signals (
    tenant_id   uuid NOT NULL,
    incident_id uuid NOT NULL,
    signal_id   bigint NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, signal_id)
);

CREATE INDEX incident_signals_signal ON incident_signals (tenant_id, signal_id);

-- The story: the first signal of each distinct step (rule + resource), in time order, with its
-- evidence; repeats only count.
CREATE TABLE incident_steps (
    tenant_id   uuid NOT NULL,
    incident_id uuid NOT NULL,
    step_key    bigint NOT NULL,
    time        timestamptz NOT NULL,
    rule_id     text NOT NULL,
    class       text NOT NULL,
    technique   text NOT NULL,
    severity    text NOT NULL,
    resource    text,
    actor       text,
    request_id  text,
    location    text NOT NULL DEFAULT '',
    evidence    text NOT NULL DEFAULT '',
    count       bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, incident_id, step_key),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, incident_id)
        ON DELETE CASCADE
);

-- Affected resources (functions, roles, findings: by ARN or id) and actors (source addresses,
-- principals, access keys) of an incident; counters come from these.
CREATE TABLE incident_links (
    tenant_id   uuid NOT NULL,
    incident_id uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('function', 'resource', 'finding', 'source_ip',
                                              'principal', 'access_key')),
    ref         text NOT NULL,
    PRIMARY KEY (tenant_id, incident_id, kind, ref),
    FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents (tenant_id, incident_id)
        ON DELETE CASCADE
);

-- Open posture findings on resources (0005), for attaching to incidents. Runs as the caller:
-- row-level security scopes it to the tenant.
CREATE FUNCTION obs_open_findings(p_arns text[])
    RETURNS TABLE (resource_arn text, finding_id text, severity text)
    LANGUAGE sql STABLE
    SET search_path = public, pg_temp
    AS $$
        SELECT f.resource_arn, f.finding_id::text, f.severity
          FROM findings f
         WHERE f.status = 'open' AND f.resource_arn = ANY (p_arns)
    $$;
GRANT EXECUTE ON FUNCTION obs_open_findings(text[]) TO parapet_app;

-- Correlation progress per tenant: signals with xid below xid_done are folded.
CREATE TABLE obs_corr_state (
    tenant_id uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    xid_done  xid8 NOT NULL DEFAULT '0'::xid8,
    runs      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id)
);

-- Ingest idempotency: the answer given to a request (Idempotency-Key or Firehose request id),
-- stored in the transaction that stored its events, so a retry returns it and stores nothing.
CREATE TABLE ingest_requests (
    tenant_id  uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    idem_key   text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    body_hash  bytea NOT NULL,
    status     integer NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idem_key)
);
CREATE INDEX ingest_requests_created ON ingest_requests (created_at);

-- CloudTrail: addresses each access key has been used from (CT-12), with the first and last
-- time seen.
CREATE TABLE access_key_addresses (
    tenant_id     uuid NOT NULL,
    access_key_id text NOT NULL,
    source_ip     text NOT NULL,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, access_key_id, source_ip)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['events', 'signals', 'incidents', 'incident_keys', 'incident_signals',
                             'incident_steps', 'incident_links', 'obs_corr_state',
                             'ingest_requests', 'access_key_addresses'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;

-- The owner (obs_retention) deletes across tenants; nobody else deletes.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY retention ON signals TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY retention ON ingest_requests TO %I USING (true)',
                   current_user);
    EXECUTE format('CREATE POLICY sweep ON obs_corr_state FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

-- Tenants with signals not yet folded, for the correlation sweep (a safety net: ingest enqueues
-- a correlation job itself, but a job may run before a concurrent ingest commits).
CREATE FUNCTION obs_corr_pending_tenants() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        SELECT t.tenant_id FROM tenants t LEFT JOIN obs_corr_state c ON c.tenant_id = t.tenant_id
         WHERE EXISTS (SELECT 1 FROM signals s WHERE s.tenant_id = t.tenant_id
                          AND s.xid >= coalesce(c.xid_done, '0'::xid8))
    $$;
REVOKE ALL ON FUNCTION obs_corr_pending_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION obs_corr_pending_tenants() TO parapet_app;

GRANT SELECT, INSERT ON events, signals, incident_signals TO parapet_app; -- append-only
GRANT SELECT, INSERT, UPDATE ON incidents, incident_keys, incident_steps, obs_corr_state,
    access_key_addresses TO parapet_app;
GRANT SELECT, INSERT ON incident_links, ingest_requests TO parapet_app;
GRANT EXECUTE ON FUNCTION obs_partition_ensure(date) TO parapet_app;
GRANT EXECUTE ON FUNCTION obs_retention(integer) TO parapet_app;
REVOKE ALL ON FUNCTION obs_partition_ensure(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION obs_retention(integer) FROM PUBLIC;
