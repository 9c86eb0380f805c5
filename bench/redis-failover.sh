#!/usr/bin/env bash
# bench/redis-failover.sh — Redis master failover: failoverkit against Redis Sentinel, the same drills in the same run,
# on the same local lab (Debian's redis-server, 127.0.0.1 only).
#
#   flock /tmp/failoverkit-bench.lock bash bench/redis-failover.sh     # ~6 min with the defaults once built
#
# What it does:
#   1. installs what it lacks with apt-get (redis-server, redis-sentinel, curl; maven to build), with a temporary
#      /usr/sbin/policy-rc.d (exit 101) so that no package starts its own service; builds the failover and
#      discovery-node jars into this tree's target/ dirs when missing or older than the sources (mvn package, never
#      install) and runs private copies of them;
#   2. starts one discovery node (`agent -dev` on free loopback ports, as `bin/failover drill` does) for all runs;
#   3. runs bench/RedisFailoverBench.java (Java source launcher, the failover jar on the class path), which for each
#      run builds a fresh lab: a master and two replicas (redis-server --save "" --appendonly no
#      --repl-ping-replica-period 1 --repl-timeout 5, LocalRedisLab), then the system under test:
#        failoverkit  the Manager (HA loop of `failover watch`, ClusterDefinition's default detection: 3 failures 300 ms
#                     apart, timeout 250 ms) on the discovery node; the application is WriterProbe, which resolves
#                     master.<svc>.service.consul (SRV) through the node's DNS, exactly as `failover drill` does;
#        sentinel-D   three redis-sentinel processes, quorum 2, down-after-milliseconds D, all else Sentinel's
#                     defaults; the application is Jedis's Sentinel client (SentineledConnectionProvider: asks the
#                     sentinels for the master, follows +switch-master). D = 1000 ms, the equal detection
#                     time: failoverkit's is 900 ms (3 x 300 ms), but at 900 the sentinels declared the replica they
#                     had just promoted down and failed over again, in every run here (two failovers, ~50 acked
#                     writes lost each; likely their 1 s ping/reconnect period; BENCH_SENTINEL_DOWN_AFTER=900 shows
#                     it); and, for reference, a typical 5000 ms;
#      both applications INCR one counter every 20 ms (a 20 ms sleep after each attempt; the issue's Sentinel anchor
#      used 50 ms) with 300 ms client timeouts. A sampler SETs a probe key on every instance every 10 ms (200 ms
#      timeouts) and records when each accepts writes: the time two instances accepted writes at once is measured
#      from the outside, whatever the system believes.
#      Drills, interleaved (failoverkit, sentinel-1000, sentinel-5000, then the next run) over BENCH_RUNS runs:
#        kill    the master is SIGKILLed after 2 s of writes; measured: time to the first write acknowledged by
#                another server; detection (failoverkit's "detected" step / Sentinel's first +odown) and the time
#                after it; acknowledged writes lost (acks by the old master not in the new master's history, as
#                RedisKillDrill counts them); then, 500 ms after that first write, the old master comes back empty,
#                as a master (as RedisKillDrill does): how long it accepts writes until the system demotes it;
#        frozen  (BENCH_FROZEN_RUNS, failoverkit and sentinel-1000) the master is SIGSTOPped for BENCH_FREEZE_S s, a
#                second client keeping its connection to it, then SIGCONT: writes the old master acknowledged after
#                the new master's first (all lost), time both were writable, time until the old master is a replica.
#                failoverkit runs this drill exactly as Sentinel does (Contender in the Java file is the hook): its
#                figures are whatever the Manager does by default at this commit;
#   4. prints one line per run and a summary (min/median/max) with ratios failoverkit/Sentinel.
#
# Knobs (environment): BENCH_RUNS (5), BENCH_FROZEN_RUNS (1; 0 skips the frozen drill), BENCH_FREEZE_S (15),
#   BENCH_SENTINEL_DOWN_AFTER (ms; default failoverkit's detection, failures x interval, but at least 1000),
#   BENCH_SENTINEL_TYPICAL_DOWN_AFTER (5000; 0 skips those runs), BENCH_TMPDIR (/tmp), BENCH_KEEP=1 (keep the temp
#   dir: redis and sentinel logs and configs, the harness's log), BENCH_JAVA_OPTS (extra JVM flags for the harness).
# Exits 1 after the summary when a run failed (no write on a new master within 30 s, the old master not a replica of
# the application's master 30 s after its return); the "ok" column counts them, and a run with no new master has no
# figures in the other columns.
# The host is shared (2 cores): failover times move by ~100 ms from run to run; the medians are the figures to quote.
# Cleans up on exit, error or Ctrl-C: only what it started (by recorded PID, checked against its command line or
# working directory), and its own temp dir. Only 127.0.0.1 traffic. Bounded: every wait has a limit.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${BENCH_RUNS:-5}
FROZEN_RUNS=${BENCH_FROZEN_RUNS:-1}
FREEZE_S=${BENCH_FREEZE_S:-15}
DOWN_AFTER=${BENCH_SENTINEL_DOWN_AFTER:-}
TYPICAL_DOWN_AFTER=${BENCH_SENTINEL_TYPICAL_DOWN_AFTER:-5000}
TMPBASE=${BENCH_TMPDIR:-/tmp}
KEEP=${BENCH_KEEP:-0}
JAVA_OPTS_EXTRA=${BENCH_JAVA_OPTS:-}

T0=$SECONDS
say() { printf '[redis-failover.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }

for v in RUNS FROZEN_RUNS FREEZE_S TYPICAL_DOWN_AFTER; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number (got '${!v}')"
done
[ -z "$DOWN_AFTER" ] || [[ "$DOWN_AFTER" =~ ^[0-9]+$ ]] || die "BENCH_SENTINEL_DOWN_AFTER must be a whole number of ms"
{ [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 100 ]; } || die "BENCH_RUNS must be 1..100"
[ "$FROZEN_RUNS" -le 20 ] || die "BENCH_FROZEN_RUNS must be 0..20"

# ---------------------------------------------------------------------------------------------------------------
# Temp dir, cleanup
# ---------------------------------------------------------------------------------------------------------------
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/redisfailover.XXXXXX")
mkdir -p "$WORK/logs" "$WORK/dist" "$WORK/lab"
STARTED_PIDS=()     # the discovery node and the harness JVM
OUR_POLICY=0
CHILD=0

# The harness lists every redis-server / redis-sentinel it starts in lab/pids.txt. It stops them itself (and on
# SIGTERM); should it die first, these are stopped here: by PID, only if the process still works in our temp dir
# (redis rewrites its command line, but runs with its --dir, inside $WORK/lab, as working directory).
stop_lab_pids() {
  local p cwd
  [ -f "$WORK/lab/pids.txt" ] || return 0
  while read -r p; do
    [[ "$p" =~ ^[0-9]+$ ]] || continue
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null || true)
    if [[ "$cwd" == "$WORK/"* ]]; then kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; fi
  done <"$WORK/lab/pids.txt"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  if [ "$CHILD" != 0 ] && kill -0 "$CHILD" 2>/dev/null; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if [ "$OUR_POLICY" = 1 ]; then rm -f /usr/sbin/policy-rc.d 2>/dev/null || sudo rm -f /usr/sbin/policy-rc.d || true; fi
  stop_own_pids "$WORK" "${STARTED_PIDS[@]}"
  stop_lab_pids
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------------------------------------------------------
# Tools, jars
# ---------------------------------------------------------------------------------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_UPDATED=0
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/redis-sentinel ] || need+=(redis-sentinel)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

command -v mvn >/dev/null 2>&1 || apt_install maven
private_jars
cp "$HERE/RedisFailoverBench.java" "$WORK/dist/RedisFailoverBench.java"

say "$(/usr/bin/redis-server --version | awk '{print $1, $2, $3}'); redis-sentinel $(dpkg-query -W -f='${Version}' redis-sentinel 2>/dev/null || echo '?'); $("$JAVA" -version 2>&1 | head -1)"
say "failover.jar $(sha256sum "$WORK/dist/failover/failover.jar" | cut -c1-12) built $(date -r "$ROOT/failover/target/failover.jar" '+%F %T'); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); temp dir $WORK"

# ---------------------------------------------------------------------------------------------------------------
# The discovery node (as `bin/failover drill` starts it: agent -dev on free loopback ports)
# ---------------------------------------------------------------------------------------------------------------
read -r -a P <<<"$(pick_ports 4)"
[ ${#P[@]} -eq 4 ] || die "could not pick free ports"
HTTP=${P[0]} DNS=${P[1]}
"$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -jar "$WORK/dist/discovery-node/discovery-node.jar" \
  agent -dev -node=bench-discovery -http-port="$HTTP" -dns-port="$DNS" -server-port="${P[2]}" -serf-lan-port="${P[3]}" \
  >"$WORK/logs/discovery-node.log" 2>&1 &
DPID=$!
STARTED_PIDS+=("$DPID")
leader=""
for _ in $(seq 1 240); do
  kill -0 "$DPID" 2>/dev/null || { tail -20 "$WORK/logs/discovery-node.log"; die "discovery-node exited (log above)"; }
  leader=$(curl -s -m 2 "http://127.0.0.1:$HTTP/v1/status/leader" 2>/dev/null || true)
  [[ "$leader" == '"'*:*'"' ]] && break
  sleep 0.5
done
[[ "$leader" == '"'*:*'"' ]] || { tail -20 "$WORK/logs/discovery-node.log"; die "the discovery node has no leader after 120 s"; }
say "discovery node PID $DPID: HTTP $HTTP, DNS $DNS, leader $leader"

# ---------------------------------------------------------------------------------------------------------------
# The drills
# ---------------------------------------------------------------------------------------------------------------
say "drills: $RUNS kill runs per system, $FROZEN_RUNS frozen run(s) ($FREEZE_S s); per-run lines as they finish, the summary at the end"
rc=0
: >"$WORK/summary.txt"   # before tail opens it
# shellcheck disable=SC2086
"$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED $JAVA_OPTS_EXTRA \
  -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
  -cp "$WORK/dist/failover/failover.jar:$WORK/dist/failover/lib/*" "$WORK/dist/RedisFailoverBench.java" \
  --discovery-http="127.0.0.1:$HTTP" --dns-port="$DNS" --work="$WORK/lab" --runs="$RUNS" --frozen-runs="$FROZEN_RUNS" \
  --freeze-ms=$((FREEZE_S * 1000)) --down-after="$DOWN_AFTER" --typical-down-after="$TYPICAL_DOWN_AFTER" \
  >"$WORK/summary.txt" 2>"$WORK/logs/harness.log" &
CHILD=$!
STARTED_PIDS+=("$CHILD")
tail -s 0.2 -n +1 -f --pid="$CHILD" "$WORK/summary.txt" &   # the harness's output as it comes; ends with it
TAIL=$!
wait "$CHILD" || rc=$?
CHILD=0
wait "$TAIL" || true
if ! grep -q '^=== Redis master SIGKILL' "$WORK/summary.txt"; then
  tail -30 "$WORK/logs/harness.log"
  die "the harness stopped before its summary (log above)"
fi
say "done in $((SECONDS - T0)) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$rc" = 0 ] || die "some runs did not complete as expected (marked FAILED / NOT OK above); harness log: $WORK/logs/harness.log (BENCH_KEEP=1 keeps it)"
