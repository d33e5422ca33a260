using System.Net;
using System.Threading.RateLimiting;
using Mail.Protocols.RateLimits;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Tests.RateLimits;

/// <summary>The limiters of <see cref="SessionRateLimits"/> alone, on a fake clock: keys, windows, lock-outs, memory.</summary>
public class SessionRateLimitsTests
{

    private static (SessionRateLimits Limits, FakeTimeProvider Time) Create(Action<SessionRateLimitOptions> configure)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
        var options = new SessionRateLimitOptions();
        configure(options);
        return (new SessionRateLimits(options, time), time);
    }

    private static IPEndPoint At(string address) => new(IPAddress.Parse(address), 40000);

    [Fact]
    public void Addresses_in_one_ipv6_64_share_a_budget_and_the_next_64_has_its_own()
    {
        var (limits, _) = Create(o => o.ConnectionsPerAddress = new RateLimit(2, TimeSpan.FromMinutes(1)));
        Assert.True(limits.TryConnect(At("2001:db8:1:2::1")));
        Assert.True(limits.TryConnect(At("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        // A third address of the same /64 is the same attacker.
        Assert.False(limits.TryConnect(At("2001:db8:1:2:1234::99")));
        Assert.True(limits.TryConnect(At("2001:db8:1:3::1")));
        Assert.Equal(2, limits.TrackedKeys(SessionRateLimit.ConnectionsPerAddress));
    }

    [Fact]
    public void An_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address()
    {
        var (limits, _) = Create(o => o.ConnectionsPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1)));
        Assert.True(limits.TryConnect(At("192.0.2.7")));
        Assert.False(limits.TryConnect(At("::ffff:192.0.2.7")));
        Assert.True(limits.TryConnect(At("192.0.2.8")));
    }

    [Fact]
    public void Loopback_is_exempt_from_the_per_address_limits_by_default_but_not_from_the_per_login_limit()
    {
        var (limits, _) = Create(o =>
        {
            o.ConnectionsPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1));
            o.AuthFailuresPerAddress = new RateLimit(1, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        });
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limits.TryConnect(At("127.0.0.1")));
            Assert.True(limits.TryConnect(At("::1")));
        }
        limits.AuthFailed(At("127.0.0.1"), "alice@example.test");
        Assert.Null(limits.AuthLockedOut(At("127.0.0.1"), null));
        limits.AuthFailed(At("127.0.0.1"), "alice@example.test");
        Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, limits.AuthLockedOut(At("127.0.0.1"), "alice@example.test"));
    }

    [Fact]
    public void A_lockout_starts_at_the_limit_and_ends_after_its_duration_on_the_clock()
    {
        var (limits, time) = Create(o => o.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(10)));
        var client = At("198.51.100.1");
        Assert.Equal((false, false), limits.AuthFailed(client, null));
        Assert.Equal((false, false), limits.AuthFailed(client, null));
        Assert.Null(limits.AuthLockedOut(client, null));
        // The third failure reaches the limit: locked out at once, before any fourth guess is checked.
        Assert.Equal((true, false), limits.AuthFailed(client, null));
        Assert.Equal(SessionRateLimit.AuthFailuresPerAddress, limits.AuthLockedOut(client, null));
        time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Equal(SessionRateLimit.AuthFailuresPerAddress, limits.AuthLockedOut(client, null));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(limits.AuthLockedOut(client, null));
        // And it starts afresh: three more failures to the next lock-out.
        Assert.Equal((false, false), limits.AuthFailed(client, null));
    }

    [Fact]
    public void Failures_spread_wider_than_the_window_never_lock_out()
    {
        var (limits, time) = Create(o => o.AuthFailuresPerLogin = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        for (var i = 0; i < 10; i++)
        {
            limits.AuthFailed(null, "alice@example.test");
            limits.AuthFailed(null, "alice@example.test");
            time.Advance(TimeSpan.FromMinutes(15));
        }
        Assert.False(limits.LoginLockedOut("alice@example.test"));
    }

    [Fact]
    public void A_limit_without_lockout_refuses_until_its_window_ends_with_retry_after()
    {
        var (limits, time) = Create(o => o.MessagesPerUser = new RateLimit(2, TimeSpan.FromHours(1)));
        limits.Sent("alice@example.test");
        time.Advance(TimeSpan.FromMinutes(20));
        Assert.True(limits.MaySend("alice@example.test"));
        limits.Sent("alice@example.test");
        Assert.False(limits.MaySend("alice@example.test"));
        using (var lease = limits.MessagesPerUser.AttemptAcquire("alice@example.test"))
        {
            Assert.False(lease.IsAcquired);
            Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
            Assert.Equal(TimeSpan.FromMinutes(40), retryAfter);
        }
        Assert.True(limits.MaySend("bob@example.test"));
        time.Advance(TimeSpan.FromMinutes(40));
        Assert.True(limits.MaySend("alice@example.test"));
        var statistics = limits.MessagesPerUser.GetStatistics("alice@example.test")!;
        Assert.Equal(2, statistics.CurrentAvailablePermits);
    }

    [Fact]
    public void Logins_count_by_their_normal_form_and_a_huge_login_costs_a_hash()
    {
        var (limits, _) = Create(o => o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        limits.AuthFailed(null, "Alice@Example.TEST");
        limits.AuthFailed(null, "ａｌｉｃｅ@example.test"); // full-width letters: the same login (NFKC)
        Assert.True(limits.LoginLockedOut("alice@example.test"));
        var huge = new string('x', 100_000);
        limits.AuthFailed(null, huge);
        Assert.False(limits.LoginLockedOut(huge));
        limits.AuthFailed(null, huge);
        Assert.True(limits.LoginLockedOut(huge));
        Assert.False(limits.LoginLockedOut(huge + "y"));
    }

    [Fact]
    public void A_flood_from_more_addresses_than_the_table_holds_stays_bounded_and_shares_one_budget()
    {
        var (limits, time) = Create(o =>
        {
            o.ConnectionsPerAddress = new RateLimit(5, TimeSpan.FromMinutes(1));
            o.MaxTrackedKeys = 1000;
        });
        var known = At("203.0.113.1");
        Assert.True(limits.TryConnect(known));
        var refused = 0;
        for (var i = 0; i < 100_000; i++)
        {
            // Every connection from a new /64.
            var address = new IPAddress([0x20, 0x01, 0x0d, 0xb8, (byte)(i >> 16), (byte)(i >> 8), (byte)i, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            if (!limits.TryConnect(new IPEndPoint(address, 1)))
            {
                refused++;
            }
        }
        Assert.Equal(1000, limits.TrackedKeys(SessionRateLimit.ConnectionsPerAddress));
        // Past the table, the 99,001 new addresses shared one budget of 5.
        Assert.Equal(100_000 - 999 - 5, refused);
        // A key already known keeps its own count.
        Assert.True(limits.TryConnect(known));
        // Once the windows end, room is made again and a new address has its own budget.
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limits.TryConnect(At("2001:db8:ffff::1")));
        Assert.True(limits.TrackedKeys(SessionRateLimit.ConnectionsPerAddress) <= 2);
    }

    [Fact]
    public void Failed_logins_past_a_full_table_lock_out_no_one_who_was_not_tracked()
    {
        var (limits, _) = Create(o =>
        {
            o.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
            o.AuthFailuresPerLogin = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
            o.MaxTrackedKeys = 100;
        });
        var tracked = At("198.51.100.7");
        limits.AuthFailed(tracked, "bob@example.test");
        // An attacker fills both tables and goes on failing under new names from new addresses.
        for (var i = 0; i < 10_000; i++)
        {
            limits.AuthFailed(At($"10.{(i >> 8) & 0xff}.{i & 0xff}.1"), $"guess{i}@example.test");
        }
        Assert.Equal(100, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerAddress));
        Assert.Equal(100, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerLogin));
        // Someone the tables never saw is not locked out by the shared overflow budget, and asking adds no key.
        Assert.Null(limits.AuthLockedOut(At("203.0.113.50"), "alice@example.test"));
        Assert.False(limits.LoginLockedOut("carol@example.test"));
        Assert.Equal(100, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerLogin));
        // Keys the tables hold are still counted and locked out at their limit.
        limits.AuthFailed(tracked, "bob@example.test");
        limits.AuthFailed(tracked, "bob@example.test");
        Assert.Equal(SessionRateLimit.AuthFailuresPerAddress, limits.AuthLockedOut(tracked, null));
        Assert.True(limits.LoginLockedOut("bob@example.test"));
    }

    [Fact]
    public void Asking_about_a_key_never_seen_adds_nothing_to_the_table()
    {
        var (limits, _) = Create(o => o.MessagesPerUser = new RateLimit(2, TimeSpan.FromHours(1)));
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limits.MaySend($"user{i}@example.test"));
        }
        Assert.Equal(0, limits.TrackedKeys(SessionRateLimit.MessagesPerUser));
        limits.Sent("user1@example.test");
        limits.Sent("user1@example.test");
        Assert.False(limits.MaySend("user1@example.test"));
        Assert.Equal(1, limits.TrackedKeys(SessionRateLimit.MessagesPerUser));
    }

    [Fact]
    public void Ended_windows_are_dropped_once_per_window_without_a_timer()
    {
        var (limits, time) = Create(o => o.AuthFailuresPerAddress = new RateLimit(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        for (var i = 0; i < 500; i++)
        {
            limits.AuthFailed(At($"192.0.2.{i % 250}"), null);
            limits.AuthFailed(At($"198.51.100.{i % 250}"), null);
        }
        Assert.Equal(500, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerAddress));
        time.Advance(TimeSpan.FromMinutes(16));
        limits.AuthFailed(At("203.0.113.9"), null);
        Assert.Equal(1, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerAddress));
    }

    [Fact]
    public void A_limit_set_to_null_allows_everything_and_tracks_nothing()
    {
        var (limits, _) = Create(o => o.ConnectionsPerAddress = null);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(limits.TryConnect(At("192.0.2.1")));
        }
        Assert.Equal(0, limits.TrackedKeys(SessionRateLimit.ConnectionsPerAddress));
    }

    [Fact]
    public void Settings_out_of_range_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimit(0, TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimit(1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateLimit(1, TimeSpan.FromMinutes(1), TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SessionRateLimitOptions { MaxTrackedKeys = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SessionRateLimitOptions { IPv6PrefixLength = 16 });
    }
}
