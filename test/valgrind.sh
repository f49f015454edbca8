#!/bin/bash
#
# test/valgrind.sh -- what `make valgrind` runs: the pg_regress and TAP
# suites with every PostgreSQL server process under valgrind memcheck.
#
# 1. Installs valgrind if it is missing (as root; otherwise prints the
#    apt-get line and fails).
# 2. Runs test/run.sh (what `make test` runs) with SMPC_VALGRIND=1.  Right
#    after run.sh has built its private install tree, it calls
#    `test/valgrind.sh --wrap BINDIR`, which renames BINDIR/postgres to
#    postgres.real and puts a wrapper in its place.  The wrapper runs
#    postgres.real under memcheck when it starts a server (so the postmaster
#    and every process it forks, where smpc.so runs, are checked, each
#    logging to its own file) and execs it directly for initdb's --boot and
#    --single runs and for -V, -C, --describe-config and --help, which run
#    no smpc code and would only slow the run down.  postgres.real sits in
#    the same directory as the wrapper, so PostgreSQL still finds its share
#    and lib directories relative to itself, and pg_ctl and
#    PostgreSQL::Test::Cluster see an ordinary postgres.
# 3. Reads every process's log: any memcheck error (outside the narrow
#    suppressions in test/valgrind.supp, each explained there) fails the run,
#    and the first distinct errors are printed with their stacks, those with
#    a frame in smpc's own code first.
#
# Valgrind makes servers 20-50 times slower (a new backend takes a second or
# more), so the run raises PG_TEST_TIMEOUT_DEFAULT and PGCTLTIMEOUT (default
# 600 s each) and exports SMPC_VALGRIND=1 to the suites, for a test to relax
# a timing assumption of its own.  TAP tests that cannot pass under valgrind
# are left out by default (VALGRIND_SKIP):
#   006_faults  member_timeout of 3 s, and answers timed against it: a new
#               member connection alone (backend start plus SCRAM) takes
#               longer under memcheck, so a case fails and a poll then waits
#               for the timeout
#   008_load    60 concurrent clients, each opening member connections, on
#               two cores: every first query outlasts its 60 s member_timeout
# The rest took 31 minutes on the 2-core machine (2545 server processes).
#
# Environment: everything test/run.sh reads (PG_CONFIG, KEEP, SKIP_DEPS,
# ...).  PROVE_TESTS, if set, is run as given; otherwise every test/t/*.pl
# except those VALGRIND_SKIP names (default "006_faults 008_load"; set it
# empty to run them all).  VALGRIND_OPTS adds memcheck options (valgrind
# reads it itself), e.g. --track-origins=yes to see where an uninitialised
# value came from, or --gen-suppressions=all for suppression templates.
# VALGRIND_SHOW (default 5) is how many distinct errors are printed.
# `test/valgrind.sh --report DIR` reads the logs of a kept run again.
#
# Not part of `make test`.

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# --- the wrapper, installed by test/run.sh when SMPC_VALGRIND=1 --------------
if [ "${1:-}" = --wrap ]; then
	BIN=$2
	: "${SMPC_VALGRIND_DIR:?is not set: run make valgrind, not test/valgrind.sh --wrap}"
	[ -x "$BIN/postgres" ] && [ ! -e "$BIN/postgres.real" ] || {
		echo "valgrind.sh: no postgres to wrap in $BIN (or already wrapped)" >&2
		exit 1
	}
	VG=$(command -v valgrind) || { echo "valgrind.sh: valgrind not found" >&2; exit 1; }
	mv "$BIN/postgres" "$BIN/postgres.real" || exit 1
	# --leak-check=no: PostgreSQL frees by memory context and backends exit
	#   without freeing; leak reports would be all noise.
	# --trace-children=no: servers fork (never exec) their processes, and
	#   memcheck follows a fork anyway; execs are archive/restore shells.
	# no --error-exitcode: the postmaster treats a backend's exit code other
	#   than 0 or 1 as a crash and restarts every process, which would wreck
	#   the rest of the run; the logs are read afterwards instead.
	# --vgdb=no: no gdbserver FIFOs in /tmp for hundreds of processes.
	# --fullpath-after: smpc's frames read (src/joint.c:123), which the
	#   summary looks for (PostgreSQL's and the libraries' show no src/).
	# --log-file: one file per postmaster, named when it starts, shared by
	#   the processes it forks (one file offset, so nothing is overwritten).
	#   Not %p: PIDs wrap (pid_max is 32768 here) and valgrind truncates an
	#   existing log, so a later process would erase an earlier one's.
	cat >"$BIN/postgres" <<EOF
#!/bin/sh
# Written by test/valgrind.sh (make valgrind): server starts run under
# valgrind memcheck; initdb's bootstrap and single-user runs and the
# informational options run postgres directly.
for a; do
	case \$a in
	--boot|--check|--single|--describe-config|-C|-C*|-V|--version|'-?'|--help)
		exec "$BIN/postgres.real" "\$@" ;;
	esac
done
exec "$VG" --tool=memcheck --leak-check=no --trace-children=no \\
	--vgdb=no --num-callers=40 --time-stamp=yes --fullpath-after="$ROOT/" \\
	--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \\
	--suppressions="$SMPC_VALGRIND_DIR/valgrind.supp" \\
	--log-file="$SMPC_VALGRIND_DIR/logs/\$(date +%Y%m%d-%H%M%S.%N)-\$\$.log" \\
	"$BIN/postgres.real" "\$@"
EOF
	chmod 755 "$BIN/postgres"
	echo "== servers in $BIN run under valgrind; logs in $SMPC_VALGRIND_DIR/logs"
	exit 0
fi

# --- reading the logs --------------------------------------------------------
# report DIR: reads DIR/*.log, prints the summary, returns 1 on any error.
# A log holds one postmaster and every process it forked, their lines told
# apart by the PID in valgrind's prefix "==<time> <pid>== "; a process ends
# with its ERROR SUMMARY line (a PID seen again after that is a new process).
report() {
	local dir=$1
	shopt -s nullglob
	local logs=("$dir"/*.log)
	nlogs=${#logs[@]}
	[ "$nlogs" -gt 0 ] || { echo "no valgrind logs in $dir"; return 1; }
	awk -v max="${VALGRIND_SHOW:-5}" -v nlogs="$nlogs" '
		function show(k) {
			printf "--- error %d%s: in %d process(es); first in %s\n    (%s)\n%s", ++shown,
				smpc[k] ? " (smpc frame)" : "", seen[k], first[k], fcmd[k], body[k]
		}
		!match($0, /^==[^=]*[ =][0-9]+== ?/) { next }
		{
			pre = substr($0, 1, RLENGTH); line = substr($0, RLENGTH + 1)
			pid = pre; sub(/== ?$/, "", pid); sub(/.*[ =]/, "", pid)
			p = FILENAME ":" pid
		}
		line ~ /^Command: / && !(FILENAME in cmd) { cmd[FILENAME] = line }
		line == "VALGRINDERROR-BEGIN" { inblk[p] = 1; key[p] = ""; text[p] = ""; ours[p] = 0; next }
		line == "VALGRINDERROR-END" {
			inblk[p] = 0; k = key[p]; blocks++; bad[p] = 1
			if (ours[p]) smpc_blocks++
			if (!(k in seen)) {
				order[++n] = k; first[k] = FILENAME ", PID " pid; fcmd[k] = cmd[FILENAME]
				body[k] = text[p]; smpc[k] = ours[p]
			}
			seen[k]++
			next
		}
		inblk[p] {
			text[p] = text[p] "    " line "\n"
			if (line ~ /smpc\.so|\((src|test)\/[^:]*\.[ch]:[0-9]+\)/) ours[p] = 1
			k = line; gsub(/0x[0-9A-Fa-f]+/, "", k)
			if (k ~ /^ *Address/) gsub(/[0-9,]+/, "", k)
			key[p] = key[p] k "\n"
			next
		}
		line ~ /^ERROR SUMMARY: [0-9]+ errors/ {
			split(line, f, " "); procs++
			if (f[3] > 0 || bad[p]) { errors += f[3]; badprocs++ }
			delete bad[p]
			next
		}
		END {
			for (p in bad) { badprocs++; unended++ }
			printf "server processes checked: %d that exited (valgrind printed their ERROR SUMMARY), under %d postmasters\n", procs, nlogs
			printf "memcheck errors: %d in %d processes (%d reports, %d of them with a frame in smpc code)\n",
				errors + 0, badprocs + 0, blocks + 0, smpc_blocks + 0
			if (unended) printf "(%d of them reported errors but did not exit under valgrind)\n", unended
			if (n) printf "the first %d distinct errors, with their stacks:\n", max
			for (i = 1; i <= n && shown < max; i++) if (smpc[order[i]]) show(order[i])
			for (i = 1; i <= n && shown < max; i++) if (!smpc[order[i]]) show(order[i])
			if (n > shown) printf "--- and %d more distinct errors\n", n - shown
			exit (errors > 0 || blocks > 0)
		}' "${logs[@]}"
}

if [ "${1:-}" = --report ]; then
	report "$2"
	exit
fi


# --- 1. valgrind ----------------------------------------------------------
die() { printf 'make valgrind: %s\n' "$*" >&2; exit 1; }
if ! command -v valgrind >/dev/null; then
	if [ "$(id -u)" = 0 ] && [ "${SKIP_DEPS:-0}" != 1 ]; then
		echo "== installing valgrind"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq || die "apt-get update failed"
		apt-get install -y -qq --no-install-recommends valgrind >/dev/null ||
			die "apt-get install valgrind failed"
	else
		die "valgrind is not installed: sudo apt-get install -y valgrind"
	fi
fi

# --- 2. the suites, servers under memcheck ------------------------------------
VGDIR=$(mktemp -d "${TMPDIR:-/tmp}/smpc-valgrind.XXXXXX") || die "mktemp failed"
mkdir -p "$VGDIR/logs"
cp "$ROOT/test/valgrind.supp" "$VGDIR/" || die "no test/valgrind.supp"
if [ "$(id -u)" = 0 ]; then
	chown -R postgres: "$VGDIR" 2>/dev/null
	chmod 755 "$VGDIR"
fi

export SMPC_VALGRIND=1 SMPC_VALGRIND_DIR=$VGDIR
export PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-600}
export PGCTLTIMEOUT=${PGCTLTIMEOUT:-600}
if [ -z "${PROVE_TESTS:-}" ]; then
	skip=" ${VALGRIND_SKIP-006_faults 008_load} "
	PROVE_TESTS=
	for t in "$ROOT"/test/t/*.pl; do
		t=$(basename "$t" .pl)
		case $skip in
		*" $t "*) echo "== make valgrind: leaving out test/t/$t.pl (see test/valgrind.sh)" ;;
		*) PROVE_TESTS="$PROVE_TESTS test/t/$t.pl" ;;
		esac
	done
	export PROVE_TESTS
fi

start=$SECONDS
echo "== make valgrind: valgrind logs go to $VGDIR/logs"
"$ROOT/test/run.sh"
suites_rc=$?
elapsed=$((SECONDS - start))

# --- 3. the logs ----------------------------------------------------------------
echo
echo "==================== make valgrind summary ===================="
report "$VGDIR/logs"
vg_rc=$?
echo "wall time: $((elapsed / 60)) min $((elapsed % 60)) s"
rc=0
[ "$suites_rc" = 0 ] || { echo "make valgrind: the suites failed under valgrind (rc=$suites_rc)"; rc=1; }
[ "$nlogs" -gt 0 ] || { echo "make valgrind: no valgrind logs: the wrapper did not run"; rc=1; }
[ "$vg_rc" = 0 ] || { echo "make valgrind: memcheck found errors; logs kept in $VGDIR/logs"; rc=1; }
if [ "$rc" = 0 ]; then
	echo "make valgrind: no memcheck errors in any server process"
	[ "${KEEP:-0}" = 1 ] || rm -rf "$VGDIR"
fi
exit $rc
