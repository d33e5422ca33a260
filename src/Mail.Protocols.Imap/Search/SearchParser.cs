using System.Text;
using Mail.Protocols.Imap.Protocol;

namespace Mail.Protocols.Imap.Search;

/// <summary>A parsed SEARCH (or UID SEARCH): its result options, its charset, and its program.</summary>
/// <param name="Return">The result options; <see cref="SearchReturnOptions.None"/> when RETURN was not given. An empty
/// <c>RETURN ()</c> is <see cref="SearchReturnOptions.All"/> (RFC 4731 §3.1).</param>
/// <param name="Key">The program: the command's keys, all of which must match.</param>
/// <param name="CharsetSupported">False when CHARSET named a charset other than UTF-8 and US-ASCII: the session answers
/// <c>NO [BADCHARSET (UTF-8 US-ASCII)]</c> (<see cref="SearchResponseWriter.WriteBadCharset"/>), and <paramref name="Key"/> is
/// <see cref="SearchKey.All"/>, unread.</param>
internal sealed record SearchCommand(SearchReturnOptions Return, SearchKey Key, bool CharsetSupported = true)
{
    /// <summary>Whether RETURN was given: the answer is then <c>* ESEARCH</c> (or nothing, for SAVE alone), never <c>* SEARCH</c>.</summary>
    public bool HasReturn => Return != SearchReturnOptions.None;

    /// <summary>Whether the result is to be saved for <c>$</c> (RFC 5182).</summary>
    public bool Save => (Return & SearchReturnOptions.Save) != 0;

    /// <summary>Parses SEARCH's arguments: see <see cref="SearchParser.Parse"/>.</summary>
    public static SearchCommand Parse(ref ImapReader reader) => SearchParser.Parse(ref reader);
}

/// <summary>
/// The grammar of SEARCH's arguments (RFC 9051 §6.4.4 and §9, RFC 3501's NEW/OLD/RECENT, RFC 4731's result options, RFC 5182's
/// <c>$</c>, RFC 7162's MODSEQ):
/// <code>
/// search             = "SEARCH" [search-return-opts] SP search-program
/// search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
/// search-program     = ["CHARSET" SP charset SP] search-key *(SP search-key)
/// </code>
/// over an <see cref="ImapReader"/>. Every NOT, OR and parenthesised list is a level of the reader's nesting, so the recursion
/// here is bounded by <see cref="ImapReader.MaxNestingDepth"/> (and never deeper than <see cref="SearchKey.MaxDepth"/>):
/// 10,000 nested levels are a BAD, not a stack overflow.
/// </summary>
internal static class SearchParser
{
    /// <summary>
    /// Parses what follows the command name <c>SEARCH</c> (the reader is just after it, before the SP) to the end of the
    /// command. A charset other than UTF-8 and US-ASCII gives a command with <see cref="SearchCommand.CharsetSupported"/>
    /// false; anything the grammar refuses throws <see cref="ImapParseException"/> with the text of the BAD.
    /// </summary>
    public static SearchCommand Parse(ref ImapReader reader)
    {
        reader.ReadSpace("Missing search criteria");
        var options = SearchReturnOptions.None;
        if (reader.TryReadKeyword("RETURN"u8))
        {
            reader.ReadSpace();
            options = ReadReturnOptions(ref reader);
            reader.ReadSpace("Missing search criteria");
        }
        var usAscii = false;
        if (reader.TryReadKeyword("CHARSET"u8))
        {
            reader.ReadSpace();
            // charset = atom / quoted
            var charset = reader.Peek() == '"' ? reader.ReadQuotedOctets() : reader.ReadAtom("Expected a charset");
            if (Ascii.EqualsIgnoreCase(charset, "US-ASCII"u8))
            {
                usAscii = true;
            }
            else if (!Ascii.EqualsIgnoreCase(charset, "UTF-8"u8))
            {
                return new SearchCommand(options, SearchKey.All, CharsetSupported: false);
            }
            reader.ReadSpace("Missing search criteria");
        }
        var parser = new KeyParser(usAscii);
        var keys = new List<SearchKey>();
        do
        {
            keys.Add(parser.ReadKey(ref reader));
        }
        while (reader.TryReadSpace());
        reader.ReadEnd();
        return new SearchCommand(options, keys.Count == 1 ? keys[0] : SearchKey.And(keys.ToArray()));
    }

    private static SearchReturnOptions ReadReturnOptions(ref ImapReader reader)
    {
        reader.Read((byte)'(', "Expected \"(\" after RETURN");
        var options = SearchReturnOptions.None;
        if (!reader.TryRead((byte)')'))
        {
            do
            {
                var option = reader.ReadAtom("Expected a search return option");
                options |= option switch
                {
                    _ when Ascii.EqualsIgnoreCase(option, "MIN"u8) => SearchReturnOptions.Min,
                    _ when Ascii.EqualsIgnoreCase(option, "MAX"u8) => SearchReturnOptions.Max,
                    _ when Ascii.EqualsIgnoreCase(option, "ALL"u8) => SearchReturnOptions.All,
                    _ when Ascii.EqualsIgnoreCase(option, "COUNT"u8) => SearchReturnOptions.Count,
                    _ when Ascii.EqualsIgnoreCase(option, "SAVE"u8) => SearchReturnOptions.Save,
                    _ => Unknown(),
                };
            }
            while (reader.TryReadSpace());
            reader.Read((byte)')', "Expected \")\" after the search return options");
        }
        // RFC 4731 §3.1: "RETURN ()" means ALL.
        return options == SearchReturnOptions.None ? SearchReturnOptions.All : options;

        static SearchReturnOptions Unknown()
        {
            ImapParseException.Throw("Unknown search return option");
            return default;
        }
    }

    /// <summary>The search keys by name (compared ASCII case-insensitively, as every keyword of the grammar).</summary>
    private static readonly Dictionary<string, SearchKeyKind> s_names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ALL"] = SearchKeyKind.All,
        ["ANSWERED"] = SearchKeyKind.Answered,
        ["BCC"] = SearchKeyKind.Bcc,
        ["BEFORE"] = SearchKeyKind.Before,
        ["BODY"] = SearchKeyKind.Body,
        ["CC"] = SearchKeyKind.Cc,
        ["DELETED"] = SearchKeyKind.Deleted,
        ["DRAFT"] = SearchKeyKind.Draft,
        ["FLAGGED"] = SearchKeyKind.Flagged,
        ["FROM"] = SearchKeyKind.From,
        ["HEADER"] = SearchKeyKind.Header,
        ["KEYWORD"] = SearchKeyKind.Keyword,
        ["LARGER"] = SearchKeyKind.Larger,
        ["MODSEQ"] = SearchKeyKind.ModSeq,
        ["NEW"] = SearchKeyKind.New,
        ["NOT"] = SearchKeyKind.Not,
        ["OLD"] = SearchKeyKind.Old,
        ["ON"] = SearchKeyKind.On,
        ["OR"] = SearchKeyKind.Or,
        ["RECENT"] = SearchKeyKind.Recent,
        ["SEEN"] = SearchKeyKind.Seen,
        ["SENTBEFORE"] = SearchKeyKind.SentBefore,
        ["SENTON"] = SearchKeyKind.SentOn,
        ["SENTSINCE"] = SearchKeyKind.SentSince,
        ["SINCE"] = SearchKeyKind.Since,
        ["SMALLER"] = SearchKeyKind.Smaller,
        ["SUBJECT"] = SearchKeyKind.Subject,
        ["TEXT"] = SearchKeyKind.Text,
        ["TO"] = SearchKeyKind.To,
        ["UID"] = SearchKeyKind.Uid,
        ["UNANSWERED"] = SearchKeyKind.Unanswered,
        ["UNDELETED"] = SearchKeyKind.Undeleted,
        ["UNDRAFT"] = SearchKeyKind.Undraft,
        ["UNFLAGGED"] = SearchKeyKind.Unflagged,
        ["UNKEYWORD"] = SearchKeyKind.Unkeyword,
        ["UNSEEN"] = SearchKeyKind.Unseen,
    };

    private static readonly Dictionary<string, SearchKeyKind>.AlternateLookup<ReadOnlySpan<char>> s_lookup = s_names.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The longest key name (SENTBEFORE): a longer atom is no key.</summary>
    private const int LongestName = 10;

    private readonly struct KeyParser(bool usAscii)
    {
        /// <summary>
        /// <c>search-key</c>. Recursive for NOT, OR and lists; each enters one level of the reader's nesting first, which
        /// refuses the level past <see cref="ImapReader.MaxNestingDepth"/> before any deeper frame exists.
        /// </summary>
        public SearchKey ReadKey(ref ImapReader reader)
        {
            var next = reader.Peek();
            if (next is '*' or '$' or (>= '0' and <= '9'))
            {
                return SearchKey.Set(uid: false, reader.ReadSequenceSet());
            }
            if (next == '(')
            {
                Enter(ref reader, paren: true);
                var keys = new List<SearchKey>();
                do
                {
                    keys.Add(ReadKey(ref reader));
                }
                while (reader.TryReadSpace());
                reader.ReadCloseParen("Expected \")\" to end a list of search keys");
                return keys.Count == 1 ? keys[0] : SearchKey.And(keys.ToArray());
            }
            var name = reader.ReadAtom(next is -1 or ' ' ? "Missing search key" : "Invalid search key");
            if (name.Length > LongestName)
            {
                ImapParseException.Throw("Unknown search key");
            }
            Span<char> chars = stackalloc char[LongestName];
            var length = Encoding.ASCII.GetChars(name, chars);
            if (!s_lookup.TryGetValue(chars[..length], out var kind))
            {
                ImapParseException.Throw("Unknown search key");
            }
            switch (kind)
            {
                case SearchKeyKind.Not:
                {
                    reader.ReadSpace("Missing search key after NOT");
                    Enter(ref reader, paren: false);
                    var key = SearchKey.Not(ReadKey(ref reader));
                    reader.LeaveNesting();
                    return key;
                }
                case SearchKeyKind.Or:
                {
                    reader.ReadSpace("Missing search key after OR");
                    Enter(ref reader, paren: false);
                    var left = ReadKey(ref reader);
                    reader.ReadSpace("Missing second search key of OR");
                    var right = ReadKey(ref reader);
                    reader.LeaveNesting();
                    return SearchKey.Or(left, right);
                }
                case SearchKeyKind.Bcc or SearchKeyKind.Body or SearchKeyKind.Cc or SearchKeyKind.From or SearchKeyKind.Subject
                    or SearchKeyKind.Text or SearchKeyKind.To:
                    reader.ReadSpace("Missing search string");
                    return SearchKey.String(kind, ReadSearchString(ref reader));
                case SearchKeyKind.Header:
                {
                    reader.ReadSpace("Missing header field name");
                    // header-fld-name = astring; a field name is printable US-ASCII but ":" (RFC 5322 §2.2).
                    var field = reader.ReadAStringOctets("Missing header field name");
                    if (field.IsEmpty || field.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E) || field.Contains((byte)':'))
                    {
                        ImapParseException.Throw("Invalid header field name");
                    }
                    var fieldName = Encoding.ASCII.GetString(field);
                    reader.ReadSpace("Missing search string");
                    return SearchKey.Header(fieldName, ReadSearchString(ref reader));
                }
                case SearchKeyKind.Keyword or SearchKeyKind.Unkeyword:
                    reader.ReadSpace("Missing keyword");
                    // flag-keyword = atom: a system flag such as \Seen is not a keyword.
                    return SearchKey.Keyword(kind, reader.ReadAtomString("Invalid keyword"));
                case SearchKeyKind.Before or SearchKeyKind.On or SearchKeyKind.Since
                    or SearchKeyKind.SentBefore or SearchKeyKind.SentOn or SearchKeyKind.SentSince:
                    reader.ReadSpace("Missing date");
                    return SearchKey.DateKey(kind, reader.ReadDate());
                case SearchKeyKind.Larger or SearchKeyKind.Smaller:
                    reader.ReadSpace("Missing size");
                    return SearchKey.Size(kind, (ulong)reader.ReadNumber64());
                case SearchKeyKind.Uid:
                    reader.ReadSpace("Missing UID set");
                    return SearchKey.Set(uid: true, reader.ReadSequenceSet());
                case SearchKeyKind.ModSeq:
                    return ReadModSeq(ref reader);
                default:
                    return SearchKey.Simple(kind);
            }
        }

        /// <summary>
        /// RFC 7162 §7: <c>search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer</c>,
        /// <c>search-modseq-ext = SP entry-name SP entry-type-req</c>, <c>entry-name = DQUOTE "/flags/" attr-flag DQUOTE</c>,
        /// <c>entry-type-req = "priv" / "shared" / "all"</c>.
        /// </summary>
        private static SearchKey ReadModSeq(ref ImapReader reader)
        {
            reader.ReadSpace("Missing MODSEQ value");
            string? entryName = null;
            var entryType = ModSeqEntryType.None;
            if (reader.Peek() == '"')
            {
                var entry = reader.ReadQuotedOctets();
                if (!entry.StartsWith("/flags/"u8) || entry.Length == "/flags/".Length || entry.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
                {
                    ImapParseException.Throw("Invalid MODSEQ entry name");
                }
                entryName = Encoding.ASCII.GetString(entry);
                reader.ReadSpace("Missing MODSEQ entry type");
                var type = reader.ReadAtom("Missing MODSEQ entry type");
                entryType = type switch
                {
                    _ when Ascii.EqualsIgnoreCase(type, "priv"u8) => ModSeqEntryType.Private,
                    _ when Ascii.EqualsIgnoreCase(type, "shared"u8) => ModSeqEntryType.Shared,
                    _ when Ascii.EqualsIgnoreCase(type, "all"u8) => ModSeqEntryType.All,
                    _ => InvalidEntryType(),
                };
                reader.ReadSpace("Missing MODSEQ value");
            }
            // mod-sequence-valzer = "0" / mod-sequence-value: 0 to 2^63-1.
            return SearchKey.ModSeq((ulong)reader.ReadNumber64(), entryName, entryType);

            static ModSeqEntryType InvalidEntryType()
            {
                ImapParseException.Throw("Invalid MODSEQ entry type");
                return default;
            }
        }

        /// <summary>An astring in the command's charset: UTF-8 (the default, RFC 9051), or US-ASCII, which has no 8-bit octet.</summary>
        private string ReadSearchString(ref ImapReader reader)
        {
            var octets = reader.ReadAStringOctets("Missing search string");
            if (usAscii && !Ascii.IsValid(octets))
            {
                ImapParseException.Throw("8-bit octets in a US-ASCII search string");
            }
            return ImapReader.DecodeUtf8(octets, "Invalid UTF-8 in a search string");
        }

        private static void Enter(ref ImapReader reader, bool paren)
        {
            // The tree adds one level for the command's own list of keys; refuse here what the tree could not hold.
            if (reader.Depth + 2 > SearchKey.MaxDepth)
            {
                ImapParseException.Throw("Too deeply nested");
            }
            if (paren)
            {
                reader.ReadOpenParen();
            }
            else
            {
                reader.EnterNesting();
            }
        }
    }
}
