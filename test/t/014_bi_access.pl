# BI access: a client other than psql -- ODBC through unixODBC and Debian's
# psqlODBC driver, as a reporting tool uses it -- runs joint queries over
# the standard PostgreSQL protocol as a non-superuser role.  Every joint
# result is compared, row by row and type by type, with the same query over
# the plaintext union of the three members' tables sent through the same
# driver.  Covered: prepare + execute (extended protocol), a parameter bound
# by the driver, catalog browsing (table_info, column_info), AutoCommit off
# (BEGIN and a savepoint per statement; a failing statement leaves the
# transaction usable), SQLSTATEs through DBI, the federation's USAGE
# privilege, and a scheduled report read by a role that may not run joint
# queries.  Then the same queries through JDBC (pgjdbc, run by the JDK's
# source launcher), up to its named server-side prepared statements.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DBI qw(:sql_types);
use SmpcNode;
use SmpcJoint ();
use SmpcOdbc;

my $MGS = 3;
my $seed = SmpcJoint::init_seed();
my @names = qw(acme bolt civic);
my @REGIONS = qw(north south east west);

# --- three members, each with its own sales table ------------------------------

# region (NULLs; "tiny" occurs once in all: a group below min_group_size),
# x int and y numeric(10,2), both with NULLs and negatives
sub gen_sales
{
	my ($name, $n) = @_;
	my @rows;
	for (1 .. $n)
	{
		my $u = rand();
		push @rows, [
			$u < 0.08 ? undef : SmpcJoint::pick(@REGIONS),
			SmpcJoint::chance(0.1) ? undef : int(rand(2001)) - 500,
			SmpcJoint::chance(0.1) ? undef : sprintf('%.2f', rand(20000) - 5000) ];
	}
	# every member has a NULL in each column
	push @rows, [ undef, 7, '1.25' ], [ 'north', undef, '2.50' ], [ 'south', 3, undef ];
	push @rows, [ 'tiny', 1, '1.00' ] if $name eq 'acme';
	return \@rows;
}
my %rows = (acme => gen_sales('acme', 40 + int(rand(20))),
	bolt => gen_sales('bolt', 30 + int(rand(20))),
	civic => gen_sales('civic', 20 + int(rand(20))));

my @nodes = start_members(3, names => \@names);
my $fed = setup_federation(\@nodes,
	names => \@names,
	min_group_size => $MGS,
	prepare => sub {
		my ($node, $name) = @_;
		$node->safe_psql('postgres',
			"CREATE SCHEMA shop;\n"
			  . "CREATE TABLE shop.sales (region text, x int, y numeric(10,2), secret text DEFAULT 'secret');\n"
			  . "COPY shop.sales (region, x, y) FROM STDIN;\n"
			  . SmpcJoint::copy_text($rows{$name}) . "\\.\n");
	},
	publish => [ {
		dataset => 'sales', relation => 'shop.sales', columns => [qw(region x y)],
		group_keys => { region => 'reveal' } } ]);
my %node = %{ $fed->{nodes} };
my $acme = $node{acme};

# the plaintext union of the members' tables, on acme, for comparison only
$acme->safe_psql('postgres',
	'CREATE SCHEMA plain; CREATE TABLE plain.sales (member text, region text, x int, y numeric(10,2))');
my $total = 0;
for my $name (@names)
{
	my $data = $node{$name}->safe_psql('postgres',
		"COPY (SELECT '$name', region, x, y FROM shop.sales) TO STDOUT");
	$acme->safe_psql('postgres', "COPY plain.sales FROM STDIN;\n$data\n\\.\n");
	$total += $node{$name}->safe_psql('postgres', 'SELECT count(*) FROM shop.sales');
}
is($acme->safe_psql('postgres', 'SELECT count(*) FROM plain.sales'), $total,
	"plain.sales on acme holds every member's rows ($total)");

# the federation's members are reached through a user mapping for PUBLIC
# with a password, which a non-superuser needs
is($acme->safe_psql('postgres', q{
	SELECT string_agg(srvname, ',' ORDER BY srvname) FROM pg_user_mappings
	 WHERE usename = 'public' AND 'password=peer-secret' = ANY (umoptions)}),
	'bolt,civic', 'acme: PUBLIC user mappings with a password for both members');

# BI roles: bi_analyst may run joint queries (SELECT on the federated table,
# USAGE on the federation); bi_nousage lacks USAGE
$acme->safe_psql('postgres', q{
	CREATE ROLE bi_analyst LOGIN PASSWORD 'bi-secret';
	CREATE ROLE bi_nousage LOGIN PASSWORD 'bi-secret';
	GRANT USAGE ON SCHEMA federation TO bi_analyst, bi_nousage;
	GRANT SELECT ON federation.sales TO bi_analyst, bi_nousage;
	GRANT USAGE ON FOREIGN SERVER research TO bi_analyst;
});
# every statement acme receives is logged: the test checks what the driver sent
$acme->append_conf('postgresql.conf', "log_statement = 'all'\n");
$acme->reload;
my $superuser = $acme->safe_psql('postgres', 'SELECT current_user');

# --- connecting ------------------------------------------------------------------

# the superuser's connection for the plaintext, over the Unix socket (trust)
my $plain = odbc_connect($acme, socket => 1, user => $superuser);
ok($plain, "plaintext connection: ODBC over the Unix socket as $superuser")
  or diag("dsn " . odbc_dsn($acme, socket => 1) . ": $DBI::errstr");

# the BI role over TCP, SCRAM password authentication
my $dsn = odbc_dsn($acme);
note("BI connection string: $dsn;Uid=bi_analyst;Pwd=...");
my $dbh = odbc_connect($acme, user => 'bi_analyst', password => 'bi-secret');
ok($dbh, 'bi_analyst connects through ODBC over TCP with its password')
  or BAIL_OUT("ODBC connection failed: $DBI::errstr");
like($dbh->get_info(6), qr/^psqlodbcw?\.so$/, 'the driver is psqlODBC (SQL_DRIVER_NAME)');
is($dbh->get_info(17), 'PostgreSQL', 'the DBMS is PostgreSQL (SQL_DBMS_NAME)');
my $bad = odbc_connect($acme, user => 'bi_analyst', password => 'wrong');
ok(!$bad && $DBI::state eq '08001' && $DBI::errstr =~ /password authentication failed/,
	'a wrong password is refused (SQLSTATE 08001)')
  or diag("state $DBI::state: $DBI::errstr");
my $who = odbc_query($dbh, 'SELECT current_user, session_user');
is_deeply($who->{rows}, [ [ 'bi_analyst', 'bi_analyst' ] ], 'the session runs as bi_analyst');

# --- the BI query ----------------------------------------------------------------------

my $Q = 'SELECT region, SUM(x), COUNT(*), AVG(y) FROM %s%s GROUP BY region';
my $HAVING = " HAVING count(*) >= $MGS";

# Compare a joint result with the plaintext one: every row (exact text) and
# the columns' names, ODBC types, precision and scale.
sub same_result
{
	my ($name, $got, $exp) = @_;
	if (!$got->{rows} || !$exp->{rows})
	{
		fail("$name: both queries ran");
		diag("joint: " . ($got->{errstr} // 'ok') . "\nplain: " . ($exp->{errstr} // 'ok'));
		return;
	}
	is_deeply(sort_rows($got->{rows}), sort_rows($exp->{rows}), "$name: rows equal the plaintext union's")
	  or diag(explain({ got => sort_rows($got->{rows}), expected => sort_rows($exp->{rows}) }));
	is_deeply([ @$got{qw(names types precision scale)} ], [ @$exp{qw(names types precision scale)} ],
		"$name: column names, ODBC types, precision and scale equal the plaintext's")
	  or diag(explain({ got => [ @$got{qw(names types precision scale)} ],
		  expected => [ @$exp{qw(names types precision scale)} ] }));
	return;
}

my $audit0 = $acme->safe_psql('postgres', 'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log');
my $log0 = -s $acme->logfile;

my $exp = odbc_query($plain, sprintf($Q, 'plain.sales', '') . $HAVING);
my $got = odbc_query($dbh, sprintf($Q, 'federation.sales', ''));
same_result('GROUP BY region over ODBC', $got, $exp);
is_deeply([ @{ $got->{types} }[ 1 .. 3 ] ], [ SQL_BIGINT, SQL_BIGINT, SQL_NUMERIC ],
	'SUM(int) and COUNT(*) arrive as SQL_BIGINT, AVG(numeric) as SQL_NUMERIC');
ok((grep { !defined $_->[0] } @{ $exp->{rows} }) && !(grep { ($_->[0] // '') eq 'tiny' } @{ $exp->{rows} })
	  && @{ $exp->{rows} } >= 4,
	'the expected result has a NULL region group, and the small group "tiny" is withheld');
like($got->{info} // '', qr/1 group with fewer than $MGS rows withheld from the joint result/,
	'the NOTICE about the withheld group reaches the ODBC client (SQL_SUCCESS_WITH_INFO)');
note('joint result through ODBC: ' . join('; ', map { join('|', map { $_ // 'NULL' } @$_) } @{ sort_rows($got->{rows}) }));
# SQLExecDirect instead of SQLPrepare + SQLExecute
{
	my $off = -s $acme->logfile;
	my $sth = $dbh->prepare(sprintf($Q, 'federation.sales', ''), { odbc_exec_direct => 1 });
	same_result('GROUP BY region with SQLExecDirect', odbc_execute($sth), $exp);
	ok($acme->log_contains(qr/LOG:  statement: SELECT region, SUM\(x\), COUNT\(\*\), AVG\(y\) FROM federation\.sales GROUP BY region$/m, $off),
		'... sent as a simple Query message');
}
# ODBC hands the values over as PostgreSQL prints them
my $psql_plain = $acme->safe_psql('postgres', sprintf($Q, 'plain.sales', '') . $HAVING);
is(join("\n", sort map { join('|', map { $_ // '' } @$_) } @{ $exp->{rows} }),
	join("\n", sort split /\n/, $psql_plain), 'the plaintext through ODBC is what psql prints');
# the driver used the extended protocol (a prepared statement)
ok($acme->log_contains(qr/LOG:  execute [^:]*: SELECT region, SUM\(x\), COUNT\(\*\), AVG\(y\) FROM federation\.sales GROUP BY region/, $log0),
	'the driver sent the joint query through the extended protocol (Parse/Bind/Execute)');

# a parameter bound by the driver, one prepared statement executed several times
my @thresholds = (-1000, 0, 333, 900, 1400);
{
	my $sql = sprintf($Q, 'federation.sales', ' WHERE x > ?');
	my $psql = sprintf($Q, 'plain.sales', ' WHERE x > ?') . $HAVING;
	my $sth = $dbh->prepare($sql);
	my $psth = $plain->prepare($psql);
	for my $t (@thresholds)
	{
		same_result("WHERE x > ? bound to $t", odbc_execute($sth, [ $t, SQL_INTEGER ]),
			odbc_execute($psth, [ $t, SQL_INTEGER ]));
	}
	ok($acme->log_contains(qr/LOG:  execute [^:]*: SELECT region, SUM\(x\), COUNT\(\*\), AVG\(y\) FROM federation\.sales WHERE x > \$1 GROUP BY region\n[^\n]*DETAIL:  parameters: \$1 = '333'/, $log0),
		'the threshold travelled as a bound parameter ($1), not in the SQL text');
}

# acme audited every joint query as bi_analyst's, with the bound values
# pushed down to the members
{
	my $a = $acme->safe_psql('postgres', qq{
		SELECT count(*) || '|' || count(*) FILTER (WHERE initiator_role = 'bi_analyst'
		                                      AND outcome = 'success')
		  FROM smpc.audit_log WHERE node_role = 'querying' AND audit_id > $audit0});
	is($a, (2 + @thresholds) . '|' . (2 + @thresholds),
		'acme audited each joint query once, successful, initiated by bi_analyst');
	my $sqls = $node{bolt}->safe_psql('postgres', qq{
		SELECT string_agg(dataset_sql, E'\\n') FROM smpc.audit_log
		 WHERE node_role = 'member' AND initiator_role = 'bi_analyst'});
	ok(!(grep { $sqls !~ /x > '?\Q$_\E'?/ } @thresholds),
		'bolt received each bound threshold in the dataset SQL')
	  or diag($sqls);
}

# --- catalog browsing ------------------------------------------------------------------

{
	my $ti = $dbh->table_info(undef, 'federation', 'sales', undef);
	my $t = $ti ? $ti->fetchall_arrayref({}) : [];
	is(scalar(@$t), 1, 'table_info finds federation.sales');
	is(join('|', map { $_ // '' } @{ $t->[0] // {} }{qw(TABLE_SCHEM TABLE_NAME)}), 'federation|sales',
		'... by schema and name');
	note('TABLE_TYPE ' . ($t->[0]{TABLE_TYPE} // 'undef'));
	# a BI tool's table list: every table-like object of the schema
	my $all = $dbh->table_info(undef, 'federation', '%', undef);
	my @listed = map { $_->{TABLE_NAME} } @{ $all ? $all->fetchall_arrayref({}) : [] };
	is(join(',', @listed), 'sales', 'listing schema federation shows sales');

	my $ci = $dbh->column_info(undef, 'federation', 'sales', undef);
	my @cols = @{ $ci ? $ci->fetchall_arrayref({}) : [] };
	my $cat = $acme->safe_psql('postgres', q{
		SELECT string_agg(attnum || ':' || attname || ':' || t.typname, ',' ORDER BY attnum)
		  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		 WHERE attrelid = 'federation.sales'::regclass AND attnum > 0 AND NOT attisdropped});
	is(join(',', map { "$_->{ORDINAL_POSITION}:$_->{COLUMN_NAME}:$_->{TYPE_NAME}" } @cols), $cat,
		'column_info: the columns of federation.sales in order, with their PostgreSQL types');
	# the same ODBC description as the plaintext table's columns
	my $pci = $plain->column_info(undef, 'plain', 'sales', undef);
	my %pcol = map { $_->{COLUMN_NAME} => $_ } @{ $pci ? $pci->fetchall_arrayref({}) : [] };
	my @k = qw(DATA_TYPE COLUMN_SIZE DECIMAL_DIGITS NULLABLE);
	is_deeply([ map { my $c = $_; [ map { $c->{$_} } @k ] } @cols ],
		[ map { my $c = $pcol{ $_->{COLUMN_NAME} }; [ map { $c->{$_} } @k ] } @cols ],
		'column_info: DATA_TYPE, COLUMN_SIZE, DECIMAL_DIGITS, NULLABLE as for the plaintext table');
}

# --- AutoCommit off: BEGIN, a savepoint per statement ---------------------------------------

{
	my $log1 = -s $acme->logfile;
	my $tx = odbc_connect($acme, user => 'bi_analyst', password => 'bi-secret', autocommit => 0);
	ok($tx && !$tx->{AutoCommit}, 'a second bi_analyst connection with AutoCommit off');
	my $start = odbc_query($tx, 'SELECT now()');
	my $exp = odbc_query($plain, sprintf($Q, 'plain.sales', '') . $HAVING);
	same_result('AutoCommit off: the joint query in a transaction',
		odbc_query($tx, sprintf($Q, 'federation.sales', '')), $exp);

	my $raw = odbc_query($tx, 'SELECT region, x FROM federation.sales');
	is($raw->{state}, '42501', 'reading raw rows fails with SQLSTATE 42501 ($dbh->state)');
	like($raw->{errstr} // '', qr/rows of federated table "sales" cannot be read.*\(SQL-42501\)/s,
		'... and errstr carries the message and the SQLSTATE');
	ok($raw->{err}, '... and a true $dbh->err');

	note("raw read failed at $raw->{stage}: $raw->{errstr}");

	# a joint query that fails after the members did their part: an
	# ungrouped result over fewer than min_group_size rows is withheld
	is($acme->safe_psql('postgres', q{SELECT count(*) FROM plain.sales WHERE region = 'tiny'}), 1,
		'the plaintext union has a single row in region "tiny"');
	my $w = odbc_query($tx, 'SELECT COUNT(*), SUM(x) FROM federation.sales WHERE region = ?', 'tiny');
	is($w->{state}, '42S02', 'AutoCommit off: a joint query over too few rows is withheld (42S02)');
	like($w->{errstr} // '', qr/joint result withheld/, '... joint result withheld');
	note("withheld at $w->{stage}: " . ($w->{errstr} // ''));

	# each failed statement was rolled back to its savepoint: the same
	# transaction goes on and runs joint queries
	my $exp2 = odbc_query($plain, sprintf($Q, 'plain.sales', ' WHERE x > 333') . $HAVING);
	same_result('AutoCommit off: a joint query after the failed statement',
		odbc_query($tx, sprintf($Q, 'federation.sales', ' WHERE x > 333')), $exp2);
	is_deeply(odbc_query($tx, 'SELECT now()')->{rows}, $start->{rows},
		'... in the same transaction (now() unchanged)');
	ok($tx->commit, 'the transaction commits') or diag($tx->errstr);
	ok($acme->log_contains(qr/LOG:  statement: BEGIN/, $log1)
		  && $acme->log_contains(qr/LOG:  statement: SAVEPOINT \S+/, $log1)
		  && $acme->log_contains(qr/LOG:  statement: ROLLBACK TO \S+/, $log1),
		'the driver issued BEGIN, SAVEPOINTs and a ROLLBACK TO savepoint');
	$tx->disconnect if $tx;
}

# --- privileges ------------------------------------------------------------------------------

{
	my $nu = odbc_connect($acme, user => 'bi_nousage', password => 'bi-secret');
	ok($nu, 'bi_nousage (SELECT on federation.sales, no USAGE on research) connects');
	my $r = $nu ? odbc_query($nu, sprintf($Q, 'federation.sales', '')) : {};
	is($r->{state}, '42501', 'without USAGE on the federation the joint query fails with 42501');
	like($r->{errstr} // '', qr/permission denied for federation "research"/, '... permission denied for federation "research"')
	  or diag($r->{errstr} // 'no error');
	# and the connection is still usable
	is_deeply($nu ? odbc_query($nu, 'SELECT 1')->{rows} : undef, [ [1] ], '... and the connection goes on');
	$nu->disconnect if $nu;
}

# --- a scheduled report, read by a role that may not run joint queries ------------------

{
	{
		my $pexp = odbc_query($plain, sprintf($Q, 'plain.sales', '') . $HAVING);
		$acme->safe_psql('postgres', q{
			CREATE ROLE report_owner LOGIN PASSWORD 'owner-secret';
			CREATE ROLE report_reader LOGIN PASSWORD 'reader-secret';
			GRANT EXECUTE ON FUNCTION
			  smpc.schedule_report(text, text, text, text, integer, interval, boolean),
			  smpc.run_report(text, boolean) TO report_owner;
			GRANT USAGE ON SCHEMA federation TO report_owner;
			GRANT SELECT ON federation.sales TO report_owner;
			GRANT USAGE ON FOREIGN SERVER research TO report_owner;
			CREATE SCHEMA reports AUTHORIZATION report_owner;
		});
		# once a year, so only the manual run below fills the table
		my ($rc, $out, $err) = $acme->psql('postgres', q{
			SET ROLE report_owner;
			SELECT smpc.schedule_report('sales_by_region', '0 0 1 1 *',
			  'SELECT region, SUM(x) AS sum_x, COUNT(*) AS n, AVG(y) AS avg_y FROM federation.sales GROUP BY region',
			  'reports.sales_by_region') IS NOT NULL;
			SELECT smpc.run_report('sales_by_region');
			GRANT USAGE ON SCHEMA reports TO report_reader;
			RESET ROLE;
			-- it may look up the federated table, not read it
			GRANT USAGE ON SCHEMA federation TO report_reader;
			SET ROLE report_owner;
			GRANT SELECT ON reports.sales_by_region TO report_reader;
		});
		my ($run_id) = $out =~ /^t\n(\d+)$/;
		ok($rc == 0 && defined $run_id, 'report_owner schedules a report and runs it')
		  or diag("rc $rc\nout $out\nerr $err");
		$run_id //= 0;
		is($acme->safe_psql('postgres',
			"SELECT status || ' ' || rows FROM smpc.report_runs WHERE run_id = $run_id"),
			'succeeded ' . scalar(@{ $pexp->{rows} // [] }), '... the run succeeded with one row per group');

		my $rd = odbc_connect($acme, user => 'report_reader', password => 'reader-secret');
		ok($rd, 'report_reader connects through ODBC');
		my $cols = 'region, sum_x, n, avg_y';
		my $sql = "SELECT $cols FROM reports.sales_by_region WHERE run_id = ?";
		my $r = $rd ? odbc_query($rd, $sql, [ $run_id, SQL_BIGINT ]) : {};
		my $owner_sees = $acme->safe_psql('postgres',
			"SET ROLE report_owner; SELECT $cols FROM reports.sales_by_region WHERE run_id = $run_id");
		is(join("\n", sort map { join('|', map { $_ // '' } @$_) } @{ $r->{rows} // [] }),
			join("\n", sort split /\n/, $owner_sees), 'report_reader reads the report rows the owner sees')
		  or diag($r->{errstr} // '');
		is_deeply(sort_rows($r->{rows} // []), sort_rows($pexp->{rows}),
			'... which equal the plaintext union');
		is_deeply($r->{types} // [], $pexp->{types}, '... with the same ODBC types');

		my $j = $rd ? odbc_query($rd, sprintf($Q, 'federation.sales', '')) : {};
		is($j->{state}, '42501', 'report_reader gets 42501 on the joint query');
		like($j->{errstr} // '', qr/permission denied for (?:foreign table sales|federation "research")/,
			'... permission denied for the federated table (or the federation)');
		is_deeply($rd ? odbc_query($rd, 'SELECT count(*) FROM reports.sales_by_region WHERE run_id = ' . $run_id)->{rows} : undef,
			[ [ scalar @{ $pexp->{rows} } ] ], '... and the connection goes on');
		$rd->disconnect if $rd;
	}
}

# --- the same through JDBC (pgjdbc, Debian's libpostgresql-jdbc-java) -------------------
#
# A tiny Java client, run with the JDK's source launcher: args url user
# password, then per query "-q" SQL [integer parameters...]; one
# PreparedStatement per query, executed once per parameter (or once).  Prints
# "#run", "#types" with the result's PostgreSQL type names, then the rows
# ('|'-separated, \N for NULL), or "#error SQLSTATE message".
my $JAVA = <<'EOJ';
import java.sql.*;
import java.util.*;

public class BiJdbc {
	public static void main(String[] a) throws Exception {
		try (Connection c = DriverManager.getConnection(a[0], a[1], a[2])) {
			for (int i = 3; i < a.length; ) {
				String sql = a[i + 1];
				List<String> params = new ArrayList<>();
				for (i += 2; i < a.length && !a[i].equals("-q"); i++)
					params.add(a[i]);
				try (PreparedStatement ps = c.prepareStatement(sql)) {
					for (int r = 0; r < Math.max(1, params.size()); r++) {
						if (!params.isEmpty())
							ps.setInt(1, Integer.parseInt(params.get(r)));
						System.out.println("#run " + (params.isEmpty() ? "" : params.get(r)));
						try (ResultSet rs = ps.executeQuery()) {
							ResultSetMetaData md = rs.getMetaData();
							StringBuilder t = new StringBuilder("#types");
							for (int k = 1; k <= md.getColumnCount(); k++)
								t.append(' ').append(md.getColumnTypeName(k));
							System.out.println(t);
							while (rs.next()) {
								StringBuilder row = new StringBuilder();
								for (int k = 1; k <= md.getColumnCount(); k++) {
									String v = rs.getString(k);
									row.append(k > 1 ? "|" : "").append(v == null ? "\\N" : v);
								}
								System.out.println(row);
							}
						} catch (SQLException e) {
							System.out.println("#error " + e.getSQLState() + " " + e.getMessage().split("\n")[0]);
						}
					}
				}
			}
		}
	}
}
EOJ

# run the client as $user; returns its runs as [ header, types, sorted rows ]
# (or [ header, error ])
sub jdbc_runs
{
	my ($user, $password, @queries) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	open my $fh, '>', "$dir/BiJdbc.java" or die $!;
	print $fh $JAVA;
	close $fh;
	my $url = 'jdbc:postgresql://127.0.0.1:' . $acme->port . '/postgres';
	my ($out, $err) = run_command([ 'java', '-XX:TieredStopAtLevel=1', '-cp', '/usr/share/java/postgresql.jar',
		"$dir/BiJdbc.java", $url, $user, $password, map { ('-q', @$_) } @queries ]);
	note("java stderr: $err") if $err ne '';
	my @runs;
	for my $chunk (split /^(?=#run )/m, $out)
	{
		my @l = split /\n/, $chunk;
		my $head = shift @l;
		my $second = @l && $l[0] =~ /^#/ ? shift @l : '';
		push @runs, [ $head, $second, join("\n", sort @l) ];
	}
	return \@runs;
}

{
	my @jthresholds = (-1000, 0, 100, 333, 600, 900, 1200);
	$acme->safe_psql('postgres', q{
		CREATE ROLE plain_reader LOGIN PASSWORD 'plain-secret';
		GRANT USAGE ON SCHEMA plain TO plain_reader;
		GRANT SELECT ON plain.sales TO plain_reader;
	});
	my $log2 = -s $acme->logfile;
	my $jt0 = time;
	my $got = jdbc_runs('bi_analyst', 'bi-secret',
		[ sprintf($Q, 'federation.sales', '') ],
		[ sprintf($Q, 'federation.sales', ' WHERE x > ?'), @jthresholds ],
		[ 'SELECT region, x FROM federation.sales WHERE x > ?', 5 ]);
	my $exp = jdbc_runs('plain_reader', 'plain-secret',
		[ sprintf($Q, 'plain.sales', '') . $HAVING ],
		[ sprintf($Q, 'plain.sales', ' WHERE x > ?') . $HAVING, @jthresholds ]);
	note(sprintf('two JDBC clients ran in %d s', time - $jt0));
	is(scalar(@$got), 2 + @jthresholds, 'JDBC: every execution reported')
	  or diag(explain($got));
	is_deeply([ @$got[ 0 .. $#$exp ] ], $exp,
		'JDBC: the joint query and ' . @jthresholds . ' executions of WHERE x > ? equal the plaintext union (rows, type names)')
	  or diag(explain({ got => $got, expected => $exp }));
	like($got->[0][1] // '', qr/^#types text int8 int8 numeric$/, 'JDBC: result types text, int8, int8, numeric');
	like($got->[-1][1] // '', qr/^#error 42501 ERROR: rows of federated table "sales" cannot be read/,
		'JDBC: reading raw rows fails with SQLSTATE 42501');
	# from the fifth execution on pgjdbc uses a named server-side statement
	ok($acme->log_contains(qr/LOG:  execute S_\d+: SELECT region, SUM\(x\), COUNT\(\*\), AVG\(y\) FROM federation\.sales WHERE x > \$1 GROUP BY region\n[^\n]*DETAIL:  parameters: \$1 = '1200'/, $log2),
		'JDBC: the last executions ran as a named server-side prepared statement');
}

$dbh->disconnect;
$plain->disconnect if $plain;
done_testing();
