# SmpcJoint.pm -- differential testing of smpc's joint aggregates.
#
# Every member holds a random table clinical.obs (NULLs, negatives,
# extremes, fractions; one member may hold none) published as dataset
# "obs".  The rows of all members are copied into plain.obs on one node
# (the "plain node"), so that every joint query can be checked against the
# same query run with PostgreSQL's own aggregates over the union, with the
# federation's min_group_size rule applied to the plaintext.
#
#   my $seed = SmpcJoint::init_seed();     # SMPC_TEST_SEED overrides
#   my %rows = map { $_ => SmpcJoint::gen_rows(...) } @names;
#   my $fed = setup_federation(\@nodes, prepare => sub { load_obs(...) },
#                              publish => [ SmpcJoint::obs_publication() ], ...);
#   my $j = SmpcJoint->new(fed => $fed, plain => 'st_marys');
#   $j->build_union;
#   $j->run_random(40);
#   $j->check_sql(...), $j->expect_error(...), $j->check_audit;
package SmpcJoint;

use strict;
use warnings;

use Math::BigFloat;

use Test::More;
use PostgreSQL::Test::Utils;
use Exporter 'import';

our @EXPORT = qw(load_obs);

# --- the dataset -------------------------------------------------------------

# published columns and their types, in table order
our @COLUMNS = (
	[ region => 'text' ],
	[ kind => 'text' ],
	[ flag => 'boolean' ],
	[ name => 'text' ],
	[ i2 => 'smallint' ],
	[ i4 => 'integer' ],
	[ i8 => 'bigint' ],
	[ num => 'numeric' ],
	[ amt => 'numeric(12,2)' ],
	[ f8 => 'double precision' ],);
our @COLNAMES = map { $_->[0] } @COLUMNS;
our %COLTYPE = map { $_->[0] => $_->[1] } @COLUMNS;

# group keys: region may be revealed, kind has a public domain ("d" never
# occurs: an empty group), flag is boolean and public
our @KIND_DOMAIN = qw(a b c d);
our @REGIONS = qw(north south east west);

our @NUMERIC_COLS = qw(i2 i4 i8 num amt f8);

sub obs_publication
{
	return {
		dataset => 'obs',
		relation => 'clinical.obs',
		columns => [@COLNAMES],
		group_keys => { region => 'reveal', kind => [@KIND_DOMAIN], flag => 'public' },
	};
}

my $SEED;

# The seed of this run: SMPC_TEST_SEED or a fresh one; printed.
sub init_seed
{
	my $env = $ENV{SMPC_TEST_SEED};
	$SEED = defined $env && length $env ? $env : (time() ^ ($$ << 8)) % 1000000007;
	srand($SEED);
	diag("random seed $SEED (set SMPC_TEST_SEED=$SEED to repeat)");
	return $SEED;
}

sub pick { return $_[ int(rand(@_)) ]; }
sub chance { return rand() < $_[0]; }

# 19-digit values just above 9e18 (int8 max is 9223372036854775807)
sub near_int8_max
{
	return '9' . sprintf('%03d', int(rand(200))) . sprintf('%015d', int(rand(1e15)));
}

# One random row: an array ref in @COLUMNS order, undef for NULL.
sub gen_row
{
	my ($member, %o) = @_;
	my @r;
	my $u = rand();
	my $region =
	    $u < 0.07 ? undef
	  : $u < 0.10 ? "isle_$member"
	  : $u < 0.18 ? 'west'
	  :             pick(qw(north south east));
	push @r, $o{region} // $region;
	push @r, chance(0.05) ? undef : pick(@KIND_DOMAIN[ 0 .. 2 ]);
	push @r, chance(0.1) ? undef : pick('t', 'f');
	push @r, chance(0.05) ? undef
	  : join('', map { pick(qw(a b c x y z)) } 1 .. 1 + int(rand(6)));
	# i2
	push @r, chance(0.1) ? undef
	  : chance(0.05) ? pick(32767, -32767)
	  : int(rand(2001)) - 1000;
	# i4
	push @r, chance(0.1) ? undef
	  : chance(0.06) ? pick(2147483647, -2147483647)
	  : int(rand(20001)) - 10000;
	# i8: sums of these exceed int8 and must come back as exact numeric
	push @r, chance(0.1) ? undef
	  : chance(0.1) ? pick('', '-') . near_int8_max()
	  : int(rand(2e12)) - 1e12;
	# num: unconstrained numeric, fractions of varying scale, some huge
	push @r, chance(0.1) ? undef
	  : chance(0.05) ? pick('', '-') . int(1 + rand(9)) . sprintf('%019d', int(rand(1e15)))
		  . '.' . int(rand(1000))
	  : sprintf('%.*f', int(rand(7)), rand(2e6) - 1e6);
	# amt: numeric(12,2)
	push @r, chance(0.1) ? undef
	  : chance(0.04) ? pick('9999999999.99', '-9999999999.99')
	  : sprintf('%.2f', rand(2e9) - 1e9);
	# f8
	push @r, chance(0.1) ? undef
	  : chance(0.05) ? sprintf('%.17g', rand(1e-3))
	  : chance(0.05) ? sprintf('%.17g', pick(1, -1) * (1e8 + rand(1e8)))
	  : sprintf('%.17g', rand(2e6) - 1e6);
	return \@r;
}

# Random rows of one member: $n random ones plus the rows given in @extra
# (hashes of column => value, other columns random).
sub gen_rows
{
	my ($member, $n, @extra) = @_;
	my @rows = map { gen_row($member) } 1 .. $n;
	for my $e (@extra)
	{
		my $r = gen_row($member);
		for my $i (0 .. $#COLNAMES)
		{
			$r->[$i] = $e->{ $COLNAMES[$i] } if exists $e->{ $COLNAMES[$i] };
		}
		push @rows, $r;
	}
	return \@rows;
}

sub copy_text
{
	my ($rows) = @_;
	return join('', map { join("\t", map { $_ // '\N' } @$_) . "\n" } @$rows);
}

# Create clinical.obs on $node and load $rows (see gen_rows).
sub load_obs
{
	my ($node, $rows) = @_;
	my $cols = join(', ', map { "$_->[0] $_->[1]" } @COLUMNS);
	$node->safe_psql('postgres',
		"CREATE SCHEMA clinical;\n"
		  . "CREATE TABLE clinical.obs ($cols, secret text DEFAULT 'secret');\n"
		  . 'COPY clinical.obs (' . join(', ', @COLNAMES) . ") FROM STDIN;\n"
		  . copy_text($rows) . "\\.\n");
	return;
}

# --- the tester ----------------------------------------------------------------

# new(fed => setup_federation's result, plain => name of the plain node)
sub new
{
	my ($class, %o) = @_;
	my $self = bless {%o}, $class;
	$self->{mgs} = $self->{fed}{min_group_size} // 5;
	$self->{names} = $self->{fed}{names};
	$self->{audit} = { map { $_ => { querying => 0, member => 0 } } @{ $self->{names} } };
	return $self;
}

sub node { my ($self, $name) = @_; return $self->{fed}{nodes}{$name}; }

# plain.obs on the plain node: a copy of every member's clinical.obs
sub build_union
{
	my ($self) = @_;
	my $plain = $self->node($self->{plain});
	my $cols = join(', ', map { "$_->[0] $_->[1]" } @COLUMNS);
	$plain->safe_psql('postgres', "CREATE SCHEMA plain; CREATE TABLE plain.obs (member text, $cols)");
	my $total = 0;
	for my $name (@{ $self->{names} })
	{
		my $data = $self->node($name)->safe_psql('postgres',
			"COPY (SELECT '$name', " . join(', ', @COLNAMES) . ' FROM clinical.obs) TO STDOUT');
		$data .= "\n" if length $data;
		$plain->safe_psql('postgres', "COPY plain.obs FROM STDIN;\n$data\\.\n");
		my $n = $self->node($name)->safe_psql('postgres', 'SELECT count(*) FROM clinical.obs');
		$self->{rows_at}{$name} = $n;
		$total += $n;
	}
	is($plain->safe_psql('postgres', 'SELECT count(*) FROM plain.obs'), $total,
		"plain union on $self->{plain} holds every member's rows ($total)");
	# values seen, for constants in random WHERE clauses
	for my $c (@COLNAMES)
	{
		my @v = grep { length } split /\n/, $plain->safe_psql('postgres',
			"SELECT DISTINCT $c FROM plain.obs WHERE $c IS NOT NULL ORDER BY 1");
		$self->{values}{$c} = \@v;
	}
	return;
}

# Run $sql at node $name with psql; returns a hash: rc, out, err, sqlstate,
# message, hint, notices (array ref).
sub psql_at
{
	my ($self, $name, $sql) = @_;
	my ($rc, $out, $err) = $self->node($name)->psql('postgres',
		"\\set VERBOSITY verbose\n\\pset null <NULL>\n$sql");
	my %r = (rc => $rc, out => $out, err => $err);
	if ($err =~ /^(?:psql:[^\n]*?)?ERROR:  ([0-9A-Z]{5}): (.*?)$/m)
	{
		($r{sqlstate}, $r{message}) = ($1, $2);
	}
	($r{hint}) = $err =~ /^HINT:  (.*)$/m;
	($r{detail}) = $err =~ /^DETAIL:  (.*)$/m;
	$r{notices} = [ $err =~ /NOTICE:  (?:[0-9A-Z]{5}: )?(.*)$/mg ];
	return \%r;
}

# A successful joint query issued at $name: one audit record everywhere.
sub count_session
{
	my ($self, $name, $n) = @_;
	$n //= 1;
	for my $m (@{ $self->{names} })
	{
		my $t = $self->{audit}{$m};
		if ($m eq $name) { $t->{querying} += $n; $t->{querying_any} += $n; }
		else { $t->{member} += $n; $t->{member_success} += $n; }
	}
	return;
}

# A joint session issued at $name that failed after reaching the members:
# 'withheld' (every member did its part and recorded a success) or
# 'refused' (a member refused).
sub count_failed_session
{
	my ($self, $name, $how) = @_;
	$self->{audit}{$name}{querying_any}++;
	if ($how eq 'withheld')
	{
		$self->{audit}{$_}{member_success}++ for grep { $_ ne $name } @{ $self->{names} };
	}
	return;
}

sub split_rows
{
	my ($out) = @_;
	return [ map { [ split /\|/, $_, -1 ] } grep { length } split /\n/, $out ];
}

# --- comparison --------------------------------------------------------------

sub norm_num
{
	my ($s) = @_;
	return $s if $s eq '<NULL>';
	$s =~ s/^\+//;
	if ($s =~ /\./)
	{
		$s =~ s/0+$//;
		$s =~ s/\.$//;
	}
	$s = '0' if $s eq '-0';
	return $s;
}

# One value: kinds key/int/numx (exact text), num (numerically exact),
# float (abs 1e-6 + rel 1e-9).
sub same_value
{
	my ($kind, $got, $exp) = @_;
	return 0 unless defined $got && defined $exp;
	return $got eq $exp if $got eq '<NULL>' || $exp eq '<NULL>';
	if ($kind eq 'num')
	{
		return 1 if norm_num($got) eq norm_num($exp);
		# an average over numeric without a declared scale carries more
		# decimals than PostgreSQL's avg (README); rounded to PostgreSQL's
		# display scale it must be the same number
		my ($gd) = $got =~ /\.(\d+)$/;
		my ($ed) = $exp =~ /\.(\d+)$/;
		return 0 unless defined $gd && length($gd) > (defined $ed ? length($ed) : 0);
		my $r = Math::BigFloat->new($got);
		$r->round_mode('common');
		$r->bfround(-(defined $ed ? length($ed) : 0));
		return norm_num($r->bstr) eq norm_num($exp);
	}
	if ($kind eq 'float')
	{
		my $re = qr/^[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|Infinity|NaN)$/i;
		return 0 unless $got =~ $re && $exp =~ $re;
		my $tol = 1e-6 + 1e-9 * (abs($got) > abs($exp) ? abs($got) : abs($exp));
		return abs($got - $exp) <= $tol;
	}
	return $got eq $exp;
}

sub format_rows
{
	my ($rows) = @_;
	return join('', map { '    ' . join('|', @$_) . "\n" } @$rows) || "    (no rows)\n";
}

# Compare result rows; unless $ordered, rows are matched by their key
# columns (kind 'key'; a result without keys has at most one row).
sub same_rows
{
	my ($got, $exp, $kinds, $ordered) = @_;
	return (0, 'number of rows differs: got ' . @$got . ', expected ' . @$exp)
	  if @$got != @$exp;
	my @g = @$got;
	my @e = @$exp;
	unless ($ordered)
	{
		my @k = grep { $kinds->[$_] eq 'key' } 0 .. $#$kinds;
		my $by = sub { join("\x01", map { $_[0][$_] // '' } @k) };
		@g = sort { $by->($a) cmp $by->($b) } @g;
		@e = sort { $by->($a) cmp $by->($b) } @e;
	}
	my @why;
	for my $i (0 .. $#g)
	{
		return (0, "row $i has " . @{ $g[$i] } . ' columns, expected ' . @$kinds)
		  if @{ $g[$i] } != @$kinds;
		for my $c (0 .. $#$kinds)
		{
			push @why, "row $i column " . ($c + 1) . " ($kinds->[$c]): got '$g[$i][$c]', expected '$e[$i][$c]'"
			  unless same_value($kinds->[$c], $g[$i][$c], $e[$i][$c]);
		}
	}
	return (!@why, join("\n  ", @why));
}

# check_sql(name, at => node name, fed => joint SQL, plain => the same over
# plain.obs (with the min_group_size rule written into it), kinds => [...],
# ordered => 0/1): runs the plaintext on the plain node and the joint query
# at the querying node, compares.  Returns the joint run's psql_at hash.
sub check_sql
{
	my ($self, $name, %o) = @_;
	my $exp = split_rows($self->node($self->{plain})->safe_psql('postgres',
		"\\pset null <NULL>\n$o{plain}"));
	my $r = $self->psql_at($o{at}, $o{fed});
	if ($r->{rc} != 0)
	{
		fail("$name: joint query at $o{at} failed");
		diag("  query: $o{fed}\n  error: $r->{err}");
		return $r;
	}
	$self->count_session($o{at}, $o{sessions} // 1);
	my ($ok, $why) = same_rows(split_rows($r->{out}), $exp, $o{kinds}, $o{ordered});
	ok($ok, "$name (at $o{at})")
	  or diag("  seed $SEED\n  query: $o{fed}\n  plain: $o{plain}\n  $why\n  got:\n"
		  . format_rows(split_rows($r->{out})) . "  expected:\n" . format_rows($exp));
	return $r;
}

# expect_error(name, at => node, sql => ..., sqlstate => '42501' or qr//,
# message => qr//, hint => 1 (default) / 0)
sub expect_error
{
	my ($self, $name, %o) = @_;
	my $r = $self->psql_at($o{at}, $o{sql});
	note("$name: $r->{err}");
	my $want = ref $o{sqlstate} ? $o{sqlstate} : qr/^\Q$o{sqlstate}\E$/;
	my $ok = $r->{rc} != 0 && defined $r->{sqlstate} && $r->{sqlstate} =~ $want;
	ok($ok, "$name: fails with SQLSTATE $o{sqlstate}")
	  or diag("  query: $o{sql}\n  rc $r->{rc}, stdout: $r->{out}\n  stderr: $r->{err}");
	like($r->{message} // '', $o{message}, "$name: message") if $o{message};
	ok(defined $r->{hint} && length $r->{hint}, "$name: with a hint")
	  or diag("  stderr: $r->{err}")
	  if $o{hint} // 1;
	return $r;
}

# check_prepared(name, at => node, params => 'int, text', fed => joint
# SQL with $n, plain => the plaintext, runs => ['(1, 'x')', ...], kinds):
# PREPAREs both, EXECUTEs every run in one session each side and compares;
# from the seventh run on plan_cache_mode = force_generic_plan, so the
# generic plan is used whatever the cost model prefers, and that it was is
# checked in pg_prepared_statements.
sub check_prepared
{
	my ($self, $name, %o) = @_;
	my @runs = @{ $o{runs} };
	my $fscript = "PREPARE q($o{params}) AS $o{fed};\n";
	my $pscript = "PREPARE q($o{params}) AS $o{plain};\n";
	for my $i (0 .. $#runs)
	{
		$fscript .= "SET plan_cache_mode = force_generic_plan;\n" if $i == 6;
		$fscript .= "EXECUTE q$runs[$i];\n\\echo \@\@\@\n";
		$pscript .= "EXECUTE q$runs[$i];\n\\echo \@\@\@\n";
	}
	$fscript .= "SELECT generic_plans FROM pg_prepared_statements WHERE name = 'q';\n";
	my $r = $self->psql_at($o{at}, $fscript);
	my @got = split /^\@\@\@\n?/m, $r->{out};
	my $generic = @got > @runs ? pop @got : undef;
	my @exp = split /^\@\@\@\n?/m,
	  $self->node($self->{plain})->safe_psql('postgres', "\\pset null <NULL>\n$pscript") . "\n";
	is($r->{rc}, 0, "$name: PREPARE and " . @runs . " EXECUTEs at $o{at}")
	  or diag("  query: $o{fed}\n  stderr: $r->{err}");
	my $done = 0;
	for my $i (0 .. $#runs)
	{
		last if $i > $#got;
		$done++;
		my ($ok, $why) = same_rows(split_rows($got[$i]), split_rows($exp[$i] // ''), $o{kinds}, 0);
		ok($ok, "$name: EXECUTE q$runs[$i] equals the plaintext")
		  or diag("  seed $SEED\n  $why\n  got:\n" . format_rows(split_rows($got[$i]))
			  . "  expected:\n" . format_rows(split_rows($exp[$i] // '')));
	}
	$self->count_session($o{at}, $done);
	cmp_ok($generic // 0, '>=', @runs - 6, "$name: the last executions used the generic plan");
	return;
}

# --- random queries ------------------------------------------------------------

sub quote_lit { my $s = shift; $s =~ s/'/''/g; return "'$s'"; }

# a constant for column $c, usually one that occurs
sub const_for
{
	my ($self, $c) = @_;
	my $vals = $self->{values}{$c};
	my $v;
	if (@$vals && chance(0.8))
	{
		$v = pick(@$vals);
	}
	elsif ($c =~ /^i/) { $v = int(rand(4000)) - 2000; }
	elsif ($c =~ /^(num|amt|f8)$/) { $v = sprintf('%.3f', rand(2e6) - 1e6); }
	else { $v = pick(@REGIONS, @KIND_DOMAIN, 'abc', 'x') }
	return $COLTYPE{$c} =~ /text/ ? quote_lit($v) : $v =~ /^-/ ? "($v)" : $v;
}

sub gen_atom
{
	my ($self) = @_;
	my $c = pick(@NUMERIC_COLS);
	my $op = pick('<', '<=', '>', '>=', '=', '<>');
	my $u = rand();
	if ($u < 0.25)
	{
		return "$c $op " . $self->const_for($c);
	}
	if ($u < 0.32)
	{
		my ($x, $y) = sort { $a <=> $b } map { my $v = $self->const_for($c); $v =~ tr/()//d; $v } 1 .. 2;
		return "$c " . pick('', 'NOT ') . "BETWEEN $x AND $y";
	}
	if ($u < 0.42)
	{
		my $col = pick(qw(i2 i4 region kind name));
		my @v = map { $self->const_for($col) } 1 .. 1 + int(rand(4));
		return "$col " . pick('', 'NOT ') . 'IN (' . join(', ', @v) . ')';
	}
	if ($u < 0.52)
	{
		return pick(@COLNAMES) . pick(' IS NULL', ' IS NOT NULL');
	}
	if ($u < 0.62)
	{
		my $pat = pick('a%', '%b', '%x%', '_a%', 'c_', '%', 'z%y%', 'ab%');
		my $col = pick('name', 'name', 'region');
		return "$col " . pick('LIKE', 'LIKE', 'NOT LIKE') . " '$pat'";
	}
	if ($u < 0.68)
	{
		return pick('flag', 'NOT flag', 'flag = true', 'flag <> false', "region = 'west'",
			"kind = 'b'", "region <> 'north'", "region > 'm'", "name < 'b'");
	}
	# casts and arithmetic (none can overflow on the generated data)
	my @casts = (
		sub { "i4::numeric / 7 $op " . $self->const_for('i2') },
		sub { "CAST(i2 AS bigint) * 3 $op " . $self->const_for('i2') },
		sub { "i4::bigint + i2 $op " . $self->const_for('i4') },
		sub { "num::float8 $op " . $self->const_for('num') },
		sub { "f8::numeric(20,3) $op " . $self->const_for('f8') },
		sub { "i8::numeric / 1000 $op " . $self->const_for('i4') },
		sub { "amt::bigint $op " . $self->const_for('amt') },
		sub { "i4::text LIKE '" . pick(1 .. 9) . "%'" },
		sub { "abs(f8) $op " . $self->const_for('f8') },
		sub { "length(name) $op " . int(rand(7)) },
		sub { "(i2 % 3) = " . int(rand(3)) },
		sub { "num * 2 - amt $op " . $self->const_for('amt') },);
	return pick(@casts)->();
}

sub gen_where
{
	my ($self, $depth) = @_;
	if ($depth > 0 && chance(0.45))
	{
		my $u = rand();
		return 'NOT (' . $self->gen_where($depth - 1) . ')' if $u < 0.15;
		return '(' . $self->gen_where($depth - 1) . ' ' . pick('AND', 'OR') . ' '
		  . $self->gen_where($depth - 1) . ')';
	}
	return $self->gen_atom;
}

sub agg_kind
{
	my ($fn, $arg) = @_;
	return 'int' if $fn eq 'count';
	if ($fn eq 'sum')
	{
		return $arg eq 'f8' ? 'float' : $arg =~ /^i[24]$/ ? 'int' : $arg eq 'amt' ? 'numx' : 'num';
	}
	return $arg eq 'f8' ? 'float' : $arg eq 'num' ? 'num' : 'numx';
}

# A random query: hash with fed, plain (plus a trailing count(*) column),
# kinds, grouped.
sub gen_query
{
	my ($self) = @_;
	# (a revealed key and a public-domain key together are refused: see
	# 003_joint.pl)
	my @keys = @{ pick([], [], ['region'], ['region'], ['kind'], ['flag'], [ 'kind', 'flag' ]) };
	my @aggs;
	for (1 .. 1 + int(rand(4)))
	{
		my $fn = pick(qw(sum sum count count avg avg));
		my $arg =
		  $fn eq 'count' ? pick('*', '*', @NUMERIC_COLS, 'name', 'region')
		  : pick(@NUMERIC_COLS);
		push @aggs, [ pick('smpc_', '') . $fn, $fn, $arg ];
	}
	my @items = ((map { [ key => $_ ] } @keys), (map { [ agg => $_ ] } @aggs));
	# keys anywhere among the output columns
	for (my $i = $#items; $i > 0; $i--)
	{
		my $j = int(rand($i + 1));
		@items[ $i, $j ] = @items[ $j, $i ];
	}
	my (@fed, @plain, @kinds);
	for my $it (@items)
	{
		if ($it->[0] eq 'key')
		{
			push @fed, $it->[1];
			push @plain, $it->[1];
			push @kinds, 'key';
		}
		else
		{
			my ($f, $p, $arg) = @{ $it->[1] };
			push @fed, "$f($arg)";
			push @plain, "$p($arg)";
			push @kinds, agg_kind($p, $arg);
		}
	}
	my $where = chance(0.85) ? ' WHERE ' . $self->gen_where(2) : '';
	my $group = @keys ? ' GROUP BY ' . join(', ', @keys) : '';
	return {
		fed => 'SELECT ' . join(', ', @fed) . " FROM federation.obs$where$group",
		plain => 'SELECT ' . join(', ', @plain, 'count(*)') . " FROM plain.obs$where$group",
		kinds => \@kinds,
		keys => \@keys,
		grouped => scalar(@keys),
	};
}

# Run $n random queries, each at a random member, against the plaintext.
# Ungrouped queries whose joint result must be withheld are returned (not
# run), so that they can be run after the audit check.
sub run_random
{
	my ($self, $n) = @_;
	my @qs = map { $self->gen_query } 1 .. $n;
	$_->{at} = pick(@{ $self->{names} }) for @qs;

	# all plaintext results (and result types) in one psql run
	my $script = "\\pset null <NULL>\n";
	for my $q (@qs)
	{
		$script .= "$q->{plain}\n\\gdesc\n\\echo \@\@\@\n$q->{plain};\n\\echo \@\@\@\n";
	}
	my @parts = split /^\@\@\@\n?/m,
	  $self->node($self->{plain})->safe_psql('postgres', $script) . "\n";
	my @deferred;
	for my $i (0 .. $#qs)
	{
		my $q = $qs[$i];
		my @types = map { (split /\|/)[1] } grep { length } split /\n/, $parts[ 2 * $i ];
		pop @types;    # the trailing count(*)
		$q->{types} = \@types;
		my $rows = split_rows($parts[ 2 * $i + 1 ] // '');
		my (@exp, $withheld);
		for my $r (@$rows)
		{
			my $cnt = pop @$r;
			if ($cnt >= $self->{mgs}) { push @exp, $r; }
			elsif ($cnt > 0) { $withheld++; }
		}
		$q->{expected} = \@exp;
		$q->{withheld} = $withheld // 0;
		$q->{name} = "random query " . ($i + 1);
		if (!$q->{grouped} && !@exp)
		{
			push @deferred, $q;
			next;
		}
		$self->run_one($q);
	}
	return @deferred;
}

sub run_one
{
	my ($self, $q) = @_;
	my $r = $self->psql_at($q->{at}, "$q->{fed}\n\\gdesc\n\\echo \@\@\@\n$q->{fed};\n");
	my ($desc, $out) = split /^\@\@\@\n?/m, $r->{out} . "\n", 2;
	my @types = map { (split /\|/)[1] } grep { length } split /\n/, ($desc // '');
	my $ctx = "  seed $SEED, at $q->{at}\n  query: $q->{fed}\n  plain: $q->{plain}\n";

	if (!$q->{grouped} && !@{ $q->{expected} })
	{
		# the joint count is below min_group_size: withheld
		ok($r->{rc} != 0 && ($r->{sqlstate} // '') eq '42S02',
			"$q->{name}: ungrouped result below min_group_size is withheld (42S02)")
		  or diag($ctx . "  stdout: $r->{out}\n  stderr: $r->{err}");
		$self->count_failed_session($q->{at}, 'withheld') if ($r->{sqlstate} // '') eq '42S02';
		return $r;
	}
	if ($r->{rc} != 0)
	{
		fail("$q->{name} (at $q->{at})");
		diag($ctx . "  error: $r->{err}");
		return $r;
	}
	$self->count_session($q->{at});
	is(join(',', @types), join(',', @{ $q->{types} }), "$q->{name}: result types are PostgreSQL's")
	  or diag($ctx);
	my $got = split_rows($out // '');
	my ($ok, $why) = same_rows($got, $q->{expected}, $q->{kinds}, 0);
	ok($ok, "$q->{name} (at $q->{at}) equals the plaintext")
	  or diag($ctx . "  $why\n  got:\n" . format_rows($got) . "  expected:\n"
		  . format_rows($q->{expected}));
	# small groups withheld: a notice says so (reveal keys only: with public
	# keys, empty groups may count as withheld too)
	if ($q->{grouped} && !grep { $_ ne 'region' } @{ $q->{keys} })
	{
		my @n = grep { /withheld/ } @{ $r->{notices} };
		if ($q->{withheld})
		{
			ok(@n == 1 && $n[0] =~ /^$q->{withheld} groups? with fewer than $self->{mgs} rows withheld/,
				"$q->{name}: notice says $q->{withheld} group(s) withheld")
			  or diag($ctx . "  stderr: $r->{err}");
		}
		else
		{
			ok(!@n, "$q->{name}: no notice when nothing is withheld")
			  or diag($ctx . "  stderr: $r->{err}");
		}
	}
	return $r;
}

# --- audit ---------------------------------------------------------------------

# remember where every node's audit log stands
sub audit_baseline
{
	my ($self) = @_;
	for my $m (@{ $self->{names} })
	{
		$self->{audit_base}{$m} = $self->node($m)->safe_psql('postgres',
			'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log');
		$self->{audit}{$m} = { querying => 0, member => 0, querying_any => 0, member_success => 0 };
	}
	return;
}

# Every node has one record per joint query since the baseline: as the
# querying node for those it issued, as a member for the others, all
# 'success', and the member records carry the querying node's session ids.
sub check_audit
{
	my ($self) = @_;
	my (%querying_sessions, %member_sessions);
	for my $m (@{ $self->{names} })
	{
		my $rows = split_rows($self->node($m)->safe_psql('postgres', qq{
			SELECT node_role, outcome, encode(session_id, 'hex'), coalesce(initiator_node, '')
			  FROM smpc.audit_log WHERE audit_id > $self->{audit_base}{$m} ORDER BY audit_id}));
		my %c;
		for my $r (@$rows)
		{
			$c{"$r->[0]/$r->[1]"}++;
			if ($r->[0] eq 'querying') { $querying_sessions{ $r->[2] } = $m; }
			else { $member_sessions{$m}{ $r->[2] }++; }
		}
		my $want = { querying => $self->{audit}{$m}{querying}, member => $self->{audit}{$m}{member} };
		my $got = join(', ', map { "$_: $c{$_}" } sort keys %c);
		my $exp = join(', ', map { "$_/success: $want->{$_}" } grep { $want->{$_} } sort keys %$want);
		is($got, $exp, "$m: audit log has one record per joint query it took part in")
		  or diag("  records since the baseline (role|outcome|initiator|error):\n"
			  . format_rows($self->audit_since($m)));
		my $all = join(',', map { quote_lit($_) } @{ $self->{names} });
		is($self->node($m)->safe_psql('postgres', qq{
			SELECT count(*) FROM smpc.audit_log
			 WHERE audit_id > $self->{audit_base}{$m}
			   AND (federation IS DISTINCT FROM '$self->{fed}{federation}' OR dataset IS DISTINCT FROM 'obs'
			        OR NOT participants @> ARRAY[$all] OR cardinality(participants) <> @{[ scalar @{ $self->{names} } ]})}),
			0, "$m: every record names the federation, the dataset and all participants");
	}
	for my $m (@{ $self->{names} })
	{
		my @want = sort grep { $querying_sessions{$_} ne $m } keys %querying_sessions;
		my @got = sort keys %{ $member_sessions{$m} // {} };
		is(join(' ', @got), join(' ', @want),
			"$m: its member records are exactly the other nodes' joint sessions");
	}
	return;
}

# After joint queries that failed once they reached the members (results
# withheld, member refusals, see count_failed_session) and successful ones
# since audit_baseline: the querying node records every session it ran,
# failed ones too, and none of the failed ones as a success; every member
# that did its part records a success.
sub check_audit_failures
{
	my ($self) = @_;
	for my $m (@{ $self->{names} })
	{
		my ($q_any, $q_success, $m_success) = split /\|/, $self->node($m)->safe_psql('postgres', qq{
			SELECT count(*) FILTER (WHERE node_role = 'querying'),
			       count(*) FILTER (WHERE node_role = 'querying' AND outcome = 'success'),
			       count(*) FILTER (WHERE node_role = 'member' AND outcome = 'success')
			  FROM smpc.audit_log WHERE audit_id > $self->{audit_base}{$m}});
		my $t = $self->{audit}{$m};
		# the querying node writes its record in the query's transaction, so
		# a failed query leaves none there (README, Audit); members keep theirs
		is($q_any, $t->{querying},
			"$m: audit records for exactly the joint sessions it completed as the querying node")
		  or diag("  records since the baseline (role|outcome|initiator|error):\n"
			  . format_rows($self->audit_since($m)));
		is($q_success, $t->{querying}, "$m: no failed joint query recorded as a success");
		is($m_success, $t->{member_success},
			"$m: a success recorded for every joint session it completed as a member");
	}
	return;
}

# The audit records of node $name since audit_baseline, as rows of
# node_role, outcome, initiator_node, error.
sub audit_since
{
	my ($self, $name) = @_;
	return split_rows($self->node($name)->safe_psql('postgres', qq{
		SELECT node_role, outcome, initiator_node, coalesce(error, '')
		  FROM smpc.audit_log WHERE audit_id > $self->{audit_base}{$name} ORDER BY audit_id}));
}

1;
