-- Variant 1c (control, interleaved runs only): variant 1 exactly, on another physically identical copy (items_ctl); its ratio to variant 1 shows how far two identical variants differ in one run.
\set tno random(1, 100)
\set id (:tno - 1) * 10000 + random(1, 10000)
BEGIN;
SELECT set_config('bench.tenant', '00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'), true);
SELECT id, sku, amount, created_at FROM bench.items_ctl WHERE tenant_id = ('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid AND id = :id;
COMMIT;
