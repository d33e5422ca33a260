using System.Text;
using Mail.Protocols.Imap.Fetch;
using static Mail.Protocols.Imap.Tests.Fetch.FetchTestSupport;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>
/// Section contents (BODY[section]&lt;partial&gt;, RFC822.*, BINARY, BINARY.SIZE) of a message built here, parsed by the
/// core's MessageSummaryParser, each asserted as the exact octets of the response.
/// </summary>
public sealed class FetchSectionTests
{
    private const string Header =
        "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\n" +
        "From: Fred Foobar <foobar@Blurdybloop.example>\n" +
        "Subject: =?utf-8?q?caf=C3=A9?= afternoon\n" +
        "  tea\n" +
        "To: Team: alice@example.org, \"Bob B\" <bob@example.org>;, carol@example.org\n" +
        "Message-ID: <B27397-0100000@Blurdybloop.example>\n" +
        "MIME-Version: 1.0\n" +
        "Content-Type: multipart/mixed; boundary=\"outer\"\n" +
        "\n";

    private const string Alternative =
        "--inner\n" +
        "Content-Type: text/plain; charset=us-ascii\n" +
        "\n" +
        "Hello plain\n" +
        "--inner\n" +
        "Content-Type: text/html; charset=utf-8\n" +
        "Content-Transfer-Encoding: quoted-printable\n" +
        "\n" +
        "<p>caf=C3=A9 =\n" +
        "soft</p>\n" +
        "--inner--";

    private const string AttachmentHeader =
        "Content-Type: application/octet-stream; name=\"data.bin\"\n" +
        "Content-Transfer-Encoding: base64\n" +
        "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.bin\n" +
        "Content-ID: <part2@example>\n" +
        "Content-Description: some data\n" +
        "Content-Language: en, de\n" +
        "Content-Location: http://example.com/data.bin\n" +
        "\n";

    private const string InnerHeader =
        "From: Inner <inner@example.org>\n" +
        "Subject: inner\n" +
        "Content-Type: text/plain\n" +
        "\n";

    private const string Text =
        "preamble\n" +
        "--outer\n" +
        "Content-Type: multipart/alternative; boundary=inner\n" +
        "\n" +
        Alternative + "\n" +
        "--outer\n" +
        AttachmentHeader +
        "AAECAwQ=\n" +
        "--outer\n" +
        "Content-Type: message/rfc822\n" +
        "\n" +
        InnerHeader +
        "Inner body\n" +
        "--outer--\n" +
        "epilogue\n";

    private static readonly byte[] s_message = Crlf(Header + Text);

    private static string C(string text) => Encoding.Latin1.GetString(Crlf(text));

    private static Task<string> Fetch(FetchItem item) => FetchTextAsync(s_message, item);

    private static async Task AssertSection(string name, string expected, FetchSection section, long? start = null, long? length = null) =>
        Assert.Equal(Literal(name, C(expected)), await Fetch(Body(section, start, length)));

    [Fact]
    public async Task Whole_message_header_and_text()
    {
        await AssertSection("BODY[]", Header + Text, FetchSection.Whole);
        await AssertSection("BODY[HEADER]", Header, FetchSection.Of(SectionText.Header));
        await AssertSection("BODY[TEXT]", Text, FetchSection.Of(SectionText.Text));
        Assert.Equal(Literal("RFC822", C(Header + Text)), await Fetch(new FetchItem(FetchItemKind.Rfc822)));
        Assert.Equal(Literal("RFC822.HEADER", C(Header)), await Fetch(new FetchItem(FetchItemKind.Rfc822Header)));
        Assert.Equal(Literal("RFC822.TEXT", C(Text)), await Fetch(new FetchItem(FetchItemKind.Rfc822Text)));
    }

    [Fact]
    public async Task Nested_parts_of_multiparts()
    {
        await AssertSection("BODY[1]", Alternative, FetchSection.Part(1));
        await AssertSection("BODY[1.1]", "Hello plain", FetchSection.Part(1, 1));
        await AssertSection("BODY[1.2]", "<p>caf=C3=A9 =\nsoft</p>", FetchSection.Part(1, 2));
        await AssertSection("BODY[1.2.MIME]", "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n", Section(SectionText.Mime, [1, 2]));
        await AssertSection("BODY[1.MIME]", "Content-Type: multipart/alternative; boundary=inner\n\n", Section(SectionText.Mime, [1]));
        await AssertSection("BODY[2]", "AAECAwQ=", FetchSection.Part(2));
        await AssertSection("BODY[2.MIME]", AttachmentHeader, Section(SectionText.Mime, [2]));
    }

    [Fact]
    public async Task Parts_of_an_embedded_message()
    {
        await AssertSection("BODY[3]", InnerHeader + "Inner body", FetchSection.Part(3));
        await AssertSection("BODY[3.HEADER]", InnerHeader, Section(SectionText.Header, [3]));
        await AssertSection("BODY[3.TEXT]", "Inner body", Section(SectionText.Text, [3]));
        // Part 1 of the embedded message, whose body is not multipart, is that body; its MIME header is the message's.
        await AssertSection("BODY[3.1]", "Inner body", FetchSection.Part(3, 1));
        await AssertSection("BODY[3.1.MIME]", InnerHeader, Section(SectionText.Mime, [3, 1]));
        await AssertSection("BODY[3.HEADER.FIELDS (subject)]", "Subject: inner\n\n", Section(SectionText.HeaderFields, [3], "subject"));
    }

    [Fact]
    public async Task Part_one_of_a_message_that_is_not_multipart_is_its_body()
    {
        var message = Crlf("Subject: one\nContent-Type: text/plain\n\nJust text\n");
        Assert.Equal(Literal("BODY[1]", C("Just text\n")), await FetchTextAsync(message, Body(FetchSection.Part(1))));
        Assert.Equal(Literal("BODY[1.MIME]", C("Subject: one\nContent-Type: text/plain\n\n")), await FetchTextAsync(message, Body(Section(SectionText.Mime, [1]))));
        Assert.Equal(Literal("BODY[2]", ""), await FetchTextAsync(message, Body(FetchSection.Part(2))));
        Assert.Equal(Literal("BODY[1.1]", ""), await FetchTextAsync(message, Body(FetchSection.Part(1, 1))));
    }

    [Theory]
    [InlineData(new uint[] { 4 })]
    [InlineData(new uint[] { 0 })]
    [InlineData(new uint[] { 1, 3 })]
    [InlineData(new uint[] { 1, 1, 1 })]
    [InlineData(new uint[] { 2, 1 })]
    [InlineData(new uint[] { 3, 2 })]
    [InlineData(new uint[] { uint.MaxValue })]
    public async Task A_part_that_does_not_exist_is_an_empty_string(uint[] parts)
    {
        var name = "BODY[" + string.Join('.', parts) + "]";
        Assert.Equal(Literal(name, ""), await Fetch(Body(FetchSection.Part(parts))));
    }

    [Fact]
    public async Task Header_or_text_of_a_part_that_is_not_a_message_is_empty()
    {
        Assert.Equal(Literal("BODY[2.HEADER]", ""), await Fetch(Body(Section(SectionText.Header, [2]))));
        Assert.Equal(Literal("BODY[1.TEXT]", ""), await Fetch(Body(Section(SectionText.Text, [1]))));
    }

    [Fact]
    public async Task Header_fields_keep_the_lines_asked_with_their_folded_continuations_and_the_blank_line()
    {
        await AssertSection("BODY[HEADER.FIELDS (SUBJECT to)]",
            "Subject: =?utf-8?q?caf=C3=A9?= afternoon\n  tea\nTo: Team: alice@example.org, \"Bob B\" <bob@example.org>;, carol@example.org\n\n",
            Section(SectionText.HeaderFields, [], "SUBJECT", "to"));
        await AssertSection("BODY[HEADER.FIELDS.NOT (Subject Date To Message-ID MIME-Version)]",
            "From: Fred Foobar <foobar@Blurdybloop.example>\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n",
            Section(SectionText.HeaderFieldsNot, [], "Subject", "Date", "To", "Message-ID", "MIME-Version"));
        await AssertSection("BODY[HEADER.FIELDS (X-Absent)]", "\n", Section(SectionText.HeaderFields, [], "X-Absent"));
        // A name that is a prefix of a field's, or longer than it, is not that field.
        await AssertSection("BODY[HEADER.FIELDS (Subj Subjects)]", "\n", Section(SectionText.HeaderFields, [], "Subj", "Subjects"));
    }

    // RFC 9051 §6.4.5: "the blank line is included in all header fetches, except in the case of a message which has
    // no body and no blank line". Such a message is all header: every header section is its lines and nothing more.
    [Fact]
    public async Task Header_sections_of_a_message_with_no_blank_line_and_no_body_have_no_blank_line()
    {
        var message = Crlf("Date: Tue, 17 Nov 2026 17:17:17 +0000\nFrom: a@example.org\nSubject: header only\n");
        var all = C("Date: Tue, 17 Nov 2026 17:17:17 +0000\nFrom: a@example.org\nSubject: header only\n");
        Assert.Equal(Literal("BODY[HEADER]", all), await FetchTextAsync(message, Body(FetchSection.Of(SectionText.Header))));
        Assert.Equal(Literal("RFC822.HEADER", all), await FetchTextAsync(message, new FetchItem(FetchItemKind.Rfc822Header)));
        Assert.Equal(Literal("BODY[1.MIME]", all), await FetchTextAsync(message, Body(Section(SectionText.Mime, [1]))));
        Assert.Equal(Literal("BODY[TEXT]", ""), await FetchTextAsync(message, Body(FetchSection.Of(SectionText.Text))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS (SUBJECT from)]", C("From: a@example.org\nSubject: header only\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [], "SUBJECT", "from"))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS.NOT (DATE)]", C("From: a@example.org\nSubject: header only\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFieldsNot, [], "DATE"))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS (X-Absent)]", ""), await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [], "X-Absent"))));
    }

    [Fact]
    public async Task Header_fields_of_a_header_without_final_line_break_complete_its_last_line_but_add_no_blank_line()
    {
        var message = "X-A: 1\r\nX-B: 2"u8.ToArray();
        Assert.Equal(Literal("BODY[HEADER.FIELDS (X-B)]", "X-B: 2\r\n"), await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [], "X-B"))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS.NOT (X-B)]", "X-A: 1\r\n"), await FetchTextAsync(message, Body(Section(SectionText.HeaderFieldsNot, [], "X-B"))));
    }

    // A blank line and no body: the blank line is there, so every header section has it.
    [Fact]
    public async Task Header_sections_of_a_message_with_a_blank_line_and_no_body_end_with_it()
    {
        var message = Crlf("From: a@example.org\nSubject: empty body\n\n");
        Assert.Equal(Literal("BODY[HEADER]", C("From: a@example.org\nSubject: empty body\n\n")), await FetchTextAsync(message, Body(FetchSection.Of(SectionText.Header))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS (SUBJECT)]", C("Subject: empty body\n\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [], "SUBJECT"))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS.NOT (SUBJECT)]", C("From: a@example.org\n\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFieldsNot, [], "SUBJECT"))));
    }

    // The same rule for the header of an embedded message/rfc822 that ends at its enclosing boundary.
    [Fact]
    public async Task Header_fields_of_an_embedded_message_with_no_blank_line_and_no_body_have_no_blank_line()
    {
        var message = Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nSubject: inner only\nFrom: x@example.org\n--b--\n");
        Assert.Equal(Literal("BODY[1.HEADER]", C("Subject: inner only\nFrom: x@example.org")), await FetchTextAsync(message, Body(Section(SectionText.Header, [1]))));
        Assert.Equal(Literal("BODY[1.HEADER.FIELDS (SUBJECT)]", C("Subject: inner only\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [1], "SUBJECT"))));
    }

    [Fact]
    public async Task Header_fields_with_whitespace_before_the_colon_and_a_field_name_longer_than_any_asked()
    {
        var message = Crlf("Subject : spaced\nX-" + new string('y', 5000) + ": long\n folded\nTo: a@b\n\nbody\n");
        Assert.Equal(Literal("BODY[HEADER.FIELDS (subject TO)]", C("Subject : spaced\nTo: a@b\n\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFields, [], "subject", "TO"))));
        Assert.Equal(Literal("BODY[HEADER.FIELDS.NOT (subject TO)]", C("X-" + new string('y', 5000) + ": long\n folded\n\n")),
            await FetchTextAsync(message, Body(Section(SectionText.HeaderFieldsNot, [], "subject", "TO"))));
    }

    [Fact]
    public async Task Partial_fetch_names_its_origin_and_is_cut_to_the_section()
    {
        var whole = C(Header + Text);
        Assert.Equal(Literal("BODY[]<0>", whole[..10]), await Fetch(Body(FetchSection.Whole, 0, 10)));
        Assert.Equal(Literal("BODY[]<6>", whole.Substring(6, 4)), await Fetch(Body(FetchSection.Whole, 6, 4)));
        Assert.Equal(Literal($"BODY[]<{whole.Length - 3}>", whole[^3..]), await Fetch(Body(FetchSection.Whole, (uint)whole.Length - 3, 100)));
        Assert.Equal(Literal($"BODY[]<{whole.Length}>", ""), await Fetch(Body(FetchSection.Whole, (uint)whole.Length, 1)));
        Assert.Equal(Literal("BODY[]<4294967295>", ""), await Fetch(Body(FetchSection.Whole, uint.MaxValue, uint.MaxValue)));
        Assert.Equal(Literal("BODY[1.1]<6>", "plain"), await Fetch(Body(FetchSection.Part(1, 1), 6, 4294967295)));
        // The window of HEADER.FIELDS is over the filtered lines.
        Assert.Equal(Literal("BODY[HEADER.FIELDS (Subject)]<9>", "=?utf"), await Fetch(Body(Section(SectionText.HeaderFields, [], "Subject"), 9, 5)));
    }

    [Fact]
    public async Task Binary_decodes_quoted_printable_and_base64_into_a_literal8()
    {
        // Decoded data is a literal8 whatever it holds (as Dovecot sends it); undecoded data only when it has NUL.
        Assert.Equal(Literal8("BINARY[1.2]", "<p>caf\u00c3\u00a9 soft</p>"), await Fetch(Binary(1, 2)));
        Assert.Equal(Literal8("BINARY[2]", "\u0000\u0001\u0002\u0003\u0004"), await Fetch(Binary(2)));
        Assert.Equal(Literal("BINARY[1.1]", "Hello plain"), await Fetch(Binary(1, 1)));
        Assert.Equal(Literal("BINARY[]", C(Header + Text)), await Fetch(Binary()));
        Assert.Equal(Literal("BINARY[3]", C(InnerHeader + "Inner body")), await Fetch(Binary(3)));
        Assert.Equal(Literal("BINARY[9]", ""), await Fetch(Binary(9)));
        // Partial: the window is over the decoded octets, and the response names its origin as BODY[] does.
        Assert.Equal(Literal8("BINARY[2]<0>", "\u0000\u0001"), await Fetch(new FetchItem(FetchItemKind.Binary, FetchSection.Part(2), true, 0, 2)));
        Assert.Equal(Literal8("BINARY[2]<3>", "\u0003\u0004"), await Fetch(new FetchItem(FetchItemKind.Binary, FetchSection.Part(2), true, 3, 10)));
        Assert.Equal(Literal8("BINARY[1.2]<3>", "caf\u00c3\u00a9"), await Fetch(new FetchItem(FetchItemKind.Binary, FetchSection.Part(1, 2), false, 3, 5)));
        Assert.Equal(Literal8("BINARY[1.2]<17>", ""), await Fetch(new FetchItem(FetchItemKind.Binary, FetchSection.Part(1, 2), false, 17, 5)));
        Assert.Equal(Literal("BINARY[1.1]<0>", "Hel"), await Fetch(new FetchItem(FetchItemKind.Binary, FetchSection.Part(1, 1), false, 0, 3)));
    }

    [Fact]
    public async Task Binary_of_an_undecoded_section_with_nul_is_a_literal8()
    {
        var message = "Content-Type: application/x\r\nContent-Transfer-Encoding: binary\r\n\r\na\0b"u8.ToArray();
        Assert.Equal(Literal8("BINARY[1]", "a\u0000b"), await FetchTextAsync(message, Binary(1)));
        Assert.Equal(Literal8("BINARY[]", Encoding.Latin1.GetString(message)), await FetchTextAsync(message, Binary()));
    }

    [Fact]
    public async Task Binary_size_is_the_decoded_size()
    {
        Assert.Equal("* 1 FETCH (BINARY.SIZE[2] 5)\r\n", await Fetch(new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(2))));
        Assert.Equal("* 1 FETCH (BINARY.SIZE[1.2] 17)\r\n", await Fetch(new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(1, 2))));
        Assert.Equal("* 1 FETCH (BINARY.SIZE[1.1] 11)\r\n", await Fetch(new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(1, 1))));
        Assert.Equal("* 1 FETCH (BINARY.SIZE[5] 0)\r\n", await Fetch(new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(5))));
    }

    [Fact]
    public async Task Binary_of_a_part_with_an_unknown_encoding_writes_nothing_and_says_unknown_cte()
    {
        var message = Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nok\n--b\nContent-Type: application/x\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n--b--\n");
        var request = FetchRequest.Create([new FetchItem(FetchItemKind.Flags), new FetchItem(FetchItemKind.BinarySize, FetchSection.Part(2))]);
        var (outcome, bytes) = await FetchAsync(message, request);
        Assert.Equal(FetchOutcome.UnknownTransferEncoding, outcome);
        Assert.Empty(bytes);
        Assert.Equal(FetchOutcome.UnknownTransferEncoding, (await FetchAsync(message, Binary(2))).Outcome);
        // BODY[2] of the same part is the stored octets, and BINARY of the other part decodes.
        Assert.Equal(Literal("BODY[2]", "begin 644 x"), await FetchTextAsync(message, Body(FetchSection.Part(2))));
        Assert.Equal(Literal("BINARY[1]", "ok"), await FetchTextAsync(message, Binary(1)));
    }

    [Fact]
    public async Task Envelope_and_bodystructure_of_the_built_message()
    {
        var text = await FetchTextAsync(s_message, new FetchItem(FetchItemKind.Envelope), new FetchItem(FetchItemKind.BodyStructure));
        Assert.Equal(
            "* 1 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800 (PST)\" \"=?utf-8?q?caf=C3=A9?= afternoon  tea\" " +
            "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) ((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) " +
            "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.example\")) " +
            "((NIL NIL \"Team\" NIL)(NIL NIL \"alice\" \"example.org\")(\"Bob B\" NIL \"bob\" \"example.org\")(NIL NIL NIL NIL)(NIL NIL \"carol\" \"example.org\")) " +
            "NIL NIL NIL \"<B27397-0100000@Blurdybloop.example>\") " +
            "BODYSTRUCTURE (" +
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL)" +
            "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 24 2 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)" +
            "(\"application\" \"octet-stream\" (\"name\" \"data.bin\") \"<part2@example>\" \"some data\" \"base64\" 8 NIL " +
            "(\"attachment\" (\"filename*\" \"utf-8''%E2%82%AC%20rates.bin\")) (\"en\" \"de\") \"http://example.com/data.bin\")" +
            "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 87 " +
            "(NIL \"inner\" ((\"Inner\" NIL \"inner\" \"example.org\")) ((\"Inner\" NIL \"inner\" \"example.org\")) ((\"Inner\" NIL \"inner\" \"example.org\")) NIL NIL NIL NIL NIL) " +
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) " +
            "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL))\r\n",
            text);
    }

    [Fact]
    public async Task A_stream_that_cannot_seek_is_read_forward_and_reopened_to_go_back()
    {
        var request = FetchRequest.Create([
            Body(FetchSection.Part(3)), Body(FetchSection.Part(1, 1)), Body(Section(SectionText.HeaderFields, [], "Subject")),
            new FetchItem(FetchItemKind.Binary, FetchSection.Part(2), true), new FetchItem(FetchItemKind.Rfc822Size)]);
        var forward = await FetchAsync(s_message, request, seekable: false);
        var seeking = await FetchAsync(s_message, request, seekable: true);
        Assert.Equal(FetchOutcome.Written, forward.Outcome);
        Assert.Equal(Encoding.Latin1.GetString(seeking.Bytes), Encoding.Latin1.GetString(forward.Bytes));
        Assert.Contains("BODY[1.1] {11}\r\nHello plain BODY[HEADER.FIELDS (Subject)] {", Encoding.Latin1.GetString(forward.Bytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_shorter_than_its_size_is_an_error_not_a_short_literal()
    {
        var info = Info(s_message.Length + 10);
        await Assert.ThrowsAsync<InvalidDataException>(() => FetchAsync(s_message, FetchRequest.Create([new FetchItem(FetchItemKind.Rfc822)]), info));
    }

    // A summary whose offsets do not fit its content (a store's bug, or a content replaced under it) cannot send a copy
    // past the content's end or backwards: the ranges are clamped to the content.
    [Fact]
    public async Task Offsets_that_do_not_fit_the_content_are_clamped()
    {
        var message = Crlf("Subject: x\n\nbody\n");
        var wrong = new Storage.MessageSummary(Parse(message).Envelope, new Storage.BodyPartSummary
        {
            MediaType = "multipart", MediaSubtype = "mixed",
            Children =
            [
                new Storage.BodyPartSummary { MediaType = "text", MediaSubtype = "plain", HeaderOffset = 500, BodyOffset = 10, EndOffset = 5 },
                new Storage.BodyPartSummary { MediaType = "text", MediaSubtype = "plain", HeaderOffset = -4, BodyOffset = 12, EndOffset = long.MaxValue },
            ],
        }) { BodyOffset = 1000 };
        var request = FetchRequest.Create([Body(FetchSection.Part(1)), Body(Section(SectionText.Mime, [1])), Body(FetchSection.Part(2)),
            Body(Section(SectionText.Mime, [2])), Body(Section(SectionText.Text, [])), Body(Section(SectionText.HeaderFields, [], "Subject"))]);
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0));
        var outcome = await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(message.Length), wrong,
            _ => ValueTask.FromResult<Stream>(new MemoryStream(message)), request);
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        Assert.Equal(FetchOutcome.Written, outcome);
        Assert.Equal(
            "* 1 FETCH (BODY[1] {0}\r\n BODY[1.MIME] {0}\r\n BODY[2] {8}\r\n\r\nbody\r\n BODY[2.MIME] {12}\r\nSubject: x\r\n " +
            "BODY[TEXT] {0}\r\n BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: x\r\n\r\n)\r\n",
            Encoding.Latin1.GetString(System.Buffers.BuffersExtensions.ToArray(read.Buffer)));
    }
}
