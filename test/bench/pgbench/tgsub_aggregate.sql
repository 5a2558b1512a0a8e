-- Variant 3b: like variant 3, but the policy is (SELECT tenantguard.current_tenant()) — an initplan.
\set tno random(1, 100)
BEGIN;
SELECT tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid);
SELECT count(*), sum(amount), max(created_at) FROM bench.items_tgsub;
COMMIT;
