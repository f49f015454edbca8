# Private set intersection: smpc_intersect_count(key) over three parties
# (the querying node contributes its own set), checked against the
# plaintext intersection of the distinct non-NULL keys each party holds in
# its own table under the same WHERE clause.
#
# Covered: integer, text and uuid keys with a planted overlap (a core all
# three hold, pairwise-only overlaps, private keys), issued at every node;
# duplicates and NULL keys; WHERE filters and prepared statements (custom
# and generic plans); integer/bigint/smallint and text/varchar/char(n)
# columns of one dataset matching each other; empty sets with
# min_set_size 0; a two-party federation; 30000 keys per party; the audit
# log of every party and no leftover member backends; refusals (set below
# min_set_size at a member and at the querying node, a column that is no
# intersection key locally and at a member, key class mismatch, GROUP BY,
# other aggregates, expression arguments, unsupported key types at
# publish); a member that is down, then back.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use SmpcNode;
use SmpcPsi;

my $T0 = time;
my $seed = $ENV{SMPC_TEST_SEED} // 6011;
srand($seed);
diag("random seed $seed (set SMPC_TEST_SEED to change)");

my @P = qw(alpha beta gamma);

# --- the data: lab.people ----------------------------------------------------------
#
# Per key type a planted structure: a core of 700 keys all three hold,
# 250/300/350 keys only alpha+beta / alpha+gamma / beta+gamma hold, and
# private keys; 3000 to 4600 distinct keys per party.
my %shape = (
	core => 700,
	pair => { 'alpha,beta' => 250, 'alpha,gamma' => 300, 'beta,gamma' => 350 },
	private => { alpha => 1800, beta => 2500, gamma => 3200 });
my %INT = SmpcPsi::planted_sets(\@P, \&SmpcPsi::gen_int4, %shape,
	extra => { core => [ 0, -1, 1, 2147483647, -2147483648 ] });
# text: the empty string is a key; trailing spaces, case and Unicode
# normalisation make different keys
my %TEXT = SmpcPsi::planted_sets(\@P, \&SmpcPsi::gen_text, %shape,
	extra => {
		core => [ '', 'edge', "caf\xc3\xa9 au lait" ],
		alpha => [ 'pad', 'Case', "na\xc3\xafve" ],
		beta => [ 'pad ', 'case' ],
		gamma => [ 'pad  ', 'CASE' ],
		'beta,gamma' => ["nai\xcc\x88ve"] });
my %UUID = SmpcPsi::planted_sets(\@P, \&SmpcPsi::gen_uuid, %shape,
	extra => { core => [ '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff' ] });

# planted regions: NORD has 300/40/300 distinct keys at alpha/beta/gamma,
# SUD 40/300/300 (below the default min_set_size of 100 at one party each)
my %PLANTED = (NORD => { alpha => 300, beta => 40, gamma => 300 },
	SUD => { alpha => 40, beta => 300, gamma => 300 });

# the key multiset of one party: every key on 1-3 rows, the first four core
# keys on 40 rows each
sub expand
{
	my ($sets, $p) = @_;
	my %hot = map { $_ => 1 } @{ $sets->{_core} }[ 0 .. 3 ];
	return SmpcPsi::shuffle(map { ($_) x ($hot{$_} ? 40 : 1 + int(rand(3))) } @{ $sets->{$p} });
}

sub people_rows
{
	my ($p) = @_;
	my @cols = (map { [ expand($_, $p) ] } \%INT, \%TEXT, \%UUID);
	my $n = 0;
	$n < @$_ and $n = @$_ for @cols;
	$n += 150;    # the shorter lists end in NULLs, the last 150 rows are all NULL
	my @rows;
	for my $i (0 .. $n - 1)
	{
		push @rows, [ (map { $_->[$i] } @cols), 'alt' . int(rand(400)),
			SmpcPsi::pick(qw(EU EU US US APAC)), int(rand(100)),
			sprintf('%.2f', rand(1000)), sprintf('2024-01-%02d', 1 + int(rand(28))), rand() ];
	}
	for my $region (sort keys %PLANTED)
	{
		for my $i (0 .. $PLANTED{$region}{$p} - 1)
		{
			push @rows, [ $INT{$p}[$i], $TEXT{$p}[$i], $UUID{$p}[$i], undef, $region,
				int(rand(100)), undef, undef, undef ];
		}
	}
	return \@rows;
}

# --- lab.mixed: one dataset, different column types at each party --------------------
#
#   k   alpha integer, beta bigint,       gamma smallint  (must match)
#   t   alpha text,    beta varchar(20),  gamma char(12)  (must match)
#   c   alpha integer, beta text,         gamma integer   (class mismatch)
#   cu  alpha uuid,    beta uuid,         gamma text      (class mismatch)
# Published with min_set_size 0 everywhere (gamma raises its own to 100 for
# the refusals of another party's set).
my %MIXED_TYPES = (
	alpha => [qw(integer text integer uuid)],
	beta => [ 'bigint', 'varchar(20)', 'text', 'uuid' ],
	gamma => [ 'smallint', 'char(12)', 'integer', 'text' ]);
my %MK = SmpcPsi::planted_sets(\@P, \&SmpcPsi::gen_int2,
	core => 120, pair => { 'alpha,beta' => 40, 'alpha,gamma' => 40, 'beta,gamma' => 40 },
	private => { alpha => 100, beta => 100, gamma => 100 },
	extra => { core => [ -32768, 32767, 0, -1 ] },
	gen => {
		alpha => sub { SmpcPsi::pick(1, -1) * (32768 + int(rand(2e9))) },
		beta => sub { SmpcPsi::pick(1, -1) * (2147483648 + int(rand(1e12))) } });
my %MT = SmpcPsi::planted_sets(\@P, sub { SmpcPsi::gen_word(12) },
	core => 120, pair => { 'alpha,beta' => 40, 'alpha,gamma' => 40, 'beta,gamma' => 40 },
	private => { alpha => 100, beta => 100, gamma => 100 },
	extra => { core => [ 'x', '0', 'abcdefghijkl' ] });

my %SMALLB = (alpha => 150, beta => 30, gamma => 150);

sub mixed_rows
{
	my ($p) = @_;
	my @k = expand(\%MK, $p);
	my @t = expand(\%MT, $p);
	my $n = @k > @t ? scalar @k : scalar @t;
	my @rows;
	for my $i (0 .. $n - 1)
	{
		push @rows, [ $k[$i], $t[$i], int(rand(50)), SmpcPsi::gen_uuid(), SmpcPsi::pick(qw(EU US)) ];
	}
	# only_ab: 20 core keys at alpha and beta, none at gamma; nullonly: NULL
	# keys only; dups: three core keys on 50 rows each
	if ($p ne 'gamma')
	{
		push @rows, [ $MK{_core}[$_], $MT{_core}[$_], 1, undef, 'only_ab' ] for 0 .. 19;
	}
	push @rows, [ undef, undef, undef, undef, 'nullonly' ] for 1 .. 5;
	# smallb: 150 keys at alpha and gamma, 30 at beta
	push @rows, [ $MK{$p}[$_], $MT{$p}[$_], 3, undef, 'smallb' ] for 0 .. $SMALLB{$p} - 1;
	for my $i (0 .. 2)
	{
		push @rows, [ $MK{_core}[$i], $MT{_core}[$i], 2, undef, 'dups' ] for 1 .. 50;
	}
	return \@rows;
}

# --- lab.big: 30000 distinct keys per party ----------------------------------------------
#
# key(i) = (i * 2654435761 mod 2^40) - 2^39, a bijection on 0 .. 2^40-1;
# alpha holds i in [0, 30000), beta [12000, 42000), gamma [0, 6000) and
# [24000, 48000): 6000 common keys.  Every seventh key on two rows, 100
# NULL rows.
my %BIG_RANGES = (alpha => [ [ 0, 29999 ] ], beta => [ [ 12000, 41999 ] ],
	gamma => [ [ 0, 5999 ], [ 24000, 47999 ] ]);
my $BIG_COMMON = 6000;

sub load
{
	my ($node, $p) = @_;
	my ($kt, $tt, $ct, $cut) = @{ $MIXED_TYPES{$p} };
	my $big = join(' UNION ALL ', map { "SELECT i FROM generate_series($_->[0], $_->[1]) i" }
		  @{ $BIG_RANGES{$p} });
	$node->safe_psql('postgres',
		"CREATE SCHEMA lab;\n"
		  . "CREATE TABLE lab.people (k_int integer, k_text text, k_uuid uuid, k_alt text,\n"
		  . "  region text, score integer, amount numeric, seen date, ratio float8);\n"
		  . "COPY lab.people FROM STDIN;\n" . SmpcPsi::copy_text(people_rows($p)) . "\\.\n"
		  . "CREATE TABLE lab.mixed (k $kt, t $tt, c $ct, cu $cut, region text);\n"
		  . "COPY lab.mixed FROM STDIN;\n" . SmpcPsi::copy_text(mixed_rows($p)) . "\\.\n"
		  . "CREATE TABLE lab.big (k bigint);\n"
		  . "INSERT INTO lab.big SELECT (i::bigint * 2654435761) % 1099511627776 - 549755813888\n"
		  . "  FROM ($big) s, generate_series(1, CASE WHEN i % 7 = 0 THEN 2 ELSE 1 END);\n"
		  . "INSERT INTO lab.big SELECT NULL FROM generate_series(1, 100);\n"
		  . "ANALYZE lab.people, lab.mixed, lab.big;\n");
	return;
}

# two parallel workers raise every list of 2048 keys or more, whatever the
# number of CPUs (one section below computes in the backends alone)
my @nodes = start_members(3, names => \@P, conf => "smpc.psi_workers = 2\n");
my $fed = setup_federation(\@nodes,
	names => \@P,
	schema => undef,
	prepare => sub { my ($node, $name) = @_; load($node, $name); },
	publish => []);
my %node = %{ $fed->{nodes} };

# --- publications ----------------------------------------------------------------------

my $PUBLISH_SIG = 'smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer)';

for my $p (@P)
{
	# gamma does not offer k_alt as an intersection key
	my $keys = $p eq 'gamma' ? '{k_int,k_text,k_uuid}' : '{k_int,k_text,k_uuid,k_alt}';
	$node{$p}->safe_psql('postgres', qq{
		GRANT USAGE ON SCHEMA lab TO steward;
		GRANT SELECT ON lab.people, lab.mixed, lab.big TO steward;
		GRANT EXECUTE ON FUNCTION $PUBLISH_SIG TO steward;
		SET ROLE steward;
		SELECT smpc.publish('people', 'lab.people',
		                    columns => '{k_int,k_text,k_uuid,k_alt,region,score}',
		                    intersect_keys => '$keys');
		SELECT smpc.publish('big', 'lab.big', columns => '{k}', intersect_keys => '{k}');
		RESET ROLE;
	});
}
for my $p (@P)
{
	$node{$p}->safe_psql('postgres', q{
		CREATE SCHEMA federation;
		IMPORT FOREIGN SCHEMA smpc_datasets LIMIT TO (people, big)
		  FROM SERVER research INTO federation;
	});
}
# lab.mixed differs between the parties, so IMPORT would refuse it: every
# party declares the federated table with its own types
for my $p (@P)
{
	my ($kt, $tt, $ct, $cut) = @{ $MIXED_TYPES{$p} };
	$node{$p}->safe_psql('postgres', qq{
		SET ROLE steward;
		SELECT smpc.publish('mixed', 'lab.mixed', columns => '{k,t,c,cu,region}',
		                    intersect_keys => '{k,t,c,cu}', min_set_size => 0);
		RESET ROLE;
		CREATE FOREIGN TABLE federation.mixed (k $kt, t $tt, c $ct, cu $cut, region text)
		  SERVER research OPTIONS (dataset 'mixed');
	});
}
# a two-party federation of alpha and beta
for my $pair ([ 'alpha', 'beta' ], [ 'beta', 'alpha' ])
{
	my ($p, $other) = @$pair;
	$node{$p}->safe_psql('postgres', qq{
		CREATE SERVER duo FOREIGN DATA WRAPPER smpc OPTIONS (members '$other', min_members '2');
	});
}
for my $p (qw(alpha beta))
{
	$node{$p}->safe_psql('postgres', q{
		CREATE SCHEMA duo;
		IMPORT FOREIGN SCHEMA smpc_datasets LIMIT TO (people) FROM SERVER duo INTO duo;
	});
}
is($node{gamma}->safe_psql('postgres', q{
	SELECT string_agg(c.relname || ':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod), ','
	                  ORDER BY c.relname, a.attnum)
	  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
	 WHERE c.relnamespace = 'federation'::regnamespace AND a.attnum > 0 AND c.relname <> 'mixed'}),
	'big:k:bigint,people:k_int:integer,people:k_text:text,people:k_uuid:uuid,people:k_alt:text,'
	  . 'people:region:text,people:score:integer',
	'gamma: federation.people and federation.big imported with the published columns');
diag(sprintf('setup took %.1fs', time - $T0));

# --- the plaintext is what the generator planted -------------------------------------

my %TYPES = (k_int => \%INT, k_text => \%TEXT, k_uuid => \%UUID);
my @party_nodes = map { $node{$_} } @P;
for my $col (sort keys %TYPES)
{
	my $sets = $TYPES{$col};
	my ($plain, @sizes) = SmpcPsi::plain_count(\@party_nodes, 'lab.people', $col);
	is($plain, $shape{core}, "people.$col: the plaintext intersection is the planted core ($shape{core})")
	  or diag("  set sizes @sizes");
	is(SmpcPsi::common_count(map { $sets->{$_} } @P), $plain,
		"people.$col: the generator agrees with the parties' tables");
	# the querying node's own set matters: beta and gamma alone share more
	cmp_ok(SmpcPsi::plain_count([ @node{qw(beta gamma)} ], 'lab.people', $col), '>', $plain,
		"people.$col: beta and gamma alone share more keys than all three");
	for my $p (@P)
	{
		my ($rows, $distinct, $nulls) = split /\|/, $node{$p}->safe_psql('postgres',
			"SELECT count($col), count(DISTINCT $col), count(*) - count($col) FROM lab.people");
		ok($rows > $distinct + 100 && $nulls >= 150,
			"people.$col at $p: duplicate keys ($rows rows, $distinct keys) and NULL keys ($nulls)");
	}
}

# --- helpers -----------------------------------------------------------------------------

# One intersection at $at that must equal the plaintext over @parties'
# tables $rel under $where; the audit log of every party is checked.
sub check_count
{
	my (%o) = @_;
	my $at = $o{at};
	my $parties = $o{parties} // \@P;
	my $where = $o{where};
	my $table = $o{table} // 'federation.' . ($o{rel} =~ s/^lab\.//r);
	my $sql = $o{sql}
	  // "SELECT smpc_intersect_count($o{col}) FROM $table" . (defined $where ? " WHERE $where" : '');
	my $expected = $o{expected}
	  // SmpcPsi::plain_count([ map { $node{$_} } @$parties ], $o{rel}, $o{col}, $where);
	my $label = "$o{name} (at $at)";
	my $mark = SmpcPsi::audit_mark(\%node);
	my $t = time;
	my $r = SmpcPsi::run_at($node{$at}, $sql);
	my $secs = time - $t;
	my $want = $o{transform} ? $o{transform}->($expected) : $expected;
	is($r->{out}, $want, "$label = $want")
	  or diag("  query: $sql\n  rc $r->{rc}\n  stderr: $r->{err}");
	note(sprintf('  %s: %.2fs', $label, $secs));
	SmpcPsi::check_success_audit(\%node, $mark, at => $at, label => $label,
		parties => $parties, dataset => ($o{rel} =~ s/^lab\.//r),
		federation => $o{federation} // 'research');
	return $expected;
}

# A query at $at that must fail with $sqlstate and a message matching $re.
sub check_error
{
	my (%o) = @_;
	my $r = SmpcPsi::run_at($node{ $o{at} }, $o{sql});
	my $label = "$o{name} (at $o{at})";
	ok($r->{rc} != 0 && ($r->{sqlstate} // '') eq $o{sqlstate} && ($r->{message} // '') =~ $o{message}
		  && $r->{out} eq '',
		"$label: fails with $o{sqlstate}")
	  or diag("  query: $o{sql}\n  rc $r->{rc}\n  stdout: $r->{out}\n  stderr: $r->{err}");
	return $r;
}

sub no_peer_backends_anywhere
{
	my ($label) = @_;
	SmpcPsi::no_peer_backends($node{$_}, $label) for @P;
}

my $phase_a = SmpcPsi::audit_mark(\%node);

# --- 1. three parties, every key type, issued at every node ------------------------------

for my $case ([ k_int => [qw(alpha beta gamma)] ], [ k_text => [qw(alpha beta)] ],
	[ k_uuid => [qw(alpha gamma)] ])
{
	my ($col, $ats) = @$case;
	check_count(name => "people.$col, all keys", at => $_, rel => 'lab.people', col => $col)
	  for @$ats;
}

# --- 2./3. WHERE filters at every party, expressions over the result, prepared statements ---

check_count(name => "people.k_int WHERE region = 'EU'", at => 'alpha',
	rel => 'lab.people', col => 'k_int', where => "region = 'EU'");
check_count(name => 'people.k_text, IN list and a range', at => 'beta',
	rel => 'lab.people', col => 'k_text', where => "region IN ('US', 'APAC') AND score >= 20");
check_count(name => 'people.k_uuid, OR of two conditions', at => 'gamma',
	rel => 'lab.people', col => 'k_uuid', where => "region = 'APAC' OR score < 10");
check_count(name => 'an expression over the result, in a subquery', at => 'gamma',
	rel => 'lab.people', col => 'k_int', where => "region = 'US'",
	sql => q{SELECT pg_typeof(c)::text || ':' || (c * 2 + 1) FROM
	           (SELECT smpc_intersect_count(k_int) AS c FROM federation.people WHERE region = 'US') s},
	transform => sub { 'bigint:' . ($_[0] * 2 + 1) });

{
	my @runs = (
		[ 'pr', "'EU'", 'k_text', "region = 'EU'" ],
		[ 'pr', "'APAC'", 'k_text', "region = 'APAC'" ],
		[ 'pi', '50', 'k_uuid', "score < 50 AND region <> 'NORD'" ],
		[ 'pi', '75', 'k_uuid', "score < 75 AND region <> 'NORD'" ],);
	my @expected = map { scalar SmpcPsi::plain_count(\@party_nodes, 'lab.people', $_->[2], $_->[3]) } @runs;
	my $mark = SmpcPsi::audit_mark(\%node);
	my $r = SmpcPsi::run_at($node{beta}, q{
		PREPARE pr(text) AS SELECT smpc_intersect_count(k_text) FROM federation.people WHERE region = $1;
		EXECUTE pr('EU');
		EXECUTE pr('APAC');
		SET plan_cache_mode = force_generic_plan;
		PREPARE pi(int) AS SELECT smpc_intersect_count(k_uuid) FROM federation.people
		                    WHERE score < $1 AND region <> 'NORD';
		EXECUTE pi(50);
		EXECUTE pi(75);
	});
	is($r->{out}, join("\n", @expected),
		"prepared statements with a text and an int parameter, custom and generic plans = @expected")
	  or diag("  stderr: $r->{err}");
	SmpcPsi::check_success_audit(\%node, $mark, at => 'beta', label => 'prepared statements',
		sessions => 4, parties => \@P, dataset => 'people', federation => 'research');
}

# --- 4. integer/bigint/smallint and text/varchar/char(n) match each other; 5. empty sets ---

is(SmpcPsi::plain_count(\@party_nodes, 'lab.mixed', 'k'), 120, 'mixed.k: the planted core is the plaintext');
is(SmpcPsi::plain_count(\@party_nodes, 'lab.mixed', 't'), 120, 'mixed.t: the planted core is the plaintext');
check_count(name => 'mixed.k: integer at alpha, bigint at beta, smallint at gamma', at => 'alpha',
	rel => 'lab.mixed', col => 'k');
check_count(name => 'mixed.k queried from the smallint side', at => 'gamma',
	rel => 'lab.mixed', col => 'k', where => "region = 'EU'");
check_count(name => 'mixed.t: text at alpha, varchar at beta, char(12) at gamma', at => 'beta',
	rel => 'lab.mixed', col => 't');
check_count(name => 'mixed.t queried from the char(12) side', at => 'gamma',
	rel => 'lab.mixed', col => 't', where => "region = 'US'");

{
	my ($n, @sizes) = SmpcPsi::plain_count(\@party_nodes, 'lab.mixed', 'k', "region = 'only_ab'");
	ok($n == 0 && $sizes[0] == 20 && $sizes[1] == 20 && $sizes[2] == 0
		  && SmpcPsi::plain_count([ @node{qw(alpha beta)} ], 'lab.mixed', 'k', "region = 'only_ab'") == 20,
		'only_ab: alpha and beta share 20 keys, gamma has none');
}
check_count(name => 'min_set_size 0: a filter that leaves gamma empty gives 0', at => 'alpha',
	rel => 'lab.mixed', col => 'k', where => "region = 'only_ab'", expected => 0);
check_count(name => 'min_set_size 0: a filter that leaves every party empty gives 0', at => 'beta',
	rel => 'lab.mixed', col => 't', where => "region = 'nowhere'", expected => 0);
check_count(name => 'NULL keys are no keys: rows with only NULL keys give 0', at => 'beta',
	rel => 'lab.mixed', col => 't', where => "region = 'nullonly'", expected => 0);
check_count(name => 'three keys on 50 rows each at every party give 3', at => 'gamma',
	rel => 'lab.mixed', col => 'k', where => "region = 'dups'", expected => 3);

# --- 7. two parties ----------------------------------------------------------------------

check_count(name => 'two-party federation, people.k_int', at => 'alpha', federation => 'duo',
	parties => [qw(alpha beta)], rel => 'lab.people', col => 'k_int', table => 'duo.people');
check_count(name => 'two-party federation, people.k_uuid, filtered', at => 'beta', federation => 'duo',
	parties => [qw(alpha beta)], rel => 'lab.people', col => 'k_uuid', table => 'duo.people',
	where => "region = 'EU'");

# --- 8. 30000 keys per party ---------------------------------------------------------------

{
	my ($plain, @sizes) = SmpcPsi::plain_count(\@party_nodes, 'lab.big', 'k');
	ok($plain == $BIG_COMMON && !(grep { $_ != 30000 } @sizes),
		"big: 30000 distinct keys per party, $BIG_COMMON common (plaintext)")
	  or diag("  plaintext $plain, sizes @sizes");
	check_count(name => 'big: 30000 keys per party', at => 'gamma', rel => 'lab.big', col => 'k',
		expected => $plain);
}

# the same without parallel workers
sub set_psi_workers
{
	my ($v) = @_;
	for my $p (@P)
	{
		$node{$p}->safe_psql('postgres', "ALTER SYSTEM SET smpc.psi_workers = $v; SELECT pg_reload_conf();");
		$node{$p}->poll_query_until('postgres', "SELECT current_setting('smpc.psi_workers') = '$v'")
		  or die "smpc.psi_workers = $v not in effect at $p";
	}
}
set_psi_workers(0);
check_count(name => 'people.k_text without parallel workers', at => 'beta',
	rel => 'lab.people', col => 'k_text', where => "region <> 'APAC'");
set_psi_workers(2);
# the querying node says (at DEBUG1) how many workers raised its list
{
	my $r = SmpcPsi::run_at($node{alpha},
		"SET client_min_messages = debug1;\nSELECT smpc_intersect_count(k_int) FROM federation.people;");
	like($r->{err}, qr/smpc: raising \d+ points with [12] parallel workers/,
		'with smpc.psi_workers = 2 parallel workers raise the list');
}

# --- 9. after the successful intersections -------------------------------------------------

no_peer_backends_anywhere('after the successful intersections');
for my $p (@P)
{
	is($node{$p}->safe_psql('postgres',
			"SELECT count(*) FROM smpc.audit_log WHERE audit_id > $phase_a->{$p} AND outcome <> 'success'"),
		0, "$p: every audit record of the successful intersections is a success, none incomplete");
}

# --- 6. refused at the querying node: nothing reaches the members -----------------------------

{
	my $mark = SmpcPsi::audit_mark(\%node);
	check_error(name => 'a published column that is no intersection key', at => 'alpha',
		sql => 'SELECT smpc_intersect_count(score) FROM federation.people',
		sqlstate => '42S01', message => qr/score/);
	check_error(name => 'a column the querying node does not offer as intersection key', at => 'gamma',
		sql => 'SELECT smpc_intersect_count(k_alt) FROM federation.people',
		sqlstate => '42S01', message => qr/k_alt/);
	check_error(name => 'GROUP BY', at => 'alpha',
		sql => 'SELECT region, smpc_intersect_count(k_int) FROM federation.people GROUP BY region',
		sqlstate => '0A000', message => qr/./);
	check_error(name => 'together with smpc_count', at => 'alpha',
		sql => 'SELECT smpc_intersect_count(k_int), smpc_count(*) FROM federation.people',
		sqlstate => '0A000', message => qr/./);
	check_error(name => 'together with sum', at => 'beta',
		sql => 'SELECT sum(score), smpc_intersect_count(k_text) FROM federation.people',
		sqlstate => '0A000', message => qr/./);
	check_error(name => 'an expression argument', at => 'alpha',
		sql => 'SELECT smpc_intersect_count(k_int + 1) FROM federation.people',
		sqlstate => '0A000', message => qr/./);
	check_error(name => 'a function call argument', at => 'beta',
		sql => 'SELECT smpc_intersect_count(lower(k_text)) FROM federation.people',
		sqlstate => '0A000', message => qr/./);
	check_error(name => 'over a local table', at => 'alpha',
		sql => 'SELECT smpc_intersect_count(k_int) FROM lab.people',
		sqlstate => '0A000', message => qr/./);
	for my $p (@P)
	{
		is(scalar @{ SmpcPsi::audit_since($node{$p}, $mark->{$p}) }, 0,
			"$p: no audit record for the queries refused at the querying node");
	}
}

# --- 6. publish refuses unsupported key types ------------------------------------------------

for my $case ([ amount => 'numeric' ], [ seen => 'date' ], [ ratio => 'double precision' ])
{
	my ($col, $type) = @$case;
	my $r = SmpcPsi::run_at($node{alpha}, qq{SET ROLE steward;
		SELECT smpc.publish('bad', 'lab.people', columns => '{k_int,$col}', intersect_keys => '{$col}');});
	ok($r->{rc} != 0 && ($r->{sqlstate} // '') eq '42804', "publish: a $type intersection key is refused (42804)")
	  or diag("  stderr: $r->{err}");
}
{
	my $r = SmpcPsi::run_at($node{alpha}, q{SET ROLE steward;
		SELECT smpc.publish('bad', 'lab.people', columns => '{k_int}', intersect_keys => '{k_text}');});
	isnt($r->{rc}, 0, 'publish: an intersection key that is not a published column is refused');
	$r = SmpcPsi::run_at($node{alpha}, q{SET ROLE steward;
		SELECT smpc.publish('bad', 'lab.people', columns => '{k_int}', intersect_keys => '{k_int}',
		                    min_set_size => -1);});
	isnt($r->{rc}, 0, 'publish: a negative min_set_size is refused');
	is($node{alpha}->safe_psql('postgres', q{SELECT count(*) FROM smpc.dataset WHERE dataset_name = 'bad'}),
		0, 'publish: none of the refused publications exists');
}

# --- 5./6. refused by a party: min_set_size, intersection key, key class ------------------------

my $phase_b = SmpcPsi::audit_mark(\%node);

# A query at $at refused by party $by ($at itself when it refuses its own
# set): the error (matching $o{also} too if given), then the audit logs:
# $by records the refusal (outcome 'refused' unless $o{outcomes} lists
# others), nobody a success, the querying node nothing (its transaction
# failed).
sub check_refusal
{
	my (%o) = @_;
	my ($at, $by) = @o{qw(at by)};
	my $mark = SmpcPsi::audit_mark(\%node);
	my $r = check_error(%o,
		message => $by eq $at ? qr/^(?!member ")/ : qr/^member "$by": /);
	if ($o{also})
	{
		like($r->{message} // '', $o{also}, "$o{name}: the error says which set");
	}
	if (defined $o{secret})
	{
		unlike(join(' ', $r->{message} // '', $r->{detail} // '', $r->{hint} // ''),
			qr/\b$o{secret}\b/, "$o{name}: the error does not reveal the set size ($o{secret})");
	}
	my $q = SmpcPsi::audit_since($node{$at}, $mark->{$at});
	is(scalar @$q, 0, "$o{name}: the querying node $at keeps no record of the failed query")
	  or diag(SmpcPsi::format_recs($q));
	for my $p (grep { $_ ne $at } @P)
	{
		my $recs = SmpcPsi::audit_since($node{$p}, $mark->{$p});
		my @success = grep { $_->{outcome} eq 'success' } @$recs;
		is(scalar @success, 0, "$o{name}: $p records no success") or diag(SmpcPsi::format_recs($recs));
		if ($p eq $by)
		{
			my @want = @{ $o{outcomes} // ['refused'] };
			my @ref = grep {
				my $rec = $_;
				$rec->{role} eq 'member' && $rec->{initiator} eq $at && grep { $rec->{outcome} eq $_ } @want
			} @$recs;
			ok(@ref == 1 && @$recs == 1, "$o{name}: $p records its refusal (" . join(' or ', @want) . ')')
			  or diag(SmpcPsi::format_recs($recs));
		}
	}
	no_peer_backends_anywhere($o{name});
	return $r;
}

check_refusal(name => 'a member that does not offer the column as intersection key',
	at => 'alpha', by => 'gamma', sqlstate => '42S01',
	sql => 'SELECT smpc_intersect_count(k_alt) FROM federation.people');
check_refusal(name => "a member's set below min_set_size", at => 'alpha', by => 'beta',
	sqlstate => '42S03', secret => $PLANTED{NORD}{beta},
	sql => "SELECT smpc_intersect_count(k_int) FROM federation.people WHERE region = 'NORD'");
check_refusal(name => "the querying node's own set below min_set_size", at => 'alpha', by => 'alpha',
	sqlstate => '42S03', secret => $PLANTED{SUD}{alpha},
	sql => "SELECT smpc_intersect_count(k_uuid) FROM federation.people WHERE region = 'SUD'");
check_refusal(name => "the querying node's set below min_set_size, seen as a member", at => 'gamma',
	by => 'alpha', sqlstate => '42S03', secret => $PLANTED{SUD}{alpha},
	sql => "SELECT smpc_intersect_count(k_text) FROM federation.people WHERE region = 'SUD'");
check_refusal(name => 'key classes differ: integer at alpha, text at beta', at => 'alpha', by => 'beta',
	sqlstate => '42804', outcomes => [qw(refused failed)],
	sql => 'SELECT smpc_intersect_count(c) FROM federation.mixed');
check_refusal(name => 'key classes differ: uuid at alpha, text at gamma', at => 'alpha', by => 'gamma',
	sqlstate => '42804', outcomes => [qw(refused failed)],
	sql => 'SELECT smpc_intersect_count(cu) FROM federation.mixed');
check_error(name => 'key classes differ: text at beta, integer elsewhere', at => 'beta',
	sqlstate => '42804', message => qr/^member "(alpha|gamma)": /,
	sql => 'SELECT smpc_intersect_count(c) FROM federation.mixed');
# another party's set below a party's min_set_size: gamma now wants 100
# keys in every set of mixed; under region = 'smallb' beta has 30, which
# beta (min_set_size 0) and alpha (0) accept
$node{gamma}->safe_psql('postgres', q{SET ROLE steward;
	SELECT smpc.publish('mixed', 'lab.mixed', columns => '{k,t,c,cu,region}',
	                    intersect_keys => '{k,t,c,cu}', min_set_size => 100, replace => true);});
{
	my ($n, @sizes) = SmpcPsi::plain_count(\@party_nodes, 'lab.mixed', 'k', "region = 'smallb'");
	is(join(' ', @sizes), "$SMALLB{alpha} $SMALLB{beta} $SMALLB{gamma}", 'smallb: the planted set sizes');
}
check_refusal(name => "a member refuses another member's set below its min_set_size", at => 'alpha',
	by => 'gamma', sqlstate => '42S03', secret => $SMALLB{beta}, also => qr/"beta"/,
	sql => "SELECT smpc_intersect_count(k) FROM federation.mixed WHERE region = 'smallb'");
check_refusal(name => "the querying node refuses a member's set below its min_set_size", at => 'gamma',
	by => 'gamma', sqlstate => '42S03', secret => $SMALLB{beta}, also => qr/"beta"/,
	sql => "SELECT smpc_intersect_count(t) FROM federation.mixed WHERE region = 'smallb'");
no_peer_backends_anywhere('after the refusals');
# A member that had answered when another party refused records the
# abandoned session as incomplete (as for joint aggregates); nobody records
# a success, and every record is one of the complete outcomes.
for my $p (@P)
{
	is($node{$p}->safe_psql('postgres',
			"SELECT count(*) FROM smpc.audit_log WHERE audit_id > $phase_b->{$p} AND outcome NOT IN ('refused', 'failed', 'incomplete')"),
		0, "$p: the refusals left only refused, failed or incomplete records")
	  or diag(SmpcPsi::format_recs(SmpcPsi::audit_since($node{$p}, $phase_b->{$p})));
}

# --- 10. a member that is down, then back -------------------------------------------------------

$node{gamma}->stop;
my $down_mark = SmpcPsi::audit_mark({ map { $_ => $node{$_} } qw(alpha beta) });
{
	my $r = SmpcPsi::run_at($node{alpha},
		"SELECT smpc_intersect_count(k_int) FROM federation.people WHERE region = 'EU'");
	ok($r->{rc} != 0 && $r->{out} eq '' && ($r->{message} // '') =~ /^member "gamma": could not connect/,
		'a member that is down: the query fails naming it')
	  or diag("  rc $r->{rc}\n  stdout: $r->{out}\n  stderr: $r->{err}");
}
SmpcPsi::no_peer_backends($node{beta}, 'a member that is down');
{
	my $recs = SmpcPsi::audit_since($node{beta}, $down_mark->{beta});
	ok(!(grep { $_->{outcome} eq 'success' } @$recs) && @$recs <= 1,
		'a member that is down: beta records no success, at most its abandoned session')
	  or diag(SmpcPsi::format_recs($recs));
	is(scalar @{ SmpcPsi::audit_since($node{alpha}, $down_mark->{alpha}) }, 0,
		'a member that is down: the querying node keeps no record of the failed query');
}
$node{gamma}->start;
check_count(name => 'the member is back: the next query works', at => 'alpha',
	rel => 'lab.people', col => 'k_int', where => "region = 'EU'");
no_peer_backends_anywhere('at the end');

diag(sprintf('011_intersect took %.1fs', time - $T0));
$_->stop for @nodes;
done_testing();
