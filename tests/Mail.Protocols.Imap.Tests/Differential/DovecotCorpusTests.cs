using System.Text;

namespace Mail.Protocols.Imap.Tests.Differential;

/// <summary>
/// What the corpus is, and that Dovecot's captured answers are about the corpus as written: it stored every message
/// byte for byte, and its SEARCH finds what each message was written to make it find. The same SEARCH commands
/// (<see cref="DovecotCorpusFixture.Searches"/>) are run on our server by <see cref="OurServerDifferentialTests"/>.
/// </summary>
[Collection(DovecotCorpusCollection.Name)]
public sealed class DovecotCorpusTests(DovecotCorpusFixture dovecot)
{
    public static TheoryData<int> SearchIndexes => [.. Enumerable.Range(0, DovecotCorpusFixture.Searches.Count)];

    [Fact]
    public void The_corpus_has_its_messages_with_crlf_line_ends_only()
    {
        Assert.Equal(22, MimeCorpus.Messages.Count);
        foreach (var message in MimeCorpus.Messages)
        {
            for (var i = 0; i < message.Content.Length; i++)
            {
                Assert.True(message.Content[i] != '\n' || (i > 0 && message.Content[i - 1] == '\r'), $"{message.Name}: a bare LF at octet {i}");
                Assert.True(message.Content[i] != '\r' || (i + 1 < message.Content.Length && message.Content[i + 1] == '\n'), $"{message.Name}: a bare CR at octet {i}");
            }
        }
    }

    [Fact]
    public void The_generated_attachment_is_two_megabytes_of_base64()
    {
        var large = MimeCorpus.Get(MimeCorpus.LargeAttachmentName).Content;
        Assert.InRange(large.Length, 2 * 1024 * 1024, 3 * 1024 * 1024);
        Assert.Equal(large, MimeCorpus.LargeAttachment());
        var size = dovecot.Fetch(MimeCorpus.LargeAttachmentName, "BINARY.SIZE[2]").Exchange.Untagged.Single();
        Assert.Equal($"* 22 FETCH (BINARY.SIZE[2] {MimeCorpus.LargeAttachmentSize})\r\n", Encoding.ASCII.GetString(size));
    }

    [Fact]
    public void Dovecot_stored_every_message_byte_for_byte()
    {
        foreach (var message in MimeCorpus.Messages)
        {
            var size = FetchNormalizer.Normalize(dovecot.Fetch(message.Name, "RFC822.SIZE").Exchange.Untagged.Single());
            Assert.Equal(message.Content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), size["RFC822.SIZE"]);
            var start = ImapResponseParser.ParseFetch(dovecot.Fetch(message.Name, "BODY.PEEK[]<0.100>").Exchange.Untagged.Single());
            var octets = Assert.IsType<ImapString>(Assert.Single(start.Items).Value).Octets;
            Assert.Equal(message.Content.AsSpan(0, Math.Min(100, message.Content.Length)).ToArray(), octets.ToArray());
        }
    }

    [Fact]
    public void Every_capture_is_a_single_fetch_response_with_the_item_asked()
    {
        foreach (var message in MimeCorpus.Messages)
        {
            foreach (var captured in dovecot.FetchesOf(message.Name))
            {
                Assert.True(captured.Exchange.Status == "OK", $"{message.Name} {captured.Item}: {captured.Exchange.TaggedText}");
                var response = ImapResponseParser.ParseFetch(Assert.Single(captured.Exchange.Untagged));
                var name = Assert.Single(response.Items).Key;
                var expected = captured.Item.Replace(".PEEK", "", StringComparison.Ordinal);
                var partial = expected.LastIndexOf('<');
                if (partial > 0)
                {
                    // The response names only the partial's origin: BODY[]<0>.
                    expected = expected[..partial] + expected[partial..expected.IndexOf('.', partial)] + ">";
                }
                Assert.Equal(expected, name);
            }
        }
    }

    [Theory]
    [MemberData(nameof(SearchIndexes))]
    public void Dovecots_search_finds_what_the_corpus_was_written_for(int index)
    {
        var (command, _, expected) = DovecotCorpusFixture.Searches[index];
        var captured = dovecot.SearchResults[index];
        Assert.Equal(command, captured.Command);
        Assert.Equal(expected, captured.Found);
    }
}
