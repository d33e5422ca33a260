using System.Buffers;
using System.IO.Pipelines;
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
/// The whole engine without sockets: one SMTP transaction (MAIL, RCPT, DATA with a 1 KiB body) over
/// in-memory pipes into a store that counts and drops messages. Shows the CPU and allocations the engine
/// itself adds per message, apart from the network stack.
/// </summary>
[MemoryDiagnoser]
public class SmtpSessionBenchmarks : ISmokeChecked
{
    private static readonly byte[] s_envelope = "MAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"u8.ToArray();
    private Pipe _toServer = null!;
    private Pipe _toClient = null!;
    private byte[] _body = [];
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
        _connection = new MailConnection(new Duplex(_toServer.Reader, _toClient.Writer));
        _session = server.RunSessionAsync(_connection);
        var body = new StringBuilder("From: sender@example.org\r\nTo: alice@example.test\r\nSubject: benchmark\r\n\r\n");
        while (body.Length < 1024)
        {
            body.Append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        body.Append(".\r\n");
        _body = Encoding.ASCII.GetBytes(body.ToString());
        ExpectAsync("220 ").GetAwaiter().GetResult();
        _toServer.Writer.WriteAsync("EHLO bench.example.org\r\n"u8.ToArray()).AsTask().GetAwaiter().GetResult();
        ExpectAsync("250 HELP").GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _toServer.Writer.Complete();
        _session.GetAwaiter().GetResult();
    }

    /// <summary>Returns the octets the store received for the message.</summary>
    [Benchmark(Description = "one 1 KiB message transaction over pipes")]
    public async Task<long> Transaction()
    {
        await _toServer.Writer.WriteAsync(s_envelope);
        await ExpectAsync("354 ");
        await _toServer.Writer.WriteAsync(_body);
        await ExpectAsync("250 2.0.0 ");
        return Interlocked.Read(ref _store.LastSize);
    }

    /// <inheritdoc />
    public void CheckSmokeResult(string benchmark, object? result)
    {
        if (benchmark != nameof(Transaction))
        {
            throw new InvalidOperationException($"no smoke check for {benchmark}");
        }
        // The body without its terminating ".\r\n", after the Received header the server adds (well under 512 octets).
        var size = result as long? ?? throw new InvalidOperationException($"Transaction returned {result}");
        var body = _body.Length - 3;
        if (_store.Messages != 1 || size <= body || size > body + 512)
        {
            throw new InvalidOperationException($"Transaction stored {_store.Messages} message(s) of {size} octets for a {body}-octet body");
        }
    }

    // Reads replies until one starts with the prefix (the replies before it are consumed).
    private async Task ExpectAsync(string prefix)
    {
        var wanted = Encoding.ASCII.GetBytes(prefix);
        while (true)
        {
            var result = await _toClient.Reader.ReadAsync();
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
            {
                if (line.Length >= wanted.Length && line.Slice(0, wanted.Length).ToArray().AsSpan().SequenceEqual(wanted))
                {
                    _toClient.Reader.AdvanceTo(reader.Position);
                    return;
                }
            }
            _toClient.Reader.AdvanceTo(reader.Position, buffer.End);
            if (result.IsCompleted)
            {
                throw new InvalidOperationException("server closed");
            }
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
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
