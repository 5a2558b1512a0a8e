-- Variant 2: hand-written policy on current_setting('app.tenant')::uuid, entered with set_config(..., true) per transaction.
\set tno random(1, 100)
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT set_config('app.tenant', '00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'), true);
SELECT id, sku, amount, created_at FROM bench.items_rls WHERE id = :id;
COMMIT;
