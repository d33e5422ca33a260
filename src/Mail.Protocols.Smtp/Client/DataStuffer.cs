using System.Buffers;

namespace Mail.Protocols.Smtp.Client;

/// <summary>
/// Writes message content as DATA puts it on the wire (RFC 5321 §4.5.2): every line ending CRLF, a bare CR or LF
/// written as CRLF (§2.3.8: a client must not send them), and a dot doubled at the start of every line. So no
/// look-alike of the end of data ("\n.\n", "\r.\r", "\r.\r\n"...) can reach the next hop, even one that reads bare
/// line endings as line ends (SMTP smuggling). Fed chunk by chunk; a CR at the end of a chunk waits for the next one.
/// </summary>
internal struct DataStuffer
{
    private bool _midLine;
    private bool _pendingCr;

    public void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (_pendingCr)
        {
            _pendingCr = false;
            output.Write("\r\n"u8);
            _midLine = false;
            if (data[0] == (byte)'\n')
            {
                data = data[1..];
            }
        }
        while (!data.IsEmpty)
        {
            if (!_midLine && data[0] == (byte)'.')
            {
                output.Write("."u8);
            }
            var end = data.IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0)
            {
                output.Write(data);
                _midLine = true;
                return;
            }
            output.Write(data[..end]);
            if (data[end] == (byte)'\r' && end + 1 == data.Length)
            {
                _pendingCr = true; // CRLF or a bare CR: the next chunk says
                _midLine = true;
                return;
            }
            output.Write("\r\n"u8);
            _midLine = false;
            data = data[(end + (data[end] == (byte)'\r' && data[end + 1] == (byte)'\n' ? 2 : 1))..];
        }
    }

    /// <summary>Ends the data: completes a last line without its line ending, then writes the terminating ".".</summary>
    public readonly void Finish(IBufferWriter<byte> output)
    {
        if (_midLine || _pendingCr)
        {
            output.Write("\r\n"u8);
        }
        output.Write(".\r\n"u8);
    }
}
