# A member that is down, stops answering, is killed or drops its connection
# at every round of the protocol; a member that lies; cancel and
# statement_timeout.  Faults are injected by the test-only module
# test/modules/smpc_fault (see its header): the member misbehaves when it
# handles a request of the configured round.
#
# Three parties, threshold 1: before every share is dealt (PREPARE, SHARE)
# a failing member fails the query, naming it, within member_timeout; after
# (COMBINE, REVEAL, FINISH) one member (n - t - 1 = 1) may drop and the
# result is still correct, with a NOTICE and the audit record naming it.
# Every case also checks that nothing is left behind: no member backend
# still serving the failed session, every member's audit record complete,
# and the next query in the same session works.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use SmpcNode;
use SmpcFault;

my $TIMEOUT_MS = 3000;
my @names = qw(alpha beta gamma);
my %data = (
	alpha => [ map { [ "w" . ($_ % 3), $_ * 3 ] } 1 .. 12 ],
	beta => [ map { [ "w" . ($_ % 4), 100 + $_ ] } 1 .. 9 ],
	gamma => [ map { [ "w" . ($_ % 2), -7 * $_ ] } 1 .. 15 ],
);
my ($nodes, $plain, $grouped) = obs_federation(\@names, \%data,
	conf => "restart_after_crash = on\n",
	member_timeout => "${TIMEOUT_MS}ms");
my @nodes = @$nodes;
my %node = map { $names[$_] => $nodes[$_] } 0 .. 2;
my ($alpha, $beta, $gamma) = @nodes;

is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'baseline: ungrouped joint query');
is($alpha->safe_psql('postgres', $Q_GROUPED), $grouped, 'baseline: grouped joint query');

# --- helpers -------------------------------------------------------------


# No member backend is left over from the case: at most the one idle
# connection that alpha's test session caches per member, nothing busy,
# stopped or hung.
sub no_peer_backends
{
	my ($n, $what) = @_;
	ok($n->poll_query_until('postgres', q{
			SELECT count(*) <= 1 AND count(*) FILTER (WHERE state <> 'idle') = 0
			  FROM pg_stat_activity WHERE usename = 'smpc_peer'}),
		"$what: no backend left serving the session on " . $n->name);
}

# psql running $sql at $node in the background
sub start_psql
{
	my ($node, $sql, $out, $err) = @_;
	return IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', $out, '2>', $err);
}

# One session at alpha for all cases, so that each case also shows that the
# session's cached member connections are usable after a failure.
my $sess = $alpha->background_psql('postgres', on_error_stop => 0);

# Run $sql in that session; returns (stdout, stderr, seconds it took).
sub run_case
{
	my ($sql) = @_;
	$sess->{stderr} = '';
	my $t0 = time;
	my ($out) = $sess->query($sql);
	return ($out, $sess->{stderr}, time - $t0);
}


# --- a member that is down ----------------------------------------------

$gamma->stop;
{
	my ($out, $err, $secs) = run_case($Q_PLAIN);
	like($err, qr/ERROR:  member "gamma": could not connect/, 'member down: the error names it');
	cmp_ok($secs, '<', $TIMEOUT_MS / 1000 + 5, 'member down: the error comes within member_timeout');
	unlike($out, qr/\Q$plain\E/, 'member down: no result at all');
}
$gamma->start;
is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'member back up: the next query works');

# --- faults at every round ----------------------------------------------

my %fatal_round = (prepare => 1, share => 1);
for my $round (qw(prepare share combine reveal finish))
{
	for my $action (qw(stop drop die))
	{
		my $case = "$action at \U$round\E";
		my $query = $round eq 'share' ? $Q_GROUPED : $Q_PLAIN;
		my $expected = $round eq 'share' ? $grouped : $plain;
		my %before = map { my $n = $_; ($n->name => { map { $_ => audit_count($n, $_) }
					qw(success incomplete failed querying) }) } $beta, $gamma;
		my $alpha_success = audit_count($alpha, 'success');

		set_fault($gamma, "$round:$action");
		my ($out, $err, $secs) = run_case($query);

		if ($fatal_round{$round})
		{
			like($err, qr/ERROR:  member "gamma": (member did not answer within $TIMEOUT_MS ms|connection lost)/,
				"$case: the query fails naming the member");
			unlike($out, qr/\Q$expected\E/, "$case: no result");
			is(audit_count($alpha, 'success'), $alpha_success,
				"$case: the querying node records no success");
			# beta had answered PREPARE: its session was closed and recorded
			ok($beta->poll_query_until('postgres',
					"SELECT count(*) = $before{beta}{incomplete} + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
				"$case: beta records its abandoned session as incomplete");
		}
		else
		{
			like($out, qr/^\Q$expected\E$/m, "$case: the result is still correct");
			like($err, qr/NOTICE:  member "gamma" did not finish the joint query: (member did not answer within $TIMEOUT_MS ms|connection lost)/,
				"$case: a NOTICE names the member that did not finish");
			unlike($err, qr/ERROR/, "$case: no error");
			my $rec = $alpha->safe_psql('postgres', q{
				SELECT outcome, unfinished_members, error FROM smpc.audit_log
				 WHERE node_role = 'querying' ORDER BY audit_id DESC LIMIT 1});
			like($rec, qr/^success\|\{gamma\}\|member "gamma" left out: /,
				"$case: the querying node's audit record names the member");
			my $beta_rec = $beta->safe_psql('postgres', q{
				SELECT outcome, coalesce(unfinished_members::text, '') FROM smpc.audit_log
				 WHERE node_role = 'member' ORDER BY audit_id DESC LIMIT 1});
			is($beta_rec, $round eq 'finish' ? 'success|' : 'success|{gamma}',
				"$case: beta's audit record agrees");
		}
		cmp_ok($secs, '<', $TIMEOUT_MS / 1000 + 5,
			"$case: answered within member_timeout (${secs}s)");

		# clear the fault, then nothing may be left behind
		if ($action eq 'die')
		{
			$gamma->poll_query_until('postgres', 'SELECT true') or die 'gamma did not restart';
		}
		set_fault($gamma, '');
		ok(continue_stopped($gamma) > 0, "$case: the member backend was stopped") if $action eq 'stop';
		my ($next) = run_case($Q_PLAIN);
		is($next, $plain, "$case: the next query in the same session works");
		no_peer_backends($_, $case) for $beta, $gamma;
		# What gamma itself recorded: nothing when killed, nor when it
		# dropped before it had a session; a stopped backend, once continued,
		# finishes the round it was in -- FINISH completes the session --
		# and then finds the connection closed.
		my $gamma_outcome =
			$action eq 'die' ? undef
		  : $action eq 'drop' && $round eq 'prepare' ? undef
		  : $action eq 'stop' && $round eq 'finish' ? 'success'
		  : 'incomplete';
		if (defined $gamma_outcome)
		{
			my $want = $before{gamma}{$gamma_outcome} + 1;
			ok($gamma->poll_query_until('postgres',
					"SELECT count(*) = $want FROM smpc.audit_log WHERE outcome = '$gamma_outcome'"),
				"$case: gamma records the session as $gamma_outcome");
		}
		is($gamma->safe_psql('postgres',
				"SELECT count(*) FROM smpc.audit_log WHERE outcome NOT IN ('success','incomplete','refused','failed')"),
			'0', "$case: no other outcome in gamma's audit log");
	}
}

# a member that hangs (waits until interrupted) is left out after
# member_timeout and its backend ends when the connection closes
{
	my $before = audit_count($gamma, 'incomplete');
	set_fault($gamma, 'reveal:hang');
	my ($out, $err, $secs) = run_case($Q_PLAIN);
	like($out, qr/^\Q$plain\E$/m, 'hang at REVEAL: the result is still correct');
	like($err, qr/NOTICE:  member "gamma" did not finish the joint query: member did not answer within $TIMEOUT_MS ms/,
		'hang at REVEAL: the NOTICE names the member and the timeout');
	set_fault($gamma, '');
	no_peer_backends($gamma, 'hang at REVEAL');
	ok($gamma->poll_query_until('postgres',
			"SELECT count(*) = $before + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
		'hang at REVEAL: the hung backend recorded its session as incomplete');
}

# two of three dropping after the shares: too few remain
{
	set_fault($_, 'combine:drop') for $beta, $gamma;
	my ($out, $err) = run_case($Q_PLAIN);
	like($err, qr/ERROR:  too few parties remain to finish the joint query: 1 of the 2 needed/,
		'two members drop: the query fails');
	like($err, qr/DETAIL:  .*member "beta": connection lost.*member "gamma": connection lost|DETAIL:  .*member "gamma": connection lost.*member "beta": connection lost/s,
		'two members drop: the error names both');
	set_fault($_, '') for $beta, $gamma;
	no_peer_backends($_, 'two members drop') for $beta, $gamma;
	is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'two members drop: the next query works');
}

# --- cancel and statement_timeout ----------------------------------------

# statement_timeout at the querying node while a member hangs mid-session
{
	my %inc = map { $_->name => audit_count($_, 'incomplete') } $beta, $gamma;
	set_fault($gamma, 'combine:hang');
	run_case("SET statement_timeout = '1s'");
	my ($out, $err, $secs) = run_case($Q_PLAIN);
	run_case('RESET statement_timeout');
	like($err, qr/ERROR:  canceling statement due to statement timeout/,
		'statement_timeout: the query is cancelled');
	cmp_ok($secs, '<', $TIMEOUT_MS / 1000 + 3, 'statement_timeout: before member_timeout');
	set_fault($gamma, '');
	no_peer_backends($_, 'statement_timeout') for $beta, $gamma;
	for my $n ($beta, $gamma)
	{
		ok($n->poll_query_until('postgres',
				"SELECT count(*) = $inc{$n->name} + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
			'statement_timeout: ' . $n->name . ' records the session as incomplete');
	}
}

# pg_cancel_backend of the querying backend while a member hangs in PREPARE
{
	set_fault($gamma, 'prepare:hang');
	my ($out, $err) = ('', '');
	my $h = start_psql($alpha, $Q_PLAIN, \$out, \$err);
	ok($alpha->poll_query_until('postgres',
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE query LIKE 'SELECT smpc_sum%' AND state = 'active'"),
		'cancel: the joint query is running');
	ok($gamma->poll_query_until('postgres',
			"SELECT count(*) >= 1 FROM pg_stat_activity WHERE usename = 'smpc_peer' AND state = 'active'"),
		'cancel: the member is busy with it');
	my $t0 = time;
	$alpha->safe_psql('postgres',
		"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT smpc_sum%' AND state = 'active'");
	$h->finish;
	like($err, qr/ERROR:  canceling statement due to user request/, 'cancel: the query is cancelled');
	cmp_ok(time - $t0, '<', 3, 'cancel: promptly');
	set_fault($gamma, '');
	no_peer_backends($_, 'cancel') for $beta, $gamma;
	is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'cancel: the next query works');
}

# --- a member that lies ----------------------------------------------------

# With three parties and threshold 1 a lie is detected but cannot be
# corrected: an opening that does not match its commitment names the liar;
# a wrong share-sum makes the three share-sums inconsistent.
{
	my $s0 = audit_count($alpha, 'success');
	set_fault($gamma, 'reveal:lie');
	my ($out, $err) = run_case($Q_PLAIN);
	like($err, qr/ERROR:  participant "gamma" opened share-sums that do not match its commitment/,
		'lying opening: detected and the liar named');
	is($out, '', 'lying opening: no result');

	set_fault($gamma, 'combine:lie');
	($out, $err) = run_case($Q_PLAIN);
	like($err, qr/ERROR:  the participants' share-sums are inconsistent/,
		'lying share-sum: detected');
	is($out, '', 'lying share-sum: no result');
	set_fault($gamma, '');
	is(audit_count($alpha, 'success'), $s0, 'lies: no success recorded');
	is((run_case($Q_PLAIN))[0], $plain, 'lies: the next query works');
	no_peer_backends($_, 'lies') for $beta, $gamma;
}

# --- limits ------------------------------------------------------------------

# smpc.max_sessions: a member refuses a session beyond its limit
{
	$gamma->safe_psql('postgres', "ALTER SYSTEM SET smpc.max_sessions = 1; SELECT pg_reload_conf()");
	$gamma->poll_query_until('postgres', "SELECT current_setting('smpc.max_sessions') = '1'");
	set_fault($gamma, 'combine:hang');
	my ($out, $err) = ('', '');
	my $h = start_psql($alpha, "SET statement_timeout = '20s'; $Q_PLAIN", \$out, \$err);
	ok($gamma->poll_query_until('postgres',
			"SELECT count(*) >= 1 FROM pg_stat_activity WHERE usename = 'smpc_peer' AND wait_event = 'Extension'"),
		'max_sessions: one session is in progress on gamma');
	my ($rc, $o2, $e2) = $beta->psql('postgres', $Q_PLAIN);
	like($e2, qr/ERROR:  member "gamma": this member already takes part in 1 joint sessions/,
		'max_sessions: a second session is refused with the limit named');
	like($e2, qr/HINT:  .*smpc\.max_sessions/, 'max_sessions: the hint names the setting');
	$h->finish;
	set_fault($gamma, '');
	$gamma->safe_psql('postgres', "ALTER SYSTEM RESET smpc.max_sessions; SELECT pg_reload_conf()");
	no_peer_backends($_, 'max_sessions') for $beta, $gamma;
	is($beta->safe_psql('postgres', $Q_PLAIN), $plain, 'max_sessions: the slot is free again');
}

# smpc.session_timeout: a member whose querying node goes silent between
# rounds ends the session on its own
{
	my $before = audit_count($beta, 'incomplete');
	$beta->safe_psql('postgres', "ALTER SYSTEM SET smpc.session_timeout = '1s'; SELECT pg_reload_conf()");
	$beta->poll_query_until('postgres', "SELECT current_setting('smpc.session_timeout') = '1s'");
	# gamma stops at COMBINE, so alpha waits member_timeout while beta idles
	set_fault($gamma, 'combine:hang');
	$alpha->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET member_timeout '6s')");
	my ($out, $err) = run_case($Q_PLAIN);
	ok($beta->poll_query_until('postgres',
			"SELECT count(*) = $before + 1 FROM smpc.audit_log WHERE outcome = 'incomplete'"),
		'session_timeout: the idle member recorded the session as incomplete');
	like(slurp_file($beta->logfile), qr/terminating connection due to idle-session timeout/,
		'session_timeout: the member closed the idle connection');
	like($err, qr/ERROR:  too few parties remain|ERROR:  member "beta"/,
		'session_timeout: the querying node learns that beta left');
	set_fault($gamma, '');
	$alpha->safe_psql('postgres', "ALTER SERVER research OPTIONS (SET member_timeout '${TIMEOUT_MS}ms')");
	$beta->safe_psql('postgres', "ALTER SYSTEM RESET smpc.session_timeout; SELECT pg_reload_conf()");
	no_peer_backends($_, 'session_timeout') for $beta, $gamma;
	is($alpha->safe_psql('postgres', $Q_PLAIN), $plain, 'session_timeout: the next query works');
}

# smpc.exchange runs only as a statement of its own, so that no caller can
# roll back the member's audit record after it answered
for my $sql ("BEGIN; SELECT smpc.exchange('\\xdeadbeef'); ROLLBACK;",
	"SELECT smpc.exchange('\\xdeadbeef'), 1",
	"SELECT smpc.exchange('\\xdeadbeef') UNION ALL SELECT '\\x00'",
	"SELECT x FROM smpc.exchange('\\xdeadbeef') x")
{
	my ($rc, $o, $e) = $gamma->psql('postgres', $sql);
	like($e, qr/smpc\.exchange must be called on its own, outside a transaction block/,
		"exchange refused inside a larger statement or transaction: $sql");
}
{
	# two statements in one query string share one implicit transaction
	my ($o, $e) = ('', '');
	my $h = start_psql($gamma, "SELECT smpc.exchange('\\xdeadbeef'); SELECT 1", \$o, \$e);
	$h->finish;
	like($e, qr/smpc\.exchange must be called on its own, outside a transaction block/,
		'exchange refused as one of several statements in a query string');
}
{
	my ($rc, $o, $e) = $gamma->psql('postgres', "SELECT smpc.exchange('\\xdeadbeef')");
	like($e, qr/malformed smpc request/, 'exchange on its own gets to the message checks');
}

# nothing in any server log that should never happen
for my $n (@nodes)
{
	my $log = slurp_file($n->logfile);
	unlike($log, qr/PANIC|TRAP:|server process .* was terminated by signal (?!9)/,
		$n->name . ': no crash other than the injected SIGKILLs');
}

done_testing();
