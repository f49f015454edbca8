# shellcheck shell=bash
# test/deps.sh -- the Debian packages smpc needs, and installing them.
#
# Sourced (not run) by test/run.sh (`make test`) and test/demo.sh
# (`make demo`) once PG_CONFIG is set.  It sets
#   PGMAJOR    the PostgreSQL major version PG_CONFIG names (15 if PG_CONFIG
#              is not there yet: it comes with the packages)
#   PACKAGES   the Debian packages to build, install and test smpc
#   TEST_PACKAGES  what only `make test` needs besides: the BI clients of
#              test/t/014_bi_access.pl (unixODBC, psqlODBC, DBD::ODBC, a JDK
#              and pgjdbc)
# and defines
#   smpc_install_deps WHO [MORE_PACKAGES...]
# which, unless SKIP_DEPS=1, looks for missing packages: as root it installs
# them with apt-get; as an ordinary user it prints the apt-get line and exits
# 1.  WHO ("make test", "make demo") starts its messages.

PGMAJOR=15
if [ -x "$PG_CONFIG" ]; then
	PGMAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
fi

PACKAGES="gcc make libc6-dev perl libipc-run-perl \
postgresql-$PGMAJOR postgresql-server-dev-$PGMAJOR postgresql-client-$PGMAJOR \
libsodium-dev libssl-dev libpq-dev openssl"

TEST_PACKAGES="unixodbc odbc-postgresql libdbd-odbc-perl default-jdk-headless \
libpostgresql-jdbc-java"

smpc_install_deps() {
	local who=$1 missing="" p
	shift
	[ "${SKIP_DEPS:-0}" != 1 ] || return 0
	for p in $PACKAGES "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing="$missing $p"
		fi
	done
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" = 0 ]; then
		printf '== %s\n' "installing missing packages:$missing"
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get update -qq; then
			printf '%s: %s\n' "$who" "apt-get update failed" >&2
			exit 1
		fi
		# slim images drop /usr/share/man; the JDK's postinst links its man
		# pages there with update-alternatives and fails without the directory
		mkdir -p /usr/share/man/man1
		# shellcheck disable=SC2086
		if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
			printf '%s: %s\n' "$who" "apt-get install failed for:$missing" >&2
			exit 1
		fi
	else
		echo "$who: missing packages:$missing" >&2
		echo "install them with:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
		exit 1
	fi
}
