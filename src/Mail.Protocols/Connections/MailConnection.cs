using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Mail.Protocols.Connections;

/// <summary>
/// One client connection as a protocol engine sees it: a duplex pipe that can be upgraded to TLS, the
/// peer's address, deadlines checked once a second, and shutdown and abort signals.
/// </summary>
/// <remarks>
/// The engine's session is the only reader and writer of <see cref="Transport"/>. When a deadline expires
/// or shutdown is requested, the pending read is cancelled (<see cref="PipeReader.CancelPendingRead"/>)
/// and the engine looks at <see cref="TimedOut"/> or <see cref="IsShutdownRequested"/> to decide what to say.
/// </remarks>
public sealed class MailConnection : IAsyncDisposable
{
    private static long s_nextId;
    // Zero-byte reads: a read first waits, with an empty buffer, until the socket (or SslStream) has data, and
    // only then rents a buffer to read into; a connection waiting for its client holds no pipe buffer. The
    // buffer goes back to the pool once the session has consumed what was read.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 8192, minimumReadSize: 2048, leaveOpen: true, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions s_writerOptions = new(minimumBufferSize: 8192, leaveOpen: true);

    private readonly Stream? _stream;
    private readonly Socket? _socket;
    private readonly MailTlsOptions? _tls;
    private readonly Heartbeat? _heartbeat;
    private readonly CancellationTokenSource _aborted = new();
    private SslStream? _ssl;
    private long _deadline = long.MaxValue;
    private long _writeDeadline = long.MaxValue;
    private TimeoutReason _deadlineReason;
    private volatile int _timedOut;
    private volatile bool _shutdownRequested;
    private int _disposed;

    /// <summary>
    /// Creates a connection over a stream (a socket's NetworkStream, typically) that a server's
    /// <c>RunSessionAsync</c> can serve; TLS can be started on it. Its deadlines (the session's timeouts) are checked
    /// once a second on <paramref name="timeProvider"/>'s clock (the system's when null).
    /// </summary>
    public MailConnection(Stream stream, EndPoint? remoteEndPoint, EndPoint? localEndPoint, MailTlsOptions? tls, TimeProvider? timeProvider, Socket? socket)
        : this(stream, remoteEndPoint, localEndPoint, tls, Heartbeat.Shared(timeProvider ?? TimeProvider.System), socket)
    {
    }

    /// <summary>
    /// Creates a connection over a pipe (in-process hosting and tests) with no addresses, on the system clock; TLS cannot
    /// be started on it.
    /// </summary>
    public MailConnection(IDuplexPipe transport)
        : this(transport, null, null, Heartbeat.Shared(TimeProvider.System), isSecure: false)
    {
    }

    /// <summary>
    /// Creates a connection over a pipe (in-process hosting and tests); TLS cannot be started on it. Its deadlines are
    /// checked once a second on <paramref name="timeProvider"/>'s clock (the system's when null). <paramref name="isSecure"/>
    /// says whether the transport is already encrypted (a TLS proxy in front), which the protocols' login rules read.
    /// </summary>
    public MailConnection(IDuplexPipe transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, TimeProvider? timeProvider, bool isSecure)
        : this(transport, remoteEndPoint, localEndPoint, Heartbeat.Shared(timeProvider ?? TimeProvider.System), isSecure)
    {
    }

    // A listener's connections share its heartbeat; without one (tests only) no deadline is ever checked.
    internal MailConnection(Stream stream, EndPoint? remoteEndPoint, EndPoint? localEndPoint, MailTlsOptions? tls, Heartbeat? heartbeat, Socket? socket)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _socket = socket;
        _tls = tls;
        _heartbeat = heartbeat;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = localEndPoint;
        Transport = new DuplexPipe(PipeReader.Create(stream, s_readerOptions), PipeWriter.Create(stream, s_writerOptions));
        heartbeat?.Register(this);
    }

    internal MailConnection(IDuplexPipe transport, EndPoint? remoteEndPoint, EndPoint? localEndPoint, Heartbeat? heartbeat, bool isSecure)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        _heartbeat = heartbeat;
        RemoteEndPoint = remoteEndPoint;
        LocalEndPoint = localEndPoint;
        IsSecure = isSecure;
        heartbeat?.Register(this);
    }

    /// <summary>A short id for logs, unique in the process.</summary>
    public string Id { get; } = Interlocked.Increment(ref s_nextId).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The pipe to read commands from and write replies to; replaced by <see cref="StartTlsAsync"/>.</summary>
    public IDuplexPipe Transport { get; private set; }

    /// <summary>The client's address.</summary>
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>The address the client connected to.</summary>
    public EndPoint? LocalEndPoint { get; }

    /// <summary>Whether the connection is encrypted (implicit TLS or after STARTTLS).</summary>
    public bool IsSecure { get; private set; }

    /// <summary>The negotiated TLS protocol and cipher, for trace headers (null before TLS).</summary>
    public string? TlsDescription => _ssl is null ? null : $"{_ssl.SslProtocol} {_ssl.NegotiatedCipherSuite}";

    /// <summary>Whether <see cref="StartTlsAsync"/> can be used: a stream transport with a certificate, not yet encrypted.</summary>
    public bool CanStartTls => _stream is not null && _tls is not null && !IsSecure;

    /// <summary>Signalled when the connection is aborted (deadline past a graceful shutdown, dispose).</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Whether the server asked the session to finish (graceful shutdown).</summary>
    public bool IsShutdownRequested => _shutdownRequested;

    /// <summary>Why the deadline expired, or <see cref="TimeoutReason.None"/>.</summary>
    public TimeoutReason TimedOut => (TimeoutReason)_timedOut;

    /// <summary>The clock deadlines use.</summary>
    public TimeProvider TimeProvider => _heartbeat?.TimeProvider ?? TimeProvider.System;

    /// <summary>Arms the deadline: if it passes before <see cref="ClearTimeout"/> or the next call, the pending read is cancelled.</summary>
    public void SetTimeout(TimeSpan timeout, TimeoutReason reason)
    {
        if (_heartbeat is null || timeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }
        var ticks = (long)(timeout.TotalSeconds * _heartbeat.TimeProvider.TimestampFrequency);
        _deadlineReason = reason;
        Volatile.Write(ref _deadline, _heartbeat.TimeProvider.GetTimestamp() + ticks);
    }

    /// <summary>Disarms the deadline.</summary>
    public void ClearTimeout() => Volatile.Write(ref _deadline, long.MaxValue);

    /// <summary>
    /// Whether an exception that reached a session is this connection's own failure (the client went away, a write
    /// failed, the connection was aborted), which ends the session, rather than a backend's (a store, directory,
    /// policy or hook failing in its own way, its own timeouts included), which costs only the command.
    /// </summary>
    public bool IsConnectionFailure(Exception exception) =>
        exception is IOException or ObjectDisposedException
        || exception is OperationCanceledException && _aborted.IsCancellationRequested;

    /// <summary>Whether a read deadline is armed: tests driving a fake clock wait for it before they move the clock.</summary>
    internal bool HasDeadline => Volatile.Read(ref _deadline) != long.MaxValue;

    /// <summary>When the armed read deadline passes (a <see cref="TimeProvider"/> timestamp; long.MaxValue if none), for tests that must see it re-armed.</summary>
    internal long Deadline => Volatile.Read(ref _deadline);

    /// <summary>What the armed read deadline waits for (<see cref="TimeoutReason.None"/> if none is armed), for tests.</summary>
    internal TimeoutReason ArmedDeadline => HasDeadline ? _deadlineReason : TimeoutReason.None;

    /// <summary>
    /// Arms the write deadline: if a flush is still pending when it passes, the client is not reading and
    /// the connection is aborted (<see cref="TimedOut"/> becomes <see cref="TimeoutReason.Write"/>).
    /// </summary>
    public void SetWriteTimeout(TimeSpan timeout)
    {
        if (_heartbeat is null || timeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }
        var ticks = (long)(timeout.TotalSeconds * _heartbeat.TimeProvider.TimestampFrequency);
        Volatile.Write(ref _writeDeadline, _heartbeat.TimeProvider.GetTimestamp() + ticks);
    }

    /// <summary>Disarms the write deadline.</summary>
    public void ClearWriteTimeout() => Volatile.Write(ref _writeDeadline, long.MaxValue);

    internal void CheckDeadline(long now)
    {
        if (now >= Volatile.Read(ref _writeDeadline) && _timedOut == 0)
        {
            _timedOut = (int)TimeoutReason.Write;
            Abort();
            return;
        }
        if (now >= Volatile.Read(ref _deadline) && _timedOut == 0)
        {
            _timedOut = (int)_deadlineReason;
            Transport.Input.CancelPendingRead();
        }
    }

    /// <summary>Asks the session to finish at its next command boundary: wakes a pending read.</summary>
    public void RequestShutdown()
    {
        _shutdownRequested = true;
        Transport.Input.CancelPendingRead();
    }

    /// <summary>
    /// Replaces the transport with TLS. The caller must already have consumed (and so discarded) every
    /// byte of the plaintext input and flushed its last plaintext reply. Returns false, with the
    /// connection unusable, if the handshake fails or times out.
    /// </summary>
    public async ValueTask<bool> StartTlsAsync(CancellationToken cancellationToken = default)
    {
        if (_stream is null || _tls is null)
        {
            throw new InvalidOperationException("This connection cannot start TLS.");
        }
        if (IsSecure)
        {
            throw new InvalidOperationException("TLS is already active.");
        }

        await Transport.Input.CompleteAsync().ConfigureAwait(false);
        await Transport.Output.CompleteAsync().ConfigureAwait(false);

        var ssl = new SslStream(_stream, leaveInnerStreamOpen: true);
        using var handshake = new CancellationTokenSource(_tls.HandshakeTimeout, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(handshake.Token, cancellationToken, _aborted.Token);
        try
        {
            await ssl.AuthenticateAsServerAsync(_tls.CreateServerOptions(), linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or SocketException)
        {
            if (handshake.IsCancellationRequested && _timedOut == 0)
            {
                _timedOut = (int)TimeoutReason.TlsHandshake;
            }
            await ssl.DisposeAsync().ConfigureAwait(false);
            Transport = new ClosedPipe();
            return false;
        }

        _ssl = ssl;
        IsSecure = true;
        Transport = new DuplexPipe(PipeReader.Create(ssl, s_readerOptions), PipeWriter.Create(ssl, s_writerOptions));
        return true;
    }

    /// <summary>Closes the connection at once, without a reply.</summary>
    public void Abort()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        Transport.Input.CancelPendingRead();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _heartbeat?.Unregister(this);
        try
        {
            await Transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        await Transport.Input.CompleteAsync().ConfigureAwait(false);
        if (_ssl is not null)
        {
            await _ssl.DisposeAsync().ConfigureAwait(false);
        }
        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        _socket?.Dispose();
        _aborted.Dispose();
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    // What the transport becomes after a failed handshake: reads see the end, writes go nowhere.
    private sealed class ClosedPipe : IDuplexPipe
    {
        public ClosedPipe()
        {
            var pipe = new Pipe();
            pipe.Writer.Complete();
            Input = pipe.Reader;
            Output = PipeWriter.Create(Stream.Null);
        }

        public PipeReader Input { get; }
        public PipeWriter Output { get; }
    }
}
