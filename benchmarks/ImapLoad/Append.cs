// `ImapLoad append --clients C --rounds R --size S`: APPEND throughput.
//
// Untimed, one client after another: each of C clients connects, LOGINs, reads CAPABILITY (LITERAL+ is used
// when offered, else each message waits for the "+" continuation; UIDPLUS is required) and CREATEs a folder
// of its own ("Append-PID-RANDOM-N", new for every run of this program, so it starts empty). Timed, all
// clients at once: each
// APPENDs R messages of exactly S octets (flags \Seen, no date) one after another, and goes on until the timed
// part has lasted --min-seconds; every tagged reply must be OK [APPENDUID v uid] with the same v and a UID
// above the one before. Untimed again: STATUS (MESSAGES) of each folder must be what its client appended, and
// the last message, fetched whole, must have S octets and match its digest. A unit is a message; the CPU is
// the server's over the timed part.

using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

internal static partial class Runs
{
    public static async Task AppendAsync(Options options, Result result, CancellationToken timeLimit)
    {
        var size = options.Size ?? 10 * 1024;
        // One client after another: Dovecot 2.3 (tuned shape) answered one of ten CREATEs of distinct new names
        // made at once by one user with NO [ALREADYEXISTS].
        var appenders = new List<Appender>(options.Clients);
        for (var c = 1; c <= options.Clients; c++)
        {
            appenders.Add(await Appender.OpenAsync(options, c, size, timeLimit));
        }
        try
        {
            var received = appenders.Sum(a => a.Connection.Received);
            var cpu = ProcessTree.CpuTicks(options.CpuPid);
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(appenders.Select(a => Task.Run(async () =>
            {
                for (var n = 0; n < options.Rounds || stopwatch.Elapsed.TotalSeconds < options.MinSeconds; n++)
                {
                    await a.AppendNextAsync(timeLimit);
                    Interlocked.Increment(ref result.Units);
                }
            })));
            result.Seconds = stopwatch.Elapsed.TotalSeconds;
            result.CpuTicks = ProcessTree.CpuTicks(options.CpuPid) - cpu;
            result.Bytes = appenders.Sum(a => a.Connection.Received) - received;
            foreach (var appender in appenders)
            {
                await appender.VerifyAsync(timeLimit);
                await appender.Connection.LogoutAsync(timeLimit);
            }
        }
        finally
        {
            foreach (var appender in appenders)
            {
                appender.Connection.Dispose();
            }
        }
    }

    // Part of the folder names, so that they are new even if a process id comes again.
    private static readonly string s_run = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));

    /// <summary>One APPEND client and its folder.</summary>
    private sealed class Appender
    {
        private readonly string _folder;
        private readonly bool _literalPlus;
        private readonly byte[] _message;
        private readonly int _sequenceAt;
        private long _uidValidity;
        private long _lastUid;
        private int _appended;

        private Appender(ImapConnection connection, string folder, bool literalPlus, byte[] message, int sequenceAt)
        {
            Connection = connection;
            _folder = folder;
            _literalPlus = literalPlus;
            _message = message;
            _sequenceAt = sequenceAt;
        }

        public ImapConnection Connection { get; }

        public static async Task<Appender> OpenAsync(Options options, int client, int size, CancellationToken cancellationToken)
        {
            var connection = await ImapConnection.OpenAsync(options, cancellationToken);
            try
            {
                await connection.CommandAsync($"LOGIN \"{options.User}\" \"{options.Password}\"", cancellationToken: cancellationToken);
                var capabilities = await connection.CapabilitiesAsync(cancellationToken);
                if (!capabilities.Contains("UIDPLUS"))
                {
                    throw new ProtocolException("the server does not offer UIDPLUS");
                }
                var folder = string.Create(CultureInfo.InvariantCulture, $"Append-{Environment.ProcessId}-{s_run}-{client}");
                await connection.CommandAsync($"CREATE \"{folder}\"", cancellationToken: cancellationToken);
                var (message, sequenceAt) = MessageFactory.Build(size, $"append-{Environment.ProcessId}-{client}", client);
                return new Appender(connection, folder, capabilities.Contains("LITERAL+"), message, sequenceAt);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        public async Task AppendNextAsync(CancellationToken cancellationToken)
        {
            MessageFactory.Number(_message, _sequenceAt, _appended + 1);
            var text = await Connection.AppendAsync(_folder, _message, _literalPlus, cancellationToken);
            var (validity, uid) = ImapConnection.AppendUid(text) ?? throw new ProtocolException($"APPEND: no APPENDUID in OK {text}");
            if (_appended > 0 && (validity != _uidValidity || uid <= _lastUid))
            {
                throw new ProtocolException($"APPEND: APPENDUID {validity} {uid} after {_uidValidity} {_lastUid}");
            }
            _uidValidity = validity;
            _lastUid = uid;
            _appended++;
        }

        /// <summary>The folder holds what was appended, and the last message came back whole.</summary>
        public async Task VerifyAsync(CancellationToken cancellationToken)
        {
            long messages = -1;
            await Connection.CommandAsync($"STATUS \"{_folder}\" (MESSAGES)", span =>
            {
                if (span.StartsWith("* STATUS "u8))
                {
                    messages = ImapConnection.Number(span, "MESSAGES "u8);
                }
            }, cancellationToken: cancellationToken);
            if (messages != _appended)
            {
                throw new ProtocolException($"STATUS {_folder}: {messages} messages, {_appended} appended");
            }
            await Connection.CommandAsync($"EXAMINE \"{_folder}\"", cancellationToken: cancellationToken);
            var content = new ArrayBufferWriter<byte>(_message.Length);
            var reply = await Connection.CommandAsync(string.Create(CultureInfo.InvariantCulture, $"UID FETCH {_lastUid} BODY.PEEK[]"),
                literal: content, cancellationToken: cancellationToken);
            MessageFactory.Number(_message, _sequenceAt, _appended);
            if (reply.Literals != 1 || !content.WrittenSpan.SequenceEqual(_message))
            {
                throw new ProtocolException($"UID FETCH {_lastUid} BODY.PEEK[] of {_folder}: not the message appended last ({content.WrittenCount} octets)");
            }
            CheckDigest(content.WrittenSpan, _lastUid);
        }
    }
}

/// <summary>Messages made to be sent (APPEND): exactly the size asked, CRLF line ends, an X-Bench-Digest of the
/// body, and a Message-ID with a 9-digit number that <see cref="Number"/> rewrites in place.</summary>
internal static class MessageFactory
{
    private static readonly string[] Words =
    [
        "append", "message", "folder", "octet", "literal", "server", "client", "sent", "draft", "the", "of", "and",
        "a", "to", "in", "is", "for", "on", "with", "copy", "benchmark", "line", "mailbox", "store",
    ];

    /// <summary>A message of size octets (at least 1,024) and the offset of its 9 number digits.</summary>
    public static (byte[] Message, int SequenceAt) Build(int size, string label, int seed)
    {
        string Header(string digest) =>
            $"From: Appender <appender{seed}@example.org>\r\n" +
            "To: Bench <bench@example.test>\r\n" +
            $"Subject: Appended message of {size} octets\r\n" +
            "Date: Sun, 6 Dec 2026 08:00:00 +0000\r\n" +
            $"Message-ID: <{label}-000000000@example.org>\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=us-ascii\r\n" +
            $"X-Bench-Digest: {digest}\r\n\r\n";
        var bodyLength = size - Header(new string('0', 64)).Length;
        if (bodyLength < 100)
        {
            throw new ProtocolException($"a message of {size} octets is too small");
        }
        var rng = new Random(seed);
        var body = new StringBuilder(bodyLength);
        while (bodyLength - body.Length > 80)
        {
            var line = new StringBuilder();
            var width = rng.Next(20, 77);
            while (line.Length < width)
            {
                line.Append(Words[rng.Next(Words.Length)]).Append(' ');
            }
            body.Append(line.ToString(0, width).TrimEnd()).Append("\r\n");
        }
        body.Append('z', bodyLength - body.Length - 2).Append("\r\n");
        var bodyBytes = Encoding.ASCII.GetBytes(body.ToString());
        var header = Header(Convert.ToHexStringLower(SHA256.HashData(bodyBytes)));
        byte[] message = [.. Encoding.ASCII.GetBytes(header), .. bodyBytes];
        return (message, header.IndexOf("-000000000@", StringComparison.Ordinal) + 1);
    }

    /// <summary>Writes n as the message's 9 number digits.</summary>
    public static void Number(byte[] message, int at, int n)
    {
        for (var i = 8; i >= 0; i--, n /= 10)
        {
            message[at + i] = (byte)('0' + n % 10);
        }
    }
}
