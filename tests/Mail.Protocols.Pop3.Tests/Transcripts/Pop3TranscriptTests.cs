using System.Security.Cryptography;
using System.Text;

namespace Mail.Protocols.Pop3.Tests.Transcripts;

/// <summary>RFC 1939 transcripts and every bad-input case of the POP3 issue, over in-memory pipes.</summary>
public class Pop3TranscriptTests
{
    private const string Alice = "alice@example.test";
    private const string First = "Subject: one\r\n\r\nfirst\r\n.dot line\r\n";
    private const string Second = "Subject: two\r\nX-Extra: yes\r\n\r\nl1\r\nl2\r\nl3\r\n";

    [Fact]
    public async Task Uidl_format_is_configurable_and_one_that_gives_no_uidl_fails_the_command_not_the_listing()
    {
        string? format = null;
        await using var h = new Pop3TestHarness(o => o.UidlFormat = (validity, uid) => format ?? $"{validity}.{uid}");
        var uid1 = await h.DeliverAsync(First);
        var validity = (await h.Store.GetStatusAsync(Alice, "INBOX")).UidValidity;
        var c = h.Connect();
        await c.LoginAsync();
        Assert.Equal($"+OK 1 {validity}.{uid1}", await c.CommandAsync("UIDL 1"));
        Assert.StartsWith("+OK", await c.CommandAsync("QUIT"));

        format = "has a space";
        var bad = h.Connect();
        await bad.LoginAsync();
        Assert.Equal("-ERR [SYS/TEMP] Mailbox temporarily unavailable", await bad.CommandAsync("UIDL"));
        Assert.Equal("+OK", await bad.CommandAsync("LIST"));
        Assert.Equal([$"1 {First.Length}"], await bad.ReadBodyAsync());
    }

    [Fact]
    public async Task Messages_downloaded_with_retr_and_kept_are_marked_seen_at_quit_only()
    {
        await using var h = new Pop3TestHarness();
        var retrieved = await h.DeliverAsync(First);
        var topped = await h.DeliverAsync(Second);
        var deleted = await h.DeliverAsync(First);
        var dropped = h.Connect();
        await dropped.LoginAsync();
        Assert.StartsWith("+OK", await dropped.CommandAsync("RETR 1"));
        await dropped.ReadBodyAsync();
        await dropped.CloseAsync();
        Assert.True(await dropped.EndedAsync());
        Assert.All(await h.Store.ListMessagesAsync(Alice, "INBOX"), m => Assert.Equal(Storage.MessageFlags.None, m.Flags)); // no QUIT, no change

        var c = h.Connect();
        await c.LoginAsync();
        foreach (var command in new[] { "RETR 1", "TOP 2 0", "RETR 3" })
        {
            Assert.StartsWith("+OK", await c.CommandAsync(command));
            await c.ReadBodyAsync();
        }
        Assert.StartsWith("+OK", await c.CommandAsync("DELE 3"));
        Assert.StartsWith("+OK", await c.CommandAsync("QUIT"));
        var flags = (await h.Store.ListMessagesAsync(Alice, "INBOX")).ToDictionary(m => m.Uid, m => m.Flags);
        Assert.Equal(Storage.MessageFlags.Seen, flags[retrieved]);
        Assert.Equal(Storage.MessageFlags.None, flags[topped]); // TOP is a peek
        Assert.False(flags.ContainsKey(deleted));
    }

    [Fact]
    public async Task Marking_downloaded_messages_seen_can_be_turned_off()
    {
        await using var h = new Pop3TestHarness(o => o.MarkRetrievedAsSeen = false);
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        Assert.StartsWith("+OK", await c.CommandAsync("RETR 1"));
        await c.ReadBodyAsync();
        Assert.StartsWith("+OK", await c.CommandAsync("QUIT"));
        Assert.Equal(Storage.MessageFlags.None, Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX")).Flags);
    }

    [Fact]
    public async Task A_whole_session_stat_list_uidl_retr_top_dele_quit()
    {
        await using var h = new Pop3TestHarness();
        var uid1 = await h.DeliverAsync(First);
        await h.DeliverAsync(Second);
        var c = h.Connect();
        Assert.Equal("+OK pop.example.test POP3 ready", await c.ReadLineAsync());
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test"));
        Assert.Equal("+OK alice@example.test has 2 message(s)", await c.CommandAsync("PASS alice"));
        Assert.Equal($"+OK 2 {First.Length + Second.Length}", await c.CommandAsync("STAT"));
        Assert.Equal("+OK", await c.CommandAsync("LIST"));
        Assert.Equal([$"1 {First.Length}", $"2 {Second.Length}"], await c.ReadBodyAsync());
        Assert.Equal($"+OK 2 {Second.Length}", await c.CommandAsync("LIST 2"));
        Assert.Equal("+OK", await c.CommandAsync("UIDL"));
        var uidls = await c.ReadBodyAsync();
        Assert.Equal(2, uidls.Count);
        // Dovecot's default format: UID, then UIDVALIDITY, 8 hex digits each.
        var validity = (await h.Store.GetStatusAsync(Alice, "INBOX")).UidValidity;
        Assert.Equal($"1 {uid1:x8}{validity:x8}", uidls[0]);
        Assert.Equal($"+OK {First.Length} octets", await c.CommandAsync("RETR 1"));
        Assert.Equal(["Subject: one", "", "first", "..dot line"], await c.ReadBodyAsync()); // dot-stuffed
        Assert.Equal("+OK", await c.CommandAsync("TOP 2 1"));
        Assert.Equal(["Subject: two", "X-Extra: yes", "", "l1"], await c.ReadBodyAsync());
        Assert.Equal("+OK", await c.CommandAsync("TOP 2 0"));
        Assert.Equal(["Subject: two", "X-Extra: yes", ""], await c.ReadBodyAsync());
        Assert.Equal("+OK message 1 deleted", await c.CommandAsync("DELE 1"));
        Assert.Equal($"+OK 1 {Second.Length}", await c.CommandAsync("STAT"));
        Assert.Equal("+OK pop.example.test POP3 server signing off (1 message(s) deleted)", await c.CommandAsync("QUIT"));
        Assert.True(await c.EndedAsync());
        var left = Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        Assert.NotEqual(uid1, left.Uid);
    }

    [Fact]
    public async Task Wrong_password_gets_auth_error_after_the_delay_and_no_access()
    {
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test"));
        var delay = h.Time.NextTimerAsync(TimeSpan.FromSeconds(2));
        await c.SendAsync("PASS wrong\r\n");
        Assert.Equal("-ERR [AUTH] Authentication failed", await h.Time.AssertDelayedAsync(delay, c.ReadLineAsync(), TimeSpan.FromSeconds(2)));
        Assert.Equal("-ERR Not logged in", await c.CommandAsync("STAT"));
        Assert.Equal("-ERR USER first", await c.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task Transaction_commands_before_login_are_refused()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.ReadLineAsync();
        foreach (var command in new[] { "STAT", "LIST", "RETR 1", "DELE 1", "TOP 1 1", "UIDL", "RSET", "NOOP" })
        {
            Assert.Equal("-ERR Not logged in", await c.CommandAsync(command));
        }
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
    }

    [Fact]
    public async Task Retr_of_a_deleted_or_out_of_range_message_is_refused()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        Assert.Equal("-ERR No such message", await c.CommandAsync("RETR 2"));
        Assert.Equal("-ERR No such message", await c.CommandAsync("RETR 0"));
        Assert.Equal("-ERR Invalid message number", await c.CommandAsync("RETR x"));
        Assert.Equal("+OK message 1 deleted", await c.CommandAsync("DELE 1"));
        Assert.Equal("-ERR Message already deleted", await c.CommandAsync("RETR 1"));
        Assert.Equal("-ERR Message already deleted", await c.CommandAsync("DELE 1"));
        Assert.Equal("+OK maildrop has 1 message(s)", await c.CommandAsync("RSET"));
        Assert.StartsWith("+OK", await c.CommandAsync("RETR 1"));
    }

    [Fact]
    public async Task Line_of_10000_bytes_gets_err_and_the_session_continues()
    {
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("-ERR Line too long", await c.CommandAsync("USER " + new string('a', 10_000)));
        Assert.Equal("+OK", await c.CommandAsync("USER alice@example.test"));
        Assert.StartsWith("+OK", await c.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task Dele_then_connection_drop_deletes_nothing()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        Assert.Equal("+OK message 1 deleted", await c.CommandAsync("DELE 1"));
        await c.CloseAsync();
        Assert.True(await c.EndedAsync());
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        // and the maildrop lock was released
        var again = h.Connect();
        await again.LoginAsync();
    }

    [Fact]
    public async Task Second_concurrent_login_gets_in_use_and_the_first_session_goes_on()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var first = h.Connect();
        await first.LoginAsync();
        var second = h.Connect();
        await second.ReadLineAsync();
        await second.CommandAsync("USER alice@example.test");
        Assert.Equal("-ERR [IN-USE] Mailbox is locked by another POP3 session", await second.CommandAsync("PASS alice"));
        Assert.StartsWith("+OK 1 ", await first.CommandAsync("STAT"));
        Assert.StartsWith("+OK", await first.CommandAsync("QUIT"));
        Assert.True(await first.EndedAsync());
        await second.CommandAsync("USER alice@example.test");
        Assert.StartsWith("+OK alice@example.test has 1", await second.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task New_deliveries_show_up_at_the_next_session_only()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        await h.DeliverAsync(Second);
        Assert.StartsWith("+OK 1 ", await c.CommandAsync("STAT"));
        await c.CommandAsync("QUIT");
        var next = h.Connect();
        await next.LoginAsync();
        Assert.StartsWith("+OK 2 ", await next.CommandAsync("STAT"));
    }

    [Fact]
    public async Task Idle_session_is_closed_after_ten_minutes_without_deleting()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        await c.CommandAsync("DELE 1");
        await FakeTimeExtensions.WaitUntilAsync(() => c.Connection.HasDeadline); // armed for the next command
        h.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(c.Session.IsCompleted);
        h.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(2));
        Assert.True(await c.EndedAsync());
        Assert.Null(await c.ReadLineAsync()); // RFC 1939 §3: closed without a response
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        await h.DeliverAsync(Second);
        var c = h.Connect();
        await c.ReadLineAsync();
        await c.SendAsync("USER alice@example.test\r\nPASS alice\r\nSTAT\r\nRETR 2\r\nDELE 1\r\nNOOP\r\nQUIT\r\n");
        Assert.Equal("+OK", await c.ReadLineAsync());
        Assert.StartsWith("+OK alice@example.test has 2", await c.ReadLineAsync());
        Assert.StartsWith("+OK 2 ", await c.ReadLineAsync());
        Assert.StartsWith("+OK", await c.ReadLineAsync());
        Assert.Equal(["Subject: two", "X-Extra: yes", "", "l1", "l2", "l3"], await c.ReadBodyAsync());
        Assert.Equal("+OK message 1 deleted", await c.ReadLineAsync());
        Assert.Equal("+OK", await c.ReadLineAsync());
        Assert.StartsWith("+OK pop.example.test POP3 server signing off (1", await c.ReadLineAsync());
    }

    [Fact]
    public async Task Capa_and_auth_listings_are_exact_line_for_line()
    {
        await using var h = new Pop3TestHarness(o => o.LoginDelaySeconds = 60);
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("+OK Capability list follows", await c.CommandAsync("CAPA"));
        var capa = await c.ReadBodyAsync();
        var sasl = Assert.Single(capa, l => l.StartsWith("SASL ", StringComparison.Ordinal));
        var mechanisms = sasl["SASL ".Length..].Split(' ');
        Assert.Equal(["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", sasl, "UTF8 USER", "EXPIRE NEVER", "LOGIN-DELAY 60", "IMPLEMENTATION Mail.Protocols"], capa);
        Assert.Equal("+OK", await c.CommandAsync("AUTH"));
        Assert.Equal(mechanisms, await c.ReadBodyAsync());
    }

    [Fact]
    public async Task Capa_lists_the_extensions_and_hides_user_without_tls_unless_allowed()
    {
        await using var h = new Pop3TestHarness(o => o.LoginDelaySeconds = 60);
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("+OK Capability list follows", await c.CommandAsync("CAPA"));
        var capa = await c.ReadBodyAsync();
        foreach (var expected in new[] { "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER", "UTF8 USER", "EXPIRE NEVER", "LOGIN-DELAY 60", "IMPLEMENTATION Mail.Protocols" })
        {
            Assert.Contains(expected, capa);
        }
        Assert.Contains(capa, l => l.StartsWith("SASL ", StringComparison.Ordinal) && l.Contains("SCRAM-SHA-256", StringComparison.Ordinal));

        await using var strict = new Pop3TestHarness(o => o.AllowPlaintextAuth = false);
        var s = strict.Connect();
        await s.ReadLineAsync();
        await s.CommandAsync("CAPA");
        var strictCapa = await s.ReadBodyAsync();
        Assert.DoesNotContain("USER", strictCapa);
        Assert.DoesNotContain(strictCapa, l => l.StartsWith("SASL", StringComparison.Ordinal)); // every mechanism needs TLS
        Assert.Equal("-ERR [AUTH] Authentication requires TLS, use STLS first", await s.CommandAsync("USER alice@example.test"));
        Assert.Equal("-ERR [AUTH] Authentication requires TLS, use STLS first", await s.CommandAsync("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZQ=="));
        Assert.Equal("-ERR [AUTH] Authentication requires TLS, use STLS first", await s.CommandAsync("AUTH SCRAM-SHA-256"));
    }

    [Fact]
    public async Task Login_sooner_than_login_delay_gets_the_login_delay_code()
    {
        await using var h = new Pop3TestHarness(o => o.LoginDelaySeconds = 60);
        var first = h.Connect();
        await first.LoginAsync();
        await first.CommandAsync("QUIT");
        var second = h.Connect();
        await second.ReadLineAsync();
        await second.CommandAsync("USER alice@example.test");
        Assert.Equal("-ERR [LOGIN-DELAY] Too soon after the last login, try again later", await second.CommandAsync("PASS alice"));
        h.Time.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromTicks(1)); // just before the delay is over
        Assert.Equal("+OK", await second.CommandAsync("USER alice@example.test"));
        Assert.Equal("-ERR [LOGIN-DELAY] Too soon after the last login, try again later", await second.CommandAsync("PASS alice"));
        h.Time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal("+OK", await second.CommandAsync("USER alice@example.test"));
        Assert.StartsWith("+OK alice@example.test has", await second.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task A_login_refused_as_in_use_does_not_start_the_login_delay()
    {
        await using var h = new Pop3TestHarness(o => o.LoginDelaySeconds = 60);
        var first = h.Connect();
        await first.LoginAsync();
        var refused = h.Connect();
        await refused.ReadLineAsync();
        await refused.CommandAsync("USER alice@example.test");
        Assert.StartsWith("-ERR [LOGIN-DELAY]", await refused.CommandAsync("PASS alice")); // the first login counts
        h.Time.Advance(TimeSpan.FromSeconds(61));
        await refused.CommandAsync("USER alice@example.test");
        Assert.StartsWith("-ERR [IN-USE]", await refused.CommandAsync("PASS alice"));
        await first.CommandAsync("QUIT");
        Assert.True(await first.EndedAsync());
        // The IN-USE refusal was not a login: no new wait.
        await refused.CommandAsync("USER alice@example.test");
        Assert.StartsWith("+OK alice@example.test has", await refused.CommandAsync("PASS alice"));
    }

    [Fact]
    public async Task Auth_plain_with_initial_response_and_cram_md5_log_in()
    {
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.StartsWith("+OK alice@example.test", await c.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8.ToArray())));
        await c.CommandAsync("QUIT");

        var d = h.Connect();
        await d.ReadLineAsync();
        var challenge = await d.CommandAsync("AUTH CRAM-MD5");
        Assert.StartsWith("+ ", challenge);
        var bytes = Convert.FromBase64String(challenge[2..]);
#pragma warning disable CA5351
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.HMACMD5.HashData("alice"u8, bytes));
#pragma warning restore CA5351
        Assert.StartsWith("+OK", await d.CommandAsync(Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes("alice@example.test " + digest))));
        Assert.Equal("-ERR Already logged in", await d.CommandAsync("USER x"));
    }

    [Fact]
    public async Task Apop_logs_in_with_the_digest_of_the_greeting_timestamp()
    {
        await using var h = new Pop3TestHarness(o => o.EnableApop = true);
        var c = h.Connect();
        var greeting = await c.ReadLineAsync();
        var timestamp = System.Text.RegularExpressions.Regex.Match(greeting!, "<[^>]+>").Value;
        Assert.NotEmpty(timestamp);
#pragma warning disable CA5351
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.ASCII.GetBytes(timestamp + "alice")));
#pragma warning restore CA5351
        Assert.Equal("-ERR [AUTH] Authentication failed",
            await h.Time.AdvanceUntilDoneAsync(c.CommandAsync("APOP alice@example.test " + new string('0', 32)), TimeSpan.FromSeconds(2)));
        Assert.StartsWith("+OK alice@example.test has 0", await c.CommandAsync("APOP alice@example.test " + digest));
    }

    [Fact]
    public async Task Where_no_login_can_succeed_the_greeting_offers_no_apop_timestamp()
    {
        // No TLS (so no STLS) and plaintext authentication off: APOP would be refused, so no timestamp invites it.
        await using var h = new Pop3TestHarness(o =>
        {
            o.EnableApop = true;
            o.AllowPlaintextAuth = false;
        });
        var c = h.Connect();
        Assert.Equal("+OK pop.example.test POP3 ready", await c.ReadLineAsync());
        Assert.Equal("-ERR APOP not enabled", await c.CommandAsync("APOP alice@example.test " + new string('0', 32)));

        await using var allowed = new Pop3TestHarness(o => o.EnableApop = true); // plaintext authentication allowed
        var a = allowed.Connect();
        Assert.Matches("^\\+OK pop\\.example\\.test POP3 ready <[^>]+>$", await a.ReadLineAsync());
    }

    [Fact]
    public async Task Stls_without_tls_configured_is_refused_and_unknown_commands_count_toward_closing()
    {
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("-ERR STLS not available", await c.CommandAsync("STLS"));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal("-ERR Unknown command", await c.CommandAsync("XYZZY"));
        }
        await c.SendAsync("XYZZY\r\n");
        Assert.Equal("-ERR Too many errors, closing", await c.ReadLineAsync()); // the client's doing: no SYS code
        Assert.Null(await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }

    [Fact]
    public async Task Capa_after_login_still_announces_what_authorization_offered()
    {
        // RFC 2449 §5: capabilities of the AUTHORIZATION state are announced in both states.
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.LoginAsync();
        Assert.StartsWith("+OK", await c.CommandAsync("CAPA"));
        var capabilities = await c.ReadBodyAsync();
        Assert.Contains("USER", capabilities);
        Assert.Contains("UTF8 USER", capabilities);
        Assert.Contains(capabilities, l => l.StartsWith("SASL ", StringComparison.Ordinal) && l.Contains("PLAIN", StringComparison.Ordinal));
        Assert.Equal("-ERR Already logged in", await c.CommandAsync("USER alice@example.test"));
    }

    [Theory]
    [InlineData("STAT x")]
    [InlineData("NOOP x")]
    [InlineData("RSET x")]
    [InlineData("QUIT now")]
    [InlineData("CAPA x")]
    [InlineData("UTF8 x")]
    public async Task Commands_that_take_no_arguments_refuse_them(string command)
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(First);
        var c = h.Connect();
        await c.LoginAsync();
        Assert.Equal("-ERR This command takes no arguments", await c.CommandAsync(command));
        Assert.Equal($"+OK 1 {First.Length}", await c.CommandAsync("STAT")); // the session goes on
    }

    [Fact]
    public async Task Numbers_are_digits_only_and_a_top_count_beyond_any_body_sends_it_all()
    {
        await using var h = new Pop3TestHarness();
        await h.DeliverAsync(Second);
        var c = h.Connect();
        await c.LoginAsync();
        Assert.Equal("-ERR Invalid message number", await c.CommandAsync("RETR +1"));
        Assert.Equal("-ERR Invalid message number", await c.CommandAsync("DELE -1"));
        Assert.Equal("-ERR Invalid message number", await c.CommandAsync("TOP +1 1"));
        Assert.Equal("-ERR Syntax: TOP msg n", await c.CommandAsync("TOP 1 -0"));
        Assert.Equal("-ERR Syntax: TOP msg n", await c.CommandAsync("TOP 1 +1"));
        Assert.Equal("-ERR No such message", await c.CommandAsync("RETR 99999999999999999999"));
        Assert.Equal("+OK", await c.CommandAsync("TOP 1 99999999999999999999"));
        Assert.Equal(["Subject: two", "X-Extra: yes", "", "l1", "l2", "l3"], await c.ReadBodyAsync());
    }

    [Theory]
    [InlineData("CRAM-MD5")]      // the server speaks first: no initial response at all
    [InlineData("SCRAM-SHA-256")] // "=" is an empty client-first message, not an absent one
    public async Task An_empty_initial_response_is_a_response_not_its_absence(string mechanism)
    {
        await using var h = new Pop3TestHarness();
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("-ERR Malformed authentication exchange", await c.CommandAsync($"AUTH {mechanism} ="));
    }

    [Fact]
    public async Task An_unsupported_mechanism_is_not_a_credential_problem_but_the_last_of_too_many_failed_logins_keeps_auth()
    {
        await using var h = new Pop3TestHarness(o =>
        {
            o.MaxErrors = 2;
            o.FailedAuthDelay = TimeSpan.Zero;
        });
        var c = h.Connect();
        await c.ReadLineAsync();
        Assert.Equal("-ERR Unsupported authentication mechanism", await c.CommandAsync("AUTH FOO"));
        Assert.Equal("-ERR [AUTH] Too many errors, closing",
            await c.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0wrong"u8.ToArray())));
        Assert.Null(await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }

    private static async Task<(byte[] Salt, int Iterations)> ScramSaltAsync(Pop3TestHarness h, string login)
    {
        var c = h.Connect();
        await c.ReadLineAsync();
        var serverFirst = await c.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(login, "x").First);
        Assert.StartsWith("+ ", serverFirst);
        await c.CloseAsync();
        return ScramClient.ParseServerFirst(serverFirst[2..]);
    }

    [Fact]
    public async Task Scram_shows_an_unknown_login_a_salt_keyed_with_the_server_secret_and_the_default_iteration_count()
    {
        await using var one = new Pop3TestHarness(o => o.ScramUnknownUserKey = "first server secret"u8.ToArray());
        await using var other = new Pop3TestHarness(o => o.ScramUnknownUserKey = "another secret, another host"u8.ToArray());
        await using var sameKey = new Pop3TestHarness(o => o.ScramUnknownUserKey = "first server secret"u8.ToArray());
        await using var processKey = new Pop3TestHarness();

        var real = await ScramSaltAsync(one, Alice);
        var unknown = await ScramSaltAsync(one, "nobody@example.test");
        Assert.Equal(real.Iterations, unknown.Iterations);
        Assert.Equal(real.Salt.Length, unknown.Salt.Length);
        // Not the public function of the login it was (a client could compute it and see the login is unknown) ...
        Assert.NotEqual(SHA256.HashData(Encoding.UTF8.GetBytes("unknown:nobody@example.test"))[..16], unknown.Salt);
        // ... but keyed: another secret gives another salt, the same secret (another host, a restart) the same one,
        // and asking again, or in other letter case as the directory ignores it, gives the same salt as a real user's.
        Assert.NotEqual(unknown.Salt, (await ScramSaltAsync(other, "nobody@example.test")).Salt);
        Assert.Equal(unknown.Salt, (await ScramSaltAsync(sameKey, "nobody@example.test")).Salt);
        Assert.Equal(unknown.Salt, (await ScramSaltAsync(one, "nobody@example.test")).Salt);
        Assert.Equal(unknown.Salt, (await ScramSaltAsync(one, "NoBody@Example.TEST")).Salt);
        Assert.Equal(real.Salt, (await ScramSaltAsync(one, "ALICE@example.test")).Salt);
        Assert.NotEqual(unknown.Salt, (await ScramSaltAsync(one, "nobody2@example.test")).Salt);
        // The default key is the process's: random, and the same for every server in it.
        var byProcess = await ScramSaltAsync(processKey, "nobody@example.test");
        Assert.NotEqual(unknown.Salt, byProcess.Salt);
        await using var processKeyToo = new Pop3TestHarness();
        Assert.Equal(byProcess.Salt, (await ScramSaltAsync(processKeyToo, "nobody@example.test")).Salt);
    }

    [Fact]
    public async Task Cancelling_an_exchange_costs_the_failed_login_delay_and_counts_toward_the_failure_limit()
    {
        await using var h = new Pop3TestHarness(o => o.MaxAuthFailures = 3);
        var c = h.Connect();
        await c.ReadLineAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            // Probe a login's salt, then cancel: as dear as a wrong password.
            Assert.StartsWith("+ ", await c.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(attempt == 2 ? Alice : "nobody@example.test", "x").First));
            var delay = h.Time.NextTimerAsync(TimeSpan.FromSeconds(2));
            await c.SendAsync("*\r\n");
            var reply = await h.Time.AssertDelayedAsync(delay, c.ReadLineAsync(), TimeSpan.FromSeconds(2));
            Assert.Equal(attempt < 3 ? "-ERR Authentication cancelled" : "-ERR [AUTH] Authentication failed, closing", reply);
        }
        Assert.Null(await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
    }
}
