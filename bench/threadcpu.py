#!/usr/bin/env python3
"""bench/threadcpu.py: where a server process's CPU time and context switches go, per thread, between two moments.

    threadcpu.py snap PID... > before.json     # per thread: name, utime+stime ticks, voluntary/involuntary switches
    threadcpu.py diff before.json after.json --requests N [--labels s1 s2 s3] [--top 12]

diff prints, per process, CPU ms and context switches per acknowledged request (N: wrk's count), then the thread
groups (the thread name with its digits replaced by #) that took the most CPU. Threads that ended between the two
snapshots are lost (a JVM's virtual-thread carriers and Ratis' threads live on; short-lived ones are few), so the
per-process totals come from /proc/PID/stat and /proc/PID/status, which count ended threads too.
A virtual thread's time shows under its carrier (ForkJoinPool-#-worker-#), not under its own name.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HZ = os.sysconf("SC_CLK_TCK")


def stat_ticks(path):
    with open(path) as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])  # own, children's (unused)


def switches(path):
    v = n = 0
    with open(path) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                v = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                n = int(line.split()[1])
    return v, n


def java_names(pid):
    """A JVM's thread names in full (the kernel keeps 15 characters), by native thread id, from jcmd Thread.print;
    empty when this is no JVM or JAVA_HOME names no jcmd. Ratis names its threads s1@group-<id>-<role>: the kernel's
    15 characters leave only "s1@group-<id>"."""
    jcmd = os.path.join(os.environ.get("JAVA_HOME", ""), "bin", "jcmd")
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() != "java" or not os.access(jcmd, os.X_OK):
                return {}
        out = subprocess.run([jcmd, str(pid), "Thread.print"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    names = {}
    for line in out.splitlines():
        m = re.match(r'^"(.*)" .*\bnid=(0x[0-9a-f]+|\d+)', line)
        if m:
            names[str(int(m.group(2), 0))] = m.group(1)
    return names


def snap(pids):
    out = {}
    for pid in pids:
        p = {"threads": {}}
        full = java_names(pid)
        try:
            p["ticks"] = stat_ticks(f"/proc/{pid}/stat")[0]
            p["vcs"], p["nvcs"] = switches(f"/proc/{pid}/status")
            # a process's status counts its main thread only: the sums over its tasks are what we want
            tv = tn = 0
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/comm") as f:
                        name = f.read().strip()
                    name = full.get(tid, name)
                    ticks = stat_ticks(f"/proc/{pid}/task/{tid}/stat")[0]
                    v, n = switches(f"/proc/{pid}/task/{tid}/status")
                except OSError:
                    continue
                tv += v
                tn += n
                p["threads"][tid] = [name, ticks, v, n]
            p["vcs"], p["nvcs"] = tv, tn
        except OSError:
            pass
        out[str(pid)] = p
    return out


def group(name):
    name = re.sub(r"group-[0-9A-F]{12}", "group", name)
    name = re.sub(r"@[0-9a-f]{6,8}\b.*", "", name)  # Jetty's acceptor: "...-acceptor-0@79d77dfd-ServerConnector..."
    return re.sub(r"\d+", "#", name)


def diff(a, b, requests, labels, top):
    lines = []
    req = max(1, requests)
    tot_ms = tot_v = tot_n = 0.0
    for i, pid in enumerate(b):
        pa, pb = a.get(pid, {}), b[pid]
        label = labels[i] if labels and i < len(labels) else pid
        ms = (pb.get("ticks", 0) - pa.get("ticks", 0)) * 1000 / HZ
        # switches of threads that ended are lost from the sums; threads born after `a` count from zero
        v = n = 0
        groups = {}
        for tid, (name, ticks, tv, tn) in pb["threads"].items():
            old = pa.get("threads", {}).get(tid, [name, 0, 0, 0])
            g = groups.setdefault(group(name), [0, 0, 0, 0])
            g[0] += (ticks - old[1]) * 1000 / HZ
            g[1] += tv - old[2]
            g[2] += tn - old[3]
            g[3] += 1
            v += tv - old[2]
            n += tn - old[3]
        tot_ms += ms
        tot_v += v
        tot_n += n
        lines.append(f"{label} (PID {pid}): CPU {ms / req:.2f} ms/req, switches {v / req:.1f} voluntary + {n / req:.1f} involuntary per req")
        for g, (gms, gv, gn, cnt) in sorted(groups.items(), key=lambda kv: -kv[1][0])[:top]:
            if gms <= 0 and gv <= 0:
                continue
            lines.append(f"    {g[:60]:<60} x{cnt:<3} {gms / req:6.3f} ms/req {gv / req:6.2f} vcs/req {gn / req:5.2f} nvcs/req")
    lines.insert(0, f"all: CPU {tot_ms / req:.2f} ms/req, switches {tot_v / req:.1f} voluntary + {tot_n / req:.1f} involuntary per req"
                    f" ({requests} requests)")
    return lines, tot_ms / req, tot_v / req, tot_n / req


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snap")
    s.add_argument("pids", nargs="+")
    d = sub.add_parser("diff")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--requests", type=int, required=True)
    d.add_argument("--labels", nargs="*")
    d.add_argument("--top", type=int, default=12)
    a = ap.parse_args()
    if a.cmd == "snap":
        json.dump(snap(a.pids), sys.stdout)
        return
    with open(a.before) as f:
        before = json.load(f)
    with open(a.after) as f:
        after = json.load(f)
    lines, ms, v, n = diff(before, after, a.requests, a.labels, a.top)
    print("\n".join(lines))
    print(f"THREADCPU cpu_ms_req={ms:.3f} vcs_req={v:.2f} nvcs_req={n:.2f}")


if __name__ == "__main__":
    main()
