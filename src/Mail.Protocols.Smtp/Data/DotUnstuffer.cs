namespace Mail.Protocols.Smtp.Data;

/// <summary>
/// The DATA reader's state machine (RFC 5321 §4.5.2): removes the leading dot of stuffed lines, finds the
/// terminating CRLF.CRLF and notices bare CR or LF. Synchronous and allocation-free, so it can be fed any
/// split of the input and benchmarked or fuzzed on its own. Only CRLF "." CRLF ends the data: LF.LF and
/// CR.CR do not.
/// </summary>
internal struct DotUnstuffer
{
    private enum State : byte
    {
        LineStart,
        Text,
        Cr,
        Dot,
        DotCr,
    }

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private State _state;
    private readonly bool _normalize;

    public DotUnstuffer(bool normalizeBareLineEndings)
    {
        _state = State.LineStart;
        _normalize = normalizeBareLineEndings;
        SawBareLineEnding = false;
    }

    /// <summary>Whether a bare CR or LF was seen.</summary>
    public bool SawBareLineEnding { get; private set; }

    /// <summary>
    /// Processes <paramref name="input"/>, appending message octets to <paramref name="output"/>.
    /// Returns true when the terminator was consumed; <paramref name="consumed"/> says how much input was used.
    /// </summary>
    public bool Process(ReadOnlySpan<byte> input, MessageSpool output, out int consumed)
    {
        var i = 0;
        while (i < input.Length)
        {
            switch (_state)
            {
                case State.LineStart:
                    if (input[i] == (byte)'.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                    {
                        _state = State.Text;
                    }
                    break;

                case State.Dot:
                    if (input[i] == (byte)'\r')
                    {
                        _state = State.DotCr;
                        i++;
                    }
                    else
                    {
                        _state = State.Text; // a stuffed dot: it stays removed
                    }
                    break;

                case State.DotCr:
                    if (input[i] == (byte)'\n')
                    {
                        consumed = i + 1;
                        _state = State.LineStart;
                        return true;
                    }
                    // ".\r" then something else: the CR was bare.
                    BareLineEnding(output, (byte)'\r');
                    _state = State.Text;
                    break;

                case State.Cr:
                    if (input[i] == (byte)'\n')
                    {
                        output.Append(Crlf);
                        _state = State.LineStart;
                        i++;
                    }
                    else
                    {
                        BareLineEnding(output, (byte)'\r');
                        _state = State.Text;
                    }
                    break;

                default: // Text
                    i = CopyText(input, i, output);
                    break;
            }
        }
        consumed = input.Length;
        return false;
    }

    // Copies ordinary lines in one piece: runs of "text CRLF" whose next line does not start with a dot
    // need no state changes, so the scan only stops at a dot after CRLF, a bare CR or LF, or the end of
    // the input. Returns the new input index and leaves the state for the octet it stopped at.
    private int CopyText(ReadOnlySpan<byte> input, int start, MessageSpool output)
    {
        var rest = input[start..];
        var pos = 0;
        while (true)
        {
            var stop = rest[pos..].IndexOfAny((byte)'\r', (byte)'\n');
            if (stop < 0)
            {
                output.Append(rest);
                return input.Length;
            }
            stop += pos;
            if (rest[stop] == (byte)'\r' && stop + 2 < rest.Length && rest[stop + 1] == (byte)'\n' && rest[stop + 2] != (byte)'.')
            {
                pos = stop + 2;
                continue;
            }
            output.Append(rest[..stop]);
            if (rest[stop] == (byte)'\r')
            {
                _state = State.Cr;
            }
            else
            {
                BareLineEnding(output, (byte)'\n');
                // Not a line start: only CRLF "." CRLF may end the data, so "\n.\r\n" cannot (SMTP smuggling).
                _state = State.Text;
            }
            return start + stop + 1;
        }
    }

    private void BareLineEnding(MessageSpool output, byte octet)
    {
        SawBareLineEnding = true;
        if (_normalize)
        {
            output.Append(Crlf);
        }
        else
        {
            output.Append([octet]);
        }
    }
}
