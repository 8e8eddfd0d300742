#!/usr/bin/env python3
"""Draws the file-level import graph of each crate under crates/ and fails on a circle.

A file depends on another when it names an item of it: `use crate::a::b`, `crate::a::f()`,
`super::x`, `self::m::y` or a child module by name (`pages::f()`). Items named at the crate
root (`crate::X` with X not a module) are edges to lib.rs, so a module that names what its
crate root re-exports depends on the root. Test modules (`#[cfg(test)] mod …`) are left out.

Usage: scripts/import-graph.py [crates-dir]; exit 1 with the circles listed when there are any.
"""
import os
import re
import sys
from collections import defaultdict

root = sys.argv[1] if len(sys.argv) > 1 else "crates"


def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#"(.*?)"#', '""', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def drop_tests(text):
    # Remove `#[cfg(test)] mod tests { ... }` blocks (brace matching).
    out = []
    i = 0
    while True:
        m = re.search(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text[i:])
        if not m:
            out.append(text[i:])
            break
        start = i + m.start()
        out.append(text[i:start])
        j = i + m.end()
        depth = 1
        while j < len(text) and depth:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        i = j
    return "".join(out)


def expand(tree):
    """Expands a use tree (without trailing ;) into full paths."""
    tree = tree.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [re.sub(r"\s+as\s+\w+$", "", tree).strip()]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            for e in expand(p):
                out.append(prefix + e if e != "self" else prefix.rstrip(":"))
    return out


def crate_graph(src):
    files = {}
    for dp, _, fns in os.walk(src):
        for fn in fns:
            if not fn.endswith(".rs"):
                continue
            path = os.path.join(dp, fn)
            rel = os.path.relpath(path, src)[:-3]
            parts = rel.split(os.sep)
            if parts[-1] in ("lib", "main") and len(parts) == 1:
                mod = ()
            elif parts[-1] == "mod":
                mod = tuple(parts[:-1])
            else:
                mod = tuple(parts)
            files[mod] = path
    # Only modules declared somewhere count (bins in src/bin etc. aside).
    mods = set(files)

    def children(mod):
        return {m[-1] for m in mods if len(m) == len(mod) + 1 and m[: len(mod)] == mod}

    def resolve(mod, path):
        segs = [s for s in path.split("::") if s]
        if not segs:
            return None
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] == "super":
            base = mod
            rest = segs
            while rest and rest[0] == "super":
                base = base[:-1]
                rest = rest[1:]
        elif segs[0] == "self":
            base, rest = mod, segs[1:]
        elif segs[0] in children(mod):
            base, rest = mod, segs
        else:
            return None
        cur = base
        for s in rest:
            if cur + (s,) in mods:
                cur = cur + (s,)
            else:
                break
        return cur

    edges = defaultdict(set)
    for mod, path in files.items():
        text = drop_tests(strip(open(path, encoding="utf-8").read()))
        refs = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            refs.extend(expand(m.group(1)))
        for m in re.finditer(r"\b((?:crate|super|self|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
            refs.append(m.group(1))
        for r in refs:
            t = resolve(mod, r.strip())
            if t is None or t == mod:
                continue
            # A module naming its own descendant through `mod` declarations is not a use.
            edges[mod].add(t)
    return files, edges


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


bad = 0
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, "src")
    if not os.path.isdir(src):
        continue
    files, edges = crate_graph(src)
    for comp in sccs(list(files), edges):
        bad += 1
        names = sorted(os.path.relpath(files[m], root) for m in comp)
        print(f"circle in {crate}: " + " <-> ".join(names))
        for m in comp:
            for t in sorted(edges[m]):
                if t in comp:
                    print(f"    {os.path.relpath(files[m], root)} -> {os.path.relpath(files[t], root)}")
print(f"import graph: {bad} circle(s) between files")
sys.exit(1 if bad else 0)
