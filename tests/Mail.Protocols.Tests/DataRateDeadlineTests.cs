using Mail.Protocols.Connections;

namespace Mail.Protocols.Tests;

/// <summary>The one rule of the minimum data rate (<see cref="DataRateDeadline"/>): how long the next wait may last, and what its expiry means.</summary>
public class DataRateDeadlineTests
{
    private static readonly LiteralReadOptions s_options = new() { Timeout = TimeSpan.FromMinutes(3), MinimumDataRate = 240, GracePeriod = TimeSpan.FromSeconds(30) };

    [Fact]
    public void At_the_start_the_grace_period_is_the_limit()
    {
        Assert.Equal((TimeSpan.FromSeconds(30), TimeoutReason.MinimumDataRate), DataRateDeadline.Allowed(s_options, 0, TimeSpan.Zero, TimeoutReason.MessageData));
    }

    [Fact]
    public void Octets_received_earn_time_at_the_rate_and_past_the_inactivity_limit_that_limit_applies()
    {
        // 2,400 octets earn 10 s: 40 s from the start, 25 s left after 15 s.
        Assert.Equal((TimeSpan.FromSeconds(25), TimeoutReason.MinimumDataRate), DataRateDeadline.Allowed(s_options, 2400, TimeSpan.FromSeconds(15), TimeoutReason.MessageData));
        // 240,000 octets in 10 s earn 1,030 s: the 3-minute wait is the shorter, and its expiry is the transfer's own.
        Assert.Equal((TimeSpan.FromMinutes(3), TimeoutReason.Literal), DataRateDeadline.Allowed(s_options, 240_000, TimeSpan.FromSeconds(10), TimeoutReason.Literal));
    }

    [Fact]
    public void Behind_the_floor_no_wait_is_left()
    {
        Assert.Equal((TimeSpan.Zero, TimeoutReason.MinimumDataRate), DataRateDeadline.Allowed(s_options, 240, TimeSpan.FromSeconds(32), TimeoutReason.MessageData));
    }

    [Fact]
    public void A_rate_of_zero_leaves_the_inactivity_limit_alone_and_the_floor_bounds_an_infinite_one()
    {
        var off = new LiteralReadOptions { Timeout = TimeSpan.FromMinutes(3) };
        Assert.Equal((TimeSpan.FromMinutes(3), TimeoutReason.Literal), DataRateDeadline.Allowed(off, 0, TimeSpan.FromHours(5), TimeoutReason.Literal));
        var infinite = new LiteralReadOptions { Timeout = Timeout.InfiniteTimeSpan, MinimumDataRate = 240, GracePeriod = TimeSpan.FromSeconds(30) };
        Assert.Equal((TimeSpan.FromSeconds(20), TimeoutReason.MinimumDataRate), DataRateDeadline.Allowed(infinite, 0, TimeSpan.FromSeconds(10), TimeoutReason.Literal));
    }

    [Fact]
    public void The_server_options_default_to_240_octets_a_second_after_30_seconds_and_refuse_negative_values()
    {
        var options = new Mail.Protocols.Smtp.SmtpServerOptions();
        Assert.Equal(240, options.MinimumDataRate);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MinimumDataRateGracePeriod);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MinimumDataRate = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MinimumDataRateGracePeriod = TimeSpan.FromSeconds(-1));
    }
}
