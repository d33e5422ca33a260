using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using MimeKit.Encodings;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>
/// Receives the octets a transform produces and keeps the window a partial fetch asks for: it counts every octet (and
/// notes a NUL, which makes BINARY a literal8), and writes to <see cref="Output"/>, when there is one, only the octets
/// from <see cref="Skip"/> on, at most <see cref="Take"/> of them.
/// </summary>
internal sealed class SectionSink(IBufferWriter<byte>? output, long skip, long take)
{
    /// <summary>Where the window goes; null to count only.</summary>
    public IBufferWriter<byte>? Output { get; } = output;

    /// <summary>Octets to drop before the window.</summary>
    public long Skip { get; } = skip;

    /// <summary>The most octets to write.</summary>
    public long Take { get; } = take;

    /// <summary>Every octet produced.</summary>
    public long Produced { get; private set; }

    /// <summary>Octets written to <see cref="Output"/>.</summary>
    public long Written { get; private set; }

    /// <summary>Whether a NUL octet was produced.</summary>
    public bool SawNul { get; private set; }

    /// <summary>Takes produced octets.</summary>
    public void Write(ReadOnlySpan<byte> octets)
    {
        if (!SawNul && octets.Contains((byte)0))
        {
            SawNul = true;
        }
        var before = Produced;
        Produced += octets.Length;
        if (Output is null)
        {
            return;
        }
        // The part of [before, Produced) inside [Skip, Skip + Take).
        var from = Math.Max(before, Skip);
        var to = Math.Min(Produced, Skip + Take);
        if (to > from)
        {
            Output.Write(octets.Slice((int)(from - before), (int)(to - from)));
            Written += to - from;
        }
    }
}

/// <summary>A streaming transformation of section octets (header filtering, transfer decoding), fed chunk by chunk.</summary>
internal interface ISectionTransform
{
    /// <summary>Starts over, for a second pass over the same octets.</summary>
    void Reset();

    /// <summary>Transforms one chunk of input.</summary>
    void Process(ReadOnlySpan<byte> input, SectionSink sink);

    /// <summary>Ends the input.</summary>
    void Finish(SectionSink sink);
}

/// <summary>
/// HEADER.FIELDS and HEADER.FIELDS.NOT (RFC 9051 §6.4.5): keeps the header lines whose field name is (or is not) in
/// the list, names compared case-insensitively, folded continuation lines with their field, and ends with the blank
/// line that ends a header, unless the message has neither: "the blank line is included in all header fetches,
/// except in the case of a message which has no body and no blank line" (RFC 9051 §6.4.5, as RFC 3501). A kept last
/// line without its line break gets one. It works on a stream of any length holding at most one field name (no longer
/// than the longest name asked, and the whitespace before its colon) at a time.
/// </summary>
internal sealed class HeaderFieldFilter : ISectionTransform
{
    private readonly ImmutableArray<string> _fields;
    private readonly bool _exclude;
    private readonly bool _bodyFollows;
    private readonly byte[] _name;
    private readonly int _longest;
    private int _nameLength;
    private State _state;
    private bool _included;
    private bool _sawBlankLine;

    private enum State
    {
        LineStart,
        Name,
        Line,
        Done,
    }

    /// <summary>Creates the filter for the field names; <paramref name="exclude"/> for HEADER.FIELDS.NOT.</summary>
    /// <param name="fields">The field names asked.</param>
    /// <param name="exclude">True for HEADER.FIELDS.NOT: keep the fields not named.</param>
    /// <param name="bodyFollows">
    /// Whether the message (the top one, or the embedded one of a message/rfc822 part) has a body after this header:
    /// then the subset ends with a blank line even if the header lacks one. Without a body, only a header that has
    /// its blank line gives one.
    /// </param>
    public HeaderFieldFilter(ImmutableArray<string> fields, bool exclude, bool bodyFollows)
    {
        _fields = fields;
        _exclude = exclude;
        _bodyFollows = bodyFollows;
        var longest = 0;
        foreach (var field in fields)
        {
            longest = Math.Max(longest, Encoding.UTF8.GetByteCount(field));
        }
        // A name longer than the longest asked matches none of them; that is all the filter needs to know. The slack
        // holds whitespace between a name and its colon (RFC 5322 §4.5 obsolete syntax).
        _longest = longest;
        _name = new byte[longest + 64];
    }

    /// <inheritdoc />
    public void Reset()
    {
        _state = State.LineStart;
        _nameLength = 0;
        _included = false;
        _sawBlankLine = false;
    }

    /// <inheritdoc />
    public void Process(ReadOnlySpan<byte> input, SectionSink sink)
    {
        var i = 0;
        while (i < input.Length && _state != State.Done)
        {
            switch (_state)
            {
                case State.LineStart:
                    var first = input[i];
                    if (first is (byte)'\r' or (byte)'\n')
                    {
                        _state = State.Done; // the blank line: the header ends here
                        _sawBlankLine = true;
                    }
                    else if (first is (byte)' ' or (byte)'\t')
                    {
                        _state = State.Line; // a continuation line goes with its field
                    }
                    else
                    {
                        _nameLength = 0;
                        _state = State.Name;
                    }
                    break;
                case State.Name:
                    var c = input[i];
                    if (c == (byte)':' || c is (byte)'\r' or (byte)'\n' || _nameLength == _name.Length ||
                        (c is not ((byte)' ' or (byte)'\t') && _nameLength >= _longest))
                    {
                        _included = Matches(c == (byte)':') != _exclude;
                        if (_included)
                        {
                            sink.Write(_name.AsSpan(0, _nameLength));
                        }
                        _state = State.Line;
                        break; // the octet is written by the Line state
                    }
                    _name[_nameLength++] = c;
                    i++;
                    break;
                case State.Line:
                    var lf = input[i..].IndexOf((byte)'\n');
                    var end = lf < 0 ? input.Length : i + lf + 1;
                    if (_included)
                    {
                        sink.Write(input[i..end]);
                    }
                    i = end;
                    if (lf >= 0)
                    {
                        _state = State.LineStart;
                    }
                    break;
            }
        }
    }

    /// <inheritdoc />
    public void Finish(SectionSink sink)
    {
        if (_state == State.Name)
        {
            // A last line without a colon or line break: a name that matched nothing (or everything, for .NOT).
            _included = _exclude;
            if (_included)
            {
                sink.Write(_name.AsSpan(0, _nameLength));
            }
        }
        if (_state is State.Line or State.Name && _included)
        {
            sink.Write("\r\n"u8); // the last kept line lacked its line break
        }
        if (_sawBlankLine || _bodyFollows)
        {
            sink.Write("\r\n"u8);
        }
        _state = State.Done;
    }

    // Whether the collected name is one asked; RFC 5322 §4.5.3 (obsolete syntax) allows whitespace before the colon.
    private bool Matches(bool complete)
    {
        if (!complete)
        {
            return false;
        }
        var name = _name.AsSpan(0, _nameLength).TrimEnd(" \t"u8);
        foreach (var field in _fields)
        {
            if (Ascii.EqualsIgnoreCase(name, field))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// Content-Transfer-Encoding decoding for BINARY (RFC 3516 §4.2), streaming through MimeKit's decoders: base64 and
/// quoted-printable are decoded; 7bit, 8bit and binary are identity.
/// </summary>
internal sealed class TransferDecoder : ISectionTransform, IDisposable
{
    private readonly IMimeDecoder? _decoder;
    private byte[] _input = [];
    private byte[] _output = [];

    private TransferDecoder(IMimeDecoder? decoder) => _decoder = decoder;

    /// <summary>Whether the encoding is one BINARY can decode: none given, 7bit, 8bit, binary, base64 or quoted-printable (case-insensitive).</summary>
    public static bool IsKnown(string? encoding) => TryCreateDecoder(encoding, out _);

    /// <summary>Creates the decoder of <paramref name="encoding"/>; null for an unknown one (NO [UNKNOWN-CTE]).</summary>
    public static TransferDecoder? Create(string? encoding) =>
        TryCreateDecoder(encoding, out var decoder) ? new TransferDecoder(decoder) : null;

    /// <summary>Whether the encoding needs no decoding.</summary>
    public bool IsIdentity => _decoder is null;

    private static bool TryCreateDecoder(string? encoding, out IMimeDecoder? decoder)
    {
        var name = encoding.AsSpan().Trim();
        decoder = null;
        if (name.IsEmpty || name.Equals("7bit", StringComparison.OrdinalIgnoreCase) ||
            name.Equals("8bit", StringComparison.OrdinalIgnoreCase) || name.Equals("binary", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (name.Equals("base64", StringComparison.OrdinalIgnoreCase))
        {
            decoder = new Base64Decoder();
            return true;
        }
        if (name.Equals("quoted-printable", StringComparison.OrdinalIgnoreCase))
        {
            decoder = new QuotedPrintableDecoder();
            return true;
        }
        return false;
    }

    /// <inheritdoc />
    public void Reset() => _decoder?.Reset();

    /// <inheritdoc />
    public void Process(ReadOnlySpan<byte> input, SectionSink sink)
    {
        if (_decoder is null)
        {
            sink.Write(input);
            return;
        }
        if (_input.Length < input.Length)
        {
            Return();
            _input = ArrayPool<byte>.Shared.Rent(input.Length);
            _output = ArrayPool<byte>.Shared.Rent(_decoder.EstimateOutputLength(_input.Length));
        }
        input.CopyTo(_input);
        var count = _decoder.Decode(_input, 0, input.Length, _output);
        sink.Write(_output.AsSpan(0, count));
    }

    /// <inheritdoc />
    public void Finish(SectionSink sink)
    {
        // MimeKit's decoders hold back only an incomplete quantum (a base64 group short of four characters, a '='
        // without its two hex digits); such a tail of a malformed body decodes to nothing.
    }

    /// <inheritdoc />
    public void Dispose() => Return();

    private void Return()
    {
        if (_input.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_input);
            ArrayPool<byte>.Shared.Return(_output);
        }
        _input = [];
        _output = [];
    }
}
