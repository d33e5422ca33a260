using System.Collections.Immutable;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Fetch;

/// <summary>
/// The FETCH arguments after the sequence set (RFC 9051 §9 <c>fetch</c>, RFC 3516 BINARY, RFC 7162 modifiers):
/// <c>("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [SP "(" fetch-modifier *(SP fetch-modifier) ")"]</c>.
/// </summary>
internal static class FetchParser
{
    /// <summary>The most items one FETCH may ask for (after the macros are expanded); more is a BAD. No client asks for near this many.</summary>
    public const int MaxItems = 256;

    /// <summary>The most part numbers of one section (a summary is at most <see cref="Storage.MessageSummaryParser.MaxMimeDepth"/> levels deep, and an embedded message adds one number per level).</summary>
    public const int MaxSectionParts = 2 * Storage.MessageSummaryParser.MaxMimeDepth;

    /// <summary>The most field names of one HEADER.FIELDS list.</summary>
    public const int MaxHeaderFields = 256;

    /// <summary>
    /// Reads the fetch attributes and modifiers, up to the end of the arguments (the caller then calls
    /// <see cref="ImapReader.ReadEnd"/>). <paramref name="isUid"/> for UID FETCH; <paramref name="qresyncEnabled"/> when
    /// the session has enabled QRESYNC, without which VANISHED is a BAD (RFC 7162 §3.2.6).
    /// </summary>
    /// <exception cref="ImapParseException">The arguments do not follow the grammar; its message is the BAD text.</exception>
    public static FetchRequest Read(ref ImapReader reader, bool isUid, bool qresyncEnabled = false)
    {
        var items = ImmutableArray.CreateBuilder<FetchItem>();
        if (reader.TryReadKeyword("ALL"u8))
        {
            items.AddRange(s_fast);
            items.Add(new FetchItem(FetchItemKind.Envelope));
        }
        else if (reader.TryReadKeyword("FAST"u8))
        {
            items.AddRange(s_fast);
        }
        else if (reader.TryReadKeyword("FULL"u8))
        {
            items.AddRange(s_fast);
            items.Add(new FetchItem(FetchItemKind.Envelope));
            items.Add(new FetchItem(FetchItemKind.Body));
        }
        else if (reader.TryReadOpenParen())
        {
            do
            {
                if (items.Count == MaxItems)
                {
                    ImapParseException.Throw("Too many FETCH items");
                }
                items.Add(ReadItem(ref reader));
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen("Expected \")\" after the FETCH items");
        }
        else
        {
            items.Add(ReadItem(ref reader));
        }

        ulong? changedSince = null;
        var vanished = false;
        if (reader.TryReadSpace())
        {
            reader.ReadOpenParen("Expected \"(\" before the FETCH modifiers");
            do
            {
                if (reader.TryReadKeyword("CHANGEDSINCE"u8))
                {
                    if (changedSince is not null)
                    {
                        ImapParseException.Throw("CHANGEDSINCE given twice");
                    }
                    reader.ReadSpace("Missing space after CHANGEDSINCE");
                    // RFC 7162 §7 mod-sequence-value (1 to 2^63-1); 0 is taken too, meaning every message.
                    changedSince = (ulong)reader.ReadNumber64();
                }
                else if (reader.TryReadKeyword("VANISHED"u8))
                {
                    if (vanished)
                    {
                        ImapParseException.Throw("VANISHED given twice");
                    }
                    vanished = true;
                }
                else
                {
                    ImapParseException.Throw("Unknown FETCH modifier");
                }
            }
            while (reader.TryReadSpace());
            reader.ReadCloseParen("Expected \")\" after the FETCH modifiers");
        }
        if (vanished)
        {
            // RFC 7162 §3.2.6: VANISHED only in UID FETCH, only with CHANGEDSINCE, only once QRESYNC is enabled; else BAD.
            if (!isUid)
            {
                ImapParseException.Throw("VANISHED is allowed only in UID FETCH");
            }
            if (changedSince is null)
            {
                ImapParseException.Throw("VANISHED needs CHANGEDSINCE");
            }
            if (!qresyncEnabled)
            {
                ImapParseException.Throw("VANISHED needs ENABLE QRESYNC first");
            }
        }
        return FetchRequest.Create(items.ToImmutable(), isUid, changedSince, vanished);
    }

    private static readonly FetchItem[] s_fast =
        [new(FetchItemKind.Flags), new(FetchItemKind.InternalDate), new(FetchItemKind.Rfc822Size)];

    /// <summary>One <c>fetch-att</c>.</summary>
    public static FetchItem ReadItem(ref ImapReader reader)
    {
        var name = ReadItemName(ref reader);
        FetchItem item;
        if (Is(name, "ENVELOPE"u8)) item = new(FetchItemKind.Envelope);
        else if (Is(name, "FLAGS"u8)) item = new(FetchItemKind.Flags);
        else if (Is(name, "INTERNALDATE"u8)) item = new(FetchItemKind.InternalDate);
        else if (Is(name, "RFC822"u8)) item = new(FetchItemKind.Rfc822);
        else if (Is(name, "RFC822.HEADER"u8)) item = new(FetchItemKind.Rfc822Header);
        else if (Is(name, "RFC822.SIZE"u8)) item = new(FetchItemKind.Rfc822Size);
        else if (Is(name, "RFC822.TEXT"u8)) item = new(FetchItemKind.Rfc822Text);
        else if (Is(name, "BODYSTRUCTURE"u8)) item = new(FetchItemKind.BodyStructure);
        else if (Is(name, "UID"u8)) item = new(FetchItemKind.Uid);
        else if (Is(name, "MODSEQ"u8)) item = new(FetchItemKind.ModSeq);
        else if (Is(name, "BODY"u8))
        {
            if (reader.Peek() != '[')
            {
                item = new(FetchItemKind.Body);
            }
            else
            {
                var section = ReadSection(ref reader);
                var (start, length) = ReadPartial(ref reader);
                return new FetchItem(FetchItemKind.BodySection, section, false, start, length);
            }
        }
        else if (Is(name, "BODY.PEEK"u8))
        {
            var section = ReadSection(ref reader);
            var (start, length) = ReadPartial(ref reader);
            return new FetchItem(FetchItemKind.BodySection, section, true, start, length);
        }
        else if (Is(name, "BINARY"u8) || Is(name, "BINARY.PEEK"u8))
        {
            var section = ReadBinarySection(ref reader);
            var (start, length) = ReadPartial(ref reader);
            return new FetchItem(FetchItemKind.Binary, section, name.Length > 6, start, length);
        }
        else if (Is(name, "BINARY.SIZE"u8))
        {
            var section = ReadBinarySection(ref reader);
            if (reader.Peek() == '<')
            {
                ImapParseException.Throw("BINARY.SIZE takes no partial range");
            }
            return new FetchItem(FetchItemKind.BinarySize, section);
        }
        else
        {
            ImapParseException.Throw("Unknown FETCH item");
            return null!;
        }
        if (reader.Peek() is var next && next >= 0 && ImapReader.IsAtomChar((byte)next))
        {
            ImapParseException.Throw("Unknown FETCH item");
        }
        return item;
    }

    // The name of an item: letters, digits and dots (BODY.PEEK, RFC822.SIZE), up to "[", a space, ")" or the end.
    private static ReadOnlySpan<byte> ReadItemName(ref ImapReader reader)
    {
        var remaining = reader.Remaining;
        var length = 0;
        while (length < remaining.Length && length < 16 && (char.IsAsciiLetterOrDigit((char)remaining[length]) || remaining[length] == (byte)'.'))
        {
            length++;
        }
        if (length == 0)
        {
            ImapParseException.Throw("Expected a FETCH item");
        }
        var name = remaining[..length];
        reader.TryReadText(name);
        return name;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> keyword) => System.Text.Ascii.EqualsIgnoreCase(name, keyword);

    /// <summary>
    /// <c>section = "[" [section-spec] "]"</c>; <c>section-spec = section-msgtext / (section-part ["." section-text])</c>;
    /// <c>section-text = section-msgtext / "MIME"</c> (MIME only after part numbers).
    /// </summary>
    public static FetchSection ReadSection(ref ImapReader reader)
    {
        reader.Read((byte)'[', "Expected \"[\" before the section");
        if (reader.TryRead((byte)']'))
        {
            return FetchSection.Whole;
        }
        var parts = ReadSectionParts(ref reader, out var textFollows);
        if (!parts.IsEmpty && !textFollows)
        {
            reader.Read((byte)']', "Expected \"]\" after the section");
            return new FetchSection(parts, SectionText.None, []);
        }
        SectionText text;
        var fields = ImmutableArray<string>.Empty;
        if (reader.TryReadText("HEADER.FIELDS.NOT"u8))
        {
            text = SectionText.HeaderFieldsNot;
            fields = ReadHeaderList(ref reader);
        }
        else if (reader.TryReadText("HEADER.FIELDS"u8))
        {
            text = SectionText.HeaderFields;
            fields = ReadHeaderList(ref reader);
        }
        else if (reader.TryReadText("HEADER"u8))
        {
            text = SectionText.Header;
        }
        else if (reader.TryReadText("TEXT"u8))
        {
            text = SectionText.Text;
        }
        else if (!parts.IsEmpty && reader.TryReadText("MIME"u8))
        {
            text = SectionText.Mime;
        }
        else
        {
            ImapParseException.Throw(parts.IsEmpty && reader.TryReadText("MIME"u8) ? "MIME needs a part number" : "Invalid section");
            return null!;
        }
        reader.Read((byte)']', "Expected \"]\" after the section");
        return new FetchSection(parts, text, fields);
    }

    /// <summary><c>section-binary = "[" [section-part] "]"</c>.</summary>
    public static FetchSection ReadBinarySection(ref ImapReader reader)
    {
        reader.Read((byte)'[', "Expected \"[\" before the section");
        if (reader.TryRead((byte)']'))
        {
            return FetchSection.Whole;
        }
        var parts = ReadSectionParts(ref reader, out var textFollows);
        if (parts.IsEmpty || textFollows)
        {
            ImapParseException.Throw("A BINARY section has part numbers only");
        }
        reader.Read((byte)']', "Expected \"]\" after the section");
        return new FetchSection(parts, SectionText.None, []);
    }

    // section-part = nz-number *("." nz-number); textFollows when a "." is followed by a section-text instead.
    private static ImmutableArray<uint> ReadSectionParts(ref ImapReader reader, out bool textFollows)
    {
        textFollows = false;
        if (reader.Peek() is < '0' or > '9')
        {
            return [];
        }
        var parts = ImmutableArray.CreateBuilder<uint>();
        while (true)
        {
            if (parts.Count == MaxSectionParts)
            {
                ImapParseException.Throw("Too many section part numbers");
            }
            parts.Add(reader.ReadNzNumber());
            if (!reader.TryRead((byte)'.'))
            {
                break;
            }
            if (reader.Peek() is < '0' or > '9')
            {
                textFollows = true;
                break;
            }
        }
        return parts.ToImmutable();
    }

    // header-list = "(" header-fld-name *(SP header-fld-name) ")"; header-fld-name = astring.
    private static ImmutableArray<string> ReadHeaderList(ref ImapReader reader)
    {
        reader.ReadSpace("Missing space before the header list");
        reader.ReadOpenParen("Expected \"(\" before the header list");
        var fields = ImmutableArray.CreateBuilder<string>();
        do
        {
            if (fields.Count == MaxHeaderFields)
            {
                ImapParseException.Throw("Too many header field names");
            }
            fields.Add(reader.ReadAString("Expected a header field name"));
        }
        while (reader.TryReadSpace());
        reader.ReadCloseParen("Expected \")\" after the header list");
        return fields.ToImmutable();
    }

    // partial = "<" number64 "." nz-number64 ">" (RFC 9051; RFC 3501 has the 32-bit number and nz-number).
    private static (long? Start, long? Length) ReadPartial(ref ImapReader reader)
    {
        if (!reader.TryRead((byte)'<'))
        {
            return (null, null);
        }
        var start = reader.ReadNumber64();
        reader.Read((byte)'.', "Expected \".\" in the partial range");
        var length = reader.ReadNzNumber64();
        reader.Read((byte)'>', "Expected \">\" after the partial range");
        return (start, length);
    }
}
