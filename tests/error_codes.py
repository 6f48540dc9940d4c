#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""error_codes.py: every error code the header documents for a function is produced and checked
by some test, and no test checks a code the header does not document for that function.

Each header (include/axon.h and the others) documents each function in the comment right above its prototype,
ending in "Errors: AX_E... (when), ...". The tests check a code in one of three forms, which this
script finds in tests/*.c (the checks themselves fail at run time if the code differs):
    CHECK_RC(ax_fn(...), AX_CODE)          main thread
    HCHECK(ax_fn(...) == AX_CODE)          inside a handler
    CHECK_RC_OF(ax_fn, rc, AX_CODE)        a result obtained elsewhere (another thread)
Usage: error_codes.py HEADER... tests/   (exit status 1 on any gap, with the list)
"""
import pathlib
import re
import sys

PROTO = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(ax_\w+)\s*\(")
CODE = re.compile(r"\bAX_E[A-Z]+\b")


def documented(header):
    """{function: set of codes} from the comment block above each prototype."""
    lines = header.read_text().splitlines()
    docs = {}
    for i, line in enumerate(lines):
        m = PROTO.match(line)
        if not m or line.lstrip().startswith(("/*", "*", "#")):
            continue
        # The comment block ends on the line above (or above other prototypes of a group).
        j = i - 1
        while j >= 0 and PROTO.match(lines[j]):
            j -= 1
        block = []
        if j >= 0 and lines[j].rstrip().endswith("*/"):
            while j >= 0:
                block.insert(0, lines[j])
                if lines[j].lstrip().startswith("/*"):
                    break
                j -= 1
        text = " ".join(block)
        k = text.find("Errors")
        docs[m.group(1)] = set(CODE.findall(text[k:])) if k >= 0 else set()
    return docs


def balanced_args(src, start):
    """The text between the parenthesis at src[start] and its match."""
    depth = 0
    for k in range(start, len(src)):
        if src[k] == "(":
            depth += 1
        elif src[k] == ")":
            depth -= 1
            if depth == 0:
                return src[start + 1:k]
    return ""


def split_top(args):
    """Splits at commas outside parentheses and braces."""
    parts, depth, cur = [], 0, ""
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


CALL = re.compile(r"^\s*(ax_\w+)\s*\(")


def checked(test_dir):
    """{(function, code): first place it is checked} over tests/*.c."""
    found = {}
    for path in sorted(pathlib.Path(test_dir).glob("*.c")):
        src = path.read_text()
        for m in re.finditer(r"\b(CHECK_RC_OF|CHECK_RC|HCHECK)\s*\(", src):
            args = balanced_args(src, m.end() - 1)
            line = src.count("\n", 0, m.start()) + 1
            fn = code = None
            if m.group(1) == "CHECK_RC":
                parts = split_top(args)
                call = CALL.match(parts[0]) if len(parts) == 2 else None
                if call:
                    fn, code = call.group(1), parts[1]
            elif m.group(1) == "CHECK_RC_OF":
                parts = split_top(args)
                if len(parts) == 3:
                    fn, code = parts[0], parts[2]
            else:
                eq = re.match(r"^\s*(ax_\w+)\s*\((.*)\)\s*==\s*(AX_E[A-Z]+)\s*$", args, re.S)
                if eq:
                    fn, code = eq.group(1), eq.group(3)
            if fn and code and CODE.fullmatch(code):
                found.setdefault((fn, code), f"{path.name}:{line}")
    return found


def main():
    headers, test_dir = [pathlib.Path(a) for a in sys.argv[1:-1]], pathlib.Path(sys.argv[-1])
    docs = {}
    for header in headers:
        docs.update(documented(header))
    found = checked(test_dir)
    missing = sorted((fn, c) for fn, codes in docs.items() for c in codes if (fn, c) not in found)
    extra = sorted((fn, c, where) for (fn, c), where in found.items()
                   if fn in docs and c not in docs[fn])
    unknown = sorted((fn, c, where) for (fn, c), where in found.items() if fn not in docs)
    pairs = sum(len(c) for c in docs.values())
    print(f"error_codes: {len(docs)} functions, {pairs} documented (function, code) pairs, "
          f"{pairs - len(missing)} checked by a test")
    for fn, c in missing:
        print(f"  not checked by any test: {fn} -> {c}")
    for fn, c, where in extra:
        print(f"  checked but not documented in the header: {fn} -> {c} ({where})")
    for fn, c, where in unknown:
        print(f"  checked for a function the header does not declare: {fn} ({where})")
    return 1 if missing or extra or unknown else 0


if __name__ == "__main__":
    sys.exit(main())
