namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// Finds bare CR or LF in BDAT chunks of a 7BIT/8BITMIME message (RFC 5321 §2.3.8), carrying a trailing
/// CR from one chunk to the next. BINARYMIME content is not scanned: any octet is allowed there.
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

    /// <summary>Ends the message; returns whether a bare CR or LF was seen (a CR at the very end counts).</summary>
    public bool Finish() => SawBareLineEnding || _pendingCr;
}
