# Joint aggregates end to end on three members, queried at each member, each
# result compared with the same query over the plaintext union of the data.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;

my @names = qw(alpha beta gamma);
my @nodes = start_members(3, names => \@names);
my %node = map { $names[$_] => $nodes[$_] } 0 .. 2;

my %key;
my %rows = (alpha => 40, beta => 70, gamma => 0);
for my $name (@names)
{
	my $n = $node{$name};
	$key{$name} = $n->safe_psql('postgres', "SELECT public_key FROM smpc.init_node('$name')");
	$n->safe_psql('postgres', qq{
		CREATE ROLE smpc_peer LOGIN PASSWORD 'peer-secret';
		GRANT EXECUTE ON FUNCTION smpc.exchange(bytea) TO smpc_peer;
		CREATE ROLE steward;
		GRANT EXECUTE ON FUNCTION smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer) TO steward;
		GRANT EXECUTE ON FUNCTION smpc.withdraw(text) TO steward;
		CREATE SCHEMA clinical;
		GRANT USAGE ON SCHEMA clinical TO steward;
		CREATE TABLE clinical.admissions (age int, los numeric(6,1), ward text, sex text, cost float8, secret text);
		GRANT SELECT ON clinical.admissions TO steward;
		INSERT INTO clinical.admissions
		  SELECT 20 + (g * 7) % 70, (g % 9) + 0.5, 'ward' || (g % 3),
		         CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, g * 1.25, 'x'
		    FROM generate_series(1, $rows{$name}) g;
		SET ROLE steward;
		SELECT smpc.publish('admissions', 'clinical.admissions', columns => '{age,los,ward,sex,cost}',
		                    group_keys => '{"ward": "reveal", "sex": ["F", "M"]}');
		RESET ROLE;
	});
}
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
			CREATE USER MAPPING FOR PUBLIC SERVER $o OPTIONS (user 'smpc_peer', password 'peer-secret');
		});
	}
	my $members = join(', ', @others);
	$n->safe_psql('postgres', qq{
		CREATE SERVER research FOREIGN DATA WRAPPER smpc OPTIONS (members '$members', min_group_size '1');
	});
}
$node{$_}->safe_psql('postgres', q{
	CREATE SCHEMA federation;
	IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER research INTO federation;
}) for @names;

# the plaintext union, on alpha, for comparison only
$node{alpha}->safe_psql('postgres', 'CREATE TABLE plain_union (LIKE clinical.admissions)');
for my $name (@names)
{
	my $data = $node{$name}->safe_psql('postgres',
		q{SELECT string_agg(format('(%s,%s,%L,%L,%s)', age, los, ward, sex, cost), ',') FROM clinical.admissions});
	$node{alpha}->safe_psql('postgres',
		"INSERT INTO plain_union (age, los, ward, sex, cost) VALUES $data") if $data ne '';
}

my @queries = (
	'SELECT smpc_count(*) FROM %s',
	'SELECT count(*), sum(age), avg(los) FROM %s WHERE age >= 40',
	'SELECT ward, smpc_sum(los), smpc_count(*) FROM %s GROUP BY ward ORDER BY ward',
	'SELECT sex, smpc_avg(age), count(los) FROM %s GROUP BY sex ORDER BY sex',
	'SELECT ward, round(avg(cost)::numeric, 6) FROM %s WHERE ward IN (\'ward1\', \'ward2\') AND los BETWEEN 2 AND 7 GROUP BY ward HAVING count(*) > 3 ORDER BY 2 DESC',
);
for my $q (@queries)
{
	my $plain = $q;
	$plain =~ s/smpc_(sum|count|avg)/$1/g;
	my $expected = $node{alpha}->safe_psql('postgres', sprintf($plain, 'plain_union'));
	for my $name (@names)
	{
		my ($rc, $out, $err) = $node{$name}->psql('postgres', sprintf($q, 'federation.admissions'));
		is($out, $expected, "$name: $q") or diag($err);
	}
}

my $explain = $node{beta}->safe_psql('postgres',
	'EXPLAIN (VERBOSE, COSTS OFF) SELECT ward, sum(los) FROM federation.admissions WHERE age > 30 GROUP BY ward');
like($explain, qr/Federation: research/, 'EXPLAIN names the federation');
like($explain, qr/Dataset SQL: SELECT ward, count\(\*\), sum\(los\), count\(los\) FROM admissions WHERE \(age > '30'::integer\) GROUP BY ward/,
	'EXPLAIN VERBOSE shows the dataset SQL');

for my $name (@names)
{
	my $n = $node{$name}->safe_psql('postgres',
		"SELECT count(*) FROM smpc.audit_log WHERE outcome = 'success'");
	is($n, scalar(@queries) * 3, "$name: one audit record per joint query");
}

# small groups: withheld with a NOTICE; an ungrouped result over too few rows fails
$node{alpha}->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET min_group_size '30')");
my ($rc, $out, $err) = $node{alpha}->psql('postgres',
	'SELECT ward, count(*) FROM federation.admissions WHERE age < 40 GROUP BY ward ORDER BY 1');
my $expected = $node{alpha}->safe_psql('postgres',
	'SELECT ward, count(*) FROM plain_union WHERE age < 40 GROUP BY ward HAVING count(*) >= 30 ORDER BY 1');
is($out, $expected, 'groups below min_group_size are withheld');
like($err, qr/NOTICE:  \d+ groups? with fewer than 30 rows withheld/, '... with a NOTICE');
($rc, $out, $err) = $node{alpha}->psql('postgres',
	'SELECT count(*) FROM federation.admissions WHERE age < 25', extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  42S02: joint result withheld/, 'an ungrouped result over too few rows is withheld (42S02)');
$node{alpha}->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET min_group_size '1')");

# a member that refuses: too few members for its own federation settings
$node{gamma}->safe_psql('postgres', "ALTER SERVER research OPTIONS (ADD min_members '4')");
($rc, $out, $err) = $node{alpha}->psql('postgres', 'SELECT count(*) FROM federation.admissions',
	extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  28S07: member "gamma": the joint query has 3 participants, fewer than federation "research" requires \(4\)/,
	'a member refuses a query with fewer parties than its min_members, named');
is($node{gamma}->safe_psql('postgres',
	"SELECT count(*) FROM smpc.audit_log WHERE outcome = 'refused' AND error ~ 'fewer than'"),
	'1', '... and records the refusal in its audit log');
$node{gamma}->safe_psql('postgres', "ALTER SERVER research OPTIONS (DROP min_members)");

# a member whose steward withdrew the dataset
$node{beta}->safe_psql('postgres', "SET ROLE steward; SELECT smpc.withdraw('admissions')");
($rc, $out, $err) = $node{alpha}->psql('postgres', 'SELECT count(*) FROM federation.admissions');
like($err, qr/ERROR:  member "beta": dataset "admissions" is not published to federation "research"/,
	'a member without the dataset refuses, named');
$node{beta}->safe_psql('postgres', q{SET ROLE steward;
	SELECT smpc.publish('admissions', 'clinical.admissions', columns => '{age,los,ward,sex,cost}',
	                    group_keys => '{"ward": "reveal", "sex": ["F", "M"]}')});

# and the next query works again, over cached connections
($rc, $out, $err) = $node{alpha}->psql('postgres', 'SELECT count(*) FROM federation.admissions');
is($out, $node{alpha}->safe_psql('postgres', 'SELECT count(*) FROM plain_union'),
	'the next joint query works') or diag($err);

done_testing();
