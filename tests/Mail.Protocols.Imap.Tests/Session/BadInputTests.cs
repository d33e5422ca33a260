using System.IO.Pipelines;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Storage;
using Mail.Protocols.TestSupport;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// The bad input of issue 11: commands in the wrong state, unknown commands, literals too large or cut short, deep
/// nesting, invalid sequence sets, expunged UIDs, and a client that does not read. Each gets the protocol's own reply
/// and the session either goes on or ends cleanly.
/// </summary>
public sealed class BadInputTests
{
    // The commands valid only after login, with arguments the grammar accepts.
    private static readonly string[] s_authenticatedCommands =
    [
        "ENABLE CONDSTORE", "SELECT INBOX", "EXAMINE INBOX", "CREATE Work", "DELETE Work", "RENAME Work Play", "SUBSCRIBE Work",
        "UNSUBSCRIBE Work", "LIST \"\" *", "LSUB \"\" *", "NAMESPACE", "STATUS INBOX (MESSAGES)", "IDLE",
    ];

    // The commands valid only with a folder selected.
    private static readonly string[] s_selectedCommands =
    [
        "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH ALL", "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "COPY 1 Work", "MOVE 1 Work",
        "UID EXPUNGE 1", "UID SEARCH ALL", "UID FETCH 1 FLAGS", "UID STORE 1 +FLAGS (\\Seen)", "UID COPY 1 Work", "UID MOVE 1 Work",
    ];

    private static readonly string[] s_loginCommands = ["STARTTLS", "LOGIN alice@example.test alice", "AUTHENTICATE PLAIN"];

    private static ImapTestHarness Harness(Action<ImapServerOptions>? configure = null) => new(o =>
    {
        o.MaxErrors = 1000;
        configure?.Invoke(o);
    });

    [Fact]
    public async Task Every_command_outside_its_state_is_refused_with_bad_and_changes_nothing()
    {
        await using var h = Harness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        var c = h.Connect();
        await c.ReadLineAsync();
        var n = 0;
        foreach (var command in s_authenticatedCommands.Concat(s_selectedCommands))
        {
            Assert.Equal([$"n{n} BAD Command not valid before login"], await c.CommandAsync($"n{n}", command));
            n++;
        }
        // An APPEND before login: its synchronising message is never asked for.
        Assert.Equal(["n98 BAD Command not valid before login"], await c.CommandAsync("n98", "APPEND INBOX {5}"));
        Assert.Equal(["n99 OK NOOP completed"], await c.CommandAsync("n99", "NOOP"));
        Assert.Empty(await h.Store.ListSubscriptionsAsync(ImapTestHarness.Alice));
        Assert.Equal(["INBOX"], (await h.Store.ListFoldersAsync(ImapTestHarness.Alice)).Select(f => f.Name));
        Assert.Single(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task Commands_of_the_wrong_state_after_login()
    {
        await using var h = Harness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        var n = 0;
        foreach (var command in s_loginCommands)
        {
            Assert.Equal([$"a{n} BAD Already logged in"], await c.CommandAsync($"a{n}", command));
            n++;
        }
        foreach (var command in s_selectedCommands)
        {
            Assert.Equal([$"a{n} BAD No mailbox selected"], await c.CommandAsync($"a{n}", command));
            n++;
        }
        await c.CommandAsync("s1", "SELECT INBOX");
        foreach (var command in s_loginCommands)
        {
            Assert.Equal([$"b{n} BAD Already logged in"], await c.CommandAsync($"b{n}", command));
            n++;
        }
        // RFC 5161 §3.1: ENABLE only before a mailbox is selected.
        Assert.Equal(["b1 BAD Cannot enable that here"], await c.CommandAsync("b1", "ENABLE CONDSTORE"));
        Assert.Equal(["* 1 FETCH (FLAGS ())", "b2 OK FETCH completed"], await c.CommandAsync("b2", "FETCH 1 FLAGS"));
        Assert.Empty(await h.Store.ListSubscriptionsAsync(ImapTestHarness.Alice));
        Assert.Equal(["INBOX"], (await h.Store.ListFoldersAsync(ImapTestHarness.Alice)).Select(f => f.Name));
    }

    [Fact]
    public async Task Unknown_commands_get_bad_in_every_state()
    {
        await using var h = Harness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal(["a1 BAD Unknown command"], await c.CommandAsync("a1", "FROBNICATE"));
        Assert.Equal(["a2 BAD Unknown command"], await c.CommandAsync("a2", "UID FROBNICATE 1"));
        Assert.Equal(["a3 BAD Unknown command"], await c.CommandAsync("a3", "XLIST \"\" *"));
        Assert.Equal(["a4 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE CONDSTORE QRESYNC ESEARCH SEARCHRES BINARY UTF8=ACCEPT APPENDLIMIT=52428800] Logged in"],
            await c.CommandAsync("a4", "LOGIN alice@example.test alice"));
        Assert.Equal(["b1 BAD Unknown command"], await c.CommandAsync("b1", "FROBNICATE"));
        Assert.Equal(["b2 BAD Unknown command"], await c.CommandAsync("b2", "UID FROBNICATE 1"));
        await c.CommandAsync("s1", "SELECT INBOX");
        Assert.Equal(["c1 BAD Unknown command"], await c.CommandAsync("c1", "FROBNICATE"));
        Assert.Equal(["c2 BAD Unknown command"], await c.CommandAsync("c2", "UID FROBNICATE 1"));
        Assert.Equal(["c3 OK NOOP completed"], await c.CommandAsync("c3", "NOOP"));
    }

    [Fact]
    public async Task A_synchronising_append_beyond_appendlimit_is_refused_unread_and_the_session_goes_on()
    {
        await using var h = Harness();
        var c = await h.LoginAsync();
        // No "+" is sent, so the client never sends the 100 MB; the next line is a command again.
        await c.SendAsync("a1 APPEND INBOX {104857600}\r\na2 NOOP\r\n");
        Assert.Equal("a1 NO [TOOBIG] Message larger than APPENDLIMIT", await c.ReadLineAsync());
        Assert.Equal("a2 OK NOOP completed", await c.ReadLineAsync());
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task A_non_synchronising_append_beyond_appendlimit_gets_bad_and_the_connection_closes_without_reading_it()
    {
        await using var h = Harness();
        var c = await h.LoginAsync();
        // The client starts sending its message at once; the server reads none of it and closes.
        await c.SendAsync("a1 APPEND INBOX {104857600+}\r\nSubject: big\r\n\r\n" + new string('x', 10_000));
        Assert.Equal("a1 BAD [TOOBIG] Literal too large", await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
        Assert.Null(await c.ReadLineAsync());
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task A_literal_beyond_the_command_budget_in_any_command_is_refused()
    {
        await using var h = Harness();
        var c = h.Connect();
        await c.ReadLineAsync();
        await c.SendAsync("a1 LOGIN {104857600}\r\na2 NOOP\r\n");
        Assert.Equal("a1 BAD [TOOBIG] Literal too large", await c.ReadLineAsync());
        Assert.Equal("a2 OK NOOP completed", await c.ReadLineAsync());
        await c.SendAsync("a3 LOGIN {104857600+}\r\n");
        Assert.Equal("a3 BAD [TOOBIG] Literal too large", await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }

    [Theory]
    [InlineData("t3\0x {104857600}", "t3 BAD [TOOBIG] Literal too large")]   // found by the ImapSession fuzz target
    [InlineData("\u0001t {104857600}", "* BAD [TOOBIG] Literal too large")]
    [InlineData("a\rb {104857600}", "a BAD [TOOBIG] Literal too large")]
    public async Task A_command_refused_before_it_is_parsed_gets_only_tag_characters_back(string line, string reply)
    {
        // The tag of a refused command is echoed as the parser reads a tag: never a NUL, CR or other octet the grammar
        // does not allow there, which would put a control character (or a line break) inside our response.
        await using var h = Harness();
        var c = h.Connect();
        await c.ReadLineAsync();
        await c.SendAsync(line + "\r\na2 NOOP\r\n");
        Assert.Equal(reply, await c.ReadLineAsync());
        Assert.Equal("a2 OK NOOP completed", await c.ReadLineAsync());
    }

    [Fact]
    public async Task An_appended_message_shorter_than_announced_stores_nothing_when_the_literal_deadline_passes()
    {
        // The inactivity limit alone (the minimum data rate, which would cut it sooner, has tests of its own).
        await using var h = Harness(o => o.MinimumDataRate = 0);
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {100+}\r\nSubject: short\r\n\r\nonly fifty octets of the hundred an");
        await FakeTimeExtensions.WaitUntilAsync(() => c.Connection.ArmedDeadline == TimeoutReason.Literal);
        Assert.True(await AdvanceUntilEndedAsync(h, c, TimeSpan.FromMinutes(1)), "the session did not end at the literal deadline");
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task A_connection_dropped_inside_a_synchronising_append_stores_nothing()
    {
        await using var h = Harness();
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {100}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());
        await c.SendAsync("Subject: half\r\n\r\nonly a part");
        await c.CloseAsync();
        Assert.True(await c.EndedAsync());
        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
    }

    [Fact]
    public async Task Ten_thousand_nested_parentheses_in_search_and_fetch_get_bad_without_a_stack_overflow()
    {
        await using var h = Harness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        await c.CommandAsync("s1", "SELECT INBOX");
        var open = new string('(', 10_000);
        var close = new string(')', 10_000);
        var search = await c.CommandAsync("a1", "SEARCH " + open + "ALL" + close);
        Assert.Single(search);
        Assert.StartsWith("a1 BAD ", search[0]);
        var fetch = await c.CommandAsync("a2", "FETCH 1 " + open + "FLAGS" + close);
        Assert.Single(fetch);
        Assert.StartsWith("a2 BAD ", fetch[0]);
        var store = await c.CommandAsync("a3", "STORE 1 +FLAGS " + open + "\\Seen" + close);
        Assert.Single(store);
        Assert.StartsWith("a3 BAD ", store[0]);
        Assert.Equal(["* 1 FETCH (FLAGS ())", "a4 OK FETCH completed"], await c.CommandAsync("a4", "FETCH 1 FLAGS"));
    }

    [Theory]
    [InlineData("FETCH 0 FLAGS")]
    [InlineData("FETCH 1: FLAGS")]
    [InlineData("FETCH *:*:* FLAGS")]
    [InlineData("FETCH 4294967296 FLAGS")]
    [InlineData("FETCH 99999999999999999999999 FLAGS")]
    [InlineData("FETCH  FLAGS")]
    [InlineData("FETCH , FLAGS")]
    [InlineData("FETCH 1,,2 FLAGS")]
    [InlineData("FETCH 1:0 FLAGS")]
    [InlineData("FETCH 3 FLAGS")]
    [InlineData("FETCH -1 FLAGS")]
    [InlineData("UID FETCH 0 FLAGS")]
    [InlineData("UID FETCH 1: FLAGS")]
    [InlineData("STORE 0 +FLAGS (\\Seen)")]
    [InlineData("COPY 1:*:2 INBOX")]
    [InlineData("UID EXPUNGE 0")]
    public async Task Invalid_sequence_sets_get_bad_and_change_nothing(string command)
    {
        await using var h = Harness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        await c.CommandAsync("s1", "SELECT INBOX");
        var reply = await c.CommandAsync("a1", command);
        Assert.Single(reply);
        Assert.StartsWith("a1 BAD ", reply[0]);
        Assert.Equal(["a2 OK NOOP completed"], await c.CommandAsync("a2", "NOOP"));
        Assert.All(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"), m => Assert.Equal(MessageFlags.None, m.Flags));
    }

    [Fact]
    public async Task Fetch_of_an_expunged_uid()
    {
        await using var h = Harness();
        await h.DeliverAsync("Subject: one\r\n\r\nbody\r\n");
        await h.DeliverAsync("Subject: two\r\n\r\nbody\r\n");
        var c = await h.LoginAsync();
        await c.CommandAsync("s1", "SELECT INBOX");
        // Expunged by this session: the UID is simply not there any more (RFC 9051 §6.4.9).
        await c.CommandAsync("a1", "STORE 1 +FLAGS (\\Deleted)");
        Assert.Equal(["* 1 EXPUNGE", "a2 OK EXPUNGE completed"], await c.CommandAsync("a2", "EXPUNGE"));
        Assert.Equal(["a3 OK FETCH completed"], await c.CommandAsync("a3", "UID FETCH 1 (FLAGS BODY[])"));
        // Expunged by another session and not yet reported: UID FETCH may report the EXPUNGE (RFC 9051 §7.5.1) and says
        // the message could not be fetched.
        await h.Store.ExpungeAsync(ImapTestHarness.Alice, "INBOX", [2u]);
        Assert.Equal(["* 1 EXPUNGE", "a4 NO [EXPUNGEISSUED] Some messages were expunged by another session"],
            await c.CommandAsync("a4", "UID FETCH 2 (FLAGS BODY[])"));
        Assert.Equal(["a5 OK FETCH completed"], await c.CommandAsync("a5", "UID FETCH 2 FLAGS"));
        Assert.Equal(["a6 BAD Invalid message sequence number"], await c.CommandAsync("a6", "FETCH 1 FLAGS"));
    }

    [Fact]
    public async Task A_client_that_never_reads_a_huge_fetch_holds_a_bounded_buffer_and_the_write_timeout_ends_the_session()
    {
        await using var h = Harness();
        var body = new string('x', 50 * 1024 - 2) + "\r\n";
        for (var i = 0; i < 400; i++)
        {
            await h.DeliverAsync($"Subject: {i}\r\n\r\n{body}");
        }
        var c = await h.LoginAsync();
        await c.CommandAsync("s1", "SELECT INBOX");
        await c.SendAsync("a1 FETCH 1:* BODY[]\r\n");

        // The client reads nothing. The server writes until the pipe to the client pauses its writer, then waits in a flush.
        var replies = c.Replies;
        long buffered;
        while (true)
        {
            var read = await replies.ReadAsync();
            buffered = read.Buffer.Length;
            replies.AdvanceTo(read.Buffer.Start, read.Buffer.End); // examined, not consumed: the pipe keeps it
            if (buffered >= 64 * 1024)
            {
                break;
            }
        }
        // The write deadline of the waiting flush passes: the session ends instead of waiting for ever.
        Assert.True(await AdvanceUntilEndedAsync(h, c, TimeSpan.FromMinutes(5)), "the session waited for ever on a client that does not read");
        Assert.Equal(TimeoutReason.Write, c.Connection.TimedOut);
        // All the server ever handed the pipe: a few flush thresholds, not the 20 MB asked for.
        long total = 0;
        while (true)
        {
            var read = await replies.ReadAsync();
            total = read.Buffer.Length;
            replies.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }
        Assert.InRange(total, 64 * 1024, 512 * 1024);
    }

    [Fact]
    public async Task A_client_that_does_not_log_in_is_logged_out_after_the_login_timeout_and_one_that_did_is_not()
    {
        // RFC 9051 §5.4's 30 minutes are for authenticated sessions; before login the shorter LoginTimeout applies.
        await using var h = Harness(o => o.LoginTimeout = TimeSpan.FromMinutes(3));
        var loggedIn = await h.LoginAsync();
        var silent = h.Connect();
        Assert.StartsWith("* OK ", await silent.ReadLineAsync(), StringComparison.Ordinal);
        await FakeTimeExtensions.WaitUntilAsync(() => silent.Connection.ArmedDeadline == TimeoutReason.Command);
        await FakeTimeExtensions.WaitUntilAsync(() => loggedIn.Connection.ArmedDeadline == TimeoutReason.Command);

        // Four minutes of the fake clock, ten seconds at a time: past the 3-minute login timeout, far from the 30-minute one.
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromMinutes(4) && !silent.Session.IsCompleted; elapsed += TimeSpan.FromSeconds(10))
        {
            h.Time.Advance(TimeSpan.FromSeconds(10));
            await Task.WhenAny(silent.Session, Task.Delay(50));
        }
        Assert.True(silent.Session.IsCompleted, "the session that did not log in was not ended within four minutes");
        Assert.Equal("* BYE Autologout; idle for too long", await silent.ReadLineAsync());
        Assert.Equal(TimeoutReason.Command, silent.Connection.TimedOut);

        // Several minutes later the logged-in session is still there.
        await loggedIn.SendAsync("a2 NOOP\r\n");
        Assert.Equal("a2 OK NOOP completed", await loggedIn.ReadLineAsync());
    }

    // Moves the fake clock in steps until the session ends (false if it has not after 200 steps): the deadline a step
    // passes may not be armed yet on a busy machine, so one step is not enough.
    private static async Task<bool> AdvanceUntilEndedAsync(ImapTestHarness h, ImapTestHarness.Client c, TimeSpan step)
    {
        for (var i = 0; i < 200 && !c.Session.IsCompleted; i++)
        {
            h.Time.Advance(step);
            await Task.WhenAny(c.Session, Task.Delay(50));
        }
        return c.Session.IsCompleted;
    }
}
