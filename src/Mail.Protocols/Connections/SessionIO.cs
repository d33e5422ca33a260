using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Text;
using Microsoft.Extensions.Logging;

namespace Mail.Protocols.Connections;

/// <summary>What <see cref="SessionIO.ReadLineAsync"/> found.</summary>
public enum LineReadOutcome
{
    /// <summary>A line is in <see cref="SessionIO.Line"/>.</summary>
    Line,
    /// <summary>A line longer than the limit was dropped; answer with the protocol's error and read on.</summary>
    TooLong,
    /// <summary>The client closed the connection (or it was aborted).</summary>
    Closed,
    /// <summary>The command deadline passed (<see cref="MailConnection.TimedOut"/> says which).</summary>
    TimedOut,
    /// <summary>The server is shutting down; say goodbye and end the session.</summary>
    ShutdownRequested,
}

/// <summary>
/// The line-oriented half every text protocol session shares: reads bounded command lines from the
/// connection's pipe under one deadline per line, buffers replies and flushes them only when no complete
/// command is waiting (so pipelined batches are answered in one write), and swaps to TLS with the
/// pipelined plaintext dropped. The session that owns it is its only user (it is the session's I/O over one
/// connection, not a message channel between tasks).
/// </summary>
public sealed partial class SessionIO
{
    private readonly MailConnection _connection;
    private PipeReader _input;
    private PipeWriter _output;
    private LineReader _lineReader;
    private bool _mustWaitForInput;
    // Lines are copied into _shortLine when they fit (almost every command does); a longer line gets an array
    // of its own that is let go at the next read, so one long line does not leave every idle connection
    // holding a large buffer.
    private const int ShortLineCapacity = 256;
    private readonly byte[] _shortLine = new byte[ShortLineCapacity];
    private byte[] _line;
    private int _lineLength;

    /// <summary>Creates the session I/O over a connection's current transport.</summary>
    public SessionIO(MailConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _line = _shortLine;
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
    }

    /// <summary>
    /// The last line read. It stays valid until the next <see cref="ReadLineAsync"/> (a literal read in between
    /// does not touch it); a parser that keeps any part of it past the next line read must copy what it keeps.
    /// </summary>
    public ReadOnlySpan<byte> Line => _line.AsSpan(0, _lineLength);

    /// <summary>The size of the array the last line was copied into (tests check that it shrinks back after a long line).</summary>
    internal int LineCapacity => _line.Length;

    /// <summary>The reader for message data and literals (after the line that announced them).</summary>
    public PipeReader Input => _input;

    /// <summary>The writer replies go into; see <see cref="FlushAsync"/>.</summary>
    public PipeWriter Output => _output;

    /// <summary>
    /// How many octets of replies may wait unsent while pipelined commands are read from the buffer (64 KiB, the
    /// pause threshold of a default <see cref="Pipe"/>): past it they are flushed before the next command is read.
    /// </summary>
    internal const int PendingRepliesLimit = 64 * 1024;

    /// <summary>How long a flush may wait for a client that does not read. Defaults to 5 minutes.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Appends octets to the pending reply.</summary>
    public void Write(ReadOnlySpan<byte> data) => _output.Write(data);

    /// <summary>Appends ASCII text (non-ASCII characters become '?').</summary>
    public void WriteAscii(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = _output.GetSpan(text.Length);
        _output.Advance(Encoding.ASCII.GetBytes(text, span));
    }

    /// <summary>Appends ASCII text and CRLF.</summary>
    public void WriteLine(string text)
    {
        WriteAscii(text);
        _output.Write("\r\n"u8);
    }

    /// <summary>Sends what is pending, under the write deadline.</summary>
    // Pooled state machines: a session suspends here once per command, and would otherwise allocate each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync()
    {
        if (_output.UnflushedBytes == 0)
        {
            return;
        }
        _connection.SetWriteTimeout(WriteTimeout);
        try
        {
            await _output.FlushAsync(_connection.Aborted).ConfigureAwait(false);
        }
        finally
        {
            _connection.ClearWriteTimeout();
        }
    }

    /// <summary>
    /// Reads one line of at most <paramref name="maxLength"/> octets. Pending replies are flushed first if no
    /// complete line is already buffered, or if more than <see cref="PendingRepliesLimit"/> octets of them wait. The whole line must arrive within <paramref name="timeout"/>; when it
    /// does not, <see cref="MailConnection.TimedOut"/> says <paramref name="reason"/> (<see cref="TimeoutReason.Command"/> if null).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<LineReadOutcome> ReadLineAsync(int maxLength, TimeSpan timeout, bool allowShutdown = true, TimeoutReason? reason = null)
    {
        ThrowIfReadPending();
        var armed = false;
        _line = _shortLine;
        _lineLength = 0;
        try
        {
            while (true)
            {
                ReadResult result;
                if (_output.CanGetUnflushedBytes && _output.UnflushedBytes >= PendingRepliesLimit)
                {
                    // A client that pipelines commands without reading the replies: they are sent before another
                    // command is read, so when the client's window is full the flush waits, reading stops, and TCP
                    // stops the client in turn; memory stays bounded (and the write deadline ends a client that
                    // never reads).
                    await FlushAsync().ConfigureAwait(false);
                }
                if (_mustWaitForInput || !_input.TryRead(out result))
                {
                    await FlushAsync().ConfigureAwait(false);
                    if (allowShutdown && _connection.IsShutdownRequested)
                    {
                        return LineReadOutcome.ShutdownRequested;
                    }
                    if (!armed)
                    {
                        _connection.SetTimeout(timeout, reason ?? TimeoutReason.Command);
                        armed = true;
                    }
                    result = await _input.ReadAsync(_connection.Aborted).ConfigureAwait(false);
                    _mustWaitForInput = false;
                }
                if (result.IsCanceled)
                {
                    if (_connection.TimedOut != TimeoutReason.None)
                    {
                        return LineReadOutcome.TimedOut;
                    }
                    if (allowShutdown && _connection.IsShutdownRequested)
                    {
                        return LineReadOutcome.ShutdownRequested;
                    }
                    continue;
                }

                var buffer = result.Buffer;
                var reader = new SequenceReader<byte>(buffer);
                switch (_lineReader.TryReadLine(ref reader, maxLength, out var line))
                {
                    case LineReadStatus.Line:
                        if (line.Length > _line.Length)
                        {
                            _line = new byte[line.Length];
                        }
                        line.CopyTo(_line);
                        _lineLength = (int)line.Length;
                        _input.AdvanceTo(reader.Position);
                        return LineReadOutcome.Line;
                    case LineReadStatus.TooLong:
                        _input.AdvanceTo(reader.Position);
                        return LineReadOutcome.TooLong;
                    default:
                        _input.AdvanceTo(reader.Position, buffer.End);
                        if (result.IsCompleted)
                        {
                            return LineReadOutcome.Closed;
                        }
                        _mustWaitForInput = true;
                        continue;
                }
            }
        }
        finally
        {
            _connection.ClearTimeout();
        }
    }

    /// <summary>
    /// Switches to TLS after the protocol's "go ahead" reply was written: flushes it, drops any plaintext the
    /// client pipelined after the command (returning how many octets), then runs the handshake. Returns null if
    /// the handshake failed (end the session without a reply).
    /// </summary>
    public async ValueTask<long?> StartTlsAsync()
    {
        await FlushAsync().ConfigureAwait(false);
        long discarded = 0;
        if (_input.TryRead(out var pending))
        {
            discarded = pending.Buffer.Length;
            _input.AdvanceTo(pending.Buffer.End);
        }
        if (!await _connection.StartTlsAsync(_connection.Aborted).ConfigureAwait(false))
        {
            return null;
        }
        _input = _connection.Transport.Input;
        _output = _connection.Transport.Output;
        _lineReader = default;
        _mustWaitForInput = false;
        return discarded;
    }

    /// <summary>
    /// The STARTTLS/STLS switch every protocol makes after its "go ahead" reply: <see cref="StartTlsAsync()"/>, and
    /// plaintext the client pipelined after the command (never executed: RFC 3207 §4.2, RFC 2595 §3.1, the
    /// CVE-2011-0411 class) is counted in <c>mail.tls.pipelined_discarded</c> under <paramref name="protocol"/> and
    /// logged. Returns false if the handshake failed (end the session without a reply).
    /// </summary>
    internal async ValueTask<bool> StartTlsAsync(CoreMetrics metrics, string protocol, ILogger logger)
    {
        var discarded = await StartTlsAsync().ConfigureAwait(false);
        if (discarded is not { } octets)
        {
            return false;
        }
        if (octets > 0)
        {
            metrics.PipelinedPlaintextDiscarded(protocol, octets);
            CoreLog.PipelinedPlaintextDiscarded(logger, _connection.Id, octets);
        }
        return true;
    }
}
