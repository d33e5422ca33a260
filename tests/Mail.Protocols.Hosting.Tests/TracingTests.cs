using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Mail.Protocols.Dns;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Telemetry;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// The spans of docs/telemetry.md, seen by an ActivityListener: the SMTP transaction, the queue entry it makes, and the
/// delivery attempt that continues its trace from the traceparent kept in the queue.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => MailActivitySources.All.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private static MailHostOptions Options()
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null,
            ServerName = "mx.example.test",
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.TrustedNetworks.Add(IPNetwork.Parse("127.0.0.0/8"));
        options.Smtp.MaxReceivedFields = 3;
        return options;
    }

    private static MimeMessage Message(string to, int bodyLength)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@example.test"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = "traced";
        message.Body = new TextPart("plain") { Text = new string('x', bodyLength) };
        return message;
    }

    private sealed class FailingDns : IDnsResolver
    {
        public ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));

        public ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));
    }

    [Fact]
    public async Task An_smtp_transaction_its_queue_entry_and_the_delivery_attempt_are_one_trace()
    {
        await using var host = new MailHost(Options());
        await host.StartAsync();
        string queueId;
        using (var client = new SmtpClient())
        {
            var smtp = host.EndPoints["smtp"];
            await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
            var response = await client.SendAsync(Message("bob@remote.example", 100));
            queueId = response.Split(' ')[1]; // "2.0.0 ID Message accepted for delivery"
            await client.DisconnectAsync(quit: true);
        }

        var transaction = Assert.Single(_spans, s => s.OperationName == "smtp.message" && (string?)s.GetTagItem("mail.smtp.queue_id") == queueId);
        Assert.Equal(MailActivitySources.Smtp, transaction.Source.Name);
        Assert.Equal(ActivityKind.Server, transaction.Kind);
        Assert.Equal("accepted", transaction.GetTagItem("mail.smtp.outcome"));
        Assert.Equal(1, transaction.GetTagItem("mail.smtp.recipients"));
        Assert.True((long)transaction.GetTagItem("mail.message.size")! > 100);
        var enqueue = Assert.Single(_spans, s => s.OperationName == "mail.queue.enqueue" && s.ParentSpanId == transaction.SpanId);
        Assert.Equal(transaction.TraceId, enqueue.TraceId);

        // The delivery agent, later and on its own: its attempt is a child of the transaction's span, and is counted.
        using var meters = new OwnMeters();
        var measured = new ConcurrentQueue<(string Instrument, long Value, string? Outcome, string? Route)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (meters.Made.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var all = tags.ToArray();
            measured.Enqueue((instrument.Name, value, (string?)all.FirstOrDefault(t => t.Key == "mail.delivery.outcome").Value,
                (string?)all.FirstOrDefault(t => t.Key == "mail.delivery.route").Value));
        });
        listener.Start();
        var agent = new DeliveryAgent(host.Queue, new FailingDns(), (_, _, _) => ValueTask.CompletedTask, new DeliveryAgentOptions { ServerName = "mx.example.test" },
            meterFactory: meters);
        Assert.Equal(1, await agent.RunOnceAsync());
        listener.RecordObservableInstruments();
        Assert.Equal([("mail.delivery.attempts", 1L, "deferred", "mx"), ("mail.delivery.recipients", 1L, "deferred", null), ("mail.queue.depth", 1L, null, null)],
            measured.ToArray());
        var attempt = Assert.Single(_spans, s => s.OperationName == "delivery.attempt" && s.TraceId == transaction.TraceId);
        Assert.Equal(MailActivitySources.Delivery, attempt.Source.Name);
        Assert.Equal(transaction.SpanId, attempt.ParentSpanId);
        Assert.Equal("remote.example", attempt.GetTagItem("mail.delivery.domain"));
        Assert.Equal(0, attempt.GetTagItem("mail.delivery.accepted"));
        Assert.Equal("451", attempt.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, attempt.Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_local_delivery_has_a_store_append_span_and_a_refused_message_says_why()
    {
        await using var host = new MailHost(Options());
        await host.StartAsync();
        using var client = new SmtpClient();
        var smtp = host.EndPoints["smtp"];
        await client.ConnectAsync(smtp.Address.ToString(), smtp.Port, SecureSocketOptions.None);
        var queueId = (await client.SendAsync(Message("alice@example.test", 100))).Split(' ')[1];
        var looping = Message("alice@example.test", 100);
        for (var i = 0; i < 4; i++)
        {
            looping.Headers.Add("Received", $"from hop{i}.example by hop{i + 1}.example; Mon, 7 Dec 2026 10:00:0{i} +0000");
        }
        await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(looping)); // refused at the end of the data
        await client.DisconnectAsync(quit: true);

        var stored = Assert.Single(_spans, s => s.OperationName == "smtp.message" && (string?)s.GetTagItem("mail.smtp.queue_id") == queueId);
        var append = Assert.Single(_spans, s => s.OperationName == "mail.store.append" && s.ParentSpanId == stored.SpanId);
        Assert.Equal("INBOX", append.GetTagItem("mail.store.folder"));
        Assert.Equal(ActivityKind.Client, append.Kind);

        var refused = Assert.Single(_spans, s => s.OperationName == "smtp.message" && s.TraceId != stored.TraceId
            && (string?)s.GetTagItem("error.type") == "TooManyHops" && s.Tags.Any(t => t.Key == "mail.smtp.queue_id"));
        Assert.Equal("refused", refused.GetTagItem("mail.smtp.outcome"));
        Assert.Equal(ActivityStatusCode.Error, refused.Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task Logins_and_the_commands_that_touch_the_store_have_spans_in_every_protocol()
    {
        var options = Options();
        options.Pop3Port = 0;
        options.ImapPort = 0;
        options.SubmissionPort = 0;
        options.AllowPlaintextAuth = true;
        await using var host = new MailHost(options);
        await host.StartAsync();
        using (var smtp = new SmtpClient())
        {
            var submission = host.EndPoints["submission"];
            await smtp.ConnectAsync(submission.Address.ToString(), submission.Port, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "wrong")));
            await smtp.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice"));
            var own = Message("alice@example.test", 10);
            own.From.Clear();
            own.From.Add(MailboxAddress.Parse("alice@example.test"));
            await smtp.SendAsync(own);
            await smtp.DisconnectAsync(quit: true);
        }
        using (var pop3 = new Pop3Client())
        {
            var endPoint = host.EndPoints["pop3"];
            await pop3.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None);
            await pop3.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice"));
            await pop3.GetMessageAsync(0);
            await pop3.DisconnectAsync(quit: true);
        }
        using (var imap = new ImapClient())
        {
            var endPoint = host.EndPoints["imap"];
            await imap.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, SecureSocketOptions.None);
            await imap.AuthenticateAsync(new SaslMechanismPlain("alice@example.test", "alice"));
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            await imap.Inbox.GetMessageAsync(0);
            var scratch = (await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Scratch", true))!;
            await scratch.DeleteAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => scratch.DeleteAsync()); // NO
            await imap.DisconnectAsync(quit: true);
        }
        await host.StopAsync();

        var auths = _spans.Where(s => s.OperationName == "SMTP AUTH").ToList();
        Assert.Contains(auths, s => (string?)s.GetTagItem("mail.auth.outcome") == "failed" && (string?)s.GetTagItem("error.type") == "AuthFailed" && s.Status == ActivityStatusCode.Error);
        Assert.Contains(auths, s => (string?)s.GetTagItem("mail.auth.outcome") == "succeeded" && (string?)s.GetTagItem("mail.auth.mechanism") == "PLAIN");
        Assert.Contains(_spans, s => s.OperationName == "POP3 AUTH" && s.Source.Name == MailActivitySources.Pop3 && s.Status != ActivityStatusCode.Error);
        Assert.Contains(_spans, s => s.OperationName == "POP3 RETR" && (string?)s.GetTagItem("mail.pop3.command") == "RETR");
        Assert.Contains(_spans, s => s.OperationName == "IMAP AUTHENTICATE" && s.Source.Name == MailActivitySources.Imap);
        Assert.Contains(_spans, s => s.OperationName == "IMAP SELECT");
        Assert.Contains(_spans, s => s.OperationName == "IMAP FETCH" && (string?)s.GetTagItem("mail.imap.command") == "FETCH");
        // The store refused to delete a folder that is gone: the session answered NO, the span says why.
        Assert.Contains(_spans, s => s.OperationName == "IMAP DELETE" && s.Status == ActivityStatusCode.Error && s.GetTagItem("error.type") is "MailboxStoreException");
        Assert.DoesNotContain(_spans, s => s.OperationName is "IMAP CAPABILITY" or "IMAP LOGOUT");
    }
}
