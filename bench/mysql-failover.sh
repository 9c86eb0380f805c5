#!/usr/bin/env bash
# bench/mysql-failover.sh — MySQL (MariaDB) master failover: the SIGKILL drill, N times with semi-sync on and N times
# off, each on fresh local mariadbd processes (a primary, two GTID replicas) and one discovery node on 127.0.0.1.
#
#   bash bench/mysql-failover.sh            # N=5: about 5-8 minutes on a 2-core machine
#   BENCH_RUNS=3 bash bench/mysql-failover.sh
#
# Prints, per mode: kill-to-first-write (the first row the new primary acknowledges to an application that finds
# its primary through our DNS only) min/median/max, acknowledged rows lost, and the time two primaries were
# writable at once (sampled every 50 ms). The anchor is the published failover times of the tools the seeds used
# (orchestrator 10-13 s at GitHub, MHA 10-30 s), quoted, not measured: orchestrator is not packaged for Debian 12;
# MHA is (mha4mysql-manager 0.58) but needs SSH to every host and predates MariaDB 10.11's GTID handling, so it is
# not run here. The ratio printed is against the issue's 5 s target.
# Settings are failoverkit's defaults (detection: 3 failures 300 ms apart, 250 ms timeout) and the lab's replication
# settings (slave_net_timeout=2, heartbeat 0.5 s, connect retry 1 s; semi-sync AFTER_SYNC, 5 s timeout).
# Everything it starts is stopped by the drill itself (by PID); its temp files are under one directory, removed at exit.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${BENCH_RUNS:-5}
TARGET_MS=5000
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || "$ROOT/bin/setup"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mysql-failover-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

for mode in on off; do
  extra=()
  [ "$mode" = off ] && extra=(--no-semi-sync)
  echo "== semi-sync $mode: $RUNS SIGKILL drills" >&2
  TMPDIR="$WORK" "$ROOT/bin/failover" drill --kind mysql --repeat "$RUNS" "${extra[@]}" >"$WORK/drill-$mode.log" 2>&1 || true
  grep -E '^(RESULT|PASS|FAIL)' "$WORK/drill-$mode.log" >&2 || { echo "no result; log:" >&2; tail -50 "$WORK/drill-$mode.log" >&2; }
  grep '^RESULT' "$WORK/drill-$mode.log" >>"$WORK/results" || true
done

python3 - "$WORK/results" "$TARGET_MS" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    kv = dict(p.split("=", 1) for p in line.split()[1:])
    rows.append(kv)
target = int(sys.argv[2])
print()
print("MySQL (MariaDB 10.11) primary SIGKILL -> first acknowledged write on the new primary, through DNS")
print(f"{'semi-sync':<10}{'runs':>5}{'ok':>4}{'min ms':>9}{'median ms':>11}{'max ms':>9}{'median/5s':>11}{'rows acked':>12}{'lost':>6}{'2 writable ms':>15}")
for mode in ("on", "off"):
    r = [x for x in rows if x["semi_sync"] == mode]
    if not r:
        print(f"{mode:<10} no runs"); continue
    t = [int(x["kill_to_first_write_ms"]) for x in r if int(x["kill_to_first_write_ms"]) > 0]
    ok = sum(x["success"] == "true" for x in r)
    lost = sum(int(x["lost"]) for x in r)
    acked = sum(int(x["acknowledged"]) for x in r)
    two = sum(int(x["two_writable_ms"]) for x in r)
    med = statistics.median(t) if t else float("nan")
    print(f"{mode:<10}{len(r):>5}{ok:>4}{min(t) if t else -1:>9}{med:>11.0f}{max(t) if t else -1:>9}{med/target:>11.2f}{acked:>12}{lost:>6}{two:>15}")
print()
print("anchor (published, not runnable here): orchestrator 10-13 s, MHA 10-30 s; target: median < 5 s, 0 lost with semi-sync, 0 ms two writable")
PY
