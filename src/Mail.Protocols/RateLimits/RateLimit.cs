namespace Mail.Protocols.RateLimits;

/// <summary>
/// One limit of <see cref="SessionRateLimits"/>: at most <see cref="PermitLimit"/> events per key (a client address, a
/// login, a user) within a <see cref="Window"/> that starts at the key's first event. Once the limit is reached the key
/// is refused until the window ends, or, when <see cref="LockoutDuration"/> is set, for that long from the event that
/// reached it (a lock-out); then it starts afresh.
/// </summary>
public sealed record RateLimit
{
    /// <summary>Creates a limit.</summary>
    /// <param name="permitLimit">Events allowed per key within the window; at least 1.</param>
    /// <param name="window">The window, from a key's first event; positive.</param>
    /// <param name="lockoutDuration">How long a key is refused once it reaches the limit; null: until its window ends.</param>
    public RateLimit(int permitLimit, TimeSpan window, TimeSpan? lockoutDuration = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permitLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window, TimeSpan.FromDays(7));
        if (lockoutDuration is { } lockout && (lockout <= TimeSpan.Zero || lockout > TimeSpan.FromDays(7)))
        {
            throw new ArgumentOutOfRangeException(nameof(lockoutDuration), "Must be positive and at most 7 days.");
        }
        PermitLimit = permitLimit;
        Window = window;
        LockoutDuration = lockoutDuration;
    }

    /// <summary>Events allowed per key within the window.</summary>
    public int PermitLimit { get; }

    /// <summary>The window, from a key's first event.</summary>
    public TimeSpan Window { get; }

    /// <summary>How long a key is refused once it reaches the limit; null: until its window ends.</summary>
    public TimeSpan? LockoutDuration { get; }
}
