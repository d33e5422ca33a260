using System.Net;
using System.Net.Sockets;
using Mail.Protocols.Connections;
using Xunit;

namespace Mail.Protocols.TestSupport;

/// <summary>
/// A client over a real loopback socket that pipelines commands and never reads a reply. The server's end is a
/// <see cref="MailConnection"/> over a <see cref="MeteredStream"/>, so a test can see how much the session read and
/// how many reply octets it ever held back before one flush: with small socket buffers on both ends, a session that
/// stops reading when its replies back up reads only a little of the flood.
/// </summary>
public sealed class FloodingSocketClient : IAsyncDisposable
{
    private readonly Socket _client;
    private long _sent;

    private FloodingSocketClient(Socket client, MeteredStream serverStream, MailConnection connection, Func<MailConnection, Task> runSession)
    {
        _client = client;
        ServerStream = serverStream;
        Connection = connection;
        Session = Task.Run(async () =>
        {
            try
            {
                await runSession(connection);
            }
            finally
            {
                await connection.DisposeAsync();
            }
        });
    }

    /// <summary>The server's end of the socket, metered.</summary>
    public MeteredStream ServerStream { get; }

    /// <summary>The server side of the connection.</summary>
    public MailConnection Connection { get; }

    /// <summary>The session, complete when it ended.</summary>
    public Task Session { get; }

    /// <summary>Octets the client has handed to its socket so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Connects a client to a session started with <paramref name="runSession"/>; both ends get socket buffers of <paramref name="bufferSize"/>.</summary>
    public static async Task<FloodingSocketClient> StartAsync(Func<MailConnection, Task> runSession, TimeProvider time, int bufferSize = 64 * 1024)
    {
        ArgumentNullException.ThrowIfNull(runSession);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveBufferSize = bufferSize,
            SendBufferSize = bufferSize,
        };
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await listener.AcceptAsync();
        server.ReceiveBufferSize = bufferSize;
        server.SendBufferSize = bufferSize;
        var stream = new MeteredStream(new NetworkStream(server, ownsSocket: true));
        var connection = new MailConnection(stream, server.RemoteEndPoint, server.LocalEndPoint, tls: null, timeProvider: time, socket: server);
        return new FloodingSocketClient(client, stream, connection, runSession);
    }

    /// <summary>
    /// Sends <paramref name="prefix"/>, then <paramref name="command"/> over and over up to <paramref name="total"/>
    /// octets, in 64 KiB writes, never reading; ends early (without throwing) when the connection fails.
    /// </summary>
    public Task FloodAsync(byte[] prefix, byte[] command, long total) => Task.Run(async () =>
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(command);
        var chunk = new byte[64 * 1024 / command.Length * command.Length];
        for (var i = 0; i < chunk.Length; i += command.Length)
        {
            command.CopyTo(chunk, i);
        }
        try
        {
            await _client.SendAsync(prefix);
            Interlocked.Add(ref _sent, prefix.Length);
            while (Sent < total)
            {
                var sent = await _client.SendAsync(chunk);
                Interlocked.Add(ref _sent, sent);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The server closed, or the test did.
        }
    });

    /// <summary>
    /// Waits (in real time, up to 30 s) until the flood has stalled: the server is in a write the client's full window
    /// holds up, and neither side has moved for a while. A synchronisation point, not an assertion of time.
    /// </summary>
    public async Task WaitUntilStalledAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long lastSent = -1, lastRead = -1;
        var still = 0;
        while (still < 5)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The flood did not stall within 30 seconds (sent {Sent}, read by the server {ServerStream.TotalRead}).");
            }
            await Task.Delay(100);
            var moved = Sent != lastSent || ServerStream.TotalRead != lastRead;
            still = !moved && ServerStream.IsWriting ? still + 1 : 0;
            lastSent = Sent;
            lastRead = ServerStream.TotalRead;
        }
    }

    /// <summary>Closes the client's socket (the server's pending write fails and the session ends).</summary>
    public void Close() => _client.Dispose();

    /// <summary>
    /// What every flood test asserts: the flood stalls unfinished, the server read at most 4 MiB of it and never wrote
    /// more than <paramref name="largestFlush"/> octets of replies at once; closed, the session ends.
    /// </summary>
    public async Task AssertReadOnlyAsFarAsRepliesAreTakenAsync(Task flood, long largestFlush)
    {
        ArgumentNullException.ThrowIfNull(flood);
        await WaitUntilStalledAsync();
        Assert.False(flood.IsCompleted);
        Assert.InRange(ServerStream.TotalRead, 1, 4L * 1024 * 1024);
        Assert.InRange(ServerStream.LargestFlush, 1, largestFlush);
        Close();
        Assert.True(await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(30))) == Session);
        await Session;
        await flood;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await Task.WhenAny(Session, Task.Delay(TimeSpan.FromSeconds(30)));
    }
}

/// <summary>
/// A stream that counts what goes through it: octets read, and the most octets written between two flushes (what a
/// <see cref="System.IO.Pipelines.PipeWriter"/> over it held back before it flushed), and whether a write is pending.
/// </summary>
public sealed class MeteredStream(Stream inner) : Stream
{
    private long _read;
    private long _sinceFlush;
    private long _largestFlush;
    private int _writing;

    /// <summary>Octets read so far.</summary>
    public long TotalRead => Interlocked.Read(ref _read);

    /// <summary>The most octets written between two flushes.</summary>
    public long LargestFlush => Interlocked.Read(ref _largestFlush);

    /// <summary>Whether a write is in progress.</summary>
    public bool IsWriting => Volatile.Read(ref _writing) != 0;

    /// <inheritdoc />
    public override bool CanRead => inner.CanRead;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => inner.CanWrite;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        Wrote(count);
        Interlocked.Exchange(ref _writing, 1);
        try
        {
            inner.Write(buffer, offset, count);
        }
        finally
        {
            Interlocked.Exchange(ref _writing, 0);
        }
    }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Wrote(buffer.Length);
        Interlocked.Exchange(ref _writing, 1);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Exchange(ref _writing, 0);
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Flush()
    {
        Interlocked.Exchange(ref _sinceFlush, 0);
        inner.Flush();
    }

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _sinceFlush, 0);
        return inner.FlushAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    private int Counted(int read)
    {
        Interlocked.Add(ref _read, read);
        return read;
    }

    private void Wrote(int count)
    {
        var since = Interlocked.Add(ref _sinceFlush, count);
        long largest;
        while (since > (largest = LargestFlush) && Interlocked.CompareExchange(ref _largestFlush, since, largest) != largest)
        {
        }
    }
}
