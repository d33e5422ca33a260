// The client of benchmarks/e2e/idle-memory.sh: opens many connections, brings each to an idle point, and
// holds them open until it is stopped (SIGTERM or SIGINT).
//
//   IdleLoad smtp|pop3|imap --port P --count N [--tls] [--user FORMAT --password PW] [--sources K] [--fill M]
//       smtp: each connection reads the 220 greeting and stays silent.
//       pop3: each connection reads the greeting, logs in with USER and PASS (connection k as FORMAT
//       with {n} replaced by k, so no two share a maildrop) and stays silent.
//       imap: each connection reads the greeting, sends LOGIN (user as for pop3; a FORMAT without {n}
//       puts every connection in the same mailbox, which IMAP allows), SELECT INBOX and IDLE, reads the
//       "+" continuation and stays silent. --fill M: first, over one connection, APPENDs small messages
//       to the first connection's INBOX until it holds at least M (and prints "filled M").
//       --tls: implicit TLS (any server certificate is accepted). --sources K: connection k binds to the
//       source address 127.0.0.(2 + k % K), spreading the connections over K loopback addresses.
//       Prints "open N" once all N are idle (or "failed N ..." and exits 1 if any failed), then waits;
//       with --no-hold it closes them and exits at once (a warm-up).
//
// Common options: --host (default 127.0.0.1), --parallel (connections being set up at once, default 64),
// --timeout SECONDS (per connection setup, default 60).

using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

string protocol;
var host = IPAddress.Loopback;
int port = 0, count = 0, sources = 0, parallel = 64, timeoutSeconds = 60, fill = 0;
bool tls = false, hold = true;
string user = "user{n}@example.test", password = "secret";
try
{
    protocol = args.Length > 0 && args[0] is "smtp" or "pop3" or "imap" ? args[0] : throw new FormatException("the first argument is smtp, pop3 or imap");
    for (var i = 1; i < args.Length; i++)
    {
        var arg = args[i];
        string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
        switch (arg)
        {
            case "--host": host = IPAddress.Parse(Value()); break;
            case "--port": port = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--count": count = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--tls": tls = true; break;
            case "--no-hold": hold = false; break;
            case "--user": user = Value(); break;
            case "--password": password = Value(); break;
            case "--sources": sources = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--parallel": parallel = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--timeout": timeoutSeconds = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            case "--fill": fill = int.Parse(Value(), CultureInfo.InvariantCulture); break;
            default: throw new FormatException($"unknown option {arg}");
        }
    }
    if (port <= 0 || count <= 0 || parallel <= 0)
    {
        throw new FormatException("--port and --count are required and positive");
    }
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("usage: IdleLoad smtp|pop3|imap --port P --count N [options] (see the comment at the top of Program.cs)");
    return 2;
}

if (fill > 0)
{
    if (protocol != "imap")
    {
        Console.Error.WriteLine("error: --fill is for imap");
        return 2;
    }
    try
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        Console.WriteLine($"filled {await FillAsync(timeout.Token)}");
    }
    catch (Exception ex)
    {
        Console.WriteLine($"failed to fill the mailbox: {ex.GetType().Name}: {ex.Message}");
        return 1;
    }
}

var held = new List<Stream>(count);
var gate = new SemaphoreSlim(parallel);
var failures = 0;
string? firstFailure = null;
var tasks = new Task[count];
for (var k = 0; k < count; k++)
{
    await gate.WaitAsync();
    var n = k + 1;
    tasks[k] = Task.Run(async () =>
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
            var stream = await OpenAsync(n, timeout.Token);
            lock (held)
            {
                held.Add(stream);
            }
        }
        catch (Exception ex)
        {
            if (Interlocked.Increment(ref failures) == 1)
            {
                firstFailure = $"connection {n}: {ex.GetType().Name}: {ex.Message}";
            }
        }
        finally
        {
            gate.Release();
        }
    });
}
await Task.WhenAll(tasks);
if (failures > 0)
{
    Console.WriteLine($"failed {failures} of {count}; the first: {firstFailure}");
    return 1;
}
Console.WriteLine($"open {held.Count}");

var stop = new TaskCompletionSource();
if (!hold)
{
    stop.SetResult();
}
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
await stop.Task;
foreach (var stream in held)
{
    stream.Dispose();
}
return 0;

async Task<Stream> OpenAsync(int n, CancellationToken cancellationToken)
{
    if (protocol == "imap")
    {
        var (imap, lines) = await ConnectImapAsync(n, cancellationToken);
        try
        {
            await CommandAsync(imap, lines, "s SELECT INBOX", cancellationToken);
            await SendAsync(imap, "i IDLE\r\n", cancellationToken);
            var line = await lines.ReadLineAsync(imap, cancellationToken);
            if (!line.StartsWith('+'))
            {
                throw new IOException($"expected + after IDLE, got '{line}'");
            }
            return imap;
        }
        catch
        {
            await imap.DisposeAsync();
            throw;
        }
    }
    var stream = await ConnectAsync(n, cancellationToken);
    try
    {
        var buffer = new byte[512];
        await ExpectAsync(stream, buffer, protocol == "smtp" ? "220" : "+OK", cancellationToken);
        if (protocol == "pop3")
        {
            await SendAsync(stream, $"USER {user.Replace("{n}", n.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)}\r\n", cancellationToken);
            await ExpectAsync(stream, buffer, "+OK", cancellationToken);
            await SendAsync(stream, $"PASS {password}\r\n", cancellationToken);
            await ExpectAsync(stream, buffer, "+OK", cancellationToken);
        }
        return stream;
    }
    catch
    {
        await stream.DisposeAsync();
        throw;
    }
}

// An IMAP connection that has read the greeting and logged in as connection n's user.
async Task<(Stream Stream, LineReader Lines)> ConnectImapAsync(int n, CancellationToken cancellationToken)
{
    var stream = await ConnectAsync(n, cancellationToken);
    try
    {
        var lines = new LineReader();
        var greeting = await lines.ReadLineAsync(stream, cancellationToken);
        if (!greeting.StartsWith("* OK", StringComparison.Ordinal))
        {
            throw new IOException($"expected * OK, got '{greeting}'");
        }
        var login = user.Replace("{n}", n.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        await CommandAsync(stream, lines, $"l LOGIN \"{login}\" \"{password}\"", cancellationToken);
        return (stream, lines);
    }
    catch
    {
        await stream.DisposeAsync();
        throw;
    }
}

// APPENDs small messages (LITERAL+) to connection 1's INBOX until it holds at least `fill`; returns how many it holds.
async Task<int> FillAsync(CancellationToken cancellationToken)
{
    var (stream, lines) = await ConnectImapAsync(1, cancellationToken);
    await using (stream)
    {
        var exists = 0;
        foreach (var line in await CommandAsync(stream, lines, "s SELECT INBOX", cancellationToken))
        {
            var parts = line.Split(' ');
            if (parts is ["*", var number, "EXISTS"])
            {
                exists = int.Parse(number, CultureInfo.InvariantCulture);
            }
        }
        for (var k = exists + 1; k <= fill; k++)
        {
            var message = $"From: sender{k}@example.test\r\nTo: {user.Replace("{n}", "1", StringComparison.Ordinal)}\r\n"
                + $"Subject: idle-memory fill message {k}\r\nDate: Sun, 6 Dec 2026 06:00:00 +0000\r\n"
                + $"Message-ID: <fill{k}@example.test>\r\n\r\n" + string.Concat(Enumerable.Repeat("A line of the body of a small message.\r\n", 10));
            await CommandAsync(stream, lines, $"a APPEND INBOX {{{Encoding.ASCII.GetByteCount(message)}+}}\r\n{message}", cancellationToken);
            exists = k;
        }
        await CommandAsync(stream, lines, "z LOGOUT", cancellationToken);
        return exists;
    }
}

// Opens the TCP connection (and TLS), nothing read yet.
async Task<Stream> ConnectAsync(int n, CancellationToken cancellationToken)
{
    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    try
    {
        if (sources > 0)
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse($"127.0.0.{2 + n % sources}"), 0));
        }
        await socket.ConnectAsync(new IPEndPoint(host, port), cancellationToken);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (tls)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            }, cancellationToken);
            stream = ssl;
        }
        return stream;
    }
    catch
    {
        socket.Dispose();
        throw;
    }
}

// Sends "TAG ..." and reads up to the tagged reply, which must be OK; returns the untagged lines before it.
static async Task<List<string>> CommandAsync(Stream stream, LineReader lines, string command, CancellationToken cancellationToken)
{
    await SendAsync(stream, command + "\r\n", cancellationToken);
    var tag = command[..command.IndexOf(' ', StringComparison.Ordinal)];
    var untagged = new List<string>();
    while (true)
    {
        var line = await lines.ReadLineAsync(stream, cancellationToken);
        if (line.StartsWith(tag + " ", StringComparison.Ordinal))
        {
            return line.StartsWith(tag + " OK", StringComparison.Ordinal) ? untagged : throw new IOException($"{command.Split(' ')[1]}: '{line}'");
        }
        untagged.Add(line);
    }
}

static async Task SendAsync(Stream stream, string line, CancellationToken cancellationToken)
{
    await stream.WriteAsync(Encoding.ASCII.GetBytes(line), cancellationToken);
    await stream.FlushAsync(cancellationToken);
}

// Reads one reply line (the replies here are single lines) and checks how it starts.
static async Task ExpectAsync(Stream stream, byte[] buffer, string prefix, CancellationToken cancellationToken)
{
    var length = 0;
    while (length == 0 || buffer[length - 1] != (byte)'\n')
    {
        var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
        if (read == 0 || (length += read) == buffer.Length)
        {
            throw new IOException($"reply cut short: '{Encoding.ASCII.GetString(buffer, 0, length).Trim()}'");
        }
    }
    var line = Encoding.ASCII.GetString(buffer, 0, length).TrimEnd();
    if (!line.StartsWith(prefix, StringComparison.Ordinal))
    {
        throw new IOException($"expected {prefix}, got '{line}'");
    }
}

// Reads CRLF-terminated lines (of at most 8 KiB) from a stream, keeping what came after a line for the next.
sealed class LineReader
{
    private readonly byte[] _buffer = new byte[8192];
    private int _start;
    private int _end;

    public async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
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
                throw new IOException("a reply line over 8 KiB");
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException("the server closed the connection");
            }
            _end += read;
        }
    }
}
