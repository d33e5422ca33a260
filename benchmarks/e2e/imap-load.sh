#!/usr/bin/env bash
# End-to-end IMAP load benchmark: our server (samples/MailHost --store maildir:DIR) against Dovecot's IMAP
# server (Debian's dovecot-imapd, started by hand with a config of its own), side by side in one run, on
# copies of the same Maildir, with the same load from benchmarks/ImapLoad. See benchmarks/e2e/README.md.
#
# Usage: benchmarks/e2e/imap-load.sh [--quick] [--runs N] [--head] [--dovecot-tuned]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/imap-load.sh [--quick] [--runs N] [--head] [--dovecot-tuned]

  --quick          tiny mailboxes and one run: a smoke test that both servers start and answer every
                   command with the right data, not a measurement
  --runs N         measure every case N times, each time on fresh server processes and a fresh copy of the
                   Maildir, and report the medians (default 3, or 1 with --quick)
  --head           build the last commit (a git archive of HEAD) instead of the working tree
  --dovecot-tuned  run Dovecot in its documented high-performance shape (long-lived login processes,
                   imap processes reused) instead of Debian's defaults (a new process per connection)

Environment: MESSAGES (the header-sync and search folder, default 10000), BODIES (messages fetched
whole, default 1000), BODY_SIZE (their size, default 10240), LOGINS_1 and LOGINS_20 (sessions per run at
1 and 20 clients, defaults 200 and 1000), HEADER_ROUNDS and SEARCH_ROUNDS (times each is repeated per
run, defaults 3 and 5), MIN_SECONDS (each case goes on with more sessions, rounds or passes over the
bodies until it has lasted this long, so that it spans many ticks of the CPU counters; default 3, or 0
with --quick), DOVECOT (default /usr/sbin/dovecot), OURS_EXTRA_ARGS (more options for MailHost),
CASES (a space-separated list of the cases to measure; default all).
More cases (the defaults with --quick in brackets): LARGE_BODIES (messages of 1 MiB fetched whole, 100
[4]), RESYNC_ROUNDS (QRESYNC resyncs of a folder of MESSAGES, 30 [2]), RESYNC_CHANGES (flag changes and
expunges before each, 100 [10]), APPEND_SIZE (octets per appended message, 102400), APPENDS_1 and
APPENDS_10 (messages each client appends at 1 and 10 clients, 300 and 50 [5 and 3]).
EOF
}

script_name=imap-load
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

tuned=0
# The options of this script alone (parse_options takes --quick and --runs).
script_option() {
    case "$1" in
        --head) head=1 ;;
        --dovecot-tuned) tuned=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

dovecot=${DOVECOT:-/usr/sbin/dovecot}
ours_project=$repo/samples/MailHost
load_project=$repo/benchmarks/ImapLoad

if ((quick)); then
    messages=${MESSAGES:-200} bodies=${BODIES:-50} logins_1=${LOGINS_1:-10} logins_20=${LOGINS_20:-40}
    header_rounds=${HEADER_ROUNDS:-1} search_rounds=${SEARCH_ROUNDS:-1} min_seconds=${MIN_SECONDS:-0}
    large_bodies=${LARGE_BODIES:-4} resync_rounds=${RESYNC_ROUNDS:-2} resync_changes=${RESYNC_CHANGES:-10}
    appends_1=${APPENDS_1:-5} appends_10=${APPENDS_10:-3}
else
    messages=${MESSAGES:-10000} bodies=${BODIES:-1000} logins_1=${LOGINS_1:-200} logins_20=${LOGINS_20:-1000}
    header_rounds=${HEADER_ROUNDS:-3} search_rounds=${SEARCH_ROUNDS:-5} min_seconds=${MIN_SECONDS:-3}
    large_bodies=${LARGE_BODIES:-100} resync_rounds=${RESYNC_ROUNDS:-30} resync_changes=${RESYNC_CHANGES:-100}
    appends_1=${APPENDS_1:-300} appends_10=${APPENDS_10:-50}
fi
body_size=${BODY_SIZE:-10240}
large_size=1048576
append_size=${APPEND_SIZE:-102400}
for value in "$messages" "$bodies" "$logins_1" "$logins_20" "$header_rounds" "$search_rounds" "$body_size" \
    "$large_bodies" "$resync_rounds" "$resync_changes" "$append_size" "$appends_1" "$appends_10"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
done
[[ $min_seconds =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
((logins_20 >= 20)) || die "LOGINS_20 must be at least 20"
((body_size >= 1024)) || die "BODY_SIZE must be at least 1024"
((append_size >= 1024)) || die "APPEND_SIZE must be at least 1024"
((messages >= 4 * resync_changes)) || die "MESSAGES must be at least 4 x RESYNC_CHANGES"

# Three mailboxes, one user each: the big folder (header sync and search), the folder of same-size
# messages fetched whole, and a small one the login sessions select. Three more: the 1 MiB messages, a
# folder as big as the big one that the resync case changes, and an empty one that the APPEND case fills.
bench_user=bench@example.test
bodies_user=bodies@example.test
login_user=login@example.test
large_user=large@example.test
resync_user=resync@example.test
append_user=append@example.test
users=("$bench_user" "$bodies_user" "$login_user" "$large_user" "$resync_user" "$append_user")
login_messages=20
password=bench
mail_uid=65534
mail_gid=65534
search_keys=(from subject text since flagged)
cases=(login-1 login-20 auth-1 auth-20 headers bodies bodies-1m "${search_keys[@]/#/search-}" resync append-1 append-10)
# CASES="..." measures only those cases (lib.sh select_cases).
select_cases

if [[ ! -x $dovecot || ! -x /usr/lib/dovecot/imap ]]; then
    die "Dovecot's IMAP server is missing. Install it without starting the service: put a policy-rc.d
that exits 101 in /usr/sbin, then DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
require_dovecot_users

begin_run
trap 'log "error: line $LINENO exited with status $?"' ERR
# Dovecot's mail processes run as nobody and must reach the Maildir below $work.
chmod 711 "$work"

imap_load() { dotnet "$work/load/ImapLoad.dll" "$@"; }

# Our server: IMAP only, the three users, each a Maildir++ folder tree under $1/<user>.
start_ours() {
    local root=$1
    local -a extra=() user_args=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    for user in "${users[@]}"; do user_args+=(--user "$user:$password"); done
    server_port[ours]=$(free_port)
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --imap "${server_port[ours]}" \
        --smtp 0 --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imaps 0 --domain example.test \
        "${user_args[@]}" --allow-plaintext-auth --quiet --max-connections-per-address 1000 \
        --store "maildir:$root" "${extra[@]}"
    wait_listening ours "* OK" "an IMAP client"
}

# Dovecot's IMAP server on a new port over the same tree (maildir:$1/<user>, as nobody): Debian's built-in
# defaults, or with --dovecot-tuned its high-performance shape.
start_dovecot() {
    local root=$1 user
    server_port[dovecot]=$(free_port)
    write_dovecot_conf imap "${server_port[dovecot]}" "maildir:$root/%Lu" %Lu
    : >"$work/dovecot/users"
    for user in "${users[@]}"; do
        dovecot_user "$user" "$password" "$root/$user" >>"$work/dovecot/users"
    done
    # The 20 login clients are one user from one address: above Dovecot's default of 10 such connections.
    cat >>"$work/dovecot/dovecot.conf" <<EOF
protocol imap {
  mail_max_userip_connections = 1000
}
EOF
    if ((tuned)); then
        append_dovecot_tuned_services imap
        cat >>"$work/dovecot/dovecot.conf" <<EOF
# Room for every login and imap process Dovecot may run (it warns otherwise).
service auth {
  client_limit = 2048
}
EOF
    fi
    launch_dovecot "* OK" "an IMAP client"
}

# Puts a copy of the saved Maildir tree in place as the mail root and writes it out, so that every run
# starts from the same files and the copy's writeback does not overlap the measurement.
restore() {
    rm -rf "$work/mail"
    cp -a "$work/state-fresh" "$work/mail"
    sync -f "$work/mail"
}

# One case against server NAME: run_case NAME CASE OUT [--cpu-pid PID]. The load generator's output
# (one line of NAME=VALUE words) in OUT, its errors in OUT.err; returns its exit status. With warm=1, the
# warm-up's size: two login sessions and one round of the header sync and of a search.
run_case() {
    local name=$1 case=$2 out=$3 sessions_1=$logins_1 sessions_20=$((logins_20 / 20)) h_rounds=$header_rounds s_rounds=$search_rounds
    local min=$min_seconds r_rounds=$resync_rounds a_1=$appends_1 a_10=$appends_10
    shift 3
    if ((warm)); then sessions_1=2 sessions_20=1 h_rounds=1 s_rounds=1 min=0 r_rounds=1 a_1=2 a_10=1; fi
    local -a common=(--port "${server_port[$name]}" --password "$password" --time-limit 1800 --min-seconds "$min" "$@")
    case $case in
        login-1) imap_load login "${common[@]}" --user "$login_user" --messages "$login_messages" --clients 1 --sessions "$sessions_1" ;;
        login-20) imap_load login "${common[@]}" --user "$login_user" --messages "$login_messages" --clients 20 --sessions "$sessions_20" ;;
        auth-1) imap_load login "${common[@]}" --user "$login_user" --messages "$login_messages" --clients 1 --sessions "$sessions_1" --authenticate ;;
        auth-20) imap_load login "${common[@]}" --user "$login_user" --messages "$login_messages" --clients 20 --sessions "$sessions_20" --authenticate ;;
        headers) imap_load headers "${common[@]}" --user "$bench_user" --messages "$messages" --rounds "$h_rounds" ;;
        bodies) imap_load bodies "${common[@]}" --user "$bodies_user" --messages "$bodies" ;;
        bodies-1m) imap_load bodies "${common[@]}" --user "$large_user" --messages "$large_bodies" ;;
        resync) imap_load resync "${common[@]}" --user "$resync_user" --messages "$messages" --rounds "$r_rounds" --changes "$resync_changes" ;;
        append-1) imap_load append "${common[@]}" --user "$append_user" --clients 1 --rounds "$a_1" --size "$append_size" ;;
        append-10) imap_load append "${common[@]}" --user "$append_user" --clients 10 --rounds "$a_10" --size "$append_size" ;;
        search-*)
            local key=${case#search-}
            imap_load search "${common[@]}" --user "$bench_user" --messages "$messages" --key "$key" \
                --rounds "$s_rounds" --expect "${expect[$key]}"
            ;;
    esac >"$out" 2>"$out.err"
}

# What one unit of a case is, for the report; "s" as $2 gives the plural.
unit_of() {
    case $1 in
        login-* | auth-*) echo "session${2:-}" ;;
        headers | bodies | bodies-1m | append-*) echo "message${2:-}" ;;
        resync) echo "resync${2:-}" ;;
        *) echo "search${2:+es}" ;;
    esac
}

# What a case does, for the report.
case_label() {
    case $1 in
        login-1) echo "LOGIN, SELECT INBOX ($login_messages), LOGOUT; 1 client" ;;
        login-20) echo "LOGIN, SELECT INBOX ($login_messages), LOGOUT; 20 clients" ;;
        auth-1) echo "AUTHENTICATE PLAIN, SELECT INBOX ($login_messages), LOGOUT; 1 client" ;;
        auth-20) echo "AUTHENTICATE PLAIN, SELECT INBOX ($login_messages), LOGOUT; 20 clients" ;;
        headers) echo "header sync, UID FETCH 1:* (...) of $messages" ;;
        bodies) echo "UID FETCH n BODY.PEEK[], $bodies x $(size_label "$body_size")" ;;
        bodies-1m) echo "UID FETCH n BODY.PEEK[], $large_bodies x 1 MiB" ;;
        resync) echo "SELECT INBOX (QRESYNC ...) of $messages after $resync_changes flag changes and $resync_changes expunges" ;;
        append-1) echo "APPEND $(size_label "$append_size"), 1 client" ;;
        append-10) echo "APPEND $(size_label "$append_size"), 10 clients, a folder each" ;;
        search-from) echo "SEARCH FROM \"sender07\" ($messages, ${expect[from]} hits)" ;;
        search-subject) echo "SEARCH SUBJECT \"kestrel\" ($messages, ${expect[subject]} hits)" ;;
        search-text) echo "SEARCH TEXT \"zephyr\" ($messages, ${expect[text]} hits)" ;;
        search-since) echo "SEARCH SINCE 15-Nov-2026 ($messages, ${expect[since]} hits)" ;;
        search-flagged) echo "SEARCH FLAGGED ($messages, ${expect[flagged]} hits)" ;;
    esac
}

# Builds.
build_ours
build_release benchmarks/ImapLoad "$load_project" load
read_dovecot_version
log "dovecot $dovecot_version; Maildir under $work ($(filesystem_of "$work"))"

# The mailboxes, once, as an MDA and a client that read some of them leave them: files in new/, the
# flagged and seen ones in cur/ with their info suffix. Both servers get a fresh copy before every run.
log "writing $messages + $bodies + $login_messages + $large_bodies (1 MiB) + $messages messages"
imap_load make --dir "$work/state-fresh/$bench_user" --messages "$messages" --seed 1 >"$work/expect.out"
imap_load make --dir "$work/state-fresh/$bodies_user" --messages "$bodies" --size "$body_size" --seed 2 >/dev/null
imap_load make --dir "$work/state-fresh/$login_user" --messages "$login_messages" --seed 3 >/dev/null
imap_load make --dir "$work/state-fresh/$large_user" --messages "$large_bodies" --size "$large_size" --seed 5 >/dev/null
imap_load make --dir "$work/state-fresh/$resync_user" --messages "$messages" --seed 4 >/dev/null
imap_load make --dir "$work/state-fresh/$append_user" --messages 0 >/dev/null
chown -R "$mail_uid:$mail_gid" "$work/state-fresh"
declare -A expect=()
for key in "${search_keys[@]}"; do
    expect[$key]=$(field "$key" "$work/expect.out")
done
octets=$(find "$work/state-fresh/$bench_user" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
log "the big folder: $messages messages, $octets octets; search hits expected: $(cat "$work/expect.out")"

servers=(ours dovecot)
# result[server,case] = "units/s octets/unit cpu_ms/unit" (medians over the runs) or "FAILED"
declare -A result=()
details=()
notes=()
failures=0
turn=0
declare -A rates=() octets_per=() cpus=() failed=() auth_method=()
# One measured case's figures, from $work/load.out (lib.sh measure_servers calls it).
record_case() {
    local name=$1 case=$2 run=$3 units=$4 seconds bytes ticks rate per cpu_s cpu_ms
    read -r seconds bytes ticks < <(printf '%s %s %s\n' "$(field seconds "$work/load.out")" \
        "$(field bytes "$work/load.out")" "$(field cpu_ticks "$work/load.out")")
    read -r rate per cpu_s cpu_ms < <(awk -v n="$units" -v w="$seconds" -v by="$bytes" -v t="$ticks" -v hz="$clk_tck" \
        'BEGIN { c = t / hz; printf "%.1f %.0f %.2f %.4f\n", n / w, by / n, c, c * 1000 / n }')
    rates[$name,$case]+="$rate "
    octets_per[$name,$case]+="$per "
    cpus[$name,$case]+="$cpu_ms "
    details+=("| $name | $run | $case | $units | $seconds | $rate | $bytes | $cpu_s | $cpu_ms |")
    log "$name $case: $units $(unit_of "$case" s) in ${seconds}s, $rate/s, $per octets each, $cpu_ms CPU ms each"
    # How AUTHENTICATE sent its response (SASL-IR or after a continuation), once per server.
    if [[ $case == auth-* && -z ${auth_method[$name]:-} ]]; then
        auth_method[$name]=$(sed -n 's/^authenticate: //p' "$work/load.out.err")
    fi
}
failed_row() { echo "| $1 | $2 | FAILED | | | | | | |"; }

# Every case is warmed up, also those not measured (the searches and the header sync have the folders indexed).
warm_cases=("${cases[@]}")
measure_servers

# Anything either server logged.
note_log_problems

# Report.

report=$(new_report_path imap)
shape=$(dovecot_shape_text imap)

{
    echo "# IMAP end-to-end load: Mail.Protocols vs Dovecot $dovecot_version"
    echo
    report_when_line
    report_machine_line "dovecot-imapd $(package_version dovecot-imapd)"
    echo "- Disk: the Maildirs under $work, $(filesystem_of "$work"); restored with cp -a (and sync -f) before every"
    echo "  server start, so the files are in the page cache and neither server sees what the other wrote."
    echo "- Mailboxes (benchmarks/ImapLoad make): $messages messages of 2,048-6,143 octets ($octets in all; every 4th"
    echo "  multipart/mixed with a base64 attachment) for the header sync and the searches; $bodies of $body_size octets"
    echo "  fetched whole; $login_messages selected by the login sessions; $large_bodies of 1 MiB fetched whole; another"
    echo "  $messages like the big folder's for the resync case. CRLF line ends, files in new/ and, for the"
    echo "  flagged and seen ones, in cur/ with their info suffix. The APPEND case starts from an empty user."
    echo "- Ours: samples/MailHost --store maildir:DIR (its defaults), --quiet. Dovecot: $shape;"
    echo "  mail_location = maildir:DIR/%Lu, passwd-file, mail processes as nobody, info log to /dev/null."
    echo "- Load: benchmarks/ImapLoad (.NET, raw sockets, literals read by length, every tagged reply must be OK and"
    echo "  every answer right: FETCH responses per message, each body's length and SHA-256, each search's hits)."
    echo "  Each server process is first warmed up with every case once (small), which also has it index the folders;"
    echo "  one server at a time, order alternating; $runs run(s)$( ((runs > 1)) && echo " (medians shown)")$( ((quick)) && echo "; --quick: too short to quote")."
    echo "- Cases: logins ($logins_1 sessions at 1 client, $logins_20 at 20), the header sync $header_rounds time(s) on one"
    echo "  connection, each body once, each search $search_rounds time(s) on one connection (LOGIN and SELECT untimed);"
    echo "  each case goes on (more sessions, rounds, passes over the bodies) until it has lasted ${min_seconds} s."
    echo "  AUTHENTICATE PLAIN sends its response $(for n in "${servers[@]}"; do printf '%s: %s; ' "$n" "${auth_method[$n]:-not run}"; done| sed 's/; $//')."
    echo "  Resync: $resync_rounds round(s) on one connection; in each, another session toggles \\Answered on $resync_changes messages"
    echo "  and expunges $resync_changes (new ones each round), then the timed SELECT INBOX (QRESYNC (uidvalidity modseq"
    echo "  known-uids)) with the HIGHESTMODSEQ read before the changes; VANISHED (EARLIER) and the FETCH MODSEQ responses"
    echo "  must name exactly those messages; then $resync_changes messages are copied in from another folder (untimed) to keep"
    echo "  the folder's size."
    echo "  APPEND: each client appends $(size_label "$append_size") messages into a new folder of its own (LITERAL+, APPENDUID"
    echo "  checked), $appends_1 per client at 1 client, $appends_10 at 10, going on until ${min_seconds} s; a message is $append_size octets."
    report_load_line "the rates more than CPU"
    echo "- CPU = utime+stime+cutime+cstime of the server's whole process tree from /proc/PID/stat over the timed part"
    echo "  (tick ${clk_tck} Hz), per unit. Octets = what the client received per unit. Ratios are ours/Dovecot: above 1"
    echo "  for the rate means we are faster, below 1 for CPU means we spend less."
    echo
    echo "| Case | Unit | Ours /s | Dovecot /s | rate ours/Dovecot | Ours octets/unit | Dovecot octets/unit | Ours CPU ms/unit | Dovecot CPU ms/unit | CPU ours/Dovecot |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    declare -A values=()
    for case in "${measured_cases[@]}"; do
        for name in "${servers[@]}"; do
            if [[ -n ${failed[$name]:-} || -z ${rates[$name,$case]:-} ]]; then
                values[$name]="FAILED FAILED FAILED"
            else
                values[$name]="$(median_of "${rates[$name,$case]}") $(median_of "${octets_per[$name,$case]}") $(median_of "${cpus[$name,$case]}")"
            fi
        done
        read -r our_rate our_octets our_cpu <<<"${values[ours]}"
        read -r peer_rate peer_octets peer_cpu <<<"${values[dovecot]}"
        rate_ratio=n/a cpu_ratio=n/a
        if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
            rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
            cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
        fi
        echo "| $(case_label "$case") | $(unit_of "$case") | $our_rate | $peer_rate | $rate_ratio | $our_octets | $peer_octets | $our_cpu | $peer_cpu | $cpu_ratio |"
    done
    for case in append-1 append-10; do
        [[ " ${measured_cases[*]} " == *" $case "* ]] || continue
        line="$case in MB/s (10^6 octets):"
        for name in "${servers[@]}"; do
            if [[ -z ${failed[$name]:-} && -n ${rates[$name,$case]:-} ]]; then
                line+=" $name $(awk -v r="$(median_of "${rates[$name,$case]}")" -v s="$append_size" 'BEGIN { printf "%.1f", r * s / 1e6 }')"
            fi
        done
        echo
        echo "$line"
    done
    echo
    echo "Every run (bytes: received by the client in the timed part):"
    echo
    print_runs "| Server | Run | Case | Units | Seconds | Units/s | Bytes | CPU s | CPU ms/unit |" \
        "|---|---:|---|---:|---:|---:|---:|---:|---:|"
} >"$report"

show_report "$report"
