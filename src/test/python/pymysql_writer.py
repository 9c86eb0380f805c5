"""An application on PyMySQL (Debian's python3-pymysql): connects to master.<service>.service.consul:3306 (resolved
through libc at every connect: resolv.conf -> dnsmasq -> the agent), inserts a numbered row into drill.probe every
20 ms (a new number per attempt), asks the same connection which server it is on, reconnects on any error. Prints the
lines ClientOutput (Java) prints. The password comes from DRILL_DB_PASSWORD, never argv.
Args: HOST PORT USER FIRST SETTINGS(defaults|tuned) SECONDS."""
import os
import sys
import time

from writer_common import emit, now, start_dns_sampler, state

import pymysql

host, port, user, seq, settings, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
password = os.environ["DRILL_DB_PASSWORD"]


def connect():
    if settings == "tuned":
        return pymysql.connect(host=host, port=port, user=user, password=password, database="drill", autocommit=True,
                               connect_timeout=1, read_timeout=2, write_timeout=2)
    return pymysql.connect(host=host, port=port, user=user, password=password, database="drill", autocommit=True)


start_dns_sampler(host)
conn = None
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    n = seq
    seq += 1
    try:
        if conn is None:
            conn = connect()
        with conn.cursor() as cur:
            cur.execute("INSERT INTO probe (seq) VALUES (%s)", (n,))
            cur.execute("SELECT @@bind_address, @@port")
            bind, p = cur.fetchone()
        emit("ACK %d %s:%d %d" % (now(), bind, p, n))
        state["err"] = None
    except Exception as e:  # the application sees every failure, drops the connection and tries again
        text = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        if text != state["err"]:
            emit("ERR %d %s" % (now(), text))
        state["err"] = text
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
        conn = None
    time.sleep(0.02)
