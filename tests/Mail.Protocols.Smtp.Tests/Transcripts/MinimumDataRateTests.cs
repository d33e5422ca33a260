using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Smtp.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Mail.Protocols.Smtp.Tests.Transcripts;

/// <summary>
/// The minimum data rate over DATA and BDAT (<see cref="MailServerOptions.MinimumDataRate"/>, 240 octets/s after
/// 30 s by default), on the fake clock: a client that drips octets, each well inside the 3-minute data timeout, is
/// cut once its average falls below the floor, with 421 and nothing stored; a client at the floor is not.
/// </summary>
public class MinimumDataRateTests
{
    private const string Alice = "alice@example.test";
    private const string TooSlow = "421 4.4.2 mx.example.test Error: message data arrived too slowly";

    // Sends octets and waits until the server has taken them and armed its deadline anew (the rate deadline moves
    // with every octet received), so the clock is moved only against a deadline that counts them.
    private static async Task SendAndWaitForDeadlineAsync(SmtpTestHarness h, string octets)
    {
        var before = h.Connection.Deadline;
        await h.SendAsync(octets);
        await FakeTimeExtensions.WaitUntilAsync(() => h.Session.IsCompleted || h.Connection.HasDeadline && h.Connection.Deadline != before);
    }

    // Moves the clock one second at a time (the heartbeat's tick) until a deadline expires or the time is used up.
    private static void AdvanceSeconds(SmtpTestHarness h, int seconds)
    {
        for (var i = 0; i < seconds && h.Connection.TimedOut == TimeoutReason.None; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    private static async Task BeginTransactionAsync(SmtpTestHarness h)
    {
        await h.StartAsync();
        Assert.Equal("250 2.1.0 Sender ok", await h.CommandAsync("MAIL FROM:<bob@example.org>"));
        Assert.Equal("250 2.1.5 Recipient ok", await h.CommandAsync("RCPT TO:<alice@example.test>"));
    }

    // 2,400 octets at once earn 10 s past the 30 s grace; then one octet every 15 s (far inside the 3-minute data
    // timeout) earns 1/240 s each, so the floor is missed at 40 s, before the third drip at 45 s.
    private static async Task DripUntilCutAsync(SmtpTestHarness h)
    {
        var start = h.Time.GetUtcNow();
        await SendAndWaitForDeadlineAsync(h, "Subject: drip\r\n\r\n" + new string('x', 2400 - 19) + "\r\n");
        for (var drip = 0; drip < 20 && h.Connection.TimedOut == TimeoutReason.None; drip++)
        {
            AdvanceSeconds(h, 15);
            if (h.Connection.TimedOut == TimeoutReason.None)
            {
                await SendAndWaitForDeadlineAsync(h, "x");
            }
        }
        Assert.Equal(TooSlow, await h.ReadLineAsync());
        Assert.True(await h.EndedAsync());
        Assert.Equal(TimeoutReason.MinimumDataRate, h.Connection.TimedOut);
        var cutAfter = h.Time.GetUtcNow() - start;
        Assert.InRange(cutAfter, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(42));
    }

    [Fact]
    public async Task Data_dripped_inside_the_data_timeout_is_cut_with_421_once_below_the_minimum_rate_and_nothing_is_stored()
    {
        using var meters = new TestMeterFactory();
        using var errors = new MetricCollector<long>(meters, SmtpMetrics.MeterName, "mail.smtp.errors");
        await using var h = new SmtpTestHarness(meterFactory: meters);
        await BeginTransactionAsync(h);
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));

        await DripUntilCutAsync(h);

        Assert.Empty(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        Assert.Equal(0, await h.Queue.CountAsync());
        Assert.Equal(["DataRateTooLow"], errors.GetMeasurementSnapshot().Select(m => (string?)m.Tags["error.type"]));
    }

    [Fact]
    public async Task Bdat_chunk_dripped_inside_the_data_timeout_is_cut_with_421_once_below_the_minimum_rate_and_nothing_is_stored()
    {
        await using var h = new SmtpTestHarness();
        await BeginTransactionAsync(h);
        await h.SendAsync("BDAT 100000 LAST\r\n");

        await DripUntilCutAsync(h);

        Assert.Empty(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        Assert.Equal(0, await h.Queue.CountAsync());
    }

    [Fact]
    public async Task Data_at_the_minimum_rate_is_accepted()
    {
        // Exactly 240 octets each second for 90 seconds, three times the grace period: never behind the floor.
        await using var h = new SmtpTestHarness();
        await BeginTransactionAsync(h);
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        for (var second = 0; second < 90; second++)
        {
            await SendAndWaitForDeadlineAsync(h, new string('x', 238) + "\r\n");
            AdvanceSeconds(h, 1);
        }
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("."));
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        Assert.Equal(TimeoutReason.None, h.Connection.TimedOut);
    }

    [Fact]
    public async Task Bdat_chunk_at_the_minimum_rate_is_accepted()
    {
        await using var h = new SmtpTestHarness();
        await BeginTransactionAsync(h);
        await h.SendAsync("BDAT 21600 LAST\r\n");
        for (var second = 0; second < 90; second++)
        {
            await SendAndWaitForDeadlineAsync(h, new string('x', 238) + "\r\n");
            AdvanceSeconds(h, 1);
        }
        Assert.StartsWith("250 2.0.0 ", await h.ReadLineAsync());
        Assert.Single(await h.Store.ListMessagesAsync(Alice, "INBOX"));
        Assert.Equal(TimeoutReason.None, h.Connection.TimedOut);
    }

    [Fact]
    public async Task A_minimum_rate_of_zero_leaves_only_the_data_timeout()
    {
        await using var h = new SmtpTestHarness(o => o.MinimumDataRate = 0);
        await BeginTransactionAsync(h);
        Assert.StartsWith("354 ", await h.CommandAsync("DATA"));
        for (var drip = 0; drip < 10; drip++)
        {
            AdvanceSeconds(h, 170);
            Assert.False(h.Session.IsCompleted);
            await SendAndWaitForDeadlineAsync(h, "x");
        }
        Assert.StartsWith("250 2.0.0 ", await h.CommandAsync("\r\n."));
    }
}
