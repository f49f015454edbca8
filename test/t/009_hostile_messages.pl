# Hostile messages at the member entry point smpc.exchange(bytea): replayed,
# stale, truncated, garbage, wrong-version, bit-flipped, wrongly addressed,
# oversized, wrong-federation, wrong-session and reordered requests, and
# calls of smpc.exchange that are not a statement of their own, are each
# refused with a specific SQLSTATE and message; after every class of attack
# the members still answer joint queries correctly (checked against the
# plaintext union), their audit logs hold exactly the records session.c
# writes for verified requests and nothing for refused ones, no server log
# shows a crash and no attacker backend is left active.
#
# Replays: the replay cache (src/replay.c) remembers only requests that
# start something -- PREPARE, PING, DESCRIBE -- and refuses them again as
# replayed (28S03).  A replayed SHARE, COMBINE, REVEAL or FINISH gets past
# it and is refused by the session state machine (src/session.c Dispatch)
# with a signed ERROR answer: "no joint session in progress" on any other
# connection, "unexpected X request: the session expects Y" on the
# connection holding its session.  Every type is still refused as stale
# outside smpc.max_clock_skew.
#
# Three nodes: "querier" runs the joint queries (party 1), "alpha" and
# "beta" are members.  The test-only module smpc_fault (test/modules)
# captures every signed request the querier sends (smpc_fault.capture_dir)
# and signs arbitrary requests as the querier (smpc_fault_request).  The
# attacks reach the members as the peer role smpc_peer over TCP, like the
# querier's own connections, and call smpc.exchange the way a member accepts
# it, "SELECT smpc.exchange('\x...'::bytea)" as a statement of its own
# outside a transaction block (src/member.c CalledAlone) -- except in the
# section checking that any other way is refused.
use strict;
use warnings;

use IPC::Run;
use List::Util qw(max);
use MIME::Base64 qw(encode_base64url);
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use SmpcNode;

my $seed = $ENV{SMPC_TEST_SEED};
$seed = (time() ^ ($$ << 8)) % 1000000007 unless defined $seed && length $seed;
srand($seed);
diag("random seed $seed (set SMPC_TEST_SEED=$seed to repeat)");

# --- wire format (src/core/codec.h) -------------------------------------------

my %TYPE = (prepare => 1, share => 2, combine => 3, reveal => 4, finish => 5,
	intersect => 6, hop => 7, response => 16, error => 17, ping => 32, describe => 33);
my %TYPENAME = reverse %TYPE;
my $DEFAULT_MAX = 64 * 1024 * 1024;    # smpc.max_message_size default
# header(8) session_id(16) round(1) timestamp(8) sender(32) recipient(32)
my $PAYLOAD_LEN_AT = 97;
my $PAYLOAD_AT = 101;
my $SIG_BYTES = 64;

sub hexof { return unpack('H*', $_[0]); }
sub rand_bytes { return join('', map { chr(int(rand(256))) } 1 .. $_[0]); }
sub wire_str { return pack('V', length $_[0]) . $_[0]; }

# A signed message split into its fields, or undef if it is not one.
sub parse_msg
{
	my ($m) = @_;
	return undef if length($m) < $PAYLOAD_AT + $SIG_BYTES;
	my %h;
	@h{qw(magic version type flags)} = unpack('a4 v C C', $m);
	$h{sid} = substr($m, 8, 16);
	$h{round} = ord(substr($m, 24, 1));
	$h{ts} = unpack('q<', substr($m, 25, 8));
	$h{sender} = substr($m, 33, 32);
	$h{recipient} = substr($m, 65, 32);
	my $plen = unpack('V', substr($m, $PAYLOAD_LEN_AT, 4));
	return undef if $PAYLOAD_AT + $plen + $SIG_BYTES != length($m);
	$h{payload} = substr($m, $PAYLOAD_AT, $plen);
	$h{sig} = substr($m, $PAYLOAD_AT + $plen);
	return \%h;
}

# Read one wire str at $$pos of $buf.
sub get_str
{
	my ($buf, $pos) = @_;
	my $n = unpack('V', substr($buf, $$pos, 4));
	my $s = substr($buf, $$pos + 4, $n);
	$$pos += 4 + $n;
	return $s;
}

# The body of a request: its payload after the request header
# (str federation, str initiator role).
sub request_body
{
	my ($m) = @_;
	my $p = parse_msg($m)->{payload};
	my $pos = 0;
	get_str($p, \$pos) for 1 .. 2;
	return substr($p, $pos);
}

# What smpc_msg_decode_signed says about $m with payloads up to $max bytes:
# 'ok', 'version N' or the core status message (src/core/status.c).
sub decode_verdict
{
	my ($m, $max) = @_;
	my $len = length $m;
	return 'message is truncated' if $len < 8;
	return 'message is malformed' if substr($m, 0, 4) ne 'SMPC';
	my ($v, $t, $f) = unpack('v C C', substr($m, 4, 4));
	return "version $v" if $v != 2;
	return 'message is malformed' if !$TYPENAME{$t} || $f != 0;
	return 'message is truncated' if $len < $PAYLOAD_AT;
	my $plen = unpack('V', substr($m, $PAYLOAD_LEN_AT, 4));
	return 'message exceeds size limit' if $plen > $max;
	return 'message is truncated' if $plen + $SIG_BYTES > $len - $PAYLOAD_AT;
	return 'message has trailing bytes' if $plen + $SIG_BYTES < $len - $PAYLOAD_AT;
	return 'ok';
}

# --- the federation -------------------------------------------------------------

my @names = qw(querier alpha beta);
my @REGIONS = qw(east north south west);
my %rows;    # node => [[region, v or undef], ...]
for my $name (@names)
{
	for my $r (@REGIONS)
	{
		# at least two rows per region and node, three of west, which alpha
		# lacks (below): every joint group has >= 6 rows, above the default
		# min_group_size of 5
		for my $i (1 .. ($r eq 'west' ? 3 : 2) + int(rand(5)))
		{
			my $v = ($i > 1 && rand() < 0.15) ? undef : int(rand(2001)) - 500;
			push @{ $rows{$name} }, [ $r, $v ];
		}
	}
}
# alpha lacks one region: its group keys differ from the others'
@{ $rows{alpha} } = grep { $_->[0] ne 'west' } @{ $rows{alpha} };

# The members accept requests up to $CLOCK_SKEW old: the captured requests
# are replayed seconds to (on a loaded machine) minutes after capture, and
# must be refused for what they are, not as stale; the staleness check
# itself is exercised under a lowered window.
my $CLOCK_SKEW = '10min';
my @nodes = start_members(3, names => \@names,
	conf => "shared_preload_libraries = 'smpc, smpc_fault'\n"
	  . "smpc.max_clock_skew = '$CLOCK_SKEW'\n");
my %node = map { $names[$_] => $nodes[$_] } 0 .. $#names;
my $querier = $node{querier};
my $fed = setup_federation(\@nodes,
	prepare => sub {
		my ($n, $name) = @_;
		my $values = join(', ',
			map { sprintf("('%s', %s)", $_->[0], $_->[1] // 'NULL') } @{ $rows{$name} });
		$n->safe_psql('postgres', qq{
			CREATE SCHEMA clinical;
			CREATE TABLE clinical.obs (region text, v integer);
			INSERT INTO clinical.obs VALUES $values;
		});
	},
	publish => [ {
		dataset => 'obs',
		relation => 'clinical.obs',
		columns => [qw(region v)],
		group_keys => { region => 'reveal' },
		intersect_keys => ['v'],
		min_set_size => 2 } ]);
my $pw = $fed->{peer_password};
my $querier_role = $querier->safe_psql('postgres', 'SELECT current_user');
$querier->safe_psql('postgres', q{
	CREATE FUNCTION smpc_fault_request(member text, federation text,
	    type text, session_id bytea, body bytea) RETURNS bytea
	    AS 'smpc_fault' LANGUAGE C STRICT;
});

# the joint queries and their answers over the plaintext union
my $Q_GROUPED = 'SELECT region, smpc_sum(v), smpc_count(*), smpc_count(v) FROM federation.obs '
  . 'GROUP BY region ORDER BY region';
my $Q_TOTAL = 'SELECT smpc_sum(v), smpc_count(*) FROM federation.obs';
my (%sum, %cnt, %cntv);
my ($tsum, $tcnt) = (0, 0);
for my $name (@names)
{
	for my $row (@{ $rows{$name} })
	{
		my ($r, $v) = @$row;
		$cnt{$r}++;
		$tcnt++;
		next unless defined $v;
		$sum{$r} += $v;
		$cntv{$r}++;
		$tsum += $v;
	}
}
my $EXPECT_GROUPED = join("\n",
	map { join('|', $_, $sum{$_}, $cnt{$_}, $cntv{$_}) } sort keys %cnt);
my $EXPECT_TOTAL = "$tsum|$tcnt";

# --- audit log bookkeeping ------------------------------------------------------

my %audit_mark = map { $_ => 0 } @names;

# The audit records $name wrote since the last call, oldest first: hashes of
# sid (hex), outcome, federation, initiator_node, initiator_role, dataset,
# participants, error ('' for NULL).
sub audit_new
{
	my ($name) = @_;
	my $out = $node{$name}->safe_psql('postgres', qq{
		SELECT audit_id, encode(session_id, 'hex'), node_role, outcome,
		       coalesce(federation, ''), coalesce(initiator_node, ''),
		       coalesce(initiator_role, ''), coalesce(dataset, ''),
		       coalesce(array_to_string(participants, ','), ''),
		       coalesce(error, '')
		  FROM smpc.audit_log WHERE audit_id > $audit_mark{$name} ORDER BY audit_id});
	my @recs;
	for my $line (split /\n/, $out)
	{
		my %r;
		@r{qw(id sid node_role outcome federation initiator_node initiator_role dataset
			  participants error)} = split /\|/, $line, 10;
		$audit_mark{$name} = $r{id};
		push @recs, \%r;
	}
	return \@recs;
}

# The audit records $name (default alpha) wrote since the last look, as
# text, one line each: audit_line of what it recorded.
sub audit_text
{
	my ($name) = @_;
	return join("\n", map {
		join(' ', substr($_->{sid}, 0, 8), $_->{outcome}, $_->{federation} || '-',
			$_->{initiator_node} || '-', $_->{dataset} || '-', $_->{error})
	} @{ audit_new($name // 'alpha') });
}

# An expected audit record: session id, outcome, whether the member had a
# session for it (federation, initiator and dataset filled in), error text.
sub audit_line
{
	my ($sid, $outcome, $session, $error, $dataset) = @_;
	return join(' ', substr(hexof($sid), 0, 8), $outcome,
		$session ? ('research', 'querier', $dataset // 'obs') : ('-', '-', '-'), $error);
}

# No audit record on either member since the last look.
sub no_audit
{
	my ($what) = @_;
	for my $m (qw(alpha beta))
	{
		my $recs = audit_new($m);
		is(scalar(@$recs), 0, "$what: no audit record on $m") or diag(explain $recs);
	}
}

# After an attack class: both joint queries still give the plaintext answers,
# and each member records exactly those two sessions as successes.
sub check_healthy
{
	my ($what) = @_;
	my ($rc, $out, $err) = $querier->psql('postgres', $Q_GROUPED);
	is($out, $EXPECT_GROUPED, "after $what: grouped joint query matches the plaintext union")
	  or diag($err);
	($rc, $out, $err) = $querier->psql('postgres', $Q_TOTAL);
	is($out, $EXPECT_TOTAL, "after $what: ungrouped joint query matches the plaintext union")
	  or diag($err);
	for my $m (qw(alpha beta))
	{
		my $recs = audit_new($m);
		is(join(',', map { "$_->{outcome}/$_->{initiator_node}/$_->{federation}" } @$recs),
			'success/querier/research,success/querier/research',
			"after $what: $m audited both joint sessions as successes");
	}
}

# Set smpc.max_sessions on alpha (undef: reset to the default, 100) and
# wait until new connections see it.
sub set_max_sessions
{
	my ($v) = @_;
	$node{alpha}->safe_psql('postgres', (defined $v ? "ALTER SYSTEM SET smpc.max_sessions = $v"
		  : 'ALTER SYSTEM RESET smpc.max_sessions') . '; SELECT pg_reload_conf()');
	$node{alpha}->poll_query_until('postgres', q{SELECT current_setting('smpc.max_sessions')},
		$v // '100')
	  or die 'smpc.max_sessions did not change';
}

# With room for a single member session on alpha, joint queries only work
# if no member session is left holding a slot there.
sub healthy_with_one_slot
{
	my ($what) = @_;
	set_max_sessions(1);
	check_healthy("$what, with smpc.max_sessions = 1 on alpha");
	set_max_sessions(undef);
}

# --- peer sessions --------------------------------------------------------------

# A psql session on $name as the peer role, over TCP with a password.
sub peer_session
{
	my ($name) = @_;
	return $node{$name}->background_psql('postgres',
		on_error_stop => 0,
		extra_params => [
			'-d', connstr_of($node{$name}, user => 'smpc_peer', password => $pw,
				application_name => 'hostile'),
			'-v', 'VERBOSITY=verbose' ]);
}

# Run $sql in the session; returns (stdout, stderr).
sub run_sql
{
	my ($s, $sql) = @_;
	$s->{stderr} = '';
	my ($out) = $s->query($sql);
	my $err = $s->{stderr};
	$s->{stderr} = '';
	return ($out, $err);
}

# The literal a request is sent as: '\x<hex>'::bytea.
sub bytea_literal { return "'\\x" . hexof($_[0]) . "'::bytea"; }

# What psql printed for a call of smpc.exchange: { response => bytes } for
# a bytea printed as \x<hex>, else { sqlstate, message, detail, hint, raw }
# from a verbose error report (sqlstate 'none' if there was none).
sub call_result
{
	my ($out, $err) = @_;
	return { response => pack('H*', $1) } if $err eq '' && $out =~ /^\\x([0-9a-f]*)$/;
	my %r = (raw => "$out\n$err");
	@r{qw(sqlstate message)} = $err =~ /ERROR:\s+([0-9A-Z]{5}): ([^\n]*)/;
	($r{detail}) = $err =~ /^DETAIL:\s+([^\n]*)/m;
	($r{hint}) = $err =~ /^HINT:\s+([^\n]*)/m;
	$r{sqlstate} //= 'none';
	$r{message} //= "output \"$out\", errors \"$err\"";
	return \%r;
}

# Send $msg to smpc.exchange in session $s, as the one statement
# SELECT smpc.exchange('\x...'::bytea).  Returns call_result.
sub exchange
{
	my ($s, $msg) = @_;
	return call_result(run_sql($s, 'SELECT smpc.exchange(' . bytea_literal($msg) . ')'));
}

# Send $sql to $name as one query string (psql -c: a single simple-protocol
# Query message, however many statements it holds) on a new connection as
# the peer role; returns (stdout, stderr) once the backend has exited, so
# that any audit record it writes on its way out is there to see.
sub psql_c
{
	my ($name, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'VERBOSITY=verbose', '-P', 'null=NULL',
			'-d', connstr_of($node{$name}, user => 'smpc_peer', password => $pw,
				application_name => 'hostile_c'),
			'-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err);
	chomp($out, $err);
	$node{$name}->poll_query_until('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hostile_c'}, '0')
	  or die "the psql -c backend on $name did not exit";
	return ($out, $err);
}

# Wait until session $s sees $value for setting $name (after a reload).
sub await_setting
{
	my ($s, $name, $value) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (1)
	{
		my ($v) = run_sql($s, "SELECT current_setting('$name')");
		return 1 if $v eq $value;
		return 0 if time() > $deadline;
		select(undef, undef, undef, 0.05);
	}
}

# Set smpc.max_clock_skew on both members (undef: back to $CLOCK_SKEW of
# the configuration file) and wait until each of @sessions sees it.
sub set_clock_skew
{
	my ($value, @sessions) = @_;
	for my $m (qw(alpha beta))
	{
		$node{$m}->safe_psql('postgres', (defined $value
			  ? "ALTER SYSTEM SET smpc.max_clock_skew = '$value'"
			  : 'ALTER SYSTEM RESET smpc.max_clock_skew') . '; SELECT pg_reload_conf()');
	}
	await_setting($_, 'smpc.max_clock_skew', $value // $CLOCK_SKEW)
	  or die 'a peer session did not see smpc.max_clock_skew = ' . ($value // $CLOCK_SKEW)
	  for @sessions;
}

# Close peer sessions and wait until their backends have exited (a member
# backend writes its exit audit record on the way out).
sub close_sessions
{
	my ($name, @sessions) = @_;
	my @pids = map { (run_sql($_, 'SELECT pg_backend_pid()'))[0] } @sessions;
	$_->quit for @sessions;
	$node{$name}->poll_query_until('postgres',
		'SELECT count(*) FROM pg_stat_activity WHERE pid IN (' . join(', ', @pids) . ')', '0')
	  or die "the backends @pids of $name did not exit";
}

sub describe_result
{
	my ($r) = @_;
	return "answer " . hexof($r->{response}) if exists $r->{response};
	return "$r->{sqlstate}: $r->{message}";
}

# Assert an SQL error with this SQLSTATE and message.
sub refused
{
	my ($r, $state, $re, $name) = @_;
	my $ok = !exists $r->{response} && $r->{sqlstate} eq $state && $r->{message} =~ $re;
	ok($ok, $name) or diag('got ' . describe_result($r) . "; want $state $re");
	return $ok;
}

# The signed answer in $r, decoded: {h => fields, ...}; for an ERROR answer
# also sqlstate, message, detail, hint.
sub answer_of
{
	my ($r) = @_;
	return undef unless exists $r->{response};
	my $h = parse_msg($r->{response}) or return undef;
	my %a = (h => $h);
	if ($h->{type} == $TYPE{error})
	{
		my $pos = 0;
		@a{qw(sqlstate message detail hint)} = map { get_str($h->{payload}, \$pos) } 1 .. 4;
	}
	return \%a;
}

my %pk;    # node => signing key (32 bytes), learned from captured requests

# Assert a signed answer of $member to the querier for ($sid, $type): an
# ERROR with this SQLSTATE and message, or a RESPONSE if $state is undef.
sub answered
{
	my ($r, $member, $sid, $type, $state, $re, $name) = @_;
	my $a = answer_of($r);
	my $h = $a && $a->{h};
	my $ok = $h && $h->{sender} eq $pk{$member} && $h->{recipient} eq $pk{querier}
	  && $h->{sid} eq $sid && $h->{round} == $TYPE{$type};
	if (defined $state)
	{
		$ok &&= $h->{type} == $TYPE{error} && $a->{sqlstate} eq $state && $a->{message} =~ $re;
	}
	else
	{
		$ok &&= $h->{type} == $TYPE{response};
	}
	ok($ok, $name)
	  or diag('got ' . ($a ? "type $h->{type} " . ($a->{sqlstate} // '') . ' ' . ($a->{message} // '')
		  : describe_result($r)));
	return $a;
}

# A request signed by the querier for member server $member (see
# smpc_fault.c); $body is bytes, or ['sql expression'] for a bytea made on
# the querier.
sub sign_request
{
	my ($member, $type, $sid, $body, $federation) = @_;
	$federation //= 'research';
	my $bodysql = ref $body ? $body->[0] : "'\\x" . hexof($body) . "'::bytea";
	my $hex = $querier->safe_psql('postgres',
		"SELECT encode(smpc_fault_request('$member', '$federation', '$type', '\\x"
		  . hexof($sid) . "'::bytea, $bodysql), 'hex')");
	return pack('H*', $hex);
}

sub new_sid { return rand_bytes(16); }

# What a member answers for a message that is not a valid, intact request
# to it (the signature of anything changed does not verify): [SQLSTATE,
# message regex], following the checks of smpc_exchange (src/member.c).
sub expected_refusal
{
	my ($m, $member, $max) = @_;
	$max //= $DEFAULT_MAX;
	return [ '54000', qr/^smpc request of \d+ bytes exceeds smpc\.max_message_size \($max bytes\)$/ ]
	  if length($m) > $max;
	my $v = decode_verdict($m, $max);
	return [ '08P01', qr/^unsupported smpc protocol version $1$/ ] if $v =~ /^version (\d+)$/;
	return [ '08P01', qr/^malformed smpc request: \Q$v\E$/ ] if $v ne 'ok';
	my $h = parse_msg($m);
	return [ '08P01', qr/^malformed smpc request: a $TYPENAME{$h->{type}} message is not a request$/ ]
	  if $h->{type} == $TYPE{response} || $h->{type} == $TYPE{error};
	return [ '28S01', qr/^request is addressed to a different node key$/ ]
	  if $h->{recipient} ne $pk{$member};
	my ($sender) = grep { $_ ne $member && $pk{$_} eq $h->{sender} } @names;
	return [ '28S02', qr/^request from unknown node$/ ] unless defined $sender;
	return [ '28S06', qr/^invalid signature on request from node "$sender"$/ ];
}

# Send a hostile message and check it is refused as expected_refusal says;
# returns '' if so, else a description of the mismatch.
sub mismatch
{
	my ($s, $m, $member, $max) = @_;
	my $want = expected_refusal($m, $member, $max);
	my $r = exchange($s, $m);
	return '' if !exists $r->{response} && $r->{sqlstate} eq $want->[0] && $r->{message} =~ $want->[1];
	return 'message ' . hexof($m) . ': got ' . describe_result($r) . "; want $want->[0] $want->[1]";
}

sub refused_as_modeled
{
	my ($s, $m, $member, $name, $max) = @_;
	my $why = mismatch($s, $m, $member, $max);
	is($why, '', $name);
}

# A fresh PING for $member, and the check that it is accepted (positive
# control: the refusals are due to the changes made, not the base message).
sub fresh_ping { return sign_request($_[0], 'ping', new_sid(), ''); }

sub accepted_ping
{
	my ($s, $member, $msg, $name) = @_;
	my $r = exchange($s, $msg);
	my $a = answered($r, $member, parse_msg($msg)->{sid}, 'ping', undef, undef, $name);
	if ($a && $a->{h}{type} == $TYPE{response})
	{
		my $pos = 0;
		is(get_str($a->{h}{payload}, \$pos), $member, "$name: the answer names $member");
	}
}

# --- capture every request of two joint queries ---------------------------------

my $capdir = PostgreSQL::Test::Utils::tempdir('capture');
my ($rc, $out, $err) = $querier->psql('postgres',
	"SET smpc_fault.capture_dir = '$capdir';\n$Q_GROUPED;\n$Q_TOTAL;");
is($out, "$EXPECT_GROUPED\n$EXPECT_TOTAL",
	'the joint queries match the plaintext union while requests are captured') or diag($err);

my %cap;    # "grouped"/"total" => member => type => bytes
my @files = sort glob("$capdir/*.bin");
my %by_session;
for my $f (@files)
{
	my ($seq, $member, $type) = $f =~ m{/\d+-(\d+)-(\w+)-(\w+)\.bin$} or next;
	my $m = slurp_file($f);
	my $h = parse_msg($m);
	ok($h && $TYPENAME{ $h->{type} } eq $type, "capture $seq: a signed $type request for $member");
	push @{ $by_session{ $h->{sid} } }, [ $seq, $member, $type, $m ];
	$pk{$member} = $h->{recipient};
	$pk{querier} = $h->{sender};
}
is(scalar(keys %by_session), 2, 'the two joint queries were captured as two sessions');
for my $sess (values %by_session)
{
	my $kind = (grep { $_->[2] eq 'share' } @$sess) ? 'grouped' : 'total';
	$cap{$kind}{ $_->[1] }{ $_->[2] } = $_->[3] for @$sess;
}
for my $m (qw(alpha beta))
{
	is(join(',', sort keys %{ $cap{grouped}{$m} }), 'combine,finish,prepare,reveal,share',
		"the grouped query sent $m all five request types");
	is(join(',', sort keys %{ $cap{total}{$m} }), 'combine,finish,prepare,reveal',
		"the ungrouped query sent $m prepare, combine, reveal, finish");
}
my @captured;    # [label, member, bytes], every captured request
for my $kind (qw(grouped total))
{
	for my $m (qw(alpha beta))
	{
		push @captured, [ "$kind $_ for $m", $m, $cap{$kind}{$m}{$_} ]
		  for grep { exists $cap{$kind}{$m}{$_} } qw(prepare share combine reveal finish);
	}
}
for my $m (qw(alpha beta))
{
	my $recs = audit_new($m);
	is(join(',', map { $_->{outcome} } @$recs), 'success,success',
		"$m audited the captured sessions as successes");
}

my %checks;    # class => number of hostile messages sent
my (@sections, $section_start);    # [class, assertions]
sub section
{
	my ($name) = @_;
	my $now = Test::More->builder->current_test;
	$sections[-1][1] = $now - $section_start if @sections;
	push @sections, [ $name, 0 ] if defined $name;
	$section_start = $now;
}
my $peer = peer_session('alpha');
my ($who) = run_sql($peer, "SELECT current_user || ' ' || (inet_client_addr() IS NOT NULL)");
is($who, 'smpc_peer true', 'the attacks come as the peer role over TCP');

# --- replayed -------------------------------------------------------------------

section('replayed');

my $peer_beta = peer_session('beta');
my %sess = (alpha => $peer, beta => $peer_beta);
my $hint_no_session = 'A joint session starts with PREPARE on the same connection.';
{
	# Every captured request, replayed to its member on a connection of its
	# own: a PREPARE is in the replay cache; a later round is not, and there
	# is no session for it on this connection.
	my %lines = (alpha => [], beta => []);
	for my $c (@captured)
	{
		my ($label, $m, $msg) = @$c;
		my ($type) = $label =~ /^\w+ (\w+)/;
		my $sid = parse_msg($msg)->{sid};
		my $r = exchange($sess{$m}, $msg);
		if ($type eq 'prepare')
		{
			refused($r, '28S03', qr/^replayed request from node "querier"$/,
				"replayed $label: replayed request (28S03)");
			is($r->{detail} // '',
				'This member has already accepted a prepare request for this session and round.',
				"replayed $label: the detail names the prepare round");
		}
		else
		{
			my $a = answered($r, $m, $sid, $type, '08P01',
				qr/^no joint session in progress for this $type request$/,
				"replayed $label: no joint session on this connection (signed ERROR answer)");
			is($a && $a->{hint}, $hint_no_session, "replayed $label: with the hint");
			push @{ $lines{$m} },
			  audit_line($sid, 'failed', 0, "no joint session in progress for this $type request");
		}
		$checks{replayed}++;
	}
	is(audit_text($_), join("\n", @{ $lines{$_} }),
		"$_ audited each replayed later round once, as failed without session details")
	  for qw(alpha beta);
}
my @fresh;    # [label, member, bytes]: fresh requests of the types the cache keeps
{
	# a fresh PING and DESCRIBE: accepted once, refused the second time, on
	# the same or another connection (the replay cache is node-wide)
	my $ping = fresh_ping('alpha');
	accepted_ping($peer, 'alpha', $ping, 'a fresh ping is accepted');
	my $r = exchange($peer, $ping);
	refused($r, '28S03', qr/^replayed request from node "querier"$/,
		'... and refused when sent again');
	is($r->{detail} // '', 'This member has already accepted a ping request for this session and round.',
		'... the detail names the ping round');
	my $other = peer_session('alpha');
	refused(exchange($other, $ping), '28S03', qr/^replayed request from node "querier"$/,
		'... also on another connection');
	my $dsid = new_sid();
	my $describe = sign_request('alpha', 'describe', $dsid, pack('v', 1) . wire_str('obs'));
	answered(exchange($other, $describe), 'alpha', $dsid, 'describe', undef, undef,
		'a fresh describe of dataset obs is answered');
	$r = exchange($peer, $describe);
	refused($r, '28S03', qr/^replayed request from node "querier"$/,
		'... and refused when sent again, on another connection');
	is($r->{detail} // '', 'This member has already accepted a describe request for this session and round.',
		'... the detail names the describe round');
	$other->quit;
	$checks{replayed} += 3;
	@fresh = ([ 'a fresh ping', 'alpha', $ping ], [ 'a fresh describe', 'alpha', $describe ]);
}
no_audit('replayed pings and describes');

# --- stale ------------------------------------------------------------------------

section('stale');

my %resumed;    # member => kind => a connection holding that captured session's id
{
	# With the window lowered to 2 s, every request type more than 2 s old
	# is stale, whether the replay cache keeps its type or not.
	set_clock_skew('2s', $peer, $peer_beta);
	my @old = ((map { [ "the captured $_->[0]", $_->[1], $_->[2] ] } @captured), @fresh);
	my $newest = max(map { parse_msg($_->[2])->{ts} } @old);
	# waiting on the clock itself: usually long past already
	select(undef, undef, undef, 0.05) while Time::HiRes::time() * 1000 < $newest + 2500;
	for my $o (@old)
	{
		my ($label, $m, $msg) = @$o;
		my $r = exchange($sess{$m}, $msg);
		refused($r, '28S04', qr/^stale request from node "querier"$/,
			"$label under smpc.max_clock_skew = 2s: stale (28S04)");
		like($r->{detail} // '',
			qr/^The request's timestamp differs from this node's clock by -\d+ ms; at most 2000 ms are allowed\.$/,
			"$label: the detail gives the difference and the window");
		$checks{stale}++;
	}
	no_audit('stale requests');

	# The captured PREPAREs' replay entries have expired too: a new PREPARE
	# with each captured session id (signed now, so not stale) is accepted,
	# and its connection holds that session -- the one place the captured
	# later rounds can reach it.
	for my $m (qw(alpha beta))
	{
		for my $kind (qw(grouped total))
		{
			my $c = peer_session($m);
			await_setting($c, 'smpc.max_clock_skew', '2s') or die 'the new session missed the reload';
			my $sid = parse_msg($cap{$kind}{$m}{prepare})->{sid};
			my $body = request_body($cap{$kind}{$m}{prepare});
			my $r;
			for (1 .. 5)
			{
				$r = exchange($c, sign_request($m, 'prepare', $sid, $body));
				# signing and sending took over 2 s: sign again
				last if exists $r->{response} || $r->{sqlstate} ne '28S04';
			}
			answered($r, $m, $sid, 'prepare', undef, undef,
				"a new $kind prepare to $m with the captured session id, once its replay entry has expired: answered");
			$resumed{$m}{$kind} = $c;
		}
	}
	set_clock_skew(undef, $peer, $peer_beta, map { values %$_ } values %resumed);
	no_audit('prepares that reuse captured session ids');
}

# --- replayed into the connection holding the session -----------------------------

section('replayed in session');

{
	my $replay = sub {
		my ($m, $kind, $type, $state, $re, $name) = @_;
		my $msg = $cap{$kind}{$m}{$type};
		$checks{'replayed in session'}++;
		return answered(exchange($resumed{$m}{$kind}, $msg), $m, parse_msg($msg)->{sid}, $type,
			$state, $re, $name);
	};
	my $sid = sub { return parse_msg($cap{ $_[1] }{ $_[0] }{prepare})->{sid}; };

	# alpha, grouped session: the captured SHARE is accepted in turn, and
	# refused when it comes again
	$replay->('alpha', 'grouped', 'share', undef, undef,
		'alpha, grouped: the captured share is accepted in its turn');
	$replay->('alpha', 'grouped', 'share', '08P01',
		qr/^unexpected share request: the session expects combine$/,
		'alpha, grouped: the share again: unexpected, the session expects combine');

	# alpha, ungrouped: the captured PREPARE is a replay even here, and
	# leaves the session alone; the captured FINISH comes too early
	refused(exchange($resumed{alpha}{total}, $cap{total}{alpha}{prepare}), '28S03',
		qr/^replayed request from node "querier"$/,
		'alpha, ungrouped: the captured prepare on the connection holding its session: replayed (28S03)');
	$replay->('alpha', 'total', 'combine', undef, undef,
		'alpha, ungrouped: the session survived, the captured combine is accepted in its turn');
	$replay->('alpha', 'total', 'finish', '08P01',
		qr/^unexpected finish request: the session expects reveal$/,
		'alpha, ungrouped: the captured finish before reveal: unexpected, the session expects reveal');
	$checks{'replayed in session'}++;

	# beta, grouped: share and combine accepted, the combine again refused
	$replay->('beta', 'grouped', 'share', undef, undef,
		'beta, grouped: the captured share is accepted in its turn');
	$replay->('beta', 'grouped', 'combine', undef, undef,
		'beta, grouped: the captured combine is accepted in its turn');
	$replay->('beta', 'grouped', 'combine', '08P01',
		qr/^unexpected combine request: the session expects reveal$/,
		'beta, grouped: the combine again: unexpected, the session expects reveal');

	# beta, ungrouped: the captured REVEAL right after the PREPARE
	$replay->('beta', 'total', 'reveal', '08P01',
		qr/^unexpected reveal request: the session expects combine$/,
		'beta, ungrouped: the captured reveal before combine: unexpected, the session expects combine');

	# each refused round ended its session, audited with the session's details
	is(audit_text('alpha'), join("\n",
			audit_line($sid->('alpha', 'grouped'), 'failed', 1,
				'unexpected share request: the session expects combine'),
			audit_line($sid->('alpha', 'total'), 'failed', 1,
				'unexpected finish request: the session expects reveal')),
		'alpha audited both sessions as failed by the replayed round');
	is(audit_text('beta'), join("\n",
			audit_line($sid->('beta', 'grouped'), 'failed', 1,
				'unexpected combine request: the session expects reveal'),
			audit_line($sid->('beta', 'total'), 'failed', 1,
				'unexpected reveal request: the session expects combine')),
		'beta audited both sessions as failed by the replayed round');

	# the sessions are over: a later captured round finds none
	$replay->('beta', 'total', 'combine', '08P01',
		qr/^no joint session in progress for this combine request$/,
		'beta, ungrouped: the captured combine after the failed round: no joint session');
	is(audit_text('beta'), audit_line($sid->('beta', 'total'), 'failed', 0,
			'no joint session in progress for this combine request'),
		'... audited as failed without session details');
	close_sessions($_, values %{ $resumed{$_} }) for qw(alpha beta);
	no_audit('closing the connections whose sessions had failed');
}
check_healthy('replayed requests');

# --- truncated and extended ------------------------------------------------------

section('truncated');

for my $base ([ 'a fresh ping', fresh_ping('alpha') ],
	[ 'the grouped prepare', $cap{grouped}{alpha}{prepare} ],
	[ 'the grouped finish', $cap{grouped}{alpha}{finish} ])
{
	my ($label, $msg) = @$base;
	my $len = length $msg;
	my $plen = length parse_msg($msg)->{payload};
	my %cut = (0 => 'nothing', 1 => 'one byte', 4 => 'the magic', 7 => 'seven bytes',
		8 => 'the frame header', 24 => 'header and session id',
		$PAYLOAD_LEN_AT => 'everything before the payload length',
		$PAYLOAD_AT => 'everything before the payload',
		$PAYLOAD_AT + int($plen / 2) => 'half the payload',
		$PAYLOAD_AT + $plen => 'no signature',
		$len - 32 => 'half the signature',
		$len - 1 => 'one byte short');
	for my $at (sort { $a <=> $b } keys %cut)
	{
		refused(exchange($peer, substr($msg, 0, $at)), '08P01',
			qr/^malformed smpc request: message is truncated$/,
			"$label cut to $at bytes ($cut{$at}): truncated");
		$checks{truncated}++;
	}
	for my $extra ("\0", rand_bytes(1), rand_bytes(64))
	{
		refused(exchange($peer, $msg . $extra), '08P01',
			qr/^malformed smpc request: message has trailing bytes$/,
			"$label with " . length($extra) . " byte(s) appended: trailing bytes");
		$checks{truncated}++;
	}
	# the payload length field shrunk by one: the last payload byte is taken
	# for the signature's first, leaving one byte over
	my $shrunk = $msg;
	substr($shrunk, $PAYLOAD_LEN_AT, 4) = pack('V', $plen - 1);
	refused(exchange($peer, $shrunk), '08P01', qr/^malformed smpc request: message has trailing bytes$/,
		"$label with its payload length one less: trailing bytes");
	$checks{truncated}++;
	accepted_ping($peer, 'alpha', $msg, "$label itself is still accepted after its truncations")
	  if $label eq 'a fresh ping';
}
no_audit('truncated requests');
check_healthy('truncated requests');

# --- garbage --------------------------------------------------------------------

section('garbage');

{
	# strict: NULL gets NULL without the function being called at all
	is(join('|', psql_c('alpha', 'SELECT smpc.exchange(NULL)')), 'NULL|',
		'NULL gets NULL (the function is strict)');

	my @garbage;
	# random bytes: no magic
	for my $size (1, 3, 7, 8, 9, 64, 164, 165, 166, 300, 1000, 4096, 20000)
	{
		my $g = rand_bytes($size);
		substr($g, 0, 1) = chr(ord('S') ^ (1 + int(rand(255))));
		push @garbage, [ "$size random bytes", $g ];
	}
	# the magic, then a random version other than 2 and random bytes
	for (1 .. 8)
	{
		my $v = 1 + int(rand(65535));
		$v = 0 if $v == 2;
		push @garbage, [ "magic and version $v", 'SMPC' . pack('v', $v) . rand_bytes(int(rand(400))) ];
	}
	# a valid magic and version, a random type and flags byte, random rest
	for (1 .. 12)
	{
		my $t = int(rand(256));
		my $f = rand() < 0.5 ? 0 : int(rand(256));
		push @garbage, [ "version 2, type $t, flags $f, random rest",
			'SMPC' . pack('v C C', 2, $t, $f) . rand_bytes(int(rand(600))) ];
	}
	# well-formed frames of random content: random keys and signature
	my @reqtypes = qw(prepare share combine reveal finish ping describe);
	my $frame = sub {
		my (%f) = @_;
		my $payload = $f{payload} // rand_bytes(int(rand(300)));
		return 'SMPC' . pack('v C C', 2, $TYPE{ $f{type} // $reqtypes[ int(rand(@reqtypes)) ] }, 0)
		  . rand_bytes(16) . chr(int(rand(6))) . pack('q<', time() * 1000)
		  . ($f{sender} // rand_bytes(32)) . ($f{recipient} // rand_bytes(32))
		  . pack('V', length $payload) . $payload . rand_bytes(64);
	};
	push @garbage, [ "well-formed frame, random keys", $frame->() ] for 1 .. 6;
	push @garbage, [ "well-formed frame of type $_", $frame->(type => $_, recipient => $pk{alpha},
			sender => $pk{querier}) ] for qw(response error);
	push @garbage, [ 'well-formed frame to alpha from an unknown key',
		$frame->(recipient => $pk{alpha}) ] for 1 .. 4;
	push @garbage, [ 'well-formed frame to alpha from querier, random signature',
		$frame->(recipient => $pk{alpha}, sender => $pk{querier}) ] for 1 .. 4;
	push @garbage, [ 'well-formed frame to alpha from beta, random signature',
		$frame->(recipient => $pk{alpha}, sender => $pk{beta}) ] for 1 .. 3;
	push @garbage, [ 'well-formed frame to alpha from alpha itself, random signature',
		$frame->(recipient => $pk{alpha}, sender => $pk{alpha}) ];
	# a payload length claiming more than smpc.max_message_size
	my $huge = 'SMPC' . pack('v C C', 2, 1, 0) . rand_bytes(16 + 1 + 8 + 64)
	  . pack('V', $DEFAULT_MAX + 1) . rand_bytes(100);
	push @garbage, [ 'a payload length above smpc.max_message_size', $huge ];

	for my $g (@garbage)
	{
		my ($label, $msg) = @$g;
		my $want = expected_refusal($msg, 'alpha');
		refused_as_modeled($peer, $msg, 'alpha', "garbage: $label (" . length($msg)
			  . " bytes): $want->[0]");
		$checks{garbage}++;
	}
}
no_audit('garbage');
check_healthy('garbage');

# --- wrong protocol version ------------------------------------------------------

section('version');

{
	my $ping = fresh_ping('alpha');
	my @bases = ([ 'a fresh ping', $ping ],
		map { [ "the replayed $_", $cap{total}{alpha}{$_} ] } qw(prepare finish));
	for my $b (@bases)
	{
		my ($label, $msg) = @$b;
		for my $v (0, 1, 3, 255, 256, 257, 65535)
		{
			my $patched = $msg;
			substr($patched, 4, 2) = pack('v', $v);
			my $r = exchange($peer, $patched);
			refused($r, '08P01', qr/^unsupported smpc protocol version $v$/,
				"$label as version $v: unsupported version");
			is($r->{detail} // '', 'This member speaks smpc protocol version 2.',
				"$label as version $v: the detail says which version the member speaks");
			$checks{version}++;
		}
	}
	accepted_ping($peer, 'alpha', $ping, 'the ping is accepted with its own version');
}
no_audit('wrong protocol versions');
check_healthy('wrong protocol versions');

# --- bit flips --------------------------------------------------------------------

section('bit flips');

{
	# every byte of a fresh ping, one random bit each; grouped by field
	my $ping = fresh_ping('alpha');
	my $len = length $ping;
	my @fields = ([ magic => 0, 4 ], [ version => 4, 2 ], [ type => 6, 1 ], [ flags => 7, 1 ],
		[ 'session id' => 8, 16 ], [ round => 24, 1 ], [ timestamp => 25, 8 ],
		[ sender => 33, 32 ], [ recipient => 65, 32 ], [ 'payload length' => 97, 4 ],
		[ payload => $PAYLOAD_AT, $len - $PAYLOAD_AT - $SIG_BYTES ],
		[ signature => $len - $SIG_BYTES, $SIG_BYTES ]);
	for my $f (@fields)
	{
		my ($field, $from, $n) = @$f;
		my @bad;
		for my $i ($from .. $from + $n - 1)
		{
			my $flipped = $ping;
			substr($flipped, $i, 1) = chr(ord(substr($ping, $i, 1)) ^ (1 << int(rand(8))));
			my $why = mismatch($peer, $flipped, 'alpha');
			push @bad, "byte $i: $why" if $why ne '';
			$checks{'bit flips'}++;
		}
		is(join("\n", @bad), '', "a bit flipped in each of the $n byte(s) of the $field: refused as expected");
	}
	accepted_ping($peer, 'alpha', $ping, 'the unflipped ping is accepted afterwards');

	# payload and signature of every captured request: invalid signature
	for my $c (@captured)
	{
		my ($label, $m, $msg) = @$c;
		next unless $m eq 'alpha';
		my $h = parse_msg($msg);
		my $plen = length $h->{payload};
		for my $where ([ payload => $PAYLOAD_AT, $plen ], [ signature => length($msg) - 64, 64 ])
		{
			my ($field, $from, $n) = @$where;
			my @bad;
			for (1 .. 6)
			{
				my $i = $from + int(rand($n));
				my $flipped = $msg;
				substr($flipped, $i, 1) = chr(ord(substr($msg, $i, 1)) ^ (1 << int(rand(8))));
				my $r = exchange($peer, $flipped);
				push @bad, "byte $i: " . describe_result($r)
				  unless !exists $r->{response} && $r->{sqlstate} eq '28S06'
				  && $r->{message} eq 'invalid signature on request from node "querier"';
				$checks{'bit flips'}++;
			}
			is(join("\n", @bad), '', "$label, 6 bit flips in the $field: invalid signature (28S06)");
		}
	}
}
no_audit('bit flips');
check_healthy('bit flips');

# --- wrong recipient -----------------------------------------------------------------

section('wrong recipient');

{
	my %sess = (alpha => $peer, beta => $peer_beta);
	for my $c (@captured)
	{
		my ($label, $m, $msg) = @$c;
		my $to = $m eq 'alpha' ? 'beta' : 'alpha';
		my $r = exchange($sess{$to}, $msg);
		refused($r, '28S01', qr/^request is addressed to a different node key$/,
			"$label sent to $to: addressed to a different node key");
		my $for = substr(encode_base64url($pk{$m}), 0, 12);
		my $mine = substr(encode_base64url($pk{$to}), 0, 12);
		like($r->{detail} // '', qr/^The request is for the key beginning "\Q$for\E", but this node's key begins "\Q$mine\E"/,
			"$label sent to $to: the detail names both keys");
		$checks{'wrong recipient'}++;
	}
	# a fresh request for beta is refused by alpha, then accepted by beta
	my $ping = fresh_ping('beta');
	refused(exchange($peer, $ping), '28S01', qr/^request is addressed to a different node key$/,
		"a fresh ping for beta sent to alpha: addressed to a different node key");
	accepted_ping($sess{beta}, 'beta', $ping, '... and accepted by beta');
	$checks{'wrong recipient'}++;
}
no_audit('wrongly addressed requests');
check_healthy('wrongly addressed requests');

# --- oversized -------------------------------------------------------------------------

section('oversized');

{
	$node{alpha}->safe_psql('postgres',
		"ALTER SYSTEM SET smpc.max_message_size = '64kB'; SELECT pg_reload_conf()");
	ok(await_setting($peer, 'smpc.max_message_size', '64kB'),
		'the peer session sees smpc.max_message_size = 64kB after the reload');
	my $max = 65536;
	for my $size ($max + 1, $max + 1000, 300000)
	{
		my $r = exchange($peer, 'SMPC' . pack('v C C', 2, 1, 0) . rand_bytes($size - 8));
		refused($r, '54000',
			qr/^smpc request of $size bytes exceeds smpc\.max_message_size \($max bytes\)$/,
			"a $size-byte request: over the limit (54000)");
		$checks{oversized}++;
	}
	# exactly at the limit it is looked at, and refused for what it is
	refused(exchange($peer, 'x' x $max), '08P01',
		qr/^malformed smpc request: message is malformed$/,
		"$max bytes of garbage (at the limit): malformed, not over the limit");
	$checks{oversized}++;
	# a correctly signed request over the limit
	my $big = sign_request('alpha', 'ping', new_sid(), [ "decode(repeat('ab', 70000), 'hex')" ]);
	refused(exchange($peer, $big), '54000', qr/^smpc request of \d+ bytes exceeds smpc\.max_message_size \($max bytes\)$/,
		'a signed ' . length($big) . '-byte request: over the limit (54000)');
	# a small message whose payload length claims more than the limit
	my $ping = fresh_ping('alpha');
	my $claim = $ping;
	substr($claim, $PAYLOAD_LEN_AT, 4) = pack('V', $max + 1);
	refused(exchange($peer, $claim), '08P01', qr/^malformed smpc request: message exceeds size limit$/,
		'a payload length above the limit in a small message: malformed (size limit)');
	$checks{oversized} += 2;
	accepted_ping($peer, 'alpha', $ping, 'a small request is accepted under the lowered limit');
	no_audit('oversized requests');
	# joint queries fit in 64kB messages
	check_healthy('oversized requests (alpha limited to 64kB)');
	$node{alpha}->safe_psql('postgres',
		'ALTER SYSTEM RESET smpc.max_message_size; SELECT pg_reload_conf()');
}

# --- wrong federation, wrong type, bad bodies outside sessions -------------------------

section('wrong federation/type');

{
	$node{alpha}->safe_psql('postgres',
		"CREATE SERVER club FOREIGN DATA WRAPPER smpc OPTIONS (members 'beta')");
	my @cases = (
		[ 'a ping naming federation "nosuch"', 'ping', '', 'nosuch',
			'28S05', qr/^federation "nosuch" does not exist on this node$/ ],
		[ 'a ping naming a member server as federation', 'ping', '', 'beta',
			'28S05', qr/^federation "beta" does not exist on this node$/ ],
		[ 'a ping naming a federation the querier is not in', 'ping', '', 'club',
			'28S05', qr/^node "querier" is not a member of federation "club" on this node$/ ],
		[ 'a prepare naming federation "nosuch"', 'prepare', request_body($cap{total}{alpha}{prepare}), 'nosuch',
			'28S05', qr/^federation "nosuch" does not exist on this node$/ ],
		[ 'a federation name of 64 bytes', 'ping', '', 'f' x 64,
			'08P01', qr/^could not decode the request header: message exceeds size limit$/ ],
		[ 'a signed request of type response', 'response', '', undef,
			'08P01', qr/^malformed smpc request: a response message is not a request$/ ],
		[ 'a signed request of type error', 'error', '', undef,
			'08P01', qr/^malformed smpc request: a error message is not a request$/ ],
		[ 'a ping with a body', 'ping', rand_bytes(10), undef,
			'08P01', qr/^could not decode the ping request: message has trailing bytes$/ ],
		[ 'a describe with a garbage body', 'describe', "\xff\xff" . rand_bytes(5), undef,
			'08P01', qr/^could not decode the describe request: message (is truncated|exceeds size limit)$/ ],
		[ 'a describe of a dataset not published', 'describe', pack('v', 1) . wire_str('secret'), undef,
			'42704', qr/^dataset "secret" is not published to federation "research"$/ ],
	);
	for my $c (@cases)
	{
		my ($label, $type, $body, $federation, $state, $re) = @$c;
		refused(exchange($peer, sign_request('alpha', $type, new_sid(), $body, $federation)),
			$state, $re, "$label: $state");
		$checks{'wrong federation/type'}++;
	}
	$node{alpha}->safe_psql('postgres', 'DROP SERVER club');
}
no_audit('wrong federations and types');
check_healthy('wrong federations and types');

# --- wrong session and reordered rounds ------------------------------------------------

section('wrong session/order');

my %body = map { ("g_$_" => request_body($cap{grouped}{alpha}{$_})) } qw(prepare share combine reveal finish);
$body{"u_$_"} = request_body($cap{total}{alpha}{$_}) for qw(prepare combine reveal finish);
my %alpha_regions = map { $_->[0] => 1 } @{ $rows{alpha} };

# one exchange in a session: sign, send, expect an answer
sub round_trip
{
	my ($s, $type, $sid, $body, $state, $re, $name) = @_;
	my $r = exchange($s, sign_request('alpha', $type, $sid, $body));
	$checks{'wrong session/order'}++;
	return answered($r, 'alpha', $sid, $type, $state, $re, $name);
}

{
	my $c1 = peer_session('alpha');

	# rounds without a session on a fresh connection
	my @lines;
	for my $type (qw(share combine reveal finish))
	{
		my $sid = new_sid();
		my $a = round_trip($c1, $type, $sid, $body{"g_$type"}, '08P01',
			qr/^no joint session in progress for this $type request$/,
			"$type as the first message of a connection: no joint session (signed ERROR answer)");
		is($a && $a->{hint}, 'A joint session starts with PREPARE on the same connection.',
			"... with the hint");
		push @lines, audit_line($sid, 'failed', 0, "no joint session in progress for this $type request");
	}
	is(audit_text(), join("\n", @lines),
		'each verified out-of-session round is audited as failed, without session details');

	# PREPARE, then a round out of order
	my $sid = new_sid();
	my $a = round_trip($c1, 'prepare', $sid, $body{u_prepare}, undef, undef,
		'a fresh ungrouped prepare is answered');
	my $p = $a && $a->{h}{payload};
	ok($p && ord($p) == 1 && unpack('v', substr($p, 1, 2)) == 2,
		'... with shares: one envelope for each other party');
	round_trip($c1, 'reveal', $sid, $body{u_reveal}, '08P01',
		qr/^unexpected reveal request: the session expects combine$/,
		'reveal right after prepare: the session expects combine');
	round_trip($c1, 'combine', $sid, $body{u_combine}, '08P01',
		qr/^no joint session in progress for this combine request$/,
		'the session is gone after the failed round');
	is(audit_text(), join("\n",
			audit_line($sid, 'failed', 1, 'unexpected reveal request: the session expects combine'),
			audit_line($sid, 'failed', 0, 'no joint session in progress for this combine request')),
		'the out-of-order round is audited as failed with the session; the next as failed without');

	# grouped PREPARE answers with the member's keys, then expects SHARE
	$sid = new_sid();
	$a = round_trip($c1, 'prepare', $sid, $body{g_prepare}, undef, undef,
		'a fresh grouped prepare is answered');
	$p = $a && $a->{h}{payload};
	my @keys;
	if ($p && ord($p) == 2)
	{
		my ($ngroups, $ncols) = unpack('V v', substr($p, 1, 6));
		my $pos = 7;
		for (1 .. $ngroups * $ncols)
		{
			my $isnull = ord(substr($p, $pos++, 1));
			push @keys, $isnull ? 'NULL' : get_str($p, \$pos);
		}
	}
	is(join(',', sort @keys), join(',', sort keys %alpha_regions),
		"... with alpha's own group keys");
	round_trip($c1, 'combine', $sid, $body{g_combine}, '08P01',
		qr/^unexpected combine request: the session expects share$/,
		'combine right after a grouped prepare: the session expects share');
	round_trip($c1, 'finish', $sid, $body{g_finish}, '08P01',
		qr/^no joint session in progress for this finish request$/,
		'... and the session is gone');
	is(audit_text(), join("\n",
			audit_line($sid, 'failed', 1, 'unexpected combine request: the session expects share'),
			audit_line($sid, 'failed', 0, 'no joint session in progress for this finish request')),
		'both audited as failed');

	# a session is bound to its connection
	$sid = new_sid();
	round_trip($c1, 'prepare', $sid, $body{u_prepare}, undef, undef, 'prepare on connection 1');
	my $c2 = peer_session('alpha');
	round_trip($c2, 'combine', $sid, $body{u_combine}, '08P01',
		qr/^no joint session in progress for this combine request$/,
		"the session's combine on connection 2: no joint session there");
	round_trip($c1, 'reveal', $sid, $body{u_reveal}, '08P01',
		qr/^unexpected reveal request: the session expects combine$/,
		'connection 1 still holds the session (it expects combine)');
	is(audit_text(), join("\n",
			audit_line($sid, 'failed', 0, 'no joint session in progress for this combine request'),
			audit_line($sid, 'failed', 1, 'unexpected reveal request: the session expects combine')),
		'both audited as failed');

	# a round of another session is refused and recorded under its own
	# session id; the session in progress goes on
	$sid = new_sid();
	my $other = new_sid();
	round_trip($c1, 'prepare', $sid, $body{u_prepare}, undef, undef, 'prepare');
	round_trip($c1, 'combine', $other, $body{u_combine}, '08P01',
		qr/^no joint session in progress for this combine request$/,
		'a combine carrying another session id: no joint session');
	round_trip($c1, 'reveal', $sid, $body{u_reveal}, '08P01',
		qr/^unexpected reveal request: the session expects combine$/,
		'... and the session in progress was left alone (it still expects combine)');
	is(audit_text(), join("\n",
			audit_line($other, 'failed', 0, 'no joint session in progress for this combine request'),
			audit_line($sid, 'failed', 1, 'unexpected reveal request: the session expects combine')),
		'the foreign round is audited under its own session id');

	# malformed and forged PREPARE bodies
	my $u = $body{u_prepare};
	my ($t, $np) = unpack('C v', $u);
	my $parties = substr($u, 3, 32 * $np);
	my $pos = 3 + 32 * $np;
	my $dataset = get_str($u, \$pos);
	my $sql = get_str($u, \$pos);
	my $rest = substr($u, $pos);
	my $forge = sub {
		my (%f) = @_;
		return pack('C v', $f{t} // $t, $np) . ($f{parties} // $parties)
		  . wire_str($f{dataset} // $dataset) . wire_str($f{sql} // $sql) . $rest;
	};
	my @swapped = (substr($parties, 32, 32), substr($parties, 0, 32), substr($parties, 64));
	my @prep = (
		[ 'an empty prepare body', '', 'failed', '08P01',
			qr/^malformed prepare request: message is truncated$/ ],
		[ 'a prepare body of 200 random bytes', rand_bytes(200), 'failed', '08P01',
			qr/^malformed prepare request: message (is truncated|is malformed|exceeds size limit|has trailing bytes)$/ ],
		[ 'a prepare body one byte short', substr($u, 0, -1), 'failed', '08P01',
			qr/^malformed prepare request: message is truncated$/ ],
		[ 'a prepare body with a trailing byte', "$u\0", 'failed', '08P01',
			qr/^malformed prepare request: message has trailing bytes$/ ],
		[ 'a prepare whose first participant is not the sender', $forge->(parties => join('', @swapped)),
			'failed', '08P01', qr/^malformed prepare request: the querying node is not the first participant$/ ],
		[ 'a prepare without alpha among the participants',
			$forge->(parties => substr($parties, 0, 32) . $pk{beta} . rand_bytes(32)),
			'refused', '28S02', qr/^participant 3 of the joint query is not a member of federation "research" on this node$/ ],
		[ 'a prepare with threshold 0', $forge->(t => 0), 'refused', '28S07',
			qr/^the joint query's threshold 0 is below this node's threshold 1 for federation "research"$/ ],
		[ 'a prepare of a dataset not published', $forge->(dataset => 'secret'), 'failed', '42704',
			qr/^dataset "secret" is not published to federation "research"$/ ],
		[ 'a prepare reading raw rows', $forge->(sql => 'SELECT region, v FROM obs'), 'refused', '42S01',
			qr/./ ],
	);
	@lines = ();
	for my $c (@prep)
	{
		my ($label, $b, $outcome, $state, $re) = @$c;
		$sid = new_sid();
		my $a = round_trip($c1, 'prepare', $sid, $b, $state, $re, "$label: $state");
		# a malformed body is refused before a session exists
		my $session = $label !~ /body/;
		push @lines, audit_line($sid, $outcome, $session, $a ? $a->{message} : '?',
			$label =~ /not published/ ? 'secret' : undef);
	}
	is(audit_text(), join("\n", @lines), 'each bad prepare is audited once, as failed or refused');

	# a replayed PREPARE during its own session leaves the session alone
	$sid = new_sid();
	my $prep = sign_request('alpha', 'prepare', $sid, $body{u_prepare});
	answered(exchange($c1, $prep), 'alpha', $sid, 'prepare', undef, undef, 'prepare');
	refused(exchange($c1, $prep), '28S03', qr/^replayed request from node "querier"$/,
		'the same prepare again: replayed');
	round_trip($c1, 'reveal', $sid, $body{u_reveal}, '08P01',
		qr/^unexpected reveal request: the session expects combine$/,
		'the session survived the replay (it still expects combine)');
	$checks{'wrong session/order'} += 2;
	is(audit_text(), audit_line($sid, 'failed', 1, 'unexpected reveal request: the session expects combine'),
		'the replay wrote no audit record');

	# every session so far ended inside a request: none holds a slot
	healthy_with_one_slot('sessions ended by failed rounds');

	# a new PREPARE supersedes an unfinished session; a closed connection
	# ends the last one
	my $first = new_sid();
	round_trip($c1, 'prepare', $first, $body{u_prepare}, undef, undef, 'prepare of a first session');
	$sid = new_sid();
	round_trip($c1, 'prepare', $sid, $body{g_prepare}, undef, undef, 'prepare of a second session');
	is(audit_text(), audit_line($first, 'incomplete', 1, 'superseded by a new session before FINISH'),
		'the first session is audited as incomplete');
	# while it is open, that session holds alpha's one slot under
	# smpc.max_sessions = 1: a PREPARE on another connection is refused
	set_max_sessions(1);
	my $c3 = peer_session('alpha');
	my $probe = new_sid();
	round_trip($c3, 'prepare', $probe, $body{u_prepare}, '53300',
		qr/^this member already takes part in 1 joint sessions$/,
		'with smpc.max_sessions = 1, a prepare on another connection is refused while the session is open');
	is(audit_text(), audit_line($probe, 'failed', 0, 'this member already takes part in 1 joint sessions'),
		'... audited as failed');
	my $loglen = -s $node{alpha}->logfile;
	close_sessions('alpha', $c1, $c2, $c3);
	is(scalar(@{ audit_new('beta') }), 0, 'beta saw none of it');
	is(audit_text(), audit_line($sid, 'incomplete', 1,
			'the session ended before FINISH: the querying node\'s connection closed, '
			  . 'the query was cancelled, or smpc.session_timeout passed'),
		'the session open when the connection closed is audited as incomplete');
	my $log = substr(slurp_file($node{alpha}->logfile), $loglen);
	unlike($log, qr/FATAL|cannot execute SQL/,
		'the backend of the closed connection exits without a FATAL error');
	# the exiting backend gave back its session slot
	healthy_with_one_slot('a session ended by a closed connection');
	audit_new($_) for qw(alpha beta);
}
check_healthy('wrong sessions and reordered rounds');

# --- smpc.exchange not called on its own ----------------------------------------------

section('not alone');

{
	# A member's audit record commits with the call of smpc.exchange: inside
	# a transaction block, next to another expression or another statement
	# that fails, it could be rolled back after the member answered.  Such
	# calls are refused before the request is even looked at: no answer, no
	# session, no audit record, nothing in the replay cache -- the very same
	# signed PREPARE is accepted when it is then sent on its own.
	my $NOT_ALONE = qr/^smpc\.exchange must be called on its own, outside a transaction block$/;
	my $HINT = 'Send exactly SELECT smpc.exchange($1) in autocommit mode, as querying nodes do.';
	my $INCOMPLETE = 'the session ended before FINISH: the querying node\'s connection closed, '
	  . 'the query was cancelled, or smpc.session_timeout passed';

	# in a transaction block opened by BEGIN on a psql connection
	my $c = peer_session('alpha');
	my $sid = new_sid();
	my $prep = sign_request('alpha', 'prepare', $sid, $body{g_prepare});
	run_sql($c, 'BEGIN');
	my $r = exchange($c, $prep);
	refused($r, '25001', $NOT_ALONE, 'BEGIN, then SELECT smpc.exchange(prepare): refused (25001)');
	is($r->{hint} // '', $HINT, '... with the hint');
	my ($out, $err) = run_sql($c, 'ROLLBACK');
	is($err, '', '... ROLLBACK');
	$checks{'not alone'}++;
	is(audit_text(), '', '... no audit record');
	round_trip($c, 'combine', $sid, $body{g_combine}, '08P01',
		qr/^no joint session in progress for this combine request$/,
		'... no session on that connection: a combine finds none');
	answered(exchange($c, $prep), 'alpha', $sid, 'prepare', undef, undef,
		'... the same prepare, then sent on its own, is accepted');
	round_trip($c, 'finish', $sid, $body{g_finish}, '08P01',
		qr/^unexpected finish request: the session expects share$/,
		'... and starts a session (it expects share)');
	is(audit_text(), join("\n",
			audit_line($sid, 'failed', 0, 'no joint session in progress for this combine request'),
			audit_line($sid, 'failed', 1, 'unexpected finish request: the session expects share')),
		'... the records of the calls made on their own, and only those');
	close_sessions('alpha', $c);

	# one query string (psql -c) on a connection of its own each
	my @forms = (
		[ 'BEGIN; SELECT smpc.exchange(...); ROLLBACK',
			sub { "BEGIN; SELECT smpc.exchange($_[0]); ROLLBACK" } ],
		[ 'SELECT smpc.exchange(...), 1/(SELECT 0)',
			sub { "SELECT smpc.exchange($_[0]), 1/(SELECT 0)" } ],
		[ 'SELECT smpc.exchange(...); SELECT 1/0',
			sub { "SELECT smpc.exchange($_[0]); SELECT 1/0" } ],
		[ 'SELECT 1; SELECT smpc.exchange(...)',
			sub { "SELECT 1; SELECT smpc.exchange($_[0])" } ],
		[ 'SELECT smpc.exchange(...); SELECT smpc.exchange(...)',
			sub { "SELECT smpc.exchange($_[0]); SELECT smpc.exchange($_[0])" } ],
		[ 'SELECT smpc.exchange(...) FROM generate_series(1, 2)',
			sub { "SELECT smpc.exchange($_[0]) FROM generate_series(1, 2)" } ],
		[ 'SELECT * FROM smpc.exchange(...)',
			sub { "SELECT * FROM smpc.exchange($_[0])" } ],
		[ 'WITH a AS (SELECT smpc.exchange(...)) SELECT * FROM a',
			sub { "WITH a AS (SELECT smpc.exchange($_[0])) SELECT * FROM a" } ],
	);
	for my $f (@forms)
	{
		my ($label, $sql) = @$f;
		$sid = new_sid();
		$prep = sign_request('alpha', 'prepare', $sid, $body{u_prepare});
		$r = call_result(psql_c('alpha', $sql->(bytea_literal($prep))));
		refused($r, '25001', $NOT_ALONE, "$label: refused (25001)");
		is(audit_text(), '', "$label: no audit record, also after the connection closed");
		# positive control: on its own the same request is accepted, and
		# its session is recorded as incomplete when the connection closes
		$r = call_result(psql_c('alpha', 'SELECT smpc.exchange(' . bytea_literal($prep) . ')'));
		answered($r, 'alpha', $sid, 'prepare', undef, undef,
			"$label: the same prepare, sent on its own, is accepted");
		is(audit_text(), audit_line($sid, 'incomplete', 1, $INCOMPLETE),
			"$label: ... and its session is audited as incomplete when that connection closes");
		$checks{'not alone'}++;
	}

	# SELECT smpc.exchange(...), 1/0 never calls smpc.exchange: the planner
	# folds the constant 1/0 and fails the statement first (the case of
	# another expression that fails after the call is 1/(SELECT 0) above)
	$sid = new_sid();
	$prep = sign_request('alpha', 'prepare', $sid, $body{u_prepare});
	$r = call_result(psql_c('alpha', 'SELECT smpc.exchange(' . bytea_literal($prep) . '), 1/0'));
	refused($r, '22012', qr/^division by zero$/,
		'SELECT smpc.exchange(...), 1/0: fails while planned, before smpc.exchange is called (22012)');
	is(audit_text(), '', '... no audit record');
	$r = exchange($peer, $prep);
	answered($r, 'alpha', $sid, 'prepare', undef, undef,
		'... the same prepare, sent on its own, is accepted');
	$checks{'not alone'}++;
	# end the session on $peer
	round_trip($peer, 'finish', $sid, $body{u_finish}, '08P01',
		qr/^unexpected finish request: the session expects combine$/, '... (ended by a finish out of order)');
	is(audit_text(), audit_line($sid, 'failed', 1, 'unexpected finish request: the session expects combine'),
		'... which is audited');

	# none of the refused calls left a session holding a slot
	healthy_with_one_slot('calls of smpc.exchange that were not on their own');
}

# --- intersection rounds -----------------------------------------------------------------
#
# INTERSECT and HOP sent straight to alpha (party 1 of querier, alpha, beta):
# every hop that is out of turn, too small, unsorted or carries something
# that is not a group element is refused with a signed ERROR and ends the
# session, audited; a query on a column that is not an intersection key is
# refused; the member follows a complete well-formed session to FINISH.

section('intersection');

{
	my $s = peer_session('alpha');
	my $head = pack('v', 3) . $pk{querier} . $pk{alpha} . $pk{beta} . wire_str('obs');
	my $intersect = sub { return $head . wire_str($_[0] // 'SELECT v FROM obs GROUP BY v') . chr(1); };
	my $trip = sub {
		my ($type, $sid, $body, $state, $re, $name) = @_;
		$checks{intersection}++;
		return answered(exchange($s, sign_request('alpha', $type, $sid, $body)), 'alpha', $sid,
			$type, $state, $re, $name);
	};
	my %distinct = map { $_->[1] => 1 } grep { defined $_->[1] } @{ $rows{alpha} };
	my $nkeys = keys %distinct;
	# not canonical encodings (>= p), in ascending order
	my $bad = join('', map { chr($_) . ("\xff" x 30) . "\x7f" } 0xfa .. 0xfc);

	# a complete session: alpha's list, raised at two hops, then FINISH
	my $sid = new_sid();
	my $a = $trip->('intersect', $sid, $intersect->(), undef, undef, 'intersect: answered');
	my $list = $a && $a->{h}{payload};
	ok($list && unpack('V', $list) == $nkeys && length($list) == 4 + 32 * $nkeys,
		"... with one 32-byte point per distinct key of alpha ($nkeys)");
	$a = $trip->('hop', $sid, pack('v', 1) . $list, undef, undef, 'hop 1: answered');
	my $raised = $a && $a->{h}{payload};
	ok($raised && length($raised) == length($list) && $raised ne $list,
		'... with a list of the same size, raised');
	$a = $trip->('hop', $sid, pack('v', 2) . $raised, undef, undef, 'hop 2: answered');
	$a = $trip->('finish', $sid, '', undef, undef, 'finish: answered');
	is($a && length($a->{h}{payload}), 0, '... with an empty answer: the member is not told the count');
	my @lines = (audit_line($sid, 'success', 1, ''));

	my @cases = (
		[ 'a hop out of turn', pack('v', 2) . $list, '08P01',
			'unexpected hop 2 of the intersection: the session expects hop 1', 'failed' ],
		[ 'a list below min_set_size', pack('v', 1) . pack('V', 1) . substr($list, 4, 32), '42S03',
			'the set of participant "querier" is smaller than this member\'s min_set_size (2) for dataset "obs"',
			'refused' ],
		[ 'points that are not group elements', pack('v', 1) . pack('V', 3) . $bad, '08P01',
			'the intersection list of participant "querier" holds a value that is not a valid group element',
			'failed' ],
		[ 'an unsorted list', pack('v', 1) . pack('V', 2) . substr($list, 36, 32) . substr($list, 4, 32),
			'08P01', undef, 'failed' ],
	);
	for my $c (@cases)
	{
		my ($what, $body, $state, $msg, $outcome) = @$c;
		$sid = new_sid();
		$trip->('intersect', $sid, $intersect->(), undef, undef, "$what: the session starts");
		$a = $trip->('hop', $sid, $body, $state, defined $msg ? qr/^\Q$msg\E$/ : qr/^malformed hop request: /,
			"$what: refused ($state)");
		push @lines, audit_line($sid, $outcome, 1, defined $msg ? $msg : $a && $a->{message});
		$a = $trip->('hop', $sid, pack('v', 1) . $list, '08P01',
			qr/^no joint session in progress for this hop request$/, "$what: the session is over");
		push @lines, audit_line($sid, 'failed', 0, 'no joint session in progress for this hop request');
	}

	# a key column that is not published as an intersection key
	$sid = new_sid();
	$trip->('intersect', $sid, $intersect->('SELECT region FROM obs GROUP BY region'), '42S01',
		qr/^column "region" of dataset "obs" is not an intersection key$/,
		'intersect on a column that is not an intersection key: refused (42S01)');
	push @lines, audit_line($sid, 'refused', 1, 'column "region" of dataset "obs" is not an intersection key');

	is(audit_text(), join("\n", @lines), 'every intersection session is audited once, as it ended');
	close_sessions('alpha', $s);
	no_audit('closing the intersection connection');
}
check_healthy('intersection rounds');

# --- aftermath ---------------------------------------------------------------------------

section('aftermath');

check_healthy('all attacks');
close_sessions('alpha', $peer);
close_sessions('beta', $peer_beta);
for my $m (qw(alpha beta))
{
	is($node{$m}->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity
		 WHERE usename = 'smpc_peer' AND state IS DISTINCT FROM 'idle'}),
		'0', "$m: no peer backend left active or in a transaction");
	my $log = slurp_file($node{$m}->logfile);
	unlike($log, qr/PANIC|TRAP:|terminated by signal|server process .* exited with exit code [1-9]|reinitializ/,
		"$m: the server log shows no crash or assertion failure");
}

section(undef);
diag('hostile messages sent: ' . join(', ', map { "$_ $checks{$_}" } sort keys %checks));
diag('assertions (incl. health checks): ' . join(', ', map { "$_->[0] $_->[1]" } @sections));
$_->stop for @nodes;
done_testing();
