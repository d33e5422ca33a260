using Mail.Protocols.TestSupport.Faults;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>Another session's change that lands while a command runs, found by benchmarks/ImapLoad's mixed load.</summary>
public sealed class ConcurrentSessionTests
{
    [Fact]
    public async Task An_expunge_by_another_session_while_EXPUNGE_runs_is_reported_before_its_OK()
    {
        // RFC 9051 §6.4.3: EXPUNGE removes every message flagged \Deleted. When another session's EXPUNGE takes this
        // client's \Deleted message first (after this command reported the queued changes, before it asked the
        // store), the client must still learn before the OK that the message is gone: otherwise it believes a
        // message it flagged \Deleted survived its EXPUNGE.
        FaultyMailboxStore? faulty = null;
        var h = new ImapTestHarness(wrapStore: inner => faulty = new FaultyMailboxStore(inner));
        await using var _ = h;
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        await c.CommandAsync("a1", "SELECT INBOX");
        Assert.Equal(["a2 OK STORE completed"], await c.CommandAsync("a2", "STORE 1 +FLAGS.SILENT (\\Deleted)"));
        faulty!.BeforeExpunge = async () =>
        {
            faulty.BeforeExpunge = null;
            await h.Store.ExpungeAsync(ImapTestHarness.Alice, "INBOX"); // the other session's EXPUNGE
        };
        Assert.Equal(["* 1 EXPUNGE", "a3 OK EXPUNGE completed"], await c.CommandAsync("a3", "EXPUNGE"));
        Assert.Equal(["* SEARCH 1", "a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH ALL"));
    }
}
