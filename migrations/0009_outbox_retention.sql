-- 0009: notification history is kept for a retention period. Events of the outbox whose every
-- delivery has ended (delivered, or dead-lettered) go once they are older than the period, with
-- their deliveries (ON DELETE CASCADE); an event with a delivery still pending or sending stays,
-- however old. Runs as the owner across tenants through the policies below.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY retention ON events_outbox TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY retention ON deliveries TO %I USING (true)', current_user);
END
$$;

CREATE FUNCTION outbox_retention(p_days integer) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM events_outbox e
     WHERE e.created_at < now() - make_interval(days => p_days)
       AND e.dispatched_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM deliveries d
                        WHERE d.tenant_id = e.tenant_id AND d.event_id = e.event_id
                          AND d.status IN ('pending', 'sending'));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;
REVOKE ALL ON FUNCTION outbox_retention(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION outbox_retention(integer) TO parapet_app;
