/* --- the foreign-data wrapper (src/option.c, src/fdw.c) --- */

CREATE FUNCTION fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'smpc_fdw_validator'
LANGUAGE C STRICT;

CREATE FUNCTION fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'smpc_fdw_handler'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER smpc
  HANDLER fdw_handler
  VALIDATOR fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER smpc IS
  'smpc members (servers with node_key), federations (servers with members) and federated datasets (foreign tables)';

/* --- the member entry point (src/member.c) --- */

CREATE FUNCTION exchange(request bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'smpc_exchange'
LANGUAGE C STRICT VOLATILE;

REVOKE ALL ON FUNCTION exchange(bytea) FROM PUBLIC;

COMMENT ON FUNCTION exchange(bytea) IS
  'entry point other members call; GRANT EXECUTE to the role peers log in as';

/* --- health of the federation (src/status.c) --- */

CREATE FUNCTION federation_status(federation text DEFAULT NULL,
    OUT federation text, OUT member text, OUT reachable boolean, OUT tls boolean,
    OUT version text, OUT key_matches boolean, OUT rtt_ms double precision,
    OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'smpc_federation_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION federation_status(text) IS
  'ping every member of a federation (or of all): reachability, TLS, version, pinned key, round-trip time';
