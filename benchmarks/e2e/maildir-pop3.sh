#!/usr/bin/env bash
# End-to-end POP3 download of one big Maildir: our server (samples/MailHost --store maildir:DIR) against
# Dovecot's POP3 server (Debian's dovecot-pop3d, started by hand with a config of its own) on the same
# Maildir, one server at a time, with the same client. Results and caveats: docs/performance.md.
#
# Usage: benchmarks/e2e/maildir-pop3.sh [--quick] [--runs N] [--head] [--warm]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benchmarks/e2e/maildir-pop3.sh [--quick] [--runs N] [--head] [--warm]

  --quick   1,000 messages and one run per state: a smoke test, not a measurement
  --runs N  measure each state N times, each time on a fresh server process and a fresh copy of the
            Maildir, and report the medians (default 3, or 1 with --quick)
  --head    build the last commit (a git archive of HEAD) instead of the working tree, e.g. while
            uncommitted changes are in progress in the checkout
  --warm    measure a server that has been running a while: before the measured download, each server
            process serves a 2,000-message warm-up mailbox three times and then idles 2 seconds (enough for
            .NET's tiered JIT to finish); the default is one download of a 200-message warm-up mailbox, so
            the measured session still pays most of our process's JIT work

Environment: MESSAGES (messages in the mailbox, default 10000), WINDOW (RETR commands the client
keeps in flight, default 100; 1 = no pipelining), DOVECOT (default /usr/sbin/dovecot),
OURS_EXTRA_ARGS (more options for MailHost), PYTHON (default python3).
EOF
}

script_name=maildir-pop3
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$repo/benchmarks/e2e/lib.sh"

# The options of this script alone (parse_options takes --quick and --runs).
script_option() {
    case "$1" in
        --head) head=1 ;;
        --warm) warm=1 ;;
        *) return 1 ;;
    esac
}
parse_options "$@"

dovecot=${DOVECOT:-/usr/sbin/dovecot}
python=${PYTHON:-python3}
ours_project=$repo/samples/MailHost

if ((quick)); then count=${MESSAGES:-1000}; else count=${MESSAGES:-10000}; fi
window=${WINDOW:-100}
[[ $count =~ ^[1-9][0-9]*$ && $window =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }
# The warm-up: full downloads of a smaller mailbox of the same kind, before each measured one.
if ((${warm:-0})); then warmup_count=2000 warmup_rounds=3 warmup_pause=2; else warmup_count=200 warmup_rounds=1 warmup_pause=0; fi
user=bench@example.test
warmup_user=warmup@example.test
mail_uid=65534
mail_gid=65534
states=(indexed fresh)

if [[ ! -x $dovecot || ! -x /usr/lib/dovecot/pop3 ]]; then
    die "Dovecot's POP3 server is missing. Install it without starting the service: put a policy-rc.d
that exits 101 in /usr/sbin, then DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-pop3d"
fi
[[ -f $ours_project/MailHost.csproj ]] || die "samples/MailHost/MailHost.csproj not found"
command -v dotnet >/dev/null || die "dotnet not found"
command -v "$python" >/dev/null || die "$python not found"
require_dovecot_users

begin_run
trap 'log "error: line $LINENO exited with status $?"' ERR
# Dovecot's mail processes run as nobody and must reach the Maildir below $work.
chmod 711 "$work"

# The mailbox maker and the POP3 client, the same for both servers.
cat >"$work/pop3bench.py" <<'PY'
"""make: writes a Maildir of varied test messages; fetch: downloads a whole mailbox over POP3 and checks it.

  pop3bench.py make DIR COUNT SEED
      COUNT messages in DIR/new (cur/ and tmp/ created empty), CRLF line ends (as our store writes what
      SMTP gave it), 2,048-6,143 octets each (4 KiB on average), a text body with lines of 20-76 characters,
      about one in twenty starting with a dot. Each carries X-Bench-Seq (1..COUNT) and X-Bench-Digest (SHA-1
      of its body). Names SECONDS.M<micros>P<pid>Q<n>.bench,S=<size>; mtimes ten messages a second apart.
  pop3bench.py fetch PORT USER PASSWORD COUNT WINDOW [--no-retr]
      USER, PASS, STAT (must say COUNT), UIDL and LIST (COUNT lines each, UIDLs unique), RETR 1..COUNT with
      up to WINDOW commands in flight, QUIT, and waits for the server to close. Every message is
      un-dot-stuffed and checked: its size against LIST, its body against its digest, and every sequence
      number exactly once. --no-retr stops after LIST. Prints one line: messages= bytes= seconds=
      client_cpu= (seconds from before the connect to the server's close; the client's own CPU seconds).
"""
import hashlib
import os
import random
import socket
import sys
import time

WORDS = ("mail", "protocol", "maildir", "dovecot", "message", "server", "client", "index", "octet", "fsync",
         "the", "of", "and", "a", "to", "in", "is", "for", "on", "with", "retrieve", "benchmark", "line")


def make(directory, count, seed):
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    base = 1795900000
    for n in range(1, count + 1):
        target = rng.randrange(2048, 6144)
        lines = []
        size = 0
        while size < target - 700:
            width = rng.randrange(20, 77)
            text = " ".join(rng.choice(WORDS) for _ in range(20))[:width]
            if rng.randrange(20) == 0:
                text = "." + text[1:]
            lines.append(text)
            size += len(text) + 2
        body = ("\r\n".join(lines) + "\r\n").encode("ascii")
        digest = hashlib.sha1(body).hexdigest()
        seconds = base + n // 10
        header = (
            f"Return-Path: <sender@example.org>\r\n"
            f"Received: from client.example.org by mx.example.test; Sun, 29 Nov 2026 12:00:00 +0000\r\n"
            f"From: Sender <sender@example.org>\r\n"
            f"To: Bench <bench@example.test>\r\n"
            f"Subject: Maildir POP3 benchmark message {n}\r\n"
            f"Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n"
            f"Message-ID: <bench-{seed}-{n}@example.org>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=us-ascii\r\n"
            f"X-Bench-Seq: {n}\r\n"
            f"X-Bench-Digest: {digest}\r\n"
            f"\r\n"
        ).encode("ascii")
        data = header + body
        name = f"{seconds}.M{n % 1000000}P{seed}Q{n}.bench,S={len(data)}"
        path = os.path.join(directory, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (seconds, seconds))


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 18)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        self.buf += chunk

    def line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                text = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return text
            self.fill()

    def ok(self, what):
        text = self.line()
        if not text.startswith(b"+OK"):
            raise RuntimeError(f"{what}: {text[:200]!r}")
        return text

    def send(self, text):
        self.sock.sendall(text.encode("ascii"))

    def lines(self, what):
        self.ok(what)
        result = []
        while True:
            text = self.line()
            if text == b".":
                return result
            result.append(text)

    def body(self):
        """The content of a multi-line reply after its +OK line, dot-stuffing undone."""
        start = self.pos
        if self.buf.startswith(b".\r\n", start):
            self.pos = start + 3
            return b""
        search = start
        while True:
            end = self.buf.find(b"\r\n.\r\n", search)
            if end >= 0:
                break
            search = max(start, len(self.buf) - 4)
            if start > (1 << 20):
                del self.buf[:start]
                search -= start
                start = 0
            chunk = self.sock.recv(1 << 18)
            if not chunk:
                raise RuntimeError("the server closed the connection")
            self.buf += chunk
        content = bytes(self.buf[start:end + 2])
        self.pos = end + 5
        if content.startswith(b".."):
            content = content[1:]
        return content.replace(b"\r\n..", b"\r\n.")


def fetch(port, user, password, count, window, retr):
    started = time.monotonic()
    cpu_started = time.process_time()
    s = Session(port)
    s.ok("greeting")
    s.send(f"USER {user}\r\n")
    s.ok("USER")
    s.send(f"PASS {password}\r\n")
    s.ok("PASS")
    s.send("STAT\r\n")
    stat = s.ok("STAT").split()
    if int(stat[1]) != count:
        raise RuntimeError(f"STAT: {int(stat[1])} messages, expected {count}")
    s.send("UIDL\r\n")
    uidls = s.lines("UIDL")
    s.send("LIST\r\n")
    listing = s.lines("LIST")
    if len(uidls) != count or len(listing) != count or len({u.split()[1] for u in uidls}) != count:
        raise RuntimeError(f"UIDL/LIST: {len(uidls)}/{len(listing)} lines, expected {count} (UIDLs unique)")
    sizes = [0] * (count + 1)
    for entry in listing:
        number, size = entry.split()
        sizes[int(number)] = int(size)
    if sum(sizes) != int(stat[2]):
        raise RuntimeError(f"LIST sizes add up to {sum(sizes)}, STAT said {int(stat[2])}")
    total = 0
    fetched = 0
    if retr:
        seen = bytearray(count + 1)
        sent = 0
        batch = max(1, window // 2) if window > 1 else 1
        while sent < min(window, count):
            n = min(window, count) - sent
            s.send("".join(f"RETR {i}\r\n" for i in range(sent + 1, sent + n + 1)))
            sent += n
        for number in range(1, count + 1):
            s.ok(f"RETR {number}")
            content = s.body()
            if len(content) != sizes[number]:
                raise RuntimeError(f"RETR {number}: {len(content)} octets, LIST said {sizes[number]}")
            split = content.find(b"\r\n\r\n")
            at = content.find(b"\r\nX-Bench-Seq: ", 0, split)
            seq = int(content[at + 15:content.find(b"\r\n", at + 15)]) if at >= 0 else 0
            at = content.find(b"\r\nX-Bench-Digest: ", 0, split)
            digest = content[at + 18:at + 58] if at >= 0 else b""
            if hashlib.sha1(content[split + 4:]).hexdigest().encode("ascii") != digest:
                raise RuntimeError(f"RETR {number}: the body does not match its digest")
            if not 1 <= seq <= count or seen[seq]:
                raise RuntimeError(f"RETR {number}: sequence number {seq} out of range or seen twice")
            seen[seq] = 1
            total += len(content)
            fetched += 1
            in_flight = sent - number
            if sent < count and in_flight <= window - batch:
                n = min(batch, count - sent)
                s.send("".join(f"RETR {i}\r\n" for i in range(sent + 1, sent + n + 1)))
                sent += n
    s.send("QUIT\r\n")
    s.ok("QUIT")
    while True:
        try:
            s.fill()
        except RuntimeError:
            break
    if s.pos != len(s.buf):
        raise RuntimeError("data after the QUIT reply")
    seconds = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    print(f"messages={fetched} bytes={total} seconds={seconds:.3f} client_cpu={cpu:.3f}")


def main():
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "fetch":
        fetch(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
              "--no-retr" not in sys.argv[7:])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
PY

# Our server: POP3 only, the two users, mailboxes in the Maildir++ store under $1.
start_ours() {
    local root=$1
    local -a extra=()
    read -ra extra <<<"${OURS_EXTRA_ARGS:-}"
    server_port[ours]=$(free_port)
    start_process ours "$work/ours.log" dotnet "$work/ours/MailHost.dll" --pop3 "${server_port[ours]}" \
        --smtp 0 --submission 0 --smtps 0 --pop3s 0 --imap 0 --imaps 0 --domain example.test \
        --user "$user:bench" --user "$warmup_user:warmup" --allow-plaintext-auth --quiet \
        --store "maildir:$root" "${extra[@]}"
    wait_listening ours +OK "a POP3 client"
}

# Dovecot's POP3 server on a new port, serving a Maildir per user under $1 (the two users, as nobody):
# Debian's built-in defaults otherwise.
start_dovecot() {
    local root=$1
    server_port[dovecot]=$(free_port)
    write_dovecot_conf pop3 "${server_port[dovecot]}" "maildir:$root/%Lu" %Lu
    dovecot_user "$user" bench "$root/$user" >"$work/dovecot/users"
    dovecot_user "$warmup_user" warmup "$root/$warmup_user" >>"$work/dovecot/users"
    launch_dovecot +OK "a POP3 client"
}

fetch() {
    local name=$1 login=$2 password=$3 n=$4 out=$5
    shift 5
    "$python" "$work/pop3bench.py" fetch "${server_port[$name]}" "$login" "$password" "$n" "$window" "$@" >"$out" 2>"$out.err"
}

# Puts a copy of a saved Maildir tree in place as the mail root and writes it out to the disk, so that
# every run starts from the same files and the copy's writeback does not overlap the measurement.
restore() {
    rm -rf "$work/mail"
    cp -a "$1" "$work/mail"
    sync -f "$work/mail"
}

message_files() { find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# Builds.
build_ours
read_dovecot_version
log "dovecot $dovecot_version; Maildir under $work ($(filesystem_of "$work"))"

# The mailbox, once: the "fresh" state is the message files alone, in new/, as an MDA leaves them.
log "writing $count messages (and $warmup_count for the warm-up mailbox)"
mkdir -p "$work/state-fresh"
"$python" "$work/pop3bench.py" make "$work/state-fresh/$user" "$count" 1
"$python" "$work/pop3bench.py" make "$work/state-fresh/$warmup_user" "$warmup_count" 2
chown -R "$mail_uid:$mail_gid" "$work/state-fresh"
octets=$(find "$work/state-fresh/$user/new" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
log "$count messages, $octets octets ($((octets / count)) on average)"

# The "indexed" state, per server: what that server leaves after one earlier session that logged in and
# listed the mailbox (UIDL, LIST) without downloading anything: its index built, and for Dovecot the
# files moved from new/ to cur/ as it does when it first opens a Maildir.
servers=(ours dovecot)
for name in "${servers[@]}"; do
    restore "$work/state-fresh"
    "start_$name" "$work/mail"
    for pair in "$user:bench:$count" "$warmup_user:warmup:$warmup_count"; do
        IFS=: read -r login password n <<<"$pair"
        fetch "$name" "$login" "$password" "$n" "$work/index.out" --no-retr ||
            { cat "$work/index.out.err" >&2; die "$name: the indexing session for $login failed"; }
    done
    stop_server "$name"
    rm -rf "$work/state-indexed-$name"
    cp -a "$work/mail" "$work/state-indexed-$name"
    log "$name: indexed state saved ($(find "$work/mail/$user/new" -type f | wc -l) files in new/, $(find "$work/mail/$user/cur" -type f | wc -l) in cur/; $(cd "$work/mail/$user" && find . -maxdepth 1 -type f -printf '%f ' | sed 's/ $//'))"
done

# result[server,state] = "seconds msgs/s cpu_ms_per_msg" (medians over the runs) or "FAILED"
declare -A result=()
details=()
notes=()
failures=0
turn=0

for state in "${states[@]}"; do
    log "case: $state Maildir, $count messages x $runs run(s), window $window"
    declare -A secs=() rates=() cpus=() failed=()
    for ((run = 1; run <= runs; run++)); do
        next_order
        for name in "${order[@]}"; do
            # One server at a time, in a fresh process, on a fresh copy of the state.
            if [[ $state == fresh ]]; then restore "$work/state-fresh"; else restore "$work/state-indexed-$name"; fi
            "start_$name" "$work/mail"
            pid=${server_pid[$name]}
            problem=""
            for ((round = 1; round <= warmup_rounds; round++)); do
                if ! fetch "$name" "$warmup_user" warmup "$warmup_count" "$work/warmup.out"; then
                    problem="warm-up failed: $(head -n 3 "$work/warmup.out.err" | tr '\n' ' ')"
                    break
                fi
            done
            sleep "$warmup_pause"
            if [[ -z $problem ]]; then
                cpu_before=$(tree_cpu_ticks "$pid")
                status=0
                fetch "$name" "$user" bench "$count" "$work/load.out" || status=$?
                cpu_after=$(tree_cpu_ticks "$pid")
                fetched=$(field messages "$work/load.out")
                if ((status != 0)) || [[ $fetched != "$count" ]]; then
                    problem="the client exited $status after ${fetched:-?} of $count messages: $(head -n 3 "$work/load.out.err" | tr '\n' ' ')"
                fi
            fi
            if ! alive "$pid"; then problem+=" (the server process died)"; fi
            stop_server "$name"
            files=$(message_files "$work/mail/$user")
            if [[ -z $problem ]] && ((files != count)); then
                problem="the Maildir holds $files of $count message files afterwards"
            fi
            seen_files=$(find "$work/mail/$user/cur" -maxdepth 1 -type f -name '*:2,*S*' | wc -l)
            if [[ -n $problem ]]; then
                log "$name FAILED ($state, run $run): $problem"
                failed[$name]=1
                failures=$((failures + 1))
                details+=("| $name | $state | $count | FAILED | | | | | | |")
                notes+=("$name, $state, run $run: $problem")
                continue
            fi
            read -r seconds bytes client_cpu < <(printf '%s %s %s\n' "$(field seconds "$work/load.out")" \
                "$(field bytes "$work/load.out")" "$(field client_cpu "$work/load.out")")
            read -r rate cpu_s cpu_ms < <(rate_and_cpu "$count" "$seconds" "$cpu_before" "$cpu_after")
            secs[$name]+="$seconds "
            rates[$name]+="$rate "
            cpus[$name]+="$cpu_ms "
            details+=("| $name | $state | $count | $seconds | $rate | $(awk -v b="$bytes" -v w="$seconds" 'BEGIN { printf "%.1f", b / w / 1e6 }') | $cpu_s | $cpu_ms | $client_cpu | $seen_files |")
            log "$name: ${seconds}s, $rate msg/s, $cpu_ms CPU ms/msg; afterwards $seen_files files marked seen (S)"
        done
    done
    record_medians "$state" secs rates cpus
    unset secs rates cpus failed
done

# Anything either server logged.
note_log_problems

# Report.

report=$(new_report_path maildir-pop3)
pop3d_version=$(package_version dovecot-pop3d)
if ((window > 1)); then pipelining="up to $window RETR commands in flight (PIPELINING)"; else pipelining="one RETR at a time"; fi

{
    echo "# POP3 download of a $count-message Maildir: Mail.Protocols vs Dovecot $dovecot_version$( ((${warm:-0})) && echo ", servers warmed up")"
    echo
    report_when_line
    report_machine_line "dovecot-pop3d $pop3d_version, $("$python" --version 2>&1)"
    echo "- Disk: the Maildir under $work, $(filesystem_of "$work") ($(mount_options_of "$work")); the files are in the page cache (copied just before)."
    echo "- Mailbox: $count messages written once in Maildir form, $octets octets ($((octets / count)) on average, 2,048 to 6,143"
    echo "  each, CRLF line ends as our store writes them, names with ,S=SIZE), plus a $warmup_count-message warm-up mailbox."
    echo "- States, each restored with cp -a from a saved copy (and sync -f) before every run, since both servers"
    echo "  change the Maildir (Dovecot moves new/ to cur/, marks what was downloaded as seen and writes its index"
    echo "  files; ours writes its index):"
    echo "  - fresh: only the message files, all in new/ (as an MDA leaves them); the first session indexes them;"
    echo "  - indexed: what each server itself left after one earlier session that logged in and ran UIDL and LIST"
    echo "    (its own index present; Dovecot had moved the files to cur/)."
    echo "- Session: USER, PASS, STAT, UIDL, LIST, RETR 1..$count with $pipelining, QUIT; the client waits"
    echo "  for the server to close. The client (Python, the same for both) checks every message: size against LIST,"
    echo "  body against the SHA-1 in its header, every sequence number once, UIDLs unique."
    echo "- Ours: samples/MailHost --store maildir:DIR (fsync on, its default), --quiet. Dovecot: Debian's built-in"
    echo "  defaults (a new pop3-login and pop3 process per connection, mail_fsync = optimized, pop3_no_flag_updates = no,"
    echo "  so at QUIT it renames every downloaded file to add the S flag), mail_location = maildir:DIR/%Lu, passwd-file,"
    echo "  mail processes as nobody, info log to /dev/null."
    echo "- $runs run(s) per state (medians shown), each on a fresh server process after $warmup_rounds full download(s) of the"
    echo "  warm-up mailbox$( ((warmup_pause)) && echo " and ${warmup_pause}s idle (--warm: a server that has been running a while)"), one server at a time, order alternating$( ((quick)) && echo "; --quick: too short to quote")."
    report_load_line "the times"
    echo "- Seconds: the client's, from before the connect to the server's close. CPU = utime+stime+cutime+cstime of the"
    echo "  server's whole process tree from /proc/PID/stat over the download (tick ${clk_tck} Hz)."
    echo "- Ratios are ours/Dovecot: below 1 for seconds and CPU means we are faster / spend less, above 1 for msg/s"
    echo "  means we are faster."
    echo
    echo "| State | Messages | Ours s | Dovecot s | s ours/Dovecot | Ours msg/s | Dovecot msg/s | msg/s ours/Dovecot | Ours CPU ms/msg | Dovecot CPU ms/msg | CPU/msg ours/Dovecot |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for state in "${states[@]}"; do
        ours=${result[ours,$state]:-}
        peer=${result[dovecot,$state]:-}
        [[ $ours == FAILED || -z $ours ]] && ours="FAILED FAILED FAILED"
        [[ $peer == FAILED || -z $peer ]] && peer="FAILED FAILED FAILED"
        read -r our_s our_rate our_cpu <<<"$ours"
        read -r peer_s peer_rate peer_cpu <<<"$peer"
        s_ratio=n/a rate_ratio=n/a cpu_ratio=n/a
        if [[ $our_rate =~ ^[0-9.]+$ && $peer_rate =~ ^[0-9.]+$ ]]; then
            s_ratio=$(fmt_ratio "$our_s" "$peer_s")
            rate_ratio=$(fmt_ratio "$our_rate" "$peer_rate")
            cpu_ratio=$(fmt_ratio "$our_cpu" "$peer_cpu")
        fi
        echo "| $state | $count | $our_s | $peer_s | $s_ratio | $our_rate | $peer_rate | $rate_ratio | $our_cpu | $peer_cpu | $cpu_ratio |"
    done
    echo
    echo "Every run (Client CPU s: the Python client's own CPU time for the download, which bounds the rate on two"
    echo "cores; Seen afterwards: files in cur/ with the S flag once the server had stopped):"
    echo
    print_runs "| Server | State | Messages | Seconds | msg/s | MB/s | CPU s | CPU ms/msg | Client CPU s | Seen afterwards |" \
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"

show_report "$report"
