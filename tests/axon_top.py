#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# axon_top.py: runs examples/observe (a metered pipeline with the introspection endpoint on a
# free port) and axon-top against it inside a detached tmux session, then reads the screen: the
# header names the target, there is a row per worker, the pipeline's actors are listed by name
# with messages counted, and the counts grow between two frames. Also checks axon-top --once and
# its answer to a port nobody serves. Usage: axon_top.py <example_observe> <axon-top>
import os, re, shutil, subprocess, sys, time

def fail(msg, screen=""):
    print("axon_top.py: " + msg)
    if screen:
        print("---- screen ----\n" + screen + "\n----------------")
    sys.exit(1)

def main():
    observe, top = sys.argv[1], sys.argv[2]
    if shutil.which("tmux") is None:
        print("axon_top.py: tmux is not installed (.ci/run installs it): skipped")
        sys.exit(77)
    prog = subprocess.Popen([observe, "127.0.0.1:0", "60"], stdout=subprocess.PIPE, text=True)
    sock = "axon-top-test-%d" % os.getpid()
    try:
        line = prog.stdout.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)/", line)
        if not m:
            fail("example_observe printed no port: %r" % line)
        port = m.group(1)
        target = "127.0.0.1:" + port

        once = subprocess.run([top, target, "--once", "--interval-ms", "200"], capture_output=True,
                              text=True, timeout=30)
        if once.returncode != 0 or "\033" in once.stdout or "WORKER" not in once.stdout:
            fail("axon-top --once: status %d, output %r" % (once.returncode, once.stdout))

        subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "40",
                        "%s %s --interval-ms 300" % (top, target)], check=True)
        screen, processed = "", []
        deadline = time.time() + 20
        while time.time() < deadline:
            time.sleep(0.4)
            screen = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p"],
                                    capture_output=True, text=True).stdout
            row = re.search(r"^0x[0-9a-f]+\s+store\s+store\s+\d+\s+\d+\s+(\d+)", screen, re.M)
            if row and (not processed or int(row.group(1)) != processed[-1]):
                processed.append(int(row.group(1)))
            if len(processed) >= 3:
                break
        if not screen.startswith("axon-top " + target):
            fail("the header does not name the target", screen)
        workers = re.findall(r"^(\d+)\s+[\d.]+\s+\d+\s+\d+\s+\d+\s*$", screen, re.M)
        if workers != [str(i) for i in range(len(workers))] or not workers:
            fail("worker rows: %r" % workers, screen)
        for name in ("pipeline", "parser", "source", "store"):
            if not re.search(r"^0x[0-9a-f]+\s+%s\s" % name, screen, re.M):
                fail("actor %s is not listed" % name, screen)
        if len(processed) < 3 or processed != sorted(processed) or processed[0] <= 0:
            fail("the store's message count did not grow across frames: %r" % processed, screen)

        dead = subprocess.run([top, "127.0.0.1:1", "--once"], capture_output=True, text=True,
                              timeout=30)
        if dead.returncode != 1 or "no answer" not in dead.stderr:
            fail("axon-top against a closed port: status %d, %r" % (dead.returncode, dead.stderr))
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
        prog.terminate()
        try:
            rc = prog.wait(timeout=20)
        except subprocess.TimeoutExpired:
            prog.kill()
            fail("example_observe did not stop on SIGTERM")
    if rc != 0:
        fail("example_observe exited with %d" % rc)
    print("axon_top.py: ok (worker rows %s, store messages %r)" % (len(workers), processed))

main()
