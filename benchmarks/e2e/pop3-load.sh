#!/usr/bin/env bash
# End-to-end POP3 load benchmark: our server (samples/MailHost) against Dovecot's POP3 server (Debian's
# dovecot-pop3d, started by hand with a config of its own), side by side in one run, with the same load
# from benchmarks/Pop3Load. See benchmarks/e2e/README.md.
#
# Usage: benchmarks/e2e/pop3-load.sh [--quick] [--runs N] [--dovecot-tuned]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/pop3-load.sh [--quick] [--runs N] [--dovecot-tuned]

  --quick          a few sessions per case and one run: a smoke test, not a measurement
  --runs N         measure each case N times, each time on fresh server processes, and report the
                   medians (default 3, or 1 with --quick)
  --dovecot-tuned  run Dovecot in its documented high-performance shape (long-lived login and pop3
                   processes) instead of Debian's defaults (a new process per connection)

Environment: SESSIONS_1 and SESSIONS_20 (sessions per run at 1 and 20 clients, defaults 400 and
1000), DOVECOT (default /usr/sbin/dovecot), OURS_EXTRA_ARGS (more options for MailHost).
EOF
}

script_name=pop3-load
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

tuned=0
# The options of this script alone (parse_options takes --quick and --runs).
script_option() {
    case "$1" in
        --dovecot-tuned) tuned=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

dovecot=${DOVECOT:-/usr/sbin/dovecot}
ours_project=$repo/samples/MailHost
load_project=$repo/benchmarks/Pop3Load

concurrencies=(1 20)
declare -A sessions_for=()
if ((quick)); then
    sessions_for[1]=${SESSIONS_1:-20}
    sessions_for[20]=${SESSIONS_20:-40}
else
    sessions_for[1]=${SESSIONS_1:-400}
    sessions_for[20]=${SESSIONS_20:-1000}
fi
# The workload: every session downloads all of this many messages of this size.
message_count=100
message_size=10240
# One mailbox per client, so no two sessions at a time share a maildrop (our server locks it and
# answers a second login with -ERR [IN-USE], as RFC 1939 allows).
max_clients=20
user_format='bench{n}@example.test'
password=bench
mail_uid=65534
mail_gid=65534

if [[ ! -x $dovecot ]]; then
    die "$dovecot not found. It comes with Debian's dovecot-pop3d package; install it without starting
the service: put a policy-rc.d that exits 101 in /usr/sbin, then
DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-pop3d"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
require_dovecot_users
if ! [[ ${sessions_for[1]} =~ ^[1-9][0-9]*$ && ${sessions_for[20]} =~ ^[1-9][0-9]*$ ]] || ((sessions_for[20] < 20)); then
    die "SESSIONS_1 must be at least 1 and SESSIONS_20 at least 20"
fi

begin_run
trap 'log "error: line $LINENO exited with status $?"' ERR
# Dovecot's mail processes run as nobody and must reach the mailboxes below $work.
chmod 711 "$work"

# Our server with POP3 on server_port[ours] and SMTP (to load the messages) on server_port[ours.smtp].
start_ours() {
    local -a extra=() users=()
    local n port smtp_port
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    for ((n = 1; n <= max_clients; n++)); do
        users+=(--user "$(user_name "$n"):$password")
    done
    port=$(free_port)
    smtp_port=$(free_port)
    while ((smtp_port == port)); do smtp_port=$(free_port); done
    server_port[ours]=$port
    server_port[ours.smtp]=$smtp_port
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --smtp "$smtp_port" --submission 0 \
        --smtps 0 --pop3 "$port" --pop3s 0 --imap 0 --imaps 0 --domain example.test "${users[@]}" \
        --allow-plaintext-auth --quiet --max-connections-per-address 1000 "${extra[@]}"
    wait_listening ours +OK "a POP3 client"
    wait_listening ours 220 "an SMTP client" "$smtp_port"
}

# Our store is in memory and empty at start: every user gets the messages over SMTP.
load_ours() {
    dotnet "$work/load/Pop3Load.dll" smtp --port "${server_port[ours.smtp]}" --user "$user_format" \
        --users "$max_clients" --messages "$message_count" --size "$message_size" --time-limit 120 \
        >"$work/smtp.out" 2>&1 || { cat "$work/smtp.out" >&2; die "loading the messages into our server over SMTP failed"; }
}

user_name() { local format=$user_format; printf '%s' "${format//\{n\}/$(printf '%02d' "$1")}"; }

# Dovecot on a new port each time (the port is in its config, written just before the start): one
# Maildir per user in its home, Debian's process model unless --dovecot-tuned.
start_dovecot() {
    server_port[dovecot]=$(free_port)
    write_dovecot_conf pop3 "${server_port[dovecot]}" "maildir:~/Maildir" %u
    if ((tuned)); then
        append_dovecot_tuned_services pop3
        cat >>"$work/dovecot/dovecot.conf" <<EOF
# Room for every login and pop3 process Dovecot may run (it warns otherwise).
service auth {
  client_limit = 2048
}
EOF
    fi
    launch_dovecot +OK "a POP3 client"
}

# Memory of a process tree: the sum of VmRSS (for Dovecot's many processes this counts shared
# pages more than once, so it is an upper bound; tree_pss_mib in lib.sh is the fair figure).
tree_rss_mib() { echo $(($(tree_sum_kib "$1" status VmRSS) / 1024)); }

# Runs the load generator. Prints its summary line; returns its exit status.
run_load() {
    local port=$1 clients=$2 per_client=$3 out=$4
    dotnet "$work/load/Pop3Load.dll" pop3 --port "$port" --user "$user_format" --password "$password" \
        --clients "$clients" --sessions "$per_client" --messages "$message_count" --size "$message_size" \
        --time-limit 900 --session-timeout 60 >"$out" 2>"$out.err"
}

# Builds.
build_ours
build_release benchmarks/Pop3Load "$load_project" load
read_dovecot_version
log "dovecot $dovecot_version"

# The messages. Our server gets them over SMTP at every start and prepends a Received header; the
# Maildirs for Dovecot are downloaded from a first instance of our server, so both serve the same
# octets (Maildir files have LF line ends; Dovecot sends them with CRLF, as it does with any mail).
log "preparing $max_clients mailboxes of $message_count x $message_size-octet messages"
mkdir -p "$work/dovecot/home"
: >"$work/dovecot/users"
start_ours
load_ours
for ((n = 1; n <= max_clients; n++)); do
    user=$(user_name "$n")
    home=$work/dovecot/home/$(printf 'user%02d' "$n")
    dotnet "$work/load/Pop3Load.dll" dump --port "${server_port[ours]}" --user "$user" --password "$password" \
        --dir "$home/Maildir" --time-limit 120 >"$work/dump.out" 2>&1 ||
        { cat "$work/dump.out" >&2; die "downloading the messages of $user from our server failed"; }
    grep -q "dump messages=$message_count " "$work/dump.out" || { cat "$work/dump.out" >&2; die "our server did not have $message_count messages for $user"; }
    dovecot_user "$user" "$password" "$home" >>"$work/dovecot/users"
done
stop_server ours
# Octets on the wire: the LF files' bytes plus a CR for each line.
octets_each=$((($(cat "$work/dovecot/home/user01/Maildir/cur/"* | wc -c) + \
    $(cat "$work/dovecot/home/user01/Maildir/cur/"* | wc -l)) / message_count))
chown -R "$mail_uid:$mail_gid" "$work/dovecot/home"
log "each message is $octets_each octets on the wire (the $message_size sent plus our Received header)"


servers=(ours dovecot)
# result[server,clients] = "sessions/s MB/s cpu_ms_per_session" (medians over the runs) or "FAILED"
declare -A result=()
details=()
notes=()
failures=0
turn=0

for clients in "${concurrencies[@]}"; do
    total=${sessions_for[$clients]}
    per_client=$(((total + clients - 1) / clients))
    total=$((per_client * clients))
    # The warm-up: a fifth of the run, at least 2 sessions per client, so the JIT has done its work
    # and Dovecot's index files exist before anything is measured.
    warm_per_client=$((per_client / 5 > 2 ? per_client / 5 : 2))
    log "case: $clients client(s), $total sessions ($per_client each) x $runs run(s), warm-up $((warm_per_client * clients))"

    declare -A rates=() mbs=() cpus=() psss=() failed=()
    for ((run = 1; run <= runs; run++)); do
        next_order
        for name in "${order[@]}"; do
            # One server at a time, in a fresh process.
            if [[ $name == ours ]]; then
                start_ours
                load_ours
            else
                start_dovecot
            fi
            pid=${server_pid[$name]}
            port=${server_port[$name]}
            problem=""
            if ! run_load "$port" "$clients" "$warm_per_client" "$work/warmup.out"; then
                problem="warm-up failed: $(cat "$work/warmup.out") $(head -n 5 "$work/warmup.out.err" | tr '\n' ' ')"
            fi
            if [[ -z $problem ]]; then
                cpu_before=$(tree_cpu_ticks "$pid")
                status=0
                run_load "$port" "$clients" "$per_client" "$work/load.out" || status=$?
                cpu_after=$(tree_cpu_ticks "$pid")
                rss=$(tree_rss_mib "$pid")
                pss=$(tree_pss_mib "$pid")
                done_sessions=$(field sessions "$work/load.out")
                errors=$(field errors "$work/load.out")
                if ((status != 0)) || [[ $done_sessions != "$total" || $errors != 0 ]]; then
                    problem="Pop3Load exited $status after ${done_sessions:-?} of $total sessions, ${errors:-?} errors: $(head -n 5 "$work/load.out.err" | tr '\n' ' ')"
                fi
            fi
            if ! alive "$pid"; then
                problem+=" (the server process died)"
            fi
            stop_server "$name"
            if [[ -n $problem ]]; then
                log "$name FAILED ($clients clients, run $run): $problem"
                failed[$name]=1
                failures=$((failures + 1))
                details+=("| $name | $clients | $total | FAILED | | | | | | | | |")
                notes+=("$name, $clients client(s), run $run: $problem")
                continue
            fi
            read -r seconds bytes p50 p99 < <(printf '%s %s %s %s\n' "$(field seconds "$work/load.out")" \
                "$(field bytes "$work/load.out")" "$(field p50_ms "$work/load.out")" "$(field p99_ms "$work/load.out")")
            read -r rate mb cpu_s cpu_ms < <(awk -v n="$total" -v w="$seconds" -v by="$bytes" -v b="$cpu_before" \
                -v a="$cpu_after" -v hz="$clk_tck" \
                'BEGIN { c = (a - b) / hz; printf "%.1f %.1f %.2f %.2f\n", n / w, by / w / 1e6, c, c * 1000 / n }')
            rates[$name]+="$rate "
            mbs[$name]+="$mb "
            cpus[$name]+="$cpu_ms "
            psss[$name]+="$pss "
            details+=("| $name | $clients | $total | $seconds | $rate | $mb | $cpu_s | $cpu_ms | $p50 | $p99 | $rss | $pss |")
            log "$name: $rate sessions/s, $mb MB/s, $cpu_ms CPU ms/session, ${seconds}s, p50 $p50 ms, p99 $p99 ms, PSS $pss MiB"
        done
    done
    record_medians "$clients" rates mbs cpus psss
    unset rates mbs cpus psss failed
done

# Anything either server logged.
note_log_problems

# Report.

report=$(new_report_path pop3)
dovecot_pkg=$(package_version dovecot-pop3d)
shape=$(dovecot_shape_text pop3)

{
    echo "# POP3 end-to-end load: Mail.Protocols vs Dovecot $dovecot_version"
    echo
    report_when_line
    report_machine_line "dovecot-pop3d $dovecot_pkg"
    echo "- Session: USER + PASS, STAT, LIST, RETR 1..$message_count pipelined in one write, QUIT (the client waits"
    echo "  for the server to close); $message_count messages of $message_size octets as sent, $octets_each on the wire with our"
    echo "  Received header, the same octets in Dovecot's Maildir; every size checked against LIST and every"
    echo "  message's content checked. One mailbox per client."
    echo "- Load: benchmarks/Pop3Load (.NET, raw sockets) on the same machine; $runs run(s) per case (medians"
    echo "  shown), each on a fresh server process after a warm-up of a fifth of the run, one server at a time,"
    echo "  order alternating$( ((quick)) && echo "; --quick: too short to quote")"
    echo "- Ours: samples/MailHost, in-memory store, --quiet. Dovecot: $shape;"
    echo "  Maildir on $(df -T "$work" | awk 'NR == 2 { print $2 }'), passwd-file users, info log to /dev/null."
    report_load_line "sessions/s more than CPU/session"
    echo "- CPU = utime+stime+cutime+cstime of the server's whole process tree from /proc/PID/stat over the run (tick ${clk_tck} Hz)."
    echo "- MB = 10^6 octets of message content (after undoing dot-stuffing). Ratios are ours/Dovecot: above 1 for"
    echo "  sessions/s and MB/s means we are faster, below 1 for CPU/session means we spend less."
    echo "- PSS = the proportional set size summed over the server's processes when the run ends (a page shared by k"
    echo "  processes counts 1/k), from /proc/PID/smaps_rollup: the memory the server really holds under the load."
    echo
    echo "| Clients | Sessions | Ours sessions/s | Dovecot sessions/s | sessions/s ours/Dovecot | Ours MB/s | Dovecot MB/s | MB/s ours/Dovecot | Ours CPU ms/session | Dovecot CPU ms/session | CPU/session ours/Dovecot | Ours PSS MiB | Dovecot PSS MiB | PSS ours/Dovecot |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for clients in "${concurrencies[@]}"; do
        per_client=$(((${sessions_for[$clients]} + clients - 1) / clients))
        ours=${result[ours,$clients]:-}
        peer=${result[dovecot,$clients]:-}
        [[ $ours == FAILED || -z $ours ]] && ours="FAILED FAILED FAILED FAILED"
        [[ $peer == FAILED || -z $peer ]] && peer="FAILED FAILED FAILED FAILED"
        read -r our_rate our_mb our_cpu our_pss <<<"$ours"
        read -r peer_rate peer_mb peer_cpu peer_pss <<<"$peer"
        rate_ratio=n/a mb_ratio=n/a cpu_ratio=n/a pss_ratio=n/a
        if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
            rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
            mb_ratio=$(fmt_ratio "$our_mb" "$peer_mb")
            cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
            pss_ratio=$(fmt_ratio "$our_pss" "$peer_pss")
        fi
        echo "| $clients | $((per_client * clients)) | $our_rate | $peer_rate | $rate_ratio | $our_mb | $peer_mb | $mb_ratio | $our_cpu | $peer_cpu | $cpu_ratio | $our_pss | $peer_pss | $pss_ratio |"
    done
    echo
    echo "Every run (p50/p99: session duration seen by the client; RSS and PSS: sums over the server's processes at the end):"
    echo
    print_runs "| Server | Clients | Sessions | Wall s | sessions/s | MB/s | CPU s | CPU ms/session | p50 ms | p99 ms | RSS MiB | PSS MiB |" \
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"

show_report "$report"
