using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Benchmarks;

/// <summary>
/// The whole engine without sockets: one SMTP transaction (MAIL, RCPT, DATA with a 1 KiB or 100 KiB body) over
/// in-memory pipes into a store that counts and drops messages, and a batch of pipelined commands outside a
/// transaction. Shows the CPU and allocations the engine itself adds per message and per command, apart from the
/// network stack (issue 15's goals: none per command, a fixed small number per message, none on the large object heap).
/// </summary>
[MemoryDiagnoser]
public class SmtpSessionBenchmarks : ISmokeChecked
{
    private static readonly byte[] s_envelope = "MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"u8.ToArray();
    private Pipe _toServer = null!;
    private Pipe _toClient = null!;
    private static readonly byte[] s_commands = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("NOOP\r\nRSET\r\n", CommandPairs)));
    private const int CommandPairs = 10;
    private static readonly byte[] s_go = "354 "u8.ToArray();
    private static readonly byte[] s_stored = "250 2.0.0 "u8.ToArray();
    private static readonly byte[] s_ok = "250 "u8.ToArray();
    private byte[] _body = [];
    private byte[] _largeBody = [];
    private Task _session = Task.CompletedTask;
    private MailConnection _connection = null!;
    private CountingStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "alice");
        var policyOptions = new RecipientPolicyOptions();
        policyOptions.LocalDomains.Add("example.test");
        var server = new SmtpServer(new SmtpServerOptions { ServerName = "mx.example.test" },
            new SmtpServices(_store = new CountingStore(), new InMemoryMessageQueue(), users, new DefaultRecipientPolicy(policyOptions, users)), []);
        _toServer = new Pipe();
        _toClient = new Pipe();
        _connection = new MailConnection(new PipeDuplex(_toServer.Reader, _toClient.Writer));
        _session = server.RunSessionAsync(_connection);
        _body = Message(1024);
        _largeBody = Message(100 * 1024);
        ExpectAsync("220 "u8.ToArray()).AsTask().GetAwaiter().GetResult();
        _toServer.Writer.WriteAsync("EHLO bench.example.org\r\n"u8.ToArray()).AsTask().GetAwaiter().GetResult();
        ExpectAsync("250 HELP"u8.ToArray()).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _toServer.Writer.Complete();
        _session.GetAwaiter().GetResult();
    }

    /// <summary>Returns the octets the store received for the message.</summary>
    [Benchmark(Description = "one 1 KiB message transaction over pipes")]
    public ValueTask<long> Transaction() => TransactionAsync(_body);

    /// <summary>Returns the octets the store received for the message.</summary>
    [Benchmark(Description = "one 100 KiB message transaction over pipes")]
    public ValueTask<long> LargeTransaction() => TransactionAsync(_largeBody);

    /// <summary>Returns the number of replies read: NOOP and RSET, pipelined in one write, answered in order.</summary>
    [Benchmark(Description = "20 pipelined commands (NOOP, RSET) outside a transaction")]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> Commands()
    {
        await _toServer.Writer.WriteAsync(s_commands);
        var replies = 0;
        for (var i = 0; i < CommandPairs * 2; i++)
        {
            await ExpectAsync(s_ok);
            replies++;
        }
        return replies;
    }

    // The size the store received, or -1 unless exactly one message was stored.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> TransactionAsync(byte[] body)
    {
        var before = Interlocked.Read(ref _store.Messages);
        await _toServer.Writer.WriteAsync(s_envelope);
        await ExpectAsync(s_go);
        await _toServer.Writer.WriteAsync(body);
        await ExpectAsync(s_stored);
        return Interlocked.Read(ref _store.Messages) == before + 1 ? Interlocked.Read(ref _store.LastSize) : -1;
    }

    /// <inheritdoc />
    public void CheckSmokeResult(string benchmark, object? result)
    {
        switch (benchmark)
        {
            case nameof(Commands):
                SmokeRun.AssertEqual(CommandPairs * 2, result);
                return;
            case nameof(Transaction):
                CheckStored(_body, result);
                return;
            case nameof(LargeTransaction):
                CheckStored(_largeBody, result);
                return;
            default:
                throw new InvalidOperationException($"no smoke check for {benchmark}");
        }
    }

    // The body without its terminating ".\r\n", after the Received header the server adds (well under 512 octets).
    private static void CheckStored(byte[] sent, object? result)
    {
        var size = result as long? ?? throw new InvalidOperationException($"the transaction returned {result}");
        var body = sent.Length - 3;
        if (size <= body || size > body + 512)
        {
            throw new InvalidOperationException($"the store received {size} octets for a {body}-octet body (-1: not one message)");
        }
    }

    private static byte[] Message(int size)
    {
        var body = new StringBuilder("From: sender@example.org\r\nTo: alice@example.test\r\nSubject: benchmark\r\n\r\n");
        while (body.Length < size)
        {
            body.Append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        return Encoding.ASCII.GetBytes(body.Append(".\r\n").ToString());
    }

    // Reads replies until one starts with the prefix (the replies before it are consumed). Allocates nothing once warm
    // (a pooled state machine, no copies), so what the benchmark reports is the server's.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExpectAsync(byte[] prefix)
    {
        while (true)
        {
            var result = await _toClient.Reader.ReadAsync();
            var buffer = result.Buffer;
            if (TryConsume(buffer, prefix, out var consumed))
            {
                _toClient.Reader.AdvanceTo(consumed);
                return;
            }
            _toClient.Reader.AdvanceTo(consumed, buffer.End);
            if (result.IsCompleted)
            {
                throw new InvalidOperationException("server closed");
            }
        }
    }

    // Consumes whole reply lines up to and including the first that starts with the prefix.
    private static bool TryConsume(ReadOnlySequence<byte> buffer, byte[] prefix, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            var start = reader.Consumed;
            var found = reader.IsNext(prefix);
            if (!reader.TryAdvanceTo((byte)'\n'))
            {
                reader.Rewind(reader.Consumed - start);
                consumed = reader.Position;
                return false;
            }
            if (found)
            {
                consumed = reader.Position;
                return true;
            }
        }
    }


    // Reads each message to the end and drops it, so the benchmark measures the engine, not a growing store.
    private sealed class CountingStore : IMailboxStore
    {
        public long Messages;
        public long LastSize;
        public char HierarchySeparator => '/';
        public async ValueTask<AppendResult> AppendAsync(string user, string folder, Stream content, AppendOptions? options = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            long size = 0;
            int n;
            while ((n = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                size += n;
            }
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Exchange(ref LastSize, size);
            return new AppendResult(1, (uint)Interlocked.Increment(ref Messages), size);
        }
        public ValueTask<IReadOnlyList<FolderInfo>> ListFoldersAsync(string user, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<FolderInfo> CreateFolderAsync(string user, string folder, SpecialUse specialUse = SpecialUse.None, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask RenameFolderAsync(string user, string folder, string newName, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask DeleteFolderAsync(string user, string folder, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<FolderStatus> GetStatusAsync(string user, string folder, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask SetSpecialUseAsync(string user, string folder, SpecialUse specialUse, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<string>> ListSubscriptionsAsync(string user, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask AddSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask RemoveSubscriptionAsync(string user, string folder, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<MessageInfo>> ListMessagesAsync(string user, string folder, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<Stream> OpenContentAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<MessageSummary> GetSummaryAsync(string user, string folder, uint uid, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<FlagUpdateResult> UpdateFlagsAsync(string user, string folder, IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<CopyResult> CopyAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<CopyResult> MoveAsync(string user, string folder, IReadOnlyCollection<uint> uids, string targetFolder, MailboxSubscription? session = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<uint>> ExpungeAsync(string user, string folder, IReadOnlyCollection<uint>? uids = null, MailboxSubscription? session = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public MailboxSubscription Subscribe(string user, int capacity = MailboxSubscription.DefaultCapacity) => throw new NotSupportedException();
        public ValueTask<FolderSnapshot> OpenFolderAsync(string user, string folder, MailboxSubscription? subscription = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<ExpungedUids> GetExpungedSinceAsync(string user, string folder, ulong modSeq, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IReadOnlyList<MessageSummaryEntry>> GetSummariesAsync(string user, string folder, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<IDisposable?> TryAcquireMaildropLeaseAsync(string user, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
