using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Imap.Fetch;
using Mail.Protocols.Storage;
using static Mail.Protocols.Imap.Tests.Fetch.FetchTestSupport;

namespace Mail.Protocols.Imap.Tests.Fetch;

/// <summary>
/// Header sections answered from the summary's copy of the header (<see cref="MessageSummary.Header"/>) are the octets
/// cut from the content: every header item, over messages with folded lines, octets that are not UTF-8, no blank line
/// after the header, no header at all, and a header above the bound the summary keeps.
/// </summary>
public sealed class HeaderCacheFetchTests
{
    private const string Folded =
        "From: Fred Foobar <foobar@example.org>\r\n" +
        "Subject: a subject folded\r\n" +
        " over two lines\r\n" +
        "\tand a third\r\n" +
        "To: a@example.org,\r\n" +
        "  b@example.org\r\n" +
        "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n" +
        "Message-ID: <1@example.org>\r\n" +
        "References: <0@example.org>\r\n" +
        "\r\n" +
        "Body text\r\n";

    public static TheoryData<string, byte[]> Messages() => new()
    {
        { "folded", Encoding.ASCII.GetBytes(Folded) },
        { "latin-1 octets", Encoding.Latin1.GetBytes("From: Jos\u00e9 <jose@example.es>\r\nSubject: r\u00e9sum\u00e9\r\nX-Raw: \u00ff\u0080\u00fe\r\n\r\nbody \u00e9\r\n") },
        { "no blank line", Encoding.ASCII.GetBytes("From: a@example.org\r\nSubject: only a header\r\n") },
        { "no blank line, no last line break", Encoding.ASCII.GetBytes("From: a@example.org\r\nSubject: cut") },
        { "no header", Encoding.ASCII.GetBytes("just text, no header\r\nsecond line\r\n") },
        { "empty", [] },
        { "multipart", Crlf("From: a@example.org\nSubject: parts\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n--b--\n") },
        { "header above the bound", Encoding.ASCII.GetBytes(BigHeader() + "\r\nbody\r\n") },
    };

    // A header of more than MessageSummaryParser.MaxHeaderLength octets: 200 Received lines of about 60 octets.
    private static string BigHeader()
    {
        var text = new StringBuilder("From: big@example.org\r\nSubject: big header\r\n");
        for (var i = 0; text.Length <= MessageSummaryParser.MaxHeaderLength; i++)
        {
            text.Append($"Received: from relay{i}.example.org by mx.example.org; Mon, 7 Feb 1994\r\n");
        }
        return text.ToString();
    }

    private static readonly FetchItem[] s_headerItems =
    [
        Body(FetchSection.Of(SectionText.Header)),
        Body(FetchSection.Of(SectionText.Header), 5, 20),
        Body(FetchSection.Of(SectionText.HeaderFields, "From", "To", "Subject", "Date", "Message-ID", "References")),
        Body(FetchSection.Of(SectionText.HeaderFields, "X-Raw")),
        Body(FetchSection.Of(SectionText.HeaderFields, "Nothing-Such")),
        Body(FetchSection.Of(SectionText.HeaderFields, "Subject"), 2, 7),
        Body(FetchSection.Of(SectionText.HeaderFieldsNot, "Subject", "To")),
        Body(FetchSection.Of(SectionText.HeaderFieldsNot, "Subject"), 0, 1_000_000),
        new FetchItem(FetchItemKind.Rfc822Header),
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void The_parser_keeps_the_header_octets_up_to_the_bound(string name, byte[] message)
    {
        var summary = Parse(message);
        if (summary.BodyOffset > MessageSummaryParser.MaxHeaderLength)
        {
            Assert.Null(summary.Header);
            Assert.False(summary.HasHeader, name);
            return;
        }
        Assert.True(summary.HasHeader, name);
        Assert.Equal(message.AsSpan(0, (int)summary.BodyOffset).ToArray(), summary.Header!.Value.ToArray());
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Every_header_item_from_the_summary_equals_the_one_cut_from_the_content(string name, byte[] message)
    {
        var summary = Parse(message);
        foreach (var item in s_headerItems)
        {
            var request = FetchRequest.Create([item]);
            var fromContent = await WriteAsync(message, summary with { Header = null }, request, seekable: true);
            Assert.InRange(fromContent.Opens, 0, 1); // an empty section is written without reading
            Assert.Equal(summary.HasHeader, !request.NeedsContent(summary));
            // Given no way to open the content when the summary holds the header: what the session does.
            var fromSummary = await WriteAsync(message, summary, request, seekable: true, offerContent: request.NeedsContent(summary));
            Assert.Equal(summary.HasHeader ? 0 : fromContent.Opens, fromSummary.Opens);
            Assert.Equal(fromContent.Text, fromSummary.Text);
            _ = name;
        }
    }

    // Header items mixed with sections of the content, in a seekable and a forward-only stream: the header's octets come
    // from memory, the rest from the content, and the answer is the same as with every octet read from the content.
    [Theory]
    [MemberData(nameof(Messages))]
    public async Task Header_items_mixed_with_content_sections_give_the_same_answer(string name, byte[] message)
    {
        var summary = Parse(message);
        var request = FetchRequest.Create([
            Body(FetchSection.Of(SectionText.HeaderFields, "Subject")), Body(FetchSection.Of(SectionText.Text)),
            new FetchItem(FetchItemKind.Rfc822Header), Body(FetchSection.Whole, 3, 40), Body(FetchSection.Of(SectionText.Header)),
            new FetchItem(FetchItemKind.Rfc822), new FetchItem(FetchItemKind.Rfc822Size)]);
        foreach (var seekable in new[] { true, false })
        {
            var fromContent = await WriteAsync(message, summary with { Header = null }, request, seekable);
            var withHeader = await WriteAsync(message, summary, request, seekable);
            Assert.Equal(fromContent.Text, withHeader.Text);
            Assert.Contains("RFC822.SIZE " + message.Length, withHeader.Text, StringComparison.Ordinal);
            _ = name;
        }
    }

    [Fact]
    public async Task A_summary_whose_header_does_not_match_its_body_offset_is_not_used()
    {
        var message = Encoding.ASCII.GetBytes(Folded);
        var summary = Parse(message);
        var wrong = summary with { Header = Encoding.ASCII.GetBytes("Subject: not this\r\n\r\n") };
        Assert.False(wrong.HasHeader);
        var request = FetchRequest.Create([Body(FetchSection.Of(SectionText.Header))]);
        Assert.True(request.NeedsContent(wrong));
        var result = await WriteAsync(message, wrong, request, seekable: true);
        Assert.Equal(1, result.Opens);
        Assert.Contains("Subject: a subject folded", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("not this", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_way_to_open_the_content_a_request_that_needs_it_is_refused()
    {
        var message = Encoding.ASCII.GetBytes(Folded);
        var summary = Parse(message);
        var request = FetchRequest.Create([Body(FetchSection.Of(SectionText.Header)), Body(FetchSection.Of(SectionText.Text))]);
        Assert.True(request.NeedsContent(summary));
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await Assert.ThrowsAsync<ArgumentException>(async () => await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(message.Length), summary, null, request));
    }

    private static async Task<(string Text, int Opens)> WriteAsync(byte[] message, MessageSummary summary, FetchRequest request, bool seekable, bool offerContent = true)
    {
        var opens = 0;
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        Func<CancellationToken, ValueTask<Stream>>? open = offerContent
            ? _ =>
            {
                opens++;
                return ValueTask.FromResult<Stream>(seekable ? new MemoryStream(message, writable: false) : new ForwardOnlyStream(message));
            }
            : null;
        var outcome = await FetchResponseWriter.WriteAsync(pipe.Writer, 1, Info(message.Length), summary, open, request);
        Assert.Equal(FetchOutcome.Written, outcome);
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);
        var text = Encoding.Latin1.GetString(System.Buffers.BuffersExtensions.ToArray(result.Buffer));
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return (text, opens);
    }
}
