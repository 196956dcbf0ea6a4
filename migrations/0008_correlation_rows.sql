-- 0008: correlation writes a few rows per incident and batch instead of two per signal.
--
-- - incident_signals (one row per folded signal) becomes incident_signal_chunks: one row per
--   incident and correlation batch, holding the ids of the signals that batch folded into it,
--   in folding order. GET /v1/incidents/{id}/events pages through chunks and positions.
-- - Trace and request ids no longer get a row in incident_keys: a signal's trace or request id
--   is looked up among earlier signals (the two indexes below), and the earlier signal's own
--   repeat key leads to its incident. incident_keys keeps repeat keys, principals and access
--   keys: a handful per incident. Rows written for trace ids by 0007 stay until they age out.
-- - Weak signals (which may be attached after the fact, and at most once) are remembered in
--   weak_signals_attached; strong signals are attached when they are folded, in xid order, so
--   they need no such record.

CREATE TABLE incident_signal_chunks (
    tenant_id   uuid NOT NULL,
    incident_id uuid NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    signal_ids  bigint[] NOT NULL CHECK (cardinality(signal_ids) BETWEEN 1 AND 1048576),
    PRIMARY KEY (tenant_id, incident_id, seq)
);

CREATE TABLE weak_signals_attached (
    tenant_id uuid NOT NULL,
    signal_id bigint NOT NULL,
    PRIMARY KEY (tenant_id, signal_id)
);

-- Move what 0007 recorded (its table forces row-level security on the owner too).
ALTER TABLE incident_signals NO FORCE ROW LEVEL SECURITY;
INSERT INTO incident_signal_chunks (tenant_id, incident_id, signal_ids)
    SELECT tenant_id, incident_id, array_agg(signal_id ORDER BY signal_id)
      FROM incident_signals GROUP BY tenant_id, incident_id;
INSERT INTO weak_signals_attached (tenant_id, signal_id)
    SELECT DISTINCT x.tenant_id, x.signal_id
      FROM incident_signals x JOIN signals s
        ON s.tenant_id = x.tenant_id AND s.signal_id = x.signal_id
     WHERE s.weak;
DROP TABLE incident_signals;

-- The latest earlier signal of a trace (or request) is the first entry of its range: with xid
-- in the key, no plan ever walks the tenant's signals in xid order looking for the id.
CREATE INDEX signals_trace ON signals (tenant_id, trace_id, xid, signal_id)
    WHERE trace_id IS NOT NULL;
CREATE INDEX signals_request ON signals (tenant_id, request_id, xid, signal_id)
    WHERE trace_id IS NULL AND request_id IS NOT NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['incident_signal_chunks', 'weak_signals_attached'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON incident_signal_chunks, weak_signals_attached TO parapet_app;

-- Retention also forgets the attachment of weak signals it deletes (the same function as 0007,
-- plus that line; chunks keep their ids, and the events route shows only signals that exist).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY retention ON weak_signals_attached TO %I USING (true)',
                   current_user);
END
$$;

CREATE OR REPLACE FUNCTION obs_retention(p_days integer) RETURNS integer
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
    DELETE FROM weak_signals_attached a
     WHERE NOT EXISTS (SELECT 1 FROM signals s
                        WHERE s.tenant_id = a.tenant_id AND s.signal_id = a.signal_id);
    DELETE FROM ingest_requests WHERE created_at < now() - interval '1 day';
    RETURN n;
END
$$;

-- Ingest answers that rejected something (per event, or a Firehose record that could not be
-- decoded) are listed for the tenant, newest first (GET /v1/ingest/rejections): Firehose shows
-- no per-record answer to anyone, so this is where a tenant sees what was not stored.
ALTER TABLE ingest_requests ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX ingest_requests_rejections ON ingest_requests (tenant_id, seq)
    WHERE response->'rejected' <> '[]'::jsonb;
