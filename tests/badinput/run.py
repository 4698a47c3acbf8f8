#!/usr/bin/env python3
"""run - replay the bad-input catalogue (catalogue.tsv) and print TAP.

usage: run.py AREA [AREA...]   with the environment a test needs:
  config     BIPOSTALCTL = path of bipostalctl
  socketmap  BADINPUT_POSTMAPD = host:port of a running bipostal-postmapd
  http       BADINPUT_DASH = host:port of a running bipostal-dash,
             BADINPUT_BEARER = a valid bearer token
  smtp       BADINPUT_SMTP = host:port of Postfix with bipostal-milter
             BADINPUT_ALIAS = an active alias address
Inputs may name, where the test sets them: {ALIAS} and {ALIAS2} (two
active aliases of the bearer's user: BADINPUT_ALIAS, BADINPUT_ALIAS2),
{OWNER} (their owner's real address: BADINPUT_OWNER), {TOKEN} (the
token of {ALIAS}), {OTHER} (the token of another user's active alias:
BADINPUT_OTHER), {DISABLED} (a disabled alias whose owner chose reject:
BADINPUT_DISABLED) and {REPLY} (a reply address of {ALIAS}:
BADINPUT_REPLY); tests/badinput/setup.sh makes them.
Every row of the named areas runs; a row whose answer does not match its
expectation fails, and so does an area whose environment is missing.

       run.py --seeds DIR   writes the rows' inputs as fuzzing seeds, one
file each, in DIR/netstring (socketmap rows), DIR/conf (config rows),
DIR/json (HTTP bodies), DIR/auth (Authorization credentials) and
DIR/rewrite (SMTP message bodies); fuzz/run-libfuzzer.sh uses them.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def unescape(text, subst):
    """C escapes, {N*text} repetition, {NAME} substitutions and {NS:text}
    (text framed as a netstring, its length counted after escapes) -> bytes"""
    text = expand(text, subst)
    out = b''
    for m in re.finditer(r'\{NS:([^{}]*)\}|((?:(?!\{NS:).)+)', text, re.S):
        if m.group(1) is not None:
            inner = unescape_plain(m.group(1), subst)
            out += b'%d:%s,' % (len(inner), inner)
        else:
            out += unescape_plain(m.group(2), subst)
    return out


def expand(text, subst):
    """{N*text} repetition and {NAME} substitutions"""
    def rep(m):
        return m.group(2) * int(m.group(1))
    # innermost repetitions first, so {3*  {1500*b}\n} works
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r'\{(\d+)\*((?:[^{}])*)\}', rep, text)
    for k, v in subst.items():
        text = text.replace('{' + k + '}', v)
    return text


def unescape_plain(text, subst):
    """C escapes -> bytes"""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == '\\' and i + 1 < len(text):
            n = text[i + 1]
            if n == 'x':
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {'n': b'\n', 'r': b'\r', 't': b'\t', '0': b'\0',
                    '\\': b'\\'}.get(n, ('\\' + n).encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)


def load(areas):
    rows = []
    with open(os.path.join(HERE, 'catalogue.tsv'), encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            area, name, inp, expect = line.split('\t')
            if area in areas:
                rows.append((area, name, inp, expect))
    return rows


def addresses():
    """the {NAME} substitutions of addresses and tokens"""
    alias = os.environ.get('BADINPUT_ALIAS', '')
    other = os.environ.get('BADINPUT_OTHER', '')
    return {'ALIAS': alias, 'ALIAS2': os.environ.get('BADINPUT_ALIAS2', ''),
            'OWNER': os.environ.get('BADINPUT_OWNER', ''),
            'TOKEN': alias.split('@')[0], 'OTHER': other.split('@')[0],
            'DISABLED': os.environ.get('BADINPUT_DISABLED', ''),
            'REPLY': os.environ.get('BADINPUT_REPLY', '')}


def run_config(inp, tmp):
    ctl = os.environ['BIPOSTALCTL']
    if inp == '{MISSING}':
        path = os.path.join(tmp, 'missing.conf')
    else:
        path = os.path.join(tmp, 'bad.conf')
        with open(path, 'wb') as f:
            f.write(unescape(inp, {'OPENKEY': os.path.join(tmp, 'open.key')}))
    p = subprocess.run([ctl, '-c', path, 'config'], capture_output=True,
                       timeout=20)
    return 'exit=%d|%s' % (p.returncode,
                           p.stderr.decode('utf-8', 'replace').strip())


def exchange(hostport, data, timeout=10.0):
    host, port = hostport.rsplit(':', 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    got = b''
    closed = False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            got += chunk
    except socket.timeout:
        pass
    except OSError:
        closed = True
    s.close()
    return got + (b'|CLOSED' if closed else b'')


def run_socketmap(inp, tmp):
    data = unescape(inp, addresses())
    ans = exchange(os.environ['BADINPUT_POSTMAPD'], data, timeout=3.0)
    return ans.decode('latin-1')


def run_http(inp, tmp):
    data = unescape(inp, dict(addresses(),
                              AUTH=os.environ.get('BADINPUT_BEARER', '')))
    if b'\r\n\r\n' in data:
        # Content-Length: {LEN} = the length of the body as sent
        head, body = data.split(b'\r\n\r\n', 1)
        data = head.replace(b'{LEN}', b'%d' % len(body)) + b'\r\n\r\n' + body
    ans = exchange(os.environ['BADINPUT_DASH'], data, timeout=5.0)
    text = ans.decode('latin-1')
    m = re.match(r'HTTP/1\.[01] (\d{3})', text)
    status = m.group(1) if m else 'NONE'
    body = text.split('\r\n\r\n', 1)[1] if '\r\n\r\n' in text else ''
    return status + '|' + body.replace('|CLOSED', '')


def run_smtp(inp, tmp):
    """send SMTP lines one command at a time; answer = last reply"""
    host, port = os.environ['BADINPUT_SMTP'].rsplit(':', 1)
    data = unescape(inp, dict(addresses(), SEND='\x00SEND\x00'))
    s = socket.create_connection((host, int(port)), timeout=30)
    f = s.makefile('rb')

    def reply():
        text = b''
        while True:
            line = f.readline()
            if not line:
                return text or b'CLOSED'
            text += line
            if len(line) < 4 or line[3:4] != b'-':
                return text
    last = reply()
    chunks = data.split(b'\x00SEND\x00') if b'\x00SEND\x00' in data else \
        [c + b'\r\n' for c in data.split(b'\r\n') if c]
    for c in chunks:
        s.sendall(c)
        last = reply()
    s.close()
    return last.decode('latin-1').strip()


RUNNERS = {'config': run_config, 'socketmap': run_socketmap,
           'http': run_http, 'smtp': run_smtp}
NEEDS = {'config': ['BIPOSTALCTL'], 'socketmap': ['BADINPUT_POSTMAPD'],
         'http': ['BADINPUT_DASH'], 'smtp': ['BADINPUT_SMTP']}


def seeds(out):
    """the rows' inputs as fuzzing seeds, one file each (see the usage)"""
    subst = {'AUTH': 'eyJhbGciOiJIUzI1NiJ9.e30.AAAA', 'ALIAS': 'a@alias.test',
             'ALIAS2': 'b@alias.test', 'SEND': '\x00SEND\x00',
             'OPENKEY': '/nonexistent/open.key'}
    files = {}

    def put(target, data):
        files.setdefault(target, []).append(data)
    for area, name, inp, expect in load(list(RUNNERS)):
        if inp == '{MISSING}':
            continue
        data = unescape(inp, subst)
        if area == 'config':
            put('conf', data)
        elif area == 'socketmap':
            put('netstring', data)
        elif area == 'http':
            head, _, body = data.partition(b'\r\n\r\n')
            if body:
                put('json', body)
            m = re.search(rb'\r\nAuthorization: *(\S+) ?([^\r]*)', head)
            if m:
                put('auth', m.group(2))
                put('auth', m.group(1) + b' ' + m.group(2))
        elif area == 'smtp':
            parts = data.split(b'\x00SEND\x00')
            for i, part in enumerate(parts[:-1]):
                if part.rstrip(b'\r\n').upper() == b'DATA':
                    msg = parts[i + 1]
                    if msg.endswith(b'.\r\n'):
                        msg = msg[:-3]
                    put('rewrite', msg)
    for target, items in files.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for i, data in enumerate(items):
            with open(os.path.join(out, target, 'catalogue-%03d' % i),
                      'wb') as f:
                f.write(data)
    print(' '.join('%s=%d' % (t, len(v)) for t, v in sorted(files.items())))
    return 0


def main():
    if sys.argv[1:2] == ['--seeds'] and len(sys.argv) == 3:
        return seeds(sys.argv[2])
    areas = sys.argv[1:] or list(RUNNERS)
    n = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'open.key'), 'w') as f:
            f.write('secret\n')
        os.chmod(os.path.join(tmp, 'open.key'), 0o644)
        for area in areas:
            missing = [v for v in NEEDS[area] if v not in os.environ]
            if missing:
                n += 1
                failed += 1
                print('not ok %d - %s: environment %s unset' %
                      (n, area, ' '.join(missing)))
        for area, name, inp, expect in load(areas):
            if any(v not in os.environ for v in NEEDS[area]):
                continue
            n += 1
            try:
                ans = RUNNERS[area](inp, tmp)
            except Exception as e:  # a crash of the harness is a failure
                ans = 'harness error: %r' % e
            good = re.search(expect, ans, re.S) is not None
            print('%s %d - %s: %s' % ('ok' if good else 'not ok', n, area, name))
            if not good:
                failed += 1
                print('#   answer: %r' % ans[:300])
                print('#   expect: %s' % expect)
            sys.stdout.flush()
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
