-- single-row UPDATE in bench.items_plain; tenant 1 (bench_t1) owns ids 1..:rows
\set id random(1, :rows)
UPDATE bench.items_plain SET qty = qty + 1, updated_at = now() WHERE id = :id;
