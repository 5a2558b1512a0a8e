-- Variant 4: tenantguard.protect(), login role bound to tenant 1 with bind_role(); no per-transaction entry (set_config of an unused setting keeps the statement count equal).
\set tno 1
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT set_config('bench.tenant', '00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'), true);
SELECT id, sku, amount, created_at FROM bench.items_tg WHERE id = :id;
COMMIT;
