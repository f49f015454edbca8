/* smpc--0.1.sql: objects of the smpc extension, all in schema smpc.
 * Built by concatenating the files of src/sql in name order; edit those. */

\echo Use "CREATE EXTENSION smpc" to load this file. \quit

-- The schema belongs to the extension, so DROP EXTENSION removes it too.
-- Everything below is created in it (CREATE EXTENSION restores search_path).
CREATE SCHEMA smpc;
SET LOCAL search_path = smpc, pg_catalog;

CREATE FUNCTION version()
RETURNS text
AS 'MODULE_PATHNAME', 'smpc_version'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

COMMENT ON FUNCTION version() IS 'smpc extension and wire protocol version';

GRANT USAGE ON SCHEMA smpc TO PUBLIC;
