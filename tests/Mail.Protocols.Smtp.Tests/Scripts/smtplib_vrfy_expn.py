#!/usr/bin/env python3
"""VRFY, EXPN, VERB and HELP (with and without a topic) through Python's smtplib (verify(), expn(), docmd(), data(), help()).

usage: smtplib_vrfy_expn.py MX_PORT
The host has alice@ in example.test and other.test, bob@example.test, sales@ (alice, far@remote.test) and
away@ (bob@remote.test) as aliases, the mailing list crew@ (alice, sales@, far@remote.test), and VRFY and EXPN on.
Prints OK lines.
"""
import smtplib
import sys

port = int(sys.argv[1])

with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
    smtp.ehlo("python.example.org")

    code, text = smtp.verify("alice@example.test")
    assert (code, text) == (250, b"2.1.5 <alice@example.test>"), (code, text)
    code, text = smtp.verify("nobody@example.test")
    assert (code, text) == (550, b"5.1.1 User unknown"), (code, text)
    code, text = smtp.verify("away@example.test")
    assert (code, text) == (251, b"2.1.5 User not local; will forward to <bob@remote.test>"), (code, text)
    code, text = smtp.verify("someone@remote.test")
    assert (code, text) == (551, b"5.1.6 User not local; please try <someone@remote.test>"), (code, text)
    code, text = smtp.verify("alice")
    assert code == 553, (code, text)
    assert text.split(b"\n") == [b"5.1.4 Ambiguous; possibilities are", b"5.1.4 <alice@example.test>", b"5.1.4 <alice@other.test>"], text
    print("OK verify")

    code, text = smtp.expn("sales@example.test")
    assert code == 250, (code, text)
    assert text.split(b"\n") == [b"2.1.5 <alice@example.test>", b"2.1.5 <far@remote.test>"], text
    code, text = smtp.expn("nobody@example.test")
    assert code == 550, (code, text)
    code, text = smtp.expn("crew@example.test")  # a list: its members as listed
    assert code == 250, (code, text)
    assert text.split(b"\n") == [b"2.1.5 <alice@example.test>", b"2.1.5 <sales@example.test>", b"2.1.5 <far@remote.test>"], text
    print("OK expn")

    assert b"EXPN" in smtp.help() and b"VERB" in smtp.help()
    lines = smtp.help("MAIL").split(b"\n")
    assert lines[0].startswith(b"2.0.0 MAIL FROM:<reverse-path> [SIZE=<octets>]"), lines
    assert lines[-1] == b"2.0.0 End of HELP info", lines
    assert smtp.docmd("HELP", "NOSUCH") == (504, b"5.5.4 HELP topic not recognized")
    print("OK help")
    assert smtp.docmd("VERB") == (250, b"2.0.0 Verbose mode on")
    assert smtp.mail("py@example.org")[0] == 250
    assert smtp.rcpt("sales@example.test")[0] == 250
    code, text = smtp.data(b"Subject: verbose\r\n\r\nhi\r\n")
    assert code == 250, (code, text)
    lines = text.split(b"\n")
    assert lines[:3] == [
        b"2.0.0 <sales@example.test> expanded to 2 destinations",
        b"2.0.0 <sales@example.test> stored for alice@example.test in INBOX",
        b"2.0.0 <sales@example.test> forwarded to <far@remote.test>, queued for remote.test",
    ], lines
    assert lines[3].endswith(b"Message accepted for delivery"), lines
    print("OK verb")
