#!/usr/bin/env bash
# Server memory per idle connection: samples/MailHost holding N idle SMTP connections (after the
# greeting), N idle logged-in POP3 connections and N IMAP connections logged in with INBOX (1,000
# messages) selected and in IDLE, each in plaintext and with implicit TLS; and, for comparison, Debian's
# Dovecot holding the same idle IMAP connections (a process per connection, or handed to imap-hibernate),
# its memory summed over all its processes as PSS. See README.md ("Idle memory") for what it measures and
# how; the figures go to docs/performance.md.
set -euo pipefail

script_name=idle-memory
repo=$(cd "$(dirname "$0")/../.." && pwd)
ours_project=$repo/samples/MailHost
# shellcheck source=benchmarks/e2e/lib.sh
source "$repo/benchmarks/e2e/lib.sh"

count=10000
# Connections for the Dovecot cases (a process each in the "dovecot" case); default: --count.
dovecot_count=""
cases=(smtp pop3 smtps pop3s imap imaps)
dovecot=${DOVECOT:-/usr/sbin/dovecot}
# Dovecot's mail processes run as nobody.
mail_uid=65534
mail_gid=65534
# Messages in the INBOX that the IMAP connections select.
imap_messages=1000
usage() {
    cat <<USAGE
usage: $0 [--count N] [--cases LIST] [--dovecot-count N] [--head] [--quick]
  --count N   idle connections per case (default 10000)
  --cases L   the cases to run, comma-separated (default smtp,pop3,smtps,pop3s,imap,imaps); also
              dovecot (Debian's Dovecot IMAP, a process per connection) and dovecot-hibernate (the same
              with idle IDLE clients handed to imap-hibernate), both plaintext IMAP as the imap case
  --dovecot-count N  idle connections in the Dovecot cases (default: --count)
  --head      measure a git archive of HEAD instead of the working tree
  --quick     200 connections per case: a smoke test that everything starts
USAGE
}
script_option() {
    case "$1" in
        --head) head=1 ;;
        --count=*) count=${1#--count=} ;;
        --dovecot-count=*) dovecot_count=${1#--dovecot-count=} ;;
        --cases=*) IFS=, read -r -a cases <<<"${1#--cases=}" ;;
        *) return 1 ;;
    esac
}
# --count N and --cases L as two words: turn them into --count=N and --cases=L for parse_options.
args=()
while (($#)); do
    if [[ $1 == --count || $1 == --cases || $1 == --dovecot-count ]] && (($# >= 2)); then args+=("$1=$2"); shift 2; else args+=("$1"); shift; fi
done
parse_options "${args[@]+"${args[@]}"}"
[[ $count =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
if ((quick)); then count=200 dovecot_count=200; fi
dovecot_count=${dovecot_count:-$count}
[[ $dovecot_count =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
for case in "${cases[@]}"; do
    [[ $case =~ ^((smtp|pop3|imap)s?|dovecot|dovecot-hibernate)$ ]] || { usage >&2; exit 2; }
done
ours_cases=0 dovecot_cases=0
for case in "${cases[@]}"; do
    if [[ $case == dovecot* ]]; then dovecot_cases=1; else ours_cases=1; fi
done
if ((dovecot_cases)); then
    [[ -x $dovecot && -x /usr/lib/dovecot/imap && -x /usr/lib/dovecot/imap-hibernate ]] ||
        die "Dovecot's IMAP server is missing (dovecot-imapd; see imap-load.sh for installing it without starting it)"
    require_dovecot_users
fi

# Each process (the server, the client) holds one descriptor per connection and some more.
ulimit -n "$(ulimit -Hn)"
most=$((count > dovecot_count ? count : dovecot_count))
(($(ulimit -n) > most + 1000)) || die "the open-files limit ($(ulimit -n)) is too low for $most connections"
# Dovecot's case needs a process per connection, and every thread of every process takes a PID.
if ((dovecot_cases)) && (($(cat /proc/sys/kernel/pid_max) < dovecot_count + 5000)); then
    die "kernel.pid_max ($(cat /proc/sys/kernel/pid_max)) is too low for $dovecot_count Dovecot processes"
fi

begin_run
# Dovecot's IDLE processes need an inotify instance each (lib.sh raise_inotify_instances).
if ((dovecot_cases)) && ! raise_inotify_instances $((dovecot_count + 1000)); then
    die "fs.inotify.max_user_instances ($(cat "$inotify_limit")) is below $((dovecot_count + 1000)); raise it (sysctl) or lower --dovecot-count"
fi
if ((ours_cases)); then build_ours; fi
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

# The PSS (proportional set size, /proc/PID/smaps_rollup) of process $1 and all its descendants, in KiB:
# shared pages (the binaries, libraries and Dovecot's memory-mapped index files) are divided among the
# processes that map them, so the sum counts each page once. Prints "PSS_KIB PROCESSES IMAP_PROCESSES
# HIBERNATE_PROCESSES".
tree_pss() {
    local pids pid comm key value _ pss=0 processes=0 imap=0 hibernate=0
    pids=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        {
            line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
            ppid[$1] = f[2]
        }
        END {
            for (p in ppid) {
                q = p
                for (depth = 0; depth < 20 && q != root && q in ppid && q > 1; depth++) q = ppid[q]
                if (q == root) print p
            }
        }')
    for pid in $pids; do
        # A process may end while this reads it: it is then left out.
        read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
        key="" value=""
        while read -r key value _; do
            [[ $key == Pss: ]] && break
        done 2>/dev/null <"/proc/$pid/smaps_rollup" || true
        [[ $key == Pss: && -n $value ]] || continue
        pss=$((pss + value))
        processes=$((processes + 1))
        [[ $comm == imap ]] && imap=$((imap + 1))
        [[ $comm == imap-hibernate ]] && hibernate=$((hibernate + 1))
    done
    echo "$pss $processes $imap $hibernate"
}

# One Dovecot case: Debian's Dovecot IMAP on a fresh config and Maildir, the same workload as the imap case
# (one user, INBOX filled to $imap_messages messages by APPEND, N connections logged in with LOGIN, INBOX
# selected, in IDLE), memory summed over all of Dovecot's processes with PSS before and after.
run_dovecot_case() {
    local case=$1 n=$dovecot_count port mail=$work/mail user=user1@example.test i state problems
    port=$(free_port)
    server_port[dovecot]=$port
    rm -rf "$work/dovecot" "$mail"
    # Dovecot's mail processes run as nobody and must reach the Maildir below $work.
    chmod 711 "$work"
    mkdir -p "$mail"
    chown "$mail_uid:$mail_gid" "$mail"
    write_dovecot_conf imap "$port" "maildir:$mail/%Lu" %Lu
    dovecot_user "$user" secret "$mail/$user" >"$work/dovecot/users"
    # Debian's process model (a new imap-login and imap process per connection, the login process gone once
    # the client is handed over), with its limits raised to N connections of one user from one address:
    # imap processes (default 1024), connections per user and address (default 10), and the clients of the
    # services every imap process talks to (default_client_limit, 1000).
    cat >>"$work/dovecot/dovecot.conf" <<EOF
default_client_limit = $((n + 1000))
protocol imap {
  mail_max_userip_connections = $((n + 100))
}
service imap {
  process_limit = $((n + 100))
}
service imap-login {
  process_limit = 1000
}
EOF
    if [[ $case == dovecot-hibernate ]]; then
        # An imap process whose client has been in IDLE for imap_hibernate_timeout hands the connection and its
        # state to the imap-hibernate process and exits. The imap processes run as nobody and must reach
        # imap-hibernate's socket (in this run's private base_dir); imap-hibernate, as dovecot, imap-master's.
        cat >>"$work/dovecot/dovecot.conf" <<EOF
imap_hibernate_timeout = 2s
service imap-hibernate {
  unix_listener imap-hibernate {
    mode = 0666
  }
}
service imap {
  unix_listener imap-master {
    user = \$default_internal_user
  }
}
EOF
    fi
    log "$case: starting Dovecot on 127.0.0.1:$port"
    launch_dovecot "* OK" "an IMAP client"
    client=("$work/idleload/IdleLoad" imap --port "$port" --user "$user" --password secret)
    log "$case: warm-up (200 connections opened and closed; INBOX filled to $imap_messages messages)"
    "${client[@]}" --fill "$imap_messages" --count 200 --no-hold >"$work/warm-$case.out" ||
        { cat "$work/warm-$case.out" >&2; show_server_output dovecot; die "$case warm-up failed"; }
    sleep 3
    read -r pss0 processes0 imap0 hibernate0 < <(tree_pss "${server_pid[dovecot]}")
    log "$case: PSS ${pss0} KiB in $processes0 processes; opening $n idle connections"
    start_process "client-$case" "$work/client-$case.out" "${client[@]}" --count "$n" --timeout 300
    for ((i = 0; i < 12000; i++)); do
        if grep -q '^open ' "$work/client-$case.out"; then break; fi
        if grep -q '^failed ' "$work/client-$case.out" || ! alive "${server_pid[client-$case]}"; then
            cat "$work/client-$case.out" >&2
            show_server_output dovecot
            die "$case: the client could not open its connections"
        fi
        sleep 0.1
    done
    grep -q '^open ' "$work/client-$case.out" || die "$case: the connections were not open within 20 minutes"
    if [[ $case == dovecot-hibernate ]]; then
        # Until every imap process has handed its client over, or their number has not fallen for 30 s
        # (those left are counted as they are, and the report shows how many).
        local left=-1 still=0
        for ((i = 0; i < 120 && still < 6; i++)); do
            read -r _ _ state _ < <(tree_pss "${server_pid[dovecot]}")
            ((state == 0)) && break
            if ((state == left)); then still=$((still + 1)); else still=0; fi
            left=$state
            sleep 5
        done
    fi
    sleep 2
    read -r pss1 processes1 imap1 hibernate1 < <(tree_pss "${server_pid[dovecot]}")
    established=$(ss -Htn state established "sport = :$port" | wc -l)
    log "$case: PSS ${pss0} -> ${pss1} KiB, processes $processes0 -> $processes1 (imap $imap1, imap-hibernate $hibernate1), $established established"
    result[$case]="$pss0 $pss1 $processes0 $processes1 $imap1 $hibernate1 $established $n"
    stop_server "client-$case"
    stop_server dovecot
    # The master's children end with it; wait for the last ones so the next case starts on a quiet machine.
    for ((i = 0; i < 600; i++)); do
        pgrep -u "$mail_uid" -x imap >/dev/null || break
        sleep 0.1
    done
    problems=$(log_problems "$work/dovecot/dovecot.log" | head -n 3 || true)
    [[ -z $problems ]] || notes+=("$case: Dovecot's log has warnings or errors; the first: $(tr '\n' ' ' <<<"$problems")")
}

declare -A result=()
notes=()
for case in "${cases[@]}"; do
    if [[ $case == dovecot* ]]; then
        run_dovecot_case "$case"
        continue
    fi
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
    if ((ours_cases)); then
        echo "| case | RSS before (MiB) | RSS after (MiB) | RSS per connection (KiB) | managed before (MiB) | managed after (MiB) | managed per connection (KiB) |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        for case in "${cases[@]}"; do
            [[ $case != dovecot* ]] || continue
            read -r rss0 rss1 heap0 heap1 established <<<"${result[$case]}"
            awk -v c="$case" -v n="$count" -v r0="$rss0" -v r1="$rss1" -v h0="$heap0" -v h1="$heap1" 'BEGIN {
                printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", c, r0 / 1024, r1 / 1024, (r1 - r0) / n, h0 / 1048576, h1 / 1048576, (h1 - h0) / 1024 / n }'
        done
    fi
    if ((dovecot_cases)); then
        if ((ours_cases)); then echo; fi
        echo "Dovecot $("$dovecot" --version | head -n 1) (dovecot-imapd $(package_version dovecot-imapd)), plaintext IMAP, memory summed over all its processes as PSS:"
        echo
        echo "| case | connections | processes before | processes after (imap, imap-hibernate) | PSS before (MiB) | PSS after (MiB) | PSS per connection (KiB) | established |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
        for case in "${cases[@]}"; do
            [[ $case == dovecot* ]] || continue
            read -r pss0 pss1 processes0 processes1 imap1 hibernate1 established n <<<"${result[$case]}"
            awk -v c="$case" -v n="$n" -v p0="$pss0" -v p1="$pss1" -v q0="$processes0" -v q1="$processes1" -v i1="$imap1" -v h1="$hibernate1" -v e="$established" 'BEGIN {
                printf "| %s | %d | %d | %d (%d, %d) | %.1f | %.1f | %.1f | %d |\n", c, n, q0, q1, i1, h1, p0 / 1024, p1 / 1024, (p1 - p0) / n, e }'
        done
    fi
    if ((${#notes[@]})); then
        echo
        printf -- '- %s\n' "${notes[@]}"
    fi
)
mkdir -p "$repo/benchmarks/e2e/results"
out=$repo/benchmarks/e2e/results/idle-memory-$(date +%Y-%m-%d-%H%M%S).md
echo "$report" >"$out"
echo "$report"
log "report written to $out"
