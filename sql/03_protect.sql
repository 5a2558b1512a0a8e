-- protect(): one call isolates a table; the DDL guard keeps it isolated.
\set SHOW_CONTEXT never
SELECT tenantguard.tenant_id('acme') AS acme \gset
SELECT tenantguard.tenant_id('globex') AS globex \gset
CREATE ROLE regress_admin LOGIN IN ROLE tenantguard_admin;
CREATE ROLE regress_app LOGIN IN ROLE tenantguard_app;
CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY, tenant_id uuid, body text,
                    PRIMARY KEY (tenant_id, id));
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO regress_admin, regress_app;
SELECT tenantguard.protect('notes');
SELECT tenantguard.protect('notes');   -- idempotent
SELECT rel, tenant_column FROM tenantguard.protected_tables WHERE rel::text NOT LIKE 'tenantguard.%';
\d notes

-- rows get the current tenant by default and each tenant sees its own
SET ROLE regress_admin;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO notes (body) VALUES ('acme 1'), ('acme 2');
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
INSERT INTO notes (body) VALUES ('globex 1');
SELECT body FROM notes ORDER BY body;
COMMIT;
-- writing into another tenant is refused by the policy
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
INSERT INTO notes (tenant_id, body) VALUES (:'acme', 'smuggled');
ROLLBACK;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
UPDATE notes SET tenant_id = :'acme';
ROLLBACK;
-- another tenant's rows cannot be seen, changed or deleted
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
UPDATE notes SET body = 'hijacked' WHERE body LIKE 'acme%' RETURNING body;
DELETE FROM notes WHERE body LIKE 'acme%' RETURNING body;
COMMIT;

-- fail closed: no context is an error, not an empty result
SELECT body FROM notes;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO notes (body) VALUES ('nowhere');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a bound role is always in its tenant
SELECT tenantguard.bind_role('regress_app', :'acme', 'operator');
SET ROLE regress_app;
SELECT body FROM notes ORDER BY body;
SELECT tenant_slug, principal, role, scope FROM tenantguard.whoami();
RESET ALL;
SET ROLE regress_app;
SELECT count(*) AS still_bound FROM notes;
SELECT tenantguard.set_tenant(:'globex');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- even an administrator role, once bound, cannot leave its tenant
SELECT tenantguard.bind_role('regress_admin', :'acme');
SET ROLE regress_admin;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.set_tenant(:'globex');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT tenantguard.unbind_role('regress_admin');
SELECT tenantguard.unbind_role('regress_app');

-- the DDL guard
ALTER TABLE notes DISABLE ROW LEVEL SECURITY;
ALTER TABLE notes NO FORCE ROW LEVEL SECURITY;
DROP POLICY tenantguard_isolation ON notes;
ALTER POLICY tenantguard_isolation ON notes USING (true);
CREATE POLICY everyone ON notes USING (true);
ALTER TABLE notes ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE notes ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE notes ALTER COLUMN tenant_id TYPE text;
ALTER TABLE notes RENAME COLUMN tenant_id TO t;
ALTER TABLE notes DROP COLUMN tenant_id;
-- restrictive policies narrow access and are allowed
CREATE POLICY no_drafts ON notes AS RESTRICTIVE USING (body <> 'draft');
DROP POLICY no_drafts ON notes;

-- arguments are checked
CREATE TABLE wrong_type (tenant_id text);
SELECT tenantguard.protect('wrong_type');
SELECT tenantguard.protect('notes', 'nope');
CREATE VIEW notes_view AS SELECT * FROM notes;
SELECT tenantguard.protect('notes_view');
SET ROLE regress_app;
SELECT tenantguard.protect('wrong_type');
RESET ROLE;

-- unprotect() undoes exactly what protect() did
CREATE TABLE plain (tenant_id uuid, v int);
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'plain'::regclass;
SELECT tenantguard.protect('plain');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'plain'::regclass;
SELECT tenantguard.unprotect('plain');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'plain'::regclass;
\d plain
ALTER TABLE plain DROP COLUMN tenant_id;

-- partitions: existing and future ones, queried directly too
CREATE TABLE events (tenant_id uuid, kind text, n int) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
GRANT SELECT, INSERT ON events, events_a TO regress_admin;
SELECT tenantguard.protect('events');
CREATE TABLE events_b PARTITION OF events FOR VALUES IN ('b');
GRANT SELECT, INSERT ON events_b TO regress_admin;
SELECT rel::text, tenant_column FROM tenantguard.protected_tables WHERE rel::text NOT LIKE 'tenantguard.%' ORDER BY 1;
CREATE TABLE events_c (tenant_id uuid, kind text, n int);
ALTER TABLE events ATTACH PARTITION events_c FOR VALUES IN ('c');
SET ROLE regress_admin;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO events VALUES (DEFAULT, 'a', 1), (DEFAULT, 'b', 2);
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
INSERT INTO events VALUES (DEFAULT, 'a', 10);
SELECT kind, n FROM events ORDER BY n;
SELECT kind, n FROM events_a ORDER BY n;
SELECT kind, n FROM events_b ORDER BY n;
COMMIT;
SELECT count(*) FROM events_b;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT tenantguard.unprotect('events_a');
SELECT tenantguard.unprotect('events');
SELECT count(*) AS still_protected FROM tenantguard.protected_tables WHERE rel::text LIKE 'events%';

-- protect_schema(): existing tables with the column and future ones
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (tenant_id uuid, name text);
CREATE TABLE crm.lookup (code text);
SELECT tenantguard.protect_schema('crm');
CREATE TABLE crm.contacts (tenant_id uuid, email text);
SELECT rel::text FROM tenantguard.protected_tables WHERE rel::text LIKE 'crm.%' ORDER BY 1;
DROP SCHEMA crm CASCADE;
SELECT count(*) AS forgotten FROM tenantguard.protected_tables WHERE rel::text LIKE 'crm.%';

DROP VIEW notes_view;
DROP TABLE wrong_type, plain, events, events_c;
DROP TABLE notes;
DROP OWNED BY regress_admin, regress_app;
DROP ROLE regress_admin, regress_app;
