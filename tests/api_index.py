#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""api_index.py: include/axon.h is the reference for every public name, and docs/api.md is its
index. This script fails when the two drift apart.

Public names, read from the header:
    functions   every AX_API declaration (functions, and the one exported object) and every
                static inline function
    types       every typedef name and every struct or enum tag
    constants   every enum constant (rows of an X-macro used inside an enum included, such as
                AX_ERROR_LIST's) and every `#define AX_...`, except the include guard and
                macros whose name ends in an underscore (internal helpers)
    internal    any name that ends in an underscore (macros, and the types, objects and
                functions an inline fast path needs): declared, never public
Checks:
    (a) every public function has a doc comment in the header: a /* ... */ block that ends on
        the line right above its declaration, or a comment after the declaration on its last
        line, or a block above a group of adjacent public declarations that it shares: such a
        shared block names every declaration of the group, the first one included
    (b) every public name has exactly one entry in docs/api.md: a table row or list item that
        begins with the name in backticks (| `ax_spawn` | ... or - `ax_spawn` ...); a mention
        elsewhere does not count
    (c) every ax_/AX_ identifier docs/api.md puts inside backticks is declared by the header
Usage: api_index.py HEADER... docs/api.md   (exit status 1 on any problem, with the list)
"""
import pathlib
import re
import sys

IDENT = re.compile(r"[A-Za-z_]\w*")
API_NAME = re.compile(r"(?<![\w.])(?:ax|AX)_\w+")


def blank_comments(text):
    """The text with comments and string literals replaced by spaces (newlines kept), so that
    offsets and line numbers stay those of the original."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] in "\"'":
            j = i + 1
            while j < n and text[j] not in (text[i], "\n"):
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1 if j < n and text[j] == text[i] else j, n)  # never past a newline
            out.append(text[i] + re.sub(r"[^\n]", " ", text[i + 1:j]))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def blank_directives(code):
    """The code with preprocessor lines (and their continuations) replaced by spaces."""
    lines = code.split("\n")
    out, cont = [], False
    for line in lines:
        if cont or line.lstrip().startswith("#"):
            cont = line.rstrip().endswith("\\")
            out.append(" " * len(line))
        else:
            out.append(line)
    return "\n".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def matching(code, pos, open_ch, close_ch):
    """The offset just past the bracket that closes the one at code[pos]."""
    depth = 0
    for k in range(pos, len(code)):
        if code[k] == open_ch:
            depth += 1
        elif code[k] == close_ch:
            depth -= 1
            if depth == 0:
                return k + 1
    return len(code)


class Header:
    def __init__(self, path):
        self.path = path
        self.text = path.read_text()
        self.code = blank_comments(self.text)
        self.decls = blank_directives(self.code)
        self.names = {}      # public name -> (kind, line)
        self.internal = set()  # declared, but not public (helper macros, the include guard)
        self.functions = []  # (name, first line, last line, end offset) of public functions
        self._defines()
        self._functions()
        self._typedefs_and_tags()
        self._enums()

    def add(self, name, kind, pos):
        if name.endswith("_"):  # the machinery of an inline fast path: not part of the API
            self.internal.add(name)
            return
        self.names.setdefault(name, (kind, line_of(self.code, pos)))

    def _defines(self):
        joined = re.sub(r"\\\n", "  ", self.code)  # continuation lines joined, offsets kept
        guard = re.search(r"^\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b", self.code, re.M)
        if guard:
            self.internal.add(guard.group(1))
        self.xmacros = {}
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(\(([^)]*)\))?(.*)$", joined, re.M):
            name, params, body = m.group(1), m.group(3), m.group(4)
            if params is not None:
                ps = [p.strip() for p in params.split(",")]
                if len(ps) == 1 and ps[0]:
                    rows = [(r.group(1), m.start(4) + r.start())
                            for r in re.finditer(r"\b%s\(\s*(\w+)" % re.escape(ps[0]), body)]
                    if rows:
                        self.xmacros[name] = rows
            if not re.match(r"(?:ax|AX)_", name):
                continue
            if name.endswith("_") or name in self.internal:
                self.internal.add(name)
            else:
                self.add(name, "macro", m.start())

    def _functions(self):
        for m in re.finditer(r"\bAX_API\b[^;{}]*;", self.decls):
            decl = m.group(0)
            paren = decl.find("(")
            if paren >= 0:
                name = IDENT.findall(decl[:paren])[-1]
            else:
                name = IDENT.findall(decl)[-1]
            self.add(name, "function" if paren >= 0 else "object", m.start())
            self.functions.append((name, line_of(self.code, m.start()),
                                   line_of(self.code, m.end() - 1), m.end()))
        for m in re.finditer(r"\bstatic\s+inline\b[^;{}()]*?\b(\w+)\s*\(", self.decls):
            body = self.decls.find("{", m.end())
            end = matching(self.decls, body, "{", "}")
            self.add(m.group(1), "function", m.start())
            self.functions.append((m.group(1), line_of(self.code, m.start()),
                                   line_of(self.code, end - 1), end))
        self.functions.sort(key=lambda f: f[1])

    def _typedefs_and_tags(self):
        for m in re.finditer(r"\b(?:struct|enum)\s+(\w+)\s*\{", self.decls):
            self.add(m.group(1), "type", m.start())
        for m in re.finditer(r"\btypedef\b", self.decls):
            k, depth = m.end(), 0
            while k < len(self.decls) and not (self.decls[k] == ";" and depth == 0):
                depth += {"{": 1, "}": -1}.get(self.decls[k], 0)
                k += 1
            stmt = re.sub(r"\{[^{}]*\}", " ", self.decls[m.end():k])
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", stmt)
            name = fp.group(1) if fp else IDENT.findall(stmt)[-1]
            self.add(name, "type", m.start())

    def _enums(self):
        for m in re.finditer(r"\benum\b[^{;]*\{", self.code):
            end = matching(self.code, m.end() - 1, "{", "}")
            body = blank_directives(self.code[m.end():end - 1])
            depth, start, items = 0, 0, []  # (text, offset) of each item at depth 0
            for k, ch in enumerate(body + ","):
                depth += {"(": 1, ")": -1}.get(ch, 0)
                if ch == "," and depth == 0:
                    items.append((body[start:k], m.end() + start))
                    start = k + 1
            for it, pos in items:
                lead = len(it) - len(it.lstrip())
                it = it.strip()
                call = re.match(r"(\w+)\s*\(", it)
                if call and call.group(1) in self.xmacros:
                    for r, rpos in self.xmacros[call.group(1)]:
                        self.add(r, "constant", rpos)
                elif re.match(r"\w+\s*(=|$)", it):
                    self.add(IDENT.match(it).group(0), "constant", pos + lead)

    def declared(self, name):
        return name in self.names or name in self.internal

    def undocumented(self):
        """Public functions with no doc comment (check a)."""
        lines = self.text.split("\n")
        code_lines = self.code.split("\n")
        covered = {}  # line -> first line of the public declaration that spans it
        for _, first, last, _ in self.functions:
            for ln in range(first, last + 1):
                covered[ln] = first
        names_at = {first: n for n, first, _, _ in self.functions}
        missing = []
        for name, first, last, end in self.functions:
            rest = self.text[end:self.text.find("\n", end) if "\n" in self.text[end:] else None]
            if re.match(r"\s*(/\*|//)", rest):
                continue  # a trailing comment
            group = [name]
            ln = first - 1  # 1-based line above the declaration
            while ln in covered:  # adjacent declarations above: a group may share a comment
                group.append(names_at[covered[ln]])
                ln = covered[ln] - 1
            comment = self.comment_ending_at(ln, lines, code_lines)
            # A comment shared by a group names every declaration of it, the first included
            # (without that rule, deleting the comment of a declaration that follows another
            # would go unnoticed: it would seem to share its neighbour's).
            if comment is None or (len(group) > 1 and not all(
                    re.search(r"\b%s\b" % re.escape(g), comment) for g in group)):
                missing.append((name, first))
        return missing

    @staticmethod
    def comment_ending_at(ln, lines, code_lines):
        """The comment block that ends on 1-based line ln and has no code on its lines, or
        None."""
        if ln < 1 or code_lines[ln - 1].strip() or not lines[ln - 1].rstrip().endswith("*/"):
            return None
        start = ln
        while start >= 1 and "/*" not in lines[start - 1]:
            start -= 1
        if start < 1 or code_lines[start - 1].strip():
            return None
        return "\n".join(lines[start - 1:ln])


def code_spans(text):
    """(identifier, line) for every ax_/AX_ identifier inside backticks in a Markdown text."""
    found = []
    fence = None
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        f = re.match(r"\s*(```+|~~~+)", line)
        if fence:
            if f and f.group(1)[0] == fence[0] and len(f.group(1)) >= len(fence):
                fence = None
            else:
                found += [(name, n) for name in API_NAME.findall(line)]
            continue
        if f:
            fence = f.group(1)
            continue
        for span in re.finditer(r"(`+)(.+?)\1", line):
            found += [(name, n) for name in API_NAME.findall(span.group(2))]
    return found


ENTRY = re.compile(r"^\s*(?:\|\s*|[-*]\s+)`((?:ax|AX)_\w+)`")


def index_entries(text):
    """{name: [line, ...]} of the index entries (rows or list items that begin with a name)."""
    entries, fence = {}, False
    for n, line in enumerate(text.split("\n"), 1):
        if re.match(r"\s*(```|~~~)", line):
            fence = not fence
            continue
        m = None if fence else ENTRY.match(line)
        if m:
            entries.setdefault(m.group(1), []).append(n)
    return entries


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().split("\n")[-1], file=sys.stderr)
        return 2
    header_paths = [pathlib.Path(a) for a in sys.argv[1:-1]]
    index_path = pathlib.Path(sys.argv[-1])
    headers = [Header(p) for p in header_paths]
    index_text = index_path.read_text()
    spans = code_spans(index_text)
    entries = index_entries(index_text)
    problems = []
    for h, header_path in zip(headers, header_paths):
        if not h.functions:
            problems.append(f"no AX_API declaration found in {header_path}: is the parser broken?")
        for name, line in h.undocumented():
            problems.append(f"no doc comment above or after the declaration: {name} "
                            f"({header_path}:{line})")
        for name, (kind, line) in sorted(h.names.items(), key=lambda kv: kv[1][1]):
            if name not in entries:
                problems.append(f"missing from {index_path}: {kind} {name} ({header_path}:{line})")
            elif len(entries[name]) > 1:
                at = ", ".join(str(n) for n in entries[name])
                problems.append(f"indexed more than once in {index_path} (lines {at}): {name}")
    seen = set()
    for name, line in spans:
        if not any(h.declared(name) for h in headers) and name not in seen:
            seen.add(name)
            problems.append(f"{index_path}:{line} names `{name}`, which no header declares")
    for h, header_path in zip(headers, header_paths):
        kinds = {}
        for kind, _ in h.names.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        summary = ", ".join(f"{v} {k}{'' if v == 1 else 's'}" for k, v in sorted(kinds.items()))
        print(f"api_index: {len(h.names)} public names in {header_path.name} ({summary})")
    print(f"api_index: {len(problems)} problem(s)")
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
