# SmpcOdbc.pm -- a BI client's view of smpc: ODBC through unixODBC and
# Debian's psqlODBC driver ("PostgreSQL Unicode" in /etc/odbcinst.ini),
# driven with DBD::ODBC.
#
#   my $dbh = odbc_connect($node, user => 'bi', password => 'pw');  # TCP
#   my $dbh = odbc_connect($node, user => 'postgres', socket => 1); # Unix socket
#   my $r = odbc_query($dbh, $sql, @binds);   # or odbc_execute($sth, @binds)
#     # { rows => [[...], ...], names, types, precision, scale, state, err, errstr }
package SmpcOdbc;

use strict;
use warnings;

use DBI;
use Exporter 'import';

our @EXPORT = qw(odbc_dsn odbc_connect odbc_query odbc_execute sort_rows);

our $DRIVER = 'PostgreSQL Unicode';

# The DSN-less connection string a BI tool would build.  Over TCP to
# 127.0.0.1 (password authentication, as configured by SmpcNode), or with
# socket => 1 over the node's Unix socket directory.  extra => { Key =>
# value } adds driver options.
sub odbc_dsn
{
	my ($node, %o) = @_;
	my $server = $o{socket} ? $node->host : '127.0.0.1';
	my $dsn = "dbi:ODBC:Driver={$DRIVER};Servername=$server;Port=" . $node->port
	  . ';Database=' . ($o{database} // 'postgres');
	$dsn .= ";$_=$o{extra}{$_}" for sort keys %{ $o{extra} // {} };
	return $dsn;
}

# A DBI handle, or undef with $DBI::errstr set.  PrintError/RaiseError are
# off: the tests look at err/state themselves.
sub odbc_connect
{
	my ($node, %o) = @_;
	return DBI->connect(odbc_dsn($node, %o), $o{user}, $o{password},
		{ PrintError => 0, RaiseError => 0, AutoCommit => $o{autocommit} // 1 });
}

# prepare + execute (with @binds; a bind given as [value, SQL type] is bound
# with that type) + fetch, the way a BI tool does it.  Returns a hash: rows
# (array refs, undef for NULL), names, types (ODBC SQL types), precision,
# scale, info (the diagnostics of SQL_SUCCESS_WITH_INFO: a server NOTICE);
# or on error state (SQLSTATE), err, errstr, and stage ('prepare',
# 'execute' or 'fetch').
sub odbc_query
{
	my ($dbh, $sql, @binds) = @_;
	my $sth = $dbh->prepare($sql)
	  or return { stage => 'prepare', state => $dbh->state, err => $dbh->err, errstr => $dbh->errstr };
	return odbc_execute($sth, @binds);
}

# execute + fetch of a prepared statement handle, as odbc_query.
sub odbc_execute
{
	my ($sth, @binds) = @_;
	my %r;
	my $fail = sub {
		@r{qw(stage state err errstr)} = ($_[0], $sth->state, $sth->err, $sth->errstr);
		return \%r;
	};
	for my $i (0 .. $#binds)
	{
		my $b = $binds[$i];
		$sth->bind_param($i + 1, ref $b ? @$b : $b) or return $fail->('bind');
	}
	$sth->execute or return $fail->('execute');
	# SQL_SUCCESS_WITH_INFO (a NOTICE, for psqlODBC): err is '' or '0'
	$r{info} = $sth->errstr if defined $sth->err;
	my %attr = (names => 'NAME', types => 'TYPE', precision => 'PRECISION', scale => 'SCALE');
	$r{$_} = [ @{ $sth->{ $attr{$_} } // [] } ] for keys %attr;
	$r{rows} = $sth->fetchall_arrayref;
	return $fail->('fetch') if $sth->err;
	return \%r;
}

# Rows sorted by their printed form, NULL first (for GROUP BY results a BI
# tool receives in no particular order).
sub sort_rows
{
	my ($rows) = @_;
	my $k = sub { join("\x01", map { defined $_ ? "v$_" : 'n' } @{ $_[0] }) };
	return [ sort { $k->($a) cmp $k->($b) } @$rows ];
}

1;
