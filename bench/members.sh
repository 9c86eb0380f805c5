#!/usr/bin/env bash
# bench/members.sh — the agent's CPU time per GET /v1/agent/members (what bench/gossip.sh's join polling costs our
# agents), for this tree's discovery-node and, in the same run, an anchor build (BENCH_ANCHOR_DIR).
#
#   flock /tmp/failoverkit-bench.lock env BENCH_ANCHOR_DIR=/var/tmp/fk-before bash bench/members.sh
#
# For each build (the anchor first, when given; then this tree's): one failoverkit agent (-server
# -bootstrap-expect=1, bench/gossip.sh's JVM options: C1 only, SerialGC, 128 MB heap) and BENCH_MEMBERS-1 stock serf
# agents (Debian's serf) that join its gossip port, so its member list holds BENCH_MEMBERS entries with tags of the
# size our agents gossip; once it lists them all alive, bench/gossip/MembersLoop.java asks /v1/agent/members
# BENCH_REQUESTS times untimed, then BENCH_ROUNDS times: a quiet second (the agent's CPU at rest, subtracted), then
# BENCH_REQUESTS requests on one keep-alive connection while the agent's utime+stime (/proc) is read before and after.
# Also the CPU per request of the agent's first 300 requests (a cold JVM: what bench/gossip.sh's join polling meets).
# Prints the median CPU ms per request per build and the ratio this tree / anchor.
# Knobs: BENCH_MEMBERS (30), BENCH_REQUESTS (2000), BENCH_ROUNDS (3), BENCH_ANCHOR_DIR (a dir holding an older
#   discovery-node.jar and its lib/: e.g. main's build copied aside), BENCH_FK_JAVA_OPTS, BENCH_JFR_DIR (a dir: the
#   agent records JFR during the timed rounds, FILE per build kept there), BENCH_TMPDIR (/var/tmp).
# Builds discovery-node.jar when older than the sources (mvn package into this tree's target/, never install).
# Only 127.0.0.1; stops only the processes it started, by PID.
{
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
MEMBERS=${BENCH_MEMBERS:-30}
REQUESTS=${BENCH_REQUESTS:-2000}
ROUNDS=${BENCH_ROUNDS:-3}
ANCHOR=${BENCH_ANCHOR_DIR:-}
JFR_DIR=${BENCH_JFR_DIR:-}
FK_JAVA_OPTS=${BENCH_FK_JAVA_OPTS:--Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}
T0=$SECONDS
say() { printf '[members.sh %4ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
for v in MEMBERS REQUESTS ROUNDS; do [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || die "BENCH_$v must be a whole number >= 1"; done
[ -x /usr/bin/serf ] || die "needs Debian's serf (/usr/bin/serf): apt-get install serf"
[ -z "$ANCHOR" ] || [ -f "$ANCHOR/discovery-node.jar" ] || die "BENCH_ANCHOR_DIR: no discovery-node.jar in $ANCHOR"
[ -z "$JFR_DIR" ] || mkdir -p "$JFR_DIR"
bench_setup members
JAVA_HOME=$("$ROOT/bin/java-home") || die "no JDK >= 21 (see bin/java-home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/discovery-node/target/discovery-node.jar"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT"/*/src/main "$ROOT"/*/pom.xml "$ROOT/pom.xml" -newer "$JAR" -print -quit 2>/dev/null)" ]; then
  say "building discovery-node.jar (mvn package into this tree's target/, never install)"
  (cd "$ROOT" && mvn -q -B -o -DskipTests -pl discovery-node -am package) >"$WORK/logs/build.log" 2>&1 || { tail -30 "$WORK/logs/build.log"; die "build failed"; }
fi
mkdir -p "$WORK/dist/this" "$WORK/dist/anchor"
cp "$JAR" "$WORK/dist/this/"; cp -r "$ROOT/discovery-node/target/lib" "$WORK/dist/this/lib"
if [ -n "$ANCHOR" ]; then cp "$ANCHOR/discovery-node.jar" "$WORK/dist/anchor/"; cp -r "$ANCHOR/lib" "$WORK/dist/anchor/lib"; fi
cp "$HERE/gossip/MembersLoop.java" "$WORK/dist/"
HZ=$(getconf CLK_TCK)
say "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $MEMBERS members, $REQUESTS requests x $ROUNDS rounds"

# The serf agents, as PID:-bind=ADDR (stop_own_pids cannot check them: their command line names no file in WORK).
SERF_PIDS=()
stop_serf() {
  local e pid bind
  for e in "${SERF_PIDS[@]}"; do
    pid=${e%%:*}; bind=${e#*:}
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$bind" && kill -TERM "$pid" 2>/dev/null || true
  done
  SERF_PIDS=()
}
trap 'rc=$?; stop_serf; bench_cleanup "$rc"' EXIT

measure() {  # BUILD (this|anchor): WORK/BUILD.out gets the loop's key=value lines
  local build=$1 p i fk pid code="" body
  read -r -a p <<<"$(pick_ports $((4 + 2 * (MEMBERS - 1))))"
  local jfr=()
  [ -z "$JFR_DIR" ] || jfr=("-XX:StartFlightRecording=filename=$WORK/$build.jfr,settings=profile,dumponexit=true")
  # shellcheck disable=SC2086
  "$JAVA" $FK_JAVA_OPTS "${jfr[@]}" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -jar "$WORK/dist/$build/discovery-node.jar" \
    agent -node=f1 -data-dir="$WORK/data-$build" -bind=127.0.0.1 -http-port="${p[0]}" -dns-port="${p[1]}" -server-port="${p[2]}" \
    -serf-lan-port="${p[3]}" -server -bootstrap-expect=1 -log-level=warn >"$WORK/logs/$build-f1.log" 2>&1 &
  fk=$!
  STARTED_PIDS+=("$fk")
  for _ in $(seq 1 240); do
    kill -0 "$fk" 2>/dev/null || { tail -20 "$WORK/logs/$build-f1.log" >&2; die "$build: the agent exited"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:${p[0]}/v1/agent/self" 2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.5
  done
  [ "$code" = 200 ] || die "$build: the agent does not answer"
  for ((i = 1; i < MEMBERS; i++)); do
    local g=${p[$((4 + 2 * (i - 1)))]} r=${p[$((5 + 2 * (i - 1)))]}
    # No fd of ours leaks into the agents (the caller's flock on the bench lock among them: a serf agent left
    # running would hold the lock); they are stopped by PID below, checked against their own -bind address.
    /usr/bin/serf agent -node="s$i" -bind="127.0.0.1:$g" -rpc-addr="127.0.0.1:$r" -log-level=warn -join="127.0.0.1:${p[3]}" \
      -tag=role=node -tag=dc=dc1 -tag="id=$(cat /proc/sys/kernel/random/uuid)" -tag="port=$((g + 1))" -tag="http_port=$r" \
      -tag=build=0.1.0 -tag=vsn=2 >>"$WORK/logs/$build-s$i.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    SERF_PIDS+=("$!:-bind=127.0.0.1:$g ")
  done
  local alive=0
  for _ in $(seq 1 240); do
    body=$(curl -s -m 5 "http://127.0.0.1:${p[0]}/v1/agent/members" 2>/dev/null || true)
    alive=$(grep -o '"Status":1' <<<"$body" | wc -l || true)
    [ "$alive" -ge "$MEMBERS" ] && break
    sleep 0.5
  done
  [ "$alive" -ge "$MEMBERS" ] || die "$build: the agent lists $alive of $MEMBERS members alive"
  say "$build: $MEMBERS members alive; measuring (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$WORK/dist/MembersLoop.java" "http://127.0.0.1:${p[0]}/v1/agent/members" "$fk" "$HZ" "$REQUESTS" "$ROUNDS" \
    >"$WORK/$build.out" 2>"$WORK/logs/$build-loop.log" || { cat "$WORK/logs/$build-loop.log" >&2; die "$build: the loop failed"; }
  sed "s/^/  $build: /" "$WORK/$build.out" >&2
  stop_serf
  stop_own_pids "$WORK" "${STARTED_PIDS[@]}"
  STARTED_PIDS=()
  if [ -n "$JFR_DIR" ] && [ -f "$WORK/$build.jfr" ]; then cp "$WORK/$build.jfr" "$JFR_DIR/members-$build.jfr"; say "$build: JFR in $JFR_DIR/members-$build.jfr"; fi
}

a="n/a"
if [ -n "$ANCHOR" ]; then measure anchor; a=$(sed -n 's/^cpu_ms_per_request=//p' "$WORK/anchor.out"); fi
measure this
b=$(sed -n 's/^cpu_ms_per_request=//p' "$WORK/this.out")
ac=n/a; [ -z "$ANCHOR" ] || ac=$(sed -n 's/^first300_cpu_ms_per_request=//p' "$WORK/anchor.out")
bc=$(sed -n 's/^first300_cpu_ms_per_request=//p' "$WORK/this.out")
ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {if (a + 0 == 0) print "n/a"; else printf "%.2f", b / a}')
echo
echo "GET /v1/agent/members, $MEMBERS members, agent JVM opts: $FK_JAVA_OPTS; $(nproc) cores, load now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-36s %12s %12s %8s\n' "" anchor "this tree" ratio
printf '%-36s %12s %12s %8s\n' "agent CPU per request, warm (ms)" "$a" "$b" "$ratio"
printf '%-36s %12s %12s %8s\n' "agent CPU per request, first 300 (ms)" "$ac" "$bc" "$(awk -v a="$ac" -v b="$bc" 'BEGIN {if (a + 0 == 0) print "n/a"; else printf "%.2f", b / a}')"
exit 0
}
