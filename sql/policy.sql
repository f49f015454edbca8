-- Member-side policy of dataset queries (smpc.check_query, src/policy.c).
-- Independent of the other files: it creates the extension and drops
-- everything it creates, roles included.
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS smpc;
RESET client_min_messages;
-- (the install script's SET search_path outlives CREATE EXTENSION)
RESET search_path;

-- A publisher that is not a superuser, its table, and a dataset of three of
-- its four columns; ward may be grouped by.
CREATE ROLE regress_policy_pub;
CREATE TABLE policy_admissions (age int, los numeric, ward text, secret text);
INSERT INTO policy_admissions VALUES (70, 3.5, 'a', 's1'), (40, 1, 'b', 's2');
ALTER TABLE policy_admissions OWNER TO regress_policy_pub;
CREATE SCHEMA "Policy Schema" AUTHORIZATION regress_policy_pub;
GRANT EXECUTE ON FUNCTION smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer),
                          smpc.withdraw(text)
   TO regress_policy_pub;
SET ROLE regress_policy_pub;
CREATE TABLE "Policy Schema"."adm""x" (age int);
SELECT smpc.publish('admissions', 'policy_admissions', '{age,los,ward}',
                    group_keys => '{"ward": "reveal"}');
SELECT smpc.publish('Adm.2024', 'policy_admissions', '{age,ward}');
SELECT smpc.publish('odd', '"Policy Schema"."adm""x"', '{age}');
-- dataset names cannot carry SQL
SELECT smpc.publish('x"; DROP TABLE policy_admissions; --', 'policy_admissions', '{age}');
-- only DBAs run the dry run
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions');
RESET ROLE;

-- What attacks would write to, if anything ran them.
CREATE TABLE policy_log (what text);
GRANT INSERT ON policy_log TO PUBLIC;
CREATE SEQUENCE policy_seq;
CREATE FUNCTION public.evil() RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('evil'); SELECT true $$;
CREATE FUNCTION public.evil_eq(int, int) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('==='); SELECT true $$;
CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = public.evil_eq);
CREATE FUNCTION public.evil_check(text) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('evilt'); SELECT true $$;
CREATE DOMAIN public.evilt AS text CHECK (public.evil_check(VALUE));
CREATE COLLATION public.evilc (locale = 'C');
-- shadows of built-in functions: an exact match for text, and a better
-- match for integer than pg_catalog's round(double precision/numeric)
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('lower'); SELECT 'pwned' $$;
CREATE FUNCTION public.round(int) RETURNS int LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('round'); SELECT 0 $$;

-- Accepted: the answer is the SQL this node would run.
SELECT smpc.check_query('admissions', $q$SELECT count(*) FROM admissions$q$);
SELECT smpc.check_query('admissions',
  $q$SELECT ward, count(*), sum(los), count(los) FROM admissions
     WHERE age >= 65 AND ward IN ('a','b') GROUP BY ward$q$);
SELECT smpc.check_query('admissions',
  $q$SELECT sum(age), sum(los::float8), count(age) FROM admissions
     WHERE (age < 18 OR age > 65) AND NOT (los IS NULL) AND ward IS NOT NULL$q$);
SELECT smpc.check_query('admissions',
  $q$SELECT count(*) FROM admissions WHERE age BETWEEN 18 AND 65 AND ward LIKE 'a%'
     AND ward NOT ILIKE '%x' AND ward <> ALL (ARRAY['c', 'd'])$q$);
SELECT smpc.check_query('admissions',
  $q$SELECT sum(age::numeric), sum(CASE WHEN los > 2 THEN 1 ELSE 0 END),
            sum(coalesce(los, 0)), count(nullif(ward, 'a')), sum(greatest(age, 0))
       FROM admissions WHERE age >= '65'::int AND age::text <> '' AND age IS DISTINCT FROM 3$q$);
SELECT smpc.check_query('admissions',
  $q$SELECT pg_catalog.lower(ward) AS w, pg_catalog.count(*) FROM admissions
     WHERE ward COLLATE "C" > 'a' AND age OPERATOR(pg_catalog.>) 1
       AND CAST(los AS pg_catalog.int8) > 1 GROUP BY w$q$);
-- dataset-qualified columns, GROUP BY position, the name in any case
SELECT smpc.check_query('admissions',
  $q$SELECT admissions.ward, sum(admissions.los) FROM ADMISSIONS GROUP BY 1$q$);
SELECT smpc.check_query('admissions', $q$SELECT count(*) FROM "admissions" WHERE age > 1;$q$);
SELECT smpc.check_query('admissions', $q$SELECT ward FROM ONLY admissions GROUP BY ward$q$);
SELECT smpc.check_query('Adm.2024', $q$SELECT count(age) FROM "Adm.2024"$q$);
SELECT smpc.check_query('odd', $q$SELECT count(*) FROM odd /* comment */ WHERE age > 0$q$);
SELECT smpc.check_query('admissions',
  'SELECT count(*) FROM admissions WHERE ' || repeat('(', 20) || 'age > 1' || repeat(')', 20));
-- the caller's role and search_path are back afterwards
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions') IS NOT NULL AS ok,
       current_setting('search_path') AS search_path, current_user;
-- Search path shadowing: analyzed with search_path "pg_catalog, pg_temp",
-- lower() and round() are the built-in ones (public's would be refused as
-- not built-in) ...
SELECT smpc.check_query('admissions',
  $q$SELECT lower(ward), count(*), sum(round(age)) FROM admissions GROUP BY 1$q$) AS q \gset
\echo :q
-- ... and so is what the member runs, as the publisher with that path:
SET ROLE regress_policy_pub;
SET search_path = pg_catalog, pg_temp;
:q;
RESET search_path;
RESET ROLE;
SELECT count(*) AS log_rows FROM policy_log;
-- whereas under the default search_path round(age) is public.round:
BEGIN;
SELECT sum(round(age)) FROM policy_admissions;
SELECT what FROM policy_log;
ROLLBACK;

-- Refused: statements and clauses.
SELECT smpc.check_query('admissions', '');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions; DROP TABLE policy_log');
SELECT smpc.check_query('admissions', 'INSERT INTO policy_log VALUES (1)');
SELECT smpc.check_query('admissions', 'UPDATE admissions SET age = 1');
SELECT smpc.check_query('admissions', 'DELETE FROM admissions');
SELECT smpc.check_query('admissions', 'COPY policy_log FROM PROGRAM ''id''');
SELECT smpc.check_query('admissions', 'DO $$BEGIN PERFORM 1; END$$');
SELECT smpc.check_query('admissions', 'SET search_path = public');
SELECT smpc.check_query('admissions', 'SELECT count(*) INTO policy_x FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions FOR UPDATE');
SELECT smpc.check_query('admissions', 'WITH t AS (SELECT 1) SELECT count(*) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions UNION SELECT 1');
SELECT smpc.check_query('admissions', 'VALUES (1)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions LIMIT 1');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions OFFSET 1');
SELECT smpc.check_query('admissions', 'SELECT ward, count(*) FROM admissions GROUP BY ward ORDER BY 2');
SELECT smpc.check_query('admissions', 'SELECT DISTINCT count(*) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT ward, count(*) FROM admissions GROUP BY ward HAVING count(*) > 5');
SELECT smpc.check_query('admissions', 'SELECT ward, count(*) FROM admissions GROUP BY ROLLUP (ward)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions GROUP BY GROUPING SETS ((ward), ())');
SELECT smpc.check_query('admissions', 'SELECT age FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE');
-- (parser errors point into the query as received, not the final SQL)
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age > ''abc''');
SELECT smpc.check_query('admissions', 'SELECT los, count(*) FROM admissions GROUP BY ward');

-- Refused: other relations.
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM pg_authid');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM pg_catalog.pg_class');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM public.admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM policy_admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM "Admissions"');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions, policy_log');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions, admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions JOIN admissions b USING (age)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM (SELECT * FROM policy_admissions) s');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM generate_series(1, 10)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions a');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions TABLESAMPLE bernoulli (10)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM U&"admissions"');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age > (SELECT 1)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE EXISTS (SELECT 1 FROM pg_authid)');
SELECT smpc.check_query('admissions', 'SELECT (SELECT count(*) FROM pg_authid) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age = ANY (SELECT 1)');

-- Refused: columns.
SELECT smpc.check_query('admissions', 'SELECT count(secret) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE secret = ''s1''');
SELECT smpc.check_query('admissions', 'SELECT count(no_such_column) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(admissions) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(admissions.*) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT * FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(ctid) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE xmin::text = ''1''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE policy_admissions.age > 1');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE admissions.ward.x = 1');
SELECT smpc.check_query('admissions', 'SELECT age, count(*) FROM admissions GROUP BY age');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions GROUP BY age > 65');

-- Refused: functions and operators that are not built-in and immutable.
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE pg_sleep(10) IS NULL');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE pg_catalog.pg_sleep(10) IS NULL');
SELECT smpc.check_query('admissions', 'SELECT sum(random()) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE now() > ''2020-01-01''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE clock_timestamp() IS NULL');
SELECT smpc.check_query('admissions', 'SELECT sum(nextval(''public.policy_seq'')) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT sum(setval(''public.policy_seq'', 100)) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(pg_read_file(''/etc/passwd'')) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*), pg_ls_dir(''.'') FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(lo_import(''/etc/passwd'')) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE dblink(''host=evil'', ''SELECT 1'') IS NULL');
SELECT smpc.check_query('admissions', 'SELECT sum(txid_current()) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(set_config(''search_path'', ''public'', false)) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE pg_terminate_backend(1)');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE current_user = ''postgres''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE session_user = ''postgres''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE current_setting(''is_superuser'') = ''on''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ward::date > ''2020-01-01''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ''2024-01-01''::timestamptz + ''1 day''::interval > ''2024-01-01''');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ''pg_authid''::regclass = 1260');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age::regclass::oid > 0');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ROW(age, los) IS NULL');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE (ARRAY[age])[1] > 1');
SELECT smpc.check_query('admissions', 'SELECT count(xmlelement(name x)) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age > $1');

-- Refused: user-defined objects, qualified or shadowing.
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE public.evil()');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE evil()');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age OPERATOR(public.===) 1');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE age === 1');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ward = ''x''::public.evilt');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE CAST(ward AS public.evilt) IS NULL');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ward = ''x''::evilt');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE ward COLLATE public.evilc > ''a''');
SELECT smpc.check_query('admissions', 'SELECT public.lower(ward), count(*) FROM admissions GROUP BY 1');
SELECT smpc.check_query('admissions', 'SELECT sum(public.round(age)) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM admissions WHERE information_schema._pg_truetypid(NULL, NULL) > 0');

-- Refused: aggregates other than count and sum, and their options.
SELECT smpc.check_query('admissions', 'SELECT avg(los) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT string_agg(ward, '','') FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT array_agg(age) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT max(age) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT sum(''1 day''::interval) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(DISTINCT ward) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT sum(los) FILTER (WHERE age > 65) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(ward ORDER BY ward) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY los) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) OVER () FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT ward, GROUPING(ward) FROM admissions GROUP BY ward');

-- Refused: size and nesting.
SELECT smpc.check_query('admissions',
  'SELECT count(*) FROM admissions WHERE ' || repeat('age > 1 AND ', 6000) || 'true');
SELECT smpc.check_query('admissions',
  'SELECT count(*) FROM admissions WHERE ' || repeat('(', 200) || 'age > 1' || repeat(')', 200));
SELECT smpc.check_query('admissions',
  'SELECT count(*) FROM admissions WHERE ' || repeat('NOT ', 150) || 'age > 1');
SELECT smpc.check_query('admissions',
  'SELECT sum(' || repeat('age + ', 150) || 'age) FROM admissions');

-- Refused: names that are not datasets, and the dataset named in SQL.
SELECT smpc.check_query('x"; DROP TABLE policy_admissions; --', 'SELECT count(*) FROM admissions');
SELECT smpc.check_query('admissions', 'SELECT count(*) FROM "x""; DROP TABLE policy_admissions; --"');
SELECT smpc.check_query(NULL, 'SELECT 1');

-- The statistics family: members run counts and sums of squares and
-- products (the querying node computes the statistic), never var_samp or
-- corr themselves; smpc_sum over an array is the element-wise sum.
SELECT smpc.check_query('admissions',
  $q$SELECT ward, count(age), sum(age), sum((CAST(age AS bigint) * CAST(age AS bigint))),
            count(CASE WHEN (los IS NOT NULL) THEN CAST(CAST(age AS double precision) AS numeric) ELSE NULL::numeric END),
            sum((CAST(los AS numeric) * CAST(los AS numeric)))
       FROM admissions GROUP BY ward$q$);
SELECT smpc.check_query('admissions', $q$SELECT smpc_sum(ARRAY[age::float8, los::float8]) FROM admissions$q$);
SELECT smpc.check_query('admissions', $q$SELECT var_samp(age) FROM admissions$q$);
SELECT smpc.check_query('admissions', $q$SELECT corr(age, los) FROM admissions$q$);
-- a shadow of smpc_sum in public is never what a dataset query calls
CREATE FUNCTION public.smpc_sum(float8[]) RETURNS float8[] LANGUAGE sql
  AS $$ INSERT INTO policy_log VALUES ('smpc_sum'); SELECT $1 $$;
SELECT smpc.check_query('admissions', $q$SELECT public.smpc_sum(ARRAY[age::float8]) FROM admissions$q$);
DROP FUNCTION public.smpc_sum(float8[]);

-- Nothing above ran: the log is empty, the table intact.
SELECT count(*) AS log_rows FROM policy_log;
SELECT count(*) AS admissions_rows FROM policy_admissions;

-- A dataset published by a superuser is refused.
SELECT smpc.publish('su_data', 'policy_admissions', '{age}');
SELECT smpc.check_query('su_data', 'SELECT count(*) FROM su_data');

-- Clean up.
SELECT smpc.withdraw(d) FROM unnest(ARRAY['admissions', 'Adm.2024', 'odd', 'su_data']) d;
DROP FUNCTION public.lower(text), public.round(int);
DROP COLLATION public.evilc;
DROP DOMAIN public.evilt;
DROP FUNCTION public.evil_check(text);
DROP OPERATOR public.=== (int, int);
DROP FUNCTION public.evil_eq(int, int), public.evil();
DROP SEQUENCE policy_seq;
DROP TABLE policy_log;
DROP OWNED BY regress_policy_pub;
DROP ROLE regress_policy_pub;
DROP EXTENSION smpc;
