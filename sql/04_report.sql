-- isolation_report(): empty when clean, one row per hole with a fix.
\set SHOW_CONTEXT never
SELECT * FROM tenantguard.isolation_report();

CREATE TABLE invoices (tenant_id uuid, id int, number text UNIQUE, customer int);
CREATE TABLE customers (tenant_id uuid, id int PRIMARY KEY);
ALTER TABLE invoices ADD FOREIGN KEY (customer) REFERENCES customers (id);
CREATE POLICY open_door ON invoices USING (true);
SELECT tenantguard.protect('customers');
SELECT severity, object, finding FROM tenantguard.isolation_report();

SELECT tenantguard.protect('invoices');
CREATE VIEW all_invoices AS SELECT * FROM invoices;
CREATE ROLE regress_owner LOGIN IN ROLE tenantguard_app;
ALTER TABLE customers OWNER TO regress_owner;
CREATE FUNCTION count_invoices() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT count(*) FROM invoices $$;
\x on
SELECT severity, object, finding, fix FROM tenantguard.isolation_report();
\x off

-- fix every finding
DROP FUNCTION count_invoices();
DROP VIEW all_invoices;
DROP POLICY open_door ON invoices;
DROP TABLE invoices, customers;
DROP ROLE regress_owner;
SELECT * FROM tenantguard.isolation_report();
