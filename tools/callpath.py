#!/usr/bin/env python3
"""Which modules one request passes through, and in which direction.

Reads `uftrace replay -f addr` output of an instrumented gridrelayd (tools/
callpath.sh records one), takes the N-th call of FUNCTION with everything it
called, maps each function to its source file (the symbol's start address,
through addr2line, so that inlined helpers count for the function they are
in) and prints:

  - the files entered, and the cross-file calls between them (caller file ->
    callee file, how often);
  - "stays": the sequence of files execution is in, one entry per change of
    file, calls and returns alike, and how many of those go back to a file
    already left (issue 12's measure of back and forth);
  - the pairs of files that call each other both ways (none means every
    call on the path goes one way, down the layers).

Generated protobuf-c code and libraries are left out.

Usage: callpath.py BINARY REPLAY LOAD_BASE_HEX FUNCTION N [--edges]"""
import bisect
import collections
import re
import subprocess
import sys


def main(argv):
    if len(argv) < 6 or argv[1] in ('-h', '--help'):
        print(__doc__)
        return 0 if len(argv) > 1 and argv[1] in ('-h', '--help') else 2
    binary, replay, base, function, nth = argv[1], argv[2], int(argv[3], 16), argv[4], int(argv[5])
    events = []  # (kind: enter / leaf / exit, address, depth, name)
    for line in open(replay):
        m = re.match(r'\s*([0-9a-f]+) \|(\s*)(.*)$', line.rstrip('\n'))
        if not m:
            continue
        addr, depth, text = int(m.group(1), 16), len(m.group(2)), m.group(3)
        if text.startswith('}'):
            events.append(('exit', addr, depth, ''))
        else:
            events.append(('enter' if text.endswith('{') else 'leaf', addr, depth,
                           text.split('(')[0]))
    starts = [i for i, e in enumerate(events) if e[0] != 'exit' and e[3] == function]
    if len(starts) < nth:
        print(f'callpath: {function} is called {len(starts)} times in {replay}', file=sys.stderr)
        return 1
    first = starts[nth - 1]
    segment = [events[first]]
    if events[first][0] == 'enter':
        for e in events[first + 1:]:
            segment.append(e)
            if e[2] <= events[first][2]:
                break

    symbols = []
    nm = subprocess.run(['nm', '-n', binary], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'tTwW':
            symbols.append(int(p[0], 16))
    addrs = sorted({e[1] for e in segment if e[0] != 'exit'})
    sym_of = [symbols[bisect.bisect_right(symbols, a - base) - 1] for a in addrs]
    lines = subprocess.run(['addr2line', '-f', '-e', binary] + [hex(s) for s in sym_of],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    file_of = {}
    for i, a in enumerate(addrs):
        m = re.search(r'/(broker|router|node|tools)/([^/:]+)\.c:', lines[2 * i + 1])
        file_of[a] = f'{m.group(1)}/{m.group(2)}' if m else None

    stack, stays, edges = [], [], collections.Counter()

    def inside():
        return next((f for f in reversed(stack) if f), None)

    def stay(f):
        if f and (not stays or stays[-1] != f):
            stays.append(f)

    for kind, addr, _, _ in segment:
        if kind == 'exit':
            if stack:
                stack.pop()
            stay(inside())
            continue
        f, caller = file_of[addr], inside()
        if f and caller and caller != f:
            edges[(caller, f)] += 1
        stay(f)
        if kind == 'enter':
            stack.append(f)
        else:
            stay(caller)
    returns, seen, prev = 0, set(), None
    for f in stays:
        returns += f in seen and f != prev
        seen.add(f)
        prev = f
    both = sorted({tuple(sorted(p)) for p in edges if (p[1], p[0]) in edges})
    print(f'{function} (call {nth}): {len(seen)} files, {sum(edges.values())} cross-file calls '
          f'over {len(edges)} caller -> callee pairs')
    print(f'stays: {len(stays)}, of which {returns} go back to a file already left')
    print('pairs calling each other both ways: ' +
          (', '.join(f'{a} <-> {b}' for a, b in both) if both else 'none'))
    if '--edges' in argv:
        for (a, b), n in sorted(edges.items()):
            print(f'  {a} -> {b}: {n}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
