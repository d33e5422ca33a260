// The IMAP load generator of benchmarks/e2e/imap-load.sh: raw sockets, async, no packages. Literals in
// replies are read by their length; every tagged reply must be OK.
//
//   ImapLoad make --dir MAILDIR --messages N [--size S] [--seed K]
//       Writes N messages into MAILDIR (new/ and cur/; tmp/ empty), CRLF line ends, each with
//       X-Bench-Digest (SHA-256 of its body). Sizes vary from 2,048 to 6,143 octets, or are exactly S.
//       Every 4th is multipart/mixed with a base64 attachment. Senders sender00..sender19, "Kestrel" in
//       every 13th subject, "zephyr" in every 7th body, internal dates (file times) at noon UTC spread
//       over 60 days from 1-Oct-2026, every 10th \Flagged (cur/, ":2,F"), every other 3rd \Seen.
//       Prints the hits each search key must find: expect from=.. subject=.. text=.. since=.. flagged=..
//   ImapLoad login --clients C --sessions S [--messages N] [--authenticate]
//       C clients at once, each running S sessions one after another: greeting, LOGIN, SELECT INBOX
//       (EXISTS must be N when given), LOGOUT (BYE, then OK), and the server's close. With --authenticate,
//       AUTHENTICATE PLAIN instead of LOGIN (AuthenticateLogins.cs).
//   ImapLoad headers [--rounds R] [--messages N]
//       LOGIN, SELECT INBOX, then R times UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
//       BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID References)]): one FETCH
//       response per message. A unit is a message.
//   ImapLoad bodies [--messages N]
//       LOGIN, SELECT INBOX, UID FETCH 1:* (UID RFC822.SIZE) untimed, then UID FETCH uid BODY.PEEK[] of
//       every message one after another; each literal's length must be its RFC822.SIZE and its body must
//       match its X-Bench-Digest. A unit is a message.
//   ImapLoad search --key from|subject|text|since|flagged [--rounds R] [--expect H]
//       LOGIN, SELECT INBOX, then R times SEARCH with the key (FROM "sender07", SUBJECT "kestrel", TEXT
//       "zephyr", SINCE 15-Nov-2026, FLAGGED); the hits must be H when given. A unit is a search.
//   ImapLoad idle-delivery --clients C --deliveries D --smtp-port P [--lmtp]
//       C clients IDLE on INBOX while D messages are delivered over SMTP/LMTP; see IdleDelivery.cs.
//   ImapLoad mixed --clients C --duration S --mailboxes A,B [--messages N]
//       An imaptest-style mixed load of checked commands on shared mailboxes; see MixedLoad.cs.
//   ImapLoad resync --messages N [--changes K] [--rounds R]
//       QRESYNC SELECT after K flag changes and K expunges by another session (Resync.cs). A unit is a resync.
//   ImapLoad append --clients C --rounds R --size S
//       C clients at once, each APPENDing R messages of S octets into a folder of its own (Append.cs).
//       A unit is a message.
//
// Common options: --host (default 127.0.0.1), --port, --user, --password, --time-limit SECONDS (default
// 600), --min-seconds S (go on with more sessions, rounds or passes over the bodies until the timed part
// has lasted S seconds, so that short cases span many ticks of the CPU counters), --cpu-pid PID (also report the CPU clock ticks of that process and its descendants, from
// /proc/PID/stat, over the timed part alone).
// Prints one line: op=.. units=.. errors=.. seconds=.. bytes=.. cpu_ticks=.. hits=.. (seconds and bytes:
// the timed part's wall time and the octets received in it). Exit status: 0 when there was no error, 1
// otherwise, 2 for bad arguments.

using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

Options options;
try
{
    options = Options.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine("usage: ImapLoad make|login|headers|bodies|search|idle-delivery|mixed|resync|append [options] (see the comment at the top of Program.cs)");
    return 2;
}

if (options.Mode == "make")
{
    MaildirMaker.Make(options);
    return 0;
}

using var timeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeLimitSeconds));
var result = new Result();
try
{
    await (options.Mode switch
    {
        "login" => Runs.LoginAsync(options, result, timeLimit.Token),
        "headers" => Runs.HeadersAsync(options, result, timeLimit.Token),
        "bodies" => Runs.BodiesAsync(options, result, timeLimit.Token),
        "idle-delivery" => IdleDelivery.RunAsync(options, result, timeLimit.Token),
        "mixed" => MixedLoad.RunAsync(options, result, timeLimit.Token),
        "resync" => Runs.ResyncAsync(options, result, timeLimit.Token),
        "append" => Runs.AppendAsync(options, result, timeLimit.Token),
        _ => Runs.SearchAsync(options, result, timeLimit.Token),
    });
}
catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
{
    Interlocked.Increment(ref result.Errors);
    Console.Error.WriteLine($"error: {(timeLimit.IsCancellationRequested ? "time limit reached: " : "")}{ex.Message}");
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"op={options.Mode} units={result.Units} errors={result.Errors} seconds={result.Seconds:F3} bytes={result.Bytes} " +
    $"cpu_ticks={result.CpuTicks} hits={result.Hits}{result.Extra}"));
return result.Errors == 0 ? 0 : 1;

internal sealed partial class Options
{
    public string Mode { get; private set; } = "";
    public string Host { get; private set; } = "127.0.0.1";
    public int Port { get; private set; }
    public string User { get; private set; } = "bench@example.test";
    public string Password { get; private set; } = "bench";
    public int Clients { get; private set; } = 1;
    public int Sessions { get; private set; } = 10;
    public int Rounds { get; private set; } = 1;
    public double MinSeconds { get; private set; }
    public int? Messages { get; private set; }
    public int? Size { get; private set; }
    public int Seed { get; private set; } = 1;
    public string Key { get; private set; } = "";
    public int? Expect { get; private set; }
    public int? CpuPid { get; private set; }
    public int TimeLimitSeconds { get; private set; } = 600;
    public string? Dir { get; private set; }
    public bool Authenticate { get; private set; }
    public int Changes { get; private set; } = 100;

    public static Options Parse(string[] args)
    {
        if (args.Length == 0)
        {
            throw new FormatException("a mode is needed");
        }
        var o = new Options { Mode = args[0] };
        if (o.Mode is not ("make" or "login" or "headers" or "bodies" or "search" or "idle-delivery" or "mixed" or "resync" or "append"))
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
                case "--rounds": o.Rounds = Number(1, 1_000_000); break;
                case "--min-seconds": o.MinSeconds = Number(0, 3600); break;
                case "--messages": o.Messages = Number(0, 1_000_000); break;
                case "--size": o.Size = Number(1024, 100 * 1024 * 1024); break;
                case "--seed": o.Seed = Number(0, 1_000_000); break;
                case "--key": o.Key = Value(); break;
                case "--expect": o.Expect = Number(0, 1_000_000); break;
                case "--cpu-pid": o.CpuPid = Number(1, int.MaxValue); break;
                case "--time-limit": o.TimeLimitSeconds = Number(1, 86_400); break;
                case "--dir": o.Dir = Value(); break;
                case "--authenticate": o.Authenticate = true; break;
                case "--changes": o.Changes = Number(1, 100_000); break;
                default: _ = o.ParseMore(arg, Value) ? 0 : throw new FormatException($"unknown option {arg}"); break;
            }
        }
        if (o.Mode == "make")
        {
            if (o.Dir is null || o.Messages is null)
            {
                throw new FormatException("make needs --dir and --messages");
            }
        }
        else if (o.Port == 0)
        {
            throw new FormatException("--port is needed");
        }
        o.CheckMore();
        if (o.Mode == "search" && SearchKeys.Command(o.Key) is null)
        {
            throw new FormatException("search needs --key from|subject|text|since|flagged");
        }
        return o;
    }
}

internal sealed class ProtocolException(string message) : Exception(message);

/// <summary>What a run did; the fields are shared by the clients of a run.</summary>
internal sealed class Result
{
    public long Units;
    public long Errors;
    public long Bytes;
    public long Hits;
    public double Seconds;
    public long CpuTicks;
    /// <summary>More NAME=VALUE words for the output line, each after a space (idle-delivery, mixed).</summary>
    public string Extra = "";
}

/// <summary>The search keys and the messages each must find (the generator decides both).</summary>
internal static class SearchKeys
{
    public static readonly DateTime Since = new(2026, 11, 15, 0, 0, 0, DateTimeKind.Utc);

    public static string? Command(string key) => key switch
    {
        "from" => "SEARCH FROM \"sender07\"",
        "subject" => "SEARCH SUBJECT \"kestrel\"",
        "text" => "SEARCH TEXT \"zephyr\"",
        "since" => "SEARCH SINCE 15-Nov-2026",
        "flagged" => "SEARCH FLAGGED",
        _ => null,
    };

    public static int Sender(int n) => n % 20;

    public static bool Kestrel(int n) => n % 13 == 0;

    public static bool Zephyr(int n) => n % 7 == 0;

    public static bool Flagged(int n) => n % 10 == 0;

    public static bool Seen(int n) => !Flagged(n) && n % 3 == 0;

    /// <summary>Noon UTC on one of 60 days from 1-Oct-2026, in message order.</summary>
    public static DateTime Date(int n, int count) =>
        new DateTime(2026, 10, 1, 12, 0, 0, DateTimeKind.Utc).AddDays((long)(n - 1) * 60 / count);
}

/// <summary>Writes the benchmark Maildir.</summary>
internal static class MaildirMaker
{
    private static readonly string[] Words =
    [
        "mail", "protocol", "maildir", "message", "server", "client", "index", "octet", "fsync", "the", "of",
        "and", "a", "to", "in", "is", "for", "on", "with", "retrieve", "benchmark", "line", "folder", "header",
    ];

    public static void Make(Options options)
    {
        var dir = options.Dir!;
        var count = options.Messages!.Value;
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }
        var rng = new Random(options.Seed);
        int from = 0, subject = 0, text = 0, since = 0, flagged = 0;
        for (var n = 1; n <= count; n++)
        {
            var date = SearchKeys.Date(n, count);
            var data = Build(n, count, options.Seed, options.Size ?? rng.Next(2048, 6144), date, rng);
            var seconds = new DateTimeOffset(date).ToUnixTimeSeconds();
            var name = string.Create(CultureInfo.InvariantCulture, $"{seconds}.M{n}P{options.Seed}Q{n}.bench,S={data.Length}");
            var path = SearchKeys.Flagged(n) ? Path.Combine(dir, "cur", name + ":2,F")
                : SearchKeys.Seen(n) ? Path.Combine(dir, "cur", name + ":2,S")
                : Path.Combine(dir, "new", name);
            File.WriteAllBytes(path, data);
            File.SetLastWriteTimeUtc(path, date);
            from += SearchKeys.Sender(n) == 7 ? 1 : 0;
            subject += SearchKeys.Kestrel(n) ? 1 : 0;
            text += SearchKeys.Zephyr(n) ? 1 : 0;
            since += date >= SearchKeys.Since ? 1 : 0;
            flagged += SearchKeys.Flagged(n) ? 1 : 0;
        }
        Console.WriteLine($"expect from={from} subject={subject} text={text} since={since} flagged={flagged}");
    }

    private static byte[] Build(int n, int count, int seed, int size, DateTime date, Random rng)
    {
        var multipart = n % 4 == 0;
        var boundary = $"=_bench_{seed}_{n}";
        var sender = SearchKeys.Sender(n);
        var subject = SearchKeys.Kestrel(n) ? $"Kestrel sighting report {n}" : $"Benchmark message {n} of the IMAP load";
        var references = n > 2 ? $"References: <bench-{seed}-{n - 2}@example.org> <bench-{seed}-{n - 1}@example.org>\r\n" : "";
        string TopHeader(string digest) =>
            $"Return-Path: <sender{sender:D2}@example.org>\r\n" +
            $"Received: from client.example.org by mx.example.test; {date.ToString("ddd, d MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture)} +0000\r\n" +
            $"From: Sender {sender:D2} <sender{sender:D2}@example.org>\r\n" +
            $"To: Bench <bench@example.test>, Other <other{n % 5}@example.test>\r\n" +
            $"Subject: {subject}\r\n" +
            $"Date: {date.ToString("ddd, d MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture)} +0000\r\n" +
            $"Message-ID: <bench-{seed}-{n}@example.org>\r\n" + references +
            "MIME-Version: 1.0\r\n" +
            (multipart ? $"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n" : "Content-Type: text/plain; charset=us-ascii\r\n") +
            $"X-Bench-Seq: {n}\r\n" +
            $"X-Bench-Digest: {digest}\r\n\r\n";
        var headerLength = TopHeader(new string('0', 64)).Length;

        string partHead = "", partTail = "";
        if (multipart)
        {
            partHead = $"This is a multi-part message in MIME format.\r\n--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
            var attachment = new byte[300];
            rng.NextBytes(attachment);
            var base64 = Convert.ToBase64String(attachment, Base64FormattingOptions.InsertLineBreaks);
            partTail = $"--{boundary}\r\nContent-Type: application/octet-stream; name=\"data{n}.bin\"\r\n" +
                $"Content-Disposition: attachment; filename=\"data{n}.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                $"{base64}\r\n--{boundary}--\r\n";
        }
        var textTarget = Math.Max(200, size - headerLength - partHead.Length - partTail.Length);
        var body = new StringBuilder(size);
        body.Append(partHead);
        var textStart = body.Length;
        if (SearchKeys.Zephyr(n))
        {
            body.Append("A zephyr came through the server room today.\r\n");
        }
        while (body.Length - textStart < textTarget - 80)
        {
            var line = new StringBuilder();
            var width = rng.Next(20, 77);
            while (line.Length < width)
            {
                line.Append(Words[rng.Next(Words.Length)]).Append(' ');
            }
            body.Append(line.ToString(0, width).TrimEnd()).Append("\r\n");
        }
        var rest = textTarget - (body.Length - textStart);
        if (rest >= 3)
        {
            body.Append('z', rest - 2).Append("\r\n");
        }
        body.Append(partTail);
        var bodyBytes = Encoding.ASCII.GetBytes(body.ToString());
        var digest = Convert.ToHexStringLower(SHA256.HashData(bodyBytes));
        return [.. Encoding.ASCII.GetBytes(TopHeader(digest)), .. bodyBytes];
    }
}

/// <summary>A client connection: a receive buffer that hands out lines, and literals read by length.</summary>
internal sealed partial class ImapConnection : IDisposable
{
    private const int MaxBuffer = 64 * 1024 * 1024;
    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private int _scanned;
    private int _tag;

    private ImapConnection(Socket socket) => _socket = socket;

    /// <summary>Octets received on this connection.</summary>
    public long Received { get; private set; }

    public static async Task<ImapConnection> OpenAsync(Options options, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(options.Host), options.Port), cancellationToken);
            var connection = new ImapConnection(socket);
            var greeting = await connection.ReadLineAsync(cancellationToken);
            if (!greeting.Span.StartsWith("* OK"u8))
            {
                throw new ProtocolException($"greeting: {Encoding.ASCII.GetString(greeting.Span)}");
            }
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>LOGIN with the options' user and password, then SELECT INBOX; returns EXISTS.</summary>
    public async Task<int> LoginAndSelectAsync(Options options, CancellationToken cancellationToken)
    {
        await CommandAsync($"LOGIN \"{options.User}\" \"{options.Password}\"", cancellationToken: cancellationToken);
        var select = await CommandAsync("SELECT INBOX", cancellationToken: cancellationToken);
        if (options.Messages is { } expected && select.Exists != expected)
        {
            throw new ProtocolException($"SELECT INBOX: {select.Exists} messages, expected {expected}");
        }
        return select.Exists;
    }

    /// <summary>LOGOUT (an untagged BYE, then OK) and the server's close.</summary>
    public async Task LogoutAsync(CancellationToken cancellationToken)
    {
        var reply = await CommandAsync("LOGOUT", cancellationToken: cancellationToken);
        if (!reply.Bye)
        {
            throw new ProtocolException("LOGOUT: no untagged BYE");
        }
        if (_end > _start)
        {
            throw new ProtocolException("data after the LOGOUT reply");
        }
        if (await _socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken) != 0)
        {
            throw new ProtocolException("data after the LOGOUT reply");
        }
    }

    /// <summary>Sends one command with the next tag and reads its responses up to the tagged one, which must be
    /// OK. Each untagged response's first line goes to onUntagged (before its literals are read); literals go to
    /// literal when given.</summary>
    public async Task<Reply> CommandAsync(string command, ReadOnlySpanAction? onUntagged = null,
        ArrayBufferWriter<byte>? literal = null, CancellationToken cancellationToken = default)
    {
        var tag = string.Create(CultureInfo.InvariantCulture, $"a{++_tag}");
        var tagPrefix = Encoding.ASCII.GetBytes(tag + " ");
        var data = Encoding.ASCII.GetBytes($"{tag} {command}\r\n");
        for (var sent = 0; sent < data.Length;)
        {
            sent += await _socket.SendAsync(data.AsMemory(sent), SocketFlags.None, cancellationToken);
        }
        var reply = new Reply();
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            var span = line.Span;
            if (span.StartsWith(tagPrefix))
            {
                if (!span[tagPrefix.Length..].StartsWith("OK"u8))
                {
                    throw new ProtocolException($"{command.Split(' ')[0]}: {Encoding.ASCII.GetString(span)}");
                }
                return reply;
            }
            if (!span.StartsWith("* "u8))
            {
                throw new ProtocolException($"{command.Split(' ')[0]}: unexpected line {Encoding.ASCII.GetString(span[..Math.Min(span.Length, 200)])}");
            }
            Classify(span, ref reply);
            onUntagged?.Invoke(span);
            // The response goes on after each literal, up to a line that does not end with one.
            while (LiteralLength(line.Span) is { } length)
            {
                reply.Literals++;
                reply.LiteralOctets += length;
                await ReadLiteralAsync(length, literal, cancellationToken);
                line = await ReadLineAsync(cancellationToken);
            }
        }
    }

    private static void Classify(ReadOnlySpan<byte> span, ref Reply reply)
    {
        var rest = span[2..];
        if (rest.StartsWith("SEARCH"u8))
        {
            foreach (var range in rest[6..].Split((byte)' '))
            {
                if (range.End.Value > range.Start.Value)
                {
                    reply.SearchHits++;
                }
            }
            return;
        }
        if (rest.StartsWith("BYE"u8))
        {
            reply.Bye = true;
            return;
        }
        var space = rest.IndexOf((byte)' ');
        if (space > 0 && Utf8Parser.TryParse(rest[..space], out int number, out var consumed) && consumed == space)
        {
            var what = rest[(space + 1)..];
            if (what.StartsWith("FETCH "u8))
            {
                reply.Fetches++;
            }
            else if (what.SequenceEqual("EXISTS"u8))
            {
                reply.Exists = number;
            }
        }
    }

    /// <summary>n when the line ends with {n} (a literal follows), else null.</summary>
    private static int? LiteralLength(ReadOnlySpan<byte> line)
    {
        if (line.Length < 3 || line[^1] != (byte)'}')
        {
            return null;
        }
        var open = line.LastIndexOf((byte)'{');
        if (open < 0 || !Utf8Parser.TryParse(line[(open + 1)..^1], out int length, out var consumed)
            || consumed != line.Length - open - 2 || length < 0)
        {
            throw new ProtocolException($"bad literal header: {Encoding.ASCII.GetString(line[Math.Max(0, open)..])}");
        }
        return length;
    }

    private async ValueTask ReadLiteralAsync(int length, ArrayBufferWriter<byte>? into, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            if (_end == _start)
            {
                await FillAsync(cancellationToken);
            }
            var take = Math.Min(length, _end - _start);
            into?.Write(_buffer.AsSpan(_start, take));
            _start += take;
            length -= take;
        }
        _scanned = _start;
    }

    /// <summary>The next line without its CRLF; valid until the next read.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken)
    {
        _scanned = Math.Max(_scanned, _start);
        while (true)
        {
            var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var end = _scanned + newline;
                var length = end > _start && _buffer[end - 1] == (byte)'\r' ? end - 1 - _start : end - _start;
                var line = new ReadOnlyMemory<byte>(_buffer, _start, length);
                _start = _scanned = end + 1;
                return line;
            }
            _scanned = _end;
            await FillAsync(cancellationToken);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _scanned -= _start;
            _start = _end = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _scanned -= _start;
                _start = 0;
            }
            else if (_buffer.Length < MaxBuffer)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                throw new ProtocolException($"a line longer than {MaxBuffer} octets");
            }
        }
        var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new ProtocolException("the server closed the connection");
        }
        _end += read;
        Received += read;
    }

    public void Dispose() => _socket.Dispose();
}

internal delegate void ReadOnlySpanAction(ReadOnlySpan<byte> span);

/// <summary>What the untagged responses of one command held.</summary>
internal struct Reply
{
    public int Fetches;
    public int Exists;
    public int SearchHits;
    public int Literals;
    public long LiteralOctets;
    public bool Bye;
}

/// <summary>CPU clock ticks of a process and its descendants: utime + stime + cutime + cstime of each
/// (fields 14 to 17 of /proc/PID/stat), as benchmarks/e2e/lib.sh's tree_cpu_ticks counts them.</summary>
internal static class ProcessTree
{
    public static long CpuTicks(int? root)
    {
        if (root is null)
        {
            return 0;
        }
        var parent = new Dictionary<int, int>();
        var ticks = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            // After the ") " that ends the command name: state ppid ... (field 3 onwards).
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            parent[pid] = int.Parse(f[1], CultureInfo.InvariantCulture);
            ticks[pid] = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)
                + long.Parse(f[13], CultureInfo.InvariantCulture) + long.Parse(f[14], CultureInfo.InvariantCulture);
        }
        long sum = 0;
        foreach (var (pid, t) in ticks)
        {
            var q = pid;
            for (var depth = 0; depth < 20 && q != root && q > 1 && parent.TryGetValue(q, out var up); depth++)
            {
                q = up;
            }
            if (q == root)
            {
                sum += t;
            }
        }
        return sum;
    }
}

internal static partial class Runs
{
    private const string HeaderSync = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE " +
        "BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID References)])";

    private static long s_timedStart;

    /// <summary>Seconds since the timed part began.</summary>
    private static double Elapsed() => Stopwatch.GetElapsedTime(s_timedStart).TotalSeconds;

    /// <summary>Times the body and notes its octets and the server's CPU.</summary>
    private static async Task TimedAsync(Options options, Result result, ImapConnection connection, Func<Task> body)
    {
        var received = connection.Received;
        var cpu = ProcessTree.CpuTicks(options.CpuPid);
        s_timedStart = Stopwatch.GetTimestamp();
        await body();
        result.Seconds = Elapsed();
        result.CpuTicks = ProcessTree.CpuTicks(options.CpuPid) - cpu;
        result.Bytes = connection.Received - received;
    }

    public static async Task LoginAsync(Options options, Result result, CancellationToken timeLimit)
    {
        var reported = 0;
        var cpu = ProcessTree.CpuTicks(options.CpuPid);
        var stopwatch = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, options.Clients).Select(c => Task.Run(async () =>
        {
            for (var s = 0; (s < options.Sessions || stopwatch.Elapsed.TotalSeconds < options.MinSeconds) && !timeLimit.IsCancellationRequested; s++)
            {
                try
                {
                    using var connection = await ImapConnection.OpenAsync(options, timeLimit);
                    await (options.Authenticate ? connection.AuthenticateAndSelectAsync(options, timeLimit)
                        : connection.LoginAndSelectAsync(options, timeLimit));
                    await connection.LogoutAsync(timeLimit);
                    Interlocked.Add(ref result.Bytes, connection.Received);
                    Interlocked.Increment(ref result.Units);
                }
                catch (Exception ex) when (ex is ProtocolException or SocketException or IOException or OperationCanceledException)
                {
                    Interlocked.Increment(ref result.Errors);
                    if (Interlocked.Increment(ref reported) <= 10)
                    {
                        Console.Error.WriteLine($"client {c + 1} session {s + 1}: {ex.Message}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        result.Seconds = stopwatch.Elapsed.TotalSeconds;
        result.CpuTicks = ProcessTree.CpuTicks(options.CpuPid) - cpu;
        result.Errors += Math.Max(0, (long)options.Clients * options.Sessions - result.Units - result.Errors);
    }

    public static async Task HeadersAsync(Options options, Result result, CancellationToken timeLimit)
    {
        using var connection = await ImapConnection.OpenAsync(options, timeLimit);
        var exists = await connection.LoginAndSelectAsync(options, timeLimit);
        await TimedAsync(options, result, connection, async () =>
        {
            for (var r = 0; r < options.Rounds || Elapsed() < options.MinSeconds; r++)
            {
                var reply = await connection.CommandAsync(HeaderSync, cancellationToken: timeLimit);
                if (reply.Fetches != exists || reply.Literals != exists)
                {
                    throw new ProtocolException($"header sync: {reply.Fetches} FETCH responses with {reply.Literals} literals for {exists} messages");
                }
                result.Units += reply.Fetches;
            }
        });
        await connection.LogoutAsync(timeLimit);
    }

    public static async Task BodiesAsync(Options options, Result result, CancellationToken timeLimit)
    {
        using var connection = await ImapConnection.OpenAsync(options, timeLimit);
        var exists = await connection.LoginAndSelectAsync(options, timeLimit);
        var messages = new List<(long Uid, long Size)>(exists);
        await connection.CommandAsync("UID FETCH 1:* (UID RFC822.SIZE)", span =>
            messages.Add((Item(span, "UID "u8), Item(span, "RFC822.SIZE "u8))), cancellationToken: timeLimit);
        if (messages.Count != exists)
        {
            throw new ProtocolException($"UID FETCH 1:* (UID RFC822.SIZE): {messages.Count} messages, SELECT said {exists}");
        }
        var content = new ArrayBufferWriter<byte>(64 * 1024);
        await TimedAsync(options, result, connection, async () =>
        {
            for (var pass = 0; pass < 1 || Elapsed() < options.MinSeconds; pass++)
            {
                foreach (var (uid, size) in messages)
                {
                    content.ResetWrittenCount();
                    var reply = await connection.CommandAsync(
                        string.Create(CultureInfo.InvariantCulture, $"UID FETCH {uid} BODY.PEEK[]"), literal: content, cancellationToken: timeLimit);
                    if (reply.Fetches != 1 || reply.Literals != 1 || content.WrittenCount != size)
                    {
                        throw new ProtocolException($"UID FETCH {uid} BODY.PEEK[]: {reply.Fetches} responses, {reply.Literals} literals, {content.WrittenCount} octets, RFC822.SIZE {size}");
                    }
                    CheckDigest(content.WrittenSpan, uid);
                    result.Units++;
                }
            }
        });
        await connection.LogoutAsync(timeLimit);
    }

    public static async Task SearchAsync(Options options, Result result, CancellationToken timeLimit)
    {
        using var connection = await ImapConnection.OpenAsync(options, timeLimit);
        await connection.LoginAndSelectAsync(options, timeLimit);
        var command = SearchKeys.Command(options.Key)!;
        await TimedAsync(options, result, connection, async () =>
        {
            for (var r = 0; r < options.Rounds || Elapsed() < options.MinSeconds; r++)
            {
                var reply = await connection.CommandAsync(command, cancellationToken: timeLimit);
                if (options.Expect is { } expected && reply.SearchHits != expected)
                {
                    throw new ProtocolException($"{command}: {reply.SearchHits} hits, expected {expected}");
                }
                result.Hits = reply.SearchHits;
                result.Units++;
            }
        });
        await connection.LogoutAsync(timeLimit);
    }

    /// <summary>The number after NAME in a FETCH response line.</summary>
    private static long Item(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name)
    {
        var at = line.IndexOf(name);
        if (at < 0 || !Utf8Parser.TryParse(line[(at + name.Length)..], out long value, out _))
        {
            throw new ProtocolException($"no {Encoding.ASCII.GetString(name).Trim()} in {Encoding.ASCII.GetString(line)}");
        }
        return value;
    }

    /// <summary>The body (after the first empty line) must hash to the message's X-Bench-Digest.</summary>
    private static void CheckDigest(ReadOnlySpan<byte> message, long uid)
    {
        var split = message.IndexOf("\r\n\r\n"u8);
        var at = split < 0 ? -1 : message[..split].IndexOf("\r\nX-Bench-Digest: "u8);
        if (at < 0 || at + 18 + 64 > split)
        {
            throw new ProtocolException($"UID {uid}: no X-Bench-Digest header");
        }
        var expected = Encoding.ASCII.GetString(message.Slice(at + 18, 64));
        if (Convert.ToHexStringLower(SHA256.HashData(message[(split + 4)..])) != expected)
        {
            throw new ProtocolException($"UID {uid}: the body does not match its digest");
        }
    }
}
