#!/usr/bin/env bash
# End-to-end soak: one samples/MailHost on the Maildir store (and a file queue) takes SMTP deliveries, authenticated
# submissions it relays to a second MailHost playing the remote domain (its smart host), POP3 sessions and IMAP
# sessions (one of them in IDLE), all at once for the given time, from benchmarks/Soak. Every accepted message must
# reach each recipient exactly once, byte for byte, by the end of a drain; the host's memory, descriptors and threads
# are sampled throughout into a CSV and a PNG graph.
#
# Usage: benchmarks/e2e/soak.sh [--minutes N | --seconds N] [--quick] [--head] [--drain SECONDS]
set -euo pipefail
# The whole script is one compound command, read to its end before it starts: a run of an hour may go on while the
# checkout changes under it.
{

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/soak.sh [--minutes N | --seconds N] [--quick] [--head] [--drain SECONDS]

  --minutes N, --seconds N  how long the clients send (default 10 minutes); the readers go on until every
                            accepted message has arrived (at most --drain seconds, default 300), then every
                            mailbox is read to the end once more
  --quick                   one minute (what .ci/run runs)
  --head                    build the last commit (a git archive of HEAD) instead of the working tree

What runs at once against the host (benchmarks/Soak/Program.cs has the details):
  SMTP_SENDERS (4) MX senders at SMTP_RATE (8) msg/s in all to local users, 1 to 3 recipients, sizes from 512 B to
  2 MiB, and a relay attempt without AUTH now and then (must be refused); SUBMISSION_SENDERS (2) submission senders
  with AUTH PLAIN at SUBMISSION_RATE (2) msg/s, mostly to the remote domain (relayed to the second MailHost through
  --smart-host); 4 POP3 readers (RETR, DELE), 4 IMAP readers (SELECT, UID SEARCH, UID FETCH, STORE \Seen, \Flagged,
  \Deleted, SEARCH FLAGGED, EXPUNGE), 1 IDLE reader, and 3 POP3 readers at the remote domain.

The host is sampled every SAMPLE_SECONDS (5): RSS, open file descriptors and threads from /proc/PID, CPU; every
GC_EVERY-th sample (12, i.e. every minute; 0 for never) it is sent SIGHUP, on which MailHost runs a full compacting
collection and prints its managed heap. The samples go to results/soak-<date>.csv as they are taken, and the graph
to results/soak-<date>.png every minute (gnuplot), so a run cut short still leaves its record; the report is
results/soak-<date>.md. Exit status 1 if any message was lost, duplicated or altered, a client met an error, a
server died, or a server logged an error.

Environment: SMTP_SENDERS, SMTP_RATE, SUBMISSION_SENDERS, SUBMISSION_RATE, SAMPLE_SECONDS, GC_EVERY (above), SEED
(default 1), OURS_EXTRA_ARGS (more options for the host's MailHost).
EOF
}

script_name=soak
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

seconds=600
drain=300
script_option() {
    case "$1" in
        --head) head=1 ;;
        *) return 1 ;;
    esac
}
# --minutes, --seconds and --drain take a value: read them here, the rest with lib.sh's parse_options.
args=()
while (($#)); do
    case "$1" in
        --minutes | --seconds | --drain)
            [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
            case "$1" in
                --minutes) seconds=$(($2 * 60)) ;;
                --seconds) seconds=$2 ;;
                --drain) drain=$2 ;;
            esac
            shift 2
            ;;
        *) args+=("$1"); shift ;;
    esac
done
parse_options "${args[@]}"
if ((quick)); then seconds=60; fi
# "10 min" or "90 s", for titles.
if ((seconds % 60 == 0)); then duration="$((seconds / 60)) min"; else duration="$seconds s"; fi

smtp_senders=${SMTP_SENDERS:-4} smtp_rate=${SMTP_RATE:-8}
submission_senders=${SUBMISSION_SENDERS:-2} submission_rate=${SUBMISSION_RATE:-2}
sample_seconds=${SAMPLE_SECONDS:-5} gc_every=${GC_EVERY:-12} seed=${SEED:-1}
for value in "$smtp_senders" "$submission_senders" "$sample_seconds" "$seed"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
done
[[ $gc_every =~ ^[0-9]+$ && $smtp_rate =~ ^[0-9.]+$ && $submission_rate =~ ^[0-9.]+$ ]] || { usage >&2; exit 2; }

ours_project=$repo/samples/MailHost
soak_project=$repo/benchmarks/Soak
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
command -v gnuplot >/dev/null || die "gnuplot not found (Debian: apt-get install gnuplot-nox)"

password=soak
local_domain=example.test
remote_domain=remote.test
pop3_users=(pop01 pop02 pop03 pop04)
imap_users=(imap01 imap02 imap03 imap04)
idle_user=idle01
submit_users=(sub01 sub02)
remote_users=(r01 r02 r03)
# "a,b@domain" lists of the users above.
join_users() { local domain=$1 IFS=,; shift; printf '%s\n' "${*/%/@$domain}"; }

begin_run
started=$(date -u '+%Y-%m-%d %H:%M:%S')
commit=$(commit_description)
trap 'log "error: line $LINENO exited with status $?"' ERR

build_ours
build_release benchmarks/Soak "$soak_project" soak

stamp=$(date +%Y-%m-%d-%H%M%S)
results_dir=$repo/benchmarks/e2e/results
mkdir -p "$results_dir"
report=$results_dir/soak-$stamp.md
csv=$results_dir/soak-$stamp.csv
png=$results_dir/soak-$stamp.png

# The remote domain: a second MailHost that takes mail for remote.test over SMTP and serves it over POP3.
server_port[remote]=$(free_port)
remote_pop3=$(free_port)
remote_args=()
for user in "${remote_users[@]}"; do remote_args+=(--user "$user@$remote_domain:$password"); done
start_process remote "$work/remote.log" dotnet "$work/ours/MailHost.dll" --smtp "${server_port[remote]}" --pop3 "$remote_pop3" \
    --submission 0 --smtps 0 --pop3s 0 --imap 0 --imaps 0 --domain "$remote_domain" "${remote_args[@]}" \
    --allow-plaintext-auth --quiet --no-delivery --max-connections-per-address 1000 --store "maildir:$work/remote-mail"
wait_listening remote 220 "an SMTP client"
wait_listening remote +OK "a POP3 client" "$remote_pop3"

# The host: every user's mail in Maildir++ under $work/mail, outbound mail in a queue directory, relayed to the remote
# MailHost as its smart host (the delivery agent looks for due mail every 2 s).
{
    for user in "${pop3_users[@]}" "${imap_users[@]}" "$idle_user" "${submit_users[@]}" postmaster; do
        echo "$user@$local_domain:$password"
    done
} >"$work/users"
server_port[ours]=$(free_port)
submission_port=$(free_port)
pop3_port=$(free_port)
imap_port=$(free_port)
extra=()
read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
# --messages-per-user-hour: each submission user sends about 3,600 an hour, over the default limit of 1,000 (kept on,
# raised, so the limiter's path is in the soak). env --default-signal=HUP: under nohup SIGHUP is ignored and the host would inherit that, and never answer the sampler.
start_process ours "$work/ours.log" env --default-signal=HUP dotnet "$work/ours/MailHost.dll" --smtp "${server_port[ours]}" --submission "$submission_port" \
    --pop3 "$pop3_port" --imap "$imap_port" --smtps 0 --pop3s 0 --imaps 0 --domain "$local_domain" --users-file "$work/users" \
    --postmaster "postmaster@$local_domain" --allow-plaintext-auth --quiet --max-connections-per-address 1000 \
    --messages-per-user-hour 100000 \
    --store "maildir:$work/mail" --queue "dir:$work/queue" --smart-host "127.0.0.1:${server_port[remote]}" --poll-seconds 2 \
    "${extra[@]}"
wait_listening ours 220 "an SMTP client"
wait_listening ours 220 "a submission client" "$submission_port"
wait_listening ours +OK "a POP3 client" "$pop3_port"
wait_listening ours "* OK" "an IMAP client" "$imap_port"
pid=${server_pid[ours]}
log "host pid $pid, remote pid ${server_pid[remote]}; sending for $seconds s, then a drain of at most $drain s; samples in ${csv#"$repo"/}"

# --- Sampling ---

# The host's CPU clock ticks (utime + stime).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

# Draws the PNG from the CSV: memory above, descriptors and threads below.
plot() {
    [[ $(wc -l <"$csv") -ge 3 ]] || return 0
    # gnuplot refuses a series without a point: the managed heap is drawn once there is one.
    local managed_series=""
    if awk -F, 'NR > 1 && $3 != "" { found = 1; exit } END { exit !found }' "$csv"; then
        managed_series=", \"$csv\" using (\$1/60):3 with linespoints pt 7 ps 0.4 title \"managed heap after a full GC\""
    fi
    gnuplot 2>>"$work/gnuplot.log" <<EOF || log "warning: gnuplot failed (see $work/gnuplot.log)"
set terminal pngcairo size 800,560 font ",9"
set output "$png.tmp"
set datafile separator ","
set datafile missing ""
set multiplot layout 2,1 title "MailHost under the soak ($(date -u -d "@$run_start" '+%Y-%m-%d %H:%M UTC'), $duration of load)"
set grid
set key top left
set xlabel "minutes"
set ylabel "MiB"
set yrange [0:*]
set key bottom right
plot "$csv" using (\$1/60):2 with lines lw 2 title "RSS"$managed_series
set ylabel "count"
set key top left
plot "$csv" using (\$1/60):4 with lines lw 2 title "open file descriptors", \
     "$csv" using (\$1/60):5 with lines lw 2 title "threads"
unset multiplot
EOF
    if [[ -s $png.tmp ]]; then mv "$png.tmp" "$png"; fi
}

# Samples the host every sample_seconds into the CSV until it exits or this subshell is stopped; draws every minute.
# It must not die of one failed reading (set +e): a field it cannot read stays empty.
sample_loop() {
    set +e +o pipefail
    local n=0 now prev_ticks prev_time ticks rss threads fds managed count before i cpu
    local plot_every=$(((60 + sample_seconds - 1) / sample_seconds))
    prev_ticks=$(cpu_ticks "$pid")
    prev_time=$(date +%s.%N)
    echo "seconds,rss_mib,managed_mib,fds,threads,cpu_percent,load1" >"$csv"
    while alive "$pid"; do
        managed=""
        if ((gc_every > 0 && n % gc_every == 0)); then
            before=$(grep -c '^memory managed=' "$work/ours.log" || true)
            kill -HUP "$pid" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do
                count=$(grep -c '^memory managed=' "$work/ours.log" || true)
                ((count > before)) && break
                sleep 0.1
            done
            if ((count > before)); then
                managed=$(grep '^memory managed=' "$work/ours.log" | tail -n 1 | sed 's/^memory managed=\([0-9]*\).*/\1/' |
                    awk '{ printf "%.1f", $1 / 1048576 }')
            elif ((n == 0)); then
                log "warning: the host did not answer SIGHUP with its managed heap within 10 s"
            fi
        fi
        now=$(date +%s.%N)
        ticks=$(cpu_ticks "$pid" 2>/dev/null)
        [[ -n $ticks ]] || break
        rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null)
        threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        cpu=$(awk -v t="$ticks" -v p="$prev_ticks" -v a="$now" -v b="$prev_time" -v hz="$clk_tck" \
            'BEGIN { if (a - b > 0) printf "%.1f", (t - p) / hz / (a - b) * 100; else print 0 }')
        printf '%s,%s,%s,%s,%s,%s,%s\n' "$(awk -v a="$now" -v s="$run_start" 'BEGIN { printf "%.0f", a - s }')" \
            "$rss" "$managed" "$fds" "$threads" "$cpu" "$(cut -d' ' -f1 /proc/loadavg)" >>"$csv"
        prev_ticks=$ticks prev_time=$now
        n=$((n + 1))
        ((n % plot_every == 0)) && plot
        sleep "$sample_seconds"
    done
}

# Stops the sampler if it still runs (lib.sh stop_pid sends nothing to a pid that is no longer this script's child).
stop_sampler() {
    [[ -n ${sampler_pid:-} ]] || return 0
    stop_pid "$sampler_pid"
    sampler_pid=""
}
run_start=$(date +%s)
sample_loop &
sampler_pid=$!
trap 'stop_sampler; cleanup' EXIT

# --- The load ---

driver_status=0
dotnet "$work/soak/Soak.dll" --smtp-port "${server_port[ours]}" --submission-port "$submission_port" \
    --pop3-port "$pop3_port" --imap-port "$imap_port" --remote-pop3-port "$remote_pop3" \
    --pop3-users "$(join_users "$local_domain" "${pop3_users[@]}")" \
    --imap-users "$(join_users "$local_domain" "${imap_users[@]}")" --idle-user "$idle_user@$local_domain" \
    --remote-users "$(join_users "$remote_domain" "${remote_users[@]}")" \
    --submit-users "$(join_users "$local_domain" "${submit_users[@]}")" \
    --check-users "$(join_users "$local_domain" "${submit_users[@]}" postmaster)" \
    --password "$password" --seconds "$seconds" --drain "$drain" --seed "$seed" \
    --smtp-senders "$smtp_senders" --smtp-rate "$smtp_rate" \
    --submission-senders "$submission_senders" --submission-rate "$submission_rate" \
    --summary "$work/summary.md" --keep "$results_dir/soak-$stamp-altered" \
    >"$work/driver.out" || driver_status=$?
run_seconds=$(($(date +%s) - run_start))
log "driver: exit $driver_status, $(cat "$work/driver.out")"

# --- After the run ---

stop_sampler
plot
failures=0
notes=()
for name in ours remote; do
    if ! alive "${server_pid[$name]}"; then
        notes+=("the $name MailHost died during the run")
        failures=$((failures + 1))
    fi
done
# The queue must have been emptied: every relayed message handed to the remote host and its files removed (env/, msg/,
# tmp/, corrupt/; queue.lock stays).
queued=$(find "$work/queue" -mindepth 2 -type f 2>/dev/null | wc -l)
if ((queued > 0)); then
    notes+=("$queued file(s) left in the host's queue directory after the drain: $(find "$work/queue" -mindepth 2 -type f | head -n 5 | sed "s|$work/||" | tr '\n' ' ')")
    failures=$((failures + 1))
fi
stop_server ours
stop_server remote
((driver_status == 0)) || failures=$((failures + 1))
# Warnings and errors the servers logged (--quiet keeps only those): an error (fail:, crit:) fails the run.
for name in ours remote; do
    file=$work/$name.log
    problems=$(log_problems "$file" | grep -v '^memory managed=' || true)
    if [[ -n $problems ]]; then
        errors=$(grep -cE '^(fail|crit):' <<<"$problems" || true)
        notes+=("the $name MailHost logged $(wc -l <<<"$problems") line(s) of warnings or errors ($errors error(s)); the first: $(head -n 3 <<<"$problems" | tr '\n' ' ' | cut -c1-600)")
        ((errors == 0)) || failures=$((failures + 1))
        cp "$file" "$results_dir/soak-$stamp-$name.log"
    fi
done

# min / max / last of a CSV column (by number), and its value at a tenth of the run (after the warm-up).
column_stats() {
    awk -F, -v c="$1" 'NR > 1 && $c != "" {
            v = $c + 0; n++; if (n == 1 || v < min) min = v; if (n == 1 || v > max) max = v; last = v; val[n] = v }
        END { if (n == 0) { print "n/a | n/a | n/a | n/a"; exit }
              printf "%s | %s | %s | %s\n", val[int(n / 10) + 1], min, max, last }' "$csv"
}
samples=$(($(wc -l <"$csv") - 1))

{
    echo "# Soak: one MailHost on the Maildir store, $duration of mixed load"
    echo
    echo "- When: $started to $(date -u '+%H:%M:%S') UTC; commit $commit"
    report_machine_line "gnuplot $(package_version gnuplot-nox)"
    echo "- Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg); 1-minute load average during the run (sampled):" \
        "$(awk -F, 'NR > 1 { v = $7 + 0; n++; s += v; if (n == 1 || v < a) a = v; if (n == 1 || v > b) b = v } END { if (n) printf "min %.2f, mean %.2f, max %.2f", a, s / n, b; else print "n/a" }' "$csv")" \
        "(the machine is shared: other builds and tests ran beside it)."
    echo "- Host: samples/MailHost --store maildir:DIR --queue dir:DIR (fsync on, its defaults), --quiet, listeners SMTP (MX role),"
    echo "  submission (AUTH PLAIN without TLS: --allow-plaintext-auth), POP3 and IMAP on 127.0.0.1, --smart-host the remote"
    echo "  MailHost, --poll-seconds 2, --messages-per-user-hour 100000. Remote domain: a second MailHost (SMTP and POP3, Maildir, --no-delivery)."
    echo "- Load (benchmarks/Soak): $smtp_senders MX senders at $smtp_rate msg/s in all to local users (1 to 3 recipients; 60% of the"
    echo "  messages 0.5 to 4 KiB, 30% to 64 KiB, 9% to 512 KiB, 1% 1 to 2 MiB; lone dots, dot-led and 990-octet lines), a relay"
    echo "  attempt without AUTH in one transaction of 50; $submission_senders submission senders at $submission_rate msg/s with AUTH PLAIN, mostly to"
    echo "  the remote domain; 1 to 5 messages per connection. Readers: POP3 (UIDL, RETR, DELE, QUIT) for ${#pop3_users[@]} users, IMAP"
    echo "  sessions of 3 to 8 rounds (UID SEARCH, UID FETCH BODY.PEEK[], STORE \\Seen, \\Flagged on a third, SEARCH FLAGGED,"
    echo "  STORE \\Deleted, EXPUNGE) for ${#imap_users[@]} users, one IDLE session, POP3 at the remote domain for ${#remote_users[@]} users."
    echo "  Every message carries an X-Soak-Id; each one accepted must reach each recipient once, byte-identical from that"
    echo "  header on (the servers add trace fields above it)."
    echo "- Command: \`benchmarks/e2e/soak.sh --seconds $seconds --drain $drain\`; the whole run took $run_seconds s."
    echo
    echo "## Traffic and the verdict"
    echo
    if [[ -f $work/summary.md ]]; then cat "$work/summary.md"; else echo "The driver wrote no summary (exit $driver_status)."; fi
    echo
    echo "## The host process over time"
    echo
    echo "$samples samples, one every $sample_seconds s; the managed heap is read after a full compacting collection"
    echo "(MailHost's SIGHUP) every $((gc_every * sample_seconds)) s. \"At 10%\" is the sample a tenth of the way through, after the warm-up."
    echo
    echo "| Figure | At 10% | Min | Max | Last |"
    echo "|---|---:|---:|---:|---:|"
    echo "| RSS (MiB) | $(column_stats 2) |"
    echo "| Managed heap after a full GC (MiB) | $(column_stats 3) |"
    echo "| Open file descriptors | $(column_stats 4) |"
    echo "| Threads | $(column_stats 5) |"
    echo "| CPU (% of one core) | $(column_stats 6) |"
    echo
    echo "![memory, descriptors and threads over time]($(basename "$png"))"
    echo
    echo "Graph: \`${png#"$repo"/}\`; samples: \`${csv#"$repo"/}\`."
    if ((${#notes[@]})); then
        echo
        echo "Notes:"
        echo
        printf -- '- %s\n' "${notes[@]}"
    fi
} >"$report"

show_report "$report"
exit
}
