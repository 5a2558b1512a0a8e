-- Variant 3: tenantguard.protect(), context entered per transaction with set_tenant() (transaction scope).
\set tno random(1, 100)
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid);
SELECT id, sku, amount, created_at FROM bench.items_tg WHERE id = :id;
COMMIT;
