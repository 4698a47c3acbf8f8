#!/usr/bin/env python3
"""oracle - compare what the sender was told with what the sink received.

usage: oracle.py SENT SINKDIR
Prints TAP lines for each property and the counts; exit 1 on any failure.
"""
import collections
import os
import re
import sys

sent_path, sink = sys.argv[1], sys.argv[2]
sent = {}
for line in open(sent_path):
    i, kind, rcpt, owner, outcome, tries = line.rstrip('\n').split('\t')
    sent[int(i)] = (kind, rcpt, owner, outcome)

got = collections.defaultdict(list)     # id -> [envelope recipients]
stray = 0
notices = 0
for root, _, files in os.walk(sink):
    for name in files:
        with open(os.path.join(root, name), 'rb') as f:
            data = f.read()
        m = re.search(rb'^X-Fault-Id: (\d+)', data, re.M)
        rcpts = re.findall(rb'^X-Rcpt-Args: <([^>]*)>', data, re.M)
        if not m:
            # Postfix's own notices to postmaster (notify_classes) are
            # expected while maps fail; anything else is a stray.
            if rcpts and all(r.lower().startswith(b'postmaster@')
                             for r in rcpts):
                notices += 1
            else:
                stray += 1
            continue
        got[int(m.group(1))].append(
            b','.join(rcpts).decode('latin-1').lower())

n = 0
failed = 0


def check(cond, text):
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', n, text))
    if not cond:
        failed += 1


active = [i for i, s in sent.items() if s[0] == 'active']
lost = [i for i in active if len(got.get(i, [])) == 0]
dups = [i for i in active if len(got.get(i, [])) > 1]
wrong = [i for i in active if got.get(i) and any(r != sent[i][2].lower()
                                                 for r in got[i])]
refused_active = [i for i in active if sent[i][3].startswith('rejected')]
gave_up = [i for i, s in sent.items() if s[3] == 'gave-up']
leaked = [i for i, s in sent.items() if s[0] != 'active' and got.get(i)]
unknown_accepted = [i for i, s in sent.items()
                    if s[0] == 'unknown' and s[3] == 'accepted']

print('# messages: %d (active %d, disabled %d, unknown %d)' % (
    len(sent), len(active), sum(1 for s in sent.values() if s[0] == 'disabled'),
    sum(1 for s in sent.values() if s[0] == 'unknown')))
print('# delivered: %d files, lost %d, duplicated %d, wrong recipient %d, '
      'leaked %d, stray %d, postmaster notices %d' % (
          sum(len(v) for v in got.values()), len(lost), len(dups), len(wrong),
          len(leaked), stray, notices))
print('# counts: delivered=%d lost=%d duplicated=%d wrong=%d leaked=%d' % (
    sum(len(v) for v in got.values()), len(lost), len(dups), len(wrong),
    len(leaked)))
check(not gave_up, 'every message got a final answer (%d gave up)' % len(gave_up))
check(not refused_active, 'no active alias refused with 5xx (%d)' % len(refused_active))
check(not lost, 'every message to an active alias delivered (%d lost: %s)' %
      (len(lost), lost[:10]))
check(not dups, 'none delivered twice (%d)' % len(dups))
check(not wrong, 'none delivered to the wrong person (%d)' % len(wrong))
check(not leaked, 'none to disabled or unknown aliases delivered (%d)' % len(leaked))
check(not unknown_accepted, 'unknown aliases refused (%d accepted)' % len(unknown_accepted))
check(stray == 0, 'no stray delivery (%d)' % stray)
print('1..%d' % n)
sys.exit(1 if failed else 0)
