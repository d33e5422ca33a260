using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Dns;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Tests.Client;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using Mail.Protocols.Smtp.Tests.Dns;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
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
            BindAddress = IPAddress.Parse(address), SmtpPort = port, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null,
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

        /// <summary>How many of the next submissions fail (as a full disk at the sender's mailbox would).</summary>
        public int FailNext { get; set; }

        /// <summary>Submissions tried, failed ones included.</summary>
        public int Attempts { get; private set; }

        /// <summary>Runs at each submission, before it succeeds or fails.</summary>
        public Action? OnSubmit { get; set; }

        public ValueTask SubmitAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            Attempts++;
            OnSubmit?.Invoke();
            if (FailNext > 0)
            {
                FailNext--;
                throw new IOException("No space left on device");
            }
            Sent.Add((envelope, new StreamReader(content, Encoding.UTF8).ReadToEnd()));
            return ValueTask.CompletedTask;
        }
    }

    // Runs rounds until none is due, as DeliveryAgent.RunAsync does before it waits for its next poll.
    private static async Task<int> DrainAsync(DeliveryAgent agent)
    {
        var total = 0;
        for (var round = 0; round < 10; round++)
        {
            var attempted = await agent.RunOnceAsync();
            if (attempted == 0)
            {
                return total;
            }
            total += attempted;
        }
        Assert.Fail("The agent still had due entries after 10 rounds");
        return total;
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
    public async Task The_primary_mx_is_tried_first_and_one_that_hangs_up_falls_back_to_the_backup()
    {
        // The backup (preference 20) is a MailHost on 127.0.0.3; the primary (preference 10) a listener on 127.0.0.2 at
        // the same port that takes each connection and hangs up before greeting. Each notes when it was reached.
        var reached = new ConcurrentQueue<string>();
        var (backup, primary) = await BindSamePortAsync(
            () => RemoteAsync("127.0.0.3", o => o.Smtp.Hooks = new ConnectionNotes(reached, "backup.mx.test")),
            host => host.EndPoints["smtp"].Port, IPAddress.Parse("127.0.0.2"));
        await using var _ = backup;
        using var __ = primary;
        var hangingUp = HangUpAsync(primary, reached, "mail.mx.test");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync, new DeliveryAgentOptions { Port = backup.EndPoints["smtp"].Port });

        Assert.Equal(1, await agent.RunOnceAsync());

        Assert.Equal(["mail.mx.test", "backup.mx.test"], reached);
        Assert.Single(await backup.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Equal(0, await queue.CountAsync());
        primary.Stop();
        await hangingUp;
    }

    [Fact]
    public async Task A_refused_connection_to_the_primary_mx_falls_back_to_the_backup()
    {
        // The primary's port was bound by this test and closed again: connecting to it is refused.
        var reached = new ConcurrentQueue<string>();
        var (backup, closed) = await BindSamePortAsync(
            () => RemoteAsync("127.0.0.3", o => o.Smtp.Hooks = new ConnectionNotes(reached, "backup.mx.test")),
            host => host.EndPoints["smtp"].Port, IPAddress.Parse("127.0.0.2"));
        await using var _ = backup;
        closed.Stop();
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow);
        var log = new ListLogger();
        var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync, new DeliveryAgentOptions { Port = backup.EndPoints["smtp"].Port }, logger: log);

        Assert.Equal(1, await agent.RunOnceAsync());

        Assert.Equal(["backup.mx.test"], reached);
        Assert.Single(await backup.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        // The agent's own account, in order: the primary was tried (and refused) before the backup took the message.
        var lines = log.Lines.Where(l => l.Contains("mx.test", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("mail.mx.test unreachable", lines[0]);
        Assert.Contains("backup.mx.test accepted 1 of 1", lines[1]);
    }

    // Starts a server on some port, then binds `other` at that same port; when that is taken (another test's server got
    // it first), starts over on a new port.
    private static async Task<(T Server, TcpListener Other)> BindSamePortAsync<T>(Func<Task<T>> start, Func<T, int> port, IPAddress other)
        where T : IAsyncDisposable
    {
        for (var attempt = 0; ; attempt++)
        {
            var server = await start();
            var listener = new TcpListener(other, port(server));
            try
            {
                listener.Start();
                return (server, listener);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 20)
            {
                await server.DisposeAsync();
            }
        }
    }

    private static async Task HangUpAsync(TcpListener listener, ConcurrentQueue<string> reached, string name)
    {
        try
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync();
                reached.Enqueue(name);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private sealed class ConnectionNotes(ConcurrentQueue<string> reached, string name) : SmtpHooks
    {
        public override ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken)
        {
            reached.Enqueue(name);
            return default;
        }
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));
    }

    // A TCP port on 127.0.0.2 and 127.0.0.3 that this test bound and closed again, so nothing listens there.
    private static int ClosedPort()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            first.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            var port = ((IPEndPoint)first.LocalEndPoint!).Port;
            using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                second.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.3"), port));
                return port;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 20)
            {
            }
        }
    }

    [Fact]
    public async Task Remote_550_for_one_of_two_recipients_delivers_one_and_returns_a_dsn_for_the_other()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "bob@mx.test", "nobody@mx.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test" });
        await DrainAsync(agent);

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
        await DrainAsync(agent);
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

    private sealed class RecordingResolver : IDnsResolver
    {
        public List<string> Asked { get; } = [];

        public ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default)
        {
            Asked.Add(domain);
            return ValueTask.FromResult(new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));
        }

        public ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.TemporaryFailure, [], "SERVFAIL"));
    }

    [Fact]
    public async Task An_internationalised_domain_is_looked_up_by_its_a_labels_once_for_both_spellings()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow(), "alice@example.test", "anna@bücher.example", "bert@XN--BCHER-KVA.example");
        var resolver = new RecordingResolver();
        var agent = new DeliveryAgent(queue, resolver, new Notifications().SubmitAsync, new DeliveryAgentOptions { ServerName = "a.example.test" }, time);

        await agent.RunOnceAsync();
        Assert.Equal(["xn--bcher-kva.example"], resolver.Asked.Select(d => d.ToLowerInvariant()));
    }

    [Fact]
    public async Task The_queue_gauges_give_its_depth_and_the_age_of_its_oldest_entry_after_each_round()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow().AddMinutes(-30));
        await EnqueueAsync(queue, time.GetUtcNow().AddMinutes(-90));
        using var meters = new TestMeterFactory();
        using var depth = new MetricCollector<long>(meters, MailMeters.Delivery, "mail.queue.depth", time);
        using var age = new MetricCollector<double>(meters, MailMeters.Delivery, "mail.queue.oldest.age", time);
        var agent = new DeliveryAgent(queue, new FailingResolver(), new Notifications().SubmitAsync, new DeliveryAgentOptions { ServerName = "a.example.test" },
            time, meterFactory: meters);

        age.RecordObservableInstruments();
        Assert.Empty(age.GetMeasurementSnapshot()); // no round yet
        Assert.Equal(2, await agent.RunOnceAsync()); // both deferred: DNS fails
        time.Advance(TimeSpan.FromMinutes(10)); // the age is read when observed, not frozen at the round
        depth.RecordObservableInstruments();
        age.RecordObservableInstruments();

        Assert.Equal(2, depth.LastMeasurement!.Value);
        Assert.Equal(100 * 60, age.LastMeasurement!.Value);
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

        // Every 15 minutes up to 3:45 the message is younger than 4 hours: no notice yet.
        for (var age = TimeSpan.FromMinutes(30); age < TimeSpan.FromHours(4); age += TimeSpan.FromMinutes(15))
        {
            time.Advance(TimeSpan.FromMinutes(15));
            Assert.Equal(1, await DrainAsync(agent));
            Assert.Empty(notifications.Sent);
        }
        Assert.Equal(16, resolver.Lookups);
        time.Advance(TimeSpan.FromMinutes(15)); // 4:00
        await DrainAsync(agent);
        var (_, delay) = Assert.Single(notifications.Sent);
        Assert.Contains("Action: delayed", delay);
        Assert.Contains("Will-Retry-Until: Fri, 04 Dec 2026 12:00:00 +0000", delay);
        Assert.Contains("text/rfc822-headers", delay);
        time.Advance(TimeSpan.FromMinutes(15));
        await DrainAsync(agent);
        Assert.Single(notifications.Sent); // one delay notice only

        // The last attempt before the give-up time still only retries.
        time.Advance(TimeSpan.FromDays(5) - TimeSpan.FromHours(4) - TimeSpan.FromMinutes(30));
        Assert.Equal(1, await DrainAsync(agent));
        Assert.Equal(1, await queue.CountAsync());
        Assert.Single(notifications.Sent);
        time.Advance(TimeSpan.FromMinutes(15)); // 5 days
        await DrainAsync(agent);
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
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = ClosedPort(), ServerName = "a.example.test" }, time);
        await agent.RunOnceAsync();
        Assert.Equal(1, await queue.CountAsync());
        Assert.Empty(notifications.Sent);
        time.Advance(TimeSpan.FromDays(5));
        await DrainAsync(agent);
        Assert.Equal(0, await queue.CountAsync());
        var bounce = Assert.Single(notifications.Sent).Content; // the delay notice was overtaken by the give-up
        Assert.Contains("Action: failed", bounce);
        // The status agrees with "failed" (class 5, RFC 3464 §2.3.4); the last temporary reply stays the diagnostic.
        Assert.Contains("Status: 5.4.7", bounce);
        Assert.DoesNotContain("Status: 4.", bounce);
        Assert.Contains("Diagnostic-Code: smtp;", bounce);
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
        var relayOptions = new MailHostOptions { SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = null, ImapsPort = null };
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
            // The relay's certificate is self-signed: trusted because the application says so, not by skipping the check.
            Client = new SmtpClientOptions { TrustedCertificates = { relay.Certificate } },
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

    private DeliveryAgent SmartHostAgent(IMessageQueue queue, Notifications notifications, RecordingSmtpServer smartHost, TimeProvider? time = null, SmtpClientOptions? client = null) =>
        new(queue, new FailingResolver(), notifications.SubmitAsync, new DeliveryAgentOptions
        {
            SmartHost = new DnsEndPoint("127.0.0.1", smartHost.EndPoint.Port),
            SmartHostCredentials = new NetworkCredential("alice@example.test", "secret"),
            Client = client ?? new SmtpClientOptions(),
        }, time);

    [Fact]
    public async Task Smart_host_credentials_never_go_to_a_server_whose_certificate_is_not_trusted_and_the_mail_waits()
    {
        // An impostor on the smart host's address with a self-signed certificate for that address (the name matches,
        // the chain does not).
        using var certificate = SelfSignedCertificate.Create("smart.example.test");
        await using var impostor = new RecordingSmtpServer(certificate);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow(), "alice@example.test", "someone@elsewhere.test");
        var notifications = new Notifications();

        Assert.Equal(1, await SmartHostAgent(queue, notifications, impostor, time).RunOnceAsync());

        Assert.Contains("STARTTLS", impostor.Transcript);
        Assert.DoesNotContain(impostor.Transcript, line => line.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(impostor.Transcript, line => line.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
        // Temporary: kept for the next attempt, no bounce.
        Assert.Empty(notifications.Sent);
        time.Advance(TimeSpan.FromMinutes(15));
        var status = Assert.Single(Assert.Single(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1))).Recipients);
        Assert.Equal(RecipientState.Pending, status.State);
        Assert.StartsWith("451 4.7.5 ", status.LastReply);
        Assert.Contains("certificate of 127.0.0.1 is not trusted", status.LastReply);
    }

    [Fact]
    public async Task A_trusted_certificate_for_another_name_is_refused_too()
    {
        using var certificate = CertificateFor("smart.example.test");
        await using var impostor = new RecordingSmtpServer(certificate);
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "someone@elsewhere.test");
        var client = new SmtpClientOptions { TrustedCertificates = { certificate } };

        Assert.Equal(1, await SmartHostAgent(queue, new Notifications(), impostor, client: client).RunOnceAsync());

        Assert.Contains("STARTTLS", impostor.Transcript);
        Assert.DoesNotContain(impostor.Transcript, line => line.StartsWith("AUTH", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1, await queue.CountAsync());
    }

    [Fact]
    public async Task A_smart_host_whose_certificate_the_application_trusts_gets_the_login_after_the_handshake()
    {
        using var certificate = SelfSignedCertificate.Create("smart.example.test");
        await using var smartHost = new RecordingSmtpServer(certificate);
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "someone@elsewhere.test");
        // Only the public part is configured, as an application would ship it.
        var client = new SmtpClientOptions { TrustedCertificates = { X509CertificateLoader.LoadCertificate(certificate.RawData) } };

        Assert.Equal(1, await SmartHostAgent(queue, new Notifications(), smartHost, client: client).RunOnceAsync());

        Assert.Equal(0, await queue.CountAsync());
        var transcript = smartHost.Transcript;
        var auth = transcript.ToList().FindIndex(line => line.StartsWith("AUTH PLAIN ", StringComparison.Ordinal));
        Assert.InRange(auth, transcript.ToList().IndexOf("* TLS") + 1, transcript.Count);
        Assert.Contains("<message>", transcript);
    }

    // A self-signed certificate for exactly one DNS name (no localhost, no loopback address).
    private static X509Certificate2 CertificateFor(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    [Fact]
    public async Task A_recipient_that_would_inject_a_command_fails_permanently_and_the_others_are_delivered()
    {
        await using var remote = await RemoteAsync("127.0.0.2", o => o.Users.Add(("carol@mx.test", "carol")));
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test", "bob@mx.test", "nobody@mx.test>\r\nRCPT TO:<carol@mx.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test" });

        await DrainAsync(agent);

        Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Empty(await remote.Store.ListMessagesAsync("carol@mx.test", "INBOX"));
        Assert.Equal(0, await queue.CountAsync());
        var (_, dsn) = Assert.Single(notifications.Sent);
        Assert.Contains("Action: failed", dsn);
        Assert.Contains("Status: 5.1.3", dsn);
        Assert.Contains("not a valid RFC 5321 mailbox", dsn);
        Assert.DoesNotContain("\r\nRCPT TO:<carol@mx.test", dsn);
    }

    [Fact]
    public async Task A_reverse_path_that_would_inject_a_command_fails_the_entry_without_a_notification()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var queue = new InMemoryMessageQueue();
        await EnqueueAsync(queue, DateTimeOffset.UtcNow, "alice@example.test>\r\nRCPT TO:<bob@mx.test", "nobody@mx.test");
        var notifications = new Notifications();
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port });

        await DrainAsync(agent);

        Assert.Empty(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Equal(0, await queue.CountAsync());
        Assert.Equal(0, notifications.Attempts); // there is nobody valid to tell
    }

    // Records what the agent writes to the queue, in order.
    private sealed class RecordingQueue(IMessageQueue inner) : IMessageQueue
    {
        private readonly ConcurrentQueue<(string Operation, IReadOnlyList<RecipientStatus> Recipients)> _records = new();

        public IReadOnlyList<(string Operation, IReadOnlyList<RecipientStatus> Recipients)> Records => [.. _records];

        public async ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default)
        {
            await inner.CompleteAsync(lease, cancellationToken);
            _records.Enqueue(("complete", []));
        }

        public async ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default)
        {
            await inner.RescheduleAsync(lease, recipients, nextAttempt, cancellationToken);
            _records.Enqueue(("reschedule", recipients));
        }

        public async ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default)
        {
            await inner.GiveUpAsync(lease, recipients, cancellationToken);
            _records.Enqueue(("give up", recipients));
        }

        public ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default) => inner.EnqueueAsync(envelope, content, cancellationToken);
        public ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.LeaseAsync(maxEntries, leaseDuration, cancellationToken);
        public ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default) => inner.OpenContentAsync(queueId, cancellationToken);
        public ValueTask<int> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);
        public ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default) => inner.GetOldestReceivedAtAsync(cancellationToken);
    }

    [Fact]
    public async Task A_failed_dsn_is_retried_on_its_own_after_the_results_are_recorded_and_the_message_is_sent_once()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new RecordingQueue(new InMemoryMessageQueue(time));
        await EnqueueAsync(queue, time.GetUtcNow(), "alice@example.test", "bob@mx.test", "nobody@mx.test");
        var recordedBeforeEachDsn = new List<int>();
        var notifications = new Notifications { FailNext = 1 };
        notifications.OnSubmit = () => recordedBeforeEachDsn.Add(queue.Records.Count);
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test" }, time);

        await DrainAsync(agent);

        // bob took the message, nobody was refused; both results were in the queue before the (failing) bounce was tried.
        Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        Assert.Equal(1, notifications.Attempts);
        Assert.Empty(notifications.Sent);
        var (operation, recorded) = queue.Records[0];
        Assert.Equal("reschedule", operation);
        Assert.Equal([RecipientState.Delivered, RecipientState.Failed], recorded.Select(r => r.State));
        Assert.Equal([false, true], recorded.Select(r => r.DsnPending));
        Assert.Equal([1], recordedBeforeEachDsn);
        Assert.Equal(1, await queue.CountAsync());

        // The bounce waits for the retry interval; the message is not sent again meanwhile.
        time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await DrainAsync(agent));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await DrainAsync(agent));

        Assert.Equal(0, await queue.CountAsync());
        var (envelope, dsn) = Assert.Single(notifications.Sent);
        Assert.Equal("alice@example.test", Assert.Single(envelope.Recipients).Address);
        Assert.Contains("Final-Recipient: rfc822; nobody@mx.test", dsn);
        Assert.DoesNotContain("Final-Recipient: rfc822; bob@mx.test", dsn);
        Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX")); // exactly once
    }

    [Fact]
    public async Task A_failed_bounce_at_the_give_up_time_still_gives_up_and_only_the_bounce_is_retried()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new RecordingQueue(new InMemoryMessageQueue(time));
        await EnqueueAsync(queue, time.GetUtcNow());
        var resolver = new FailingResolver();
        var notifications = new Notifications();
        var options = new DeliveryAgentOptions { ServerName = "a.example.test", DelayNoticeAfter = TimeSpan.FromDays(10) };
        var agent = new DeliveryAgent(queue, resolver, notifications.SubmitAsync, options, time);
        await DrainAsync(agent);

        time.Advance(TimeSpan.FromDays(5));
        notifications.FailNext = 1;
        await DrainAsync(agent);

        Assert.Equal(1, notifications.Attempts);
        Assert.Empty(notifications.Sent);
        var (operation, recorded) = queue.Records[^1];
        Assert.Equal("reschedule", operation);
        var status = Assert.Single(recorded);
        Assert.Equal(RecipientState.Failed, status.State);
        Assert.True(status.DsnPending);
        Assert.EndsWith("(5.4.7 delivery time expired)", status.LastReply);
        var lookups = resolver.Lookups;

        time.Advance(TimeSpan.FromMinutes(15));
        await DrainAsync(agent);

        Assert.Equal(lookups, resolver.Lookups); // given up: never tried again
        Assert.Equal(0, await queue.CountAsync());
        Assert.Equal("give up", queue.Records[^1].Operation);
        Assert.Contains("Action: failed", Assert.Single(notifications.Sent).Content);
    }

    [Fact]
    public async Task A_bounce_that_can_never_be_submitted_is_dropped_when_the_message_is_twice_the_give_up_time_old()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new InMemoryMessageQueue(time);
        await EnqueueAsync(queue, time.GetUtcNow());
        var notifications = new Notifications { FailNext = int.MaxValue };
        var options = new DeliveryAgentOptions { ServerName = "a.example.test", DelayNoticeAfter = TimeSpan.FromDays(10) };
        var agent = new DeliveryAgent(queue, new FailingResolver(), notifications.SubmitAsync, options, time);
        await DrainAsync(agent);
        time.Advance(TimeSpan.FromDays(5));
        await DrainAsync(agent);
        Assert.Equal(1, notifications.Attempts);

        time.Advance(TimeSpan.FromDays(5) - TimeSpan.FromMinutes(15));
        await DrainAsync(agent);
        Assert.Equal(2, notifications.Attempts);
        Assert.Equal(1, await queue.CountAsync()); // still owed
        time.Advance(TimeSpan.FromMinutes(15)); // 10 days
        await DrainAsync(agent);

        Assert.Equal(3, notifications.Attempts);
        Assert.Equal(0, await queue.CountAsync());
        Assert.Empty(notifications.Sent);
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
    public async Task Many_messages_are_delivered_concurrently_up_to_the_per_domain_limit()
    {
        var inFlight = new InFlightCounter(limit: 2);
        await using var remote = await RemoteAsync("127.0.0.2", o => o.Smtp.Hooks = inFlight);
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
        Assert.Equal(2, inFlight.Max);
    }

    // Counts transactions in flight at the exchanger (MAIL FROM to the end of the message). Each message is held until
    // as many as the limit have been in flight at once, so the limit is reached whatever the scheduling; six workers
    // pressing on one domain would then show as more than the limit.
    private sealed class InFlightCounter(int limit) : SmtpHooks
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inFlight;
        private int _max;

        public int Max => Volatile.Read(ref _max);

        public override ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionInfo session, string reversePath, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }
            if (now >= limit)
            {
                _reached.TrySetResult();
            }
            return default;
        }

        public override async ValueTask<SmtpReply?> OnMessageAsync(SmtpSessionInfo session, QueueEnvelope envelope, Stream content, CancellationToken cancellationToken)
        {
            try
            {
                // Bounded so that an agent that never reaches the limit fails the assertion instead of hanging the test.
                await _reached.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (TimeoutException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
            return null;
        }
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
        public ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default) => inner.GetOldestReceivedAtAsync(cancellationToken);
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
        // Stopped while the agent waits for the greeting.
        using (await silent.AcceptSocketAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token))
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        }

        Assert.Equal(1, await queue.CountAsync()); // still there
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1))); // hidden while the lease lasts
        time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Empty(await queue.LeaseAsync(10, TimeSpan.FromMinutes(1))); // until its very end
        time.Advance(TimeSpan.FromSeconds(1));
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
        time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, await agent.RunOnceAsync()); // not yet
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await agent.RunOnceAsync());
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

    [Fact]
    public async Task On_a_host_whose_name_is_not_a_domain_the_agent_says_its_address_literal_and_delivers()
    {
        // The machine's name has an underscore: EHLO build_host would be refused, so the default falls back to the
        // address literal of the outbound connection (RFC 5321 §4.1.4) instead of failing every message.
        await using var remote = await RemoteAsync("127.0.0.2");
        SmtpHelloName.MachineNameOverride.Value = "build_host";
        try
        {
            var queue = new InMemoryMessageQueue();
            await EnqueueAsync(queue, DateTimeOffset.UtcNow);
            var options = new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port };
            Assert.Equal("build_host", options.ServerName);
            var agent = new DeliveryAgent(queue, Resolver(), new Notifications().SubmitAsync, options);

            Assert.Equal(1, await agent.RunOnceAsync());

            Assert.Equal(0, await queue.CountAsync());
            var stored = Assert.Single(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
            await using var content = await remote.Store.OpenContentAsync("bob@mx.test", "INBOX", stored.Uid);
            Assert.StartsWith("Received: from [127.0.0.1]", await new StreamReader(content).ReadToEndAsync());
        }
        finally
        {
            SmtpHelloName.MachineNameOverride.Value = null;
        }
    }

    [Theory]
    [InlineData("bad_name.example.test")]
    [InlineData("relay example.test")]
    [InlineData("[300.0.0.1]")]
    public void A_configured_server_name_that_is_not_a_domain_fails_when_the_agent_or_the_host_is_built(string name)
    {
        var agentError = Assert.Throws<ArgumentException>(() =>
            new DeliveryAgent(new InMemoryMessageQueue(), Resolver(), new Notifications().SubmitAsync, new DeliveryAgentOptions { ServerName = name }));
        Assert.Equal("options", agentError.ParamName);
        Assert.Contains("neither a domain nor an address literal", agentError.Message);

        var hostError = Assert.Throws<ArgumentException>(() => new MailHost(new MailHostOptions { ServerName = name }));
        Assert.Contains("neither a domain nor an address literal", hostError.Message);
    }

    // A queue whose content cannot be opened while Broken is set (a store bug, say): an exception no attempt expects.
    private sealed class BrokenContent(IMessageQueue inner) : IMessageQueue
    {
        public bool Broken { get; set; }

        public ValueTask<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken = default) =>
            Broken ? throw new InvalidOperationException("content index is corrupt") : inner.OpenContentAsync(queueId, cancellationToken);

        public ValueTask<string> EnqueueAsync(QueueEnvelope envelope, Stream content, CancellationToken cancellationToken = default) => inner.EnqueueAsync(envelope, content, cancellationToken);
        public ValueTask<IReadOnlyList<QueueLease>> LeaseAsync(int maxEntries, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => inner.LeaseAsync(maxEntries, leaseDuration, cancellationToken);
        public ValueTask CompleteAsync(QueueLease lease, CancellationToken cancellationToken = default) => inner.CompleteAsync(lease, cancellationToken);
        public ValueTask RescheduleAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, DateTimeOffset nextAttempt, CancellationToken cancellationToken = default) =>
            inner.RescheduleAsync(lease, recipients, nextAttempt, cancellationToken);
        public ValueTask GiveUpAsync(QueueLease lease, IReadOnlyList<RecipientStatus> recipients, CancellationToken cancellationToken = default) => inner.GiveUpAsync(lease, recipients, cancellationToken);
        public ValueTask<int> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);
        public ValueTask<DateTimeOffset?> GetOldestReceivedAtAsync(CancellationToken cancellationToken = default) => inner.GetOldestReceivedAtAsync(cancellationToken);
    }

    [Fact]
    public async Task An_unexpected_exception_in_an_attempt_is_temporary_and_the_message_is_still_returned_at_the_give_up_time()
    {
        await using var remote = await RemoteAsync("127.0.0.2");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        var queue = new BrokenContent(new InMemoryMessageQueue(time)) { Broken = true };
        await EnqueueAsync(queue, time.GetUtcNow());
        var notifications = new Notifications();
        var options = new DeliveryAgentOptions { Port = remote.EndPoints["smtp"].Port, ServerName = "a.example.test", DelayNoticeAfter = TimeSpan.FromDays(10) };
        var agent = new DeliveryAgent(queue, Resolver(), notifications.SubmitAsync, options, time);

        // Each attempt connects, then fails on the content: recorded as a temporary failure, due again after the interval.
        Assert.Equal(1, await DrainAsync(agent));
        Assert.Equal(1, await queue.CountAsync());
        time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(1, await DrainAsync(agent));

        // Five days on the attempt fails the same way and the recipient is given up; the next round returns the message.
        time.Advance(TimeSpan.FromDays(5));
        Assert.Equal(1, await agent.RunOnceAsync());
        queue.Broken = false; // the DSN carries the original's headers
        await DrainAsync(agent);

        Assert.Equal(0, await queue.CountAsync());
        Assert.Empty(await remote.Store.ListMessagesAsync("bob@mx.test", "INBOX"));
        var (envelope, dsn) = Assert.Single(notifications.Sent);
        Assert.Equal("alice@example.test", Assert.Single(envelope.Recipients).Address);
        Assert.Contains("Action: failed", dsn);
        Assert.Contains("Final-Recipient: rfc822; bob@mx.test", dsn);
        Assert.Contains("(5.4.7 delivery time expired)", dsn); // after mail.mx.test failed locally, backup.mx.test refused
    }
}
