using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Maildir.Tests.Store;

/// <summary>
/// Deeply nested MIME: both stores summarise every part down to <see cref="MessageSummaryParser.MaxMimeDepth"/>
/// levels, a part deeper than that as an opaque leaf, and never fail (the Maildir store also through its JSON cache).
/// </summary>
public sealed class SummaryDepthTests : IDisposable
{
    private const string User = "alice@example.test";
    private const int Max = MessageSummaryParser.MaxMimeDepth;
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    public static TheoryData<string, bool> Shapes() => new()
    {
        { "memory", false }, { "memory", true }, { "maildir", false }, { "maildir", true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_part_at_the_depth_limit_is_summarised_in_full(string store, bool messageParts)
    {
        var body = await SummariseAsync(store, Nested(Max, messageParts));
        var (leaf, level) = Deepest(body);
        Assert.Equal(Max, level);
        Assert.Equal(("text", "plain"), (leaf.MediaType, leaf.MediaSubtype));
        Assert.Equal("deepest\r\n".Length, leaf.BodySize);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_part_one_past_the_depth_limit_is_inside_an_opaque_leaf(string store, bool messageParts)
    {
        var body = await SummariseAsync(store, Nested(Max + 1, messageParts));
        var (leaf, level) = Deepest(body);
        Assert.Equal(Max, level);
        Assert.Equal(messageParts ? ("message", "rfc822") : ("multipart", "mixed"), (leaf.MediaType, leaf.MediaSubtype));
        Assert.Empty(leaf.Children);
        Assert.Null(leaf.Message);
        Assert.Null(leaf.MessageEnvelope);
        // The opaque part still covers the nested content: its body holds the part below the limit.
        Assert.True(leaf.BodySize > "deepest\r\n".Length);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Far_deeper_nesting_is_cut_at_the_limit_too(string store, bool messageParts)
    {
        var body = await SummariseAsync(store, Nested(3 * Max, messageParts));
        Assert.Equal(Max, Deepest(body).Level);
    }

    // Summarises the one message of a fresh store; the Maildir store is asked again after a restart, so the
    // summary also goes through its cache file and back.
    private async Task<BodyPartSummary> SummariseAsync(string store, byte[] message)
    {
        if (store == "memory")
        {
            var memory = new InMemoryMailboxStore();
            var uid = (await memory.AppendAsync(User, "INBOX", new MemoryStream(message))).Uid;
            return (await memory.GetSummaryAsync(User, "INBOX", uid)).Body;
        }
        var options = new MaildirStoreOptions { RootPath = _root.Path, HostName = "test.host", Fsync = false };
        uint appended;
        MessageSummary first;
        using (var maildir = new MaildirMailboxStore(options))
        {
            appended = (await maildir.AppendAsync(User, "INBOX", new MemoryStream(message))).Uid;
            first = await maildir.GetSummaryAsync(User, "INBOX", appended);
        }
        using var reopened = new MaildirMailboxStore(options);
        var cached = await reopened.GetSummaryAsync(User, "INBOX", appended);
        Assert.Contains($"\n{appended} ", await File.ReadAllTextAsync(Path.Combine(reopened.GetUserDirectory(User), "mailprotocols.summaries")), StringComparison.Ordinal);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(first, s_deep), System.Text.Json.JsonSerializer.Serialize(cached, s_deep));
        return cached.Body;
    }

    private static readonly System.Text.Json.JsonSerializerOptions s_deep = new() { MaxDepth = 1024 };

    // Follows the only child (or embedded message) down; the message's body is level 1.
    private static (BodyPartSummary Leaf, int Level) Deepest(BodyPartSummary body)
    {
        var level = 1;
        while (true)
        {
            var next = body.Message ?? (body.Children.Count == 1 ? body.Children[0] : null);
            if (next is null)
            {
                return (body, level);
            }
            Assert.True(body.Children.Count + (body.Message is null ? 0 : 1) == 1, "one child per level");
            body = next;
            level++;
        }
    }

    // A message whose text/plain leaf is at level `levels`: levels - 1 multiparts (or message/rfc822 parts) above it.
    private static byte[] Nested(int levels, bool messageParts)
    {
        var text = new StringBuilder();
        text.Append("From: bob@example.org\r\nTo: alice@example.test\r\nSubject: nested\r\nMIME-Version: 1.0\r\n");
        Part(text, levels);
        return Encoding.ASCII.GetBytes(text.ToString());

        void Part(StringBuilder s, int remaining)
        {
            if (remaining == 1)
            {
                s.Append("Content-Type: text/plain\r\n\r\ndeepest\r\n");
                return;
            }
            if (messageParts)
            {
                s.Append("Content-Type: message/rfc822\r\n\r\nSubject: level ").Append(remaining).Append("\r\n");
                Part(s, remaining - 1);
                return;
            }
            var boundary = "b" + remaining;
            s.Append("Content-Type: multipart/mixed; boundary=").Append(boundary).Append("\r\n\r\n");
            s.Append("--").Append(boundary).Append("\r\n");
            Part(s, remaining - 1);
            s.Append("\r\n--").Append(boundary).Append("--\r\n");
        }
    }
}
