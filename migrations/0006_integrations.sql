-- 0006: notification integrations (Slack, PagerDuty, JIRA, Splunk), their deliveries, and the
-- JIRA issue remembered per incident. Every table is tenant-owned: tenant_id first in every key,
-- row-level security forced.
--
-- Flow: posture and observe write events_outbox rows in the transaction of their change (0004).
-- The dispatcher turns each pending event into one delivery per matching integration and marks
-- the event dispatched, in one transaction; the delivery worker then sends each delivery, with
-- retries, and records the outcome. (integration_id, event_id) is the dedup key: one delivery
-- per destination per event, whatever crashes and restarts happen in between.
CREATE TABLE integrations (
    tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    integration_id  uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('slack', 'pagerduty', 'jira', 'splunk')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    config          jsonb NOT NULL,  -- the settings that are not secret
    secrets         bytea NOT NULL,  -- the secret settings: a JSON object sealed with AES-256-GCM
                                     -- under PARAPET_SECRET_KEY (auth/seal.h), AAD = tenant and id
    min_severity    text NOT NULL CHECK (min_severity IN ('critical', 'high', 'medium', 'low',
                                                          'info')),
    events          text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 4 AND events <@
                        ARRAY['finding.opened', 'incident.opened', 'incident.escalated',
                              'incident.resolved']),
    enabled         boolean NOT NULL DEFAULT true,
    min_interval_ms integer NOT NULL DEFAULT 0 CHECK (min_interval_ms >= 0), -- Slack: 1 msg/s
    next_send_at    timestamptz NOT NULL DEFAULT now(), -- the next free slot under that rate
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, integration_id)
);

CREATE TABLE deliveries (
    tenant_id       uuid NOT NULL,
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY,
    integration_id  uuid NOT NULL,
    event_id        bigint NOT NULL,
    subject_id      uuid NOT NULL, -- the story: deliveries of one subject go out in order
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz, -- lease of a 'sending' delivery: a dead worker's is retried
    locked_by       text,
    last_status     integer,     -- the destination's last HTTP status
    last_error      text,        -- why the last attempt failed (never a secret or a URL)
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    PRIMARY KEY (tenant_id, delivery_id),
    UNIQUE (tenant_id, integration_id, event_id),
    FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, integration_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES events_outbox (tenant_id, event_id)
        ON DELETE CASCADE,
    CHECK (status <> 'sending' OR locked_until IS NOT NULL)
);
-- The queue of each integration (the claim), due work across tenants (the worker's scan), and
-- the unfinished deliveries of a story (ordering).
CREATE INDEX deliveries_queue ON deliveries (tenant_id, integration_id, delivery_id)
    WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (locked_until) WHERE status = 'sending';
CREATE INDEX deliveries_story ON deliveries (tenant_id, integration_id, subject_id, delivery_id)
    WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_by_integration ON deliveries (tenant_id, integration_id, delivery_id);

-- The JIRA issue opened for an incident: later events comment on or transition it, and a second
-- issue is never created for the same incident.
CREATE TABLE jira_issues (
    tenant_id      uuid NOT NULL,
    integration_id uuid NOT NULL,
    subject_id     uuid NOT NULL,
    issue_key      text NOT NULL CHECK (issue_key ~ '^[A-Za-z][A-Za-z0-9_]*-[0-9]+$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, integration_id, subject_id),
    FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, integration_id)
        ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['integrations', 'deliveries', 'jira_issues'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;

-- The delivery worker serves every tenant but works inside one tenant's transaction at a time.
-- This function, running as the owner, names the tenants that have work: pending events or due
-- deliveries. It returns ids only. The owner reads the two tables through policies of its own.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY notify_scan ON events_outbox FOR SELECT TO %I USING (true)',
                   current_user);
    EXECUTE format('CREATE POLICY notify_scan ON deliveries FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

CREATE FUNCTION notify_tenants_with_work(p_limit integer)
    RETURNS TABLE (tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        SELECT w.tenant_id FROM (
            SELECT e.tenant_id FROM events_outbox e WHERE e.dispatched_at IS NULL
            UNION
            SELECT d.tenant_id FROM deliveries d
             WHERE (d.status = 'pending' AND d.next_attempt_at <= now())
                OR (d.status = 'sending' AND d.locked_until < now())
        ) w LIMIT p_limit
    $$;
REVOKE ALL ON FUNCTION notify_tenants_with_work(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notify_tenants_with_work(integer) TO parapet_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON integrations, deliveries, jira_issues TO parapet_app;
