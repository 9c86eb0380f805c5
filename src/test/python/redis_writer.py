"""An application on redis-py (Debian's python3-redis): a Redis client on master.<service>.service.consul:6379,
resolved through libc at every connect (resolv.conf -> dnsmasq -> the agent), INCRing its key every 20 ms in a
MULTI with CLIENT INFO (whose laddr says which server took the write). Prints the lines ClientOutput (Java) prints.
Args: HOST PORT KEY SETTINGS(defaults|tuned) SECONDS."""
import sys
import time

from writer_common import emit, now, start_dns_sampler, state

import redis

host, port, key, settings, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])


if settings == "tuned":
    client = redis.Redis(host=host, port=port, socket_timeout=1.0, socket_connect_timeout=0.5, health_check_interval=1)
else:
    client = redis.Redis(host=host, port=port)
start_dns_sampler(host)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        pipe = client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.execute_command("CLIENT", "INFO")
        value, info = pipe.execute()
        if isinstance(info, dict):
            laddr = info.get("laddr", "?")
        else:
            info = info.decode() if isinstance(info, bytes) else str(info)
            laddr = next((f[6:] for f in info.split() if f.startswith("laddr=")), "?")
        emit("ACK %d %s %d" % (now(), laddr, value))
        state["err"] = None
    except Exception as e:  # every failure is the application's to see and retry
        text = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        if text != state["err"]:
            emit("ERR %d %s" % (now(), text))
        state["err"] = text
    time.sleep(0.02)
