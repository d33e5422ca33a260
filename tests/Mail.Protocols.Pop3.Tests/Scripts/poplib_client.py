#!/usr/bin/env python3
"""Drives a Mail.Protocols POP3 server with Python's poplib (a second, independent client).

usage: poplib_client.py POP3_PORT EXPECTED_COUNT
Session 1: STLS (certificate not verified: the test host's is self-signed), USER/PASS, STAT, LIST, UIDL,
RETR of every message (printing a SHA-256 of the reassembled octets), DELE 1, QUIT.
Session 2: APOP refused on the plain connection, then APOP after STLS, STAT shows one message less, QUIT.
Prints OK lines; any failed expectation raises and exits non-zero.
"""
import hashlib
import poplib
import ssl
import sys
import time

port, expected = int(sys.argv[1]), int(sys.argv[2])
USER, PASSWORD = "alice@example.test", "alice"

context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE

pop = poplib.POP3("127.0.0.1", port, timeout=30)
welcome = pop.getwelcome()
assert welcome.startswith(b"+OK") and b"<" in welcome, welcome
caps = pop.capa()
assert "STLS" in caps and "USER" not in caps and "SASL" not in caps, caps
try:
    pop.user(USER)
    raise AssertionError("USER accepted before STLS")
except poplib.error_proto as e:
    assert b"[AUTH]" in e.args[0], e
print("OK plaintext USER refused")

pop.stls(context=context)
caps = pop.capa()
assert "USER" in caps and "STLS" not in caps and "PIPELINING" in caps and "UIDL" in caps, caps
assert "PLAIN" in caps.get("SASL", []), caps
print("OK stls")

pop.user(USER)
resp = pop.pass_(PASSWORD)
assert resp.startswith(b"+OK"), resp
print("OK login")

count, size = pop.stat()
assert count == expected, (count, expected)
print("OK stat %d %d" % (count, size))

resp, listing, _ = pop.list()
sizes = {int(n): int(s) for n, s in (line.split() for line in listing)}
assert sorted(sizes) == list(range(1, expected + 1)), listing
assert sum(sizes.values()) == size, (sizes, size)
print("OK list")

resp, uidls, _ = pop.uidl()
uids = {int(n): u for n, u in (line.split() for line in uidls)}
assert sorted(uids) == list(range(1, expected + 1)) and len(set(uids.values())) == expected, uidls
assert pop.uidl(2).split()[2] == uids[2]
print("OK uidl")

for number in range(1, expected + 1):
    resp, lines, octets = pop.retr(number)
    content = b"\r\n".join(lines) + b"\r\n"
    assert len(content) == sizes[number], (number, len(content), sizes[number])
    assert b"." in lines and b".dot first" in lines, lines  # un-stuffed by poplib
    print("RETR %d %s" % (number, hashlib.sha256(content).hexdigest()))

resp, lines, _ = pop.top(1, 0)
assert lines[-1] == b"" and any(l.startswith(b"Subject: ") for l in lines), lines
print("OK top")

resp = pop.dele(1)
assert resp.startswith(b"+OK"), resp
try:
    pop.retr(1)
    raise AssertionError("RETR of a deleted message succeeded")
except poplib.error_proto:
    pass
count, _ = pop.stat()
assert count == expected - 1, count
print("OK dele")

resp = pop.quit()
assert resp.startswith(b"+OK"), resp
print("OK quit")

# Session 2: APOP, like every login, needs TLS (the greeting's timestamp stays valid after STLS).
# Retry briefly while the server finishes session 1 and frees the lock.
for attempt in range(100):
    pop = poplib.POP3("127.0.0.1", port, timeout=30)
    try:
        pop.apop(USER, PASSWORD)
        raise AssertionError("APOP accepted before STLS")
    except poplib.error_proto as e:
        assert e.args[0] == b"-ERR [AUTH] Authentication requires TLS, use STLS first", e
    pop.stls(context=context)
    try:
        pop.apop(USER, PASSWORD)
        break
    except poplib.error_proto as e:
        pop.close()
        if b"[IN-USE]" not in e.args[0] or attempt == 99:
            raise
        time.sleep(0.02)
count, _ = pop.stat()
assert count == expected - 1, count
pop.quit()
print("OK apop refused in plaintext")
print("OK apop")
