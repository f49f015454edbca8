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
