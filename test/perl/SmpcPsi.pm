# SmpcPsi.pm -- helpers of the private set intersection TAP test
# (011_intersect.pl): random key sets with a planted overlap, the plaintext
# intersection computed from every party's own table, error and audit
# checks.
#
#   my %sets = SmpcPsi::planted_sets(\@parties, $gen, core => 700,
#                 pair => { 'alpha,beta' => 250, ... }, private => { alpha => 1800, ... });
#   my $n = SmpcPsi::plain_count(\@nodes, 'lab.people', 'k_int', "region = 'EU'");
#   my $r = SmpcPsi::run_at($node, $sql);         # rc, out, err, sqlstate, message, detail
#   my $mark = SmpcPsi::audit_mark(\%node);
#   SmpcPsi::check_success_audit(\%node, $mark, ...);
package SmpcPsi;

use strict;
use warnings;

use Test::More;
use PostgreSQL::Test::Utils;

# --- random keys ---------------------------------------------------------------

sub pick { return $_[ int(rand(@_)) ]; }

sub shuffle
{
	my @a = @_;
	for (my $i = $#a; $i > 0; $i--)
	{
		my $j = int(rand($i + 1));
		@a[ $i, $j ] = @a[ $j, $i ];
	}
	return @a;
}

# generators of one fresh random key (as PostgreSQL prints it)
sub gen_int4 { return int(rand(4294967296)) - 2147483648; }
sub gen_int2 { return int(rand(65536)) - 32768; }

# bytes, not characters: UTF-8 sequences are written as bytes so that the
# keys compare the way the server stores them whatever the encoding
my @TEXT_ALPHABET = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', ' ', '-', '_', '.', "'", '"',
	"\xc3\xa9", "\xc3\x9f", "\xe6\x97\xa5", "\xf0\x9f\x99\x82");

sub gen_text
{
	my ($maxlen) = @_;
	return join('', map { pick(@TEXT_ALPHABET) } 1 .. 1 + int(rand($maxlen // 16)));
}

sub gen_word
{
	my ($maxlen) = @_;
	return join('', map { pick('a' .. 'z', '0' .. '9') } 1 .. 1 + int(rand($maxlen)));
}

sub gen_uuid
{
	return sprintf('%08x-%04x-%04x-%04x-%04x%08x',
		int(rand(4294967296)), int(rand(65536)), int(rand(65536)),
		int(rand(65536)), int(rand(65536)), int(rand(4294967296)));
}

# planted_sets(\@parties, $gen, core => N, pair => { 'a,b' => N },
#              private => { a => N }, extra => { part => [keys] })
# Distinct keys of one type for every party: a core every party holds,
# overlaps held by exactly the listed parties, and private keys.  $gen
# returns one fresh key; a code ref per part (keyed like extra) overrides
# it.  Keys in extra are planted first (they must be distinct).  Returns a
# hash: party => [its keys, shuffled], and _core => [the core keys].
sub planted_sets
{
	my ($parties, $gen, %o) = @_;
	my %seen;
	for my $k (map { @$_ } values %{ $o{extra} // {} })
	{
		die "planted key '$k' twice" if $seen{$k}++;
	}
	my %sets = map { $_ => [] } @$parties;
	my $fresh = sub {
		my ($part, $n) = @_;
		my @k = @{ $o{extra}{$part} // [] };
		my $g = $o{gen}{$part} // $gen;
		while (@k < $n)
		{
			my $v = $g->();
			push @k, $v unless $seen{$v}++;
		}
		return @k;
	};
	my @core = $fresh->('core', $o{core});
	push @{ $sets{$_} }, @core for @$parties;
	for my $pair (sort keys %{ $o{pair} // {} })
	{
		my @k = $fresh->($pair, $o{pair}{$pair});
		push @{ $sets{$_} }, @k for split /,/, $pair;
	}
	for my $p (@$parties)
	{
		push @{ $sets{$p} }, $fresh->($p, $o{private}{$p} // 0);
	}
	$sets{$_} = [ shuffle(@{ $sets{$_} }) ] for @$parties;
	$sets{_core} = \@core;
	return %sets;
}

# the number of keys common to every list (lists of distinct keys)
sub common_count
{
	my @lists = @_;
	my %c;
	for my $l (@lists)
	{
		my %once = map { $_ => 1 } @$l;
		$c{$_}++ for keys %once;
	}
	return scalar grep { $c{$_} == @lists } keys %c;
}

# COPY text format of rows (array refs, undef for NULL); keys never hold
# backslashes, tabs or newlines
sub copy_text
{
	my ($rows) = @_;
	return join('', map { join("\t", map { $_ // '\N' } @$_) . "\n" } @$rows);
}

# --- the plaintext -------------------------------------------------------------

# The distinct non-NULL values of $col in $rel at $node under $where, as
# text (a char(n) value without its padding), in a hash.
sub distinct_keys
{
	my ($node, $rel, $col, $where) = @_;
	my $w = defined $where ? "($where) AND " : '';
	my $out = $node->safe_psql('postgres',
		"SELECT DISTINCT '<' || $col\::text || '>' FROM $rel WHERE $w$col IS NOT NULL");
	my %k;
	for my $line (split /\n/, $out)
	{
		$line =~ /^<(.*)>$/s or die "distinct_keys: unexpected line '$line'";
		$k{$1} = 1;
	}
	return \%k;
}

# The plaintext answer: how many distinct non-NULL keys every one of
# @$nodes holds in its own $rel under $where.  In list context also the
# sizes of the parties' sets.
sub plain_count
{
	my ($nodes, $rel, $col, $where) = @_;
	my @sets = map { distinct_keys($_, $rel, $col, $where) } @$nodes;
	my $n = common_count(map { [ keys %$_ ] } @sets);
	return wantarray ? ($n, map { scalar keys %$_ } @sets) : $n;
}

# --- running queries -------------------------------------------------------------

# Run $sql at $node with verbose errors; a hash: rc, out, err, sqlstate,
# message, detail, hint.
sub run_at
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	my %r = (rc => $rc, out => $out, err => $err);
	if ($err =~ /^(?:psql:[^\n]*?)?ERROR:  ([0-9A-Z]{5}): (.*?)$/m)
	{
		($r{sqlstate}, $r{message}) = ($1, $2);
	}
	($r{detail}) = $err =~ /^DETAIL:  (.*)$/m;
	($r{hint}) = $err =~ /^HINT:  (.*)$/m;
	return \%r;
}

# --- audit ------------------------------------------------------------------------

# where every node's audit log stands: name => max(audit_id)
sub audit_mark
{
	my ($node) = @_;
	return { map { $_ => $node->{$_}->safe_psql('postgres',
				'SELECT coalesce(max(audit_id), 0) FROM smpc.audit_log') } keys %$node };
}

# The records of $node since $mark, as hashes.
sub audit_since
{
	my ($node, $mark) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SELECT node_role, outcome, encode(session_id, 'hex'), coalesce(initiator_node, ''),
		       coalesce(dataset, ''), coalesce(federation, ''), result_digest IS NOT NULL,
		       coalesce(array_to_string(participants, ','), ''),
		       coalesce(replace(error, E'\\n', ' '), '')
		  FROM smpc.audit_log WHERE audit_id > $mark ORDER BY audit_id});
	my @recs;
	for my $line (grep { length } split /\n/, $out)
	{
		my @f = split /\|/, $line, 9;
		push @recs, { role => $f[0], outcome => $f[1], session => $f[2], initiator => $f[3],
			dataset => $f[4], federation => $f[5], digest => $f[6] eq 't',
			participants => join(',', sort split /,/, $f[7]), error => $f[8] };
	}
	return \@recs;
}

sub format_recs
{
	my ($recs) = @_;
	return join('', map { "    $_->{role}|$_->{outcome}|$_->{initiator}|$_->{dataset}|"
			  . "$_->{federation}|digest=$_->{digest}|$_->{participants}|$_->{error}\n" } @$recs)
	  || "    (none)\n";
}

# After $nsessions successful intersections issued at $at over
# federation $fed with parties @$parties (names, $at among them) since
# $mark: the querying node has exactly one 'success' record per session,
# with a result digest; every other party exactly one 'success' record for
# each of those sessions, without a digest; nodes outside the federation
# none.
sub check_success_audit
{
	my ($node, $mark, %o) = @_;
	my ($at, $n, $label) = ($o{at}, $o{sessions} // 1, $o{label});
	my $parties = join(',', sort @{ $o{parties} });
	my $q = audit_since($node->{$at}, $mark->{$at});
	my @bad = grep {
		$_->{role} ne 'querying' || $_->{outcome} ne 'success' || !$_->{digest}
		  || $_->{dataset} ne $o{dataset} || $_->{federation} ne $o{federation}
		  || $_->{participants} ne $parties
	} @$q;
	ok(@$q == $n && !@bad,
		"$label: $at (querying) has $n new audit record(s): success with a result digest")
	  or diag("  records:\n" . format_recs($q));
	my %sessions = map { $_->{session} => 1 } @$q;
	for my $m (sort keys %$node)
	{
		next if $m eq $at;
		my $recs = audit_since($node->{$m}, $mark->{$m});
		if (!grep { $_ eq $m } @{ $o{parties} })
		{
			is(scalar @$recs, 0, "$label: $m (not in the federation) has no new audit record")
			  or diag("  records:\n" . format_recs($recs));
			next;
		}
		my @ok = grep {
			$_->{role} eq 'member' && $_->{outcome} eq 'success' && !$_->{digest}
			  && $_->{initiator} eq $at && $sessions{ $_->{session} }
			  && $_->{dataset} eq $o{dataset} && $_->{participants} eq $parties
		} @$recs;
		my %distinct = map { $_->{session} => 1 } @ok;
		ok(@$recs == $n && @ok == $n && keys %distinct == $n,
			"$label: $m (member) has one new audit record per session: success, no result digest")
		  or diag("  records:\n" . format_recs($recs));
	}
	return;
}

# No backend of the peer role is left on $node (polls: the querying
# backend's connections close when its session ends).
sub no_peer_backends
{
	my ($node, $label) = @_;
	my $ok = $node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE usename = 'smpc_peer'});
	ok($ok, "$label: no smpc.exchange backend left on " . $node->name)
	  or diag('  ' . $node->safe_psql('postgres',
			q{SELECT string_agg(pid || ' ' || state || ' ' || left(query, 60), '; ')
			    FROM pg_stat_activity WHERE usename = 'smpc_peer'}));
	return;
}

1;
