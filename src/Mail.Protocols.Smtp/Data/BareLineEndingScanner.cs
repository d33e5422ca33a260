namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// Finds bare CR or LF in BDAT chunks of a 7BIT/8BITMIME message (RFC 5321 §2.3.8), carrying a trailing
/// CR from one chunk to the next. BINARYMIME content is not scanned: any octet is allowed there. Under the Normalize
/// policy <see cref="CopyNormalized"/> also writes the chunk with each bare CR or LF made CRLF, as DATA does.
/// </summary>
internal struct BareLineEndingScanner
{
    private bool _pendingCr;

    public bool SawBareLineEnding { get; private set; }

    public void Scan(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || SawBareLineEnding)
        {
            return;
        }
        if (_pendingCr)
        {
            _pendingCr = false;
            if (data[0] != (byte)'\n')
            {
                SawBareLineEnding = true;
                return;
            }
            data = data[1..];
        }
        while (true)
        {
            var i = data.IndexOfAny((byte)'\r', (byte)'\n');
            if (i < 0)
            {
                return;
            }
            if (data[i] == (byte)'\n')
            {
                SawBareLineEnding = true; // an LF not preceded by CR
                return;
            }
            if (i + 1 == data.Length)
            {
                _pendingCr = true;
                return;
            }
            if (data[i + 1] != (byte)'\n')
            {
                SawBareLineEnding = true;
                return;
            }
            data = data[(i + 2)..];
        }
    }

    /// <summary>Appends <paramref name="data"/> to <paramref name="output"/> with every bare CR or LF written as CRLF.</summary>
    public void CopyNormalized(ReadOnlySpan<byte> data, MessageSpool output)
    {
        if (data.IsEmpty)
        {
            return;
        }
        if (_pendingCr)
        {
            _pendingCr = false;
            output.Append("\r\n"u8);
            if (data[0] == (byte)'\n')
            {
                data = data[1..];
            }
            else
            {
                SawBareLineEnding = true;
            }
        }
        var copied = 0; // data[..copied] is written
        var at = 0;
        while (true)
        {
            var i = data[at..].IndexOfAny((byte)'\r', (byte)'\n');
            if (i < 0)
            {
                output.Append(data[copied..]);
                return;
            }
            i += at;
            if (data[i] == (byte)'\r')
            {
                if (i + 1 == data.Length)
                {
                    output.Append(data[copied..i]);
                    _pendingCr = true; // the next chunk says whether it was bare
                    return;
                }
                if (data[i + 1] == (byte)'\n')
                {
                    at = i + 2;
                    continue;
                }
            }
            SawBareLineEnding = true;
            output.Append(data[copied..i]);
            output.Append("\r\n"u8);
            copied = at = i + 1;
        }
    }

    /// <summary>Ends a message copied with <see cref="CopyNormalized"/>: a CR held back at the very end is written as CRLF.</summary>
    public void FinishNormalized(MessageSpool output)
    {
        if (_pendingCr)
        {
            _pendingCr = false;
            SawBareLineEnding = true;
            output.Append("\r\n"u8);
        }
    }

    /// <summary>Ends the message; returns whether a bare CR or LF was seen (a CR at the very end counts).</summary>
    public bool Finish() => SawBareLineEnding || _pendingCr;
}
