#!/usr/bin/env bash
# bench/campaign.sh — the seeded fault campaign, long form: BENCH_RUNS runs (default 200) on the local-process labs
# (Redis and MariaDB, alternating), each injecting one fault drawn from its seed, and the invariants checked after
# every run (no acknowledged write lost, no 10 ms sample with two writable masters, one writable master named by DNS
# within 45 s of the last fault, the manager loop alive, every failover's timeline complete).
#
#   flock /tmp/failoverkit-drills.lock bash bench/campaign.sh     # ~10-15 s a run on a loaded 2-core machine
#
# What it does: builds the failover jar when missing or stale (bin/failover does: mvn package, never install) and runs
# `bin/failover drill --campaign --runs N --seed S [--kind K]`, which starts a discovery cluster (3 servers, or
# BENCH_DISCOVERY_SERVERS=1), one lab per kind kept between runs (rebuilt only when a run left it beyond repair),
# and a manager process per lab (`failover watch`'s loop in its own JVM, so it can be SIGKILLed). It prints a line
# per run, the schedule and the violations of every failing run, then per fault type: runs, violations (target 0),
# time to a writable master (the longest time without an acknowledged write from the fault on) min/median/max.
# A failing run replays with `bin/failover drill --campaign --kind K --seed S --runs 1` (the seed is on its line).
#
# Knobs (environment): BENCH_RUNS (200), BENCH_SEED (default: random, printed), BENCH_KIND (redis|mysql; default
#   both), BENCH_DISCOVERY_SERVERS (3 or 1), BENCH_WITH_GUARD (1: a `failover guard` beside every member, as the
#   README asks of a deployment, and the guard host's cut among the faults; 0: without), BENCH_TMPDIR (/tmp), BENCH_KEEP=1 (keep the log and the labs' server and
#   manager logs).
# Exits with the campaign's status: 0 only with zero violations.
# Cleans up on exit: the campaign stops only what it started (its child processes, by handle); this script removes
# its own temp dir. Only 127.0.0.1 traffic (and 127.0.0.2 as the manager's source address). Bounded waits only.
set -Eeuo pipefail
# shellcheck source=bench/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${BENCH_RUNS:-200}
SEED=${BENCH_SEED:-$((RANDOM * 32768 + RANDOM))}
KIND=${BENCH_KIND:-}
DISCOVERY_SERVERS=${BENCH_DISCOVERY_SERVERS:-3}
WITH_GUARD=${BENCH_WITH_GUARD:-1}
TMPBASE=${BENCH_TMPDIR:-/tmp}
KEEP=${BENCH_KEEP:-0}

T0=$SECONDS
say() { printf '[campaign.sh %5ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { say "ERROR: $*"; exit 1; }

[[ "$RUNS" =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 10000 ] || die "BENCH_RUNS must be 1..10000"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "BENCH_SEED must be a whole number"
[ -z "$KIND" ] || [ "$KIND" = redis ] || [ "$KIND" = mysql ] || die "BENCH_KIND must be redis or mysql"
[ "$DISCOVERY_SERVERS" = 1 ] || [ "$DISCOVERY_SERVERS" = 3 ] || die "BENCH_DISCOVERY_SERVERS must be 1 or 3"

WORK=$(mktemp -d "$TMPBASE/failoverkit-campaign.XXXXXX")
cleanup() {
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The campaign's own work dir (labs, logs) goes under WORK, so it is removed with it.
export FAILOVERKIT_JAVA_OPTS="${FAILOVERKIT_JAVA_OPTS:-} -Djava.io.tmpdir=$WORK"
args=(drill --campaign --runs "$RUNS" --seed "$SEED" --discovery-servers "$DISCOVERY_SERVERS")
[ "$WITH_GUARD" = 1 ] && args+=(--with-guard)
[ -z "$KIND" ] || args+=(--kind "$KIND")
say "bin/failover ${args[*]} (log: $WORK/campaign.log)"
status=0
"$ROOT/bin/failover" "${args[@]}" 2>"$WORK/stderr.log" | tee "$WORK/campaign.log" || status=$?
[ -s "$WORK/campaign.log" ] || { tail -20 "$WORK/stderr.log"; die "the campaign printed nothing"; }

say "summary (seed $SEED, $RUNS runs, $((SECONDS - T0)) s in all):"
sed -n '/^fault  /,/^violations by invariant/p' "$WORK/campaign.log" | grep -v '^RESULT fault=' || true
exit "$status"
