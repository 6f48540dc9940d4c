#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# example_echo.py: starts examples/echo on a free port and talks to it as a real client would:
# 16 connections at once, each sending 1 MiB in uneven pieces and reading every byte back in
# order; a half-closed client still gets its echo; SIGTERM ends the server with status 0.
import os, random, signal, socket, subprocess, sys, threading, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def client(port, seed, total, errors):
    rnd = random.Random(seed)
    data = bytes(rnd.getrandbits(8) for _ in range(total))
    c = socket.create_connection(("127.0.0.1", port), timeout=20)
    got = bytearray()
    def reader():
        while len(got) < total:
            b = c.recv(65536)
            if not b:
                break
            got.extend(b)
    t = threading.Thread(target=reader)
    t.start()
    off = 0
    while off < total:
        n = rnd.randint(1, 20000)
        c.sendall(data[off:off + n])
        off += n
    c.shutdown(socket.SHUT_WR)  # half-close: the echo of what was sent still arrives
    t.join(30)
    if bytes(got) != data:
        errors.append("client %d: %d of %d bytes, equal=%s" % (seed, len(got), total, bytes(got) == data[:len(got)]))
    c.close()

def main():
    exe = sys.argv[1]
    port = free_port()
    srv = subprocess.Popen([exe, str(port), "2"], stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        assert "listening" in line, line
        errors = []
        ts = [threading.Thread(target=client, args=(port, i, 1 << 20, errors)) for i in range(16)]
        for t in ts: t.start()
        for t in ts: t.join(60)
        if errors:
            print("\n".join(errors))
            return 1
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait(20)
        if rc != 0:
            print("echo exited with", rc)
            return 1
        print("example_echo: 16 clients x 1 MiB echoed, clean exit")
        return 0
    finally:
        if srv.poll() is None:
            srv.kill()

sys.exit(main())
