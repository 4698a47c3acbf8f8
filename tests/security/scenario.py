#!/usr/bin/env python3
"""scenario - one realistic pass over the whole system, every step checked.

usage: scenario.py DASH SMTP POSTMAPD SINKDIR ALIAS_DOMAIN POSTFIX_ETC
(DASH, SMTP, POSTMAPD: host:port of bipostal-dash, Postfix's smtpd and
bipostal-postmapd; SINKDIR: where the sink writes each delivered message;
POSTFIX_ETC: the private Postfix's configuration directory, for postmap.)

A user signs up and signs in over HTTP, creates three aliases, labels
one and disables another; sites mail them through Postfix and the
milter: plain text, an attachment (stripped, kept as a blob), HTML with a
text alternative, a JSON notification part, a 200 KB message, mail to the
disabled and to an unknown alias, two aliases in one transaction; the
user replies through a reply address (a stranger may not); the user reads
the queue, downloads the blob, follows the one-click unsubscribe link,
changes a setting, deletes an alias; Postfix's own client and raw
sockets ask bipostal-postmapd, with bad framing too.  Prints TAP, one
line per step; exit 1 if a step did not do what it should.  The
valgrind and RSS tests run it against their daemons.
"""
import base64
import json
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from taplib import Tap

tap = Tap()


def http(dash, method, path, body=None, token=None, basic=None,
         ctype='application/json'):
    """(status, bytes) of one request"""
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request('http://%s%s' % (dash, path), data=data,
                                 method=method)
    if data is not None:
        req.add_header('Content-Type', ctype)
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    if basic:
        req.add_header('Authorization', 'Basic ' + base64.b64encode(
            basic.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def jbody(b):
    try:
        return json.loads(b)
    except ValueError:
        return {}


def smtp_send(hostport, sender, rcpts, msg):
    """the last reply code of one transaction (after DATA if it got there)"""
    host, port = hostport.rsplit(':', 1)
    with smtplib.SMTP(host, int(port), timeout=120) as c:
        c.ehlo('site.example')
        code, _ = c.mail(sender)
        if code >= 400:
            return code
        for r in rcpts:
            code, _ = c.rcpt(r)
            if code >= 400:
                return code
        code, _ = c.data(msg)
        return code


def mime(subject, parts, sender='Shop <news@shop.example>', rcpt='x'):
    """a multipart/mixed message (parts: (type, encoding, payload))"""
    b = 'b-%s' % os.urandom(4).hex()
    out = ['From: %s' % sender, 'To: <%s>' % rcpt, 'Subject: %s' % subject,
           'Message-ID: <%s@shop.example>' % os.urandom(6).hex(),
           'MIME-Version: 1.0',
           'Content-Type: multipart/mixed; boundary="%s"' % b, '']
    for ctype, enc, payload in parts:
        out += ['--' + b, 'Content-Type: ' + ctype]
        if enc:
            out.append('Content-Transfer-Encoding: ' + enc)
        out += ['', payload]
    out += ['--%s--' % b, '']
    return '\r\n'.join(out)


def plain(subject, body, sender='Shop <news@shop.example>', rcpt='x'):
    return ('From: %s\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@shop.'
            'example>\r\n\r\n%s\r\n' % (sender, rcpt, subject,
                                        os.urandom(6).hex(), body))


def delivered(sink, marker, want=1, seconds=120):
    """the delivered files whose bytes contain marker, once want arrived"""
    end = time.monotonic() + seconds
    while True:
        got = []
        for name in sorted(os.listdir(sink)) if os.path.isdir(sink) else []:
            with open(os.path.join(sink, name), 'rb') as f:
                data = f.read()
            if marker.encode() in data:
                got.append(data)
        if len(got) >= want or time.monotonic() > end:
            return got
        time.sleep(0.3)


def socketmap(hostport, data, timeout=10):
    host, port = hostport.rsplit(':', 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.sendall(data)
    got = b''
    try:
        while True:
            c = s.recv(4096)
            if not c:
                got += b'|CLOSED'
                break
            got += c
            if data.count(b',') <= got.count(b','):
                break
    except socket.timeout:
        pass
    s.close()
    return got


def ns(text):
    b = text.encode()
    return b'%d:%s,' % (len(b), b)


def main():
    dash, smtp, pmd, sink, domain, pfetc = sys.argv[1:7]
    user = 'alice-%s@real.test' % os.urandom(4).hex()
    pw = 'alice-password-%s' % os.urandom(4).hex()

    st, b = http(dash, 'POST', '/v1/users', {'email': user, 'password': pw})
    tap(st in (200, 201), 'sign up over HTTP (%d)' % st, b[:200])
    st, b = http(dash, 'POST', '/v1/session', basic='%s:%s' % (user, pw))
    token = jbody(b).get('token')
    tap(st in (200, 201) and token, 'sign in with Basic, get a bearer token',
        b[:200])
    st, _ = http(dash, 'POST', '/v1/session', basic='%s:wrong' % user)
    tap(st == 401, 'a wrong password is refused (%d)' % st)

    aliases = {}
    for site in ('shop.example', 'news.example', 'gone.example'):
        st, b = http(dash, 'POST', '/v1/aliases', {'origin': site},
                     token=token)
        aliases[site] = jbody(b).get('alias', '')
        tap(st in (200, 201) and aliases[site].endswith('@' + domain),
            'create an alias for %s (%d)' % (site, st), b[:200])
    a1, a2, a3 = (aliases[s] for s in ('shop.example', 'news.example',
                                      'gone.example'))
    t1, t3 = a1.split('@')[0], a3.split('@')[0]
    st, b = http(dash, 'GET', '/v1/aliases', token=token)
    tap(st == 200 and b.count(b'"token"') >= 3, 'list the aliases', b[:200])
    st, b = http(dash, 'PATCH', '/v1/aliases/' + t1,
                 {'context': base64.b64encode(b'label: shop').decode()},
                 token=token)
    tap(st == 200, 'give an alias an opaque context (%d)' % st, b[:200])
    st, b = http(dash, 'PATCH', '/v1/aliases/' + t3, {'status': 'inactive'},
                 token=token)
    tap(st == 200 and b'"inactive"' in b, 'disable an alias', b[:200])
    st, b = http(dash, 'GET', '/v1/aliases/' + 'q' * 50, token=token)
    tap(st == 404, 'an unknown alias is 404 (%d)' % st)

    # Postfix's own socketmap client, then raw framing, good and bad
    # (the disabled alias, discard by default, resolves to a sink address
    # that is not the owner's)
    for what, key, good in (
            ('active', a1, lambda rc, out: rc == 0 and out == user),
            ('disabled', a3, lambda rc, out: rc == 0 and out != user and
             out.endswith('.invalid')),
            ('unknown', 'q' * 50 + '@' + domain,
             lambda rc, out: rc == 1 and out == '')):
        p = subprocess.run(['postmap', '-c', pfetc, '-q', key,
                            'socketmap:inet:%s:alias' % pmd],
                           capture_output=True, text=True, timeout=60)
        out = p.stdout.strip()
        tap(good(p.returncode, out), 'postmap -q, %s alias: %s' % (
            what, out or 'not found'), (p.returncode, out, p.stderr))
    for name, data, want in (
            ('two frames', ns('alias ' + a1) + ns('alias x@' + domain),
             rb'^\d+:OK %s,9:NOTFOUND ,$' % re.escape(user.encode())),
            ('leading zero', b'05:alias,', rb'^\|CLOSED$'),
            ('huge length', b'99999999:a,', rb'^\|CLOSED$'),
            ('missing comma', b'5:aliasX', rb'^\|CLOSED$'),
            ('unknown map', ns('nomap x'), rb'^16:PERM unknown map,$'),
            ('HTTP instead', b'GET / HTTP/1.0\r\n\r\n', rb'^\|CLOSED$')):
        got = socketmap(pmd, data)
        tap(re.search(want, got) is not None, 'socketmap: %s' % name, got)

    # mail from sites
    pdf = base64.encodebytes(b'%PDF-1.4 ' + os.urandom(3000)).decode()
    msgs = [
        ('plain text', a1, plain('plain-%s' % os.urandom(3).hex(),
                                 'Your order has shipped.', rcpt=a1)),
        ('attachment', a1, mime('attach-%s' % os.urandom(3).hex(), [
            ('text/plain; charset=utf-8', None, 'Invoice attached.'),
            ('application/pdf; name="invoice.pdf"', 'base64', pdf)],
            rcpt=a1)),
        ('HTML with a text part', a2, mime('html-%s' % os.urandom(3).hex(), [
            ('text/plain', None, 'Hello in text'),
            ('text/html; charset=utf-8', None,
             '<p>Hello <b>in</b> HTML &amp; <a href="http://x">link</a></p>')],
            rcpt=a2)),
        ('JSON notification part', a1, mime('json-%s' % os.urandom(3).hex(), [
            ('text/plain', None, 'A notification.'),
            ('application/json', None, json.dumps({'kind': 'order',
                                                   'id': 42}))], rcpt=a1)),
        ('200 KB message', a2, plain('big-%s' % os.urandom(3).hex(),
                                     ('x' * 76 + '\r\n') * 2600, rcpt=a2)),
    ]
    subjects = []
    for name, rcpt, msg in msgs:
        code = smtp_send(smtp, 'news@shop.example', [rcpt], msg)
        tap(code == 250, 'mail a site sends: %s (%d)' % (name, code))
        subjects.append(re.search(r'Subject: (\S+)', msg).group(1))
    code = smtp_send(smtp, 'news@gone.example', [a3],
                     plain('disabled', 'hello', rcpt=a3))
    tap(code == 250, 'mail to a disabled alias is taken (and dropped) (%d)' %
        code)
    code = smtp_send(smtp, 'news@shop.example', ['q' * 50 + '@' + domain],
                     plain('unknown', 'hello'))
    tap(code == 550, 'mail to an unknown alias is refused (%d)' % code)
    code = smtp_send(smtp, 'news@shop.example', [a1, a2],
                     plain('two', 'hello'))
    tap(code == 452, 'two aliases in one transaction: 452 (%d)' % code)

    got = {}
    for s in subjects:
        f = delivered(sink, s)
        got[s] = f[0] if f else b''
        tap(len(f) == 1, 'delivered once: %s' % s)
    att = got[subjects[1]]
    tap(b'invoice.pdf' in att and b'Content-Type: application/pdf' not in
        att and pdf.split('\n')[0].encode() not in att,
        'the attachment is stripped, named in the footer')
    blob = re.search(rb'/v1/blobs/([0-9a-z]+)', att)
    if tap(blob is not None, 'the footer links to the kept attachment'):
        st, b = http(dash, 'GET', '/v1/blobs/' + blob.group(1).decode(),
                     token=token)
        tap(st == 200 and b.startswith(b'%PDF-1.4'), 'download it (%d, %d '
            'bytes)' % (st, len(b)))
    st, b = http(dash, 'GET', '/v1/queue', token=token)
    tap(st == 200 and b'order' in b, 'the JSON part is in the queue',
        b[:300])

    # reply through the reply address
    first = got[subjects[0]]
    m = re.search(rb'^From: .*<([0-9a-z]+@' + re.escape(domain.encode()) +
                  rb')>', first, re.M)
    if tap(m is not None, 'the From is a reply address'):
        reply = m.group(1).decode()
        marker = 'reply-%s' % os.urandom(3).hex()
        code = smtp_send(smtp, user, [reply],
                         plain(marker, 'Thanks!', sender='<%s>' % user,
                               rcpt=reply))
        tap(code == 250, 'the owner replies (%d)' % code)
        f = delivered(sink, marker)
        tap(len(f) == 1 and b'X-Rcpt-Args: <news@shop.example>' in f[0] and
            user.encode() not in f[0], 'the reply reaches the site from the '
            'alias, without the real address')
        smarker = 'stranger-%s' % os.urandom(3).hex()
        code = smtp_send(smtp, 'stranger@evil.example', [reply],
                         plain(smarker, 'hi', sender='<stranger@evil.'
                               'example>', rcpt=reply))
        # the same answer as the owner gets (no oracle), then nothing sent
        tap(code == 250 and not delivered(sink, smarker, want=1, seconds=5),
            'a stranger at the reply address: 250 as for the owner, '
            'nothing reaches the site (%d)' % code)

    # one-click unsubscribe, settings, delete
    m = re.search(rb'^List-Unsubscribe: <http://[^/]+(/v1/unsubscribe/[^>]+)>',
                  first, re.M)
    if tap(m is not None, 'List-Unsubscribe names the one-click link'):
        st, b = http(dash, 'POST', m.group(1).decode(), body=b'',
                     ctype='application/x-www-form-urlencoded')
        tap(st == 200, 'the one-click link disables the alias (%d)' % st,
            b[:200])
        st, b = http(dash, 'GET', '/v1/aliases/' + t1, token=token)
        tap(b'"inactive"' in b, 'it is inactive now', b[:200])
    st, b = http(dash, 'PATCH', '/v1/me', {'disabled_action': 'reject'},
                 token=token)
    tap(st == 200, 'change a setting (%d)' % st, b[:200])
    st, b = http(dash, 'DELETE', '/v1/aliases/' + a2.split('@')[0],
                 token=token)
    tap(st in (200, 204), 'delete an alias (%d)' % st, b[:200])
    for path in ('/__heartbeat__', '/__lbheartbeat__', '/__version__',
                 '/metrics'):
        st, _ = http(dash, 'GET', path)
        tap(st == 200, 'GET %s (%d)' % (path, st))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
