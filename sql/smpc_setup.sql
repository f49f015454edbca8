-- The extension creates and owns schema smpc, and is preloaded.
CREATE EXTENSION smpc;
-- the install script's search_path does not leak into the session
SHOW search_path;
SELECT extname, extversion FROM pg_extension WHERE extname = 'smpc';
-- outside schema smpc: only the joint aggregates, in pg_catalog
SELECT p.oid::regprocedure AS outside_smpc, p.prokind, p.prorettype::regtype
  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'smpc')
   AND p.pronamespace <> 'smpc'::regnamespace
 ORDER BY p.oid;
SELECT smpc.version() ~ '^smpc [0-9.]+ \(protocol [0-9]+\)$' AS version_ok;
SHOW shared_preload_libraries;
SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc
  FROM pg_foreign_data_wrapper WHERE fdwname = 'smpc';
-- Dropping leaves nothing behind, and it can be created again.
DROP EXTENSION smpc;
SELECT count(*) AS leftover_schema FROM pg_namespace WHERE nspname = 'smpc';
SELECT count(*) AS leftover_wrapper FROM pg_foreign_data_wrapper WHERE fdwname = 'smpc';
CREATE EXTENSION smpc;
DROP EXTENSION smpc;
