/* --- joint aggregates (src/planner.c, src/joint.c) --- */

-- smpc_sum, smpc_count and smpc_avg are computed by the federation: over a
-- federated table the planner replaces them (and plain sum/count/avg) with
-- a joint query.  Evaluated anywhere else they raise an error, so that a
-- local table never yields a silent local result.  They live in pg_catalog
-- so that analysts can write them unqualified, like sum and avg.

CREATE FUNCTION local_aggregate_step(int8, "any")
RETURNS int8
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION local_aggregate_step(int8)
RETURNS int8
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION local_aggregate_int8(int8) RETURNS int8
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION local_aggregate_numeric(int8) RETURNS numeric
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION local_aggregate_float4(int8) RETURNS float4
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION local_aggregate_float8(int8) RETURNS float8
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pg_catalog.smpc_sum(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);
CREATE AGGREGATE pg_catalog.smpc_sum(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);
CREATE AGGREGATE pg_catalog.smpc_sum(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_sum(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_sum(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float4);
CREATE AGGREGATE pg_catalog.smpc_sum(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_avg(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_avg(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_avg(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_avg(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_avg(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_avg(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_count(*) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);
CREATE AGGREGATE pg_catalog.smpc_count("any") (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);

COMMENT ON AGGREGATE pg_catalog.smpc_sum(int4) IS
  'joint sum over a federated table (secure multi-party computation)';
COMMENT ON AGGREGATE pg_catalog.smpc_count(*) IS
  'joint row count over a federated table (secure multi-party computation)';
COMMENT ON AGGREGATE pg_catalog.smpc_avg(int4) IS
  'joint average over a federated table (secure multi-party computation); reveals the joint sum and count';


/*
 * The statistics family (src/planner.c, src/joint.c): var_samp, var_pop,
 * stddev_samp, stddev_pop (and variance, stddev), covar_samp, covar_pop,
 * corr and the regr_* aggregates are computed jointly over a federated
 * table under their standard names; the smpc_ twins below say so in the
 * query and refuse local evaluation, like smpc_sum.
 */
CREATE FUNCTION local_aggregate_step(int8, "any", "any")
RETURNS int8
AS 'MODULE_PATHNAME', 'smpc_local_aggregate_refused'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pg_catalog.smpc_var_samp(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_samp(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_samp(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_samp(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_samp(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_var_samp(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_var_pop(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_pop(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_pop(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_pop(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_var_pop(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_var_pop(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_variance(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_variance(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_variance(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_variance(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_variance(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_variance(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_stddev_samp(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_samp(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_samp(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_samp(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_samp(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_stddev_samp(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_stddev_pop(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_pop(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_pop(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_pop(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev_pop(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_stddev_pop(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_stddev(int2) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev(int4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev(int8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev(numeric) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_numeric);
CREATE AGGREGATE pg_catalog.smpc_stddev(float4) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_stddev(float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);

CREATE AGGREGATE pg_catalog.smpc_covar_samp(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_covar_pop(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_corr(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_slope(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_intercept(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_r2(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_sxx(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_syy(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_sxy(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_avgx(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_avgy(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_float8);
CREATE AGGREGATE pg_catalog.smpc_regr_count(float8, float8) (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);

COMMENT ON AGGREGATE pg_catalog.smpc_var_samp(float8) IS
  'joint sample variance over a federated table; reveals the joint count, sum and sum of squares';
COMMENT ON AGGREGATE pg_catalog.smpc_stddev_samp(float8) IS
  'joint sample standard deviation over a federated table; reveals the joint count, sum and sum of squares';
COMMENT ON AGGREGATE pg_catalog.smpc_corr(float8, float8) IS
  'joint correlation over a federated table; reveals the joint count, sums, sums of squares and sum of products';
COMMENT ON AGGREGATE pg_catalog.smpc_regr_slope(float8, float8) IS
  'joint regression slope over a federated table; reveals the joint count, sums, sums of squares and sum of products';

/*
 * Element-wise sums of arrays (src/vector.c).  Dataset queries call
 * smpc_sum over an array themselves (PostgreSQL has no element-wise sum);
 * anywhere else it refuses, like the other smpc_ aggregates.
 */
CREATE FUNCTION smpc_vector_accum(internal, float8[]) RETURNS internal
AS 'MODULE_PATHNAME', 'smpc_vector_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION smpc_vector_accum(internal, numeric[]) RETURNS internal
AS 'MODULE_PATHNAME', 'smpc_vector_accum' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION smpc_vector_final_float8(internal) RETURNS float8[]
AS 'MODULE_PATHNAME', 'smpc_vector_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION smpc_vector_final_numeric(internal) RETURNS numeric[]
AS 'MODULE_PATHNAME', 'smpc_vector_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE pg_catalog.smpc_sum(float8[]) (SFUNC = smpc_vector_accum, STYPE = internal, FINALFUNC = smpc_vector_final_float8);
CREATE AGGREGATE pg_catalog.smpc_sum(numeric[]) (SFUNC = smpc_vector_accum, STYPE = internal, FINALFUNC = smpc_vector_final_numeric);

COMMENT ON AGGREGATE pg_catalog.smpc_sum(float8[]) IS
  'joint element-wise sum of equal-length arrays over a federated table; reveals the array length';

/* what the last joint query of this session cost, per party */
CREATE FUNCTION last_session_stats(OUT party text, OUT node_role text,
                                   OUT bytes_sent bigint, OUT bytes_received bigint,
                                   OUT rounds int, OUT elapsed_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'smpc_last_session_stats'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION last_session_stats() IS
  'per party of the last joint query in this session: bytes it sent and received, rounds, time';

/* private set intersection cardinality (src/psi.c, src/joint.c) */
CREATE AGGREGATE pg_catalog.smpc_intersect_count("any") (SFUNC = local_aggregate_step, STYPE = int8, FINALFUNC = local_aggregate_int8);

COMMENT ON AGGREGATE pg_catalog.smpc_intersect_count("any") IS
  'number of distinct keys present in every member''s dataset of a federated table (private set intersection); reveals every member''s set size';
