#!/usr/bin/env python3
# The import graph of modes/src at module granularity (a top-level module; io/<sub> for
# io), printing every strongly connected set of more than one module with its links:
# what the layering leaves as cycles.  Usage: scripts/imports.py [modes/src] [-v]
import re, sys, pathlib, itertools
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else 'modes/src')
def mod_of(rel):
    parts = rel.with_suffix('').parts
    if parts[0] in ('lib','loom_tests'): return None
    if parts[0] == 'io' and len(parts) > 1 and parts[1] not in ('mod',):
        return 'io/' + parts[1]
    return parts[0]
edges = {}
for p in root.rglob('*.rs'):
    rel = p.relative_to(root); m = mod_of(rel)
    if m is None: continue
    src = p.read_text()
    # drop test modules roughly: skip files named tests.rs
    if rel.name == 'tests.rs': continue
    for t in re.findall(r'crate::([a-z_]+)(?:::([a-z_]+))?', src):
        top = t[0]
        if top in ('loom',): continue
        tgt = 'io/' + t[1] if top == 'io' and t[1] and (root/'io'/(t[1]+'.rs')).exists() or (top=='io' and t[1] and (root/'io'/t[1]).is_dir()) else top
        if tgt != m: edges.setdefault(m, set()).add(tgt)
    # super:: inside io/<sub> pointing to io
nodes = set(edges) | set(itertools.chain.from_iterable(edges.values()))
index = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
def sc(v):
    index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
sys.setrecursionlimit(10000)
for v in sorted(nodes):
    if v not in index: sc(v)
for comp in sccs:
    if len(comp) > 1:
        print('cycle:', sorted(comp))
        for a in sorted(comp):
            print('   ', a, '->', sorted(x for x in edges.get(a, ()) if x in comp))
if '-v' in sys.argv:
    for a in sorted(edges): print(a, '->', sorted(edges[a]))
