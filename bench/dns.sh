#!/usr/bin/env bash
# bench/dns.sh — DNS benchmark: discovery-node's DNS interface against unbound and dnsmasq, all three serving the
# same 1,000 names (svc0..svc999.service.consul, one A record each) on 127.0.0.1 only, in the same run.
#
#   bash bench/dns.sh           # about 5 minutes once installed and built; prints a summary table at the end
#
# What it does:
#   1. installs what it lacks with apt-get: dnsperf, unbound, dnsmasq-base (the dnsmasq binary without the dnsmasq
#      system service), curl, dig (bind9-dnsutils); maven only if the jar must be built. Services are kept from
#      starting during the install with a temporary /usr/sbin/policy-rc.d (exit 101) when there is none already;
#      if unbound's own service still got started by this install (systemd), it is stopped and disabled again;
#   2. starts three servers on free loopback ports (20000-32000), each with its own files in a temp dir:
#        ours     `agent -dev` from a private copy of discovery-node.jar; 1,000 services svcN, each one instance on
#                 its own node nN with address 127.10.(N/250).(N%250+1), registered over HTTP (/v1/catalog/register);
#        unbound  foreground (-d), its own config: local-zone "service.consul." static + 1,000 local-data A records,
#                 interface 127.0.0.1 only, access-control 127.0.0.0/8, no remote control, iterator only (no DNSSEC);
#        dnsmasq  --no-daemon --port=P --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts
#                 --addn-hosts=FILE (-C /dev/null: no system config);
#      and checks that every server answers all 1,000 names NOERROR with the same addresses (dig on samples);
#   3. waits until no `bench/kv.sh` is running (pgrep -f; only reads), before the warm-up and before each measured
#      run, at most BENCH_WAIT_KV s in all; a run during which one ran anyway is flagged in the output;
#   4. warms our JVM up with unmeasured load: A queries in 10 s slices, at least BENCH_WARMUP s (30), then on while
#      a slice still beats the best so far by >5% q/s, at most BENCH_WARMUP_MAX s (60); plus 5 s of SRV queries;
#   5. measures in BENCH_ROUNDS rounds (3; the host is noisy, +-15% from one 10 s run to the next), the order of the
#      servers rotating from round to round, each round: ours, unbound, dnsmasq (A queries, the same file), then an
#      SRV run against ours (the same names, type SRV). Each measurement is two dnsperf runs:
#      - a throughput run, exactly `dnsperf -s 127.0.0.1 -p P -d FILE -c 10 -q 100 -l 10`: q/s, average latency,
#        lost queries, response size from dnsperf's statistics; server CPU per query: utime+stime of the server
#        process (all its threads) from /proc/PID/stat just before and just after the run, divided by the queries
#        completed (split into user and kernel time; clock ticks of 10 ms, about 0.02 us/query at 600k queries);
#        server and dnsperf CPU as % of one core over the run (dnsperf's from bash `times`): dnsperf near 100% means
#        the load generator is the limit, on 2 cores it is (~60-100k q/s), and then CPU/query is the telling figure;
#      - a latency run, the same with -l BENCH_LAT_DURATION (5) and -v: dnsperf 2.10 (Debian 12) has no histogram
#        option, but -v prints one line per answered query with its latency ("> NOERROR svc7.service.consul A
#        0.000123"); p50/p99/max are nearest-rank percentiles over all of them (lost queries are not in them; they are
#        counted in the throughput run). -v costs dnsperf ~10% of its throughput, hence a run of its own;
#   6. prints every run, the medians per server over the rounds, and the ratios ours/unbound, ours/dnsmasq (medians).
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_DURATION (s per throughput run, 10), BENCH_LAT_DURATION (5),
#   BENCH_WARMUP (30), BENCH_WARMUP_MAX (60), BENCH_WAIT_KV (s to wait for bench/kv.sh in all, 120; then it
#   measures anyway, and flags the runs in the summary), BENCH_TMPDIR (/tmp), BENCH_KEEP=1 (keep the temp dir: configs,
#   logs, dnsperf outputs), BENCH_JAVA_OPTS (extra JVM flags for ours), BENCH_UNBOUND_THREADS (unbound num-threads, 1).
# Takes about 5 minutes (plus installing and building when needed).
# Cleans up on exit, error or Ctrl-C: only the processes it started (by recorded PID, checked against their command
# line) and its own temp dir. Only 127.0.0.1 traffic. Bounded: every wait loop has a limit.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-30}
WARMUP_MAX=${BENCH_WARMUP_MAX:-60}
WAIT_KV=${BENCH_WAIT_KV:-120}
ROUNDS=${BENCH_ROUNDS:-3}
LAT_DURATION=${BENCH_LAT_DURATION:-5}
TMPBASE=${BENCH_TMPDIR:-/tmp}
KEEP=${BENCH_KEEP:-0}
JAVA_OPTS_EXTRA=${BENCH_JAVA_OPTS:-}
UNBOUND_THREADS=${BENCH_UNBOUND_THREADS:-1}
NAMES=1000
DNSPERF_ARGS=(-c 10 -q 100 -l "$DURATION")

T0=$SECONDS
say() { printf '[dns.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------------
# Temp dir, cleanup (set up first: the install step may leave a policy-rc.d of ours to remove)
# ---------------------------------------------------------------------------------------------------------------
mkdir -p "$TMPBASE"
WORK=$(mktemp -d "$TMPBASE/dnsbench.XXXXXX")
chmod 755 "$WORK"   # dnsmasq reads its hosts file after dropping root to its own user
mkdir -p "$WORK/logs" "$WORK/dist" "$WORK/unbound" "$WORK/dnsmasq" "$WORK/out"
STARTED_PIDS=()     # every server process this script started
OUR_POLICY=0        # 1 while /usr/sbin/policy-rc.d is the one this script wrote
CHILD=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  if [ "$CHILD" != 0 ] && kill -0 "$CHILD" 2>/dev/null; then kill -TERM "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if [ "$OUR_POLICY" = 1 ]; then rm -f /usr/sbin/policy-rc.d 2>/dev/null || sudo rm -f /usr/sbin/policy-rc.d || true; fi
  stop_own_pids "$WORK" "${STARTED_PIDS[@]}"
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# Long steps run as background children and are waited for, so a signal is handled at once (bash defers a trap
# while a foreground child runs); cleanup ends the child in flight.
bg_run() {  # OUTFILE COMMAND...: runs COMMAND with stdout+stderr to OUTFILE; returns its exit status
  local out=$1 rc=0
  shift
  "$@" >"$out" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=0
  return "$rc"
}

# ---------------------------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT_UPDATED=0
need=()
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
UNBOUND_NEW=0
if ! command -v unbound >/dev/null 2>&1 && [ ! -x /usr/sbin/unbound ]; then need+=(unbound); UNBOUND_NEW=1; fi
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
if [ "$UNBOUND_NEW" = 1 ] && [ -d /run/systemd/system ] && systemctl is-active --quiet unbound.service 2>/dev/null; then
  # A policy-rc.d that was already there let the install start unbound's service: stop what the install started.
  say "the unbound package's service was started by the install: stopping and disabling unbound.service"
  $SUDO systemctl stop unbound.service unbound-resolvconf.service 2>/dev/null || true
  $SUDO systemctl disable unbound.service unbound-resolvconf.service >/dev/null 2>&1 || true
fi
UNBOUND=$(command -v unbound || echo /usr/sbin/unbound)
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)

JAVA_HOME=$("$ROOT/bin/java-home") || die "no JDK >= 21 (see bin/java-home)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
JAR="$ROOT/discovery-node/target/discovery-node.jar"
if [ ! -f "$JAR" ] || [ ! -d "$ROOT/discovery-node/target/lib" ]; then
  command -v mvn >/dev/null 2>&1 || apt_install maven
  say "building $JAR"
  (cd "$ROOT" && mvn -q -B -DskipTests -pl discovery-node -am package) || die "build failed"
fi
[ -f "$JAR" ] || die "build did not produce $JAR"
# Run ours from a private copy of the jar: the one in target/ may be rebuilt while this runs.
cp "$JAR" "$WORK/dist/discovery-node.jar"
cp -r "$ROOT/discovery-node/target/lib" "$WORK/dist/lib"

HZ=$(getconf CLK_TCK)
say "JDK $JAVA_HOME; $(dnsperf -h 2>&1 | awk '/^Version/ {print "dnsperf " $2}'); unbound $("$UNBOUND" -V 2>/dev/null | awk '/^Version/ {print $2}'); dnsmasq $("$DNSMASQ" --version | awk 'NR==1 {print $3}')"
say "jar $(sha256sum "$JAR" | cut -c1-12) built $(date -r "$JAR" '+%F %T'); machine: $(nproc) cores, $(awk '/^MemTotal:/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GiB; temp dir $WORK"

# ---------------------------------------------------------------------------------------------------------------
# Ports, data files
# ---------------------------------------------------------------------------------------------------------------
read -r -a P <<<"$(pick_ports 6)"
[ ${#P[@]} -eq 6 ] || die "could not pick free ports"
OURS_HTTP=${P[0]} OURS_DNS=${P[1]} OURS_SERVER=${P[2]} OURS_SERF=${P[3]} UNBOUND_PORT=${P[4]} DNSMASQ_PORT=${P[5]}
OURS_URL="http://127.0.0.1:$OURS_HTTP"

addr() { echo "127.10.$(($1 / 250)).$(($1 % 250 + 1))"; }
QA="$WORK/queries-a.txt" QSRV="$WORK/queries-srv.txt" HOSTS="$WORK/dnsmasq/hosts" UCONF="$WORK/unbound/unbound.conf"
: >"$QA"; : >"$QSRV"; : >"$HOSTS"
{
  printf 'server:\n  verbosity: 0\n  num-threads: %s\n  interface: 127.0.0.1\n  port: %s\n  do-ip4: yes\n  do-ip6: no\n' "$UNBOUND_THREADS" "$UNBOUND_PORT"
  printf '  do-udp: yes\n  do-tcp: yes\n  access-control: 0.0.0.0/0 refuse\n  access-control: 127.0.0.0/8 allow\n'
  printf '  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n  use-syslog: no\n  logfile: ""\n' "$WORK/unbound"
  printf '  module-config: "iterator"\n  local-zone: "service.consul." static\n'
} >"$UCONF"
for ((i = 0; i < NAMES; i++)); do
  a=$(addr "$i")
  echo "svc$i.service.consul A" >>"$QA"
  echo "svc$i.service.consul SRV" >>"$QSRV"
  echo "$a svc$i.service.consul" >>"$HOSTS"
  echo "  local-data: \"svc$i.service.consul. 0 IN A $a\"" >>"$UCONF"
done
printf 'remote-control:\n  control-enable: no\n' >>"$UCONF"
chmod 755 "$WORK/dnsmasq" "$WORK/unbound"; chmod 644 "$HOSTS" "$UCONF"
"$(dirname "$UNBOUND")/unbound-checkconf" "$UCONF" >"$WORK/logs/unbound-checkconf.log" 2>&1 || { cat "$WORK/logs/unbound-checkconf.log"; die "unbound config rejected"; }

# ---------------------------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------------------------
declare -A PID
started() {  # NAME PID
  PID[$1]=$2
  STARTED_PIDS+=("$2")
  echo "$(date +%T) started $1 as PID $2" >>"$WORK/logs/pids.txt"
}
# shellcheck disable=SC2086
# shellcheck source=bin/jvm-defaults
. "$ROOT/bin/jvm-defaults"
"$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED $(discovery_node_jvm_opts "$JAVA" "$JAVA_OPTS_EXTRA") $JAVA_OPTS_EXTRA \
  -jar "$WORK/dist/discovery-node.jar" agent -dev -node=bench -http-port="$OURS_HTTP" -dns-port="$OURS_DNS" \
  -server-port="$OURS_SERVER" -serf-lan-port="$OURS_SERF" >"$WORK/logs/ours.log" 2>&1 &
started ours $!
"$UNBOUND" -d -c "$UCONF" >"$WORK/logs/unbound.log" 2>&1 &
started unbound $!
"$DNSMASQ" --no-daemon -C /dev/null --pid-file= --port="$DNSMASQ_PORT" --listen-address=127.0.0.1 --bind-interfaces \
  --no-resolv --no-hosts --addn-hosts="$HOSTS" >"$WORK/logs/dnsmasq.log" 2>&1 &
started dnsmasq $!
declare -A PORT=([ours]=$OURS_DNS [unbound]=$UNBOUND_PORT [dnsmasq]=$DNSMASQ_PORT)
say "started ours (PID ${PID[ours]}, HTTP $OURS_HTTP, DNS $OURS_DNS), unbound (PID ${PID[unbound]}, port $UNBOUND_PORT), dnsmasq (PID ${PID[dnsmasq]}, port $DNSMASQ_PORT)"

alive_or_die() {  # NAME
  kill -0 "${PID[$1]}" 2>/dev/null || { tail -20 "$WORK/logs/$1.log"; die "$1 exited (log above)"; }
}

# ours: wait for a leader (dev mode elects itself), then register the 1,000 services in one curl (8 in parallel)
leader=""
for i in $(seq 1 120); do
  alive_or_die ours
  leader=$(curl -s -m 2 "$OURS_URL/v1/status/leader" 2>/dev/null || true)
  [[ "$leader" == '"'*:*'"' ]] && break
  sleep 0.5
done
[[ "$leader" == '"'*:*'"' ]] || { tail -20 "$WORK/logs/ours.log"; die "ours has no leader after 60 s"; }
REG="$WORK/register.curl"
: >"$REG"
for ((i = 0; i < NAMES; i++)); do
  [ "$i" -eq 0 ] || echo next >>"$REG"
  printf 'url = "%s/v1/catalog/register"\nrequest = "PUT"\nsilent\nshow-error\noutput = "%s/reg/%d"\n' "$OURS_URL" "$WORK/out" "$i" >>"$REG"
  printf 'data = "{\\"Node\\":\\"n%d\\",\\"Address\\":\\"%s\\",\\"Service\\":{\\"Service\\":\\"svc%d\\",\\"Port\\":%d}}"\n' \
    "$i" "$(addr "$i")" "$i" $((8000 + i)) >>"$REG"
done
mkdir -p "$WORK/out/reg"
bg_run "$WORK/out/register.txt" timeout 120 curl -sS -Z --parallel-max 8 -K "$REG" || die "registration failed: $(tail -3 "$WORK/out/register.txt")"
ok=$( (grep -lx true "$WORK"/out/reg/* || true) | wc -l)  # each response body is "true"
[ "$ok" -eq "$NAMES" ] || die "registered $ok of $NAMES services (responses in $WORK/out/reg/)"
say "ours: leader $leader; registered $ok services over HTTP"

# all three: every name answered NOERROR (dnsperf through the file once), same addresses on samples (dig)
check_server() {  # NAME
  local name=$1 port=${PORT[$1]} i out
  for i in $(seq 1 60); do  # up to ~30 s for the server to answer at all
    alive_or_die "$name"
    out=$(dig @127.0.0.1 -p "$port" +tries=1 +time=1 +short svc0.service.consul A 2>/dev/null || true)
    [ "$out" = "$(addr 0)" ] && break
    sleep 0.5
  done
  [ "$out" = "$(addr 0)" ] || die "$name does not answer svc0.service.consul A with $(addr 0) (got: $out)"
  for i in 1 499 998 999; do
    out=$(dig @127.0.0.1 -p "$port" +tries=2 +time=2 +short "svc$i.service.consul" A || true)
    [ "$out" = "$(addr "$i")" ] || die "$name answers svc$i.service.consul A with '$out', expected $(addr "$i")"
  done
  bg_run "$WORK/out/check-$name.txt" timeout 60 dnsperf -s 127.0.0.1 -p "$port" -d "$QA" -n 1 -c 1 -q 10 -t 5 || die "dnsperf check of $name failed"
  grep -q "Response codes: *NOERROR $NAMES (100.00%)" "$WORK/out/check-$name.txt" \
    || die "$name did not answer all $NAMES names NOERROR: $(grep -E 'completed|Response codes' "$WORK/out/check-$name.txt" | tr -s ' ' | tr '\n' ';')"
}
for s in ours unbound dnsmasq; do check_server "$s"; done
srv_sample=$(dig @127.0.0.1 -p "$OURS_DNS" +tries=2 +time=2 +short svc42.service.consul SRV || true)
[ "$srv_sample" = "1 1 8042 n42.node.dc1.consul." ] || die "ours answers svc42.service.consul SRV with '$srv_sample'"
say "all three answer the $NAMES names NOERROR with the same addresses (e.g. svc999 -> $(addr 999)); ours SRV svc42 -> $srv_sample"

# ---------------------------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------------------------
NOTES="$WORK/notes.txt"
: >"$NOTES"
KV_WAITED=0   # s waited for bench/kv.sh so far: all the waits together are bounded by WAIT_KV
wait_for_kv() {  # WHAT: before WHAT, waits while a bench/kv.sh runs (within what is left of the WAIT_KV budget)
  local waited=0
  while pgrep -f bench/kv.sh >/dev/null 2>&1; do
    if [ "$KV_WAITED" -ge "$WAIT_KV" ]; then
      say "WARNING: bench/kv.sh is running and the ${WAIT_KV} s of waiting for it are used up; measuring anyway"
      return 0
    fi
    [ "$waited" -gt 0 ] || say "bench/kv.sh is running (PID $(pgrep -f bench/kv.sh | tr '\n' ' ')); waiting before $1 (at most $((WAIT_KV - KV_WAITED)) s more)"
    sleep 5
    waited=$((waited + 5)) KV_WAITED=$((KV_WAITED + 5))
  done
  [ "$waited" -eq 0 ] || say "bench/kv.sh ended after ~${waited} s of waiting"
}
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }   # utime stime (fields 14, 15), clock ticks
# CPU time (s) of this shell's waited-for children; `times` must run in this shell itself, not in a $(...) subshell
child_cpu_s() { times >"$WORK/times"; awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } print t }' "$WORK/times"; }
qps_of() { awk '/Queries per second:/ {printf "%.0f", $4}' "$1"; }
kv_check() { if pgrep -f bench/kv.sh >/dev/null 2>&1; then echo "$1: bench/kv.sh was running: not reliable" >>"$NOTES"; echo " (bench/kv.sh running!)"; fi; }

ROWS="$WORK/rows.txt"   # label round qps avg_us usr_us/q sys_us/q cpu_us/q srv% dnsperf% lost resp qps_v p50 p99 max
: >"$ROWS"
OURS_IDLE_TICKS=0 OURS_IDLE_S=0
# measure LABEL SERVER QUERYFILE ROUND: a throughput run (the dnsperf command line as given, no -v), then a latency
# run of LAT_DURATION s with -v (one line per answered query with its latency) for the percentiles; one row to $ROWS
measure() {
  local label=$1 srv=$2 qf=$3 round=$4 out="$WORK/out/run-$1-r$4.txt" pid=${PID[$2]} c0 c1 k0 k1 o0 o1 t0 kv
  alive_or_die "$srv"
  wait_for_kv "$label round $round"
  kv=$(kv_check "$label round $round")
  c0=$(ticks "$pid"); o0=$(ticks "${PID[ours]}"); child_cpu_s >"$WORK/k0"; k0=$(cat "$WORK/k0"); t0=$(date +%s.%N)
  bg_run "$out" timeout $((DURATION + 30)) dnsperf -s 127.0.0.1 -p "${PORT[$srv]}" -d "$qf" "${DNSPERF_ARGS[@]}" || die "dnsperf against $srv failed: $(tail -3 "$out")"
  c1=$(ticks "$pid"); o1=$(ticks "${PID[ours]}"); child_cpu_s >"$WORK/k1"; k1=$(cat "$WORK/k1")
  if [ "$srv" != ours ]; then  # our JVM is idle meanwhile: its background CPU (Raft, timers, JIT, GC)
    OURS_IDLE_TICKS=$(echo "$o0 $o1" | awk -v t="$OURS_IDLE_TICKS" '{print t + $3 + $4 - $1 - $2}')
    OURS_IDLE_S=$(awk -v t="$OURS_IDLE_S" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print t + b - a}')
  fi
  bg_run "$out.v" timeout $((LAT_DURATION + 30)) dnsperf -s 127.0.0.1 -p "${PORT[$srv]}" -d "$qf" -c 10 -q 100 -l "$LAT_DURATION" -v || die "dnsperf -v against $srv failed: $(tail -3 "$out.v")"
  [ -n "$kv" ] || kv=$(kv_check "$label round $round")
  awk '/^> / {print $NF}' "$out.v" | sort -g >"$out.lat"
  awk -v label="$label" -v round="$round" -v hz="$HZ" -v c="$c0 $c1" -v kc="$(awk -v a="$k0" -v b="$k1" 'BEGIN {print b - a}')" \
      -v latf="$out.lat" -v vqps="$(qps_of "$out.v")" '
    /Queries completed:/ {done = $3}
    /Queries lost:/ {lost = $3}
    /Queries per second:/ {qps = $4}
    /Run time \(s\):/ {rt = $4}
    /Average Latency \(s\):/ {avg = $4}
    /Average packet size:/ {resp = $7}
    END {
      split(c, t, " "); usr = (t[3] - t[1]) / hz; sys = (t[4] - t[2]) / hz
      n = 0; while ((getline v < latf) > 0) lat[++n] = v
      p50 = n ? lat[int(0.50 * n + 0.999999)] : 0; p99 = n ? lat[int(0.99 * n + 0.999999)] : 0; mx = n ? lat[n] : 0
      d = done > 0 ? done : 1; r = rt > 0 ? rt : 1
      printf "%s %d %.0f %.1f %.2f %.2f %.2f %.0f %.0f %d %d %.0f %.1f %.1f %.1f\n", label, round, qps, avg * 1e6,
        usr * 1e6 / d, sys * 1e6 / d, (usr + sys) * 1e6 / d, 100 * (usr + sys) / r, 100 * kc / r, lost, resp,
        vqps, p50 * 1e6, p99 * 1e6, mx * 1e6
    }' "$out" >>"$ROWS"
  say "$(tail -1 "$ROWS" | awk '{printf "%-8s round %d: %6d q/s avg %6.1f us | CPU %5.2f us/q (usr %4.2f + sys %4.2f), %3d%% of a core; dnsperf %3d%% | -v run: %6d q/s p50 %6.1f p99 %7.1f us", $1, $2, $3, $4, $7, $5, $6, $8, $9, $12, $13, $14}')$kv"
}

wait_for_kv "the warm-up"
say "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"

# warm-up of our JVM (not measured): A queries in 10 s slices (at least WARMUP s, then on while a slice beats the best
# so far by >5%, at most WARMUP_MAX s), then SRV queries for 5 s
warm=0 best=0 slice=0
while :; do
  slice=$((slice + 1))
  bg_run "$WORK/out/warmup-$slice.txt" timeout 40 dnsperf -s 127.0.0.1 -p "$OURS_DNS" -d "$QA" -c 10 -q 100 -l 10 || die "warm-up dnsperf failed"
  warm=$((warm + 10))
  q=$(qps_of "$WORK/out/warmup-$slice.txt")
  say "warm-up ours: slice $slice ($warm s): $q q/s"
  [ "$warm" -ge "$WARMUP_MAX" ] && break
  if [ "$warm" -ge "$WARMUP" ] && [ $((q * 100)) -le $((best * 105)) ]; then break; fi
  [ "$q" -le "$best" ] || best=$q
done
bg_run "$WORK/out/warmup-srv.txt" timeout 40 dnsperf -s 127.0.0.1 -p "$OURS_DNS" -d "$QSRV" -c 10 -q 100 -l 5 || die "SRV warm-up failed"
say "warm-up ours: 5 s of SRV queries: $(qps_of "$WORK/out/warmup-srv.txt") q/s"

ORDER=(ours unbound dnsmasq)
for ((r = 1; r <= ROUNDS; r++)); do
  for ((j = 0; j < 3; j++)); do  # the order rotates from round to round
    s=${ORDER[$(((j + r - 1) % 3))]}
    measure "$s" "$s" "$QA" "$r"
  done
  measure ours-SRV ours "$QSRV" "$r"
done

# ---------------------------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------------------------
HDR='%-8s %5s %8s %8s %7s %7s %8s %6s %7s %5s %5s | %8s %8s %8s %9s\n'
ROW='%-8s %5s %8d %8.1f %7.2f %7.2f %8.2f %5d%% %6d%% %5d %5d | %8d %8.1f %8.1f %9.1f\n'
{
echo
echo "=== DNS benchmark: $NAMES names (svcN.service.consul), UDP, 127.0.0.1, $(nproc) cores; $ROUNDS rounds, order rotating ==="
echo "ours = discovery-node agent -dev (jar $(sha256sum "$JAR" | cut -c1-12), $("$JAVA" -version 2>&1 | head -1)); unbound $("$UNBOUND" -V 2>/dev/null | awk '/^Version/ {print $2}') (num-threads $UNBOUND_THREADS); dnsmasq $("$DNSMASQ" --version | awk 'NR==1 {print $3}'); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}')"
echo "throughput run: dnsperf -s 127.0.0.1 -p P -c 10 -q 100 -l $DURATION; latency run: the same with -l $LAT_DURATION -v; warm-up of ours first: ${warm} s A + 5 s SRV"
echo
echo "all runs:"
printf "$HDR" server round "q/s" "avg us" "usr us/q" "sys us/q" "CPU us/q" "srvCPU" "dnsperf" lost "respB" "-v q/s" "p50 us" "p99 us" "max us"
awk -v f="$ROW" '{printf f, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15}' "$ROWS"
echo
echo "medians over the $ROUNDS rounds (each column on its own):"
printf "$HDR" server "" "q/s" "avg us" "usr us/q" "sys us/q" "CPU us/q" "srvCPU" "dnsperf" lost "respB" "-v q/s" "p50 us" "p99 us" "max us"
for s in ours unbound dnsmasq ours-SRV; do
  line="$s med"
  for col in $(seq 3 15); do
    line="$line $(awk -v s="$s" -v c="$col" '$1 == s {print $c}' "$ROWS" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')"
  done
  echo "$line"
done | tee "$WORK/medians.txt" | awk -v f="$ROW" '{printf f, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15}'
echo
awk '{ q[$1] = $3; a[$1] = $4; u[$1] = $5; k[$1] = $6; c[$1] = $7; p50[$1] = $13; p[$1] = $14 }
     function r(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "n/a" }
     function line(n, x, y) { printf "%-14s %7s %8s %8s %8s %10s %10s %10s\n", n, r(q[x], q[y]), r(a[x], a[y]), r(p50[x], p50[y]), r(p[x], p[y]), r(c[x], c[y]), r(u[x], u[y]), r(k[x], k[y]) }
     END {
       printf "%-14s %7s %8s %8s %8s %10s %10s %10s\n", "ratio (medians)", "q/s", "avg lat", "p50 lat", "p99 lat", "CPU us/q", "usr us/q", "sys us/q"
       line("ours/unbound", "ours", "unbound"); line("ours/dnsmasq", "ours", "dnsmasq"); line("ours SRV/A", "ours-SRV", "ours")
     }' "$WORK/medians.txt"
awk -v t="$OURS_IDLE_TICKS" -v s="$OURS_IDLE_S" -v hz="$HZ" 'BEGIN { if (s > 0) printf "\nours at rest (background: Raft, timers, GC) while the others were measured: %.1f%% of a core\n", 100 * t / hz / s }'
echo
echo "q/s, avg latency, lost, response size (respB): dnsperf's own statistics of the throughput run. p50/p99/max: nearest"
echo "rank over the per-query latencies that dnsperf -v prints in the separate latency run (answered queries only; -v costs"
echo "dnsperf ~10% of its throughput, hence its own q/s column). CPU us/q: the server process's utime+stime (/proc/PID/stat,"
echo "all threads) over the throughput run / queries completed, split into user and kernel (sys) time; srvCPU and dnsperf:"
echo "CPU time over the run in % of one core (dnsperf near 100%: the load generator, not the server, is the limit: then q/s"
echo "and latency say little about the server, CPU us/q does). Ratios ours/other: q/s > 1 is better for ours; latency, CPU < 1."
sort -u "$NOTES" | sed 's/^/NOTE: /'
} | tee "$WORK/summary.txt"
say "done in $((SECONDS - T0)) s"
