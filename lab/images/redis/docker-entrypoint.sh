#!/bin/sh
# Entrypoint of failoverkit's local Redis lab image (Debian's redis-server package), with the official `redis`
# image's contract, written anew: a first argument that is an option (-...) or a *.conf file becomes
# `redis-server ARGS...`; redis-server, started as root, runs as the redis user (its working directory /data given
# to it) and replaces this script, so PID 1 of the container is redis-server itself; umask 0077 unless one was set.
# redis-server logs "Ready to accept connections" when it accepts clients (what RedisContainer waits for).
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	mkdir -p /data
	find /data \! -user redis -exec chown redis '{}' +
	cd /data
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then
	umask 0077
fi
exec "$@"
