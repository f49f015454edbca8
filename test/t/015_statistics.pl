# The joint statistics family over three members, checked against
# PostgreSQL's own aggregates over the plaintext union of the members' rows:
# var_samp, var_pop, variance, stddev_samp, stddev_pop, stddev over every
# numeric type, covar_samp, covar_pop, corr and the regr_* aggregates, each
# under its standard name and its smpc_* name, grouped and ungrouped; result
# types; groups of one row, of constant x, of constant y, of large mean and
# small spread and of all-NULL x; one protocol session (and one audit record
# per node, the rounds of a plain sum) for a query mixing them with count,
# sum and avg; smpc_* over a local table; HAVING and expressions over a
# statistic; WHERE; a prepared statement on its generic plan; an overflow of
# var_samp(bigint) that leaves the federation usable.
#
# Comparison (the precision the README promises): results over integer
# types and numeric(12,2) equal PostgreSQL's as text; over unconstrained
# numeric within 1e-12 relative (numerically exact in groups whose values
# have at most 6 decimals); real, double precision and every two-argument
# statistic within 1e-9 * max(1, |PostgreSQL's|).  NULL equals only NULL.
use strict;
use warnings;

use Math::BigFloat;
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;
use SmpcJoint;

my $started = Time::HiRes::time();
my $seed = SmpcJoint::init_seed();

my @names = qw(st_marys city county);
my $PLAIN = 'st_marys';    # holds the plaintext union

# --- the data -------------------------------------------------------------------

my @COLUMNS = (
	[ g => 'text' ],
	[ i2 => 'smallint' ],
	[ i4 => 'integer' ],
	[ i8 => 'bigint' ],
	[ n2 => 'numeric(12,2)' ],
	[ nu => 'numeric' ],
	[ f4 => 'real' ],
	[ f8 => 'double precision' ],
	[ x => 'double precision' ],
	[ y => 'double precision' ],);
my @COLNAMES = map { $_->[0] } @COLUMNS;

sub pick { return $_[ int(rand(@_)) ]; }
sub f17 { return sprintf('%.17g', $_[0]); }

# a row of group $g with random values of moderate magnitude
sub random_row
{
	my ($g) = @_;
	my %r = (g => $g);
	$r{i2} = rand() < 0.05 ? pick(32767, -32767) : int(rand(2001)) - 1000;
	$r{i4} = rand() < 0.05 ? pick(2147483647, -2147483647) : int(rand(200001)) - 100000;
	$r{i8} =
	  rand() < 0.05
	  ? sprintf('%s%d', pick('', '-'), 1e15 + int(rand(1e9)))
	  : sprintf('%d', int(rand(2e12)) - 1e12);
	$r{n2} =
	  rand() < 0.04
	  ? pick('9999999999.99', '-9999999999.99')
	  : sprintf('%.2f', rand(2e6) - 1e6);
	# unconstrained numeric: 0 to 6 decimals (10 in group "prec")
	$r{nu} = sprintf('%.*f', int(rand(7)), rand(2e6) - 1e6);
	$r{f4} = sprintf('%.2f', rand(2000) - 1000);
	$r{f8} = rand() < 0.05 ? f17(rand(1e-3)) : f17(rand(2e6) - 1e6);
	my $x = rand(2000) - 1000;
	$r{x} = f17($x);
	# mostly correlated with x, sometimes not
	$r{y} = f17(rand() < 0.7 ? -3 * $x + rand(200) - 100 : rand(2000) - 1000);
	return \%r;
}

# NULLs sprinkled in every column but g and those in @keep
sub sprinkle
{
	my ($r, @keep) = @_;
	my %k = map { $_ => 1 } @keep;
	for my $c (@COLNAMES[ 1 .. $#COLNAMES ])
	{
		$r->{$c} = undef if !$k{$c} && rand() < 0.08;
	}
	return $r;
}

# The rows of member number $idx (0-based).  Groups:
#   a, b, c, NULL   random
#   xconst          every column constant (with NULLs) except y
#   yconst          y constant, x varies
#   big             1e6 (30000 for i2, 1e15 for i8) plus small noise; the
#                   floating columns on a binary grid so that PostgreSQL's own
#                   double arithmetic is exact up to its final division
#   xnull           x always NULL
#   prec            nu with 10 decimals in about half of the rows
#   one             a single row in all (on the last member), no NULLs
sub member_rows
{
	my ($idx) = @_;
	my @rows;
	push @rows, sprinkle(random_row(pick(qw(a b c)))) for 1 .. 24 + int(rand(12));
	push @rows, sprinkle(random_row(undef)) for 1 .. 2 + int(rand(3));
	for my $k (1 .. 3 + int(rand(3)))
	{
		my $r = random_row('xconst');
		@$r{qw(i2 i4 i8 n2 nu f4 f8 x)} = ('-7', '42', '123456789012', '12.50', '3.25', '0.5', '-1.25', '2.5');
		push @rows, sprinkle($r, $k <= 2 ? qw(x y i4 nu f8) : ());
	}
	for my $k (1 .. 3 + int(rand(3)))
	{
		my $r = random_row('yconst');
		$r->{y} = '-7.125';
		push @rows, sprinkle($r, $k <= 2 ? qw(x y) : ());
	}
	for my $k (1 .. 4 + int(rand(4)))
	{
		my $r = { g => 'big' };
		$r->{i2} = 30000 + int(rand(20));
		$r->{i4} = 1000000 + int(rand(10));
		$r->{i8} = sprintf('%d', 1e15 + int(rand(10)));
		$r->{n2} = sprintf('%.2f', 1e6 + int(rand(100)) / 100);
		$r->{nu} = sprintf('%.6f', 1e6 + int(rand(1e6)) / 1e6);
		$r->{f4} = sprintf('%.4f', 1e6 + int(rand(16)) / 16);
		$r->{f8} = sprintf('%.6f', 1e6 + int(rand(256)) / 64);
		my $kx = int(rand(256));
		$r->{x} = sprintf('%.6f', 1e6 + $kx / 64);
		$r->{y} = sprintf('%.7f', 1e6 + ($kx + 2 * int(rand(128))) / 128);
		push @rows, sprinkle($r, $k <= 2 ? @COLNAMES : ());
	}
	for (1 .. 3 + int(rand(3)))
	{
		my $r = random_row('xnull');
		$r->{x} = undef;
		push @rows, sprinkle($r);
	}
	for my $k (1 .. 4 + int(rand(3)))
	{
		my $r = random_row('prec');
		$r->{nu} = sprintf('%.10f', rand(2000) - 1000) if $k % 2;
		push @rows, sprinkle($r, $k == 1 ? 'nu' : ());
	}
	push @rows, random_row('one') if $idx == 2;
	return \@rows;
}

# stats.huge: var_samp(i8) of values near 9.2e18 overflows (group h3: three
# such values per member, h1: one); group ok has small values
sub near_9e18 { return '920' . sprintf('%016d', int(rand(1e15))); }

sub huge_rows
{
	my @rows;
	push @rows, { g => 'h3', i8 => near_9e18() } for 1 .. 3;
	push @rows, { g => 'h1', i8 => near_9e18() };
	push @rows, { g => 'ok', i8 => rand() < 0.2 ? undef : sprintf('%d', int(rand(2e6)) - 1e6) }
	  for 1 .. 4;
	return \@rows;
}

sub copy_text
{
	my ($rows, @cols) = @_;
	return join('', map { my $r = $_; join("\t", map { $r->{$_} // '\N' } @cols) . "\n" } @$rows);
}

my %data = map { $names[$_] => member_rows($_) } 0 .. $#names;
my %huge = map { $_ => huge_rows() } @names;

sub load
{
	my ($node, $name) = @_;
	my $cols = join(', ', map { "$_->[0] $_->[1]" } @COLUMNS);
	$node->safe_psql('postgres',
		"CREATE SCHEMA stats;\n"
		  . "CREATE TABLE stats.obs ($cols, note text DEFAULT 'private');\n"
		  . 'COPY stats.obs (' . join(', ', @COLNAMES) . ") FROM STDIN;\n"
		  . copy_text($data{$name}, @COLNAMES) . "\\.\n"
		  . "CREATE TABLE stats.huge (g text, i8 bigint);\n"
		  . "COPY stats.huge FROM STDIN;\n"
		  . copy_text($huge{$name}, qw(g i8)) . "\\.\n");
	return;
}

my @nodes = start_members(3, names => \@names);
my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => 1,
	prepare => sub { my ($node, $name) = @_; load($node, $name); },
	publish => [
		{
			dataset => 'stats',
			relation => 'stats.obs',
			columns => [@COLNAMES],
			group_keys => { g => 'reveal' },
		},
		{
			dataset => 'huge',
			relation => 'stats.huge',
			columns => [qw(g i8)],
			group_keys => { g => 'reveal' },
		},
	]);
my %node = %{ $fed->{nodes} };
my $j = SmpcJoint->new(fed => $fed, plain => $PLAIN);

# --- the plaintext union on $PLAIN ------------------------------------------------------
{
	my $cols = join(', ', map { "$_->[0] $_->[1]" } @COLUMNS);
	$node{$PLAIN}->safe_psql('postgres',
		"CREATE SCHEMA plain; CREATE TABLE plain.obs ($cols); CREATE TABLE plain.huge (g text, i8 bigint);");
	my ($n_obs, $n_huge) = (0, 0);
	for my $name (@names)
	{
		for my $t ([ obs => join(', ', @COLNAMES) ], [ huge => 'g, i8' ])
		{
			my $rows = $node{$name}->safe_psql('postgres', "COPY (SELECT $t->[1] FROM stats.$t->[0]) TO STDOUT");
			$node{$PLAIN}->safe_psql('postgres', "COPY plain.$t->[0] FROM STDIN;\n$rows\n\\.\n");
		}
		$n_obs += @{ $data{$name} };
		$n_huge += @{ $huge{$name} };
	}
	is($node{$PLAIN}->safe_psql('postgres', 'SELECT count(*) FROM plain.obs') . '/'
		  . $node{$PLAIN}->safe_psql('postgres', 'SELECT count(*) FROM plain.huge'),
		"$n_obs/$n_huge", "the plaintext union holds every member's rows ($n_obs + $n_huge)");
	# the special groups are what they claim to be (so that the checks below
	# exercise the cases they are meant to)
	is($node{$PLAIN}->safe_psql('postgres', q{
		SELECT string_agg(g || ':' || ok::text, ',' ORDER BY g) FROM (
		  SELECT 'one' AS g, count(*) = 1 AS ok FROM plain.obs WHERE g = 'one'
		  UNION ALL SELECT 'xconst', count(DISTINCT x) = 1 AND count(DISTINCT y) > 1 AND count(DISTINCT i4) = 1
		    FROM plain.obs WHERE g = 'xconst'
		  UNION ALL SELECT 'yconst', count(DISTINCT y) = 1 AND count(DISTINCT x) > 1 FROM plain.obs WHERE g = 'yconst'
		  UNION ALL SELECT 'big', min(x) >= 1e6 AND stddev(x) < 10 AND count(x) >= 6 FROM plain.obs WHERE g = 'big'
		  UNION ALL SELECT 'xnull', count(x) = 0 AND count(y) > 0 FROM plain.obs WHERE g = 'xnull'
		  UNION ALL SELECT 'prec', bool_or(scale(nu) = 10) FROM plain.obs WHERE g = 'prec'
		  UNION ALL SELECT 'le6', bool_and(scale(nu) <= 6) FROM plain.obs WHERE g IS DISTINCT FROM 'prec'
		  UNION ALL SELECT 'nulls', bool_and(n > 0) FROM (SELECT count(*) FILTER (WHERE i2 IS NULL) + 0 AS n FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE i4 IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE i8 IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE n2 IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE nu IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE f4 IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE f8 IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE x IS NULL AND g <> 'xnull') FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE y IS NULL) FROM plain.obs
		     UNION ALL SELECT count(*) FILTER (WHERE g IS NULL) FROM plain.obs) c
		) s}),
		'big:true,le6:true,nulls:true,one:true,prec:true,xconst:true,xnull:true,yconst:true',
		'the generated data has every special group and NULLs in every column');
}

# --- comparison ------------------------------------------------------------------------------

my $TOL_NU = Math::BigFloat->new('1e-12');
my $NUM_RE = qr/^-?(?:\d+\.?\d*(?:e[-+]?\d+)?|Infinity|NaN)$/i;

# One value.  Kinds: exact (text equality), nu (relative 1e-12), nux (at
# least PostgreSQL's display scale, and rounded half away from zero to it,
# within one unit of PostgreSQL's last digit: README, numeric without a
# declared scale; PostgreSQL's stddev is the root of its variance rounded at
# that scale), float (|got - exp| <= 1e-9 * max(1, |exp|)).
sub same_value
{
	my ($kind, $got, $exp) = @_;
	return 0 unless defined $got && defined $exp;
	return $got eq $exp if $got eq '<NULL>' || $exp eq '<NULL>';
	return $got eq $exp if $kind eq 'exact';
	return 0 unless $got =~ $NUM_RE && $exp =~ $NUM_RE;
	if ($kind eq 'nu' || $kind eq 'nux')
	{
		my ($g, $e) = (Math::BigFloat->new($got), Math::BigFloat->new($exp));
		return 0 if $g->is_nan || $e->is_nan;
		if ($kind eq 'nux')
		{
			my $gd = length(($got =~ /\.(\d*)$/)[0] // '');
			my $ed = length(($exp =~ /\.(\d*)$/)[0] // '');
			my $ulp = Math::BigFloat->new('1e-' . $ed);
			return $gd >= $ed
			  && $g->copy->bfround(-$ed, 'common')->bsub($e)->babs->bcmp($ulp) <= 0;
		}
		return $g->copy->bsub($e)->babs->bcmp($e->copy->babs->bmul($TOL_NU)) <= 0;
	}
	if ($kind eq 'float')
	{
		return $got eq $exp if $got =~ /inf|nan/i || $exp =~ /inf|nan/i;
		my $scale = abs($exp) > 1 ? abs($exp) : 1;
		return abs($got - $exp) <= 1e-9 * $scale;
	}
	die "unknown kind $kind";
}

sub rows_of { return [ map { [ split /\|/, $_, -1 ] } grep { length } split /\n/, $_[0] // '' ]; }

sub format_rows
{
	return join('', map { '      ' . join('|', @$_) . "\n" } @{ $_[0] }) || "      (no rows)\n";
}

# Compare result rows: grouped results are matched on their first column
# (the key); $nux_unless: kind nu becomes nux in rows whose key is not it.
sub compare_rows
{
	my ($got, $exp, $kinds, %o) = @_;
	my @why;
	my (%g, %e);
	if ($o{grouped})
	{
		for my $r (@$got) { push @why, "key $r->[0] twice in the joint result" if $g{ $r->[0] }++ }
		%g = map { $_->[0] => $_ } @$got;
		%e = map { $_->[0] => $_ } @$exp;
		push @why, map { "group $_ missing from the joint result" } grep { !$g{$_} } sort keys %e;
		push @why, map { "group $_ in the joint result only" } grep { !$e{$_} } sort keys %g;
	}
	else
	{
		return (0, 'got ' . @$got . ' rows, expected ' . @$exp) if @$got != @$exp;
		%g = map { $_ => $got->[$_] } 0 .. $#$got;
		%e = map { $_ => $exp->[$_] } 0 .. $#$exp;
	}
	for my $k (sort grep { $g{$_} } keys %e)
	{
		my ($gr, $er) = ($g{$k}, $e{$k});
		if (@$gr != @$kinds || @$er != @$kinds)
		{
			push @why, "row $k: " . @$gr . ' columns, expected ' . @$er . ' (kinds ' . @$kinds . ')';
			next;
		}
		for my $c (0 .. $#$kinds)
		{
			next if $kinds->[$c] eq 'key';
			my $kind = $kinds->[$c];
			$kind = 'nux' if $kind eq 'nu' && defined $o{nux_unless} && $k ne $o{nux_unless};
			push @why, ($o{grouped} ? "group $k" : "row $k") . ', column ' . ($c + 1)
			  . ($o{labels} ? " ($o{labels}[$c])" : '') . " [$kind]: got $gr->[$c], expected $er->[$c]"
			  unless same_value($kind, $gr->[$c], $er->[$c]);
		}
	}
	return (!@why, join("\n    ", @why));
}

# the plaintext form of a joint query: plain tables, standard names
sub plain_sql
{
	my ($sql) = @_;
	$sql =~ s/\bfederation\.stats\b/plain.obs/g;
	$sql =~ s/\bfederation\.huge\b/plain.huge/g;
	$sql =~ s/\bsmpc_(\w+)\s*\(/$1(/g;
	return $sql;
}

my $turn = 0;
sub next_at { return $names[ $turn++ % @names ]; }

my %failures;    # name => details, for the summary

# check(name, fed => joint SQL, kinds => [...], grouped => 0/1, at => node,
#       labels => [...], nux_unless => key, after => SQL run after it in the
#       same session): result types (\gdesc) and rows against the plaintext.
# Returns (joint rows, output of "after").
sub check
{
	my ($name, %o) = @_;
	my $at = $o{at} // next_at();
	my $plain = plain_sql($o{fed});
	my $script = sub { my $q = shift; "$q\n\\gdesc\n\\echo \@\@\@\n$q;\n" };
	my $p = $j->psql_at($PLAIN, $script->($plain));
	die "plaintext query failed: $plain\n$p->{err}" if $p->{rc} != 0;
	my ($pdesc, $pout) = split /^\@\@\@\n/m, $p->{out} . "\n", 2;
	my $r = $j->psql_at($at, $script->($o{fed}) . ($o{after} ? "\\echo \@\@\@\n$o{after}\n" : ''));
	my ($jdesc, $jout, $after) = split /^\@\@\@\n/m, $r->{out} . "\n", 3;
	my $ctx = "  seed $seed, at $at\n  query: $o{fed}\n  plain: $plain\n";
	if ($r->{rc} != 0)
	{
		fail("$name: joint query at $at runs");
		fail("$name: equals PostgreSQL over the union");
		diag("${ctx}  error: $r->{err}");
		$failures{$name} = "error: " . ($r->{sqlstate} // '') . ' ' . ($r->{message} // $r->{err});
		return ([], undef);
	}
	my $types = sub { join(', ', map { (split /\|/)[1] // '?' } grep { length } split /\n/, $_[0] // '') };
	is($types->($jdesc), $types->($pdesc), "$name: result types are PostgreSQL's")
	  or $failures{"$name (types)"} = 'got ' . $types->($jdesc) . '; expected ' . $types->($pdesc);
	my ($got, $exp) = (rows_of($jout), rows_of($pout));
	my ($ok, $why) = compare_rows($got, $exp, $o{kinds}, %o);
	ok($ok, "$name (at $at): equals PostgreSQL over the union")
	  or do
	{
		diag("$ctx  $why\n    got:\n" . format_rows($got) . "    expected:\n" . format_rows($exp));
		$failures{$name} = $why;
	};
	return ($got, $after);
}

# --- every statistic, both names, every type, grouped and ungrouped ----------------------------

my @ONE = qw(var_samp var_pop variance stddev_samp stddev_pop stddev);
my @TWO = qw(covar_samp covar_pop corr regr_slope regr_intercept regr_r2 regr_count
  regr_sxx regr_syy regr_sxy regr_avgx regr_avgy);
my %KIND = (i2 => 'exact', i4 => 'exact', i8 => 'exact', n2 => 'exact', nu => 'nux',
	f4 => 'float', f8 => 'float', x => 'float', y => 'float');

for my $col (qw(i2 i4 i8 n2 nu f4 f8 x y))
{
	for my $prefix ('', 'smpc_')
	{
		my @aggs = map { "$prefix$_($col)" } @ONE;
		check("$prefix* ($col) by g",
			fed => 'SELECT g, ' . join(', ', @aggs) . ' FROM federation.stats GROUP BY g',
			grouped => 1,
			kinds => [ 'key', ($KIND{$col}) x @ONE ],
			labels => [ 'g', @aggs ],
			nux_unless => 'prec');
		check("$prefix* ($col) ungrouped",
			fed => 'SELECT ' . join(', ', @aggs) . ' FROM federation.stats',
			kinds => [ ($KIND{$col}) x @ONE ],
			labels => \@aggs);
	}
}

for my $prefix ('', 'smpc_')
{
	my @aggs = map { "$prefix$_(y, x)" } @TWO;
	my @kinds = map { $_ eq 'regr_count' ? 'exact' : 'float' } @TWO;
	check("$prefix* (y, x) by g",
		fed => 'SELECT g, ' . join(', ', @aggs) . ' FROM federation.stats GROUP BY g',
		grouped => 1,
		kinds => [ 'key', @kinds ],
		labels => [ 'g', @aggs ]);
	check("$prefix* (y, x) ungrouped",
		fed => 'SELECT ' . join(', ', @aggs) . ' FROM federation.stats',
		kinds => \@kinds,
		labels => \@aggs);
	# integer and real arguments, cast implicitly to double precision (the
	# bigints of about 1e15 are left out: as floats, their squares are
	# beyond what a member may share, 22003, see the README)
	my @mixed = ("${prefix}corr(i4, i2)", "${prefix}regr_slope(i8, i4)", "${prefix}covar_samp(i2, x)",
		"${prefix}regr_count(i4, f8)", "${prefix}regr_intercept(y, i4)", "${prefix}covar_pop(f4, x)");
	check("$prefix* over integer and real arguments by g",
		fed => 'SELECT g, ' . join(', ', @mixed)
		  . ' FROM federation.stats WHERE i8 IS NULL OR abs(i8) < 10000000000000 GROUP BY g',
		grouped => 1,
		kinds => [qw(key float float float exact float float)],
		labels => [ 'g', @mixed ]);
}

# single-row and all-NULL selections, ungrouped
for my $g (qw(one xnull xconst))
{
	my @aggs = (
		'var_samp(x)', 'smpc_var_pop(x)', 'stddev_samp(i4)', 'smpc_stddev_pop(i4)', 'var_pop(n2)',
		'covar_samp(y, x)', 'smpc_covar_pop(y, x)', 'corr(y, x)', 'smpc_regr_slope(y, x)',
		'regr_r2(y, x)', 'smpc_regr_count(y, x)', 'regr_sxx(y, x)', 'regr_avgx(y, x)');
	check("ungrouped statistics of group $g",
		fed => 'SELECT ' . join(', ', @aggs) . " FROM federation.stats WHERE g = '$g'",
		kinds => [qw(float float exact exact exact float float float float float exact float float)],
		labels => \@aggs);
}

# --- one protocol session for a mix with count, sum and avg -----------------------------------------
{
	my $at = next_at();
	my %base = map {
		$_ => $node{$_}->safe_psql('postgres', 'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log')
	} @names;
	my $stats = 'SELECT party, node_role, rounds FROM smpc.last_session_stats() ORDER BY party, node_role;';
	my $mixed = 'SELECT g, count(*), sum(i4), avg(f8), var_samp(x), stddev_pop(i2), corr(y, x), '
	  . 'regr_slope(y, x), regr_count(y, x) FROM federation.stats GROUP BY g';
	my (undef, $mixed_stats) = check('a mix of count, sum, avg and statistics by g',
		at => $at,
		fed => $mixed,
		grouped => 1,
		kinds => [qw(key exact exact float float exact float float exact)],
		after => $stats);

	# exactly one audit record per node, all of the same session
	my %sessions;
	for my $m (@names)
	{
		# a member's record is normally there when the query returns; poll
		# briefly in case it is not (none at all fails below)
		my $deadline = Time::HiRes::time() + 15;
		while (Time::HiRes::time() < $deadline
			&& $node{$m}->safe_psql('postgres',
				"SELECT count(*) FROM smpc.audit_log WHERE audit_id > $base{$m}") eq '0')
		{
			Time::HiRes::sleep(0.1);
		}
		my $rows = rows_of($node{$m}->safe_psql('postgres', qq{
			SELECT node_role, outcome, encode(session_id, 'hex'), coalesce(initiator_node, '')
			  FROM smpc.audit_log WHERE audit_id > $base{$m} ORDER BY audit_id}));
		my $role = $m eq $at ? 'querying' : 'member';
		ok(@$rows == 1 && $rows->[0][0] eq $role && $rows->[0][1] eq 'success',
			"$m: the mixed query left exactly one audit record ($role, success)")
		  or do
		{
			diag("  records since the query:\n" . format_rows($rows));
			$failures{"audit records at $m"} = 'got ' . scalar(@$rows) . " records:\n" . format_rows($rows);
		};
		$sessions{ $_->[2] }++ for @$rows;
	}
	is(scalar(keys %sessions), 1, 'all three audit records name the same session');

	# the same rounds as a plain grouped sum
	my $r = $j->psql_at($at, "SELECT g, sum(i4) FROM federation.stats GROUP BY g;\n\\echo \@\@\@\n$stats");
	my (undef, $sum_stats) = split /^\@\@\@\n/m, $r->{out} . "\n", 2;
	my $fmt = sub { join('; ', map { join(' ', @$_) } @{ rows_of($_[0]) }) };
	my $ms = rows_of($mixed_stats);
	ok(@$ms == 3 && !grep({ !defined $_->[2] || $_->[2] !~ /^\d+$/ || $_->[2] < 1 } @$ms),
		'last_session_stats after the mixed query: three parties, each with rounds')
	  or diag('  got: ' . $fmt->($mixed_stats));
	is($fmt->($mixed_stats), $fmt->($sum_stats),
		'the mixed query takes the same rounds per party as a plain grouped sum')
	  or $failures{'rounds of the mixed query'} =
	  'mixed: ' . $fmt->($mixed_stats) . '; plain sum: ' . $fmt->($sum_stats);
}

# --- smpc_* statistics over a local table -----------------------------------------------------
for my $case (
	[ 'smpc_var_samp over a local table', 'SELECT smpc_var_samp(x) FROM stats.obs', 'smpc_var_samp' ],
	[ 'smpc_var_samp over an empty local selection', 'SELECT smpc_var_samp(i4) FROM stats.obs WHERE false',
		'smpc_var_samp' ],
	[ 'smpc_corr over a local table, grouped', 'SELECT g, smpc_corr(y, x) FROM stats.obs GROUP BY g',
		'smpc_corr' ],
	[ 'smpc_stddev over the plaintext union', 'SELECT smpc_stddev(nu) FROM plain.obs', 'smpc_stddev' ])
{
	my ($name, $sql, $fn) = @$case;
	my $at = $sql =~ /plain\.obs/ ? $PLAIN : next_at();
	my $r = $j->psql_at($at, $sql);
	ok($r->{rc} != 0 && defined $r->{sqlstate}, "$name: an error, not a result")
	  or do
	{
		diag("  at $at: $sql\n  stdout: $r->{out}\n  stderr: $r->{err}");
		$failures{$name} = "rc $r->{rc}, stdout: $r->{out}";
	};
	is($r->{sqlstate} // '', '0A000', "$name: SQLSTATE 0A000 (as smpc_sum over a local table)");
	like($r->{message} // '', qr/\Q$fn\E/, "$name: the message names $fn") or diag("  stderr: $r->{err}");
}

# --- HAVING, expressions, WHERE --------------------------------------------------------------
{
	my ($rows) = check('HAVING var_samp(x) > 0 and sqrt(var_pop(...)) beside stddev_pop(...)',
		fed => q{SELECT g, var_samp(x), sqrt(var_pop(x)) AS s, stddev_pop(x),
		                sqrt(var_pop(i4)) AS s4, stddev_pop(i4), stddev_pop(x) - sqrt(var_pop(x)) AS d
		           FROM federation.stats GROUP BY g HAVING var_samp(x) > 0},
		grouped => 1,
		kinds => [qw(key float float float exact exact float)]);
	my @bad = grep { !same_value('float', $_->[2], $_->[3]) } @$rows;
	ok(@$rows && !@bad, 'joint sqrt(var_pop(x)) equals joint stddev_pop(x) in every group')
	  or diag('  rows g|var_samp|sqrt(var_pop)|stddev_pop: ' . format_rows([ map { [ @$_[ 0 .. 3 ] ] } @bad ]));
	ok(!grep({ $_->[0] =~ /^(xconst|one|xnull)$/ } @$rows), 'HAVING dropped the groups of zero or NULL variance');
}
check('HAVING over smpc_* statistics not in the select list',
	fed => q{SELECT g, smpc_stddev(f8) FROM federation.stats GROUP BY g
	          HAVING smpc_var_samp(f8) > 1 AND smpc_regr_count(y, x) >= 2},
	grouped => 1,
	kinds => [qw(key float)]);
check('expressions over statistics',
	fed => q{SELECT g, round(var_samp(i4), 3), var_pop(nu) * 2, stddev(f8) / nullif(stddev(x), 0),
	                coalesce(corr(y, x), -2), regr_count(y, x) + 1
	           FROM federation.stats GROUP BY g},
	grouped => 1,
	kinds => [qw(key exact nu float float exact)]);
check('WHERE, grouped',
	fed => q{SELECT g, var_samp(i4), stddev(nu), covar_pop(y, x), regr_count(y, x), smpc_corr(y, x),
	                smpc_variance(n2)
	           FROM federation.stats WHERE i2 > 0 AND f8 IS NOT NULL GROUP BY g},
	grouped => 1,
	kinds => [qw(key exact nu float exact float exact)]);
check('WHERE, ungrouped',
	fed => q{SELECT smpc_var_pop(n2), regr_avgy(y, x), stddev_samp(f4), smpc_regr_sxy(y, x), var_samp(i8)
	           FROM federation.stats WHERE g IN ('a', 'b', 'yconst') AND (x < 500 OR i4 > 0)},
	kinds => [qw(exact float float float exact)]);

# --- a prepared statement on its generic plan ------------------------------------------------------
{
	my $at = next_at();
	my $body = q{SELECT g, var_samp(x), stddev(i4), corr(y, x), smpc_regr_slope(y, x), regr_count(y, x),
	                    smpc_var_pop(nu)
	               FROM federation.stats WHERE i4 > $1 GROUP BY g};
	my @params = ((map { int(rand(200001)) - 100000 } 1 .. 6), -2147483648, 0);
	my $kinds = [qw(key float exact float float exact nu)];
	my ($fs, $ps) = ("PREPARE q(int) AS $body;\n", 'PREPARE q(int) AS ' . plain_sql($body) . ";\n");
	for my $i (0 .. $#params)
	{
		$fs .= "SET plan_cache_mode = force_generic_plan;\n" if $i == 5;
		$fs .= "EXECUTE q($params[$i]);\n\\echo \@\@\@\n";
		$ps .= "EXECUTE q($params[$i]);\n\\echo \@\@\@\n";
	}
	$fs .= "SELECT generic_plans FROM pg_prepared_statements WHERE name = 'q';\n";
	my $r = $j->psql_at($at, $fs);
	is($r->{rc}, 0, "prepared statement: PREPARE and " . @params . " EXECUTEs at $at")
	  or diag("  stderr: $r->{err}");
	my @got = split /^\@\@\@\n/m, $r->{out} . "\n";
	my $generic = @got > @params ? pop @got : undef;
	my @exp = split /^\@\@\@\n/m, $j->psql_at($PLAIN, $ps)->{out} . "\n";
	for my $i (0 .. $#params)
	{
		my ($ok, $why) = compare_rows(rows_of($got[$i]), rows_of($exp[$i]), $kinds, grouped => 1);
		ok($ok, "prepared statement: EXECUTE q($params[$i]) equals PostgreSQL over the union")
		  or do
		{
			diag("  seed $seed, at $at\n  $why\n    got:\n" . format_rows(rows_of($got[$i]))
				  . "    expected:\n" . format_rows(rows_of($exp[$i])));
			$failures{"prepared EXECUTE q($params[$i])"} = $why;
		};
	}
	cmp_ok($generic // 0, '>=', 3, 'prepared statement: the last executions used the generic plan');
}

# --- overflow: var_samp(bigint) near 9.2e18 -----------------------------------------------------------
{
	my $at = next_at();
	my $next = q{SELECT g, var_samp(i8), stddev_pop(i8), sum(i8), count(*) FROM federation.huge
	               WHERE g = 'ok' GROUP BY g};
	my $exp = $node{$PLAIN}->safe_psql('postgres', "\\pset null <NULL>\n" . plain_sql($next));
	# the failing query and the next one in the same session
	my ($rc, $out, $err) = $node{$at}->psql('postgres',
		"\\set VERBOSITY verbose\n\\pset null <NULL>\n"
		  . "SELECT var_samp(i8) FROM federation.huge WHERE g = 'h3';\n\\echo \@\@\@\n$next;\n",
		on_error_stop => 0);
	my ($first, $second) = split /^\@\@\@\n/m, $out . "\n", 2;
	my ($state, $msg) = $err =~ /ERROR:  ([0-9A-Z]{5}): (.*)$/m;
	ok(defined $state && $state eq '22003' && !length($first // ''),
		'var_samp(i8) over values near 9.2e18: an error with SQLSTATE 22003, not a result')
	  or do
	{
		diag("  at $at\n  stdout: $out\n  stderr: $err\n  PostgreSQL over the union: "
			  . $node{$PLAIN}->safe_psql('postgres', "SELECT var_samp(i8) FROM plain.huge WHERE g = 'h3'"));
		$failures{'overflow of var_samp(i8)'} = 'got ' . ($state // 'no error') . ': ' . ($msg // $first);
	};
	my ($detail) = $err =~ /^DETAIL:  (.*)$/m;
	my ($hint) = $err =~ /^HINT:  (.*)$/m;
	like($msg // '', qr/out of range|overflow|too large/i, '... and its message says a value is out of range')
	  or diag("  stderr: $err");
	# clear to the analyst: it says in the query's terms what overflowed
	# (the column i8, var_samp, or the sums of squares a variance needs)
	like(join(' ', $msg // '', $detail // '', $hint // ''), qr/\bi8\b|var_samp|squares/,
		'... and the message, detail or hint names the column, the aggregate or the squares')
	  or do
	{
		diag("  stderr: $err");
		$failures{'overflow message'} = "message: $msg; detail: " . ($detail // '');
	};
	# and the context maps the member's "value column N" to the dataset
	# query's sum of squares of i8
	my ($ncol) = ($msg // '') =~ /value column (\d+)/;
	$ncol //= 'N';
	like($err, qr/CONTEXT:  value columns of the dataset query: .*\b$ncol sum\(\(CAST\(i8 AS numeric\) \* CAST\(i8 AS numeric\)\)\)/,
		'... and its context names the value column: the sum of squares of i8')
	  or diag("  stderr: $err");
	my ($ok, $why) = compare_rows(rows_of($second), rows_of($exp), [qw(key exact exact exact exact)], grouped => 1);
	ok(length($second // '') && $ok, '... and the next joint query in the same session works')
	  or diag("  $why\n  stdout: $out\n  stderr: $err");

	# one huge value per member: each member's own sums are in range, the
	# joint ones are not; an error or the exact result, never another one
	my $plain_h1 = $node{$PLAIN}->safe_psql('postgres',
		"SELECT var_samp(i8), stddev_samp(i8) FROM plain.huge WHERE g = 'h1'");
	my $r = $j->psql_at(next_at(), "SELECT var_samp(i8), stddev_samp(i8) FROM federation.huge WHERE g = 'h1'");
	ok(($r->{rc} != 0 && ($r->{sqlstate} // '') eq '22003') || ($r->{rc} == 0 && $r->{out} eq $plain_h1),
		'var_samp(i8) when only the joint sums overflow: 22003 or the exact result')
	  or do
	{
		diag("  got: rc $r->{rc}, $r->{out} $r->{err}\n  PostgreSQL: $plain_h1");
		$failures{'joint-only overflow of var_samp(i8)'} = "got $r->{out} $r->{err}; PostgreSQL $plain_h1";
	};
	check('a fresh session after the overflow',
		fed => 'SELECT g, var_samp(i4), corr(y, x) FROM federation.stats GROUP BY g',
		grouped => 1,
		kinds => [qw(key exact float)]);
}

if (%failures)
{
	diag("seed $seed: failures:\n" . join('', map { "  $_:\n    $failures{$_}\n" } sort keys %failures));
}
note(sprintf('015_statistics: %.1f s', Time::HiRes::time() - $started));

$_->stop for @nodes;
done_testing();
