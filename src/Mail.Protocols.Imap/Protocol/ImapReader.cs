using System.Text;
using System.Text.Unicode;

namespace Mail.Protocols.Imap.Protocol;

/// <summary>
/// Reads the tokens of one complete IMAP command as it came on the wire: the bytes after the tag up to, not including,
/// the final CRLF, with every literal inline (<c>{n}</c>, <c>{n+}</c> or <c>~{n}</c>, CRLF, then the n octets, then
/// the rest of the command). One method per production of the formal syntax of RFC 9051 §9 (and RFC 3501 §9 where
/// IMAP4rev1 differs), all synchronous and without I/O. Every read is bounded by the buffer; nesting (parentheses,
/// and the recursion of a caller's own grammar through <see cref="EnterNesting"/>) is bounded by
/// <see cref="MaxNestingDepth"/>. Any input the grammar refuses throws <see cref="ImapParseException"/>, whose message
/// is the text of the BAD reply; nothing else is thrown.
/// </summary>
/// <remarks>
/// Strings are returned as octets (<see cref="ReadStringOctets"/>: a slice of the command, or a fresh copy when a
/// quoted string had escapes) or as .NET strings decoded from strict UTF-8 (<see cref="ReadString"/>). Mailbox names
/// are decoded from modified UTF-7 unless <see cref="Utf8Accept"/> is set (RFC 6855). The flag, date and mailbox
/// productions are in ImapReader.Values.cs.
/// </remarks>
internal ref partial struct ImapReader
{
    /// <summary>The default bound on <see cref="MaxNestingDepth"/>: deep enough for any real client (a SEARCH with a
    /// hundred OR terms), shallow enough that the recursion of a grammar stays far from the end of the stack.</summary>
    public const int DefaultMaxNestingDepth = 256;

    private const byte AtomChar = 1, AStringChar = 2, TagChar = 4, ListChar = 8;

    // Character classes of RFC 9051 §9 for the octets below 0x80 (an 8-bit octet is in none of them):
    // ATOM-CHAR is any CHAR except atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]"; ASTRING-CHAR adds "]";
    // a tag is ASTRING-CHARs but "+"; list-char is ATOM-CHAR plus "%" "*" "]".
    private static readonly byte[] s_classes = BuildClasses();

    private readonly ReadOnlySpan<byte> _command;
    private int _position;
    private int _depth;

    /// <summary>Starts reading <paramref name="command"/> at its first octet.</summary>
    public ImapReader(ReadOnlySpan<byte> command)
    {
        _command = command;
        MaxNestingDepth = DefaultMaxNestingDepth;
        MaxSequenceRanges = SequenceSet.DefaultMaxRanges;
    }

    /// <summary>How deep parentheses (and <see cref="EnterNesting"/>) may nest; deeper is a BAD.</summary>
    public int MaxNestingDepth { get; init; }

    /// <summary>How many comma-separated items a sequence set may have; more is a BAD.</summary>
    public int MaxSequenceRanges { get; init; }

    /// <summary>The session has enabled UTF8=ACCEPT (RFC 6855): mailbox names are UTF-8, not modified UTF-7.</summary>
    public bool Utf8Accept { get; init; }

    /// <summary>The offset of the next octet to read.</summary>
    public readonly int Position => _position;

    /// <summary>The current nesting depth.</summary>
    public readonly int Depth => _depth;

    /// <summary>Whether the whole command has been read.</summary>
    public readonly bool IsAtEnd => _position >= _command.Length;

    /// <summary>The octets not read yet.</summary>
    public readonly ReadOnlySpan<byte> Remaining => _command[_position..];

    /// <summary>The next octet without reading it, or -1 at the end.</summary>
    public readonly int Peek() => _position < _command.Length ? _command[_position] : -1;

    /// <summary>Reads <paramref name="octet"/> if it is next.</summary>
    public bool TryRead(byte octet)
    {
        if (_position < _command.Length && _command[_position] == octet)
        {
            _position++;
            return true;
        }
        return false;
    }

    /// <summary>Reads <paramref name="octet"/>, or throws with <paramref name="message"/>.</summary>
    public void Read(byte octet, string message)
    {
        if (!TryRead(octet))
        {
            ImapParseException.Throw(message);
        }
    }

    /// <summary>Reads <paramref name="text"/> (compared ASCII case-insensitively) if it is next, whatever follows it.</summary>
    public bool TryReadText(ReadOnlySpan<byte> text)
    {
        if (_command.Length - _position >= text.Length && Ascii.EqualsIgnoreCase(_command.Slice(_position, text.Length), text))
        {
            _position += text.Length;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Reads the keyword <paramref name="keyword"/> (compared ASCII case-insensitively, as every string of the ABNF is)
    /// if it is next as a whole atom: the octet after it is not an ATOM-CHAR.
    /// </summary>
    public bool TryReadKeyword(ReadOnlySpan<byte> keyword)
    {
        var end = _position + keyword.Length;
        if (end <= _command.Length && Ascii.EqualsIgnoreCase(_command.Slice(_position, keyword.Length), keyword)
            && (end == _command.Length || !IsAtomChar(_command[end])))
        {
            _position = end;
            return true;
        }
        return false;
    }

    /// <summary>Reads one SP, or throws "Missing space".</summary>
    public void ReadSpace() => Read((byte)' ', "Missing space");

    /// <summary>Reads one SP, or throws with <paramref name="message"/>.</summary>
    public void ReadSpace(string message) => Read((byte)' ', message);

    /// <summary>Reads one SP if it is next.</summary>
    public bool TryReadSpace() => TryRead((byte)' ');

    /// <summary>Throws unless the whole command has been read (a trailing space is an error too).</summary>
    public readonly void ReadEnd()
    {
        if (!IsAtEnd)
        {
            ImapParseException.Throw(_position == _command.Length - 1 && _command[_position] == (byte)' ' ? "Unexpected space at the end of the command" : "Unexpected text after the command's arguments");
        }
    }

    /// <summary><c>tag = 1*&lt;any ASTRING-CHAR except "+"&gt;</c>.</summary>
    public ReadOnlySpan<byte> ReadTag()
    {
        var tag = ReadRun(TagChar);
        if (tag.IsEmpty)
        {
            ImapParseException.Throw(IsAtEnd || _command[_position] == (byte)' ' ? "Missing tag" : "Invalid tag");
        }
        return tag;
    }

    /// <summary>The command name, an atom (compare it case-insensitively, e.g. with <see cref="Ascii.EqualsIgnoreCase(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>).</summary>
    public ReadOnlySpan<byte> ReadCommandName()
    {
        var name = ReadRun(AtomChar);
        if (name.IsEmpty)
        {
            ImapParseException.Throw("Missing command");
        }
        return name;
    }

    /// <summary><c>atom = 1*ATOM-CHAR</c>.</summary>
    public ReadOnlySpan<byte> ReadAtom(string message = "Expected an atom")
    {
        var atom = ReadRun(AtomChar);
        if (atom.IsEmpty)
        {
            ImapParseException.Throw(message);
        }
        return atom;
    }

    /// <summary>An atom as a string (ASCII by construction).</summary>
    public string ReadAtomString(string message = "Expected an atom") => Encoding.ASCII.GetString(ReadAtom(message));

    /// <summary><c>number = 1*DIGIT</c>, an unsigned 32-bit integer.</summary>
    public uint ReadNumber() => (uint)ReadDigits(uint.MaxValue, nonZero: false);

    /// <summary><c>nz-number = digit-nz *DIGIT</c>, 1 to 4,294,967,295.</summary>
    public uint ReadNzNumber() => (uint)ReadDigits(uint.MaxValue, nonZero: true);

    /// <summary><c>number64 = 1*DIGIT</c>, 0 to 2^63-1.</summary>
    public long ReadNumber64() => (long)ReadDigits(long.MaxValue, nonZero: false);

    /// <summary><c>nz-number64 = digit-nz *DIGIT</c>, 1 to 2^63-1.</summary>
    public long ReadNzNumber64() => (long)ReadDigits(long.MaxValue, nonZero: true);

    /// <summary>Reads <c>NIL</c> if it is next.</summary>
    public bool TryReadNil() => TryReadKeyword("NIL"u8);

    /// <summary>
    /// <c>quoted = DQUOTE *QUOTED-CHAR DQUOTE</c>: the octets between the quotes with the escapes <c>\"</c> and
    /// <c>\\</c> undone. Any other escape, CR, LF and NUL are refused; octets above 0x7F must be well-formed UTF-8
    /// (RFC 9051's <c>QUOTED-CHAR</c> admits UTF8-2/3/4, RFC 3501's does not: accepting them is the lenient choice
    /// and is what clients that send UTF-8 search strings rely on).
    /// </summary>
    public ReadOnlySpan<byte> ReadQuotedOctets()
    {
        Read((byte)'"', "Expected a quoted string");
        var start = _position;
        var escapes = 0;
        var eightBit = false;
        while (true)
        {
            if (_position >= _command.Length)
            {
                ImapParseException.Throw("Unterminated quoted string");
            }
            var octet = _command[_position];
            if (octet == (byte)'"')
            {
                break;
            }
            if (octet == (byte)'\\')
            {
                if (_position + 1 >= _command.Length || _command[_position + 1] is not ((byte)'"' or (byte)'\\'))
                {
                    ImapParseException.Throw("Invalid escape in a quoted string");
                }
                escapes++;
                _position += 2;
                continue;
            }
            if (octet is 0 or (byte)'\r' or (byte)'\n')
            {
                ImapParseException.Throw("Invalid character in a quoted string");
            }
            eightBit |= octet >= 0x80;
            _position++;
        }
        var content = _command[start.._position];
        _position++;
        if (eightBit && !Utf8.IsValid(content))
        {
            ImapParseException.Throw("Invalid UTF-8 in a quoted string");
        }
        if (escapes == 0)
        {
            return content;
        }
        var unescaped = new byte[content.Length - escapes];
        var written = 0;
        for (var i = 0; i < content.Length; i++)
        {
            if (content[i] == (byte)'\\')
            {
                i++;
            }
            unescaped[written++] = content[i];
        }
        return unescaped;
    }

    /// <summary>
    /// A literal header: <c>"{" number64 ["+"] "}"</c>, or with <paramref name="allowBinary"/> also literal8
    /// <c>"~{" number64 ["+"] "}"</c> (RFC 3516, with RFC 7888's "+"). Stops after the "}".
    /// </summary>
    public LiteralHeader ReadLiteralHeader(bool allowBinary = false)
    {
        var binary = TryRead((byte)'~');
        if (binary && !allowBinary)
        {
            ImapParseException.Throw("A literal8 is not allowed here");
        }
        Read((byte)'{', "Expected a literal");
        if (_position >= _command.Length || !char.IsAsciiDigit((char)_command[_position]))
        {
            ImapParseException.Throw("Invalid literal length");
        }
        var length = (long)ReadDigits(long.MaxValue, nonZero: false, "Invalid literal length");
        var synchronizing = !TryRead((byte)'+');
        Read((byte)'}', "Invalid literal length");
        return new LiteralHeader(length, synchronizing, binary);
    }

    /// <summary>
    /// <c>literal = "{" number64 ["+"] "}" CRLF *CHAR8</c>: the octets of an inline literal. They may be anything but
    /// NUL (CHAR8 is %x01-FF); with <paramref name="allowBinary"/> a literal8 (any octet) is accepted too.
    /// </summary>
    public ReadOnlySpan<byte> ReadLiteralOctets(bool allowBinary = false) => ReadLiteralOctets(allowBinary, out _);

    /// <summary>As <see cref="ReadLiteralOctets(bool)"/>, and gives the header that was read.</summary>
    public ReadOnlySpan<byte> ReadLiteralOctets(bool allowBinary, out LiteralHeader header)
    {
        header = ReadLiteralHeader(allowBinary);
        if (!TryReadText("\r\n"u8))
        {
            ImapParseException.Throw("Missing CRLF after a literal's length");
        }
        if (header.Length > _command.Length - _position)
        {
            ImapParseException.Throw("Literal shorter than its announced length");
        }
        var octets = _command.Slice(_position, (int)header.Length);
        if (!header.IsBinary && octets.Contains((byte)0))
        {
            ImapParseException.Throw("NUL octet in a literal");
        }
        _position += octets.Length;
        return octets;
    }

    /// <summary><c>string = quoted / literal</c>, as octets.</summary>
    public ReadOnlySpan<byte> ReadStringOctets()
    {
        var next = Peek();
        if (next == '"')
        {
            return ReadQuotedOctets();
        }
        if (next == '{')
        {
            return ReadLiteralOctets();
        }
        ImapParseException.Throw("Expected a string");
        return default;
    }

    /// <summary><c>astring = 1*ASTRING-CHAR / string</c>, as octets.</summary>
    public ReadOnlySpan<byte> ReadAStringOctets(string message = "Expected a string")
    {
        var next = Peek();
        if (next is '"' or '{')
        {
            return ReadStringOctets();
        }
        var atom = ReadRun(AStringChar);
        if (atom.IsEmpty)
        {
            ImapParseException.Throw(message);
        }
        return atom;
    }

    /// <summary><c>nstring = string / nil</c>, as octets; <paramref name="isNil"/> tells NIL from an empty string.</summary>
    public ReadOnlySpan<byte> ReadNStringOctets(out bool isNil)
    {
        isNil = TryReadNil();
        return isNil ? default : ReadStringOctets();
    }

    /// <summary><c>string</c>, decoded from UTF-8 (a malformed sequence is a BAD).</summary>
    public string ReadString() => DecodeUtf8(ReadStringOctets());

    /// <summary><c>astring</c>, decoded from UTF-8 (a malformed sequence is a BAD).</summary>
    public string ReadAString(string message = "Expected a string") => DecodeUtf8(ReadAStringOctets(message));

    /// <summary><c>nstring</c>, decoded from UTF-8; null for NIL.</summary>
    public string? ReadNString() => TryReadNil() ? null : ReadString();

    /// <summary>Reads "(" and goes one level deeper.</summary>
    public void ReadOpenParen(string message = "Expected \"(\"")
    {
        Read((byte)'(', message);
        EnterNesting();
    }

    /// <summary>Reads "(" and goes one level deeper, if "(" is next.</summary>
    public bool TryReadOpenParen()
    {
        if (Peek() != '(')
        {
            return false;
        }
        ReadOpenParen();
        return true;
    }

    /// <summary>Reads ")" and comes back one level.</summary>
    public void ReadCloseParen(string message = "Expected \")\"")
    {
        Read((byte)')', message);
        LeaveNesting();
    }

    /// <summary>Reads ")" and comes back one level, if ")" is next.</summary>
    public bool TryReadCloseParen()
    {
        if (Peek() != ')')
        {
            return false;
        }
        ReadCloseParen();
        return true;
    }

    /// <summary>Goes one level deeper in a caller's own recursion (e.g. SEARCH's OR and NOT); beyond <see cref="MaxNestingDepth"/> it is a BAD.</summary>
    public void EnterNesting()
    {
        if (++_depth > MaxNestingDepth)
        {
            ImapParseException.Throw("Too deeply nested");
        }
    }

    /// <summary>Comes back one level (the pair of <see cref="EnterNesting"/>).</summary>
    public void LeaveNesting()
    {
        if (_depth == 0)
        {
            ImapParseException.Throw("Unbalanced \")\"");
        }
        _depth--;
    }

    /// <summary>RFC 9051 <c>sequence-set</c> (with RFC 5182's "$"), at most <see cref="MaxSequenceRanges"/> items.</summary>
    public SequenceSet ReadSequenceSet() => SequenceSet.Read(ref this, allowStar: true, allowSaved: true);

    /// <summary>Whether <paramref name="octet"/> is an RFC 9051 <c>ATOM-CHAR</c>.</summary>
    public static bool IsAtomChar(byte octet) => octet < 0x80 && (s_classes[octet] & AtomChar) != 0;

    /// <summary>Whether <paramref name="octet"/> may be in an RFC 9051 <c>tag</c> (an <c>ASTRING-CHAR</c> other than "+").</summary>
    public static bool IsTagChar(byte octet) => octet < 0x80 && (s_classes[octet] & TagChar) != 0;

    /// <summary>Whether <paramref name="octet"/> is an RFC 9051 <c>ASTRING-CHAR</c>.</summary>
    public static bool IsAStringChar(byte octet) => octet < 0x80 && (s_classes[octet] & AStringChar) != 0;

    /// <summary>Whether <paramref name="octet"/> is an RFC 9051 <c>list-char</c>.</summary>
    public static bool IsListChar(byte octet) => octet < 0x80 && (s_classes[octet] & ListChar) != 0;

    /// <summary>Decodes strict UTF-8; a malformed sequence is a BAD.</summary>
    public static string DecodeUtf8(ReadOnlySpan<byte> octets, string message = "Invalid UTF-8 in a string")
    {
        if (!Utf8.IsValid(octets))
        {
            ImapParseException.Throw(message);
        }
        return Encoding.UTF8.GetString(octets);
    }

    private ReadOnlySpan<byte> ReadRun(byte characterClass)
    {
        var start = _position;
        while (_position < _command.Length && _command[_position] < 0x80 && (s_classes[_command[_position]] & characterClass) != 0)
        {
            _position++;
        }
        return _command[start.._position];
    }

    private ulong ReadDigits(ulong max, bool nonZero, string? message = null)
    {
        if (_position >= _command.Length || !char.IsAsciiDigit((char)_command[_position]))
        {
            ImapParseException.Throw(message ?? (nonZero ? "Expected a non-zero number" : "Expected a number"));
        }
        if (nonZero && _command[_position] == (byte)'0')
        {
            ImapParseException.Throw(message ?? "Expected a non-zero number");
        }
        ulong value = 0;
        while (_position < _command.Length && char.IsAsciiDigit((char)_command[_position]))
        {
            var digit = (ulong)(_command[_position] - '0');
            if (value > (max - digit) / 10)
            {
                ImapParseException.Throw(message ?? "Number out of range");
            }
            value = (value * 10) + digit;
            _position++;
        }
        return value;
    }

    private static byte[] BuildClasses()
    {
        var classes = new byte[128];
        for (var c = 0x21; c < 0x7f; c++)
        {
            var atom = c is not ('(' or ')' or '{' or '%' or '*' or '"' or '\\' or ']');
            byte value = 0;
            if (atom)
            {
                value |= AtomChar | AStringChar | ListChar;
                if (c != '+')
                {
                    value |= TagChar;
                }
            }
            if (c == ']')
            {
                value |= AStringChar | TagChar | ListChar;
            }
            if (c is '%' or '*')
            {
                value |= ListChar;
            }
            classes[c] = value;
        }
        return classes;
    }
}
