# Helpers shared by the end-to-end load scripts (sourced, not run). Before sourcing it a script sets
# script_name (its file name without .sh: the tag of its log lines and the name of its scratch
# directory) and repo (the checkout); it defines usage and script_option (its own options, for
# parse_options), and ours_project, dovecot, mail_uid and mail_gid where it uses the functions that
# read them. Some functions set variables for the caller (quick, runs, head, work, order, ...).
# shellcheck shell=bash disable=SC2154,SC2034

# --- Logging and the command line ---

# Writes a progress line to stderr, tagged with the script's name.
log() { printf '[%s] %s\n' "$script_name" "$*" >&2; }

# Logs an error and exits 1.
die() { log "error: $*"; exit 1; }

# Reads the command line into quick, runs (default 3, or 1 with --quick) and head (0 unless the
# script's own script_option sets it); any other word goes to script_option, which returns 1 for an
# option it does not know. A wrong option prints the usage to stderr and exits 2; -h/--help prints it
# and exits 0.
parse_options() {
    quick=0
    runs=""
    head=0
    while (($#)); do
        case "$1" in
            --quick) quick=1 ;;
            --runs)
                [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
                runs=$2
                shift
                ;;
            -h | --help) usage; exit 0 ;;
            *) script_option "$1" || { usage >&2; exit 2; } ;;
        esac
        shift
    done
    if [[ -z $runs ]]; then runs=$((quick ? 1 : 3)); fi
}

# --- The run's setup and teardown ---

# Notes the clock tick and the load average, creates the scratch directory $work and the server
# tables, and sets the traps that stop every server and remove $work when the script ends.
begin_run() {
    clk_tck=$(getconf CLK_TCK)
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    work=$(mktemp -d "${TMPDIR:-/tmp}/$script_name.XXXXXX")
    # Servers this script started: name -> pid / port / log.
    declare -gA server_pid=() server_port=() server_log=()
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Stops every server still running and removes $work.
cleanup() {
    local name
    for name in "${!server_pid[@]}"; do
        stop_server "$name"
    done
    rm -rf "$work"
}

# --- Processes and servers ---

# True while the process exists and is not a zombie.
alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z ]]
}

# Stops one process this script started: SIGTERM, then SIGKILL after 10 s. Nothing is sent unless the process of that
# pid is still this script's child: one that ended long ago leaves a pid the system may have given to another process.
stop_pid() {
    local pid=$1 i
    [[ $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f2) == "$$" ]] || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "pid $pid ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Stops the server NAME, if it runs, and forgets its pid.
stop_server() {
    local name=$1
    [[ -n ${server_pid[$name]:-} ]] || return 0
    stop_pid "${server_pid[$name]}"
    unset "server_pid[$name]"
}

# A loopback port with no socket on it at all (not even TIME-WAIT), below the ephemeral range.
free_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 10000))
        if [[ -z $(ss -Htan "sport = :$port" 2>/dev/null) ]]; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found"
}

# Starts server NAME in the background: start_process NAME LOG COMMAND...; its output is appended to
# LOG. The caller has put its port in server_port[NAME] and waits for it with wait_listening.
start_process() {
    local name=$1 log_file=$2
    shift 2
    server_log[$name]=$log_file
    "$@" >>"$log_file" 2>&1 &
    server_pid[$name]=$!
}

# One polite session with the server on port $1: connect, read a greeting that starts with $2, send
# $3, read the reply. Fails if nothing listens or the greeting is another.
hello() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 10 line <&3 && [[ $line == "$2"* ]] || exit 1
        printf '%s\r\n' "$3" >&3
        IFS= read -r -t 10 line <&3 || true
    ) 2>/dev/null
}

# Waits up to 5 s for the connections to port $1 to be gone, so that a probe's does not count against a
# per-address connection limit once the load starts.
wait_connections_closed() {
    local j
    for ((j = 0; j < 100; j++)); do
        [[ -z $(ss -Htn state established "sport = :$1" 2>/dev/null) ]] && break
        sleep 0.05
    done
}

# Copies server NAME's output (and, for Dovecot, its log file) to stderr.
show_server_output() {
    cat "${server_log[$1]}" >&2 2>/dev/null || true
    if [[ $1 == dovecot ]]; then cat "$work/dovecot/dovecot.log" >&2 2>/dev/null || true; fi
}

# Waits up to 30 s for server NAME to greet on PORT (default server_port[NAME]) with a line starting
# with GREETING (220 or +OK): wait_listening NAME GREETING CLIENT [PORT], CLIENT naming who was not
# greeted in the error ("an SMTP client"). Dies with the server's output if it exits or stays silent.
wait_listening() {
    local name=$1 greeting=$2 client=$3 port=${4:-${server_port[$1]}} i
    for ((i = 0; i < 300; i++)); do
        if ! alive "${server_pid[$name]}"; then
            log "$name exited before listening; its output:"
            show_server_output "$name"
            die "$name did not start"
        fi
        if hello "$port" "$greeting" QUIT; then
            wait_connections_closed "$port"
            return 0
        fi
        sleep 0.1
    done
    show_server_output "$name"
    die "$name did not greet $client on 127.0.0.1:$port within 30 s"
}

# --- Dovecot, started by hand with a config of its own ---

# Dies unless the users Dovecot's processes run as exist.
require_dovecot_users() {
    { getent passwd dovenull && getent passwd dovecot; } >/dev/null ||
        die "the users dovecot and dovenull are missing (the dovecot-core package creates them)"
}

# One line of Dovecot's passwd-file: dovecot_user USER PASSWORD HOME, mail stored as mail_uid:mail_gid.
dovecot_user() {
    printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$1" "$2" "$mail_uid" "$mail_gid" "$3"
}

# Writes $work/dovecot/dovecot.conf: write_dovecot_conf PROTOCOL PORT MAIL_LOCATION USERNAME_FORMAT,
# one PROTOCOL listener (pop3, imap or lmtp) on 127.0.0.1:PORT, users from the passwd-file
# $work/dovecot/users looked up as USERNAME_FORMAT (%u, or %Lu in lower case). Nothing of /etc/dovecot
# is read: Debian's built-in defaults otherwise, except no TLS, plaintext logins for POP3 and IMAP, and the info
# log (a line per login and per logout) thrown away as MailHost's --quiet does; warnings and errors go
# to $work/dovecot/dovecot.log. The caller may append settings.
write_dovecot_conf() {
    local protocol=$1 port=$2 location=$3 username=$4 dir=$work/dovecot service
    if [[ $protocol == pop3 || $protocol == imap ]]; then service=$protocol-login; else service=$protocol; fi
    mkdir -p "$dir/run" "$dir/state"
    {
        cat <<EOF
# Written by benchmarks/e2e/$script_name.sh; nothing of /etc/dovecot is read.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = /dev/null
listen = 127.0.0.1
protocols = $protocol
ssl = no
EOF
        if [[ $protocol == pop3 || $protocol == imap ]]; then
            echo "disable_plaintext_auth = no"
            echo "auth_mechanisms = plain"
        fi
        cat <<EOF
mail_location = $location
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=$username $dir/users
}
userdb {
  driver = passwd-file
  args = username_format=$username $dir/users
}
service $service {
  inet_listener $protocol {
    address = 127.0.0.1
    port = $port
  }
}
EOF
    } >"$dir/dovecot.conf"
}

# Each of Dovecot's imap processes in IDLE watches the Maildir with an inotify instance (handed over to
# imap-hibernate with the client); one that cannot get one polls instead (and logs a warning), and cannot
# hibernate. They all run as nobody, and the kernel allows 128 instances per user by default.
# raise_inotify_instances N raises fs.inotify.max_user_instances to N for the run when it is lower, and puts
# the old value back when the script ends; returns 1 (changing nothing) when it may not (not root). Call it
# after begin_run.
inotify_limit=/proc/sys/fs/inotify/max_user_instances
inotify_before=""
raise_inotify_instances() {
    local wanted=$1
    (($(cat "$inotify_limit") < wanted)) || return 0
    [[ -w $inotify_limit ]] || return 1
    inotify_before=$(cat "$inotify_limit")
    trap 'restore_inotify_instances; cleanup' EXIT
    echo "$wanted" >"$inotify_limit"
    log "fs.inotify.max_user_instances raised from $inotify_before to $wanted for this run"
}
restore_inotify_instances() {
    if [[ -n $inotify_before ]]; then
        echo "$inotify_before" >"$inotify_limit" && log "fs.inotify.max_user_instances put back to $inotify_before"
    fi
}

# Appends Dovecot's tuned shape for PROTOCOL (imap or pop3) to its config: the documented "high-performance
# mode" for login processes, and mail processes that serve one session after another (up to 1,000) instead of
# one each, one of each kept ready per core. The words for the report: dovecot_shape_text PROTOCOL.
append_dovecot_tuned_services() {
    cat >>"$work/dovecot/dovecot.conf" <<EOF
service $1-login {
  service_count = 0
  process_min_avail = $(nproc)
}
service $1 {
  service_count = 1000
  process_min_avail = $(nproc)
}
EOF
}
dovecot_shape_text() {
    if ((tuned)); then
        echo "tuned: login processes in high-performance mode (service_count = 0) and $1 processes reused for up to 1,000 sessions, $(nproc) of each kept ready"
    else
        echo "Debian's defaults: a new $1-login and a new $1 process for every connection"
    fi
}

# Starts Dovecot in the foreground (-F) with the config just written for port server_port[dovecot]
# and waits for its greeting: launch_dovecot GREETING CLIENT, as for wait_listening.
launch_dovecot() {
    start_process dovecot "$work/dovecot-stdout.log" "$dovecot" -F -c "$work/dovecot/dovecot.conf"
    wait_listening dovecot "$1" "$2"
}

# Dovecot's version line, as dovecot --version prints it; dies if that fails.
read_dovecot_version() {
    dovecot_version=$("$dovecot" --version 2>/dev/null | head -n 1) || die "$dovecot --version failed"
}

# Prints the lines of a server log that report a problem. Left out: MailHost's banner (ours runs with
# --quiet: warnings and errors only) and Dovecot's note that the script stopped it with SIGTERM.
log_problems() {
    grep -v -e '^Mail.Protocols MailHost' -e '^  ' -e '^Press Ctrl+C' -e '^Stopping (sessions' \
        -e 'master: Warning: Killed with signal 15' "$1" | grep . || true
}

# Adds to notes a line for each log of ours or Dovecot's (its info lines go to /dev/null, the rest to
# its log) that has warnings or errors in it, with the first of them.
note_log_problems() {
    local file lines
    for file in "$work/ours.log" "$work/dovecot/dovecot.log" "$work/dovecot-stdout.log"; do
        [[ -f $file ]] || continue
        lines=$(log_problems "$file" | wc -l)
        if ((lines > 0)); then
            notes+=("$(basename "$file") has $lines line(s) of warnings or errors; the first: $(log_problems "$file" | head -n 3 | tr '\n' ' ')")
        fi
    done
}

# --- Builds ---

# Builds a project in Release into $work/NAME: build_release LABEL PROJECT NAME; on failure shows the
# end of the build log ($work/build-NAME.log) and dies.
build_release() {
    local label=$1 project=$2 name=$3
    log "building $label (Release)"
    if ! dotnet build -c Release "$project" -o "$work/$name" -nologo >"$work/build-$name.log" 2>&1; then
        tail -n 40 "$work/build-$name.log" >&2
        die "$label build failed"
    fi
}

# Builds samples/MailHost into $work/ours: from the working tree, or with --head from a git archive of
# HEAD exported to $work/src (ours_project then points there).
build_ours() {
    if ((head)); then
        log "exporting HEAD ($(git -C "$repo" rev-parse --short HEAD)) to build it"
        mkdir -p "$work/src"
        git -C "$repo" archive --format=tar HEAD | tar -x -C "$work/src"
        ours_project=$work/src/samples/MailHost
    fi
    build_release samples/MailHost "$ours_project" ours
}

# --- Measurement ---

# CPU time of a process and all its descendants, in clock ticks: utime + stime + cutime + cstime
# (fields 14 to 17 of /proc/PID/stat) of every live process in the tree. Dovecot runs logins and
# sessions in child processes; once the master reaps one, its time moves into the master's
# cutime/cstime, so the sum only grows. Our server is one process with no children.
tree_cpu_ticks() {
    local pid ticks sum=0
    for pid in $(tree_pids "$1"); do
        # A process can end between the listing and this read: it then counts nothing here (its parent's cutime has it).
        ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }' || true)
        sum=$((sum + ${ticks:-0}))
    done
    echo "$sum"
}

# Memory of a process and all its descendants, in MiB: the sum of their proportional set sizes (Pss in
# /proc/PID/smaps_rollup). A page shared by k processes counts 1/k in each, so the sum is what the tree
# really holds; summing VmRSS instead counts every shared library once per process (Dovecot's many
# processes look bigger than they are).
tree_pss_mib() { echo $((($(tree_sum_kib "$1" smaps_rollup Pss) + 512) / 1024)); }

# The sum of one field counted in kB (Pss in smaps_rollup, VmRSS in status) over a process and its descendants, in
# KiB; a process gone before it is read counts nothing.
tree_sum_kib() {
    local root=$1 file=$2 field=$3 pid kib sum=0
    for pid in $(tree_pids "$root"); do
        kib=$(awk -v name="$field:" '$1 == name { print $2 }' "/proc/$pid/$file" 2>/dev/null || true)
        sum=$((sum + ${kib:-0}))
    done
    echo "$sum"
}

# The pids of a process and all its descendants (processes come and go while this reads them: cat skips the ones gone).
tree_pids() {
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
        { pid = $1; line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " "); ppid[pid] = f[2] }
        END {
            for (p in ppid) {
                q = p
                for (depth = 0; depth < 20 && q != root && q in ppid && q > 1; depth++) q = ppid[q]
                if (q == root) print p
            }
        }'
}

# Rate and CPU of a batch: rate_and_cpu COUNT SECONDS TICKS_BEFORE TICKS_AFTER prints "COUNT per
# second, CPU seconds, CPU ms per item".
rate_and_cpu() {
    awk -v n="$1" -v w="$2" -v b="$3" -v a="$4" -v hz="$clk_tck" \
        'BEGIN { c = (a - b) / hz; printf "%.1f %.2f %.3f\n", n / w, c, c * 1000 / n }'
}

# Runs smtp-source ($smtp_source, with -c to count) with the given options against 127.0.0.1:PORT:
# run_smtp_source PORT OUT OPTION..., its output in OUT and OUT.err. Prints "wall_seconds
# completed_messages"; returns smtp-source's exit status.
run_smtp_source() {
    local port=$1 out=$2
    shift 2
    local start end status=0 done_count
    start=$(date +%s.%N)
    "$smtp_source" -c "$@" "127.0.0.1:$port" >"$out" 2>"$out.err" || status=$?
    end=$(date +%s.%N)
    done_count=$(tr '\r' '\n' <"$out" | grep -E '^[0-9]+$' | tail -n 1 || true)
    echo "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }') ${done_count:-0}"
    return "$status"
}

# The value of NAME=VALUE in a file of such words: field NAME FILE.
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2"; }

# Sets order to the servers for the next run, rotated by one more each time (turn counts the runs), so
# each goes first in turn; with two servers the order alternates.
next_order() {
    local first=$((turn % ${#servers[@]}))
    order=("${servers[@]:first}" "${servers[@]:0:first}")
    turn=$((turn + 1))
}

# The median of numbers on stdin, one a line ("nan" for none).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The median of a space-separated list of numbers.
median_of() { tr ' ' '\n' <<<"$1" | grep . | median; }

# After the runs of one case: result[SERVER,KEY] = the medians of the named per-server series (associative
# arrays of space-separated values, in that order), or FAILED for a server listed in the failed array.
# Usage: record_medians KEY SERIES...
record_medians() {
    local key=$1 name series values
    shift
    for name in "${servers[@]}"; do
        if [[ -n ${failed[$name]:-} ]]; then
            result[$name,$key]=FAILED
            continue
        fi
        values=()
        for series in "$@"; do
            local -n series_runs=$series
            values+=("$(median_of "${series_runs[$name]}")")
            unset -n series_runs
        done
        result[$name,$key]="${values[*]}"
    done
}

# a/b with two decimals, or n/a when b is 0.
fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

# "1 KiB" for 1024, "100 B" for 100.
size_label() { if (($1 >= 1024 && $1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }

# --- Cases measured against several servers (imap-load.sh, imap-mixed.sh) ---

# Sets measured_cases from the script's cases and CASES (a space-separated list of some of them; default all).
select_cases() {
    local case
    if [[ -n ${CASES:-} ]]; then
        for case in $CASES; do
            [[ " ${cases[*]} " == *" $case "* ]] || die "CASES: unknown case $case (known: ${cases[*]})"
        done
        read -ra measured_cases <<<"$CASES"
    else
        measured_cases=("${cases[@]}")
    fi
}

# Measures every case of measured_cases on every server, runs times: one server at a time, each time in a fresh
# process on a fresh copy of the mail (the script's restore and start_NAME), the order alternating between runs.
# Each process is first warmed up with the cases of warm_cases (run_case with warm=1), so that the JIT has done its
# work and each server has indexed the folders. A case must exit 0 with errors=0 in its output; then the script's
# record_case NAME CASE RUN UNITS reads the rest of $work/load.out. A failure ends that server's run: it is noted
# (failed[NAME], failures, notes, and a row of details from the script's failed_row NAME RUN), and the script's
# record_failure NAME CASE ERRORS is called if it has one.
measure_servers() {
    local run name case pid status units errors
    warm=0
    for ((run = 1; run <= runs; run++)); do
        next_order
        for name in "${order[@]}"; do
            restore
            "start_$name" "$work/mail"
            pid=${server_pid[$name]}
            log "$name, run $run: warm-up (every case once, small)"
            problem=""
            warm=1
            for case in "${warm_cases[@]}"; do
                if ! run_case "$name" "$case" "$work/warmup.out"; then
                    problem="warm-up $case failed: $(cat "$work/warmup.out") $(head -n 3 "$work/warmup.out.err" | tr '\n' ' ')"
                    break
                fi
            done
            warm=0
            for case in "${measured_cases[@]}"; do
                [[ -z $problem ]] || break
                status=0
                run_case "$name" "$case" "$work/load.out" --cpu-pid "$pid" || status=$?
                units=$(field units "$work/load.out")
                errors=$(field errors "$work/load.out")
                if ((status != 0)) || [[ ${errors:-x} != 0 ]]; then
                    problem="$case: the load exited $status, ${errors:-?} errors: $(head -n 5 "$work/load.out.err" | tr '\n' ' ')"
                    if declare -F record_failure >/dev/null; then record_failure "$name" "$case" "${errors:-?}"; fi
                    break
                fi
                record_case "$name" "$case" "$run" "$units"
            done
            if ! alive "$pid"; then problem+=" (the server process died)"; fi
            stop_server "$name"
            if [[ -n $problem ]]; then
                log "$name FAILED (run $run): $problem"
                failed[$name]=1
                failures=$((failures + 1))
                details+=("$(failed_row "$name" "$run")")
                notes+=("$name, run $run: $problem")
            fi
        done
    done
}

# --- The report ---

# The version of an installed Debian package, or "unknown".
package_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo unknown; }

# The commit measured: HEAD's short hash, with what was built if that was not exactly HEAD's tree.
commit_description() {
    local commit
    commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ((head)); then
        commit+=" (built from a git archive of HEAD)"
    elif [[ -n $(git -C "$repo" status --porcelain -- src samples 2>/dev/null) ]]; then
        commit+=" (src/ or samples/ modified)"
    fi
    echo "$commit"
}

# The file system of a directory and its device, e.g. "ext4 on /dev/vda1".
filesystem_of() { df -T "$1" | awk 'NR == 2 { print $2 " on " $1 }'; }

# The mount options of the file system of a directory.
mount_options_of() { findmnt -n -o OPTIONS -T "$1" 2>/dev/null || echo unknown; }

# 1 if the disk under a directory is rotational, 0 if not, as the kernel sees it ("?" if unknown).
rotational_of() {
    local dev
    dev=$(df "$1" | awk 'NR == 2 { print $1 }')
    cat "/sys/block/$(basename "$dev" | sed 's/[0-9]*$//')/queue/rotational" 2>/dev/null || echo "?"
}

# The report's "When" line: the time in UTC and the commit measured.
report_when_line() { echo "- When: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit $(commit_description)"; }

# The report's "Machine" line: cores, kernel, .NET SDK, then $1 (the other software's versions).
report_machine_line() { echo "- Machine: $(nproc) cores, $(uname -sr), .NET SDK $(dotnet --version), $1"; }

# The report's load-average line, before the run and now; $1 says what the other load skews.
report_load_line() { echo "- Load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (anything else running skews $1)"; }

# The path of a new report, benchmarks/e2e/results/PREFIX-DATE-TIME.md; creates the directory.
new_report_path() {
    local results_dir=$repo/benchmarks/e2e/results
    mkdir -p "$results_dir"
    echo "$results_dir/$1-$(date +%Y-%m-%d-%H%M%S).md"
}

# Prints the report, logs where it is, and exits 1 if any run failed ($failures).
# The report's table of every run: its header line and rule, the details array's rows, then the notes array, if any.
print_runs() {
    echo "$1"
    echo "$2"
    printf '%s\n' "${details[@]}"
    if ((${#notes[@]})); then
        echo
        echo "Notes:"
        echo
        printf -- '- %s\n' "${notes[@]}"
    fi
}

show_report() {
    cat "$1"
    log "written to ${1#"$repo"/}"
    if ((failures)); then
        log "$failures run(s) failed"
        exit 1
    fi
}
