using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.InMemory;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests;

/// <summary>Length-delimited reads (IMAP literals, SMTP BDAT chunks) over in-memory pipes.</summary>
public sealed class LiteralReadTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly Heartbeat _heartbeat;
    private readonly Pipe _fromClient;
    private readonly Pipe _toClient = new();
    private readonly MailConnection _connection;
    private readonly SessionIO _io;

    public LiteralReadTests() : this(new PipeOptions(useSynchronizationContext: false))
    {
    }

    private LiteralReadTests(PipeOptions options)
    {
        _heartbeat = new Heartbeat(_time);
        _fromClient = new Pipe(options);
        _connection = new MailConnection(new TestDuplexPipe(_fromClient.Reader, _toClient.Writer), null, null, _heartbeat, isSecure: false);
        _io = new SessionIO(_connection);
    }


    private static LiteralReadTests WithSmallPipe() =>
        new(new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048, useSynchronizationContext: false));

    private async Task SendAsync(string text) => await _fromClient.Writer.WriteAsync(Encoding.ASCII.GetBytes(text));

    private async Task<string> ReadLineAsync()
    {
        Assert.Equal(LineReadOutcome.Line, await _io.ReadLineAsync(1000, TimeSpan.FromMinutes(1)));
        return Encoding.ASCII.GetString(_io.Line);
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        _heartbeat.Dispose();
    }

    [Fact]
    public async Task A_literal_yields_exactly_its_octets_and_the_announcing_line_stays_valid_until_the_next_line()
    {
        await SendAsync("A1 APPEND INBOX {12}\r\n0123456789\r\n (\\Seen)\r\nA2 NOOP\r\n");
        Assert.Equal("A1 APPEND INBOX {12}", await ReadLineAsync());

        using var copy = new MemoryStream();
        await _io.BeginLiteral(12).AsStream().CopyToAsync(copy);

        Assert.Equal("0123456789\r\n", Encoding.ASCII.GetString(copy.ToArray()));
        Assert.Equal("A1 APPEND INBOX {12}", Encoding.ASCII.GetString(_io.Line));
        Assert.Equal(" (\\Seen)", await ReadLineAsync());
        Assert.Equal("A2 NOOP", await ReadLineAsync());
    }

    [Fact]
    public async Task A_literal_of_zero_octets_reads_nothing()
    {
        await SendAsync("A1 NOOP\r\n");
        var literal = _io.BeginLiteral(0);
        Assert.True((await literal.ReadAsync()).IsEmpty);
        Assert.Equal(0, await literal.AsStream().ReadAsync(new byte[10]));
        Assert.Equal("A1 NOOP", await ReadLineAsync());
    }

    [Fact]
    public async Task A_skipped_literal_is_dropped_and_the_next_line_is_read_after_it()
    {
        await SendAsync("A1 APPEND INBOX {10+}\r\n0123456789A2 NOOP\r\n");
        Assert.Equal("A1 APPEND INBOX {10+}", await ReadLineAsync());
        await _io.SkipLiteralAsync(10);
        Assert.Equal("A2 NOOP", await ReadLineAsync());
    }

    [Fact]
    public async Task A_literal_arriving_in_many_pieces_is_read_piece_by_piece_up_to_its_end()
    {
        var literal = _io.BeginLiteral(6);
        var reading = Task.Run(async () =>
        {
            using var copy = new MemoryStream();
            await literal.AsStream().CopyToAsync(copy);
            return Encoding.ASCII.GetString(copy.ToArray());
        });
        await SendAsync("ab");
        await SendAsync("cd");
        await SendAsync("efTAIL\r\n");
        Assert.Equal("abcdef", await reading);
        Assert.Equal("TAIL", await ReadLineAsync());
    }

    [Fact]
    public async Task A_consumer_slower_than_the_sender_holds_back_the_sender_instead_of_buffering_the_literal()
    {
        await using var t = WithSmallPipe();
        const int chunk = 1024;
        const int total = 256 * chunk;
        var written = 0;
        var sending = Task.Run(async () =>
        {
            var data = new byte[chunk];
            for (var i = 0; i < total / chunk; i++)
            {
                data.AsSpan().Fill((byte)('a' + i % 26));
                await t._fromClient.Writer.WriteAsync(data);
                Volatile.Write(ref written, (i + 1) * chunk);
            }
        });

        var stream = t._io.BeginLiteral(total).AsStream();
        var buffer = new byte[chunk / 4];
        var consumed = 0;
        var maxAhead = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                break;
            }
            for (var i = 0; i < n; i++)
            {
                Assert.Equal((byte)('a' + (consumed + i) / chunk % 26), buffer[i]);
            }
            consumed += n;
            maxAhead = Math.Max(maxAhead, Volatile.Read(ref written) - consumed);
            await Task.Yield();
        }
        await sending;

        Assert.Equal(total, consumed);
        // The pipe's pause threshold (4 KiB) plus the write that crossed it: never the whole literal.
        Assert.InRange(maxAhead, 0, 4096 + chunk);
    }

    [Fact]
    public async Task A_connection_dropping_mid_literal_fails_the_store_append_and_nothing_is_stored()
    {
        var store = new InMemoryMailboxStore();
        var literal = _io.BeginLiteral(100);
        await SendAsync("From: a@example.org\r\n\r\nforty octets of the body..");
        _fromClient.Writer.Complete();

        var ex = await Assert.ThrowsAsync<LiteralReadException>(async () => await store.AppendAsync("alice", "INBOX", literal.AsStream()));

        Assert.Equal(LiteralReadFailure.Closed, ex.Failure);
        Assert.Equal(100 - 49, ex.Missing);
        Assert.True(_connection.IsConnectionFailure(ex));
        Assert.Empty(await store.ListMessagesAsync("alice", "INBOX"));
    }

    [Fact]
    public async Task A_literal_whose_deadline_passes_fails_with_the_literal_reason_and_nothing_is_stored()
    {
        var store = new InMemoryMailboxStore();
        var literal = _io.BeginLiteral(100, new LiteralReadOptions { Timeout = TimeSpan.FromSeconds(30) });
        await SendAsync("From: a@example.org\r\n\r\n");
        var appending = store.AppendAsync("alice", "INBOX", literal.AsStream()).AsTask();
        await FakeTimeExtensions.WaitUntilAsync(() => literal.Remaining == 77 && _connection.HasDeadline);

        for (var i = 0; i < 29; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.False(appending.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<LiteralReadException>(() => appending);
        Assert.Equal(LiteralReadFailure.TimedOut, ex.Failure);
        Assert.Equal(TimeoutReason.Literal, _connection.TimedOut);
        Assert.Empty(await store.ListMessagesAsync("alice", "INBOX"));
    }

    [Fact]
    public async Task A_literal_arriving_below_the_minimum_rate_times_out_before_its_inactivity_limit()
    {
        // 100 octets/s after a 5 s grace: 200 octets buy 5 + 2 = 7 seconds from the start.
        var options = new LiteralReadOptions { Timeout = TimeSpan.FromMinutes(10), MinimumDataRate = 100, GracePeriod = TimeSpan.FromSeconds(5) };
        var literal = _io.BeginLiteral(10_000, options);
        var reading = Task.Run(async () => await literal.AsStream().CopyToAsync(Stream.Null));
        await SendAsync(new string('x', 200));
        await FakeTimeExtensions.WaitUntilAsync(() => literal.Remaining == 10_000 - 200 && _connection.HasDeadline);

        for (var i = 0; i < 6; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.False(reading.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<LiteralReadException>(() => reading);
        Assert.Equal(LiteralReadFailure.TimedOut, ex.Failure);
        Assert.Equal(TimeoutReason.MinimumDataRate, _connection.TimedOut);
    }

    [Fact]
    public async Task A_literal_at_the_minimum_rate_does_not_time_out()
    {
        var options = new LiteralReadOptions { Timeout = TimeSpan.FromMinutes(10), MinimumDataRate = 100, GracePeriod = TimeSpan.FromSeconds(5) };
        var literal = _io.BeginLiteral(1000, options);
        var reading = Task.Run(async () => await literal.AsStream().CopyToAsync(Stream.Null));
        for (var sent = 100; sent <= 1000; sent += 100)
        {
            await SendAsync(new string('x', 100));
            var expected = 1000 - sent;
            await FakeTimeExtensions.WaitUntilAsync(() => literal.Remaining == expected && (expected == 0 || _connection.HasDeadline));
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        await reading;
        Assert.Equal(TimeoutReason.None, _connection.TimedOut);
    }

    [Fact]
    public async Task A_shutdown_request_does_not_interrupt_a_literal()
    {
        var literal = _io.BeginLiteral(4);
        var reading = Task.Run(async () =>
        {
            using var copy = new MemoryStream();
            await literal.AsStream().CopyToAsync(copy);
            return Encoding.ASCII.GetString(copy.ToArray());
        });
        await FakeTimeExtensions.WaitUntilAsync(() => _connection.HasDeadline);
        _connection.RequestShutdown();
        await SendAsync("abcd");
        Assert.Equal("abcd", await reading);
    }
}
