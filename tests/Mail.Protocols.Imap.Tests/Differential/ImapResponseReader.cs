using System.Globalization;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// Reads whole IMAP server responses from a stream, byte for byte as sent: a response is a line ending in CRLF, and
/// when that line ends with a literal announcement (<c>{n}</c>, or <c>~{n}</c> for the literal8 of RFC 3516) the n
/// octets that follow are read by count, not by line, and the response goes on with the next line. The bytes
/// returned are the response's octets on the wire, CRLFs and literal contents included.
/// </summary>
/// <remarks>Bounded: a line longer than <see cref="MaxLineLength"/> (without its literals) or a response longer than
/// <paramref name="maxResponseLength"/> in all is an <see cref="InvalidDataException"/>.</remarks>
internal sealed class ImapResponseReader(Stream stream, int maxResponseLength = 64 * 1024 * 1024)
{
    public const int MaxLineLength = 1024 * 1024;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>The next response; throws <see cref="EndOfStreamException"/> when the stream ends first.</summary>
    public async Task<byte[]> ReadResponseAsync(CancellationToken cancellationToken)
    {
        using var response = new MemoryStream();
        while (true)
        {
            var lineStart = response.Length;
            await ReadLineAsync(response, cancellationToken).ConfigureAwait(false);
            var literal = LiteralLength(response.GetBuffer().AsSpan((int)lineStart, (int)(response.Length - lineStart)));
            if (literal is not { } length)
            {
                return response.ToArray();
            }
            if (response.Length + length > maxResponseLength)
            {
                throw new InvalidDataException($"A response of more than {maxResponseLength} octets (a literal of {length}).");
            }
            await CopyAsync(response, length, cancellationToken).ConfigureAwait(false);
        }
    }

    // The n of a line ending in "{n}" CRLF or "~{n}" CRLF; null for any other line.
    internal static long? LiteralLength(ReadOnlySpan<byte> line)
    {
        if (line.Length < 5 || line[^1] != '\n' || line[^2] != '\r' || line[^3] != '}')
        {
            return null;
        }
        var close = line.Length - 3;
        var open = line[..close].LastIndexOf((byte)'{');
        if (open < 0 || close - open - 1 is < 1 or > 12)
        {
            return null;
        }
        var digits = line[(open + 1)..close];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    private async Task ReadLineAsync(MemoryStream into, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            var available = _buffer.AsSpan(_start, _end - _start);
            var lf = available.IndexOf((byte)'\n');
            var take = lf < 0 ? available.Length : lf + 1;
            length += take;
            if (length > MaxLineLength || into.Length + take > maxResponseLength)
            {
                throw new InvalidDataException($"A response line of more than {MaxLineLength} octets.");
            }
            into.Write(available[..take]);
            _start += take;
            if (lf >= 0)
            {
                return;
            }
        }
    }

    private async Task CopyAsync(MemoryStream into, long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken).ConfigureAwait(false);
            }
            var take = (int)Math.Min(count, _end - _start);
            into.Write(_buffer, _start, take);
            _start += take;
            count -= take;
        }
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        if (_end == 0)
        {
            throw new EndOfStreamException("The server closed the connection in the middle of a response.");
        }
    }
}
