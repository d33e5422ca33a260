using System.Text;
using Mail.Protocols.Imap.Tests.Search;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// A header-only FETCH (and SEARCH HEADER) of a folder is answered from the headers the summaries hold: the store's
/// <see cref="IMailboxStore.OpenContentAsync"/> is never called, and the answer is the one read from the content.
/// </summary>
public sealed class HeaderCacheSessionTests
{
    private const string Sync = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID References)])";

    private static readonly string[] s_messages =
    [
        "From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: first\r\n folded\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\nX-Mailer: Plain 1.0\r\n\r\nHello there\r\n",
        "From: Bob <bob@example.org>\r\nSubject: second\r\nReferences: <1@example.org>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b--\r\n",
        "Subject: no body, no blank line\r\nFrom: c@example.org\r\n",
    ];

    // A session over an in-memory store behind a wrapper that counts its calls; with stripHeaders, the summaries it hands
    // out have no header (as a store without a header cache), so every header item is cut from the content.
    private static async Task<(ImapTestHarness Harness, SearchFolder.CallCounter Calls)> HarnessAsync(bool stripHeaders, params string[] messages)
    {
        var calls = new SearchFolder.CallCounter();
        var h = new ImapTestHarness(wrapStore: inner =>
            SearchFolder.CountingStore.Wrap(stripHeaders ? HeaderlessSummaryStore.Wrap(inner) : inner, calls));
        foreach (var message in messages)
        {
            await h.DeliverAsync(message);
        }
        return (h, calls);
    }

    private static async Task<List<List<string>>> AnswersAsync(ImapTestHarness h, params string[] commands)
    {
        var c = await h.LoginAsync();
        await c.CommandAsync("s", "SELECT INBOX");
        var answers = new List<List<string>>();
        foreach (var command in commands)
        {
            answers.Add(await c.CommandAsync("a", command));
        }
        return answers;
    }

    [Fact]
    public async Task The_header_sync_of_a_folder_opens_no_content_and_answers_as_from_the_content()
    {
        string[] commands =
        [
            Sync,
            "FETCH 1:* (BODY.PEEK[HEADER] RFC822.HEADER BODY.PEEK[HEADER.FIELDS.NOT (Subject X-Mailer)] BODY.PEEK[HEADER.FIELDS (Subject)]<3.10>)",
            "FETCH 1:* (BODY[HEADER.FIELDS (Subject)])", // sets \Seen, also from the header the summary holds
        ];
        var (h, calls) = await HarnessAsync(false, s_messages);
        await using var _h = h;
        var answers = await AnswersAsync(h, commands);
        Assert.Equal(0, calls[nameof(IMailboxStore.OpenContentAsync)]);
        Assert.All(answers, a => Assert.Equal("a OK FETCH completed", a[^1]));
        Assert.Contains("Subject: first", string.Join("\n", answers[0]), StringComparison.Ordinal);
        Assert.Contains(" FLAGS (\\Seen))", string.Join("\n", answers[2]), StringComparison.Ordinal);

        var (plain, plainCalls) = await HarnessAsync(true, s_messages);
        await using var _p = plain;
        var fromContent = await AnswersAsync(plain, commands);
        Assert.True(plainCalls[nameof(IMailboxStore.OpenContentAsync)] >= 9);
        Assert.Equal(fromContent, answers);
    }

    /// <summary>Passes every call on, and takes the header out of the summaries that <see cref="IMailboxStore.GetSummariesAsync"/> returns.</summary>
    public class HeaderlessSummaryStore : System.Reflection.DispatchProxy
    {
        private IMailboxStore _inner = null!;

        public static IMailboxStore Wrap(IMailboxStore inner)
        {
            var proxy = Create<IMailboxStore, HeaderlessSummaryStore>();
            ((HeaderlessSummaryStore)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IMailboxStore.GetSummariesAsync))
            {
#pragma warning disable CA2012 // returned (boxed, as a proxy must) to the caller, which awaits it once
                return StripAsync(_inner.GetSummariesAsync((string)args![0]!, (string)args[1]!, (IReadOnlyCollection<uint>)args[2]!, (CancellationToken)args[3]!));
#pragma warning restore CA2012
            }
            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }

        private static async ValueTask<IReadOnlyList<MessageSummaryEntry>> StripAsync(ValueTask<IReadOnlyList<MessageSummaryEntry>> entries) =>
            [.. (await entries).Select(e => e with { Summary = e.Summary with { Header = null } })];
    }

    [Fact]
    public async Task A_header_above_the_bound_and_other_sections_still_read_the_content()
    {
        var big = new StringBuilder("Subject: big\r\n");
        while (big.Length <= MessageSummaryParser.MaxHeaderLength)
        {
            big.Append("X-Filler: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n");
        }
        var (h, calls) = await HarnessAsync(false, s_messages[0], big + "\r\nbody\r\n");
        await using var _h = h;
        var c = await h.LoginAsync();
        await c.CommandAsync("s", "SELECT INBOX");
        var answer = await c.CommandAsync("a", "FETCH 1:2 (BODY.PEEK[HEADER.FIELDS (Subject)])");
        Assert.Equal(["* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {27}", "Subject: first", " folded", "", ")",
            "* 2 FETCH (BODY[HEADER.FIELDS (Subject)] {16}", "Subject: big", "", ")", "a OK FETCH completed"], answer);
        Assert.Equal(1, calls[nameof(IMailboxStore.OpenContentAsync)]);
        await c.CommandAsync("b", "FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT])");
        Assert.Equal(2, calls[nameof(IMailboxStore.OpenContentAsync)]);
    }

    [Fact]
    public async Task Search_on_header_fields_opens_no_content_when_the_summaries_hold_the_headers()
    {
        var (h, calls) = await HarnessAsync(false, s_messages);
        await using var _h = h;
        var c = await h.LoginAsync();
        await c.CommandAsync("s", "SELECT INBOX");
        Assert.Equal(["* SEARCH 1", "a OK SEARCH completed"], await c.CommandAsync("a", "SEARCH HEADER X-Mailer plain"));
        Assert.Equal(["* SEARCH 2", "b OK SEARCH completed"], await c.CommandAsync("b", "SEARCH HEADER References 1@example"));
        Assert.Equal(["* SEARCH 1 2 3", "c OK SEARCH completed"], await c.CommandAsync("c", "SEARCH HEADER Subject \"\""));
        Assert.Equal(0, calls[nameof(IMailboxStore.OpenContentAsync)]);
        Assert.Equal(["* SEARCH 1", "d OK SEARCH completed"], await c.CommandAsync("d", "SEARCH HEADER X-Mailer plain BODY hello"));
        Assert.True(calls[nameof(IMailboxStore.OpenContentAsync)] > 0);
    }
}
