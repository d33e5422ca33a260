#!/usr/bin/env python3
"""Drives a Mail.Protocols SMTP server with Python's smtplib (a second, independent client).

usage: smtplib_client.py MX_PORT SUBMISSION_PORT
Sends one message on the MX port (plain, with PIPELINING-style sendmail) and one on the submission port
after STARTTLS and AUTH PLAIN, checks the refusals a closed relay must give, and prints OK lines.
"""
import smtplib
import ssl
import sys
from email.message import EmailMessage

mx_port, submission_port = int(sys.argv[1]), int(sys.argv[2])


def message(subject, sender, to):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Sent by python smtplib.\n.leading dot line\n")
    return msg


with smtplib.SMTP("127.0.0.1", mx_port, timeout=30) as smtp:
    code, _ = smtp.ehlo("python.example.org")
    assert code == 250
    assert smtp.has_extn("pipelining") and smtp.has_extn("size") and smtp.has_extn("starttls")
    assert not smtp.has_extn("auth"), "AUTH must not be offered before TLS"
    refused = smtp.send_message(message("smtplib mx", "py@example.org", "alice@example.test"))
    assert refused == {}, refused
    try:
        smtp.sendmail("py@example.org", ["victim@elsewhere.test"], "Subject: relay\r\n\r\nno\r\n")
        raise AssertionError("relay was accepted")
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients["victim@elsewhere.test"]
        assert code == 554 and text.startswith(b"5.7.1"), (code, text)
    print("OK mx")

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", submission_port, timeout=30) as smtp:
    smtp.ehlo("python.example.org")
    code, text = smtp.mail("alice@example.test")
    assert code == 530, (code, text)
    smtp.starttls(context=context)
    smtp.ehlo("python.example.org")
    assert smtp.has_extn("auth")
    smtp.login("alice@example.test", "alice")
    smtp.send_message(message("smtplib submission", "alice@example.test", "alice@example.test"))
    print("OK submission")
