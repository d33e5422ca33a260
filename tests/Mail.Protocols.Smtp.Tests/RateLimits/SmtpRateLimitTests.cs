using System.Net;
using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Policy;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Smtp.Telemetry;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using MimeKit;

namespace Mail.Protocols.Smtp.Tests.RateLimits;

/// <summary>
/// The rate limits that count across sessions (SessionRateLimits), over real loopback sockets with the loopback
/// exemption removed, on a fake clock: each refusal's reply, the connection after it, the end of the window or
/// lock-out, and the metrics.
/// </summary>
public class SmtpRateLimitTests
{
    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + login + "\0" + password));

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    internal sealed class Host : IAsyncDisposable
    {
        private Host(SmtpServer server, WatchedTimeProvider time, TestMeterFactory meters, SessionRateLimits limits)
        {
            Server = server;
            Time = time;
            Meters = meters;
            Limits = limits;
        }

        public SmtpServer Server { get; }
        public WatchedTimeProvider Time { get; }
        public TestMeterFactory Meters { get; }
        public SessionRateLimits Limits { get; }
        public IPEndPoint EndPoint => Server.BoundEndPoints[0];

        public static async Task<Host> StartAsync(Action<SessionRateLimitOptions> limits, Action<SmtpServerOptions>? configure = null,
            Func<IUserDirectory, IUserDirectory>? wrapUsers = null, Func<IRecipientPolicy, IRecipientPolicy>? wrapPolicy = null)
        {
            var time = new WatchedTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
            var limitOptions = new SessionRateLimitOptions { ConnectionsPerAddress = null, AuthFailuresPerAddress = null, AuthFailuresPerLogin = null, MessagesPerUser = null };
            limitOptions.ExemptNetworks.Clear(); // the tests connect from loopback
            limits(limitOptions);
            var rateLimits = new SessionRateLimits(limitOptions, time);
            var users = new InMemoryUserDirectory();
            users.AddUser("alice@example.test", "alice");
            users.AddUser("bob@example.test", "bob");
            var directory = wrapUsers is null ? users : wrapUsers(users);
            var policyOptions = new RecipientPolicyOptions();
            policyOptions.LocalDomains.Add("example.test");
            var options = new SmtpServerOptions
            {
                ServerName = "mx.example.test",
                AllowPlaintextAuth = true,
                FailedAuthDelay = TimeSpan.Zero,
                MaxAuthFailures = 100,
                IdleTimeout = TimeSpan.FromDays(1), // the fake clock moves past windows of up to an hour
                RateLimits = rateLimits,
            };
            configure?.Invoke(options);
            var meters = new TestMeterFactory();
            IRecipientPolicy policy = new DefaultRecipientPolicy(policyOptions, users);
            policy = wrapPolicy is null ? policy : wrapPolicy(policy);
            var server = new SmtpServer(options, new SmtpServices(new InMemoryMailboxStore(time), new InMemoryMessageQueue(time), directory, policy),
                [new SmtpEndpoint(new IPEndPoint(IPAddress.Loopback, 0), SmtpRole.Submission)], time, meterFactory: meters);
            await server.StartAsync();
            return new Host(server, time, meters, rateLimits);
        }

        /// <summary>A client past the greeting and EHLO.</summary>
        public async Task<RawLineClient> ConnectAsync()
        {
            var client = await RawLineClient.ConnectAsync(EndPoint);
            Assert.StartsWith("220 mx.example.test", await client.ReadLineAsync());
            Assert.Equal("250 HELP", await client.SayAsync("EHLO client.example.org"));
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Meters.Dispose();
        }
    }

    private static MetricCollector<long> Refused(Host host) => new(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.refused");

    [Fact]
    public async Task Parallel_guesses_from_one_address_get_no_more_password_checks_than_its_limit()
    {
        const int Connections = 5;
        GatedUserDirectory? gated = null;
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerAddress = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            wrapUsers: inner => gated = new GatedUserDirectory(inner));
        var clients = new List<RawLineClient>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                clients.Add(await host.ConnectAsync());
            }
            // The replies are read only once every guess is either at the gate or refused (the server's own count), so
            // no read waits on the gate under a deadline of its own.
            using var refused = Refused(host);
            await Task.WhenAll(clients.Select((c, i) => c.SendAsync("AUTH PLAIN " + Plain(i % 2 == 0 ? "alice@example.test" : "bob@example.test", "guess" + i) + "\r\n")));
            await gated!.WaitUntilCheckedOrRefusedAsync(refused, Connections);
            gated.Gate.SetResult();
            var answers = await Task.WhenAll(clients.Select(c => c.ReadLineAsync())).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(2, gated.Verifications);
            Assert.Equal(2, answers.Count(a => a == "535 5.7.8 Authentication credentials invalid"));
            Assert.Equal(Connections - 2, answers.Count(a => a == "454 4.7.0 Too many failed authentications, try again later"));
            Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await clients[0].CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Parallel_vrfy_of_unknown_addresses_from_one_address_gets_no_more_lookups_than_its_limit()
    {
        const int Connections = 5;
        GatedPolicy? gated = null;
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerAddress = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            o => o.Vrfy = AddressQueryMode.On, wrapPolicy: inner => gated = new GatedPolicy(inner));
        var clients = new List<RawLineClient>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                clients.Add(await host.ConnectAsync());
            }
            using var refused = Refused(host);
            await Task.WhenAll(clients.Select((c, i) => c.SendAsync($"VRFY nobody{i}@example.test\r\n")));
            // Each question is either a lookup waiting at the gate or a refusal the server counted.
            for (var waited = 0; gated!.Lookups + refused.GetMeasurementSnapshot().Count < Connections; waited++)
            {
                Assert.True(waited < 6000, "the questions were neither looked up nor refused within a minute");
                await Task.Delay(10);
            }
            gated.Gate.SetResult();
            var answers = await Task.WhenAll(clients.Select(c => c.ReadLineAsync())).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(2, gated.Lookups);
            Assert.Equal(2, answers.Count(a => a == "550 5.1.1 User unknown"));
            Assert.Equal(Connections - 2, answers.Count(a => a == "450 4.7.1 Too many unknown addresses, try again later"));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    // A policy whose every decision waits for the test's gate, counting the lookups begun.
    private sealed class GatedPolicy(IRecipientPolicy inner) : IRecipientPolicy
    {
        private int _lookups;

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Lookups => Volatile.Read(ref _lookups);

        public async ValueTask<RecipientDecision> EvaluateRecipientAsync(PolicyContext context, string address, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _lookups);
            await Gate.Task.WaitAsync(cancellationToken);
            return await inner.EvaluateRecipientAsync(context, address, cancellationToken);
        }

        public ValueTask<PolicyDecision> EvaluateSenderAsync(PolicyContext context, string reversePath, CancellationToken cancellationToken = default) =>
            inner.EvaluateSenderAsync(context, reversePath, cancellationToken);
    }

    [Fact]
    public async Task Connections_over_the_rate_get_421_4_7_0_and_are_closed_until_the_window_ends()
    {
        await using var host = await Host.StartAsync(o => o.ConnectionsPerAddress = new RateLimit(2, TimeSpan.FromMinutes(1)));
        using var refused = Refused(host);
        using var errors = new MetricCollector<long>(host.Meters, SmtpMetrics.MeterName, "mail.smtp.errors");
        await using var first = await host.ConnectAsync();
        await using var second = await host.ConnectAsync();

        await using (var third = await RawLineClient.ConnectAsync(host.EndPoint))
        {
            Assert.Equal("421 4.7.0 Too many connections from your address, try again later", await third.ReadLineAsync());
            Assert.Equal("", await third.ReadToEndAsync()); // closed cleanly after the reply
        }
        // The connections already open are untouched.
        Assert.Equal("250 2.0.0 OK", await first.CommandAsync("NOOP"));

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await using var fourth = await host.ConnectAsync();
        Assert.Equal("250 2.0.0 OK", await fourth.CommandAsync("NOOP"));

        var measurement = Assert.Single(refused.GetMeasurementSnapshot());
        Assert.Equal("connections_per_address", measurement.Tags["mail.rate_limit"]);
        Assert.Equal("smtp", measurement.Tags["network.protocol.name"]);
        Assert.Equal(["ConnectionRateLimited"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task Failed_auth_from_one_address_locks_it_out_with_454_and_the_right_password_is_refused_until_the_lockout_ends()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(10)));
        using var refused = Refused(host);
        using var lockouts = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.lockouts");
        await using (var a = await host.ConnectAsync())
        {
            Assert.Equal("535 5.7.8 Authentication credentials invalid", await a.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "guess1")));
            Assert.Equal("535 5.7.8 Authentication credentials invalid", await a.CommandAsync("AUTH PLAIN " + Plain("bob@example.test", "guess2")));
        }
        await using var b = await host.ConnectAsync();
        // The third failure, from another connection of the same address, reaches the limit.
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await b.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "guess3")));
        Assert.Empty(refused.GetMeasurementSnapshot());
        Assert.Equal("auth_failures_per_address", Assert.Single(lockouts.GetMeasurementSnapshot()).Tags["mail.rate_limit"]);

        // Locked out: the right password does not get in, for any login, and the session stays usable.
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await b.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("250 2.0.0 OK", await b.CommandAsync("NOOP"));
        Assert.Equal("530 5.7.0 Authentication required", await b.CommandAsync("MAIL FROM:<alice@example.test>"));
        await using var c = await host.ConnectAsync();
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await c.CommandAsync("AUTH PLAIN " + Plain("bob@example.test", "bob")));

        host.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await c.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("235 2.7.0 Authentication successful", await c.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));

        Assert.Equal(3, refused.GetMeasurementSnapshot().Count);
        Assert.All(refused.GetMeasurementSnapshot(), m => Assert.Equal("auth_failures_per_address", m.Tags["mail.rate_limit"]));
    }

    [Fact]
    public async Task Failed_auth_for_one_login_locks_that_login_out_across_mechanisms_while_other_logins_still_get_in()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var refused = Refused(host);
        await using var a = await host.ConnectAsync();
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await a.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "guess1")));
        Assert.Equal("334 VXNlcm5hbWU6", await a.CommandAsync("AUTH LOGIN"));
        Assert.Equal("334 UGFzc3dvcmQ6", await a.CommandAsync(B64("Alice@Example.test")));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await a.CommandAsync(B64("guess2")));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await a.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "guess3")));

        // The login is locked out: its right password is refused without being checked, through every mechanism.
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await a.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal("334 VXNlcm5hbWU6", await a.CommandAsync("AUTH LOGIN"));
        Assert.Equal("334 UGFzc3dvcmQ6", await a.CommandAsync(B64("alice@example.test")));
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await a.CommandAsync(B64("alice")));
        // Another login from the same address is not affected.
        Assert.Equal("235 2.7.0 Authentication successful", await a.CommandAsync("AUTH PLAIN " + Plain("bob@example.test", "bob")));

        host.Time.Advance(TimeSpan.FromMinutes(15));
        await using var b = await host.ConnectAsync();
        Assert.Equal("235 2.7.0 Authentication successful", await b.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        Assert.Equal(2, refused.GetMeasurementSnapshot().Count);
        Assert.All(refused.GetMeasurementSnapshot(), m => Assert.Equal("auth_failures_per_login", m.Tags["mail.rate_limit"]));
    }

    [Fact]
    public async Task Successful_logins_do_not_count_toward_a_lockout()
    {
        await using var host = await Host.StartAsync(o =>
        {
            o.AuthFailuresPerAddress = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
            o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
        });
        for (var i = 0; i < 10; i++)
        {
            await using var client = await host.ConnectAsync();
            Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        }
        await using var last = await host.ConnectAsync();
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await last.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "typo")));
        Assert.Equal("235 2.7.0 Authentication successful", await last.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
    }

    [Fact]
    public async Task Attempts_during_a_lockout_still_cost_the_failure_delay_and_spend_the_sessions_budget()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            o =>
            {
                o.MaxAuthFailures = 3;
                o.FailedAuthDelay = TimeSpan.FromSeconds(2);
            });
        await using var client = await host.ConnectAsync();
        var delay = TimeSpan.FromSeconds(2);
        var timer = host.Time.NextTimerAsync(delay);
        var guess = client.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "guess"));
        Assert.Equal("535 5.7.8 Authentication credentials invalid", await host.Time.AssertDelayedAsync(timer, guess, delay));
        // Brute force stays slowed during the lock-out: each refusal waits the delay, and the per-connection cap holds.
        timer = host.Time.NextTimerAsync(delay);
        var attempt = client.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice"));
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await host.Time.AssertDelayedAsync(timer, attempt, delay));
        timer = host.Time.NextTimerAsync(delay);
        var last = client.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice"));
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await host.Time.AssertDelayedAsync(timer, last, delay));
        Assert.Equal("421 4.7.0 mx.example.test Error: too many authentication failures", await client.ReadLineAsync());
        Assert.Equal("", await client.ReadToEndAsync());
    }

    [Fact]
    public async Task Messages_per_user_are_refused_at_MAIL_FROM_with_451_4_7_1_and_counted_only_when_accepted()
    {
        await using var host = await Host.StartAsync(o => o.MessagesPerUser = new RateLimit(2, TimeSpan.FromHours(1)));
        using var refused = Refused(host);
        using var errors = new MetricCollector<long>(host.Meters, SmtpMetrics.MeterName, "mail.smtp.errors");
        await using var client = await host.ConnectAsync();
        Assert.Equal("235 2.7.0 Authentication successful", await client.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));
        // An abandoned transaction costs nothing.
        Assert.Equal("250 2.1.0 Sender ok", await client.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("250 2.0.0 OK", await client.CommandAsync("RSET"));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("250 2.1.0 Sender ok", await client.CommandAsync("MAIL FROM:<alice@example.test>"));
            Assert.Equal("250 2.1.5 Recipient ok", await client.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("354 ", await client.CommandAsync("DATA"));
            Assert.StartsWith("250 2.0.0 ", await client.CommandAsync("Subject: " + i + "\r\n\r\nhello\r\n."));
        }
        Assert.Equal("451 4.7.1 Too many messages from this user, try again later", await client.CommandAsync("MAIL FROM:<alice@example.test>"));
        // Refused before any body is sent; the session goes on.
        Assert.Equal("503 5.5.1 Error: need MAIL command", await client.CommandAsync("RCPT TO:<bob@example.test>"));
        Assert.Equal("250 2.0.0 OK", await client.CommandAsync("NOOP"));

        host.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal("250 2.1.0 Sender ok", await client.CommandAsync("MAIL FROM:<alice@example.test>"));
        Assert.Equal("messages_per_user", Assert.Single(refused.GetMeasurementSnapshot()).Tags["mail.rate_limit"]);
        Assert.Contains("MessageRateLimited", errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task MailKit_sees_the_message_limit_as_a_transient_451_at_MAIL_FROM()
    {
        await using var host = await Host.StartAsync(o => o.MessagesPerUser = new RateLimit(1, TimeSpan.FromHours(1)));
        using var client = new SmtpClient { LocalDomain = "client.example.org", Timeout = 60_000 };
        await client.ConnectAsync(host.EndPoint.Address.ToString(), host.EndPoint.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("alice@example.test", "alice");
        MimeMessage Message()
        {
            var message = new MimeMessage();
            message.From.Add(MailboxAddress.Parse("alice@example.test"));
            message.To.Add(MailboxAddress.Parse("bob@example.test"));
            message.Subject = "hello";
            message.Body = new TextPart("plain") { Text = "hello" };
            return message;
        }
        await client.SendAsync(Message());
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(Message()));
        Assert.Equal(SmtpErrorCode.SenderNotAccepted, error.ErrorCode);
        Assert.Equal(451, (int)error.StatusCode);
        // The connection is still good for other commands.
        await client.NoOpAsync();
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task MailKit_sees_a_refused_connection_as_421_service_not_available()
    {
        await using var host = await Host.StartAsync(o => o.ConnectionsPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1)));
        await using var first = await host.ConnectAsync();
        using var client = new SmtpClient { LocalDomain = "client.example.org", Timeout = 60_000 };
        var error = await Assert.ThrowsAsync<SmtpCommandException>(() => client.ConnectAsync(host.EndPoint.Address.ToString(), host.EndPoint.Port, SecureSocketOptions.None));
        Assert.Equal(SmtpStatusCode.ServiceNotAvailable, error.StatusCode);
        Assert.False(client.IsConnected);
    }
}
