#!/usr/bin/env bash
# End-to-end SMTP load benchmark: our server (samples/MailHost) against the SmtpServer NuGet package
# (benchmarks/Peers/SmtpServerPeer), side by side in one run, with the same load from Postfix's
# smtp-source. See benchmarks/e2e/README.md.
#
# Usage: benchmarks/e2e/smtp-load.sh [--quick] [--keepalive] [--runs N]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/smtp-load.sh [--quick] [--keepalive] [--runs N]

  --quick      small message counts (200 x 1 KiB, 50 x 100 KiB) and one run per case: a smoke
               test, not a measurement
  --keepalive  reuse each connection for many messages (smtp-source -d); the default opens a new
               connection per message, as smtp-source does by default
  --runs N     measure each case N times, each time on fresh server processes, and report the
               medians (default 3, or 1 with --quick)

Environment: SMTP_SOURCE (default /usr/sbin/smtp-source), MSGS_1K and MSGS_100K (message counts
per run, override the defaults of 10000 and 5000), OURS_EXTRA_ARGS (more options for MailHost).
EOF
}

quick=0
keepalive=0
runs=""
while (($#)); do
    case "$1" in
        --quick) quick=1 ;;
        --keepalive) keepalive=1 ;;
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
peer_project=$repo/benchmarks/Peers/SmtpServerPeer
ours_project=$repo/samples/MailHost
results_dir=$repo/benchmarks/e2e/results

if ((quick)); then
    count_1k=${MSGS_1K:-200}
    count_100k=${MSGS_100K:-50}
else
    count_1k=${MSGS_1K:-10000}
    count_100k=${MSGS_100K:-5000}
fi
concurrencies=(1 50)
sizes=(1024 102400)

log() { printf '[smtp-load] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -x $smtp_source ]]; then
    die "$smtp_source not found. It comes with Debian's postfix package; install it without starting
the service: put a policy-rc.d that exits 101 in /usr/sbin, preseed
'postfix postfix/main_mailer_type select No configuration' with debconf-set-selections, then
DEBIAN_FRONTEND=noninteractive apt-get install -y postfix"
fi
command -v dotnet >/dev/null || die "dotnet not found"

clk_tck=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d "${TMPDIR:-/tmp}/smtp-load.XXXXXX")

# Servers this script started: name -> pid / port / log.
declare -A server_pid=() server_port=() server_log=()




trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# Starts a server: start_server NAME COMMAND... where the command contains the word @PORT.
start_server() {
    local name=$1
    shift
    local port pid i j arg
    local -a cmd=()
    port=$(free_port)
    for arg in "$@"; do cmd+=("${arg//@PORT/$port}"); done
    server_log[$name]=$work/$name.log
    "${cmd[@]}" >"${server_log[$name]}" 2>&1 &
    pid=$!
    server_pid[$name]=$pid
    server_port[$name]=$port
    for ((i = 0; i < 300; i++)); do
        if ! alive "$pid"; then
            log "$name exited before listening; its output:"
            cat "${server_log[$name]}" >&2
            die "$name did not start"
        fi
        if smtp_hello "$port"; then
            # Let the server finish closing the probe's connection, so that it does not count
            # against a per-address connection limit once the load starts.
            for ((j = 0; j < 100; j++)); do
                [[ -z $(ss -Htn state established "sport = :$port" 2>/dev/null) ]] && break
                sleep 0.05
            done
            return 0
        fi
        sleep 0.1
    done
    cat "${server_log[$name]}" >&2
    die "$name did not greet an SMTP client on 127.0.0.1:$port within 30 s"
}

# One polite SMTP session: connect, read a 220 banner, QUIT.
smtp_hello() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 10 line <&3 && [[ $line == 220* ]] || exit 1
        printf 'QUIT\r\n' >&3
        IFS= read -r -t 10 line <&3 || true
    ) 2>/dev/null
}

start_peer() {
    start_server peer dotnet "$work/peer/SmtpServerPeer.dll" --port @PORT
}

start_ours() {
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    start_server ours dotnet "$work/ours/MailHost.dll" --smtp @PORT --submission 0 --smtps 0 \
        --pop3 0 --pop3s 0 --imap 0 --imaps 0 --domain example.test \
        --user alice@example.test:alice --quiet \
        --max-connections-per-address 1000 "${extra[@]}"
}

# utime + stime of a process, in clock ticks.
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

rss_mib() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# The peer's count of stored messages (it prints a stats line on SIGHUP).
peer_messages() {
    local pid=${server_pid[peer]} before i
    before=$(grep -c '^stats ' "${server_log[peer]}" || true)
    kill -HUP "$pid"
    for ((i = 0; i < 50; i++)); do
        if (($(grep -c '^stats ' "${server_log[peer]}" || true) > before)); then
            grep '^stats ' "${server_log[peer]}" | tail -n 1 | sed 's/.*messages=\([0-9]*\).*/\1/'
            return 0
        fi
        sleep 0.1
    done
    die "the peer did not answer SIGHUP with a stats line"
}

# Runs smtp-source against a server. Prints "wall_seconds completed_messages"; returns its exit status.
run_load() {
    local port=$1 conc=$2 count=$3 size=$4 out=$5
    local -a args=(-c -M bench.example.test -s "$conc" -m "$count" -l "$size"
        -f bench@example.test -t alice@example.test)
    ((keepalive)) && args+=(-d)
    local start end status=0 done_count
    start=$(date +%s.%N)
    "$smtp_source" "${args[@]}" "127.0.0.1:$port" >"$out" 2>"$out.err" || status=$?
    end=$(date +%s.%N)
    done_count=$(tr '\r' '\n' <"$out" | grep -E '^[0-9]+$' | tail -n 1 || true)
    echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') ${done_count:-0}"
    return "$status"
}

# Builds.
log "building the SmtpServer peer (Release)"
if ! dotnet build -c Release "$peer_project" -o "$work/peer" -nologo >"$work/build-peer.log" 2>&1; then
    tail -n 40 "$work/build-peer.log" >&2
    die "peer build failed"
fi
servers=()
if [[ -f $ours_project/MailHost.csproj ]]; then
    log "building samples/MailHost (Release)"
    if ! dotnet build -c Release "$ours_project" -o "$work/ours" -nologo >"$work/build-ours.log" 2>&1; then
        tail -n 40 "$work/build-ours.log" >&2
        die "samples/MailHost build failed"
    fi
    servers+=(ours)
    ours_note=""
else
    log "samples/MailHost/MailHost.csproj is absent: skipping our server, measuring the peer alone"
    ours_note="samples/MailHost/MailHost.csproj was absent: our server was not measured."
fi
servers+=(peer)

size_label() { if (($1 >= 1024 && $1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }


# result[server,conc,size] = "msgs/s cpu_ms_per_msg" (medians over the runs) or "FAILED"
declare -A result=()
details=()
failures=0
turn=0

for conc in "${concurrencies[@]}"; do
    for size in "${sizes[@]}"; do
        if ((size <= 1024)); then count=$count_1k; else count=$count_100k; fi
        # A warm-up as long as the run: both runtimes reach tier-1 code before anything is measured.
        warmup=$count
        label=$(size_label "$size")
        log "case: $conc connection(s), $label, $count messages x $runs run(s) (warm-up $warmup)"

        declare -A rates=() cpus=() failed=()
        for ((run = 1; run <= runs; run++)); do
            # Alternate which server goes first, run to run.
            order=("${servers[@]}")
            if ((turn % 2 == 1 && ${#servers[@]} == 2)); then order=("${servers[1]}" "${servers[0]}"); fi
            turn=$((turn + 1))
            for name in "${order[@]}"; do
                # One server at a time, in a fresh process: every run starts from the same state and
                # the other server's background work (JIT, GC) does not share the CPU with it.
                "start_$name"
                pid=${server_pid[$name]}
                port=${server_port[$name]}
                problem=""
                if ! run_load "$port" "$conc" "$warmup" "$size" "$work/warmup.out" >/dev/null; then
                    problem="warm-up failed: $(tr '\n' ' ' <"$work/warmup.out.err")"
                fi
                if [[ -z $problem ]]; then
                    stored_before=0
                    if [[ $name == peer ]]; then stored_before=$(peer_messages); fi
                    cpu_before=$(cpu_ticks "$pid")
                    status=0
                    run_load "$port" "$conc" "$count" "$size" "$work/load.out" >"$work/load.res" || status=$?
                    cpu_after=$(cpu_ticks "$pid")
                    rss=$(rss_mib "$pid")
                    read -r wall completed <"$work/load.res"
                    if ((status != 0 || completed != count)) || [[ -s $work/load.out.err ]]; then
                        problem="smtp-source exited $status after $completed of $count messages: $(tr '\n' ' ' <"$work/load.out.err")"
                    elif [[ $name == peer ]]; then
                        stored=$(($(peer_messages) - stored_before))
                        ((stored == count)) || problem="the peer stored $stored of $count messages"
                    fi
                fi
                stop_server "$name"
                if [[ -n $problem ]]; then
                    log "$name FAILED ($conc conn, $label, run $run): $problem"
                    failed[$name]=1
                    failures=$((failures + 1))
                    details+=("| $name | $conc | $label | $count | FAILED | | | | |")
                    continue
                fi
                read -r rate cpu_s cpu_ms < <(awk -v n="$count" -v w="$wall" -v b="$cpu_before" \
                    -v a="$cpu_after" -v hz="$clk_tck" \
                    'BEGIN { c = (a - b) / hz; printf "%.1f %.2f %.3f\n", n / w, c, c * 1000 / n }')
                rates[$name]+="$rate "
                cpus[$name]+="$cpu_ms "
                details+=("| $name | $conc | $label | $count | $wall | $rate | $cpu_s | $cpu_ms | $rss |")
                log "$name: $rate msg/s, $cpu_ms CPU ms/msg, ${wall}s, RSS ${rss} MiB"
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

# Report.

stamp=$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$results_dir"
report=$results_dir/smtp-$stamp.md
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo" status --porcelain -- src samples 2>/dev/null) ]]; then commit+=" (src/ or samples/ modified)"; fi
postfix_version=$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo unknown)
if ((keepalive)); then mode="connections reused for many messages (smtp-source -d)"; else mode="a new connection per message (smtp-source default)"; fi

{
    echo "# SMTP end-to-end load: Mail.Protocols vs SmtpServer 11.1.0"
    echo
    echo "- When: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $commit"
    echo "- Machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version), smtp-source from postfix $postfix_version"
    echo "- Load: smtp-source on the same machine, HELO + MAIL + RCPT + DATA, $mode;"
    echo "  payload -l bytes plus smtp-source's headers; $runs run(s) per case (medians shown), each on a fresh"
    echo "  server process after a warm-up of $count_1k/$count_100k messages, one server at a time, order alternating$( ((quick)) && echo "; --quick: too short to quote")"
    echo "- Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews msg/s more than CPU/msg)"
    echo "- CPU = the server process's utime+stime from /proc/PID/stat over the run (tick ${clk_tck} Hz)."
    echo "- msg/s ratio > 1 means ours is faster; CPU/msg ratio < 1 means ours spends less CPU per message."
    [[ -n $ours_note ]] && echo "- $ours_note"
    echo
    echo "| Connections | Size | Messages | Ours msg/s | Peer msg/s | msg/s ours/peer | Ours CPU ms/msg | Peer CPU ms/msg | CPU/msg ours/peer |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for conc in "${concurrencies[@]}"; do
        for size in "${sizes[@]}"; do
            if ((size <= 1024)); then count=$count_1k; else count=$count_100k; fi
            peer=${result[peer,$conc,$size]:-}
            ours=${result[ours,$conc,$size]:-}
            if [[ -z $ours ]]; then ours="n/a n/a"; fi
            [[ $ours == FAILED ]] && ours="FAILED FAILED"
            [[ $peer == FAILED ]] && peer="FAILED FAILED"
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
    echo "Every run:"
    echo
    echo "| Server | Connections | Size | Messages | Wall s | msg/s | CPU s | CPU ms/msg | RSS MiB after |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${details[@]}"
} >"$report"

cat "$report"
log "written to ${report#"$repo"/}"
if ((failures)); then
    log "$failures run(s) failed"
    exit 1
fi
