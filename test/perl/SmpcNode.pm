# SmpcNode.pm -- helpers shared by smpc's multi-node TAP tests.
#
# start_members(n) starts n PostgreSQL::Test::Cluster nodes with smpc
# preloaded and the extension created, listening on TCP so that the nodes
# can reach each other over libpq.
package SmpcNode;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Exporter 'import';

our @EXPORT = qw(start_members connstr_of);

sub start_members
{
	my ($n, %opts) = @_;
	my @nodes;
	for my $i (1 .. $n)
	{
		my $name = $opts{names} ? $opts{names}[ $i - 1 ] : "member$i";
		my $node = PostgreSQL::Test::Cluster->new($name);
		$node->init(allows_streaming => 0);
		$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'smpc'
listen_addresses = '127.0.0.1'
max_connections = 40
});
		$node->append_conf('postgresql.conf', $opts{conf}) if $opts{conf};
		# the test driver connects over the Unix socket; members log in to
		# each other over TCP with a password
		open my $hba, '>', $node->data_dir . '/pg_hba.conf' or die $!;
		print $hba "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
		close $hba;
		$node->start;
		$node->safe_psql('postgres', 'CREATE EXTENSION smpc');
		push @nodes, $node;
	}
	return @nodes;
}

# A libpq connection string reaching $node over TCP on the loopback address.
sub connstr_of
{
	my ($node, %extra) = @_;
	my $s = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres';
	$s .= " $_=$extra{$_}" for sort keys %extra;
	return $s;
}

1;
