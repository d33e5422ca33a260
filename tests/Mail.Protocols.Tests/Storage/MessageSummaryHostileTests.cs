using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Tests.Storage;

/// <summary>
/// The MIME summary of malformed messages (found by the MessageSummary fuzz target): a part whose header runs into the next
/// boundary, read however the content stream splits its reads.
/// </summary>
public sealed class MessageSummaryHostileTests
{
    // The first part's header has no blank line after it: the boundary follows at once.
    private const string HeaderIntoBoundary =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
        "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n" +
        "--b\r\nContent-Type: text/html\r\n\r\nx\r\n" +
        "--b--\r\n";

    [Fact]
    public void A_part_without_a_body_has_zero_lines_not_minus_one()
    {
        // MimeKit counts -1 lines for it; BODYSTRUCTURE's body-fld-lines is a number, never negative.
        var summary = MessageSummaryParser.Parse(new MemoryStream(Encoding.ASCII.GetBytes(HeaderIntoBoundary)));

        var part = summary.Body.Children[0];
        Assert.Equal(part.BodyOffset, part.EndOffset);
        Assert.Equal(0, part.Lines);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(13)]
    public void The_summary_does_not_depend_on_how_the_content_stream_splits_its_reads(int readSize)
    {
        var content = Encoding.ASCII.GetBytes(HeaderIntoBoundary);
        var whole = MessageSummaryParser.Parse(new MemoryStream(content));

        // With one-octet reads MimeKit's parser lost the second part (and gave the first its body) before the parser
        // read the stream in full buffers.
        var split = MessageSummaryParser.Parse(new ShortReads(content, readSize));

        Assert.Equal(Shape(whole.Body), Shape(split.Body));
        Assert.Equal(2, whole.Body.Children.Count);
    }

    private static string Shape(BodyPartSummary part) =>
        $"{part.MediaType}/{part.MediaSubtype} {part.HeaderOffset} {part.BodyOffset} {part.EndOffset} {part.Lines} {part.TransferEncoding} [{string.Join(", ", part.Children.Select(Shape))}]";

    private sealed class ShortReads(byte[] content, int size) : MemoryStream(content, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, size));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, size)]);
    }
}
