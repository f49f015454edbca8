# Three members start with smpc preloaded and reach each other over libpq.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;

my @nodes = start_members(3);

for my $node (@nodes)
{
	is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
		'smpc', $node->name . ': smpc is preloaded');
	like($node->safe_psql('postgres', 'SELECT smpc.version()'),
		qr/^smpc [0-9.]+ \(protocol \d+\)$/, $node->name . ': extension answers');
	$node->safe_psql('postgres', q{
		CREATE ROLE smpc_peer LOGIN PASSWORD 'peer-secret';
	});
}

# Every member reaches every other one over TCP with password authentication,
# through libpq inside the server (dblink), and sees the peer's smpc.
for my $from (@nodes)
{
	$from->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS dblink');
	for my $to (@nodes)
	{
		next if $from == $to;
		my $cs = connstr_of($to, user => 'smpc_peer', password => 'peer-secret');
		my $got = $from->safe_psql('postgres',
			"SELECT v FROM dblink('$cs', 'SELECT smpc.version()') AS t(v text)");
		like($got, qr/^smpc /, $from->name . ' reaches ' . $to->name);
	}
}

# A wrong password is refused, so the check above did authenticate.
my $bad = connstr_of($nodes[1], user => 'smpc_peer', password => 'wrong');
my ($rc, $out, $err) = $nodes[0]->psql('postgres',
	"SELECT v FROM dblink('$bad', 'SELECT 1') AS t(v text)");
isnt($rc, 0, 'wrong password is refused');
like($err, qr/password authentication failed/, 'with the server\'s reason');

$_->stop for @nodes;
done_testing();
