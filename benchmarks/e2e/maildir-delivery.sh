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

quick=0
runs=""
keepalive=0
fsync=1
use_strace=1
head=0
while (($#)); do
    case "$1" in
        --quick) quick=1 ;;
        --keepalive) keepalive=1 ;;
        --no-fsync) fsync=0 ;;
        --no-strace) use_strace=0 ;;
        --head) head=1 ;;
        --runs)
            [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
            runs=$2
            shift
            ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done

if [[ -z $runs ]]; then runs=$((quick ? 1 : 3)); fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
smtp_source=${SMTP_SOURCE:-/usr/sbin/smtp-source}
dovecot=${DOVECOT:-/usr/sbin/dovecot}
ours_project=$repo/samples/MailHost
results_dir=$repo/benchmarks/e2e/results

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

log() { printf '[maildir-delivery] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -x $smtp_source ]]; then
    die "$smtp_source not found. It comes with Debian's postfix package (see benchmarks/e2e/README.md)"
fi
if [[ ! -x $dovecot || ! -x /usr/lib/dovecot/lmtp ]]; then
    die "Dovecot's LMTP server is missing. Install it without starting the service: put a policy-rc.d
that exits 101 in /usr/sbin, then DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-lmtpd"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
{ getent passwd dovenull && getent passwd dovecot; } >/dev/null ||
    die "the users dovecot and dovenull are missing (the dovecot-core package creates them)"
if ((use_strace)) && ! command -v strace >/dev/null; then
    log "strace not found: skipping the system-call count"
    use_strace=0
fi

clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d "${TMPDIR:-/tmp}/maildir-delivery.XXXXXX")
# Dovecot's mail processes run as nobody and must reach the mail directories below $work.
chmod 711 "$work"

# Servers this script started: name -> pid / port / log.
declare -A server_pid=() server_port=() server_log=()
strace_pid=""

trap 'if [[ -n $strace_pid ]]; then stop_pid "$strace_pid"; fi; cleanup' EXIT
trap 'log "error: line $LINENO exited with status $?"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# One polite session: connect, read a greeting that starts with $2, send $3, read the reply.
hello() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 10 line <&3 && [[ $line == "$2"* ]] || exit 1
        printf '%s\r\n' "$3" >&3
        IFS= read -r -t 10 line <&3 || true
    ) 2>/dev/null
}

# Waits until the server greets on its port and the probe's connection is gone (so that it does not
# count against a per-address connection limit once the load starts).
wait_listening() {
    local name=$1 i j
    for ((i = 0; i < 300; i++)); do
        if ! alive "${server_pid[$name]}"; then
            log "$name exited before listening; its output:"
            cat "${server_log[$name]}" "$work/dovecot/dovecot.log" >&2 2>/dev/null || true
            die "$name did not start"
        fi
        if hello "${server_port[$name]}" 220 QUIT; then
            for ((j = 0; j < 100; j++)); do
                [[ -z $(ss -Htn state established "sport = :${server_port[$name]}" 2>/dev/null) ]] && break
                sleep 0.05
            done
            return 0
        fi
        sleep 0.1
    done
    cat "${server_log[$name]}" "$work/dovecot/dovecot.log" >&2 2>/dev/null || true
    die "$name did not greet on 127.0.0.1:${server_port[$name]} within 30 s"
}

# Our server: SMTP only, the two users, mailboxes in the Maildir++ store under $1.
start_ours() {
    local root=$1
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    ((fsync)) || extra+=(--no-fsync)
    server_port[ours]=$(free_port)
    server_log[ours]=$work/ours.log
    dotnet "$work/ours/MailHost.dll" --smtp "${server_port[ours]}" --submission 0 --smtps 0 \
        --pop3 0 --pop3s 0 --imap 0 --imaps 0 --domain example.test \
        --user "$user:alice" --user "$warmup_user:warmup" --quiet \
        --max-connections-per-address 1000 --store "maildir:$root" "${extra[@]}" >>"${server_log[ours]}" 2>&1 &
    server_pid[ours]=$!
    wait_listening ours
}

# Dovecot's config for an LMTP listener on $1 delivering to Maildirs under $2: Debian's built-in
# defaults otherwise (nothing of /etc/dovecot is read), the info log thrown away as MailHost's
# --quiet does; warnings and errors go to the log file.
write_dovecot_conf() {
    local port=$1 root=$2 dir=$work/dovecot
    mkdir -p "$dir/run" "$dir/state"
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' \
        "$user" alice "$mail_uid" "$mail_gid" "$root/$user" \
        "$warmup_user" warmup "$mail_uid" "$mail_gid" "$root/$warmup_user" >"$dir/users"
    cat >"$dir/dovecot.conf" <<EOF
# Written by benchmarks/e2e/maildir-delivery.sh; nothing of /etc/dovecot is read.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = /dev/null
listen = 127.0.0.1
protocols = lmtp
ssl = no
mail_location = maildir:$root/%Lu
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%Lu $dir/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $port
  }
}
EOF
    if ((!fsync)); then
        echo "mail_fsync = never" >>"$dir/dovecot.conf"
    fi
}

start_dovecot() {
    local root=$1
    server_port[dovecot]=$(free_port)
    write_dovecot_conf "${server_port[dovecot]}" "$root"
    server_log[dovecot]=$work/dovecot-stdout.log
    "$dovecot" -F -c "$work/dovecot/dovecot.conf" >>"${server_log[dovecot]}" 2>&1 &
    server_pid[dovecot]=$!
    wait_listening dovecot
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

# CPU time of a process and all its descendants, in clock ticks: utime + stime + cutime + cstime
# (fields 14 to 17 of /proc/PID/stat) of every live process in the tree. Dovecot runs the LMTP
# sessions in child processes (reused: service_count = 0); when the master reaps one, its time moves
# into the master's cutime/cstime, so the sum only grows. Our server is one process with no children.
tree_cpu_ticks() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        {
            pid = $1
            line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " ")
            ppid[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15]
        }
        END {
            for (p in ticks) {
                q = p
                for (depth = 0; depth < 20 && q != root && q in ppid && q > 1; depth++) q = ppid[q]
                if (q == root) sum += ticks[p]
            }
            print sum + 0
        }'
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
    local -a args=(-c -M bench.example.test -s "$conc" -m "$n" -l "$size" -f bench@example.test -t "$rcpt")
    ((keepalive)) && args+=(-d)
    [[ $name == dovecot ]] && args+=(-L)
    local start end status=0 done_count
    start=$(date +%s.%N)
    "$smtp_source" "${args[@]}" "127.0.0.1:${server_port[$name]}" >"$out" 2>"$out.err" || status=$?
    end=$(date +%s.%N)
    done_count=$(tr '\r' '\n' <"$out" | grep -E '^[0-9]+$' | tail -n 1 || true)
    echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') ${done_count:-0}"
    return "$status"
}

# Message files of a mailbox (new/ and cur/), files left in tmp/, and the bytes of the message files.
mailbox_counts() {
    local dir=$1 files left bytes
    files=$(find "$dir/new" "$dir/cur" -maxdepth 1 -type f 2>/dev/null | wc -l)
    left=$(find "$dir/tmp" -maxdepth 1 -type f 2>/dev/null | wc -l)
    bytes=$(find "$dir/new" "$dir/cur" -maxdepth 1 -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    echo "$files $left $bytes"
}

size_label() { if (($1 >= 1024 && $1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }

# Builds.
if ((head)); then
    log "exporting HEAD ($(git -C "$repo" rev-parse --short HEAD)) to build it"
    mkdir -p "$work/src"
    git -C "$repo" archive --format=tar HEAD | tar -x -C "$work/src"
    ours_project=$work/src/samples/MailHost
fi
log "building samples/MailHost (Release)"
if ! dotnet build -c Release "$ours_project" -o "$work/ours" -nologo >"$work/build-ours.log" 2>&1; then
    tail -n 40 "$work/build-ours.log" >&2
    die "samples/MailHost build failed"
fi
dovecot_version=$("$dovecot" --version 2>/dev/null | head -n 1) || die "$dovecot --version failed"
log "dovecot $dovecot_version; mail directories under $work ($(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }'))"

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
            order=("${servers[@]}")
            if ((turn % 2 == 1)); then order=("${servers[1]}" "${servers[0]}"); fi
            turn=$((turn + 1))
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
                read -r rate cpu_s cpu_ms < <(awk -v n="$count" -v w="$wall" -v b="$cpu_before" \
                    -v a="$cpu_after" -v hz="$clk_tck" \
                    'BEGIN { c = (a - b) / hz; printf "%.1f %.2f %.3f\n", n / w, c, c * 1000 / n }')
                rates[$name]+="$rate "
                cpus[$name]+="$cpu_ms "
                file_bytes[$name,$size]=$((bytes / count))
                details+=("| $name | $conc | $label | $count | $wall | $rate | $cpu_s | $cpu_ms | $files |")
                log "$name: $rate msg/s, $cpu_ms CPU ms/msg, ${wall}s, $files files verified"
            done
        done
        for name in "${servers[@]}"; do
            if [[ -n ${failed[$name]:-} ]]; then
                result[$name,$conc,$size]=FAILED
            else
                result[$name,$conc,$size]="$(tr ' ' '\n' <<<"${rates[$name]}" | grep . | median) $(tr ' ' '\n' <<<"${cpus[$name]}" | grep . | median)"
            fi
        done
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

# Anything either server logged (ours runs with --quiet: warnings and errors only; Dovecot's info
# lines go to /dev/null, the rest to its log). Left out: MailHost's banner and Dovecot's note that the
# script stopped it with SIGTERM.
log_problems() {
    grep -v -e '^Mail.Protocols MailHost' -e '^  ' -e '^Press Ctrl+C' -e '^Stopping (sessions' \
        -e 'master: Warning: Killed with signal 15' "$1" | grep . || true
}
for file in "$work/ours.log" "$work/dovecot/dovecot.log" "$work/dovecot-stdout.log"; do
    [[ -f $file ]] || continue
    lines=$(log_problems "$file" | wc -l)
    if ((lines > 0)); then
        notes+=("$(basename "$file") has $lines line(s) of warnings or errors; the first: $(log_problems "$file" | head -n 3 | tr '\n' ' ')")
    fi
done

# Report.

stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$results_dir"
report=$results_dir/maildir-delivery-$stamp.md
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ((head)); then
    commit+=" (built from a git archive of HEAD)"
elif [[ -n $(git -C "$repo" status --porcelain -- src samples 2>/dev/null) ]]; then
    commit+=" (src/ or samples/ modified)"
fi
postfix_version=$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo unknown)
lmtpd_version=$(dpkg-query -W -f '${Version}' dovecot-lmtpd 2>/dev/null || echo unknown)
if ((keepalive)); then mode="connections reused for many messages (smtp-source -d)"; else mode="a new connection per message (smtp-source default)"; fi
fs=$(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }')
mount_opts=$(findmnt -n -o OPTIONS -T "$work" 2>/dev/null || echo unknown)
dev=$(df "$work" | awk 'NR == 2 { print $1 }')
rotational=$(cat "/sys/block/$(basename "$dev" | sed 's/[0-9]*$//')/queue/rotational" 2>/dev/null || echo "?")
if ((fsync)); then
    sync_note="MailHost with its default (fsync on: the file in tmp/, then new/ after the rename, then the index journal line); Dovecot with its default mail_fsync = optimized (fsync of the file in tmp/, then fdatasync of new/ after the rename and of dovecot-uidlist)"
else
    sync_note="--no-fsync: MailHost --no-fsync, Dovecot mail_fsync = never"
fi

{
    echo "# Delivery into a Maildir: Mail.Protocols (SMTP) vs Dovecot $dovecot_version (LMTP)"
    echo
    echo "- When: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $commit"
    echo "- Machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version), dovecot-lmtpd $lmtpd_version, smtp-source from postfix $postfix_version"
    echo "- Disk: both Maildirs under $work, $fs ($mount_opts; rotational=$rotational as the guest sees it)"
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
    echo "- Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews msg/s)"
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
    echo "| Server | Connections | Size | Messages | Wall s | msg/s | CPU s | CPU ms/msg | Files verified |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${details[@]}"
    if ((${#notes[@]})); then
        echo
        echo "Notes:"
        echo
        printf -- '- %s\n' "${notes[@]}"
    fi
} >"$report"

cat "$report"
log "written to ${report#"$repo"/}"
if ((failures)); then
    log "$failures run(s) failed"
    exit 1
fi
