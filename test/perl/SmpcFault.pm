# SmpcFault.pm -- shared by the TAP tests that inject faults with the
# test-only module test/modules/smpc_fault (006_faults.pl, 010_lies.pl).
#
# obs_federation(\@names, \%data, %opts) starts one node per name with
# smpc and smpc_fault preloaded, sets up a federation whose members each
# publish lab.obs (ward text, v int; ward a revealed group key) holding
# $data{name} (array of [ward, v]), and returns (\@nodes, $plain,
# $grouped): the plaintext union's answers to $Q_PLAIN and $Q_GROUPED as
# psql prints them.  v is also an intersection key (min_set_size 1).  %opts: conf (more postgresql.conf lines) and any
# setup_federation option.
#
# set_fault($node, 'round:action') sets smpc_fault.member_action on $node
# and waits until new sessions see it ('' clears it).
package SmpcFault;

use strict;
use warnings;

use Exporter 'import';
use SmpcNode;

our @EXPORT = qw(obs_federation set_fault $Q_PLAIN $Q_GROUPED);

our $Q_PLAIN = 'SELECT smpc_sum(v), smpc_count(*) FROM federation.obs';
our $Q_GROUPED = 'SELECT ward, smpc_sum(v) FROM federation.obs GROUP BY ward ORDER BY ward';

sub obs_federation
{
	my ($names, $data, %o) = @_;
	my $conf = "shared_preload_libraries = 'smpc, smpc_fault'\n" . (delete $o{conf} // '');
	my @nodes = start_members(scalar @$names, names => $names, conf => $conf);
	setup_federation(
		\@nodes,
		names => $names,
		min_group_size => 1,
		%o,
		prepare => sub {
			my ($n, $name) = @_;
			my $values = join(',', map { "('$_->[0]', $_->[1])" } @{ $data->{$name} });
			$n->safe_psql('postgres', qq{
				CREATE SCHEMA lab;
				CREATE TABLE lab.obs (ward text, v int);
				INSERT INTO lab.obs VALUES $values;
			});
		},
		publish => [ { dataset => 'obs', relation => 'lab.obs', columns => [qw(ward v)],
				group_keys => { ward => 'reveal' }, intersect_keys => ['v'],
				min_set_size => 1 } ]);

	my ($sum, $count) = (0, 0);
	my %by_ward;
	for my $rows (values %$data)
	{
		for my $r (@$rows)
		{
			$sum += $r->[1];
			$count++;
			$by_ward{ $r->[0] } += $r->[1];
		}
	}
	return (\@nodes, "$sum|$count",
		join("\n", map { "$_|$by_ward{$_}" } sort keys %by_ward));
}

sub set_fault
{
	my ($n, $spec) = @_;
	$n->safe_psql('postgres',
		"ALTER SYSTEM SET smpc_fault.member_action = '$spec'; SELECT pg_reload_conf();");
	$n->poll_query_until('postgres',
		"SELECT current_setting('smpc_fault.member_action') = '$spec'")
	  or die "fault $spec not in effect";
}

1;
