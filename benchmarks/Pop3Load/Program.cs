// The POP3 load generator of benchmarks/e2e/pop3-load.sh: raw sockets, async, no packages.
//
//   Pop3Load pop3 --port P --user FORMAT --password FORMAT --clients C --sessions S --messages N
//       C clients at once, each running S sessions one after another. A session reads the greeting,
//       says USER and PASS, checks that STAT reports N messages, reads LIST, sends RETR 1..N in one
//       write (pipelined) and reads the N replies, checks each message's size against LIST and that it
//       ends with the exact bytes --smtp sends, says QUIT and waits for the server to close. Client k
//       (1..C) logs in as FORMAT with {n} replaced by k as two digits (bench{n}@example.test ->
//       bench01@example.test), so no two clients share a maildrop at the same time.
//       Prints one line: sessions=... errors=... seconds=... bytes=... messages=... p50_ms=... p99_ms=...
//   Pop3Load smtp --port P --user FORMAT --users U --messages N
//       Sends N identical messages over SMTP (HELO, MAIL, RCPT to users 1..U, DATA) on one connection.
//   Pop3Load dump --port P --user ADDRESS --password PASSWORD --dir MAILDIR
//       Downloads every message over POP3 and writes it into MAILDIR/cur with LF line endings, named
//       TIME.N.pop3bench:2,S: a Maildir for another server holding exactly the same octets.
//   Pop3Load message
//       Writes the message --smtp sends (before dot-stuffing) to stdout.
//
// Common options: --host (default 127.0.0.1), --size (message size in octets, default 10240),
// --time-limit SECONDS (the whole run, default 600), --session-timeout SECONDS (default 60).
// Exit status: 0 when every session succeeded, 1 when any failed, 2 for bad arguments.

using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

Options options;
try
{
    options = Options.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("usage: Pop3Load pop3|smtp|dump|message [options] (see the comment at the top of Program.cs)");
    return 2;
}

var message = Message.Build(options.Size);
using var timeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeLimitSeconds));
try
{
    return options.Mode switch
    {
        "pop3" => await Pop3Runner.RunAsync(options, message, timeLimit.Token),
        "smtp" => await SmtpLoader.RunAsync(options, message, timeLimit.Token),
        "dump" => await Dumper.RunAsync(options, timeLimit.Token),
        "message" => WriteMessage(message),
        _ => throw new InvalidOperationException(),
    };
}
catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
{
    Console.Error.WriteLine($"error: {(timeLimit.IsCancellationRequested ? "time limit reached: " : "")}{ex.Message}");
    return 1;
}

static int WriteMessage(byte[] message)
{
    using var stdout = Console.OpenStandardOutput();
    stdout.Write(message);
    return 0;
}

internal sealed class Options
{
    public string Mode { get; private set; } = "";
    public string Host { get; private set; } = "127.0.0.1";
    public int Port { get; private set; }
    public string User { get; private set; } = "bench{n}@example.test";
    public string Password { get; private set; } = "bench";
    public int Clients { get; private set; } = 1;
    public int Sessions { get; private set; } = 10;
    public int Users { get; private set; } = 1;
    public int Messages { get; private set; } = 100;
    public int Size { get; private set; } = 10240;
    public int TimeLimitSeconds { get; private set; } = 600;
    public int SessionTimeoutSeconds { get; private set; } = 60;
    public string? Dir { get; private set; }

    public static Options Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new FormatException("a mode is needed");
        }
        var o = new Options { Mode = args[0] };
        if (o.Mode is not ("pop3" or "smtp" or "dump" or "message"))
        {
            throw new FormatException($"unknown mode '{o.Mode}'");
        }
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
            int Number(int min, int max) =>
                int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n
                    : throw new FormatException($"{arg} needs a number from {min} to {max}");
            switch (arg)
            {
                case "--host": o.Host = Value(); break;
                case "--port": o.Port = Number(1, 65535); break;
                case "--user": o.User = Value(); break;
                case "--password": o.Password = Value(); break;
                case "--clients": o.Clients = Number(1, 1000); break;
                case "--sessions": o.Sessions = Number(1, 1_000_000); break;
                case "--users": o.Users = Number(1, 100); break;
                case "--messages": o.Messages = Number(1, 100_000); break;
                case "--size": o.Size = Number(400, 100 * 1024 * 1024); break;
                case "--time-limit": o.TimeLimitSeconds = Number(1, 86_400); break;
                case "--session-timeout": o.SessionTimeoutSeconds = Number(1, 3600); break;
                case "--dir": o.Dir = Value(); break;
                default: throw new FormatException($"unknown option {arg}");
            }
        }
        if (o.Mode != "message" && o.Port == 0)
        {
            throw new FormatException("--port is needed");
        }
        if (o.Mode == "dump" && o.Dir is null)
        {
            throw new FormatException("dump needs --dir");
        }
        return o;
    }

    /// <summary>The login or password of client/user k (1-based): {n} becomes k as two digits.</summary>
    public static string ForClient(string format, int k) =>
        format.Replace("{n}", k.ToString("D2", CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

internal sealed class ProtocolException(string message) : Exception(message);

/// <summary>The benchmark message: headers and a text body of exactly the requested size, CRLF lines.</summary>
internal static class Message
{
    public static byte[] Build(int size)
    {
        var text = new StringBuilder();
        text.Append("From: POP3 benchmark <bench@example.test>\r\n");
        text.Append("To: POP3 benchmark users <bench@example.test>\r\n");
        text.Append("Subject: POP3 benchmark message\r\n");
        text.Append("Date: Sun, 29 Nov 2026 12:00:00 +0000\r\n");
        text.Append("Message-ID: <pop3-bench@example.test>\r\n");
        text.Append("MIME-Version: 1.0\r\n");
        text.Append("Content-Type: text/plain; charset=us-ascii\r\n");
        text.Append("\r\n");
        const string Filler = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ";
        // 76 characters plus CRLF per line; every 16th line starts with a dot, so both directions
        // of the transfer do some dot-stuffing.
        for (var line = 1; size - text.Length > 100; line++)
        {
            var start = line % 16 == 7 ? "." : "";
            var body = $"{start}{line:D4} {Filler}{Filler}";
            text.Append(body.AsSpan(0, 76)).Append("\r\n");
        }
        var rest = size - text.Length - 2;
        if (rest < 0)
        {
            throw new FormatException($"--size {size} is too small for the headers");
        }
        text.Append(new string('z', rest)).Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        Debug.Assert(bytes.Length == size);
        return bytes;
    }
}

/// <summary>One POP3 download session, reusing its buffers from session to session.</summary>
internal sealed class Pop3Client(Options options, byte[] expected)
{
    private byte[] _message = new byte[expected.Length + 4096];
    private readonly List<long> _sizes = [];
    private byte[]? _retrBatch;

    public long Bytes { get; private set; }

    public int Messages { get; private set; }

    public async Task RunSessionAsync(string user, string password, CancellationToken cancellationToken)
    {
        using var connection = await Connection.OpenAsync(options.Host, options.Port, cancellationToken);
        await connection.ExpectOkAsync("greeting", cancellationToken);
        await connection.SendAsync($"USER {user}", cancellationToken);
        await connection.ExpectOkAsync("USER", cancellationToken);
        await connection.SendAsync($"PASS {password}", cancellationToken);
        await connection.ExpectOkAsync("PASS", cancellationToken);

        await connection.SendAsync("STAT", cancellationToken);
        var stat = (await connection.ExpectOkAsync("STAT", cancellationToken)).Split(' ');
        if (stat.Length < 2 || !int.TryParse(stat[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || !long.TryParse(stat[1], NumberStyles.None, CultureInfo.InvariantCulture, out var total))
        {
            throw new ProtocolException($"STAT: bad reply '{string.Join(' ', stat)}'");
        }
        if (count != options.Messages)
        {
            throw new ProtocolException($"STAT: {count} messages, expected {options.Messages}");
        }

        await connection.SendAsync("LIST", cancellationToken);
        await connection.ExpectOkAsync("LIST", cancellationToken);
        _sizes.Clear();
        while (true)
        {
            var line = await connection.ReadLineAsync(cancellationToken);
            if (line.Span.SequenceEqual("."u8))
            {
                break;
            }
            var text = Encoding.ASCII.GetString(line.Span).Split(' ');
            if (text.Length != 2 || !int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                || number != _sizes.Count + 1 || !long.TryParse(text[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                throw new ProtocolException($"LIST: bad line '{Encoding.ASCII.GetString(line.Span)}'");
            }
            _sizes.Add(size);
            if (_sizes.Count > count)
            {
                throw new ProtocolException($"LIST: more than the {count} messages of STAT");
            }
        }
        if (_sizes.Count != count || _sizes.Sum() != total)
        {
            throw new ProtocolException($"LIST: {_sizes.Count} messages of {_sizes.Sum()} octets, STAT said {count} of {total}");
        }

        // Every RETR in one write, then the replies in order (RFC 2449 PIPELINING).
        _retrBatch ??= Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, count).Select(i => $"RETR {i}\r\n")));
        await connection.SendAsync(_retrBatch, cancellationToken);
        for (var i = 0; i < count; i++)
        {
            await connection.ExpectOkAsync($"RETR {i + 1}", cancellationToken);
            var length = 0;
            while (true)
            {
                var line = await connection.ReadLineAsync(cancellationToken);
                var span = line.Span;
                if (span.Length > 0 && span[0] == (byte)'.')
                {
                    if (span.Length == 1)
                    {
                        break;
                    }
                    span = span[1..];
                }
                if (length + span.Length + 2 > _message.Length)
                {
                    Array.Resize(ref _message, Math.Max(_message.Length * 2, length + span.Length + 2));
                }
                span.CopyTo(_message.AsSpan(length));
                _message[length + span.Length] = (byte)'\r';
                _message[length + span.Length + 1] = (byte)'\n';
                length += span.Length + 2;
            }
            if (length != _sizes[i])
            {
                throw new ProtocolException($"RETR {i + 1}: {length} octets, LIST said {_sizes[i]}");
            }
            if (!_message.AsSpan(0, length).EndsWith(expected))
            {
                throw new ProtocolException($"RETR {i + 1}: the content differs from the message sent");
            }
            Bytes += length;
            Messages++;
        }

        await connection.SendAsync("QUIT", cancellationToken);
        await connection.ExpectOkAsync("QUIT", cancellationToken);
        await connection.ExpectCloseAsync(cancellationToken);
    }
}

internal static class Pop3Runner
{
    public static async Task<int> RunAsync(Options options, byte[] expected, CancellationToken timeLimit)
    {
        var clients = Enumerable.Range(1, options.Clients).Select(_ => new Pop3Client(options, expected)).ToArray();
        var durations = new List<double>[options.Clients];
        var errors = 0;
        var sessions = 0;
        var reported = 0;
        var stopwatch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, options.Clients).Select(c => Task.Run(async () =>
        {
            var user = Options.ForClient(options.User, c + 1);
            var password = Options.ForClient(options.Password, c + 1);
            var mine = durations[c] = new List<double>(options.Sessions);
            for (var s = 0; s < options.Sessions && !timeLimit.IsCancellationRequested; s++)
            {
                using var session = CancellationTokenSource.CreateLinkedTokenSource(timeLimit);
                session.CancelAfter(TimeSpan.FromSeconds(options.SessionTimeoutSeconds));
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await clients[c].RunSessionAsync(user, password, session.Token);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    Interlocked.Increment(ref sessions);
                }
                catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    if (Interlocked.Increment(ref reported) <= 10)
                    {
                        var why = ex is OperationCanceledException
                            ? timeLimit.IsCancellationRequested ? "time limit reached" : $"session timeout ({options.SessionTimeoutSeconds} s)"
                            : ex.Message;
                        Console.Error.WriteLine($"client {c + 1} ({user}) session {s + 1}: {why}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var all = durations.SelectMany(d => d).Order().ToArray();
        var missing = options.Clients * options.Sessions - sessions - errors;
        double Percentile(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)Math.Ceiling(p * all.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sessions={sessions} errors={errors + missing} seconds={seconds:F3} bytes={clients.Sum(c => c.Bytes)} " +
            $"messages={clients.Sum(c => c.Messages)} p50_ms={Percentile(0.5):F2} p99_ms={Percentile(0.99):F2}"));
        return errors + missing == 0 ? 0 : 1;
    }
}

internal static class SmtpLoader
{
    public static async Task<int> RunAsync(Options options, byte[] message, CancellationToken cancellationToken)
    {
        var data = Connection.DotStuffed(message);
        using var connection = await Connection.OpenAsync(options.Host, options.Port, cancellationToken);
        async Task Expect(int code, string what)
        {
            var reply = await connection.ReadSmtpReplyAsync(cancellationToken);
            if (reply != code)
            {
                throw new ProtocolException($"SMTP {what}: {reply}, expected {code}");
            }
        }
        await Expect(220, "greeting");
        await connection.SendAsync("HELO bench.example.test", cancellationToken);
        await Expect(250, "HELO");
        for (var i = 0; i < options.Messages; i++)
        {
            await connection.SendAsync("MAIL FROM:<bench@example.test>", cancellationToken);
            await Expect(250, "MAIL");
            for (var u = 1; u <= options.Users; u++)
            {
                await connection.SendAsync($"RCPT TO:<{Options.ForClient(options.User, u)}>", cancellationToken);
                await Expect(250, "RCPT");
            }
            await connection.SendAsync("DATA", cancellationToken);
            await Expect(354, "DATA");
            await connection.SendAsync(data, cancellationToken);
            await Expect(250, "end of DATA");
        }
        await connection.SendAsync("QUIT", cancellationToken);
        await Expect(221, "QUIT");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"smtp messages={options.Messages} recipients={options.Users} size={message.Length}"));
        return 0;
    }
}

internal static class Dumper
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var dir = options.Dir!;
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }
        using var connection = await Connection.OpenAsync(options.Host, options.Port, cancellationToken);
        await connection.ExpectOkAsync("greeting", cancellationToken);
        await connection.SendAsync($"USER {options.User}", cancellationToken);
        await connection.ExpectOkAsync("USER", cancellationToken);
        await connection.SendAsync($"PASS {options.Password}", cancellationToken);
        await connection.ExpectOkAsync("PASS", cancellationToken);
        await connection.SendAsync("STAT", cancellationToken);
        var count = int.Parse((await connection.ExpectOkAsync("STAT", cancellationToken)).Split(' ')[0], CultureInfo.InvariantCulture);
        var time = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        long octets = 0;
        var file = new ArrayBufferWriter<byte>();
        for (var i = 1; i <= count; i++)
        {
            await connection.SendAsync($"RETR {i}", cancellationToken);
            await connection.ExpectOkAsync($"RETR {i}", cancellationToken);
            file.Clear();
            while (true)
            {
                var line = (await connection.ReadLineAsync(cancellationToken)).Span;
                if (line.Length > 0 && line[0] == (byte)'.')
                {
                    if (line.Length == 1)
                    {
                        break;
                    }
                    line = line[1..];
                }
                file.Write(line);
                file.Write("\n"u8);
                octets += line.Length + 2;
            }
            var name = string.Create(CultureInfo.InvariantCulture, $"{time}.{i:D5}.pop3bench:2,S");
            await File.WriteAllBytesAsync(Path.Combine(dir, "cur", name), file.WrittenMemory, cancellationToken);
        }
        await connection.SendAsync("QUIT", cancellationToken);
        await connection.ExpectOkAsync("QUIT", cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dump messages={count} octets={octets}"));
        return 0;
    }
}
