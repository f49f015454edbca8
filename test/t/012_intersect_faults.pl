# Private set intersection when a member is down, stops answering, is killed
# or drops its connection at each round (INTERSECT, HOP, FINISH), and when
# the querying node is cancelled in the middle of its parallel scalar
# multiplications.  Faults are injected by the test-only module
# test/modules/smpc_fault.
#
# An intersection needs every party until the last hop: a failure there
# fails the query naming the member.  At FINISH the count is already known;
# a member that does not confirm is reported with a NOTICE, like a joint
# aggregate's dropout.  After every case nothing may be left behind: no
# member backend still serving the session, no parallel worker, every audit
# record complete, and the next query in the same session works.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmpcNode;
use SmpcFault;

my $TIMEOUT_MS = 3000;
my @names = qw(alpha beta gamma);
# v is the intersection key: alpha 1..30, beta 11..45, gamma 16..60 (plus a
# duplicate each), so 15 values (16..30) are in all three
my %data = (
	alpha => [ map { [ "w" . ($_ % 3), $_ ] } 1 .. 30, 7 ],
	beta => [ map { [ "w" . ($_ % 4), $_ ] } 11 .. 45, 20 ],
	gamma => [ map { [ "w" . ($_ % 2), $_ ] } 16 .. 60, 50 ],
);
my $Q_PSI = 'SELECT smpc_intersect_count(v) FROM federation.obs';
my $PSI = 15;
my ($nodes, $plain) = obs_federation(\@names, \%data,
	conf => "restart_after_crash = on\nmax_worker_processes = 8\nmax_parallel_workers = 8\n",
	member_timeout => "${TIMEOUT_MS}ms");
my ($alpha, $beta, $gamma) = @$nodes;

# a bigger dataset, for a cancel in the middle of the multiplications:
# 30000 keys per party take seconds to raise on this machine
for my $i (0 .. 2)
{
	my $n = $nodes->[$i];
	my $lo = 1 + 10000 * $i;
	$n->safe_psql('postgres', qq{
		CREATE TABLE lab.big (id int);
		INSERT INTO lab.big SELECT g FROM generate_series($lo, $lo + 29999) g;
		GRANT SELECT ON lab.big TO steward;
		SET ROLE steward;
		SELECT smpc.publish('big', 'lab.big', '{id}', intersect_keys => '{id}');
		RESET ROLE;
	});
}
$_->safe_psql('postgres', 'IMPORT FOREIGN SCHEMA smpc_datasets LIMIT TO (big) FROM SERVER research INTO federation')
  for @$nodes;

is($alpha->safe_psql('postgres', $Q_PSI), $PSI, 'baseline: the intersection count');

# --- helpers -------------------------------------------------------------

sub audit_count
{
	my ($n, $outcome) = @_;
	return $n->safe_psql('postgres',
		"SELECT count(*) FROM smpc.audit_log WHERE outcome = '$outcome'");
}

sub no_leftovers
{
	my ($n, $what) = @_;
	ok($n->poll_query_until('postgres', q{
			SELECT count(*) FILTER (WHERE usename = 'smpc_peer') <= 1
			   AND count(*) FILTER (WHERE usename = 'smpc_peer' AND state <> 'idle') = 0
			   AND count(*) FILTER (WHERE backend_type = 'parallel worker') = 0
			  FROM pg_stat_activity}),
		"$what: no backend or parallel worker left on " . $n->name);
}

my $sess = $alpha->background_psql('postgres', on_error_stop => 0);

sub run_case
{
	my ($sql) = @_;
	$sess->{stderr} = '';
	my $t0 = time;
	my ($out) = $sess->query($sql);
	return ($out, $sess->{stderr}, time - $t0);
}

sub continue_stopped
{
	my ($n) = @_;
	my $log = slurp_file($n->logfile);
	my %pids = map { $_ => 1 } $log =~ /smpc_fault: member backend (\d+): stop at/g;
	kill 'CONT', keys %pids;
	return scalar keys %pids;
}

# --- a member that is down ----------------------------------------------

$gamma->stop;
{
	my ($out, $err, $secs) = run_case($Q_PSI);
	like($err, qr/ERROR:  member "gamma": could not connect/, 'member down: the error names it');
	isnt($out, $PSI, 'member down: no result');
}
$gamma->start;
is($alpha->safe_psql('postgres', $Q_PSI), $PSI, 'member back up: the next intersection works');

# --- faults at every round ----------------------------------------------

for my $round (qw(intersect hop finish))
{
	for my $action (qw(stop drop die))
	{
		my $case = "$action at \U$round\E";
		my %before = map { my $n = $_; ($n->name => { map { $_ => audit_count($n, $_) }
					qw(success incomplete) }) } $alpha, $beta, $gamma;

		set_fault($gamma, "$round:$action");
		my ($out, $err, $secs) = run_case($Q_PSI);

		if ($round ne 'finish')
		{
			like($err, qr/ERROR:  member "gamma": (member did not answer within \d+ ms|connection lost)/,
				"$case: the query fails naming the member");
			isnt($out, $PSI, "$case: no result");
			is(audit_count($alpha, 'success'), $before{alpha}{success},
				"$case: the querying node records no success");
			ok($beta->poll_query_until('postgres',
					"SELECT count(*) = $before{beta}{incomplete} + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
				"$case: beta records its abandoned session as incomplete");
		}
		else
		{
			is($out, $PSI, "$case: the count is still returned");
			like($err, qr/NOTICE:  member "gamma" did not finish the joint query: (member did not answer within $TIMEOUT_MS ms|connection lost)/,
				"$case: a NOTICE names the member");
			like($alpha->safe_psql('postgres', q{
					SELECT outcome, unfinished_members, error FROM smpc.audit_log
					 WHERE node_role = 'querying' ORDER BY audit_id DESC LIMIT 1}),
				qr/^success\|\{gamma\}\|member "gamma" left out: /,
				"$case: the querying node's audit record names the member");
			is(audit_count($beta, 'success'), $before{beta}{success} + 1,
				"$case: beta records success");
		}
		cmp_ok($secs, '<', $TIMEOUT_MS / 1000 + 5, "$case: answered within member_timeout (${secs}s)");

		if ($action eq 'die')
		{
			$gamma->poll_query_until('postgres', 'SELECT true') or die 'gamma did not restart';
		}
		set_fault($gamma, '');
		ok(continue_stopped($gamma) > 0, "$case: the member backend was stopped") if $action eq 'stop';
		my ($next) = run_case($Q_PSI);
		is($next, $PSI, "$case: the next intersection in the same session works");
		no_leftovers($_, $case) for $alpha, $beta, $gamma;
		# What gamma itself recorded besides the next query's success:
		# nothing when killed, nor when it dropped before it had a session;
		# otherwise the session once, as incomplete -- a backend stopped at
		# FINISH and continued may also complete it first (success)
		my $recorded =
			$action eq 'die' ? 0
		  : $action eq 'drop' && $round eq 'intersect' ? 0
		  : 1;
		my $want = $before{gamma}{success} + $before{gamma}{incomplete} + 1 + $recorded;
		ok($gamma->poll_query_until('postgres',
				"SELECT count(*) = $want FROM smpc.audit_log WHERE outcome IN ('success', 'incomplete')"),
			"$case: gamma recorded the session " . ($recorded ? 'once' : 'not at all'));
		is(audit_count($gamma, 'incomplete'), $before{gamma}{incomplete} + 1,
			"$case: gamma recorded the session as incomplete")
		  if $recorded && !($action eq 'stop' && $round eq 'finish');
		is($gamma->safe_psql('postgres',
				"SELECT count(*) FROM smpc.audit_log WHERE outcome NOT IN ('success','incomplete','refused','failed')"),
			'0', "$case: no other outcome in gamma's audit log");
	}
}

# --- cancel in the middle of the scalar multiplications ------------------

# statement_timeout fires while the querying node raises its own 30000 keys
# in parallel (and the members raise theirs): the workers stop with it, the
# members notice the closed connection and record the session
{
	my %inc = map { $_->name => audit_count($_, 'incomplete') } $beta, $gamma;
	run_case("SET statement_timeout = '700ms'");
	my ($out, $err, $secs) = run_case('SELECT smpc_intersect_count(id) FROM federation.big');
	run_case('RESET statement_timeout');
	like($err, qr/ERROR:  canceling statement due to statement timeout/,
		'statement_timeout during the multiplications: cancelled');
	cmp_ok($secs, '<', 3, "statement_timeout: the cancel is prompt (${secs}s)");
	no_leftovers($_, 'statement_timeout during the multiplications') for $alpha, $beta, $gamma;
	for my $n ($beta, $gamma)
	{
		ok($n->poll_query_until('postgres',
				"SELECT count(*) = $inc{$n->name} + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
			'statement_timeout: ' . $n->name . ' records the session as incomplete');
	}
	my ($next) = run_case($Q_PSI);
	is($next, $PSI, 'statement_timeout: the next intersection works');
}

# pg_cancel_backend while a member hangs in a hop
{
	set_fault($gamma, 'hop:hang');
	my $bg = $alpha->background_psql('postgres', on_error_stop => 0);
	my $bpid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, "\\echo started\n$Q_PSI;\n");
	ok($alpha->poll_query_until('postgres',
			"SELECT wait_event = 'Extension' FROM pg_stat_activity WHERE pid = $bpid"),
		'hang in HOP: the querying node waits for the member');
	my $t0 = time;
	$alpha->safe_psql('postgres', "SELECT pg_cancel_backend($bpid)");
	$bg->{stderr} = '';
	$bg->query('SELECT 1');
	like($bg->{stderr}, qr/canceling statement due to user request/, 'hang in HOP: cancelled');
	cmp_ok(time - $t0, '<', $TIMEOUT_MS / 1000, 'hang in HOP: cancelled before member_timeout');
	set_fault($gamma, '');
	no_leftovers($_, 'cancel in HOP') for $alpha, $beta, $gamma;
	$bg->{stderr} = '';
	is($bg->query_safe($Q_PSI), $PSI, 'cancel in HOP: the next intersection in that session works');
	$bg->quit;
}

$sess->quit;
done_testing();
