# Helpers shared by the end-to-end load scripts (sourced, not run). The caller defines log, die, $work and
# the server_pid array before using them.
# shellcheck shell=bash disable=SC2154

# True while the process exists and is not a zombie.
alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z ]]
}

# Stops one process this script started: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
    local pid=$1 i
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

stop_server() {
    local name=$1
    [[ -n ${server_pid[$name]:-} ]] || return 0
    stop_pid "${server_pid[$name]}"
    unset "server_pid[$name]"
}

cleanup() {
    local name
    for name in "${!server_pid[@]}"; do
        stop_server "$name"
    done
    rm -rf "$work"
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

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
