#!/usr/bin/env bash
# Server memory per idle connection: samples/MailHost holding N idle SMTP connections (after the
# greeting), N idle logged-in POP3 connections and N IMAP connections logged in with INBOX (1,000
# messages) selected and in IDLE, each in plaintext and with implicit TLS. See
# README.md ("Idle memory") for what it measures and how; the figures go to docs/performance.md.
set -euo pipefail

script_name=idle-memory
repo=$(cd "$(dirname "$0")/../.." && pwd)
ours_project=$repo/samples/MailHost
# shellcheck source=benchmarks/e2e/lib.sh
source "$repo/benchmarks/e2e/lib.sh"

count=10000
cases=(smtp pop3 smtps pop3s imap imaps)
# Messages in the INBOX that the IMAP connections select.
imap_messages=1000
usage() {
    cat <<USAGE
usage: $0 [--count N] [--cases LIST] [--head] [--quick]
  --count N   idle connections per case (default 10000)
  --cases L   the cases to run, comma-separated (default smtp,pop3,smtps,pop3s,imap,imaps)
  --head      measure a git archive of HEAD instead of the working tree
  --quick     200 connections per case: a smoke test that everything starts
USAGE
}
script_option() {
    case "$1" in
        --head) head=1 ;;
        --count=*) count=${1#--count=} ;;
        --cases=*) IFS=, read -r -a cases <<<"${1#--cases=}" ;;
        *) return 1 ;;
    esac
}
# --count N and --cases L as two words: turn them into --count=N and --cases=L for parse_options.
args=()
while (($#)); do
    if [[ $1 == --count || $1 == --cases ]] && (($# >= 2)); then args+=("$1=$2"); shift 2; else args+=("$1"); shift; fi
done
parse_options "${args[@]+"${args[@]}"}"
[[ $count =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
if ((quick)); then count=200; fi

# Each process (the server, the client) holds one descriptor per connection and some more.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > count + 1000)) || die "the open-files limit ($(ulimit -n)) is too low for $count connections"

begin_run
build_ours
build_release benchmarks/IdleLoad "$repo/benchmarks/IdleLoad/IdleLoad.csproj" idleload

# One user per connection: a POP3 maildrop is locked by the session logged in to it.
for ((n = 1; n <= count; n++)); do echo "user$n@example.test:secret"; done >"$work/users"

# The VmRSS of a process in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Asks server NAME for its managed heap (SIGHUP: a full compacting collection, then a "memory" line)
# and prints "RSS_KIB MANAGED_BYTES", the RSS read once that line is out.
measure() {
    local name=$1 pid=${server_pid[$1]} log_file=${server_log[$1]} before i line
    before=$(grep -c '^memory ' "$log_file" || true)
    kill -HUP "$pid"
    for ((i = 0; i < 600; i++)); do
        (($(grep -c '^memory ' "$log_file" || true) > before)) && break
        sleep 0.1
    done
    line=$(grep '^memory ' "$log_file" | tail -n 1)
    [[ -n $line ]] || die "$name printed no memory line"
    echo "$(rss_kib "$pid") $(sed 's/.*managed=\([0-9]*\).*/\1/' <<<"$line")"
}

# Waits for the client's "open N" (or its failure) in FILE; dies if it fails or exits.
wait_client() {
    local name=$1 file=$2 i
    for ((i = 0; i < 6000; i++)); do
        if grep -q '^open ' "$file"; then return 0; fi
        if grep -q '^failed ' "$file" || ! alive "${server_pid[$name]}"; then
            cat "$file" >&2
            die "$name could not open its connections"
        fi
        sleep 0.1
    done
    die "$name did not open its connections within 10 minutes"
}

for case in "${cases[@]}"; do
    [[ $case =~ ^(smtp|pop3|imap)s?$ ]] || { usage >&2; exit 2; }
done
declare -A result=()
for case in "${cases[@]}"; do
    port=$(free_port)
    protocol=${case:0:4}
    tls=()
    [[ $case == *s ]] && tls=(--tls)
    listeners=(--smtp 0 --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imap 0 --imaps 0 "--$case" "$port")
    extra=()
    # Plaintext POP3 and IMAP logins are refused unless allowed (RFC 2595, RFC 9051 LOGINDISABLED); the
    # plaintext cases allow them.
    [[ $case == pop3 || $case == imap ]] && extra=(--allow-plaintext-auth)
    log "$case: starting MailHost on 127.0.0.1:$port"
    start_process "ours-$case" "$work/ours-$case.log" "$work/ours/MailHost" "${listeners[@]}" "${extra[@]+"${extra[@]}"}" \
        --quiet --no-delivery --users-file "$work/users" \
        --max-connections $((count + 100)) --max-connections-per-address $((count + 100))
    for ((i = 0; i < 300; i++)); do
        grep -q '^Press Ctrl+C' "$work/ours-$case.log" && break
        alive "${server_pid[ours-$case]}" || { show_server_output "ours-$case"; die "MailHost exited"; }
        sleep 0.1
    done
    # POP3 locks a maildrop per session, so each connection has its own user; IMAP sessions share one
    # user, whose INBOX the warm-up fills (APPEND) before it opens its connections.
    user='user{n}@example.test'
    fill=()
    if [[ $protocol == imap ]]; then
        user=user1@example.test
        fill=(--fill "$imap_messages")
    fi
    client=("$work/idleload/IdleLoad" "$protocol" --port "$port" --user "$user" --password secret "${tls[@]+"${tls[@]}"}")
    log "$case: warm-up (200 connections opened and closed${fill[*]+"; INBOX filled to $imap_messages messages"})"
    "${client[@]}" "${fill[@]+"${fill[@]}"}" --count 200 --no-hold >"$work/warm-$case.out" || { cat "$work/warm-$case.out" >&2; die "$case warm-up failed"; }
    sleep 2
    read -r rss0 heap0 < <(measure "ours-$case")
    [[ -n ${heap0:-} ]] || die "$case: no memory figures from MailHost"
    log "$case: opening $count idle connections"
    start_process "client-$case" "$work/client-$case.out" "${client[@]}" --count "$count"
    wait_client "client-$case" "$work/client-$case.out"
    sleep 2
    read -r rss1 heap1 < <(measure "ours-$case")
    [[ -n ${heap1:-} ]] || die "$case: no memory figures from MailHost"
    established=$(ss -Htn state established "sport = :$port" | wc -l)
    log "$case: rss ${rss0} -> ${rss1} KiB, managed ${heap0} -> ${heap1} bytes, $established established"
    result[$case]="$rss0 $rss1 $heap0 $heap1 $established"
    stop_server "client-$case"
    stop_server "ours-$case"
done

report=$(
    echo "# Idle connections: server memory per connection"
    echo
    echo "- commit: $(commit_description)"
    echo "- connections per case: $count (IMAP: one user, INBOX of $imap_messages messages selected, in IDLE); .NET $(dotnet --version); $(uname -sr); $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
    echo "- load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| case | RSS before (MiB) | RSS after (MiB) | RSS per connection (KiB) | managed before (MiB) | managed after (MiB) | managed per connection (KiB) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for case in "${cases[@]}"; do
        read -r rss0 rss1 heap0 heap1 established <<<"${result[$case]}"
        awk -v c="$case" -v n="$count" -v r0="$rss0" -v r1="$rss1" -v h0="$heap0" -v h1="$heap1" 'BEGIN {
            printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", c, r0 / 1024, r1 / 1024, (r1 - r0) / n, h0 / 1048576, h1 / 1048576, (h1 - h0) / 1024 / n }'
    done
)
mkdir -p "$repo/benchmarks/e2e/results"
out=$repo/benchmarks/e2e/results/idle-memory-$(date +%Y-%m-%d-%H%M%S).md
echo "$report" >"$out"
echo "$report"
log "report written to $out"
