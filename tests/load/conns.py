#!/usr/bin/env python3
"""Load for netfwd: the echo server for inside a box, and the client that
opens N connections in bursts, each sending a random payload and checking
the echo's SHA-256.

    conns.py serve PORT
    conns.py client PORT TOTAL BURST     prints "ok N" or "lost K of N"
"""
import hashlib, os, socket, sys, threading
from concurrent.futures import ThreadPoolExecutor


def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)

    def echo(c):
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)

    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def one(port):
    payload = os.urandom(1 + int.from_bytes(os.urandom(2), "big") % 16384)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            data = c.recv(65536)
            if not data:
                break
            got += data
    return hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


def client(port, total, burst):
    good = 0
    with ThreadPoolExecutor(max_workers=burst) as pool:
        for start in range(0, total, burst):
            n = min(burst, total - start)
            for ok in pool.map(lambda _: _try(port), range(n)):
                good += ok
    print("ok %d" % total if good == total else "lost %d of %d" % (total - good, total))


def _try(port):
    try:
        return one(port)
    except OSError:
        return False


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
