/* --- audit log (src/audit.c) --- */

CREATE TABLE audit_log (
    audit_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    session_id         bytea NOT NULL CHECK (length(session_id) = 16),
    node_role          text NOT NULL CHECK (node_role IN ('querying', 'member')),
    federation         text,
    initiator_node     text,
    initiator_role     text,
    dataset            text,
    dataset_sql        text,
    participants       text[],
    outcome            text NOT NULL
        CHECK (outcome IN ('success', 'failed', 'refused', 'incomplete')),
    error              text,
    result_digest      bytea CHECK (length(result_digest) = 32),
    unfinished_members text[]
);

CREATE INDEX audit_log_recorded_at_idx ON audit_log (recorded_at);
CREATE INDEX audit_log_session_id_idx ON audit_log (session_id);

COMMENT ON TABLE audit_log IS
  'append-only record of every joint query this node took part in';
COMMENT ON COLUMN audit_log.node_role IS
  'querying: this node ran the query; member: this node contributed to it';
COMMENT ON COLUMN audit_log.initiator_role IS
  'the role the querying node says ran the query';
COMMENT ON COLUMN audit_log.result_digest IS
  'digest of the revealed result, never the result itself';
COMMENT ON COLUMN audit_log.unfinished_members IS
  'members that did not finish the protocol';

CREATE FUNCTION audit_log_append_only()
RETURNS trigger
AS 'MODULE_PATHNAME', 'smpc_audit_log_append_only'
LANGUAGE C;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- also under session_replication_role = replica
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;

SELECT pg_catalog.pg_extension_config_dump('audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_log_audit_id_seq', '');

-- Records are written by smpc as the extension owner; monitoring roles read.
REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT ON audit_log TO pg_read_all_stats;
