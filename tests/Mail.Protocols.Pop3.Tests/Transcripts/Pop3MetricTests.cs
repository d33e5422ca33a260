using Mail.Protocols.Pop3.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Pop3.Tests.Transcripts;

/// <summary>The POP3 instruments, counted exactly on the meter of the test's own server.</summary>
public class Pop3MetricTests
{
    private const string First = "Subject: one\r\n\r\nfirst\r\n";
    private const string Second = "Subject: two\r\n\r\nl1\r\nl2\r\n";

    [Fact]
    public async Task Commands_sessions_and_messages_sent_are_counted_exactly_on_the_servers_own_meter()
    {
        // Other tests' servers, running in parallel, record on other meters.
        using var meters = new TestMeterFactory();
        using var commands = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.commands");
        using var sessions = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.active_sessions");
        using var durations = new MetricCollector<double>(meters, Pop3Metrics.MeterName, "mail.pop3.session.duration");
        using var messages = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.messages.sent");
        using var bytes = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.sent.size");
        await using (var h = new Pop3TestHarness(meterFactory: meters))
        {
            await h.DeliverAsync(First);
            await h.DeliverAsync(Second);
            var c = h.Connect();
            await c.LoginAsync();
            Assert.StartsWith("+OK", await c.CommandAsync("RETR 1"));
            await c.ReadBodyAsync();
            Assert.StartsWith("+OK", await c.CommandAsync("TOP 2 0"));
            await c.ReadBodyAsync();
            Assert.StartsWith("-ERR", await c.CommandAsync("RETR 3"));
            Assert.StartsWith("+OK", await c.CommandAsync("QUIT"));
            Assert.True(await c.EndedAsync());
        }

        Assert.Equal(["USER", "PASS", "RETR", "TOP", "RETR", "QUIT"], commands.GetMeasurementSnapshot().Select(m => (string?)m.Tags["mail.pop3.command"]));
        Assert.Equal([null, null, null, null, "NoSuchMessage", null],
            commands.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("error.type", out var type) ? (string?)type : null));
        Assert.True(Assert.Single(durations.GetMeasurementSnapshot()).Value >= 0);
        Assert.Equal([1L, -1L], sessions.GetMeasurementSnapshot().Select(m => m.Value));
        // RETR 3 sent nothing; TOP counts the message it was taken from.
        Assert.Equal([1L, 1L], messages.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal([(long)First.Length, Second.Length], bytes.GetMeasurementSnapshot().Select(m => m.Value));
    }

    [Fact]
    public async Task Each_refusal_is_counted_once_under_its_error_type_on_the_servers_own_meter()
    {
        using var meters = new TestMeterFactory();
        using var errors = new MetricCollector<long>(meters, Pop3Metrics.MeterName, "mail.pop3.errors");
        await using (var h = new Pop3TestHarness(o => o.AllowPlaintextAuth = false, meterFactory: meters))
        {
            var c = h.Connect();
            await c.ReadLineAsync();
            Assert.Equal("-ERR [AUTH] Authentication requires TLS, use STLS first", await c.CommandAsync("USER alice@example.test"));
            Assert.Equal("-ERR [AUTH] Authentication requires TLS, use STLS first", await c.CommandAsync("AUTH SCRAM-SHA-256"));
            Assert.Equal("-ERR Not logged in", await c.CommandAsync("STAT"));
            Assert.Equal("-ERR Unknown command", await c.CommandAsync("XYZZY"));
            Assert.Equal("-ERR This command takes no arguments", await c.CommandAsync("NOOP now"));
            Assert.StartsWith("+OK", await c.CommandAsync("QUIT"));
            Assert.True(await c.EndedAsync());
        }

        Assert.Equal(["AuthRequiresTls", "AuthRequiresTls", "NotLoggedIn", "UnknownCommand", "TakesNoArguments"],
            errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
        Assert.All(errors.GetMeasurementSnapshot(), m => Assert.Equal(1, m.Value));
    }
}
