#!/usr/bin/env python3
"""The include/call graph of Skiff's tree, checked against its floors.

Nodes are modules: a .c file and the .h of the same name are one module (net/ipv4.c +
net/ipv4.h = net/ipv4), and a protocol split into files by direction or concern is one
module too (GROUPS: net/tcp_in.c, tcp_out.c, ... = net/tcp; STYLE.md "one file per
protocol, split by direction when it grows"): input sends ACKs through output, output
arms timers, timers retransmit, so those files call each other by design. Edges:
  include  a file of module A includes a header of module B;
  call     an object of module A uses a symbol that B's object defines (from `nm` on the
           image's objects, so calls through macros and inline functions count too).
Every module sits on a floor (FLOORS below, docs/architecture.md draws them). The check
fails when an edge points up a floor or when any set of modules forms a circle; edges
inside one floor are allowed when they form no circle.

Usage: depgraph.py [--objs build/obj] [--dot FILE] [-v]   (make depgraph; make test runs it)
"""
import argparse
import os
import re
import subprocess
import sys

# (floor number, name, path regexes). First match wins; order matters.
FLOORS = [
    (9, "boot", [r"^boot/"]),
    (8, "composition", [r"^kernel/main(_net)?$"]),
    (7, "net apps", [r"^net/(dhcp|syslog|ping|tracepath|cmd|cmd_ip|cmd_util|cmd_capture|stack|http_.*)$"]),
    (6, "net L4", [r"^net/(udp|tcp|transport|gro)$"]),
    (5, "net L3", [r"^net/(route|dst|ipv4|icmp)$"]),
    (4, "net L2", [r"^net/(link|gso|qdisc|dql|fq_codel|neigh|arp|capture)$"]),
    (3, "net wire", [r"^net/(eth|wire|.*_wire|pkt_filter|pkt_print|pcapng)$"]),
    (3, "drivers", [r"^drivers/"]),
    (2, "net core", [r"^net/(config|err|platform|pkt|netdev|stats|checksum|inet|core|trace)$"]),
    (1, "kernel", [r"^kernel/"]),
    (0, "lib", [r"^lib/"]),
]

# Files that together are one module (regex on the path without extension -> module).
GROUPS = [
    (r"^net/tcp(_(?!wire$)[a-z]+)?$", "net/tcp"),
    (r"^net/ipv4_frag$", "net/ipv4"),
    (r"^net/trace$", "net/core"),       # the tracer is the core's: net_drop() ends traces
]

SRC_DIRS = ["lib", "kernel", "drivers", "net", "boot"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def floor_of(module):
    for num, name, pats in FLOORS:
        if any(re.search(p, module) for p in pats):
            return num, name
    return None, None


def sources(root):
    for d in SRC_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def module_of(path):
    mod = os.path.splitext(path)[0]
    for pat, group in GROUPS:
        if re.search(pat, mod):
            return group
    return mod


def include_edges(root):
    edges = set()
    for path in sources(root):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        for inc in INCLUDE_RE.findall(text):
            if os.path.exists(os.path.join(root, inc)):
                a, b = module_of(path), module_of(inc)
                if a != b:
                    edges.add((a, b, "include"))
    return edges


def nm_symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRGSVWC" and parts[1].isupper():
            defined.add(parts[2])
    return defined, undefined


def call_edges(root, objdir):
    owner, uses = {}, {}
    for path in sources(root):
        if not path.endswith(".c"):
            continue
        obj = os.path.join(objdir, os.path.splitext(path)[0] + ".o")
        if not os.path.exists(obj):
            continue
        defined, undefined = nm_symbols(obj)
        mod = module_of(path)
        for sym in defined:
            owner.setdefault(sym, mod)
        uses[mod] = undefined
    edges = set()
    for mod, undefined in uses.items():
        for sym in undefined:
            dst = owner.get(sym)
            if dst and dst != mod:
                edges.add((mod, dst, "call"))
    return edges, len(uses)


def cycles(nodes, adj):
    """Tarjan's strongly connected components; returns those with more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(adj.get(v, ())):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--objs", default="build/obj")
    ap.add_argument("--dot", help="also write the module graph as Graphviz")
    ap.add_argument("-v", action="store_true", help="print every edge")
    args = ap.parse_args()

    edges = include_edges(args.root)
    cedges, nobjs = call_edges(args.root, args.objs)
    if nobjs == 0:
        print(f"depgraph: no objects under {args.objs}: build the image first (make image)")
        return 2
    edges |= cedges
    nodes = {module_of(p) for p in sources(args.root)}
    adj = {}
    for a, b, _ in edges:
        adj.setdefault(a, set()).add(b)

    problems = 0
    unplaced = sorted(n for n in nodes if floor_of(n)[0] is None)
    for n in unplaced:
        print(f"UNPLACED  {n}: no floor in scripts/depgraph.py FLOORS")
        problems += 1
    up = sorted((a, b, k) for a, b, k in edges
                if None not in (floor_of(a)[0], floor_of(b)[0]) and floor_of(b)[0] > floor_of(a)[0])
    for a, b, kind in up:
        print(f"UPWARD    {a} ({floor_of(a)[1]}) -> {b} ({floor_of(b)[1]})  [{kind}]")
        problems += 1
    for comp in cycles(nodes, adj):
        print("CIRCLE    " + " <-> ".join(comp))
        problems += 1

    by_floor = {}
    for n in nodes:
        by_floor.setdefault(floor_of(n), []).append(n)
    for (num, name), mods in sorted(by_floor.items(), key=lambda kv: (-(kv[0][0] or -1), kv[0][1] or "")):
        short = ", ".join(sorted(m.split("/", 1)[1] for m in mods))
        print(f"floor {num if num is not None else '?'} {name or 'unplaced':12s} {len(mods):3d} modules: {short}")
    if args.v:
        for a, b, kind in sorted(edges):
            print(f"  {a} -> {b} [{kind}]")
    if args.dot:
        with open(args.dot, "w") as fh:
            fh.write("digraph skiff {\n  rankdir=TB;\n")
            for a, b, kind in sorted(edges):
                style = "dashed" if kind == "call" else "solid"
                fh.write(f'  "{a}" -> "{b}" [style={style}];\n')
            fh.write("}\n")
    ninc = sum(1 for e in edges if e[2] == "include")
    print(f"depgraph: {len(nodes)} modules, {ninc} include and {len(edges) - ninc} call edges "
          f"({nobjs} objects); {len(up)} upward, {problems - len(up) - len(unplaced)} circles"
          f"{', ' + str(len(unplaced)) + ' unplaced' if unplaced else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
