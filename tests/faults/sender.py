#!/usr/bin/env python3
"""sender - send N uniquely numbered messages to a mix of aliases, the way a
real sending MTA would: a 4xx answer (at any stage) means "try again later",
a 5xx means "refused for good".

usage: sender.py HOST:PORT PLAN OUT N CONNECTIONS DEADLINE_SECONDS
PLAN: lines "kind<TAB>address<TAB>owner" (kind active|disabled|unknown).
OUT:  lines "id<TAB>kind<TAB>address<TAB>owner<TAB>outcome<TAB>tries" with
outcome accepted | rejected CODE | gave-up CODE.  Prints a summary line.
"""
import random
import smtplib
import socket
import sys
import threading
import time

hostport, plan_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
total, conns, deadline = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
host, port = hostport.rsplit(':', 1)
port = int(port)

plan = [line.rstrip('\n').split('\t') for line in open(plan_path) if line.strip()]
rng = random.Random(20261122)
jobs = [(i, *plan[rng.randrange(len(plan))]) for i in range(1, total + 1)]
lock = threading.Lock()
results = []
stats = {'tempfail': 0, 'connfail': 0}
end = time.monotonic() + deadline


def message(i, rcpt):
    return ('From: Shop <news@shop.example>\r\n'
            'To: <%s>\r\n'
            'Subject: fault test %d\r\n'
            'Message-ID: <fault-%d@shop.example>\r\n'
            'X-Fault-Id: %d\r\n'
            'MIME-Version: 1.0\r\n'
            'Content-Type: text/plain; charset=us-ascii\r\n'
            '\r\n'
            'Message number %d of the fault test.\r\n' % (rcpt, i, i, i, i)
            ).encode()


def send_one(client, i, rcpt):
    """None when accepted, else (code, permanent)"""
    code, msg = client.mail('news@shop.example')
    if code >= 400:
        return code, code >= 500
    code, msg = client.rcpt(rcpt)
    if code >= 400:
        client.rset()
        return code, code >= 500
    code, msg = client.data(message(i, rcpt))
    if code >= 400:
        return code, code >= 500
    return None


def worker(queue):
    client = None
    while True:
        with lock:
            if not queue:
                break
            job = queue.pop()
        i, kind, rcpt, owner = job
        tries = 0
        outcome = None
        while outcome is None:
            tries += 1
            try:
                if client is None:
                    client = smtplib.SMTP(host, port, timeout=120)
                    client.ehlo('sender.shop.example')
                r = send_one(client, i, rcpt)
                if r is None:
                    outcome = 'accepted'
                elif r[1]:
                    outcome = 'rejected %d' % r[0]
                else:
                    with lock:
                        stats['tempfail'] += 1
                    # Like an MTA, retry later on a new session: Postfix
                    # keeps a failed milter off for the rest of a session.
                    try:
                        client.quit()
                    except Exception:
                        pass
                    client = None
            except (smtplib.SMTPException, OSError, socket.timeout):
                with lock:
                    stats['connfail'] += 1
                try:
                    if client is not None:
                        client.close()
                except Exception:
                    pass
                client = None
            if outcome is None:
                if time.monotonic() > end:
                    outcome = 'gave-up'
                    break
                time.sleep(min(0.1 * tries, 1.0))
        with lock:
            results.append((i, kind, rcpt, owner, outcome, tries))
    if client is not None:
        try:
            client.quit()
        except Exception:
            pass


queue = list(reversed(jobs))
threads = [threading.Thread(target=worker, args=(queue,)) for _ in range(conns)]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
with open(out_path, 'w') as f:
    for r in sorted(results):
        f.write('\t'.join(str(x) for x in r) + '\n')
acc = sum(1 for r in results if r[4] == 'accepted')
print('sent=%d accepted=%d rejected=%d gave_up=%d tempfail_answers=%d '
      'connection_failures=%d seconds=%.1f' % (
          len(results), acc,
          sum(1 for r in results if r[4].startswith('rejected')),
          sum(1 for r in results if r[4] == 'gave-up'),
          stats['tempfail'], stats['connfail'], elapsed))
