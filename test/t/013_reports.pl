# Scheduled joint reports (smpc.schedule_report and the background
# scheduler) across three nodes: alpha is the querying node where the
# reports live, beta and gamma are the other members.  Every report row is
# checked against the same query run by PostgreSQL over the plaintext union
# of the three members' base tables (copied from the nodes themselves after
# every change of data, each copy valid for the runs that started after the
# change).
#
#  1. a report every 2 seconds, scheduled by a non-superuser analyst: runs,
#     rows per run equal the plaintext, history rows, target table owned by
#     the analyst, the joint sessions in every node's audit log;
#  2. a member down: failed runs naming it, retries with backoff, recovery;
#  3. restarts of the querying node: the schedule continues, ONE catch-up run
#     for slots missed while down, a run cut by an immediate shutdown is
#     marked interrupted;
#  4. one run per report at a time: run_report while a run hangs on a
#     SIGSTOPped member (55006, skipped), bursts of run_report(wait => false)
#     with the scheduler, never two overlapping runs;
#  5. privileges (USAGE on the federation, report owners, the views), pause,
#     resume, unschedule;
#  6. nothing left behind.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use JSON::PP ();
use List::Util qw(max min);
use Time::HiRes qw(time usleep);
use SmpcNode;
use SmpcJoint ();

my $MGS = 2;        # min_group_size
my $TIMEOUT = 5;    # member_timeout, seconds: how long a run hangs on a stopped member
my $seed = SmpcJoint::init_seed();
my $T_START = time;

my @names = qw(alpha beta gamma);

# region (some NULL; one group of a single row per member, withheld),
# x int, y numeric(10,2), both sometimes NULL
sub gen_t_rows
{
	my ($name, $n) = @_;
	my @rows;
	for (1 .. $n)
	{
		push @rows, [
			rand() < 0.08 ? undef : SmpcJoint::pick(qw(north south east west)),
			rand() < 0.1 ? undef : int(rand(2001)) - 1000,
			rand() < 0.1 ? undef : sprintf('%.2f', rand(10000) - 5000) ];
	}
	push @rows, [ "solo_$name", int(rand(100)), '1.50' ];
	return \@rows;
}

my @nodes = start_members(3, names => \@names, conf => "max_worker_processes = 16\n");
my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => $MGS,
	member_timeout => "${TIMEOUT}s",
	prepare => sub {
		my ($n, $name) = @_;
		$n->safe_psql('postgres',
			"CREATE SCHEMA data;\nCREATE TABLE data.t (region text, x int, y numeric(10,2));\n"
			  . "COPY data.t FROM STDIN;\n"
			  . SmpcJoint::copy_text(gen_t_rows($name, 25 + int(rand(20)))) . "\\.\n");
	},
	publish => [ { dataset => 't', relation => 'data.t', columns => [qw(region x y)],
			group_keys => { region => 'reveal' } } ]);
my ($alpha, $beta, $gamma) = @nodes;

# gamma's postmaster is SIGSTOPped in some cases; never leave it so
my $gamma_stopped = 0;
sub stop_gamma_postmaster { kill 'STOP', $gamma->{_pid}; $gamma_stopped = 1; }
sub cont_gamma_postmaster { kill 'CONT', $gamma->{_pid}; $gamma_stopped = 0; }
END { kill 'CONT', $gamma->{_pid} if $gamma_stopped && $gamma && $gamma->{_pid}; }

# --- roles -------------------------------------------------------------------
# analyst: schedules the reports (not a superuser); bi: may run joint
# queries; nousage: SELECT on the table but no USAGE on the federation;
# reader: only reads a report's table; intruder: may use the report
# functions but owns none of the reports; nologin_analyst: everything but
# LOGIN; monitor: pg_read_all_stats.
my $FUNCS = 'smpc.schedule_report(text, text, text, text, integer, interval, boolean), '
  . 'smpc.unschedule_report(text), smpc.pause_report(text), smpc.resume_report(text), '
  . 'smpc.run_report(text, boolean)';
$alpha->safe_psql('postgres', qq{
	CREATE ROLE analyst LOGIN;
	CREATE ROLE bi LOGIN;
	CREATE ROLE nousage LOGIN;
	CREATE ROLE reader LOGIN;
	CREATE ROLE intruder LOGIN;
	CREATE ROLE nologin_analyst NOLOGIN;
	CREATE ROLE monitor LOGIN IN ROLE pg_read_all_stats;
	GRANT USAGE ON FOREIGN SERVER research TO analyst, bi, intruder, nologin_analyst;
	GRANT USAGE ON SCHEMA federation TO analyst, bi, nousage, reader, intruder, nologin_analyst;
	GRANT SELECT ON federation.t TO analyst, bi, nousage, intruder, nologin_analyst;
	CREATE SCHEMA reports;
	GRANT USAGE, CREATE ON SCHEMA reports TO analyst, nousage, nologin_analyst;
	GRANT USAGE ON SCHEMA reports TO reader;
	GRANT EXECUTE ON FUNCTION $FUNCS TO analyst, intruder, nousage, nologin_analyst;
	CREATE SCHEMA plain;
	CREATE TABLE plain.t (member text, region text, x int, y numeric(10,2));
});

# --- helpers -----------------------------------------------------------------

sub ts { return sprintf('to_timestamp(%.6f)', $_[0]); }

# $sql at $node as $role (psql as that user); hash: rc, out, err, sqlstate, message
sub sql_as
{
	my ($node, $role, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		connstr => $node->connstr('postgres') . (defined $role ? " user=$role" : ''));
	my %r = (rc => $rc, out => $out, err => $err);
	($r{sqlstate}, $r{message}) = $err =~ /ERROR:  ([0-9A-Z]{5}): (.*)$/m;
	return \%r;
}

sub ok_as
{
	my ($role, $sql, $name) = @_;
	my $r = sql_as($alpha, $role, $sql);
	is($r->{rc}, 0, $name) or diag("  $role: $sql\n  $r->{err}");
	return $r->{out};
}

sub denied_as
{
	my ($role, $sql, $state, $re, $name) = @_;
	my $r = sql_as($alpha, $role, $sql);
	ok($r->{rc} != 0 && ($r->{sqlstate} // '') eq $state && ($r->{message} // '') =~ $re,
		"$name: $state") or diag("  $role: $sql\n  rc $r->{rc}, out: $r->{out}\n  $r->{err}");
	return $r;
}

sub aq { return $alpha->safe_psql('postgres', $_[0]); }

# the runs of a report (report_runs as superuser), oldest first; times as epoch
sub runs_of
{
	my ($name, $where) = @_;
	$where = $where ? "AND ($where)" : '';
	my $json = aq(qq{
		SELECT coalesce(json_agg(j ORDER BY run_id), '[]') FROM (
		  SELECT run_id, trigger, attempt, status, rows, error, sqlstate, pid,
		         extract(epoch FROM scheduled_for)::float8 AS sched,
		         extract(epoch FROM started_at)::float8 AS started,
		         extract(epoch FROM finished_at)::float8 AS finished,
		         (SELECT array_agg(encode(s, 'hex')) FROM unnest(session_ids) s) AS sessions
		    FROM smpc.report_runs WHERE report_name = '$name' $where) j});
	return @{ JSON::PP::decode_json($json) };
}

sub fmt_run
{
	my ($r) = @_;
	return sprintf('run %s %s attempt %s %s sched %s started %.3f finished %s rows %s %s %s',
		$r->{run_id}, $r->{trigger}, $r->{attempt} // '-', $r->{status},
		defined $r->{sched} ? sprintf('%.3f', $r->{sched} - $T_START) : '-',
		$r->{started} - $T_START,
		defined $r->{finished} ? sprintf('%.3f', $r->{finished} - $T_START) : '-',
		$r->{rows} // '-', $r->{sqlstate} // '', $r->{error} // '');
}
sub fmt_runs { return join('', map { '    ' . fmt_run($_) . "\n" } @_) || "    (no runs)\n"; }

# the reports: query, target, and the same query over the plaintext union
# (with the min_group_size rule); kinds as in SmpcJoint::same_rows
my %REPORT = (
	by_region => {
		query => 'SELECT region, sum(x), count(*), avg(y) FROM federation.t GROUP BY region',
		target => 'reports.by_region',
		plain => "SELECT region, sum(x), count(*), avg(y) FROM plain.t GROUP BY region HAVING count(*) >= $MGS",
		kinds => [qw(key int int numx)],
		columns => 'run_id:bigint,run_at:timestamp with time zone,region:text,sum:bigint,count:bigint,avg:numeric' },
	retried => {
		query => 'SELECT region, smpc_sum(x) AS sx, smpc_count(*) AS n FROM federation.t GROUP BY region',
		target => 'reports.retried',
		plain => "SELECT region, sum(x), count(*) FROM plain.t GROUP BY region HAVING count(*) >= $MGS",
		kinds => [qw(key int int)] },
	manual_only => {
		query => 'SELECT smpc_avg(x) AS ax, smpc_count(y) AS ny, sum(y) AS sy FROM federation.t WHERE x > 0;',
		target => 'reports.manual_only',
		plain => "SELECT avg(x), count(y), sum(y) FROM plain.t WHERE x > 0 HAVING count(*) >= $MGS",
		kinds => [qw(numx int numx)] },);

# plaintext versions: each valid for the runs started after its "from"
my @versions;
sub snapshot_plain
{
	my ($from) = @_;
	aq('TRUNCATE plain.t');
	for my $n (@nodes)
	{
		my $data = $n->safe_psql('postgres',
			"COPY (SELECT '" . $n->name . "', region, x, y FROM data.t) TO STDOUT");
		aq("COPY plain.t FROM STDIN;\n$data\n\\.\n");
	}
	my %exp = map {
		$_ => SmpcJoint::split_rows(aq("\\pset null <NULL>\n$REPORT{$_}{plain}"))
	} keys %REPORT;
	push @versions, { from => $from, exp => \%exp };
	return;
}

sub expected_for
{
	my ($report, $started) = @_;
	my @v = grep { $_->{from} <= $started } @versions;
	return $v[-1]{exp}{$report};
}

# rows of a report's target table by run_id (without run_id and run_at)
sub target_rows
{
	my ($report) = @_;
	my $t = $REPORT{$report}{target};
	return {} unless aq("SELECT to_regclass('$t') IS NOT NULL") eq 't';
	my %by;
	for my $r (@{ SmpcJoint::split_rows(aq("\\pset null <NULL>\nSELECT * FROM $t ORDER BY run_id")) })
	{
		my ($id, $at, @rest) = @$r;
		push @{ $by{$id} }, \@rest;
	}
	return \%by;
}

# every succeeded run in @runs has exactly the plaintext rows of its time
# in the target, and "rows" says how many
sub check_runs_match
{
	my ($report, $label, @runs) = @_;
	my $rows = target_rows($report);
	my @ok = grep { $_->{status} eq 'succeeded' } @runs;
	my @bad;
	for my $r (@ok)
	{
		my $got = $rows->{ $r->{run_id} } // [];
		my $exp = expected_for($report, $r->{started});
		my ($same, $why) = SmpcJoint::same_rows($got, $exp, $REPORT{$report}{kinds}, 0);
		push @bad, fmt_run($r) . "\n  $why\n  got:\n" . SmpcJoint::format_rows($got)
		  . "  expected:\n" . SmpcJoint::format_rows($exp)
		  unless $same;
		push @bad, fmt_run($r) . ': rows = ' . ($r->{rows} // 'NULL') . ' but ' . scalar(@$got)
		  . ' rows in the target'
		  unless defined $r->{rows} && $r->{rows} == @$got;
	}
	ok(@ok && !@bad, "$label: each of the " . scalar(@ok)
		  . " successful runs of $report added exactly the plaintext result")
	  or diag("  seed $seed\n  " . join("\n  ", @bad) . "\n  runs:\n" . fmt_runs(@runs));
	return;
}

# the joint sessions of these (successful) runs: recorded by alpha as the
# querying node for the analyst, by beta and gamma as members, each once
sub check_run_audit
{
	my ($label, @runs) = @_;
	my @ids = map { @{ $_->{sessions} // [] } } @runs;
	my @none = grep { !@{ $_->{sessions} // [] } } @runs;
	ok(@runs && !@none, "$label: every run lists its joint session ids")
	  or diag(fmt_runs(@none));
	my %u = map { $_ => 1 } @ids;
	is(scalar(keys %u), scalar(@ids), "$label: no session id shared by two runs");
	my $arr = 'ARRAY[' . join(',', map { "'$_'" } @ids) . ']::text[]';
	is(aq(qq{SELECT count(DISTINCT session_id) FROM smpc.audit_log
	         WHERE encode(session_id, 'hex') = ANY($arr) AND node_role = 'querying'
	           AND outcome = 'success' AND initiator_role = 'analyst'}),
		scalar(keys %u), "$label: alpha's audit log: each session a success as the querying node, initiator_role analyst");
	for my $m ($beta, $gamma)
	{
		is($m->safe_psql('postgres', qq{SELECT count(DISTINCT session_id) FROM smpc.audit_log
		         WHERE encode(session_id, 'hex') = ANY($arr) AND node_role = 'member'
		           AND outcome = 'success' AND initiator_node = 'alpha' AND initiator_role = 'analyst'}),
			scalar(keys %u), "$label: " . $m->name . "'s audit log: each session a success as a member");
	}
	return;
}

# non-skipped runs whose [started_at, finished_at] overlap
sub overlapping
{
	my @r = sort { $a->{started} <=> $b->{started} } grep { $_->{status} ne 'skipped' } @_;
	my @bad;
	for my $i (1 .. $#r)
	{
		my $prev_end = $r[ $i - 1 ]{finished} // 9e99;
		push @bad, fmt_run($r[ $i - 1 ]) . "\n    overlaps " . fmt_run($r[$i])
		  if $r[$i]{started} < $prev_end;
	}
	return @bad;
}

# slots of an interval schedule are whole intervals apart
sub on_grid
{
	my ($d, $step) = @_;
	my $k = int($d / $step + 0.5);
	return $k >= 1 && abs($d - $k * $step) < 0.05;
}

my $RUNNING_MAX_SQL = q{SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM smpc.report_runs
	WHERE status = 'running' GROUP BY report_id) s};

# poll $cond_sql in $mon every ~50 ms (up to $secs), sampling how many runs
# of one report are 'running' at once; returns (condition met, max seen)
my $mon;
sub sample_until
{
	my ($cond_sql, $secs) = @_;
	my ($max, $met) = (0, 0);
	my $end = time + $secs;
	while (time < $end)
	{
		my ($c, $done) = split /\|/, $mon->query_safe("SELECT ($RUNNING_MAX_SQL), ($cond_sql)");
		$max = $c if $c > $max;
		if ($done eq 't') { $met = 1; last; }
		usleep(50_000);
	}
	return ($met, $max);
}

# $n concurrent run_report(..., wait => false) calls by the analyst; run ids
sub fire_runs
{
	my ($report, $n) = @_;
	my (@h, @out, @err);
	for my $i (0 .. $n - 1)
	{
		($out[$i], $err[$i]) = ('', '');
		push @h, IPC::Run::start(
			[ 'psql', '-XAtq', '-d', $alpha->connstr('postgres') . ' user=analyst',
			  '-c', "SELECT smpc.run_report('$report', wait => false)" ],
			'>', \$out[$i], '2>', \$err[$i]);
	}
	$_->finish for @h;
	chomp @out;
	my @ids = grep { /^\d+$/ } @out;
	is(scalar(@ids), $n, "$n concurrent run_report($report, wait => false) each return a run id")
	  or diag(join("\n", @out, @err));
	return @ids;
}

sub running_none_sql
{
	my ($report, $extra) = @_;
	return "SELECT count(*) = 0 FROM smpc.report_runs WHERE report_name = '$report' AND status = 'running'"
	  . ($extra ? " AND $extra" : '');
}

snapshot_plain(0);

# --- 1. a report every 2 seconds ------------------------------------------------

is(aq("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'smpc scheduler'"), '1',
	'alpha runs one scheduler launcher');

my $t1 = time;
my $r = sql_as($alpha, 'analyst', qq{SET search_path = reports, public;
	SELECT extract(epoch FROM smpc.schedule_report('by_region', '2 seconds',
	  '$REPORT{by_region}{query}', 'by_region'))::float8});
is($r->{rc}, 0, 'the analyst schedules by_region every 2 seconds, target unqualified') or diag($r->{err});
my $first = $r->{out} || 0;
ok($first >= $t1 - 0.01 && $first <= time + 2.05, 'schedule_report returns the first run time, within one interval')
  or diag("first run at " . ($first - $t1) . " s after the call");
is(aq(q{SELECT owner::text || '|' || target || '|' || paused || '|' || max_retries || '|' || retry_delay
        FROM smpc.reports WHERE report_name = 'by_region'}),
	'analyst|reports.by_region|false|3|00:01:00',
	'smpc.reports: owned by the analyst, target qualified with its creation schema, defaults');
ok_as('analyst', qq{SELECT smpc.schedule_report('manual_only', '\@yearly',
	  '$REPORT{manual_only}{query}', 'reports.manual_only', retry_delay => '1 second')},
	'a report on a cron schedule (@yearly), its query with a trailing semicolon');

ok($alpha->poll_query_until('postgres', q{SELECT count(*) >= 2 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'succeeded'}),
	'by_region: two successful runs');
{
	my $id = ok_as('analyst', "SELECT smpc.run_report('manual_only')", 'run_report waits for a manual run');
	my ($m) = runs_of('manual_only', "run_id = " . ($id =~ /^\d+$/ ? $id : 0));
	ok($m && $m->{status} eq 'succeeded' && $m->{trigger} eq 'manual' && !defined $m->{sched}
		  && $m->{attempt} == 1 && defined $m->{finished},
		'the manual run: succeeded, trigger manual, no scheduled_for') or diag(fmt_runs(grep { defined } $m));
}

my @p1 = grep { $_->{status} ne 'running' } runs_of('by_region');
ok(!grep({ $_->{status} ne 'succeeded' } @p1), 'by_region: every run so far succeeded')
  or diag(fmt_runs(@p1));
ok(!grep({ !($_->{trigger} eq 'schedule' && $_->{attempt} == 1 && defined $_->{sched}
			&& $_->{started} >= $_->{sched} - 0.001 && $_->{finished} >= $_->{started}
			&& !defined $_->{error} && !defined $_->{sqlstate}) } @p1),
	'by_region: runs are trigger schedule, attempt 1, started at or after their slot, no error')
  or diag(fmt_runs(@p1));
ok(!grep({ !on_grid($p1[$_]{sched} - $p1[ $_ - 1 ]{sched}, 2) } 1 .. $#p1),
	'by_region: slots are 2 seconds apart') or diag(fmt_runs(@p1));
check_runs_match('by_region', 'a report every 2 seconds', @p1);
check_runs_match('manual_only', 'a manual run', runs_of('manual_only'));
is(aq(q{SELECT count(*) FROM reports.by_region t JOIN smpc.report_runs r USING (run_id)
        WHERE t.run_at IS DISTINCT FROM r.started_at}), '0', 'run_at is the run\'s started_at');
is(aq(q{SELECT pg_get_userbyid(relowner) || ' ' || relkind::text FROM pg_class WHERE oid = 'reports.by_region'::regclass}),
	'analyst r', 'the target is an ordinary table owned by the analyst');
is(aq(q{SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
        FROM pg_attribute WHERE attrelid = 'reports.by_region'::regclass AND attnum > 0 AND NOT attisdropped}),
	$REPORT{by_region}{columns}, 'the target has run_id, run_at, then the query\'s columns');
check_run_audit('by_region runs', @p1);

# --- 2. a member down: failures, retries with backoff, recovery ---------------

$gamma->stop;
my $t_down = time;
# beta's data change while gamma is down (every run fails meanwhile)
$beta->safe_psql('postgres', q{INSERT INTO data.t VALUES
	('north', 5000, 12.34), ('late', 1, 1.00), ('late', 2, 2.00), ('east', NULL, 99.99)});
my $v2_from = time;

ok_as('analyst', qq{SELECT smpc.schedule_report('retried', '10 seconds', '$REPORT{retried}{query}',
	  'reports.retried', max_retries => 2, retry_delay => '1 second')},
	'a report every 10 seconds, 2 retries 1 second apart');
{
	$r = sql_as($alpha, 'analyst', "SELECT smpc.run_report('manual_only')");
	my ($id) = ($r->{message} // '') =~ /^report "manual_only" run (\d+) failed: /;
	ok($r->{rc} != 0 && defined $id && $r->{message} =~ /member "gamma"/,
		'member down: run_report raises the run\'s error, naming the member') or diag($r->{err});
	my ($m) = runs_of('manual_only', 'run_id = ' . ($id // 0));
	ok($m && $m->{status} eq 'failed' && $m->{trigger} eq 'manual' && ($m->{error} // '') =~ /member "gamma"/
		  && defined $m->{sqlstate} && $m->{sqlstate} eq ($r->{sqlstate} // ''),
		'the failed manual run is recorded with the error and the SQLSTATE run_report raised')
	  or diag(fmt_runs(grep { defined } $m) . "  raised: " . ($r->{sqlstate} // ''));
}
ok($alpha->poll_query_until('postgres', q{SELECT count(*) = 1 FROM smpc.report_runs
	  WHERE report_name = 'retried' AND attempt = 3 AND status <> 'running'}),
	'retried: the second retry is done');
is(aq("SELECT to_regclass('reports.retried') IS NULL"), 't', 'retried: failed runs created no target table');
my $t_up_begin = time;
$gamma->start;
my $t_up = time;

ok($alpha->poll_query_until('postgres', q{SELECT count(*) > 0 FROM smpc.report_runs
	  WHERE report_name = 'retried' AND status = 'succeeded'}),
	'retried: a run succeeds once the member is back');
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) > 0 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'succeeded' AND started_at > @{[ ts($t_up) ]}}),
	'by_region: runs succeed again once the member is back');
snapshot_plain($v2_from);
{
	my @rr = runs_of('retried');
	my ($a1, $a2, $a3) = @rr;
	my $failed_ok = sub {
		my ($x, $trigger, $attempt) = @_;
		return $x && $x->{status} eq 'failed' && $x->{trigger} eq $trigger && $x->{attempt} == $attempt
		  && ($x->{error} // '') =~ /member "gamma"/ && ($x->{sqlstate} // '') =~ /^[0-9A-Z]{5}$/;
	};
	ok($failed_ok->($a1, 'schedule', 1), 'member down: the scheduled run failed, naming the member, with a SQLSTATE')
	  or diag(fmt_runs(@rr));
	ok($failed_ok->($a2, 'retry', 2) && $failed_ok->($a3, 'retry', 3),
		'member down: retried twice (trigger retry, attempts 2 and 3), failing the same way')
	  or diag(fmt_runs(@rr));
	if ($a3)
	{
		my $g1 = $a2->{started} - $a1->{finished};
		my $g2 = $a3->{started} - $a2->{finished};
		ok($g1 >= 1 - 0.005 && $g2 >= 2 - 0.005 && $g2 > $g1,
			sprintf('retries back off: %.2f s >= 1 s, then %.2f s >= 2 s', $g1, $g2))
		  or diag(fmt_runs(@rr));
	}
	else { fail('retries back off'); }
	ok(!grep({ ($_->{attempt} // 0) > 3 } @rr), 'no more than max_retries retries') or diag(fmt_runs(@rr));
	my $next = $rr[3];
	ok($next && $next->{trigger} eq 'schedule' && $next->{attempt} == 1
		  && on_grid($next->{sched} - $a1->{sched}, 10),
		'after the last retry the next run is the next regular slot') or diag(fmt_runs(@rr));
	my ($back) = grep { $_->{started} > $t_up } @rr;
	ok($back && $back->{status} eq 'succeeded', 'retried: the first run once the member is back succeeds')
	  or diag(fmt_runs(@rr));
	check_runs_match('retried', 'recovery', @rr);

	my @down = runs_of('by_region', "started_at > @{[ ts($t_down) ]} AND started_at < @{[ ts($t_up_begin) ]}");
	ok(@down && !grep({ !($_->{status} eq 'failed' && ($_->{error} // '') =~ /member "gamma"/
					&& ($_->{sqlstate} // '') =~ /^[0-9A-Z]{5}$/) } @down),
		'by_region: every run while the member was down failed, naming it, with a SQLSTATE')
	  or diag(fmt_runs(@down));
	my @up = runs_of('by_region', "started_at > @{[ ts($t_up) ]}");
	ok(@up && $up[0]{status} eq 'succeeded', 'by_region: the first run once the member is back succeeds')
	  or diag(fmt_runs(@up));
	check_runs_match('by_region', 'by_region after recovery (new data on beta)', @up);
}
ok_as('analyst', "SELECT smpc.unschedule_report('retried')", 'retried is unscheduled');
my $t_unsched_retried = time;

# --- 3. restarts of the querying node ------------------------------------------

$alpha->restart;
my $t_restart = time;
ok($alpha->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'smpc scheduler'"),
	'after a restart the launcher runs again');
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) > 0 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'succeeded' AND trigger = 'schedule'
	    AND started_at > @{[ ts($t_restart) ]}}),
	'the schedule continues after a restart');

# missed slots: down for 7 seconds (3 slots or more)
my $t_stop_begin = time;
$alpha->stop;
my $t_stop_end = time;
sleep 7;    # not synchronisation: slots must pass while the server is down
my $t_start_begin = time;
$alpha->start;
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) >= 2 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'succeeded' AND trigger = 'schedule'
	    AND started_at > @{[ ts($t_start_begin) ]}}),
	'after the missed slots: two regular runs');
{
	my @after = runs_of('by_region', "started_at > @{[ ts($t_stop_end) ]}");
	my @catch = grep { $_->{trigger} eq 'catch-up' } @after;
	is(scalar(@catch), 1, 'exactly one catch-up run for the slots missed while down')
	  or diag(fmt_runs(@after));
	my @before = runs_of('by_region', "started_at < @{[ ts($t_stop_end) ]} AND trigger = 'schedule'");
	my $last_slot = max(map { $_->{sched} } @before);
	my $c = $catch[0];
	ok($c && $after[0]{run_id} == $c->{run_id} && $c->{status} eq 'succeeded'
		  && abs($c->{sched} - ($last_slot + 2)) < 0.05 && $c->{sched} < $t_start_begin,
		'the catch-up run comes first, succeeds, for the oldest missed slot')
	  or diag(sprintf("  last slot before the stop %.3f, stopped %.3f-%.3f, started %.3f\n",
			$last_slot - $T_START, $t_stop_begin - $T_START, $t_stop_end - $T_START,
			$t_start_begin - $T_START) . fmt_runs(@after));
	my @rest = grep { !$c || $_->{run_id} > $c->{run_id} } @after;
	ok(@rest && !grep({ $_->{trigger} ne 'schedule' || $_->{sched} < $t_start_begin - 0.01 } @rest),
		'then regular runs, from the next slot after the start')
	  or diag(fmt_runs(@after));
}

# a run cut by an immediate shutdown: it hangs on gamma, whose postmaster is
# stopped, until alpha goes down
stop_gamma_postmaster();
my $t_hang = time;
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'running' AND started_at > @{[ ts($t_hang) ]}}),
	'a run hangs on the stopped member');
my $cut = aq(qq{SELECT max(run_id) FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'running' AND started_at > @{[ ts($t_hang) ]}});
$alpha->stop('immediate');
cont_gamma_postmaster();
$alpha->start;
ok($alpha->poll_query_until('postgres', "SELECT status <> 'running' FROM smpc.report_runs WHERE run_id = $cut"),
	'after the restart the cut run is no longer running');
{
	my ($c) = runs_of('by_region', "run_id = $cut");
	ok($c->{status} eq 'failed' && ($c->{error} // '') =~ /interrupted/ && defined $c->{finished},
		'the run cut by an immediate shutdown is marked failed: interrupted') or diag(fmt_runs($c));
	is(aq("SELECT count(*) FROM reports.by_region WHERE run_id = $cut"), '0', '... and added no rows');
}

# --- 4. one run at a time -------------------------------------------------------

$mon = $alpha->background_psql('postgres', timeout => 600);
stop_gamma_postmaster();
my $t_hang2 = time;
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'running' AND started_at > @{[ ts($t_hang2) ]}}),
	'a scheduled run hangs on the stopped member');
my $hung = aq(qq{SELECT max(run_id) FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'running' AND started_at > @{[ ts($t_hang2) ]}});
like(aq(qq{SELECT a.usename || '|' || a.application_name || '|'
	         || (SELECT count(*) FROM pg_locks l WHERE l.pid = r.pid AND l.locktype = 'object' AND l.granted)
	        FROM smpc.report_runs r JOIN pg_stat_activity a ON a.pid = r.pid AND a.backend_type = 'smpc report'
	       WHERE r.run_id = $hung}),
	qr/^analyst\|smpc report by_region\|[1-9]\d*$/,
	'the run\'s worker: logged in as the owner, named after the report, holding its lock');
{
	my $t = time;
	denied_as('analyst', "SELECT smpc.run_report('by_region')", '55006',
		qr/report "by_region" is already running/, 'run_report while a run is in progress');
	my @s = runs_of('by_region', "trigger = 'manual' AND started_at > @{[ ts($t) ]}");
	ok(@s == 1 && $s[0]{status} eq 'skipped' && defined $s[0]{finished},
		'... recorded as a skipped run') or diag(fmt_runs(@s));
}
my @burst = fire_runs('by_region', 3);
my ($met, $maxrun) = sample_until("SELECT status <> 'running' FROM smpc.report_runs WHERE run_id = $hung",
	$TIMEOUT + 30);
ok($met, 'the hanging run ends (member_timeout)');
is($maxrun, 1, 'exactly one running run of the report at any time while it hung');
cont_gamma_postmaster();
ok($alpha->poll_query_until('postgres',
		running_none_sql('by_region', 'run_id IN (' . join(',', @burst, 0) . ')')),
	'the concurrent manual runs are done');
{
	my ($h) = runs_of('by_region', "run_id = $hung");
	ok($h->{status} eq 'failed' && ($h->{error} // '') =~ /member "gamma"/ && ($h->{sqlstate} // '') =~ /^[0-9A-Z]{5}$/,
		'the hanging run failed naming the member, with a SQLSTATE') or diag(fmt_runs($h));
	is(aq("SELECT count(*) FROM reports.by_region WHERE run_id = $hung"), '0', '... and added no rows');
	my @sess = @{ $h->{sessions} // [] };
	ok(@sess, '... its joint session id is recorded');
	my $arr = 'ARRAY[' . join(',', (map { "'$_'" } @sess), "'-'") . ']::text[]';
	ok($beta->poll_query_until('postgres', qq{SELECT count(DISTINCT session_id) = @{[ scalar @sess ]}
		  FROM smpc.audit_log WHERE encode(session_id, 'hex') = ANY($arr)}),
		'... and beta, which it reached, audited that session');
	is(aq("SELECT count(*) FROM smpc.audit_log WHERE encode(session_id, 'hex') = ANY($arr)"), '0',
		'... which alpha did not record (the failed query rolled back)');
	my @b = runs_of('by_region', 'run_id IN (' . join(',', @burst, 0) . ')');
	ok(@b == 3 && !grep({ $_->{status} ne 'skipped' || $_->{trigger} ne 'manual' } @b),
		'run_report(wait => false) while a run hangs: each recorded as skipped') or diag(fmt_runs(@b));
	# the slots that passed meanwhile: not skipped, run once after it
	ok($alpha->poll_query_until('postgres', qq{SELECT count(*) >= 2 FROM smpc.report_runs
		  WHERE report_name = 'by_region' AND trigger = 'schedule' AND status <> 'running'
		    AND started_at >= @{[ ts($h->{finished}) ]}}),
		'scheduled runs resume after the hanging run');
	my @during = runs_of('by_region', "trigger <> 'manual' AND started_at > @{[ ts($h->{started}) ]}"
		  . " AND started_at < @{[ ts($h->{finished}) ]}");
	is(scalar(@during), 0, 'the launcher started no scheduled run while the previous one was going')
	  or diag(fmt_runs(@during));
	my @next = grep { $_->{trigger} eq 'schedule' } runs_of('by_region', "started_at >= @{[ ts($h->{finished}) ]}");
	ok(@next >= 2 && $next[1]{sched} > $h->{finished},
		'the slots that passed meanwhile ran once, not once each') or diag(fmt_runs(@next));
}

# a burst of manual runs while the scheduler runs the report too
{
	my $t = time;
	my @ids = fire_runs('by_region', 4);
	my ($met2, $max2) = sample_until(running_none_sql('by_region', 'run_id IN (' . join(',', @ids, 0) . ')'), 60);
	ok($met2, 'the burst of manual runs is done');
	cmp_ok($max2, '<=', 1, 'at most one running run per report during the burst');
	my @b = runs_of('by_region', 'run_id IN (' . join(',', @ids, 0) . ')');
	ok(@b == 4 && !grep({ $_->{status} !~ /^(succeeded|skipped)$/ } @b),
		'each manual run of the burst succeeded or was skipped') or diag(fmt_runs(@b));
	ok($alpha->poll_query_until('postgres', running_none_sql('by_region')), 'no run of by_region in progress');
	my @win = runs_of('by_region', "started_at > @{[ ts($t - 4) ]}");
	my @bad = overlapping(@win);
	ok(!@bad, 'manual runs and the scheduler: no two runs overlap') or diag(join("\n", @bad));
}

# a run's worker terminated while it hangs: the scheduler records the
# scheduled run as interrupted at once, the sweep a manual one within ~10 s
{
	stop_gamma_postmaster();
	my $t = time;
	ok($alpha->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM smpc.report_runs
		  WHERE report_name = 'by_region' AND status = 'running' AND trigger = 'schedule'
		    AND started_at > @{[ ts($t) ]}}),
		'terminate: a scheduled run hangs on the stopped member');
	my $sched = aq(qq{SELECT max(run_id) FROM smpc.report_runs
		  WHERE report_name = 'by_region' AND status = 'running' AND started_at > @{[ ts($t) ]}});
	is(aq(qq{SELECT pg_terminate_backend(pid) FROM smpc.report_runs WHERE run_id = $sched}), 't',
		'terminate: pg_terminate_backend of the scheduled run\'s worker');
	ok($alpha->poll_query_until('postgres', qq{SELECT status = 'failed' AND error LIKE '%interrupted%'
		  FROM smpc.report_runs WHERE run_id = $sched}),
		'terminate: the scheduled run is recorded as failed, interrupted');
	my $manual = sql_as($alpha, 'analyst', "SELECT smpc.run_report('manual_only', wait => false)")->{out};
	ok($alpha->poll_query_until('postgres', qq{SELECT status = 'running' FROM smpc.report_runs
		  WHERE run_id = $manual}), 'terminate: a manual run hangs on the stopped member');
	is(aq(qq{SELECT pg_terminate_backend(pid) FROM smpc.report_runs WHERE run_id = $manual}), 't',
		'terminate: pg_terminate_backend of the manual run\'s worker');
	ok($alpha->poll_query_until('postgres', qq{SELECT status = 'failed' AND error LIKE '%interrupted%'
		  FROM smpc.report_runs WHERE run_id = $manual}),
		'terminate: the manual run is recorded as failed, interrupted, by the sweep');
	cont_gamma_postmaster();
	is(aq(qq{SELECT (SELECT count(*) FROM reports.by_region WHERE run_id = $sched)
		          + (SELECT count(*) FROM reports.manual_only WHERE run_id = $manual)}), '0',
		'terminate: neither interrupted run added rows');
	ok($alpha->poll_query_until('postgres', running_none_sql('by_region')),
		'terminate: by_region runs again after the member is back');
}

# --- 5. privileges, pause, resume, unschedule -----------------------------------

ok_as('analyst', 'GRANT SELECT ON reports.by_region TO reader', 'the owner grants SELECT on its report table');
is(sql_as($alpha, 'reader', 'SELECT count(*) > 0 FROM reports.by_region')->{out}, 't',
	'reader reads the report table');
denied_as('reader', $REPORT{by_region}{query}, '42501', qr/permission denied/,
	'reader: the joint query itself');
denied_as('reader', "SELECT smpc.run_report('by_region')", '42501', qr/permission denied for function/,
	'reader: run_report');
denied_as('reader', qq{SELECT smpc.schedule_report('r2', '1 hour', '$REPORT{by_region}{query}', 'reports.r2')},
	'42501', qr/permission denied for function/, 'reader: schedule_report');
for my $role (qw(reader intruder))
{
	is(sql_as($alpha, $role, 'SELECT (SELECT count(*) FROM smpc.report_runs) || \'|\' || (SELECT count(*) FROM smpc.reports)')->{out},
		'0|0', "$role sees none of the analyst's reports and runs");
}
{
	my $maxid = aq('SELECT max(run_id) FROM smpc.report_runs');
	my $all = aq("SELECT count(*) FROM smpc.report_runs WHERE run_id <= $maxid");
	is(sql_as($alpha, 'analyst', "SELECT count(*) FROM smpc.report_runs WHERE run_id <= $maxid")->{out}, $all,
		'the analyst sees all runs of its reports');
	is(sql_as($alpha, 'monitor', "SELECT count(*) FROM smpc.report_runs WHERE run_id <= $maxid")->{out}, $all,
		'pg_read_all_stats sees all runs');
}
for my $f (qw(unschedule_report pause_report resume_report run_report))
{
	denied_as('intruder', "SELECT smpc.$f('by_region')", '42501', qr/./,
		"another role may not $f someone else's report");
}
{
	my $exp = $versions[-1]{exp}{by_region};
	my $b = sql_as($alpha, 'bi', "\\pset null <NULL>\n$REPORT{by_region}{query}");
	my ($same, $why) = SmpcJoint::same_rows(SmpcJoint::split_rows($b->{out}), $exp, $REPORT{by_region}{kinds}, 0);
	ok($b->{rc} == 0 && $same, 'a role with USAGE on the federation and SELECT runs the joint query: the plaintext result')
	  or diag("$why\n$b->{err}");
}
denied_as('nousage', $REPORT{by_region}{query}, '42501', qr/^permission denied for federation "research"$/,
	'SELECT without USAGE on the federation');
denied_as('nousage', "EXPLAIN $REPORT{by_region}{query}", '42501', qr/^permission denied for federation "research"$/,
	'EXPLAIN without USAGE on the federation');
denied_as('nousage', qq{SELECT smpc.schedule_report('r3', '1 hour', '$REPORT{by_region}{query}', 'reports.r3')},
	'42501', qr/permission denied for federation "research"/,
	'schedule_report checks the query\'s privileges as the caller');
{
	my $n = sql_as($alpha, undef, qq{SET ROLE nologin_analyst;
		SELECT smpc.schedule_report('r4', '1 hour', '$REPORT{by_region}{query}', 'reports.r4')});
	is($n->{sqlstate} // '', '42501', 'schedule_report by a role without LOGIN: 42501') or diag($n->{err});
}
denied_as('analyst', qq{SELECT smpc.schedule_report('by_region', '1 hour', '$REPORT{by_region}{query}', 'reports.x')},
	'42710', qr/by_region/, 'a report name in use');
denied_as('analyst', qq{SELECT smpc.schedule_report('r5', 'now and then', '$REPORT{by_region}{query}', 'reports.r5')},
	'22023', qr/./, 'a schedule that is neither cron nor interval');
denied_as('analyst', qq{SELECT smpc.schedule_report('r5', '500 milliseconds', '$REPORT{by_region}{query}', 'reports.r5')},
	'22023', qr/./, 'an interval under 1 second');
{
	my $x = sql_as($alpha, 'analyst', q{SELECT smpc.schedule_report('r6', '1 hour',
		'SELECT region, smpc_count(*) AS run_id FROM federation.t GROUP BY region', 'reports.r6')});
	ok($x->{rc} != 0 && ($x->{sqlstate} // '') =~ /^(42601|0A000|42611|42701)$/,
		'a query with a column named run_id is refused') or diag($x->{err});
}
denied_as('analyst', "SELECT smpc.unschedule_report('no_such_report')", '42704', qr/no_such_report/,
	'unschedule_report of an unknown report');
is(aq("SELECT count(*) FROM smpc.reports WHERE report_name IN ('r2', 'r3', 'r4', 'r5', 'r6')"), '0',
	'no refused report was created');

# pause: no runs over 2.5 slots, except a manual one
ok_as('analyst', "SELECT smpc.pause_report('by_region')", 'the analyst pauses by_region');
ok($alpha->poll_query_until('postgres', running_none_sql('by_region')), 'no run of the paused report in progress');
my $n_paused = aq("SELECT count(*) FROM smpc.report_runs WHERE report_name = 'by_region'");
my $t_paused = time;
is(aq("SELECT paused FROM smpc.reports WHERE report_name = 'by_region'"), 't', 'smpc.reports shows it paused');
# new data on alpha and gamma while paused
$alpha->safe_psql('postgres', q{INSERT INTO data.t VALUES ('south', -77, 0.01), (NULL, 3, 3.33), ('late', 40, 4.00)});
$gamma->safe_psql('postgres', q{UPDATE data.t SET x = coalesce(x, 0) + 1 WHERE region = 'west'});
snapshot_plain(time);
my $manual = ok_as('analyst', "SELECT smpc.run_report('by_region')", 'a paused report still runs on demand');
$manual = 0 unless $manual =~ /^\d+$/;
{
	my ($m) = runs_of('by_region', "run_id = $manual");
	ok($m && $m->{status} eq 'succeeded' && $m->{trigger} eq 'manual', '... successfully, as a manual run')
	  or diag(fmt_runs(grep { defined } $m));
}
sleep(max(0, $t_paused + 5 - time));    # prove that nothing happens
is(aq("SELECT count(*) FROM smpc.report_runs WHERE report_name = 'by_region'"), $n_paused + 1,
	'paused: no run over 2.5 slots but the manual one');

my $t_resume = time;
$r = sql_as($alpha, 'analyst', "SELECT extract(epoch FROM smpc.resume_report('by_region'))::float8");
my $next = $r->{out} || 0;
ok($r->{rc} == 0 && $next >= $t_resume - 0.01 && $next <= time + 2.05,
	'resume_report returns the next run time, in the future') or diag($r->{err});
ok($alpha->poll_query_until('postgres', qq{SELECT count(*) >= 2 FROM smpc.report_runs
	  WHERE report_name = 'by_region' AND status = 'succeeded' AND started_at > @{[ ts($t_resume) ]}}),
	'resumed: runs again');
{
	my @after = runs_of('by_region', "started_at > @{[ ts($t_resume) ]}");
	ok(!grep({ $_->{trigger} ne 'schedule' || $_->{sched} < $t_resume - 0.01 } @after),
		'slots missed while paused are not caught up') or diag(fmt_runs(@after));
}

ok_as('analyst', "SELECT smpc.unschedule_report('by_region')", 'the analyst unschedules by_region');
ok($alpha->poll_query_until('postgres', running_none_sql('by_region')), 'no run of by_region in progress');
my $n_unsched = aq("SELECT count(*) FROM smpc.report_runs WHERE report_name = 'by_region'");
my $t_unsched = time;
sleep 4;    # prove that nothing happens
is(aq("SELECT count(*) FROM smpc.report_runs WHERE report_name = 'by_region'"), $n_unsched,
	'unscheduled: no more runs');
cmp_ok($n_unsched, '>=', 20, 'unscheduled: the history is kept');
is(aq("SELECT count(*) FROM smpc.report_runs WHERE report_name = 'retried' AND started_at > @{[ ts($t_unsched_retried) ]}"),
	'0', 'retried: no run since it was unscheduled, across restarts');

# --- 6. all runs, and nothing left behind -------------------------------------

ok($alpha->poll_query_until('postgres', "SELECT count(*) = 0 FROM smpc.report_runs WHERE status = 'running'"),
	'no run left running');
for my $rep (sort keys %REPORT)
{
	my @all = runs_of($rep);
	check_runs_match($rep, "all runs of $rep", @all);
	my @bad = overlapping(@all);
	ok(!@bad, "$rep: no two runs overlapped") or diag(join("\n", @bad));
	ok(!grep({ $_->{status} eq 'failed' && !(defined $_->{error}
					&& (($_->{sqlstate} // '') =~ /^[0-9A-Z]{5}$/ || $_->{error} =~ /^the run was interrupted: /)) } @all),
		"$rep: every failed run has an error, and a SQLSTATE unless it was interrupted") or diag(fmt_runs(@all));
	my $t = $REPORT{$rep}{target};
	is(aq(qq{SELECT count(*) FROM $t x WHERE NOT EXISTS (SELECT FROM smpc.report_runs r
	          WHERE r.run_id = x.run_id AND r.report_name = '$rep' AND r.status = 'succeeded')
	           OR run_at IS DISTINCT FROM (SELECT started_at FROM smpc.report_runs r WHERE r.run_id = x.run_id)}),
		'0', "$rep: target rows only of succeeded runs, run_at = started_at");
	check_run_audit("all successful runs of $rep", grep { $_->{status} eq 'succeeded' } @all);
}
ok(!grep({ $_->{trigger} ne 'manual' } runs_of('manual_only')),
	'manual_only: only manual runs (no retry after a manual failure, no catch-up of a yearly slot)');
ok($alpha->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'smpc report'"),
	'no report worker left');
$mon->quit;
for my $n (@nodes)
{
	ok($n->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'smpc_peer'"),
		$n->name . ': no peer backend left');
}
for my $n (@nodes)
{
	unlike(slurp_file($n->logfile), qr/PANIC|TRAP:|terminated by signal/, $n->name . ': no crash in the log');
}
note(sprintf('runtime %.1f s', time - $T_START));

done_testing();
