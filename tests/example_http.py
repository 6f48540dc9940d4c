#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# example_http.py: starts examples/http and talks to it as clients do: curl (keep-alive, bodies,
# chunked, 100-continue), pipelining, a request a byte at a time, a corpus of bad requests (each
# gets its status, then a close), timeouts, half-close, slowloris, 10,000 idle connections.
# Usage: example_http.py EXE [slowloris|idle]   (no second argument: the functional cases)
import hashlib, os, random, resource, selectors, signal, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def start(exe, *args):
    port = free_port()
    srv = subprocess.Popen([exe, str(port)] + [str(a) for a in args], stdout=subprocess.PIPE,
                           text=True)
    line = srv.stdout.readline()
    assert "listening" in line, line
    return srv, port

def stop(srv):
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(30)
    assert rc == 0, "server exited with %d" % rc

def connect(port, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c

class Reader:
    """Responses read off a socket: status, headers (lower-case names), body."""
    def __init__(self, sock):
        self.sock, self.buf = sock, b""
    def fill(self):
        b = self.sock.recv(65536)
        if not b:
            raise EOFError("connection closed")
        self.buf += b
    def response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only or status == 100 else int(headers["content-length"])
        while len(self.buf) < n:
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body
    def closed(self):
        """True once the server closes (what it still sends is dropped)."""
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

def req(path="/", method="GET", extra=""):
    return ("%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (method, path, extra)).encode()

def curl(*args):
    return subprocess.run(["curl", "-sS", "--noproxy", "*", "-m", "10"] + list(args),
                          capture_output=True, check=True).stdout

def check(cond, what):
    if not cond:
        raise AssertionError(what)

def functional(exe):
    srv, port = start(exe, 2, "--header-timeout-ms", 1000, "--idle-timeout-ms", 2000)
    url = "http://127.0.0.1:%d" % port
    try:
        # curl: two requests on one connection (keep-alive), the JSON one and a 404.
        out = curl("-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects};",
                   url + "/", url + "/json").decode()
        check(out == "200 1;200 0;", "keep-alive: curl says %r" % out)
        check(curl(url + "/") == b"Hello, World!", "GET /")
        check(curl(url + "/json") == b'{"message":"Hello, World!"}', "GET /json")
        check(curl("-o", "/dev/null", "-w", "%{http_code}", url + "/nope") == b"404", "404")
        hdrs = curl("-D", "-", "-o", "/dev/null", url + "/").decode()
        check("Server: axon" in hdrs and "Date: " in hdrs and "Content-Type: text/plain" in hdrs,
              "headers: %r" % hdrs)
        # Bodies: Content-Length, chunked, and 100-continue.
        data = bytes(random.Random(1).getrandbits(8) for _ in range(300000))
        fd, path = tempfile.mkstemp(suffix=".bin")  # its own file: two runs may share a folder
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        digest = hashlib.sha256(data).digest()
        for extra in ([], ["-H", "Transfer-Encoding: chunked"], ["-H", "Expect: 100-continue"]):
            got = curl("--data-binary", "@" + path, *extra, url + "/echo")
            check(hashlib.sha256(got).digest() == digest, "echo body %s: %d bytes" % (extra, len(got)))
        os.unlink(path)

        # Pipelining: 16 requests in one write, 16 answers in order.
        c = connect(port)
        r = Reader(c)
        paths = ["/", "/json", "/nope"] * 5 + ["/"]
        c.sendall(b"".join(req(p) for p in paths))
        for p in paths:
            st, h, body = r.response()
            want = {"/": (200, b"Hello, World!"), "/json": (200, b'{"message":"Hello, World!"}'),
                    "/nope": (404, b"Not Found")}[p]
            check((st, body) == want, "pipelined %s: %d %r" % (p, st, body))
        # A request a byte at a time on the same connection, then HEAD (no body).
        for b in req("/json"):
            c.send(bytes([b]))
        check(r.response()[2] == b'{"message":"Hello, World!"}', "byte at a time")
        c.sendall(req("/", "HEAD"))
        st, h, body = r.response(head_only=True)
        check(st == 200 and h["content-length"] == "13", "HEAD: %d %r" % (st, h))
        c.sendall(req("/"))  # nothing was sent after HEAD's head: the next answer comes next
        check(r.response()[2] == b"Hello, World!", "after HEAD")
        c.close()

        # Bad requests: each gets its status and a close.
        bad = [
            (b"GET\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),                         # no Host
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),  # NUL
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),   # obs-fold
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", 413),
            (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
            (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 40 + b"\r\n", 431),
        ]
        for raw, want in bad:
            c = connect(port)
            c.sendall(raw + b"trailing bytes the server never reads")
            r = Reader(c)
            st, h, _ = r.response()
            check(st == want, "bad request %r: %d, want %d" % (raw[:40], st, want))
            check(h.get("connection") == "close", "bad request %r: no Connection: close" % raw[:40])
            check(r.closed(), "bad request %r: not closed" % raw[:40])
            c.close()

        # HTTP/1.0 without keep-alive: the answer, then a close.
        c = connect(port)
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        r = Reader(c)
        check(r.response()[2] == b"Hello, World!" and r.closed(), "HTTP/1.0")
        c.close()
        # Half-close: the request, then SHUT_WR; the answer still arrives, then the close.
        c = connect(port)
        c.sendall(req("/json"))
        c.shutdown(socket.SHUT_WR)
        r = Reader(c)
        check(r.response()[2] == b'{"message":"Hello, World!"}' and r.closed(), "half-close")
        c.close()
        # Header timeout: half a head gets 408 and a close after about 1 s.
        c = connect(port)
        c.sendall(b"GET / HTTP/1.1\r\nHo")
        t0 = time.monotonic()
        r = Reader(c)
        st, _, _ = r.response()
        check(st == 408 and r.closed(), "header timeout: %d" % st)
        print("header timeout: 408 after %.2f s (timeout 1 s)" % (time.monotonic() - t0))
        c.close()
        # Idle timeout: a kept-alive connection with no request is closed after about 2 s.
        c = connect(port)
        c.sendall(req("/"))
        r = Reader(c)
        r.response()
        t0 = time.monotonic()
        check(r.closed(), "idle timeout")
        print("idle timeout: closed after %.2f s (timeout 2 s)" % (time.monotonic() - t0))
        c.close()
        # A silent new connection falls under the header timeout: closed without an answer.
        c = connect(port)
        check(Reader(c).closed(), "silent connection")
        c.close()
        stop(srv)
        print("example_http: curl, pipelining, bad requests, timeouts, half-close: all passed")
    finally:
        if srv.poll() is None:
            srv.kill()

def raise_nofile(need):
    """Raises the soft descriptor limit to the hard one (the server inherits it); exits with
    77 (ctest: skipped) when even the hard limit is too low for the case."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        print("skipped: RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        sys.exit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def slowloris(exe, slow=1000, requests=3000):
    """1,000 connections send a header byte a second while a normal client makes `requests`
    keep-alive requests: every request is answered, every slow connection is closed by the
    header timeout (3 s). The normal client's rate with and without the attack is printed (not
    asserted: timings vary here); bench/http_slowloris records it."""
    raise_nofile(slow + 100)
    srv, port = start(exe, 2, "--header-timeout-ms", 3000)
    try:
        def normal():
            c = connect(port)
            r = Reader(c)
            t0 = time.monotonic()
            for _ in range(requests):
                c.sendall(req("/"))
                check(r.response()[2] == b"Hello, World!", "normal client's answer")
            c.close()
            return requests / (time.monotonic() - t0)
        alone = normal()
        sel = selectors.DefaultSelector()
        conns = []
        for i in range(slow):
            c = connect(port)
            c.setblocking(False)
            conns.append(c)
            sel.register(c, selectors.EVENT_READ, i)
        head = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 100
        sent, closed = [0] * slow, [False] * slow
        t0 = time.monotonic()
        under_attack = None
        next_byte = t0
        while not all(closed) and time.monotonic() - t0 < 30:
            if time.monotonic() >= next_byte:  # a byte a second on each open slow connection
                for i, c in enumerate(conns):
                    if not closed[i] and sent[i] < len(head):
                        try:
                            c.send(head[sent[i]:sent[i] + 1])
                            sent[i] += 1
                        except (BrokenPipeError, ConnectionResetError):
                            closed[i] = True
                next_byte += 1
                if under_attack is None:
                    under_attack = normal()  # measured while every slow connection is open
            for key, _ in sel.select(timeout=0.1):
                i = key.data
                try:
                    b = conns[i].recv(65536)
                except ConnectionResetError:
                    b = b""
                if not b:
                    closed[i] = True
                    sel.unregister(conns[i])
        elapsed = time.monotonic() - t0
        for c in conns:
            c.close()
        check(all(closed), "%d slow connections still open after 30 s" % closed.count(False))
        check(max(sent) < len(head), "a slow connection sent its whole head")
        after = normal()
        print("slowloris: %d slow connections closed by the header timeout (3 s) within %.1f s; "
              "normal client %.0f req/s alone, %.0f under attack (%.0f%%), %.0f after"
              % (slow, elapsed, alone, under_attack, 100 * under_attack / alone, after))
        stop(srv)
    finally:
        if srv.poll() is None:
            srv.kill()

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    raise RuntimeError("no VmRSS")

def idle(exe, n=10000):
    """n connections, each makes one request and then stays open, idle: every one is still
    served afterwards; prints the server's RSS growth per connection."""
    raise_nofile(n + 100)
    srv, port = start(exe, 2)
    try:
        warm = connect(port)
        r = Reader(warm)
        for _ in range(100):  # the pools and buffers a first request allocates
            warm.sendall(req("/"))
            r.response()
        time.sleep(0.2)
        before = rss_kb(srv.pid)
        conns = []
        for i in range(n):
            c = connect(port)
            conns.append(c)
            c.sendall(req("/"))
            if i % 100 == 99:  # read in batches, so that the backlog does not fill
                for c2 in conns[-100:]:
                    Reader(c2).response()
        for c in conns[len(conns) - len(conns) % 100:]:
            Reader(c).response()
        time.sleep(0.5)
        after = rss_kb(srv.pid)
        per = (after - before) * 1024 / n
        served = 0
        for c in conns[::50]:  # still open and served
            c.sendall(req("/json"))
            if Reader(c).response()[0] == 200:
                served += 1
        check(served == len(conns[::50]), "idle connections served afterwards: %d" % served)
        for c in conns:
            c.close()
        warm.close()
        print('{"system":"axon","bench":"idle_conns","workers":2,"connections":%d,'
              '"rss_before_kb":%d,"rss_after_kb":%d,"bytes_per_conn":%.0f}' % (n, before, after, per))
        stop(srv)
    finally:
        if srv.poll() is None:
            srv.kill()

if __name__ == "__main__":
    mode = sys.argv[2] if len(sys.argv) > 2 else "functional"
    {"functional": functional, "slowloris": slowloris, "idle": idle}[mode](sys.argv[1])
