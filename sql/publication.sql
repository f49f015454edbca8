-- Publication catalog (smpc.publish, smpc.withdraw, smpc.datasets) and the
-- protections of the audit log.  Independent of the other files: it creates
-- the extension and drops everything it creates, roles included.
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS smpc;
RESET client_min_messages;

-- Test hooks: the library has them, the extension's SQL does not.
CREATE FUNCTION pub_lookup(text, boolean) RETURNS text
  AS 'smpc', 'smpc_catalog_test_lookup' LANGUAGE C;
CREATE FUNCTION pub_audit(bytea, text, text, text, text[], text, bytea, text[])
  RETURNS void AS 'smpc', 'smpc_audit_test_record' LANGUAGE C;

CREATE TYPE pub_ward AS ENUM ('north', 'south', 'east');
CREATE DOMAIN pub_flag AS boolean;
CREATE TABLE pub_admissions (id int, age int, los numeric(6,2), ward pub_ward,
                             icu pub_flag, sex text, region text, secret text,
                             admitted date);
CREATE VIEW pub_adults AS SELECT age, los FROM pub_admissions WHERE age >= 18;
CREATE MATERIALIZED VIEW pub_ages AS SELECT age FROM pub_admissions;
CREATE TABLE pub_parted (k int, v int) PARTITION BY RANGE (k);
CREATE INDEX pub_admissions_age ON pub_admissions (age);
CREATE SEQUENCE pub_seq;
CREATE TEMP TABLE pub_temp (a int);
CREATE FOREIGN DATA WRAPPER pub_other_fdw;
CREATE SERVER pub_other_server FOREIGN DATA WRAPPER pub_other_fdw;
CREATE FOREIGN TABLE pub_other_ft (a int) SERVER pub_other_server;
CREATE SERVER pub_federation FOREIGN DATA WRAPPER smpc OPTIONS (members 'pub_m1');
CREATE FOREIGN TABLE pub_federated (age int) SERVER pub_federation
  OPTIONS (dataset 'admissions');

-- The catalog starts empty.
SELECT count(*) FROM smpc.dataset;
SELECT pub_lookup('admissions', true);

-- Happy paths: every kind of group key.
SELECT smpc.publish('admissions', 'pub_admissions',
                    '{age,los,ward,icu,sex,region,admitted}',
                    group_keys => '{"age": "reveal", "ward": "public",
                                    "icu": "public", "sex": ["f", "m", "x"],
                                    "region": "none",
                                    "admitted": ["2024-01-01", "2024-01-02"]}');
SELECT smpc.publish('adults', 'pub_adults', columns => '{los,age}',
                    federations => '{fed_a,fed-b.2}');
SELECT smpc.publish('ages', 'pub_ages', '{age}');
SELECT smpc.publish('parted', 'pub_parted', '{v,k}', '{"k": ["1", "2", "3"]}');
-- an enum or a boolean may also declare a subset of its values
SELECT smpc.publish('Wards.2024', 'pub_admissions', '{ward,icu}',
                    '{"ward": ["north", "south"], "icu": ["true"]}');
SELECT * FROM smpc.datasets;
SELECT dataset_name, relation, publisher, federations,
       published_at <= now() AS published_at_ok
  FROM smpc.dataset ORDER BY dataset_name COLLATE "C";
SELECT dataset_name, column_name, position, group_policy, group_domain
  FROM smpc.dataset_column
 ORDER BY dataset_name COLLATE "C", position;
SELECT pub_lookup('admissions', false);
SELECT pub_lookup('adults', false);

-- Already published: replace => true or withdraw first.
SELECT smpc.publish('ages', 'pub_ages', '{age}');
SELECT smpc.publish('ages', 'pub_admissions', '{age,los}', '{"age": "reveal"}',
                    replace => true);
SELECT * FROM smpc.datasets WHERE dataset_name = 'ages';
SELECT smpc.withdraw('ages');
SELECT smpc.withdraw('ages');
SELECT pub_lookup('ages', true);
SELECT pub_lookup('ages', false);
-- replace => true publishes a new dataset too
SELECT smpc.publish('ages', 'pub_ages', '{age}', replace => true);

-- Arguments.
SELECT smpc.publish(NULL, 'pub_admissions', '{age}');
SELECT smpc.publish('x', NULL, '{age}');
SELECT smpc.publish('x', 'pub_admissions', NULL);
SELECT smpc.publish('x', 'pub_admissions', '{age}', replace => NULL);
SELECT smpc.withdraw(NULL);
SELECT smpc.publish('bad name', 'pub_admissions', '{age}');
SELECT smpc.publish('_x', 'pub_admissions', '{age}');
SELECT smpc.publish('', 'pub_admissions', '{age}');
SELECT smpc.publish(repeat('x', 64), 'pub_admissions', '{age}');

-- Relations that cannot be published.
SELECT smpc.publish('x', 'pub_admissions_age', '{age}');
SELECT smpc.publish('x', 'pub_seq', '{last_value}');
SELECT smpc.publish('x', 'pub_temp', '{a}');
SELECT smpc.publish('x', 'pub_other_ft', '{a}');
SELECT smpc.publish('x', 'pub_federated', '{age}');
SELECT smpc.publish('x', 1, '{age}');

-- Columns.
SELECT smpc.publish('x', 'pub_admissions', '{}');
SELECT smpc.publish('x', 'pub_admissions', '{age,NULL}');
SELECT smpc.publish('x', 'pub_admissions', '{age,weight}');
SELECT smpc.publish('x', 'pub_admissions', '{Age}');
SELECT smpc.publish('x', 'pub_admissions', ARRAY[repeat('a', 100)]);
SELECT smpc.publish('x', 'pub_admissions', '{age,ctid}');
SELECT smpc.publish('x', 'pub_admissions', '{age,los,age}');
ALTER TABLE pub_admissions DROP COLUMN id;
SELECT smpc.publish('x', 'pub_admissions', '{........pg.dropped.1........}');

-- Group keys.
SELECT smpc.publish('x', 'pub_admissions', '{age}', '["age"]');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '"age"');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"los": "reveal"}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": "hidden"}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": null}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": {"a": 1}}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": "public"}');
SELECT smpc.publish('x', 'pub_admissions', '{sex}', '{"sex": "public"}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": []}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": [1, 2]}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": ["1", "1"]}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', '{"age": ["1", "old"]}');
SELECT smpc.publish('x', 'pub_admissions', '{ward}', '{"ward": ["north", "west"]}');

-- Federations.
SELECT smpc.publish('x', 'pub_admissions', '{age}', federations => '{}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', federations => '{a,NULL}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', federations => '{a,b,a}');
SELECT smpc.publish('x', 'pub_admissions', '{age}', federations => '{"a b"}');

-- None of the failures left anything behind.
SELECT smpc.publish('x', 'pub_admissions', '{age}');
SELECT smpc.withdraw('x');
SELECT pub_lookup('x', true);

-- A dataset whose relation changed is reported by name on lookup.
CREATE TABLE pub_changing (a int, b pub_ward, c int);
SELECT smpc.publish('changing', 'pub_changing', '{a,b,c}', '{"b": "public"}');
ALTER TABLE pub_changing DROP COLUMN c;
SELECT pub_lookup('changing', false);
SELECT column_name, column_type FROM smpc.datasets WHERE dataset_name = 'changing';
SELECT smpc.publish('changing', 'pub_changing', '{a,b}', '{"b": "public"}', replace => true);
ALTER TABLE pub_changing ALTER COLUMN b TYPE text;
SELECT pub_lookup('changing', false);
DROP TABLE pub_changing;
\set VERBOSITY terse
SELECT pub_lookup('changing', false);
\set VERBOSITY default
SELECT smpc.withdraw('changing');

-- Read-only transactions cannot publish.
BEGIN READ ONLY;
SELECT smpc.publish('x', 'pub_admissions', '{age}');
ROLLBACK;

-- Non-superusers.  Publishing is granted explicitly; the publisher must be
-- able to read what it publishes; only the publisher replaces or withdraws.
CREATE ROLE regress_pub_steward;
CREATE ROLE regress_pub_other;
CREATE ROLE regress_pub_nobody;
CREATE ROLE regress_pub_monitor IN ROLE pg_read_all_stats;
GRANT EXECUTE ON FUNCTION smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer),
                          smpc.withdraw(text)
   TO regress_pub_steward, regress_pub_other;
GRANT SELECT ON pub_admissions TO regress_pub_other;
CREATE SCHEMA pub_private;
CREATE TABLE pub_private.cases (n int);
GRANT SELECT ON pub_private.cases TO regress_pub_steward;
SELECT 'pub_private.cases'::regclass::oid AS cases_oid \gset

SET ROLE regress_pub_nobody;
SELECT smpc.publish('steward_set', 'pub_admissions', '{age}');
SELECT smpc.withdraw('admissions');
SELECT count(*) > 0 AS can_read_catalog FROM smpc.datasets;

SET ROLE regress_pub_steward;
-- no SELECT on the relation or its columns: refused
SELECT smpc.publish('steward_set', 'pub_admissions', '{age,los}');
-- no USAGE on the schema (the relation given by OID): refused
SELECT smpc.publish('steward_set', :cases_oid, '{n}');
RESET ROLE;
GRANT SELECT (age, los) ON pub_admissions TO regress_pub_steward;
SET ROLE regress_pub_steward;
-- column SELECT on every published column: allowed
SELECT smpc.publish('steward_set', 'pub_admissions', '{age,los}', '{"age": "reveal"}');
SELECT current_user;
-- but not with a column it cannot read
SELECT smpc.publish('steward_set2', 'pub_admissions', '{age,secret}');
-- errors raised while acting as the extension owner restore the caller
SELECT smpc.publish('admissions', 'pub_admissions', '{age}');
SELECT current_user;
-- the catalog itself is read-only for everyone but the extension owner
INSERT INTO smpc.dataset VALUES ('forged', 'pub_admissions', 'regress_pub_steward');
UPDATE smpc.dataset_column SET group_policy = 'reveal';
DELETE FROM smpc.dataset;
SELECT dataset_name, publisher FROM smpc.dataset WHERE dataset_name LIKE 'steward%';

SET ROLE regress_pub_other;
-- only the publisher (or a member of it, or a superuser) replaces or withdraws
SELECT smpc.publish('steward_set', 'pub_admissions', '{age}', replace => true);
SELECT smpc.withdraw('steward_set');
SELECT smpc.withdraw('admissions');
RESET ROLE;
GRANT regress_pub_steward TO regress_pub_other;
SET ROLE regress_pub_other;
SELECT smpc.publish('steward_set', 'pub_admissions', '{age,sex}', replace => true);
SELECT dataset_name, publisher FROM smpc.dataset WHERE dataset_name = 'steward_set';
RESET ROLE;
SELECT pub_lookup('steward_set', false);
SELECT smpc.withdraw('steward_set');

-- A dropped publisher is reported on lookup.
SET ROLE regress_pub_steward;
SELECT smpc.publish('orphan', 'pub_admissions', '{age}');
RESET ROLE;
REVOKE ALL ON pub_admissions FROM regress_pub_steward;
REVOKE ALL ON pub_private.cases FROM regress_pub_steward;
REVOKE regress_pub_steward FROM regress_pub_other;
REVOKE EXECUTE ON FUNCTION smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer),
                           smpc.withdraw(text)
    FROM regress_pub_steward;
DROP ROLE regress_pub_steward;
\set VERBOSITY terse
SELECT pub_lookup('orphan', false);
\set VERBOSITY default
SELECT smpc.withdraw('orphan');

-- Audit log: records are written as the extension owner, in the caller's
-- transaction.
GRANT EXECUTE ON FUNCTION pub_audit(bytea, text, text, text, text[], text, bytea, text[])
   TO regress_pub_nobody;
SET ROLE regress_pub_nobody;
SELECT pub_audit('\x000102030405060708090a0b0c0d0e0f', 'member', 'success',
                 'admissions', '{st_marys,city,county}', NULL,
                 sha256('result'), NULL);
SELECT pub_audit('\x0f0e0d0c0b0a09080706050403020100', 'querying', 'incomplete',
                 'admissions', '{st_marys,city,county}', NULL, NULL, '{county}');
BEGIN;
SELECT pub_audit('\x11111111111111111111111111111111', 'querying', 'failed',
                 'admissions', NULL, 'member "city" refused the query', NULL, NULL);
ROLLBACK;
\set VERBOSITY terse
SELECT pub_audit('\x22222222222222222222222222222222', 'observer', 'success',
                 NULL, NULL, NULL, NULL, NULL);
\set VERBOSITY default
SELECT current_user;
-- an ordinary role can neither read nor write the log
SELECT count(*) FROM smpc.audit_log;
INSERT INTO smpc.audit_log (session_id, node_role, outcome)
  VALUES ('\x33333333333333333333333333333333', 'member', 'success');
UPDATE smpc.audit_log SET outcome = 'failed';
DELETE FROM smpc.audit_log;
TRUNCATE smpc.audit_log;
-- a monitoring role reads it
SET ROLE regress_pub_monitor;
SELECT session_id, node_role, federation, initiator_node, initiator_role,
       dataset, dataset_sql, participants, outcome, error,
       encode(result_digest, 'hex') = encode(sha256('result'), 'hex') AS digest_ok,
       unfinished_members, recorded_at <= clock_timestamp() AS recorded_at_ok
  FROM smpc.audit_log ORDER BY audit_id;
UPDATE smpc.audit_log SET outcome = 'failed';
RESET ROLE;
-- even the owner cannot change or remove records
UPDATE smpc.audit_log SET outcome = 'failed';
DELETE FROM smpc.audit_log WHERE false;
TRUNCATE smpc.audit_log;
SET session_replication_role = replica;
DELETE FROM smpc.audit_log;
RESET session_replication_role;
\set VERBOSITY terse
INSERT INTO smpc.audit_log (session_id, node_role, outcome)
  VALUES ('\x3333', 'member', 'success');
INSERT INTO smpc.audit_log (session_id, node_role, outcome)
  VALUES ('\x33333333333333333333333333333333', 'member', 'lost');
\set VERBOSITY default
SELECT count(*) FROM smpc.audit_log;

-- Intersection keys: integer, text and uuid kinds, a domain over one, and
-- the set size below which the node refuses an intersection.
CREATE DOMAIN pub_code AS varchar(12);
CREATE TABLE pub_customers (id bigint, small smallint, name text, code pub_code,
                            ref uuid, tag char(4), score float8, born date);
SELECT smpc.publish('customers', 'pub_customers',
                    '{id,small,name,code,ref,tag,score,born}',
                    intersect_keys => '{id,small,name,code,ref,tag}',
                    min_set_size => 1000);
SELECT column_name, column_type, intersect_key, min_set_size
  FROM smpc.datasets WHERE dataset_name = 'customers';
-- min_set_size defaults to 100
SELECT smpc.publish('customers', 'pub_customers', '{id}',
                    intersect_keys => '{id}', replace => true);
SELECT column_name, intersect_key, min_set_size
  FROM smpc.datasets WHERE dataset_name = 'customers';
-- refused: other types, unpublished columns, nulls, a negative minimum
SELECT smpc.publish('customers', 'pub_customers', '{id,score}',
                    intersect_keys => '{score}', replace => true);
SELECT smpc.publish('customers', 'pub_customers', '{id,born}',
                    intersect_keys => '{born}', replace => true);
SELECT smpc.publish('customers', 'pub_customers', '{id}',
                    intersect_keys => '{name}', replace => true);
SELECT smpc.publish('customers', 'pub_customers', '{id}',
                    intersect_keys => '{NULL}', replace => true);
SELECT smpc.publish('customers', 'pub_customers', '{id}',
                    intersect_keys => '{id}', min_set_size => -1, replace => true);
-- a key whose type changes is reported when the dataset is looked up
ALTER TABLE pub_customers ALTER COLUMN id TYPE numeric;
SELECT pub_lookup('customers', false);
SELECT smpc.withdraw('customers');
DROP TABLE pub_customers;
DROP DOMAIN pub_code;

-- Clean up.
SELECT smpc.withdraw(d) FROM unnest(ARRAY['admissions', 'adults', 'ages', 'parted', 'Wards.2024']) d;
SELECT count(*) FROM smpc.dataset_column;
DROP OWNED BY regress_pub_other, regress_pub_nobody, regress_pub_monitor;
DROP ROLE regress_pub_other, regress_pub_nobody, regress_pub_monitor;
DROP SCHEMA pub_private CASCADE;
DROP FOREIGN TABLE pub_federated, pub_other_ft;
DROP SERVER pub_federation;
DROP SERVER pub_other_server;
DROP FOREIGN DATA WRAPPER pub_other_fdw;
DROP TABLE pub_temp, pub_parted;
DROP MATERIALIZED VIEW pub_ages;
DROP VIEW pub_adults;
DROP TABLE pub_admissions;
DROP SEQUENCE pub_seq;
DROP DOMAIN pub_flag;
DROP TYPE pub_ward;
DROP FUNCTION pub_lookup(text, boolean);
DROP FUNCTION pub_audit(bytea, text, text, text, text[], text, bytea, text[]);
DROP EXTENSION smpc;
