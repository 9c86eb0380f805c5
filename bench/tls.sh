#!/usr/bin/env bash
# bench/tls.sh — what TLS costs a request to the HTTP API: one -dev agent serving HTTP and HTTPS (verify_incoming, so
# curl presents a client certificate), certificates made with `discovery-node tls`; on 127.0.0.1 only.
#
#   bash bench/tls.sh          # about a minute; prints medians and p90s
#
# For GET /v1/kv/bench (a small value) it measures with curl's timers: a new connection per request over HTTP and
# over HTTPS (time_appconnect is the TLS handshake), and requests on one kept-alive HTTPS connection.
# Knobs: BENCH_N (requests per series, 200), BENCH_TMPDIR (/tmp), BENCH_KEEP=1 (keep the temp dir).
# Cleans up on exit: only the agent it started (by PID) and its own temp dir.
set -Eeuo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
N=${BENCH_N:-200}
WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/tls-bench.XXXXXX")
PID=""
say() { printf '[tls.sh] %s\n' "$*"; }
cleanup() {
  [ -n "$PID" ] && stop_own_pids "$WORK" "$PID"
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

port() { python3 -c 'import random; print(random.randint(20000, 32000))'; }
HTTP=$(port); HTTPS=$(port); DNS=$(port); RPC=$(port); SERF=$(port)

cd "$WORK"
"$ROOT/bin/discovery-node" tls ca create >/dev/null
"$ROOT/bin/discovery-node" tls cert create -server >/dev/null
"$ROOT/bin/discovery-node" tls cert create -cli >/dev/null
cat >tls.json <<JSON
{"tls": {"defaults": {"ca_file": "$WORK/consul-agent-ca.pem", "cert_file": "$WORK/dc1-server-consul-0.pem",
                      "key_file": "$WORK/dc1-server-consul-0-key.pem", "verify_incoming": true, "verify_outgoing": true}}}
JSON
"$ROOT/bin/discovery-node" agent -dev -node bench -http-port "$HTTP" -https-port "$HTTPS" -dns-port "$DNS" \
  -server-port "$RPC" -serf-lan-port "$SERF" -config-file "$WORK/tls.json" >"$WORK/agent.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$HTTP/v1/status/leader" 2>/dev/null | grep -q ':' && break
  sleep 0.5
done
curl -sf -X PUT -d 'value-of-bench' "http://127.0.0.1:$HTTP/v1/kv/bench" >/dev/null
TLSARGS=(--cacert "$WORK/consul-agent-ca.pem" --cert "$WORK/dc1-cli-consul-0.pem" --key "$WORK/dc1-cli-consul-0-key.pem")

stats() { sort -n | awk '{a[NR]=$1} END {printf "median %.2f ms, p90 %.2f ms (n=%d)\n", a[int((NR+1)/2)]*1000, a[int(NR*0.9)]*1000, NR}'; }

say "warm-up: 400 requests each way"
for _ in $(seq 1 200); do
  curl -s -o /dev/null "http://127.0.0.1:$HTTP/v1/kv/bench"
  curl -s -o /dev/null "${TLSARGS[@]}" "https://127.0.0.1:$HTTPS/v1/kv/bench"
done
say "new connection per request, HTTP : $(for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$HTTP/v1/kv/bench"; done | stats)"
say "new connection per request, HTTPS: $(for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_total}\n' "${TLSARGS[@]}" "https://127.0.0.1:$HTTPS/v1/kv/bench"; done | stats)"
say "  of which the TLS handshake      : $(for _ in $(seq 1 "$N"); do curl -s -o /dev/null -w '%{time_appconnect} %{time_connect}\n' "${TLSARGS[@]}" "https://127.0.0.1:$HTTPS/v1/kv/bench"; done | awk '{print $1-$2}' | stats)"
# keep-alive: curl sends all N requests on one connection; the mean of the whole run (its start-up included, once)
keepalive() {
  local t0 t1; t0=$(date +%s.%N); curl -s "$@" >/dev/null; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "mean %.2f ms over %d requests\n", (b-a)*1000/n, n}'
}
URLS=(); for _ in $(seq 1 "$N"); do URLS+=("https://127.0.0.1:$HTTPS/v1/kv/bench"); done
say "one kept-alive HTTPS connection  : $(keepalive "${TLSARGS[@]}" "${URLS[@]}")"
URLS=(); for _ in $(seq 1 "$N"); do URLS+=("http://127.0.0.1:$HTTP/v1/kv/bench"); done
say "one kept-alive HTTP connection   : $(keepalive "${URLS[@]}")"
