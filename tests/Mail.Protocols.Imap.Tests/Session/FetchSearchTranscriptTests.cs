using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>FETCH and SEARCH through the session: sequence numbers, UIDs, \Seen, CONDSTORE/QRESYNC, expunges by others.</summary>
public sealed class FetchSearchTranscriptTests
{
    private const string First = "From: Ann <ann@example.org>\r\nSubject: first\r\n\r\nHello there\r\n";
    private const string Second = "From: Bob <bob@example.org>\r\nSubject: second\r\n\r\nGeneral Kenobi\r\n";

    private static async Task<(ImapTestHarness Harness, ImapTestHarness.Client Client)> SelectedAsync(string mailbox = "INBOX")
    {
        var h = new ImapTestHarness();
        await h.DeliverAsync(First);
        await h.DeliverAsync(Second);
        var c = await h.LoginAsync();
        await c.CommandAsync("s0", "SELECT " + mailbox);
        return (h, c);
    }

    [Fact]
    public async Task Fetch_by_number_and_uid_with_a_body_that_sets_seen()
    {
        var (h, c) = await SelectedAsync();
        await using var _ = h;
        Assert.Equal(["* 1 FETCH (FLAGS () RFC822.SIZE 60)", "* 2 FETCH (FLAGS () RFC822.SIZE 64)", "a1 OK FETCH completed"],
            await c.CommandAsync("a1", "FETCH 1:* (FLAGS RFC822.SIZE)"));
        Assert.Equal(["* 2 FETCH (UID 2 BODY[HEADER.FIELDS (SUBJECT)] {19}", "Subject: second", "", ")", "a2 OK FETCH completed"],
            await c.CommandAsync("a2", "UID FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"));
        Assert.Equal(MessageFlags.None, (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"))[1].Flags);
        Assert.Equal(["* 1 FETCH (BODY[TEXT] {13}", "Hello there", " FLAGS (\\Seen))", "a3 OK FETCH completed"],
            await c.CommandAsync("a3", "FETCH 1 BODY[TEXT]"));
        Assert.Equal(MessageFlags.Seen, (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"))[0].Flags);
        Assert.Equal(["a4 BAD Invalid message sequence number"], await c.CommandAsync("a4", "FETCH 3 FLAGS"));
        Assert.Equal(["a5 OK FETCH completed"], await c.CommandAsync("a5", "UID FETCH 3:9 FLAGS"));
    }

    [Fact]
    public async Task A_message_expunged_by_another_session_keeps_its_number_and_fetch_says_expungeissued()
    {
        var (h, c) = await SelectedAsync();
        await using var _ = h;
        await h.Store.ExpungeAsync(ImapTestHarness.Alice, "INBOX", [1u]);
        Assert.Equal(["* 2 FETCH (UID 2)", "a1 NO [EXPUNGEISSUED] Some messages were expunged by another session"], await c.CommandAsync("a1", "FETCH 1:2 UID"));
        Assert.Equal(["* SEARCH 2", "a2 OK SEARCH completed"], await c.CommandAsync("a2", "SEARCH FROM bob"));
        Assert.Equal(["* 1 EXPUNGE", "a3 OK NOOP completed"], await c.CommandAsync("a3", "NOOP"));
        Assert.Equal(["* SEARCH 1", "a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH FROM bob"));
    }

    [Fact]
    public async Task Search_esearch_save_and_the_saved_result()
    {
        var (h, c) = await SelectedAsync();
        await using var _ = h;
        Assert.Equal(["* SEARCH 1 2", "a1 OK SEARCH completed"], await c.CommandAsync("a1", "SEARCH ALL"));
        Assert.Equal(["* SEARCH 2", "a2 OK SEARCH completed"], await c.CommandAsync("a2", "UID SEARCH BODY kenobi"));
        Assert.Equal(["* ESEARCH (TAG \"a3\") MIN 1 MAX 2 COUNT 2", "a3 OK SEARCH completed"], await c.CommandAsync("a3", "SEARCH RETURN (MIN MAX COUNT) ALL"));
        Assert.Equal(["a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH RETURN (SAVE) SUBJECT first"));
        Assert.Equal(["* 1 FETCH (UID 1)", "a5 OK FETCH completed"], await c.CommandAsync("a5", "FETCH $ UID"));
        Assert.Equal(["a6 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"], await c.CommandAsync("a6", "SEARCH CHARSET KOI8-R ALL"));
    }

    [Fact]
    public async Task Condstore_fetch_changedsince_and_qresync_select()
    {
        var (h, c) = await SelectedAsync();
        await using var _ = h;
        var status = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX");
        var before = status.HighestModSeq;
        await c.CommandAsync("a1", "STORE 2 +FLAGS (\\Flagged)");
        var modseqs = await c.CommandAsync("a2", $"FETCH 1:* (UID FLAGS) (CHANGEDSINCE {before})");
        Assert.Equal(2, modseqs.Count);
        Assert.Matches(@"^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)$", modseqs[0]);

        // A second session resynchronises with QRESYNC after a flag change and an expunge.
        await c.CommandAsync("a3", "STORE 1 +FLAGS (\\Deleted)");
        await c.CommandAsync("a4", "EXPUNGE");
        var d = await h.LoginAsync();
        Assert.Equal(["* ENABLED QRESYNC", "b1 OK ENABLE completed"], await d.CommandAsync("b1", "ENABLE QRESYNC"));
        var select = await d.CommandAsync("b2", $"SELECT INBOX (QRESYNC ({status.UidValidity} {before} 1:2))");
        Assert.Contains("* VANISHED (EARLIER) 1", select);
        Assert.Contains(select, l => l.StartsWith("* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (", StringComparison.Ordinal));
        Assert.Contains(select, l => l.StartsWith("* OK [HIGHESTMODSEQ ", StringComparison.Ordinal));
        Assert.Equal("b2 OK [READ-WRITE] SELECT completed", select[^1]);
    }

    [Fact]
    public async Task A_message_with_no_header_still_has_an_envelope_and_a_body_structure()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {12+}\r\nno header\r\n!\r\n");
        Assert.StartsWith("a1 OK [APPENDUID ", await c.ReadLineAsync());
        await c.CommandAsync("a2", "SELECT INBOX");
        Assert.Equal(
        [
            "* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 2 NIL NIL NIL NIL))",
            "a3 OK FETCH completed",
        ], await c.CommandAsync("a3", "FETCH 1 (ENVELOPE BODYSTRUCTURE)"));
        Assert.Equal(["* SEARCH 1", "a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH TEXT header"));
    }
}
