using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

public class HookAndMetricTests
{
    private sealed class Hooks : SmtpHooks
    {
        public override ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken) =>
            ValueTask.FromResult(reversePath.EndsWith("@blocked.example", StringComparison.Ordinal) ? new SmtpReply(550, "5.7.1", "Sender blocked by local policy") : null);

        public override ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken) =>
            ValueTask.FromResult(address.StartsWith("bob@", StringComparison.Ordinal) && session.HeloName == "greylisted.example" ? new SmtpReply(450, "4.7.1", "Try again later") : null);

        public override async ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            var text = await new StreamReader(content).ReadToEndAsync(cancellationToken);
            return text.Contains("VIRUS", StringComparison.Ordinal) ? new SmtpReply(554, "5.7.0", "Message rejected: content") : null;
        }
    }

    private sealed class AcceptedHooks(bool fail) : SmtpHooks
    {
        public List<(string QueueId, string Sender, string Content, bool Stored)> Accepted { get; } = [];

        public Func<ValueTask<bool>>? IsStored { get; set; }

        public override async ValueTask OnMessageAcceptedAsync(SmtpSessionInfo session, QueueEnvelope envelope, string queueId, Stream content, CancellationToken cancellationToken)
        {
            var text = await new StreamReader(content).ReadToEndAsync(cancellationToken);
            Accepted.Add((queueId, envelope.ReversePath, text, IsStored is { } stored && await stored()));
            if (fail)
            {
                throw new InvalidOperationException("the application's hook failed");
            }
        }
    }

    [Fact]
    public async Task Accepted_hook_hears_of_each_stored_message_before_its_250_and_not_of_refused_ones()
    {
        var hooks = new AcceptedHooks(fail: false);
        await using var h = new SmtpTestHarness(o => o.Hooks = hooks);
        hooks.IsStored = async () => (await h.Store.ListMessagesAsync("alice@example.test", "INBOX")).Count > hooks.Accepted.Count;
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<writer@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        var reply = await h.CommandAsync("Subject: heard\r\n\r\nbody\r\n.");
        Assert.StartsWith("250 2.0.0 ", reply);
        var accepted = Assert.Single(hooks.Accepted);
        Assert.Equal(reply.Split(' ')[2], accepted.QueueId);
        Assert.Equal("writer@example.org", accepted.Sender);
        Assert.StartsWith("Received: ", accepted.Content, StringComparison.Ordinal); // from the start, our trace header first
        Assert.Contains("Subject: heard", accepted.Content, StringComparison.Ordinal);
        Assert.True(accepted.Stored, "the hook ran before the message was stored");

        // A refused message (a bare LF, refused by default) is not reported.
        await h.CommandAsync("MAIL FROM:<writer@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        Assert.StartsWith("5", await h.CommandAsync("Subject: bare\nline\r\n."));
        Assert.Single(hooks.Accepted);
    }

    private sealed class GatedAcceptedHooks : SmtpHooks
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask OnMessageAcceptedAsync(SmtpSessionInfo session, QueueEnvelope envelope, string queueId, Stream content, CancellationToken cancellationToken)
        {
            Entered.SetResult();
            await Release.Task.WaitAsync(cancellationToken);
        }
    }

    [Fact]
    public async Task Accepted_hook_runs_before_the_client_is_told_250()
    {
        var hooks = new GatedAcceptedHooks();
        await using var h = new SmtpTestHarness(o => o.Hooks = hooks);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<writer@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        var reply = h.CommandAsync("Subject: held\r\n\r\nbody\r\n.");
        await hooks.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(50); // room for a reply that should not come
        Assert.False(reply.IsCompleted, "the 250 was sent before the hook finished");
        hooks.Release.SetResult();
        Assert.StartsWith("250 2.0.0 ", await reply);
    }

    [Fact]
    public async Task Accepted_hook_that_throws_leaves_the_message_accepted()
    {
        var hooks = new AcceptedHooks(fail: true);
        await using var h = new SmtpTestHarness(o => o.Hooks = hooks);
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<writer@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("Subject: kept\r\n\r\nbody\r\n."));
        Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        Assert.Equal("250 2.0.0 OK", await h.CommandAsync("NOOP")); // the session goes on
    }

    [Fact]
    public async Task Hooks_refuse_at_mail_rcpt_and_end_of_data_with_their_own_replies()
    {
        await using var h = new SmtpTestHarness(o => o.Hooks = new Hooks());
        await h.StartAsync("greylisted.example");
        Assert.Equal("550 5.7.1 Sender blocked by local policy", await h.CommandAsync("MAIL FROM:<x@blocked.example>"));
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<x@example.org>"));
        Assert.Equal("450 4.7.1 Try again later", await h.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        await h.CommandAsync("DATA");
        Assert.Equal("554 5.7.0 Message rejected: content", await h.CommandAsync("Subject: x\r\n\r\nVIRUS\r\n."));
        Assert.Empty(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        await h.CommandAsync("MAIL FROM:<x@example.org>");
        await h.CommandAsync("RCPT TO:<alice@example.test>");
        await h.CommandAsync("DATA");
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("Subject: x\r\n\r\nclean\r\n."));
        Assert.Single(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    private sealed class ThrowingHooks : SmtpHooks
    {
        public override ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken) =>
            address.StartsWith("bob@", StringComparison.Ordinal) ? throw new InvalidOperationException("backend down") : default;
    }

    [Fact]
    public async Task A_hook_that_throws_costs_the_command_451_not_the_connection()
    {
        await using var h = new SmtpTestHarness(o => o.Hooks = new ThrowingHooks());
        await h.StartAsync();
        await h.CommandAsync("MAIL FROM:<x@example.org>");
        Assert.Equal("451 4.3.0 Local error in processing, try again later", await h.CommandAsync("RCPT TO:<bob@example.test>"));
        // The transaction survives: recipients already accepted stay, and more can follow.
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
        await h.CommandAsync("DATA");
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("Subject: x\r\n\r\nhi\r\n."));
    }

    [Fact]
    public async Task Accepted_messages_and_refusals_are_counted_exactly_on_the_servers_own_meter()
    {
        // The server's own meters: other tests' servers, running in parallel, record elsewhere.
        using var meters = new TestMeterFactory();
        using var messages = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.messages.received");
        using var bytes = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.received.size");
        using var sizes = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.message.size");
        using var errors = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.errors");
        using var commands = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.commands");
        using var sessions = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.active_sessions");
        await using (var h = new SmtpTestHarness(meterFactory: meters))
        {
            await h.StartAsync();
            await h.CommandAsync("MAIL FROM:<x@example.org>");
            await h.CommandAsync("RCPT TO:<alice@example.test>");
            await h.CommandAsync("DATA");
            await h.CommandAsync("Subject: counted\r\n\r\nhi\r\n.");
            await h.CommandAsync("FROB");
            await h.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.Equal("221 2.0.0 mx.example.test closing connection", await h.CommandAsync("QUIT"));
            await h.Session;
        }

        Assert.Equal([1L], messages.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal([(long)"Subject: counted\r\n\r\nhi\r\n".Length], bytes.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal([(long)"Subject: counted\r\n\r\nhi\r\n".Length], sizes.GetMeasurementSnapshot().Select(m => m.Value));
        // The meter carries the assembly's version (without SourceLink's "+commit").
        Assert.Equal(typeof(SmtpServer).Assembly.GetName().Version!.ToString(3), sizes.Instrument!.Meter.Version);
        Assert.Equal(["UnknownCommand", "NeedMail"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
        Assert.All(errors.GetMeasurementSnapshot(), m => Assert.Equal(1, m.Value));
        Assert.Equal(["EHLO", "MAIL", "RCPT", "DATA", "UNKNOWN", "RCPT", "QUIT"], commands.GetMeasurementSnapshot().Select(m => (string?)m.Tags["mail.smtp.command"]));
        // Counted as answered: error.type only on the refused ones.
        Assert.Equal([null, null, null, null, "UnknownCommand", "NeedMail", null],
            commands.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("error.type", out var type) ? (string?)type : null));
        Assert.Equal([1L, -1L], sessions.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public async Task A_command_the_client_left_in_is_not_counted_and_one_the_deadline_ended_is_counted_as_timed_out()
    {
        using var meters = new TestMeterFactory();
        using var commands = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.commands");
        await using (var h = new SmtpTestHarness(meterFactory: meters))
        {
            await h.StartAsync();
            await h.CommandAsync("MAIL FROM:<x@example.org>");
            await h.CommandAsync("RCPT TO:<alice@example.test>");
            Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
            await h.SendAsync("Subject: cut off\r\n\r\nhalf");
            await h.CloseClientAsync();
            Assert.True(await h.EndedAsync());
        }
        using var timedMeters = new TestMeterFactory();
        using var timedCommands = new MetricCollector<long>(timedMeters, SmtpMetrics.MeterName, "mail.smtp.commands");
        await using (var h = new SmtpTestHarness(o => { o.DataTimeout = TimeSpan.FromMinutes(3); o.MinimumDataRate = 0; }, meterFactory: timedMeters))
        {
            await h.StartAsync();
            await h.CommandAsync("MAIL FROM:<x@example.org>");
            await h.CommandAsync("RCPT TO:<alice@example.test>");
            await h.SendAsync("BDAT 100 LAST\r\nSubject: half\r\n");
            await FakeTimeExtensions.WaitUntilAsync(() => h.Connection.ArmedDeadline == Mail.Protocols.Connections.TimeoutReason.Literal);
            h.Time.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(2));
            Assert.StartsWith("421 ", await h.ReadLineAsync());
            Assert.True(await h.EndedAsync());
        }

        Assert.Equal([("EHLO", null), ("MAIL", null), ("RCPT", null)], Counted(commands));
        Assert.Equal([("EHLO", null), ("MAIL", null), ("RCPT", null), ("BDAT", "Timeout")], Counted(timedCommands));

        static IEnumerable<(string?, string?)> Counted(MetricCollector<long> collector) =>
            collector.GetMeasurementSnapshot().Select(m => ((string?)m.Tags["mail.smtp.command"], m.Tags.TryGetValue("error.type", out var type) ? (string?)type : null));
    }

    [Fact]
    public async Task Hello_without_a_name_and_vrfy_of_an_unknown_user_are_refusals_counted_by_reason()
    {
        using var meters = new TestMeterFactory();
        using var errors = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.errors");
        await using (var h = new SmtpTestHarness(o =>
        {
            o.AllowPlaintextAuth = true;
            o.Vrfy = AddressQueryMode.Authenticated;
        }, SmtpRole.Submission, meterFactory: meters))
        {
            await h.StartAsync();
            Assert.Equal("501 5.5.4 Syntax: EHLO hostname", await h.CommandAsync("EHLO"));
            Assert.Equal("501 5.5.4 Syntax: HELO hostname", await h.CommandAsync("HELO  "));
            Assert.StartsWith("250 ", await h.CommandAsync("EHLO client.example.org"));
            Assert.Equal("235 2.7.0 Authentication successful",
                await h.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("\0alice@example.test\0alice"))));
            Assert.Equal("550 5.1.1 User unknown", await h.CommandAsync("VRFY <nobody@example.test>"));
            Assert.Equal("250 2.1.5 <bob@example.test>", await h.CommandAsync("VRFY <bob@example.test>"));
            Assert.Equal("221 2.0.0 mx.example.test closing connection", await h.CommandAsync("QUIT"));
            await h.Session;
        }

        Assert.Equal(["EhloWithoutName", "HeloWithoutName", "UserUnknown"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    private sealed class EndingHooks(string stage, SmtpReply reply) : SmtpHooks
    {
        public override ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken) =>
            ValueTask.FromResult(stage == "MAIL" ? reply : null);

        public override ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken) =>
            ValueTask.FromResult(stage == "RCPT" ? reply : null);

        public override ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken) =>
            ValueTask.FromResult(stage is "DATA" or "BDAT" ? reply : null);
    }

    // The commands up to the stage whose hook ends the session; the last one's reply is the hook's.
    private static async Task<string?> RunUntilAsync(SmtpTestHarness h, string stage)
    {
        await h.SendAsync("MAIL FROM:<writer@example.org>\r\n");
        if (stage == "MAIL")
        {
            return await h.ReadLineAsync();
        }
        Assert.StartsWith("250", await h.ReadLineAsync());
        await h.SendAsync("RCPT TO:<alice@example.test>\r\n");
        if (stage == "RCPT")
        {
            return await h.ReadLineAsync();
        }
        Assert.StartsWith("250", await h.ReadLineAsync());
        if (stage == "BDAT")
        {
            // The hook runs at BDAT LAST, after a first chunk was taken.
            const string first = "Subject: cut off\r\n\r\n";
            await h.SendAsync($"BDAT {first.Length}\r\n{first}");
            Assert.StartsWith("250", await h.ReadLineAsync());
            await h.SendAsync("BDAT 6 LAST\r\nbody\r\n");
            return await h.ReadLineAsync();
        }
        Assert.StartsWith("354", await h.CommandAsync("DATA"));
        await h.SendAsync("Subject: cut off\r\n\r\nbody\r\n.\r\n");
        return await h.ReadLineAsync();
    }

    [Theory]
    [InlineData("MAIL")]
    [InlineData("RCPT")]
    [InlineData("DATA")]
    [InlineData("BDAT")]
    public async Task Hook_reply_421_is_sent_and_ends_the_session(string stage)
    {
        await using var h = new SmtpTestHarness(o => o.Hooks = new EndingHooks(stage, new SmtpReply(421, "4.3.2", "Going away")));
        await h.StartAsync();
        Assert.Equal("421 4.3.2 Going away", await RunUntilAsync(h, stage));
        // RFC 5321 §3.8: after a 421 the server closes the channel.
        Assert.Null(await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
        Assert.Empty(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
    }

    [Theory]
    [InlineData("MAIL")]
    [InlineData("RCPT")]
    [InlineData("DATA")]
    [InlineData("BDAT")]
    public async Task Hook_drop_connection_ends_the_session_without_a_reply_and_stores_nothing(string stage)
    {
        await using var h = new SmtpTestHarness(o => o.Hooks = new EndingHooks(stage, SmtpReply.DropConnection));
        await h.StartAsync();
        Assert.Null(await RunUntilAsync(h, stage));
        Assert.True(await h.EndedAsync());
        Assert.Empty(await h.Store.ListMessagesAsync("alice@example.test", "INBOX"));
        // Only that instance drops: an equal reply built by the application is sent like any 421.
        Assert.NotSame(SmtpReply.DropConnection, new SmtpReply(421, "4.4.2", "Connection dropped"));
    }
}
