#!/usr/bin/env python3
"""Drives a Mail.Protocols IMAP server with Python's imaplib (a second, independent client).

usage: imaplib_client.py starttls|ssl PORT CERTIFICATE_PEM
The host's self-signed certificate is the only trusted one (its subjectAltName has 127.0.0.1), so the TLS handshake
verifies the server rather than skipping verification.

starttls: INBOX holds two messages the test appended (UIDs 1 and 2, subjects "first message" and "second message",
Dates 1 and 2 Nov 2026), Archive is empty. LOGIN refused before STARTTLS, a wrong password refused, LOGIN; LIST,
SELECT, FETCH RFC822 (sets \\Seen), BODY.PEEK[HEADER], APPEND with flags, a keyword and an internal date, FETCH FLAGS,
SEARCH, UID SEARCH, STORE, COPY, EXPUNGE, STATUS, CLOSE, LOGOUT.
ssl: INBOX holds one message (UID 1). IMAP4_SSL, LOGIN, ENABLE UTF8=ACCEPT, CREATE and LIST of a UTF-8 name, EXAMINE
and a FETCH that must not set \\Seen, UNSELECT, LOGOUT.
Prints an OK line per step and a SHA-256 of each fetched octet string; any failed expectation raises and exits non-zero.
"""
import datetime
import hashlib
import imaplib
import re
import ssl
import sys

mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
USER, PASSWORD = "alice@example.test", "alice"
context = ssl.create_default_context(cafile=cafile)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def expect(actual, expected):
    assert actual == expected, "expected %r, got %r" % (expected, actual)


def flag_sets(data):
    """[b'1 (FLAGS (\\Seen))', ...] -> {1: {'\\Seen'}, ...}; every line must be a FETCH of FLAGS alone."""
    result = {}
    for line in data:
        match = re.fullmatch(rb"(\d+) \(FLAGS \(([^()]*)\)\)", line)
        assert match, line
        result[int(match.group(1))] = set(match.group(2).decode().split())
    return result


def literal(data, prefix):
    """A FETCH of one literal item: [(b'N (ITEM {n}', octets), b')'] -> octets, checking the announced length."""
    assert len(data) == 2 and isinstance(data[0], tuple) and data[1] == b")", data
    match = re.fullmatch(re.escape(prefix) + rb" \{(\d+)\}", data[0][0])
    assert match, data[0][0]
    expect(len(data[0][1]), int(match.group(1)))
    return data[0][1]


def starttls_session():
    m = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    assert "STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities, m.capabilities
    assert "AUTH=PLAIN" not in m.capabilities, m.capabilities
    try:
        m.login(USER, PASSWORD)
        raise AssertionError("LOGIN accepted before STARTTLS")
    except imaplib.IMAP4.error as e:
        expect(e.args[0], b"[PRIVACYREQUIRED] Login needs TLS, use STARTTLS first")
    print("OK login refused in plaintext")

    expect(m.starttls(ssl_context=context)[0], "OK")
    assert "STARTTLS" not in m.capabilities and "LOGINDISABLED" not in m.capabilities, m.capabilities
    assert "AUTH=PLAIN" in m.capabilities, m.capabilities
    try:
        m.login(USER, "wrong")
        raise AssertionError("a wrong password was accepted")
    except imaplib.IMAP4.error as e:
        expect(e.args[0], b"[AUTHENTICATIONFAILED] Authentication failed")
    typ, data = m.login(USER, PASSWORD)
    expect(typ, "OK")
    assert data[0].startswith(b"[CAPABILITY IMAP4rev1 IMAP4rev2 ") and data[0].endswith(b"] Logged in"), data
    print("OK starttls login")

    typ, data = m.list()
    expect((typ, data), ("OK", [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Archive) "/" Archive',
        b'(\\HasNoChildren \\Drafts) "/" Drafts',
        b'(\\HasNoChildren \\Junk) "/" Junk',
        b'(\\HasNoChildren \\Sent) "/" Sent',
        b'(\\HasNoChildren \\Trash) "/" Trash',
    ]))
    print("OK list")

    expect(m.select("INBOX"), ("OK", [b"2"]))
    expect(m.response("UIDNEXT"), ("UIDNEXT", [b"3"]))
    expect(m.response("READ-WRITE"), ("READ-WRITE", [b""]))
    expect(m.response("FLAGS"), ("FLAGS", [b"(\\Answered \\Flagged \\Deleted \\Seen \\Draft)"]))
    permanent = m.response("PERMANENTFLAGS")[1][0]
    assert b"\\*" in permanent and b"\\Deleted" in permanent, permanent
    uidvalidity = m.response("UIDVALIDITY")[1][0]
    assert re.fullmatch(rb"[1-9]\d*", uidvalidity), uidvalidity
    print("OK select")

    typ, data = m.fetch("1", "(RFC822)")
    expect(typ, "OK")
    # RFC 3501 6.4.5: RFC822 sets \Seen, and the server reports the new flags, in the same FETCH response or in a
    # second one for the same message.
    assert isinstance(data[0], tuple), data
    match = re.fullmatch(rb"1 \(RFC822 \{(\d+)\}", data[0][0])
    assert match and len(data[0][1]) == int(match.group(1)), data[0][0]
    assert data[1:] in ([b" FLAGS (\\Seen))"], [b")", b"1 (FLAGS (\\Seen))"]), data[1:]
    print("RFC822 1 %s" % sha(data[0][1]))

    typ, data = m.fetch("2", "(BODY.PEEK[HEADER])")
    expect(typ, "OK")
    print("HEADER 2 %s" % sha(literal(data, b"2 (BODY[HEADER]")))

    appended = (b"From: Python <python@example.org>\r\nTo: alice@example.test\r\nSubject: appended by imaplib\r\n"
                b"Date: Tue, 3 Nov 2026 08:00:00 +0000\r\n\r\nA body line\r\n.a line starting with a dot\r\n")
    when = datetime.datetime(2026, 11, 1, 10, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    typ, data = m.append("INBOX", "(\\Flagged $Important)", imaplib.Time2Internaldate(when), appended)
    expect((typ, data), ("OK", [b"[APPENDUID " + uidvalidity + b" 3] APPEND completed"]))
    print("APPENDED %s" % sha(appended))
    typ, data = m.noop()
    expect(typ, "OK")
    typ, data = m.fetch("1:*", "(FLAGS)")
    expect(typ, "OK")
    expect(flag_sets(data), {1: {"\\Seen"}, 2: set(), 3: {"\\Flagged", "$Important"}})
    typ, data = m.uid("FETCH", "3", "(INTERNALDATE RFC822.SIZE)")
    expect(typ, "OK")
    match = re.fullmatch(rb'3 \((?=.*UID 3)(?=.*RFC822\.SIZE (\d+))(?=.*(INTERNALDATE "[^"]+")).*\)', data[0])
    assert match and len(data) == 1, data
    expect(int(match.group(1)), len(appended))
    expect(datetime.datetime(*imaplib.Internaldate2tuple(match.group(2))[:6]),
           datetime.datetime(*when.astimezone().timetuple()[:6]))
    print("OK append")

    for criteria, expected in [
        (("SUBJECT", '"second message"'), b"2"),
        (("UNSEEN",), b"2 3"),
        (("FLAGGED", "KEYWORD", "$Important"), b"3"),
        (("OR", "SEEN", "FLAGGED"), b"1 3"),
        (("SENTBEFORE", "3-Nov-2026"), b"1 2"),
        (("BODY", '"no such words"'), b""),
        (("NOT", "FROM", "sender1"), b"2 3"),
    ]:
        expect(m.search(None, *criteria), ("OK", [expected]))
    expect(m.search("UTF-8", "TEXT", '"second"'), ("OK", [b"2"]))
    expect(m.uid("SEARCH", "FROM", "sender1"), ("OK", [b"1"]))
    try:
        m.search(None, "NOSUCHKEY")
        raise AssertionError("an unknown search key was accepted")
    except imaplib.IMAP4.error as e:
        assert str(e).startswith("SEARCH command error: BAD"), e
    print("OK search")

    typ, data = m.store("2", "+FLAGS", "(\\Deleted \\Answered)")
    expect(typ, "OK")
    expect(flag_sets(data), {2: {"\\Deleted", "\\Answered"}})
    expect(m.store("3", "-FLAGS.SILENT", "($Important)"), ("OK", [None]))
    typ, data = m.fetch("3", "(FLAGS)")
    expect(flag_sets(data), {3: {"\\Flagged"}})
    print("OK store")

    typ, data = m.copy("1", "Archive")
    expect(typ, "OK")
    assert re.fullmatch(rb"\[COPYUID [1-9]\d* 1 1\] COPY completed", data[0]), data
    typ, data = m.copy("1", "NoSuchFolder")
    expect(typ, "NO")
    assert data[0].startswith(b"[TRYCREATE] "), data
    print("OK copy")

    expect(m.expunge(), ("OK", [b"2"]))
    typ, data = m.fetch("1:*", "(UID)")
    expect((typ, data), ("OK", [b"1 (UID 1)", b"2 (UID 3)"]))
    print("OK expunge")

    typ, data = m.status("Archive", "(MESSAGES UNSEEN UIDNEXT)")
    expect(typ, "OK")
    # The items come in the server's order (RFC 9051 7.2.4 does not fix one): compare them as pairs.
    match = re.fullmatch(rb"Archive \(([A-Z0-9 ]+)\)", data[0])
    assert match and len(data) == 1, data
    items = match.group(1).split()
    expect(dict(zip(items[::2], items[1::2])), {b"MESSAGES": b"1", b"UNSEEN": b"0", b"UIDNEXT": b"2"})
    print("OK status")

    expect(m.close()[0], "OK")
    expect(m.logout(), ("BYE", [b"Logging out"]))
    print("OK logout")


def ssl_session():
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=30)
    assert "STARTTLS" not in m.capabilities and "AUTH=PLAIN" in m.capabilities, m.capabilities
    expect(m.login(USER, PASSWORD)[0], "OK")
    print("OK ssl login")

    expect(m.enable("UTF8=ACCEPT")[0], "OK")
    expect(m.response("ENABLED"), ("ENABLED", [b"UTF8=ACCEPT"]))
    # In UTF8 mode imaplib sends UTF-8; a name with non-ASCII characters goes in a quoted string (RFC 6855 section 3).
    expect(m.create('"Entwürfe"'), ("OK", [b"CREATE completed"]))
    expect(m.list('""', '"Entw*"'), ("OK", ['(\\HasNoChildren) "/" "Entwürfe"'.encode()]))
    print("OK utf8 folder")

    expect(m.select("INBOX", readonly=True), ("OK", [b"1"]))
    expect(m.response("READ-ONLY"), ("READ-ONLY", [b""]))
    typ, data = m.fetch("1", "(BODY[TEXT])")
    expect(typ, "OK")
    print("TEXT 1 %s" % sha(literal(data, b"1 (BODY[TEXT]")))
    # EXAMINE: a body fetch does not set \Seen (RFC 3501 6.3.2).
    expect(m.fetch("1", "(FLAGS)"), ("OK", [b"1 (FLAGS ())"]))
    expect(m.unselect()[0], "OK")
    expect(m.logout(), ("BYE", [b"Logging out"]))
    print("OK ssl logout")


if mode == "starttls":
    starttls_session()
elif mode == "ssl":
    ssl_session()
else:
    raise SystemExit("unknown mode " + mode)
