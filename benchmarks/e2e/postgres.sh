#!/usr/bin/env bash
# End-to-end: the PostgreSQL backends against the Maildir store, and one host against two on one database, side by side
# in one run. samples/MailHost takes the same load from Postfix's smtp-source (local delivery to one user) and from
# benchmarks/ImapLoad (an IMAP header sync of the delivered folder), once with --store maildir:DIR --queue dir:DIR and
# once with --store postgres: --queue postgres: on a throw-away cluster of its own (durable: fsync on, as the Maildir
# store fsyncs). Then a second host on the database syncs the same INBOX (its summaries not yet in its memory), and the
# two hosts split the same delivery load. Results and caveats: docs/performance.md.
#
# Usage: benchmarks/e2e/postgres.sh [--quick] [--runs N] [--head]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/postgres.sh [--quick] [--runs N] [--head]

  --quick   50 messages and one run: a smoke test that every case delivers and syncs, not a measurement
  --runs N  measure each case N times, each on fresh processes and an empty store, and report the medians
            (default 3, or 1 with --quick)
  --head    build the last commit (a git archive of HEAD) instead of the working tree

Environment: SMTP_SOURCE (default /usr/sbin/smtp-source), MSGS (messages per run, default 2000), SIZE (octets per
message, default 2048), CONCURRENCY (smtp-source sessions at once per host, default 10), HEADER_ROUNDS (header syncs
per run, default 3).
EOF
}

script_name=postgres
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"
# shellcheck source=../../tests/postgres-cluster.sh
source "$repo/tests/postgres-cluster.sh"

script_option() {
    case "$1" in
        --head) head=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

smtp_source=${SMTP_SOURCE:-/usr/sbin/smtp-source}
ours_project=$repo/samples/MailHost
if ((quick)); then count=${MSGS:-50}; else count=${MSGS:-2000}; fi
size=${SIZE:-2048}
concurrency=${CONCURRENCY:-10}
header_rounds=${HEADER_ROUNDS:-3}
user=alice@example.test
[[ $count =~ ^[1-9][0-9]*$ && $size =~ ^[1-9][0-9]*$ && $concurrency =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
[[ -x $smtp_source ]] || die "$smtp_source not found. It comes with Debian's postfix package (see benchmarks/e2e/README.md)"

begin_run
trap 'postgres_cluster_stop; cleanup' EXIT
# The clusters' directories lie below $work, which mktemp made private: the postgres user must pass through it.
chmod 711 "$work"
build_ours
build_release benchmarks/ImapLoad "$repo/benchmarks/ImapLoad/ImapLoad.csproj" imapload

# One MailHost on STORE and QUEUE (the flags' values), SMTP and IMAP on ports of their own, as server NAME.
start_host() {
    local name=$1 store=$2 queue=$3
    server_port[$name]=$(free_port)
    server_port[$name-imap]=$(free_port)
    start_process "$name" "$work/$name.log" dotnet "$work/ours/MailHost.dll" --smtp "${server_port[$name]}" \
        --submission 0 --smtps 0 --pop3 0 --pop3s 0 --imap "${server_port[$name-imap]}" --imaps 0 --allow-plaintext-auth \
        --domain example.test --user "$user:alice" --quiet --no-delivery --max-connections-per-address 1000 \
        --store "$store" --queue "$queue"
    wait_listening "$name" 220 "an SMTP client"
}

# Delivers COUNT messages over smtp-source to every host named (the load split between them, all at once); prints
# "messages_per_second cpu_ms_per_message" with the CPU of the hosts and of the database together.
deliver() {
    local -a names=("$@")
    local share=$((count / ${#names[@]})) name before=0 after=0 start end i
    local -a pids=()
    for name in "${names[@]}"; do before=$((before + $(tree_cpu_ticks "${server_pid[$name]}"))); done
    [[ -n ${pgpid:-} ]] && before=$((before + $(tree_cpu_ticks "$pgpid")))
    start=$(date +%s.%N)
    for i in "${!names[@]}"; do
        "$smtp_source" -c -m "$share" -s "$concurrency" -l "$size" -f writer@example.org -t "$user" \
            "127.0.0.1:${server_port[${names[$i]}]}" >"$work/source-$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "smtp-source against ${names[$i]} failed: $(tail -n 3 "$work/source-$i.out")"; done
    end=$(date +%s.%N)
    for name in "${names[@]}"; do after=$((after + $(tree_cpu_ticks "${server_pid[$name]}"))); done
    [[ -n ${pgpid:-} ]] && after=$((after + $(tree_cpu_ticks "$pgpid")))
    rate_and_cpu $((share * ${#names[@]})) "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" "$before" "$after" | awk '{ print $1, $3 }'
}

# An IMAP header sync of the delivered INBOX on host NAME (every message must come back); prints messages per second.
header_sync() {
    local name=$1 expected=$2
    dotnet "$work/imapload/ImapLoad.dll" headers --port "${server_port[$name-imap]}" --user "$user" --password alice \
        --rounds "$header_rounds" --messages "$expected" >"$work/headers.out" 2>&1 || die "header sync on $name failed: $(cat "$work/headers.out")"
    [[ $(field errors "$work/headers.out") == 0 ]] || die "header sync on $name had errors: $(cat "$work/headers.out")"
    awk -v n="$(field units "$work/headers.out")" -v s="$(field seconds "$work/headers.out")" 'BEGIN { printf "%.0f\n", n / s }'
}

declare -A series=()
add() { series[$1]="${series[$1]:-} $2"; }
run_no=0
for ((run = 1; run <= runs; run++)); do
    # The Maildir store and the file queue.
    mkdir -p "$work/maildir-$run"
    start_host maildir "maildir:$work/maildir-$run/mail" "dir:$work/maildir-$run/queue"
    read -r rate cpu < <(deliver maildir)
    add maildir-rate "$rate"; add maildir-cpu "$cpu"
    add maildir-headers "$(header_sync maildir "$count")"
    stop_server maildir

    # PostgreSQL, durable (fsync on), one cluster per run.
    mkdir -p "$work/pg-$run"
    postgres_cluster_start "$work/pg-$run" || die "PostgreSQL did not start"
    database=$(postgres_cluster_database mail)
    start_host pg1 "postgres:$database" "postgres:$database"
    read -r rate cpu < <(deliver pg1)
    add pg-rate "$rate"; add pg-cpu "$cpu"
    add pg-headers "$(header_sync pg1 "$count")"
    # A second host on the same database (the mail of the first stays): its header sync reads every summary from the
    # database (the first host's are in its own memory); then both take half of the load at once.
    start_host pg2 "postgres:$database" "postgres:$database"
    add pg-headers-other "$(header_sync pg2 "$count")"
    read -r rate cpu < <(deliver pg1 pg2)
    add two-rate "$rate"; add two-cpu "$cpu"
    stop_server pg1
    stop_server pg2
    postgres_cluster_stop
    run_no=$run
done

m() { median_of "${series[$1]}"; }
report=$(mktemp)
{
    echo "# PostgreSQL against Maildir, one host against two ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- $count messages of $size octets to one user, smtp-source with $concurrency sessions per host, medians of $run_no run(s);"
    echo "  header sync: UID FETCH 1:* of ENVELOPE, BODYSTRUCTURE and six header fields over the delivered INBOX, $header_rounds rounds."
    echo "- Machine: $(nproc) cores, $(uname -sr); PostgreSQL $("$pgbin/postgres" --version | awk '{ print $3 }') on the same machine and disk, fsync on."
    echo
    echo "| case | Maildir | PostgreSQL | PostgreSQL / Maildir |"
    echo "|---|---|---|---|"
    echo "| delivery, messages/s | $(m maildir-rate) | $(m pg-rate) | $(fmt_ratio "$(m pg-rate)" "$(m maildir-rate)") |"
    echo "| delivery, CPU ms per message (hosts and database) | $(m maildir-cpu) | $(m pg-cpu) | $(fmt_ratio "$(m pg-cpu)" "$(m maildir-cpu)") |"
    echo "| IMAP header sync, messages/s | $(m maildir-headers) | $(m pg-headers) | $(fmt_ratio "$(m pg-headers)" "$(m maildir-headers)") |"
    echo "| IMAP header sync on another host, messages/s | | $(m pg-headers-other) | $(fmt_ratio "$(m pg-headers-other)" "$(m maildir-headers)") |"
    echo
    echo "| PostgreSQL delivery | one host | two hosts | two / one |"
    echo "|---|---|---|---|"
    echo "| messages/s | $(m pg-rate) | $(m two-rate) | $(fmt_ratio "$(m two-rate)" "$(m pg-rate)") |"
    echo "| CPU ms per message | $(m pg-cpu) | $(m two-cpu) | $(fmt_ratio "$(m two-cpu)" "$(m pg-cpu)") |"
} >"$report"
cat "$report"
mkdir -p "$repo/benchmarks/e2e/results"
cp "$report" "$repo/benchmarks/e2e/results/postgres-$(date -u '+%Y-%m-%d-%H%M%S').md"
rm -f "$report"
