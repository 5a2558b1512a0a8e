-- tenantguard secrets benchmark: data set and roles (superuser, fresh database).
-- psql variables: rows (rows per source table), pgrows (rows sealed with
-- pgcrypto's default options, which are slow: see docs/performance-secrets-audit.md).
--
--   bench.src_100 / bench.src_1024   (i, v text): unique ASCII values of exactly
--                                    100 and 1024 bytes
--   bench.tg_<n>      (i, c secret)  sealed with the newest data key (version 2)
--   bench.tgold_<n>   (i, c secret)  sealed with data key version 1 (warm-up reads)
--   bench.aes_<n>     (i, c bytea)   pgcrypto encrypt(v, <32-byte key>, 'aes'), all rows
--   bench.pgp_<n>     (i, c bytea)   pgp_sym_encrypt(v, 'pw'), default options, pgrows rows
--   bench.pgpfast_<n> (i, c bytea)   pgp_sym_encrypt(v, 'pw', 's2k-mode=1'), all rows
--   bench.dst_*                      empty targets of the timed INSERTs
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS tenantguard;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- A non-superuser administrator: enters the tenant with set_tenant().
CREATE ROLE bench_admin LOGIN IN ROLE tenantguard_admin;
SELECT tenantguard.create_tenant('bench-secrets', 'secrets benchmark') AS tenant \gset

CREATE SCHEMA bench;
GRANT USAGE, CREATE ON SCHEMA bench TO bench_admin;

-- Backend CPU time (ns) of the calling backend, from /proc/self/schedstat:
-- unlike wall time it hardly moves when other processes share the cores.
CREATE FUNCTION bench.cpu_ns() RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog
    AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
GRANT EXECUTE ON FUNCTION bench.cpu_ns() TO bench_admin;

-- Bench-only grant: the internal audit recorder (the event reveal() writes).
GRANT EXECUTE ON FUNCTION tenantguard_audit._record(text, text, text, text, text, jsonb, uuid) TO bench_admin;

CREATE TABLE bench.src_100 AS
    SELECT i, substr(repeat(md5(i::text), 4), 1, 100) AS v FROM generate_series(1, :rows) AS i;
CREATE TABLE bench.src_1024 AS
    SELECT i, substr(repeat(md5(i::text), 33), 1, 1024) AS v FROM generate_series(1, :rows) AS i;
ALTER TABLE bench.src_100 OWNER TO bench_admin;
ALTER TABLE bench.src_1024 OWNER TO bench_admin;

SET ROLE bench_admin;
SELECT tenantguard.set_tenant(:'tenant', false);

CREATE TABLE bench.tgold_100  (i int, c tenantguard.secret);
CREATE TABLE bench.tgold_1024 (i int, c tenantguard.secret);
INSERT INTO bench.tgold_100  SELECT i, tenantguard.seal(v) FROM bench.src_100;
INSERT INTO bench.tgold_1024 SELECT i, tenantguard.seal(v) FROM bench.src_1024;
RESET ROLE;
SELECT tenantguard.rotate_data_key() AS newest \gset
SET ROLE bench_admin;
SELECT tenantguard.set_tenant(:'tenant', false);

CREATE TABLE bench.tg_100  (i int, c tenantguard.secret);
CREATE TABLE bench.tg_1024 (i int, c tenantguard.secret);
INSERT INTO bench.tg_100  SELECT i, tenantguard.seal(v) FROM bench.src_100;
INSERT INTO bench.tg_1024 SELECT i, tenantguard.seal(v) FROM bench.src_1024;
CREATE TABLE bench.pgp_100  (i int, c bytea);
CREATE TABLE bench.pgp_1024 (i int, c bytea);
INSERT INTO bench.pgp_100  SELECT i, pgp_sym_encrypt(v, 'pw') FROM bench.src_100  WHERE i <= :pgrows;
INSERT INTO bench.pgp_1024 SELECT i, pgp_sym_encrypt(v, 'pw') FROM bench.src_1024 WHERE i <= :pgrows;
CREATE TABLE bench.aes_100  (i int, c bytea);
CREATE TABLE bench.aes_1024 (i int, c bytea);
INSERT INTO bench.aes_100  SELECT i, encrypt(convert_to(v, 'UTF8'), '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes') FROM bench.src_100;
INSERT INTO bench.aes_1024 SELECT i, encrypt(convert_to(v, 'UTF8'), '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'::bytea, 'aes') FROM bench.src_1024;
CREATE TABLE bench.pgpfast_100  (i int, c bytea);
CREATE TABLE bench.pgpfast_1024 (i int, c bytea);
INSERT INTO bench.pgpfast_100  SELECT i, pgp_sym_encrypt(v, 'pw', 's2k-mode=1') FROM bench.src_100;
INSERT INTO bench.pgpfast_1024 SELECT i, pgp_sym_encrypt(v, 'pw', 's2k-mode=1') FROM bench.src_1024;

-- Targets of the timed INSERTs (truncated before each run).
CREATE TABLE bench.dst_plain   (i int, v text);
CREATE TABLE bench.dst_tg      (i int, c tenantguard.secret);
CREATE TABLE bench.dst_pgp     (i int, c bytea);
CREATE TABLE bench.dst_pgpfast (i int, c bytea);
CREATE TABLE bench.dst_aes     (i int, c bytea);
RESET ROLE;

VACUUM (FREEZE, ANALYZE);
CHECKPOINT;

-- Sanity: every copy opens to its source value.
SET ROLE bench_admin;
SELECT tenantguard.set_tenant(:'tenant', false);
SELECT count(*) FILTER (WHERE tenantguard.reveal(t.c) <> s.v) AS bad_tg,
       count(*) FILTER (WHERE tenantguard.secret_key_version(t.c) <> :newest) AS bad_version
  FROM bench.tg_100 t JOIN bench.src_100 s USING (i) WHERE i <= 1000 \gset
SELECT count(*) FILTER (WHERE pgp_sym_decrypt(p.c, 'pw') <> s.v) AS bad_pgp
  FROM bench.pgp_1024 p JOIN bench.src_1024 s USING (i) WHERE i <= 100 \gset
RESET ROLE;
SELECT (:bad_tg + :bad_version + :bad_pgp) = 0 AS ok \gset
\if :ok
\else
  \echo 'setup sanity check failed'
  SELECT 1/0;
\endif
