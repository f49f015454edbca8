#!/bin/bash
#
# test/demo.sh -- what `make demo` runs: the README walk-through as a program.
#
# Three hospitals -- st_marys, city and county -- each run their own
# PostgreSQL with their own admissions table.  They form the federation
# `research` with exactly the SQL of the README walk-through, and an analyst
# at st_marys asks joint questions over all three tables.  Every answer is
# checked against the same question asked of a plaintext union of the three
# tables (which in real life nobody would be allowed to build).
#
# 1. Checks for the Debian packages (test/deps.sh, shared with `make test`):
#    as root it installs the missing ones, otherwise it prints the apt-get
#    line and fails.
# 2. Builds smpc.  As root it installs it into the system PostgreSQL; as an
#    ordinary user into a private copy of the PostgreSQL tree under the
#    scratch directory (as test/run.sh does).
# 3. Starts three instances (as the `postgres` user when run as root) on
#    ports DEMO_PORT, DEMO_PORT+1, DEMO_PORT+2 and fills each with synthetic,
#    reproducible admissions.
# 4. Configures the federation, runs the joint queries at st_marys, prints
#    each with its result and PASS/FAIL against the plaintext union.
# 5. Stops the servers and removes the scratch directory, also on failure or
#    Ctrl-C, unless DEMO_KEEP=1.
#
# Environment: PG_CONFIG (default Debian's PostgreSQL 15), DEMO_PORT (first
# port, default 5441), DEMO_KEEP=1 leaves the servers running and the scratch
# directory in place, SKIP_DEPS=1 skips the package check.
# Exits non-zero if any joint query failed or differed from the plaintext.

set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
DEMO_PORT=${DEMO_PORT:-5441}
DEMO_KEEP=${DEMO_KEEP:-0}

# PGMAJOR, PACKAGES and smpc_install_deps, shared with test/run.sh
# shellcheck source=test/deps.sh
. "$ROOT/test/deps.sh"

# The three hospitals: name, number of admissions, random seed, and the
# cumulative shares of cardiology, geriatrics, maternity and oncology (the
# rest is orthopaedics).  Different sizes and case mixes on purpose.
HOSPITALS=(st_marys city county)
declare -A ROWS=([st_marys]=3000 [city]=8000 [county]=20000)
declare -A SEED=([st_marys]=0.11 [city]=0.22 [county]=0.33)
declare -A WARD_MIX=([st_marys]="0.15 0.30 0.65 0.80" [city]="0.35 0.50 0.60 0.85"
	[county]="0.20 0.55 0.65 0.75")
declare -A PORT PEER_PASSWORD NODE_KEY FINGERPRINT

# Groups with fewer rows than this are withheld: the federation's
# min_group_size, left at its default by the README's CREATE SERVER.
MIN_GROUP_SIZE=5

WORK=""           # scratch directory
TBIN=""           # PostgreSQL binaries the servers run from
SERVERS_UP=()     # data directories of running servers
RUNAS=()          # `runuser -u postgres --` when run as root
KEEP_SHOWN=0      # keep_notice has been printed
SUMMARY_SHOWN=0   # the last line has been printed

say() { printf '\n== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
die() {
	printf 'make demo: %s\n' "$*" >&2
	exit 1
}

# --- scratch directory, cleanup ----------------------------------------------

# With DEMO_KEEP=1: how to reach the servers, stop them and remove it all.
keep_notice() {
	local h dir run=${RUNAS[*]}
	run=${run:+$run }
	KEEP_SHOWN=1
	echo
	echo "make demo: DEMO_KEEP=1: the servers are left running, files kept in $WORK"
	for h in "${HOSPITALS[@]}"; do
		[ -n "${PORT[$h]:-}" ] || continue
		echo "  $h: ${run}$TBIN/psql -h $WORK/sock -p ${PORT[$h]} -d research"
	done
	echo "  plaintext union: ${run}$TBIN/psql -h $WORK/sock -p ${PORT[st_marys]} -d plaintext_union"
	echo "to stop the servers and remove everything:"
	for dir in "${SERVERS_UP[@]}"; do
		echo "  ${run}$TBIN/pg_ctl -D $dir -m fast stop"
	done
	echo "  rm -rf $WORK"
}

# On any exit (success, failure, Ctrl-C): stop the servers and remove the
# scratch directory, or with DEMO_KEEP=1 say how to do that later.  After
# the summary line nothing more is printed.
cleanup() {
	local rc=$? dir
	trap - EXIT INT TERM
	[ -n "$WORK" ] || exit "$rc"
	if [ "$DEMO_KEEP" = 1 ]; then
		[ "$KEEP_SHOWN" = 1 ] || keep_notice
		exit "$rc"
	fi
	case $rc in
	0 | 130 | 143) ;;
	*) [ "$SUMMARY_SHOWN" = 1 ] || show_server_logs ;;
	esac
	for dir in "${SERVERS_UP[@]}"; do
		"${RUNAS[@]}" "$TBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 ||
			"${RUNAS[@]}" "$TBIN/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1
	done
	cd / && rm -rf "$WORK"
	case $rc in
	0) ;;
	130 | 143) echo "make demo: interrupted; servers stopped, $WORK removed" >&2 ;;
	*) [ "$SUMMARY_SHOWN" = 1 ] ||
		echo "make demo: failed; DEMO_KEEP=1 keeps the servers and their logs" >&2 ;;
	esac
	exit "$rc"
}

# The last lines of each server log that say something went wrong.
show_server_logs() {
	local h log
	for h in "${HOSPITALS[@]}"; do
		log=$WORK/$h.log
		[ -f "$log" ] || continue
		if grep -qE 'ERROR|FATAL|PANIC' "$log"; then
			echo "--- last errors in the log of $h"
			grep -E 'ERROR|FATAL|PANIC' "$log" | tail -5
		fi
	done
}

make_scratch() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/smpc-demo.XXXXXX") || die "mktemp failed"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$WORK/sock"
	chmod 700 "$WORK/sock"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 ||
			die "user postgres does not exist (is postgresql-$PGMAJOR installed?)"
		chown postgres: "$WORK" "$WORK/sock"
		chmod 755 "$WORK"
		RUNAS=(runuser -u postgres --)
	fi
	# the servers' user may not be allowed into the caller's directory
	cd "$WORK" || die "cannot enter $WORK"
}

# --- 1. packages, ports --------------------------------------------------------

# Something already listening on 127.0.0.1:$1?
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports() {
	local i p h
	case $DEMO_PORT in
	'' | *[!0-9]*) die "DEMO_PORT must be a port number, not '$DEMO_PORT'" ;;
	esac
	if [ "$DEMO_PORT" -lt 1024 ] || [ "$DEMO_PORT" -gt 65533 ]; then
		die "DEMO_PORT must be between 1024 and 65533"
	fi
	i=0
	for h in "${HOSPITALS[@]}"; do
		p=$((DEMO_PORT + i))
		i=$((i + 1))
		if port_in_use "$p"; then
			die "port $p (for $h) is already in use on 127.0.0.1; choose other ports with DEMO_PORT=N (uses N, N+1, N+2)"
		fi
		PORT[$h]=$p
	done
}

# --- 2. build and install --------------------------------------------------------

# Sets TBIN, the directory of the PostgreSQL binaries the servers run from.
build_and_install() {
	local bindir sharedir pkglibdir inst
	bindir=$("$PG_CONFIG" --bindir)
	say "building smpc against $("$PG_CONFIG" --version)"
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" all || die "build failed"
	if [ "$(id -u)" = 0 ]; then
		info "installing smpc into $("$PG_CONFIG" --pkglibdir)"
		make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null || die "make install failed"
		TBIN=$bindir
		return
	fi
	# Not root: a private copy of the PostgreSQL tree, which finds its share
	# and lib directories relative to its binaries, with smpc installed in it.
	sharedir=$("$PG_CONFIG" --sharedir)
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	inst=$WORK/install
	info "installing PostgreSQL and smpc into $inst"
	mkdir -p "$inst$(dirname "$bindir")" "$inst$(dirname "$sharedir")" "$inst$(dirname "$pkglibdir")"
	cp -a "$(dirname "$bindir")" "$inst$(dirname "$(dirname "$bindir")")/" ||
		die "copying $bindir failed"
	[ -d "$inst$sharedir" ] || cp -a "$sharedir" "$inst$(dirname "$sharedir")/"
	[ -d "$inst$pkglibdir" ] || cp -a "$pkglibdir" "$inst$(dirname "$pkglibdir")/"
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$inst" >/dev/null ||
		die "install into $inst failed"
	TBIN=$inst$bindir
	"$TBIN/postgres" --version >/dev/null || die "private install does not run"
}

# --- 3. three hospitals ------------------------------------------------------------

# psql_at HOSPITAL DATABASE [psql options...]: psql on that hospital's
# instance over its Unix socket, as the instance's superuser.
psql_at() {
	local h=$1 db=$2
	shift 2
	"${RUNAS[@]}" "$TBIN/psql" -X -q -v ON_ERROR_STOP=1 \
		-h "$WORK/sock" -p "${PORT[$h]}" -d "$db" "$@"
}

# Creates and starts hospital $1's instance.  Members reach each other over
# TCP on 127.0.0.1 as smpc_peer with a password; locally only the instance's
# own OS user gets in.
start_instance() {
	local h=$1 data=$WORK/$1
	"${RUNAS[@]}" "$TBIN/initdb" -D "$data" -E UTF8 --locale=C --no-sync \
		--auth-local=peer --auth-host=scram-sha-256 >"$WORK/$h.initdb.log" 2>&1 ||
		die "initdb for $h failed; see $WORK/$h.initdb.log"
	"${RUNAS[@]}" tee -a "$data/postgresql.conf" >/dev/null <<EOF

# smpc demo: hospital $h
cluster_name = '$h'
port = ${PORT[$h]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK/sock'
shared_preload_libraries = 'smpc'
fsync = off
EOF
	"${RUNAS[@]}" tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER       ADDRESS       METHOD
local   all       all                      peer
host    research  smpc_peer  127.0.0.1/32  scram-sha-256
EOF
	"${RUNAS[@]}" "$TBIN/pg_ctl" -D "$data" -l "$WORK/$h.log" -w start >/dev/null ||
		die "the server of $h did not start: $(tail -3 "$WORK/$h.log")"
	SERVERS_UP+=("$data")
	psql_at "$h" postgres -c 'CREATE DATABASE research' || die "CREATE DATABASE at $h failed"
}

# Fills clinical.admissions at hospital $1 with ROWS[$1] synthetic patients.
# setseed makes every run produce the same rows.  Nothing here is published
# as is: patient_name never leaves the hospital.
load_admissions() {
	local h=$1 c
	read -ra c <<<"${WARD_MIX[$h]}"
	psql_at "$h" research -v seed="${SEED[$h]}" -v rows="${ROWS[$h]}" \
		-v c1="${c[0]}" -v c2="${c[1]}" -v c3="${c[2]}" -v c4="${c[3]}" >/dev/null <<'SQL' ||
CREATE SCHEMA clinical;
CREATE TABLE clinical.admissions (
    patient_name text NOT NULL,   -- never published
    age          int NOT NULL,
    sex          text NOT NULL,   -- 'F' or 'M'
    ward         text,            -- NULL: not recorded
    los          numeric(6,1),    -- length of stay in days; NULL: still admitted
    cost         float8           -- treatment cost so far
);
SELECT setseed(:seed);
-- one row of uniform draws per patient, then the patient made from them
INSERT INTO clinical.admissions
SELECT (ARRAY['Ada','Ben','Chloe','Dev','Eva','Farid','Grace','Hugo','Iris','Jon'])[1 + floor(u_name * 10)::int]
         || ' ' || (ARRAY['Smith','Jones','Patel','Nowak','Garcia','Kim','Okafor','Rossi'])[1 + floor(u_name2 * 8)::int],
       age, sex, ward, los,
       round((coalesce(los, 1.0) * (300 + 700 * u_cost))::numeric, 2)::float8 + u_cost / 3
  FROM (SELECT w.*,
               CASE WHEN u_los < 0.02 THEN NULL
                    ELSE round((CASE ward WHEN 'geriatrics' THEN 9 WHEN 'oncology' THEN 7
                                          WHEN 'cardiology' THEN 5 WHEN 'maternity' THEN 2.5
                                          ELSE 4 END
                                * (0.2 + 1.6 * u_los2) + age / 40.0)::numeric, 1)
               END AS los
          FROM (SELECT d.*,
                       CASE WHEN ward = 'maternity' THEN 'F'
                            WHEN u_sex < 0.5 THEN 'F' ELSE 'M' END AS sex,
                       CASE coalesce(ward, 'orthopaedics')
                            WHEN 'maternity'  THEN 18 + floor(u_age * 27)::int
                            WHEN 'geriatrics' THEN 65 + floor(u_age * 35)::int
                            WHEN 'cardiology' THEN 30 + floor(u_age * 65)::int
                            WHEN 'oncology'   THEN 20 + floor(u_age * 70)::int
                            ELSE 5 + floor(u_age * 90)::int END AS age
                  FROM (SELECT g.*,
                               CASE WHEN u_ward >= 0.997 THEN NULL
                                    WHEN u_ward < :c1 THEN 'cardiology'
                                    WHEN u_ward < :c2 THEN 'geriatrics'
                                    WHEN u_ward < :c3 THEN 'maternity'
                                    WHEN u_ward < :c4 THEN 'oncology'
                                    ELSE 'orthopaedics' END AS ward
                          FROM (SELECT i, random() AS u_ward, random() AS u_age,
                                       random() AS u_sex, random() AS u_los,
                                       random() AS u_los2, random() AS u_cost,
                                       random() AS u_name, random() AS u_name2
                                  FROM generate_series(1, :rows) i) g) d) w
         ORDER BY i) p;
ANALYZE clinical.admissions;
SQL
		die "loading the admissions of $h failed"
}

# --- 4. the federation: the README walk-through --------------------------------

# README steps 1 and 2 at hospital $1: the extension, the node's identity
# and the role other members log in as.
create_identity() {
	local h=$1 out
	PEER_PASSWORD[$h]=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	out=$(psql_at "$h" research -At -F ' ' -v name="$h" -v peer_password="${PEER_PASSWORD[$h]}" <<'SQL'
CREATE EXTENSION smpc;
-- 1. this node's identity
SELECT public_key, fingerprint FROM smpc.init_node(:'name');
-- 2. the role other members log in as
CREATE ROLE smpc_peer LOGIN PASSWORD :'peer_password';
GRANT EXECUTE ON FUNCTION smpc.exchange(bytea) TO smpc_peer;
SQL
	) || die "creating the identity of $h failed"
	NODE_KEY[$h]=${out%% *}
	FINGERPRINT[$h]=${out#* }
	info "$h: node key ${NODE_KEY[$h]:0:18}..., fingerprint ${FINGERPRINT[$h]}"
}

# README steps 3 and 4 at hospital $1: a server per other member with its
# pinned key and credentials, and the federation server.
connect_members() {
	local h=$1 o members=""
	for o in "${HOSPITALS[@]}"; do
		[ "$o" != "$h" ] || continue
		members=${members:+$members, }$o
		psql_at "$h" research -v member="$o" -v port="${PORT[$o]}" \
			-v node_key="${NODE_KEY[$o]}" -v peer_password="${PEER_PASSWORD[$o]}" <<'SQL' ||
-- 3. one server per other member, with its pinned public key
CREATE SERVER :"member" FOREIGN DATA WRAPPER smpc
  OPTIONS (host '127.0.0.1', port :'port', dbname 'research', node_key :'node_key');
CREATE USER MAPPING FOR PUBLIC SERVER :"member"
  OPTIONS (user 'smpc_peer', password :'peer_password');
SQL
			die "$h: creating the server for member $o failed"
	done
	psql_at "$h" research -v members="$members" <<'SQL' ||
-- 4. the federation; min_group_size stays at its default (5)
CREATE SERVER research FOREIGN DATA WRAPPER smpc
  OPTIONS (members :'members', min_members '3');
SQL
		die "$h: creating the federation server failed"
	info "$h: members $members"
}

# README step 5 at hospital $1, done by a data steward who is not a
# superuser (joint queries run as the publishing role at each member).
# patient_name stays out; ward may be revealed as a group key, sex has a
# public domain (its values are never exchanged).
publish_admissions() {
	local h=$1
	psql_at "$h" research >/dev/null <<'SQL' || die "$h: publishing the admissions failed"
CREATE ROLE steward;
GRANT USAGE ON SCHEMA clinical TO steward;
GRANT SELECT ON clinical.admissions TO steward;
GRANT EXECUTE ON FUNCTION smpc.publish(text, regclass, text[], jsonb, text[], boolean, text[], integer) TO steward;
GRANT EXECUTE ON FUNCTION smpc.withdraw(text) TO steward;
SET ROLE steward;
-- 5. publish what this node contributes
SELECT smpc.publish('admissions', 'clinical.admissions',
                    columns => '{age,los,ward,sex,cost}',
                    group_keys => '{"ward": "reveal", "sex": ["F","M"]}');
RESET ROLE;
SQL
}

# README step 6 at every hospital: every other member reachable with the
# pinned key; st_marys's view is printed.
check_federation() {
	local h bad
	for h in "${HOSPITALS[@]}"; do
		bad=$(psql_at "$h" research -At -c "
			SELECT member || ': ' || coalesce(error, 'key does not match')
			  FROM smpc.federation_status('research')
			 WHERE NOT (reachable AND key_matches AND error IS NULL)") ||
			die "$h: smpc.federation_status failed"
		[ -z "$bad" ] || die "$h: federation unhealthy: $bad"
	done
	info "st_marys: SELECT member, reachable, tls, key_matches, version, rtt_ms FROM smpc.federation_status('research');"
	psql_at st_marys research -c "
		SELECT member, reachable, tls, key_matches, version, round(rtt_ms::numeric, 1) AS rtt_ms
		  FROM smpc.federation_status('research') ORDER BY member" | sed -e '/^$/d' -e 's/^/   /'
}

# README step 7 at st_marys: the analyst's federated tables.
import_federation() {
	psql_at st_marys research <<'SQL' || die "IMPORT FOREIGN SCHEMA at st_marys failed"
-- 7. federated tables for every dataset all members publish; a role runs
--    joint queries with USAGE on the federation and SELECT on the table
CREATE SCHEMA federation;
IMPORT FOREIGN SCHEMA smpc_datasets FROM SERVER research INTO federation;
CREATE ROLE analyst LOGIN;
GRANT USAGE ON FOREIGN SERVER research TO analyst;
GRANT USAGE ON SCHEMA federation TO analyst;
GRANT SELECT ON federation.admissions TO analyst;
SQL
	info "st_marys: federation.admissions ($(psql_at st_marys research -At -c "
		SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
		  FROM pg_attribute
		 WHERE attrelid = 'federation.admissions'::regclass AND attnum > 0 AND NOT attisdropped"))"
}

# The plaintext union: the published columns of all three tables copied into
# the database plaintext_union at st_marys, to check the joint answers.
build_plaintext_union() {
	local h
	psql_at st_marys postgres -c 'CREATE DATABASE plaintext_union' ||
		die "creating the database plaintext_union failed"
	psql_at st_marys plaintext_union -c '
		CREATE TABLE admissions (hospital text, age int, los numeric(6,1),
		                         ward text, sex text, cost float8)' ||
		die "creating the plaintext union table failed"
	for h in "${HOSPITALS[@]}"; do
		psql_at "$h" research -v h="$h" <<'SQL' |
COPY (SELECT :'h', age, los, ward, sex, cost FROM clinical.admissions) TO STDOUT
SQL
			psql_at st_marys plaintext_union -c 'COPY admissions FROM STDIN' ||
			die "copying the admissions of $h into the plaintext union failed"
	done
	psql_at st_marys plaintext_union -c 'ANALYZE admissions' || die "ANALYZE failed"
	info "$(psql_at st_marys plaintext_union -At -c "
		SELECT 'plaintext union: ' || sum(n) || ' rows (' ||
		       string_agg(hospital || ' ' || n, ', ' ORDER BY n) || ')'
		  FROM (SELECT hospital, count(*) AS n FROM admissions GROUP BY hospital) s")"
}

# --- 5. joint queries against the plaintext union ----------------------------------

CHECKS=0        # joint queries run
MATCHED=0       # ... whose answer equals the plaintext union's
REFUSALS_OK=1   # every refusal came as expected

# Column types of a query's result ("name<TAB>type" lines) via \gdesc,
# without running it.
describe() {
	local h=$1 db=$2 sql=$3
	printf '%s\n\\gdesc\n' "$sql" | psql_at "$h" "$db" -At -F $'\t'
}

# Runs $3 at $1/$2; result (header and rows, tab-separated, NULL as
# "(null)") to file $4, messages to $5.
run_tsv() {
	local h=$1 db=$2 sql=$3 out=$4 err=$5
	psql_at "$h" "$db" -A -F $'\t' -P footer=off -P null='(null)' \
		-v VERBOSITY=verbose -c "$sql" >"$out" 2>"$err"
}

# Prints a tab-separated result like psql's aligned format; the columns
# whose type is numeric are right-aligned.
render() {
	local tsv=$1 types=$2 right
	right=$(awk -F '\t' '{ printf "%d ", ($2 ~ /^(smallint|integer|bigint|numeric|real|double precision)/) }' "$types")
	awk -F '\t' -v right="$right" '
		function pad(n,   s) { s = ""; while (n-- > 0) s = s " "; return s }
		function dash(n,   s) { s = ""; while (n-- > 0) s = s "-"; return s }
		NR == 1 { n = NF; split(right, r, " ")
		          for (i = 1; i <= n; i++) { h[i] = $i; w[i] = length($i) } next }
		{ rows++; for (i = 1; i <= n; i++) { c[rows, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
		END {
			line = ""; sep = ""
			for (i = 1; i <= n; i++) {
				l = int((w[i] - length(h[i])) / 2)
				line = line (i > 1 ? "|" : "") " " pad(l) h[i] pad(w[i] - length(h[i]) - l) " "
				sep = sep (i > 1 ? "+" : "") dash(w[i] + 2)
			}
			print "    " line; print "    " sep
			for (j = 1; j <= rows; j++) {
				line = ""
				for (i = 1; i <= n; i++) {
					v = c[j, i]; p = pad(w[i] - length(v))
					line = line (i > 1 ? "|" : "") " " (r[i] ? p v : v p) " "
				}
				print "    " line
			}
			printf "    (%d row%s)\n", rows, rows == 1 ? "" : "s"
		}' "$tsv"
}

# Compares two results (header line skipped) value by value, given the
# column types: floats within 1e-6 absolute + 1e-9 relative, integers and
# numerics numerically (trailing zeros after the point do not count),
# everything else as text.  Prints the differences; fails if any.
compare() {
	local joint=$1 plain=$2 types=$3
	awk -F '\t' -v joint="$joint" -v plain="$plain" -v types="$types" '
		function num(x) {      # canonical text of an exact number
			if (x ~ /^-?[0-9]*\.[0-9]*$/) { sub(/0+$/, "", x); sub(/\.$/, "", x) }
			if (x == "-0") x = "0"
			return x
		}
		function abs(x) { return x < 0 ? -x : x }
		function same(a, b, t,   m) {
			if (a == b) return 1
			if (a == "(null)" || b == "(null)") return 0
			if (t == "double precision" || t == "real") {
				m = abs(a + 0) > abs(b + 0) ? abs(a + 0) : abs(b + 0)
				return abs(a - b) <= 1e-6 + 1e-9 * m
			}
			if (t ~ /^(smallint|integer|bigint|numeric)/) return num(a) == num(b)
			return 0
		}
		BEGIN {
			while ((getline line < types) > 0) { split(line, f, "\t"); t[++n] = f[2] }
			nj = 0; while ((getline line < joint) > 0) j[nj++] = line
			np = 0; while ((getline line < plain) > 0) p[np++] = line
			bad = 0
			if (nj != np) {
				printf "      %d rows jointly, %d in the plaintext union\n", nj - 1, np - 1
				bad = 1
			}
			for (r = 1; r < nj && r < np; r++) {
				split(j[r], a, "\t"); split(p[r], b, "\t")
				for (i = 1; i <= n; i++)
					if (!same(a[i], b[i], t[i])) {
						printf "      row %d, column %d: joint %s, plaintext %s\n", r, i, a[i], b[i]
						bad = 1
					}
			}
			exit bad
		}'
}

# Time in seconds since $1 (from date +%s%N), two decimals.
elapsed() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10))
}

# check EXPLANATION JOINT_SQL PLAINTEXT_SQL
# Runs JOINT_SQL at st_marys and prints it with its result; runs
# PLAINTEXT_SQL over the plaintext union and says whether the answers
# match.  A joint answer withheld as a whole (SQLSTATE 42S02) counts as no
# rows: the plaintext SQL applies the same min_group_size rule.
check() {
	local what=$1 joint=$2 plain=$3 d=$WORK/q$((CHECKS + 1)) t0 took state ok=1
	CHECKS=$((CHECKS + 1))
	mkdir -p "$d"
	say "query $CHECKS: $what"
	printf '%s;\n' "$joint" | sed 's/^/    /'
	echo
	t0=$(date +%s%N)
	if run_tsv st_marys research "$joint" "$d/joint.tsv" "$d/joint.err"; then
		state=ok
	elif grep -q '^ERROR:  42S02:' "$d/joint.err"; then
		state=withheld
	else
		state=error
	fi
	took=$(elapsed "$t0")
	# notices (e.g. withheld groups) and errors, without the location lines
	grep -v '^LOCATION:' "$d/joint.err" | sed -E 's/^(NOTICE|WARNING|INFO):  [0-9A-Z]{5}: /\1:  /; s/^/    /'
	describe st_marys research "$joint" >"$d/joint.types" 2>>"$d/joint.err" || true
	if ! describe st_marys plaintext_union "$plain" >"$d/plain.types" 2>"$d/plain.err" ||
		! run_tsv st_marys plaintext_union "$plain" "$d/plain.tsv" "$d/plain.err"; then
		echo "    the plaintext query failed:"
		sed 's/^/      /' "$d/plain.err"
		ok=0
	fi
	case $state in
	ok) render "$d/joint.tsv" "$d/joint.types" ;;
	withheld)
		echo "    (withheld as a whole: fewer than $MIN_GROUP_SIZE patients)"
		head -1 "$d/plain.tsv" >"$d/joint.tsv" 2>/dev/null
		cp "$d/plain.types" "$d/joint.types" 2>/dev/null
		;;
	error) ok=0 ;;
	esac
	if [ "$ok" = 1 ]; then
		if ! cmp -s <(cut -f2 "$d/joint.types") <(cut -f2 "$d/plain.types"); then
			echo "    result types differ: joint ($(cut -f2 "$d/joint.types" | paste -sd, -))," \
				"plaintext ($(cut -f2 "$d/plain.types" | paste -sd, -))"
			ok=0
		fi
		compare "$d/joint.tsv" "$d/plain.tsv" "$d/plain.types" || ok=0
	fi
	if [ "$ok" = 1 ]; then
		MATCHED=$((MATCHED + 1))
		echo "    PASS: same as the plaintext union ($took)"
	else
		if [ "$state" = error ]; then
			echo "    FAIL: the joint query failed; over the plaintext union it is:"
		else
			echo "    FAIL: differs from the plaintext union, where it is:"
		fi
		printf '%s;\n' "$plain" | sed 's/^/      /'
		if [ -s "$d/plain.tsv" ]; then
			echo "    with the answer:"
			render "$d/plain.tsv" "$d/plain.types" | sed 's/^/  /'
		fi
	fi
}

# refusal EXPLANATION SQL SQLSTATE: SQL must fail at st_marys with SQLSTATE.
refusal() {
	local what=$1 sql=$2 want=$3 err=$WORK/refusal.err
	say "not allowed: $what"
	printf '%s;\n' "$sql" | sed 's/^/    /'
	if run_tsv st_marys research "$sql" /dev/null "$err"; then
		echo "    FAIL: the query ran, it should have been refused with SQLSTATE $want"
		REFUSALS_OK=0
	elif grep -q "^ERROR:  $want:" "$err"; then
		grep -Ev '^(LOCATION|STATEMENT):' "$err" | sed 's/^/    /'
		echo "    PASS: refused with SQLSTATE $want"
	else
		sed 's/^/    /' "$err"
		echo "    FAIL: expected SQLSTATE $want"
		REFUSALS_OK=0
	fi
}

# The questions.  Each joint query is followed by the same question over the
# plaintext union with plain aggregates, with groups of fewer than
# MIN_GROUP_SIZE patients removed (HAVING count(*) >= 5), which the
# federation does by itself.
run_queries() {
	check "admissions, bed-days and mean age over all three hospitals" \
"SELECT smpc_count(*) AS admissions, smpc_sum(los) AS bed_days, smpc_avg(age) AS mean_age
  FROM federation.admissions" \
"SELECT count(*) AS admissions, sum(los) AS bed_days, avg(age) AS mean_age
  FROM admissions HAVING count(*) >= 5"

	check "plain count/avg work too; count(los) skips patients still admitted (los is NULL)" \
"SELECT count(*) AS admissions, count(los) AS discharged,
       count(*) - count(los) AS still_admitted, round(avg(los), 2) AS mean_los
  FROM federation.admissions" \
"SELECT count(*) AS admissions, count(los) AS discharged,
       count(*) - count(los) AS still_admitted, round(avg(los), 2) AS mean_los
  FROM admissions HAVING count(*) >= 5"

	check "discharged patients aged 65 or more: stay and cost (cost is float8)" \
"SELECT smpc_count(*) AS patients, smpc_avg(los) AS mean_los,
       smpc_sum(cost) AS total_cost, smpc_avg(cost) AS mean_cost
  FROM federation.admissions
 WHERE age >= 65 AND los IS NOT NULL" \
"SELECT count(*) AS patients, avg(los) AS mean_los,
       sum(cost) AS total_cost, avg(cost) AS mean_cost
  FROM admissions
 WHERE age >= 65 AND los IS NOT NULL HAVING count(*) >= 5"

	check "per ward (a \"reveal\" group key: which wards exist is revealed; NULL is a group)" \
"SELECT ward, smpc_count(*) AS admissions, smpc_avg(los) AS mean_los,
       smpc_sum(cost) AS total_cost
  FROM federation.admissions
 GROUP BY ward ORDER BY ward" \
"SELECT ward, count(*) AS admissions, avg(los) AS mean_los,
       sum(cost) AS total_cost
  FROM admissions
 GROUP BY ward HAVING count(*) >= 5 ORDER BY ward"

	check "per sex (a public domain, F and M: group keys are never exchanged)" \
"SELECT sex, count(*) AS admissions, avg(age) AS mean_age, sum(los) AS bed_days
  FROM federation.admissions
 GROUP BY sex ORDER BY sex" \
"SELECT sex, count(*) AS admissions, avg(age) AS mean_age, sum(los) AS bed_days
  FROM admissions
 GROUP BY sex HAVING count(*) >= 5 ORDER BY sex"

	check "spread and association per ward, in the same session: stddev of the stay (exact), correlation and regression of cost on age" \
"SELECT ward, stddev_samp(los) AS sd_los, var_pop(age) AS var_age,
       corr(cost, age) AS r_cost_age, regr_slope(cost, age) AS cost_per_year,
       regr_intercept(cost, age) AS cost_at_0
  FROM federation.admissions
 GROUP BY ward ORDER BY ward" \
"SELECT ward, stddev_samp(los) AS sd_los, var_pop(age) AS var_age,
       corr(cost, age) AS r_cost_age, regr_slope(cost, age) AS cost_per_year,
       regr_intercept(cost, age) AS cost_at_0
  FROM admissions
 GROUP BY ward HAVING count(*) >= 5 ORDER BY ward"

	check "wards with at least 100 patients aged 65+, longest mean stay first (HAVING, ORDER BY)" \
"SELECT ward, smpc_avg(los) AS mean_los, smpc_count(*) AS patients
  FROM federation.admissions
 WHERE age >= 65
 GROUP BY ward HAVING smpc_count(*) >= 100
 ORDER BY mean_los DESC, ward" \
"SELECT ward, avg(los) AS mean_los, count(*) AS patients
  FROM admissions
 WHERE age >= 65
 GROUP BY ward HAVING count(*) >= 5 AND count(*) >= 100
 ORDER BY mean_los DESC, ward"

	check "women aged 85+ still admitted, per ward (groups under $MIN_GROUP_SIZE patients are withheld)" \
"SELECT ward, smpc_count(*) AS still_admitted
  FROM federation.admissions
 WHERE los IS NULL AND age >= 85 AND sex = 'F'
 GROUP BY ward ORDER BY ward" \
"SELECT ward, count(*) AS still_admitted
  FROM admissions
 WHERE los IS NULL AND age >= 85 AND sex = 'F'
 GROUP BY ward HAVING count(*) >= 5 ORDER BY ward"

	check "women aged 40-64 in cardiology or oncology with stays over 3 days (IN, BETWEEN, LIKE, a cast)" \
"SELECT ward, smpc_count(*) AS patients, smpc_sum(los) AS bed_days, smpc_sum(age) AS sum_age
  FROM federation.admissions
 WHERE ward IN ('cardiology', 'oncology') AND age BETWEEN 40 AND 64
   AND sex LIKE 'F%' AND los::int > 3
 GROUP BY ward ORDER BY ward" \
"SELECT ward, count(*) AS patients, sum(los) AS bed_days, sum(age) AS sum_age
  FROM admissions
 WHERE ward IN ('cardiology', 'oncology') AND age BETWEEN 40 AND 64
   AND sex LIKE 'F%' AND los::int > 3
 GROUP BY ward HAVING count(*) >= 5 ORDER BY ward"

	check "the three wards with the longest mean stay (a CTE and LIMIT over joint results)" \
"WITH per_ward AS (
  SELECT ward, avg(los) AS mean_los FROM federation.admissions
   WHERE ward IS NOT NULL GROUP BY ward)
SELECT ward, round(mean_los, 2) AS mean_los_days
  FROM per_ward ORDER BY mean_los DESC, ward LIMIT 3" \
"WITH per_ward AS (
  SELECT ward, avg(los) AS mean_los FROM admissions
   WHERE ward IS NOT NULL GROUP BY ward HAVING count(*) >= 5)
SELECT ward, round(mean_los, 2) AS mean_los_days
  FROM per_ward ORDER BY mean_los DESC, ward LIMIT 3"

	check "a question about fewer than $MIN_GROUP_SIZE patients is not answered (here: one patient)" \
"SELECT smpc_avg(los) AS mean_los, smpc_avg(cost) AS mean_cost
  FROM federation.admissions
 WHERE ward IS NULL AND age >= 94" \
"SELECT avg(los) AS mean_los, avg(cost) AS mean_cost
  FROM admissions
 WHERE ward IS NULL AND age >= 94 HAVING count(*) >= 5"

	refusal "reading rows of a federated table" \
		"SELECT * FROM federation.admissions WHERE age > 90" 42501
	refusal "unpublished columns are not even there" \
		"SELECT count(patient_name) FROM federation.admissions" 42703
}

# --- main ----------------------------------------------------------------------------

main() {
	local h
	smpc_install_deps "make demo"
	[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found; set PG_CONFIG"
	check_ports
	make_scratch
	build_and_install

	say "three hospitals, each its own PostgreSQL (scratch directory $WORK)"
	for h in "${HOSPITALS[@]}"; do
		start_instance "$h"
		load_admissions "$h"
		info "$h: port ${PORT[$h]}, ${ROWS[$h]} admissions in clinical.admissions" \
			"(patient_name, age, sex, ward, los, cost)"
	done

	say "each hospital: CREATE EXTENSION smpc, smpc.init_node, role smpc_peer (README steps 1-2)"
	for h in "${HOSPITALS[@]}"; do
		create_identity "$h"
	done
	say "each hospital: servers for the other two with pinned keys, federation research (steps 3-4)"
	for h in "${HOSPITALS[@]}"; do
		connect_members "$h"
	done
	say "each hospital: the steward publishes age, los, ward, sex, cost -- not patient_name (step 5)"
	for h in "${HOSPITALS[@]}"; do
		publish_admissions "$h"
	done
	say "federation health (step 6)"
	check_federation
	say "the analyst at st_marys imports the federated tables (step 7)"
	import_federation
	say "for checking only: the plaintext union of the published columns"
	build_plaintext_union

	run_queries

	[ "$DEMO_KEEP" != 1 ] || keep_notice
	echo
	if [ "$REFUSALS_OK" != 1 ]; then
		echo "demo: a query that must be refused was not refused as expected"
	fi
	SUMMARY_SHOWN=1
	echo "demo: $MATCHED of $CHECKS joint queries match the plaintext union"
	[ "$MATCHED" = "$CHECKS" ] && [ "$REFUSALS_OK" = 1 ]
}

main "$@"
