#!/usr/bin/env bash
# bench/clients.sh — what applications see of a failover: real client stacks resolving master.<service>.service.consul
# through the system's path (libc -> the namespace's resolv.conf -> dnsmasq -> the discovery node's DNS) while the
# master is SIGKILLed, beside the drills' direct writer probe (asks the agent's DNS port, caches nothing) in the same run.
#
#   flock /tmp/failoverkit-bench.lock bash bench/clients.sh          # ~2 min per run and kind once built
#
# What it does, per run (BENCH_RUNS, default 3) and kind (BENCH_KINDS, default "redis mysql"):
#   1. creates a network namespace of its own (fk-bench-clients-PID-N) with lo up and /etc/netns/NAME/{resolv.conf,
#      hosts} (nameserver 127.0.0.1; localhost only); removed at exit, whatever happens (trap). Nothing else on the
#      host changes. Needs root, iproute2, dnsmasq, python3-redis, python3-pymysql (bin/setup installs them);
#   2. runs the drills' lab inside it (src/test/java/io/failoverkit/drills/clients/ClientLab.java, the same code the
#      drill ClientStacksSigkillDrill runs in CI): a discovery node (agent -dev), dnsmasq forwarding `consul` to it
#      (its default cache; the agent's TTLs, 0 s by default), the servers on 127.0.0.11-13:6379 (Redis) or
#      127.0.0.21-23:3306 (MariaDB, semi-sync), the failover manager, the direct probe and the client processes:
#        redis: Jedis (JedisPooled) defaults | tuned (networkaddress.cache.ttl=1, negative 0, timeouts) |
#               tuned+helper (MasterFollowingJedis) ; redis-py defaults | tuned
#        mysql: HikariCP + Connector/J defaults | tuned (JVM DNS as above, connectionTimeout 1 s, maxLifetime 30 s,
#               connectTimeout/socketTimeout) ; PyMySQL defaults | tuned (connect 1 s, read/write 2 s)
#      each writing every 20 ms; the master is SIGKILLed once all write; a supervisor restarts the old master once the
#      probe writes to the new one;
#   3. prints each run's table, then per kind and client: kill -> first write acknowledged by the new master (median,
#      min, max over the runs; "none" = not within 45 s), the median ratio against the direct probe of the same run,
#      acknowledged writes lost (sum), writes acknowledged by the old master after the promotion (sum).
# Knobs: BENCH_RUNS (3), BENCH_KINDS ("redis mysql"), BENCH_SERVICE_TTL (the agent's dns_config.service_ttl "*" in
#   seconds, 0 = its default: 5 shows what a cached master name costs behind dnsmasq), BENCH_TMPDIR (/tmp),
#   BENCH_KEEP=1 (keep the work dir).
# Load: report `uptime` beside the figures; on this shared 2-core box detection moves by ~1 s under load, which the
# ratio against the probe of the same run absorbs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-3}
KINDS=${BENCH_KINDS:-redis mysql}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/fk-bench-clients.XXXXXX")
NS=""
say() { echo "bench/clients: $*" >&2; }
die() { say "$*"; exit 1; }
cleanup() {
  if [ -n "$NS" ]; then ip netns del "$NS" 2>/dev/null || true; rm -rf "/etc/netns/$NS"; fi
  [ "${BENCH_KEEP:-0}" = 1 ] && say "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || die "network namespaces need root"
for f in /usr/sbin/dnsmasq /usr/bin/python3; do [ -x "$f" ] || die "$f missing: run bin/setup"; done
/usr/bin/python3 -c 'import redis, pymysql' 2>/dev/null || die "python3-redis / python3-pymysql missing: run bin/setup"
export JAVA_HOME=$("$root/bin/java-home")
JAVA="$JAVA_HOME/bin/java"

say "building (mvn -o, test classes of drills and the class path)"
(cd "$root" && mvn -B -o -q -pl drills -am test-compile dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=test) \
  >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; die "build failed"; }
CP="$root/drills/target/test-classes:$root/failover/target/classes:$root/discovery-node/target/classes:$root/checks/target/classes:$(cat "$WORK/cp.txt")"

say "load before: $(uptime)"
n=0
for run in $(seq 1 "$RUNS"); do
  for kind in $KINDS; do
    n=$((n + 1))
    NS="fk-bench-clients-$$-$n"
    ip netns add "$NS"
    mkdir -p "/etc/netns/$NS"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"/etc/netns/$NS/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"/etc/netns/$NS/hosts"
    ip netns exec "$NS" ip link set lo up
    out="$WORK/$kind-$run"
    say "run $run $kind (namespace $NS; load $(cut -d' ' -f1-3 /proc/loadavg))"
    if ! ip netns exec "$NS" "$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -cp "$CP" \
        io.failoverkit.drills.clients.ClientLab "$kind" "$out" "$root" "${BENCH_SERVICE_TTL:-0}" >"$WORK/$kind-$run.log" 2>&1; then
      say "run $run $kind failed; the end of its log:"; tail -20 "$WORK/$kind-$run.log" >&2
    fi
    ip netns del "$NS"; rm -rf "/etc/netns/$NS"; NS=""
    if [ -f "$out/report.tsv" ]; then
      grep -A12 '^kill ' "$WORK/$kind-$run.log" | sed '/^$/q'
      tail -n +2 "$out/report.tsv" | awk -v k="$kind" -v r="$run" -F'\t' '{print k "\t" r "\t" $0}' >>"$WORK/all.tsv"
    fi
  done
done
say "load after: $(uptime)"

[ -s "$WORK/all.tsv" ] || die "no run produced a report"
echo
echo "summary over $RUNS run(s) per kind (kill -> first write acknowledged by the new master; ratio: against the direct probe of the same run)"
/usr/bin/python3 - "$WORK/all.tsv" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
probe = {(r[0], r[1]): int(r[5]) for r in rows if r[2] == "direct probe"}
order, by = [], {}
for r in rows:
    key = (r[0], r[2] + " " + r[3])
    if key not in by: order.append(key); by[key] = []
    by[key].append(r)
print("%-6s %-34s %9s %9s %9s %7s %5s %14s" % ("kind", "stack settings", "median", "min", "max", "ratio", "lost", "old-after-prom"))
for key in order:
    rs = by[key]
    ok = [int(r[5]) for r in rs if int(r[5]) >= 0]
    ratios = [int(r[5]) / probe[(r[0], r[1])] for r in rs if int(r[5]) >= 0 and probe.get((r[0], r[1]), 0) > 0]
    none = len(rs) - len(ok)
    print("%-6s %-34s %9s %9s %9s %7s %5d %14d%s" % (key[0], key[1],
          "%d ms" % statistics.median_low(ok) if ok else "none", "%d ms" % min(ok) if ok else "-", "%d ms" % max(ok) if ok else "-",
          "%.2fx" % statistics.median_low(ratios) if ratios else "-", sum(int(r[6]) for r in rs), sum(int(r[7]) for r in rs),
          "  (%d of %d run(s): no write on the new master within 45 s)" % (none, len(rs)) if none else ""))
PY
