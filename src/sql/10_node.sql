/* --- node identity (src/node.c) --- */

CREATE FUNCTION init_node(node_name text, force boolean DEFAULT false,
                          OUT node_name text, OUT public_key text, OUT fingerprint text)
RETURNS record
AS 'MODULE_PATHNAME', 'smpc_init_node'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION init_node(text, boolean) FROM PUBLIC;

COMMENT ON FUNCTION init_node(text, boolean) IS
  'create this node''s smpc identity (key pairs in a 0600 file in the data directory); superuser only';

CREATE FUNCTION node(OUT node_name text, OUT public_key text, OUT fingerprint text)
RETURNS record
AS 'MODULE_PATHNAME', 'smpc_node_info'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION node() IS
  'this node''s name, public key (to pin as node_key on other members) and fingerprint';
