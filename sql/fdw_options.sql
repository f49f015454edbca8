-- Options of the smpc wrapper: member servers, federation servers, user
-- mappings and federated tables (src/option.c).  Independent of the other
-- files: it creates the extension and drops everything it creates.
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS smpc;
RESET client_min_messages;

-- A valid node key: this node's own.  Keys are random, so the key is kept in
-- a psql variable and never printed.  force => true: other files may have
-- created the identity already.
SELECT public_key AS node_key FROM smpc.init_node('regress_node', force => true) \gset
SELECT node_name, length(:'node_key') AS key_length FROM smpc.node();

-- Member servers.
CREATE SERVER fdo_m1 FOREIGN DATA WRAPPER smpc
  OPTIONS (host 'localhost', port '5432', dbname 'research', node_key :'node_key');
CREATE SERVER fdo_m2 FOREIGN DATA WRAPPER smpc
  OPTIONS (host 'm2.example', sslmode 'verify-full', node_key :'node_key');
-- node_key is required
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (host 'localhost');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc;
-- and must be well formed: wrong prefix, wrong length, bad characters,
-- non-canonical base64, and the right form but not a valid public key
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (node_key 'ssh-ed25519 AAAA');
SELECT :'node_key' || 'A' AS bad_key \gset
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (node_key :'bad_key');
SELECT 'smpc1:' || repeat('!', 86) AS bad_key \gset
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (node_key :'bad_key');
SELECT 'smpc1:' || repeat('_', 86) AS bad_key \gset
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (node_key :'bad_key');
SELECT 'smpc1:' || repeat('A', 86) AS bad_key \gset
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (node_key :'bad_key');
-- Unknown options list the valid ones.  A server's list includes libpq's
-- connection options, which vary with the libpq version, so only some of them
-- are checked.
CREATE FUNCTION fdo_error(command text, listed text[], unlisted text[],
                          OUT state text, OUT message text,
                          OUT hint_lists_all boolean, OUT hint_lists_none boolean)
LANGUAGE plpgsql AS $$
DECLARE
  hint text;
  valid text[];
BEGIN
  EXECUTE command;
  message := 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                          hint = PG_EXCEPTION_HINT;
  valid := string_to_array(rtrim(substring(hint FROM ': (.*)$'), '.'), ', ');
  hint_lists_all := valid @> listed;
  hint_lists_none := NOT valid && unlisted;
END
$$;
\set server_options '{host,port,dbname,sslmode,node_key,members,threshold,min_members,min_group_size,member_timeout}'
\set mapping_options '{user,password,sslcert,sslkey}'
\set other_options '{replication,client_encoding,dataset}'
SELECT * FROM fdo_error($$CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
                          OPTIONS (hostname 'localhost')$$,
                        :'server_options', :'mapping_options' || :'other_options'::text[]);
-- credentials belong on user mappings
SELECT * FROM fdo_error($$CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
                          OPTIONS (password 'secret')$$,
                        :'server_options', :'mapping_options' || :'other_options'::text[]);
-- federation options on a member server
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
  OPTIONS (node_key :'node_key', threshold '1');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
  OPTIONS (node_key :'node_key', min_group_size '10');

-- Federation servers.
CREATE SERVER fdo_fed FOREIGN DATA WRAPPER smpc
  OPTIONS (members 'fdo_m1, fdo_m2', threshold '1', min_members '3',
           min_group_size '10', member_timeout '45s');
-- members are resolved when used, so unknown names are fine here
CREATE SERVER fdo_fed2 FOREIGN DATA WRAPPER smpc OPTIONS (members 'later_member');
-- connection options and node_key belong on the member servers
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
  OPTIONS (members 'fdo_m1', host 'localhost');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc
  OPTIONS (members 'fdo_m1', node_key :'node_key');
-- members: a list of distinct names
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1,fdo_m1');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1, FDO_M1');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members '');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1,,fdo_m2');
SELECT string_agg('m' || i, ',') AS many FROM generate_series(1, 64) i \gset
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members :'many');
-- numeric settings
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', threshold '-1');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', threshold '64');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', threshold 'one');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', min_members '1');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', min_members '65');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', min_group_size '0');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', member_timeout '50ms');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', member_timeout '2h');
CREATE SERVER fdo_bad FOREIGN DATA WRAPPER smpc OPTIONS (members 'fdo_m1', member_timeout '30 parsecs');
-- the boundaries are accepted
CREATE SERVER fdo_edge FOREIGN DATA WRAPPER smpc
  OPTIONS (members 'fdo_m1', threshold '1', min_members '2', min_group_size '1',
           member_timeout '100ms');
ALTER SERVER fdo_edge OPTIONS (SET threshold '63', SET min_members '64',
                               SET member_timeout '1h');
SELECT count(*) AS bad_servers FROM pg_foreign_server WHERE srvname = 'fdo_bad';

-- ALTER SERVER validates the complete new option list.
ALTER SERVER fdo_m1 OPTIONS (SET node_key 'not a key');
ALTER SERVER fdo_m1 OPTIONS (DROP node_key);
ALTER SERVER fdo_m1 OPTIONS (ADD threshold '1');
ALTER SERVER fdo_m1 OPTIONS (ADD members 'fdo_m2');
ALTER SERVER fdo_fed OPTIONS (SET threshold '99');
ALTER SERVER fdo_fed OPTIONS (DROP members);
ALTER SERVER fdo_fed OPTIONS (ADD host 'localhost');
ALTER SERVER fdo_fed OPTIONS (SET members 'fdo_m2,fdo_m2');
-- valid changes
ALTER SERVER fdo_m1 OPTIONS (SET port '5433', ADD application_name 'smpc');
ALTER SERVER fdo_fed OPTIONS (SET members 'fdo_m2', DROP threshold);
SELECT srvname, srvoptions FROM pg_foreign_server
 WHERE srvname LIKE 'fdo_fed%' OR srvname = 'fdo_edge' ORDER BY srvname;

-- User mappings carry the credentials, and nothing else.
CREATE USER MAPPING FOR PUBLIC SERVER fdo_m1 OPTIONS (user 'smpc_peer', password 'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER fdo_m1 OPTIONS (user 'smpc_peer2');
SELECT * FROM fdo_error($$CREATE USER MAPPING FOR PUBLIC SERVER fdo_m2
                          OPTIONS (host 'localhost')$$,
                        :'mapping_options', :'server_options' || :'other_options'::text[]);
SELECT * FROM fdo_error($$CREATE USER MAPPING FOR PUBLIC SERVER fdo_m2
                          OPTIONS (node_key 'x')$$,
                        :'mapping_options', :'server_options' || :'other_options'::text[]);
SELECT * FROM fdo_error($$CREATE USER MAPPING FOR PUBLIC SERVER fdo_m2
                          OPTIONS (dataset 'admissions')$$,
                        :'mapping_options', :'server_options' || :'other_options'::text[]);
SELECT * FROM fdo_error($$ALTER USER MAPPING FOR PUBLIC SERVER fdo_m1
                          OPTIONS (ADD dbname 'research')$$,
                        :'mapping_options', :'server_options' || :'other_options'::text[]);
ALTER USER MAPPING FOR PUBLIC SERVER fdo_m1 OPTIONS (SET password 'other');
SELECT count(*) AS user_mappings FROM pg_user_mappings WHERE srvname LIKE 'fdo_%';

-- Federated tables name a dataset.
CREATE FOREIGN TABLE fdo_admissions (age int, ward text) SERVER fdo_fed
  OPTIONS (dataset 'admissions');
CREATE FOREIGN TABLE fdo_bad (age int) SERVER fdo_fed;
CREATE FOREIGN TABLE fdo_bad (age int) SERVER fdo_fed OPTIONS (dataset 'bad name');
CREATE FOREIGN TABLE fdo_bad (age int) SERVER fdo_fed
  OPTIONS (dataset 'admissions', table_name 'admissions');
ALTER FOREIGN TABLE fdo_admissions OPTIONS (DROP dataset);
ALTER FOREIGN TABLE fdo_admissions OPTIONS (SET dataset 'discharges');
-- columns take no options
ALTER FOREIGN TABLE fdo_admissions ALTER COLUMN age OPTIONS (column_name 'years');
-- nor does the wrapper itself
ALTER FOREIGN DATA WRAPPER smpc OPTIONS (ADD debug 'on');
SELECT relname, ftoptions FROM pg_foreign_table JOIN pg_class ON oid = ftrelid
 WHERE relname LIKE 'fdo_%';

-- Clean up.
DROP FOREIGN TABLE fdo_admissions;
DROP USER MAPPING FOR PUBLIC SERVER fdo_m1;
DROP USER MAPPING FOR CURRENT_USER SERVER fdo_m1;
DROP SERVER fdo_fed, fdo_fed2, fdo_edge, fdo_m1, fdo_m2;
DROP FUNCTION fdo_error(text, text[], text[]);
DROP EXTENSION smpc;
