# Joint aggregates over three members, checked against the plaintext union:
# random differential queries issued at every member, HAVING / ORDER BY /
# LIMIT / expressions / windows over joint aggregates, a view and CTEs, a
# prepared statement on its generic plan, min_group_size suppression, every
# refusal with its SQLSTATE and hint, EXPLAIN, and the audit log.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;
use SmpcJoint;

my $MGS = 3;
my $seed = SmpcJoint::init_seed();

my @names = qw(st_marys city county);
my @nodes = start_members(3, names => \@names);

# county publishes an empty table; two regions sit at the min_group_size
# boundary: edge_lo has MGS-1 rows in all, edge_eq exactly MGS; in
# avg_scale the joint sum of num ends in a zero at the union's scale
my %rows = (
	st_marys => SmpcJoint::gen_rows('st_marys', 50 + int(rand(30)),
		({ region => 'edge_lo' }) x ($MGS - 2), ({ region => 'edge_eq' }) x ($MGS - 1),
		{ region => 'avg_scale', num => '100000000000000000000.10' },
		{ region => 'avg_scale', num => '100000000000000000000.20' }),
	city => SmpcJoint::gen_rows('city', 40 + int(rand(30)),
		{ region => 'edge_lo' }, { region => 'edge_eq' },
		{ region => 'avg_scale', num => '100000000000000000000.40' }),
	county => [],);

my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => $MGS,
	prepare => sub { my ($node, $name) = @_; load_obs($node, $rows{$name}); },
	publish => [ SmpcJoint::obs_publication() ]);
my %node = %{ $fed->{nodes} };

for my $name (@names)
{
	is($node{$name}->safe_psql('postgres', q{
		SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = 'federation.obs'::regclass AND attnum > 0}),
		join(',', map { "$_->[0]:$_->[1]" } @SmpcJoint::COLUMNS),
		"$name: federation.obs imported with the published columns");
	is($node{$name}->safe_psql('postgres', q{
		SELECT p.rolname || ' ' || p.rolsuper FROM smpc.dataset d JOIN pg_roles p ON p.oid = d.publisher
		 WHERE dataset_name = 'obs'}), 'steward false', "$name: a non-superuser published obs");
	is($node{$name}->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE reachable AND key_matches AND error IS NULL)
		  FROM smpc.federation_status('research')}), '2', "$name: federation_status: both members healthy");
}

my $j = SmpcJoint->new(fed => $fed, plain => 'st_marys');
$j->build_union;
$j->audit_baseline;

# --- random differential queries ---------------------------------------------
my @deferred = $j->run_random(40);

# --- HAVING, ORDER BY, LIMIT, expressions, windows over joint aggregates ---------
sub at { return SmpcJoint::pick(@names); }

$j->check_sql('HAVING, ORDER BY, LIMIT and expressions over aggregates',
	at => at(),
	fed => q{SELECT region, smpc_sum(i4) * 2 + 1 AS s, round(smpc_avg(amt), 1) AS a,
	                smpc_count(*) AS n, sum(i8) - smpc_sum(i2) AS d
	           FROM federation.obs WHERE i4 IS NOT NULL
	          GROUP BY region HAVING smpc_count(*) > 3 AND smpc_sum(i4) IS NOT NULL
	          ORDER BY n DESC, region NULLS FIRST LIMIT 4},
	plain => qq{SELECT region, sum(i4) * 2 + 1 AS s, round(avg(amt), 1) AS a,
	                count(*) AS n, sum(i8) - sum(i2) AS d
	           FROM plain.obs WHERE i4 IS NOT NULL
	          GROUP BY region HAVING count(*) > 3 AND sum(i4) IS NOT NULL AND count(*) >= $MGS
	          ORDER BY n DESC, region NULLS FIRST LIMIT 4},
	kinds => [qw(key int numx int num)],
	ordered => 1);

$j->check_sql('LIMIT with OFFSET, two group keys, ORDER BY an aggregate',
	at => at(),
	fed => q{SELECT kind, flag, smpc_count(*), smpc_sum(num) FROM federation.obs
	          GROUP BY kind, flag ORDER BY 3 DESC, 1, 2 LIMIT 5 OFFSET 1},
	plain => qq{SELECT kind, flag, count(*), sum(num) FROM plain.obs
	          GROUP BY kind, flag HAVING count(*) >= $MGS ORDER BY 3 DESC, 1, 2 LIMIT 5 OFFSET 1},
	kinds => [qw(key key int num)],
	ordered => 1);

$j->check_sql('ungrouped expressions over several aggregates',
	at => at(),
	fed => q{SELECT smpc_sum(i8) > 0, coalesce(smpc_sum(i4), 0) + smpc_count(i2),
	                smpc_sum(f8) / nullif(smpc_count(f8), 0), smpc_avg(i8), avg(i2)
	           FROM federation.obs WHERE region IN ('north', 'south') OR flag},
	plain => qq{SELECT sum(i8) > 0, coalesce(sum(i4), 0) + count(i2),
	                sum(f8) / nullif(count(f8), 0), avg(i8), avg(i2)
	           FROM plain.obs WHERE region IN ('north', 'south') OR flag HAVING count(*) >= $MGS},
	kinds => [qw(key int float numx numx)]);

$j->check_sql('window functions over joint aggregates',
	at => at(),
	fed => q{SELECT kind, smpc_count(*) AS n,
	                rank() OVER (ORDER BY smpc_count(*) DESC, kind),
	                sum(smpc_count(*)) OVER () AS total
	           FROM federation.obs GROUP BY kind ORDER BY kind},
	plain => qq{SELECT kind, count(*) AS n, rank() OVER (ORDER BY count(*) DESC, kind),
	                sum(count(*)) OVER () AS total
	           FROM plain.obs GROUP BY kind HAVING count(*) >= $MGS ORDER BY kind},
	kinds => [qw(key int int num)],
	ordered => 1);

# aggregates over expressions of published columns
$j->check_sql('aggregates over expressions of published columns',
	at => at(),
	fed => q{SELECT flag, sum(i4::bigint + i2), smpc_avg(amt * 2), smpc_sum(abs(f8))
	           FROM federation.obs GROUP BY flag},
	plain => qq{SELECT flag, sum(i4::bigint + i2), avg(amt * 2), sum(abs(f8))
	           FROM plain.obs GROUP BY flag HAVING count(*) >= $MGS},
	kinds => [qw(key num num float)]);
# ... also CASE, which the hint of the FILTER refusal below suggests
$j->check_sql('an aggregate over a CASE expression',
	at => at(),
	fed => q{SELECT smpc_sum(CASE WHEN i4 > 0 THEN 1 ELSE 0 END), smpc_count(*) FROM federation.obs},
	plain => qq{SELECT sum(CASE WHEN i4 > 0 THEN 1 ELSE 0 END), count(*) FROM plain.obs
	             HAVING count(*) >= $MGS},
	kinds => [qw(int int)]);

# avg over unconstrained numeric: PostgreSQL divides the sum at the largest
# scale of the inputs (here 2: 100000000000000000000.23, not .2)
$j->check_sql('avg over unconstrained numeric keeps the scale of the inputs',
	at => at(),
	fed => q{SELECT region, smpc_avg(num), avg(num) FROM federation.obs
	          WHERE region = 'avg_scale' GROUP BY region},
	plain => qq{SELECT region, avg(num), avg(num) FROM plain.obs
	          WHERE region = 'avg_scale' GROUP BY region HAVING count(*) >= $MGS},
	kinds => [qw(key num num)]);

# --- a view and CTEs over federated aggregates ---------------------------------------
{
	my $at = at();
	my $r = $j->psql_at($at, q{
		CREATE VIEW public.joint_by_kind AS
		  SELECT kind, flag, smpc_sum(i4) AS s4, smpc_sum(i8) AS s8, smpc_count(*) AS n
		    FROM federation.obs GROUP BY kind, flag});
	is($r->{rc}, 0, 'a view over a federated aggregate can be created') or diag($r->{err});
	$node{st_marys}->safe_psql('postgres', qq{
		CREATE VIEW public.plain_by_kind AS
		  SELECT kind, flag, sum(i4) AS s4, sum(i8) AS s8, count(*) AS n
		    FROM plain.obs GROUP BY kind, flag HAVING count(*) >= $MGS});
	$j->check_sql('a view over a federated aggregate, filtered on a group key',
		at => $at,
		fed => q{SELECT * FROM joint_by_kind WHERE kind = 'a' AND n > 1 ORDER BY flag},
		plain => q{SELECT * FROM plain_by_kind WHERE kind = 'a' AND n > 1 ORDER BY flag},
		kinds => [qw(key key int num int)],
		ordered => 1);
	$j->check_sql('aggregating the rows of a view over a federated aggregate',
		at => $at,
		fed => q{SELECT kind, sum(s4), sum(n), count(*) FROM joint_by_kind GROUP BY kind},
		plain => q{SELECT kind, sum(s4), sum(n), count(*) FROM plain_by_kind GROUP BY kind},
		kinds => [qw(key num num int)]);
}

$j->check_sql('a CTE over a federated aggregate',
	at => at(),
	fed => q{WITH t AS (SELECT region, smpc_avg(i4) AS a, smpc_count(*) AS n
	                      FROM federation.obs WHERE name LIKE '%a%' OR name IS NULL GROUP BY region)
	         SELECT region, a, n FROM t WHERE n >= 4 ORDER BY a DESC NULLS LAST, region},
	plain => qq{WITH t AS (SELECT region, avg(i4) AS a, count(*) AS n
	                      FROM plain.obs WHERE name LIKE '%a%' OR name IS NULL GROUP BY region
	                      HAVING count(*) >= $MGS)
	         SELECT region, a, n FROM t WHERE n >= 4 ORDER BY a DESC NULLS LAST, region},
	kinds => [qw(key numx int)],
	ordered => 1);

{
	# the result of a joint aggregate joined with a local table (the join is
	# above the aggregate); st_marys has the labels too, for the plaintext
	my $at = at();
	my $labels = q{CREATE TABLE IF NOT EXISTS public.kind_label (kind text, label text);
		INSERT INTO public.kind_label VALUES ('a', 'alpha'), ('b', 'beta'), ('d', 'delta');};
	$node{$at}->safe_psql('postgres', $labels);
	$node{st_marys}->safe_psql('postgres', $labels) if $at ne 'st_marys';
	$j->check_sql('a materialized CTE over a federated aggregate joined with a local table',
		at => $at,
		fed => q{WITH t AS MATERIALIZED (SELECT kind, smpc_sum(amt) AS s, smpc_avg(f8) AS a
		                                  FROM federation.obs GROUP BY kind)
		         SELECT t.kind, l.label, t.s, t.a FROM t JOIN kind_label l USING (kind)},
		plain => qq{WITH t AS MATERIALIZED (SELECT kind, sum(amt) AS s, avg(f8) AS a
		                                  FROM plain.obs GROUP BY kind HAVING count(*) >= $MGS)
		         SELECT t.kind, l.label, t.s, t.a FROM t JOIN kind_label l USING (kind)},
		kinds => [qw(key key numx float)]);
}

# --- a prepared statement with parameters in WHERE, on its generic plan -------------
{
	my $body = q{SELECT region, %s(i4), %s(*), %s(num) FROM %s
	              WHERE i4 > $1 AND (name LIKE $2 OR num < $3) AND region <> $4
	              GROUP BY region %s};
	my @runs = map {
		sprintf("(%s, '%s', %s, '%s')", $j->const_for('i4') =~ tr/()//dr,
			SmpcJoint::pick('%a%', 'b%', '%', 'x_%'),
			$j->const_for('num') =~ tr/()//dr, SmpcJoint::pick(@SmpcJoint::REGIONS))
	} 1 .. 9;
	$j->check_prepared('prepared statement',
		at => at(),
		params => 'int, text, numeric, text',
		fed => sprintf($body, qw(smpc_sum smpc_count smpc_sum federation.obs), ''),
		plain => sprintf($body, qw(sum count sum plain.obs), "HAVING count(*) >= $MGS"),
		runs => \@runs,
		kinds => [qw(key int int num)]);
}

# --- min_group_size ----------------------------------------------------------------
{
	my $at = at();
	my $r = $j->psql_at($at, q{SELECT region, smpc_count(*) FROM federation.obs
		WHERE region LIKE 'edge%' GROUP BY region});
	is($r->{out}, "edge_eq|$MGS", "a group of exactly min_group_size rows is shown, a smaller one is not");
	like(join("\n", @{ $r->{notices} }), qr/^1 group with fewer than $MGS rows withheld/m,
		'... and a notice says one group was withheld')
	  or diag($r->{err});
	$j->count_session($at) if $r->{rc} == 0;
	$at = at();
	$r = $j->psql_at($at, q{SELECT smpc_count(*), smpc_count(i4) >= 0 FROM federation.obs
		WHERE region = 'edge_eq'});
	is($r->{out}, "$MGS|t", 'an ungrouped result of exactly min_group_size rows is shown')
	  or diag($r->{err});
	$j->count_session($at) if $r->{rc} == 0;
}

# --- EXPLAIN ---------------------------------------------------------------------------
for my $name (@names)
{
	my $plan = $j->psql_at($name, q{
		EXPLAIN SELECT region, smpc_sum(i4) FROM federation.obs WHERE i4 > 5 GROUP BY region})->{out};
	like($plan, qr/Foreign Scan/, "$name: EXPLAIN shows a foreign scan");
	like($plan, qr/^\s*Federation: research$/m, "$name: EXPLAIN shows the federation");
	like($plan, qr/^\s*Members: \Q$fed->{members_of}{$name}\E$/m, "$name: EXPLAIN shows the members");
	like($plan, qr/^\s*Threshold: 1$/m, "$name: EXPLAIN shows the threshold (default for 3 parties)");
	unlike($plan, qr/Dataset SQL/, "$name: plain EXPLAIN does not show the dataset SQL");
	$plan = $j->psql_at($name, q{
		EXPLAIN VERBOSE SELECT region, smpc_sum(i4) FROM federation.obs WHERE i4 > 5 GROUP BY region})->{out};
	like($plan, qr/Dataset SQL: SELECT .*\bi4\b.*\b5\b/, "$name: EXPLAIN VERBOSE shows the dataset SQL");
}

# --- refused at the querying node ------------------------------------------------------------
$j->expect_error('reading raw rows', at => at(),
	sql => 'SELECT * FROM federation.obs', sqlstate => '42501',
	message => qr/rows of federated table "obs" cannot be read/);
$j->expect_error('reading one column', at => at(),
	sql => 'SELECT i4 FROM federation.obs WHERE i4 > 0', sqlstate => '42501',
	message => qr/rows of federated table "obs" cannot be read/);
$j->expect_error('an smpc aggregate over a local table', at => at(),
	sql => 'SELECT smpc_sum(i4) FROM clinical.obs', sqlstate => '0A000',
	message => qr/^smpc_sum can only aggregate a federated table/);
$j->expect_error('a join with a local table', at => at(),
	sql => 'SELECT smpc_count(*) FROM federation.obs f JOIN clinical.obs c ON f.i4 = c.i4',
	sqlstate => '0A000', message => qr/^federated table "obs" cannot be joined with other relations/);
$j->expect_error('a DISTINCT aggregate', at => at(),
	sql => 'SELECT count(DISTINCT i4) FROM federation.obs', sqlstate => '0A000',
	message => qr/^DISTINCT in aggregate count is not supported over a federated table/);
$j->expect_error('an unsupported aggregate', at => at(),
	sql => 'SELECT region, smpc_count(*), max(i4) FROM federation.obs GROUP BY region',
	sqlstate => '0A000', message => qr/^aggregate max is not supported over a federated table/);
$j->expect_error('an aggregate with FILTER', at => at(),
	sql => 'SELECT smpc_count(*) FILTER (WHERE i4 > 0) FROM federation.obs', sqlstate => '0A000',
	message => qr/FILTER/);
$j->expect_error('an ordered aggregate', at => at(),
	sql => 'SELECT sum(i4 ORDER BY i4) FROM federation.obs', sqlstate => '0A000',
	message => qr/ORDER BY/);
$j->expect_error('GROUP BY an expression', at => at(),
	sql => 'SELECT lower(region), smpc_count(*) FROM federation.obs GROUP BY lower(region)',
	sqlstate => '0A000', message => qr/expression/i);
$j->expect_error('grouping sets', at => at(),
	sql => 'SELECT kind, smpc_count(*) FROM federation.obs GROUP BY ROLLUP (kind)',
	sqlstate => '0A000', message => qr/grouping sets/i);
$j->expect_error('GROUP BY a revealed and a public-domain key together', at => at(),
	sql => 'SELECT region, kind, smpc_count(*) FROM federation.obs GROUP BY region, kind',
	sqlstate => '0A000', message => qr/group key "kind" has a public domain/);
$j->expect_error('a window function over raw rows', at => at(),
	sql => 'SELECT i4, sum(i4) OVER () FROM federation.obs',
	sqlstate => '42501', message => qr/rows of federated table "obs" cannot be read/);

# --- the audit log so far ------------------------------------------------------------------
$j->check_audit;

# --- queries that fail after reaching the members --------------------------------------------
$j->audit_baseline;
$j->run_one($_) for @deferred;
{
	my $at = at();
	my $r = $j->expect_error('an ungrouped result below min_group_size', at => $at,
		sql => q{SELECT smpc_sum(i4), smpc_count(*) FROM federation.obs WHERE region = 'edge_lo'},
		sqlstate => '42S02', message => qr/joint result withheld/);
	$j->count_failed_session($at, 'withheld') if ($r->{sqlstate} // '') eq '42S02';
}
# refused by the querying node's own policy check, before any member is asked
$j->expect_error('GROUP BY a column that is not a group key', at => at(),
	sql => 'SELECT name, smpc_count(*) FROM federation.obs GROUP BY name',
	sqlstate => '42S01', message => qr/column "name" of dataset "obs" is not a group key/);

# a member that refuses is named, and records its refusal
sub refusal_recorded
{
	my ($member, $initiator, $error_re, $name) = @_;
	my @recs = grep { $_->[0] eq 'member' && $_->[2] eq $initiator && $_->[3] =~ $error_re }
	  @{ $j->audit_since($member) };
	ok(@recs == 1 && $recs[0][1] =~ /^(refused|failed)$/, $name)
	  or diag(explain($j->audit_since($member)));
}
{
	# city's steward withdraws the dataset
	my $pub = $fed->{publications}{city}[0];
	$node{city}->safe_psql('postgres', "SET ROLE steward; SELECT smpc.withdraw('obs')");
	$j->expect_error('a member that withdrew the dataset', at => 'county',
		sql => 'SELECT smpc_count(*) FROM federation.obs', sqlstate => '42704',
		message => qr/^member "city": dataset "obs" is not published to federation "research"/);
	$j->count_failed_session('county', 'refused');
	refusal_recorded('city', 'county', qr/not published/, 'city records its refusal in its audit log');
	$node{city}->safe_psql('postgres', 'SET ROLE steward; ' . publish_sql($pub));

	# county's steward republishes without f8
	$pub = $fed->{publications}{county}[0];
	my %less = (%$pub, columns => [ grep { $_ ne 'f8' } @{ $pub->{columns} } ]);
	$node{county}->safe_psql('postgres', 'SET ROLE steward; ' . publish_sql(\%less, replace => 1));
	$j->expect_error('a member whose publication lacks a column', at => 'st_marys',
		sql => 'SELECT smpc_sum(f8) FROM federation.obs', sqlstate => '42S01',
		message => qr/^member "county": column "f8" of dataset "obs" is not published/);
	$j->count_failed_session('st_marys', 'refused');
	refusal_recorded('county', 'st_marys', qr/"f8"/, 'county records its refusal in its audit log');
	$node{county}->safe_psql('postgres', 'SET ROLE steward; ' . publish_sql($pub, replace => 1));
}

# everything works again
$j->check_sql('a joint query after the members republished',
	at => 'city',
	fed => 'SELECT flag, smpc_count(*), smpc_sum(f8) FROM federation.obs GROUP BY flag',
	plain => "SELECT flag, count(*), sum(f8) FROM plain.obs GROUP BY flag HAVING count(*) >= $MGS",
	kinds => [qw(key int float)]);

$j->check_audit_failures;

$_->stop for @nodes;
done_testing();
