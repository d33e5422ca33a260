using System.Text;
using Mail.Protocols.Storage;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>The session's states, commands and replies, as transcripts (RFC 9051 §6 and its examples).</summary>
public sealed class SessionTranscriptTests
{
    [Fact]
    public async Task Greeting_carries_the_capabilities_and_login_changes_them()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        var greeting = await c.ReadLineAsync();
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ", greeting);
        Assert.Contains(" AUTH=PLAIN", greeting);
        Assert.EndsWith("] imap.example.test IMAP ready", greeting);
        var login = await c.CommandAsync("a1", "LOGIN alice@example.test alice");
        Assert.StartsWith("a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 ", login[^1]);
        Assert.Contains(" UIDPLUS ", login[^1]);
        Assert.DoesNotContain("AUTH=", login[^1]);
        Assert.EndsWith("] Logged in", login[^1]);
        var capability = await c.CommandAsync("a2", "CAPABILITY");
        Assert.StartsWith("* CAPABILITY IMAP4rev1 IMAP4rev2 ", capability[0]);
        Assert.Equal("a2 OK CAPABILITY completed", capability[1]);
    }

    [Fact]
    public async Task Without_tls_and_plaintext_auth_login_is_disabled()
    {
        await using var h = new ImapTestHarness(o => o.AllowPlaintextAuth = false);
        var c = h.Connect();
        var greeting = await c.ReadLineAsync();
        Assert.Contains(" LOGINDISABLED", greeting);
        Assert.DoesNotContain("AUTH=", greeting);
        Assert.Equal(["a1 NO [PRIVACYREQUIRED] Login needs TLS, use STARTTLS first"], await c.CommandAsync("a1", "LOGIN alice@example.test alice"));
        Assert.Equal(["a2 NO [PRIVACYREQUIRED] Login needs TLS, use STARTTLS first"], await c.CommandAsync("a2", "AUTHENTICATE PLAIN"));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_authenticationfailed()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal(["a1 NO [AUTHENTICATIONFAILED] Authentication failed"], await c.CommandAsync("a1", "LOGIN alice@example.test wrong"));
        Assert.Equal(["a2 BAD Command not valid before login"], await c.CommandAsync("a2", "SELECT INBOX"));
    }

    [Fact]
    public async Task Authenticate_plain_with_an_initial_response()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        var response = Convert.ToBase64String(Encoding.ASCII.GetBytes("\0alice@example.test\0alice"));
        var reply = await c.CommandAsync("a1", "AUTHENTICATE PLAIN " + response);
        Assert.StartsWith("a1 OK [CAPABILITY ", reply[^1]);
    }

    [Fact]
    public async Task Authenticate_plain_with_a_continuation_and_a_literal_login()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        await c.SendAsync("a1 AUTHENTICATE PLAIN\r\n");
        Assert.Equal("+ ", await c.ReadLineAsync());
        await c.SendAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes("\0alice@example.test\0alice")) + "\r\n");
        Assert.StartsWith("a1 OK [CAPABILITY ", await c.ReadLineAsync());

        var d = h.Connect();
        await d.ReadLineAsync();
        await d.SendAsync("b1 LOGIN {18}\r\n");
        Assert.Equal("+ Ready for literal data", await d.ReadLineAsync());
        await d.SendAsync("alice@example.test {5+}\r\nalice\r\n");
        Assert.StartsWith("b1 OK [CAPABILITY ", await d.ReadLineAsync());
    }

    [Fact]
    public async Task Select_reports_the_folder_and_examine_is_read_only()
    {
        await using var h = new ImapTestHarness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        var status = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX");
        var select = await c.CommandAsync("a1", "SELECT INBOX");
        Assert.Equal(
        [
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* 2 EXISTS",
            "* 0 RECENT",
            "* OK [UNSEEN 1] First unseen",
            "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted",
            $"* OK [UIDVALIDITY {status.UidValidity}] UIDs valid",
            "* OK [UIDNEXT 3] Predicted next UID",
            "a1 OK [READ-WRITE] SELECT completed",
        ], select);
        var examine = await c.CommandAsync("a2", "EXAMINE INBOX");
        Assert.Equal("* OK [CLOSED] Previous mailbox closed", examine[0]);
        Assert.Contains("* OK [PERMANENTFLAGS ()] Read-only mailbox", examine);
        Assert.Equal("a2 OK [READ-ONLY] EXAMINE completed", examine[^1]);
        Assert.Equal(["a3 NO [READ-ONLY] Mailbox is read-only"], await c.CommandAsync("a3", "EXPUNGE"));
        // RFC 9051 §6.3.2: the selected folder is closed even when the new one cannot be opened.
        Assert.Equal(["* OK [CLOSED] Previous mailbox closed", "a4 NO [NONEXISTENT] No such mailbox"], await c.CommandAsync("a4", "SELECT Nowhere"));
        Assert.Equal(["a5 BAD No mailbox selected"], await c.CommandAsync("a5", "EXPUNGE"));
    }

    [Fact]
    public async Task Imap4rev2_after_enable_drops_recent_and_unseen_and_lists_the_name()
    {
        await using var h = new ImapTestHarness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        Assert.Equal(["* ENABLED IMAP4REV2", "e1 OK ENABLE completed"], await c.CommandAsync("e1", "ENABLE IMAP4rev2"));
        Assert.Equal(["* ENABLED", "e2 OK ENABLE completed"], await c.CommandAsync("e2", "ENABLE IMAP4rev2 XUNKNOWN"));
        var select = await c.CommandAsync("a1", "SELECT inbox");
        Assert.DoesNotContain(select, l => l.Contains("RECENT", StringComparison.Ordinal) || l.Contains("UNSEEN", StringComparison.Ordinal));
        Assert.Contains("* LIST () \"/\" INBOX", select);
        Assert.Equal(["e3 BAD Cannot enable that here"], await c.CommandAsync("e3", "ENABLE CONDSTORE"));
    }

    [Fact]
    public async Task Create_list_rename_delete_and_status()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        Assert.Equal(["a1 OK CREATE completed"], await c.CommandAsync("a1", "CREATE Projects/2026/"));
        Assert.Equal(["a2 OK CREATE completed"], await c.CommandAsync("a2", "CREATE Sent (USE (\\Sent))"));
        Assert.Equal(["a3 NO [ALREADYEXISTS] Mailbox already exists"], await c.CommandAsync("a3", "CREATE Sent"));
        var list = await c.CommandAsync("a4", "LIST \"\" *");
        Assert.Equal(
        [
            "* LIST (\\HasNoChildren) \"/\" INBOX",
            "* LIST (\\HasChildren) \"/\" Projects",
            "* LIST (\\HasNoChildren) \"/\" Projects/2026",
            "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
            "a4 OK LIST completed",
        ], list);
        Assert.Equal(["* LIST (\\Noselect) \"/\" \"\"", "a5 OK LIST completed"], await c.CommandAsync("a5", "LIST \"\" \"\""));
        Assert.Equal(["* LIST (\\HasChildren) \"/\" Projects", "a6 OK LIST completed"], await c.CommandAsync("a6", "LIST \"\" Pro%"));
        Assert.Equal(["a7 OK RENAME completed"], await c.CommandAsync("a7", "RENAME Projects/2026 Projects/2027"));
        await h.DeliverAsync("Subject: x\r\n\r\nbody\r\n", "Projects/2027");
        var status = await c.CommandAsync("a8", "STATUS Projects/2027 (MESSAGES UNSEEN UIDNEXT DELETED SIZE)");
        Assert.Equal("* STATUS Projects/2027 (MESSAGES 1 UIDNEXT 2 UNSEEN 1 DELETED 0 SIZE 20)", status[0]);
        Assert.Equal(["a9 OK DELETE completed"], await c.CommandAsync("a9", "DELETE Projects/2027"));
        Assert.Equal(["a10 NO [NONEXISTENT] No such mailbox"], await c.CommandAsync("a10", "DELETE Projects/2027"));
        Assert.Equal(["a11 NO [CANNOT] Not allowed on this mailbox"], await c.CommandAsync("a11", "DELETE INBOX"));
    }

    [Fact]
    public async Task Subscriptions_show_in_lsub_and_list_subscribed()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.CommandAsync("a1", "CREATE Work");
        Assert.Equal(["a2 OK SUBSCRIBE completed"], await c.CommandAsync("a2", "SUBSCRIBE Work"));
        Assert.Equal(["a3 OK SUBSCRIBE completed"], await c.CommandAsync("a3", "SUBSCRIBE Gone"));
        Assert.Equal(["* LSUB (\\Noselect) \"/\" Gone", "* LSUB () \"/\" Work", "a4 OK LSUB completed"], await c.CommandAsync("a4", "LSUB \"\" *"));
        Assert.Equal(["* LIST (\\NonExistent \\Subscribed) \"/\" Gone", "* LIST (\\HasNoChildren \\Subscribed) \"/\" Work", "a5 OK LIST completed"],
            await c.CommandAsync("a5", "LIST (SUBSCRIBED) \"\" *"));
        Assert.Equal(["a6 OK UNSUBSCRIBE completed"], await c.CommandAsync("a6", "UNSUBSCRIBE Gone"));
        var status = await c.CommandAsync("a7", "LIST \"\" Work RETURN (SUBSCRIBED STATUS (MESSAGES))");
        Assert.Equal(["* LIST (\\HasNoChildren \\Subscribed) \"/\" Work", "* STATUS Work (MESSAGES 0)", "a7 OK LIST completed"], status);
    }

    [Fact]
    public async Task Append_with_flags_and_date_answers_appenduid_and_stores_the_octets()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        var message = "From: a@example.test\r\nSubject: hi\r\n\r\nHello\r\n";
        await c.SendAsync($"a1 APPEND INBOX (\\Seen $Work) \"05-Dec-2026 10:00:00 +0100\" {{{message.Length}}}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());
        await c.SendAsync(message + "\r\n");
        var status = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX");
        Assert.Equal($"a1 OK [APPENDUID {status.UidValidity} 1] APPEND completed", await c.ReadLineAsync());
        var stored = (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX")).Single();
        Assert.Equal(MessageFlags.Seen, stored.Flags);
        Assert.Equal(["$Work"], stored.Keywords);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.FromHours(1)), stored.InternalDate);
        using var content = await h.Store.OpenContentAsync(ImapTestHarness.Alice, "INBOX", stored.Uid);
        Assert.Equal(message, await new StreamReader(content).ReadToEndAsync());

        // A non-synchronising literal (LITERAL+) needs no continuation.
        await c.SendAsync($"a2 APPEND INBOX {{{message.Length}+}}\r\n{message}\r\n");
        Assert.Equal($"a2 OK [APPENDUID {status.UidValidity} 2] APPEND completed", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Append_in_the_utf8_form_and_with_a_literal_mailbox_name()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.CommandAsync("e1", "ENABLE UTF8=ACCEPT");
        var message = "Subject: caf\u00e9\r\n\r\nbody\r\n";
        var octets = System.Text.Encoding.UTF8.GetBytes(message);
        await c.SendAsync($"a1 APPEND INBOX UTF8 (~{{{octets.Length}+}}\r\n");
        await c.SendAsync(octets);
        await c.SendAsync(")\r\n");
        Assert.StartsWith("a1 OK [APPENDUID ", await c.ReadLineAsync());
        await c.SendAsync("a2 APPEND {5}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());
        await c.SendAsync("INBOX {6}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());
        await c.SendAsync("x: y\r\n\r\n");
        Assert.StartsWith("a2 OK [APPENDUID ", await c.ReadLineAsync());
        Assert.Equal(2, (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX")).Count);
    }

    [Fact]
    public async Task Append_to_a_missing_folder_or_over_the_limit_reads_nothing_and_the_session_goes_on()
    {
        await using var h = new ImapTestHarness(o => o.AppendLimit = 1000);
        var c = await h.LoginAsync();
        Assert.Equal(["a1 NO [TRYCREATE] No such mailbox"], await c.CommandAsync("a1", "APPEND Nowhere {10}"));
        Assert.Equal(["a2 NO [TOOBIG] Message larger than APPENDLIMIT"], await c.CommandAsync("a2", "APPEND INBOX {104857600}"));
        // A non-synchronising message to a missing folder is read past, then refused.
        await c.SendAsync("a3 APPEND Nowhere {5+}\r\nhello\r\n");
        Assert.Equal("a3 NO [TRYCREATE] No such mailbox", await c.ReadLineAsync());
        Assert.Equal(["a4 OK NOOP completed"], await c.CommandAsync("a4", "NOOP"));
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
        // One over the limit and not waiting for "+": the stream cannot be put back in step, so the connection closes.
        await c.SendAsync("a5 APPEND INBOX {104857600+}\r\n");
        Assert.Equal("a5 BAD [TOOBIG] Literal too large", await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }

    [Fact]
    public async Task A_connection_dropped_inside_an_appended_message_stores_nothing()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {100+}\r\nSubject: half\r\n\r\nonly a part");
        await c.CloseAsync();
        Assert.True(await c.EndedAsync());
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task Store_expunge_copy_and_move_with_uidplus()
    {
        await using var h = new ImapTestHarness();
        for (var i = 1; i <= 4; i++)
        {
            await h.DeliverAsync($"Subject: {i}\r\n\r\nbody\r\n");
        }
        var c = await h.LoginAsync();
        await c.CommandAsync("a0", "CREATE Archive");
        await c.CommandAsync("a1", "SELECT INBOX");
        var inbox = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX");
        var archive = await h.Store.GetStatusAsync(ImapTestHarness.Alice, "Archive");
        Assert.Equal(["* 2 FETCH (FLAGS (\\Deleted))", "* 3 FETCH (FLAGS (\\Deleted))", "a2 OK STORE completed"], await c.CommandAsync("a2", "STORE 2:3 +FLAGS (\\Deleted)"));
        Assert.Equal(["a3 OK STORE completed"], await c.CommandAsync("a3", "STORE 1 +FLAGS.SILENT (\\Seen)"));
        Assert.Equal(["* 1 FETCH (FLAGS (\\Seen) UID 1)", "a4 OK STORE completed"], await c.CommandAsync("a4", "UID STORE 1 FLAGS (\\Seen)"));
        Assert.Equal([$"a5 OK [COPYUID {archive.UidValidity} 1:2 1:2] COPY completed"], await c.CommandAsync("a5", "COPY 1:2 Archive"));
        Assert.Equal(["a6 NO [TRYCREATE] No such mailbox"], await c.CommandAsync("a6", "COPY 1 Nowhere"));
        Assert.Equal(["* 2 EXPUNGE", "* 2 EXPUNGE", "a7 OK EXPUNGE completed"], await c.CommandAsync("a7", "EXPUNGE"));
        Assert.Equal([$"* OK [COPYUID {archive.UidValidity} 4 3] Moved", "* 2 EXPUNGE", "a8 OK MOVE completed"], await c.CommandAsync("a8", "UID MOVE 4 Archive"));
        Assert.Equal(["a9 BAD Invalid message sequence number"], await c.CommandAsync("a9", "STORE 5 +FLAGS (\\Seen)"));
        Assert.Equal([1u], (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX")).Select(m => m.Uid));
        Assert.Equal(3, (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "Archive")).Count);
        Assert.Equal(inbox.UidValidity, (await h.Store.GetStatusAsync(ImapTestHarness.Alice, "INBOX")).UidValidity);
    }

    [Fact]
    public async Task Changes_by_another_session_are_reported_at_noop()
    {
        await using var h = new ImapTestHarness();
        await h.DeliverAsync("Subject: 1\r\n\r\nbody\r\n");
        await h.DeliverAsync("Subject: 2\r\n\r\nbody\r\n");
        var a = await h.LoginAsync();
        var b = await h.LoginAsync();
        await a.CommandAsync("a1", "SELECT INBOX");
        await b.CommandAsync("b1", "SELECT INBOX");
        await b.CommandAsync("b2", "STORE 1 +FLAGS (\\Deleted \\Seen)");
        await b.CommandAsync("b3", "EXPUNGE");
        await h.DeliverAsync("Subject: 3\r\n\r\nbody\r\n");
        await b.CommandAsync("b4", "STORE 1 +FLAGS (\\Flagged)");
        Assert.Equal(
        [
            "* 1 FETCH (FLAGS (\\Seen \\Deleted))",
            "* 1 EXPUNGE",
            "* 2 EXISTS",
            "* 1 FETCH (FLAGS (\\Flagged))",
            "a2 OK NOOP completed",
        ], await a.CommandAsync("a2", "NOOP"));
    }

    [Fact]
    public async Task Idle_reports_a_delivery_at_once_and_done_ends_it()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.CommandAsync("a1", "SELECT INBOX");
        await c.SendAsync("a2 IDLE\r\n");
        Assert.Equal("+ idling", await c.ReadLineAsync());
        await h.DeliverAsync("Subject: pushed\r\n\r\nbody\r\n");
        Assert.Equal("* 1 EXISTS", await c.ReadLineAsync());
        await c.SendAsync("DONE\r\n");
        Assert.Equal("a2 OK IDLE terminated", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Bad_input_gets_bad_and_the_session_goes_on()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal(["a1 BAD Unknown command"], await c.CommandAsync("a1", "FROBNICATE"));
        await c.SendAsync("\r\n");
        Assert.StartsWith("* BAD ", await c.ReadLineAsync());
        await c.SendAsync("a2 " + new string('x', 70_000) + "\r\n");
        Assert.Equal("* BAD [TOOBIG] Command line too long", await c.ReadLineAsync());
        Assert.StartsWith("a3 BAD ", (await c.CommandAsync("a3", "LOGIN \"unterminated"))[0]);
        Assert.StartsWith("a4 BAD ", (await c.CommandAsync("a4", "LOGIN " + new string('(', 10_000)))[0]);
        Assert.Equal(["* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=SCRAM-SHA-256 AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN", "a5 OK CAPABILITY completed"],
            await c.CommandAsync("a5", "CAPABILITY"));
    }

    [Fact]
    public async Task Too_many_errors_in_a_row_end_the_session_with_bye()
    {
        await using var h = new ImapTestHarness(o => o.MaxErrors = 3);
        var c = h.Connect();
        await c.ReadLineAsync();
        await c.SendAsync("a1 X\r\na2 X\r\na3 X\r\na4 NOOP\r\n");
        Assert.Equal("a1 BAD Unknown command", await c.ReadLineAsync());
        Assert.Equal("a2 BAD Unknown command", await c.ReadLineAsync());
        Assert.Equal("a3 BAD Unknown command", await c.ReadLineAsync());
        Assert.Equal("* BYE Too many errors, closing", await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }

    [Fact]
    public async Task Logout_says_bye_then_ok()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        Assert.Equal(["* BYE Logging out", "a1 OK LOGOUT completed"], await c.CommandAsync("a1", "LOGOUT"));
        Assert.True(await c.EndedAsync());
    }

    [Fact]
    public async Task Folders_at_login_are_created_with_their_roles_and_subscribed()
    {
        await using var h = new ImapTestHarness(o => o.FoldersAtLogin.Add(new ImapFolderAtLogin("Sent", SpecialUse.Sent)));
        var c = await h.LoginAsync();
        Assert.Contains("* LIST (\\HasNoChildren \\Sent) \"/\" Sent", await c.CommandAsync("a1", "LIST \"\" *"));
        Assert.Contains("Sent", await h.Store.ListSubscriptionsAsync(ImapTestHarness.Alice));
    }

    [Fact]
    public async Task Id_namespace_check_and_unselect()
    {
        await using var h = new ImapTestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal(["* ID (\"name\" \"Mail.Protocols\")", "a1 OK ID completed"], await c.CommandAsync("a1", "ID (\"name\" \"test client\")"));
        Assert.Equal(["* ID (\"name\" \"Mail.Protocols\")", "a2 OK ID completed"], await c.CommandAsync("a2", "ID NIL"));
        await c.CommandAsync("a3", "LOGIN alice@example.test alice");
        Assert.Equal(["* NAMESPACE ((\"\" \"/\")) NIL NIL", "a4 OK NAMESPACE completed"], await c.CommandAsync("a4", "NAMESPACE"));
        await c.CommandAsync("a5", "SELECT INBOX");
        await h.DeliverAsync("Subject: x\r\n\r\nbody\r\n");
        Assert.Equal(["* 1 EXISTS", "a6 OK CHECK completed"], await c.CommandAsync("a6", "CHECK"));
        await c.CommandAsync("a7", "STORE 1 +FLAGS.SILENT (\\Deleted)");
        Assert.Equal(["a8 OK UNSELECT completed"], await c.CommandAsync("a8", "UNSELECT"));
        Assert.Single(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX")); // UNSELECT expunges nothing
        await c.CommandAsync("a9", "SELECT INBOX");
        Assert.Equal(["a10 OK CLOSE completed"], await c.CommandAsync("a10", "CLOSE"));
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX")); // CLOSE expunges silently
        Assert.Equal(["a11 BAD No mailbox selected"], await c.CommandAsync("a11", "CHECK"));
    }

    [Fact]
    public async Task After_a_failed_select_nothing_of_the_old_folder_is_reported()
    {
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.CommandAsync("a1", "SELECT INBOX");
        await c.CommandAsync("a2", "SELECT Nowhere");
        await h.DeliverAsync("Subject: x\r\n\r\nbody\r\n");
        Assert.Equal(["a3 OK NOOP completed"], await c.CommandAsync("a3", "NOOP"));
        Assert.Contains("* 1 EXISTS", await c.CommandAsync("a4", "SELECT INBOX"));
    }

    [Fact]
    public async Task A_selected_folder_renamed_by_another_session_is_followed_under_its_new_name()
    {
        await using var h = new ImapTestHarness();
        var a = await h.LoginAsync();
        var b = await h.LoginAsync();
        await a.CommandAsync("a1", "CREATE Work/Q4");
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n", "Work/Q4");
        await a.CommandAsync("a2", "SELECT Work/Q4");
        Assert.Equal(["b1 OK RENAME completed"], await b.CommandAsync("b1", "RENAME Work Archive2026"));
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n", "Archive2026/Q4");
        Assert.Equal(["* 2 EXISTS", "a3 OK NOOP completed"], await a.CommandAsync("a3", "NOOP"));
        Assert.Equal(["* 1 FETCH (FLAGS (\\Flagged))", "a4 OK STORE completed"], await a.CommandAsync("a4", "STORE 1 +FLAGS (\\Flagged)"));
        Assert.Equal(MessageFlags.Flagged, (await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "Archive2026/Q4"))[0].Flags);
    }
}
