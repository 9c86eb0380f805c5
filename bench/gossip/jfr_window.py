#!/usr/bin/env python3
"""bench/gossip.sh BENCH_FK_JFR's reader: where our agents spent their CPU during one join step.

    JAVA_HOME=... python3 bench/gossip/jfr_window.py DIR/fk-30-join-1.out DIR/fk-30-join1-*.jfr

Takes jdk.ExecutionSample events between the step's join_t0 and join_t0 + join_s (from the .out file) in every
recording, and prints the samples per thread (numbers folded), per method (inclusive), per topmost failoverkit frame
and per leaf frame. TOP (env, 50) rows each.
"""
import collections, datetime, json, os, re, subprocess, sys

def kv(path):
    out = {}
    for line in open(path):
        if '=' in line:
            k, v = line.strip().split('=', 1)
            out[k] = v
    return out

def main():
    step = kv(sys.argv[1])
    t0 = float(step['join_t0'])
    t1 = t0 + float(step['join_s'])
    jfr = os.path.join(os.environ['JAVA_HOME'], 'bin', 'jfr')
    threads, incl, own, leaf = (collections.Counter() for _ in range(4))
    n = 0
    for f in sys.argv[2:]:
        data = subprocess.run([jfr, 'print', '--json', '--stack-depth', '96', '--events', 'jdk.ExecutionSample', f],
                              capture_output=True, text=True).stdout
        try:
            events = json.loads(data)['recording']['events']
        except (ValueError, KeyError):
            print('unreadable:', f, file=sys.stderr)
            continue
        for e in events:
            v = e['values']
            t = datetime.datetime.fromisoformat(v['startTime'].replace('Z', '+00:00')).timestamp()
            if t < t0 or t > t1:
                continue
            n += 1
            th = v.get('sampledThread') or {}
            threads[re.sub(r'\d+', '#', th.get('javaName') or th.get('osName') or '?')[:50]] += 1
            st = v.get('stackTrace')
            if not st:
                continue
            names = [x['method']['type']['name'].replace('/', '.') + '.' + x['method']['name'] for x in st['frames']]
            if names:
                leaf[names[0]] += 1
            mine = next((x for x in names if x.startswith('io.failoverkit')), None)
            if mine:
                own[mine] += 1
            for x in set(names):
                incl[x] += 1
    top = int(os.environ.get('TOP', '50'))
    print('samples in the join window:', n)
    for title, c in (('threads', threads), ('inclusive', incl), ('topmost failoverkit frame', own), ('leaf', leaf)):
        print('---', title)
        for name, k in c.most_common(top):
            print(f'{k:6d} {k * 100 / max(n, 1):5.1f}% {name}')

if __name__ == '__main__':
    main()
