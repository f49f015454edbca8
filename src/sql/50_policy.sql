/* --- member-side policy of dataset queries (src/policy.c) --- */

CREATE FUNCTION check_query(dataset_name text, sql text)
RETURNS text
AS 'MODULE_PATHNAME', 'smpc_check_query'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION check_query(text, text) IS
  'dry run of the member-side policy: the SQL this node would run for a dataset query, or why it refuses it; executes nothing';

-- The answer names the local relation of the dataset: for DBAs.
REVOKE ALL ON FUNCTION check_query(text, text) FROM PUBLIC;
