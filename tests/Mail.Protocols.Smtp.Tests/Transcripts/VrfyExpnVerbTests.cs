using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// VRFY, EXPN, VERB and HELP (RFC 5321 §3.5, §4.1.1.6–4.1.1.8, §7.3), transcript by transcript: each reply code
/// in each mode, the enumeration limit, and the per-recipient report of verbose mode after DATA and BDAT.
/// </summary>
public class VrfyExpnVerbTests
{
    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + login + "\0" + password));

    // alice@ and bob@ of example.test (the harness's users), alice@ of other.test too; sales@ reaches alice and bob,
    // team@ alice and a remote address, away@ only a remote address.
    private static SmtpTestHarness Harness(AddressQueryMode vrfy, AddressQueryMode expn, Action<SmtpServerOptions>? configure = null,
        System.Diagnostics.Metrics.IMeterFactory? meters = null)
    {
        var book = new InMemoryAddressBook();
        book.AddAlias("sales@example.test", "alice@example.test", "bob@example.test");
        book.AddAlias("team@example.test", "alice@example.test", "far@remote.test");
        book.AddAlias("away@example.test", "bob@remote.test");
        book.AddAlias("loop@example.test", "loop@example.test");
        var h = new SmtpTestHarness(o =>
        {
            o.Vrfy = vrfy;
            o.Expn = expn;
            o.AllowPlaintextAuth = true;
            o.FailedAuthDelay = TimeSpan.Zero;
            configure?.Invoke(o);
        }, meterFactory: meters, addressBook: book, configurePolicy: p => p.LocalDomains.Add("other.test"));
        h.Users.AddUser("alice@other.test", "alice2");
        return h;
    }


    [Fact]
    public async Task Vrfy_off_answers_252_and_expn_off_answers_502_as_before()
    {
        await using var h = Harness(AddressQueryMode.Off, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY <alice@example.test>"));
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY nobody@example.test"));
        Assert.Equal("502 5.5.1 Command not implemented", await h.CommandAsync("EXPN sales@example.test"));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Vrfy_on_answers_250_with_the_full_address_of_a_user_and_of_an_alias_of_local_users()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("250 2.1.5 <alice@example.test>", await h.CommandAsync("VRFY <alice@example.test>"));
        Assert.Equal("250 2.1.5 <alice@example.test>", await h.CommandAsync("VRFY ALICE@Example.Test"));
        Assert.Equal("250 2.1.5 <alice@example.test>", await h.CommandAsync("VRFY alice+news@example.test"));
        Assert.Equal("250 2.1.5 <sales@example.test>", await h.CommandAsync("VRFY sales@example.test"));
        // Mixed local and remote targets: delivered here (in part), so 250.
        Assert.Equal("250 2.1.5 <team@example.test>", await h.CommandAsync("VRFY team@example.test"));
        Assert.Equal("250 2.1.5 <alice@example.test>", await h.CommandAsync("VRFY postmaster"));
    }

    [Fact]
    public async Task Vrfy_on_answers_251_for_an_alias_that_only_forwards()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("251 2.1.5 User not local; will forward to <bob@remote.test>", await h.CommandAsync("VRFY <away@example.test>"));
    }

    [Fact]
    public async Task Vrfy_on_answers_551_for_a_remote_address_the_session_may_not_relay_to_and_252_when_it_may()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("551 5.1.6 User not local; please try <someone@remote.test>", await h.CommandAsync("VRFY <someone@remote.test>"));
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY <someone@remote.test>"));
    }

    [Fact]
    public async Task Vrfy_on_answers_550_for_an_unknown_address_and_passes_an_alias_loop_refusal_on()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY <nobody@example.test>"));
        Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY nobody"));
        Assert.Equal("550 5.4.6 Recipient address rejected: alias loop detected", await h.CommandAsync("VRFY loop@example.test"));
        Assert.Equal("501 5.5.4 Syntax error in parameters or arguments", await h.CommandAsync("VRFY"));
    }

    [Fact]
    public async Task Vrfy_of_a_bare_local_part_found_in_several_domains_is_a_multiline_553_listing_each_address()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal(
            ["553-5.1.4 Ambiguous; possibilities are", "553-5.1.4 <alice@example.test>", "553 5.1.4 <alice@other.test>"],
            await h.CommandLinesAsync("VRFY alice"));
        Assert.Equal(["250 2.1.5 <bob@example.test>"], await h.CommandLinesAsync("VRFY bob"));
    }

    [Fact]
    public async Task Expn_on_lists_an_alias_one_line_per_destination_and_a_user_on_one_line()
    {
        await using var h = Harness(AddressQueryMode.Off, AddressQueryMode.On);
        await h.StartAsync();
        Assert.Equal(["250-2.1.5 <alice@example.test>", "250 2.1.5 <far@remote.test>"], await h.CommandLinesAsync("EXPN team@example.test"));
        Assert.Equal(["250-2.1.5 <alice@example.test>", "250 2.1.5 <bob@example.test>"], await h.CommandLinesAsync("EXPN <sales@example.test>"));
        Assert.Equal(["250 2.1.5 <bob@example.test>"], await h.CommandLinesAsync("EXPN bob@example.test"));
        Assert.Equal(["550 5.1.1 User unknown"], await h.CommandLinesAsync("EXPN nobody@example.test"));
        Assert.Equal(["551 5.1.6 User not local; please try <x@remote.test>"], await h.CommandLinesAsync("EXPN x@remote.test"));
    }

    [Fact]
    public async Task Authenticated_mode_answers_as_off_before_auth_and_truthfully_after()
    {
        await using var h = Harness(AddressQueryMode.Authenticated, AddressQueryMode.Authenticated);
        await h.StartAsync();
        Assert.Equal("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery", await h.CommandAsync("VRFY nobody@example.test"));
        Assert.Equal("530 5.7.0 Authentication required", await h.CommandAsync("EXPN sales@example.test"));
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY nobody@example.test"));
        Assert.Equal("250 2.1.5 <bob@example.test>", await h.CommandAsync("VRFY bob@example.test"));
        Assert.Equal(["250-2.1.5 <alice@example.test>", "250 2.1.5 <bob@example.test>"], await h.CommandLinesAsync("EXPN sales@example.test"));
    }

    [Fact]
    public async Task Unknown_answers_count_as_failed_authentications_of_the_address_and_the_limit_then_answers_450()
    {
        var time = new WatchedTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var limitOptions = new SessionRateLimitOptions { ConnectionsPerAddress = null, AuthFailuresPerLogin = null, MessagesPerUser = null };
        limitOptions.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
        var limits = new SessionRateLimits(limitOptions, time);
        using var meters = new TestMeterFactory();
        using var rateLimited = new MetricCollector<long>(meters, CoreMetrics.MeterName, "mail.rate_limit.refused");
        await using (var h = Harness(AddressQueryMode.On, AddressQueryMode.On, o => o.RateLimits = limits, meters))
        {
            await h.StartAsync();
            Assert.Equal("250 2.1.5 <alice@example.test>", await h.CommandAsync("VRFY alice@example.test")); // found: not counted
            Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY nobody1@example.test"));
            Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("EXPN nobody2@example.test"));
            Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY nobody3@example.test"));
            Assert.Equal("450 4.7.1 Too many unknown addresses, try again later", await h.CommandAsync("VRFY alice@example.test"));
            Assert.Equal("450 4.7.1 Too many unknown addresses, try again later", await h.CommandAsync("EXPN sales@example.test"));
        }
        // A second session from the same address is refused too: the count is across sessions.
        await using (var h = Harness(AddressQueryMode.On, AddressQueryMode.On, o => o.RateLimits = limits))
        {
            await h.StartAsync();
            Assert.Equal("450 4.7.1 Too many unknown addresses, try again later", await h.CommandAsync("VRFY bob@example.test"));
        }
        Assert.Equal(["auth_failures_per_address", "auth_failures_per_address"], rateLimited.GetMeasurementSnapshot().Select(m => (string?)m.Tags["mail.rate_limit"]));
    }

    [Fact]
    public async Task Unknown_answers_count_toward_the_error_budget()
    {
        await using var h = Harness(AddressQueryMode.On, AddressQueryMode.Off, o => o.MaxErrors = 3);
        await h.StartAsync();
        Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY a@example.test"));
        Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY b@example.test"));
        await h.SendAsync("VRFY c@example.test\r\n");
        Assert.Equal("550 5.1.1 User unknown", await h.ReadLineAsync());
        Assert.Equal("421 4.7.0 mx.example.test Error: too many errors", await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
    }

    [Fact]
    public async Task Verb_turns_on_a_report_per_recipient_after_data()
    {
        await using var h = Harness(AddressQueryMode.Off, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("250 2.0.0 Verbose mode on", await h.CommandAsync("VERB"));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("RSET")); // RSET leaves it on
        await h.CommandAsync("MAIL FROM:<sender@example.org>");
        await h.CommandAsync("RCPT TO:<bob+news@example.test>");
        await h.CommandAsync("RCPT TO:<team@example.test>");
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        var lines = await h.CommandLinesAsync("Subject: verbose\r\n\r\nhi\r\n.");
        Assert.Equal(
            [
                "250-2.0.0 <bob+news@example.test> stored for bob@example.test in INBOX",
                "250-2.0.0 <team@example.test> expanded to 2 destinations",
                "250-2.0.0 <team@example.test> stored for alice@example.test in INBOX",
                "250-2.0.0 <team@example.test> forwarded to <far@remote.test>, queued for remote.test",
            ],
            lines[..^1]);
        Assert.Matches("^250 2.0.0 [0-9A-Za-z]+ Message accepted for delivery$", lines[^1]);
        Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Equal(1, await h.Queue.CountAsync());
    }

    [Fact]
    public async Task Verb_reports_after_bdat_last_too_including_relay_and_a_second_copy_for_one_user()
    {
        await using var h = Harness(AddressQueryMode.Off, AddressQueryMode.Off);
        await h.StartAsync();
        Assert.Equal("235 2.7.0 Authentication successful", await h.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("250 2.0.0 Verbose mode on", await h.CommandAsync("VERB"));
        await h.CommandAsync("MAIL FROM:<alice@example.test>");
        await h.CommandAsync("RCPT TO:<sales@example.test>");
        await h.CommandAsync("RCPT TO:<bob@example.test>");
        await h.CommandAsync("RCPT TO:<carol@elsewhere.test>");
        var body = "Subject: chunk\r\n\r\nhi\r\n";
        var lines = await h.CommandLinesAsync($"BDAT {body.Length} LAST\r\n{body}"[..^2]);
        Assert.Equal(
            [
                "250-2.0.0 <sales@example.test> expanded to 2 destinations",
                "250-2.0.0 <sales@example.test> stored for alice@example.test in INBOX",
                "250-2.0.0 <sales@example.test> stored for bob@example.test in INBOX",
                "250-2.0.0 <bob@example.test> already stored for bob@example.test in this message",
                "250-2.0.0 <carol@elsewhere.test> queued for relay to elsewhere.test",
            ],
            lines[..^1]);
        Assert.Matches("^250 2.0.0 [0-9A-Za-z]+ Message accepted for delivery$", lines[^1]);
    }

    [Fact]
    public async Task Without_verb_the_reply_to_data_is_one_line_as_before()
    {
        await using var h = Harness(AddressQueryMode.Off, AddressQueryMode.Off);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<sender@example.org>");
        await h.CommandAsync("RCPT TO:<team@example.test>");
        await h.CommandAsync("DATA");
        var lines = await h.CommandLinesAsync("Subject: quiet\r\n\r\nhi\r\n.");
        Assert.Single(lines);
        Assert.Matches("^250 2.0.0 [0-9A-Za-z]+ Message accepted for delivery$", lines[0]);
    }

    [Fact]
    public async Task Help_lists_the_commands_this_session_is_answered()
    {
        await using (var h = Harness(AddressQueryMode.Off, AddressQueryMode.Off))
        {
            await h.StartAsync();
            Assert.Equal(
                ["214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY VERB AUTH", "214 2.0.0 End of HELP info"],
                await h.CommandLinesAsync("HELP"));
        }
        await using (var h = Harness(AddressQueryMode.Off, AddressQueryMode.Authenticated, o => o.AllowPlaintextAuth = false))
        {
            await h.StartAsync();
            Assert.Equal(
                ["214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN VERB", "214 2.0.0 End of HELP info"],
                await h.CommandLinesAsync("HELP"));
        }
    }

    // A policy of an application's own: every address is "local" without naming a mailbox.
    private sealed class AcceptEverythingPolicy : Mail.Protocols.Policy.IRecipientPolicy
    {
        public ValueTask<Mail.Protocols.Policy.RecipientDecision> EvaluateRecipientAsync(Mail.Protocols.Policy.PolicyContext context, string address, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new Mail.Protocols.Policy.RecipientDecision(Mail.Protocols.Policy.RecipientRoute.Local));

        public ValueTask<Mail.Protocols.Policy.PolicyDecision> EvaluateSenderAsync(Mail.Protocols.Policy.PolicyContext context, string reversePath, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Mail.Protocols.Policy.PolicyDecision.Accept);
    }

    [Fact]
    public async Task A_custom_policy_that_names_no_mailbox_gets_250_with_the_address_and_a_bare_local_part_is_unknown()
    {
        await using var h = new SmtpTestHarness(o =>
        {
            o.Vrfy = AddressQueryMode.On;
            o.Expn = AddressQueryMode.On;
        }, policy: new AcceptEverythingPolicy());
        await h.StartAsync();
        Assert.Equal(["250 2.1.5 <anyone@example.test>"], await h.CommandLinesAsync("VRFY anyone@example.test"));
        Assert.Equal(["250 2.1.5 <anyone@example.test>"], await h.CommandLinesAsync("EXPN anyone@example.test"));
        Assert.Equal(["550 5.1.1 User unknown"], await h.CommandLinesAsync("VRFY anyone"));
    }
}
