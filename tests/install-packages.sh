#!/usr/bin/env bash
# Installs the Debian packages the tests, the fuzz smoke and the e2e scripts drive (swaks, python3, curl, mbsync, mutt,
# openssl, dnsmasq as the tests' DNS server, Dovecot for the interop tests and benchmarks, afl++, gnuplot, Postfix's
# smtp-source, clang and zlib for the Native AOT publish, PostgreSQL), when missing.
# Needs root (apt-get). Server packages never start as services: policy-rc.d refuses, and dnsmasq-base ships the binary
# without a service; each test starts what it needs by hand on 127.0.0.1. tests/run-tests.sh and .ci/run call it.
set -euo pipefail
missing=()
command -v swaks >/dev/null || missing+=(swaks)
command -v python3 >/dev/null || missing+=(python3)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
# Dovecot reads the Maildir our store writes (interop tests); each test starts it by hand on 127.0.0.1.
[ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
[ -x /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
# Dovecot's LMTP service delivers the messages its IDLE clients wait for in benchmarks/e2e/imap-mixed.sh.
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
# IMAP clients the interop tests drive (curl is on the image already; mutt runs under script(1), from bsdutils).
command -v mbsync >/dev/null || missing+=(isync)
command -v mutt >/dev/null || missing+=(mutt)
# The abuse tests make a client-initiated TLS renegotiation with openssl s_client (.NET has no client API for it).
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
# The fuzzer the fuzz smoke runs (tests/Mail.Protocols.Fuzz/fuzz.sh).
command -v afl-fuzz >/dev/null || missing+=(afl++)
# Postfix's smtp-source drives benchmarks/e2e/smtp-load.sh (its --quick smoke runs in .ci/run); only the tool is wanted,
# so Postfix is preseeded with "No configuration" and, like every server here, never started as a service.
[ -x /usr/sbin/smtp-source ] || missing+=(postfix)
# benchmarks/e2e/soak.sh draws its graph of memory, descriptors and threads over time with gnuplot.
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
# PostgreSQL for tests/Mail.Protocols.PostgreSql.Tests, which make throw-away clusters of their own with initdb (the
# package's own cluster and service are never started: policy-rc.d refuses).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# Native AOT publishing (tests/AotHost) links with clang against zlib.
command -v clang >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run this script as root once (sudo bash tests/install-packages.sh)" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
