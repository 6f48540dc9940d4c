#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""remote_ping.py: runs examples/remote_ping.c as docs/guide.md ("Several machines") says, on its
own nats-server: node 1 serves, node 2 asks and monitors; node 1 is then stopped and node 2 must
print DOWN with "node down" and exit 0. Usage: remote_ping.py EXAMPLE [NATS_SERVER]"""
import os
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    example = sys.argv[1]
    server = sys.argv[2] if len(sys.argv) > 2 else "/usr/sbin/nats-server"
    if not os.access(server, os.X_OK):
        print("remote_ping: no nats-server: skipped")
        return 77
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    nats = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.01)
        serve = subprocess.Popen([example, "serve", url], stdout=subprocess.PIPE, text=True)
        ping = subprocess.Popen([example, "ping", url], stdout=subprocess.PIPE, text=True)
        lines = []
        for line in ping.stdout:
            lines.append(line.rstrip())
            if "watching" in line:
                break
        serve.send_signal(signal.SIGINT)  # gone without a goodbye: node 2 finds out by silence
        serve.wait(timeout=10)
        rest, _ = ping.communicate(timeout=30)
        lines += rest.splitlines()
        print("\n".join(lines))
        want = ["node 2: pong on node 1 answered 41", "node 2: watching pong; stop node 1 to see DOWN",
                "DOWN: node down"]
        if ping.returncode != 0 or lines != want:
            print(f"remote_ping: exit {ping.returncode}, want the lines {want}")
            return 1
        return 0
    finally:
        nats.terminate()
        nats.wait()


if __name__ == "__main__":
    sys.exit(main())
