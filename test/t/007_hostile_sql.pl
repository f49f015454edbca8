# Hostile dataset SQL sent straight to real members over the network path.
#
# The querying node (st_marys) runs the planner's own dataset SQL locally,
# but the test-only module smpc_fault (test/modules/smpc_fault) makes it
# put an attacker's SQL into the signed PREPARE it sends every member. Each
# member runs its policy check (src/policy.c) on it and must refuse with a
# precise error, which the querying node re-raises as `member "name": ...`
# with the member's SQLSTATE; each member records the refusal in its audit
# log with the attack SQL as dataset_sql.
#
# Before the catalogue every node gets side-effect sinks that the attacks
# aim at: a table written by evil plpgsql functions, a sequence, evil
# operators, casts, domains and shadows of built-in functions (also inside
# pg_catalog), extensions whose functions write files or open connections,
# and the privileges an attacker would hope the publisher has. Afterwards
# every node proves nothing ran: the sink table is empty, the sequence was
# never called, no file exists, pg_stat_user_functions counts no call of
# any evil function (track_functions = all, with a canary showing that the
# counting works), the data is intact, no server restarted, and normal joint
# queries still return the plaintext union.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::MD5 qw(md5_hex);
use MIME::Base64 ();
use SmpcNode;

my @names = qw(st_marys city county);
my @nodes = start_members(3,
	names => \@names,
	conf => "shared_preload_libraries = 'smpc, smpc_fault'\ntrack_functions = 'all'\n");
my ($qname, @members) = @names;

# where file-writing attacks aim; the servers run as the test's user
my $tmp = PostgreSQL::Test::Utils::tempdir();

# --- data: clinical.adm on every node, published as "admissions" -----------
# secret is not published; wards a and b have 4 rows per node
my %rows;
for my $i (0 .. $#names)
{
	$rows{ $names[$i] } = [ map {
			[ 20 + 7 * $_ + $i, sprintf('%.1f', $_ + 0.5 + $i / 10), ($_ % 2 ? 'b' : 'a'),
				"secret-$names[$i]-$_" ]
	} 0 .. 7 ];
}

sub values_sql
{
	my ($rows) = @_;
	return join(', ', map { "($_->[0], $_->[1], '$_->[2]', '$_->[3]')" } @$rows);
}

my $fed = setup_federation(\@nodes,
	names => \@names,
	prepare => sub {
		my ($node, $name) = @_;
		$node->safe_psql('postgres', qq{
			CREATE SCHEMA clinical;
			CREATE TABLE clinical.adm (age int, los numeric(6,1), ward text, secret text);
			INSERT INTO clinical.adm VALUES } . values_sql($rows{$name}) . qq{;
			CREATE TABLE clinical.other (x int);
			INSERT INTO clinical.other VALUES (42);
		});
	},
	publish => [ {
			dataset => 'admissions',
			relation => 'clinical.adm',
			columns => [qw(age los ward)],
			group_keys => { ward => 'reveal' } } ]);
my %node = %{ $fed->{nodes} };
my $q = $node{$qname};
my $peer_pw = $fed->{peer_password};

# --- side-effect sinks, and what an attacker would hope was granted --------
my $evil_body = sub {
	my ($what, $ret) = @_;
	return qq{LANGUAGE plpgsql AS \$f\$BEGIN INSERT INTO public.sink VALUES ('$what'); }
	  . qq{PERFORM nextval('public.sink_seq'); RETURN $ret; END\$f\$};
};
my $sinks = join("\n",
	q{CREATE TABLE public.sink (what text, at timestamptz DEFAULT clock_timestamp());},
	q{GRANT SELECT, INSERT ON public.sink TO PUBLIC;},
	q{CREATE SEQUENCE public.sink_seq;},
	q{GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.sink_seq TO PUBLIC;},
	q{CREATE FUNCTION public.canary() RETURNS int LANGUAGE plpgsql AS $f$BEGIN RETURN 1; END$f$;},
	# functions, operators, casts, domains in public
	q{CREATE FUNCTION public.evil() RETURNS boolean } . $evil_body->('evil', 'true') . ';',
	q{CREATE FUNCTION public.evil_eq(int, int) RETURNS boolean } . $evil_body->('===', 'true') . ';',
	q{CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = public.evil_eq);},
	q{CREATE FUNCTION public.evil_check(text) RETURNS boolean } . $evil_body->('domain', 'true') . ';',
	q{CREATE DOMAIN public.evilt AS text CHECK (public.evil_check(VALUE));},
	q{CREATE FUNCTION public.evil_cast(int) RETURNS date } . $evil_body->('cast', q{'2000-01-01'}) . ';',
	q{CREATE CAST (integer AS date) WITH FUNCTION public.evil_cast(integer);},
	q{CREATE FUNCTION public.evil_point(int) RETURNS point } . $evil_body->('implicit cast', q{point(0, 0)}) . ';',
	q{CREATE CAST (integer AS point) WITH FUNCTION public.evil_point(integer) AS IMPLICIT;},
	q{CREATE FUNCTION public.evil_srf() RETURNS SETOF int } . $evil_body->('srf', 'NEXT 1') . ';',
	q{CREATE PROCEDURE public.evil_proc() LANGUAGE plpgsql AS $f$BEGIN INSERT INTO public.sink VALUES ('proc'); END$f$;},
	q{CREATE COLLATION public.evilc (locale = 'C');},
	# shadows of built-in functions: an exact match for text, and a better
	# match for integer than pg_catalog's round(numeric/double precision)
	q{CREATE FUNCTION public.lower(text) RETURNS text } . $evil_body->('lower', q{'pwned'}) . ';',
	q{CREATE FUNCTION public.round(int) RETURNS int } . $evil_body->('round', '-1') . ';',
	# user objects inside pg_catalog itself, found by the member's own
	# search_path "pg_catalog, pg_temp"
	q{CREATE FUNCTION pg_catalog.evil_in_catalog() RETURNS boolean } . $evil_body->('catalog function', 'true') . ';',
	q{CREATE FUNCTION pg_catalog.lower(integer) RETURNS integer } . $evil_body->('lower(int)', '0') . ';',
	q{CREATE FUNCTION public.evil_eq_text(int, text) RETURNS boolean } . $evil_body->('=(int,text)', 'true') . ';',
	q{CREATE OPERATOR pg_catalog.= (LEFTARG = integer, RIGHTARG = text, FUNCTION = public.evil_eq_text);},
	q{CREATE FUNCTION public.evil_check_int(int) RETURNS boolean } . $evil_body->('catalog domain', 'true') . ';',
	q{CREATE DOMAIN pg_catalog.evild AS integer CHECK (public.evil_check_int(VALUE));},
	q{CREATE COLLATION pg_catalog.evilc (locale = 'C');},
	# file and network access from extensions: adminpack lives in
	# pg_catalog, dblink (whose composite types cannot go there) in ext
	q{CREATE EXTENSION adminpack;},
	q{CREATE SCHEMA ext; CREATE EXTENSION dblink SCHEMA ext;},
	q{GRANT USAGE ON SCHEMA ext TO PUBLIC;},
	# what the attacker hopes the publisher may do
	q{GRANT pg_read_server_files, pg_write_server_files, pg_execute_server_program,
	        pg_signal_backend TO steward;},
	q{GRANT EXECUTE ON FUNCTION lo_export(oid, text), lo_import(text), lo_from_bytea(oid, bytea),
	        pg_read_file(text), pg_stat_file(text), pg_file_write(text, text, boolean),
	        ext.dblink_exec(text, text), ext.dblink_connect(text) TO steward;},
	q{GRANT SELECT ON clinical.other TO steward;},
	q{GRANT CREATE ON SCHEMA public TO steward;});
$_->safe_psql('postgres', $sinks) for @nodes;

# the catalogue must not be vacuous: a normal joint query works, and the
# file-writing attacks aim at a directory the servers could write to
my %start_time = map { $_ => $node{$_}->safe_psql('postgres', 'SELECT pg_postmaster_start_time()') } @names;
$q->safe_psql('postgres', "COPY (SELECT 1) TO '$tmp/control'");
ok(-f "$tmp/control", 'control: the servers can write files into the attacks\' target directory');

my $total_rows = 0;
$total_rows += @{ $rows{$_} } for @names;
is($q->safe_psql('postgres', 'SELECT smpc_count(*) FROM federation.admissions'),
	$total_rows, 'control: a normal joint query counts the union');

# --- the catalogue ------------------------------------------------------------
# [category, name, sql, SQLSTATE, regex of the member's message (after
# `member "name": `), regex of its detail or undef, audit outcome (default
# 'refused')]. Every attack goes to both members; the querying node re-raises
# the first member's error.
my $base = 'SELECT count(*) FROM admissions';
my $dbl = 'host=127.0.0.1 port=' . $q->port
  . " dbname=postgres user=smpc_peer password=$peer_pw";
my $mb = "$base WHERE " . ('age > 1 AND ' x 87381) . 'true';
$mb .= ' ' x (1048576 - length $mb);
my $nested = "$base WHERE " . ('(' x 10000) . 'age > 1' . (')' x 10000);
my $not5000 = "$base WHERE " . ('NOT ' x 5000) . 'age > 1';
my $not15000 = "$base WHERE " . ('NOT ' x 15000) . 'age > 1';
# 10915 chained additions, padded to exactly 64 KiB
my $plus64k = 'SELECT sum(' . ('age + ' x 10915) . 'age) FROM admissions';
$plus64k .= ' ' x (65536 - length $plus64k);
my $brackets = "$base WHERE age = ANY (" . ('ARRAY[' x 200) . '1' . (']' x 200) . ')';

my $not_allowed_builtin = qr/only built-in immutable functions and operators may be used/;
my $only_builtin_names = qr/^Only built-in objects may be used; a name may be qualified only with schema pg_catalog\.$/;

my @catalogue = (
	# -- volatile, stable and side-effecting functions
	[ 'volatile functions', 'pg_sleep', "$base WHERE pg_sleep(30) IS NULL",
		'42S01', qr/^function pg_sleep\(double precision\) is not allowed in a dataset query$/,
		qr/^Function pg_sleep\(double precision\) is volatile; / ],
	[ 'volatile functions', 'random', 'SELECT sum(random()) FROM admissions',
		'42S01', qr/^function random\(\) is not allowed in a dataset query$/, qr/is volatile/ ],
	[ 'volatile functions', 'nextval of the sink sequence',
		q{SELECT sum(nextval('public.sink_seq')) FROM admissions},
		'42S01', qr/^function nextval\(regclass\) is not allowed in a dataset query$/, qr/is volatile/ ],
	[ 'volatile functions', 'setval of the sink sequence',
		q{SELECT sum(setval('public.sink_seq', 100)) FROM admissions},
		'42S01', qr/^function setval\(regclass,bigint\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'set_config',
		q{SELECT count(set_config('search_path', 'public', false)) FROM admissions},
		'42S01', qr/^function set_config\(text,text,boolean\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'pg_terminate_backend',
		"$base WHERE pg_terminate_backend(pg_backend_pid())",
		'42S01', qr/^function pg_terminate_backend\(integer,bigint\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'advisory lock', "$base WHERE pg_try_advisory_lock(1)",
		'42S01', qr/^function pg_try_advisory_lock\(bigint\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'pg_notify', qq{$base WHERE pg_notify('evil', 'x') IS NULL},
		'42S01', qr/^function pg_notify\(text,text\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'pg_reload_conf', "$base WHERE pg_reload_conf()",
		'42S01', qr/^function pg_reload_conf\(\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'txid_current', 'SELECT sum(txid_current()) FROM admissions',
		'42S01', qr/^function txid_current\(\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'now (stable)', qq{$base WHERE now() > '2020-01-01'},
		'42S01', qr/^function now\(\) is not allowed in a dataset query$/, qr/is stable/ ],
	[ 'volatile functions', 'current_user', qq{$base WHERE current_user = 'postgres'},
		'42S01', qr/^current_user is not allowed in a dataset query$/, qr/depends on the session/ ],
	[ 'volatile functions', 'current_setting',
		qq{$base WHERE current_setting('is_superuser') = 'on'},
		'42S01', qr/^function current_setting\(text\) is not allowed in a dataset query$/ ],
	[ 'volatile functions', 'public.evil()', "$base WHERE public.evil()",
		'42S01', qr/^function "public\.evil" is not allowed in a dataset query$/, $only_builtin_names ],
	[ 'volatile functions', 'a user function placed in pg_catalog', "$base WHERE pg_catalog.evil_in_catalog()",
		'42S01', qr/^function evil_in_catalog\(\) is not allowed in a dataset query$/, qr/is not built-in; / ],

	# -- file and network access
	[ 'files and network', 'pg_read_file', q{SELECT count(pg_read_file('/etc/passwd')) FROM admissions},
		'42S01', qr/^function pg_read_file\(text\) is not allowed in a dataset query$/ ],
	[ 'files and network', 'pg_stat_file', q{SELECT count(pg_stat_file('/etc/passwd')) FROM admissions},
		'42S01', qr/^function pg_stat_file\(text\) is not allowed in a dataset query$/ ],
	[ 'files and network', 'lo_import', q{SELECT count(lo_import('/etc/passwd')) FROM admissions},
		'42S01', qr/^function lo_import\(text\) is not allowed in a dataset query$/ ],
	[ 'files and network', 'lo_export into a file',
		qq{SELECT count(lo_export(lo_from_bytea(0, 'x'), '$tmp/lo_export')) FROM admissions},
		'42S01', qr/^function lo_export\(oid,text\) is not allowed in a dataset query$/ ],
	[ 'files and network', 'pg_file_write (adminpack, in pg_catalog)',
		qq{SELECT count(pg_file_write('$tmp/pg_file_write', 'x', false)) FROM admissions},
		'42S01', qr/^function pg_file_write\(text,text,boolean\) is not allowed in a dataset query$/,
		qr/is not built-in; / ],
	[ 'files and network', 'COPY TO PROGRAM', qq{COPY (SELECT 1) TO PROGRAM 'touch $tmp/copy_program'},
		'42S01', qr/^COPY statements are not allowed as dataset queries$/ ],
	[ 'files and network', 'COPY TO a file', qq{COPY clinical.adm TO '$tmp/copy_file'},
		'42S01', qr/^COPY statements are not allowed as dataset queries$/ ],
	[ 'files and network', 'dblink_exec writing the sink over a connection',
		qq{SELECT count(ext.dblink_exec('$dbl', 'INSERT INTO public.sink VALUES (''dblink'')')) FROM admissions},
		'42S01', qr/^function "ext\.dblink_exec" is not allowed in a dataset query$/, $only_builtin_names ],
	# not on the member's search_path: PostgreSQL's parse analysis fails
	# ('failed', see the search_path shadowing attacks below)
	[ 'files and network', 'dblink_connect unqualified', qq{$base WHERE dblink_connect('$dbl') = 'OK'},
		'42883', qr/^function dblink_connect\(unknown\) does not exist$/, undef, 'failed' ],
	[ 'files and network', 'inet_server_port', "$base WHERE inet_server_port() > 0",
		'42S01', qr/^function inet_server_port\(\) is not allowed in a dataset query$/ ],

	# -- subqueries and other relations
	[ 'subqueries and relations', 'scalar subquery', "$base WHERE age > (SELECT 1)",
		'42S01', qr/^dataset queries may not contain subqueries$/ ],
	[ 'subqueries and relations', 'EXISTS over another table',
		"$base WHERE EXISTS (SELECT 1 FROM clinical.other)",
		'42S01', qr/^dataset queries may not contain subqueries$/ ],
	[ 'subqueries and relations', 'the local relation itself', 'SELECT count(*) FROM clinical.adm',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/,
		qr/^The query reads "clinical\.adm"\.$/ ],
	[ 'subqueries and relations', 'another table next to the dataset',
		'SELECT count(*) FROM admissions, clinical.other',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/,
		qr/^The query reads "clinical\.other"\.$/ ],
	[ 'subqueries and relations', 'self join', 'SELECT count(*) FROM admissions JOIN admissions b USING (age)',
		'42S01', qr/^dataset queries may not contain joins$/ ],
	[ 'subqueries and relations', 'subquery in FROM', 'SELECT count(*) FROM (SELECT * FROM clinical.adm) s',
		'42S01', qr/^dataset queries may not contain subqueries$/ ],
	[ 'subqueries and relations', 'a function in FROM', 'SELECT count(*) FROM admissions, public.evil_srf()',
		'42S01', qr/^dataset queries may not read from functions$/ ],
	[ 'subqueries and relations', 'UNION with another table',
		'SELECT count(*) FROM admissions UNION ALL SELECT count(*) FROM clinical.other',
		'42S01', qr/^dataset queries may not contain UNION, INTERSECT or EXCEPT$/ ],
	[ 'subqueries and relations', 'data-modifying CTE',
		q{WITH w AS (INSERT INTO public.sink VALUES ('cte') RETURNING 1) SELECT count(*) FROM admissions},
		'42S01', qr/^dataset queries may not contain WITH clauses$/ ],
	[ 'subqueries and relations', 'raw rows', 'SELECT age FROM admissions',
		'42S01', qr/^dataset queries must aggregate$/ ],
	[ 'subqueries and relations', 'an aggregate that reveals a row', 'SELECT max(age) FROM admissions',
		'42S01', qr/^aggregate max\(integer\) is not allowed in a dataset query$/ ],

	# -- system catalogs
	[ 'system catalogs', 'pg_authid', 'SELECT count(*) FROM pg_authid',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/, qr/^The query reads "pg_authid"\.$/ ],
	[ 'system catalogs', 'pg_catalog.pg_shadow', 'SELECT count(*) FROM pg_catalog.pg_shadow',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/,
		qr/^The query reads "pg_catalog\.pg_shadow"\.$/ ],
	[ 'system catalogs', 'the audit log', 'SELECT count(*) FROM smpc.audit_log',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/,
		qr/^The query reads "smpc\.audit_log"\.$/ ],
	[ 'system catalogs', 'information_schema', 'SELECT count(*) FROM information_schema.tables',
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/ ],
	[ 'system catalogs', 'a catalog in a subquery', "$base WHERE EXISTS (SELECT 1 FROM pg_authid WHERE rolsuper)",
		'42S01', qr/^dataset queries may not contain subqueries$/ ],
	[ 'system catalogs', 'regclass lookup', qq{$base WHERE 'pg_authid'::regclass::oid > 0},
		'42S01', qr/^type regclass is not allowed in a dataset query$/,
		qr/^Object identifier types look up the system catalogs\.$/ ],
	[ 'system catalogs', 'regrole lookup', qq{$base WHERE age::oid::regrole IS NOT NULL},
		'42S01', qr/^type regrole is not allowed in a dataset query$/ ],
	[ 'system catalogs', 'has_table_privilege', qq{$base WHERE has_table_privilege('clinical.adm', 'SELECT')},
		'42S01', qr/^function has_table_privilege\(text,text\) is not allowed in a dataset query$/ ],
	[ 'system catalogs', 'pg_get_userbyid', qq{$base WHERE pg_get_userbyid(10) = 'postgres'},
		'42S01', qr/^function pg_get_userbyid\(oid\) is not allowed in a dataset query$/ ],

	# -- unpublished columns
	[ 'unpublished columns', 'counting an unpublished column', 'SELECT count(secret) FROM admissions',
		'42S01', qr/^column "secret" of dataset "admissions" is not published$/ ],
	[ 'unpublished columns', 'an unpublished column as an oracle', qq{$base WHERE secret LIKE 'secret-c%'},
		'42S01', qr/^column "secret" of dataset "admissions" is not published$/ ],
	[ 'unpublished columns', 'dataset-qualified', qq{SELECT sum(length(admissions.secret)) FROM admissions},
		'42S01', qr/^column "secret" of dataset "admissions" is not published$/ ],
	[ 'unpublished columns', 'a column that does not exist (same answer)', 'SELECT count(nope) FROM admissions',
		'42S01', qr/^column "nope" of dataset "admissions" is not published$/ ],
	[ 'unpublished columns', 'qualified with the local relation', qq{$base WHERE adm.secret = 'x'},
		'42S01', qr/^column reference "adm\.secret" is not allowed in a dataset query$/ ],
	[ 'unpublished columns', 'system column', 'SELECT count(ctid) FROM admissions',
		'42S01', qr/^system column "ctid" is not allowed in a dataset query$/ ],
	[ 'unpublished columns', 'whole row', 'SELECT count(admissions) FROM admissions',
		'42S01', qr/^whole-row reference to dataset "admissions" is not allowed$/ ],
	[ 'unpublished columns', 'star', 'SELECT count(admissions.*) FROM admissions',
		'42S01', qr/^"\*" is not allowed in a dataset query$/ ],
	[ 'unpublished columns', 'grouping by a column that is not a group key',
		'SELECT count(*) FROM admissions GROUP BY age',
		'42S01', qr/^column "age" of dataset "admissions" is not a group key$/ ],

	# -- casts and operators that call non-built-in functions
	[ 'casts and operators', 'a user cast (integer AS date)', 'SELECT count(age::date) FROM admissions',
		'42S01', qr/^function public\.evil_cast\(integer\) is not allowed in a dataset query$/,
		qr/is not built-in; / ],
	[ 'casts and operators', 'an implicit user cast (integer AS point)',
		qq{$base WHERE age <\@ box '((0,0),(200,200))'},
		'42S01', qr/^function public\.evil_point\(integer\) is not allowed in a dataset query$/,
		qr/is not built-in; / ],
	[ 'casts and operators', 'a user operator in pg_catalog', qq{$base WHERE age = 'x'::text},
		'42S01', qr/^operator =\(integer,text\) is not allowed in a dataset query$/,
		qr/^Its function public\.evil_eq_text\(integer,text\) is not built-in; / ],
	[ 'casts and operators', 'a user domain in pg_catalog', 'SELECT count(age::evild) FROM admissions',
		'42S01', qr/^dataset queries may not contain domain coercions$/ ],
	[ 'casts and operators', 'a qualified user domain', qq{$base WHERE CAST(ward AS public.evilt) IS NULL},
		'42S01', qr/^type "public\.evilt" is not allowed in a dataset query$/, $only_builtin_names ],
	[ 'casts and operators', 'a qualified user operator', "$base WHERE age OPERATOR(public.===) 1",
		'42S01', qr/^operator "public\.===" is not allowed in a dataset query$/, $only_builtin_names ],
	[ 'casts and operators', 'a user collation in pg_catalog', qq{$base WHERE ward COLLATE evilc > 'a'},
		'42S01', qr/^collation "evilc" is not allowed in a dataset query$/ ],

	# -- user objects shadowing built-ins via search_path
	[ 'search_path shadowing', 'public.lower', 'SELECT count(public.lower(ward)) FROM admissions',
		'42S01', qr/^function "public\.lower" is not allowed in a dataset query$/, $only_builtin_names ],
	[ 'search_path shadowing', 'pg_temp.lower', 'SELECT count(pg_temp.lower(ward)) FROM admissions',
		'42S01', qr/^function "pg_temp\.lower" is not allowed in a dataset query$/ ],
	[ 'search_path shadowing', 'a user overload of lower in pg_catalog', 'SELECT count(lower(age)) FROM admissions',
		'42S01', qr/^function lower\(integer\) is not allowed in a dataset query$/, qr/is not built-in; / ],
	[ 'search_path shadowing', 'SET search_path', 'SET search_path = public, pg_catalog',
		'42S01', qr/^SET statements are not allowed as dataset queries$/ ],
	[ 'search_path shadowing', 'set_config of search_path next to a shadowed name',
		qq{$base WHERE set_config('search_path', 'public, pg_catalog', true) <> '' AND lower(ward) = 'pwned'},
		'42S01', qr/^function set_config\(text,text,boolean\) is not allowed in a dataset query$/ ],
	# not visible with search_path "pg_catalog, pg_temp": PostgreSQL's own
	# parse analysis fails, so the member records 'failed' (not a policy
	# refusal: session.c records 42S01 and class 28 as 'refused')
	[ 'search_path shadowing', 'unqualified public function', "$base WHERE evil()",
		'42883', qr/^function evil\(\) does not exist$/, undef, 'failed' ],
	[ 'search_path shadowing', 'unqualified public operator', "$base WHERE age === 1",
		'42883', qr/^operator does not exist: integer === integer$/, undef, 'failed' ],
	[ 'search_path shadowing', 'unqualified public domain', qq{$base WHERE ward = 'x'::evilt},
		'42704', qr/^type "evilt" does not exist$/, undef, 'failed' ],
	[ 'search_path shadowing', 'qualified public collation', qq{$base WHERE ward COLLATE public.evilc > 'a'},
		'42S01', qr/^collation "public\.evilc" is not allowed in a dataset query$/ ],

	# -- huge and deeply nested expressions
	# (the protocol carries at most 64 KiB of SQL: 1 MB is tried below)
	[ 'size and nesting', 'a 64 KiB expression, at the protocol\'s limit', $plus64k,
		'42S01', qr/^dataset query is nested too deeply$/ ],
	[ 'size and nesting', '10000 nested parentheses', $nested,
		'42S01', qr/^dataset query is nested too deeply$/,
		qr/^Expressions may be nested at most 100 levels deep\.$/ ],
	[ 'size and nesting', '200 nested array brackets', $brackets,
		'42S01', qr/^dataset query is nested too deeply$/ ],
	[ 'size and nesting', '5000 nested NOT', $not5000,
		'42S01', qr/^dataset query is nested too deeply$/ ],
	# beyond the grammar's own stack: the parser's error, not a crash
	[ 'size and nesting', '15000 nested NOT (beyond the parser stack)', $not15000,
		'42601', qr/^memory exhausted/, undef, 'failed' ],

	# -- injection attempts in names and text
	[ 'injection', 'quoted dataset name with a statement',
		q{SELECT count(*) FROM "admissions""; DROP TABLE clinical.adm; --"},
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/,
		qr/^The query reads "admissions"; DROP TABLE clinical\.adm; --"\.$/ ],
	[ 'injection', 'two statements', "$base; DROP TABLE clinical.adm",
		'42S01', qr/^a dataset query must be exactly one statement$/,
		qr/^The text contains 2 statements\.$/ ],
	[ 'injection', 'stacked INSERT into the sink', qq{$base; INSERT INTO public.sink VALUES ('stacked')},
		'42S01', qr/^a dataset query must be exactly one statement$/ ],
	[ 'injection', 'statement after a line comment', "$base -- comment\n; DELETE FROM clinical.adm",
		'42S01', qr/^a dataset query must be exactly one statement$/ ],
	[ 'injection', 'statement after a block comment', qq{$base /* "' */; SELECT public.evil()},
		'42S01', qr/^a dataset query must be exactly one statement$/ ],
	[ 'injection', 'quoted column name with a statement',
		q{SELECT count("age""); DELETE FROM clinical.adm; --") FROM admissions},
		'42S01', qr/^column "age"\); DELETE FROM clinical\.adm; --" of dataset "admissions" is not published$/ ],
	[ 'injection', 'Unicode-escaped dataset name', q{SELECT count(*) FROM U&"adm\0069ssions"},
		'42S01', qr/^dataset name must be written as a plain or double-quoted identifier$/ ],
	[ 'injection', 'homoglyph dataset name', "SELECT count(*) FROM \xd0\xb0dmissions",
		'42S01', qr/^dataset queries may reference only dataset "admissions"$/ ],
	[ 'injection', 'unterminated quoted string', qq{$base WHERE ward = 'x},
		'42601', qr/^unterminated quoted string at or near "'x"$/, undef, 'failed' ],

	# -- statements other than one SELECT
	[ 'statements', 'INSERT', q{INSERT INTO public.sink VALUES ('insert')},
		'42S01', qr/^INSERT statements are not allowed as dataset queries$/ ],
	[ 'statements', 'UPDATE', 'UPDATE admissions SET age = 0',
		'42S01', qr/^UPDATE statements are not allowed as dataset queries$/ ],
	[ 'statements', 'DELETE', 'DELETE FROM clinical.adm',
		'42S01', qr/^DELETE statements are not allowed as dataset queries$/ ],
	[ 'statements', 'TRUNCATE', 'TRUNCATE clinical.adm',
		'42S01', qr/^TRUNCATE TABLE statements are not allowed as dataset queries$/ ],
	[ 'statements', 'DO', q{DO $$BEGIN INSERT INTO public.sink VALUES ('do'); END$$},
		'42S01', qr/^DO statements are not allowed as dataset queries$/ ],
	[ 'statements', 'CALL', 'CALL public.evil_proc()',
		'42S01', qr/^CALL statements are not allowed as dataset queries$/ ],
	[ 'statements', 'CREATE TABLE AS', 'CREATE TABLE public.stolen AS SELECT * FROM clinical.adm',
		'42S01', qr/^CREATE TABLE AS statements are not allowed as dataset queries$/ ],
	[ 'statements', 'SELECT INTO', 'SELECT count(*) INTO public.stolen FROM admissions',
		'42S01', qr/^dataset queries may not contain INTO$/ ],
	[ 'statements', 'FOR UPDATE', "$base FOR UPDATE",
		'42S01', qr/^dataset queries may not lock rows$/ ],
	[ 'statements', 'EXPLAIN ANALYZE', 'EXPLAIN ANALYZE SELECT public.evil()',
		'42S01', qr/^EXPLAIN statements are not allowed as dataset queries$/ ],
	[ 'statements', 'parameter', "$base WHERE age > \$1",
		'42S01', qr/^parameter \$1 is not allowed in a dataset query$/ ],
);

sub q_literal { my $s = shift; $s =~ s/'/''/g; return "'$s'"; }

sub audit_count
{
	my ($name) = @_;
	return $node{$name}->safe_psql('postgres', 'SELECT count(*) FROM smpc.audit_log');
}

# The joint query at the querying node with $sql sent to the members.
sub joint_with
{
	my ($sql, $query) = @_;
	my ($rc, $out, $err) = $q->psql('postgres',
		"\\set VERBOSITY verbose\nSET smpc_fault.dataset_sql = " . q_literal($sql) . ";\n"
		  . ($query // 'SELECT smpc_count(*) FROM federation.admissions') . ";\n");
	my %r = (rc => $rc, out => $out, err => $err);
	@r{qw(sqlstate member message)} = $err =~ /ERROR:  ([0-9A-Z]{5}): member "([^"]+)": (.*)$/m;
	($r{detail}) = $err =~ /^DETAIL:  (.*)$/m;
	return \%r;
}

# the last record of a member's audit log: count, outcome, md5 of
# dataset_sql and error, one per line
sub last_record
{
	my ($name) = @_;
	return $node{$name}->safe_psql('postgres', q{
		SELECT count(*) || E'\n' ||
		       (SELECT outcome || E'\n' || md5(dataset_sql) || E'\n' || coalesce(error, '<none>')
		          FROM smpc.audit_log WHERE node_role = 'member' ORDER BY audit_id DESC LIMIT 1)
		  FROM smpc.audit_log});
}

my %per_category;
my %seen_sql;
for my $a (@catalogue)
{
	my ($cat, $name, $sql, $state, $msg, $detail, $outcome) = @$a;
	$outcome //= 'refused';
	$per_category{$cat}++;
	ok(!$seen_sql{$sql}++, "$cat: $name: a distinct attack");
	my %before = map { $_ => audit_count($_) } @members;

	my $r = joint_with($sql);
	ok($r->{rc} != 0 && $r->{out} eq '', "$cat: $name: the joint query fails")
	  or diag("rc $r->{rc}, stdout: $r->{out}\nstderr: $r->{err}");
	is($r->{sqlstate}, $state, "$cat: $name: SQLSTATE $state from a member")
	  or diag("stderr: " . substr($r->{err}, 0, 2000));
	like($r->{message} // '', $msg, "$cat: $name: message");
	like($r->{detail} // '', $detail, "$cat: $name: detail") if $detail;

	# every member refused it and recorded exactly that, with the attack SQL
	for my $m (@members)
	{
		$node{$m}->poll_query_until('postgres',
			"SELECT count(*) > $before{$m} FROM smpc.audit_log")
		  or diag("$m: no new audit record");
		is(last_record($m),
			join("\n", $before{$m} + 1, $outcome, md5_hex($sql), $r->{message} // '?'),
			"$cat: $name: $m recorded one '$outcome' record with the attack SQL and the error");
	}
}
cmp_ok(scalar(@catalogue), '>=', 40, 'at least 40 attacks');
note(sprintf('%d attacks: %s', scalar(@catalogue),
		join(', ', map { "$_ $per_category{$_}" } sort keys %per_category)));

# --- a 1 MB expression --------------------------------------------------------
# The protocol carries at most 64 KiB of dataset SQL (SMPC_MAX_SQL_LEN).
# (a) The querying node's encoder will not send more: nothing reaches the
# members.
{
	my %before = map { $_ => audit_count($_) } @members;
	my $r = joint_with($mb);
	ok($r->{rc} != 0 && $r->{out} eq '', '1 MB expression: the joint query fails');
	like($r->{err}, qr/ERROR:  08P01: could not encode the prepare request/,
		'1 MB expression: the querying node refuses to encode it (08P01)');
	is(audit_count($_), $before{$_}, "1 MB expression: nothing reached $_") for @members;
}

# (b) A querying node running other software could still send it: a PREPARE
# built here, signed with the querying node's key (smpc_fault_request), and
# handed straight to a member's smpc.exchange. A control with ordinary
# hostile SQL in the same body shows that the body is otherwise well-formed.
$q->safe_psql('postgres', q{
	CREATE FUNCTION smpc_fault_request(member text, federation text, type text,
	    session_id bytea, body bytea) RETURNS bytea AS 'smpc_fault' LANGUAGE C STRICT});
sub sign_pk
{
	my ($text) = @_;
	(my $b64 = substr($text, 6)) =~ tr{-_}{+/};
	return substr(MIME::Base64::decode_base64($b64 . '=='), 0, 32);
}
sub crafted_prepare
{
	my ($member, $sid, $sql, $length) = @_;
	$length //= 0;
	# threshold 1, parties (the querying node first), dataset, sql, one INT
	# value, no revealed keys, one group of no columns
	my $body = pack('C v', 1, scalar @names)
	  . join('', map { sign_pk($fed->{keys}{$_}) } $qname, @members)
	  . pack('V/a* V/a*', 'admissions', $sql)
	  . pack('v CC V C V v', 1, 1, 0, $length, 0, 1, 0);
	my $req = $q->safe_psql('postgres',
		"SELECT encode(smpc_fault_request('$member', 'research', 'prepare', '\\x$sid', '\\x"
		  . unpack('H*', $body) . "'), 'hex')");
	# smpc.exchange runs only as a statement of its own; psql prints bytea as \x<hex>
	my $answer = $node{$member}->safe_psql('postgres',
		"SELECT smpc.exchange('\\x$req')");
	$answer =~ s/^\\x//;
	return pack('H*', $answer);
}
{
	my $m = $members[0];
	my $before = audit_count($m);
	my $sql = 'SELECT count(secret) FROM admissions';
	my $answer = crafted_prepare($m, '00112233445566778899aabbccddee01', $sql);
	like($answer, qr/42S01.*column "secret" of dataset "admissions" is not published/s,
		"crafted PREPARE, control: $m answers with its policy refusal");
	is(last_record($m),
		join("\n", $before + 1, 'refused', md5_hex($sql),
			'column "secret" of dataset "admissions" is not published'),
		"crafted PREPARE, control: $m recorded the refusal");

	$answer = crafted_prepare($m, '00112233445566778899aabbccddee02', $mb);
	like($answer, qr/08P01.*malformed prepare request: /s,
		"1 MB expression in a crafted PREPARE: $m refuses it as malformed (08P01)");
	my ($why) = $answer =~ /(malformed prepare request: [ -~]*)/;
	note("$m: $why") if $why;
	is($node{$m}->safe_psql('postgres', q{
		SELECT count(*) || ' ' || outcome || ' ' || (dataset_sql IS NULL) || ' ' || error
		  FROM smpc.audit_log WHERE session_id = '\x00112233445566778899aabbccddee02'
		 GROUP BY outcome, dataset_sql, error}),
		"1 failed true $why", "1 MB expression in a crafted PREPARE: $m recorded one failed session");
	is($node{$m}->safe_psql('postgres', 'SELECT count(*) FROM smpc.audit_log'), $before + 2,
		"crafted PREPAREs: $m recorded exactly two sessions");
}

# a request that calls a scalar a vector, or asks for a vector too long
{
	my $m = $members[0];
	my $before = audit_count($m);
	my $answer = crafted_prepare($m, '00112233445566778899aabbccddee03',
		'SELECT count(*) FROM admissions', 5);
	like($answer, qr/42804.*value column 1 of the dataset query has type bigint, not an array/s,
		"crafted PREPARE calling count(*) a vector of 5: $m refuses it (42804) instead of reading an integer as an array");
	$answer = crafted_prepare($m, '00112233445566778899aabbccddee04',
		'SELECT count(*) FROM admissions', 1048577);
	like($answer, qr/08P01.*malformed prepare request/s,
		"crafted PREPARE with a vector of 1048577 elements: $m refuses it as malformed (08P01)");
	is($node{$m}->safe_psql('postgres', 'SELECT count(*) FROM smpc.audit_log'), $before + 2,
		"crafted vector PREPAREs: $m recorded both");
	is($node{$m}->safe_psql('postgres', 'SELECT 1'), '1', "$m still answers");
}

# the members still answer
is($q->safe_psql('postgres', 'SELECT smpc_count(*) FROM federation.admissions'),
	$total_rows, 'after the size and nesting attacks: a normal joint query counts the union');

# --- nothing ran --------------------------------------------------------------
# member backends flush their function statistics when they exit: wait
# until every connection the querying node's sessions opened is gone
for my $n (@names)
{
	ok($node{$n}->poll_query_until('postgres',
			q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'smpc_peer'}),
		"$n: the peer connections of the attacks have ended");
}

# calls of any function that is not built-in, other than smpc's own, the
# canary (below) and the test's signing tool smpc_fault_request
my $evil_calls = q{
	SELECT coalesce(string_agg(schemaname || '.' || funcname || ' ' || calls, ', '
	                           ORDER BY schemaname, funcname), '<none>')
	  FROM pg_stat_user_functions
	 WHERE funcname NOT IN ('canary', 'smpc_fault_request')
	   AND funcid NOT IN (SELECT objid FROM pg_depend
	                       WHERE classid = 'pg_proc'::regclass
	                         AND refclassid = 'pg_extension'::regclass
	                         AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'smpc'))};
for my $n (@names)
{
	my $node = $node{$n};
	is($node->safe_psql('postgres', 'SELECT count(*) FROM public.sink'), '0', "$n: the sink table is empty");
	is($node->safe_psql('postgres', 'SELECT is_called FROM public.sink_seq'), 'f',
		"$n: the sink sequence was never called");
	is($node->safe_psql('postgres', $evil_calls), '<none>',
		"$n: pg_stat_user_functions counts no call of a user function");
	is($node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM clinical.adm) || ' ' || (SELECT count(*) FROM clinical.other)
		       || ' ' || (to_regclass('public.stolen') IS NULL)}),
		scalar(@{ $rows{$n} }) . ' 1 true', "$n: the data is intact, nothing was created");
	is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time{$n},
		"$n: the server did not restart");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_largeobject_metadata'), '0',
		"$n: no large object was created");
	# the counting works: one call of the canary shows up
	$node->safe_psql('postgres', 'SELECT public.canary()');
	ok($node->poll_query_until('postgres',
			q{SELECT calls = 1 FROM pg_stat_user_functions WHERE funcname = 'canary'}),
		"$n: control: a call of a user function is counted");
}
for my $f (qw(lo_export pg_file_write copy_program copy_file))
{
	ok(!-e "$tmp/$f", "no file $f was written");
}

# --- accepted: unqualified names resolve to the built-ins ----------------------
# public.lower would answer 'pwned' (and write the sink): the members'
# counts would then be 0
{
	my $sql = q{SELECT count(lower(ward)) FROM admissions WHERE lower(ward) <> 'pwned' AND round(age) >= 0};
	my %before = map { $_ => audit_count($_) } @members;
	my $r = joint_with($sql);
	is($r->{rc}, 0, 'shadowed names unqualified: the joint query succeeds')
	  or diag($r->{err});
	is($r->{out}, $total_rows, 'shadowed names unqualified: the members ran the built-in lower and round');
	for my $m (@members)
	{
		$node{$m}->poll_query_until('postgres', "SELECT count(*) > $before{$m} FROM smpc.audit_log");
		is(last_record($m), join("\n", $before{$m} + 1, 'success', md5_hex($sql), '<none>'),
			"shadowed names unqualified: $m recorded a success with that SQL");
	}
	for my $n (@names)
	{
		is($node{$n}->safe_psql('postgres', 'SELECT count(*) FROM public.sink'), '0',
			"shadowed names unqualified: $n: the sink is still empty");
	}
}

# --- normal joint queries still work and match the plaintext union -------------
$q->safe_psql('postgres', 'CREATE SCHEMA plain; CREATE TABLE plain.adm (LIKE clinical.adm); '
	  . 'INSERT INTO plain.adm VALUES ' . values_sql([ map { @{ $rows{$_} } } @names ]));
for my $at (@names)
{
	is($node{$at}->safe_psql('postgres', q{
		SELECT ward, smpc_count(*), smpc_sum(age), smpc_sum(los), smpc_avg(age)
		  FROM federation.admissions GROUP BY ward ORDER BY ward}),
		$q->safe_psql('postgres', q{
		SELECT ward, count(*), sum(age), sum(los), avg(age)
		  FROM plain.adm GROUP BY ward ORDER BY ward}),
		"after the catalogue: a grouped joint query at $at equals the plaintext union");
}
is($q->safe_psql('postgres', q{
	SELECT smpc_count(*), smpc_sum(los) FROM federation.admissions WHERE age > 40 AND ward = 'b'}),
	$q->safe_psql('postgres', q{SELECT count(*), sum(los) FROM plain.adm WHERE age > 40 AND ward = 'b'}),
	'after the catalogue: a joint query with WHERE equals the plaintext union');

done_testing();
