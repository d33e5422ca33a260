using Mail.Protocols.Connections;
using Mail.Protocols.Imap.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Imap.Tests.Session;

/// <summary>
/// The minimum data rate over IMAP literals (<see cref="MailServerOptions.MinimumDataRate"/>, 240 octets/s after 30 s
/// by default), on the fake clock: an APPEND message or a literal inside a command dripped an octet at a time, each
/// far inside the 3-minute literal timeout, is cut with an untagged BYE once its average falls below the floor and
/// nothing is stored; a literal at the floor is not cut.
/// </summary>
public sealed class MinimumDataRateTests
{
    private const string TooSlow = "* BYE Literal data arrived too slowly, closing";

    // Sends octets and waits until the server has taken them and armed its deadline anew (the rate deadline moves
    // with every octet received).
    private static async Task SendAndWaitForDeadlineAsync(ImapTestHarness.Client c, string octets)
    {
        var before = c.Connection.Deadline;
        await c.SendAsync(octets);
        await FakeTimeExtensions.WaitUntilAsync(() => c.Session.IsCompleted || c.Connection.HasDeadline && c.Connection.Deadline != before);
    }

    private static void AdvanceSeconds(ImapTestHarness h, ImapTestHarness.Client c, int seconds)
    {
        for (var i = 0; i < seconds && c.Connection.TimedOut == TimeoutReason.None; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    // 2,400 octets earn 10 s past the 30 s grace; then one octet every 15 s: the floor is missed at 40 s.
    private static async Task DripUntilCutAsync(ImapTestHarness h, ImapTestHarness.Client c)
    {
        var start = h.Time.GetUtcNow();
        await SendAndWaitForDeadlineAsync(c, "Subject: drip\r\n\r\n" + new string('x', 2400 - 19) + "\r\n");
        for (var drip = 0; drip < 20 && c.Connection.TimedOut == TimeoutReason.None; drip++)
        {
            AdvanceSeconds(h, c, 15);
            if (c.Connection.TimedOut == TimeoutReason.None)
            {
                await SendAndWaitForDeadlineAsync(c, "x");
            }
        }
        Assert.Equal(TimeoutReason.MinimumDataRate, c.Connection.TimedOut);
        Assert.InRange(h.Time.GetUtcNow() - start, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(42));
        Assert.Equal(TooSlow, await c.ReadLineAsync());
        Assert.True(await c.EndedAsync());
        Assert.Null(await c.ReadLineAsync());
    }

    [Fact]
    public async Task An_append_dripped_inside_the_literal_timeout_is_cut_with_bye_once_below_the_minimum_rate_and_nothing_is_stored()
    {
        using var meters = new TestMeterFactory();
        using var errors = new MetricCollector<long>(meters, ImapMetrics.MeterName, "mail.imap.errors");
        await using var h = new ImapTestHarness(meterFactory: meters);
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {100000}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());

        await DripUntilCutAsync(h, c);

        Assert.Empty(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
        Assert.Equal(["DataRateTooLow"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task A_literal_inside_a_command_dripped_inside_the_literal_timeout_is_cut_with_bye_once_below_the_minimum_rate()
    {
        await using var h = new ImapTestHarness(o => o.MaxCommandSize = 1_000_000);
        var c = await h.LoginAsync();
        await c.SendAsync("a1 CREATE {50000}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());

        await DripUntilCutAsync(h, c);

        Assert.DoesNotContain(await h.Store.ListFoldersAsync(ImapTestHarness.Alice), f => f.Name.StartsWith("Subject", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_append_at_the_minimum_rate_is_stored()
    {
        // Exactly 240 octets each second for 90 seconds, three times the grace period.
        await using var h = new ImapTestHarness();
        var c = await h.LoginAsync();
        await c.SendAsync("a1 APPEND INBOX {21600}\r\n");
        Assert.Equal("+ Ready for literal data", await c.ReadLineAsync());
        for (var second = 0; second < 90; second++)
        {
            await SendAndWaitForDeadlineAsync(c, new string('x', 238) + "\r\n");
            AdvanceSeconds(h, c, 1);
        }
        await c.SendAsync("\r\n");
        Assert.StartsWith("a1 OK [APPENDUID ", await c.ReadLineAsync());
        Assert.Single(await h.Store.ListMessagesAsync(ImapTestHarness.Alice, "INBOX"));
        Assert.Equal(TimeoutReason.None, c.Connection.TimedOut);
    }
}
