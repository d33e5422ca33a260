using System.Collections.Immutable;
using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>How a string came on the wire; the normaliser ignores it (RFC 9051 §4.3: both forms are the same string).</summary>
internal enum ImapStringForm
{
    Quoted,
    Literal,
    Literal8,
}

/// <summary>One value of a server response, as the response syntax of RFC 9051 §9 gives it.</summary>
internal abstract record ImapValue;

/// <summary>An atom (NIL, a number, a flag, a fetch item name with its section and partial). Kept as sent.</summary>
internal sealed record ImapAtom(string Text) : ImapValue;

/// <summary>A quoted string, literal or literal8: its octets, unescaped.</summary>
internal sealed record ImapString(ImmutableArray<byte> Octets, ImapStringForm Form) : ImapValue
{
    public override string ToString() => $"{Form}:{Encoding.Latin1.GetString(Octets.AsSpan())}";
}

/// <summary>
/// A parenthesised list. <paramref name="Unspaced"/> holds the indexes i where item i followed item i - 1 without a
/// SP, as the grammar writes lists of lists (RFC 9051 §9: body-type-mpart = 1*body SP media-subtype, and an
/// address list is "(" 1*address ")"); the canonical form keeps that, so a space there is a difference.
/// </summary>
internal sealed record ImapList(ImmutableArray<ImapValue> Items, ImmutableHashSet<int>? Unspaced = null) : ImapValue
{
    public bool SpacedBefore(int index) => index > 0 && Unspaced?.Contains(index) != true;

    public override string ToString() => "(" + string.Join(' ', Items) + ")";
}

/// <summary>An untagged FETCH response: its message number and its items in the order sent.</summary>
internal sealed record FetchResponse(uint Number, ImmutableArray<KeyValuePair<string, ImapValue>> Items);

/// <summary>
/// Parses the untagged responses a test needs (FETCH and SEARCH) from their exact octets. Bounded: lists nest at most
/// <see cref="MaxDepth"/> deep; anything that is not the expected syntax is a <see cref="FormatException"/>.
/// </summary>
internal ref struct ImapResponseParser
{
    public const int MaxDepth = 128;
    private readonly ReadOnlySpan<byte> _bytes;
    private int _at;

    private ImapResponseParser(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes;
        _at = 0;
    }

    /// <summary>Parses <c>* n FETCH (name value ...)</c> CRLF.</summary>
    public static FetchResponse ParseFetch(ReadOnlySpan<byte> response)
    {
        var parser = new ImapResponseParser(response);
        parser.Expect("* "u8);
        var number = parser.ReadNumber();
        parser.Expect(" "u8);
        var keyword = parser.ReadAtom();
        if (!keyword.Equals("FETCH", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"Not a FETCH response: {keyword}.");
        }
        parser.Expect(" "u8);
        var list = parser.ReadValue(0) as ImapList ?? throw new FormatException("FETCH without its parenthesised list.");
        parser.Expect("\r\n"u8);
        parser.ExpectEnd();
        if (list.Items.Length % 2 != 0)
        {
            throw new FormatException("A FETCH list of an odd number of values.");
        }
        var items = ImmutableArray.CreateBuilder<KeyValuePair<string, ImapValue>>(list.Items.Length / 2);
        for (var i = 0; i < list.Items.Length; i += 2)
        {
            var name = list.Items[i] as ImapAtom ?? throw new FormatException($"A FETCH item name that is not an atom: {list.Items[i]}.");
            items.Add(new(name.Text, list.Items[i + 1]));
        }
        return new FetchResponse(number, items.MoveToImmutable());
    }

    /// <summary>Parses <c>* SEARCH n n ...</c> CRLF (RFC 9051's ESEARCH is not used here) into its numbers.</summary>
    public static ImmutableArray<uint> ParseSearch(ReadOnlySpan<byte> response)
    {
        var parser = new ImapResponseParser(response);
        parser.Expect("* "u8);
        var keyword = parser.ReadAtom();
        if (!keyword.Equals("SEARCH", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"Not a SEARCH response: {keyword}.");
        }
        var numbers = ImmutableArray.CreateBuilder<uint>();
        while (parser.Peek() == ' ')
        {
            parser._at++;
            numbers.Add(parser.ReadNumber());
        }
        parser.Expect("\r\n"u8);
        parser.ExpectEnd();
        return numbers.ToImmutable();
    }

    /// <summary>Parses one value followed by nothing (for tests of the normaliser).</summary>
    public static ImapValue ParseValue(ReadOnlySpan<byte> text)
    {
        var parser = new ImapResponseParser(text);
        var value = parser.ReadValue(0);
        parser.ExpectEnd();
        return value;
    }

    private readonly int Peek() => _at < _bytes.Length ? _bytes[_at] : -1;

    private void Expect(ReadOnlySpan<byte> text)
    {
        if (!_bytes[_at..].StartsWith(text))
        {
            throw new FormatException($"Expected '{Encoding.ASCII.GetString(text).Replace("\r\n", "CRLF", StringComparison.Ordinal)}' at octet {_at}.");
        }
        _at += text.Length;
    }

    private readonly void ExpectEnd()
    {
        if (_at != _bytes.Length)
        {
            throw new FormatException($"{_bytes.Length - _at} octets after the end of the response.");
        }
    }

    private uint ReadNumber()
    {
        var start = _at;
        while (Peek() is >= '0' and <= '9')
        {
            _at++;
        }
        if (_at == start || _at - start > 10 || !uint.TryParse(_bytes[start.._at], out var number))
        {
            throw new FormatException($"Expected a number at octet {start}.");
        }
        return number;
    }

    private ImapValue ReadValue(int depth)
    {
        switch (Peek())
        {
            case '(':
                if (depth >= MaxDepth)
                {
                    throw new FormatException($"Lists nested deeper than {MaxDepth}.");
                }
                _at++;
                var items = ImmutableArray.CreateBuilder<ImapValue>();
                var unspaced = ImmutableHashSet.CreateBuilder<int>();
                if (Peek() == ')')
                {
                    _at++;
                    return new ImapList(items.ToImmutable());
                }
                while (true)
                {
                    items.Add(ReadValue(depth + 1));
                    switch (Peek())
                    {
                        case ' ':
                            _at++;
                            continue;
                        case '(' when items[^1] is ImapList:
                            // A list right after a list, as in "((...)(...))".
                            unspaced.Add(items.Count);
                            continue;
                        case ')':
                            _at++;
                            return new ImapList(items.ToImmutable(), unspaced.Count == 0 ? null : unspaced.ToImmutable());
                        default:
                            throw new FormatException($"Expected SP or ')' at octet {_at}.");
                    }
                }
            case '"':
                return ReadQuoted();
            case '{':
                return ReadLiteral(ImapStringForm.Literal);
            case '~' when _at + 1 < _bytes.Length && _bytes[_at + 1] == '{':
                _at++;
                return ReadLiteral(ImapStringForm.Literal8);
            case -1:
                throw new FormatException("The response ends where a value was expected.");
            default:
                return new ImapAtom(ReadAtom());
        }
    }

    private ImapString ReadQuoted()
    {
        _at++;
        var octets = ImmutableArray.CreateBuilder<byte>();
        while (true)
        {
            var c = Peek();
            switch (c)
            {
                case -1 or '\r' or '\n':
                    throw new FormatException("A quoted string that does not end on its line.");
                case '"':
                    _at++;
                    return new ImapString(octets.ToImmutable(), ImapStringForm.Quoted);
                case '\\':
                    _at++;
                    if (Peek() is not ('\\' or '"'))
                    {
                        throw new FormatException($"A quoted string with an escape of something other than \\ or \" at octet {_at}.");
                    }
                    octets.Add(_bytes[_at++]);
                    break;
                default:
                    octets.Add((byte)c);
                    _at++;
                    break;
            }
        }
    }

    private ImapString ReadLiteral(ImapStringForm form)
    {
        _at++;
        var length = ReadNumber();
        Expect("}\r\n"u8);
        if (length > _bytes.Length - _at)
        {
            throw new FormatException($"A literal of {length} octets where {_bytes.Length - _at} remain.");
        }
        var octets = _bytes.Slice(_at, (int)length).ToImmutableArray();
        _at += (int)length;
        return new ImapString(octets, form);
    }

    // An atom as a response sends it; a fetch item name's "[section]" (which holds spaces and parentheses, as in
    // BODY[HEADER.FIELDS (FROM SUBJECT)]) and "<origin>" belong to it.
    private string ReadAtom()
    {
        var start = _at;
        while (true)
        {
            var c = Peek();
            if (c == '[')
            {
                var close = _bytes[_at..].IndexOf((byte)']');
                if (close < 0 || _bytes.Slice(_at, close).IndexOfAny("\r\n"u8) >= 0)
                {
                    throw new FormatException($"A '[' without its ']' at octet {_at}.");
                }
                _at += close + 1;
                continue;
            }
            if (c is -1 or ' ' or '(' or ')' or '"' or '{' or '\r' or '\n' or < 0x20 or > 0x7e)
            {
                break;
            }
            _at++;
        }
        if (_at == start)
        {
            throw new FormatException($"Expected an atom at octet {start}.");
        }
        return Encoding.ASCII.GetString(_bytes[start.._at]);
    }
}
