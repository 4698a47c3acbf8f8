#!/usr/bin/env python3
"""load - a steady mixed load on the whole system, for rss.test.

usage: load.py DASH SMTP POSTMAPD TOKEN STATE LOOKUPS MESSAGES REQUESTS CREATES

DASH, SMTP, POSTMAPD: host:port of bipostal-dash, Postfix's smtpd and
bipostal-postmapd; TOKEN: a user's bearer token; STATE: a file that keeps
the aliases made so far, from one run to the next.  In this order:

 - REQUESTS HTTP requests to bipostal-dash with TOKEN: CREATES aliases
   created (the first run needs at least 22), the others listed, read,
   changed, the queue, the user, and refused ones (404, 400, 401);
 - LOOKUPS socketmap requests to bipostal-postmapd on a few connections:
   active, disabled, unknown and reply keys, one malformed frame in 50
   (which costs its connection);
 - MESSAGES messages through Postfix and bipostal-milter with Postfix's
   smtp-source, about 8 sessions at a time, spread over 20 active aliases
   and the disabled one (the first alias STATE holds, disabled by the
   first run: its mail is taken and dropped).

Prints one line of counts; exit 1 if anything answered other than
expected (each kind of answer is checked, not just counted).
"""
import base64
import http.client
import json
import os
import socket
import subprocess
import sys

dash, smtp, pmd, token, state = sys.argv[1:6]
lookups, messages, requests, creates = (int(x) for x in sys.argv[6:10])
bad = []


class Dash:
    """keep-alive HTTP to bipostal-dash"""

    def __init__(self):
        host, port = dash.rsplit(':', 1)
        self.host, self.port = host, int(port)
        self.c = None
        self.token = None

    def do(self, method, path, body=None, auth=None):
        hdrs = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs['Content-Type'] = 'application/json'
        if auth is None and self.token:
            auth = 'Bearer ' + self.token
        if auth:
            hdrs['Authorization'] = auth
        for attempt in (1, 2):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=30)
                self.c.request(method, path, body=data, headers=hdrs)
                r = self.c.getresponse()
                b = r.read()
                if r.getheader('Connection', '').lower() == 'close':
                    self.c.close()
                    self.c = None
                return r.status, b
            except (http.client.HTTPException, OSError):
                self.c = None
                if attempt == 2:
                    raise


def expect(what, got, want):
    if got not in want:
        bad.append('%s: %r' % (what, got))


def http_load(d, tokens):
    made = 0
    for i in range(requests):
        k = i % 9
        if made < creates and (i % max(1, requests // creates) == 0 or
                               requests - i <= creates - made):
            st, b = d.do('POST', '/v1/aliases',
                         {'origin': 'site%d.example' % len(tokens)})
            expect('create', st, (200, 201))
            tokens.append(json.loads(b)['token'])
            made += 1
        elif k == 0:
            st, _ = d.do('GET', '/v1/aliases')
            expect('list', st, (200,))
        elif k in (1, 2):
            st, _ = d.do('GET', '/v1/aliases/' + tokens[i % len(tokens)])
            expect('get', st, (200,))
        elif k == 3:
            st, _ = d.do('PATCH', '/v1/aliases/' + tokens[i % len(tokens)],
                         {'context': base64.b64encode(os.urandom(48)).decode()})
            expect('patch', st, (200,))
        elif k == 4:
            st, _ = d.do('GET', '/v1/queue?limit=10')
            expect('queue', st, (200,))
        elif k == 5:
            st, _ = d.do('GET', '/v1/me')
            expect('me', st, (200,))
        elif k == 6:
            st, _ = d.do('GET', '/v1/aliases/' + 'q' * 50)
            expect('unknown alias', st, (404,))
        elif k == 7:
            st, _ = d.do('POST', '/v1/aliases', {'origin': 12})
            expect('bad origin', st, (400,))
        else:
            st, _ = d.do('GET', '/v1/aliases', auth='Bearer x.y.z')
            expect('bad token', st, (401,))


def ns(b):
    return b'%d:%s,' % (len(b), b)


def lookup_load(keys):
    """keys: [(key, wanted reply prefix)]"""
    host, port = pmd.rsplit(':', 1)
    s = None
    f = None
    for i in range(lookups):
        if s is None:
            s = socket.create_connection((host, int(port)), timeout=30)
            f = s.makefile('rb')
        if i % 50 == 49:
            s.sendall(b'05:alias,')		# malformed: the daemon hangs up
            expect('bad frame', f.read(), (b'',))
            s.close()
            s = None
            continue
        key, want = keys[i % len(keys)]
        s.sendall(ns(key))
        head = b''
        while not head.endswith(b':'):
            c = f.read(1)
            if not c:
                break
            head += c
        n = int(head[:-1] or b'0')
        reply = f.read(n + 1)[:-1]
        if not reply.startswith(want):
            bad.append('lookup %r: %r' % (key[:20], reply))
    if s is not None:
        s.close()


def mail_load(aliases, disabled):
    """smtp-source: 8 sessions, the messages spread over the aliases"""
    host, port = smtp.rsplit(':', 1)
    targets = aliases[:20] + [disabled]
    per = max(1, messages // len(targets))
    procs = []
    for i, rcpt in enumerate(targets):
        procs.append(subprocess.Popen(
            ['smtp-source', '-s', '2', '-m', str(per), '-l', '3000',
             '-f', 'news@shop.example', '-t', rcpt, '-M', 'site.example',
             '%s:%s' % (host, port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        if len(procs) >= 4:		# about 8 sessions at a time
            p = procs.pop(0)
            out = p.communicate()[0]
            if p.returncode != 0:
                bad.append('smtp-source: %r' % out[-200:])
    for p in procs:
        out = p.communicate()[0]
        if p.returncode != 0:
            bad.append('smtp-source: %r' % out[-200:])
    return per * len(targets)


def main():
    d = Dash()
    d.token = token
    tokens = []
    if os.path.exists(state):
        tokens = open(state).read().split()
    first = not tokens
    http_load(d, tokens)
    with open(state, 'w') as f:
        f.write('\n'.join(tokens) + '\n')
    if len(tokens) < 22:
        print('# load: the first run must create at least 22 aliases')
        return 1
    domain = 'alias.test'
    aliases = ['%s@%s' % (t, domain) for t in tokens]
    # the first alias disabled (discard): mail to it is taken and dropped
    if first:
        st, _ = d.do('PATCH', '/v1/aliases/' + tokens[0],
                     {'status': 'inactive'})
        expect('disable', st, (200,))
    keys = [(b'alias ' + a.encode(), b'OK ') for a in aliases[1:31]]
    keys += [(b'alias ' + ('q' * 50 + '@' + domain).encode(), b'NOTFOUND'),
             (b'reply ' + ('r' * 50 + '@' + domain).encode(), b'NOTFOUND'),
             (b'alias ' + aliases[0].encode(), b'OK '),	# disabled: a sink
             (b'nomap x', b'PERM')]
    lookup_load(keys)
    sent = mail_load(aliases[1:], aliases[0])
    print('# load: %d HTTP requests (%d aliases made), %d socketmap lookups, '
          '%d messages through Postfix, %d unexpected answers' % (
              requests, creates, lookups, sent, len(bad)))
    for b in bad[:10]:
        print('#   %s' % b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
