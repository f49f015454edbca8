# Load: three querying nodes, each running 20 concurrent pgbench clients of
# self-checking joint queries for SMPC_LOAD_SECONDS (default 60) at the same
# time.  Every query must return the plaintext union's answer (a wrong one is
# an error that aborts its client), the peer connections each node accepts
# stay bounded by the number of clients of the other nodes (each client
# backend caches one connection per member) and go away with the clients, and
# every joint query leaves exactly one querying and two member audit records.
use strict;
use warnings;

use IPC::Run ();
use Time::HiRes qw(time sleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;

my $SECONDS = $ENV{SMPC_LOAD_SECONDS} || 60;
my $CLIENTS = 20;
my $MAX_CONNECTIONS = 120;

my @names = qw(north south east);
my @nodes = start_members(3, names => \@names,
	conf => "max_connections = $MAX_CONNECTIONS\n");

# 200 rows per node, different on every node; ward is revealed as a group key
my %mod = (north => 4, south => 5, east => 3);
my $fed = setup_federation(\@nodes,
	names => \@names,
	member_timeout => '60s',
	prepare => sub {
		my ($node, $name, $i) = @_;
		my $k = $i + 3;
		$node->safe_psql('postgres', qq{
			CREATE SCHEMA load;
			CREATE TABLE load.t (v int, ward text);
			INSERT INTO load.t
			  SELECT (g * $k * 37) % 1000 - 100 * $i, 'ward' || (g % $mod{$name})
			    FROM generate_series(1, 200) g;
		});
	},
	publish => [ {
		dataset => 't',
		relation => 'load.t',
		columns => [qw(v ward)],
		group_keys => { ward => 'reveal' } } ]);
my %node = %{ $fed->{nodes} };

# --- the expected answers, from the plaintext of every node ------------------------
my (%sum, %cnt, $sum, $cnt, $sum_gt, $cnt_gt);
for my $name (@names)
{
	my $out = $node{$name}->safe_psql('postgres', q{
		SELECT ward, sum(v), count(*), coalesce(sum(v) FILTER (WHERE v > 250), 0),
		       count(*) FILTER (WHERE v > 250)
		  FROM load.t GROUP BY ward});
	for my $line (split /\n/, $out)
	{
		my ($w, $s, $n, $sg, $ng) = split /\|/, $line;
		$sum{$w} += $s;
		$cnt{$w} += $n;
		$sum += $s;
		$cnt += $n;
		$sum_gt += $sg;
		$cnt_gt += $ng;
	}
}
is($cnt, 600, 'the three nodes hold 600 rows');
ok($cnt_gt >= 5 && $cnt_gt < $cnt, "the WHERE clause selects $cnt_gt of them");
my $groups = join(',', map { "$_:$sum{$_}:$cnt{$_}" } sort keys %sum);
is(scalar(keys %sum), 5, 'the union has 5 wards');

# Each query returns 1 when its result is the expected one and fails with
# an error quoting the result otherwise (the cast of a non-constant text).
my @queries = (
	"SELECT CASE WHEN s = $sum AND n = $cnt THEN 1 ELSE ('wrong sum/count ' || s || '/' || n)::int END"
	  . " FROM (SELECT smpc_sum(v) AS s, smpc_count(*) AS n FROM federation.t) q;",
	"SELECT CASE WHEN a = ${sum_gt}::numeric / ${cnt_gt}::numeric AND n = $cnt_gt THEN 1"
	  . " ELSE ('wrong avg/count ' || a || '/' || n)::int END"
	  . " FROM (SELECT smpc_avg(v) AS a, count(v) AS n FROM federation.t WHERE v > 250) q;",
	"SELECT CASE WHEN g = '$groups' THEN 1 ELSE ('wrong groups ' || coalesce(g, 'none'))::int END"
	  . " FROM (SELECT string_agg(ward || ':' || s || ':' || n, ',' ORDER BY ward) AS g"
	  . " FROM (SELECT ward, smpc_sum(v) AS s, smpc_count(*) AS n FROM federation.t GROUP BY ward) j) q;",
);

# the checks themselves are right: each query passes once at every node
for my $name (@names)
{
	for my $i (0 .. $#queries)
	{
		my ($rc, $out, $err) = $node{$name}->psql('postgres', $queries[$i]);
		is("$rc|$out", '0|1', "$name: query " . ($i + 1) . ' returns the plaintext answer')
		  or diag($err);
	}
}
# ... and fails when the expected answer is wrong
{
	(my $bad = $queries[2]) =~ s/ward0:/ward0:1/;
	my ($rc, $out, $err) = $node{north}->psql('postgres', $bad);
	like($err, qr/invalid input syntax for type integer: "wrong groups ward0:/,
		'a query whose expected answer is wrong fails');
}

my $script = PostgreSQL::Test::Utils::tempdir() . '/joint.sql';
open my $fh, '>', $script or die "$script: $!";
print $fh "$_\n" for @queries;
close $fh;

my %audit0;
for my $name (@names)
{
	$audit0{$name} = $node{$name}->safe_psql('postgres', 'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log');
}

# --- the load ------------------------------------------------------------------------
# one monitoring session per node, so that sampling costs no connection setup
my %mon;
for my $name (@names)
{
	$mon{$name} = $node{$name}->background_psql('postgres');
	$mon{$name}->set_query_timer_restart;
}

sub conn_counts
{
	my ($name) = @_;
	my $out = $mon{$name}->query_safe(q{
		SELECT count(*) FILTER (WHERE usename = 'smpc_peer'),
		       count(*) FILTER (WHERE application_name = 'smpc'),
		       count(*)
		  FROM pg_stat_activity WHERE backend_type = 'client backend'});
	return split /\|/, $out;
}

my (%h, %out, %err);
my $t0 = time;
for my $name (@names)
{
	my $n = $node{$name};
	$out{$name} = '';
	$err{$name} = '';
	$h{$name} = IPC::Run::start(
		[ 'pgbench', '-n', '-c', $CLIENTS, '-j', 2, '-T', $SECONDS, '-f', $script,
		  '-h', $n->host, '-p', $n->port, 'postgres' ],
		'<', \undef, '>', \$out{$name}, '2>', \$err{$name},
		IPC::Run::timeout($SECONDS + 180));
}

my (%max_peer, %max_app, %max_total, $samples);
$max_peer{$_} = $max_app{$_} = $max_total{$_} = 0 for @names;
while (grep { $h{$_}->pumpable } @names)
{
	my $next = time + 2;
	for my $name (@names)
	{
		my ($peer, $app, $total) = conn_counts($name);
		$max_peer{$name} = $peer if $peer > $max_peer{$name};
		$max_app{$name} = $app if $app > $max_app{$name};
		$max_total{$name} = $total if $total > $max_total{$name};
	}
	$samples++;
	while (time < $next && grep { $h{$_}->pumpable } @names)
	{
		$h{$_}->pump_nb for grep { $h{$_}->pumpable } @names;
		sleep 0.1;
	}
}
my %rc;
for my $name (@names)
{
	$h{$name}->finish;
	$rc{$name} = $h{$name}->full_result(0);
}
note(sprintf('pgbench ran %.1f s in all; %d connection samples', time - $t0, $samples));

# --- every client of every node succeeded ---------------------------------------------
my %tx;
for my $name (@names)
{
	my $o = $out{$name};
	my $how = $rc{$name} & 127 ? 'signal ' . ($rc{$name} & 127) : 'exit code ' . ($rc{$name} >> 8);
	is($how, 'exit code 0', "$name: pgbench exits with 0")
	  or diag("pgbench stderr:\n" . substr($err{$name}, 0, 2000));
	ok($err{$name} !~ /aborted|ERROR/, "$name: no client aborted, no error");
	like($o, qr/^number of failed transactions: 0 /m, "$name: no failed transactions");
	($tx{$name}) = $o =~ /^number of transactions actually processed: (\d+)/m;
	ok(defined $tx{$name} && $tx{$name} > 0, "$name: transactions were processed");
	my ($lat) = $o =~ /^latency average = ([\d.]+ ms)/m;
	my ($tps) = $o =~ /^tps = ([\d.]+)/m;
	note(sprintf('%s: %d transactions (%d joint queries) in %d s with %d clients, tps %s, latency average %s',
		$name, $tx{$name} // 0, ($tx{$name} // 0) * @queries, $SECONDS, $CLIENTS,
		$tps // '?', $lat // '?'));
	$tx{$name} //= 0;
}

# --- connections ----------------------------------------------------------------------
my $peer_bound = (@names - 1) * $CLIENTS;
for my $name (@names)
{
	note("$name: at most $max_peer{$name} peer connections (application_name smpc: "
		  . "$max_app{$name}), $max_total{$name} client backends in all");
	ok($max_peer{$name} > 0 && $max_peer{$name} <= $peer_bound,
		"$name: between 1 and $peer_bound peer connections during the load ($max_peer{$name})");
	ok($max_app{$name} <= $peer_bound, "$name: at most $peer_bound connections named smpc");
	# pgbench's clients, the peer connections and the monitoring session
	ok($max_total{$name} <= $CLIENTS + $peer_bound + 1,
		"$name: at most " . ($CLIENTS + $peer_bound + 1) . " client backends ($max_total{$name})");
}

# the pgbench backends have exited: their cached connections close
for my $name (@names)
{
	ok($node{$name}->poll_query_until('postgres', q{
		SELECT count(*) FROM pg_stat_activity
		 WHERE usename = 'smpc_peer' OR application_name = 'smpc'}, '0'),
		"$name: no peer connections left after the load");
}

$mon{$_}->quit for @names;

# --- the audit log ----------------------------------------------------------------------
my $nq = @queries;
my $total_tx = 0;
$total_tx += $tx{$_} for @names;
for my $name (@names)
{
	my $out = $node{$name}->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE node_role = 'querying' AND outcome = 'success'),
		       count(*) FILTER (WHERE node_role = 'member' AND outcome = 'success'),
		       count(*) FILTER (WHERE outcome <> 'success'),
		       count(DISTINCT session_id)
		  FROM smpc.audit_log WHERE audit_id > $audit0{$name}});
	my ($querying, $member, $other, $sessions) = split /\|/, $out;
	is($querying, $tx{$name} * $nq,
		"$name: one querying audit record per joint query it ran ($tx{$name} x $nq)");
	is($member, ($total_tx - $tx{$name}) * $nq,
		"$name: one member audit record per joint query of the other nodes");
	is($other, 0, "$name: no audit record with another outcome than success");
	is($sessions, $querying + $member, "$name: every record is of a different session");
}

# the querying node's and the members' records of the load are the same sessions
{
	my %sessions;
	for my $name (@names)
	{
		my $out = $node{$name}->safe_psql('postgres', qq{
			SELECT encode(session_id, 'hex') || ' ' || node_role || ' ' || initiator_node
			  FROM smpc.audit_log WHERE audit_id > $audit0{$name}});
		for (split /\n/, $out)
		{
			my ($sid, $role, $initiator) = split / /;
			push @{ $sessions{$sid} }, { at => $name, role => $role, initiator => $initiator };
		}
	}
	# one querying record, at the initiator, and one member record at each
	# of the two other nodes
	my @bad = grep {
		my @r = @{ $sessions{$_} };
		my @q = grep { $_->{role} eq 'querying' } @r;
		my @m = grep { $_->{role} eq 'member' } @r;
		!(@r == 3 && @q == 1 && @m == 2
		  && $q[0]{at} eq $q[0]{initiator}
		  && (grep { $_->{initiator} eq $q[0]{at} && $_->{at} ne $q[0]{at} } @m) == 2
		  && $m[0]{at} ne $m[1]{at})
	} sort keys %sessions;
	is(scalar(keys %sessions), $total_tx * $nq, 'the audit logs name one session per joint query');
	is(scalar(@bad), 0,
		'every session has its querying record at the initiator and a member record at both others')
	  or diag(explain([ map { { $_ => $sessions{$_} } } @bad[ 0 .. ($#bad < 4 ? $#bad : 4) ] ]));
}

$_->stop for @nodes;
done_testing();
