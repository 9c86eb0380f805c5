#!/usr/bin/env bash
# bench/scale.sh — the discovery node at catalog scale (issue 14): a 3-server cluster on 127.0.0.1 (fsync'ing, as
# shipped) loaded through its HTTP API with BENCH_NODES nodes x BENCH_PER_NODE service instances over BENCH_SERVICES
# service names (tags, node meta, one check each) and BENCH_KV_KEYS KV keys, then BENCH_WATCHERS parked blocking queries
# (health/service, catalog/services, kv recurse) under a steady change rate (BENCH_RATE/s: check flips, new instances,
# KV puts) while HTTP and DNS readers run; measured by bench/ScaleBench.java (see its header). Prints:
#   load rate; memory per server (RSS, and heap used after a full GC by jcmd); snapshot save time and archive size
#   (GET /v1/snapshot) and the Raft snapshot files on disk; HTTP p50/p99 of health/catalog reads; DNS p50/p99; write
#   p50/p99; blocked queries' wake latency p50/p99; restart time of a follower with that state until it serves it;
#   and beside them what Consul publishes for comparable sizes (pages cited; it publishes sizing, not latencies).
#
#   bash bench/scale.sh      # ~6-10 minutes at the defaults; every BENCH_* size above is a knob, and BENCH_SECONDS
#                            # (60) the steady phase, BENCH_CONCURRENCY (64) the load's requests in flight
#
# Builds the jars if they are older than the sources (mvn package into this tree's target/ dirs), stops only the
# processes it started (by PID) and removes its temp dir on exit. Run it under flock /tmp/failoverkit-bench.lock.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
NODES=${BENCH_NODES:-10000}
PER_NODE=${BENCH_PER_NODE:-5}
SERVICES=${BENCH_SERVICES:-300}
KV_KEYS=${BENCH_KV_KEYS:-2000}
WATCHERS=${BENCH_WATCHERS:-5000}
RATE=${BENCH_RATE:-20}
SECS=${BENCH_SECONDS:-60}
CONC=${BENCH_CONCURRENCY:-64}
JAVA_OPTS_EXTRA=${BENCH_JAVA_OPTS:-}   # e.g. -XX:StartFlightRecording=filename=/var/tmp/x.jfr for the servers
KEEP=${BENCH_KEEP:-0}                  # 1: copy the logs and results to a kept directory before the temp dir goes
JFR=${BENCH_JFR:-0}                    # 1: a flight recording per server in the logs (with BENCH_KEEP=1 to look at it)
T0=$SECONDS
say() { printf '[scale.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }
for v in NODES PER_NODE SERVICES KV_KEYS WATCHERS RATE SECS CONC; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number (got '${!v}')"
done
[ "$PER_NODE" -le "$SERVICES" ] || die "BENCH_PER_NODE ($PER_NODE) must not exceed BENCH_SERVICES ($SERVICES): a node's instances have distinct names"
[ "$NODES" -ge 1 ] && [ "$RATE" -ge 1 ] && [ "$SECS" -ge 5 ] || die "BENCH_NODES and BENCH_RATE must be >= 1, BENCH_SECONDS >= 5"

bench_setup scale
keep_then_cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ] && [ -d "$WORK/logs" ]; then
    local kept
    stop_own_pids "$WORK" "${STARTED_PIDS[@]}"   # first, so that the flight recordings are written
    kept=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/scale-kept.XXXXXX")
    cp -r "$WORK/logs" "$kept/" 2>/dev/null || true
    cp "$WORK/results.txt" "$kept/" 2>/dev/null || true
    say "kept the logs and results in $kept"
  fi
  bench_cleanup "$rc"
}
trap keep_then_cleanup EXIT
private_jars
cp "$HERE/ScaleBench.java" "$WORK/dist/ScaleBench.java"
JCMD="$JAVA_HOME/bin/jcmd"
# The kernel's count of connections dropped because a listen queue was full (all sockets of the machine).
listen_overflows() {
  awk '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[$i] = i; h = 1 } else { print $(n["ListenOverflows"]) + 0; exit } }' /proc/net/netstat 2>/dev/null || echo 0
}
LISTEN_OVERFLOWS_AT_START=$(listen_overflows)
# The servers run with the launchers' default JVM flags (bin/jvm-defaults: the collector), as shipped, unless
# BENCH_JAVA_OPTS names a collector of its own.
# shellcheck source=bin/jvm-defaults
. "$ROOT/bin/jvm-defaults"
DEFAULT_OPTS=$(discovery_node_jvm_opts "$JAVA" "$JAVA_OPTS_EXTRA")
say "$("$JAVA" -version 2>&1 | head -1); $(nproc) cores, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB; load $(cut -d' ' -f1-3 /proc/loadavg); temp dir $WORK on $(df -T "$WORK" | awk 'NR==2 {print $2}')"
say "servers' JVM flags: ${DEFAULT_OPTS:-(none of the defaults)} ${JAVA_OPTS_EXTRA}"

read -r -a P <<<"$(pick_ports 12)"
[ ${#P[@]} -eq 12 ] || die "could not pick free ports"
H=("${P[0]}" "${P[1]}" "${P[2]}") R=("${P[3]}" "${P[4]}" "${P[5]}") F=("${P[6]}" "${P[7]}" "${P[8]}") D=("${P[9]}" "${P[10]}" "${P[11]}")
PID=(0 0 0)
start_server() {  # i
  local i=$1 n=$(($1 + 1)) j=$((($1 + 1) % 3)) k=$((($1 + 2) % 3)) jfr=""
  # path-to-gc-roots: the old-object samples say what keeps them alive (computed once, when the recording is dumped)
  [ "$JFR" = 1 ] && jfr="-XX:StartFlightRecording=filename=$WORK/logs/s$n-$SECONDS.jfr,dumponexit=true,path-to-gc-roots=true"
  "$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED $DEFAULT_OPTS -Xlog:gc,gc+phases:file="$WORK/logs/gc-s$n.log" $jfr $JAVA_OPTS_EXTRA \
    -jar "$WORK/dist/discovery-node/discovery-node.jar" agent -server -bootstrap-expect=3 -node="s$n" -data-dir="$WORK/data/s$n" \
    -bind=127.0.0.1 -http-port="${H[i]}" -server-port="${R[i]}" -serf-lan-port="${F[i]}" -dns-port="${D[i]}" \
    -retry-join="127.0.0.1:${F[j]}" -retry-join="127.0.0.1:${F[k]}" >>"$WORK/logs/s$n.log" 2>&1 &
  PID[i]=$!
  STARTED_PIDS+=("$!")
}
HTTPS="127.0.0.1:${H[0]},127.0.0.1:${H[1]},127.0.0.1:${H[2]}"
RAFTS="127.0.0.1:${R[0]},127.0.0.1:${R[1]},127.0.0.1:${R[2]}"
DNSS="127.0.0.1:${D[0]},127.0.0.1:${D[1]},127.0.0.1:${D[2]}"
SIZES=(--nodes="$NODES" --per-node="$PER_NODE" --services="$SERVICES")
harness() {  # MODE ARGS...: the Java harness; its RESULT lines to stdout and results.txt
  "$JAVA" -Xss512k -cp "$WORK/dist/discovery-node/lib/*" "$WORK/dist/ScaleBench.java" "$1" --http="$HTTPS" --raft="$RAFTS" --dns="$DNSS" \
    "${SIZES[@]}" "${@:2}" 2>>"$WORK/logs/harness.log" | tee -a "$WORK/results.txt" \
    || { tail -20 "$WORK/logs/harness.log"; die "harness $1 failed"; }
}
leader_index() {  # the i (0-2) of the server that leads now
  local l i
  for _ in $(seq 1 240); do
    l=$(curl -s -m 2 "http://127.0.0.1:${H[0]}/v1/status/leader" 2>/dev/null || true)
    for i in 0 1 2; do [ "$l" = "\"127.0.0.1:${R[i]}\"" ] && { echo "$i"; return 0; }; done
    sleep 0.5
  done
  die "no leader after 120 s"
}
memory() {  # LABEL: RSS and heap used after a full GC, per server
  local i line heap rss
  for i in 0 1 2; do
    rss=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/${PID[i]}/status")
    "$JCMD" "${PID[i]}" GC.run >/dev/null 2>&1 || true
    # What the live heap holds, by class (the histogram forces its own full GC first), for the steady-phase growth.
    "$JCMD" "${PID[i]}" GC.class_histogram 2>/dev/null | head -60 >"$WORK/logs/histo-$1-s$((i + 1)).txt" || true
    heap=$("$JCMD" "${PID[i]}" GC.heap_info 2>/dev/null | grep -oE 'used [0-9]+[KMG]' | head -1 | awk '{ v = $2; u = substr(v, length(v)); v = substr(v, 1, length(v) - 1);
      printf "%.0f", (u == "K" ? v / 1024 : u == "G" ? v * 1024 : v) }')
    line="RESULT memory phase=$1 server=s$((i + 1)) rss_mb=$rss heap_after_gc_mb=${heap:-?}"
    echo "$line" | tee -a "$WORK/results.txt"
  done
}

say "starting 3 servers (HTTP ${H[*]}, DNS ${D[*]})"
for i in 0 1 2; do start_server "$i"; done
LI=$(leader_index)
say "leader s$((LI + 1)); PIDs ${PID[*]}"
memory empty

say "1. loading $NODES nodes x $PER_NODE instances over $SERVICES services (+ $KV_KEYS KV keys), $CONC in flight to the leader"
harness load --concurrency="$CONC" --kv-keys="$KV_KEYS"
memory loaded

say "2. $WATCHERS blocking queries parked, $RATE changes/s for ${SECS}s, with HTTP and DNS readers (load $(cut -d' ' -f1-3 /proc/loadavg))"
harness steady --watchers="$WATCHERS" --rate="$RATE" --seconds="$SECS"
say "   load average after the steady phase: $(cut -d' ' -f1-3 /proc/loadavg)"
# Reads answered with an answer rendered for an identical read of the same state (the watchers one change wakes), and
# blocking queries a follower relayed by joining an identical one in flight, and relayed requests whose connect timed
# out and was tried again (the kernel's count of listen queue overflows, ListenOverflows, is printed beside).
echo "RESULT listen_overflows machine_wide_since_start=$(( $(listen_overflows) - LISTEN_OVERFLOWS_AT_START ))" | tee -a "$WORK/results.txt"
for i in 0 1 2; do
  curl -s -m 10 "http://127.0.0.1:${H[i]}/v1/agent/metrics" | python3 -c '
import json, sys
c = {x["Name"]: x["Sum"] for x in json.load(sys.stdin).get("Counters", [])}
print("RESULT answers server=s%s rendered=%d shared=%d relayed_joined=%d connect_retries=%d" % (sys.argv[1], c.get("failoverkit.http.answers.rendered", 0),
      c.get("failoverkit.http.answers.shared", 0), c.get("failoverkit.http.forwarded.joined", 0), c.get("failoverkit.http.forwarded.connect_retries", 0)))
' "$((i + 1))" | tee -a "$WORK/results.txt" || true
done
memory after-steady

say "3. snapshot save from the leader (GET /v1/snapshot) and the Raft snapshots on disk"
LI=$(leader_index)
t0=$(date +%s.%N)
code=$(curl -s -m 300 -o "$WORK/backup.snap" -w '%{http_code}' "http://127.0.0.1:${H[LI]}/v1/snapshot")
t1=$(date +%s.%N)
[ "$code" = 200 ] || die "GET /v1/snapshot answered $code"
echo "RESULT snapshot_save seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') archive_mb=$(du -m "$WORK/backup.snap" | cut -f1)" | tee -a "$WORK/results.txt"
for i in 0 1 2; do
  f=$(find "$WORK/data/s$((i + 1))" -type f -name 'snapshot.*' ! -name '*.md5' -printf '%s %p\n' 2>/dev/null | sort -k2 | tail -1)
  if [ -n "$f" ]; then
    echo "RESULT raft_snapshot server=s$((i + 1)) bytes=${f%% *} file=$(basename "${f#* }")" | tee -a "$WORK/results.txt"
  else
    echo "RESULT raft_snapshot server=s$((i + 1)) none (fewer Raft entries than raft_snapshot_threshold so far)" | tee -a "$WORK/results.txt"
  fi
done

say "4. restart of a follower with that state, until it serves it again (?stale read of the whole svc-0 at the leader's index)"
LI=$(leader_index)
FI=$(((LI + 1) % 3))
# The leader's svc-0 now (the steady phase may have registered extra instances in it): its index and instance count.
curl -s -m 10 -D "$WORK/svc0.headers" -o "$WORK/svc0.json" "http://127.0.0.1:${H[LI]}/v1/catalog/service/svc-0" || true
IDX=$(awk -F': ' 'tolower($1) == "x-consul-index" { gsub("\r", "", $2); print $2 }' "$WORK/svc0.headers" 2>/dev/null || true)
WANT=$({ grep -o '"ServiceID" *: *"' "$WORK/svc0.json" 2>/dev/null || true; } | wc -l)
[ -n "$IDX" ] && [ "$WANT" -gt 0 ] || die "the leader did not answer for svc-0 before the restart"
stop_own_pids "$WORK" "${PID[FI]}"
t0=$(date +%s.%N)
start_server "$FI"
harness served --target="127.0.0.1:${H[FI]}" --index="$IDX" --want="$WANT" >/dev/null
t1=$(date +%s.%N)
echo "RESULT restart server=s$((FI + 1)) seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') at_index=$IDX instances=$WANT" | tee -a "$WORK/results.txt"
memory restarted

# A restarted server's JVM moved its first GC log aside (gc-sN.log.0, -Xlog's rotation at start): both are counted,
# so a restarted follower's figures cover the whole run, not only its life after the restart.
say "GC pauses per server over the whole run, both JVMs of a restarted one (from -Xlog:gc,gc+phases, where ZGC logs its pauses): count, total, longest; the full GCs this script asked for (jcmd, to measure the live heap) apart"
for i in 0 1 2; do
  gclogs=("$WORK/logs/gc-s$((i + 1)).log")
  for f in "$WORK"/logs/gc-s$((i + 1)).log.[0-9]*; do if [ -f "$f" ]; then gclogs+=("$f"); fi; done
  awk -v s="s$((i + 1))" '/Pause/ && match($0, /[0-9.]+ms$/) { v = substr($0, RSTART, RLENGTH - 2) + 0
      if ($0 ~ /Diagnostic Command|Heap Inspection/) { fn++; ft += v; next }
      n++; t += v; if (v > m) m = v }
    END { printf "RESULT gc server=%s pauses=%d total_ms=%.0f longest_ms=%.1f jcmd_full_gcs=%d jcmd_full_gc_ms=%.0f\n", s, n, t, m, fn, ft }' \
    "${gclogs[@]}" | tee -a "$WORK/results.txt"
done

cat <<EOF

What Consul publishes for comparable sizes (no latency or memory-per-node figures; sizing guidance only):
  - Server resource requirements (developer.hashicorp.com/consul/docs/reference/architecture/server, and
    .../consul/docs/install/performance): production servers 8-16 cores, 32-64 GB RAM; reads are CPU bound (in-memory
    store), writes disk bound (fsync per Raft append); memory for write-heavy KV sized as keys x average size x 2-3.
  - Sizing guidelines (developer.hashicorp.com/validated-designs/consul-solution-design-guides-consul-enterprise-self-hosted/sizing-guidlines):
    at most ~5,000 client agents per datacenter recommended; "Initial" servers 2 CPU / 8 GB, "Large" 8 CPU / 32 GB.
  - This run: 3 servers on one $(nproc)-core box, $NODES nodes / $((NODES * PER_NODE)) instances, $WATCHERS parked queries.
EOF
say "done; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
