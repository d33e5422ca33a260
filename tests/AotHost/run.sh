#!/usr/bin/env bash
# Publishes tests/AotHost as a Native AOT executable from the packages of version $1 (restored into $2), runs it, and
# drives it with curl over real sockets: a message in over SMTP, a message relayed from an authenticated submission
# that comes back as a bounce through the file queue, both read over IMAP (with STARTTLS) and one over POP3, then a
# clean stop when its input closes. A trimming or AOT warning from a package fails the publish.
# Called by tests/PackageConsumer/run.sh; needs clang and zlib's headers (tests/install-packages.sh).
set -euo pipefail
version=$1 cache=$2
cd "$(dirname "$0")"
rid=linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
dotnet publish AotHost.csproj -c Release -r "$rid" -p:MailProtocolsVersion="$version" -p:RestorePackagesPath="$cache" -o "$work/bin" --nologo -v quiet
[[ -x $work/bin/AotHost && ! -e $work/bin/AotHost.dll ]] || { echo "the AOT publish made no native executable" >&2; exit 1; }

mkfifo "$work/in"
"$work/bin/AotHost" "$work/data" <"$work/in" >"$work/out" 2>&1 &
pid=$!
exec 7>"$work/in" # held open: the host stops when it closes
for _ in $(seq 100); do [[ -s $work/out ]] && break; sleep 0.1; done
declare -A port
for pair in $(head -n 1 "$work/out"); do port[${pair%%=*}]=${pair#*=}; done
[[ -n ${port[smtp]:-} && -n ${port[submission]:-} && -n ${port[imap]:-} && -n ${port[pop3]:-} ]] ||
  { echo "the AOT host did not print its ports:" >&2; cat "$work/out" >&2; exit 1; }

printf 'From: carol@example.org\r\nTo: alice@example.test\r\nSubject: to the AOT host\r\n\r\nhello\r\n' >"$work/in.eml"
curl -sS --max-time 30 "smtp://127.0.0.1:${port[smtp]}" --mail-from carol@example.org --mail-rcpt alice@example.test -T "$work/in.eml"
printf 'From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: relayed\r\n\r\nhi\r\n' >"$work/out.eml"
curl -sS --max-time 30 "smtp://127.0.0.1:${port[submission]}" --ssl-reqd -k -u alice@example.test:alice \
  --mail-from alice@example.test --mail-rcpt bob@remote.test -T "$work/out.eml"

imap() { curl -sS --max-time 30 --ssl-reqd -k -u alice@example.test:alice "imap://127.0.0.1:${port[imap]}/INBOX" -X "$1"; }
for _ in $(seq 300); do
  fetched=$(imap 'UID FETCH 1:* (BODYSTRUCTURE ENVELOPE)') || fetched=
  grep -q 'Undelivered Mail Returned to Sender' <<<"$fetched" && break
  sleep 0.1
done
grep -q '"to the AOT host"' <<<"$fetched" || { echo "IMAP did not show the message sent over SMTP:" >&2; echo "$fetched" >&2; exit 1; }
grep -q 'Undelivered Mail Returned to Sender' <<<"$fetched" && grep -q '"delivery-status"' <<<"$fetched" ||
  { echo "the relayed message did not come back as a bounce through the queue:" >&2; echo "$fetched" >&2; cat "$work/out" >&2; exit 1; }
retrieved=$(curl -sS --max-time 30 --ssl-reqd -k -u alice@example.test:alice "pop3://127.0.0.1:${port[pop3]}/1")
grep -q '^Subject: to the AOT host' <<<"$retrieved" || { echo "POP3 RETR did not give the message:" >&2; echo "$retrieved" >&2; exit 1; }

exec 7>&-
for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { echo "the AOT host did not stop within 30 s of its input closing" >&2; cat "$work/out" >&2; exit 1; }
status=0
wait "$pid" || status=$?
pid=
[[ $status -eq 0 ]] || { echo "the AOT host did not stop cleanly (exit $status):" >&2; cat "$work/out" >&2; exit 1; }
echo "Native AOT host ($(du -m "$work/bin/AotHost" | cut -f1) MB): SMTP in, a bounce through the file queue, IMAP and POP3 out, a clean stop"
