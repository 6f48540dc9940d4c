#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""runner_check.py: checks the test runner (tests/runner.c) through runner_selftest, whose cases
pass, fail a CHECK, fail an HCHECK, crash, hang, skip, and extend their time limit:
    --list prints exactly the case names, in order, and runs nothing;
    one passing case alone exits 0, the skipping case alone 77, the two together 0;
    the whole run exits 1 and reports every failing case (the crash as a signal, the hang as a
    timeout), not just the first, and a summary naming them;
    a pattern selects by fnmatch; an unknown pattern or option exits 2; --no-fork runs in the
    process.
Usage: runner_check.py path/to/runner_selftest   (exit status 1 on any mismatch, with the list)
"""
import os
import re
import subprocess
import sys

CASES = ["selftest_pass", "selftest_fail_check", "selftest_fail_handler", "selftest_crash",
         "selftest_hang", "selftest_skip", "selftest_time_limit"]
FAILING = ["selftest_fail_check", "selftest_fail_handler", "selftest_crash", "selftest_hang"]

problems = []


def run(prog, *args):
    env = dict(os.environ, AX_TEST_CASE_TIMEOUT="1")
    p = subprocess.run([prog, *args], capture_output=True, text=True, env=env, timeout=100)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what, out=""):
    if not cond:
        problems.append(what + (("\n    output:\n      " + out.strip().replace("\n", "\n      "))
                                if out else ""))


def main():
    prog = sys.argv[1]

    rc, out, err = run(prog, "--list")
    expect(rc == 0, f"--list: exit status {rc}, want 0", err)
    expect(out.split("\n") == CASES + [""], f"--list printed {out!r}, want the {len(CASES)} "
           "case names one a line")
    expect("ok" not in err and "FAILED" not in err, "--list ran cases", err)

    rc, out, err = run(prog, "--list", "selftest_fail_*")
    expect(out.split() == ["selftest_fail_check", "selftest_fail_handler"],
           f"--list with a pattern printed {out!r}")

    rc, out, err = run(prog, "selftest_pass")
    expect(rc == 0, f"selftest_pass alone: exit status {rc}, want 0", err)
    expect(re.search(r"selftest_pass: ok", err), "selftest_pass alone: no 'ok' line", err)
    expect("1 passed, 0 failed, 0 skipped" in err, "selftest_pass alone: wrong summary", err)

    rc, out, err = run(prog, "selftest_skip")
    expect(rc == 77, f"selftest_skip alone: exit status {rc}, want 77", err)
    expect("nothing to test here (42)" in err, "selftest_skip: its reason was not printed", err)

    rc, out, err = run(prog, "selftest_pass", "selftest_skip")
    expect(rc == 0, f"a pass and a skip: exit status {rc}, want 0", err)

    rc, out, err = run(prog, "--no-fork", "selftest_pass")
    expect(rc == 0, f"--no-fork selftest_pass: exit status {rc}, want 0", err)

    rc, out, err = run(prog, "--no-fork", "selftest_fail_check")
    expect(rc == 1, f"--no-fork selftest_fail_check: exit status {rc}, want 1", err)

    # Everything: every failure is reported, each in its own way, and the run goes on.
    rc, out, err = run(prog)
    expect(rc == 1, f"the whole run: exit status {rc}, want 1", err)
    for name in FAILING:
        expect(re.search(rf"^  {name}: FAILED", err, re.M), f"the whole run: {name} not "
               "reported as FAILED", err)
    expect(re.search(r"^  selftest_fail_check: FAILED \(exit status 1\)", err, re.M),
           "selftest_fail_check: not reported with exit status 1", err)
    expect(re.search(r"runner_selftest\.c:\d+: CHECK_EQ failed: two \+ 1 == 2", err),
           "selftest_fail_check: the failed CHECK_EQ was not printed", err)
    expect("went on after a failed CHECK" not in err, "selftest_fail_check went on after the "
           "failed CHECK", err)
    expect(re.search(r"runner_selftest\.c:\d+: handler check failed: ready == 1", err),
           "selftest_fail_handler: the failed HCHECK was not printed", err)
    expect(re.search(r"^  selftest_fail_handler: 1 handler check\(s\) failed", err, re.M),
           "selftest_fail_handler: the runner did not report the handler failure count", err)
    expect(re.search(r"^  selftest_crash: FAILED \(signal 6\b", err, re.M),
           "selftest_crash: not reported as signal 6 (SIGABRT)", err)
    expect(re.search(r"^  selftest_hang: FAILED \(signal 14\b.*timed out", err, re.M),
           "selftest_hang: not reported as a timeout (SIGALRM)", err)
    expect(re.search(r"^  selftest_pass: ok", err, re.M), "the whole run: selftest_pass not ok",
           err)
    expect(re.search(r"^  selftest_time_limit: ok", err, re.M), "the whole run: "
           "selftest_time_limit not ok (test_case_time_limit did not extend the limit)", err)
    expect(re.search(r"^  selftest_skip: skipped", err, re.M), "the whole run: selftest_skip "
           "not reported as skipped", err)
    expect("2 passed, 4 failed, 1 skipped" in err, "the whole run: wrong summary", err)
    expect(re.search(r"FAILED: " + " ".join(FAILING) + r"$", err, re.M),
           "the whole run: the summary does not name every failing case", err)
    # In table order: the case after a crash still ran.
    order = [m.group(1) for m in re.finditer(r"^  (selftest_\w+): (?:ok|FAILED|skipped)", err,
                                             re.M)]
    expect(order == CASES, f"the whole run reported {order}, want every case in table order",
           err)

    rc, out, err = run(prog, "selftest_fail_*")
    expect(rc == 1, f"pattern selftest_fail_*: exit status {rc}, want 1", err)
    expect("0 passed, 2 failed, 0 skipped" in err, "pattern selftest_fail_*: wrong selection",
           err)

    rc, out, err = run(prog, "no_such_case")
    expect(rc == 2, f"an unknown pattern: exit status {rc}, want 2", err)
    expect("no case matches 'no_such_case'" in err, "an unknown pattern: no message", err)
    rc, out, err = run(prog, "selftest_pass", "no_such_case")
    expect(rc == 2, f"a known and an unknown pattern: exit status {rc}, want 2", err)
    expect("selftest_pass: ok" not in err, "an unknown pattern: cases ran anyway", err)
    rc, out, err = run(prog, "--no-such-option")
    expect(rc == 2, f"an unknown option: exit status {rc}, want 2", err)

    if problems:
        print(f"runner_check: {len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print("runner_check: the runner reports every outcome as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
