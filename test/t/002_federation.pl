# A three-member federation configured with SQL only (the README's
# walk-through), its health check, IMPORT FOREIGN SCHEMA, and the member's
# refusals: wrong pinned key, unknown node, replayed / tampered / wrong-version
# requests, unpublished dataset, column type mismatch.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;
use MIME::Base64 ();

my @names = qw(st_marys city county);
my @nodes = start_members(3, names => \@names,
	conf => "log_min_duration_statement = 0\nlog_parameter_max_length = -1\n");
my %node = map { $names[$_] => $nodes[$_] } 0 .. 2;

# --- once per member: identity, peer role, data, publication -------------
my %key;
for my $name (@names)
{
	my $n = $node{$name};
	my $row = $n->safe_psql('postgres',
		"SELECT node_name || '|' || public_key || '|' || fingerprint FROM smpc.init_node('$name')");
	my ($nn, $pk, $fp) = split /\|/, $row;
	is($nn, $name, "$name: init_node names the node");
	like($pk, qr/^smpc1:[A-Za-z0-9_-]{86}$/, "$name: public key in text form");
	like($fp, qr/^[0-9a-f]{4}(-[0-9a-f]{4}){7}$/, "$name: fingerprint");
	$key{$name} = $pk;

	my $mode = sprintf('%04o', (stat($n->data_dir . '/smpc_node.key'))[2] & 07777);
	is($mode, '0600', "$name: key file is 0600");

	$n->safe_psql('postgres', q{
		CREATE ROLE smpc_peer LOGIN PASSWORD 'peer-secret';
		GRANT EXECUTE ON FUNCTION smpc.exchange(bytea) TO smpc_peer;
		CREATE SCHEMA clinical;
		CREATE TABLE clinical.admissions (age int, los numeric, ward text, secret text);
		INSERT INTO clinical.admissions
		  SELECT 20 + g % 70, (g % 9) + 0.5, 'ward' || (g % 3), 'x' FROM generate_series(1, 50) g;
		SELECT smpc.publish('admissions', 'clinical.admissions', columns => '{age,los,ward}',
		                    group_keys => '{"ward": "reveal"}');
	});
}

# re-initialising is refused without force
my ($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.init_node('city')");
isnt($rc, 0, 're-initialising the node is refused');
like($err, qr/this node already has an smpc identity/, '... with a clear message');

# --- once per member: the other members and the federation ----------------
for my $name (@names)
{
	my $n = $node{$name};
	my @others = grep { $_ ne $name } @names;
	for my $o (@others)
	{
		my $port = $node{$o}->port;
		$n->safe_psql('postgres', qq{
			CREATE SERVER $o FOREIGN DATA WRAPPER smpc
			  OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres', node_key '$key{$o}');
			CREATE USER MAPPING FOR PUBLIC SERVER $o
			  OPTIONS (user 'smpc_peer', password 'peer-secret');
		});
	}
	my $members = join(', ', @others);
	$n->safe_psql('postgres', qq{
		CREATE SERVER research FOREIGN DATA WRAPPER smpc
		  OPTIONS (members '$members', min_members '3');
	});
}

# --- every member healthy --------------------------------------------------
for my $name (@names)
{
	my $status = $node{$name}->safe_psql('postgres', q{
		SELECT member, reachable, tls, key_matches, version ~ '^smpc 0\.1 ', error IS NULL,
		       rtt_ms >= 0
		  FROM smpc.federation_status('research') ORDER BY member});
	my @others = sort grep { $_ ne $name } @names;
	is($status, join("\n", map { "$_|t|f|t|t|t|t" } @others),
		"$name: federation_status shows every member healthy");
}

# --- TLS: county turns on SSL, st_marys requires it --------------------------
{
	my $dd = $node{county}->data_dir;
	system('openssl', 'req', '-new', '-x509', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
		'-newkey', 'rsa:2048', '-keyout', "$dd/server.key", '-out', "$dd/server.crt") == 0
	  or die 'openssl failed';
	chmod 0600, "$dd/server.key";
	$node{county}->append_conf('postgresql.conf', "ssl = on\n");
	$node{county}->restart;
	$node{st_marys}->safe_psql('postgres', q{ALTER SERVER county OPTIONS (ADD sslmode 'require')});
	is($node{st_marys}->safe_psql('postgres', q{
		SELECT member || ':' || tls || ':' || key_matches FROM smpc.federation_status('research')
		 ORDER BY member}),
		"city:false:true\ncounty:true:true", 'federation_status reports which members use TLS');
}

# --- a non-superuser must log in to members with a password ----------------
$node{st_marys}->safe_psql('postgres', q{
	CREATE ROLE analyst LOGIN;
	CREATE USER MAPPING FOR analyst SERVER city OPTIONS (user 'smpc_peer');
});
is($node{st_marys}->safe_psql('postgres', q{
	SET ROLE analyst;
	SELECT member || ': ' || coalesce(error, 'ok') FROM smpc.federation_status('research')
	 ORDER BY member}),
	"city: no password in the user mapping for this member\ncounty: ok",
	'a non-superuser without a password in its user mapping is refused');
$node{st_marys}->safe_psql('postgres', q{DROP USER MAPPING FOR analyst SERVER city});

# --- IMPORT FOREIGN SCHEMA ----------------------------------------------------
$node{st_marys}->safe_psql('postgres', q{
	CREATE SCHEMA federation;
	IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER research INTO federation;
});
is($node{st_marys}->safe_psql('postgres', q{
	SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
	  FROM pg_attribute WHERE attrelid = 'federation.admissions'::regclass AND attnum > 0}),
	'age:integer,los:numeric,ward:text', 'imported table has the published columns and types');

# city logs the parameters of every statement: take a request st_marys sent
# (the sender's signing key is at bytes 33..64 of a request)
my $st_marys_pk = unpack('H*',
	substr(MIME::Base64::decode_base64url(substr($key{st_marys}, 6)), 0, 32));
my $log = slurp_file($node{city}->logfile);
my @reqs = grep { substr($_, 66, 64) eq $st_marys_pk }
  ($log =~ /parameters: \$1 = '\\x([0-9a-f]+)'/g);
ok(@reqs > 0, 'captured a request st_marys sent to city');
my $req = $reqs[-1];

($rc, $out, $err) = $node{st_marys}->psql('postgres', 'SELECT * FROM federation.admissions');
isnt($rc, 0, 'raw rows of a federated table cannot be read');
like($err, qr/rows of federated table "admissions" cannot be read/, '... with a clear message');
like($err, qr/HINT:  Aggregate it/, '... and a hint');

# a dataset published with different column types names the member that differs
for my $name (@names)
{
	my $type = $name eq 'county' ? 'bigint' : 'integer';
	$node{$name}->safe_psql('postgres', qq{
		CREATE TABLE clinical.visits (age $type, cost numeric);
		SELECT smpc.publish('visits', 'clinical.visits', columns => '{age,cost}');
	});
}
($rc, $out, $err) = $node{st_marys}->psql('postgres', q{
	IMPORT FOREIGN SCHEMA smpc_datasets LIMIT TO (visits) FROM SERVER research INTO federation});
isnt($rc, 0, 'import of a dataset with differing column types fails');
like($err, qr/member "county" publishes column "age" of dataset "visits" as bigint, but this node publishes it as integer/,
	'... naming the member and the difference');

# an unpublished dataset is refused by the member
$node{st_marys}->safe_psql('postgres', q{
	CREATE TABLE clinical.outpatients (age int);
	SELECT smpc.publish('outpatients', 'clinical.outpatients', columns => '{age}');
});
($rc, $out, $err) = $node{st_marys}->psql('postgres', q{
	IMPORT FOREIGN SCHEMA smpc_datasets LIMIT TO (outpatients) FROM SERVER research INTO federation});
isnt($rc, 0, 'import of a dataset a member does not publish fails');
like($err, qr/member "(city|county)": dataset "outpatients" is not published to federation "research"/,
	'... refused by the member, named');

# --- wrong pinned key --------------------------------------------------------
# st_marys pins county's key on a server that really points at city
my $city_port = $node{city}->port;
$node{st_marys}->safe_psql('postgres', qq{
	CREATE SERVER city_wrong_key FOREIGN DATA WRAPPER smpc
	  OPTIONS (host '127.0.0.1', port '$city_port', dbname 'postgres', node_key '$key{county}');
	CREATE USER MAPPING FOR PUBLIC SERVER city_wrong_key
	  OPTIONS (user 'smpc_peer', password 'peer-secret');
	CREATE SERVER research_wrong FOREIGN DATA WRAPPER smpc OPTIONS (members 'city_wrong_key');
});
is($node{st_marys}->safe_psql('postgres', q{
	SELECT reachable, key_matches, error FROM smpc.federation_status('research_wrong')}),
	't|f|request is addressed to a different node key (The request is for the key beginning "'
	  . substr($key{county}, 6, 12) . q{", but this node's key begins "}
	  . substr($key{city}, 6, 12) . '" (fingerprint '
	  . $node{city}->safe_psql('postgres', 'SELECT fingerprint FROM smpc.node()') . ').)',
	'a wrong pinned key is refused by the member, with both key prefixes');

# --- unknown node ---------------------------------------------------------------
my ($outsider) = start_members(1, names => ['outsider']);
$outsider->safe_psql('postgres', qq{
	SELECT smpc.init_node('outsider');
	CREATE SERVER city FOREIGN DATA WRAPPER smpc
	  OPTIONS (host '127.0.0.1', port '$city_port', dbname 'postgres', node_key '$key{city}');
	CREATE USER MAPPING FOR PUBLIC SERVER city OPTIONS (user 'smpc_peer', password 'peer-secret');
	CREATE SERVER research FOREIGN DATA WRAPPER smpc OPTIONS (members 'city');
});
like($outsider->safe_psql('postgres', q{
	SELECT reachable::text || ' ' || error FROM smpc.federation_status('research')}),
	qr/^true request from unknown node \(No member server on this node pins the key beginning "/,
	'an unknown node is refused');
$outsider->stop;

# --- replayed, tampered and wrong-version requests ---------------------------

($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\x$req')",
	connstr => connstr_of($node{city}, user => 'smpc_peer', password => 'peer-secret'));
isnt($rc, 0, 'a replayed request is refused');
like($err, qr/replayed request from node "st_marys"/, '... as a replay, naming the sender');

# flip one byte inside the payload: the signature no longer verifies
my $pos = 2 * 150;
my $byte = hex(substr($req, $pos, 2)) ^ 0x01;
my $tampered = substr($req, 0, $pos) . sprintf('%02x', $byte) . substr($req, $pos + 2);
($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\x$tampered')");
isnt($rc, 0, 'a tampered request is refused');
like($err, qr/invalid signature on request from node "st_marys"|malformed smpc request/,
	'... because the signature does not verify');

# protocol version 3 (bytes 4-5, little endian): from the future
my $v3 = substr($req, 0, 8) . '0300' . substr($req, 12);
($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\x$v3')");
like($err, qr/unsupported smpc protocol version 3/, 'an unsupported protocol version is refused');
# version 1 (before vector values changed PREPARE): refused as clearly
my $v1 = substr($req, 0, 8) . '0100' . substr($req, 12);
($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\x$v1')");
like($err, qr/unsupported smpc protocol version 1/, 'a request of protocol version 1 is refused');

# truncated and garbage requests
($rc, $out, $err) = $node{city}->psql('postgres',
	"SELECT smpc.exchange('\\x" . substr($req, 0, length($req) - 2) . "')");
like($err, qr/malformed smpc request: message is truncated|malformed smpc request/, 'a truncated request is refused');
($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\xdeadbeef')");
like($err, qr/malformed smpc request/, 'garbage is refused');

# a request older than smpc.max_clock_skew is stale (checked before replays)
$node{city}->safe_psql('postgres', q{ALTER SYSTEM SET smpc.max_clock_skew = '1s'; SELECT pg_reload_conf()});
sleep(2);
($rc, $out, $err) = $node{city}->psql('postgres', "SELECT smpc.exchange('\\x$req')");
like($err, qr/stale request from node "st_marys"/, 'a stale request is refused');
like($err, qr/SQLSTATE|differs from this node's clock/, '... saying how far off it is');
$node{city}->safe_psql('postgres', q{ALTER SYSTEM RESET smpc.max_clock_skew; SELECT pg_reload_conf()});

# pg_dump carries the publication catalog (the key file stays out of it)
my $dump = `pg_dump -h @{[ $node{st_marys}->host ]} -p @{[ $node{st_marys}->port ]} -d postgres 2>&1`;
like($dump, qr/COPY smpc\.dataset .*\nadmissions\tclinical\.admissions/s,
	'pg_dump includes the published datasets');
unlike($dump, qr/SMPCKEY/, 'pg_dump does not include the node key');

# the peer role has no table privileges and cannot call anything but exchange
($rc, $out, $err) = $node{city}->psql('postgres', 'SELECT count(*) FROM clinical.admissions',
	connstr => connstr_of($node{city}, user => 'smpc_peer', password => 'peer-secret'));
like($err, qr/permission denied/, 'the peer role cannot read the data');

# the federation still works after all the refusals
is($node{st_marys}->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE key_matches AND error IS NULL) FROM smpc.federation_status('research')}),
	'2', 'federation still healthy after refusals');

$_->stop for @nodes;
done_testing();
