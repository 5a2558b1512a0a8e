-- Encrypted secrets: seal/reveal per tenant, the secret type, the vault, rotation.
\set SHOW_CONTEXT never
SELECT tenantguard.tenant_id('acme') AS acme \gset
SELECT tenantguard.tenant_id('globex') AS globex \gset
CREATE ROLE regress_admin LOGIN IN ROLE tenantguard_admin;
CREATE TABLE integrations (id int, tenant_id uuid, name text, credential tenantguard.secret,
                           PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('integrations');
GRANT SELECT, INSERT, UPDATE ON integrations TO regress_admin;
SET ROLE regress_admin;

-- sealing needs a tenant
SELECT tenantguard.seal('hunter2');

BEGIN;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO integrations VALUES (1, DEFAULT, 'github', tenantguard.seal('ghp_acme_token'));
INSERT INTO integrations VALUES (2, DEFAULT, 'signing', tenantguard.seal('\x00ff10'::bytea));
-- stored as ciphertext; the text form starts with tgs1:
SELECT name, left(credential::text, 5) AS prefix, tenantguard.secret_key_version(credential) AS key_version,
       tenantguard.secret_tenant(credential) = :'acme' AS sealed_for_acme
  FROM integrations ORDER BY id;
SELECT tenantguard.reveal(credential) FROM integrations WHERE id = 1;
SELECT tenantguard.reveal_bytea(credential) FROM integrations WHERE id = 2;
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.reveal(credential) FROM integrations WHERE id = 2;
ROLLBACK;

-- the same ciphertext does not open in another tenant
RESET ROLE;
SELECT credential AS acme_credential FROM integrations WHERE id = 1 \gset
SET ROLE regress_admin;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
SELECT tenantguard.reveal(:'acme_credential');
ROLLBACK;

-- plaintext is not a secret
SELECT 'ghp_plain'::tenantguard.secret;
SELECT 'tgs1:AAAA'::tenantguard.secret;

-- blind indexes: equality lookups on sealed values, per tenant
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.blind_index('a@acme.test') = tenantguard.blind_index('a@acme.test') AS stable,
       tenantguard.blind_index('a@acme.test') <> tenantguard.blind_index('a@acme.test', 'other') AS per_purpose,
       length(tenantguard.blind_index('a@acme.test')) AS bytes;
SELECT tenantguard.blind_index('a@acme.test') AS acme_index \gset
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
SELECT tenantguard.blind_index('a@acme.test') <> :'acme_index' AS per_tenant;
COMMIT;

-- the vault: secrets by name and version, passed by reference
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.put_secret('db-url', 'postgres://acme-v1');
SELECT tenantguard.put_secret('db-url', 'postgres://acme-v2');
SELECT tenantguard.get_secret('db-url') AS latest, tenantguard.get_secret('db-url', version => 1) AS first;
SELECT tenantguard.secret_ref('db-url') AS ref;
SELECT tenantguard.resolve_ref('tgref:acme/default/db-url@1');
SELECT scope, name, latest_version, versions FROM tenantguard.secrets;
SELECT tenantguard.get_secret('nope');
ROLLBACK;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.put_secret('db-url', 'postgres://acme');
COMMIT;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
SELECT count(*) AS visible_to_globex FROM tenantguard.secrets;
SELECT tenantguard.resolve_ref('tgref:acme/default/db-url@1');
ROLLBACK;
BEGIN;
SELECT tenantguard.set_tenant(:'globex');
SELECT tenantguard.resolve_ref('not-a-ref');
ROLLBACK;

-- rotation: new seals use the new key, old ciphertexts still open, reencrypt moves them
SELECT tenantguard.rotate_data_key() > 1 AS rotated;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
SELECT tenantguard.secret_key_version(tenantguard.seal('x')) = max(version) AS newest_key
  FROM tenantguard.key_versions WHERE purpose = 'data';
SELECT tenantguard.reveal(credential) FROM integrations WHERE id = 1;
COMMIT;
RESET ROLE;
SELECT tenantguard.reencrypt('integrations', 'credential');
SELECT count(DISTINCT tenantguard.secret_key_version(credential)) AS key_versions_in_use FROM integrations;
SELECT tenantguard.reencrypt('integrations', 'name');

DROP TABLE integrations;
DROP OWNED BY regress_admin;
DROP ROLE regress_admin;
