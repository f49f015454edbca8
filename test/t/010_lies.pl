# A member that lies, on four parties: with enough redundancy the liar is
# found, left out and the result corrected; without, the query fails.
#
# Four parties, threshold 1: four share-sums of degree-1 polynomials.  A
# wrong share-sum leaves three that agree, so the one that does not is
# identified and the result reconstructed from the others; an opening that
# does not match its commitment is left out while three remain to check
# each other.  Threshold 2: the same lies are detected but cannot be
# corrected -- the opening liar is named, the wrong share-sum is reported as
# an inconsistency.  Lies are injected by the test-only module
# test/modules/smpc_fault.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;
use SmpcFault;

my @names = qw(alpha beta gamma delta);
my %data;
for my $i (0 .. $#names)
{
	$data{ $names[$i] } = [ map { [ 'w' . (($_ + $i) % 3), $_ * ($i + 2) - 11 ] } 1 .. 6 + 3 * $i ];
}
my ($nodes, $plain, $grouped) = obs_federation(\@names, \%data, threshold => 1);
my @nodes = @$nodes;
my ($alpha, $beta, $gamma, $delta) = @nodes;

is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'baseline');


sub last_record
{
	my ($n, $role) = @_;
	return $n->safe_psql('postgres', qq{
		SELECT outcome || '|' || coalesce(unfinished_members::text, '') || '|' || coalesce(error, '')
		  FROM smpc.audit_log WHERE node_role = '$role' ORDER BY audit_id DESC LIMIT 1});
}

# --- threshold 1: corrected ----------------------------------------------

for my $case ([ 'combine:lie', 'wrong share-sum', qr/opened share-sums inconsistent with the other parties'/ ],
	[ 'reveal:lie', 'wrong opening', qr/opened share-sums that do not match its commitment/ ])
{
	my ($spec, $what, $why) = @$case;
	set_fault($delta, $spec);
	for my $q ([ $Q_PLAIN, $plain ], [ $Q_GROUPED, $grouped ])
	{
		my ($rc, $out, $err) = $alpha->psql('postgres', $q->[0]);
		is($rc, 0, "t=1, $what: the query succeeds");
		is($out, $q->[1], "t=1, $what: the result is the honest parties' result");
		like($err, qr/WARNING:  member "delta" did not finish the joint query: $why/,
			"t=1, $what: a WARNING names the liar");
		like(last_record($alpha, 'querying'), qr/^success\|\{delta\}\|member "delta" left out: /,
			"t=1, $what: the querying node's audit record names the liar");
	}
	# the honest members found the same result; for a wrong share-sum they
	# found the liar themselves
	for my $n ($beta, $gamma)
	{
		like(last_record($n, 'member'),
			$spec eq 'combine:lie'
			? qr/^success\|\{delta\}\|participant "delta" opened share-sums inconsistent/
			: qr/^success\|\{delta\}\|$/,
			"t=1, $what: " . $n->name . "'s audit record agrees");
	}
	set_fault($delta, '');
}
is($alpha->safe_psql('postgres', $Q_GROUPED), $grouped, 't=1: honest again, the next query works');

# --- threshold 2: detected, not correctable -------------------------------

$_->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET threshold '2')") for @nodes;
is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 't=2: baseline');

set_fault($delta, 'reveal:lie');
{
	my ($rc, $out, $err) = $alpha->psql('postgres', $Q_PLAIN);
	isnt($rc, 0, 't=2, wrong opening: the query fails');
	like($err, qr/ERROR:  participant "delta" opened share-sums that do not match its commitment/,
		't=2, wrong opening: the liar is named');
	is($out, '', 't=2, wrong opening: no result');
}
set_fault($delta, 'combine:lie');
{
	my ($rc, $out, $err) = $alpha->psql('postgres', $Q_PLAIN);
	isnt($rc, 0, 't=2, wrong share-sum: the query fails');
	like($err, qr/ERROR:  the participants' share-sums are inconsistent/,
		't=2, wrong share-sum: the inconsistency is detected');
	like($err, qr/DETAIL:  .*with 4 of 4 parties opening and threshold 2 it cannot be told which/,
		't=2, wrong share-sum: the detail says why no liar is named');
	is($out, '', 't=2, wrong share-sum: no result');
}
set_fault($delta, '');
is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 't=2: honest again, the next query works');

# a liar and a dropout together exceed what threshold 1 can absorb:
# after gamma drops, three share-sums remain and delta's lie is detected
# but can no longer be corrected
$_->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET threshold '1')") for @nodes;
set_fault($delta, 'combine:lie');
set_fault($gamma, 'reveal:drop');
{
	my ($rc, $out, $err) = $alpha->psql('postgres', $Q_PLAIN);
	isnt($rc, 0, 't=1, a dropout and a liar: the query fails');
	like($err, qr/ERROR:  the participants' share-sums are inconsistent/,
		't=1, a dropout and a liar: the lie is still detected');
}
set_fault($_, '') for $gamma, $delta;
is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'the next query works');

done_testing();
