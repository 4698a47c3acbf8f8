#!/usr/bin/env python3
"""ct_check - no secret is compared with strcmp, memcmp or their kin.

usage: ct_check.py [--self-test] [--root DIR]
Scans the C sources of the daemons, bipostalctl and their library (ctl/,
dash/, milter/, postmap-daemon/, store/ under DIR, default the source
tree) and prints
TAP:

 1. every call of a byte or string comparison (COMPARATORS) whose
    arguments name a secret (SECRETS: identifiers that hold a signature,
    MAC, key, password, password hash, TOTP code or bearer token) is a
    failure, unless ALLOW lists that exact call with the reason it is not
    a secret comparison;
 2. every call of a library function that compares a secret with strcmp
    inside (FORBIDDEN_CALLS) is a failure;
 3. every place that must compare a secret (REQUIRED) still does it in
    constant time (ct_equal, or the library's own constant-time check).

String literals and comments are blanked before identifiers are matched,
so strcmp(k, "totp") is not a secret comparison; a call is identified by
its file and its text with blanks squeezed, not by its line number.
--self-test then proves the scan can fail: in a copy of the tree, each
of MUTATIONS turns one constant-time comparison into strcmp or memcmp,
and the scan must name it.  Exit 1 on any failure.
"""
import os
import re
import shutil
import sys
import tempfile

COMPARATORS = ('strcmp', 'strncmp', 'strcasecmp', 'strncasecmp', 'memcmp',
               'bcmp', 'strcoll', 'g_strcmp0', 'g_str_equal',
               'g_ascii_strcasecmp', 'g_ascii_strncasecmp', 'wcscmp')

# The names of secrets in the credential files of bipostal-dash: Basic
# passwords, TOTP codes and secrets, the enrolment ticket.
DASH_AUTH_SECRETS = (r'h|pw|pass|old|code|secret32|raw|sent|candidate|'
                     r'ticket|want')

# Identifiers that hold a secret.  '*' applies to every file; a file's own
# entries add the names it uses for its secrets (its "want" is the
# expected signature, for instance).  Alias and reply tokens are not
# listed: they are addresses every correspondent knows, not credentials,
# and the store finds them through an index that is not constant time
# either.
SECRETS = {
    '*': r'secret\w*|\w+_secret|dash_keys|server_key\w*|secret_key\w*|'
         r'pwhash|password|hmac|mac|sig|signature|totp\w*|otp|digest|'
         r'bearer|jwt',
    'dash/dash_jwt.c': r'want|d2|tok|s',	# HS256: expected, got, token
    'dash/dash_session.c': DASH_AUTH_SECRETS,
    'dash/dash_totp.c': DASH_AUTH_SECRETS,
    'dash/dash_user.c': DASH_AUTH_SECRETS,
    'milter/milter_reply.c': r'key',		# Message-ID MACs
    'milter/milter_rcpt.c': r'key',		# bounce addresses checked
    'milter/milter_eom.c': r'key',		# links and bounce addresses
    'store/bounce.c': r'got|key',		# bounce MAC as received, key
    'store/sign.c': r'got|want|key|md',	# every MAC: got, expected, key
    'store/passwd.c': r'encoded|pw',
}

# Comparisons whose arguments mention a secret's name but compare no
# secret: file, the call as written (blanks squeezed), why.
ALLOW = [
    ('dash/dash_session.c', 'strncasecmp(h, "Basic ", 6)',
     'the scheme word of the Authorization value, before any credential'),
    ('dash/dash_session.c', 'strncasecmp(h, "Bearer ", 7)',
     'the scheme word of the Authorization value, before any credential'),
    ('dash/dash_session.c', 'strncasecmp(h, "BIPostal-Server-Key ", 20)',
     'the scheme word; the key itself goes through ct_equal'),
    ('dash/dash_session.c', 'strcmp(json_string_value(aud), want)',
     'the audience claim of a token whose signature passed: public'),
    ('dash/dash_session.c', 'strcmp(json_string_value(v), want)',
     'the audience claim of a token whose signature passed: public'),
    ('dash/dash_session.c', 'strncmp(h, APIKEY_PREFIX, strlen(APIKEY_PREFIX))',
     'the public "bpk_" tag of an API key; its hash goes through ct_equal'),
    ('store/passwd.c', 'strncmp(encoded, "$argon2id$", 10)',
     'the algorithm tag of a stored hash (public); argon2 compares the hash'),
]

# Library calls that compare a secret with strcmp inside.
FORBIDDEN_CALLS = {
    'oath_totp_validate': 'liboath compares each candidate TOTP code with '
        'strcmp: use oath_totp_validate_callback with a ct_equal callback',
    'oath_totp_validate2': 'liboath compares with strcmp (see above)',
    'oath_totp_validate3': 'liboath compares with strcmp (see above)',
    'oath_hotp_validate': 'liboath compares with strcmp: use '
        'oath_hotp_validate_callback with a ct_equal callback',
    'oath_hotp_validate2': 'liboath compares with strcmp (see above)',
}

# Where a secret must be compared, and how (a regex over the blanked text).
REQUIRED = [
    ('dash/dash_jwt.c', r'ct_equal\(d2 \+ 1,', 'the HS256 bearer signature'),
    ('dash/dash_session.c', r'ct_equal\(h, strlen\(h\), dash_keys\.server,',
     'the BIPostal-Server-Key'),
    ('store/sign.c', r'ct_equal\(sig, strlen\(sig\), want,',
     'the one-click unsubscribe signature'),
    ('store/sign.c', r'ct_equal\(got, strlen\(got\), want, 2 \* nbytes\)',
     'the bounce address MAC'),
    ('dash/dash_totp.c', r'ct_equal\(sent, strlen\(sent\), candidate,',
     'the TOTP code in that callback'),
    ('dash/dash_totp.c', r'ct_equal\(ticket, strlen\(ticket\), want,',
     'the TOTP enrolment ticket'),
    ('store/passwd.c', r'\bargon2id_verify\(',
     'the password hash (libargon2 compares in constant time)'),
    ('dash/dash_totp.c', r'\boath_totp_validate\w*_callback\(',
     "the TOTP code, through liboath's callback form,"),
]

SOURCE_DIRS = ('ctl', 'dash', 'milter', 'postmap-daemon', 'store')


def blank(text):
    """comments and the insides of string and char literals -> spaces,
    newlines kept so that offsets keep their line numbers"""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + ' ' * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def calls(text, names):
    """(name, offset, end) of each call of one of names, end after ')'"""
    for m in re.finditer(r'\b(%s)\s*\(' % '|'.join(names), text):
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == '(':
                depth += 1
            elif text[j] == ')':
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield m.group(1), m.start(), j + 1


def squeeze(s):
    return re.sub(r'\s+', ' ', s).strip()


def scan(root, files):
    """[(good, text, [detail lines])] for the sources under root"""
    used = set()
    found, forbidden, seen, ncalls = [], [], {}, 0
    for rel in files:
        with open(os.path.join(root, rel), encoding='utf-8',
                  errors='replace') as f:
            raw = f.read()
        text = blank(raw)
        seen[rel] = squeeze(text)
        pat = SECRETS['*'] + ('|' + SECRETS[rel] if rel in SECRETS else '')
        secret = re.compile(r'(?<!\w)(%s)\b' % pat)
        for name, start, end in calls(text, COMPARATORS):
            ncalls += 1
            hit = secret.search(text[start + len(name):end])
            if not hit:
                continue
            shown = squeeze(raw[start:end])
            if (rel, shown) in {(a[0], a[1]) for a in ALLOW}:
                used.add((rel, shown))
                continue
            found.append('%s:%d: %s (names %s)' % (
                rel, text.count('\n', 0, start) + 1, shown, hit.group(1)))
        for name, start, end in calls(text, list(FORBIDDEN_CALLS)):
            forbidden.append('%s:%d: %s: %s' % (
                rel, text.count('\n', 0, start) + 1, name,
                FORBIDDEN_CALLS[name]))
    notes = ['%d files, %d comparison calls, %d allowed by name' % (
        len(files), ncalls, len(used))]
    notes += ['allowlist entry no longer in the code: %s: %s' % (a[0], a[1])
              for a in ALLOW if (a[0], a[1]) not in used]
    res = [(not found, 'no secret compared with strcmp/memcmp and kin '
            '(%d found)' % len(found), found),
           (not forbidden, 'no library call that compares a secret with '
            'strcmp (%d found)' % len(forbidden), forbidden)]
    for rel, pat, what in REQUIRED:
        res.append((rel in seen and re.search(pat, seen[rel]) is not None,
                    '%s: %s compared in constant time' % (rel, what), []))
    return res, notes


# Self-test: each mutation turns one constant-time comparison back into a
# plain one in a copy of the tree; the scan must then fail and name it.
MUTATIONS = [
    ('store/sign.c', r'ct_equal\(sig, strlen\(sig\), want, strlen\(want\)\)',
     'strcmp(sig, want) == 0'),
    ('dash/dash_jwt.c', r'ct_equal\(d2 \+ 1, strlen\(d2 \+ 1\), want, strlen\(want\)\)',
     'strcmp(d2 + 1, want) == 0'),
    ('dash/dash_session.c', r'ct_equal\(h, strlen\(h\),\s*dash_keys\.server, dash_keys\.server_len\)',
     'strncmp(h, dash_keys.server, dash_keys.server_len) == 0'),
    ('store/sign.c', r'ct_equal\(got, strlen\(got\), want, 2 \* nbytes\)',
     'memcmp(got, want, 2 * nbytes) == 0'),
    ('dash/dash_totp.c', r'ct_equal\(sent, strlen\(sent\), candidate, strlen\(candidate\)\) \?\s*0 : 1',
     'strcmp(sent, candidate)'),
    ('store/passwd.c', r'(passwd_verify\(const char \*encoded, const char \*pw\)\n\{)',
     '\\1\n\tif (strcmp(pw, "x") == 0) return (1);'),
]


def source_files(root):
    return sorted(os.path.join(d, f) for d in SOURCE_DIRS
                  for f in os.listdir(os.path.join(root, d))
                  if f.endswith(('.c', '.h')))


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    self_test = argv[:1] == ['--self-test']
    if self_test:
        argv = argv[1:]
    if argv[:1] == ['--root']:
        root, argv = argv[1], argv[2:]
    n = failed = 0

    def tap(good, text, details=()):
        nonlocal n, failed
        n += 1
        print('%s %d - %s' % ('ok' if good else 'not ok', n, text))
        for d in details:
            print('#   %s' % d)
        if not good:
            failed += 1

    res, notes = scan(root, source_files(root))
    for note in notes:
        print('# ' + note)
    for r in res:
        tap(*r)
    if self_test:
        with tempfile.TemporaryDirectory() as tmp:
            for d in SOURCE_DIRS:
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            for rel, pat, repl in MUTATIONS:
                path = os.path.join(tmp, rel)
                with open(path) as f:
                    orig = f.read()
                mutated, k = re.subn(pat, repl, orig, count=1)
                if k != 1:
                    tap(False, 'self-test: %s: the comparison to mutate is '
                        'gone (update MUTATIONS)' % rel)
                    continue
                with open(path, 'w') as f:
                    f.write(mutated)
                res, _ = scan(tmp, source_files(tmp))
                with open(path, 'w') as f:
                    f.write(orig)
                caught = not res[0][0] and any(
                    x.startswith(rel + ':') for x in res[0][2])
                tap(caught, 'self-test: %s with %s is caught' % (
                    rel, repl.split('\n')[-1].strip()),
                    [] if caught else res[0][2])
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
