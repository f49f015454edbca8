# Element-wise vector sums: smpc_sum(double precision[]) and
# smpc_sum(numeric[]) over three members, checked against the plaintext
# union (every member's rows copied into plain.vec on alpha, summed element
# by element by PostgreSQL with unnest ... WITH ORDINALITY).
#
# lab.vec (g text, w float8[], v numeric(12,3)[], u numeric[], x int) on
# every member, published as dataset "vec" with g a revealed group key; g
# also selects the scenario of each query:
#   a, b, c, nul     normal 6-element arrays with NULL arrays mixed in; "nul"
#                    holds only NULL arrays, "c" only beta's rows
#   nulq, nulm       a NULL element at the querying node / at member beta
#   lenm             beta's arrays are longer than the querying node's
#   len2q, len2m     two lengths on the querying node / on member gamma
#   noarr, nularr    the querying node has no row / only NULL arrays
#   twodq, twodm     a 2-D array at the querying node / at member gamma
#   big100k, big1m   one row per member of 100,000 / 1,048,576 elements
#   big1m1           1,048,577 elements: beyond the limit
#
# Covered: ungrouped and GROUP BY, combined with count(*) and sum(x) (one
# audit record per node), result types, NULL arrays skipped, every refusal
# with its SQLSTATE; after every error the next joint query works in the
# same session and from a fresh connection, and no member is left serving a
# session (smpc.max_sessions = 1: a session left open at a member would
# make the fresh connection's query fail with 53300); the large vectors
# element by element in SQL and the bytes each member sends per element.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmpcNode;
use SmpcJoint;

my $T0 = time;
my $seed = SmpcJoint::init_seed();

my @names = qw(alpha beta gamma);
my $N_PARTIES = @names;
my $D = 6;                       # length of the normal arrays
my @NORMAL = qw(a b c nul);
my $IN_NORMAL = "('a', 'b', 'c', 'nul')";
my $LIMIT = 1048576;
my %BIG = (big100k => 100000, big1m => $LIMIT, big1m1 => $LIMIT + 1);

# --- the data ---------------------------------------------------------------------

sub chance { return rand() < $_[0]; }

# double precision elements with at most 9 decimals (members round their sums
# to 9 decimals), some of a large magnitude
sub f_elem
{
	my $u = rand();
	return sprintf('%.6f', rand(2e6) - 1e6) if $u < 0.80;
	return sprintf('%.9f', rand(2) - 1) if $u < 0.95;
	return sprintf('%.3f', (chance(0.5) ? 1 : -1) * (1e8 + rand(1e8)));
}

# numeric(12,3)
sub v_elem
{
	return chance(0.5) ? '999999999.999' : '-999999999.999' if chance(0.05);
	return sprintf('%.3f', rand(2e8) - 1e8);
}

# numeric without a declared scale: 0 to 12 decimals, some 20-digit integer parts
sub u_elem
{
	my $scale = int(rand(13));
	my $int = chance(0.2)
	  ? (1 + int(rand(9))) . join('', map { int(rand(10)) } 1 .. 19)
	  : int(rand(1e6));
	my $frac = $scale ? '.' . join('', map { int(rand(10)) } 1 .. $scale) : '';
	return (chance(0.5) ? '-' : '') . $int . $frac;
}

sub arr { my ($gen, $n) = @_; return '{' . join(',', map { $gen->() } 1 .. $n) . '}'; }

# one row [g, w, v, u, x]; %o: w/v/u => 'null' or a literal, len => n
sub row
{
	my ($g, %o) = @_;
	my $len = $o{len} // $D;
	my @r = ($g);
	for my $c ([ w => \&f_elem ], [ v => \&v_elem ], [ u => \&u_elem ])
	{
		my ($col, $gen) = @$c;
		my $spec = $o{$col} // (chance(0.15) ? 'null' : 'random');
		push @r, $spec eq 'null' ? undef : $spec eq 'random' ? arr($gen, $len) : $spec;
	}
	push @r, exists $o{x} ? $o{x} : chance(0.1) ? undef : int(rand(20001)) - 10000;
	return \@r;
}

# a group's rows: the first with every array (and x > 0, so that every
# node has arrays in the rows of the queries below), one without w, one
# without v and u, the rest random
sub group_rows
{
	my ($g, $n) = @_;
	my @rows = (row($g, w => 'random', v => 'random', u => 'random', x => 1 + int(rand(10000))));
	push @rows, row($g, w => 'null', v => 'random', u => 'random') if $n > 1;
	push @rows, row($g, v => 'null', u => 'null') if $n > 2;
	push @rows, row($g) for 4 .. $n;
	return @rows;
}

sub nulls_only { my ($g, $n) = @_; return map { row($g, w => 'null', v => 'null', u => 'null') } 1 .. $n; }

my $six = sub { arr(\&f_elem, $_[0]) };
my %rows = (
	alpha => [
		group_rows('a', 4), group_rows('b', 3), nulls_only('nul', 2),
		row('nulq', w => '{1.5,NULL,3,4,5,6}'),
		row('nulm', v => arr(\&v_elem, $D)),
		row('lenm', len => 7, w => $six->(7)),
		row('len2q', w => $six->(5)), row('len2q', w => $six->(9)),
		row('len2m', w => $six->(5)),
		row('nularr', w => 'null'),
		row('twodq', w => '{{1,2,3},{4,5,6}}'),
		row('twodm', w => $six->(6)),
	],
	beta => [
		group_rows('a', 3), group_rows('c', 2), nulls_only('nul', 1),
		row('nulq', w => $six->(6)),
		row('nulm', v => '{1.000,2.000,NULL,4.000,5.000,6.000}'),
		row('lenm', len => 11, w => $six->(11)),
		row('len2q', w => $six->(5)),
		row('len2m', w => $six->(5)), row('len2m', w => $six->(5)),
		row('noarr', w => $six->(6)),
		row('nularr', w => $six->(6)),
		row('twodq', w => $six->(6)),
		row('twodm', w => $six->(6)),
	],
	gamma => [
		group_rows('a', 4), group_rows('b', 2), nulls_only('nul', 1),
		row('nulq', w => $six->(6)),
		row('nulm', v => arr(\&v_elem, $D)),
		row('lenm', len => 7, w => $six->(7)),
		row('len2q', w => $six->(5)),
		row('len2m', w => $six->(5)), row('len2m', w => $six->(9)),
		row('noarr', w => $six->(6)),
		row('nularr', w => $six->(6)),
		row('twodq', w => $six->(6)),
		row('twodm', w => '{{1,2,3},{4,5,6}}'),
	],
);

# the large vectors, built on each member by SQL (member number $m)
sub big_sql
{
	my ($m) = @_;
	return join('', map {
		"INSERT INTO lab.vec (g, w, x) SELECT '$_', array(SELECT "
		  . "((i::bigint * 7919 + $m * 101) % 2000001 - 1000000)::float8 / 1000 + $m * 0.125 "
		  . "FROM generate_series(1, $BIG{$_}) i), $m;\n"
	} sort keys %BIG);
}

# --- the federation -----------------------------------------------------------------

# one joint session per member at once: a session a failed query left open
# at a member would refuse the next query's (53300)
my @nodes = start_members(3, names => \@names, conf => "smpc.max_sessions = 1\n");
my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => 1,
	prepare => sub {
		my ($node, $name, $i) = @_;
		my $copy = join('', map { join("\t", map { $_ // '\N' } @$_) . "\n" } @{ $rows{$name} });
		$node->safe_psql('postgres',
			"CREATE SCHEMA lab;\n"
			  . "CREATE TABLE lab.vec (g text, w float8[], v numeric(12,3)[], u numeric[], x int,"
			  . " secret text DEFAULT 'secret');\n"
			  . "COPY lab.vec (g, w, v, u, x) FROM STDIN;\n$copy\\.\n"
			  . big_sql($i + 1));
	},
	publish => [ { dataset => 'vec', relation => 'lab.vec', columns => [qw(g w v u x)],
			group_keys => { g => 'reveal' } } ]);
my %node = %{ $fed->{nodes} };
my ($alpha, $beta, $gamma) = @node{@names};
note(sprintf('setup: %.1f s', time - $T0));

# the plaintext union on alpha, copied through files (the large arrays stay
# out of this process)
my $dir = PostgreSQL::Test::Utils::tempdir();
$alpha->safe_psql('postgres', q{CREATE SCHEMA plain;
	CREATE TABLE plain.vec (member text, g text, w float8[], v numeric(12,3)[], u numeric[], x int)});
for my $name (@names)
{
	$node{$name}->safe_psql('postgres',
		"COPY (SELECT '$name', g, w, v, u, x FROM lab.vec WHERE g <> 'big1m1') TO '$dir/$name.copy'");
	$alpha->safe_psql('postgres', "COPY plain.vec FROM '$dir/$name.copy'");
	unlink "$dir/$name.copy";
}
{
	my $total = 0;
	$total += @{ $rows{$_} } + 2 for @names;    # plus big100k and big1m
	is($alpha->safe_psql('postgres', q{SELECT count(*) FROM plain.vec}), $total,
		"plain.vec on alpha holds every member's rows ($total)");
}
is($alpha->safe_psql('postgres', q{
	SELECT string_agg(member || ':' || g || ':' || cardinality(w), ',' ORDER BY member, g)
	  FROM plain.vec WHERE g LIKE 'big%'}),
	join(',', map { my $m = $_; map { "$m:$_:$BIG{$_}" } qw(big100k big1m) } @names),
	'the large vectors are in the union, at their lengths');
note(sprintf('plaintext union: %.1f s', time - $T0));

# --- helpers ----------------------------------------------------------------------------

# psql at a node; returns rc, out, err, sqlstate, message, detail, hint
sub parse_err
{
	my ($err) = @_;
	my %r = (err => $err);
	($r{sqlstate}, $r{message}) = ($1, $2) if $err =~ /ERROR:  ([0-9A-Z]{5}): (.*?)$/m;
	($r{detail}) = $err =~ /^DETAIL:  (.*)$/m;
	($r{hint}) = $err =~ /^HINT:  (.*)$/m;
	return \%r;
}

sub psql_at
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n\\pset null <NULL>\n$sql");
	my $r = parse_err($err);
	@$r{qw(rc out)} = ($rc, $out);
	return $r;
}

# a psql_at result as its output, or its error
sub out_or_err { my ($r) = @_; return $r->{rc} == 0 ? $r->{out} : "failed: $r->{err}"; }

sub split_rows { return [ map { [ split /\|/, $_, -1 ] } grep { length } split /\n/, $_[0] ]; }

sub parse_array
{
	my ($s) = @_;
	return undef if $s eq '<NULL>';
	return [] unless $s =~ /^\{(.*)\}$/;
	return [ split /,/, $1, -1 ];
}

# one value of kind key/int (text), farr (float8[]: per element |a - b| <=
# 1e-9 * max(1, |b|)), narr (numeric[]: text per element); returns '' when
# equal, else why not
sub differs
{
	my ($kind, $got, $exp) = @_;
	return "got '$got', expected '$exp'" if ($got eq '<NULL>') != ($exp eq '<NULL>');
	return '' if $got eq '<NULL>';
	return $got eq $exp ? '' : "got '$got', expected '$exp'" if $kind eq 'key' || $kind eq 'int';
	my ($g, $e) = (parse_array($got), parse_array($exp));
	return "got '$got', expected '$exp': not 1-D arrays of the same length" if @$g != @$e || !@$e;
	for my $k (0 .. $#$e)
	{
		if ($kind eq 'narr')
		{
			return "element " . ($k + 1) . ": got $g->[$k], expected $e->[$k]" if $g->[$k] ne $e->[$k];
			next;
		}
		my $num = qr/^-?(?:\d+\.?\d*(?:e[-+]?\d+)?)$/i;
		return "element " . ($k + 1) . ": got '$g->[$k]', expected '$e->[$k]'"
		  unless $g->[$k] =~ $num && $e->[$k] =~ $num;
		my $tol = 1e-9 * (abs($e->[$k]) > 1 ? abs($e->[$k]) : 1);
		return "element " . ($k + 1) . ": got $g->[$k], expected $e->[$k] (|diff| "
		  . abs($g->[$k] - $e->[$k]) . " > $tol)"
		  if abs($g->[$k] - $e->[$k]) > $tol;
	}
	return '';
}

sub compare_rows
{
	my ($got_out, $exp_out, $kinds) = @_;
	my ($got, $exp) = (split_rows($got_out), split_rows($exp_out));
	return 'got ' . @$got . ' rows, expected ' . @$exp if @$got != @$exp;
	my @why;
	for my $i (0 .. $#$exp)
	{
		return "row $i has " . @{ $got->[$i] } . ' columns, expected ' . @$kinds
		  if @{ $got->[$i] } != @$kinds;
		for my $c (0 .. $#$kinds)
		{
			my $d = differs($kinds->[$c], $got->[$i][$c], $exp->[$i][$c]);
			push @why, "row $i column " . ($c + 1) . " ($kinds->[$c]): $d" if length $d;
		}
	}
	return join("\n  ", @why);
}

# the plaintext element-wise sum of column $col over the rows of plain.vec q
# satisfying $cond; numeric without a declared scale trimmed, as the joint
# sum over such a column returns it (README: "else 12 digits", trailing
# zeros dropped)
sub plain_vsum
{
	my ($col, $cond) = @_;
	my $e = $col eq 'u' ? 'trim_scale(s)' : 's';
	return "(SELECT array_agg($e ORDER BY i) FROM (SELECT i, sum(e) AS s FROM plain.vec q,"
	  . " unnest(q.$col) WITH ORDINALITY AS t(e, i) WHERE $cond GROUP BY i) z)";
}

# a joint query and its plaintext: %o grouped => 0/1, filter => code ref
# giving the WHERE condition for a table alias ('' for none)
sub combined_queries
{
	my (%o) = @_;
	my $f = $o{filter};
	my $fed_where = $f->('');
	if ($o{grouped})
	{
		my $cond = 'q.g = p.g AND ' . $f->('q');
		return (
			"SELECT g, smpc_sum(w), smpc_sum(v), smpc_sum(u), count(*), sum(x) FROM federation.vec"
			  . " WHERE $fed_where GROUP BY g ORDER BY g",
			'SELECT p.g, ' . join(', ', map { plain_vsum($_, $cond) } qw(w v u))
			  . ', count(*), sum(p.x) FROM plain.vec p WHERE ' . $f->('p') . ' GROUP BY p.g ORDER BY p.g',
			[qw(key farr narr narr int int)]);
	}
	return (
		"SELECT smpc_sum(w), smpc_sum(v), smpc_sum(u), count(*), sum(x) FROM federation.vec"
		  . " WHERE $fed_where",
		'SELECT ' . join(', ', map { plain_vsum($_, $f->('q')) } qw(w v u))
		  . ', count(*), sum(p.x) FROM plain.vec p WHERE ' . $f->('p'),
		[qw(farr narr narr int int)]);
}

sub qual { return $_[0] eq '' ? '' : "$_[0]."; }
my $normal = sub { qual($_[0]) . "g IN $IN_NORMAL" };

sub check_joint
{
	my ($name, $at, $fedq, $plainq, $kinds) = @_;
	my $exp = $alpha->safe_psql('postgres', "\\pset null <NULL>\n$plainq");
	my $r = psql_at($node{$at}, $fedq);
	if ($r->{rc} != 0)
	{
		fail("$name (at $at)");
		diag("  query: $fedq\n  error: $r->{err}");
		return;
	}
	my $why = compare_rows($r->{out}, $exp, $kinds);
	is($why, '', "$name (at $at)")
	  or diag("  seed $seed\n  query: $fedq\n  plain: $plainq\n  got:\n$r->{out}\n  expected:\n$exp");
	return;
}

# --- ungrouped and grouped, combined with count(*) and sum(x) ----------------------------

my ($UQ, $UP, $UK) = combined_queries(grouped => 0, filter => $normal);
my ($GQ, $GP, $GK) = combined_queries(grouped => 1, filter => $normal);
my $UQ_EXPECTED = $alpha->safe_psql('postgres', "\\pset null <NULL>\n$UP");

# the plaintext has what the cases are about
like($alpha->safe_psql('postgres', "\\pset null <NULL>\n$GP"), qr/^nul\|<NULL>\|<NULL>\|<NULL>\|4\|/m,
	'plaintext: group nul has no array, four rows');

for my $at (@names)
{
	check_joint('ungrouped smpc_sum over w, v, u with count(*) and sum(x)', $at, $UQ, $UP, $UK);
	check_joint('GROUP BY g: smpc_sum over w, v, u with count(*) and sum(x)', $at, $GQ, $GP, $GK);
}
{
	my ($q, $p, $k) = combined_queries(grouped => 1,
		filter => sub { my $q = qual($_[0]); "${q}g IN ('a', 'b') AND ${q}x > 0" });
	check_joint('GROUP BY g with a WHERE on x', 'gamma', $q, $p, $k);
	($q, $p, $k) = combined_queries(grouped => 0, filter => sub { qual($_[0]) . "g = 'c'" });
	check_joint('ungrouped over rows only a member has (queried at beta)', 'beta', $q, $p, $k);
}
is(out_or_err(psql_at($alpha, "$UQ \\gdesc")),
	"smpc_sum|double precision[]\nsmpc_sum|numeric[]\nsmpc_sum|numeric[]\ncount|bigint\nsum|bigint",
	'result types: double precision[], numeric[], numeric[], bigint, bigint');
# (an ungrouped sum over only NULL arrays cannot be asked: the querying node
# has no array then, 22023 below; group nul above gives NULL)

# one audit record per node for a combined grouped query
{
	my %base = map {
		$_ => $node{$_}->safe_psql('postgres', 'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log')
	} @names;
	my $r = psql_at($alpha, $GQ);
	is($r->{rc}, 0, 'combined grouped query for the audit check') or diag($r->{err});
	my %rec;
	for my $name (@names)
	{
		$rec{$name} = $node{$name}->safe_psql('postgres', qq{
			SELECT string_agg(node_role || '|' || outcome || '|' || encode(session_id, 'hex'), ',')
			  FROM smpc.audit_log WHERE audit_id > $base{$name}});
	}
	like($rec{alpha}, qr/^querying\|success\|[0-9a-f]+$/, 'alpha: one querying record for the combined query');
	my ($sid) = $rec{alpha} =~ /\|([0-9a-f]+)$/;
	$sid //= 'none';
	is($rec{$_}, "member|success|$sid", "$_: one member record for the combined query, same session")
	  for qw(beta gamma);
}
note(sprintf('joint queries: %.1f s', time - $T0));

# --- errors -----------------------------------------------------------------------------

my $sess = $alpha->background_psql('postgres', on_error_stop => 0);
$sess->set_query_timer_restart();
$sess->query_safe("\\set VERBOSITY verbose\n\\pset null <NULL>");
{
	$sess->{stderr} = '';
	my $out = $sess->query($UQ);
	is($sess->{stderr} eq '' ? compare_rows($out, $UQ_EXPECTED, $UK) : "failed: $sess->{stderr}", '',
		'alpha session: the combined query before the errors');
}

sub no_leftovers
{
	my ($what) = @_;
	for my $name (@names)
	{
		ok($node{$name}->poll_query_until('postgres', q{
				SELECT count(*) FILTER (WHERE usename = 'smpc_peer') <= 1
				   AND count(*) FILTER (WHERE usename = 'smpc_peer' AND state <> 'idle') = 0
				   AND count(*) FILTER (WHERE backend_type = 'parallel worker') = 0
				  FROM pg_stat_activity}),
			"$what: no member backend busy or left over on $name");
	}
}

# after an error: nothing left at the members, the combined query works from
# a fresh connection at alpha (which needs the one session slot of beta and
# gamma: a session left open there refuses it with 53300 until it times
# out; a backend still exiting frees its slot within moments, so 53300 is
# retried for a while) and in the session that saw the error
sub after_error
{
	my ($what) = @_;
	no_leftovers($what);
	my $r;
	my $deadline = time + 15;
	while (1)
	{
		$r = psql_at($alpha, $UQ);
		last if ($r->{sqlstate} // '') ne '53300' || time > $deadline;
		select(undef, undef, undef, 0.2);
	}
	is($r->{rc} == 0 ? compare_rows($r->{out}, $UQ_EXPECTED, $UK) : "failed: $r->{err}", '',
		"$what: then the combined query works from a fresh connection (no session left at a member)");
	$sess->{stderr} = '';
	my $out = $sess->query($UQ);
	is($sess->{stderr} eq '' ? compare_rows($out, $UQ_EXPECTED, $UK) : "failed: $sess->{stderr}", '',
		"$what: then the combined query works in the same session");
}

# any SQLSTATE of an error raised on purpose: not XX000 (an internal error)
my $PROPER = qr/^(?!XX)[0-9A-Z]{5}$/;

# run $sql in alpha's session and expect an error: %o sqlstate (text or
# qr//), message (qr// or array of qr// over message and detail), hint
sub error_case
{
	my ($what, %o) = @_;
	$sess->{stderr} = '';
	my $out = $sess->query($o{sql});
	my $e = parse_err($sess->{stderr});
	note("$what: $sess->{stderr}");
	my $want = ref $o{sqlstate} ? $o{sqlstate} : qr/^\Q$o{sqlstate}\E$/;
	ok(defined $e->{sqlstate} && $e->{sqlstate} =~ $want,
		"$what: fails with SQLSTATE " . (ref $o{sqlstate} ? "matching $o{sqlstate}" : $o{sqlstate}))
	  or diag("  query: $o{sql}\n  stdout: $out\n  stderr: $sess->{stderr}");
	is($out, '', "$what: no result");
	my $text = join("\n", grep { defined } $e->{message}, $e->{detail});
	like($text, $_, "$what: message") for @{ $o{message} // [] };
	ok(defined $e->{hint} && length $e->{hint}, "$what: with a hint") if $o{hint};
	after_error($what);
	return $e;
}

error_case('a NULL element at the querying node',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'nulq'},
	sqlstate => '22004');
error_case('a NULL element at a member',
	sql => q{SELECT smpc_sum(v), count(*) FROM federation.vec WHERE g = 'nulm'},
	sqlstate => '22004', message => [qr/member "beta"/]);
error_case('a member whose arrays have another length',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'lenm'},
	sqlstate => '2202E', message => [ qr/^member "beta"/, qr/\b7\b/, qr/\b11\b/ ]);
error_case('two lengths at the querying node',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'len2q'},
	sqlstate => '2202E');
error_case('two lengths at a member',
	sql => q{SELECT smpc_sum(w), sum(x) FROM federation.vec WHERE g = 'len2m'},
	sqlstate => '2202E', message => [qr/^member "gamma"/]);
error_case('the querying node has no row (WHERE excludes them)',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'noarr'},
	sqlstate => '22023', hint => 1);
error_case('the querying node has only NULL arrays',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'nularr'},
	sqlstate => '22023', hint => 1);
error_case('a 2-D array at the querying node',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'twodq'},
	sqlstate => $PROPER);
error_case('a 2-D array at a member',
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'twodm'},
	sqlstate => $PROPER, message => [qr/^member "gamma"/]);
note(sprintf('errors: %.1f s', time - $T0));

# --- large vectors -------------------------------------------------------------------------

# the joint sum of the large vectors of group $g into table public.$t on
# alpha, with last_session_stats; then compared element by element in SQL
sub big_case
{
	my ($g) = @_;
	my $n = $BIG{$g};
	my $t = "joint_$g";
	my $t1 = time;
	my $r = psql_at($alpha, qq{
		CREATE TABLE public.$t AS SELECT smpc_sum(w) AS w FROM federation.vec WHERE g = '$g';
		SELECT party, node_role, bytes_sent FROM smpc.last_session_stats() ORDER BY party;});
	my $secs = time - $t1;
	is($r->{rc}, 0, "$g: the joint sum of $n-element vectors") or diag($r->{err});
	note(sprintf('%s: joint query %.1f s', $g, $secs));
	is(out_or_err(psql_at($alpha, "SELECT count(*), array_ndims(w), cardinality(w) FROM public.$t GROUP BY 2, 3")),
		"1|1|$n", "$g: one 1-D result of $n elements");
	my $bad = "j.e IS NULL OR p.s IS NULL OR abs(j.e - p.s) > 1e-9 * greatest(1, abs(p.s))";
	my $cmp = out_or_err(psql_at($alpha, qq{
		WITH p AS (SELECT i, sum(e) AS s FROM plain.vec, unnest(w) WITH ORDINALITY AS t(e, i)
		            WHERE g = '$g' GROUP BY i),
		     j AS (SELECT i, e FROM public.$t, unnest(w) WITH ORDINALITY AS t(e, i))
		SELECT count(*), count(*) FILTER (WHERE $bad),
		       coalesce(min(i) FILTER (WHERE $bad) || ': joint ' || min(j.e::text) FILTER (WHERE $bad), '')
		  FROM p FULL JOIN j USING (i)}));
	is($cmp, "$n|0|", "$g: every element within 1e-9 relative of the plaintext element-wise sum");
	my %sent = map { ($_->[0] => [ $_->[1], $_->[2] ]) } @{ split_rows($r->{out}) };
	return (\%sent, $secs);
}

my ($sent100k, $secs100k) = big_case('big100k');
{
	my $lo = 16 * ($N_PARTIES - 1);
	my $hi = 16 * ($N_PARTIES - 1) + 16 + 1;
	for my $m (qw(beta gamma))
	{
		my $s = $sent100k->{$m};
		ok(defined $s && $s->[0] eq 'member', "big100k: last_session_stats has member $m")
		  or diag(explain($sent100k));
		my $per = defined $s ? $s->[1] / $BIG{big100k} : -1;
		diag(sprintf('big100k: %s sent %d bytes, %.3f per element', $m, $s->[1], $per)) if defined $s;
		ok($per >= $lo && $per <= $hi, "big100k: $m sent between $lo and $hi bytes per element")
		  or diag("  got $per");
	}
	diag(sprintf('big100k: alpha (querying) sent %d bytes, %.3f per element',
		$sent100k->{alpha}[1], $sent100k->{alpha}[1] / $BIG{big100k}))
	  if $sent100k->{alpha};
}
my (undef, $secs1m) = big_case('big1m');
diag(sprintf('joint sum of 3 x 100000 elements: %.1f s, of 3 x %d: %.1f s', $secs100k, $LIMIT, $secs1m));

error_case("vectors of $BIG{big1m1} elements",
	sql => q{SELECT smpc_sum(w) FROM federation.vec WHERE g = 'big1m1'},
	sqlstate => $PROPER, message => [qr/1,?048,?576/]);

# more than smpc.max_message_size can carry, known before any member is
# asked: refused at the querying node, no member hears of it
{
	my $audit = sub {
		return join(',', map { $node{$_}->safe_psql('postgres',
			'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log') } qw(beta gamma));
	};
	my $before = $audit->();
	my $what = '100,000 elements with smpc.max_message_size 1MB';
	$sess->query("SET smpc.max_message_size = '1MB'");
	$sess->{stderr} = '';
	my $out = $sess->query(q{SELECT smpc_sum(w), count(*) FROM federation.vec WHERE g = 'big100k'});
	my $e = parse_err($sess->{stderr});
	is($e->{sqlstate} // '', '54000', "$what: fails with SQLSTATE 54000")
	  or diag("  stderr: $sess->{stderr}");
	like($e->{message} // '', qr/smpc\.max_message_size/, "$what: the message names the setting");
	is($out, '', "$what: no result");
	is($audit->(), $before, "$what: no member recorded a session");
	$sess->query('RESET smpc.max_message_size');
	after_error($what);
}

# two vectors that together exceed the protocol's width per group
# (1,048,576 + 1,024 field elements): refused at the querying node before
# any member is asked (the row exists at alpha only)
{
	$alpha->safe_psql('postgres', q{INSERT INTO lab.vec (g, w, u, x)
		SELECT 'wide', array(SELECT i::float8 FROM generate_series(1, 1048576) i),
		       array(SELECT i::numeric FROM generate_series(1, 2000) i), 1});
	my $audit = sub {
		return join(',', map { $node{$_}->safe_psql('postgres',
			'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log') } qw(beta gamma));
	};
	my $before = $audit->();
	my $what = 'vectors of 1,048,576 and 2,000 elements in one query';
	$sess->{stderr} = '';
	my $out = $sess->query(q{SELECT smpc_sum(w), smpc_sum(u) FROM federation.vec WHERE g = 'wide'});
	my $e = parse_err($sess->{stderr});
	is($e->{sqlstate} // '', '54000', "$what: fails with SQLSTATE 54000")
	  or diag("  stderr: $sess->{stderr}");
	like($e->{message} // '', qr/take 1050579 field elements per group, more than 1049600/,
		"$what: the message gives the width and the limit");
	is($out, '', "$what: no result");
	is($audit->(), $before, "$what: no member recorded a session");
	after_error($what);
	$alpha->safe_psql('postgres', q{DELETE FROM lab.vec WHERE g = 'wide'});
}

$sess->quit;
no_leftovers('at the end');
diag(sprintf('016 ran in %.1f s', time - $T0));
$_->stop for @nodes;
done_testing();
