using Mail.Protocols.Imap.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>The IMAP instruments, counted exactly on the meter of the test's own server.</summary>
public sealed class ImapMetricTests
{
    [Fact]
    public async Task Commands_sessions_refusals_and_appended_octets_are_counted_on_the_servers_own_meter()
    {
        using var meters = new TestMeterFactory();
        using var commands = new MetricCollector<long>(meters, ImapMetrics.MeterName, "mail.imap.commands");
        using var sessions = new MetricCollector<long>(meters, ImapMetrics.MeterName, "mail.imap.active_sessions");
        using var durations = new MetricCollector<double>(meters, ImapMetrics.MeterName, "mail.imap.session.duration");
        using var errors = new MetricCollector<long>(meters, ImapMetrics.MeterName, "mail.imap.errors");
        using var appended = new MetricCollector<long>(meters, ImapMetrics.MeterName, "mail.imap.appended.size");
        await using (var h = new ImapTestHarness(meterFactory: meters))
        {
            var c = await h.LoginAsync();
            await c.SendAsync("a1 APPEND INBOX {6+}\r\nx: y\r\n\r\n");
            Assert.StartsWith("a1 OK [APPENDUID ", await c.ReadLineAsync());
            Assert.Equal(["a2 NO [NONEXISTENT] No such mailbox"], await c.CommandAsync("a2", "SELECT Nowhere"));
            Assert.Equal(["a3 BAD Unknown command"], await c.CommandAsync("a3", "XYZZY"));
            await c.CommandAsync("a4", "SELECT INBOX");
            await c.CommandAsync("a5", "UID FETCH 1 FLAGS");
            Assert.StartsWith("a6 BAD ", Assert.Single(await c.CommandAsync("a6", "FETCH x FLAGS")));
            await c.CommandAsync("a7", "LOGOUT");
            Assert.True(await c.EndedAsync());
        }

        Assert.Equal(["LOGIN", "APPEND", "SELECT", "UNKNOWN", "SELECT", "UID FETCH", "FETCH", "LOGOUT"],
            commands.GetMeasurementSnapshot().Select(m => (string?)m.Tags["mail.imap.command"]));
        Assert.Equal([null, null, "MailboxNotFound", "UnknownCommand", null, null, "SyntaxError", null],
            commands.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("error.type", out var type) ? (string?)type : null));
        Assert.True(Assert.Single(durations.GetMeasurementSnapshot()).Value >= 0);
        Assert.Equal([1L, -1L], sessions.GetMeasurementSnapshot().Select(m => m.Value));
        Assert.Equal(["MailboxNotFound", "UnknownCommand", "SyntaxError"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
        Assert.Equal([6L], appended.GetMeasurementSnapshot().Select(m => m.Value));
    }
}
