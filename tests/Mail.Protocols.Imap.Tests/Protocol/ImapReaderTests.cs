using System.Text;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Protocol;

/// <summary>The primitives of RFC 9051 §9 (formal syntax), each at its edges.</summary>
public class ImapReaderTests
{
    private static string Tag(string command) => Parse.Read(command, (ref r) =>
    {
        var tag = Parse.Text(r.ReadTag());
        r.ReadSpace("Missing space after tag");
        r.ReadCommandName();
        return tag;
    });

    [Theory]
    [InlineData("A001 NOOP", "A001")]
    [InlineData("a]1 NOOP", "a]1")]
    [InlineData("x.y-z NOOP", "x.y-z")]
    public void Tag_is_astring_chars_but_plus(string command, string tag) => Assert.Equal(tag, Tag(command));

    [Theory]
    [InlineData(" NOOP", "Missing tag")]
    [InlineData("", "Missing tag")]
    [InlineData("+a NOOP", "Invalid tag")]
    [InlineData("* NOOP", "Invalid tag")]
    [InlineData("a+b NOOP", "Missing space after tag")]
    [InlineData("A1(NOOP", "Missing space after tag")]
    [InlineData("A1\u00e9 NOOP", "Missing space after tag")]
    [InlineData("\u00e9 NOOP", "Invalid tag")]
    [InlineData("A1", "Missing space after tag")]
    [InlineData("A1 ", "Missing command")]
    [InlineData("A1 NOOP ", "Unexpected space at the end of the command")]
    public void Bad_tag_or_command(string command, string message) => Assert.Equal(message, Parse.Bad(command, (ref r) =>
    {
        r.ReadTag();
        r.ReadSpace("Missing space after tag");
        return r.ReadCommandName().Length;
    }));

    [Fact]
    public void Command_name_is_compared_case_insensitively()
    {
        Assert.True(Parse.Read("a1 sElEcT", (ref r) =>
        {
            r.ReadTag();
            r.ReadSpace();
            return Ascii.EqualsIgnoreCase(r.ReadCommandName(), "SELECT"u8);
        }));
    }

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("$Forwarded", "$Forwarded")]
    [InlineData("a.b-c_d+e", "a.b-c_d+e")]
    public void Atom(string text, string atom) => Assert.Equal(atom, Parse.Read(text, (ref r) => r.ReadAtomString()));

    [Theory]
    [InlineData("a\u00e9")]
    [InlineData("a]")]
    [InlineData("a(")]
    [InlineData("a%")]
    [InlineData("a*")]
    [InlineData("a\"")]
    [InlineData("a\\")]
    [InlineData("a{")]
    [InlineData("a\u007f")]
    [InlineData("a\u0001")]
    public void Atom_stops_at_atom_specials_and_8_bit_octets(string text) =>
        Assert.Equal("Unexpected text after the command's arguments", Parse.Bad(text, (ref r) => r.ReadAtomString()));

    [Theory]
    [InlineData("\u00e9")]
    [InlineData("(")]
    [InlineData("")]
    public void Atom_cannot_be_empty(string text) => Assert.Equal("Expected an atom", Parse.Bad(text, (ref r) => r.ReadAtomString()));

    [Fact]
    public void Keyword_must_be_a_whole_atom()
    {
        Assert.True(Parse.Read("nil", (ref r) => r.TryReadNil()));
        Assert.Equal("Unexpected text after the command's arguments", Parse.Bad("NILS", (ref r) => r.TryReadNil()));
        Assert.Equal("Unexpected text after the command's arguments", Parse.Bad("NIL]", (ref r) => r.TryReadNil()));
        Assert.True(Parse.Read("NIL)", (ref r) =>
        {
            var nil = r.TryReadNil();
            return nil && r.TryRead((byte)')');
        }));
    }

    [Theory]
    [InlineData("0", 0u)]
    [InlineData("007", 7u)]
    [InlineData("4294967295", 4294967295u)]
    public void Number(string text, uint value) => Assert.Equal(value, Parse.Read(text, (ref r) => r.ReadNumber()));

    [Theory]
    [InlineData("4294967296", "Number out of range")]
    [InlineData("99999999999999999999999", "Number out of range")]
    [InlineData("-1", "Expected a number")]
    [InlineData("", "Expected a number")]
    [InlineData("x", "Expected a number")]
    public void Bad_number(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadNumber()));

    [Theory]
    [InlineData("1", 1u)]
    [InlineData("4294967295", 4294967295u)]
    public void NzNumber(string text, uint value) => Assert.Equal(value, Parse.Read(text, (ref r) => r.ReadNzNumber()));

    [Theory]
    [InlineData("0", "Expected a non-zero number")]
    [InlineData("01", "Expected a non-zero number")]
    [InlineData("4294967296", "Number out of range")]
    public void Bad_nz_number(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadNzNumber()));

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("4294967296", 4294967296L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Number64(string text, long value) => Assert.Equal(value, Parse.Read(text, (ref r) => r.ReadNumber64()));

    [Theory]
    [InlineData("9223372036854775808")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("184467440737095516160")]
    public void Number64_does_not_overflow(string text) =>
        Assert.Equal("Number out of range", Parse.Bad(text, (ref r) => r.ReadNumber64()));

    [Fact]
    public void NzNumber64_refuses_zero()
    {
        Assert.Equal(5L, Parse.Read("5", (ref r) => r.ReadNzNumber64()));
        Assert.Equal("Expected a non-zero number", Parse.Bad("0", (ref r) => r.ReadNzNumber64()));
    }

    private static string Quoted(ReadOnlySpan<byte> octets) => Parse.Text(octets);

    [Theory]
    [InlineData("\"\"", "")]
    [InlineData("\"abc def\"", "abc def")]
    [InlineData("\"a\\\"b\"", "a\"b")]
    [InlineData("\"a\\\\b\"", "a\\b")]
    [InlineData("\"\\\\\"", "\\")]
    [InlineData("\"(){%*]\"", "(){%*]")]
    public void Quoted_string(string text, string value) => Assert.Equal(value, Parse.Read(text, (ref r) => Quoted(r.ReadQuotedOctets())));

    [Theory]
    [InlineData("\"a\\nb\"", "Invalid escape in a quoted string")]
    [InlineData("\"a\\", "Invalid escape in a quoted string")]
    [InlineData("\"a\rb\"", "Invalid character in a quoted string")]
    [InlineData("\"a\nb\"", "Invalid character in a quoted string")]
    [InlineData("\"a\0b\"", "Invalid character in a quoted string")]
    [InlineData("\"abc", "Unterminated quoted string")]
    [InlineData("\"", "Unterminated quoted string")]
    [InlineData("\"\u00e9\"", "Invalid UTF-8 in a quoted string")]
    [InlineData("abc", "Expected a quoted string")]
    public void Bad_quoted_string(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadQuotedOctets().Length));

    [Fact]
    public void Quoted_string_may_hold_utf8()
    {
        var octets = Encoding.UTF8.GetBytes("\"caf\u00e9 \u65e5\u672c\"");
        Assert.Equal("caf\u00e9 \u65e5\u672c", Parse.Read(octets, (ref r) => r.ReadString()));
    }

    [Theory]
    [InlineData("{0}\r\n", "")]
    [InlineData("{3}\r\nabc", "abc")]
    [InlineData("{3+}\r\nabc", "abc")]
    [InlineData("{5}\r\na\r\nb\"", "a\r\nb\"")]
    [InlineData("{2}\r\n\u00e9\u00ff", "\u00e9\u00ff")]
    [InlineData("{0003}\r\nabc", "abc")]
    public void Literal(string text, string value) => Assert.Equal(value, Parse.Read(text, (ref r) => Parse.Text(r.ReadLiteralOctets())));

    [Fact]
    public void Literal_is_followed_by_the_rest_of_the_command()
    {
        Assert.Equal(("ab", "c"), Parse.Read("{2}\r\nab {1}\r\nc", (ref r) =>
        {
            var first = Parse.Text(r.ReadStringOctets());
            r.ReadSpace();
            return (first, Parse.Text(r.ReadStringOctets()));
        }));
    }

    [Theory]
    [InlineData("{4294967296}\r\nabc", "Literal shorter than its announced length")]
    [InlineData("{9223372036854775807}\r\nabc", "Literal shorter than its announced length")]
    [InlineData("{5}\r\nabc", "Literal shorter than its announced length")]
    [InlineData("{1}\r\n", "Literal shorter than its announced length")]
    [InlineData("{9223372036854775808}\r\nabc", "Invalid literal length")]
    [InlineData("{99999999999999999999}\r\nabc", "Invalid literal length")]
    [InlineData("{}\r\n", "Invalid literal length")]
    [InlineData("{-1}\r\n", "Invalid literal length")]
    [InlineData("{3x}\r\nabc", "Invalid literal length")]
    [InlineData("{3++}\r\nabc", "Invalid literal length")]
    [InlineData("{3", "Invalid literal length")]
    [InlineData("{3}abc", "Missing CRLF after a literal's length")]
    [InlineData("{3}\nabc", "Missing CRLF after a literal's length")]
    [InlineData("{3}", "Missing CRLF after a literal's length")]
    [InlineData("{3}\r\na\0c", "NUL octet in a literal")]
    [InlineData("~{3}\r\nabc", "A literal8 is not allowed here")]
    public void Bad_literal(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadLiteralOctets().Length));

    [Fact]
    public void Literal8_may_hold_nul_where_allowed()
    {
        Assert.Equal("a\0c", Parse.Read("~{3}\r\na\0c", (ref r) => Parse.Text(r.ReadLiteralOctets(allowBinary: true))));
        Assert.Equal("a\0c", Parse.Read("~{3+}\r\na\0c", (ref r) => Parse.Text(r.ReadLiteralOctets(allowBinary: true))));
    }

    [Theory]
    [InlineData("{0}", 0L, true, false)]
    [InlineData("{12+}", 12L, false, false)]
    [InlineData("~{4294967296}", 4294967296L, true, true)]
    [InlineData("~{7+}", 7L, false, true)]
    public void Literal_header(string text, long length, bool synchronizing, bool binary) =>
        Assert.Equal(new LiteralHeader(length, synchronizing, binary), Parse.Read(text, (ref r) => r.ReadLiteralHeader(allowBinary: true)));

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("a]b", "a]b")]
    [InlineData("\"a b\"", "a b")]
    [InlineData("\"\"", "")]
    [InlineData("{3}\r\na b", "a b")]
    public void AString(string text, string value) => Assert.Equal(value, Parse.Read(text, (ref r) => r.ReadAString()));

    [Theory]
    [InlineData("", "Expected a string")]
    [InlineData("(a)", "Expected a string")]
    [InlineData("%", "Expected a string")]
    public void Bad_astring(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadAString()));

    [Fact]
    public void Astring_atom_stops_at_specials() =>
        Assert.Equal("Unexpected text after the command's arguments", Parse.Bad("ab*", (ref r) => r.ReadAString()));

    [Fact]
    public void String_refuses_an_atom() => Assert.Equal("Expected a string", Parse.Bad("abc", (ref r) => r.ReadString()));

    [Fact]
    public void String_decoded_as_utf8_refuses_malformed_octets() =>
        Assert.Equal("Invalid UTF-8 in a string", Parse.Bad("{1}\r\n\u00e9", (ref r) => r.ReadString()));

    [Fact]
    public void NString_tells_nil_from_the_string_nil()
    {
        Assert.Null(Parse.Read("NIL", (ref r) => r.ReadNString()));
        Assert.Null(Parse.Read("nil", (ref r) => r.ReadNString()));
        Assert.Equal("NIL", Parse.Read("\"NIL\"", (ref r) => r.ReadNString()));
        Assert.Equal("", Parse.Read("\"\"", (ref r) => r.ReadNString()));
        Assert.True(Parse.Read("NIL", (ref r) =>
        {
            r.ReadNStringOctets(out var isNil);
            return isNil;
        }));
    }

    private static int Nest(ref ImapReader reader)
    {
        var deepest = 0;
        while (reader.TryReadOpenParen())
        {
            deepest = Math.Max(deepest, reader.Depth);
        }
        while (reader.TryReadCloseParen())
        {
        }
        return deepest;
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_accepted() => Assert.Equal(3, Parse.Read("((()))", Nest, maxDepth: 3));

    [Fact]
    public void Nesting_depth_exceeded_is_a_bad() =>
        Assert.Equal("Too deeply nested", Parse.Bad("(((())))", Nest, maxDepth: 3));

    [Fact]
    public void Ten_thousand_open_parentheses_are_a_bad() =>
        Assert.Equal("Too deeply nested", Parse.Bad(new string('(', 10_000), Nest));

    [Fact]
    public void Unbalanced_close_is_a_bad() =>
        Assert.Equal("Unbalanced \")\"", Parse.Bad(")", (ref r) => r.TryReadCloseParen()));

    [Fact]
    public void Flag_list_maps_system_flags_and_keeps_keywords()
    {
        var flags = Parse.Read("(\\Seen \\answered \\FLAGGED \\Deleted \\Draft $Forwarded Junk)", (ref r) => r.ReadFlagList());
        Assert.Equal(MessageFlags.Seen | MessageFlags.Answered | MessageFlags.Flagged | MessageFlags.Deleted | MessageFlags.Draft, flags.Flags);
        Assert.Equal(["$Forwarded", "Junk"], flags.Keywords);
        Assert.True(flags.Keywords.All(MessageKeywords.IsValid));
    }

    [Fact]
    public void Empty_flag_list()
    {
        var flags = Parse.Read("()", (ref r) => r.ReadFlagList());
        Assert.Equal(MessageFlags.None, flags.Flags);
        Assert.Empty(flags.Keywords);
    }

    [Fact]
    public void Keywords_are_kept_once_in_their_first_spelling() =>
        Assert.Equal(["Work", "b"], Parse.Read("(Work b WORK work)", (ref r) => r.ReadFlagList()).Keywords);

    [Fact]
    public void Flags_without_parentheses()
    {
        var flags = Parse.Read("\\Deleted x", (ref r) => r.ReadFlagSequence());
        Assert.Equal(MessageFlags.Deleted, flags.Flags);
        Assert.Equal(["x"], flags.Keywords);
    }

    [Theory]
    [InlineData("(\\Recent)", "Unknown system flag")]
    [InlineData("(\\Foo)", "Unknown system flag")]
    [InlineData("(\\)", "Invalid flag")]
    [InlineData("(\\*)", "Invalid flag")]
    [InlineData("(a\u00e9)", "Expected \")\" after the flags")]
    [InlineData("(\u00e9)", "Invalid flag")]
    [InlineData("(\\Seen", "Expected \")\" after the flags")]
    [InlineData("(\\Seen  \\Draft)", "Invalid flag")]
    [InlineData("( \\Seen)", "Invalid flag")]
    [InlineData("\\Seen", "Expected a flag list")]
    [InlineData("(\"a\")", "Invalid flag")]
    public void Bad_flag_list(string text, string message) => Assert.Equal(message, Parse.Bad(text, (ref r) => r.ReadFlagList()));

    [Theory]
    [InlineData("1-Feb-1994", 1994, 2, 1)]
    [InlineData("01-feb-1994", 1994, 2, 1)]
    [InlineData("\"29-FEB-2024\"", 2024, 2, 29)]
    [InlineData("31-Dec-9999", 9999, 12, 31)]
    public void Date(string text, int year, int month, int day) =>
        Assert.Equal(new DateOnly(year, month, day), Parse.Read(text, (ref r) => r.ReadDate()));

    [Theory]
    [InlineData("29-Feb-2023")]
    [InlineData("0-Jan-2020")]
    [InlineData("32-Jan-2020")]
    [InlineData("123-Jan-2020")]
    [InlineData("1-Foo-2020")]
    [InlineData("1-Feb-94")]
    [InlineData("1-Feb-0000")]
    [InlineData("1 Feb 2020")]
    [InlineData("\"1-Feb-2020")]
    [InlineData("")]
    public void Bad_date(string text) => Assert.Equal("Invalid date", Parse.Bad(text, (ref r) => r.ReadDate()));

    [Fact]
    public void Date_time_from_the_rfc() =>
        Assert.Equal(new DateTimeOffset(1996, 7, 17, 2, 44, 25, TimeSpan.FromHours(-7)),
            Parse.Read("\"17-Jul-1996 02:44:25 -0700\"", (ref r) => r.ReadDateTime()));

    [Fact]
    public void Date_time_with_a_space_padded_day_and_half_hour_zone() =>
        Assert.Equal(new DateTimeOffset(2024, 3, 7, 23, 59, 59, new TimeSpan(5, 30, 0)),
            Parse.Read("\" 7-mar-2024 23:59:59 +0530\"", (ref r) => r.ReadDateTime()));

    [Theory]
    [InlineData("17-Jul-1996 02:44:25 -0700")]
    [InlineData("\"7-Jul-1996 02:44:25 -0700\"")]
    [InlineData("\"17-Jul-1996 2:44:25 -0700\"")]
    [InlineData("\"17-Jul-1996 24:00:00 -0700\"")]
    [InlineData("\"17-Jul-1996 02:60:00 -0700\"")]
    [InlineData("\"17-Jul-1996 02:44:60 -0700\"")]
    [InlineData("\"17-Jul-1996 02:44:25 +1500\"")]
    [InlineData("\"17-Jul-1996 02:44:25 +0060\"")]
    [InlineData("\"17-Jul-1996 02:44:25 0700\"")]
    [InlineData("\"17-Jul-1996 02:44:25\"")]
    [InlineData("\"31-Apr-1996 02:44:25 -0700\"")]
    [InlineData("\"01-Jan-0001 00:00:00 +0100\"")]
    [InlineData("\"17-Jul-1996 02:44:25 -0700")]
    public void Bad_date_time(string text) => Assert.Equal("Invalid date-time", Parse.Bad(text, (ref r) => r.ReadDateTime()));

    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("inbox", "INBOX")]
    [InlineData("\"InBoX\"", "INBOX")]
    [InlineData("{5}\r\niNbOx", "INBOX")]
    [InlineData("INBOX/Sub", "INBOX/Sub")]
    [InlineData("Inbox2", "Inbox2")]
    [InlineData("\"\"", "")]
    [InlineData("\"a b\"", "a b")]
    [InlineData("Entw&APw-rfe", "Entw\u00fcrfe")]
    [InlineData("&AOk-t&AOk-", "\u00e9t\u00e9")]
    [InlineData("~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e")]
    [InlineData("A&-B", "A&B")]
    public void Mailbox(string text, string name) => Assert.Equal(name, Parse.Read(text, (ref r) => r.ReadMailbox()));

    [Theory]
    [InlineData("a&b")]
    [InlineData("&AGE-")]
    [InlineData("&AOk")]
    [InlineData("&AO-")]
    [InlineData("&2D0-")]
    [InlineData("&!!-")]
    [InlineData("\"caf\u00c3\u00a9\"")]
    [InlineData("{4}\r\ncaf\u00e9")]
    public void Mailbox_that_is_not_modified_utf7_is_a_bad(string text) =>
        Assert.Equal("Mailbox name is not valid modified UTF-7", Parse.Bad(text, (ref r) => r.ReadMailbox()));

    [Fact]
    public void Mailbox_is_utf8_once_utf8_accept_is_enabled()
    {
        var octets = Encoding.UTF8.GetBytes("\"caf\u00e9/\u65e5\u672c &AOk-\"");
        Assert.Equal("caf\u00e9/\u65e5\u672c &AOk-", Parse.Read(octets, (ref r) => r.ReadMailbox(), utf8Accept: true));
        Assert.Equal("Invalid UTF-8 in a mailbox name", Parse.Bad("{4}\r\ncaf\u00e9", (ref r) => r.ReadMailbox(), utf8Accept: true));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("*", "*")]
    [InlineData("a/%/b*", "a/%/b*")]
    [InlineData("]x", "]x")]
    [InlineData("\"\"", "")]
    [InlineData("\"a %\"", "a %")]
    [InlineData("&AOk-*", "\u00e9*")]
    public void List_mailbox(string text, string pattern) => Assert.Equal(pattern, Parse.Read(text, (ref r) => r.ReadListMailbox()));

    [Fact]
    public void List_mailbox_cannot_be_empty() =>
        Assert.Equal("Expected a mailbox pattern", Parse.Bad("(", (ref r) => r.ReadListMailbox()));
}
