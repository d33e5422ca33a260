#!/usr/bin/env bash
# Slow, many, big and flooding clients against samples/MailHost on the Maildir store (issue 13, "Slow and many
# clients"), each case on a fresh MailHost:
#   drip   1,000 connections (SMTP, then IMAP) that send one octet every 10 s, while a fresh client connects, reads
#          its greeting and delivers a message (SMTP) or logs in and selects INBOX (IMAP), several times: the fresh
#          client's greeting latency and time to done;
#   hold   10,000 concurrent SMTP connections held after the greeting, then released: the server's RSS, managed heap,
#          descriptors and threads before, at the peak and after release (and a full GC);
#   big    50 concurrent 50 MB messages, by SMTP DATA, SMTP BDAT and IMAP APPEND: the server's peak RSS (VmHWM);
#   flood  clients that pipeline commands without reading a reply (SMTP NOOP, IMAP NOOP, POP3 LIST): the server's
#          peak RSS, and how much of the flood it read.
# No timing is asserted; the figures go to a report in benchmarks/e2e/results/ and to docs/performance.md.
set -euo pipefail

script_name=slow-clients
repo=$(cd "$(dirname "$0")/../.." && pwd)
ours_project=$repo/samples/MailHost
# shellcheck source=benchmarks/e2e/lib.sh
source "$repo/benchmarks/e2e/lib.sh"

drip_count=1000
hold_count=10000
big_count=50
big_size=50000000
flood_count=20
flood_mb=50
probe_tries=10
cases=(drip-smtp drip-imap hold big-smtp-data big-smtp-bdat big-imap-append flood-smtp flood-imap flood-pop3)
usage() {
    cat <<USAGE
usage: $0 [--quick] [--head] [--cases LIST]
  --quick     200 dripping connections, 300 held, 3 messages of 5 MB, 3 floods of 5 MB: seconds, a smoke test
  --head      measure a git archive of HEAD instead of the working tree
  --cases L   comma-separated, of: ${cases[*]}
USAGE
}
script_option() {
    case "$1" in
        --head) head=1 ;;
        --cases=*) IFS=, read -r -a cases <<<"${1#--cases=}" ;;
        *) return 1 ;;
    esac
}
args=()
while (($#)); do
    if [[ $1 == --cases ]] && (($# >= 2)); then args+=("$1=$2"); shift 2; else args+=("$1"); shift; fi
done
parse_options "${args[@]+"${args[@]}"}"
if ((quick)); then
    drip_count=200 hold_count=300 big_count=3 big_size=5000000 flood_count=3 flood_mb=5 probe_tries=3
fi
for case in "${cases[@]}"; do
    [[ " drip-smtp drip-imap hold big-smtp-data big-smtp-bdat big-imap-append flood-smtp flood-imap flood-pop3 " == *" $case "* ]] ||
        { usage >&2; exit 2; }
done

# The server and the client each hold a descriptor per connection, and some more.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > hold_count + 1000)) || die "the open-files limit ($(ulimit -n)) is too low for $hold_count connections"

begin_run
build_ours
build_release benchmarks/SlowClients "$repo/benchmarks/SlowClients/SlowClients.csproj" slowclients
build_release benchmarks/IdleLoad "$repo/benchmarks/IdleLoad/IdleLoad.csproj" idleload
slow=$work/slowclients/SlowClients

# Figures of a process from /proc: kib FIELD PID (VmRSS, VmHWM), descriptors PID, threads PID.
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }
descriptors() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
threads() { awk '$1 == "Threads:" { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Asks MailHost for a full compacting GC (SIGHUP) and prints its managed heap in bytes once it has answered.
managed_after_gc() {
    local pid=${server_pid[ours]} log_file=${server_log[ours]} before i
    before=$(grep -c '^memory ' "$log_file" || true)
    kill -HUP "$pid"
    for ((i = 0; i < 600; i++)); do
        (($(grep -c '^memory ' "$log_file" || true) > before)) && break
        sleep 0.1
    done
    grep '^memory ' "$log_file" | tail -n 1 | sed 's/.*managed=\([0-9]*\).*/\1/'
}

# Starts a fresh MailHost on the Maildir store with the listeners of $1 (smtp, imap, pop3 or all) on free ports
# (smtp_port, imap_port, pop3_port), its spool and Maildir under $work/$2.
start_ours() {
    local which=$1 dir=$work/$2 i
    smtp_port=0 imap_port=0 pop3_port=0
    [[ $which == smtp || $which == all ]] && smtp_port=$(free_port)
    [[ $which == imap || $which == all ]] && imap_port=$(free_port)
    [[ $which == pop3 || $which == all ]] && pop3_port=$(free_port)
    mkdir -p "$dir/tmp"
    server_port[ours]=$smtp_port
    # TMPDIR: where the SMTP server spools messages past 1 MiB while they arrive.
    start_process ours "$dir/ours.log" env TMPDIR="$dir/tmp" "$work/ours/MailHost" \
        --smtp "$smtp_port" --submission 0 --smtps 0 --pop3 "$pop3_port" --pop3s 0 --imap "$imap_port" --imaps 0 \
        --store "maildir:$dir/maildir" --queue "dir:$dir/queue" --no-delivery --allow-plaintext-auth --quiet \
        --max-connections $((hold_count + 1000)) --max-connections-per-address $((hold_count + 1000))
    for ((i = 0; i < 300; i++)); do
        grep -q '^Press Ctrl+C' "$dir/ours.log" && return 0
        alive "${server_pid[ours]}" || { show_server_output ours; die "MailHost exited"; }
        sleep 0.1
    done
    show_server_output ours
    die "MailHost did not start within 30 s"
}

# Waits for "open N" in a client's output; dies if the client failed or exited.
wait_open() {
    local name=$1 file=$2 i
    for ((i = 0; i < 6000; i++)); do
        grep -q '^open ' "$file" && return 0
        if grep -q '^failed ' "$file" || ! alive "${server_pid[$name]}"; then
            cat "$file" >&2
            die "$name could not open its connections"
        fi
        sleep 0.1
    done
    die "$name did not open its connections within 10 minutes"
}

declare -A row=()
notes=()

run_drip() {
    local protocol=$1 port probe_out
    start_ours all "drip-$protocol"
    port=$([[ $protocol == smtp ]] && echo "$smtp_port" || echo "$imap_port")
    log "drip-$protocol: $drip_count connections sending an octet every 10 s"
    start_process drip "$work/drip-$protocol.out" "$slow" drip "$protocol" --port "$port" --count "$drip_count" --interval 10
    wait_open drip "$work/drip-$protocol.out"
    # Every connection has dripped at least once before the fresh client comes.
    sleep $((quick ? 3 : 12))
    probe_out=$work/probe-$protocol.out
    log "drip-$protocol: a fresh client, $probe_tries times"
    "$slow" probe "$protocol" --port "$port" --tries "$probe_tries" --pause 2 >"$probe_out" || {
        cat "$probe_out" >&2
        notes+=("drip-$protocol: a fresh client failed: $(grep failed "$probe_out" | head -n 1)")
    }
    local established rss
    established=$(ss -Htn state established "sport = :$port" | wc -l)
    rss=$(kib VmRSS "${server_pid[ours]}")
    row[drip-$protocol]="$(grep '^probe ' "$probe_out" | sed 's/^probe //') established=$established rss_kib=$rss"
    log "drip-$protocol: ${row[drip-$protocol]}"
    stop_server drip
    stop_server ours
}

run_hold() {
    local rss0 heap0 fd0 th0 rss1 fd1 th1 hwm rss2 heap2 fd2 th2 established i
    start_ours smtp hold
    log "hold: warm-up (200 connections opened and closed)"
    "$work/idleload/IdleLoad" smtp --port "$smtp_port" --count 200 --no-hold >"$work/hold-warm.out" ||
        { cat "$work/hold-warm.out" >&2; die "hold warm-up failed"; }
    sleep 2
    heap0=$(managed_after_gc)
    rss0=$(kib VmRSS "${server_pid[ours]}") fd0=$(descriptors "${server_pid[ours]}") th0=$(threads "${server_pid[ours]}")
    log "hold: opening $hold_count connections"
    start_process hold "$work/hold.out" "$work/idleload/IdleLoad" smtp --port "$smtp_port" --count "$hold_count" --sources 16 --timeout 300
    wait_open hold "$work/hold.out"
    sleep 2
    established=$(ss -Htn state established "sport = :$smtp_port" | wc -l)
    rss1=$(kib VmRSS "${server_pid[ours]}") fd1=$(descriptors "${server_pid[ours]}") th1=$(threads "${server_pid[ours]}")
    hwm=$(kib VmHWM "${server_pid[ours]}")
    log "hold: releasing them"
    stop_server hold
    for ((i = 0; i < 600; i++)); do
        (($(ss -Htn state established "sport = :$smtp_port" | wc -l) == 0)) && break
        sleep 0.1
    done
    sleep 3
    heap2=$(managed_after_gc)
    rss2=$(kib VmRSS "${server_pid[ours]}") fd2=$(descriptors "${server_pid[ours]}") th2=$(threads "${server_pid[ours]}")
    row[hold]="$rss0 $heap0 $fd0 $th0 $rss1 $fd1 $th1 $hwm $established $rss2 $heap2 $fd2 $th2"
    log "hold: rss $rss0 -> $rss1 (peak $hwm) -> $rss2 KiB; fds $fd0 -> $fd1 -> $fd2; threads $th0 -> $th1 -> $th2; managed $heap0 -> $heap2"
    ((fd2 <= fd0 + 5)) || notes+=("hold: $((fd2 - fd0)) descriptors more after release than before")
    stop_server ours
}

run_big() {
    local how=$1 protocol out rss0 hwm spool
    protocol=${how%%-*}
    start_ours "$protocol" "big-$how"
    rss0=$(kib VmRSS "${server_pid[ours]}")
    out=$work/big-$how.out
    log "big-$how: $big_count messages of $big_size octets at once"
    "$slow" big "$how" --port "$([[ $protocol == smtp ]] && echo "$smtp_port" || echo "$imap_port")" --count "$big_count" --size "$big_size" >"$out" || {
        cat "$out" >&2
        notes+=("big-$how: $(tail -n 1 "$out")")
    }
    hwm=$(kib VmHWM "${server_pid[ours]}")
    spool=$(find "$work/big-$how/tmp" -type f 2>/dev/null | wc -l)
    row[big-$how]="$rss0 $hwm $(sed -n 's/^big //p' "$out") spool_files_left=$spool"
    log "big-$how: rss before $rss0 KiB, peak $hwm KiB; $(head -n 1 "$out")"
    stop_server ours
    rm -rf "$work/big-$how"
}

run_flood() {
    local protocol=$1 out rss0 hwm port count=$flood_count
    if [[ $protocol == pop3 ]]; then
        # A maildrop is locked by its session: one flooding connection, to a maildrop of 200 messages delivered
        # first over SMTP (its LIST reply is ~3 KB for a 6-octet command).
        count=1
        start_ours all flood-pop3
        "$slow" probe smtp --port "$smtp_port" --tries 200 --pause 0 >"$work/flood-pop3-fill.out" ||
            { tail -n 3 "$work/flood-pop3-fill.out" >&2; die "flood-pop3: filling the maildrop failed"; }
    else
        start_ours "$protocol" "flood-$protocol"
    fi
    port=$(case $protocol in smtp) echo "$smtp_port" ;; imap) echo "$imap_port" ;; pop3) echo "$pop3_port" ;; esac)
    rss0=$(kib VmRSS "${server_pid[ours]}")
    out=$work/flood-$protocol.out
    log "flood-$protocol: $count connection(s) pipelining $flood_mb MB each without reading"
    "$slow" flood "$protocol" --port "$port" --count "$count" --megabytes "$flood_mb" >"$out" || { cat "$out" >&2; notes+=("flood-$protocol failed"); }
    hwm=$(kib VmHWM "${server_pid[ours]}")
    row[flood-$protocol]="$rss0 $hwm $count $(sed -n 's/^flood //p' "$out")"
    log "flood-$protocol: rss before $rss0 KiB, peak $hwm KiB; $(head -n 1 "$out")"
    stop_server ours
}

for case in "${cases[@]}"; do
    case $case in
        drip-*) run_drip "${case#drip-}" ;;
        hold) run_hold ;;
        big-*) run_big "${case#big-}" ;;
        flood-*) run_flood "${case#flood-}" ;;
    esac
done

out=$(new_report_path slow-clients)
{
    echo "# Slow and many clients (samples/MailHost, Maildir store)"
    echo
    report_when_line
    report_machine_line "$(ulimit -n) descriptors"
    report_load_line "the latencies"
    ((quick)) && echo "- --quick: a smoke test, not a measurement"
    for case in drip-smtp drip-imap; do
        [[ -n ${row[$case]:-} ]] || continue
        echo
        echo "## $case: $drip_count connections dripping an octet every 10 s, a fresh client $probe_tries times"
        echo
        echo "| median greeting (ms) | max greeting (ms) | median $([[ $case == drip-smtp ]] && echo "delivered" || echo "logged in, INBOX selected") (ms) | max (ms) | failed | established | server RSS (MiB) |"
        echo "|---:|---:|---:|---:|---:|---:|---:|"
        r=${row[$case]}
        v() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$r"; }
        echo "| $(v median_greeting_ms) | $(v max_greeting_ms) | $(v median_done_ms) | $(v max_done_ms) | $(v failed) | $(v established) | $(mib "$(v rss_kib)") |"
    done
    if [[ -n ${row[hold]:-} ]]; then
        read -r rss0 heap0 fd0 th0 rss1 fd1 th1 hwm established rss2 heap2 fd2 th2 <<<"${row[hold]}"
        echo
        echo "## hold: $hold_count SMTP connections held after the greeting, then released"
        echo
        echo "| | RSS (MiB) | managed heap after GC (MiB) | descriptors | threads |"
        echo "|---|---:|---:|---:|---:|"
        echo "| before | $(mib "$rss0") | $(awk -v b="$heap0" 'BEGIN { printf "%.1f", b / 1048576 }') | $fd0 | $th0 |"
        echo "| $established established (peak RSS $(mib "$hwm")) | $(mib "$rss1") | | $fd1 | $th1 |"
        echo "| after release | $(mib "$rss2") | $(awk -v b="$heap2" 'BEGIN { printf "%.1f", b / 1048576 }') | $fd2 | $th2 |"
    fi
    header=0
    for case in big-smtp-data big-smtp-bdat big-imap-append; do
        [[ -n ${row[$case]:-} ]] || continue
        if ((!header)); then
            echo
            echo "## big: $big_count concurrent messages of $big_size octets ($(awk -v n="$big_count" -v s="$big_size" 'BEGIN { printf "%.0f", n * s / 1048576 }') MiB in all)"
            echo
            echo "| case | RSS before (MiB) | peak RSS (MiB) | stored | failed | seconds | spool files left |"
            echo "|---|---:|---:|---:|---:|---:|---:|"
            header=1
        fi
        r=${row[$case]}
        read -r rss0 hwm _ <<<"$r"
        v() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$r"; }
        echo "| ${case#big-} | $(mib "$rss0") | $(mib "$hwm") | $(v ok) | $(v failed) | $(v seconds) | $(v spool_files_left) |"
    done
    header=0
    for case in flood-smtp flood-imap flood-pop3; do
        [[ -n ${row[$case]:-} ]] || continue
        if ((!header)); then
            echo
            echo "## flood: clients pipelining $flood_mb MB of commands each without reading a reply"
            echo
            echo "| case | connections | RSS before (MiB) | peak RSS (MiB) | MB the clients got sent | connections stalled |"
            echo "|---|---:|---:|---:|---:|---:|"
            header=1
        fi
        r=${row[$case]}
        read -r rss0 hwm count _ <<<"$r"
        v() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$r"; }
        echo "| ${case#flood-} | $count | $(mib "$rss0") | $(mib "$hwm") | $(v sent_mb) | $(sed -n 's/.*stalled=\([0-9]*\).*/\1/p' <<<"$r") |"
    done
    if ((${#notes[@]})); then
        echo
        printf -- '- %s\n' "${notes[@]}"
    fi
} >"$out"
failures=${#notes[@]}
show_report "$out"
