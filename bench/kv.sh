#!/usr/bin/env bash
# bench/kv.sh — KV benchmark: discovery-node (3 servers, Raft/Ratis, Consul KV API) against etcd 3.4 (3 members,
# Debian's etcd-server, HTTP/JSON gateway /v3/), both on 127.0.0.1 only, both fsync'ing (defaults).
#
#   bash bench/kv.sh            # about 12 minutes (well under 15); prints a summary table at the end
#
# Measures, for both systems:
#   1. KV PUT throughput/latency with wrk at 1, 16, 64 connections (100-byte values, a distinct key per request),
#      sent to the leader and to a follower, after a JVM warm-up in rounds of 10 s at 16 connections and 5 s at 1
#      (a lone write's path is its own): at least BENCH_WARMUP s (default 150), then on while a round's 16-connection
#      slice still gains >10% req/s or the JIT is busy, at most BENCH_WARMUP_MAX s (240);
#      on a 2-core machine our JVMs need ~80-90 s of load before C2 has compiled the write path, and a lone write
#      to the leader was still 20-40 % cheaper in CPU after 4-5 minutes of load than after 2 (BENCH_REPEAT_LEADER=1);
#      the same data on both sides: before its leader runs and before its follower runs, etcd is loaded with distinct
#      keys until it holds as many as ours held when ours' same runs began (BENCH_MATCH_KEYS);
#   2. watch wake latency: a watcher blocked on a follower (ours: blocking GET ?index=N; etcd: /v3/watch stream),
#      a writer PUTting to the leader; time from the PUT's acknowledgement to the watcher waking (and the reverse
#      placement as a diagnostic);
#   3. leader kill: SIGKILL of the leader (by the PID recorded when this script started it) while a writer PUTs in a
#      loop to a surviving member; time from the kill to the next acknowledged write; median of the repetitions.
#
# Knobs (environment): BENCH_DURATION (s per wrk run, 10), BENCH_WARMUP (s, 150), BENCH_WARMUP_MAX (240),
#   BENCH_FOLLOWER_WARMUP (s, 30: the follower's own warm-up before its runs, then as the leader's), BENCH_CONNS ("1 16 64"),
#   BENCH_WATCH_SAMPLES (200), BENCH_FAILOVER_REPS (4), BENCH_TMPDIR (/var/tmp: must be a real disk, not tmpfs,
#   or fsync means nothing), BENCH_KEEP=1 (keep data dirs and logs), BENCH_JAVA_OPTS (extra JVM flags for our servers),
#   BENCH_GC_LOG=0 (do not add -Xlog:gc to our servers; on by default, for the GC pause line of the summary),
#   BENCH_SNAPSHOT_THRESHOLD (our servers' raft_snapshot_threshold, to separate snapshot effects from the rest),
#   BENCH_REPEAT_LEADER=1 (our leader's runs once more after the follower's, to tell warm-up from target),
#   BENCH_WARMUP_JIT (10: the warm-up also goes on while our servers' JIT compilers took more than this % of a core),
#   BENCH_DIST (a directory with a discovery-node.jar and its lib/: that build instead of discovery-node/target),
#   BENCH_AOT=1 (our servers start from a JDK AOT cache trained first: see train_aot), BENCH_AOT_TRAIN (s, 60),
#   BENCH_MATCH_KEYS (1: before each of etcd's measured phases, etcd is loaded with distinct keys at 64 connections
#   until it holds as many as ours held when ours' same phase began; 0: etcd gets only its 5 s warm-up, as before
#   session 18, and ours then runs with 3-20 times etcd's data: ~430k keys of warm-up, a larger heap and snapshots),
#   BENCH_PHASES ("tput watch failover": the parts to run), BENCH_SYSTEMS ("ours etcd": "ours" alone for profiling
#   our servers; no ratios then), BENCH_JFR=1 (a JFR recording, settings=profile, of each of our servers during each
#   measured run: logs/jfr-r<run>-s<n>.jfr; use with BENCH_KEEP=1).
# Each measured run also records, per server, CPU ms and context switches per acknowledged write, and which threads
# took the CPU (bench/threadcpu.py; logs/threads-r<run>.txt).
#
# Installs what it lacks with apt-get (wrk, etcd-server, etcd-client; maven only if the jar must be built).
# Cleans up on exit, error or Ctrl-C: only the processes it started (by PID) and its own temp dir.
# Note: on a Debian with systemd, installing etcd-server also starts the distribution's etcd service on
# 127.0.0.1:2379/2380; this script neither uses nor touches it (it picks free ports in 20000-32000).
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY="$HERE/kvbench.py"
LUA="$HERE/put.lua"
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-150}
WARMUP_MAX=${BENCH_WARMUP_MAX:-240}
FOLLOWER_WARMUP=${BENCH_FOLLOWER_WARMUP:-30}
CONNS=${BENCH_CONNS:-"1 16 64"}
WATCH_SAMPLES=${BENCH_WATCH_SAMPLES:-200}
FAILOVER_REPS=${BENCH_FAILOVER_REPS:-4}
TMPBASE=${BENCH_TMPDIR:-/var/tmp}
KEEP=${BENCH_KEEP:-0}
JAVA_OPTS_EXTRA=${BENCH_JAVA_OPTS:-}
GC_LOG=${BENCH_GC_LOG:-1}
PHASES=${BENCH_PHASES:-"tput watch failover"}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
SYSTEMS=${BENCH_SYSTEMS:-"ours etcd"}
system_on() { [[ " $SYSTEMS " == *" $1 "* ]]; }
JFR=${BENCH_JFR:-0}

T0=$SECONDS
say() { printf '[kv.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------------------------
# apt_install is bench/lib.sh's (services kept from starting during the install: etcd-server would start a system
# etcd on 2379). It needs a work dir before this script's own exists: a small one, removed right after.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_UPDATED=0
OUR_POLICY=0
trap '[ "$OUR_POLICY" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvbench-apt.XXXXXX")
  apt_install "${need[@]}"
  rm -rf "$WORK"
fi

JAVA_HOME=$("$ROOT/bin/java-home") || die "no JDK >= 21 (see bin/java-home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/discovery-node/target/discovery-node.jar"
if [ -n "${BENCH_DIST:-}" ]; then
  # A build kept aside (its discovery-node.jar and lib/), to compare builds without rebuilding in between
  JAR="$BENCH_DIST/discovery-node.jar"
  [ -f "$JAR" ] && [ -d "$BENCH_DIST/lib" ] || die "BENCH_DIST=$BENCH_DIST has no discovery-node.jar and lib/"
elif [ ! -f "$JAR" ] || [ ! -d "$ROOT/discovery-node/target/lib" ]; then
  say "building $JAR"
  (cd "$ROOT" && mvn -q -B -DskipTests package)
fi
[ -f "$JAR" ] || die "build did not produce $JAR"

# ---------------------------------------------------------------------------------------------------------------
# Temp dir, cleanup
# ---------------------------------------------------------------------------------------------------------------
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/kvbench.XXXXXX")
RESULTS="$WORK/results.txt"
: >"$RESULTS"
mkdir -p "$WORK/logs" "$WORK/ours" "$WORK/etcd" "$WORK/dist"
STARTED_PIDS=()   # every server process this script started (also the ones already killed)

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$CHILD" != 0 ] && kill -0 "$CHILD" 2>/dev/null; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  stop_own_pids "$WORK" "${STARTED_PIDS[@]}"
  if [ "$KEEP" = 1 ]; then
    say "kept $WORK (data dirs, logs/, results.txt)"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
# Long steps run as background children and are waited for, so a signal is handled at once (bash defers a trap
# while a foreground child runs); cleanup ends the child in flight.
CHILD=0
bg_run() {  # OUTFILE COMMAND...: runs COMMAND with stdout to OUTFILE; returns its exit status
  local out=$1 rc=0
  shift
  "$@" >"$out" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=0
  return "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# Run our servers from a private copy of the jar: the one in target/ may be rebuilt while this runs.
cp "$JAR" "$WORK/dist/discovery-node.jar"
cp -r "$(dirname "$JAR")/lib" "$WORK/dist/lib"
DIST_JAR="$WORK/dist/discovery-node.jar"

say "JDK $JAVA_HOME; $(etcd --version 2>&1 | sed -n 1p); wrk $( { wrk -v 2>&1 || true; } | awk 'NR == 1 {print $2}'); $(python3 --version)"
say "jar $(sha256sum "$JAR" | cut -c1-12) built $(date -r "$JAR" '+%F %T'); temp dir $WORK on $(df -T "$WORK" | awk 'NR==2 {print $2}')"
say "machine: $(nproc) cores, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB"
case "$(df -T "$WORK" | awk 'NR==2 {print $2}')" in tmpfs|ramfs) say "WARNING: $WORK is in memory; fsync costs nothing there, figures are not comparable to a disk";; esac

# Other work on the machine skews every figure: measure how busy it is before anything of ours runs.
b0=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6 }' /proc/stat); sleep 3
b1=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6 }' /proc/stat)
BUSY0=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (1 - (y[2] - x[2]) / (y[1] - x[1])) }')
echo "env busy_pct=$BUSY0 load1=$(cut -d' ' -f1 /proc/loadavg) cores=$(nproc)" >>"$RESULTS"
say "machine busy before the run: ${BUSY0}% (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$BUSY0" -le 15 ] || say "WARNING: other processes are using the CPU; the figures will be noisy"

# ---------------------------------------------------------------------------------------------------------------
# Ports and clusters
# ---------------------------------------------------------------------------------------------------------------
read -r -a P <<<"$(python3 "$PY" ports 18)"
OH=("${P[0]}" "${P[1]}" "${P[2]}")      # ours: HTTP
OS=("${P[3]}" "${P[4]}" "${P[5]}")      # ours: server (Raft gRPC)
OF=("${P[6]}" "${P[7]}" "${P[8]}")      # ours: serf LAN
OD=("${P[9]}" "${P[10]}" "${P[11]}")    # ours: DNS
EC=("${P[12]}" "${P[13]}" "${P[14]}")   # etcd: client
EP=("${P[15]}" "${P[16]}" "${P[17]}")   # etcd: peer
OURS_URL=() OURS_ID=() ETCD_URL=()
for i in 0 1 2; do
  OURS_URL+=("http://127.0.0.1:${OH[i]}"); OURS_ID+=("127.0.0.1:${OS[i]}"); ETCD_URL+=("http://127.0.0.1:${EC[i]}")
done
OURS_PID=(0 0 0) ETCD_PID=(0 0 0)
# Our servers run with the launchers' default JVM flags (bin/jvm-defaults: the collector), unless BENCH_JAVA_OPTS
# names a collector of its own; BENCH_SNAPSHOT_THRESHOLD sets raft_snapshot_threshold (default: the agent's, 16384).
# shellcheck source=bin/jvm-defaults
. "$ROOT/bin/jvm-defaults"
OURS_DEFAULT_OPTS=$(discovery_node_jvm_opts "$JAVA" "$JAVA_OPTS_EXTRA")
OURS_CONFIG=""
if [ -n "${BENCH_SNAPSHOT_THRESHOLD:-}" ]; then
  [[ "$BENCH_SNAPSHOT_THRESHOLD" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SNAPSHOT_THRESHOLD must be a positive integer"
  printf '{"raft_snapshot_threshold": %s}\n' "$BENCH_SNAPSHOT_THRESHOLD" >"$WORK/ours-config.json"
  OURS_CONFIG="-config-file=$WORK/ours-config.json"
fi
say "our servers' JVM flags: ${OURS_DEFAULT_OPTS:-(none of the defaults)} ${JAVA_OPTS_EXTRA}${OURS_CONFIG:+; $OURS_CONFIG (raft_snapshot_threshold $BENCH_SNAPSHOT_THRESHOLD)}"

start_ours() {
  local i=$1
  local n=$((i + 1)) j=$(((i + 1) % 3)) k=$(((i + 2) % 3))
  local gc=""
  # gc+phases: ZGC logs its (short) pauses there ("Pause Mark Start ... 0.016ms"); G1 adds no "Pause" line there.
  [ "$GC_LOG" = 1 ] && gc="-Xlog:gc,gc+phases:file=$WORK/logs/gc-s$n-%p.log"
  # shellcheck disable=SC2086
  "$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED $OURS_DEFAULT_OPTS $gc $JAVA_OPTS_EXTRA \
    -jar "$DIST_JAR" agent -server -bootstrap-expect=3 -node="s$n" -data-dir="$WORK/ours/s$n" -bind=127.0.0.1 $OURS_CONFIG \
    -http-port="${OH[i]}" -server-port="${OS[i]}" -serf-lan-port="${OF[i]}" -dns-port="${OD[i]}" \
    -retry-join="127.0.0.1:${OF[j]}" -retry-join="127.0.0.1:${OF[k]}" >>"$WORK/logs/ours-s$n.log" 2>&1 &
  OURS_PID[i]=$!
  STARTED_PIDS+=($!)
  disown "$!"
  echo "$(date +%T) started s$n as PID $!" >>"$WORK/logs/pids.txt"
}

ETCD_CLUSTER="e1=http://127.0.0.1:${EP[0]},e2=http://127.0.0.1:${EP[1]},e3=http://127.0.0.1:${EP[2]}"
start_etcd() {
  local i=$1
  local n=$((i + 1))
  etcd --name "e$n" --data-dir "$WORK/etcd/e$n" --logger zap --log-outputs stderr \
    --listen-client-urls "http://127.0.0.1:${EC[i]}" --advertise-client-urls "http://127.0.0.1:${EC[i]}" \
    --listen-peer-urls "http://127.0.0.1:${EP[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${EP[i]}" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new --initial-cluster-token "kvbench-$$" \
    >>"$WORK/logs/etcd-e$n.log" 2>&1 &
  ETCD_PID[i]=$!
  STARTED_PIDS+=($!)
  disown "$!"
}

# Waits for one agreed leader and a working write through every member; sets LEADER (0-based index).
LEADER=-1
await_ready() {
  local sys=$1 out
  if [ "$sys" = ours ]; then
    bg_run "$WORK/out" timeout 120 python3 "$PY" ready --system ours --members "${OURS_URL[@]}" --ids "${OURS_ID[@]}" --timeout 100 || die "our cluster did not become ready (logs: $WORK/logs)"
  else
    bg_run "$WORK/out" timeout 120 python3 "$PY" ready --system etcd --members "${ETCD_URL[@]}" --timeout 100 || die "etcd cluster did not become ready (logs: $WORK/logs)"
  fi
  out=$(cat "$WORK/out")
  LEADER=${out#LEADER }
}

leader_now() {  # SYSTEM: prints the current leader's index, or -1
  local out
  if [ "$1" = ours ]; then
    out=$(timeout 20 python3 "$PY" leader --system ours --members "${OURS_URL[@]}" --ids "${OURS_ID[@]}" || true)
  else
    out=$(timeout 20 python3 "$PY" leader --system etcd --members "${ETCD_URL[@]}" || true)
  fi
  case "$out" in "LEADER "[0-9]*) echo "${out#LEADER }";; *) echo -1;; esac
}

# BENCH_AOT=1: JDK 25's AOT cache for our servers (JEP 483/514/515: classes loaded and linked, and method profiles,
# from a training run, so that C2 compiles the write path from the start instead of after minutes of load). Training:
# the three servers started as below with -XX:AOTCacheOutput (each its own file; no GC log, so the summary's pauses
# are the measured servers' only), PUTs from wrk to the leader (16 connections BENCH_AOT_TRAIN s, 60, then 1 for half
# that) and to a follower (the same, halved), then SIGTERM (each JVM assembles its cache as it exits); the measured
# servers then start on fresh data dirs with -XX:AOTCache=<the leader's cache>. The cache is only valid for this
# jar at this path (the private copy): a cache the JVM rejects is said so in the servers' logs (the JVM's aot warnings).
train_aot() {
  local saved=$JAVA_OPTS_EXTRA saved_gc=$GC_LOG i L F t=${BENCH_AOT_TRAIN:-60} tp
  [[ "$t" =~ ^[1-9][0-9]*$ ]] || die "BENCH_AOT_TRAIN must be a positive number of seconds"
  say "AOT training: 3 servers with -XX:AOTCacheOutput; PUTs to the leader (16 conns ${t}s, 1 conn $((t / 2))s) and a follower (half that)"
  GC_LOG=0
  local train_pids=()
  for i in 0 1 2; do
    JAVA_OPTS_EXTRA="$saved -XX:AOTCacheOutput=$WORK/aot-s$((i + 1)).aot"
    start_ours "$i"
    train_pids+=("${OURS_PID[i]}")
  done
  JAVA_OPTS_EXTRA=$saved GC_LOG=$saved_gc
  await_ready ours
  L=$LEADER F=$(((LEADER + 1) % 3))
  for tp in "$L 16 $t" "$L 1 $((t / 2))" "$F 16 $((t / 2))" "$F 1 $((t / 4))"; do
    set -- $tp
    bg_run "$WORK/out" timeout $(($3 + 30)) wrk -t1 -c"$2" -d"$3s" --timeout 5s -s "$LUA" "${OURS_URL[$1]}" -- consul "aot-train-s$(($1 + 1))-c$2" || true
    say "  training: s$(($1 + 1)) $2 conns $3 s: $(awk '/Requests\/sec/ {print $2}' "$WORK/out") req/s"
  done
  for i in "${train_pids[@]}"; do kill -TERM "$i" 2>/dev/null || true; done
  for i in "${train_pids[@]}"; do
    for _ in $(seq 1 600); do kill -0 "$i" 2>/dev/null || break; sleep 0.5; done
  done
  rm -rf "$WORK/ours"; mkdir -p "$WORK/ours"
  if [ -s "$WORK/aot-s$((L + 1)).aot" ]; then
    JAVA_OPTS_EXTRA="$saved -XX:AOTCache=$WORK/aot-s$((L + 1)).aot"
    say "AOT cache of the training leader s$((L + 1)): $(du -m "$WORK/aot-s$((L + 1)).aot" | cut -f1) MB; our servers' extra JVM flags now: $JAVA_OPTS_EXTRA"
  else
    die "AOT training wrote no cache (logs: $WORK/logs/ours-s$((L + 1)).log)"
  fi
}
if [ "${BENCH_AOT:-0}" = 1 ] && system_on ours; then train_aot; fi

say "starting 3 discovery-node servers (HTTP ${OH[*]}) and 3 etcd members (client ${EC[*]})"
for i in 0 1 2; do start_ours "$i"; if system_on etcd; then start_etcd "$i"; fi; done
if system_on etcd; then
  await_ready etcd
  say "etcd ready, leader e$((LEADER + 1)) (PIDs ${ETCD_PID[*]})"
fi
await_ready ours
say "ours ready, leader s$((LEADER + 1)) (PIDs ${OURS_PID[*]})"

# ---------------------------------------------------------------------------------------------------------------
# CPU accounting around a run: per server process (% of one core) and the whole box (% of all cores)
# ---------------------------------------------------------------------------------------------------------------
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
box_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $5 + $6 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
CPU_BEFORE=()
cpu_start() {   # args: PIDs
  CPU_BEFORE=()
  local p
  for p in "$@"; do CPU_BEFORE+=("$(proc_ticks "$p")"); done
  CPU_BOX_BEFORE=$(box_ticks)
  CPU_T_BEFORE=$(date +%s.%N)
}
cpu_stop() {    # args: same PIDs; prints "cpu=a/b/c box=d"
  local t1 p idx=0 out=""
  t1=$(date +%s.%N)
  for p in "$@"; do
    out+="$(awk -v a="${CPU_BEFORE[idx]}" -v b="$(proc_ticks "$p")" -v hz="$HZ" -v t0="$CPU_T_BEFORE" -v t1="$t1" \
      'BEGIN { printf "%.0f", (b - a) / hz / (t1 - t0) * 100 }')/"
    idx=$((idx + 1))
  done
  local box
  box=$(box_ticks | awk -v before="$CPU_BOX_BEFORE" 'BEGIN { split(before, a, " ") } { printf "%.0f", 100 * (1 - ($2 - a[2]) / ($1 - a[1])) }')
  echo "cpu=${out%/} box=$box"
}

# ---------------------------------------------------------------------------------------------------------------
# 1. Throughput
# ---------------------------------------------------------------------------------------------------------------
RUN=0
# run_wrk SYSTEM TARGET(leader|follower) MEMBER CONNS SECONDS RECORD(yes|no)
run_wrk() {
  local sys=$1 role=$2 m=$3 c=$4 d=$5 rec=$6 url mode line pids cpu
  RUN=$((RUN + 1))
  if [ "$sys" = ours ]; then url=${OURS_URL[m]}; mode=consul; pids=("${OURS_PID[m]}"); else url=${ETCD_URL[m]}; mode=etcd; pids=("${ETCD_PID[m]}"); fi
  local o
  for o in 0 1 2; do
    [ "$o" = "$m" ] && continue
    if [ "$sys" = ours ]; then pids+=("${OURS_PID[o]}"); else pids+=("${ETCD_PID[o]}"); fi
  done
  local jfr=no
  if [ "$rec" = yes ] && [ "$JFR" = 1 ] && [ "$sys" = ours ]; then
    jfr=yes
    for o in "${pids[@]}"; do "$JAVA_HOME/bin/jcmd" "$o" JFR.start name="r$RUN" settings=profile >/dev/null 2>&1 || true; done
  fi
  python3 "$HERE/threadcpu.py" snap "${pids[@]}" >"$WORK/threads-before.json"
  cpu_start "${pids[@]}"
  bg_run "$WORK/out" timeout $((d + 30)) wrk -t1 -c"$c" -d"${d}s" --timeout 5s -s "$LUA" "$url" -- "$mode" "r$RUN-$sys-$role-c$c" || true
  line=$(grep '^WRKRESULT' "$WORK/out" || true)
  cpu=$(cpu_stop "${pids[@]}")
  python3 "$HERE/threadcpu.py" snap "${pids[@]}" >"$WORK/threads-after.json"
  [ -n "$line" ] || die "wrk against $url printed no result"
  # acknowledged PUTs (each a new key) this system holds so far: see BENCH_MATCH_KEYS
  local acked
  acked=$(sed -E 's/.*requests=([0-9]+).*non2xx=([0-9]+).*/\1 \2/' <<<"$line")
  acked=$(( ${acked% *} - ${acked#* } ))
  if [ "$sys" = ours ]; then OURS_KEYS=$((OURS_KEYS + acked)); else ETCD_KEYS=$((ETCD_KEYS + acked)); fi
  local labels=() tc="" i
  for o in "${pids[@]}"; do
    for i in 0 1 2; do
      if [ "$sys" = ours ] && [ "${OURS_PID[i]}" = "$o" ]; then labels+=("s$((i + 1))"); fi
      if [ "$sys" = etcd ] && [ "${ETCD_PID[i]}" = "$o" ]; then labels+=("e$((i + 1))"); fi
    done
  done
  if [ "$rec" = yes ]; then
    python3 "$HERE/threadcpu.py" diff "$WORK/threads-before.json" "$WORK/threads-after.json" --labels "${labels[@]}" \
      --requests "$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")" >"$WORK/logs/threads-r$RUN.txt" 2>&1 || true
    tc=$(grep '^THREADCPU' "$WORK/logs/threads-r$RUN.txt" || true)
    tc=${tc#THREADCPU }
  fi
  if [ "$jfr" = yes ]; then
    for i in "${!pids[@]}"; do
      "$JAVA_HOME/bin/jcmd" "${pids[i]}" JFR.stop name="r$RUN" filename="$WORK/logs/jfr-r$RUN-$sys-$role-c$c-${labels[i]}.jfr" >/dev/null 2>&1 || true
    done
  fi
  local lnow lchg=no
  lnow=$(leader_now "$sys")
  if { [[ "$role" == leader* ]] && [ "$lnow" != "$m" ]; } || { [ "$role" = follower ] && [ "$lnow" = "$m" ]; }; then
    lchg=yes
    say "  NOTE: the $sys leader changed during this run (now member $((lnow + 1))); the figure is flagged"
    await_ready "$sys"
  fi
  if [ "$rec" = yes ]; then
    # every acknowledged PUT must be in the store: count the keys under this run's prefix, read one value back
    local chk
    chk=$(timeout 60 python3 "$PY" check --system "$sys" --url "$url" --prefix "r$RUN-$sys-$role-c$c" 2>/dev/null | grep '^RESULT' || true)
    chk=${chk#RESULT }
    echo "tput sys=$sys role=$role conns=$c ${line#WRKRESULT } $cpu $tc leader_changed=$lchg ${chk:-stored_keys=0 value_ok=unknown}" >>"$RESULTS"
    say "  $sys $role c=$c: $(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+).*non2xx=([^ ]+).*/\1 req\/s, p50 \2 ms, p99 \3 ms, non-2xx \4/' <<<"$line"); $cpu (CPU% target/other/other, box busy%); ${tc:-}"
    if [ "$sys" = ours ] && [ -n "$tc" ]; then
      sed -n '1,40p' "$WORK/logs/threads-r$RUN.txt" | grep -v '^THREADCPU' | sed 's/^/      /'
    fi
  else
    WARM_RPS=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line")
    echo "${WRK_KIND:-warmup} sys=$sys role=$role conns=$c slice_s=$d ${line#WRKRESULT }" >>"$RESULTS"
  fi
}
OURS_KEYS=0
ETCD_KEYS=0

# match_keys ROLE M TARGET: etcd's member M (its leader) takes distinct-key PUTs at 64 connections, in slices of at
# most 10 s sized from its last rate, until etcd holds TARGET keys; recorded as "preload" rows, not as warm-up.
match_keys() {
  local role=$1 m=$2 target=$3 t0=$SECONDS d rate
  [ "${BENCH_MATCH_KEYS:-1}" = 1 ] || return 0
  while [ "$ETCD_KEYS" -lt "$target" ] && [ $((SECONDS - t0)) -lt 600 ]; do
    rate=${WARM_RPS:-1000}; [ "$rate" -gt 0 ] || rate=1000
    d=$(( (target - ETCD_KEYS) / rate + 1 )); [ "$d" -le 10 ] || d=10
    # sent to the leader whichever phase it is for (as "leader": a follower phase's check would flag it as a leader change)
    WRK_KIND=preload run_wrk etcd leader "$m" 64 "$d" no
  done
  say "  etcd loaded to $ETCD_KEYS keys before its $role runs (ours held $target before its own) in $((SECONDS - t0)) s"
  # the leader may have changed meanwhile: the measured runs find it again
  await_ready etcd
  EL=$LEADER; EF1=$(follower_of)
  echo "match sys=etcd role=$role target=$target held=$ETCD_KEYS reached=$([ "$ETCD_KEYS" -ge "$target" ] && echo yes || echo no)" >>"$RESULTS"
}

# CPU ticks so far of our three servers' JIT compiler threads (C1/C2 CompilerThread*)
jit_ticks() {
  local p t sum=0 n name
  for p in "${OURS_PID[@]}"; do
    for t in /proc/"$p"/task/*; do
      { read -r name <"$t/comm"; } 2>/dev/null || continue
      case "$name" in
        "C1 CompilerThre"*|"C2 CompilerThre"*)
          n=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null || echo 0)
          sum=$((sum + ${n:-0}));;
      esac
    done
  done
  echo "$sum"
}

# warm_up SYSTEM ROLE MEMBER MIN_S MAX_S: rounds of 10 s at 16 connections and 5 s at 1 until MIN_S, then while a
# round's 16-connection slice gains >10% or the JIT compilers of our servers still took more than BENCH_WARMUP_JIT %
# of a core (10) in the round: on a loaded 2-core box C2 was still compiling after 80 s, and the first measured run
# (the leader's c=1) paid for it (compiler threads ~1 ms of its 4.4 ms CPU per write; bench/threadcpu.py). The 5 s at
# 1 connection: a lone write goes alone in its entry, a path 16 connections (batches) hardly take.
warm_up() {
  local sys=$1 role=$2 m=$3 min=$4 max=$5 t=0 prev=0 rates="" j0 j1 jit=0 jits="" rps
  while [ "$t" -lt "$max" ]; do
    j0=$(jit_ticks)
    run_wrk "$sys" "$role" "$m" 16 10 no
    rps=$WARM_RPS
    run_wrk "$sys" "$role" "$m" 1 5 no
    j1=$(jit_ticks)
    jit=$(( (j1 - j0) * 100 / HZ / 15 ))
    t=$((t + 15)); rates+=" $rps"; jits+=" $jit"
    if [ "$t" -ge "$min" ] && [ $((rps * 10)) -le $((prev * 11)) ] && [ "$jit" -le "${BENCH_WARMUP_JIT:-10}" ]; then break; fi
    prev=$rps
  done
  say "  warm-up $sys $role: ${t}s in rounds of 10 s at 16 connections and 5 s at 1; req/s of each round's 16:$rates; JIT compilers' CPU % per round:$jits"
}

follower_of() { echo $(((LEADER + 1) % 3)); }

if phase tput; then
say "1. KV PUT throughput (wrk, ${DURATION}s per run, 100-byte values, distinct keys)"
await_ready ours
OL=$LEADER; OF1=$(follower_of)
say " ours: leader s$((OL + 1)), follower s$((OF1 + 1)); JVM warm-up on the leader (${WARMUP}-${WARMUP_MAX}s)"
warm_up ours leader "$OL" "$WARMUP" "$WARMUP_MAX"
await_ready ours
OL=$LEADER; OF1=$(follower_of)
OURS_KEYS_LEADER=$OURS_KEYS
echo "keys sys=ours role=leader held=$OURS_KEYS" >>"$RESULTS"
for c in $CONNS; do run_wrk ours leader "$OL" "$c" "$DURATION" yes; done
await_ready ours
OL=$LEADER; OF1=$(follower_of)
# The follower's HTTP and forwarding path is compiled only once it takes writes: warmed like the leader (at least
# BENCH_FOLLOWER_WARMUP s, 30, then while a slice gains >10%, at most BENCH_WARMUP_MAX).
warm_up ours follower "$OF1" "$FOLLOWER_WARMUP" "$WARMUP_MAX"
OURS_KEYS_FOLLOWER=$OURS_KEYS
echo "keys sys=ours role=follower held=$OURS_KEYS" >>"$RESULTS"
for c in $CONNS; do run_wrk ours follower "$OF1" "$c" "$DURATION" yes; done
if [ "${BENCH_REPEAT_LEADER:-0}" = 1 ]; then
  # the leader's runs again, now after the follower's: tells the order's (warm-up's) effect from the target's
  await_ready ours
  OL=$LEADER
  for c in $CONNS; do run_wrk ours leader2 "$OL" "$c" "$DURATION" yes; done
fi

if system_on etcd; then
await_ready etcd
EL=$LEADER; EF1=$(follower_of)
say " etcd: leader e$((EL + 1)), follower e$((EF1 + 1))"
run_wrk etcd leader "$EL" 16 5 no
say "  warm-up etcd leader: 5s at 16 connections: $WARM_RPS req/s"
if system_on ours; then match_keys leader "$EL" "${OURS_KEYS_LEADER:-0}"; fi
echo "keys sys=etcd role=leader held=$ETCD_KEYS" >>"$RESULTS"
for c in $CONNS; do run_wrk etcd leader "$EL" "$c" "$DURATION" yes; done
await_ready etcd
EL=$LEADER; EF1=$(follower_of)
if system_on ours; then match_keys follower "$EL" "${OURS_KEYS_FOLLOWER:-0}"; fi
echo "keys sys=etcd role=follower held=$ETCD_KEYS" >>"$RESULTS"
for c in $CONNS; do run_wrk etcd follower "$EF1" "$c" "$DURATION" yes; done
fi
fi

# ---------------------------------------------------------------------------------------------------------------
# 2. Watch wake latency
# ---------------------------------------------------------------------------------------------------------------
run_watch() {  # SYSTEM WATCH-MEMBER WRITE-MEMBER SAMPLES PLACEMENT
  local sys=$1 w=$2 p=$3 n=$4 place=$5 out urls
  if [ "$sys" = ours ]; then urls=("${OURS_URL[@]}"); else urls=("${ETCD_URL[@]}"); fi
  bg_run "$WORK/out" timeout 200 python3 "$PY" watch --system "$sys" --watch "${urls[w]}" --write "${urls[p]}" --samples "$n" --max-seconds 150 || true
  out=$(grep '^RESULT' "$WORK/out" || true)
  [ -n "$out" ] || die "watch benchmark for $sys printed no result"
  local lnow
  lnow=$(leader_now "$sys")
  if { [ "$place" = watcher-on-follower ] && [ "$lnow" != "$p" ]; } || { [ "$place" = watcher-on-leader ] && [ "$lnow" != "$w" ]; }; then
    if [ "${6:-}" != retry ]; then
      say "  NOTE: the $sys leader changed during the watch run (now member $((lnow + 1))); measuring again"
      await_ready "$sys"
      if [ "$place" = watcher-on-follower ]; then run_watch "$sys" "$(follower_of)" "$LEADER" "$n" "$place" retry
      else run_watch "$sys" "$LEADER" "$(follower_of)" "$n" "$place" retry; fi
      return
    fi
    out+=" leader_changed=yes"
  fi
  echo "watch sys=$sys place=$place ${out#RESULT }" >>"$RESULTS"
  say "  $sys $place: ${out#RESULT }"
}
phase watch && say "2. watch wake latency (PUT acknowledged -> watcher woken)"
phase watch && for sys in $SYSTEMS; do
  await_ready "$sys"
  run_watch "$sys" "$(follower_of)" "$LEADER" "$WATCH_SAMPLES" watcher-on-follower
  run_watch "$sys" "$LEADER" "$(follower_of)" 50 watcher-on-leader
done

# ---------------------------------------------------------------------------------------------------------------
# 3. Leader kill
# ---------------------------------------------------------------------------------------------------------------
phase failover && say "3. leader kill: SIGKILL the leader while writing to a survivor; $FAILOVER_REPS repetitions each"
phase failover && for sys in $SYSTEMS; do
  for rep in $(seq 1 "$FAILOVER_REPS"); do
    await_ready "$sys"
    L=$LEADER; W=$(follower_of)
    survivors=()
    for o in 0 1 2; do [ "$o" = "$L" ] || survivors+=("$WORK/logs/$([ "$sys" = ours ] && echo ours-s || echo etcd-e)$((o + 1)).log"); done
    if [ "$sys" = ours ]; then pid=${OURS_PID[L]}; url=${OURS_URL[W]}; expect="$WORK/ours/s$((L + 1))"
    else pid=${ETCD_PID[L]}; url=${ETCD_URL[W]}; expect="$WORK/etcd/e$((L + 1))"; fi
    bg_run "$WORK/out" timeout 90 python3 "$PY" failover --system "$sys" --write "$url" --kill-pid "$pid" --expect "$expect" --max-seconds 60 --logs "${survivors[@]}" || true
    out=$(grep '^RESULT' "$WORK/out" || true)
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done  # gone (bash reaps it)
    [ -n "$out" ] || die "failover run for $sys printed no result"
    echo "failover sys=$sys rep=$rep killed=$((L + 1)) writer=$((W + 1)) ${out#RESULT }" >>"$RESULTS"
    say "  $sys rep $rep: killed member $((L + 1)) (PID $pid), writing to member $((W + 1)): ${out#RESULT }"
    if [ "$sys" = ours ]; then start_ours "$L"; else start_etcd "$L"; fi
  done
  await_ready "$sys"
done

# ---------------------------------------------------------------------------------------------------------------
# Server logs: warnings and errors (what the lead engineer should look at)
# ---------------------------------------------------------------------------------------------------------------
say "server logs: warnings/errors"
for f in "$WORK"/logs/ours-*.log "$WORK"/logs/etcd-*.log; do
  b=$(basename "$f" .log)
  if [[ $b == ours-* ]]; then
    nw=$(grep -c -E ' (WARN|WARNING) ' "$f" || true); ne=$(grep -c -E ' ERROR |Exception' "$f" || true)
  else
    nw=$(grep -c '"level":"warn"' "$f" || true); ne=$(grep -c -E '"level":"(error|fatal|panic)"' "$f" || true)
  fi
  echo "log name=$b warn=$nw error=$ne" >>"$RESULTS"
done
kills=0; phase failover && kills=$FAILOVER_REPS
won=$(cat "$WORK"/logs/ours-*.log | grep -c -E 'LeaderElection[0-9]*\] INFO .*Raft leader is now' || true)
lost=$(cat "$WORK"/logs/ours-*.log | grep -c 'Lost leadership' || true)
pauses=$(cat "$WORK"/logs/ours-*.log | grep -c 'JvmPauseMonitor.*Detected pause' || true)
echo "elections sys=ours won=$won stepdowns=$lost jvm_pauses=$pauses expected=$((1 + kills))" >>"$RESULTS"
won=$(cat "$WORK"/logs/etcd-*.log | grep -c 'became leader at term' || true)
slow=$(cat "$WORK"/logs/etcd-*.log | grep -c 'leader failed to send out heartbeat on time' || true)
echo "elections sys=etcd won=$won slow_heartbeats=$slow expected=$((1 + kills))" >>"$RESULTS"
# GC pauses of our servers (all JVM runs), and the state snapshots they took
if [ "$GC_LOG" = 1 ]; then
  # G1/Parallel/Serial log each stop-the-world pause as "... Pause ... 12.345ms" at -Xlog:gc, ZGC as "Y: Pause Mark
  # Start 0.016ms" at gc+phases (both are logged, see start_ours). "+ 0": after sub() v is a string, and awk then
  # compared the pauses as strings ("94.9" > "119.1", "100.2" < "50"): the longest and the count of 50 ms or more
  # printed before session 16 were wrong (e.g. 94.9 ms and 62 where the logs hold 119.1 ms and 43).
  cat "$WORK"/logs/gc-*.log 2>/dev/null | awk '/Using / && !c { c = substr($0, index($0, "Using ") + 6); gsub(/ /, "_", c) } / Pause .*ms$/ { v = $NF; sub(/ms$/, "", v); v += 0; n++; t += v; if (v > m) m = v; if (v >= 50) big++ }
    END { printf "gc sys=ours collector=%s pauses=%d total_ms=%.0f max_ms=%.1f over_50ms=%d\n", c ? c : "?", n, t, m, big }' >>"$RESULTS"
fi
for d in "$WORK"/ours/s*/raft/*/sm; do
  [ -d "$d" ] || continue
  f=$(ls -t "$d"/snapshot.* 2>/dev/null | grep -v '\.md5$' | head -1 || true)
  [ -n "$f" ] && echo "snapshot sys=ours server=$(basename "$(dirname "$(dirname "$(dirname "$d")")")") file=$(basename "$f") bytes=$(stat -c %s "$f")" >>"$RESULTS"
done
{
  echo "--- ours: most frequent WARN/ERROR lines (timestamps and numbers stripped) ---"
  cat "$WORK"/logs/ours-*.log | grep -E ' (WARN|WARNING|ERROR) ' | sed -E 's/^[0-9TZ:.+-]+ //; s/\[[^]]*\] //; s/group-[0-9A-F]+/group/g; s/[0-9]+/N/g' | cut -c1-200 | sort | uniq -c | sort -rn | head -8 || true
  echo "--- etcd: most frequent warnings ---"
  cat "$WORK"/logs/etcd-*.log | grep -E '"level":"(warn|error)"' | sed -E 's/.*"msg":"([^"]*)".*/\1/' | sort | uniq -c | sort -rn | head -8 || true
} >"$WORK/logtop.txt"

say "done in $((SECONDS - T0)) s"
if ! python3 "$PY" summary "$RESULTS" "$WORK/logtop.txt"; then
  KEEP=1
  die "could not print the summary; raw results are in $RESULTS"
fi
