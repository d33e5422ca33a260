using System.Net;
using System.Text;
using Mail.Protocols.Dns;
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Smtp.Tests.Dns;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Smtp.Tests.Delivery;

/// <summary>
/// The delivery agent end to end: a queue on "host A", the dnsmasq zone for mx.test (mail.mx.test = 127.0.0.2,
/// backup.mx.test = 127.0.0.3), and a real MailHost as the remote exchanger.
/// </summary>
public sealed class DeliveryAgentTests(DnsmasqFixture dns) : IClassFixture<DnsmasqFixture>
{
    private static readonly byte[] s_message = Encoding.ASCII.GetBytes("From: alice@example.test\r\nTo: bob@mx.test\r\nSubject: across domains\r\nMessage-ID: <x1@example.test>\r\n\r\nHello from A.\r\n");

    private static async Task<MailHost> RemoteAsync(string address, Action<MailHostOptions>? configure = null, int port = 0)
    {
        var options = new MailHostOptions
        {
            BindAddress = IPAddress.Parse(address), SmtpPort = port, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null,
            ServerName = "mail.mx.test",
        };
        options.Domains.Add("mx.test");
        options.Users.Add(("bob@mx.test", "bob"));
        configure?.Invoke(options);
        var host = new MailHost(options);
        await host.StartAsync();
        return host;
    }

    private DnsClientResolver Resolver()
    {
        var options = new DnsResolverOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 0, UseCache = false };
        options.NameServers.Add(dns.Server.EndPoint);
        return new DnsClientResolver(options);
    }

    private sealed class Notifications
    {
        public List<(QueueEnvelope Envelope, string Content)> Sent { get; } = [];

        public ValueTask SubmitAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            Sent.Add((envelope, new StreamReader(content, Encoding.UTF8).ReadToEnd()));
            return ValueTask.CompletedTask;
        }
    }

    private static async Task EnqueueAsync(IMessageQueue queue, DateTimeOffset at, string reversePath = "alice@example.test", params string[] recipients) =>
        await queue.EnqueueAsync(new QueueEnvelope(reversePath, [.. (recipients.Length == 0 ? ["bob@mx.test"] : recipients).Select(r => new QueueRecipient(r))], at), new MemoryStream(s_message));

    [Fact]
    public async Task Message_is_relayed_to_the_mx_found_in_dns_and_arrives_with_one_more_received_header()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test" });

        Assert.Equal(1, await agent.RunOnceAsync());
        Assert.Equal(0, await queue.CountAsync());
        Assert.Empty(notifications.Sent);
        var stored = Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        await using var content = await remote.Store.OpenContentAsync("bob@mx.test", "INBOX", stored.Uid);
        var text = await new StreamReader(content).ReadToEndAsync();
        Assert.StartsWith("Received: from a.example.test", text);
        Assert.EndsWith(Encoding.ASCII.GetString(s_message), text);
    }

    [Fact]
    public async Task Unreachable_primary_mx_falls_back_to_the_backup()
    {
        await using var backup = await RemoteAsync("127.0.0.3");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        // Nothing listens on 127.0.0.2 at the backup's port: the connection is refused and the next MX is tried.
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync, new DeliveryAgentOptions { Port = backup.EndPoints["smtp"].Port });
        await agent.RunOnceAsync();
        Assert.Single(await backup.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Equal(0, await queue.CountAsync());
    }

    [Fact]
    public async Task Remote_550_for_one_of_two_recipients_delivers_one_and_returns_a_dsn_for_the_other()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "bob@mx.test", "nobody@mx.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test" });
        await agent.RunOnceAsync();

        Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Equal(0, await queue.CountAsync());
        var (envelope, dsn) = Assert.Single(notifications.Sent);
        Assert.Equal("", envelope.ReversePath); // a DSN has the null reverse path
        Assert.Equal("alice@example.test", Assert.Single(envelope.Recipients).Address);
        Assert.Contains("multipart/report", dsn);
        Assert.Contains("report-type=delivery-status", dsn);
        Assert.Contains("Final-Recipient: rfc822; nobody@mx.test", dsn);
        Assert.Contains("Action: failed", dsn);
        Assert.Contains("Status: 5.1.1", dsn);
        Assert.Contains("Remote-MTA: dns; mail.mx.test", dsn);
        Assert.DoesNotContain("Final-Recipient: rfc822; bob@mx.test", dsn);
        Assert.Contains("Subject: across domains", dsn); // the original comes back
    }

    [Fact]
    public async Task Null_mx_bounces_at_once_and_a_null_sender_gets_no_dsn()
    {
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "someone@nullmx.test");
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "", "someone@nullmx.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync);
        Assert.Equal(2, await agent.RunOnceAsync());
        Assert.Equal(0, await queue.CountAsync());
        var (_, dsn) = Assert.Single(notifications.Sent);
        Assert.Contains("Status: 5.1.10", dsn);
        Assert.Contains("null MX", dsn);
    }

    private sealed class FailingResolver : IDnsResolver
    {
        public int Lookups;

        public ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default)
        {
            Lookups++;
            return ValueTask.FromResult(new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));
        }

        public ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));
    }

    [Fact]
    public async Task Dns_failure_retries_every_15_minutes_warns_after_4_hours_and_bounces_after_5_days()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow());
        var resolver = new FailingResolver();
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, resolver, notifications.SubmitAsync, new DeliveryAgentOptions { ServerName = "a.example.test" }, time);

        Assert.Equal(1, await agent.RunOnceAsync());
        Assert.Equal(1, await queue.CountAsync());
        Assert.Empty(notifications.Sent); // never bounce on a DNS hiccup
        time.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(0, await agent.RunOnceAsync()); // not due yet
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await agent.RunOnceAsync());
        Assert.Equal(2, resolver.Lookups);

        time.Advance(TimeSpan.FromHours(4));
        await agent.RunOnceAsync();
        var (_, delay) = Assert.Single(notifications.Sent);
        Assert.Contains("Action: delayed", delay);
        Assert.Contains("Will-Retry-Until: Fri, 04 Dec 2026 12:00:00 +0000", delay);
        Assert.Contains("text/rfc822-headers", delay);
        time.Advance(TimeSpan.FromMinutes(15));
        await agent.RunOnceAsync();
        Assert.Single(notifications.Sent); // one delay notice only

        time.Advance(TimeSpan.FromDays(5));
        await agent.RunOnceAsync();
        Assert.Equal(0, await queue.CountAsync());
        Assert.Equal(2, notifications.Sent.Count);
        var bounce = notifications.Sent[1].Content;
        Assert.Contains("Action: failed", bounce);
        Assert.Contains("5.4.7", bounce);
        Assert.Contains("Hello from A.", bounce);
    }

    [Fact]
    public async Task Exchangers_unreachable_past_the_give_up_time_bounce_with_the_original_message()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow());
        var notifications = new Notifications();
        // mx.test's exchangers resolve, but nothing listens on this port at 127.0.0.2 or 127.0.0.3.
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = 9, ServerName = "a.example.test" }, time);
        await agent.RunOnceAsync();
        Assert.Equal(1, await queue.CountAsync());
        Assert.Empty(notifications.Sent);
        time.Advance(TimeSpan.FromDays(5));
        await agent.RunOnceAsync();
        Assert.Equal(0, await queue.CountAsync());
        var bounce = Assert.Single(notifications.Sent).Content; // the delay notice was overtaken by the give-up
        Assert.Contains("Action: failed", bounce);
        Assert.Contains("Status: 4.4.1", bounce);
        Assert.Contains("5.4.7 delivery time expired", bounce);
        Assert.Contains("message/rfc822", bounce);
        Assert.Contains("Message-ID: <x1@example.test>", bounce);
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("wrong", false)]
    public async Task Smart_host_gets_everything_over_starttls_with_a_login(string password, bool accepted)
    {
        // The smart host is a MailHost submission port: STARTTLS, then AUTH before MAIL.
        var relayOptions = new MailHostOptions { SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null };
        relayOptions.Domains.Add("relay.test");
        relayOptions.Users.Add(("alice@example.test", "alice"));
        relayOptions.Smtp.FailedAuthDelay = TimeSpan.Zero;
        relayOptions.Smtp.Limits.MaxConnectionsPerAddress = 100;
        await using var relay = new MailHost(relayOptions);
        await relay.StartAsync();
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "someone@elsewhere.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, new FailingResolver(), notifications.SubmitAsync, new DeliveryAgentOptions
        {
            SmartHost = new DnsEndPoint("127.0.0.1", relay.EndPoints["submission"].Port),
            SmartHostCredentials = new NetworkCredential("alice@example.test", password),
        });
        await agent.RunOnceAsync();
        Assert.Empty(notifications.Sent);
        if (accepted)
        {
            Assert.Equal(0, await queue.CountAsync());
            var relayed = Assert.Single(await relay.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
            Assert.Equal("someone@elsewhere.test", Assert.Single(relayed.Envelope.Recipients).Address);
        }
        else
        {
            // A refused login is the relay's problem, not the recipient's: kept for a retry, never bounced.
            Assert.Equal(1, await queue.CountAsync());
            Assert.Equal(0, await relay.Queue.CountAsync());
        }
    }

    [Fact]
    public async Task Messages_to_one_exchanger_share_one_connection_within_a_round()
    {
        var sessions = new SessionRecorder();
        await using var remote = await RemoteAsync("127.0.0.2", o => o.Smtp.Hooks = sessions);
        var queue = new InMemoryMessageQueue();
        for (var i = 0; i < 3; i++)
        {
            await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        }
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync,
            new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, MaxConcurrency = 1 });
        Assert.Equal(3, await agent.RunOnceAsync());
        Assert.Equal(3, (await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX")).Count);
        Assert.Single(sessions.ConnectionIds.Distinct());
    }

    [Fact]
    public async Task Many_messages_are_delivered_concurrently_within_the_per_domain_limit()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var queue = new InMemoryMessageQueue();
        for (var i = 0; i < 12; i++)
        {
            await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        }
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync,
            new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, MaxConcurrency = 6, MaxConcurrencyPerDomain = 2 });
        Assert.Equal(12, await agent.RunOnceAsync());
        Assert.Equal(12, (await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX")).Count);
        Assert.Equal(0, await queue.CountAsync());
    }

    // A queue whose completions are slow (a busy disk), counting them.
    private sealed class SlowCompletions(IMessageQueue inner) : IMessageQueue
    {
        private int _completed;

        public int Completed => Volatile.Read(ref _completed);

        public async ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default)
        {
            await Task.Delay(150, cancellationToken);
            await inner.CompleteAsync(lease, cancellationToken);
            Interlocked.Increment(ref _completed);
        }

        public ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default) => inner.EnqueueAsync(envelope, content, cancellationToken);
        public ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.LeaseAsync(maxEntries, leaseDuration, cancellationToken);
        public ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default) => inner.OpenContentAsync(queueId, cancellationToken);
        public ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default) =>
            inner.RescheduleAsync(lease, recipients, nextAttempt, cancellationToken);
        public ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default) => inner.GiveUpAsync(lease, recipients, cancellationToken);
        public ValueTask<int> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);
    }

    // Records, at each message the exchanger accepts, how many accepted messages the sender has not yet recorded.
    private sealed class UnrecordedCounter(Func<int> completed) : SmtpHooks
    {
        private int _accepted;

        public int Max { get; private set; }

        public override ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            var unrecorded = Interlocked.Increment(ref _accepted) - completed();
            lock (this)
            {
                Max = Math.Max(Max, unrecorded);
            }
            return ValueTask.FromResult<SmtpReply?>(null);
        }
    }

    [Fact]
    public async Task A_destination_slot_is_held_until_the_result_is_recorded_so_a_crash_can_resend_at_most_the_per_domain_limit()
    {
        // What a kill -9 sends twice is what the exchanger accepted and the queue had not yet recorded. With slow
        // completions, handing the slot on at the remote's 250 would let that grow to MaxConcurrency.
        var queue = new SlowCompletions(new InMemoryMessageQueue());
        var counter = new UnrecordedCounter(() => queue.Completed);
        await using var remote = await RemoteAsync("127.0.0.2", o => o.Smtp.Hooks = counter);
        for (var i = 0; i < 12; i++)
        {
            await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        }
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync,
            new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, MaxConcurrency = 6, MaxConcurrencyPerDomain = 2 });

        Assert.Equal(12, await agent.RunOnceAsync());
        Assert.Equal(12, queue.Completed);
        Assert.InRange(counter.Max, 1, 2);
    }

    [Fact]
    public async Task Stopping_mid_delivery_loses_nothing_and_the_entry_is_retried_after_its_lease()
    {
        // An exchanger that accepts connections and never greets.
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        silent.Start();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow());
        var options = new DeliveryAgentOptions { Port = ((IPEndPoint)silent.LocalEndpoint).Port, LeaseDuration = TimeSpan.FromMinutes(15) };
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync, options, time);
        using var stop = new CancellationTokenSource();
        var running = agent.RunOnceAsync(stop.Token);
        await Task.Delay(300);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        Assert.Equal(1, await queue.CountAsync()); // still there
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1))); // hidden while the lease lasts
        time.Advance(TimeSpan.FromMinutes(16));
        var again = Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal("bob@mx.test", Assert.Single(again.Recipients).Recipient.Address);
    }

    private sealed class SessionRecorder : SmtpHooks
    {
        public System.Collections.Concurrent.ConcurrentBag<string> ConnectionIds { get; } = [];

        public override ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken)
        {
            ConnectionIds.Add(session.ConnectionId);
            return default;
        }
    }

    [Fact]
    public async Task Remote_451_is_retried_later_and_delivered_on_a_later_attempt()
    {
        var hook = new GreylistHooks();
        await using var remote = await RemoteAsync("127.0.0.2", o => o.Smtp.Hooks = hook);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow());
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port }, time);

        await agent.RunOnceAsync();
        Assert.Equal(1, await queue.CountAsync());
        Assert.Empty(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        time.Advance(TimeSpan.FromMinutes(15));
        await agent.RunOnceAsync();
        Assert.Equal(0, await queue.CountAsync());
        Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Empty(notifications.Sent);
    }

    // Refuses the first attempt with 451, like greylisting.
    private sealed class GreylistHooks : SmtpHooks
    {
        private int _attempts;

        public override ValueTask<SmtpReply?> OnRecipientAsync(SmtpSessionInfo session, string address, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Interlocked.Increment(ref _attempts) == 1 ? new SmtpReply(451, "4.7.1", "Greylisted, try again later") : null);
    }
}
