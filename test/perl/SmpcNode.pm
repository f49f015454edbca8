# SmpcNode.pm -- helpers shared by smpc's multi-node TAP tests.
#
# start_members(n) starts n PostgreSQL::Test::Cluster nodes with smpc
# preloaded and the extension created, listening on TCP so that the nodes
# can reach each other over libpq.
#
# setup_federation(\@nodes, ...) then runs the README's walk-through on
# every node, so that joint queries can be issued at any of them.
package SmpcNode;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Exporter 'import';
use JSON::PP ();

our @EXPORT = qw(start_members connstr_of setup_federation publish_sql);

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

# setup_federation(\@nodes, %opts) -- the README walk-through on every node
# started by start_members:
#
#   1. smpc.init_node(name);
#   2. the peer role smpc_peer with a password and EXECUTE on smpc.exchange;
#   3. prepare->($node, $name, $index), as superuser, if given (create and
#      fill the tables to publish);
#   4. one server per other member (TCP 127.0.0.1, pinned node_key) with a
#      PUBLIC user mapping carrying the peer password;
#   5. the federation server, with the same options on every node;
#   6. a non-superuser steward role that may read the published relations
#      and publishes them (SET ROLE steward; SELECT smpc.publish(...));
#   7. CREATE SCHEMA federation; IMPORT FOREIGN SCHEMA smpc_datasets.
#
# Options:
#   names          server names of the nodes (default: the nodes' names)
#   federation     federation server name (default 'research')
#   min_members    default: the number of nodes
#   min_group_size, threshold, member_timeout: set only when given
#   peer_password  default 'peer-secret'
#   steward        the publishing role (default 'steward')
#   schema         schema to import into (default 'federation'); undef skips
#   prepare        code ref, see 3.
#   publish        array ref of publications, or a code ref ($node, $name,
#                  $index) returning one; a publication is a hash:
#                  { dataset => 'obs', relation => 'clinical.obs',
#                    columns => [...], group_keys => {...} or JSON text,
#                    federations => [...], intersect_keys => [...],
#                    min_set_size => N (all optional) }
#
# Returns a hash ref: nodes (name => node), names, keys (name => public
# key), fingerprints, federation, steward, schema, min_group_size,
# threshold, peer_password, publications (name => array ref), members_of
# (name => the member list as in that node's federation server).
sub setup_federation
{
	my ($nodes, %o) = @_;
	my @nodes = @$nodes;
	my @names = $o{names} ? @{ $o{names} } : map { $_->name } @nodes;
	die 'setup_federation: one name per node' unless @names == @nodes;
	my $fedname = $o{federation} // 'research';
	my $pw = $o{peer_password} // 'peer-secret';
	my $steward = $o{steward} // 'steward';
	my $schema = exists $o{schema} ? $o{schema} : 'federation';
	my %fed = (
		federation => $fedname,
		names => [@names],
		nodes => { map { $names[$_] => $nodes[$_] } 0 .. $#names },
		steward => $steward,
		schema => $schema,
		peer_password => $pw,
		min_group_size => $o{min_group_size},
		threshold => $o{threshold});

	# 1-3: identity, peer role, data
	for my $i (0 .. $#nodes)
	{
		my ($n, $name) = ($nodes[$i], $names[$i]);
		my $row = $n->safe_psql('postgres',
			"SELECT public_key || '|' || fingerprint FROM smpc.init_node('$name')");
		($fed{keys}{$name}, $fed{fingerprints}{$name}) = split /\|/, $row;
		$n->safe_psql('postgres', qq{
			CREATE ROLE smpc_peer LOGIN PASSWORD '$pw';
			GRANT EXECUTE ON FUNCTION smpc.exchange(bytea) TO smpc_peer;
		});
		$o{prepare}->($n, $name, $i) if $o{prepare};
	}

	# 4-5: members and the federation
	my @fedopts = (min_members => $o{min_members} // scalar(@nodes));
	for my $opt (qw(min_group_size threshold member_timeout))
	{
		push @fedopts, $opt => $o{$opt} if defined $o{$opt};
	}
	for my $i (0 .. $#nodes)
	{
		my ($n, $name) = ($nodes[$i], $names[$i]);
		my @others = grep { $_ ne $name } @names;
		my $sql = '';
		for my $o (@others)
		{
			my $port = $fed{nodes}{$o}->port;
			$sql .= qq{
				CREATE SERVER $o FOREIGN DATA WRAPPER smpc
				  OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres',
				           node_key '$fed{keys}{$o}');
				CREATE USER MAPPING FOR PUBLIC SERVER $o
				  OPTIONS (user 'smpc_peer', password '$pw');
			};
		}
		$fed{members_of}{$name} = join(', ', @others);
		my @opts = ("members '$fed{members_of}{$name}'");
		for (my $k = 0; $k < @fedopts; $k += 2)
		{
			push @opts, "$fedopts[$k] '$fedopts[$k + 1]'";
		}
		$sql .= "CREATE SERVER $fedname FOREIGN DATA WRAPPER smpc OPTIONS ("
		  . join(', ', @opts) . ");\n";
		$n->safe_psql('postgres', $sql);
	}

	# 6: the steward publishes
	for my $i (0 .. $#nodes)
	{
		my ($n, $name) = ($nodes[$i], $names[$i]);
		my $pubs = ref $o{publish} eq 'CODE' ? $o{publish}->($n, $name, $i) : $o{publish};
		$pubs //= [];
		$fed{publications}{$name} = $pubs;
		my $sql = qq{
			CREATE ROLE $steward;
			GRANT EXECUTE ON FUNCTION
			  smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer),
			  smpc.withdraw(text) TO $steward;
		};
		my %granted;
		for my $p (@$pubs)
		{
			my $rel = $p->{relation};
			my ($nsp) = $rel =~ /^(.+)\.[^.]+$/;
			$sql .= "GRANT USAGE ON SCHEMA $nsp TO $steward;\n"
			  if defined $nsp && !$granted{$nsp}++;
			$sql .= "GRANT SELECT ON $rel TO $steward;\n";
		}
		$sql .= "SET ROLE $steward;\n";
		$sql .= publish_sql($_) . ";\n" for @$pubs;
		$sql .= "RESET ROLE;\n";
		$n->safe_psql('postgres', $sql);
	}

	# 7: every node imports the federated tables
	if (defined $schema)
	{
		for my $i (0 .. $#nodes)
		{
			$nodes[$i]->safe_psql('postgres', qq{
				CREATE SCHEMA $schema;
				IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER $fedname INTO $schema;
			});
		}
	}
	return \%fed;
}

# The smpc.publish call for one publication hash (see setup_federation);
# extra named arguments (e.g. replace => 1) are added.
sub publish_sql
{
	my ($p, %extra) = @_;
	my $q = sub { my $s = shift; $s =~ s/'/''/g; "'$s'" };
	my $gk = $p->{group_keys};
	$gk = JSON::PP->new->canonical->encode($gk) if ref $gk;
	my $sql = 'SELECT smpc.publish(' . $q->($p->{dataset}) . ', '
	  . $q->($p->{relation}) . ', columns => '
	  . $q->('{' . join(',', @{ $p->{columns} }) . '}');
	$sql .= ', group_keys => ' . $q->($gk) if defined $gk;
	$sql .= ', federations => ' . $q->('{' . join(',', @{ $p->{federations} }) . '}')
	  if $p->{federations};
	$sql .= ', intersect_keys => ' . $q->('{' . join(',', @{ $p->{intersect_keys} }) . '}')
	  if $p->{intersect_keys};
	$sql .= ", min_set_size => $p->{min_set_size}" if defined $p->{min_set_size};
	$sql .= ', replace => true' if $extra{replace} || $p->{replace};
	return $sql . ')';
}

1;
