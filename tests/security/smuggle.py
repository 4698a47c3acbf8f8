#!/usr/bin/env python3
"""smuggle - SMTP smuggling attempts through Postfix + bipostal-milter.

usage: smuggle.py HOST:PORT ALIAS1 ALIAS2 SINKDIR MAILLOG OWNER1 OWNER2

First, for each variant of a bare end-of-data (\\n.\\n, \\n.\\r\\n,
\\r\\n.\\n, \\r.\\r and two more), one session from outside mynetworks:
MAIL, RCPT ALIAS1, DATA, then in one write a message whose body carries,
after the bare end-of-data, a second transaction (MAIL FROM the
smuggler, RCPT ALIAS2, DATA, a message with a unique marker), the real
end of data and QUIT.  Then a control session sends the same second
transaction properly, so ALIAS2 is shown to be deliverable.  TAP about
Postfix's replies.

Then, once the sink holds every accepted message (and a few seconds
more, for anything smuggled), it reads the delivered files (smtp-sink's, one per message, with
X-Rcpt-Args) and prints TAP: each attempt delivered exactly once, as one
message, to OWNER1; no delivered message has a smuggled marker in its
own header; OWNER2 got the control message and nothing else; Postfix
never saw a transaction from the smuggler.  Exit 1 on any failure.
"""
import os
import re
import socket
import sys
import time

from taplib import Tap

VARIANTS = [('LF.LF', b'\n.\n'), ('LF.CRLF', b'\n.\r\n'),
            ('CRLF.LF', b'\r\n.\n'), ('CR.CR', b'\r.\r'),
            ('CR.CRLF', b'\r.\r\n'), ('CRLF.CR', b'\r\n.\r')]
SMUGGLER = 'smuggler@evil.example'
tap = Tap()


class Session:
    def __init__(self, hostport):
        host, port = hostport.rsplit(':', 1)
        self.s = socket.create_connection((host, int(port)), timeout=30)
        self.f = self.s.makefile('rb')

    def reply(self):
        text = b''
        while True:
            line = self.f.readline()
            if not line:
                return text.decode('latin-1') or 'CLOSED'
            text += line
            if line[3:4] != b'-':
                return text.decode('latin-1').strip()

    def cmd(self, line):
        self.s.sendall(line.encode() + b'\r\n')
        return self.reply()

    def rest(self):
        """every reply until the server closes"""
        out = []
        while True:
            r = self.reply()
            if r == 'CLOSED':
                return out
            out.append(r)

    def close(self):
        self.s.close()


def smuggled(alias2, marker):
    return ('MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n'
            'From: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@evil.example>\r\n'
            '\r\n%s\r\n.\r\n' % (SMUGGLER, alias2, SMUGGLER, marker, marker,
                                 marker)).encode()


def opening(sess, alias1):
    """greeting, EHLO, MAIL, RCPT, DATA; the replies"""
    return [sess.reply(), sess.cmd('EHLO outside.example'),
            sess.cmd('MAIL FROM:<news@shop.example>'),
            sess.cmd('RCPT TO:<%s>' % alias1), sess.cmd('DATA')]


def send(hostport, alias1, alias2):
    sent = {'variants': [], 'control': None}
    for name, eod in VARIANTS:
        marker = 'SMUGGLED-%s-%s' % (name, os.urandom(6).hex())
        visible = 'visible-%s-%s' % (name, os.urandom(6).hex())
        sess = Session(hostport)
        first = opening(sess, alias1)
        good = (first[0].startswith('220') and first[2].startswith('250') and
                first[3].startswith('250') and first[4].startswith('354'))
        tap(good, '%s: the first transaction opens (220, 250, 250, 354)' %
            name, first)
        sess.s.sendall(('From: Shop <news@shop.example>\r\nSubject: %s\r\n'
                        '\r\nhello' % visible).encode() + eod +
                       smuggled(alias2, marker) + b'QUIT\r\n')
        rest = sess.rest()
        sess.close()
        # One final answer to the one message (250 queued, or a refusal of
        # the bare newline), then the 221 to QUIT; none to MAIL, RCPT or
        # DATA of the smuggled transaction.
        good = (len(rest) == 2 and
                re.match(r'(250 2\.0\.0 Ok: queued as \w+|5\d\d 5\.5\.2 '
                         r'.*bare <LF>)', rest[0]) is not None and
                rest[1].startswith('221'))
        tap(good, '%s: Postfix answers one message, then QUIT; nothing to '
            'the smuggled MAIL/RCPT/DATA' % name, rest)
        sent['variants'].append({'name': name, 'marker': marker,
                                 'visible': visible,
                                 'queued': rest[0].startswith('250')
                                 if rest else False})
    # control: the same second transaction, sent properly
    marker = 'CONTROL-%s' % os.urandom(6).hex()
    sess = Session(hostport)
    first = opening(sess, alias1)
    sess.s.sendall(b'Subject: control first\r\n\r\nfirst\r\n.\r\n')
    r1 = sess.reply()
    sess.s.sendall(smuggled(alias2, marker))
    r2 = [sess.reply() for _ in range(4)]
    sess.cmd('QUIT')
    sess.close()
    tap(r1.startswith('250 ') and [x[:3] for x in r2] ==
        ['250', '250', '354', '250'],
        'control: a proper second transaction to the second alias is '
        'accepted', [r1] + r2)
    sent['control'] = marker
    sent['accepted'] = (sum(1 for v in sent['variants'] if v['queued']) +
                        r1.startswith('250') + r2[3].startswith('250'))
    return sent


def header_of(msg):
    """the header section of a delivered file (smtp-sink's X- lines and
    the message's own header, up to the first empty line)"""
    return re.split(rb'\r?\n\r?\n', msg, maxsplit=1)[0]


def wait_sink(sink, want, seconds):
    """wait until sink holds want files; how many it holds"""
    end = time.monotonic() + seconds
    while True:
        have = len(os.listdir(sink)) if os.path.isdir(sink) else 0
        if have >= want or time.monotonic() > end:
            return have
        time.sleep(0.2)


def check(sent, sink, maillog, owner1, owner2):
    have = wait_sink(sink, sent['accepted'], 60)
    tap(have >= sent['accepted'], 'the %d accepted messages were delivered '
        '(%d files)' % (sent['accepted'], have))
    time.sleep(3)	# room for a smuggled message to arrive, if any
    files = []
    for name in sorted(os.listdir(sink)):
        with open(os.path.join(sink, name), 'rb') as f:
            data = f.read()
        rcpts = [r.decode('latin-1').lower() for r in
                 re.findall(rb'^X-Rcpt-Args: <([^>]*)>', data, re.M)]
        files.append((name, data, rcpts))
    print('# %d delivered files' % len(files))
    for v in sent['variants']:
        got = [f for f in files if v['visible'].encode() in header_of(f[1])]
        if v['queued']:
            tap(len(got) == 1 and got[0][2] == [owner1.lower()],
                '%s: delivered once, as one message, to the first user' %
                v['name'], [(g[0], g[2]) for g in got])
        else:
            tap(not got, '%s: refused, nothing delivered' % v['name'])
    own = [(f[0], f[2]) for f in files for v in sent['variants']
           if v['marker'].encode() in header_of(f[1])]
    tap(not own, 'no delivered message has a smuggled marker in its own '
        'header', own)
    second = [f for f in files if owner2.lower() in f[2]]
    ctrl = [f for f in second if sent['control'].encode() in header_of(f[1])]
    tap(len(ctrl) == 1, 'the second user got the control message once',
        [(f[0], f[2]) for f in second])
    tap(len(second) == len(ctrl), 'the second user got nothing else (%d '
        'messages)' % len(second), [f[0] for f in second if f not in ctrl])
    log = open(maillog, encoding='latin-1').read()
    tap(('from=<%s>' % SMUGGLER) not in log, 'Postfix never queued a message '
        'from the smuggler (maillog)')


def main():
    if len(sys.argv) != 8:
        print(__doc__.split('\n\n')[1], file=sys.stderr)
        return 2
    hostport, alias1, alias2, sink, maillog, owner1, owner2 = sys.argv[1:]
    sent = send(hostport, alias1, alias2)
    check(sent, sink, maillog, owner1, owner2)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
