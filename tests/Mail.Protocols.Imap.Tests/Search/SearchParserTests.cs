using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Search;

namespace Mail.Protocols.Imap.Tests.Search;

/// <summary>The formal syntax of SEARCH (RFC 9051 §9, RFC 3501 §9, RFC 4731, RFC 5182, RFC 7162 §7) and its refusals.</summary>
public sealed class SearchParserTests
{
    private static SearchCommand P(string arguments) => SearchRunner.Parse(Encoding.UTF8.GetBytes("t SEARCH " + arguments)).Command;

    /// <summary>A readable form of a tree, to compare whole programs.</summary>
    private static string Show(SearchKey key) => key.Kind switch
    {
        SearchKeyKind.And => "(" + string.Join(" ", key.Children.ToArray().Select(Show)) + ")",
        SearchKeyKind.Not => "NOT " + Show(key.Children[0]),
        SearchKeyKind.Or => "OR " + Show(key.Children[0]) + " " + Show(key.Children[1]),
        SearchKeyKind.SequenceSet => "SET " + string.Join(",", key.Sequence!.Ranges.Select(r => $"{r.First}:{r.Last}")) + (key.Sequence.IncludesSavedResult ? "+$" : ""),
        SearchKeyKind.Uid => "UID " + string.Join(",", key.Sequence!.Ranges.Select(r => $"{r.First}:{r.Last}")) + (key.Sequence.IncludesSavedResult ? "+$" : ""),
        SearchKeyKind.Header => $"HEADER {key.FieldName} [{key.Value}]",
        SearchKeyKind.Keyword or SearchKeyKind.Unkeyword => $"{key.Kind.ToString().ToUpperInvariant()} {key.Value}",
        SearchKeyKind.Before or SearchKeyKind.On or SearchKeyKind.Since or SearchKeyKind.SentBefore or SearchKeyKind.SentOn or SearchKeyKind.SentSince
            => $"{key.Kind.ToString().ToUpperInvariant()} {key.Date:yyyy-MM-dd}",
        SearchKeyKind.Larger or SearchKeyKind.Smaller => $"{key.Kind.ToString().ToUpperInvariant()} {key.Number}",
        SearchKeyKind.ModSeq => $"MODSEQ {key.Value} {key.EntryType} {key.Number}",
        SearchKeyKind.Bcc or SearchKeyKind.Cc or SearchKeyKind.From or SearchKeyKind.To or SearchKeyKind.Subject or SearchKeyKind.Body or SearchKeyKind.Text
            => $"{key.Kind.ToString().ToUpperInvariant()} [{key.Value}]",
        _ => key.Kind.ToString().ToUpperInvariant(),
    };

    [Theory]
    [InlineData("ALL", "ALL")]
    [InlineData("answered", "ANSWERED")]
    [InlineData("BCC x", "BCC [x]")]
    [InlineData("BEFORE 1-Feb-1994", "BEFORE 1994-02-01")]
    [InlineData("BODY \"two words\"", "BODY [two words]")]
    [InlineData("CC {3}\r\na b", "CC [a b]")]
    [InlineData("CC {3+}\r\na b", "CC [a b]")]
    [InlineData("DELETED", "DELETED")]
    [InlineData("DRAFT", "DRAFT")]
    [InlineData("FLAGGED", "FLAGGED")]
    [InlineData("FROM \"Smith\"", "FROM [Smith]")]
    [InlineData("HEADER Message-ID \"<a@b>\"", "HEADER Message-ID [<a@b>]")]
    [InlineData("HEADER \"X-Spam\" \"\"", "HEADER X-Spam []")]
    [InlineData("KEYWORD $Forwarded", "KEYWORD $Forwarded")]
    [InlineData("LARGER 9223372036854775807", "LARGER 9223372036854775807")]
    [InlineData("NEW", "NEW")]
    [InlineData("NOT SEEN", "NOT SEEN")]
    [InlineData("OLD", "OLD")]
    [InlineData("ON \"7-Feb-1994\"", "ON 1994-02-07")]
    [InlineData("OR SEEN FLAGGED", "OR SEEN FLAGGED")]
    [InlineData("RECENT", "RECENT")]
    [InlineData("SEEN", "SEEN")]
    [InlineData("SENTBEFORE 01-Jan-2000", "SENTBEFORE 2000-01-01")]
    [InlineData("SENTON 29-Feb-2024", "SENTON 2024-02-29")]
    [InlineData("SENTSINCE 31-dec-1999", "SENTSINCE 1999-12-31")]
    [InlineData("SINCE 1-Feb-1994", "SINCE 1994-02-01")]
    [InlineData("SMALLER 0", "SMALLER 0")]
    [InlineData("SUBJECT \"caf\u00e9\"", "SUBJECT [caf\u00e9]")]
    [InlineData("TEXT \"say \\\"hi\\\"\"", "TEXT [say \"hi\"]")]
    [InlineData("TO bob", "TO [bob]")]
    [InlineData("UID 1:*", "UID 1:0")]
    [InlineData("UID $", "UID +$")]
    [InlineData("UNANSWERED", "UNANSWERED")]
    [InlineData("UNDELETED", "UNDELETED")]
    [InlineData("UNDRAFT", "UNDRAFT")]
    [InlineData("UNFLAGGED", "UNFLAGGED")]
    [InlineData("UNKEYWORD Junk", "UNKEYWORD Junk")]
    [InlineData("UNSEEN", "UNSEEN")]
    [InlineData("2,4:6,*", "SET 2:2,4:6,0:0")]
    [InlineData("$", "SET +$")]
    [InlineData("(SEEN)", "SEEN")]
    [InlineData("(SEEN FLAGGED)", "(SEEN FLAGGED)")]
    [InlineData("MODSEQ 620162338", "MODSEQ  None 620162338")]
    [InlineData("MODSEQ 0", "MODSEQ  None 0")]
    [InlineData("MODSEQ \"/flags/\\\\draft\" all 620162338", "MODSEQ /flags/\\draft All 620162338")]
    [InlineData("MODSEQ \"/flags/$Junk\" PRIV 5", "MODSEQ /flags/$Junk Private 5")]
    [InlineData("modseq \"/flags/\\\\seen\" shared 5", "MODSEQ /flags/\\seen Shared 5")]
    public void Each_search_key_parses(string arguments, string expected)
    {
        var command = P(arguments);
        Assert.Equal(expected, Show(command.Key));
        Assert.False(command.HasReturn);
        Assert.True(command.CharsetSupported);
    }

    [Fact]
    public void The_rfc_example_parses_to_its_tree()
    {
        Assert.Equal("(FLAGGED SINCE 1994-02-01 NOT FROM [Smith])", Show(P("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"").Key));
        Assert.Equal("(OR OR SEEN (FLAGGED DRAFT) NOT UID 3:3 SET 1:5)", Show(P("OR OR SEEN (FLAGGED DRAFT) NOT UID 3 1:5").Key));
    }

    [Theory]
    [InlineData("RETURN (MIN) ALL", (int)SearchReturnOptions.Min)]
    [InlineData("RETURN (MIN MAX COUNT ALL SAVE) ALL", (int)(SearchReturnOptions.Min | SearchReturnOptions.Max | SearchReturnOptions.Count | SearchReturnOptions.All | SearchReturnOptions.Save))]
    [InlineData("RETURN () ALL", (int)SearchReturnOptions.All)]
    [InlineData("return (save) ALL", (int)SearchReturnOptions.Save)]
    [InlineData("RETURN (COUNT COUNT) ALL", (int)SearchReturnOptions.Count)]
    [InlineData("RETURN (MIN) CHARSET UTF-8 ALL", (int)SearchReturnOptions.Min)]
    public void Return_options_parse(string arguments, int expected)
    {
        var command = P(arguments);
        Assert.Equal((SearchReturnOptions)expected, command.Return);
        Assert.True(command.HasReturn);
        Assert.Equal(SearchKeyKind.All, command.Key.Kind);
    }

    [Fact]
    public void Charsets_other_than_utf8_and_us_ascii_are_refused_as_badcharset()
    {
        Assert.False(P("CHARSET ISO-8859-1 FROM x").CharsetSupported);
        Assert.False(P("CHARSET \"windows-1252\" ALL").CharsetSupported);
        Assert.True(P("CHARSET UTF-8 FROM x").CharsetSupported);
        Assert.True(P("CHARSET us-ascii FROM x").CharsetSupported);
        Assert.Equal("FROM [Jos\u00e9]", Show(P("CHARSET UTF-8 FROM \"Jos\u00e9\"").Key));
    }

    public static TheoryData<string, string> BadCommands => new()
    {
        { "t SEARCH", "Missing search criteria" },
        { "t SEARCH ", "Missing search key" },
        { "t SEARCH FOO", "Unknown search key" },
        { "t SEARCH SENTBEFOREX 1-Jan-2000", "Unknown search key" },
        { "t SEARCH FROM", "Missing search string" },
        { "t SEARCH FROM ", "Missing search string" },
        { "t SEARCH HEADER Subject", "Missing search string" },
        { "t SEARCH HEADER \"Sub ject\" x", "Invalid header field name" },
        { "t SEARCH HEADER \"\" x", "Invalid header field name" },
        { "t SEARCH OR SEEN", "Missing second search key of OR" },
        { "t SEARCH NOT", "Missing search key after NOT" },
        { "t SEARCH (SEEN", "Expected \")\" to end a list of search keys" },
        { "t SEARCH ()", "Invalid search key" },
        { "t SEARCH SEEN)", "Unexpected text after the command's arguments" },
        { "t SEARCH SEEN ", "Missing search key" },
        { "t SEARCH SINCE 31-Feb-2020", "Invalid date" },
        { "t SEARCH SINCE 1-Foo-2020", "Invalid date" },
        { "t SEARCH SINCE 2020-02-01", "Invalid date" },
        { "t SEARCH ON", "Missing date" },
        { "t SEARCH LARGER", "Missing size" },
        { "t SEARCH LARGER -1", "Expected a number" },
        { "t SEARCH LARGER 9223372036854775808", "Number out of range" },
        { "t SEARCH KEYWORD \\Seen", "Invalid keyword" },
        { "t SEARCH KEYWORD", "Missing keyword" },
        { "t SEARCH UID", "Missing UID set" },
        { "t SEARCH UID 0", "Invalid sequence set" },
        { "t SEARCH 0:4", "Invalid sequence set" },
        { "t SEARCH 1:", "Invalid sequence set" },
        { "t SEARCH MODSEQ", "Missing MODSEQ value" },
        { "t SEARCH MODSEQ x", "Expected a number" },
        { "t SEARCH MODSEQ \"/flags/\\\\seen\" 5", "Invalid MODSEQ entry type" },
        { "t SEARCH MODSEQ \"/flags/\\\\seen\" mine 5", "Invalid MODSEQ entry type" },
        { "t SEARCH MODSEQ \"/other/x\" all 5", "Invalid MODSEQ entry name" },
        { "t SEARCH RETURN (FOO) ALL", "Unknown search return option" },
        { "t SEARCH RETURN MIN ALL", "Expected \"(\" after RETURN" },
        { "t SEARCH RETURN (MIN ALL", "Expected \")\" after the search return options" },
        { "t SEARCH RETURN (MIN)", "Missing search criteria" },
        { "t SEARCH CHARSET", "Missing space" },
        { "t SEARCH CHARSET UTF-8", "Missing search criteria" },
        { "t SEARCH FROM \"unterminated", "Unterminated quoted string" },
        { "t SEARCH SUBJECT caf\u00e9", "Unexpected text after the command's arguments" }, // 8-bit octets are no atom: quote them
        { "t SEARCH FROM {5}\r\nab", "Literal shorter than its announced length" },
    };

    [Theory]
    [MemberData(nameof(BadCommands))]
    public void Bad_input_gets_a_bad_with_a_reason(string command, string reason) =>
        Assert.Equal(reason, SearchRunner.Bad(command));

    [Fact]
    public void Us_ascii_strings_with_8bit_octets_and_utf8_strings_that_are_not_utf8_are_bad()
    {
        byte[] literal = [(byte)'c', (byte)'a', (byte)'f', 0xE9];
        byte[] Command(string charset) => Encoding.ASCII.GetBytes($"t SEARCH CHARSET {charset} TEXT {{4}}\r\n").Concat(literal).ToArray();
        Assert.Equal("8-bit octets in a US-ASCII search string", SearchRunner.Bad(Command("US-ASCII")));
        Assert.Equal("Invalid UTF-8 in a search string", SearchRunner.Bad(Command("UTF-8")));
        Assert.Equal("8-bit octets in a US-ASCII search string",
            SearchRunner.Bad(Encoding.UTF8.GetBytes("t SEARCH CHARSET US-ASCII SUBJECT \"caf\u00e9\"")));
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("NOT ", "")]
    [InlineData("OR SEEN ", "")]
    [InlineData("OR ", " SEEN")]
    public void Ten_thousand_nested_levels_are_bad_and_overflow_nothing(string open, string close)
    {
        var command = "t SEARCH " + string.Concat(Enumerable.Repeat(open, 10_000)) + "SEEN" + string.Concat(Enumerable.Repeat(close, 10_000));
        Assert.Equal("Too deeply nested", SearchRunner.Bad(command));
    }

    [Fact]
    public void Nesting_up_to_the_readers_limit_parses()
    {
        var depth = ImapReader.DefaultMaxNestingDepth;
        var command = "t SEARCH " + string.Concat(Enumerable.Repeat("NOT (", depth / 2)) + "SEEN" + new string(')', depth / 2);
        var key = SearchRunner.Parse(Encoding.ASCII.GetBytes(command)).Command.Key;
        Assert.Equal(depth / 2, key.Depth);
        Assert.Equal("Too deeply nested", SearchRunner.Bad("t SEARCH " + string.Concat(Enumerable.Repeat("NOT ", depth + 1)) + "SEEN"));
    }

    [Theory]
    [InlineData("NOT ", "")]
    [InlineData("(", ")")]
    public void A_reader_allowing_deeper_nesting_still_stops_at_the_trees_limit(string open, string close)
    {
        static SearchKey ParseDeep(int depth, string open, string close)
        {
            var command = Encoding.ASCII.GetBytes(" " + string.Concat(Enumerable.Repeat(open, depth)) + "SEEN " + "SEEN" + string.Concat(Enumerable.Repeat(close, depth)));
            var reader = new ImapReader(command) { MaxNestingDepth = 100_000 };
            return SearchCommand.Parse(ref reader).Key;
        }
        // With NOTs the command's own list of two keys is one level more: the deepest program is MaxDepth levels. (A list
        // of one key is that key, so nested parentheses build no depth, but they count as nesting all the same.)
        Assert.Equal(open == "(" ? 1 : SearchKey.MaxDepth, ParseDeep(SearchKey.MaxDepth - 1, open, close).Depth);
        Assert.Equal("Too deeply nested", Assert.Throws<ImapParseException>(() => ParseDeep(SearchKey.MaxDepth, open, close)).Message);
        Assert.Equal("Too deeply nested", Assert.Throws<ImapParseException>(() => ParseDeep(10_000, open, close)).Message);
    }

    [Fact]
    public void Random_commands_throw_nothing_but_the_parse_exception()
    {
        // Tokens of the grammar put together at random (seeded): each command parses or is a BAD, nothing else.
        string[] tokens =
        [
            "ALL", "OR", "NOT", "(", ")", " ", "  ", "FROM", "\"x\"", "\"", "{3}\r\nabc", "{9}\r\n", "HEADER", "UID", "1:*", "*", "$", ",",
            "0", "4294967296", "SINCE", "1-Feb-1994", "MODSEQ", "\"/flags/\\\\seen\"", "all", "RETURN", "(MIN)", "CHARSET", "UTF-8",
            "KEYWORD", "$Junk", "\\Seen", "LARGER", "99", "\u00e9", "\r\n", "~{1}\r\nx", "TEXT",
        ];
        var random = new Random(20260406);
        for (var i = 0; i < 20_000; i++)
        {
            var text = new StringBuilder("t SEARCH ");
            var count = random.Next(1, 12);
            for (var j = 0; j < count; j++)
            {
                text.Append(tokens[random.Next(tokens.Length)]);
                if (random.Next(3) > 0)
                {
                    text.Append(' ');
                }
            }
            try
            {
                SearchRunner.Parse(Encoding.UTF8.GetBytes(text.ToString()));
            }
            catch (ImapParseException)
            {
            }
        }
    }
}
