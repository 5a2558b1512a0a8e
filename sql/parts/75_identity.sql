-- 75_identity: the people who sign in. Users are global (one account, any
-- number of tenants); memberships give a user a role in a tenant. Their
-- credentials (password hashes, TOTP secrets, recovery codes) live in
-- tables nobody but the extension owner can read; see docs/identity.md.

CREATE TABLE tenantguard.users (
    id           uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    email        text NOT NULL UNIQUE
                 CONSTRAINT users_email_lower CHECK (email OPERATOR(pg_catalog.=) pg_catalog.lower(email))
                 CONSTRAINT users_email_length CHECK (pg_catalog.octet_length(email) BETWEEN 3 AND 254),
    display_name text CONSTRAINT users_display_name_length CHECK (pg_catalog.char_length(display_name) BETWEEN 1 AND 200),
    status       text NOT NULL DEFAULT 'active'
                 CONSTRAINT users_status_check CHECK (status IN ('active', 'disabled')),
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE tenantguard.users IS 'Users who sign in with a password or an identity provider; emails stored lower-case.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.users', '');
REVOKE ALL ON tenantguard.users FROM PUBLIC;
GRANT SELECT ON tenantguard.users TO tenantguard_admin;

CREATE TABLE tenantguard.memberships (
    tenant_id  uuid NOT NULL REFERENCES tenantguard.tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES tenantguard.users (id) ON DELETE CASCADE,
    role       text NOT NULL
               CONSTRAINT memberships_role_format CHECK (tenantguard._role_name_valid(role)),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON tenantguard.memberships (user_id);
COMMENT ON TABLE tenantguard.memberships IS 'A user''s role in a tenant.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.memberships', '');
REVOKE ALL ON tenantguard.memberships FROM PUBLIC;
GRANT SELECT ON tenantguard.memberships TO tenantguard_admin;
