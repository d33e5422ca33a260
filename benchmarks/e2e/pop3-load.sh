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

quick=0
runs=""
tuned=0
while (($#)); do
    case "$1" in
        --quick) quick=1 ;;
        --dovecot-tuned) tuned=1 ;;
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
dovecot=${DOVECOT:-/usr/sbin/dovecot}
ours_project=$repo/samples/MailHost
load_project=$repo/benchmarks/Pop3Load
results_dir=$repo/benchmarks/e2e/results

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

log() { printf '[pop3-load] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -x $dovecot ]]; then
    die "$dovecot not found. It comes with Debian's dovecot-pop3d package; install it without starting
the service: put a policy-rc.d that exits 101 in /usr/sbin, then
DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-pop3d"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
{ getent passwd dovenull && getent passwd dovecot; } >/dev/null ||
    die "the users dovecot and dovenull are missing (the dovecot-core package creates them)"
if ! [[ ${sessions_for[1]} =~ ^[1-9][0-9]*$ && ${sessions_for[20]} =~ ^[1-9][0-9]*$ ]] || ((sessions_for[20] < 20)); then
    die "SESSIONS_1 must be at least 1 and SESSIONS_20 at least 20"
fi

clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d "${TMPDIR:-/tmp}/pop3-load.XXXXXX")
# Dovecot's mail processes run as nobody and must reach the mailboxes below $work.
chmod 711 "$work"

# Servers this script started: name -> pid / port / log.
declare -A server_pid=() server_port=() server_log=()




trap cleanup EXIT
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

# Starts a server: start_server NAME PROBE COMMAND... The command may contain the words @PORT and
# @PORT2 (two free ports). It counts as started once a POP3 client is greeted on @PORT and, when
# PROBE is smtp, an SMTP client on @PORT2 too.
start_server() {
    local name=$1 probe=$2
    shift 2
    local port port2 pid i arg
    local -a cmd=()
    port=$(free_port)
    port2=$(free_port)
    while ((port2 == port)); do port2=$(free_port); done
    for arg in "$@"; do
        arg=${arg//@PORT2/$port2}
        cmd+=("${arg//@PORT/$port}")
    done
    server_log[$name]=$work/$name.log
    "${cmd[@]}" >>"${server_log[$name]}" 2>&1 &
    pid=$!
    server_pid[$name]=$pid
    server_port[$name]=$port
    server_port[$name.smtp]=$port2
    for ((i = 0; i < 300; i++)); do
        if ! alive "$pid"; then
            log "$name exited before listening; its output:"
            cat "${server_log[$name]}" >&2
            die "$name did not start"
        fi
        if hello "$port" +OK QUIT && { [[ $probe != smtp ]] || hello "$port2" 220 QUIT; }; then
            return 0
        fi
        sleep 0.1
    done
    cat "${server_log[$name]}" >&2
    die "$name did not greet a POP3 client on 127.0.0.1:$port within 30 s"
}

# Our server with POP3 on @PORT and SMTP (to load the messages) on @PORT2.
start_ours() {
    local -a extra=() users=()
    local n
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    for ((n = 1; n <= max_clients; n++)); do
        users+=(--user "$(user_name "$n"):$password")
    done
    start_server ours smtp dotnet "$work/ours/MailHost.dll" --smtp @PORT2 --submission 0 --smtps 0 \
        --pop3 @PORT --pop3s 0 --imap 0 --imaps 0 --domain example.test "${users[@]}" \
        --allow-plaintext-auth --quiet --max-connections-per-address 1000 "${extra[@]}"
}

# Our store is in memory and empty at start: every user gets the messages over SMTP.
load_ours() {
    dotnet "$work/load/Pop3Load.dll" smtp --port "${server_port[ours.smtp]}" --user "$user_format" \
        --users "$max_clients" --messages "$message_count" --size "$message_size" --time-limit 120 \
        >"$work/smtp.out" 2>&1 || { cat "$work/smtp.out" >&2; die "loading the messages into our server over SMTP failed"; }
}

user_name() { local format=$user_format; printf '%s' "${format//\{n\}/$(printf '%02d' "$1")}"; }

# Dovecot's config for a POP3 listener on $1. Debian's defaults otherwise, except: no TLS, plaintext
# logins allowed, and the info log (a line per login and per logout) thrown away, as MailHost's
# --quiet does; warnings and errors go to the log file.
write_dovecot_conf() {
    local port=$1 dir=$work/dovecot
    cat >"$dir/dovecot.conf" <<EOF
# Written by benchmarks/e2e/pop3-load.sh; nothing of /etc/dovecot is read.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = /dev/null
listen = 127.0.0.1
protocols = pop3
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/users
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
}
EOF
    if ((tuned)); then
        # https://doc.dovecot.org/ "high-performance mode" for login processes, and pop3 processes
        # that serve one session after another instead of one each.
        cat >>"$dir/dovecot.conf" <<EOF
service pop3-login {
  service_count = 0
  process_min_avail = $(nproc)
}
service pop3 {
  service_count = 1000
  process_min_avail = $(nproc)
}
# Room for every login and pop3 process Dovecot may run (it warns otherwise).
service auth {
  client_limit = 2048
}
EOF
    fi
}

# Dovecot, on a new port each time: the port is in its config, written just before the start.
start_dovecot() {
    local port i
    port=$(free_port)
    write_dovecot_conf "$port"
    server_log[dovecot]=$work/dovecot-stdout.log
    "$dovecot" -F -c "$work/dovecot/dovecot.conf" >>"${server_log[dovecot]}" 2>&1 &
    server_pid[dovecot]=$!
    server_port[dovecot]=$port
    for ((i = 0; i < 300; i++)); do
        if ! alive "${server_pid[dovecot]}"; then
            cat "${server_log[dovecot]}" "$work/dovecot/dovecot.log" >&2 2>/dev/null || true
            die "dovecot did not start"
        fi
        if hello "$port" +OK QUIT; then return 0; fi
        sleep 0.1
    done
    cat "$work/dovecot/dovecot.log" >&2 2>/dev/null || true
    die "dovecot did not greet a POP3 client on 127.0.0.1:$port within 30 s"
}

# CPU time of a process and all its descendants, in clock ticks: utime + stime + cutime + cstime
# (fields 14 to 17 of /proc/PID/stat) of every live process in the tree. Dovecot runs each login
# and each session in a child process; once the master reaps one, its time moves into the master's
# cutime/cstime, so the sum only grows. Our server is one process with no children.
tree_cpu_ticks() {
    # Processes come and go while this reads them (the machine is shared): cat skips the ones gone.
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

# Memory of a process tree: the sum of VmRSS (for Dovecot's many processes this counts shared
# pages more than once, so it is an upper bound).
tree_rss_mib() {
    local root=$1 pid sum=0 rss
    for pid in $root $(pgrep -P "$root" 2>/dev/null || true); do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
        sum=$((sum + ${rss:-0}))
    done
    echo $((sum / 1024))
}

# Runs the load generator. Prints its summary line; returns its exit status.
run_load() {
    local port=$1 clients=$2 per_client=$3 out=$4
    dotnet "$work/load/Pop3Load.dll" pop3 --port "$port" --user "$user_format" --password "$password" \
        --clients "$clients" --sessions "$per_client" --messages "$message_count" --size "$message_size" \
        --time-limit 900 --session-timeout 60 >"$out" 2>"$out.err"
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2"; }

# Builds.
log "building samples/MailHost (Release)"
if ! dotnet build -c Release "$ours_project" -o "$work/ours" -nologo >"$work/build-ours.log" 2>&1; then
    tail -n 40 "$work/build-ours.log" >&2
    die "samples/MailHost build failed"
fi
log "building benchmarks/Pop3Load (Release)"
if ! dotnet build -c Release "$load_project" -o "$work/load" -nologo >"$work/build-load.log" 2>&1; then
    tail -n 40 "$work/build-load.log" >&2
    die "benchmarks/Pop3Load build failed"
fi
dovecot_version=$("$dovecot" --version 2>/dev/null | head -n 1) || die "$dovecot --version failed"
log "dovecot $dovecot_version"

# The messages. Our server gets them over SMTP at every start and prepends a Received header; the
# Maildirs for Dovecot are downloaded from a first instance of our server, so both serve the same
# octets (Maildir files have LF line ends; Dovecot sends them with CRLF, as it does with any mail).
log "preparing $max_clients mailboxes of $message_count x $message_size-octet messages"
mkdir -p "$work/dovecot/run" "$work/dovecot/state" "$work/dovecot/home"
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
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$user" "$password" "$mail_uid" "$mail_gid" "$home" >>"$work/dovecot/users"
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

    declare -A rates=() mbs=() cpus=() failed=()
    for ((run = 1; run <= runs; run++)); do
        order=("${servers[@]}")
        if ((turn % 2 == 1)); then order=("${servers[1]}" "${servers[0]}"); fi
        turn=$((turn + 1))
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
                details+=("| $name | $clients | $total | FAILED | | | | | | | |")
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
            details+=("| $name | $clients | $total | $seconds | $rate | $mb | $cpu_s | $cpu_ms | $p50 | $p99 | $rss |")
            log "$name: $rate sessions/s, $mb MB/s, $cpu_ms CPU ms/session, ${seconds}s, p50 $p50 ms, p99 $p99 ms"
        done
    done
    for name in "${servers[@]}"; do
        if [[ -n ${failed[$name]:-} ]]; then
            result[$name,$clients]=FAILED
        else
            result[$name,$clients]="$(tr ' ' '\n' <<<"${rates[$name]}" | grep . | median) $(tr ' ' '\n' <<<"${mbs[$name]}" | grep . | median) $(tr ' ' '\n' <<<"${cpus[$name]}" | grep . | median)"
        fi
    done
    unset rates mbs cpus failed
done

# Anything either server logged (ours runs with --quiet: warnings and errors only; Dovecot's info
# lines go to /dev/null, the rest to its log).
# What is left out: MailHost's banner and Dovecot's note that the script stopped it with SIGTERM.
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
report=$results_dir/pop3-$stamp.md
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo" status --porcelain -- src samples 2>/dev/null) ]]; then commit+=" (src/ or samples/ modified)"; fi
dovecot_pkg=$(dpkg-query -W -f '${Version}' dovecot-pop3d 2>/dev/null || echo unknown)
if ((tuned)); then
    shape="tuned: login processes in high-performance mode (service_count = 0) and pop3 processes reused for up to 1,000 sessions, $(nproc) of each kept ready"
else
    shape="Debian's defaults: a new pop3-login and a new pop3 process for every connection"
fi

{
    echo "# POP3 end-to-end load: Mail.Protocols vs Dovecot $dovecot_version"
    echo
    echo "- When: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $commit"
    echo "- Machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version), dovecot-pop3d $dovecot_pkg"
    echo "- Session: USER + PASS, STAT, LIST, RETR 1..$message_count pipelined in one write, QUIT (the client waits"
    echo "  for the server to close); $message_count messages of $message_size octets as sent, $octets_each on the wire with our"
    echo "  Received header, the same octets in Dovecot's Maildir; every size checked against LIST and every"
    echo "  message's content checked. One mailbox per client."
    echo "- Load: benchmarks/Pop3Load (.NET, raw sockets) on the same machine; $runs run(s) per case (medians"
    echo "  shown), each on a fresh server process after a warm-up of a fifth of the run, one server at a time,"
    echo "  order alternating$( ((quick)) && echo "; --quick: too short to quote")"
    echo "- Ours: samples/MailHost, in-memory store, --quiet. Dovecot: $shape;"
    echo "  Maildir on $(df -T "$work" | awk 'NR == 2 { print $2 }'), passwd-file users, info log to /dev/null."
    echo "- Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews sessions/s more than CPU/session)"
    echo "- CPU = utime+stime+cutime+cstime of the server's whole process tree from /proc/PID/stat over the run (tick ${clk_tck} Hz)."
    echo "- MB = 10^6 octets of message content (after undoing dot-stuffing). Ratios are ours/Dovecot: above 1 for"
    echo "  sessions/s and MB/s means we are faster, below 1 for CPU/session means we spend less."
    echo
    echo "| Clients | Sessions | Ours sessions/s | Dovecot sessions/s | sessions/s ours/Dovecot | Ours MB/s | Dovecot MB/s | MB/s ours/Dovecot | Ours CPU ms/session | Dovecot CPU ms/session | CPU/session ours/Dovecot |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for clients in "${concurrencies[@]}"; do
        per_client=$(((${sessions_for[$clients]} + clients - 1) / clients))
        ours=${result[ours,$clients]:-}
        peer=${result[dovecot,$clients]:-}
        [[ $ours == FAILED || -z $ours ]] && ours="FAILED FAILED FAILED"
        [[ $peer == FAILED || -z $peer ]] && peer="FAILED FAILED FAILED"
        read -r our_rate our_mb our_cpu <<<"$ours"
        read -r peer_rate peer_mb peer_cpu <<<"$peer"
        rate_ratio=n/a mb_ratio=n/a cpu_ratio=n/a
        if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
            rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
            mb_ratio=$(fmt_ratio "$our_mb" "$peer_mb")
            cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
        fi
        echo "| $clients | $((per_client * clients)) | $our_rate | $peer_rate | $rate_ratio | $our_mb | $peer_mb | $mb_ratio | $our_cpu | $peer_cpu | $cpu_ratio |"
    done
    echo
    echo "Every run (p50/p99: session duration seen by the client; RSS: sum over the server's processes at the end):"
    echo
    echo "| Server | Clients | Sessions | Wall s | sessions/s | MB/s | CPU s | CPU ms/session | p50 ms | p99 ms | RSS MiB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
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
