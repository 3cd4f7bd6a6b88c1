#!/usr/bin/python3
"""Checks a wsgate serve outcome log against the diagnosis table (for the
soak of tests/bench_serve.sh, and in ctest on the real-client log).

usage: check_soak.py SERVER_LOG DIAGS_JSON

Every outcome line must name a diag of the table with the table's class;
an HTTP status other than 101 must be the table's status of that diag; a
close code after the upgrade must be the table's (any valid client code
for an "echo" row, never 1011/1013); 1011 only with class internal; the
reason starts with the diag code; no live_blocks (leak) member and no leak
line.  Prints a JSON summary (lines, outcomes by diag, sessions with
faults injected, violations) and exits 1 when there is any violation."""
import json
import sys


def check(o, table):
    d = table.get(o.get('diag'))
    if not d:
        return 'diag not in the table'
    if o.get('class') != d['class']:
        return 'class is not the table\'s'
    hs, cc = o.get('http_status'), o.get('close_code')
    if hs not in (None, 101) and hs != d['http_status']:
        return f'status {hs} is not the table\'s {d["http_status"]}'
    if hs == 101 and cc is not None:
        if d['close_code'] == 'echo':
            if cc in (1011, 1013) or not (1000 <= cc <= 4999):
                return f'echoed close {cc}'
        elif cc != d['close_code']:
            return f'close {cc} is not the table\'s {d["close_code"]}'
    if cc == 1011 and d['class'] != 'internal':
        return '1011 without an internal diag'
    if o.get('reason') is not None and not o['reason'].startswith(o['diag']):
        return 'reason does not start with the diag'
    if o.get('live_blocks'):
        return 'session left memory allocated'
    return None


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    table = {d['code']: d for d in json.load(open(argv[2]))}
    by, lines, faulted, bad = {}, 0, 0, []
    for ln in open(argv[1]):
        ln = ln.strip()
        if not ln:
            continue
        try:
            o = json.loads(ln)
        except ValueError:
            bad.append(('not JSON', ln[:200]))
            continue
        if 'stats' in o:
            continue
        if 'leak' in o:
            bad.append(('leak', ln[:200]))
            continue
        lines += 1
        by[o.get('diag')] = by.get(o.get('diag'), 0) + 1
        if o.get('faults'):
            faulted += 1
        why = check(o, table)
        if why:
            bad.append((why, ln[:300]))
    for why, ln in bad[:20]:
        print(f'check_soak: {why}: {ln}', file=sys.stderr)
    print(json.dumps({'sessions': lines, 'with_faults': faulted,
                      'violations': len(bad), 'outcomes': by}))
    return 1 if bad or lines == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
