-- 0004: the domain event outbox. A finding or incident change that should reach people writes
-- one row here in the same transaction as the change itself (transactional outbox): the event
-- exists exactly when the change committed. Notification dispatch (integrations) reads pending
-- rows, fans them out into per-destination deliveries in one transaction, and marks them
-- dispatched. Events are tenant-owned: RLS like every other tenant table.
CREATE TABLE events_outbox (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    event_id      bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('finding.opened', 'incident.opened',
                                                'incident.escalated', 'incident.resolved')),
    subject_id    uuid NOT NULL, -- the finding or incident the event is about
    severity      text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    payload       jsonb NOT NULL, -- what a notification needs: title, summary, counts, links
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX events_outbox_pending ON events_outbox (event_id) WHERE dispatched_at IS NULL;

ALTER TABLE events_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE events_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events_outbox USING (tenant_id = app_tenant())
    WITH CHECK (tenant_id = app_tenant());

GRANT SELECT, INSERT, UPDATE ON events_outbox TO parapet_app;
