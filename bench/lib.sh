# Shared by the bench scripts (sourced, not run).

# stop_own_pids WORKDIR PID...: SIGTERM each PID that is still ours (alive, and its command line names a file
# inside WORKDIR, which guards against PID reuse), wait up to 5 s, then SIGKILL what is left. Never by name.
stop_own_pids() {
  local work=$1; shift
  local p i alive=()
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$work/"; then
      kill -TERM "$p" 2>/dev/null || true
      alive+=("$p")
    fi
  done
  for i in $(seq 1 50); do
    local still=()
    for p in "${alive[@]}"; do kill -0 "$p" 2>/dev/null && still+=("$p"); done
    alive=("${still[@]}")
    [ ${#alive[@]} -eq 0 ] && break
    sleep 0.1
  done
  for p in "${alive[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}

# apt_install PKG...: installs Debian packages quietly, keeping their own services from starting during the install
# (a temporary /usr/sbin/policy-rc.d that exits 101, only when there is none already; removed right after). Needs
# from the caller: WORK (a temp dir with logs/), say and die functions, and the variables SUDO ("" or "sudo"),
# APT_UPDATED (0/1) and OUR_POLICY (0/1, which the caller's cleanup reads to remove a policy-rc.d left by a crash).
apt_install() {
  say "installing with apt-get: $*"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# written by a failoverkit bench script for the duration of an apt-get install\nexit 101\n' >"$WORK/policy-rc.d"
    chmod 755 "$WORK/policy-rc.d"
    $SUDO cp "$WORK/policy-rc.d" /usr/sbin/policy-rc.d
    OUR_POLICY=1
  fi
  [ "$APT_UPDATED" = 1 ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
  mkdir -p "$WORK/logs"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$WORK/logs/apt.log" 2>&1 || { tail -20 "$WORK/logs/apt.log"; die "apt-get install $* failed"; }
  if [ "$OUR_POLICY" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; OUR_POLICY=0; fi
}

# used_ports: every local port in use (TCP or UDP, v4 or v6), one per line. pick_ports N: N consecutive free ones.
used_ports() {  # every local port in use (TCP or UDP, v4 or v6), one per line, decimal
  cat /proc/net/tcp /proc/net/udp /proc/net/tcp6 /proc/net/udp6 2>/dev/null \
    | awk '$2 ~ /:/ { n = split($2, a, ":"); print a[n] }' | sort -u | while read -r h; do echo $((16#$h)); done
}
pick_ports() {  # N: N consecutive free ports in 20000-32000, on one line (die from the caller)
  local n=$1 base p ok used
  used=$(used_ports)
  for _ in $(seq 1 100); do
    base=$((20000 + RANDOM % 12000 - n))
    ok=1
    for ((p = base; p < base + n; p++)); do grep -qx "$p" <<<"$used" && { ok=0; break; }; done
    if [ "$ok" = 1 ]; then seq "$base" $((base + n - 1)) | tr '\n' ' '; return 0; fi
  done
  die "no $n free consecutive ports found"
}

# private_jars: JAVA_HOME and JAVA from bin/java-home; the failover and discovery-node jars built when missing or older
# than the sources (mvn package into this tree's target/ dirs, never install), then copied with their lib/ dirs to
# WORK/dist/{failover,discovery-node}, so that a rebuild of the tree while the bench runs cannot change them. Needs
# ROOT, WORK (with logs/), say and die from the caller.
private_jars() {
  JAVA_HOME=$("$ROOT/bin/java-home") || die "no JDK >= 21 (see bin/java-home)"
  export JAVA_HOME
  JAVA="$JAVA_HOME/bin/java"
  local fjar="$ROOT/failover/target/failover.jar" djar="$ROOT/discovery-node/target/discovery-node.jar" jar stale=0
  for jar in "$fjar" "$djar"; do
    if [ ! -f "$jar" ] || [ -n "$(find "$ROOT"/*/src/main "$ROOT"/*/pom.xml "$ROOT/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then stale=1; fi
  done
  if [ "$stale" = 1 ]; then
    say "building the failover and discovery-node jars (mvn package into this tree's target/ dirs)"
    (cd "$ROOT" && mvn -q -B -DskipTests -pl failover,discovery-node -am package) >"$WORK/logs/build.log" 2>&1 \
      || { tail -30 "$WORK/logs/build.log"; die "build failed"; }
  fi
  mkdir -p "$WORK/dist/failover" "$WORK/dist/discovery-node"
  cp "$fjar" "$WORK/dist/failover/failover.jar"; cp -r "$ROOT/failover/target/lib" "$WORK/dist/failover/lib"
  cp "$djar" "$WORK/dist/discovery-node/discovery-node.jar"; cp -r "$ROOT/discovery-node/target/lib" "$WORK/dist/discovery-node/lib"
}

# bench_setup NAME: WORK (a fresh temp dir under BENCH_TMPDIR, default /var/tmp, with logs/ and dist/), STARTED_PIDS=(),
# and the traps that stop those PIDs and remove WORK on exit, error or Ctrl-C. The caller defines say and die first.
bench_setup() {
  WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/$1.XXXXXX")
  mkdir -p "$WORK/logs" "$WORK/dist"
  STARTED_PIDS=()
  trap bench_cleanup EXIT
  trap 'say "interrupted"; exit 130' INT
  trap 'say "terminated"; exit 143' TERM
}
# bench_cleanup [RC]: stops the processes this run started, removes its temp dir, exits RC (default: the status the
# EXIT trap was entered with). Callers that did work of their own in the trap pass the status they saved: a
# "(exit $rc)" to restore it would, under set -e, end the trap right there and leave the servers running.
bench_cleanup() {
  local rc=${1:-$?}
  trap - EXIT INT TERM ERR
  stop_own_pids "$WORK" "${STARTED_PIDS[@]}"
  rm -rf "$WORK"
  exit "$rc"
}

# start_dev_agent NODE: one `agent -dev` from the private copy (private_jars first) on four picked ports, P=(http dns
# server serf-lan); its PID appended to STARTED_PIDS; waits (120 s at most) until it has a Raft leader.
start_dev_agent() {
  read -r -a P <<<"$(pick_ports 4)"
  [ ${#P[@]} -eq 4 ] || die "could not pick free ports"
  # shellcheck source=bin/jvm-defaults
  . "$ROOT/bin/jvm-defaults"
  # shellcheck disable=SC2046
  "$JAVA" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED $(discovery_node_jvm_opts "$JAVA" "") -jar "$WORK/dist/discovery-node/discovery-node.jar" \
    agent -dev -node="$1" -data-dir="$WORK/data" -http-port="${P[0]}" -dns-port="${P[1]}" -server-port="${P[2]}" -serf-lan-port="${P[3]}" \
    >"$WORK/logs/discovery-node.log" 2>&1 &
  STARTED_PIDS+=("$!")
  local leader="" pid=$!
  for _ in $(seq 1 240); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/logs/discovery-node.log"; die "discovery-node exited (log above)"; }
    leader=$(curl -s -m 2 "http://127.0.0.1:${P[0]}/v1/status/leader" 2>/dev/null || true)
    [[ "$leader" == '"'*:*'"' ]] && return 0
    sleep 0.5
  done
  die "the discovery node has no leader after 120 s"
}
