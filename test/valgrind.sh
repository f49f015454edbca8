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
#    --single runs and for -V, -C, --describe-config and --help, which load
#    no smpc code and would only slow the run down.  postgres.real sits in
#    the same directory as the wrapper, so PostgreSQL still finds its share
#    and lib directories relative to itself, and pg_ctl and
#    PostgreSQL::Test::Cluster see an ordinary postgres.
# 3. Reads every process's log: any memcheck error (outside the narrow
#    suppressions in test/valgrind.supp, each explained there) fails the run,
#    and the first errors are printed with their stacks; errors with a frame
#    in smpc.so are called out as smpc's.
#
# Valgrind makes servers 20-50 times slower, so the run raises
# PG_TEST_TIMEOUT_DEFAULT (default 1800 s) and PGCTLTIMEOUT (default 900 s)
# and exports SMPC_VALGRIND=1 to the suites, which a test can read to relax
# a timing assumption of its own.
#
# Environment: everything test/run.sh reads (PG_CONFIG, KEEP, PROVE_TESTS,
# SKIP_DEPS, ...).  PROVE_TESTS defaults to every test/t/*.pl.
# VALGRIND_OPTS adds memcheck options (valgrind reads it itself), e.g.
# VALGRIND_OPTS=--track-origins=yes to see where an uninitialised value came
# from, or --gen-suppressions=all to print suppression templates.
# VALGRIND_SHOW (default 5) is how many error blocks are printed in full.
#
# Not part of `make test`: the full run takes tens of minutes.

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
	--log-file="$SMPC_VALGRIND_DIR/logs/%p.log" \\
	"$BIN/postgres.real" "\$@"
EOF
	chmod 755 "$BIN/postgres"
	echo "== servers in $BIN run under valgrind; logs in $SMPC_VALGRIND_DIR/logs"
	exit 0
fi

# --- reading the logs --------------------------------------------------------
# report DIR: reads DIR/*.log, prints the summary, returns 1 on any error
report() {
	local dir=$1 f n s m
	shopt -s nullglob
	local logs=("$dir"/*.log)
	nlogs=${#logs[@]}
	local complete=0 errors=0 smpc_errors=0 bad_logs=()
	for f in "${logs[@]}"; do
		grep -q 'ERROR SUMMARY:' "$f" && complete=$((complete + 1))
		n=$(grep -c '== VALGRINDERROR-BEGIN$' "$f")
		# an error block or a non-zero summary both count
		s=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
		[ "${s:-0}" -gt "$n" ] && n=$s
		if [ "$n" -gt 0 ]; then
			errors=$((errors + n))
			bad_logs+=("$f")
			m=$(awk '/== VALGRINDERROR-BEGIN$/{b=1; s=0} b && /smpc\.so|\((src|test)\/[^:]*\.[ch]:[0-9]+\)/{s=1}
				/== VALGRINDERROR-END$/{if (s) c++; b=0} END{print c+0}' "$f")
			smpc_errors=$((smpc_errors + m))
		fi
	done

	echo "server processes checked: $nlogs ($complete ran to exit; $((nlogs - complete)) were killed first and were checked until then)"
	echo "memcheck errors: $errors in ${#bad_logs[@]} processes ($smpc_errors with a frame in smpc's code)"
	[ "${#bad_logs[@]}" -gt 0 ] || return 0
	# distinct errors (same kind and stack, addresses aside), those with a
	# frame in smpc first, then in the order they were first seen
	echo "the first ${VALGRIND_SHOW:-5} distinct errors, with their stacks:"
	awk -v max="${VALGRIND_SHOW:-5}" '
		FNR == 1 { cmd = "" }
		/== Command: / { cmd = $0; sub(/^==[^=]*== /, "", cmd) }
		/== VALGRINDERROR-BEGIN$/ { b = 1; key = ""; text = ""; ours = 0; next }
		/== VALGRINDERROR-END$/ {
			b = 0
			if (!(key in seen)) {
				order[++n] = key; first[key] = FILENAME; fcmd[key] = cmd
				body[key] = text; smpc[key] = ours
			}
			seen[key]++
			next
		}
		b {
			line = $0; sub(/^==[^=]*== /, "", line)
			text = text "    " line "\n"
			if (line ~ /smpc\.so|\((src|test)\/[^:]*\.[ch]:[0-9]+\)/) ours = 1
			k = line; gsub(/0x[0-9A-Fa-f]+/, "", k)
			if (k ~ /^ *Address/) gsub(/[0-9,]+/, "", k)
			key = key k "\n"
		}
		function show(k) {
			printf "--- error %d%s: in %d process(es); first in %s\n    (%s)\n%s", ++shown,
				smpc[k] ? " (smpc frame)" : "", seen[k], first[k], fcmd[k], body[k]
		}
		END {
			for (i = 1; i <= n && shown < max; i++) if (smpc[order[i]]) show(order[i])
			for (i = 1; i <= n && shown < max; i++) if (!smpc[order[i]]) show(order[i])
			if (n > shown) printf "--- and %d more distinct errors\n", n - shown
		}' "${bad_logs[@]}"
	return 1
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
export PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-1800}
export PGCTLTIMEOUT=${PGCTLTIMEOUT:-900}

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
