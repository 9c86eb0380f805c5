#!/usr/bin/env bash
# bench/checksync.sh — how fast an agent-local check's status change reaches the catalog: a TTL check flipped
# BENCH_UPDATES times (1000) through /v1/agent/check/pass|fail on one discovery node (agent -dev, fsync'ing, 127.0.0.1
# only), timed from just before each PUT until a blocking /v1/health/service/NAME?passing returns the new set and until
# DNS (NAME.service.consul) answers it; measured by bench/CheckSyncBench.java (see its header). Prints p50/p90/p99/max.
#
#   bash bench/checksync.sh     # under a minute; BENCH_UPDATES (1000) and BENCH_WARMUP (100) set the sample sizes
#
# Builds the jars if they are older than the sources (mvn package into this tree's target/ dirs), stops only the
# processes it started (by PID) and removes its temp dir on exit.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
UPDATES=${BENCH_UPDATES:-1000}
WARMUP=${BENCH_WARMUP:-100}
T0=$SECONDS
say() { printf '[checksync.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }
[[ "$UPDATES" =~ ^[0-9]+$ && "$WARMUP" =~ ^[0-9]+$ && "$UPDATES" -ge 10 ]] || die "BENCH_UPDATES (>= 10) and BENCH_WARMUP must be whole numbers"

bench_setup checksync

private_jars
cp "$HERE/CheckSyncBench.java" "$WORK/dist/CheckSyncBench.java"
say "$("$JAVA" -version 2>&1 | head -1); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); temp dir $WORK"

start_dev_agent checksync-bench
say "discovery node PID ${STARTED_PIDS[0]} on HTTP ${P[0]}, DNS ${P[1]}; $UPDATES TTL updates after $WARMUP of warm-up"
"$JAVA" -cp "$WORK/dist/discovery-node/lib/*" "$WORK/dist/CheckSyncBench.java" \
  --http="127.0.0.1:${P[0]}" --dns="127.0.0.1:${P[1]}" --updates="$UPDATES" --warmup="$WARMUP" 2>"$WORK/logs/harness.log" \
  || { tail -20 "$WORK/logs/harness.log"; die "harness failed"; }
say "done; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
