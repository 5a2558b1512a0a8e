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

-- Credentials, apart from the users' rows: password hashes (scrypt, PHC
-- strings), the TOTP secret (sealed under the data keys, bound to the user)
-- and the time step of the last accepted code. No grant at all: only the
-- extension's own functions (SECURITY DEFINER) read or write it.
CREATE TABLE tenantguard.user_credentials (
    user_id             uuid PRIMARY KEY REFERENCES tenantguard.users (id) ON DELETE CASCADE,
    password_hash       text,
    password_changed_at timestamptz,
    mfa_secret          bytea,          -- sealed; in force once mfa_confirmed_at is set
    mfa_confirmed_at    timestamptz,
    mfa_pending         bytea,          -- sealed; enable_mfa() until confirm_mfa()
    mfa_pending_at      timestamptz,
    mfa_last_step       bigint,         -- the last accepted TOTP time step (replay refusal)
    CONSTRAINT user_credentials_confirmed CHECK (mfa_confirmed_at IS NULL OR mfa_secret IS NOT NULL)
);
COMMENT ON TABLE tenantguard.user_credentials IS 'Password hashes and sealed TOTP secrets; readable by the extension owner only.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.user_credentials', '');
REVOKE ALL ON tenantguard.user_credentials FROM PUBLIC;

-- Single-use recovery codes: a keyed BLAKE2b hash of each (100-bit codes).
CREATE TABLE tenantguard.user_recovery_codes (
    user_id    uuid NOT NULL REFERENCES tenantguard.users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
COMMENT ON TABLE tenantguard.user_recovery_codes IS 'Hashes of MFA recovery codes; readable by the extension owner only.';
SELECT pg_catalog.pg_extension_config_dump('tenantguard.user_recovery_codes', '');
REVOKE ALL ON tenantguard.user_recovery_codes FROM PUBLIC;

-- The one rule for emails (C): trimmed of surrounding white space,
-- lower-cased, 3..254 bytes, one '@' with a non-empty local part (at most
-- 64 bytes) and domain, no white space or control characters, valid UTF-8.
-- 22023 otherwise (the address is not echoed), 22004 for NULL.
CREATE FUNCTION tenantguard._normalize_email(email text) RETURNS text
    LANGUAGE C STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'tg_normalize_email';

-- Internal helpers in C (not granted): sessions of a user end, a refusal
-- recorded through the queue, the lockout of an email cleared, TOTP secrets
-- and recovery codes made, sealed and checked.
CREATE FUNCTION tenantguard._revoke_user_sessions(user_id uuid, tenant uuid, reason text) RETURNS void
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_identity_revoke_sessions';
CREATE FUNCTION tenantguard._identity_deny(action text, object text, reason text, tenant uuid DEFAULT NULL)
    RETURNS void
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_identity_deny';
CREATE FUNCTION tenantguard._throttle_clear(email text) RETURNS void
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_identity_throttle_clear';
CREATE FUNCTION tenantguard._mfa_enroll(user_id uuid, account text, OUT sealed bytea, OUT uri text)
    LANGUAGE C VOLATILE STRICT AS 'MODULE_PATHNAME', 'tg_mfa_enroll';
CREATE FUNCTION tenantguard._mfa_check(user_id uuid, sealed bytea, code text, last_step bigint) RETURNS bigint
    LANGUAGE C VOLATILE AS 'MODULE_PATHNAME', 'tg_mfa_check';
CREATE FUNCTION tenantguard._recovery_codes_new(user_id uuid, OUT code text, OUT code_hash bytea)
    RETURNS SETOF record
    LANGUAGE C VOLATILE STRICT ROWS 10 AS 'MODULE_PATHNAME', 'tg_recovery_codes_new';
REVOKE ALL ON FUNCTION tenantguard._revoke_user_sessions(uuid, uuid, text),
    tenantguard._identity_deny(text, text, text, uuid), tenantguard._throttle_clear(text),
    tenantguard._mfa_enroll(uuid, text), tenantguard._mfa_check(uuid, bytea, text, bigint),
    tenantguard._recovery_codes_new(uuid) FROM PUBLIC;

-- Is the caller a platform administrator? The role that called (after SET
-- ROLE, before any SECURITY DEFINER switch: PostgreSQL's outer user) has
-- tenantguard_admin's privileges.
CREATE FUNCTION tenantguard._caller_is_admin() RETURNS boolean
    LANGUAGE C STABLE AS 'MODULE_PATHNAME', 'tg_caller_is_admin';
REVOKE ALL ON FUNCTION tenantguard._caller_is_admin() FROM PUBLIC;

-- 42501 unless the caller is a platform administrator (_caller_is_admin) or, when self_ok, the user themself
-- in one of their own sessions (principal user:<id>).
CREATE FUNCTION tenantguard._identity_authorize(user_id uuid, what text, self_ok boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF tenantguard._caller_is_admin() THEN
        RETURN;
    END IF;
    IF self_ok AND user_id IS NOT NULL
       AND tenantguard.current_principal() OPERATOR(pg_catalog.=) ('user:' OPERATOR(pg_catalog.||) user_id::text) THEN
        RETURN;
    END IF;
    PERFORM tenantguard._identity_deny(what, CASE WHEN user_id IS NULL THEN NULL ELSE 'user:' || user_id END,
                                       'not_permitted', tenantguard.current_tenant());
    RAISE EXCEPTION 'permission denied for %', what
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = CASE WHEN self_ok THEN 'Only a platform administrator or the user themself (in their own session) may do this.'
                            ELSE 'Only a platform administrator (tenantguard_admin) may do this.' END,
              HINT = 'Users are global accounts: a tenant''s administrators manage memberships, not accounts.';
END
$$;
REVOKE ALL ON FUNCTION tenantguard._identity_authorize(uuid, text, boolean) FROM PUBLIC;

-- 42704 unless the user exists; returns the row, locked when lock_row.
CREATE FUNCTION tenantguard._user_row(user_id uuid) RETURNS tenantguard.users
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users;
BEGIN
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO u FROM tenantguard.users x WHERE x.id OPERATOR(pg_catalog.=) user_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % does not exist', user_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN u;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._user_row(uuid) FROM PUBLIC;

-- Create a user (platform administrators only: emails are global, so a
-- tenant that could create users could learn which emails exist anywhere).
CREATE FUNCTION tenantguard.create_user(email text, password text DEFAULT NULL, display_name text DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    e text := tenantguard._normalize_email(email);
    h text;
    new_id uuid;
BEGIN
    PERFORM tenantguard._identity_authorize(NULL, 'create_user', false);
    IF display_name IS NOT NULL AND (pg_catalog.char_length(display_name) NOT BETWEEN 1 AND 200
                                     OR display_name OPERATOR(pg_catalog.~) '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'invalid display name' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use 1 to 200 characters without control characters.';
    END IF;
    IF password IS NOT NULL THEN
        h := tenantguard.hash_password(password);   -- the policy (22023) first: nothing stored half-done
    END IF;
    BEGIN
        INSERT INTO tenantguard.users (email, display_name) VALUES (e, display_name) RETURNING id INTO new_id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'a user with this email already exists' USING ERRCODE = 'unique_violation',
            HINT = 'Add the existing user to the tenant with tenantguard.add_member().';
    END;
    INSERT INTO tenantguard.user_credentials (user_id, password_hash, password_changed_at)
    VALUES (new_id, h, CASE WHEN h IS NULL THEN NULL ELSE pg_catalog.now() END);
    PERFORM tenantguard_audit._record('admin', 'user.create', 'user:' || new_id, 'allow', NULL,
        pg_catalog.jsonb_build_object('email', e, 'password', h IS NOT NULL));
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION tenantguard.create_user(text, text, text) IS
    'Create a user (email lower-cased, optional password and display name); platform administrators only.';

-- Set (or replace) a user's password; every session of the user ends. The
-- user themself needs a two-factor session once MFA is confirmed (the checks
-- of _mfa_authorize below), as for the second factor: a one-factor session
-- (an ID token's, or one older than the MFA) does not change credentials.
CREATE FUNCTION tenantguard.set_password(user_id uuid, password text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users;
    h text;
BEGIN
    u := tenantguard._mfa_authorize(user_id, 'set_password');
    IF password IS NULL THEN
        RAISE EXCEPTION 'password must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    h := tenantguard.hash_password(password);
    INSERT INTO tenantguard.user_credentials AS c (user_id, password_hash, password_changed_at)
    VALUES (u.id, h, pg_catalog.now())
    ON CONFLICT ON CONSTRAINT user_credentials_pkey DO UPDATE SET password_hash = EXCLUDED.password_hash,
                                        password_changed_at = EXCLUDED.password_changed_at;
    PERFORM tenantguard._revoke_user_sessions(u.id, NULL, 'password_changed');
    PERFORM tenantguard_audit._record('admin', 'user.password', 'user:' || u.id);
END
$$;
COMMENT ON FUNCTION tenantguard.set_password(uuid, text) IS
    'Set a user''s password (administrators, or the user in their own session); ends the user''s sessions.';

-- Disable a user (logins answer "disabled", every session ends) or enable again.
CREATE FUNCTION tenantguard._set_user_status(user_id uuid, new_status text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users;
BEGIN
    PERFORM tenantguard._identity_authorize(user_id,
        CASE new_status WHEN 'disabled' THEN 'disable_user' ELSE 'enable_user' END, false);
    u := tenantguard._user_row(user_id);
    UPDATE tenantguard.users x SET status = new_status WHERE x.id OPERATOR(pg_catalog.=) u.id;
    -- disabling ends every session of the user: the trigger of 77_sessions.sql
    PERFORM tenantguard_audit._record('admin',
        CASE new_status WHEN 'disabled' THEN 'user.disable' ELSE 'user.enable' END, 'user:' || u.id);
END
$$;
REVOKE ALL ON FUNCTION tenantguard._set_user_status(uuid, text) FROM PUBLIC;

CREATE FUNCTION tenantguard.disable_user(user_id uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_user_status(user_id, 'disabled') $$;
COMMENT ON FUNCTION tenantguard.disable_user(uuid) IS 'Disable a user: logins answer disabled and every session ends.';
CREATE FUNCTION tenantguard.enable_user(user_id uuid) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT tenantguard._set_user_status(user_id, 'active') $$;
COMMENT ON FUNCTION tenantguard.enable_user(uuid) IS 'Enable a disabled user again.';

-- Clear the failed-login count and lock of a user's email.
CREATE FUNCTION tenantguard.unlock_user(user_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users;
BEGIN
    PERFORM tenantguard._identity_authorize(user_id, 'unlock_user', false);
    u := tenantguard._user_row(user_id);
    PERFORM tenantguard._throttle_clear(u.email);
    PERFORM tenantguard_audit._record('auth', 'user.unlock', 'user:' || u.id);
END
$$;
COMMENT ON FUNCTION tenantguard.unlock_user(uuid) IS 'Clear a user''s failed logins and lockout (administrators).';

-- Memberships: in the current tenant, needing members.manage on role/<role>
-- (for set_member_role: on the old and the new role). Only an owner or a
-- platform administrator (set_tenant) gives, changes or takes the owner
-- role, and the last owner stays. A changed or removed membership ends the
-- user's sessions in this tenant: the user signs in again (removal through
-- 77_sessions.sql's trigger, a role change here: that trigger would only
-- end the contexts resumed with the old role).
CREATE FUNCTION tenantguard._member_check(t uuid, role text, what text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF role IS NULL OR NOT tenantguard._role_name_valid(role) THEN
        RAISE EXCEPTION 'invalid role name' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Use lower-case letters, digits, "_", "." and "-".';
    END IF;
    PERFORM tenantguard.require('members.manage', 'role/' || role);
    IF role OPERATOR(pg_catalog.=) 'owner'
       AND tenantguard.current_role_name() IS DISTINCT FROM 'owner'
       AND tenantguard.current_principal() NOT LIKE 'admin:%' THEN
        PERFORM tenantguard._identity_deny(what, 'role/owner', 'owner_only', t);
        RAISE EXCEPTION 'only an owner can give, change or take the owner role'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Ask an owner of the tenant, or a platform administrator.';
    END IF;
END
$$;

CREATE FUNCTION tenantguard._last_owner_check(t uuid, user_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- lock the tenant's owner rows: two concurrent removals cannot both pass
    PERFORM 1 FROM tenantguard.memberships m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) t AND m.role OPERATOR(pg_catalog.=) 'owner' FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM tenantguard.memberships m
                    WHERE m.tenant_id OPERATOR(pg_catalog.=) t AND m.role OPERATOR(pg_catalog.=) 'owner'
                      AND m.user_id OPERATOR(pg_catalog.<>) _last_owner_check.user_id) THEN
        RAISE EXCEPTION 'the last owner of a tenant cannot be removed or demoted'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Make another member owner first.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._member_check(uuid, text, text),
    tenantguard._last_owner_check(uuid, uuid) FROM PUBLIC;

CREATE FUNCTION tenantguard.add_member(user_id uuid, role text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._context_tenant('Memberships belong to a tenant: enter it first.');
BEGIN
    PERFORM tenantguard._member_check(t, role, 'member.add');
    IF user_id IS NULL OR NOT EXISTS (SELECT 1 FROM tenantguard.users u WHERE u.id OPERATOR(pg_catalog.=) user_id) THEN
        RAISE EXCEPTION 'user % does not exist', user_id USING ERRCODE = 'undefined_object';
    END IF;
    BEGIN
        INSERT INTO tenantguard.memberships (tenant_id, user_id, role) VALUES (t, user_id, role);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'user % is already a member of this tenant', user_id
            USING ERRCODE = 'unique_violation', HINT = 'Change the role with tenantguard.set_member_role().';
    END;
    PERFORM tenantguard_audit._record('admin', 'member.add', 'user:' || user_id, 'allow', NULL,
                                      pg_catalog.jsonb_build_object('role', role), t);
END
$$;
COMMENT ON FUNCTION tenantguard.add_member(uuid, text) IS 'Give a user a role in the current tenant; needs members.manage.';

-- The membership of user_id in t, locked; 42704 when there is none.
CREATE FUNCTION tenantguard._membership_role(t uuid, user_id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r text;
BEGIN
    SELECT m.role INTO r FROM tenantguard.memberships m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) t AND m.user_id OPERATOR(pg_catalog.=) _membership_role.user_id
       FOR UPDATE;
    IF r IS NULL THEN
        RAISE EXCEPTION 'user % is not a member of this tenant', user_id USING ERRCODE = 'undefined_object';
    END IF;
    RETURN r;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._membership_role(uuid, uuid) FROM PUBLIC;

CREATE FUNCTION tenantguard.set_member_role(user_id uuid, role text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._context_tenant('Memberships belong to a tenant: enter it first.');
    old_role text;
BEGIN
    PERFORM tenantguard._member_check(t, role, 'member.role');
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    old_role := tenantguard._membership_role(t, user_id);
    IF old_role OPERATOR(pg_catalog.=) role THEN
        RETURN;
    END IF;
    PERFORM tenantguard._member_check(t, old_role, 'member.role');
    IF old_role OPERATOR(pg_catalog.=) 'owner' THEN
        PERFORM tenantguard._last_owner_check(t, user_id);
    END IF;
    UPDATE tenantguard.memberships m SET role = set_member_role.role
     WHERE m.tenant_id OPERATOR(pg_catalog.=) t AND m.user_id OPERATOR(pg_catalog.=) set_member_role.user_id;
    PERFORM tenantguard._revoke_user_sessions(user_id, t, 'role_changed');
    PERFORM tenantguard_audit._record('admin', 'member.role', 'user:' || user_id, 'allow', NULL,
        pg_catalog.jsonb_build_object('old_role', old_role, 'role', role), t);
END
$$;
COMMENT ON FUNCTION tenantguard.set_member_role(uuid, text) IS
    'Change a member''s role in the current tenant (ends their sessions there); needs members.manage.';

CREATE FUNCTION tenantguard.remove_member(user_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    t uuid := tenantguard._context_tenant('Memberships belong to a tenant: enter it first.');
    old_role text;
BEGIN
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    old_role := tenantguard._membership_role(t, user_id);
    PERFORM tenantguard._member_check(t, old_role, 'member.remove');
    IF old_role OPERATOR(pg_catalog.=) 'owner' THEN
        PERFORM tenantguard._last_owner_check(t, user_id);
    END IF;
    DELETE FROM tenantguard.memberships m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) t AND m.user_id OPERATOR(pg_catalog.=) remove_member.user_id;
    -- the user's sessions in this tenant end: the trigger of 77_sessions.sql
    PERFORM tenantguard_audit._record('admin', 'member.remove', 'user:' || user_id, 'allow', NULL,
        pg_catalog.jsonb_build_object('role', old_role), t);
END
$$;
COMMENT ON FUNCTION tenantguard.remove_member(uuid) IS
    'Remove a user from the current tenant (ends their sessions there); needs members.manage.';

-- MFA. Callers: a platform administrator, or the user themself in their own
-- session; once MFA is confirmed, the user themself needs a two-factor
-- session (current_aal() = 2) to re-enrol, disable it, make new recovery
-- codes or set a new password (set_password above).
CREATE FUNCTION tenantguard._mfa_authorize(user_id uuid, what text) RETURNS tenantguard.users
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users;
BEGIN
    PERFORM tenantguard._identity_authorize(user_id, what, true);
    u := tenantguard._user_row(user_id);
    IF NOT tenantguard._caller_is_admin()
       AND EXISTS (SELECT 1 FROM tenantguard.user_credentials c
                    WHERE c.user_id OPERATOR(pg_catalog.=) u.id AND c.mfa_confirmed_at IS NOT NULL)
       AND tenantguard.current_aal() IS DISTINCT FROM 2 THEN
        PERFORM tenantguard._identity_deny(what, 'user:' || u.id, 'aal2_required', tenantguard.current_tenant());
        RAISE EXCEPTION 'this needs a session signed in with the second factor'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Sign in again with the TOTP code or a recovery code.';
    END IF;
    INSERT INTO tenantguard.user_credentials (user_id) VALUES (u.id) ON CONFLICT ON CONSTRAINT user_credentials_pkey DO NOTHING;
    RETURN u;
END
$$;
REVOKE ALL ON FUNCTION tenantguard._mfa_authorize(uuid, text) FROM PUBLIC;

-- Start enrolment: a new TOTP secret (160 bits, SHA-1, 6 digits, 30 s: what
-- every authenticator app reads), stored sealed as pending; returns the
-- otpauth URI (shown once). The secret in force, if any, stays until confirm_mfa().
CREATE FUNCTION tenantguard.enable_mfa(user_id uuid) RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users := tenantguard._mfa_authorize(user_id, 'enable_mfa');
    k record;
BEGIN
    SELECT * INTO STRICT k FROM tenantguard._mfa_enroll(u.id, u.email);
    UPDATE tenantguard.user_credentials c SET mfa_pending = k.sealed, mfa_pending_at = pg_catalog.now()
     WHERE c.user_id OPERATOR(pg_catalog.=) u.id;
    PERFORM tenantguard_audit._record('auth', 'mfa.enable', 'user:' || u.id);
    RETURN k.uri;
END
$$;
COMMENT ON FUNCTION tenantguard.enable_mfa(uuid) IS
    'Start TOTP enrolment: returns the otpauth URI; pending until confirm_mfa().';

-- Confirm enrolment with a code from the app: the pending secret comes into
-- force (and the code's time step is spent). False for a wrong code.
CREATE FUNCTION tenantguard.confirm_mfa(user_id uuid, code text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users := tenantguard._mfa_authorize(user_id, 'confirm_mfa');
    c tenantguard.user_credentials;
    step bigint;
BEGIN
    IF code IS NULL THEN
        RAISE EXCEPTION 'code must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO STRICT c FROM tenantguard.user_credentials x
     WHERE x.user_id OPERATOR(pg_catalog.=) u.id FOR UPDATE;
    IF c.mfa_pending IS NULL THEN
        RAISE EXCEPTION 'no MFA enrolment is pending for user %', u.id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Call tenantguard.enable_mfa() first.';
    END IF;
    step := tenantguard._mfa_check(u.id, c.mfa_pending, code, c.mfa_last_step);
    IF step IS NULL THEN
        PERFORM tenantguard._identity_deny('mfa.confirm', 'user:' || u.id, 'bad_code');
        RETURN false;
    END IF;
    UPDATE tenantguard.user_credentials x
       SET mfa_secret = c.mfa_pending, mfa_confirmed_at = pg_catalog.now(),
           mfa_pending = NULL, mfa_pending_at = NULL, mfa_last_step = step
     WHERE x.user_id OPERATOR(pg_catalog.=) u.id;
    PERFORM tenantguard_audit._record('auth', 'mfa.confirm', 'user:' || u.id);
    RETURN true;
END
$$;
COMMENT ON FUNCTION tenantguard.confirm_mfa(uuid, text) IS
    'Confirm TOTP enrolment with a current code; false when the code is wrong.';

-- Turn MFA off: secret, pending enrolment and recovery codes go.
CREATE FUNCTION tenantguard.disable_mfa(user_id uuid) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users := tenantguard._mfa_authorize(user_id, 'disable_mfa');
BEGIN
    UPDATE tenantguard.user_credentials c
       SET mfa_secret = NULL, mfa_confirmed_at = NULL, mfa_pending = NULL, mfa_pending_at = NULL
     WHERE c.user_id OPERATOR(pg_catalog.=) u.id;
    DELETE FROM tenantguard.user_recovery_codes r WHERE r.user_id OPERATOR(pg_catalog.=) u.id;
    PERFORM tenantguard_audit._record('auth', 'mfa.disable', 'user:' || u.id);
END
$$;
COMMENT ON FUNCTION tenantguard.disable_mfa(uuid) IS 'Turn a user''s TOTP off (secret and recovery codes removed).';

-- Ten new single-use recovery codes (the old ones stop working), shown once.
CREATE FUNCTION tenantguard.mfa_recovery_codes(user_id uuid) RETURNS SETOF text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER ROWS 10
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    u tenantguard.users := tenantguard._mfa_authorize(user_id, 'mfa_recovery_codes');
    r record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenantguard.user_credentials c
                    WHERE c.user_id OPERATOR(pg_catalog.=) u.id AND c.mfa_confirmed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'user % has no confirmed MFA', u.id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Recovery codes replace a TOTP code: enable_mfa() and confirm_mfa() first.';
    END IF;
    DELETE FROM tenantguard.user_recovery_codes x WHERE x.user_id OPERATOR(pg_catalog.=) u.id;
    FOR r IN SELECT * FROM tenantguard._recovery_codes_new(u.id) LOOP
        INSERT INTO tenantguard.user_recovery_codes (user_id, code_hash) VALUES (u.id, r.code_hash);
        RETURN NEXT r.code;
    END LOOP;
    PERFORM tenantguard_audit._record('auth', 'mfa.recovery_codes', 'user:' || u.id, 'allow', NULL,
                                      '{"count": 10}');
END
$$;
COMMENT ON FUNCTION tenantguard.mfa_recovery_codes(uuid) IS
    'Ten new single-use recovery codes (shown once; earlier codes stop working).';

-- Sign in: see docs/identity.md "Users, MFA and login". Never raises for
-- bad credentials; raises for malformed input (22004, 22023) and in a
-- read-only transaction (25006).
CREATE FUNCTION tenantguard.login(email text, password text, totp text DEFAULT NULL, tenant text DEFAULT NULL)
    RETURNS TABLE (status text, session_token text, user_id uuid, tenant_id uuid, expires_at timestamptz)
    LANGUAGE C VOLATILE SECURITY DEFINER ROWS 1
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'tg_login';
COMMENT ON FUNCTION tenantguard.login(text, text, text, text) IS
    'Sign in with email, password and (with MFA) a TOTP or recovery code; returns a status and, when ok, a session.';

REVOKE ALL ON FUNCTION tenantguard._identity_authorize(uuid, text, boolean), tenantguard._user_row(uuid),
    tenantguard._member_check(uuid, text, text), tenantguard._last_owner_check(uuid, uuid),
    tenantguard._membership_role(uuid, uuid), tenantguard._mfa_authorize(uuid, text),
    tenantguard._set_user_status(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenantguard.create_user(text, text, text), tenantguard.set_password(uuid, text),
    tenantguard.disable_user(uuid), tenantguard.enable_user(uuid), tenantguard.unlock_user(uuid),
    tenantguard.add_member(uuid, text), tenantguard.set_member_role(uuid, text),
    tenantguard.remove_member(uuid), tenantguard.enable_mfa(uuid), tenantguard.confirm_mfa(uuid, text),
    tenantguard.disable_mfa(uuid), tenantguard.mfa_recovery_codes(uuid),
    tenantguard.login(text, text, text, text), tenantguard._normalize_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantguard.create_user(text, text, text), tenantguard.disable_user(uuid),
    tenantguard.enable_user(uuid), tenantguard.unlock_user(uuid) TO tenantguard_admin;
GRANT EXECUTE ON FUNCTION tenantguard.set_password(uuid, text),
    tenantguard.add_member(uuid, text), tenantguard.set_member_role(uuid, text),
    tenantguard.remove_member(uuid), tenantguard.enable_mfa(uuid), tenantguard.confirm_mfa(uuid, text),
    tenantguard.disable_mfa(uuid), tenantguard.mfa_recovery_codes(uuid),
    tenantguard.login(text, text, text, text), tenantguard._normalize_email(text)
    TO tenantguard_app, tenantguard_admin;
