#!/usr/bin/env python3
"""Helpers for bench/kv.sh (Python 3 standard library only).

Sub-commands (every loop here is bounded in time; only 127.0.0.1 is ever contacted):
  ports N                        print N free TCP ports on 127.0.0.1 (outside the ephemeral range)
  ready   --system S --members URL.. [--ids ADDR..] [--timeout S]
                                 wait until every member agrees on one leader and a write through each member
                                 succeeds; prints "LEADER <index>" (0-based, order of --members)
  leader  --system S --members URL.. [--ids ADDR..]
                                 prints "LEADER <index>" once (exit 1 when there is none)
  watch   --system S --watch URL --write URL [--samples N]
                                 watch wake latency: PUT acknowledged -> watcher woken
  failover --system S --write URL --kill-pid PID --expect STR
                                 SIGKILLs PID (after checking that its command line contains STR) while
                                 writing in a loop to URL; prints the time from the kill to the next acknowledged write
S is "ours" (Consul KV API of discovery-node) or "etcd" (etcd 3.4's HTTP/JSON gateway under /v3/).
Results are printed as one line "RESULT key=value ...".
"""
import argparse
import base64
import http.client
import json
import os
import random
import signal
import socket
import statistics
import sys
import threading
import time
import urllib.parse

now = time.perf_counter


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Conn:
    """A persistent HTTP/1.1 connection to one base URL (http://127.0.0.1:PORT) that reconnects after errors."""

    def __init__(self, url, timeout=5.0):
        u = urllib.parse.urlsplit(url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"kvbench: refusing non-loopback target {url}")
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.c = None

    def request(self, method, path, body=None, headers=None, timeout=None):
        """Returns (status, headers, body bytes); raises OSError/HTTPException on transport errors."""
        if self.c is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        elif timeout is not None:
            self.c.timeout = timeout
            if self.c.sock is not None:
                self.c.sock.settimeout(timeout)
        try:
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
            data = r.read()
            return r.status, r, data
        except Exception:
            self.close()
            raise

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:
                pass
            self.c = None


# ---- one KV write, per system -------------------------------------------------------------------------------

VALUE = ("0123456789" * 10).encode()


def put_ours(conn, key, value=VALUE, timeout=None):
    """PUT /v1/kv/<key>; returns the write's index (X-Consul-Index) or raises."""
    st, r, body = conn.request("PUT", "/v1/kv/" + key, body=value, headers={"Content-Type": "application/octet-stream"}, timeout=timeout)
    if st != 200 or body.strip() != b"true":
        raise RuntimeError(f"HTTP {st}: {body[:200]!r}")
    return int(r.getheader("X-Consul-Index"))


def put_etcd(conn, key, value=VALUE, timeout=None):
    """POST /v3/kv/put; returns the write's revision or raises."""
    payload = json.dumps({"key": b64(key), "value": b64(value)})
    st, r, body = conn.request("POST", "/v3/kv/put", body=payload, headers={"Content-Type": "application/json"}, timeout=timeout)
    if st != 200:
        raise RuntimeError(f"HTTP {st}: {body[:200]!r}")
    doc = json.loads(body)
    if "header" not in doc:
        raise RuntimeError(f"unexpected answer {body[:200]!r}")
    return int(doc["header"]["revision"])


PUT = {"ours": put_ours, "etcd": put_etcd}


# ---- leader -------------------------------------------------------------------------------------------------

def leader_index(system, members, ids):
    """0-based index of the member all reachable members name as leader, or None."""
    seen = []
    if system == "ours":
        for m in members:
            try:
                st, _, body = Conn(m, 2).request("GET", "/v1/status/leader")
                seen.append(json.loads(body) if st == 200 else None)
            except Exception:
                seen.append(None)
        names = [s for s in seen if s]
        if not names or len(set(names)) != 1 or len(names) != len(members):
            return None
        return ids.index(names[0]) if names[0] in ids else None
    # etcd: each member's maintenance status names the leader's member id
    member_ids, leaders = [], []
    for m in members:
        try:
            st, _, body = Conn(m, 2).request("POST", "/v3/maintenance/status", body="{}")
            doc = json.loads(body)
            member_ids.append(doc["header"]["member_id"])
            leaders.append(doc.get("leader"))
        except Exception:
            member_ids.append(None)
            leaders.append(None)
    if None in member_ids or None in leaders or len(set(leaders)) != 1:
        return None
    return member_ids.index(leaders[0]) if leaders[0] in member_ids else None


def cmd_leader(a):
    i = leader_index(a.system, a.members, a.ids or [])
    if i is None:
        print("LEADER none")
        return 1
    print(f"LEADER {i}")
    return 0


def cmd_ready(a):
    deadline = time.time() + a.timeout
    last_err = "no leader yet"
    while time.time() < deadline:
        i = leader_index(a.system, a.members, a.ids or [])
        if i is not None:
            try:
                for n, m in enumerate(a.members):
                    PUT[a.system](Conn(m, 5), f"bench-ready/{n}", b"ok")
                if leader_index(a.system, a.members, a.ids or []) == i:
                    print(f"LEADER {i}")
                    return 0
            except Exception as e:
                last_err = str(e)
        time.sleep(0.2)
    print(f"kvbench ready: cluster not ready after {a.timeout}s: {last_err}", file=sys.stderr)
    return 1


# ---- ports --------------------------------------------------------------------------------------------------

def cmd_ports(a):
    ports, socks = [], []
    rnd = random.Random()
    tries = 0
    while len(ports) < a.n and tries < 10000:
        tries += 1
        p = rnd.randrange(20000, 32000)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        socks.append(s)
        ports.append(p)
    for s in socks:
        s.close()
    if len(ports) < a.n:
        print("kvbench ports: could not find enough free ports", file=sys.stderr)
        return 1
    print(" ".join(map(str, ports)))
    return 0


# ---- watch wake latency -------------------------------------------------------------------------------------

def pct(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def watch_ours(a):
    key = f"bench-watch/{os.getpid()}"
    wconn, rconn = Conn(a.write, 5), Conn(a.watch, 15)
    idx = put_ours(wconn, key, b"start")
    # The watcher's server must have applied it before the first blocking query (default consistency does a
    # read barrier on a follower anyway).
    st, r, _ = rconn.request("GET", f"/v1/kv/{key}")
    idx = max(idx, int(r.getheader("X-Consul-Index")))
    lat, early, lost = [], 0, 0
    deadline = time.time() + a.max_seconds
    for i in range(a.samples + a.warmup):
        if time.time() > deadline:
            break
        box = {}

        def watcher(index=idx):
            try:
                st, r, _ = rconn.request("GET", f"/v1/kv/{key}?index={index}&wait=10s")
                box["t"] = now()
                box["idx"] = int(r.getheader("X-Consul-Index") or 0)
            except Exception as e:
                box["err"] = str(e)
        th = threading.Thread(target=watcher, daemon=True)
        th.start()
        time.sleep(a.settle)
        if not th.is_alive():  # woke before the write: the query did not block
            early += 1
            idx = box.get("idx", idx)
            continue
        put_idx = put_ours(wconn, key, f"v{i}".encode())
        t_ack = now()
        th.join(12)
        if th.is_alive() or "err" in box:
            lost += 1
            rconn.close()
            idx = put_idx
            continue
        if box["idx"] < put_idx:
            early += 1
        elif i >= a.warmup:
            lat.append((box["t"] - t_ack) * 1000)
        idx = max(box["idx"], put_idx)
    return lat, early, lost


def watch_etcd(a):
    key = f"bench-watch/{os.getpid()}"
    wconn = Conn(a.write, 5)
    rev0 = put_etcd(wconn, key, b"start")
    u = urllib.parse.urlsplit(a.watch)
    sc = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    sc.request("POST", "/v3/watch", body=json.dumps({"create_request": {"key": b64(key), "start_revision": str(rev0 + 1)}}),
               headers={"Content-Type": "application/json"})
    resp = sc.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"watch: HTTP {resp.status}")
    woke = {}  # mod_revision -> perf_counter time the watcher saw it
    cv = threading.Condition()
    created = threading.Event()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                line = resp.readline()
            except Exception:
                break
            t = now()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            try:
                res = json.loads(line).get("result", {})
            except ValueError:
                continue
            if res.get("created"):
                created.set()
            with cv:
                for ev in res.get("events", []):
                    woke[int(ev["kv"]["mod_revision"])] = t
                cv.notify_all()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    if not created.wait(10):
        raise RuntimeError("watch stream was not created")
    lat, lost = [], 0
    deadline = time.time() + a.max_seconds
    for i in range(a.samples + a.warmup):
        if time.time() > deadline:
            break
        time.sleep(a.settle)
        rev = put_etcd(wconn, key, f"v{i}".encode())
        t_ack = now()
        with cv:
            ok = cv.wait_for(lambda: rev in woke, timeout=12)
        if not ok:
            lost += 1
            continue
        if i >= a.warmup:
            lat.append((woke[rev] - t_ack) * 1000)
    stop.set()
    try:  # unblocks the reader (closing alone would wait for its read to time out)
        sc.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    th.join(2)
    sc.close()
    return lat, 0, lost


def cmd_watch(a):
    lat, early, lost = (watch_ours if a.system == "ours" else watch_etcd)(a)
    if not lat:
        print("RESULT samples=0")
        return 1
    print("RESULT samples=%d p50_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f mean_ms=%.3f woke_before_ack=%d not_blocked=%d lost=%d" % (
        len(lat), pct(lat, 50), pct(lat, 99), min(lat), max(lat), statistics.mean(lat), sum(1 for x in lat if x < 0), early, lost))
    return 0


# ---- leader kill --------------------------------------------------------------------------------------------

def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cmd_failover(a):
    cl = cmdline_of(a.kill_pid)
    if a.expect not in cl:
        print(f"kvbench failover: PID {a.kill_pid} is not the expected process ({a.expect!r} not in {cl[:200]!r}); not killing", file=sys.stderr)
        return 2
    put = PUT[a.system]
    conn = Conn(a.write, a.request_timeout)
    start = now()
    n, errors, t_kill, result, last_ok_before = 0, 0, None, None, None
    err_kinds = {}
    max_gap_before = 0.0
    prev_ok = None
    while now() - start < a.max_seconds:
        if t_kill is None and now() - start >= a.pre_seconds and n >= 5:
            os.kill(a.kill_pid, signal.SIGKILL)
            t_kill = now()
            kill_epoch = time.time()
        t0 = now()
        try:
            put(conn, f"bench-failover/{os.getpid()}/{n}", timeout=a.request_timeout)
            ok = True
        except Exception as e:
            ok = False
            k = type(e).__name__ + (": " + str(e)[:80] if isinstance(e, RuntimeError) else "")
            err_kinds[k] = err_kinds.get(k, 0) + 1
        t1 = now()
        n += 1
        if ok:
            if t_kill is None:
                if prev_ok is not None:
                    max_gap_before = max(max_gap_before, t1 - prev_ok)
                prev_ok = t1
            elif t0 >= t_kill:
                result = t1 - t_kill
                break
        else:
            if t_kill is not None:
                errors += 1
            time.sleep(0.005)
    if t_kill is None:
        print("kvbench failover: writes never worked before the kill; nothing killed", file=sys.stderr)
        return 1
    if result is None:
        print(f"RESULT recovered=no after_s={a.max_seconds} errors={errors} kinds={json.dumps(err_kinds)}")
        return 1
    elect = election_after(a.system, a.logs or [], kill_epoch)
    print("RESULT recovered=yes kill_to_write_ms=%.1f kill_to_new_leader_ms=%s failed_attempts=%d max_gap_before_kill_ms=%.1f kinds=%s" % (
        result * 1000, "-" if elect is None else "%.0f" % ((elect - kill_epoch) * 1000), errors, max_gap_before * 1000,
        json.dumps(err_kinds, separators=(",", ":"))))
    return 0


def election_after(system, logs, epoch, settle=1.0):
    """Wall-clock time of the first 'new leader' line after epoch in the survivors' logs (ours: 'Raft leader is now';
    etcd: 'elected leader'), or None."""
    import datetime
    time.sleep(settle)  # let the survivors' loggers flush
    best = None
    for path in logs:
        try:
            with open(path, errors="replace") as fh:
                for line in fh:
                    ts = None
                    if system == "ours" and "Raft leader is now" in line:
                        ts = line.split(" ", 1)[0]
                    elif system == "etcd" and "elected leader" in line:
                        try:
                            ts = json.loads(line).get("ts")
                        except ValueError:
                            continue
                    if not ts:
                        continue
                    try:
                        t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
                    except ValueError:
                        continue
                    if t >= epoch - 0.002 and (best is None or t < best):
                        best = t
        except OSError:
            pass
    return best


# ---- stored-key check ---------------------------------------------------------------------------------------

def cmd_check(a):
    """Counts the keys under a prefix and reads the first one back: every acknowledged PUT must be in the store."""
    conn = Conn(a.url, 30)
    prefix = a.prefix.rstrip("/") + "/"
    if a.system == "ours":
        st, _, body = conn.request("GET", "/v1/kv/" + prefix + "?keys")
        keys = json.loads(body) if st == 200 else []
        n = len(keys)
        ok = False
        if keys:
            st, _, val = conn.request("GET", "/v1/kv/" + urllib.parse.quote(keys[0]) + "?raw")
            ok = st == 200 and val == VALUE
    else:
        end = prefix[:-1] + chr(ord("/") + 1)
        st, _, body = conn.request("POST", "/v3/kv/range", body=json.dumps({"key": b64(prefix), "range_end": b64(end), "count_only": True}))
        n = int(json.loads(body).get("count", 0)) if st == 200 else 0
        st, _, body = conn.request("POST", "/v3/kv/range", body=json.dumps({"key": b64(prefix), "range_end": b64(end), "limit": 1}))
        kvs = json.loads(body).get("kvs", []) if st == 200 else []
        ok = bool(kvs) and base64.b64decode(kvs[0].get("value", "")) == VALUE
    print(f"RESULT stored_keys={n} value_ok={'yes' if ok else 'no'}")
    return 0


# ---- summary ------------------------------------------------------------------------------------------------

def parse_results(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            kinds = None
            if " kinds=" in line:
                line, kinds = line.split(" kinds=", 1)
            kind, *pairs = line.split()
            d = {"kind": kind}
            for p in pairs:
                k, _, v = p.partition("=")
                d[k] = v
            if kinds is not None:
                d["kinds"] = kinds
            rows.append(d)
    return rows


def f(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def ratio(a, b, floor=0.0):
    """a/b, or None when either is missing or b is too small for a ratio to mean anything."""
    if a is None or b is None or b <= floor:
        return None
    return a / b


def fx(r):
    return "n/a" if r is None else f"x{r:.2f}"


def cmd_summary(a):
    rows = parse_results(a.results)
    out = []
    w = out.append
    w("")
    w("=" * 110)
    w("KV BENCHMARK SUMMARY: discovery-node (ours, Ratis/gRPC, fsync) vs etcd 3.4 (Debian etcd-server, fsync);")
    w(f"3 members each on 127.0.0.1, one machine with {os.cpu_count()} cores shared by all servers and the load generator")
    env = next((r for r in rows if r["kind"] == "env"), None)
    if env:
        busy = int(env.get("busy_pct", 0))
        w(f"machine busy {busy}% with other work just before the run (load average {env.get('load1')})"
          + ("  ** WARNING: a busy machine makes every figure below noisy; re-run when it is idle **" if busy > 15 else ""))
    w("=" * 110)

    tp = {(r["sys"], r["role"], int(r["conns"])): r for r in rows if r["kind"] == "tput"}
    conns = sorted({k[2] for k in tp})
    w("")
    w("1. KV PUT (wrk, 100-byte values, distinct key per request). req/s higher is better; latencies in ms.")
    w("   CPU% = server processes (% of one core: the target member / the other two), box = whole machine busy %.")
    w("   CPU ms/req = CPU time of all three servers per acknowledged write (lower is better).")
    sys_hdr = f"{'req/s':>7} {'p50':>7} {'p99':>7} {'err':>3} {'CPU% t/o/o':>11} {'ms/req':>6} {'box':>4}"
    hdr = f"   {'':<9}{'':>5} | {'ours':^{len(sys_hdr)}} | {'etcd':^{len(sys_hdr)}} | {'ours/etcd':^20}"
    w(hdr)
    hdr2 = f"   {'target':<9}{'conns':>5} | {sys_hdr} | {sys_hdr} | {'req/s':>6} {'p50':>6} {'p99':>6}"
    w(hdr2)
    w("   " + "-" * (len(hdr2) - 3))
    for role in ("leader", "follower", "leader2"):
        for c in conns:
            o, e = tp.get(("ours", role, c)), tp.get(("etcd", role, c))
            if not o and not e:
                continue

            def cols(r):
                if not r:
                    return f"{'-':>7} {'-':>7} {'-':>7} {'-':>3} {'-':>11} {'-':>6} {'-':>4}"
                err = sum(int(r.get(k, 0)) for k in ("non2xx", "connect_err", "read_err", "write_err", "timeouts"))
                star = "*" if r.get("leader_changed") == "yes" else " "
                try:
                    msreq = f"{sum(float(x) for x in r['cpu'].split('/')) / 100 / float(r['rps']) * 1000:.2f}"
                except (KeyError, ValueError, ZeroDivisionError):
                    msreq = "-"
                return f"{float(r['rps']):>6.0f}{star} {float(r['p50_ms']):>7.2f} {float(r['p99_ms']):>7.2f} {err:>3} {r.get('cpu', '-'):>11} {msreq:>6} {r.get('box', '-'):>4}"

            def g(r, k):
                return float(r[k]) if r else None
            w(f"   {role:<9}{c:>5} | {cols(o)} | {cols(e)} | {fx(ratio(g(o, 'rps'), g(e, 'rps'))):>6} {fx(ratio(g(o, 'p50_ms'), g(e, 'p50_ms'))):>6} {fx(ratio(g(o, 'p99_ms'), g(e, 'p99_ms'))):>6}")

    for sys in ("ours", "etcd"):
        for role in ("leader", "follower"):
            ws = [r for r in rows if r["kind"] == "warmup" and r["sys"] == sys and r["role"] == role]
            if ws:
                at16 = [r for r in ws if r.get("conns") == "16"]
                w(f"   warm-up {sys} {role}: {sum(int(float(r['slice_s'])) for r in ws)} s ({len(at16)} slices at 16 connections, "
                  + f"{len(ws) - len(at16)} at 1), req/s per slice at 16: " + " ".join(f"{float(r['rps']):.0f}" for r in at16))
    for sys in ("ours", "etcd"):
        n = sum(int(r.get("requests", 0)) for r in rows if r["kind"] in ("tput", "warmup", "preload") and r["sys"] == sys)
        if n:
            w(f"   keys written by wrk into {sys} (each a distinct key; they stay in the store): {n}")
    held = {(r["sys"], r["role"]): int(r["held"]) for r in rows if r["kind"] == "keys"}
    for role in ("leader", "follower"):
        if ("ours", role) in held or ("etcd", role) in held:
            m = next((r for r in rows if r["kind"] == "match" and r.get("role") == role), None)
            note = "" if not m else (" (etcd loaded to ours' count: BENCH_MATCH_KEYS)" if m.get("reached") == "yes"
                                     else " (etcd NOT loaded to ours' count within 600 s: BENCH_MATCH_KEYS)")
            w(f"   keys held when the {role} runs began: ours {held.get(('ours', role), '-')}, etcd {held.get(('etcd', role), '-')}{note}")
    checked = [r for r in tp.values() if "stored_keys" in r]
    if checked:
        bad = [r for r in checked if int(r["stored_keys"]) < int(r["requests"]) or r.get("value_ok") != "yes"]
        w(f"   stored-key check (keys under each run's prefix >= acknowledged PUTs, and one value read back): "
          + ("all runs OK" if not bad else "MISMATCH in " + ", ".join(
              f"{r['sys']} {r['role']} c={r['conns']}: {r['stored_keys']} keys for {r['requests']} acks, value_ok={r.get('value_ok')}" for r in bad)))
    if any(r.get("leader_changed") == "yes" for r in tp.values()):
        w("   * the leader changed during this run (spontaneous election): the figure mixes two leaders.")
    wt = {(r["sys"], r["place"]): r for r in rows if r["kind"] == "watch"}
    w("")
    if wt:
        w("2. Watch wake latency, ms: PUT acknowledged to the writer -> watcher woken (negative: the watcher woke first).")
        w("   ours: blocking GET /v1/kv/<key>?index=N; etcd: /v3/watch stream. Writer and watcher on different members.")
        hdr = f"   {'placement':<44} | {'ours p50':>8} {'p99':>8} {'n':>4} | {'etcd p50':>8} {'p99':>8} {'n':>4} | {'p50 ours-etcd':>13} {'p99 ratio':>9}"
        w(hdr)
        w("   " + "-" * (len(hdr) - 3))
        for place, label in (("watcher-on-follower", "watcher on a follower, writer to the leader"),
                             ("watcher-on-leader", "watcher on the leader, writer to a follower")):
            o, e = wt.get(("ours", place)), wt.get(("etcd", place))
            if not o and not e:
                continue

            def g(r, k):
                return float(r[k]) if r and k in r else None

            def cols(r):
                if not r:
                    return f"{'-':>8} {'-':>8} {'-':>4}"
                return f"{g(r, 'p50_ms'):>8.2f} {g(r, 'p99_ms'):>8.2f} {r['samples']:>4}" + ("*" if r.get("leader_changed") == "yes" else "")
            d = None if not (o and e) else g(o, "p50_ms") - g(e, "p50_ms")
            w(f"   {label:<44} | {cols(o)} | {cols(e)} | {f(d, 2):>13} {fx(ratio(g(o, 'p99_ms'), g(e, 'p99_ms'), 0.05)):>9}")

    fo = [r for r in rows if r["kind"] == "failover"]
    w("")
    med = {}
    if fo:
        w("3. Leader kill (SIGKILL) while writing to a surviving member: kill -> next acknowledged write, ms.")
        w("   One writer, sequential PUTs, 1 s client timeout per write (a write stuck on the dead leader is abandoned and retried).")
        hdr = f"   {'system':<6} | {'reps':>4} {'median':>8} {'min':>8} {'max':>8} {'failed tries':>12} {'new leader (median, from logs)':>31} | each (ms)"
        w(hdr)
        w("   " + "-" * 90)
        med = {}
        for sys in ("ours", "etcd"):
            rs = [r for r in fo if r["sys"] == sys]
            if not rs:
                continue
            xs = [float(r["kill_to_write_ms"]) for r in rs if r.get("recovered") == "yes"]
            nrec = sum(1 for r in rs if r.get("recovered") != "yes")
            fails = sum(int(r.get("failed_attempts", r.get("errors", 0))) for r in rs)
            med[sys] = statistics.median(xs) if xs else None
            each = ", ".join(f"{float(r['kill_to_write_ms']):.0f}" if r.get("recovered") == "yes" else "NOT RECOVERED" for r in rs)
            el_ms = [float(r["kill_to_new_leader_ms"]) for r in rs if r.get("kill_to_new_leader_ms", "-") not in ("-", "")]
            elm = f(statistics.median(el_ms), 0) if el_ms else "-"
            w(f"   {sys:<6} | {len(rs):>4} {f(med[sys], 0):>8} {f(min(xs) if xs else None, 0):>8} {f(max(xs) if xs else None, 0):>8} {fails:>12} {elm:>31} | {each}" + (f"  ({nrec} not recovered)" if nrec else ""))
        w(f"   ratio ours/etcd (median): {fx(ratio(med.get('ours'), med.get('etcd')))}")
        kinds = {}
        for r in fo:
            try:
                for k, v in json.loads(r.get("kinds", "{}")).items():
                    kinds[(r["sys"], k)] = kinds.get((r["sys"], k), 0) + v
            except ValueError:
                pass
        if kinds:
            w("   errors the writer saw during the outages: " + "; ".join(f"{s}: {k} x{v}" for (s, k), v in sorted(kinds.items())))

    el = {r["sys"]: r for r in rows if r["kind"] == "elections"}
    if el:
        w("")
        parts = []
        if "ours" in el:
            r = el["ours"]
            parts.append(f"ours: {r['won']} elections won (kills and start-up explain ~{r['expected']}), {r['stepdowns']} leader step-downs, {r['jvm_pauses']} JVM pauses reported by Ratis")
        if "etcd" in el:
            r = el["etcd"]
            parts.append(f"etcd: {r['won']} elections won (~{r['expected']} expected), {r['slow_heartbeats']} 'heartbeat late' warnings")
        w("   Leader elections over the whole run: " + "; ".join(parts))
    gc = [r for r in rows if r["kind"] == "gc"]
    if gc:
        r = dict(gc[0])
        r["collector"] = r.get("collector", "?").replace("_", " ")
        if int(r["pauses"]) == 0:
            w(f"   ours GC: collector {r.get('collector', '?')}; no stop-the-world pause lines in -Xlog:gc (concurrent collector)")
        else:
            w(f"   ours GC ({r.get('collector', '?')}, all three JVMs, whole run): {r['pauses']} stop-the-world pauses, {r['total_ms']} ms in total, "
              f"longest {r['max_ms']} ms, {r['over_50ms']} of 50 ms or more")
    snaps = [r for r in rows if r["kind"] == "snapshot"]
    if snaps:
        w("   ours latest Raft snapshots: " + ", ".join(
            f"{r['server']} {r['file']} ({int(r['bytes']) / 1e6:.1f} MB)" for r in snaps)
          + "  [whole-state binary snapshots, each server at its own staggered turn, written off the apply thread]")
    logs = [r for r in rows if r["kind"] == "log"]
    if logs:
        w("")
        w("4. Server logs (whole run): " + ", ".join(f"{r['name']} warn={r['warn']} error={r['error']}" for r in logs))
        if a.logtop and os.path.exists(a.logtop):
            with open(a.logtop) as fh:
                for line in fh:
                    w("   " + line.rstrip()[:160])

    # one-line headline
    w("")
    heads = []
    for c in conns:
        o, e = tp.get(("ours", "leader", c)), tp.get(("etcd", "leader", c))
        if o and e:
            heads.append(f"c={c}: {fx(ratio(float(o['rps']), float(e['rps'])))}")
    w("HEADLINE ours/etcd PUT req/s to the leader: " + ", ".join(heads)
      + (f"; watch p50 (follower watcher) {f(wt[('ours', 'watcher-on-follower')] and float(wt[('ours', 'watcher-on-follower')]['p50_ms']), 1)} ms vs {f(float(wt[('etcd', 'watcher-on-follower')]['p50_ms']), 1)} ms" if ('ours', 'watcher-on-follower') in wt and ('etcd', 'watcher-on-follower') in wt else "")
      + (f"; leader kill median {f(med.get('ours'), 0)} ms vs {f(med.get('etcd'), 0)} ms" if med else ""))
    w("=" * 110)
    print("\n".join(out))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("ports"); s.add_argument("n", type=int)
    for name in ("ready", "leader"):
        s = sub.add_parser(name)
        s.add_argument("--system", choices=["ours", "etcd"], required=True)
        s.add_argument("--members", nargs="+", required=True)
        s.add_argument("--ids", nargs="*", help="ours: each member's host:server-port, as /v1/status/leader names it")
        s.add_argument("--timeout", type=float, default=90)
    s = sub.add_parser("watch")
    s.add_argument("--system", choices=["ours", "etcd"], required=True)
    s.add_argument("--watch", required=True)
    s.add_argument("--write", required=True)
    s.add_argument("--samples", type=int, default=200)
    s.add_argument("--warmup", type=int, default=20)
    s.add_argument("--settle", type=float, default=0.05, help="seconds between arming the watcher and writing")
    s.add_argument("--max-seconds", type=float, default=90)
    s = sub.add_parser("failover")
    s.add_argument("--system", choices=["ours", "etcd"], required=True)
    s.add_argument("--write", required=True)
    s.add_argument("--kill-pid", type=int, required=True)
    s.add_argument("--expect", required=True, help="a string the PID's command line must contain")
    s.add_argument("--pre-seconds", type=float, default=1.0)
    s.add_argument("--request-timeout", type=float, default=1.0,
                   help="per-write client timeout: a write stuck on the dead leader is abandoned and retried")
    s.add_argument("--logs", nargs="*", help="the survivors' log files, to find when the new leader was elected")
    s.add_argument("--max-seconds", type=float, default=40)
    s = sub.add_parser("check")
    s.add_argument("--system", choices=["ours", "etcd"], required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--prefix", required=True)
    s = sub.add_parser("summary")
    s.add_argument("results")
    s.add_argument("logtop", nargs="?")
    a = p.parse_args()
    return {"summary": cmd_summary, "check": cmd_check, "ports": cmd_ports, "ready": cmd_ready, "leader": cmd_leader, "watch": cmd_watch, "failover": cmd_failover}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
