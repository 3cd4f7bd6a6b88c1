#!/usr/bin/python3
"""Checks that wsgate serve's outcome log agrees, session by session, with
what the clients saw.

usage: check_log.py SERVER_LOG CLIENT_RESULTS... [--diags DIAGS_JSON]

Each client result line names its peer (the client's local address) and
what the client saw: the diagnosis it expected, the HTTP status, the close
code and reason, and optionally the number of replies.  For each, one server
outcome line of its own must have that peer and the same diag, http_status,
close_code and reason (and messages, when given).  A peer address can come
back: the kernel may give a later connection the local port of one that has
closed (seen in a run: two sessions from 127.0.0.1:47036), so the lines of a
peer are matched to its client sessions one to one, each line used once;
more client sessions than server lines for a peer is a disagreement.  With --diags (the output
of `wsgate diags --json`), every outcome line must also use a code of the
table with its class, and a close 1011 only with class internal."""
import json
import sys


def main(argv):
    args, diags_path = [], None
    i = 1
    while i < len(argv):
        if argv[i] == '--diags':
            if i + 1 >= len(argv):
                return usage()
            diags_path = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) < 2:
        return usage()
    outcomes = {}
    bad = 0
    with open(args[0]) as f:
        for ln in f:
            ln = ln.strip()
            if not ln:
                continue
            try:
                j = json.loads(ln)
            except ValueError:
                print(f'check_log: server log line is not JSON: {ln[:200]}')
                bad += 1
                continue
            if 'stats' in j or 'leak' in j:
                if 'leak' in j:
                    print(f'check_log: leak: {ln}')
                    bad += 1
                continue
            outcomes.setdefault(j.get('peer'), []).append(j)
    if diags_path:
        table = {d['code']: d for d in json.load(open(diags_path))}
        for lst in outcomes.values():
            for o in lst:
                d = table.get(o.get('diag'))
                if not d:
                    print(f'check_log: diag not in the table: {o}')
                    bad += 1
                elif d['class'] != o.get('class'):
                    print(f'check_log: class differs from the table: {o}')
                    bad += 1
                elif o.get('close_code') == 1011 and d['class'] != 'internal':
                    print(f'check_log: 1011 without an internal diag: {o}')
                    bad += 1
    n = 0
    for path in args[1:]:
        with open(path) as f:
            for ln in f:
                if not ln.strip():
                    continue
                c = json.loads(ln)
                n += 1
                got = outcomes.get(c['peer'], [])
                name = f"{c.get('client')}/{c.get('case')}"
                keys = ['diag', 'http_status', 'close_code', 'reason']
                if c.get('messages') is not None:
                    keys.append('messages')
                if not got:
                    print(f'check_log: {name}: no server line for '
                          f'peer {c["peer"]} (or fewer than its sessions)')
                    bad += 1
                    continue
                match = next((o for o in got
                              if all(o.get(k) == c.get(k) for k in keys)),
                             None)
                if match is not None:
                    got.remove(match)
                    continue
                o = got.pop(0)
                for k in keys:
                    if o.get(k) != c.get(k):
                        print(f'check_log: {name}: {k}: server says '
                              f'{o.get(k)!r}, client saw {c.get(k)!r}')
                        bad += 1
    print(f'check_log: {n} client sessions, {bad} disagreement(s)')
    return 1 if bad or n == 0 else 0


def usage():
    print('usage: check_log.py SERVER_LOG CLIENT_RESULTS... '
          '[--diags DIAGS_JSON]', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
