-- single-row INSERT into bench.items_tg (run as a bound role: tenant_id defaults to its tenant)
\set r random(1, 1000000000)
INSERT INTO bench.items_tg (sku, qty, price, note) VALUES ('sku-' || :r, :r % 100, 9.99, 'pgbench row');
