using System.Buffers;

namespace Mail.Protocols.Text;

/// <summary>The outcome of <see cref="LineReader.TryReadLine"/>.</summary>
public enum LineReadStatus
{
    /// <summary>A complete line was read (without its line ending).</summary>
    Line,
    /// <summary>No complete line is buffered; read more and call again.</summary>
    NeedMoreData,
    /// <summary>A line longer than the limit ended; it was consumed and dropped. Reply with the protocol's error.</summary>
    TooLong,
}

/// <summary>
/// Reads CRLF-terminated lines (a bare LF is accepted as the terminator, the CR before it is dropped) with
/// a maximum length. Once a line exceeds the limit the reader discards input up to the next LF, so memory
/// stays bounded however long the line grows, and then reports <see cref="LineReadStatus.TooLong"/> once.
/// </summary>
public struct LineReader
{
    private bool _discarding;

    /// <summary>Whether an over-long line is being discarded.</summary>
    public readonly bool IsDiscarding => _discarding;

    /// <summary>
    /// Tries to read one line of at most <paramref name="maxLength"/> octets (excluding the line ending).
    /// On <see cref="LineReadStatus.NeedMoreData"/> nothing is consumed unless an over-long line is being dropped.
    /// </summary>
    public LineReadStatus TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        line = default;
        if (!_discarding)
        {
            var status = TryReadBoundedLine(ref reader, maxLength, out line);
            if (status != LineReadStatus.NeedMoreData || !_discarding)
            {
                return status;
            }
        }
        return DiscardToLineEnd(ref reader);
    }

    private LineReadStatus DiscardToLineEnd(ref SequenceReader<byte> reader)
    {
        if (reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
        {
            _discarding = false;
            return LineReadStatus.TooLong;
        }
        reader.AdvanceToEnd();
        return LineReadStatus.NeedMoreData;
    }

    private LineReadStatus TryReadBoundedLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line)
    {
        line = default;
        var window = reader.UnreadSequence;
        // Only look as far as a legal line can reach: a hostile client cannot make us scan more.
        var limit = (long)maxLength + 2;
        var searched = window.Length > limit ? window.Slice(0, limit) : window;
        var lf = searched.PositionOf((byte)'\n');
        if (lf is null)
        {
            if (window.Length >= limit)
            {
                _discarding = true;
                reader.Advance(limit);
            }
            return LineReadStatus.NeedMoreData;
        }

        var raw = window.Slice(0, lf.Value);
        reader.Advance(raw.Length + 1);
        if (raw.Length > 0 && EndsWithCr(raw))
        {
            raw = raw.Slice(0, raw.Length - 1);
        }
        if (raw.Length > maxLength)
        {
            return LineReadStatus.TooLong;
        }
        line = raw;
        return LineReadStatus.Line;
    }

    private static bool EndsWithCr(in ReadOnlySequence<byte> raw)
    {
        if (raw.IsSingleSegment)
        {
            return raw.FirstSpan[^1] == (byte)'\r';
        }
        var last = raw.Slice(raw.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
