#!/usr/bin/env python3
"""Reads `strace -f` output and reports the system calls the Parley worker made after its
seccomp filter was loaded. Usage: derive-syscalls.py ALLOW_LIST TRACE...

A worker is a process whose execve/execveat has argv exactly ["parley-enclave"] (the sandbox
probe, launched the same way in some tests, has more arguments and is left out). Its threads are
the children its clone calls return, transitively. For the worker's first thread only calls after
the successful seccomp(SECCOMP_SET_MODE_FILTER, ...) count; every call of its other threads does
(they start after lock-down). ALLOW_LIST has one "name decision" line per rule
(`parley-sandbox-probe allow-list --names`). Exit status 1 if a worker used a call not allowed."""
import collections
import re
import sys

CALL = re.compile(r'^(\d+)\s+(\w+)\((.*)$')
RESUMED = re.compile(r'^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$')
RESULT = re.compile(r'\)\s+=\s+(-?\d+|\?)(?:\s+(E[A-Z0-9]+))?')
ALLOWING = ('allow', 'fail', 'ignore', 'return')


def parse(path):
    """Yields (pid, name, text, is_start, is_end) per line."""
    for raw in open(path, errors='replace'):
        m = CALL.match(raw)
        if m:
            yield int(m.group(1)), m.group(2), m.group(3), True, '<unfinished ...>' not in raw
            continue
        m = RESUMED.match(raw)
        if m:
            yield int(m.group(1)), m.group(2), m.group(3), False, True


def analyse(path, used, failed):
    workers = set()
    children = collections.defaultdict(list)
    for pid, name, text, start, end in parse(path):
        if name in ('execve', 'execveat') and start and '["parley-enclave"]' in text:
            workers.add(pid)
        if name in ('clone', 'clone3') and end:
            r = RESULT.search(text)
            if r and r.group(1) != '?' and int(r.group(1)) > 0:
                children[pid].append(int(r.group(1)))
    owned = set()
    stack = list(workers)
    while stack:
        p = stack.pop()
        for c in children.get(p, []):
            if c not in owned and c not in workers:
                owned.add(c)
                stack.append(c)
    filtered = {w: False for w in workers}
    pending = {}
    for pid, name, text, start, end in parse(path):
        if pid in filtered and not filtered[pid]:
            # The filter call may be split in two lines ("<unfinished ...>", "<... seccomp resumed>").
            if name == 'seccomp' and start:
                pending[pid] = 'SECCOMP_SET_MODE_FILTER' in text
            if name == 'seccomp' and end and pending.get(pid) and re.search(r'\)\s+=\s+0\b', text):
                filtered[pid] = True
            continue
        if pid not in filtered and pid not in owned:
            continue
        if start:
            used[name] += 1
        if end:
            r = RESULT.search(text)
            if r and r.group(2):
                failed[(name, r.group(2))] += 1
    return len(workers)


def main():
    allow_path, traces = sys.argv[1], sys.argv[2:]
    decisions = {}
    for line in open(allow_path):
        if line.strip():
            name, decision = line.split(None, 1)
            decisions[name] = decision.strip()
    used, failed = collections.Counter(), collections.Counter()
    workers = sum(analyse(path, used, failed) for path in traces)
    print(f"workers traced: {workers}")
    print("\nsystem calls the workers made after lock-down (calls, rule):")
    for name, count in sorted(used.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {name:22} {count:9}  {decisions.get(name, 'NOT ON THE LIST: the default action')}")
    print("\nfailed calls (name, errno, count):")
    for (name, err), count in sorted(failed.items()):
        print(f"  {name:22} {err:10} {count}")
    allowed = {n for n, d in decisions.items() if d.startswith(ALLOWING)}
    unused = sorted(allowed - set(used))
    missing = sorted(n for n in used if not decisions.get(n, '').startswith(ALLOWING))
    print("\nallowed but never used:", ' '.join(unused) or 'none')
    print("used but not allowed:", ' '.join(missing) or 'none')
    return 1 if missing or workers == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
