#!/usr/bin/env python3
"""The layers hold (docs/ARCHITECTURE.md section 2), read from the #includes.

1. Nothing below calls up: proto -> broker -> router -> node -> tools, and
   router/ includes no header of the project's other directories.
2. The include graph of node/'s modules, and of broker/'s, has no cycle (a module is a file's
   name without .c/.h; X_internal.h is module X's private header).

Usage: layers.py SOURCE_ROOT. Prints what is wrong; exit 0 when nothing is."""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else '.'
order = ['broker', 'router', 'node', 'tools']
# Who may include whom (besides itself and the generated proto headers).
allowed = {'broker': set(), 'router': set(), 'node': {'broker', 'router'},
           'tools': {'broker', 'router', 'node'}}


def sources(d):
    for base, _, files in os.walk(os.path.join(root, d)):
        for f in files:
            if f.endswith(('.c', '.h')):
                yield os.path.join(base, f)


def includes(path):
    with open(path, errors='replace') as f:
        for line in f:
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                yield os.path.basename(m.group(1))


headers = {d: {os.path.basename(p) for p in sources(d) if p.endswith('.h')} for d in order}
problems = []
for d in order:
    for p in sources(d):
        own = {os.path.basename(q) for q in sources(os.path.dirname(os.path.relpath(p, root)))}
        for h in includes(p):
            if h in own or h in headers[d]:
                continue
            homes = [o for o in order if h in headers[o]]
            if homes and not set(homes) & (allowed[d] | {d}):
                problems.append(f'{os.path.relpath(p, root)} includes {homes[0]}/{h}: '
                                f'{d}/ may not use {homes[0]}/')


def module(f):
    name = os.path.basename(f)[:-2]
    return name[:-len('_internal')] if name.endswith('_internal') else name


def check_cycles(d):
    graph = {}
    for p in sources(d):
        for h in includes(p):
            if h in headers[d] and module(h) != module(p):
                graph.setdefault(module(p), set()).add(module(h))
    # Tarjan's strongly connected components: any with two modules is a cycle.
    index, low, stack, on, counter = {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
                problems.append(f'{d}/ include cycle: ' + ' <-> '.join(sorted(comp)))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return graph


sys.setrecursionlimit(10000)
graphs = {d: check_cycles(d) for d in ('broker', 'node')}

for p in problems:
    print(p, file=sys.stderr)
for d, graph in graphs.items():
    edges = sum(len(s) for s in graph.values())
    cyclic = any(p.startswith(f'{d}/ include cycle') for p in problems)
    print(f'{d}/: {len({module(p) for p in sources(d)})} modules, {edges} include edges, '
          f'{"cycles" if cyclic else "no cycle"}')
print(f'{len(problems)} problem(s)')
sys.exit(1 if problems else 0)
