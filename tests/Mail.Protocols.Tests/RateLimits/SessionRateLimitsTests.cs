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

    private static readonly RateLimit ThreeIn15Minutes = new(3, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));

    [Fact]
    public void Attempts_in_flight_hold_a_slot_so_a_fourth_at_a_limit_of_3_is_refused_before_any_is_checked()
    {
        var (limits, _) = Create(o => o.AuthFailuresPerLogin = ThreeIn15Minutes);
        var attempts = Enumerable.Range(0, 3).Select(_ => limits.BeginAuth(null, "alice@example.test")).ToArray();
        Assert.All(attempts, a => Assert.Null(a.Refused));
        using (var fourth = limits.BeginAuth(null, "Alice@Example.test"))
        {
            Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, fourth.Refused);
        }
        // One that succeeds gives its slot back: it never counts.
        attempts[0].Dispose();
        var fifth = limits.BeginAuth(null, "alice@example.test");
        Assert.Null(fifth.Refused);
        // Failed ones count, and the one that reaches the limit starts the lock-out.
        Assert.Equal((false, false), attempts[1].Failed());
        Assert.Equal((false, false), attempts[2].Failed());
        Assert.Equal((false, true), fifth.Failed());
        foreach (var attempt in attempts.Append(fifth))
        {
            attempt.Dispose(); // after Failed, nothing to give back
        }
        Assert.True(limits.LoginLockedOut("alice@example.test"));
        Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, limits.BeginAuth(null, "alice@example.test").Refused);
    }

    [Fact]
    public void Successful_attempts_never_count_however_many()
    {
        var (limits, _) = Create(o =>
        {
            o.AuthFailuresPerAddress = ThreeIn15Minutes;
            o.AuthFailuresPerLogin = ThreeIn15Minutes;
        });
        for (var i = 0; i < 100; i++)
        {
            using var attempt = limits.BeginAuth(At("192.0.2.1"), "alice@example.test");
            Assert.Null(attempt.Refused);
        }
        using (var failed = limits.BeginAuth(At("192.0.2.1"), "alice@example.test"))
        {
            Assert.Equal((false, false), failed.Failed());
        }
        Assert.Null(limits.AuthLockedOut(At("192.0.2.1"), "alice@example.test"));
        Assert.Equal(2, limits.AuthFailuresPerLogin.GetStatistics("alice@example.test")!.CurrentAvailablePermits);
    }

    [Fact]
    public void An_attempt_refused_for_its_login_gives_its_address_slot_back()
    {
        var (limits, _) = Create(o =>
        {
            o.AuthFailuresPerAddress = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
            o.AuthFailuresPerLogin = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15));
        });
        using var first = limits.BeginAuth(At("192.0.2.1"), "alice@example.test");
        Assert.Null(first.Refused);
        using (var second = limits.BeginAuth(At("192.0.2.2"), "alice@example.test"))
        {
            Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, second.Refused);
        }
        using var third = limits.BeginAuth(At("192.0.2.2"), "bob@example.test");
        Assert.Null(third.Refused);
        using var fourth = limits.BeginAuth(At("192.0.2.1"), "carol@example.test");
        Assert.Equal(SessionRateLimit.AuthFailuresPerAddress, fourth.Refused);
    }

    [Fact]
    public void A_sasl_attempt_reserves_its_login_when_the_mechanism_looks_it_up()
    {
        var (limits, _) = Create(o => o.AuthFailuresPerLogin = new RateLimit(2, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var first = limits.BeginAuth(At("192.0.2.1"), null);
        using var second = limits.BeginAuth(At("192.0.2.2"), null);
        using var third = limits.BeginAuth(At("192.0.2.3"), null);
        Assert.True(first.ReserveLogin("alice@example.test"));
        Assert.True(second.ReserveLogin("alice@example.test"));
        Assert.False(third.ReserveLogin("alice@example.test"));
        Assert.True(third.ReserveLogin("bob@example.test"));
        first.Failed();
        second.Failed();
        Assert.True(limits.LoginLockedOut("alice@example.test"));
        Assert.False(limits.LoginLockedOut("bob@example.test"));
    }

    [Fact]
    public void An_attempt_in_flight_across_the_end_of_a_window_counts_once_in_the_window_where_it_fails()
    {
        // The rule: a reservation is an attempt in flight. It keeps its slot when the window (or a lock-out) ends, and
        // its failure counts once, in the window current when it fails; it never counts in the window it was taken in
        // as well, and giving it back never frees a slot of the new window that it did not hold.
        var (limits, time) = Create(o => o.AuthFailuresPerLogin = ThreeIn15Minutes);
        using (var early = limits.BeginAuth(null, "alice@example.test"))
        {
            early.Failed();
        }
        var inFlight = new[] { limits.BeginAuth(null, "alice@example.test"), limits.BeginAuth(null, "alice@example.test") };
        Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, limits.BeginAuth(null, "alice@example.test").Refused);
        time.Advance(TimeSpan.FromMinutes(15));
        // The early failure's window has ended; the two in flight still hold their slots.
        var next = limits.BeginAuth(null, "alice@example.test");
        Assert.Null(next.Refused);
        Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, limits.BeginAuth(null, "alice@example.test").Refused);
        // The two fail in the new window: two of its three, no lock-out yet.
        Assert.Equal((false, false), inFlight[0].Failed());
        Assert.Equal((false, false), inFlight[1].Failed());
        // The third failure of the new window locks it out; one given back after the window ended frees nothing extra.
        Assert.Equal((false, true), next.Failed());
        Assert.Equal(0, limits.AuthFailuresPerLogin.GetStatistics("alice@example.test")!.CurrentAvailablePermits);
        time.Advance(TimeSpan.FromMinutes(15));
        var afterLockout = limits.BeginAuth(null, "alice@example.test");
        Assert.Null(afterLockout.Refused);
        afterLockout.Dispose();
        afterLockout.Dispose();
        Assert.Equal(3, limits.AuthFailuresPerLogin.GetStatistics("alice@example.test")!.CurrentAvailablePermits);
    }

    [Fact]
    public void A_failure_counts_against_the_login_of_the_user_found_so_spellings_of_one_user_share_a_budget()
    {
        var (limits, _) = Create(o => o.AuthFailuresPerLogin = ThreeIn15Minutes);
        foreach (var typed in new[] { "alice", "alice@example.test", "alias@example.test" })
        {
            using var attempt = limits.BeginAuth(null, typed);
            Assert.Null(attempt.Refused);
            Assert.True(attempt.ReserveUser("alice@example.test"));
            attempt.Failed();
        }
        Assert.True(limits.LoginLockedOut("alice@example.test"));
        // The typed spellings were not charged; a spelling not locked out itself is refused once it resolves to alice.
        Assert.False(limits.LoginLockedOut("alice"));
        using var again = limits.BeginAuth(null, "alice");
        Assert.Null(again.Refused);
        Assert.False(again.ReserveUser("alice@example.test"));
        // An unknown login is charged as typed.
        using (var unknown = limits.BeginAuth(null, "nobody"))
        {
            unknown.Failed();
        }
        Assert.Equal(2, limits.AuthFailuresPerLogin.GetStatistics("nobody")!.CurrentAvailablePermits);
    }

    [Fact]
    public void Attempts_past_a_full_table_are_never_refused_by_the_shared_overflow_budget_and_queries_add_no_key()
    {
        var (limits, _) = Create(o =>
        {
            o.AuthFailuresPerLogin = ThreeIn15Minutes;
            o.MaxTrackedKeys = 10;
        });
        var held = Enumerable.Range(0, 10).Select(i => limits.BeginAuth(null, $"user{i}@example.test")).ToArray();
        Assert.Equal(10, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerLogin));
        for (var i = 0; i < 100; i++)
        {
            using var attempt = limits.BeginAuth(null, $"new{i}@example.test");
            Assert.Null(attempt.Refused);
            attempt.Failed();
        }
        for (var i = 0; i < 100; i++)
        {
            Assert.False(limits.LoginLockedOut($"other{i}@example.test"));
        }
        Assert.Equal(10, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerLogin));
        foreach (var attempt in held)
        {
            attempt.Dispose();
        }
    }

    [Fact]
    public void A_key_with_an_attempt_in_flight_is_not_dropped_when_ended_windows_are()
    {
        var (limits, time) = Create(o => o.AuthFailuresPerLogin = new RateLimit(1, TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)));
        using var inFlight = limits.BeginAuth(null, "alice@example.test");
        using (var other = limits.BeginAuth(null, "bob@example.test"))
        {
            other.Failed();
        }
        time.Advance(TimeSpan.FromMinutes(30));
        // A new key after a whole window: the ended ones go, but alice's slot is still held.
        using (var carol = limits.BeginAuth(null, "carol@example.test"))
        {
            Assert.Null(carol.Refused);
        }
        Assert.Equal(2, limits.TrackedKeys(SessionRateLimit.AuthFailuresPerLogin));
        Assert.Equal(SessionRateLimit.AuthFailuresPerLogin, limits.BeginAuth(null, "alice@example.test").Refused);
        inFlight.Dispose();
        using var next = limits.BeginAuth(null, "alice@example.test");
        Assert.Null(next.Refused);
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
