-- Variant 3e (diagnostic, interleaved runs only): set_tenant() per transaction as in variant 3, but the query is variant 1's explicit WHERE on its own unprotected copy (items_plain2), so the difference to variant 1 is the cost of entering the tenant and the difference to variant 3 the cost of the policy.
\set tno random(1, 100)
BEGIN;
SELECT tenantguard.set_tenant(('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid);
SELECT count(*), sum(amount), max(created_at) FROM bench.items_plain2 WHERE tenant_id = ('00000000-0000-0000-0000-' || lpad(:tno::text, 12, '0'))::uuid;
COMMIT;
