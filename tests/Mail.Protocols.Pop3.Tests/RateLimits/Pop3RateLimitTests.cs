using System.Net;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Pop3.Telemetry;
using Mail.Protocols.RateLimits;
using Mail.Protocols.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Pop3.Tests.RateLimits;

/// <summary>
/// The rate limits that count across sessions (SessionRateLimits) in POP3, over real loopback sockets with the loopback
/// exemption removed, on a fake clock. RFC 3206 [SYS/TEMP]: the credentials were not checked, try again later.
/// </summary>
public class Pop3RateLimitTests
{
    private const string Locked = "-ERR [SYS/TEMP] Too many failed logins, try again later";

    private sealed class Host : IAsyncDisposable
    {
        private Host(Pop3Server server, WatchedTimeProvider time, TestMeterFactory meters)
        {
            Server = server;
            Time = time;
            Meters = meters;
        }

        public Pop3Server Server { get; }
        public WatchedTimeProvider Time { get; }
        public TestMeterFactory Meters { get; }
        public IPEndPoint EndPoint => Server.BoundEndPoints[0];

        public static async Task<Host> StartAsync(Action<SessionRateLimitOptions> limits)
        {
            var time = new WatchedTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
            var limitOptions = new SessionRateLimitOptions { ConnectionsPerAddress = null, AuthFailuresPerAddress = null, AuthFailuresPerLogin = null, MessagesPerUser = null };
            limitOptions.ExemptNetworks.Clear(); // the tests connect from loopback
            limits(limitOptions);
            var users = new InMemoryUserDirectory();
            users.AddUser("alice@example.test", "alice");
            users.AddUser("bob@example.test", "bob");
            var options = new Pop3ServerOptions
            {
                ServerName = "pop.example.test",
                AllowPlaintextAuth = true,
                EnableApop = true,
                FailedAuthDelay = TimeSpan.Zero,
                MaxAuthFailures = 100,
                IdleTimeout = TimeSpan.FromDays(1), // the fake clock moves past lock-outs
                RateLimits = new SessionRateLimits(limitOptions, time),
            };
            var meters = new TestMeterFactory();
            var server = new Pop3Server(options, new Pop3Services(new InMemoryMailboxStore(time), users), [new Pop3Endpoint(new IPEndPoint(IPAddress.Loopback, 0))], time, meterFactory: meters);
            await server.StartAsync();
            return new Host(server, time, meters);
        }

        /// <summary>A client past the greeting; returns it with the greeting's APOP timestamp.</summary>
        public async Task<(RawLineClient Client, string Timestamp)> ConnectAsync()
        {
            var client = await RawLineClient.ConnectAsync(EndPoint);
            var greeting = await client.ReadLineAsync();
            Assert.StartsWith("+OK pop.example.test POP3 ready <", greeting);
            return (client, greeting[greeting.IndexOf('<', StringComparison.Ordinal)..]);
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Meters.Dispose();
        }
    }

    private static async Task<string> PassAsync(RawLineClient client, string user, string password)
    {
        Assert.Equal("+OK", await client.CommandAsync("USER " + user));
        return await client.CommandAsync("PASS " + password);
    }

    private static string Apop(string timestamp, string user, string secret) =>
#pragma warning disable CA5351 // APOP is MD5 (RFC 1939 §7)
        $"APOP {user} {Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(timestamp + secret)))}";
#pragma warning restore CA5351

    [Fact]
    public async Task Connections_over_the_rate_get_ERR_SYS_TEMP_and_are_closed_until_the_window_ends()
    {
        await using var host = await Host.StartAsync(o => o.ConnectionsPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1)));
        using var refused = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.refused");
        using var errors = new MetricCollector<long>(host.Meters, Pop3Metrics.MeterName, "mail.pop3.errors");
        var (first, _) = await host.ConnectAsync();
        await using (first)
        {
            await using (var second = await RawLineClient.ConnectAsync(host.EndPoint))
            {
                Assert.Equal("-ERR [SYS/TEMP] Too many connections from your address, try again later", await second.ReadLineAsync());
                Assert.Equal("", await second.ReadToEndAsync());
            }
            Assert.Equal("+OK", await first.CommandAsync("USER alice@example.test"));
        }
        host.Time.Advance(TimeSpan.FromMinutes(1));
        var (third, _) = await host.ConnectAsync();
        await using (third)
        {
            Assert.StartsWith("+OK", await PassAsync(third, "alice@example.test", "alice"));
        }
        var measurement = Assert.Single(refused.GetMeasurementSnapshot());
        Assert.Equal("connections_per_address", measurement.Tags["mail.rate_limit"]);
        Assert.Equal("pop3", measurement.Tags["network.protocol.name"]);
        Assert.Equal(["ConnectionRateLimited"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task Failed_logins_lock_the_address_out_and_USER_PASS_APOP_and_AUTH_get_SYS_TEMP_even_with_the_right_password_until_it_ends()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var lockouts = new MetricCollector<long>(host.Meters, CoreMetrics.MeterName, "mail.rate_limit.lockouts");
        var (client, timestamp) = await host.ConnectAsync();
        await using (client)
        {
            Assert.Equal("-ERR [AUTH] Authentication failed", await PassAsync(client, "alice@example.test", "guess1"));
            Assert.Equal("-ERR [AUTH] Authentication failed", await client.CommandAsync(Apop(timestamp, "bob@example.test", "guess2")));
            Assert.Equal("-ERR [AUTH] Authentication failed", await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0guess3"u8.ToArray())));
            Assert.Equal("auth_failures_per_address", Assert.Single(lockouts.GetMeasurementSnapshot()).Tags["mail.rate_limit"]);

            Assert.Equal(Locked, await PassAsync(client, "alice@example.test", "alice"));
            Assert.Equal(Locked, await client.CommandAsync(Apop(timestamp, "alice@example.test", "alice")));
            Assert.Equal(Locked, await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String("\0bob@example.test\0bob"u8.ToArray())));
            // Still in AUTHORIZATION, and the session goes on.
            Assert.Equal("-ERR Not logged in", await client.CommandAsync("STAT"));
        }
        host.Time.Advance(TimeSpan.FromMinutes(15));
        var (later, _) = await host.ConnectAsync();
        await using (later)
        {
            Assert.Equal("+OK alice@example.test has 0 message(s)", await PassAsync(later, "alice@example.test", "alice"));
        }
    }

    [Fact]
    public async Task Failed_logins_for_one_login_lock_it_out_through_sasl_too_while_other_logins_get_in()
    {
        await using var host = await Host.StartAsync(o => o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        var (client, _) = await host.ConnectAsync();
        await using (client)
        {
            Assert.Equal("-ERR [AUTH] Authentication failed", await PassAsync(client, "alice@example.test", "guess1"));
            Assert.Equal("+ ", await client.CommandAsync("AUTH PLAIN"));
            Assert.Equal("-ERR [AUTH] Authentication failed", await client.CommandAsync(Convert.ToBase64String("\0ALICE@example.test\0guess2"u8.ToArray())));
            Assert.Equal("+ ", await client.CommandAsync("AUTH PLAIN"));
            Assert.Equal(Locked, await client.CommandAsync(Convert.ToBase64String("\0alice@example.test\0alice"u8.ToArray())));
            Assert.Equal("+OK bob@example.test has 0 message(s)", await PassAsync(client, "bob@example.test", "bob"));
        }
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
            var (client, _) = await host.ConnectAsync();
            await using (client)
            {
                Assert.StartsWith("+OK", await PassAsync(client, "alice@example.test", "alice"));
                Assert.StartsWith("+OK", await client.CommandAsync("QUIT"));
            }
        }
        var (last, _) = await host.ConnectAsync();
        await using (last)
        {
            Assert.Equal("-ERR [AUTH] Authentication failed", await PassAsync(last, "alice@example.test", "typo"));
            Assert.StartsWith("+OK alice@example.test", await PassAsync(last, "alice@example.test", "alice"));
        }
    }
}
