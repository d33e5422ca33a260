// The client of benchmarks/e2e/slow-clients.sh: the hostile and heavy clients of issue 13, one mode per run.
//
//   SlowClients drip smtp|imap --port P --count N [--interval S]
//       N connections that read the greeting, then each send one octet every S seconds (default 10) of a
//       harmless command ("NOOP\r\n", "a NOOP\r\n"), their sends spread evenly over the interval; replies are
//       read and dropped. Prints "open N" once all are connected, then drips until SIGTERM.
//   SlowClients probe smtp|imap --port P [--tries K] [--pause S] [--user U --password PW]
//       K times (default 5), S seconds apart (default 2): a fresh connection; the time to its greeting, and to a
//       delivered message (SMTP: EHLO, MAIL, RCPT, DATA of a small message, its 250) or a login (IMAP: LOGIN,
//       SELECT INBOX). Prints "try i greeting_ms=G done_ms=D" and "probe median_greeting_ms=.. max_greeting_ms=..
//       median_done_ms=.. max_done_ms=.. failed=F".
//   SlowClients big smtp-data|smtp-bdat|imap-append --port P --count N --size BYTES [--user U --password PW]
//       N connections at once, each sending one message of BYTES octets (SMTP to U with DATA or one BDAT LAST
//       chunk, or IMAP APPEND of a synchronising literal to U's INBOX), in 64 KiB writes. Prints
//       "big ok=K failed=F seconds=T" (the first failure's reason on a line of its own).
//   SlowClients flood smtp|imap|pop3 --port P --count N --megabytes M [--user U --password PW]
//       N connections that log in (POP3, IMAP; SMTP: EHLO), then pipeline M MB of commands each (SMTP NOOP, IMAP
//       NOOP, POP3 LIST) without reading a reply, until sent or until a send has waited 5 s (the server stopped
//       reading). Prints "flood sent_mb=X stalled=S of N", then closes them.
//
// Common: --host (default 127.0.0.1), --parallel (connections set up at once, default 64).

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: SlowClients drip|probe|big|flood PROTOCOL --port P [options] (see the comment at the top of Program.cs)");
    return 2;
}
var mode = args[0];
var kind = args[1];
var host = IPAddress.Loopback;
int port = 0, count = 1, parallel = 64, tries = 5;
double interval = 10, pause = 2, megabytes = 10;
long size = 0;
string user = "alice@example.test", password = "alice";
for (var i = 2; i < args.Length; i++)
{
    var arg = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value");
    switch (arg)
    {
        case "--host": host = IPAddress.Parse(Value()); break;
        case "--port": port = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--count": count = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--parallel": parallel = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--interval": interval = double.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--tries": tries = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--pause": pause = double.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--size": size = long.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--megabytes": megabytes = double.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--user": user = Value(); break;
        case "--password": password = Value(); break;
        default: Console.Error.WriteLine($"unknown option {arg}"); return 2;
    }
}
if (port <= 0)
{
    Console.Error.WriteLine("--port is required");
    return 2;
}

return mode switch
{
    "drip" => await DripAsync(),
    "probe" => await ProbeAsync(),
    "big" => await BigAsync(),
    "flood" => await FloodAsync(),
    _ => 2,
};

async Task<int> DripAsync()
{
    var command = Encoding.ASCII.GetBytes(kind == "imap" ? "a NOOP\r\n" : "NOOP\r\n");
    var sockets = await OpenManyAsync(count, async (socket, lines) =>
    {
        await lines.ReadLineAsync(socket); // the greeting
    });
    if (sockets is null)
    {
        return 1;
    }
    Console.WriteLine($"open {sockets.Count}");
    using var stop = new CancellationTokenSource();
    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
    // Replies are read and dropped, so the server's writes never wait on us.
    var drains = sockets.Select(s => Task.Run(async () =>
    {
        var sink = new byte[256];
        try
        {
            while (await s.ReceiveAsync(sink, stop.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    })).ToArray();
    var closed = 0;
    var clock = Stopwatch.StartNew();
    var gap = TimeSpan.FromSeconds(interval / sockets.Count);
    try
    {
        for (long step = 0; !stop.IsCancellationRequested; step++)
        {
            var k = (int)(step % sockets.Count);
            var octet = command[(int)(step / sockets.Count % command.Length)];
            try
            {
                await sockets[k].SendAsync(new[] { octet }, stop.Token);
            }
            catch (SocketException)
            {
                closed++;
            }
            var due = gap * (step + 1) - clock.Elapsed;
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, stop.Token);
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
    foreach (var socket in sockets)
    {
        socket.Dispose();
    }
    await Task.WhenAll(drains);
    Console.WriteLine($"dripped for {clock.Elapsed.TotalSeconds:F0} s; sends that failed: {closed}");
    return 0;
}

async Task<int> ProbeAsync()
{
    var greetings = new List<double>();
    var dones = new List<double>();
    var failed = 0;
    for (var t = 1; t <= tries; t++)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var clock = Stopwatch.StartNew();
            using var socket = await ConnectAsync(timeout.Token);
            var lines = new LineReader();
            var greeting = await lines.ReadLineAsync(socket, timeout.Token);
            var greetingMs = clock.Elapsed.TotalMilliseconds;
            if (kind == "smtp")
            {
                Expect(greeting, "220");
                await CommandAsync(socket, lines, "EHLO probe.example.test", "250", timeout.Token);
                await CommandAsync(socket, lines, "MAIL FROM:<probe@example.org>", "250", timeout.Token);
                await CommandAsync(socket, lines, $"RCPT TO:<{user}>", "250", timeout.Token);
                await CommandAsync(socket, lines, "DATA", "354", timeout.Token);
                await CommandAsync(socket, lines, $"Subject: probe {t}\r\nMessage-ID: <probe{t}.{Environment.TickCount64}@example.org>\r\n\r\nA fresh client among slow ones.\r\n.", "250", timeout.Token);
            }
            else
            {
                Expect(greeting, "* OK");
                await ImapCommandAsync(socket, lines, $"l LOGIN \"{user}\" \"{password}\"", timeout.Token);
                await ImapCommandAsync(socket, lines, "s SELECT INBOX", timeout.Token);
            }
            var doneMs = clock.Elapsed.TotalMilliseconds;
            greetings.Add(greetingMs);
            dones.Add(doneMs);
            Console.WriteLine($"try {t} greeting_ms={greetingMs:F1} done_ms={doneMs:F1}");
            await SendAsync(socket, kind == "smtp" ? "QUIT\r\n" : "z LOGOUT\r\n", timeout.Token);
        }
        catch (Exception ex)
        {
            failed++;
            Console.WriteLine($"try {t} failed: {ex.GetType().Name}: {ex.Message}");
        }
        if (t < tries)
        {
            await Task.Delay(TimeSpan.FromSeconds(pause));
        }
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"probe median_greeting_ms={Median(greetings):F1} max_greeting_ms={Max(greetings):F1} median_done_ms={Median(dones):F1} max_done_ms={Max(dones):F1} failed={failed}"));
    return failed == 0 ? 0 : 1;
}

async Task<int> BigAsync()
{
    var clock = Stopwatch.StartNew();
    var ok = 0;
    var failed = 0;
    string? firstFailure = null;
    await Task.WhenAll(Enumerable.Range(1, count).Select(n => Task.Run(async () =>
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
            using var socket = await ConnectAsync(timeout.Token);
            var lines = new LineReader();
            var greeting = await lines.ReadLineAsync(socket, timeout.Token);
            var header = Encoding.ASCII.GetBytes($"Subject: big {n}\r\nMessage-ID: <big{n}.{Environment.TickCount64}@example.org>\r\n\r\n");
            if (kind.StartsWith("smtp", StringComparison.Ordinal))
            {
                Expect(greeting, "220");
                await CommandAsync(socket, lines, "EHLO big.example.test", "250", timeout.Token);
                await CommandAsync(socket, lines, $"MAIL FROM:<big@example.org> SIZE={size}", "250", timeout.Token);
                await CommandAsync(socket, lines, $"RCPT TO:<{user}>", "250", timeout.Token);
                if (kind == "smtp-bdat")
                {
                    await SendAsync(socket, $"BDAT {size} LAST\r\n", timeout.Token);
                    await SendBodyAsync(socket, header, size, timeout.Token);
                }
                else
                {
                    await CommandAsync(socket, lines, "DATA", "354", timeout.Token);
                    await SendBodyAsync(socket, header, size, timeout.Token);
                    await SendAsync(socket, ".\r\n", timeout.Token);
                }
                Expect(await lines.ReadLineAsync(socket, timeout.Token), "250");
            }
            else
            {
                Expect(greeting, "* OK");
                await ImapCommandAsync(socket, lines, $"l LOGIN \"{user}\" \"{password}\"", timeout.Token);
                await SendAsync(socket, $"a APPEND INBOX {{{size}}}\r\n", timeout.Token);
                Expect(await lines.ReadLineAsync(socket, timeout.Token), "+");
                await SendBodyAsync(socket, header, size, timeout.Token);
                await SendAsync(socket, "\r\n", timeout.Token);
                Expect(await ReadTaggedAsync(socket, lines, "a", timeout.Token), "a OK");
            }
            Interlocked.Increment(ref ok);
        }
        catch (Exception ex)
        {
            if (Interlocked.Increment(ref failed) == 1)
            {
                firstFailure = $"{ex.GetType().Name}: {ex.Message}";
            }
        }
    })));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"big ok={ok} failed={failed} seconds={clock.Elapsed.TotalSeconds:F1}"));
    if (firstFailure is not null)
    {
        Console.WriteLine($"first failure: {firstFailure}");
    }
    return failed == 0 ? 0 : 1;
}

async Task<int> FloodAsync()
{
    var command = Encoding.ASCII.GetBytes(kind switch { "imap" => "a NOOP\r\n", "pop3" => "LIST\r\n", _ => "NOOP\r\n" });
    var sockets = await OpenManyAsync(count, async (socket, lines) =>
    {
        var greeting = await lines.ReadLineAsync(socket);
        switch (kind)
        {
            case "pop3":
                await CommandAsync(socket, lines, $"USER {user}", "+OK", default);
                await CommandAsync(socket, lines, $"PASS {password}", "+OK", default);
                break;
            case "imap":
                await ImapCommandAsync(socket, lines, $"l LOGIN \"{user}\" \"{password}\"", default);
                await ImapCommandAsync(socket, lines, "s SELECT INBOX", default);
                break;
            default:
                await CommandAsync(socket, lines, "EHLO flood.example.test", "250", default);
                break;
        }
    });
    if (sockets is null)
    {
        return 1;
    }
    var chunk = new byte[64 * 1024 / command.Length * command.Length];
    for (var i = 0; i < chunk.Length; i += command.Length)
    {
        command.CopyTo(chunk, i);
    }
    var total = (long)(megabytes * 1_000_000);
    long sent = 0;
    var stalled = 0;
    await Task.WhenAll(sockets.Select(socket => Task.Run(async () =>
    {
        long mine = 0;
        try
        {
            while (mine < total)
            {
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                mine += await socket.SendAsync(chunk, wait.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref stalled);
        }
        catch (SocketException)
        {
        }
        Interlocked.Add(ref sent, mine);
    })));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"flood sent_mb={sent / 1e6:F1} stalled={stalled} of {sockets.Count}"));
    foreach (var socket in sockets)
    {
        socket.Dispose();
    }
    return 0;
}

// Opens n connections, `parallel` at a time, each set up by `setup`; null (and a "failed" line) if any failed.
async Task<List<Socket>?> OpenManyAsync(int n, Func<Socket, LineReader, Task> setup)
{
    var sockets = new List<Socket>(n);
    var gate = new SemaphoreSlim(parallel);
    var failures = 0;
    string? first = null;
    var tasks = new List<Task>(n);
    for (var k = 0; k < n; k++)
    {
        await gate.WaitAsync();
        tasks.Add(Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var socket = await ConnectAsync(timeout.Token);
                await setup(socket, new LineReader());
                lock (sockets)
                {
                    sockets.Add(socket);
                }
            }
            catch (Exception ex)
            {
                if (Interlocked.Increment(ref failures) == 1)
                {
                    first = $"{ex.GetType().Name}: {ex.Message}";
                }
            }
            finally
            {
                gate.Release();
            }
        }));
    }
    await Task.WhenAll(tasks);
    if (failures > 0)
    {
        Console.WriteLine($"failed {failures} of {n}; the first: {first}");
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
        return null;
    }
    return sockets;
}

async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
{
    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    try
    {
        await socket.ConnectAsync(new IPEndPoint(host, port), cancellationToken);
        return socket;
    }
    catch
    {
        socket.Dispose();
        throw;
    }
}

// The header, then 'x' lines of 78 octets and CRLF up to `total` octets in all (the last line may be shorter).
static async Task SendBodyAsync(Socket socket, byte[] header, long total, CancellationToken cancellationToken)
{
    var line = new byte[80];
    Array.Fill(line, (byte)'x');
    line[78] = (byte)'\r';
    line[79] = (byte)'\n';
    var chunk = new byte[64 * 1024 / 80 * 80];
    for (var i = 0; i < chunk.Length; i += 80)
    {
        line.CopyTo(chunk, i);
    }
    await socket.SendAsync(header, cancellationToken);
    var left = total - header.Length;
    while (left > 0)
    {
        var piece = (int)Math.Min(chunk.Length, left);
        if (piece < chunk.Length && piece >= 2)
        {
            // The message ends with CRLF.
            var last = chunk.AsMemory(0, piece).ToArray();
            last[^2] = (byte)'\r';
            last[^1] = (byte)'\n';
            await socket.SendAsync(last, cancellationToken);
        }
        else
        {
            await socket.SendAsync(chunk.AsMemory(0, piece), cancellationToken);
        }
        left -= piece;
    }
}

static async Task SendAsync(Socket socket, string text, CancellationToken cancellationToken) =>
    await socket.SendAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

// Sends a line and reads the reply (the last line of a multi-line one), which must start with `expect`.
static async Task CommandAsync(Socket socket, LineReader lines, string command, string expect, CancellationToken cancellationToken)
{
    await SendAsync(socket, command + "\r\n", cancellationToken);
    string line;
    do
    {
        line = await lines.ReadLineAsync(socket, cancellationToken);
    }
    while (line.Length > 3 && line[3] == '-');
    Expect(line, expect);
}

static async Task ImapCommandAsync(Socket socket, LineReader lines, string command, CancellationToken cancellationToken)
{
    await SendAsync(socket, command + "\r\n", cancellationToken);
    var tag = command[..command.IndexOf(' ', StringComparison.Ordinal)];
    Expect(await ReadTaggedAsync(socket, lines, tag, cancellationToken), tag + " OK");
}

static async Task<string> ReadTaggedAsync(Socket socket, LineReader lines, string tag, CancellationToken cancellationToken)
{
    while (true)
    {
        var line = await lines.ReadLineAsync(socket, cancellationToken);
        if (line.StartsWith(tag + " ", StringComparison.Ordinal))
        {
            return line;
        }
    }
}

static void Expect(string line, string prefix)
{
    if (!line.StartsWith(prefix, StringComparison.Ordinal))
    {
        throw new IOException($"expected {prefix}, got '{line}'");
    }
}

static double Median(List<double> values)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

static double Max(List<double> values) => values.Count == 0 ? double.NaN : values.Max();

// Reads CRLF-terminated lines (of at most 64 KiB) from a socket, keeping what came after a line for the next.
sealed class LineReader
{
    private readonly byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;

    public async Task<string> ReadLineAsync(Socket socket, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, newline - _start).TrimEnd('\r');
                _start = newline + 1;
                return line;
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new IOException("a reply line over 64 KiB");
            }
            var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException("the server closed the connection");
            }
            _end += read;
        }
    }
}
