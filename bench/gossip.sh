#!/usr/bin/env bash
# bench/gossip.sh — gossip membership: failoverkit's discovery-node agents against stock serf agents (Debian's serf,
# memberlist's LAN defaults), in the same run, N agents of each on 127.0.0.1 (N = 10 and 30 by default).
#
#   bash bench/gossip.sh        # about 10-15 minutes; prints a table per N at the end
#
# For each N and each side, one side at a time (the other side's agents are stopped), with the same steps:
#   1. start N agents, none joined; wait until every one answers its API; settle BENCH_SETTLE s (JIT, start-up);
#   2. join convergence: first BENCH_JOIN_WARM s (3) of polling every agent at the polling rate, untimed (both sides'
#      API paths and the harness's client code run warm when it counts, not for the first time); then t0, and
#      agents 2..N are told in parallel, through their API, to join agent 1's gossip address (serf: RPC "join"; ours:
#      PUT /v1/agent/join/ADDR); time until EVERY agent has listed all N members alive (each round asks only the
#      agents that have not yet, so the polling's load falls as the pool converges, on both sides alike; a last
#      round of all checks they still do). The agents' CPU is printed for the settle (idle), the warm-up polling
#      (a harness step of its own) and the join step (which polls 0.5 s more first: the harness's JVM is new).
#      Our agents also give the in-process figure: each logs every member-join
#      with its own clock to the millisecond (Serf's logger at INFO), and the latest member-join logged between t0
#      and the polled convergence, minus t0, is when the last agent learned the last member, with no polling delay
#      (stock serf logs to the second: its side has the polled figure only). The agents' CPU time during the step is
#      printed too. Steps 1-2 run BENCH_JOINS times (3) with fresh agents (median, max): one sample swings with where
#      the gossip ticks fall (serf N=10: 0.06 s to 0.4 s);
#   3. bytes per agent at rest: after BENCH_QUIET_SETTLE s, a BENCH_WINDOW s (30) tcpdump capture on lo of every
#      UDP and TCP packet to or from the side's gossip ports (one contiguous port block; TCP push-pull connections
#      included, their ephemeral ends too); counted: IP bytes (IP + UDP/TCP headers + payload, every packet once,
#      the link header not), divided by N and by the window: the bytes each agent SENDS per second on average (each
#      packet has one sender; what an agent sends plus what it receives is about twice this). Payload bytes too. No
#      API polling runs during the window. CPU per agent at rest (utime+stime from /proc over the window) and RSS;
#   4. SIGKILL to failed everywhere, BENCH_KILLS times (5): all N alive everywhere first; t0; SIGKILL one agent
#      (never agent 1, ours' server); time until every other agent lists it failed; then it is started again (with
#      -join to agent 1) and the pool reconverges before the next kill. Median and max. Any other member seen not
#      alive during these waits is counted as a false positive;
#   5. user event to last handler, BENCH_EVENTS times (5): every agent runs the same -event-handler script, which for
#      a user event appends "NAME $(date +%s.%N)" to a file named after the agent (SERF_SELF_NAME); one members call
#      to agent 1 on the same connection first (the harness is a new JVM per event: its first request loads the
#      client's classes, which is not propagation), then t0, fire through agent 1 (serf: RPC "event" with coalesce=false, as `serf event -coalesce=false`: serf's agent otherwise
#      delays coalescable user events by its 1 s quiescent period; ours: PUT /v1/event/fire/NAME); figure = the
#      latest handler timestamp minus t0 (handler clocks, not the polling). Median and max.
# Membership is polled through each side's own API: serf's RPC (the protocol the serf CLI speaks, one persistent
# connection per agent) and our HTTP /v1/agent/members; every agent in parallel, one round every BENCH_POLL_MS
# (50 ms) or right after the previous round when it took longer; a condition is timed at the end of the round that
# first shows it (late by at most one round). The rounds' median/max duration are printed: the resolution.
# The measuring side is bench/gossip/GossipBench.java (compiled once into the temp dir; see its header).
#
# Setups (sides, BENCH_SIDES): serf: `serf agent -node sI -bind 127.0.0.1:P -rpc-addr 127.0.0.1:R -event-handler H
# -log-level warn -tag k=v...`: the serf agents carry the same tag set as ours (role, dc, id, port, http_port, build,
# vsn, and expect on agent 1; same keys, values of the same length: serf_tags), so that both sides gossip node meta of
# the same size in every alive and every push-pull node entry (without tags serf's at-rest bytes were lower by the
# tags' share of its TCP push-pull). Agent 2's tags are printed on each side as its own API lists them. lib (not run by default): failoverkit's gossip library alone, one JVM per node
# (bench/gossip/GossipNode.java: Serf over UdpTcpTransport with the agent's timings, the library's EventHandlers, the
# agent's HTTP JSON; no Raft, catalog or DNS), to tell the gossip's cost from the agent's.
# fk: agent 1 is a server (-server -bootstrap-expect=1), agents 2..N are client agents: one gossip pool of N
# members (Consul's deployment shape); Raft is not measured. Each JVM runs with BENCH_FK_JAVA_OPTS
# ("-Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1": small heaps, one GC thread, C1 only, so that 30
# JVMs fit on a 2-core machine). The JVMs are started BENCH_FK_START_BATCH (5) at a time, the next batch once the
# previous one answers HTTP.
#
# Checked against the issue's serf figures on this machine kind: serf's rows come out at 0.3-0.7 s join, 5.7-7.6 s
# failure, 0.27-0.44 s event, 310-330 B/s per agent (the issue: 0.48/0.89, 6.0/8.35, 0.26/0.47, ~330).
# Knobs: BENCH_NS ("10 30"), BENCH_SIDES ("serf fk"), BENCH_JOINS (3), BENCH_JOIN_WARM (3), BENCH_JOIN_POLL_MS (the join
#   steps' polling interval, BENCH_POLL_MS unless set: polling 30 of our agents every 50 ms takes ~1.5 of 2 cores), BENCH_FK_AOT (0; 1: see train_aot), BENCH_FK_JFR (a dir: see FK_JFR), BENCH_KILLS (5), BENCH_EVENTS (5), BENCH_WINDOW (30),
#   BENCH_SETTLE (10), BENCH_QUIET_SETTLE (10), BENCH_POLL_MS (50), BENCH_TIMEOUT (s per wait, 180),
#   BENCH_FK_JAVA_OPTS, BENCH_FK_START_BATCH, BENCH_TMPDIR (/var/tmp), BENCH_KEEP=1 (keep the temp dir: logs, handler
#   files, captures, results).
# Installs what it lacks with apt-get (serf, tcpdump; maven if the jar must be built); needs root (or sudo) for
# tcpdump; without it the bytes row is skipped, said so. Builds discovery-node.jar if older than the sources (mvn
# package into this tree's target/, never install) and runs a private copy. All ports from pick_ports (20000-32000),
# only 127.0.0.1. Stops only the processes it started, by PID (checked against their command line), on exit, error
# or Ctrl-C, and removes its temp dir.
{ # the whole script is one block: bash reads it all before running it, so an edit while it runs cannot derail it
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
NS=${BENCH_NS:-10 30}
SIDES=${BENCH_SIDES:-serf fk}
KILLS=${BENCH_KILLS:-5}
JOINS=${BENCH_JOINS:-3}
EVENTS=${BENCH_EVENTS:-5}
WINDOW=${BENCH_WINDOW:-30}
SETTLE=${BENCH_SETTLE:-10}
QUIET_SETTLE=${BENCH_QUIET_SETTLE:-10}
POLL_MS=${BENCH_POLL_MS:-50}
TIMEOUT=${BENCH_TIMEOUT:-180}
FK_JAVA_OPTS=${BENCH_FK_JAVA_OPTS:--Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}
FK_BATCH=${BENCH_FK_START_BATCH:-5}
JOIN_WARM=${BENCH_JOIN_WARM:-3}
FK_AOT=${BENCH_FK_AOT:-0}
JOIN_POLL_MS=${BENCH_JOIN_POLL_MS:-${BENCH_POLL_MS:-50}}
FK_TRAIN_OPTS=""
# BENCH_FK_JFR=DIR: our agents record JFR (settings=profile) and each join step's recordings are dumped into DIR
# (jcmd JFR.dump, right after the step; with the step's join-R.out, whose join_t0 and join_s bound the join's samples:
# bench/gossip/jfr_window.py). Profiling costs CPU: figures from such a run are not comparable with serf's.
# What it showed at N=30 (session 8, two joins, 814 and 1,264 samples in the join windows): 73% of the samples had an
# interpreted top frame (JFR frame type; a sample of four agents), i.e. the join runs mostly in cold code; class
# loading, call-site linking and static initialisers were in ~25% of the stacks, most of them the client agents'
# first anti-entropy sync (the JDK HTTP client's first use; since then warmed at start, agent/HttpWarmup, off with
# BENCH_FK_JAVA_OPTS="... -Dfailoverkit.agent.warmup=false"); the gossip thread ~35-48% (of which the member-join
# INFO line this bench turns on, slf4j-simple's date formatting and println, ~13%); HTTP serving of the polls ~14%.
# Raft and the leader's reconciliation of 30 joins: under 5%.
# Session 9 (box shared with other helpers' benchmarks, load 8-15: only the shares mean much): the join step's CPU by
# thread name (printed for every fk join step; summed over the 30 agents, core-s): gossip thread ~2.5, C1 compiler
# threads ~2.3, virtual threads (the HTTP serving of the polls) ~1.4, agent-timer ~0.75, gossip-udp ~0.7, the VM
# thread (serial GC) ~0.5, the checks thread ~0.6 (an idle 100 ms TTL tick, since run only while there are TTL
# checks). -Xlog:jit+compilation on the agents: ~150 methods compiled per agent DURING the join, ~80 of them the
# gossip package's (LZW, msgpack, alive/push-pull handling, broadcast queues) although the start-up warm-up ran them
# once; hence GossipWarmup repeats it until C1 has compiled them (one pass compiled 17 of those 79, ten 68). The HTTP
# API's cost per request on one agent (sequential GETs, C1 only): ~2 ms of CPU for the first hundred, ~1 ms up to
# ~400, ~0.5 ms after, the same for /v1/agent/members (cached bytes), /v1/agent/version and a 404: Jetty and the
# virtual-thread dispatch, not the members rendering; the 3 s warm-up polling (~60 requests per agent) leaves it cold.
# Session 12: the client agents' first anti-entropy sync (two GETs and the catalog writes to the server, on every
# client when the server appears, plus the server's side of it) was in the join window; it now waits a random
# 0-3 s as Consul's does after a server joins (agent/AntiEntropy). The join step's CPU went from 8.0-9.0 core-s to
# 4.6-5.8 (agent-timer 0.7-0.9 -> 0.2), the N=30 polled join from 3.1-3.4 s to 1.10-1.54 s (serf 1.18-1.70 s in the
# same runs; serf's second join took 24-27 s in two runs of two). The gossip itself is unchanged: this is work
# taken out of the join's second, as Consul spreads it, not work removed.
FK_JFR=${BENCH_FK_JFR:-}
if [ -n "$FK_JFR" ]; then mkdir -p "$FK_JFR"; FK_JAVA_OPTS="$FK_JAVA_OPTS -XX:StartFlightRecording=settings=profile"; fi
# Serf's logger at INFO on our side (the rest at -log-level warn): each member-join is logged with the agent's clock
# to the millisecond, which gives the in-process join convergence (GossipBench's join step, --logs).
FK_LOG_OPTS="-Dorg.slf4j.simpleLogger.log.io.failoverkit.discovery.gossip.serf.Serf=info"
KEEP=${BENCH_KEEP:-0}
T0=$SECONDS
say() { printf '[gossip.sh %4ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
for v in JOINS KILLS EVENTS WINDOW SETTLE QUIET_SETTLE POLL_MS TIMEOUT FK_BATCH JOIN_WARM FK_AOT JOIN_POLL_MS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number"
done
for n in $NS; do [[ "$n" =~ ^[0-9]+$ && "$n" -ge 3 ]] || die "BENCH_NS: every N must be a whole number >= 3"; done
for s in $SIDES; do [[ "$s" == serf || "$s" == fk || "$s" == lib ]] || die "BENCH_SIDES: serf, fk and/or lib"; done

mkdir -p "${BENCH_TMPDIR:-/var/tmp}"
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/gossipbench.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/dist" "$WORK/pids" "$WORK/results"
OUR_POLICY=0
CHILD=0
TCPDUMP_PID=0
all_pids() { cat "$WORK"/pids/* 2>/dev/null || true; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  if [ "$CHILD" != 0 ] && kill -0 "$CHILD" 2>/dev/null; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if [ "$OUR_POLICY" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d || true; fi
  if [ "$TCPDUMP_PID" != 0 ]; then $SUDO kill -INT "$TCPDUMP_PID" 2>/dev/null || true; fi
  # shellcheck disable=SC2046
  stop_own_pids "$WORK" $(all_pids)
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------------------------------------------------------
# Tools, jar, harness
# ---------------------------------------------------------------------------------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && SUDO="sudo"; }
APT_UPDATED=0
need=()
[ -x /usr/bin/serf ] || need+=(serf)
command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || need+=(tcpdump)
JAR="$ROOT/discovery-node/target/discovery-node.jar"
stale=0
if [ ! -f "$JAR" ] || [ ! -d "$ROOT/discovery-node/target/lib" ] \
   || [ -n "$(find "$ROOT"/*/src/main "$ROOT"/*/pom.xml "$ROOT/pom.xml" -newer "$JAR" -print -quit 2>/dev/null)" ]; then
  stale=1
  command -v mvn >/dev/null 2>&1 || need+=(maven)
fi
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ] || die "please install: ${need[*]} (needs root)"
  apt_install "${need[@]}"
fi
SERF=/usr/bin/serf
TCPDUMP=$(command -v tcpdump || echo /usr/bin/tcpdump)
CAN_CAPTURE=1
if [ "$(id -u)" -ne 0 ] && ! $SUDO -n true 2>/dev/null; then CAN_CAPTURE=0; say "not root and no sudo: the bytes-at-rest row is skipped (tcpdump needs CAP_NET_RAW)"; fi

JAVA_HOME=$("$ROOT/bin/java-home") || die "no JDK >= 21 (see bin/java-home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
if [ "$stale" = 1 ]; then
  say "building discovery-node.jar (mvn package into this tree's target/, never install)"
  (cd "$ROOT" && mvn -q -B -DskipTests -pl discovery-node -am package) >"$WORK/logs/build.log" 2>&1 \
    || { tail -30 "$WORK/logs/build.log" >&2; die "build failed"; }
fi
mkdir -p "$WORK/dist/discovery-node" "$WORK/dist/harness"
cp "$JAR" "$WORK/dist/discovery-node/discovery-node.jar"
cp -r "$ROOT/discovery-node/target/lib" "$WORK/dist/discovery-node/lib"
"$JAVA_HOME/bin/javac" -d "$WORK/dist/harness" -cp "$WORK/dist/discovery-node/discovery-node.jar:$WORK/dist/discovery-node/lib/*" \
  "$HERE/gossip/GossipBench.java" "$HERE/gossip/GossipNode.java" 2>"$WORK/logs/javac.log" \
  || { cat "$WORK/logs/javac.log" >&2; die "the harness does not compile"; }
harness() { "$JAVA" --sun-misc-unsafe-memory-access=allow -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$WORK/dist/harness:$WORK/dist/discovery-node/lib/*" GossipBench "$@"; }
FK_HAS_HANDLER=0
if "$JAVA" -jar "$WORK/dist/discovery-node/discovery-node.jar" agent -help 2>&1 | grep -q -- '-event-handler'; then FK_HAS_HANDLER=1; fi

SERF_VERSION="$("$SERF" version | sed -n 1p) (Debian package $(dpkg-query -W -f='${Version}' serf 2>/dev/null || echo '?'))"
say "serf: $SERF_VERSION; $("$JAVA" -version 2>&1 | sed -n 1p); $(nproc) cores, $(free -m | awk '/^Mem/ {print $2}') MB; load $(cut -d' ' -f1-3 /proc/loadavg); temp dir $WORK"
[ "$FK_HAS_HANDLER" = 1 ] || say "this discovery-node has no -event-handler flag yet: our event row is skipped"

# The event handler of every agent, both sides: one file per agent, one line per user event, the time it ran.
mkdir -p "$WORK/events"
cat >"$WORK/handler.sh" <<EOF
#!/bin/sh
# bench/gossip.sh's event handler: when a user event runs here, append "NAME EPOCH" to a file named after the agent.
[ "\${SERF_EVENT:-}" = user ] || exit 0
echo "\$SERF_USER_EVENT \$(date +%s.%N)" >>"$WORK/events/\$SERF_SELF_NAME"
EOF
chmod 755 "$WORK/handler.sh"

# ---------------------------------------------------------------------------------------------------------------
# Agents. Per side and N: NAMES[i], GPORT[i] (gossip), APORT[i] (API: serf RPC / our HTTP), PIDS via $WORK/pids.
# ---------------------------------------------------------------------------------------------------------------
NAMES=(); GPORT=(); APORT=(); XPORT=(); YPORT=()
setup_side() {  # SIDE N
  local side=$1 n=$2 blocks ports i
  if [ "$side" = fk ]; then blocks=4; else blocks=2; fi
  read -r -a ports <<<"$(pick_ports $((n * blocks)))"
  [ ${#ports[@]} -eq $((n * blocks)) ] || die "could not pick free ports"
  NAMES=(); GPORT=(); APORT=(); XPORT=(); YPORT=()
  for ((i = 0; i < n; i++)); do
    case $side in serf) NAMES+=("s$((i + 1))") ;; fk) NAMES+=("f$((i + 1))") ;; lib) NAMES+=("l$((i + 1))") ;; esac
    GPORT+=("${ports[i]}"); APORT+=("${ports[n + i]}")
    if [ "$side" = fk ]; then XPORT+=("${ports[2 * n + i]}"); YPORT+=("${ports[3 * n + i]}"); fi
  done
  SIDE_DIR="$WORK/$side-$n"
  mkdir -p "$SIDE_DIR/logs" "$SIDE_DIR/data"
}

start_agent() {  # SIDE I [JOIN]: starts agent I (0-based) in the background, records its PID in $WORK/pids/SIDE-N-I
  local side=$1 i=$2 join=${3:-} name=${NAMES[$2]} pid
  if [ "$side" = serf ]; then
    local args=(agent -node="$name" -bind="127.0.0.1:${GPORT[i]}" -rpc-addr="127.0.0.1:${APORT[i]}"
                -event-handler="$WORK/handler.sh" -log-level=warn)
    local t; while read -r t; do args+=(-tag="$t"); done < <(serf_tags "$i")
    [ -z "$join" ] || args+=(-join="$join")
    "$SERF" "${args[@]}" >>"$SIDE_DIR/logs/$name.log" 2>&1 &
  elif [ "$side" = lib ]; then
    local args=("$name" "${GPORT[i]}" "${APORT[i]}" "$WORK/handler.sh")
    [ -z "$join" ] || args+=("join=$join")
    # shellcheck disable=SC2086
    "$JAVA" $FK_JAVA_OPTS $FK_LOG_OPTS -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX" \
      --sun-misc-unsafe-memory-access=allow -cp "$WORK/dist/harness:$WORK/dist/discovery-node/discovery-node.jar:$WORK/dist/discovery-node/lib/*" \
      GossipNode "${args[@]}" >>"$SIDE_DIR/logs/$name.log" 2>&1 &
  else
    local args=(agent -node="$name" -data-dir="$SIDE_DIR/data/$name" -bind=127.0.0.1 -http-port="${APORT[i]}"
                -dns-port="${XPORT[i]}" -server-port="${YPORT[i]}" -serf-lan-port="${GPORT[i]}" -log-level=warn)
    [ "$i" -ne 0 ] || args+=(-server -bootstrap-expect=1)
    [ "$FK_HAS_HANDLER" = 0 ] || args+=(-event-handler="$WORK/handler.sh")
    [ -z "$join" ] || args+=(-join="$join")
    # shellcheck disable=SC2086
    "$JAVA" $FK_JAVA_OPTS $FK_TRAIN_OPTS $FK_LOG_OPTS --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
      -jar "$WORK/dist/discovery-node/discovery-node.jar" "${args[@]}" >>"$SIDE_DIR/logs/$name.log" 2>&1 &
  fi
  pid=$!
  disown "$pid"  # no job-control notice when the bench SIGKILLs it; cleanup still stops it by PID
  echo "$pid" >"$WORK/pids/$side-${#NAMES[@]}-$i"
}

agent_pid() { cat "$WORK/pids/$1-${#NAMES[@]}-$2"; }

# The serf agents carry the tag set our agents carry (agent/Agent.java: role, dc, id, port, http_port, build, vsn,
# and expect on the server), same keys, values of the same length, so both sides gossip node meta of the same size
# in every alive and every push-pull node entry. One line k=v each; the id is a fresh UUID per agent, as ours.
FK_BUILD=$(sed -n 's/.*String VERSION = "\([^"]*\)".*/\1/p' "$ROOT/discovery-node/src/main/java/io/failoverkit/discovery/agent/Agent.java" | head -1)
serf_tags() {  # I (0-based)
  local i=$1
  if [ "$i" -eq 0 ]; then echo "role=consul"; else echo "role=node"; fi
  echo "dc=dc1"
  echo "id=$(cat /proc/sys/kernel/random/uuid)"
  echo "port=$((${GPORT[i]} + 1))"
  echo "http_port=${APORT[i]}"
  echo "build=${FK_BUILD:-0.1.0}"
  echo "vsn=2"
  if [ "$i" -eq 0 ]; then echo "expect=1"; fi
}
show_tags() {  # SIDE: one line with agent 2's tags as its own API lists them (the check that both sides match)
  local side=$1 line
  if [ "$side" = serf ]; then
    line=$("$SERF" members -rpc-addr="127.0.0.1:${APORT[1]}" -detailed 2>/dev/null | awk -v n="${NAMES[1]}" '$1 == n' | head -1 || true)
  else
    line=$(curl -s --max-time 5 "http://127.0.0.1:${APORT[1]}/v1/agent/members" 2>/dev/null \
      | grep -o "\"Name\":\"${NAMES[1]}\"[^}]*\"Tags\":{[^}]*}" | head -1 || true)
    [ -n "$line" ] || line=$(curl -s --max-time 5 "http://127.0.0.1:${APORT[1]}/v1/agent/members" 2>/dev/null | head -c 600 || true)
  fi
  say "$side: ${NAMES[1]}'s tags: ${line:-(could not read)}"
}

stop_side() {  # SIDE: stops this side's agents (by PID), forgets them
  local side=$1 f pids=()
  for f in "$WORK"/pids/"$side"-"${#NAMES[@]}"-*; do [ -e "$f" ] && pids+=("$(cat "$f")"); done
  stop_own_pids "$WORK" "${pids[@]}"
  rm -f "$WORK"/pids/"$side"-"${#NAMES[@]}"-*
}

side_args() {  # SIDE: the harness's description of the running side
  local IFS=,
  echo "--side=$1 --names=${NAMES[*]} --api-ports=${APORT[*]} --gossip-ports=${GPORT[*]} --interval=$POLL_MS --timeout=$TIMEOUT"
}

# Long steps run as background children and are waited for, so that a signal is handled at once.
run_harness() {  # OUTFILE STEP ARGS...: stdout (key=value) to OUTFILE, stderr to the console; returns its status
  local out=$1 rc=0
  shift
  harness "$@" >"$out" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=0
  return "$rc"
}
kv() { sed -n "s/^$2=//p" "$1" | tail -1; }

proc_ticks() {  # PID...: utime+stime of all, in clock ticks
  local p t=0 s
  for p in "$@"; do
    s=$(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null) || continue
    # fields after ") ": state(3) ... utime(14) stime(15): in the remainder, utime is field 12, stime field 13
    t=$((t + $(awk '{print $12 + $13}' <<<"$s")))
  done
  echo "$t"
}
thread_ticks() {  # PID...: "NAME TICKS" per thread name (digits as #), utime+stime summed over the PIDs' threads
  local p files=()
  for p in "$@"; do files+=("/proc/$p/task/"*/stat); done
  # the name is between the first "(" and the last ")"; after ") " utime is field 12, stime 13
  awk '{ o = index($0, "("); c = 0; for (i = length($0); i > o; i--) if (substr($0, i, 1) == ")") { c = i; break }
         name = substr($0, o + 1, c - o - 1); gsub(/[0-9]+/, "#", name); gsub(/ /, "_", name)
         split(substr($0, c + 2), f, " "); t[name] += f[12] + f[13] }
       END { for (n in t) print n, t[n] }' "${files[@]}" 2>/dev/null || true
}
thread_ticks_diff() {  # BEFORE_FILE AFTER_FILE HZ: the thread names that used CPU between the two, most first
  awk -v hz="$3" 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d > 0) printf "%s %.2f\n", $1, d / hz }' "$1" "$2" \
    | sort -k2 -rn | head -12 | awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2} END {print ""}'
}
proc_rss_kb() {  # PID...: summed VmRSS
  local p t=0 r
  for p in "$@"; do r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); t=$((t + ${r:-0})); done
  echo "$t"
}

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) printf "%.3f\n", a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
maxof() { sort -g | tail -1; }

record() { echo "$4" >"$WORK/results/$1-$2-$3"; }  # SIDE N METRIC VALUE
result() { cat "$WORK/results/$1-$2-$3" 2>/dev/null || echo "n/a"; }

# ---------------------------------------------------------------------------------------------------------------
# One side, one N
# ---------------------------------------------------------------------------------------------------------------
measure() {  # SIDE N
  local side=$1 n=$2 i out pids=() t k
  setup_side "$side" "$n"
  # join convergence, BENCH_JOINS times, each time with fresh agents (new processes, empty data dirs)
  local joins=() inprocs=() jr
  for ((jr = 1; jr <= JOINS; jr++)); do
    if [ "$jr" -gt 1 ]; then stop_side "$side"; rm -rf "$SIDE_DIR/data"; mkdir -p "$SIDE_DIR/data"; fi
    say "$side N=$n: starting $n agents (gossip ports ${GPORT[0]}-${GPORT[n - 1]}), none joined"
    if [ "$side" = serf ]; then
      for ((i = 0; i < n; i++)); do start_agent serf "$i"; done
    else
      for ((i = 0; i < n; i += FK_BATCH)); do
        local j end=$((i + FK_BATCH < n ? i + FK_BATCH : n))
        for ((j = i; j < end; j++)); do start_agent "$side" "$j"; done
        # shellcheck disable=SC2046
        run_harness "$SIDE_DIR/up.out" wait-up $(side_args "$side") --count="$end" \
          || { tail -5 "$SIDE_DIR"/logs/*.log >&2; die "$side N=$n: agents 1..$end do not all answer"; }
      done
    fi
    # shellcheck disable=SC2046
    run_harness "$SIDE_DIR/up.out" wait-up $(side_args "$side") || { tail -5 "$SIDE_DIR"/logs/*.log >&2; die "$side N=$n: not every agent answers"; }
    say "$side N=$n: all $n answer; settling ${SETTLE}s (load $(cut -d' ' -f1-3 /proc/loadavg))"
    local logs_arg="" s0 s1 w1 c0 c1 jpids=() hz
    hz=$(getconf CLK_TCK)
    for ((i = 0; i < n; i++)); do jpids+=("$(agent_pid "$side" "$i")"); done
    s0=$(proc_ticks "${jpids[@]}")
    sleep "$SETTLE"
    s1=$(proc_ticks "${jpids[@]}")
    out="$SIDE_DIR/join-$jr.out"
    [ "$side" = serf ] || logs_arg="--logs=$SIDE_DIR/logs"
    # the warm-up polling as a step of its own, so that its CPU is told from the join's
    # shellcheck disable=SC2046
    run_harness "$SIDE_DIR/warm-$jr.out" join-warm $(side_args "$side") --interval="$JOIN_POLL_MS" --warm="$JOIN_WARM" || die "$side N=$n: warm-up polling failed"
    w1=$(proc_ticks "${jpids[@]}")
    c0=$w1
    [ "$side" = serf ] || thread_ticks "${jpids[@]}" >"$SIDE_DIR/threads-$jr.before"
    # shellcheck disable=SC2046
    run_harness "$out" join $(side_args "$side") --interval="$JOIN_POLL_MS" --warm=0.5 $logs_arg || { cat "$out" >&2; die "$side N=$n: join did not converge"; }
    c1=$(proc_ticks "${jpids[@]}")
    if [ "$side" != serf ]; then
      thread_ticks "${jpids[@]}" >"$SIDE_DIR/threads-$jr.after"
      say "$side N=$n: join step's CPU by thread name, all agents (core-s): $(thread_ticks_diff "$SIDE_DIR/threads-$jr.before" "$SIDE_DIR/threads-$jr.after" "$hz")"
    fi
    if [ -n "$FK_JFR" ] && [ "$side" != serf ]; then
      for ((i = 0; i < n; i++)); do "$JAVA_HOME/bin/jcmd" "${jpids[i]}" JFR.dump filename="$FK_JFR/$side-$n-join$jr-${NAMES[i]}.jfr" >/dev/null 2>&1 & done
      wait
      cp "$out" "$FK_JFR/$side-$n-join-$jr.out"
      say "$side N=$n: JFR recordings of join $jr in $FK_JFR"
    fi
    say "$side N=$n: agents' CPU: $(awk -v d=$((s1 - s0)) -v hz="$hz" -v s="$SETTLE" 'BEGIN {printf "%.2f", d / hz / s}') cores while idle (settle), $(awk -v d=$((w1 - s1)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}') core-s during ${JOIN_WARM}s of warm-up polling, $(awk -v d=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}') core-s during the join step (0.5 s of polling again, to warm the harness's own new JVM, then the join)"
    joins+=("$(kv "$out" join_s)")
    [ "$side" = serf ] || inprocs+=("$(kv "$out" join_inproc_s)")
    [ "$jr" -gt 1 ] || show_tags "$side"
    say "$side N=$n: join $jr/$JOINS: converged after $(kv "$out" join_s) s$([ "$side" = serf ] || echo " (in-process $(kv "$out" join_inproc_s) s, first member learned $(kv "$out" join_inproc_first_s) s)") (poll rounds median $(kv "$out" poll_round_median_ms) ms, max $(kv "$out" poll_round_max_ms) ms)"
  done
  if [ "$side" != serf ]; then
    record "$side" "$n" join_inproc "$(printf '%s\n' "${inprocs[@]}" | median)"
    record "$side" "$n" join_inproc_max "$(printf '%s\n' "${inprocs[@]}" | maxof)"
  fi
  pids=()
  for ((i = 0; i < n; i++)); do pids+=("$(agent_pid "$side" "$i")"); done
  record "$side" "$n" join "$(printf '%s\n' "${joins[@]}" | median)"
  record "$side" "$n" join_max "$(printf '%s\n' "${joins[@]}" | maxof)"
  record "$side" "$n" poll "$(kv "$out" poll_round_median_ms)/$(kv "$out" poll_round_max_ms)"

  # bytes at rest
  say "$side N=$n: quiet ${QUIET_SETTLE}s, then a ${WINDOW}s capture on lo, gossip ports only"
  sleep "$QUIET_SETTLE"
  local cap="$SIDE_DIR/rest.pcap" c0 c1 t0 t1 r0 r1 secs
  if [ "$CAN_CAPTURE" = 1 ]; then
    $SUDO "$TCPDUMP" -i lo -nn -s 128 -U -w "$cap" "(udp or tcp) and portrange ${GPORT[0]}-${GPORT[n - 1]}" 2>"$SIDE_DIR/logs/tcpdump.log" &
    TCPDUMP_PID=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$SIDE_DIR/logs/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "listening on" "$SIDE_DIR/logs/tcpdump.log" || die "tcpdump did not start: $(cat "$SIDE_DIR/logs/tcpdump.log")"
  fi
  t0=$(date +%s.%N); c0=$(proc_ticks "${pids[@]}")
  sleep "$WINDOW"
  t1=$(date +%s.%N); c1=$(proc_ticks "${pids[@]}")
  if [ "$CAN_CAPTURE" = 1 ]; then
    $SUDO kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=0
  fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
  local hz; hz=$(getconf CLK_TCK)
  record "$side" "$n" cpu "$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$secs" -v n="$n" 'BEGIN {printf "%.2f", d / hz / s / n * 100}')"
  record "$side" "$n" rss "$(awk -v k="$(proc_rss_kb "${pids[@]}")" -v n="$n" 'BEGIN {printf "%.0f", k / n / 1024}')"
  if [ "$CAN_CAPTURE" = 1 ]; then
    out="$SIDE_DIR/rest.out"
    harness pcap --file="$cap" --seconds="$secs" --n="$n" >"$out"
    record "$side" "$n" bytes "$(kv "$out" ip_bytes_per_s_per_agent)"
    record "$side" "$n" payload "$(kv "$out" payload_bytes_per_s_per_agent)"
    say "$side N=$n: at rest $(kv "$out" ip_bytes_per_s_per_agent) IP B/s per agent ($(kv "$out" udp_packets) UDP packets, $(kv "$out" tcp_packets) TCP segments in ${secs}s); CPU $(result "$side" "$n" cpu)% of a core per agent"
  fi

  # SIGKILL to failed everywhere
  local fails=() fp=0
  for ((k = 1; k <= KILLS; k++)); do
    local v=$((1 + (k - 1) % (n - 1))) vpid
    vpid=$(agent_pid "$side" "$v")
    out="$SIDE_DIR/kill-$k.out"
    # shellcheck disable=SC2046
    run_harness "$out" kill $(side_args "$side") --victim="$v" --pid="$vpid" --work="$WORK" || { cat "$out" >&2; die "$side N=$n: kill $k: ${NAMES[v]} not seen failed everywhere"; }
    fails+=("$(kv "$out" fail_s)")
    fp=$((fp + $(kv "$out" false_positives)))
    say "$side N=$n: kill $k/$KILLS (${NAMES[v]}): failed everywhere after $(kv "$out" fail_s) s (first agent $(kv "$out" fail_first_s) s)"
    start_agent "$side" "$v" "127.0.0.1:${GPORT[0]}"
    pids[v]=$(agent_pid "$side" "$v")
    # shellcheck disable=SC2046
    run_harness "$SIDE_DIR/rejoin-$k.out" converged $(side_args "$side") || { cat "$SIDE_DIR/rejoin-$k.out" >&2; die "$side N=$n: ${NAMES[v]} restarted but the pool does not reconverge"; }
    sleep 3
  done
  record "$side" "$n" fail_med "$(printf '%s\n' "${fails[@]}" | median)"
  record "$side" "$n" fail_max "$(printf '%s\n' "${fails[@]}" | maxof)"
  record "$side" "$n" fp "$fp"

  # user event to last handler
  if [ "$side" != fk ] || [ "$FK_HAS_HANDLER" = 1 ]; then
    local evs=()
    for ((k = 1; k <= EVENTS; k++)); do
      out="$SIDE_DIR/event-$k.out"
      # shellcheck disable=SC2046
      run_harness "$out" event $(side_args "$side") --name="bench-$side-$n-$k" --events-dir="$WORK/events" || { cat "$out" >&2; die "$side N=$n: event $k did not reach every handler"; }
      evs+=("$(kv "$out" event_s)")
      say "$side N=$n: event $k/$EVENTS: last handler after $(kv "$out" event_s) s (first $(kv "$out" event_first_s) s; the fire call took $(kv "$out" fire_call_s) s)"
      sleep 1
    done
    record "$side" "$n" event_med "$(printf '%s\n' "${evs[@]}" | median)"
    record "$side" "$n" event_max "$(printf '%s\n' "${evs[@]}" | maxof)"
  fi
  stop_side "$side"
  say "$side N=$n: done, agents stopped"
}

# BENCH_FK_AOT=1: JDK 25's AOT cache (JEP 483/514/515: classes loaded and linked, and method profiles, from a
# training run) for our agents. Training: a server agent, and a client agent started with -XX:AOTCacheOutput that
# joins it, is polled as in a join step and fires a user event, then stops (SIGTERM: the JVM writes the cache as it
# exits). Every fk agent then runs with -XX:AOTCache (same jar path, same options). The lib side is not changed.
train_aot() {
  say "fk: training the AOT cache ($WORK/fk.aot): a client agent joins a server, is polled, fires an event, stops"
  setup_side fk 2
  start_agent fk 0
  # shellcheck disable=SC2046
  run_harness "$SIDE_DIR/up.out" wait-up $(side_args fk) --count=1 || die "AOT training: the server does not answer"
  FK_TRAIN_OPTS="-XX:AOTCacheOutput=$WORK/fk.aot"
  start_agent fk 1
  FK_TRAIN_OPTS=""
  # shellcheck disable=SC2046
  run_harness "$SIDE_DIR/up.out" wait-up $(side_args fk) || die "AOT training: the client does not answer"
  # shellcheck disable=SC2046
  run_harness "$SIDE_DIR/train-join.out" join $(side_args fk) --warm="$JOIN_WARM" || die "AOT training: no join"
  if [ "$FK_HAS_HANDLER" = 1 ]; then
    # shellcheck disable=SC2046
    run_harness "$SIDE_DIR/train-event.out" event $(side_args fk) --name="aot-training" --events-dir="$WORK/events" || true
  fi
  # the client's first catalog sync waits a random 0-3 s after the server appears (agent/AntiEntropy): let it run
  # before the stop, so that the cache holds the anti-entropy path too
  sleep 4
  local p i; p=$(agent_pid fk 1)
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  stop_side fk
  if [ -s "$WORK/fk.aot" ]; then
    FK_JAVA_OPTS="$FK_JAVA_OPTS -XX:AOTCache=$WORK/fk.aot"
    say "fk: AOT cache written ($(du -k "$WORK/fk.aot" | cut -f1) KB); fk JVM opts now: $FK_JAVA_OPTS"
  else
    say "fk: no AOT cache was written (see $SIDE_DIR/logs/f2.log); fk runs without"
  fi
}
if [ "$FK_AOT" = 1 ] && [[ " $SIDES " == *" fk "* ]]; then train_aot; fi

for n in $NS; do
  for side in $SIDES; do measure "$side" "$n"; done
done

# ---------------------------------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------------------------------
HAS_LIB=0
[[ " $SIDES " == *" lib "* ]] && HAS_LIB=1
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 == 0 && a != "0" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b}'; }
{
  echo
  echo "gossip on 127.0.0.1, $(nproc) cores; serf: $SERF_VERSION, LAN defaults"
  echo "failoverkit: agent 1 -server -bootstrap-expect=1, the others client agents, JVM opts: $FK_JAVA_OPTS"
  [ "$HAS_LIB" = 0 ] || echo "fk-lib: failoverkit's gossip library alone (bench/gossip/GossipNode.java: Serf + UdpTcpTransport, agent timings, one JVM per node, same JVM opts), no agent"
  echo "polling every ${POLL_MS} ms, all agents in parallel; poll round median/max per N below (the resolution of the join and failure figures)"
  for n in $NS; do
    echo
    printf '%-44s %12s %12s %10s %8s' "N=$n" serf failoverkit "fk/serf" target
    [ "$HAS_LIB" = 0 ] || printf ' %12s %10s' "fk-lib" "lib/serf"
    echo
    # metric key : label : the issue's target for the ratio fk/serf ("-": none)
    for m in "join:join convergence, median (s):<= 1" "join_max:join convergence, max (s):-" \
             "join_inproc:join, in-process, median (s) [1]:-" "join_inproc_max:join, in-process, max (s) [1]:-" \
             "fail_med:SIGKILL -> failed everywhere, median (s):<= 0.5" "fail_max:SIGKILL -> failed everywhere, max (s):-" \
             "event_med:user event -> last handler, median (s):<= 1" "event_max:user event -> last handler, max (s):-" \
             "bytes:IP bytes/s sent per agent at rest:<= 1" "payload:payload bytes/s sent per agent at rest:-" \
             "cpu:CPU per agent at rest (% of a core):-" "rss:RSS per agent (MB):-" "fp:false positives (live seen not alive):-"; do
      IFS=: read -r key label target <<<"$m"
      a=$(result serf "$n" "$key"); b=$(result fk "$n" "$key"); c=$(result lib "$n" "$key")
      case $key in join_inproc) a=$(result serf "$n" join) ;; join_inproc_max) a=$(result serf "$n" join_max) ;; esac
      printf '%-44s %12s %12s %10s %8s' "$label" "$a" "$b" "$(ratio "$b" "$a")" "$target"
      [ "$HAS_LIB" = 0 ] || printf ' %12s %10s' "$c" "$(ratio "$c" "$a")"
      echo
    done
    printf '%-44s %12s %12s %10s %8s' "poll round median/max (ms)" "$(result serf "$n" poll)" "$(result fk "$n" poll)" "" ""
    [ "$HAS_LIB" = 0 ] || printf ' %12s' "$(result lib "$n" poll)"
    echo
  done
  echo
  echo "[1] ours: from our agents' own member-join log times (no polling delay); serf logs to the second only, so its column repeats the polled figure"
  echo "joins: $JOINS per N and side (fresh agents each time); kills: $KILLS per N and side (median, max); events: $EVENTS per N and side; rest window ${WINDOW}s"
} | tee "$WORK/results/table.txt"
say "done; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
}
