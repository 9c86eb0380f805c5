"""What the client-stack drills' Python writers share: timestamps, serialized output lines (the ClientOutput
format), and the DNS sampler that prints the address libc resolves for the master's name whenever it changes."""
import socket
import threading
import time

_lock = threading.Lock()
state = {"err": None, "dns": None}


def now():
    return int(time.time() * 1000)


def emit(line):
    with _lock:
        print(line, flush=True)


def _sample_dns(host):
    while True:
        try:
            addr = socket.gethostbyname(host)
        except OSError:
            addr = "none"
        if addr != state["dns"]:
            state["dns"] = addr
            emit("DNS %d %s" % (now(), addr))
        time.sleep(0.02)


def start_dns_sampler(host):
    threading.Thread(target=_sample_dns, args=(host,), daemon=True).start()
