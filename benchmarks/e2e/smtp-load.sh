#!/usr/bin/env bash
# End-to-end SMTP load benchmark: our server (samples/MailHost) against the SmtpServer NuGet package
# (benchmarks/Peers/SmtpServerPeer) and the floor, a sink that answers with fixed replies
# (benchmarks/Peers/PipelinesSink), side by side in one run, with the same load from Postfix's
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
per run, override the defaults of 10000 and 5000), WARMUP_FACTOR (warm-up messages per measured one,
default 3, or 1 with --quick), SIZES (message sizes in octets, default "1024 102400"), OURS_EXTRA_ARGS
(more options for MailHost).
EOF
}

script_name=smtp-load
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

keepalive=0
# The options of this script alone (parse_options takes --quick and --runs).
script_option() {
    case "$1" in
        --keepalive) keepalive=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

smtp_source=${SMTP_SOURCE:-/usr/sbin/smtp-source}
peer_project=$repo/benchmarks/Peers/SmtpServerPeer
sink_project=$repo/benchmarks/Peers/PipelinesSink
ours_project=$repo/samples/MailHost

if ((quick)); then
    count_1k=${MSGS_1K:-200}
    count_100k=${MSGS_100K:-50}
    warmup_factor=${WARMUP_FACTOR:-1}
else
    count_1k=${MSGS_1K:-10000}
    count_100k=${MSGS_100K:-5000}
    warmup_factor=${WARMUP_FACTOR:-3}
fi
# Issue 15's goals name 1, 10 and 50 connections; the smoke keeps two.
if ((quick)); then concurrencies=(1 50); else concurrencies=(1 10 50); fi
read -ra sizes <<<"${SIZES:-1024 102400}"
for value in "$warmup_factor" "${sizes[@]}"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "WARMUP_FACTOR and SIZES take whole numbers of at least 1 (got '$value')"
done

if [[ ! -x $smtp_source ]]; then
    die "$smtp_source not found. It comes with Debian's postfix package; install it without starting
the service: put a policy-rc.d that exits 101 in /usr/sbin, preseed
'postfix postfix/main_mailer_type select No configuration' with debconf-set-selections, then
DEBIAN_FRONTEND=noninteractive apt-get install -y postfix"
fi
command -v dotnet >/dev/null || die "dotnet not found"

begin_run

# The SmtpServer peer, on a new port each time.
start_peer() {
    server_port[peer]=$(free_port)
    # It keeps every message of the case, warm-up included, as our in-memory store does: a peer that dropped the
    # oldest would reuse their memory while ours took fresh pages (the kernel's clearing of them is a third of the
    # CPU at 100 KiB).
    start_process peer "$work/peer.log" dotnet "$work/peer/SmtpServerPeer.dll" --port "${server_port[peer]}" \
        --keep "$((count + warmup))"
    wait_listening peer 220 "an SMTP client"
}

# The Pipelines sink, on a new port each time.
start_sink() {
    server_port[sink]=$(free_port)
    start_process sink "$work/sink.log" dotnet "$work/sink/PipelinesSink.dll" --port "${server_port[sink]}"
    wait_listening sink 220 "an SMTP client"
}

# Our server: SMTP only, the user alice, the in-memory store.
start_ours() {
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    server_port[ours]=$(free_port)
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --smtp "${server_port[ours]}" \
        --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imap 0 --imaps 0 --domain example.test \
        --user alice@example.test:alice --quiet \
        --max-connections-per-address 1000 "${extra[@]}"
    wait_listening ours 220 "an SMTP client"
}

# utime + stime of a process, in clock ticks.
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# "RSS peak PSS" of a process, in MiB: its resident set now, its peak (VmHWM), and its proportional set size.
memory_mib() {
    [[ -r /proc/$1/status ]] || return 1
    printf '%s %s %s\n' "$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status")" \
        "$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status")" "$(tree_pss_mib "$1")"
}

# The count of messages taken by server NAME, the peer or the sink (each prints a stats line on SIGHUP).
server_messages() {
    local name=$1 pid=${server_pid[$1]} before i
    before=$(grep -c '^stats ' "${server_log[$name]}" || true)
    kill -HUP "$pid"
    for ((i = 0; i < 50; i++)); do
        if (($(grep -c '^stats ' "${server_log[$name]}" || true) > before)); then
            grep '^stats ' "${server_log[$name]}" | tail -n 1 | sed 's/.*messages=\([0-9]*\).*/\1/'
            return 0
        fi
        sleep 0.1
    done
    die "the $name did not answer SIGHUP with a stats line"
}

# Runs smtp-source against a server. Prints "wall_seconds completed_messages"; returns its exit status.
run_load() {
    local port=$1 conc=$2 count=$3 size=$4 out=$5
    local -a args=(-M bench.example.test -s "$conc" -m "$count" -l "$size"
        -f bench@example.test -t alice@example.test)
    ((keepalive)) && args+=(-d)
    run_smtp_source "$port" "$out" "${args[@]}"
}

# Builds.
build_release "the SmtpServer peer" "$peer_project" peer
build_release "the Pipelines sink" "$sink_project" sink
servers=()
if [[ -f $ours_project/MailHost.csproj ]]; then
    build_ours
    servers+=(ours)
    ours_note=""
else
    log "samples/MailHost/MailHost.csproj is absent: skipping our server, measuring the peer and the sink"
    ours_note="samples/MailHost/MailHost.csproj was absent: our server was not measured."
fi
servers+=(peer sink)

# result[server,conc,size] = "msgs/s cpu_ms_per_msg" (medians over the runs) or "FAILED"
declare -A result=()
notes=()
details=()
failures=0
turn=0

for conc in "${concurrencies[@]}"; do
    for size in "${sizes[@]}"; do
        if ((size <= 1024)); then count=$count_1k; else count=$count_100k; fi
        # A warm-up three times as long as the run (WARMUP_FACTOR), so that every server's hot code has reached
        # tier 1 before anything is measured: with a warm-up as long as a run of 10,000 messages, the JIT was still
        # recompiling ours (more methods than the peer's) during the measured run, which cost it up to twice its
        # steady CPU per message (docs/performance.md, "where issue 15 ends").
        warmup=$((count * warmup_factor))
        label=$(size_label "$size")
        log "case: $conc connection(s), $label, $count messages x $runs run(s) (warm-up $warmup)"

        declare -A rates=() cpus=() failed=()
        for ((run = 1; run <= runs; run++)); do
            next_order
            for name in "${order[@]}"; do
                # One server at a time, in a fresh process: every run starts from the same state and
                # the other servers' background work (JIT, GC) does not share the CPU with it.
                "start_$name"
                pid=${server_pid[$name]}
                port=${server_port[$name]}
                problem=""
                if ! run_load "$port" "$conc" "$warmup" "$size" "$work/warmup.out" >/dev/null; then
                    problem="warm-up failed: $(tr '\n' ' ' <"$work/warmup.out.err")"
                fi
                if [[ -z $problem ]]; then
                    stored_before=0
                    if [[ $name != ours ]]; then stored_before=$(server_messages "$name"); fi
                    cpu_before=$(cpu_ticks "$pid")
                    status=0
                    run_load "$port" "$conc" "$count" "$size" "$work/load.out" >"$work/load.res" || status=$?
                    cpu_after=$(cpu_ticks "$pid")
                    memory=$(memory_mib "$pid") # fails, and stops the script, if the server is gone
                    read -r rss peak pss <<<"$memory"
                    read -r wall completed <"$work/load.res"
                    if ((status != 0 || completed != count)) || [[ -s $work/load.out.err ]]; then
                        problem="smtp-source exited $status after $completed of $count messages: $(tr '\n' ' ' <"$work/load.out.err")"
                    elif [[ $name != ours ]]; then
                        stored=$(($(server_messages "$name") - stored_before))
                        ((stored == count)) || problem="the $name took $stored of $count messages"
                    fi
                fi
                stop_server "$name"
                if [[ -n $problem ]]; then
                    log "$name FAILED ($conc conn, $label, run $run): $problem"
                    failed[$name]=1
                    failures=$((failures + 1))
                    details+=("| $name | $conc | $label | $count | FAILED | | | | | | |")
                    continue
                fi
                read -r rate cpu_s cpu_ms < <(rate_and_cpu "$count" "$wall" "$cpu_before" "$cpu_after")
                rates[$name]+="$rate "
                cpus[$name]+="$cpu_ms "
                details+=("| $name | $conc | $label | $count | $wall | $rate | $cpu_s | $cpu_ms | $rss | $peak | $pss |")
                log "$name: $rate msg/s, $cpu_ms CPU ms/msg, ${wall}s, RSS ${rss} MiB (peak $peak), PSS ${pss} MiB"
            done
        done
        record_medians "$conc,$size" rates cpus
        unset rates cpus failed
    done
done

# Report.

report=$(new_report_path smtp)
postfix_version=$(package_version postfix)
if ((keepalive)); then mode="connections reused for many messages (smtp-source -d)"; else mode="a new connection per message (smtp-source default)"; fi

{
    echo "# SMTP end-to-end load: Mail.Protocols vs SmtpServer 11.1.0 and the Pipelines sink"
    echo
    report_when_line
    report_machine_line "smtp-source from postfix $postfix_version"
    echo "- Load: smtp-source on the same machine, HELO + MAIL + RCPT + DATA, $mode;"
    echo "  payload -l bytes plus smtp-source's headers; $runs run(s) per case (medians shown), each on a fresh"
    echo "  server process after a warm-up of $((count_1k * warmup_factor))/$((count_100k * warmup_factor)) messages, one server at a time, order rotating$( ((quick)) && echo "; --quick: too short to quote")"
    report_load_line "msg/s more than CPU/msg"
    echo "- CPU = the server process's utime+stime from /proc/PID/stat over the run (tick ${clk_tck} Hz)."
    echo "- msg/s ratio > 1 means ours is faster; CPU/msg ratio < 1 means ours spends less CPU per message."
    echo "- Sink: benchmarks/Peers/PipelinesSink, fixed replies and the data dropped, the floor; CPU/msg ours/sink is how far"
    echo "  above it we are (issue 15's goal: at most 1.15)."
    [[ -n $ours_note ]] && echo "- $ours_note"
    echo
    echo "| Connections | Size | Messages | Ours msg/s | Peer msg/s | msg/s ours/peer | Ours CPU ms/msg | Peer CPU ms/msg | CPU/msg ours/peer | Sink msg/s | Sink CPU ms/msg | CPU/msg ours/sink |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for conc in "${concurrencies[@]}"; do
        for size in "${sizes[@]}"; do
            if ((size <= 1024)); then count=$count_1k; else count=$count_100k; fi
            peer=${result[peer,$conc,$size]:-}
            sink=${result[sink,$conc,$size]:-}
            ours=${result[ours,$conc,$size]:-}
            if [[ -z $ours ]]; then ours="n/a n/a"; fi
            [[ $ours == FAILED ]] && ours="FAILED FAILED"
            [[ $peer == FAILED ]] && peer="FAILED FAILED"
            [[ $sink == FAILED ]] && sink="FAILED FAILED"
            read -r our_rate our_cpu <<<"$ours"
            read -r peer_rate peer_cpu <<<"$peer"
            read -r sink_rate sink_cpu <<<"$sink"
            rate_ratio=n/a cpu_ratio=n/a sink_cpu_ratio=n/a
            if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
                rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
                cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
            fi
            if [[ $our_cpu =~ ^[0-9.]+$ && $sink_cpu =~ ^[0-9.]+$ ]]; then
                sink_cpu_ratio=$(fmt_ratio "$our_cpu" "$sink_cpu")
            fi
            echo "| $conc | $(size_label "$size") | $count | $our_rate | $peer_rate | $rate_ratio | $our_cpu | $peer_cpu | $cpu_ratio | $sink_rate | $sink_cpu | $sink_cpu_ratio |"
        done
    done
    echo
    echo "Every run:"
    echo
    print_runs "| Server | Connections | Size | Messages | Wall s | msg/s | CPU s | CPU ms/msg | RSS MiB after | peak RSS MiB | PSS MiB after |" \
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"

show_report "$report"
