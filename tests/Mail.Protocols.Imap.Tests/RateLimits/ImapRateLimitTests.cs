using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Mail.Protocols.Imap.Telemetry;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Telemetry;
using Mail.Protocols.Users;
using MailKit.Net.Imap;
using MailKit.Security;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Imap.Tests.RateLimits;

/// <summary>
/// The rate limits that count across sessions (SessionRateLimits) in IMAP, and shared by the servers of one MailHost,
/// over real loopback sockets with the loopback exemption removed, on a fake clock. RFC 5530 UNAVAILABLE: temporary.
/// </summary>
public class ImapRateLimitTests
{
    private const string Locked = "NO [UNAVAILABLE] Too many failed logins, try again later";

    private static SessionRateLimitOptions Limits(Action<SessionRateLimitOptions> configure)
    {
        var options = new SessionRateLimitOptions { ConnectionsPerAddress = null, AuthFailuresPerAddress = null, AuthFailuresPerLogin = null, MessagesPerUser = null };
        options.ExemptNetworks.Clear(); // the tests connect from loopback
        configure(options);
        return options;
    }

    private sealed class Host : IAsyncDisposable
    {
        private Host(ImapServer server, WatchedTimeProvider time, TestMeterFactory meters)
        {
            Server = server;
            Time = time;
            Meters = meters;
        }

        public ImapServer Server { get; }
        public WatchedTimeProvider Time { get; }
        public TestMeterFactory Meters { get; }
        public SessionRateLimits? Limits { get; private init; }
        public IPEndPoint EndPoint => Server.BoundEndPoints[0];

        public static async Task<Host> StartAsync(Action<SessionRateLimitOptions> limits, Action<ImapServerOptions>? configure = null,
            Func<InMemoryUserDirectory, IUserDirectory>? wrapUsers = null)
        {
            var time = new WatchedTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
            var directory = new InMemoryUserDirectory();
            directory.AddUser("alice@example.test", "alice");
            directory.AddUser("bob@example.test", "bob");
            var users = wrapUsers is null ? directory : wrapUsers(directory);
            var options = new ImapServerOptions
            {
                ServerName = "imap.example.test",
                AllowPlaintextAuth = true,
                FailedAuthDelay = TimeSpan.Zero,
                MaxAuthFailures = 100,
                // The fake clock moves past lock-outs.
                LoginTimeout = TimeSpan.FromDays(1),
                IdleTimeout = TimeSpan.FromDays(1),
                RateLimits = new SessionRateLimits(Limits(limits), time),
            };
            configure?.Invoke(options);
            var meters = new TestMeterFactory();
            var server = new ImapServer(options, new ImapServices(new InMemoryMailboxStore(time), users), [new ImapEndpoint(new IPEndPoint(IPAddress.Loopback, 0))], time, meterFactory: meters);
            await server.StartAsync();
            return new Host(server, time, meters) { Limits = options.RateLimits };
        }

        public async Task<RawLineClient> ConnectAsync()
        {
            var client = await RawLineClient.ConnectAsync(EndPoint);
            Assert.StartsWith("* OK [CAPABILITY ", await client.ReadLineAsync());
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Meters.Dispose();
        }
    }

    private static string Plain(string login, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + login + "\0" + password));

    [Fact]
    public async Task Connections_over_the_rate_get_BYE_UNAVAILABLE_and_are_closed_until_the_window_ends()
    {
        await using var host = await Host.StartAsync(o => o.ConnectionsPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1)));
        using var refused = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.refused");
        using var errors = new MetricCollector<long>(host.Meters, ImapMetrics.MeterName, "mail.imap.errors");
        await using var first = await host.ConnectAsync();
        await using (var second = await RawLineClient.ConnectAsync(host.EndPoint))
        {
            Assert.Equal("* BYE [UNAVAILABLE] Too many connections from your address, try again later", await second.ReadLineAsync());
            Assert.Equal("", await second.ReadToEndAsync());
        }
        Assert.Equal("a1 OK NOOP completed", await first.CommandAsync("a1 NOOP"));
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await using var third = await host.ConnectAsync();
        Assert.StartsWith("a1 OK [CAPABILITY ", await third.CommandAsync("a1 LOGIN alice@example.test alice"));
        var measurement = Assert.Single(refused.GetMeasurementSnapshot());
        Assert.Equal("connections_per_address", measurement.Tags["mail.rate_limit"]);
        Assert.Equal("imap", measurement.Tags["network.protocol.name"]);
        Assert.Equal(["ConnectionRateLimited"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task Failed_logins_lock_the_login_out_and_LOGIN_and_AUTHENTICATE_get_NO_UNAVAILABLE_even_with_the_right_password_until_it_ends()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var lockouts = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.lockouts");
        await using var client = await host.ConnectAsync();
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a1 LOGIN alice@example.test guess1"));
        Assert.Equal("a2 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a2 AUTHENTICATE PLAIN " + Plain("alice@example.test", "guess2")));
        Assert.Equal("a3 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a3 LOGIN Alice@example.test guess3"));
        Assert.Equal("auth_failures_per_login", Assert.Single(lockouts.GetMeasurementSnapshot()).Tags["mail.rate_limit"]);

        Assert.Equal("a4 " + Locked, await client.CommandAsync("a4 LOGIN alice@example.test alice"));
        Assert.Equal("a5 " + Locked, await client.CommandAsync("a5 AUTHENTICATE PLAIN " + Plain("alice@example.test", "alice")));
        // The session is healthy and still not authenticated; another login gets in.
        Assert.Equal("a6 BAD Command not valid before login", await client.CommandAsync("a6 SELECT INBOX"));
        await using (var bob = await host.ConnectAsync())
        {
            Assert.StartsWith("b1 OK [CAPABILITY ", await bob.CommandAsync("b1 LOGIN bob@example.test bob"));
        }

        host.Time.Advance(TimeSpan.FromMinutes(15));
        Assert.StartsWith("a7 OK [CAPABILITY ", await client.CommandAsync("a7 LOGIN alice@example.test alice"));
    }

    [Fact]
    public async Task Login_brute_force_is_slowed_per_failure_capped_per_connection_and_then_across_connections()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(4, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            o =>
            {
                o.FailedAuthDelay = TimeSpan.FromSeconds(2);
                o.MaxAuthFailures = 3;
            });
        var delay = TimeSpan.FromSeconds(2);
        await using (var first = await host.ConnectAsync())
        {
            for (var i = 1; i <= 2; i++)
            {
                var timer = host.Time.NextTimerAsync(delay);
                var reply = first.CommandAsync($"a{i} LOGIN alice@example.test guess{i}");
                Assert.Equal($"a{i} NO [AUTHENTICATIONFAILED] Authentication failed", await host.Time.AssertDelayedAsync(timer, reply, delay));
            }
            var lastTimer = host.Time.NextTimerAsync(delay);
            var last = first.CommandAsync("a3 LOGIN alice@example.test guess3");
            Assert.Equal("a3 NO [AUTHENTICATIONFAILED] Authentication failed", await host.Time.AssertDelayedAsync(lastTimer, last, delay));
            // The third failure on one connection closes it.
            Assert.Equal("* BYE [AUTHENTICATIONFAILED] Too many failed logins, closing", await first.ReadLineAsync());
            Assert.Equal("", await first.ReadToEndAsync());
        }
        await using var second = await host.ConnectAsync();
        var fourth = second.CommandAsync("b1 LOGIN alice@example.test guess4");
        Assert.Equal("b1 NO [AUTHENTICATIONFAILED] Authentication failed", await host.Time.AdvanceUntilDoneAsync(fourth, delay));
        // A new connection does not start the count again: the login is now locked out across connections.
        var right = second.CommandAsync("b2 LOGIN alice@example.test alice");
        Assert.Equal("b2 " + Locked, await host.Time.AdvanceUntilDoneAsync(right, delay));
    }

    [Theory]
    [InlineData("LOGIN")]
    [InlineData("AUTHENTICATE")]
    public async Task Parallel_guesses_at_one_login_get_no_more_password_checks_than_the_limit(string command)
    {
        const int Connections = 6;
        GatedUserDirectory? gated = null;
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            wrapUsers: inner => gated = new GatedUserDirectory(inner));
        var clients = new List<RawLineClient>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                clients.Add(await host.ConnectAsync());
            }
            // Every connection guesses at the same moment; the checks that get through wait at the gate, so none has
            // failed (and been counted) when the others ask. The replies are read only once every guess is either at the
            // gate or refused (the server's own count), so no read waits on the gate under a deadline of its own.
            using var refused = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.refused");
            await Task.WhenAll(clients.Select((c, i) => c.SendAsync((command == "LOGIN"
                ? $"a{i} LOGIN alice@example.test guess{i}"
                : $"a{i} AUTHENTICATE PLAIN " + Plain("alice@example.test", "guess" + i)) + "\r\n")));
            await gated!.WaitUntilCheckedOrRefusedAsync(refused, Connections);
            gated.Gate.SetResult();
            var answers = await Task.WhenAll(clients.Select(c => c.ReadLineAsync())).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(2, gated.Verifications);
            Assert.Equal(2, answers.Count(a => a.EndsWith(" NO [AUTHENTICATIONFAILED] Authentication failed", StringComparison.Ordinal)));
            Assert.Equal(Connections - 2, answers.Count(a => a.EndsWith(" " + Locked, StringComparison.Ordinal)));
            // The two failures reached the limit: the login is locked out now, even with the right password.
            Assert.Equal("b1 " + Locked, await clients[0].CommandAsync("b1 LOGIN alice@example.test alice"));
            Assert.Equal(2, gated.Verifications);
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
    public async Task An_exchange_in_flight_holds_its_logins_slot_and_a_connection_closed_mid_exchange_gives_it_back_uncounted()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var active = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.connections.active");
        var first = await host.ConnectAsync();
        await using var second = await host.ConnectAsync();
        // SCRAM looks the login up on the client's first message and answers with a challenge: the slot is held.
        var clientFirst = Convert.ToBase64String(Encoding.UTF8.GetBytes("n,,n=alice@example.test,r=rOprNGfwEbeRWgbNEkqO"));
        Assert.StartsWith("+ ", await first.CommandAsync("a1 AUTHENTICATE SCRAM-SHA-256 " + clientFirst));
        Assert.Equal("b1 " + Locked, await second.CommandAsync("b1 LOGIN alice@example.test alice"));
        // The first client goes away mid-exchange: nothing counted, the slot is free again.
        await first.DisposeAsync();
        await active.WaitForMeasurementsAsync(3).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.StartsWith("b2 OK [CAPABILITY ", await second.CommandAsync("b2 LOGIN alice@example.test alice"));
    }

    // Finds a user by a second spelling too (an alias), as a directory may.
    private sealed class AliasingUserDirectory(IUserDirectory inner) : IUserDirectory
    {
        public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
            inner.FindByLoginAsync(string.Equals(login, "al", StringComparison.OrdinalIgnoreCase) ? "alice@example.test" : login, cancellationToken);
        public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) => inner.FindByAddressAsync(address, cancellationToken);
        public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) => inner.VerifyPasswordAsync(user, password, cancellationToken);
        public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetSharedSecretAsync(user, cancellationToken);

        public bool HasSharedSecrets => inner.HasSharedSecrets;
        public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) => inner.GetScramCredentialAsync(user, cancellationToken);
    }

    [Fact]
    public async Task Failures_under_every_spelling_of_one_user_count_against_that_users_login()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)),
            wrapUsers: inner => new AliasingUserDirectory(inner));
        await using var client = await host.ConnectAsync();
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a1 LOGIN al guess1"));
        Assert.Equal("a2 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a2 AUTHENTICATE PLAIN " + Plain("al", "guess2")));
        Assert.Equal("a3 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a3 LOGIN alice@example.test guess3"));
        // Three failures of alice's under two spellings: alice is locked out under both.
        Assert.Equal("a4 " + Locked, await client.CommandAsync("a4 LOGIN alice@example.test alice"));
        Assert.Equal("a5 " + Locked, await client.CommandAsync("a5 LOGIN al alice"));
        Assert.Equal("a6 " + Locked, await client.CommandAsync("a6 AUTHENTICATE PLAIN " + Plain("al", "alice")));
        // An unknown login is charged as typed.
        Assert.Equal("a7 NO [AUTHENTICATIONFAILED] Authentication failed", await client.CommandAsync("a7 LOGIN nobody guess"));
        Assert.Equal(2, host.Limits!.AuthFailuresPerLogin.GetStatistics("nobody")!.CurrentAvailablePermits);
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
            Assert.StartsWith("a1 OK [CAPABILITY ", await client.CommandAsync("a1 LOGIN alice@example.test alice"));
        }
        await using var last = await host.ConnectAsync();
        Assert.Equal("a1 NO [AUTHENTICATIONFAILED] Authentication failed", await last.CommandAsync("a1 LOGIN alice@example.test typo"));
        Assert.StartsWith("a2 OK [CAPABILITY ", await last.CommandAsync("a2 LOGIN alice@example.test alice"));
    }

    [Fact]
    public async Task Pop3_imap_and_smtp_of_one_MailHost_share_one_limiter_so_failures_count_together()
    {
        var time = new WatchedTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        using var meters = new TestMeterFactory();
        // Each server of the host has a core meter of its own from the factory; a MetricCollector follows only one.
        var lockouts = new List<string>();
        var refused = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Meter.Name == CoreMetrics.MeterName && instrument.Name.StartsWith("mail.rate_limit.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
        {
            var tagList = tags.ToArray();
            var text = tagList.First(t => t.Key == "network.protocol.name").Value + " " + tagList.First(t => t.Key == "mail.rate_limit").Value;
            lock (refused)
            {
                (instrument.Name == "mail.rate_limit.lockouts" ? lockouts : refused).Add(text);
            }
        });
        listener.Start();
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = 0, SmtpsPort = null, Pop3Port = 0, Pop3sPort = null, ImapPort = 0, ImapsPort = null,
            ServerName = "mail.example.test", AllowPlaintextAuth = true, TimeProvider = time, MeterFactory = meters,
            RateLimits = new SessionRateLimits(Limits(o => o.AuthFailuresPerAddress = new RateLimit(4, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15))), time),
        };
        options.Domains.Add("example.test");
        options.Users.Add(("alice@example.test", "alice"));
        options.Smtp.FailedAuthDelay = options.Pop3.FailedAuthDelay = options.Imap.FailedAuthDelay = TimeSpan.Zero;
        await using var host = new MailHost(options);
        await host.StartAsync();

        await using var pop3 = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        Assert.StartsWith("+OK", await pop3.ReadLineAsync());
        await using var imap = await RawLineClient.ConnectAsync(host.EndPoints["imap"]);
        Assert.StartsWith("* OK", await imap.ReadLineAsync());
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("+OK", await pop3.CommandAsync("USER alice@example.test"));
            Assert.Equal("-ERR [AUTH] Authentication failed", await pop3.CommandAsync("PASS guess" + i));
            Assert.Equal($"i{i} NO [AUTHENTICATIONFAILED] Authentication failed", await imap.CommandAsync($"i{i} LOGIN alice@example.test guess{i}"));
        }
        // Two failures in each protocol make the four that lock the address out of all three.
        Assert.Equal("i9 " + Locked, await imap.CommandAsync("i9 LOGIN alice@example.test alice"));
        Assert.Equal("+OK", await pop3.CommandAsync("USER alice@example.test"));
        Assert.Equal("-ERR [SYS/TEMP] Too many failed logins, try again later", await pop3.CommandAsync("PASS alice"));
        await using var smtp = await RawLineClient.ConnectAsync(host.EndPoints["submission"]);
        Assert.StartsWith("220 ", await smtp.ReadLineAsync());
        Assert.Equal("250 HELP", await smtp.SayAsync("EHLO client.example.org"));
        Assert.Equal("454 4.7.0 Too many failed authentications, try again later", await smtp.CommandAsync("AUTH PLAIN " + Plain("alice@example.test", "alice")));

        Assert.Equal(["imap auth_failures_per_address"], lockouts);
        Assert.Equal(["imap auth_failures_per_address", "pop3 auth_failures_per_address", "smtp auth_failures_per_address"], refused);
    }

    [Fact]
    public async Task MailKit_sees_a_login_lockout_as_an_authentication_refusal_it_reports_with_the_servers_text()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var client = new ImapClient { Timeout = 60_000 };
        await client.ConnectAsync(host.EndPoint.Address.ToString(), host.EndPoint.Port, SecureSocketOptions.None);
        client.AuthenticationMechanisms.Clear(); // LOGIN: one attempt per call
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice@example.test", "guess"));
        var locked = await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice@example.test", "alice"));
        Assert.Contains("Too many failed logins, try again later", locked.Message);
        Assert.True(client.IsConnected);
        await client.DisconnectAsync(true);
    }
}
