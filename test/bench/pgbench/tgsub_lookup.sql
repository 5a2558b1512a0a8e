-- Variant 3b: like variant 3, but the policy is (SELECT tenantguard.current_tenant()) — an initplan.
\set tno random(1, 100)
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid);
SELECT id, sku, amount, created_at FROM bench.items_tgsub WHERE id = :id;
COMMIT;
