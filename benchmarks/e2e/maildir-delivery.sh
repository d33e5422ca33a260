#!/usr/bin/env bash
# End-to-end delivery into a Maildir: our server (samples/MailHost --store maildir:DIR, SMTP) against
# Dovecot's LMTP server (Debian's dovecot-lmtpd, started by hand with a config of its own, Maildir
# mail_location), side by side in one run, both writing to the same disk, with the same load from
# Postfix's smtp-source (SMTP for ours, LMTP with -L for Dovecot). Results and caveats: docs/performance.md.
#
# Usage: benchmarks/e2e/maildir-delivery.sh [--quick] [--runs N] [--keepalive] [--no-fsync] [--no-strace] [--head]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/maildir-delivery.sh [--quick] [--runs N] [--keepalive] [--no-fsync] [--no-strace] [--head]

  --quick      50 messages per run and one run per case: a smoke test, not a measurement
  --runs N     measure each case N times, each time on a fresh server process and an empty mail
               directory, and report the medians (default 3, or 1 with --quick)
  --keepalive  reuse each connection for many messages (smtp-source -d); the default opens a new
               connection per message, as smtp-source does by default
  --no-fsync   both servers without flushing to the disk: MailHost --no-fsync, Dovecot
               mail_fsync = never (the default is each server's durable default: MailHost fsyncs,
               Dovecot runs with its default mail_fsync = optimized)
  --no-strace  skip the last step, which counts each server's fsync/fdatasync/rename calls per
               message with strace over a separate, untimed batch
  --head       build the last commit (a git archive of HEAD) instead of the working tree, e.g. while
               uncommitted changes are in progress in the checkout

Environment: SMTP_SOURCE (default /usr/sbin/smtp-source), DOVECOT (default /usr/sbin/dovecot),
MSGS (messages per measured run, default 2000), STRACE_MSGS (messages of the strace batch, default
200), OURS_EXTRA_ARGS (more options for MailHost).
EOF
}

script_name=maildir-delivery
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

keepalive=0
fsync=1
use_strace=1
# The options of this script alone (parse_options takes --quick and --runs).
script_option() {
    case "$1" in
        --keepalive) keepalive=1 ;;
        --no-fsync) fsync=0 ;;
        --no-strace) use_strace=0 ;;
        --head) head=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

smtp_source=${SMTP_SOURCE:-/usr/sbin/smtp-source}
dovecot=${DOVECOT:-/usr/sbin/dovecot}
ours_project=$repo/samples/MailHost

if ((quick)); then count=${MSGS:-50}; else count=${MSGS:-2000}; fi
strace_count=${STRACE_MSGS:-200}
[[ $count =~ ^[1-9][0-9]*$ && $strace_count =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
# The warm-up goes to another mailbox, so the measured one holds exactly the messages of the run.
warmup=$((count / 5 > 20 ? count / 5 : 20))
concurrencies=(1 10)
sizes=(1024 32768)
user=alice@example.test
warmup_user=warmup@example.test
mail_uid=65534
mail_gid=65534

if [[ ! -x $smtp_source ]]; then
    die "$smtp_source not found. It comes with Debian's postfix package (see benchmarks/e2e/README.md)"
fi
if [[ ! -x $dovecot || ! -x /usr/lib/dovecot/lmtp ]]; then
    die "Dovecot's LMTP server is missing. Install it without starting the service: put a policy-rc.d
that exits 101 in /usr/sbin, then DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-lmtpd"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
require_dovecot_users
if ((use_strace)) && ! command -v strace >/dev/null; then
    log "strace not found: skipping the system-call count"
    use_strace=0
fi

begin_run
strace_pid=""
trap 'if [[ -n $strace_pid ]]; then stop_pid "$strace_pid"; fi; cleanup' EXIT
trap 'log "error: line $LINENO exited with status $?"' ERR
# Dovecot's mail processes run as nobody and must reach the mail directories below $work.
chmod 711 "$work"

# Our server: SMTP only, the two users, mailboxes in the Maildir++ store under $1.
start_ours() {
    local root=$1
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    ((fsync)) || extra+=(--no-fsync)
    server_port[ours]=$(free_port)
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --smtp "${server_port[ours]}" \
        --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imap 0 --imaps 0 --domain example.test \
        --user "$user:alice" --user "$warmup_user:warmup" --quiet \
        --max-connections-per-address 1000 --store "maildir:$root" "${extra[@]}"
    wait_listening ours 220 "an SMTP client"
}

# Dovecot's LMTP server on a new port, delivering to a Maildir per user under $1 (the two users, as
# nobody): Debian's built-in defaults otherwise, mail_fsync = never with --no-fsync.
start_dovecot() {
    local root=$1
    server_port[dovecot]=$(free_port)
    write_dovecot_conf lmtp "${server_port[dovecot]}" "maildir:$root/%Lu" %Lu
    if ((!fsync)); then
        echo "mail_fsync = never" >>"$work/dovecot/dovecot.conf"
    fi
    dovecot_user "$user" alice "$root/$user" >"$work/dovecot/users"
    dovecot_user "$warmup_user" warmup "$root/$warmup_user" >>"$work/dovecot/users"
    launch_dovecot 220 "an LMTP client"
}

# A fresh, empty mail root for one server process: Dovecot's mail processes (nobody) create the
# mailboxes in it; ours runs as the invoking user.
new_root() {
    local root=$work/mail
    rm -rf "$root"
    mkdir -p "$root"
    chown "$mail_uid:$mail_gid" "$root"
    echo "$root"
}

# A process and all its descendants.
tree_pids() {
    local pid
    echo "$1"
    for pid in $(pgrep -P "$1" 2>/dev/null || true); do tree_pids "$pid"; done
}

# Runs smtp-source (-L for LMTP) to $rcpt. Prints "wall_seconds completed_messages"; returns its exit status.
run_load() {
    local name=$1 conc=$2 n=$3 size=$4 rcpt=$5 out=$6
    local -a args=(-M bench.example.test -s "$conc" -m "$n" -l "$size" -f bench@example.test -t "$rcpt")
    ((keepalive)) && args+=(-d)
    [[ $name == dovecot ]] && args+=(-L)
    run_smtp_source "${server_port[$name]}" "$out" "${args[@]}"
}

# Message files of a mailbox (new/ and cur/), files left in tmp/, and the bytes of the message files.
mailbox_counts() {
    local dir=$1 files left bytes
    files=$(find "$dir/new" "$dir/cur" -maxdepth 1 -type f 2>/dev/null | wc -l)
    left=$(find "$dir/tmp" -maxdepth 1 -type f 2>/dev/null | wc -l)
    bytes=$(find "$dir/new" "$dir/cur" -maxdepth 1 -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    echo "$files $left $bytes"
}

# Builds.
build_ours
read_dovecot_version
log "dovecot $dovecot_version; mail directories under $work ($(filesystem_of "$work"))"

servers=(ours dovecot)
# result[server,conc,size] = "msgs/s cpu_ms_per_msg" (medians over the runs) or "FAILED"
declare -A result=() file_bytes=()
details=()
notes=()
failures=0
turn=0

for conc in "${concurrencies[@]}"; do
    for size in "${sizes[@]}"; do
        label=$(size_label "$size")
        log "case: $conc connection(s), $label, $count messages x $runs run(s) (warm-up $warmup to another mailbox)"
        declare -A rates=() cpus=() failed=()
        for ((run = 1; run <= runs; run++)); do
            # Alternate which server goes first, run to run.
            next_order
            for name in "${order[@]}"; do
                # One server at a time, in a fresh process, on an empty mail directory.
                root=$(new_root)
                "start_$name" "$root"
                pid=${server_pid[$name]}
                problem=""
                if ! run_load "$name" "$conc" "$warmup" "$size" "$warmup_user" "$work/warmup.out" >/dev/null; then
                    problem="warm-up failed: $(tr '\n' ' ' <"$work/warmup.out.err")"
                fi
                if [[ -z $problem ]]; then
                    cpu_before=$(tree_cpu_ticks "$pid")
                    status=0
                    run_load "$name" "$conc" "$count" "$size" "$user" "$work/load.out" >"$work/load.res" || status=$?
                    cpu_after=$(tree_cpu_ticks "$pid")
                    read -r wall completed <"$work/load.res"
                    if ((status != 0 || completed != count)) || [[ -s $work/load.out.err ]]; then
                        problem="smtp-source exited $status after $completed of $count messages: $(tr '\n' ' ' <"$work/load.out.err")"
                    fi
                fi
                if ! alive "$pid"; then problem+=" (the server process died)"; fi
                stop_server "$name"
                # Every accepted message must be a file in the mailbox, and nothing left behind in tmp/.
                if [[ -z $problem ]]; then
                    read -r files left bytes < <(mailbox_counts "$root/$user")
                    read -r wfiles _ _ < <(mailbox_counts "$root/$warmup_user")
                    if ((files != count || left != 0 || wfiles != warmup)); then
                        problem="the mailbox holds $files of $count message files ($left left in tmp/; warm-up mailbox $wfiles of $warmup)"
                    fi
                fi
                if [[ -n $problem ]]; then
                    log "$name FAILED ($conc conn, $label, run $run): $problem"
                    failed[$name]=1
                    failures=$((failures + 1))
                    details+=("| $name | $conc | $label | $count | FAILED | | | | |")
                    notes+=("$name, $conc connection(s), $label, run $run: $problem")
                    continue
                fi
                read -r rate cpu_s cpu_ms < <(rate_and_cpu "$count" "$wall" "$cpu_before" "$cpu_after")
                rates[$name]+="$rate "
                cpus[$name]+="$cpu_ms "
                file_bytes[$name,$size]=$((bytes / count))
                details+=("| $name | $conc | $label | $count | $wall | $rate | $cpu_s | $cpu_ms | $files |")
                log "$name: $rate msg/s, $cpu_ms CPU ms/msg, ${wall}s, $files files verified"
            done
        done
        record_medians "$conc,$size" rates cpus
        unset rates cpus failed
    done
done

# System calls per message: a separate batch (1 connection, 1 KiB, new connection per message unless
# --keepalive) under strace -f -c, attached to the server before the first message, so the lmtp
# processes Dovecot forks for it are traced from their start. Not timed: strace slows both down.
declare -A syscalls=()
syscall_names=(fsync fdatasync sync_file_range rename renameat renameat2 link linkat unlink unlinkat)
if ((use_strace)); then
    for name in "${servers[@]}"; do
        root=$(new_root)
        "start_$name" "$root"
        log "$name: counting system calls over $strace_count messages"
        # Every process of the tree (Dovecot's master has already forked an lmtp process for the
        # start-up probe, and reuses it), every thread (-f), and whatever is forked from now on.
        attach=()
        for p in $(tree_pids "${server_pid[$name]}"); do attach+=(-p "$p"); done
        strace -f -qq -c -o "$work/strace-$name.txt" -e trace="$(IFS=,; echo "${syscall_names[*]}")" \
            "${attach[@]}" 2>"$work/strace-$name.err" &
        strace_pid=$!
        sleep 2
        status=0
        run_load "$name" 1 "$strace_count" 1024 "$user" "$work/strace-load.out" >"$work/strace-load.res" || status=$?
        kill -INT "$strace_pid" 2>/dev/null || true
        wait "$strace_pid" 2>/dev/null || true
        strace_pid=""
        stop_server "$name"
        read -r files _ _ < <(mailbox_counts "$root/$user")
        if ((status != 0 || files != strace_count)) || [[ ! -s $work/strace-$name.txt ]]; then
            notes+=("the strace batch of $name did not complete ($files of $strace_count files, smtp-source status $status)")
            continue
        fi
        for call in "${syscall_names[@]}"; do
            n=$(awk -v c="$call" '$NF == c { print $4 }' "$work/strace-$name.txt")
            syscalls[$name,$call]=$(awk -v n="${n:-0}" -v m="$strace_count" 'BEGIN { printf "%.2f", n / m }')
        done
    done
fi

# Anything either server logged.
note_log_problems

# Report.

report=$(new_report_path maildir-delivery)
postfix_version=$(package_version postfix)
lmtpd_version=$(package_version dovecot-lmtpd)
if ((keepalive)); then mode="connections reused for many messages (smtp-source -d)"; else mode="a new connection per message (smtp-source default)"; fi
if ((fsync)); then
    sync_note="MailHost with its default (fsync on: the file in tmp/, then new/ after the rename, then the index journal line); Dovecot with its default mail_fsync = optimized (fsync of the file in tmp/, then fdatasync of new/ after the rename and of dovecot-uidlist)"
else
    sync_note="--no-fsync: MailHost --no-fsync, Dovecot mail_fsync = never"
fi

{
    echo "# Delivery into a Maildir: Mail.Protocols (SMTP) vs Dovecot $dovecot_version (LMTP)"
    echo
    report_when_line
    report_machine_line "dovecot-lmtpd $lmtpd_version, smtp-source from postfix $postfix_version"
    echo "- Disk: both Maildirs under $work, $(filesystem_of "$work") ($(mount_options_of "$work"); rotational=$(rotational_of "$work") as the guest sees it)"
    echo "- Durability: $sync_note."
    echo "- Ours: samples/MailHost --store maildir:DIR, SMTP (HELO, MAIL, RCPT, DATA, QUIT), --quiet; the 250 after"
    echo "  DATA comes once the message is in the Maildir. Dovecot: its lmtp service (LHLO, MAIL, RCPT, DATA, QUIT;"
    echo "  lmtp processes reused, one per connection), mail_location = maildir:DIR/%Lu, passwd-file userdb, mail"
    echo "  processes as nobody, info log to /dev/null."
    echo "- Load: smtp-source on the same machine (-L for LMTP), one recipient, $mode;"
    echo "  payload -l bytes plus smtp-source's headers; $count messages per run, $runs run(s) per case (medians shown),"
    echo "  each on a fresh server process and an empty mail directory after a warm-up of $warmup messages to"
    echo "  another mailbox, one server at a time, order alternating$( ((quick)) && echo "; --quick: too short to quote")."
    echo "- Checked after every run: the mailbox holds exactly $count message files in new/ and cur/ and none in tmp/."
    report_load_line "msg/s"
    echo "- CPU = utime+stime+cutime+cstime of the server's whole process tree from /proc/PID/stat over the run (tick ${clk_tck} Hz)."
    echo "- Ratios are ours/Dovecot: above 1 for msg/s means we are faster, below 1 for CPU/msg means we spend less."
    echo
    echo "| Connections | Size | Messages | Ours msg/s | Dovecot msg/s | msg/s ours/Dovecot | Ours CPU ms/msg | Dovecot CPU ms/msg | CPU/msg ours/Dovecot |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for conc in "${concurrencies[@]}"; do
        for size in "${sizes[@]}"; do
            ours=${result[ours,$conc,$size]:-}
            peer=${result[dovecot,$conc,$size]:-}
            [[ $ours == FAILED || -z $ours ]] && ours="FAILED FAILED"
            [[ $peer == FAILED || -z $peer ]] && peer="FAILED FAILED"
            read -r our_rate our_cpu <<<"$ours"
            read -r peer_rate peer_cpu <<<"$peer"
            rate_ratio=n/a cpu_ratio=n/a
            if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
                rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
                cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
            fi
            echo "| $conc | $(size_label "$size") | $count | $our_rate | $peer_rate | $rate_ratio | $our_cpu | $peer_cpu | $cpu_ratio |"
        done
    done
    echo
    echo "Average message file: $(for size in "${sizes[@]}"; do printf '%s: ours %s, Dovecot %s octets; ' "$(size_label "$size")" "${file_bytes[ours,$size]:-?}" "${file_bytes[dovecot,$size]:-?}"; done | sed 's/; $//')"
    echo "(ours adds a Received header and keeps CRLF line ends; Dovecot adds Return-Path, Delivered-To and Received and stores LF)."
    if ((use_strace)); then
        echo
        echo "System calls per message, counted with strace -f -c over a separate untimed batch of $strace_count messages"
        echo "(1 connection, 1 KiB; includes the one-time creation of the mailbox):"
        echo
        echo "| System call | Ours | Dovecot |"
        echo "|---|---:|---:|"
        for call in "${syscall_names[@]}"; do
            o=${syscalls[ours,$call]:-n/a}
            d=${syscalls[dovecot,$call]:-n/a}
            [[ $o == 0.00 && $d == 0.00 ]] && continue
            echo "| $call | $o | $d |"
        done
    fi
    echo
    echo "Every run:"
    echo
    print_runs "| Server | Connections | Size | Messages | Wall s | msg/s | CPU s | CPU ms/msg | Files verified |" \
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"

show_report "$report"
