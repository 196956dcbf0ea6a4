-- 0002: tenants, users, sessions and refresh tokens, API keys, the audit log and sign-in
-- throttling. Every tenant-owned table has tenant_id first in its primary key and in every
-- unique and foreign key, and row-level security FORCED with a policy on app.tenant_id, which
-- the server sets per transaction (db_tx_tenant). Without it a query sees no rows: the setting
-- is read with missing_ok, and NULL matches nothing.
--
-- One deliberate exception to "unique keys include tenant_id": tenants.slug is a public,
-- globally unique name for the organisation.

CREATE FUNCTION app_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    tenant_id  uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    user_id       uuid NOT NULL,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text,
    role          text NOT NULL CHECK (role IN ('viewer', 'devops', 'secops', 'admin', 'owner')),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'invited', 'disabled')),
    -- Raised by logout-everywhere and password change: access tokens carry the epoch they were
    -- issued under, so earlier ones stop working.
    token_epoch   bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email)
);
CREATE INDEX users_email ON users (email);

-- A session is one sign-in: the family of refresh tokens that descend from it.
CREATE TABLE sessions (
    tenant_id      uuid NOT NULL,
    session_id     uuid NOT NULL,
    user_id        uuid NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text,
    PRIMARY KEY (tenant_id, session_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE refresh_tokens (
    tenant_id  uuid NOT NULL,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32), -- SHA-256 of the token
    session_id uuid NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, session_id)
        ON DELETE CASCADE
);

-- One-time invitations: an admin invites a user, who sets a password with the token.
CREATE TABLE user_invites (
    tenant_id  uuid NOT NULL,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32), -- SHA-256 of the token
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE api_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    key_id       uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind         text NOT NULL CHECK (kind IN ('automation', 'ingest')),
    role         text NOT NULL CHECK (role IN ('ingest', 'viewer', 'devops', 'secops', 'admin')),
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32), -- SHA-256 of the key
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, key_id),
    UNIQUE (tenant_id, key_hash),
    CHECK ((kind = 'ingest') = (role = 'ingest'))
);

CREATE TABLE audit_log (
    tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    audit_id    bigint GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id    uuid,
    actor_role  text,
    action      text NOT NULL,
    target_type text,
    target_id   text,
    source_ip   inet,
    request_id  text,
    PRIMARY KEY (tenant_id, audit_id)
);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at DESC, audit_id DESC);

-- Failed sign-ins, keyed by a SHA-256 of the normalised email or of the source address (no
-- personal data in clear). Not tenant-owned: the tenant is unknown before sign-in.
CREATE TABLE auth_failures (
    key_hash bytea NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_key ON auth_failures (key_hash, at);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'users', 'sessions', 'refresh_tokens', 'user_invites',
                             'api_keys', 'audit_log'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant())'
                       ' WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END
$$;

-- Sign-in happens before the tenant is known: this function, running as the owner, finds the
-- accounts for an email (optionally within one organisation). The owner reads users through a
-- policy of its own; the application role can only call the function.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY login_lookup ON users FOR SELECT TO %I USING (true)',
                   current_user);
    EXECUTE format('CREATE POLICY login_lookup ON tenants FOR SELECT TO %I USING (true)',
                   current_user);
END
$$;

CREATE FUNCTION auth_login_candidates(p_email text, p_slug text)
    RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text, role text, status text,
                   token_epoch bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $$
        SELECT u.tenant_id, u.user_id, u.password_hash, u.role, u.status, u.token_epoch
          FROM users u JOIN tenants t ON t.tenant_id = u.tenant_id
         WHERE u.email = p_email AND (p_slug IS NULL OR t.slug = p_slug)
         ORDER BY u.created_at
         LIMIT 2
    $$;
REVOKE ALL ON FUNCTION auth_login_candidates(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_login_candidates(text, text) TO parapet_app;
GRANT EXECUTE ON FUNCTION app_tenant() TO parapet_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, sessions, refresh_tokens, user_invites,
    api_keys TO parapet_app;
GRANT SELECT, INSERT ON audit_log TO parapet_app; -- append-only for the server
GRANT SELECT, INSERT, DELETE ON auth_failures TO parapet_app;
