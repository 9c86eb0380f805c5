#!/bin/bash
# Entrypoint of failoverkit's local MariaDB lab image (Debian's mariadb-server package). It keeps the contract of the
# official `mariadb` image's entrypoint, which Testcontainers' MariaDBContainer (and MySQLContainer users) rely on,
# written anew for this image:
#   - a first argument starting with '-' is a server option: the command becomes `mariadbd ARGS...`;
#   - MARIADB_ROOT_PASSWORD / MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MARIADB_RANDOM_ROOT_PASSWORD, MARIADB_ROOT_HOST
#     (default %), MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD, each also read from its MYSQL_* name when the
#     MARIADB_* one is unset, and from VAR_FILE when that is set;
#   - on an empty datadir: the system tables (mariadb-install-db), a temporary server without networking that
#     logs "ready for connections" once, the accounts and database (root's own accounts not binlogged, as there), then
#     /docker-entrypoint-initdb.d/* in name order (*.sh executed when executable else sourced, with
#     docker_process_sql available; *.sql, *.sql.gz, *.sql.xz, *.sql.zst run as root in MARIADB_DATABASE), then
#     "MariaDB init process done. Ready for start up.";
#   - the server runs as the mysql user and replaces this script (PID 1 of the container is mariadbd itself, so a
#     signal sent to the container reaches the server), and logs "ready for connections" when it accepts clients.
# A datadir that already holds a database is started as it is (no init, no environment needed).
set -eo pipefail
shopt -s nullglob

log() { local level=$1; shift; printf '%s 0 [%s] [Entrypoint]: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$level" "$*"; }
note() { log Note "$@"; }
warn() { log Warn "$@" >&2; }
fail() { log ERROR "$@" >&2; exit 1; }

if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
	exec "$@"
fi
for arg in "$@"; do
	case "$arg" in -'?'|--help|--print-defaults|-V|--version) exec "$@" ;; esac
done

# VAR from VAR_FILE when set; MARIADB_X from MYSQL_X when unset.
from_file() {
	local var=$1 file="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then fail "both $var and $file are set (they are exclusive)"; fi
	if [ -n "${!file:-}" ]; then export "$var=$(< "${!file}")"; fi
	unset "$file"
}
for suffix in ROOT_PASSWORD ROOT_HOST DATABASE USER PASSWORD; do
	from_file "MYSQL_$suffix"
	from_file "MARIADB_$suffix"
	maria="MARIADB_$suffix" mysql="MYSQL_$suffix"
	if [ -z "${!maria:-}" ] && [ -n "${!mysql:-}" ]; then export "$maria=${!mysql}"; fi
done
: "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
: "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
: "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
: "${MARIADB_ROOT_HOST:=%}"
export MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MARIADB_RANDOM_ROOT_PASSWORD MARIADB_INITDB_SKIP_TZINFO MARIADB_ROOT_HOST

# The server's own idea of its datadir and socket, with the options given (as the official entrypoint asks it).
server_setting() {
	"$@" --verbose --help 2>/dev/null | awk -v name="$SETTING" '$1 == name && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }'
}
SETTING=datadir DATADIR=$(server_setting "$@")
SETTING=socket SOCKET=$(server_setting "$@")
DATADIR=${DATADIR%/}
[ -n "$DATADIR" ] || fail "mariadbd reported no datadir for: $*"
[ -n "$SOCKET" ] || SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$DATADIR" "${SOCKET%/*}" /docker-entrypoint-initdb.d
	find "$DATADIR" "${SOCKET%/*}" \! -user mysql -exec chown mysql:mysql '{}' +
	note "Switching to dedicated user 'mysql'"
	exec setpriv --reuid=mysql --regid=mysql --init-groups "$BASH_SOURCE" "$@"
fi

# Runs SQL from stdin as root over the socket; the password goes through the environment, never the command line.
docker_process_sql() {
	local password=${MARIADB_ROOT_PASSWORD:-}
	if [ "${1:-}" = --dont-use-mysql-root-password ]; then shift; password=; fi
	local database=()
	[ -n "${MARIADB_DATABASE:-}" ] && database=(--database="$MARIADB_DATABASE")
	MYSQL_PWD=$password mariadb --no-defaults --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "${database[@]}" "$@"
}

# SQL string literal contents: backslashes and quotes escaped.
sql_escape() { local s=${1//\\/\\\\}; s=${s//$'\n'/\\n}; printf '%s' "${s//\'/\\\'}"; }

if [ ! -d "$DATADIR/mysql" ]; then
	if [ -z "${MARIADB_ROOT_PASSWORD:-}" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		fail $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
	fi
	ls /docker-entrypoint-initdb.d/ >/dev/null

	note "Initializing database files"
	install_args=()
	for arg in "${@:2}"; do
		if [[ "$arg" =~ [[:space:]] ]]; then warn "not passing '$arg' to mariadb-install-db (it takes no whitespace)"; else install_args+=("$arg"); fi
	done
	mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal --skip-test-db \
		--default-time-zone=SYSTEM --enforce-storage-engine= "${install_args[@]}" \
		--skip-log-bin --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 \
		--loose-innodb_buffer_pool_dump_at_shutdown=0
	note "Database files initialized"

	note "Starting temporary server"
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF --expire-logs-days=0 \
		--skip-slave-start --loose-innodb_buffer_pool_load_at_startup=0 &
	temp_pid=$!
	for i in $(seq 60); do
		if docker_process_sql --dont-use-mysql-root-password --database=mysql <<<'SELECT 1' >/dev/null 2>&1; then break; fi
		kill -0 "$temp_pid" 2>/dev/null || fail "the temporary server exited while starting"
		[ "$i" = 60 ] && fail "Unable to start server."
		sleep 0.5
	done
	note "Temporary server started."

	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | docker_process_sql --dont-use-mysql-root-password --database=mysql
	fi
	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
		export MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD=$MARIADB_ROOT_PASSWORD
		note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi
	root_password=$(sql_escape "${MARIADB_ROOT_PASSWORD:-}")
	root_remote=
	if [ "$MARIADB_ROOT_HOST" != localhost ]; then
		root_remote="CREATE USER 'root'@'$MARIADB_ROOT_HOST' IDENTIFIED BY '$root_password';
			GRANT ALL ON *.* TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;
			GRANT PROXY ON ''@'%' TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
	fi
	database= user= grants=
	if [ -n "${MARIADB_DATABASE:-}" ]; then
		note "Creating database $MARIADB_DATABASE"
		database="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
	fi
	if [ -n "${MARIADB_USER:-}" ] && [ -n "${MARIADB_PASSWORD:-}" ]; then
		note "Creating user $MARIADB_USER"
		user="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(sql_escape "$MARIADB_PASSWORD")';"
		if [ -n "${MARIADB_DATABASE:-}" ]; then
			note "Giving user $MARIADB_USER access to schema $MARIADB_DATABASE"
			grants="GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'%';"
		fi
	fi
	note "Securing system users (equivalent to running mysql_secure_installation)"
	docker_process_sql --dont-use-mysql-root-password --database=mysql --binary-mode <<-EOSQL
		SET @orig_sql_log_bin= @@SESSION.SQL_LOG_BIN;
		SET @@SESSION.SQL_LOG_BIN=0;
		SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
		DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
		EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
		SET PASSWORD FOR 'root'@'localhost'= PASSWORD('$root_password');
		$root_remote
		SET @@SESSION.SQL_LOG_BIN=@orig_sql_log_bin;
		$database
		$user
		$grants
	EOSQL

	echo
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then note "$0: running $f"; "$f"; else note "$0: sourcing $f"; . "$f"; fi ;;
			*.sql)     note "$0: running $f"; docker_process_sql < "$f"; echo ;;
			*.sql.gz)  note "$0: running $f"; gunzip -c "$f" | docker_process_sql; echo ;;
			*.sql.xz)  note "$0: running $f"; xzcat "$f" | docker_process_sql; echo ;;
			*.sql.zst) note "$0: running $f"; zstd -dc "$f" | docker_process_sql; echo ;;
			*)         warn "$0: ignoring $f" ;;
		esac
	done

	note "Stopping temporary server"
	kill "$temp_pid"
	wait "$temp_pid" || true
	note "Temporary server stopped"
	echo
	note "MariaDB init process done. Ready for start up."
	echo
fi

unset MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD MARIADB_PASSWORD MYSQL_PASSWORD MYSQL_ROOT_HOST MARIADB_ROOT_HOST
exec "$@"
