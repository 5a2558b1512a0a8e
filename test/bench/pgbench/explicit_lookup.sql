-- Variant 1 (baseline): unprotected table, explicit tenant filter; set_config of an unused setting keeps the statement count equal.
\set tno random(1, 100)
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT set_config('bench.tenant', '00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'), true);
SELECT id, sku, amount, created_at FROM bench.items_plain WHERE tenant_id = ('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid AND id = :id;
COMMIT;
