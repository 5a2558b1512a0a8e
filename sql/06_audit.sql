-- The audit ledger: trigger-driven, append-only, tamper-evident.
\set SHOW_CONTEXT never
SELECT tenantguard.tenant_id('acme') AS acme \gset
CREATE ROLE regress_admin LOGIN IN ROLE tenantguard_admin;
CREATE TABLE orders (id int, tenant_id uuid, item text, card tenantguard.secret, note text,
                     PRIMARY KEY (tenant_id, id));
SELECT tenantguard.protect('orders');
SELECT tenantguard.audit_table('orders', exclude_columns => '{note}');
GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO regress_admin;
SELECT max(id) AS before FROM tenantguard_audit.events \gset

SET ROLE regress_admin;
BEGIN;
SELECT tenantguard.set_tenant(:'acme');
INSERT INTO orders VALUES (1, DEFAULT, 'book', tenantguard.seal('4111-1111'), 'gift');
UPDATE orders SET item = 'ebook' WHERE id = 1;
UPDATE orders SET note = 'only the excluded column' WHERE id = 1;
DELETE FROM orders WHERE id = 1;
SELECT tenantguard.audit_log('export.created', 'orders.csv', '{"rows": 1}');
COMMIT;
RESET ROLE;

SELECT category, action, principal, object, decision, old_row - 'tenant_id' AS old_row, new_row - 'tenant_id' AS new_row,
       details, tenant_id = :'acme' AS in_acme
  FROM tenantguard_audit.events
 WHERE id > :before AND decision = 'allow'   -- refusals of earlier tests arrive asynchronously
 ORDER BY id;
SELECT id AS insert_id FROM tenantguard_audit.events
 WHERE id > :before AND object = 'public.orders' AND action = 'insert' \gset

-- append-only, even for a superuser
UPDATE tenantguard_audit.events SET action = 'nothing happened' WHERE id = :insert_id;
DELETE FROM tenantguard_audit.events WHERE id = :insert_id;
TRUNCATE tenantguard_audit.events;

-- sealing and verification
SELECT tenantguard_audit.seal() > 0 AS sealed;
SELECT ok, blocks_checked > 0 AS has_blocks, first_bad_event, problem FROM tenantguard_audit.verify();
SELECT tenantguard_audit.digest() AS digest \gset
SELECT tenantguard_audit.verify_digest(:'digest');
SELECT length(tenantguard_audit.public_key()) AS public_key_chars;
SELECT tenantguard_audit.verify_digest('{"block_id": "x"}');

-- a superuser who bypasses the triggers is caught
SET session_replication_role = replica;
UPDATE tenantguard_audit.events SET action = 'select' WHERE id = :insert_id;
RESET session_replication_role;
SELECT ok, first_bad_event = :insert_id AS names_the_altered_event,
       problem LIKE 'event % does not match its hash (altered)' AS names_the_event
  FROM tenantguard_audit.verify();
SELECT tenantguard_audit.verify_digest(:'digest');
SET session_replication_role = replica;
UPDATE tenantguard_audit.events SET action = 'insert' WHERE id = :insert_id;
RESET session_replication_role;
SELECT ok AS ok_once_restored FROM tenantguard_audit.verify();

-- reveals: one event per statement and column, with the count, never the value
BEGIN;
SELECT tenantguard.set_tenant(:'acme') \gset
INSERT INTO orders VALUES (2, DEFAULT, 'pen', tenantguard.seal('4111-2222')),
                          (3, DEFAULT, 'ink', tenantguard.seal('4111-3333'));
SELECT max(id) AS before_reveal FROM tenantguard_audit.events \gset
SELECT item, tenantguard.reveal(card) AS card FROM orders ORDER BY id;
SELECT action, object, details FROM tenantguard_audit.events WHERE id > :before_reveal ORDER BY id;
COMMIT;

-- the audit triggers cannot be removed behind the auditors' backs
ALTER TABLE orders OWNER TO regress_admin;
SET ROLE regress_admin;
ALTER TABLE orders DISABLE TRIGGER ALL;
DROP TRIGGER tenantguard_audit_row ON orders;
RESET ROLE;
SELECT tenantguard.unaudit_table('orders');
DROP TABLE orders;
DROP OWNED BY regress_admin;
DROP ROLE regress_admin;
