# Joint aggregates over five members with threshold 3 and min_group_size 2,
# checked against the plaintext union: random differential queries issued
# at every member, a view and a prepared statement, the min_group_size
# boundary, EXPLAIN, a refusing member, and the audit log on all five.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;
use SmpcJoint;

my $MGS = 2;
my $THRESHOLD = 3;
my $seed = SmpcJoint::init_seed();

my @names = qw(north_gen south_gen east_clinic west_lab valley);
my @nodes = start_members(5, names => \@names);

# valley publishes an empty table; edge_lo has one row (below 2), edge_eq two
# rows at different members
my %rows = (
	north_gen => SmpcJoint::gen_rows('north_gen', 25 + int(rand(20)), { region => 'edge_lo' },
		{ region => 'edge_eq' }),
	south_gen => SmpcJoint::gen_rows('south_gen', 25 + int(rand(20))),
	east_clinic => SmpcJoint::gen_rows('east_clinic', 10 + int(rand(10)), { region => 'edge_eq' }),
	west_lab => SmpcJoint::gen_rows('west_lab', 25 + int(rand(20))),
	valley => [],);

my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => $MGS,
	threshold => $THRESHOLD,
	prepare => sub { my ($node, $name) = @_; load_obs($node, $rows{$name}); },
	publish => [ SmpcJoint::obs_publication() ]);
my %node = %{ $fed->{nodes} };

my $j = SmpcJoint->new(fed => $fed, plain => 'south_gen');
$j->build_union;
$j->audit_baseline;

sub at { return SmpcJoint::pick(@names); }

# --- random differential queries ---------------------------------------------
my @deferred = $j->run_random(20);

# --- on top of joint aggregates -------------------------------------------------
$j->check_sql('HAVING, ORDER BY, LIMIT over joint aggregates',
	at => at(),
	fed => q{SELECT kind, flag, smpc_sum(i8) AS s, smpc_avg(f8), smpc_count(*) AS n
	           FROM federation.obs GROUP BY kind, flag HAVING smpc_sum(i8) IS NOT NULL
	          ORDER BY s DESC, kind, flag LIMIT 6},
	plain => qq{SELECT kind, flag, sum(i8) AS s, avg(f8), count(*) AS n
	           FROM plain.obs GROUP BY kind, flag HAVING sum(i8) IS NOT NULL AND count(*) >= $MGS
	          ORDER BY s DESC, kind, flag LIMIT 6},
	kinds => [qw(key key num float int)],
	ordered => 1);

{
	my $at = at();
	my $r = $j->psql_at($at, q{
		CREATE VIEW public.joint_flags AS
		  SELECT flag, smpc_count(*) AS n, smpc_sum(amt) AS s, smpc_avg(i4) AS a
		    FROM federation.obs WHERE region IS NOT NULL GROUP BY flag});
	is($r->{rc}, 0, 'a view over a federated aggregate can be created') or diag($r->{err});
	$j->check_sql('a view over a federated aggregate',
		at => $at,
		fed => q{SELECT * FROM joint_flags ORDER BY flag NULLS FIRST},
		plain => qq{SELECT flag, count(*), sum(amt), avg(i4) FROM plain.obs WHERE region IS NOT NULL
		             GROUP BY flag HAVING count(*) >= $MGS ORDER BY flag NULLS FIRST},
		kinds => [qw(key int numx numx)],
		ordered => 1);
}

{
	my $body = q{SELECT kind, %s(i8), %s(f8), %s(i2) FROM %s
	              WHERE (i2 BETWEEN $1 AND $2 OR f8 > $3) AND kind <> $4 GROUP BY kind %s};
	my @runs = map {
		my @b = sort { $a <=> $b } map { $j->const_for('i2') =~ tr/()//dr } 1 .. 2;
		sprintf("(%s, %s, %s, '%s')", @b, $j->const_for('f8') =~ tr/()//dr,
			SmpcJoint::pick(@SmpcJoint::KIND_DOMAIN))
	} 1 .. 8;
	$j->check_prepared('prepared statement',
		at => at(),
		params => 'smallint, smallint, float8, text',
		fed => sprintf($body, qw(smpc_sum smpc_avg smpc_count federation.obs), ''),
		plain => sprintf($body, qw(sum avg count plain.obs), "HAVING count(*) >= $MGS"),
		runs => \@runs,
		kinds => [qw(key num float int)]);
}

# --- min_group_size boundary ------------------------------------------------------
{
	my $at = at();
	my $r = $j->psql_at($at, q{SELECT region, smpc_count(*), smpc_count(i4) <= 2
		FROM federation.obs WHERE region LIKE 'edge%' GROUP BY region});
	is($r->{out}, "edge_eq|$MGS|t", 'a group of min_group_size rows from two members is shown, a smaller one is not')
	  or diag($r->{err});
	$j->count_session($at) if $r->{rc} == 0;
}

# --- EXPLAIN ---------------------------------------------------------------------------
for my $name (@names[ 0, 4 ])
{
	my $plan = $j->psql_at($name, q{
		EXPLAIN VERBOSE SELECT smpc_count(*) FROM federation.obs WHERE name LIKE 'ab%'})->{out};
	like($plan, qr/^\s*Federation: research$/m, "$name: EXPLAIN shows the federation");
	like($plan, qr/^\s*Members: \Q$fed->{members_of}{$name}\E$/m,
		"$name: EXPLAIN shows the four other members");
	like($plan, qr/^\s*Threshold: $THRESHOLD$/m, "$name: EXPLAIN shows the configured threshold");
	like($plan, qr/Dataset SQL: SELECT .*\bname\b.*ab%/, "$name: EXPLAIN VERBOSE shows the dataset SQL");
}

# --- the audit log on all five ---------------------------------------------------------------
$j->check_audit;

# --- after the audit check: withheld results and a refusing member -----------------------------
$j->audit_baseline;
$j->run_one($_) for @deferred;
{
	my $at = at();
	my $r = $j->expect_error('an ungrouped result below min_group_size', at => $at,
		sql => q{SELECT smpc_count(*) FROM federation.obs WHERE region = 'edge_lo'},
		sqlstate => '42S02', message => qr/joint result withheld/);
	$j->count_failed_session($at, 'withheld') if ($r->{sqlstate} // '') eq '42S02';
}

{
	my $pub = $fed->{publications}{west_lab}[0];
	$node{west_lab}->safe_psql('postgres', "SET ROLE steward; SELECT smpc.withdraw('obs')");
	$j->expect_error('a member that withdrew the dataset', at => 'valley',
		sql => 'SELECT region, smpc_sum(i4) FROM federation.obs GROUP BY region',
		sqlstate => '42704', message => qr/^member "west_lab": dataset "obs" is not published/);
	$j->count_failed_session('valley', 'refused');
	my @recs = grep { $_->[0] eq 'member' && $_->[2] eq 'valley' && $_->[3] =~ /not published/ }
	  @{ $j->audit_since('west_lab') };
	ok(@recs == 1 && $recs[0][1] =~ /^(refused|failed)$/, 'west_lab records its refusal in its audit log');
	$node{west_lab}->safe_psql('postgres', 'SET ROLE steward; ' . publish_sql($pub));
	$j->check_sql('a joint query after the member republished',
		at => 'valley',
		fed => 'SELECT region, smpc_sum(i4) FROM federation.obs GROUP BY region',
		plain => "SELECT region, sum(i4) FROM plain.obs GROUP BY region HAVING count(*) >= $MGS",
		kinds => [qw(key int)]);
}

$j->check_audit_failures;

$_->stop for @nodes;
done_testing();
