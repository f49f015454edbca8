#!/bin/bash
#
# test/run.sh -- what `make test` runs.
#
# 1. Checks for the Debian packages smpc needs; as root it installs the
#    missing ones, otherwise it prints the apt-get line and fails.
# 2. Builds smpc; as root also installs it into the system PostgreSQL.
# 3. Installs PostgreSQL plus smpc into a private tree under a scratch
#    directory (PostgreSQL finds its share and lib directories relative to
#    its binaries, as in its own `make check`), so the suites never depend on
#    what else is installed and also run without root.
# 4. Runs every suite: unit tests of the pure-C core, pg_regress against a
#    throwaway instance, and the multi-node TAP tests in test/t.  Servers and
#    test runners never run as root: under root they run as `postgres`.
# 5. Prints a summary and exits non-zero if anything failed.
#
# Environment: PG_CONFIG (default Debian's PostgreSQL 15), KEEP=1 keeps the
# scratch directory, PROVE_TESTS limits the TAP tests (e.g. test/t/001_x.pl),
# SKIP_DEPS=1 skips the package check.

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# PGMAJOR, PACKAGES and smpc_install_deps, shared with test/demo.sh
# shellcheck source=test/deps.sh
. "$ROOT/test/deps.sh"

say() { printf '== %s\n' "$*"; }
die() { printf 'make test: %s\n' "$*" >&2; exit 1; }

# --- 1. packages -------------------------------------------------------------
# shellcheck disable=SC2086
smpc_install_deps "make test" $TEST_PACKAGES
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found; set PG_CONFIG"

BINDIR=$("$PG_CONFIG" --bindir)
SHAREDIR=$("$PG_CONFIG" --sharedir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
PGXSDIR=$(dirname "$("$PG_CONFIG" --pgxs)")/..
PGXSDIR=$(cd "$PGXSDIR" && pwd)

# --- 2. build (and system install as root) ----------------------------------
say "building smpc against $("$PG_CONFIG" --version)"
make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" all test/unit/run_unit || die "build failed"
if [ "$(id -u)" = 0 ]; then
	say "installing smpc into $PKGLIBDIR"
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null || die "make install failed"
fi

# --- 3. private install tree --------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smpc-test.XXXXXX") || die "mktemp failed"
cleanup() {
	if [ "${KEEP:-0}" = 1 ] || [ "${FAILED:-1}" != 0 ]; then
		echo "make test: logs and data kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

INST=$WORK/install
mkdir -p "$INST$(dirname "$BINDIR")" "$INST$(dirname "$SHAREDIR")" "$INST$(dirname "$PKGLIBDIR")"
cp -a "$(dirname "$BINDIR")" "$INST$(dirname "$(dirname "$BINDIR")")/" || die "copying $BINDIR failed"
[ -d "$INST$SHAREDIR" ] || cp -a "$SHAREDIR" "$INST$(dirname "$SHAREDIR")/"
[ -d "$INST$PKGLIBDIR" ] || cp -a "$PKGLIBDIR" "$INST$(dirname "$PKGLIBDIR")/"
make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$INST" >/dev/null ||
	die "install into $INST failed"
# the test-only fault injection module goes into the private tree only
make -C "$ROOT/test/modules/smpc_fault" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$INST" >/dev/null ||
	die "building test/modules/smpc_fault failed"
TBIN=$INST$BINDIR
"$TBIN/postgres" --version >/dev/null || die "private install does not run"

# test sources, readable and writable by whoever runs the servers
mkdir -p "$WORK/src" "$WORK/tap/tmp_check/log" "$WORK/regress"
cp -a "$ROOT/sql" "$ROOT/expected" "$ROOT/test" "$WORK/src/"
RUNAS=()
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || die "user postgres does not exist (is postgresql-$PGMAJOR installed?)"
	chown -R postgres: "$WORK"
	chmod 755 "$WORK"
	RUNAS=(runuser -u postgres --)
fi

# --- 4. suites ----------------------------------------------------------------
# `make valgrind`: servers started from here on run under memcheck
[ "${SMPC_VALGRIND:-0}" != 1 ] || "$ROOT/test/valgrind.sh" --wrap "$TBIN" || die "valgrind wrapper failed"
unit_rc=0 regress_rc=0 tap_rc=0

say "unit tests of the pure-C core"
"$ROOT/test/unit/run_unit" >"$WORK/unit.out" 2>&1
unit_rc=$?
grep -v '^ok ' "$WORK/unit.out"
unit_summary=$(grep '^unit:' "$WORK/unit.out" || echo "unit: did not finish")

say "pg_regress against a throwaway instance"
# Our own instance, so the bootstrap superuser is always "postgres" whoever
# runs the tests, and the expected output does not depend on it.
REGRESS=$(cd "$ROOT/sql" && ls ./*.sql 2>/dev/null | sed -e 's|^\./||' -e 's|\.sql$||' | sort)
RDATA=$WORK/regress/data
RSOCK=$WORK/regress
RPORT=$((50000 + RANDOM % 10000))
regress_rc=1
if "${RUNAS[@]}" "$TBIN/initdb" -D "$RDATA" -U postgres -A trust --no-sync \
		>"$WORK/regress/initdb.log" 2>&1; then
	cat "$WORK/src/test/regress.conf" >>"$RDATA/postgresql.conf"
	printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = %s\n" \
		"$RSOCK" "$RPORT" >>"$RDATA/postgresql.conf"
	if "${RUNAS[@]}" "$TBIN/pg_ctl" -D "$RDATA" -l "$WORK/regress/postmaster.log" -w start \
			>/dev/null; then
		"${RUNAS[@]}" "$INST$PGXSDIR/test/regress/pg_regress" \
			--host="$RSOCK" --port="$RPORT" --user=postgres \
			--bindir="$TBIN" \
			--inputdir="$WORK/src" --outputdir="$WORK/regress" \
			$REGRESS 2>&1 | tee "$WORK/regress.out"
		regress_rc=${PIPESTATUS[0]}
		"${RUNAS[@]}" "$TBIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null
	else
		echo "make test: the regression instance did not start; see $WORK/regress/postmaster.log"
	fi
else
	echo "make test: initdb failed; see $WORK/regress/initdb.log"
fi
regress_summary=$(grep -E 'tests (passed|failed)|All [0-9]+ tests passed|of [0-9]+ tests failed' "$WORK/regress.out" | tail -1)
[ -n "$regress_summary" ] || regress_summary="pg_regress did not finish"
if [ "$regress_rc" != 0 ] && [ -f "$WORK/regress/regression.diffs" ]; then
	head -200 "$WORK/regress/regression.diffs"
fi

say "multi-node TAP tests"
TAPS=${PROVE_TESTS:-$(cd "$WORK/src" && ls test/t/*.pl)}
(
	cd "$WORK/src" &&
	"${RUNAS[@]}" env PATH="$TBIN:$PATH" TESTDIR="$WORK/tap" \
		PG_REGRESS="$INST$PGXSDIR/test/regress/pg_regress" \
		PG_TEST_TIMEOUT_DEFAULT="${PG_TEST_TIMEOUT_DEFAULT:-120}" \
		prove -I "$INST$PGXSDIR/test/perl" -I "$WORK/src/test/perl" \
		${PROVE_FLAGS:-} $TAPS
) 2>&1 | tee "$WORK/tap.out"
tap_rc=${PIPESTATUS[0]}
tap_summary=$(grep -E '^Result:' "$WORK/tap.out" | tail -1)
[ -n "$tap_summary" ] || tap_summary="Result: did not finish"
if [ "$tap_rc" != 0 ]; then
	for f in "$WORK"/tap/tmp_check/log/regress_log_*; do
		[ -f "$f" ] && { echo "--- tail of $f"; tail -40 "$f"; }
	done
fi

# --- 5. summary ---------------------------------------------------------------
FAILED=0
[ "$unit_rc" = 0 ] && [ "$regress_rc" = 0 ] && [ "$tap_rc" = 0 ] || FAILED=1
echo
echo "==================== make test summary ===================="
echo "$unit_summary"
echo "pg_regress: $regress_summary"
echo "prove: $tap_summary"
if [ "$FAILED" = 0 ]; then
	echo "make test: all suites passed"
else
	echo "make test: FAILED (unit rc=$unit_rc, pg_regress rc=$regress_rc, prove rc=$tap_rc)"
fi
exit $FAILED
