using Mail.Protocols.Storage;
using Mail.Protocols.TestSupport.Faults;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>A store that fails costs the command, not the session; a failure inside a literal closes the connection.</summary>
public sealed class FailingStoreTests
{
    private static async Task<(ImapTestHarness Harness, FaultyMailboxStore Store, ImapTestHarness.Client Client)> StartAsync()
    {
        FaultyMailboxStore? faulty = null;
        var h = new ImapTestHarness(wrapStore: inner => faulty = new FaultyMailboxStore(inner));
        await h.DeliverAsync("Subject: one\r\n\r\n" + new string('x', 5000) + "\r\n");
        var c = await h.LoginAsync();
        await c.CommandAsync("s1", "SELECT INBOX");
        return (h, faulty!, c);
    }

    [Theory]
    [InlineData("io")]
    [InlineData("store")]
    [InlineData("other")]
    public async Task A_store_that_throws_gets_no_unavailable_and_the_session_goes_on(string kind)
    {
        var (h, store, c) = await StartAsync();
        await using var _ = h;
        store.Fail = method => method == nameof(IMailboxStore.ListMessagesAsync)
            ? kind switch
            {
                "io" => new IOException("disk read error"),
                "store" => new MailboxStoreException("backend down"),
                _ => new InvalidOperationException("driver bug"),
            }
            : null;
        Assert.Equal(["a1 NO [UNAVAILABLE] Mailbox store temporarily unavailable"], await c.CommandAsync("a1", "FETCH 1 FLAGS"));
        store.Fail = null;
        Assert.Equal(["* 1 FETCH (FLAGS ())", "a2 OK FETCH completed"], await c.CommandAsync("a2", "FETCH 1 FLAGS"));
    }

    [Fact]
    public async Task A_content_stream_that_fails_inside_a_literal_closes_the_connection_without_completing_the_response()
    {
        var (h, store, c) = await StartAsync();
        await using var _ = h;
        store.BreakContentAfter = 100;
        await c.SendAsync("a1 FETCH 1 BODY.PEEK[]\r\n");
        var first = await c.ReadLineAsync();
        Assert.StartsWith("* 1 FETCH (BODY[] {", first);
        var rest = new List<string>();
        while (await c.ReadLineAsync() is { } line)
        {
            rest.Add(line);
        }
        Assert.DoesNotContain(rest, l => l.StartsWith("a1 ", StringComparison.Ordinal)); // never a tagged reply after a cut-off literal
        Assert.True(await c.EndedAsync());
    }

    [Fact]
    public async Task A_user_directory_that_fails_during_login_gets_no_unavailable_and_the_login_can_be_tried_again()
    {
        FaultyUserDirectory? users = null;
        await using var h = new ImapTestHarness(wrapUsers: inner => users = new FaultyUserDirectory(inner));
        var c = h.Connect();
        await c.ReadLineAsync();
        users!.Fault = new TimeoutException("directory timed out");
        Assert.Equal(["a1 NO [UNAVAILABLE] Authentication temporarily unavailable"], await c.CommandAsync("a1", "LOGIN alice@example.test alice"));
        users.Fault = null;
        Assert.StartsWith("a2 OK [CAPABILITY ", (await c.CommandAsync("a2", "LOGIN alice@example.test alice"))[^1]);
    }

    [Fact]
    public async Task A_message_gone_when_its_content_is_opened_is_skipped_and_fetch_says_expungeissued()
    {
        var (h, store, c) = await StartAsync();
        await using var _ = h;
        await h.DeliverAsync("Subject: two\r\n\r\nsecond\r\n");
        await c.CommandAsync("a0", "NOOP");
        var opens = 0;
        // The listing still has message 1, but it is gone by the time its content is opened (another session expunged it).
        store.Fail = method => method == nameof(IMailboxStore.OpenContentAsync) && ++opens == 1
            ? new MailboxStoreException(MailboxStoreError.MessageNotFound, "gone")
            : null;
        Assert.Equal(["* 2 FETCH (BODY[TEXT] {8}", "second", ")", "a1 NO [EXPUNGEISSUED] Some messages were expunged by another session"],
            await c.CommandAsync("a1", "FETCH 1:2 BODY.PEEK[TEXT]"));
        Assert.Equal(["a2 OK NOOP completed"], await c.CommandAsync("a2", "NOOP"));
    }

    [Fact]
    public async Task A_fetch_of_a_few_messages_of_a_large_folder_asks_the_store_for_those_only()
    {
        var (h, store, c) = await StartAsync();
        await using var _ = h;
        for (var i = 2; i <= 40; i++)
        {
            await h.DeliverAsync($"Subject: {i}\r\n\r\nbody {i}\r\n");
        }
        await c.CommandAsync("a0", "NOOP");
        // Listing the folder would fail: the FETCH must not need it.
        store.Fail = method => method == nameof(IMailboxStore.ListMessagesAsync) ? new MailboxStoreException("listing not expected") : null;
        Assert.Equal(["* 7 FETCH (UID 7 FLAGS () RFC822.SIZE 22 BODY[TEXT] {8}", "body 7", ")", "a1 OK FETCH completed"],
            await c.CommandAsync("a1", "UID FETCH 7 (FLAGS RFC822.SIZE BODY.PEEK[TEXT])"));
        // A FETCH of much of the folder lists it once instead (and here that listing fails).
        Assert.Equal(["a2 NO [UNAVAILABLE] Mailbox store temporarily unavailable"], await c.CommandAsync("a2", "FETCH 1:* FLAGS"));
    }
}
