#!/usr/bin/env bash
# bench/txn.sh — latency of the epoch write as one /v1/txn (check-session + cas + audit set) against a single KV PUT
# and against the old two-request epoch write (PUT ?cas, then PUT of the audit), on one discovery node (agent -dev,
# fsync'ing, 127.0.0.1 only), measured by bench/TxnLatencyBench.java (see its header).
#
#   bash bench/txn.sh           # about a minute; BENCH_ROUNDS (2000) and BENCH_WARMUP (2000) set the sample sizes
#
# Builds the jars if they are older than the sources (mvn package into this tree's target/ dirs), stops only the
# processes it started (by PID) and removes its temp dir on exit.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=${BENCH_ROUNDS:-2000}
WARMUP=${BENCH_WARMUP:-2000}
T0=$SECONDS
say() { printf '[txn.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }
[[ "$ROUNDS" =~ ^[0-9]+$ && "$WARMUP" =~ ^[0-9]+$ && "$ROUNDS" -ge 10 ]] || die "BENCH_ROUNDS (>= 10) and BENCH_WARMUP must be whole numbers"

bench_setup txnbench

private_jars
cp "$HERE/TxnLatencyBench.java" "$WORK/dist/TxnLatencyBench.java"
say "$("$JAVA" -version 2>&1 | head -1); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); temp dir $WORK"

start_dev_agent txn-bench
say "discovery node PID ${STARTED_PIDS[0]} on HTTP ${P[0]}; measuring"
"$JAVA" -cp "$WORK/dist/failover/failover.jar:$WORK/dist/failover/lib/*" "$WORK/dist/TxnLatencyBench.java" \
  --discovery-http="127.0.0.1:${P[0]}" --rounds="$ROUNDS" --warmup="$WARMUP" 2>"$WORK/logs/harness.log" || { tail -20 "$WORK/logs/harness.log"; die "harness failed"; }
say "done; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
