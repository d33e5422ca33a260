using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Tests.Storage;

/// <summary>Content with no header at all still gets a summary (an APPEND may store anything).</summary>
public sealed class HeaderlessSummaryTests
{
    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("just text, no header\r\nsecond line\r\n", 35, 2)]
    [InlineData("no line break at the end", 24, 1)]
    public void The_whole_content_is_a_text_plain_body_with_an_empty_envelope(string text, long size, int lines)
    {
        using var content = new MemoryStream(Encoding.ASCII.GetBytes(text));
        var summary = MessageSummaryParser.Parse(content);
        Assert.Null(summary.Envelope.Subject);
        Assert.Empty(summary.Envelope.From);
        Assert.Equal(("text", "plain"), (summary.Body.MediaType, summary.Body.MediaSubtype));
        Assert.Equal(size, summary.Body.BodySize);
        Assert.Equal(lines, summary.Body.Lines);
        Assert.Equal(0, summary.BodyOffset);
    }
}
