using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Imap.Protocol;
using Mail.Protocols.Imap.Tests.Protocol;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>The fetch-att grammar (RFC 9051 §9, RFC 3516, RFC 7162) after "FETCH sequence-set SP".</summary>
public sealed class FetchParserTests
{
    private static FetchRequest Read(string arguments, bool uid = false, bool qresync = false) =>
        Parse.Read(arguments, (ref ImapReader r) => FetchParser.Read(ref r, uid, qresync));

    private static string Bad(string arguments, bool uid = false, bool qresync = false) =>
        Parse.Bad(arguments, (ref ImapReader r) => FetchParser.Read(ref r, uid, qresync));

    private static FetchItem One(string arguments) => Assert.Single(Read(arguments).Items);

    [Fact]
    public void Macros_expand_as_rfc_9051_defines_them()
    {
        Assert.Equal([FetchItemKind.Flags, FetchItemKind.InternalDate, FetchItemKind.Rfc822Size, FetchItemKind.Envelope], Read("ALL").Items.Select(i => i.Kind));
        Assert.Equal([FetchItemKind.Flags, FetchItemKind.InternalDate, FetchItemKind.Rfc822Size], Read("fast").Items.Select(i => i.Kind));
        Assert.Equal([FetchItemKind.Flags, FetchItemKind.InternalDate, FetchItemKind.Rfc822Size, FetchItemKind.Envelope, FetchItemKind.Body], Read("Full").Items.Select(i => i.Kind));
    }

    [Theory]
    [InlineData("ENVELOPE", (int)FetchItemKind.Envelope)]
    [InlineData("FLAGS", (int)FetchItemKind.Flags)]
    [InlineData("INTERNALDATE", (int)FetchItemKind.InternalDate)]
    [InlineData("RFC822", (int)FetchItemKind.Rfc822)]
    [InlineData("RFC822.HEADER", (int)FetchItemKind.Rfc822Header)]
    [InlineData("rfc822.size", (int)FetchItemKind.Rfc822Size)]
    [InlineData("RFC822.TEXT", (int)FetchItemKind.Rfc822Text)]
    [InlineData("BODY", (int)FetchItemKind.Body)]
    [InlineData("BODYSTRUCTURE", (int)FetchItemKind.BodyStructure)]
    [InlineData("UID", (int)FetchItemKind.Uid)]
    [InlineData("MODSEQ", (int)FetchItemKind.ModSeq)]
    public void Each_simple_item(string text, int kind) => Assert.Equal(new FetchItem((FetchItemKind)kind), One(text));

    [Fact]
    public void A_parenthesised_list_keeps_its_order()
    {
        // RFC 9051 §6.4.5 example: FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
        var request = Read("(FLAGS BODY[HEADER.FIELDS (DATE FROM)])");
        Assert.Equal(2, request.Items.Length);
        Assert.Equal(FetchItemKind.Flags, request.Items[0].Kind);
        Assert.Equal(new FetchItem(FetchItemKind.BodySection, new FetchSection([], SectionText.HeaderFields, ["DATE", "FROM"])), request.Items[1]);
        Assert.True(request.SetsSeen);
        Assert.Equal([FetchItemKind.Uid, FetchItemKind.Rfc822Size], Read("(RFC822.SIZE)", uid: true).Items.Select(i => i.Kind));
        Assert.Equal([FetchItemKind.Envelope, FetchItemKind.Uid], Read("(ENVELOPE UID)", uid: true).Items.Select(i => i.Kind));
    }

    public static TheoryData<string, string> SectionCases => new()
    {
        { "BODY[]", "[]" },
        { "BODY[HEADER]", "[HEADER]" },
        { "BODY[TEXT]", "[TEXT]" },
        { "body[header.fields (Subject \"X-Odd Name\" {4}\r\nDate)]", "[HEADER.FIELDS (Subject \"X-Odd Name\" Date)]" },
        { "BODY[HEADER.FIELDS.NOT (Received)]", "[HEADER.FIELDS.NOT (Received)]" },
        { "BODY[1]", "[1]" },
        { "BODY[1.2.3]", "[1.2.3]" },
        { "BODY[4.2.HEADER]", "[4.2.HEADER]" },
        { "BODY[4.2.TEXT]", "[4.2.TEXT]" },
        { "BODY[3.MIME]", "[3.MIME]" },
        { "BODY[4.2.2.1.HEADER.FIELDS (To)]", "[4.2.2.1.HEADER.FIELDS (To)]" },
    };

    [Theory]
    [MemberData(nameof(SectionCases))]
    public void Sections_are_read_and_echo_as_the_response_names_them(string text, string echoed)
    {
        var item = One(text);
        Assert.Equal(FetchItemKind.BodySection, item.Kind);
        Assert.False(item.Peek);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        FetchResponseWriter.WriteSectionSpec(buffer, item.Section!);
        Assert.Equal(echoed, "[" + System.Text.Encoding.Latin1.GetString(buffer.WrittenSpan) + "]");
    }

    [Fact]
    public void Peek_partial_and_binary_forms()
    {
        Assert.Equal(new FetchItem(FetchItemKind.BodySection, FetchSection.Whole, true, 0, 1024), One("BODY.PEEK[]<0.1024>"));
        Assert.Equal(new FetchItem(FetchItemKind.BodySection, FetchSection.Part(1, 2), false, 4294967296, 9223372036854775807), One("BODY[1.2]<4294967296.9223372036854775807>"));
        Assert.Equal(new FetchItem(FetchItemKind.Binary, FetchSection.Part(1, 2)), One("BINARY[1.2]"));
        Assert.Equal(new FetchItem(FetchItemKind.Binary, FetchSection.Whole, true, 10, 20), One("binary.peek[]<10.20>"));
        Assert.Equal(new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(3)), One("BINARY.SIZE[3]"));
        Assert.False(Read("(BODY.PEEK[TEXT] BINARY.PEEK[1] BINARY.SIZE[1] RFC822.HEADER)").SetsSeen);
        Assert.True(Read("(BODY.PEEK[TEXT] RFC822.TEXT)").SetsSeen);
        Assert.True(Read("BINARY[1]").SetsSeen);
    }

    [Fact]
    public void Changedsince_and_vanished_modifiers()
    {
        var request = Read("(FLAGS) (CHANGEDSINCE 12345)");
        Assert.Equal(12345UL, request.ChangedSince);
        Assert.False(request.Vanished);
        Assert.True(request.UsesCondStore);
        Assert.Equal([FetchItemKind.Flags, FetchItemKind.ModSeq], request.Items.Select(i => i.Kind));

        // RFC 7162 §3.2.6 example: UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)
        var vanished = Read("(FLAGS) (CHANGEDSINCE 12345 VANISHED)", uid: true, qresync: true);
        Assert.True(vanished.Vanished);
        Assert.Equal([FetchItemKind.Uid, FetchItemKind.Flags, FetchItemKind.ModSeq], vanished.Items.Select(i => i.Kind));
        Assert.True(Read("FLAGS (VANISHED CHANGEDSINCE 1)", uid: true, qresync: true).Vanished);
        Assert.False(Read("FLAGS").UsesCondStore);
        Assert.True(Read("MODSEQ").UsesCondStore);
    }

    [Theory]
    [InlineData("", "Expected a FETCH item")]
    [InlineData("FLAG", "Unknown FETCH item")]
    [InlineData("FLAGSX", "Unknown FETCH item")]
    [InlineData("FLAGS-X", "Unknown FETCH item")]
    [InlineData("BODYSTRUCTURE[]", "Unknown FETCH item")]
    [InlineData("()", "Expected a FETCH item")]
    [InlineData("(FLAGS", "Expected \")\" after the FETCH items")]
    [InlineData("(FLAGS  UID)", "Expected a FETCH item")]
    [InlineData("(ALL)", "Unknown FETCH item")]
    [InlineData("BODY.PEEK", "Expected \"[\" before the section")]
    [InlineData("BINARY", "Expected \"[\" before the section")]
    [InlineData("BODY[", "Invalid section")]
    [InlineData("BODY[1", "Expected \"]\" after the section")]
    [InlineData("BODY[0]", "Expected a non-zero number")]
    [InlineData("BODY[1.0]", "Expected a non-zero number")]
    [InlineData("BODY[1.]", "Invalid section")]
    [InlineData("BODY[MIME]", "MIME needs a part number")]
    [InlineData("BODY[HEADERS]", "Expected \"]\" after the section")]
    [InlineData("BODY[1.FOO]", "Invalid section")]
    [InlineData("BODY[HEADER.FIELDS]", "Missing space before the header list")]
    [InlineData("BODY[HEADER.FIELDS ()]", "Expected a header field name")]
    [InlineData("BODY[HEADER.FIELDS (A]", "Expected \")\" after the header list")]
    [InlineData("BODY[HEADER.FIELDS A]", "Expected \"(\" before the header list")]
    [InlineData("BODY[]<>", "Expected a number")]
    [InlineData("BODY[]<1>", "Expected \".\" in the partial range")]
    [InlineData("BODY[]<1.0>", "Expected a non-zero number")]
    [InlineData("BODY[]<1.2", "Expected \">\" after the partial range")]
    [InlineData("BODY[]<9223372036854775808.1>", "Number out of range")]
    [InlineData("BINARY[HEADER]", "A BINARY section has part numbers only")]
    [InlineData("BINARY[1.MIME]", "A BINARY section has part numbers only")]
    [InlineData("BINARY.SIZE[1]<0.1>", "BINARY.SIZE takes no partial range")]
    [InlineData("FLAGS ()", "Unknown FETCH modifier")]
    [InlineData("FLAGS (FOO)", "Unknown FETCH modifier")]
    [InlineData("FLAGS (CHANGEDSINCE)", "Missing space after CHANGEDSINCE")]
    [InlineData("FLAGS (CHANGEDSINCE x)", "Expected a number")]
    [InlineData("FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)", "CHANGEDSINCE given twice")]
    [InlineData("FLAGS CHANGEDSINCE 1", "Expected \"(\" before the FETCH modifiers")]
    [InlineData("FLAGS (CHANGEDSINCE 1", "Expected \")\" after the FETCH modifiers")]
    public void Malformed_arguments_are_bad_with_a_reason(string arguments, string reason) => Assert.Equal(reason, Bad(arguments, uid: true, qresync: true));

    [Fact]
    public void Vanished_is_bad_outside_uid_fetch_without_changedsince_or_before_qresync()
    {
        Assert.Equal("VANISHED is allowed only in UID FETCH", Bad("FLAGS (CHANGEDSINCE 1 VANISHED)", uid: false, qresync: true));
        Assert.Equal("VANISHED needs CHANGEDSINCE", Bad("FLAGS (VANISHED)", uid: true, qresync: true));
        Assert.Equal("VANISHED needs ENABLE QRESYNC first", Bad("FLAGS (CHANGEDSINCE 1 VANISHED)", uid: true, qresync: false));
        Assert.Equal("VANISHED given twice", Bad("FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)", uid: true, qresync: true));
    }

    [Fact]
    public void Counts_are_bounded()
    {
        var items = "(" + string.Join(' ', Enumerable.Repeat("UID", FetchParser.MaxItems)) + ")";
        Assert.Equal(FetchParser.MaxItems, Read(items).Items.Length);
        Assert.Equal("Too many FETCH items", Bad("(" + string.Join(' ', Enumerable.Repeat("UID", FetchParser.MaxItems + 1)) + ")"));
        var parts = string.Join('.', Enumerable.Repeat("1", FetchParser.MaxSectionParts));
        Assert.Equal(FetchParser.MaxSectionParts, One("BODY[" + parts + "]").Section!.Parts.Length);
        Assert.Equal("Too many section part numbers", Bad("BODY[" + parts + ".1]"));
        var fields = string.Join(' ', Enumerable.Range(0, FetchParser.MaxHeaderFields).Select(i => "X-" + i));
        Assert.Equal(FetchParser.MaxHeaderFields, One("BODY[HEADER.FIELDS (" + fields + ")]").Section!.Fields.Length);
        Assert.Equal("Too many header field names", Bad("BODY[HEADER.FIELDS (" + fields + " Y)]"));
    }

    [Fact]
    public void Nested_parentheses_in_the_item_list_are_bad_not_a_stack_overflow()
    {
        Assert.Equal("Expected a FETCH item", Bad(new string('(', 10_000) + "FLAGS" + new string(')', 10_000)));
    }

    // Every prefix and every one-octet change of valid arguments either parses or is a BAD: nothing else is thrown.
    [Fact]
    public void Truncated_and_mutated_arguments_only_ever_give_a_bad()
    {
        string[] valid =
        [
            "(FLAGS BODY.PEEK[1.2.HEADER.FIELDS.NOT (Received {3}\r\nX-A)]<0.100> BINARY.SIZE[2] MODSEQ) (CHANGEDSINCE 5 VANISHED)",
            "BODY[4.2.MIME]<10.20>", "FULL", "BINARY.PEEK[]<1.2>",
        ];
        var random = new Random(11);
        foreach (var text in valid)
        {
            var octets = Parse.Octets(text);
            for (var length = 0; length <= octets.Length; length++)
            {
                Check(octets[..length]);
            }
            for (var round = 0; round < 2000; round++)
            {
                var mutated = (byte[])octets.Clone();
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                Check(mutated);
            }
        }

        static void Check(byte[] octets)
        {
            try
            {
                Parse.Read(octets, (ref ImapReader r) => FetchParser.Read(ref r, isUid: true, qresyncEnabled: true));
            }
            catch (ImapParseException)
            {
            }
        }
    }
}
