using System.Buffers;
using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;
using static Mail.Protocols.Imap.Tests.Fetch.FetchTestSupport;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>The items written from a message's info and summary: FLAGS, INTERNALDATE, ENVELOPE, BODY, BODYSTRUCTURE.</summary>
public sealed class FetchDataWriterTests
{
    private static string Write(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return Encoding.Latin1.GetString(buffer.WrittenSpan);
    }

    private static EnvelopeAddress Addr(string? name, string mailbox, string host) => new(name, null, mailbox, host);

    // The quoted 7-bit strings written straight from a string's characters are the octets the general path (the value's
    // octets, then quoted or literal) writes: for quotes and backslashes, tabs, the quoted bound, 8-bit, escaped octets,
    // line breaks and NUL.
    [Theory]
    [InlineData("")]
    [InlineData("plain text")]
    [InlineData("with \"quotes\" and a \\ backslash")]
    [InlineData("tab\there \u0001 and \u007F")]
    [InlineData("caf\u00e9")]
    [InlineData("r\uDCE9sum\uDCE9")]
    [InlineData("line\r\nbreak")]
    [InlineData("bare\nlf")]
    [InlineData("nul\0")]
    [InlineData(1024)]
    [InlineData(1025)]
    public void A_string_is_written_as_its_octets_would_be(object value)
    {
        var text = value as string ?? new string('x', (int)value - 4) + "\"\\ok";
        Assert.Equal(
            Write(w => FetchDataWriter.WriteString(w, Mail.Protocols.Text.EscapedOctets.GetBytes(text))),
            Write(w => FetchDataWriter.WriteString(w, text)));
    }

    // RFC 3501 §7.4.2, the example FETCH response: its envelope and non-extensible body, from a summary with those values.
    [Fact]
    public async Task Rfc3501_fetch_example_is_written_byte_for_byte()
    {
        var gray = Addr("Terry Gray", "gray", "cac.washington.edu");
        var envelope = new MessageEnvelope(
            "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", "IMAP4rev1 WG mtg summary and minutes",
            [gray], [gray], [gray], [Addr(null, "imap", "cac.washington.edu")],
            [Addr(null, "minutes", "CNRI.Reston.VA.US"), Addr("John Klensin", "KLENSIN", "MIT.EDU")], [],
            null, "<B27397-0100000@cac.washington.edu>");
        var body = new BodyPartSummary
        {
            MediaType = "TEXT", MediaSubtype = "PLAIN", Parameters = [new("CHARSET", "US-ASCII")], TransferEncoding = "7BIT",
            BodyOffset = 1258, EndOffset = 1258 + 3028, Lines = 92,
        };
        var request = FetchRequest.Create([new(FetchItemKind.Flags), new(FetchItemKind.InternalDate), new(FetchItemKind.Rfc822Size), new(FetchItemKind.Envelope), new(FetchItemKind.Body)]);
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pauseWriterThreshold: 0));
        var outcome = await FetchResponseWriter.WriteAsync(pipe.Writer, 12, Info(4286, MessageFlags.Seen), new MessageSummary(envelope, body), null, request);
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);

        Assert.Equal(FetchOutcome.Written, outcome);
        Assert.Equal(
            "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 " +
            "ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" " +
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) " +
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) " +
            "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL " +
            "\"<B27397-0100000@cac.washington.edu>\") " +
            "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
            Encoding.Latin1.GetString(System.Buffers.BuffersExtensions.ToArray(read.Buffer)));
    }

    // RFC 3501 §7.4.2, the BODYSTRUCTURE example (a multipart of two text parts), in its non-extensible form, then with
    // the extension data: the multipart's parameters, disposition, language, location; each part's md5 and the same.
    [Fact]
    public void Rfc3501_bodystructure_example_is_written_with_and_without_extension_data()
    {
        var multipart = new BodyPartSummary
        {
            MediaType = "multipart", MediaSubtype = "MIXED", Parameters = [new("BOUNDARY", "x")],
            Children =
            [
                new BodyPartSummary { MediaType = "TEXT", MediaSubtype = "PLAIN", Parameters = [new("CHARSET", "US-ASCII")], TransferEncoding = "7BIT", EndOffset = 1152, Lines = 23 },
                new BodyPartSummary
                {
                    MediaType = "TEXT", MediaSubtype = "PLAIN", Parameters = [new("CHARSET", "US-ASCII"), new("NAME", "cc.diff")],
                    ContentId = "<960723163407.20117h@cac.washington.edu>", Description = "Compiler diff", TransferEncoding = "BASE64",
                    EndOffset = 4554, Lines = 73, Md5 = "Q2hlY2sgSW50ZWdyaXR5IQ==", Disposition = "attachment",
                    DispositionParameters = [new("filename", "cc.diff")], Languages = ["en", "de"], Location = "http://example.com/cc.diff",
                },
            ],
        };

        Assert.Equal(
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") " +
            "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")",
            Write(w => FetchDataWriter.WriteBodyStructure(w, multipart, extensible: false)));
        Assert.Equal(
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") " +
            "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" " +
            "(\"attachment\" (\"filename\" \"cc.diff\")) (\"en\" \"de\") \"http://example.com/cc.diff\") \"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL)",
            Write(w => FetchDataWriter.WriteBodyStructure(w, multipart, extensible: true)));
    }

    [Fact]
    public void Flags_are_system_flags_in_a_fixed_order_then_keywords()
    {
        Assert.Equal("()", Write(w => FetchDataWriter.WriteFlags(w, MessageFlags.None, [])));
        Assert.Equal("(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded Work)",
            Write(w => FetchDataWriter.WriteFlags(w, MessageFlags.Seen | MessageFlags.Answered | MessageFlags.Flagged | MessageFlags.Deleted | MessageFlags.Draft, ["$Forwarded", "Work"])));
        Assert.Equal("(\\Seen ok)", Write(w => FetchDataWriter.WriteFlags(w, MessageFlags.Seen, ["bad word", "ok", "\\Seen"])));
    }

    [Theory]
    [InlineData(2026, 12, 6, 5, 6, 30, 0, "\"06-Dec-2026 05:06:30 +0000\"")]
    [InlineData(1996, 7, 17, 2, 44, 25, -420, "\"17-Jul-1996 02:44:25 -0700\"")]
    [InlineData(2001, 1, 1, 23, 59, 59, 330, "\"01-Jan-2001 23:59:59 +0530\"")]
    public void Internal_date_is_the_date_time_form_in_its_own_offset(int y, int mo, int d, int h, int mi, int s, int offsetMinutes, string expected) =>
        Assert.Equal(expected, Write(w => FetchDataWriter.WriteDateTime(w, new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.FromMinutes(offsetMinutes)))));

    [Fact]
    public void Strings_are_quoted_with_escapes_or_literals_when_they_hold_line_breaks_8bit_or_are_long()
    {
        Assert.Equal("NIL", Write(w => FetchDataWriter.WriteNString(w, null)));
        Assert.Equal("\"\"", Write(w => FetchDataWriter.WriteNString(w, "")));
        Assert.Equal("\"say \\\"hi\\\" \\\\o/\"", Write(w => FetchDataWriter.WriteNString(w, "say \"hi\" \\o/")));
        Assert.Equal("{5}\r\ncaf\u00c3\u00a9", Write(w => FetchDataWriter.WriteNString(w, "café")));
        Assert.Equal("{3}\r\na\r\n", Write(w => FetchDataWriter.WriteNString(w, "a\r\n")));
        var quoted = new string('x', FetchDataWriter.MaxQuotedLength);
        Assert.Equal("\"" + quoted + "\"", Write(w => FetchDataWriter.WriteNString(w, quoted)));
        Assert.Equal("{1025}\r\n" + quoted + "x", Write(w => FetchDataWriter.WriteNString(w, quoted + "x")));
    }

    // A summary's escaped octet (a header octet that was not UTF-8, Mail.Protocols.Text.EscapedOctets) is written as
    // that octet, in a literal since it is 8-bit; the rest of the string as UTF-8.
    [Fact]
    public void Escaped_octets_of_a_string_are_written_as_the_octets_themselves()
    {
        Assert.Equal("{6}\r\nr\u00e9sum\u00e9", Write(w => FetchDataWriter.WriteNString(w, "r\uDCE9sum\uDCE9")));
        Assert.Equal("{6}\r\ncaf\u00c3\u00a9\u00e9", Write(w => FetchDataWriter.WriteNString(w, "café\uDCE9")));
        var longer = new string('x', 300) + "\uDCE9";
        Assert.Equal("{301}\r\n" + new string('x', 300) + "\u00e9", Write(w => FetchDataWriter.WriteNString(w, longer)));
    }

    // RFC 9051 §7.5.2 ENVELOPE and §9 body-fld-param: strings as the message has them. A Latin-1 header goes out in
    // Latin-1, as Dovecot sends it, not re-encoded as UTF-8.
    [Fact]
    public async Task Envelope_and_bodystructure_of_latin1_headers_carry_the_header_octets()
    {
        var message = Crlf(
            "From: Jos\u00e9 <jose@example.es>\n" +
            "Subject: r\u00e9sum\u00e9\n" +
            "Content-Type: text/plain; charset=iso-8859-1; name=\"caf\u00e9.txt\"\n" +
            "Content-Transfer-Encoding: 8bit\n" +
            "\n" +
            "Voil\u00e0.\n");
        var (_, bytes) = await FetchAsync(message, new FetchItem(FetchItemKind.Envelope), new FetchItem(FetchItemKind.BodyStructure));
        Assert.Equal(
            "* 1 FETCH (ENVELOPE (NIL {6}\r\nr\u00e9sum\u00e9 (({4}\r\nJos\u00e9 NIL \"jose\" \"example.es\")) (({4}\r\nJos\u00e9 NIL \"jose\" \"example.es\")) " +
            "(({4}\r\nJos\u00e9 NIL \"jose\" \"example.es\")) NIL NIL NIL NIL NIL) " +
            "BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"iso-8859-1\" \"name\" {8}\r\ncaf\u00e9.txt) NIL NIL \"8bit\" 8 1 NIL NIL NIL NIL))\r\n",
            Encoding.Latin1.GetString(bytes));
    }

    [Fact]
    public void Envelope_has_nil_for_absent_fields_and_empty_lists_and_groups_as_start_and_end_markers()
    {
        var envelope = new MessageEnvelope(null, null, [], [], [], [
            new EnvelopeAddress(null, null, "Team", null), Addr(null, "alice", "example.org"), new EnvelopeAddress(null, null, null, null),
            new EnvelopeAddress(null, "@relay.example", "bob", "example.org")], [], [], null, null);
        Assert.Equal(
            "(NIL NIL NIL NIL NIL ((NIL NIL \"Team\" NIL)(NIL NIL \"alice\" \"example.org\")(NIL NIL NIL NIL)(NIL \"@relay.example\" \"bob\" \"example.org\")) NIL NIL NIL NIL)",
            Write(w => FetchDataWriter.WriteEnvelope(w, envelope)));
    }

    // RFC 2045 §5.2: text without a charset is us-ascii; the default follows the part's own parameters, as in Dovecot.
    [Fact]
    public void A_text_part_without_charset_shows_the_us_ascii_default()
    {
        var bare = new BodyPartSummary { MediaType = "text", MediaSubtype = "plain", EndOffset = 4, Lines = 1 };
        Assert.Equal("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1)", Write(w => FetchDataWriter.WriteBodyStructure(w, bare, extensible: false)));
        var flowed = bare with { Parameters = [new("format", "flowed")] };
        Assert.Equal("(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1)", Write(w => FetchDataWriter.WriteBodyStructure(w, flowed, extensible: false)));
        var latin = bare with { Parameters = [new("CHARSET", "ISO-8859-1")] };
        Assert.Equal("(\"text\" \"plain\" (\"CHARSET\" \"ISO-8859-1\") NIL NIL \"7bit\" 4 1)", Write(w => FetchDataWriter.WriteBodyStructure(w, latin, extensible: false)));
        var image = new BodyPartSummary { MediaType = "image", MediaSubtype = "png", TransferEncoding = "base64", EndOffset = 8 };
        Assert.Equal("(\"image\" \"png\" NIL NIL NIL \"base64\" 8)", Write(w => FetchDataWriter.WriteBodyStructure(w, image, extensible: false)));
    }

    [Fact]
    public void A_multipart_without_parts_shows_one_empty_text_part_so_the_grammar_holds()
    {
        var empty = new BodyPartSummary { MediaType = "multipart", MediaSubtype = "mixed" };
        Assert.Equal("((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")", Write(w => FetchDataWriter.WriteBodyStructure(w, empty, extensible: false)));
        Assert.Equal("((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)", Write(w => FetchDataWriter.WriteBodyStructure(w, empty, extensible: true)));
    }

    [Fact]
    public void A_structure_deeper_than_any_summary_is_cut_without_recursing_further()
    {
        var part = new BodyPartSummary { MediaType = "text", MediaSubtype = "plain" };
        for (var i = 0; i < 10_000; i++)
        {
            part = new BodyPartSummary { MediaType = "multipart", MediaSubtype = "mixed", Children = [part] };
        }
        var text = Write(w => FetchDataWriter.WriteBodyStructure(w, part, extensible: true));
        // One level per multipart down to the depth limit, then the stand-in text part: 66 parentheses, not 10,001.
        Assert.StartsWith(new string('(', MessageSummaryParser.MaxMimeDepth + 2) + "\"text\"", text);
        Assert.True(text.Length < 5_000, text.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
