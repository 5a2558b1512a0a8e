-- Variant 3: tenantguard.protect(), context entered per transaction with set_tenant() (transaction scope).
\set tno random(1, 100)
BEGIN;
SELECT tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid);
SELECT count(*), sum(amount), max(created_at) FROM bench.items_tg;
COMMIT;
