using System.Text;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>Every bad-input case of the SMTP issue, over in-memory pipes with exact replies.</summary>
public class BadInputTests
{
    private const string Alice = "alice@example.test";

    private static async Task<int> InboxCountAsync(SmtpTestHarness h, string user = Alice) =>
        (await h.Store.ListMessagesAsync(user, "INBOX")).Count;

    [Fact]
    public async Task Command_line_of_10000_bytes_gets_500_5_5_6_and_the_session_continues()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        Assert.Equal("500 5.5.6 Line too long", await h.CommandAsync("MAIL FROM:<" + new string('a', 10_000) + "@example.org>"));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
    }

    [Fact]
    public async Task Command_line_at_the_limit_is_accepted_and_one_more_octet_is_refused()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        var max = h.Options.MaxCommandLineLength;
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP " + new string('x', max - 5)));
        Assert.Equal("500 5.5.6 Line too long", await h.CommandAsync("NOOP " + new string('x', max - 4)));
    }

    [Fact]
    public async Task Rcpt_before_mail_and_data_before_rcpt_get_503_5_5_1()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        Assert.Equal("503 5.5.1 Error: need MAIL command", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await h.CommandAsync("DATA"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
        Assert.Equal("503 5.5.1 Error: need RCPT command", await h.CommandAsync("DATA"));
        Assert.Equal("503 5.5.1 Error: nested MAIL command", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
    }

    [Fact]
    public async Task Unknown_command_gets_500_5_5_2()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        Assert.Equal("500 5.5.2 Syntax error, command unrecognized", await h.CommandAsync("XYZZY plugh"));
        Assert.Equal("500 5.5.2 Syntax error, command unrecognized", await h.CommandAsync("MAILFROM:<a@b>"));
    }

    [Fact]
    public async Task Declared_size_over_the_limit_gets_552_5_3_4()
    {
        await using var h = new SmtpTestHarness(o => o.MaxMessageSize = 1000);
        await h.StartAsync();
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", await h.CommandAsync("MAIL FROM:<bob@example.org> SIZE=1001"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<bob@example.org> SIZE=1000"));
    }

    [Fact]
    public async Task Message_over_size_is_drained_then_refused_with_552_and_nothing_is_stored()
    {
        await using var h = new SmtpTestHarness(o => o.MaxMessageSize = 1000);
        await h.StartAsync();
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        var body = new StringBuilder("Subject: big\r\n\r\n");
        for (var i = 0; i < 100; i++)
        {
            body.Append("0123456789012345678901234567890123456789\r\n");
        }
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", await h.CommandAsync(body + "."));
        Assert.Equal(0, await InboxCountAsync(h));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task More_recipients_than_allowed_get_452_4_5_3()
    {
        await using var h = new SmtpTestHarness(o => o.MaxRecipients = 2);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<carol@example.org>");
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.Equal("452 4.5.3 Too many recipients", await h.CommandAsync("RCPT TO:<postmaster@example.test>"));
    }

    [Fact]
    public async Task Unauthenticated_relay_attempt_gets_554_5_7_1_and_nothing_is_queued()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<spammer@example.org>");
        Assert.Equal("554 5.7.1 Relay access denied", await h.CommandAsync("RCPT TO:<victim@elsewhere.example>"));
        Assert.Equal("503 5.5.1 Error: need RCPT command", await h.CommandAsync("DATA"));
        Assert.Equal(0, await h.Queue.CountAsync());
    }

    [Fact]
    public async Task Auth_without_tls_gets_538_and_submission_without_auth_gets_530()
    {
        await using var h = new SmtpTestHarness(role: SmtpRole.Submission);
        await h.StartAsync();
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism", await h.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8.ToArray())));
        Assert.Equal("530 5.7.0 Authentication required", await h.CommandAsync("MAIL FROM:<alice@example.test>"));
    }

    [Fact]
    public async Task Wrong_password_gets_535_only_after_the_delay_and_no_access()
    {
        await using var h = new SmtpTestHarness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.FromSeconds(2);
        }, SmtpRole.Submission);
        await h.StartAsync();
        var delay = h.Time.NextTimerAsync(TimeSpan.FromSeconds(2));
        await h.SendAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0wrong"u8.ToArray()) + "\r\n");
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await h.Time.AssertDelayedAsync(delay, h.ReadReplyAsync(), TimeSpan.FromSeconds(2)));
        Assert.Equal("530 5.7.0 Authentication required", await h.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8.ToArray())));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<alice@example.test>"));
    }

    [Fact]
    public async Task Connection_dropped_mid_data_stores_nothing()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        await h.SendAsync("Subject: half\r\n\r\nthis message never ends\r\n");
        await h.CloseClientAsync();
        Assert.True(await h.EndedAsync());
        Assert.Equal(0, await InboxCountAsync(h));
    }

    [Fact]
    public async Task Connection_dropped_mid_bdat_chunk_stores_nothing()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.SendAsync("BDAT 100 LAST\r\nSubject: half\r\n\r\nthis chunk never ends\r\n");
        await h.CloseClientAsync();
        Assert.True(await h.EndedAsync());
        Assert.Equal(0, await InboxCountAsync(h));
    }

    [Fact]
    public async Task Bdat_chunk_that_stops_arriving_times_out_with_421_after_the_data_timeout_and_stores_nothing()
    {
        // The minimum data rate would cut the stalled chunk first (after its 30 s grace); this is the inactivity limit.
        await using var h = new SmtpTestHarness(o => { o.DataTimeout = TimeSpan.FromMinutes(3); o.MinimumDataRate = 0; });
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.SendAsync("BDAT 100 LAST\r\nSubject: half\r\n");
        await FakeTimeExtensions.WaitUntilAsync(() => h.Connection.ArmedDeadline == Mail.Protocols.Connections.TimeoutReason.Literal);
        h.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(h.Session.IsCompleted);
        h.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(2));
        Assert.Equal("421 4.4.2 mx.example.test Error: timeout exceeded", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
        Assert.Equal(Mail.Protocols.Connections.TimeoutReason.Literal, h.Connection.TimedOut);
        Assert.Equal(0, await InboxCountAsync(h));
    }

    [Fact]
    public async Task Idle_client_is_disconnected_with_421_after_the_timeout()
    {
        await using var h = new SmtpTestHarness(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        await h.StartAsync();
        await FakeTimeExtensions.WaitUntilAsync(() => h.Connection.HasDeadline); // armed for the next command
        h.Time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(h.Session.IsCompleted);
        h.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(2));
        Assert.Equal("421 4.4.2 mx.example.test Error: timeout exceeded", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
        Assert.Null(await h.ReadLineAsync());
        Assert.Equal(Mail.Protocols.Connections.TimeoutReason.Command, h.Connection.TimedOut);
    }

    [Fact]
    public async Task Client_that_never_answers_a_sasl_challenge_times_out_as_authentication()
    {
        await using var h = new SmtpTestHarness(o => { o.AllowPlaintextAuth = true; o.IdleTimeout = TimeSpan.FromMinutes(5); }, SmtpRole.Submission);
        await h.StartAsync();
        Assert.Equal("334 VXNlcm5hbWU6", await h.CommandAsync("AUTH LOGIN"));
        await FakeTimeExtensions.WaitUntilAsync(() => h.Connection.ArmedDeadline == Mail.Protocols.Connections.TimeoutReason.Authentication);
        h.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2));
        Assert.Equal("421 4.4.2 mx.example.test Error: timeout exceeded", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
        Assert.Equal(Mail.Protocols.Connections.TimeoutReason.Authentication, h.Connection.TimedOut);
    }

    [Fact]
    public async Task Client_dripping_a_command_byte_by_byte_is_cut_off_after_the_command_timeout()
    {
        await using var h = new SmtpTestHarness(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        await h.StartAsync();
        await FakeTimeExtensions.WaitUntilAsync(() => h.Connection.HasDeadline); // one deadline for the whole line
        var sent = h.Input.Examined;
        await h.SendAsync("MAIL FROM:<a");
        await h.Input.WaitUntilExaminedAsync(sent + "MAIL FROM:<a".Length); // the session has read the bytes (a re-armed deadline would start now)
        h.Time.Advance(TimeSpan.FromMinutes(3));
        await h.SendAsync("b@example.org");
        await h.Input.WaitUntilExaminedAsync(sent + "MAIL FROM:<ab@example.org".Length);
        h.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(2));
        Assert.Equal("421 4.4.2 mx.example.test Error: timeout exceeded", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
    }

    [Fact]
    public async Task Ten_errors_in_a_row_get_421_and_close()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        for (var i = 0; i < 9; i++)
        {
            Assert.StartsWith("500 5.5.2", await h.CommandAsync("BOGUS"));
        }
        await h.SendAsync("BOGUS\r\n");
        Assert.StartsWith("500 5.5.2", await h.ReadLineAsync());
        Assert.Equal("421 4.7.0 mx.example.test Error: too many errors", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
    }

    [Fact]
    public async Task A_good_command_resets_the_error_count()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 9; i++)
            {
                Assert.StartsWith("500 5.5.2", await h.CommandAsync("BOGUS"));
            }
            Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
        }
    }

    [Fact]
    public async Task Data_with_lf_dot_lf_does_not_end_message_and_bare_lf_is_refused()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        // A smuggling attempt: "\n.\n" must not end the data, and the whole message is refused.
        await h.SendAsync("Subject: x\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\n.\r\n");
        Assert.Equal("550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)", await h.ReadLineAsync());
        Assert.Equal(0, await InboxCountAsync(h));
        Assert.Equal("503 5.5.1 Error: need MAIL command", await h.CommandAsync("RCPT TO:<alice@example.test>"));
    }

    [Fact]
    public async Task Bare_lf_before_dot_crlf_does_not_end_data_so_a_smuggled_message_is_never_run()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        await h.SendAsync("Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<spoof@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n");
        Assert.Equal("550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)", await h.ReadLineAsync());
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
        Assert.Empty(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Empty(await h.Store.ListMessagesAsync("bob@example.test", "INBOX"));
    }

    [Fact]
    public async Task Bare_lf_is_converted_when_the_policy_normalizes()
    {
        await using var h = new SmtpTestHarness(o => o.BareLineEndings = BareLineEndingPolicy.Normalize);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("Subject: x\n\nline\r\n."));
        var content = await ReadOnlyMessageAsync(h);
        Assert.EndsWith("Subject: x\r\n\r\nline\r\n", content);
    }

    [Fact]
    public async Task Bad_addresses_get_501_and_non_ascii_without_smtputf8_gets_553()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        Assert.Equal("501 5.1.7 Bad sender address syntax", await h.CommandAsync("MAIL FROM:<no-at-sign>"));
        Assert.Equal("501 5.5.4 Syntax error in parameters or arguments", await h.CommandAsync("MAIL FROM:bob@example.org"));
        Assert.Equal("553 5.6.7 Non-ASCII address requires SMTPUTF8", await h.CommandAsync("MAIL FROM:<jörg@example.org>"));
        Assert.Equal("555 5.5.4 Unsupported MAIL FROM or RCPT TO parameter", await h.CommandAsync("MAIL FROM:<bob@example.org> FOO=BAR"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<jörg@example.org> SMTPUTF8"));
        Assert.Equal("501 5.1.3 Bad recipient address syntax", await h.CommandAsync("RCPT TO:<>"));
        Assert.Equal("550 5.1.1 Recipient address rejected: user unknown", await h.CommandAsync("RCPT TO:<nobody@example.test>"));
    }

    [Fact]
    public async Task Commands_before_helo_are_refused_vrfy_and_expn_do_not_enumerate_by_default_and_verb_is_accepted()
    {
        await using var h = new SmtpTestHarness();
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY alice"));
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY nobody"));
        Assert.Equal("502 5.5.1 Command not implemented", await h.CommandAsync("EXPN staff"));
        Assert.Equal("250 2.0.0 Verbose mode on", await h.CommandAsync("VERB")); // it reveals only what this client sends
        Assert.Equal("502 5.5.1 Command not implemented", await h.CommandAsync("STARTTLS")); // no TLS configured
    }

    [Fact]
    public async Task Data_after_binarymime_gets_503_and_bdat_then_works()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org> BODY=BINARYMIME");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        Assert.Equal("503 5.5.1 Error: BODY=BINARYMIME requires BDAT", await h.CommandAsync("DATA"));
        await h.SendAsync("BDAT 5 LAST\r\na\0\nb\r");
        Assert.StartsWith("250 2.0.0 ", await h.ReadReplyAsync());
        Assert.EndsWith("a\0\nb\r", await ReadOnlyMessageAsync(h));
    }

    [Fact]
    public async Task Bdat_of_a_7bit_message_with_a_bare_lf_split_across_chunks_is_refused()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.SendAsync("BDAT 4\r\nab\r\r");
        Assert.Equal("250 2.0.0 4 octets received", await h.ReadReplyAsync());
        await h.SendAsync("BDAT 3 LAST\r\nx\r\n");
        Assert.Equal("550 5.6.0 Message contains bare CR or LF (RFC 5321 section 2.3.8)", await h.ReadReplyAsync());
        Assert.Empty(await h.Store.ListMessagesAsync(Alice, "INBOX"));
    }

    [Fact]
    public async Task Bdat_with_a_bad_end_marker_is_read_and_refused_and_the_stream_stays_in_step()
    {
        await using var h = new SmtpTestHarness();
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.SendAsync("BDAT 6 FIRST\r\nNOOP\r\n");
        Assert.Equal("501 5.5.4 Syntax error in parameters or arguments", await h.ReadReplyAsync());
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("RSET"));
    }

    [Fact]
    public async Task Helo_names_that_are_not_one_printable_ascii_word_are_refused()
    {
        await using var h = new SmtpTestHarness();
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        Assert.Equal("501 5.5.4 Invalid HELO/EHLO name", await h.CommandAsync("EHLO caf\u00e9.example"));
        Assert.Equal("501 5.5.4 Invalid HELO/EHLO name", await h.CommandAsync("HELO " + new string('a', 256)));
        Assert.Equal("501 5.5.4 Syntax: EHLO hostname", await h.CommandAsync("EHLO"));
        Assert.Equal("250 HELP", await h.CommandAsync("EHLO [192.0.2.1]"));
    }

    [Fact]
    public async Task Recipients_over_the_limit_do_not_end_the_session_and_the_message_goes_to_those_accepted()
    {
        await using var h = new SmtpTestHarness(o => o.MaxRecipients = 1);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<bob@example.org>");
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        for (var i = 0; i < 15; i++)
        {
            Assert.Equal("452 4.5.3 Too many recipients", await h.CommandAsync("RCPT TO:<bob@example.test>"));
        }
        await h.CommandAsync("DATA");
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("Subject: x\r\n\r\nhi\r\n."));
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
    }

    [Fact]
    public async Task Client_that_never_reads_its_replies_is_disconnected_by_the_write_timeout()
    {
        await using var h = new SmtpTestHarness(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        var flood = string.Concat(Enumerable.Repeat("HELP\r\n", 5000)); // ~500 KB of replies, never read
        _ = h.SendAsync(flood);
        await Task.Delay(500);
        Assert.False(h.Session.IsCompleted);
        // Minute by minute: the write deadline is armed once the server's flush blocks, which a busy machine may
        // not have reached yet.
        await h.Time.AdvanceUntilDoneAsync(h.Session, TimeSpan.FromMinutes(1));
        Assert.Equal(Mail.Protocols.Connections.TimeoutReason.Write, h.Connection.TimedOut);
    }

    [Fact]
    public async Task Repeated_failed_auth_attempts_close_the_session_and_malformed_base64_is_refused()
    {
        await using var h = new SmtpTestHarness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.Zero;
            o.MaxAuthFailures = 3;
        }, SmtpRole.Submission);
        await h.StartAsync();
        Assert.Equal("501 5.5.2 Cannot decode authentication response", await h.CommandAsync("AUTH PLAIN AGFs aWNl"));
        var wrong = Convert.ToBase64String("\0alice@example.test\0wrong"u8.ToArray());
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await h.CommandAsync("AUTH PLAIN " + wrong));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await h.CommandAsync("AUTH PLAIN " + wrong));
        await h.SendAsync("AUTH PLAIN " + wrong + "\r\n");
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await h.ReadLineAsync());
        Assert.Equal("421 4.7.0 mx.example.test Error: too many authentication failures", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
    }

    internal static async Task<string> ReadOnlyMessageAsync(SmtpTestHarness h, string user = Alice)
    {
        var messages = await h.Store.ListMessagesAsync(user, "INBOX");
        var message = Assert.Single(messages);
        await using var stream = await h.Store.OpenContentAsync(user, "INBOX", message.Uid);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    [Theory]
    [InlineData("CRAM-MD5")]      // the server speaks first: an initial response, even an empty one, is refused
    [InlineData("SCRAM-SHA-256")] // "=" is an empty client-first message, not an absent one
    [InlineData("LOGIN")]         // "=" is an empty user name
    public async Task An_empty_initial_response_is_a_response_not_its_absence(string mechanism)
    {
        // RFC 4954 §4: "=" stands for an initial response of zero length.
        await using var h = new SmtpTestHarness(o => o.AllowPlaintextAuth = true, SmtpRole.Submission);
        await h.StartAsync();
        Assert.Equal("501 5.5.2 Cannot decode authentication response", await h.CommandAsync($"AUTH {mechanism} ="));
        Assert.StartsWith("250 ", await h.CommandAsync("NOOP"));
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    [InlineData("CRAM-MD5")]
    [InlineData("SCRAM-SHA-256")]
    public async Task Every_mechanism_needs_tls_unless_plaintext_authentication_is_allowed(string mechanism)
    {
        await using var h = new SmtpTestHarness(role: SmtpRole.Submission);
        Assert.StartsWith("220 ", await h.ReadReplyAsync());
        await h.SendAsync("EHLO client.example.org\r\n");
        var ehlo = new List<string>();
        string line;
        do
        {
            line = (await h.ReadLineAsync())!;
            ehlo.Add(line);
        }
        while (line[3] == '-');
        Assert.DoesNotContain(ehlo, l => l[4..].StartsWith("AUTH", StringComparison.Ordinal)); // not offered where it would be refused
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism", await h.CommandAsync("AUTH " + mechanism));
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism", await h.CommandAsync($"AUTH {mechanism} dXNlcg=="));

        await using var allowed = new SmtpTestHarness(o => o.AllowPlaintextAuth = true, SmtpRole.Submission);
        await allowed.StartAsync();
        Assert.StartsWith("334 ", await allowed.CommandAsync("AUTH " + mechanism)); // the exchange begins
    }

    [Fact]
    public async Task Cancelling_an_exchange_costs_the_failed_auth_delay_and_counts_toward_the_failure_limit()
    {
        await using var h = new SmtpTestHarness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.FromSeconds(2);
            o.MaxAuthFailures = 3;
        }, SmtpRole.Submission);
        await h.StartAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            // Probe a login's SCRAM salt, then cancel: as dear as a wrong password.
            Assert.StartsWith("334 ", await h.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(attempt == 2 ? Alice : "nobody@example.test", "x").First));
            var delay = h.Time.NextTimerAsync(TimeSpan.FromSeconds(2));
            await h.SendAsync("*\r\n");
            Assert.Equal("501 5.0.0 Authentication cancelled", await h.Time.AssertDelayedAsync(delay, h.ReadLineAsync(), TimeSpan.FromSeconds(2)));
        }
        Assert.Equal("421 4.7.0 mx.example.test Error: too many authentication failures", await h.ReadLineAsync());
        Assert.Null(await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
    }

    [Fact]
    public async Task Scram_salt_of_an_unknown_login_is_keyed_with_the_configured_secret()
    {
        async Task<byte[]> SaltAsync(byte[] key, string login)
        {
            await using var h = new SmtpTestHarness(o =>
            {
                o.AllowPlaintextAuth = true;
                o.ScramUnknownUserKey = key;
            }, SmtpRole.Submission);
            await h.StartAsync();
            var serverFirst = await h.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(login, "x").First);
            Assert.StartsWith("334 ", serverFirst);
            var (salt, iterations) = ScramClient.ParseServerFirst(serverFirst[4..]);
            Assert.Equal(Sasl.ScramCredentials.DefaultIterations, iterations);
            return salt;
        }

        var key = "smtp and pop3 hosts share this"u8.ToArray();
        var salt = await SaltAsync(key, "nobody@example.test");
        Assert.Equal(salt, await SaltAsync(key, "nobody@example.test"));
        Assert.NotEqual(salt, await SaltAsync("a different host secret"u8.ToArray(), "nobody@example.test"));
        Assert.Equal((await SaltAsync(key, Alice)).Length, salt.Length); // and iterations alike (checked in SaltAsync)
    }

    [Theory]
    [InlineData("\uFF41lice@example.test")] // fullwidth a: the same login in its normal form, as PLAIN compares it
    [InlineData("ALICE@example.test")]
    public async Task Scram_authorization_identity_naming_the_user_in_another_spelling_is_accepted(string authzid)
    {
        await using var h = new SmtpTestHarness(o => o.AllowPlaintextAuth = true, SmtpRole.Submission);
        await h.StartAsync();
        var scram = new ScramClient(Alice, "alice", authzid);
        var serverFirst = await h.CommandAsync("AUTH SCRAM-SHA-256 " + scram.First);
        Assert.StartsWith("334 ", serverFirst);
        var serverFinal = await h.CommandAsync(scram.Final(serverFirst[4..]));
        Assert.StartsWith("334 ", serverFinal);
        Assert.True(scram.VerifyServerFinal(serverFinal[4..]));
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync(""));
    }

    [Theory]
    [InlineData("alice=40example.test", "501 5.5.2 Cannot decode authentication response")] // '=' must start =2C or =3D (RFC 5802 §5.1)
    [InlineData("alice=2Cx@example.test", "535 5.7.8 Authentication credentials invalid")] // decodes to "alice,x@…": another identity
    [InlineData("bob@example.test", "535 5.7.8 Authentication credentials invalid")]
    public async Task Scram_authorization_identity_is_decoded_and_must_name_the_user(string authzid, string reply)
    {
        await using var h = new SmtpTestHarness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.Zero;
        }, SmtpRole.Submission);
        await h.StartAsync();
        Assert.Equal(reply, await h.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient(Alice, "alice", authzid).First));
    }

    [Fact]
    public async Task Scram_authorization_identity_with_an_escaped_comma_matches_a_login_holding_one()
    {
        await using var h = new SmtpTestHarness(o => o.AllowPlaintextAuth = true, SmtpRole.Submission);
        h.Users.AddUser("carol,x@example.test", "carol");
        await h.StartAsync();
        var scram = new ScramClient("carol=2Cx@example.test", "carol", "Carol=2Cx@example.test");
        var serverFirst = await h.CommandAsync("AUTH SCRAM-SHA-256 " + scram.First);
        Assert.StartsWith("334 ", serverFirst);
        Assert.StartsWith("334 ", await h.CommandAsync(scram.Final(serverFirst[4..])));
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync(""));
    }

    [Fact]
    public async Task Scram_unknown_user_key_is_copied_when_set_so_clearing_the_callers_array_changes_nothing()
    {
        async Task<byte[]> SaltAsync(Action<SmtpServerOptions> configure, Action? afterStart = null)
        {
            await using var h = new SmtpTestHarness(o =>
            {
                o.AllowPlaintextAuth = true;
                configure(o);
            }, SmtpRole.Submission);
            afterStart?.Invoke();
            await h.StartAsync();
            var serverFirst = await h.CommandAsync("AUTH SCRAM-SHA-256 " + new ScramClient("nobody@example.test", "x").First);
            Assert.StartsWith("334 ", serverFirst);
            return ScramClient.ParseServerFirst(serverFirst[4..]).Salt;
        }

        var key = "a host secret of enough bytes"u8.ToArray();
        var expected = await SaltAsync(o => o.ScramUnknownUserKey = key.ToArray());
        var reused = key.ToArray();
        Assert.Equal(expected, await SaltAsync(o => o.ScramUnknownUserKey = reused, () => Array.Clear(reused)));

        var options = new Pop3.Pop3ServerOptions { ScramUnknownUserKey = reused = key.ToArray() };
        Array.Clear(reused);
        Assert.Equal(key, options.ScramUnknownUserKey.ToArray());
    }
}
