-- Planning joint aggregates (src/planner.c): which queries over a federated
-- table become a joint aggregate, the dataset SQL members are sent (EXPLAIN
-- VERBOSE; nothing is executed, no member is contacted), and the errors for
-- everything else.
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS smpc;
RESET client_min_messages;
SELECT public_key AS node_key FROM smpc.init_node('regress_node', force => true) \gset

CREATE SERVER jp_m1 FOREIGN DATA WRAPPER smpc OPTIONS (host 'm1.invalid', node_key :'node_key');
CREATE SERVER jp_m2 FOREIGN DATA WRAPPER smpc OPTIONS (host 'm2.invalid', node_key :'node_key');
CREATE SERVER jp_fed FOREIGN DATA WRAPPER smpc OPTIONS (members 'jp_m1, jp_m2');
CREATE FOREIGN TABLE jp_adm (age int, los numeric(6,1), ward text, cost float8, big int8)
  SERVER jp_fed OPTIONS (dataset 'admissions');
CREATE TABLE jp_local (ward text, x int);
INSERT INTO jp_local VALUES ('a', 1), ('b', 2);

-- joint aggregates, with the dataset SQL each party runs
EXPLAIN (VERBOSE, COSTS OFF) SELECT smpc_count(*) FROM jp_adm;
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT ward, smpc_avg(los), count(*), sum(age) FROM jp_adm WHERE age >= 65 GROUP BY ward ORDER BY 2 DESC;
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT sum(cost), avg(big), count(ward) FROM jp_adm
   WHERE ward IN ('a', 'b') AND NOT (age BETWEEN 10 AND 20) AND ward LIKE 'w%'
     AND los IS NOT NULL AND (cost > 1.5 OR big IS NULL) AND age::text <> '3';
-- expressions over aggregates and HAVING run locally on top
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT ward, sum(age) / count(*) AS per_row FROM jp_adm GROUP BY ward HAVING avg(los) > 2 LIMIT 3;
-- parameters of prepared statements: shown as $n, sent as literals
PREPARE jp_q(int, text) AS SELECT count(*) FROM jp_adm WHERE age > $1 AND ward = $2;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE jp_q(40, 'x');
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE jp_q(40, 'x');
RESET plan_cache_mode;
-- in a view and a CTE
CREATE VIEW jp_view AS SELECT ward, smpc_sum(age) AS total FROM jp_adm GROUP BY ward;
EXPLAIN (COSTS OFF) SELECT * FROM jp_view WHERE total > 10;
EXPLAIN (COSTS OFF)
  WITH t AS (SELECT ward, count(*) AS n FROM jp_adm GROUP BY ward)
  SELECT l.ward, t.n FROM jp_local l JOIN t USING (ward);

-- errors, each with a hint
-- (default verbosity shows DETAIL and HINT; SQLSTATEs are checked in the TAP tests)
SELECT * FROM jp_adm;
SELECT age FROM jp_adm WHERE ward = 'a';
SELECT smpc_sum(x) FROM jp_local;
SELECT ward, smpc_count(*) FROM jp_local GROUP BY ward;
SELECT count(*) FROM jp_adm a JOIN jp_local l USING (ward);
SELECT count(DISTINCT age) FROM jp_adm;
SELECT max(age) FROM jp_adm;
SELECT sum(age) FILTER (WHERE los > 1) FROM jp_adm;
SELECT age / 10, count(*) FROM jp_adm GROUP BY age / 10;
SELECT ward, count(*) FROM jp_adm GROUP BY ROLLUP (ward);
SELECT count(*) FROM jp_adm WHERE age > (SELECT max(x) FROM jp_local);
SELECT count(*) FROM jp_adm WHERE random() > 0.5;
SELECT age, count(*) OVER () FROM jp_adm;

-- private set intersection: the dataset SQL selects the key, grouped by
EXPLAIN (VERBOSE, COSTS OFF) SELECT smpc_intersect_count(ward) FROM jp_adm WHERE age > 40;
EXPLAIN (VERBOSE, COSTS OFF) SELECT smpc_intersect_count(big) * 2 AS twice FROM jp_adm;
SELECT ward, smpc_intersect_count(big) FROM jp_adm GROUP BY ward;
SELECT smpc_intersect_count(big), count(*) FROM jp_adm;
SELECT smpc_intersect_count(big + 1) FROM jp_adm;
SELECT smpc_intersect_count(big) FROM jp_adm HAVING count(*) > 1;
SELECT smpc_intersect_count(x) FROM jp_local;

-- the statistics family: the sufficient statistics join the other values
-- of the same session (int4 squares as bigint, numeric(6,1) at scale 2,
-- floats as numeric; pairs only where both are non-null)
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT ward, var_samp(age), stddev_pop(los), smpc_variance(cost), count(*) FROM jp_adm GROUP BY ward;
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT corr(cost, age), smpc_regr_slope(cost, age), regr_count(cost, age), var_pop(big) FROM jp_adm;
-- the same statistic twice, and sum(age) next to var_samp(age), share values
EXPLAIN (VERBOSE, COSTS OFF)
  SELECT sum(age), var_samp(age), stddev_samp(age), smpc_var_pop(age) FROM jp_adm;
SELECT var_samp(los::numeric(30,16)) FROM jp_adm;
SELECT smpc_var_samp(x) FROM jp_local;
SELECT smpc_corr(x, x) FROM jp_local;
SELECT var_samp(DISTINCT age) FROM jp_adm;

-- element-wise vector sums: members run smpc_sum over the array themselves
CREATE FOREIGN TABLE jp_vec (g int, w float8[], v numeric(10,3)[], i int[])
  SERVER jp_fed OPTIONS (dataset 'updates');
EXPLAIN (VERBOSE, COSTS OFF) SELECT g, smpc_sum(w), smpc_sum(v), count(*) FROM jp_vec GROUP BY g;
-- integer arrays: ambiguous between the two array forms; cast them
SELECT smpc_sum(i) FROM jp_vec;
SELECT sum(w) FROM jp_vec;
SELECT smpc_sum(ARRAY[x::float8]) FROM jp_local;
DROP FOREIGN TABLE jp_vec;

DROP VIEW jp_view;
DROP TABLE jp_local;
DROP FOREIGN TABLE jp_adm;
DROP SERVER jp_fed, jp_m1, jp_m2;
