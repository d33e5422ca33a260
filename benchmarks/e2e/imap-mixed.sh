#!/usr/bin/env bash
# End-to-end IMAP benchmark of concurrent sessions: IDLE clients seeing deliveries, and a mixed load in the style
# of imaptest. Our server (samples/MailHost --store maildir:DIR, its SMTP listener delivering) against Dovecot
# (Debian's dovecot-imapd, and dovecot-lmtpd for the deliveries, started by hand with a config of its own), side
# by side in one run, on copies of the same Maildir, with the same load from benchmarks/ImapLoad.
#
# Usage: benchmarks/e2e/imap-mixed.sh [--quick] [--runs N] [--head] [--dovecot-tuned]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/imap-mixed.sh [--quick] [--runs N] [--head] [--dovecot-tuned]

  --quick          few clients, few messages, a short load and one run: a smoke test that both servers
                   start, deliver, notify and answer every command correctly, not a measurement
  --runs N         measure every case N times, each time on fresh server processes and a fresh copy of the
                   Maildir, and report the medians (default 3, or 1 with --quick)
  --head           build the last commit (a git archive of HEAD) instead of the working tree
  --dovecot-tuned  run Dovecot in its documented high-performance shape (long-lived login processes,
                   imap processes reused) instead of Debian's defaults (a new process per connection)

Cases:
  idle-delivery  IDLE_CLIENTS clients (default 100) IDLE on one INBOX while DELIVERIES messages (default 50)
                 are delivered one after another, each once every client has seen the one before: ours
                 over its SMTP listener, Dovecot over its LMTP service. Reported: deliveries per second and
                 the time from the 250 after DATA until each client reads the EXISTS (median, p99, max).
  mixed          MIXED_CLIENTS clients (default 50), one user, MIXED_SECONDS (default 30) of random
                 SELECT, FETCH, STORE, EXPUNGE, APPEND, IDLE and NOOP on three shared mailboxes of
                 MIXED_MESSAGES messages each (default 100), every response checked. Reported: commands
                 per second; protocol errors must be 0.

Environment: IDLE_CLIENTS, DELIVERIES, MIXED_CLIENTS, MIXED_SECONDS, MIXED_MESSAGES (above), SEED (the mixed
load's, default 1), DOVECOT (default /usr/sbin/dovecot), OURS_EXTRA_ARGS (more options for MailHost), CASES (a
space-separated list of the cases to measure; default all).
EOF
}

script_name=imap-mixed
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

tuned=0
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
    idle_clients=${IDLE_CLIENTS:-10} deliveries=${DELIVERIES:-3}
    mixed_clients=${MIXED_CLIENTS:-5} mixed_seconds=${MIXED_SECONDS:-2} mixed_messages=${MIXED_MESSAGES:-20}
else
    idle_clients=${IDLE_CLIENTS:-100} deliveries=${DELIVERIES:-50}
    mixed_clients=${MIXED_CLIENTS:-50} mixed_seconds=${MIXED_SECONDS:-30} mixed_messages=${MIXED_MESSAGES:-100}
fi
seed=${SEED:-1}
for value in "$idle_clients" "$deliveries" "$mixed_clients" "$mixed_seconds" "$mixed_messages" "$seed"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
done
((idle_clients <= 1000 && mixed_clients <= 1000)) || die "at most 1000 clients"

idle_user=idle@example.test
mixed_user=mixed@example.test
idle_messages=10
mailboxes=INBOX,Shared1,Shared2
password=bench
mail_uid=65534
mail_gid=65534
cases=(idle-delivery mixed)
# CASES="..." measures only those cases (lib.sh select_cases).
select_cases

if [[ ! -x $dovecot || ! -x /usr/lib/dovecot/imap || ! -x /usr/lib/dovecot/lmtp ]]; then
    die "Dovecot's IMAP or LMTP server is missing. Install them without starting the service: put a policy-rc.d
that exits 101 in /usr/sbin, then DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd dovecot-lmtpd"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
require_dovecot_users

begin_run
# Dovecot's IDLE clients (100, and the mixed load's) each need an inotify instance in its imap processes, which
# otherwise poll and log a warning per process (lib.sh raise_inotify_instances).
raise_inotify_instances 1200 || log "warning: fs.inotify.max_user_instances is $(cat "$inotify_limit") and cannot be raised (not root): Dovecot's IDLE may poll"
trap 'log "error: line $LINENO exited with status $?"' ERR
# Dovecot's mail processes run as nobody and must reach the Maildir below $work.
chmod 711 "$work"

imap_load() { dotnet "$work/load/ImapLoad.dll" "$@"; }

# Where each server takes deliveries: ours over SMTP, Dovecot over LMTP.
declare -A delivery_port=()

# Our server: IMAP and SMTP (MX role, delivering into the same Maildir store), the two users.
start_ours() {
    local root=$1
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    server_port[ours]=$(free_port)
    delivery_port[ours]=$(free_port)
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --imap "${server_port[ours]}" \
        --smtp "${delivery_port[ours]}" --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imaps 0 --domain example.test \
        --user "$idle_user:$password" --user "$mixed_user:$password" \
        --allow-plaintext-auth --quiet --max-connections-per-address 1000 \
        --store "maildir:$root" "${extra[@]}"
    wait_listening ours "* OK" "an IMAP client"
    wait_listening ours 220 "an SMTP client" "${delivery_port[ours]}"
}

# Dovecot over the same tree: its IMAP service and its LMTP service (deliveries, into maildir:$1/<user>).
start_dovecot() {
    local root=$1 user
    server_port[dovecot]=$(free_port)
    delivery_port[dovecot]=$(free_port)
    write_dovecot_conf imap "${server_port[dovecot]}" "maildir:$root/%Lu" %Lu
    sed -i 's/^protocols = imap$/protocols = imap lmtp/' "$work/dovecot/dovecot.conf"
    : >"$work/dovecot/users"
    for user in "$idle_user" "$mixed_user"; do
        dovecot_user "$user" "$password" "$root/$user" >>"$work/dovecot/users"
    done
    # All clients are one user from one address (Dovecot's default allows 10 such connections), and each
    # IMAP connection is an imap process (Debian's default limit is 100 per service).
    cat >>"$work/dovecot/dovecot.conf" <<EOF
protocol imap {
  mail_max_userip_connections = 2000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${delivery_port[dovecot]}
  }
}
service imap {
  process_limit = 2000
}
service imap-login {
  process_limit = 2000
}
service anvil {
  client_limit = 4200
}
service auth {
  client_limit = 4200
}
EOF
    if ((tuned)); then
        append_dovecot_tuned_services imap
    fi
    launch_dovecot "* OK" "an IMAP client"
    wait_listening dovecot 220 "an LMTP client" "${delivery_port[dovecot]}"
}

restore() {
    rm -rf "$work/mail"
    cp -a "$work/state-fresh" "$work/mail"
    sync -f "$work/mail"
}

# One case against server NAME: run_case NAME CASE OUT [--cpu-pid PID]; with warm=1 a small version.
run_case() {
    local name=$1 case=$2 out=$3 clients
    shift 3
    local -a common=(--port "${server_port[$name]}" --password "$password" --time-limit 1800 "$@")
    case $case in
        idle-delivery)
            local -a lmtp=()
            [[ $name == dovecot ]] && lmtp=(--lmtp)
            clients=$idle_clients n=$deliveries
            if ((warm)); then clients=2 n=2; fi
            imap_load idle-delivery "${common[@]}" --user "$idle_user" --clients "$clients" --deliveries "$n" \
                --smtp-port "${delivery_port[$name]}" "${lmtp[@]}"
            ;;
        mixed)
            local seconds=$mixed_seconds
            clients=$mixed_clients
            if ((warm)); then clients=5 seconds=1; fi
            imap_load mixed "${common[@]}" --user "$mixed_user" --clients "$clients" --duration "$seconds" \
                --mailboxes "$mailboxes" --messages "$mixed_messages" --seed "$seed"
            ;;
    esac >"$out" 2>"$out.err"
}

# Builds.
build_ours
build_release benchmarks/ImapLoad "$load_project" load
read_dovecot_version
log "dovecot $dovecot_version; Maildir under $work ($(filesystem_of "$work"))"

# The mailboxes, once: the IDLE user's INBOX, and the mixed user's INBOX and two folders (Maildir++ .Shared1 and
# .Shared2, as both servers lay folders out).
imap_load make --dir "$work/state-fresh/$idle_user" --messages "$idle_messages" --seed 4 >/dev/null
imap_load make --dir "$work/state-fresh/$mixed_user" --messages "$mixed_messages" --seed 5 >/dev/null
for folder in Shared1 Shared2; do
    imap_load make --dir "$work/state-fresh/$mixed_user/.$folder" --messages "$mixed_messages" --seed 6 >/dev/null
    touch "$work/state-fresh/$mixed_user/.$folder/maildirfolder"
done
chown -R "$mail_uid:$mail_gid" "$work/state-fresh"

servers=(ours dovecot)
details=()
notes=()
failures=0
turn=0
declare -A rates=() cpus=() medians=() p99s=() maxes=() errors_of=() failed=()
# One measured case's figures, from $work/load.out (lib.sh measure_servers calls it).
record_case() {
    local name=$1 case=$2 run=$3 units=$4 seconds ticks rate cpu_ms extra
    read -r seconds ticks < <(printf '%s %s\n' "$(field seconds "$work/load.out")" "$(field cpu_ticks "$work/load.out")")
    read -r rate cpu_ms < <(awk -v n="$units" -v w="$seconds" -v t="$ticks" -v hz="$clk_tck" \
        'BEGIN { printf "%.1f %.4f\n", n / w, t / hz * 1000 / n }')
    rates[$name,$case]+="$rate "
    cpus[$name,$case]+="$cpu_ms "
    errors_of[$name,$case]+="$(field errors "$work/load.out") "
    if [[ $case == idle-delivery ]]; then
        medians[$name]+="$(field latency_median_ms "$work/load.out") "
        p99s[$name]+="$(field latency_p99_ms "$work/load.out") "
        maxes[$name]+="$(field latency_max_ms "$work/load.out") "
    fi
    # Everything the load printed after the common fields (latencies, commands by kind).
    extra=$(sed 's/.*hits=[^ ]* *//' "$work/load.out")
    details+=("| $name | $run | $case | $units | $seconds | $rate | $cpu_ms | $extra |")
    log "$name $case: $units in ${seconds}s, $rate/s, $cpu_ms CPU ms each; $extra"
}
record_failure() { errors_of[$1,$2]+="$3 "; }
failed_row() { echo "| $1 | $2 | FAILED | | | | | |"; }

warm_cases=("${measured_cases[@]}")
measure_servers

note_log_problems

report=$(new_report_path imap-mixed)
shape=$(dovecot_shape_text imap)
value() { if [[ -n ${failed[$2]:-} || -z ${1:-} ]]; then echo FAILED; else median_of "$1"; fi; }

{
    echo "# IMAP concurrent sessions: Mail.Protocols vs Dovecot $dovecot_version"
    echo
    report_when_line
    report_machine_line "dovecot-imapd $(package_version dovecot-imapd), dovecot-lmtpd $(package_version dovecot-lmtpd)"
    echo "- Disk: the Maildirs under $work, $(filesystem_of "$work"); restored with cp -a (and sync -f) before every server start."
    echo "- Ours: samples/MailHost --store maildir:DIR (its defaults, fsync on), --quiet, IMAP and SMTP (MX role) listeners."
    echo "  Dovecot: $shape; its LMTP service for deliveries (mail_fsync = optimized, its default);"
    echo "  mail_location = maildir:DIR/%Lu, passwd-file, mail processes as nobody, info log to /dev/null."
    echo "- idle-delivery: $idle_clients clients LOGIN, SELECT INBOX ($idle_messages messages) and IDLE; $deliveries messages of"
    echo "  about 2 KiB are delivered one after another on one connection (ours: SMTP EHLO, MAIL, RCPT, DATA; Dovecot: LMTP"
    echo "  LHLO, MAIL, RCPT, DATA), each once every client has read the EXISTS of the one before. Latency: from reading"
    echo "  the 250 after DATA to each client reading the EXISTS that counts the message (an EXISTS read before the 250"
    echo "  counts as 0 ms; \"early\" in the runs). Every client must see every message within 10 s."
    echo "- mixed: $mixed_clients clients of one user on INBOX, Shared1 and Shared2 ($mixed_messages messages each at the start), for"
    echo "  $mixed_seconds s each repeatedly picking at random (seed $seed and the client's number) SELECT (+ UID FETCH 1:* (UID FLAGS)),"
    echo "  UID FETCH (flags and envelope of up to 10; one whole body, its size and digest checked; header fields of up to 10),"
    echo "  UID STORE +/-FLAGS, UID STORE +FLAGS.SILENT (\\Deleted) + EXPUNGE, APPEND, IDLE (DONE after 25 ms or an update),"
    echo "  NOOP (benchmarks/ImapLoad/MixedLoad.cs has the weights). Every response is parsed and checked against the"
    echo "  client's model of the mailbox; any BAD, unexpected NO, malformed response or contradiction is an error."
    echo "- Each server process is first warmed up with every case once (small); one server at a time, order alternating;"
    echo "  $runs run(s)$( ((runs > 1)) && echo " (medians shown)")$( ((quick)) && echo "; --quick: too small to quote")."
    report_load_line "the rates and latencies more than CPU"
    echo "- CPU = utime+stime+cutime+cstime of the server's whole process tree (Dovecot's imap, login, auth and lmtp"
    echo "  processes) from /proc/PID/stat over the timed part (tick ${clk_tck} Hz), per delivery or per command."
    echo
    echo "| Case | Ours | Dovecot | ours/Dovecot |"
    echo "|---|---:|---:|---:|"
    for case in "${measured_cases[@]}"; do
        our_rate=$(value "${rates[ours,$case]:-}" ours) peer_rate=$(value "${rates[dovecot,$case]:-}" dovecot)
        our_cpu=$(value "${cpus[ours,$case]:-}" ours) peer_cpu=$(value "${cpus[dovecot,$case]:-}" dovecot)
        ratio() { if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then fmt_ratio "$1" "$2"; else echo n/a; fi; }
        if [[ $case == idle-delivery ]]; then
            echo "| idle-delivery: deliveries/s | $our_rate | $peer_rate | $(ratio "$our_rate" "$peer_rate") |"
            for what in medians p99s maxes; do
                local_name=${what%s}
                declare -n series=$what
                o=$(value "${series[ours]:-}" ours) d=$(value "${series[dovecot]:-}" dovecot)
                echo "| idle-delivery: latency ${local_name/maxe/max} ms | $o | $d | $(ratio "$o" "$d") |"
                unset -n series
            done
            echo "| idle-delivery: CPU ms per delivery | $our_cpu | $peer_cpu | $(ratio "$our_cpu" "$peer_cpu") |"
        else
            echo "| mixed: commands/s | $our_rate | $peer_rate | $(ratio "$our_rate" "$peer_rate") |"
            echo "| mixed: CPU ms per command | $our_cpu | $peer_cpu | $(ratio "$our_cpu" "$peer_cpu") |"
            echo "| mixed: protocol errors (every run) | ${errors_of[ours,$case]:-none} | ${errors_of[dovecot,$case]:-none} | |"
        fi
    done
    echo
    echo "Every run:"
    echo
    print_runs "| Server | Run | Case | Units | Seconds | Units/s | CPU ms/unit | More |" "|---|---:|---|---:|---:|---:|---:|---|"
} >"$report"

show_report "$report"
