using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Mail.Protocols.Pop3;

namespace Mail.Protocols.Benchmarks;

/// <summary>
/// Whole POP3 sessions without sockets, in the shape of benchmarks/e2e/pop3-load.sh: USER/PASS, STAT, LIST, RETR of
/// every message, QUIT, all pipelined (the server offers PIPELINING), against the in-memory store with 100 messages of
/// 10 KiB. The same session without the RETRs separates what a session costs from what a RETR costs. Each session runs
/// over the same two in-memory pipes (reset between sessions) and a new connection object.
/// </summary>
[MemoryDiagnoser]
public class Pop3SessionBenchmarks : ISmokeChecked
{
    private const int Messages = 100;
    private const int MessageSize = 10 * 1024;
    private Pop3Server _server = null!;
    private byte[] _withRetr = [];
    private byte[] _withoutRetr = [];
    private byte[] _message = [];

    [GlobalSetup]
    public void Setup()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser("alice@example.test", "alice");
        var store = new InMemoryMailboxStore();
        var body = new StringBuilder("From: bench@example.org\r\nTo: alice@example.test\r\nSubject: pop3 benchmark\r\n\r\n");
        while (body.Length < MessageSize)
        {
            body.Append("The quick brown fox jumps over the lazy dog, again and again and again.\r\n");
        }
        _message = Encoding.ASCII.GetBytes(body.ToString());
        for (var i = 0; i < Messages; i++)
        {
            store.AppendAsync("alice@example.test", "INBOX", new MemoryStream(_message)).AsTask().GetAwaiter().GetResult();
        }
        // Plaintext USER/PASS over the pipes, as over a TLS connection; nothing is marked seen, so every session finds the same maildrop.
        _server = new Pop3Server(new Pop3ServerOptions { AllowPlaintextAuth = true, MarkRetrievedAsSeen = false }, new Pop3Services(store, users), []);
        var login = "USER alice@example.test\r\nPASS alice\r\nSTAT\r\nLIST\r\n";
        _withRetr = Encoding.ASCII.GetBytes(login + string.Concat(Enumerable.Range(1, Messages).Select(n => $"RETR {n}\r\n")) + "QUIT\r\n");
        _withoutRetr = Encoding.ASCII.GetBytes(login + "QUIT\r\n");
    }

    /// <summary>Returns the octets the server sent.</summary>
    [Benchmark(Description = "POP3 session: login, STAT, LIST, 100 x RETR 10 KiB, QUIT")]
    public ValueTask<long> SessionWithRetr() => SessionAsync(_withRetr);

    /// <summary>Returns the octets the server sent.</summary>
    [Benchmark(Description = "POP3 session: login, STAT, LIST, QUIT")]
    public ValueTask<long> SessionWithoutRetr() => SessionAsync(_withoutRetr);

    // Runs one session: the commands in one write, the session to its end (the reply pipe never pushes back), then the
    // replies counted. The two pipes are reset and reused, so their buffers come from their own pools after the first run.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<long> SessionAsync(byte[] commands)
    {
        var connection = new MailConnection(new PipeDuplex(_toServer.Reader, _toClient.Writer));
        await _toServer.Writer.WriteAsync(commands);
        await _server.RunSessionAsync(connection);
        await connection.DisposeAsync();
        long received = 0;
        while (_toClient.Reader.TryRead(out var result) && !result.Buffer.IsEmpty)
        {
            received += result.Buffer.Length;
            _toClient.Reader.AdvanceTo(result.Buffer.End);
        }
        _toServer.Writer.Complete();
        _toServer.Reader.Complete();
        _toClient.Writer.Complete();
        _toClient.Reader.Complete();
        _toServer.Reset();
        _toClient.Reset();
        return received;
    }

    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 64 * 1024));

    /// <inheritdoc />
    public void CheckSmokeResult(string benchmark, object? result)
    {
        var received = result as long? ?? throw new InvalidOperationException($"{benchmark} returned {result}");
        // Each RETR sends the message (dot-stuffing adds nothing here: no line starts with a dot) and its status and end lines.
        var (least, most) = benchmark switch
        {
            nameof(SessionWithRetr) => ((long)Messages * _message.Length, (long)Messages * (_message.Length + 64) + 8192),
            nameof(SessionWithoutRetr) => (Messages * 6L, 8192L),
            _ => throw new InvalidOperationException($"no smoke check for {benchmark}"),
        };
        if (received < least || received > most)
        {
            throw new InvalidOperationException($"{benchmark}: the server sent {received} octets, expected {least} to {most}");
        }
    }
}
