#!/usr/bin/env python3
"""run - replay the attack catalogue (catalogue.tsv) through Postfix and
check the bytes that reach the sinks; prints TAP.

usage: run.py CATALOGUE   with the environment attack.test sets:
  ATTACK_SMTP     host:port of the alias domain's Postfix (with the milter)
  ATTACK_SINK     the directory where every delivered message lands (one
                  file per message, smtp-sink -d: X-Rcpt-Args names the
                  recipient)
  ATTACK_DOMAIN, ATTACK_OWNER, ATTACK_OPS, ATTACK_ALIAS, ATTACK_ALIAS2,
  ATTACK_REPLY, ATTACK_DISABLED   the addresses the rows name
Every row is sent first, each with its own Subject marker; then the queue
is given time to drain and each row's messages are found by that marker
(in headers or in a returned message) and checked.
"""
import email
import email.policy
import os
import re
import smtplib
import sys
import time
from email.utils import getaddresses

HERE = os.path.dirname(os.path.abspath(__file__))
ANSWERED = ('to', 'cc', 'reply-to', 'mail-followup-to', 'mail-reply-to',
            'sender', 'disposition-notification-to', 'return-receipt-to',
            'resent-from', 'resent-sender', 'resent-to', 'resent-cc',
            'errors-to', 'from')
HIDDEN = ('comment', 'script', 'style', 'template', 'noscript', 'title',
          'textarea', 'xmp', 'iframe', 'object', 'select', 'head')


def env(name):
    v = os.environ.get(name)
    if not v:
        sys.exit('run.py: %s is not set' % name)
    return v


def subst_table():
    owner = env('ATTACK_OWNER')
    alias = env('ATTACK_ALIAS')
    token = alias.split('@')[0]
    return {
        'DOMAIN': env('ATTACK_DOMAIN'),
        'OWNER': owner,
        'OWNER_DOMAIN': owner.split('@')[1],
        'OWNER_PCT': owner.replace('@', '%40'),
        'ALIAS': alias,
        'ALIAS2': env('ATTACK_ALIAS2'),
        'TOKEN': token,
        'TOKEN_UPPER': token.upper(),
        'TOKEN_ESCAPED': ''.join('\\' + c if i % 7 == 0 else c
                                 for i, c in enumerate(token)),
        'REPLY': env('ATTACK_REPLY'),
        'DISABLED': env('ATTACK_DISABLED'),
        'LONG': 'x' * 300,
    }


def subst(text, table):
    for k, v in table.items():
        text = text.replace('{' + k + '}', v)
    return text


def load(path):
    rows = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            cols = line.split('\t')
            if len(cols) != 7:
                sys.exit('run.py: %s: not 7 columns: %r' % (path, line))
            cols = [re.sub(r'\\u([0-9a-f]{4})',
                           lambda m: chr(int(m.group(1), 16)), c)
                    for c in cols]
            rows.append(dict(zip(('name', 'client', 'from', 'rcpts', 'msg',
                                  'smtp', 'sink'), cols)))
    return rows


def code(reply):
    """'250 2.1.5' from an smtplib (code, text) pair"""
    c, text = reply
    text = text.decode('utf-8', 'replace') if isinstance(text, bytes) else text
    m = re.match(r'([245]\.\d{1,3}\.\d{1,3})', text)
    return '%d %s' % (c, m.group(1) if m else '')


def dialogue(row, n, table, hostport):
    """hold the row's SMTP dialogue; the transcript of reply codes"""
    host, port = hostport.rsplit(':', 1)
    owner = row['client'] == 'owner'
    src = ('127.0.0.2', 0) if owner else ('127.0.0.1', 0)
    helo = ('owner-mta.' + table['OWNER_DOMAIN']) if owner else \
        'mta.shop.example'
    marker = '[attack-%d]' % n
    out = []
    try:
        s = smtplib.SMTP(host, int(port), timeout=30, source_address=src)
    except OSError as e:
        return 'CONNECT=%s' % e, marker
    s.command_encoding = 'latin-1'	# UTF-8 bytes pass as they are
    try:
        s.ehlo(helo)
        out.append('MAIL=' + code(s.docmd(('MAIL FROM:' + subst(
            row['from'], table)).encode('utf-8').decode('latin-1'))))
        ok = False
        if out[-1].startswith('MAIL=250'):
            for r in row['rcpts'].split(' | '):
                out.append('RCPT=' + code(s.docmd(('RCPT TO:' + subst(
                    r, table)).encode('utf-8').decode('latin-1'))))
                ok = ok or out[-1].startswith('RCPT=250')
        if ok and row['msg'] != '-':
            with open(os.path.join(HERE, 'msgs', row['msg']),
                      encoding='utf-8') as f:
                body = subst(f.read(), dict(table, SUBJECT=marker +
                                            ' ' + row['name'],
                                            ROW=str(n)))
            body = body.replace('\r\n', '\n').replace('\n', '\r\n')
            r = s.docmd('DATA')
            if r[0] == 354:
                lines = [('.' + l) if l.startswith('.') else l
                         for l in body.split('\r\n')]
                s.send(('\r\n'.join(lines).rstrip('\r\n') +
                        '\r\n.\r\n').encode('utf-8'))
                out.append('DATA=' + code(s.getreply()))
            else:
                out.append('DATA=' + code(r))
        s.docmd('QUIT')
    except (smtplib.SMTPException, OSError) as e:
        out.append('ERROR=%s' % e)
    finally:
        try:
            s.close()
        except OSError:
            pass
    return '|'.join(out), marker


def sink_messages(sink):
    msgs = []
    for name in sorted(os.listdir(sink)):
        with open(os.path.join(sink, name), 'rb') as f:
            raw = f.read()
        m = email.message_from_bytes(raw, policy=email.policy.compat32)
        rcpt = re.search(r'<([^>]*)>', m.get('X-Rcpt-Args', '') or '')
        sender = re.search(r'<([^>]*)>', m.get('X-Mail-Args', '') or '')
        msgs.append({'raw': raw, 'msg': m, 'name': name,
                     'rcpt': rcpt.group(1).lower() if rcpt else '',
                     'sender': sender.group(1).lower() if sender else ''})
    return msgs


def wait_quiet(sink, seconds):
    """until the sink stops growing for 3 s (or seconds pass)"""
    end = time.time() + seconds
    last, still = -1, 0
    while time.time() < end:
        n = len(os.listdir(sink))
        still = still + 1 if n == last else 0
        last = n
        if still >= 6:
            return
        time.sleep(0.5)


def text_parts(m):
    for part in m.walk():
        if part.get_content_maintype() == 'text':
            data = part.get_payload(decode=True) or b''
            cs = part.get_content_charset() or 'utf-8'
            try:
                yield part.get_content_subtype(), data.decode(cs, 'replace')
            except LookupError:
                yield part.get_content_subtype(), data.decode('utf-8',
                                                              'replace')


def leaf_types(m):
    """content types of the leaves, those under multipart/encrypted left
    out (nobody can look inside)"""
    out = []

    def walk(p):
        if p.get_content_type() == 'multipart/encrypted':
            return
        if p.is_multipart():
            for q in p.get_payload():
                walk(q)
        else:
            out.append(p.get_content_type())
    walk(m)
    return out


def visible_text(html):
    """the text a browser shows: html5lib parses as browsers do"""
    import html5lib
    tree = html5lib.parse(html, namespaceHTMLElements=False)
    chunks = []

    def walk(el, hidden):
        tag = el.tag if isinstance(el.tag, str) else 'comment'
        hide = hidden or tag in HIDDEN
        if not hide and el.text:
            chunks.append(el.text)
        for child in el:
            walk(child, hide)
            if not hide and child.tail:
                chunks.append(child.tail)
    walk(tree, False)
    return ' '.join(' '.join(chunks).split())


def everything(m, raw):
    """headers and decoded text, for has/lacks"""
    text = raw.decode('utf-8', 'replace')
    for _, t in text_parts(m):
        text += '\n' + t
    return text


def check_owner(d, table, problems):
    m = d['msg']
    body = everything(m, d['raw'])
    dom = '@' + table['DOMAIN']
    if 'BIPostal' not in body:
        problems.append('owner copy without the banner')
    frm = getaddresses(m.get_all('From', []))
    if not frm or not frm[0][1].lower().endswith(dom):
        problems.append('owner copy From %r is not on the alias domain' % frm)
    for h in ANSWERED:
        for _, a in getaddresses(m.get_all(h, [])):
            if a and not a.lower().endswith(dom):
                problems.append('owner copy %s: names %s' % (h, a))
    for t in leaf_types(m):
        if not t.startswith('text/plain') and not t.startswith('text/html'):
            problems.append('owner copy holds a %s part' % t)


def check_site(d, table, problems):
    text = everything(d['msg'], d['raw']).lower()
    for trace in (table['OWNER'], table['OWNER_DOMAIN'], '127.0.0.2',
                  'owner-mta', 'owner-pc'):
        if trace.lower() in text:
            problems.append('copy for %s holds %s' % (d['rcpt'], trace))


def check_row(row, n, marker, transcript, msgs, table):
    problems = []
    if not re.search(subst(row['smtp'], table), transcript):
        problems.append('SMTP %s, want %s' % (transcript, row['smtp']))
    mine = [d for d in msgs if marker.encode() in d['raw']]
    owner = table['OWNER'].lower()
    ops = os.environ.get('ATTACK_OPS', '').lower()
    sender = re.sub(r'^<([^>]*)>.*', r'\1', subst(row['from'], table)).lower()
    groups = {
        'owner': [d for d in mine if d['rcpt'] == owner],
        'ops': [d for d in mine if d['rcpt'] == ops],
        'back': [d for d in mine if d['rcpt'] == sender],
    }
    groups['site'] = [d for d in mine if d['rcpt'] not in (owner, ops) and
                      d['rcpt'] != sender]
    for d in groups['owner']:
        check_owner(d, table, problems)
    for d in groups['site'] + groups['back']:
        check_site(d, table, problems)
    for want in row['sink'].split():
        if '=' in want and ':' not in want:
            k, v = want.split('=')
            if len(groups[k]) != int(v):
                problems.append('%s: %d messages, want %s' %
                                (k, len(groups[k]), v))
            continue
        if want == 'site-msgid-alias':
            for d in groups['site']:
                mid = d['msg'].get('Message-ID', '')
                if not re.search(r'@%s>\s*$' % re.escape(table['DOMAIN']),
                                 mid):
                    problems.append('site copy Message-ID %r' % mid)
            continue
        k, _, v = want.partition(':')
        who, _, what = k.partition('-')
        v = subst(v, table).replace('_', ' ')
        for d in groups[who]:
            if what == 'lacks' and v.lower() in \
                    everything(d['msg'], d['raw']).lower():
                problems.append('%s copy holds %r' % (who, v))
            elif what == 'has' and v not in everything(d['msg'], d['raw']):
                problems.append('%s copy lacks %r' % (who, v))
            elif what == 'nohdr' and d['msg'].get(v) is not None:
                problems.append('%s copy has a %s header' % (who, v))
            elif what == 'visible':
                for sub, t in text_parts(d['msg']):
                    if sub == 'html' and v not in visible_text(t):
                        problems.append('%s copy: %r not visible in HTML' %
                                        (who, v))
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: run.py CATALOGUE')
    rows = load(sys.argv[1])
    table = subst_table()
    hostport = env('ATTACK_SMTP')
    sink = env('ATTACK_SINK')
    sent = []
    for n, row in enumerate(rows, 1):
        sent.append(dialogue(row, n, table, hostport))
    wait_quiet(sink, 60)
    msgs = sink_messages(sink)
    failed = 0
    for n, (row, (transcript, marker)) in enumerate(zip(rows, sent), 1):
        problems = check_row(row, n, marker, transcript, msgs, table)
        if problems:
            failed += 1
            print('not ok %d - %s' % (n, row['name']))
            for p in problems:
                print('# ' + p)
        else:
            print('ok %d - %s (%s)' % (n, row['name'], transcript))
    print('1..%d' % len(rows))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
