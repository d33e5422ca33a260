using System.Text;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// The session held to the RFCs where a review found it short: each test is the exact exchange the RFC asks for
/// (RFC 9051, RFC 7162 CONDSTORE/QRESYNC, RFC 6855, RFC 5161).
/// </summary>
public sealed class ConformanceTranscriptTests
{
    private static async Task<(ImapTestHarness Harness, ImapTestHarness.Client Client)> TwoMessagesAsync()
    {
        var h = new ImapTestHarness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n"); // MODSEQ 2
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n"); // MODSEQ 3
        return (h, await h.LoginAsync());
    }

    [Fact]
    public async Task Status_with_highestmodseq_is_a_condstore_enabling_command()
    {
        // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is one of the CONDSTORE enabling commands, and §3.1.2: a SELECT after
        // one reports HIGHESTMODSEQ.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        Assert.Equal(["* STATUS INBOX (HIGHESTMODSEQ 3)", "a1 OK STATUS completed"], await c.CommandAsync("a1", "STATUS INBOX (HIGHESTMODSEQ)"));
        var select = await c.CommandAsync("a2", "SELECT INBOX");
        Assert.Contains("* OK [HIGHESTMODSEQ 3] Highest", select);
        Assert.Equal(["* 1 FETCH (FLAGS (\\Seen) UID 1 MODSEQ (4))", "a3 OK STORE completed"], await c.CommandAsync("a3", "STORE 1 +FLAGS (\\Seen)"));
    }

    [Fact]
    public async Task Examine_with_condstore_reports_highestmodseq_and_stays_read_only()
    {
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        var examine = await c.CommandAsync("a1", "EXAMINE INBOX (CONDSTORE)");
        Assert.Contains("* OK [HIGHESTMODSEQ 3] Highest", examine);
        Assert.Equal("a1 OK [READ-ONLY] EXAMINE completed", examine[^1]);
        Assert.Equal(["a2 NO [READ-ONLY] Mailbox is read-only"], await c.CommandAsync("a2", "STORE 1 +FLAGS (\\Seen)"));
    }

    [Fact]
    public async Task Once_condstore_is_on_every_untagged_fetch_of_a_flag_change_has_uid_and_modseq()
    {
        // RFC 7162 §3.2.4 (this server offers QRESYNC): after a CONDSTORE enabling command, the FETCH responses of a STORE,
        // of a FETCH that set \Seen and of another session's change carry both UID and MODSEQ.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        await c.CommandAsync("e1", "ENABLE CONDSTORE");
        await c.CommandAsync("a1", "SELECT INBOX");
        Assert.Equal(["* 1 FETCH (FLAGS (\\Flagged) UID 1 MODSEQ (4))", "a2 OK STORE completed"], await c.CommandAsync("a2", "STORE 1 +FLAGS (\\Flagged)"));
        Assert.Equal(["* 1 FETCH (UID 1 MODSEQ (5))", "a3 OK STORE completed"], await c.CommandAsync("a3", "STORE 1 -FLAGS.SILENT (\\Flagged)"));
        Assert.Equal(["* 2 FETCH (FLAGS (\\Seen) BODY[TEXT] {6}", "body", ")", "* 2 FETCH (FLAGS (\\Seen) UID 2 MODSEQ (6))", "a4 OK FETCH completed"],
            await c.CommandAsync("a4", "FETCH 2 (FLAGS BODY[TEXT])"));
        var other = await h.LoginAsync();
        await other.CommandAsync("b1", "SELECT INBOX");
        await other.CommandAsync("b2", "STORE 1 +FLAGS (\\Answered)");
        Assert.Equal(["* 1 FETCH (FLAGS (\\Answered) UID 1 MODSEQ (7))", "a5 OK NOOP completed"], await c.CommandAsync("a5", "NOOP"));
    }

    [Fact]
    public async Task After_enable_imap4rev2_search_answers_esearch()
    {
        // RFC 9051 §6.4.4 and appendix E: in IMAP4rev2 SEARCH answers ESEARCH, ALL when no RETURN is given; the SEARCH
        // response is IMAP4rev1's.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        await c.CommandAsync("e1", "ENABLE IMAP4rev2");
        await c.CommandAsync("a1", "SELECT INBOX");
        Assert.Equal(["* ESEARCH (TAG \"a2\") ALL 1:2", "a2 OK SEARCH completed"], await c.CommandAsync("a2", "SEARCH ALL"));
        Assert.Equal(["* ESEARCH (TAG \"a3\") UID ALL 2", "a3 OK SEARCH completed"], await c.CommandAsync("a3", "UID SEARCH SUBJECT two"));
        Assert.Equal(["* ESEARCH (TAG \"a4\")", "a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH SUBJECT three"));
        Assert.Equal(["* ESEARCH (TAG \"a5\") COUNT 2", "a5 OK SEARCH completed"], await c.CommandAsync("a5", "SEARCH RETURN (COUNT) ALL"));
    }

    [Fact]
    public async Task Status_of_the_selected_folder_is_answered_from_the_store()
    {
        // RFC 9051 §6.3.11: servers must be able to run STATUS on the selected mailbox; it is not a check for new mail,
        // so the new message is then announced by the EXISTS of the command's own report point.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        await c.CommandAsync("a1", "SELECT INBOX");
        await h.DeliverAsync("Subject: three\r\n\r\nbody\r\n");
        Assert.Equal(["* STATUS INBOX (MESSAGES 3 UIDNEXT 4)", "* 3 EXISTS", "a2 OK STATUS completed"],
            await c.CommandAsync("a2", "STATUS INBOX (MESSAGES UIDNEXT)"));
    }

    [Fact]
    public async Task Logout_in_each_state_says_bye_before_ok()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal(["* BYE Logging out", "a1 OK LOGOUT completed"], await c.CommandAsync("a1", "LOGOUT"));
        Assert.True(await c.EndedAsync());
        var d = await h.LoginAsync();
        await d.CommandAsync("b1", "SELECT INBOX");
        Assert.Equal(["* BYE Logging out", "b2 OK LOGOUT completed"], await d.CommandAsync("b2", "LOGOUT"));
        Assert.True(await d.EndedAsync());
    }

    [Fact]
    public async Task After_enable_imap4rev2_mailbox_names_are_utf8()
    {
        // RFC 9051 §5.1: in IMAP4rev2 mailbox names are Net-Unicode (UTF-8), unlike IMAP4rev1's modified UTF-7.
        await using var h = new ImapTestHarness();
        await h.Store.CreateFolderAsync(ImapTestHarness.Alice, "Caf\u00e9");
        var rev1 = await h.LoginAsync();
        Assert.Equal(["* LIST (\\HasNoChildren) \"/\" Caf&AOk-", "a1 OK LIST completed"], await rev1.CommandAsync("a1", "LIST \"\" Caf*"));

        var c = await h.LoginAsync();
        await c.CommandAsync("e1", "ENABLE IMAP4rev2");
        var utf8 = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("\"Caf\u00e9\"")); // the octets as the harness reads them
        Assert.Equal([$"* LIST (\\HasNoChildren) \"/\" {utf8}", "a2 OK LIST completed"], await c.CommandAsync("a2", "LIST \"\" Caf*"));
        await c.SendAsync(Encoding.UTF8.GetBytes("a3 SELECT \"Caf\u00e9\"\r\n"));
        var select = await c.ReadUntilTaggedAsync("a3");
        Assert.Contains($"* LIST () \"/\" {utf8}", select);
        Assert.Equal("a3 OK [READ-WRITE] SELECT completed", select[^1]);
    }

    [Fact]
    public async Task Select_with_qresync_before_enable_is_bad_and_leaves_the_selection_as_it_was()
    {
        // RFC 7162 §3.2.5: the QRESYNC parameter without ENABLE QRESYNC is a tagged BAD; a BAD command is not executed
        // (RFC 9051 §7.1.3), so the folder stays selected and CONDSTORE is not switched on.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        await c.CommandAsync("a1", "SELECT INBOX");
        Assert.Equal(["a2 BAD QRESYNC is not enabled"], await c.CommandAsync("a2", "SELECT INBOX (QRESYNC (1 1))"));
        Assert.Equal(["* 1 FETCH (FLAGS (\\Seen))", "a3 OK STORE completed"], await c.CommandAsync("a3", "STORE 1 +FLAGS (\\Seen)"));
    }

    [Fact]
    public async Task Select_in_imap4rev2_with_condstore_gives_the_rev2_responses_in_order()
    {
        // RFC 9051 §6.3.2: FLAGS, EXISTS, the OKs with PERMANENTFLAGS, UIDVALIDITY, UIDNEXT, and the LIST of the name; no
        // RECENT or UNSEEN (IMAP4rev1's); RFC 7162 §3.1.2: HIGHESTMODSEQ after a CONDSTORE enabling command.
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        var status = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX");
        Assert.Equal(["* ENABLED IMAP4REV2 CONDSTORE", "e1 OK ENABLE completed"], await c.CommandAsync("e1", "ENABLE IMAP4rev2 CONDSTORE"));
        Assert.Equal(
        [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* 2 EXISTS",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted",
            $"* OK [UIDVALIDITY {status.UidValidity}] UIDs valid",
            "* OK [UIDNEXT 3] Predicted next UID",
            "* OK [HIGHESTMODSEQ 3] Highest",
            "* LIST () \"/\" INBOX",
            "a1 OK [READ-WRITE] SELECT completed",
        ], await c.CommandAsync("a1", "SELECT INBOX"));
    }

    [Fact]
    public async Task No_expunge_during_fetch_store_or_search_and_it_comes_at_the_next_command_that_allows_it()
    {
        // RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH (the numbers must not move under the client);
        // another session's expunge waits for NOOP (or a UID command).
        var (h, c) = await TwoMessagesAsync();
        await using var _ = h;
        await c.CommandAsync("a1", "SELECT INBOX");
        await h.Store.ExpungeAsync(ImapTestHarness.Alice, "INBOX", [1u]);
        await h.DeliverAsync("Subject: three\r\n\r\nbody\r\n");
        Assert.Equal(["* 2 FETCH (FLAGS (\\Flagged))", "a2 OK STORE completed"], await c.CommandAsync("a2", "STORE 1:2 +FLAGS (\\Flagged)"));
        Assert.Equal(["* 2 FETCH (FLAGS (\\Flagged))", "a3 NO [EXPUNGEISSUED] Some messages were expunged by another session"], await c.CommandAsync("a3", "FETCH 1:2 FLAGS"));
        // The expunged message keeps its number 1 until the EXPUNGE is reported, and a search never finds it.
        Assert.Equal(["* SEARCH 2", "a4 OK SEARCH completed"], await c.CommandAsync("a4", "SEARCH ALL"));
        Assert.Equal(["* 1 EXPUNGE", "* 2 EXISTS", "a5 OK NOOP completed"], await c.CommandAsync("a5", "NOOP"));
        Assert.Equal(["* SEARCH 1 2", "a6 OK SEARCH completed"], await c.CommandAsync("a6", "SEARCH ALL"));
    }
}
