using Mail.Protocols.Maildir.Index;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Hostile;

/// <summary>
/// A summary cache line that parses as JSON but is no summary of the message (found by the SummaryCache fuzz target): a null
/// where the summary has none, offsets outside the message or out of order, a structure deeper than the parser makes. Such a
/// line is skipped like a torn one (the message is parsed again), never handed to IMAP, whose writers would throw on it or
/// send sections that are not there.
/// </summary>
public sealed class DamagedSummaryCacheTests : IDisposable
{
    private const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const long Size = 100;
    private readonly TempDirectory _directory = new();
    private readonly Dictionary<uint, MessageRecord> _live = new() { [1] = new MessageRecord(1, "1.M1P1Q1.host", DateTimeOffset.UnixEpoch, Size) };

    public void Dispose() => _directory.Dispose();

    private const string Envelope = """{"Date":null,"Subject":null,"From":[],"Sender":[],"ReplyTo":[],"To":[],"Cc":[],"Bcc":[],"InReplyTo":null,"MessageId":null}""";

    private static string Part(string fields) => "{\"MediaType\":\"text\",\"MediaSubtype\":\"plain\"" + fields + "}";

    [Theory]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","HeaderOffset":0,"BodyOffset":10,"EndOffset":50}""" + ",\"BodyOffset\":10}", true)]
    [InlineData("""{"Envelope":{"From":null},"Body":{"MediaType":"text","MediaSubtype":"plain"}}""", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":null,"MediaSubtype":"plain"}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","Children":null}""" + "}", true)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","Children":[null]}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","Parameters":[null]}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","EndOffset":101}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain","HeaderOffset":20,"BodyOffset":10,"EndOffset":50}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"multipart","MediaSubtype":"mixed","BodyOffset":10,"EndOffset":50,"Children":[{"MediaType":"text","MediaSubtype":"plain","HeaderOffset":5,"BodyOffset":12,"EndOffset":20}]}""" + "}", false)]
    [InlineData("{\"Envelope\":" + Envelope + ",\"Body\":" + """{"MediaType":"text","MediaSubtype":"plain"}""" + ",\"BodyOffset\":-1}", false)]
    public void A_line_that_is_no_summary_of_the_message_is_skipped(string json, bool kept)
    {
        File.WriteAllText(Path.Combine(_directory.Path, SummaryCache.FileName), $"{SummaryCache.Magic} 7\n1 {json}\n");

        Assert.Equal(kept, new SummaryCache(_directory.Path, 7, Mode).TryGet(1, _live, out _));
    }

    [Fact]
    public void Lists_a_line_leaves_out_read_as_empty_at_every_level()
    {
        var inner = "{\"MediaType\":\"message\",\"MediaSubtype\":\"rfc822\",\"BodyOffset\":10,\"EndOffset\":50,\"MessageEnvelope\":" + Envelope + ",\"Message\":" + Part(",\"HeaderOffset\":10,\"BodyOffset\":20,\"EndOffset\":50") + "}";
        var body = "{\"MediaType\":\"multipart\",\"MediaSubtype\":\"mixed\",\"EndOffset\":50,\"Children\":[" + inner + "]}";
        File.WriteAllText(Path.Combine(_directory.Path, SummaryCache.FileName), $"{SummaryCache.Magic} 7\n1 {{\"Envelope\":{Envelope},\"Body\":{body}}}\n");

        Assert.True(new SummaryCache(_directory.Path, 7, Mode).TryGet(1, _live, out var summary));
        foreach (var part in new[] { summary.Body, summary.Body.Children[0], summary.Body.Children[0].Message! })
        {
            Assert.NotNull(part.Parameters);
            Assert.NotNull(part.DispositionParameters);
            Assert.NotNull(part.Languages);
            Assert.NotNull(part.Children);
        }
        Assert.Empty(summary.Body.Children[0].Message!.Children);
    }

    [Fact]
    public void A_structure_deeper_than_the_parser_makes_is_skipped()
    {
        var body = Part("");
        for (var i = 0; i < MessageSummaryParser.MaxMimeDepth; i++)
        {
            body = "{\"MediaType\":\"message\",\"MediaSubtype\":\"rfc822\",\"MessageEnvelope\":" + Envelope + ",\"Message\":" + body + "}";
        }
        File.WriteAllText(Path.Combine(_directory.Path, SummaryCache.FileName), $"{SummaryCache.Magic} 7\n1 {{\"Envelope\":{Envelope},\"Body\":{body}}}\n");

        Assert.False(new SummaryCache(_directory.Path, 7, Mode).TryGet(1, _live, out _));
    }
}
