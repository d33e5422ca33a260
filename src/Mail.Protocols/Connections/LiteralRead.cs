using System.Buffers;
using System.IO.Pipelines;

namespace Mail.Protocols.Connections;

/// <summary>
/// One length-delimited read in progress (an IMAP literal <c>{n}</c>/<c>{n+}</c>, an SMTP BDAT chunk): hands out
/// the next announced octets straight from the connection's pipe, never more than <see cref="Remaining"/>, under
/// a deadline and minimum data rate of its own (<see cref="LiteralReadOptions"/>). Nothing is buffered beyond
/// the pipe's own window, so a consumer slower than the client slows the client down (TCP flow control).
/// </summary>
/// <remarks>
/// Call <see cref="ReadAsync"/>, use some of the returned octets, then <see cref="Advance"/> by what was used,
/// until <see cref="Remaining"/> is zero; or <see cref="SkipRestAsync"/> to drop the rest, or
/// <see cref="AsStream"/> to hand it to a store's <c>AppendAsync</c>. While it is in progress it is the
/// connection's only reader: read no line until it is finished. A graceful shutdown request does not interrupt it.
/// </remarks>
public sealed class LiteralRead
{
    private readonly MailConnection _connection;
    private readonly PipeReader _input;
    private readonly DataRateDeadline _deadline;
    private ReadOnlySequence<byte> _piece;
    private bool _holding;

    internal LiteralRead(MailConnection connection, PipeReader input, long length, LiteralReadOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection;
        _input = input;
        Length = length;
        Remaining = length;
        _deadline = new DataRateDeadline(connection, options, TimeoutReason.Literal);
    }

    /// <summary>The announced length.</summary>
    public long Length { get; }

    /// <summary>How many octets have not been consumed yet.</summary>
    public long Remaining { get; private set; }

    /// <summary>
    /// Waits until at least one more octet of the literal is buffered and returns what is buffered of it (at most
    /// <see cref="Remaining"/> octets; empty once the literal is complete). The octets stay valid until
    /// <see cref="Advance"/>, which must be called before the next read.
    /// </summary>
    /// <exception cref="LiteralReadException">The connection closed, or the deadline or minimum rate was missed.</exception>
    public async ValueTask<ReadOnlySequence<byte>> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_holding)
        {
            throw new InvalidOperationException("Advance past the octets of the previous read first.");
        }
        if (Remaining == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        while (true)
        {
            if (!_input.TryRead(out var result))
            {
                _deadline.Arm(Length - Remaining);
                try
                {
                    result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _connection.ClearTimeout();
                }
            }
            if (result.IsCanceled)
            {
                if (_connection.TimedOut != TimeoutReason.None)
                {
                    throw new LiteralReadException(LiteralReadFailure.TimedOut, Remaining);
                }
                if (_connection.Aborted.IsCancellationRequested)
                {
                    throw new LiteralReadException(LiteralReadFailure.Closed, Remaining);
                }
                // A shutdown request: the literal is finished first (graceful), like a command in progress.
                continue;
            }
            var buffer = result.Buffer;
            if (buffer.IsEmpty)
            {
                _input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    throw new LiteralReadException(LiteralReadFailure.Closed, Remaining);
                }
                continue;
            }
            _piece = buffer.Length > Remaining ? buffer.Slice(0, Remaining) : buffer;
            _holding = true;
            return _piece;
        }
    }

    /// <summary>Consumes <paramref name="consumed"/> octets (at least one) of what the last <see cref="ReadAsync"/> returned.</summary>
    public void Advance(long consumed)
    {
        if (!_holding)
        {
            throw new InvalidOperationException("There is no read to advance past.");
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(consumed);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(consumed, _piece.Length);
        _input.AdvanceTo(_piece.GetPosition(consumed));
        Remaining -= consumed;
        _holding = false;
        _piece = default;
    }

    /// <summary>Reads and drops the octets still to come (a refused literal, a consumer that stopped early).</summary>
    /// <exception cref="LiteralReadException">The connection closed, or the deadline or minimum rate was missed.</exception>
    public async ValueTask SkipRestAsync(CancellationToken cancellationToken = default)
    {
        if (_holding)
        {
            Advance(_piece.Length);
        }
        while (Remaining > 0)
        {
            var piece = await ReadAsync(cancellationToken).ConfigureAwait(false);
            Advance(piece.Length);
        }
    }

    /// <summary>
    /// A read-only stream over the octets still to come, for a consumer such as a store's <c>AppendAsync</c>: it
    /// ends after the last announced octet and throws <see cref="LiteralReadException"/> if the connection fails first.
    /// </summary>
    public Stream AsStream() => new LiteralStream(this);
}
