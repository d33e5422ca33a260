# A throw-away PostgreSQL cluster, for scripts (sourced, not run): tests/PackageConsumer/run.sh and
# benchmarks/e2e/postgres.sh. initdb in a directory of the caller's (given to the postgres user when this runs as root,
# since PostgreSQL refuses to run as root), the server on 127.0.0.1 at a free port with its socket in that directory,
# never the system's service. The caller stops it with postgres_cluster_stop (by its PID).
# shellcheck shell=bash

# Starts a cluster in DIR (empty, made by the caller; when it lies below a private directory such as mktemp makes, the
# caller opens that one to the postgres user with chmod 711): postgres_cluster_start DIR [SETTING=VALUE...], each setting passed
# as -c. Sets pgbin, pgport and pgpid; dies with the server's log if it does not answer within 30 s.
postgres_cluster_start() {
    local dir=$1 setting
    shift
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ ! -x $pgbin/initdb || ! -x $pgbin/postgres ]]; then
        echo "no PostgreSQL server under /usr/lib/postgresql: run tests/install-packages.sh as root" >&2
        return 1
    fi
    local -a as_postgres=() settings=()
    if [[ $(id -u) == 0 ]]; then
        chown postgres:postgres "$dir"
        as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    for setting in "$@"; do settings+=(-c "$setting"); done
    "${as_postgres[@]}" "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null || return 1
    pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_postgres[@]}" "$pgbin/postgres" -D "$dir/data" -p "$pgport" -k "$dir" -c listen_addresses=127.0.0.1 \
        -c max_connections=300 "${settings[@]}" >"$dir/server.log" 2>&1 &
    pgpid=$!
    local i
    for ((i = 0; i < 300; i++)); do
        "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && return 0
        sleep 0.1
    done
    echo "PostgreSQL did not start on 127.0.0.1:$pgport:" >&2
    cat "$dir/server.log" >&2
    return 1
}

# Makes database NAME in the cluster and prints its connection string (as the cluster's superuser, no password).
postgres_cluster_database() {
    "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres -c "CREATE DATABASE $1" >/dev/null
    echo "Host=127.0.0.1;Port=$pgport;Username=postgres;Database=$1"
}

# Stops the cluster started last (SIGINT: PostgreSQL's fast shutdown) and waits for it.
postgres_cluster_stop() {
    [[ -n ${pgpid:-} ]] || return 0
    kill -INT "$pgpid" 2>/dev/null || true
    wait "$pgpid" 2>/dev/null || true
    pgpid=
}
