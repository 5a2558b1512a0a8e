-- tenantguard authorization benchmark: set-up (run as superuser in the bench
-- database, -v rows=N). One tenant, N rows per copy; every copy is
-- protect()ed and gets one more restrictive policy (or none):
--   docs_base     none                                   (baseline: the isolation policy only)
--   docs_concat   tenant_id = current_tenant() AND authorize('docs.read', 'project/' || project)
--   docs_column   tenant_id = current_tenant() AND authorize('docs.read', resource)
--   docs_const    tenant_id = current_tenant() AND authorize('docs.read')
--   docs_catonly  tenant_id = current_tenant() AND ('project/' || project) IS NOT NULL
--                 (the concatenation alone; the DDL guard is off for this one policy)
-- Roles, each bound to the tenant: bench_reader (role reader: docs.read on
-- project/*, a glob matched per row), bench_anyreader (role anyreader:
-- docs.read on *, decided once per call site), bench_denied (role denied: no
-- rule; every row refused and counted for the audit).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION tenantguard;
CREATE SCHEMA bench;
SELECT tenantguard.create_tenant('bench-authz') AS t \gset
CREATE ROLE bench_reader LOGIN IN ROLE tenantguard_app;
CREATE ROLE bench_anyreader LOGIN IN ROLE tenantguard_app;
CREATE ROLE bench_denied LOGIN IN ROLE tenantguard_app;
SELECT tenantguard.bind_role('bench_reader', :'t', 'reader');
SELECT tenantguard.bind_role('bench_anyreader', :'t', 'anyreader');
SELECT tenantguard.bind_role('bench_denied', :'t', 'denied');
GRANT USAGE ON SCHEMA bench TO tenantguard_app;
-- this backend's CPU time so far (ns): a scan's CPU cost, unaffected by waiting for a core
CREATE FUNCTION bench.cpu_ns() RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
GRANT EXECUTE ON FUNCTION bench.cpu_ns() TO tenantguard_app;

CREATE TABLE bench.docs_base (tenant_id uuid NOT NULL, id int NOT NULL, project text NOT NULL,
                              resource text NOT NULL, body text, PRIMARY KEY (tenant_id, id));
INSERT INTO bench.docs_base
     SELECT :'t', i, 'app-' || (i % 97), 'project/app-' || (i % 97), md5(i::text)
       FROM generate_series(1, :rows) i;
CREATE TABLE bench.docs_concat (LIKE bench.docs_base INCLUDING ALL);
CREATE TABLE bench.docs_column (LIKE bench.docs_base INCLUDING ALL);
CREATE TABLE bench.docs_const (LIKE bench.docs_base INCLUDING ALL);
CREATE TABLE bench.docs_catonly (LIKE bench.docs_base INCLUDING ALL);
INSERT INTO bench.docs_concat SELECT * FROM bench.docs_base;
INSERT INTO bench.docs_column SELECT * FROM bench.docs_base;
INSERT INTO bench.docs_const SELECT * FROM bench.docs_base;
INSERT INTO bench.docs_catonly SELECT * FROM bench.docs_base;
SELECT tenantguard.protect(c) FROM unnest('{bench.docs_base,bench.docs_concat,bench.docs_column,bench.docs_const,bench.docs_catonly}'::regclass[]) c;
CREATE POLICY docs_read ON bench.docs_concat AS RESTRICTIVE FOR SELECT
    USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read', 'project/' || project));
CREATE POLICY docs_read ON bench.docs_column AS RESTRICTIVE FOR SELECT
    USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read', resource));
CREATE POLICY docs_read ON bench.docs_const AS RESTRICTIVE FOR SELECT
    USING (tenant_id = tenantguard.current_tenant() AND tenantguard.authorize('docs.read'));
SET tenantguard.ddl_guard = off;
CREATE POLICY docs_read ON bench.docs_catonly AS RESTRICTIVE FOR SELECT
    USING (tenant_id = tenantguard.current_tenant() AND ('project/' || project) IS NOT NULL);
RESET tenantguard.ddl_guard;
GRANT SELECT ON ALL TABLES IN SCHEMA bench TO tenantguard_app;

BEGIN;
SELECT tenantguard.set_tenant(:'t');
SELECT tenantguard.grant_permission('reader', 'docs.read', 'project/*');
SELECT tenantguard.grant_permission('anyreader', 'docs.read');
COMMIT;
VACUUM ANALYZE;
