using System.Buffers;

namespace Mail.Protocols.Pop3.Protocol;

/// <summary>
/// Writes message content in the dot-stuffed form SMTP DATA (RFC 5321 §4.5.2) and POP3 multi-line responses
/// (RFC 1939 §3) use: a line that starts with "." gets another "." in front. With a line count it stops after
/// the headers, the blank line and that many body lines (POP3 TOP). Fed chunk by chunk from a stream, so no
/// message is ever buffered whole.
/// </summary>
internal struct DotStuffer
{
    private bool _midLine;
    private bool _lineHasContent;
    private bool _inHeaders;
    private long _bodyLinesLeft;

    /// <summary>Starts a stuffer: <paramref name="bodyLines"/> null copies the whole message, a number stops after that many body lines (TOP).</summary>
    public DotStuffer(long? bodyLines)
    {
        _midLine = false;
        _lineHasContent = false;
        _inHeaders = bodyLines is not null;
        _bodyLinesLeft = bodyLines ?? -1;
    }

    /// <summary>Writes <paramref name="data"/> to <paramref name="output"/>; returns false once a TOP-style line limit is reached.</summary>
    public bool Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (_bodyLinesLeft < 0)
        {
            WriteAll(data, output);
            return true;
        }
        return WriteLines(data, output);
    }

    // RETR: copy runs up to each "\n." in one piece and insert the extra dot there.
    private void WriteAll(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (!_midLine && data[0] == (byte)'.')
        {
            output.Write("."u8);
        }
        while (true)
        {
            var at = data.IndexOf("\n."u8);
            if (at < 0)
            {
                output.Write(data);
                _midLine = data[^1] != (byte)'\n';
                return;
            }
            output.Write(data[..(at + 1)]);
            output.Write("."u8);
            data = data[(at + 1)..];
        }
    }

    // TOP: line by line, to find the end of the headers and count body lines.
    private bool WriteLines(ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        while (!data.IsEmpty)
        {
            if (!_midLine)
            {
                if (!_inHeaders && _bodyLinesLeft == 0)
                {
                    return false;
                }
                if (data[0] == (byte)'.')
                {
                    output.Write("."u8);
                }
            }
            var lf = data.IndexOf((byte)'\n');
            var piece = lf < 0 ? data : data[..(lf + 1)];
            output.Write(piece);
            var content = lf < 0 ? piece : piece[..^1];
            if (content.Length > 1 || (content.Length == 1 && content[0] != (byte)'\r'))
            {
                _lineHasContent = true;
            }
            if (lf < 0)
            {
                _midLine = true;
                return true;
            }
            if (_inHeaders)
            {
                _inHeaders = _lineHasContent; // the first empty line ends the headers
            }
            else
            {
                _bodyLinesLeft--;
            }
            _midLine = false;
            _lineHasContent = false;
            data = data[(lf + 1)..];
        }
        return _inHeaders || _bodyLinesLeft != 0;
    }

    /// <summary>Ends the response: completes a last line without CRLF, then writes the terminating ".".</summary>
    public readonly void Finish(IBufferWriter<byte> output)
    {
        if (_midLine)
        {
            output.Write("\r\n"u8);
        }
        output.Write(".\r\n"u8);
    }
}
