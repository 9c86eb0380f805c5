#!/usr/bin/env bash
# bench/snapshot.sh — Raft snapshots of a large state, the old way (whole-state JSON written on the apply thread under
# the store's lock) against the new (a reference-only view on the apply thread, written by another thread as the
# checksummed binary file): snapshot time, size, the apply thread's longest stall while one is taken (anchor: the
# same applies with no snapshot), allocation, GC time, and the time to load each file into an empty store (the state
# part of a restart and of a follower's snapshot install), and a one-server Raft restart from each format (127.0.0.1).
# One JVM; measured by bench/SnapshotBench.java
# (see its header).
#
#   bash bench/snapshot.sh     # a few minutes; BENCH_KEYS (100000), BENCH_NODES (3000), BENCH_ROUNDS (3), BENCH_HEAP (2g)
#
# Builds the jars if they are older than the sources (mvn package into this tree's target/ dirs) and removes its temp
# dir on exit. Run it under `flock /tmp/failoverkit-bench.lock` on a shared box.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
T0=$SECONDS
say() { printf '[snapshot.sh %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }
for v in BENCH_KEYS BENCH_NODES BENCH_ROUNDS; do
  [[ -z "${!v:-}" || "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
HEAP=${BENCH_HEAP:-2g}

bench_setup snapshot
private_jars
cp "$HERE/SnapshotBench.java" "$WORK/dist/SnapshotBench.java"
mkdir -p "$WORK/files"
say "$("$JAVA" -version 2>&1 | head -1); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); heap $HEAP (the JVM's default collector); temp dir $WORK"
"$JAVA" -Xms"$HEAP" -Xmx"$HEAP" --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED -cp "$WORK/dist/discovery-node/discovery-node.jar:$WORK/dist/discovery-node/lib/*" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn "$WORK/dist/SnapshotBench.java" "$WORK/files" 2>"$WORK/logs/harness.log" \
  || { tail -20 "$WORK/logs/harness.log"; die "harness failed"; }
say "done; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
